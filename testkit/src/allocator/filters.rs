//! Offer filters: "don't offer me these resources on this agent again for a
//! while", set when a framework declines an offer (or leaves part of it
//! unused) with `refuse_seconds`.
//!
//! A filter belongs to one (framework, role, agent) and holds the resources
//! that were given back (unallocated form, revocable marks kept, so declining
//! lent resources filters only lent offers). Until it expires, an allocation
//! of resources that the filter's resources contain is skipped for that
//! framework in that role; a bigger allocation passes, as in Mesos. Filters
//! are nested maps keyed by the allocator's indices, so the hot check in the
//! allocation loop is one map lookup when a framework has no filters.

use std::collections::BTreeMap;
use std::time::Duration;

use corral::Resources;

use super::types::{AgentIx, FwId, RoleId};

/// One refused-resources filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Filter {
    /// The refused resources, in unallocated form (the role is the key).
    pub(crate) resources: Resources,
    /// The filter holds while `now < expires`.
    pub(crate) expires: Duration,
}

type ByAgent = BTreeMap<AgentIx, Vec<Filter>>;
type ByRole = BTreeMap<RoleId, ByAgent>;

/// All active filters, framework -> role -> agent -> filters.
#[derive(Clone, Debug, Default)]
pub(crate) struct Filters {
    by_framework: BTreeMap<FwId, ByRole>,
}

impl Filters {
    /// Adds a filter on `resources` (unallocated form).
    pub(crate) fn add(
        &mut self,
        framework: FwId,
        role: RoleId,
        agent: AgentIx,
        resources: &Resources,
        expires: Duration,
    ) {
        self.by_framework
            .entry(framework)
            .or_default()
            .entry(role)
            .or_default()
            .entry(agent)
            .or_default()
            .push(Filter {
                resources: resources.clone(),
                expires,
            });
    }

    /// The filters of (framework, role, agent), if it has any: the caller
    /// builds the offer's `Resources` only then.
    #[inline]
    pub(crate) fn of(&self, framework: FwId, role: RoleId, agent: AgentIx) -> Option<&[Filter]> {
        self.by_framework
            .get(&framework)
            .and_then(|roles| roles.get(&role))
            .and_then(|agents| agents.get(&agent))
            .map(Vec::as_slice)
    }

    /// True when an unexpired filter of (framework, role, agent) contains
    /// `offer` (unallocated form).
    pub(crate) fn is_filtered(
        &self,
        framework: FwId,
        role: RoleId,
        agent: AgentIx,
        offer: &Resources,
        now: Duration,
    ) -> bool {
        self.of(framework, role, agent).is_some_and(|list| {
            list.iter()
                .any(|f| now < f.expires && f.resources.contains(offer))
        })
    }

    /// Drops the filters that expired at or before `now`.
    pub(crate) fn expire(&mut self, now: Duration) {
        self.by_framework.retain(|_, roles| {
            roles.retain(|_, agents| {
                agents.retain(|_, list| {
                    list.retain(|f| now < f.expires);
                    !list.is_empty()
                });
                !agents.is_empty()
            });
            !roles.is_empty()
        });
    }

    /// Drops every filter of `framework`.
    #[inline]
    pub(crate) fn clear_framework(&mut self, framework: FwId) {
        self.by_framework.remove(&framework);
    }

    /// Drops `framework`'s filters for `role`.
    pub(crate) fn clear_role(&mut self, framework: FwId, role: RoleId) {
        if let Some(roles) = self.by_framework.get_mut(&framework) {
            roles.remove(&role);
            if roles.is_empty() {
                self.by_framework.remove(&framework);
            }
        }
    }

    /// Drops every filter on `agent`.
    pub(crate) fn clear_agent(&mut self, agent: AgentIx) {
        self.by_framework.retain(|_, roles| {
            roles.retain(|_, agents| {
                agents.remove(&agent);
                !agents.is_empty()
            });
            !roles.is_empty()
        });
    }

    /// How many filters `framework` has (expired ones included until the
    /// next cycle drops them).
    pub(crate) fn count(&self, framework: FwId) -> usize {
        self.by_framework.get(&framework).map_or(0, |roles| {
            roles
                .values()
                .flat_map(|agents| agents.values())
                .map(Vec::len)
                .sum()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_contains_and_expires() {
        let (fw, role, agent) = (0, 0, 0);
        let mut filters = Filters::default();
        let held = Resources::new().with_cpus(2.0).with_mem(64.0);
        filters.add(fw, role, agent, &held, Duration::from_secs(5));
        let now = Duration::from_secs(1);
        assert!(filters.is_filtered(fw, role, agent, &held, now));
        let smaller = Resources::new().with_cpus(1.0);
        assert!(filters.is_filtered(fw, role, agent, &smaller, now));
        let bigger = held.clone().with_cpus(1.0);
        assert!(!filters.is_filtered(fw, role, agent, &bigger, now));
        assert!(!filters.is_filtered(fw, 9, agent, &held, now));
        assert!(!filters.is_filtered(fw, role, agent, &held, Duration::from_secs(5)));
        filters.expire(Duration::from_secs(4));
        assert_eq!(filters.count(fw), 1);
        filters.expire(Duration::from_secs(5));
        assert_eq!(filters.count(fw), 0);
    }

    #[test]
    fn clearing() {
        let (fw, role, agent) = (0, 0, 0);
        let mut filters = Filters::default();
        let held = Resources::new().with_cpus(1.0);
        let far = Duration::from_secs(100);
        filters.add(fw, role, agent, &held, far);
        filters.add(fw, 1, agent, &held, far);
        filters.clear_role(fw, role);
        assert_eq!(filters.count(fw), 1);
        filters.clear_agent(agent);
        assert_eq!(filters.count(fw), 0);
        filters.add(fw, role, agent, &held, far);
        filters.clear_framework(fw);
        assert_eq!(filters.count(fw), 0);
    }
}
