//! The allocator's compact scalar arithmetic: resource names interned to
//! small indices ([`Names`]) and per-name fixed-point amounts kept in a
//! plain vector ([`Qty`]), so the DRF, quota and headroom math of a cycle
//! never compares or clones a `String`.
//!
//! Amounts are thousandths, exactly as [`corral::Scalar`] stores them, so
//! adding and removing the same resources returns to exactly the same value.
//! Only a dominant share (a ratio) is a float.

use std::collections::{BTreeMap, BTreeSet};

use corral::{Resources, Scalar, Value};

use super::amounts::Amounts;

/// Index of an interned scalar resource name.
pub(crate) type NameId = usize;

/// Scalar resource names in use, each with a stable index while in use.
/// A name nothing uses any more is forgotten ([`Self::forget`]): its index
/// goes back to a free list, the lowest free index is reused first and
/// free indices at the end are dropped, so the names (and the length of
/// every per-name vector) are bounded by the names in use at the peak.
#[derive(Clone, Debug, Default)]
pub(crate) struct Names {
    /// By index; a free index holds an empty string.
    names: Vec<String>,
    index: BTreeMap<String, NameId>,
    /// Free indices below the end of `names`.
    free: BTreeSet<NameId>,
}

impl Names {
    /// The index of `name`, interning it if new.
    #[inline]
    pub(crate) fn intern(&mut self, name: &str) -> NameId {
        if let Some(id) = self.index.get(name) {
            return *id;
        }
        let id = match self.free.pop_first() {
            Some(id) => {
                self.names[id] = name.to_owned();
                id
            }
            None => {
                self.names.push(name.to_owned());
                self.names.len() - 1
            }
        };
        self.index.insert(name.to_owned(), id);
        id
    }

    /// Forgets the name of index `id` (the caller checked that nothing
    /// uses it: every amount of that index is zero everywhere).
    pub(crate) fn forget(&mut self, id: NameId) {
        let Some(name) = self.names.get_mut(id).filter(|n| !n.is_empty()) else {
            return;
        };
        self.index.remove(name.as_str());
        name.clear();
        self.free.insert(id);
        while self.names.last().is_some_and(String::is_empty) {
            self.names.pop();
            self.free.remove(&self.names.len());
        }
    }

    /// The interned indices, in index order.
    pub(crate) fn ids(&self) -> impl Iterator<Item = NameId> + '_ {
        self.index.values().copied()
    }

    /// The index, free list and names agree.
    pub(crate) fn check(&self) -> Result<(), String> {
        let live = self.names.iter().filter(|n| !n.is_empty()).count();
        let indexed = self
            .index
            .iter()
            .all(|(name, id)| self.names.get(*id) == Some(name));
        let freed = self
            .free
            .iter()
            .all(|id| self.names.get(*id).is_some_and(String::is_empty));
        if live != self.index.len()
            || !indexed
            || !freed
            || self.free.len() + live != self.names.len()
            || self.names.last().is_some_and(String::is_empty)
        {
            return Err("resource names: index or free list out of date".into());
        }
        Ok(())
    }

    /// The index of `name`, if it was interned.
    #[inline]
    pub(crate) fn get(&self, name: &str) -> Option<NameId> {
        self.index.get(name).copied()
    }

    /// The name of index `id`.
    #[inline]
    pub(crate) fn name(&self, id: NameId) -> &str {
        self.names.get(id).map_or("", String::as_str)
    }

    /// One past the highest index in use (free indices below it
    /// included): the length of a full per-name vector.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// The scalar entries of `resources` as a [`Qty`], interning names.
    #[inline]
    pub(crate) fn qty_of(&mut self, resources: &Resources) -> Qty {
        let mut q = Qty::default();
        for (name, amount) in resources.scalar_quantities() {
            let id = self.intern(name);
            q.add_at(id, amount.millis());
        }
        q
    }

    /// The scalar entries of `resources` as a [`Qty`], or `None` when one
    /// of their names was never interned (so no agent can have it).
    #[inline]
    pub(crate) fn known_qty_of(&self, resources: &Resources) -> Option<Qty> {
        let mut q = Qty::default();
        for (name, amount) in resources.scalar_quantities() {
            q.add_at(self.get(name)?, amount.millis());
        }
        Some(q)
    }
}

/// Per-name amounts in thousandths, indexed by [`NameId`]. Missing indices
/// are zero; trailing zeros do not matter for equality.
#[derive(Clone, Debug, Default)]
pub(crate) struct Qty(Amounts);

impl PartialEq for Qty {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        let n = self.0.len().max(other.0.len());
        (0..n).all(|i| self.get(i) == other.get(i))
    }
}

impl Eq for Qty {}

impl Qty {
    /// These amounts, by name index.
    #[cfg(test)]
    #[inline]
    pub(crate) fn from_vec(v: Vec<i64>) -> Self {
        Qty(Amounts::from(v))
    }

    /// `n` names, each "unlimited" (`i64::MAX`): the neutral cap.
    #[inline]
    pub(crate) fn unlimited(n: usize) -> Self {
        Qty(Amounts::filled(n, i64::MAX))
    }

    /// The amount of name `i` (zero when absent).
    #[inline]
    pub(crate) fn get(&self, i: NameId) -> i64 {
        self.0.as_slice().get(i).copied().unwrap_or(0)
    }

    /// Sets the amount of name `i`.
    #[inline]
    pub(crate) fn set(&mut self, i: NameId, value: i64) {
        self.0.grow(i + 1);
        self.0.as_mut_slice()[i] = value;
    }

    #[inline]
    fn add_at(&mut self, i: NameId, value: i64) {
        let v = self.get(i).saturating_add(value);
        self.set(i, v);
    }

    /// True when every amount is zero.
    #[inline]
    pub(crate) fn is_zero(&self) -> bool {
        self.0.as_slice().iter().all(|v| *v == 0)
    }

    /// `(name, amount)` for every non-zero amount.
    #[inline]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (NameId, i64)> + '_ {
        self.0
            .as_slice()
            .iter()
            .enumerate()
            .filter(|(_, v)| **v != 0)
            .map(|(i, v)| (i, *v))
    }

    /// Adds `other`.
    #[inline]
    pub(crate) fn add(&mut self, other: &Qty) {
        self.0.grow(other.0.len());
        for (a, b) in self.0.as_mut_slice().iter_mut().zip(other.0.as_slice()) {
            *a = a.saturating_add(*b);
        }
    }

    /// Subtracts `other`, saturating at zero per name (callers subtract
    /// only what they added, so this is exact).
    #[inline]
    pub(crate) fn sub(&mut self, other: &Qty) {
        for (a, b) in self.0.as_mut_slice().iter_mut().zip(other.0.as_slice()) {
            *a = (*a - *b).max(0);
        }
    }

    /// `self - other` per name, clamped at zero.
    #[inline]
    pub(crate) fn minus(&self, other: &Qty) -> Qty {
        let mut out = self.clone();
        out.sub(other);
        out
    }

    /// True when `self[i] >= other[i]` for every name.
    #[inline]
    pub(crate) fn contains(&self, other: &Qty) -> bool {
        other.iter().all(|(i, v)| self.get(i) >= v)
    }

    /// Lowers each amount to at most `cap`'s (missing in `cap` = zero).
    #[inline]
    pub(crate) fn min_with(&mut self, cap: &Qty) {
        for (i, a) in self.0.as_mut_slice().iter_mut().enumerate() {
            *a = (*a).min(cap.get(i));
        }
    }

    /// Raises each amount to at least `other`'s.
    #[inline]
    pub(crate) fn max_with(&mut self, other: &Qty) {
        self.0.grow(other.0.len());
        for (a, b) in self.0.as_mut_slice().iter_mut().zip(other.0.as_slice()) {
            *a = (*a).max(*b);
        }
    }

    /// The scalar entries as `Resources` with the given markings.
    pub(crate) fn to_resources(
        &self,
        names: &Names,
        reservation: Option<&corral::Role>,
        allocation: Option<&corral::Role>,
        revocable: bool,
    ) -> Resources {
        self.iter()
            .map(|(i, v)| {
                corral::Resource::new(names.name(i), Value::Scalar(Scalar::from_millis(v)))
                    .with_reservation(reservation.cloned())
                    .with_allocation(allocation.cloned())
                    .with_revocable(revocable)
            })
            .collect()
    }
}

/// `1 / total[i]` per name (zero where the cluster has none), so a share is
/// a few multiplications.
pub(crate) fn inverse(total: &Qty, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| match total.get(i) {
            0 => 0.0,
            t => 1.0 / t as f64,
        })
        .collect()
}

/// The dominant share of `held`: the largest `held[i] / total[i]` over the
/// names the cluster has, with `inv` from [`inverse`].
pub(crate) fn dominant_share(held: &Qty, inv: &[f64]) -> f64 {
    let mut share = 0.0_f64;
    for (a, f) in held.0.as_slice().iter().zip(inv) {
        let s = *a as f64 * f;
        if s > share {
            share = s;
        }
    }
    share
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_then_sub_is_exact_and_ignores_trailing_zeros() {
        let mut names = Names::default();
        let tenth = names.qty_of(&Resources::new().with_cpus(0.1));
        let mut q = Qty::default();
        for _ in 0..10 {
            q.add(&tenth);
        }
        assert_eq!(q.get(0), 1000);
        for _ in 0..10 {
            q.sub(&tenth);
        }
        assert!(q.is_zero());
        assert_eq!(q, Qty::default());
    }

    #[test]
    fn dominant_share_takes_the_largest_ratio() {
        let mut names = Names::default();
        let total = names.qty_of(&Resources::new().with_cpus(10.0).with_mem(100.0));
        let used = names.qty_of(&Resources::new().with_cpus(1.0).with_mem(50.0));
        let inv = inverse(&total, names.len());
        assert_eq!(dominant_share(&used, &inv), 0.5);
        let gpus = names.qty_of(&Resources::new().with_gpus(1.0));
        assert_eq!(dominant_share(&gpus, &inverse(&total, names.len())), 0.0);
    }

    #[test]
    fn caps_and_containment() {
        let mut q = Qty::from_vec(vec![5, 7]);
        q.min_with(&Qty::from_vec(vec![3, i64::MAX]));
        assert_eq!(q, Qty::from_vec(vec![3, 7]));
        assert!(q.contains(&Qty::from_vec(vec![3])));
        assert!(!q.contains(&Qty::from_vec(vec![0, 8])));
        assert_eq!(
            q.minus(&Qty::from_vec(vec![4, 1])),
            Qty::from_vec(vec![0, 6])
        );
    }
}
