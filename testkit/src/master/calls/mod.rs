//! The call handlers: one file per call, each a function over the core's
//! books, reached with its plain input from `api.rs` (`MasterCore::apply`,
//! `MasterCore::open`), which the wire edge (`edge.rs`) calls after the
//! stream check. Only calls and processes
//! (`processes/`) touch more than one book.

pub mod accept;
pub mod acknowledge;
pub mod decline;
pub mod inverse_offers;
pub mod kill;
pub mod reconcile;
pub mod request;
pub mod subscribe;
pub mod suppress_revive;
pub mod teardown;
pub mod update_framework;

use std::collections::BTreeSet;

use crate::master::books::frameworks::Identity;
use crate::master::core::MasterCore;
use crate::master::error::CallError;
use corral::FrameworkId;
use corral::Role;

pub(in crate::master) fn record<'a>(
    core: &'a MasterCore,
    fw: &FrameworkId,
) -> Result<&'a crate::master::books::frameworks::FrameworkRecord, CallError> {
    core.frameworks
        .get(fw)
        .ok_or_else(|| CallError::NotSubscribed {
            framework: fw.clone(),
        })
}

/// Checks that `new` keeps the fields a framework may not change.
pub(in crate::master) fn immutable_fields(old: &Identity, new: &Identity) -> Result<(), CallError> {
    let changed = |field: &'static str, old: String, new: String| {
        if old == new {
            Ok(())
        } else {
            Err(CallError::ImmutableField { field, old, new })
        }
    };
    changed("user", old.user.clone(), new.user.clone())?;
    changed(
        "principal",
        old.principal.clone().unwrap_or_default(),
        new.principal.clone().unwrap_or_default(),
    )?;
    changed(
        "checkpoint",
        old.checkpoint.to_string(),
        new.checkpoint.to_string(),
    )
}

/// The roles a REVIVE/SUPPRESS names: all of `subscribed` when empty; each
/// must be one of `subscribed`.
pub(in crate::master) fn subscribed_roles(
    requested: &[String],
    subscribed: &BTreeSet<Role>,
) -> Result<Vec<Role>, CallError> {
    if requested.is_empty() {
        return Ok(subscribed.iter().cloned().collect());
    }
    requested
        .iter()
        .map(|name| {
            let role = Role::new(name.as_str());
            if subscribed.contains(&role) {
                Ok(role)
            } else {
                Err(CallError::RoleNotSubscribed { role })
            }
        })
        .collect()
}
