//! The gRPC transport: the `corral.v1.Scheduler` service over tonic.

use async_trait::async_trait;
use corral_proto::convert::{call_to_pb, event_from_pb, subscribe_to_pb};
use corral_proto::pb::scheduler_client::SchedulerClient;
use futures::StreamExt;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use super::{Session, Subscription, Transport};
use crate::error::{RejectKind, TransportError};
use crate::{Call, Subscribe};

/// The metadata key that carries the subscription's stream id.
pub const STREAM_ID_HEADER: &str = "mesos-stream-id";

/// Talks to a master over gRPC. Cheap to clone; the underlying channel
/// reconnects by itself.
#[derive(Clone, Debug)]
pub struct GrpcTransport {
    client: SchedulerClient<Channel>,
    endpoint: String,
}

impl GrpcTransport {
    /// A transport to the master at `endpoint` (e.g. `http://127.0.0.1:5050`).
    /// Connects lazily: a master that is down now is retried by the runtime,
    /// which logs each failed attempt with the endpoint (through `tracing`).
    pub fn connect_lazy(endpoint: &str) -> Result<Self, TransportError> {
        let parsed = Endpoint::from_shared(endpoint.to_owned())
            .map_err(|e| TransportError::Unavailable(format!("bad endpoint {endpoint:?}: {e}")))?;
        Ok(GrpcTransport {
            client: SchedulerClient::new(parsed.connect_lazy()),
            endpoint: endpoint.to_owned(),
        })
    }
}

/// Maps a gRPC status to a transport error.
fn status_to_error(status: Status) -> TransportError {
    let kind = match status.code() {
        Code::Unavailable
        | Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Unknown
        | Code::Aborted => return TransportError::Unavailable(status.message().to_owned()),
        Code::InvalidArgument
        | Code::FailedPrecondition
        | Code::AlreadyExists
        | Code::OutOfRange => RejectKind::InvalidArgument,
        Code::NotFound => RejectKind::NotFound,
        Code::PermissionDenied | Code::Unauthenticated => RejectKind::NotSubscribed,
        Code::Unimplemented => RejectKind::Unimplemented,
        _ => RejectKind::Other,
    };
    TransportError::Rejected {
        kind,
        message: status.message().to_owned(),
    }
}

#[async_trait]
impl Transport for GrpcTransport {
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
            TransportError::Unavailable(format!("bad stream id {:?}", session.stream_id))
        })?;
        request.metadata_mut().insert(STREAM_ID_HEADER, value);
        let mut client = self.client.clone();
        client.send(request).await.map_err(status_to_error)?;
        Ok(())
    }

    fn endpoint(&self) -> String {
        self.endpoint.clone()
    }
}
