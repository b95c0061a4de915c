//! Tasks on local agents, as the pure master core sees them. Such a task
//! has no simulated timers: at launch the core leaves (in its one effect
//! list, [`Outgoing::Order`]) an
//! [`AgentOrder::Launch`] (and TASK_STAGING, as for any task), a KILL
//! leaves an [`AgentOrder::Kill`] (and TASK_KILLING with the capability),
//! removing a framework leaves an [`AgentOrder::StopFramework`]; the task's
//! other states come back as [`AgentReport`]s through
//! [`MasterCore::agent_status`] and go out as reliable status updates,
//! with the task's sandbox and log files in the status labels.
//!
//! Unlike simulated task groups (killed together), killing a task of a
//! group on a local agent kills that task only.

use crate::agent::AgentOrder;
use crate::agent::AgentReport;
use crate::agent::CommandSpec;
use crate::agent::SandboxPaths;
use crate::agent::TaskLaunch;
use crate::master::books::tasks::Launch;
use crate::master::core::task_status;
use crate::master::core::MasterCore;
use crate::master::effects::Outgoing;
use corral::AgentId;
use corral::FrameworkId;
use corral::Reason;
use corral::Source;
use corral::TaskId;
use corral_proto::convert::*;
use std::time::Duration;
use tracing::debug;
use tracing::info;

/// What a task on a local agent runs, read at ACCEPT.
#[derive(Clone, Debug, PartialEq)]
pub(in crate::master) struct LocalCommand {
    pub(in crate::master) spec: CommandSpec,
    pub(in crate::master) environment: Vec<(String, String)>,
}

/// Whether `agent` runs its tasks as real processes.
pub(in crate::master) fn is_local_agent(core: &MasterCore, agent: &AgentId) -> bool {
    core.agents.is_local(agent)
}

/// Where the sandbox of `task` of `framework` is, once its local agent
/// has made it.
pub(in crate::master) fn sandbox<'a>(
    core: &'a MasterCore,
    framework: &FrameworkId,
    task: &TaskId,
) -> Option<&'a SandboxPaths> {
    core.agents.sandbox(framework, task)
}

/// A local agent's report about one of its tasks: the task's new state
/// goes to its framework as a status update (source EXECUTOR), with the
/// sandbox labels; a terminal state frees the task's resources.
/// Reports about unknown or ended tasks, or non-terminal ones about a
/// task being killed, change nothing.
pub(in crate::master) fn agent_status(core: &mut MasterCore, now: Duration, report: AgentReport) {
    let fw = report.framework.clone();
    if !core.frameworks.contains(&fw) {
        debug!(framework = %fw, task = %report.task, "report for a removed framework ignored");
        return;
    }
    let Some(step) = core.tasks.report_external(
        &fw,
        &report.task,
        corral::TaskState::from_pb(report.state),
        Some(report.message),
    ) else {
        debug!(framework = %fw, task = %report.task, state = report.state.as_str_name(),
            "report changes nothing (task unknown, ended, or being killed)");
        return;
    };
    let mut status = task_status(now, &step.task, step.state, Source::Executor);
    status.agent_id = Some(step.agent.clone());
    status.executor_id = step.executor.clone();
    status.message = step.message;
    status.reason = report.reason.map(Reason::from_pb);
    if let Some(sandbox) = report.sandbox {
        status.labels = labels_from_pb(Some(&sandbox.labels()));
        core.agents.set_sandbox(&fw, &step.task, sandbox);
    }
    debug!(framework = %fw, task = %step.task, state = step.state.to_pb().as_str_name(), "local task state");
    core.report(now, &fw, status);
    core.recover(now, &fw, &step.agent, &step.freed, None);
}

/// For a task bound to a local agent: it must have a command that can
/// be run, which `command` decodes (only called for a local agent).
/// `Ok(None)` for a simulated agent.
pub(in crate::master) fn check_local_task(
    core: &MasterCore,
    agent: &AgentId,
    command: impl FnOnce() -> Result<LocalCommand, String>,
) -> Result<Option<LocalCommand>, String> {
    if !is_local_agent(core, agent) {
        return Ok(None);
    }
    command().map(Some)
}

/// Records a task for a local agent (no simulated timers) and orders
/// the agent to start it.
pub(in crate::master) fn launch_local(
    core: &mut MasterCore,
    now: Duration,
    launch: Launch,
    command: LocalCommand,
) {
    let Some(work_dir) = core.agents.work_dir(&launch.agent).map(ToOwned::to_owned) else {
        // check_local_task passed, so the agent is local: a bug if not.
        tracing::error!(agent = %launch.agent, "local launch on an agent that is not local");
        return;
    };
    let ports = launch
        .resources
        .ports()
        .iter()
        .flat_map(|(begin, end)| begin..=end)
        .collect();
    let order = TaskLaunch {
        framework: launch.framework.clone(),
        agent: launch.agent.clone(),
        work_dir,
        task: launch.id.clone(),
        executor: launch.executor.as_ref().map(|(id, _)| id.clone()),
        command: command.spec,
        environment: command.environment,
        ports,
        kill_grace: launch.plan.kill_grace,
    };
    info!(framework = %order.framework, task = %order.task, agent = %order.agent,
        command = order.command.describe(), "launch on a local agent");
    core.agents.forget_sandbox(&launch.framework, &launch.id);
    core.tasks.launch_external(now, launch);
    core.outbox
        .push(Outgoing::Order(Box::new(AgentOrder::Launch(Box::new(
            order,
        )))));
}

/// KILL of a task on a local agent: this task only (not its task
/// group). TASK_KILLING now if `report_killing`; the agent reports
/// TASK_KILLED. Grace: the call's, else the task's, else the agent's
/// default.
pub(in crate::master) fn kill_local(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    task: &TaskId,
    grace: Option<Duration>,
    report_killing: bool,
) {
    if !core.tasks.mark_killing(fw, task, report_killing) {
        return;
    }
    let Some(record) = core.tasks.get(fw, task) else {
        return;
    };
    let grace = grace.or(record.plan.kill_grace);
    if report_killing {
        let mut status = task_status(now, task, corral::TaskState::Killing, Source::Executor);
        status.agent_id = Some(record.agent.clone());
        status.executor_id = record.executor.clone();
        if let Some(labels) = sandbox(core, fw, task).map(SandboxPaths::labels) {
            status.labels = labels_from_pb(Some(&labels));
        }
        core.report(now, fw, status);
    }
    core.outbox.push(Outgoing::Order(Box::new(AgentOrder::Kill {
        framework: fw.clone(),
        task: task.clone(),
        grace,
    })));
}

/// The framework is being removed: its local tasks are stopped.
pub(in crate::master) fn stop_local_framework(core: &mut MasterCore, fw: &FrameworkId) {
    let has_local = core
        .tasks
        .live_of(fw)
        .any(|t| is_local_agent(core, &t.agent));
    if has_local {
        core.outbox
            .push(Outgoing::Order(Box::new(AgentOrder::StopFramework {
                framework: fw.clone(),
            })));
    }
}
