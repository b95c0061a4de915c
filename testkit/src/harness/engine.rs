//! The engine: the master core, the simulated wire and the recorder behind
//! one lock, stepped by the frameworks' calls (synchronously, in the
//! caller's task) and by one timer task on tokio's clock. Every step is a
//! step of the master's driver loop (`master/driver.rs`, shared with the
//! gRPC server): after it the engine delivers what the core sent, through
//! the wire's faults, records it, and checks the master's invariants.
//!
//! Under tokio's paused clock everything here is deterministic: no threads,
//! no real time, no randomness but the seeded one.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use corral::error::{RejectKind, TransportError};
use corral::{Event, FrameworkId};
use corral_proto::pb;
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

use super::calls::Call;
use super::network::{Network, Verdict};
use super::trace::{summarize_event, Trace, What};
use crate::agent::AgentOrder;
use crate::master::driver::{self, Delivery, Owner};
use crate::master::{self, outbox, CallError, ErrorKind, MasterCore, StreamId};

pub(crate) type EventSender = mpsc::UnboundedSender<Result<pb::Event, TransportError>>;

struct Link {
    framework: Option<FrameworkId>,
    sender: EventSender,
}

/// Everything behind the lock.
pub(crate) struct Engine {
    pub core: MasterCore,
    pub network: Network,
    pub trace: Trace,
    start: Instant,
    links: BTreeMap<StreamId, Link>,
    /// The first invariant broken, if any.
    pub violation: Option<String>,
    /// Check the invariants after every step (the default).
    pub checking: bool,
    /// How many master failovers were injected (names the new leader).
    pub failovers: u64,
}

/// The engine and the two signals around it.
pub(crate) struct EngineShared {
    engine: Mutex<Engine>,
    /// Wakes the timer task: deadlines may have moved.
    pub timer: Notify,
    /// Wakes whoever waits for the cluster to change (`run_until`).
    pub changed: Notify,
}

impl EngineShared {
    pub fn new(core: MasterCore) -> Arc<Self> {
        Arc::new(EngineShared {
            engine: Mutex::new(Engine {
                core,
                network: Network::default(),
                trace: Trace::default(),
                start: Instant::now(),
                links: BTreeMap::new(),
                violation: None,
                checking: true,
                failovers: 0,
            }),
            timer: Notify::new(),
            changed: Notify::new(),
        })
    }

    /// Locks the engine. Nothing panics while holding it but a bug, and a
    /// test that hit one has failed already, so poisoning is ignored.
    pub fn lock(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `step` on the engine, then delivers, checks and wakes.
    pub fn step<T>(&self, step: impl FnOnce(&mut Engine, Duration) -> T) -> T {
        let out = {
            let mut engine = self.lock();
            let now = engine.now();
            driver::step(&mut *engine, now, step)
        };
        self.timer.notify_one();
        self.changed.notify_waiters();
        out
    }

    /// The timer task: runs the core's timers and releases held events,
    /// each at its virtual time.
    pub async fn run_timers(self: Arc<Self>) {
        // A tick may leave work due at the same instant (a kill with no
        // cleanup time), served by the next tick. A deadline that stays at
        // the instant of many ticks in a row is a timer the master will not
        // serve (a bug, recorded as a broken invariant); time then moves on
        // a millisecond at a time, so the test fails on its limit instead
        // of spinning.
        const SAME_INSTANT_TICKS: u32 = 1000;
        let mut last_tick: Option<Instant> = None;
        let mut same_instant = 0u32;
        loop {
            let next = {
                let engine = self.lock();
                engine.next_deadline().map(|d| engine.start + d)
            };
            let stuck = matches!((next, last_tick), (Some(at), Some(last)) if at <= last);
            same_instant = if stuck { same_instant + 1 } else { 0 };
            let next = match last_tick {
                Some(last) if same_instant > SAME_INSTANT_TICKS => {
                    if same_instant == SAME_INSTANT_TICKS + 1 {
                        // Not through `step`: that would wake this loop
                        // again at once.
                        {
                            let mut engine = self.lock();
                            let now = engine.now();
                            engine.stuck_timer(now);
                        }
                        self.changed.notify_waiters();
                    }
                    Some(last + Duration::from_millis(1))
                }
                _ => next,
            };
            tokio::select! {
                biased;
                () = self.timer.notified() => {}
                () = sleep_until_opt(next) => {
                    last_tick = Some(Instant::now());
                    self.step(|engine, now| engine.tick(now));
                }
            }
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl Engine {
    /// Virtual time since the cluster started.
    pub fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn next_deadline(&self) -> Option<Duration> {
        [self.core.next_deadline(), self.network.next_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// A timer stays due after the tick that should have served it.
    fn stuck_timer(&mut self, now: Duration) {
        if self.violation.is_none() {
            let violation = format!(
                "a timer due at {:?} was not served by the tick at {now:?}",
                self.next_deadline().unwrap_or_default()
            );
            self.violated(now, violation);
        }
    }

    fn tick(&mut self, now: Duration) {
        // A timer left due is served by the next tick (see `run_timers`).
        driver::run_timers(&mut self.core, now);
        for held in self.network.due(now) {
            let framework = self
                .links
                .get(&held.stream)
                .and_then(|l| l.framework.clone());
            self.send(now, framework, &held.stream, held.event);
        }
    }

    /// Registers a new stream and returns its receiving end.
    pub fn open(
        &mut self,
        stream: StreamId,
        framework: Option<FrameworkId>,
    ) -> mpsc::UnboundedReceiver<Result<pb::Event, TransportError>> {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.links.insert(stream, Link { framework, sender });
        receiver
    }

    /// The framework subscribed on `stream`.
    pub fn framework_of(&self, stream: &str) -> Option<FrameworkId> {
        self.links
            .get(&StreamId::new(stream))
            .and_then(|l| l.framework.clone())
    }

    /// The current stream of `fw`.
    pub fn stream_of(&self, fw: &FrameworkId) -> Option<StreamId> {
        self.core.stream_of(fw)
    }

    /// Records a call the master received.
    pub fn record_call(
        &mut self,
        now: Duration,
        framework: Option<FrameworkId>,
        call: &pb::Call,
        outcome: &Result<(), CallError>,
    ) {
        let outcome = outcome.as_ref().map(|_| ()).map_err(ToString::to_string);
        self.trace.push(
            now,
            framework,
            What::Call {
                call: Box::new(Call::from_pb(call)),
                outcome,
            },
        );
    }

    /// Records what a handler saw.
    pub fn record_seen(&mut self, framework: FrameworkId, event: Event) {
        let now = self.now();
        self.trace
            .push(now, Some(framework), What::Seen(Box::new(event)));
    }

    /// Records an input: injected by the test (`seen` false) or handed to
    /// the framework's handler (`seen` true).
    pub fn record_input(&mut self, framework: FrameworkId, text: String, seen: bool) {
        let now = self.now();
        let what = if seen {
            What::InputSeen(text)
        } else {
            What::Input(text)
        };
        self.trace.push(now, Some(framework), what);
    }

    /// Records a fault.
    pub fn record_fault(&mut self, framework: Option<FrameworkId>, text: String) {
        let now = self.now();
        self.trace.push(now, framework, What::Fault(text));
    }

    /// Records an acknowledgement lost on the wire.
    pub fn record_lost_call(&mut self, framework: FrameworkId, call: &pb::Call) {
        let now = self.now();
        self.trace.push(
            now,
            Some(framework),
            What::Lost {
                what: Call::from_pb(call).to_string(),
                why: "acknowledgement dropped",
            },
        );
    }

    /// Records a broken invariant (the first one is kept as the cluster's
    /// violation).
    fn violated(&mut self, now: Duration, violation: String) {
        tracing::error!(%violation, "invariant broken");
        self.trace
            .push(now, None, What::Violation(violation.clone()));
        self.violation.get_or_insert(violation);
    }

    /// Puts one event on a stream, recording it (heartbeats unrecorded).
    fn send(
        &mut self,
        now: Duration,
        framework: Option<FrameworkId>,
        stream: &StreamId,
        event: pb::Event,
    ) {
        let Some(link) = self.links.get(stream) else {
            return;
        };
        let heartbeat = event.r#type == Some(pb::event::Type::Heartbeat as i32);
        if !heartbeat {
            self.trace
                .push(now, framework, What::Delivered(Box::new(event.clone())));
        }
        if link.sender.send(Ok(event)).is_err() {
            // The framework dropped its end; its guard reports it.
            self.links.remove(stream);
        }
    }

    /// The client dropped `stream`.
    pub fn dropped(&mut self, now: Duration, stream: &StreamId) {
        self.links.remove(stream);
        self.network.closed(stream);
        self.core.disconnect(now, stream);
    }

    /// Whether nothing is under way: no task between states, no update
    /// waiting for its acknowledgement, nothing held on the wire, and every
    /// framework in `running` connected.
    pub fn is_idle(&self, running: &[FrameworkId]) -> bool {
        self.core.all_updates_acknowledged()
            && self.network.is_empty()
            && !self.core.has_pending_transitions()
            && running
                .iter()
                .all(|fw| self.core.stream_of(fw).is_some() || !self.core.is_registered(fw))
    }
}

/// The engine's side of the driver loop: events through the simulated
/// wire's faults onto the frameworks' streams, recorded; after each step,
/// the invariants of what changed.
impl Owner for Engine {
    fn core(&mut self) -> &mut MasterCore {
        &mut self.core
    }

    fn deliver(&mut self, now: Duration, stream: StreamId, event: master::Event) -> Delivery {
        let framework = self.links.get(&stream).and_then(|l| l.framework.clone());
        let framework = framework.or_else(|| event.subscribed().cloned());
        let event = outbox::encode(&event);
        if let (Some(fw), Some(link)) = (&framework, self.links.get_mut(&stream)) {
            link.framework.get_or_insert_with(|| fw.clone());
        }
        match self.network.route(now, framework.as_ref(), &stream, event) {
            Verdict::Deliver(events) => {
                for event in events {
                    self.send(now, framework.clone(), &stream, event);
                }
            }
            Verdict::Lost(why, event) => self.trace.push(
                now,
                framework,
                What::Lost {
                    what: summarize_event(&event),
                    why,
                },
            ),
            Verdict::Held => {}
        }
        // The harness's streams are unbounded: a framework's handler reads
        // them in the test's own task.
        Delivery::Done
    }

    fn close(&mut self, stream: StreamId) {
        self.links.remove(&stream);
        self.network.closed(&stream);
    }

    /// A Cluster refuses local agents (`ConfigError::LocalAgentUnsupported`),
    /// so an order for one is a bug of the core.
    fn order(&mut self, now: Duration, order: AgentOrder) {
        self.violated(
            now,
            format!("an order for a local agent in a cluster without any: {order:?}"),
        );
    }

    fn settled(&mut self, now: Duration) {
        // An allocator refusal is a broken invariant, checked or not.
        for broken in self.core.take_broken() {
            self.violated(now, format!("books disagree: {broken}"));
        }
        // What changed since the last step, checked at its cost.
        let touched = self.core.take_touched();
        if self.checking && self.violation.is_none() {
            if let Err(violation) = self.core.check_touched(&touched) {
                self.violated(now, violation);
            }
        }
    }
}

/// A refusal of the core as the SDK's transport error.
pub(crate) fn to_transport_error(err: &CallError) -> TransportError {
    let kind = match err.kind() {
        ErrorKind::InvalidArgument => RejectKind::InvalidArgument,
        ErrorKind::PermissionDenied => RejectKind::NotSubscribed,
        ErrorKind::NotFound => RejectKind::NotFound,
        ErrorKind::Unimplemented => RejectKind::Unimplemented,
        ErrorKind::Internal | ErrorKind::ResourceExhausted => RejectKind::Other,
    };
    TransportError::Rejected {
        kind,
        message: err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use corral::Resources;

    use super::*;
    use crate::master::MasterConfig;

    #[tokio::test(start_paused = true)]
    async fn an_allocator_refusal_is_a_broken_invariant_even_unchecked() {
        let config = MasterConfig::default()
            .agents(1, Resources::parse("cpus:1;mem:128").unwrap())
            .seed(1);
        let shared = EngineShared::new(MasterCore::new(config).unwrap());
        shared.lock().checking = false;
        let agent = corral::AgentId::new("agent-0");
        shared.step(|engine, now| {
            engine.core.allocator_mut().remove_agent(&agent).unwrap();
            engine.core.lose_agent(now, &agent).unwrap();
        });
        let engine = shared.lock();
        let violation = engine.violation.clone().expect("a violation");
        assert!(violation.contains("remove_agent"), "{violation}");
        assert_eq!(engine.trace.violations().len(), 1);
    }
}
