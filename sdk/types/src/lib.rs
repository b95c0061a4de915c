//! # corral-types
//!
//! The plain Rust types of [corral](https://docs.rs/corral): ids, roles,
//! [`Resources`] and their text form, offers, tasks and their statuses,
//! revocation notices, and the calls and events that cross the boundary
//! between a framework's runtime and its transport ([`Call`],
//! [`MasterEvent`]).
//!
//! No protocol code lives here: the generated protobuf types and the
//! checked conversions are in `corral-proto`, which only transports and
//! masters need. Framework code uses these types through `corral`, which
//! re-exports them at its root.

#![warn(missing_docs)]

pub mod call;
pub mod error;
pub mod event;
pub mod executor;
pub mod framework;
pub mod ids;
pub mod offer;
pub mod resources;
pub mod revocation;
pub mod sim;
pub mod task;

pub use call::{Accept, Call, CallKind, Operation, Subscribe};
pub use error::ProtocolError;
pub use event::{Failure, InverseItem, MalformedItem, MasterEvent, Subscribed};
pub use executor::ExecutorInfo;
pub use framework::{Capability, FrameworkInfo, InvalidFrameworkInfo};
pub use ids::{AgentId, ExecutorId, FrameworkId, InvalidRole, OfferId, Role, TaskId};
pub use offer::{Attribute, AttributeValue, InverseOffer, Offer, Unavailability};
pub use resources::{Ranges, Resource, Resources, ResourcesError, Scalar, Value};
pub use revocation::RevocationNotice;
pub use task::{
    CommandInfo, KillPolicy, Reason, Source, TaskInfo, TaskState, TaskStatus, SANDBOX_LABEL,
    STDERR_LABEL, STDOUT_LABEL,
};
