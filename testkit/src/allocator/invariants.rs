//! `Allocator::check_invariants`: each book checks its own invariants
//! (pools balanced and the cluster sums exact in the agent book; limits and
//! headroom in the quota book), then this process recomputes every sum that
//! spans books from the per-agent holdings and compares: the frameworks'
//! sums and agent sets, the roles' own and subtree sums, the
//! subscriptions both ways, and the sharing rules (reserved resources only
//! in their role's subtree, lent reservations only outside the owner's
//! subtree). That lending goes only to revocable-capable frameworks is
//! checked per cycle by the property tests: a framework may drop the
//! capability later and keeps what it was lent until recovered.

use std::collections::{BTreeMap, BTreeSet};

use super::agents::AgentBook;
use super::frameworks::FrameworkBook;
use super::hierarchy::Hierarchy;
use super::qty::{Names, Qty};
use super::quota::QuotaBook;
use super::roles::{OwnSums, RoleTable};
use super::types::{AgentIx, FwId, RoleId};

/// Every invariant of the books and between them; `Err` describes the
/// first breach.
pub(crate) fn check(
    names: &Names,
    agents: &AgentBook,
    frameworks: &FrameworkBook,
    roles: &RoleTable,
    quotas: &QuotaBook,
) -> Result<(), String> {
    agents.check_invariants()?;
    let mut fw_held: BTreeMap<FwId, BTreeMap<RoleId, Qty>> = BTreeMap::new();
    let mut fw_agents: BTreeMap<FwId, BTreeSet<AgentIx>> = BTreeMap::new();
    let mut own = vec![OwnSums::default(); roles.len()];
    for (id, ix) in agents.slots() {
        let agent = agents.get(ix).ok_or(format!("agent {id}: empty slot"))?;
        for h in agent.holdings() {
            let slot = h.slot();
            let fw = frameworks
                .get(slot.fw)
                .ok_or(format!("agent {id}: holding of a removed framework"))?;
            let pool = &agent.pools()[slot.pool];
            let named = [Some(slot.role), pool.reservation()];
            if named.into_iter().flatten().any(|r| !roles.is_known(r)) {
                return Err(format!("agent {id}: holding of a forgotten role"));
            }
            let role_name = roles.name(slot.role);
            match (pool.reservation(), slot.lent) {
                (Some(x), false) if !roles.is_ancestor_or_self(x, slot.role) => {
                    return Err(format!(
                        "agent {id}: {} holds {}'s reservation under {role_name}",
                        fw.id(),
                        roles.name(x)
                    ));
                }
                (Some(x), true) if roles.is_ancestor_or_self(x, slot.role) => {
                    return Err(format!("agent {id}: own reservation lent to {role_name}"));
                }
                _ => {}
            }
            if !h.qty().is_zero() {
                fw_held
                    .entry(slot.fw)
                    .or_default()
                    .entry(slot.role)
                    .or_default()
                    .add(h.qty());
            }
            fw_agents.entry(slot.fw).or_default().insert(ix);
            let sums = &mut own[slot.role];
            sums.held.add(h.qty());
            if !slot.lent {
                sums.regular.add(h.qty());
                if pool.reservation().is_none() {
                    sums.unreserved.add(h.qty());
                }
            }
        }
        for pool in agent.pools() {
            if pool.reservation().is_some_and(|x| !roles.is_known(x)) {
                return Err(format!("agent {id}: pool reserved for a forgotten role"));
            }
            if let (Some(x), false) = (pool.reservation(), pool.is_native_revocable()) {
                own[x].reserved.add(pool.total());
            }
        }
    }
    frameworks.check_invariants(fw_held, fw_agents)?;
    for (id, f) in frameworks.slots() {
        let Some(fw) = frameworks.get(f) else {
            continue;
        };
        for r in fw.roles() {
            if roles.subscriber(*r, id) != Some(f) {
                return Err(format!("framework {id}: missing from its role"));
            }
        }
    }
    roles.check_sums(&own, |slot, fw, r| {
        frameworks
            .get(slot)
            .is_some_and(|f| f.id() == fw && f.roles().contains(&r))
    })?;
    quotas.check_invariants(roles, names)
}
