//! The wire edge of the scheduler API: decodes a `pb::Call`'s payload into
//! the plain input of its handler in `calls/`, with the validation that
//! needs no master state (uuids, filters, kill policies, the FrameworkInfo
//! of UPDATE_FRAMEWORK). Handlers then work on plain types only; a second
//! front door decodes its own wire into the same inputs.
//!
//! Outgoing events are encoded in `outbox.rs`.

use corral::{AgentId, FrameworkId, OfferId, TaskId};
use corral_proto::pb;

use super::calls::acknowledge::Acknowledge;
use super::calls::decline::Decline;
use super::calls::kill::Kill;
use super::calls::reconcile::Reconcile;
use super::calls::update_framework::UpdateFramework;
use super::error::CallError;
use super::processes::local_tasks::LocalCommand;
use super::sim::duration_info;
use super::validate;
use crate::agent::CommandSpec;

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

/// The command a task on a local agent runs: `task` must have one that
/// can be run (the refusal names `agent`).
pub(in crate::master) fn local_command(
    agent: &AgentId,
    task: &pb::TaskInfo,
) -> Result<LocalCommand, String> {
    let command = task.command.as_ref().ok_or_else(|| {
        format!("local agent {agent} runs command tasks only: this task has no command")
    })?;
    let spec = CommandSpec::from_pb(command).map_err(|e| e.to_string())?;
    let environment = command
        .environment
        .iter()
        .flat_map(|env| &env.variables)
        .map(|v| (v.name.clone(), v.value.clone().unwrap_or_default()))
        .collect();
    Ok(LocalCommand { spec, environment })
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_proto::convert::IdPb;
    use std::time::Duration;

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
