//! UPDATE_FRAMEWORK: a new FrameworkInfo (same immutable fields); offers of
//! roles it left are rescinded.

use crate::master::books::frameworks::ValidFramework;
use crate::master::calls;
use crate::master::calls::subscribe;
use crate::master::core::MasterCore;
use crate::master::error::CallError;
use crate::master::processes::allocation;
use corral::FrameworkId;
use std::time::Duration;

/// UPDATE_FRAMEWORK's input: the new FrameworkInfo, validated (its id
/// checked against the caller's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateFramework {
    /// What the master takes from it.
    pub valid: ValidFramework,
}

/// UPDATE_FRAMEWORK: validated like SUBSCRIBE; offers of removed roles
/// are rescinded; new or unsuppressed roles get an allocation at once.
pub(in crate::master) fn update_framework(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    update: UpdateFramework,
) -> Result<(), CallError> {
    let valid = update.valid;
    let record = calls::record(core, fw)?;
    calls::immutable_fields(&record.identity, &valid.identity)?;
    let removed_roles: Vec<_> = record.roles.difference(&valid.roles).cloned().collect();
    for role in &removed_roles {
        for offer in core.offers.of_framework(fw, Some(role)) {
            core.rescind(now, &offer);
        }
    }
    if subscribe::apply_framework_info(core, fw, valid) {
        allocation::allocate_now(core, now);
    }
    Ok(())
}
