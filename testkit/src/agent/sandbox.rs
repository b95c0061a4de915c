//! Sandboxes on disk: where each task runs and writes its logs, and their
//! removal once their time to live is over.
//!
//! Layout under a local agent's work directory (after Mesos's, without
//! the `slaves/<agent>` level: each agent has its own work directory):
//!
//! ```text
//! <work_dir>/frameworks/<framework>/executors/<executor>/runs/<run>/
//!     stdout, stderr                   a command task (its executor id is its task id)
//!     tasks/<task>/stdout, stderr      a task of a task group (one run per executor)
//! ```
//!
//! `<run>` is `<pid>-<n>`, unique on the machine while the sandboxes last.
//! Ids are made safe as path components (anything but `[A-Za-z0-9._-]`
//! becomes `_`).

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::{debug, warn};

use super::orders::SandboxPaths;

/// How many attempts at a fresh directory name before giving up.
const NAME_ATTEMPTS: u32 = 64;

/// Runs made by this process, for unique run directory names.
static RUN_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Why a sandbox could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A directory or log file could not be created.
    #[error("cannot create {path}: {source}")]
    Create {
        /// What was being created.
        path: PathBuf,
        /// The system's reason.
        #[source]
        source: io::Error,
    },
    /// Every candidate name was taken.
    #[error("no free directory name under {0}")]
    NoFreeName(PathBuf),
}

/// `id` as a single, harmless path component.
pub fn safe_name(id: &str) -> String {
    let name: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match name.as_str() {
        "" | "." | ".." => format!("_{name}"),
        _ => name,
    }
}

/// `<work_dir>/frameworks/<framework>/executors/<executor>/runs`.
pub fn runs_dir(work_dir: &Path, framework: &str, executor: &str) -> PathBuf {
    work_dir
        .join("frameworks")
        .join(safe_name(framework))
        .join("executors")
        .join(safe_name(executor))
        .join("runs")
}

fn create_parent(dir: &Path) -> Result<(), SandboxError> {
    fs::create_dir_all(dir).map_err(|source| SandboxError::Create {
        path: dir.to_owned(),
        source,
    })
}

/// Creates a fresh directory `<parent>/<name>` (or `<name>-<k>` when taken).
fn create_fresh(parent: &Path, name: impl Fn(u32) -> String) -> Result<PathBuf, SandboxError> {
    for attempt in 0..NAME_ATTEMPTS {
        let dir = parent.join(name(attempt));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                debug!(dir = %dir.display(), "sandbox name taken; trying another");
            }
            Err(source) => return Err(SandboxError::Create { path: dir, source }),
        }
    }
    Err(SandboxError::NoFreeName(parent.to_owned()))
}

/// Creates a new run directory for `executor` of `framework`.
pub fn create_run(
    work_dir: &Path,
    framework: &str,
    executor: &str,
) -> Result<PathBuf, SandboxError> {
    let parent = runs_dir(work_dir, framework, executor);
    create_parent(&parent)?;
    let pid = std::process::id();
    create_fresh(&parent, |_| {
        let n = RUN_COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{pid}-{n}")
    })
}

/// Creates the sandbox of task `task` of a task group in `run_dir`.
pub fn create_task_dir(run_dir: &Path, task: &str) -> Result<PathBuf, SandboxError> {
    let parent = run_dir.join("tasks");
    create_parent(&parent)?;
    let base = safe_name(task);
    create_fresh(&parent, |k| match k {
        0 => base.clone(),
        k => format!("{base}-{k}"),
    })
}

/// Creates (truncates) the log files of a sandbox.
pub fn open_logs(paths: &SandboxPaths) -> Result<(File, File), SandboxError> {
    let open = |path: &Path| {
        File::create(path).map_err(|source| SandboxError::Create {
            path: path.to_owned(),
            source,
        })
    };
    Ok((open(&paths.stdout)?, open(&paths.stderr)?))
}

/// The last non-empty line of a log file (at most `max_chars` characters,
/// read from its last 4 KiB), for failure messages.
pub fn last_line(path: &Path, max_chars: usize) -> Option<String> {
    const TAIL: u64 = 4096;
    let mut file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL))).ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?.trim();
    let mut out: String = line.chars().take(max_chars).collect();
    if line.chars().count() > max_chars {
        out.push('…');
    }
    Some(out)
}

/// Removes a run directory, then the directories above it that are left
/// empty, up to (not including) `work_dir`.
pub async fn remove_run(work_dir: &Path, run_dir: &Path) {
    match tokio::fs::remove_dir_all(run_dir).await {
        Ok(()) => debug!(dir = %run_dir.display(), "sandbox removed"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            warn!(dir = %run_dir.display(), error = %e, "cannot remove sandbox");
            return;
        }
    }
    let mut dir = run_dir.parent();
    while let Some(current) = dir.filter(|d| d.starts_with(work_dir) && *d != work_dir) {
        // Fails (and stops the walk) on the first directory still in use.
        if tokio::fs::remove_dir(current).await.is_err() {
            break;
        }
        dir = current.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("corral-sandbox-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn ids_become_safe_path_components() {
        assert_eq!(safe_name("task-1.a_b"), "task-1.a_b");
        assert_eq!(safe_name("../etc/passwd"), ".._etc_passwd");
        assert_eq!(safe_name(".."), "_..");
        assert_eq!(safe_name(""), "_");
        assert_eq!(safe_name("é x"), "__x");
    }

    #[tokio::test]
    async fn runs_and_task_dirs_are_fresh_and_removed_with_empty_parents() {
        let work = scratch("layout");
        let a = create_run(&work, "fw/1", "exec").unwrap();
        let b = create_run(&work, "fw/1", "exec").unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(work.join("frameworks/fw_1/executors/exec/runs")));
        let t1 = create_task_dir(&a, "t").unwrap();
        let t2 = create_task_dir(&a, "t").unwrap();
        assert_eq!(t1, a.join("tasks/t"));
        assert_eq!(t2, a.join("tasks/t-1"));
        let paths = SandboxPaths::in_dir(t1);
        open_logs(&paths).unwrap();
        assert!(paths.stdout.is_file() && paths.stderr.is_file());

        remove_run(&work, &a).await;
        assert!(!a.exists());
        assert!(b.exists(), "the sibling run stays");
        remove_run(&work, &b).await;
        assert!(!work.join("frameworks").exists(), "empty parents pruned");
        assert!(work.exists(), "the work dir itself stays");
        fs::remove_dir_all(&work).unwrap();
    }

    #[test]
    fn last_line_skips_blank_lines_and_truncates() {
        let work = scratch("tail");
        let path = work.join("stderr");
        fs::write(&path, "first\nsh: 1: nope: not found\n\n").unwrap();
        assert_eq!(
            last_line(&path, 100).as_deref(),
            Some("sh: 1: nope: not found")
        );
        assert_eq!(last_line(&path, 5).as_deref(), Some("sh: 1…"));
        fs::write(&path, "").unwrap();
        assert_eq!(last_line(&path, 100), None);
        assert_eq!(last_line(&work.join("missing"), 100), None);
        fs::remove_dir_all(&work).unwrap();
    }
}
