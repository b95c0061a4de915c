//! The master's books: each owns one kind of state behind private fields,
//! keeps its own invariants, and imports no other book nor anything above
//! it (checked by `tests/import_graph.rs`).
//!
//! | book | owns |
//! |---|---|
//! | [`agents`] ([`AgentBook`](agents::AgentBook)) | per agent: spec and total, kind, liveness (up, lost, down), maintenance window and inverse offers, kills waiting for a lost agent, local sandboxes, simulated behaviour |
//! | [`frameworks`] ([`FrameworkBook`](frameworks::FrameworkBook)) | per framework: info, roles, suppressed roles, capabilities, connection, requests; the bounded memory of removed ones; issued ids |
//! | [`tasks`] ([`TaskTable`](tasks::TaskTable)) | live tasks with a by-agent index and a deadline index, executors, tasks frozen on lost agents, a bounded history of completed tasks per framework; checks its own invariants |
//! | [`offers`] ([`OfferBook`](offers::OfferBook)) | outstanding offers with an expiry index, a bounded memory of retired ones |
//! | [`updates`] ([`StatusUpdates`](updates::StatusUpdates)) | reliable status updates per framework: in flight, queued, resend timers |
//! | [`revocations`] ([`RevocationBook`](revocations::RevocationBook)) | revocation notices, and the arithmetic of what borrowed tasks cover |
//!
//! A book's files may import the configuration types (`master/config.rs`),
//! the simulated plans (`master/sim.rs`), the allocator's types and the
//! local agents' types, never another book nor the calls, processes and
//! edges above.

pub mod agents;
pub mod frameworks;
pub mod offers;
pub mod revocations;
pub mod tasks;
pub mod updates;
