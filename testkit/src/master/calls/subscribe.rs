//! SUBSCRIBE: a new framework, a resubscription of a known one (failover:
//! its old stream closes, its offers are withdrawn, its unacknowledged
//! updates are sent again), an id the master does not know (accepted with
//! that id), or a removed one (ERROR, then the stream ends). Also the
//! FrameworkInfo update shared with UPDATE_FRAMEWORK, and the cap on
//! connected frameworks.

use crate::master::books::frameworks::FrameworkRecord;
use crate::master::core::allocator_ok;
use crate::master::core::MasterCore;
use crate::master::core::Subscription;
use crate::master::effects::Event;
use crate::master::effects::Outgoing;
use crate::master::error::CallError;
use crate::master::processes::allocation;
use crate::master::processes::maintenance_offers;
use crate::master::processes::reclaim;
use crate::master::validate;
use crate::master::validate::ValidFramework;
use corral::FrameworkId;
use corral_proto::pb;
use corral_proto::pb::call::Type as CallType;
use std::time::Duration;
use tracing::debug;
use tracing::info;
use tracing::warn;

/// Handles a SUBSCRIBE (new framework, resubscription or failover).
/// `Err`: the RPC fails and no stream opens.
pub(in crate::master) fn subscribe(
    core: &mut MasterCore,
    now: Duration,
    call: pb::Call,
) -> Result<Subscription, CallError> {
    let result = try_subscribe(core, now, call);
    if let Err(err) = &result {
        warn!(%err, "SUBSCRIBE refused");
    }
    result
}

fn try_subscribe(
    core: &mut MasterCore,
    now: Duration,
    call: pb::Call,
) -> Result<Subscription, CallError> {
    let kind = validate::call_type(&call)?;
    if kind != CallType::Subscribe {
        return Err(CallError::WrongRpc {
            call: kind.as_str_name(),
            rpc: "Send",
        });
    }
    let subscribe = call.subscribe.ok_or(CallError::MissingPayload {
        call: "SUBSCRIBE",
        field: "subscribe",
    })?;
    let info = subscribe.framework_info;
    let call_id = call.framework_id.map(|id| id.value);
    let info_id = info.id.as_ref().map(|id| id.value.clone());
    if call_id != info_id {
        return Err(CallError::FrameworkIdMismatch {
            call: call_id,
            info: info_id,
        });
    }
    let valid = validate::framework_info(&info, &subscribe.suppressed_roles)?;
    let id = info_id.map(FrameworkId::new);
    let removed = id.as_ref().is_some_and(|id| core.frameworks.is_removed(id));
    if !removed {
        check_framework_cap(core, id.as_ref())?;
    }
    match id {
        Some(id) if removed => {
            let stream = core.next_stream_id();
            warn!(framework = %id, "SUBSCRIBE of a removed framework; answering ERROR");
            core.outbox.push(Outgoing::Event {
                stream: stream.clone(),
                event: Box::new(Event::Error(format!("framework {id} has been removed"))),
            });
            core.outbox.push(Outgoing::Close {
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
    let max = core.config.max_connected_frameworks;
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
    validate::immutable_fields(&record.identity, &valid.identity)?;
    if let Some(old) = record.stream().cloned() {
        debug!(framework = %id, %old, "closing the old stream of a resubscribing framework");
        core.outbox.push(Outgoing::Close { stream: old });
    }
    // The new scheduler instance does not know the old one's offers.
    core.withdraw_offers(now, &id);
    apply_framework_info(core, &id, valid);
    let stream = core.next_stream_id();
    let next_heartbeat = now.saturating_add(core.config.heartbeat_interval);
    core.frameworks.connect(&id, stream.clone(), next_heartbeat);
    allocator_ok(
        &mut core.broken,
        core.allocator.activate_framework(&id, true),
        "activate",
    );
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
    allocator_ok(
        &mut core.broken,
        core.allocator.update_framework(id, spec),
        "update_framework",
    );
    if !unsuppressed.is_empty() {
        allocator_ok(
            &mut core.broken,
            core.allocator.revive(id, &unsuppressed),
            "revive",
        );
    }
    gained_roles || !unsuppressed.is_empty()
}
