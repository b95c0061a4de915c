//! What the quota math needs to know of the role tree, as a trait: the
//! tree's shape and the two consumptions a quota is measured against. The
//! role table implements it; the quota book reads the tree only through it,
//! so neither imports the other. A leaf besides the shared vocabulary.

use corral::Role;

use super::qty::Qty;
use super::types::RoleId;

/// A read-only view of the role tree and of what each subtree consumes.
pub(crate) trait Hierarchy {
    /// One past the highest role id in use (ids are `0..len`; some of them
    /// may be free slots of forgotten roles, which hold nothing).
    fn len(&self) -> usize;
    /// The role's parent, if it has one.
    fn parent(&self, role: RoleId) -> Option<RoleId>;
    /// The role's children, by name.
    fn children(&self, role: RoleId) -> impl Iterator<Item = RoleId> + '_;
    /// Roles without a parent, by name.
    fn tops(&self) -> impl Iterator<Item = RoleId> + '_;
    /// The id of a role name, if it was ever named.
    fn lookup(&self, role: &Role) -> Option<RoleId>;
    /// The role's name.
    fn name(&self, role: RoleId) -> &Role;
    /// Limit consumption: everything the subtree holds, regular and lent.
    fn held(&self, role: RoleId) -> &Qty;
    /// Guarantee consumption: the subtree's regular holdings from
    /// unreserved resources plus every reservation of the subtree.
    fn guarantee_consumption(&self, role: RoleId) -> Qty;

    /// `role` and its ancestors, nearest first.
    fn chain(&self, role: RoleId) -> Chain<'_, Self>
    where
        Self: Sized,
    {
        Chain {
            tree: self,
            next: Some(role),
        }
    }

    /// True when `ancestor` is `role` or one of its ancestors.
    fn is_ancestor_or_self(&self, ancestor: RoleId, role: RoleId) -> bool
    where
        Self: Sized,
    {
        self.chain(role).any(|r| r == ancestor)
    }
}

/// Iterator over a role and its ancestors.
pub(crate) struct Chain<'a, H> {
    tree: &'a H,
    next: Option<RoleId>,
}

impl<H: Hierarchy> Iterator for Chain<'_, H> {
    type Item = RoleId;
    fn next(&mut self) -> Option<RoleId> {
        let id = self.next?;
        self.next = self.tree.parent(id);
        Some(id)
    }
}
