//! Revocation notices: the master taking back revocable resources.
//!
//! When a role leaves resources idle, the master may lend them to other
//! roles as *revocable* resources (see [`Offer::revocable`]). When their
//! owner needs them back, the master sends each framework running tasks on
//! them a [`RevocationNotice`]: which tasks it will take, on which agent, the
//! resources they hold, and the deadline. The framework then either
//!
//! - **releases** them (`corral::Driver::release`): it kills the tasks now, each
//!   with its own kill policy's grace period, and tells the master so; the
//!   owner gets its resources back as soon as the tasks have cleaned up; or
//! - **declines** (`corral::Driver::decline_revocation`): it keeps the tasks
//!   running until the deadline, when the master kills whatever is left
//!   (again with each task's grace period).
//!
//! Either way, once every task named has ended the master withdraws the
//! notice (an inverse offer rescinded, see
//! `corral::Scheduler::inverse_offer_rescinded`). Notices reach
//! `corral::Scheduler::revocation`, one call per notice (the copies the master
//! sends again when the framework resubscribes are hidden until it
//! withdraws the notice); its default releases.
//!
//! On the wire a notice is an `InverseOffer` whose corral extension
//! `revoked_task_ids` is non-empty; maintenance inverse offers (which name
//! no tasks) stay [`InverseOffer`]s.
//!
//! [`Offer::revocable`]: crate::Offer::revocable
//! [`InverseOffer`]: crate::InverseOffer

use std::time::Duration;

use crate::resources::Resources;
use crate::{AgentId, OfferId, TaskId};

/// The master will take back revocable resources: the tasks named here are
/// killed at `deadline` unless the framework releases them first.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RevocationNotice {
    /// The notice's id (an inverse offer id), used to release or decline it.
    pub id: OfferId,
    /// The agent the tasks run on.
    pub agent_id: AgentId,
    /// The revocable tasks the master will take, in the order it named
    /// them, each once.
    pub tasks: Vec<TaskId>,
    /// The revocable resources those tasks hold, as allocated (each entry
    /// marked revocable and carrying the role it was allocated to).
    pub resources: Resources,
    /// When the master kills what is left, on the master's clock: time since
    /// the master started, the clock of [`TaskStatus::timestamp`] (there in
    /// seconds). See [`RevocationNotice::time_left`].
    ///
    /// [`TaskStatus::timestamp`]: crate::TaskStatus::timestamp
    pub deadline: Duration,
}

impl RevocationNotice {
    /// A notice `id` taking `tasks` (holding `resources`) on `agent` at
    /// `deadline` on the master's clock.
    pub fn new(
        id: impl Into<OfferId>,
        agent: impl Into<AgentId>,
        tasks: impl IntoIterator<Item = TaskId>,
        resources: Resources,
        deadline: Duration,
    ) -> Self {
        RevocationNotice {
            id: id.into(),
            agent_id: agent.into(),
            tasks: tasks.into_iter().collect(),
            resources,
            deadline,
        }
    }

    /// How long the tasks have left when the master's clock reads
    /// `master_now` (e.g. the timestamp of a recent status update, as a
    /// `Duration`); zero once the deadline has passed.
    pub fn time_left(&self, master_now: Duration) -> Duration {
        self.deadline.saturating_sub(master_now)
    }

    /// True when `task` is one of the tasks the notice takes.
    pub fn takes(&self, task: &TaskId) -> bool {
        self.tasks.contains(task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    fn lent() -> Resources {
        Resources::new()
            .with_cpus(2.0)
            .with_mem(512.0)
            .allocated_to(&Role::from("batch"))
            .revocable()
    }

    fn notice() -> RevocationNotice {
        RevocationNotice {
            id: "rev-1".into(),
            agent_id: "agent-1".into(),
            tasks: vec!["t1".into(), "t2".into()],
            resources: lent(),
            deadline: Duration::from_secs(30),
        }
    }

    #[test]
    fn time_left_counts_down_on_the_master_clock_and_stops_at_zero() {
        let n = notice();
        assert_eq!(
            n.time_left(Duration::from_secs(10)),
            Duration::from_secs(20)
        );
        assert_eq!(n.time_left(Duration::from_secs(40)), Duration::ZERO);
    }
}
