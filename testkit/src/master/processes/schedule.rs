//! When the next allocation pass is due: the batch cycle every
//! `allocation_interval`, or sooner a pass for resources freed since the
//! last one (see `processes::allocation`). Pure bookkeeping of times, with
//! no access to the books, so the core can own it without an import cycle.

use std::time::Duration;

/// The least time between two passes when a pass is due because resources
/// were freed: frees within it are coalesced into one pass.
pub const EVENT_PASS_GAP: Duration = Duration::from_millis(1);

/// When the next allocation pass is due: the batch cycle, or sooner a pass
/// for resources freed since the last pass. See the module docs.
#[derive(Clone, Debug)]
pub(in crate::master) struct Schedule {
    interval: Duration,
    next_cycle: Duration,
    /// When a pass is due for resources freed since the last pass.
    freed: Option<Duration>,
    /// When the last pass ran.
    last_pass: Option<Duration>,
}

impl Schedule {
    /// The first cycle one `interval` after time zero.
    pub(in crate::master) fn new(interval: Duration) -> Self {
        Schedule {
            interval,
            next_cycle: interval,
            freed: None,
            last_pass: None,
        }
    }

    /// Resources went back to the allocator at `now`: a pass is due now,
    /// or [`EVENT_PASS_GAP`] after the last one if that is later.
    pub(in crate::master) fn freed(&mut self, now: Duration) {
        if self.freed.is_none() {
            let earliest = self
                .last_pass
                .map_or(now, |last| last.saturating_add(EVENT_PASS_GAP));
            self.freed = Some(now.max(earliest));
        }
    }

    /// When the next batch cycle runs.
    pub(in crate::master) fn next_cycle(&self) -> Duration {
        self.next_cycle
    }

    /// When the next pass is due.
    pub(in crate::master) fn next_due(&self) -> Duration {
        self.freed
            .map_or(self.next_cycle, |freed| freed.min(self.next_cycle))
    }

    /// A pass ran at `now` (whatever asked for it): it offered what was
    /// freed before it.
    pub(in crate::master) fn ran(&mut self, now: Duration) {
        self.freed = None;
        self.last_pass = Some(now);
    }

    /// Whether a pass is due at `now` (the cycle, or one for frees); the
    /// cycle's time moves on when it was due.
    pub(in crate::master) fn take_due(&mut self, now: Duration) -> bool {
        let cycle = self.take_cycle(now);
        cycle || self.freed.is_some_and(|due| due <= now)
    }

    /// Whether the batch cycle is due at `now`; if so, the next one is one
    /// interval later (or one interval from `now` after a stall).
    fn take_cycle(&mut self, now: Duration) -> bool {
        if self.next_cycle > now {
            return false;
        }
        self.next_cycle = self.next_cycle.saturating_add(self.interval);
        if self.next_cycle <= now {
            self.next_cycle = now.saturating_add(self.interval);
        }
        true
    }
}
