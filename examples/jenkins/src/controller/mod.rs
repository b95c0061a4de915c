//! The controller: the [`Scheduler`] that turns the build queue into
//! agents and the agents into finished builds.
//!
//! Everything the controller knows lives here and is changed only by its
//! handlers, one at a time: offers, status updates, revocation notices,
//! timers, and [`Input`]s from outside (a trigger, an abort, an agent's
//! message, a query, shutdown), which the SDK delivers between the
//! master's events. After each one the runtime reads
//! [`Scheduler::wants_offers`] again, so demand is always the queue's:
//!
//! - **Provisioning**: an offer is used for the agents the queue needs
//!   ([`provision`]), and declined with the jobs file's
//!   long filter otherwise; with nothing needed the role is suppressed.
//!   A trigger that creates demand where there was none revives at once
//!   (the SDK rate-limits revives), which also clears earlier filters.
//! - **Builds on agents** ([`Runner`]): an agent that is ready takes the
//!   first queued build of its label. A real agent (`jenkins agent`,
//!   connected back through the [`hub`](crate::hub)) runs the steps and
//!   streams their output; on simulated agents a build is its steps'
//!   simulated durations, a timer ([`Driver::wake_after`]). A build past
//!   its timeout is aborted.
//! - **Agents going away**: a single-use agent is stopped
//!   after its build; a reused one after `idle_minutes` without one (a
//!   timer per idle spell; a stale one is recognised by its generation).
//! - **Revocation**: a notice for a preemptible agent aborts its build,
//!   puts it at the front of the queue marked requeued, and releases the
//!   agent gracefully; the build then runs on another agent.
//! - **Shutdown**: queued builds are aborted, running ones stopped, every
//!   agent killed, and the framework tears down once the last agent's task
//!   has ended: nothing is left behind.
//! - **Restarts**: with a store ([`Controller::restore`]), every change is
//!   written; a restored controller reconciles the agents it read back
//!   and re-adopts those that connect again with their builds.
//!
//! Files: this one (the handlers), `lifecycle.rs` (builds and agents
//! through their lives), `remote.rs` (real agents' messages), `saved.rs`
//! (the store), `queries.rs` (copies for the remote API).

mod lifecycle;
mod queries;
mod remote;
mod saved;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use corral::{
    Driver, FrameworkId, Offer, RevocationNotice, Role, Scheduler, Subscribed, TaskId, TaskState,
    TaskStatus, WithInputs,
};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::config::JobsFile;
use crate::hub::{AgentEvent, AgentLink};
use crate::pool::{AgentState, Pool};
use crate::provision;
use crate::queue::{Build, BuildId, BuildResult, Builds};
use crate::store::{SavedMeta, Store};
use crate::view::Snapshot;

/// How builds run.
#[derive(Clone, Debug, PartialEq)]
pub enum Runner {
    /// On simulated agents: a build takes its steps' simulated durations.
    Simulated,
    /// On real agents: each agent task runs `PROGRAM agent --controller
    /// ADDR --name TASK_ID`, which connects back and runs the steps.
    Remote {
        /// The program (this binary).
        program: PathBuf,
        /// Where the controller's hub listens.
        controller: SocketAddr,
    },
}

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
    /// An agent's connection said something.
    Agent(AgentEvent),
    /// Queue a build, and say what became of the trigger: the build and
    /// its queue item id, or why it was refused (the remote API's
    /// `build` and `buildWithParameters`).
    Submit {
        /// The job's name.
        job: String,
        /// Parameter values.
        params: BTreeMap<String, String>,
        /// The answer.
        reply: oneshot::Sender<Result<Submitted, Refused>>,
    },
    /// A question about a build; the answer is a copy of its record.
    Build(BuildId, oneshot::Sender<Option<Build>>),
    /// A copy of the state, without the logs.
    Snapshot(oneshot::Sender<Snapshot>),
    /// Once every build triggered so far is done, shut down.
    ShutdownWhenDone,
    /// Shut down now: abort everything, stop every agent, tear down.
    Shutdown,
}

/// A trigger that was queued.
#[derive(Clone, Debug, PartialEq)]
pub struct Submitted {
    /// The build.
    pub build: BuildId,
    /// Its queue item id.
    pub queue_id: u64,
}

/// Why a trigger was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// No job has that name.
    #[error("no job named {0:?}")]
    NoSuchJob(String),
    /// The controller is shutting down.
    #[error("shutting down")]
    ShuttingDown,
}

/// What happened to builds and agents, in order: the summary's and the
/// tests' source.
#[derive(Clone, Debug, PartialEq)]
pub enum Happened {
    /// A trigger was refused (unknown job or parameter, shutting down).
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
    /// A simulated build's steps end with `result`.
    BuildEnd {
        agent: TaskId,
        build: BuildId,
        result: BuildResult,
    },
    /// A real build reaches its timeout.
    Timeout { agent: TaskId, build: BuildId },
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
    runner: Runner,
    builds: Builds,
    pool: Pool,
    links: BTreeMap<TaskId, AgentLink>,
    timers: BTreeMap<u64, Timer>,
    next_tag: u64,
    counters: Counters,
    history: Vec<Happened>,
    shutdown_when_done: bool,
    shutting_down: bool,
    torn_down: bool,
    started: Instant,
    store: Option<Store>,
    framework_id: Option<FrameworkId>,
    /// Agents read back from the store, to reconcile once subscribed.
    restored: Vec<TaskId>,
    /// What the store last took, to skip writes that change nothing.
    last_saved: Option<SavedMeta>,
}

impl Controller {
    /// A controller for a checked jobs file, on simulated agents.
    pub fn new(file: JobsFile) -> Self {
        Controller::with_runner(file, Runner::Simulated)
    }

    /// A controller whose builds run as `runner` says.
    pub fn with_runner(file: JobsFile, runner: Runner) -> Self {
        Controller {
            role: Role::from(file.cloud.role.as_str()),
            file,
            runner,
            builds: Builds::default(),
            pool: Pool::default(),
            links: BTreeMap::new(),
            timers: BTreeMap::new(),
            next_tag: 0,
            counters: Counters::default(),
            history: Vec::new(),
            shutdown_when_done: false,
            shutting_down: false,
            torn_down: false,
            started: Instant::now(),
            store: None,
            framework_id: None,
            restored: Vec::new(),
            last_saved: None,
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

    fn demand_now(&self) -> bool {
        provision::wants_agents(&provision::demand(&self.file, &self.builds, &self.pool))
    }
}

#[async_trait]
impl Scheduler for Controller {
    async fn subscribed(&mut self, driver: &dyn Driver, info: &Subscribed) {
        self.framework_id = Some(info.framework_id.clone());
        self.resume(driver).await;
        self.persist();
    }

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
        self.persist();
    }

    async fn status_update(&mut self, driver: &dyn Driver, status: &TaskStatus) {
        let task = &status.task_id;
        let Some(agent) = self.pool.get(task) else {
            return;
        };
        let launching = agent.state == AgentState::Launching;
        if status.state == TaskState::Running && launching && self.runner == Runner::Simulated {
            // A simulated agent is ready once its task runs; a real one
            // once it has connected back (`remote`).
            self.ready(driver, task).await;
        } else if status.state.is_terminal() {
            self.agent_gone(driver, task, status.state);
        }
        self.maybe_done(driver).await;
    }

    async fn revocation(&mut self, driver: &dyn Driver, notice: RevocationNotice) {
        self.counters.revocations += 1;
        for task in &notice.tasks {
            let Some(agent) = self.pool.get_mut(task) else {
                continue;
            };
            let busy = match &agent.state {
                AgentState::Busy(build) => Some(build.clone()),
                _ => None,
            };
            agent.state = AgentState::Stopping;
            if let Some(build) = busy {
                tracing::info!(build = %build, agent = %task, "revoked: requeueing at the front");
                self.builds.requeue_front(&build, Instant::now());
                self.history.push(Happened::Requeued(build, task.clone()));
            }
            self.history
                .push(Happened::Stopping(task.clone(), "revoked"));
        }
        // Kills each named agent with its grace period (a real agent stops
        // its build's steps with SIGTERM first) and tells the master, so
        // the owner gets its resources back without waiting for the
        // deadline.
        if let Err(e) = driver.release(&notice).await {
            tracing::warn!(notice = %notice.id, error = %e, "release failed; the master takes them at the deadline");
        }
        self.dispatch(driver);
        self.persist();
    }

    async fn timer(&mut self, driver: &dyn Driver, tag: u64) {
        match self.timers.remove(&tag) {
            Some(Timer::BuildEnd {
                agent,
                build,
                result,
            }) if self.busy_with(&agent, &build) => {
                self.build_ended(driver, &agent, &build, result).await;
                self.dispatch(driver);
            }
            Some(Timer::Timeout { agent, build }) if self.busy_with(&agent, &build) => {
                tracing::info!(build = %build, "timed out: aborting");
                self.builds.append_log(&build, "--- timed out: aborting\n");
                self.send_abort(&agent, &build);
            }
            Some(Timer::Reap { agent, generation }) => {
                let idle_since = self.pool.get(&agent).is_some_and(|a| {
                    matches!(a.state, AgentState::Idle { generation: g, .. } if g == generation)
                });
                if idle_since {
                    self.stop_agent(driver, &agent, "idle").await;
                }
            }
            // Stale: the build already ended, the agent moved on.
            Some(Timer::BuildEnd { .. } | Timer::Timeout { .. }) | None => {}
        }
        self.maybe_done(driver).await;
    }

    fn wants_offers(&self, role: &Role) -> Option<bool> {
        if role != &self.role {
            return Some(false);
        }
        Some(!self.shutting_down && self.demand_now())
    }
}

#[async_trait]
impl WithInputs for Controller {
    type Input = Input;

    async fn input(&mut self, driver: &dyn Driver, input: Input) {
        match input {
            Input::Trigger { job, params } => {
                let _ = self.trigger_and_revive(driver, job, params).await;
            }
            Input::Submit { job, params, reply } => {
                let outcome = self.trigger_and_revive(driver, job, params).await;
                let _ = reply.send(outcome);
            }
            Input::Snapshot(reply) => {
                let _ = reply.send(self.snapshot());
            }
            Input::Abort(id) => self.abort(driver, &id).await,
            Input::Agent(event) => self.agent_event(driver, event).await,
            Input::Build(id, reply) => {
                let _ = reply.send(self.builds.get(&id).cloned());
            }
            Input::ShutdownWhenDone => self.shutdown_when_done = true,
            // Teardown once the last agent is gone: `maybe_done` below.
            Input::Shutdown => self.shutdown(driver).await,
        }
        self.maybe_done(driver).await;
    }
}
