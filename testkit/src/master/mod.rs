//! The mock master: a faithful, deterministic stand-in for an offer-based
//! master speaking the `corral.v1.Scheduler` gRPC protocol.
//!
//! [`MockMaster`] is the handle: it runs the server over TCP
//! ([`MockMaster::start`]) or over in-memory pipes
//! ([`MockMaster::start_in_memory`], for tests on tokio's paused clock), and
//! offers snapshots ([`MockMaster::state`]) and test hooks. The behaviour
//! lives in the pure [`MasterCore`], usable on its own.
//!
//! # The map
//!
//! **Books** (`books/`, see [`books`]) own one kind of state each, behind
//! private fields, and import no other book and nothing above them
//! (`tests/import_graph.rs` checks it):
//!
//! | book | owns |
//! |---|---|
//! | `books/agents/` ([`AgentBook`](books::agents::AgentBook)) | per agent: spec and total, kind (simulated/local), liveness ([`Liveness`]: up, lost, down), maintenance window and inverse offers ([`Maintenance`], [`Window`]), kills waiting for a lost agent, local sandboxes, simulated behaviour (a task that ignores its kill) |
//! | `books/frameworks.rs` ([`FrameworkBook`](books::frameworks::FrameworkBook)) | per framework: info, roles, suppressed roles, capabilities, connection, requests; the bounded memory of removed frameworks ([`MasterConfig::max_completed_frameworks`]); the ids the master issues |
//! | `books/tasks/` ([`TaskTable`](books::tasks::TaskTable)) | live tasks with a by-agent index and a deadline index, executors, tasks frozen on lost agents, a bounded history of completed tasks per framework ([`MasterConfig::max_completed_tasks_per_framework`]) |
//! | `books/offers.rs` ([`OfferBook`](books::offers::OfferBook)) | outstanding offers with an expiry index, a bounded memory of retired ones |
//! | `books/updates.rs` ([`StatusUpdates`](books::updates::StatusUpdates)) | reliable status updates per framework: in flight, queued, resend timers |
//! | `books/revocations.rs` ([`RevocationBook`]) | revocation notices, and the arithmetic of what borrowed tasks cover |
//!
//! The allocator keeps its own books (`crate::allocator`).
//!
//! **The core** (`core.rs`, [`MasterCore`]) holds the books, the
//! allocator and the effect list, and the helpers every call and process
//! shares (`emit`, `report`, `recover`, `rescind`, `withdraw_offers`).
//! Its inherent methods stand in three files only: `core.rs` (construction,
//! accessors, helpers), `api.rs` (the plain entry points) and `edge.rs`
//! (the wire's entry points, [`MasterCore::subscribe`] and
//! [`MasterCore::handle`]).
//!
//! **Entry points** (`api.rs`, plain types): `open` (a decoded
//! SUBSCRIBE) and `apply` (every other decoded call, one match arm per
//! call: the `Input` enum), [`MasterCore::tick`] (timers),
//! [`MasterCore::disconnect`], [`MasterCore::add_agent`],
//! [`MasterCore::agent_status`] (an agent's report on one of its tasks),
//! the operator's operations, maintenance and agent loss
//! ([`MasterCore::lose_agent`], [`MasterCore::restore_agent`]), and
//! [`MasterCore::state`] (a snapshot, built in `state.rs`). Each forwards
//! to the call or process that owns the work. What must be sent leaves in
//! one effect list of plain values (`effects.rs`: [`Outgoing`], [`Event`],
//! taken with [`MasterCore::take_outbox`]: events, stream ends and orders
//! for local agents, in order). The faults the harness injects go through
//! these public operations (`crate::harness`'s `faults.rs`); the core keeps
//! no fault state.
//!
//! **Calls** (`calls/`, one file per call, each its plain input type and
//! a function over the core): `subscribe.rs`, `accept.rs`, `decline.rs`,
//! `suppress_revive.rs`, `kill.rs` (KILL and the kill process every kill
//! goes through), `acknowledge.rs`, `reconcile.rs`, `update_framework.rs`,
//! `request.rs`, `inverse_offers.rs` (ACCEPT/DECLINE_INVERSE_OFFERS),
//! `teardown.rs` (TEARDOWN and removing a framework for good); checks they
//! share (roles named, immutable fields) in `calls/mod.rs`.
//!
//! **Processes** (`processes/`) that span books: `allocation.rs` (one
//! OFFERS event per framework per cycle), `reclaim.rs` (revocation
//! notices), `maintenance.rs` (windows, draining), `maintenance_offers.rs`
//! (inverse offers and offers' `unavailability`), `agent_loss.rs` (an
//! agent lost and back), `local_tasks.rs` (tasks on local agents).
//!
//! Only calls and processes touch more than one book; `invariants.rs` and
//! `state.rs` read them. The operator API's operations are in
//! `operator/` (functions over the core too). `sim.rs` reads a simulated
//! task's behaviour from its (decoded) labels.
//!
//! **The driver loop** (`driver.rs`): the one loop both owners of a core
//! run, the gRPC actor (`server.rs`) and the harness's engine: an input,
//! then the effect list drained to the owner (an event its subscriber
//! cannot take disconnects it), then the owner's check. A trigger that
//! must run once per step (e.g. "allocate soon") is added there.
//!
//! **The wire** (the only files of the master that name `pb`;
//! `tests/import_graph.rs` checks it): the edge, `edge.rs` (a `pb::Call`
//! checked and decoded into its handler's plain input), `validate.rs`
//! (the checks of wire values: call type, FrameworkInfo, filters, uuids),
//! `outbox.rs` (plain events encoded into `pb::Event`s, at delivery),
//! `local_wire.rs` (the wire forms around local agents); the gRPC
//! services, `server.rs` (the actor that owns the core, the bounded
//! event queue per subscription whose slow reader is disconnected, the
//! tonic service), `commands.rs` (the bounded command channel and the
//! event stream handed to a subscriber), this file (the handle that mounts
//! the services), `operator/`'s `pb.rs`, `service.rs` and `client.rs`;
//! and the HTTP door (`http_door/`, an edge of its own). `transport.rs`:
//! in-memory pipes. Raw access for the master's own wire tests:
//! [`crate::wire`].
//!
//! # Where a call goes
//!
//! gRPC `Send` → `server.rs` (`MasterService::send`) → `Command::Call` on
//! the bounded channel → the actor, one step of the driver loop →
//! [`MasterCore::handle`] (`edge.rs`): the call type, framework id and
//! stream are checked (`validate.rs`, `check_stream`), the payload is
//! decoded into an `Input` (e.g. `edge::decline` →
//! `calls::decline::Decline`) → `MasterCore::apply` (`api.rs`) → the
//! handler, `calls::decline::decline` → the books and the allocator change
//! → plain events in the effect list → the driver loop hands each to the
//! actor, which encodes it (`outbox::encode`) onto the subscription's
//! bounded queue (and hands local agents their orders). The harness
//! ([`crate::harness`]) calls the same [`MasterCore::handle`] from its
//! in-process transport, in a step of the same driver loop, and routes the
//! same effect list through its simulated wire.
//!
//! # Adding a call
//!
//! 1. Its handler: a new file `calls/<call>.rs` with its plain input type
//!    and one function over the core, reading and changing the books
//!    through their operations; events through `emit`/`report`; work that
//!    spans books through the processes (e.g.
//!    `processes::allocation::allocate_now`). A refusal is a typed
//!    [`CallError`] with its [`ErrorKind`] (`error.rs`).
//! 2. Its variant in `api.rs`'s `Input` and one match arm in `apply`.
//! 3. Its decoder in `edge.rs` (wire payload → plain input, with the
//!    checks of wire values from `validate.rs`) and its arm in `input`; a
//!    second front door (`http_door/`) decodes its own wire into the same
//!    input.
//! 4. Its trace form in `crate::harness` (`calls.rs`: a [`Call`](crate::Call)
//!    variant and its [`CallKind`](crate::CallKind)).
//! 5. Tests: the core alone (`tests/master_core.rs`), over gRPC
//!    (`tests/master_grpc.rs`), and with the SDK in a cluster.

mod api;
pub mod books;
mod calls;
mod commands;
pub mod config;
pub mod core;
pub(crate) mod driver;
mod edge;
pub mod effects;
pub mod error;
mod http_door;
mod in_memory_http;
mod invariants;
mod local_wire;
pub mod observe;
pub mod operator;
pub mod outbox;
mod processes;
mod server;
#[cfg(test)]
mod server_tests;
pub mod sim;
pub mod state;
mod transport;
pub mod validate;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use corral_proto::pb::scheduler_server::SchedulerServer;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};

pub use self::books::agents::maintenance::{Maintenance, MaintenanceError, Window};
pub use self::books::agents::{AgentError, Liveness};
pub use self::books::revocations::{Notice, NoticeAnswer, RevocationBook};
pub use self::books::{offers, tasks, updates};
pub use self::commands::{EventStream, QueueStats};
pub use self::config::{AgentKind, AgentSpec, ConfigError, MasterConfig};
pub use self::core::{Broken, MasterCore, Subscription, Touched};
pub use self::effects::{Event, MasterInfo, Outgoing, StreamId};
pub use self::error::{CallError, ErrorKind};
pub use self::http_door::{StandbyMaster, MESOS_VERSION};
pub use self::operator::{OperatorClient, OperatorError};
pub use self::server::STREAM_ID_HEADER;
pub use self::state::{AgentSnapshot, FrameworkSnapshot, MasterState, OfferSnapshot, TaskSnapshot};

use self::commands::{Command, Commands};
use self::operator::pb::operator_server::OperatorServer;
use self::operator::OperatorService;
use self::server::MasterService;
use self::transport::InMemoryConnector;
use crate::channel_transport::ChannelTransport;
use corral::{HttpConfig, HttpTransport};

/// Why the mock master could not start or answer.
#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    /// The configuration (or an agent) was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The listening socket could not be opened.
    #[error("cannot listen: {0}")]
    Bind(#[source] io::Error),
    /// The gRPC transport failed.
    #[error(transparent)]
    Transport(#[from] WireError),
    /// The master has been shut down.
    #[error("the mock master is shut down")]
    Stopped,
    /// The SDK's HTTP transport refused its configuration.
    #[error("HTTP transport: {0}")]
    Http(#[source] corral::TransportError),
    /// The server task panicked or was cancelled.
    #[error("the mock master's server task failed: {0}")]
    ServerTask(#[from] tokio::task::JoinError),
}

/// The authority of an in-memory master's URL (`http://in-memory`).
const IN_MEMORY_AUTHORITY: &str = "in-memory";

enum Transport {
    Tcp(SocketAddr),
    InMemory(InMemoryConnector),
}

/// A failure of the gRPC transport under the master (opaque: the public
/// API names no tonic type; its source is the transport's error).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct WireError(#[from] tonic::transport::Error);

impl From<tonic::transport::Error> for MasterError {
    fn from(err: tonic::transport::Error) -> Self {
        MasterError::Transport(WireError(err))
    }
}

/// A running mock master. Shut it down with [`MockMaster::shutdown`] for a
/// graceful end; dropping it stops it too, without waiting.
pub struct MockMaster {
    commands: Commands,
    transport: Transport,
    stop_server: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), tonic::transport::Error>>>,
    actor: Option<JoinHandle<()>>,
}

impl MockMaster {
    /// Starts a master listening on `127.0.0.1` on a free port.
    pub async fn start(config: MasterConfig) -> Result<Self, MasterError> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts a master listening on `addr`.
    pub async fn start_on(addr: SocketAddr, config: MasterConfig) -> Result<Self, MasterError> {
        let mut core = MasterCore::new(config)?;
        let listener = TcpListener::bind(addr).await.map_err(MasterError::Bind)?;
        let addr = listener.local_addr().map_err(MasterError::Bind)?;
        core.set_port(addr.port());
        let (commands, actor) = server::spawn_actor(core);
        let (stop_server, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(
            Server::builder()
                // HTTP/1.1 for the Mesos door (`http_door`), beside gRPC.
                .accept_http1(true)
                .add_routes(http_door::with_door(
                    Routes::new(SchedulerServer::new(MasterService::new(commands.clone())))
                        .add_service(OperatorServer::new(OperatorService::new(commands.clone()))),
                    commands.clone(),
                    addr,
                ))
                // Without TCP_NODELAY every reply waits for the client's
                // delayed ACK (about 40 ms per call on Linux).
                .serve_with_incoming_shutdown(
                    TcpIncoming::from(listener).with_nodelay(Some(true)),
                    async {
                        let _ = stopped.await;
                    },
                ),
        );
        tracing::info!(%addr, "mock master listening");
        Ok(Self {
            commands,
            transport: Transport::Tcp(addr),
            stop_server: Some(stop_server),
            server: Some(server),
            actor: Some(actor),
        })
    }

    /// Starts a master reachable only through [`MockMaster::transport`]
    /// (or [`crate::wire`]), over
    /// in-memory pipes: no socket, and deterministic under tokio's paused
    /// clock.
    pub async fn start_in_memory(config: MasterConfig) -> Result<Self, MasterError> {
        let core = MasterCore::new(config)?;
        let (commands, actor) = server::spawn_actor(core);
        let (connector, incoming) = transport::in_memory();
        let (stop_server, stopped) = oneshot::channel::<()>();
        // Both doors, as on TCP: gRPC, and HTTP/1.1 for the Mesos door
        // (reached with `MockMaster::http_transport`).
        let server = tokio::spawn(
            Server::builder()
                .accept_http1(true)
                .add_routes(http_door::with_door(
                    Routes::new(SchedulerServer::new(MasterService::new(commands.clone())))
                        .add_service(OperatorServer::new(OperatorService::new(commands.clone()))),
                    commands.clone(),
                    IN_MEMORY_AUTHORITY,
                ))
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = stopped.await;
                }),
        );
        Ok(Self {
            commands,
            transport: Transport::InMemory(connector),
            stop_server: Some(stop_server),
            server: Some(server),
            actor: Some(actor),
        })
    }

    /// The TCP address (`None` for an in-memory master).
    pub fn addr(&self) -> Option<SocketAddr> {
        match &self.transport {
            Transport::Tcp(addr) => Some(*addr),
            Transport::InMemory(_) => None,
        }
    }

    /// The URL to connect to: `http://127.0.0.1:<port>`, or
    /// `http://in-memory` (only reachable through [`MockMaster::transport`]).
    pub fn endpoint(&self) -> String {
        match &self.transport {
            Transport::Tcp(addr) => format!("http://{addr}"),
            Transport::InMemory(_) => format!("http://{IN_MEMORY_AUTHORITY}"),
        }
    }

    /// A framework transport to the master (for `corral::Runtime`s and
    /// the SDK's tests), over TCP or the in-memory pipes.
    pub async fn transport(&self) -> Result<ChannelTransport, MasterError> {
        Ok(ChannelTransport::new(self.channel().await?))
    }

    /// The SDK's Mesos HTTP transport to this master's HTTP door (`POST
    /// /api/v1/scheduler`), configured by `config` (encoding,
    /// credentials, timeouts) and aimed at [`MockMaster::endpoint`] (the
    /// configured masters are replaced). Over TCP, or over the in-memory
    /// pipes (deterministic on tokio's paused clock). Connects lazily.
    pub fn http_transport(&self, config: HttpConfig) -> Result<HttpTransport, MasterError> {
        let mut config = config;
        config.masters = vec![self.endpoint()];
        let transport = match &self.transport {
            Transport::Tcp(_) => HttpTransport::with_config(config),
            Transport::InMemory(connector) => HttpTransport::with_dialer(
                config,
                Arc::new(in_memory_http::PipeDialer(connector.clone())),
            ),
        };
        transport.map_err(MasterError::Http)
    }

    /// A connected gRPC channel to the master (raw protocol access is in
    /// [`crate::wire`]).
    pub(crate) async fn channel(&self) -> Result<Channel, MasterError> {
        match &self.transport {
            Transport::Tcp(_) => Ok(Endpoint::from_shared(self.endpoint())?.connect().await?),
            Transport::InMemory(connector) => Ok(connector.channel().await?),
        }
    }

    /// A client of the operator API (weights, quota, reservations) on a
    /// new channel.
    pub async fn operator(&self) -> Result<OperatorClient, MasterError> {
        Ok(OperatorClient::new(self.channel().await?))
    }

    /// A snapshot of the master's books.
    pub async fn state(&self) -> Result<MasterState, MasterError> {
        server::state(&self.commands)
            .await
            .ok_or(MasterError::Stopped)
    }

    /// What the subscriptions' event queues have seen: their bound, the
    /// deepest any has been, how many slow subscribers were disconnected.
    pub async fn queue_stats(&self) -> Result<QueueStats, MasterError> {
        server::queue_stats(&self.commands)
            .await
            .ok_or(MasterError::Stopped)
    }

    /// Adds an agent (an allocation runs at once).
    pub async fn add_agent(&self, agent: AgentSpec) -> Result<(), MasterError> {
        server::add_agent(&self.commands, agent)
            .await
            .ok_or(MasterError::Stopped)?
            .map_err(MasterError::from)
    }

    /// Ends every event stream, stops every process of the local agents
    /// (SIGTERM, each task's grace period, SIGKILL), stops the server and
    /// waits for all of it.
    pub async fn shutdown(mut self) -> Result<(), MasterError> {
        server::stop(&self.commands).await;
        if let Some(stop) = self.stop_server.take() {
            let _ = stop.send(());
        }
        if let Some(actor) = self.actor.take() {
            actor.await?;
        }
        if let Some(server) = self.server.take() {
            server.await??;
        }
        tracing::info!("mock master shut down");
        Ok(())
    }
}

impl Drop for MockMaster {
    fn drop(&mut self) {
        if let Some(stop) = self.stop_server.take() {
            let _ = stop.send(());
        }
        if self.actor.is_some() {
            let (reply, _) = oneshot::channel();
            // A full channel means the actor is busy; the server's end
            // and the handles' drops close the channel, which stops it.
            let _ = self.commands.try_send(Command::Shutdown { reply });
        }
    }
}
