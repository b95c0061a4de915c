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
//! (un)reserved while unallocated.

use corral::{AgentId, FrameworkId, Resources, Role};

use super::agents::held_kind;
use super::qty::Qty;
use super::reservations::reservable;
use super::{logged, AgentIx, Allocator, AllocatorError, FwId, Holding, RoleId};

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

impl Allocator {
    /// Reserves for `role` resources that `fw` holds on `agent`.
    /// `resources` are regular (not revocable), unreserved entries in
    /// `allocated_to(role)` form, held by `fw` under `role`, its offer
    /// role. They stay held by `fw` under `role`, now reserved for it; the
    /// result is them in that form (`reserved_to(role)` and
    /// `allocated_to(role)`), for the master to swap in its offer.
    ///
    /// As in Mesos, held resources can be reserved only for the role they
    /// are allocated to, and only for a role `fw` is subscribed to. Refused,
    /// changing nothing: an unknown framework or agent; an invalid role or
    /// `*` ([`AllocatorError::InvalidRole`]); a role `fw` is not subscribed
    /// to ([`AllocatorError::UnknownRole`]); an entry allocated to another
    /// role ([`AllocatorError::ReservationRoleMismatch`]); a revocable entry
    /// ([`AllocatorError::Revocable`]); anything else `fw` does not hold
    /// there that way, such as already reserved or unallocated entries
    /// ([`AllocatorError::NotHeld`]). Empty `resources` converts nothing.
    pub fn reserve_allocated(
        &mut self,
        fw: &FrameworkId,
        agent: &AgentId,
        role: &Role,
        resources: &Resources,
    ) -> Result<Resources, AllocatorError> {
        let id = self.fw_id(fw)?;
        let ix = self.agent_ix(agent)?;
        reservable(role)?;
        let subscribed = self
            .roles
            .lookup(role)
            .is_some_and(|r| self.framework(id).is_some_and(|f| f.roles.contains(&r)));
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
        self.convert(fw, agent, (id, ix), resources, &converted, Way::Reserve)?;
        Ok(converted)
    }

    /// Unreserves resources that `fw` holds on `agent`: regular (not
    /// revocable) entries reserved for the role they are allocated to (in
    /// `allocated_to(role)` form; several roles at once are fine), held by
    /// `fw` under that role. They stay held by `fw` under that role, now
    /// unreserved; the result is them in that form (reservation cleared,
    /// still `allocated_to(role)`).
    ///
    /// Refused, changing nothing: an unknown framework or agent; an entry
    /// reserved for another role than the one it is allocated to, such as
    /// an ancestor's reservation held under a child role
    /// ([`AllocatorError::ReservationRoleMismatch`]); a revocable entry
    /// ([`AllocatorError::Revocable`]); anything else `fw` does not hold
    /// there that way, such as unreserved or unallocated entries
    /// ([`AllocatorError::NotHeld`]). Unlike reserving, `fw` need not still
    /// be subscribed to the role. Empty `resources` converts nothing.
    pub fn unreserve_allocated(
        &mut self,
        fw: &FrameworkId,
        agent: &AgentId,
        resources: &Resources,
    ) -> Result<Resources, AllocatorError> {
        let id = self.fw_id(fw)?;
        let ix = self.agent_ix(agent)?;
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
        self.convert(fw, agent, (id, ix), resources, &converted, Way::Unreserve)?;
        Ok(converted)
    }

    /// Checks that `fw` holds regular `resources` on the agent as `way`
    /// needs, then
    /// moves them (as `converted`) to their new pool. Nothing changes on
    /// `Err`.
    fn convert(
        &mut self,
        fw: &FrameworkId,
        agent: &AgentId,
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
        let parts = self.split(ix, resources).ok_or_else(not_held)?;
        let state = self.agent(ix).ok_or_else(not_held)?;
        for ((role, lent, pool), (qty, other)) in &parts {
            let held = state
                .holdings
                .iter()
                .find(|h| h.fw == id && h.role == *role && h.lent == *lent && h.pool == *pool);
            if *lent || !held.is_some_and(|h| h.qty.contains(qty) && h.other.contains(other)) {
                return Err(not_held());
            }
        }
        let total = state
            .total
            .checked_sub(&resources.unallocated())
            .ok_or_else(not_held)?
            + &converted.unallocated();

        for ((role, _, pool), (qty, other)) in parts {
            let to = (way == Way::Reserve).then_some(role);
            self.move_held(ix, id, role, pool, to, &qty, &other);
        }
        if let Some(state) = self.agents.get_mut(ix).and_then(Option::as_mut) {
            state.total = total;
        }
        Ok(())
    }

    /// Moves validated regular amounts `fw` holds under `role` from pool
    /// `from` of agent `ix` (`other` in that pool's form) to its pool for
    /// `to` (created if needed), with every sum that depends on the pool:
    /// both pools' totals, the holdings, the role's kind of holding and the
    /// reservations. Neither pool's available part changes.
    #[allow(clippy::too_many_arguments)]
    fn move_held(
        &mut self,
        ix: AgentIx,
        fw: FwId,
        role: RoleId,
        from: usize,
        to: Option<RoleId>,
        qty: &Qty,
        other: &Resources,
    ) {
        let Some(state) = self.agents.get_mut(ix).and_then(Option::as_mut) else {
            return;
        };
        let dst = state.pool_or_new(to);
        let marked = match to {
            Some(r) => other.reserved_to(&self.roles.get(r).name),
            None => other.without_reservation(),
        };

        let src_pool = &mut state.pools[from];
        src_pool.total.sub(qty);
        // Validated: the holding, hence the pool, has `other`.
        let _ = src_pool.other_total.subtract(other);
        let from_kind = held_kind(src_pool, false);
        let from_reservation = src_pool.reservation;
        let dst_pool = &mut state.pools[dst];
        dst_pool.total.add(qty);
        dst_pool.other_total += &marked;
        let to_kind = held_kind(dst_pool, false);

        let same =
            |h: &Holding, pool: usize| h.fw == fw && h.role == role && !h.lent && h.pool == pool;
        if let Some(at) = state.holdings.iter().position(|h| same(h, from)) {
            let h = &mut state.holdings[at];
            h.qty.sub(qty);
            let _ = h.other.subtract(other);
            if h.qty.is_zero() && h.other.is_empty() {
                state.holdings.swap_remove(at);
            }
        }
        match state.holdings.iter_mut().find(|h| same(h, dst)) {
            Some(h) => {
                h.qty.add(qty);
                h.other += &marked;
            }
            None => state.holdings.push(Holding {
                fw,
                role,
                lent: false,
                pool: dst,
                qty: qty.clone(),
                other: marked,
            }),
        }

        self.roles.sub_held(role, qty, from_kind);
        self.roles.add_held(role, qty, to_kind);
        if let Some(x) = from_reservation {
            self.roles.change_reserved(x, qty, false);
        }
        if let Some(r) = to {
            self.roles.change_reserved(r, qty, true);
        }
    }
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
