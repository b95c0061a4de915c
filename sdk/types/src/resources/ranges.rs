//! Inclusive integer ranges (`ports:[31000-31009,32000-32000]`), kept sorted
//! and coalesced so that set operations are linear merges.

use std::fmt;

/// A set of integers stored as sorted, disjoint, non-adjacent inclusive
/// ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ranges {
    ranges: Vec<(u64, u64)>,
}

impl Ranges {
    /// Builds the union of the given inclusive `(begin, end)` ranges; a
    /// range with `begin > end` is empty and ignored.
    pub fn new(ranges: impl IntoIterator<Item = (u64, u64)>) -> Self {
        let mut list: Vec<(u64, u64)> = ranges.into_iter().filter(|(b, e)| b <= e).collect();
        list.sort_unstable();
        let mut out: Vec<(u64, u64)> = Vec::with_capacity(list.len());
        for (b, e) in list {
            match out.last_mut() {
                Some(last) if b <= last.1.saturating_add(1) => last.1 = last.1.max(e),
                _ => out.push((b, e)),
            }
        }
        Ranges { ranges: out }
    }

    /// True when no integer is in the set.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// How many integers the set holds.
    pub fn count(&self) -> u64 {
        self.ranges
            .iter()
            .map(|(b, e)| (e - b).saturating_add(1))
            .fold(0, u64::saturating_add)
    }

    /// The ranges, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.ranges.iter().copied()
    }

    /// True when `value` is in the set.
    pub fn contains_value(&self, value: u64) -> bool {
        self.ranges.iter().any(|&(b, e)| b <= value && value <= e)
    }

    /// True when every integer of `other` is in `self`.
    pub fn contains(&self, other: &Ranges) -> bool {
        other
            .ranges
            .iter()
            .all(|&(ob, oe)| self.ranges.iter().any(|&(b, e)| b <= ob && oe <= e))
    }

    /// The integers in either set.
    pub fn union(&self, other: &Ranges) -> Ranges {
        Ranges::new(self.iter().chain(other.iter()))
    }

    /// The integers of `self` that are not in `other`.
    pub fn difference(&self, other: &Ranges) -> Ranges {
        let mut out = Vec::new();
        for &(b, e) in &self.ranges {
            let mut start = b;
            let mut done = false;
            for &(ob, oe) in &other.ranges {
                if oe < start || ob > e {
                    continue;
                }
                if ob > start {
                    out.push((start, ob - 1));
                }
                if oe >= e {
                    done = true;
                    break;
                }
                start = oe + 1;
            }
            if !done {
                out.push((start, e));
            }
        }
        Ranges::new(out)
    }

    /// The `n` lowest integers of the set, or `None` if it holds fewer.
    /// Handy for picking ports out of an offer.
    pub fn take(&self, n: u64) -> Option<Ranges> {
        if n > self.count() {
            return None;
        }
        let mut left = n;
        let mut out = Vec::new();
        for &(b, e) in &self.ranges {
            if left == 0 {
                break;
            }
            let size = e - b + 1;
            let used = size.min(left);
            out.push((b, b + used - 1));
            left -= used;
        }
        Some(Ranges { ranges: out })
    }
}

impl fmt::Display for Ranges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, (b, e)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{b}-{e}")?;
        }
        f.write_str("]")
    }
}
