//! [`Script`]: the test plays the master, step by step. Hand a framework
//! [`Script::transport`] instead of a real transport; then send it events
//! (SUBSCRIBED, offers, updates, rescinds) and expect its calls (an ACCEPT
//! launching these tasks, an ACKNOWLEDGE of that update) in order. No
//! allocator, no timers: only what the script says happens.
//!
//! Calls of the kinds passed to [`Script::ignore`] (say RECONCILE, or
//! SUPPRESS/REVIVE) are skipped by the `expect_*` methods. A framework that
//! is stopped and started again with its persisted state subscribes again
//! on the same script, which carries on.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use corral::error::TransportError;
use corral::transport::{Session, Subscription, Transport};
use corral::{
    Accept, AgentId, Call, CallKind, FrameworkId, MasterEvent, Offer, OfferId, Resources, Source,
    Subscribe, Subscribed, TaskId, TaskState, TaskStatus,
};
use futures::StreamExt;
use tokio::sync::{mpsc, Notify};
use tokio_stream::wrappers::UnboundedReceiverStream;

use super::calls::summary;

/// How long an `expect_*` waits for the framework's call (virtual time).
const EXPECT_LIMIT: Duration = Duration::from_secs(60);

/// Why a scripted step failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScriptError {
    /// The framework made another call than the one expected.
    #[error("expected {expected}, the framework sent {got}")]
    Unexpected {
        /// What the script expected.
        expected: String,
        /// What came (summarized).
        got: String,
    },
    /// The framework made no (non-ignored) call in time.
    #[error("expected {expected}, the framework sent nothing within {within:?}")]
    Timeout {
        /// What the script expected.
        expected: String,
        /// How long the script waited.
        within: Duration,
    },
    /// No framework is subscribed to send the event to.
    #[error("no open subscription to send {0} on")]
    NotSubscribed(&'static str),
}

#[derive(Default)]
struct ScriptState {
    calls: VecDeque<Call>,
    ignored: BTreeSet<CallKind>,
    stream: Option<mpsc::UnboundedSender<Result<MasterEvent, TransportError>>>,
    streams: u64,
    uuids: u64,
}

/// A scripted master. See the [module docs](self).
#[derive(Clone, Default)]
pub struct Script {
    state: Arc<Mutex<ScriptState>>,
    arrived: Arc<Notify>,
}

/// What an ACCEPT asked for.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Accepted {
    /// The offers used.
    pub offer_ids: Vec<OfferId>,
    /// Every task launched (LAUNCH and LAUNCH_GROUP), in order.
    pub tasks: Vec<TaskId>,
    /// The whole call (its tasks in full: [`Accept::tasks`]).
    pub accept: Accept,
}

impl Script {
    /// A script with no subscription yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The transport to give the framework under test.
    pub fn transport(&self) -> ScriptTransport {
        ScriptTransport {
            script: self.clone(),
        }
    }

    /// Makes `expect_*` skip calls of these kinds.
    pub fn ignore(&self, kinds: &[CallKind]) {
        let mut state = self.lock();
        state.ignored.extend(kinds.iter().copied());
    }

    fn lock(&self) -> MutexGuard<'_, ScriptState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for the framework's next call of `kind` (skipping ignored
    /// kinds); any other call is an error.
    pub async fn expect(&self, kind: CallKind) -> Result<Call, ScriptError> {
        let expected = kind.name().to_owned();
        let deadline = tokio::time::Instant::now() + EXPECT_LIMIT;
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            {
                let mut state = self.lock();
                while let Some(call) = state.calls.pop_front() {
                    if call.kind() == kind {
                        return Ok(call);
                    }
                    if !state.ignored.contains(&call.kind()) {
                        return Err(ScriptError::Unexpected {
                            expected,
                            got: summary(&call),
                        });
                    }
                }
            }
            tokio::select! {
                biased;
                () = arrived => {}
                () = tokio::time::sleep_until(deadline) => {
                    return Err(ScriptError::Timeout { expected, within: EXPECT_LIMIT });
                }
            }
        }
    }

    /// Waits for SUBSCRIBE and answers SUBSCRIBED with `framework` (the id
    /// the framework asked for, if it asked for one). Returns the call.
    pub async fn expect_subscribe(
        &self,
        framework: &FrameworkId,
    ) -> Result<Subscribe, ScriptError> {
        let subscribe = match self.expect(CallKind::Subscribe).await? {
            Call::Subscribe(subscribe) => subscribe,
            other => return Err(unexpected(CallKind::Subscribe, &other)),
        };
        let id = subscribe
            .framework
            .id
            .clone()
            .unwrap_or_else(|| framework.clone());
        self.send(MasterEvent::Subscribed(Subscribed::new(
            id,
            Duration::from_secs(15),
        )))?;
        Ok(subscribe)
    }

    /// Sends one offer of `resources` on `agent` for `role` (host name
    /// `{agent}.local`).
    pub fn offer(
        &self,
        framework: &FrameworkId,
        id: &str,
        agent: &str,
        role: &str,
        resources: &Resources,
    ) -> Result<OfferId, ScriptError> {
        let offer = Offer::new(id, agent, resources.clone())
            .with_role(role)
            .with_framework(framework.clone())
            .with_hostname(format!("{agent}.local"));
        self.send_offers(vec![offer])?;
        Ok(OfferId::new(id))
    }

    /// Sends these offers in one OFFERS event.
    pub fn send_offers(&self, offers: Vec<Offer>) -> Result<(), ScriptError> {
        self.send(MasterEvent::Offers {
            offers,
            malformed: Vec::new(),
        })
    }

    /// Rescinds an offer.
    pub fn rescind(&self, offer: &OfferId) -> Result<(), ScriptError> {
        self.send(MasterEvent::Rescind(offer.clone()))
    }

    /// Waits for an ACCEPT and returns what it launches.
    pub async fn expect_accept(&self) -> Result<Accepted, ScriptError> {
        let accept = match self.expect(CallKind::Accept).await? {
            Call::Accept(accept) => accept,
            other => return Err(unexpected(CallKind::Accept, &other)),
        };
        Ok(Accepted {
            offer_ids: accept.offers.clone(),
            tasks: accept.tasks().map(|t| t.id.clone()).collect(),
            accept,
        })
    }

    /// Sends a reliable status update (with a fresh uuid) for `task` on
    /// `agent`, from its executor; returns the uuid, to match the
    /// acknowledgement.
    pub fn update(
        &self,
        task: &TaskId,
        agent: &str,
        state: TaskState,
    ) -> Result<Vec<u8>, ScriptError> {
        let uuid = {
            let mut s = self.lock();
            s.uuids += 1;
            let mut uuid = vec![0u8; 8];
            uuid.extend_from_slice(&s.uuids.to_be_bytes());
            uuid
        };
        self.send(MasterEvent::Update(
            TaskStatus::new(task.clone(), state)
                .with_agent(AgentId::new(agent))
                .with_source(Source::Executor)
                .with_uuid(uuid.clone()),
        ))?;
        Ok(uuid)
    }

    /// Waits for the ACKNOWLEDGE of the update `uuid` of `task`.
    pub async fn expect_ack(&self, task: &TaskId, uuid: &[u8]) -> Result<(), ScriptError> {
        let call = self.expect(CallKind::Acknowledge).await?;
        let matches =
            matches!(&call, Call::Acknowledge { task: t, uuid: u, .. } if t == task && u == uuid);
        if !matches {
            return Err(ScriptError::Unexpected {
                expected: format!("ACKNOWLEDGE of {task}"),
                got: summary(&call),
            });
        }
        Ok(())
    }

    /// Ends the current subscription's stream, as a broken connection
    /// would; the framework resubscribes.
    pub fn close(&self) {
        self.lock().stream = None;
    }

    /// Sends any event on the current subscription, as the framework's
    /// transport would yield it (a malformed one included:
    /// [`MasterEvent::Malformed`], or offers in `Offers::malformed`).
    pub fn send(&self, event: MasterEvent) -> Result<(), ScriptError> {
        let what = event_name(&event);
        let state = self.lock();
        let sender = state
            .stream
            .as_ref()
            .ok_or(ScriptError::NotSubscribed(what))?;
        sender
            .send(Ok(event))
            .map_err(|_| ScriptError::NotSubscribed(what))
    }

    fn arrive(&self, call: Call) {
        self.lock().calls.push_back(call);
        self.arrived.notify_waiters();
    }
}

/// `expect` returned another kind than asked for (it does not).
fn unexpected(expected: CallKind, got: &Call) -> ScriptError {
    ScriptError::Unexpected {
        expected: expected.name().to_owned(),
        got: summary(got),
    }
}

/// The wire name of an event's type, for errors.
fn event_name(event: &MasterEvent) -> &'static str {
    match event {
        MasterEvent::Subscribed(_) => "SUBSCRIBED",
        MasterEvent::Offers { .. } => "OFFERS",
        MasterEvent::InverseOffers(_) => "INVERSE_OFFERS",
        MasterEvent::Rescind(_) => "RESCIND",
        MasterEvent::RescindInverseOffer(_) => "RESCIND_INVERSE_OFFER",
        MasterEvent::Update(_) => "UPDATE",
        MasterEvent::Message { .. } => "MESSAGE",
        MasterEvent::Failure(_) => "FAILURE",
        MasterEvent::Error(_) => "ERROR",
        MasterEvent::Heartbeat => "HEARTBEAT",
        MasterEvent::Malformed(_) => "a malformed event",
    }
}

/// The transport a scripted framework talks through.
#[derive(Clone)]
pub struct ScriptTransport {
    script: Script,
}

#[async_trait]
impl Transport for ScriptTransport {
    async fn subscribe(&self, call: Subscribe) -> Result<Subscription, TransportError> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let stream_id = {
            let mut state = self.script.lock();
            state.streams += 1;
            state.stream = Some(sender);
            format!("script-{}", state.streams)
        };
        self.script.arrive(Call::Subscribe(call));
        Ok(Subscription {
            stream_id,
            events: UnboundedReceiverStream::new(receiver).boxed(),
        })
    }

    async fn send(&self, _session: &Session, call: Call) -> Result<(), TransportError> {
        self.script.arrive(call);
        Ok(())
    }
}
