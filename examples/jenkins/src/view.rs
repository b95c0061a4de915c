//! Read-only views of the controller's state, for the remote API and the
//! summary: plain data, copied out through an [`Input`](crate::Input) with
//! a reply channel, so nothing outside the controller holds its state.

use crate::config::Parameter;
use crate::queue::{BuildId, BuildResult};

/// Everything but the logs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// The jobs, in the jobs file's order.
    pub jobs: Vec<JobView>,
    /// Every build, by job and number.
    pub builds: Vec<BuildView>,
    /// The queue, front first.
    pub queue: Vec<QueueView>,
    /// The agents alive.
    pub agents: Vec<AgentView>,
}

/// A job.
#[derive(Clone, Debug, PartialEq)]
pub struct JobView {
    /// Its name.
    pub name: String,
    /// Its label.
    pub label: String,
    /// The number its next build gets.
    pub next_number: u64,
    /// Its parameters.
    pub parameters: Vec<Parameter>,
}

/// A build.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildView {
    /// Which.
    pub id: BuildId,
    /// Its queue item id.
    pub queue_id: u64,
    /// Its result, once done.
    pub result: Option<BuildResult>,
    /// True while it runs.
    pub building: bool,
    /// True while it waits in the queue.
    pub queued: bool,
    /// Its last run's duration (done builds), milliseconds.
    pub duration_ms: u64,
    /// When it was triggered, ms since the Unix epoch.
    pub queued_epoch_ms: u64,
    /// When its last run started, ms since the Unix epoch (0: not yet).
    pub started_epoch_ms: u64,
    /// The agent it last ran on.
    pub agent: Option<String>,
    /// Times requeued.
    pub requeued: u32,
}

/// A queued build.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueView {
    /// Its queue item id.
    pub queue_id: u64,
    /// The build.
    pub build: BuildId,
    /// The label it waits for.
    pub label: String,
    /// When it was triggered, ms since the Unix epoch.
    pub since_epoch_ms: u64,
    /// True when it went back to the queue.
    pub requeued: bool,
}

/// An agent.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentView {
    /// Its name (task id).
    pub name: String,
    /// Its label.
    pub label: String,
    /// True when it can take a build now.
    pub idle: bool,
    /// True until it is ready (launching, or not connected yet).
    pub launching: bool,
    /// The build it runs.
    pub build: Option<BuildId>,
    /// True when on revocable resources.
    pub revocable: bool,
}
