//! The wire types, generated from `sdk/proto/proto` at build time.
//!
//! They mirror the Mesos v1 scheduler API message for message and field for
//! field, plus corral's extensions. [`scheduler_client`] and
//! [`scheduler_server`] are the gRPC stubs.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

tonic::include_proto!("corral.v1");
