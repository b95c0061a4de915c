//! The outgoing wire edge: the core's plain [`Event`]s encoded into the
//! scheduler API's `pb::Event`s, at delivery (the driver loop's owners
//! call [`encode`]). Nothing inside the core builds a wire value.

use corral_proto::convert::*;
use std::net::Ipv4Addr;
use std::time::Duration;

use corral_proto::pb;

pub use super::effects::{Event, MasterInfo, Outgoing, StreamId};

fn event(kind: pb::event::Type) -> pb::Event {
    pb::Event {
        r#type: Some(kind as i32),
        ..Default::default()
    }
}

/// `event` as the scheduler API sends it.
pub fn encode(plain: &Event) -> pb::Event {
    match plain {
        Event::Subscribed {
            framework,
            heartbeat,
            master,
        } => pb::Event {
            subscribed: Some(pb::event::Subscribed {
                framework_id: framework.to_pb(),
                heartbeat_interval_seconds: Some(heartbeat.as_secs_f64()),
                master_info: Some(master_info(master)),
            }),
            ..event(pb::event::Type::Subscribed)
        },
        Event::Offers(offers) => pb::Event {
            offers: Some(pb::event::Offers {
                offers: offers.iter().map(OfferPb::to_pb).collect(),
            }),
            ..event(pb::event::Type::Offers)
        },
        Event::InverseOffer { framework, offer } => inverse_offers(pb::InverseOffer {
            id: offer.id.to_pb(),
            url: None,
            framework_id: framework.to_pb(),
            agent_id: offer.agent_id.as_ref().map(IdPb::to_pb),
            unavailability: offer.unavailability.to_pb(),
            resources: offer.resources.to_pb(),
            revoked_task_ids: Vec::new(),
        }),
        Event::Revocation { framework, notice } => inverse_offers(notice.to_pb(framework)),
        Event::Rescind(offer) => pb::Event {
            rescind: Some(pb::event::Rescind {
                offer_id: offer.to_pb(),
            }),
            ..event(pb::event::Type::Rescind)
        },
        Event::RescindInverseOffer(offer) => pb::Event {
            rescind_inverse_offer: Some(pb::event::RescindInverseOffer {
                inverse_offer_id: offer.to_pb(),
            }),
            ..event(pb::event::Type::RescindInverseOffer)
        },
        Event::Update(status) => update(status),
        Event::Heartbeat => event(pb::event::Type::Heartbeat),
        Event::Error(message) => pb::Event {
            error: Some(pb::event::Error {
                message: message.clone(),
            }),
            ..event(pb::event::Type::Error)
        },
    }
}

fn master_info(master: &MasterInfo) -> pb::MasterInfo {
    pb::MasterInfo {
        id: master.id.clone(),
        ip: u32::from(Ipv4Addr::LOCALHOST),
        port: u32::from(master.port),
        hostname: Some(master.hostname.clone()),
        version: Some(master.version.clone()),
    }
}

/// INVERSE_OFFERS with one inverse offer.
fn inverse_offers(offer: pb::InverseOffer) -> pb::Event {
    pb::Event {
        inverse_offers: Some(pb::event::InverseOffers {
            inverse_offers: vec![offer],
        }),
        ..event(pb::event::Type::InverseOffers)
    }
}

/// UPDATE. A task made unreachable by its agent's loss (state
/// UNREACHABLE, reason AGENT_REMOVED) carries its `unreachable_time`: the
/// status' own timestamp, when the master marked it.
fn update(status: &corral::TaskStatus) -> pb::Event {
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
