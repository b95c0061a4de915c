//! The events a framework receives, as plain Rust types.

use std::time::Duration;

use crate::error::ProtocolError;
use crate::offer::{InverseOffer, Offer};
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
    /// Requests to give resources back.
    InverseOffers(Vec<InverseOffer>),
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

/// A wire event decoded: either something for the framework, or a heartbeat.
pub(crate) enum Decoded {
    Event(Event),
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
            Event::InverseOffers(
                offers
                    .inverse_offers
                    .into_iter()
                    .map(InverseOffer::from_pb)
                    .collect::<Result<_, _>>()?,
            )
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
