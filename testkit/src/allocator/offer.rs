//! What one framework would be offered on one agent in one stage of a
//! cycle: which pools it may draw from, and how much of each once
//! guarantees, headroom and limits are applied.
//!
//! When a cap binds, the offer is a *proportional slice* of what the pool
//! has available: every scalar is scaled by the same factor (the smallest
//! `cap / available` over the names), computed exactly in integers, so a
//! role limited to 10 of 16 CPUs also gets 10/16 of the memory rather than
//! all of it. Ranges are sliced by count the same way; sets go only with a
//! whole pool.

use std::time::Duration;

use corral::{Resources, Value};

use super::agents::{AgentBook, AgentState, Pool};
use super::filters::Filters;
use super::frameworks::FrameworkBook;
use super::hierarchy::Hierarchy;
use super::qty::{Names, Qty};
use super::quota::QuotaBook;
use super::roles::RoleTable;
use super::tree::{Visit, Visitor};
use super::types::{AgentIx, FwId, RoleId};

/// The three stages of a cycle (see the module docs of the allocator).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Toward unmet guarantees.
    Guarantee,
    /// Fair sharing, within the slack left by headroom.
    Fair,
    /// Lending idle guaranteed and reserved resources, revocable.
    Lend,
}

/// Facts fixed for one cycle.
#[derive(Clone, Debug)]
pub(crate) struct CycleCtx {
    /// `1 / cluster total` per name.
    pub(crate) inv: Vec<f64>,
    /// Per role: its subtree has demand (see `lending.rs`).
    pub(crate) demanding: Vec<bool>,
    /// Headroom of the demanding top-most quota'd roles: never lent.
    pub(crate) demanding_headroom: Qty,
    /// Some role has a quota (else caps are skipped entirely).
    pub(crate) any_quota: bool,
}

/// A slice of one pool.
#[derive(Clone, Debug)]
pub(crate) struct Part {
    pub(crate) pool: usize,
    pub(crate) qty: Qty,
    pub(crate) other: Resources,
}

/// The non-empty parts of an offer: the first in place (most offers take
/// one pool), the others on the heap, so the usual offer allocates nothing.
#[derive(Clone, Debug, Default)]
pub(crate) struct Parts {
    first: Option<Part>,
    rest: Vec<Part>,
}

impl Parts {
    /// Adds `part` unless it is empty.
    #[inline]
    fn push(&mut self, part: Part) {
        if part.qty.is_zero() && part.other.is_empty() {
            return;
        }
        match self.first {
            None => self.first = Some(part),
            Some(_) => self.rest.push(part),
        }
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// The parts, in the order they were added.
    #[inline]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Part> {
        self.first.iter().chain(&self.rest)
    }
}

impl IntoIterator for Parts {
    type Item = Part;
    type IntoIter = std::iter::Chain<std::option::IntoIter<Part>, std::vec::IntoIter<Part>>;

    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.rest)
    }
}

/// What a candidate would get: parts of one or more pools, all regular or
/// all lent.
#[derive(Clone, Debug)]
pub(crate) struct Offer {
    pub(crate) lent: bool,
    pub(crate) parts: Parts,
}

/// Every book, read-only, as one cycle step sees them.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub(crate) names: &'a Names,
    pub(crate) min_allocatable: &'a [Qty],
    pub(crate) agents: &'a AgentBook,
    pub(crate) frameworks: &'a FrameworkBook,
    pub(crate) roles: &'a RoleTable,
    pub(crate) quotas: &'a QuotaBook,
    pub(crate) filters: &'a Filters,
}

/// Walks the DRF tree for one agent in one stage.
pub(crate) struct AgentVisitor<'a> {
    pub(crate) view: View<'a>,
    pub(crate) ctx: &'a CycleCtx,
    pub(crate) stage: Stage,
    pub(crate) ix: AgentIx,
    pub(crate) agent: &'a AgentState,
    pub(crate) now: Duration,
    /// Only reserved pools have anything: enter only related subtrees.
    pub(crate) reserved_only: bool,
}

impl Visitor for AgentVisitor<'_> {
    type Offer = Offer;

    fn enter(&mut self, role: RoleId) -> bool {
        if !self.reserved_only {
            return true;
        }
        let roles = self.view.roles;
        self.agent.pools().iter().any(|p| {
            p.reservation().is_some_and(|x| {
                !p.is_exhausted()
                    && (roles.is_ancestor_or_self(x, role) || roles.is_ancestor_or_self(role, x))
            })
        })
    }

    fn visit(&mut self, role: RoleId, fw: FwId) -> Visit<Offer> {
        self.view.offer_for(self, role, fw)
    }
}

impl View<'_> {
    /// Free unreserved resources beyond the required headroom.
    pub(crate) fn slack(&self) -> Qty {
        self.agents
            .free_unreserved()
            .minus(self.quotas.required_headroom())
    }

    fn offer_for(&self, v: &AgentVisitor<'_>, role: RoleId, fw: FwId) -> Visit<Offer> {
        let n = self.names.len();
        let room = if v.ctx.any_quota {
            self.quotas.limit_room(self.roles, role, n)
        } else {
            None
        };
        if let Some(room) = &room {
            if (0..n).any(|i| room.get(i) == 0 && self.agents.cluster_total().get(i) > 0) {
                return Visit::RoleDone;
            }
        }
        let mut room_left = room;
        let mut parts = Parts::default();
        let mut lent = false;
        match v.stage {
            Stage::Guarantee => {
                let ent = self.quotas.entitlement(self.roles, role);
                if ent.is_zero() {
                    return Visit::RoleDone;
                }
                let Some(pi) = v.agent.pool_ix(None, false) else {
                    return Visit::Skip;
                };
                let slack = self.slack();
                let mut caps = Qty::unlimited(n);
                for i in 0..n {
                    let c = if ent.get(i) > 0 {
                        ent.get(i)
                    } else {
                        slack.get(i)
                    };
                    caps.set(i, c.min(room_left.as_ref().map_or(i64::MAX, |r| r.get(i))));
                }
                let part = slice(pi, &v.agent.pools()[pi], Some(&caps));
                if !ent.iter().any(|(i, _)| part.qty.get(i) > 0) {
                    return Visit::Skip;
                }
                parts.push(part);
            }
            Stage::Fair => {
                for (pi, pool) in v.agent.pools().iter().enumerate() {
                    if pool.is_native_revocable() || pool.is_exhausted() {
                        continue;
                    }
                    let caps = match pool.reservation() {
                        Some(x) if self.roles.is_ancestor_or_self(x, role) => room_left.clone(),
                        Some(_) => continue,
                        None if v.ctx.any_quota => {
                            let mut caps = self.quotas.entitlement(self.roles, role);
                            caps.add(&self.slack());
                            if let Some(r) = &room_left {
                                caps.min_with(r);
                            }
                            Some(caps)
                        }
                        None => None,
                    };
                    take_part(&mut parts, &mut room_left, pi, pool, caps.as_ref());
                }
            }
            Stage::Lend => {
                lent = true;
                for (pi, pool) in v.agent.pools().iter().enumerate() {
                    if pool.is_native_revocable() || pool.is_exhausted() {
                        continue;
                    }
                    let caps = match pool.reservation() {
                        Some(x) if self.roles.is_ancestor_or_self(x, role) => continue,
                        Some(x) if v.ctx.demanding[x] => continue,
                        Some(_) => room_left.clone(),
                        None => {
                            let mut caps = self
                                .agents
                                .free_unreserved()
                                .minus(&v.ctx.demanding_headroom);
                            if let Some(r) = &room_left {
                                caps.min_with(r);
                            }
                            Some(caps)
                        }
                    };
                    take_part(&mut parts, &mut room_left, pi, pool, caps.as_ref());
                }
            }
        }
        if parts.is_empty() || !self.allocatable(&parts) {
            return Visit::Skip;
        }
        let offer = Offer { lent, parts };
        if self.filters.of(fw, role, v.ix).is_some() {
            let resources = self.offer_resources(v.agent, &offer, None);
            if self.filters.is_filtered(fw, role, v.ix, &resources, v.now) {
                return Visit::Skip;
            }
        }
        Visit::Take(offer)
    }

    /// True when the parts together hold at least one of the minimum
    /// allocatable quantities (any non-empty offer when there are none).
    fn allocatable(&self, parts: &Parts) -> bool {
        if self.min_allocatable.is_empty() {
            return true;
        }
        if let (Some(one), true) = (&parts.first, parts.rest.is_empty()) {
            return self.min_allocatable.iter().any(|m| one.qty.contains(m));
        }
        let mut sum = Qty::default();
        for p in parts.iter() {
            sum.add(&p.qty);
        }
        self.min_allocatable.iter().any(|m| sum.contains(m))
    }

    /// The offer as `Resources`: unallocated form (`role: None`) for filter
    /// checks, or stamped with the role for an allocation.
    pub(crate) fn offer_resources(
        &self,
        agent: &AgentState,
        offer: &Offer,
        role: Option<&corral::Role>,
    ) -> Resources {
        let mut out = Resources::new();
        for part in offer.parts.iter() {
            let pool = &agent.pools()[part.pool];
            let reservation = pool.reservation().map(|r| self.roles.name(r));
            out += &part
                .qty
                .to_resources(self.names, reservation, role, offer.lent);
            for entry in part.other.iter() {
                let mut e = entry.clone();
                e.allocation = role.cloned();
                e.revocable = offer.lent;
                out.push(e);
            }
        }
        out
    }
}

/// Slices `pool` under `caps` and lowers the remaining limit room.
fn take_part(
    parts: &mut Parts,
    room_left: &mut Option<Qty>,
    pi: usize,
    pool: &Pool,
    caps: Option<&Qty>,
) {
    let part = slice(pi, pool, caps);
    if let Some(r) = room_left {
        r.sub(&part.qty);
    }
    parts.push(part);
}

/// The largest proportional slice of `pool`'s available resources within
/// `caps` (`None`: all of it).
pub(crate) fn slice(pi: usize, pool: &Pool, caps: Option<&Qty>) -> Part {
    let Some(caps) = caps else {
        return Part {
            pool: pi,
            qty: pool.avail().clone(),
            other: pool.other_avail().clone(),
        };
    };
    // The factor num/den = min over names of cap/available, at most 1.
    let (mut num, mut den) = (1_i128, 1_i128);
    for (i, a) in pool.avail().iter() {
        let c = i128::from(caps.get(i).max(0));
        let a = i128::from(a);
        if c < a && c * den < num * a {
            num = c;
            den = a;
        }
    }
    if num == den {
        return slice(pi, pool, None);
    }
    let mut qty = Qty::default();
    for (i, a) in pool.avail().iter() {
        let v = i128::from(a) * num / den;
        qty.set(i, i64::try_from(v).unwrap_or(0));
    }
    let mut other = Resources::new();
    for entry in pool.other_avail().iter() {
        if let Value::Ranges(r) = &entry.value {
            let count = i128::from(r.count()) * num / den;
            let taken = u64::try_from(count).ok().and_then(|c| r.take(c));
            if let Some(taken) = taken.filter(|t| !t.is_empty()) {
                let mut e = entry.clone();
                e.value = Value::Ranges(taken);
                other.push(e);
            }
        }
    }
    Part {
        pool: pi,
        qty,
        other,
    }
}
