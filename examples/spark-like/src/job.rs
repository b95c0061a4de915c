//! The batch job: a queue of short tasks, packed onto offers as they come,
//! retried when they fail, finished when every task has finished.
//!
//! The decision logic is [`plan`], a pure function from (offer, queue) to
//! the tasks to launch there, so it is tested without a master; the
//! [`BatchJob`] scheduler around it only does bookkeeping.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use corral::{
    CommandInfo, Driver, Offer, Resources, Role, Scheduler, TaskId, TaskInfo, TaskState, TaskStatus,
};
use tokio::time::Instant;

/// How many times a failed task is retried before the job gives up on it.
pub const MAX_ATTEMPTS: u32 = 3;

/// One unit of work in the batch.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkItem {
    /// Its index in the batch (0-based).
    pub index: usize,
    /// Which attempt this is (1-based).
    pub attempt: u32,
}

/// What every task of the job asks for and runs.
#[derive(Clone, Debug)]
pub struct TaskShape {
    /// Resources per task.
    pub resources: Resources,
    /// How long a simulated task runs (the mock master reads it from a label).
    pub duration: Duration,
    /// The shell command a real agent would run.
    pub command: String,
}

impl WorkItem {
    fn task_id(&self) -> TaskId {
        TaskId::new(format!("task-{:04}-try{}", self.index, self.attempt))
    }

    fn to_task(&self, shape: &TaskShape) -> TaskInfo {
        TaskInfo::new(self.task_id())
            .with_resources(shape.resources.clone())
            .with_command(CommandInfo::shell(shape.command.clone()))
            .with_label(
                "corral.sim/duration",
                shape.duration.as_millis().to_string(),
            )
            .with_grace_period(Duration::from_secs(2))
    }
}

/// Takes as many items from the front of `queue` as fit in `offer`'s
/// regular resources, in queue order, and returns them as tasks.
pub fn plan(
    offer: &Offer,
    queue: &mut VecDeque<WorkItem>,
    shape: &TaskShape,
) -> Vec<(WorkItem, TaskInfo)> {
    let mut left = offer.regular();
    let mut out = Vec::new();
    while let Some(item) = queue.front() {
        match left.checked_sub(&shape.resources) {
            Some(rest) => {
                left = rest;
                let task = item.to_task(shape);
                out.push((item.clone(), task));
                queue.pop_front();
            }
            None => break,
        }
    }
    out
}

/// Where the job stands, for the summary.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Tasks that finished, with the agent each ran on.
    pub finished: BTreeMap<usize, String>,
    /// Where each finished task's standard output is, when its agent says
    /// (local agents do; simulated ones have no files).
    pub logs: BTreeMap<usize, PathBuf>,
    /// Items that failed every attempt.
    pub gave_up: Vec<usize>,
    /// Failed attempts that were retried.
    pub retries: u32,
    /// Launch calls made (one per offer used).
    pub launches: u32,
    /// Offers received.
    pub offers: u32,
    /// Time from the first offer to the last task's end.
    pub elapsed: Duration,
}

/// The scheduler: owns the queue and the running set.
pub struct BatchJob {
    shape: TaskShape,
    queue: VecDeque<WorkItem>,
    running: BTreeMap<TaskId, (WorkItem, String)>,
    total: usize,
    report: Report,
    started: Option<Instant>,
}

impl BatchJob {
    /// A job of `tasks` items of the given shape.
    pub fn new(tasks: usize, shape: TaskShape) -> Self {
        BatchJob {
            shape,
            queue: (0..tasks)
                .map(|index| WorkItem { index, attempt: 1 })
                .collect(),
            running: BTreeMap::new(),
            total: tasks,
            report: Report::default(),
            started: None,
        }
    }

    /// True when every item has finished or been given up on.
    pub fn done(&self) -> bool {
        self.report.finished.len() + self.report.gave_up.len() == self.total
    }

    /// The report so far.
    pub fn report(&self) -> &Report {
        &self.report
    }

    fn settle(&mut self, item: WorkItem, agent: String, status: &TaskStatus) {
        match status.state {
            TaskState::Finished => {
                self.report.finished.insert(item.index, agent);
                if let Some(stdout) = status.stdout_path() {
                    self.report.logs.insert(item.index, stdout.to_owned());
                }
            }
            _ if item.attempt < MAX_ATTEMPTS => {
                tracing::info!(task = %status.task_id, state = ?status.state, message = ?status.message, "task failed; retrying");
                self.report.retries += 1;
                self.queue.push_back(WorkItem {
                    index: item.index,
                    attempt: item.attempt + 1,
                });
            }
            _ => {
                tracing::warn!(task = %status.task_id, state = ?status.state, "task failed {MAX_ATTEMPTS} times; giving up");
                self.report.gave_up.push(item.index);
            }
        }
    }
}

#[async_trait]
impl Scheduler for BatchJob {
    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
        self.started.get_or_insert_with(Instant::now);
        self.report.offers += offers.len() as u32;
        for offer in offers {
            let planned = plan(&offer, &mut self.queue, &self.shape);
            if planned.is_empty() {
                continue; // the runtime declines it
            }
            let (items, tasks): (Vec<WorkItem>, Vec<TaskInfo>) = planned.into_iter().unzip();
            match driver.launch(&offer, tasks).await {
                Ok(()) => {
                    self.report.launches += 1;
                    for item in items {
                        self.running
                            .insert(item.task_id(), (item, offer.hostname.clone()));
                    }
                }
                Err(e) => {
                    tracing::warn!(offer = %offer.id, error = %e, "launch failed; requeueing");
                    for item in items.into_iter().rev() {
                        self.queue.push_front(item);
                    }
                }
            }
        }
    }

    async fn status_update(&mut self, driver: &dyn Driver, status: &TaskStatus) {
        if !status.state.is_terminal() {
            return;
        }
        if let Some((item, agent)) = self.running.remove(&status.task_id) {
            self.settle(item, agent, status);
        }
        if self.done() {
            self.report.elapsed = self.started.map(|s| s.elapsed()).unwrap_or_default();
            // Everything ran: leave the cluster, nothing of ours is running.
            if let Err(e) = driver.teardown().await {
                tracing::warn!(error = %e, "teardown failed");
            }
        }
    }

    fn wants_offers(&self, _role: &Role) -> Option<bool> {
        // Offers only while something waits to run: suppressed otherwise.
        Some(!self.queue.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral::MockDriver;

    fn shape() -> TaskShape {
        TaskShape {
            resources: Resources::new().with_cpus(1.0).with_mem(128.0),
            duration: Duration::from_millis(100),
            command: "true".into(),
        }
    }

    fn offer(cpus: f64) -> Offer {
        Offer::new(
            "o1",
            "a1",
            Resources::new().with_cpus(cpus).with_mem(1024.0),
        )
        .with_role("batch")
        .with_framework("f")
        .with_hostname("host-a1")
    }

    #[test]
    fn plan_packs_what_fits_in_queue_order() {
        let mut queue: VecDeque<WorkItem> =
            (0..5).map(|index| WorkItem { index, attempt: 1 }).collect();
        let planned = plan(&offer(3.5), &mut queue, &shape());
        let indexes: Vec<usize> = planned.iter().map(|(i, _)| i.index).collect();
        assert_eq!(indexes, vec![0, 1, 2]);
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.front().unwrap().index, 3);
    }

    #[test]
    fn plan_never_takes_revocable_resources() {
        let mut lent = offer(0.0);
        lent.resources = Resources::new()
            .with_cpus(8.0)
            .with_mem(1024.0)
            .revocable()
            .allocated_to(&lent.role);
        let mut queue: VecDeque<WorkItem> =
            (0..2).map(|index| WorkItem { index, attempt: 1 }).collect();
        assert!(plan(&lent, &mut queue, &shape()).is_empty());
    }

    #[tokio::test]
    async fn offers_launch_through_the_driver_and_failures_retry() {
        let mut job = BatchJob::new(2, shape());
        let mut driver = MockDriver::new();
        driver
            .expect_launch()
            .withf(|offer, tasks| offer.id.as_str() == "o1" && tasks.len() == 2)
            .times(1)
            .returning(|_, _| Ok(()));
        job.offers(&driver, vec![offer(4.0)]).await;
        assert_eq!(
            job.wants_offers(&Role::from("batch")),
            Some(false),
            "queue empty: suppress"
        );

        let failed = TaskStatus::new("task-0000-try1", TaskState::Failed).with_message("exit 1");
        job.status_update(&driver, &failed).await;
        assert_eq!(job.report().retries, 1);

        let finished = TaskStatus::new("task-0001-try1", TaskState::Finished)
            .with_message("exit 1")
            .with_label(corral::task::STDOUT_LABEL, "/w/run/stdout");
        job.status_update(&driver, &finished).await;
        assert_eq!(
            job.report().logs.get(&1),
            Some(&PathBuf::from("/w/run/stdout"))
        );
        assert_eq!(
            job.wants_offers(&Role::from("batch")),
            Some(true),
            "a retry waits: revive"
        );
        assert!(!job.done());
    }
}
