//! The errors a framework can get back from the SDK, each named for what
//! happened.

use std::time::Duration;

pub use corral_types::{InvalidFrameworkInfo, ProtocolError};

use crate::{OfferId, Resources, Role, TaskId};

/// Why a transport call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The master could not be reached or the connection broke; retrying
    /// later may work.
    #[error("master unavailable: {0}")]
    Unavailable(String),
    /// The master refused the call (the HTTP API's 400/403/404/409).
    #[error("master rejected the call ({kind:?}): {message}")]
    Rejected {
        /// What kind of refusal.
        kind: RejectKind,
        /// The master's explanation.
        message: String,
    },
}

impl TransportError {
    /// A refusal of this kind.
    pub fn rejected(kind: RejectKind, message: impl Into<String>) -> Self {
        TransportError::Rejected {
            kind,
            message: message.into(),
        }
    }

    /// The master is unreachable.
    pub fn unavailable(message: impl Into<String>) -> Self {
        TransportError::Unavailable(message.into())
    }
}

/// The kind of a refusal by the master.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectKind {
    /// The call is malformed or names things that don't fit together.
    InvalidArgument,
    /// It names an offer, task or status update the master doesn't know.
    NotFound,
    /// The framework is not subscribed (or the stream id is stale).
    NotSubscribed,
    /// The master does not implement this call.
    Unimplemented,
    /// The master refused the framework's credentials (HTTP 401), or
    /// refused to let it subscribe (403 on SUBSCRIBE).
    Unauthorized,
    /// Anything else.
    Other,
}

/// Why a launch was refused before anything was sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidLaunch {
    /// No tasks: decline the offer instead.
    #[error("no tasks (decline the offer instead)")]
    NoTasks,
    /// A task id appears twice in the launch.
    #[error("task {0}: its id appears twice in this launch")]
    DuplicateTask(TaskId),
    /// A task with this id is still active.
    #[error("task {0}: a task with this id is already active")]
    TaskActive(TaskId),
    /// A task asks for no resources.
    #[error("task {0}: it asks for no resources")]
    NoResources(TaskId),
    /// A task mixes regular and revocable resources.
    #[error("task {0}: it mixes regular and revocable resources")]
    MixedResources(TaskId),
    /// The tasks together need more than the offer has.
    #[error("the tasks need {needed}, the offer {offer} has {available}")]
    DoesNotFit {
        /// The offer.
        offer: OfferId,
        /// What the tasks need together.
        needed: Resources,
        /// What the offer has.
        available: Resources,
    },
    /// A task group's executor has an empty id.
    #[error("the executor id is empty")]
    EmptyExecutorId,
}

/// What a [`Driver`](crate::Driver) call or the runtime can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Not connected to the master right now; the runtime is reconnecting.
    /// Nothing was sent: retry after `subscribed`, or let the offer go.
    #[error("not connected to the master (reconnecting)")]
    Disconnected,
    /// The offer is not outstanding: already used or declined, rescinded,
    /// or from before a reconnection.
    #[error(
        "offer {0} is not outstanding (already answered, rescinded, or from an old connection)"
    )]
    UnknownOffer(OfferId),
    /// The master refused an answer to a revocation notice
    /// ([`Driver::release`](crate::Driver::release),
    /// [`Driver::decline_revocation`](crate::Driver::decline_revocation))
    /// because it does not know the notice, and the runtime never saw the
    /// master withdraw it: the id is wrong (or from another framework, or
    /// from before a failover the master forgot it in), or the master
    /// withdrew it just now and its RESCIND_INVERSE_OFFER is on its way. A
    /// notice the runtime saw withdrawn is answered with `Ok`.
    #[error("revocation notice {notice} is unknown to the master and was never seen withdrawn")]
    UnknownNotice {
        /// The notice's id.
        notice: OfferId,
        /// The master's refusal.
        #[source]
        source: TransportError,
    },
    /// A launch was refused before it was sent.
    #[error("invalid launch: {0}")]
    InvalidLaunch(#[from] InvalidLaunch),
    /// A role named in a call is not one of the framework's.
    #[error("{role} is not one of the framework's roles {roles:?}")]
    NotOwnRole {
        /// The role named.
        role: Role,
        /// The framework's roles.
        roles: Vec<Role>,
    },
    /// A REQUEST for no resources.
    #[error("a request must ask for some resources")]
    EmptyRequest,
    /// [`Driver::acknowledge`](crate::Driver::acknowledge) in
    /// [`AckMode::Implicit`](crate::AckMode::Implicit): the runtime
    /// acknowledges updates itself.
    #[error("the runtime acknowledges updates itself (AckMode::Implicit)")]
    ImplicitAcks,
    /// The status update has no uuid or no agent, so there is nothing to
    /// acknowledge (reconciliation answers are not acknowledged).
    #[error("task {0}: only status updates with a uuid and an agent are acknowledged")]
    NotAcknowledgeable(TaskId),
    /// The framework info is invalid; nothing was sent.
    #[error(transparent)]
    InvalidFrameworkInfo(#[from] InvalidFrameworkInfo),
    /// The master refused a call.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The master refused the subscription for good (e.g. the framework
    /// was torn down, or its FrameworkInfo is invalid).
    #[error("subscription refused: {0}")]
    SubscriptionRefused(String),
    /// The master ended the framework with an ERROR event while it was
    /// subscribed.
    #[error("the master ended the framework: {0}")]
    EndedByMaster(String),
    /// The master stayed unreachable for longer than
    /// [`Config::give_up_after`](crate::Config::give_up_after).
    #[error("gave up reconnecting after {0:?}")]
    GaveUp(Duration),
    /// The runtime's own task panicked (in the transport, or a bug in
    /// corral). Only [`EventStream::finish`](crate::EventStream::finish)
    /// returns it: only the stream form runs the runtime on a task of its
    /// own. With [`Framework::run`](crate::Framework::run), a panic in a
    /// handler (or in the transport) unwinds through `run` itself, so
    /// nothing is hidden behind an error.
    #[error("the runtime's task panicked: {0}")]
    RuntimePanicked(String),
}
