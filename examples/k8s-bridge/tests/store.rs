//! The Deployment controller and deletes, without a master: replicas are
//! kept, scaling down picks Pending pods first and then the newest, a
//! delete asks for a kill with the pod's grace period.

use std::time::Duration;

use corral::TaskId;
use k8s_bridge::store::{ApplyError, Phase, Store};
use k8s_bridge::{parse, Object};

fn key(ns: &str, name: &str) -> (String, String) {
    (ns.to_owned(), name.to_owned())
}

fn store_with(replicas: u32) -> Store {
    let mut store = Store::default();
    let text = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{ name: web }}\n---\n\
         apiVersion: apps/v1\nkind: Deployment\nmetadata: {{ name: nginx, namespace: web }}\n\
         spec:\n  replicas: {replicas}\n  selector: {{ matchLabels: {{ app: nginx }} }}\n\
         \x20 template:\n    metadata: {{ labels: {{ app: nginx }} }}\n    spec:\n\
         \x20     terminationGracePeriodSeconds: 7\n      containers: [ {{ name: nginx, image: nginx }} ]\n"
    );
    for object in parse(&text).unwrap() {
        store.apply(object).unwrap();
    }
    store
}

/// Marks a pod as launched and running as `task`.
fn run(store: &mut Store, name: &str, task: &str) {
    let pod = store.pods.get_mut(&key("web", name)).unwrap();
    pod.phase = Phase::Running;
    pod.task = Some(TaskId::new(task));
}

#[test]
fn a_deployment_keeps_its_replicas() {
    let mut store = store_with(3);
    assert!(store.reconcile_deployments().is_empty());
    let names: Vec<_> = store.pods.keys().map(|(_, n)| n.clone()).collect();
    assert_eq!(names, ["nginx-1", "nginx-2", "nginx-3"]);
    // Reconciling again creates nothing more.
    store.reconcile_deployments();
    assert_eq!(store.pods.len(), 3);
}

#[test]
fn scaling_down_takes_pending_pods_first_then_the_newest() {
    let mut store = store_with(4);
    store.reconcile_deployments();
    // nginx-1, -2 and -4 run; nginx-3 is still Pending.
    run(&mut store, "nginx-1", "t1");
    run(&mut store, "nginx-2", "t2");
    run(&mut store, "nginx-4", "t4");
    assert!(store.scale(&key("web", "nginx"), 2));
    let kills = store.reconcile_deployments();
    // The Pending one is forgotten at once; the newest running one is
    // killed with its grace period.
    assert!(!store.pods.contains_key(&key("web", "nginx-3")));
    assert_eq!(kills.len(), 1);
    assert_eq!(kills[0].task, TaskId::new("t4"));
    assert_eq!(kills[0].grace, Duration::from_secs(7));
    assert_eq!(store.pods[&key("web", "nginx-4")].phase, Phase::Terminating);
    // Terminating pods do not count: nothing more is picked.
    assert!(store.reconcile_deployments().is_empty());
}

#[test]
fn scaling_up_adds_new_names() {
    let mut store = store_with(1);
    store.reconcile_deployments();
    assert!(store.scale(&key("web", "nginx"), 2));
    store.reconcile_deployments();
    assert!(store.pods.contains_key(&key("web", "nginx-2")));
    assert!(!store.scale(&key("web", "nope"), 2));
}

#[test]
fn deleting_a_pending_pod_forgets_it_and_a_running_one_is_killed() {
    let mut store = store_with(2);
    store.reconcile_deployments();
    run(&mut store, "nginx-1", "t1");
    assert_eq!(store.delete_pod(&key("web", "nginx-2")), None);
    assert!(!store.pods.contains_key(&key("web", "nginx-2")));
    let kill = store.delete_pod(&key("web", "nginx-1")).unwrap();
    assert_eq!(kill.grace, Duration::from_secs(7));
    // A second delete while Terminating sends nothing more.
    assert_eq!(store.delete_pod(&key("web", "nginx-1")), None);
}

#[test]
fn objects_in_a_missing_namespace_are_refused() {
    let mut store = Store::default();
    let pod = parse("apiVersion: v1\nkind: Pod\nmetadata: { name: p, namespace: nowhere }\nspec: { containers: [ { name: c } ] }\n").unwrap();
    let Some(Object::Pod(_)) = pod.first() else {
        panic!()
    };
    let err = store.apply(pod.into_iter().next().unwrap()).unwrap_err();
    assert!(matches!(err, ApplyError::NoNamespace(ref ns) if ns == "nowhere"));
    assert_eq!(err.to_string(), "namespaces \"nowhere\" not found");
    let bad_ns = parse("apiVersion: v1\nkind: Namespace\nmetadata: { name: Bad_Name }\n").unwrap();
    assert!(matches!(
        store.apply(bad_ns.into_iter().next().unwrap()),
        Err(ApplyError::Model { .. })
    ));
}

#[test]
fn quotas_and_priority_classes_are_recorded() {
    let mut store = store_with(0);
    let text = "apiVersion: v1\nkind: ResourceQuota\nmetadata: { name: q, namespace: web }\nspec: { hard: { requests.cpu: \"2\", requests.memory: 1Gi } }\n---\napiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: { name: low }\nvalue: -10\n";
    for object in parse(text).unwrap() {
        store.apply(object).unwrap();
    }
    assert_eq!(store.quotas["web"].cpus(), 2.0);
    assert_eq!(store.quotas["web"].mem(), 1024.0);
    assert_eq!(store.priority_classes["low"], -10);
    let bad = parse("apiVersion: v1\nkind: ResourceQuota\nmetadata: { name: q, namespace: web }\nspec: { hard: { requests.cpu: lots } }\n").unwrap();
    assert!(matches!(
        store.apply(bad.into_iter().next().unwrap()),
        Err(ApplyError::Quota { .. })
    ));
}

#[test]
fn quota_admission_refuses_pods_over_the_namespace_quota() {
    let mut store = store_with(0);
    let quota = "apiVersion: v1\nkind: ResourceQuota\nmetadata: { name: compute, namespace: web }\nspec: { hard: { requests.cpu: \"1\" } }\n";
    store.apply(parse(quota).unwrap().remove(0)).unwrap();
    let pod = |name: &str| {
        parse(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{ name: {name}, namespace: web }}\n\
             spec: {{ containers: [ {{ name: c, resources: {{ requests: {{ cpu: 600m }} }} }} ] }}\n"
        ))
        .unwrap()
        .remove(0)
    };
    store.apply(pod("a")).unwrap();
    let err = store.apply(pod("b")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "pods \"b\" is forbidden: exceeded quota: compute, requested: requests.cpu=0.6, \
         used: requests.cpu=0.6, limited: requests.cpu=1"
    );
    assert!(!store.pods.contains_key(&key("web", "b")));

    // A Deployment's replicas stop at the quota, with the reason kept.
    assert!(
        store.delete_pod(&key("web", "a")).is_none(),
        "a was pending: forgotten"
    );
    let nginx = key("web", "nginx");
    assert!(store.scale(&nginx, 3));
    store.reconcile_deployments();
    // nginx's pods ask the minimum (0.1 CPU): 10 fit in 1 CPU, 3 asked.
    assert_eq!(store.pods.len(), 3);
    assert!(store.failed_create.is_empty());
    assert!(store.scale(&nginx, 12));
    store.reconcile_deployments();
    assert_eq!(store.pods.len(), 10);
    let why = &store.failed_create[&nginx];
    assert!(
        why.starts_with("pods \"nginx-11\" is forbidden: exceeded quota: compute"),
        "{why}"
    );
}

#[test]
fn a_deleted_namespace_stays_terminating_until_its_last_pod_ends() {
    let mut store = store_with(2);
    store.reconcile_deployments();
    run(&mut store, "nginx-1", "t1");
    let kills = store.delete_namespace("web").unwrap();
    assert_eq!(kills.len(), 1, "the running pod is killed");
    assert!(store.deployments.is_empty());
    assert_eq!(store.pods.len(), 1, "the Pending pod is gone");
    store.finish_namespaces();
    assert!(store.namespaces.contains_key("web"), "a pod still ends");
    let again = parse("apiVersion: v1\nkind: Namespace\nmetadata: { name: web }\n").unwrap();
    assert!(matches!(
        store.apply(again.into_iter().next().unwrap()),
        Err(ApplyError::NamespaceTerminating(_))
    ));
    store.pods.clear();
    store.finish_namespaces();
    assert!(store.namespaces.is_empty());
    assert!(store.delete_namespace("web").is_none());
}

fn with_strategy(replicas: u32, strategy: &str) -> Result<(u32, u32), ApplyError> {
    let mut store = Store::default();
    let text = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{ name: web }}\n---\n\
         apiVersion: apps/v1\nkind: Deployment\nmetadata: {{ name: nginx, namespace: web }}\n\
         spec:\n  replicas: {replicas}\n  strategy: {strategy}\n  selector: {{ matchLabels: {{ app: nginx }} }}\n\
         \x20 template:\n    spec:\n      containers: [ {{ name: nginx, image: nginx }} ]\n"
    );
    for object in parse(&text).unwrap() {
        store.apply(object)?;
    }
    let d = &store.deployments[&key("web", "nginx")];
    Ok((d.max_surge, d.max_unavailable))
}

#[test]
fn max_surge_and_max_unavailable_read_as_kubernetes_reads_them() {
    // Defaults 25%: surge rounds up, unavailable down (0 becomes 1 when
    // both would be 0).
    assert_eq!(with_strategy(10, "{}").unwrap(), (3, 2));
    assert_eq!(with_strategy(2, "{}").unwrap(), (1, 0));
    let rolling =
        |s: &str, u: &str| format!("{{ rollingUpdate: {{ maxSurge: {s}, maxUnavailable: {u} }} }}");
    assert_eq!(with_strategy(10, &rolling("2", "\"30%\"")).unwrap(), (2, 3));
    assert_eq!(with_strategy(3, &rolling("\"50%\"", "0")).unwrap(), (2, 0));
    assert_eq!(with_strategy(4, "{ type: Recreate }").unwrap(), (0, 4));
    assert!(matches!(
        with_strategy(4, &rolling("0", "0")),
        Err(ApplyError::BadStrategy { .. })
    ));
    assert!(matches!(
        with_strategy(4, &rolling("\"lots\"", "1")),
        Err(ApplyError::BadStrategy { .. })
    ));
    assert!(matches!(
        with_strategy(4, &rolling("-1", "1")),
        Err(ApplyError::BadStrategy { .. })
    ));
}
