//! Kill latency on a local agent: tasks that ignore SIGTERM are killed one
//! after another with a short grace period; each figure is the time from
//! the KILL call to the TASK_KILLED update, less the grace period (what the
//! agent adds once the grace period is over: SIGKILL, reaping, the update's
//! way back).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use corral::{CommandInfo, Driver, Offer, Resources, Role, Scheduler, TaskId, TaskInfo};
use corral::{TaskState, TaskStatus};

/// The command of every task: ignores SIGTERM, then says it is ready.
const STUBBORN: &str = "trap '' TERM; echo ready; while :; do sleep 0.05; done";
/// How long a task may take to print `ready`.
const READY_LIMIT: Duration = Duration::from_secs(10);

/// The kill scheduler. See the module docs.
pub struct Killer {
    runs: usize,
    grace: Duration,
    launched: bool,
    running: Vec<(TaskId, Option<PathBuf>)>,
    killing: Option<(usize, Instant)>,
    /// Past-grace latencies, one per kill.
    pub past_grace: Vec<Duration>,
    /// Tasks that ended otherwise than killed.
    pub unexpected: usize,
}

impl Killer {
    /// `runs` kills with `grace` each.
    pub fn new(runs: usize, grace: Duration) -> Self {
        Killer {
            runs,
            grace,
            launched: false,
            running: Vec::new(),
            killing: None,
            past_grace: Vec::new(),
            unexpected: 0,
        }
    }

    async fn kill_next(&mut self, driver: &dyn Driver) {
        let next = self.killing.map_or(0, |(i, _)| i + 1);
        let Some((id, stdout)) = self.running.get(next).cloned() else {
            if let Err(e) = driver.teardown().await {
                eprintln!("loop-bench: teardown failed: {e}");
            }
            return;
        };
        // The signal must find the task past its `trap`.
        if let Some(stdout) = stdout {
            let limit = Instant::now() + READY_LIMIT;
            while !tokio::fs::read_to_string(&stdout)
                .await
                .is_ok_and(|t| t.contains("ready"))
                && Instant::now() < limit
            {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        self.killing = Some((next, Instant::now()));
        if let Err(e) = driver.kill(&id, Some(self.grace)).await {
            eprintln!("loop-bench: kill failed: {e}");
        }
    }
}

#[async_trait]
impl Scheduler for Killer {
    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
        if self.launched {
            return;
        }
        let Some(offer) = offers.first() else { return };
        let tasks: Vec<TaskInfo> = (0..self.runs)
            .map(|i| {
                TaskInfo::new(format!("k{i}"))
                    .with_resources(Resources::new().with_cpus(0.1).with_mem(16.0))
                    .with_command(CommandInfo::shell(STUBBORN))
                    .with_grace_period(self.grace)
            })
            .collect();
        self.launched = true;
        if let Err(e) = driver.launch(offer, tasks).await {
            eprintln!("loop-bench: launch failed: {e}");
            self.launched = false;
        }
    }

    async fn status_update(&mut self, driver: &dyn Driver, status: &TaskStatus) {
        match status.state {
            TaskState::Running => {
                let stdout = status.stdout_path().map(PathBuf::from);
                self.running.push((status.task_id.clone(), stdout));
                if self.running.len() == self.runs && self.killing.is_none() {
                    self.kill_next(driver).await;
                }
            }
            TaskState::Killed => {
                if let Some((i, asked)) = self.killing {
                    if self.running[i].0 == status.task_id {
                        self.past_grace
                            .push(asked.elapsed().saturating_sub(self.grace));
                        self.kill_next(driver).await;
                    }
                }
            }
            state if state.is_terminal() => {
                self.unexpected += 1;
                eprintln!("loop-bench: {} ended {state:?}", status.task_id);
                if let Err(e) = driver.teardown().await {
                    eprintln!("loop-bench: teardown failed: {e}");
                }
            }
            _ => {}
        }
    }

    fn wants_offers(&self, _role: &Role) -> Option<bool> {
        Some(!self.launched)
    }
}
