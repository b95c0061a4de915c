//! Durations that carry their unit in their type.
//!
//! The Jenkins Mesos plugin is remembered for a decline filter that turned
//! minutes into a week: a bare number crossed a boundary and was read in
//! another unit. Here a duration in the jobs file is a [`Minutes`] or a
//! [`Seconds`] (the field's name says which, `idle_minutes`,
//! `simulated_seconds`), and it becomes a [`Duration`] through `From`
//! only, so no code multiplies a number by a guessed factor.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// A whole number of minutes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(transparent)]
pub struct Minutes(pub u64);

/// A number of seconds (fractions allowed: `0.5`).
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, Deserialize)]
#[serde(transparent)]
pub struct Seconds(pub f64);

impl From<Minutes> for Duration {
    fn from(m: Minutes) -> Duration {
        Duration::from_secs(m.0.saturating_mul(60))
    }
}

impl Seconds {
    /// The duration, or `None` if the number is negative, not finite or
    /// too large (the jobs file's validation refuses those).
    pub fn to_duration(self) -> Option<Duration> {
        Duration::try_from_secs_f64(self.0).ok()
    }
}

impl fmt::Display for Minutes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} min", self.0)
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} s", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_become_minutes_not_seconds_or_milliseconds() {
        assert_eq!(Duration::from(Minutes(10)), Duration::from_secs(600));
    }

    #[test]
    fn seconds_refuse_what_is_no_duration() {
        assert_eq!(
            Seconds(0.25).to_duration(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(Seconds(-1.0).to_duration(), None);
        assert_eq!(Seconds(f64::NAN).to_duration(), None);
    }
}
