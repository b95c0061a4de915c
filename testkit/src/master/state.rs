//! A snapshot of the master's books, for assertions in tests: frameworks,
//! tasks, outstanding offers, per-agent totals and allocations, revocation
//! notices and maintenance.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use corral::{AgentId, FrameworkId, OfferId, Resources, Role, TaskId};

use super::books::agents::maintenance::Maintenance;
use super::books::revocations::Notice;
use super::config::AgentKind;
use super::core::MasterCore;
use super::effects::StreamId;

/// Everything the master knows, at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct MasterState {
    /// Time since the master started.
    pub now: Duration,
    /// Known frameworks (connected or within their failover timeout), by id.
    pub frameworks: Vec<FrameworkSnapshot>,
    /// Frameworks that were torn down or timed out, by id.
    pub removed_frameworks: Vec<FrameworkId>,
    /// Tasks of known frameworks (terminal ones included), by framework and id.
    pub tasks: Vec<TaskSnapshot>,
    /// Outstanding offers, by id.
    pub offers: Vec<OfferSnapshot>,
    /// Agents, by id.
    pub agents: Vec<AgentSnapshot>,
    /// Outstanding revocation notices, by id.
    pub notices: Vec<Notice>,
    /// Scheduled maintenance, by agent.
    pub maintenance: BTreeMap<AgentId, Maintenance>,
}

/// One framework.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameworkSnapshot {
    /// Its id.
    pub id: FrameworkId,
    /// Its name.
    pub name: String,
    /// Its roles.
    pub roles: BTreeSet<Role>,
    /// Its suppressed roles.
    pub suppressed: BTreeSet<Role>,
    /// Whether its event stream is open.
    pub active: bool,
    /// Its current stream id, if connected.
    pub stream_id: Option<String>,
    /// Status updates waiting for its acknowledgement.
    pub pending_updates: usize,
    /// What it asked for with REQUEST, per role.
    pub requests: BTreeMap<Role, Resources>,
}

/// One task.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskSnapshot {
    /// Its framework.
    pub framework: FrameworkId,
    /// Its id.
    pub id: TaskId,
    /// Where it runs.
    pub agent: AgentId,
    /// The role of its resources.
    pub role: Role,
    /// The latest state generated for it.
    pub state: corral::TaskState,
    /// Its resources (without its executor's).
    pub resources: Resources,
    /// Its sandbox directory, for a task on a local agent that has made it.
    pub sandbox: Option<PathBuf>,
}

/// One outstanding offer.
#[derive(Clone, Debug, PartialEq)]
pub struct OfferSnapshot {
    /// Its id.
    pub id: OfferId,
    /// Who it was made to.
    pub framework: FrameworkId,
    /// Where.
    pub agent: AgentId,
    /// Under which role.
    pub role: Role,
    /// What (allocated form).
    pub resources: Resources,
}

/// One agent.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentSnapshot {
    /// Its id.
    pub id: AgentId,
    /// Its hostname.
    pub hostname: String,
    /// Everything it has.
    pub total: Resources,
    /// What is offered or used by tasks (unallocated form).
    pub allocated: Resources,
    /// Lost to a partition (a fault the testkit injected): nothing on it
    /// is offered or counted until it comes back.
    pub lost: bool,
    /// Simulated, or local (with its work directory).
    pub kind: AgentKind,
}

impl MasterState {
    /// The framework `id`.
    pub fn framework(&self, id: &FrameworkId) -> Option<&FrameworkSnapshot> {
        self.frameworks.iter().find(|f| &f.id == id)
    }

    /// The task `task` of `framework`.
    pub fn task(&self, framework: &FrameworkId, task: &TaskId) -> Option<&TaskSnapshot> {
        self.tasks
            .iter()
            .find(|t| &t.framework == framework && &t.id == task)
    }

    /// The outstanding offers made to `framework`.
    pub fn offers_of<'a>(
        &'a self,
        framework: &'a FrameworkId,
    ) -> impl Iterator<Item = &'a OfferSnapshot> + 'a {
        self.offers
            .iter()
            .filter(move |o| &o.framework == framework)
    }

    /// The agent `id`.
    pub fn agent(&self, id: &AgentId) -> Option<&AgentSnapshot> {
        self.agents.iter().find(|a| &a.id == id)
    }
}

impl MasterCore {
    /// Whether a task has a state change scheduled (starting, running for
    /// a while, stopping).
    pub fn has_pending_transitions(&self) -> bool {
        self.tasks.next_deadline().is_some()
    }

    /// Whether every status update has been acknowledged.
    pub fn all_updates_acknowledged(&self) -> bool {
        self.updates.is_empty()
    }

    /// The current stream of `fw`, if it is connected.
    pub fn stream_of(&self, fw: &FrameworkId) -> Option<StreamId> {
        self.frameworks.stream_of(fw).cloned()
    }

    /// Whether `fw` is subscribed or within its failover timeout.
    pub fn is_registered(&self, fw: &FrameworkId) -> bool {
        self.frameworks.contains(fw)
    }

    /// How many tasks the master has on its books: the live ones and the
    /// completed ones its bounded history keeps.
    pub fn task_count(&self) -> usize {
        self.tasks.live_count() + self.tasks.completed_count()
    }

    /// How many tasks were ever launched (never decreases).
    pub fn launch_count(&self) -> u64 {
        self.tasks.launches()
    }

    /// A snapshot of the books.
    pub fn state(&self, now: Duration) -> MasterState {
        let frameworks = self
            .frameworks
            .iter()
            .map(|r| FrameworkSnapshot {
                id: r.id.clone(),
                name: r.identity.name.clone(),
                roles: r.roles.clone(),
                suppressed: r.suppressed.clone(),
                active: r.stream().is_some(),
                stream_id: r.stream().map(ToString::to_string),
                pending_updates: self.updates.pending_count(&r.id),
                requests: r.requests.clone(),
            })
            .collect();
        let tasks = self
            .tasks
            .iter()
            .map(|t| TaskSnapshot {
                framework: t.framework.clone(),
                id: t.id.clone(),
                agent: t.agent.clone(),
                role: t.role.clone(),
                state: t.state,
                resources: t.resources.clone(),
                sandbox: self.sandbox(&t.framework, &t.id).map(|s| s.dir.clone()),
            })
            .collect();
        let offers = self
            .offers
            .iter()
            .map(|o| OfferSnapshot {
                id: o.id.clone(),
                framework: o.framework.clone(),
                agent: o.agent.clone(),
                role: o.role.clone(),
                resources: o.resources.clone(),
            })
            .collect();
        let agents = self
            .agents
            .specs()
            .map(|a| {
                let available = self.allocator.available(&a.id).unwrap_or_default();
                // The allocator's total carries reservations made since.
                let total = self
                    .allocator
                    .total(&a.id)
                    .cloned()
                    .unwrap_or_else(|| a.resources.clone());
                AgentSnapshot {
                    id: a.id.clone(),
                    hostname: a.hostname.clone(),
                    allocated: total.checked_sub(&available).unwrap_or_default(),
                    total,
                    lost: self.agents.is_lost(&a.id),
                    kind: a.kind.clone(),
                }
            })
            .collect();
        MasterState {
            now,
            frameworks,
            removed_frameworks: self.frameworks.removed().cloned().collect(),
            tasks,
            offers,
            agents,
            notices: self.revocations.iter().cloned().collect(),
            maintenance: self.agents.all_maintenance(),
        }
    }
}
