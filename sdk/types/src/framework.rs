//! Who the framework is: [`FrameworkInfo`], sent when subscribing.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::{FrameworkId, InvalidRole, Role};

/// A feature the framework supports, announced when subscribing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Capability {
    /// Wants revocable (lent) resources in its offers.
    RevocableResources,
    /// Wants `TASK_KILLING` between a kill and `TASK_KILLED`.
    TaskKillingState,
    /// Wants offers from agents with GPUs.
    GpuResources,
    /// Understands `TASK_UNREACHABLE`, `TASK_DROPPED`, `TASK_GONE`... instead
    /// of `TASK_LOST`.
    PartitionAware,
    /// Subscribes with several roles.
    MultiRole,
}

/// The framework's identity and wishes, sent with every subscription.
///
/// Defaults: user `"root"`, role `"*"`, capabilities `MULTI_ROLE` and
/// `TASK_KILLING_STATE`, a failover timeout of one week (the master keeps
/// the framework's tasks that long after it disconnects).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FrameworkInfo {
    /// The framework's name.
    pub name: String,
    /// The user tasks run as by default.
    pub user: String,
    /// The roles it subscribes with.
    pub roles: Vec<Role>,
    /// Its capabilities.
    pub capabilities: BTreeSet<Capability>,
    /// How long the master keeps the framework's tasks after it disconnects.
    pub failover_timeout: Duration,
    /// The principal it authenticates as.
    pub principal: Option<String>,
    /// Its id, once the master gave it one. Set it to resume an earlier run
    /// (failover); the runtime sets it after the first subscription.
    pub id: Option<FrameworkId>,
    /// Roles to subscribe with suppressed (no offers until revived).
    pub suppressed_roles: BTreeSet<Role>,
}

impl FrameworkInfo {
    /// A framework with this name and the defaults above.
    pub fn new(name: impl Into<String>) -> Self {
        FrameworkInfo {
            name: name.into(),
            user: "root".to_owned(),
            roles: vec![Role::from("*")],
            capabilities: [Capability::MultiRole, Capability::TaskKillingState]
                .into_iter()
                .collect(),
            failover_timeout: Duration::from_secs(7 * 24 * 3600),
            principal: None,
            id: None,
            suppressed_roles: BTreeSet::new(),
        }
    }

    /// Sets the roles.
    pub fn with_roles<I, R>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = R>,
        R: Into<Role>,
    {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the user.
    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.user = user.into();
        self
    }

    /// Adds a capability.
    pub fn with_capability(mut self, capability: Capability) -> Self {
        self.capabilities.insert(capability);
        self
    }

    /// Sets the failover timeout.
    pub fn with_failover_timeout(mut self, timeout: Duration) -> Self {
        self.failover_timeout = timeout;
        self
    }

    /// Sets the principal.
    pub fn with_principal(mut self, principal: impl Into<String>) -> Self {
        self.principal = Some(principal.into());
        self
    }

    /// Resumes the framework with this id (failover).
    pub fn with_id(mut self, id: impl Into<FrameworkId>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// True when the framework announces `capability`.
    pub fn has(&self, capability: Capability) -> bool {
        self.capabilities.contains(&capability)
    }

    /// Checks what the master would refuse: an empty name or user, no
    /// roles, an invalid or repeated role, a suppressed role that is not one
    /// of the roles.
    pub fn validate(&self) -> Result<(), InvalidFrameworkInfo> {
        if self.name.trim().is_empty() {
            return Err(InvalidFrameworkInfo::EmptyName);
        }
        if self.user.trim().is_empty() {
            return Err(InvalidFrameworkInfo::EmptyUser);
        }
        if self.roles.is_empty() {
            return Err(InvalidFrameworkInfo::NoRoles);
        }
        let mut seen = BTreeSet::new();
        for role in &self.roles {
            role.validate()?;
            if !seen.insert(role) {
                return Err(InvalidFrameworkInfo::RepeatedRole(role.clone()));
            }
        }
        if let Some(role) = self.suppressed_roles.iter().find(|r| !seen.contains(r)) {
            return Err(InvalidFrameworkInfo::SuppressedRoleNotSubscribed(
                role.clone(),
            ));
        }
        Ok(())
    }
}

/// What is wrong with a [`FrameworkInfo`] (what the master would refuse).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidFrameworkInfo {
    /// The name is empty.
    #[error("invalid framework info: the name is empty")]
    EmptyName,
    /// The user is empty.
    #[error("invalid framework info: the user is empty")]
    EmptyUser,
    /// No roles.
    #[error("invalid framework info: no roles")]
    NoRoles,
    /// A role breaks the naming rules.
    #[error("invalid framework info: {0}")]
    Role(#[from] InvalidRole),
    /// A role is listed twice.
    #[error("invalid framework info: role {0} is listed twice")]
    RepeatedRole(Role),
    /// A suppressed role is not one of the roles.
    #[error("invalid framework info: suppressed role {0} is not one of the framework's roles")]
    SuppressedRoleNotSubscribed(Role),
}
