//! Read-only views of the allocator's state, for the master's state
//! snapshots and for tests, and [`Allocator::check_invariants`], which
//! recomputes every sum from scratch.

use std::collections::{BTreeMap, BTreeSet};

use corral::{AgentId, FrameworkId, Resources, Role};

use super::sorter::{dominant_share, Quantities};
use super::{Allocator, AllocatorConfig, FrameworkSpec};

impl Allocator {
    /// What is not allocated on `agent` (unallocated form), or `None` for
    /// an unknown agent.
    pub fn available(&self, agent: &AgentId) -> Option<Resources> {
        self.agents.get(agent).map(|a| a.available.clone())
    }

    /// Everything allocated to `fw`, summed over agents, in
    /// `allocated_to(role)` form. Empty for an unknown framework.
    pub fn allocated(&self, fw: &FrameworkId) -> Resources {
        let mut out = Resources::new();
        let Some(framework) = self.frameworks.get(fw) else {
            return out;
        };
        for agent in &framework.agents {
            out += &self.allocated_on(agent, fw);
        }
        out
    }

    /// A role's dominant share divided by its weight (0 for a role with
    /// nothing allocated or not known).
    pub fn role_share(&self, role: &Role) -> f64 {
        self.roles.get(role).map_or(0.0, |r| {
            dominant_share(&r.allocated, &self.cluster_total) / self.weight(role)
        })
    }

    /// The dominant share of what `fw` holds under `role` (unweighted; 0
    /// when unknown).
    pub fn framework_share(&self, fw: &FrameworkId, role: &Role) -> f64 {
        self.frameworks
            .get(fw)
            .and_then(|f| f.allocated.get(role))
            .map_or(0.0, |q| dominant_share(q, &self.cluster_total))
    }

    /// The configuration the allocator was built with.
    pub fn config(&self) -> &AllocatorConfig {
        &self.config
    }

    /// A role's weight (1.0 unless set).
    pub fn weight(&self, role: &Role) -> f64 {
        self.weights.get(role).copied().unwrap_or(1.0)
    }

    /// Everything `agent` has (unallocated form), or `None` when unknown.
    pub fn total(&self, agent: &AgentId) -> Option<&Resources> {
        self.agents.get(agent).map(|a| &a.total)
    }

    /// What `fw` holds on `agent`, in `allocated_to(role)` form (empty when
    /// nothing or unknown).
    pub fn allocated_on(&self, agent: &AgentId, fw: &FrameworkId) -> Resources {
        let mut out = Resources::new();
        if let Some(by_role) = self.agents.get(agent).and_then(|a| a.allocations.get(fw)) {
            for (role, resources) in by_role {
                out += &resources.allocated_to(role);
            }
        }
        out
    }

    /// True when `fw` is known and active.
    pub fn is_active(&self, fw: &FrameworkId) -> bool {
        self.frameworks.get(fw).is_some_and(|f| f.active)
    }

    /// `fw`'s current spec (its suppressed roles reflect suppress/revive).
    pub fn framework_spec(&self, fw: &FrameworkId) -> Option<&FrameworkSpec> {
        self.frameworks.get(fw).map(|f| &f.spec)
    }

    /// How many offer filters `fw` has (expired ones count until the next
    /// cycle drops them).
    pub fn filter_count(&self, fw: &FrameworkId) -> usize {
        self.filters.count(fw)
    }

    /// Recomputes every sum from the per-agent allocations and compares:
    /// no agent over-allocated, `available + allocated == total` on each,
    /// per-framework, per-role and cluster sums exact, role membership
    /// consistent. `Err` describes the first mismatch. For tests.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut cluster = Quantities::default();
        let mut fw_sums: BTreeMap<&FrameworkId, BTreeMap<&Role, Quantities>> = BTreeMap::new();
        let mut fw_agents: BTreeMap<&FrameworkId, BTreeSet<&AgentId>> = BTreeMap::new();
        for (id, agent) in &self.agents {
            cluster.add_resources(&agent.total);
            let mut used = Resources::new();
            for (fw, by_role) in &agent.allocations {
                if by_role.is_empty() {
                    return Err(format!("agent {id}: empty allocation map for {fw}"));
                }
                if !self.frameworks.contains_key(fw) {
                    return Err(format!("agent {id}: allocation to unknown framework {fw}"));
                }
                fw_agents.entry(fw).or_default().insert(id);
                for (role, resources) in by_role {
                    if resources.is_empty() {
                        return Err(format!("agent {id}: empty allocation {fw}/{role}"));
                    }
                    if resources.iter().any(|r| r.allocation.is_some()) {
                        return Err(format!("agent {id}: {fw}/{role} holds {resources}"));
                    }
                    used += resources;
                    let q = Quantities::of(resources);
                    if !q.is_empty() {
                        fw_sums
                            .entry(fw)
                            .or_default()
                            .entry(role)
                            .or_default()
                            .add(&q);
                    }
                }
            }
            if !agent.total.contains(&used) {
                return Err(format!(
                    "agent {id} over-allocated: {used} of {}",
                    agent.total
                ));
            }
            if used.clone() + &agent.available != agent.total {
                return Err(format!(
                    "agent {id}: allocated {used} + available {} != total {}",
                    agent.available, agent.total
                ));
            }
        }
        if cluster != self.cluster_total {
            return Err(format!(
                "cluster total {:?} != {:?}",
                self.cluster_total, cluster
            ));
        }
        let mut role_sums: BTreeMap<&Role, Quantities> = BTreeMap::new();
        for (fw, framework) in &self.frameworks {
            let want: BTreeMap<&Role, Quantities> = fw_sums.remove(fw).unwrap_or_default();
            let have: BTreeMap<&Role, Quantities> = framework
                .allocated
                .iter()
                .map(|(r, q)| (r, q.clone()))
                .collect();
            if want != have {
                return Err(format!("framework {fw}: sums {have:?} != {want:?}"));
            }
            let agents: BTreeSet<&AgentId> = fw_agents.remove(fw).unwrap_or_default();
            if agents != framework.agents.iter().collect() {
                return Err(format!("framework {fw}: agent set out of date"));
            }
            for (role, q) in &framework.allocated {
                role_sums.entry(role).or_default().add(q);
            }
            if !framework.spec.suppressed.is_subset(&framework.spec.roles) {
                return Err(format!("framework {fw}: suppressed roles not subscribed"));
            }
            for role in &framework.spec.roles {
                if !self
                    .roles
                    .get(role)
                    .is_some_and(|r| r.frameworks.contains(fw))
                {
                    return Err(format!("role {role}: missing framework {fw}"));
                }
            }
        }
        for (role, state) in &self.roles {
            let want = role_sums.remove(role).unwrap_or_default();
            if want != state.allocated {
                return Err(format!(
                    "role {role}: sum {:?} != {want:?}",
                    state.allocated
                ));
            }
            for fw in &state.frameworks {
                if !self
                    .frameworks
                    .get(fw)
                    .is_some_and(|f| f.spec.roles.contains(role))
                {
                    return Err(format!("role {role}: stale framework {fw}"));
                }
            }
            if state.frameworks.is_empty() && state.allocated.is_empty() {
                return Err(format!("role {role}: empty entry kept"));
            }
        }
        if let Some((role, _)) = role_sums.into_iter().next() {
            return Err(format!("role {role}: allocations without a role entry"));
        }
        Ok(())
    }
}
