//! Events on the wire, decoded item by item.

use corral_types::{
    Failure, FrameworkId, InverseItem, InverseOffer, MalformedItem, MasterEvent, Offer, OfferId,
    ProtocolError, RevocationNotice, Subscribed, TaskStatus,
};

use super::ids::IdPb;
use super::offer::{OfferPb, UnavailabilityPb};
use super::resources::ResourcesPb;
use super::revocation::RevocationNoticePb;
use super::task::TaskStatusPb;
use crate::pb;
use crate::pb::event::Type;

/// Decodes one wire event. Never fails as a whole and never panics: an
/// event that cannot be read at all is [`MasterEvent::Malformed`]; in
/// OFFERS and INVERSE_OFFERS each item is read on its own, so one bad
/// offer does not lose the others (it comes back as a [`MalformedItem`],
/// with its id when the id is readable). The heartbeat interval of
/// SUBSCRIBED is checked and clamped
/// ([`Subscribed::interval_from_seconds`]).
pub fn event_from_pb(event: pb::Event) -> MasterEvent {
    match decode(event) {
        Ok(e) => e,
        Err(e) => MasterEvent::Malformed(e),
    }
}

fn decode(event: pb::Event) -> Result<MasterEvent, ProtocolError> {
    let missing = |what: &'static str| ProtocolError::new(what, "the event's payload is missing");
    let kind = Type::try_from(event.r#type.unwrap_or(0)).unwrap_or(Type::Unknown);
    Ok(match kind {
        Type::Heartbeat => MasterEvent::Heartbeat,
        Type::Subscribed => {
            let s = event.subscribed.ok_or_else(|| missing("SUBSCRIBED"))?;
            if s.framework_id.value.is_empty() {
                return Err(ProtocolError::new("SUBSCRIBED", "empty framework id"));
            }
            let mut subscribed = Subscribed::new(s.framework_id.value, Default::default());
            subscribed.heartbeat_interval =
                Subscribed::interval_from_seconds(s.heartbeat_interval_seconds);
            MasterEvent::Subscribed(subscribed)
        }
        Type::Offers => {
            let list = event.offers.ok_or_else(|| missing("OFFERS"))?.offers;
            let mut offers = Vec::with_capacity(list.len());
            let mut malformed = Vec::new();
            for offer in list {
                let id = OfferId::from(&offer.id);
                match Offer::from_pb(offer) {
                    Ok(o) => offers.push(o),
                    Err(e) => {
                        let id = (!id.as_str().is_empty()).then_some(id);
                        malformed.push(MalformedItem::new(id, e));
                    }
                }
            }
            MasterEvent::Offers { offers, malformed }
        }
        Type::InverseOffers => {
            let list = event
                .inverse_offers
                .ok_or_else(|| missing("INVERSE_OFFERS"))?
                .inverse_offers;
            MasterEvent::InverseOffers(list.into_iter().map(inverse_item).collect())
        }
        Type::Rescind => MasterEvent::Rescind(
            event
                .rescind
                .ok_or_else(|| missing("RESCIND"))?
                .offer_id
                .into(),
        ),
        Type::RescindInverseOffer => MasterEvent::RescindInverseOffer(
            event
                .rescind_inverse_offer
                .ok_or_else(|| missing("RESCIND_INVERSE_OFFER"))?
                .inverse_offer_id
                .into(),
        ),
        Type::Update => MasterEvent::Update(TaskStatus::from_pb(
            event.update.ok_or_else(|| missing("UPDATE"))?.status,
        )?),
        Type::Message => {
            let m = event.message.ok_or_else(|| missing("MESSAGE"))?;
            MasterEvent::Message {
                agent_id: m.agent_id.into(),
                executor_id: m.executor_id.into(),
                data: m.data,
            }
        }
        Type::Failure => {
            let f = event.failure.ok_or_else(|| missing("FAILURE"))?;
            let mut failure = Failure::agent("");
            failure.agent_id = f.agent_id.map(Into::into);
            failure.executor_id = f.executor_id.map(Into::into);
            failure.status = f.status;
            MasterEvent::Failure(failure)
        }
        Type::Error => MasterEvent::Error(event.error.ok_or_else(|| missing("ERROR"))?.message),
        Type::Unknown => return Err(ProtocolError::new("event", "unknown event type")),
    })
}

fn inverse_item(offer: pb::InverseOffer) -> InverseItem {
    let id = OfferId::from(&offer.id);
    let id = (!id.as_str().is_empty()).then_some(id);
    if RevocationNotice::is_notice(&offer) {
        match RevocationNotice::from_pb(offer) {
            Ok(n) => InverseItem::Revocation(n),
            Err(e) => InverseItem::Malformed(MalformedItem::new(id, e)),
        }
    } else {
        match <InverseOffer as super::offer::InverseOfferPb>::from_pb(offer) {
            Ok(o) => InverseItem::Maintenance(o),
            Err(e) => InverseItem::Malformed(MalformedItem::new(id, e)),
        }
    }
}

fn with_type(kind: Type) -> pb::Event {
    let mut e = pb::Event::default();
    e.set_type(kind);
    e
}

/// Encodes an event as a master sends it to `framework` (for masters and
/// tests). Malformed items and [`MasterEvent::Malformed`] have no wire form:
/// they are left out (the latter becomes an event of unknown type).
pub fn event_to_pb(framework: &FrameworkId, event: &MasterEvent) -> pb::Event {
    match event {
        MasterEvent::Subscribed(s) => {
            let mut e = with_type(Type::Subscribed);
            e.subscribed = Some(pb::event::Subscribed {
                framework_id: s.framework_id.to_pb(),
                heartbeat_interval_seconds: Some(s.heartbeat_interval.as_secs_f64()),
                master_info: None,
            });
            e
        }
        MasterEvent::Offers { offers, .. } => {
            let mut e = with_type(Type::Offers);
            e.offers = Some(pb::event::Offers {
                offers: offers.iter().map(OfferPb::to_pb).collect(),
            });
            e
        }
        MasterEvent::InverseOffers(items) => {
            let mut e = with_type(Type::InverseOffers);
            e.inverse_offers = Some(pb::event::InverseOffers {
                inverse_offers: items
                    .iter()
                    .filter_map(|item| match item {
                        InverseItem::Revocation(n) => Some(n.to_pb(framework)),
                        InverseItem::Maintenance(o) => Some(pb::InverseOffer {
                            id: o.id.to_pb(),
                            url: None,
                            framework_id: framework.to_pb(),
                            agent_id: o.agent_id.as_ref().map(IdPb::to_pb),
                            unavailability: o.unavailability.to_pb(),
                            resources: o.resources.to_pb(),
                            revoked_task_ids: Vec::new(),
                        }),
                        _ => None,
                    })
                    .collect(),
            });
            e
        }
        MasterEvent::Rescind(id) => {
            let mut e = with_type(Type::Rescind);
            e.rescind = Some(pb::event::Rescind {
                offer_id: id.to_pb(),
            });
            e
        }
        MasterEvent::RescindInverseOffer(id) => {
            let mut e = with_type(Type::RescindInverseOffer);
            e.rescind_inverse_offer = Some(pb::event::RescindInverseOffer {
                inverse_offer_id: id.to_pb(),
            });
            e
        }
        MasterEvent::Update(status) => {
            let mut e = with_type(Type::Update);
            e.update = Some(pb::event::Update {
                status: status.to_pb(),
            });
            e
        }
        MasterEvent::Message {
            agent_id,
            executor_id,
            data,
        } => {
            let mut e = with_type(Type::Message);
            e.message = Some(pb::event::Message {
                agent_id: agent_id.to_pb(),
                executor_id: executor_id.to_pb(),
                data: data.clone(),
            });
            e
        }
        MasterEvent::Failure(f) => {
            let mut e = with_type(Type::Failure);
            e.failure = Some(pb::event::Failure {
                agent_id: f.agent_id.as_ref().map(IdPb::to_pb),
                executor_id: f.executor_id.as_ref().map(IdPb::to_pb),
                status: f.status,
            });
            e
        }
        MasterEvent::Error(message) => {
            let mut e = with_type(Type::Error);
            e.error = Some(pb::event::Error {
                message: message.clone(),
            });
            e
        }
        MasterEvent::Heartbeat => with_type(Type::Heartbeat),
        _ => with_type(Type::Unknown),
    }
}

#[cfg(test)]
mod tests {
    use corral_types::event::{DEFAULT_HEARTBEAT_INTERVAL, MAX_HEARTBEAT_INTERVAL};
    use corral_types::{Resources, Role};

    use super::*;

    fn subscribed(seconds: Option<f64>) -> pb::Event {
        let mut e = with_type(Type::Subscribed);
        e.subscribed = Some(pb::event::Subscribed {
            framework_id: pb::FrameworkId { value: "fw".into() },
            heartbeat_interval_seconds: seconds,
            master_info: None,
        });
        e
    }

    #[test]
    fn a_subscribed_with_a_huge_nan_or_negative_heartbeat_is_read_with_a_capped_interval() {
        for (seconds, want) in [
            (Some(1e20), MAX_HEARTBEAT_INTERVAL),
            (Some(f64::NAN), DEFAULT_HEARTBEAT_INTERVAL),
            (Some(-5.0), DEFAULT_HEARTBEAT_INTERVAL),
            (None, DEFAULT_HEARTBEAT_INTERVAL),
        ] {
            match event_from_pb(subscribed(seconds)) {
                MasterEvent::Subscribed(s) => assert_eq!(s.heartbeat_interval, want, "{seconds:?}"),
                other => panic!("{other:?}"),
            }
        }
        let mut no_id = subscribed(Some(1.0));
        no_id
            .subscribed
            .as_mut()
            .unwrap()
            .framework_id
            .value
            .clear();
        assert!(matches!(event_from_pb(no_id), MasterEvent::Malformed(_)));
    }

    #[test]
    fn one_bad_offer_does_not_lose_the_batch() {
        let role = Role::from("web");
        let good = |id: &str| {
            Offer::new(id, "agent-1", Resources::new().with_cpus(1.0))
                .with_role("web")
                .to_pb()
        };
        let mut bad = good("bad");
        bad.resources[0].scalar = None;
        let mut nameless = good("x");
        nameless.id.value.clear();
        let mut e = with_type(Type::Offers);
        e.offers = Some(pb::event::Offers {
            offers: vec![good("o1"), bad, nameless, good("o2")],
        });
        let MasterEvent::Offers { offers, malformed } = event_from_pb(e) else {
            panic!("offers")
        };
        let ids: Vec<&str> = offers.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, vec!["o1", "o2"]);
        assert!(offers.iter().all(|o| o.role == role));
        let bad_ids: Vec<Option<&str>> = malformed
            .iter()
            .map(|m| m.id.as_ref().map(|i| i.as_str()))
            .collect();
        assert_eq!(bad_ids, vec![Some("bad"), None]);
    }

    #[test]
    fn unknown_or_empty_events_are_malformed_not_errors() {
        assert!(matches!(
            event_from_pb(pb::Event::default()),
            MasterEvent::Malformed(_)
        ));
        assert!(matches!(
            event_from_pb(with_type(Type::Offers)),
            MasterEvent::Malformed(_)
        ));
        let fw = FrameworkId::from("fw");
        let hb = MasterEvent::Heartbeat;
        assert_eq!(event_from_pb(event_to_pb(&fw, &hb)), hb);
    }
}
