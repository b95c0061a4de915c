//! The ledger: the one process that moves held resources, keeping every
//! book that counts them in step. A slice taken from (or given back to) an
//! agent's pool changes the agent book (pool and holding), the framework
//! book (its sums per role and its agents), the role book (own and subtree
//! sums) and, when the guarantee consumption moved, the quota book's
//! headroom. Every grant, recovery, removal and conversion goes through
//! here, so no caller can update one book and forget another.

use corral::{AgentId, FrameworkId, Resources, Role};

use super::agents::{AgentBook, AgentState};
use super::frameworks::{FrameworkBook, FrameworkState};
use super::qty::Qty;
use super::quota::QuotaBook;
use super::roles::RoleTable;
use super::types::{AgentIx, HeldKind, RoleId, Slot};

/// The books that count held resources, borrowed together.
pub(crate) struct Ledger<'a> {
    pub(crate) agents: &'a mut AgentBook,
    pub(crate) frameworks: &'a mut FrameworkBook,
    pub(crate) roles: &'a mut RoleTable,
    pub(crate) quotas: &'a mut QuotaBook,
}

impl Ledger<'_> {
    /// Moves the role's sums by `q` of `kind`, and the headroom with them
    /// when the guarantee consumption moved.
    fn count(&mut self, role: RoleId, q: &Qty, kind: HeldKind, add: bool) {
        if add {
            self.roles.add_held(role, q, kind);
        } else {
            self.roles.sub_held(role, q, kind);
        }
        if kind == HeldKind::RegularUnreserved && self.quotas.any() {
            self.quotas.refresh(&*self.roles, role);
        }
    }

    /// Forgets each of `candidates` that nothing refers to any more (no
    /// quota, no pool or holding on an agent, nothing in the role book:
    /// see `RoleTable::forget`), then its ancestors on the same terms.
    pub(crate) fn forget_unused_roles(&mut self, candidates: impl IntoIterator<Item = RoleId>) {
        let (agents, quotas) = (&*self.agents, &*self.quotas);
        for role in candidates {
            self.roles
                .forget(role, |r| quotas.has(r) || agents.refers_to(r));
        }
    }

    /// Reservations of `q` for `role` come (`add`) or go.
    pub(crate) fn reserved(&mut self, role: RoleId, q: &Qty, add: bool) {
        self.roles.change_reserved(role, q, add);
        self.quotas.refresh(&*self.roles, role);
    }

    /// `slot`'s framework takes `qty`/`other` (available, validated) from
    /// agent `ix`.
    pub(crate) fn hold(&mut self, ix: AgentIx, slot: Slot, qty: &Qty, other: &Resources) {
        let Some(kind) = self.agents.take(ix, slot, qty, other) else {
            return;
        };
        self.frameworks.add_held(slot.fw, slot.role, ix, qty);
        self.count(slot.role, qty, kind, true);
    }

    /// `slot`'s framework gives `qty`/`other` (held, validated) back to
    /// agent `ix`.
    pub(crate) fn release(&mut self, ix: AgentIx, slot: Slot, qty: &Qty, other: &Resources) {
        let Some((kind, still_on)) = self.agents.give_back(ix, slot, qty, other) else {
            return;
        };
        self.frameworks
            .sub_held(slot.fw, slot.role, ix, qty, still_on);
        self.count(slot.role, qty, kind, false);
    }

    /// Removes an agent: what was held there leaves every framework's and
    /// role's sums, its reservations leave their roles. Returns its slot
    /// and its former state.
    pub(crate) fn remove_agent(&mut self, agent: &AgentId) -> Option<(AgentIx, AgentState)> {
        let (ix, state): (AgentIx, AgentState) = self.agents.remove(agent)?;
        for h in state.holdings() {
            let slot = h.slot();
            let still_on = false;
            self.frameworks
                .sub_held(slot.fw, slot.role, ix, h.qty(), still_on);
            let kind = state.pools()[slot.pool].held_kind(slot.lent);
            self.count(slot.role, h.qty(), kind, false);
        }
        for pool in state.pools() {
            if let (Some(role), false) = (pool.reservation(), pool.is_native_revocable()) {
                self.reserved(role, pool.total(), false);
            }
        }
        Some((ix, state))
    }

    /// Removes a framework and gives back everything it holds; returns its
    /// slot and state.
    pub(crate) fn remove_framework(&mut self, fw: &FrameworkId) -> Option<(usize, FrameworkState)> {
        let (id, state) = self.frameworks.remove(fw)?;
        for ix in state.agents() {
            for (h, kind) in self.agents.release_all(*ix, id) {
                self.count(h.slot().role, h.qty(), kind, false);
            }
        }
        for role in state.roles() {
            self.roles.unsubscribe(*role, fw);
        }
        Some((id, state))
    }

    /// Converts held regular `qty`/`other` at `slot` in place to the
    /// agent's pool for `to` (a reservation for that role, or unreserved):
    /// the holding's kind and the reservations move with it.
    pub(crate) fn convert_held(
        &mut self,
        ix: AgentIx,
        slot: Slot,
        to: Option<(RoleId, &Role)>,
        qty: &Qty,
        other: &Resources,
    ) {
        let to_role = to.map(|(r, _)| r);
        let Some((from_kind, to_kind, from_reservation)) =
            self.agents.move_held(ix, slot, to, qty, other)
        else {
            return;
        };
        self.count(slot.role, qty, from_kind, false);
        self.count(slot.role, qty, to_kind, true);
        if let Some(x) = from_reservation {
            self.reserved(x, qty, false);
        }
        if let Some(r) = to_role {
            self.reserved(r, qty, true);
        }
    }
}
