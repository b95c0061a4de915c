//! [`ChannelTransport`]: a framework's [`Transport`] over any gRPC channel
//! to the mock master, e.g. [`crate::wire::channel`]'s
//! in-memory one. The SDK's own `GrpcTransport` takes an endpoint only (its
//! API names no tonic type); this one is built from a channel, with the
//! same conversions (`corral-proto`).

use async_trait::async_trait;
use corral::transport::{Session, Subscription, Transport};
use corral::{Call, RejectKind, Subscribe, TransportError};
use corral_proto::convert::{call_to_pb, event_from_pb, subscribe_to_pb};
use corral_proto::pb::scheduler_client::SchedulerClient;
use futures::StreamExt;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Status};

/// The metadata key that carries the subscription's stream id.
const STREAM_ID_HEADER: &str = "mesos-stream-id";

/// A [`Transport`] over an existing gRPC channel. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ChannelTransport {
    client: SchedulerClient<Channel>,
}

impl ChannelTransport {
    /// A transport over `channel`.
    pub fn new(channel: Channel) -> Self {
        ChannelTransport {
            client: SchedulerClient::new(channel),
        }
    }
}

fn status_to_error(status: Status) -> TransportError {
    let kind = match status.code() {
        Code::Unavailable
        | Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Unknown
        | Code::Aborted => return TransportError::unavailable(status.message()),
        Code::InvalidArgument
        | Code::FailedPrecondition
        | Code::AlreadyExists
        | Code::OutOfRange => RejectKind::InvalidArgument,
        Code::NotFound => RejectKind::NotFound,
        Code::PermissionDenied | Code::Unauthenticated => RejectKind::NotSubscribed,
        Code::Unimplemented => RejectKind::Unimplemented,
        _ => RejectKind::Other,
    };
    TransportError::rejected(kind, status.message())
}

#[async_trait]
impl Transport for ChannelTransport {
    async fn subscribe(&self, call: Subscribe) -> Result<Subscription, TransportError> {
        let mut client = self.client.clone();
        let response = client
            .subscribe(subscribe_to_pb(&call))
            .await
            .map_err(status_to_error)?;
        let stream_id = response
            .metadata()
            .get(STREAM_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let events = response
            .into_inner()
            .map(|item| item.map(event_from_pb).map_err(status_to_error))
            .boxed();
        Ok(Subscription { stream_id, events })
    }

    async fn send(&self, session: &Session, call: Call) -> Result<(), TransportError> {
        let mut request = tonic::Request::new(call_to_pb(Some(&session.framework_id), &call));
        let value = MetadataValue::try_from(session.stream_id.as_str()).map_err(|_| {
            TransportError::unavailable(format!("bad stream id {:?}", session.stream_id))
        })?;
        request.metadata_mut().insert(STREAM_ID_HEADER, value);
        let mut client = self.client.clone();
        client.send(request).await.map_err(status_to_error)?;
        Ok(())
    }

    fn endpoint(&self) -> String {
        "the mock master (gRPC channel)".to_owned()
    }
}
