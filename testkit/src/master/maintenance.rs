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

use corral_proto::convert::*;
use std::collections::BTreeMap;
use std::time::Duration;

use corral::{AgentId, FrameworkId, OfferId};
use corral_proto::pb;
use tracing::info;

pub use super::books::agents::maintenance::{
    Maintenance, MaintenanceError, MaintenanceOffer, Window,
};

use super::books::revocations::nanos;
use super::core::{allocator_ok, MasterCore};
use super::outbox;

impl MasterCore {
    /// Schedules (or moves, while it has not started) `agent`'s
    /// maintenance window. See the module docs.
    pub fn schedule_maintenance(
        &mut self,
        now: Duration,
        agent: &AgentId,
        window: Window,
    ) -> Result<(), MaintenanceError> {
        let refused = |err: MaintenanceError| {
            tracing::warn!(%err, "maintenance refused");
            err
        };
        let old = self.agents.schedule(now, agent, window).map_err(refused)?;
        info!(%agent, ?window, "maintenance scheduled");
        // A moved window asks every framework again.
        for (fw, offer) in old.map(|m| m.offers).unwrap_or_default() {
            self.emit(&fw, outbox::rescind_inverse_offer(&offer.id));
        }
        for id in self.offers.on_agent(agent) {
            self.rescind(now, &id);
        }
        self.send_maintenance_offers();
        self.run_maintenance(now);
        Ok(())
    }

    /// Ends `agent`'s maintenance (cancels it if it has not started): the
    /// agent is offered again and its inverse offers are rescinded.
    pub fn end_maintenance(
        &mut self,
        now: Duration,
        agent: &AgentId,
    ) -> Result<(), MaintenanceError> {
        let maintenance = self.agents.end(agent).inspect_err(|_| {
            tracing::warn!(%agent, "end of maintenance that is not scheduled");
        })?;
        info!(%agent, "maintenance over");
        for (fw, offer) in maintenance.offers {
            self.emit(&fw, outbox::rescind_inverse_offer(&offer.id));
        }
        if maintenance.down && !self.agents.is_lost(agent) {
            allocator_ok(
                &mut self.broken,
                self.allocator.activate_agent(agent),
                "activate_agent",
            );
        }
        // Offers made meanwhile carry the window; they are stale now.
        for id in self.offers.on_agent(agent) {
            self.rescind(now, &id);
        }
        self.allocate_now(now);
        Ok(())
    }

    /// The scheduled maintenance of every agent.
    pub fn maintenance(&self) -> BTreeMap<AgentId, Maintenance> {
        self.agents.all_maintenance()
    }

    /// The window to put in offers on `agent`, if one is scheduled.
    pub(super) fn unavailability(&self, agent: &AgentId) -> Option<pb::Unavailability> {
        self.agents
            .maintenance(agent)
            .map(|m| unavailability(m.window))
    }

    /// Sends an inverse offer to every framework with live tasks on an
    /// agent under maintenance that has none yet.
    pub(super) fn send_maintenance_offers(&mut self) {
        let mut to_send = Vec::new();
        for (agent, maintenance) in self.agents.under_maintenance() {
            let users: std::collections::BTreeSet<FrameworkId> = self
                .tasks
                .live_on(agent)
                .map(|t| t.framework.clone())
                .collect();
            for fw in users {
                if !maintenance.offers.contains_key(&fw) {
                    to_send.push((agent.clone(), fw, maintenance.window));
                }
            }
        }
        for (agent, fw, window) in to_send {
            let id = self.offers.next_id();
            info!(inverse_offer = %id, framework = %fw, %agent, "maintenance inverse offer");
            self.emit(&fw, maintenance_event(&id, &fw, &agent, window));
            self.agents.record_inverse_offer(&agent, &fw, id);
        }
    }

    /// Starts and ends the windows due at `now`.
    pub(super) fn run_maintenance(&mut self, now: Duration) {
        for agent in self.agents.windows_starting(now) {
            self.drain(now, &agent);
        }
        for agent in self.agents.windows_ending(now) {
            let _ = self.end_maintenance(now, &agent);
        }
    }

    /// The window starts: no more offers from the agent, every task there
    /// killed with its grace period.
    fn drain(&mut self, now: Duration, agent: &AgentId) {
        info!(%agent, "maintenance window starts: draining the agent");
        self.agents.start_window(agent);
        // A lost agent is out of the allocator; it is deactivated if it
        // comes back during the window.
        if !self.agents.is_lost(agent) {
            allocator_ok(
                &mut self.broken,
                self.allocator.deactivate_agent(agent),
                "deactivate_agent",
            );
        }
        for id in self.offers.on_agent(agent) {
            self.rescind(now, &id);
        }
        let live: Vec<(FrameworkId, corral::TaskId)> = self
            .tasks
            .live_on(agent)
            .filter(|t| !t.is_killing())
            .map(|t| (t.framework.clone(), t.id.clone()))
            .collect();
        for (fw, task) in live {
            self.kill_task(now, &fw, &task, None);
        }
    }

    /// Whether `id` is a maintenance inverse offer made to `fw`.
    pub(super) fn is_maintenance_offer_of(&self, fw: &FrameworkId, id: &OfferId) -> bool {
        self.agents.is_inverse_offer_of(fw, id)
    }

    /// Records `fw`'s answer to those of `ids` that are its maintenance
    /// inverse offers.
    pub(super) fn answer_maintenance(&mut self, fw: &FrameworkId, ids: &[OfferId], accept: bool) {
        for offer in self.agents.answer_inverse_offers(fw, ids, accept) {
            info!(inverse_offer = %offer, framework = %fw, accept, "maintenance inverse offer answered");
        }
    }

    /// Sends a resubscribed framework its outstanding maintenance inverse
    /// offers again.
    pub(super) fn resend_maintenance_offers(&mut self, fw: &FrameworkId) {
        let mut events = Vec::new();
        for (agent, m) in self.agents.under_maintenance() {
            if let Some(offer) = m.offers.get(fw) {
                events.push(maintenance_event(&offer.id, fw, agent, m.window));
            }
        }
        for event in events {
            self.emit(fw, event);
        }
    }
}

/// The INVERSE_OFFERS event asking `fw` to leave `agent` before `window`
/// (no resources: the whole agent).
fn maintenance_event(id: &OfferId, fw: &FrameworkId, agent: &AgentId, window: Window) -> pb::Event {
    outbox::inverse_offers(pb::InverseOffer {
        id: id.to_pb(),
        url: None,
        framework_id: fw.to_pb(),
        agent_id: Some(agent.to_pb()),
        unavailability: unavailability(window),
        resources: Vec::new(),
        revoked_task_ids: Vec::new(),
    })
}

/// A window in wire form.
fn unavailability(window: Window) -> pb::Unavailability {
    pb::Unavailability {
        start: pb::TimeInfo {
            nanoseconds: nanos(window.start),
        },
        duration: window.duration.map(|d| pb::DurationInfo {
            nanoseconds: nanos(d),
        }),
    }
}
