//! Read-only views of the allocator's state, for the master's state
//! snapshots and for tests. They build `Resources` from the compact books,
//! so they cost a little; the cycle never calls them.

use corral::{AgentId, FrameworkId, Resources, Role};

use super::qty::{dominant_share, inverse};
use super::{AgentState, Allocator, AllocatorConfig, FrameworkSpec, Quota};

impl Allocator {
    /// What is not allocated on `agent` (unallocated form, agent-native
    /// revocable entries included), or `None` for an unknown agent.
    pub fn available(&self, agent: &AgentId) -> Option<Resources> {
        let state = self.agent(*self.agent_index.get(agent)?)?;
        let mut out = Resources::new();
        for pool in &state.pools {
            let reservation = pool.reservation.map(|r| &self.roles.get(r).name);
            out += &pool
                .avail
                .to_resources(&self.names, reservation, None, pool.native_revocable);
            out += &pool.other_avail;
        }
        Some(out)
    }

    /// Everything allocated to `fw` (regular and lent), summed over agents,
    /// in `allocated_to(role)` form. Empty for an unknown framework.
    pub fn allocated(&self, fw: &FrameworkId) -> Resources {
        let mut out = Resources::new();
        let Some(framework) = self
            .framework_index
            .get(fw)
            .and_then(|id| self.framework(*id))
        else {
            return out;
        };
        for ix in &framework.agents {
            if let Some(agent) = self.agent(*ix) {
                out += &self.held_on(agent, fw);
            }
        }
        out
    }

    /// A role's weighted dominant share: what its whole subtree holds
    /// (regular and lent) divided by its weight (0 when it holds nothing or
    /// is not known).
    pub fn role_share(&self, role: &Role) -> f64 {
        self.roles.lookup(role).map_or(0.0, |r| {
            let state = self.roles.get(r);
            let inv = inverse(&self.cluster_total, self.names.len());
            dominant_share(&state.held, &inv) / state.weight
        })
    }

    /// The dominant share of what `fw` holds under `role` (unweighted; 0
    /// when unknown).
    pub fn framework_share(&self, fw: &FrameworkId, role: &Role) -> f64 {
        let (Some(id), Some(r)) = (self.framework_index.get(fw), self.roles.lookup(role)) else {
            return 0.0;
        };
        let inv = inverse(&self.cluster_total, self.names.len());
        self.framework(*id)
            .and_then(|f| f.held.get(&r))
            .map_or(0.0, |q| dominant_share(q, &inv))
    }

    /// The configuration the allocator was built with.
    pub fn config(&self) -> &AllocatorConfig {
        &self.config
    }

    /// A role's weight (1.0 unless set).
    pub fn weight(&self, role: &Role) -> f64 {
        self.roles
            .lookup(role)
            .map_or(1.0, |r| self.roles.get(r).weight)
    }

    /// A role's quota, if set.
    pub fn quota(&self, role: &Role) -> Option<&Quota> {
        let r = self.roles.lookup(role)?;
        self.roles.get(r).quota.as_ref().map(|q| &q.config)
    }

    /// Everything `agent` has (unallocated form), or `None` when unknown.
    pub fn total(&self, agent: &AgentId) -> Option<&Resources> {
        self.agent(*self.agent_index.get(agent)?).map(|a| &a.total)
    }

    /// What `fw` holds on `agent` (regular and lent), in
    /// `allocated_to(role)` form (empty when nothing or unknown).
    pub fn allocated_on(&self, agent: &AgentId, fw: &FrameworkId) -> Resources {
        self.agent_index
            .get(agent)
            .and_then(|ix| self.agent(*ix))
            .map_or_else(Resources::new, |a| self.held_on(a, fw))
    }

    fn held_on(&self, agent: &AgentState, fw: &FrameworkId) -> Resources {
        let mut out = Resources::new();
        let Some(id) = self.framework_index.get(fw) else {
            return out;
        };
        for h in agent.holdings.iter().filter(|h| h.fw == *id) {
            let pool = &agent.pools[h.pool];
            let role = &self.roles.get(h.role).name;
            let reservation = pool.reservation.map(|r| &self.roles.get(r).name);
            out += &h
                .qty
                .to_resources(&self.names, reservation, Some(role), h.lent);
            for entry in h.other.iter() {
                let mut e = entry.clone();
                e.allocation = Some(role.clone());
                e.revocable = h.lent;
                out.push(e);
            }
        }
        out
    }

    /// True when `agent` is known and active (not drained for maintenance
    /// with [`Allocator::deactivate_agent`]).
    pub fn is_agent_active(&self, agent: &AgentId) -> bool {
        self.agent_index
            .get(agent)
            .and_then(|ix| self.agent(*ix))
            .is_some_and(|a| a.active)
    }

    /// True when `fw` is known and active.
    pub fn is_active(&self, fw: &FrameworkId) -> bool {
        self.framework_index
            .get(fw)
            .and_then(|id| self.framework(*id))
            .is_some_and(|f| f.active)
    }

    /// `fw`'s current spec (its suppressed roles reflect suppress/revive).
    pub fn framework_spec(&self, fw: &FrameworkId) -> Option<&FrameworkSpec> {
        self.framework(*self.framework_index.get(fw)?)
            .map(|f| &f.spec)
    }

    /// How many offer filters `fw` has (expired ones count until the next
    /// cycle drops them).
    pub fn filter_count(&self, fw: &FrameworkId) -> usize {
        self.framework_index
            .get(fw)
            .map_or(0, |id| self.filters.count(*id))
    }
}
