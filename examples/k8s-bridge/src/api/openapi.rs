//! OpenAPI v3, as much as kubectl reads of it: the index (`/openapi/v3`)
//! and, for each group-version, a document whose paths name each kind's
//! PATCH operation (`x-kubernetes-group-version-kind`) with its query
//! parameters. kubectl looks there for `fieldValidation`: finding it, it
//! leaves validation to the server (which this API does, see
//! [`super::strict`]) instead of downloading the whole schema to validate
//! on its side. The documents carry no schemas, so for strategic merge
//! patches kubectl uses the types compiled into it (the same field
//! metadata). `/openapi/v2` is not served (404).

use serde_json::{json, Map, Value};

use super::discovery::RESOURCES;

/// The group-versions served, as OpenAPI v3 paths (`api/v1`).
fn group_versions() -> Vec<(&'static str, &'static str, String)> {
    let mut out: Vec<(&'static str, &'static str, String)> = Vec::new();
    for r in RESOURCES {
        let path = if r.group.is_empty() {
            format!("api/{}", r.version)
        } else {
            format!("apis/{}/{}", r.group, r.version)
        };
        if !out.iter().any(|(_, _, p)| *p == path) {
            out.push((r.group, r.version, path));
        }
    }
    out
}

/// `/openapi/v3`.
pub fn index() -> Value {
    let mut paths = Map::new();
    for (_, _, path) in group_versions() {
        let url = format!("/openapi/v3/{path}?hash={}", env!("CARGO_PKG_VERSION"));
        paths.insert(path, json!({ "serverRelativeURL": url }));
    }
    json!({ "paths": paths })
}

fn query(name: &str) -> Value {
    json!({ "name": name, "in": "query", "schema": { "type": "string", "uniqueItems": true } })
}

/// `/openapi/v3/api/v1` or `/openapi/v3/apis/GROUP/VERSION`.
pub fn document(path: &str) -> Option<Value> {
    let (group, version, _) = group_versions().into_iter().find(|(_, _, p)| p == path)?;
    let mut paths = Map::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let object = if r.kind.namespaced() {
            format!("/{path}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
        } else {
            format!("/{path}/{}/{{name}}", r.plural)
        };
        let patch = json!({
            "description": format!("partially update the specified {}", r.kind.name()),
            "operationId": format!("patch{}", r.kind.name()),
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": { "group": group, "version": version, "kind": r.kind.name() },
            "parameters": [query("dryRun"), query("fieldManager"), query("fieldValidation"), query("force")],
            "requestBody": { "content": {
                "application/merge-patch+json": { "schema": { "type": "object" } },
            }, "required": true },
            "responses": { "200": { "description": "OK" } },
        });
        paths.insert(object, json!({ "patch": patch }));
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes (k8s-bridge)", "version": "v1.34.0" },
        "paths": paths,
        "components": { "schemas": {} },
    }))
}
