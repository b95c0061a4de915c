//! One batch allocation cycle: the three stages (guarantees, fair share,
//! lending) over the agents in one seeded shuffled order, the bookkeeping of
//! each grant, and turning the grants into [`Allocation`]s at the end, one
//! per (agent, framework, role, regular-or-lent).

use std::collections::BTreeMap;
use std::time::Duration;

use corral::{Resource, Resources, Scalar, Value};

use super::agents::held_kind;
use super::offer::{AgentVisitor, CycleCtx, Offer, Stage};
use super::qty::{dominant_share, inverse, Qty};
use super::tree::{Entry, Found, Node, Tree};
use super::{AgentIx, AgentState, Allocation, Allocator, FwId, Holding, RoleId};

/// What an allocation's resources are built from, besides the quantities:
/// role, reservation of the pool, lent.
type Template = (RoleId, Option<RoleId>, bool);

/// One slice of one pool given in this cycle.
struct Grant {
    /// Position of the agent in this cycle's visiting order.
    pos: usize,
    ix: AgentIx,
    fw: FwId,
    role: RoleId,
    lent: bool,
    pool: usize,
    qty: Qty,
    other: Resources,
}

impl Allocator {
    /// Runs one batch allocation cycle at time `now` and returns the
    /// allocations made, grouped by agent in visiting order. Regular and
    /// lent (revocable) resources never share an allocation.
    pub fn allocate(&mut self, now: Duration) -> Vec<Allocation> {
        self.filters.expire(now);
        // Inactive (drained) agents are offered to nobody.
        let mut order: Vec<AgentIx> = self
            .agent_index
            .values()
            .copied()
            .filter(|ix| self.agent(*ix).is_some_and(|a| a.active))
            .collect();
        self.rng.shuffle(&mut order);
        let mut ctx = CycleCtx {
            inv: inverse(&self.cluster_total, self.names.len()),
            demanding: self.demand().demanding(),
            demanding_headroom: Qty::default(),
            any_quota: self.roles.iter().any(|(_, r)| r.quota.is_some()),
        };
        let mut grants = Vec::with_capacity(order.len());
        if ctx.any_quota {
            self.run_stage(now, Stage::Guarantee, &ctx, &order, &mut grants);
        }
        self.run_stage(now, Stage::Fair, &ctx, &order, &mut grants);
        ctx.demanding_headroom = self.demanding_headroom(&ctx.demanding);
        self.run_stage(now, Stage::Lend, &ctx, &order, &mut grants);
        self.emit(grants)
    }

    fn run_stage(
        &mut self,
        now: Duration,
        stage: Stage,
        ctx: &CycleCtx,
        order: &[AgentIx],
        grants: &mut Vec<Grant>,
    ) {
        let mut tree = self.build_tree(stage, ctx);
        // Every pick on an agent either exhausts what that framework's role
        // can get there or closes the role, so this bounds the picks.
        let bound = tree.frameworks + 1;
        for (pos, &ix) in order.iter().enumerate() {
            for _ in 0..bound {
                if tree.is_empty() {
                    return;
                }
                let Some(agent) = self.agent(ix) else { break };
                let Some(reserved_only) = self.offerable(agent, stage, ctx) else {
                    break;
                };
                let mut visitor = AgentVisitor {
                    alloc: self,
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
                tree.refresh(node, entry, fw_share, |n| self.node_share(n, ctx));
            }
        }
    }

    /// `None` when nothing on the agent can be offered in this stage;
    /// `Some(true)` when only its reserved pools can.
    fn offerable(&self, agent: &AgentState, stage: Stage, ctx: &CycleCtx) -> Option<bool> {
        let unreserved = agent.unreserved().filter(|p| !p.is_exhausted());
        let has =
            |cap: &Qty| unreserved.is_some_and(|p| p.avail.iter().any(|(i, _)| cap.get(i) > 0));
        let reserved = |lend: bool| {
            agent.pools.iter().any(|p| {
                !p.native_revocable
                    && !p.is_exhausted()
                    && p.reservation.is_some_and(|x| !lend || !ctx.demanding[x])
            })
        };
        match stage {
            Stage::Guarantee => has(&self.roles.required_headroom).then_some(false),
            Stage::Fair => {
                let unres = unreserved.is_some()
                    && (!ctx.any_quota || has(&self.slack()) || has(&self.roles.required_headroom));
                (unres || reserved(false)).then_some(!unres)
            }
            Stage::Lend => {
                let budget = self.free_unreserved.minus(&ctx.demanding_headroom);
                (has(&budget) || reserved(true)).then_some(false)
            }
        }
    }

    /// The DRF tree of a stage: roles with eligible frameworks (and, for
    /// guarantees, an entitlement), frameworks active and not suppressed
    /// (and, for lending, revocable-capable).
    fn build_tree(&self, stage: Stage, ctx: &CycleCtx) -> Tree {
        let mut tree = Tree::new();
        let mut entries = Vec::new();
        let mut shares = Vec::new();
        for r in self.roles.top.values() {
            if let Some(node) = self.build_node(&mut tree, *r, stage, ctx) {
                entries.push(Entry::Node(node));
                shares.push(self.role_share_of(*r, ctx));
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
        let state = self.roles.get(r);
        let inv = &ctx.inv;
        let mut entries = Vec::new();
        let mut shares = Vec::new();
        for c in state.children.values() {
            if let Some(node) = self.build_node(tree, *c, stage, ctx) {
                entries.push(Entry::Node(node));
                shares.push(self.role_share_of(*c, ctx));
            }
        }
        let in_stage = stage != Stage::Guarantee || !self.entitlement(r).is_zero();
        let mut own = Vec::new();
        let mut own_shares = Vec::new();
        if in_stage {
            for fw in state.frameworks.values() {
                let Some(f) = self.framework(*fw) else {
                    continue;
                };
                if !f.active
                    || f.suppressed.contains(&r)
                    || (stage == Stage::Lend && !f.spec.revocable)
                {
                    continue;
                }
                own.push(Entry::Framework(*fw));
                own_shares.push(f.held.get(&r).map_or(0.0, |q| dominant_share(q, inv)));
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
            shares.insert(0, dominant_share(&state.held_own, inv));
        }
        Some(tree.add_node(Some(r), false, entries, shares))
    }

    /// A role's weighted dominant share (its whole subtree's holdings).
    fn role_share_of(&self, r: RoleId, ctx: &CycleCtx) -> f64 {
        let state = self.roles.get(r);
        dominant_share(&state.held, &ctx.inv) / state.weight
    }

    /// The share a tree node is ordered by in its parent.
    fn node_share(&self, node: &Node, ctx: &CycleCtx) -> f64 {
        match node.role {
            Some(r) if node.virtual_leaf => dominant_share(&self.roles.get(r).held_own, &ctx.inv),
            Some(r) => self.role_share_of(r, ctx),
            None => 0.0,
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
        let Some(agent) = self.agents.get_mut(ix).and_then(Option::as_mut) else {
            return 0.0;
        };
        let Some(framework) = self.frameworks.get_mut(fw).and_then(Option::as_mut) else {
            return 0.0;
        };
        for part in offer.parts {
            if agent.counts_free(part.pool) {
                self.free_unreserved.sub(&part.qty);
            }
            let pool = &mut agent.pools[part.pool];
            pool.avail.sub(&part.qty);
            // `part.other` was sliced from `other_avail`.
            let _ = pool.other_avail.subtract(&part.other);
            let kind = held_kind(pool, offer.lent);
            match agent.holdings.iter_mut().find(|h| {
                h.fw == fw && h.role == role && h.lent == offer.lent && h.pool == part.pool
            }) {
                Some(h) => {
                    h.qty.add(&part.qty);
                    h.other += &part.other;
                }
                None => agent.holdings.push(Holding {
                    fw,
                    role,
                    lent: offer.lent,
                    pool: part.pool,
                    qty: part.qty.clone(),
                    other: part.other.clone(),
                }),
            }
            framework.held.entry(role).or_default().add(&part.qty);
            framework.agents.insert(ix);
            self.roles.add_held(role, &part.qty, kind);
            grants.push(Grant {
                pos,
                ix,
                fw,
                role,
                lent: offer.lent,
                pool: part.pool,
                qty: part.qty,
                other: part.other,
            });
        }
        if framework.held.get(&role).is_some_and(Qty::is_zero) {
            framework.held.remove(&role);
        }
        framework
            .held
            .get(&role)
            .map_or(0.0, |q| dominant_share(q, &ctx.inv))
    }

    /// Groups the grants into allocations.
    fn emit(&self, grants: Vec<Grant>) -> Vec<Allocation> {
        // Sort indices, not the (large) grants; one stage alone already
        // produces them in order.
        let key = |g: &Grant| (g.pos, g.fw, g.role, g.lent);
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
            let key = (g.pos, g.fw, g.role, g.lent);
            let (Some(agent), Some(framework)) = (self.agent(g.ix), self.framework(g.fw)) else {
                continue;
            };
            let role = &self.roles.get(g.role).name;
            if last == Some(key) {
                single = None;
            } else {
                if let Some((template, qty, at)) = single.take() {
                    built.insert(template, (qty, at));
                }
                let template = (g.role, agent.pools[g.pool].reservation, g.lent);
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
                    framework: framework.id.clone(),
                    role: role.clone(),
                    agent: agent.id.clone(),
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
            let reservation = agent.pools[g.pool]
                .reservation
                .map(|r| &self.roles.get(r).name);
            for (i, v) in g.qty.iter() {
                allocation.resources.push(Resource {
                    name: self.names.name(i).to_owned(),
                    value: Value::Scalar(Scalar::from_millis(v)),
                    reservation: reservation.cloned(),
                    allocation: Some(role.clone()),
                    revocable: g.lent,
                });
            }
            for entry in g.other.iter() {
                let mut e = entry.clone();
                e.allocation = Some(role.clone());
                e.revocable = g.lent;
                allocation.resources.push(e);
            }
        }
        out
    }
}
