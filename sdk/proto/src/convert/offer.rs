//! Offers, inverse offers, attributes and maintenance windows on the wire.

use corral_types::{
    Attribute, AttributeValue, InverseOffer, Offer, OfferId, ProtocolError, Ranges, Resources,
    Role, Unavailability,
};

use super::ids::IdPb;
use super::resources::ResourcesPb;
use super::time::{duration_from_pb, duration_to_pb};
use crate::pb;

/// [`Offer`] on the wire.
pub trait OfferPb: Sized {
    /// Reads an offer from the wire, rejecting malformed ones: an empty id
    /// or agent id, malformed resources, a bad role. Attributes that do
    /// not parse are left out.
    fn from_pb(offer: pb::Offer) -> Result<Self, ProtocolError>;
    /// The wire form (what a master sends).
    fn to_pb(&self) -> pb::Offer;
}

// Hidden from rustdoc: it would be listed on the plain type\'s page in
// `corral`, whose API names no wire type.
#[doc(hidden)]
impl OfferPb for Offer {
    fn from_pb(offer: pb::Offer) -> Result<Offer, ProtocolError> {
        let id = OfferId::from(&offer.id);
        if id.as_str().is_empty() {
            return Err(ProtocolError::new("offer", "empty offer id"));
        }
        if offer.agent_id.value.is_empty() {
            return Err(ProtocolError::new("offer", format!("{id} has no agent id")));
        }
        let resources = Resources::from_pb(&offer.resources)
            .map_err(|e| ProtocolError::new("offer resources", format!("{id}: {e}")))?;
        let role = match offer.allocation_info.as_ref().and_then(|a| a.role.clone()) {
            Some(role) => Role::new(role),
            None => resources
                .allocation_roles()
                .into_iter()
                .next()
                .cloned()
                .unwrap_or_else(|| Role::from("*")),
        };
        role.validate()
            .map_err(|e| ProtocolError::new("offer", format!("{id}: {e}")))?;
        let mut out = Offer::new(id, offer.agent_id.value, Resources::new())
            .with_framework(offer.framework_id.value)
            .with_hostname(offer.hostname);
        out.role = role;
        out.resources = resources;
        out.attributes = offer
            .attributes
            .iter()
            .filter_map(attribute_from_pb)
            .collect();
        out.unavailability = offer.unavailability.as_ref().map(Unavailability::from_pb);
        Ok(out)
    }

    fn to_pb(&self) -> pb::Offer {
        pb::Offer {
            id: self.id.to_pb(),
            framework_id: self.framework_id.to_pb(),
            agent_id: self.agent_id.to_pb(),
            hostname: self.hostname.clone(),
            allocation_info: Some(pb::resource::AllocationInfo {
                role: Some(self.role.to_string()),
            }),
            resources: self.resources.to_pb(),
            attributes: self.attributes.iter().map(attribute_to_pb).collect(),
            unavailability: self.unavailability.as_ref().map(Unavailability::to_pb),
            ..Default::default()
        }
    }
}

/// [`InverseOffer`] on the wire.
pub trait InverseOfferPb: Sized {
    /// Reads a maintenance inverse offer from the wire, rejecting malformed
    /// ones. Revocation notices (inverse offers naming tasks) are read with
    /// [`RevocationNoticePb::from_pb`](super::RevocationNoticePb::from_pb)
    /// instead; this would drop their tasks.
    fn from_pb(offer: pb::InverseOffer) -> Result<Self, ProtocolError>;
}

// Hidden from rustdoc: it would be listed on the plain type\'s page in
// `corral`, whose API names no wire type.
#[doc(hidden)]
impl InverseOfferPb for InverseOffer {
    fn from_pb(offer: pb::InverseOffer) -> Result<InverseOffer, ProtocolError> {
        let id = OfferId::from(&offer.id);
        if id.as_str().is_empty() {
            return Err(ProtocolError::new("inverse offer", "empty id"));
        }
        let resources = Resources::from_pb(&offer.resources)
            .map_err(|e| ProtocolError::new("inverse offer resources", format!("{id}: {e}")))?;
        Ok(InverseOffer::new(
            id,
            offer.agent_id.map(Into::into),
            Unavailability::from_pb(&offer.unavailability),
            resources,
        ))
    }
}

/// [`Unavailability`] on the wire.
pub trait UnavailabilityPb: Sized {
    /// From the wire; negative times count as zero.
    fn from_pb(u: &pb::Unavailability) -> Self;
    /// The wire form.
    fn to_pb(&self) -> pb::Unavailability;
}

// Hidden from rustdoc: it would be listed on the plain type\'s page in
// `corral`, whose API names no wire type.
#[doc(hidden)]
impl UnavailabilityPb for Unavailability {
    fn from_pb(u: &pb::Unavailability) -> Self {
        Unavailability {
            start: duration_from_pb(&pb::DurationInfo {
                nanoseconds: u.start.nanoseconds,
            }),
            duration: u.duration.as_ref().map(duration_from_pb),
        }
    }

    fn to_pb(&self) -> pb::Unavailability {
        pb::Unavailability {
            start: pb::TimeInfo {
                nanoseconds: duration_to_pb(self.start).nanoseconds,
            },
            duration: self.duration.map(duration_to_pb),
        }
    }
}

fn attribute_from_pb(a: &pb::Attribute) -> Option<Attribute> {
    use pb::value::Type;
    let value = match Type::try_from(a.r#type).ok()? {
        Type::Text => AttributeValue::Text(a.text.as_ref()?.value.clone()),
        Type::Scalar => {
            let v = a.scalar.as_ref()?.value;
            if !v.is_finite() {
                return None;
            }
            AttributeValue::Scalar(v)
        }
        Type::Ranges => {
            let ranges = &a.ranges.as_ref()?.range;
            if ranges.iter().any(|r| r.begin > r.end) {
                return None;
            }
            AttributeValue::Ranges(Ranges::new(ranges.iter().map(|r| (r.begin, r.end))))
        }
        Type::Set => AttributeValue::Set(a.set.as_ref()?.item.iter().cloned().collect()),
    };
    Some(Attribute {
        name: a.name.clone(),
        value,
    })
}

fn attribute_to_pb(a: &Attribute) -> pb::Attribute {
    use pb::value::Type;
    let mut out = pb::Attribute {
        name: a.name.clone(),
        ..Default::default()
    };
    match &a.value {
        AttributeValue::Text(t) => {
            out.set_type(Type::Text);
            out.text = Some(pb::value::Text { value: t.clone() });
        }
        AttributeValue::Scalar(v) => {
            out.set_type(Type::Scalar);
            out.scalar = Some(pb::value::Scalar { value: *v });
        }
        AttributeValue::Ranges(r) => {
            out.set_type(Type::Ranges);
            out.ranges = Some(pb::value::Ranges {
                range: r
                    .iter()
                    .map(|(begin, end)| pb::value::Range { begin, end })
                    .collect(),
            });
        }
        AttributeValue::Set(s) => {
            out.set_type(Type::Set);
            out.set = Some(pb::value::Set {
                item: s.iter().cloned().collect(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offer_round_trips_and_a_bad_one_is_an_error() {
        let offer = Offer::new("o1", "a1", Resources::new().with_cpus(2.0))
            .with_role("web")
            .with_attribute("zone", "z1");
        let back = Offer::from_pb(offer.to_pb()).unwrap();
        assert_eq!(back, offer);
        let mut bad = offer.to_pb();
        bad.resources[0].scalar = None;
        let err = Offer::from_pb(bad).unwrap_err();
        assert!(err.why.contains("o1"), "{err}");
        let mut no_agent = offer.to_pb();
        no_agent.agent_id.value.clear();
        assert!(Offer::from_pb(no_agent).is_err());
    }
}
