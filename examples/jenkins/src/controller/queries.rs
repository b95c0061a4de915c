//! Copies of the controller's state for the outside (the remote API).

use super::Controller;
use crate::pool::AgentState;
use crate::queue::BuildState;
use crate::view::{AgentView, BuildView, JobView, QueueView, Snapshot};

impl Controller {
    /// A copy of the state, without the logs.
    pub fn snapshot(&self) -> Snapshot {
        let jobs = self
            .file
            .jobs
            .iter()
            .map(|j| JobView {
                name: j.name.clone(),
                label: j.label.clone(),
                next_number: self.builds.next_number(&j.name),
                parameters: j.parameters.clone(),
            })
            .collect();
        let builds = self
            .builds
            .all()
            .map(|b| BuildView {
                id: b.id.clone(),
                queue_id: b.queue_id,
                result: match b.state {
                    BuildState::Done(r) => Some(r),
                    _ => None,
                },
                building: matches!(b.state, BuildState::Running { .. }),
                queued: b.state == BuildState::Queued,
                duration_ms: u64::try_from(b.duration.as_millis()).unwrap_or(u64::MAX),
                queued_epoch_ms: b.queued_epoch_ms,
                started_epoch_ms: b.started_epoch_ms,
                agent: b.agents.last().cloned(),
                requeued: b.requeued,
            })
            .collect();
        let queue = self
            .builds
            .queued()
            .map(|b| QueueView {
                queue_id: b.queue_id,
                build: b.id.clone(),
                label: b.label.clone(),
                since_epoch_ms: b.queued_epoch_ms,
                requeued: b.requeued > 0,
            })
            .collect();
        let agents = self
            .pool
            .all()
            .map(|a| AgentView {
                name: a.task.to_string(),
                label: a.label.clone(),
                idle: matches!(a.state, AgentState::Idle { .. }),
                launching: a.state == AgentState::Launching,
                build: match &a.state {
                    AgentState::Busy(b) => Some(b.clone()),
                    _ => None,
                },
                revocable: a.revocable,
            })
            .collect();
        Snapshot {
            jobs,
            builds,
            queue,
            agents,
        }
    }
}
