//! The boundary between the runtime and the wire.
//!
//! A [`Transport`] opens the event stream (SUBSCRIBE) and sends every other
//! call. It speaks the plain types of this crate: [`Call`]s in, checked
//! [`MasterEvent`]s out, so nothing generated crosses it. Encoding,
//! decoding and validation of what arrives are the transport's job (the
//! gRPC one uses `corral-proto`'s conversions): an event is decoded item
//! by item, so one malformed offer does not lose the rest of its batch.
//!
//! The runtime never touches the network itself, so the same framework runs
//! over gRPC ([`GrpcTransport`]), over an in-memory engine in tests, or over
//! another protocol such as the Mesos v1 HTTP API, without any change to
//! the code a framework author writes.

use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::error::TransportError;
use crate::{Call, FrameworkId, MasterEvent, Subscribe};

mod connect;
mod grpc;
#[cfg(feature = "http")]
mod http;

pub use connect::{connect, connect_with, ConnectError, MasterTransport};
pub use grpc::GrpcTransport;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use http::{Credentials, DialedIo, Dialer, Encoding, HttpConfig, HttpTransport};

/// An open subscription: the stream id the master gave it, and its events.
///
/// A plain pair, built by transports (as a literal or with
/// [`Subscription::new`]); what the master says about itself comes in the
/// events.
pub struct Subscription {
    /// The id every other call must carry (Mesos's `Mesos-Stream-Id`).
    pub stream_id: String,
    /// The events, starting with SUBSCRIBED (or ERROR).
    pub events: BoxStream<'static, Result<MasterEvent, TransportError>>,
}

impl Subscription {
    /// A subscription on `stream_id` yielding `events`.
    pub fn new(
        stream_id: impl Into<String>,
        events: BoxStream<'static, Result<MasterEvent, TransportError>>,
    ) -> Self {
        Subscription {
            stream_id: stream_id.into(),
            events,
        }
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("stream_id", &self.stream_id)
            .finish_non_exhaustive()
    }
}

/// Who a call is sent for: the subscription's stream id and the
/// framework's id (every call but the first SUBSCRIBE carries both).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The subscription's stream id.
    pub stream_id: String,
    /// The framework's id.
    pub framework_id: FrameworkId,
}

/// How calls reach the master and events come back.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Sends SUBSCRIBE and opens the event stream.
    async fn subscribe(&self, call: Subscribe) -> Result<Subscription, TransportError>;

    /// Sends any other call on behalf of `session`.
    async fn send(&self, session: &Session, call: Call) -> Result<(), TransportError>;

    /// Where the master is, for log lines (e.g. `http://127.0.0.1:5050`).
    fn endpoint(&self) -> String {
        "an unnamed transport".to_owned()
    }
}
