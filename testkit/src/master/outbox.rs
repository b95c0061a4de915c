//! What the master core hands to its server: events addressed to an event
//! stream, and orders to close a stream. Also the builders of every event
//! the master sends.

use corral_proto::convert::*;
use std::time::Duration;

use corral::{FrameworkId, OfferId};
use corral_proto::pb;

use crate::agent::AgentOrder;

pub use super::books::frameworks::StreamId;

/// One thing for the server to do, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Outgoing {
    /// Send `event` on `stream`.
    Event {
        /// The stream to send it on.
        stream: StreamId,
        /// The event (boxed: events are large).
        event: Box<pb::Event>,
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

fn event(kind: pb::event::Type) -> pb::Event {
    pb::Event {
        r#type: Some(kind as i32),
        ..Default::default()
    }
}

/// SUBSCRIBED.
pub fn subscribed(
    framework: &FrameworkId,
    heartbeat: Duration,
    master: &pb::MasterInfo,
) -> pb::Event {
    pb::Event {
        subscribed: Some(pb::event::Subscribed {
            framework_id: framework.to_pb(),
            heartbeat_interval_seconds: Some(heartbeat.as_secs_f64()),
            master_info: Some(master.clone()),
        }),
        ..event(pb::event::Type::Subscribed)
    }
}

/// OFFERS with every offer of one allocation cycle for one framework.
pub fn offers(offers: Vec<pb::Offer>) -> pb::Event {
    pb::Event {
        offers: Some(pb::event::Offers { offers }),
        ..event(pb::event::Type::Offers)
    }
}

/// RESCIND.
pub fn rescind(offer: &OfferId) -> pb::Event {
    pb::Event {
        rescind: Some(pb::event::Rescind {
            offer_id: offer.to_pb(),
        }),
        ..event(pb::event::Type::Rescind)
    }
}

/// INVERSE_OFFERS with one inverse offer.
pub fn inverse_offers(offer: pb::InverseOffer) -> pb::Event {
    pb::Event {
        inverse_offers: Some(pb::event::InverseOffers {
            inverse_offers: vec![offer],
        }),
        ..event(pb::event::Type::InverseOffers)
    }
}

/// RESCIND_INVERSE_OFFER.
pub fn rescind_inverse_offer(offer: &OfferId) -> pb::Event {
    pb::Event {
        rescind_inverse_offer: Some(pb::event::RescindInverseOffer {
            inverse_offer_id: offer.to_pb(),
        }),
        ..event(pb::event::Type::RescindInverseOffer)
    }
}

/// UPDATE, from the master's plain status. A task made unreachable by
/// its agent's loss (state UNREACHABLE, reason AGENT_REMOVED) carries its
/// `unreachable_time`: the status' own timestamp, when the master marked it.
pub fn update(status: corral::TaskStatus) -> pb::Event {
    let unreachable = status.state == corral::TaskState::Unreachable
        && status.reason == Some(corral::Reason::AgentRemoved);
    let mut status = status.to_pb();
    if unreachable {
        status.unreachable_time = status.timestamp.map(|t| pb::TimeInfo {
            nanoseconds: Duration::from_secs_f64(t.max(0.0))
                .as_nanos()
                .try_into()
                .unwrap_or(i64::MAX),
        });
    }
    pb::Event {
        update: Some(pb::event::Update { status }),
        ..event(pb::event::Type::Update)
    }
}

/// HEARTBEAT.
pub fn heartbeat() -> pb::Event {
    event(pb::event::Type::Heartbeat)
}

/// ERROR.
pub fn error(message: impl Into<String>) -> pb::Event {
    pb::Event {
        error: Some(pb::event::Error {
            message: message.into(),
        }),
        ..event(pb::event::Type::Error)
    }
}
