//! Reserving and unreserving resources a framework holds: the RESERVE and
//! UNRESERVE operations of an ACCEPT call convert offered resources in
//! place, and the framework may launch tasks on the result in the same
//! call.
//!
//! The resources stay held by the same framework under the same role; only
//! the pool they belong to changes (the unreserved pool and the role's
//! reserved pool, created if needed), and with it the agent's total, the
//! role table's reservations and which kind of holding they count as. The
//! role's guarantee consumption does not move: held unreserved resources
//! and reservations both count toward it. Nothing becomes available, so
//! `free_unreserved` and the cluster total do not change either. Once
//! recovered, the resources are in the pool they would be in had they been
//! (un)reserved while unallocated. This process validates a call and moves
//! the held resources through the ledger.

use corral::{AgentId, FrameworkId, Resources, Role};

use super::hierarchy::Hierarchy;
use super::ledger::Ledger;
use super::qty::Names;
use super::recover::{slot, split};
use super::reservations::reservable;
use super::types::{logged, AgentIx, AllocatorError, FwId};

/// Which way a conversion goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Way {
    /// Unreserved to reserved for the allocation role.
    Reserve,
    /// Reserved for the allocation role to unreserved.
    Unreserve,
}

impl Way {
    fn verb(self) -> &'static str {
        match self {
            Way::Reserve => "reserve",
            Way::Unreserve => "unreserve",
        }
    }
}

/// The framework's and agent's slots, or the typed refusal.
fn slots(
    ledger: &Ledger<'_>,
    fw: &FrameworkId,
    agent: &AgentId,
) -> Result<(FwId, AgentIx), AllocatorError> {
    let id = ledger
        .frameworks
        .id(fw)
        .ok_or_else(|| logged(AllocatorError::UnknownFramework(fw.clone())))?;
    let ix = ledger
        .agents
        .ix(agent)
        .ok_or_else(|| logged(AllocatorError::UnknownAgent(agent.clone())))?;
    Ok((id, ix))
}

/// See `Allocator::reserve_allocated`.
pub(crate) fn reserve_allocated(
    ledger: Ledger<'_>,
    names: &Names,
    (fw, agent): (&FrameworkId, &AgentId),
    role: &Role,
    resources: &Resources,
) -> Result<Resources, AllocatorError> {
    let (id, ix) = slots(&ledger, fw, agent)?;
    reservable(role)?;
    let subscribed = ledger.roles.lookup(role).is_some_and(|r| {
        ledger
            .frameworks
            .get(id)
            .is_some_and(|f| f.roles().contains(&r))
    });
    if !subscribed {
        return Err(logged(AllocatorError::UnknownRole {
            framework: fw.clone(),
            role: role.clone(),
        }));
    }
    regular(agent, resources, Way::Reserve)?;
    for entry in resources.iter() {
        if let Some(allocation) = entry.allocation.as_ref().filter(|a| *a != role) {
            return Err(logged(AllocatorError::ReservationRoleMismatch {
                reservation: role.clone(),
                allocation: allocation.clone(),
            }));
        }
    }
    let converted = resources.reserved_to(role);
    convert(
        ledger,
        names,
        (fw, agent),
        (id, ix),
        resources,
        &converted,
        Way::Reserve,
    )?;
    Ok(converted)
}

/// See `Allocator::unreserve_allocated`.
pub(crate) fn unreserve_allocated(
    ledger: Ledger<'_>,
    names: &Names,
    (fw, agent): (&FrameworkId, &AgentId),
    resources: &Resources,
) -> Result<Resources, AllocatorError> {
    let (id, ix) = slots(&ledger, fw, agent)?;
    regular(agent, resources, Way::Unreserve)?;
    for entry in resources.iter() {
        if let (Some(reservation), Some(allocation)) = (&entry.reservation, &entry.allocation) {
            if reservation != allocation {
                return Err(logged(AllocatorError::ReservationRoleMismatch {
                    reservation: reservation.clone(),
                    allocation: allocation.clone(),
                }));
            }
        }
    }
    let converted = resources.without_reservation();
    convert(
        ledger,
        names,
        (fw, agent),
        (id, ix),
        resources,
        &converted,
        Way::Unreserve,
    )?;
    Ok(converted)
}

/// Checks that `fw` holds regular `resources` on the agent as `way` needs,
/// then moves them (as `converted`) to their new pool. Nothing changes on
/// `Err`.
fn convert(
    mut ledger: Ledger<'_>,
    names: &Names,
    (fw, agent): (&FrameworkId, &AgentId),
    (id, ix): (FwId, AgentIx),
    resources: &Resources,
    converted: &Resources,
    way: Way,
) -> Result<(), AllocatorError> {
    if resources.is_empty() {
        return Ok(());
    }
    let not_held = || {
        logged(AllocatorError::NotHeld {
            framework: fw.clone(),
            agent: agent.clone(),
            resources: resources.clone(),
            what: way.verb(),
        })
    };
    let right_form = resources.iter().all(|r| match way {
        Way::Reserve => r.reservation.is_none() && r.allocation.is_some(),
        Way::Unreserve => r.reservation.is_some() && r.reservation == r.allocation,
    });
    if !right_form {
        return Err(not_held());
    }
    // Split by (role, lent, pool): every entry is regular and, once the
    // form is right, the pool is the unreserved one (reserve) or the
    // role's reserved one (unreserve).
    let state = ledger.agents.get(ix).ok_or_else(not_held)?;
    let parts = split(state, ledger.roles, names, resources).ok_or_else(not_held)?;
    for (key, (qty, other)) in &parts {
        if key.1 || !state.holds(slot(id, *key), qty, other) {
            return Err(not_held());
        }
    }
    let total = state
        .total()
        .checked_sub(&resources.unallocated())
        .ok_or_else(not_held)?
        + &converted.unallocated();

    for (key, (qty, other)) in parts {
        let role = key.0;
        let name = ledger.roles.name(role).clone();
        let to = (way == Way::Reserve).then_some((role, &name));
        ledger.convert_held(ix, slot(id, key), to, &qty, &other);
    }
    ledger.agents.set_total(ix, total);
    Ok(())
}

/// Refuses revocable (lent) entries.
fn regular(agent: &AgentId, resources: &Resources, way: Way) -> Result<(), AllocatorError> {
    if resources.iter().any(|r| r.revocable) {
        return Err(logged(AllocatorError::Revocable {
            agent: agent.clone(),
            resources: resources.clone(),
            what: way.verb(),
        }));
    }
    Ok(())
}
