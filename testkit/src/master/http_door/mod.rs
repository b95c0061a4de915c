//! The master's second front door: the Mesos v1 scheduler HTTP API
//! (`POST /api/v1/scheduler`) and the master endpoints its clients probe
//! (`GET /version`, `/health`, `/redirect`, `/master/redirect`), served on
//! the same address as gRPC (told apart by path: gRPC's are
//! `/corral.v1.*`). It owns the translation to and from Mesos's types and
//! feeds the same actor commands as the gRPC service: one master, two
//! doors, same semantics. [`StandbyMaster`] is a non-leading master's
//! door (307 to the leader, 503 without one).

mod scheduler;
mod shapes;
mod standby;
mod wire;

pub use standby::StandbyMaster;

use axum::response::Response;
use axum::routing::{any, get};
use axum::Router;
use http::header::{CONTENT_TYPE, LOCATION};
use http::{HeaderValue, StatusCode};
use tonic::service::Routes;

use super::commands::Commands;

/// The Mesos release whose API the door speaks, as `/version` reports it.
pub const MESOS_VERSION: &str = "1.11.0";

/// What every handler of the door shares.
#[derive(Clone)]
struct Door {
    commands: Commands,
    /// Where this master listens, `host:port` (it is its own leader);
    /// `in-memory` for a master on in-memory pipes.
    addr: std::sync::Arc<str>,
    /// How each open event stream's offers are written.
    shapes: shapes::Shapes,
}

/// `grpc` with the door's routes added; `addr` is where the master is
/// reached (a socket address, or `in-memory`), as `/redirect` names it.
pub(super) fn with_door(grpc: Routes, commands: Commands, addr: impl std::fmt::Display) -> Routes {
    let door = Router::new()
        .route(corral_mesos::SCHEDULER_PATH, any(scheduler::scheduler))
        .route("/version", get(version))
        .route("/health", get(health))
        .route("/redirect", get(redirect))
        .route("/master/redirect", get(redirect))
        .with_state(Door {
            commands: commands.clone(),
            addr: addr.to_string().into(),
            shapes: shapes::Shapes::default(),
        })
        .merge(super::observe::routes::routes(commands));
    Routes::from(grpc.prepare().into_axum_router().merge(door))
}

/// `GET /version`: Mesos's numeric version, our build beside it.
pub(super) async fn version() -> Response {
    let body = format!(
        concat!(
            "{{\"version\":\"{}\",\"build_date\":\"\",\"build_time\":0.0,",
            "\"build_user\":\"\",\"git_sha\":\"\",\"git_tag\":\"\",",
            "\"corral_version\":\"{}\"}}"
        ),
        MESOS_VERSION,
        env!("CARGO_PKG_VERSION")
    );
    let mut response = scheduler::answer(StatusCode::OK, body);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(corral_mesos::JSON));
    response
}

/// `GET /health`.
pub(super) async fn health() -> StatusCode {
    StatusCode::OK
}

async fn redirect(axum::extract::State(door): axum::extract::State<Door>) -> Response {
    let mut response = scheduler::answer(StatusCode::TEMPORARY_REDIRECT, "");
    match HeaderValue::from_str(&format!("//{}", door.addr)) {
        Ok(location) => {
            response.headers_mut().insert(LOCATION, location);
            response
        }
        Err(err) => scheduler::answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("no Location for {}: {err}", door.addr),
        ),
    }
}
