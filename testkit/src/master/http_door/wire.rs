//! The door's wire: Mesos v1 bodies to the master's `corral.v1` messages
//! and back. The two protocols share field numbers (checked field by field
//! in corral-mesos), so a message crosses by re-encoding; the one field
//! that differs, `InverseOffer.url` (a string in corral.v1, a `URL`
//! message in Mesos), is carried across by hand.

use bytes::Bytes;
use corral_mesos::convert::{shape_for_capabilities, url_from_string, OfferShape};
use corral_mesos::json::{self, JsonError};
use corral_mesos::pb::scheduler as mpb;
use corral_mesos::recordio;
use corral_proto::pb;
use prost::Message;

/// The body encodings of the scheduler API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Media {
    /// `application/json`, stout's mapping.
    Json,
    /// `application/x-protobuf`.
    Protobuf,
}

impl Media {
    /// The exact media type.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Media::Json => corral_mesos::JSON,
            Media::Protobuf => corral_mesos::PROTOBUF,
        }
    }

    /// The media type named exactly `text`, as Mesos compares it.
    pub(super) fn exactly(text: &str) -> Option<Self> {
        match text {
            corral_mesos::JSON => Some(Media::Json),
            corral_mesos::PROTOBUF => Some(Media::Protobuf),
            _ => None,
        }
    }
}

/// Why a request body is refused (400).
#[derive(Debug, thiserror::Error)]
pub(super) enum BodyError {
    /// Not a Mesos Call in JSON.
    #[error("failed to parse body into Call: {0}")]
    Json(#[from] JsonError),
    /// Not a Mesos Call in protobuf, or not one the master's protocol holds.
    #[error("failed to parse body into Call: {0}")]
    Protobuf(#[from] prost::DecodeError),
}

/// Why an event cannot be written (the stream ends).
#[derive(Debug, thiserror::Error)]
pub(super) enum EventError {
    /// The event does not decode as a Mesos event.
    #[error("event does not re-encode as a Mesos event: {0}")]
    Transcode(#[from] prost::DecodeError),
    /// The event has no JSON form.
    #[error("event has no JSON form: {0}")]
    Json(#[from] JsonError),
}

fn transcode<A: Message, B: Message + Default>(a: &A) -> Result<B, prost::DecodeError> {
    B::decode(a.encode_to_vec().as_slice())
}

/// Reads a request body as a Mesos call.
pub(super) fn read_call(media: Media, body: &[u8]) -> Result<mpb::Call, BodyError> {
    Ok(match media {
        Media::Json => json::call_from_json(body)?,
        Media::Protobuf => mpb::Call::decode(body)?,
    })
}

/// The master's form of a Mesos call.
pub(super) fn to_master(call: &mpb::Call) -> Result<pb::Call, BodyError> {
    Ok(transcode(call)?)
}

/// The shape of offers for the framework subscribing with `call`.
pub(super) fn shape_of(call: &mpb::Call) -> OfferShape {
    call.subscribe
        .as_ref()
        .map(|s| OfferShape::of(&s.framework_info))
        .unwrap_or_default()
}

/// The shape of offers for the framework once `call` (an
/// UPDATE_FRAMEWORK) has succeeded.
pub(super) fn update_shape_of(call: &mpb::Call) -> Option<OfferShape> {
    call.update_framework
        .as_ref()
        .map(|u| OfferShape::of(&u.framework_info))
}

/// One event as a RecordIO record in `media`, shaped for the framework.
pub(super) fn write_event(
    event: &pb::Event,
    media: Media,
    shape: OfferShape,
) -> Result<Bytes, EventError> {
    let mut event = event.clone();
    let urls: Vec<Option<String>> = match event.inverse_offers.as_mut() {
        Some(list) => list
            .inverse_offers
            .iter_mut()
            .map(|o| o.url.take())
            .collect(),
        None => Vec::new(),
    };
    let mut out: mpb::Event = transcode(&event)?;
    if let Some(list) = out.inverse_offers.as_mut() {
        for (offer, url) in list.inverse_offers.iter_mut().zip(urls) {
            offer.url = url.as_deref().and_then(url_from_string);
        }
    }
    shape_for_capabilities(&mut out, shape);
    let data = match media {
        Media::Json => json::event_to_json(&out)?.into_bytes(),
        Media::Protobuf => out.encode_to_vec(),
    };
    Ok(recordio::encode(&data))
}
