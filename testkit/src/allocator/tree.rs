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

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::types::{FwId, RoleId};

/// Clients `0..n` ordered by increasing share, ties by index (the tree
/// indexes clients in name order, so ties go by name).
///
/// An indexed binary min-heap: building it is linear, an update or a
/// removal is `O(log n)`, and the in-order walk ([`Self::iter`]) yields the
/// smallest client without allocating and each further one in
/// `O(log k)` (a second heap over the frontier of the first), so a walk
/// that takes its first candidate, the usual case, costs `O(1)`.
#[derive(Clone, Debug, Default)]
pub(crate) struct DrfSorter {
    /// (share as an integer key of the same total order, client),
    /// heap-ordered: the smallest at 0. Integers compare in one
    /// instruction, where `f64::total_cmp` takes a few.
    heap: Vec<(i64, usize)>,
    /// Per client: its position in `heap`, or [`GONE`] once removed.
    pos: Vec<usize>,
}

/// The position of a removed client.
const GONE: usize = usize::MAX;

/// An integer whose order is `f64::total_cmp`'s (the same bit trick).
#[inline]
fn key(share: f64) -> i64 {
    let bits = share.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

impl DrfSorter {
    /// A sorter over clients `0..shares.len()` with these shares.
    pub(crate) fn new(shares: Vec<f64>) -> Self {
        let heap: Vec<(i64, usize)> = shares
            .into_iter()
            .enumerate()
            .map(|(i, s)| (key(s), i))
            .collect();
        let pos = (0..heap.len()).collect();
        let mut sorter = Self { heap, pos };
        for at in (0..sorter.heap.len() / 2).rev() {
            sorter.sift_down(at);
        }
        sorter
    }

    #[inline]
    fn place(&mut self, at: usize, entry: (i64, usize)) {
        self.pos[entry.1] = at;
        self.heap[at] = entry;
    }

    fn sift_up(&mut self, mut at: usize) {
        let entry = self.heap[at];
        while at > 0 {
            let parent = (at - 1) / 2;
            if self.heap[parent] <= entry {
                break;
            }
            let up = self.heap[parent];
            self.place(at, up);
            at = parent;
        }
        self.place(at, entry);
    }

    fn sift_down(&mut self, mut at: usize) {
        let entry = self.heap[at];
        let n = self.heap.len();
        loop {
            let left = 2 * at + 1;
            if left >= n {
                break;
            }
            let right = left + 1;
            let child = if right < n && self.heap[right] < self.heap[left] {
                right
            } else {
                left
            };
            if entry <= self.heap[child] {
                break;
            }
            let down = self.heap[child];
            self.place(at, down);
            at = child;
        }
        self.place(at, entry);
    }

    /// Sets client `index`'s share (ignored for a removed client).
    pub(crate) fn update(&mut self, index: usize, share: f64) {
        let Some(&at) = self.pos.get(index).filter(|at| **at != GONE) else {
            return;
        };
        let old = self.heap[at];
        let new = (key(share), index);
        self.heap[at] = new;
        if new < old {
            self.sift_up(at);
        } else {
            self.sift_down(at);
        }
    }

    /// Takes client `index` out of the order.
    pub(crate) fn remove(&mut self, index: usize) {
        let Some(&at) = self.pos.get(index).filter(|at| **at != GONE) else {
            return;
        };
        self.pos[index] = GONE;
        let Some(last) = self.heap.pop() else {
            return;
        };
        if at < self.heap.len() {
            let old = self.heap[at];
            self.place(at, last);
            if last < old {
                self.sift_up(at);
            } else {
                self.sift_down(at);
            }
        }
    }

    /// No client left.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Clients from the smallest share to the largest.
    #[inline]
    pub(crate) fn iter(&self) -> InOrder<'_> {
        InOrder {
            sorter: self,
            started: false,
            expand: None,
            frontier: BinaryHeap::new(),
        }
    }
}

/// The clients of a [`DrfSorter`] in order, walking its heap: the frontier
/// holds the heap positions whose parents were yielded.
pub(crate) struct InOrder<'a> {
    sorter: &'a DrfSorter,
    started: bool,
    /// The position last yielded, whose children join the frontier before
    /// the next one is taken (so taking only the first allocates nothing).
    expand: Option<usize>,
    frontier: BinaryHeap<Reverse<((i64, usize), usize)>>,
}

impl Iterator for InOrder<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let heap = &self.sorter.heap;
        if !self.started {
            self.started = true;
            let first = heap.first()?;
            self.expand = Some(0);
            return Some(first.1);
        }
        if let Some(at) = self.expand.take() {
            for child in [2 * at + 1, 2 * at + 2] {
                if let Some(entry) = heap.get(child) {
                    self.frontier.push(Reverse((*entry, child)));
                }
            }
        }
        let Reverse((entry, at)) = self.frontier.pop()?;
        self.expand = Some(at);
        Some(entry.1)
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

    /// The heap walks in exactly the order of a sort by (share, index),
    /// through random updates (up and down, ties included) and removals.
    #[test]
    fn sorter_walks_in_sorted_order_through_updates_and_removals() {
        let mut rng = crate::rng::SplitMix64::new(11);
        for n in [0usize, 1, 2, 3, 7, 16, 50] {
            // Few distinct shares, so ties are common.
            let mut shares: Vec<Option<f64>> =
                (0..n).map(|_| Some(rng.below(5) as f64 / 4.0)).collect();
            let mut s = DrfSorter::new(shares.iter().map(|x| x.unwrap_or(0.0)).collect());
            for step in 0..200 {
                let want = {
                    let mut live: Vec<(f64, usize)> = shares
                        .iter()
                        .enumerate()
                        .filter_map(|(i, x)| x.map(|x| (x, i)))
                        .collect();
                    live.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                    live.into_iter().map(|(_, i)| i).collect::<Vec<_>>()
                };
                assert_eq!(s.iter().collect::<Vec<_>>(), want, "n {n} step {step}");
                assert_eq!(s.is_empty(), want.is_empty());
                if n == 0 {
                    break;
                }
                let i = rng.below(n as u64) as usize;
                if rng.below(6) == 0 {
                    s.remove(i);
                    shares[i] = None;
                } else {
                    let x = rng.below(5) as f64 / 4.0;
                    s.update(i, x);
                    if shares[i].is_some() {
                        shares[i] = Some(x);
                    }
                }
            }
        }
    }

    #[test]
    fn integer_keys_order_shares_as_total_cmp() {
        let xs = [
            -1.5,
            -0.0,
            0.0,
            1e-300,
            0.25,
            0.5,
            1.0,
            3.0,
            f64::INFINITY,
            f64::NAN,
        ];
        for a in xs {
            for b in xs {
                assert_eq!(key(a).cmp(&key(b)), a.total_cmp(&b), "{a} {b}");
            }
        }
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
