//! The role book: every role ever named (`eng/web` is a child of `eng`),
//! with its weight, its REQUEST, the frameworks subscribed to it, and the
//! sums the DRF, quota and headroom math read (what a role and its subtree
//! hold, what is reserved for the subtree), kept exact as allocations come
//! and go. Its invariant: every subtree sum is the sum of the own sums
//! below it ([`RoleTable::check_sums`]).
//!
//! Roles are interned to ids, so cycles and holdings can refer to them by
//! index. A role nothing refers to any more (no child, no subscriber, the
//! default weight, no request, nothing held or reserved in its subtree, and
//! nothing the caller knows of: a quota, an agent's pool or holding) is
//! forgotten ([`RoleTable::forget`]): its id goes back to a free list, the
//! lowest free id is reused first, and free ids at the end of the table are
//! dropped, so the table is as long as the roles in use at its peak, not as
//! every role ever named. Quota lives in its own book (`quota.rs`), which
//! reads this tree through [`Hierarchy`].

use std::collections::{BTreeMap, BTreeSet};

use corral::{FrameworkId, Role};

use super::hierarchy::Hierarchy;
use super::qty::Qty;
use super::types::{invalid_role, AllocatorError, FwId, HeldKind, RoleId};

/// One role's bookkeeping.
#[derive(Clone, Debug)]
struct RoleState {
    name: Role,
    parent: Option<RoleId>,
    /// Child roles, by name.
    children: BTreeMap<Role, RoleId>,
    weight: f64,
    /// What the role asked to hold in total (REQUEST), if it did.
    request: Option<Qty>,
    /// Frameworks subscribed to exactly this role, by id.
    frameworks: BTreeMap<FrameworkId, FwId>,
    /// Held by its own frameworks (regular and lent).
    held_own: Qty,
    /// Held regularly by its own frameworks.
    regular_own: Qty,
    /// Held by the subtree (regular and lent): DRF share, limit consumption.
    held: Qty,
    /// Held regularly by the subtree from unreserved resources.
    alloc_unres: Qty,
    /// Reserved for the subtree on every agent, used or not.
    reserved: Qty,
    /// False for a free slot (a forgotten role).
    live: bool,
}

impl RoleState {
    fn new(name: Role, parent: Option<RoleId>) -> Self {
        Self {
            name,
            parent,
            children: BTreeMap::new(),
            weight: 1.0,
            request: None,
            frameworks: BTreeMap::new(),
            held_own: Qty::default(),
            regular_own: Qty::default(),
            held: Qty::default(),
            alloc_unres: Qty::default(),
            reserved: Qty::default(),
            live: true,
        }
    }

    /// Nothing of this book refers to it: no child, no subscriber, the
    /// default weight, no request, nothing held or reserved.
    fn is_idle(&self) -> bool {
        self.live
            && self.children.is_empty()
            && self.frameworks.is_empty()
            && self.weight == 1.0
            && self.request.is_none()
            && self.held.is_zero()
            && self.held_own.is_zero()
            && self.regular_own.is_zero()
            && self.alloc_unres.is_zero()
            && self.reserved.is_zero()
    }
}

/// The own sums of one role, recomputed from the holdings and pools, for
/// [`RoleTable::check_sums`].
#[derive(Clone, Debug, Default)]
pub(crate) struct OwnSums {
    /// Held by its frameworks, regular and lent.
    pub(crate) held: Qty,
    /// Held regularly.
    pub(crate) regular: Qty,
    /// Held regularly from unreserved resources.
    pub(crate) unreserved: Qty,
    /// Reserved for exactly this role.
    pub(crate) reserved: Qty,
}

/// Every role in use, with parent links.
#[derive(Clone, Debug, Default)]
pub(crate) struct RoleTable {
    /// By id; free slots (forgotten roles) are not live.
    roles: Vec<RoleState>,
    index: BTreeMap<Role, RoleId>,
    /// Roles without a parent, by name.
    top: BTreeMap<Role, RoleId>,
    /// Free slots below the end of `roles`, reused lowest first.
    free: BTreeSet<RoleId>,
}

impl RoleTable {
    /// The id of `role`, interning it and its ancestors if new. Invalid
    /// names are refused (logged) before anything is interned.
    pub(crate) fn intern(&mut self, role: &Role) -> Result<RoleId, AllocatorError> {
        if let Some(id) = self.index.get(role) {
            return Ok(*id);
        }
        role.validate().map_err(|err| invalid_role(role, &err))?;
        let name = role.as_str();
        let parent = match name.rfind('/') {
            Some(at) if name != "*" => Some(self.intern(&Role::new(&name[..at]))?),
            _ => None,
        };
        let id = match self.free.pop_first() {
            Some(id) => {
                self.roles[id] = RoleState::new(role.clone(), parent);
                id
            }
            None => {
                self.roles.push(RoleState::new(role.clone(), parent));
                self.roles.len() - 1
            }
        };
        self.index.insert(role.clone(), id);
        match parent {
            Some(p) => {
                self.roles[p].children.insert(role.clone(), id);
            }
            None => {
                self.top.insert(role.clone(), id);
            }
        }
        Ok(id)
    }

    /// The role's weight among its siblings.
    #[inline]
    pub(crate) fn weight(&self, role: RoleId) -> f64 {
        self.roles[role].weight
    }

    /// Sets the role's weight (the caller checked it is finite and > 0).
    #[inline]
    pub(crate) fn set_weight(&mut self, role: RoleId, weight: f64) {
        self.roles[role].weight = weight;
    }

    /// The role's REQUEST, if it made one.
    #[inline]
    pub(crate) fn request(&self, role: RoleId) -> Option<&Qty> {
        self.roles[role].request.as_ref()
    }

    /// Some role's REQUEST names resource `name`.
    pub(crate) fn requests_name(&self, name: usize) -> bool {
        self.roles
            .iter()
            .filter_map(|r| r.request.as_ref())
            .any(|q| q.get(name) > 0)
    }

    /// Replaces the role's REQUEST (`None` clears it).
    #[inline]
    pub(crate) fn set_request(&mut self, role: RoleId, request: Option<Qty>) {
        self.roles[role].request = request;
    }

    /// The frameworks subscribed to exactly this role, by framework id.
    #[inline]
    pub(crate) fn frameworks(&self, role: RoleId) -> impl Iterator<Item = (&FrameworkId, FwId)> {
        self.roles[role].frameworks.iter().map(|(k, v)| (k, *v))
    }

    /// `fw` is subscribed to `role`.
    #[inline]
    pub(crate) fn subscribe(&mut self, role: RoleId, fw: &FrameworkId, id: FwId) {
        self.roles[role].frameworks.insert(fw.clone(), id);
    }

    /// `fw` left `role`.
    #[inline]
    pub(crate) fn unsubscribe(&mut self, role: RoleId, fw: &FrameworkId) {
        self.roles[role].frameworks.remove(fw);
    }

    /// The slot `fw` is subscribed with to `role`, if it is.
    #[inline]
    pub(crate) fn subscriber(&self, role: RoleId, fw: &FrameworkId) -> Option<FwId> {
        self.roles[role].frameworks.get(fw).copied()
    }

    /// Held by the role's own frameworks, regular and lent.
    #[inline]
    pub(crate) fn held_own(&self, role: RoleId) -> &Qty {
        &self.roles[role].held_own
    }

    /// Held regularly by the role's own frameworks.
    #[inline]
    pub(crate) fn regular_own(&self, role: RoleId) -> &Qty {
        &self.roles[role].regular_own
    }

    /// Held regularly by the subtree from unreserved resources.
    #[cfg(test)]
    #[inline]
    pub(crate) fn alloc_unreserved(&self, role: RoleId) -> &Qty {
        &self.roles[role].alloc_unres
    }

    /// Reserved for the subtree on every agent, used or not.
    #[inline]
    pub(crate) fn reserved(&self, role: RoleId) -> &Qty {
        &self.roles[role].reserved
    }

    /// Every known role's name, by id.
    #[inline]
    pub(crate) fn names(&self) -> impl Iterator<Item = &Role> {
        self.roles.iter().filter(|r| r.live).map(|r| &r.name)
    }

    /// The role is known (interned and not forgotten).
    #[inline]
    pub(crate) fn is_known(&self, role: RoleId) -> bool {
        self.roles.get(role).is_some_and(|r| r.live)
    }

    /// Forgets `role` if nothing refers to it (see [`RoleState::is_idle`])
    /// and `used` (what other books know of it) says no, then its parent
    /// on the same terms, and so on up. Returns the forgotten ids.
    pub(crate) fn forget(&mut self, role: RoleId, used: impl Fn(RoleId) -> bool) -> Vec<RoleId> {
        let mut gone = Vec::new();
        let mut next = Some(role);
        while let Some(r) = next {
            match self.roles.get(r) {
                Some(state) if state.is_idle() && !used(r) => {}
                _ => break,
            }
            let state = std::mem::replace(&mut self.roles[r], RoleState::new(Role::new(""), None));
            self.roles[r].live = false;
            self.index.remove(&state.name);
            match state.parent {
                Some(p) => {
                    self.roles[p].children.remove(&state.name);
                }
                None => {
                    self.top.remove(&state.name);
                }
            }
            self.free.insert(r);
            gone.push(r);
            next = state.parent;
        }
        while self.roles.last().is_some_and(|r| !r.live) {
            self.roles.pop();
            self.free.remove(&self.roles.len());
        }
        gone
    }

    /// Adds `q` to what `role` holds: its own sums and every ancestor's
    /// subtree sums. The guarantee consumption moves for
    /// [`HeldKind::RegularUnreserved`]: the caller refreshes the headroom.
    #[inline]
    pub(crate) fn add_held(&mut self, role: RoleId, q: &Qty, kind: HeldKind) {
        self.change_held(role, q, kind, true);
    }

    /// Takes `q` off what `role` holds (the inverse of [`Self::add_held`]).
    #[inline]
    pub(crate) fn sub_held(&mut self, role: RoleId, q: &Qty, kind: HeldKind) {
        self.change_held(role, q, kind, false);
    }

    fn change_held(&mut self, role: RoleId, q: &Qty, kind: HeldKind, add: bool) {
        let apply = |target: &mut Qty| {
            if add {
                target.add(q);
            } else {
                target.sub(q);
            }
        };
        let own = &mut self.roles[role];
        apply(&mut own.held_own);
        if kind != HeldKind::Lent {
            apply(&mut own.regular_own);
        }
        let mut next = Some(role);
        while let Some(r) = next {
            let state = &mut self.roles[r];
            apply(&mut state.held);
            if kind == HeldKind::RegularUnreserved {
                apply(&mut state.alloc_unres);
            }
            next = state.parent;
        }
    }

    /// Adds (`add`) or removes reservations of `q` for `role` (the
    /// guarantee consumption moves: the caller refreshes the headroom).
    pub(crate) fn change_reserved(&mut self, role: RoleId, q: &Qty, add: bool) {
        let mut next = Some(role);
        while let Some(r) = next {
            let state = &mut self.roles[r];
            if add {
                state.reserved.add(q);
            } else {
                state.reserved.sub(q);
            }
            next = state.parent;
        }
    }

    /// Checks every sum against `own` (indexed by role id), recomputed from
    /// the agents' holdings and pools, and every subscription against
    /// `subscribed` (true when the framework slot is subscribed to the
    /// role). `Err` names the first mismatch.
    pub(crate) fn check_sums(
        &self,
        own: &[OwnSums],
        subscribed: impl Fn(FwId, &FrameworkId, RoleId) -> bool,
    ) -> Result<(), String> {
        let n = self.roles.len();
        let mut held = vec![Qty::default(); n];
        let mut unres = vec![Qty::default(); n];
        let mut reserved = vec![Qty::default(); n];
        let zero = OwnSums::default();
        for r in 0..n {
            let o = own.get(r).unwrap_or(&zero);
            for a in self.chain(r) {
                held[a].add(&o.held);
                unres[a].add(&o.unreserved);
                reserved[a].add(&o.reserved);
            }
        }
        for (r, state) in self.roles.iter().enumerate() {
            let name = &state.name;
            if state.live != (self.index.get(name) == Some(&r))
                || state.live == self.free.contains(&r)
            {
                return Err(format!("role slot {r}: index or free list out of date"));
            }
            let o = own.get(r).unwrap_or(&zero);
            if state.held_own != o.held || state.regular_own != o.regular {
                return Err(format!("role {name}: own sums out of date"));
            }
            if state.held != held[r] || state.alloc_unres != unres[r] {
                return Err(format!("role {name}: subtree sums out of date"));
            }
            if state.reserved != reserved[r] {
                return Err(format!("role {name}: reserved sum out of date"));
            }
            for (fw, id) in &state.frameworks {
                if !subscribed(*id, fw, r) {
                    return Err(format!("role {name}: stale framework {fw}"));
                }
            }
        }
        if self.index.len() + self.free.len() != n || self.roles.last().is_some_and(|r| !r.live) {
            return Err("role table: free slots out of date".into());
        }
        Ok(())
    }
}

impl Hierarchy for RoleTable {
    #[inline]
    fn len(&self) -> usize {
        self.roles.len()
    }

    #[inline]
    fn parent(&self, role: RoleId) -> Option<RoleId> {
        self.roles.get(role).and_then(|r| r.parent)
    }

    #[inline]
    fn children(&self, role: RoleId) -> impl Iterator<Item = RoleId> + '_ {
        self.roles[role].children.values().copied()
    }

    #[inline]
    fn tops(&self) -> impl Iterator<Item = RoleId> + '_ {
        self.top.values().copied()
    }

    #[inline]
    fn lookup(&self, role: &Role) -> Option<RoleId> {
        self.index.get(role).copied()
    }

    #[inline]
    fn name(&self, role: RoleId) -> &Role {
        &self.roles[role].name
    }

    #[inline]
    fn held(&self, role: RoleId) -> &Qty {
        &self.roles[role].held
    }

    #[inline]
    fn guarantee_consumption(&self, role: RoleId) -> Qty {
        let state = &self.roles[role];
        let mut q = state.alloc_unres.clone();
        q.add(&state.reserved);
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_builds_the_tree_and_refuses_bad_names() {
        let mut t = RoleTable::default();
        let web = t.intern(&Role::new("eng/web")).unwrap();
        let eng = t.lookup(&Role::new("eng")).unwrap();
        assert_eq!(t.parent(web), Some(eng));
        assert!(t.is_ancestor_or_self(eng, web));
        assert!(!t.is_ancestor_or_self(web, eng));
        assert_eq!(t.chain(web).collect::<Vec<_>>(), vec![web, eng]);
        assert_eq!(t.tops().collect::<Vec<_>>(), vec![eng]);
        let star = t.intern(&Role::new("*")).unwrap();
        assert_eq!(t.parent(star), None);
        let before = t.len();
        assert!(matches!(
            t.intern(&Role::new("eng//x")),
            Err(AllocatorError::InvalidRole { .. })
        ));
        assert!(t.intern(&Role::new("")).is_err());
        assert_eq!(t.len(), before);
    }

    #[test]
    fn held_sums_climb_the_chain_and_the_check_sees_a_stale_one() {
        let mut t = RoleTable::default();
        let web = t.intern(&Role::new("eng/web")).unwrap();
        let eng = t.lookup(&Role::new("eng")).unwrap();
        let q = Qty::from_vec(vec![1000]);
        t.add_held(web, &q, HeldKind::RegularUnreserved);
        assert_eq!(t.held(eng), &q);
        assert_eq!(t.guarantee_consumption(eng), q);
        let mut own = vec![OwnSums::default(); t.len()];
        own[web] = OwnSums {
            held: q.clone(),
            regular: q.clone(),
            unreserved: q.clone(),
            reserved: Qty::default(),
        };
        assert_eq!(t.check_sums(&own, |_, _, _| true), Ok(()));
        own[web].unreserved = Qty::default();
        assert!(t.check_sums(&own, |_, _, _| true).is_err());
    }
}
