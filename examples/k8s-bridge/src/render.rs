//! The store's objects as the Kubernetes API shows them: the applied
//! object (or a Deployment's template, for its pods) with the fields the
//! API server fills in (`uid`, `creationTimestamp`, `generation`,
//! `ownerReferences`, `deletionTimestamp`) and a `status` read from the
//! bridge's state. `resourceVersion` is the catalog's
//! ([`crate::catalog`]).

use std::collections::BTreeMap;
use std::time::SystemTime;

use k8s_openapi::chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use crate::manifest::Kind;
use crate::store::{Key, Phase, PodEntry, Stamp, Store, WAITING};

/// Every object of `store`, rendered.
pub fn all(store: &Store) -> BTreeMap<(Kind, Key), Value> {
    let mut out = BTreeMap::new();
    for ((kind, key), object) in &store.applied {
        let mut value = object.to_value();
        let stamp = store.stamps.get(&(*kind, key.clone()));
        match kind {
            Kind::Pod => continue, // below, with every pod
            Kind::Namespace => {
                let phase = if store.terminating.contains(&key.1) {
                    "Terminating"
                } else {
                    "Active"
                };
                value["status"] = json!({ "phase": phase });
                value["spec"] = json!({ "finalizers": ["kubernetes"] });
            }
            Kind::Deployment => deployment(store, key, &mut value),
            Kind::ResourceQuota => quota(store, key, &mut value),
            Kind::PriorityClass => {}
        }
        meta(&mut value, stamp, None);
        out.insert((*kind, key.clone()), value);
    }
    for (key, pod) in &store.pods {
        let stamp = store.stamps.get(&(Kind::Pod, key.clone()));
        let owner = pod.owner.as_ref().and_then(|name| {
            let dkey = (key.0.clone(), name.clone());
            store
                .stamps
                .get(&(Kind::Deployment, dkey))
                .map(|s| (name.clone(), s.uid))
        });
        out.insert((Kind::Pod, key.clone()), self::pod(key, pod, stamp, owner));
    }
    out
}

/// A uid in Kubernetes's shape (a UUID) from the store's counter.
pub fn uid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// RFC 3339 in seconds, as Kubernetes writes times.
pub fn time(at: SystemTime) -> String {
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    DateTime::<Utc>::from_timestamp(i64::try_from(secs).unwrap_or(0), 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn meta(value: &mut Value, stamp: Option<&Stamp>, owner: Option<(String, u64)>) {
    let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(stamp) = stamp {
        meta.insert("uid".into(), Value::String(uid(stamp.uid)));
        meta.insert(
            "creationTimestamp".into(),
            Value::String(time(stamp.created_at)),
        );
    }
    if let Some((name, owner_uid)) = owner {
        meta.insert(
            "ownerReferences".into(),
            json!([{
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": name,
                "uid": uid(owner_uid),
                "controller": true,
                "blockOwnerDeletion": true,
            }]),
        );
    }
}

fn deployment(store: &Store, key: &Key, value: &mut Value) {
    let Some(d) = store.deployments.get(key) else {
        return;
    };
    value["spec"]["replicas"] = json!(d.replicas);
    value["metadata"]["generation"] = json!(d.generation);
    let mine: Vec<&PodEntry> = store
        .pods
        .iter()
        .filter(|((ns, _), p)| ns == &key.0 && p.owner.as_deref() == Some(key.1.as_str()))
        .map(|(_, p)| p)
        .collect();
    let live = mine.iter().filter(|p| p.is_live()).count();
    let ready = mine.iter().filter(|p| p.phase == Phase::Running).count();
    let updated = mine
        .iter()
        .filter(|p| p.is_live() && p.revision == d.revision)
        .count();
    let mut status = json!({
        "observedGeneration": d.generation,
        "replicas": live,
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "unavailableReplicas": live.saturating_sub(ready),
    });
    let available = ready >= d.replicas as usize;
    let mut conditions = vec![json!({
        "type": "Available",
        "status": if available { "True" } else { "False" },
        "reason": if available { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
        "message": if available { "Deployment has minimum availability." } else { "Deployment does not have minimum availability." },
    })];
    if let Some(why) = store.failed_create.get(key) {
        conditions.push(json!({
            "type": "ReplicaFailure",
            "status": "True",
            "reason": "FailedCreate",
            "message": why,
        }));
    }
    status["conditions"] = Value::Array(conditions);
    value["status"] = status;
}

fn quota(store: &Store, key: &Key, value: &mut Value) {
    let hard = value["spec"]["hard"].clone();
    let (mut cpus, mut mem, mut pods) = (0.0, 0.0, 0);
    for ((ns, _), p) in &store.pods {
        if ns == &key.0 && (p.is_live() || p.phase == Phase::Terminating) {
            cpus += p.plan.requests.cpus();
            mem += p.plan.requests.mem();
            pods += 1;
        }
    }
    let mut used = Map::new();
    if let Some(hard) = hard.as_object() {
        for name in hard.keys() {
            let v = match name.as_str() {
                "requests.cpu" | "cpu" => format!("{}m", (cpus * 1000.0).round()),
                "requests.memory" | "memory" => format!("{}Mi", mem.round()),
                "pods" => pods.to_string(),
                _ => continue,
            };
            used.insert(name.clone(), Value::String(v));
        }
    }
    value["status"] = json!({ "hard": hard, "used": used });
}

fn pod(key: &Key, pod: &PodEntry, stamp: Option<&Stamp>, owner: Option<(String, u64)>) -> Value {
    let mut value = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": pod.meta,
        "spec": pod.spec,
    });
    value["metadata"]["name"] = json!(key.1);
    value["metadata"]["namespace"] = json!(key.0);
    meta(&mut value, stamp, owner);
    if let Some(agent) = &pod.agent {
        value["spec"]["nodeName"] = json!(agent.as_str());
    }
    if pod.phase == Phase::Terminating {
        let grace = pod.plan.grace.as_secs();
        value["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
        value["metadata"]["deletionTimestamp"] =
            json!(time(pod.deleted_at.unwrap_or(SystemTime::UNIX_EPOCH)));
    }
    let started = stamp.map(|s| time(s.created_at));
    let (phase, scheduled, ready, state) = match &pod.phase {
        Phase::Pending(why) => (
            "Pending",
            Some(why.as_str()),
            false,
            json!({ "waiting": { "reason": "Pending" } }),
        ),
        Phase::Starting => (
            "Pending",
            None,
            false,
            json!({ "waiting": { "reason": "ContainerCreating" } }),
        ),
        Phase::Running | Phase::Terminating => (
            "Running",
            None,
            pod.phase == Phase::Running,
            json!({ "running": { "startedAt": started } }),
        ),
        Phase::Succeeded => (
            "Succeeded",
            None,
            false,
            json!({ "terminated": { "exitCode": 0, "reason": "Completed", "message": pod.ended } }),
        ),
        Phase::Failed(why) => (
            "Failed",
            None,
            false,
            json!({ "terminated": { "exitCode": 1, "reason": "Error", "message": pod.ended.as_deref().unwrap_or(why) } }),
        ),
    };
    let truth = |b: bool| if b { "True" } else { "False" };
    let mut conditions = Vec::new();
    match scheduled {
        Some(why) if why != WAITING => conditions.push(json!({
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": why,
        })),
        Some(_) => conditions.push(json!({ "type": "PodScheduled", "status": "False" })),
        None => {
            conditions.push(json!({ "type": "PodScheduled", "status": "True" }));
            conditions.push(json!({ "type": "Initialized", "status": "True" }));
            conditions.push(json!({ "type": "ContainersReady", "status": truth(ready) }));
            conditions.push(json!({ "type": "Ready", "status": truth(ready) }));
        }
    }
    let containers: Vec<Value> = pod
        .spec
        .containers
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "image": c.image.clone().unwrap_or_default(),
                "imageID": "",
                "ready": ready,
                "started": matches!(pod.phase, Phase::Running | Phase::Terminating),
                "restartCount": 0,
                "state": state,
            })
        })
        .collect();
    let mut status = json!({
        "phase": phase,
        "conditions": conditions,
        "containerStatuses": containers,
        "qosClass": "Burstable",
    });
    if scheduled.is_none() {
        status["hostIP"] = json!("127.0.0.1");
        status["startTime"] = json!(started);
    }
    value["status"] = status;
    value
}
