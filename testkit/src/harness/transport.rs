//! The frameworks' way into the engine: a [`Transport`] that calls the
//! master core directly, in the caller's task, with no encoding and no
//! network. Each subscription's event stream tells the engine when the
//! framework drops it, as a broken connection would.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use corral::error::TransportError;
use corral::transport::{Session, Subscription, Transport};
use corral::{Call, CallKind, MasterEvent, Subscribe};
use corral_proto::convert::{call_to_pb, subscribe_to_pb};
use futures::{Stream, StreamExt};
use tokio::sync::mpsc;

use super::engine::{to_transport_error, EngineShared};
use crate::master::StreamId;

/// A transport into a [`Cluster`](super::Cluster)'s engine.
#[derive(Clone)]
pub struct ClusterTransport {
    pub(crate) shared: Arc<EngineShared>,
}

#[async_trait]
impl Transport for ClusterTransport {
    async fn subscribe(&self, call: Subscribe) -> Result<Subscription, TransportError> {
        let call = subscribe_to_pb(&call);
        let opened = self.shared.step(|engine, now| {
            let asked_for = call.framework_id.as_ref().map(corral::FrameworkId::from);
            let result = engine.core.subscribe(now, call.clone());
            let framework = result
                .as_ref()
                .ok()
                .and_then(|s| s.framework.clone())
                .or(asked_for);
            engine.record_call(
                now,
                framework,
                &call,
                &result.as_ref().map(|_| ()).map_err(Clone::clone),
            );
            result.map(|s| {
                let receiver = engine.open(s.stream.clone(), s.framework);
                (s.stream, receiver)
            })
        });
        let (stream, receiver) = opened.map_err(|e| to_transport_error(&e))?;
        let events = DroppingStream {
            receiver,
            stream: stream.clone(),
            shared: self.shared.clone(),
        };
        Ok(Subscription {
            stream_id: stream.to_string(),
            events: events.boxed(),
        })
    }

    async fn send(&self, session: &Session, call: Call) -> Result<(), TransportError> {
        let stream_id = session.stream_id.as_str();
        let is_ack = call.kind() == CallKind::Acknowledge;
        let plain = call;
        let call = call_to_pb(Some(&session.framework_id), &plain);
        let result = self.shared.step(|engine, now| {
            let framework = engine.framework_of(stream_id);
            if let (true, Some(fw)) = (is_ack, &framework) {
                if engine.network.take_ack_loss(fw) {
                    engine.record_lost_call(fw.clone(), &plain);
                    // The framework believes it was delivered.
                    return Ok(());
                }
            }
            let result = engine.core.handle(now, Some(stream_id), call.clone());
            let framework =
                framework.or_else(|| call.framework_id.as_ref().map(corral::FrameworkId::from));
            engine.record_call(now, framework, &call, &result);
            result
        });
        result.map_err(|e| to_transport_error(&e))
    }
}

/// A subscription's events; dropping it disconnects the framework.
struct DroppingStream {
    receiver: mpsc::UnboundedReceiver<Result<MasterEvent, TransportError>>,
    stream: StreamId,
    shared: Arc<EngineShared>,
}

impl Stream for DroppingStream {
    type Item = Result<MasterEvent, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.receiver.poll_recv(cx)
    }
}

impl Drop for DroppingStream {
    fn drop(&mut self) {
        let stream = self.stream.clone();
        self.shared.step(|engine, now| engine.dropped(now, &stream));
    }
}
