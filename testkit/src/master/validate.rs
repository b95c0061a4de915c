//! Validation of calls and their parts (FrameworkInfo, role lists, filters,
//! uuids), producing typed [`CallError`]s. Pure functions, no master state.

use std::collections::BTreeSet;
use std::time::Duration;

use corral::Role;
use corral_proto::pb;
use corral_proto::pb::framework_info::capability::Type as Capability;

use super::error::CallError;

/// `Filters.refuse_seconds` cap: 365 days.
const MAX_REFUSE: Duration = Duration::from_secs(365 * 24 * 3600);
/// `Filters.refuse_seconds` default.
const DEFAULT_REFUSE_SECONDS: f64 = 5.0;

pub use super::books::frameworks::{Capabilities, Identity, ValidFramework};

/// The capabilities listed in `info` (unknown values ignored).
pub fn capabilities(info: &pb::FrameworkInfo) -> Capabilities {
    let mut caps = Capabilities::default();
    for cap in &info.capabilities {
        match cap.r#type() {
            Capability::MultiRole => caps.multi_role = true,
            Capability::TaskKillingState => caps.task_killing_state = true,
            Capability::PartitionAware => caps.partition_aware = true,
            Capability::RevocableResources => caps.revocable_resources = true,
            _ => {}
        }
    }
    caps
}

/// The type of `call`: missing or unknown values are an error.
pub fn call_type(call: &pb::Call) -> Result<pb::call::Type, CallError> {
    call.r#type
        .and_then(|t| pb::call::Type::try_from(t).ok())
        .ok_or(CallError::MissingType)
}

/// Checks a FrameworkInfo and its suppressed roles.
pub fn framework_info(
    info: &pb::FrameworkInfo,
    suppressed_roles: &[String],
) -> Result<ValidFramework, CallError> {
    let invalid = |why: String| Err(CallError::InvalidFrameworkInfo(why));
    if info.user.is_empty() {
        return invalid("user must not be empty".to_owned());
    }
    if info.name.is_empty() {
        return invalid("name must not be empty".to_owned());
    }
    let capabilities = capabilities(info);
    let names: Vec<&str> = if info.roles.is_empty() {
        vec![info.role()]
    } else {
        info.roles.iter().map(String::as_str).collect()
    };
    if names.len() > 1 && !capabilities.multi_role {
        return invalid(format!(
            "{} roles given without the MULTI_ROLE capability",
            names.len()
        ));
    }
    let mut roles = BTreeSet::new();
    for name in names {
        let role = Role::new(name);
        role.validate()?;
        if !roles.insert(role) {
            return invalid(format!("role {name} is listed twice"));
        }
    }
    let mut suppressed = BTreeSet::new();
    for name in suppressed_roles {
        let role = Role::new(name.as_str());
        if !roles.contains(&role) {
            return invalid(format!(
                "suppressed role {name:?} is not one of the framework's roles"
            ));
        }
        suppressed.insert(role);
    }
    let failover = info.failover_timeout();
    if failover.is_nan() || failover < 0.0 {
        return invalid(format!(
            "failover_timeout must be a non-negative number of seconds, got {failover}"
        ));
    }
    Ok(ValidFramework {
        identity: Identity {
            name: info.name.clone(),
            user: info.user.clone(),
            principal: info.principal.clone(),
            checkpoint: info.checkpoint(),
        },
        roles,
        suppressed,
        capabilities,
        // Infinite or too large for a Duration: never times out.
        failover_timeout: Duration::try_from_secs_f64(failover).ok(),
    })
}

/// The filter duration of `filters`: `refuse_seconds` (default 5 s; negative
/// or NaN means the default), capped at 365 days.
pub fn refuse_filter(filters: Option<&pb::Filters>) -> Duration {
    let seconds = filters.map_or(DEFAULT_REFUSE_SECONDS, pb::Filters::refuse_seconds);
    let seconds = if seconds.is_nan() || seconds < 0.0 {
        DEFAULT_REFUSE_SECONDS
    } else {
        seconds
    };
    Duration::try_from_secs_f64(seconds)
        .unwrap_or(MAX_REFUSE)
        .min(MAX_REFUSE)
}

/// A status update uuid: exactly 16 bytes.
pub fn uuid(bytes: &[u8]) -> Result<[u8; 16], CallError> {
    bytes
        .try_into()
        .map_err(|_| CallError::MalformedUuid(bytes.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::calls::{immutable_fields, subscribed_roles};

    fn info(roles: &[&str], caps: &[Capability]) -> pb::FrameworkInfo {
        pb::FrameworkInfo {
            user: "u".into(),
            name: "n".into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            capabilities: caps
                .iter()
                .map(|c| pb::framework_info::Capability {
                    r#type: Some(*c as i32),
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn roles_default_to_star_and_need_multi_role() {
        let v = framework_info(&info(&[], &[]), &[]).unwrap();
        assert_eq!(v.roles, BTreeSet::from([Role::new("*")]));
        assert_eq!(v.failover_timeout, Some(Duration::ZERO));
        assert!(framework_info(&info(&["a", "b"], &[]), &[]).is_err());
        let v =
            framework_info(&info(&["a", "b"], &[Capability::MultiRole]), &["b".into()]).unwrap();
        assert_eq!(v.suppressed, BTreeSet::from([Role::new("b")]));
    }

    #[test]
    fn bad_framework_infos() {
        let mut no_user = info(&["a"], &[]);
        no_user.user.clear();
        assert!(framework_info(&no_user, &[]).is_err());
        assert!(framework_info(&info(&["a b"], &[]), &[]).is_err());
        assert!(framework_info(&info(&["a"], &[]), &["z".into()]).is_err());
        let multi = [Capability::MultiRole];
        assert!(framework_info(&info(&["a", "a"], &multi), &[]).is_err());
        let mut negative = info(&["a"], &[]);
        negative.failover_timeout = Some(-1.0);
        assert!(framework_info(&negative, &[]).is_err());
        let mut forever = info(&["a"], &[]);
        forever.failover_timeout = Some(f64::INFINITY);
        assert_eq!(
            framework_info(&forever, &[]).unwrap().failover_timeout,
            None
        );
    }

    #[test]
    fn refuse_filter_defaults_and_caps() {
        assert_eq!(refuse_filter(None), Duration::from_secs(5));
        let f = |s: f64| pb::Filters {
            refuse_seconds: Some(s),
        };
        assert_eq!(refuse_filter(Some(&f(-1.0))), Duration::from_secs(5));
        assert_eq!(refuse_filter(Some(&f(0.0))), Duration::ZERO);
        assert_eq!(refuse_filter(Some(&f(1e12))), MAX_REFUSE);
        assert_eq!(refuse_filter(Some(&f(f64::INFINITY))), MAX_REFUSE);
        assert_eq!(
            refuse_filter(Some(&pb::Filters::default())),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn immutable_fields_are_checked() {
        let old = info(&["a"], &[]);
        let mut new = old.clone();
        new.name = "other".into();
        let identity = |i: &pb::FrameworkInfo| framework_info(i, &[]).unwrap().identity;
        assert!(immutable_fields(&identity(&old), &identity(&new)).is_ok());
        new.principal = Some("p".into());
        assert!(matches!(
            immutable_fields(&identity(&old), &identity(&new)),
            Err(CallError::ImmutableField {
                field: "principal",
                ..
            })
        ));
    }

    #[test]
    fn role_lists_and_uuids() {
        let roles = BTreeSet::from([Role::new("a"), Role::new("b")]);
        assert_eq!(subscribed_roles(&[], &roles).unwrap().len(), 2);
        assert!(subscribed_roles(&["c".into()], &roles).is_err());
        assert!(uuid(&[0; 16]).is_ok());
        assert_eq!(uuid(&[0; 3]), Err(CallError::MalformedUuid(3)));
    }
}
