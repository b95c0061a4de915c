//! The runtime's knobs, with defaults that follow the Mesos docs' advice.

use std::time::Duration;

/// Who acknowledges status updates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AckMode {
    /// The runtime acknowledges each update once its handler returned.
    #[default]
    Implicit,
    /// The framework calls [`Driver::acknowledge`](crate::Driver::acknowledge)
    /// itself, e.g. after persisting the new state. Until it does, the master
    /// resends the update (and the runtime hides the resends).
    Explicit,
}

/// How the runtime behaves. `Config::default()` suits most frameworks:
///
/// ```
/// use std::time::Duration;
/// use corral::Config;
///
/// let config = Config {
///     give_up_after: Some(Duration::from_secs(60)),
///     ..Config::default()
/// };
/// # let _ = config;
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    /// Who acknowledges status updates.
    pub ack_mode: AckMode,
    /// How long an offer the handler left unanswered is refused for.
    /// Default 5 minutes: long enough not to churn, and a revive clears it.
    pub unanswered_offer_refuse: Duration,
    /// At most one REVIVE per role per this interval. Default 1 s.
    pub min_revive_interval: Duration,
    /// The master counts as gone after this many heartbeat intervals of
    /// silence. Default 5, as the Mesos docs advise.
    pub missed_heartbeats: u32,
    /// First reconnect delay. Default 250 ms.
    pub backoff_initial: Duration,
    /// Reconnect delays double up to this cap. Default 15 s.
    pub backoff_max: Duration,
    /// Stop with [`Error::GaveUp`](crate::Error::GaveUp) after being
    /// disconnected this long (counted from the start of the run, or from
    /// the last lost connection), checked after each failed attempt.
    /// Default `None`: never give up. A framework pointed at an address with
    /// no master then retries forever, with capped, jittered backoff; each
    /// failed attempt is logged through `tracing` (a warning naming the
    /// master's endpoint), so install a subscriber to see it.
    pub give_up_after: Option<Duration>,
    /// How long to wait for the first event of a subscription. Default 30 s.
    pub subscribe_timeout: Duration,
    /// Ask the master for every task's state after each (re)subscription.
    /// Default true.
    pub reconcile_on_subscribe: bool,
    /// Seed for the reconnect jitter, so test runs replay exactly.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ack_mode: AckMode::Implicit,
            unanswered_offer_refuse: Duration::from_secs(300),
            min_revive_interval: Duration::from_secs(1),
            missed_heartbeats: 5,
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(15),
            give_up_after: None,
            subscribe_timeout: Duration::from_secs(30),
            reconcile_on_subscribe: true,
            seed: 0x5eed,
        }
    }
}
