//! The runtime's shell: what only the IO around the core does, against
//! the smallest fake transport, on tokio's paused clock.
//!
//! Every decision (what to acknowledge, decline, hide, suppress, revive,
//! kill, which notices to show again) is the core's and is tested without
//! any transport in `src/runtime/core_tests.rs`; the wire form is
//! `corral-proto`'s and is tested there. What is left here is the shell's
//! own: subscribing and resubscribing with backoff, the heartbeat silence
//! deadline, queued revives and timers firing at their instant, inputs,
//! acknowledgements sent in the background and joined, transport errors,
//! and how a run ends.
//!
//! One file per part of the shell; `fake.rs` holds the fake transport.

mod connection;
mod fake;
mod inputs;
mod revocation;
mod shutdown;
mod stream;
