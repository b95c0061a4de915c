//! The shell around one event: ask the [core](super::core) what to do
//! before and after the scheduler's handler, send what it says, and turn
//! the scheduler's demand into suppress / revive.

use super::handle::DriverHandle;
use crate::driver::Driver;
use crate::event::Event;
use crate::scheduler::{deliver, Scheduler};
use crate::Role;

/// Hands one event (not SUBSCRIBED, HEARTBEAT or ERROR, which the loop
/// handles) to the scheduler, with what the core owes around it.
pub(crate) async fn event<S: Scheduler>(driver: &DriverHandle, scheduler: &mut S, event: Event) {
    let admitted = driver.shared.lock().admit(event);
    driver.send_all(admitted.send).await;
    let Some((event, after)) = admitted.deliver else {
        return;
    };
    deliver(scheduler, driver, event).await;
    let outs = driver.shared.lock().handled(after);
    driver.send_all(outs).await;
}

/// After every handler: apply the scheduler's demand per role. The demand
/// is read before the first await, so a scheduler need not be `Sync`.
pub(crate) fn after_handler<S: Scheduler>(
    driver: &DriverHandle,
    scheduler: &S,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let demand = driver
        .shared
        .lock()
        .demand(|role| scheduler.wants_offers(role));
    let driver = driver.clone();
    async move {
        if let Some((to_suppress, to_revive)) = demand {
            apply_demand(&driver, to_suppress, to_revive).await;
        }
    }
}

async fn apply_demand(driver: &DriverHandle, to_suppress: Vec<Role>, to_revive: Vec<Role>) {
    if !to_suppress.is_empty() {
        tracing::debug!(roles = ?to_suppress, "nothing to run: suppressing");
        if let Err(e) = driver.suppress(&to_suppress).await {
            tracing::warn!(error = %e, "suppress failed");
        }
    }
    if !to_revive.is_empty() {
        tracing::debug!(roles = ?to_revive, "work waiting: reviving");
        if let Err(e) = driver.revive(&to_revive).await {
            tracing::warn!(error = %e, "revive failed");
        }
    }
}

/// After a (re)subscription: ask for the state of every task the framework
/// believes is active (explicit), and of every task the master knows
/// (implicit), so nothing that changed while disconnected goes unnoticed.
pub(crate) async fn reconcile_all(driver: &DriverHandle) {
    let outs = driver.shared.lock().reconcile_all();
    for out in outs {
        if let Err(e) = driver.send(out).await {
            tracing::warn!(error = %e, "reconciliation failed");
        }
    }
}
