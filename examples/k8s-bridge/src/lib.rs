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
//! - [`demo`]: what `cargo run -p k8s-bridge` does.
//!
//! See the README for what is not built yet.

pub mod bridge;
pub mod demo;
pub mod manifest;
pub mod model;
pub mod quantity;
pub mod store;

pub use bridge::{Bridge, BridgeConfig, Input};
pub use manifest::{parse, ManifestError, Object};
pub use store::{Phase, Store};
