//! The runtime's knobs, with defaults that follow the Mesos docs' advice.

use std::time::Duration;

/// Who acknowledges status updates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AckMode {
    /// The runtime acknowledges each update once its handler returned.
    #[default]
    Implicit,
    /// The framework calls [`Driver::acknowledge`](crate::Driver::acknowledge)
    /// itself, e.g. after persisting the new state. Until it does, the master
    /// resends the update (and the runtime hides the resends).
    Explicit,
}

/// How the runtime behaves. `Config::default()` suits most frameworks;
/// change what you need with the `with_*` methods (the struct is
/// `#[non_exhaustive]`: knobs are added without breaking your code, so it
/// cannot be written as a struct literal outside this crate; its fields
/// stay readable):
///
/// ```
/// use std::time::Duration;
/// use corral::{AckMode, Config};
///
/// let config = Config::default()
///     .with_give_up_after(Duration::from_secs(60))
///     .with_ack_mode(AckMode::Explicit);
/// assert_eq!(config.give_up_after, Some(Duration::from_secs(60)));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
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

impl Config {
    /// The default config (as [`Config::default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Who acknowledges status updates ([`Config::ack_mode`]).
    pub fn with_ack_mode(mut self, mode: AckMode) -> Self {
        self.ack_mode = mode;
        self
    }

    /// How long an unanswered offer is refused for
    /// ([`Config::unanswered_offer_refuse`]).
    pub fn with_unanswered_offer_refuse(mut self, refuse: Duration) -> Self {
        self.unanswered_offer_refuse = refuse;
        self
    }

    /// At most one REVIVE per role per `interval`
    /// ([`Config::min_revive_interval`]).
    pub fn with_min_revive_interval(mut self, interval: Duration) -> Self {
        self.min_revive_interval = interval;
        self
    }

    /// How many heartbeat intervals of silence end the connection
    /// ([`Config::missed_heartbeats`]).
    pub fn with_missed_heartbeats(mut self, missed: u32) -> Self {
        self.missed_heartbeats = missed;
        self
    }

    /// The first reconnect delay and the cap the delays double up to
    /// ([`Config::backoff_initial`], [`Config::backoff_max`]).
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff_initial = initial;
        self.backoff_max = max;
        self
    }

    /// Stop with [`Error::GaveUp`](crate::Error::GaveUp) after being
    /// disconnected this long ([`Config::give_up_after`]).
    pub fn with_give_up_after(mut self, limit: Duration) -> Self {
        self.give_up_after = Some(limit);
        self
    }

    /// How long to wait for the first event of a subscription
    /// ([`Config::subscribe_timeout`]).
    pub fn with_subscribe_timeout(mut self, timeout: Duration) -> Self {
        self.subscribe_timeout = timeout;
        self
    }

    /// Whether to reconcile every task after each (re)subscription
    /// ([`Config::reconcile_on_subscribe`]).
    pub fn with_reconcile_on_subscribe(mut self, reconcile: bool) -> Self {
        self.reconcile_on_subscribe = reconcile;
        self
    }

    /// The seed for the reconnect jitter ([`Config::seed`]).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}
