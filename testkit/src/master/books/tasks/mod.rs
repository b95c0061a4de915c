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
//!
//! Files: this one holds the table and the simulated lifecycle;
//! `records.rs` the task records; `partition.rs` the freezing of tasks on
//! unreachable agents; `external.rs` the tasks whose lifecycle local
//! agents drive.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use corral::TaskState;
use corral::{AgentId, ExecutorId, FrameworkId, Resources, TaskId};

mod external;
mod partition;
mod records;
#[cfg(test)]
mod tests;

use records::Frozen;
pub(in crate::master) use records::Transition;
pub use records::{
    is_terminal, ExecutorUse, KillOutcome, Launch, TaskRecord, Transitioned,
    DEFAULT_MAX_COMPLETED_TASKS_PER_FRAMEWORK,
};

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

    /// Adds a task in TASK_STAGING. It starts one `sim_step` later (its
    /// executor starting), then runs one `sim_step` after that; a task
    /// given to an executor of its framework that is already up skips the
    /// start-up and is RUNNING at once, as Mesos's executors start the
    /// tasks they are sent (Spark's fine-grained mode relied on it). A
    /// completed task of the same id leaves the history.
    pub fn launch(&mut self, now: Duration, launch: Launch) {
        let up_at = launch.executor.as_ref().and_then(|(id, _)| {
            let key = (launch.framework.clone(), launch.agent.clone(), id.clone());
            self.executors.get(&key).map(|e| e.up_at)
        });
        let next = match up_at {
            Some(up_at) if up_at <= now => (now, Transition::StartWarm),
            Some(up_at) => (up_at, Transition::Start),
            None => (now.saturating_add(self.sim_step), Transition::Start),
        };
        self.insert(now, launch, Some(next));
    }

    fn insert(&mut self, now: Duration, launch: Launch, next: Option<(Duration, Transition)>) {
        let executor = launch.executor.map(|(id, resources)| {
            let key = (launch.framework.clone(), launch.agent.clone(), id.clone());
            self.executors
                .entry(key)
                .or_insert(ExecutorUse {
                    resources,
                    live_tasks: 0,
                    up_at: now.saturating_add(self.sim_step),
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
            Transition::StartWarm => {
                record.state = TaskState::Starting;
                next = Some((at, Transition::Run));
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
