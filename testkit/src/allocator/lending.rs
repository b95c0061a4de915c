//! Lending and reclaiming: who has demand, what may be lent, and what must
//! come back.
//!
//! **Demand.** A role's subtree has *implicit* demand when one of its
//! frameworks is active and not suppressed for its role, and *explicit*
//! demand while a role's REQUEST ([`Allocator::request`]) is above what it
//! holds regularly. A role with a REQUEST is held to it: its frameworks
//! being unsuppressed adds no implicit demand (they revive to get offers
//! for what they asked, not for the whole guarantee).
//!
//! **Lendable** (offered, marked revocable, only to revocable-capable
//! frameworks, in the last stage of a cycle, after guarantees and fair
//! sharing):
//! - unallocated resources reserved for a role X whose subtree has no
//!   demand, to roles outside X's subtree (X's own subtree gets them as
//!   regular resources);
//! - unallocated unreserved resources, except the headroom of quota'd
//!   roles that have demand. In practice that is the headroom kept for idle
//!   roles' unmet guarantees (fair sharing has taken everything else that
//!   anyone eligible wanted).
//!
//! **Reclaim** ([`Allocator::reclaim_needed`]): for each owner with demand,
//! how much of what was lent from it must come back, per agent.

use corral::Resources;

use super::qty::Qty;
use super::{AgentIx, Allocator, Reclaim, RoleId};

/// Demand per role, aggregated over its subtree.
#[derive(Clone, Debug)]
pub(crate) struct Demand {
    /// Some framework in the subtree is active and unsuppressed.
    pub(crate) implicit: Vec<bool>,
    /// Sum over the subtree of `request - regular holdings` (clamped).
    pub(crate) want: Vec<Qty>,
}

impl Demand {
    /// Per role: the subtree has demand of either kind.
    pub(crate) fn demanding(&self) -> Vec<bool> {
        self.implicit
            .iter()
            .zip(&self.want)
            .map(|(i, w)| *i || !w.is_zero())
            .collect()
    }
}

impl Allocator {
    /// The demand of every role's subtree, now.
    pub(crate) fn demand(&self) -> Demand {
        let n = self.roles.len();
        let mut implicit = vec![false; n];
        let mut want = vec![Qty::default(); n];
        for fw in self.frameworks.iter().flatten() {
            if !fw.active {
                continue;
            }
            for role in fw.roles.difference(&fw.suppressed) {
                // A role that said what it wants (REQUEST) is held to that.
                if self.roles.get(*role).request.is_some() {
                    continue;
                }
                for r in self.roles.chain(*role) {
                    if std::mem::replace(&mut implicit[r], true) {
                        break;
                    }
                }
            }
        }
        for (r, state) in self.roles.iter() {
            let Some(request) = &state.request else {
                continue;
            };
            let w = request.minus(&state.regular_own);
            if w.is_zero() {
                continue;
            }
            for a in self.roles.chain(r) {
                want[a].add(&w);
            }
        }
        Demand { implicit, want }
    }

    /// The headroom of the top-most quota'd roles with demand: never lent.
    pub(crate) fn demanding_headroom(&self, demanding: &[bool]) -> Qty {
        let mut out = Qty::default();
        for t in self.top_quota_roles() {
            if demanding[t] {
                out.add(&self.roles.get(t).headroom);
            }
        }
        out
    }

    /// Quota'd roles without a quota'd ancestor, by name.
    fn top_quota_roles(&self) -> Vec<RoleId> {
        let mut out = Vec::new();
        for r in self.roles.top.values() {
            if self.roles.get(*r).quota.is_some() {
                out.push(*r);
            } else {
                self.roles.quota_descendants(*r, true, &mut out);
            }
        }
        out.sort_by(|a, b| self.roles.get(*a).name.cmp(&self.roles.get(*b).name));
        out
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
        let demand = self.demand();
        let demanding = demand.demanding();
        let mut owners: Vec<RoleId> = (0..self.roles.len())
            .filter(|r| demanding[*r] && !self.roles.get(*r).reserved.is_zero())
            .collect();
        let tops: Vec<RoleId> = self
            .top_quota_roles()
            .into_iter()
            .filter(|t| demanding[*t])
            .collect();
        // The master asks every cycle: with no owner wanting anything, no
        // walk over the agents.
        if owners.is_empty() && tops.is_empty() {
            return Vec::new();
        }
        // Inactive agents are never named: what is lent there is going away
        // anyway, and what is free there is not available to the owner.
        let agents: Vec<AgentIx> = self
            .agent_index
            .values()
            .copied()
            .filter(|ix| self.agent(*ix).is_some_and(|a| a.active))
            .collect();
        let mut out = Vec::new();

        // Reservations, owners by name.
        owners.sort_by(|a, b| self.roles.get(*a).name.cmp(&self.roles.get(*b).name));
        for x in owners {
            let mut need = (!demand.implicit[x]).then(|| {
                let mut free = Qty::default();
                for ix in &agents {
                    let pool = self
                        .agent(*ix)
                        .and_then(|a| a.pool_ix(Some(x), false).map(|p| a.pools[p].avail.clone()));
                    free.add(&pool.unwrap_or_default());
                }
                demand.want[x].minus(&free)
            });
            for ix in &agents {
                let Some(agent) = self.agent(*ix) else {
                    continue;
                };
                let Some(p) = agent.pool_ix(Some(x), false) else {
                    continue;
                };
                let mut take = self.lent_from(*ix, p);
                if let Some(need) = &mut need {
                    take.min_with(need);
                    need.sub(&take);
                }
                if !take.is_zero() {
                    let owner = self.roles.get(x).name.clone();
                    out.push(Reclaim {
                        resources: take.to_resources(&self.names, Some(&owner), None, true),
                        owner,
                        agent: agent.id.clone(),
                    });
                }
            }
        }

        // Guarantees: free unreserved first, then what was lent from it.
        if tops.is_empty() {
            return out;
        }
        let mut free = self.free_unreserved.clone();
        let mut lent: Vec<Qty> = agents
            .iter()
            .map(|ix| {
                self.agent(*ix)
                    .and_then(|a| a.pool_ix(None, false))
                    .map_or_else(Qty::default, |p| self.lent_from(*ix, p))
            })
            .collect();
        for t in tops {
            let mut need = self.roles.get(t).headroom.clone();
            if !demand.implicit[t] {
                need.min_with(&demand.want[t]);
            }
            let mut from_free = need.clone();
            from_free.min_with(&free);
            need.sub(&from_free);
            free.sub(&from_free);
            for (ix, lent_here) in agents.iter().zip(lent.iter_mut()) {
                if need.is_zero() {
                    break;
                }
                let mut take = need.clone();
                take.min_with(lent_here);
                if take.is_zero() {
                    continue;
                }
                need.sub(&take);
                lent_here.sub(&take);
                if let Some(agent) = self.agent(*ix) {
                    out.push(Reclaim {
                        owner: self.roles.get(t).name.clone(),
                        agent: agent.id.clone(),
                        resources: take.to_resources(&self.names, None, None, true),
                    });
                }
            }
        }
        out
    }

    /// Everything lent from pool `p` of agent `ix`.
    fn lent_from(&self, ix: AgentIx, p: usize) -> Qty {
        let mut q = Qty::default();
        if let Some(agent) = self.agent(ix) {
            for h in agent.holdings.iter().filter(|h| h.lent && h.pool == p) {
                q.add(&h.qty);
            }
        }
        q
    }

    /// What `fw` holds lent (revocable) on every agent, in
    /// `allocated_to(role)` form, marked revocable.
    pub fn allocated_revocable(&self, fw: &corral::FrameworkId) -> Resources {
        self.allocated(fw).only_revocable()
    }
}
