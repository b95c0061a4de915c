//! SUPPRESS and REVIVE: no more offers for roles, or offers again (filters
//! cleared, an allocation at once).

use crate::master::calls;
use crate::master::core::MasterCore;
use crate::master::error::CallError;
use crate::master::processes::allocation;
use corral::FrameworkId;
use std::time::Duration;

/// REVIVE: unsuppress the roles (all if none named), clear their
/// filters, and allocate at once.
pub(in crate::master) fn revive(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    roles: Vec<String>,
) -> Result<(), CallError> {
    let roles = calls::subscribed_roles(&roles, &calls::record(core, fw)?.roles)?;
    {
        let result = core.allocator.revive(fw, &roles);
        core.note(result, "revive");
    };
    core.frameworks.unsuppress(fw, &roles);
    allocation::allocate_now(core, now);
    Ok(())
}

/// SUPPRESS: no more offers for the roles (all if none named).
pub(in crate::master) fn suppress(
    core: &mut MasterCore,
    fw: &FrameworkId,
    roles: Vec<String>,
) -> Result<(), CallError> {
    let roles = calls::subscribed_roles(&roles, &calls::record(core, fw)?.roles)?;
    {
        let result = core.allocator.suppress(fw, &roles);
        core.note(result, "suppress");
    };
    core.frameworks.suppress(fw, &roles);
    Ok(())
}
