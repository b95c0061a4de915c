//! [`LocalRunner`]: carries out the master core's [`AgentOrder`]s for every
//! local agent of one master. It makes each task's sandbox, runs one
//! supervisor per task (see `supervisor.rs`), keeps the executors of task
//! groups together, kills a whole executor only when one of its tasks
//! cannot be stopped, removes sandboxes once their time to live is over,
//! and stops everything on shutdown.
//!
//! Its reports come out of the [`Reports`] handed out with it; whoever
//! reads them passes each to [`LocalRunner::observe`] first (the runner's
//! own bookkeeping), then to the master core.

use corral_proto::convert::*;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use corral::{AgentId, ExecutorId, FrameworkId, TaskId};
use corral_proto::pb::task_status::Reason;
use corral_proto::pb::TaskState;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use super::orders::{AgentOrder, AgentReport, SandboxPaths, TaskLaunch};
use super::sandbox::{self, SandboxError};
use super::supervisor::{self, KillRequest, KillWhy, Supervised};

/// The grace period of a kill when neither the KILL call nor the task's
/// KillPolicy gives one (as Mesos's command executor: 3 s).
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(3);

/// How long a task's processes may outlive SIGKILL before the task counts
/// as one that cannot be stopped (and its executor is killed).
pub const DEFAULT_REAP_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a sandbox is kept after its executor's last task ended.
pub const DEFAULT_SANDBOX_TTL: Duration = Duration::from_secs(600);

/// How the local agents behave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunnerConfig {
    /// How long a sandbox is kept once its executor's last task has ended.
    pub sandbox_ttl: Duration,
    /// The grace period of a kill when neither the KILL call nor the task
    /// gives one.
    pub default_grace: Duration,
    /// How long processes may outlive SIGKILL before their task counts as
    /// one that cannot be stopped.
    pub reap_timeout: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            sandbox_ttl: DEFAULT_SANDBOX_TTL,
            default_grace: DEFAULT_KILL_GRACE,
            reap_timeout: DEFAULT_REAP_TIMEOUT,
        }
    }
}

/// The reports of a [`LocalRunner`]'s tasks, in the order they happened
/// for each task.
#[derive(Debug)]
pub struct Reports(mpsc::UnboundedReceiver<AgentReport>);

impl Reports {
    /// The next report. Cancel-safe. `None` only once the runner is gone
    /// and every report has been read.
    pub async fn recv(&mut self) -> Option<AgentReport> {
        self.0.recv().await
    }
}

type ExecutorKey = (FrameworkId, AgentId, ExecutorId);

struct RunningTask {
    kills: mpsc::UnboundedSender<KillRequest>,
    grace: Duration,
    executor: Option<ExecutorKey>,
    /// The run directory removed when the task (command task) ends.
    run: (PathBuf, PathBuf),
}

/// A task's sandbox, ready.
struct Prepared {
    /// (work dir, run dir): what is removed after the TTL.
    run: (PathBuf, PathBuf),
    /// The task's own sandbox (the run dir, or a directory in it).
    dir: PathBuf,
    executor: Option<ExecutorKey>,
}

struct ExecutorRun {
    /// (work dir, run dir).
    run: (PathBuf, PathBuf),
    live: BTreeSet<TaskId>,
}

/// Runs the tasks of local agents as real processes. See the module docs.
pub struct LocalRunner {
    config: RunnerConfig,
    tasks: BTreeMap<(FrameworkId, TaskId), RunningTask>,
    executors: BTreeMap<ExecutorKey, ExecutorRun>,
    out: mpsc::UnboundedSender<AgentReport>,
    supervisors: JoinSet<()>,
    collectors: JoinSet<()>,
}

impl std::fmt::Debug for LocalRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalRunner")
            .field("config", &self.config)
            .field("running", &self.tasks.len())
            .field("executors", &self.executors.len())
            .finish()
    }
}

impl LocalRunner {
    /// A runner with nothing running, and where its reports come out.
    /// Must be created inside a tokio runtime's context.
    pub fn new(config: RunnerConfig) -> (LocalRunner, Reports) {
        let (out, reports) = mpsc::unbounded_channel();
        let runner = LocalRunner {
            config,
            tasks: BTreeMap::new(),
            executors: BTreeMap::new(),
            out,
            supervisors: JoinSet::new(),
            collectors: JoinSet::new(),
        };
        (runner, Reports(reports))
    }

    /// How many tasks are running (not yet reported terminal and observed).
    pub fn running(&self) -> usize {
        self.tasks.len()
    }

    /// Carries out one order.
    pub fn execute(&mut self, order: AgentOrder) {
        match order {
            AgentOrder::Launch(launch) => self.launch(*launch),
            AgentOrder::Kill {
                framework,
                task,
                grace,
            } => self.kill(&framework, &task, grace, KillWhy::Requested),
            AgentOrder::StopFramework { framework } => {
                let tasks: Vec<TaskId> = self
                    .tasks
                    .keys()
                    .filter(|(fw, _)| *fw == framework)
                    .map(|(_, task)| task.clone())
                    .collect();
                info!(%framework, tasks = tasks.len(), "stopping every local task of the framework");
                for task in tasks {
                    self.kill(&framework, &task, None, KillWhy::FrameworkRemoved);
                }
            }
        }
    }

    fn launch(&mut self, launch: TaskLaunch) {
        let key = (launch.framework.clone(), launch.task.clone());
        if self.tasks.contains_key(&key) {
            warn!(framework = %launch.framework, task = %launch.task, "launch of a task that is still running here; refused");
            self.fail(
                &launch,
                "a task with this id is still running on this agent",
            );
            return;
        }
        let Prepared { run, dir, executor } = match self.prepare(&launch) {
            Ok(prepared) => prepared,
            Err(err) => {
                warn!(task = %launch.task, %err, "cannot make the task's sandbox");
                self.fail(&launch, &err.to_string());
                return;
            }
        };
        let (kills, kill_receiver) = mpsc::unbounded_channel();
        self.tasks.insert(
            key,
            RunningTask {
                kills,
                grace: launch.kill_grace.unwrap_or(self.config.default_grace),
                executor,
                run,
            },
        );
        let job = Supervised {
            launch,
            sandbox: SandboxPaths::in_dir(dir),
            reap_timeout: self.config.reap_timeout,
        };
        self.supervisors
            .spawn(supervisor::supervise(job, kill_receiver, self.out.clone()));
    }

    /// Makes the task's sandbox (and its executor's run, if new).
    fn prepare(&mut self, launch: &TaskLaunch) -> Result<Prepared, SandboxError> {
        let work = launch.work_dir.clone();
        let Some(executor) = &launch.executor else {
            let run = sandbox::create_run(&work, launch.framework.as_str(), launch.task.as_str())?;
            return Ok(Prepared {
                run: (work, run.clone()),
                dir: run,
                executor: None,
            });
        };
        let key = (
            launch.framework.clone(),
            launch.agent.clone(),
            executor.clone(),
        );
        let entry = match self.executors.entry(key.clone()) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(slot) => {
                let run = sandbox::create_run(&work, launch.framework.as_str(), executor.as_str())?;
                debug!(%executor, run = %run.display(), "executor run started");
                slot.insert(ExecutorRun {
                    run: (work, run),
                    live: BTreeSet::new(),
                })
            }
        };
        match sandbox::create_task_dir(&entry.run.1, launch.task.as_str()) {
            Ok(dir) => {
                entry.live.insert(launch.task.clone());
                Ok(Prepared {
                    run: entry.run.clone(),
                    dir,
                    executor: Some(key),
                })
            }
            Err(err) => {
                // A run made for this task alone goes again.
                let unused = entry.live.is_empty().then(|| entry.run.clone());
                if let Some(run) = unused {
                    self.executors.remove(&key);
                    self.collect_later(run);
                }
                Err(err)
            }
        }
    }

    /// Reports a task that never got to start.
    fn fail(&self, launch: &TaskLaunch, why: &str) {
        let mut report = AgentReport::new(
            launch.framework.clone(),
            launch.task.clone(),
            TaskState::TaskFailed,
            format!("cannot launch: {why}"),
        );
        report.reason = Some(Reason::ContainerLaunchFailed);
        let _ = self.out.send(report);
    }

    fn kill(
        &mut self,
        framework: &FrameworkId,
        task: &TaskId,
        grace: Option<Duration>,
        why: KillWhy,
    ) {
        let Some(running) = self.tasks.get(&(framework.clone(), task.clone())) else {
            debug!(%framework, %task, "kill of a task that is not running here (it has ended)");
            return;
        };
        let grace = grace.unwrap_or(running.grace);
        debug!(%framework, %task, ?grace, ?why, "kill");
        // Fails only when the supervisor has ended; its report is on its way.
        let _ = running.kills.send(KillRequest { grace, why });
    }

    /// The runner's own bookkeeping for a report (call it before handing
    /// the report on): a terminal task is forgotten and its sandbox
    /// scheduled for removal when its executor has no task left; a task
    /// that could not be stopped takes its executor's other tasks down.
    pub fn observe(&mut self, report: &AgentReport) {
        while self.supervisors.try_join_next().is_some() {}
        while self.collectors.try_join_next().is_some() {}
        if !is_terminal(report.state) {
            return;
        }
        let key = (report.framework.clone(), report.task.clone());
        let Some(done) = self.tasks.remove(&key) else {
            return;
        };
        let Some(executor) = done.executor else {
            self.collect_later(done.run);
            return;
        };
        let Some(entry) = self.executors.get_mut(&executor) else {
            return;
        };
        entry.live.remove(&report.task);
        if report.unstoppable() {
            let siblings: Vec<TaskId> = entry.live.iter().cloned().collect();
            warn!(executor = %executor.2, stuck = %report.task, siblings = siblings.len(),
                "a task could not be stopped: killing its whole executor");
            for sibling in siblings {
                let why = KillWhy::Executor {
                    stuck: report.task.clone(),
                };
                self.kill(&report.framework, &sibling, Some(Duration::ZERO), why);
            }
            return;
        }
        if entry.live.is_empty() {
            if let Some(finished) = self.executors.remove(&executor) {
                debug!(executor = %executor.2, "executor run ended");
                self.collect_later(finished.run);
            }
        }
    }

    /// Removes `run` (work dir, run dir) once the sandbox TTL is over.
    fn collect_later(&mut self, (work, run): (PathBuf, PathBuf)) {
        let ttl = self.config.sandbox_ttl;
        self.collectors.spawn(async move {
            tokio::time::sleep(ttl).await;
            sandbox::remove_run(&work, &run).await;
        });
    }

    /// Stops every task (SIGTERM, each task's grace period, SIGKILL) and
    /// waits for all of them, bounded by the longest grace period plus the
    /// reap timeouts; whatever is left then is killed outright. Sandboxes
    /// still within their TTL are left on disk.
    pub async fn shutdown(&mut self) {
        let keys: Vec<(FrameworkId, TaskId)> = self.tasks.keys().cloned().collect();
        let longest = self
            .tasks
            .values()
            .map(|t| t.grace)
            .max()
            .unwrap_or_default();
        if !keys.is_empty() {
            info!(
                tasks = keys.len(),
                "stopping every local task (graceful, then forced)"
            );
        }
        for (framework, task) in keys {
            self.kill(&framework, &task, None, KillWhy::Shutdown);
        }
        let bound = longest + self.config.reap_timeout * 2 + Duration::from_secs(1);
        let all_ended = async { while self.supervisors.join_next().await.is_some() {} };
        if tokio::time::timeout(bound, all_ended).await.is_err() {
            warn!(
                ?bound,
                "local tasks still stopping at the bound; killing them outright"
            );
            // Dropping a supervisor SIGKILLs its task's process group.
            self.supervisors.shutdown().await;
        }
        self.collectors.shutdown().await;
        self.tasks.clear();
        self.executors.clear();
    }
}

/// Whether a reported state ends the task (the SDK's reading of it).
fn is_terminal(state: corral_proto::pb::TaskState) -> bool {
    corral::TaskState::from_pb(state).is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::CommandSpec;

    const LIMIT: Duration = Duration::from_secs(10);

    fn launch(
        work: &std::path::Path,
        task: &str,
        executor: Option<&str>,
        line: &str,
    ) -> AgentOrder {
        AgentOrder::Launch(Box::new(TaskLaunch {
            framework: FrameworkId::new("fw"),
            agent: AgentId::new("agent-0"),
            work_dir: work.to_owned(),
            task: TaskId::new(task),
            executor: executor.map(ExecutorId::new),
            command: CommandSpec::Shell(line.to_owned()),
            environment: Vec::new(),
            ports: Vec::new(),
            kill_grace: Some(Duration::from_millis(200)),
        }))
    }

    /// The next report about `task` (others are observed and kept).
    async fn next_about(
        runner: &mut LocalRunner,
        reports: &mut Reports,
        task: &str,
        seen: &mut Vec<AgentReport>,
    ) -> AgentReport {
        if let Some(i) = seen.iter().position(|r| r.task.as_str() == task) {
            return seen.remove(i);
        }
        loop {
            let report = tokio::time::timeout(LIMIT, reports.recv())
                .await
                .expect("a report in time")
                .expect("the runner is alive");
            if report.task.as_str() == task {
                return report;
            }
            runner.observe(&report);
            seen.push(report);
        }
    }

    #[tokio::test]
    async fn a_task_that_cannot_be_stopped_takes_its_executor_down_and_nothing_else() {
        let work = std::env::temp_dir().join(format!("corral-runner-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&work);
        let (mut runner, mut reports) = LocalRunner::new(RunnerConfig {
            sandbox_ttl: Duration::from_secs(3600),
            default_grace: Duration::from_millis(200),
            reap_timeout: Duration::from_millis(500),
        });
        runner.execute(launch(&work, "stuck", Some("pod"), "true"));
        runner.execute(launch(&work, "sibling", Some("pod"), "exec sleep 30"));
        runner.execute(launch(&work, "alone", None, "exec sleep 30"));
        let mut seen = Vec::new();
        for task in ["sibling", "alone"] {
            let starting = next_about(&mut runner, &mut reports, task, &mut seen).await;
            assert_eq!(starting.state, TaskState::TaskStarting);
            let running = next_about(&mut runner, &mut reports, task, &mut seen).await;
            assert_eq!(running.state, TaskState::TaskRunning);
        }
        let mut last = next_about(&mut runner, &mut reports, "stuck", &mut seen).await;
        while !is_terminal(last.state) {
            last = next_about(&mut runner, &mut reports, "stuck", &mut seen).await;
        }
        // Processes that outlive SIGKILL cannot be made here without
        // privileges: hand the runner the report its supervisor sends then.
        last.state = TaskState::TaskKilled;
        last.unstoppable = true;
        runner.observe(&last);

        let sibling = next_about(&mut runner, &mut reports, "sibling", &mut seen).await;
        assert_eq!(sibling.state, TaskState::TaskKilled);
        assert_eq!(sibling.reason, Some(Reason::ExecutorTerminated));
        assert!(
            sibling.message.contains("task stuck could not be stopped"),
            "{}",
            sibling.message
        );
        runner.observe(&sibling);
        assert_eq!(runner.running(), 1, "the task outside the executor runs on");
        assert!(seen.iter().all(|r| r.task.as_str() != "alone"), "{seen:?}");

        tokio::time::timeout(LIMIT, runner.shutdown())
            .await
            .expect("shutdown in time");
        let alone = next_about(&mut runner, &mut reports, "alone", &mut seen).await;
        assert_eq!(alone.state, TaskState::TaskKilled);
        assert!(
            alone.message.contains("the master shut down"),
            "{}",
            alone.message
        );
        let _ = std::fs::remove_dir_all(&work);
    }
}
