//! [`Bridge`]: the framework. It owns a [`Store`] and turns its decisions
//! into calls on the master; Kubernetes-side requests arrive as
//! [`Input`]s (through `corral::inputs`), one at a time, between the
//! master's events, so the store has one owner and no lock.
//!
//! The pattern it teaches:
//!
//! - **Namespaces are roles.** The framework subscribes with one role per
//!   namespace; applying a new namespace adds its role at run time
//!   ([`Driver::update_roles`], UPDATE_FRAMEWORK). An offer is for one
//!   role, so it only ever places that namespace's pods, and the master's
//!   fair sharing and quotas apply per namespace. Deleting a namespace
//!   deletes its pods and removes its role once the last has ended.
//! - **Priority decides what may borrow.** A pod whose PriorityClass value
//!   is below [`BridgeConfig::revocable_below`] runs only on revocable
//!   (lent) resources; every other pod only on regular ones. On a
//!   revocation notice the named pods become Terminating and are released
//!   gracefully ([`Driver::release`]); once killed they are forgotten and
//!   their Deployment creates replacements, which wait for lent resources
//!   again. Regular pods on the same agent are not named and keep running.
//! - **Graceful termination.** Deleting a pod (or scaling it away) kills
//!   its task with its `terminationGracePeriodSeconds` as the grace.
//! - **Pending with a reason.** A pod that no offer of its role could take
//!   stays Pending with the reason the Kubernetes scheduler would give
//!   (`0/2 nodes are available: 2 Insufficient cpu.`).

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use corral::{
    Capability, CommandInfo, Driver, FrameworkInfo, Offer, RevocationNotice, Role, Scheduler,
    TaskId, TaskInfo, TaskState, TaskStatus, WithInputs,
};

use crate::catalog::Publisher;
use crate::manifest::{Kind, Object};
use crate::model::HOSTNAME_LABEL;
use crate::store::{ApplyError, Key, Kill, Phase, PodEntry, Store};

/// How long an offer that placed nothing is refused while its role still
/// has Pending pods: short, so placement is retried soon (the Kubernetes
/// scheduler retries unschedulable pods too).
pub const RETRY_REFUSE: Duration = Duration::from_secs(1);

/// How long the master keeps the bridge's tasks while it is away.
pub const FAILOVER_TIMEOUT: Duration = Duration::from_secs(3600);

/// Tuning of the bridge.
#[derive(Clone, Debug, Default)]
pub struct BridgeConfig {
    /// Pods whose priority value is below this run on revocable resources
    /// only. Default 0: pods of a PriorityClass with a negative value
    /// borrow; pods with no class (value 0) do not.
    pub revocable_below: i32,
}

/// A request of the Kubernetes API, answered through its reply channel
/// once the store has taken it (and the catalog shows the result).
#[derive(Debug)]
pub enum Call {
    /// POST: create an object that must not exist yet.
    Create(Object),
    /// PUT, or a PATCH's result: replace an object that exists, if it is
    /// still at `resource_version` (when given).
    Replace {
        /// The new object.
        object: Object,
        /// The version the change was made against.
        resource_version: Option<u64>,
    },
    /// DELETE.
    Delete {
        /// Its kind.
        kind: Kind,
        /// Its key (empty namespace for cluster-scoped kinds).
        key: Key,
        /// `gracePeriodSeconds` (pods), instead of the pod's own.
        grace: Option<Duration>,
    },
    /// The scale subresource: a Deployment's replicas.
    Scale {
        /// The Deployment.
        key: Key,
        /// Its new replicas.
        replicas: u32,
    },
}

/// Why a [`Call`] was refused.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No such object.
    #[error("not found")]
    NotFound,
    /// A create of an object that exists.
    #[error("already exists")]
    AlreadyExists,
    /// The object changed since the version the request was made against.
    #[error("the object has been modified; please apply your changes to the latest version and try again")]
    Conflict,
    /// The store refused it.
    #[error(transparent)]
    Refused(#[from] ApplyError),
}

/// The reply end of a [`Call`].
pub type Reply = tokio::sync::oneshot::Sender<Result<(), CallError>>;

/// What the Kubernetes side asks of the bridge.
#[derive(Debug)]
pub enum Input {
    /// A request of the Kubernetes API, with where to answer (boxed: an
    /// object is large).
    Call(Box<Call>, Reply),
    /// `kubectl apply`: objects to create or replace, in order.
    Apply(Vec<Object>),
    /// `kubectl delete pod`.
    DeletePod(Key),
    /// `kubectl scale deployment`.
    Scale(Key, u32),
    /// `kubectl delete namespace`: its role is removed once its last pod
    /// has ended.
    DeleteNamespace(String),
}

/// The framework. See the [module docs](self).
#[derive(Debug, Default)]
pub struct Bridge {
    config: BridgeConfig,
    store: Store,
    /// Roles the master has been told about (to send UPDATE_FRAMEWORK only
    /// on a change).
    subscribed_roles: Vec<Role>,
    launches: u64,
    /// Refusals of applied objects, in order, for the caller to report.
    refused: Vec<String>,
    /// What the Kubernetes API serves, if it is in front.
    catalog: Option<Publisher>,
}

impl Bridge {
    /// A bridge with `config` and nothing applied.
    pub fn new(config: BridgeConfig) -> Self {
        Bridge {
            config,
            ..Bridge::default()
        }
    }

    /// Applies objects before the framework subscribes (their namespaces
    /// become its initial roles). Returns each refusal's message.
    pub fn preload(&mut self, objects: Vec<Object>) -> Vec<String> {
        let before = self.refused.len();
        self.apply(objects);
        self.store.reconcile_deployments();
        self.subscribed_roles = self.store.roles();
        self.refused[before..].to_vec()
    }

    /// The FrameworkInfo to subscribe with: one role per namespace known.
    pub fn framework_info(&self) -> FrameworkInfo {
        FrameworkInfo::new("k8s-bridge")
            .with_roles(self.store.roles())
            // Low-priority pods borrow lent resources.
            .with_capability(Capability::RevocableResources)
            // Deleted pods are reported Terminating while their grace runs.
            .with_capability(Capability::TaskKillingState)
            // A master failover (or a lost connection) leaves the pods
            // running while the runtime resubscribes.
            .with_failover_timeout(FAILOVER_TIMEOUT)
    }

    /// Publishes the catalog to `publisher` after every change (and now,
    /// with what is preloaded): the Kubernetes API reads it.
    pub fn with_catalog(mut self, publisher: Publisher) -> Self {
        self.catalog = Some(publisher);
        self.publish();
        self
    }

    fn publish(&mut self) {
        if let Some(catalog) = &mut self.catalog {
            catalog.publish(&self.store);
        }
    }

    /// Tells the API the bridge has stopped (its requests would wait for
    /// nothing).
    pub fn close_catalog(&mut self) {
        if let Some(catalog) = &mut self.catalog {
            catalog.close();
        }
    }

    /// One API request: the change, its kills.
    fn call(&mut self, call: Call) -> Result<Vec<Kill>, CallError> {
        let rv_of = |this: &Self, kind: Kind, key: &Key| {
            this.catalog
                .as_ref()
                .and_then(|c| c.current().get(kind, key).map(|e| e.rv))
        };
        match call {
            Call::Create(object) => {
                let (kind, key) = (object.kind(), object.key());
                if self.exists(kind, &key) {
                    return Err(CallError::AlreadyExists);
                }
                self.store.apply(object)?;
                Ok(Vec::new())
            }
            Call::Replace {
                object,
                resource_version,
            } => {
                let (kind, key) = (object.kind(), object.key());
                if !self.exists(kind, &key) {
                    return Err(CallError::NotFound);
                }
                if resource_version.is_some() && resource_version != rv_of(self, kind, &key) {
                    return Err(CallError::Conflict);
                }
                self.store.apply(object)?;
                Ok(Vec::new())
            }
            Call::Delete { kind, key, grace } => match kind {
                Kind::Pod => {
                    if !self.store.pods.contains_key(&key) {
                        return Err(CallError::NotFound);
                    }
                    Ok(self
                        .store
                        .delete_pod_with_grace(&key, grace)
                        .into_iter()
                        .collect())
                }
                Kind::Deployment => self
                    .store
                    .delete_deployment(&key)
                    .ok_or(CallError::NotFound),
                Kind::Namespace if key.1 == crate::store::PROTECTED_NAMESPACE => Err(
                    CallError::Refused(ApplyError::ProtectedNamespace(key.1.clone())),
                ),
                Kind::Namespace => self
                    .store
                    .delete_namespace(&key.1)
                    .ok_or(CallError::NotFound),
                Kind::ResourceQuota | Kind::PriorityClass => {
                    if self.store.delete_other(kind, &key) {
                        Ok(Vec::new())
                    } else {
                        Err(CallError::NotFound)
                    }
                }
            },
            Call::Scale { key, replicas } => {
                if self.store.scale(&key, replicas) {
                    Ok(Vec::new())
                } else {
                    Err(CallError::NotFound)
                }
            }
        }
    }

    fn exists(&self, kind: Kind, key: &Key) -> bool {
        match kind {
            Kind::Pod => self.store.pods.contains_key(key),
            Kind::Namespace => self.store.namespaces.contains_key(&key.1),
            _ => self.store.applied.contains_key(&(kind, key.clone())),
        }
    }

    /// The objects and pods, to read.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Refusals of applied objects so far.
    pub fn refused(&self) -> &[String] {
        &self.refused
    }

    fn apply(&mut self, objects: Vec<Object>) {
        for object in objects {
            let what = object.describe();
            if let Err(e) = self.store.apply(object) {
                let message = format!("{what}: {}", error_chain(&e));
                tracing::warn!(%message, "object refused");
                self.refused.push(message);
            }
        }
    }

    /// After any change: keep the Deployments' replicas, send the kills,
    /// and tell the master about new roles.
    async fn settle(&mut self, driver: &dyn Driver, mut kills: Vec<Kill>) {
        kills.extend(self.store.reconcile_deployments());
        self.store.finish_namespaces();
        for kill in kills {
            if let Err(e) = driver.kill(&kill.task, Some(kill.grace)).await {
                tracing::warn!(task = %kill.task, error = %e, "kill failed");
            }
        }
        let roles = self.store.roles();
        if roles != self.subscribed_roles {
            match driver.update_roles(roles.clone()).await {
                Ok(()) => self.subscribed_roles = roles,
                Err(e) => tracing::warn!(error = %e, "UPDATE_FRAMEWORK failed"),
            }
        }
    }

    /// Places what fits on one offer; returns the tasks and notes the
    /// misfits in `misses`.
    fn place(&mut self, offer: &Offer, misses: &mut BTreeMap<Key, Misfit>) -> Vec<TaskInfo> {
        let mut regular = offer.regular();
        let mut revocable = offer.revocable();
        let mut tasks = Vec::new();
        let mut pending: Vec<(Key, u64)> = self
            .store
            .pods
            .iter()
            .filter(|((ns, _), p)| {
                matches!(p.phase, Phase::Pending(_))
                    && self.store.namespaces.get(ns) == Some(&offer.role)
            })
            .map(|(k, p)| (k.clone(), p.created))
            .collect();
        pending.sort_by_key(|(_, created)| *created);
        for (key, _) in pending {
            let Some(pod) = self.store.pods.get(&key) else {
                continue;
            };
            let low = self.store.is_low_priority(pod, self.config.revocable_below);
            let (pool, needs) = if low {
                (&mut revocable, pod.plan.requests.clone().revocable())
            } else {
                (&mut regular, pod.plan.requests.clone())
            };
            let misfit = misses.entry(key.clone()).or_default();
            misfit.low = low;
            if pool.is_empty() {
                // Nothing of the kind this pod may use: not a candidate.
                continue;
            }
            misfit.offers += 1;
            if !selector_matches(pod, offer) {
                misfit.selector += 1;
                continue;
            }
            if !pool.contains(&needs) {
                if pool.cpus() < needs.cpus() {
                    misfit.cpu += 1;
                }
                if pool.mem() < needs.mem() {
                    misfit.mem += 1;
                }
                continue;
            }
            if pool.subtract(&needs).is_err() {
                continue;
            }
            self.launches += 1;
            let task_id = TaskId::new(format!("{}.{}.{}", key.0, key.1, self.launches));
            let mut task = TaskInfo::new(task_id.clone())
                .with_name(format!("{}/{}", key.0, key.1))
                .with_resources(needs)
                .with_command(if pod.plan.argv.is_empty() {
                    CommandInfo::shell(pod.plan.command.clone())
                } else {
                    CommandInfo::argv(pod.plan.argv.clone())
                })
                .with_grace_period(pod.plan.grace);
            for (k, v) in &pod.plan.sim_labels {
                task = task.with_label(k.clone(), v.clone());
            }
            misses.remove(&key);
            if let Some(pod) = self.store.pods.get_mut(&key) {
                pod.phase = Phase::Starting;
                pod.task = Some(task_id);
                pod.agent = Some(offer.agent_id.clone());
                pod.revocable = low;
            }
            tasks.push(task);
        }
        tasks
    }
}

/// Why a pod fit none of this round's offers, counted per offer.
#[derive(Debug, Default)]
struct Misfit {
    offers: usize,
    selector: usize,
    cpu: usize,
    mem: usize,
    /// The pod may only use revocable resources.
    low: bool,
}

impl Misfit {
    /// As the Kubernetes scheduler says it.
    fn reason(&self) -> String {
        let mut parts = Vec::new();
        if self.cpu > 0 {
            parts.push(format!("{} Insufficient cpu", self.cpu));
        }
        if self.mem > 0 {
            parts.push(format!("{} Insufficient memory", self.mem));
        }
        if self.selector > 0 {
            parts.push(format!(
                "{} node(s) didn't match Pod's node affinity/selector",
                self.selector
            ));
        }
        if self.offers == 0 {
            return if self.low {
                "no revocable (lent) resources offered; low-priority pods run only on those"
                    .to_owned()
            } else {
                "no resources offered".to_owned()
            };
        }
        format!(
            "0/{} nodes are available: {}.",
            self.offers,
            parts.join(", ")
        )
    }
}

/// Whether `offer`'s agent has every attribute the pod's nodeSelector asks
/// and matches its required node affinity.
fn selector_matches(pod: &PodEntry, offer: &Offer) -> bool {
    let value = |k: &str| {
        if k == HOSTNAME_LABEL {
            Some(offer.hostname.as_str())
        } else {
            offer.attribute(k)
        }
    };
    pod.plan
        .node_selector
        .iter()
        .all(|(k, v)| value(k) == Some(v.as_str()))
        && crate::model::affinity_holds(&pod.plan.node_affinity, value)
}

/// An error with its sources, on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[async_trait]
impl Scheduler for Bridge {
    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
        let mut misses = BTreeMap::new();
        for offer in &offers {
            let tasks = self.place(offer, &mut misses);
            if tasks.is_empty() {
                if self.wants_offers(&offer.role) == Some(true) {
                    if let Err(e) = driver.decline(&offer.id, Some(RETRY_REFUSE)).await {
                        tracing::warn!(offer = %offer.id, error = %e, "decline failed");
                    }
                }
                continue;
            }
            let ids: Vec<TaskId> = tasks.iter().map(|t| t.id.clone()).collect();
            if let Err(e) = driver.launch(offer, tasks).await {
                tracing::warn!(offer = %offer.id, error = %e, "launch refused; pods stay Pending");
                for pod in self.store.pods.values_mut() {
                    if pod.task.as_ref().is_some_and(|t| ids.contains(t)) {
                        pod.phase = Phase::Pending(format!("launch refused: {e}"));
                        pod.task = None;
                        pod.agent = None;
                    }
                }
            }
        }
        for (key, misfit) in misses {
            if let Some(pod) = self.store.pods.get_mut(&key) {
                // A round of offers none of which this pod could use
                // tells nothing new: keep the last real reason.
                let keep = misfit.offers == 0
                    && !matches!(&pod.phase, Phase::Pending(r) if r == crate::store::WAITING);
                if matches!(pod.phase, Phase::Pending(_)) && !keep {
                    pod.phase = Phase::Pending(misfit.reason());
                }
            }
        }
        self.publish();
    }

    async fn revocation(&mut self, driver: &dyn Driver, notice: RevocationNotice) {
        for task in &notice.tasks {
            if let Some(key) = self.store.pod_of_task(task) {
                if let Some(pod) = self.store.pods.get_mut(&key) {
                    tracing::info!(pod = %format!("{}/{}", key.0, key.1), "revoked");
                    pod.phase = Phase::Terminating;
                    pod.deleted_at = Some(std::time::SystemTime::now());
                }
            }
        }
        self.publish();
        if let Err(e) = driver.release(&notice).await {
            tracing::error!(notice = %notice.id, error = %e, "release failed; the master takes them at the deadline");
        }
    }

    async fn status_update(&mut self, driver: &dyn Driver, status: &TaskStatus) {
        let Some(key) = self.store.pod_of_task(&status.task_id) else {
            return;
        };
        let Some(pod) = self.store.pods.get_mut(&key) else {
            return;
        };
        if let Some(stdout) = status.stdout_path() {
            pod.stdout = Some(stdout.to_path_buf());
        }
        if status.state.is_terminal() {
            pod.ended = status.message.clone();
        }
        match status.state {
            TaskState::Running if pod.phase == Phase::Starting => {
                pod.phase = Phase::Running;
                // A rolling update may take its next step.
                self.settle(driver, Vec::new()).await;
            }
            state if state.is_terminal() => {
                if pod.phase == Phase::Terminating || pod.owner.is_some() {
                    // Deleted, scaled away or revoked; or a Deployment's
                    // pod that ended: its Deployment replaces it.
                    self.store.remove_pod(&key);
                } else if state == TaskState::Finished {
                    pod.phase = Phase::Succeeded;
                } else {
                    pod.phase = Phase::Failed(format!("{state:?}"));
                }
                self.settle(driver, Vec::new()).await;
            }
            _ => {}
        }
        self.publish();
    }

    fn wants_offers(&self, role: &Role) -> Option<bool> {
        Some(self.store.pods.iter().any(|((ns, _), p)| {
            matches!(p.phase, Phase::Pending(_)) && self.store.namespaces.get(ns) == Some(role)
        }))
    }
}

#[async_trait]
impl WithInputs for Bridge {
    type Input = Input;

    async fn input(&mut self, driver: &dyn Driver, input: Input) {
        let mut kills = Vec::new();
        match input {
            Input::Call(call, reply) => {
                let outcome = self.call(*call);
                let answer = match outcome {
                    Ok(call_kills) => {
                        kills = call_kills;
                        Ok(())
                    }
                    Err(e) => Err(e),
                };
                self.settle(driver, kills).await;
                self.publish();
                // The requester may have given up (its connection closed).
                let _ = reply.send(answer);
                return;
            }
            Input::Apply(objects) => self.apply(objects),
            Input::DeletePod(key) => kills.extend(self.store.delete_pod(&key)),
            Input::Scale(key, replicas) => {
                if !self.store.scale(&key, replicas) {
                    let message = format!("deployments.apps \"{}\" not found", key.1);
                    tracing::warn!(%message, "scale refused");
                    self.refused.push(message);
                }
            }
            Input::DeleteNamespace(ns) => match self.store.delete_namespace(&ns) {
                Some(namespace_kills) => kills = namespace_kills,
                None => {
                    let message = format!("namespaces \"{ns}\" not found");
                    tracing::warn!(%message, "delete refused");
                    self.refused.push(message);
                }
            },
        }
        self.settle(driver, kills).await;
        self.publish();
    }
}
