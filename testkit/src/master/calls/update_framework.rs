//! UPDATE_FRAMEWORK: a new FrameworkInfo (same immutable fields); offers of
//! roles it left are rescinded.

use crate::master::calls;
use crate::master::calls::subscribe;
use crate::master::core::MasterCore;
use crate::master::error::CallError;
use crate::master::processes::allocation;
use crate::master::validate;
use corral::FrameworkId;
use corral_proto::pb;
use std::time::Duration;

/// UPDATE_FRAMEWORK: validated like SUBSCRIBE; offers of removed roles
/// are rescinded; new or unsuppressed roles get an allocation at once.
pub(in crate::master) fn update_framework(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    update: pb::call::UpdateFramework,
) -> Result<(), CallError> {
    let info = update.framework_info;
    let info_id = info.id.as_ref().map(|id| id.value.clone());
    if info_id.as_deref() != Some(fw.as_str()) {
        return Err(CallError::FrameworkIdMismatch {
            call: Some(fw.to_string()),
            info: info_id,
        });
    }
    let valid = validate::framework_info(&info, &update.suppressed_roles)?;
    let record = calls::record(core, fw)?;
    validate::immutable_fields(&record.identity, &valid.identity)?;
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
