//! The SDK runtime's share: a framework launches `n` tasks that run until
//! killed on an in-memory master; once all are RUNNING (and their updates
//! acknowledged) the heap is read, then the framework tears down.

use std::time::Duration;

use async_trait::async_trait;
use corral::{CommandInfo, Driver, Framework, FrameworkInfo, Offer, Resources, Role};
use corral::{Scheduler, TaskInfo, TaskState, TaskStatus};
use corral_testkit::master::{MasterConfig, MockMaster};

struct Hold {
    n: usize,
    launched: bool,
    running: usize,
    bytes: Option<usize>,
}

#[async_trait]
impl Scheduler for Hold {
    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
        if self.launched {
            return;
        }
        let Some(offer) = offers.first() else { return };
        let tasks = (0..self.n)
            .map(|i| {
                TaskInfo::new(format!("task-{i:06}"))
                    .with_resources(Resources::new().with_cpus(0.01).with_mem(1.0))
                    .with_command(CommandInfo::shell("run-until-killed"))
            })
            .collect();
        self.launched = true;
        driver.launch(offer, tasks).await.expect("launch");
    }

    async fn status_update(&mut self, driver: &dyn Driver, status: &TaskStatus) {
        if status.state != TaskState::Running {
            return;
        }
        self.running += 1;
        if self.running == self.n {
            // Let the last acknowledgements through before reading.
            tokio::time::sleep(Duration::from_millis(50)).await;
            self.bytes = Some(crate::live_bytes());
            driver.teardown().await.expect("teardown");
        }
    }

    fn wants_offers(&self, _role: &Role) -> Option<bool> {
        Some(!self.launched)
    }
}

async fn held(n: usize) -> usize {
    let config = MasterConfig::default()
        .agents(
            1,
            Resources::parse("cpus:100000;mem:10000000").expect("resources"),
        )
        .sim_step(Duration::ZERO);
    let master = MockMaster::start_in_memory(config).await.expect("master");
    let before = crate::live_bytes();
    let transport = master.transport().await.expect("transport");
    let mut hold = Hold {
        n,
        launched: false,
        running: 0,
        bytes: None,
    };
    Framework::new(FrameworkInfo::new("mem").with_roles(["web"]), transport)
        .run(&mut hold)
        .await
        .expect("run");
    master.shutdown().await.expect("shutdown");
    hold.bytes.expect("all running").saturating_sub(before)
}

/// Bytes per live task of framework and master together (slope between
/// `small` and `large` tasks).
pub async fn per_live_task(small: usize, large: usize) -> f64 {
    let a = held(small).await;
    let b = held(large).await;
    (b as f64 - a as f64) / (large - small) as f64
}
