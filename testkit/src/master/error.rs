//! The typed errors a call to the master can fail with, and the class of
//! each (mapped to a gRPC status code at the server edge).

use corral::{FrameworkId, InvalidRole, OfferId, Role, TaskId};

use super::books::offers::OfferProblem;

/// The class of a [`CallError`]; one per gRPC status code the master uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed call (gRPC `INVALID_ARGUMENT`, HTTP 400).
    InvalidArgument,
    /// The caller is not the subscribed framework (`PERMISSION_DENIED`, HTTP 403).
    PermissionDenied,
    /// The call names something the master does not have (`NOT_FOUND`).
    NotFound,
    /// The mock master does not implement this (`UNIMPLEMENTED`, HTTP 501).
    Unimplemented,
    /// The master's own books disagree; a bug in the mock (`INTERNAL`).
    Internal,
    /// A limit of the master is reached (`RESOURCE_EXHAUSTED`, HTTP 503).
    ResourceExhausted,
}

/// Why the master refused a call. A refused call changes nothing, except
/// where the variant says otherwise (DECLINE still declines the valid offers).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CallError {
    /// The call's `type` is missing or not a known value.
    #[error("call has no known type")]
    MissingType,
    /// The call's payload message for its type is missing.
    #[error("{call} call has no '{field}' payload")]
    MissingPayload {
        /// The call type.
        call: &'static str,
        /// The payload field that should be set.
        field: &'static str,
    },
    /// SUBSCRIBE went through `Send`, or another call through `Subscribe`.
    #[error("{call} must be sent with the {rpc} RPC")]
    WrongRpc {
        /// The call type.
        call: &'static str,
        /// The RPC it belongs to.
        rpc: &'static str,
    },
    /// A non-SUBSCRIBE call without `framework_id`.
    #[error("call has no framework_id")]
    MissingFrameworkId,
    /// A non-SUBSCRIBE call without `mesos-stream-id` metadata.
    #[error("call has no mesos-stream-id metadata")]
    MissingStreamId,
    /// `mesos-stream-id` metadata that is not ASCII text.
    #[error("mesos-stream-id metadata is not ASCII")]
    MalformedStreamId,
    /// A SUBSCRIBE that carries `mesos-stream-id` metadata.
    #[error("SUBSCRIBE must not carry mesos-stream-id metadata")]
    UnexpectedStreamId,
    /// The framework has no open stream (never subscribed, disconnected, removed).
    #[error("framework is not subscribed: {framework} has no open event stream")]
    NotSubscribed {
        /// The framework named by the call.
        framework: FrameworkId,
    },
    /// The call's stream id is not the framework's current stream.
    #[error("framework is not subscribed on stream {given}: {framework} is on stream {current}")]
    StreamMismatch {
        /// The framework named by the call.
        framework: FrameworkId,
        /// The stream id the call carried.
        given: String,
        /// The framework's current stream id.
        current: String,
    },
    /// `Call.framework_id` and `framework_info.id` disagree.
    #[error("framework_id {call:?} differs from framework_info.id {info:?}")]
    FrameworkIdMismatch {
        /// `Call.framework_id`.
        call: Option<String>,
        /// `framework_info.id`.
        info: Option<String>,
    },
    /// A FrameworkInfo that breaks a rule.
    #[error("invalid FrameworkInfo: {0}")]
    InvalidFrameworkInfo(String),
    /// A role name that breaks the naming rules.
    #[error(transparent)]
    InvalidRole(#[from] InvalidRole),
    /// UPDATE_FRAMEWORK or a resubscription tried to change a fixed field.
    #[error("FrameworkInfo.{field} cannot be changed (from {old:?} to {new:?})")]
    ImmutableField {
        /// The field.
        field: &'static str,
        /// Its current value.
        old: String,
        /// The value asked for.
        new: String,
    },
    /// A role the framework is not subscribed with.
    #[error("role {role} is not one of the framework's roles")]
    RoleNotSubscribed {
        /// The role named by the call.
        role: Role,
    },
    /// DECLINE named offers that cannot be declined (the others were declined).
    #[error("cannot decline: {}", describe_offers(.0))]
    UnknownOffers(Vec<(OfferId, OfferProblem)>),
    /// ACCEPT/DECLINE_INVERSE_OFFERS named inverse offers the master never made.
    #[error("unknown inverse offers: {}", join(.0))]
    UnknownInverseOffers(Vec<OfferId>),
    /// A REQUEST call that cannot be read.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// ACKNOWLEDGE of an update that is not pending.
    #[error("no pending status update with uuid {uuid} for task {task}")]
    UnknownUpdate {
        /// The task named by the call.
        task: TaskId,
        /// The uuid named by the call, in hex.
        uuid: String,
    },
    /// A uuid that is not 16 bytes long.
    #[error("a status update uuid is 16 bytes, got {0}")]
    MalformedUuid(usize),
    /// An offer operation with no (known) type or without its payload.
    #[error("invalid operation: {0}")]
    InvalidOperation(String),
    /// An offer operation the mock master does not implement.
    #[error("operation {0} is not implemented by the mock master")]
    UnsupportedOperation(&'static str),
    /// A call type the mock master does not implement.
    #[error("{0} calls are not implemented by the mock master")]
    UnsupportedCall(&'static str),
    /// The allocator refused what the master's books allowed (a bug in
    /// the mock).
    #[error("internal error: the allocator refused: {0}")]
    Allocator(#[source] crate::allocator::AllocatorError),
    /// The master's books disagree with each other (a bug in the mock).
    #[error("internal error: {0}")]
    Internal(String),
    /// The cap on connected frameworks is reached.
    #[error("too many connected frameworks (at most {max})")]
    TooManyFrameworks {
        /// The cap (`max_connected_frameworks`).
        max: usize,
    },
}

impl CallError {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        use CallError::*;
        match self {
            NotSubscribed { .. } | StreamMismatch { .. } => ErrorKind::PermissionDenied,
            UnknownOffers(_) | UnknownInverseOffers(_) | UnknownUpdate { .. } => {
                ErrorKind::NotFound
            }
            UnsupportedOperation(_) | UnsupportedCall(_) => ErrorKind::Unimplemented,
            Internal(_) | Allocator(_) => ErrorKind::Internal,
            TooManyFrameworks { .. } => ErrorKind::ResourceExhausted,
            MissingType
            | MissingPayload { .. }
            | WrongRpc { .. }
            | MissingFrameworkId
            | MissingStreamId
            | MalformedStreamId
            | UnexpectedStreamId
            | FrameworkIdMismatch { .. }
            | InvalidFrameworkInfo(_)
            | InvalidRole(_)
            | ImmutableField { .. }
            | RoleNotSubscribed { .. }
            | MalformedUuid(_)
            | InvalidRequest(_)
            | InvalidOperation(_) => ErrorKind::InvalidArgument,
        }
    }
}

fn describe_offers(offers: &[(OfferId, OfferProblem)]) -> String {
    offers
        .iter()
        .map(|(id, problem)| format!("offer {id} {problem}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn join(ids: &[OfferId]) -> String {
    ids.iter()
        .map(OfferId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_culprit() {
        let err = CallError::UnknownOffers(vec![
            (OfferId::new("offer-1"), OfferProblem::Unknown),
            (OfferId::new("offer-2"), OfferProblem::Accepted),
        ]);
        let text = err.to_string();
        assert!(
            text.contains("offer-1") && text.contains("offer-2"),
            "{text}"
        );
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let err = CallError::NotSubscribed {
            framework: FrameworkId::new("f"),
        };
        assert!(err.to_string().starts_with("framework is not subscribed"));
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    }
}
