//! Conversions between the plain types of `corral-types` and the wire
//! types of [`pb`](crate::pb).
//!
//! Each plain type gets an extension trait with `to_pb` (plain → wire) and,
//! where the wire form is read, `from_pb` (wire → plain, checked: a
//! malformed message is a [`ProtocolError`](corral_types::ProtocolError) or
//! a [`ResourcesError`](corral_types::ResourcesError), never a panic). Bring
//! them all into scope with `use corral_proto::convert::*;`.
//!
//! Ids convert both ways with `From` as well (`AgentId::from(pb_id)`,
//! `pb::AgentId::from(&id)`).
//!
//! Whole messages: [`call_to_pb`] encodes a [`Call`](corral_types::Call)
//! and [`call_from_pb`] reads one back (checked, for masters and
//! recorders); [`event_from_pb`] decodes an event item by item (see
//! [`MasterEvent`](corral_types::MasterEvent)).

mod call;
mod call_read;
mod event;
mod framework;
mod ids;
mod offer;
mod resources;
mod revocation;
mod task;
mod time;

pub use call::{call_to_pb, subscribe_to_pb, CallKindPb};
pub use call_read::{call_from_pb, framework_info_from_pb, task_info_from_pb};
pub use event::{event_from_pb, event_to_pb};
pub use framework::{CapabilityPb, FrameworkInfoPb};
pub use ids::IdPb;
pub use offer::{InverseOfferPb, OfferPb, UnavailabilityPb};
pub use resources::ResourcesPb;
pub use revocation::RevocationNoticePb;
pub use task::{
    CommandInfoPb, ExecutorInfoPb, KillPolicyPb, ReasonPb, SourcePb, TaskInfoPb, TaskStatePb,
    TaskStatusPb,
};
pub use time::{duration_from_pb, duration_to_pb, labels_from_pb, labels_to_pb};
