//! # jenkins: build agents that exist only while builds need them
//!
//! A CI controller on an offer-based cluster. Builds queue up; each label's
//! agents are tasks launched from resource offers when a build waits and
//! no agent of its label is free, within per-label and total caps; an
//! agent goes away after its build (single-use) or after a spell idle
//! (reused). The Jenkins Mesos plugin did this, and its failures are the
//! lessons this example answers:
//!
//! | what went wrong there | here |
//! |---|---|
//! | offers hoarded while builds waited elsewhere | an offer is used at once or declined with a long filter; none is kept ([`controller`]) |
//! | a decline duration read in the wrong unit (minutes became a week) | durations carry their unit in their type ([`units`]) |
//! | offers kept coming to an idle controller | suppressed when nothing waits, revived (rate-limited) when a build arrives ([`provision`]) |
//! | agents left running on shutdown | shutdown stops every agent and tears down only when the last is gone |
//!
//! Preemptible labels run on revocable resources (another role's idle
//! share): a revocation notice aborts the build, puts it back at the front
//! of the queue marked requeued, and releases the agent gracefully.
//!
//! Agents are tasks: each runs this binary's `agent` subcommand
//! ([`agent`]), which connects back to the controller's [`hub`] over a
//! line protocol ([`wire`]) and runs builds one at a time as real
//! processes, streaming their output into the build's log; an abort stops
//! a step with SIGTERM, a grace period, then SIGKILL. On simulated agents
//! (the virtual-time tests) a build is its steps' simulated durations.
//! The state lives in an embedded database ([`store`]): a restarted
//! controller resubscribes with the same framework id and re-adopts its
//! agents with their builds. The [`api`] speaks the part of Jenkins's
//! remote API that scripts use.
//!
//! Module map, by what each owns: [`config`] (the jobs file), [`units`]
//! (durations with units), [`queue`] (builds and their numbers),
//! [`pool`] (agents), [`provision`] (demand and offer planning, pure),
//! [`controller`] (the scheduler), [`agent`], [`hub`] and [`wire`] (real
//! agents), [`store`] (restarts), [`view`] and [`api`] (the remote API),
//! [`summary`] (the results).
//!
//! Limits and what is not built are listed in the README.

#![warn(missing_docs)]

pub mod agent;
pub mod api;
pub mod config;
pub mod controller;
pub mod hub;
pub mod pool;
pub mod provision;
pub mod queue;
pub mod store;
pub mod summary;
pub mod units;
pub mod view;
pub mod wire;

pub use config::{AgentTemplate, ConfigError, JobSpec, JobsFile, Revocable};
pub use controller::{Controller, Happened, Input, Refused, Runner, Submitted};
pub use queue::{BuildId, BuildResult};
pub use summary::Summary;
