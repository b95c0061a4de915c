//! What the master core and the local agents say to each other, as plain
//! data (no IO): the orders the core leaves for the agents
//! ([`AgentOrder`]: launch, kill, stop a framework) and the reports the
//! agents send back ([`AgentReport`]: a task's new state, where its sandbox
//! is). Also the command a task runs ([`CommandSpec`]), read from its
//! `CommandInfo` with a typed error for one that names nothing to run.

use std::path::PathBuf;
use std::time::Duration;

use corral::{AgentId, ExecutorId, FrameworkId, TaskId};
use corral_proto::pb;
use corral_proto::pb::task_status::Reason;
use corral_proto::pb::TaskState;

/// Why a `CommandInfo` cannot be run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// A shell command without a command line.
    #[error("the shell command has no command line (CommandInfo.value is empty)")]
    EmptyShellCommand,
    /// An argv command naming no program.
    #[error("the command names no program (CommandInfo.value and arguments are empty)")]
    NoProgram,
}

/// What a task runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandSpec {
    /// A command line, run with `sh -c`.
    Shell(String),
    /// A program and its argv (`argv[0]` included; may differ from the
    /// program path).
    Argv {
        /// The program to execute (a path, or a name looked up in `PATH`).
        program: String,
        /// The argv, `argv[0]` first.
        argv: Vec<String>,
    },
}

impl CommandSpec {
    /// Reads a `CommandInfo` as Mesos does: `shell` (the default) runs
    /// `value` with `sh -c`; otherwise `value` is the program and
    /// `arguments` its full argv (the program alone when empty; `value`
    /// defaults to `arguments[0]`).
    pub fn from_pb(command: &pb::CommandInfo) -> Result<CommandSpec, CommandError> {
        let value = command.value.as_deref().filter(|v| !v.trim().is_empty());
        if command.shell.unwrap_or(true) {
            return value
                .map(|v| CommandSpec::Shell(v.to_owned()))
                .ok_or(CommandError::EmptyShellCommand);
        }
        let program = value
            .map(str::to_owned)
            .or_else(|| command.arguments.first().cloned())
            .filter(|p| !p.is_empty())
            .ok_or(CommandError::NoProgram)?;
        let argv = if command.arguments.is_empty() {
            vec![program.clone()]
        } else {
            command.arguments.clone()
        };
        Ok(CommandSpec::Argv { program, argv })
    }

    /// A short form for messages: the command line, or the program.
    pub fn describe(&self) -> &str {
        match self {
            CommandSpec::Shell(line) => line,
            CommandSpec::Argv { program, .. } => program,
        }
    }
}

/// Everything a local agent needs to run one task.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskLaunch {
    /// The task's framework.
    pub framework: FrameworkId,
    /// The agent it runs on.
    pub agent: AgentId,
    /// The agent's work directory (absolute).
    pub work_dir: PathBuf,
    /// The task.
    pub task: TaskId,
    /// Its executor, for a task of a task group; `None` for a command task.
    pub executor: Option<ExecutorId>,
    /// What it runs.
    pub command: CommandSpec,
    /// Extra environment variables, from its `CommandInfo` (applied last).
    pub environment: Vec<(String, String)>,
    /// The ports it was given, in order (`PORT0`, `PORT1`...).
    pub ports: Vec<u64>,
    /// Its own kill grace period (from its KillPolicy).
    pub kill_grace: Option<Duration>,
}

/// An order for the local agents, left by the master core.
#[derive(Clone, Debug, PartialEq)]
pub enum AgentOrder {
    /// Start a task.
    Launch(Box<TaskLaunch>),
    /// Kill a task: SIGTERM to its process group, SIGKILL after `grace`.
    Kill {
        /// The task's framework.
        framework: FrameworkId,
        /// The task.
        task: TaskId,
        /// The grace period: the KILL call's, else the task's; `None`:
        /// the agent's default ([`DEFAULT_KILL_GRACE`](crate::agent::DEFAULT_KILL_GRACE)).
        grace: Option<Duration>,
    },
    /// The framework is gone: stop all of its tasks (gracefully, then
    /// forced).
    StopFramework {
        /// The framework.
        framework: FrameworkId,
    },
}

/// Where a task's sandbox and log files are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxPaths {
    /// The sandbox: the task's working directory.
    pub dir: PathBuf,
    /// Its standard output.
    pub stdout: PathBuf,
    /// Its standard error.
    pub stderr: PathBuf,
}

impl SandboxPaths {
    /// The paths for a sandbox at `dir` (`stdout` and `stderr` inside it).
    pub fn in_dir(dir: PathBuf) -> Self {
        SandboxPaths {
            stdout: dir.join("stdout"),
            stderr: dir.join("stderr"),
            dir,
        }
    }

    /// As status labels (`corral.sandbox`, `corral.stdout`, `corral.stderr`).
    pub fn labels(&self) -> pb::Labels {
        let label = |key: &str, path: &PathBuf| pb::Label {
            key: key.to_owned(),
            value: Some(path.display().to_string()),
        };
        pb::Labels {
            labels: vec![
                label(corral::task::SANDBOX_LABEL, &self.dir),
                label(corral::task::STDOUT_LABEL, &self.stdout),
                label(corral::task::STDERR_LABEL, &self.stderr),
            ],
        }
    }
}

/// A task's new state, as a local agent saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentReport {
    /// The task's framework.
    pub framework: FrameworkId,
    /// The task.
    pub task: TaskId,
    /// Its new state (STARTING, RUNNING, or terminal).
    pub state: TaskState,
    /// What happened, for people.
    pub message: String,
    /// Why, when there is a machine-readable reason.
    pub reason: Option<Reason>,
    /// Its sandbox, once there is one.
    pub sandbox: Option<SandboxPaths>,
    /// The task's processes survived SIGKILL: its executor must go.
    pub(crate) unstoppable: bool,
}

impl AgentReport {
    /// A report without a reason.
    pub fn new(
        framework: FrameworkId,
        task: TaskId,
        state: TaskState,
        message: impl Into<String>,
    ) -> Self {
        AgentReport {
            framework,
            task,
            state,
            message: message.into(),
            reason: None,
            sandbox: None,
            unstoppable: false,
        }
    }

    /// Whether this task's processes could not be stopped at all.
    pub fn unstoppable(&self) -> bool {
        self.unstoppable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(value: Option<&str>, shell: Option<bool>, args: &[&str]) -> pb::CommandInfo {
        pb::CommandInfo {
            value: value.map(str::to_owned),
            shell,
            arguments: args.iter().map(|a| (*a).to_owned()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn shell_is_the_default_and_needs_a_line() {
        assert_eq!(
            CommandSpec::from_pb(&info(Some("echo hi"), None, &["ignored"])),
            Ok(CommandSpec::Shell("echo hi".into()))
        );
        assert_eq!(
            CommandSpec::from_pb(&info(Some("  "), Some(true), &[])),
            Err(CommandError::EmptyShellCommand)
        );
    }

    #[test]
    fn argv_form_keeps_argv0_and_defaults_the_program() {
        assert_eq!(
            CommandSpec::from_pb(&info(Some("/bin/echo"), Some(false), &["echo", "hi"])),
            Ok(CommandSpec::Argv {
                program: "/bin/echo".into(),
                argv: vec!["echo".into(), "hi".into()]
            })
        );
        assert_eq!(
            CommandSpec::from_pb(&info(None, Some(false), &["true"])),
            Ok(CommandSpec::Argv {
                program: "true".into(),
                argv: vec!["true".into()]
            })
        );
        assert_eq!(
            CommandSpec::from_pb(&info(Some("true"), Some(false), &[])),
            Ok(CommandSpec::Argv {
                program: "true".into(),
                argv: vec!["true".into()]
            })
        );
        assert_eq!(
            CommandSpec::from_pb(&info(None, Some(false), &[])),
            Err(CommandError::NoProgram)
        );
    }

    #[test]
    fn sandbox_labels_name_every_path() {
        let paths = SandboxPaths::in_dir(PathBuf::from("/w/run"));
        let labels = paths.labels().labels;
        assert_eq!(labels.len(), 3);
        assert_eq!(labels[1].value.as_deref(), Some("/w/run/stdout"));
    }
}
