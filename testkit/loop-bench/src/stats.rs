//! Percentiles of measured durations, and the figures a run prints: one
//! line per figure for people, and `FIGURE name value` lines for the CI
//! speed gate (`.ci/speed-gate`).

use std::time::Duration;

/// The `p` percentile (nearest rank) of `values`; zero when empty.
pub fn percentile(values: &[Duration], p: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = values.to_vec();
    sorted.sort();
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Microseconds, as a float.
pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The figures of one run, in the order measured.
#[derive(Default)]
pub struct Figures {
    rows: Vec<(String, f64, &'static str)>,
}

impl Figures {
    /// Records a figure (`unit` is for people only).
    pub fn put(&mut self, name: impl Into<String>, value: f64, unit: &'static str) {
        self.rows.push((name.into(), value, unit));
    }

    /// Records p50 and p99 of `values` in microseconds, as `<name>_p50_us`
    /// and `<name>_p99_us`.
    pub fn latency(&mut self, name: &str, values: &[Duration]) {
        self.put(
            format!("{name}_p50_us"),
            micros(percentile(values, 0.5)),
            "µs",
        );
        self.put(
            format!("{name}_p99_us"),
            micros(percentile(values, 0.99)),
            "µs",
        );
    }

    /// The value of a figure recorded earlier.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.rows.iter().find(|r| r.0 == name).map(|r| r.1)
    }

    /// Prints the machine-readable block.
    pub fn print_machine(&self) {
        for (name, value, _) in &self.rows {
            println!("FIGURE {name} {value:.3}");
        }
    }
}
