//! The master's server side: one actor task owns the [`MasterCore`] and
//! runs its timers on tokio's clock; the tonic service turns RPCs into
//! commands for it (mpsc, with oneshot replies). Each subscription gets an
//! unbounded event channel; dropping the response stream tells the actor
//! that the framework disconnected. The actor also carries out the core's
//! orders for local agents with a [`LocalRunner`] and feeds the runner's
//! reports back to the core; on shutdown it stops every local task before
//! it answers.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use corral_proto::pb;
use corral_proto::pb::scheduler_server::Scheduler;
use futures::Stream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status};
use tracing::{debug, error, warn};

use super::config::{AgentSpec, ConfigError};
use super::core::MasterCore;
use super::error::{CallError, ErrorKind};
use super::outbox::{Outgoing, StreamId};
use super::state::MasterState;
use crate::agent::{LocalRunner, Reports, RunnerConfig};

/// The metadata key of the stream id, as in the Mesos HTTP API.
pub const STREAM_ID_HEADER: &str = "mesos-stream-id";

type EventSender = mpsc::UnboundedSender<Result<pb::Event, Status>>;

/// A request to the actor.
pub(super) enum Command {
    Subscribe {
        call: pb::Call,
        has_stream_id: bool,
        reply: oneshot::Sender<Result<(StreamId, EventStream), CallError>>,
    },
    Call {
        stream_id: Option<String>,
        call: pb::Call,
        reply: oneshot::Sender<Result<(), CallError>>,
    },
    StreamDropped {
        stream: StreamId,
    },
    State {
        reply: oneshot::Sender<MasterState>,
    },
    AddAgent {
        agent: AgentSpec,
        reply: oneshot::Sender<Result<(), ConfigError>>,
    },
    /// An operator request (see `operator::service`).
    Operate(super::operator::Job),
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// Starts the actor that owns `core`; returns its command channel.
pub(super) fn spawn_actor(core: MasterCore) -> (mpsc::UnboundedSender<Command>, JoinHandle<()>) {
    let (commands, receiver) = mpsc::unbounded_channel();
    let (runner, reports) = LocalRunner::new(RunnerConfig {
        sandbox_ttl: core.config().sandbox_ttl,
        ..RunnerConfig::default()
    });
    let actor = Actor {
        core,
        start: Instant::now(),
        streams: BTreeMap::new(),
        commands: commands.clone(),
        runner,
        stopped: None,
    };
    (commands, tokio::spawn(actor.run(receiver, reports)))
}

struct Actor {
    core: MasterCore,
    start: Instant,
    streams: BTreeMap<StreamId, EventSender>,
    /// Handed to each event stream, to report its drop.
    commands: mpsc::UnboundedSender<Command>,
    /// Runs the tasks of local agents.
    runner: LocalRunner,
    /// Answered once shut down (local tasks stopped).
    stopped: Option<oneshot::Sender<()>>,
}

impl Actor {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    async fn run(mut self, mut receiver: mpsc::UnboundedReceiver<Command>, mut reports: Reports) {
        loop {
            // Timers first, so that ties between a deadline and a command
            // resolve the same way on every run.
            let now = self.now();
            if self.core.next_deadline().is_some_and(|d| d <= now) {
                self.core.tick(now);
                self.route();
                if self.core.next_deadline().is_some_and(|d| d <= now) {
                    // A timer that tick did not consume would make this loop
                    // spin; a bug in the core, but never starve the runtime.
                    error!("a due timer survived tick");
                    tokio::task::yield_now().await;
                }
            }
            let deadline = self
                .core
                .next_deadline()
                .and_then(|d| self.start.checked_add(d));
            let sleep = async move {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                command = receiver.recv() => {
                    // The actor holds a sender itself, so the channel never
                    // runs dry; `None` cannot happen but ends the loop anyway.
                    let Some(command) = command else { break };
                    if !self.execute(command) {
                        break;
                    }
                }
                Some(report) = reports.recv() => {
                    self.runner.observe(&report);
                    let now = self.now();
                    self.core.agent_status(now, report);
                }
                () = sleep => {
                    let now = self.now();
                    self.core.tick(now);
                }
            }
            self.route();
        }
        // Dropping the senders ends every event stream.
        self.streams.clear();
        self.runner.shutdown().await;
        if let Some(stopped) = self.stopped.take() {
            let _ = stopped.send(());
        }
        debug!("mock master actor stopped");
    }

    /// Runs one command; `false` when the actor must stop.
    fn execute(&mut self, command: Command) -> bool {
        let now = self.now();
        match command {
            Command::Subscribe {
                call,
                has_stream_id,
                reply,
            } => {
                let result = if has_stream_id {
                    warn!("SUBSCRIBE refused: it carries mesos-stream-id metadata");
                    Err(CallError::UnexpectedStreamId)
                } else {
                    self.core.subscribe(now, call)
                };
                let answer = result.map(|subscription| {
                    let (sender, receiver) = mpsc::unbounded_channel();
                    self.streams.insert(subscription.stream.clone(), sender);
                    // Queue SUBSCRIBED (and anything after it) before the
                    // client gets the stream.
                    self.route();
                    let stream = EventStream {
                        inner: UnboundedReceiverStream::new(receiver),
                        _guard: DisconnectGuard {
                            stream: subscription.stream.clone(),
                            commands: self.commands.clone(),
                        },
                    };
                    (subscription.stream, stream)
                });
                // If the client is gone, the dropped stream reports it.
                let _ = reply.send(answer);
            }
            Command::Call {
                stream_id,
                call,
                reply,
            } => {
                let _ = reply.send(self.core.handle(now, stream_id.as_deref(), call));
            }
            Command::StreamDropped { stream } => {
                self.streams.remove(&stream);
                self.core.disconnect(now, &stream);
            }
            Command::State { reply } => {
                let _ = reply.send(self.core.state(now));
            }
            Command::AddAgent { agent, reply } => {
                let result = self.core.add_agent(now, agent);
                if let Err(err) = &result {
                    warn!(%err, "agent refused");
                }
                let _ = reply.send(result);
            }
            Command::Operate(job) => job(&mut self.core, now),
            Command::Shutdown { reply } => {
                self.streams.clear();
                // Answered once the local tasks are stopped.
                self.stopped = Some(reply);
                return false;
            }
        }
        true
    }

    /// Delivers the core's outbox to the event channels.
    fn route(&mut self) {
        for outgoing in self.core.take_outbox() {
            match outgoing {
                Outgoing::Event { stream, event } => {
                    let Some(sender) = self.streams.get(&stream) else {
                        debug!(%stream, "event for a closed stream dropped");
                        continue;
                    };
                    if sender.send(Ok(*event)).is_err() {
                        // The receiver is gone; its guard reports the drop.
                        self.streams.remove(&stream);
                    }
                }
                Outgoing::Close { stream } => {
                    self.streams.remove(&stream);
                }
            }
        }
        for order in self.core.take_agent_orders() {
            self.runner.execute(order);
        }
    }
}

/// The event stream of one subscription, as returned by the Subscribe RPC.
/// Dropping it (the client went away) tells the master.
pub struct EventStream {
    inner: UnboundedReceiverStream<Result<pb::Event, Status>>,
    _guard: DisconnectGuard,
}

impl Stream for EventStream {
    type Item = Result<pb::Event, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

struct DisconnectGuard {
    stream: StreamId,
    commands: mpsc::UnboundedSender<Command>,
}

impl Drop for DisconnectGuard {
    fn drop(&mut self) {
        // Fails only when the actor has stopped, and then nobody cares.
        let _ = self.commands.send(Command::StreamDropped {
            stream: self.stream.clone(),
        });
    }
}

/// The tonic service: forwards each RPC to the actor.
pub(super) struct MasterService {
    commands: mpsc::UnboundedSender<Command>,
}

impl MasterService {
    pub(super) fn new(commands: mpsc::UnboundedSender<Command>) -> Self {
        Self { commands }
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, Status> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(make(reply)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())
    }
}

fn stopped() -> Status {
    Status::unavailable("the mock master is shut down")
}

impl From<CallError> for Status {
    fn from(err: CallError) -> Self {
        let message = err.to_string();
        match err.kind() {
            ErrorKind::InvalidArgument => Status::invalid_argument(message),
            ErrorKind::PermissionDenied => Status::permission_denied(message),
            ErrorKind::NotFound => Status::not_found(message),
            ErrorKind::Unimplemented => Status::unimplemented(message),
            ErrorKind::Internal => Status::internal(message),
        }
    }
}

#[tonic::async_trait]
impl Scheduler for MasterService {
    type SubscribeStream = EventStream;

    async fn subscribe(
        &self,
        request: Request<pb::Call>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let has_stream_id = request.metadata().contains_key(STREAM_ID_HEADER);
        let call = request.into_inner();
        let (stream_id, stream) = self
            .ask(|reply| Command::Subscribe {
                call,
                has_stream_id,
                reply,
            })
            .await??;
        let value = MetadataValue::try_from(stream_id.as_str()).map_err(|_| {
            Status::internal(format!("stream id {stream_id} is not valid metadata"))
        })?;
        let mut response = Response::new(stream);
        response.metadata_mut().insert(STREAM_ID_HEADER, value);
        Ok(response)
    }

    async fn send(&self, request: Request<pb::Call>) -> Result<Response<pb::CallAccepted>, Status> {
        let stream_id = match request.metadata().get(STREAM_ID_HEADER) {
            None => None,
            Some(value) => match value.to_str() {
                Ok(text) => Some(text.to_owned()),
                Err(_) => {
                    warn!("call refused: mesos-stream-id metadata is not ASCII");
                    return Err(CallError::MalformedStreamId.into());
                }
            },
        };
        let call = request.into_inner();
        self.ask(|reply| Command::Call {
            stream_id,
            call,
            reply,
        })
        .await??;
        Ok(Response::new(pb::CallAccepted {}))
    }
}

/// Asks the actor for a snapshot.
pub(super) async fn state(commands: &mpsc::UnboundedSender<Command>) -> Option<MasterState> {
    let (reply, answer) = oneshot::channel();
    commands.send(Command::State { reply }).ok()?;
    answer.await.ok()
}

/// Asks the actor to add an agent.
pub(super) async fn add_agent(
    commands: &mpsc::UnboundedSender<Command>,
    agent: AgentSpec,
) -> Option<Result<(), ConfigError>> {
    let (reply, answer) = oneshot::channel();
    commands.send(Command::AddAgent { agent, reply }).ok()?;
    answer.await.ok()
}

/// Asks the actor to close every stream and stop; waits until it has.
pub(super) async fn stop(commands: &mpsc::UnboundedSender<Command>) {
    let (reply, answer) = oneshot::channel();
    if commands.send(Command::Shutdown { reply }).is_ok() {
        let _ = answer.await;
    }
}
