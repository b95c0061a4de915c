//! Maintenance inverse offers: one per framework with live tasks on an
//! agent under maintenance, resent on resubscription, answered (advisory);
//! and the `unavailability` every offer on such an agent carries.

use crate::master::books::agents::maintenance::Window;
use crate::master::core::MasterCore;
use crate::master::effects::Event;
use corral::AgentId;
use corral::FrameworkId;
use corral::InverseOffer;
use corral::OfferId;
use corral::Resources;
use corral::Unavailability;
use tracing::info;

/// The INVERSE_OFFERS event asking `fw` to leave `agent` before `window`
/// (no resources: the whole agent).
fn maintenance_event(id: &OfferId, fw: &FrameworkId, agent: &AgentId, window: Window) -> Event {
    Event::InverseOffer {
        framework: fw.clone(),
        offer: InverseOffer::new(
            id.clone(),
            Some(agent.clone()),
            unavailability(window),
            Resources::new(),
        ),
    }
}

/// A window as the SDK's plain type.
fn unavailability(window: Window) -> Unavailability {
    Unavailability {
        start: window.start,
        duration: window.duration,
    }
}

/// The window to put in offers on `agent`, if one is scheduled.
pub(in crate::master) fn offer_unavailability(
    core: &MasterCore,
    agent: &AgentId,
) -> Option<Unavailability> {
    core.agents
        .maintenance(agent)
        .map(|m| unavailability(m.window))
}

/// Sends an inverse offer to every framework with live tasks on an
/// agent under maintenance that has none yet.
pub(in crate::master) fn send_maintenance_offers(core: &mut MasterCore) {
    let mut to_send = Vec::new();
    for (agent, maintenance) in core.agents.under_maintenance() {
        let users: std::collections::BTreeSet<FrameworkId> = core
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
        let id = core.offers.next_id();
        info!(inverse_offer = %id, framework = %fw, %agent, "maintenance inverse offer");
        core.emit(&fw, maintenance_event(&id, &fw, &agent, window));
        core.agents.record_inverse_offer(&agent, &fw, id);
    }
}

/// Whether `id` is a maintenance inverse offer made to `fw`.
pub(in crate::master) fn is_maintenance_offer_of(
    core: &MasterCore,
    fw: &FrameworkId,
    id: &OfferId,
) -> bool {
    core.agents.is_inverse_offer_of(fw, id)
}

/// Records `fw`'s answer to those of `ids` that are its maintenance
/// inverse offers.
pub(in crate::master) fn answer_maintenance(
    core: &mut MasterCore,
    fw: &FrameworkId,
    ids: &[OfferId],
    accept: bool,
) {
    for offer in core.agents.answer_inverse_offers(fw, ids, accept) {
        info!(inverse_offer = %offer, framework = %fw, accept, "maintenance inverse offer answered");
    }
}

/// Sends a resubscribed framework its outstanding maintenance inverse
/// offers again.
pub(in crate::master) fn resend_maintenance_offers(core: &mut MasterCore, fw: &FrameworkId) {
    let mut events = Vec::new();
    for (agent, m) in core.agents.under_maintenance() {
        if let Some(offer) = m.offers.get(fw) {
            events.push(maintenance_event(&offer.id, fw, agent, m.window));
        }
    }
    for event in events {
        core.emit(fw, event);
    }
}
