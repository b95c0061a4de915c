//! The simulated wire between the master and each framework, and the
//! faults it can be told to commit: lose, duplicate, delay or reorder the
//! next status updates, lose the next acknowledgements, or go silent on a
//! stream. Pure bookkeeping; the engine asks it what to do with each event
//! and when held events are due.
//!
//! Only status updates that carry a uuid (the reliable ones, resent until
//! acknowledged) are subject to update faults: losing one is survivable by
//! design, which is what these faults test.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use corral::{FrameworkId, MasterEvent};

use crate::master::StreamId;

/// The faults pending on one framework's wire.
#[derive(Clone, Debug, Default)]
struct WireFaults {
    drop_updates: u32,
    duplicate_updates: u32,
    delay_updates: u32,
    delay: Duration,
    reorder_updates: u32,
    drop_acks: u32,
}

/// An event held back on the wire, to be delivered at `release_at`.
#[derive(Clone, Debug)]
pub(crate) struct Held {
    pub release_at: Duration,
    pub stream: StreamId,
    pub event: MasterEvent,
    pub why: &'static str,
}

/// What to do with one event on its way to a framework.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Deliver these, in order (one event, or a duplicate pair, or an
    /// event followed by one it overtook).
    Deliver(Vec<MasterEvent>),
    /// Lost, for this reason (the event is handed back for the record).
    Lost(&'static str, Box<MasterEvent>),
    /// Held back; the engine releases it later.
    Held,
}

/// How long a reordered update waits for a later one to overtake it before
/// it goes out anyway.
const REORDER_WINDOW: Duration = Duration::from_secs(1);

/// Every framework's wire.
#[derive(Debug, Default)]
pub(crate) struct Network {
    faults: BTreeMap<FrameworkId, WireFaults>,
    silent: BTreeSet<StreamId>,
    held: Vec<Held>,
}

impl Network {
    fn of(&mut self, fw: &FrameworkId) -> &mut WireFaults {
        self.faults.entry(fw.clone()).or_default()
    }

    pub fn drop_updates(&mut self, fw: &FrameworkId, count: u32) {
        self.of(fw).drop_updates += count;
    }

    pub fn duplicate_updates(&mut self, fw: &FrameworkId, count: u32) {
        self.of(fw).duplicate_updates += count;
    }

    pub fn delay_updates(&mut self, fw: &FrameworkId, count: u32, delay: Duration) {
        let faults = self.of(fw);
        faults.delay_updates += count;
        faults.delay = delay;
    }

    pub fn reorder_updates(&mut self, fw: &FrameworkId, count: u32) {
        self.of(fw).reorder_updates += count;
    }

    pub fn drop_acks(&mut self, fw: &FrameworkId, count: u32) {
        self.of(fw).drop_acks += count;
    }

    /// Silences `stream`: nothing more reaches its framework on it.
    pub fn silence(&mut self, stream: StreamId) {
        self.silent.insert(stream);
    }

    /// Forgets a closed stream.
    pub fn closed(&mut self, stream: &StreamId) {
        self.silent.remove(stream);
        self.held.retain(|h| &h.stream != stream);
    }

    /// Whether the next acknowledgement of `fw` is to be lost (and counts
    /// it as lost).
    pub fn take_ack_loss(&mut self, fw: &FrameworkId) -> bool {
        let faults = self.of(fw);
        if faults.drop_acks > 0 {
            faults.drop_acks -= 1;
            true
        } else {
            false
        }
    }

    /// Decides the fate of `event`, sent at `now` on `stream` to `fw`.
    pub fn route(
        &mut self,
        now: Duration,
        fw: Option<&FrameworkId>,
        stream: &StreamId,
        event: MasterEvent,
    ) -> Verdict {
        if self.silent.contains(stream) {
            return Verdict::Lost("master silent on this stream", Box::new(event));
        }
        let reliable_update = matches!(&event, MasterEvent::Update(s) if s.uuid.is_some());
        let Some(fw) = fw.filter(|_| reliable_update) else {
            return Verdict::Deliver(vec![event]);
        };
        // A reordered update waiting on this stream goes out right after
        // this one, which overtakes it.
        let overtaken = self
            .held
            .iter()
            .position(|h| &h.stream == stream && h.why == "reordered")
            .map(|i| self.held.remove(i).event);
        let faults = self.of(fw);
        let mut out = Vec::new();
        if faults.drop_updates > 0 {
            faults.drop_updates -= 1;
            out.extend(overtaken);
            return if out.is_empty() {
                Verdict::Lost("update dropped", Box::new(event))
            } else {
                // The overtaken one still arrives; this one is lost.
                Verdict::Deliver(out)
            };
        }
        if faults.delay_updates > 0 {
            faults.delay_updates -= 1;
            let release_at = now.saturating_add(faults.delay);
            self.held.push(Held {
                release_at,
                stream: stream.clone(),
                event,
                why: "delayed",
            });
            return match overtaken {
                Some(e) => Verdict::Deliver(vec![e]),
                None => Verdict::Held,
            };
        }
        if overtaken.is_none() && faults.reorder_updates > 0 {
            faults.reorder_updates -= 1;
            self.held.push(Held {
                release_at: now.saturating_add(REORDER_WINDOW),
                stream: stream.clone(),
                event,
                why: "reordered",
            });
            return Verdict::Held;
        }
        if faults.duplicate_updates > 0 {
            faults.duplicate_updates -= 1;
            out.push(event.clone());
        }
        out.push(event);
        out.extend(overtaken);
        Verdict::Deliver(out)
    }

    /// The held events due at `now`, in order.
    pub fn due(&mut self, now: Duration) -> Vec<Held> {
        let mut due = Vec::new();
        let mut i = 0;
        while i < self.held.len() {
            if self.held[i].release_at <= now {
                due.push(self.held.remove(i));
            } else {
                i += 1;
            }
        }
        due.sort_by_key(|h| h.release_at);
        due
    }

    /// When the next held event is due.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.held.iter().map(|h| h.release_at).min()
    }

    /// Whether anything is held on the wire.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}
