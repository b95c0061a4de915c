//! What the master's front doors (the tonic services and the
//! [`MockMaster`](super::MockMaster) handle) ask of the actor that owns the
//! core, over one bounded command channel; and the event stream handed to
//! each subscriber, whose drop is reported back through a set bounded by
//! the streams open. Both the scheduler and the operator service import
//! this file, and the actor (`server.rs`) reads it: none of them imports
//! another.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use corral_proto::pb;
use futures::Stream;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::config::{AgentSpec, ConfigError};
use super::core::MasterCore;
use super::effects::StreamId;
use super::error::CallError;
use super::state::MasterState;

/// How many commands may wait for the actor; senders wait beyond it.
pub(super) const COMMAND_CAPACITY: usize = 256;

/// Work for the actor: run on the core at `now`; it sends its own answer.
pub(in crate::master) type Job = Box<dyn FnOnce(&mut MasterCore, Duration) + Send>;

/// What one subscription's event queue has seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// The bound of each subscription's queue.
    pub capacity: usize,
    /// The deepest any queue has been.
    pub peak: usize,
    /// How many subscribers were disconnected for not reading.
    pub slow_disconnects: u64,
}

/// A request to the actor.
pub(in crate::master) enum Command {
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
    State {
        reply: oneshot::Sender<MasterState>,
    },
    QueueStats {
        reply: oneshot::Sender<QueueStats>,
    },
    AddAgent {
        agent: AgentSpec,
        reply: oneshot::Sender<Result<(), ConfigError>>,
    },
    /// An operator request (see `operator::service`).
    Operate(Job),
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// The command channel's sending end.
pub(in crate::master) type Commands = mpsc::Sender<Command>;

/// Streams whose subscriber went away, reported by their [`EventStream`]'s
/// drop; the actor drains it. It holds at most one entry per stream open.
#[derive(Debug, Default)]
pub(super) struct Dropped {
    streams: Mutex<Vec<StreamId>>,
    /// Wakes the actor.
    pub(super) notify: Notify,
}

impl Dropped {
    fn report(&self, stream: StreamId) {
        self.streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(stream);
        self.notify.notify_one();
    }

    /// Takes the streams reported so far.
    pub(super) fn take(&self) -> Vec<StreamId> {
        std::mem::take(&mut *self.streams.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The event stream of one subscription, as returned by the Subscribe RPC.
/// Dropping it (the client went away) tells the master.
pub struct EventStream {
    inner: ReceiverStream<Result<pb::Event, Status>>,
    _guard: DisconnectGuard,
}

impl EventStream {
    pub(super) fn new(
        receiver: mpsc::Receiver<Result<pb::Event, Status>>,
        stream: StreamId,
        dropped: Arc<Dropped>,
    ) -> Self {
        Self {
            inner: ReceiverStream::new(receiver),
            _guard: DisconnectGuard { stream, dropped },
        }
    }
}

impl Stream for EventStream {
    type Item = Result<pb::Event, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

struct DisconnectGuard {
    stream: StreamId,
    dropped: Arc<Dropped>,
}

impl Drop for DisconnectGuard {
    fn drop(&mut self) {
        self.dropped.report(self.stream.clone());
    }
}
