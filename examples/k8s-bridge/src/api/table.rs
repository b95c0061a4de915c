//! Server-side printing: kubectl asks for lists as `meta.k8s.io/v1`
//! `Table`s (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`) and
//! prints the columns the server gives, so `kubectl get pods` shows
//! READY, STATUS, RESTARTS, AGE (and with `-o wide` IP and NODE) as
//! against a real API server.

use std::time::{Duration, SystemTime};

use k8s_openapi::chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::manifest::Kind;

/// Whether the request's Accept header asks for a Table.
pub fn wanted(accept: &str) -> bool {
    accept
        .split(',')
        .any(|part| part.contains("as=Table") && part.contains("g=meta.k8s.io"))
}

fn column(name: &str, kind: &str, priority: u8) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({ "name": name, "type": kind, "format": format, "description": "", "priority": priority })
}

/// `5s`, `3m2s`, `4h`, `2d5h`, as kubectl shows ages.
pub fn age(since: Duration) -> String {
    let s = since.as_secs();
    match s {
        0..120 => format!("{s}s"),
        120..600 => format!("{}m{}s", s / 60, s % 60),
        600..10800 => format!("{}m", s / 60),
        10800..172800 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

fn age_of(object: &Value, now: SystemTime) -> String {
    object["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| {
            let then = u64::try_from(t.with_timezone(&Utc).timestamp()).unwrap_or(0);
            let now = now
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            age(Duration::from_secs(now.saturating_sub(then)))
        })
        .unwrap_or_else(|| "<unknown>".to_owned())
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<none>".to_owned(),
        other => other.to_string(),
    }
}

fn pod_row(pod: &Value, now: SystemTime) -> Vec<Value> {
    let statuses = pod["status"]["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let total = pod["spec"]["containers"].as_array().map_or(0, Vec::len);
    let ready = statuses
        .iter()
        .filter(|c| c["ready"] == json!(true))
        .count();
    let restarts: u64 = statuses
        .iter()
        .filter_map(|c| c["restartCount"].as_u64())
        .sum();
    let mut status = text(&pod["status"]["phase"]);
    for c in &statuses {
        if let Some(reason) = c["state"]["waiting"]["reason"].as_str() {
            status = reason.to_owned();
        }
        if let Some(reason) = c["state"]["terminated"]["reason"].as_str() {
            status = reason.to_owned();
        }
    }
    if pod["metadata"]["deletionTimestamp"].is_string() {
        status = "Terminating".to_owned();
    }
    vec![
        pod["metadata"]["name"].clone(),
        json!(format!("{ready}/{total}")),
        json!(status),
        json!(restarts),
        json!(age_of(pod, now)),
        json!(text(&pod["status"]["podIP"])),
        json!(text(&pod["spec"]["nodeName"])),
        json!("<none>"),
        json!("<none>"),
    ]
}

fn deployment_row(d: &Value, now: SystemTime) -> Vec<Value> {
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let containers = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<String> = containers.iter().map(|c| text(&c["name"])).collect();
    let images: Vec<String> = containers.iter().map(|c| text(&c["image"])).collect();
    let selector = d["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", text(v)))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    vec![
        d["metadata"]["name"].clone(),
        json!(format!(
            "{}/{}",
            n(&d["status"]["readyReplicas"]),
            n(&d["spec"]["replicas"])
        )),
        json!(n(&d["status"]["updatedReplicas"])),
        json!(n(&d["status"]["availableReplicas"])),
        json!(age_of(d, now)),
        json!(names.join(",")),
        json!(images.join(",")),
        json!(selector),
    ]
}

/// How one object becomes its row's cells.
type Row = fn(&Value, SystemTime) -> Vec<Value>;

/// The Table of `objects` (all of `kind`), at `rv`.
pub fn table(kind: Kind, objects: &[&Value], rv: u64) -> Value {
    let now = SystemTime::now();
    let (columns, row): (Vec<Value>, Row) = match kind {
        Kind::Pod => (
            vec![
                column("Name", "string", 0),
                column("Ready", "string", 0),
                column("Status", "string", 0),
                column("Restarts", "string", 0),
                column("Age", "string", 0),
                column("IP", "string", 1),
                column("Node", "string", 1),
                column("Nominated Node", "string", 1),
                column("Readiness Gates", "string", 1),
            ],
            pod_row,
        ),
        Kind::Deployment => (
            vec![
                column("Name", "string", 0),
                column("Ready", "string", 0),
                column("Up-to-date", "integer", 0),
                column("Available", "integer", 0),
                column("Age", "string", 0),
                column("Containers", "string", 1),
                column("Images", "string", 1),
                column("Selector", "string", 1),
            ],
            deployment_row,
        ),
        Kind::Namespace => (
            vec![
                column("Name", "string", 0),
                column("Status", "string", 0),
                column("Age", "string", 0),
            ],
            |ns, now| {
                vec![
                    ns["metadata"]["name"].clone(),
                    ns["status"]["phase"].clone(),
                    json!(age_of(ns, now)),
                ]
            },
        ),
        Kind::PriorityClass => (
            vec![
                column("Name", "string", 0),
                column("Value", "integer", 0),
                column("Global-Default", "boolean", 0),
                column("Age", "string", 0),
            ],
            |pc, now| {
                vec![
                    pc["metadata"]["name"].clone(),
                    pc["value"].clone(),
                    json!(pc["globalDefault"].as_bool().unwrap_or(false)),
                    json!(age_of(pc, now)),
                ]
            },
        ),
        Kind::ResourceQuota => (
            vec![
                column("Name", "string", 0),
                column("Age", "string", 0),
                column("Request", "string", 0),
            ],
            |q, now| {
                let hard = q["status"]["hard"].as_object().cloned().unwrap_or_default();
                let used = &q["status"]["used"];
                let request: Vec<String> = hard
                    .iter()
                    .map(|(k, v)| format!("{k}: {}/{}", text(&used[k]), text(v)))
                    .collect();
                vec![
                    q["metadata"]["name"].clone(),
                    json!(age_of(q, now)),
                    json!(request.join(", ")),
                ]
            },
        ),
    };
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| json!({ "cells": row(o, now), "object": o }))
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": { "resourceVersion": rv.to_string() },
        "columnDefinitions": columns,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_kubectl_prints_them() {
        let s = Duration::from_secs;
        assert_eq!(age(s(5)), "5s");
        assert_eq!(age(s(185)), "3m5s");
        assert_eq!(age(s(1200)), "20m");
        assert_eq!(age(s(4 * 3600)), "4h");
        assert_eq!(age(s(3 * 86400)), "3d");
    }
}
