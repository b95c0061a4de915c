//! The faults the harness injects, each through public operations: of its
//! own simulated wire (a broken connection ends the stream as a dropped
//! client would), and of the master core (a lost agent is marked lost, a
//! failing task is its agent's report, a failover is every stream dropped
//! and a new leader id, a task that ignores its kill is a property of its
//! simulated agent). The core keeps no fault state of its own.

use std::time::Duration;

use corral::Reason;
use corral::{AgentId, FrameworkId, TaskId};
use corral_proto::convert::ReasonPb;
use corral_proto::pb::TaskState;
use tracing::warn;

use super::engine::Engine;
use crate::agent::AgentReport;
use crate::master::{AgentError, StreamId};

/// Why a fault could not be injected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FaultError {
    /// No framework with this id (or it is not connected, for faults on
    /// its connection).
    #[error("framework {0} is not connected")]
    NotConnected(FrameworkId),
    /// The agents book refused: unknown agent, already lost, not lost.
    #[error(transparent)]
    Agent(#[from] AgentError),
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

/// Cuts `fw`'s stream: it ends, and the core hears the client is gone.
pub(crate) fn break_connection(
    engine: &mut Engine,
    now: Duration,
    fw: &FrameworkId,
) -> Result<(), FaultError> {
    let stream = engine
        .stream_of(fw)
        .ok_or_else(|| FaultError::NotConnected(fw.clone()))?;
    warn!(framework = %fw, %stream, "fault: connection broken");
    engine.dropped(now, &stream);
    Ok(())
}

/// A master failover: a new leader (new id) with the same agents and
/// tasks, every stream gone.
pub(crate) fn fail_over(engine: &mut Engine, now: Duration) {
    engine.failovers += 1;
    let id = format!("{}-{}", engine.core.config().master_id, engine.failovers);
    warn!(master = %id, "fault: master failover");
    engine.core.set_master_id(id);
    let streams: Vec<StreamId> = engine
        .core
        .frameworks()
        .iter()
        .filter_map(|r| r.stream().cloned())
        .collect();
    for stream in streams {
        engine.dropped(now, &stream);
    }
}

/// Loses `agent` to a partition.
pub(crate) fn lose_agent(
    engine: &mut Engine,
    now: Duration,
    agent: &AgentId,
) -> Result<(), FaultError> {
    warn!(%agent, "fault: agent lost");
    Ok(engine.core.lose_agent(now, agent)?)
}

/// Brings a lost agent back.
pub(crate) fn restore_agent(
    engine: &mut Engine,
    now: Duration,
    agent: &AgentId,
) -> Result<(), FaultError> {
    Ok(engine.core.restore_agent(now, agent)?)
}

/// The agent of live `task`, if it is reachable.
fn reachable_agent(
    engine: &Engine,
    fw: &FrameworkId,
    task: &TaskId,
) -> Result<AgentId, FaultError> {
    let record = engine
        .core
        .tasks()
        .get(fw, task)
        .filter(|t| !crate::master::books::tasks::is_terminal(t.state))
        .ok_or_else(|| FaultError::UnknownTask {
            framework: fw.clone(),
            task: task.clone(),
        })?;
    if engine.core.agents().is_lost(&record.agent) {
        return Err(FaultError::Unreachable(task.clone()));
    }
    Ok(record.agent.clone())
}

/// The agent of live `task` reports it failed with `reason`.
pub(crate) fn fail_task(
    engine: &mut Engine,
    now: Duration,
    fw: &FrameworkId,
    task: &TaskId,
    reason: Reason,
    message: &str,
) -> Result<(), FaultError> {
    reachable_agent(engine, fw, task)?;
    warn!(framework = %fw, %task, ?reason, "fault: task fails");
    engine.core.agent_status(
        now,
        AgentReport {
            framework: fw.clone(),
            task: task.clone(),
            state: TaskState::TaskFailed,
            message: message.to_owned(),
            // A reason of a newer corral-types than this crate's wire
            // knows goes out without one.
            reason: reason.to_pb(),
            sandbox: None,
            unstoppable: false,
        },
    );
    Ok(())
}

/// The simulated agent of live `task` will ignore its kill.
pub(crate) fn ignore_kill(
    engine: &mut Engine,
    fw: &FrameworkId,
    task: &TaskId,
) -> Result<(), FaultError> {
    let agent = reachable_agent(engine, fw, task)?;
    if !engine.core.simulated_agent_ignores_kill(&agent, fw, task) {
        return Err(FaultError::UnknownTask {
            framework: fw.clone(),
            task: task.clone(),
        });
    }
    warn!(framework = %fw, %task, "fault: task will ignore its kill");
    Ok(())
}
