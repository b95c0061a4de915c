//! The bridge's objects and the controllers that act on them, kept apart
//! from the master: what is applied (namespaces, priority classes, quotas,
//! deployments, pods), each pod's phase, and the Deployment controller that
//! keeps each Deployment's replicas.
//!
//! Everything here is plain data and synchronous decisions, unit-tested
//! without a master; [`crate::bridge`] turns the decisions into calls.
//!
//! **Scaling down picks as Kubernetes does:** pods not yet placed
//! (Pending) go first, then the newest. **Deleting** a placed pod makes it
//! Terminating and asks for a kill with its grace period; it is forgotten
//! when its task has ended, and its Deployment (if any) then creates a
//! replacement.

use std::collections::BTreeMap;
use std::time::Duration;

use corral::{AgentId, Resources, Role, TaskId};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{PodSpec, ResourceQuota};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::manifest::Object;
use crate::model::{self, ModelError, PodPlan};
use crate::quantity::{self, QuantityError};

/// A namespaced object's key: `(namespace, name)`.
pub type Key = (String, String);

/// A new pod's Pending reason, before any offer was tried.
pub const WAITING: &str = "waiting for offers";

/// Where a pod is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Not placed; the reason is the last placement attempt's, as the
    /// Kubernetes scheduler reports it.
    Pending(String),
    /// Launched, not yet running.
    Starting,
    /// Its task runs.
    Running,
    /// Being killed (deleted, scaled down or revoked).
    Terminating,
    /// Its task finished.
    Succeeded,
    /// Its task failed or was lost.
    Failed(String),
}

/// One pod.
#[derive(Clone, Debug, PartialEq)]
pub struct PodEntry {
    /// What it asks for.
    pub plan: PodPlan,
    /// Its phase.
    pub phase: Phase,
    /// The Deployment that owns it.
    pub owner: Option<String>,
    /// Creation order (the newest has the highest).
    pub created: u64,
    /// Its task, once launched.
    pub task: Option<TaskId>,
    /// Its agent, once launched.
    pub agent: Option<AgentId>,
    /// Whether it runs on revocable (lent) resources.
    pub revocable: bool,
}

impl PodEntry {
    /// Counts toward its Deployment's replicas: not Terminating, not ended.
    pub fn is_live(&self) -> bool {
        matches!(
            self.phase,
            Phase::Pending(_) | Phase::Starting | Phase::Running
        )
    }
}

/// One Deployment.
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentEntry {
    /// Desired replicas.
    pub replicas: u32,
    /// The pod template's metadata.
    pub template_meta: ObjectMeta,
    /// The pod template's spec.
    pub template_spec: PodSpec,
    /// The plan every replica follows.
    pub plan: PodPlan,
    /// The next pod's suffix.
    next: u64,
}

/// A kill the bridge must send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kill {
    /// The task.
    pub task: TaskId,
    /// Its grace period.
    pub grace: Duration,
}

/// Why an object was refused.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The object's namespace has not been created.
    #[error("namespaces \"{0}\" not found")]
    NoNamespace(String),
    /// The namespace is being deleted.
    #[error("unable to create new content in namespace {0} because it is being terminated")]
    NamespaceTerminating(String),
    /// The object does not map (bad namespace name, bad pod spec).
    #[error("{what}")]
    Model {
        /// `Kind/name`.
        what: String,
        /// Why.
        #[source]
        source: ModelError,
    },
    /// A ResourceQuota's `hard` value does not parse.
    #[error("ResourceQuota/{name}: {key}")]
    Quota {
        /// The quota.
        name: String,
        /// `requests.cpu`...
        key: String,
        /// Why.
        #[source]
        source: QuantityError,
    },
    /// A pod or Deployment without a spec.
    #[error("{0} has no spec")]
    NoSpec(String),
    /// The pod would take its namespace over its ResourceQuota; the
    /// message is Kubernetes's.
    #[error("{0}")]
    QuotaExceeded(String),
    /// A Deployment with negative replicas.
    #[error("Deployment/{0}: replicas must not be negative")]
    NegativeReplicas(String),
}

/// Every object the bridge holds.
#[derive(Clone, Debug, Default)]
pub struct Store {
    /// Namespaces and their roles.
    pub namespaces: BTreeMap<String, Role>,
    /// Quotas (`requests.cpu`, `requests.memory`) by namespace.
    pub quotas: BTreeMap<String, Resources>,
    /// Each quota's name, by namespace (for admission messages).
    pub quota_names: BTreeMap<String, String>,
    /// Namespaces being deleted: kept (with their roles) until their last
    /// pod has ended.
    pub terminating: std::collections::BTreeSet<String>,
    /// Why a Deployment could not create its latest missing replica
    /// (quota admission), as its ReplicaFailure condition says.
    pub failed_create: BTreeMap<Key, String>,
    /// PriorityClass values by name.
    pub priority_classes: BTreeMap<String, i32>,
    /// Deployments.
    pub deployments: BTreeMap<Key, DeploymentEntry>,
    /// Pods.
    pub pods: BTreeMap<Key, PodEntry>,
    created: u64,
}

fn namespace_of(meta: &ObjectMeta) -> String {
    meta.namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned())
}

impl Store {
    /// The roles of every namespace.
    pub fn roles(&self) -> Vec<Role> {
        self.namespaces.values().cloned().collect()
    }

    /// Applies one object (create, or replace what can be replaced).
    pub fn apply(&mut self, object: Object) -> Result<(), ApplyError> {
        let what = object.describe();
        match object {
            Object::Namespace(ns) => {
                let name = ns.metadata.name.unwrap_or_default();
                if self.terminating.contains(&name) {
                    return Err(ApplyError::NamespaceTerminating(name));
                }
                let role =
                    model::role_for(&name).map_err(|source| ApplyError::Model { what, source })?;
                self.namespaces.insert(name, role);
            }
            Object::PriorityClass(pc) => {
                let name = pc.metadata.name.unwrap_or_default();
                self.priority_classes.insert(name, pc.value);
            }
            Object::ResourceQuota(q) => self.apply_quota(q)?,
            Object::Pod(pod) => {
                let ns = self.existing(namespace_of(&pod.metadata))?;
                let spec = pod.spec.ok_or_else(|| ApplyError::NoSpec(what.clone()))?;
                let plan = model::plan(&pod.metadata, &spec)
                    .map_err(|source| ApplyError::Model { what, source })?;
                let name = pod.metadata.name.unwrap_or_default();
                self.admit(&ns, &name, &plan)?;
                self.add_pod((ns, name), plan, None);
            }
            Object::Deployment(d) => self.apply_deployment(d, what)?,
        }
        Ok(())
    }

    fn existing(&self, ns: String) -> Result<String, ApplyError> {
        if self.terminating.contains(&ns) {
            Err(ApplyError::NamespaceTerminating(ns))
        } else if self.namespaces.contains_key(&ns) {
            Ok(ns)
        } else {
            Err(ApplyError::NoNamespace(ns))
        }
    }

    fn apply_quota(&mut self, q: ResourceQuota) -> Result<(), ApplyError> {
        let ns = self.existing(namespace_of(&q.metadata))?;
        let name = q.metadata.name.unwrap_or_default();
        let mut quota = Resources::new();
        let hard = q.spec.and_then(|s| s.hard).unwrap_or_default();
        for (key, value) in &hard {
            let err = |source| ApplyError::Quota {
                name: name.clone(),
                key: key.clone(),
                source,
            };
            match key.as_str() {
                "requests.cpu" | "cpu" => {
                    quota = quota.with_cpus(quantity::cpus(value).map_err(err)?)
                }
                "requests.memory" | "memory" => {
                    quota = quota.with_mem(quantity::mem_mb(value).map_err(err)?)
                }
                _ => {}
            }
        }
        self.quota_names.insert(ns.clone(), name);
        self.quotas.insert(ns, quota);
        Ok(())
    }

    fn apply_deployment(&mut self, d: Deployment, what: String) -> Result<(), ApplyError> {
        let ns = self.existing(namespace_of(&d.metadata))?;
        let name = d.metadata.name.clone().unwrap_or_default();
        let spec = d.spec.ok_or_else(|| ApplyError::NoSpec(what.clone()))?;
        let replicas = spec.replicas.unwrap_or(1);
        let replicas =
            u32::try_from(replicas).map_err(|_| ApplyError::NegativeReplicas(name.clone()))?;
        let template_meta = spec.template.metadata.unwrap_or_default();
        let template_spec = spec
            .template
            .spec
            .ok_or_else(|| ApplyError::NoSpec(what.clone()))?;
        let plan = model::plan(&template_meta, &template_spec)
            .map_err(|source| ApplyError::Model { what, source })?;
        let key = (ns, name);
        let next = self.deployments.get(&key).map_or(1, |d| d.next);
        self.deployments.insert(
            key,
            DeploymentEntry {
                replicas,
                template_meta,
                template_spec,
                plan,
                next,
            },
        );
        Ok(())
    }

    fn add_pod(&mut self, key: Key, plan: PodPlan, owner: Option<String>) {
        self.created += 1;
        self.pods.insert(
            key,
            PodEntry {
                plan,
                phase: Phase::Pending(WAITING.to_owned()),
                owner,
                created: self.created,
                task: None,
                agent: None,
                revocable: false,
            },
        );
    }

    /// Sets a Deployment's replicas (`kubectl scale`). False if there is
    /// no such Deployment.
    pub fn scale(&mut self, key: &Key, replicas: u32) -> bool {
        match self.deployments.get_mut(key) {
            Some(d) => {
                d.replicas = replicas;
                true
            }
            None => false,
        }
    }

    /// Deletes a pod: a pod not launched is forgotten at once; a launched
    /// one becomes Terminating and its kill is returned. `None` also for
    /// a pod already Terminating or ended (nothing to kill).
    pub fn delete_pod(&mut self, key: &Key) -> Option<Kill> {
        let pod = self.pods.get_mut(key)?;
        match (&pod.phase, &pod.task) {
            (Phase::Starting | Phase::Running, Some(task)) => {
                pod.phase = Phase::Terminating;
                Some(Kill {
                    task: task.clone(),
                    grace: pod.plan.grace,
                })
            }
            (Phase::Terminating, _) => None,
            _ => {
                self.pods.remove(key);
                None
            }
        }
    }

    /// The Deployment controller: creates missing replicas and picks the
    /// surplus to delete (Pending first, then newest). Returns the kills.
    pub fn reconcile_deployments(&mut self) -> Vec<Kill> {
        let mut kills = Vec::new();
        let keys: Vec<Key> = self.deployments.keys().cloned().collect();
        for (ns, name) in keys {
            let mut live: Vec<(Key, bool, u64)> = self
                .pods
                .iter()
                .filter(|((pns, _), p)| {
                    pns == &ns && p.owner.as_deref() == Some(&name) && p.is_live()
                })
                .map(|(k, p)| (k.clone(), matches!(p.phase, Phase::Pending(_)), p.created))
                .collect();
            let want = self.deployments[&(ns.clone(), name.clone())].replicas as usize;
            let count = live.len();
            if count > want {
                // Pending first, then newest.
                live.sort_by_key(|(_, pending, created)| {
                    (std::cmp::Reverse(*pending), std::cmp::Reverse(*created))
                });
                for (key, _, _) in live.into_iter().take(count - want) {
                    kills.extend(self.delete_pod(&key));
                }
            }
            for _ in count..want {
                let Some(deployment) = self.deployments.get(&(ns.clone(), name.clone())) else {
                    break;
                };
                let pod = format!("{name}-{}", deployment.next);
                let plan = deployment.plan.clone();
                let key = (ns.clone(), name.clone());
                if let Err(e) = self.admit(&ns, &pod, &plan) {
                    // As a ReplicaSet's FailedCreate: retried at the next
                    // reconciliation (when a pod of the namespace ends).
                    self.failed_create.insert(key, e.to_string());
                    break;
                }
                self.failed_create.remove(&key);
                if let Some(deployment) = self.deployments.get_mut(&key) {
                    deployment.next += 1;
                }
                self.add_pod((ns.clone(), pod), plan, Some(name.clone()));
            }
        }
        kills
    }

    /// Deletes a namespace as Kubernetes does: its Deployments and quota go
    /// at once, its pods are deleted (the launched ones killed, returned),
    /// and the namespace (with its role) stays, Terminating, until its
    /// last pod has ended ([`Store::finish_namespaces`]). False if there is
    /// no such namespace.
    pub fn delete_namespace(&mut self, ns: &str) -> Option<Vec<Kill>> {
        if !self.namespaces.contains_key(ns) {
            return None;
        }
        self.terminating.insert(ns.to_owned());
        self.deployments.retain(|(dns, _), _| dns != ns);
        self.failed_create.retain(|(dns, _), _| dns != ns);
        self.quotas.remove(ns);
        self.quota_names.remove(ns);
        let keys: Vec<Key> = self
            .pods
            .keys()
            .filter(|(pns, _)| pns == ns)
            .cloned()
            .collect();
        Some(keys.iter().filter_map(|k| self.delete_pod(k)).collect())
    }

    /// Forgets the terminating namespaces that have no pod left.
    pub fn finish_namespaces(&mut self) {
        let done: Vec<String> = self
            .terminating
            .iter()
            .filter(|ns| !self.pods.keys().any(|(pns, _)| pns == *ns))
            .cloned()
            .collect();
        for ns in done {
            self.terminating.remove(&ns);
            self.namespaces.remove(&ns);
        }
    }

    /// Quota admission: refuses a pod whose requests, added to those of
    /// the namespace's pods not yet ended (Terminating ones count until
    /// their task has ended), would exceed the namespace's quota.
    pub fn admit(&self, ns: &str, pod: &str, plan: &PodPlan) -> Result<(), ApplyError> {
        let Some(hard) = self.quotas.get(ns) else {
            return Ok(());
        };
        let (mut cpus, mut mem) = (0.0, 0.0);
        for ((pns, _), p) in &self.pods {
            if pns == ns && (p.is_live() || p.phase == Phase::Terminating) {
                cpus += p.plan.requests.cpus();
                mem += p.plan.requests.mem();
            }
        }
        let quota = self.quota_names.get(ns).map_or("", String::as_str);
        let check = |key: &str, used: f64, asked: f64, limit: f64| {
            if limit > 0.0 && used + asked > limit + 1e-9 {
                Err(ApplyError::QuotaExceeded(format!(
                    "pods \"{pod}\" is forbidden: exceeded quota: {quota}, \
                     requested: {key}={asked}, used: {key}={used}, limited: {key}={limit}"
                )))
            } else {
                Ok(())
            }
        };
        check("requests.cpu", cpus, plan.requests.cpus(), hard.cpus())?;
        check("requests.memory", mem, plan.requests.mem(), hard.mem())
    }

    /// The pod running as `task`.
    pub fn pod_of_task(&self, task: &TaskId) -> Option<Key> {
        self.pods
            .iter()
            .find(|(_, p)| p.task.as_ref() == Some(task))
            .map(|(k, _)| k.clone())
    }

    /// Whether a pod is low priority: its PriorityClass value is below
    /// `threshold` (a pod naming no class, or an unknown one, has 0).
    pub fn is_low_priority(&self, pod: &PodEntry, threshold: i32) -> bool {
        let value = pod
            .plan
            .priority_class
            .as_ref()
            .and_then(|c| self.priority_classes.get(c))
            .copied()
            .unwrap_or(0);
        value < threshold
    }
}
