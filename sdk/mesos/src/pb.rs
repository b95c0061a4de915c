//! The Mesos v1 wire types, generated from `sdk/mesos/proto` at build time,
//! and their descriptor pool (for the JSON codec).
//!
//! [`mesos::v1`] holds the core types, [`mesos::v1::scheduler`] `Call` and
//! `Event`.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, MessageDescriptor};

/// The generated types, in their protobuf packages.
pub mod mesos {
    /// Package `mesos.v1`.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/mesos.v1.rs"));

        /// Package `mesos.v1.scheduler`.
        pub mod scheduler {
            include!(concat!(env!("OUT_DIR"), "/mesos.v1.scheduler.rs"));
        }
    }
}

/// corral's item-by-item view of an Event (not part of the protocol).
pub mod lenient {
    include!(concat!(env!("OUT_DIR"), "/corral.mesos.lenient.rs"));
}

pub use mesos::v1;
pub use mesos::v1::scheduler;

/// The encoded `FileDescriptorSet` of the two .proto files.
const DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/mesos_v1.bin"));

/// The descriptor pool of the Mesos v1 scheduler protocol (built once).
pub fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        // The set was produced by protox from our own files in build.rs, so
        // it always decodes; a failure here is a build defect.
        DescriptorPool::decode(DESCRIPTOR_SET).expect("descriptor set built by build.rs")
    })
}

/// The descriptor of `mesos.v1.scheduler.Call`.
pub fn call_descriptor() -> MessageDescriptor {
    message("mesos.v1.scheduler.Call")
}

/// The descriptor of `mesos.v1.scheduler.Event`.
pub fn event_descriptor() -> MessageDescriptor {
    message("mesos.v1.scheduler.Event")
}

/// The descriptor of a message by full name (e.g. `mesos.v1.Offer`), if
/// our files declare it.
pub fn message_descriptor(full_name: &str) -> Option<MessageDescriptor> {
    pool().get_message_by_name(full_name)
}

/// The descriptor of a message declared in our files, by full name.
fn message(full_name: &str) -> MessageDescriptor {
    pool()
        .get_message_by_name(full_name)
        .unwrap_or_else(|| panic!("{full_name} is declared in sdk/mesos/proto"))
}
