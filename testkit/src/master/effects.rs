//! The core's one effect list, in plain types: [`Outgoing`] (an event for
//! a stream, an order for a local agent, a stream to end) and [`Event`],
//! what the master tells a framework. The core and its calls and
//! processes build these; the wire form is made at the edge only
//! (`outbox.rs`, [`encode`](super::outbox::encode)), by whoever delivers
//! them (the driver loop's owners).

use std::time::Duration;

use corral::{FrameworkId, InverseOffer, Offer, OfferId, RevocationNotice, TaskStatus};

use crate::agent::AgentOrder;

pub use super::books::frameworks::StreamId;

/// One thing for the core's owner to do, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Outgoing {
    /// Send `event` on `stream`.
    Event {
        /// The stream to send it on.
        stream: StreamId,
        /// The event (boxed: offers are large).
        event: Box<Event>,
    },
    /// Carry out an order on a local agent (launch, kill, stop a
    /// framework's tasks), in order with the events around it.
    Order(Box<AgentOrder>),
    /// End `stream` (after the events already sent on it).
    Close {
        /// The stream to end.
        stream: StreamId,
    },
}

/// Who the master says it is, in SUBSCRIBED.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterInfo {
    /// Its id (a new leader after a failover announces a new one).
    pub id: String,
    /// The port it listens on (0 in memory).
    pub port: u16,
    /// Its host name.
    pub hostname: String,
    /// Its version.
    pub version: String,
}

/// An event for one framework, in plain types.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// SUBSCRIBED: the framework's id, the heartbeat interval, the master.
    Subscribed {
        /// The framework subscribed.
        framework: FrameworkId,
        /// How often the master sends HEARTBEAT.
        heartbeat: Duration,
        /// The master.
        master: MasterInfo,
    },
    /// OFFERS: every offer of one allocation cycle for one framework.
    Offers(Vec<Offer>),
    /// INVERSE_OFFERS with one maintenance inverse offer to `framework`.
    InverseOffer {
        /// Its addressee.
        framework: FrameworkId,
        /// The inverse offer.
        offer: InverseOffer,
    },
    /// INVERSE_OFFERS with one revocation notice to `framework`.
    Revocation {
        /// Its addressee.
        framework: FrameworkId,
        /// The notice.
        notice: RevocationNotice,
    },
    /// RESCIND of an offer.
    Rescind(OfferId),
    /// RESCIND_INVERSE_OFFER (a maintenance inverse offer or a notice).
    RescindInverseOffer(OfferId),
    /// UPDATE: a task's status.
    Update(TaskStatus),
    /// HEARTBEAT.
    Heartbeat,
    /// ERROR: the master will not serve the framework.
    Error(String),
}

impl Event {
    /// The framework a SUBSCRIBED names.
    pub fn subscribed(&self) -> Option<&FrameworkId> {
        match self {
            Event::Subscribed { framework, .. } => Some(framework),
            _ => None,
        }
    }
}
