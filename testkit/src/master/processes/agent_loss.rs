//! Agent loss and return, and the kill process that waits for a lost
//! agent: the processes that span the agents, tasks, offers and updates
//! books when an agent becomes unreachable (a partition) or re-registers.
//!
//! A lost agent ([`MasterCore::lose_agent`]: the agents book marks it
//! lost) leaves the allocator and its offers are rescinded. Tasks of
//! PARTITION_AWARE frameworks become TASK_UNREACHABLE and are frozen where
//! they were (the tasks book keeps what they were doing); the others become
//! TASK_LOST and are gone. When the agent comes back
//! ([`MasterCore::restore_agent`]) it re-registers with the frozen tasks,
//! which resume (an update with their state and `REASON_AGENT_REREGISTERED`
//! tells their framework), and the kills the agents book kept meanwhile
//! are carried out.
//!
//! The harness's faults (`crate::harness`) call these public operations;
//! nothing here is a test-only fault.

use crate::master::books::agents::AgentError;
use crate::master::calls::kill;
use crate::master::core::task_status;
use crate::master::core::MasterCore;
use crate::master::processes::allocation;
use corral::AgentId;
use corral::FrameworkId;
use corral::Reason;
use corral::Resources;
use corral::Source;
use corral::TaskId;
use corral::TaskState;
use std::collections::BTreeMap;
use std::time::Duration;
use tracing::info;
use tracing::warn;

/// Loses `agent` to a partition. See the module docs.
pub(in crate::master) fn lose_agent(
    core: &mut MasterCore,
    now: Duration,
    agent: &AgentId,
) -> Result<(), AgentError> {
    core.agents.mark_lost(now, agent)?;
    warn!(%agent, "agent lost");
    core.touch_all();
    let offers: Vec<_> = core
        .offers
        .iter()
        .filter(|o| &o.agent == agent)
        .map(|o| o.id.clone())
        .collect();
    for offer in offers {
        core.rescind(now, &offer);
    }
    {
        let result = core.allocator.remove_agent(agent);
        core.note(result, "remove_agent");
    };
    let keys: Vec<(FrameworkId, TaskId)> = core
        .tasks
        .live_on(agent)
        .map(|t| (t.framework.clone(), t.id.clone()))
        .collect();
    for key in keys {
        let aware = core
            .frameworks
            .get(&key.0)
            .is_some_and(|r| r.capabilities.partition_aware);
        let (state, executor) = if aware {
            if !core.tasks.freeze(now, &key.0, &key.1) {
                continue;
            }
            let executor = core
                .tasks
                .get(&key.0, &key.1)
                .and_then(|t| t.executor.clone());
            (TaskState::Unreachable, executor)
        } else {
            // Gone for good. What it freed is not recovered: the agent
            // already left the allocator.
            let Some(ended) = core
                .tasks
                .report_external(&key.0, &key.1, TaskState::Lost, None)
            else {
                continue;
            };
            (TaskState::Lost, ended.executor)
        };
        let mut status = task_status(now, &key.1, state, Source::Master);
        status.agent_id = Some(agent.clone());
        status.executor_id = executor.clone();
        status.reason = Some(Reason::AgentRemoved);
        status.message = Some(format!("agent {agent} is unreachable"));
        core.report(now, &key.0, status);
    }
    Ok(())
}

/// Brings a lost agent back: it re-registers with its frozen tasks,
/// which resume; pending kills are carried out; an allocation runs.
pub(in crate::master) fn restore_agent(
    core: &mut MasterCore,
    now: Duration,
    agent: &AgentId,
) -> Result<(), AgentError> {
    let spec = core
        .agents
        .spec(agent)
        .cloned()
        .ok_or_else(|| AgentError::Unknown(agent.clone()))?;
    let returned = core.agents.mark_returned(agent)?;
    info!(%agent, lost_for = ?now.saturating_sub(returned.lost_at), "agent back");
    core.touch_all();
    // What the returning tasks (and their executors) hold.
    let mut used: BTreeMap<FrameworkId, Resources> = BTreeMap::new();
    for task in core.tasks.live_on(agent) {
        if core.tasks.is_frozen(&task.framework, &task.id) {
            *used.entry(task.framework.clone()).or_default() += &task.resources;
        }
    }
    for ((fw, on, _), usage) in core.tasks.executors() {
        if on == agent && usage.live_tasks > 0 && used.contains_key(fw) {
            *used.entry(fw.clone()).or_default() += &usage.resources;
        }
    }
    let used: Vec<(FrameworkId, Resources)> = used.into_iter().collect();
    {
        let result = core
            .allocator
            .add_agent_in_use(agent.clone(), spec.resources.clone(), &used);
        core.note(result, "add_agent_in_use");
    };
    if core.agents.is_down(agent) {
        // Back during its maintenance window: still offered to nobody.
        {
            let result = core.allocator.deactivate_agent(agent);
            core.note(result, "deactivate_agent");
        };
    }
    for (fw, task, state) in core.tasks.thaw_on(now, agent) {
        let executor = core.tasks.get(&fw, &task).and_then(|t| t.executor.clone());
        let mut status = task_status(now, &task, state, Source::Master);
        status.agent_id = Some(agent.clone());
        status.executor_id = executor.clone();
        status.reason = Some(Reason::AgentReregistered);
        status.message = Some(format!("agent {agent} re-registered"));
        core.report(now, &fw, status);
    }
    for (fw, task, grace) in returned.kills {
        if core
            .tasks
            .get(&fw, &task)
            .is_some_and(|t| &t.agent == agent)
        {
            kill::start_kill(core, now, &fw, &task, grace);
        }
    }
    allocation::allocate_now(core, now);
    Ok(())
}
