//! Local agents: the part of the mock master that runs tasks as real
//! processes on this machine, so a framework can be seen doing real work
//! before any cluster.
//!
//! The master core stays pure: for a task on a local agent it leaves an
//! [`AgentOrder`] (launch, kill, stop a framework) instead of running a
//! simulated lifecycle, and takes back [`AgentReport`]s (STARTING, RUNNING,
//! and how the task ended). The server's actor carries the orders out with
//! a [`LocalRunner`] and feeds the reports back; status updates then go to
//! the framework through the master's reliable update queue as any other.
//!
//! - `orders.rs`: the orders and reports (plain data) and [`CommandSpec`].
//! - `sandbox.rs`: the sandbox layout on disk, log files, removal after the TTL.
//! - `process.rs`: starting a command in its own process group, its
//!   environment (`MESOS_TASK_ID`, `MESOS_SANDBOX`, `PORT0`...), signals.
//! - `supervisor.rs`: one task's life: exit, or SIGTERM, grace, SIGKILL.
//! - `runner.rs`: [`LocalRunner`]: every task of every local agent,
//!   executors of task groups, shutdown.

mod orders;
mod process;
mod runner;
mod sandbox;
mod supervisor;

pub use self::orders::{
    AgentOrder, AgentReport, CommandError, CommandSpec, SandboxPaths, TaskLaunch,
};
pub use self::process::{environment, process_group_alive, SpawnError};
pub use self::runner::{
    LocalRunner, Reports, RunnerConfig, DEFAULT_KILL_GRACE, DEFAULT_REAP_TIMEOUT,
    DEFAULT_SANDBOX_TTL,
};
pub use self::sandbox::{safe_name, SandboxError};
