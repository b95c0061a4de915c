//! The tasks book, continued: tasks whose lifecycle is driven from
//! outside the simulation (local agents report their states).

use std::time::Duration;

use corral::TaskState;
use corral::{FrameworkId, TaskId};

use super::{is_terminal, key, Launch, TaskTable, Transitioned};

impl TaskTable {
    /// Adds a task in TASK_STAGING with no simulated timers: its next
    /// states come from [`TaskTable::report_external`].
    pub fn launch_external(&mut self, now: Duration, launch: Launch) {
        self.insert(now, launch, None);
    }

    /// Marks an externally driven task as being killed (TASK_KILLING when
    /// `report_killing`), without a timer. `false` when the task is
    /// unknown, ended, or already being killed.
    pub fn mark_killing(
        &mut self,
        framework: &FrameworkId,
        task: &TaskId,
        report_killing: bool,
    ) -> bool {
        let Some(record) = self.live.get_mut(&key(framework, task)) else {
            return false;
        };
        if record.killing {
            return false;
        }
        record.killing = true;
        if report_killing {
            record.state = TaskState::Killing;
        }
        true
    }

    /// Sets the state of an externally driven task, as its agent reported
    /// it. `None` (nothing changes) when the task is unknown or ended, or
    /// when it is being killed and `state` is not terminal (a late
    /// RUNNING must not undo TASK_KILLING).
    pub fn report_external(
        &mut self,
        framework: &FrameworkId,
        task: &TaskId,
        state: TaskState,
        message: Option<String>,
    ) -> Option<Transitioned> {
        let k = key(framework, task);
        let record = self.live.get_mut(&k)?;
        if record.killing && !is_terminal(state) {
            return None;
        }
        record.state = state;
        self.schedule(&k, None);
        self.transitioned(&k, message)
    }
}
