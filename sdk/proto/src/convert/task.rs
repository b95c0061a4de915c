//! Tasks, their states and statuses, kill policies, commands and
//! executors on the wire.

use corral_types::{
    AgentId, CommandInfo, ExecutorInfo, FrameworkId, KillPolicy, ProtocolError, Reason, Role,
    Source, TaskInfo, TaskState, TaskStatus,
};

use super::ids::IdPb;
use super::resources::ResourcesPb;
use super::time::{duration_from_pb, duration_to_pb, labels_from_pb, labels_to_pb};
use crate::pb;

/// [`TaskState`] on the wire.
pub trait TaskStatePb {
    /// The wire value.
    fn to_pb(self) -> pb::TaskState;
    /// From the wire value.
    fn from_pb(state: pb::TaskState) -> Self;
}

/// Both directions of a variant-for-variant mapping between `$plain` and
/// the wire enum `W` (a type alias in the invoking module).
macro_rules! both_ways {
    // A non-exhaustive plain enum: a variant this crate does not map has no
    // wire value.
    (partial $plain:ident, $($p:ident <=> $w:ident),* $(,)?) => {
        pub(super) fn to(v: $plain) -> Option<W> {
            #[allow(unreachable_patterns)]
            match v { $($plain::$p => Some(W::$w),)* _ => None }
        }
        pub(super) fn from(v: W) -> $plain {
            match v { $(W::$w => $plain::$p,)* }
        }
    };
    ($plain:ident, $($p:ident <=> $w:ident),* $(,)?) => {
        pub(super) fn to(v: $plain) -> W {
            match v { $($plain::$p => W::$w,)* }
        }
        pub(super) fn from(v: W) -> $plain {
            match v { $(W::$w => $plain::$p,)* }
        }
    };
}

mod state {
    use super::*;
    type W = pb::TaskState;
    both_ways!(TaskState,
        Staging <=> TaskStaging, Starting <=> TaskStarting, Running <=> TaskRunning,
        Killing <=> TaskKilling, Finished <=> TaskFinished, Failed <=> TaskFailed,
        Killed <=> TaskKilled, Error <=> TaskError, Lost <=> TaskLost, Dropped <=> TaskDropped,
        Unreachable <=> TaskUnreachable, Gone <=> TaskGone,
        GoneByOperator <=> TaskGoneByOperator, Unknown <=> TaskUnknown);
}

// Hidden from rustdoc: it would be listed on the plain type\'s page in
// `corral`, whose API names no wire type.
#[doc(hidden)]
impl TaskStatePb for TaskState {
    fn to_pb(self) -> pb::TaskState {
        state::to(self)
    }
    fn from_pb(state: pb::TaskState) -> Self {
        state::from(state)
    }
}

/// [`Reason`] on the wire.
pub trait ReasonPb {
    /// The wire value (`None` for a reason of a newer `corral-types` this
    /// crate cannot write: `Reason` is non-exhaustive).
    fn to_pb(self) -> Option<pb::task_status::Reason>;
    /// From the wire value.
    fn from_pb(reason: pb::task_status::Reason) -> Self;
}

mod reason {
    use super::*;
    type W = pb::task_status::Reason;
    both_ways!(partial Reason,
        CommandExecutorFailed <=> CommandExecutorFailed, ExecutorTerminated <=> ExecutorTerminated, ExecutorUnregistered <=> ExecutorUnregistered, FrameworkRemoved <=> FrameworkRemoved, GcError <=> GcError, InvalidFrameworkid <=> InvalidFrameworkid, InvalidOffers <=> InvalidOffers, MasterDisconnected <=> MasterDisconnected, ContainerLimitationMemory <=> ContainerLimitationMemory, Reconciliation <=> Reconciliation, AgentDisconnected <=> AgentDisconnected, AgentRemoved <=> AgentRemoved, AgentRestarted <=> AgentRestarted, AgentUnknown <=> AgentUnknown, TaskInvalid <=> TaskInvalid, TaskUnauthorized <=> TaskUnauthorized, TaskUnknown <=> TaskUnknown, ContainerPreempted <=> ContainerPreempted, ResourcesUnknown <=> ResourcesUnknown, ContainerLimitation <=> ContainerLimitation, ContainerLimitationDisk <=> ContainerLimitationDisk, ContainerLaunchFailed <=> ContainerLaunchFailed, ContainerUpdateFailed <=> ContainerUpdateFailed, ExecutorRegistrationTimeout <=> ExecutorRegistrationTimeout, ExecutorReregistrationTimeout <=> ExecutorReregistrationTimeout, TaskGroupInvalid <=> TaskGroupInvalid, TaskGroupUnauthorized <=> TaskGroupUnauthorized, IoSwitchboardExited <=> IoSwitchboardExited, TaskCheckStatusUpdated <=> TaskCheckStatusUpdated, TaskHealthCheckStatusUpdated <=> TaskHealthCheckStatusUpdated, TaskKilledDuringLaunch <=> TaskKilledDuringLaunch, AgentRemovedByOperator <=> AgentRemovedByOperator, AgentReregistered <=> AgentReregistered, MaxCompletionTimeReached <=> MaxCompletionTimeReached, AgentDraining <=> AgentDraining);
}

// Hidden from rustdoc: it would be listed on the plain type\'s page in
// `corral`, whose API names no wire type.
#[doc(hidden)]
impl ReasonPb for Reason {
    fn to_pb(self) -> Option<pb::task_status::Reason> {
        reason::to(self)
    }
    fn from_pb(reason: pb::task_status::Reason) -> Self {
        reason::from(reason)
    }
}

/// [`Source`] on the wire.
pub trait SourcePb {
    /// The wire value.
    fn to_pb(self) -> pb::task_status::Source;
    /// From the wire value.
    fn from_pb(source: pb::task_status::Source) -> Self;
}

mod source {
    use super::*;
    type W = pb::task_status::Source;
    both_ways!(Source,
        Master <=> Master, Agent <=> Agent, Executor <=> Executor);
}

// Hidden from rustdoc: it would be listed on the plain type\'s page in
// `corral`, whose API names no wire type.
#[doc(hidden)]
impl SourcePb for Source {
    fn to_pb(self) -> pb::task_status::Source {
        source::to(self)
    }
    fn from_pb(source: pb::task_status::Source) -> Self {
        source::from(source)
    }
}

/// [`TaskStatus`] on the wire.
pub trait TaskStatusPb: Sized {
    /// Reads a status from the wire, rejecting an unknown state or an
    /// empty task id. An unknown reason or source is dropped (`None`), a
    /// non-finite timestamp read as 0.
    fn from_pb(status: pb::TaskStatus) -> Result<Self, ProtocolError>;
    /// The wire form (what a master sends).
    fn to_pb(&self) -> pb::TaskStatus;
}

// Hidden from rustdoc: it would be listed on the plain type\'s page in
// `corral`, whose API names no wire type.
#[doc(hidden)]
impl TaskStatusPb for TaskStatus {
    fn from_pb(status: pb::TaskStatus) -> Result<TaskStatus, ProtocolError> {
        let state = pb::TaskState::try_from(status.state).map_err(|_| {
            ProtocolError::new("task status", format!("unknown state {}", status.state))
        })?;
        if status.task_id.value.is_empty() {
            return Err(ProtocolError::new("task status", "empty task id"));
        }
        let mut out = TaskStatus::new(status.task_id.value.clone(), TaskState::from_pb(state));
        out.reason = status
            .reason
            .and_then(|r| pb::task_status::Reason::try_from(r).ok())
            .map(Reason::from_pb);
        out.source = status
            .source
            .and_then(|s| pb::task_status::Source::try_from(s).ok())
            .map(Source::from_pb);
        out.labels = labels_from_pb(status.labels.as_ref());
        out.message = status.message;
        out.agent_id = status.agent_id.map(Into::into);
        out.executor_id = status.executor_id.map(Into::into);
        out.timestamp = status
            .timestamp
            .filter(|t| t.is_finite())
            .unwrap_or_default();
        out.uuid = status.uuid;
        out.data = status.data;
        out.healthy = status.healthy;
        Ok(out)
    }

    fn to_pb(&self) -> pb::TaskStatus {
        pb::TaskStatus {
            task_id: self.task_id.to_pb(),
            state: self.state.to_pb() as i32,
            data: self.data.clone(),
            message: self.message.clone(),
            agent_id: self.agent_id.as_ref().map(IdPb::to_pb),
            timestamp: Some(self.timestamp),
            executor_id: self.executor_id.as_ref().map(IdPb::to_pb),
            healthy: self.healthy,
            source: self.source.map(|s| s.to_pb() as i32),
            reason: self.reason.and_then(|r| r.to_pb()).map(|r| r as i32),
            uuid: self.uuid.clone(),
            labels: labels_to_pb(&self.labels),
            unreachable_time: None,
        }
    }
}

/// [`KillPolicy`] on the wire.
pub trait KillPolicyPb: Sized {
    /// The wire form.
    fn to_pb(self) -> pb::KillPolicy;
    /// From the wire (a missing grace period is zero, a negative one too).
    fn from_pb(policy: &pb::KillPolicy) -> Self;
}

// Hidden from rustdoc: it would be listed on the plain type\'s page in
// `corral`, whose API names no wire type.
#[doc(hidden)]
impl KillPolicyPb for KillPolicy {
    fn to_pb(self) -> pb::KillPolicy {
        pb::KillPolicy {
            grace_period: Some(duration_to_pb(self.grace_period)),
        }
    }

    fn from_pb(policy: &pb::KillPolicy) -> Self {
        KillPolicy::grace(
            policy
                .grace_period
                .as_ref()
                .map(duration_from_pb)
                .unwrap_or_default(),
        )
    }
}

/// [`CommandInfo`] on the wire.
pub trait CommandInfoPb {
    /// The wire form.
    fn to_pb(&self) -> pb::CommandInfo;
}

// Hidden from rustdoc: it would be listed on the plain type\'s page in
// `corral`, whose API names no wire type.
#[doc(hidden)]
impl CommandInfoPb for CommandInfo {
    fn to_pb(&self) -> pb::CommandInfo {
        pb::CommandInfo {
            value: self.value.clone(),
            shell: Some(self.shell),
            arguments: self.arguments.clone(),
            user: self.user.clone(),
            environment: (!self.environment.is_empty()).then(|| pb::Environment {
                variables: self
                    .environment
                    .iter()
                    .map(|(name, value)| pb::environment::Variable {
                        name: name.clone(),
                        value: Some(value.clone()),
                    })
                    .collect(),
            }),
        }
    }
}

/// [`TaskInfo`] on the wire.
pub trait TaskInfoPb {
    /// The wire form, on `agent`, with resources allocated to `role`.
    fn to_pb(&self, agent: &AgentId, role: &Role) -> pb::TaskInfo;
}

// Hidden from rustdoc: it would be listed on the plain type\'s page in
// `corral`, whose API names no wire type.
#[doc(hidden)]
impl TaskInfoPb for TaskInfo {
    fn to_pb(&self, agent: &AgentId, role: &Role) -> pb::TaskInfo {
        pb::TaskInfo {
            name: self.name.clone(),
            task_id: self.id.to_pb(),
            agent_id: agent.to_pb(),
            resources: self.resources.allocated_to(role).to_pb(),
            command: self.command.as_ref().map(CommandInfoPb::to_pb),
            labels: labels_to_pb(&self.labels),
            kill_policy: self.kill_policy.map(KillPolicyPb::to_pb),
            data: self.data.clone(),
            executor: None,
        }
    }
}

/// [`ExecutorInfo`] on the wire.
pub trait ExecutorInfoPb {
    /// The wire form: a DEFAULT executor of `framework`, with resources
    /// allocated to `role`.
    fn to_pb(&self, framework: Option<&FrameworkId>, role: &Role) -> pb::ExecutorInfo;
}

// Hidden from rustdoc: it would be listed on the plain type\'s page in
// `corral`, whose API names no wire type.
#[doc(hidden)]
impl ExecutorInfoPb for ExecutorInfo {
    fn to_pb(&self, framework: Option<&FrameworkId>, role: &Role) -> pb::ExecutorInfo {
        pb::ExecutorInfo {
            r#type: Some(pb::executor_info::Type::Default as i32),
            executor_id: self.id.to_pb(),
            framework_id: framework.map(IdPb::to_pb),
            command: None,
            resources: self.resources.allocated_to(role).to_pb(),
            name: self.name.clone(),
            data: None,
            labels: labels_to_pb(&self.labels),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use corral_types::{Resources, SANDBOX_LABEL, STDERR_LABEL, STDOUT_LABEL};

    use super::*;

    #[test]
    fn states_reasons_and_sources_round_trip() {
        for s in [
            TaskState::Staging,
            TaskState::Running,
            TaskState::Killing,
            TaskState::Finished,
            TaskState::GoneByOperator,
            TaskState::Unknown,
        ] {
            assert_eq!(TaskState::from_pb(s.to_pb()), s);
        }
        for r in Reason::ALL {
            assert_eq!(r.to_pb().map(Reason::from_pb), Some(r), "{r:?}");
        }
        assert_eq!(
            Reason::AgentRemoved.to_pb(),
            Some(pb::task_status::Reason::AgentRemoved)
        );
        for s in [Source::Master, Source::Agent, Source::Executor] {
            assert_eq!(Source::from_pb(s.to_pb()), s);
        }
    }

    #[test]
    fn every_state_is_named_as_on_the_wire() {
        let mut named = 0;
        for value in 0..64 {
            let Ok(wire) = pb::TaskState::try_from(value) else {
                continue;
            };
            let state = TaskState::from_pb(wire);
            assert_eq!(state.name(), wire.as_str_name(), "{state:?}");
            named += 1;
        }
        assert_eq!(named, 14, "one wire state per state");
    }

    #[test]
    fn status_labels_name_the_sandbox_and_logs() {
        let wire = pb::TaskStatus {
            task_id: pb::TaskId { value: "t".into() },
            state: pb::TaskState::TaskRunning as i32,
            labels: labels_to_pb(&[
                (SANDBOX_LABEL.to_owned(), "/w/run".to_owned()),
                (STDOUT_LABEL.to_owned(), "/w/run/stdout".to_owned()),
                (STDERR_LABEL.to_owned(), "/w/run/stderr".to_owned()),
            ]),
            ..Default::default()
        };
        let status = TaskStatus::from_pb(wire).unwrap();
        assert_eq!(status.sandbox(), Some(Path::new("/w/run")));
        assert_eq!(status.stdout_path(), Some(Path::new("/w/run/stdout")));
        assert_eq!(status.stderr_path(), Some(Path::new("/w/run/stderr")));
        assert_eq!(status.label("nope"), None);
        let bare = pb::TaskStatus {
            task_id: pb::TaskId { value: "t".into() },
            state: pb::TaskState::TaskRunning as i32,
            timestamp: Some(f64::NAN),
            ..Default::default()
        };
        let bare = TaskStatus::from_pb(bare).unwrap();
        assert!(bare.labels.is_empty() && bare.sandbox().is_none());
        assert_eq!(bare.timestamp, 0.0, "a NaN timestamp reads as 0");
        let status = TaskStatus::new("t", TaskState::Lost)
            .with_reason(Reason::AgentRemoved)
            .with_source(Source::Master)
            .with_uuid(vec![1; 16]);
        assert_eq!(TaskStatus::from_pb(status.to_pb()).unwrap(), status);
    }

    #[test]
    fn unknown_states_and_empty_ids_are_protocol_errors() {
        let unknown = pb::TaskStatus {
            task_id: pb::TaskId { value: "t".into() },
            state: 999,
            ..Default::default()
        };
        assert!(TaskStatus::from_pb(unknown).is_err());
        let no_id = pb::TaskStatus {
            state: pb::TaskState::TaskRunning as i32,
            ..Default::default()
        };
        assert!(TaskStatus::from_pb(no_id).is_err());
    }

    #[test]
    fn task_to_wire_stamps_agent_and_role() {
        let task = TaskInfo::new("t1")
            .with_resources(Resources::new().with_cpus(1.0))
            .with_command(CommandInfo::argv(["echo", "hi"]).env("A", "1"))
            .with_grace_period(Duration::from_millis(1500));
        let wire = task.to_pb(&AgentId::from("a1"), &Role::from("web"));
        assert_eq!(wire.agent_id.value, "a1");
        assert_eq!(
            wire.resources[0]
                .allocation_info
                .as_ref()
                .unwrap()
                .role
                .as_deref(),
            Some("web")
        );
        assert_eq!(
            wire.kill_policy.unwrap().grace_period.unwrap().nanoseconds,
            1_500_000_000
        );
        let cmd = wire.command.unwrap();
        assert_eq!(cmd.shell, Some(false));
        assert_eq!(cmd.arguments, vec!["echo", "hi"]);
    }

    #[test]
    fn executor_wire_form_is_a_default_executor_with_allocated_resources() {
        let executor = ExecutorInfo::new("e1")
            .with_name("pod")
            .with_resources(Resources::new().with_mem(32.0))
            .with_label("tier", "web");
        let role = Role::from("web");
        let wire = executor.to_pb(Some(&FrameworkId::from("f1")), &role);
        assert_eq!(wire.r#type(), pb::executor_info::Type::Default);
        assert_eq!(wire.executor_id.value, "e1");
        assert_eq!(wire.framework_id.unwrap().value, "f1");
        assert_eq!(wire.name.as_deref(), Some("pod"));
        let resources = Resources::from_pb(&wire.resources).unwrap();
        assert_eq!(
            resources,
            Resources::new().with_mem(32.0).allocated_to(&role)
        );
        assert_eq!(wire.labels.unwrap().labels[0].key, "tier");
    }
}
