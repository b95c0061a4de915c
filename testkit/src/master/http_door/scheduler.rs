//! `POST /api/v1/scheduler`: negotiation (Content-Type compared exactly,
//! Accept for the event stream), the stream id header, and the answer of
//! each call as Mesos gives it, over the same actor commands as the gRPC
//! service.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use corral_mesos::pb::scheduler::call::Type as CallType;
use futures::StreamExt;
use http::header::{ACCEPT, ALLOW, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use tokio::sync::oneshot;
use tracing::{debug, info, warn};

use super::wire::{read_call, shape_of, to_master, update_shape_of, write_event, Media};
use super::Door;
use crate::master::commands::Command;
use crate::master::error::{CallError, ErrorKind};

/// The largest request body read (Mesos has no documented bound).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// A plain-text answer with `status`.
pub(super) fn answer(status: StatusCode, text: impl Into<String>) -> Response {
    let text = text.into();
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
}

/// An empty answer with `status` and no Content-Type.
fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// The status Mesos answers for a refused call.
fn status_of(err: &CallError) -> StatusCode {
    match err {
        // Mesos answers a wrong stream id with 400 ("didn't match").
        CallError::StreamMismatch { .. } => StatusCode::BAD_REQUEST,
        // UPDATE_FRAMEWORK's update validation fails with 409.
        CallError::ImmutableField { .. } => StatusCode::CONFLICT,
        _ => match err.kind() {
            ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
            ErrorKind::Unimplemented => StatusCode::NOT_IMPLEMENTED,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::ResourceExhausted => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::InvalidArgument | ErrorKind::NotFound => StatusCode::BAD_REQUEST,
        },
    }
}

/// Whether Mesos answers `err` to a call of `kind` with 202 all the same:
/// a DECLINE naming offers that are gone (the usable ones are declined, the
/// others ignored), an ACKNOWLEDGE of an update that is not pending (the
/// master ignores it).
fn ignored_by_mesos(kind: Option<CallType>, err: &CallError) -> bool {
    matches!(
        (kind, err),
        (Some(CallType::Decline), CallError::UnknownOffers(_))
            | (Some(CallType::Acknowledge), CallError::UnknownUpdate { .. })
    )
}

fn refused(err: &CallError) -> Response {
    warn!(%err, "scheduler API call refused");
    answer(status_of(err), err.to_string())
}

fn stopped() -> Response {
    answer(
        StatusCode::SERVICE_UNAVAILABLE,
        "the mock master is shut down",
    )
}

/// The event encoding from `Accept`, as Mesos picks it: JSON when
/// acceptable (also when no Accept is given), else protobuf, else none.
fn accepted(headers: &HeaderMap) -> Option<Media> {
    let values: Vec<&str> = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return Some(Media::Json);
    }
    let accepts = |media: Media| {
        let (kind, _) = media.as_str().split_once('/').unwrap_or_default();
        values.iter().flat_map(|v| v.split(',')).any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let range = parts.next().unwrap_or_default();
            let zero = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f64>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            !zero && (range == media.as_str() || range == "*/*" || range == format!("{kind}/*"))
        })
    };
    [Media::Json, Media::Protobuf]
        .into_iter()
        .find(|m| accepts(*m))
}

/// Serves one request to the scheduler endpoint.
pub(super) async fn scheduler(State(door): State<Door>, request: Request) -> Response {
    if request.method() != Method::POST {
        let mut response = answer(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Expecting 'POST', received '{}'", request.method()),
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let (parts, body) = request.into_parts();
    let media = match parts.headers.get(CONTENT_TYPE) {
        None => {
            return answer(
                StatusCode::BAD_REQUEST,
                "Expecting 'Content-Type' to be present",
            )
        }
        Some(value) => match value.to_str().ok().and_then(Media::exactly) {
            Some(media) => media,
            None => {
                return answer(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!(
                        "Expecting 'Content-Type' of {} or {}",
                        corral_mesos::JSON,
                        corral_mesos::PROTOBUF
                    ),
                )
            }
        },
    };
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(err) => return answer(StatusCode::BAD_REQUEST, format!("unreadable body: {err}")),
    };
    let call = match read_call(media, &bytes) {
        Ok(call) => call,
        Err(err) => {
            warn!(%err, "scheduler API body refused");
            return answer(StatusCode::BAD_REQUEST, err.to_string());
        }
    };
    let kind = match call.r#type {
        None => return answer(StatusCode::BAD_REQUEST, "Expecting 'type' to be present"),
        Some(t) => CallType::try_from(t).ok(),
    };
    if kind == Some(CallType::Unknown) {
        return answer(StatusCode::NOT_IMPLEMENTED, "Received an unknown call type");
    }
    let stream_id = match parts.headers.get(corral_mesos::STREAM_ID_HEADER) {
        None => None,
        Some(value) => match value.to_str() {
            Ok(text) => Some(text.to_owned()),
            Err(_) => return refused(&CallError::MalformedStreamId),
        },
    };
    let master_call = match to_master(&call) {
        Ok(call) => call,
        Err(err) => return answer(StatusCode::BAD_REQUEST, err.to_string()),
    };
    if kind == Some(CallType::Subscribe) {
        let Some(events) = accepted(&parts.headers) else {
            return answer(
                StatusCode::NOT_ACCEPTABLE,
                format!(
                    "Expecting 'Accept' to allow {} or {}",
                    corral_mesos::JSON,
                    corral_mesos::PROTOBUF
                ),
            );
        };
        return subscribe(
            &door,
            master_call,
            stream_id.is_some(),
            events,
            shape_of(&call),
        )
        .await;
    }
    let (reply, answer_rx) = oneshot::channel();
    let stream = stream_id.clone();
    let command = Command::Call {
        stream_id,
        call: master_call,
        reply,
    };
    if door.commands.send(command).await.is_err() {
        return stopped();
    }
    match answer_rx.await {
        Err(_) => stopped(),
        Ok(Err(err)) if ignored_by_mesos(kind, &err) => {
            info!(%err, "scheduler API call partly ignored, answered 202 as Mesos does");
            empty(StatusCode::ACCEPTED)
        }
        Ok(Err(err)) => refused(&err),
        Ok(Ok(())) if kind == Some(CallType::UpdateFramework) => {
            // Offers sent from now on follow the new capabilities.
            if let (Some(stream), Some(shape)) = (stream, update_shape_of(&call)) {
                door.shapes.update(&stream, shape);
            }
            empty(StatusCode::OK)
        }
        Ok(Ok(())) => empty(StatusCode::ACCEPTED),
    }
}

async fn subscribe(
    door: &Door,
    call: corral_proto::pb::Call,
    has_stream_id: bool,
    media: Media,
    shape: corral_mesos::convert::OfferShape,
) -> Response {
    let (reply, answer_rx) = oneshot::channel();
    let command = Command::Subscribe {
        call,
        has_stream_id,
        reply,
    };
    if door.commands.send(command).await.is_err() {
        return stopped();
    }
    let (stream_id, events) = match answer_rx.await {
        Err(_) => return stopped(),
        Ok(Err(err)) => return refused(&err),
        Ok(Ok(subscription)) => subscription,
    };
    let Ok(id_value) = HeaderValue::from_str(stream_id.as_str()) else {
        return answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("stream id {stream_id} is not a header value"),
        );
    };
    let (shape, registered) = door.shapes.open(stream_id.as_str(), shape);
    let records = events.map(move |event| {
        // The guard lives as long as the stream: its shape goes with it.
        let _registered = &registered;
        match event {
            Ok(event) => write_event(&event, media, shape.get()).map_err(|err| {
                warn!(%err, "event stream ended: an event has no Mesos form");
                StreamEnd::Event(err)
            }),
            Err(status) => {
                debug!(%status, "event stream ended by the master");
                Err(StreamEnd::Master(status))
            }
        }
    });
    let mut response = Response::new(Body::from_stream(records));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(media.as_str()));
    headers.insert(corral_mesos::STREAM_ID_HEADER, id_value);
    response
}

/// Why an event stream ended before the master closed it.
#[derive(Debug, thiserror::Error)]
enum StreamEnd {
    #[error(transparent)]
    Event(#[from] super::wire::EventError),
    #[error("the master ended the stream: {0}")]
    Master(tonic::Status),
}
