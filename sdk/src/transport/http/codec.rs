//! Bodies of the HTTP transport: calls encoded as the chosen media type,
//! events decoded from RecordIO records, one record at a time.
//!
//! A record that cannot be read becomes [`MasterEvent::Malformed`] and the
//! stream goes on; in JSON, an OFFERS or INVERSE_OFFERS event is read item
//! by item (in protobuf too, down to the wire: see
//! `corral_mesos::convert::event_from_protobuf`), so one offer that does
//! not fit the protocol does not lose the others (it comes back as a [`MalformedItem`] with its id when the id is
//! readable). Only a broken framing ends the stream.

use corral_mesos::json::{self, JsonError};
use corral_mesos::pb::{self, scheduler};
use corral_types::{InverseItem, MalformedItem, MasterEvent, OfferId, ProtocolError};
use prost::Message;

use super::Encoding;

/// Encodes a Mesos call as the body of a request.
pub(super) fn encode_call(
    call: &scheduler::Call,
    encoding: Encoding,
) -> Result<Vec<u8>, JsonError> {
    Ok(match encoding {
        Encoding::Protobuf => call.encode_to_vec(),
        Encoding::Json => json::call_to_json(call)?.into_bytes(),
    })
}

/// Decodes one record of the event stream.
pub(super) fn decode_event(record: &[u8], encoding: Encoding) -> MasterEvent {
    match encoding {
        Encoding::Protobuf => {
            let event = corral_mesos::convert::event_from_protobuf(record);
            if let MasterEvent::Malformed(e) = &event {
                tracing::warn!(error = %e, "malformed event from the master");
            }
            event
        }
        Encoding::Json => decode_json_event(record),
    }
}

fn malformed(why: String) -> MasterEvent {
    tracing::warn!(%why, "malformed event from the master");
    MasterEvent::Malformed(ProtocolError::new("event", why))
}

/// Reads a JSON event; the items of OFFERS and INVERSE_OFFERS one by one.
fn decode_json_event(record: &[u8]) -> MasterEvent {
    let mut value: serde_json::Value = match serde_json::from_slice(record) {
        Ok(v) => v,
        Err(e) => return malformed(format!("not JSON: {e}")),
    };
    // Take the lists out, read the rest, then each item on its own.
    let mut taken = Vec::new();
    for (payload, list, item) in [
        ("offers", "offers", "mesos.v1.Offer"),
        ("inverse_offers", "inverse_offers", "mesos.v1.InverseOffer"),
    ] {
        if let Some(items) = value
            .get_mut(payload)
            .and_then(|p| p.as_object_mut())
            .and_then(|p| p.remove(list))
        {
            let items = match items {
                serde_json::Value::Array(items) => items,
                single => vec![single],
            };
            taken.push((payload, item, items));
        }
    }
    let mut event: scheduler::Event = match json::from_value(&pb::event_descriptor(), &value) {
        Ok(e) => e,
        Err(e) => return malformed(format!("not a Mesos Event: {e}")),
    };
    let mut bad = Vec::new();
    for (payload, item, items) in taken {
        let desc = pb::message_descriptor(item);
        for json_item in items {
            let id = json_item
                .get("id")
                .and_then(|i| i.get("value"))
                .and_then(|v| v.as_str())
                .map(OfferId::from);
            let read = desc
                .as_ref()
                .ok_or_else(|| ProtocolError::new("event", format!("{item} is not declared")))
                .and_then(|d| {
                    json::dynamic_from_value(d, &json_item)
                        .map_err(|e| ProtocolError::new("offer", e.to_string()))
                });
            let dynamic = match read {
                Ok(d) => d,
                Err(e) => {
                    bad.push(MalformedItem::new(id, e));
                    continue;
                }
            };
            let bytes = dynamic.encode_to_vec();
            let ok = if payload == "offers" {
                pb::v1::Offer::decode(bytes.as_slice()).map(|o| {
                    event
                        .offers
                        .get_or_insert_with(Default::default)
                        .offers
                        .push(o);
                })
            } else {
                pb::v1::InverseOffer::decode(bytes.as_slice()).map(|o| {
                    event
                        .inverse_offers
                        .get_or_insert_with(Default::default)
                        .inverse_offers
                        .push(o);
                })
            };
            if let Err(e) = ok {
                bad.push(MalformedItem::new(
                    id,
                    ProtocolError::new("offer", e.to_string()),
                ));
            }
        }
    }
    let mut decoded = corral_mesos::convert::event_from_mesos(&event);
    if !bad.is_empty() {
        tracing::warn!(
            count = bad.len(),
            "malformed offers in an event from the master"
        );
        match &mut decoded {
            MasterEvent::Offers { malformed, .. } => malformed.extend(bad),
            MasterEvent::InverseOffers(items) => {
                items.extend(bad.into_iter().map(InverseItem::Malformed));
            }
            _ => {}
        }
    }
    decoded
}
