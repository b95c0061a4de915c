//! The maintenance book's types: an agent's window, its state (scheduled
//! or down) and the inverse offers it sent. Kept per agent by the core;
//! the maintenance process (`maintenance.rs`) drives them.

use std::collections::BTreeMap;
use std::time::Duration;

use corral::{AgentId, FrameworkId, OfferId};

/// When an agent is unavailable, in the master's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// When it goes down.
    pub start: Duration,
    /// How long it stays down; `None`: until [`MasterCore::end_maintenance`](crate::master::MasterCore::end_maintenance).
    pub duration: Option<Duration>,
}

impl Window {
    /// When the agent comes back, if the window has an end.
    pub fn end(&self) -> Option<Duration> {
        self.duration.map(|d| self.start.saturating_add(d))
    }
}

/// One inverse offer sent for a maintenance window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaintenanceOffer {
    /// Its id.
    pub id: OfferId,
    /// The framework's answer: `Some(true)` accepted, `Some(false)` declined.
    pub answer: Option<bool>,
}

/// One agent's scheduled maintenance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Maintenance {
    /// The window.
    pub window: Window,
    /// The window has started: the agent is down.
    pub down: bool,
    /// The inverse offer sent to each framework with tasks there.
    pub offers: BTreeMap<FrameworkId, MaintenanceOffer>,
}

/// Why a maintenance request was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MaintenanceError {
    /// No agent with this id.
    #[error("unknown agent {0}")]
    UnknownAgent(AgentId),
    /// The window starts in the past.
    #[error("the window of agent {agent} starts at {start:?}, before now ({now:?})")]
    StartsInThePast {
        /// The agent.
        agent: AgentId,
        /// The asked start.
        start: Duration,
        /// The master's clock.
        now: Duration,
    },
    /// A zero-length window.
    #[error("the window of agent {0} has a zero duration")]
    EmptyWindow(AgentId),
    /// The agent is already down; end its window first.
    #[error("agent {0} is already down for maintenance")]
    AlreadyDown(AgentId),
    /// No maintenance is scheduled for the agent.
    #[error("no maintenance is scheduled for agent {0}")]
    NotScheduled(AgentId),
}
