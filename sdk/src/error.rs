//! The errors a framework can get back from the SDK.

use std::time::Duration;

use crate::{OfferId, TaskId};

/// Something from the master that does not parse or makes no sense.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed {what} from the master: {why}")]
pub struct ProtocolError {
    /// Which message or field.
    pub what: &'static str,
    /// What is wrong with it.
    pub why: String,
}

impl ProtocolError {
    /// A new protocol error.
    pub fn new(what: &'static str, why: impl Into<String>) -> Self {
        ProtocolError {
            what,
            why: why.into(),
        }
    }
}

/// Why a transport call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
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

/// The kind of a refusal by the master.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectKind {
    /// The call is malformed or names things that don't fit together.
    InvalidArgument,
    /// It names an offer, task or status update the master doesn't know.
    NotFound,
    /// The framework is not subscribed (or the stream id is stale).
    NotSubscribed,
    /// The master does not implement this call.
    Unimplemented,
    /// Anything else.
    Other,
}

/// What a [`Driver`](crate::Driver) call or the runtime can fail with.
#[derive(Debug, thiserror::Error)]
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
    /// The task is not known to this framework.
    #[error("task {0} is unknown to this framework")]
    UnknownTask(TaskId),
    /// A task or call was refused before it was sent.
    #[error("invalid {what}: {why}")]
    Invalid {
        /// What was invalid.
        what: String,
        /// Why.
        why: String,
    },
    /// The master refused the call.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The master refused the subscription for good (e.g. the framework was
    /// torn down, or its FrameworkInfo is invalid).
    #[error("subscription refused: {0}")]
    SubscriptionRefused(String),
    /// The master stayed unreachable for longer than the configured limit.
    #[error("gave up reconnecting after {0:?}")]
    GaveUp(Duration),
    /// The framework was stopped.
    #[error("the framework has stopped")]
    Stopped,
}

impl Error {
    pub(crate) fn invalid(what: impl Into<String>, why: impl Into<String>) -> Self {
        Error::Invalid {
            what: what.into(),
            why: why.into(),
        }
    }
}
