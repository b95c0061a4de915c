//! The operator API's wire types and gRPC stubs, generated from
//! `testkit/proto/corral/v1/operator.proto` at build time. Resources are the
//! SDK's `corral_proto::pb::Resource`. Prefer [`OperatorClient`](super::OperatorClient),
//! which speaks plain Rust types.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

tonic::include_proto!("corral.v1");
