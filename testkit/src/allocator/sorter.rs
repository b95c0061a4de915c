//! Dominant Resource Fairness (DRF) bookkeeping for the allocator: exact
//! per-name scalar sums ([`Quantities`]), the dominant share computed from
//! them, and the ordered set ([`DrfSorter`]) a batch cycle walks to pick the
//! least-served role, then the least-served framework inside it.
//!
//! Sums are kept in [`Scalar`] fixed point so adding and removing the same
//! resources always returns to exactly the same value; only the share itself
//! (a ratio) is a float, recomputed from the exact sums every time.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use corral::{Resources, Scalar};

/// Exact totals of scalar resources by name, ignoring reservation,
/// allocation role and revocability (what DRF compares).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Quantities(BTreeMap<String, Scalar>);

impl Quantities {
    /// The scalar totals of `resources`.
    pub(crate) fn of(resources: &Resources) -> Self {
        let mut out = Self::default();
        out.add_resources(resources);
        out
    }

    /// True when every total is zero.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The total of `name` (zero when absent).
    pub(crate) fn get(&self, name: &str) -> Scalar {
        self.0.get(name).copied().unwrap_or(Scalar::ZERO)
    }

    /// The `(name, total)` pairs, by name.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, Scalar)> {
        self.0.iter().map(|(name, s)| (name.as_str(), *s))
    }

    fn add_one(&mut self, name: &str, amount: Scalar) {
        if amount.is_zero() {
            return;
        }
        match self.0.get_mut(name) {
            Some(total) => *total = *total + amount,
            None => {
                self.0.insert(name.to_owned(), amount);
            }
        }
    }

    fn sub_one(&mut self, name: &str, amount: Scalar) {
        if let Some(total) = self.0.get_mut(name) {
            // `Scalar` subtraction saturates at zero; callers only subtract
            // what they added, so this is exact.
            *total = *total - amount;
            if total.is_zero() {
                self.0.remove(name);
            }
        }
    }

    /// Adds the scalar entries of `resources`.
    pub(crate) fn add_resources(&mut self, resources: &Resources) {
        for (name, amount) in resources.scalar_quantities() {
            self.add_one(name, amount);
        }
    }

    /// Subtracts the scalar entries of `resources` (saturating at zero per
    /// name).
    pub(crate) fn sub_resources(&mut self, resources: &Resources) {
        for (name, amount) in resources.scalar_quantities() {
            self.sub_one(name, amount);
        }
    }

    /// Adds `other`.
    pub(crate) fn add(&mut self, other: &Quantities) {
        for (name, amount) in other.iter() {
            self.add_one(name, amount);
        }
    }

    /// Subtracts `other` (saturating at zero per name).
    pub(crate) fn sub(&mut self, other: &Quantities) {
        for (name, amount) in other.iter() {
            self.sub_one(name, amount);
        }
    }
}

/// The dominant share of `allocated` in a cluster of `total`: the largest
/// `allocated[name] / total[name]` over the names the cluster has. Names
/// the cluster has none of are ignored.
pub(crate) fn dominant_share(allocated: &Quantities, total: &Quantities) -> f64 {
    let mut share = 0.0_f64;
    for (name, amount) in allocated.iter() {
        let whole = total.get(name);
        if whole.is_zero() {
            continue;
        }
        let ratio = amount.millis() as f64 / whole.millis() as f64;
        if ratio > share {
            share = ratio;
        }
    }
    share
}

/// A share as a totally ordered key (shares are finite and non-negative;
/// `total_cmp` keeps the order defined even if one is not).
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

/// Clients `0..n` ordered by increasing share, ties by index.
///
/// The allocator builds one per cycle with clients indexed in name order,
/// so "ties by index" is "ties by name". Updating one client's share after
/// it got an allocation costs `O(log n)`; nothing else is re-sorted.
#[derive(Clone, Debug, Default)]
pub(crate) struct DrfSorter {
    order: BTreeSet<(Share, usize)>,
    shares: Vec<Share>,
}

impl DrfSorter {
    /// A sorter over clients `0..shares.len()` with these initial shares.
    pub(crate) fn new(shares: Vec<f64>) -> Self {
        let shares: Vec<Share> = shares.into_iter().map(Share).collect();
        let order = shares.iter().enumerate().map(|(i, s)| (*s, i)).collect();
        Self { order, shares }
    }

    /// Sets client `index`'s share and moves it to its new place.
    pub(crate) fn update(&mut self, index: usize, share: f64) {
        let Some(old) = self.shares.get_mut(index) else {
            return;
        };
        self.order.remove(&(*old, index));
        *old = Share(share);
        self.order.insert((Share(share), index));
    }

    /// Sort key of client `index` (share, then index), for ordering a subset.
    pub(crate) fn key(&self, index: usize) -> (f64, usize) {
        (self.shares.get(index).map_or(f64::INFINITY, |s| s.0), index)
    }

    /// Clients from the smallest share to the largest.
    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.order.iter().map(|(_, i)| *i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_exact() {
        let mut q = Quantities::default();
        for _ in 0..10 {
            q.add_resources(&Resources::new().with_cpus(0.1));
        }
        for _ in 0..10 {
            q.sub(&Quantities::of(&Resources::new().with_cpus(0.1)));
        }
        assert!(q.is_empty());
    }

    #[test]
    fn dominant_share_takes_the_max() {
        let total = Quantities::of(&Resources::new().with_cpus(10.0).with_mem(100.0));
        let used = Quantities::of(&Resources::new().with_cpus(1.0).with_mem(50.0));
        assert_eq!(dominant_share(&used, &total), 0.5);
        let odd = Quantities::of(&Resources::new().with_gpus(1.0));
        assert_eq!(dominant_share(&odd, &total), 0.0);
    }

    #[test]
    fn sorter_orders_by_share_then_index() {
        let mut s = DrfSorter::new(vec![0.5, 0.1, 0.1]);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![1, 2, 0]);
        s.update(1, 0.9);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![2, 0, 1]);
        s.update(7, 0.0);
        assert_eq!(s.iter().count(), 3);
    }
}
