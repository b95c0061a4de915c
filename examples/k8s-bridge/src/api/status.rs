//! Errors as Kubernetes `Status` objects: the HTTP code, the `reason`
//! (`NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, `Forbidden`,
//! `BadRequest`, `MethodNotAllowed`, `UnsupportedMediaType`, `Expired`,
//! `ServiceUnavailable`) and a message in Kubernetes's words, so kubectl
//! prints what it prints against a real API server.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// A refusal the API answers with a `Status`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    /// The HTTP code.
    pub code: u16,
    /// Kubernetes's `reason`.
    pub reason: &'static str,
    /// The message.
    pub message: String,
    /// `details.name` and `details.kind` (the resource's plural), if any.
    pub details: Option<(String, String)>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn about(mut self, plural: &str, name: &str) -> Self {
        self.details = Some((name.to_owned(), plural.to_owned()));
        self
    }

    /// `pods "x" not found` (`resource` as `pods` or `deployments.apps`).
    pub fn not_found(resource: &str, name: &str) -> Self {
        ApiError::new(404, "NotFound", format!("{resource} \"{name}\" not found"))
            .about(plural(resource), name)
    }

    /// `pods "x" already exists`.
    pub fn already_exists(resource: &str, name: &str) -> Self {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{resource} \"{name}\" already exists"),
        )
        .about(plural(resource), name)
    }

    /// A write against an older resourceVersion.
    pub fn conflict(resource: &str, name: &str) -> Self {
        ApiError::new(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on {resource} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"),
        )
        .about(plural(resource), name)
    }

    /// 422: the object is not valid.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new(422, "Invalid", message)
    }

    /// 403: quota exceeded, namespace terminating.
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(403, "Forbidden", message)
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, "BadRequest", message)
    }

    /// 405.
    pub fn method_not_allowed() -> Self {
        ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }

    /// 415: a patch type (or body type) not served.
    pub fn unsupported_media_type(what: &str) -> Self {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format - accepted media types include: application/json, application/merge-patch+json, application/strategic-merge-patch+json (got {what})"),
        )
    }

    /// 410: a watch from a version no longer kept.
    pub fn expired(rv: u64, oldest: u64) -> Self {
        ApiError::new(
            410,
            "Expired",
            format!("too old resource version: {rv} ({oldest})"),
        )
    }

    /// 404 for a path the API does not serve.
    pub fn no_route() -> Self {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    /// 503: the bridge has stopped.
    pub fn unavailable() -> Self {
        ApiError::new(503, "ServiceUnavailable", "the bridge is not running")
    }

    /// As a `Status` object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some((name, kind)) = &self.details {
            let (kind, group) = match kind.split_once('.') {
                Some((k, g)) => (k, Some(g)),
                None => (kind.as_str(), None),
            };
            status["details"] = json!({ "name": name, "kind": kind });
            if let Some(group) = group {
                status["details"]["group"] = json!(group);
            }
        }
        status
    }
}

/// `deployments.apps` → `deployments.apps` (kept whole; the group is split
/// off when rendered).
fn plural(resource: &str) -> &str {
    resource
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            code,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            self.to_status().to_string(),
        )
            .into_response()
    }
}
