//! The quota book: every role's guarantee and limit, checked against the
//! hierarchy rules when set, and the headroom kept free for unmet
//! guarantees, kept exact as consumption moves. It reads the role tree and
//! its consumptions only through [`Hierarchy`], so it imports no other
//! book.
//!
//! Headroom: a quota'd role Q needs `unmet(Q) = guarantee(Q) - consumption`
//! kept free, and at least what its nearest quota'd descendants need, so
//! `headroom(Q) = max(unmet(Q), sum of their headroom)`. The cluster must
//! keep the sum of the top-most quota'd roles' headroom free; only the rest
//! (the *slack*) may go to roles beyond their entitlement.

use corral::{Resources, Role, Scalar, Value};

use super::hierarchy::Hierarchy;
use super::qty::{NameId, Names, Qty};
use super::types::RoleId;

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

/// A quota in compact form, with the headroom of its role.
#[derive(Clone, Debug)]
struct QuotaState {
    /// As given (for inspection).
    config: Quota,
    guarantee: Qty,
    /// Limited names and their limits.
    limits: Vec<(NameId, i64)>,
    /// How far over its new limit the subtree already was when the limit was
    /// set (allocations are never taken back to meet a lowered limit).
    grandfathered: Qty,
    /// What must stay free for this subtree's guarantees.
    headroom: Qty,
    /// Sum of the nearest quota'd descendants' headroom.
    child_headroom: Qty,
}

impl QuotaState {
    #[inline]
    fn limit_of(&self, name: NameId) -> Option<i64> {
        self.limits
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, l)| *l)
    }

    /// The first limited name `q` exceeds, if any.
    #[inline]
    fn over_limit(&self, q: &Qty) -> Option<NameId> {
        self.limits
            .iter()
            .find(|(n, l)| q.get(*n) > *l)
            .map(|(n, _)| *n)
    }

    /// `max(unmet guarantee, children's headroom)`.
    #[inline]
    fn headroom(&self, consumption: &Qty) -> Qty {
        let mut h = self.guarantee.minus(consumption);
        h.max_with(&self.child_headroom);
        h
    }
}

/// A quota checked against the hierarchy, ready to be installed with
/// [`QuotaBook::install`] (`None` inside: the quota is cleared).
#[derive(Debug)]
pub(crate) struct Checked {
    state: Option<QuotaState>,
    /// The resource names with the quota's names interned.
    pub(crate) names: Names,
}

/// Every role's quota and headroom, by role id.
#[derive(Clone, Debug, Default)]
pub(crate) struct QuotaBook {
    /// Indexed by role id; shorter than the role table when the last roles
    /// have no quota.
    quotas: Vec<Option<QuotaState>>,
    /// How many roles have a quota.
    count: usize,
    /// Sum of the headroom of the top-most quota'd roles: how much of the
    /// free unreserved resources must stay free for unmet guarantees.
    required_headroom: Qty,
}

impl QuotaBook {
    #[inline]
    fn state(&self, role: RoleId) -> Option<&QuotaState> {
        self.quotas.get(role).and_then(Option::as_ref)
    }

    /// Some role has a quota.
    #[inline]
    pub(crate) fn any(&self) -> bool {
        self.count > 0
    }

    /// The role has a quota.
    #[inline]
    pub(crate) fn has(&self, role: RoleId) -> bool {
        self.state(role).is_some()
    }

    /// The role's quota as given, if set.
    #[inline]
    pub(crate) fn config(&self, role: RoleId) -> Option<&Quota> {
        self.state(role).map(|q| &q.config)
    }

    /// Some quota's guarantee or limit names resource `name`.
    pub(crate) fn mentions(&self, name: NameId) -> bool {
        self.quotas
            .iter()
            .flatten()
            .any(|q| q.guarantee.get(name) > 0 || q.limits.iter().any(|(n, _)| *n == name))
    }

    /// The resource names of `role`'s quota (none without one).
    pub(crate) fn names_of(&self, role: RoleId) -> Vec<NameId> {
        self.state(role).map_or_else(Vec::new, |q| {
            let mut out: Vec<NameId> = q.guarantee.iter().map(|(n, _)| n).collect();
            out.extend(q.limits.iter().map(|(n, _)| *n));
            out
        })
    }

    /// What must stay free for the role's guarantees (zero without quota).
    #[inline]
    pub(crate) fn headroom(&self, role: RoleId) -> Qty {
        self.state(role)
            .map_or_else(Qty::default, |q| q.headroom.clone())
    }

    /// How much of the free unreserved resources must stay free for unmet
    /// guarantees.
    #[inline]
    pub(crate) fn required_headroom(&self) -> &Qty {
        &self.required_headroom
    }

    /// Checks `quota` for `role` against the rules (see
    /// `Allocator::set_quota`); `Err` says which one breaks. `names` are the
    /// allocator's resource names, to which the quota's are added.
    pub(crate) fn check(
        &self,
        tree: &impl Hierarchy,
        names: &Names,
        role: &Role,
        quota: &Quota,
    ) -> Result<Checked, String> {
        if role.as_str() == "*" {
            return Err("the default role `*` cannot have quota".into());
        }
        let mut names = names.clone();
        let guarantee = quota_qty(&mut names, &quota.guarantee)?;
        let limits: Vec<(NameId, i64)> = match &quota.limit {
            None => Vec::new(),
            Some(limit) => quota_qty(&mut names, limit)?.iter().collect(),
        };
        let state = QuotaState {
            config: quota.clone(),
            guarantee,
            limits,
            grandfathered: Qty::default(),
            headroom: Qty::default(),
            child_headroom: Qty::default(),
        };
        if let Some((n, _)) = state
            .limits
            .iter()
            .find(|(n, l)| state.guarantee.get(*n) > *l)
        {
            return Err(format!("guarantee of {} exceeds its limit", names.name(*n)));
        }
        let clearing = *quota == Quota::default();
        let state = (!clearing).then_some(state);
        self.check_hierarchy(tree, role, state.as_ref(), &names)?;
        Ok(Checked { state, names })
    }

    /// Installs a checked quota on `role` (interned by the caller since the
    /// check), grandfathering what the subtree already holds over the new
    /// limits, and rebuilds every headroom.
    pub(crate) fn install(&mut self, tree: &impl Hierarchy, role: RoleId, checked: Checked) {
        let new = checked.state.map(|mut state| {
            let held = tree.held(role);
            for (n, l) in &state.limits {
                let over = held.get(*n) - *l;
                if over > 0 {
                    state.grandfathered.set(*n, over);
                }
            }
            state
        });
        if self.quotas.len() <= role {
            self.quotas.resize_with(role + 1, || None);
        }
        let old = std::mem::replace(&mut self.quotas[role], new);
        match (old.is_some(), self.quotas[role].is_some()) {
            (false, true) => self.count += 1,
            (true, false) => self.count -= 1,
            _ => {}
        }
        self.rebuild(tree);
    }

    /// The rules between `role`'s new quota (`None`: cleared) and its
    /// quota'd ancestors and descendants; `Err` says which one breaks.
    fn check_hierarchy(
        &self,
        tree: &impl Hierarchy,
        role: &Role,
        new: Option<&QuotaState>,
        names: &Names,
    ) -> Result<(), String> {
        let id = tree.lookup(role);
        let ancestors: Vec<RoleId> = ancestor_names(role)
            .filter_map(|r| tree.lookup(&r))
            .filter(|r| self.has(*r))
            .collect();
        let descendants: Vec<RoleId> = id.map_or_else(Vec::new, |id| {
            let mut out = Vec::new();
            self.descendants(tree, id, false, &mut out);
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
                            tree.name(*a)
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
                            tree.name(*d),
                            name(*n)
                        ));
                    }
                }
            }
            let mut children = Qty::default();
            if let Some(id) = id {
                let mut nearest = Vec::new();
                self.descendants(tree, id, true, &mut nearest);
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
            self.descendants(tree, *parent, true, &mut nearest);
            let below_role = |d: RoleId| id.is_some_and(|id| tree.is_ancestor_or_self(id, d));
            let mut sum = Qty::default();
            for d in nearest.into_iter().filter(|d| !below_role(*d)) {
                sum.add(&self.quota_of(d).guarantee);
            }
            match (new, id) {
                (Some(new), _) => sum.add(&new.guarantee),
                (None, Some(id)) => {
                    // Cleared: its own nearest quota'd descendants move up.
                    let mut moving = Vec::new();
                    self.descendants(tree, id, true, &mut moving);
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
                    tree.name(*parent),
                    name(n)
                ));
            }
        }
        Ok(())
    }

    #[inline]
    fn quota_of(&self, id: RoleId) -> &QuotaState {
        self.state(id).unwrap_or_else(|| empty_quota())
    }

    /// What `role` may still get toward guarantees, per name: the most any
    /// quota'd role Q of its chain has unmet once Q's other quota'd
    /// descendants' headroom is set aside.
    pub(crate) fn entitlement(&self, tree: &impl Hierarchy, role: RoleId) -> Qty {
        let mut out = Qty::default();
        let mut below: Option<&QuotaState> = None;
        for q in tree.chain(role) {
            let Some(state) = self.state(q) else { continue };
            let mut others = state.child_headroom.clone();
            if let Some(b) = below {
                others.sub(&b.headroom);
            }
            out.max_with(&state.headroom.minus(&others));
            below = Some(state);
        }
        out
    }

    /// How much more `role` may hold under the limits of its chain, per
    /// name (`i64::MAX` for unlimited names among `n`), or `None` when
    /// nothing on its chain is limited.
    pub(crate) fn limit_room(&self, tree: &impl Hierarchy, role: RoleId, n: usize) -> Option<Qty> {
        let mut room: Option<Qty> = None;
        for q in tree.chain(role) {
            let Some(quota) = self.state(q) else { continue };
            let held = tree.held(q);
            for (name, l) in &quota.limits {
                let left = (*l - held.get(*name)).max(0);
                let r = room.get_or_insert_with(|| Qty::unlimited(n));
                if left < r.get(*name) {
                    r.set(*name, left);
                }
            }
        }
        room
    }

    /// Updates the headroom of `role`'s quota'd chain after its guarantee
    /// consumption changed, and the cluster's required headroom.
    pub(crate) fn refresh(&mut self, tree: &impl Hierarchy, role: RoleId) {
        if self.count == 0 {
            return;
        }
        let mut pending: Option<(Qty, Qty)> = None;
        for r in tree.chain(role) {
            let Some(state) = self.quotas.get_mut(r).and_then(Option::as_mut) else {
                continue;
            };
            if let Some((old, new)) = pending.take() {
                state.child_headroom.sub(&old);
                state.child_headroom.add(&new);
            }
            // Every quota'd ancestor is recomputed: its own consumption
            // changed too, even when the headroom below did not.
            let new = state.headroom(&tree.guarantee_consumption(r));
            let old = std::mem::replace(&mut state.headroom, new.clone());
            pending = (old != new).then_some((old, new));
        }
        if let Some((old, new)) = pending {
            self.required_headroom.sub(&old);
            self.required_headroom.add(&new);
        }
    }

    /// Recomputes every headroom from scratch.
    pub(crate) fn rebuild(&mut self, tree: &impl Hierarchy) {
        let tops: Vec<RoleId> = tree.tops().collect();
        let mut required = Qty::default();
        for r in tops {
            required.add(&self.rebuild_below(tree, r));
        }
        self.required_headroom = required;
    }

    /// Rebuilds the subtree of `r`; returns what it adds to the nearest
    /// quota'd ancestor's children headroom.
    fn rebuild_below(&mut self, tree: &impl Hierarchy, r: RoleId) -> Qty {
        let children: Vec<RoleId> = tree.children(r).collect();
        let mut sum = Qty::default();
        for c in children {
            sum.add(&self.rebuild_below(tree, c));
        }
        let Some(state) = self.quotas.get_mut(r).and_then(Option::as_mut) else {
            return sum;
        };
        state.child_headroom = sum;
        state.headroom = state.headroom(&tree.guarantee_consumption(r));
        state.headroom.clone()
    }

    /// The quota'd descendants of `id` (all of them, or only the nearest).
    pub(crate) fn descendants(
        &self,
        tree: &impl Hierarchy,
        id: RoleId,
        nearest: bool,
        out: &mut Vec<RoleId>,
    ) {
        for c in tree.children(id) {
            if self.has(c) {
                out.push(c);
                if nearest {
                    continue;
                }
            }
            self.descendants(tree, c, nearest, out);
        }
    }

    /// Quota'd roles without a quota'd ancestor, by name.
    pub(crate) fn top_quota_roles(&self, tree: &impl Hierarchy) -> Vec<RoleId> {
        let mut out = Vec::new();
        if self.count == 0 {
            return out;
        }
        for r in tree.tops() {
            if self.has(r) {
                out.push(r);
            } else {
                self.descendants(tree, r, true, &mut out);
            }
        }
        out.sort_by(|a, b| tree.name(*a).cmp(tree.name(*b)));
        out
    }

    /// The book's invariants: every role's limit consumption is within its
    /// limit (plus what it was already over when the limit was set), and
    /// every headroom equals a recomputation from scratch. `Err` names the
    /// first breach.
    pub(crate) fn check_invariants(
        &self,
        tree: &impl Hierarchy,
        names: &Names,
    ) -> Result<(), String> {
        self.limits_hold(tree, names)?;
        let mut fresh = self.clone();
        fresh.rebuild(tree);
        for r in 0..tree.len() {
            let (kept, new) = (self.state(r), fresh.state(r));
            if let (Some(kept), Some(new)) = (kept, new) {
                if kept.headroom != new.headroom || kept.child_headroom != new.child_headroom {
                    return Err(format!("role {}: headroom out of date", tree.name(r)));
                }
            }
        }
        if fresh.required_headroom != self.required_headroom {
            return Err("required headroom out of date".into());
        }
        let count = self.quotas.iter().flatten().count();
        if count != self.count {
            return Err(format!("{count} quotas counted as {}", self.count));
        }
        Ok(())
    }

    /// Every role's limit consumption is within its limit (plus what it was
    /// already over when the limit was set).
    pub(crate) fn limits_hold(&self, tree: &impl Hierarchy, names: &Names) -> Result<(), String> {
        for (r, quota) in self.quotas.iter().enumerate() {
            let Some(quota) = quota else { continue };
            let held = tree.held(r);
            let mut allowed = held.clone();
            allowed.sub(&quota.grandfathered);
            if let Some(n) = quota.over_limit(&allowed) {
                return Err(format!(
                    "role {} holds {} {}, over its limit",
                    tree.name(r),
                    Scalar::from_millis(held.get(n)),
                    names.name(n)
                ));
            }
        }
        Ok(())
    }
}

fn empty_quota() -> &'static QuotaState {
    static EMPTY: std::sync::OnceLock<QuotaState> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| QuotaState {
        config: Quota::default(),
        guarantee: Qty::default(),
        limits: Vec::new(),
        grandfathered: Qty::default(),
        headroom: Qty::default(),
        child_headroom: Qty::default(),
    })
}

/// The scalar quantities of a quota's resources; `Err` for an entry that
/// is not a plain scalar.
fn quota_qty(names: &mut Names, resources: &Resources) -> Result<Qty, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A role tree of its own: `parent` links, names, and what each
    /// subtree holds, set by hand (no allocator around it).
    struct Stub {
        parent: Vec<Option<RoleId>>,
        names: Vec<Role>,
        held: Vec<Qty>,
    }

    impl Hierarchy for Stub {
        fn len(&self) -> usize {
            self.names.len()
        }
        fn parent(&self, role: RoleId) -> Option<RoleId> {
            self.parent[role]
        }
        fn children(&self, role: RoleId) -> impl Iterator<Item = RoleId> + '_ {
            (0..self.len()).filter(move |c| self.parent[*c] == Some(role))
        }
        fn tops(&self) -> impl Iterator<Item = RoleId> + '_ {
            (0..self.len()).filter(|c| self.parent[*c].is_none())
        }
        fn lookup(&self, role: &Role) -> Option<RoleId> {
            self.names.iter().position(|n| n == role)
        }
        fn name(&self, role: RoleId) -> &Role {
            &self.names[role]
        }
        fn held(&self, role: RoleId) -> &Qty {
            &self.held[role]
        }
        fn guarantee_consumption(&self, role: RoleId) -> Qty {
            self.held[role].clone()
        }
    }

    fn res(text: &str) -> Resources {
        Resources::parse(text).expect("valid resources")
    }

    /// `eng` (id 0) with child `eng/web` (id 1), holding `web` cpus (and
    /// eng the same, as its subtree), and the book with `limit` on eng.
    fn setup(web_cpus: f64, limit: &str) -> (Stub, Names, QuotaBook) {
        let mut names = Names::default();
        let held = names.qty_of(&res(&format!("cpus:{web_cpus}")));
        let tree = Stub {
            parent: vec![None, Some(0)],
            names: vec![Role::new("eng"), Role::new("eng/web")],
            held: vec![held.clone(), held],
        };
        let mut book = QuotaBook::default();
        let quota = Quota {
            guarantee: Resources::new(),
            limit: Some(res(limit)),
        };
        let checked = book
            .check(&tree, &names, &Role::new("eng"), &quota)
            .expect("a valid quota");
        names = checked.names.clone();
        book.install(&tree, 0, checked);
        (tree, names, book)
    }

    #[test]
    fn holding_exactly_the_limit_keeps_the_invariant() {
        let (tree, names, book) = setup(4.0, "cpus:4");
        assert_eq!(book.limits_hold(&tree, &names), Ok(()));
        assert_eq!(book.check_invariants(&tree, &names), Ok(()));
    }

    #[test]
    fn the_limits_invariant_fires_when_a_subtree_holds_more_than_its_limit() {
        let (mut tree, names, book) = setup(4.0, "cpus:4");
        // A bad state: something booked one thousandth of a CPU more below
        // eng without asking the limit.
        let over = names
            .known_qty_of(&res("cpus:4.001"))
            .expect("cpus is known");
        tree.held = vec![over.clone(), over];
        let err = book.limits_hold(&tree, &names).expect_err("over the limit");
        assert_eq!(err, "role eng holds 4.001 cpus, over its limit");
        assert_eq!(book.check_invariants(&tree, &names), Err(err));
    }

    #[test]
    fn what_was_held_when_a_limit_was_set_is_grandfathered_but_no_more() {
        // eng held 6 when its limit was lowered to 4: 2 are grandfathered.
        let (mut tree, names, book) = setup(6.0, "cpus:4");
        assert_eq!(book.limits_hold(&tree, &names), Ok(()));
        let more = names.known_qty_of(&res("cpus:6.5")).expect("cpus is known");
        tree.held = vec![more.clone(), more];
        assert!(book.limits_hold(&tree, &names).is_err());
    }
}
