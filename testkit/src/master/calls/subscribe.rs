//! SUBSCRIBE: a new framework, a resubscription of a known one (failover:
//! its old stream closes, its offers are withdrawn, its unacknowledged
//! updates are sent again), an id the master does not know (accepted with
//! that id), or a removed one (ERROR, then the stream ends). Also the
//! FrameworkInfo update shared with UPDATE_FRAMEWORK, and the cap on
//! connected frameworks.

use crate::master::books::frameworks::FrameworkRecord;
use crate::master::books::frameworks::ValidFramework;
use crate::master::calls;
use crate::master::core::MasterCore;
use crate::master::core::Subscription;
use crate::master::effects::Event;
use crate::master::effects::Outgoing;
use crate::master::error::CallError;
use crate::master::processes::allocation;
use crate::master::processes::maintenance_offers;
use crate::master::processes::reclaim;
use corral::FrameworkId;
use std::time::Duration;
use tracing::debug;
use tracing::info;
use tracing::warn;

/// SUBSCRIBE, decoded and checked (`edge.rs`): the framework id it
/// names (none: a new framework) and its valid FrameworkInfo.
#[derive(Debug)]
pub(in crate::master) struct Subscribe {
    /// The id named by the call and its FrameworkInfo (they agree).
    pub id: Option<FrameworkId>,
    /// The FrameworkInfo, checked.
    pub valid: ValidFramework,
}

/// Handles a SUBSCRIBE (new framework, resubscription or failover).
/// `Err`: the RPC fails and no stream opens.
pub(in crate::master) fn subscribe(
    core: &mut MasterCore,
    now: Duration,
    input: Subscribe,
) -> Result<Subscription, CallError> {
    let Subscribe { id, valid } = input;
    let removed = id.as_ref().is_some_and(|id| core.frameworks.is_removed(id));
    if !removed {
        check_framework_cap(core, id.as_ref())?;
    }
    match id {
        Some(id) if removed => {
            let stream = core.next_stream_id();
            warn!(framework = %id, "SUBSCRIBE of a removed framework; answering ERROR");
            core.push(Outgoing::Event {
                stream: stream.clone(),
                event: Box::new(Event::Error(format!("framework {id} has been removed"))),
            });
            core.push(Outgoing::Close {
                stream: stream.clone(),
            });
            Ok(Subscription {
                stream,
                framework: None,
            })
        }
        Some(id) if core.frameworks.contains(&id) => resubscribe(core, now, id, valid),
        Some(id) => add_framework(core, now, id, valid),
        None => {
            let id = core.frameworks.issue_id();
            add_framework(core, now, id, valid)
        }
    }
}

/// Refuses a subscription that would connect one framework more than
/// `max_connected_frameworks` (a framework already connected replaces
/// its own stream).
fn check_framework_cap(core: &MasterCore, id: Option<&FrameworkId>) -> Result<(), CallError> {
    let max = core.config().max_connected_frameworks;
    let connected_already = id.is_some_and(|id| core.frameworks.stream_of(id).is_some());
    let connected = core.frameworks.connected_count();
    if !connected_already && connected >= max {
        return Err(CallError::TooManyFrameworks { max });
    }
    Ok(())
}

fn add_framework(
    core: &mut MasterCore,
    now: Duration,
    id: FrameworkId,
    valid: ValidFramework,
) -> Result<Subscription, CallError> {
    let stream = core.next_stream_id();
    let connection = core.connected(now, &stream);
    let record = FrameworkRecord::new(id.clone(), valid, connection);
    core.allocator
        .add_framework(id.clone(), record.spec())
        .map_err(CallError::Allocator)?;
    info!(framework = %id, %stream, roles = ?record.roles, "framework subscribed");
    core.frameworks.insert(record);
    core.emit(&id, core.subscribed(&id));
    allocation::allocate_now(core, now);
    Ok(Subscription {
        stream,
        framework: Some(id),
    })
}

fn resubscribe(
    core: &mut MasterCore,
    now: Duration,
    id: FrameworkId,
    valid: ValidFramework,
) -> Result<Subscription, CallError> {
    let Some(record) = core.frameworks.get(&id) else {
        return Err(CallError::Internal(format!("framework {id} vanished")));
    };
    calls::immutable_fields(&record.identity, &valid.identity)?;
    if let Some(old) = record.stream().cloned() {
        debug!(framework = %id, %old, "closing the old stream of a resubscribing framework");
        core.push(Outgoing::Close { stream: old });
    }
    // The new scheduler instance does not know the old one's offers.
    core.withdraw_offers(now, &id);
    apply_framework_info(core, &id, valid);
    let stream = core.next_stream_id();
    let next_heartbeat = now.saturating_add(core.config().heartbeat_interval);
    core.frameworks.connect(&id, stream.clone(), next_heartbeat);
    {
        let result = core.allocator.activate_framework(&id, true);
        core.note(result, "activate");
    };
    info!(framework = %id, %stream, "framework resubscribed");
    core.emit(&id, core.subscribed(&id));
    for status in core.updates.resume(now, &id) {
        core.emit(&id, Event::Update(status));
    }
    reclaim::resend_revocations(core, &id);
    maintenance_offers::resend_maintenance_offers(core, &id);
    allocation::allocate_now(core, now);
    Ok(Subscription {
        stream,
        framework: Some(id),
    })
}

/// Replaces a framework's info, tells the allocator, and revives the
/// roles that leave the suppressed state. Returns whether it gained
/// roles or unsuppressed some (an allocation is then due).
pub(in crate::master) fn apply_framework_info(
    core: &mut MasterCore,
    id: &FrameworkId,
    valid: ValidFramework,
) -> bool {
    let Some(applied) = core.frameworks.apply(id, valid) else {
        return false;
    };
    let (spec, unsuppressed, gained_roles) =
        (applied.spec, applied.unsuppressed, applied.gained_roles);
    {
        let result = core.allocator.update_framework(id, spec);
        core.note(result, "update_framework");
    };
    if !unsuppressed.is_empty() {
        {
            let result = core.allocator.revive(id, &unsuppressed);
            core.note(result, "revive");
        };
    }
    gained_roles || !unsuppressed.is_empty()
}
