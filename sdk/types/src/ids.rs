//! Identifier newtypes: a `TaskId` can't be passed where an `AgentId` is due.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a string as this kind of id.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// The id the master gave a framework when it first subscribed.
    FrameworkId
);
id_type!(
    /// The id of one offer (or one inverse offer).
    OfferId
);
id_type!(
    /// The id of an agent (a machine that runs tasks).
    AgentId
);
id_type!(
    /// The id a framework gives each of its tasks; unique within the framework.
    TaskId
);
id_type!(
    /// The id of an executor, the process that runs a group of tasks on an agent.
    ExecutorId
);

/// A role: the name under which a framework is allocated resources.
///
/// Roles are hierarchical paths (`eng/web`); the master shares the cluster
/// between roles, and a framework may subscribe with several.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Role(String);

impl Role {
    /// Wraps a role name. See [`Role::validate`] for the naming rules.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The role's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks the role name against the rules Mesos applies: not empty, not
    /// `.` or `..`, no leading `-`, no whitespace or control characters, no
    /// `*` except the default role `*` itself, and each `/`-separated part
    /// non-empty.
    pub fn validate(&self) -> Result<(), InvalidRole> {
        let name = self.0.as_str();
        let bad = |why: &'static str| {
            Err(InvalidRole {
                role: name.to_owned(),
                why,
            })
        };
        if name == "*" {
            return Ok(());
        }
        if name.is_empty() {
            return bad("a role name cannot be empty");
        }
        for part in name.split('/') {
            if part.is_empty() {
                return bad("a role path cannot have an empty part");
            }
            if part == "." || part == ".." {
                return bad("'.' and '..' are not role names");
            }
            if part.starts_with('-') {
                return bad("a role name cannot start with '-'");
            }
        }
        if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("a role name cannot hold whitespace or control characters");
        }
        if name.contains('*') {
            return bad("'*' is only allowed as the whole role name");
        }
        Ok(())
    }

    /// The parent role (`eng` for `eng/web`), or `None` for a top-level role.
    pub fn parent(&self) -> Option<Role> {
        self.0.rsplit_once('/').map(|(p, _)| Role(p.to_owned()))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Role {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl From<String> for Role {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl std::borrow::Borrow<str> for Role {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// A role name that breaks the naming rules.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid role {role:?}: {why}")]
#[non_exhaustive]
pub struct InvalidRole {
    /// The offending name.
    pub role: String,
    /// Which rule it breaks.
    pub why: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_rules() {
        assert!(Role::from("eng/web").validate().is_ok());
        assert!(Role::from("*").validate().is_ok());
        for bad in ["", "eng//web", "-x", "a b", "a*", "..", "eng/."] {
            assert!(
                Role::from(bad).validate().is_err(),
                "{bad:?} should be invalid"
            );
        }
        assert_eq!(Role::from("eng/web").parent(), Some(Role::from("eng")));
        assert_eq!(Role::from("eng").parent(), None);
    }
}
