//! The task table: every launched task (framework, agent, role, resources,
//! latest state), the executors they share, and the simulated lifecycle
//! timers (STAGING -> STARTING -> RUNNING -> exit, or a kill).
//!
//! Terminal tasks stay in the table (for reconciliation and snapshots) until
//! their id is launched again or their framework is removed.

use std::collections::BTreeMap;
use std::time::Duration;

use corral::{AgentId, ExecutorId, FrameworkId, Resources, Role, TaskId};
use corral_proto::pb::TaskState;

use super::sim::SimPlan;

/// Whether `state` is terminal (as Mesos' `isTerminalState`).
pub fn is_terminal(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::TaskFinished
            | TaskState::TaskFailed
            | TaskState::TaskKilled
            | TaskState::TaskError
            | TaskState::TaskLost
            | TaskState::TaskDropped
            | TaskState::TaskGone
            | TaskState::TaskGoneByOperator
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Transition {
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
    pub(super) next: Option<(Duration, Transition)>,
    pub(super) killing: bool,
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

#[derive(Clone, Debug, PartialEq)]
pub(super) struct ExecutorUse {
    pub(super) resources: Resources,
    pub(super) live_tasks: usize,
}

/// Every task of every framework.
#[derive(Debug)]
pub struct TaskTable {
    pub(super) tasks: BTreeMap<(FrameworkId, TaskId), TaskRecord>,
    pub(super) executors: BTreeMap<(FrameworkId, AgentId, ExecutorId), ExecutorUse>,
    group_counter: u64,
    launch_counter: u64,
    sim_step: Duration,
}

impl TaskTable {
    /// An empty table whose tasks move STAGING -> STARTING -> RUNNING one
    /// `sim_step` apart.
    pub fn new(sim_step: Duration) -> Self {
        Self {
            tasks: BTreeMap::new(),
            executors: BTreeMap::new(),
            group_counter: 0,
            launch_counter: 0,
            sim_step,
        }
    }

    /// The task `task` of `framework`.
    pub fn get(&self, framework: &FrameworkId, task: &TaskId) -> Option<&TaskRecord> {
        self.tasks.get(&(framework.clone(), task.clone()))
    }

    /// Whether `framework` has a non-terminal task `task`.
    pub fn is_active(&self, framework: &FrameworkId, task: &TaskId) -> bool {
        self.get(framework, task)
            .is_some_and(|t| !is_terminal(t.state))
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

    /// A fresh task group id.
    pub fn new_group(&mut self) -> u64 {
        self.group_counter += 1;
        self.group_counter
    }

    /// Adds a task in TASK_STAGING; it starts one `sim_step` later.
    pub fn launch(&mut self, now: Duration, launch: Launch) {
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
        let record = TaskRecord {
            framework: launch.framework,
            id: launch.id,
            agent: launch.agent,
            role: launch.role,
            resources: launch.resources,
            executor,
            group: launch.group,
            state: TaskState::TaskStaging,
            plan: launch.plan,
            launched_at: now,
            launch_seq: self.launch_counter,
            next: Some((now.saturating_add(self.sim_step), Transition::Start)),
            killing: false,
        };
        self.tasks
            .insert((record.framework.clone(), record.id.clone()), record);
    }

    /// The non-terminal tasks killed along with `task`: its whole task group,
    /// or just itself.
    pub fn kill_set(&self, framework: &FrameworkId, task: &TaskId) -> Vec<TaskId> {
        let group = self.get(framework, task).and_then(|t| t.group);
        match group {
            None => vec![task.clone()],
            Some(group) => self
                .tasks
                .values()
                .filter(|t| &t.framework == framework && t.group == Some(group))
                .filter(|t| !is_terminal(t.state))
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
        let Some(record) = self.tasks.get_mut(&(framework.clone(), task.clone())) else {
            return KillOutcome::Unknown;
        };
        if is_terminal(record.state) {
            return KillOutcome::AlreadyTerminal;
        }
        if record.killing {
            return KillOutcome::AlreadyKilling;
        }
        let grace = grace.or(record.plan.kill_grace).unwrap_or(Duration::ZERO);
        let stops_at = now.saturating_add(record.plan.cleanup.min(grace));
        record.killing = true;
        record.next = Some((stops_at, Transition::Stop));
        if report_killing {
            record.state = TaskState::TaskKilling;
        }
        KillOutcome::Killing { stops_at }
    }

    /// Runs every lifecycle transition due at `now`, in time order (ties by
    /// framework and task id), and returns them.
    pub fn advance(&mut self, now: Duration) -> Vec<Transitioned> {
        let mut out = Vec::new();
        loop {
            let mut due: Vec<(Duration, (FrameworkId, TaskId))> = self
                .tasks
                .iter()
                .filter_map(|(key, t)| {
                    t.next
                        .filter(|(at, _)| *at <= now)
                        .map(|(at, _)| (at, key.clone()))
                })
                .collect();
            if due.is_empty() {
                return out;
            }
            due.sort();
            for (_, key) in due {
                if let Some(step) = self.step(&key) {
                    out.push(step);
                }
            }
        }
    }

    fn step(&mut self, key: &(FrameworkId, TaskId)) -> Option<Transitioned> {
        let sim_step = self.sim_step;
        let record = self.tasks.get_mut(key)?;
        let (at, transition) = record.next.take()?;
        let mut message = None;
        match transition {
            Transition::Start => {
                record.state = TaskState::TaskStarting;
                record.next = Some((at.saturating_add(sim_step), Transition::Run));
            }
            Transition::Run => {
                record.state = TaskState::TaskRunning;
                record.next = record
                    .plan
                    .run_for
                    .map(|d| (at.saturating_add(d), Transition::Exit));
            }
            Transition::Exit if record.plan.exit_ok => {
                record.state = TaskState::TaskFinished;
                message = Some("simulated task exited with status 0".to_owned());
            }
            Transition::Exit => {
                record.state = TaskState::TaskFailed;
                message = Some("simulated task exited with a non-zero status".to_owned());
            }
            Transition::Stop => {
                record.state = TaskState::TaskKilled;
                message = Some("simulated task was killed".to_owned());
            }
        }
        let record = record.clone();
        Some(self.transitioned(record, message))
    }

    /// The change to report for `record`, now in its new state; a terminal
    /// state frees what it held.
    fn transitioned(&mut self, record: TaskRecord, message: Option<String>) -> Transitioned {
        let freed = self.release(&record);
        Transitioned {
            framework: record.framework,
            task: record.id,
            agent: record.agent,
            executor: record.executor,
            state: record.state,
            freed,
            message,
        }
    }

    /// What a task in `record.state` gives back: nothing unless terminal;
    /// then its resources, plus its executor's when it was the executor's
    /// last task.
    pub(super) fn release(&mut self, record: &TaskRecord) -> Resources {
        let mut freed = Resources::new();
        if is_terminal(record.state) {
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
        }
        freed
    }

    /// The earliest pending transition.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.tasks
            .values()
            .filter_map(|t| t.next.map(|(at, _)| at))
            .min()
    }

    /// Drops every task and executor of `framework` (its resources are
    /// recovered by removing the framework from the allocator).
    pub fn remove_framework(&mut self, framework: &FrameworkId) {
        self.tasks.retain(|(owner, _), _| owner != framework);
        self.executors.retain(|(owner, _, _), _| owner != framework);
    }

    /// Every task, ordered by framework then task id.
    pub fn iter(&self) -> impl Iterator<Item = &TaskRecord> {
        self.tasks.values()
    }
}

// ---- tasks whose lifecycle is driven from outside (local agents) ----

impl TaskTable {
    /// Adds a task in TASK_STAGING with no simulated timers: its next
    /// states come from [`TaskTable::report_external`].
    pub fn launch_external(&mut self, now: Duration, launch: Launch) {
        let key = (launch.framework.clone(), launch.id.clone());
        self.launch(now, launch);
        if let Some(record) = self.tasks.get_mut(&key) {
            record.next = None;
        }
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
        let Some(record) = self.tasks.get_mut(&(framework.clone(), task.clone())) else {
            return false;
        };
        if is_terminal(record.state) || record.killing {
            return false;
        }
        record.killing = true;
        if report_killing {
            record.state = TaskState::TaskKilling;
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
        let record = self.tasks.get_mut(&(framework.clone(), task.clone()))?;
        if is_terminal(record.state) || (record.killing && !is_terminal(state)) {
            return None;
        }
        record.state = state;
        record.next = None;
        let record = record.clone();
        Some(self.transitioned(record, message))
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
        assert_eq!(states(&table.advance(ms(10))), [TaskState::TaskStarting]);
        assert_eq!(states(&table.advance(ms(20))), [TaskState::TaskRunning]);
        assert_eq!(table.next_deadline(), Some(ms(120)));
        let done = table.advance(ms(500));
        assert_eq!(states(&done), [TaskState::TaskFinished]);
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
            [
                TaskState::TaskStarting,
                TaskState::TaskRunning,
                TaskState::TaskFinished
            ]
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
        assert_eq!(table.get(&fw, &t).unwrap().state, TaskState::TaskKilling);
        assert_eq!(
            table.kill(ms(101), &fw, &t, None, true),
            KillOutcome::AlreadyKilling
        );
        assert_eq!(states(&table.advance(ms(120))), [TaskState::TaskKilled]);
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
        assert_eq!(table.get(&fw, &u).unwrap().state, TaskState::TaskStaging);
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
            .report_external(&fw, &t, TaskState::TaskRunning, None)
            .unwrap();
        assert_eq!(
            (step.state, step.freed.is_empty()),
            (TaskState::TaskRunning, true)
        );
        assert!(table.mark_killing(&fw, &t, true));
        assert!(!table.mark_killing(&fw, &t, true), "already killing");
        assert_eq!(table.get(&fw, &t).unwrap().state, TaskState::TaskKilling);
        assert!(
            table
                .report_external(&fw, &t, TaskState::TaskRunning, None)
                .is_none(),
            "a late RUNNING does not undo KILLING"
        );
        let done = table
            .report_external(&fw, &t, TaskState::TaskKilled, Some("bye".into()))
            .unwrap();
        assert_eq!(done.freed, Resources::new().with_cpus(1.0));
        assert!(table
            .report_external(&fw, &t, TaskState::TaskFailed, None)
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
