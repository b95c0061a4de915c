//! RECONCILE: explicit (the tasks named) and implicit (every live task)
//! reconciliation, from the live tasks and the bounded history.

use crate::master::calls;
use crate::master::core::task_status;
use crate::master::core::MasterCore;
use crate::master::effects::Event;
use crate::master::error::CallError;
use corral::AgentId;
use corral::FrameworkId;
use corral::Reason;
use corral::Source;
use corral::TaskId;
use corral::TaskState;
use std::time::Duration;

/// RECONCILE's input: the tasks asked about, each with the agent the
/// framework names; none for implicit reconciliation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reconcile {
    /// The tasks asked about.
    pub tasks: Vec<(TaskId, Option<AgentId>)>,
}

/// RECONCILE: the latest state of the named tasks (every non-terminal
/// task when none are named), sent at once without a uuid.
pub(in crate::master) fn reconcile(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    reconcile: Reconcile,
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
    for (task, agent) in reconcile.tasks {
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
                status.agent_id = agent;
                status.message = Some("reconciliation: task is unknown to the master".into());
                status
            }
        };
        answers.push(status);
    }
    for mut status in answers {
        status.reason = Some(Reason::Reconciliation);
        core.emit(fw, Event::Update(status));
    }
    Ok(())
}
