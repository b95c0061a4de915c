//! The test harness: run a framework against faults, deterministically.
//!
//! A [`Cluster`] is the mock master's core with its agents, driven on
//! tokio's clock (pause it, and a ten-minute scenario runs in
//! milliseconds), with the frameworks under test attached in-process
//! through a transport that calls the core directly. Around the core:
//!
//! - a simulated wire per framework that can lose, duplicate,
//!   delay or reorder status updates, lose acknowledgements, or go silent;
//! - the master's own faults: a broken connection, a failover, a lost
//!   agent (and its return), a task that fails or ignores its kill, each
//!   injected through public operations of the wire and the core's books
//!   (`faults.rs`), never through fault state the master reads;
//! - a recorder ([`Trace`]): every call (typed: the SDK's own [`Call`]),
//!   every event on the wire (as the framework reads it), every
//!   event a handler saw, every fault, stamped with virtual time, with
//!   assertion helpers and a readable dump;
//! - the master's invariants, checked after every step; a broken one fails
//!   the test with the trace;
//! - external inputs to a running framework, injected at a virtual instant
//!   ([`Cluster::launch_with_inputs`], [`Cluster::input_at`]) and
//!   recorded twice: when injected and when its handler takes it;
//! - operator actions mid-scenario: weights, quota, reservations
//!   ([`Cluster::set_quota`] and the others), recorded in the trace.
//!
//! For framework logic that should be tested without the allocator's
//! choices in the way, [`Script`] plays the master step by step instead.
//!
//! Same seed, same trace: the core's choices come from the seed, the
//! frameworks' backoff jitter too, and under a paused clock on a
//! current-thread runtime every step happens in the same order.

mod calls;
mod cluster;
mod engine;
mod faults;
mod network;
mod operator;
mod recorded;
pub mod script;
mod trace;
mod transport;

pub use cluster::{Cluster, Injector, Running};
/// The calls the recorder and the script speak: the SDK's own.
pub use corral::{Call, CallKind};
pub use faults::FaultError;
pub use recorded::Recorded;
pub use script::{Accepted, Script, ScriptError, ScriptTransport};
pub use trace::{Entry, Trace, What};
pub use transport::ClusterTransport;
