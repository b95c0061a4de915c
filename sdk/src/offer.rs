//! Offers and inverse offers as a framework sees them.
//!
//! An [`Offer`] is resources on one agent, allocated to one of the
//! framework's roles, that the framework may launch tasks on until it
//! answers (launch or decline) or the master rescinds it. Its regular and
//! revocable (lent) resources are kept apart: [`Offer::regular`] and
//! [`Offer::revocable`]. An [`InverseOffer`] is the master asking for an
//! agent back before a maintenance window. (Lent resources taken back by
//! their owner come as a [`RevocationNotice`](crate::RevocationNotice)
//! instead.)

use std::collections::BTreeSet;
use std::time::Duration;

use crate::error::ProtocolError;
use crate::resources::{Ranges, Resources};
use crate::{pb, AgentId, FrameworkId, OfferId, Role};

/// An attribute of an agent (`zone=a`, `rack=r1`, `ssd=true`).
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    /// The attribute's name.
    pub name: String,
    /// Its value.
    pub value: AttributeValue,
}

/// The value of an [`Attribute`].
#[derive(Clone, Debug, PartialEq)]
pub enum AttributeValue {
    /// Free text, the common case.
    Text(String),
    /// A number.
    Scalar(f64),
    /// Integer ranges.
    Ranges(Ranges),
    /// A set of names.
    Set(BTreeSet<String>),
}

impl AttributeValue {
    /// The text value, if this is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            AttributeValue::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// A window of time in which an agent will be unavailable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unavailability {
    /// When it starts, as time since the Unix epoch (or since the master's
    /// start, for the mock master).
    pub start: Duration,
    /// How long it lasts; `None` means indefinitely.
    pub duration: Option<Duration>,
}

/// Resources on one agent offered to the framework for one of its roles.
#[derive(Clone, Debug, PartialEq)]
pub struct Offer {
    /// The offer's id, used to launch on it or decline it.
    pub id: OfferId,
    /// The framework it was made to.
    pub framework_id: FrameworkId,
    /// The agent the resources are on.
    pub agent_id: AgentId,
    /// The agent's host name.
    pub hostname: String,
    /// The role the resources were allocated to.
    pub role: Role,
    /// The offered resources, regular and revocable.
    pub resources: Resources,
    /// The agent's attributes.
    pub attributes: Vec<Attribute>,
    /// A maintenance window coming up on this agent, if any.
    pub unavailability: Option<Unavailability>,
}

impl Offer {
    /// The regular (non-revocable) resources, without allocation info: what
    /// a task built with [`Resources::new`] is checked against. With
    /// [`Offer::revocable`], tells the two kinds apart without digging
    /// through [`Offer::resources`] entry by entry.
    ///
    /// ```
    /// # use corral::{Offer, Resources};
    /// # fn plan(offer: &Offer) {
    /// let needs = Resources::new().with_cpus(1.0);
    /// if offer.regular().contains(&needs) {
    ///     // Launch `needs` as is: it won't be taken back.
    /// } else if offer.revocable().contains(&needs.revocable()) {
    ///     // Launch `needs.revocable()`: may be revoked with a notice.
    /// }
    /// # }
    /// ```
    pub fn regular(&self) -> Resources {
        self.resources.non_revocable().unallocated()
    }

    /// The revocable resources (lent from another role's idle share; the
    /// master may take them back with a
    /// [`RevocationNotice`](crate::RevocationNotice)), without allocation
    /// info, each entry still marked revocable: a task uses them by asking
    /// for `needs.revocable()`. Empty when the offer has none.
    pub fn revocable(&self) -> Resources {
        self.resources.only_revocable().unallocated()
    }

    /// True when `needs` (written without allocation info, as tasks are)
    /// fits in this offer.
    pub fn fits(&self, needs: &Resources) -> bool {
        self.resources.unallocated().contains(&needs.unallocated())
    }

    /// The text value of the attribute `name`, if the agent has it as text.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .and_then(|a| a.value.as_text())
    }

    /// Reads an offer from the wire, rejecting malformed ones.
    pub fn from_pb(offer: pb::Offer) -> Result<Offer, ProtocolError> {
        let resources = Resources::from_pb(&offer.resources)
            .map_err(|e| ProtocolError::new("offer resources", e.to_string()))?;
        let role = offer
            .allocation_info
            .as_ref()
            .and_then(|a| a.role.clone())
            .or_else(|| {
                resources
                    .allocation_roles()
                    .into_iter()
                    .next()
                    .map(|r| r.to_string())
            })
            .unwrap_or_else(|| "*".to_owned());
        Ok(Offer {
            id: offer.id.into(),
            framework_id: offer.framework_id.into(),
            agent_id: offer.agent_id.into(),
            hostname: offer.hostname,
            role: Role::new(role),
            resources,
            attributes: offer
                .attributes
                .iter()
                .filter_map(attribute_from_pb)
                .collect(),
            unavailability: offer.unavailability.as_ref().map(unavailability_from_pb),
        })
    }
}

/// A maintenance inverse offer: the master asking for an agent (or some
/// of its resources) back by a deadline. Revocation notices, which name
/// tasks, are [`RevocationNotice`](crate::RevocationNotice)s instead.
#[derive(Clone, Debug, PartialEq)]
pub struct InverseOffer {
    /// The inverse offer's id, used to accept or decline it.
    pub id: OfferId,
    /// The agent concerned, if the request is for one agent.
    pub agent_id: Option<AgentId>,
    /// When the resources must be free, and for how long.
    pub unavailability: Unavailability,
    /// The resources asked back; empty means everything on the agent.
    pub resources: Resources,
}

impl InverseOffer {
    /// Reads an inverse offer from the wire, rejecting malformed ones.
    /// Revocation notices (inverse offers naming tasks) are read with
    /// [`RevocationNotice::from_pb`](crate::RevocationNotice::from_pb)
    /// instead; this would drop their tasks.
    pub fn from_pb(offer: pb::InverseOffer) -> Result<InverseOffer, ProtocolError> {
        Ok(InverseOffer {
            id: offer.id.into(),
            agent_id: offer.agent_id.map(Into::into),
            unavailability: unavailability_from_pb(&offer.unavailability),
            resources: Resources::from_pb(&offer.resources)
                .map_err(|e| ProtocolError::new("inverse offer resources", e.to_string()))?,
        })
    }
}

fn nanos(n: i64) -> Duration {
    Duration::from_nanos(u64::try_from(n).unwrap_or(0))
}

fn unavailability_from_pb(u: &pb::Unavailability) -> Unavailability {
    Unavailability {
        start: nanos(u.start.nanoseconds),
        duration: u.duration.as_ref().map(|d| nanos(d.nanoseconds)),
    }
}

fn attribute_from_pb(a: &pb::Attribute) -> Option<Attribute> {
    use pb::value::Type;
    let value = match Type::try_from(a.r#type).ok()? {
        Type::Text => AttributeValue::Text(a.text.as_ref()?.value.clone()),
        Type::Scalar => AttributeValue::Scalar(a.scalar.as_ref()?.value),
        Type::Ranges => AttributeValue::Ranges(Ranges::new(
            a.ranges.as_ref()?.range.iter().map(|r| (r.begin, r.end)),
        )),
        Type::Set => AttributeValue::Set(a.set.as_ref()?.item.iter().cloned().collect()),
    };
    Some(Attribute {
        name: a.name.clone(),
        value,
    })
}

/// Builds a text attribute in wire form (used by masters and tests).
pub fn text_attribute_pb(name: &str, value: &str) -> pb::Attribute {
    let mut a = pb::Attribute {
        name: name.to_owned(),
        text: Some(pb::value::Text {
            value: value.to_owned(),
        }),
        ..Default::default()
    };
    a.set_type(pb::value::Type::Text);
    a
}
