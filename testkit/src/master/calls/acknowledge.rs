//! ACKNOWLEDGE: a status update's uuid, acknowledged; the next queued update
//! of that task goes out.

use crate::master::core::MasterCore;
use crate::master::effects::Event;
use crate::master::error::CallError;
use corral::FrameworkId;
use corral::TaskId;
use std::time::Duration;

/// ACKNOWLEDGE: the task's in-flight update must carry this uuid; the
/// task's next update, if any, goes out at once.
/// ACKNOWLEDGE's input: which update of which task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acknowledge {
    /// The task.
    pub task: TaskId,
    /// The update's uuid.
    pub uuid: [u8; 16],
}

pub(in crate::master) fn acknowledge(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    ack: Acknowledge,
) -> Result<(), CallError> {
    let Acknowledge { task, uuid } = ack;
    match core.updates.ack(now, fw, &task, &uuid) {
        Ok(Some(next)) => {
            core.emit(fw, Event::Update(next));
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(_) => Err(CallError::UnknownUpdate {
            task,
            uuid: uuid.iter().map(|b| format!("{b:02x}")).collect(),
        }),
    }
}
