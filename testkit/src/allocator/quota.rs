//! Quota (guarantees and limits) and explicit demand (REQUEST): setting and
//! validating them, the headroom kept free for unmet guarantees, and what a
//! role may still get toward a guarantee or under its limits.
//!
//! Headroom: a quota'd role Q needs `unmet(Q) = guarantee(Q) - consumption`
//! kept free, and at least what its nearest quota'd descendants need, so
//! `headroom(Q) = max(unmet(Q), sum of their headroom)`. The cluster must
//! keep the sum of the top-most quota'd roles' headroom free; only the rest
//! (the *slack*) may go to roles beyond their entitlement.

use corral::{Resources, Role, Value};

use super::qty::{NameId, Qty};
use super::roles::RoleTable;
use super::{logged, Allocator, AllocatorError, RoleId};

/// A role's quota: what it can always get, and what it can never exceed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Quota {
    /// Scalar quantities the role's subtree can always obtain (counting its
    /// reservations). Unreserved, unallocated, non-revocable scalars only.
    pub guarantee: Resources,
    /// Scalar quantities the subtree never exceeds (regular and revocable
    /// holdings together); a name not listed is not limited. `None`: no
    /// limit. `Resources` drops zero entries, so a name cannot be limited
    /// to zero (`cpus:0` is "cpus not limited").
    pub limit: Option<Resources>,
}

/// A quota in compact form.
#[derive(Clone, Debug)]
pub(crate) struct QuotaState {
    /// As given (for inspection).
    pub(crate) config: Quota,
    pub(crate) guarantee: Qty,
    /// Limited names and their limits.
    pub(crate) limits: Vec<(NameId, i64)>,
    /// How far over its new limit the subtree already was when the limit was
    /// set (allocations are never taken back to meet a lowered limit).
    pub(crate) grandfathered: Qty,
}

impl QuotaState {
    pub(crate) fn limit_of(&self, name: NameId) -> Option<i64> {
        self.limits
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, l)| *l)
    }

    /// True when every name of `q` is within the limits.
    fn within_limits(&self, q: &Qty) -> Option<NameId> {
        self.limits
            .iter()
            .find(|(n, l)| q.get(*n) > *l)
            .map(|(n, _)| *n)
    }
}

impl Allocator {
    /// Sets (or, with `Quota::default()`, clears) a role's quota. Refused
    /// with [`AllocatorError::InvalidQuota`] when: the role is `*`; an entry
    /// is not an unreserved, unallocated, non-revocable scalar; a guarantee
    /// exceeds the limit of the same name; the guarantees of the nearest
    /// quota'd descendants of this role or of its nearest quota'd ancestor
    /// would add up to more than that role's guarantee; or a guarantee or
    /// limit exceeds a quota'd ancestor's limit (or a descendant's exceeds
    /// this limit). A guarantee larger than the cluster is accepted (met as
    /// far as the cluster allows). Lowering a limit below what the role
    /// holds takes nothing back; it only stops further allocations.
    pub fn set_quota(&mut self, role: &Role, quota: Quota) -> Result<(), AllocatorError> {
        let bad = |why: String| {
            logged(AllocatorError::InvalidQuota {
                role: role.clone(),
                why,
            })
        };
        role.validate().map_err(|err| {
            logged(AllocatorError::InvalidRole {
                role: role.clone(),
                why: err.to_string(),
            })
        })?;
        if role.as_str() == "*" {
            return Err(bad("the default role `*` cannot have quota".into()));
        }
        let mut names = self.names.clone();
        let guarantee = quota_qty(&mut names, &quota.guarantee).map_err(&bad)?;
        let limits: Vec<(NameId, i64)> = match &quota.limit {
            None => Vec::new(),
            Some(limit) => quota_qty(&mut names, limit).map_err(&bad)?.iter().collect(),
        };
        let state = QuotaState {
            config: quota.clone(),
            guarantee,
            limits,
            grandfathered: Qty::default(),
        };
        if let Some((n, _)) = state
            .limits
            .iter()
            .find(|(n, l)| state.guarantee.get(*n) > *l)
        {
            return Err(bad(format!(
                "guarantee of {} exceeds its limit",
                names.name(*n)
            )));
        }
        let clearing = quota == Quota::default();
        self.check_hierarchy(role, (!clearing).then_some(&state), &names)
            .map_err(bad)?;

        self.names = names;
        let id = self.roles.intern(role).map_err(logged)?;
        let new = (!clearing).then(|| {
            let mut state = state;
            let held = &self.roles.get(id).held;
            for (n, l) in &state.limits {
                let over = held.get(*n) - *l;
                if over > 0 {
                    state.grandfathered.set(*n, over);
                }
            }
            state
        });
        self.roles.get_mut(id).quota = new;
        self.roles.rebuild_headroom();
        Ok(())
    }

    /// Records what `role` wants to hold in total (a REQUEST): while its
    /// regular holdings are below it (up to the guarantee or reservation it
    /// has), lent resources are reclaimed for it and its idle resources are
    /// not lent. Replaces the previous request; empty resources clear it.
    /// Only scalar quantities count.
    pub fn request(&mut self, role: &Role, resources: &Resources) -> Result<(), AllocatorError> {
        let id = self.roles.intern(role).map_err(logged)?;
        let q = self.names.qty_of(resources);
        self.roles.get_mut(id).request = (!q.is_zero()).then_some(q);
        Ok(())
    }

    /// The rules between `role`'s new quota (`None`: cleared) and its
    /// quota'd ancestors and descendants; `Err` says which one breaks.
    fn check_hierarchy(
        &self,
        role: &Role,
        new: Option<&QuotaState>,
        names: &super::qty::Names,
    ) -> Result<(), String> {
        let id = self.roles.lookup(role);
        let ancestors: Vec<RoleId> = ancestor_names(role)
            .filter_map(|r| self.roles.lookup(&r))
            .filter(|r| self.roles.get(*r).quota.is_some())
            .collect();
        let descendants: Vec<RoleId> = id.map_or_else(Vec::new, |id| {
            let mut out = Vec::new();
            self.roles.quota_descendants(id, false, &mut out);
            out
        });
        let name = |n: NameId| names.name(n).to_owned();
        if let Some(new) = new {
            for a in &ancestors {
                let aq = self.quota_of(*a);
                for (n, l) in &aq.limits {
                    let mine = new.limit_of(*n).unwrap_or(0).max(new.guarantee.get(*n));
                    if mine > *l {
                        return Err(format!(
                            "{} above the limit of ancestor {}",
                            name(*n),
                            self.roles.get(*a).name
                        ));
                    }
                }
            }
            for d in &descendants {
                let dq = self.quota_of(*d);
                for (n, l) in &new.limits {
                    let theirs = dq.limit_of(*n).unwrap_or(0).max(dq.guarantee.get(*n));
                    if theirs > *l {
                        return Err(format!(
                            "descendant {} has more {} than this limit",
                            self.roles.get(*d).name,
                            name(*n)
                        ));
                    }
                }
            }
            let mut children = Qty::default();
            if let Some(id) = id {
                let mut nearest = Vec::new();
                self.roles.quota_descendants(id, true, &mut nearest);
                for d in nearest {
                    children.add(&self.quota_of(d).guarantee);
                }
            }
            let short = children.iter().find(|(n, v)| *v > new.guarantee.get(*n));
            if let Some((n, _)) = short {
                return Err(format!(
                    "the guarantees of its quota'd descendants need more {}",
                    name(n)
                ));
            }
        }
        // The nearest quota'd ancestor's guarantee must cover its nearest
        // quota'd descendants, with this role's new quota in place.
        if let Some(parent) = ancestors.first() {
            let mut nearest = Vec::new();
            self.roles.quota_descendants(*parent, true, &mut nearest);
            let below_role = |d: RoleId| id.is_some_and(|id| self.roles.is_ancestor_or_self(id, d));
            let mut sum = Qty::default();
            for d in nearest.into_iter().filter(|d| !below_role(*d)) {
                sum.add(&self.quota_of(d).guarantee);
            }
            match (new, id) {
                (Some(new), _) => sum.add(&new.guarantee),
                (None, Some(id)) => {
                    // Cleared: its own nearest quota'd descendants move up.
                    let mut moving = Vec::new();
                    self.roles.quota_descendants(id, true, &mut moving);
                    for d in moving {
                        sum.add(&self.quota_of(d).guarantee);
                    }
                }
                (None, None) => {}
            }
            let pg = &self.quota_of(*parent).guarantee;
            let short = sum.iter().find(|(n, v)| *v > pg.get(*n));
            if let Some((n, _)) = short {
                return Err(format!(
                    "the guarantees under {} would need more {} than it is guaranteed",
                    self.roles.get(*parent).name,
                    name(n)
                ));
            }
        }
        Ok(())
    }

    fn quota_of(&self, id: RoleId) -> &QuotaState {
        self.roles
            .get(id)
            .quota
            .as_ref()
            .unwrap_or_else(|| empty_quota())
    }

    /// What `role` may still get toward guarantees, per name: the most any
    /// quota'd role Q of its chain has unmet once Q's other quota'd
    /// descendants' headroom is set aside.
    pub(crate) fn entitlement(&self, role: RoleId) -> Qty {
        let mut out = Qty::default();
        let mut below: Option<RoleId> = None;
        for q in self.roles.chain(role) {
            let state = self.roles.get(q);
            if state.quota.is_none() {
                continue;
            }
            let mut others = state.child_headroom.clone();
            if let Some(b) = below {
                others.sub(&self.roles.get(b).headroom);
            }
            out.max_with(&state.headroom.minus(&others));
            below = Some(q);
        }
        out
    }

    /// How much more `role` may hold under the limits of its chain, per
    /// name (`i64::MAX` for unlimited names), or `None` when nothing on its
    /// chain is limited.
    pub(crate) fn limit_room(&self, role: RoleId) -> Option<Qty> {
        let mut room: Option<Qty> = None;
        for q in self.roles.chain(role) {
            let state = self.roles.get(q);
            let Some(quota) = &state.quota else { continue };
            for (n, l) in &quota.limits {
                let left = (*l - state.held.get(*n)).max(0);
                let r = room.get_or_insert_with(|| Qty::unlimited(self.names.len()));
                if left < r.get(*n) {
                    r.set(*n, left);
                }
            }
        }
        room
    }

    /// True when every role's limit consumption is within its limit (plus
    /// what it was already over when the limit was set). For invariants.
    pub(crate) fn limits_hold(&self) -> Result<(), String> {
        for (_, state) in self.roles.iter() {
            if let Some(quota) = &state.quota {
                let mut allowed = state.held.clone();
                allowed.sub(&quota.grandfathered);
                if let Some(n) = quota.within_limits(&allowed) {
                    return Err(format!(
                        "role {} holds {} {} over its limit",
                        state.name,
                        state.held.get(n),
                        self.names.name(n)
                    ));
                }
            }
        }
        Ok(())
    }
}

impl RoleTable {
    /// Updates the headroom of `role`'s quota'd chain after its guarantee
    /// consumption changed, and the cluster's required headroom.
    pub(crate) fn refresh_headroom(&mut self, role: RoleId) {
        let mut pending: Option<(Qty, Qty)> = None;
        let mut next = Some(role);
        while let Some(r) = next {
            next = self.get(r).parent;
            if self.get(r).quota.is_none() {
                continue;
            }
            let state = self.get_mut(r);
            if let Some((old, new)) = pending.take() {
                state.child_headroom.sub(&old);
                state.child_headroom.add(&new);
            }
            // Every quota'd ancestor is recomputed: its own consumption
            // changed too, even when the headroom below did not.
            let new = headroom_of(state);
            let old = std::mem::replace(&mut state.headroom, new.clone());
            pending = (old != new).then_some((old, new));
        }
        if let Some((old, new)) = pending {
            self.required_headroom.sub(&old);
            self.required_headroom.add(&new);
        }
    }

    /// Recomputes every headroom from scratch.
    pub(crate) fn rebuild_headroom(&mut self) {
        let top: Vec<RoleId> = self.top.values().copied().collect();
        let mut required = Qty::default();
        for r in top {
            required.add(&self.rebuild_below(r));
        }
        self.required_headroom = required;
    }

    /// Rebuilds the subtree of `r`; returns what it adds to the nearest
    /// quota'd ancestor's children headroom.
    fn rebuild_below(&mut self, r: RoleId) -> Qty {
        let children: Vec<RoleId> = self.get(r).children.values().copied().collect();
        let mut sum = Qty::default();
        for c in children {
            sum.add(&self.rebuild_below(c));
        }
        let state = self.get_mut(r);
        if state.quota.is_none() {
            state.headroom = Qty::default();
            state.child_headroom = Qty::default();
            return sum;
        }
        state.child_headroom = sum;
        state.headroom = headroom_of(state);
        state.headroom.clone()
    }

    /// The quota'd descendants of `id` (all of them, or only the nearest).
    pub(crate) fn quota_descendants(&self, id: RoleId, nearest: bool, out: &mut Vec<RoleId>) {
        for c in self.get(id).children.values() {
            if self.get(*c).quota.is_some() {
                out.push(*c);
                if nearest {
                    continue;
                }
            }
            self.quota_descendants(*c, nearest, out);
        }
    }
}

/// `max(unmet guarantee, children's headroom)` of a quota'd role.
fn headroom_of(state: &super::roles::RoleState) -> Qty {
    let Some(quota) = &state.quota else {
        return Qty::default();
    };
    let mut h = quota.guarantee.minus(&state.guarantee_consumption());
    h.max_with(&state.child_headroom);
    h
}

fn empty_quota() -> &'static QuotaState {
    static EMPTY: std::sync::OnceLock<QuotaState> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| QuotaState {
        config: Quota::default(),
        guarantee: Qty::default(),
        limits: Vec::new(),
        grandfathered: Qty::default(),
    })
}

/// The scalar quantities of a quota's resources; `Err` for an entry that
/// is not a plain scalar.
fn quota_qty(names: &mut super::qty::Names, resources: &Resources) -> Result<Qty, String> {
    for r in resources.iter() {
        if !matches!(r.value, Value::Scalar(_)) {
            return Err(format!("{} is not a scalar", r.name));
        }
        if r.reservation.is_some() || r.allocation.is_some() || r.revocable {
            return Err(format!(
                "{} must be unreserved, unallocated and not revocable",
                r.name
            ));
        }
    }
    Ok(names.qty_of(resources))
}

/// The ancestors of a role name, nearest first.
fn ancestor_names(role: &Role) -> impl Iterator<Item = Role> + '_ {
    let name = role.as_str();
    name.char_indices()
        .rev()
        .filter(|(_, c)| *c == '/')
        .map(move |(at, _)| Role::new(&name[..at]))
}
