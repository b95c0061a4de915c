//! Revocation notices on the wire: inverse offers that name tasks (the
//! corral extension `revoked_task_ids`).

use std::collections::BTreeSet;
use std::time::Duration;

use corral_types::{AgentId, FrameworkId, OfferId, ProtocolError, RevocationNotice, TaskId};

use super::ids::IdPb;
use super::resources::ResourcesPb;
use crate::pb;

/// [`RevocationNotice`] on the wire.
pub trait RevocationNoticePb: Sized {
    /// True when `offer`, as it came on the wire, is a revocation notice
    /// (it names tasks) rather than a maintenance inverse offer.
    fn is_notice(offer: &pb::InverseOffer) -> bool;
    /// Reads a notice from the wire, rejecting malformed ones: no tasks
    /// named (that is a maintenance inverse offer), an empty task id, no
    /// agent, a negative deadline, malformed resources, or resources that
    /// are not revocable. A task named twice is kept once. Notices carry
    /// no duration; one sent is ignored.
    fn from_pb(offer: pb::InverseOffer) -> Result<Self, ProtocolError>;
    /// The wire form: an inverse offer from `framework` naming the tasks
    /// (what a master sends).
    fn to_pb(&self, framework: &FrameworkId) -> pb::InverseOffer;
}

// Hidden from rustdoc: it would be listed on the plain type\'s page in
// `corral`, whose API names no wire type.
#[doc(hidden)]
impl RevocationNoticePb for RevocationNotice {
    fn is_notice(offer: &pb::InverseOffer) -> bool {
        !offer.revoked_task_ids.is_empty()
    }

    fn from_pb(offer: pb::InverseOffer) -> Result<RevocationNotice, ProtocolError> {
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
        let resources = corral_types::Resources::from_pb(&offer.resources)
            .map_err(|e| ProtocolError::new(WHAT, format!("{id}: {e}")))?;
        if let Some(regular) = resources.iter().find(|r| !r.revocable) {
            return Err(ProtocolError::new(
                WHAT,
                format!("{id} names regular (non-revocable) resources: {regular}"),
            ));
        }
        Ok(RevocationNotice::new(
            id, agent_id, tasks, resources, deadline,
        ))
    }

    fn to_pb(&self, framework: &FrameworkId) -> pb::InverseOffer {
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
            revoked_task_ids: self.tasks.iter().map(IdPb::to_pb).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use corral_types::{FrameworkId, Resources, Role};

    use super::*;

    fn lent() -> Resources {
        Resources::new()
            .with_cpus(2.0)
            .with_mem(512.0)
            .allocated_to(&Role::from("batch"))
            .revocable()
    }

    fn notice() -> RevocationNotice {
        RevocationNotice::new(
            "rev-1",
            "agent-1",
            ["t1".into(), "t2".into()],
            lent(),
            Duration::from_secs(30),
        )
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
}
