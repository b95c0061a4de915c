//! Lending and reclaiming: who has demand, what may be lent, and what must
//! come back.
//!
//! **Demand.** A role's subtree has *implicit* demand when one of its
//! frameworks is active and not suppressed for its role, and *explicit*
//! demand while a role's REQUEST (`Allocator::request`) is above what it
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
//! **Reclaim** (`Allocator::reclaim_needed`): for each owner with demand,
//! how much of what was lent from it must come back, per agent.

use super::agents::AgentBook;
use super::frameworks::FrameworkBook;
use super::hierarchy::Hierarchy;
use super::qty::{Names, Qty};
use super::quota::QuotaBook;
use super::roles::RoleTable;
use super::types::{AgentIx, Reclaim, RoleId};

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

/// The demand of every role's subtree, now.
pub(crate) fn demand(frameworks: &FrameworkBook, roles: &RoleTable) -> Demand {
    let n = roles.len();
    let mut implicit = vec![false; n];
    let mut want = vec![Qty::default(); n];
    for fw in frameworks.iter() {
        if !fw.is_active() {
            continue;
        }
        for role in fw.roles().difference(fw.suppressed()) {
            // A role that said what it wants (REQUEST) is held to that.
            if roles.request(*role).is_some() {
                continue;
            }
            for r in roles.chain(*role) {
                if std::mem::replace(&mut implicit[r], true) {
                    break;
                }
            }
        }
    }
    for r in 0..n {
        let Some(request) = roles.request(r) else {
            continue;
        };
        let w = request.minus(roles.regular_own(r));
        if w.is_zero() {
            continue;
        }
        for a in roles.chain(r) {
            want[a].add(&w);
        }
    }
    Demand { implicit, want }
}

/// The headroom of the top-most quota'd roles with demand: never lent.
pub(crate) fn demanding_headroom(quotas: &QuotaBook, roles: &RoleTable, demanding: &[bool]) -> Qty {
    let mut out = Qty::default();
    for t in quotas.top_quota_roles(roles) {
        if demanding[t] {
            out.add(&quotas.headroom(t));
        }
    }
    out
}

/// Lent resources that must come back so owners with demand can get what
/// they are guaranteed or have reserved, per (owner, agent), owners and
/// agents by name (see `Allocator::reclaim_needed`).
pub(crate) fn reclaim_needed(
    names: &Names,
    agents: &AgentBook,
    frameworks: &FrameworkBook,
    roles: &RoleTable,
    quotas: &QuotaBook,
) -> Vec<Reclaim> {
    let demand = demand(frameworks, roles);
    let demanding = demand.demanding();
    let mut owners: Vec<RoleId> = (0..roles.len())
        .filter(|r| demanding[*r] && !roles.reserved(*r).is_zero())
        .collect();
    let tops: Vec<RoleId> = quotas
        .top_quota_roles(roles)
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
    let active: Vec<AgentIx> = agents.active_slots();
    let mut out = Vec::new();

    // Reservations, owners by name.
    owners.sort_by(|a, b| roles.name(*a).cmp(roles.name(*b)));
    for x in owners {
        let mut need = (!demand.implicit[x]).then(|| {
            let mut free = Qty::default();
            for ix in &active {
                if let Some(a) = agents.get(*ix) {
                    if let Some(p) = a.pool_ix(Some(x), false) {
                        free.add(a.pools()[p].avail());
                    }
                }
            }
            demand.want[x].minus(&free)
        });
        for ix in &active {
            let Some(agent) = agents.get(*ix) else {
                continue;
            };
            let Some(p) = agent.pool_ix(Some(x), false) else {
                continue;
            };
            let mut take = agent.lent_from(p);
            if let Some(need) = &mut need {
                take.min_with(need);
                need.sub(&take);
            }
            if !take.is_zero() {
                let owner = roles.name(x).clone();
                out.push(Reclaim {
                    resources: take.to_resources(names, Some(&owner), None, true),
                    owner,
                    agent: agent.id().clone(),
                });
            }
        }
    }

    // Guarantees: free unreserved first, then what was lent from it.
    if tops.is_empty() {
        return out;
    }
    let mut free = agents.free_unreserved().clone();
    let mut lent: Vec<Qty> = active
        .iter()
        .map(|ix| {
            agents.get(*ix).map_or_else(Qty::default, |a| {
                a.pool_ix(None, false)
                    .map_or_else(Qty::default, |p| a.lent_from(p))
            })
        })
        .collect();
    for t in tops {
        let mut need = quotas.headroom(t);
        if !demand.implicit[t] {
            need.min_with(&demand.want[t]);
        }
        let mut from_free = need.clone();
        from_free.min_with(&free);
        need.sub(&from_free);
        free.sub(&from_free);
        for (ix, lent_here) in active.iter().zip(lent.iter_mut()) {
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
            if let Some(agent) = agents.get(*ix) {
                out.push(Reclaim {
                    owner: roles.name(t).clone(),
                    agent: agent.id().clone(),
                    resources: take.to_resources(names, None, None, true),
                });
            }
        }
    }
    out
}
