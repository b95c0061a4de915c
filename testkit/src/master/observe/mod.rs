//! Seeing what the master does: its counters ([`telemetry`], held by the
//! core), one consistent look at its books ([`gather`]), and the
//! endpoints rendered from it, served on the master's HTTP address:
//!
//! | path | what |
//! |---|---|
//! | `/master/state` (`/state`), `/master/state-summary`, `/master/frameworks`, `/master/tasks` (`limit`, `offset`, `order`, `framework_id`, `task_id`), `/master/roles` | Mesos 1.11's JSON shapes ([`mesos_json`]) |
//! | `/metrics/snapshot` | Mesos's metric names, flat JSON ([`snapshot`]) |
//! | `/metrics` | Prometheus / OpenMetrics text ([`prom`]) |
//! | `/master/why-not-offered?framework_id=&role=` | why a framework gets nothing under a role ([`why`]) |
//! | `/observe`, `/observe/events`, `/observe/view` | the live page, its server-sent events and one view as JSON ([`live`]) |
//!
//! Tracing: each call handled by the core runs in a `call` span (fields
//! `call`, `framework`), each allocation cycle in an `allocation_cycle`
//! span (field `cycle`); offers, revocations and kills are logged inside
//! them with their framework, role, agent and offer ids.

pub mod gather;
pub mod live;
pub mod mesos_json;
pub mod prom;
pub(super) mod routes;
pub mod snapshot;
pub mod telemetry;
pub mod why;

pub use gather::{FrameworkFacts, MasterFacts, Observation, QueueDepth, TaskFacts};
pub use routes::parse_tasks_query;
