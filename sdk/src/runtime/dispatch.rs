//! Hands one event to the scheduler and does what the runtime owes around
//! it: track offers and tasks, hide resent updates and revocation notices,
//! acknowledge, decline the unanswered, and turn the scheduler's demand into
//! suppress / revive.

use tokio::time::Instant;

use super::config::AckMode;
use super::handle::DriverHandle;
use super::state::{OutstandingOffer, StopKind, TaskRecord};
use crate::driver::Driver;
use crate::error::Error;
use crate::event::Event;
use crate::pb;
use crate::scheduler::Scheduler;
use crate::task::TaskStatus;
use crate::{OfferId, Role, TaskId};

/// Dispatches one event (not SUBSCRIBED, HEARTBEAT or ERROR, which the loop
/// handles).
pub(crate) async fn event<S: Scheduler>(driver: &DriverHandle, scheduler: &mut S, event: Event) {
    match event {
        Event::Offers(offers) => {
            let ids: Vec<OfferId> = offers.iter().map(|o| o.id.clone()).collect();
            {
                let mut state = driver.shared.lock();
                for offer in &offers {
                    state.offers.insert(
                        offer.id.clone(),
                        OutstandingOffer {
                            role: offer.role.clone(),
                        },
                    );
                }
            }
            scheduler.offers(driver, offers).await;
            decline_unanswered(driver, ids).await;
        }
        Event::InverseOffers(offers) => scheduler.inverse_offers(driver, offers).await,
        Event::Revocation(notice) => {
            if !driver.shared.lock().notices.should_deliver(&notice.id) {
                // Resent on a resubscription: the scheduler has had it
                // and answered it already.
                tracing::debug!(notice = %notice.id, "resent revocation notice hidden from the scheduler");
                return;
            }
            tracing::info!(
                notice = %notice.id,
                agent = %notice.agent_id,
                tasks = ?notice.tasks,
                deadline = ?notice.deadline,
                "revocation notice"
            );
            scheduler.revocation(driver, notice).await
        }
        Event::Rescinded(id) => {
            driver.shared.lock().offers.remove(&id);
            scheduler.rescinded(driver, &id).await;
        }
        Event::InverseOfferRescinded(id) => {
            // Withdrawn: the master won't send this notice again, and an id
            // it reuses later names a new notice.
            driver.shared.lock().notices.withdrawn(&id);
            scheduler.inverse_offer_rescinded(driver, &id).await
        }
        Event::Update(status) => update(driver, scheduler, status).await,
        Event::Message {
            agent_id,
            executor_id,
            data,
        } => {
            scheduler
                .message(driver, &agent_id, &executor_id, &data)
                .await
        }
        Event::Failure(failure) => scheduler.failure(driver, &failure).await,
        // Handled by the loop; never dispatched here.
        Event::Subscribed(_) | Event::Error(_) | Event::Disconnected(_) => {}
    }
}

async fn update<S: Scheduler>(driver: &DriverHandle, scheduler: &mut S, status: TaskStatus) {
    let implicit = driver.shared.config.ack_mode == AckMode::Implicit;
    if let Some(uuid) = &status.uuid {
        let seen = driver.shared.lock().seen.contains(&status.task_id, uuid);
        if seen {
            // A resend: the master did not get our ack (or we haven't sent
            // it yet, in explicit mode). Don't show it twice.
            tracing::debug!(task = %status.task_id, "resent update hidden from the scheduler");
            if implicit {
                acknowledge(driver, &status).await;
            }
            return;
        }
    }
    if adds_nothing(driver, &status) {
        // The handler already knows this state: a reconciliation answer
        // repeating it, the reliable update of a state a reconciliation
        // answer showed first, or anything after the task's end. Hidden,
        // so each handler sees each transition (and one terminal state)
        // once; acknowledged whatever the ack mode, since the framework
        // never sees it to acknowledge it itself.
        tracing::debug!(task = %status.task_id, state = ?status.state, "update repeats a known state; hidden");
        if let Some(uuid) = &status.uuid {
            driver
                .shared
                .lock()
                .seen
                .insert(status.task_id.clone(), uuid.clone());
            acknowledge(driver, &status).await;
        }
        return;
    }
    {
        let mut state = driver.shared.lock();
        let record = state
            .tasks
            .entry(status.task_id.clone())
            .or_insert(TaskRecord {
                agent: None,
                last: None,
            });
        if status.agent_id.is_some() {
            record.agent = status.agent_id.clone();
        }
        record.last = Some(status.clone());
    }
    scheduler.status_update(driver, &status).await;
    if let Some(uuid) = &status.uuid {
        driver
            .shared
            .lock()
            .seen
            .insert(status.task_id.clone(), uuid.clone());
        if implicit {
            acknowledge(driver, &status).await;
        }
    }
}

/// Whether `status` tells the handler nothing new about its task: the task
/// already ended, or the update repeats the last state shown (same health).
fn adds_nothing(driver: &DriverHandle, status: &TaskStatus) -> bool {
    let state = driver.shared.lock();
    let Some(last) = state
        .tasks
        .get(&status.task_id)
        .and_then(|t| t.last.as_ref())
    else {
        return false;
    };
    last.state.is_terminal() || (last.state == status.state && last.healthy == status.healthy)
}

/// Sends the acknowledgement without holding up the event loop: the ack is
/// issued after the handler returned, but the next event need not wait for
/// the master's reply (that round trip per update used to dominate the
/// latency of short batch tasks).
async fn acknowledge(driver: &DriverHandle, status: &TaskStatus) {
    if driver.shared.lock().stop == Some(StopKind::Teardown) {
        // The framework is gone, and its updates with it.
        return;
    }
    let driver = driver.clone();
    let status = status.clone();
    driver.shared.lock().acks_in_flight += 1;
    tokio::spawn(async move {
        let result = driver.send_ack(&status).await;
        let torn_down = {
            let mut state = driver.shared.lock();
            state.acks_in_flight -= 1;
            if state.acks_in_flight == 0 {
                driver.shared.acks_done.notify_waiters();
            }
            state.stop == Some(StopKind::Teardown)
        };
        if torn_down {
            // Torn down while the ack was on its way: nothing left to ack.
            return;
        }
        match result {
            Ok(()) => {}
            // The master resends it after we reconnect, and we ack it then.
            Err(Error::Disconnected) => {}
            // A re-ack that crossed our first ack on the wire: already done.
            Err(Error::Transport(crate::error::TransportError::Rejected {
                kind: crate::error::RejectKind::NotFound,
                ..
            })) => tracing::debug!(task = %status.task_id, "update was already acknowledged"),
            Err(e) => tracing::warn!(task = %status.task_id, error = %e, "acknowledgement failed"),
        }
    });
}

/// Declines the offers of a batch that the handler neither used nor
/// declined, so they go back to the master instead of sitting idle here.
async fn decline_unanswered(driver: &DriverHandle, ids: Vec<OfferId>) {
    let unanswered: Vec<OfferId> = {
        let mut state = driver.shared.lock();
        ids.into_iter()
            .filter(|id| state.offers.remove(id).is_some())
            .collect()
    };
    if unanswered.is_empty() {
        return;
    }
    let refuse = driver.shared.config.unanswered_offer_refuse;
    let Ok((stream, mut call)) = driver.call(pb::call::Type::Decline) else {
        // Disconnected: the offers died with the connection.
        return;
    };
    tracing::debug!(
        count = unanswered.len(),
        ?refuse,
        "declining unanswered offers"
    );
    call.decline = Some(pb::call::Decline {
        offer_ids: unanswered.iter().map(OfferId::to_pb).collect(),
        filters: Some(pb::Filters {
            refuse_seconds: Some(refuse.as_secs_f64()),
        }),
    });
    if let Err(e) = driver.send(&stream, call).await {
        tracing::warn!(error = %e, "declining unanswered offers failed");
    }
}

/// After every handler: apply the scheduler's demand per role. The demand
/// is read before the first await, so a scheduler need not be `Sync`.
pub(crate) fn after_handler<S: Scheduler>(
    driver: &DriverHandle,
    scheduler: &S,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let demand = demand(driver, scheduler);
    let driver = driver.clone();
    async move {
        if let Some((to_suppress, to_revive)) = demand {
            apply_demand(&driver, to_suppress, to_revive).await;
        }
    }
}

/// The roles to suppress and to revive now; `None` when disconnected.
fn demand<S: Scheduler>(driver: &DriverHandle, scheduler: &S) -> Option<(Vec<Role>, Vec<Role>)> {
    Some({
        let state = driver.shared.lock();
        state.conn.as_ref()?;
        let mut suppress = Vec::new();
        let mut revive = Vec::new();
        for role in &state.info.roles {
            match scheduler.wants_offers(role) {
                Some(false) if !state.suppressed.contains(role) => suppress.push(role.clone()),
                Some(true) if state.suppressed.contains(role) => revive.push(role.clone()),
                _ => {}
            }
        }
        (suppress, revive)
    })
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

/// Sends the revives whose rate limit has passed.
pub(crate) async fn flush_revives(driver: &DriverHandle) {
    let due: Vec<Role> = {
        let mut state = driver.shared.lock();
        let min = driver.shared.config.min_revive_interval;
        state.revives.take_due(Instant::now(), min)
    };
    if let Err(e) = driver.send_revive(due).await {
        tracing::warn!(error = %e, "queued revive failed");
    }
}

/// After a (re)subscription: ask for the state of every task the framework
/// believes is active (explicit), and of every task the master knows
/// (implicit), so nothing that changed while disconnected goes unnoticed.
pub(crate) async fn reconcile_all(driver: &DriverHandle) {
    let active: Vec<TaskId> = {
        let state = driver.shared.lock();
        let mut ids: Vec<TaskId> = state
            .tasks
            .iter()
            .filter(|(_, t)| !t.is_terminal())
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    };
    if !active.is_empty() {
        if let Err(e) = driver.reconcile(&active).await {
            tracing::warn!(error = %e, "explicit reconciliation failed");
        }
    }
    if let Err(e) = driver.reconcile(&[]).await {
        tracing::warn!(error = %e, "implicit reconciliation failed");
    }
}
