//! The mapping from Kubernetes to the master's vocabulary, in one place:
//! a namespace is a role, a pod is a task.
//!
//! - **Namespace → role.** The role is named after the namespace. A
//!   namespace name must be a DNS label (what Kubernetes requires: at most
//!   63 lowercase letters, digits and `-`, starting and ending with a
//!   letter or digit), and the role must pass [`Role::validate`].
//! - **Pod → task.** The containers' `requests` (summed) become the task's
//!   resources; a container without requests takes its limits, as
//!   Kubernetes defaults them, and a pod that asks for nothing at all gets
//!   [`MIN_CPUS`] and [`MIN_MEM_MB`], since the master refuses empty
//!   tasks. `limits` are recorded, not enforced (that is the agent's
//!   isolator's job). `nodeSelector` becomes agent-attribute constraints
//!   (`kubernetes.io/hostname` matches the agent's hostname).
//!   `terminationGracePeriodSeconds` becomes the task's kill grace
//!   (default [`DEFAULT_GRACE`]).
//! - Annotations starting with `corral.sim/` are copied to the task's
//!   labels: that is how a manifest tells the testkit's simulated agents
//!   how its pod behaves (see `corral::sim`). Real agents ignore them.

use std::collections::BTreeMap;
use std::time::Duration;

use corral::{Resources, Role};
use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::quantity::{self, QuantityError};

/// Kubernetes's default `terminationGracePeriodSeconds`.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);
/// CPUs given to a pod that requests none.
pub const MIN_CPUS: f64 = 0.1;
/// Memory (MB) given to a pod that requests none.
pub const MIN_MEM_MB: f64 = 32.0;
/// The node-selector key that names an agent by hostname.
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";
/// The annotation prefix copied into task labels for simulated agents.
pub const SIM_PREFIX: &str = "corral.sim/";

/// Why an object cannot be mapped.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The namespace name is not a DNS label, or not a valid role.
    #[error("namespace {name:?}: {why}")]
    BadNamespace {
        /// The name as written.
        name: String,
        /// What is wrong with it.
        why: String,
    },
    /// A pod spec without containers.
    #[error("the pod has no containers")]
    NoContainers,
    /// A request or limit that does not parse.
    #[error("container {container:?}: {resource}")]
    Quantity {
        /// The container.
        container: String,
        /// `requests.cpu`, `limits.memory`...
        resource: String,
        /// The parse error.
        #[source]
        source: QuantityError,
    },
    /// A required node affinity that cannot be read.
    #[error("affinity.nodeAffinity: {0}")]
    Affinity(String),
    /// A negative `terminationGracePeriodSeconds`.
    #[error("terminationGracePeriodSeconds {0} is negative")]
    NegativeGrace(i64),
}

/// The role of namespace `name`, checked.
pub fn role_for(name: &str) -> Result<Role, ModelError> {
    let bad = |why: &str| ModelError::BadNamespace {
        name: name.to_owned(),
        why: why.to_owned(),
    };
    if name.is_empty() || name.len() > 63 {
        return Err(bad("a namespace name has 1 to 63 characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(bad("only lowercase letters, digits and '-'"));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(bad("must start and end with a letter or digit"));
    }
    let role = Role::new(name);
    role.validate().map_err(|e| bad(&e.to_string()))?;
    Ok(role)
}

/// What a pod asks of the cluster, read from its spec.
#[derive(Clone, Debug, PartialEq)]
pub struct PodPlan {
    /// The task's resources (the containers' requests, summed).
    pub requests: Resources,
    /// The containers' limits, summed (recorded only).
    pub limits: Resources,
    /// Agent attributes that must match (`nodeSelector`).
    pub node_selector: BTreeMap<String, String>,
    /// Required node affinity: the agent must match one term (each a
    /// list of requirements that must all hold). Empty: any agent.
    pub node_affinity: Vec<Vec<Requirement>>,
    /// The kill grace period.
    pub grace: Duration,
    /// The pod's PriorityClass, if it names one.
    pub priority_class: Option<String>,
    /// The task's command as shown: the first container's command and
    /// args joined by spaces, or its image when it has none.
    pub command: String,
    /// The first container's command and args, as the argv the task runs
    /// (no shell in between, as the kubelet runs them); empty when it has
    /// neither, and the task then runs `command` (the image's name)
    /// through the shell.
    pub argv: Vec<String>,
    /// Task labels for simulated agents (the `corral.sim/` annotations).
    pub sim_labels: Vec<(String, String)>,
}

/// One requirement of a node-affinity term, on an agent attribute
/// (`kubernetes.io/hostname` is the agent's hostname).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// `In`: the attribute is one of the values.
    In(String, Vec<String>),
    /// `NotIn`: the attribute is absent or none of the values.
    NotIn(String, Vec<String>),
    /// `Exists`.
    Exists(String),
    /// `DoesNotExist`.
    DoesNotExist(String),
    /// `Gt` / `Lt`: the attribute, an integer, is greater / less than the
    /// value.
    Compare(String, std::cmp::Ordering, i64),
}

impl Requirement {
    /// Whether an agent whose attribute `key` is `value(key)` satisfies it.
    pub fn holds<'a>(&self, value: impl Fn(&str) -> Option<&'a str>) -> bool {
        match self {
            Requirement::In(k, vs) => value(k).is_some_and(|v| vs.iter().any(|x| x == v)),
            Requirement::NotIn(k, vs) => !value(k).is_some_and(|v| vs.iter().any(|x| x == v)),
            Requirement::Exists(k) => value(k).is_some(),
            Requirement::DoesNotExist(k) => value(k).is_none(),
            Requirement::Compare(k, order, n) => value(k)
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v.cmp(n) == *order),
        }
    }
}

/// Whether an agent matches a plan's required node affinity.
pub fn affinity_holds<'a>(
    terms: &[Vec<Requirement>],
    value: impl Fn(&str) -> Option<&'a str>,
) -> bool {
    terms.is_empty()
        || terms
            .iter()
            .any(|term| term.iter().all(|r| r.holds(&value)))
}

fn requirements(spec: &PodSpec) -> Result<Vec<Vec<Requirement>>, ModelError> {
    let terms = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .map(|s| s.node_selector_terms.clone())
        .unwrap_or_default();
    let mut out = Vec::new();
    for term in terms {
        if term.match_fields.as_ref().is_some_and(|f| !f.is_empty()) {
            return Err(ModelError::Affinity(
                "matchFields is not supported".to_owned(),
            ));
        }
        let mut all = Vec::new();
        for e in term.match_expressions.unwrap_or_default() {
            let values = e.values.unwrap_or_default();
            let number = |values: &[String]| match values {
                [one] => one.parse::<i64>().map_err(|_| {
                    ModelError::Affinity(format!("{}: {:?} is not an integer", e.operator, one))
                }),
                _ => Err(ModelError::Affinity(format!(
                    "{} takes one value",
                    e.operator
                ))),
            };
            all.push(match e.operator.as_str() {
                "In" => Requirement::In(e.key, values),
                "NotIn" => Requirement::NotIn(e.key, values),
                "Exists" => Requirement::Exists(e.key),
                "DoesNotExist" => Requirement::DoesNotExist(e.key),
                "Gt" => Requirement::Compare(e.key, std::cmp::Ordering::Greater, number(&values)?),
                "Lt" => Requirement::Compare(e.key, std::cmp::Ordering::Less, number(&values)?),
                other => {
                    return Err(ModelError::Affinity(format!(
                        "unknown operator {:?}",
                        other.chars().take(20).collect::<String>()
                    )))
                }
            });
        }
        out.push(all);
    }
    Ok(out)
}

/// Reads a pod's plan from its metadata and spec.
pub fn plan(meta: &ObjectMeta, spec: &PodSpec) -> Result<PodPlan, ModelError> {
    if spec.containers.is_empty() {
        return Err(ModelError::NoContainers);
    }
    let (mut cpus, mut mem, mut cpu_limit, mut mem_limit) = (0.0, 0.0, 0.0, 0.0);
    for container in &spec.containers {
        let read = |map: Option<&BTreeMap<_, _>>, key: &str, which: &str| {
            map.and_then(|m| m.get(key))
                .map(|q| {
                    let parsed = if key == "cpu" {
                        quantity::cpus(q)
                    } else {
                        quantity::mem_mb(q)
                    };
                    parsed.map_err(|source| ModelError::Quantity {
                        container: container.name.clone(),
                        resource: format!("{which}.{key}"),
                        source,
                    })
                })
                .transpose()
        };
        let resources = container.resources.as_ref();
        let requests = resources.and_then(|r| r.requests.as_ref());
        let limits = resources.and_then(|r| r.limits.as_ref());
        let (lc, lm) = (
            read(limits, "cpu", "limits")?,
            read(limits, "memory", "limits")?,
        );
        cpus += read(requests, "cpu", "requests")?.or(lc).unwrap_or(0.0);
        mem += read(requests, "memory", "requests")?.or(lm).unwrap_or(0.0);
        cpu_limit += lc.unwrap_or(0.0);
        mem_limit += lm.unwrap_or(0.0);
    }
    let grace = match spec.termination_grace_period_seconds {
        None => DEFAULT_GRACE,
        Some(s) if s < 0 => return Err(ModelError::NegativeGrace(s)),
        Some(s) => Duration::from_secs(s as u64),
    };
    let first = &spec.containers[0];
    let mut words: Vec<String> = first.command.clone().unwrap_or_default();
    words.extend(first.args.clone().unwrap_or_default());
    let argv = words.clone();
    let command = if words.is_empty() {
        first.image.clone().unwrap_or_else(|| first.name.clone())
    } else {
        words.join(" ")
    };
    let sim_labels = meta
        .annotations
        .iter()
        .flatten()
        .filter(|(k, _)| k.starts_with(SIM_PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(PodPlan {
        requests: Resources::new()
            .with_cpus(if cpus > 0.0 { cpus } else { MIN_CPUS })
            .with_mem(if mem > 0.0 { mem } else { MIN_MEM_MB }),
        limits: Resources::new().with_cpus(cpu_limit).with_mem(mem_limit),
        node_selector: spec.node_selector.clone().unwrap_or_default(),
        node_affinity: requirements(spec)?,
        grace,
        priority_class: spec.priority_class_name.clone(),
        command,
        argv,
        sim_labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{parse, Object};

    #[test]
    fn namespace_names_become_roles_or_are_refused() {
        assert_eq!(role_for("web").unwrap().as_str(), "web");
        assert_eq!(role_for("team-a2").unwrap().as_str(), "team-a2");
        for bad in [
            "",
            "Web",
            "-web",
            "web-",
            "a/b",
            "a b",
            "*",
            &"x".repeat(64),
        ] {
            assert!(
                matches!(role_for(bad), Err(ModelError::BadNamespace { .. })),
                "{bad:?} accepted"
            );
        }
    }

    fn pod(yaml: &str) -> Result<PodPlan, ModelError> {
        let Object::Pod(p) = parse(yaml).unwrap().remove(0) else {
            panic!("not a pod")
        };
        plan(&p.metadata, p.spec.as_ref().unwrap())
    }

    #[test]
    fn requests_limits_selector_grace_and_sim_hints() {
        let plan = pod("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    corral.sim/cleanup: \"500\"\n    other: x\nspec:\n  terminationGracePeriodSeconds: 5\n  nodeSelector: { disktype: ssd }\n  containers:\n  - name: a\n    image: nginx:1.27\n    resources:\n      requests: { cpu: 250m, memory: 64Mi }\n      limits: { cpu: 500m, memory: 128Mi }\n  - name: b\n    image: sidecar\n    resources:\n      limits: { cpu: \"1\", memory: 32Mi }\n").unwrap();
        assert_eq!(plan.requests.cpus(), 1.25);
        assert_eq!(plan.requests.mem(), 96.0);
        assert_eq!(plan.limits.cpus(), 1.5);
        assert_eq!(plan.limits.mem(), 160.0);
        assert_eq!(plan.node_selector.get("disktype").unwrap(), "ssd");
        assert_eq!(plan.grace, Duration::from_secs(5));
        assert_eq!(plan.command, "nginx:1.27");
        assert_eq!(
            plan.sim_labels,
            vec![("corral.sim/cleanup".into(), "500".into())]
        );
    }

    #[test]
    fn required_node_affinity_is_read_and_matched() {
        let plan = pod("apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n        nodeSelectorTerms:\n        - matchExpressions:\n          - { key: disktype, operator: In, values: [ssd, nvme] }\n          - { key: zone, operator: NotIn, values: [z9] }\n        - matchExpressions:\n          - { key: gpus, operator: Gt, values: [\"1\"] }\n  containers: [ { name: a } ]\n").unwrap();
        assert_eq!(plan.node_affinity.len(), 2);
        let agent = |attrs: &'static [(&'static str, &'static str)]| {
            move |k: &str| attrs.iter().find(|(a, _)| *a == k).map(|(_, v)| *v)
        };
        assert!(affinity_holds(
            &plan.node_affinity,
            agent(&[("disktype", "ssd"), ("zone", "z1")])
        ));
        assert!(!affinity_holds(
            &plan.node_affinity,
            agent(&[("disktype", "ssd"), ("zone", "z9")])
        ));
        assert!(!affinity_holds(
            &plan.node_affinity,
            agent(&[("disktype", "hdd")])
        ));
        assert!(affinity_holds(&plan.node_affinity, agent(&[("gpus", "2")])));
        assert!(!affinity_holds(
            &plan.node_affinity,
            agent(&[("gpus", "1")])
        ));
        assert!(affinity_holds(&[], agent(&[])));
        assert!(matches!(
            pod("apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [ { matchExpressions: [ { key: a, operator: Near } ] } ] } } }\n  containers: [ { name: a } ]\n"),
            Err(ModelError::Affinity(_))
        ));
    }

    #[test]
    fn defaults_and_refusals() {
        let plan = pod("apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers:\n  - name: a\n    command: [sleep]\n    args: [\"3600\"]\n").unwrap();
        assert_eq!(plan.grace, DEFAULT_GRACE);
        assert_eq!(plan.requests.cpus(), MIN_CPUS);
        assert_eq!(plan.command, "sleep 3600");
        assert_eq!(plan.argv, ["sleep", "3600"]);
        assert!(matches!(
            pod("apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec: { containers: [] }\n"),
            Err(ModelError::NoContainers)
        ));
        assert!(matches!(
            pod("apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers:\n  - name: a\n    resources: { requests: { cpu: lots } }\n"),
            Err(ModelError::Quantity { .. })
        ));
        assert!(matches!(
            pod("apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  terminationGracePeriodSeconds: -1\n  containers: [ { name: a } ]\n"),
            Err(ModelError::NegativeGrace(-1))
        ));
    }
}
