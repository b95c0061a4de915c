//! # k8s-bridge
//!
//! A reference framework: Kubernetes workloads (Pods, Deployments,
//! Namespaces, ResourceQuotas, PriorityClasses) run by one long-running,
//! multi-role framework on an offer-based master. Read it in this order:
//!
//! - [`manifest`]: YAML / JSON manifests into the Kubernetes API's own
//!   types, with typed refusals;
//! - [`quantity`]: `500m`, `128Mi` into the master's units;
//! - [`model`]: the mapping (namespace → role, pod → task);
//! - [`store`]: the objects, pod phases and the Deployment controller,
//!   plain data tested without a master;
//! - [`bridge`]: the [`Scheduler`](corral::Scheduler) that places pods on
//!   offers, adds roles as namespaces appear, handles revocation, and
//!   takes Kubernetes-side requests as inputs;
//! - [`catalog`] and [`render`]: the objects as the Kubernetes API shows
//!   them, with resourceVersions and change events;
//! - [`api`]: the Kubernetes HTTP API in front (kubectl works against it);
//! - [`demo`]: what `cargo run -p k8s-bridge` does.
//!
//! See the README for what is not built yet.

pub mod api;
pub mod bridge;
pub mod catalog;
pub mod demo;
pub mod manifest;
pub mod model;
pub mod quantity;
pub mod render;
pub mod store;

pub use bridge::{Bridge, BridgeConfig, Call, CallError, Input};
pub use manifest::{parse, Kind, ManifestError, Object};
pub use store::{Phase, Store};
