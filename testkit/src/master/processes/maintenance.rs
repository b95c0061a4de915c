//! Maintenance windows: an operator schedules an agent's unavailability,
//! frameworks with tasks there are asked ahead of time (inverse offers) to
//! move off, and the agent is drained when the window starts.
//!
//! As in Mesos:
//! - **Scheduled** (draining): outstanding offers on the agent are
//!   rescinded, and every later offer there carries `unavailability`. Each
//!   framework with live tasks on the agent gets one inverse offer (no
//!   resources: the whole agent) naming the window, at once and, for
//!   frameworks that launch there later, at the next allocation. Their
//!   ACCEPT / DECLINE_INVERSE_OFFERS answers are advisory and recorded.
//! - **Window start** (down): every task still on the agent is killed with
//!   its KillPolicy grace period, the agent's offers are rescinded and the
//!   allocator offers nothing from it.
//! - **Window end** (or [`MasterCore::end_maintenance`]): the agent is back
//!   in the allocation and the inverse offers are rescinded.

use crate::master::books::agents::maintenance::MaintenanceError;
use crate::master::books::agents::maintenance::Window;
use crate::master::calls::kill;
use crate::master::core::allocator_ok;
use crate::master::core::MasterCore;
use crate::master::effects::Event;
use crate::master::processes::allocation;
use crate::master::processes::maintenance_offers;
use corral::AgentId;
use corral::FrameworkId;
use std::time::Duration;
use tracing::info;

/// Schedules (or moves, while it has not started) `agent`'s
/// maintenance window. See the module docs.
pub(in crate::master) fn schedule_maintenance(
    core: &mut MasterCore,
    now: Duration,
    agent: &AgentId,
    window: Window,
) -> Result<(), MaintenanceError> {
    let refused = |err: MaintenanceError| {
        tracing::warn!(%err, "maintenance refused");
        err
    };
    let old = core.agents.schedule(now, agent, window).map_err(refused)?;
    info!(%agent, ?window, "maintenance scheduled");
    // A moved window asks every framework again.
    for (fw, offer) in old.map(|m| m.offers).unwrap_or_default() {
        core.emit(&fw, Event::RescindInverseOffer(offer.id.clone()));
    }
    for id in core.offers.on_agent(agent) {
        core.rescind(now, &id);
    }
    maintenance_offers::send_maintenance_offers(core);
    run_maintenance(core, now);
    Ok(())
}

/// Ends `agent`'s maintenance (cancels it if it has not started): the
/// agent is offered again and its inverse offers are rescinded.
pub(in crate::master) fn end_maintenance(
    core: &mut MasterCore,
    now: Duration,
    agent: &AgentId,
) -> Result<(), MaintenanceError> {
    let maintenance = core.agents.end(agent).inspect_err(|_| {
        tracing::warn!(%agent, "end of maintenance that is not scheduled");
    })?;
    info!(%agent, "maintenance over");
    for (fw, offer) in maintenance.offers {
        core.emit(&fw, Event::RescindInverseOffer(offer.id.clone()));
    }
    if maintenance.down && !core.agents.is_lost(agent) {
        allocator_ok(
            &mut core.broken,
            core.allocator.activate_agent(agent),
            "activate_agent",
        );
    }
    // Offers made meanwhile carry the window; they are stale now.
    for id in core.offers.on_agent(agent) {
        core.rescind(now, &id);
    }
    allocation::allocate_now(core, now);
    Ok(())
}

/// Starts and ends the windows due at `now`.
pub(in crate::master) fn run_maintenance(core: &mut MasterCore, now: Duration) {
    for agent in core.agents.windows_starting(now) {
        drain(core, now, &agent);
    }
    for agent in core.agents.windows_ending(now) {
        let _ = end_maintenance(core, now, &agent);
    }
}

/// The window starts: no more offers from the agent, every task there
/// killed with its grace period.
fn drain(core: &mut MasterCore, now: Duration, agent: &AgentId) {
    info!(%agent, "maintenance window starts: draining the agent");
    core.agents.start_window(agent);
    // A lost agent is out of the allocator; it is deactivated if it
    // comes back during the window.
    if !core.agents.is_lost(agent) {
        allocator_ok(
            &mut core.broken,
            core.allocator.deactivate_agent(agent),
            "deactivate_agent",
        );
    }
    for id in core.offers.on_agent(agent) {
        core.rescind(now, &id);
    }
    let live: Vec<(FrameworkId, corral::TaskId)> = core
        .tasks
        .live_on(agent)
        .filter(|t| !t.is_killing())
        .map(|t| (t.framework.clone(), t.id.clone()))
        .collect();
    for (fw, task) in live {
        kill::kill_task(core, now, &fw, &task, None);
    }
}
