//! The local book: orders for the local agents not yet taken, and where
//! each local task's sandbox is. The local-task process (`local.rs`)
//! drives it.

use std::collections::BTreeMap;

use corral::{FrameworkId, TaskId};

use crate::agent::{AgentOrder, CommandSpec, SandboxPaths};

/// The core's books on local tasks: orders not yet taken, and where each
/// task's sandbox is.
#[derive(Debug, Default)]
pub(super) struct LocalBook {
    pub(super) orders: Vec<AgentOrder>,
    pub(super) sandboxes: BTreeMap<(FrameworkId, TaskId), SandboxPaths>,
}

/// What a task on a local agent runs, read at ACCEPT.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct LocalCommand {
    pub(super) spec: CommandSpec,
    pub(super) environment: Vec<(String, String)>,
}
