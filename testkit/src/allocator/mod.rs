//! The allocator: decides which framework is offered which agent's
//! resources. A pure core (no IO, no clock, no async) driven by the mock
//! master, modelled on the Mesos hierarchical DRF allocator.
//!
//! One batch cycle ([`Allocator::allocate`]) visits the agents in an order
//! shuffled by a seeded [`SplitMix64`]. For each agent, roles are visited in
//! increasing weighted dominant share (ties by name) and, inside a role,
//! frameworks in increasing dominant share (ties by id). The first eligible
//! framework gets everything on the agent that is offerable to that role.
//! Shares are updated right away, so the next agent sees the new order.
//!
//! Bookkeeping is exact: agent totals, what is available on each agent and
//! what each framework holds there per role are [`Resources`]; the sums the
//! shares are computed from are fixed-point [`Scalar`](corral::Scalar)s.
//! Bad input (unknown ids, recovering what was never allocated) is a typed
//! [`AllocatorError`] and leaves the state unchanged.
//!
//! A cycle builds its sorters once from the exact sums (one `DrfSorter`
//! over roles, one per role over its eligible frameworks); after each
//! allocation only that role and that framework are re-sorted. Shares are
//! against the cluster total of every agent's scalars (reserved and
//! revocable ones included). Eligible means: active, subscribed to the
//! role, not suppressed for it, and no unexpired decline filter
//! (see `filters.rs`) containing the allocation.
//!
//! Not built yet (kept room for): hierarchical roles, quota, lending
//! revocable resources to frameworks with the capability. Revocable entries
//! of an agent's total are tracked but never offered.

mod cycle;
mod filters;
mod inspect;
#[cfg(test)]
mod proptests;
mod rejoin;
mod sorter;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use corral::rng::SplitMix64;
use corral::{AgentId, FrameworkId, Resources, Role};

use filters::Filters;
use sorter::Quantities;

/// How the allocator behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct AllocatorConfig {
    /// Seed of the agent shuffle; same seed and same calls give the same
    /// allocations.
    pub seed: u64,
    /// The master's batch allocation interval. Also the shortest filter a
    /// decline can set (MESOS-4302): shorter filters would expire before the
    /// next cycle and have no effect.
    pub allocation_interval: Duration,
    /// An allocation must hold at least one of these (compared by scalar
    /// quantity, whatever the reservation). Empty: any non-empty allocation.
    /// Only scalar entries count.
    pub min_allocatable: Vec<Resources>,
}

impl Default for AllocatorConfig {
    /// Seed 0, a one-second interval, and `cpus:0.01` or `mem:32` as the
    /// smallest allocation (the Mesos defaults).
    fn default() -> Self {
        Self {
            seed: 0,
            allocation_interval: Duration::from_secs(1),
            min_allocatable: vec![
                Resources::new().with_cpus(0.01),
                Resources::new().with_mem(32.0),
            ],
        }
    }
}

/// What the allocator needs to know about a framework.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameworkSpec {
    /// The roles it subscribed with; it is offered resources under each.
    pub roles: BTreeSet<Role>,
    /// Roles (a subset of `roles`) it wants no offers for right now.
    pub suppressed: BTreeSet<Role>,
    /// It has the REVOCABLE_RESOURCES capability (stored; revocable
    /// resources are not offered yet).
    pub revocable: bool,
}

/// One decision of a cycle: `framework` is offered `resources` on `agent`
/// under `role`. The master turns each into one offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allocation {
    /// Who gets the offer.
    pub framework: FrameworkId,
    /// The role it is offered under.
    pub role: Role,
    /// Where the resources are.
    pub agent: AgentId,
    /// The resources, each entry stamped `allocated_to(role)`.
    pub resources: Resources,
}

/// Why an allocator call was refused. A refused call changes nothing.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AllocatorError {
    /// No agent with this id was added.
    #[error("unknown agent {0}")]
    UnknownAgent(AgentId),
    /// No framework with this id was added.
    #[error("unknown framework {0}")]
    UnknownFramework(FrameworkId),
    /// An agent with this id was already added.
    #[error("agent {0} was already added")]
    DuplicateAgent(AgentId),
    /// A framework with this id was already added.
    #[error("framework {0} was already added")]
    DuplicateFramework(FrameworkId),
    /// Weights must be finite and greater than zero.
    #[error("invalid weight {weight} for role {role}: must be finite and > 0")]
    InvalidWeight {
        /// The role.
        role: Role,
        /// The rejected weight.
        weight: f64,
    },
    /// `recover` was given resources the framework does not hold on that
    /// agent (or not in allocated form).
    #[error("framework {framework} does not hold {resources} on agent {agent}")]
    NotAllocated {
        /// The framework.
        framework: FrameworkId,
        /// The agent.
        agent: AgentId,
        /// The resources that were asked back.
        resources: Resources,
    },
    /// The framework is not subscribed to this role.
    #[error("framework {framework} is not subscribed to role {role}")]
    UnknownRole {
        /// The framework.
        framework: FrameworkId,
        /// The role.
        role: Role,
    },
}

/// One agent's bookkeeping.
#[derive(Clone, Debug)]
struct AgentState {
    /// Everything it has (unallocated form).
    total: Resources,
    /// `total` minus everything allocated (unallocated form).
    available: Resources,
    /// What each framework holds here, per role, in unallocated form (the
    /// role is the key; stamping it on every entry would only cost copies).
    /// No empty entries.
    allocations: BTreeMap<FrameworkId, BTreeMap<Role, Resources>>,
    /// Roles some of `total` is reserved for.
    reserved_roles: BTreeSet<Role>,
    /// No reservations and nothing revocable: all of `available` is
    /// offerable to every role.
    plain: bool,
}

/// One framework's bookkeeping.
#[derive(Clone, Debug)]
struct FrameworkState {
    spec: FrameworkSpec,
    active: bool,
    /// Scalar sums of what it holds, per role (roles it left included until
    /// recovered). No empty entries.
    allocated: BTreeMap<Role, Quantities>,
    /// Agents where it holds something.
    agents: BTreeSet<AgentId>,
}

/// One role's bookkeeping. Dropped when it has no framework and holds
/// nothing.
#[derive(Clone, Debug, Default)]
struct RoleState {
    /// Scalar sums of everything allocated to the role.
    allocated: Quantities,
    /// Frameworks subscribed to it.
    frameworks: BTreeSet<FrameworkId>,
}

/// The DRF allocator. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Allocator {
    config: AllocatorConfig,
    /// `config.min_allocatable` as scalar quantities.
    min_allocatable: Vec<Quantities>,
    rng: SplitMix64,
    agents: BTreeMap<AgentId, AgentState>,
    frameworks: BTreeMap<FrameworkId, FrameworkState>,
    roles: BTreeMap<Role, RoleState>,
    weights: BTreeMap<Role, f64>,
    /// Scalar sums of every agent's total.
    cluster_total: Quantities,
    filters: Filters,
}

impl Allocator {
    /// An allocator with no agents and no frameworks.
    pub fn new(config: AllocatorConfig) -> Self {
        let min_allocatable = config.min_allocatable.iter().map(Quantities::of).collect();
        Self {
            rng: SplitMix64::new(config.seed),
            config,
            min_allocatable,
            agents: BTreeMap::new(),
            frameworks: BTreeMap::new(),
            roles: BTreeMap::new(),
            weights: BTreeMap::new(),
            cluster_total: Quantities::default(),
            filters: Filters::default(),
        }
    }

    /// Sets a role's weight (default 1.0): a role with weight 3 gets about
    /// three times the dominant share of a role with weight 1.
    pub fn set_weight(&mut self, role: &Role, weight: f64) -> Result<(), AllocatorError> {
        if !(weight.is_finite() && weight > 0.0) {
            return Err(AllocatorError::InvalidWeight {
                role: role.clone(),
                weight,
            });
        }
        self.weights.insert(role.clone(), weight);
        Ok(())
    }

    /// Adds an agent with these resources (allocation roles in `total`, if
    /// any, are ignored: everything starts available).
    pub fn add_agent(&mut self, agent: AgentId, total: Resources) -> Result<(), AllocatorError> {
        if self.agents.contains_key(&agent) {
            return Err(AllocatorError::DuplicateAgent(agent));
        }
        let total = total.unallocated();
        let reserved_roles = total.iter().filter_map(|r| r.reservation.clone()).collect();
        let plain = total
            .iter()
            .all(|r| r.reservation.is_none() && !r.revocable);
        self.cluster_total.add_resources(&total);
        self.agents.insert(
            agent,
            AgentState {
                available: total.clone(),
                total,
                allocations: BTreeMap::new(),
                reserved_roles,
                plain,
            },
        );
        Ok(())
    }

    /// Removes an agent; what was allocated on it leaves every share, and
    /// filters on it are dropped.
    pub fn remove_agent(&mut self, agent: &AgentId) -> Result<(), AllocatorError> {
        let state = self
            .agents
            .remove(agent)
            .ok_or_else(|| AllocatorError::UnknownAgent(agent.clone()))?;
        for (fw, by_role) in &state.allocations {
            for (role, resources) in by_role {
                let q = Quantities::of(resources);
                if let Some(framework) = self.frameworks.get_mut(fw) {
                    sub_role_quantities(&mut framework.allocated, role, &q);
                }
                if let Some(role_state) = self.roles.get_mut(role) {
                    role_state.allocated.sub(&q);
                }
                self.gc_role(role);
            }
            if let Some(framework) = self.frameworks.get_mut(fw) {
                framework.agents.remove(agent);
            }
        }
        self.cluster_total.sub(&Quantities::of(&state.total));
        self.filters.clear_agent(agent);
        Ok(())
    }

    /// Adds a framework, active. `spec.suppressed` must be a subset of
    /// `spec.roles` (else [`AllocatorError::UnknownRole`]).
    pub fn add_framework(
        &mut self,
        fw: FrameworkId,
        spec: FrameworkSpec,
    ) -> Result<(), AllocatorError> {
        if self.frameworks.contains_key(&fw) {
            return Err(AllocatorError::DuplicateFramework(fw));
        }
        check_spec(&fw, &spec)?;
        for role in &spec.roles {
            self.roles
                .entry(role.clone())
                .or_default()
                .frameworks
                .insert(fw.clone());
        }
        self.frameworks.insert(
            fw,
            FrameworkState {
                spec,
                active: true,
                allocated: BTreeMap::new(),
                agents: BTreeSet::new(),
            },
        );
        Ok(())
    }

    /// Replaces a framework's roles, suppressed roles and capabilities.
    /// Allocations under roles it leaves stay accounted (and recoverable)
    /// until recovered; its filters for those roles are dropped.
    pub fn update_framework(
        &mut self,
        fw: &FrameworkId,
        spec: FrameworkSpec,
    ) -> Result<(), AllocatorError> {
        let framework = self
            .frameworks
            .get(fw)
            .ok_or_else(|| AllocatorError::UnknownFramework(fw.clone()))?;
        check_spec(fw, &spec)?;
        let removed: Vec<Role> = framework
            .spec
            .roles
            .difference(&spec.roles)
            .cloned()
            .collect();
        let added: Vec<Role> = spec
            .roles
            .difference(&framework.spec.roles)
            .cloned()
            .collect();
        for role in &removed {
            if let Some(role_state) = self.roles.get_mut(role) {
                role_state.frameworks.remove(fw);
            }
            self.filters.clear_role(fw, role);
            self.gc_role(role);
        }
        for role in added {
            self.roles
                .entry(role)
                .or_default()
                .frameworks
                .insert(fw.clone());
        }
        if let Some(framework) = self.frameworks.get_mut(fw) {
            framework.spec = spec;
        }
        Ok(())
    }

    /// Removes a framework and recovers everything still allocated to it.
    pub fn remove_framework(&mut self, fw: &FrameworkId) -> Result<(), AllocatorError> {
        let framework = self
            .frameworks
            .remove(fw)
            .ok_or_else(|| AllocatorError::UnknownFramework(fw.clone()))?;
        for agent_id in &framework.agents {
            if let Some(agent) = self.agents.get_mut(agent_id) {
                if let Some(by_role) = agent.allocations.remove(fw) {
                    for resources in by_role.values() {
                        agent.available += resources;
                    }
                }
            }
        }
        for (role, q) in &framework.allocated {
            if let Some(role_state) = self.roles.get_mut(role) {
                role_state.allocated.sub(q);
            }
        }
        for role in &framework.spec.roles {
            if let Some(role_state) = self.roles.get_mut(role) {
                role_state.frameworks.remove(fw);
            }
        }
        for role in framework.allocated.keys().chain(&framework.spec.roles) {
            self.gc_role(role);
        }
        self.filters.clear_framework(fw);
        Ok(())
    }

    /// Marks a framework connected (`true`) or disconnected (`false`). An
    /// inactive framework gets no offers but keeps its allocations and
    /// filters.
    pub fn activate_framework(
        &mut self,
        fw: &FrameworkId,
        active: bool,
    ) -> Result<(), AllocatorError> {
        let framework = self
            .frameworks
            .get_mut(fw)
            .ok_or_else(|| AllocatorError::UnknownFramework(fw.clone()))?;
        framework.active = active;
        Ok(())
    }

    /// Stops offers to `fw` for `roles` (empty: all its roles) until
    /// revived.
    pub fn suppress(&mut self, fw: &FrameworkId, roles: &[Role]) -> Result<(), AllocatorError> {
        let roles = self.resolve_roles(fw, roles)?;
        if let Some(framework) = self.frameworks.get_mut(fw) {
            framework.spec.suppressed.extend(roles);
        }
        Ok(())
    }

    /// Resumes offers to `fw` for `roles` (empty: all its roles): clears
    /// suppression and drops its filters for those roles.
    pub fn revive(&mut self, fw: &FrameworkId, roles: &[Role]) -> Result<(), AllocatorError> {
        let roles = self.resolve_roles(fw, roles)?;
        for role in &roles {
            self.filters.clear_role(fw, role);
        }
        if let Some(framework) = self.frameworks.get_mut(fw) {
            for role in &roles {
                framework.spec.suppressed.remove(role);
            }
        }
        Ok(())
    }

    /// Gives back resources `fw` holds on `agent` (declined, rescinded,
    /// unused, or freed by a finished task), in `allocated_to(role)` form.
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
        if !self.frameworks.contains_key(fw) {
            return Err(AllocatorError::UnknownFramework(fw.clone()));
        }
        let agent_state = self
            .agents
            .get(agent)
            .ok_or_else(|| AllocatorError::UnknownAgent(agent.clone()))?;
        if resources.is_empty() {
            return Ok(());
        }
        let not_allocated = || AllocatorError::NotAllocated {
            framework: fw.clone(),
            agent: agent.clone(),
            resources: resources.clone(),
        };

        // Validate everything, and compute what is left, before changing
        // anything.
        let first_role = resources.iter().next().and_then(|r| r.allocation.as_ref());
        let parts: Vec<(Role, Resources)> = match first_role {
            // The usual case: one offer's worth, all under one role.
            Some(role)
                if resources
                    .iter()
                    .all(|r| r.allocation.as_ref() == Some(role)) =>
            {
                vec![(role.clone(), resources.clone())]
            }
            _ => {
                let mut parts: BTreeMap<Role, Resources> = BTreeMap::new();
                for entry in resources.iter() {
                    let role = entry.allocation.clone().ok_or_else(not_allocated)?;
                    parts.entry(role).or_default().push(entry.clone());
                }
                parts.into_iter().collect()
            }
        };
        let held = agent_state.allocations.get(fw).ok_or_else(not_allocated)?;
        let mut updates = Vec::with_capacity(parts.len());
        for (role, part) in parts {
            let part = part.unallocated();
            let left = held
                .get(&role)
                .and_then(|h| h.checked_sub(&part))
                .ok_or_else(not_allocated)?;
            updates.push((role, part, left));
        }

        let duration = refuse
            .filter(|d| !d.is_zero())
            .map(|d| d.max(self.config.allocation_interval));
        for (role, part, left) in updates {
            if let Some(agent_state) = self.agents.get_mut(agent) {
                agent_state.available += &part;
                if let Some(by_role) = agent_state.allocations.get_mut(fw) {
                    if left.is_empty() {
                        by_role.remove(&role);
                    } else {
                        by_role.insert(role.clone(), left);
                    }
                    if by_role.is_empty() {
                        agent_state.allocations.remove(fw);
                    }
                }
            }
            let mut subscribed = false;
            if let Some(framework) = self.frameworks.get_mut(fw) {
                sub_role_resources(&mut framework.allocated, &role, &part);
                let holds_here = self
                    .agents
                    .get(agent)
                    .is_some_and(|a| a.allocations.contains_key(fw));
                if !holds_here {
                    framework.agents.remove(agent);
                }
                subscribed = framework.spec.roles.contains(&role);
            }
            if let Some(role_state) = self.roles.get_mut(&role) {
                role_state.allocated.sub_resources(&part);
            }
            self.gc_role(&role);
            if let (Some(d), true) = (duration, subscribed) {
                let expires = now.checked_add(d).unwrap_or(Duration::MAX);
                self.filters.add(fw, &role, agent, &part, expires);
            }
        }
        Ok(())
    }

    // ---- internals ----

    /// The roles `roles` names for `fw` (all its roles when empty), each
    /// checked to be one of its roles.
    fn resolve_roles(&self, fw: &FrameworkId, roles: &[Role]) -> Result<Vec<Role>, AllocatorError> {
        let framework = self
            .frameworks
            .get(fw)
            .ok_or_else(|| AllocatorError::UnknownFramework(fw.clone()))?;
        if roles.is_empty() {
            return Ok(framework.spec.roles.iter().cloned().collect());
        }
        if let Some(role) = roles.iter().find(|r| !framework.spec.roles.contains(*r)) {
            return Err(AllocatorError::UnknownRole {
                framework: fw.clone(),
                role: role.clone(),
            });
        }
        Ok(roles.to_vec())
    }

    /// Drops a role's entry once no framework is subscribed and nothing is
    /// allocated to it.
    fn gc_role(&mut self, role: &Role) {
        if self
            .roles
            .get(role)
            .is_some_and(|r| r.frameworks.is_empty() && r.allocated.is_empty())
        {
            self.roles.remove(role);
        }
    }
}

/// Subtracts `q` from `allocated[role]`, dropping the entry when it reaches
/// zero.
fn sub_role_quantities(allocated: &mut BTreeMap<Role, Quantities>, role: &Role, q: &Quantities) {
    if let Some(held) = allocated.get_mut(role) {
        held.sub(q);
        if held.is_empty() {
            allocated.remove(role);
        }
    }
}

/// Subtracts the scalars of `resources` from `allocated[role]`, dropping
/// the entry when it reaches zero.
fn sub_role_resources(
    allocated: &mut BTreeMap<Role, Quantities>,
    role: &Role,
    resources: &Resources,
) {
    if let Some(held) = allocated.get_mut(role) {
        held.sub_resources(resources);
        if held.is_empty() {
            allocated.remove(role);
        }
    }
}

/// `suppressed` must be a subset of `roles`.
fn check_spec(fw: &FrameworkId, spec: &FrameworkSpec) -> Result<(), AllocatorError> {
    match spec.suppressed.difference(&spec.roles).next() {
        Some(role) => Err(AllocatorError::UnknownRole {
            framework: fw.clone(),
            role: role.clone(),
        }),
        None => Ok(()),
    }
}
