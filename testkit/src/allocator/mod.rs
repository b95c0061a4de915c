//! The allocator: decides which framework is offered which agent's
//! resources. A pure core (no IO, no clock, no async) driven by the mock
//! master, modelled on the Mesos hierarchical DRF allocator with quota
//! (guarantees and limits), reservations, and lending of idle guaranteed or
//! reserved resources as revocable resources.
//!
//! # Roles
//! Role names are paths: `eng/web` is a child of `eng`. Weights can be set
//! on any path (default 1). DRF is applied level by level: at each node of
//! the tree, the children are ordered by their subtree's weighted dominant
//! share (everything the subtree holds, regular and revocable), then the
//! walk descends into the least-served child. A role that has frameworks of
//! its own *and* child roles (frameworks on `eng` and on `eng/web`) gives its
//! own frameworks a virtual child with weight 1, compared with its child
//! roles like any sibling. Inside a role, frameworks are ordered by their own
//! dominant share in that role (ties by id). Shares are against the cluster
//! total of every agent's scalars.
//!
//! # Quota
//! [`Allocator::set_quota`] gives a role a *guarantee* and an optional
//! *limit* (scalar quantities by name; a name absent from the limit is not
//! limited). Rules (as Mesos): no quota on `*`; guarantee <= limit per
//! name; the guarantees of a role's nearest quota'd descendants add up to
//! at most its own guarantee; a role's guarantee and limit are within every
//! quota'd ancestor's limit. A role's *guarantee consumption* is what its
//! subtree holds regularly from unreserved resources plus everything
//! reserved for its subtree (used or not); its *limit consumption* is
//! everything its subtree holds, regular and revocable. A cycle runs three
//! stages over the agents (one shuffled order, seeded):
//! 1. **Guarantees**: roles with an unmet guarantee (their own or an
//!    ancestor's) get unreserved resources toward it, chopped to what is
//!    still unmet.
//! 2. **Fair share**: DRF over every eligible role. A role's reserved
//!    resources go to its subtree; unreserved ones beyond what a role is
//!    still entitled to are only given from the *slack*: the free unreserved
//!    resources minus the *headroom* kept for every unmet guarantee, so no
//!    role can eat into another's guarantee.
//! 3. **Lending**: what is left and not wanted by its owner is offered,
//!    marked revocable, to revocable-capable frameworks of other roles (see
//!    `lending.rs`).
//!
//! Limits hold in every stage, for the role and every ancestor: an offer is
//! chopped so limit consumption never exceeds a limit.
//!
//! # Demand and reclaim
//! [`Allocator::request`] records what a role wants to hold; an active,
//! unsuppressed framework is implicit demand. [`Allocator::reclaim_needed`]
//! says which lent revocable resources must come back, per agent and owner.
//!
//! # Reservations of held resources
//! [`Allocator::reserve_allocated`] and [`Allocator::unreserve_allocated`]
//! convert resources a framework holds in place (the RESERVE and UNRESERVE
//! operations of an ACCEPT call): they stay held under the same role and
//! only change pool, so a role's guarantee consumption does not move (held
//! unreserved resources and reservations both count), and once recovered
//! they are exactly as if they had been (un)reserved while unallocated.
//!
//! # Agents in maintenance
//! [`Allocator::deactivate_agent`] drains an agent: its resources are
//! offered to nobody, in no stage, until [`Allocator::activate_agent`].
//! What frameworks hold there stays held (and counted everywhere) until
//! recovered, and recovering works as usual. Its free resources are not
//! available: like an agent in Mesos maintenance DOWN mode, they count
//! neither toward the headroom kept for unmet guarantees nor as slack or
//! lendable, so guarantees are kept on active agents only, and
//! [`Allocator::reclaim_needed`] never names an inactive agent. Its
//! reservations still count toward their roles' guarantee consumption (a
//! role's reservations are its own whether or not the agent is up, as in
//! Mesos until the agent is removed), and its resources stay in the cluster
//! total that shares are computed against.
//!
//! # Representation
//! Hot bookkeeping is compact (`qty`): interned names, fixed-point
//! vectors per agent pool, per framework and role, and index-based ids.
//! `Resources` values are only built for the returned allocations and the
//! inspection views. Bad input is a typed [`AllocatorError`] (logged) and
//! leaves the state unchanged.

mod agents;
mod amounts;
mod convert;
mod cycle;
mod filters;
mod frameworks;
mod inspect;
mod invariants;
mod known_roles;
mod lending;
mod offer;
#[cfg(test)]
mod proptests;
mod qty;
mod quota;
mod recover;
mod rejoin;
mod reservations;
mod roles;
mod tree;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_convert;
#[cfg(test)]
mod tests_drain;
#[cfg(test)]
mod tests_hierarchy;
#[cfg(test)]
mod tests_lending;
#[cfg(test)]
mod tests_quota;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::rng::SplitMix64;
use corral::{AgentId, FrameworkId, Resources, Role};

use filters::Filters;
use qty::{Names, Qty};

pub use quota::Quota;

/// How the allocator behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct AllocatorConfig {
    /// Seed of the agent shuffle; same seed and same calls give the same
    /// allocations.
    pub seed: u64,
    /// The master's batch allocation interval. Also the shortest filter a
    /// decline can set (MESOS-4302): shorter filters would expire before the
    /// next cycle and have no effect.
    pub allocation_interval: Duration,
    /// An allocation must hold at least one of these (compared by scalar
    /// quantity, whatever the reservation). Empty: any non-empty allocation.
    /// Only scalar entries count.
    pub min_allocatable: Vec<Resources>,
}

impl Default for AllocatorConfig {
    /// Seed 0, a one-second interval, and `cpus:0.01` or `mem:32` as the
    /// smallest allocation (the Mesos defaults).
    fn default() -> Self {
        Self {
            seed: 0,
            allocation_interval: Duration::from_secs(1),
            min_allocatable: vec![
                Resources::new().with_cpus(0.01),
                Resources::new().with_mem(32.0),
            ],
        }
    }
}

/// What the allocator needs to know about a framework.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameworkSpec {
    /// The roles it subscribed with; it is offered resources under each.
    pub roles: BTreeSet<Role>,
    /// Roles (a subset of `roles`) it wants no offers for right now.
    pub suppressed: BTreeSet<Role>,
    /// It has the REVOCABLE_RESOURCES capability: it may be lent other
    /// roles' idle guaranteed or reserved resources, marked revocable.
    pub revocable: bool,
}

/// One decision of a cycle: `framework` is offered `resources` on `agent`
/// under `role`. The master turns each into one offer. An allocation holds
/// either only regular or only revocable resources, never both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allocation {
    /// Who gets the offer.
    pub framework: FrameworkId,
    /// The role it is offered under.
    pub role: Role,
    /// Where the resources are.
    pub agent: AgentId,
    /// The resources, each entry stamped `allocated_to(role)`; lent ones
    /// are also marked revocable (and keep the reservation they were lent
    /// from, if any).
    pub resources: Resources,
}

/// Lent resources an owner needs back: the master should free this much of
/// the revocable resources on `agent` (by revoking borrowed tasks) so the
/// next cycle can give it to `owner`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reclaim {
    /// The role whose guarantee or reservation the resources were lent
    /// from.
    pub owner: Role,
    /// Where they are.
    pub agent: AgentId,
    /// How much, as revocable scalar resources in unallocated form (with
    /// the reservation when lent from a reservation).
    pub resources: Resources,
}

/// Why an allocator call was refused. A refused call changes nothing.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AllocatorError {
    /// No agent with this id was added.
    #[error("unknown agent {0}")]
    UnknownAgent(AgentId),
    /// No framework with this id was added.
    #[error("unknown framework {0}")]
    UnknownFramework(FrameworkId),
    /// An agent with this id was already added.
    #[error("agent {0} was already added")]
    DuplicateAgent(AgentId),
    /// A framework with this id was already added.
    #[error("framework {0} was already added")]
    DuplicateFramework(FrameworkId),
    /// Weights must be finite and greater than zero.
    #[error("invalid weight {weight} for role {role}: must be finite and > 0")]
    InvalidWeight {
        /// The role.
        role: Role,
        /// The rejected weight.
        weight: f64,
    },
    /// `recover` was given resources the framework does not hold on that
    /// agent (or not in allocated form).
    #[error("framework {framework} does not hold {resources} on agent {agent}")]
    NotAllocated {
        /// The framework.
        framework: FrameworkId,
        /// The agent.
        agent: AgentId,
        /// The resources that were asked back.
        resources: Resources,
    },
    /// The framework is not subscribed to this role.
    #[error("framework {framework} is not subscribed to role {role}")]
    UnknownRole {
        /// The framework.
        framework: FrameworkId,
        /// The role.
        role: Role,
    },
    /// A role name breaks the naming rules.
    #[error("invalid role name {role:?}: {why}")]
    InvalidRole {
        /// The role.
        role: Role,
        /// What is wrong with it.
        why: String,
    },
    /// A quota is malformed or breaks the hierarchy rules.
    #[error("invalid quota for role {role}: {why}")]
    InvalidQuota {
        /// The role.
        role: Role,
        /// What is wrong.
        why: String,
    },
    /// A reserve/unreserve names resources the agent does not have
    /// unallocated in the right form.
    #[error("agent {agent} has no unallocated {resources} to {what}")]
    NotAvailable {
        /// The agent.
        agent: AgentId,
        /// What was asked for.
        resources: Resources,
        /// `reserve` or `unreserve`.
        what: &'static str,
    },
    /// A `reserve_allocated`/`unreserve_allocated` names resources the
    /// framework does not hold on that agent in the form the conversion
    /// needs: regular entries in `allocated_to(role)` form, unreserved (to
    /// reserve) or reserved for that role (to unreserve).
    #[error("framework {framework} holds no {resources} on agent {agent} that it can {what}")]
    NotHeld {
        /// The framework.
        framework: FrameworkId,
        /// The agent.
        agent: AgentId,
        /// What was asked for.
        resources: Resources,
        /// `reserve` or `unreserve`.
        what: &'static str,
    },
    /// Held resources can be reserved only for, and unreserved only from,
    /// the role they are allocated to (as in Mesos).
    #[error("resources allocated to {allocation} cannot be reserved for {reservation} or unreserved from it: the roles differ")]
    ReservationRoleMismatch {
        /// The reservation role asked for (reserve) or found (unreserve).
        reservation: Role,
        /// The role the resources are allocated to.
        allocation: Role,
    },
    /// Lent (revocable) resources cannot be reserved or unreserved.
    #[error("cannot {what} revocable resources {resources} on agent {agent}")]
    Revocable {
        /// The agent.
        agent: AgentId,
        /// What was asked for.
        resources: Resources,
        /// `reserve` or `unreserve`.
        what: &'static str,
    },
}

/// Index of an interned role.
pub(crate) type RoleId = usize;
/// Index of a framework slot.
pub(crate) type FwId = usize;
/// Index of an agent slot.
pub(crate) type AgentIx = usize;

/// A part of an agent's resources with one owner: unreserved, or reserved
/// for one role; agent-native revocable resources are a pool of their own
/// (tracked, never offered: lending replaces oversubscription here).
#[derive(Clone, Debug)]
pub(crate) struct Pool {
    pub(crate) reservation: Option<RoleId>,
    pub(crate) native_revocable: bool,
    pub(crate) total: Qty,
    pub(crate) avail: Qty,
    /// Non-scalar entries (ports, sets), unallocated form.
    pub(crate) other_total: Resources,
    pub(crate) other_avail: Resources,
}

/// What one framework holds on one agent from one pool under one role,
/// regular or lent (revocable).
#[derive(Clone, Debug)]
pub(crate) struct Holding {
    pub(crate) fw: FwId,
    pub(crate) role: RoleId,
    pub(crate) lent: bool,
    pub(crate) pool: usize,
    pub(crate) qty: Qty,
    /// Non-scalar entries, in the pool's (unmarked) form.
    pub(crate) other: Resources,
}

/// One agent's bookkeeping.
#[derive(Clone, Debug)]
pub(crate) struct AgentState {
    pub(crate) id: AgentId,
    /// Everything it has (unallocated form).
    pub(crate) total: Resources,
    pub(crate) pools: Vec<Pool>,
    /// No empty holdings.
    pub(crate) holdings: Vec<Holding>,
    /// False while drained for maintenance: nothing of it is offered and
    /// its free unreserved resources are not in `free_unreserved`.
    pub(crate) active: bool,
}

/// One framework's bookkeeping.
#[derive(Clone, Debug)]
pub(crate) struct FrameworkState {
    pub(crate) id: FrameworkId,
    pub(crate) spec: FrameworkSpec,
    pub(crate) active: bool,
    pub(crate) roles: BTreeSet<RoleId>,
    pub(crate) suppressed: BTreeSet<RoleId>,
    /// Scalar sums of what it holds (regular and lent) per role, roles it
    /// left included until recovered. No zero entries.
    pub(crate) held: BTreeMap<RoleId, Qty>,
    /// Agents where it holds something.
    pub(crate) agents: BTreeSet<AgentIx>,
}

/// The allocator. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Allocator {
    config: AllocatorConfig,
    /// `config.min_allocatable` as quantities.
    min_allocatable: Vec<Qty>,
    rng: SplitMix64,
    names: Names,
    agents: Vec<Option<AgentState>>,
    agent_index: BTreeMap<AgentId, AgentIx>,
    frameworks: Vec<Option<FrameworkState>>,
    framework_index: BTreeMap<FrameworkId, FwId>,
    roles: roles::RoleTable,
    /// Scalar sums of every agent's total.
    cluster_total: Qty,
    /// Unallocated unreserved (non-native) resources of the active agents.
    free_unreserved: Qty,
    filters: Filters,
}

impl Allocator {
    /// An allocator with no agents and no frameworks.
    pub fn new(config: AllocatorConfig) -> Self {
        let mut names = Names::default();
        let min_allocatable = config
            .min_allocatable
            .iter()
            .map(|r| names.qty_of(r))
            .collect();
        Self {
            rng: SplitMix64::new(config.seed),
            config,
            min_allocatable,
            names,
            agents: Vec::new(),
            agent_index: BTreeMap::new(),
            frameworks: Vec::new(),
            framework_index: BTreeMap::new(),
            roles: roles::RoleTable::default(),
            cluster_total: Qty::default(),
            free_unreserved: Qty::default(),
            filters: Filters::default(),
        }
    }

    /// Sets a role's weight (default 1.0) among its siblings: a role with
    /// weight 3 gets about three times the dominant share of a sibling with
    /// weight 1. Any path may be weighted (`eng`, `eng/web`).
    pub fn set_weight(&mut self, role: &Role, weight: f64) -> Result<(), AllocatorError> {
        if !(weight.is_finite() && weight > 0.0) {
            return Err(logged(AllocatorError::InvalidWeight {
                role: role.clone(),
                weight,
            }));
        }
        let id = self.roles.intern(role).map_err(logged)?;
        self.roles.get_mut(id).weight = weight;
        Ok(())
    }

    // ---- small internal lookups ----

    fn agent_ix(&self, agent: &AgentId) -> Result<AgentIx, AllocatorError> {
        self.agent_index
            .get(agent)
            .copied()
            .ok_or_else(|| logged(AllocatorError::UnknownAgent(agent.clone())))
    }

    fn fw_id(&self, fw: &FrameworkId) -> Result<FwId, AllocatorError> {
        self.framework_index
            .get(fw)
            .copied()
            .ok_or_else(|| logged(AllocatorError::UnknownFramework(fw.clone())))
    }

    pub(crate) fn agent(&self, ix: AgentIx) -> Option<&AgentState> {
        self.agents.get(ix).and_then(Option::as_ref)
    }

    pub(crate) fn framework(&self, id: FwId) -> Option<&FrameworkState> {
        self.frameworks.get(id).and_then(Option::as_ref)
    }
}

/// Logs a refused call (the caller gets the typed error) and returns it.
pub(crate) fn logged(err: AllocatorError) -> AllocatorError {
    tracing::warn!(%err, "allocator refused a call");
    err
}
