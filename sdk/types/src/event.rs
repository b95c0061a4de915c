//! The events a master sends, as plain Rust values, already checked:
//! what a transport yields to the runtime.
//!
//! Decoding is item by item: one malformed offer in an OFFERS event does
//! not lose the others. The good items come as values; each bad one as a
//! [`MalformedItem`] with its id when the id could be read, so the runtime
//! can decline it rather than let it sit hoarded.

use std::time::Duration;

use crate::error::ProtocolError;
use crate::offer::{InverseOffer, Offer};
use crate::revocation::RevocationNotice;
use crate::task::TaskStatus;
use crate::{AgentId, ExecutorId, FrameworkId, OfferId};

/// The longest heartbeat interval a master may ask for; a longer one (up
/// to infinity) is capped to this.
pub const MAX_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(3600);
/// The shortest heartbeat interval a master may ask for; a shorter
/// positive one is raised to this.
pub const MIN_HEARTBEAT_INTERVAL: Duration = Duration::from_millis(10);
/// The heartbeat interval assumed when the master gives none, or one that
/// is not a positive number (NaN, zero, negative): Mesos's default.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);

/// The master accepted the subscription.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Subscribed {
    /// The framework's id (the same one on every resubscription).
    pub framework_id: FrameworkId,
    /// How often the master sends heartbeats, within
    /// [`MIN_HEARTBEAT_INTERVAL`]..=[`MAX_HEARTBEAT_INTERVAL`].
    pub heartbeat_interval: Duration,
    /// True when this is a resubscription after a disconnection (set by
    /// the runtime; a transport leaves it false).
    pub resubscribed: bool,
}

impl Subscribed {
    /// SUBSCRIBED for `framework_id` with a heartbeat every
    /// `heartbeat_interval` (clamped to the allowed range).
    pub fn new(framework_id: impl Into<FrameworkId>, heartbeat_interval: Duration) -> Self {
        Subscribed {
            framework_id: framework_id.into(),
            heartbeat_interval: heartbeat_interval
                .clamp(MIN_HEARTBEAT_INTERVAL, MAX_HEARTBEAT_INTERVAL),
            resubscribed: false,
        }
    }

    /// The interval for a wire value in seconds: missing, NaN, zero or
    /// negative give [`DEFAULT_HEARTBEAT_INTERVAL`]; the rest is clamped
    /// to [`MIN_HEARTBEAT_INTERVAL`]..=[`MAX_HEARTBEAT_INTERVAL`]. Never
    /// panics.
    pub fn interval_from_seconds(seconds: Option<f64>) -> Duration {
        match seconds {
            Some(s) if s.is_finite() && s > 0.0 => {
                if s >= MAX_HEARTBEAT_INTERVAL.as_secs_f64() {
                    MAX_HEARTBEAT_INTERVAL
                } else {
                    Duration::from_secs_f64(s).max(MIN_HEARTBEAT_INTERVAL)
                }
            }
            Some(s) if s == f64::INFINITY => MAX_HEARTBEAT_INTERVAL,
            _ => DEFAULT_HEARTBEAT_INTERVAL,
        }
    }
}

/// An agent or executor was lost.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// The agent that was lost, or that ran the executor.
    pub agent_id: Option<AgentId>,
    /// The executor that exited, if it is an executor failure.
    pub executor_id: Option<ExecutorId>,
    /// The executor's exit status.
    pub status: Option<i32>,
}

impl Failure {
    /// The agent `agent` was lost.
    pub fn agent(agent: impl Into<AgentId>) -> Self {
        Failure {
            agent_id: Some(agent.into()),
            executor_id: None,
            status: None,
        }
    }

    /// The executor `executor` on `agent` exited with `status`.
    pub fn executor(
        agent: impl Into<AgentId>,
        executor: impl Into<ExecutorId>,
        status: Option<i32>,
    ) -> Self {
        Failure {
            agent_id: Some(agent.into()),
            executor_id: Some(executor.into()),
            status,
        }
    }
}

/// One item of an event that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MalformedItem {
    /// Its id, when that much could be read (then an offer can be declined).
    pub id: Option<OfferId>,
    /// What is wrong with it.
    pub error: ProtocolError,
}

impl MalformedItem {
    /// A malformed item, with its id if known.
    pub fn new(id: Option<OfferId>, error: ProtocolError) -> Self {
        MalformedItem { id, error }
    }
}

/// One item of an INVERSE_OFFERS event.
///
/// Exhaustive, as [`MasterEvent`] is: the runtime handles every kind.
#[derive(Clone, Debug, PartialEq)]
pub enum InverseItem {
    /// A maintenance inverse offer (it names no tasks).
    Maintenance(InverseOffer),
    /// A revocation notice (an inverse offer naming tasks).
    Revocation(RevocationNotice),
    /// One that could not be read.
    Malformed(MalformedItem),
}

/// An event from the master, checked and decoded.
///
/// Deliberately exhaustive: the runtime must handle every event, so a new
/// one breaks it at compile time instead of being ignored.
#[derive(Clone, Debug, PartialEq)]
pub enum MasterEvent {
    /// SUBSCRIBED.
    Subscribed(Subscribed),
    /// OFFERS: the readable offers, and those that were not.
    Offers {
        /// The offers that were read.
        offers: Vec<Offer>,
        /// The offers that could not be read.
        malformed: Vec<MalformedItem>,
    },
    /// INVERSE_OFFERS, item by item in wire order.
    InverseOffers(Vec<InverseItem>),
    /// RESCIND: an offer was withdrawn.
    Rescind(OfferId),
    /// RESCIND_INVERSE_OFFER: an inverse offer (or notice) was withdrawn.
    RescindInverseOffer(OfferId),
    /// UPDATE: a task's status.
    Update(TaskStatus),
    /// MESSAGE from an executor.
    Message {
        /// The executor's agent.
        agent_id: AgentId,
        /// The executor.
        executor_id: ExecutorId,
        /// The message.
        data: Vec<u8>,
    },
    /// FAILURE: an agent or executor was lost.
    Failure(Failure),
    /// ERROR: the master ends the framework.
    Error(String),
    /// HEARTBEAT.
    Heartbeat,
    /// An event that could not be read at all (unknown type, missing
    /// payload, unreadable status): logged and skipped by the runtime.
    Malformed(ProtocolError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_nan_negative_and_tiny_heartbeat_intervals_are_capped_not_panics() {
        let read = Subscribed::interval_from_seconds;
        assert_eq!(read(Some(1e20)), MAX_HEARTBEAT_INTERVAL);
        assert_eq!(read(Some(f64::INFINITY)), MAX_HEARTBEAT_INTERVAL);
        assert_eq!(read(Some(f64::MAX)), MAX_HEARTBEAT_INTERVAL);
        assert_eq!(read(Some(f64::NAN)), DEFAULT_HEARTBEAT_INTERVAL);
        assert_eq!(read(Some(-1.0)), DEFAULT_HEARTBEAT_INTERVAL);
        assert_eq!(read(Some(f64::NEG_INFINITY)), DEFAULT_HEARTBEAT_INTERVAL);
        assert_eq!(read(Some(0.0)), DEFAULT_HEARTBEAT_INTERVAL);
        assert_eq!(read(None), DEFAULT_HEARTBEAT_INTERVAL);
        assert_eq!(read(Some(1e-300)), MIN_HEARTBEAT_INTERVAL);
        assert_eq!(read(Some(2.5)), Duration::from_millis(2500));
        assert_eq!(
            Subscribed::new("fw", Duration::MAX).heartbeat_interval,
            MAX_HEARTBEAT_INTERVAL
        );
    }
}
