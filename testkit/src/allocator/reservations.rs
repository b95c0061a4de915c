//! Dynamic reservations: turning unallocated unreserved resources of an
//! agent into resources reserved for a role, and back. Reserved resources
//! are offered (as regular resources) only to the role and its descendants,
//! count toward the role's guarantee consumption whether used or not, and
//! while idle may be lent to other roles (see `lending.rs`). Reserving and
//! unreserving resources a framework holds is `convert.rs`.

use corral::{AgentId, Resources, Role, Value};

use super::qty::Qty;
use super::{logged, Allocator, AllocatorError, RoleId};

impl Allocator {
    /// Reserves `resources` (unreserved, unallocated, non-revocable, and
    /// available on `agent`) for `role`. Refused, changing nothing, when
    /// the role name is invalid or `*`, or the agent does not have them
    /// unallocated.
    pub fn reserve(
        &mut self,
        agent: &AgentId,
        role: &Role,
        resources: &Resources,
    ) -> Result<(), AllocatorError> {
        let ix = self.agent_ix(agent)?;
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
        let (qty, other) = self.split_kinds(resources).ok_or_else(unavailable)?;
        let state = self.agent(ix).ok_or_else(unavailable)?;
        let from = state.pool_ix(None, false).ok_or_else(unavailable)?;
        let pool = &state.pools[from];
        if resources.is_empty()
            || !plain
            || !pool.avail.contains(&qty)
            || !pool.other_avail.contains(&other)
        {
            return Err(unavailable());
        }

        let counts_free = state.counts_free(from);
        let to_role = self.roles.intern(role).map_err(logged)?;
        if counts_free {
            self.free_unreserved.sub(&qty);
        }
        self.move_between(ix, from, Some(to_role), &qty, &other);
        self.roles.change_reserved(to_role, &qty, true);
        if let Some(state) = self.agents.get_mut(ix).and_then(Option::as_mut) {
            let _ = state.total.subtract(resources);
            state.total += &resources.reserved_to(role);
        }
        Ok(())
    }

    /// Unreserves `resources` (reserved, unallocated, non-revocable entries,
    /// possibly for several roles) on `agent`. Refused, changing nothing,
    /// unless the agent has them unallocated.
    pub fn unreserve(
        &mut self,
        agent: &AgentId,
        resources: &Resources,
    ) -> Result<(), AllocatorError> {
        let ix = self.agent_ix(agent)?;
        let unavailable = || {
            logged(AllocatorError::NotAvailable {
                agent: agent.clone(),
                resources: resources.clone(),
                what: "unreserve",
            })
        };
        let state = self.agent(ix).ok_or_else(unavailable)?;
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
            let role = self.roles.lookup(name).ok_or_else(unavailable)?;
            let (qty, other) = self.split_kinds(&part).ok_or_else(unavailable)?;
            let p = state.pool_ix(Some(role), false).ok_or_else(unavailable)?;
            let pool = &state.pools[p];
            if !pool.avail.contains(&qty) || !pool.other_avail.contains(&other) {
                return Err(unavailable());
            }
            moves.push((p, role, qty, other));
        }

        let active = state.active;
        for (p, role, qty, other) in moves {
            self.move_between(ix, p, None, &qty, &other);
            if active {
                self.free_unreserved.add(&qty);
            }
            self.roles.change_reserved(role, &qty, false);
        }
        if let Some(state) = self.agents.get_mut(ix).and_then(Option::as_mut) {
            let _ = state.total.subtract(resources);
            state.total += &resources.without_reservation();
        }
        Ok(())
    }

    /// The scalar and non-scalar parts of `resources`; `None` when a scalar
    /// name is unknown (no agent has it).
    fn split_kinds(&self, resources: &Resources) -> Option<(Qty, Resources)> {
        let scalars = resources.filter(|r| matches!(r.value, Value::Scalar(_)));
        let other = resources.filter(|r| !matches!(r.value, Value::Scalar(_)));
        Some((self.names.known_qty_of(&scalars)?, other))
    }

    /// Moves unallocated `qty`/`other` (`other` in the source pool's form)
    /// from pool `from` of agent `ix` to its pool for `reservation` (created
    /// if needed).
    fn move_between(
        &mut self,
        ix: usize,
        from: usize,
        reservation: Option<RoleId>,
        qty: &Qty,
        other: &Resources,
    ) {
        let names = &self.roles;
        let Some(state) = self.agents.get_mut(ix).and_then(Option::as_mut) else {
            return;
        };
        let src = &mut state.pools[from];
        src.avail.sub(qty);
        src.total.sub(qty);
        let _ = src.other_avail.subtract(other);
        let _ = src.other_total.subtract(other);
        let to = state.pool_or_new(reservation);
        let marked = match reservation {
            Some(r) => other.reserved_to(&names.get(r).name),
            None => other.without_reservation(),
        };
        let dst = &mut state.pools[to];
        dst.avail.add(qty);
        dst.total.add(qty);
        dst.other_avail += &marked;
        dst.other_total += &marked;
    }
}

/// Refuses a reservation role that is invalid or `*`.
pub(super) fn reservable(role: &Role) -> Result<(), AllocatorError> {
    role.validate().map_err(|err| {
        logged(AllocatorError::InvalidRole {
            role: role.clone(),
            why: err.to_string(),
        })
    })?;
    if role.as_str() == "*" {
        return Err(logged(AllocatorError::InvalidRole {
            role: role.clone(),
            why: "resources cannot be reserved for `*`".into(),
        }));
    }
    Ok(())
}
