//! The wire types, generated from `sdk/proto` at build time.
//!
//! They mirror the Mesos v1 scheduler API message for message and field for
//! field. Framework code should not need them: the crate's plain Rust types
//! (`Offer`, `TaskInfo`, `Resources`...) convert to and from these at the edge.
//! They are public for transports and for the testkit's mock master.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

tonic::include_proto!("corral.v1");
