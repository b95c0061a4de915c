//! The allocator's vocabulary, shared by every part and process: the
//! public value types of its API (configuration, framework spec,
//! allocations, reclaims, errors), the index types the books use for
//! roles, frameworks and agents, and which sums a holding counts in.
//! A leaf: it imports nothing else of the allocator.

use std::collections::BTreeSet;
use std::time::Duration;

use corral::{AgentId, FrameworkId, Resources, Role};

/// How the allocator behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct AllocatorConfig {
    /// Seed of the agents' visiting order; same seed and same calls give
    /// the same allocations.
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

/// Which sums an allocation counts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeldKind {
    /// Regular, from unreserved resources (counts toward guarantees).
    RegularUnreserved,
    /// Regular, from the role's (or an ancestor's) reservation.
    RegularReserved,
    /// Lent: revocable.
    Lent,
}

/// Which holding of an agent: one framework's, under one role, from one
/// pool, regular or lent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Slot {
    pub(crate) fw: FwId,
    pub(crate) role: RoleId,
    pub(crate) lent: bool,
    pub(crate) pool: usize,
}

/// Logs a refused call (the caller gets the typed error) and returns it.
pub(crate) fn logged(err: AllocatorError) -> AllocatorError {
    tracing::warn!(%err, "allocator refused a call");
    err
}

/// A role name that breaks the naming rules, logged.
pub(crate) fn invalid_role(role: &Role, err: &corral::InvalidRole) -> AllocatorError {
    logged(AllocatorError::InvalidRole {
        role: role.clone(),
        why: err.to_string(),
    })
}
