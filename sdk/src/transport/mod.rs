//! The boundary between the runtime and the wire.
//!
//! A [`Transport`] opens the event stream (SUBSCRIBE) and sends every other
//! call. The runtime never touches the network itself, so the same
//! framework runs over gRPC ([`GrpcTransport`]), over an in-memory channel
//! in tests, or over another protocol such as the Mesos v1 HTTP API, without
//! any change to the code a framework author writes.

use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::error::TransportError;
use crate::pb;

mod grpc;

pub use grpc::GrpcTransport;

/// An open subscription: the stream id the master gave it, and its events.
pub struct Subscription {
    /// The id every other call must carry (Mesos's `Mesos-Stream-Id`).
    pub stream_id: String,
    /// The events, starting with SUBSCRIBED (or ERROR).
    pub events: BoxStream<'static, Result<pb::Event, TransportError>>,
}

/// How calls reach the master and events come back.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Sends SUBSCRIBE and opens the event stream.
    async fn subscribe(&self, call: pb::Call) -> Result<Subscription, TransportError>;

    /// Sends any other call on behalf of the subscription `stream_id`.
    async fn send(&self, stream_id: &str, call: pb::Call) -> Result<(), TransportError>;
}
