//! The master's server side: one actor task owns the [`MasterCore`] and
//! runs its timers on tokio's clock; the tonic service turns RPCs into
//! commands for it (a bounded mpsc, with oneshot replies). Each
//! subscription gets a bounded event queue: a subscriber that lets it fill
//! up is disconnected (its framework then follows the failover rules), with
//! a log line, instead of growing the master's memory. Dropping the
//! response stream tells the actor that the framework disconnected. The
//! actor also carries out the core's orders for local agents with a
//! [`LocalRunner`] and feeds the runner's reports back to the core; on
//! shutdown it stops every local task before it answers. Everything it
//! does to the core is a step of the driver loop (`driver.rs`), shared
//! with the harness.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use corral_proto::pb;
use corral_proto::pb::scheduler_server::Scheduler;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status};
use tracing::{debug, error, warn};

use super::commands::{Command, Commands, Dropped, EventStream, QueueStats, COMMAND_CAPACITY};
use super::config::{AgentSpec, ConfigError};
use super::core::MasterCore;
use super::driver::{self, Delivery, Owner};
use super::effects::{Event, StreamId};
use super::error::{CallError, ErrorKind};
use super::outbox;
use super::state::MasterState;
use crate::agent::{AgentOrder, LocalRunner, Reports, RunnerConfig};

/// The metadata key of the stream id, as in the Mesos HTTP API.
pub const STREAM_ID_HEADER: &str = "mesos-stream-id";

type EventSender = mpsc::Sender<Result<pb::Event, Status>>;

/// Starts the actor that owns `core`; returns its command channel.
pub(super) fn spawn_actor(core: MasterCore) -> (Commands, JoinHandle<()>) {
    let (commands, receiver) = mpsc::channel(COMMAND_CAPACITY);
    let (runner, reports) = LocalRunner::new(RunnerConfig {
        sandbox_ttl: core.config().sandbox_ttl,
        ..RunnerConfig::default()
    });
    let actor = Actor {
        queue: QueueStats {
            capacity: core.config().event_queue_capacity,
            ..QueueStats::default()
        },
        core,
        start: Instant::now(),
        streams: BTreeMap::new(),
        dropped: Arc::new(Dropped::default()),
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
    dropped: Arc<Dropped>,
    /// Runs the tasks of local agents.
    runner: LocalRunner,
    /// Answered once shut down (local tasks stopped).
    stopped: Option<oneshot::Sender<()>>,
    /// What the event queues have seen.
    queue: QueueStats,
}

impl Actor {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    async fn run(mut self, mut receiver: mpsc::Receiver<Command>, mut reports: Reports) {
        loop {
            // Timers first, so that ties between a deadline and a command
            // resolve the same way on every run.
            let now = self.now();
            if driver::step(&mut self, now, |actor, now| {
                driver::run_timers(&mut actor.core, now)
            }) {
                // A timer that tick did not consume would make this loop
                // spin; a bug in the core, but never starve the runtime.
                error!("a due timer survived tick");
                tokio::task::yield_now().await;
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
            let dropped = self.dropped.clone();
            tokio::select! {
                biased;
                command = receiver.recv() => {
                    // Every sender is gone: nobody can reach the master.
                    let Some(command) = command else { break };
                    if !self.execute(command) {
                        break;
                    }
                }
                () = dropped.notify.notified() => {
                    let now = self.now();
                    driver::step(&mut self, now, |actor, now| {
                        for stream in actor.dropped.take() {
                            actor.streams.remove(&stream);
                            actor.core.disconnect(now, &stream);
                        }
                    });
                }
                Some(report) = reports.recv() => {
                    let now = self.now();
                    driver::step(&mut self, now, |actor, now| {
                        actor.runner.observe(&report);
                        actor.core.agent_status(now, report);
                    });
                }
                () = sleep => {
                    let now = self.now();
                    driver::step(&mut self, now, |actor, now| {
                        driver::run_timers(&mut actor.core, now);
                    });
                }
            }
        }
        // Dropping the senders ends every event stream.
        self.streams.clear();
        self.runner.shutdown().await;
        if let Some(stopped) = self.stopped.take() {
            let _ = stopped.send(());
        }
        debug!("mock master actor stopped");
    }

    /// Runs one command as one step of the driver loop, answering it once
    /// the step's effects are delivered (a new subscriber's SUBSCRIBED is
    /// on its queue before it gets the stream); `false` when the actor must
    /// stop.
    fn execute(&mut self, command: Command) -> bool {
        let now = self.now();
        match command {
            Command::Subscribe {
                call,
                has_stream_id,
                reply,
            } => {
                let answer = driver::step(self, now, |actor, now| {
                    let result = if has_stream_id {
                        warn!("SUBSCRIBE refused: it carries mesos-stream-id metadata");
                        Err(CallError::UnexpectedStreamId)
                    } else {
                        actor.core.subscribe(now, call)
                    };
                    result.map(|subscription| {
                        let (sender, receiver) = mpsc::channel(actor.queue.capacity);
                        actor.streams.insert(subscription.stream.clone(), sender);
                        let stream = EventStream::new(
                            receiver,
                            subscription.stream.clone(),
                            actor.dropped.clone(),
                        );
                        (subscription.stream, stream)
                    })
                });
                // If the client is gone, the dropped stream reports it.
                let _ = reply.send(answer);
            }
            Command::Call {
                stream_id,
                call,
                reply,
            } => {
                let result = driver::step(self, now, |actor, now| {
                    actor.core.handle(now, stream_id.as_deref(), call)
                });
                let _ = reply.send(result);
            }
            Command::State { reply } => {
                let _ = reply.send(self.core.state(now));
            }
            Command::QueueStats { reply } => {
                let _ = reply.send(self.queue);
            }
            Command::AddAgent { agent, reply } => {
                let result = driver::step(self, now, |actor, now| actor.core.add_agent(now, agent));
                if let Err(err) = &result {
                    warn!(%err, "agent refused");
                }
                let _ = reply.send(result);
            }
            Command::Operate(job) => {
                driver::step(self, now, |actor, now| job(&mut actor.core, now))
            }
            Command::Shutdown { reply } => {
                self.streams.clear();
                // Answered once the local tasks are stopped.
                self.stopped = Some(reply);
                return false;
            }
        }
        true
    }
}

/// The actor's side of the driver loop: events onto each subscription's
/// bounded queue, orders to the local runner.
impl Owner for Actor {
    fn core(&mut self) -> &mut MasterCore {
        &mut self.core
    }

    /// A full queue means its subscriber stopped reading: the stream is
    /// dropped, and the loop disconnects its framework.
    fn deliver(&mut self, _now: Duration, stream: StreamId, event: Event) -> Delivery {
        let Some(sender) = self.streams.get(&stream) else {
            debug!(%stream, "event for a closed stream dropped");
            return Delivery::Done;
        };
        match sender.try_send(Ok(outbox::encode(&event))) {
            Ok(()) => {
                let depth = sender.max_capacity() - sender.capacity();
                self.queue.peak = self.queue.peak.max(depth);
                Delivery::Done
            }
            Err(TrySendError::Full(_)) => {
                warn!(%stream, capacity = self.queue.capacity,
                    "subscriber stopped reading its events: queue full, disconnecting it");
                self.queue.slow_disconnects += 1;
                // Dropping the sender ends the stream once the client
                // reads what is queued; the framework is disconnected now.
                self.streams.remove(&stream);
                Delivery::SlowReader
            }
            Err(TrySendError::Closed(_)) => {
                // The receiver is gone; its guard reports the drop.
                self.streams.remove(&stream);
                Delivery::Done
            }
        }
    }

    fn close(&mut self, stream: StreamId) {
        self.streams.remove(&stream);
    }

    fn order(&mut self, _now: Duration, order: AgentOrder) {
        self.runner.execute(order);
    }
}

/// The tonic service: forwards each RPC to the actor.
pub(super) struct MasterService {
    commands: Commands,
}

impl MasterService {
    pub(super) fn new(commands: Commands) -> Self {
        Self { commands }
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, Status> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(make(reply))
            .await
            .map_err(|_| stopped())?;
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
            ErrorKind::ResourceExhausted => Status::resource_exhausted(message),
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
pub(super) async fn state(commands: &Commands) -> Option<MasterState> {
    let (reply, answer) = oneshot::channel();
    commands.send(Command::State { reply }).await.ok()?;
    answer.await.ok()
}

/// Asks the actor to add an agent.
pub(super) async fn add_agent(
    commands: &Commands,
    agent: AgentSpec,
) -> Option<Result<(), ConfigError>> {
    let (reply, answer) = oneshot::channel();
    commands
        .send(Command::AddAgent { agent, reply })
        .await
        .ok()?;
    answer.await.ok()
}

/// Asks the actor to close every stream and stop; waits until it has.
pub(super) async fn stop(commands: &Commands) {
    let (reply, answer) = oneshot::channel();
    if commands.send(Command::Shutdown { reply }).await.is_ok() {
        let _ = answer.await;
    }
}

/// Asks the actor what its event queues have seen.
pub(super) async fn queue_stats(commands: &Commands) -> Option<QueueStats> {
    let (reply, answer) = oneshot::channel();
    commands.send(Command::QueueStats { reply }).await.ok()?;
    answer.await.ok()
}
