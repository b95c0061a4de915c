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

use corral_proto::pb;

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

/// Reads the plan of `task`; an error message for a malformed label.
pub fn plan(task: &pb::TaskInfo) -> Result<SimPlan, String> {
    let label = |key: &str| {
        task.labels.as_ref().and_then(|labels| {
            labels
                .labels
                .iter()
                .find(|l| l.key == key)
                .map(|l| l.value.as_deref().unwrap_or(""))
        })
    };
    let run_for = match label(DURATION_LABEL) {
        Some(text) => Some(millis(DURATION_LABEL, text)?),
        None => task
            .command
            .as_ref()
            .and_then(|c| c.value.as_deref())
            .and_then(sleep_seconds),
    };
    let exit_ok = label(EXIT_LABEL).is_none_or(|code| code.trim() == "0");
    let cleanup = match label(CLEANUP_LABEL) {
        Some(text) => millis(CLEANUP_LABEL, text)?,
        None => Duration::ZERO,
    };
    let kill_grace = task
        .kill_policy
        .as_ref()
        .and_then(|p| p.grace_period.as_ref())
        .map(duration_info);
    Ok(SimPlan {
        run_for,
        exit_ok,
        cleanup,
        kill_grace,
    })
}

/// A DurationInfo as a Duration; negative counts as zero.
pub fn duration_info(d: &pb::DurationInfo) -> Duration {
    Duration::from_nanos(u64::try_from(d.nanoseconds).unwrap_or(0))
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

    fn task(labels: &[(&str, &str)], command: Option<&str>) -> pb::TaskInfo {
        pb::TaskInfo {
            labels: Some(pb::Labels {
                labels: labels
                    .iter()
                    .map(|(k, v)| pb::Label {
                        key: (*k).to_owned(),
                        value: Some((*v).to_owned()),
                    })
                    .collect(),
            }),
            command: command.map(|c| pb::CommandInfo {
                value: Some(c.to_owned()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn duration_from_label_then_command() {
        let p = plan(&task(&[(DURATION_LABEL, "250")], Some("sleep 9"))).unwrap();
        assert_eq!(p.run_for, Some(Duration::from_millis(250)));
        let p = plan(&task(&[], Some("sleep 1.5"))).unwrap();
        assert_eq!(p.run_for, Some(Duration::from_millis(1500)));
        let p = plan(&task(&[], Some("sleep 1; echo"))).unwrap();
        assert_eq!(p.run_for, None);
        let p = plan(&task(&[], None)).unwrap();
        assert_eq!(
            (p.run_for, p.exit_ok, p.cleanup),
            (None, true, Duration::ZERO)
        );
    }

    #[test]
    fn exit_and_cleanup_labels() {
        let p = plan(&task(&[(EXIT_LABEL, "1"), (CLEANUP_LABEL, "40")], None)).unwrap();
        assert!(!p.exit_ok);
        assert_eq!(p.cleanup, Duration::from_millis(40));
        assert!(plan(&task(&[(EXIT_LABEL, "0")], None)).unwrap().exit_ok);
    }

    #[test]
    fn malformed_labels_are_errors() {
        assert!(plan(&task(&[(DURATION_LABEL, "soon")], None)).is_err());
        assert!(plan(&task(&[(CLEANUP_LABEL, "-5")], None)).is_err());
    }

    #[test]
    fn negative_grace_is_zero() {
        let d = pb::DurationInfo { nanoseconds: -3 };
        assert_eq!(duration_info(&d), Duration::ZERO);
    }
}
