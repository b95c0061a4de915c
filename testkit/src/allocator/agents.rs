//! The agent book: every agent's resources split into pools (one per
//! owner: unreserved, reserved for one role, agent-native revocable), what
//! each framework holds there, whether the agent is active (drained agents
//! are offered nothing), and two cluster sums kept exact as resources move:
//! the total of every agent's scalars and the free unreserved resources of
//! the active agents. Its invariants ([`AgentBook::check_invariants`]): no
//! pool is over-allocated, held plus available is the total in every pool,
//! and both cluster sums equal a recomputation.
//!
//! It keeps the *open* agents: active ones with something available in an
//! offerable pool, the only ones a cycle visits, in the cycle's order
//! ([`AgentBook::visiting_order`]). It also counts, per role, the pools
//! reserved for it and the holdings
//! under it ([`AgentBook::refers_to`]), so a role in use here is never
//! forgotten. Removed agents free their slot; the lowest free slot is
//! reused first and free slots at the end are dropped.
//!
//! The book moves resources within one agent only; what a move means for a
//! framework's or a role's sums is the ledger's (`ledger.rs`).

use std::collections::{BTreeMap, BTreeSet};

use corral::{AgentId, Resources, Role, Value};

use super::qty::{Names, Qty};
use super::types::{AgentIx, FwId, HeldKind, RoleId, Slot};

/// A part of an agent's resources with one owner: unreserved, or reserved
/// for one role; agent-native revocable resources are a pool of their own
/// (tracked, never offered: lending replaces oversubscription here).
#[derive(Clone, Debug)]
pub(crate) struct Pool {
    reservation: Option<RoleId>,
    native_revocable: bool,
    total: Qty,
    avail: Qty,
    /// Non-scalar entries (ports, sets), unallocated form.
    other_total: Resources,
    other_avail: Resources,
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

    /// The role it is reserved for (`None`: unreserved).
    #[inline]
    pub(crate) fn reservation(&self) -> Option<RoleId> {
        self.reservation
    }

    /// Agent-native revocable resources: tracked, never offered.
    #[inline]
    pub(crate) fn is_native_revocable(&self) -> bool {
        self.native_revocable
    }

    /// Everything in it (scalars).
    #[inline]
    pub(crate) fn total(&self) -> &Qty {
        &self.total
    }

    /// Its unallocated scalars.
    #[inline]
    pub(crate) fn avail(&self) -> &Qty {
        &self.avail
    }

    /// Its unallocated non-scalars (unallocated form).
    #[inline]
    pub(crate) fn other_avail(&self) -> &Resources {
        &self.other_avail
    }

    /// Unreserved and not agent-native revocable.
    #[inline]
    pub(crate) fn is_unreserved(&self) -> bool {
        self.reservation.is_none() && !self.native_revocable
    }

    /// Nothing of it is unallocated.
    #[inline]
    pub(crate) fn is_exhausted(&self) -> bool {
        self.avail.is_zero() && self.other_avail.is_empty()
    }

    /// The kind of holding it gives: lent, or regular reserved/unreserved.
    pub(crate) fn held_kind(&self, lent: bool) -> HeldKind {
        if lent {
            HeldKind::Lent
        } else if self.reservation.is_some() {
            HeldKind::RegularReserved
        } else {
            HeldKind::RegularUnreserved
        }
    }
}

/// What one framework holds on one agent from one pool under one role,
/// regular or lent (revocable). Never empty.
#[derive(Clone, Debug)]
pub(crate) struct Holding {
    slot: Slot,
    qty: Qty,
    /// Non-scalar entries, in the pool's (unmarked) form.
    other: Resources,
}

impl Holding {
    /// Whose, under which role, from which pool, lent or not.
    #[inline]
    pub(crate) fn slot(&self) -> Slot {
        self.slot
    }

    /// Its scalars.
    #[inline]
    pub(crate) fn qty(&self) -> &Qty {
        &self.qty
    }

    /// Its non-scalars, in the pool's form.
    #[inline]
    pub(crate) fn other(&self) -> &Resources {
        &self.other
    }

    /// It holds at least `qty` and `other`.
    #[inline]
    fn contains(&self, qty: &Qty, other: &Resources) -> bool {
        self.qty.contains(qty) && self.other.contains(other)
    }
}

/// One agent's bookkeeping.
#[derive(Clone, Debug)]
pub(crate) struct AgentState {
    id: AgentId,
    /// Everything it has (unallocated form).
    total: Resources,
    pools: Vec<Pool>,
    /// No empty holdings.
    holdings: Vec<Holding>,
    /// False while drained for maintenance: nothing of it is offered and
    /// its free unreserved resources are not in `free_unreserved`.
    active: bool,
    /// A hash of its id: a cycle's visiting order sorts agents by this
    /// mixed with the cycle's random draw (see [`AgentBook::visiting_order`]).
    order_key: u64,
}

impl AgentState {
    /// Its id.
    #[inline]
    pub(crate) fn id(&self) -> &AgentId {
        &self.id
    }

    /// Everything it has (unallocated form).
    #[inline]
    pub(crate) fn total(&self) -> &Resources {
        &self.total
    }

    /// Its pools.
    #[inline]
    pub(crate) fn pools(&self) -> &[Pool] {
        &self.pools
    }

    /// What frameworks hold on it.
    #[inline]
    pub(crate) fn holdings(&self) -> &[Holding] {
        &self.holdings
    }

    /// Not drained for maintenance.
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        self.active
    }

    /// The pool of resources reserved for `reservation` (`None`:
    /// unreserved), agent-native revocable or not.
    #[inline]
    pub(crate) fn pool_ix(&self, reservation: Option<RoleId>, native: bool) -> Option<usize> {
        self.pools
            .iter()
            .position(|p| p.reservation == reservation && p.native_revocable == native)
    }

    /// Something of it could be offered: it is active and one of its
    /// offerable pools (not agent-native revocable) is not exhausted.
    #[inline]
    fn is_open(&self) -> bool {
        self.active
            && self
                .pools
                .iter()
                .any(|p| !p.native_revocable && !p.is_exhausted())
    }

    /// The unreserved, non-revocable pool, if the agent has one.
    #[inline]
    pub(crate) fn unreserved(&self) -> Option<&Pool> {
        self.pools.iter().find(|p| p.is_unreserved())
    }

    /// The holding at `slot`, if any.
    #[inline]
    pub(crate) fn holding(&self, slot: Slot) -> Option<&Holding> {
        self.holdings.iter().find(|h| h.slot == slot)
    }

    /// The holding at `slot` contains `qty` and `other`.
    #[inline]
    pub(crate) fn holds(&self, slot: Slot, qty: &Qty, other: &Resources) -> bool {
        self.holding(slot).is_some_and(|h| h.contains(qty, other))
    }

    /// Pool `pool` has `qty` and `other` unallocated.
    #[inline]
    pub(crate) fn has_free(&self, pool: usize, qty: &Qty, other: &Resources) -> bool {
        self.pools
            .get(pool)
            .is_some_and(|p| p.avail.contains(qty) && p.other_avail.contains(other))
    }

    /// Everything lent from pool `p`.
    pub(crate) fn lent_from(&self, p: usize) -> Qty {
        let mut q = Qty::default();
        for h in self
            .holdings
            .iter()
            .filter(|h| h.slot.lent && h.slot.pool == p)
        {
            q.add(&h.qty);
        }
        q
    }

    /// True when what pool `p` has available is part of the book's
    /// `free_unreserved`: the pool is the unreserved regular one and the
    /// agent is active.
    #[inline]
    fn counts_free(&self, p: usize) -> bool {
        self.active && self.pools.get(p).is_some_and(Pool::is_unreserved)
    }

    /// The (non-native) pool for `reservation`, created empty if missing
    /// (counted in `refs`).
    fn pool_or_new(&mut self, reservation: Option<RoleId>, refs: &mut RoleRefs) -> usize {
        match self.pool_ix(reservation, false) {
            Some(p) => p,
            None => {
                if let Some(role) = reservation {
                    refs.bump(role, true);
                }
                self.pools.push(Pool::new(reservation, false));
                self.pools.len() - 1
            }
        }
    }

    /// Adds `qty`/`other` to the holding at `slot`; true when it was
    /// created (the caller counts it in the role references).
    fn add_to_holding(&mut self, slot: Slot, qty: &Qty, other: &Resources) -> bool {
        match self.holdings.iter_mut().find(|h| h.slot == slot) {
            Some(h) => {
                h.qty.add(qty);
                h.other += other;
                false
            }
            None => {
                // Most agents hold one framework's resources: room for one
                // (a `Vec` would make room for four).
                if self.holdings.capacity() == 0 {
                    self.holdings.reserve_exact(1);
                }
                self.holdings.push(Holding {
                    slot,
                    qty: qty.clone(),
                    other: other.clone(),
                });
                true
            }
        }
    }

    /// Takes `qty`/`other` off the holding at `slot`; true when that
    /// emptied and dropped it (the caller uncounts it in the role
    /// references).
    fn take_from_holding(&mut self, slot: Slot, qty: &Qty, other: &Resources) -> bool {
        if let Some(at) = self.holdings.iter().position(|h| h.slot == slot) {
            let h = &mut self.holdings[at];
            h.qty.sub(qty);
            // The caller validated that the holding contains `other`.
            let _ = h.other.subtract(other);
            if h.qty.is_zero() && h.other.is_empty() {
                self.holdings.swap_remove(at);
                return true;
            }
        }
        false
    }

    /// Every role its pools are reserved for and its holdings are under,
    /// once per pool and holding.
    fn role_refs(&self) -> impl Iterator<Item = RoleId> + '_ {
        let pools = self.pools.iter().filter_map(|p| p.reservation);
        pools.chain(self.holdings.iter().map(|h| h.slot.role))
    }
}

/// Per role id: how many pools are reserved for it and how many holdings
/// are under it, on every agent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct RoleRefs(Vec<u32>);

impl RoleRefs {
    #[inline]
    fn bump(&mut self, role: RoleId, up: bool) {
        match self.0.get_mut(role) {
            Some(n) if up => *n += 1,
            Some(n) if *n > 1 => *n -= 1,
            _ => self.bump_slow(role, up),
        }
    }

    /// [`Self::bump`] when the vector grows or an entry drops to zero.
    #[cold]
    #[inline(never)]
    fn bump_slow(&mut self, role: RoleId, up: bool) {
        if self.0.len() <= role {
            self.0.resize(role + 1, 0);
        }
        let n = &mut self.0[role];
        *n = if up { *n + 1 } else { n.saturating_sub(1) };
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    #[inline]
    fn get(&self, role: RoleId) -> u32 {
        self.0.get(role).copied().unwrap_or(0)
    }
}

/// The agents a cycle has to visit: active ones with something available
/// (see [`AgentState::is_open`]), kept as every change of an agent's pools
/// or maintenance happens, so a cycle after a few frees visits those few
/// agents, not the cluster. A set with `O(1)` insert and remove.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct OpenSet {
    /// Per agent slot: its position in `list`, or `usize::MAX`.
    pos: Vec<usize>,
    list: Vec<AgentIx>,
}

impl OpenSet {
    #[inline]
    fn contains(&self, ix: AgentIx) -> bool {
        self.pos.get(ix).is_some_and(|p| *p != usize::MAX)
    }

    #[inline]
    fn set(&mut self, ix: AgentIx, open: bool) {
        if open == self.contains(ix) {
            return;
        }
        if open {
            if self.pos.len() <= ix {
                self.pos.resize(ix + 1, usize::MAX);
            }
            self.pos[ix] = self.list.len();
            self.list.push(ix);
        } else {
            let at = self.pos[ix];
            self.pos[ix] = usize::MAX;
            self.list.swap_remove(at);
            if let Some(moved) = self.list.get(at) {
                self.pos[*moved] = at;
            }
        }
    }
}

/// Sorts by key, least significant byte first (eight counting passes, each
/// linear): for the thousands of agents of a cycle several times cheaper
/// than a comparison sort. Short lists use the comparison sort.
fn radix_sort(keyed: &mut Vec<(u64, AgentIx)>) {
    if keyed.len() < 64 {
        keyed.sort_unstable_by_key(|k| k.0);
        return;
    }
    let mut other = vec![(0, 0); keyed.len()];
    for pass in 0..8 {
        let digit = |k: u64| ((k >> (8 * pass)) & 0xff) as usize;
        let mut start = [0usize; 256];
        for (k, _) in keyed.iter() {
            start[digit(*k)] += 1;
        }
        let mut sum = 0;
        for s in start.iter_mut() {
            let n = *s;
            *s = sum;
            sum += n;
        }
        for entry in keyed.iter() {
            let d = digit(entry.0);
            other[start[d]] = *entry;
            start[d] += 1;
        }
        std::mem::swap(keyed, &mut other);
    }
}

/// A stable 64-bit hash of an agent id (FNV-1a, then a SplitMix64
/// finaliser): the same on every platform and run, independent of slots.
fn order_key(agent: &AgentId) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in agent.as_str().bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

/// The SplitMix64 finaliser: every input bit moves every output bit.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// An agent's pools being built by [`AgentBook::add`]: the caller names the
/// reservation role of each entry.
pub(crate) type ReservationIds<'a> = &'a BTreeMap<Role, RoleId>;

/// Every agent, by slot and by id, and the cluster sums.
#[derive(Clone, Debug, Default)]
pub(crate) struct AgentBook {
    agents: Vec<Option<AgentState>>,
    index: BTreeMap<AgentId, AgentIx>,
    /// Empty slots below the end of `agents`, reused lowest first.
    free: BTreeSet<AgentIx>,
    /// The roles the pools and holdings refer to.
    role_refs: RoleRefs,
    /// Scalar sums of every agent's total.
    cluster_total: Qty,
    /// Unallocated unreserved (non-native) resources of the active agents.
    free_unreserved: Qty,
    /// The agents with something to offer.
    open: OpenSet,
}

impl AgentBook {
    /// The slot of `agent`, if known.
    #[inline]
    pub(crate) fn ix(&self, agent: &AgentId) -> Option<AgentIx> {
        self.index.get(agent).copied()
    }

    /// The agent in slot `ix`, if it is still there.
    #[inline]
    pub(crate) fn get(&self, ix: AgentIx) -> Option<&AgentState> {
        self.agents.get(ix).and_then(Option::as_ref)
    }

    /// The agent with this id, if known.
    #[inline]
    pub(crate) fn by_id(&self, agent: &AgentId) -> Option<&AgentState> {
        self.get(self.ix(agent)?)
    }

    /// Every agent's slot, by agent id.
    #[inline]
    pub(crate) fn slots(&self) -> impl Iterator<Item = (&AgentId, AgentIx)> {
        self.index.iter().map(|(k, v)| (k, *v))
    }

    /// The active agents' slots, by agent id.
    #[inline]
    pub(crate) fn active_slots(&self) -> Vec<AgentIx> {
        self.index
            .values()
            .copied()
            .filter(|ix| self.get(*ix).is_some_and(|a| a.active))
            .collect()
    }

    /// The agents a cycle visits, in its order: every agent that may have
    /// something to offer (`all`: every active agent, as a pass from
    /// scratch would) sorted by its id's hash mixed with `draw`, the
    /// cycle's random number (ties by id). A random permutation per cycle
    /// whose restriction to any subset is that subset's own order, so
    /// visiting only the open agents gives the same outcome as visiting
    /// every agent: the others have nothing to offer and are skipped.
    pub(crate) fn visiting_order(&self, draw: u64, all: bool) -> Vec<AgentIx> {
        let mut keyed: Vec<(u64, AgentIx)> = if all {
            self.index
                .values()
                .filter_map(|ix| {
                    let a = self.get(*ix)?;
                    a.active.then(|| (mix(a.order_key ^ draw), *ix))
                })
                .collect()
        } else {
            self.open
                .list
                .iter()
                .filter_map(|ix| Some((mix(self.get(*ix)?.order_key ^ draw), *ix)))
                .collect()
        };
        radix_sort(&mut keyed);
        // Equal keys (two ids hashing alike: practically never) go by id.
        let id = |ix: AgentIx| self.get(ix).map(AgentState::id);
        let mut at = 0;
        while at < keyed.len() {
            let run = keyed[at..]
                .iter()
                .take_while(|k| k.0 == keyed[at].0)
                .count();
            if run > 1 {
                keyed[at..at + run].sort_unstable_by(|a, b| id(a.1).cmp(&id(b.1)));
            }
            at += run;
        }
        keyed.into_iter().map(|(_, ix)| ix).collect()
    }

    /// How many agents may have something to offer.
    #[cfg(test)]
    #[inline]
    pub(crate) fn open_count(&self) -> usize {
        self.open.list.len()
    }

    /// Re-files agent `ix` in the open set after a change.
    #[inline]
    fn touch(&mut self, ix: AgentIx) {
        let open = self.get(ix).is_some_and(AgentState::is_open);
        self.open.set(ix, open);
    }

    /// Some pool is reserved for `role` or some holding is under it.
    #[inline]
    pub(crate) fn refers_to(&self, role: RoleId) -> bool {
        self.role_refs.get(role) > 0
    }

    /// How many agent slots there are, empty ones below the last agent
    /// included.
    #[cfg(test)]
    #[inline]
    pub(crate) fn slot_count(&self) -> usize {
        self.agents.len()
    }

    /// Scalar sums of every agent's total.
    #[inline]
    pub(crate) fn cluster_total(&self) -> &Qty {
        &self.cluster_total
    }

    /// Unallocated unreserved resources of the active agents.
    #[inline]
    pub(crate) fn free_unreserved(&self) -> &Qty {
        &self.free_unreserved
    }

    #[inline]
    fn state_mut(&mut self, ix: AgentIx) -> Option<&mut AgentState> {
        self.agents.get_mut(ix).and_then(Option::as_mut)
    }

    /// Sets what the agent has, in unallocated form, after a reservation
    /// moved resources between its pools (the pools are moved with
    /// [`Self::move_free`] or [`Self::move_held`]).
    #[inline]
    pub(crate) fn set_total(&mut self, ix: AgentIx, total: Resources) {
        if let Some(state) = self.state_mut(ix) {
            state.total = total;
        }
    }

    /// Adds an agent with `total` (unallocated form, reservation roles
    /// validated and named in `reservations`), everything available.
    /// Returns its slot and what it reserves for which role, for the role
    /// book. `None` when the id is taken or a reservation is not named.
    pub(crate) fn add(
        &mut self,
        agent: AgentId,
        total: Resources,
        names: &mut Names,
        reservations: ReservationIds<'_>,
    ) -> Option<(AgentIx, Vec<(RoleId, Qty)>)> {
        if self.index.contains_key(&agent) {
            return None;
        }
        let mut pools: BTreeMap<(Option<RoleId>, bool), Pool> = BTreeMap::new();
        for r in total.iter() {
            let reservation = match &r.reservation {
                Some(role) => Some(*reservations.get(role)?),
                None => None,
            };
            let pool = pools
                .entry((reservation, r.revocable))
                .or_insert_with(|| Pool::new(reservation, r.revocable));
            match r.value {
                Value::Scalar(s) => {
                    let id = names.intern(&r.name);
                    pool.total.set(id, pool.total.get(id) + s.millis());
                }
                _ => pool.other_total.push(r.clone()),
            }
        }
        let mut state = AgentState {
            id: agent.clone(),
            total,
            pools: Vec::with_capacity(pools.len()),
            holdings: Vec::new(),
            active: true,
            order_key: order_key(&agent),
        };
        let mut reserved = Vec::new();
        for (_, mut pool) in pools {
            pool.avail = pool.total.clone();
            pool.other_avail = pool.other_total.clone();
            self.cluster_total.add(&pool.total);
            match (pool.reservation, pool.native_revocable) {
                (None, false) => self.free_unreserved.add(&pool.avail),
                (Some(role), false) => reserved.push((role, pool.total.clone())),
                _ => {}
            }
            if let Some(role) = pool.reservation {
                self.role_refs.bump(role, true);
            }
            state.pools.push(pool);
        }
        let ix = match self.free.pop_first() {
            Some(ix) => {
                self.agents[ix] = Some(state);
                ix
            }
            None => {
                self.agents.push(Some(state));
                self.agents.len() - 1
            }
        };
        self.index.insert(agent, ix);
        self.touch(ix);
        Some((ix, reserved))
    }

    /// Removes an agent and its pools from the cluster sums; returns it
    /// (with its holdings, for the ledger to take out of the other books).
    pub(crate) fn remove(&mut self, agent: &AgentId) -> Option<(AgentIx, AgentState)> {
        let ix = self.index.remove(agent)?;
        let state = self.agents.get_mut(ix).and_then(Option::take)?;
        self.open.set(ix, false);
        for pool in &state.pools {
            self.cluster_total.sub(&pool.total);
            if pool.is_unreserved() && state.active {
                self.free_unreserved.sub(&pool.avail);
            }
        }
        for role in state.role_refs() {
            self.role_refs.bump(role, false);
        }
        self.free.insert(ix);
        while self.agents.last().is_some_and(Option::is_none) {
            self.agents.pop();
            self.free.remove(&self.agents.len());
        }
        self.open.pos.truncate(self.agents.len());
        Some((ix, state))
    }

    /// Marks the agent active or drained; `None` when unknown.
    pub(crate) fn set_active(&mut self, ix: AgentIx, active: bool) -> Option<()> {
        let state = self.agents.get_mut(ix).and_then(Option::as_mut)?;
        if state.active == active {
            return Some(());
        }
        state.active = active;
        if let Some(pool) = state.pools.iter().find(|p| p.is_unreserved()) {
            if active {
                self.free_unreserved.add(&pool.avail);
            } else {
                self.free_unreserved.sub(&pool.avail);
            }
        }
        self.touch(ix);
        Some(())
    }

    /// Moves `qty`/`other` (validated: available) from pool `slot.pool`
    /// of agent `ix` into the holding at `slot`; returns the kind of
    /// holding it is.
    pub(crate) fn take(
        &mut self,
        ix: AgentIx,
        slot: Slot,
        qty: &Qty,
        other: &Resources,
    ) -> Option<HeldKind> {
        let state = self.agents.get_mut(ix).and_then(Option::as_mut)?;
        if state.counts_free(slot.pool) {
            self.free_unreserved.sub(qty);
        }
        let pool = state.pools.get_mut(slot.pool)?;
        pool.avail.sub(qty);
        if !other.is_empty() {
            let _ = pool.other_avail.subtract(other);
        }
        let kind = pool.held_kind(slot.lent);
        let exhausted = pool.is_exhausted();
        if state.add_to_holding(slot, qty, other) {
            self.role_refs.bump(slot.role, true);
        }
        if exhausted {
            self.touch(ix);
        }
        Some(kind)
    }

    /// Moves `qty`/`other` (validated: held) from the holding at `slot`
    /// back to its pool; returns the kind of holding it was and whether the
    /// framework still holds anything on the agent.
    pub(crate) fn give_back(
        &mut self,
        ix: AgentIx,
        slot: Slot,
        qty: &Qty,
        other: &Resources,
    ) -> Option<(HeldKind, bool)> {
        let state = self.agents.get_mut(ix).and_then(Option::as_mut)?;
        if state.take_from_holding(slot, qty, other) {
            self.role_refs.bump(slot.role, false);
        }
        let still_holds = state.holdings.iter().any(|h| h.slot.fw == slot.fw);
        if state.counts_free(slot.pool) {
            self.free_unreserved.add(qty);
        }
        let pool = state.pools.get_mut(slot.pool)?;
        pool.avail.add(qty);
        if !other.is_empty() {
            pool.other_avail += other;
        }
        let kind = pool.held_kind(slot.lent);
        self.touch(ix);
        Some((kind, still_holds))
    }

    /// Gives back everything `fw` holds on agent `ix`; returns each former
    /// holding with its kind.
    pub(crate) fn release_all(&mut self, ix: AgentIx, fw: FwId) -> Vec<(Holding, HeldKind)> {
        let Some(state) = self.agents.get_mut(ix).and_then(Option::as_mut) else {
            return Vec::new();
        };
        let (gone, kept) = std::mem::take(&mut state.holdings)
            .into_iter()
            .partition::<Vec<_>, _>(|h| h.slot.fw == fw);
        state.holdings = kept;
        let mut out = Vec::with_capacity(gone.len());
        for h in gone {
            self.role_refs.bump(h.slot.role, false);
            if state.counts_free(h.slot.pool) {
                self.free_unreserved.add(&h.qty);
            }
            let pool = &mut state.pools[h.slot.pool];
            pool.avail.add(&h.qty);
            pool.other_avail += &h.other;
            let kind = pool.held_kind(h.slot.lent);
            out.push((h, kind));
        }
        self.touch(ix);
        out
    }

    /// Moves unallocated `qty`/`other` (`other` in the source pool's form,
    /// validated: available) from pool `from` of agent `ix` to its pool for
    /// `to` (with its name; created if needed). The agent's total is the
    /// caller's ([`Self::set_total`]).
    pub(crate) fn move_free(
        &mut self,
        ix: AgentIx,
        from: usize,
        to: Option<(RoleId, &Role)>,
        qty: &Qty,
        other: &Resources,
    ) {
        let Some(state) = self.agents.get_mut(ix).and_then(Option::as_mut) else {
            return;
        };
        let counts_from = state.counts_free(from);
        let src = &mut state.pools[from];
        src.avail.sub(qty);
        src.total.sub(qty);
        let _ = src.other_avail.subtract(other);
        let _ = src.other_total.subtract(other);
        let dst = state.pool_or_new(to.map(|(r, _)| r), &mut self.role_refs);
        let counts_to = state.counts_free(dst);
        let marked = match to {
            Some((_, name)) => other.reserved_to(name),
            None => other.without_reservation(),
        };
        let pool = &mut state.pools[dst];
        pool.avail.add(qty);
        pool.total.add(qty);
        pool.other_avail += &marked;
        pool.other_total += &marked;
        if counts_from {
            self.free_unreserved.sub(qty);
        }
        if counts_to {
            self.free_unreserved.add(qty);
        }
        self.touch(ix);
    }

    /// Moves held regular `qty`/`other` (validated: held at `slot`, in the
    /// pool's form) from pool `slot.pool` to the agent's pool for `to`
    /// (with its name; created if needed): both pools' totals and the
    /// holdings change, neither pool's available part does. Returns the
    /// kinds of holding before and after and the source pool's
    /// reservation. The agent's total is the caller's ([`Self::set_total`]).
    pub(crate) fn move_held(
        &mut self,
        ix: AgentIx,
        slot: Slot,
        to: Option<(RoleId, &Role)>,
        qty: &Qty,
        other: &Resources,
    ) -> Option<(HeldKind, HeldKind, Option<RoleId>)> {
        let state = self.agents.get_mut(ix).and_then(Option::as_mut)?;
        let dst = state.pool_or_new(to.map(|(r, _)| r), &mut self.role_refs);
        let marked = match to {
            Some((_, name)) => other.reserved_to(name),
            None => other.without_reservation(),
        };
        let src_pool = &mut state.pools[slot.pool];
        src_pool.total.sub(qty);
        let _ = src_pool.other_total.subtract(other);
        let from_kind = src_pool.held_kind(false);
        let from_reservation = src_pool.reservation;
        let dst_pool = &mut state.pools[dst];
        dst_pool.total.add(qty);
        dst_pool.other_total += &marked;
        let to_kind = dst_pool.held_kind(false);
        if state.take_from_holding(slot, qty, other) {
            self.role_refs.bump(slot.role, false);
        }
        if state.add_to_holding(Slot { pool: dst, ..slot }, qty, &marked) {
            self.role_refs.bump(slot.role, true);
        }
        Some((from_kind, to_kind, from_reservation))
    }

    /// The book's invariants; `Err` names the first breach.
    pub(crate) fn check_invariants(&self) -> Result<(), String> {
        let mut cluster = Qty::default();
        let mut free = Qty::default();
        for (id, &ix) in &self.index {
            let agent = self.get(ix).ok_or(format!("agent {id}: empty slot"))?;
            let mut used = vec![Qty::default(); agent.pools.len()];
            let mut used_other = vec![Resources::new(); agent.pools.len()];
            for h in &agent.holdings {
                if h.qty.is_zero() && h.other.is_empty() {
                    return Err(format!("agent {id}: empty holding"));
                }
                let pool = agent
                    .pools
                    .get(h.slot.pool)
                    .ok_or(format!("agent {id}: holding of a missing pool"))?;
                if pool.native_revocable {
                    return Err(format!("agent {id}: native revocable resources offered"));
                }
                used[h.slot.pool].add(&h.qty);
                used_other[h.slot.pool] += &h.other;
            }
            for (p, pool) in agent.pools.iter().enumerate() {
                cluster.add(&pool.total);
                if !pool.total.contains(&used[p]) {
                    return Err(format!("agent {id} over-allocated: pool {p}"));
                }
                let mut sum = used[p].clone();
                sum.add(&pool.avail);
                if sum != pool.total {
                    return Err(format!("agent {id}: pool {p} held + available != total"));
                }
                if used_other[p].clone() + &pool.other_avail != pool.other_total {
                    return Err(format!("agent {id}: pool {p} non-scalars out of balance"));
                }
                if pool.is_unreserved() && agent.active {
                    free.add(&pool.avail);
                }
            }
        }
        if cluster != self.cluster_total {
            return Err("cluster total out of date".into());
        }
        let mut refs = RoleRefs::default();
        for agent in self.agents.iter().flatten() {
            for role in agent.role_refs() {
                refs.bump(role, true);
            }
        }
        if refs != self.role_refs {
            return Err("role references out of date".into());
        }
        let empty = self.agents.iter().filter(|a| a.is_none()).count();
        if self.index.len() != self.agents.len() - empty
            || self.free.len() != empty
            || self.agents.last().is_some_and(Option::is_none)
        {
            return Err("agent slots out of date".into());
        }
        let mut open = OpenSet::default();
        for &ix in self.index.values() {
            if self.get(ix).is_some_and(AgentState::is_open) {
                open.set(ix, true);
            }
        }
        let mut listed = self.open.list.clone();
        listed.sort_unstable();
        open.list.sort_unstable();
        let slots_ok = self
            .open
            .pos
            .iter()
            .enumerate()
            .all(|(ix, p)| *p == usize::MAX || self.open.list.get(*p) == Some(&ix));
        if listed != open.list || !slots_ok {
            return Err("open agents out of date".into());
        }
        if free != self.free_unreserved {
            return Err(format!(
                "free unreserved {:?} != {:?}",
                self.free_unreserved, free
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radix_sort_orders_like_a_sort() {
        let mut rng = crate::rng::SplitMix64::new(5);
        for n in [0usize, 1, 63, 64, 65, 1000] {
            // Some duplicate keys, some sharing low bytes only.
            let mut keyed: Vec<(u64, AgentIx)> = (0..n)
                .map(|i| {
                    let k = match i % 3 {
                        0 => rng.next_u64(),
                        1 => rng.next_u64() & 0xff00_0000_0000_00ff,
                        _ => 42,
                    };
                    (k, i)
                })
                .collect();
            let mut want = keyed.clone();
            want.sort_by_key(|k| k.0);
            radix_sort(&mut keyed);
            let keys = |v: &[(u64, AgentIx)]| v.iter().map(|k| k.0).collect::<Vec<_>>();
            assert_eq!(keys(&keyed), keys(&want), "n {n}");
            let mut ids: Vec<AgentIx> = keyed.iter().map(|k| k.1).collect();
            ids.sort_unstable();
            assert_eq!(ids, (0..n).collect::<Vec<_>>());
        }
    }
}
