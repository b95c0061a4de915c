//! The role tree: interned roles (`eng/web` is a child of `eng`), their
//! weights, quota and requests, and the sums the DRF, quota and headroom
//! math reads (what a role and its subtree hold, what is reserved for the
//! subtree), kept exact as allocations come and go.
//!
//! Roles are interned for good (an id never changes meaning), so cycles and
//! holdings can refer to them by index.

use std::collections::BTreeMap;

use corral::{FrameworkId, Role};

use super::qty::Qty;
use super::quota::QuotaState;
use super::{AllocatorError, FwId, RoleId};

/// One role's bookkeeping.
#[derive(Clone, Debug)]
pub(crate) struct RoleState {
    pub(crate) name: Role,
    pub(crate) parent: Option<RoleId>,
    /// Child roles, by name.
    pub(crate) children: BTreeMap<Role, RoleId>,
    pub(crate) weight: f64,
    pub(crate) quota: Option<QuotaState>,
    /// What the role asked to hold in total (REQUEST), if it did.
    pub(crate) request: Option<Qty>,
    /// Frameworks subscribed to exactly this role, by id.
    pub(crate) frameworks: BTreeMap<FrameworkId, FwId>,
    /// Held by its own frameworks (regular and lent).
    pub(crate) held_own: Qty,
    /// Held regularly by its own frameworks.
    pub(crate) regular_own: Qty,
    /// Held by the subtree (regular and lent): DRF share, limit consumption.
    pub(crate) held: Qty,
    /// Held regularly by the subtree from unreserved resources.
    pub(crate) alloc_unres: Qty,
    /// Reserved for the subtree on every agent, used or not.
    pub(crate) reserved: Qty,
    /// Quota roles only: what must stay free for this subtree's guarantees.
    pub(crate) headroom: Qty,
    /// Quota roles only: sum of the nearest quota'd descendants' headroom.
    pub(crate) child_headroom: Qty,
}

impl RoleState {
    fn new(name: Role, parent: Option<RoleId>) -> Self {
        Self {
            name,
            parent,
            children: BTreeMap::new(),
            weight: 1.0,
            quota: None,
            request: None,
            frameworks: BTreeMap::new(),
            held_own: Qty::default(),
            regular_own: Qty::default(),
            held: Qty::default(),
            alloc_unres: Qty::default(),
            reserved: Qty::default(),
            headroom: Qty::default(),
            child_headroom: Qty::default(),
        }
    }

    /// Guarantee consumption: regular unreserved holdings plus every
    /// reservation of the subtree.
    pub(crate) fn guarantee_consumption(&self) -> Qty {
        let mut q = self.alloc_unres.clone();
        q.add(&self.reserved);
        q
    }
}

/// Every role ever named, with parent links.
#[derive(Clone, Debug, Default)]
pub(crate) struct RoleTable {
    roles: Vec<RoleState>,
    index: BTreeMap<Role, RoleId>,
    /// Roles without a parent, by name.
    pub(crate) top: BTreeMap<Role, RoleId>,
    /// Sum of the headroom of the top-most quota'd roles: how much of the
    /// free unreserved resources must stay free for unmet guarantees.
    pub(crate) required_headroom: Qty,
}

impl RoleTable {
    /// The id of `role`, interning it and its ancestors if new. Invalid
    /// names are refused before anything is interned.
    pub(crate) fn intern(&mut self, role: &Role) -> Result<RoleId, AllocatorError> {
        if let Some(id) = self.index.get(role) {
            return Ok(*id);
        }
        role.validate().map_err(|err| AllocatorError::InvalidRole {
            role: role.clone(),
            why: err.to_string(),
        })?;
        let name = role.as_str();
        let parent = match name.rfind('/') {
            Some(at) if name != "*" => Some(self.intern(&Role::new(&name[..at]))?),
            _ => None,
        };
        let id = self.roles.len();
        self.roles.push(RoleState::new(role.clone(), parent));
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

    /// The id of `role` if it was ever named.
    pub(crate) fn lookup(&self, role: &Role) -> Option<RoleId> {
        self.index.get(role).copied()
    }

    /// How many roles are interned.
    pub(crate) fn len(&self) -> usize {
        self.roles.len()
    }

    pub(crate) fn get(&self, id: RoleId) -> &RoleState {
        &self.roles[id]
    }

    pub(crate) fn get_mut(&mut self, id: RoleId) -> &mut RoleState {
        &mut self.roles[id]
    }

    /// Every role, by id.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (RoleId, &RoleState)> {
        self.roles.iter().enumerate()
    }

    /// `id` and its ancestors, nearest first.
    pub(crate) fn chain(&self, id: RoleId) -> Chain<'_> {
        Chain {
            table: self,
            next: Some(id),
        }
    }

    /// True when `ancestor` is `role` or one of its ancestors.
    pub(crate) fn is_ancestor_or_self(&self, ancestor: RoleId, role: RoleId) -> bool {
        self.chain(role).any(|r| r == ancestor)
    }

    /// Adds `q` to what `role` holds: its own sums, every ancestor's subtree
    /// sums, and (for regular unreserved resources) the guarantee
    /// consumption, whose headroom is then refreshed.
    pub(crate) fn add_held(&mut self, role: RoleId, q: &Qty, kind: HeldKind) {
        self.change_held(role, q, kind, true);
    }

    /// Takes `q` off what `role` holds (the inverse of [`Self::add_held`]).
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
        if kind == HeldKind::RegularUnreserved {
            self.refresh_headroom(role);
        }
    }

    /// Adds (`add`) or removes reservations of `q` for `role`.
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
        self.refresh_headroom(role);
    }
}

/// Which sums an allocation counts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeldKind {
    /// Regular, from unreserved resources (counts toward guarantees).
    RegularUnreserved,
    /// Regular, from the role's (or an ancestor's) reservation.
    RegularReserved,
    /// Lent: revocable.
    Lent,
}

/// Iterator over a role and its ancestors.
pub(crate) struct Chain<'a> {
    table: &'a RoleTable,
    next: Option<RoleId>,
}

impl Iterator for Chain<'_> {
    type Item = RoleId;
    fn next(&mut self) -> Option<RoleId> {
        let id = self.next?;
        self.next = self.table.roles.get(id).and_then(|r| r.parent);
        Some(id)
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
        assert_eq!(t.get(web).parent, Some(eng));
        assert!(t.is_ancestor_or_self(eng, web));
        assert!(!t.is_ancestor_or_self(web, eng));
        assert_eq!(t.chain(web).collect::<Vec<_>>(), vec![web, eng]);
        assert!(t.top.contains_key(&Role::new("eng")));
        let star = t.intern(&Role::new("*")).unwrap();
        assert_eq!(t.get(star).parent, None);
        let before = t.len();
        assert!(matches!(
            t.intern(&Role::new("eng//x")),
            Err(AllocatorError::InvalidRole { .. })
        ));
        assert!(t.intern(&Role::new("")).is_err());
        assert_eq!(t.len(), before);
    }
}
