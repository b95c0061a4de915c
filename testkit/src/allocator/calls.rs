//! The allocator's calls that change its state, one method each: every one
//! validates its input, then hands the work to the book that owns the state
//! or, when several books move together, to a process (the ledger, recover,
//! rejoin, reservations, conversions, the cycle). A refused call changes
//! nothing and returns a typed, logged [`AllocatorError`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use corral::{AgentId, FrameworkId, Resources, Role};

use super::convert;
use super::cycle::Cycle;
use super::frameworks::check_spec;
use super::hierarchy::Hierarchy;
use super::qty::NameId;
use super::quota::Quota;
use super::recover::{self, Recover};
use super::rejoin;
use super::reservations;
use super::types::{invalid_role, logged, Allocation, AllocatorError, FrameworkSpec, FwId, RoleId};
use super::Allocator;

/// The ledger over the allocator's books, borrowing only those fields (so
/// the names, filters and configuration stay usable beside it).
macro_rules! ledger {
    ($a:expr) => {
        super::ledger::Ledger {
            agents: &mut $a.agents,
            frameworks: &mut $a.frameworks,
            roles: &mut $a.roles,
            quotas: &mut $a.quotas,
        }
    };
}

impl Allocator {
    /// Sets a role's weight (default 1.0) among its siblings: a role with
    /// weight 3 gets about three times the dominant share of a sibling with
    /// weight 1. Any path may be weighted (`eng`, `eng/web`).
    pub fn set_weight(&mut self, role: &Role, weight: f64) -> Result<(), AllocatorError> {
        if !(weight.is_finite() && weight > 0.0) {
            return Err(logged(AllocatorError::InvalidWeight {
                role: role.clone(),
                weight,
            }));
        }
        let id = self.roles.intern(role)?;
        self.roles.set_weight(id, weight);
        ledger!(self).forget_unused_roles([id]);
        Ok(())
    }

    /// Sets (or, with `Quota::default()`, clears) a role's quota. Refused
    /// with [`AllocatorError::InvalidQuota`] when: the role is `*`; an entry
    /// is not an unreserved, unallocated, non-revocable scalar; a guarantee
    /// exceeds the limit of the same name; the guarantees of the nearest
    /// quota'd descendants of this role or of its nearest quota'd ancestor
    /// would add up to more than that role's guarantee; or a guarantee or
    /// limit exceeds a quota'd ancestor's limit (or a descendant's exceeds
    /// this limit). A guarantee larger than the cluster is accepted (met as
    /// far as the cluster allows). Lowering a limit below what the role
    /// holds takes nothing back; it only stops further allocations.
    pub fn set_quota(&mut self, role: &Role, quota: Quota) -> Result<(), AllocatorError> {
        role.validate().map_err(|err| invalid_role(role, &err))?;
        let checked = self
            .quotas
            .check(&self.roles, &self.names, role, &quota)
            .map_err(|why| {
                logged(AllocatorError::InvalidQuota {
                    role: role.clone(),
                    why,
                })
            })?;
        let id = self.roles.intern(role)?;
        self.names = checked.names.clone();
        let old = self.quotas.names_of(id);
        self.quotas.install(&self.roles, id, checked);
        ledger!(self).forget_unused_roles([id]);
        self.forget_unused_names(old);
        Ok(())
    }

    /// Records what `role` wants to hold in total (a REQUEST): while its
    /// regular holdings are below it (up to the guarantee or reservation it
    /// has), lent resources are reclaimed for it and its idle resources are
    /// not lent. Replaces the previous request; empty resources clear it.
    /// Only scalar quantities count.
    pub fn request(&mut self, role: &Role, resources: &Resources) -> Result<(), AllocatorError> {
        let id = self.roles.intern(role)?;
        let q = self.names.qty_of(resources);
        let mut named: Vec<NameId> = q.iter().map(|(n, _)| n).collect();
        if let Some(old) = self.roles.request(id) {
            named.extend(old.iter().map(|(n, _)| n));
        }
        self.roles.set_request(id, (!q.is_zero()).then_some(q));
        ledger!(self).forget_unused_roles([id]);
        self.forget_unused_names(named);
        Ok(())
    }

    /// Adds an agent with these resources (allocation roles in `total`, if
    /// any, are ignored: everything starts available). Entries reserved for
    /// a role are offered only to that role's subtree; agent-native
    /// revocable entries are tracked but never offered. An invalid
    /// reservation role is refused.
    pub fn add_agent(&mut self, agent: AgentId, total: Resources) -> Result<(), AllocatorError> {
        if self.agents.ix(&agent).is_some() {
            return Err(logged(AllocatorError::DuplicateAgent(agent)));
        }
        let total = total.unallocated();
        let mut reservations = BTreeMap::new();
        for r in total.iter() {
            if let Some(role) = &r.reservation {
                role.validate().map_err(|err| invalid_role(role, &err))?;
            }
        }
        for r in total.iter() {
            if let Some(role) = &r.reservation {
                reservations.insert(role.clone(), self.roles.intern(role)?);
            }
        }
        let Some((_, reserved)) =
            self.agents
                .add(agent.clone(), total, &mut self.names, &reservations)
        else {
            return Err(logged(AllocatorError::DuplicateAgent(agent)));
        };
        let mut ledger = ledger!(self);
        for (role, q) in reserved {
            ledger.reserved(role, &q, true);
        }
        Ok(())
    }

    /// Adds `agent` with `total`, of which each framework in `used` already
    /// holds its resources (allocated form: every entry carries the role it
    /// is held under; revocable entries are held as lent). Refused, changing
    /// nothing, when the agent is known, a framework is unknown, an entry
    /// has no allocation role, or the used resources do not fit in `total`.
    pub fn add_agent_in_use(
        &mut self,
        agent: AgentId,
        total: Resources,
        used: &[(FrameworkId, Resources)],
    ) -> Result<(), AllocatorError> {
        for (fw, _) in used {
            self.fw_id(fw)?;
        }
        self.add_agent(agent.clone(), total)?;
        let result = rejoin::take_in_use(ledger!(self), &self.names, &agent, used);
        if result.is_err() {
            // Leave nothing half-added.
            let _ = self.remove_agent(&agent);
        }
        result
    }

    /// Removes an agent; what was allocated on it leaves every share, its
    /// reservations leave their roles' guarantee consumption, and filters
    /// on it are dropped.
    pub fn remove_agent(&mut self, agent: &AgentId) -> Result<(), AllocatorError> {
        let mut ledger = ledger!(self);
        let (ix, state) = ledger
            .remove_agent(agent)
            .ok_or_else(|| logged(AllocatorError::UnknownAgent(agent.clone())))?;
        let pools = state.pools().iter().filter_map(|p| p.reservation());
        let held = state.holdings().iter().map(|h| h.slot().role);
        ledger.forget_unused_roles(pools.chain(held));
        self.filters.clear_agent(ix);
        let named: Vec<NameId> = state
            .pools()
            .iter()
            .flat_map(|p| p.total().iter().map(|(n, _)| n))
            .collect();
        self.forget_unused_names(named);
        Ok(())
    }

    /// Drains `agent` for maintenance: from now on its resources are
    /// offered to nobody, in no stage (guarantees, fair share, lending),
    /// and its free resources are not available toward guarantees (see the
    /// [module docs](super)). What frameworks hold there stays held until
    /// recovered; recovering works as usual. Deactivating an inactive agent
    /// changes nothing.
    pub fn deactivate_agent(&mut self, agent: &AgentId) -> Result<(), AllocatorError> {
        self.set_agent_active(agent, false)
    }

    /// Ends [`Self::deactivate_agent`]: the agent's free resources are
    /// offered again from the next cycle. Activating an active agent changes
    /// nothing.
    pub fn activate_agent(&mut self, agent: &AgentId) -> Result<(), AllocatorError> {
        self.set_agent_active(agent, true)
    }

    fn set_agent_active(&mut self, agent: &AgentId, active: bool) -> Result<(), AllocatorError> {
        let ix = self.agent_ix(agent)?;
        self.agents
            .set_active(ix, active)
            .ok_or_else(|| logged(AllocatorError::UnknownAgent(agent.clone())))
    }

    /// Adds a framework, active. `spec.suppressed` must be a subset of
    /// `spec.roles` (else [`AllocatorError::UnknownRole`]); role names must
    /// be valid. A framework may subscribe to a role that has child roles.
    pub fn add_framework(
        &mut self,
        fw: FrameworkId,
        spec: FrameworkSpec,
    ) -> Result<(), AllocatorError> {
        if self.frameworks.id(&fw).is_some() {
            return Err(logged(AllocatorError::DuplicateFramework(fw)));
        }
        check_spec(&fw, &spec)?;
        let (roles, suppressed) = self.intern_spec(&spec)?;
        let subscribed = roles.clone();
        let id = self.frameworks.add(fw.clone(), spec, roles, suppressed);
        for role in subscribed {
            self.roles.subscribe(role, &fw, id);
        }
        Ok(())
    }

    /// Replaces a framework's roles, suppressed roles and capabilities.
    /// Allocations under roles it leaves stay accounted (and recoverable)
    /// until recovered; its filters for those roles are dropped. Dropping
    /// the revocable capability stops lending to it; what it was lent stays
    /// accounted until recovered.
    pub fn update_framework(
        &mut self,
        fw: &FrameworkId,
        spec: FrameworkSpec,
    ) -> Result<(), AllocatorError> {
        let id = self.fw_id(fw)?;
        check_spec(fw, &spec)?;
        let (roles, suppressed) = self.intern_spec(&spec)?;
        let new = roles.clone();
        let Some(old) = self.frameworks.update(id, spec, roles, suppressed) else {
            return Err(logged(AllocatorError::UnknownFramework(fw.clone())));
        };
        for role in old.difference(&new) {
            self.roles.unsubscribe(*role, fw);
            self.filters.clear_role(id, *role);
        }
        for role in new.difference(&old) {
            self.roles.subscribe(*role, fw, id);
        }
        ledger!(self).forget_unused_roles(old.difference(&new).copied());
        Ok(())
    }

    /// Removes a framework and recovers everything still allocated to it,
    /// regular and lent.
    pub fn remove_framework(&mut self, fw: &FrameworkId) -> Result<(), AllocatorError> {
        let mut ledger = ledger!(self);
        let (id, state) = ledger
            .remove_framework(fw)
            .ok_or_else(|| logged(AllocatorError::UnknownFramework(fw.clone())))?;
        ledger.forget_unused_roles(state.roles().iter().copied().chain(state.held_roles()));
        self.filters.clear_framework(id);
        Ok(())
    }

    /// Marks a framework connected (`true`) or disconnected (`false`). An
    /// inactive framework gets no offers but keeps its allocations and
    /// filters.
    pub fn activate_framework(
        &mut self,
        fw: &FrameworkId,
        active: bool,
    ) -> Result<(), AllocatorError> {
        let id = self.fw_id(fw)?;
        self.frameworks.set_active(id, active);
        Ok(())
    }

    /// Stops offers to `fw` for `roles` (empty: all its roles) until
    /// revived. A suppressed framework is no implicit demand.
    pub fn suppress(&mut self, fw: &FrameworkId, roles: &[Role]) -> Result<(), AllocatorError> {
        let (id, roles) = self.resolve_roles(fw, roles)?;
        self.frameworks.set_suppressed(id, roles, true);
        Ok(())
    }

    /// Resumes offers to `fw` for `roles` (empty: all its roles): clears
    /// suppression and drops its filters for those roles.
    pub fn revive(&mut self, fw: &FrameworkId, roles: &[Role]) -> Result<(), AllocatorError> {
        let (id, roles) = self.resolve_roles(fw, roles)?;
        for (_, role) in &roles {
            self.filters.clear_role(id, *role);
        }
        self.frameworks.set_suppressed(id, roles, false);
        Ok(())
    }

    /// Gives back resources `fw` holds on `agent`, in `allocated_to(role)`
    /// form (revocable entries are lent resources going back to their pool).
    ///
    /// With `refuse: Some(d)` and `d > 0`, the framework is not offered
    /// resources on that agent under that role that the recovered ones
    /// contain until `now + max(d, allocation_interval)`. `Some(0)` and `None`
    /// set no filter, and so does a role the framework is no longer
    /// subscribed to. Resources the framework does not hold there, or
    /// entries without an allocation role, are refused with
    /// [`AllocatorError::NotAllocated`] and nothing changes. Empty
    /// `resources` is a no-op (no filter either), as in Mesos.
    pub fn recover(
        &mut self,
        now: Duration,
        fw: &FrameworkId,
        agent: &AgentId,
        resources: &Resources,
        refuse: Option<Duration>,
    ) -> Result<(), AllocatorError> {
        let ctx = Recover {
            names: &self.names,
            filters: &mut self.filters,
            allocation_interval: self.config.allocation_interval,
        };
        recover::recover(ledger!(self), ctx, now, (fw, agent), resources, refuse)?;
        // A role the framework left may be referred to by nothing now.
        let mut left = BTreeSet::new();
        if let Some(state) = self.frameworks.by_id(fw) {
            for r in resources.iter() {
                if let Some(id) = r.allocation.as_ref().and_then(|a| self.roles.lookup(a)) {
                    if !state.roles().contains(&id) {
                        left.insert(id);
                    }
                }
            }
        }
        if !left.is_empty() {
            ledger!(self).forget_unused_roles(left);
        }
        Ok(())
    }

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
        reservations::reserve(ledger!(self), &self.names, agent, role, resources)
    }

    /// Unreserves `resources` (reserved, unallocated, non-revocable entries,
    /// possibly for several roles) on `agent`. Refused, changing nothing,
    /// unless the agent has them unallocated.
    pub fn unreserve(
        &mut self,
        agent: &AgentId,
        resources: &Resources,
    ) -> Result<(), AllocatorError> {
        reservations::unreserve(ledger!(self), &self.names, agent, resources)
    }

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
        convert::reserve_allocated(ledger!(self), &self.names, (fw, agent), role, resources)
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
        convert::unreserve_allocated(ledger!(self), &self.names, (fw, agent), resources)
    }

    /// Runs one batch allocation cycle at time `now` and returns the
    /// allocations made, grouped by agent in visiting order. Regular and
    /// lent (revocable) resources never share an allocation.
    pub fn allocate(&mut self, now: Duration) -> Vec<Allocation> {
        Cycle {
            names: &self.names,
            min_allocatable: &self.min_allocatable,
            rng: &mut self.rng,
            agents: &mut self.agents,
            frameworks: &mut self.frameworks,
            roles: &mut self.roles,
            quotas: &mut self.quotas,
            filters: &mut self.filters,
            from_scratch: self.from_scratch,
        }
        .run(now)
    }

    // ---- helpers of the calls above ----

    /// The roles `roles` names for `fw` (all its roles when empty), each
    /// checked to be one of its roles, with their ids.
    fn resolve_roles(
        &self,
        fw: &FrameworkId,
        roles: &[Role],
    ) -> Result<(FwId, Vec<(Role, RoleId)>), AllocatorError> {
        let id = self.fw_id(fw)?;
        let state = self
            .frameworks
            .get(id)
            .ok_or_else(|| logged(AllocatorError::UnknownFramework(fw.clone())))?;
        let names: Vec<Role> = if roles.is_empty() {
            state.spec().roles.iter().cloned().collect()
        } else {
            roles.to_vec()
        };
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            match self.roles.lookup(&name) {
                Some(role) if state.roles().contains(&role) => out.push((name, role)),
                _ => {
                    return Err(logged(AllocatorError::UnknownRole {
                        framework: fw.clone(),
                        role: name,
                    }))
                }
            }
        }
        Ok((id, out))
    }

    /// Validates every role name of `spec`, then interns them.
    fn intern_spec(
        &mut self,
        spec: &FrameworkSpec,
    ) -> Result<(BTreeSet<RoleId>, BTreeSet<RoleId>), AllocatorError> {
        for role in &spec.roles {
            role.validate().map_err(|err| invalid_role(role, &err))?;
        }
        let mut roles = BTreeSet::new();
        let mut suppressed = BTreeSet::new();
        for role in &spec.roles {
            let id = self.roles.intern(role)?;
            roles.insert(id);
            if spec.suppressed.contains(role) {
                suppressed.insert(id);
            }
        }
        Ok((roles, suppressed))
    }
}
