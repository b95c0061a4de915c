//! The book of agents the master cannot reach: when each was lost, the
//! frozen tasks of partition-aware frameworks there, and the kills waiting
//! for the agent's return. The agent-loss process (`faults.rs`) drives it.

use std::collections::BTreeMap;
use std::time::Duration;

use corral::{AgentId, FrameworkId, TaskId};

use super::tasks::Frozen;

/// Why a fault could not be injected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FaultError {
    /// No framework with this id (or it is not connected, for faults on
    /// its connection).
    #[error("framework {0} is not connected")]
    NotConnected(FrameworkId),
    /// No agent with this id is registered.
    #[error("unknown agent {0}")]
    UnknownAgent(AgentId),
    /// The agent is not lost, so it cannot come back.
    #[error("agent {0} is not lost")]
    AgentNotLost(AgentId),
    /// No live task with this id for this framework.
    #[error("framework {framework} has no live task {task}")]
    UnknownTask {
        /// The framework.
        framework: FrameworkId,
        /// The task.
        task: TaskId,
    },
    /// The task's agent is lost: the master cannot reach it.
    #[error("task {0} is on a lost agent")]
    Unreachable(TaskId),
}

/// The master's memory of the faults in force.
#[derive(Debug, Default)]
pub struct FaultBook {
    /// Lost agents and when they were lost.
    pub(super) lost: BTreeMap<AgentId, Duration>,
    /// Frozen tasks of lost agents: their state before, and their pending
    /// transition as time left.
    pub(super) frozen: BTreeMap<(FrameworkId, TaskId), Frozen>,
    /// Kills asked for tasks on lost agents, with their grace period.
    pub(super) pending_kills: BTreeMap<(FrameworkId, TaskId), Option<Duration>>,
    /// How many failovers happened (names the new master).
    pub(super) failovers: u64,
}

impl FaultBook {
    /// Whether `agent` is lost.
    pub fn is_lost(&self, agent: &AgentId) -> bool {
        self.lost.contains_key(agent)
    }
}
