//! # corral-testkit
//!
//! A faithful mock of an offer-based master, in-process for tests (virtual
//! time, deterministic) and as a standalone server (`mock-master`), so
//! frameworks written with `corral` can be run and tested without a cluster.

#![warn(missing_docs)]

// The README's guide is compiled and run with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

// The workspace README's framework is compiled with them too (it needs
// both corral and this crate); CI also runs it as `examples/hello.rs`.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct WorkspaceReadmeDoctests;

pub mod agent;
pub mod allocator;
pub mod browser;
pub mod channel_transport;
pub mod harness;
pub mod rng;
pub mod wire;

pub mod master;
pub use channel_transport::ChannelTransport;
pub use harness::{Call, CallKind, Cluster, Injector, Running, Script, Trace};
pub use master::{AgentKind, AgentSpec, MasterConfig, MasterError, MasterState, MockMaster};
