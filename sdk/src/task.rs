//! Tasks: what a framework launches ([`TaskInfo`]), and what it hears back
//! ([`TaskStatus`], [`TaskState`]).

use std::path::Path;
use std::time::Duration;

use crate::error::ProtocolError;
use crate::resources::Resources;
use crate::{pb, AgentId, ExecutorId, TaskId};

/// The life cycle of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaskState {
    /// Accepted by the master, on its way to the agent.
    Staging,
    /// The agent is starting it.
    Starting,
    /// Running.
    Running,
    /// Being killed: it got its signal and is cleaning up (only sent to
    /// frameworks with the `TASK_KILLING_STATE` capability).
    Killing,
    /// Exited successfully. Terminal.
    Finished,
    /// Exited with an error. Terminal.
    Failed,
    /// Killed. Terminal.
    Killed,
    /// Invalid task: never launched. Terminal.
    Error,
    /// Lost (for frameworks that are not partition-aware). Terminal, though
    /// it may come back from a partitioned agent.
    Lost,
    /// Dropped before it was launched (partition-aware). Terminal.
    Dropped,
    /// On an agent that can't be reached right now (partition-aware).
    Unreachable,
    /// Gone with its agent (partition-aware). Terminal.
    Gone,
    /// Gone, as an operator declared (partition-aware). Terminal.
    GoneByOperator,
    /// The master does not know the task (partition-aware).
    Unknown,
}

impl TaskState {
    /// True for states a task never leaves (Mesos's `isTerminalState`).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Finished
                | TaskState::Failed
                | TaskState::Killed
                | TaskState::Error
                | TaskState::Lost
                | TaskState::Dropped
                | TaskState::Gone
                | TaskState::GoneByOperator
        )
    }

    /// The wire value.
    pub fn to_pb(self) -> pb::TaskState {
        use pb::TaskState as P;
        match self {
            TaskState::Staging => P::TaskStaging,
            TaskState::Starting => P::TaskStarting,
            TaskState::Running => P::TaskRunning,
            TaskState::Killing => P::TaskKilling,
            TaskState::Finished => P::TaskFinished,
            TaskState::Failed => P::TaskFailed,
            TaskState::Killed => P::TaskKilled,
            TaskState::Error => P::TaskError,
            TaskState::Lost => P::TaskLost,
            TaskState::Dropped => P::TaskDropped,
            TaskState::Unreachable => P::TaskUnreachable,
            TaskState::Gone => P::TaskGone,
            TaskState::GoneByOperator => P::TaskGoneByOperator,
            TaskState::Unknown => P::TaskUnknown,
        }
    }

    /// From the wire value.
    pub fn from_pb(state: pb::TaskState) -> Self {
        use pb::TaskState as P;
        match state {
            P::TaskStaging => TaskState::Staging,
            P::TaskStarting => TaskState::Starting,
            P::TaskRunning => TaskState::Running,
            P::TaskKilling => TaskState::Killing,
            P::TaskFinished => TaskState::Finished,
            P::TaskFailed => TaskState::Failed,
            P::TaskKilled => TaskState::Killed,
            P::TaskError => TaskState::Error,
            P::TaskLost => TaskState::Lost,
            P::TaskDropped => TaskState::Dropped,
            P::TaskUnreachable => TaskState::Unreachable,
            P::TaskGone => TaskState::Gone,
            P::TaskGoneByOperator => TaskState::GoneByOperator,
            P::TaskUnknown => TaskState::Unknown,
        }
    }
}

/// Why a task is in its state, when the master or agent says.
pub type Reason = pb::task_status::Reason;

/// Where a status update came from.
pub type Source = pb::task_status::Source;

/// Status label: the task's sandbox directory on its agent (set by the
/// mock master's local agents).
pub const SANDBOX_LABEL: &str = "corral.sandbox";
/// Status label: the file the task's standard output goes to.
pub const STDOUT_LABEL: &str = "corral.stdout";
/// Status label: the file the task's standard error goes to.
pub const STDERR_LABEL: &str = "corral.stderr";

/// A status update about a task.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskStatus {
    /// The task.
    pub task_id: TaskId,
    /// Its new state.
    pub state: TaskState,
    /// A human-readable explanation.
    pub message: Option<String>,
    /// Why, in machine-readable form.
    pub reason: Option<Reason>,
    /// Who sent it.
    pub source: Option<Source>,
    /// The agent the task is (or was) on.
    pub agent_id: Option<AgentId>,
    /// The executor running it.
    pub executor_id: Option<ExecutorId>,
    /// When it happened, in seconds (since the epoch, or since the mock
    /// master started).
    pub timestamp: f64,
    /// The update's id. Updates with an id are resent until acknowledged;
    /// updates without one (reconciliation answers) must not be acknowledged.
    pub uuid: Option<Vec<u8>>,
    /// Opaque data from the executor.
    pub data: Option<Vec<u8>>,
    /// The latest health check result, if the task has one.
    pub healthy: Option<bool>,
    /// Key-value labels set by the agent or executor, in the order sent
    /// (where its sandbox and log files are, see [`TaskStatus::sandbox`]).
    pub labels: Vec<(String, String)>,
}

impl TaskStatus {
    /// True when this update answers a reconciliation request.
    pub fn is_reconciliation(&self) -> bool {
        self.reason == Some(Reason::Reconciliation)
    }

    /// The value of label `key`, if the status carries it.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The task's sandbox directory (its working directory), when its agent
    /// says (the mock master's local agents do, from TASK_STARTING on).
    pub fn sandbox(&self) -> Option<&Path> {
        self.label(SANDBOX_LABEL).map(Path::new)
    }

    /// The file holding the task's standard output, when its agent says.
    pub fn stdout_path(&self) -> Option<&Path> {
        self.label(STDOUT_LABEL).map(Path::new)
    }

    /// The file holding the task's standard error, when its agent says.
    pub fn stderr_path(&self) -> Option<&Path> {
        self.label(STDERR_LABEL).map(Path::new)
    }

    /// Reads a status from the wire, rejecting an unknown state.
    pub fn from_pb(status: pb::TaskStatus) -> Result<TaskStatus, ProtocolError> {
        let state = pb::TaskState::try_from(status.state).map_err(|_| {
            ProtocolError::new("task status", format!("unknown state {}", status.state))
        })?;
        Ok(TaskStatus {
            task_id: status.task_id.clone().into(),
            state: TaskState::from_pb(state),
            reason: status.reason.and_then(|r| Reason::try_from(r).ok()),
            source: status.source.and_then(|s| Source::try_from(s).ok()),
            message: status.message,
            agent_id: status.agent_id.map(Into::into),
            executor_id: status.executor_id.map(Into::into),
            timestamp: status.timestamp.unwrap_or_default(),
            uuid: status.uuid,
            data: status.data,
            healthy: status.healthy,
            labels: status
                .labels
                .map(|l| {
                    l.labels
                        .into_iter()
                        .map(|l| (l.key, l.value.unwrap_or_default()))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

/// How a task is killed: the time it gets between the polite signal and the
/// forced one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KillPolicy {
    /// Time to clean up after the kill signal.
    pub grace_period: Duration,
}

impl KillPolicy {
    /// A policy with the given grace period.
    pub fn grace(grace_period: Duration) -> Self {
        KillPolicy { grace_period }
    }

    pub(crate) fn to_pb(self) -> pb::KillPolicy {
        pb::KillPolicy {
            grace_period: Some(duration_pb(self.grace_period)),
        }
    }
}

/// Key-value pairs as wire labels (`None` when there are none).
pub(crate) fn labels_pb(labels: &[(String, String)]) -> Option<pb::Labels> {
    (!labels.is_empty()).then(|| pb::Labels {
        labels: labels
            .iter()
            .map(|(k, v)| pb::Label {
                key: k.clone(),
                value: Some(v.clone()),
            })
            .collect(),
    })
}

pub(crate) fn duration_pb(d: Duration) -> pb::DurationInfo {
    pb::DurationInfo {
        nanoseconds: i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
    }
}

/// What a command task runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandInfo {
    /// The shell command line (shell form) or the program (argv form).
    pub value: Option<String>,
    /// True: `value` runs under `sh -c`. False: `value` is the program and
    /// `arguments` its argv.
    pub shell: bool,
    /// The argv, program name included (argv form only).
    pub arguments: Vec<String>,
    /// Extra environment variables.
    pub environment: Vec<(String, String)>,
    /// The user to run as.
    pub user: Option<String>,
}

impl CommandInfo {
    /// A shell command line, run with `sh -c`.
    pub fn shell(line: impl Into<String>) -> Self {
        CommandInfo {
            value: Some(line.into()),
            shell: true,
            ..Default::default()
        }
    }

    /// A program and its arguments, run without a shell. `argv[0]` is the
    /// program.
    pub fn argv<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let arguments: Vec<String> = argv.into_iter().map(Into::into).collect();
        CommandInfo {
            value: arguments.first().cloned(),
            shell: false,
            arguments,
            ..Default::default()
        }
    }

    /// Adds an environment variable.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.environment.push((name.into(), value.into()));
        self
    }

    pub(crate) fn to_pb(&self) -> pb::CommandInfo {
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

/// A task to launch. Built with [`TaskInfo::new`] and its `with_*`
/// methods; the agent and allocation role are filled in from the offer at
/// launch.
///
/// ```
/// use std::time::Duration;
/// use corral::{CommandInfo, Resources, TaskInfo};
///
/// let task = TaskInfo::new("wordcount-7")
///     .with_command(CommandInfo::shell("./wordcount part-7"))
///     .with_resources(Resources::new().with_cpus(1.0).with_mem(512.0))
///     .with_grace_period(Duration::from_secs(10))
///     .with_label("stage", "map");
/// assert_eq!(task.name, "wordcount-7");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TaskInfo {
    /// The task's id, unique within the framework.
    pub id: TaskId,
    /// A name for people; defaults to the id.
    pub name: String,
    /// What it needs, written without allocation info.
    pub resources: Resources,
    /// What it runs.
    pub command: Option<CommandInfo>,
    /// Key-value labels.
    pub labels: Vec<(String, String)>,
    /// How it is killed.
    pub kill_policy: Option<KillPolicy>,
    /// Opaque data for the executor.
    pub data: Option<Vec<u8>>,
}

impl TaskInfo {
    /// A task with this id (also its name), no resources and no command.
    pub fn new(id: impl Into<TaskId>) -> Self {
        let id = id.into();
        TaskInfo {
            name: id.to_string(),
            id,
            resources: Resources::new(),
            command: None,
            labels: Vec::new(),
            kill_policy: None,
            data: None,
        }
    }

    /// Sets the name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the resources it needs.
    pub fn with_resources(mut self, resources: Resources) -> Self {
        self.resources = resources;
        self
    }

    /// Sets the command.
    pub fn with_command(mut self, command: CommandInfo) -> Self {
        self.command = Some(command);
        self
    }

    /// Adds a label.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.push((key.into(), value.into()));
        self
    }

    /// Sets the grace period between the kill signal and the forced kill.
    pub fn with_grace_period(mut self, grace: Duration) -> Self {
        self.kill_policy = Some(KillPolicy::grace(grace));
        self
    }

    /// Sets opaque data for the executor.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = Some(data.into());
        self
    }

    /// The wire form, on `agent`, with resources allocated to `role`.
    pub(crate) fn to_pb(&self, agent: &AgentId, role: &crate::Role) -> pb::TaskInfo {
        pb::TaskInfo {
            name: self.name.clone(),
            task_id: self.id.to_pb(),
            agent_id: agent.to_pb(),
            resources: self.resources.allocated_to(role).to_pb(),
            command: self.command.as_ref().map(CommandInfo::to_pb),
            labels: labels_pb(&self.labels),
            kill_policy: self.kill_policy.map(KillPolicy::to_pb),
            data: self.data.clone(),
            executor: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_match_mesos() {
        let terminal: Vec<TaskState> = [
            TaskState::Staging,
            TaskState::Starting,
            TaskState::Running,
            TaskState::Killing,
            TaskState::Finished,
            TaskState::Failed,
            TaskState::Killed,
            TaskState::Error,
            TaskState::Lost,
            TaskState::Dropped,
            TaskState::Unreachable,
            TaskState::Gone,
            TaskState::GoneByOperator,
            TaskState::Unknown,
        ]
        .into_iter()
        .filter(|s| s.is_terminal())
        .collect();
        assert_eq!(terminal.len(), 8);
        assert!(!TaskState::Unreachable.is_terminal());
        for s in terminal {
            assert_eq!(TaskState::from_pb(s.to_pb()), s);
        }
    }

    #[test]
    fn status_labels_name_the_sandbox_and_logs() {
        let wire = pb::TaskStatus {
            task_id: pb::TaskId { value: "t".into() },
            state: pb::TaskState::TaskRunning as i32,
            labels: labels_pb(&[
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
            state: pb::TaskState::TaskRunning as i32,
            ..Default::default()
        };
        let bare = TaskStatus::from_pb(bare).unwrap();
        assert!(bare.labels.is_empty() && bare.sandbox().is_none());
    }

    #[test]
    fn task_to_wire_stamps_agent_and_role() {
        let task = TaskInfo::new("t1")
            .with_resources(Resources::new().with_cpus(1.0))
            .with_command(CommandInfo::argv(["echo", "hi"]).env("A", "1"))
            .with_grace_period(Duration::from_millis(1500));
        let wire = task.to_pb(&AgentId::from("a1"), &crate::Role::from("web"));
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
}
