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

use corral_proto::convert::*;
use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use corral::error::TransportError;
use corral::transport::{Session, Subscription, Transport};
use corral::{AgentId, FrameworkId, OfferId, Resources, Role, TaskId, TaskState};
use corral::{Call as CorralCall, Subscribe};
use corral_proto::convert::{call_to_pb, event_from_pb, subscribe_to_pb};
use corral_proto::pb;
use futures::StreamExt;
use tokio::sync::{mpsc, Notify};
use tokio_stream::wrappers::UnboundedReceiverStream;

use super::calls::{launched_tasks, Call, CallKind};

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
    calls: VecDeque<pb::Call>,
    ignored: BTreeSet<CallKind>,
    stream: Option<mpsc::UnboundedSender<Result<pb::Event, TransportError>>>,
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
pub struct Accepted {
    /// The offers used.
    pub offer_ids: Vec<OfferId>,
    /// Every task launched (LAUNCH and LAUNCH_GROUP), in order.
    pub tasks: Vec<TaskId>,
    /// The whole call.
    pub call: Call,
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
        self.expect_wire(kind)
            .await
            .map(|call| Call::from_pb(&call))
    }

    /// [`Script::expect`], as it came on the wire.
    async fn expect_wire(&self, kind: CallKind) -> Result<pb::Call, ScriptError> {
        let expected = kind.name().to_owned();
        let deadline = tokio::time::Instant::now() + EXPECT_LIMIT;
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            {
                let mut state = self.lock();
                while let Some(call) = state.calls.pop_front() {
                    let typed = Call::from_pb(&call);
                    if typed.kind() == kind {
                        return Ok(call);
                    }
                    if !state.ignored.contains(&typed.kind()) {
                        return Err(ScriptError::Unexpected {
                            expected,
                            got: typed.to_string(),
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
    pub async fn expect_subscribe(&self, framework: &FrameworkId) -> Result<Call, ScriptError> {
        let call = self.expect_wire(CallKind::Subscribe).await?;
        let asked = call
            .subscribe
            .as_ref()
            .and_then(|s| s.framework_info.id.as_ref())
            .map(FrameworkId::from);
        let id = asked.unwrap_or_else(|| framework.clone());
        self.send(
            "SUBSCRIBED",
            pb::Event {
                r#type: Some(pb::event::Type::Subscribed as i32),
                subscribed: Some(pb::event::Subscribed {
                    framework_id: id.to_pb(),
                    heartbeat_interval_seconds: Some(15.0),
                    master_info: None,
                }),
                ..Default::default()
            },
        )?;
        Ok(Call::from_pb(&call))
    }

    /// Sends one offer of `resources` on `agent` for `role`.
    pub fn offer(
        &self,
        framework: &FrameworkId,
        id: &str,
        agent: &str,
        role: &str,
        resources: &Resources,
    ) -> Result<OfferId, ScriptError> {
        let role = Role::new(role);
        let offer = pb::Offer {
            id: OfferId::new(id).to_pb(),
            framework_id: framework.to_pb(),
            agent_id: AgentId::new(agent).to_pb(),
            hostname: format!("{agent}.local"),
            allocation_info: Some(pb::resource::AllocationInfo {
                role: Some(role.as_str().to_owned()),
            }),
            resources: resources.allocated_to(&role).to_pb(),
            ..Default::default()
        };
        self.send(
            "OFFERS",
            pb::Event {
                r#type: Some(pb::event::Type::Offers as i32),
                offers: Some(pb::event::Offers {
                    offers: vec![offer],
                }),
                ..Default::default()
            },
        )?;
        Ok(OfferId::new(id))
    }

    /// Rescinds an offer.
    pub fn rescind(&self, offer: &OfferId) -> Result<(), ScriptError> {
        self.send(
            "RESCIND",
            pb::Event {
                r#type: Some(pb::event::Type::Rescind as i32),
                rescind: Some(pb::event::Rescind {
                    offer_id: offer.to_pb(),
                }),
                ..Default::default()
            },
        )
    }

    /// Waits for an ACCEPT and returns what it launches.
    pub async fn expect_accept(&self) -> Result<Accepted, ScriptError> {
        let call = self.expect_wire(CallKind::Accept).await?;
        let accept = call.accept.clone().unwrap_or_default();
        Ok(Accepted {
            offer_ids: accept.offer_ids.iter().map(OfferId::from).collect(),
            tasks: launched_tasks(&accept)
                .map(|t| TaskId::from(&t.task_id))
                .collect(),
            call: Call::from_pb(&call),
        })
    }

    /// Sends a reliable status update (with a fresh uuid) for `task` on
    /// `agent`; returns the uuid, to match the acknowledgement.
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
        self.send(
            "UPDATE",
            pb::Event {
                r#type: Some(pb::event::Type::Update as i32),
                update: Some(pb::event::Update {
                    status: pb::TaskStatus {
                        task_id: task.to_pb(),
                        state: state.to_pb() as i32,
                        agent_id: Some(AgentId::new(agent).to_pb()),
                        source: Some(pb::task_status::Source::Executor as i32),
                        uuid: Some(uuid.clone()),
                        timestamp: Some(0.0),
                        ..Default::default()
                    },
                }),
                ..Default::default()
            },
        )?;
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
                got: call.to_string(),
            });
        }
        Ok(())
    }

    /// Ends the current subscription's stream, as a broken connection
    /// would; the framework resubscribes.
    pub fn close(&self) {
        self.lock().stream = None;
    }

    /// Sends any event on the current subscription.
    pub fn send(&self, what: &'static str, event: pb::Event) -> Result<(), ScriptError> {
        let state = self.lock();
        let sender = state
            .stream
            .as_ref()
            .ok_or(ScriptError::NotSubscribed(what))?;
        sender
            .send(Ok(event))
            .map_err(|_| ScriptError::NotSubscribed(what))
    }

    fn arrive(&self, call: pb::Call) {
        self.lock().calls.push_back(call);
        self.arrived.notify_waiters();
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
        let call = subscribe_to_pb(&call);
        let (sender, receiver) = mpsc::unbounded_channel();
        let stream_id = {
            let mut state = self.script.lock();
            state.streams += 1;
            state.stream = Some(sender);
            format!("script-{}", state.streams)
        };
        self.script.arrive(call);
        Ok(Subscription {
            stream_id,
            events: UnboundedReceiverStream::new(receiver)
                .map(|item| item.map(event_from_pb))
                .boxed(),
        })
    }

    async fn send(&self, session: &Session, call: CorralCall) -> Result<(), TransportError> {
        self.script
            .arrive(call_to_pb(Some(&session.framework_id), &call));
        Ok(())
    }
}
