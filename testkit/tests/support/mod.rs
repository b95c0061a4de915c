//! A small framework for the harness's tests: it launches a list of
//! simulated tasks wherever they fit, remembers every state it was told,
//! and asks for offers only while it has work waiting.

#![allow(dead_code)]

pub mod tenant;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use corral::{
    Capability, CommandInfo, Driver, FrameworkInfo, KillPolicy, Offer, Resources, Role, Scheduler,
    TaskId, TaskInfo, TaskState, TaskStatus,
};

/// One task to run.
#[derive(Clone, Debug)]
pub struct Job {
    pub id: String,
    pub cpus: f64,
    /// Run time; `None`: until killed.
    pub run_ms: Option<u64>,
    /// Time to stop once killed.
    pub cleanup_ms: u64,
    /// Kill grace period.
    pub grace_ms: Option<u64>,
}

impl Job {
    pub fn new(id: impl Into<String>, cpus: f64, run_ms: Option<u64>) -> Self {
        Job {
            id: id.into(),
            cpus,
            run_ms,
            cleanup_ms: 0,
            grace_ms: None,
        }
    }

    pub fn cleanup(mut self, cleanup_ms: u64, grace_ms: u64) -> Self {
        self.cleanup_ms = cleanup_ms;
        self.grace_ms = Some(grace_ms);
        self
    }

    fn task(&self) -> TaskInfo {
        let mut task = TaskInfo::new(self.id.as_str())
            .with_resources(Resources::new().with_cpus(self.cpus).with_mem(32.0))
            .with_command(CommandInfo::shell("simulated"))
            .with_label("corral.sim/cleanup", self.cleanup_ms.to_string());
        if let Some(ms) = self.run_ms {
            task = task.with_label("corral.sim/duration", ms.to_string());
        }
        if let Some(grace) = self.grace_ms {
            task.kill_policy = Some(KillPolicy::grace(Duration::from_millis(grace)));
        }
        task
    }
}

/// What the workload saw; shared with the test.
#[derive(Debug, Default)]
pub struct Seen {
    pub states: BTreeMap<String, Vec<TaskState>>,
    pub launched: Vec<String>,
    pub subscriptions: u32,
}

impl Seen {
    pub fn last(&self, task: &str) -> Option<TaskState> {
        self.states.get(task).and_then(|s| s.last().copied())
    }

    pub fn ended(&self) -> usize {
        self.states
            .values()
            .filter(|s| s.last().is_some_and(|s| s.is_terminal()))
            .count()
    }
}

/// The framework.
pub struct Workload {
    pub pending: VecDeque<Job>,
    pub seen: Arc<Mutex<Seen>>,
    /// Relaunch tasks that end other than FINISHED or KILLED.
    pub retry_failed: bool,
    /// Also launch on revocable (borrowed) resources; the framework needs
    /// the REVOCABLE_RESOURCES capability to be offered any.
    pub borrow: bool,
    jobs: BTreeMap<String, Job>,
}

impl Workload {
    pub fn new(jobs: Vec<Job>) -> (Self, Arc<Mutex<Seen>>) {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let workload = Workload {
            jobs: jobs.iter().map(|j| (j.id.clone(), j.clone())).collect(),
            pending: jobs.into(),
            seen: seen.clone(),
            retry_failed: false,
            borrow: false,
        };
        (workload, seen)
    }
}

#[async_trait]
impl Scheduler for Workload {
    async fn subscribed(&mut self, _: &dyn Driver, _: &corral::Subscribed) {
        self.seen.lock().unwrap().subscriptions += 1;
    }

    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
        for offer in offers {
            let mut tasks = Vec::new();
            // Regular resources first, then borrowed ones (each task all
            // of one kind).
            let kinds = [(offer.regular(), false), (offer.revocable(), true)];
            for (mut left, revocable) in kinds {
                if revocable && !self.borrow {
                    continue;
                }
                while let Some(job) = self.pending.front() {
                    let mut task = job.task();
                    if revocable {
                        task.resources = task.resources.revocable();
                    }
                    let Some(rest) = left.checked_sub(&task.resources) else {
                        break;
                    };
                    left = rest;
                    tasks.push(task);
                    self.pending.pop_front();
                }
            }
            if tasks.is_empty() {
                continue;
            }
            let ids: Vec<String> = tasks.iter().map(|t| t.id.as_str().to_owned()).collect();
            let batch: Vec<Job> = ids
                .iter()
                .map(|id| {
                    let base = id.split('#').next().unwrap_or(id);
                    let mut job = self.jobs[base].clone();
                    job.id = id.clone();
                    job
                })
                .collect();
            match driver.launch(&offer, tasks).await {
                Ok(()) => self.seen.lock().unwrap().launched.extend(ids),
                Err(_) => {
                    // The offer is gone (disconnected, rescinded): try again
                    // on a later one.
                    for job in batch.into_iter().rev() {
                        self.pending.push_front(job);
                    }
                }
            }
        }
    }

    async fn status_update(&mut self, _: &dyn Driver, status: &TaskStatus) {
        self.seen
            .lock()
            .unwrap()
            .states
            .entry(status.task_id.as_str().to_owned())
            .or_default()
            .push(status.state);
        let retry = self.retry_failed
            && status.state.is_terminal()
            && !matches!(status.state, TaskState::Finished | TaskState::Killed);
        if retry {
            // A new run gets a new id: `t-3`, then `t-3#1`, `t-3#2`...
            let id = status.task_id.as_str();
            let (base, attempt) = match id.split_once('#') {
                Some((base, n)) => (base, n.parse::<u32>().unwrap_or(0) + 1),
                None => (id, 1),
            };
            if let Some(job) = self.jobs.get(base) {
                let mut again = job.clone();
                again.id = format!("{base}#{attempt}");
                self.pending.push_back(again);
            }
        }
    }

    fn wants_offers(&self, _: &Role) -> Option<bool> {
        Some(!self.pending.is_empty())
    }
}

/// A framework info for the workload in `role`.
pub fn info(name: &str, role: &str) -> FrameworkInfo {
    FrameworkInfo::new(name).with_roles([role])
}

/// The same, PARTITION_AWARE.
pub fn partition_aware(name: &str, role: &str) -> FrameworkInfo {
    info(name, role).with_capability(Capability::PartitionAware)
}

pub fn task(id: &str) -> TaskId {
    TaskId::new(id)
}

pub fn jobs(prefix: &str, count: usize, cpus: f64, run_ms: Option<u64>) -> Vec<Job> {
    (0..count)
        .map(|i| Job::new(format!("{prefix}-{i}"), cpus, run_ms))
        .collect()
}
