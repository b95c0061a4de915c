//! The Kubernetes HTTP API in front of the bridge: the subset real
//! clients (kubectl) need for the kinds it runs. Reads are answered from
//! the catalog's latest [`Snapshot`] (never waiting for the scheduler);
//! writes go to the bridge as [`Input::Call`]s, between the master's
//! events, and are answered once the bridge has taken them, from the
//! snapshot it published then.
//!
//! Served: discovery ([`discovery`]), list (as a `Table` when asked,
//! [`table`]), get, create, replace, patch (merge and strategic merge,
//! [`patch`]), delete (with `gracePeriodSeconds`), `?watch=true` streams
//! from a resourceVersion ([`watch`]), label and field selectors
//! ([`select`]), pod logs, a Deployment's `scale` subresource, and
//! Kubernetes's `Status` errors ([`status`]).

pub mod discovery;
pub mod openapi;
pub mod patch;
pub mod select;
pub mod status;
pub mod strict;
pub mod table;
pub mod watch;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use corral::inputs::InputSender;
use serde_json::{json, Value};
use tokio::sync::watch as channel;

use crate::bridge::{Call, CallError, Input};
use crate::catalog::Snapshot;
use crate::manifest::{self, Kind};
use crate::store::ApplyError;
use discovery::Resource;
use select::Selector;
use status::ApiError;

/// The largest request body taken.
pub const MAX_BODY: usize = 4 << 20;
/// The most of a log file returned.
pub const MAX_LOG: u64 = 8 << 20;

/// Where the API's writes go: the bridge's inputs.
#[async_trait::async_trait]
pub trait Inbox: Send + Sync + std::fmt::Debug {
    /// Hands `input` to the bridge; false if it has stopped.
    async fn deliver(&self, input: Input) -> bool;
}

#[async_trait::async_trait]
impl Inbox for InputSender<Input> {
    async fn deliver(&self, input: Input) -> bool {
        self.send(input).await.is_ok()
    }
}

#[async_trait::async_trait]
impl Inbox for tokio::sync::mpsc::Sender<Input> {
    async fn deliver(&self, input: Input) -> bool {
        self.send(input).await.is_ok()
    }
}

/// What the API's handlers share.
#[derive(Clone, Debug)]
pub struct Api {
    inbox: Arc<dyn Inbox>,
    catalog: channel::Receiver<Arc<Snapshot>>,
}

impl Api {
    /// The API over the bridge's inputs (`corral::inputs`, or any
    /// [`Inbox`]) and catalog.
    pub fn new(inbox: impl Inbox + 'static, catalog: channel::Receiver<Arc<Snapshot>>) -> Self {
        Api {
            inbox: Arc::new(inbox),
            catalog,
        }
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.catalog.borrow().clone()
    }

    async fn call(&self, call: Call) -> Result<(), CallOutcome> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        if !self.inbox.deliver(Input::Call(Box::new(call), reply)).await {
            return Err(CallOutcome::Stopped);
        }
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(CallOutcome::Refused(e)),
            Err(_) => Err(CallOutcome::Stopped),
        }
    }
}

enum CallOutcome {
    Stopped,
    Refused(CallError),
}

impl CallOutcome {
    fn into_api(self, resource: &Resource, name: &str) -> ApiError {
        let q = resource.qualified();
        match self {
            CallOutcome::Stopped => ApiError::unavailable(),
            CallOutcome::Refused(CallError::NotFound) => ApiError::not_found(&q, name),
            CallOutcome::Refused(CallError::AlreadyExists) => ApiError::already_exists(&q, name),
            CallOutcome::Refused(CallError::Conflict) => ApiError::conflict(&q, name),
            CallOutcome::Refused(CallError::Refused(e)) => refusal(resource, name, &e),
        }
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn refusal(resource: &Resource, name: &str, e: &ApplyError) -> ApiError {
    match e {
        ApplyError::NoNamespace(ns) => ApiError::not_found("namespaces", ns),
        ApplyError::NamespaceTerminating(_)
        | ApplyError::QuotaExceeded(_)
        | ApplyError::ProtectedNamespace(_) => ApiError::forbidden(e.to_string()),
        ApplyError::PodSpecChanged(_) => ApiError::invalid(e.to_string()),
        other => ApiError::invalid(format!(
            "{} \"{name}\" is invalid: {}",
            resource.kind.name(),
            chain(other)
        )),
    }
}

/// The router: one dispatcher for every path (Kubernetes paths nest
/// namespaces, resources and subresources in ways a route table would
/// only repeat).
pub fn router(api: Api) -> Router {
    Router::new().fallback(dispatch).with_state(api)
}

/// A kubeconfig for `server` (`http://127.0.0.1:6443`), one context named
/// `k8s-bridge` in namespace `default`.
pub fn kubeconfig(server: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: k8s-bridge\n  cluster:\n    server: {server}\n\
         contexts:\n- name: k8s-bridge\n  context:\n    cluster: k8s-bridge\n    user: k8s-bridge\n    namespace: default\n\
         current-context: k8s-bridge\nusers:\n- name: k8s-bridge\n  user: {{}}\n"
    )
}

fn json_response(code: StatusCode, value: &Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

async fn dispatch(
    State(api): State<Api>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&api, &method, &uri, &headers, body).await {
        Ok(response) => response,
        Err(e) => {
            tracing::debug!(
                method = %method,
                path = ?uri.path().chars().take(200).collect::<String>(),
                code = e.code,
                reason = e.reason,
                "refused"
            );
            e.into_response()
        }
    }
}

/// Where a request goes.
struct Target<'a> {
    resource: Resource,
    namespace: Option<&'a str>,
    name: Option<&'a str>,
    sub: Option<&'a str>,
}

fn target<'a>(group: &str, version: &str, rest: &[&'a str]) -> Result<Target<'a>, ApiError> {
    let find =
        |plural: &str| discovery::resource(group, version, plural).ok_or_else(ApiError::no_route);
    let namespaced = |r: Resource| {
        if r.kind.namespaced() {
            Ok(r)
        } else {
            Err(ApiError::no_route())
        }
    };
    let t = match rest {
        [plural] => Target {
            resource: find(plural)?,
            namespace: None,
            name: None,
            sub: None,
        },
        ["namespaces", ns, plural] if discovery::resource(group, version, plural).is_some() => {
            Target {
                resource: namespaced(find(plural)?)?,
                namespace: Some(ns),
                name: None,
                sub: None,
            }
        }
        ["namespaces", ns, plural, name] => Target {
            resource: namespaced(find(plural)?)?,
            namespace: Some(ns),
            name: Some(name),
            sub: None,
        },
        ["namespaces", ns, plural, name, sub] => Target {
            resource: namespaced(find(plural)?)?,
            namespace: Some(ns),
            name: Some(name),
            sub: Some(sub),
        },
        [plural, name] => {
            let r = find(plural)?;
            if r.kind.namespaced() {
                return Err(ApiError::no_route());
            }
            Target {
                resource: r,
                namespace: None,
                name: Some(name),
                sub: None,
            }
        }
        [plural, name, sub] => {
            let r = find(plural)?;
            if r.kind.namespaced() {
                return Err(ApiError::no_route());
            }
            Target {
                resource: r,
                namespace: None,
                name: Some(name),
                sub: Some(sub),
            }
        }
        _ => return Err(ApiError::no_route()),
    };
    Ok(t)
}

async fn handle(
    api: &Api,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let segments: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    let discovered = match segments.as_slice() {
        ["version"] => Some(discovery::version()),
        ["api"] => Some(discovery::core_versions()),
        ["apis"] => Some(discovery::groups()),
        ["api", "v1"] => discovery::resources("", "v1"),
        ["apis", group] => discovery::group(group),
        ["apis", group, version] => discovery::resources(group, version),
        ["openapi", "v3"] => Some(openapi::index()),
        ["openapi", "v3", rest @ ..] if !rest.is_empty() => openapi::document(&rest.join("/")),
        ["healthz" | "livez" | "readyz"] => {
            return Ok((StatusCode::OK, "ok").into_response());
        }
        _ => None,
    };
    if let Some(value) = discovered {
        if method != Method::GET {
            return Err(ApiError::method_not_allowed());
        }
        return Ok(json_response(StatusCode::OK, &value));
    }
    let t = match segments.as_slice() {
        ["api", "v1", rest @ ..] if !rest.is_empty() => target("", "v1", rest)?,
        ["apis", group, version, rest @ ..] if !rest.is_empty() => target(group, version, rest)?,
        _ => return Err(ApiError::no_route()),
    };
    let query: BTreeMap<String, String> = Query::try_from_uri(uri)
        .map(|Query(q)| q)
        .map_err(|e| ApiError::bad_request(format!("the query does not parse: {e}")))?;
    if query.contains_key("dryRun") {
        return Err(ApiError::bad_request(
            "dryRun is not supported by this bridge",
        ));
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let as_table = table::wanted(accept);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    if body.len() > MAX_BODY {
        return Err(ApiError::bad_request("the request body is too large"));
    }
    // Unknown fields are refused with Strict (what kubectl sends);
    // Kubernetes's default without the parameter is Warn, taken here as
    // Ignore: no Warning header is sent.
    let strict = match query.get("fieldValidation").map(String::as_str) {
        Some("Strict") => true,
        None | Some("Warn" | "Ignore") => false,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "fieldValidation {:?} is not Strict, Warn or Ignore",
                other.chars().take(20).collect::<String>()
            )))
        }
    };
    let r = t.resource;
    match (t.name, t.sub) {
        (None, _) => match *method {
            Method::GET => {
                let selector = Selector::parse(
                    query.get("labelSelector").map(String::as_str),
                    query.get("fieldSelector").map(String::as_str),
                )
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
                let watching = matches!(query.get("watch").map(String::as_str), Some("true" | "1"));
                if watching {
                    let from = match query.get("resourceVersion").map(String::as_str) {
                        None | Some("") | Some("0") => None,
                        Some(v) => Some(v.parse::<u64>().map_err(|_| {
                            ApiError::bad_request(format!(
                                "invalid resourceVersion {:?}",
                                v.chars().take(40).collect::<String>()
                            ))
                        })?),
                    };
                    let timeout = query
                        .get("timeoutSeconds")
                        .and_then(|s| s.parse::<u64>().ok())
                        .map_or(watch::DEFAULT_TIMEOUT, Duration::from_secs);
                    let scope = watch::Scope {
                        kind: r.kind,
                        namespace: t.namespace.map(str::to_owned),
                        selector,
                        as_table,
                    };
                    let initial =
                        query.get("sendInitialEvents").map(String::as_str) == Some("true");
                    let stream = watch::stream(api.catalog.clone(), scope, from, initial, timeout);
                    return Ok((
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, "application/json")],
                        Body::from_stream(stream),
                    )
                        .into_response());
                }
                Ok(list(&api.snapshot(), r, t.namespace, &selector, as_table))
            }
            Method::POST => create(api, r, t.namespace, &body, strict).await,
            _ => Err(ApiError::method_not_allowed()),
        },
        (Some(name), None) => {
            let key = (t.namespace.unwrap_or("").to_owned(), name.to_owned());
            match *method {
                Method::GET => {
                    let snap = api.snapshot();
                    let entry = snap
                        .get(r.kind, &key)
                        .ok_or_else(|| ApiError::not_found(&r.qualified(), name))?;
                    if as_table {
                        return Ok(json_response(
                            StatusCode::OK,
                            &table::table(r.kind, &[&entry.value], snap.rv),
                        ));
                    }
                    Ok(json_response(StatusCode::OK, &entry.value))
                }
                Method::PUT => replace(api, r, &key, &body, strict).await,
                Method::PATCH => patch_object(api, r, &key, &content_type, &body, strict).await,
                Method::DELETE => delete(api, r, &key, &query, &body).await,
                _ => Err(ApiError::method_not_allowed()),
            }
        }
        (Some(name), Some(sub)) => {
            let key = (t.namespace.unwrap_or("").to_owned(), name.to_owned());
            match (r.kind, sub) {
                (Kind::Pod, "log") if method == Method::GET => log(&api.snapshot(), &key, &query),
                (Kind::Deployment, "scale") => {
                    scale(api, r, &key, method, &content_type, &body).await
                }
                (_, "status") if method == Method::GET => {
                    let snap = api.snapshot();
                    let entry = snap
                        .get(r.kind, &key)
                        .ok_or_else(|| ApiError::not_found(&r.qualified(), name))?;
                    Ok(json_response(StatusCode::OK, &entry.value))
                }
                _ => Err(ApiError::no_route()),
            }
        }
    }
}

fn list(
    snap: &Snapshot,
    r: Resource,
    namespace: Option<&str>,
    selector: &Selector,
    as_table: bool,
) -> Response {
    let items: Vec<&Value> = snap
        .objects
        .iter()
        .filter(|((kind, (ns, _)), _)| *kind == r.kind && namespace.is_none_or(|want| ns == want))
        .map(|(_, e)| &e.value)
        .filter(|v| selector.matches(v))
        .collect();
    if as_table {
        return json_response(StatusCode::OK, &table::table(r.kind, &items, snap.rv));
    }
    json_response(
        StatusCode::OK,
        &json!({
            "kind": format!("{}List", r.kind.name()),
            "apiVersion": r.kind.api_version(),
            "metadata": { "resourceVersion": snap.rv.to_string() },
            "items": items,
        }),
    )
}

/// Drops what the server owns from a request's object: its status and
/// the metadata the API server sets.
fn clean(value: &mut Value) {
    if let Some(object) = value.as_object_mut() {
        object.remove("status");
    }
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in [
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
            "managedFields",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "ownerReferences",
            "selfLink",
        ] {
            meta.remove(field);
        }
    }
}

fn parse_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the request body is not JSON: {e}")))
}

/// The request's object, checked against where it was sent.
fn object_for(
    r: Resource,
    key_ns: Option<&str>,
    name: Option<&str>,
    mut value: Value,
    strict: bool,
) -> Result<manifest::Object, ApiError> {
    if value["kind"].as_str() != Some(r.kind.name())
        || value["apiVersion"].as_str() != Some(r.kind.api_version())
    {
        return Err(ApiError::bad_request(format!(
            "the object is not a {} {}",
            r.kind.api_version(),
            r.kind.name()
        )));
    }
    if let Some(ns) = key_ns {
        match value["metadata"]["namespace"].as_str() {
            None => value["metadata"]["namespace"] = json!(ns),
            Some(given) if given == ns => {}
            Some(_) => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ))
            }
        }
    }
    if let Some(name) = name {
        if value["metadata"]["name"].as_str() != Some(name) {
            return Err(ApiError::bad_request(
                "the name of the object does not match the name on the URL",
            ));
        }
    }
    clean(&mut value);
    let sent = value.clone();
    let object = manifest::from_value(value).map_err(|e| ApiError::invalid(chain(&e)))?;
    if strict {
        let unknown = strict::unknown_fields(&sent, &object.to_value());
        if !unknown.is_empty() {
            let fields: Vec<String> = unknown
                .iter()
                .take(10)
                .map(|f| {
                    format!(
                        "unknown field \"{}\"",
                        f.chars().take(200).collect::<String>()
                    )
                })
                .collect();
            return Err(ApiError::bad_request(format!(
                "{} in version \"{}\" cannot be handled as a {}: strict decoding error: {}",
                r.kind.name(),
                r.kind.api_version(),
                r.kind.name(),
                fields.join(", ")
            )));
        }
    }
    Ok(object)
}

fn answer(api: &Api, r: Resource, key: &(String, String), code: StatusCode) -> Response {
    let snap = api.snapshot();
    match snap.get(r.kind, key) {
        Some(entry) => json_response(code, &entry.value),
        None => json_response(
            StatusCode::OK,
            &json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                     "details": { "name": key.1, "kind": r.plural } }),
        ),
    }
}

async fn create(
    api: &Api,
    r: Resource,
    namespace: Option<&str>,
    body: &Bytes,
    strict: bool,
) -> Result<Response, ApiError> {
    let object = object_for(r, namespace, None, parse_body(body)?, strict)?;
    let key = object.key();
    api.call(Call::Create(object))
        .await
        .map_err(|e| e.into_api(&r, &key.1))?;
    Ok(answer(api, r, &key, StatusCode::CREATED))
}

async fn replace(
    api: &Api,
    r: Resource,
    key: &(String, String),
    body: &Bytes,
    strict: bool,
) -> Result<Response, ApiError> {
    let value = parse_body(body)?;
    let resource_version = match value["metadata"]["resourceVersion"].as_str() {
        None | Some("") => None,
        Some(v) => Some(
            v.parse::<u64>()
                .map_err(|_| ApiError::conflict(&r.qualified(), &key.1))?,
        ),
    };
    let ns = (!key.0.is_empty()).then_some(key.0.as_str());
    let object = object_for(r, ns, Some(&key.1), value, strict)?;
    api.call(Call::Replace {
        object,
        resource_version,
    })
    .await
    .map_err(|e| e.into_api(&r, &key.1))?;
    Ok(answer(api, r, key, StatusCode::OK))
}

fn apply_patch(current: &mut Value, content_type: &str, body: &Bytes) -> Result<(), ApiError> {
    let patch = parse_body(body)?;
    match content_type {
        "application/merge-patch+json" => {
            patch::merge(current, &patch);
            Ok(())
        }
        "application/strategic-merge-patch+json" => {
            patch::strategic(current, &patch).map_err(|e| ApiError::bad_request(e.to_string()))
        }
        other => Err(ApiError::unsupported_media_type(
            &other.chars().take(80).collect::<String>(),
        )),
    }
}

async fn patch_object(
    api: &Api,
    r: Resource,
    key: &(String, String),
    content_type: &str,
    body: &Bytes,
    strict: bool,
) -> Result<Response, ApiError> {
    let ns = (!key.0.is_empty()).then_some(key.0.as_str());
    // Made against the current version; retried if the bridge changed the
    // object in between (a status update).
    for _ in 0..5 {
        let snap = api.snapshot();
        let entry = snap
            .get(r.kind, key)
            .ok_or_else(|| ApiError::not_found(&r.qualified(), &key.1))?;
        let mut value = entry.value.clone();
        apply_patch(&mut value, content_type, body)?;
        let object = object_for(r, ns, Some(&key.1), value, strict)?;
        match api
            .call(Call::Replace {
                object,
                resource_version: Some(entry.rv),
            })
            .await
        {
            Ok(()) => return Ok(answer(api, r, key, StatusCode::OK)),
            Err(CallOutcome::Refused(CallError::Conflict)) => continue,
            Err(e) => return Err(e.into_api(&r, &key.1)),
        }
    }
    Err(ApiError::conflict(&r.qualified(), &key.1))
}

async fn delete(
    api: &Api,
    r: Resource,
    key: &(String, String),
    query: &BTreeMap<String, String>,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let options: Value = if body.is_empty() {
        Value::Null
    } else {
        parse_body(body)?
    };
    let grace = match (
        options["gracePeriodSeconds"].as_i64(),
        query.get("gracePeriodSeconds"),
    ) {
        (Some(s), _) => Some(s),
        (None, Some(q)) => Some(
            q.parse::<i64>()
                .map_err(|_| ApiError::bad_request("gracePeriodSeconds is not a number"))?,
        ),
        (None, None) => None,
    };
    let grace = match grace {
        Some(s) if s < 0 => {
            return Err(ApiError::invalid("gracePeriodSeconds must not be negative"))
        }
        Some(s) => Some(Duration::from_secs(s as u64)),
        None => None,
    };
    let before = api
        .snapshot()
        .get(r.kind, key)
        .map(|e| e.value.clone())
        .ok_or_else(|| ApiError::not_found(&r.qualified(), &key.1))?;
    api.call(Call::Delete {
        kind: r.kind,
        key: key.clone(),
        grace,
    })
    .await
    .map_err(|e| e.into_api(&r, &key.1))?;
    let snap = api.snapshot();
    let value = snap.get(r.kind, key).map_or(before, |e| e.value.clone());
    Ok(json_response(StatusCode::OK, &value))
}

fn scale_of(entry: &Value) -> Value {
    let meta = &entry["metadata"];
    let selector = entry["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": { "replicas": entry["spec"]["replicas"] },
        "status": { "replicas": entry["status"]["replicas"], "selector": selector },
    })
}

async fn scale(
    api: &Api,
    r: Resource,
    key: &(String, String),
    method: &Method,
    content_type: &str,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let current = api
        .snapshot()
        .get(r.kind, key)
        .map(|e| scale_of(&e.value))
        .ok_or_else(|| ApiError::not_found(&r.qualified(), &key.1))?;
    let wanted = match *method {
        Method::GET => return Ok(json_response(StatusCode::OK, &current)),
        Method::PUT => parse_body(body)?,
        Method::PATCH => {
            let mut value = current;
            apply_patch(&mut value, content_type, body)?;
            value
        }
        _ => return Err(ApiError::method_not_allowed()),
    };
    let replicas = wanted["spec"]["replicas"]
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "Scale.autoscaling \"{}\" is invalid: spec.replicas: Invalid value: must be greater than or equal to 0",
                key.1
            ))
        })?;
    api.call(Call::Scale {
        key: key.clone(),
        replicas,
    })
    .await
    .map_err(|e| e.into_api(&r, &key.1))?;
    let snap = api.snapshot();
    let value = snap
        .get(r.kind, key)
        .map(|e| scale_of(&e.value))
        .unwrap_or(Value::Null);
    Ok(json_response(StatusCode::OK, &value))
}

/// `GET .../pods/NAME/log`: the task's stdout from its sandbox (local
/// agents), `tailLines` and `limitBytes` honoured, at most [`MAX_LOG`].
/// Every container of a pod shares its one task's output (pods as task
/// groups are not built).
fn log(
    snap: &Snapshot,
    key: &(String, String),
    query: &BTreeMap<String, String>,
) -> Result<Response, ApiError> {
    let pod = snap
        .get(Kind::Pod, key)
        .ok_or_else(|| ApiError::not_found("pods", &key.1))?;
    let containers: Vec<&str> = pod.value["spec"]["containers"]
        .as_array()
        .map(|cs| cs.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    let container = match query.get("container") {
        Some(c) if !containers.contains(&c.as_str()) => {
            return Err(ApiError::bad_request(format!(
                "container {} is not valid for pod {}",
                c.chars().take(63).collect::<String>(),
                key.1
            )))
        }
        Some(c) => c.clone(),
        None => containers
            .first()
            .map_or_else(String::new, |c| (*c).to_owned()),
    };
    let Some(path) = snap.logs.get(key) else {
        let phase = pod.value["status"]["phase"].as_str().unwrap_or("");
        return Err(ApiError::bad_request(if phase == "Pending" {
            format!(
                "container \"{container}\" in pod \"{}\" is waiting to start: ContainerCreating",
                key.1
            )
        } else {
            format!("pod \"{}\" runs on a simulated agent: it has no log", key.1)
        }));
    };
    let limit = query
        .get("limitBytes")
        .and_then(|l| l.parse::<u64>().ok())
        .map_or(MAX_LOG, |l| l.min(MAX_LOG));
    let mut text = read_tail(path, limit)
        .map_err(|e| ApiError::bad_request(format!("reading the log of pod \"{}\": {e}", key.1)))?;
    if let Some(n) = query.get("tailLines").and_then(|n| n.parse::<usize>().ok()) {
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.len().saturating_sub(n);
        let mut tail = lines[start..].join("\n");
        if !tail.is_empty() {
            tail.push('\n');
        }
        text = tail;
    }
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], text).into_response())
}

/// The last `limit` bytes of a file, as text.
fn read_tail(path: &Path, limit: u64) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len > limit {
        file.seek(SeekFrom::Start(len - limit))?;
    }
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
