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
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
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

/// The kinds the bridge serves, one per [`Object`] variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `v1` Namespace.
    Namespace,
    /// `v1` Pod.
    Pod,
    /// `apps/v1` Deployment.
    Deployment,
    /// `v1` ResourceQuota.
    ResourceQuota,
    /// `scheduling.k8s.io/v1` PriorityClass.
    PriorityClass,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 5] = [
        Kind::Namespace,
        Kind::Pod,
        Kind::Deployment,
        Kind::ResourceQuota,
        Kind::PriorityClass,
    ];

    /// The kind's name (`Pod`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Namespace => "Namespace",
            Kind::Pod => "Pod",
            Kind::Deployment => "Deployment",
            Kind::ResourceQuota => "ResourceQuota",
            Kind::PriorityClass => "PriorityClass",
        }
    }

    /// The `apiVersion` it is served at.
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::Deployment => "apps/v1",
            Kind::PriorityClass => "scheduling.k8s.io/v1",
            _ => "v1",
        }
    }

    /// Whether its objects live in a namespace.
    pub fn namespaced(self) -> bool {
        matches!(self, Kind::Pod | Kind::Deployment | Kind::ResourceQuota)
    }
}

impl Object {
    /// `Kind/name`, as kubectl names objects.
    pub fn describe(&self) -> String {
        format!(
            "{}/{}",
            self.kind().name(),
            self.meta().name.as_deref().unwrap_or("")
        )
    }

    /// Its kind.
    pub fn kind(&self) -> Kind {
        match self {
            Object::Namespace(_) => Kind::Namespace,
            Object::Pod(_) => Kind::Pod,
            Object::Deployment(_) => Kind::Deployment,
            Object::ResourceQuota(_) => Kind::ResourceQuota,
            Object::PriorityClass(_) => Kind::PriorityClass,
        }
    }

    /// Its metadata.
    pub fn meta(&self) -> &ObjectMeta {
        match self {
            Object::Namespace(o) => &o.metadata,
            Object::Pod(o) => &o.metadata,
            Object::Deployment(o) => &o.metadata,
            Object::ResourceQuota(o) => &o.metadata,
            Object::PriorityClass(o) => &o.metadata,
        }
    }

    /// Its metadata, to change.
    pub fn meta_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Object::Namespace(o) => &mut o.metadata,
            Object::Pod(o) => &mut o.metadata,
            Object::Deployment(o) => &mut o.metadata,
            Object::ResourceQuota(o) => &mut o.metadata,
            Object::PriorityClass(o) => &mut o.metadata,
        }
    }

    /// Its key: `(namespace, name)`, the namespace `default` if a
    /// namespaced object names none, empty for cluster-scoped kinds.
    pub fn key(&self) -> (String, String) {
        let meta = self.meta();
        let ns = if self.kind().namespaced() {
            meta.namespace
                .clone()
                .unwrap_or_else(|| "default".to_owned())
        } else {
            String::new()
        };
        (ns, meta.name.clone().unwrap_or_default())
    }

    /// As JSON, the way the API serves it (with `apiVersion` and `kind`).
    pub fn to_value(&self) -> Value {
        let value = match self {
            Object::Namespace(o) => serde_json::to_value(o),
            Object::Pod(o) => serde_json::to_value(o),
            Object::Deployment(o) => serde_json::to_value(o),
            Object::ResourceQuota(o) => serde_json::to_value(o),
            Object::PriorityClass(o) => serde_json::to_value(o),
        };
        // The k8s-openapi types serialize infallibly into a Value.
        value.unwrap_or(Value::Null)
    }
}

/// One JSON object (a request body) into its typed object; `document` is
/// 1. The same checks as [`parse`].
pub fn from_value(value: Value) -> Result<Object, ManifestError> {
    one(1, value)
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
