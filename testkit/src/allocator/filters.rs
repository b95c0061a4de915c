//! Offer filters: "don't offer me these resources on this agent again for a
//! while", set when a framework declines an offer (or leaves part of it
//! unused) with `refuse_seconds`.
//!
//! A filter belongs to one (framework, role, agent) and holds the resources
//! that were given back. Until it expires, an allocation of resources that the
//! filter's resources contain is skipped for that framework in that role; a
//! bigger allocation passes, as in Mesos. Filters are nested maps keyed by
//! reference-friendly ids so the hot check in the allocation loop does no
//! allocation and no cloning when a framework has no filters.

use std::collections::BTreeMap;
use std::time::Duration;

use corral::{AgentId, FrameworkId, Resources, Role};

/// One refused-resources filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Filter {
    /// The refused resources, in unallocated form (the role is the key).
    pub(crate) resources: Resources,
    /// The filter holds while `now < expires`.
    pub(crate) expires: Duration,
}

type ByAgent = BTreeMap<AgentId, Vec<Filter>>;
type ByRole = BTreeMap<Role, ByAgent>;

/// All active filters, framework -> role -> agent -> filters.
#[derive(Clone, Debug, Default)]
pub(crate) struct Filters {
    by_framework: BTreeMap<FrameworkId, ByRole>,
}

impl Filters {
    /// Adds a filter on `resources` (unallocated form).
    pub(crate) fn add(
        &mut self,
        framework: &FrameworkId,
        role: &Role,
        agent: &AgentId,
        resources: &Resources,
        expires: Duration,
    ) {
        self.by_framework
            .entry(framework.clone())
            .or_default()
            .entry(role.clone())
            .or_default()
            .entry(agent.clone())
            .or_default()
            .push(Filter {
                resources: resources.clone(),
                expires,
            });
    }

    /// True when an unexpired filter of (framework, role, agent) contains
    /// `offer` (unallocated form).
    pub(crate) fn is_filtered(
        &self,
        framework: &FrameworkId,
        role: &Role,
        agent: &AgentId,
        offer: &Resources,
        now: Duration,
    ) -> bool {
        self.by_framework
            .get(framework)
            .and_then(|roles| roles.get(role))
            .and_then(|agents| agents.get(agent))
            .is_some_and(|list| {
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
    pub(crate) fn clear_framework(&mut self, framework: &FrameworkId) {
        self.by_framework.remove(framework);
    }

    /// Drops `framework`'s filters for `role`.
    pub(crate) fn clear_role(&mut self, framework: &FrameworkId, role: &Role) {
        if let Some(roles) = self.by_framework.get_mut(framework) {
            roles.remove(role);
            if roles.is_empty() {
                self.by_framework.remove(framework);
            }
        }
    }

    /// Drops every filter on `agent`.
    pub(crate) fn clear_agent(&mut self, agent: &AgentId) {
        self.by_framework.retain(|_, roles| {
            roles.retain(|_, agents| {
                agents.remove(agent);
                !agents.is_empty()
            });
            !roles.is_empty()
        });
    }

    /// How many filters `framework` has (expired ones included until the
    /// next cycle drops them).
    pub(crate) fn count(&self, framework: &FrameworkId) -> usize {
        self.by_framework.get(framework).map_or(0, |roles| {
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
        let (fw, role, agent) = (FrameworkId::new("f"), Role::new("r"), AgentId::new("a"));
        let mut filters = Filters::default();
        let held = Resources::new().with_cpus(2.0).with_mem(64.0);
        filters.add(&fw, &role, &agent, &held, Duration::from_secs(5));
        let now = Duration::from_secs(1);
        assert!(filters.is_filtered(&fw, &role, &agent, &held, now));
        let smaller = Resources::new().with_cpus(1.0);
        assert!(filters.is_filtered(&fw, &role, &agent, &smaller, now));
        let bigger = held.clone().with_cpus(1.0);
        assert!(!filters.is_filtered(&fw, &role, &agent, &bigger, now));
        assert!(!filters.is_filtered(&fw, &Role::new("other"), &agent, &held, now));
        assert!(!filters.is_filtered(&fw, &role, &agent, &held, Duration::from_secs(5)));
        filters.expire(Duration::from_secs(4));
        assert_eq!(filters.count(&fw), 1);
        filters.expire(Duration::from_secs(5));
        assert_eq!(filters.count(&fw), 0);
    }

    #[test]
    fn clearing() {
        let (fw, role, agent) = (FrameworkId::new("f"), Role::new("r"), AgentId::new("a"));
        let mut filters = Filters::default();
        let held = Resources::new().with_cpus(1.0);
        let far = Duration::from_secs(100);
        filters.add(&fw, &role, &agent, &held, far);
        filters.add(&fw, &Role::new("s"), &agent, &held, far);
        filters.clear_role(&fw, &role);
        assert_eq!(filters.count(&fw), 1);
        filters.clear_agent(&agent);
        assert_eq!(filters.count(&fw), 0);
        filters.add(&fw, &role, &agent, &held, far);
        filters.clear_framework(&fw);
        assert_eq!(filters.count(&fw), 0);
    }
}
