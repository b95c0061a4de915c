//! TEARDOWN, and the removal of a framework for good that a failover timeout
//! also ends in: offers rescinded, tasks dropped, local tasks stopped,
//! resources recovered, the stream closed, the id remembered.

use crate::master::calls::request;
use crate::master::core::allocator_ok;
use crate::master::core::MasterCore;
use crate::master::effects::Outgoing;
use crate::master::processes::local_tasks;
use crate::master::processes::reclaim;
use corral::FrameworkId;
use std::time::Duration;
use tracing::info;

/// Removes a framework for good: offers rescinded, tasks killed (no
/// updates), resources recovered, stream closed, id remembered.
pub(in crate::master) fn remove_framework(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    why: &str,
) {
    for id in core.offers.of_framework(fw, None) {
        core.rescind(now, &id);
    }
    let Some(record) = core.frameworks.remove(fw) else {
        return;
    };
    local_tasks::stop_local_framework(core, fw);
    reclaim::forget_revocations(core, fw);
    core.agents.forget_framework(fw);
    core.tasks.remove_framework(fw);
    core.updates.remove_framework(fw);
    allocator_ok(
        &mut core.broken,
        core.allocator.remove_framework(fw),
        "remove_framework",
    );
    request::sync_requests(core, &record.requests.keys().cloned().collect());
    if let Some(stream) = record.stream() {
        core.outbox.push(Outgoing::Close {
            stream: stream.clone(),
        });
    }
    info!(framework = %fw, why, "framework removed");
}
