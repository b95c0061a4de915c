//! The controller: the [`Scheduler`] that turns the build queue into
//! agents and the agents into finished builds.
//!
//! Everything the controller knows lives here and is changed only by its
//! handlers, one at a time: offers, status updates, revocation notices,
//! timers, and [`Input`]s from outside (a trigger, an abort, shutdown),
//! which the SDK delivers between the master's events. After each one the
//! runtime reads [`Scheduler::wants_offers`] again, so demand is always
//! the queue's:
//!
//! - **Provisioning**: an offer is used for the agents the queue needs
//!   ([`provision`]), and declined with the jobs file's
//!   long filter otherwise; with nothing needed the role is suppressed.
//!   A trigger that creates demand where there was none revives at once
//!   (the SDK rate-limits revives), which also clears earlier filters.
//! - **Builds on agents**: an agent whose task runs takes the first queued
//!   build of its label. On simulated agents the build is its steps'
//!   simulated durations, a timer ([`Driver::wake_after`]); its timeout
//!   ends it as aborted.
//! - **Agents going away**: a single-use agent is stopped after its build;
//!   a reused one after `idle_minutes` without one (a timer per idle
//!   spell; a stale one is recognised by its generation).
//! - **Revocation**: a notice for a preemptible agent aborts its build,
//!   puts it at the front of the queue marked requeued, and releases the
//!   agent gracefully; the build then runs on another agent.
//! - **Shutdown**: queued builds are aborted, running ones stopped, every
//!   agent killed, and the framework tears down once the last agent's task
//!   has ended: nothing is left behind.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use corral::sim::SimulatedTask;
use corral::{
    CommandInfo, Driver, Offer, RevocationNotice, Role, Scheduler, TaskId, TaskInfo, TaskState,
    TaskStatus, WithInputs,
};
use tokio::time::Instant;

use crate::config::JobsFile;
use crate::pool::{AgentState, Pool};
use crate::provision::{self, Planned};
use crate::queue::{BuildId, BuildResult, Builds};

/// How long a simulated agent takes to stop once killed.
const SIMULATED_CLEANUP: Duration = Duration::from_millis(200);

/// Work from outside the master.
#[derive(Debug)]
pub enum Input {
    /// Queue a build of `job` with these parameters (the job's defaults
    /// fill in the rest).
    Trigger {
        /// The job's name.
        job: String,
        /// Parameter values.
        params: BTreeMap<String, String>,
    },
    /// Stop a build, queued or running.
    Abort(BuildId),
    /// Once every build triggered so far is done, shut down.
    ShutdownWhenDone,
    /// Shut down now: abort everything, stop every agent, tear down.
    Shutdown,
}

/// What happened to builds and agents, in order: the summary's and the
/// tests' source.
#[derive(Clone, Debug, PartialEq)]
pub enum Happened {
    /// A trigger was refused (unknown job or parameter).
    Refused(String),
    /// A build started on an agent.
    Started(BuildId, TaskId),
    /// A build ended.
    Finished(BuildId, BuildResult),
    /// A running build went back to the front of the queue.
    Requeued(BuildId, TaskId),
    /// An agent was launched (label, on revocable resources).
    Launched(TaskId, String, bool),
    /// An agent was asked to stop, and why.
    Stopping(TaskId, &'static str),
    /// An agent's task ended.
    Gone(TaskId, TaskState),
}

/// What a timer tag stands for.
#[derive(Clone, Debug)]
enum Timer {
    /// A simulated build's steps end: with `exit`, or at its timeout.
    BuildEnd {
        agent: TaskId,
        build: BuildId,
        result: BuildResult,
    },
    /// An agent idle since `generation` began may be reaped.
    Reap { agent: TaskId, generation: u64 },
}

/// Counters for the summary.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    /// Offers received.
    pub offers: u64,
    /// Offers declined with the long filter.
    pub declined: u64,
    /// Revocation notices handled.
    pub revocations: u64,
}

/// The CI controller. See the [module docs](self).
pub struct Controller {
    file: JobsFile,
    role: Role,
    builds: Builds,
    pool: Pool,
    timers: BTreeMap<u64, Timer>,
    next_tag: u64,
    counters: Counters,
    history: Vec<Happened>,
    shutdown_when_done: bool,
    shutting_down: bool,
    torn_down: bool,
    started: Instant,
}

impl Controller {
    /// A controller for a checked jobs file.
    pub fn new(file: JobsFile) -> Self {
        Controller {
            role: Role::from(file.cloud.role.as_str()),
            file,
            builds: Builds::default(),
            pool: Pool::default(),
            timers: BTreeMap::new(),
            next_tag: 0,
            counters: Counters::default(),
            history: Vec::new(),
            shutdown_when_done: false,
            shutting_down: false,
            torn_down: false,
            started: Instant::now(),
        }
    }

    /// The jobs file.
    pub fn file(&self) -> &JobsFile {
        &self.file
    }

    /// The builds, queued and done.
    pub fn builds(&self) -> &Builds {
        &self.builds
    }

    /// The agents alive.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// What happened, in order.
    pub fn history(&self) -> &[Happened] {
        &self.history
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// When the controller was made.
    pub fn started(&self) -> Instant {
        self.started
    }

    fn set_timer(&mut self, driver: &dyn Driver, delay: Duration, timer: Timer) {
        self.next_tag += 1;
        self.timers.insert(self.next_tag, timer);
        driver.wake_after(delay, self.next_tag);
    }

    fn agent_task(&self, planned: &Planned, id: TaskId) -> TaskInfo {
        TaskInfo::new(id)
            .with_name(format!("jenkins agent ({})", planned.label))
            .with_resources(planned.resources.clone())
            // A real agent would run this binary's `agent` subcommand (not
            // built yet); a simulated agent runs until killed.
            .with_command(CommandInfo::shell("exec jenkins agent"))
            .with_label("jenkins/label", planned.label.clone())
            .with_grace_period(self.file.cloud.kill_grace())
            .simulated(SimulatedTask::until_killed().cleans_up_in(SIMULATED_CLEANUP))
    }

    /// Gives every idle agent the first queued build of its label.
    fn dispatch(&mut self, driver: &dyn Driver) {
        if self.shutting_down {
            return;
        }
        let now = Instant::now();
        for task in self.pool.idle() {
            let Some(agent) = self.pool.get(&task) else {
                continue;
            };
            let label = agent.label.clone();
            let Some(build) = self.builds.start_next(&label, task.as_str(), now) else {
                continue;
            };
            let Some(job) = self.file.job(&build.job).cloned() else {
                continue;
            };
            if let Some(agent) = self.pool.get_mut(&task) {
                agent.state = AgentState::Busy(build.clone());
                agent.builds += 1;
            }
            tracing::info!(build = %build, agent = %task, "build started");
            self.history
                .push(Happened::Started(build.clone(), task.clone()));
            let (run_for, exit) = job.simulated_run();
            let (delay, result) = if run_for > job.timeout() {
                (job.timeout(), BuildResult::Aborted)
            } else if exit == 0 {
                (run_for, BuildResult::Success)
            } else {
                (run_for, BuildResult::Failure)
            };
            self.set_timer(
                driver,
                delay,
                Timer::BuildEnd {
                    agent: task,
                    build,
                    result,
                },
            );
        }
    }

    /// A build ended on `agent`: record it, then keep or stop the agent.
    async fn build_ended(
        &mut self,
        driver: &dyn Driver,
        agent: &TaskId,
        build: &BuildId,
        result: BuildResult,
    ) {
        self.builds.finish(build, result, Instant::now());
        tracing::info!(build = %build, ?result, "build finished");
        self.history.push(Happened::Finished(build.clone(), result));
        let Some(label) = self.pool.get(agent).map(|a| a.label.clone()) else {
            return;
        };
        let single_use = self
            .file
            .templates
            .get(&label)
            .is_some_and(|t| t.single_use);
        if single_use || self.shutting_down {
            self.stop_agent(driver, agent, "single-use").await;
            return;
        }
        let idle = self
            .file
            .templates
            .get(&label)
            .map(|t| t.idle_time())
            .unwrap_or_default();
        let Some(a) = self.pool.get_mut(agent) else {
            return;
        };
        a.generations += 1;
        let generation = a.generations;
        a.state = AgentState::Idle {
            since: Instant::now(),
            generation,
        };
        self.set_timer(
            driver,
            idle,
            Timer::Reap {
                agent: agent.clone(),
                generation,
            },
        );
    }

    async fn stop_agent(&mut self, driver: &dyn Driver, task: &TaskId, why: &'static str) {
        let Some(agent) = self.pool.get_mut(task) else {
            return;
        };
        if agent.state == AgentState::Stopping {
            return;
        }
        agent.state = AgentState::Stopping;
        self.history.push(Happened::Stopping(task.clone(), why));
        tracing::info!(agent = %task, why, "stopping agent");
        if let Err(e) = driver.kill(task, None).await {
            // It keeps running; a reconciliation after resubscribing tells.
            tracing::warn!(agent = %task, error = %e, "kill failed");
        }
    }

    fn trigger(&mut self, job: String, mut params: BTreeMap<String, String>) {
        if self.shutting_down {
            tracing::warn!(job, "trigger refused: shutting down");
            self.history.push(Happened::Refused(job));
            return;
        }
        let Some(spec) = self.file.job(&job) else {
            tracing::warn!(job, "trigger refused: no such job");
            self.history.push(Happened::Refused(job));
            return;
        };
        if let Some(unknown) = params
            .keys()
            .find(|k| !spec.parameters.iter().any(|p| &p.name == *k))
        {
            tracing::warn!(job, parameter = %unknown, "trigger refused: unknown parameter");
            self.history.push(Happened::Refused(job));
            return;
        }
        for p in &spec.parameters {
            params
                .entry(p.name.clone())
                .or_insert_with(|| p.default.clone());
        }
        let label = spec.label.clone();
        let id = self.builds.trigger(&job, &label, params, Instant::now());
        tracing::debug!(build = %id, "queued");
    }

    async fn abort(&mut self, driver: &dyn Driver, id: &BuildId) {
        if self.builds.cancel_queued(id) {
            self.history
                .push(Happened::Finished(id.clone(), BuildResult::Aborted));
            return;
        }
        let running_on = self.pool.all().find_map(|a| match &a.state {
            AgentState::Busy(b) if b == id => Some(a.task.clone()),
            _ => None,
        });
        if let Some(agent) = running_on {
            // Its BuildEnd timer is now stale: the agent no longer runs it.
            self.build_ended(driver, &agent, id, BuildResult::Aborted)
                .await;
        }
    }

    async fn shutdown(&mut self, driver: &dyn Driver) {
        if self.shutting_down {
            return;
        }
        self.shutting_down = true;
        tracing::info!("shutting down: aborting builds, stopping every agent");
        let queued: Vec<BuildId> = self.builds.queued().map(|b| b.id.clone()).collect();
        for id in queued {
            self.abort(driver, &id).await;
        }
        let agents: Vec<TaskId> = self.pool.all().map(|a| a.task.clone()).collect();
        for task in agents {
            if let Some(AgentState::Busy(build)) = self.pool.get(&task).map(|a| a.state.clone()) {
                self.build_ended(driver, &task, &build, BuildResult::Aborted)
                    .await;
            }
            self.stop_agent(driver, &task, "shutdown").await;
        }
    }

    async fn maybe_done(&mut self, driver: &dyn Driver) {
        if self.shutdown_when_done && !self.shutting_down && self.builds.all_done() {
            self.shutdown(driver).await;
        }
        if self.shutting_down && !self.torn_down && self.pool.live_total() == 0 {
            tracing::info!("every agent has stopped; tearing down");
            match driver.teardown().await {
                Ok(()) => self.torn_down = true,
                Err(e) => {
                    tracing::warn!(error = %e, "teardown failed; retried after the next event")
                }
            }
        }
    }
}

#[async_trait]
impl Scheduler for Controller {
    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
        self.counters.offers += offers.len() as u64;
        let mut demand = if self.shutting_down {
            Vec::new()
        } else {
            provision::demand(&self.file, &self.builds, &self.pool)
        };
        for offer in offers {
            let planned = provision::plan_offer(&offer, &mut demand, &self.file);
            if planned.is_empty() {
                self.counters.declined += 1;
                let filter = self.file.cloud.decline_filter();
                if let Err(e) = driver.decline(&offer.id, Some(filter)).await {
                    tracing::warn!(offer = %offer.id, error = %e, "decline failed");
                }
                continue;
            }
            let mut tasks = Vec::new();
            let mut agents = Vec::new();
            for p in &planned {
                let id = self.pool.next_task_id(&p.label);
                tasks.push(self.agent_task(p, id.clone()));
                agents.push((id, p.label.clone(), p.revocable));
            }
            match driver.launch(&offer, tasks).await {
                Ok(()) => {
                    for (id, label, revocable) in agents {
                        tracing::info!(agent = %id, label, revocable, host = %offer.agent_id, "agent launched");
                        self.pool
                            .launched(id.clone(), &label, offer.agent_id.clone(), revocable);
                        self.history.push(Happened::Launched(id, label, revocable));
                    }
                }
                Err(e) => {
                    // Nothing launched: the demand stays and a later offer
                    // serves it.
                    tracing::warn!(offer = %offer.id, error = %e, "agent launch failed");
                }
            }
        }
    }

    async fn status_update(&mut self, driver: &dyn Driver, status: &TaskStatus) {
        let task = &status.task_id;
        let Some(agent) = self.pool.get(task) else {
            return;
        };
        if status.state == TaskState::Running && agent.state == AgentState::Launching {
            let label = agent.label.clone();
            let idle = self
                .file
                .templates
                .get(&label)
                .map(|t| t.idle_time())
                .unwrap_or_default();
            let Some(agent) = self.pool.get_mut(task) else {
                return;
            };
            agent.generations += 1;
            let generation = agent.generations;
            agent.state = AgentState::Idle {
                since: Instant::now(),
                generation,
            };
            self.set_timer(
                driver,
                idle,
                Timer::Reap {
                    agent: task.clone(),
                    generation,
                },
            );
            if self.shutting_down {
                self.stop_agent(driver, task, "shutdown").await;
            }
            self.dispatch(driver);
        } else if status.state.is_terminal() {
            let Some(agent) = self.pool.remove(task) else {
                return;
            };
            tracing::info!(agent = %task, state = ?status.state, "agent gone");
            self.history
                .push(Happened::Gone(task.clone(), status.state));
            if let AgentState::Busy(build) = agent.state {
                // The agent died under its build: run it elsewhere first.
                self.builds.requeue_front(&build, Instant::now());
                self.history.push(Happened::Requeued(build, task.clone()));
            }
            self.dispatch(driver);
        }
        self.maybe_done(driver).await;
    }

    async fn revocation(&mut self, driver: &dyn Driver, notice: RevocationNotice) {
        self.counters.revocations += 1;
        for task in &notice.tasks {
            let Some(agent) = self.pool.get_mut(task) else {
                continue;
            };
            if let AgentState::Busy(build) = &agent.state {
                let build = build.clone();
                tracing::info!(build = %build, agent = %task, "revoked: requeueing at the front");
                self.builds.requeue_front(&build, Instant::now());
                self.history.push(Happened::Requeued(build, task.clone()));
            }
            agent.state = AgentState::Stopping;
            self.history
                .push(Happened::Stopping(task.clone(), "revoked"));
        }
        // Kills each named agent with its grace period and tells the
        // master, so the owner gets its resources back without waiting for
        // the deadline.
        if let Err(e) = driver.release(&notice).await {
            tracing::warn!(notice = %notice.id, error = %e, "release failed; the master takes them at the deadline");
        }
        self.dispatch(driver);
    }

    async fn timer(&mut self, driver: &dyn Driver, tag: u64) {
        match self.timers.remove(&tag) {
            Some(Timer::BuildEnd {
                agent,
                build,
                result,
            }) => {
                let still = self
                    .pool
                    .get(&agent)
                    .is_some_and(|a| a.state == AgentState::Busy(build.clone()));
                if still {
                    self.build_ended(driver, &agent, &build, result).await;
                    self.dispatch(driver);
                }
            }
            Some(Timer::Reap { agent, generation }) => {
                let idle_since = self.pool.get(&agent).is_some_and(|a| {
                    matches!(a.state, AgentState::Idle { generation: g, .. } if g == generation)
                });
                if idle_since {
                    self.stop_agent(driver, &agent, "idle").await;
                }
            }
            None => {}
        }
        self.maybe_done(driver).await;
    }

    fn wants_offers(&self, role: &Role) -> Option<bool> {
        if role != &self.role {
            return Some(false);
        }
        let demand = provision::demand(&self.file, &self.builds, &self.pool);
        Some(!self.shutting_down && provision::wants_agents(&demand))
    }
}

#[async_trait]
impl WithInputs for Controller {
    type Input = Input;

    async fn input(&mut self, driver: &dyn Driver, input: Input) {
        match input {
            Input::Trigger { job, params } => {
                let before = provision::wants_agents(&provision::demand(
                    &self.file,
                    &self.builds,
                    &self.pool,
                ));
                self.trigger(job, params);
                self.dispatch(driver);
                let after = provision::wants_agents(&provision::demand(
                    &self.file,
                    &self.builds,
                    &self.pool,
                ));
                if after && !before && !self.shutting_down {
                    // New demand: clear the long decline filters now (the
                    // SDK rate-limits revives and coalesces them).
                    if let Err(e) = driver.revive(std::slice::from_ref(&self.role)).await {
                        tracing::warn!(error = %e, "revive failed");
                    }
                }
            }
            Input::Abort(id) => self.abort(driver, &id).await,
            Input::ShutdownWhenDone => self.shutdown_when_done = true,
            Input::Shutdown => self.shutdown(driver).await,
            // Teardown once the last agent is gone: `maybe_done` below.
        }
        self.maybe_done(driver).await;
    }
}
