//! The tasks book: every live task (framework, agent, role, resources,
//! state), the executors they share, the simulated lifecycle timers
//! (STAGING -> STARTING -> RUNNING -> exit, or a kill), and a bounded
//! history of completed tasks per framework (as Mesos'
//! `max_completed_tasks_per_framework`).
//!
//! Its fields are private and it keeps its own invariants, checked by
//! [`TaskTable::check`]: the live map holds only non-terminal tasks; the
//! by-agent index and the deadline index name exactly the live tasks (the
//! latter those with a pending transition, at its time); each framework's
//! history holds at most the configured number of terminal tasks. Hot
//! paths read the indexes, never the history: the next deadline is the
//! first entry of an ordered set, the tasks of one agent or one framework
//! are a range.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
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
    next: Option<(Duration, Transition)>,
    killing: bool,
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
struct Frozen {
    state: TaskState,
    next: Option<(Duration, Transition)>,
}

/// One executor's use of its agent: what it holds and how many live tasks
/// it runs.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecutorUse {
    /// What the executor itself holds.
    pub resources: Resources,
    /// How many live tasks it runs.
    pub live_tasks: usize,
}

type Key = (FrameworkId, TaskId);

/// The completed tasks of one framework, oldest first.
#[derive(Debug, Default)]
struct History {
    order: VecDeque<TaskId>,
    tasks: BTreeMap<TaskId, TaskRecord>,
}

/// Every task of every framework. See the module docs.
#[derive(Debug)]
pub struct TaskTable {
    live: BTreeMap<Key, TaskRecord>,
    by_agent: BTreeMap<AgentId, BTreeSet<Key>>,
    deadlines: BTreeSet<(Duration, Key)>,
    completed: BTreeMap<FrameworkId, History>,
    max_completed: usize,
    executors: BTreeMap<(FrameworkId, AgentId, ExecutorId), ExecutorUse>,
    /// Tasks frozen on unreachable agents: their state before, and their
    /// pending transition as time left.
    frozen: BTreeMap<Key, Frozen>,
    /// Agents whose tasks changed since [`TaskTable::take_touched`].
    touched: BTreeSet<AgentId>,
    group_counter: u64,
    launch_counter: u64,
    sim_step: Duration,
}

fn key(framework: &FrameworkId, task: &TaskId) -> Key {
    (framework.clone(), task.clone())
}

/// The smallest task id (the start of a framework's range).
fn first_task() -> TaskId {
    TaskId::new(String::new())
}

impl TaskTable {
    /// An empty table whose tasks move STAGING -> STARTING -> RUNNING one
    /// `sim_step` apart, keeping the default history of completed tasks.
    pub fn new(sim_step: Duration) -> Self {
        Self::with_history(sim_step, DEFAULT_MAX_COMPLETED_TASKS_PER_FRAMEWORK)
    }

    /// An empty table keeping at most `max_completed` completed tasks per
    /// framework.
    pub fn with_history(sim_step: Duration, max_completed: usize) -> Self {
        Self {
            live: BTreeMap::new(),
            by_agent: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            completed: BTreeMap::new(),
            max_completed,
            executors: BTreeMap::new(),
            frozen: BTreeMap::new(),
            touched: BTreeSet::new(),
            group_counter: 0,
            launch_counter: 0,
            sim_step,
        }
    }

    /// The task `task` of `framework`: live, or in its history.
    pub fn get(&self, framework: &FrameworkId, task: &TaskId) -> Option<&TaskRecord> {
        self.live
            .get(&key(framework, task))
            .or_else(|| self.completed.get(framework)?.tasks.get(task))
    }

    /// Whether `framework` has a non-terminal task `task`.
    pub fn is_active(&self, framework: &FrameworkId, task: &TaskId) -> bool {
        self.live.contains_key(&key(framework, task))
    }

    /// Whether `framework` runs executor `executor` on `agent`.
    pub fn executor_running(
        &self,
        framework: &FrameworkId,
        agent: &AgentId,
        executor: &ExecutorId,
    ) -> bool {
        self.executors
            .contains_key(&(framework.clone(), agent.clone(), executor.clone()))
    }

    /// Every running executor: (framework, agent, executor) and its use.
    pub fn executors(
        &self,
    ) -> impl Iterator<Item = (&(FrameworkId, AgentId, ExecutorId), &ExecutorUse)> {
        self.executors.iter()
    }

    /// A fresh task group id.
    pub fn new_group(&mut self) -> u64 {
        self.group_counter += 1;
        self.group_counter
    }

    fn schedule(&mut self, k: &Key, next: Option<(Duration, Transition)>) {
        let Some(record) = self.live.get_mut(k) else {
            return;
        };
        if !self.touched.contains(&record.agent) {
            self.touched.insert(record.agent.clone());
        }
        if let Some((at, _)) = record.next {
            self.deadlines.remove(&(at, k.clone()));
        }
        record.next = next;
        if let Some((at, _)) = next {
            self.deadlines.insert((at, k.clone()));
        }
    }

    /// Adds a task in TASK_STAGING; it starts one `sim_step` later. A
    /// completed task of the same id leaves the history.
    pub fn launch(&mut self, now: Duration, launch: Launch) {
        let next = Some((now.saturating_add(self.sim_step), Transition::Start));
        self.insert(now, launch, next);
    }

    fn insert(&mut self, now: Duration, launch: Launch, next: Option<(Duration, Transition)>) {
        let executor = launch.executor.map(|(id, resources)| {
            let key = (launch.framework.clone(), launch.agent.clone(), id.clone());
            self.executors
                .entry(key)
                .or_insert(ExecutorUse {
                    resources,
                    live_tasks: 0,
                })
                .live_tasks += 1;
            id
        });
        self.launch_counter += 1;
        if let Some(history) = self.completed.get_mut(&launch.framework) {
            if history.tasks.remove(&launch.id).is_some() {
                history.order.retain(|t| t != &launch.id);
            }
        }
        let k = key(&launch.framework, &launch.id);
        let record = TaskRecord {
            framework: launch.framework,
            id: launch.id,
            agent: launch.agent,
            role: launch.role,
            resources: launch.resources,
            executor,
            group: launch.group,
            state: TaskState::Staging,
            plan: launch.plan,
            launched_at: now,
            launch_seq: self.launch_counter,
            next: None,
            killing: false,
        };
        self.by_agent
            .entry(record.agent.clone())
            .or_default()
            .insert(k.clone());
        if let Some(old) = self.live.insert(k.clone(), record) {
            // Relaunching a live id is refused at ACCEPT; keep the indexes
            // right anyway.
            if let Some((at, _)) = old.next {
                self.deadlines.remove(&(at, k.clone()));
            }
        }
        self.schedule(&k, next);
    }

    /// The live tasks of `framework`, by task id.
    pub fn live_of<'a>(
        &'a self,
        framework: &'a FrameworkId,
    ) -> impl Iterator<Item = &'a TaskRecord> + 'a {
        self.live
            .range((framework.clone(), first_task())..)
            .take_while(move |((owner, _), _)| owner == framework)
            .map(|(_, t)| t)
    }

    /// The live tasks on `agent`, by framework then task id.
    pub fn live_on<'a>(&'a self, agent: &AgentId) -> impl Iterator<Item = &'a TaskRecord> + 'a {
        self.by_agent
            .get(agent)
            .into_iter()
            .flatten()
            .filter_map(|k| self.live.get(k))
    }

    /// Every live task, by framework then task id.
    pub fn live(&self) -> impl Iterator<Item = &TaskRecord> {
        self.live.values()
    }

    /// Takes the agents whose tasks changed since the last call.
    pub fn take_touched(&mut self) -> BTreeSet<AgentId> {
        std::mem::take(&mut self.touched)
    }

    /// The executors running on `agent`.
    pub fn executors_on<'a>(
        &'a self,
        agent: &'a AgentId,
    ) -> impl Iterator<Item = (&'a (FrameworkId, AgentId, ExecutorId), &'a ExecutorUse)> + 'a {
        self.executors
            .iter()
            .filter(move |((_, on, _), _)| on == agent)
    }

    /// How many tasks were ever launched (never decreases).
    pub fn launches(&self) -> u64 {
        self.launch_counter
    }

    /// How many live tasks there are.
    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    /// The completed tasks kept for `framework`, oldest first.
    pub fn completed_of<'a>(
        &'a self,
        framework: &FrameworkId,
    ) -> impl Iterator<Item = &'a TaskRecord> + 'a {
        self.completed
            .get(framework)
            .into_iter()
            .flat_map(|h| h.order.iter().filter_map(|t| h.tasks.get(t)))
    }

    /// How many completed tasks are kept, over all frameworks.
    pub fn completed_count(&self) -> usize {
        self.completed.values().map(|h| h.tasks.len()).sum()
    }

    /// Every task kept: the live ones (by framework then task id), then
    /// each framework's history (oldest first).
    pub fn iter(&self) -> impl Iterator<Item = &TaskRecord> {
        self.live.values().chain(
            self.completed
                .values()
                .flat_map(|h| h.order.iter().filter_map(|t| h.tasks.get(t))),
        )
    }

    /// The non-terminal tasks killed along with `task`: its whole task group,
    /// or just itself.
    pub fn kill_set(&self, framework: &FrameworkId, task: &TaskId) -> Vec<TaskId> {
        let group = self.get(framework, task).and_then(|t| t.group);
        match group {
            None => vec![task.clone()],
            Some(group) => self
                .live_of(framework)
                .filter(|t| t.group == Some(group))
                .map(|t| t.id.clone())
                .collect(),
        }
    }

    /// Starts killing a task: it stops after `min(cleanup, grace)`, where
    /// grace is `grace` if given, else the task's own, else zero. With
    /// `report_killing` its state becomes TASK_KILLING now.
    pub fn kill(
        &mut self,
        now: Duration,
        framework: &FrameworkId,
        task: &TaskId,
        grace: Option<Duration>,
        report_killing: bool,
    ) -> KillOutcome {
        let k = key(framework, task);
        let Some(record) = self.live.get_mut(&k) else {
            return match self.get(framework, task) {
                Some(_) => KillOutcome::AlreadyTerminal,
                None => KillOutcome::Unknown,
            };
        };
        if record.killing {
            return KillOutcome::AlreadyKilling;
        }
        let grace = grace.or(record.plan.kill_grace).unwrap_or(Duration::ZERO);
        let stops_at = now.saturating_add(record.plan.cleanup.min(grace));
        record.killing = true;
        if report_killing {
            record.state = TaskState::Killing;
        }
        self.schedule(&k, Some((stops_at, Transition::Stop)));
        KillOutcome::Killing { stops_at }
    }

    /// Runs every lifecycle transition due at `now`, in time order (ties by
    /// framework and task id), and returns them.
    pub fn advance(&mut self, now: Duration) -> Vec<Transitioned> {
        let mut out = Vec::new();
        while self.deadlines.first().is_some_and(|(at, _)| *at <= now) {
            let Some((_, k)) = self.deadlines.pop_first() else {
                break;
            };
            if let Some(step) = self.step(&k) {
                out.push(step);
            }
        }
        out
    }

    fn step(&mut self, k: &Key) -> Option<Transitioned> {
        let sim_step = self.sim_step;
        let record = self.live.get_mut(k)?;
        let (at, transition) = record.next.take()?;
        let mut message = None;
        let mut next = None;
        match transition {
            Transition::Start => {
                record.state = TaskState::Starting;
                next = Some((at.saturating_add(sim_step), Transition::Run));
            }
            Transition::Run => {
                record.state = TaskState::Running;
                next = record
                    .plan
                    .run_for
                    .map(|d| (at.saturating_add(d), Transition::Exit));
            }
            Transition::Exit if record.plan.exit_ok => {
                record.state = TaskState::Finished;
                message = Some("simulated task exited with status 0".to_owned());
            }
            Transition::Exit => {
                record.state = TaskState::Failed;
                message = Some("simulated task exited with a non-zero status".to_owned());
            }
            Transition::Stop => {
                record.state = TaskState::Killed;
                message = Some("simulated task was killed".to_owned());
            }
        }
        self.schedule(k, next);
        self.transitioned(k, message)
    }

    /// The change to report for the task at `k`, now in its new state; a
    /// terminal state frees what it held and moves it to the history.
    fn transitioned(&mut self, k: &Key, message: Option<String>) -> Option<Transitioned> {
        let record = self.live.get(k)?;
        if !is_terminal(record.state) {
            return Some(Transitioned {
                framework: record.framework.clone(),
                task: record.id.clone(),
                agent: record.agent.clone(),
                executor: record.executor.clone(),
                state: record.state,
                freed: Resources::new(),
                message,
            });
        }
        let record = self.complete(k)?;
        let freed = self.release(&record);
        let step = Transitioned {
            framework: record.framework.clone(),
            task: record.id.clone(),
            agent: record.agent.clone(),
            executor: record.executor.clone(),
            state: record.state,
            freed,
            message,
        };
        self.remember(record);
        Some(step)
    }

    /// Takes a terminal task out of the live map and its indexes.
    fn complete(&mut self, k: &Key) -> Option<TaskRecord> {
        let mut record = self.live.remove(k)?;
        if !self.touched.contains(&record.agent) {
            self.touched.insert(record.agent.clone());
        }
        if let Some((at, _)) = record.next.take() {
            self.deadlines.remove(&(at, k.clone()));
        }
        if let Some(keys) = self.by_agent.get_mut(&record.agent) {
            keys.remove(k);
        }
        Some(record)
    }

    /// Puts a completed task in its framework's history, dropping the
    /// oldest beyond the bound.
    fn remember(&mut self, record: TaskRecord) {
        if self.max_completed == 0 {
            return;
        }
        let history = match self.completed.get_mut(&record.framework) {
            Some(history) => history,
            None => self.completed.entry(record.framework.clone()).or_default(),
        };
        history.order.push_back(record.id.clone());
        history.tasks.insert(record.id.clone(), record);
        while history.order.len() > self.max_completed {
            if let Some(oldest) = history.order.pop_front() {
                history.tasks.remove(&oldest);
            }
        }
    }

    /// What a terminal task gives back: its resources, plus its executor's
    /// when it was the executor's last task.
    fn release(&mut self, record: &TaskRecord) -> Resources {
        let mut freed = Resources::new();
        freed += &record.resources;
        if let Some(executor) = &record.executor {
            let key = (
                record.framework.clone(),
                record.agent.clone(),
                executor.clone(),
            );
            if let Some(usage) = self.executors.get_mut(&key) {
                usage.live_tasks = usage.live_tasks.saturating_sub(1);
                if usage.live_tasks == 0 {
                    freed += &usage.resources;
                    self.executors.remove(&key);
                }
            }
        }
        freed
    }

    /// The earliest pending transition: O(log n).
    pub fn next_deadline(&self) -> Option<Duration> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    /// Drops every task, executor and history entry of `framework` (its
    /// resources are recovered by removing the framework from the
    /// allocator).
    pub fn remove_framework(&mut self, framework: &FrameworkId) {
        let keys: Vec<Key> = self
            .live_of(framework)
            .map(|t| key(&t.framework, &t.id))
            .collect();
        for k in keys {
            if let Some(record) = self.live.remove(&k) {
                self.touched.insert(record.agent.clone());
                if let Some((at, _)) = record.next {
                    self.deadlines.remove(&(at, k.clone()));
                }
                if let Some(keys) = self.by_agent.get_mut(&record.agent) {
                    keys.remove(&k);
                    if keys.is_empty() {
                        self.by_agent.remove(&record.agent);
                    }
                }
            }
        }
        self.completed.remove(framework);
        self.executors.retain(|(owner, _, _), _| owner != framework);
        self.frozen.retain(|(owner, _), _| owner != framework);
    }

    /// Checks the book's own invariants (see the module docs).
    pub fn check(&self) -> Result<(), String> {
        let mut indexed = 0;
        for (agent, keys) in &self.by_agent {
            for k in keys {
                match self.live.get(k) {
                    Some(t) if &t.agent == agent => indexed += 1,
                    _ => return Err(format!("task index of {agent} names {k:?}, not live there")),
                }
            }
        }
        if indexed != self.live.len() {
            return Err(format!(
                "{} live tasks but {indexed} in the by-agent index",
                self.live.len()
            ));
        }
        let timed = self.live.values().filter(|t| t.next.is_some()).count();
        if timed != self.deadlines.len() {
            return Err(format!(
                "{timed} tasks have a pending transition but the deadline index holds {}",
                self.deadlines.len()
            ));
        }
        for (at, k) in &self.deadlines {
            if self.live.get(k).and_then(|t| t.next).map(|(t, _)| t) != Some(*at) {
                return Err(format!("deadline {at:?} of {k:?} is stale"));
            }
        }
        if let Some(t) = self.live.values().find(|t| is_terminal(t.state)) {
            return Err(format!("terminal task {} is among the live ones", t.id));
        }
        for (fw, history) in &self.completed {
            if history.tasks.len() > self.max_completed
                || history.order.len() != history.tasks.len()
            {
                return Err(format!(
                    "history of {fw} holds {} tasks ({} in order), bound {}",
                    history.tasks.len(),
                    history.order.len(),
                    self.max_completed
                ));
            }
        }
        Ok(())
    }
}

// ---- agents that become unreachable, and tasks told to ignore kills ----

impl TaskTable {
    /// Freezes a live task whose agent became unreachable: it is
    /// TASK_UNREACHABLE and its timer is put aside until
    /// [`TaskTable::thaw_on`]. `false` for a task that is not live.
    pub fn freeze(&mut self, now: Duration, framework: &FrameworkId, task: &TaskId) -> bool {
        let k = key(framework, task);
        let Some(record) = self.live.get(&k) else {
            return false;
        };
        let state = record.state;
        let next = record.next.map(|(at, t)| (at.saturating_sub(now), t));
        self.schedule(&k, None);
        let Some(record) = self.live.get_mut(&k) else {
            return false;
        };
        record.state = TaskState::Unreachable;
        self.frozen.insert(k, Frozen { state, next });
        true
    }

    /// Thaws the frozen tasks on `agent` (it came back): their state and
    /// their timer (time left from `now`) come back. Returns each task and
    /// its state, in order.
    pub fn thaw_on(
        &mut self,
        now: Duration,
        agent: &AgentId,
    ) -> Vec<(FrameworkId, TaskId, TaskState)> {
        let keys: Vec<Key> = self
            .by_agent
            .get(agent)
            .map(|keys| {
                keys.iter()
                    .filter(|k| self.frozen.contains_key(*k))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let mut out = Vec::new();
        for k in keys {
            let Some(was) = self.frozen.remove(&k) else {
                continue;
            };
            let Some(record) = self.live.get_mut(&k) else {
                continue;
            };
            record.state = was.state;
            self.schedule(&k, was.next.map(|(left, t)| (now.saturating_add(left), t)));
            out.push((k.0, k.1, was.state));
        }
        out
    }

    /// Whether `task` is frozen on an unreachable agent.
    pub fn is_frozen(&self, framework: &FrameworkId, task: &TaskId) -> bool {
        self.frozen.contains_key(&key(framework, task))
    }

    /// Makes a live task take forever to stop once killed (only its grace
    /// period stops it). `false` for a task that is not live.
    pub fn ignore_kills(&mut self, framework: &FrameworkId, task: &TaskId) -> bool {
        match self.live.get_mut(&key(framework, task)) {
            Some(record) => {
                record.plan.cleanup = Duration::MAX;
                true
            }
            None => false,
        }
    }
}

// ---- tasks whose lifecycle is driven from outside (local agents) ----

impl TaskTable {
    /// Adds a task in TASK_STAGING with no simulated timers: its next
    /// states come from [`TaskTable::report_external`].
    pub fn launch_external(&mut self, now: Duration, launch: Launch) {
        self.insert(now, launch, None);
    }

    /// Marks an externally driven task as being killed (TASK_KILLING when
    /// `report_killing`), without a timer. `false` when the task is
    /// unknown, ended, or already being killed.
    pub fn mark_killing(
        &mut self,
        framework: &FrameworkId,
        task: &TaskId,
        report_killing: bool,
    ) -> bool {
        let Some(record) = self.live.get_mut(&key(framework, task)) else {
            return false;
        };
        if record.killing {
            return false;
        }
        record.killing = true;
        if report_killing {
            record.state = TaskState::Killing;
        }
        true
    }

    /// Sets the state of an externally driven task, as its agent reported
    /// it. `None` (nothing changes) when the task is unknown or ended, or
    /// when it is being killed and `state` is not terminal (a late
    /// RUNNING must not undo TASK_KILLING).
    pub fn report_external(
        &mut self,
        framework: &FrameworkId,
        task: &TaskId,
        state: TaskState,
        message: Option<String>,
    ) -> Option<Transitioned> {
        let k = key(framework, task);
        let record = self.live.get_mut(&k)?;
        if record.killing && !is_terminal(state) {
            return None;
        }
        record.state = state;
        self.schedule(&k, None);
        self.transitioned(&k, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: Duration = Duration::from_millis(10);

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn launch(
        id: &str,
        run_for: Option<u64>,
        executor: Option<&str>,
        group: Option<u64>,
    ) -> Launch {
        Launch {
            framework: FrameworkId::new("f"),
            id: TaskId::new(id),
            agent: AgentId::new("a"),
            role: Role::new("r"),
            resources: Resources::new().with_cpus(1.0),
            executor: executor.map(|e| (ExecutorId::new(e), Resources::new().with_mem(32.0))),
            group,
            plan: SimPlan {
                run_for: run_for.map(ms),
                exit_ok: true,
                cleanup: ms(50),
                kill_grace: None,
            },
        }
    }

    fn states(steps: &[Transitioned]) -> Vec<TaskState> {
        steps.iter().map(|s| s.state).collect()
    }

    #[test]
    fn lifecycle_runs_on_schedule() {
        let mut table = TaskTable::new(STEP);
        table.launch(ms(0), launch("t", Some(100), None, None));
        assert_eq!(table.next_deadline(), Some(ms(10)));
        assert_eq!(states(&table.advance(ms(10))), [TaskState::Starting]);
        assert_eq!(states(&table.advance(ms(20))), [TaskState::Running]);
        assert_eq!(table.next_deadline(), Some(ms(120)));
        let done = table.advance(ms(500));
        assert_eq!(states(&done), [TaskState::Finished]);
        assert_eq!(done[0].freed, Resources::new().with_cpus(1.0));
        assert_eq!(table.next_deadline(), None);
        assert!(!table.is_active(&FrameworkId::new("f"), &TaskId::new("t")));
    }

    #[test]
    fn huge_durations_saturate_instead_of_overflowing() {
        let mut table = TaskTable::new(STEP);
        let mut long = launch("t", None, None, None);
        long.plan.run_for = Some(Duration::MAX);
        table.launch(ms(0), long);
        assert_eq!(states(&table.advance(ms(20))).len(), 2);
        assert_eq!(table.next_deadline(), Some(Duration::MAX));
    }

    #[test]
    fn late_advance_catches_up_in_order() {
        let mut table = TaskTable::new(STEP);
        table.launch(ms(0), launch("t", Some(0), None, None));
        let steps = table.advance(ms(1000));
        assert_eq!(
            states(&steps),
            [TaskState::Starting, TaskState::Running, TaskState::Finished]
        );
    }

    #[test]
    fn kill_uses_min_of_cleanup_and_grace() {
        let fw = FrameworkId::new("f");
        let mut table = TaskTable::new(STEP);
        table.launch(ms(0), launch("t", None, None, None));
        table.advance(ms(20));
        let t = TaskId::new("t");
        assert_eq!(
            table.kill(ms(100), &fw, &t, Some(ms(20)), true),
            KillOutcome::Killing { stops_at: ms(120) }
        );
        assert_eq!(table.get(&fw, &t).unwrap().state, TaskState::Killing);
        assert_eq!(
            table.kill(ms(101), &fw, &t, None, true),
            KillOutcome::AlreadyKilling
        );
        assert_eq!(states(&table.advance(ms(120))), [TaskState::Killed]);
        assert_eq!(
            table.kill(ms(130), &fw, &t, None, true),
            KillOutcome::AlreadyTerminal
        );
        assert_eq!(
            table.kill(ms(130), &fw, &TaskId::new("x"), None, true),
            KillOutcome::Unknown
        );
        // Without a grace period anywhere, the task stops at once.
        table.launch(ms(200), launch("u", None, None, None));
        let u = TaskId::new("u");
        assert_eq!(
            table.kill(ms(200), &fw, &u, None, false),
            KillOutcome::Killing { stops_at: ms(200) }
        );
        assert_eq!(table.get(&fw, &u).unwrap().state, TaskState::Staging);
    }

    #[test]
    fn external_tasks_have_no_timers_and_follow_reports() {
        let fw = FrameworkId::new("f");
        let t = TaskId::new("t");
        let mut table = TaskTable::new(STEP);
        table.launch_external(ms(0), launch("t", Some(10), None, None));
        assert_eq!(table.next_deadline(), None);
        assert!(table.advance(ms(1000)).is_empty());
        let step = table
            .report_external(&fw, &t, TaskState::Running, None)
            .unwrap();
        assert_eq!(
            (step.state, step.freed.is_empty()),
            (TaskState::Running, true)
        );
        assert!(table.mark_killing(&fw, &t, true));
        assert!(!table.mark_killing(&fw, &t, true), "already killing");
        assert_eq!(table.get(&fw, &t).unwrap().state, TaskState::Killing);
        assert!(
            table
                .report_external(&fw, &t, TaskState::Running, None)
                .is_none(),
            "a late RUNNING does not undo KILLING"
        );
        let done = table
            .report_external(&fw, &t, TaskState::Killed, Some("bye".into()))
            .unwrap();
        assert_eq!(done.freed, Resources::new().with_cpus(1.0));
        assert!(table
            .report_external(&fw, &t, TaskState::Failed, None)
            .is_none());
        assert!(!table.mark_killing(&fw, &t, true));
        assert_eq!(table.next_deadline(), None);
    }

    #[test]
    fn executor_resources_freed_with_its_last_task() {
        let fw = FrameworkId::new("f");
        let mut table = TaskTable::new(STEP);
        let group = table.new_group();
        table.launch(ms(0), launch("a", Some(10), Some("e"), Some(group)));
        table.launch(ms(0), launch("b", Some(50), Some("e"), Some(group)));
        assert!(table.executor_running(&fw, &AgentId::new("a"), &ExecutorId::new("e")));
        assert_eq!(table.kill_set(&fw, &TaskId::new("a")).len(), 2);
        let steps = table.advance(ms(1000));
        let freed: Vec<_> = steps.iter().filter(|s| !s.freed.is_empty()).collect();
        assert_eq!(freed[0].freed, Resources::new().with_cpus(1.0));
        assert_eq!(
            freed[1].freed,
            Resources::new().with_cpus(1.0).with_mem(32.0)
        );
        assert!(!table.executor_running(&fw, &AgentId::new("a"), &ExecutorId::new("e")));
    }
}
