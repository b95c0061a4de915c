//! Manifests: the objects a user applies, parsed into the Kubernetes API's
//! own types (`k8s-openapi`), from YAML or JSON, one document or many.
//!
//! Each document is read first as a generic value, to find its
//! `apiVersion` and `kind`, then converted into the matching typed object
//! (whose deserializer checks both again). A JSON `List` (what
//! `kubectl get -o json` prints) is unpacked into its items. Every refusal
//! is a [`ManifestError`] naming the document (counted from 1) and why;
//! nothing here panics on bad input.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod, ResourceQuota};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use serde_json::Value;

/// One object the bridge understands.
#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    /// `v1` Namespace: becomes a role.
    Namespace(Namespace),
    /// `v1` Pod: becomes a task.
    Pod(Pod),
    /// `apps/v1` Deployment: keeps its replicas of a pod template.
    Deployment(Deployment),
    /// `v1` ResourceQuota: a namespace's quota.
    ResourceQuota(ResourceQuota),
    /// `scheduling.k8s.io/v1` PriorityClass: a named priority value.
    PriorityClass(PriorityClass),
}

impl Object {
    /// `Kind/name`, as kubectl names objects.
    pub fn describe(&self) -> String {
        let (kind, meta) = match self {
            Object::Namespace(o) => ("Namespace", &o.metadata),
            Object::Pod(o) => ("Pod", &o.metadata),
            Object::Deployment(o) => ("Deployment", &o.metadata),
            Object::ResourceQuota(o) => ("ResourceQuota", &o.metadata),
            Object::PriorityClass(o) => ("PriorityClass", &o.metadata),
        };
        format!("{kind}/{}", meta.name.as_deref().unwrap_or(""))
    }
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The YAML does not parse.
    #[error("the YAML does not parse")]
    Yaml(#[source] serde_saphyr::Error),
    /// The JSON does not parse.
    #[error("the JSON does not parse")]
    Json(#[source] serde_json::Error),
    /// A document is not an object with `apiVersion` and `kind`.
    #[error("document {document}: no apiVersion and kind")]
    NoKind {
        /// The document, counted from 1.
        document: usize,
    },
    /// A kind the bridge does not serve.
    #[error("document {document}: {api_version} {kind} is not served by this bridge")]
    Unsupported {
        /// The document, counted from 1.
        document: usize,
        /// Its `apiVersion`.
        api_version: String,
        /// Its `kind`.
        kind: String,
    },
    /// The object does not match its kind's schema.
    #[error("document {document}: not a valid {kind}")]
    Invalid {
        /// The document, counted from 1.
        document: usize,
        /// Its `kind`.
        kind: String,
        /// What the typed deserializer said.
        #[source]
        source: serde_json::Error,
    },
    /// The object has no `metadata.name`.
    #[error("document {document}: {kind} has no metadata.name")]
    NoName {
        /// The document, counted from 1.
        document: usize,
        /// Its `kind`.
        kind: String,
    },
}

/// Parses every object in `text`: JSON if it starts with `{` (one object,
/// or a `List`), YAML otherwise (one or many `---`-separated documents;
/// empty documents are skipped).
pub fn parse(text: &str) -> Result<Vec<Object>, ManifestError> {
    let documents: Vec<Value> = if text.trim_start().starts_with('{') {
        vec![serde_json::from_str(text).map_err(ManifestError::Json)?]
    } else {
        serde_saphyr::from_multiple(text).map_err(ManifestError::Yaml)?
    };
    let mut objects = Vec::new();
    for (index, document) in documents.into_iter().enumerate() {
        let document_no = index + 1;
        if document.is_null() {
            continue;
        }
        if document.get("kind").and_then(Value::as_str) == Some("List") {
            let items = match document.get("items") {
                Some(Value::Array(items)) => items.clone(),
                _ => Vec::new(),
            };
            for item in items {
                objects.push(one(document_no, item)?);
            }
        } else {
            objects.push(one(document_no, document)?);
        }
    }
    Ok(objects)
}

/// One document into its typed object.
fn one(document: usize, value: Value) -> Result<Object, ManifestError> {
    let field = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
    let (Some(api_version), Some(kind)) = (field("apiVersion"), field("kind")) else {
        return Err(ManifestError::NoKind { document });
    };
    let invalid = |source| ManifestError::Invalid {
        document,
        kind: kind.clone(),
        source,
    };
    let object = match (api_version.as_str(), kind.as_str()) {
        ("v1", "Namespace") => Object::Namespace(serde_json::from_value(value).map_err(invalid)?),
        ("v1", "Pod") => Object::Pod(serde_json::from_value(value).map_err(invalid)?),
        ("v1", "ResourceQuota") => {
            Object::ResourceQuota(serde_json::from_value(value).map_err(invalid)?)
        }
        ("apps/v1", "Deployment") => {
            Object::Deployment(serde_json::from_value(value).map_err(invalid)?)
        }
        ("scheduling.k8s.io/v1", "PriorityClass") => {
            Object::PriorityClass(serde_json::from_value(value).map_err(invalid)?)
        }
        _ => {
            return Err(ManifestError::Unsupported {
                document,
                api_version,
                kind,
            })
        }
    };
    let named = match &object {
        Object::Namespace(o) => o.metadata.name.is_some(),
        Object::Pod(o) => o.metadata.name.is_some(),
        Object::Deployment(o) => o.metadata.name.is_some(),
        Object::ResourceQuota(o) => o.metadata.name.is_some(),
        Object::PriorityClass(o) => o.metadata.name.is_some(),
    };
    if !named {
        return Err(ManifestError::NoName { document, kind });
    }
    Ok(object)
}
