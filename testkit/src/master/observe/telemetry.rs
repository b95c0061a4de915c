//! The master's own counters, owned here and held by the core: offers made,
//! declined and rescinded by role, revocation notices sent, answered and
//! enforced, the allocation cycle's duration histogram, and a bounded
//! timeline of recent offers, revocations and kills for the live page.
//! Turned off ([`Telemetry::set_enabled`]), it counts nothing (to
//! measure what it costs). Every map and list is bounded (`MAX_ROLES`, `TIMELINE`): a role beyond
//! the bound is counted under [`OTHER_ROLE`].

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use corral::{AgentId, FrameworkId, OfferId, Role, TaskId};

/// Upper bounds (seconds) of the allocation cycle histogram's buckets; the
/// last bucket is `+Inf`.
pub const CYCLE_BUCKETS: [f64; 12] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.05,
    0.25,
];

/// How many distinct roles are counted by name.
pub const MAX_ROLES: usize = 1024;

/// The label of roles counted beyond [`MAX_ROLES`].
pub const OTHER_ROLE: &str = "(other)";

/// How many timeline entries are kept (oldest dropped first).
pub const TIMELINE: usize = 200;

/// What happened, on the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimelineKind {
    /// An offer made.
    Offer {
        /// The offer.
        offer: OfferId,
        /// Where.
        agent: AgentId,
    },
    /// An offer declined.
    Decline {
        /// The offer.
        offer: OfferId,
    },
    /// An offer rescinded.
    Rescind {
        /// The offer.
        offer: OfferId,
    },
    /// A revocation notice sent.
    Revocation {
        /// The notice (inverse offer) id.
        notice: OfferId,
        /// Where the borrowed tasks run.
        agent: AgentId,
    },
    /// A task killed by the master or its framework.
    Kill {
        /// The task.
        task: TaskId,
    },
}

/// One timeline entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineEntry {
    /// When (master time).
    pub at: Duration,
    /// The framework concerned.
    pub framework: FrameworkId,
    /// The role concerned (empty when it does not apply).
    pub role: String,
    /// What.
    pub kind: TimelineKind,
}

/// Per-role counts of offers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OfferCounts {
    /// Offers made.
    pub made: u64,
    /// Offers declined.
    pub declined: u64,
    /// Offers rescinded.
    pub rescinded: u64,
}

/// The allocation cycle's duration histogram.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CycleHistogram {
    /// Per-bucket (not cumulative) counts; one more than [`CYCLE_BUCKETS`]
    /// (the `+Inf` bucket).
    pub buckets: [u64; CYCLE_BUCKETS.len() + 1],
    /// The sum of the durations, in seconds.
    pub sum: f64,
    /// How many cycles were timed.
    pub count: u64,
    /// The latest cycle's duration, in seconds.
    pub last: f64,
    /// The longest cycle's duration, in seconds.
    pub max: f64,
}

impl CycleHistogram {
    /// Counts one cycle of `seconds`.
    pub fn observe(&mut self, seconds: f64) {
        let ix = CYCLE_BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(CYCLE_BUCKETS.len());
        self.buckets[ix] += 1;
        self.sum += seconds;
        self.count += 1;
        self.last = seconds;
        self.max = self.max.max(seconds);
    }
}

/// The counters; see the module docs.
#[derive(Clone, Debug)]
pub struct Telemetry {
    enabled: bool,
    cycles: CycleHistogram,
    cycle_number: u64,
    offers: BTreeMap<String, OfferCounts>,
    notices_sent: u64,
    notices_answered: u64,
    notices_enforced: u64,
    timeline: VecDeque<TimelineEntry>,
    calls: BTreeMap<&'static str, u64>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self {
            enabled: true,
            cycles: CycleHistogram::default(),
            cycle_number: 0,
            offers: BTreeMap::new(),
            notices_sent: 0,
            notices_answered: 0,
            notices_enforced: 0,
            timeline: VecDeque::new(),
            calls: BTreeMap::new(),
        }
    }
}

impl Telemetry {
    /// Turns counting on or off (on by default).
    pub fn set_enabled(&mut self, on: bool) {
        self.enabled = on;
    }

    /// Starts timing a cycle (`None` when timing is off); returns its
    /// number too (for the cycle's span).
    pub fn cycle_started(&mut self) -> (u64, Option<Instant>) {
        self.cycle_number += 1;
        (self.cycle_number, self.enabled.then(Instant::now))
    }

    /// Ends timing a cycle started by [`Telemetry::cycle_started`].
    pub fn cycle_ended(&mut self, started: Option<Instant>) {
        if let Some(at) = started {
            self.cycles.observe(at.elapsed().as_secs_f64());
        }
    }

    fn role_counts(&mut self, role: &Role) -> Option<&mut OfferCounts> {
        if !self.enabled {
            return None;
        }
        let key = if self.offers.len() < MAX_ROLES || self.offers.contains_key(role.as_str()) {
            role.as_str().to_owned()
        } else {
            OTHER_ROLE.to_owned()
        };
        Some(self.offers.entry(key).or_default())
    }

    fn push(&mut self, entry: TimelineEntry) {
        if !self.enabled {
            return;
        }
        if self.timeline.len() == TIMELINE {
            self.timeline.pop_front();
        }
        self.timeline.push_back(entry);
    }

    /// A call of type `kind` (its Mesos name, `?` when unknown) came in.
    pub fn call_received(&mut self, kind: &'static str) {
        if self.enabled {
            *self.calls.entry(kind).or_default() += 1;
        }
    }

    /// An offer was made.
    pub fn offer_made(
        &mut self,
        at: Duration,
        fw: &FrameworkId,
        role: &Role,
        offer: &OfferId,
        agent: &AgentId,
    ) {
        if let Some(c) = self.role_counts(role) {
            c.made += 1;
        }
        self.push(TimelineEntry {
            at,
            framework: fw.clone(),
            role: role.as_str().to_owned(),
            kind: TimelineKind::Offer {
                offer: offer.clone(),
                agent: agent.clone(),
            },
        });
    }

    /// An offer was declined.
    pub fn offer_declined(&mut self, at: Duration, fw: &FrameworkId, role: &Role, offer: &OfferId) {
        if let Some(c) = self.role_counts(role) {
            c.declined += 1;
        }
        self.push(TimelineEntry {
            at,
            framework: fw.clone(),
            role: role.as_str().to_owned(),
            kind: TimelineKind::Decline {
                offer: offer.clone(),
            },
        });
    }

    /// An offer was rescinded.
    pub fn offer_rescinded(
        &mut self,
        at: Duration,
        fw: &FrameworkId,
        role: &Role,
        offer: &OfferId,
    ) {
        if let Some(c) = self.role_counts(role) {
            c.rescinded += 1;
        }
        self.push(TimelineEntry {
            at,
            framework: fw.clone(),
            role: role.as_str().to_owned(),
            kind: TimelineKind::Rescind {
                offer: offer.clone(),
            },
        });
    }

    /// A revocation notice was sent.
    pub fn notice_sent(
        &mut self,
        at: Duration,
        fw: &FrameworkId,
        owner: &Role,
        notice: &OfferId,
        agent: &AgentId,
    ) {
        if self.enabled {
            self.notices_sent += 1;
        }
        self.push(TimelineEntry {
            at,
            framework: fw.clone(),
            role: owner.as_str().to_owned(),
            kind: TimelineKind::Revocation {
                notice: notice.clone(),
                agent: agent.clone(),
            },
        });
    }

    /// A revocation notice was answered (accepted or declined).
    pub fn notice_answered(&mut self) {
        if self.enabled {
            self.notices_answered += 1;
        }
    }

    /// A revocation notice's deadline passed: its tasks are killed.
    pub fn notice_enforced(&mut self) {
        if self.enabled {
            self.notices_enforced += 1;
        }
    }

    /// A task is being killed.
    pub fn task_killed(&mut self, at: Duration, fw: &FrameworkId, task: &TaskId) {
        self.push(TimelineEntry {
            at,
            framework: fw.clone(),
            role: String::new(),
            kind: TimelineKind::Kill { task: task.clone() },
        });
    }

    /// The counts so far.
    pub fn counts(&self) -> Counts {
        Counts {
            cycles: self.cycles.clone(),
            offers: self.offers.clone(),
            notices_sent: self.notices_sent,
            notices_answered: self.notices_answered,
            notices_enforced: self.notices_enforced,
            calls: self.calls.clone(),
        }
    }

    /// The timeline, oldest first.
    pub fn timeline(&self) -> impl Iterator<Item = &TimelineEntry> {
        self.timeline.iter()
    }
}

/// A copy of the counts, for the endpoints.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    /// The allocation cycle's duration histogram.
    pub cycles: CycleHistogram,
    /// Offers by role.
    pub offers: BTreeMap<String, OfferCounts>,
    /// Revocation notices sent.
    pub notices_sent: u64,
    /// Revocation notices answered.
    pub notices_answered: u64,
    /// Revocation notices whose deadline passed.
    pub notices_enforced: u64,
    /// Calls received, by type (Mesos name).
    pub calls: BTreeMap<&'static str, u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_by_upper_bound() {
        let mut h = CycleHistogram::default();
        h.observe(0.000_01);
        h.observe(0.003);
        h.observe(9.0);
        assert_eq!(h.buckets[0], 1);
        assert_eq!(h.buckets[8], 1);
        assert_eq!(h.buckets[CYCLE_BUCKETS.len()], 1);
        assert_eq!(h.count, 3);
    }

    #[test]
    fn roles_beyond_the_bound_are_counted_together() {
        let mut t = Telemetry::default();
        let fw = FrameworkId::new("f");
        for i in 0..MAX_ROLES + 5 {
            let role = Role::new(format!("r{i}"));
            t.offer_declined(Duration::ZERO, &fw, &role, &OfferId::new("o"));
        }
        let counts = t.counts();
        assert_eq!(counts.offers.len(), MAX_ROLES + 1);
        assert_eq!(counts.offers[OTHER_ROLE].declined, 5);
        assert_eq!(t.timeline().count(), TIMELINE);
    }
}
