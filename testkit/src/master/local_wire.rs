//! The wire forms around local agents: the command a task on a local
//! agent runs, read from its TaskInfo at ACCEPT, and the plain state,
//! reason and sandbox labels of a local agent's reports (whose type,
//! `crate::agent`'s, speaks the wire). An edge: the core reads only the
//! plain values.

use corral::AgentId;
use corral_proto::convert::*;
use corral_proto::pb;

use crate::agent::{AgentReport, CommandSpec, SandboxPaths};

/// What a task on a local agent runs, read at ACCEPT.
#[derive(Clone, Debug, PartialEq)]
pub(in crate::master) struct LocalCommand {
    pub(in crate::master) spec: CommandSpec,
    pub(in crate::master) environment: Vec<(String, String)>,
}

/// The command a task on a local agent runs: `task` must have one that
/// can be run (the refusal names `agent`).
pub(in crate::master) fn local_command(
    agent: &AgentId,
    task: &pb::TaskInfo,
) -> Result<LocalCommand, String> {
    let command = task.command.as_ref().ok_or_else(|| {
        format!("local agent {agent} runs command tasks only: this task has no command")
    })?;
    let spec = CommandSpec::from_pb(command).map_err(|e| e.to_string())?;
    let environment = command
        .environment
        .iter()
        .flat_map(|env| &env.variables)
        .map(|v| (v.name.clone(), v.value.clone().unwrap_or_default()))
        .collect();
    Ok(LocalCommand { spec, environment })
}

/// A local agent's report: its task state and reason in plain form.
pub(in crate::master) fn report_state(
    report: &AgentReport,
) -> (corral::TaskState, Option<corral::Reason>) {
    (
        corral::TaskState::from_pb(report.state),
        report.reason.map(corral::Reason::from_pb),
    )
}

/// The labels naming a local task's sandbox and its output files.
pub(in crate::master) fn sandbox_labels(sandbox: &SandboxPaths) -> Vec<(String, String)> {
    labels_from_pb(Some(&sandbox.labels()))
}
