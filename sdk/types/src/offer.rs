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

use crate::resources::{Ranges, Resources};
use crate::{AgentId, FrameworkId, OfferId, Role};

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
///
/// Built by the runtime from the wire; in tests, with [`Offer::new`] and
/// its `with_*` methods:
///
/// ```
/// use corral_types::{Offer, Resources};
///
/// let offer = Offer::new("o1", "agent-1", Resources::new().with_cpus(4.0).with_mem(1024.0))
///     .with_role("web")
///     .with_attribute("zone", "a");
/// assert!(offer.fits(&Resources::new().with_cpus(2.0)));
/// assert_eq!(offer.attribute("zone"), Some("a"));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
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
    /// An offer `id` of `resources` (written without allocation info) on
    /// `agent`, for role `*`, from framework `fw`, host name the agent id,
    /// no attributes, no maintenance window. The resources are allocated to
    /// the offer's role, as the master sends them.
    pub fn new(id: impl Into<OfferId>, agent: impl Into<AgentId>, resources: Resources) -> Self {
        let agent_id = agent.into();
        let role = Role::from("*");
        Offer {
            id: id.into(),
            framework_id: FrameworkId::from("fw"),
            hostname: agent_id.to_string(),
            agent_id,
            resources: resources.allocated_to(&role),
            role,
            attributes: Vec::new(),
            unavailability: None,
        }
    }

    /// Sets the role (and allocates the resources to it).
    pub fn with_role(mut self, role: impl Into<Role>) -> Self {
        self.role = role.into();
        self.resources = self.resources.allocated_to(&self.role);
        self
    }

    /// Sets the framework the offer was made to.
    pub fn with_framework(mut self, framework: impl Into<FrameworkId>) -> Self {
        self.framework_id = framework.into();
        self
    }

    /// Sets the agent's host name.
    pub fn with_hostname(mut self, hostname: impl Into<String>) -> Self {
        self.hostname = hostname.into();
        self
    }

    /// Adds a text attribute.
    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.push(Attribute {
            name: name.into(),
            value: AttributeValue::Text(value.into()),
        });
        self
    }

    /// Sets an upcoming maintenance window.
    pub fn with_unavailability(mut self, unavailability: Unavailability) -> Self {
        self.unavailability = Some(unavailability);
        self
    }

    /// The regular (non-revocable) resources, without allocation info: what
    /// a task built with [`Resources::new`] is checked against. With
    /// [`Offer::revocable`], tells the two kinds apart without digging
    /// through [`Offer::resources`] entry by entry.
    ///
    /// ```
    /// # use corral_types::{Offer, Resources};
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
}

/// A maintenance inverse offer: the master asking for an agent (or some
/// of its resources) back by a deadline. Revocation notices, which name
/// tasks, are [`RevocationNotice`](crate::RevocationNotice)s instead.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
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
    /// An inverse offer `id` asking for all of `agent` back from `start`
    /// (on the master's clock) for `duration` (`None`: indefinitely).
    pub fn new(
        id: impl Into<OfferId>,
        agent: Option<AgentId>,
        unavailability: Unavailability,
        resources: Resources,
    ) -> Self {
        InverseOffer {
            id: id.into(),
            agent_id: agent,
            unavailability,
            resources,
        }
    }
}
