//! The bridge on the testkit's virtual-time cluster: Deployments scale up
//! and down, a namespace applied at run time becomes a role, a delete takes
//! the pod's grace period and no longer, and a revocation takes the
//! low-priority pods while regular pods on the same agent keep running.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use corral::sim::SimulatedTask;
use corral::{
    CommandInfo, Config, Driver, FrameworkId, FrameworkInfo, Offer, Resources, Role, Scheduler,
    TaskInfo, TaskState,
};
use corral_testkit::allocator::Quota;
use corral_testkit::harness::Injector;
use corral_testkit::{CallKind, Cluster, MasterConfig, MasterState, Running};
use k8s_bridge::{parse, Bridge, BridgeConfig, Input, Phase};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn key(ns: &str, name: &str) -> (String, String) {
    (ns.to_owned(), name.to_owned())
}

fn deployment(ns: &str, name: &str, replicas: u32, extra_spec: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{ name: {name}, namespace: {ns} }}\n\
         spec:\n  replicas: {replicas}\n  selector: {{ matchLabels: {{ app: {name} }} }}\n\
         \x20 template:\n    metadata: {{ labels: {{ app: {name} }} }}\n    spec:\n{extra_spec}\
         \x20     containers:\n      - name: main\n        image: example/{name}\n\
         \x20       resources: {{ requests: {{ cpu: \"1\", memory: 128Mi }} }}\n"
    )
}

fn namespace(name: &str) -> String {
    format!("apiVersion: v1\nkind: Namespace\nmetadata: {{ name: {name} }}\n")
}

/// Starts the bridge with `manifests` applied before it subscribes.
async fn start(
    cluster: &mut Cluster,
    manifests: &str,
    config: BridgeConfig,
) -> (Running<Bridge>, Injector<Input>) {
    let mut bridge = Bridge::new(config);
    let refused = bridge.preload(parse(manifests).unwrap());
    assert!(refused.is_empty(), "{refused:?}");
    let info = bridge.framework_info();
    cluster
        .launch_with_inputs(info, Config::default(), bridge, 16)
        .await
}

fn live_tasks(state: &MasterState, fw: &FrameworkId) -> Vec<String> {
    state
        .tasks
        .iter()
        .filter(|t| &t.framework == fw && !t.state.is_terminal())
        .map(|t| t.id.to_string())
        .collect()
}

fn running_in(state: &MasterState, fw: &FrameworkId, role: &str) -> usize {
    state
        .tasks
        .iter()
        .filter(|t| &t.framework == fw && t.state == TaskState::Running && t.role.as_str() == role)
        .count()
}

/// Stops the bridge and returns it, with its store.
async fn stop(running: Running<Bridge>) -> Bridge {
    running.driver().stop();
    running.join().await.1
}

fn two_agents() -> MasterConfig {
    MasterConfig::default()
        .agents(2, Resources::parse("cpus:4;mem:4096").unwrap())
        .allocation_interval(Duration::from_millis(100))
        .seed(3)
}

#[tokio::test(start_paused = true)]
async fn a_deployment_scales_up_and_down_keeping_the_oldest_pods() {
    let mut cluster = Cluster::start(two_agents()).await.unwrap();
    let manifests = format!(
        "{}---\n{}",
        namespace("web"),
        deployment("web", "nginx", 2, "")
    );
    let (running, injector) = start(&mut cluster, &manifests, BridgeConfig::default()).await;
    let fw = running.id().clone();
    cluster
        .run_until(secs(30), |s, _| running_in(s, &fw, "web") == 2)
        .await;

    injector
        .send(Input::Scale(key("web", "nginx"), 5))
        .await
        .unwrap();
    cluster
        .run_until(secs(30), |s, _| running_in(s, &fw, "web") == 5)
        .await;

    injector
        .send(Input::Scale(key("web", "nginx"), 1))
        .await
        .unwrap();
    cluster
        .run_until(secs(60), |s, _| live_tasks(s, &fw).len() == 1)
        .await;
    cluster.advance(secs(1)).await;

    let bridge = stop(running).await;
    let pods: Vec<_> = bridge.store().pods.keys().map(|(_, n)| n.clone()).collect();
    assert_eq!(pods, ["nginx-1"], "the oldest pod is kept");
    assert_eq!(
        bridge.store().pods[&key("web", "nginx-1")].phase,
        Phase::Running
    );
}

#[tokio::test(start_paused = true)]
async fn a_namespace_applied_at_run_time_becomes_a_role_and_deleted_is_removed() {
    let mut cluster = Cluster::start(two_agents()).await.unwrap();
    let (running, injector) = start(&mut cluster, &namespace("web"), BridgeConfig::default()).await;
    let fw = running.id().clone();
    let roles = |s: &MasterState| {
        s.framework(&fw)
            .map(|f| f.roles.iter().map(|r| r.to_string()).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(roles(&cluster.state()), ["web"]);

    let added = format!(
        "{}---\n{}",
        namespace("batch"),
        deployment("batch", "etl", 1, "")
    );
    injector
        .send(Input::Apply(parse(&added).unwrap()))
        .await
        .unwrap();
    cluster
        .run_until(secs(30), |s, _| running_in(s, &fw, "batch") == 1)
        .await;
    assert_eq!(roles(&cluster.state()), ["batch", "web"]);
    let updates = cluster
        .trace()
        .calls_of_kind(&fw, CallKind::UpdateFramework)
        .len();
    assert_eq!(updates, 1, "one UPDATE_FRAMEWORK for one new namespace");

    // Deleted, the namespace keeps its role until its pod has ended.
    injector
        .send(Input::DeleteNamespace("batch".into()))
        .await
        .unwrap();
    cluster
        .run_until(secs(60), |s, _| roles(s) == ["web"])
        .await;
    assert_eq!(running_in(&cluster.state(), &fw, "batch"), 0);
    let updates = cluster
        .trace()
        .calls_of_kind(&fw, CallKind::UpdateFramework)
        .len();
    assert_eq!(updates, 2, "one more UPDATE_FRAMEWORK, once the pod ended");
    let bridge = stop(running).await;
    assert!(!bridge.store().namespaces.contains_key("batch"));
    assert!(bridge.store().pods.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_delete_takes_the_grace_period_and_no_longer() {
    let mut cluster = Cluster::start(two_agents()).await.unwrap();
    // `slow` ignores SIGTERM for a minute: the 10 s grace cuts it short.
    // `quick` stops 2 s after the signal, well within its 10 s.
    let pod = |name: &str, cleanup_ms: u64| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: web\n  annotations: {{ corral.sim/cleanup: \"{cleanup_ms}\" }}\n\
             spec:\n  terminationGracePeriodSeconds: 10\n  containers: [ {{ name: main, image: example/app }} ]\n"
        )
    };
    let manifests = format!(
        "{}---\n{}---\n{}",
        namespace("web"),
        pod("slow", 60_000),
        pod("quick", 2_000)
    );
    let (running, injector) = start(&mut cluster, &manifests, BridgeConfig::default()).await;
    let fw = running.id().clone();
    cluster
        .run_until(secs(30), |s, _| running_in(s, &fw, "web") == 2)
        .await;

    for name in ["slow", "quick"] {
        let started = cluster.now();
        let task = cluster
            .state()
            .tasks
            .iter()
            .find(|t| t.framework == fw && t.id.as_str().starts_with(&format!("web.{name}.")))
            .map(|t| t.id.clone())
            .unwrap();
        injector
            .send(Input::DeletePod(key("web", name)))
            .await
            .unwrap();
        cluster
            .run_until(secs(120), |_, trace| {
                trace.last_state(&task) == Some(TaskState::Killed)
            })
            .await;
        let took = cluster.now() - started;
        let expected = if name == "slow" { secs(10) } else { secs(2) };
        assert!(
            took >= expected && took < expected + Duration::from_millis(500),
            "{name}: deleted in {took:?}, expected {expected:?}"
        );
        let states = cluster.trace().states_seen(&task);
        assert_eq!(
            states[states.len() - 2..],
            [TaskState::Killing, TaskState::Killed],
            "{name}: Terminating (TASK_KILLING) until KILLED"
        );
    }
    let bridge = stop(running).await;
    assert!(bridge.store().pods.is_empty(), "deleted pods are forgotten");
}

/// The role that owns part of the agent (its guarantee) and lends it
/// while idle; when `want` is set it launches one 4-CPU task.
struct Owner {
    want: Arc<AtomicBool>,
}

#[async_trait]
impl Scheduler for Owner {
    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
        let needs = Resources::new().with_cpus(4.0).with_mem(512.0);
        for offer in offers {
            if self.want.load(Ordering::SeqCst) && offer.regular().contains(&needs) {
                let task = TaskInfo::new("owner-1")
                    .with_resources(needs.clone())
                    .with_command(CommandInfo::shell("serve"))
                    .simulated(SimulatedTask::until_killed());
                if driver.launch(&offer, vec![task]).await.is_ok() {
                    self.want.store(false, Ordering::SeqCst);
                }
            }
        }
    }

    fn wants_offers(&self, _: &Role) -> Option<bool> {
        Some(self.want.load(Ordering::SeqCst))
    }
}

#[tokio::test(start_paused = true)]
async fn revocation_takes_low_priority_pods_and_spares_regular_ones_on_the_same_agent() {
    // One 6-CPU agent; 4 CPUs are `owner`'s guarantee, lent while idle.
    // The web pods take the other 2; the batch pods borrow 2 of the 4, so
    // the owner's 4-CPU task needs them back.
    let config = MasterConfig::default()
        .agents(1, Resources::parse("cpus:6;mem:8192").unwrap())
        .quota(
            "owner",
            Quota {
                guarantee: Resources::new().with_cpus(4.0),
                limit: None,
            },
        )
        .allocation_interval(Duration::from_millis(100))
        .revocation_notice(secs(5))
        .seed(11);
    let mut cluster = Cluster::start(config).await.unwrap();
    let want = Arc::new(AtomicBool::new(false));
    let owner = cluster
        .launch(
            FrameworkInfo::new("owner").with_roles(["owner"]),
            Owner { want: want.clone() },
        )
        .await;
    let manifests = format!(
        "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {{ name: best-effort }}\nvalue: -100\n---\n\
         {}---\n{}---\n{}---\n{}",
        namespace("web"),
        namespace("batch"),
        deployment("web", "nginx", 2, ""),
        deployment("batch", "crunch", 2, "      priorityClassName: best-effort\n")
    );
    let (running, _injector) = start(&mut cluster, &manifests, BridgeConfig::default()).await;
    let fw = running.id().clone();
    cluster
        .run_until(secs(60), |s, _| {
            running_in(s, &fw, "web") == 2 && running_in(s, &fw, "batch") == 2
        })
        .await;
    // The batch pods run on lent (revocable) resources, the web pods not.
    let state = cluster.state();
    for t in state.tasks.iter().filter(|t| t.framework == fw) {
        let lent = !t.resources.only_revocable().is_empty();
        assert_eq!(lent, t.role.as_str() == "batch", "{t:?}");
    }
    let web_tasks: Vec<_> = state
        .tasks
        .iter()
        .filter(|t| t.framework == fw && t.role.as_str() == "web")
        .map(|t| t.id.clone())
        .collect();
    let batch_tasks: Vec<_> = state
        .tasks
        .iter()
        .filter(|t| t.framework == fw && t.role.as_str() == "batch")
        .map(|t| t.id.clone())
        .collect();
    assert_eq!(batch_tasks.len(), 2);

    // The owner wants its CPUs back.
    want.store(true, Ordering::SeqCst);
    let role = Role::from("owner");
    owner
        .driver()
        .request(&role, &Resources::new().with_cpus(4.0))
        .await
        .unwrap();
    owner.driver().revive(&[role]).await.unwrap();
    cluster
        .run_until(secs(60), |s, _| {
            s.tasks
                .iter()
                .any(|t| t.id.as_str() == "owner-1" && t.state == TaskState::Running)
        })
        .await;
    cluster.advance(secs(2)).await;

    let trace = cluster.trace();
    assert_eq!(
        trace
            .calls_of_kind(&fw, CallKind::AcceptInverseOffers)
            .len(),
        1,
        "the bridge released the revoked pods"
    );
    for task in &web_tasks {
        assert_eq!(
            trace.states_seen(task),
            [TaskState::Staging, TaskState::Starting, TaskState::Running],
            "regular pod {task} kept running"
        );
    }
    for task in &batch_tasks {
        let states = trace.states_seen(task);
        assert_eq!(
            states[states.len() - 2..],
            [TaskState::Killing, TaskState::Killed],
            "low-priority pod {task} terminated gracefully"
        );
    }
    let bridge = stop(running).await;
    let store = bridge.store();
    // The revoked pods were replaced by their Deployment and wait, Pending,
    // for lent resources; the web pods still run.
    let batch: Vec<_> = store
        .pods
        .iter()
        .filter(|((ns, _), _)| ns == "batch")
        .map(|((_, n), p)| (n.clone(), matches!(p.phase, Phase::Pending(_))))
        .collect();
    assert_eq!(
        batch,
        [("crunch-3".to_owned(), true), ("crunch-4".to_owned(), true)]
    );
    assert!(store
        .pods
        .iter()
        .filter(|((ns, _), _)| ns == "web")
        .all(|(_, p)| p.phase == Phase::Running));
}

#[tokio::test(start_paused = true)]
async fn a_pod_that_fits_nowhere_stays_pending_with_the_schedulers_reason() {
    let mut cluster = Cluster::start(two_agents()).await.unwrap();
    let manifests = format!(
        "{}---\napiVersion: v1\nkind: Pod\nmetadata: {{ name: huge, namespace: web }}\n\
         spec:\n  containers:\n  - name: main\n    resources: {{ requests: {{ cpu: \"16\" }} }}\n\
         ---\napiVersion: v1\nkind: Pod\nmetadata: {{ name: picky, namespace: web }}\n\
         spec:\n  nodeSelector: {{ disktype: ssd }}\n  containers: [ {{ name: main }} ]\n",
        namespace("web")
    );
    let (running, _injector) = start(&mut cluster, &manifests, BridgeConfig::default()).await;
    cluster.advance(secs(5)).await;
    let bridge = stop(running).await;
    let phase = |name: &str| bridge.store().pods[&key("web", name)].phase.clone();
    let Phase::Pending(huge) = phase("huge") else {
        panic!("{:?}", phase("huge"))
    };
    assert!(
        huge.starts_with("0/") && huge.ends_with("nodes are available: 2 Insufficient cpu."),
        "{huge}"
    );
    let Phase::Pending(picky) = phase("picky") else {
        panic!("{:?}", phase("picky"))
    };
    assert!(
        picky.ends_with("2 node(s) didn't match Pod's node affinity/selector."),
        "{picky}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_pod_over_its_namespace_quota_is_refused_and_the_rest_run() {
    let mut cluster = Cluster::start(two_agents()).await.unwrap();
    let manifests = format!(
        "{}---\napiVersion: v1\nkind: ResourceQuota\nmetadata: {{ name: compute, namespace: web }}\n\
         spec: {{ hard: {{ requests.cpu: \"2\" }} }}\n---\n{}",
        namespace("web"),
        deployment("web", "nginx", 3, "")
    );
    let (running, injector) = start(&mut cluster, &manifests, BridgeConfig::default()).await;
    let fw = running.id().clone();
    // Two 1-CPU replicas fit in the 2-CPU quota; the third is not created.
    cluster
        .run_until(secs(30), |s, _| running_in(s, &fw, "web") == 2)
        .await;
    let extra = "apiVersion: v1\nkind: Pod\nmetadata: { name: extra, namespace: web }\n\
                 spec: { containers: [ { name: c, resources: { requests: { cpu: 500m } } } ] }\n";
    injector
        .send(Input::Apply(parse(extra).unwrap()))
        .await
        .unwrap();
    cluster.advance(secs(5)).await;
    assert_eq!(running_in(&cluster.state(), &fw, "web"), 2);
    let bridge = stop(running).await;
    assert_eq!(
        bridge.refused(),
        [
            "Pod/extra: pods \"extra\" is forbidden: exceeded quota: compute, \
          requested: requests.cpu=0.5, used: requests.cpu=2, limited: requests.cpu=2"
        ]
    );
    let why = &bridge.store().failed_create[&key("web", "nginx")];
    assert!(why.starts_with("pods \"nginx-3\" is forbidden"), "{why}");
}

/// The pod number of a task id `web.nginx-7.12`.
fn pod_number(task: &str) -> u64 {
    task.split('.')
        .nth(1)
        .and_then(|pod| pod.rsplit('-').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(start_paused = true)]
async fn a_rolling_update_never_drops_below_replicas_minus_max_unavailable() {
    let mut cluster = Cluster::start(two_agents()).await.unwrap();
    // 4 replicas: Kubernetes's defaults give maxSurge 1 (25%, up) and
    // maxUnavailable 1 (25%, down). Old pods take 2 s to stop.
    let v1 = deployment(
        "web",
        "nginx",
        4,
        "      terminationGracePeriodSeconds: 5\n",
    );
    let sim =
        "    metadata: { labels: { app: nginx }, annotations: { corral.sim/cleanup: \"2000\" } }\n";
    let v1 = v1.replace("    metadata: { labels: { app: nginx } }\n", sim);
    let manifests = format!("{}---\n{v1}", namespace("web"));
    let (running, injector) = start(&mut cluster, &manifests, BridgeConfig::default()).await;
    let fw = running.id().clone();
    cluster
        .run_until(secs(30), |s, _| running_in(s, &fw, "web") == 4)
        .await;

    // A new template (another grace period): every pod is replaced.
    let v2 = v1.replace(
        "terminationGracePeriodSeconds: 5",
        "terminationGracePeriodSeconds: 6",
    );
    injector
        .send(Input::Apply(parse(&v2).unwrap()))
        .await
        .unwrap();
    let (mut min_running, mut max_live) = (usize::MAX, 0);
    cluster
        .run_until(secs(120), |s, _| {
            let live = live_tasks(s, &fw);
            min_running = min_running.min(running_in(s, &fw, "web"));
            // Terminating pods do not count toward the surge (as in
            // Kubernetes, whose ReplicaSets do not count them).
            let not_killing = s
                .tasks
                .iter()
                .filter(|t| {
                    t.framework == fw && !t.state.is_terminal() && t.state != TaskState::Killing
                })
                .count();
            max_live = max_live.max(not_killing);
            let running: Vec<&str> = s
                .tasks
                .iter()
                .filter(|t| t.framework == fw && t.state == TaskState::Running)
                .map(|t| t.id.as_str())
                .collect();
            live.len() == 4 && running.len() == 4 && running.iter().all(|t| pod_number(t) > 4)
        })
        .await;
    cluster.advance(secs(1)).await;
    assert!(
        min_running >= 3,
        "available fell to {min_running}, below 4 - 1"
    );
    assert!(
        max_live <= 5,
        "{max_live} pods live and not terminating, above 4 + 1"
    );
    let bridge = stop(running).await;
    let store = bridge.store();
    let pods: Vec<u64> = store
        .pods
        .keys()
        .map(|(_, n)| n.rsplit('-').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(pods.len(), 4, "{pods:?}");
    assert!(pods.iter().all(|n| *n > 4), "old pods left: {pods:?}");
    let d = &store.deployments[&key("web", "nginx")];
    assert_eq!((d.revision, d.max_surge, d.max_unavailable), (2, 1, 1));
    assert!(store.pods.values().all(|p| p.phase == Phase::Running));
}

#[tokio::test(start_paused = true)]
async fn a_master_failover_keeps_every_pod_and_starts_none_twice() {
    let mut cluster = Cluster::start(two_agents()).await.unwrap();
    let manifests = format!(
        "{}---\n{}",
        namespace("web"),
        deployment("web", "nginx", 4, "")
    );
    let (running, _injector) = start(&mut cluster, &manifests, BridgeConfig::default()).await;
    let fw = running.id().clone();
    cluster
        .run_until(secs(30), |s, _| running_in(s, &fw, "web") == 4)
        .await;
    let before = {
        let mut ids = Vec::new();
        cluster
            .run_until(secs(1), |s, _| {
                ids = live_tasks(s, &fw);
                true
            })
            .await;
        ids.sort();
        ids
    };
    let accepts = cluster.trace().calls_of_kind(&fw, CallKind::Accept).len();

    cluster.fail_over_master();
    cluster
        .run_until(secs(60), |s, trace| {
            trace.calls_of_kind(&fw, CallKind::Subscribe).len() == 2
                && !trace.calls_of_kind(&fw, CallKind::Reconcile).is_empty()
                && running_in(s, &fw, "web") == 4
        })
        .await;
    cluster.advance(secs(10)).await;

    let trace = cluster.trace();
    assert_eq!(
        trace.calls_of_kind(&fw, CallKind::Subscribe).len(),
        2,
        "resubscribed once"
    );
    assert_eq!(
        trace.calls_of_kind(&fw, CallKind::Accept).len(),
        accepts,
        "nothing launched again"
    );
    let mut after = Vec::new();
    cluster
        .run_until(secs(1), |s, _| {
            after = live_tasks(s, &fw);
            true
        })
        .await;
    after.sort();
    assert_eq!(after, before, "the same tasks run");
    let bridge = stop(running).await;
    assert_eq!(bridge.store().pods.len(), 4);
    assert!(bridge
        .store()
        .pods
        .values()
        .all(|p| p.phase == Phase::Running));
}
