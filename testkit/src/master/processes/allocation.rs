//! The allocation process: a reclaim pass, maintenance inverse offers, one
//! allocator cycle, and one OFFERS event per framework per cycle holding all
//! its offers; run when the core's `Schedule` (`processes/schedule.rs`) says
//! a pass is due.
//!
//! Passes are event-driven: resources given back to the allocator (a task
//! ends, an offer is declined, rescinded or timed out, the unused part of an
//! accepted offer) make a pass due at once, so they are offered again
//! without waiting for the next cycle; calls that change what can be offered
//! (an agent joins, a framework subscribes or revives) run one at once
//! themselves. Frees are coalesced: a pass for them is due at the earliest
//! `EVENT_PASS_GAP` (1 ms) after the previous pass, so a burst of frees
//! makes one pass and a framework that declines without a filter cannot make
//! the master spin. The batch cycle every `allocation_interval` is kept: it
//! is the fairness knob (DRF over everything idle, filters expired), no
//! longer the latency floor. The loops (the server's actor, the harness)
//! only sleep until `MasterCore::next_deadline` and tick.

use crate::master::books::offers::OfferRecord;
use crate::master::core::MasterCore;
use crate::master::effects::Event;
use crate::master::processes::maintenance_offers;
use crate::master::processes::reclaim;
use corral::Attribute;
use corral::AttributeValue;
use corral::FrameworkId;
use corral::Offer;
use corral::Resources;
use std::collections::BTreeMap;
use std::time::Duration;
use tracing::debug;
use tracing::error;

/// Runs the pass that is due at `now`, if one is: the batch cycle, or a
/// pass for freed resources.
pub(in crate::master) fn allocate_if_due(core: &mut MasterCore, now: Duration) {
    if core.allocation_due(now) {
        allocate_now(core, now);
    }
}

/// Runs an allocation cycle and turns each allocation into an offer.
pub(in crate::master) fn allocate_now(core: &mut MasterCore, now: Duration) {
    core.mark_cycle();
    reclaim::reclaim(core, now);
    maintenance_offers::send_maintenance_offers(core);
    // One OFFERS event per framework per cycle, holding all its offers.
    let mut batches: BTreeMap<FrameworkId, Vec<Offer>> = BTreeMap::new();
    let (cycle, started) = core.telemetry_mut().cycle_started();
    let _span = tracing::debug_span!("allocation_cycle", cycle).entered();
    let allocations = core.allocator.allocate(now);
    core.telemetry_mut().cycle_ended(started);
    for allocation in allocations {
        let connected = core.frameworks.stream_of(&allocation.framework).is_some();
        let Some(agent) = core.agents.spec(&allocation.agent).filter(|_| connected) else {
            error!(framework = %allocation.framework, agent = %allocation.agent,
                "allocation to a disconnected framework or unknown agent; recovering");
            core.recover(
                now,
                &allocation.framework,
                &allocation.agent,
                &allocation.resources,
                None,
            );
            continue;
        };
        let id = core.offers.next_id();
        let mut offer = Offer::new(id.clone(), allocation.agent.clone(), Resources::new())
            .with_framework(allocation.framework.clone())
            .with_hostname(agent.hostname.clone());
        // Set after `new`, which would allocate them to role `*`: the
        // allocator's resources are already in allocated form.
        offer.role = allocation.role.clone();
        offer.resources = allocation.resources.clone();
        offer.attributes = agent
            .attributes
            .iter()
            .map(|(k, v)| text_attribute(k, v))
            .collect();
        offer.unavailability = maintenance_offers::offer_unavailability(core, &allocation.agent);
        debug!(offer = %id, framework = %allocation.framework, agent = %allocation.agent,
            role = %allocation.role, resources = %allocation.resources, "offer");
        core.telemetry_mut().offer_made(
            now,
            &allocation.framework,
            &allocation.role,
            &id,
            &allocation.agent,
        );
        core.offers.insert(OfferRecord {
            id,
            framework: allocation.framework.clone(),
            agent: allocation.agent,
            role: allocation.role,
            resources: allocation.resources,
            expires_at: core.config().offer_timeout.and_then(|t| now.checked_add(t)),
        });
        batches.entry(allocation.framework).or_default().push(offer);
    }
    for (fw, offers) in batches {
        core.emit(&fw, Event::Offers(offers));
    }
    // What this pass recovered itself (allocations it could not turn into
    // offers) waits for the next cycle.
    core.allocation_ran(now);
}

fn text_attribute(name: &str, value: &str) -> Attribute {
    Attribute {
        name: name.to_owned(),
        value: AttributeValue::Text(value.to_owned()),
    }
}
