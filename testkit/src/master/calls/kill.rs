//! KILL, and the kill process every other kill goes through: a task on a
//! local agent is ordered killed, one on a lost agent waits for its return
//! (kept by the agents book), a simulated one (with its task group) starts
//! stopping; a simulated agent may ignore the kill (its property, in the
//! agents book).

use crate::master::books::tasks::is_terminal;
use crate::master::books::tasks::KillOutcome;
use crate::master::calls;
use crate::master::core::task_status;
use crate::master::core::MasterCore;
use crate::master::error::CallError;
use crate::master::processes::local_tasks;
use corral::AgentId;
use corral::FrameworkId;
use corral::Reason;
use corral::Source;
use corral::TaskId;
use corral::TaskState;
use std::time::Duration;
use tracing::info;
use tracing::warn;

/// KILL: an unknown task gets TASK_LOST (TASK_UNKNOWN if partition
/// aware); a live one (with its task group) starts stopping, with
/// TASK_KILLING first for frameworks with the TASK_KILLING_STATE
/// capability; a terminal one is left alone.
/// KILL's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kill {
    /// The task.
    pub task: TaskId,
    /// The agent the framework says it is on.
    pub agent: Option<AgentId>,
    /// Overrides the task's kill policy grace period.
    pub grace: Option<Duration>,
}

pub(in crate::master) fn kill(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    kill: Kill,
) -> Result<(), CallError> {
    let capabilities = calls::record(core, fw)?.capabilities;
    let task = kill.task;
    let Some(record) = core.tasks.get(fw, &task) else {
        warn!(framework = %fw, %task, "KILL of an unknown task");
        let state = if capabilities.partition_aware {
            TaskState::Unknown
        } else {
            TaskState::Lost
        };
        let mut status = task_status(now, &task, state, Source::Master);
        status.reason = Some(Reason::TaskUnknown);
        status.message = Some(format!(
            "cannot kill task {task}: it is unknown to the master"
        ));
        status.agent_id = kill.agent;
        core.report(now, fw, status);
        return Ok(());
    };
    if is_terminal(record.state) {
        return Ok(());
    }
    kill_task(core, now, fw, &task, kill.grace);
    Ok(())
}

/// Starts killing a live task wherever it runs: on a local agent, on a
/// lost agent (when it comes back), or simulated. `grace` overrides the
/// task's KillPolicy grace period.
pub(in crate::master) fn kill_task(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    task: &TaskId,
    grace: Option<Duration>,
) {
    let Some(agent) = core.tasks.get(fw, task).map(|t| t.agent.clone()) else {
        return;
    };
    core.telemetry_mut().task_killed(now, fw, task);
    if local_tasks::is_local_agent(core, &agent) {
        let killing_state = core
            .frameworks
            .get(fw)
            .is_some_and(|r| r.capabilities.task_killing_state);
        local_tasks::kill_local(core, now, fw, task, grace, killing_state);
        return;
    }
    if !defer_kill_if_lost(core, fw, task, grace) {
        start_kill(core, now, fw, task, grace);
    }
}

/// Whether a kill of `task` must wait for its lost agent; if so it is
/// remembered and carried out when the agent comes back.
fn defer_kill_if_lost(
    core: &mut MasterCore,
    fw: &FrameworkId,
    task: &TaskId,
    grace: Option<Duration>,
) -> bool {
    let Some(agent) = core.tasks.get(fw, task).map(|t| t.agent.clone()) else {
        return false;
    };
    let lost = core.agents.defer_kill(&agent, fw, task, grace);
    if lost {
        info!(framework = %fw, %task, "kill of a task on a lost agent deferred until it returns");
    }
    lost
}

/// Starts killing `task` and its task group (TASK_KILLING first for
/// frameworks with the capability).
pub(in crate::master) fn start_kill(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    task: &TaskId,
    grace: Option<Duration>,
) {
    let killing_state = core
        .frameworks
        .get(fw)
        .is_some_and(|r| r.capabilities.task_killing_state);
    for member in core.tasks.kill_set(fw, task) {
        let on = core.tasks.get(fw, &member).map(|t| t.agent.clone());
        if on.is_some_and(|agent| core.agents.take_ignores_kill(&agent, fw, &member)) {
            // The simulated agent ignores this kill: only the grace
            // period stops the task.
            core.tasks.ignore_kills(fw, &member);
        }
        let outcome = core.tasks.kill(now, fw, &member, grace, killing_state);
        if !matches!(outcome, KillOutcome::Killing { .. }) || !killing_state {
            continue;
        }
        let Some(record) = core.tasks.get(fw, &member) else {
            continue;
        };
        let mut status = task_status(now, &member, TaskState::Killing, Source::Executor);
        status.agent_id = Some(record.agent.clone());
        status.executor_id = record.executor.clone();
        core.report(now, fw, status);
    }
}
