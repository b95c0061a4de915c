//! Short tasks through the SDK: a batch scheduler that packs tasks onto
//! every offer and records, per task, the time from its offer's arrival to
//! its TASK_RUNNING update, and, per free, the wait from a task's end (its
//! terminal update) to the next offer. The same scheduler runs simulated
//! tasks (a run-time label) and real ones (a command).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use corral::{CommandInfo, Driver, Offer, Resources, Role, Scheduler, TaskId, TaskInfo};
use corral::{TaskState, TaskStatus};

/// What each task of a batch is.
#[derive(Clone, Debug)]
pub enum Work {
    /// A simulated task that runs this long.
    Simulated(Duration),
    /// A real program, run without a shell.
    Program(Vec<String>),
}

/// What a batch measured.
#[derive(Debug, Default)]
pub struct Measured {
    /// Offer arrival to the task's TASK_RUNNING update, per task.
    pub offer_to_running: Vec<Duration>,
    /// A task's terminal update to the next offer, per stretch of waiting.
    pub free_to_offer: Vec<Duration>,
    /// First offer to the last task's end.
    pub elapsed: Duration,
    /// Tasks that ended in TASK_FINISHED.
    pub finished: usize,
    /// Tasks that ended otherwise.
    pub failed: usize,
}

impl Measured {
    /// Finished tasks per second of `elapsed`.
    pub fn rate(&self) -> f64 {
        self.finished as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The batch scheduler. See the module docs.
pub struct Batch {
    total: usize,
    next: usize,
    ended: usize,
    /// At most this many tasks launched and not ended.
    max_running: usize,
    needs: Resources,
    work: Work,
    offered_at: HashMap<TaskId, Instant>,
    freed_at: Option<Instant>,
    first_offer: Option<Instant>,
    measured: Measured,
}

impl Batch {
    /// `total` tasks of `needs` each, as many at once as offers hold.
    pub fn new(total: usize, needs: Resources, work: Work) -> Self {
        Self::at_most(total, usize::MAX, needs, work)
    }

    /// `total` tasks of `needs` each, at most `max_running` at once (1:
    /// one task at a time, so nothing waits behind other tasks' events).
    pub fn at_most(total: usize, max_running: usize, needs: Resources, work: Work) -> Self {
        Batch {
            total,
            next: 0,
            ended: 0,
            max_running,
            needs,
            work,
            offered_at: HashMap::new(),
            freed_at: None,
            first_offer: None,
            measured: Measured::default(),
        }
    }

    /// What it measured (complete once the framework's run returned).
    pub fn into_measured(self) -> Measured {
        self.measured
    }

    fn task(&self, index: usize) -> TaskInfo {
        let task = TaskInfo::new(format!("t{index}")).with_resources(self.needs.clone());
        match &self.work {
            Work::Simulated(run_for) => task
                .with_command(CommandInfo::shell("true"))
                .simulated(corral::sim::SimulatedTask::runs_for(*run_for)),
            Work::Program(argv) => task.with_command(CommandInfo::argv(argv.clone())),
        }
    }
}

#[async_trait]
impl Scheduler for Batch {
    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
        let arrived = Instant::now();
        self.first_offer.get_or_insert(arrived);
        if let Some(freed) = self.freed_at.take() {
            self.measured.free_to_offer.push(arrived - freed);
        }
        for offer in offers {
            let mut left = offer.regular();
            let mut tasks = Vec::new();
            while self.next < self.total && self.next - self.ended < self.max_running {
                let Some(rest) = left.checked_sub(&self.needs) else {
                    break;
                };
                left = rest;
                tasks.push(self.task(self.next));
                self.next += 1;
            }
            if tasks.is_empty() {
                continue; // declined by the runtime
            }
            for task in &tasks {
                self.offered_at.insert(task.id.clone(), arrived);
            }
            if let Err(e) = driver.launch(&offer, tasks).await {
                eprintln!("loop-bench: launch failed: {e}");
            }
        }
    }

    async fn status_update(&mut self, driver: &dyn Driver, status: &TaskStatus) {
        let now = Instant::now();
        if status.state == TaskState::Running {
            if let Some(offered) = self.offered_at.remove(&status.task_id) {
                self.measured.offer_to_running.push(now - offered);
            }
        }
        if !status.state.is_terminal() {
            return;
        }
        self.offered_at.remove(&status.task_id);
        self.ended += 1;
        if status.state == TaskState::Finished {
            self.measured.finished += 1;
        } else {
            self.measured.failed += 1;
        }
        if self.next < self.total && self.freed_at.is_none() {
            self.freed_at = Some(now);
        }
        if self.ended == self.total {
            self.measured.elapsed = self.first_offer.map(|t| now - t).unwrap_or_default();
            if let Err(e) = driver.teardown().await {
                eprintln!("loop-bench: teardown failed: {e}");
            }
        }
    }

    fn wants_offers(&self, _role: &Role) -> Option<bool> {
        // Not suppressed while capped: a revive per task would wait for the
        // runtime's revive interval.
        Some(self.next < self.total)
    }
}
