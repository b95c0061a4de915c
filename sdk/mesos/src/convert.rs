//! Checked conversions between corral's plain types and the Mesos v1
//! messages, both ways, for Call and Event.
//!
//! corral's own protocol (`corral-proto`) mirrors Mesos v1 field for field
//! (same names, numbers and labels; the test `corral_v1_is_wire_compatible`
//! checks every field both protocols declare), so a conversion here is
//! `corral-proto`'s checked conversion followed by a protobuf re-encoding
//! between the two packages. The checks (ids, roles, resource values,
//! capped durations, item-by-item offers) are therefore exactly the gRPC
//! transport's. The one field whose type differs is `InverseOffer.url`: a
//! `URL` message in Mesos, a string in corral; it is carried across by
//! hand. Fields corral does not model (e.g. `Offer.url`, `Resource.disk`,
//! `MasterInfo.address`) are dropped on the way in; corral's extensions
//! (the revocation notices' task ids) are dropped on the way out.

use corral_proto::convert as corral;
use corral_proto::pb as cpb;
use corral_types::{Call, FrameworkId, MasterEvent, ProtocolError, Subscribe};
use prost::Message;

use crate::pb::scheduler as mpb;
use crate::pb::v1;

/// Why a message could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The message does not decode in the other package (the two
    /// protocols disagree on a field's type).
    #[error("re-encoding between mesos.v1 and corral.v1 failed: {0}")]
    Transcode(#[from] prost::DecodeError),
    /// The message decodes but is not a valid corral message.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

fn transcode<A: Message, B: Message + Default>(a: &A) -> Result<B, prost::DecodeError> {
    B::decode(a.encode_to_vec().as_slice())
}

/// Encodes SUBSCRIBE as a Mesos Call.
pub fn subscribe_to_mesos(subscribe: &Subscribe) -> Result<mpb::Call, ConvertError> {
    Ok(transcode(&corral::subscribe_to_pb(subscribe))?)
}

/// Encodes any call as a Mesos Call, on behalf of `framework`.
pub fn call_to_mesos(
    framework: Option<&FrameworkId>,
    call: &Call,
) -> Result<mpb::Call, ConvertError> {
    Ok(transcode(&corral::call_to_pb(framework, call))?)
}

/// Reads a Mesos Call (for masters): the framework id it names and the
/// call. Call types corral does not model (ACKNOWLEDGE_OPERATION_STATUS,
/// RECONCILE_OPERATIONS, UNKNOWN) are a [`ConvertError::Protocol`].
pub fn call_from_mesos(call: &mpb::Call) -> Result<(Option<FrameworkId>, Call), ConvertError> {
    let wire: cpb::Call = transcode(call)?;
    Ok(corral::call_from_pb(&wire)?)
}

/// Decodes a Mesos Event item by item (never fails as a whole: an event
/// that cannot be read is [`MasterEvent::Malformed`]).
pub fn event_from_mesos(event: &mpb::Event) -> MasterEvent {
    let mut event = event.clone();
    let urls: Vec<Option<String>> = match event.inverse_offers.as_mut() {
        Some(list) => list
            .inverse_offers
            .iter_mut()
            .map(|o| o.url.take().map(|u| url_to_string(&u)))
            .collect(),
        None => Vec::new(),
    };
    let mut wire: cpb::Event = match transcode(&event) {
        Ok(w) => w,
        Err(e) => {
            return MasterEvent::Malformed(ProtocolError::new(
                "event",
                format!("does not decode: {e}"),
            ))
        }
    };
    if let Some(list) = wire.inverse_offers.as_mut() {
        for (offer, url) in list.inverse_offers.iter_mut().zip(urls) {
            offer.url = url;
        }
    }
    corral::event_from_pb(wire)
}

/// Decodes a protobuf-encoded Mesos Event, item by item even at the wire
/// level: when the whole event does not decode, an OFFERS or
/// INVERSE_OFFERS event is read one item at a time, and the items that do
/// not decode come back as malformed (with their id when it is readable).
/// Never fails as a whole.
pub fn event_from_protobuf(bytes: &[u8]) -> MasterEvent {
    let whole = match mpb::Event::decode(bytes) {
        Ok(e) => return event_from_mesos(&e),
        Err(e) => e,
    };
    let malformed_event = || {
        MasterEvent::Malformed(ProtocolError::new(
            "event",
            format!("not a protobuf Event: {whole}"),
        ))
    };
    let Ok(lenient) = crate::pb::lenient::Event::decode(bytes) else {
        return malformed_event();
    };
    let is = |t: mpb::event::Type| lenient.r#type == Some(t as i32);
    let mut event = mpb::Event::default();
    let mut bad = Vec::new();
    if is(mpb::event::Type::Offers) {
        event.set_type(mpb::event::Type::Offers);
        let mut offers = mpb::event::Offers::default();
        for item in lenient.offers.map(|o| o.offers).unwrap_or_default() {
            match v1::Offer::decode(item.as_slice()) {
                Ok(o) => offers.offers.push(o),
                Err(e) => bad.push(malformed_item(&item, &e)),
            }
        }
        event.offers = Some(offers);
    } else if is(mpb::event::Type::InverseOffers) {
        event.set_type(mpb::event::Type::InverseOffers);
        let mut offers = mpb::event::InverseOffers::default();
        for item in lenient
            .inverse_offers
            .map(|o| o.inverse_offers)
            .unwrap_or_default()
        {
            match v1::InverseOffer::decode(item.as_slice()) {
                Ok(o) => offers.inverse_offers.push(o),
                Err(e) => bad.push(malformed_item(&item, &e)),
            }
        }
        event.inverse_offers = Some(offers);
    } else {
        return malformed_event();
    }
    let mut decoded = event_from_mesos(&event);
    match &mut decoded {
        MasterEvent::Offers { malformed, .. } => malformed.extend(bad),
        MasterEvent::InverseOffers(items) => {
            items.extend(bad.into_iter().map(corral_types::InverseItem::Malformed));
        }
        _ => {}
    }
    decoded
}

/// A malformed item, with its id when field 1 holds a readable OfferID.
fn malformed_item(item: &[u8], error: &prost::DecodeError) -> corral_types::MalformedItem {
    let id = crate::pb::lenient::Item::decode(item)
        .ok()
        .and_then(|i| i.id)
        .and_then(|id| v1::OfferId::decode(id.as_slice()).ok())
        .filter(|id| !id.value.is_empty())
        .map(|id| corral_types::OfferId::from(id.value));
    corral_types::MalformedItem::new(
        id,
        ProtocolError::new("offer", format!("does not decode: {error}")),
    )
}

/// Encodes an event as a master sends it to `framework` (for masters and
/// tests), in Mesos's full format; shape it with
/// [`shape_for_capabilities`] before sending it to a framework that lacks
/// MULTI_ROLE or RESERVATION_REFINEMENT.
pub fn event_to_mesos(
    framework: &FrameworkId,
    event: &MasterEvent,
) -> Result<mpb::Event, ConvertError> {
    let mut wire = corral::event_to_pb(framework, event);
    let urls: Vec<Option<String>> = match wire.inverse_offers.as_mut() {
        Some(list) => list
            .inverse_offers
            .iter_mut()
            .map(|o| o.url.take())
            .collect(),
        None => Vec::new(),
    };
    let mut out: mpb::Event = transcode(&wire)?;
    if let Some(list) = out.inverse_offers.as_mut() {
        for (offer, url) in list.inverse_offers.iter_mut().zip(urls) {
            offer.url = url.as_deref().and_then(url_from_string);
        }
    }
    Ok(out)
}

/// The capabilities that change how offers are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OfferShape {
    /// The framework has MULTI_ROLE: offers and resources keep
    /// `allocation_info`.
    pub multi_role: bool,
    /// The framework has RESERVATION_REFINEMENT: resources use the
    /// `reservations` stack; otherwise the pre-refinement `role` and
    /// `reservation` fields.
    pub reservation_refinement: bool,
}

impl OfferShape {
    /// The shape for a framework with these capabilities.
    pub fn of(info: &v1::FrameworkInfo) -> Self {
        use v1::framework_info::capability::Type;
        let has = |t: Type| info.capabilities.iter().any(|c| c.r#type == Some(t as i32));
        OfferShape {
            multi_role: has(Type::MultiRole),
            reservation_refinement: has(Type::ReservationRefinement),
        }
    }
}

/// Rewrites the offers and inverse offers of `event` as Mesos does for a
/// framework of this shape: without MULTI_ROLE, no `allocation_info`;
/// without RESERVATION_REFINEMENT, reservations in the pre-refinement
/// format, and resources with refined (stacked) reservations left out,
/// since such a framework is never offered them.
pub fn shape_for_capabilities(event: &mut mpb::Event, shape: OfferShape) {
    if let Some(offers) = event.offers.as_mut() {
        for offer in &mut offers.offers {
            if !shape.multi_role {
                offer.allocation_info = None;
            }
            shape_resources(&mut offer.resources, shape);
        }
    }
    if let Some(list) = event.inverse_offers.as_mut() {
        for offer in &mut list.inverse_offers {
            shape_resources(&mut offer.resources, shape);
        }
    }
}

// The pre-refinement format is the deprecated `role` field, by definition.
#[allow(deprecated)]
fn shape_resources(resources: &mut Vec<v1::Resource>, shape: OfferShape) {
    use v1::resource::reservation_info::Type;
    if !shape.reservation_refinement {
        resources.retain(|r| r.reservations.len() <= 1);
    }
    for r in resources.iter_mut() {
        if !shape.multi_role {
            r.allocation_info = None;
        }
        if shape.reservation_refinement {
            r.role = None;
            r.reservation = None;
        } else if let Some(top) = r.reservations.pop() {
            r.role = top.role.clone();
            r.reservation =
                (top.r#type == Some(Type::Dynamic as i32)).then(|| v1::resource::ReservationInfo {
                    principal: top.principal,
                    labels: top.labels,
                    ..Default::default()
                });
        } else if r.role.is_none() {
            r.role = Some("*".to_owned());
        }
    }
}

/// `scheme://host:port/path?k=v#fragment` from a Mesos URL.
pub fn url_to_string(url: &v1::Url) -> String {
    let host = url
        .address
        .hostname
        .as_deref()
        .or(url.address.ip.as_deref())
        .unwrap_or_default();
    let mut out = format!("{}://{}:{}", url.scheme, host, url.address.port);
    if let Some(path) = url.path.as_deref() {
        if !path.starts_with('/') {
            out.push('/');
        }
        out.push_str(path);
    }
    for (i, q) in url.query.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(&format!("{}={}", q.key, q.value));
    }
    if let Some(fragment) = url.fragment.as_deref() {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// A Mesos URL from `scheme://host:port/path` (query and fragment are
/// kept); `None` when the text has no scheme or no numeric port.
pub fn url_from_string(text: &str) -> Option<v1::Url> {
    let (scheme, rest) = text.split_once("://")?;
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, f)) => (r, Some(f.to_owned())),
        None => (rest, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, q),
        None => (rest, ""),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(rest[i..].to_owned())),
        None => (rest, None),
    };
    let (host, port) = authority.rsplit_once(':')?;
    let port: i32 = port.parse().ok()?;
    let query = query
        .split('&')
        .filter(|q| !q.is_empty())
        .map(|q| {
            let (k, v) = q.split_once('=').unwrap_or((q, ""));
            v1::Parameter {
                key: k.to_owned(),
                value: v.to_owned(),
            }
        })
        .collect();
    Some(v1::Url {
        scheme: scheme.to_owned(),
        address: v1::Address {
            hostname: Some(host.to_owned()),
            ip: None,
            port,
        },
        path,
        query,
        fragment,
    })
}
