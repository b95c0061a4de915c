//! Typed hints for the testkit's simulated agents: how long a task runs,
//! how it exits, how long it takes to stop when killed.
//!
//! A real agent ignores them; the mock master's simulated agents read
//! them. They travel as task labels (so they cross any transport
//! unchanged), but framework code writes them through [`SimulatedTask`]
//! and [`TaskInfo::simulated`](crate::TaskInfo::simulated) rather than by
//! label name:
//!
//! ```
//! use std::time::Duration;
//! use corral_types::{sim::SimulatedTask, TaskInfo};
//!
//! let task = TaskInfo::new("t1").simulated(
//!     SimulatedTask::runs_for(Duration::from_millis(250))
//!         .exits_with(1)
//!         .cleans_up_in(Duration::from_millis(50)),
//! );
//! assert_eq!(SimulatedTask::from_labels(&task.labels).unwrap().exit_code, 1);
//! ```
//!
//! Without a run time, a simulated task whose command is `sleep <seconds>`
//! runs that long, and any other runs until killed.

use std::time::Duration;

/// Label: run time in milliseconds.
pub const DURATION_LABEL: &str = "corral.sim/duration";
/// Label: exit code; anything but `"0"` fails the task.
pub const EXIT_LABEL: &str = "corral.sim/exit";
/// Label: milliseconds the task takes to stop once killed.
pub const CLEANUP_LABEL: &str = "corral.sim/cleanup";

/// How a task behaves on a simulated agent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimulatedTask {
    /// Time from TASK_RUNNING to exit; `None`: from its `sleep` command, or
    /// until killed.
    pub run_for: Option<Duration>,
    /// 0 ends in TASK_FINISHED, anything else in TASK_FAILED.
    pub exit_code: i32,
    /// Time the task takes to stop once killed (bounded by its grace
    /// period).
    pub cleanup: Duration,
}

/// A simulation label that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("simulation label {label}={value:?}: {why}")]
#[non_exhaustive]
pub struct InvalidSimulationLabel {
    /// The label.
    pub label: &'static str,
    /// Its value.
    pub value: String,
    /// What is wrong with it.
    pub why: &'static str,
}

impl SimulatedTask {
    /// A task that runs `run_for`, then exits with 0.
    pub fn runs_for(run_for: Duration) -> Self {
        SimulatedTask {
            run_for: Some(run_for),
            ..Self::default()
        }
    }

    /// A task that runs until killed (or for its `sleep` command).
    pub fn until_killed() -> Self {
        Self::default()
    }

    /// Sets the exit code.
    pub fn exits_with(mut self, code: i32) -> Self {
        self.exit_code = code;
        self
    }

    /// Sets the time it takes to stop once killed.
    pub fn cleans_up_in(mut self, cleanup: Duration) -> Self {
        self.cleanup = cleanup;
        self
    }

    /// The hints as task labels (only those that differ from the default).
    pub fn to_labels(&self) -> Vec<(String, String)> {
        let mut labels = Vec::new();
        if let Some(d) = self.run_for {
            labels.push((DURATION_LABEL.to_owned(), millis_text(d)));
        }
        if self.exit_code != 0 {
            labels.push((EXIT_LABEL.to_owned(), self.exit_code.to_string()));
        }
        if !self.cleanup.is_zero() {
            labels.push((CLEANUP_LABEL.to_owned(), millis_text(self.cleanup)));
        }
        labels
    }

    /// Reads the hints back from task labels (the simulated agent's side).
    /// Missing labels take the defaults; a malformed one is an error.
    pub fn from_labels(labels: &[(String, String)]) -> Result<Self, InvalidSimulationLabel> {
        let label = |key: &str| {
            labels
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let mut hints = SimulatedTask::default();
        if let Some(text) = label(DURATION_LABEL) {
            hints.run_for = Some(parse_millis(DURATION_LABEL, text)?);
        }
        if let Some(text) = label(EXIT_LABEL) {
            hints.exit_code = text.trim().parse().map_err(|_| InvalidSimulationLabel {
                label: EXIT_LABEL,
                value: text.to_owned(),
                why: "not an integer exit code",
            })?;
        }
        if let Some(text) = label(CLEANUP_LABEL) {
            hints.cleanup = parse_millis(CLEANUP_LABEL, text)?;
        }
        Ok(hints)
    }
}

fn millis_text(d: Duration) -> String {
    let micros = d.as_micros();
    if micros % 1000 == 0 {
        (micros / 1000).to_string()
    } else {
        format!("{}.{:03}", micros / 1000, micros % 1000)
    }
}

/// Milliseconds as text (fractions allowed), checked: not negative, not
/// NaN, at most a year.
pub fn parse_millis(label: &'static str, text: &str) -> Result<Duration, InvalidSimulationLabel> {
    const MAX_MILLIS: f64 = 365.0 * 24.0 * 3600.0 * 1000.0;
    let bad = |why| InvalidSimulationLabel {
        label,
        value: text.to_owned(),
        why,
    };
    let ms: f64 = text
        .trim()
        .parse()
        .map_err(|_| bad("not a number of milliseconds"))?;
    if !ms.is_finite() || ms < 0.0 {
        return Err(bad("negative or not finite"));
    }
    if ms > MAX_MILLIS {
        return Err(bad("longer than a year"));
    }
    Ok(Duration::from_secs_f64(ms / 1000.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_round_trip_through_labels() {
        let hints = SimulatedTask::runs_for(Duration::from_micros(1500))
            .exits_with(3)
            .cleans_up_in(Duration::from_millis(20));
        let labels = hints.to_labels();
        assert_eq!(
            labels,
            vec![
                (DURATION_LABEL.to_owned(), "1.500".to_owned()),
                (EXIT_LABEL.to_owned(), "3".to_owned()),
                (CLEANUP_LABEL.to_owned(), "20".to_owned()),
            ]
        );
        assert_eq!(SimulatedTask::from_labels(&labels).unwrap(), hints);
        assert!(SimulatedTask::until_killed().to_labels().is_empty());
    }

    #[test]
    fn malformed_labels_are_errors_not_panics() {
        for value in ["-1", "NaN", "1e300", "soon"] {
            let labels = vec![(DURATION_LABEL.to_owned(), value.to_owned())];
            assert!(SimulatedTask::from_labels(&labels).is_err(), "{value}");
        }
        let labels = vec![(EXIT_LABEL.to_owned(), "x".to_owned())];
        assert!(SimulatedTask::from_labels(&labels).is_err());
    }
}
