//! Giving resources back: declined or rescinded offers, unused parts of an
//! accepted offer, resources freed by finished (or revoked) tasks. Regular
//! and lent holdings are kept apart, so recovering revocable resources
//! returns exactly what was lent, to the pool it was lent from.

use std::collections::BTreeMap;
use std::time::Duration;

use corral::{AgentId, FrameworkId, Resources, Value};

use super::agents::held_kind;
use super::qty::Qty;
use super::{logged, AgentIx, Allocator, AllocatorError, FwId, RoleId};

/// One holding's share of a recover call: (role, lent, pool) -> amounts.
pub(super) type Parts = BTreeMap<(RoleId, bool, usize), (Qty, Resources)>;

impl Allocator {
    /// Gives back resources `fw` holds on `agent`, in `allocated_to(role)`
    /// form (revocable entries are lent resources going back to their pool).
    ///
    /// With `refuse: Some(d)` and `d > 0`, the framework is not offered
    /// resources on that agent under that role that the recovered ones
    /// contain until `now + max(d, allocation_interval)`. `Some(0)` and `None`
    /// set no filter, and so does a role the framework is no longer
    /// subscribed to. Resources the framework does not hold there, or
    /// entries without an allocation role, are refused with
    /// [`AllocatorError::NotAllocated`] and nothing changes. Empty
    /// `resources` is a no-op (no filter either), as in Mesos.
    pub fn recover(
        &mut self,
        now: Duration,
        fw: &FrameworkId,
        agent: &AgentId,
        resources: &Resources,
        refuse: Option<Duration>,
    ) -> Result<(), AllocatorError> {
        let id = self.fw_id(fw)?;
        let ix = self.agent_ix(agent)?;
        if resources.is_empty() {
            return Ok(());
        }
        let not_allocated = || {
            logged(AllocatorError::NotAllocated {
                framework: fw.clone(),
                agent: agent.clone(),
                resources: resources.clone(),
            })
        };
        let parts = self.split(ix, resources).ok_or_else(not_allocated)?;
        let Some(state) = self.agent(ix) else {
            return Err(not_allocated());
        };
        // Validate everything before changing anything.
        for ((role, lent, pool), (qty, other)) in &parts {
            let held = state
                .holdings
                .iter()
                .find(|h| h.fw == id && h.role == *role && h.lent == *lent && h.pool == *pool);
            if !held.is_some_and(|h| h.qty.contains(qty) && h.other.contains(other)) {
                return Err(not_allocated());
            }
        }
        for ((role, lent, pool), (qty, other)) in &parts {
            self.give_back(ix, id, *role, *lent, *pool, qty, other);
        }

        let duration = refuse
            .filter(|d| !d.is_zero())
            .map(|d| d.max(self.config.allocation_interval));
        let Some(duration) = duration else {
            return Ok(());
        };
        let expires = now.checked_add(duration).unwrap_or(Duration::MAX);
        let roles: Vec<RoleId> = parts.keys().map(|(role, _, _)| *role).collect();
        for role in roles {
            let subscribed = self.framework(id).is_some_and(|f| f.roles.contains(&role));
            if !subscribed {
                continue;
            }
            let name = self.roles.get(role).name.clone();
            let refused = resources
                .filter(|r| r.allocation.as_ref() == Some(&name))
                .unallocated();
            self.filters.add(id, role, ix, &refused, expires);
        }
        Ok(())
    }

    /// Splits recovered resources by (role, lent, pool); `None` when an
    /// entry has no allocation role or names a role, reservation or scalar
    /// this agent cannot have given.
    pub(super) fn split(&self, ix: AgentIx, resources: &Resources) -> Option<Parts> {
        let agent = self.agent(ix)?;
        let mut parts = Parts::new();
        for entry in resources.iter() {
            let role = self.roles.lookup(entry.allocation.as_ref()?)?;
            let reservation = match &entry.reservation {
                Some(r) => Some(self.roles.lookup(r)?),
                None => None,
            };
            let pool = agent.pool_ix(reservation, false)?;
            let (qty, other) = parts.entry((role, entry.revocable, pool)).or_default();
            match entry.value {
                Value::Scalar(s) => {
                    let n = self.names.get(&entry.name)?;
                    qty.set(n, qty.get(n) + s.millis());
                }
                _ => {
                    let mut plain = entry.clone();
                    plain.allocation = None;
                    plain.revocable = false;
                    other.push(plain);
                }
            }
        }
        Some(parts)
    }

    /// Moves validated amounts from a holding back to its pool and out of
    /// the framework's and roles' sums.
    #[allow(clippy::too_many_arguments)]
    fn give_back(
        &mut self,
        ix: AgentIx,
        id: FwId,
        role: RoleId,
        lent: bool,
        pool: usize,
        qty: &Qty,
        other: &Resources,
    ) {
        let Some(agent) = self.agents.get_mut(ix).and_then(Option::as_mut) else {
            return;
        };
        if let Some(at) = agent
            .holdings
            .iter()
            .position(|h| h.fw == id && h.role == role && h.lent == lent && h.pool == pool)
        {
            let h = &mut agent.holdings[at];
            h.qty.sub(qty);
            // Validated above: the holding contains `other`.
            let _ = h.other.subtract(other);
            if h.qty.is_zero() && h.other.is_empty() {
                agent.holdings.swap_remove(at);
            }
        }
        let still_holds = agent.holdings.iter().any(|h| h.fw == id);
        if agent.counts_free(pool) {
            self.free_unreserved.add(qty);
        }
        let p = &mut agent.pools[pool];
        p.avail.add(qty);
        p.other_avail += other;
        let kind = held_kind(p, lent);
        if let Some(state) = self.frameworks.get_mut(id).and_then(Option::as_mut) {
            if let Some(held) = state.held.get_mut(&role) {
                held.sub(qty);
                if held.is_zero() {
                    state.held.remove(&role);
                }
            }
            if !still_holds {
                state.agents.remove(&ix);
            }
        }
        self.roles.sub_held(role, qty, kind);
    }
}
