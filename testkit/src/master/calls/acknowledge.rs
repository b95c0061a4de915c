//! ACKNOWLEDGE: a status update's uuid, acknowledged; the next queued update
//! of that task goes out.

use crate::master::core::MasterCore;
use crate::master::error::CallError;
use crate::master::outbox;
use crate::master::validate;
use corral::FrameworkId;
use corral::TaskId;
use corral_proto::pb;
use std::time::Duration;

/// ACKNOWLEDGE: the task's in-flight update must carry this uuid; the
/// task's next update, if any, goes out at once.
pub(in crate::master) fn acknowledge(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    ack: pb::call::Acknowledge,
) -> Result<(), CallError> {
    let uuid = validate::uuid(&ack.uuid)?;
    let task = TaskId::from(&ack.task_id);
    match core.updates.ack(now, fw, &task, &uuid) {
        Ok(Some(next)) => {
            core.emit(fw, outbox::update(next));
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(_) => Err(CallError::UnknownUpdate {
            task,
            uuid: uuid.iter().map(|b| format!("{b:02x}")).collect(),
        }),
    }
}
