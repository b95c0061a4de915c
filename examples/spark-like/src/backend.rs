//! The scheduler backend: a `corral::Scheduler` that runs an [`Engine`]'s
//! tasks on what the master offers, in fine mode (one SDK task per batch
//! task, released when it ends, under one executor per agent that its
//! tasks reuse, as Spark's `MesosExecutorBackend`) or coarse mode (executors sized by
//! `spark.executor.cores`/`memory`, launched up to `spark.cores.max`, held
//! for the job, tasks run inside them; with dynamic allocation idle ones
//! are released and more asked for while tasks wait).
//!
//! Offers are answered as Spark's Mesos backend does: an offer that is not
//! used is declined with `spark.mesos.rejectOfferDuration` when nothing is
//! pending, `...ForUnmetConstraints` when the agent does not match
//! `spark.mesos.constraints` (or is excluded), `...ForReachedMaxCores`
//! when `spark.cores.max` is held, and until the locality wait ends when
//! work waits but cannot go there yet; tasks prefer the agent or host
//! holding their input for up to `spark.locality.wait`; demand goes through `wants_offers`, so
//! the runtime suppresses when idle and revives (rate-limited) on new work.
//!
//! On simulated agents a task's time passes on the master's simulated
//! agent (fine) or on a timer (coarse), and its output is computed here;
//! on local agents every task runs in an `executor` process, which
//! connects back ([`crate::hub`]) and computes it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use corral::sim::SimulatedTask;
use corral::{
    AgentId, CommandInfo, Driver, ExecutorInfo, Offer, Reason, Resources, RevocationNotice, Role,
    Scheduler, Subscribed, TaskId, TaskInfo, TaskState, TaskStatus, WithInputs,
};
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

use crate::conf::SparkConf;
use crate::dag::JobSpec;
use crate::engine::Engine;
use crate::hub::Input;
use crate::progress::Progress;
use crate::wire::{FromExecutor, ToExecutor};
use crate::work::{compute, Output, Work};

/// Where tasks run.
#[derive(Clone, Debug)]
pub enum Placement {
    /// Simulated agents: time passes, output is computed by the driver.
    Simulated,
    /// Local agents: tasks run in `program executor --driver hub`.
    Local {
        /// This binary.
        program: PathBuf,
        /// Where executors connect.
        hub: SocketAddr,
    },
}

/// The timer tag of the periodic tick (speculation, idle executors, locality).
const TICK: u64 = 0;
const TICK_EVERY: Duration = Duration::from_millis(100);
/// Executors that fail (not killed by us, not lost with their agent)
/// before the job gives up (as Spark's `spark.executor.maxNumFailures`).
const MAX_EXECUTOR_FAILURES: u32 = 8;

/// How long an offer that fits nothing pending right now is refused (Mesos's
/// default refuse time when a framework gives none).
pub const NOT_NOW_REFUSE: Duration = Duration::from_secs(5);

/// Offers declined, by the filter chosen.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Declines {
    /// Nothing pending: `spark.mesos.rejectOfferDuration`.
    pub nothing_pending: u32,
    /// Constraints not met or agent excluded.
    pub unmet_constraints: u32,
    /// `spark.cores.max` reached.
    pub reached_max_cores: u32,
    /// Work waits but may not go there yet, or does not fit: no filter.
    pub not_now: u32,
}

/// Why an offer is declined (each has its filter).
#[derive(Clone, Copy, Debug)]
enum Why {
    NothingPending,
    Constraints,
    MaxCores,
    NotNow,
}

/// What is done with one offer.
enum Answer {
    Launch {
        offer: Box<Offer>,
        /// Fine mode: the agent's shared executor (LAUNCH_GROUP under it).
        executor: Option<ExecutorInfo>,
        infos: Vec<TaskInfo>,
        commit: Commit,
    },
    Decline {
        offer: corral::OfferId,
        refuse: Duration,
    },
}

/// What a launch records once it is known to have gone out.
enum Commit {
    /// Fine mode: (task, attempt, work) per task, and whether this launch
    /// (re)starts the agent's executor (its cpus are then held).
    Fine(Vec<(TaskId, u64, Work)>, bool),
    /// Coarse mode: the executors.
    Coarse(Vec<TaskId>),
}

struct FineTask {
    attempt: u64,
    agent: AgentId,
    /// Its launch counted the executor's own resources (it was not running).
    started_executor: bool,
    cpus: f64,
    launched: Instant,
    work: Option<Work>,
    /// Local agents: the executor's connection, held while it runs.
    to: Option<UnboundedSender<ToExecutor>>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum ExecState {
    Launching,
    Ready,
    Draining,
}

struct Executor {
    agent: AgentId,
    host: String,
    cores: f64,
    slots: usize,
    running: BTreeSet<u64>,
    state: ExecState,
    idle_since: Instant,
    launched: Instant,
    to: Option<UnboundedSender<ToExecutor>>,
}

/// What happened, for the report.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    /// Offers received.
    pub offers: u32,
    /// Declines by reason.
    pub declines: Declines,
    /// SDK tasks launched (batch tasks in fine mode, executors in coarse).
    pub launched: u32,
    /// Executors launched (coarse mode).
    pub executors: u32,
    /// Executors released for idleness (dynamic allocation).
    pub executors_released: u32,
    /// Revocation notices taken.
    pub revocations: u32,
    /// Cpu-seconds held (from launch to end of each SDK task).
    pub held_cpu_seconds: f64,
    /// The most cpus held at once.
    pub peak_cpus: f64,
    /// Losers of speculation killed.
    pub killed_losers: u32,
}

/// Fine mode's executor on one agent, as Spark's `MesosExecutorBackend`:
/// one `ExecutorInfo` per agent, reused by every task sent there, so its
/// start-up and its own cpus are paid once per agent, not per task. The
/// master keeps it while one of its tasks lives.
struct FineExecutor {
    live: usize,
    since: Instant,
}

/// The scheduler.
pub struct Backend {
    conf: SparkConf,
    engine: Engine,
    placement: Placement,
    role: Role,
    fine: BTreeMap<TaskId, FineTask>,
    fine_executors: BTreeMap<AgentId, FineExecutor>,
    by_attempt: BTreeMap<u64, TaskId>,
    executors: BTreeMap<TaskId, Executor>,
    sim_work: BTreeMap<u64, Work>,
    local_work: BTreeMap<u64, Work>,
    next_executor: u64,
    executor_failures: u32,
    held: f64,
    started: Instant,
    ended: Option<Instant>,
    ticking: bool,
    over: bool,
    counters: Counters,
    progress: Progress,
}

fn agent_gone(status: &TaskStatus) -> bool {
    matches!(
        status.state,
        TaskState::Unreachable | TaskState::Gone | TaskState::GoneByOperator
    ) || matches!(
        status.reason,
        Some(
            Reason::AgentRemoved
                | Reason::AgentDisconnected
                | Reason::AgentUnknown
                | Reason::AgentRemovedByOperator
        )
    )
}

impl Backend {
    /// A backend for `job`, configured by `conf`, placing tasks as `placement`.
    pub fn new(job: JobSpec, conf: SparkConf, placement: Placement, progress: Progress) -> Self {
        let now = Instant::now();
        let engine = Engine::new(job, &conf, now);
        Backend {
            role: Role::from(conf.role.as_str()),
            conf,
            engine,
            placement,
            fine: BTreeMap::new(),
            fine_executors: BTreeMap::new(),
            by_attempt: BTreeMap::new(),
            executors: BTreeMap::new(),
            sim_work: BTreeMap::new(),
            local_work: BTreeMap::new(),
            next_executor: 0,
            executor_failures: 0,
            held: 0.0,
            started: now,
            ended: None,
            ticking: false,
            over: false,
            counters: Counters::default(),
            progress,
        }
    }

    /// The job's state.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The configuration.
    pub fn conf(&self) -> &SparkConf {
        &self.conf
    }

    /// From the start to the job's end (or now).
    pub fn makespan(&self) -> Duration {
        self.ended
            .unwrap_or_else(Instant::now)
            .saturating_duration_since(self.started)
    }

    /// True once the job is done or failed.
    pub fn over(&self) -> bool {
        self.over
    }

    fn cores_room(&self, cpus: f64) -> bool {
        self.conf
            .cores_max
            .is_none_or(|max| self.held + cpus <= max + 1e-9)
    }

    fn hold(&mut self, cpus: f64) {
        self.held += cpus;
        self.counters.peak_cpus = self.counters.peak_cpus.max(self.held);
    }

    fn release(&mut self, cpus: f64, since: Instant) {
        self.held = (self.held - cpus).max(0.0);
        self.counters.held_cpu_seconds += cpus
            * Instant::now()
                .saturating_duration_since(since)
                .as_secs_f64();
    }

    fn free_slots(&self) -> usize {
        self.executors
            .values()
            .filter(|e| e.state != ExecState::Draining)
            .map(|e| e.slots.saturating_sub(e.running.len()))
            .sum()
    }

    fn want_executors(&self) -> bool {
        if self.over || !self.conf.coarse {
            return false;
        }
        let live = self
            .executors
            .values()
            .filter(|e| e.state != ExecState::Draining)
            .count();
        if self.conf.max_executors.is_some_and(|m| live >= m) {
            return false;
        }
        if !self.cores_room(self.conf.executor_cores) {
            return false;
        }
        live < self.conf.min_executors || self.engine.pending_len() > self.free_slots()
    }

    /// Coarse mode: whether an executor on `agent` is wanted for locality
    /// alone: a pending task waits for it (or its host), none runs there,
    /// and the limits allow one more.
    fn locality_executor_wanted(&self, agent: &AgentId, host: &str) -> bool {
        if self.over || !self.conf.coarse || !self.cores_room(self.conf.executor_cores) {
            return false;
        }
        let live = self
            .executors
            .values()
            .filter(|e| e.state != ExecState::Draining);
        if self
            .conf
            .max_executors
            .is_some_and(|m| live.clone().count() >= m)
        {
            return false;
        }
        !live.clone().any(|e| &e.agent == agent)
            && self.engine.waits_for(agent, host, Instant::now())
    }

    fn task_resources(
        &self,
        cpus: f64,
        mem: f64,
        offer_left: &Resources,
        lent: &Resources,
    ) -> Option<(Resources, bool)> {
        let needs = Resources::new().with_cpus(cpus).with_mem(mem);
        if offer_left.contains(&needs) {
            return Some((needs, false));
        }
        let borrowed = needs.revocable();
        (self.conf.revocable && lent.contains(&borrowed)).then_some((borrowed, true))
    }

    fn command(&self, id: &TaskId, once: bool) -> Option<CommandInfo> {
        match &self.placement {
            Placement::Simulated => None,
            Placement::Local { program, hub } => {
                let mut argv = vec![
                    program.display().to_string(),
                    "executor".to_owned(),
                    "--driver".to_owned(),
                    hub.to_string(),
                    "--id".to_owned(),
                    id.as_str().to_owned(),
                ];
                if once {
                    argv.push("--once".to_owned());
                }
                Some(CommandInfo::argv(argv))
            }
        }
    }

    fn decline(&mut self, offer: &Offer, why: Why) -> Answer {
        let refuse = match why {
            Why::NothingPending => {
                self.counters.declines.nothing_pending += 1;
                self.conf.reject_offer_duration
            }
            Why::Constraints => {
                self.counters.declines.unmet_constraints += 1;
                self.conf.reject_for_unmet_constraints
            }
            Why::MaxCores => {
                self.counters.declines.reached_max_cores += 1;
                self.conf.reject_for_reached_max_cores
            }
            Why::NotNow => {
                // Not zero: with event-driven offers a zero filter brings
                // the same unusable offer back a millisecond later, every
                // millisecond. A filter covers only what was declined, so a
                // bigger offer from the same agent still comes at once.
                // A task waiting for locality may take this agent once its
                // wait is over: refused only until then.
                self.counters.declines.not_now += 1;
                match self.engine.locality_wait_left(Instant::now()) {
                    Some(left) if !left.is_zero() => left.min(NOT_NOW_REFUSE),
                    _ => NOT_NOW_REFUSE,
                }
            }
        };
        Answer::Decline {
            offer: offer.id.clone(),
            refuse,
        }
    }

    /// Fine mode's executor on `agent`: the same id for every task sent
    /// there (as Spark's, named after the agent), its own cpus from
    /// `spark.mesos.mesosExecutor.cores`.
    fn fine_executor_info(&self, agent: &AgentId) -> ExecutorInfo {
        let mut info = ExecutorInfo::new(format!("spark-fine-executor@{agent}"))
            .with_name("spark-like fine-mode executor");
        if self.conf.mesos_executor_cores > 0.0 {
            info = info.with_resources(Resources::new().with_cpus(self.conf.mesos_executor_cores));
        }
        info
    }

    /// One fine task on `agent` ended (or never launched): the agent's
    /// executor ends with its last task, and its own cpus are released.
    fn fine_task_gone(&mut self, agent: &AgentId) {
        let Some(exec) = self.fine_executors.get_mut(agent) else {
            return;
        };
        exec.live = exec.live.saturating_sub(1);
        if exec.live == 0 {
            let since = exec.since;
            self.fine_executors.remove(agent);
            self.release(self.conf.mesos_executor_cores, since);
        }
    }

    /// Fine mode: the tasks to launch on `offer` (recorded as launched,
    /// their cpus held; undone by [`Backend::settle`] if the launch fails).
    fn plan_fine(&mut self, offer: &Offer) -> Option<Answer> {
        let cpus = self.conf.task_cpus;
        let mem = self.conf.task_memory_mb();
        let mut left = offer.regular();
        let mut lent = offer.revocable();
        let mut planned = Vec::new();
        let now = Instant::now();
        let mut executor = self.fine_executor_info(&offer.agent_id);
        // The executor's own resources come first when it is not running
        // there (as far as this framework knows).
        let starts_executor = !self.fine_executors.contains_key(&offer.agent_id);
        let executor_cpus = self.conf.mesos_executor_cores;
        if starts_executor {
            if !self.cores_room(executor_cpus + cpus) {
                return None;
            }
            // From regular resources if they fit, else (preemptible work)
            // from revocable ones.
            if left.contains(&executor.resources) {
                left = left.checked_sub(&executor.resources)?;
            } else if self.conf.revocable && lent.contains(&executor.resources.revocable()) {
                executor.resources = executor.resources.revocable();
                lent = lent.checked_sub(&executor.resources)?;
            } else {
                return None;
            }
            // Held from here, so the tasks below see it against cores.max.
            self.hold(executor_cpus);
        }
        while self.cores_room(cpus) {
            let Some((resources, revocable)) = self.task_resources(cpus, mem, &left, &lent) else {
                break;
            };
            let Some(pending) = self.engine.take_for(&offer.agent_id, &offer.hostname, now) else {
                break;
            };
            if revocable {
                lent = lent.checked_sub(&resources).unwrap_or_default();
            } else {
                left = left.checked_sub(&resources).unwrap_or_default();
            }
            self.hold(cpus);
            planned.push((pending, resources));
        }
        if planned.is_empty() {
            if starts_executor {
                self.held = (self.held - executor_cpus).max(0.0);
            }
            return None;
        }
        let entry = self
            .fine_executors
            .entry(offer.agent_id.clone())
            .or_insert(FineExecutor {
                live: 0,
                since: now,
            });
        entry.live += planned.len();
        let mut infos = Vec::new();
        let mut records = Vec::new();
        for (pending, resources) in planned {
            let work = self.engine.work_of(&pending);
            let attempt = self.engine.launched(pending, &offer.agent_id);
            let number = self.engine.attempt(attempt).map_or(1, |a| a.number);
            let (stage, partition) = self
                .engine
                .attempt(attempt)
                .map_or((0, 0), |a| (a.stage, a.partition));
            let id = TaskId::new(format!("task-{stage}.{partition}-a{number}-{attempt}"));
            let mut info = TaskInfo::new(id.clone())
                .with_resources(resources)
                .with_grace_period(Duration::from_secs(1));
            info = match self.command(&id, true) {
                Some(command) => info.with_command(command),
                None => {
                    let d = work.simulated_duration();
                    info.with_command(CommandInfo::shell(format!("sleep {}", d.as_secs_f64())))
                        .simulated(SimulatedTask::runs_for(d))
                }
            };
            infos.push(info);
            records.push((id, attempt, work));
        }
        Some(Answer::Launch {
            offer: Box::new(offer.clone()),
            executor: Some(executor),
            infos,
            commit: Commit::Fine(records, starts_executor),
        })
    }

    /// Coarse mode: the executors to launch on `offer` (counted and their
    /// cores held at once, so the next offer of the batch sees them).
    fn plan_coarse(&mut self, offer: &Offer) -> Option<Answer> {
        let mut left = offer.regular();
        let mut lent = offer.revocable();
        let mut infos = Vec::new();
        let mut ids = Vec::new();
        // One more executor where pending tasks wait for their input's
        // host, even when the executors held have slots enough.
        let for_locality = self.locality_executor_wanted(&offer.agent_id, &offer.hostname);
        while (self.want_executors() || (for_locality && ids.is_empty())) && ids.len() < 64 {
            let Some((resources, revocable)) = self.task_resources(
                self.conf.executor_cores,
                self.conf.executor_memory_mb,
                &left,
                &lent,
            ) else {
                break;
            };
            if revocable {
                lent = lent.checked_sub(&resources).unwrap_or_default();
            } else {
                left = left.checked_sub(&resources).unwrap_or_default();
            }
            let id = TaskId::new(format!("executor-{}", self.next_executor));
            self.next_executor += 1;
            let mut info = TaskInfo::new(id.clone())
                .with_resources(resources)
                .with_grace_period(Duration::from_secs(2));
            info = match self.command(&id, false) {
                Some(command) => info.with_command(command),
                None => info
                    .with_command(CommandInfo::shell("spark-like executor (simulated)"))
                    .simulated(SimulatedTask::until_killed()),
            };
            infos.push(info);
            ids.push(id.clone());
            self.executors.insert(
                id,
                Executor {
                    agent: offer.agent_id.clone(),
                    host: offer.hostname.clone(),
                    cores: self.conf.executor_cores,
                    slots: self.conf.slots_per_executor(),
                    running: BTreeSet::new(),
                    state: ExecState::Launching,
                    idle_since: Instant::now(),
                    launched: Instant::now(),
                    to: None,
                },
            );
            self.hold(self.conf.executor_cores);
        }
        if infos.is_empty() {
            return None;
        }
        Some(Answer::Launch {
            offer: Box::new(offer.clone()),
            executor: None,
            infos,
            commit: Commit::Coarse(ids),
        })
    }

    /// What to do with one offer.
    fn answer(&mut self, offer: &Offer) -> Answer {
        if self.over || self.engine.pending_len() == 0 && !self.want_executors() {
            return self.decline(offer, Why::NothingPending);
        }
        let matches = self.conf.constraints.matches(|name| offer.attribute(name));
        if !matches || self.engine.excluded(&offer.agent_id) {
            return self.decline(offer, Why::Constraints);
        }
        let needed = if self.conf.coarse {
            self.conf.executor_cores
        } else {
            self.conf.task_cpus
        };
        if !self.cores_room(needed) {
            return self.decline(offer, Why::MaxCores);
        }
        let planned = if self.conf.coarse {
            self.plan_coarse(offer)
        } else {
            self.plan_fine(offer)
        };
        planned.unwrap_or_else(|| self.decline(offer, Why::NotNow))
    }

    /// Records how a launch went: a launched task is known from now on;
    /// one whose launch failed waits for another offer.
    fn settle(&mut self, commit: Commit, result: Result<(), corral::Error>, offer: &Offer) {
        let now = Instant::now();
        match (commit, result) {
            (Commit::Fine(records, started_executor), Ok(())) => {
                for (id, attempt, work) in records {
                    self.counters.launched += 1;
                    self.by_attempt.insert(attempt, id.clone());
                    self.fine.insert(
                        id,
                        FineTask {
                            attempt,
                            agent: offer.agent_id.clone(),
                            started_executor,
                            cpus: self.conf.task_cpus,
                            launched: now,
                            work: Some(work),
                            to: None,
                        },
                    );
                }
            }
            (Commit::Fine(records, _), Err(e)) => {
                tracing::warn!(offer = %offer.id, error = %e, "launch failed; the tasks wait for another offer");
                for (_, attempt, _) in records {
                    self.held = (self.held - self.conf.task_cpus).max(0.0);
                    self.fine_task_gone(&offer.agent_id);
                    self.engine.failed(attempt, "launch failed", false, now);
                }
            }
            (Commit::Coarse(ids), Ok(())) => {
                self.counters.launched += ids.len() as u32;
                self.counters.executors += ids.len() as u32;
            }
            (Commit::Coarse(ids), Err(e)) => {
                tracing::warn!(offer = %offer.id, error = %e, "executor launch failed");
                for id in ids {
                    if let Some(e) = self.executors.remove(&id) {
                        self.held = (self.held - e.cores).max(0.0);
                    }
                }
            }
        }
    }

    /// Coarse mode: hands pending tasks to executors with free slots.
    fn assign(&mut self, driver: &dyn Driver) {
        if !self.conf.coarse || self.over {
            return;
        }
        let now = Instant::now();
        let ids: Vec<TaskId> = self
            .executors
            .iter()
            .filter(|(_, e)| e.state == ExecState::Ready && e.running.len() < e.slots)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            while let Some(exec) = self.executors.get(&id) {
                if exec.running.len() >= exec.slots || self.engine.pending_len() == 0 {
                    break;
                }
                let agent = exec.agent.clone();
                let host = exec.host.clone();
                let Some(pending) = self.engine.take_for(&agent, &host, now) else {
                    break;
                };
                let work = self.engine.work_of(&pending);
                let attempt = self.engine.launched(pending, &agent);
                self.by_attempt.insert(attempt, id.clone());
                let Some(exec) = self.executors.get_mut(&id) else {
                    break;
                };
                exec.running.insert(attempt);
                match &exec.to {
                    Some(to) => {
                        // A closed connection is followed by its Gone
                        // input, which requeues the attempt.
                        let _ = to.send(ToExecutor::Run { attempt, work });
                    }
                    None => {
                        driver.wake_after(work.simulated_duration(), attempt);
                        self.engine.running(attempt, now);
                        self.sim_work.insert(attempt, work);
                    }
                }
            }
        }
    }

    fn attempt_done(
        &mut self,
        driver: &dyn Driver,
        attempt: u64,
        output: Output,
        ran: Option<Duration>,
    ) -> Vec<(u64, TaskId)> {
        let now = Instant::now();
        let owner = self.by_attempt.remove(&attempt);
        if let Some(exec) = owner.as_ref().and_then(|id| self.executors.get_mut(id)) {
            exec.running.remove(&attempt);
            if exec.running.is_empty() {
                exec.idle_since = now;
            }
        }
        let losers = self.engine.finished(attempt, output, ran, now);
        self.progress.update(&self.engine);
        let mut kill = Vec::new();
        for loser in losers {
            if let Some(task) = self.by_attempt.remove(&loser) {
                self.counters.killed_losers += 1;
                self.sim_work.remove(&loser);
                if let Some(exec) = self.executors.get_mut(&task) {
                    exec.running.remove(&loser);
                    if let Some(to) = &exec.to {
                        let _ = to.send(ToExecutor::Kill { attempt: loser });
                    }
                } else {
                    kill.push((loser, task));
                }
            }
        }
        let _ = driver;
        kill
    }

    async fn kill_all(&mut self, driver: &dyn Driver, kill: Vec<(u64, TaskId)>) {
        for (_, task) in kill {
            if let Err(e) = driver.kill(&task, None).await {
                tracing::debug!(task = %task, error = %e, "kill failed");
            }
        }
    }

    fn attempt_failed(&mut self, attempt: u64, message: &str, counts: bool) {
        self.by_attempt.remove(&attempt);
        self.sim_work.remove(&attempt);
        self.local_work.remove(&attempt);
        self.engine.failed(attempt, message, counts, Instant::now());
    }

    /// Ends the run when the job is done or failed.
    async fn maybe_finish(&mut self, driver: &dyn Driver) {
        if self.over || !(self.engine.is_done() || self.engine.failure().is_some()) {
            return;
        }
        self.over = true;
        self.ended = Some(Instant::now());
        self.progress.finish(&self.engine);
        let fine: Vec<(f64, Instant)> = self.fine.values().map(|t| (t.cpus, t.launched)).collect();
        let execs: Vec<(f64, Instant)> = self
            .executors
            .values()
            .map(|e| (e.cores, e.launched))
            .collect();
        let fine_execs: Vec<(f64, Instant)> = std::mem::take(&mut self.fine_executors)
            .into_values()
            .map(|e| (self.conf.mesos_executor_cores, e.since))
            .collect();
        for (cpus, since) in fine.into_iter().chain(execs).chain(fine_execs) {
            self.release(cpus, since);
        }
        for exec in self.executors.values() {
            if let Some(to) = &exec.to {
                let _ = to.send(ToExecutor::Stop);
            }
        }
        if let Err(e) = driver.teardown().await {
            tracing::warn!(error = %e, "teardown failed");
        }
    }

    fn tick(&mut self, driver: &dyn Driver) {
        let now = Instant::now();
        if self.engine.speculate(now) > 0 {
            tracing::info!("speculative copies queued");
        }
        self.assign(driver);
        let _ = now;
    }

    async fn release_idle(&mut self, driver: &dyn Driver) {
        if !self.conf.dynamic_allocation || self.over {
            return;
        }
        let now = Instant::now();
        let mut live = self
            .executors
            .values()
            .filter(|e| e.state != ExecState::Draining)
            .count();
        let idle: Vec<TaskId> = self
            .executors
            .iter()
            .filter(|(_, e)| {
                e.state == ExecState::Ready
                    && e.running.is_empty()
                    && now.saturating_duration_since(e.idle_since)
                        >= self.conf.executor_idle_timeout
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in idle {
            if live <= self.conf.min_executors || self.engine.pending_len() > 0 {
                break;
            }
            live -= 1;
            if let Some(e) = self.executors.get_mut(&id) {
                e.state = ExecState::Draining;
                self.counters.executors_released += 1;
                tracing::info!(executor = %id, "idle executor released (dynamic allocation)");
                if let Some(to) = &e.to {
                    let _ = to.send(ToExecutor::Stop);
                }
            }
            if let Err(e) = driver.kill(&id, None).await {
                tracing::debug!(executor = %id, error = %e, "kill failed");
            }
        }
    }

    fn executor_ended(&mut self, id: &TaskId, status: &TaskStatus) {
        let Some(exec) = self.executors.remove(id) else {
            return;
        };
        self.release(exec.cores, exec.launched);
        let message = status
            .message
            .clone()
            .unwrap_or_else(|| format!("{:?}", status.state));
        let counts = status.state == TaskState::Failed
            && exec.state != ExecState::Draining
            && !agent_gone(status);
        if matches!(status.state, TaskState::Failed | TaskState::Error)
            && exec.state != ExecState::Draining
        {
            self.executor_failures += 1;
            tracing::warn!(executor = %id, state = ?status.state, message = ?message, "executor failed");
            if self.executor_failures >= MAX_EXECUTOR_FAILURES {
                self.engine.abort(&format!(
                    "{} executors failed; the last, {id}: {message}",
                    self.executor_failures
                ));
            }
        }
        for attempt in exec.running {
            self.attempt_failed(attempt, &format!("executor {id} ended: {message}"), counts);
        }
    }
}

#[async_trait]
impl Scheduler for Backend {
    async fn subscribed(&mut self, driver: &dyn Driver, _info: &Subscribed) {
        if !self.ticking {
            self.ticking = true;
            driver.wake_after(TICK_EVERY, TICK);
        }
    }

    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
        self.counters.offers += offers.len() as u32;
        // Decide on every offer first, then make the calls concurrently:
        // one round trip for the batch instead of one per offer, during
        // which status updates would wait.
        let answers: Vec<Answer> = offers.iter().map(|offer| self.answer(offer)).collect();
        let calls = answers.iter().map(|answer| async move {
            match answer {
                Answer::Launch {
                    offer,
                    executor: Some(executor),
                    infos,
                    ..
                } => {
                    driver
                        .launch_group(offer, executor.clone(), infos.clone())
                        .await
                }
                Answer::Launch {
                    offer,
                    executor: None,
                    infos,
                    ..
                } => driver.launch(offer, infos.clone()).await,
                Answer::Decline { offer, refuse } => driver.decline(offer, Some(*refuse)).await,
            }
        });
        let results = futures::future::join_all(calls).await;
        for (answer, result) in answers.into_iter().zip(results) {
            match answer {
                Answer::Launch { offer, commit, .. } => self.settle(commit, result, &offer),
                Answer::Decline { offer, .. } => {
                    if let Err(e) = result {
                        tracing::debug!(offer = %offer, error = %e, "decline failed");
                    }
                }
            }
        }
        self.assign(driver);
    }

    async fn status_update(&mut self, driver: &dyn Driver, status: &TaskStatus) {
        let now = Instant::now();
        if agent_gone(status) {
            if let Some(agent) = status
                .agent_id
                .clone()
                .or_else(|| self.executors.get(&status.task_id).map(|e| e.agent.clone()))
            {
                self.engine.agent_lost(&agent, now);
            }
        }
        let mut kill = Vec::new();
        if let Some(task) = self.fine.get_mut(&status.task_id) {
            let attempt = task.attempt;
            match status.state {
                TaskState::Running => {
                    if matches!(self.placement, Placement::Simulated) {
                        self.engine.running(attempt, now);
                    }
                }
                s if s.is_terminal() => {
                    let task = self.fine.remove(&status.task_id);
                    // The master charged the executor's own resources if it
                    // was not running; a group that then did not fit is not
                    // the task's fault when this framework left them out
                    // (its last task ended while the launch was on its way).
                    let raced = task.as_ref().is_some_and(|t| !t.started_executor)
                        && status.reason == Some(Reason::TaskGroupInvalid);
                    if let Some(task) = &task {
                        self.release(task.cpus, task.launched);
                        let agent = task.agent.clone();
                        self.fine_task_gone(&agent);
                    }
                    let work = task.and_then(|t| t.work);
                    match (s, &self.placement) {
                        (TaskState::Finished, Placement::Simulated) => {
                            if let Some(work) = work {
                                if self.engine.attempt(attempt).is_some() {
                                    kill = self.attempt_done(
                                        driver,
                                        attempt,
                                        compute(&work),
                                        Some(work.simulated_duration()),
                                    );
                                }
                            }
                        }
                        (TaskState::Finished, Placement::Local { .. }) => {
                            // Its output came over its connection; one that
                            // did not is failed when the connection ends.
                        }
                        _ => {
                            let message =
                                status.message.clone().unwrap_or_else(|| format!("{s:?}"));
                            let counts = matches!(s, TaskState::Failed | TaskState::Error)
                                && !agent_gone(status)
                                && !raced;
                            self.attempt_failed(attempt, &message, counts);
                        }
                    }
                }
                _ => {}
            }
        } else if self.executors.contains_key(&status.task_id) {
            match status.state {
                TaskState::Running => {
                    if let Some(e) = self.executors.get_mut(&status.task_id) {
                        if e.state == ExecState::Launching
                            && matches!(self.placement, Placement::Simulated)
                        {
                            e.state = ExecState::Ready;
                            e.idle_since = now;
                        }
                    }
                }
                s if s.is_terminal() => self.executor_ended(&status.task_id, status),
                _ => {}
            }
        }
        self.kill_all(driver, kill).await;
        self.progress.update(&self.engine);
        self.assign(driver);
        self.maybe_finish(driver).await;
    }

    async fn revocation(&mut self, driver: &dyn Driver, notice: RevocationNotice) {
        self.counters.revocations += 1;
        for task in &notice.tasks {
            if let Some(t) = self.fine.get(task) {
                let attempt = t.attempt;
                tracing::info!(task = %task, "revoked: requeued");
                self.attempt_failed(attempt, "revoked", false);
            } else if let Some(e) = self.executors.get_mut(task) {
                tracing::info!(executor = %task, "revoked: draining, its tasks requeued");
                e.state = ExecState::Draining;
                let running: Vec<u64> = std::mem::take(&mut e.running).into_iter().collect();
                if let Some(to) = &e.to {
                    let _ = to.send(ToExecutor::Stop);
                }
                for attempt in running {
                    self.attempt_failed(attempt, "executor revoked", false);
                }
            }
        }
        if let Err(e) = driver.release(&notice).await {
            tracing::warn!(error = %e, "release of revoked resources failed");
        }
        self.assign(driver);
    }

    async fn timer(&mut self, driver: &dyn Driver, tag: u64) {
        if tag == TICK {
            if self.over {
                return;
            }
            self.tick(driver);
            self.release_idle(driver).await;
            driver.wake_after(TICK_EVERY, TICK);
            return;
        }
        // A simulated attempt in an executor ended.
        if let Some(work) = self.sim_work.remove(&tag) {
            let kill =
                self.attempt_done(driver, tag, compute(&work), Some(work.simulated_duration()));
            self.kill_all(driver, kill).await;
            self.assign(driver);
            self.maybe_finish(driver).await;
        }
    }

    fn wants_offers(&self, role: &Role) -> Option<bool> {
        if role != &self.role {
            return Some(false);
        }
        if self.over {
            return Some(false);
        }
        Some(if self.conf.coarse {
            self.want_executors()
                || (self.cores_room(self.conf.executor_cores)
                    && self
                        .engine
                        .locality_wait_left(Instant::now())
                        .is_some_and(|left| !left.is_zero()))
        } else {
            self.engine.pending_len() > 0 && self.cores_room(self.conf.task_cpus)
        })
    }
}

#[async_trait]
impl WithInputs for Backend {
    type Input = Input;

    async fn input(&mut self, driver: &dyn Driver, input: Input) {
        let now = Instant::now();
        let mut kill = Vec::new();
        match input {
            Input::Connected { executor, to } => {
                let id = TaskId::new(executor.clone());
                if let Some(task) = self.fine.get_mut(&id) {
                    let attempt = task.attempt;
                    match task.work.take() {
                        Some(work) if self.engine.attempt(attempt).is_some() => {
                            let _ = to.send(ToExecutor::Run { attempt, work });
                            task.to = Some(to);
                        }
                        _ => {
                            let _ = to.send(ToExecutor::Stop);
                        }
                    }
                } else if let Some(e) = self.executors.get_mut(&id) {
                    if e.state == ExecState::Launching {
                        e.state = ExecState::Ready;
                        e.idle_since = now;
                    }
                    e.to = Some(to);
                } else {
                    tracing::warn!(executor = ?executor, "unknown executor connected; stopped");
                    let _ = to.send(ToExecutor::Stop);
                }
            }
            Input::From { executor, message } => match message {
                FromExecutor::Started { attempt } => self.engine.running(attempt, now),
                FromExecutor::Done { attempt, output } => {
                    let owner = self
                        .by_attempt
                        .get(&attempt)
                        .map(|t| t.as_str() == executor);
                    let stage = self.engine.attempt(attempt).map(|a| a.stage);
                    match stage {
                        Some(stage) if owner == Some(true) => {
                            if self.engine.output_fits(stage, &output) {
                                kill = self.attempt_done(driver, attempt, output, None);
                            } else {
                                tracing::warn!(executor = ?executor, attempt, "an output of the wrong kind");
                                self.attempt_failed(
                                    attempt,
                                    "the executor answered with an output of the wrong kind",
                                    true,
                                );
                            }
                        }
                        _ => {}
                    }
                }
                FromExecutor::Hello { .. } => {}
            },
            Input::Gone { executor, error } => {
                let id = TaskId::new(executor);
                if let Some(task) = self.fine.get(&id) {
                    let attempt = task.attempt;
                    if self.engine.attempt(attempt).is_some() {
                        let why = error.unwrap_or_else(|| "exited without a result".into());
                        self.attempt_failed(attempt, &format!("executor {id}: {why}"), true);
                    }
                } else if let Some(e) = self.executors.get_mut(&id) {
                    e.to = None;
                    e.state = ExecState::Draining;
                    let running: Vec<u64> = std::mem::take(&mut e.running).into_iter().collect();
                    for attempt in running {
                        self.attempt_failed(attempt, "executor connection lost", false);
                    }
                }
            }
        }
        self.kill_all(driver, kill).await;
        self.assign(driver);
        self.maybe_finish(driver).await;
    }
}

#[cfg(test)]
#[path = "backend_tests.rs"]
mod tests;
