//! Why an operator request was refused, and the class of each refusal
//! (mapped to a gRPC status code at the server edge).

use corral::{AgentId, Resources, Role};

use crate::allocator::AllocatorError;

/// The class of an [`OperatorError`]; one per gRPC status code it maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperatorErrorKind {
    /// The request itself is malformed (`INVALID_ARGUMENT`).
    InvalidArgument,
    /// It names something the master does not have (`NOT_FOUND`).
    NotFound,
    /// It is well-formed, but the cluster is not in a state to apply it
    /// (`FAILED_PRECONDITION`): resources in use, an unreachable agent.
    FailedPrecondition,
    /// The master's books disagree with the allocator; a bug in the mock
    /// (`INTERNAL`).
    Internal,
}

/// Why an operator request was refused. A refused request changes nothing.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum OperatorError {
    /// No agent with this id.
    #[error("unknown agent {0}")]
    UnknownAgent(AgentId),
    /// The agent is lost to a partition: its resources cannot change until
    /// it is back.
    #[error("agent {0} is unreachable; its resources cannot change until it is back")]
    AgentLost(AgentId),
    /// A role name that breaks the naming rules.
    #[error("invalid role {role:?}: {why}")]
    InvalidRole {
        /// The role given.
        role: Role,
        /// Which rule it breaks.
        why: String,
    },
    /// The default role `*` was named where it cannot be.
    #[error("the default role `*` cannot {0}")]
    DefaultRole(&'static str),
    /// A weight that is not finite and positive.
    #[error("invalid weight {weight} for role {role}: must be finite and > 0")]
    InvalidWeight {
        /// The role.
        role: Role,
        /// The weight given.
        weight: f64,
    },
    /// A quota that is malformed or breaks the hierarchy rules; `why` is the
    /// allocator's reason.
    #[error("invalid quota for role {role}: {why}")]
    InvalidQuota {
        /// The role.
        role: Role,
        /// What is wrong.
        why: String,
    },
    /// REMOVE_QUOTA of a role that has none.
    #[error("role {0} has no quota to remove")]
    NoQuota(Role),
    /// Resources in the wrong form for the request (empty, allocated,
    /// revocable, reserved where unreserved ones are expected or the
    /// reverse, or not parseable).
    #[error("invalid resources to {what}: {why}")]
    InvalidResources {
        /// `reserve` or `unreserve`.
        what: &'static str,
        /// What is wrong.
        why: String,
    },
    /// The agent does not have these resources unallocated, even once its
    /// outstanding offers are rescinded: tasks use them, or it never had
    /// them.
    #[error(
        "agent {agent} does not have {resources} unallocated to {what} \
         (in use by tasks, or not on the agent)"
    )]
    NotAvailable {
        /// The agent.
        agent: AgentId,
        /// What was asked for.
        resources: Resources,
        /// `reserve` or `unreserve`.
        what: &'static str,
    },
    /// The master's books disagree with the allocator (a bug in the mock).
    #[error("internal error: {0}")]
    Internal(String),
}

impl OperatorError {
    /// The class of this error.
    pub fn kind(&self) -> OperatorErrorKind {
        use OperatorError::*;
        match self {
            UnknownAgent(_) | NoQuota(_) => OperatorErrorKind::NotFound,
            AgentLost(_) | NotAvailable { .. } => OperatorErrorKind::FailedPrecondition,
            Internal(_) => OperatorErrorKind::Internal,
            InvalidRole { .. }
            | DefaultRole(_)
            | InvalidWeight { .. }
            | InvalidQuota { .. }
            | InvalidResources { .. } => OperatorErrorKind::InvalidArgument,
        }
    }
}

impl From<AllocatorError> for OperatorError {
    fn from(err: AllocatorError) -> Self {
        match err {
            AllocatorError::UnknownAgent(agent) => OperatorError::UnknownAgent(agent),
            AllocatorError::InvalidWeight { role, weight } => {
                OperatorError::InvalidWeight { role, weight }
            }
            AllocatorError::InvalidRole { role, why } => OperatorError::InvalidRole { role, why },
            AllocatorError::InvalidQuota { role, why } => OperatorError::InvalidQuota { role, why },
            AllocatorError::NotAvailable {
                agent,
                resources,
                what,
            } => OperatorError::NotAvailable {
                agent,
                resources,
                what,
            },
            other => OperatorError::Internal(other.to_string()),
        }
    }
}
