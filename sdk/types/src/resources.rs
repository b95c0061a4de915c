//! Resources and their arithmetic: what an agent has, what an offer holds,
//! what a task needs.
//!
//! A [`Resources`] value is a bag of named quantities: scalars (`cpus`,
//! `mem`, `disk`, `gpus`), ranges (`ports`) and sets. Each entry also says who
//! it belongs to: the role it is reserved for (if any), the role it was
//! allocated to in an offer (if any), and whether it is revocable (lent, and
//! taken back when its owner needs it). Two entries merge only when all of
//! that agrees, so "2 regular cpus" and "2 revocable cpus" stay apart and a
//! task can't be launched on revocable resources by accident.
//!
//! Scalars are fixed-point with three decimals, as in Mesos, so sums and
//! differences are exact: `0.1 + 0.2 - 0.3` is zero, not a float residue.
//!
//! ```
//! use corral_types::Resources;
//!
//! let offer = Resources::parse("cpus:4;mem:8192;ports:[31000-31009]").unwrap();
//! let task = Resources::new().with_cpus(1.5).with_mem(1024.0).with_ports(31000, 31001);
//! assert!(offer.contains(&task));
//! let left = offer.checked_sub(&task).unwrap();
//! assert_eq!(left.cpus(), 2.5);
//! assert_eq!(left.ports().count(), 8);
//! ```

use std::collections::BTreeSet;
use std::fmt;

mod parse;
mod ranges;

pub use ranges::Ranges;

use crate::Role;

/// A non-negative quantity with three decimals of precision, stored exactly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scalar(i64);

impl Scalar {
    /// Zero.
    pub const ZERO: Scalar = Scalar(0);

    /// Rounds `value` to three decimals. NaN and negative values become
    /// zero; use [`Resources::parse`] (or the checked wire conversion of
    /// `corral-proto`) to get an error for them instead.
    pub fn from_f64(value: f64) -> Self {
        if value.is_nan() || value <= 0.0 {
            return Scalar(0);
        }
        let millis = (value * 1000.0).round();
        if millis >= i64::MAX as f64 {
            Scalar(i64::MAX)
        } else {
            Scalar(millis as i64)
        }
    }

    /// A quantity given in thousandths.
    pub fn from_millis(millis: i64) -> Self {
        Scalar(millis.max(0))
    }

    /// The quantity as a float.
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// The quantity in thousandths.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// True for zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl std::ops::Add for Scalar {
    type Output = Scalar;
    fn add(self, rhs: Scalar) -> Scalar {
        Scalar(self.0.saturating_add(rhs.0))
    }
}

impl std::ops::Sub for Scalar {
    type Output = Scalar;
    /// Saturates at zero: quantities are never negative.
    fn sub(self, rhs: Scalar) -> Scalar {
        Scalar((self.0 - rhs.0).max(0))
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / 1000, self.0 % 1000);
        if frac == 0 {
            write!(f, "{whole}")
        } else {
            let frac = format!("{frac:03}");
            write!(f, "{whole}.{}", frac.trim_end_matches('0'))
        }
    }
}

/// The quantity of one resource entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// A divisible quantity (`cpus`, `mem`, `disk`, `gpus`).
    Scalar(Scalar),
    /// Inclusive integer ranges (`ports`).
    Ranges(Ranges),
    /// A set of named items.
    Set(BTreeSet<String>),
}

impl Value {
    fn kind(&self) -> u8 {
        match self {
            Value::Scalar(_) => 0,
            Value::Ranges(_) => 1,
            Value::Set(_) => 2,
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Value::Scalar(s) => s.is_zero(),
            Value::Ranges(r) => r.is_empty(),
            Value::Set(s) => s.is_empty(),
        }
    }

    fn add(&mut self, other: &Value) {
        match (self, other) {
            (Value::Scalar(a), Value::Scalar(b)) => *a = *a + *b,
            (Value::Ranges(a), Value::Ranges(b)) => *a = a.union(b),
            (Value::Set(a), Value::Set(b)) => a.extend(b.iter().cloned()),
            // Entries only merge when their kinds agree (the kind is part of the key).
            _ => {}
        }
    }

    fn contains(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Scalar(a), Value::Scalar(b)) => a >= b,
            (Value::Ranges(a), Value::Ranges(b)) => a.contains(b),
            (Value::Set(a), Value::Set(b)) => b.is_subset(a),
            _ => false,
        }
    }

    /// `self - other`, assuming `self.contains(other)`.
    fn minus(&self, other: &Value) -> Value {
        match (self, other) {
            (Value::Scalar(a), Value::Scalar(b)) => Value::Scalar(*a - *b),
            (Value::Ranges(a), Value::Ranges(b)) => Value::Ranges(a.difference(b)),
            (Value::Set(a), Value::Set(b)) => Value::Set(a.difference(b).cloned().collect()),
            (a, _) => a.clone(),
        }
    }
}

/// One entry of a [`Resources`] bag.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Resource {
    /// The resource's name: `cpus`, `mem`, `disk`, `gpus`, `ports`, ...
    pub name: String,
    /// How much of it.
    pub value: Value,
    /// The role it is reserved for; `None` for unreserved resources.
    pub reservation: Option<Role>,
    /// The role it was allocated to, in an offer or a task; `None` elsewhere.
    pub allocation: Option<Role>,
    /// Lent resources that the master may take back with a revocation notice.
    pub revocable: bool,
}

impl Resource {
    /// An unreserved, unallocated, non-revocable scalar.
    pub fn scalar(name: impl Into<String>, value: f64) -> Self {
        Self::plain(name, Value::Scalar(Scalar::from_f64(value)))
    }

    /// An unreserved, unallocated, non-revocable entry of `value`.
    #[inline]
    pub fn new(name: impl Into<String>, value: Value) -> Self {
        Self::plain(name, value)
    }

    /// The same, reserved for `role` (`None`: unreserved).
    #[inline]
    pub fn with_reservation(mut self, role: Option<Role>) -> Self {
        self.reservation = role;
        self
    }

    /// The same, allocated to `role` (`None`: unallocated).
    #[inline]
    pub fn with_allocation(mut self, role: Option<Role>) -> Self {
        self.allocation = role;
        self
    }

    /// The same, revocable or not.
    #[inline]
    pub fn with_revocable(mut self, revocable: bool) -> Self {
        self.revocable = revocable;
        self
    }

    #[inline]
    fn plain(name: impl Into<String>, value: Value) -> Self {
        Resource {
            name: name.into(),
            value,
            reservation: None,
            allocation: None,
            revocable: false,
        }
    }

    fn same_key(&self, other: &Resource) -> bool {
        self.name == other.name
            && self.value.kind() == other.value.kind()
            && self.reservation == other.reservation
            && self.allocation == other.allocation
            && self.revocable == other.revocable
    }

    fn sort_key(&self) -> (&str, u8, &Option<Role>, &Option<Role>, bool) {
        (
            &self.name,
            self.value.kind(),
            &self.reservation,
            &self.allocation,
            self.revocable,
        )
    }
}

/// A bag of resources, kept canonical: one entry per key, no empty entries,
/// entries sorted, so equal bags compare equal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Resources {
    entries: Vec<Resource>,
}

/// Why resources could not be parsed, converted or subtracted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResourcesError {
    /// The text form could not be parsed.
    #[error("cannot parse resources {text:?}: {why}")]
    Parse {
        /// The text that was given.
        text: String,
        /// What is wrong with it.
        why: String,
    },
    /// A resource is malformed (wrong value type, negative quantity, ...).
    #[error("invalid resource {name:?}: {why}")]
    Invalid {
        /// The resource's name.
        name: String,
        /// What is wrong with it.
        why: String,
    },
    /// Subtracting more than is there.
    #[error("insufficient resources: need {needed}, have {available}")]
    Insufficient {
        /// What was asked for.
        needed: String,
        /// What there was.
        available: String,
    },
}

impl Resources {
    /// An empty bag.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when the bag holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, in canonical order.
    pub fn iter(&self) -> impl Iterator<Item = &Resource> {
        self.entries.iter()
    }

    /// Adds one entry, merging it with an entry of the same key.
    pub fn push(&mut self, resource: Resource) {
        if resource.value.is_empty() {
            return;
        }
        match self.entries.iter_mut().find(|e| e.same_key(&resource)) {
            Some(existing) => existing.value.add(&resource.value),
            None => {
                let at = self
                    .entries
                    .partition_point(|e| e.sort_key() < resource.sort_key());
                self.entries.insert(at, resource);
            }
        }
    }

    /// Adds `value` of the scalar `name`.
    pub fn with_scalar(mut self, name: &str, value: f64) -> Self {
        self.push(Resource::scalar(name, value));
        self
    }

    /// Adds CPUs.
    pub fn with_cpus(self, cpus: f64) -> Self {
        self.with_scalar("cpus", cpus)
    }

    /// Adds memory, in MB.
    pub fn with_mem(self, mb: f64) -> Self {
        self.with_scalar("mem", mb)
    }

    /// Adds disk, in MB.
    pub fn with_disk(self, mb: f64) -> Self {
        self.with_scalar("disk", mb)
    }

    /// Adds GPUs.
    pub fn with_gpus(self, gpus: f64) -> Self {
        self.with_scalar("gpus", gpus)
    }

    /// Adds the ports `begin..=end`.
    pub fn with_ports(self, begin: u64, end: u64) -> Self {
        self.with_ranges("ports", Ranges::new([(begin, end)]))
    }

    /// Adds ranges of the resource `name`.
    pub fn with_ranges(mut self, name: &str, ranges: Ranges) -> Self {
        self.push(Resource::plain(name, Value::Ranges(ranges)));
        self
    }

    /// Adds set items of the resource `name`.
    pub fn with_set<I, S>(mut self, name: &str, items: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let set = items.into_iter().map(Into::into).collect();
        self.push(Resource::plain(name, Value::Set(set)));
        self
    }

    /// The total of the scalar `name` across all entries (all roles,
    /// revocable or not). Zero when absent.
    pub fn scalar(&self, name: &str) -> f64 {
        self.scalar_total(name).as_f64()
    }

    /// The exact total of the scalar `name` across all entries.
    pub fn scalar_total(&self, name: &str) -> Scalar {
        self.entries
            .iter()
            .filter(|e| e.name == name)
            .fold(Scalar::ZERO, |sum, e| match e.value {
                Value::Scalar(s) => sum + s,
                _ => sum,
            })
    }

    /// Total CPUs.
    pub fn cpus(&self) -> f64 {
        self.scalar("cpus")
    }

    /// Total memory, in MB.
    pub fn mem(&self) -> f64 {
        self.scalar("mem")
    }

    /// Total disk, in MB.
    pub fn disk(&self) -> f64 {
        self.scalar("disk")
    }

    /// Total GPUs.
    pub fn gpus(&self) -> f64 {
        self.scalar("gpus")
    }

    /// The union of the ranges named `name` across all entries.
    pub fn ranges(&self, name: &str) -> Ranges {
        self.entries
            .iter()
            .filter(|e| e.name == name)
            .fold(Ranges::default(), |acc, e| match &e.value {
                Value::Ranges(r) => acc.union(r),
                _ => acc,
            })
    }

    /// All ports.
    pub fn ports(&self) -> Ranges {
        self.ranges("ports")
    }

    /// Each scalar entry's name and quantity (one item per entry; a name can
    /// appear several times, e.g. reserved and unreserved cpus).
    pub fn scalar_quantities(&self) -> impl Iterator<Item = (&str, Scalar)> {
        self.entries.iter().filter_map(|e| match e.value {
            Value::Scalar(s) => Some((e.name.as_str(), s)),
            _ => None,
        })
    }

    /// True when every entry of `other` is covered by an entry of `self`
    /// with the same name, reservation, allocation role and revocability.
    pub fn contains(&self, other: &Resources) -> bool {
        other.entries.iter().all(|want| {
            self.entries
                .iter()
                .find(|have| have.same_key(want))
                .is_some_and(|have| have.value.contains(&want.value))
        })
    }

    /// `self - other`, or `None` unless `self` contains `other`.
    pub fn checked_sub(&self, other: &Resources) -> Option<Resources> {
        if !self.contains(other) {
            return None;
        }
        let mut out = Resources::new();
        for have in &self.entries {
            let left = match other.entries.iter().find(|w| w.same_key(have)) {
                Some(want) => have.value.minus(&want.value),
                None => have.value.clone(),
            };
            if !left.is_empty() {
                out.entries.push(Resource {
                    value: left,
                    ..have.clone()
                });
            }
        }
        Some(out)
    }

    /// Subtracts `other` in place; fails, leaving `self` untouched, unless
    /// `self` contains `other`.
    pub fn subtract(&mut self, other: &Resources) -> Result<(), ResourcesError> {
        match self.checked_sub(other) {
            Some(left) => {
                *self = left;
                Ok(())
            }
            None => Err(ResourcesError::Insufficient {
                needed: other.to_string(),
                available: self.to_string(),
            }),
        }
    }

    fn map(&self, f: impl Fn(&mut Resource)) -> Resources {
        let mut out = Resources::new();
        for entry in &self.entries {
            let mut entry = entry.clone();
            f(&mut entry);
            out.push(entry);
        }
        out
    }

    /// A copy with every entry allocated to `role`.
    pub fn allocated_to(&self, role: &Role) -> Resources {
        self.map(|e| e.allocation = Some(role.clone()))
    }

    /// A copy with the allocation role cleared from every entry.
    pub fn unallocated(&self) -> Resources {
        self.map(|e| e.allocation = None)
    }

    /// A copy with the reservation cleared from every entry: what a RESERVE
    /// converts from, what an UNRESERVE gives back.
    pub fn without_reservation(&self) -> Resources {
        self.map(|e| e.reservation = None)
    }

    /// A copy with every entry reserved for `role`.
    pub fn reserved_to(&self, role: &Role) -> Resources {
        self.map(|e| e.reservation = Some(role.clone()))
    }

    /// A copy with every entry marked revocable.
    pub fn revocable(&self) -> Resources {
        self.map(|e| e.revocable = true)
    }

    /// The entries for which `keep` is true.
    pub fn filter(&self, keep: impl Fn(&Resource) -> bool) -> Resources {
        Resources {
            entries: self.entries.iter().filter(|e| keep(e)).cloned().collect(),
        }
    }

    /// Only the revocable entries.
    pub fn only_revocable(&self) -> Resources {
        self.filter(|e| e.revocable)
    }

    /// Only the entries that are not revocable.
    pub fn non_revocable(&self) -> Resources {
        self.filter(|e| !e.revocable)
    }

    /// Only the unreserved entries.
    pub fn unreserved(&self) -> Resources {
        self.filter(|e| e.reservation.is_none())
    }

    /// Only the entries reserved for exactly `role`.
    pub fn reserved_for(&self, role: &Role) -> Resources {
        self.filter(|e| e.reservation.as_ref() == Some(role))
    }

    /// Only the entries allocated to `role`.
    pub fn allocated(&self, role: &Role) -> Resources {
        self.filter(|e| e.allocation.as_ref() == Some(role))
    }

    /// The distinct allocation roles of the entries.
    pub fn allocation_roles(&self) -> BTreeSet<&Role> {
        self.entries
            .iter()
            .filter_map(|e| e.allocation.as_ref())
            .collect()
    }
}

impl std::ops::AddAssign<&Resources> for Resources {
    fn add_assign(&mut self, rhs: &Resources) {
        for entry in &rhs.entries {
            self.push(entry.clone());
        }
    }
}

impl std::ops::Add<&Resources> for Resources {
    type Output = Resources;
    fn add(mut self, rhs: &Resources) -> Resources {
        self += rhs;
        self
    }
}

impl FromIterator<Resource> for Resources {
    fn from_iter<T: IntoIterator<Item = Resource>>(iter: T) -> Self {
        let mut out = Resources::new();
        for r in iter {
            out.push(r);
        }
        out
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(role) = &self.reservation {
            write!(f, "({role})")?;
        }
        if let Some(role) = &self.allocation {
            write!(f, "{{allocated:{role}}}")?;
        }
        if self.revocable {
            f.write_str("{revocable}")?;
        }
        f.write_str(":")?;
        match &self.value {
            Value::Scalar(s) => write!(f, "{s}"),
            Value::Ranges(r) => write!(f, "{r}"),
            Value::Set(s) => {
                let items: Vec<&str> = s.iter().map(String::as_str).collect();
                write!(f, "{{{}}}", items.join(","))
            }
        }
    }
}

impl fmt::Display for Resources {
    /// The Mesos text form, `cpus:2;mem:1024;ports:[31000-31009]`, with
    /// `(role)` after a reserved name. Allocation and revocability are shown
    /// in braces for reading; [`Resources::parse`] does not read them back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.entries.is_empty() {
            return f.write_str("{}");
        }
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{entry}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
