//! One task's processes: starting its command as the leader of a new
//! process group in its sandbox, with its environment and its output going
//! to the sandbox's log files; signalling the whole group; telling whether
//! any of it is still alive; and saying how it ended.
//!
//! The environment of a task is the agent's own, plus:
//!
//! | variable | value |
//! |---|---|
//! | `MESOS_TASK_ID` | the task id |
//! | `MESOS_FRAMEWORK_ID` | the framework id |
//! | `MESOS_AGENT_ID`, `MESOS_SLAVE_ID` | the agent id (the second is Mesos's older name) |
//! | `MESOS_EXECUTOR_ID` | the executor id (a command task's is its task id) |
//! | `MESOS_SANDBOX`, `MESOS_DIRECTORY` | the sandbox, also the working directory |
//! | `PORT0`, `PORT1`... | each port given to the task, in order |
//! | `PORT` | the first port |
//! | `PORTS` | every port, comma-separated |
//!
//! then the variables of the task's `CommandInfo`, which win.

use std::io;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tracing::{debug, warn};

use super::orders::{CommandSpec, SandboxPaths, TaskLaunch};
use super::sandbox;

/// How often a group is polled while waiting for it to empty.
const EMPTY_POLL: Duration = Duration::from_millis(5);

/// Why a command could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The sandbox could not be prepared.
    #[error(transparent)]
    Sandbox(#[from] sandbox::SandboxError),
    /// The system refused to start the program.
    #[error("cannot start `{command}`: {source}")]
    Exec {
        /// The command line or program.
        command: String,
        /// The system's reason.
        #[source]
        source: io::Error,
    },
    /// The process started but has no pid (it was reaped at once).
    #[error("`{0}` started but exited before its pid could be read")]
    NoPid(String),
}

/// The environment variables the agent sets for a task (see the module
/// docs), task-defined ones last.
pub fn environment(launch: &TaskLaunch, sandbox: &SandboxPaths) -> Vec<(String, String)> {
    let dir = sandbox.dir.display().to_string();
    let executor = launch
        .executor
        .as_ref()
        .map_or(launch.task.as_str(), |e| e.as_str());
    let mut env = vec![
        ("MESOS_TASK_ID".to_owned(), launch.task.to_string()),
        (
            "MESOS_FRAMEWORK_ID".to_owned(),
            launch.framework.to_string(),
        ),
        ("MESOS_AGENT_ID".to_owned(), launch.agent.to_string()),
        ("MESOS_SLAVE_ID".to_owned(), launch.agent.to_string()),
        ("MESOS_EXECUTOR_ID".to_owned(), executor.to_owned()),
        ("MESOS_SANDBOX".to_owned(), dir.clone()),
        ("MESOS_DIRECTORY".to_owned(), dir),
    ];
    for (i, port) in launch.ports.iter().enumerate() {
        env.push((format!("PORT{i}"), port.to_string()));
    }
    if let Some(first) = launch.ports.first() {
        env.push(("PORT".to_owned(), first.to_string()));
        let all: Vec<String> = launch.ports.iter().map(u64::to_string).collect();
        env.push(("PORTS".to_owned(), all.join(",")));
    }
    env.extend(launch.environment.iter().cloned());
    env
}

/// A task's process group. Dropping it while armed kills whatever is left
/// of the group with SIGKILL, so a task is never left behind, whatever
/// happens to the code watching it.
#[derive(Debug)]
pub struct ProcessGroup {
    pgid: Pid,
    armed: bool,
}

impl ProcessGroup {
    /// The group's id (the leader's pid).
    pub fn id(&self) -> i32 {
        self.pgid.as_raw()
    }

    /// Sends `signal` to every process of the group. `Ok(false)` when the
    /// group has no process left.
    pub fn signal(&self, signal: Signal) -> Result<bool, Errno> {
        match killpg(self.pgid, signal) {
            Ok(()) => Ok(true),
            Err(Errno::ESRCH) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// SIGKILL to what is left of the group (logged, never fails).
    pub fn sweep(&self) {
        match self.signal(Signal::SIGKILL) {
            Ok(true) => debug!(pgid = self.id(), "killed processes left in the group"),
            Ok(false) => {}
            Err(e) => warn!(pgid = self.id(), error = %e, "cannot SIGKILL the group"),
        }
    }

    /// Waits until no live process is left in the group, at most `limit`;
    /// `true` when it emptied.
    pub async fn wait_empty(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if !process_group_alive(self.id()) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(EMPTY_POLL).await;
        }
    }

    /// The group is known to be empty: dropping it sends nothing.
    pub fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if self.armed {
            self.sweep();
        }
    }
}

/// Whether process group `pgid` still has a live (non-zombie) process.
/// Zombies are left out: an orphaned zombie waits for whoever reaps
/// orphans here and runs nothing. Without `/proc`, any member counts.
pub fn process_group_alive(pgid: i32) -> bool {
    match killpg(Pid::from_raw(pgid), None) {
        Err(Errno::ESRCH) => false,
        // EPERM: it exists, it is just not ours.
        Ok(()) | Err(_) => live_members_in_proc(pgid).unwrap_or(true),
    }
}

/// Counts the non-zombie processes of group `pgid` in `/proc`; `None` when
/// `/proc` cannot be read.
fn live_members_in_proc(pgid: i32) -> Option<bool> {
    let entries = std::fs::read_dir("/proc").ok()?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        // A process that ended since the listing has no stat: skip it.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{name}/stat")) else {
            continue;
        };
        if let Some((state, group)) = parse_stat(&stat) {
            if group == pgid && state != 'Z' && state != 'X' {
                return Some(true);
            }
        }
    }
    Some(false)
}

/// The state and process group of a `/proc/<pid>/stat` line
/// (`pid (comm) state ppid pgrp ...`; comm may hold spaces and parens).
fn parse_stat(stat: &str) -> Option<(char, i32)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, pgrp))
}

/// Starts `launch`'s command in its sandbox as the leader of a new process
/// group, its output going to the sandbox's log files.
pub fn spawn(
    launch: &TaskLaunch,
    sandbox: &SandboxPaths,
) -> Result<(Child, ProcessGroup), SpawnError> {
    let (stdout, stderr) = sandbox::open_logs(sandbox)?;
    let mut command = match &launch.command {
        CommandSpec::Shell(line) => {
            let mut command = Command::new("sh");
            command.arg("-c").arg(line);
            command
        }
        CommandSpec::Argv { program, argv } => {
            let mut command = Command::new(program);
            if let Some((argv0, args)) = argv.split_first() {
                command.arg0(argv0).args(args);
            }
            command
        }
    };
    command
        .current_dir(&sandbox.dir)
        .envs(environment(launch, sandbox))
        .stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr))
        .process_group(0)
        .kill_on_drop(false);
    let describe = launch.command.describe();
    let child = command.spawn().map_err(|source| SpawnError::Exec {
        command: describe.to_owned(),
        source,
    })?;
    let pid = child
        .id()
        .and_then(|pid| i32::try_from(pid).ok())
        .ok_or_else(|| SpawnError::NoPid(describe.to_owned()))?;
    Ok((
        child,
        ProcessGroup {
            pgid: Pid::from_raw(pid),
            armed: true,
        },
    ))
}

/// How a process ended, for status messages: `exited with status 3`,
/// `terminated by signal SIGSEGV (11)`.
pub fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    match status.signal() {
        Some(number) => match Signal::try_from(number) {
            Ok(signal) => format!("terminated by signal {} ({number})", signal.as_str()),
            Err(_) => format!("terminated by signal {number}"),
        },
        None => format!("ended ({status})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral::{AgentId, ExecutorId, FrameworkId, TaskId};
    use std::os::unix::process::ExitStatusExt;
    use std::path::PathBuf;

    fn launch(ports: Vec<u64>, executor: Option<&str>) -> TaskLaunch {
        TaskLaunch {
            framework: FrameworkId::new("fw"),
            agent: AgentId::new("agent-0"),
            work_dir: PathBuf::from("/w"),
            task: TaskId::new("t1"),
            executor: executor.map(ExecutorId::new),
            command: CommandSpec::Shell("true".into()),
            environment: vec![("PORT".into(), "override".into())],
            ports,
            kill_grace: None,
        }
    }

    fn get<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
        env.iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn environment_names_ids_sandbox_and_ports() {
        let sandbox = SandboxPaths::in_dir(PathBuf::from("/w/run"));
        let env = environment(&launch(vec![31000, 31005], None), &sandbox);
        assert_eq!(get(&env, "MESOS_TASK_ID"), Some("t1"));
        assert_eq!(get(&env, "MESOS_EXECUTOR_ID"), Some("t1"));
        assert_eq!(get(&env, "MESOS_AGENT_ID"), Some("agent-0"));
        assert_eq!(get(&env, "MESOS_SANDBOX"), Some("/w/run"));
        assert_eq!(get(&env, "PORT0"), Some("31000"));
        assert_eq!(get(&env, "PORT1"), Some("31005"));
        assert_eq!(get(&env, "PORTS"), Some("31000,31005"));
        assert_eq!(get(&env, "PORT"), Some("override"), "task env wins");

        let env = environment(&launch(vec![], Some("pod")), &sandbox);
        assert_eq!(get(&env, "MESOS_EXECUTOR_ID"), Some("pod"));
        assert_eq!(get(&env, "PORTS"), None);
    }

    #[test]
    fn stat_lines_with_awkward_names_parse() {
        assert_eq!(parse_stat("42 (sh) S 1 42 42 0"), Some(('S', 42)));
        assert_eq!(parse_stat("7 (a) b (c)) Z 1 99 99"), Some(('Z', 99)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn exits_are_described() {
        assert_eq!(
            describe_exit(ExitStatus::from_raw(3 << 8)),
            "exited with status 3"
        );
        assert_eq!(
            describe_exit(ExitStatus::from_raw(9)),
            "terminated by signal SIGKILL (9)"
        );
    }

    #[test]
    fn a_group_that_never_existed_is_not_alive() {
        // Group ids near the top of the pid range are not in use here.
        assert!(!process_group_alive(i32::MAX - 7));
    }
}
