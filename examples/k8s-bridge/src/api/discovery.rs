//! Discovery: `/version`, `/api`, `/apis`, `/api/v1`, `/apis/GROUP/VERSION`,
//! in the legacy (unaggregated) shape. kubectl asks for aggregated
//! discovery (`application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`)
//! first and accepts plain `application/json` in its place, which is what
//! is answered, with that content type. OpenAPI (`/openapi/v2`,
//! `/openapi/v3`) is not served: kubectl then falls back to its compiled-in
//! types for strategic merge patches and to server-side field validation
//! (see the README for what that means for `kubectl apply`).

use serde_json::{json, Value};

use crate::manifest::Kind;

/// One resource the API serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resource {
    /// Its API group (`""` for core).
    pub group: &'static str,
    /// Its version.
    pub version: &'static str,
    /// Its plural (`pods`).
    pub plural: &'static str,
    /// Its singular (`pod`).
    pub singular: &'static str,
    /// Its short names (`po`).
    pub short: &'static [&'static str],
    /// Its kind.
    pub kind: Kind,
}

impl Resource {
    /// As named in messages: `pods`, `deployments.apps`.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_owned()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

/// Every resource served.
pub const RESOURCES: [Resource; 5] = [
    Resource {
        group: "",
        version: "v1",
        plural: "namespaces",
        singular: "namespace",
        short: &["ns"],
        kind: Kind::Namespace,
    },
    Resource {
        group: "",
        version: "v1",
        plural: "pods",
        singular: "pod",
        short: &["po"],
        kind: Kind::Pod,
    },
    Resource {
        group: "",
        version: "v1",
        plural: "resourcequotas",
        singular: "resourcequota",
        short: &["quota"],
        kind: Kind::ResourceQuota,
    },
    Resource {
        group: "apps",
        version: "v1",
        plural: "deployments",
        singular: "deployment",
        short: &["deploy"],
        kind: Kind::Deployment,
    },
    Resource {
        group: "scheduling.k8s.io",
        version: "v1",
        plural: "priorityclasses",
        singular: "priorityclass",
        short: &["pc"],
        kind: Kind::PriorityClass,
    },
];

/// The resource at `group`/`version`/`plural`.
pub fn resource(group: &str, version: &str, plural: &str) -> Option<Resource> {
    RESOURCES
        .into_iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The resource of a kind.
pub fn of_kind(kind: Kind) -> Resource {
    RESOURCES
        .into_iter()
        .find(|r| r.kind == kind)
        .unwrap_or(RESOURCES[1])
}

/// `/version`.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "34",
        "gitVersion": concat!("v1.34.0-k8s-bridge.", env!("CARGO_PKG_VERSION")),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "none (Rust)",
        "compiler": "rustc",
        "platform": "linux/amd64",
    })
}

/// `/api`.
pub fn core_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1" }],
    })
}

/// `/apis`.
pub fn groups() -> Value {
    let groups: Vec<Value> = ["apps", "scheduling.k8s.io"]
        .iter()
        .map(|g| {
            let gv = format!("{g}/v1");
            json!({
                "name": g,
                "versions": [{ "groupVersion": gv, "version": "v1" }],
                "preferredVersion": { "groupVersion": gv, "version": "v1" },
            })
        })
        .collect();
    json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups })
}

/// `/apis/GROUP` (the group alone).
pub fn group(name: &str) -> Option<Value> {
    if !RESOURCES
        .iter()
        .any(|r| r.group == name && !name.is_empty())
    {
        return None;
    }
    let gv = format!("{name}/v1");
    Some(json!({
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": name,
        "versions": [{ "groupVersion": gv, "version": "v1" }],
        "preferredVersion": { "groupVersion": gv, "version": "v1" },
    }))
}

/// `/api/v1` or `/apis/GROUP/VERSION`.
pub fn resources(group: &str, version: &str) -> Option<Value> {
    let mine: Vec<&Resource> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if mine.is_empty() {
        return None;
    }
    let verbs = json!(["create", "delete", "get", "list", "patch", "update", "watch"]);
    let mut list = Vec::new();
    for r in mine {
        list.push(json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.kind.namespaced(),
            "kind": r.kind.name(),
            "verbs": verbs,
            "shortNames": r.short,
        }));
        if r.kind == Kind::Pod {
            list.push(json!({
                "name": "pods/log", "singularName": "", "namespaced": true,
                "kind": "Pod", "verbs": ["get"],
            }));
        }
        if r.kind == Kind::Deployment {
            list.push(json!({
                "name": "deployments/scale", "singularName": "", "namespaced": true,
                "group": "autoscaling", "version": "v1", "kind": "Scale",
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    let gv = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": list,
    }))
}
