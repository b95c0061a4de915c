//! One batch allocation cycle: the DRF walk over agents, roles and
//! frameworks, and the bookkeeping of each allocation it makes.
//!
//! The cycle builds its sorters once from the exact sums kept by the
//! [`Allocator`]; after each allocation only the role and the framework that
//! got it are re-sorted. The agents are moved out of the allocator for the
//! walk, so visiting one needs no id lookup or clone.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use corral::{AgentId, FrameworkId, Resources, Role};

use super::sorter::{dominant_share, DrfSorter, Quantities};
use super::{AgentState, Allocation, Allocator};

/// A role taking part in one cycle: its eligible frameworks, sorted.
struct RoleSlot {
    role: Role,
    weight: f64,
    frameworks: Vec<FrameworkId>,
    sorter: DrfSorter,
}

/// The sorted roles of one cycle (slots are in role-name order).
struct Cycle {
    slots: Vec<RoleSlot>,
    sorter: DrfSorter,
}

impl Cycle {
    fn slot_of(&self, role: &Role) -> Option<usize> {
        self.slots.binary_search_by(|s| s.role.cmp(role)).ok()
    }
}

impl Allocator {
    /// Runs one batch allocation cycle at time `now` and returns the
    /// allocations made, in the order the agents were visited.
    pub fn allocate(&mut self, now: Duration) -> Vec<Allocation> {
        self.filters.expire(now);
        let mut out = Vec::new();
        let mut cycle = self.build_cycle();
        if cycle.slots.is_empty() || self.agents.is_empty() {
            return out;
        }
        // Work on the agents moved out of `self`, so the loop needs no id
        // lookups or clones; they are put back below.
        let mut agents = std::mem::take(&mut self.agents);
        let mut order: Vec<(&AgentId, &mut AgentState)> = agents.iter_mut().collect();
        self.rng.shuffle(&mut order);
        for (id, agent) in order {
            // Each allocation on an agent goes to a different role (a role's
            // offerable resources are all taken when it is picked), so this
            // loop runs at most once per role, plus the final miss.
            for _ in 0..=cycle.slots.len() {
                let Some((ri, fi, offer)) = self.pick(now, id, agent, &cycle) else {
                    break;
                };
                let slot = &cycle.slots[ri];
                let Some((allocation, role_share, fw_share)) =
                    self.commit(id, agent, &slot.role, &slot.frameworks[fi], offer)
                else {
                    break;
                };
                let role_share = role_share / slot.weight;
                cycle.sorter.update(ri, role_share);
                if let Some(slot) = cycle.slots.get_mut(ri) {
                    slot.sorter.update(fi, fw_share);
                }
                out.push(allocation);
                if agent.plain {
                    break;
                }
            }
        }
        self.agents = agents;
        out
    }

    /// True when `offer` (unallocated form) may be allocated: non-empty and
    /// holding at least one of the minimum quantities.
    fn allocatable(&self, offer: &Resources) -> bool {
        if offer.is_empty() {
            return false;
        }
        self.min_allocatable.is_empty()
            || self.min_allocatable.iter().any(|min| {
                min.iter()
                    .all(|(name, amount)| offer.scalar_total(name) >= amount)
            })
    }

    /// The roles and their eligible frameworks (active, not suppressed), with
    /// current shares, for one cycle.
    fn build_cycle(&self) -> Cycle {
        let mut slots = Vec::new();
        let mut role_shares = Vec::new();
        for (role, state) in &self.roles {
            let mut frameworks = Vec::new();
            let mut shares = Vec::new();
            for fw in &state.frameworks {
                let Some(framework) = self.frameworks.get(fw) else {
                    continue;
                };
                if !framework.active || framework.spec.suppressed.contains(role) {
                    continue;
                }
                shares.push(
                    framework
                        .allocated
                        .get(role)
                        .map_or(0.0, |q| dominant_share(q, &self.cluster_total)),
                );
                frameworks.push(fw.clone());
            }
            if frameworks.is_empty() {
                continue;
            }
            let weight = self.weight(role);
            role_shares.push(dominant_share(&state.allocated, &self.cluster_total) / weight);
            slots.push(RoleSlot {
                role: role.clone(),
                weight,
                frameworks,
                sorter: DrfSorter::new(shares),
            });
        }
        Cycle {
            slots,
            sorter: DrfSorter::new(role_shares),
        }
    }

    /// The first (role, framework) in DRF order that may get something on
    /// this agent, and what it gets (unallocated form).
    fn pick(
        &self,
        now: Duration,
        id: &AgentId,
        agent: &AgentState,
        cycle: &Cycle,
    ) -> Option<(usize, usize, Offer)> {
        if agent.available.is_empty() {
            return None;
        }
        if agent.plain {
            if !self.allocatable(&agent.available) {
                return None;
            }
            return cycle.sorter.iter().find_map(|ri| {
                self.pick_framework(now, id, &cycle.slots[ri], &agent.available)
                    .map(|fi| (ri, fi, Offer::All))
            });
        }
        let unreserved = agent
            .available
            .filter(|r| !r.revocable && r.reservation.is_none());
        if self.allocatable(&unreserved) {
            // Every role can get something: walk them all in DRF order.
            return cycle.sorter.iter().find_map(|ri| {
                let slot = &cycle.slots[ri];
                let offer = if agent.reserved_roles.contains(&slot.role) {
                    Cow::Owned(offerable(&agent.available, &slot.role))
                } else {
                    Cow::Borrowed(&unreserved)
                };
                self.pick_framework(now, id, slot, &offer)
                    .map(|fi| (ri, fi, Offer::Part(offer.into_owned())))
            });
        }
        // Only roles with reservations here can get enough: order just those.
        let mut candidates: Vec<usize> = agent
            .reserved_roles
            .iter()
            .filter_map(|role| cycle.slot_of(role))
            .collect();
        candidates.sort_by(|a, b| {
            let (ka, kb) = (cycle.sorter.key(*a), cycle.sorter.key(*b));
            ka.0.total_cmp(&kb.0).then(ka.1.cmp(&kb.1))
        });
        candidates.into_iter().find_map(|ri| {
            let slot = &cycle.slots[ri];
            let offer = offerable(&agent.available, &slot.role);
            if !self.allocatable(&offer) {
                return None;
            }
            self.pick_framework(now, id, slot, &offer)
                .map(|fi| (ri, fi, Offer::Part(offer)))
        })
    }

    /// The first framework of the slot, in DRF order, that no filter keeps
    /// from getting `offer` on this agent.
    fn pick_framework(
        &self,
        now: Duration,
        agent: &AgentId,
        slot: &RoleSlot,
        offer: &Resources,
    ) -> Option<usize> {
        slot.sorter.iter().find(|fi| {
            slot.frameworks
                .get(*fi)
                .is_some_and(|fw| !self.filters.is_filtered(fw, &slot.role, agent, offer, now))
        })
    }

    /// Books `offer` (part of `agent`'s available) to `fw` under `role`.
    /// Returns the allocation and the new unweighted dominant shares of the
    /// role and of the framework in it; `None`, with nothing changed, if an
    /// id is unknown or the offer is not available.
    fn commit(
        &mut self,
        id: &AgentId,
        agent: &mut AgentState,
        role: &Role,
        fw: &FrameworkId,
        offer: Offer,
    ) -> Option<(Allocation, f64, f64)> {
        let framework = self.frameworks.get_mut(fw)?;
        let role_state = self.roles.get_mut(role)?;
        let offer = match offer {
            Offer::All => std::mem::take(&mut agent.available),
            Offer::Part(part) => {
                agent.available.subtract(&part).ok()?;
                part
            }
        };
        let stamped = offer.allocated_to(role);
        let mut fw_share = 0.0;
        if offer.scalar_quantities().next().is_some() {
            match framework.allocated.get_mut(role) {
                Some(q) => q.add_resources(&offer),
                None => {
                    framework
                        .allocated
                        .insert(role.clone(), Quantities::of(&offer));
                }
            }
            role_state.allocated.add_resources(&offer);
        }
        if let Some(q) = framework.allocated.get(role) {
            fw_share = dominant_share(q, &self.cluster_total);
        }
        let role_share = dominant_share(&role_state.allocated, &self.cluster_total);
        // Look up before inserting so the ids are cloned only the first time.
        if !agent.allocations.contains_key(fw) {
            agent.allocations.insert(fw.clone(), BTreeMap::new());
        }
        if let Some(by_role) = agent.allocations.get_mut(fw) {
            match by_role.get_mut(role) {
                Some(held) => *held += &offer,
                None => {
                    by_role.insert(role.clone(), offer);
                }
            }
        }
        if !framework.agents.contains(id) {
            framework.agents.insert(id.clone());
        }
        let allocation = Allocation {
            framework: fw.clone(),
            role: role.clone(),
            agent: id.clone(),
            resources: stamped,
        };
        Some((allocation, role_share, fw_share))
    }
}

/// What a pick gives: everything available on the agent (cheap: moved, not
/// copied), or a computed part of it (unallocated form).
enum Offer {
    All,
    Part(Resources),
}

/// What of `available` can be offered under `role`: unreserved or reserved
/// for exactly `role`, not revocable.
fn offerable(available: &Resources, role: &Role) -> Resources {
    available.filter(|r| {
        !r.revocable
            && r.reservation
                .as_ref()
                .is_none_or(|reserved| reserved == role)
    })
}
