//! The hierarchical DRF order one allocation stage walks: a tree of role
//! nodes, each with its children sorted by weighted dominant share
//! ([`DrfSorter`]), and leaves holding a role's eligible frameworks sorted
//! by their own share. A role with frameworks of its own and child roles
//! gets a virtual leaf (weight 1) next to its children.
//!
//! Finding the next (role, framework) descends from the root into the
//! least-served child at every level. After an allocation only the path
//! from that framework to the root is re-sorted (`O(depth · log n)`). Roles
//! that can get nothing more this stage (at a limit, guarantee met) are
//! closed: removed from their parent's order, and empty parents with them.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use super::types::{FwId, RoleId};

/// A share as a totally ordered key.
#[derive(Clone, Copy, Debug)]
struct Share(f64);

impl PartialEq for Share {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Share {}

impl PartialOrd for Share {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Share {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Clients `0..n` ordered by increasing share, ties by index (the tree
/// indexes clients in name order, so ties go by name).
#[derive(Clone, Debug, Default)]
pub(crate) struct DrfSorter {
    order: BTreeSet<(Share, usize)>,
    shares: Vec<Option<Share>>,
}

impl DrfSorter {
    /// A sorter over clients `0..shares.len()` with these shares.
    pub(crate) fn new(shares: Vec<f64>) -> Self {
        let shares: Vec<Option<Share>> = shares.into_iter().map(|s| Some(Share(s))).collect();
        let order = shares
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.map(|s| (s, i)))
            .collect();
        Self { order, shares }
    }

    /// Sets client `index`'s share (ignored for a removed client).
    pub(crate) fn update(&mut self, index: usize, share: f64) {
        let Some(Some(old)) = self.shares.get(index).copied() else {
            return;
        };
        self.order.remove(&(old, index));
        self.shares[index] = Some(Share(share));
        self.order.insert((Share(share), index));
    }

    /// Takes client `index` out of the order.
    pub(crate) fn remove(&mut self, index: usize) {
        if let Some(Some(old)) = self.shares.get(index).copied() {
            self.order.remove(&(old, index));
            self.shares[index] = None;
        }
    }

    /// No client left.
    pub(crate) fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Clients from the smallest share to the largest.
    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.order.iter().map(|(_, i)| *i)
    }
}

/// What a node orders.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Entry {
    /// A child node (a child role, or the virtual leaf of this role).
    Node(usize),
    /// A framework of the node's role.
    Framework(FwId),
}

/// One node: a role (or the root, or a role's virtual leaf).
#[derive(Clone, Debug)]
pub(crate) struct Node {
    /// `None` for the root.
    pub(crate) role: Option<RoleId>,
    /// This node holds the role's own frameworks next to its child roles.
    pub(crate) virtual_leaf: bool,
    pub(crate) entries: Vec<Entry>,
    pub(crate) sorter: DrfSorter,
    /// (parent node, index of this node among the parent's entries).
    pub(crate) parent: Option<(usize, usize)>,
}

/// What the visitor decides for one candidate.
pub(crate) enum Visit<O> {
    /// Allocate this.
    Take(O),
    /// Nothing for this framework here; try the next one.
    Skip,
    /// Nothing for this role in this stage any more: close it.
    RoleDone,
}

/// Decides, during a walk, which subtrees to enter and what each
/// framework would get.
pub(crate) trait Visitor {
    /// What the visitor yields for a taken candidate.
    type Offer;
    /// Enter the subtree of `role`?
    fn enter(&mut self, role: RoleId) -> bool;
    /// What `fw` would get under `role`.
    fn visit(&mut self, role: RoleId, fw: FwId) -> Visit<Self::Offer>;
}

/// A found candidate: leaf node, entry index, role, framework, offer.
pub(crate) struct Found<O> {
    pub(crate) node: usize,
    pub(crate) entry: usize,
    pub(crate) role: RoleId,
    pub(crate) fw: FwId,
    pub(crate) offer: O,
}

/// The DRF tree of one stage. Node 0 is the root.
#[derive(Clone, Debug)]
pub(crate) struct Tree {
    pub(crate) nodes: Vec<Node>,
    /// How many framework entries the tree started with.
    pub(crate) frameworks: usize,
}

impl Tree {
    /// A tree with only a root; `add_node` fills it bottom-up.
    pub(crate) fn new() -> Self {
        Self {
            nodes: vec![Node {
                role: None,
                virtual_leaf: false,
                entries: Vec::new(),
                sorter: DrfSorter::default(),
                parent: None,
            }],
            frameworks: 0,
        }
    }

    /// Adds a node over `entries` with their shares; child nodes among the
    /// entries get their parent link. Returns its index.
    pub(crate) fn add_node(
        &mut self,
        role: Option<RoleId>,
        virtual_leaf: bool,
        entries: Vec<Entry>,
        shares: Vec<f64>,
    ) -> usize {
        let ix = self.nodes.len();
        for (i, e) in entries.iter().enumerate() {
            match e {
                Entry::Node(child) => self.nodes[*child].parent = Some((ix, i)),
                Entry::Framework(_) => self.frameworks += 1,
            }
        }
        self.nodes.push(Node {
            role,
            virtual_leaf,
            sorter: DrfSorter::new(shares),
            entries,
            parent: None,
        });
        ix
    }

    /// Makes `entries` (top-level nodes) the root's children.
    pub(crate) fn set_root(&mut self, entries: Vec<Entry>, shares: Vec<f64>) {
        for (i, e) in entries.iter().enumerate() {
            if let Entry::Node(child) = e {
                self.nodes[*child].parent = Some((0, i));
            }
        }
        self.nodes[0].sorter = DrfSorter::new(shares);
        self.nodes[0].entries = entries;
    }

    /// Nothing left to walk.
    pub(crate) fn is_empty(&self) -> bool {
        self.nodes[0].sorter.is_empty()
    }

    /// The first candidate in DRF order the visitor takes. Roles it
    /// reports done are closed afterwards.
    pub(crate) fn find<V: Visitor>(&mut self, visitor: &mut V) -> Option<Found<V::Offer>> {
        let mut done = Vec::new();
        let found = self.walk(0, visitor, &mut done);
        for node in done {
            self.close(node);
        }
        found
    }

    fn walk<V: Visitor>(
        &self,
        node: usize,
        visitor: &mut V,
        done: &mut Vec<usize>,
    ) -> Option<Found<V::Offer>> {
        let n = &self.nodes[node];
        for i in n.sorter.iter() {
            match n.entries[i] {
                Entry::Node(child) => {
                    let c = &self.nodes[child];
                    if let Some(role) = c.role {
                        if !c.virtual_leaf && !visitor.enter(role) {
                            continue;
                        }
                    }
                    if let Some(found) = self.walk(child, visitor, done) {
                        return Some(found);
                    }
                }
                Entry::Framework(fw) => {
                    let Some(role) = n.role else { continue };
                    match visitor.visit(role, fw) {
                        Visit::Take(offer) => {
                            return Some(Found {
                                node,
                                entry: i,
                                role,
                                fw,
                                offer,
                            })
                        }
                        Visit::Skip => {}
                        Visit::RoleDone => {
                            // The rest of this leaf is the same role: the
                            // parent goes on with the next sibling.
                            done.push(node);
                            return None;
                        }
                    }
                }
            }
        }
        None
    }

    /// Removes `node` from its parent's order, and the parent too when it
    /// has nothing left.
    pub(crate) fn close(&mut self, node: usize) {
        let mut next = Some(node);
        while let Some(n) = next {
            let Some((parent, i)) = self.nodes[n].parent else {
                return;
            };
            let p = &mut self.nodes[parent];
            p.sorter.remove(i);
            next = p.sorter.is_empty().then_some(parent);
        }
    }

    /// After an allocation to the framework at (`node`, `entry`): sets its
    /// share and each ancestor node's share (from `node_share`) in its
    /// parent's order.
    pub(crate) fn refresh(
        &mut self,
        node: usize,
        entry: usize,
        fw_share: f64,
        node_share: impl Fn(&Node) -> f64,
    ) {
        self.nodes[node].sorter.update(entry, fw_share);
        let mut at = node;
        while let Some((parent, i)) = self.nodes[at].parent {
            let share = node_share(&self.nodes[at]);
            self.nodes[parent].sorter.update(i, share);
            at = parent;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorter_orders_by_share_then_index_and_removes() {
        let mut s = DrfSorter::new(vec![0.5, 0.1, 0.1]);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![1, 2, 0]);
        s.update(1, 0.9);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![2, 0, 1]);
        s.update(7, 0.0);
        s.remove(2);
        s.update(2, 0.0);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 1]);
        s.remove(0);
        s.remove(1);
        assert!(s.is_empty());
    }

    struct TakeFirst(Vec<(RoleId, FwId)>);

    impl Visitor for TakeFirst {
        type Offer = ();
        fn enter(&mut self, _: RoleId) -> bool {
            true
        }
        fn visit(&mut self, role: RoleId, fw: FwId) -> Visit<()> {
            self.0.push((role, fw));
            if fw == 7 {
                Visit::RoleDone
            } else {
                Visit::Take(())
            }
        }
    }

    #[test]
    fn walk_descends_into_the_least_served_child_and_closes_done_roles() {
        // root -> role 0 (share 0.5) with fw 1; role 1 (share 0.2) with fw 7.
        let mut t = Tree::new();
        let a = t.add_node(Some(0), false, vec![Entry::Framework(1)], vec![0.0]);
        let b = t.add_node(Some(1), false, vec![Entry::Framework(7)], vec![0.0]);
        t.set_root(vec![Entry::Node(a), Entry::Node(b)], vec![0.5, 0.2]);
        let mut v = TakeFirst(Vec::new());
        let found = t.find(&mut v).expect("role 0 is next");
        assert_eq!((found.role, found.fw), (0, 1));
        assert_eq!(v.0, vec![(1, 7), (0, 1)]);
        // Role 1 was closed: only role 0 is visited now.
        let mut v = TakeFirst(Vec::new());
        assert!(t.find(&mut v).is_some());
        assert_eq!(v.0, vec![(0, 1)]);
        t.close(a);
        assert!(t.is_empty());
    }
}
