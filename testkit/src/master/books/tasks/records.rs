//! The tasks book's records: one live or completed task ([`TaskRecord`]),
//! what a launch brings ([`Launch`]), what a step of its lifecycle reports
//! ([`Transitioned`]), what a kill did ([`KillOutcome`]), and an
//! executor's use of its agent ([`ExecutorUse`]). Plain data; the table
//! in the parent module owns and changes them.

use std::time::Duration;

use corral::TaskState;
use corral::{AgentId, ExecutorId, FrameworkId, Resources, Role, TaskId};

use crate::master::sim::SimPlan;

/// Whether `state` is terminal (as Mesos' `isTerminalState`).
pub fn is_terminal(state: TaskState) -> bool {
    state.is_terminal()
}

/// The default bound of each framework's completed-task history.
pub const DEFAULT_MAX_COMPLETED_TASKS_PER_FRAMEWORK: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(in crate::master) enum Transition {
    Start,
    /// Started by an executor already up: STARTING and RUNNING at once.
    StartWarm,
    Run,
    Exit,
    Stop,
}

/// One launched task.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskRecord {
    /// Its framework.
    pub framework: FrameworkId,
    /// Its id.
    pub id: TaskId,
    /// Where it runs.
    pub agent: AgentId,
    /// The role its resources are allocated to.
    pub role: Role,
    /// Its own resources (allocated form), without its executor's.
    pub resources: Resources,
    /// Its executor, if it has one.
    pub executor: Option<ExecutorId>,
    /// Its task group (LAUNCH_GROUP), if any.
    pub group: Option<u64>,
    /// The latest state generated for it.
    pub state: TaskState,
    /// How it behaves.
    pub plan: SimPlan,
    /// When it was launched (reclaim takes the most recent first).
    pub launched_at: Duration,
    /// Its place in the launch order (ties of `launched_at` within one
    /// ACCEPT: the later task is the more recent).
    pub launch_seq: u64,
    pub(super) next: Option<(Duration, Transition)>,
    pub(super) killing: bool,
}

impl TaskRecord {
    /// Whether a kill of it is under way.
    pub fn is_killing(&self) -> bool {
        self.killing
    }
}

/// What a task needs to be launched.
#[derive(Clone, Debug, PartialEq)]
pub struct Launch {
    /// Its framework.
    pub framework: FrameworkId,
    /// Its id.
    pub id: TaskId,
    /// Where it runs.
    pub agent: AgentId,
    /// The role its resources are allocated to.
    pub role: Role,
    /// Its own resources (allocated form).
    pub resources: Resources,
    /// Its executor and the executor's resources (only charged when the
    /// executor is not running yet).
    pub executor: Option<(ExecutorId, Resources)>,
    /// Its task group, if any.
    pub group: Option<u64>,
    /// How it behaves.
    pub plan: SimPlan,
}

/// A state change of a task, to report.
#[derive(Clone, Debug, PartialEq)]
pub struct Transitioned {
    /// The task's framework.
    pub framework: FrameworkId,
    /// The task.
    pub task: TaskId,
    /// Its agent.
    pub agent: AgentId,
    /// Its executor.
    pub executor: Option<ExecutorId>,
    /// The new state.
    pub state: TaskState,
    /// Resources freed by a terminal state (task, plus its executor's when
    /// this was the executor's last task); empty otherwise.
    pub freed: Resources,
    /// A note for the status message.
    pub message: Option<String>,
}

/// What a kill did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillOutcome {
    /// No such task.
    Unknown,
    /// The task had already ended.
    AlreadyTerminal,
    /// The task was already being killed.
    AlreadyKilling,
    /// The task stops (TASK_KILLED) at this time.
    Killing {
        /// When it stops.
        stops_at: Duration,
    },
}

/// What a frozen task (its agent unreachable) was doing: its state before,
/// and its pending transition as time left.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Frozen {
    pub(super) state: TaskState,
    pub(super) next: Option<(Duration, Transition)>,
}

/// One executor's use of its agent: what it holds and how many live tasks
/// it runs.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecutorUse {
    /// What the executor itself holds.
    pub resources: Resources,
    /// How many live tasks it runs.
    pub live_tasks: usize,
    /// When it is up (its first task's launch and one `sim_step`): a task
    /// sent to it later starts at once, as a task given to a running
    /// executor does; one sent earlier starts when it is up.
    pub up_at: Duration,
}
