//! The storage behind a [`Qty`](super::qty::Qty): a growable vector of
//! amounts that keeps up to [`INLINE`] of them in place, so the usual
//! quantity (a handful of names: cpus, mem, disk, gpus) is copied without
//! touching the heap. A cycle clones and drops quantities for every offer,
//! holding and grant; with a `Vec` each of those was an allocation.

/// How many amounts are kept without a heap allocation.
pub(crate) const INLINE: usize = 4;

/// A vector of `i64` that only grows; its first [`INLINE`] entries live in
/// place. Behaves like the `Vec` it replaces: same length, same entries.
#[derive(Clone, Debug)]
pub(crate) enum Amounts {
    /// `len <= INLINE` entries in `data[..len]`; the rest of `data` is zero.
    Inline { len: usize, data: [i64; INLINE] },
    /// More entries than fit in place.
    Heap(Vec<i64>),
}

impl Default for Amounts {
    #[inline]
    fn default() -> Self {
        Amounts::Inline {
            len: 0,
            data: [0; INLINE],
        }
    }
}

impl Amounts {
    /// `n` copies of `value`.
    #[inline]
    pub(crate) fn filled(n: usize, value: i64) -> Self {
        let mut out = Self::default();
        out.grow(n);
        out.as_mut_slice().fill(value);
        out
    }

    /// The entries.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[i64] {
        match self {
            Amounts::Inline { len, data } => &data[..*len],
            Amounts::Heap(v) => v,
        }
    }

    /// The entries, mutable.
    #[inline]
    pub(crate) fn as_mut_slice(&mut self) -> &mut [i64] {
        match self {
            Amounts::Inline { len, data } => &mut data[..*len],
            Amounts::Heap(v) => v,
        }
    }

    /// How many entries.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Extends to `n` entries with zeros (no-op when already that long).
    pub(crate) fn grow(&mut self, n: usize) {
        match self {
            Amounts::Inline { len, .. } if n <= *len => {}
            // `data[len..]` is zero already.
            Amounts::Inline { len, .. } if n <= INLINE => *len = n,
            Amounts::Inline { len, data } => {
                let mut v = Vec::with_capacity(n);
                v.extend_from_slice(&data[..*len]);
                v.resize(n, 0);
                *self = Amounts::Heap(v);
            }
            Amounts::Heap(v) => {
                if v.len() < n {
                    v.resize(n, 0);
                }
            }
        }
    }
}

#[cfg(test)]
impl From<Vec<i64>> for Amounts {
    #[inline]
    fn from(v: Vec<i64>) -> Self {
        let mut out = Self::default();
        out.grow(v.len());
        out.as_mut_slice().copy_from_slice(&v);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_like_a_vec_inline_then_on_the_heap() {
        let mut a = Amounts::default();
        assert!(a.as_slice().is_empty());
        a.grow(2);
        a.as_mut_slice()[1] = 7;
        assert_eq!(a.as_slice(), &[0, 7]);
        a.grow(1);
        assert_eq!(a.len(), 2);
        a.grow(INLINE);
        assert!(matches!(a, Amounts::Inline { .. }));
        a.grow(INLINE + 2);
        assert!(matches!(a, Amounts::Heap(_)));
        let mut want = vec![0; INLINE + 2];
        want[1] = 7;
        assert_eq!(a.as_slice(), want.as_slice());
        assert_eq!(Amounts::filled(3, 5).as_slice(), &[5, 5, 5]);
        assert_eq!(Amounts::from(vec![1, 2]).as_slice(), &[1, 2]);
    }
}
