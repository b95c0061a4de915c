//! The observation endpoints' routes, merged into the master's HTTP door:
//! `/master/state`, `/master/state-summary`, `/master/frameworks`,
//! `/master/tasks`, `/master/roles`, `/metrics/snapshot` (Mesos JSON),
//! `/metrics` (Prometheus text), `/observe` (the live page) and
//! `/observe/events` (its server-sent events). Each request takes one
//! [`Observation`] on the actor (a job on the command channel) and renders
//! it off the actor.

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use futures::StreamExt;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode, Uri};
use serde_json::Value;
use tokio::sync::oneshot;

use super::gather::{observe, Observation, QueueDepth};
use super::live;
use super::mesos_json::{self, Order, TasksQuery};
use super::{prom, snapshot, why};
use crate::master::commands::{Command, Commands};

/// The live page (HTML, CSS and JavaScript in one file).
const PAGE: &str = include_str!("page.html");

/// How often the live page's event stream sends a new view.
const LIVE_EVERY: Duration = Duration::from_millis(500);

/// The observation routes, over the master's command channel.
pub(in crate::master) fn routes(commands: Commands) -> Router {
    Router::new()
        .route("/master/state", get(state))
        .route("/state", get(state))
        .route("/master/state-summary", get(state_summary))
        .route("/master/frameworks", get(frameworks))
        .route("/master/tasks", get(tasks))
        .route("/master/roles", get(roles))
        .route("/metrics/snapshot", get(metrics_snapshot))
        .route("/metrics", get(metrics))
        .route("/master/why-not-offered", get(why_not_offered))
        .route("/observe", get(page))
        .route("/observe/events", get(events))
        .route("/observe/view", get(view))
        .with_state(commands)
}

/// Takes an observation on the actor, with the queue depths; `None` when
/// the master is shutting down.
pub(in crate::master) async fn take(commands: &Commands) -> Option<Observation> {
    let (tx, rx) = oneshot::channel();
    let job = Box::new(
        move |core: &mut crate::master::core::MasterCore, now: Duration| {
            let _ = tx.send(observe(core, now));
        },
    );
    commands.send(Command::Operate(job)).await.ok()?;
    let mut obs = rx.await.ok()?;
    let (tx, rx) = oneshot::channel();
    commands
        .send(Command::QueueDepths { reply: tx })
        .await
        .ok()?;
    let depths = rx.await.ok()?;
    obs.queues = depths
        .into_iter()
        .map(|(stream, depth)| QueueDepth {
            framework: obs
                .state
                .frameworks
                .iter()
                .find(|f| f.stream_id.as_deref() == Some(stream.as_str()))
                .map(|f| f.id.clone()),
            stream: stream.to_string(),
            depth,
        })
        .collect();
    Some(obs)
}

fn with_type(status: StatusCode, body: impl Into<Body>, content_type: &'static str) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn unavailable() -> Response {
    with_type(
        StatusCode::SERVICE_UNAVAILABLE,
        "the master is shutting down",
        "text/plain; charset=utf-8",
    )
}

async fn json_of(commands: &Commands, render: impl FnOnce(&Observation) -> Value) -> Response {
    match take(commands).await {
        Some(obs) => with_type(StatusCode::OK, render(&obs).to_string(), "application/json"),
        None => unavailable(),
    }
}

async fn state(State(c): State<Commands>) -> Response {
    json_of(&c, mesos_json::state).await
}

async fn state_summary(State(c): State<Commands>) -> Response {
    json_of(&c, mesos_json::state_summary).await
}

async fn frameworks(State(c): State<Commands>) -> Response {
    json_of(&c, mesos_json::frameworks).await
}

async fn roles(State(c): State<Commands>) -> Response {
    json_of(&c, mesos_json::roles).await
}

async fn metrics_snapshot(State(c): State<Commands>) -> Response {
    json_of(&c, snapshot::snapshot).await
}

async fn view(State(c): State<Commands>) -> Response {
    json_of(&c, live::view).await
}

/// The query of `/master/tasks`; a typed error names a bad parameter.
pub fn parse_tasks_query(query: Option<&str>) -> Result<TasksQuery, String> {
    let mut out = TasksQuery::default();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let number = |v: &str| {
            v.parse::<usize>()
                .map_err(|_| format!("{key}: not a number: {:?}", truncate(v)))
        };
        match key {
            "limit" => out.limit = number(value)?,
            "offset" => out.offset = number(value)?,
            "order" => {
                out.order = match value {
                    "asc" => Order::Asc,
                    "desc" => Order::Desc,
                    other => return Err(format!("order: not asc or desc: {:?}", truncate(other))),
                }
            }
            "framework_id" => out.framework_id = Some(decode(value)),
            "task_id" => out.task_id = Some(decode(value)),
            _ => {}
        }
    }
    Ok(out)
}

/// `%XX` and `+` decoded (invalid escapes are kept as they are).
fn decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| Some((hex(*bytes.get(i + 1)?)?, hex(*bytes.get(i + 2)?)?)))
            .flatten();
        match (bytes[i], escaped) {
            (b'%', Some((hi, lo))) => {
                // Two hex digits: at most 0xff.
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
                continue;
            }
            (b'+', _) => out.push(b' '),
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

async fn tasks(State(c): State<Commands>, uri: Uri) -> Response {
    match parse_tasks_query(uri.query()) {
        Ok(query) => json_of(&c, |obs| mesos_json::tasks(obs, &query)).await,
        Err(why) => with_type(StatusCode::BAD_REQUEST, why, "text/plain; charset=utf-8"),
    }
}

/// `/master/why-not-offered?framework_id=ID&role=ROLE`.
async fn why_not_offered(State(c): State<Commands>, uri: Uri) -> Response {
    let mut fw = None;
    let mut role = None;
    for pair in uri.query().unwrap_or("").split('&') {
        match pair.split_once('=') {
            Some(("framework_id", v)) => fw = Some(corral::FrameworkId::new(decode(v))),
            Some(("role", v)) => role = Some(corral::Role::new(decode(v))),
            _ => {}
        }
    }
    let (Some(fw), Some(role)) = (fw, role) else {
        return with_type(
            StatusCode::BAD_REQUEST,
            "framework_id and role are required",
            "text/plain; charset=utf-8",
        );
    };
    let (tx, rx) = oneshot::channel();
    let job = Box::new(
        move |core: &mut crate::master::core::MasterCore, now: Duration| {
            let _ = tx.send(why::why_not_offered(core, &fw, &role, now));
        },
    );
    if c.send(Command::Operate(job)).await.is_err() {
        return unavailable();
    }
    match rx.await {
        Ok(answer) => with_type(StatusCode::OK, answer.to_string(), "application/json"),
        Err(_) => unavailable(),
    }
}

async fn metrics(State(c): State<Commands>) -> Response {
    let Some(obs) = take(&c).await else {
        return unavailable();
    };
    match prom::encode(&obs) {
        Ok(text) => with_type(StatusCode::OK, text, prom::CONTENT_TYPE),
        Err(_) => with_type(
            StatusCode::INTERNAL_SERVER_ERROR,
            "metrics could not be encoded",
            "text/plain; charset=utf-8",
        ),
    }
}

async fn page() -> Response {
    with_type(StatusCode::OK, PAGE, "text/html; charset=utf-8")
}

/// Server-sent events: one `view` event with the live view's JSON now and
/// every [`LIVE_EVERY`] after, until the client goes or the master stops;
/// `?max=N` ends the stream after N views (the browser reconnects after
/// the `retry` it is sent), for headless browsers that wait for the
/// network to go idle.
async fn events(State(c): State<Commands>, uri: Uri) -> Response {
    let max = uri
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|p| p.strip_prefix("max="))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let ticks = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(LIVE_EVERY));
    let retry = futures::stream::once(async {
        Ok::<_, std::convert::Infallible>(String::from("retry: 10000\n\n"))
    });
    let stream = ticks
        .take(max)
        .then(move |_| {
            let c = c.clone();
            async move { take(&c).await }
        })
        .take_while(|obs| std::future::ready(obs.is_some()))
        .map(|obs| {
            let data = obs.map(|o| live::view(&o).to_string()).unwrap_or_default();
            Ok::<_, std::convert::Infallible>(format!("event: view\ndata: {data}\n\n"))
        });
    let stream = retry.chain(stream);
    let mut response = with_type(
        StatusCode::OK,
        Body::from_stream(stream),
        "text/event-stream",
    );
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn decodes_escapes_and_keeps_bad_ones() {
        assert_eq!(decode("a%2Fb+c"), "a/b c");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("%C3%A9"), "\u{e9}");
    }
}
