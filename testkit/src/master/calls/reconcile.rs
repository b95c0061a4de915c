//! RECONCILE: explicit (the tasks named) and implicit (every live task)
//! reconciliation, from the live tasks and the bounded history.

use crate::master::calls;
use crate::master::core::task_status;
use crate::master::core::MasterCore;
use crate::master::error::CallError;
use crate::master::outbox;
use corral::AgentId;
use corral::FrameworkId;
use corral::Reason;
use corral::Source;
use corral::TaskId;
use corral::TaskState;
use corral_proto::pb;
use std::time::Duration;

/// RECONCILE: the latest state of the named tasks (every non-terminal
/// task when none are named), sent at once without a uuid.
pub(in crate::master) fn reconcile(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    reconcile: pb::call::Reconcile,
) -> Result<(), CallError> {
    let capabilities = calls::record(core, fw)?.capabilities;
    let mut answers = Vec::new();
    if reconcile.tasks.is_empty() {
        for record in core.tasks.live_of(fw) {
            let mut status = task_status(now, &record.id, record.state, Source::Master);
            status.agent_id = Some(record.agent.clone());
            status.executor_id = record.executor.clone();
            answers.push(status);
        }
    }
    for asked in &reconcile.tasks {
        let task = TaskId::from(&asked.task_id);
        let status = match core.tasks.get(fw, &task) {
            Some(record) => {
                let mut status = task_status(now, &task, record.state, Source::Master);
                status.agent_id = Some(record.agent.clone());
                status.executor_id = record.executor.clone();
                status
            }
            None => {
                let state = if capabilities.partition_aware {
                    TaskState::Unknown
                } else {
                    TaskState::Lost
                };
                let mut status = task_status(now, &task, state, Source::Master);
                status.agent_id = asked.agent_id.as_ref().map(AgentId::from);
                status.message = Some("reconciliation: task is unknown to the master".into());
                status
            }
        };
        answers.push(status);
    }
    for mut status in answers {
        status.reason = Some(Reason::Reconciliation);
        core.emit(fw, outbox::update(status));
    }
    Ok(())
}
