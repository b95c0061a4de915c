//! One consistent look at the master, taken on the actor in one job: the
//! plain snapshot ([`MasterState`]), the operator's role and agent views,
//! the frameworks' identities, the counters and the timeline. Every
//! endpoint renders from an [`Observation`]; nothing here changes the core.

use std::collections::BTreeMap;
use std::time::Duration;

use corral::{FrameworkId, Resources, Role, TaskId};

use super::telemetry::{Counts, TimelineEntry};
use crate::master::core::MasterCore;
use crate::master::operator::views::{self, AgentResources, RoleInfo};
use crate::master::state::MasterState;

/// Who the master is.
#[derive(Clone, Debug, PartialEq)]
pub struct MasterFacts {
    /// Its id.
    pub id: String,
    /// Its hostname.
    pub hostname: String,
    /// Its port (0 when not listening on TCP).
    pub port: u32,
}

/// What a framework told the master about itself.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameworkFacts {
    /// The user its tasks run as.
    pub user: String,
    /// Its principal, if any.
    pub principal: Option<String>,
    /// Whether its agents checkpoint.
    pub checkpoint: bool,
    /// Its failover timeout (`None`: forever).
    pub failover_timeout: Option<Duration>,
    /// Its capabilities, by Mesos name (`MULTI_ROLE`, …).
    pub capabilities: Vec<&'static str>,
}

/// When a task was launched and by which executor.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskFacts {
    /// Its executor, if it has one.
    pub executor: Option<String>,
    /// When it was launched (master time).
    pub launched_at: Duration,
}

/// The depth of one subscription's event queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueDepth {
    /// The subscription's stream id.
    pub stream: String,
    /// Its framework, if known.
    pub framework: Option<FrameworkId>,
    /// Events waiting in it.
    pub depth: usize,
}

/// Everything the endpoints show, taken at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// Time since the master started.
    pub now: Duration,
    /// Who the master is.
    pub master: MasterFacts,
    /// Its settings, as Mesos-style flags (name → value).
    pub flags: BTreeMap<String, String>,
    /// The plain snapshot.
    pub state: MasterState,
    /// Per framework: its identity.
    pub frameworks: BTreeMap<FrameworkId, FrameworkFacts>,
    /// Per task: its launch facts.
    pub tasks: BTreeMap<(FrameworkId, TaskId), TaskFacts>,
    /// Every known role.
    pub roles: Vec<RoleInfo>,
    /// Every agent's resources.
    pub agents: Vec<AgentResources>,
    /// Per role: what others hold of its reservations as revocable
    /// resources (lent out).
    pub lent: BTreeMap<Role, Resources>,
    /// The counters.
    pub counts: Counts,
    /// Recent offers, revocations and kills, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// Per subscription: its event queue depth (filled by the server).
    pub queues: Vec<QueueDepth>,
}

fn capabilities(c: &crate::master::books::frameworks::Capabilities) -> Vec<&'static str> {
    let mut out = Vec::new();
    if c.revocable_resources {
        out.push("REVOCABLE_RESOURCES");
    }
    if c.task_killing_state {
        out.push("TASK_KILLING_STATE");
    }
    if c.partition_aware {
        out.push("PARTITION_AWARE");
    }
    if c.multi_role {
        out.push("MULTI_ROLE");
    }
    out
}

fn secs(d: Duration) -> String {
    format!("{}secs", d.as_secs_f64())
}

fn flags(core: &MasterCore) -> BTreeMap<String, String> {
    let c = core.config();
    let mut out = BTreeMap::new();
    out.insert("allocation_interval".into(), secs(c.allocation_interval));
    out.insert("allocator".into(), "HierarchicalDRF".into());
    out.insert(
        "offer_timeout".into(),
        c.offer_timeout.map_or_else(String::new, secs),
    );
    out.insert(
        "max_completed_frameworks".into(),
        c.max_completed_frameworks.to_string(),
    );
    out.insert(
        "max_completed_tasks_per_framework".into(),
        c.max_completed_tasks_per_framework.to_string(),
    );
    out.insert("hostname".into(), c.hostname.clone());
    out.insert("framework_sorter".into(), "drf".into());
    out
}

/// Looks at `core` at `now` (the queue depths are left empty: the server
/// owns the queues).
pub fn observe(core: &MasterCore, now: Duration) -> Observation {
    let state = core.state(now);
    let frameworks = core
        .frameworks
        .iter()
        .map(|r| {
            (
                r.id.clone(),
                FrameworkFacts {
                    user: r.identity.user.clone(),
                    principal: r.identity.principal.clone(),
                    checkpoint: r.identity.checkpoint,
                    failover_timeout: r.failover_timeout,
                    capabilities: capabilities(&r.capabilities),
                },
            )
        })
        .collect();
    let tasks = core
        .tasks
        .iter()
        .map(|t| {
            (
                (t.framework.clone(), t.id.clone()),
                TaskFacts {
                    executor: t.executor.as_ref().map(|e| e.as_str().to_owned()),
                    launched_at: t.launched_at,
                },
            )
        })
        .collect();
    let mut lent: BTreeMap<Role, Resources> = BTreeMap::new();
    for fw in core.frameworks.ids() {
        for r in core.allocator.allocated(fw).only_revocable().iter() {
            if let Some(owner) = &r.reservation {
                lent.entry(owner.clone()).or_default().push(r.clone());
            }
        }
    }
    Observation {
        now,
        master: MasterFacts {
            id: core.master_info().id.clone(),
            hostname: core.config().hostname.clone(),
            port: u32::from(core.master_info().port),
        },
        flags: flags(core),
        state,
        frameworks,
        tasks,
        roles: views::roles(core),
        agents: views::all_agent_resources(core),
        lent,
        counts: core.telemetry().counts(),
        timeline: core.telemetry().timeline().cloned().collect(),
        queues: Vec::new(),
    }
}
