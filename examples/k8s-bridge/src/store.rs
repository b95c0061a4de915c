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
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use corral::{AgentId, Resources, Role, TaskId};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{PodSpec, ResourceQuota};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::manifest::{Kind, Object};
use crate::model::{self, ModelError, PodPlan};
use crate::quantity::{self, QuantityError};

/// A namespaced object's key: `(namespace, name)`.
pub type Key = (String, String);

/// The namespace that is never deleted (Kubernetes refuses to).
pub const PROTECTED_NAMESPACE: &str = "default";

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
    /// Its metadata as applied (bare pods) or from its template.
    pub meta: ObjectMeta,
    /// Its spec as applied or from its template.
    pub spec: PodSpec,
    /// Its task's stdout file (local agents), for `kubectl logs`.
    pub stdout: Option<PathBuf>,
    /// How its task ended, once it has: the status's message.
    pub ended: Option<String>,
    /// When it was deleted (it is Terminating).
    pub deleted_at: Option<SystemTime>,
    /// Its Deployment's template revision when it was made (0 for a
    /// bare pod).
    pub revision: u64,
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
    /// Bumped on every change of its spec (`metadata.generation`).
    pub generation: i64,
    /// Bumped on every change of its pod template: pods of an older one
    /// are replaced by a rolling update.
    pub revision: u64,
    /// How far above `replicas` a rolling update may go.
    pub max_surge: u32,
    /// How far below `replicas` available pods may go in a rolling
    /// update.
    pub max_unavailable: u32,
    /// The next pod's suffix.
    next: u64,
}

/// When an object was first created, and its uid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// Unique among the store's objects, never reused.
    pub uid: u64,
    /// Its creation (wall clock).
    pub created_at: SystemTime,
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
    /// A rolling update with both maxSurge and maxUnavailable 0, or a
    /// value that is neither a count nor a percentage.
    #[error("Deployment.apps \"{name}\" is invalid: spec.strategy.rollingUpdate: {why}")]
    BadStrategy {
        /// The Deployment.
        name: String,
        /// What is wrong.
        why: String,
    },
    /// The namespace `default` may not be deleted.
    #[error("namespaces \"{0}\" is forbidden: this namespace may not be deleted")]
    ProtectedNamespace(String),
    /// A pod's spec changed: Kubernetes allows only a few fields to.
    #[error("Pod \"{0}\" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations) or `spec.terminationGracePeriodSeconds`")]
    PodSpecChanged(String),
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
    /// The objects as applied (a Deployment's pods are not: they are
    /// made from its template), by kind and key (cluster-scoped kinds
    /// have an empty namespace).
    pub applied: BTreeMap<(Kind, Key), Object>,
    /// Every object's uid and creation time, pods included.
    pub stamps: BTreeMap<(Kind, Key), Stamp>,
    created: u64,
}

/// A Deployment's maxSurge and maxUnavailable, as counts (Kubernetes's
/// defaults, 25% each; a percentage of surge rounds up, of unavailable
/// down). `Recreate` is every old pod first: no surge, all unavailable.
fn strategy(
    name: &str,
    strategy: Option<&k8s_openapi::api::apps::v1::DeploymentStrategy>,
    replicas: u32,
) -> Result<(u32, u32), ApplyError> {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let bad = |why: String| ApplyError::BadStrategy {
        name: name.to_owned(),
        why,
    };
    if strategy.and_then(|s| s.type_.as_deref()) == Some("Recreate") {
        return Ok((0, replicas));
    }
    let rolling = strategy.and_then(|s| s.rolling_update.as_ref());
    let read = |value: Option<&IntOrString>, field: &str, round_up: bool| {
        let pct = |p: f64| {
            let exact = p * f64::from(replicas) / 100.0;
            (if round_up {
                exact.ceil()
            } else {
                exact.floor()
            }) as u32
        };
        match value {
            None => Ok(pct(25.0)),
            Some(IntOrString::Int(n)) => {
                u32::try_from(*n).map_err(|_| bad(format!("{field}: must not be negative")))
            }
            Some(IntOrString::String(text)) => text
                .strip_suffix('%')
                .and_then(|n| n.parse::<u32>().ok())
                .filter(|n| *n <= 100 || round_up)
                .map(|n| pct(f64::from(n)))
                .ok_or_else(|| {
                    bad(format!(
                        "{field}: {:?} is not a count or a percentage",
                        text.chars().take(20).collect::<String>()
                    ))
                }),
        }
    };
    let surge = read(rolling.and_then(|r| r.max_surge.as_ref()), "maxSurge", true)?;
    let unavailable = read(
        rolling.and_then(|r| r.max_unavailable.as_ref()),
        "maxUnavailable",
        false,
    )?;
    if surge == 0 && unavailable == 0 {
        // Kubernetes refuses both 0 when written so; 25% of a small
        // Deployment rounding to 0 falls back to one unavailable, as its
        // controller does.
        let written = rolling.is_some_and(|r| r.max_surge.is_some() && r.max_unavailable.is_some());
        if written {
            return Err(bad("may not be 0 when maxSurge is 0".to_owned()));
        }
        return Ok((0, 1));
    }
    Ok((surge, unavailable))
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
        let record = (object.kind(), object.key());
        let copy = object.clone();
        self.apply_inner(object)?;
        if record.0 != Kind::Pod || self.pods.contains_key(&record.1) {
            self.stamp(record.0, record.1.clone());
            self.applied.insert(record, copy);
        }
        Ok(())
    }

    fn stamp(&mut self, kind: Kind, key: Key) {
        if !self.stamps.contains_key(&(kind, key.clone())) {
            self.created += 1;
            let stamp = Stamp {
                uid: self.created,
                created_at: SystemTime::now(),
            };
            self.stamps.insert((kind, key), stamp);
        }
    }

    fn forget(&mut self, kind: Kind, key: &Key) {
        self.applied.remove(&(kind, key.clone()));
        self.stamps.remove(&(kind, key.clone()));
    }

    fn apply_inner(&mut self, object: Object) -> Result<(), ApplyError> {
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
                let name = pod.metadata.name.clone().unwrap_or_default();
                let key = (ns.clone(), name.clone());
                if let Some(existing) = self.pods.get_mut(&key) {
                    // Only the metadata of a pod may change.
                    if existing.plan != plan || existing.spec.containers != spec.containers {
                        return Err(ApplyError::PodSpecChanged(name));
                    }
                    existing.meta.labels = pod.metadata.labels;
                    existing.meta.annotations = pod.metadata.annotations;
                    return Ok(());
                }
                self.admit(&ns, &name, &plan)?;
                self.add_pod(key, plan, None, pod.metadata, spec);
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
        let template_meta = spec.template.metadata.clone().unwrap_or_default();
        let template_spec = spec
            .template
            .spec
            .clone()
            .ok_or_else(|| ApplyError::NoSpec(what.clone()))?;
        let plan = model::plan(&template_meta, &template_spec)
            .map_err(|source| ApplyError::Model { what, source })?;
        let (max_surge, max_unavailable) = strategy(&name, spec.strategy.as_ref(), replicas)?;
        let key = (ns, name);
        let (next, generation, revision) = match self.deployments.get(&key) {
            None => (1, 1, 1),
            Some(d) => {
                let same_template =
                    d.template_meta == template_meta && d.template_spec == template_spec;
                let same = same_template && d.replicas == replicas;
                (
                    d.next,
                    d.generation + i64::from(!same),
                    d.revision + u64::from(!same_template),
                )
            }
        };
        self.deployments.insert(
            key,
            DeploymentEntry {
                replicas,
                template_meta,
                template_spec,
                plan,
                generation,
                revision,
                max_surge,
                max_unavailable,
                next,
            },
        );
        Ok(())
    }

    fn add_pod(
        &mut self,
        key: Key,
        plan: PodPlan,
        owner: Option<String>,
        meta: ObjectMeta,
        spec: PodSpec,
    ) {
        self.stamp(Kind::Pod, key.clone());
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
                meta,
                spec,
                stdout: None,
                ended: None,
                deleted_at: None,
                revision: 0,
            },
        );
    }

    /// Forgets a pod whose task has ended (or that never had one).
    pub fn remove_pod(&mut self, key: &Key) -> Option<PodEntry> {
        self.forget(Kind::Pod, key);
        self.pods.remove(key)
    }

    /// Sets a Deployment's replicas (`kubectl scale`). False if there is
    /// no such Deployment.
    pub fn scale(&mut self, key: &Key, replicas: u32) -> bool {
        match self.deployments.get_mut(key) {
            Some(d) => {
                if d.replicas != replicas {
                    d.generation += 1;
                }
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
        self.delete_pod_with_grace(key, None)
    }

    /// [`Store::delete_pod`] with the grace period the request asks
    /// (`gracePeriodSeconds`) instead of the pod's own.
    pub fn delete_pod_with_grace(&mut self, key: &Key, grace: Option<Duration>) -> Option<Kill> {
        let pod = self.pods.get_mut(key)?;
        match (&pod.phase, &pod.task) {
            (Phase::Starting | Phase::Running, Some(task)) => {
                pod.phase = Phase::Terminating;
                pod.deleted_at = Some(SystemTime::now());
                Some(Kill {
                    task: task.clone(),
                    grace: grace.unwrap_or(pod.plan.grace),
                })
            }
            (Phase::Terminating, _) => None,
            _ => {
                self.remove_pod(key);
                None
            }
        }
    }

    /// The Deployment controller: creates missing replicas and picks the
    /// surplus to delete (Pending first, then newest). Returns the kills.
    pub fn reconcile_deployments(&mut self) -> Vec<Kill> {
        let mut kills = Vec::new();
        let keys: Vec<Key> = self.deployments.keys().cloned().collect();
        for key in keys {
            kills.extend(self.reconcile_one(&key));
        }
        kills
    }

    /// One Deployment: replicas kept, and a rolling update carried one
    /// step further. New pods (of the current template) are made while
    /// all live pods number fewer than `replicas + maxSurge`; old pods go
    /// (not yet Running ones first, then the newest) while the Running
    /// pods stay at least `replicas - maxUnavailable`. It is called after
    /// every change, a pod becoming Running included, so a rollout moves
    /// as pods come up.
    fn reconcile_one(&mut self, key: &Key) -> Vec<Kill> {
        let (ns, name) = key;
        let Some(d) = self.deployments.get(key) else {
            return Vec::new();
        };
        let (want, revision) = (d.replicas as usize, d.revision);
        let (surge, unavailable) = (d.max_surge as usize, d.max_unavailable as usize);
        // (key, current template, placed and running, not placed, created)
        let live: Vec<(Key, bool, bool, bool, u64)> = self
            .pods
            .iter()
            .filter(|((pns, _), p)| pns == ns && p.owner.as_deref() == Some(name) && p.is_live())
            .map(|(k, p)| {
                (
                    k.clone(),
                    p.revision == revision,
                    p.phase == Phase::Running,
                    matches!(p.phase, Phase::Pending(_)),
                    p.created,
                )
            })
            .collect();
        let order = |pods: &mut Vec<(Key, bool, bool, bool, u64)>| {
            // Pending first, then not yet Running, then newest.
            pods.sort_by_key(|(_, _, running, pending, created)| {
                (
                    std::cmp::Reverse(*pending),
                    *running,
                    std::cmp::Reverse(*created),
                )
            })
        };
        let mut kills = Vec::new();
        let (mut new, mut old): (Vec<_>, Vec<_>) = live.into_iter().partition(|p| p.1);
        let mut available = new.iter().chain(&old).filter(|p| p.2).count();
        let min_available = want.saturating_sub(unavailable);
        // Surplus of the current template (a scale down).
        if new.len() > want {
            order(&mut new);
            let surplus = new.len() - want;
            for (k, _, running, _, _) in new.drain(..surplus) {
                available -= usize::from(running);
                kills.extend(self.delete_pod(&k));
            }
        }
        // Old pods go as long as enough pods stay Running.
        order(&mut old);
        let mut total = new.len() + old.len();
        for (k, _, running, _, _) in old {
            if running && available <= min_available {
                continue;
            }
            available -= usize::from(running);
            total -= 1;
            kills.extend(self.delete_pod(&k));
        }
        // New pods, within maxSurge while old ones remain.
        let mut count = new.len();
        while count < want && total < want + surge {
            if !self.create_replica(key) {
                break;
            }
            count += 1;
            total += 1;
        }
        kills
    }

    /// Makes one pod of a Deployment's current template; false if quota
    /// admission refuses it (kept as its FailedCreate reason).
    fn create_replica(&mut self, key: &Key) -> bool {
        let (ns, name) = key;
        let Some(deployment) = self.deployments.get(key) else {
            return false;
        };
        let pod = format!("{name}-{}", deployment.next);
        let plan = deployment.plan.clone();
        let revision = deployment.revision;
        let mut meta = deployment.template_meta.clone();
        meta.name = Some(pod.clone());
        meta.namespace = Some(ns.clone());
        let spec = deployment.template_spec.clone();
        if let Err(e) = self.admit(ns, &pod, &plan) {
            // As a ReplicaSet's FailedCreate: retried at the next
            // reconciliation (when a pod of the namespace ends).
            self.failed_create.insert(key.clone(), e.to_string());
            return false;
        }
        self.failed_create.remove(key);
        if let Some(deployment) = self.deployments.get_mut(key) {
            deployment.next += 1;
        }
        let pod_key = (ns.clone(), pod);
        self.add_pod(pod_key.clone(), plan, Some(name.clone()), meta, spec);
        if let Some(p) = self.pods.get_mut(&pod_key) {
            p.revision = revision;
        }
        true
    }

    /// Deletes a namespace as Kubernetes does: its Deployments and quota go
    /// at once, its pods are deleted (the launched ones killed, returned),
    /// and the namespace (with its role) stays, Terminating, until its
    /// last pod has ended ([`Store::finish_namespaces`]). False if there is
    /// no such namespace.
    pub fn delete_namespace(&mut self, ns: &str) -> Option<Vec<Kill>> {
        if !self.namespaces.contains_key(ns) || ns == PROTECTED_NAMESPACE {
            return None;
        }
        self.terminating.insert(ns.to_owned());
        self.deployments.retain(|(dns, _), _| dns != ns);
        self.applied
            .retain(|(kind, (dns, _)), _| *kind == Kind::Namespace || dns != ns);
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
            self.forget(Kind::Namespace, &(String::new(), ns));
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

    /// Deletes a Deployment and its pods (the launched ones are killed,
    /// returned). `None` if there is no such Deployment.
    pub fn delete_deployment(&mut self, key: &Key) -> Option<Vec<Kill>> {
        self.deployments.remove(key)?;
        self.failed_create.remove(key);
        self.forget(Kind::Deployment, key);
        let pods: Vec<Key> = self
            .pods
            .iter()
            .filter(|((ns, _), p)| ns == &key.0 && p.owner.as_deref() == Some(key.1.as_str()))
            .map(|(k, _)| k.clone())
            .collect();
        Some(pods.iter().filter_map(|k| self.delete_pod(k)).collect())
    }

    /// Deletes a ResourceQuota or a PriorityClass; false if there is none.
    pub fn delete_other(&mut self, kind: Kind, key: &Key) -> bool {
        if self.applied.remove(&(kind, key.clone())).is_none() {
            return false;
        }
        self.stamps.remove(&(kind, key.clone()));
        match kind {
            Kind::ResourceQuota => {
                self.quotas.remove(&key.0);
                self.quota_names.remove(&key.0);
            }
            Kind::PriorityClass => {
                self.priority_classes.remove(&key.1);
            }
            _ => {}
        }
        true
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
