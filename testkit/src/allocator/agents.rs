//! Agents coming and going: splitting an agent's resources into pools (one
//! per owner), taking everything allocated on a removed agent out of every
//! sum, and draining an agent for maintenance (inactive: offered to nobody,
//! its free resources out of `free_unreserved`).

use std::collections::BTreeMap;

use corral::{AgentId, Resources, Value};

use super::qty::Qty;
use super::roles::HeldKind;
use super::{logged, AgentIx, AgentState, Allocator, AllocatorError, Holding, Pool, RoleId};

impl AgentState {
    /// The pool of resources reserved for `reservation` (`None`:
    /// unreserved), agent-native revocable or not.
    pub(crate) fn pool_ix(&self, reservation: Option<RoleId>, native: bool) -> Option<usize> {
        self.pools
            .iter()
            .position(|p| p.reservation == reservation && p.native_revocable == native)
    }

    /// The unreserved, non-revocable pool, if the agent has one.
    pub(crate) fn unreserved(&self) -> Option<&Pool> {
        self.pools.iter().find(|p| p.is_unreserved())
    }

    /// The (non-native) pool for `reservation`, created empty if missing.
    pub(crate) fn pool_or_new(&mut self, reservation: Option<RoleId>) -> usize {
        match self.pool_ix(reservation, false) {
            Some(p) => p,
            None => {
                self.pools.push(Pool::new(reservation, false));
                self.pools.len() - 1
            }
        }
    }

    /// True when what pool `p` has available is part of the allocator's
    /// `free_unreserved`: the pool is the unreserved regular one and the
    /// agent is active.
    pub(crate) fn counts_free(&self, p: usize) -> bool {
        self.active && self.pools.get(p).is_some_and(Pool::is_unreserved)
    }
}

impl Pool {
    fn new(reservation: Option<RoleId>, native_revocable: bool) -> Self {
        Self {
            reservation,
            native_revocable,
            total: Qty::default(),
            avail: Qty::default(),
            other_total: Resources::new(),
            other_avail: Resources::new(),
        }
    }

    /// Unreserved and not agent-native revocable.
    pub(crate) fn is_unreserved(&self) -> bool {
        self.reservation.is_none() && !self.native_revocable
    }

    /// Nothing of it is unallocated.
    pub(crate) fn is_exhausted(&self) -> bool {
        self.avail.is_zero() && self.other_avail.is_empty()
    }
}

/// The kind of holding a pool gives: lent, or regular reserved/unreserved.
pub(crate) fn held_kind(pool: &Pool, lent: bool) -> HeldKind {
    if lent {
        HeldKind::Lent
    } else if pool.reservation.is_some() {
        HeldKind::RegularReserved
    } else {
        HeldKind::RegularUnreserved
    }
}

impl Allocator {
    /// Adds an agent with these resources (allocation roles in `total`, if
    /// any, are ignored: everything starts available). Entries reserved for
    /// a role are offered only to that role's subtree; agent-native
    /// revocable entries are tracked but never offered. An invalid
    /// reservation role is refused.
    pub fn add_agent(&mut self, agent: AgentId, total: Resources) -> Result<(), AllocatorError> {
        if self.agent_index.contains_key(&agent) {
            return Err(logged(AllocatorError::DuplicateAgent(agent)));
        }
        let total = total.unallocated();
        for r in total.iter() {
            if let Some(role) = &r.reservation {
                role.validate().map_err(|err| {
                    logged(AllocatorError::InvalidRole {
                        role: role.clone(),
                        why: err.to_string(),
                    })
                })?;
            }
        }
        let mut pools: BTreeMap<(Option<RoleId>, bool), Pool> = BTreeMap::new();
        for r in total.iter() {
            let reservation = match &r.reservation {
                Some(role) => Some(self.roles.intern(role).map_err(logged)?),
                None => None,
            };
            let pool = pools
                .entry((reservation, r.revocable))
                .or_insert_with(|| Pool::new(reservation, r.revocable));
            match r.value {
                Value::Scalar(s) => {
                    let id = self.names.intern(&r.name);
                    pool.total.set(id, pool.total.get(id) + s.millis());
                }
                _ => pool.other_total.push(r.clone()),
            }
        }
        let ix = self.agents.len();
        let mut state = AgentState {
            id: agent.clone(),
            total,
            pools: Vec::with_capacity(pools.len()),
            holdings: Vec::new(),
            active: true,
        };
        for (_, mut pool) in pools {
            pool.avail = pool.total.clone();
            pool.other_avail = pool.other_total.clone();
            self.cluster_total.add(&pool.total);
            match (pool.reservation, pool.native_revocable) {
                (None, false) => self.free_unreserved.add(&pool.avail),
                (Some(role), false) => self.roles.change_reserved(role, &pool.total, true),
                _ => {}
            }
            state.pools.push(pool);
        }
        self.agents.push(Some(state));
        self.agent_index.insert(agent, ix);
        Ok(())
    }

    /// Removes an agent; what was allocated on it leaves every share, its
    /// reservations leave their roles' guarantee consumption, and filters
    /// on it are dropped.
    pub fn remove_agent(&mut self, agent: &AgentId) -> Result<(), AllocatorError> {
        let ix = self.agent_ix(agent)?;
        self.agent_index.remove(agent);
        let Some(state) = self.agents.get_mut(ix).and_then(Option::take) else {
            return Ok(());
        };
        for h in &state.holdings {
            self.forget_holding(ix, &state, h);
        }
        for pool in &state.pools {
            self.cluster_total.sub(&pool.total);
            match (pool.reservation, pool.native_revocable) {
                (None, false) if state.active => self.free_unreserved.sub(&pool.avail),
                (None, false) => {}
                (Some(role), false) => self.roles.change_reserved(role, &pool.total, false),
                _ => {}
            }
        }
        self.filters.clear_agent(ix);
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
        let Some(state) = self.agents.get_mut(ix).and_then(Option::as_mut) else {
            return Err(logged(AllocatorError::UnknownAgent(agent.clone())));
        };
        if state.active == active {
            return Ok(());
        }
        state.active = active;
        if let Some(pool) = state.unreserved() {
            if active {
                self.free_unreserved.add(&pool.avail);
            } else {
                self.free_unreserved.sub(&pool.avail);
            }
        }
        Ok(())
    }

    /// Takes holding `h` of agent `ix` out of its framework's and roles'
    /// sums (the agent's own books are the caller's).
    fn forget_holding(&mut self, ix: AgentIx, agent: &AgentState, h: &Holding) {
        if let Some(fw) = self.frameworks.get_mut(h.fw).and_then(Option::as_mut) {
            if let Some(held) = fw.held.get_mut(&h.role) {
                held.sub(&h.qty);
                if held.is_zero() {
                    fw.held.remove(&h.role);
                }
            }
            fw.agents.remove(&ix);
        }
        let kind = held_kind(&agent.pools[h.pool], h.lent);
        self.roles.sub_held(h.role, &h.qty, kind);
    }
}
