//! Tasks: what a framework launches ([`TaskInfo`]), and what it hears back
//! ([`TaskStatus`], [`TaskState`]).

use std::path::Path;
use std::time::Duration;

use crate::resources::Resources;
use crate::{AgentId, ExecutorId, TaskId};

/// The life cycle of a task.
///
/// Exhaustive on purpose: these are Mesos's states, complete since the
/// partition-aware ones, and a framework's `match` on a state should break
/// at compile time, not fall into a catch-all, if one is ever added.
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
    /// The state's Mesos name, as the wire and Mesos's JSON spell it
    /// (`TASK_RUNNING`); `corral-proto` checks each against the wire enum.
    pub fn name(self) -> &'static str {
        match self {
            TaskState::Staging => "TASK_STAGING",
            TaskState::Starting => "TASK_STARTING",
            TaskState::Running => "TASK_RUNNING",
            TaskState::Killing => "TASK_KILLING",
            TaskState::Finished => "TASK_FINISHED",
            TaskState::Failed => "TASK_FAILED",
            TaskState::Killed => "TASK_KILLED",
            TaskState::Error => "TASK_ERROR",
            TaskState::Lost => "TASK_LOST",
            TaskState::Dropped => "TASK_DROPPED",
            TaskState::Unreachable => "TASK_UNREACHABLE",
            TaskState::Gone => "TASK_GONE",
            TaskState::GoneByOperator => "TASK_GONE_BY_OPERATOR",
            TaskState::Unknown => "TASK_UNKNOWN",
        }
    }

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
}

/// Why a task is in its state, when the master or agent says (Mesos's
/// `TaskStatus.Reason`, variant for variant).
///
/// `#[non_exhaustive]`: Mesos adds reasons, and a new one must not break
/// frameworks' matches. A variant added here goes into [`Reason::ALL`]
/// too, which `corral-proto`'s round-trip test walks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Reason {
    /// `REASON_COMMAND_EXECUTOR_FAILED`: command executor failed.
    CommandExecutorFailed,
    /// `REASON_EXECUTOR_TERMINATED`: executor terminated.
    ExecutorTerminated,
    /// `REASON_EXECUTOR_UNREGISTERED`: executor unregistered.
    ExecutorUnregistered,
    /// `REASON_FRAMEWORK_REMOVED`: framework removed.
    FrameworkRemoved,
    /// `REASON_GC_ERROR`: gc error.
    GcError,
    /// `REASON_INVALID_FRAMEWORKID`: invalid frameworkid.
    InvalidFrameworkid,
    /// `REASON_INVALID_OFFERS`: invalid offers.
    InvalidOffers,
    /// `REASON_MASTER_DISCONNECTED`: master disconnected.
    MasterDisconnected,
    /// `REASON_CONTAINER_LIMITATION_MEMORY`: container limitation memory.
    ContainerLimitationMemory,
    /// `REASON_RECONCILIATION`: reconciliation.
    Reconciliation,
    /// `REASON_AGENT_DISCONNECTED`: agent disconnected.
    AgentDisconnected,
    /// `REASON_AGENT_REMOVED`: agent removed.
    AgentRemoved,
    /// `REASON_AGENT_RESTARTED`: agent restarted.
    AgentRestarted,
    /// `REASON_AGENT_UNKNOWN`: agent unknown.
    AgentUnknown,
    /// `REASON_TASK_INVALID`: task invalid.
    TaskInvalid,
    /// `REASON_TASK_UNAUTHORIZED`: task unauthorized.
    TaskUnauthorized,
    /// `REASON_TASK_UNKNOWN`: task unknown.
    TaskUnknown,
    /// `REASON_CONTAINER_PREEMPTED`: container preempted.
    ContainerPreempted,
    /// `REASON_RESOURCES_UNKNOWN`: resources unknown.
    ResourcesUnknown,
    /// `REASON_CONTAINER_LIMITATION`: container limitation.
    ContainerLimitation,
    /// `REASON_CONTAINER_LIMITATION_DISK`: container limitation disk.
    ContainerLimitationDisk,
    /// `REASON_CONTAINER_LAUNCH_FAILED`: container launch failed.
    ContainerLaunchFailed,
    /// `REASON_CONTAINER_UPDATE_FAILED`: container update failed.
    ContainerUpdateFailed,
    /// `REASON_EXECUTOR_REGISTRATION_TIMEOUT`: executor registration timeout.
    ExecutorRegistrationTimeout,
    /// `REASON_EXECUTOR_REREGISTRATION_TIMEOUT`: executor reregistration timeout.
    ExecutorReregistrationTimeout,
    /// `REASON_TASK_GROUP_INVALID`: task group invalid.
    TaskGroupInvalid,
    /// `REASON_TASK_GROUP_UNAUTHORIZED`: task group unauthorized.
    TaskGroupUnauthorized,
    /// `REASON_IO_SWITCHBOARD_EXITED`: io switchboard exited.
    IoSwitchboardExited,
    /// `REASON_TASK_CHECK_STATUS_UPDATED`: task check status updated.
    TaskCheckStatusUpdated,
    /// `REASON_TASK_HEALTH_CHECK_STATUS_UPDATED`: task health check status updated.
    TaskHealthCheckStatusUpdated,
    /// `REASON_TASK_KILLED_DURING_LAUNCH`: task killed during launch.
    TaskKilledDuringLaunch,
    /// `REASON_AGENT_REMOVED_BY_OPERATOR`: agent removed by operator.
    AgentRemovedByOperator,
    /// `REASON_AGENT_REREGISTERED`: agent reregistered.
    AgentReregistered,
    /// `REASON_MAX_COMPLETION_TIME_REACHED`: max completion time reached.
    MaxCompletionTimeReached,
    /// `REASON_AGENT_DRAINING`: agent draining.
    AgentDraining,
}

impl Reason {
    /// Every reason, in wire order.
    pub const ALL: [Reason; 35] = [
        Reason::CommandExecutorFailed,
        Reason::ExecutorTerminated,
        Reason::ExecutorUnregistered,
        Reason::FrameworkRemoved,
        Reason::GcError,
        Reason::InvalidFrameworkid,
        Reason::InvalidOffers,
        Reason::MasterDisconnected,
        Reason::ContainerLimitationMemory,
        Reason::Reconciliation,
        Reason::AgentDisconnected,
        Reason::AgentRemoved,
        Reason::AgentRestarted,
        Reason::AgentUnknown,
        Reason::TaskInvalid,
        Reason::TaskUnauthorized,
        Reason::TaskUnknown,
        Reason::ContainerPreempted,
        Reason::ResourcesUnknown,
        Reason::ContainerLimitation,
        Reason::ContainerLimitationDisk,
        Reason::ContainerLaunchFailed,
        Reason::ContainerUpdateFailed,
        Reason::ExecutorRegistrationTimeout,
        Reason::ExecutorReregistrationTimeout,
        Reason::TaskGroupInvalid,
        Reason::TaskGroupUnauthorized,
        Reason::IoSwitchboardExited,
        Reason::TaskCheckStatusUpdated,
        Reason::TaskHealthCheckStatusUpdated,
        Reason::TaskKilledDuringLaunch,
        Reason::AgentRemovedByOperator,
        Reason::AgentReregistered,
        Reason::MaxCompletionTimeReached,
        Reason::AgentDraining,
    ];
}

/// Where a status update came from.
///
/// Exhaustive: the master, the agent or the executor is every sender there
/// is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// The master (reconciliation, agent loss, invalid tasks...).
    Master,
    /// The agent.
    Agent,
    /// The task's executor.
    Executor,
}

/// Status label: the task's sandbox directory on its agent (set by the
/// mock master's local agents).
pub const SANDBOX_LABEL: &str = "corral.sandbox";
/// Status label: the file the task's standard output goes to.
pub const STDOUT_LABEL: &str = "corral.stdout";
/// Status label: the file the task's standard error goes to.
pub const STDERR_LABEL: &str = "corral.stderr";

/// A status update about a task.
///
/// Built by the runtime from the wire; in tests, with [`TaskStatus::new`]
/// and its `with_*` methods:
///
/// ```
/// use corral_types::{Reason, TaskState, TaskStatus};
///
/// let lost = TaskStatus::new("t1", TaskState::Lost)
///     .with_agent("agent-1")
///     .with_reason(Reason::AgentRemoved)
///     .with_message("agent-1 was removed");
/// assert!(lost.state.is_terminal());
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
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
    /// A status of `task` in `state`, with nothing else set (no agent, no
    /// uuid, timestamp 0).
    pub fn new(task: impl Into<TaskId>, state: TaskState) -> Self {
        TaskStatus {
            task_id: task.into(),
            state,
            message: None,
            reason: None,
            source: None,
            agent_id: None,
            executor_id: None,
            timestamp: 0.0,
            uuid: None,
            data: None,
            healthy: None,
            labels: Vec::new(),
        }
    }

    /// Sets the message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Sets the reason.
    pub fn with_reason(mut self, reason: Reason) -> Self {
        self.reason = Some(reason);
        self
    }

    /// Sets the source.
    pub fn with_source(mut self, source: Source) -> Self {
        self.source = Some(source);
        self
    }

    /// Sets the agent.
    pub fn with_agent(mut self, agent: impl Into<AgentId>) -> Self {
        self.agent_id = Some(agent.into());
        self
    }

    /// Sets the executor.
    pub fn with_executor(mut self, executor: impl Into<ExecutorId>) -> Self {
        self.executor_id = Some(executor.into());
        self
    }

    /// Sets the timestamp, in seconds.
    pub fn with_timestamp(mut self, seconds: f64) -> Self {
        self.timestamp = seconds;
        self
    }

    /// Sets the update's id (an update with one is acknowledged).
    pub fn with_uuid(mut self, uuid: impl Into<Vec<u8>>) -> Self {
        self.uuid = Some(uuid.into());
        self
    }

    /// Sets the executor's data.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = Some(data.into());
        self
    }

    /// Sets the health check result.
    pub fn with_healthy(mut self, healthy: bool) -> Self {
        self.healthy = Some(healthy);
        self
    }

    /// Adds a label.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.push((key.into(), value.into()));
        self
    }

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
}

/// How a task is killed: the time it gets between the polite signal and the
/// forced one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KillPolicy {
    /// Time to clean up after the kill signal.
    pub grace_period: Duration,
}

impl KillPolicy {
    /// A policy with the given grace period.
    pub fn grace(grace_period: Duration) -> Self {
        KillPolicy { grace_period }
    }
}

/// What a command task runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
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
}

/// A task to launch. Built with [`TaskInfo::new`] and its `with_*`
/// methods; the agent and allocation role are filled in from the offer at
/// launch.
///
/// ```
/// use std::time::Duration;
/// use corral_types::{CommandInfo, Resources, TaskInfo};
///
/// let task = TaskInfo::new("wordcount-7")
///     .with_command(CommandInfo::shell("./wordcount part-7"))
///     .with_resources(Resources::new().with_cpus(1.0).with_mem(512.0))
///     .with_grace_period(Duration::from_secs(10))
///     .with_label("stage", "map");
/// assert_eq!(task.name, "wordcount-7");
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
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

    /// Tells the testkit's simulated agents how this task behaves (run
    /// time, exit code, cleanup time); real agents ignore it. Replaces
    /// any earlier hints. See [`sim`](crate::sim).
    pub fn simulated(mut self, hints: crate::sim::SimulatedTask) -> Self {
        self.labels.retain(|(k, _)| {
            ![
                crate::sim::DURATION_LABEL,
                crate::sim::EXIT_LABEL,
                crate::sim::CLEANUP_LABEL,
            ]
            .contains(&k.as_str())
        });
        self.labels.extend(hints.to_labels());
        self
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
    }
}
