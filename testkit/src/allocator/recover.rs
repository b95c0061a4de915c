//! Giving resources back: declined or rescinded offers, unused parts of an
//! accepted offer, resources freed by finished (or revoked) tasks. Regular
//! and lent holdings are kept apart, so recovering revocable resources
//! returns exactly what was lent, to the pool it was lent from. Also
//! [`split`], which reads allocated-form resources as holdings, for the
//! other processes that name held resources (rejoin, conversions).

use std::collections::BTreeMap;
use std::time::Duration;

use corral::{AgentId, FrameworkId, Resources, Value};

use super::agents::AgentState;
use super::filters::Filters;
use super::hierarchy::Hierarchy;
use super::ledger::Ledger;
use super::qty::{Names, Qty};
use super::roles::RoleTable;
use super::types::{logged, AllocatorError, FwId, RoleId, Slot};

/// One holding's share of a call naming held resources:
/// (role, lent, pool) -> amounts.
pub(crate) type Parts = BTreeMap<(RoleId, bool, usize), (Qty, Resources)>;

/// The slot of `fw` a part names.
pub(crate) fn slot(fw: FwId, (role, lent, pool): (RoleId, bool, usize)) -> Slot {
    Slot {
        fw,
        role,
        lent,
        pool,
    }
}

/// What a recover call needs besides the ledger.
pub(crate) struct Recover<'a> {
    pub(crate) names: &'a Names,
    pub(crate) filters: &'a mut Filters,
    pub(crate) allocation_interval: Duration,
}

/// See `Allocator::recover`.
pub(crate) fn recover(
    mut ledger: Ledger<'_>,
    ctx: Recover<'_>,
    now: Duration,
    (fw, agent): (&FrameworkId, &AgentId),
    resources: &Resources,
    refuse: Option<Duration>,
) -> Result<(), AllocatorError> {
    let id = ledger
        .frameworks
        .id(fw)
        .ok_or_else(|| logged(AllocatorError::UnknownFramework(fw.clone())))?;
    let ix = ledger
        .agents
        .ix(agent)
        .ok_or_else(|| logged(AllocatorError::UnknownAgent(agent.clone())))?;
    if resources.is_empty() {
        return Ok(());
    }
    let not_allocated = || {
        logged(AllocatorError::NotAllocated {
            framework: fw.clone(),
            agent: agent.clone(),
            resources: resources.clone(),
        })
    };
    let state = ledger.agents.get(ix).ok_or_else(not_allocated)?;
    let parts = split(state, ledger.roles, ctx.names, resources).ok_or_else(not_allocated)?;
    // Validate everything before changing anything.
    for (key, (qty, other)) in &parts {
        if !state.holds(slot(id, *key), qty, other) {
            return Err(not_allocated());
        }
    }
    for (key, (qty, other)) in &parts {
        ledger.release(ix, slot(id, *key), qty, other);
    }

    let duration = refuse
        .filter(|d| !d.is_zero())
        .map(|d| d.max(ctx.allocation_interval));
    let Some(duration) = duration else {
        return Ok(());
    };
    let expires = now.checked_add(duration).unwrap_or(Duration::MAX);
    let roles: Vec<RoleId> = parts.keys().map(|(role, _, _)| *role).collect();
    for role in roles {
        let subscribed = ledger
            .frameworks
            .get(id)
            .is_some_and(|f| f.roles().contains(&role));
        if !subscribed {
            continue;
        }
        let name = ledger.roles.name(role);
        let refused = resources
            .filter(|r| r.allocation.as_ref() == Some(name))
            .unallocated();
        ctx.filters.add(id, role, ix, &refused, expires);
    }
    Ok(())
}

/// Splits allocated-form resources on `agent` by (role, lent, pool);
/// `None` when an entry has no allocation role or names a role,
/// reservation or scalar this agent cannot have given.
pub(crate) fn split(
    agent: &AgentState,
    roles: &RoleTable,
    names: &Names,
    resources: &Resources,
) -> Option<Parts> {
    let mut parts = Parts::new();
    for entry in resources.iter() {
        let role = roles.lookup(entry.allocation.as_ref()?)?;
        let reservation = match &entry.reservation {
            Some(r) => Some(roles.lookup(r)?),
            None => None,
        };
        let pool = agent.pool_ix(reservation, false)?;
        let (qty, other) = parts.entry((role, entry.revocable, pool)).or_default();
        match entry.value {
            Value::Scalar(s) => {
                let n = names.get(&entry.name)?;
                qty.set(n, qty.get(n) + s.millis());
            }
            _ => {
                let mut plain = entry.clone();
                plain.allocation = None;
                plain.revocable = false;
                other.push(plain);
            }
        }
    }
    Some(parts)
}
