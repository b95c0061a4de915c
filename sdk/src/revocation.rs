//! Revocation notices: the master taking back revocable resources.
//!
//! When a role leaves resources idle, the master may lend them to other
//! roles as *revocable* resources (see [`Offer::revocable`]). When their
//! owner needs them back, the master sends each framework running tasks on
//! them a [`RevocationNotice`]: which tasks it will take, on which agent, the
//! resources they hold, and the deadline. The framework then either
//!
//! - **releases** them ([`Driver::release`]): it kills the tasks now, each
//!   with its own kill policy's grace period, and tells the master so; the
//!   owner gets its resources back as soon as the tasks have cleaned up; or
//! - **declines** ([`Driver::decline_revocation`]): it keeps the tasks
//!   running until the deadline, when the master kills whatever is left
//!   (again with each task's grace period).
//!
//! Either way, once every task named has ended the master withdraws the
//! notice (an inverse offer rescinded, see
//! [`Scheduler::inverse_offer_rescinded`]). Notices reach
//! [`Scheduler::revocation`], one call per notice (the copies the master
//! sends again when the framework resubscribes are hidden until it
//! withdraws the notice); its default releases.
//!
//! On the wire a notice is an `InverseOffer` whose corral extension
//! `revoked_task_ids` is non-empty; maintenance inverse offers (which name
//! no tasks) stay [`InverseOffer`]s.
//!
//! [`Offer::revocable`]: crate::Offer::revocable
//! [`Driver::release`]: crate::Driver::release
//! [`Driver::decline_revocation`]: crate::Driver::decline_revocation
//! [`Scheduler::revocation`]: crate::Scheduler::revocation
//! [`Scheduler::inverse_offer_rescinded`]: crate::Scheduler::inverse_offer_rescinded
//! [`InverseOffer`]: crate::InverseOffer

use std::collections::BTreeSet;
use std::time::Duration;

use crate::error::ProtocolError;
use crate::resources::Resources;
use crate::{pb, AgentId, OfferId, TaskId};

/// The master will take back revocable resources: the tasks named here are
/// killed at `deadline` unless the framework releases them first.
#[derive(Clone, Debug, PartialEq)]
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
    /// True when `offer`, as it came on the wire, is a revocation notice
    /// (it names tasks) rather than a maintenance inverse offer.
    pub fn is_notice(offer: &pb::InverseOffer) -> bool {
        !offer.revoked_task_ids.is_empty()
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

    /// Reads a notice from the wire, rejecting malformed ones: no tasks
    /// named (that is a maintenance inverse offer), an empty task id, no
    /// agent, a negative deadline, malformed resources, or resources that
    /// are not revocable. A task named twice is kept once. Notices carry
    /// no duration; one sent is ignored.
    pub fn from_pb(offer: pb::InverseOffer) -> Result<RevocationNotice, ProtocolError> {
        const WHAT: &str = "revocation notice";
        let id = OfferId::from(offer.id);
        if offer.revoked_task_ids.is_empty() {
            return Err(ProtocolError::new(
                WHAT,
                format!("{id} names no tasks (that is a maintenance inverse offer)"),
            ));
        }
        let agent_id = match offer.agent_id {
            Some(agent) if !agent.value.is_empty() => AgentId::from(agent),
            _ => return Err(ProtocolError::new(WHAT, format!("{id} has no agent id"))),
        };
        let mut seen = BTreeSet::new();
        let mut tasks = Vec::with_capacity(offer.revoked_task_ids.len());
        for task in offer.revoked_task_ids {
            if task.value.is_empty() {
                return Err(ProtocolError::new(
                    WHAT,
                    format!("{id} names an empty task id"),
                ));
            }
            let task = TaskId::from(task);
            if seen.insert(task.clone()) {
                tasks.push(task);
            }
        }
        let start = offer.unavailability.start.nanoseconds;
        let deadline = u64::try_from(start)
            .map(Duration::from_nanos)
            .map_err(|_| {
                ProtocolError::new(WHAT, format!("{id} has a negative deadline ({start} ns)"))
            })?;
        let resources = Resources::from_pb(&offer.resources)
            .map_err(|e| ProtocolError::new(WHAT, format!("{id}: {e}")))?;
        if let Some(regular) = resources.iter().find(|r| !r.revocable) {
            return Err(ProtocolError::new(
                WHAT,
                format!("{id} names regular (non-revocable) resources: {regular}"),
            ));
        }
        Ok(RevocationNotice {
            id,
            agent_id,
            tasks,
            resources,
            deadline,
        })
    }

    /// The wire form: an inverse offer from `framework` naming the tasks
    /// (what a master sends; used by masters and tests).
    pub fn to_pb(&self, framework: &crate::FrameworkId) -> pb::InverseOffer {
        pb::InverseOffer {
            id: self.id.to_pb(),
            url: None,
            framework_id: framework.to_pb(),
            agent_id: Some(self.agent_id.to_pb()),
            unavailability: pb::Unavailability {
                start: pb::TimeInfo {
                    nanoseconds: i64::try_from(self.deadline.as_nanos()).unwrap_or(i64::MAX),
                },
                duration: None,
            },
            resources: self.resources.to_pb(),
            revoked_task_ids: self.tasks.iter().map(TaskId::to_pb).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FrameworkId, Role};

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

    fn wire() -> pb::InverseOffer {
        notice().to_pb(&FrameworkId::from("fw-1"))
    }

    #[test]
    fn a_notice_is_read_with_its_deadline_tasks_and_resources() {
        let mut offer = wire();
        offer
            .revoked_task_ids
            .push(pb::TaskId { value: "t1".into() });
        let read = RevocationNotice::from_pb(offer).unwrap();
        assert_eq!(read, notice(), "the repeated t1 is kept once, in order");
        assert!(read.resources.iter().all(|r| r.revocable));
        assert_eq!(read.resources.cpus(), 2.0);
        assert!(read.takes(&"t2".into()));
        assert!(!read.takes(&"t3".into()));
    }

    #[test]
    fn a_notice_without_an_agent_is_a_protocol_error() {
        let mut offer = wire();
        offer.agent_id = None;
        let err = RevocationNotice::from_pb(offer).unwrap_err();
        assert_eq!(err.what, "revocation notice");
        assert!(err.why.contains("no agent"), "{err}");
        let mut offer = wire();
        offer.agent_id = Some(pb::AgentId { value: "".into() });
        assert!(RevocationNotice::from_pb(offer).is_err());
    }

    #[test]
    fn a_notice_with_regular_resources_is_a_protocol_error() {
        let mut offer = wire();
        offer
            .resources
            .extend(Resources::new().with_cpus(1.0).to_pb());
        let err = RevocationNotice::from_pb(offer).unwrap_err();
        assert!(err.why.contains("non-revocable"), "{err}");
    }

    #[test]
    fn other_malformed_notices_are_protocol_errors() {
        let mut negative = wire();
        negative.unavailability.start.nanoseconds = -1;
        let mut empty_task = wire();
        empty_task
            .revoked_task_ids
            .push(pb::TaskId { value: "".into() });
        let mut bad_resource = wire();
        bad_resource.resources[0].scalar = None;
        let mut no_tasks = wire();
        no_tasks.revoked_task_ids.clear();
        for offer in [negative, empty_task, bad_resource, no_tasks] {
            assert!(RevocationNotice::from_pb(offer).is_err());
        }
    }

    #[test]
    fn only_inverse_offers_naming_tasks_are_notices() {
        assert!(RevocationNotice::is_notice(&wire()));
        let mut maintenance = wire();
        maintenance.revoked_task_ids.clear();
        assert!(!RevocationNotice::is_notice(&maintenance));
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
