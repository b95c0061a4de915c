//! # corral-mesos
//!
//! The Mesos v1 scheduler HTTP API, for corral's HTTP transport and for a
//! master's Mesos front door:
//!
//! - [`pb`]: the protocol, `mesos.v1` and `mesos.v1.scheduler`, written by
//!   us from the published field numbers and compiled with protox (no
//!   system `protoc`);
//! - [`json`]: Mesos's JSON (stout's mapping, not proto3's), driven by the
//!   descriptors;
//! - [`recordio`]: the framing of the event stream, with an incremental
//!   decoder;
//! - [`convert`]: checked conversions to and from corral's plain types,
//!   both ways, for calls and events, and the capability-dependent shape
//!   of offers.
//!
//! Nothing here touches the network. Every reader returns a typed error on
//! bad input and never panics (the property tests feed it arbitrary
//! bytes).

#![warn(missing_docs)]

pub mod convert;
pub mod json;
pub mod pb;
pub mod recordio;

/// The media type of protobuf bodies, compared exactly as Mesos does.
pub const PROTOBUF: &str = "application/x-protobuf";
/// The media type of JSON bodies, compared exactly as Mesos does.
pub const JSON: &str = "application/json";
/// The header carrying the subscription's stream id.
pub const STREAM_ID_HEADER: &str = "Mesos-Stream-Id";
/// The scheduler API's path.
pub const SCHEDULER_PATH: &str = "/api/v1/scheduler";
