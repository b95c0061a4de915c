//! [`Allocator::check_invariants`]: recomputes every sum from the
//! per-agent holdings and compares it with the incremental books, and
//! checks the sharing rules (pools never over-allocated, reserved resources
//! only in their role's subtree, lent reservations only outside the owner's
//! subtree, limits). That lending goes only to revocable-capable frameworks
//! is checked per cycle by the property tests: a framework may drop the
//! capability later and keeps what it was lent until recovered.

use std::collections::{BTreeMap, BTreeSet};

use super::qty::Qty;
use super::{AgentIx, Allocator, FwId, RoleId};

impl Allocator {
    /// Recomputes every sum and checks every sharing rule; `Err` describes
    /// the first mismatch. For tests.
    pub fn check_invariants(&self) -> Result<(), String> {
        let n_roles = self.roles.len();
        let mut cluster = Qty::default();
        let mut free = Qty::default();
        let mut fw_held: BTreeMap<FwId, BTreeMap<RoleId, Qty>> = BTreeMap::new();
        let mut fw_agents: BTreeMap<FwId, BTreeSet<AgentIx>> = BTreeMap::new();
        let mut held_own = vec![Qty::default(); n_roles];
        let mut regular_own = vec![Qty::default(); n_roles];
        let mut unres_own = vec![Qty::default(); n_roles];
        let mut reserved_own = vec![Qty::default(); n_roles];
        for (id, &ix) in &self.agent_index {
            let agent = self.agent(ix).ok_or(format!("agent {id}: empty slot"))?;
            let mut used = vec![Qty::default(); agent.pools.len()];
            let mut used_other = vec![corral::Resources::new(); agent.pools.len()];
            for h in &agent.holdings {
                let fw = self
                    .framework(h.fw)
                    .ok_or(format!("agent {id}: holding of a removed framework"))?;
                if h.qty.is_zero() && h.other.is_empty() {
                    return Err(format!("agent {id}: empty holding of {}", fw.id));
                }
                let pool = agent
                    .pools
                    .get(h.pool)
                    .ok_or(format!("agent {id}: holding of a missing pool"))?;
                if pool.native_revocable {
                    return Err(format!("agent {id}: native revocable resources offered"));
                }
                let role_name = &self.roles.get(h.role).name;
                match (pool.reservation, h.lent) {
                    (Some(x), false) if !self.roles.is_ancestor_or_self(x, h.role) => {
                        return Err(format!(
                            "agent {id}: {} holds {}'s reservation under {role_name}",
                            fw.id,
                            self.roles.get(x).name
                        ));
                    }
                    (Some(x), true) if self.roles.is_ancestor_or_self(x, h.role) => {
                        return Err(format!("agent {id}: own reservation lent to {role_name}"));
                    }
                    _ => {}
                }
                used[h.pool].add(&h.qty);
                used_other[h.pool] += &h.other;
                if !h.qty.is_zero() {
                    fw_held
                        .entry(h.fw)
                        .or_default()
                        .entry(h.role)
                        .or_default()
                        .add(&h.qty);
                }
                fw_agents.entry(h.fw).or_default().insert(ix);
                held_own[h.role].add(&h.qty);
                if !h.lent {
                    regular_own[h.role].add(&h.qty);
                    if pool.reservation.is_none() {
                        unres_own[h.role].add(&h.qty);
                    }
                }
            }
            for (p, pool) in agent.pools.iter().enumerate() {
                cluster.add(&pool.total);
                if !pool.total.contains(&used[p]) {
                    return Err(format!("agent {id} over-allocated: pool {p}"));
                }
                let mut sum = used[p].clone();
                sum.add(&pool.avail);
                if sum != pool.total {
                    return Err(format!("agent {id}: pool {p} held + available != total"));
                }
                if used_other[p].clone() + &pool.other_avail != pool.other_total {
                    return Err(format!("agent {id}: pool {p} non-scalars out of balance"));
                }
                match (pool.reservation, pool.native_revocable) {
                    (None, false) if agent.active => free.add(&pool.avail),
                    (None, false) => {}
                    (Some(x), false) => reserved_own[x].add(&pool.total),
                    _ => {}
                }
            }
        }
        if cluster != self.cluster_total {
            return Err("cluster total out of date".into());
        }
        if free != self.free_unreserved {
            return Err(format!(
                "free unreserved {:?} != {:?}",
                self.free_unreserved, free
            ));
        }
        for (id, &f) in &self.framework_index {
            let fw = self
                .framework(f)
                .ok_or(format!("framework {id}: empty slot"))?;
            let want = fw_held.remove(&f).unwrap_or_default();
            if want != fw.held {
                return Err(format!("framework {id}: sums {:?} != {want:?}", fw.held));
            }
            if fw_agents.remove(&f).unwrap_or_default() != fw.agents {
                return Err(format!("framework {id}: agent set out of date"));
            }
            if !fw.suppressed.is_subset(&fw.roles) {
                return Err(format!("framework {id}: suppressed roles not subscribed"));
            }
            for r in &fw.roles {
                if self.roles.get(*r).frameworks.get(id) != Some(&f) {
                    return Err(format!("framework {id}: missing from its role"));
                }
            }
        }
        if !fw_held.is_empty() {
            return Err("holdings of unknown frameworks".into());
        }
        self.check_role_sums(&held_own, &regular_own, &unres_own, &reserved_own)?;
        self.limits_hold()
    }

    /// Role sums (own and subtree) and headroom against recomputed values.
    fn check_role_sums(
        &self,
        held_own: &[Qty],
        regular_own: &[Qty],
        unres_own: &[Qty],
        reserved_own: &[Qty],
    ) -> Result<(), String> {
        let n = self.roles.len();
        let mut held = vec![Qty::default(); n];
        let mut unres = vec![Qty::default(); n];
        let mut reserved = vec![Qty::default(); n];
        for r in 0..n {
            for a in self.roles.chain(r) {
                held[a].add(&held_own[r]);
                unres[a].add(&unres_own[r]);
                reserved[a].add(&reserved_own[r]);
            }
        }
        for (r, state) in self.roles.iter() {
            let name = &state.name;
            if state.held_own != held_own[r] || state.regular_own != regular_own[r] {
                return Err(format!("role {name}: own sums out of date"));
            }
            if state.held != held[r] || state.alloc_unres != unres[r] {
                return Err(format!("role {name}: subtree sums out of date"));
            }
            if state.reserved != reserved[r] {
                return Err(format!("role {name}: reserved sum out of date"));
            }
            for (fw, id) in &state.frameworks {
                if !self
                    .framework(*id)
                    .is_some_and(|f| f.id == *fw && f.roles.contains(&r))
                {
                    return Err(format!("role {name}: stale framework {fw}"));
                }
            }
        }
        let mut fresh = self.roles.clone();
        fresh.rebuild_headroom();
        for (r, state) in fresh.iter() {
            let kept = self.roles.get(r);
            if kept.headroom != state.headroom || kept.child_headroom != state.child_headroom {
                return Err(format!("role {}: headroom out of date", state.name));
            }
        }
        if fresh.required_headroom != self.roles.required_headroom {
            return Err("required headroom out of date".into());
        }
        Ok(())
    }
}
