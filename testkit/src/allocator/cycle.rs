//! The cycle core: one batch allocation cycle, the three stages
//! (guarantees, fair share, lending) over the open agents in one seeded
//! random order (see the allocator's module docs, *Incremental cycles*),
//! each grant booked through the ledger, and the grants turned into
//! [`Allocation`]s at the end, one per (agent, framework, role,
//! regular-or-lent). Pure: no IO, no clock but the `now` it is given.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::rng::SplitMix64;
use corral::{Resource, Resources, Scalar, Value};

use super::agents::{AgentBook, AgentState};
use super::filters::Filters;
use super::frameworks::FrameworkBook;
use super::hierarchy::Hierarchy;
use super::ledger::Ledger;
use super::lending;
use super::offer::{AgentVisitor, CycleCtx, Offer, Stage, View};
use super::qty::{dominant_share, inverse, Names, Qty};
use super::quota::QuotaBook;
use super::roles::RoleTable;
use super::tree::{Entry, Found, Node, Tree};
use super::types::{AgentIx, Allocation, FwId, RoleId, Slot};

/// What an allocation's resources are built from, besides the quantities:
/// role, reservation of the pool, lent.
type Template = (RoleId, Option<RoleId>, bool);

/// One slice of one pool given in this cycle.
struct Grant {
    /// Position of the agent in this cycle's visiting order.
    pos: usize,
    ix: AgentIx,
    slot: Slot,
    qty: Qty,
    other: Resources,
}

/// Every book a cycle reads or changes, borrowed for one cycle.
pub(crate) struct Cycle<'a> {
    pub(crate) names: &'a Names,
    pub(crate) min_allocatable: &'a [Qty],
    pub(crate) rng: &'a mut SplitMix64,
    pub(crate) agents: &'a mut AgentBook,
    pub(crate) frameworks: &'a mut FrameworkBook,
    pub(crate) roles: &'a mut RoleTable,
    pub(crate) quotas: &'a mut QuotaBook,
    pub(crate) filters: &'a mut Filters,
    /// Visit every active agent, as a pass from scratch (the oracle of the
    /// incremental pass in the tests), instead of only the open ones.
    pub(crate) from_scratch: bool,
}

impl Cycle<'_> {
    fn view(&self) -> View<'_> {
        View {
            names: self.names,
            min_allocatable: self.min_allocatable,
            agents: self.agents,
            frameworks: self.frameworks,
            roles: self.roles,
            quotas: self.quotas,
            filters: self.filters,
        }
    }

    fn ledger(&mut self) -> Ledger<'_> {
        Ledger {
            agents: self.agents,
            frameworks: self.frameworks,
            roles: self.roles,
            quotas: self.quotas,
        }
    }

    /// Runs the cycle at time `now` and returns the allocations made,
    /// grouped by agent in visiting order. Regular and lent (revocable)
    /// resources never share an allocation.
    #[inline]
    pub(crate) fn run(mut self, now: Duration) -> Vec<Allocation> {
        self.filters.expire(now);
        // One draw per cycle orders the agents (see `visiting_order`).
        // Inactive (drained) agents are offered to nobody, and agents with
        // nothing available have nothing to offer: only the open ones are
        // visited, unless this pass is from scratch.
        let draw = self.rng.next_u64();
        let order = self.agents.visiting_order(draw, self.from_scratch);
        if order.is_empty() {
            return Vec::new();
        }
        let mut ctx = CycleCtx {
            inv: inverse(self.agents.cluster_total(), self.names.len()),
            demanding: Vec::new(),
            demanding_headroom: Qty::default(),
            any_quota: self.quotas.any(),
        };
        let mut grants = Vec::with_capacity(order.len());
        if ctx.any_quota {
            self.run_stage(now, Stage::Guarantee, &ctx, &order, &mut grants);
        }
        self.run_stage(now, Stage::Fair, &ctx, &order, &mut grants);
        // Lending goes only to revocable-capable frameworks: without one
        // its tree is empty and the stage (and its demand) is skipped.
        if self.from_scratch || self.frameworks.any_revocable() {
            ctx.demanding = lending::demand(self.frameworks, self.roles).demanding();
            ctx.demanding_headroom =
                lending::demanding_headroom(self.quotas, self.roles, &ctx.demanding);
            self.run_stage(now, Stage::Lend, &ctx, &order, &mut grants);
        }
        self.view().emit(grants)
    }

    fn run_stage(
        &mut self,
        now: Duration,
        stage: Stage,
        ctx: &CycleCtx,
        order: &[AgentIx],
        grants: &mut Vec<Grant>,
    ) {
        let mut tree = self.view().build_tree(stage, ctx);
        // Every pick on an agent either exhausts what that framework's role
        // can get there or closes the role, so this bounds the picks.
        let bound = tree.frameworks + 1;
        for (pos, &ix) in order.iter().enumerate() {
            for _ in 0..bound {
                if tree.is_empty() {
                    return;
                }
                let view = self.view();
                let Some(agent) = view.agents.get(ix) else {
                    break;
                };
                let Some(reserved_only) = view.offerable(agent, stage, ctx) else {
                    break;
                };
                let mut visitor = AgentVisitor {
                    view,
                    ctx,
                    stage,
                    ix,
                    agent,
                    now,
                    reserved_only,
                };
                let Some(found) = tree.find(&mut visitor) else {
                    break;
                };
                let (node, entry) = (found.node, found.entry);
                let fw_share = self.commit(ix, pos, found, grants, ctx);
                let view = self.view();
                tree.refresh(node, entry, fw_share, |n| view.node_share(n, ctx));
            }
        }
    }

    /// Books a found offer; returns the framework's new share in the role.
    fn commit(
        &mut self,
        ix: AgentIx,
        pos: usize,
        found: Found<Offer>,
        grants: &mut Vec<Grant>,
        ctx: &CycleCtx,
    ) -> f64 {
        let Found {
            role, fw, offer, ..
        } = found;
        let mut ledger = self.ledger();
        for part in offer.parts {
            let slot = Slot {
                fw,
                role,
                lent: offer.lent,
                pool: part.pool,
            };
            ledger.hold(ix, slot, &part.qty, &part.other);
            grants.push(Grant {
                pos,
                ix,
                slot,
                qty: part.qty,
                other: part.other,
            });
        }
        self.frameworks
            .get(fw)
            .and_then(|f| f.held(role))
            .map_or(0.0, |q| dominant_share(q, &ctx.inv))
    }
}

impl View<'_> {
    /// `None` when nothing on the agent can be offered in this stage;
    /// `Some(true)` when only its reserved pools can.
    #[inline]
    fn offerable(&self, agent: &AgentState, stage: Stage, ctx: &CycleCtx) -> Option<bool> {
        let unreserved = agent.unreserved().filter(|p| !p.is_exhausted());
        let has =
            |cap: &Qty| unreserved.is_some_and(|p| p.avail().iter().any(|(i, _)| cap.get(i) > 0));
        let reserved = |lend: bool| {
            agent.pools().iter().any(|p| {
                !p.is_native_revocable()
                    && !p.is_exhausted()
                    && p.reservation().is_some_and(|x| !lend || !ctx.demanding[x])
            })
        };
        let required = self.quotas.required_headroom();
        match stage {
            Stage::Guarantee => has(required).then_some(false),
            Stage::Fair => {
                let unres =
                    unreserved.is_some() && (!ctx.any_quota || has(&self.slack()) || has(required));
                (unres || reserved(false)).then_some(!unres)
            }
            Stage::Lend => {
                let budget = self.agents.free_unreserved().minus(&ctx.demanding_headroom);
                (has(&budget) || reserved(true)).then_some(false)
            }
        }
    }

    /// The DRF tree of a stage: roles with eligible frameworks (and, for
    /// guarantees, an entitlement), frameworks active and not suppressed
    /// (and, for lending, revocable-capable).
    #[inline]
    fn build_tree(&self, stage: Stage, ctx: &CycleCtx) -> Tree {
        let mut tree = Tree::new();
        let mut entries = Vec::new();
        let mut shares = Vec::new();
        for r in self.roles.tops() {
            if let Some(node) = self.build_node(&mut tree, r, stage, ctx) {
                entries.push(Entry::Node(node));
                shares.push(self.role_share_of(r, ctx));
            }
        }
        tree.set_root(entries, shares);
        tree
    }

    fn build_node(
        &self,
        tree: &mut Tree,
        r: RoleId,
        stage: Stage,
        ctx: &CycleCtx,
    ) -> Option<usize> {
        let inv = &ctx.inv;
        let mut entries = Vec::new();
        let mut shares = Vec::new();
        for c in self.roles.children(r) {
            if let Some(node) = self.build_node(tree, c, stage, ctx) {
                entries.push(Entry::Node(node));
                shares.push(self.role_share_of(c, ctx));
            }
        }
        let in_stage =
            stage != Stage::Guarantee || !self.quotas.entitlement(self.roles, r).is_zero();
        let mut own = Vec::new();
        let mut own_shares = Vec::new();
        if in_stage {
            for (_, fw) in self.roles.frameworks(r) {
                let Some(f) = self.frameworks.get(fw) else {
                    continue;
                };
                if !f.is_active()
                    || f.suppressed().contains(&r)
                    || (stage == Stage::Lend && !f.is_revocable())
                {
                    continue;
                }
                own.push(Entry::Framework(fw));
                own_shares.push(f.held(r).map_or(0.0, |q| dominant_share(q, inv)));
            }
        }
        if entries.is_empty() && own.is_empty() {
            return None;
        }
        if entries.is_empty() {
            return Some(tree.add_node(Some(r), false, own, own_shares));
        }
        if !own.is_empty() {
            let leaf = tree.add_node(Some(r), true, own, own_shares);
            entries.insert(0, Entry::Node(leaf));
            shares.insert(0, dominant_share(self.roles.held_own(r), inv));
        }
        Some(tree.add_node(Some(r), false, entries, shares))
    }

    /// A role's weighted dominant share (its whole subtree's holdings).
    fn role_share_of(&self, r: RoleId, ctx: &CycleCtx) -> f64 {
        dominant_share(self.roles.held(r), &ctx.inv) / self.roles.weight(r)
    }

    /// The share a tree node is ordered by in its parent.
    fn node_share(&self, node: &Node, ctx: &CycleCtx) -> f64 {
        match node.role {
            Some(r) if node.virtual_leaf => dominant_share(self.roles.held_own(r), &ctx.inv),
            Some(r) => self.role_share_of(r, ctx),
            None => 0.0,
        }
    }

    /// Groups the grants into allocations.
    #[inline]
    fn emit(&self, grants: Vec<Grant>) -> Vec<Allocation> {
        // Sort indices, not the (large) grants; one stage alone already
        // produces them in order.
        let key = |g: &Grant| (g.pos, g.slot.fw, g.slot.role, g.slot.lent);
        let mut order: Vec<usize> = (0..grants.len()).collect();
        if !grants.is_sorted_by_key(key) {
            order.sort_by_key(|i| key(&grants[*i]));
        }
        let mut out: Vec<Allocation> = Vec::with_capacity(grants.len());
        let mut last: Option<(usize, FwId, RoleId, bool)> = None;
        // Identical agents give identical grants: an allocation of one grant
        // without non-scalars is cloned from the last one built from the
        // same (role, reservation, lent) and quantities, which costs one
        // exact-size bag instead of one grown entry by entry.
        let mut built: BTreeMap<Template, (&Qty, usize)> = BTreeMap::new();
        // The allocation being built, while it is such a single grant.
        let mut single: Option<(Template, &Qty, usize)> = None;
        for g in order.into_iter().map(|i| &grants[i]) {
            let key = key(g);
            let (Some(agent), Some(framework)) =
                (self.agents.get(g.ix), self.frameworks.get(g.slot.fw))
            else {
                continue;
            };
            let role = self.roles.name(g.slot.role);
            let pool = &agent.pools()[g.slot.pool];
            if last == Some(key) {
                single = None;
            } else {
                if let Some((template, qty, at)) = single.take() {
                    built.insert(template, (qty, at));
                }
                let template = (g.slot.role, pool.reservation(), g.slot.lent);
                let cached = built
                    .get(&template)
                    .filter(|(qty, _)| g.other.is_empty() && **qty == g.qty)
                    .and_then(|(_, at)| out.get(*at))
                    .map(|x| x.resources.clone());
                if cached.is_none() && g.other.is_empty() {
                    single = Some((template, &g.qty, out.len()));
                }
                let done = cached.is_some();
                out.push(Allocation {
                    framework: framework.id().clone(),
                    role: role.clone(),
                    agent: agent.id().clone(),
                    resources: cached.unwrap_or_default(),
                });
                last = Some(key);
                if done {
                    continue;
                }
            }
            let Some(allocation) = out.last_mut() else {
                continue;
            };
            let reservation = pool.reservation().map(|r| self.roles.name(r));
            for (i, v) in g.qty.iter() {
                allocation.resources.push(
                    Resource::new(self.names.name(i), Value::Scalar(Scalar::from_millis(v)))
                        .with_reservation(reservation.cloned())
                        .with_allocation(Some(role.clone()))
                        .with_revocable(g.slot.lent),
                );
            }
            for entry in g.other.iter() {
                let mut e = entry.clone();
                e.allocation = Some(role.clone());
                e.revocable = g.slot.lent;
                allocation.resources.push(e);
            }
        }
        out
    }
}
