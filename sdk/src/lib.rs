//! # corral
//!
//! Write a scheduler for a two-level, offer-based resource manager (Apache
//! Mesos or the `corral-testkit` mock master) by implementing one async trait.
//! The runtime subscribes, dispatches events in order, acknowledges status
//! updates, watches heartbeats, reconnects, and keeps offers from being
//! hoarded.

#![warn(missing_docs)]

pub mod ids;
pub mod pb;
pub mod resources;
pub mod rng;

pub use ids::{AgentId, ExecutorId, FrameworkId, InvalidRole, OfferId, Role, TaskId};
pub use resources::{Ranges, Resource, Resources, ResourcesError, Scalar, Value};
