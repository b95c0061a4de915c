//! Read-only views of the allocator's state, for the master's state
//! snapshots, its operator views and for tests: what agents have and
//! frameworks hold, shares, weights and quotas, the roles it knows, what
//! lent resources must come back, and the invariant check. They build
//! `Resources` from the compact books, so they cost a little; the cycle
//! never calls them.

use corral::{AgentId, FrameworkId, Resources, Role};

use super::agents::AgentState;
use super::hierarchy::Hierarchy;
use super::invariants;
use super::lending;
use super::qty::{dominant_share, inverse};
use super::quota::Quota;
use super::types::{AllocatorConfig, FrameworkSpec, Reclaim};
use super::Allocator;

impl Allocator {
    /// What is not allocated on `agent` (unallocated form, agent-native
    /// revocable entries included), or `None` for an unknown agent.
    pub fn available(&self, agent: &AgentId) -> Option<Resources> {
        let state = self.agents.by_id(agent)?;
        let mut out = Resources::new();
        for pool in state.pools() {
            let reservation = pool.reservation().map(|r| self.roles.name(r));
            out += &pool.avail().to_resources(
                &self.names,
                reservation,
                None,
                pool.is_native_revocable(),
            );
            out += pool.other_avail();
        }
        Some(out)
    }

    /// Everything allocated to `fw` (regular and lent), summed over agents,
    /// in `allocated_to(role)` form. Empty for an unknown framework.
    pub fn allocated(&self, fw: &FrameworkId) -> Resources {
        let mut out = Resources::new();
        let Some(framework) = self.frameworks.by_id(fw) else {
            return out;
        };
        for ix in framework.agents() {
            if let Some(agent) = self.agents.get(*ix) {
                out += &self.held_on(agent, fw);
            }
        }
        out
    }

    /// What `fw` holds lent (revocable) on every agent, in
    /// `allocated_to(role)` form, marked revocable.
    pub fn allocated_revocable(&self, fw: &corral::FrameworkId) -> Resources {
        self.allocated(fw).only_revocable()
    }

    /// A role's weighted dominant share: what its whole subtree holds
    /// (regular and lent) divided by its weight (0 when it holds nothing or
    /// is not known).
    pub fn role_share(&self, role: &Role) -> f64 {
        self.roles.lookup(role).map_or(0.0, |r| {
            let inv = inverse(self.agents.cluster_total(), self.names.len());
            dominant_share(self.roles.held(r), &inv) / self.roles.weight(r)
        })
    }

    /// The dominant share of what `fw` holds under `role` (unweighted; 0
    /// when unknown).
    pub fn framework_share(&self, fw: &FrameworkId, role: &Role) -> f64 {
        let (Some(f), Some(r)) = (self.frameworks.by_id(fw), self.roles.lookup(role)) else {
            return 0.0;
        };
        let inv = inverse(self.agents.cluster_total(), self.names.len());
        f.held(r).map_or(0.0, |q| dominant_share(q, &inv))
    }

    /// The configuration the allocator was built with.
    pub fn config(&self) -> &AllocatorConfig {
        &self.config
    }

    /// A role's weight (1.0 unless set).
    pub fn weight(&self, role: &Role) -> f64 {
        self.roles
            .lookup(role)
            .map_or(1.0, |r| self.roles.weight(r))
    }

    /// A role's quota, if set.
    pub fn quota(&self, role: &Role) -> Option<&Quota> {
        self.quotas.config(self.roles.lookup(role)?)
    }

    /// Every role the allocator knows and their ancestors, sorted by name:
    /// a role is known while something refers to it (a subscribed
    /// framework, a weight other than 1, a quota, a reservation, a request,
    /// something held in its subtree, a child role). A role whose
    /// frameworks all left and that nothing else refers to is forgotten.
    pub fn known_roles(&self) -> Vec<Role> {
        let mut roles: Vec<Role> = self.roles.names().cloned().collect();
        roles.sort();
        roles
    }

    /// Everything `agent` has (unallocated form), or `None` when unknown.
    pub fn total(&self, agent: &AgentId) -> Option<&Resources> {
        self.agents.by_id(agent).map(AgentState::total)
    }

    /// What `fw` holds on `agent` (regular and lent), in
    /// `allocated_to(role)` form (empty when nothing or unknown).
    pub fn allocated_on(&self, agent: &AgentId, fw: &FrameworkId) -> Resources {
        self.agents
            .by_id(agent)
            .map_or_else(Resources::new, |a| self.held_on(a, fw))
    }

    fn held_on(&self, agent: &AgentState, fw: &FrameworkId) -> Resources {
        let mut out = Resources::new();
        let Some(id) = self.frameworks.id(fw) else {
            return out;
        };
        for h in agent.holdings().iter().filter(|h| h.slot().fw == id) {
            let slot = h.slot();
            let pool = &agent.pools()[slot.pool];
            let role = self.roles.name(slot.role);
            let reservation = pool.reservation().map(|r| self.roles.name(r));
            out += &h
                .qty()
                .to_resources(&self.names, reservation, Some(role), slot.lent);
            for entry in h.other().iter() {
                let mut e = entry.clone();
                e.allocation = Some(role.clone());
                e.revocable = slot.lent;
                out.push(e);
            }
        }
        out
    }

    /// True when `agent` is known and active (not drained for maintenance
    /// with [`Allocator::deactivate_agent`]).
    pub fn is_agent_active(&self, agent: &AgentId) -> bool {
        self.agents.by_id(agent).is_some_and(AgentState::is_active)
    }

    /// Why `fw` gets nothing under `role` at `now`: the cycle's own
    /// decision asked read-only (see [`why`](super::why)).
    pub fn why_not(
        &self,
        fw: &FrameworkId,
        role: &Role,
        now: std::time::Duration,
    ) -> super::why::WhyNot {
        super::why::why_not(self, fw, role, now)
    }

    /// True when `fw` is known and active.
    pub fn is_active(&self, fw: &FrameworkId) -> bool {
        self.frameworks.by_id(fw).is_some_and(|f| f.is_active())
    }

    /// `fw`'s current spec (its suppressed roles reflect suppress/revive).
    pub fn framework_spec(&self, fw: &FrameworkId) -> Option<&FrameworkSpec> {
        self.frameworks.by_id(fw).map(|f| f.spec())
    }

    /// How many offer filters `fw` has (expired ones count until the next
    /// cycle drops them).
    pub fn filter_count(&self, fw: &FrameworkId) -> usize {
        self.frameworks
            .id(fw)
            .map_or(0, |id| self.filters.count(id))
    }

    /// Lent resources that must come back so owners with demand can get
    /// what they are guaranteed or have reserved, per (owner, agent),
    /// owners and agents by name. A pure query: the master picks the
    /// revocable tasks to revoke on each agent, and once it recovers them
    /// the next cycle gives them to the owner.
    ///
    /// - Reservations: an owner X with implicit demand needs everything lent
    ///   from its reservations back; with only explicit demand, its wanted
    ///   amount minus what of its reservations is still unallocated.
    /// - Guarantees: a top-most quota'd role with demand needs its headroom
    ///   (explicit demand only: at most what it wants), first from free
    ///   unreserved resources, then from lent unreserved ones.
    ///
    /// Only scalar quantities are named, and only on active agents (free
    /// resources of inactive agents do not count as available either; see
    /// [`Allocator::deactivate_agent`]).
    pub fn reclaim_needed(&self) -> Vec<Reclaim> {
        lending::reclaim_needed(
            &self.names,
            &self.agents,
            &self.frameworks,
            &self.roles,
            &self.quotas,
        )
    }

    /// Recomputes every sum and checks every sharing rule; `Err` describes
    /// the first mismatch. For tests.
    pub fn check_invariants(&self) -> Result<(), String> {
        invariants::check(
            &self.names,
            &self.agents,
            &self.frameworks,
            &self.roles,
            &self.quotas,
        )?;
        self.names.check()?;
        // Every interned name is in use (and a freed index by nothing:
        // free indices are below `len` and not among `ids`).
        let interned: Vec<_> = self.names.ids().collect();
        for id in 0..self.names.len() {
            if interned.contains(&id) != self.name_in_use(id) {
                return Err(format!(
                    "resource name {id}: interned but unused, or freed but used"
                ));
            }
        }
        Ok(())
    }
}
