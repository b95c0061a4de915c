//! A standby master's Mesos door: it leads nothing, so every scheduler
//! request is sent to the leader with a 307 and a protocol-relative
//! `Location: //leader-host:port/<path>` (as Mesos writes it), or answered
//! 503 when no leader is known; `/redirect` and `/master/redirect` answer
//! the same way with `//leader-host:port`. For testing clients' redirect
//! and failover code.

use std::net::SocketAddr;

use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::{any, get};
use axum::Router;
use http::header::LOCATION;
use http::{HeaderValue, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;

use super::scheduler::answer;
use super::{health, version};
use crate::master::MasterError;

/// A master that is not the leader: it redirects to `leader` (a
/// `host:port`), or answers 503 when it knows none.
pub struct StandbyMaster {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), tonic::transport::Error>>>,
}

impl StandbyMaster {
    /// Starts a standby on `addr` that names `leader` (`host:port`) as the
    /// leading master, or no leader at all.
    pub async fn start_on(addr: SocketAddr, leader: Option<String>) -> Result<Self, MasterError> {
        let listener = TcpListener::bind(addr).await.map_err(MasterError::Bind)?;
        let addr = listener.local_addr().map_err(MasterError::Bind)?;
        let router = Router::new()
            .route(corral_mesos::SCHEDULER_PATH, any(redirect))
            .route("/redirect", any(redirect_root))
            .route("/master/redirect", any(redirect_root))
            .route("/version", get(version))
            .route("/health", get(health))
            .with_state(leader);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(
            Server::builder()
                .accept_http1(true)
                .add_routes(Routes::from(router))
                .serve_with_incoming_shutdown(
                    TcpIncoming::from(listener).with_nodelay(Some(true)),
                    async {
                        let _ = stopped.await;
                    },
                ),
        );
        tracing::info!(%addr, "standby master listening");
        Ok(Self {
            addr,
            stop: Some(stop),
            server: Some(server),
        })
    }

    /// Where the standby listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its URL, `http://<addr>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) -> Result<(), MasterError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await??;
        }
        Ok(())
    }
}

fn to_leader(leader: Option<&str>, rest: &str) -> Response {
    let Some(leader) = leader else {
        return answer(StatusCode::SERVICE_UNAVAILABLE, "No leader elected");
    };
    match HeaderValue::from_str(&format!("//{leader}{rest}")) {
        Ok(location) => {
            let mut response = answer(StatusCode::TEMPORARY_REDIRECT, "");
            response.headers_mut().insert(LOCATION, location);
            response
        }
        Err(err) => answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("no Location for leader {leader}: {err}"),
        ),
    }
}

/// The scheduler endpoint: to the leader, path and query kept.
async fn redirect(State(leader): State<Option<String>>, request: Request) -> Response {
    let rest = request
        .uri()
        .path_and_query()
        .map_or(corral_mesos::SCHEDULER_PATH, |p| p.as_str());
    to_leader(leader.as_deref(), rest)
}

/// `/redirect` and `/master/redirect`: the leader itself.
async fn redirect_root(State(leader): State<Option<String>>) -> Response {
    to_leader(leader.as_deref(), "")
}
