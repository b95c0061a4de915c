//! A tenant's framework for the sharing tests: keeps `want` one-CPU tasks
//! running in its role (regular resources first, then revocable ones when
//! it may borrow), tells the master what it wants with REQUEST, stays off
//! agents with a maintenance window, and records every revocation notice
//! and inverse offer it gets.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use corral::{
    AgentId, Capability, CommandInfo, Driver, FrameworkInfo, InverseOffer, Offer, Resources,
    RevocationNotice, Role, Scheduler, TaskId, TaskInfo, TaskState, TaskStatus,
};

/// How a tenant answers maintenance inverse offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnMaintenance {
    /// Accept, and move its tasks off the agent now.
    Move,
    /// Decline: its tasks stay until the agent is drained.
    Stay,
}

/// What the tenant saw; shared with the test.
#[derive(Debug, Default)]
pub struct TenantLog {
    /// Live tasks: id -> (agent, revocable).
    pub live: BTreeMap<TaskId, (AgentId, bool)>,
    /// Every state seen, per task.
    pub states: BTreeMap<TaskId, Vec<TaskState>>,
    /// Revocation notices, with the virtual time they arrived.
    pub notices: Vec<(Duration, RevocationNotice)>,
    /// Maintenance inverse offers.
    pub inverse_offers: Vec<InverseOffer>,
    /// Inverse offers rescinded.
    pub rescinded: Vec<corral::OfferId>,
}

impl TenantLog {
    /// Live tasks on regular resources.
    pub fn regular(&self) -> usize {
        self.live.values().filter(|(_, r)| !r).count()
    }

    /// Live tasks on revocable resources.
    pub fn revocable(&self) -> usize {
        self.live.values().filter(|(_, r)| *r).count()
    }
}

/// The framework.
pub struct Tenant {
    role: Role,
    prefix: String,
    /// How many tasks it wants running; the test changes it.
    pub want: Arc<Mutex<usize>>,
    /// What it saw.
    pub log: Arc<Mutex<TenantLog>>,
    borrow: bool,
    cleanup_ms: u64,
    grace: Duration,
    maintenance: OnMaintenance,
    started: tokio::time::Instant,
    next: usize,
}

impl Tenant {
    /// A tenant of `role` wanting `want` tasks; tasks take `cleanup_ms` to
    /// stop once killed, within a `grace` kill grace period.
    pub fn new(role: &str, want: usize, cleanup_ms: u64, grace: Duration) -> Self {
        Tenant {
            role: Role::from(role),
            prefix: role.replace('/', "-"),
            want: Arc::new(Mutex::new(want)),
            log: Arc::new(Mutex::new(TenantLog::default())),
            borrow: false,
            cleanup_ms,
            grace,
            maintenance: OnMaintenance::Stay,
            started: tokio::time::Instant::now(),
            next: 0,
        }
    }

    /// Also runs tasks on revocable (borrowed) resources.
    pub fn borrowing(mut self) -> Self {
        self.borrow = true;
        self
    }

    /// Answers maintenance inverse offers so.
    pub fn on_maintenance(mut self, how: OnMaintenance) -> Self {
        self.maintenance = how;
        self
    }

    /// Its FrameworkInfo (REVOCABLE_RESOURCES when borrowing).
    pub fn info(&self) -> FrameworkInfo {
        let info = FrameworkInfo::new(format!("tenant-{}", self.prefix))
            .with_roles([self.role.as_str()])
            .with_capability(Capability::TaskKillingState);
        if self.borrow {
            info.with_capability(Capability::RevocableResources)
        } else {
            info
        }
    }

    fn task(&mut self, resources: Resources) -> TaskInfo {
        self.next += 1;
        TaskInfo::new(format!("{}-{}", self.prefix, self.next))
            .with_resources(resources)
            .with_command(CommandInfo::shell("simulated"))
            .with_label("corral.sim/cleanup", self.cleanup_ms.to_string())
            .with_grace_period(self.grace)
    }

    fn missing(&self) -> usize {
        let want = *self.want.lock().unwrap();
        want.saturating_sub(self.log.lock().unwrap().live.len())
    }
}

#[async_trait]
impl Scheduler for Tenant {
    async fn subscribed(&mut self, driver: &dyn Driver, _: &corral::Subscribed) {
        let want = *self.want.lock().unwrap() as f64;
        let _ = driver
            .request(&self.role, &Resources::new().with_cpus(want))
            .await;
    }

    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
        let one = Resources::new().with_cpus(1.0);
        for offer in offers {
            if offer.unavailability.is_some() {
                continue;
            }
            let mut tasks = Vec::new();
            let mut kinds = Vec::new();
            for (mut left, revocable) in [(offer.regular(), false), (offer.revocable(), true)] {
                if revocable && !self.borrow {
                    continue;
                }
                let unit = if revocable {
                    one.revocable()
                } else {
                    one.clone()
                };
                while self.missing() > tasks.len() {
                    let Some(rest) = left.checked_sub(&unit) else {
                        break;
                    };
                    left = rest;
                    tasks.push(self.task(unit.clone()));
                    kinds.push(revocable);
                }
            }
            // One kind per launch is not required, but keep the log simple.
            if tasks.is_empty() {
                continue;
            }
            let ids: Vec<TaskId> = tasks.iter().map(|t| t.id.clone()).collect();
            if driver.launch(&offer, tasks).await.is_ok() {
                let mut log = self.log.lock().unwrap();
                for (id, revocable) in ids.into_iter().zip(kinds) {
                    log.live.insert(id, (offer.agent_id.clone(), revocable));
                }
            }
        }
    }

    async fn status_update(&mut self, _: &dyn Driver, status: &TaskStatus) {
        let mut log = self.log.lock().unwrap();
        log.states
            .entry(status.task_id.clone())
            .or_default()
            .push(status.state);
        if status.state.is_terminal() {
            log.live.remove(&status.task_id);
        }
    }

    async fn revocation(&mut self, driver: &dyn Driver, notice: RevocationNotice) {
        let at = self.started.elapsed();
        self.log.lock().unwrap().notices.push((at, notice.clone()));
        // What the default does: release gracefully at once.
        let _ = driver.release(&notice).await;
    }

    async fn inverse_offers(&mut self, driver: &dyn Driver, offers: Vec<InverseOffer>) {
        for offer in offers {
            self.log.lock().unwrap().inverse_offers.push(offer.clone());
            match self.maintenance {
                OnMaintenance::Stay => {
                    let _ = driver
                        .decline_inverse_offers(std::slice::from_ref(&offer.id))
                        .await;
                }
                OnMaintenance::Move => {
                    let _ = driver
                        .accept_inverse_offers(std::slice::from_ref(&offer.id))
                        .await;
                    let leaving: Vec<TaskId> = {
                        let log = self.log.lock().unwrap();
                        log.live
                            .iter()
                            .filter(|(_, (agent, _))| Some(agent) == offer.agent_id.as_ref())
                            .map(|(id, _)| id.clone())
                            .collect()
                    };
                    for task in leaving {
                        let _ = driver.kill(&task, None).await;
                    }
                }
            }
        }
    }

    async fn inverse_offer_rescinded(&mut self, _: &dyn Driver, offer: &corral::OfferId) {
        self.log.lock().unwrap().rescinded.push(offer.clone());
    }

    fn wants_offers(&self, _: &Role) -> Option<bool> {
        Some(self.missing() > 0)
    }
}
