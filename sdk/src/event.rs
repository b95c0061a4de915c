//! The events a framework receives, as plain Rust types.
//!
//! Most master events become one [`Event`]. An INVERSE_OFFERS event is
//! split: each revocation notice in it (an inverse offer naming tasks)
//! becomes its own [`Event::Revocation`], and each run of maintenance
//! inverse offers between them one [`Event::InverseOffers`], in the order
//! the master sent them. A malformed item is logged and dropped on its own;
//! the rest of the event still reaches the framework (a malformed offer
//! that has a readable id is declined).

use std::time::Duration;

pub use corral_types::{Failure, Subscribed};

use crate::{
    AgentId, ExecutorId, InverseItem, InverseOffer, Offer, OfferId, RevocationNotice, TaskStatus,
};

/// Why the runtime lost its connection to the master.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Disconnect {
    /// The event stream ended or broke.
    StreamClosed(String),
    /// No event (not even a heartbeat) within the allowed silence.
    MasterSilent(Duration),
}

/// One event from the master, as handed to a [`Scheduler`](crate::Scheduler)
/// method or yielded by an [`EventStream`](crate::EventStream).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// Subscribed (or resubscribed).
    Subscribed(Subscribed),
    /// New offers.
    Offers(Vec<Offer>),
    /// Maintenance inverse offers: requests to vacate agents.
    InverseOffers(Vec<InverseOffer>),
    /// The master will take back revocable resources: the notice names the
    /// tasks and the deadline. One event per notice: the copies the master
    /// sends again on resubscription are hidden, as for
    /// [`Scheduler::revocation`](crate::Scheduler::revocation). Answer it with
    /// [`Driver::release`](crate::Driver::release) or
    /// [`Driver::decline_revocation`](crate::Driver::decline_revocation);
    /// an unanswered notice is taken at its deadline.
    Revocation(RevocationNotice),
    /// An offer was withdrawn; it can no longer be used.
    Rescinded(OfferId),
    /// An inverse offer was withdrawn.
    InverseOfferRescinded(OfferId),
    /// A task changed state.
    Update(TaskStatus),
    /// An executor sent the framework a message.
    Message {
        /// The executor's agent.
        agent_id: AgentId,
        /// The executor.
        executor_id: ExecutorId,
        /// The message.
        data: Vec<u8>,
    },
    /// An agent or executor was lost.
    Failure(Failure),
    /// The master reports an unrecoverable error for this framework.
    Error(String),
    /// The connection to the master was lost; the runtime is reconnecting.
    Disconnected(Disconnect),
    /// A timer set with [`Driver::wake_after`](crate::Driver::wake_after)
    /// fired: the tag it was set with.
    Timer(u64),
}

/// Splits an INVERSE_OFFERS event: each revocation notice is an event of
/// its own, each run of maintenance inverse offers between them one event,
/// in wire order. Malformed items are logged and left out.
pub(crate) fn split_inverse_offers(items: Vec<InverseItem>) -> Vec<Event> {
    let mut events = Vec::new();
    let mut maintenance = Vec::new();
    for item in items {
        match item {
            InverseItem::Revocation(notice) => {
                if !maintenance.is_empty() {
                    events.push(Event::InverseOffers(std::mem::take(&mut maintenance)));
                }
                events.push(Event::Revocation(notice));
            }
            InverseItem::Maintenance(offer) => maintenance.push(offer),
            InverseItem::Malformed(bad) => {
                tracing::warn!(id = ?bad.id, error = %bad.error, "ignoring a malformed inverse offer");
            }
        }
    }
    if !maintenance.is_empty() {
        events.push(Event::InverseOffers(maintenance));
    }
    events
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{MalformedItem, ProtocolError, Resources, Role, Unavailability};

    fn notice(id: &str) -> RevocationNotice {
        RevocationNotice::new(
            id,
            "agent-1",
            [format!("task-of-{id}").into()],
            Resources::new()
                .with_cpus(1.0)
                .allocated_to(&Role::from("batch"))
                .revocable(),
            Duration::from_secs(60),
        )
    }

    fn maintenance(id: &str) -> InverseItem {
        InverseItem::Maintenance(InverseOffer::new(
            id,
            Some("agent-2".into()),
            Unavailability {
                start: Duration::from_secs(5),
                duration: Some(Duration::from_secs(60)),
            },
            Resources::new(),
        ))
    }

    fn ids(event: &Event) -> Vec<&str> {
        match event {
            Event::InverseOffers(offers) => offers.iter().map(|o| o.id.as_str()).collect(),
            Event::Revocation(n) => vec![n.id.as_str()],
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn inverse_offers_are_split_into_notices_and_maintenance_in_wire_order() {
        let events = split_inverse_offers(vec![
            maintenance("m1"),
            maintenance("m2"),
            InverseItem::Revocation(notice("r1")),
            InverseItem::Revocation(notice("r2")),
            maintenance("m3"),
        ]);
        let shape: Vec<Vec<&str>> = events.iter().map(ids).collect();
        assert_eq!(
            shape,
            vec![vec!["m1", "m2"], vec!["r1"], vec!["r2"], vec!["m3"]]
        );
        assert_eq!(events[1], Event::Revocation(notice("r1")));
    }

    #[test]
    fn a_malformed_notice_is_left_out_and_the_rest_kept() {
        let bad = InverseItem::Malformed(MalformedItem::new(
            Some("bad".into()),
            ProtocolError::new("revocation notice", "no agent"),
        ));
        let events = split_inverse_offers(vec![
            bad.clone(),
            maintenance("m1"),
            InverseItem::Revocation(notice("r1")),
        ]);
        let shape: Vec<Vec<&str>> = events.iter().map(ids).collect();
        assert_eq!(shape, vec![vec!["m1"], vec!["r1"]]);
        assert!(split_inverse_offers(vec![bad]).is_empty());
    }
}
