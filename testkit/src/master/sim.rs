//! How a simulated task behaves, read from its TaskInfo: how long it runs,
//! whether it succeeds, how long it takes to stop when killed.
//!
//! - label `corral.sim/duration`: run time in milliseconds (`"250"`, `"1.5"`);
//!   else a command of the form `sleep <seconds>`; else it runs until killed.
//! - label `corral.sim/exit`: `"0"` ends in TASK_FINISHED, anything else in
//!   TASK_FAILED (default `"0"`).
//! - label `corral.sim/cleanup`: milliseconds between a kill and the task
//!   stopping (default 0), bounded by the kill grace period.

use std::time::Duration;

/// Label: run time in milliseconds.
pub const DURATION_LABEL: &str = "corral.sim/duration";
/// Label: exit code; anything but `"0"` fails the task.
pub const EXIT_LABEL: &str = "corral.sim/exit";
/// Label: milliseconds the task takes to stop once killed.
pub const CLEANUP_LABEL: &str = "corral.sim/cleanup";

/// The simulated behaviour of one task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimPlan {
    /// Time from RUNNING to exit; `None`: runs until killed.
    pub run_for: Option<Duration>,
    /// Exits with TASK_FINISHED (else TASK_FAILED).
    pub exit_ok: bool,
    /// Time the task takes to stop once killed.
    pub cleanup: Duration,
    /// The task's own kill grace period (from its KillPolicy).
    pub kill_grace: Option<Duration>,
}

/// What of a task the simulation reads (decoded from the wire at the
/// edge).
#[derive(Clone, Copy, Debug)]
pub struct SimTask<'a> {
    /// The task's labels, key and value.
    pub labels: &'a [(String, String)],
    /// Its command line, if it has one.
    pub command: Option<&'a str>,
    /// The grace period of its kill policy.
    pub kill_grace: Option<Duration>,
}

/// Reads the plan of `task`; an error message for a malformed label.
pub fn plan(task: &SimTask<'_>) -> Result<SimPlan, String> {
    let label = |key: &str| {
        task.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let run_for = match label(DURATION_LABEL) {
        Some(text) => Some(millis(DURATION_LABEL, text)?),
        None => task.command.and_then(sleep_seconds),
    };
    let exit_ok = label(EXIT_LABEL).is_none_or(|code| code.trim() == "0");
    let cleanup = match label(CLEANUP_LABEL) {
        Some(text) => millis(CLEANUP_LABEL, text)?,
        None => Duration::ZERO,
    };
    Ok(SimPlan {
        run_for,
        exit_ok,
        cleanup,
        kill_grace: task.kill_grace,
    })
}

fn millis(key: &str, text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .and_then(|ms| Duration::try_from_secs_f64(ms / 1000.0).ok())
        .ok_or_else(|| {
            format!("label {key} must be a non-negative number of milliseconds, got {text:?}")
        })
}

/// `Some(d)` for a command that is exactly `sleep <seconds>`.
fn sleep_seconds(command: &str) -> Option<Duration> {
    let mut words = command.split_whitespace();
    if words.next()? != "sleep" {
        return None;
    }
    let seconds: f64 = words.next()?.parse().ok()?;
    if words.next().is_some() {
        return None;
    }
    Duration::try_from_secs_f64(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(labels: &[(&str, &str)], command: Option<&str>) -> Result<SimPlan, String> {
        let labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        plan(&SimTask {
            labels: &labels,
            command,
            kill_grace: None,
        })
    }

    #[test]
    fn duration_from_label_then_command() {
        let p = plan_of(&[(DURATION_LABEL, "250")], Some("sleep 9")).unwrap();
        assert_eq!(p.run_for, Some(Duration::from_millis(250)));
        let p = plan_of(&[], Some("sleep 1.5")).unwrap();
        assert_eq!(p.run_for, Some(Duration::from_millis(1500)));
        let p = plan_of(&[], Some("sleep 1; echo")).unwrap();
        assert_eq!(p.run_for, None);
        let p = plan_of(&[], None).unwrap();
        assert_eq!(
            (p.run_for, p.exit_ok, p.cleanup),
            (None, true, Duration::ZERO)
        );
    }

    #[test]
    fn exit_and_cleanup_labels() {
        let p = plan_of(&[(EXIT_LABEL, "1"), (CLEANUP_LABEL, "40")], None).unwrap();
        assert!(!p.exit_ok);
        assert_eq!(p.cleanup, Duration::from_millis(40));
        assert!(plan_of(&[(EXIT_LABEL, "0")], None).unwrap().exit_ok);
    }

    #[test]
    fn malformed_labels_are_errors() {
        assert!(plan_of(&[(DURATION_LABEL, "soon")], None).is_err());
        assert!(plan_of(&[(CLEANUP_LABEL, "-5")], None).is_err());
    }
}
