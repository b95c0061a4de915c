//! Dynamic reservations: turning unallocated unreserved resources of an
//! agent into resources reserved for a role, and back. Reserved resources
//! are offered (as regular resources) only to the role and its descendants,
//! count toward the role's guarantee consumption whether used or not, and
//! while idle may be lent to other roles (see `lending.rs`). The pools are
//! the agent book's, the reservation sums the role book's; this process
//! validates a call and moves both through the ledger. Reserving and
//! unreserving resources a framework holds is `convert.rs`.

use corral::{AgentId, Resources, Role, Value};

use super::hierarchy::Hierarchy;
use super::ledger::Ledger;
use super::qty::{Names, Qty};
use super::types::{invalid_role, logged, AllocatorError, RoleId};

/// See `Allocator::reserve`.
pub(crate) fn reserve(
    mut ledger: Ledger<'_>,
    names: &Names,
    agent: &AgentId,
    role: &Role,
    resources: &Resources,
) -> Result<(), AllocatorError> {
    let ix = ledger
        .agents
        .ix(agent)
        .ok_or_else(|| logged(AllocatorError::UnknownAgent(agent.clone())))?;
    reservable(role)?;
    let unavailable = || {
        logged(AllocatorError::NotAvailable {
            agent: agent.clone(),
            resources: resources.clone(),
            what: "reserve",
        })
    };
    let plain = resources
        .iter()
        .all(|r| r.reservation.is_none() && r.allocation.is_none() && !r.revocable);
    let (qty, other) = split_kinds(names, resources).ok_or_else(unavailable)?;
    let state = ledger.agents.get(ix).ok_or_else(unavailable)?;
    let from = state.pool_ix(None, false).ok_or_else(unavailable)?;
    if resources.is_empty() || !plain || !state.has_free(from, &qty, &other) {
        return Err(unavailable());
    }
    let mut total = state.total().clone();
    let _ = total.subtract(resources);
    total += &resources.reserved_to(role);

    let to_role = ledger.roles.intern(role)?;
    let name = ledger.roles.name(to_role).clone();
    ledger
        .agents
        .move_free(ix, from, Some((to_role, &name)), &qty, &other);
    ledger.agents.set_total(ix, total);
    ledger.reserved(to_role, &qty, true);
    Ok(())
}

/// See `Allocator::unreserve`.
pub(crate) fn unreserve(
    mut ledger: Ledger<'_>,
    names: &Names,
    agent: &AgentId,
    resources: &Resources,
) -> Result<(), AllocatorError> {
    let ix = ledger
        .agents
        .ix(agent)
        .ok_or_else(|| logged(AllocatorError::UnknownAgent(agent.clone())))?;
    let unavailable = || {
        logged(AllocatorError::NotAvailable {
            agent: agent.clone(),
            resources: resources.clone(),
            what: "unreserve",
        })
    };
    let state = ledger.agents.get(ix).ok_or_else(unavailable)?;
    let mut moves: Vec<(usize, RoleId, Qty, Resources)> = Vec::new();
    let roles: std::collections::BTreeSet<&Role> = resources
        .iter()
        .filter_map(|r| r.reservation.as_ref())
        .collect();
    let all_reserved = resources
        .iter()
        .all(|r| r.reservation.is_some() && r.allocation.is_none() && !r.revocable);
    if resources.is_empty() || !all_reserved {
        return Err(unavailable());
    }
    for name in roles {
        let part = resources.reserved_for(name);
        let role = ledger.roles.lookup(name).ok_or_else(unavailable)?;
        let (qty, other) = split_kinds(names, &part).ok_or_else(unavailable)?;
        let p = state.pool_ix(Some(role), false).ok_or_else(unavailable)?;
        if !state.has_free(p, &qty, &other) {
            return Err(unavailable());
        }
        moves.push((p, role, qty, other));
    }
    let mut total = state.total().clone();
    let _ = total.subtract(resources);
    total += &resources.without_reservation();

    for (p, role, qty, other) in moves {
        ledger.agents.move_free(ix, p, None, &qty, &other);
        ledger.reserved(role, &qty, false);
    }
    ledger.agents.set_total(ix, total);
    Ok(())
}

/// The scalar and non-scalar parts of `resources`; `None` when a scalar
/// name is unknown (no agent has it).
fn split_kinds(names: &Names, resources: &Resources) -> Option<(Qty, Resources)> {
    let scalars = resources.filter(|r| matches!(r.value, Value::Scalar(_)));
    let other = resources.filter(|r| !matches!(r.value, Value::Scalar(_)));
    Some((names.known_qty_of(&scalars)?, other))
}

/// Refuses a reservation role that is invalid or `*`.
pub(crate) fn reservable(role: &Role) -> Result<(), AllocatorError> {
    role.validate().map_err(|err| invalid_role(role, &err))?;
    if role.as_str() == "*" {
        return Err(logged(AllocatorError::InvalidRole {
            role: role.clone(),
            why: "resources cannot be reserved for `*`".into(),
        }));
    }
    Ok(())
}
