//! Read views for operators: each known role (weight, quota, what it holds,
//! its share) and each agent's resources (total, available, reserved).

use corral::{AgentId, FrameworkId, Resources, Role};

use super::error::OperatorError;
use crate::allocator::Quota;
use crate::master::core::MasterCore;

/// One role, as an operator sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct RoleInfo {
    /// The role.
    pub role: Role,
    /// Its weight (1.0 unless set).
    pub weight: f64,
    /// Its quota, if set.
    pub quota: Option<Quota>,
    /// What the role and its descendants hold as regular (non-revocable)
    /// resources, offered or used, in unallocated form (reserved entries
    /// keep their reservation).
    pub allocated: Resources,
    /// What the role and its descendants hold as revocable resources lent
    /// by other roles, in unallocated form (marked revocable).
    pub revocable: Resources,
    /// What is reserved for exactly this role, on every reachable agent,
    /// used or not.
    pub reserved: Resources,
    /// Its weighted dominant share (what its subtree holds, regular and
    /// revocable, over the cluster total, divided by its weight).
    pub share: f64,
    /// The frameworks subscribed with exactly this role, by id.
    pub frameworks: Vec<FrameworkId>,
}

/// One agent's resources, as an operator sees them.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentResources {
    /// The agent.
    pub agent: AgentId,
    /// Its hostname.
    pub hostname: String,
    /// Everything it has (unallocated form; reserved entries name their role).
    pub total: Resources,
    /// What is neither offered nor used (empty for a lost agent).
    pub available: Resources,
    /// The entries of `total` reserved for a role.
    pub reserved: Resources,
    /// Lost to a partition: nothing on it can be offered or changed.
    pub lost: bool,
}

/// `role` is `ancestor` or below it.
fn within(role: &Role, ancestor: &Role) -> bool {
    role == ancestor
        || role
            .as_str()
            .strip_prefix(ancestor.as_str())
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Every role the master knows (named by a framework, a weight, a
/// quota, a reservation or a request, and their ancestors), by name.
/// A role nothing refers to any more (no framework, child, weight,
/// quota, reservation, request or holding) is forgotten and no longer
/// listed.
pub(in crate::master) fn roles(core: &MasterCore) -> Vec<RoleInfo> {
    core.allocator
        .known_roles()
        .into_iter()
        .map(|role| role_info(core, role))
        .collect()
}

/// One role (a role the master never heard of is shown with weight
/// 1 and nothing else).
pub(in crate::master) fn role_info(core: &MasterCore, role: Role) -> RoleInfo {
    let mut held = Resources::new();
    for fw in core.frameworks.ids() {
        let mine = core
            .allocator
            .allocated(fw)
            .filter(|r| r.allocation.as_ref().is_some_and(|a| within(a, &role)));
        held += &mine.unallocated();
    }
    let mut reserved = Resources::new();
    for agent in core.agents.ids() {
        if let Some(total) = core.allocator.total(agent) {
            reserved += &total.reserved_for(&role);
        }
    }
    RoleInfo {
        weight: core.allocator.weight(&role),
        quota: core.allocator.quota(&role).cloned(),
        allocated: held.non_revocable(),
        revocable: held.only_revocable(),
        reserved,
        share: core.allocator.role_share(&role),
        frameworks: core
            .frameworks
            .iter()
            .filter(|r| r.roles.contains(&role))
            .map(|r| r.id.clone())
            .collect(),
        role,
    }
}

/// One agent's resources; [`OperatorError::UnknownAgent`] if there is
/// no such agent.
pub(in crate::master) fn agent_resources(
    core: &MasterCore,
    agent: &AgentId,
) -> Result<AgentResources, OperatorError> {
    let spec = core
        .agents
        .spec(agent)
        .ok_or_else(|| OperatorError::UnknownAgent(agent.clone()))?;
    let lost = core.agents.is_lost(agent);
    let available = if lost {
        Resources::new()
    } else {
        core.allocator.available(agent).unwrap_or_default()
    };
    Ok(AgentResources {
        agent: agent.clone(),
        hostname: spec.hostname.clone(),
        total: spec.resources.clone(),
        available,
        reserved: spec.resources.filter(|r| r.reservation.is_some()),
        lost,
    })
}

/// Every agent's resources, by agent id.
pub(in crate::master) fn all_agent_resources(core: &MasterCore) -> Vec<AgentResources> {
    core.agents
        .ids()
        .filter_map(|agent| agent_resources(core, agent).ok())
        .collect()
}
