//! The results summary: how builds ended, how long they ran and waited,
//! and what it took in agents and offers. Printed for people and as JSON
//! for scripts.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::controller::Controller;
use crate::queue::{BuildResult, BuildState};

/// The summary of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Builds triggered.
    pub builds: usize,
    /// Builds that succeeded.
    pub success: usize,
    /// Builds that failed.
    pub failure: usize,
    /// Builds aborted (timeout, stop, shutdown).
    pub aborted: usize,
    /// Builds not done.
    pub unfinished: usize,
    /// Builds that went back to the queue at least once.
    pub requeued: usize,
    /// Mean build duration (its last run), milliseconds.
    pub duration_mean_ms: u64,
    /// Longest build duration, milliseconds.
    pub duration_max_ms: u64,
    /// Queue wait, median, milliseconds.
    pub queue_wait_p50_ms: u64,
    /// Queue wait, 99th percentile, milliseconds.
    pub queue_wait_p99_ms: u64,
    /// Agents launched, in all.
    pub agents_launched: u64,
    /// Agents launched per label.
    pub agents_per_label: BTreeMap<String, u64>,
    /// Agents launched for single-use labels.
    pub agents_single_use: u64,
    /// Agents launched for reused labels.
    pub agents_reused: u64,
    /// The most agents alive at once, per label.
    pub most_live_per_label: BTreeMap<String, usize>,
    /// The most agents alive at once, in all.
    pub most_live_total: usize,
    /// Offers received.
    pub offers: u64,
    /// Offers declined with the long filter.
    pub offers_declined: u64,
    /// Revocation notices handled.
    pub revocations: u64,
}

/// The `p`th percentile (0..=100) of sorted values, nearest rank.
pub fn percentile(sorted: &[Duration], p: u32) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * p as usize).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Summary {
    /// The summary of what `controller` has done so far.
    pub fn of(controller: &Controller) -> Summary {
        let builds: Vec<_> = controller.builds().all().collect();
        let count = |r: BuildResult| {
            builds
                .iter()
                .filter(|b| b.state == BuildState::Done(r))
                .count()
        };
        let done: Vec<_> = builds
            .iter()
            .filter(|b| matches!(b.state, BuildState::Done(_)))
            .collect();
        let mut waits: Vec<Duration> = builds
            .iter()
            .filter(|b| !b.agents.is_empty())
            .map(|b| b.waited)
            .collect();
        waits.sort();
        let durations: Vec<Duration> = done.iter().map(|b| b.duration).collect();
        let total: Duration = durations.iter().sum();
        let per_label = controller.pool().launched_per_label().clone();
        let single_use = |single: bool| {
            per_label
                .iter()
                .filter(|(label, _)| {
                    controller
                        .file()
                        .templates
                        .get(label.as_str())
                        .is_some_and(|t| t.single_use == single)
                })
                .map(|(_, n)| n)
                .sum()
        };
        Summary {
            builds: builds.len(),
            success: count(BuildResult::Success),
            failure: count(BuildResult::Failure),
            aborted: count(BuildResult::Aborted),
            unfinished: builds.len() - done.len(),
            requeued: builds.iter().filter(|b| b.requeued > 0).count(),
            duration_mean_ms: ms(total
                .checked_div(u32::try_from(durations.len()).unwrap_or(u32::MAX))
                .unwrap_or_default()),
            duration_max_ms: ms(durations.iter().max().copied().unwrap_or_default()),
            queue_wait_p50_ms: ms(percentile(&waits, 50)),
            queue_wait_p99_ms: ms(percentile(&waits, 99)),
            agents_launched: per_label.values().sum(),
            agents_single_use: single_use(true),
            agents_reused: single_use(false),
            agents_per_label: per_label,
            most_live_per_label: controller.pool().most_live().clone(),
            most_live_total: controller.pool().most_live_total(),
            offers: controller.counters().offers,
            offers_declined: controller.counters().declined,
            revocations: controller.counters().revocations,
        }
    }

    /// The summary as one line of JSON.
    pub fn to_json(&self) -> String {
        // A struct of numbers and string maps always serializes.
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "builds: {} (success {}, failure {}, aborted {}, unfinished {}; requeued {})",
            self.builds, self.success, self.failure, self.aborted, self.unfinished, self.requeued
        )?;
        writeln!(
            f,
            "durations: mean {} ms, max {} ms; queue wait p50 {} ms, p99 {} ms",
            self.duration_mean_ms,
            self.duration_max_ms,
            self.queue_wait_p50_ms,
            self.queue_wait_p99_ms
        )?;
        writeln!(
            f,
            "agents launched: {} (single-use {}, reused {}; per label {:?}; at most {} at once, per label {:?})",
            self.agents_launched,
            self.agents_single_use,
            self.agents_reused,
            self.agents_per_label,
            self.most_live_total,
            self.most_live_per_label
        )?;
        write!(
            f,
            "offers: {} received, {} declined with the long filter; revocations: {}",
            self.offers, self.offers_declined, self.revocations
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 50), Duration::from_millis(50));
        assert_eq!(percentile(&values, 99), Duration::from_millis(99));
        assert_eq!(percentile(&values[..1], 99), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50), Duration::ZERO);
    }
}
