//! One task's life on a local agent, as an async task: start its command,
//! report STARTING and RUNNING, wait for it to exit or for a kill, and
//! report how it ended.
//!
//! A kill sends SIGTERM to the task's process group, waits up to the grace
//! period for the task to exit, then sends SIGKILL. The TASK_KILLED message
//! says whether the task ended within its grace period or was forced, and how long it
//! took. A task whose processes outlive SIGKILL (by the reap timeout) is
//! reported as unstoppable, and its executor is killed (see the runner).
//! Whatever way a task ends, processes it left in its group are killed.

use std::time::Duration;

use corral::TaskId;
use corral_proto::pb::task_status::Reason;
use corral_proto::pb::TaskState;
use nix::sys::signal::Signal;
use tokio::process::Child;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::orders::{AgentReport, SandboxPaths, TaskLaunch};
use super::process::{self, ProcessGroup};
use super::sandbox;

/// Longest stderr excerpt put in a failure message.
const STDERR_EXCERPT: usize = 200;

/// Why a task is being killed; it shapes the TASK_KILLED message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum KillWhy {
    /// A KILL call.
    Requested,
    /// Its framework was torn down or timed out.
    FrameworkRemoved,
    /// The master is shutting down.
    Shutdown,
    /// Its executor is being killed because `stuck` could not be stopped.
    Executor {
        /// The task that could not be stopped.
        stuck: TaskId,
    },
}

/// A kill for one task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct KillRequest {
    /// Time between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// Why.
    pub why: KillWhy,
}

/// What a supervisor needs.
pub(super) struct Supervised {
    pub launch: TaskLaunch,
    pub sandbox: SandboxPaths,
    /// How long processes may outlive SIGKILL before the task counts as
    /// unstoppable.
    pub reap_timeout: Duration,
}

struct Reporter<'a> {
    job: &'a Supervised,
    out: mpsc::UnboundedSender<AgentReport>,
}

impl Reporter<'_> {
    fn send(&self, state: TaskState, message: String, reason: Option<Reason>, unstoppable: bool) {
        let launch = &self.job.launch;
        debug!(framework = %launch.framework, task = %launch.task, state = state.as_str_name(), %message, "local task");
        let mut report = AgentReport::new(
            launch.framework.clone(),
            launch.task.clone(),
            state,
            message,
        );
        report.reason = reason;
        report.sandbox = Some(self.job.sandbox.clone());
        report.unstoppable = unstoppable;
        // Fails only when the runner is gone, and then nobody listens.
        let _ = self.out.send(report);
    }
}

/// Runs one task to its end; every state change goes to `out`.
pub(super) async fn supervise(
    job: Supervised,
    mut kills: mpsc::UnboundedReceiver<KillRequest>,
    out: mpsc::UnboundedSender<AgentReport>,
) {
    let report = Reporter { job: &job, out };
    if let Ok(kill) = kills.try_recv() {
        report.send(
            TaskState::TaskKilled,
            format!("killed before its command started{}", why_suffix(&kill.why)),
            Some(Reason::TaskKilledDuringLaunch),
            false,
        );
        return;
    }
    let (mut child, mut group) = match process::spawn(&job.launch, &job.sandbox) {
        Ok(spawned) => spawned,
        Err(err) => {
            warn!(task = %job.launch.task, %err, "local task failed to start");
            report.send(
                TaskState::TaskFailed,
                err.to_string(),
                Some(Reason::ContainerLaunchFailed),
                false,
            );
            return;
        }
    };
    info!(task = %job.launch.task, pgid = group.id(), sandbox = %job.sandbox.dir.display(), "local task started");
    report.send(
        TaskState::TaskStarting,
        format!("started `{}`", job.launch.command.describe()),
        None,
        false,
    );
    report.send(
        TaskState::TaskRunning,
        format!("running as process group {}", group.id()),
        None,
        false,
    );
    let kill = tokio::select! {
        status = child.wait() => {
            group.sweep();
            if group.wait_empty(job.reap_timeout).await {
                group.disarm();
            }
            match status {
                Ok(status) if status.success() => report.send(
                    TaskState::TaskFinished,
                    process::describe_exit(status),
                    None,
                    false,
                ),
                Ok(status) => report.send(
                    TaskState::TaskFailed,
                    with_stderr(process::describe_exit(status), &job.sandbox),
                    None,
                    false,
                ),
                Err(err) => report.send(
                    TaskState::TaskFailed,
                    format!("cannot wait for the task's process: {err}"),
                    Some(Reason::CommandExecutorFailed),
                    false,
                ),
            }
            return;
        }
        Some(kill) = kills.recv() => kill,
    };
    let (state, message, reason, unstoppable) =
        kill_sequence(&mut child, &mut group, &kill, &job).await;
    report.send(state, message, reason, unstoppable);
}

/// SIGTERM, the grace period, SIGKILL; what to report.
async fn kill_sequence(
    child: &mut Child,
    group: &mut ProcessGroup,
    kill: &KillRequest,
    job: &Supervised,
) -> (TaskState, String, Option<Reason>, bool) {
    let start = Instant::now();
    let grace = kill.grace;
    if let Err(e) = group.signal(Signal::SIGTERM) {
        warn!(pgid = group.id(), error = %e, "cannot SIGTERM the group");
    }
    let suffix = why_suffix(&kill.why);
    let reason = match kill.why {
        KillWhy::Executor { .. } => Some(Reason::ExecutorTerminated),
        _ => None,
    };
    if let Ok(status) = tokio::time::timeout(grace, child.wait()).await {
        let took = start.elapsed();
        group.sweep();
        if group.wait_empty(job.reap_timeout).await {
            group.disarm();
        }
        let exit = status.map_or_else(|e| format!("wait failed: {e}"), process::describe_exit);
        return (
            TaskState::TaskKilled,
            format!(
                "ended {} after SIGTERM ({exit}), within its {} grace period, without SIGKILL{suffix}",
                ms(took),
                ms(grace)
            ),
            reason,
            false,
        );
    }
    group.sweep();
    let reaped = tokio::time::timeout(job.reap_timeout, child.wait())
        .await
        .is_ok();
    let emptied = group.wait_empty(job.reap_timeout).await;
    let took = start.elapsed();
    if reaped && emptied {
        group.disarm();
        return (
            TaskState::TaskKilled,
            format!(
                "forced: still running at the end of its {} grace period, killed with SIGKILL; gone {} after SIGTERM{suffix}",
                ms(grace),
                ms(took)
            ),
            reason,
            false,
        );
    }
    let executor = match &job.launch.executor {
        Some(executor) => format!("; its executor {executor} is killed with all its tasks"),
        None => String::new(),
    };
    warn!(task = %job.launch.task, pgid = group.id(), "task processes survived SIGKILL");
    (
        TaskState::TaskKilled,
        format!(
            "could not be stopped: processes of group {} still alive {} after SIGKILL{executor}",
            group.id(),
            ms(job.reap_timeout)
        ),
        Some(Reason::ExecutorTerminated),
        true,
    )
}

fn why_suffix(why: &KillWhy) -> String {
    match why {
        KillWhy::Requested => String::new(),
        KillWhy::FrameworkRemoved => " (its framework was removed)".to_owned(),
        KillWhy::Shutdown => " (the master shut down)".to_owned(),
        KillWhy::Executor { stuck } => {
            format!(" (killed with its executor: task {stuck} could not be stopped)")
        }
    }
}

fn with_stderr(message: String, sandbox: &SandboxPaths) -> String {
    match sandbox::last_line(&sandbox.stderr, STDERR_EXCERPT) {
        Some(line) => format!("{message}; stderr: {line}"),
        None => message,
    }
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}
