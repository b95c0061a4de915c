//! The subset of Jenkins's remote access API that scripts use, over HTTP,
//! with Jenkins's JSON shapes (`_class` and all), so a Jenkins user's
//! `curl` lines work unchanged:
//!
//! | request | answer |
//! |---|---|
//! | `POST /job/NAME/build` | 201, `Location: …/queue/item/ID/` |
//! | `POST /job/NAME/buildWithParameters` | the same, with parameters (query string or form body) |
//! | `GET /api/json` | the jobs (`hudson.model.Hudson`) |
//! | `GET /job/NAME/api/json` | a job: builds, last builds, next number, queue item, parameters |
//! | `GET /job/NAME/N/api/json` | a build: result, building, duration, timestamp, queueId |
//! | `GET /job/NAME/N/consoleText` | its log, as text |
//! | `GET /job/NAME/N/logText/progressiveText?start=B` | the log from byte B; `X-Text-Size`, `X-More-Data` |
//! | `POST /job/NAME/N/stop` | aborts it; 302 to the build |
//! | `GET /queue/api/json`, `/queue/item/ID/api/json` | the queue; an item, and its build once it left |
//! | `GET /computer/api/json` | the agents, idle or busy |
//! | `GET /crumbIssuer/api/json` | 404, as an unsecured Jenkins answers |
//! | `GET /prometheus/` | the figures, named as the Jenkins Prometheus plugin names them ([`prometheus`]) |
//! | `GET /` | a page: the queue, running builds with their agents, results, a build's log live |
//!
//! Handlers never touch the controller's state: each sends an
//! [`Input`] with a reply channel through an [`Inbox`] and waits for the
//! answer, so the controller stays the only owner of its state. Unknown
//! jobs, builds and queue items are 404; a refused trigger is 400 (503
//! while shutting down); a controller that no longer answers is 503.

mod form;
mod json;
pub mod prometheus;

use std::collections::BTreeMap;

use async_trait::async_trait;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use corral::inputs::InputSender;
use tokio::sync::oneshot;

use crate::controller::{Input, Refused};
use crate::queue::{Build, BuildId, BuildState};
use crate::view::Snapshot;

/// Where the API sends its inputs: the controller's input channel, or a
/// test cluster's injector.
#[async_trait]
pub trait Inbox: Clone + Send + Sync + 'static {
    /// Sends an input; false once the controller has stopped.
    async fn send(&self, input: Input) -> bool;
}

#[async_trait]
impl Inbox for InputSender<Input> {
    async fn send(&self, input: Input) -> bool {
        InputSender::send(self, input).await.is_ok()
    }
}

#[async_trait]
impl Inbox for corral_testkit::Injector<Input> {
    async fn send(&self, input: Input) -> bool {
        corral_testkit::Injector::send(self, input).await.is_ok()
    }
}

/// The router, answering for the controller behind `inbox`.
pub fn router<I: Inbox>(inbox: I) -> Router {
    Router::new()
        .route("/api/json", get(root::<I>))
        .route("/job/{name}/api/json", get(job::<I>))
        .route("/job/{name}/build", post(build::<I>))
        .route("/job/{name}/buildWithParameters", post(build::<I>))
        .route("/job/{name}/{number}/api/json", get(build_json::<I>))
        .route("/job/{name}/{number}/consoleText", get(console::<I>))
        .route(
            "/job/{name}/{number}/logText/progressiveText",
            get(progressive::<I>),
        )
        .route("/job/{name}/{number}/stop", post(stop::<I>))
        .route("/queue/api/json", get(queue::<I>))
        .route("/queue/item/{id}/api/json", get(queue_item::<I>))
        .route("/computer/api/json", get(computer::<I>))
        .route("/prometheus", get(metrics::<I>))
        .route("/prometheus/", get(metrics::<I>))
        .route("/", get(page))
        .fallback(not_found)
        .with_state(inbox)
}

/// An answer the API could not give.
enum Failure {
    NotFound,
    Refused(Refused),
    Gone,
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self {
            Failure::NotFound => not_found_response(),
            Failure::Refused(Refused::ShuttingDown) => {
                (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response()
            }
            Failure::Refused(Refused::NoSuchJob(_)) => not_found_response(),
            Failure::Gone => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the controller has stopped\n",
            )
                .into_response(),
        }
    }
}

fn not_found_response() -> Response {
    (StatusCode::NOT_FOUND, "Not Found\n").into_response()
}

/// The web page: plain HTML and a script that reads the API above.
const PAGE: &str = include_str!("page.html");

async fn page() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response()
}

async fn not_found() -> Response {
    not_found_response()
}

/// Asks the controller; `make` builds the input around the reply sender.
async fn ask<I: Inbox, T>(
    inbox: &I,
    make: impl FnOnce(oneshot::Sender<T>) -> Input,
) -> Result<T, Failure> {
    let (reply, answer) = oneshot::channel();
    if !inbox.send(make(reply)).await {
        return Err(Failure::Gone);
    }
    answer.await.map_err(|_| Failure::Gone)
}

async fn snapshot<I: Inbox>(inbox: &I) -> Result<Snapshot, Failure> {
    ask(inbox, Input::Snapshot).await
}

/// `http://HOST/`, from the request's Host header.
fn base(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or("localhost");
    format!("http://{host}/")
}

fn build_id(name: String, number: &str) -> Result<BuildId, Failure> {
    let number = number.parse().map_err(|_| Failure::NotFound)?;
    Ok(BuildId { job: name, number })
}

async fn record<I: Inbox>(inbox: &I, id: BuildId) -> Result<Build, Failure> {
    ask(inbox, |reply| Input::Build(id, reply))
        .await?
        .ok_or(Failure::NotFound)
}

async fn root<I: Inbox>(State(inbox): State<I>, headers: HeaderMap) -> Result<Response, Failure> {
    let snap = snapshot(&inbox).await?;
    Ok(Json(json::root(&snap, &base(&headers))).into_response())
}

async fn job<I: Inbox>(
    State(inbox): State<I>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let snap = snapshot(&inbox).await?;
    let body = json::job(&snap, &name, &base(&headers)).ok_or(Failure::NotFound)?;
    Ok(Json(body).into_response())
}

async fn build<I: Inbox>(
    State(inbox): State<I>,
    Path(name): Path<String>,
    Query(mut params): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, Failure> {
    // `curl --data P=V` sends the parameters as a form body; they win
    // over the query string's.
    params.extend(form::parse(&body));
    let submitted = ask(&inbox, |reply| Input::Submit {
        job: name,
        params,
        reply,
    })
    .await?
    .map_err(Failure::Refused)?;
    let location = format!("{}queue/item/{}/", base(&headers), submitted.queue_id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)]).into_response())
}

async fn build_json<I: Inbox>(
    State(inbox): State<I>,
    Path((name, number)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let id = build_id(name, &number)?;
    let record = record(&inbox, id).await?;
    Ok(Json(json::build(&record, &base(&headers))).into_response())
}

async fn console<I: Inbox>(
    State(inbox): State<I>,
    Path((name, number)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let record = record(&inbox, build_id(name, &number)?).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        record.log,
    )
        .into_response())
}

async fn progressive<I: Inbox>(
    State(inbox): State<I>,
    Path((name, number)): Path<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, Failure> {
    let record = record(&inbox, build_id(name, &number)?).await?;
    let start = query
        .get("start")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    // Bytes, not characters: a client's offset may fall inside one.
    let bytes = record.log.as_bytes();
    let rest = bytes
        .get(start.min(bytes.len())..)
        .unwrap_or_default()
        .to_vec();
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            (
                header::HeaderName::from_static("x-text-size"),
                bytes.len().to_string(),
            ),
        ],
        rest,
    )
        .into_response();
    let still = !matches!(record.state, BuildState::Done(_));
    if still {
        response.headers_mut().insert(
            header::HeaderName::from_static("x-more-data"),
            header::HeaderValue::from_static("true"),
        );
    }
    Ok(response)
}

async fn stop<I: Inbox>(
    State(inbox): State<I>,
    Path((name, number)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let id = build_id(name, &number)?;
    record(&inbox, id.clone()).await?; // 404 for an unknown build
    let location = format!("{}job/{}/{}/", base(&headers), id.job, id.number);
    if !inbox.send(Input::Abort(id)).await {
        return Err(Failure::Gone);
    }
    Ok((StatusCode::FOUND, [(header::LOCATION, location)]).into_response())
}

async fn queue<I: Inbox>(State(inbox): State<I>, headers: HeaderMap) -> Result<Response, Failure> {
    let snap = snapshot(&inbox).await?;
    Ok(Json(json::queue(&snap, &base(&headers))).into_response())
}

async fn queue_item<I: Inbox>(
    State(inbox): State<I>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let id: u64 = id.parse().map_err(|_| Failure::NotFound)?;
    let snap = snapshot(&inbox).await?;
    let body = json::queue_item(&snap, id, &base(&headers)).ok_or(Failure::NotFound)?;
    Ok(Json(body).into_response())
}

async fn metrics<I: Inbox>(State(inbox): State<I>) -> Result<Response, Failure> {
    let snap = snapshot(&inbox).await?;
    let Ok(text) = prometheus::encode(&snap) else {
        return Ok((
            StatusCode::INTERNAL_SERVER_ERROR,
            "metrics could not be encoded\n",
        )
            .into_response());
    };
    Ok(([(header::CONTENT_TYPE, prometheus::CONTENT_TYPE)], text).into_response())
}

async fn computer<I: Inbox>(
    State(inbox): State<I>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let snap = snapshot(&inbox).await?;
    Ok(Json(json::computer(&snap, &base(&headers))).into_response())
}
