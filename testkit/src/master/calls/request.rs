//! REQUEST: a framework's demand per role (kept by the frameworks book), and
//! the sum per role the allocator is told.

use crate::master::calls;
use crate::master::core::MasterCore;
use crate::master::error::CallError;
use crate::master::processes::allocation;
use corral::FrameworkId;
use corral::Resources;
use corral::Role;
use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::time::Duration;

/// REQUEST, decoded (`edge.rs`): each request's resources, or why they
/// cannot be read.
#[derive(Debug, Default)]
pub(in crate::master) struct Request {
    /// The requests, in order.
    pub requests: Vec<Result<Resources, String>>,
}

/// REQUEST: what the framework wants to hold in each named role, as
/// explicit demand for the allocator (which reclaims lent resources for
/// the role and stops lending its idle ones). Each resource names its
/// role in `allocation_info` (a framework with one role may leave it
/// out); a role's quantities are summed and replace the framework's
/// previous request for that role. A call with no requests withdraws
/// all of the framework's requests. A role's demand is the sum over its
/// frameworks; it goes when they do. An allocation runs at once.
pub(in crate::master) fn request(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    request: Request,
) -> Result<(), CallError> {
    let roles = calls::record(core, fw)?.roles.clone();
    let only_role = (roles.len() == 1)
        .then(|| roles.iter().next().cloned())
        .flatten();
    let mut wanted: BTreeMap<Role, Resources> = BTreeMap::new();
    for one in &request.requests {
        let parsed = one
            .as_ref()
            .map_err(|e| CallError::InvalidRequest(format!("invalid resources: {e}")))?;
        for entry in parsed.iter() {
            let role = match (&entry.allocation, &only_role) {
                (Some(role), _) => role.clone(),
                (None, Some(role)) => role.clone(),
                (None, None) => {
                    return Err(CallError::InvalidRequest(format!(
                        "resource {} names no role (allocation_info.role) and the framework has several",
                        entry.name
                    )))
                }
            };
            if !roles.contains(&role) {
                return Err(CallError::RoleNotSubscribed { role });
            }
            let mut plain = entry.clone();
            plain.allocation = None;
            let mut one = Resources::new();
            one.push(plain);
            *wanted.entry(role).or_default() += &one;
        }
    }
    for (role, resources) in &wanted {
        tracing::info!(framework = %fw, %role, %resources, "resources requested");
    }
    let touched = core
        .frameworks
        .set_requests(fw, wanted, request.requests.is_empty());
    sync_requests(core, &touched);
    allocation::allocate_now(core, now);
    Ok(())
}

/// Tells the allocator each role's demand: the sum of its frameworks'
/// requests (none: the role's request is cleared).
pub(in crate::master) fn sync_requests(core: &mut MasterCore, roles: &BTreeSet<Role>) {
    for role in roles {
        let sum = core.frameworks.demand(role);
        {
            let result = core.allocator.request(role, &sum);
            core.note(result, "request");
        };
    }
}
