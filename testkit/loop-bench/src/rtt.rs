//! The raw limit: a plain tonic unary call on loopback, to a service that
//! answers at once (the scheduler service's `Send`, answered with
//! `CallAccepted` without looking at the call), with TCP_NODELAY as the
//! mock master sets it. Everything else is compared with this.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use corral_proto::pb;
use corral_proto::pb::scheduler_client::SchedulerClient;
use corral_proto::pb::scheduler_server::{Scheduler, SchedulerServer};
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;
use tonic::{Request, Response, Status};

struct Echo;

#[tonic::async_trait]
impl Scheduler for Echo {
    type SubscribeStream = tokio_stream::Empty<Result<pb::Event, Status>>;

    async fn subscribe(
        &self,
        _request: Request<pb::Call>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        Err(Status::unimplemented("the echo service has no stream"))
    }

    async fn send(
        &self,
        _request: Request<pb::Call>,
    ) -> Result<Response<pb::CallAccepted>, Status> {
        Ok(Response::new(pb::CallAccepted {}))
    }
}

/// `calls` round trips (after `calls / 10` to warm up), one at a time.
pub async fn round_trips(calls: usize) -> Result<Vec<Duration>, Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        Server::builder()
            .add_service(SchedulerServer::new(Echo))
            .serve_with_incoming_shutdown(
                TcpIncoming::from(listener).with_nodelay(Some(true)),
                async {
                    let _ = stopped.await;
                },
            ),
    );
    let mut client = SchedulerClient::connect(format!("http://{addr}")).await?;
    let mut out = Vec::with_capacity(calls);
    for i in 0..calls + calls / 10 {
        let started = Instant::now();
        client.send(pb::Call::default()).await?;
        if i >= calls / 10 {
            out.push(started.elapsed());
        }
    }
    drop(client);
    let _ = stop.send(());
    server.await??;
    Ok(out)
}
