//! The incoming wire edge of the scheduler API: the core's wire entry
//! points, [`MasterCore::subscribe`] and [`MasterCore::handle`], which
//! check a `pb::Call` (its type, framework id and stream, in that order),
//! decode its payload into the plain input of its handler in `calls/`
//! (with the validation that needs no master state: uuids, filters, kill
//! policies, FrameworkInfo, resources), and hand it to the core's plain
//! entry points (`api.rs`: `open`, `apply`). The wire forms a local
//! agent's reports carry are in `local_wire.rs`. Handlers work on plain types only; a second
//! front door decodes its own wire into the same inputs.
//!
//! Outgoing events are encoded in `outbox.rs`.

use std::time::Duration;

use corral::{AgentId, ExecutorId, FrameworkId, OfferId, Resources, TaskId};
use corral_proto::convert::*;
use corral_proto::pb;
use corral_proto::pb::call::Type as CallType;
use corral_proto::pb::offer::operation::Type as OperationType;
use tracing::warn;

use super::api::Input;
use super::calls::accept::{Accept, ExecutorInput, Operation, TaskInput};
use super::calls::acknowledge::Acknowledge;
use super::calls::decline::Decline;
use super::calls::kill::Kill;
use super::calls::reconcile::Reconcile;
use super::calls::request::Request;
use super::calls::subscribe::Subscribe;
use super::calls::update_framework::UpdateFramework;
use super::core::{MasterCore, Subscription};
use super::error::CallError;
use super::local_wire::local_command;
use super::validate;

impl MasterCore {
    /// Handles a SUBSCRIBE (new framework, resubscription or failover).
    /// `Err`: the RPC fails and no stream opens.
    pub fn subscribe(&mut self, now: Duration, call: pb::Call) -> Result<Subscription, CallError> {
        let _span = tracing::debug_span!("call", call = "SUBSCRIBE").entered();
        self.telemetry_mut().call_received("SUBSCRIBE");
        let result = subscribe(call).and_then(|input| self.open(now, input));
        if let Err(err) = &result {
            warn!(%err, "SUBSCRIBE refused");
        }
        result
    }

    /// Handles a non-SUBSCRIBE call sent with `mesos-stream-id` = `stream`.
    pub fn handle(
        &mut self,
        now: Duration,
        stream: Option<&str>,
        call: pb::Call,
    ) -> Result<(), CallError> {
        let kind = call
            .r#type
            .and_then(|k| CallType::try_from(k).ok())
            .map_or("?", |k| k.as_str_name());
        let framework = call.framework_id.as_ref().map(|f| f.value.clone());
        let _span =
            tracing::debug_span!("call", call = kind, framework = framework.as_deref()).entered();
        self.telemetry_mut().call_received(kind);
        let result = self.try_handle(now, stream, call);
        self.sweep_notices();
        if let Err(err) = &result {
            warn!(call = kind, framework = ?framework, %err, "call refused");
        }
        result
    }

    fn try_handle(
        &mut self,
        now: Duration,
        stream: Option<&str>,
        call: pb::Call,
    ) -> Result<(), CallError> {
        let kind = validate::call_type(&call)?;
        if kind == CallType::Subscribe {
            return Err(CallError::WrongRpc {
                call: "SUBSCRIBE",
                rpc: "Subscribe",
            });
        }
        let fw = call
            .framework_id
            .as_ref()
            .map(FrameworkId::from)
            .ok_or(CallError::MissingFrameworkId)?;
        let stream = stream.ok_or(CallError::MissingStreamId)?;
        self.check_stream(&fw, stream)?;
        let input = input(kind, call)?;
        self.apply(now, &fw, input)
    }
}

/// SUBSCRIBE: a SUBSCRIBE call ([`CallError::WrongRpc`] otherwise) with
/// its payload, whose FrameworkInfo names the call's framework id (if
/// any) and is valid.
fn subscribe(call: pb::Call) -> Result<Subscribe, CallError> {
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
    Ok(Subscribe {
        id: info_id.map(FrameworkId::new),
        valid,
    })
}

/// The payload of a call of type `kind` (not SUBSCRIBE) as its handler's
/// input.
fn input(kind: CallType, call: pb::Call) -> Result<Input, CallError> {
    let missing = |field: &'static str| CallError::MissingPayload {
        call: kind.as_str_name(),
        field,
    };
    Ok(match kind {
        CallType::Teardown => Input::Teardown,
        CallType::Accept => Input::Accept(accept(call.accept.ok_or_else(|| missing("accept"))?)),
        CallType::Decline => {
            Input::Decline(decline(&call.decline.ok_or_else(|| missing("decline"))?))
        }
        CallType::Revive => Input::Revive(call.revive.map(|r| r.roles).unwrap_or_default()),
        CallType::Suppress => Input::Suppress(call.suppress.map(|s| s.roles).unwrap_or_default()),
        CallType::Kill => Input::Kill(kill(&call.kill.ok_or_else(|| missing("kill"))?)),
        CallType::Acknowledge => Input::Acknowledge(acknowledge(
            &call.acknowledge.ok_or_else(|| missing("acknowledge"))?,
        )?),
        CallType::Reconcile => Input::Reconcile(reconcile(&call.reconcile.unwrap_or_default())),
        CallType::UpdateFramework => {
            let fw = call
                .framework_id
                .as_ref()
                .map(FrameworkId::from)
                .ok_or(CallError::MissingFrameworkId)?;
            Input::UpdateFramework(update_framework(
                &fw,
                &call
                    .update_framework
                    .ok_or_else(|| missing("update_framework"))?,
            )?)
        }
        CallType::Request => Input::Request(request(&call.request.unwrap_or_default())),
        CallType::AcceptInverseOffers => Input::InverseOffers {
            ids: inverse_offer_ids(
                &call
                    .accept_inverse_offers
                    .map(|c| c.inverse_offer_ids)
                    .unwrap_or_default(),
            ),
            accept: true,
        },
        CallType::DeclineInverseOffers => Input::InverseOffers {
            ids: inverse_offer_ids(
                &call
                    .decline_inverse_offers
                    .map(|c| c.inverse_offer_ids)
                    .unwrap_or_default(),
            ),
            accept: false,
        },
        CallType::Shutdown | CallType::Message | CallType::Unknown | CallType::Subscribe => {
            return Err(CallError::UnsupportedCall(kind.as_str_name()))
        }
    })
}

/// ACCEPT: the offers, the filter, each operation with its tasks and
/// resources read; what cannot be read is kept in place for the handler.
pub fn accept(accept: pb::call::Accept) -> Accept {
    Accept {
        offers: accept.offer_ids.iter().map(OfferId::from).collect(),
        refuse: validate::refuse_filter(accept.filters.as_ref()),
        operations: accept.operations.into_iter().map(operation).collect(),
    }
}

fn operation(operation: pb::offer::Operation) -> Operation {
    let malformed = |why: &str| Operation::Malformed(why.to_owned());
    match operation.r#type() {
        OperationType::Launch => match operation.launch {
            Some(launch) => Operation::Launch(launch.task_infos.iter().map(task).collect()),
            None => malformed("LAUNCH without 'launch'"),
        },
        OperationType::LaunchGroup => match operation.launch_group {
            Some(group) => Operation::LaunchGroup {
                executor: Box::new(executor(&group.executor)),
                tasks: group.task_group.tasks.iter().map(task).collect(),
            },
            None => malformed("LAUNCH_GROUP without 'launch_group'"),
        },
        OperationType::Reserve => match operation.reserve {
            Some(reserve) => Operation::Reserve(resources(&reserve.resources)),
            None => malformed("RESERVE without 'reserve'"),
        },
        OperationType::Unreserve => match operation.unreserve {
            Some(unreserve) => Operation::Unreserve(resources(&unreserve.resources)),
            None => malformed("UNRESERVE without 'unreserve'"),
        },
        OperationType::Unknown => malformed("operation has no known type"),
    }
}

fn resources(list: &[pb::Resource]) -> Result<Resources, String> {
    Resources::from_pb(list).map_err(|e| e.to_string())
}

fn task(task: &pb::TaskInfo) -> TaskInput {
    let agent = AgentId::from(&task.agent_id);
    TaskInput {
        id: TaskId::from(&task.task_id),
        local: local_command(&agent, task),
        agent,
        resources: resources(&task.resources),
        has_command: task.command.is_some(),
        executor: task.executor.as_ref().map(executor),
        labels: labels_from_pb(task.labels.as_ref()),
        command: task.command.as_ref().and_then(|c| c.value.clone()),
        kill_grace: task
            .kill_policy
            .as_ref()
            .and_then(|p| p.grace_period.as_ref())
            .map(duration_info),
    }
}

fn executor(executor: &pb::ExecutorInfo) -> ExecutorInput {
    ExecutorInput {
        id: ExecutorId::from(&executor.executor_id),
        resources: resources(&executor.resources),
    }
}

/// REQUEST: each request's resources.
pub fn request(request: &pb::call::Request) -> Request {
    Request {
        requests: request
            .requests
            .iter()
            .map(|one| resources(&one.resources))
            .collect(),
    }
}

/// A DurationInfo as a Duration; negative counts as zero.
pub fn duration_info(d: &pb::DurationInfo) -> Duration {
    Duration::from_nanos(u64::try_from(d.nanoseconds).unwrap_or(0))
}

/// ACKNOWLEDGE: the task and its update's uuid (16 bytes, else
/// [`CallError::MalformedUuid`]).
pub fn acknowledge(ack: &pb::call::Acknowledge) -> Result<Acknowledge, CallError> {
    Ok(Acknowledge {
        uuid: validate::uuid(&ack.uuid)?,
        task: TaskId::from(&ack.task_id),
    })
}

/// DECLINE: the offers and how long to refuse their resources.
pub fn decline(decline: &pb::call::Decline) -> Decline {
    Decline {
        refuse: validate::refuse_filter(decline.filters.as_ref()),
        offers: decline.offer_ids.iter().map(OfferId::from).collect(),
    }
}

/// KILL: the task, the agent the framework names, and the grace period
/// of its kill policy.
pub fn kill(kill: &pb::call::Kill) -> Kill {
    Kill {
        task: TaskId::from(&kill.task_id),
        agent: kill.agent_id.as_ref().map(AgentId::from),
        grace: kill
            .kill_policy
            .as_ref()
            .and_then(|p| p.grace_period.as_ref())
            .map(duration_info),
    }
}

/// RECONCILE: the tasks asked about, each with the agent named (empty:
/// implicit reconciliation).
pub fn reconcile(reconcile: &pb::call::Reconcile) -> Reconcile {
    Reconcile {
        tasks: reconcile
            .tasks
            .iter()
            .map(|t| {
                (
                    TaskId::from(&t.task_id),
                    t.agent_id.as_ref().map(AgentId::from),
                )
            })
            .collect(),
    }
}

/// ACCEPT_INVERSE_OFFERS / DECLINE_INVERSE_OFFERS: the ids answered.
pub fn inverse_offer_ids(ids: &[pb::OfferId]) -> Vec<OfferId> {
    ids.iter().map(OfferId::from).collect()
}

/// UPDATE_FRAMEWORK sent by `fw`: its FrameworkInfo must carry `fw`'s id
/// ([`CallError::FrameworkIdMismatch`]) and be valid as for SUBSCRIBE.
pub fn update_framework(
    fw: &FrameworkId,
    update: &pb::call::UpdateFramework,
) -> Result<UpdateFramework, CallError> {
    let info = &update.framework_info;
    let info_id = info.id.as_ref().map(|id| id.value.clone());
    if info_id.as_deref() != Some(fw.as_str()) {
        return Err(CallError::FrameworkIdMismatch {
            call: Some(fw.to_string()),
            info: info_id,
        });
    }
    Ok(UpdateFramework {
        valid: validate::framework_info(info, &update.suppressed_roles)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledge_needs_a_16_byte_uuid() {
        let mut ack = pb::call::Acknowledge {
            agent_id: AgentId::new("a").to_pb(),
            task_id: TaskId::new("t").to_pb(),
            uuid: vec![7; 3],
        };
        assert_eq!(acknowledge(&ack), Err(CallError::MalformedUuid(3)));
        ack.uuid = vec![7; 16];
        let plain = acknowledge(&ack).unwrap();
        assert_eq!((plain.task, plain.uuid), (TaskId::new("t"), [7; 16]));
    }

    #[test]
    fn decline_defaults_its_filter_and_kill_reads_the_grace() {
        let d = decline(&pb::call::Decline {
            offer_ids: vec![OfferId::new("o").to_pb()],
            filters: None,
        });
        assert_eq!(d.offers, [OfferId::new("o")]);
        assert_eq!(d.refuse, Duration::from_secs(5));
        let k = kill(&pb::call::Kill {
            task_id: TaskId::new("t").to_pb(),
            agent_id: None,
            kill_policy: Some(pb::KillPolicy {
                grace_period: Some(pb::DurationInfo {
                    nanoseconds: 2_000_000_000,
                }),
            }),
        });
        assert_eq!(k.grace, Some(Duration::from_secs(2)));
        assert_eq!(k.agent, None);
    }

    #[test]
    fn negative_grace_is_zero() {
        let d = pb::DurationInfo { nanoseconds: -3 };
        assert_eq!(duration_info(&d), Duration::ZERO);
    }

    #[test]
    fn update_framework_must_name_the_caller() {
        let update = pb::call::UpdateFramework {
            framework_info: pb::FrameworkInfo {
                user: "u".into(),
                name: "n".into(),
                id: Some(FrameworkId::new("other").to_pb()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(matches!(
            update_framework(&FrameworkId::new("me"), &update),
            Err(CallError::FrameworkIdMismatch { .. })
        ));
        assert!(update_framework(&FrameworkId::new("other"), &update).is_ok());
    }
}
