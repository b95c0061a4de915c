//! The events a framework receives, as plain Rust types, and their
//! decoding from the wire.
//!
//! Most wire events become one [`Event`]. An INVERSE_OFFERS event is split:
//! each revocation notice in it (an inverse offer naming tasks) becomes its
//! own [`Event::Revocation`], and each run of maintenance inverse offers
//! between them one [`Event::InverseOffers`], in the order the master sent
//! them. A malformed inverse offer is logged and dropped on its own; the
//! rest of the event still reaches the framework.

use std::time::Duration;

use crate::error::ProtocolError;
use crate::offer::{InverseOffer, Offer};
use crate::revocation::RevocationNotice;
use crate::task::TaskStatus;
use crate::{pb, AgentId, ExecutorId, FrameworkId, OfferId};

/// The master accepted the subscription.
#[derive(Clone, Debug, PartialEq)]
pub struct Subscribed {
    /// The framework's id (the same one on every resubscription).
    pub framework_id: FrameworkId,
    /// How often the master sends heartbeats.
    pub heartbeat_interval: Duration,
    /// True when this is a resubscription after a disconnection.
    pub resubscribed: bool,
}

/// An agent or executor was lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The agent that was lost, or that ran the executor.
    pub agent_id: Option<AgentId>,
    /// The executor that exited, if it is an executor failure.
    pub executor_id: Option<ExecutorId>,
    /// The executor's exit status.
    pub status: Option<i32>,
}

/// Why the runtime lost its connection to the master.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disconnect {
    /// The event stream ended or broke.
    StreamClosed(String),
    /// No event (not even a heartbeat) within the allowed silence.
    MasterSilent(Duration),
}

/// One event from the master, as handed to a [`Scheduler`](crate::Scheduler)
/// method or yielded by an [`EventStream`](crate::EventStream).
#[derive(Clone, Debug, PartialEq)]
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
}

/// A wire event decoded: something for the framework, or a heartbeat.
pub(crate) enum Decoded {
    Event(Event),
    /// One wire event that is several for the framework (INVERSE_OFFERS),
    /// to be dispatched in order; possibly none, if all were malformed.
    Events(Vec<Event>),
    Heartbeat,
}

pub(crate) fn decode(event: pb::Event) -> Result<Decoded, ProtocolError> {
    use pb::event::Type;
    let missing = |what: &'static str| ProtocolError::new(what, "the event's payload is missing");
    let kind = Type::try_from(event.r#type.unwrap_or(0)).unwrap_or(Type::Unknown);
    Ok(Decoded::Event(match kind {
        Type::Heartbeat => return Ok(Decoded::Heartbeat),
        Type::Subscribed => {
            let s = event.subscribed.ok_or_else(|| missing("SUBSCRIBED"))?;
            let secs = s.heartbeat_interval_seconds.unwrap_or(15.0);
            let secs = if secs.is_finite() && secs > 0.0 {
                secs
            } else {
                15.0
            };
            Event::Subscribed(Subscribed {
                framework_id: s.framework_id.into(),
                heartbeat_interval: Duration::from_secs_f64(secs),
                resubscribed: false,
            })
        }
        Type::Offers => {
            let offers = event.offers.ok_or_else(|| missing("OFFERS"))?.offers;
            Event::Offers(
                offers
                    .into_iter()
                    .map(Offer::from_pb)
                    .collect::<Result<_, _>>()?,
            )
        }
        Type::InverseOffers => {
            let offers = event
                .inverse_offers
                .ok_or_else(|| missing("INVERSE_OFFERS"))?;
            return Ok(Decoded::Events(split_inverse_offers(offers.inverse_offers)));
        }
        Type::Rescind => Event::Rescinded(
            event
                .rescind
                .ok_or_else(|| missing("RESCIND"))?
                .offer_id
                .into(),
        ),
        Type::RescindInverseOffer => Event::InverseOfferRescinded(
            event
                .rescind_inverse_offer
                .ok_or_else(|| missing("RESCIND_INVERSE_OFFER"))?
                .inverse_offer_id
                .into(),
        ),
        Type::Update => Event::Update(TaskStatus::from_pb(
            event.update.ok_or_else(|| missing("UPDATE"))?.status,
        )?),
        Type::Message => {
            let m = event.message.ok_or_else(|| missing("MESSAGE"))?;
            Event::Message {
                agent_id: m.agent_id.into(),
                executor_id: m.executor_id.into(),
                data: m.data,
            }
        }
        Type::Failure => {
            let f = event.failure.ok_or_else(|| missing("FAILURE"))?;
            Event::Failure(Failure {
                agent_id: f.agent_id.map(Into::into),
                executor_id: f.executor_id.map(Into::into),
                status: f.status,
            })
        }
        Type::Error => Event::Error(event.error.ok_or_else(|| missing("ERROR"))?.message),
        Type::Unknown => return Err(ProtocolError::new("event", "unknown event type")),
    }))
}

/// Splits an INVERSE_OFFERS event: each revocation notice is an event of
/// its own, each run of maintenance inverse offers between them one event,
/// in wire order. Malformed items are logged and left out.
fn split_inverse_offers(offers: Vec<pb::InverseOffer>) -> Vec<Event> {
    let mut events = Vec::new();
    let mut maintenance = Vec::new();
    for offer in offers {
        if RevocationNotice::is_notice(&offer) {
            match RevocationNotice::from_pb(offer) {
                Ok(notice) => {
                    if !maintenance.is_empty() {
                        events.push(Event::InverseOffers(std::mem::take(&mut maintenance)));
                    }
                    events.push(Event::Revocation(notice));
                }
                Err(e) => tracing::warn!(error = %e, "ignoring a malformed revocation notice"),
            }
        } else {
            match InverseOffer::from_pb(offer) {
                Ok(offer) => maintenance.push(offer),
                Err(e) => tracing::warn!(error = %e, "ignoring a malformed inverse offer"),
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
    use crate::{FrameworkId, Resources, Role};

    fn notice(id: &str) -> RevocationNotice {
        RevocationNotice {
            id: id.into(),
            agent_id: "agent-1".into(),
            tasks: vec![format!("task-of-{id}").into()],
            resources: Resources::new()
                .with_cpus(1.0)
                .allocated_to(&Role::from("batch"))
                .revocable(),
            deadline: Duration::from_secs(60),
        }
    }

    fn maintenance(id: &str) -> pb::InverseOffer {
        pb::InverseOffer {
            id: pb::OfferId { value: id.into() },
            framework_id: pb::FrameworkId {
                value: "fw-1".into(),
            },
            agent_id: Some(pb::AgentId {
                value: "agent-2".into(),
            }),
            unavailability: pb::Unavailability {
                start: pb::TimeInfo {
                    nanoseconds: 5_000_000_000,
                },
                duration: Some(pb::DurationInfo {
                    nanoseconds: 60_000_000_000,
                }),
            },
            ..Default::default()
        }
    }

    fn inverse_offers_event(offers: Vec<pb::InverseOffer>) -> pb::Event {
        let mut event = pb::Event {
            inverse_offers: Some(pb::event::InverseOffers {
                inverse_offers: offers,
            }),
            ..Default::default()
        };
        event.set_type(pb::event::Type::InverseOffers);
        event
    }

    fn decode_all(event: pb::Event) -> Vec<Event> {
        match decode(event) {
            Ok(Decoded::Events(events)) => events,
            Ok(Decoded::Event(event)) => vec![event],
            Ok(Decoded::Heartbeat) => panic!("not a heartbeat"),
            Err(e) => panic!("{e}"),
        }
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
        let fw = FrameworkId::from("fw-1");
        let events = decode_all(inverse_offers_event(vec![
            maintenance("m1"),
            maintenance("m2"),
            notice("r1").to_pb(&fw),
            notice("r2").to_pb(&fw),
            maintenance("m3"),
        ]));
        let shape: Vec<Vec<&str>> = events.iter().map(ids).collect();
        assert_eq!(
            shape,
            vec![vec!["m1", "m2"], vec!["r1"], vec!["r2"], vec!["m3"]]
        );
        assert_eq!(events[1], Event::Revocation(notice("r1")));
        let Event::InverseOffers(first) = &events[0] else {
            unreachable!()
        };
        assert_eq!(first[0].unavailability.start, Duration::from_secs(5));
        assert!(
            first[0].resources.is_empty(),
            "maintenance: the whole agent"
        );
    }

    #[test]
    fn a_malformed_notice_is_left_out_and_the_rest_kept() {
        let fw = FrameworkId::from("fw-1");
        let mut bad = notice("bad").to_pb(&fw);
        bad.agent_id = None;
        let events = decode_all(inverse_offers_event(vec![
            bad,
            maintenance("m1"),
            notice("r1").to_pb(&fw),
        ]));
        let shape: Vec<Vec<&str>> = events.iter().map(ids).collect();
        assert_eq!(shape, vec![vec!["m1"], vec!["r1"]]);
        let mut bad = notice("bad").to_pb(&fw);
        bad.resources = Resources::new().with_cpus(1.0).to_pb();
        assert!(decode_all(inverse_offers_event(vec![bad])).is_empty());
    }
}
