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
//! stages over the agents (one random order per cycle, seeded: see
//! *Incremental cycles* below):
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
//! # Parts
//! The state lives in books, each with private fields and its own
//! invariants, none importing another book or the code above it:
//! - `agents.rs`: agents, their pools (unreserved,
//!   reserved per role, agent-native revocable), the holdings on them
//!   (regular and lent), maintenance (active or drained), and the cluster
//!   total and free unreserved sums;
//! - `frameworks.rs`: frameworks, their specs, role subscriptions,
//!   suppression, connection and what each holds per role;
//! - `roles.rs`: the role tree, weights, requests, subscribers per role and
//!   the held and reserved sums of every subtree;
//! - `quota.rs`: guarantees and limits, their hierarchy rules and the
//!   headroom kept for unmet guarantees; it reads the role tree only
//!   through the `Hierarchy` trait (`hierarchy.rs`);
//! - `filters.rs`: offer filters set by declines.
//!
//! Below them sit the shared leaves: `types.rs` (the public value types,
//! errors and indices), `qty.rs` and `amounts.rs` (compact quantities),
//! `hierarchy.rs` and `tree.rs` (the DRF tree of a cycle).
//!
//! Above them, the processes that move several books together: `ledger.rs`
//! (every change of what is held: the agent's pool and holding, the
//! framework's and roles' sums, the headroom), the cycle core (`cycle.rs`,
//! `offer.rs`), `recover.rs`, `rejoin.rs`, `reservations.rs`, `convert.rs`,
//! `lending.rs` (demand and reclaim) and `invariants.rs`. Reservations and
//! lending have no book of their own: a reservation is a pool of the agent
//! book plus the reserved sums of the role book, a loan is a lent holding.
//!
//! # Bounded history
//! Removed frameworks and agents free their slots (the lowest free slot is
//! reused first, free slots at the end are dropped), and a role nothing
//! refers to any more (no subscribed framework, no quota, no weight other
//! than 1, no request, no reservation, nothing held in its subtree, no
//! child role) is forgotten with its id, so what a cycle walks is bounded
//! by what is in use at the peak, not by everything ever named. Every
//! order a cycle uses goes by name or id (roles and frameworks by name,
//! agents by a hash of their id), never by slot, so reusing a
//! slot does not change an outcome. An interned resource name nothing uses
//! any more (no agent has it, no quota or request names it, it is not a
//! minimum allocatable amount) is forgotten the same way, so agents with
//! ever new resource names coming and going leave nothing behind.
//!
//! # Incremental cycles
//! A cycle touches what can change its outcome, not the whole cluster.
//! The agent book keeps the *open* agents (active, with something
//! available in an offerable pool) as resources are taken, given back,
//! reserved and drained; a cycle visits only those. Their order is one
//! random draw per cycle mixed with a stable hash of each agent's id
//! (ties by id), so the order of any set of agents is the order of all
//! agents restricted to it: skipping agents with nothing to offer (which
//! a pass over every agent would skip anyway) changes no outcome. The
//! lending stage runs only when some framework is revocable (else its
//! tree is empty). The DRF order of each stage is an indexed binary heap
//! per tree node, so taking the least-served candidate and re-filing it
//! after a grant costs `O(depth · log n)`; the trees themselves are built
//! per stage from the roles and frameworks (`O(roles + frameworks)` per
//! cycle, not per agent). A test-only *pass from scratch* visits every
//! active agent and runs every stage; the property test
//! `tests_incremental.rs` checks both return the same allocations.
//!
//! On top, [`Allocator`] holds the books; its methods stand in three files:
//! this one (construction and lookups), `calls.rs` (every call that changes
//! state) and `inspect.rs` (every read-only view). A new call goes in
//! `calls.rs` and delegates to the book that owns the state, or to a
//! process when several books move.
//!
//! # Representation
//! Hot bookkeeping is compact (`qty.rs`): interned names, fixed-point
//! vectors per agent pool, per framework and role, and index-based ids.
//! `Resources` values are only built for the returned allocations and the
//! inspection views. Bad input is a typed [`AllocatorError`] (logged) and
//! leaves the state unchanged.

mod agents;
mod amounts;
mod calls;
mod convert;
mod cycle;
mod filters;
mod frameworks;
mod hierarchy;
mod inspect;
mod invariants;
mod ledger;
mod lending;
mod offer;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod proptests_event;
mod qty;
mod quota;
mod recover;
mod rejoin;
mod reservations;
mod roles;
mod tree;
mod types;
pub mod why;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_bounded;
#[cfg(test)]
mod tests_convert;
#[cfg(test)]
mod tests_drain;
#[cfg(test)]
mod tests_hierarchy;
#[cfg(test)]
mod tests_incremental;
#[cfg(test)]
mod tests_layers;
#[cfg(test)]
mod tests_lending;
#[cfg(test)]
mod tests_quota;

use crate::rng::SplitMix64;
use corral::{AgentId, FrameworkId};

use agents::AgentBook;
use filters::Filters;
use frameworks::FrameworkBook;
use qty::{Names, Qty};
use quota::QuotaBook;
use roles::RoleTable;
use types::{logged, AgentIx, FwId};

// The scenario tests' prelude (they `use super::*`).
#[cfg(test)]
use corral::{Resources, Role};

pub use quota::Quota;
pub use types::{Allocation, AllocatorConfig, AllocatorError, FrameworkSpec, Reclaim};

/// The allocator. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Allocator {
    config: AllocatorConfig,
    /// `config.min_allocatable` as quantities.
    min_allocatable: Vec<Qty>,
    rng: SplitMix64,
    /// Interned scalar resource names.
    names: Names,
    agents: AgentBook,
    frameworks: FrameworkBook,
    roles: RoleTable,
    quotas: QuotaBook,
    filters: Filters,
    /// Every cycle is a pass from scratch: it visits every active agent
    /// (see `cycle.rs`). Off except in the tests that use such a pass as
    /// the oracle of the incremental one.
    from_scratch: bool,
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
            agents: AgentBook::default(),
            frameworks: FrameworkBook::default(),
            roles: RoleTable::default(),
            quotas: QuotaBook::default(),
            filters: Filters::default(),
            from_scratch: false,
        }
    }

    /// The slot of `agent`, or the typed (logged) refusal.
    fn agent_ix(&self, agent: &AgentId) -> Result<AgentIx, AllocatorError> {
        self.agents
            .ix(agent)
            .ok_or_else(|| logged(AllocatorError::UnknownAgent(agent.clone())))
    }

    /// Something uses resource name `id`: an agent has it, a quota or a
    /// REQUEST names it, or it is one of the minimum allocatable amounts.
    fn name_in_use(&self, id: qty::NameId) -> bool {
        self.agents.cluster_total().get(id) > 0
            || self.min_allocatable.iter().any(|m| m.get(id) > 0)
            || self.quotas.mentions(id)
            || self.roles.requests_name(id)
    }

    /// Forgets each of `candidates` that nothing uses any more.
    fn forget_unused_names(&mut self, candidates: impl IntoIterator<Item = qty::NameId>) {
        for id in candidates {
            if !self.name_in_use(id) {
                self.names.forget(id);
            }
        }
    }

    /// The slot of `fw`, or the typed (logged) refusal.
    fn fw_id(&self, fw: &FrameworkId) -> Result<FwId, AllocatorError> {
        self.frameworks
            .id(fw)
            .ok_or_else(|| logged(AllocatorError::UnknownFramework(fw.clone())))
    }
}
