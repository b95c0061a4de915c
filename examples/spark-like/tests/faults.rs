//! The backend under faults and limits on the virtual-time cluster: task
//! failures up to and past spark.task.maxFailures, agent exclusion, a
//! master failover, constraints, spark.cores.max, the decline filters.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use corral::Reason;
use corral::{AgentId, Resources, TaskState};
use corral_testkit::{AgentSpec, Call, CallKind, Cluster, MasterConfig, MasterState};
use spark_like::dag::{DurationDist, JobSpec};
use spark_like::report::Report;
use support::{conf, launch, run_to_end};

fn agents(n: usize) -> MasterConfig {
    MasterConfig::default()
        .agents(n, Resources::parse("cpus:4;mem:8192").unwrap())
        .role("spark", 1.0)
        .seed(5)
}

fn synthetic(tasks: &[usize], ms: u64) -> JobSpec {
    JobSpec::synthetic(
        tasks,
        &DurationDist::Fixed(Duration::from_millis(ms)),
        None,
        1,
    )
}

/// The running (non-terminal) task of `framework` whose id starts with `prefix`.
fn running_task(state: &MasterState, prefix: &str) -> Option<corral::TaskId> {
    state
        .tasks
        .iter()
        .find(|t| t.id.as_str().starts_with(prefix) && t.state == TaskState::Running)
        .map(|t| t.id.clone())
}

/// Fails partition 3 of stage 0 `times` times (fine mode), then runs to the end.
async fn fail_partition(times: usize, pairs: &[&str]) -> (Report, Cluster) {
    let mut cluster = Cluster::start(agents(2)).await.unwrap();
    let (running, _inputs) = launch(&mut cluster, synthetic(&[8], 1000), conf(pairs)).await;
    let fw = running.id().clone();
    let mut failed = BTreeSet::new();
    for _ in 0..times {
        let mut victim = None;
        cluster
            .run_until(Duration::from_secs(60), |state, _| {
                victim = running_task(state, "task-0.3-").filter(|t| !failed.contains(t));
                victim.is_some()
            })
            .await;
        let victim = victim.expect("partition 3 runs again");
        cluster
            .fail_task(&fw, &victim, Reason::CommandExecutorFailed, "disk full")
            .unwrap();
        failed.insert(victim);
    }
    let backend = run_to_end(&cluster, running, Duration::from_secs(120), |_| {}).await;
    (Report::of(&backend), cluster)
}

#[tokio::test(start_paused = true)]
async fn a_failed_task_is_retried_and_the_job_succeeds() {
    let (report, cluster) =
        fail_partition(2, &["spark.mesos.coarse=false", "spark.task.maxFailures=3"]).await;
    assert_eq!(report.failure, None);
    assert_eq!(report.retries, 2);
    assert_eq!(report.stages[0].done, 8);
    cluster.assert_settled();
}

#[tokio::test(start_paused = true)]
async fn a_task_failing_max_failures_times_fails_the_job_with_its_reason() {
    let (report, _cluster) =
        fail_partition(2, &["spark.mesos.coarse=false", "spark.task.maxFailures=2"]).await;
    let failure = report.failure.expect("the job failed");
    assert!(
        failure.contains("task 3 of (synthetic, 8 tasks) failed 2 times"),
        "{failure}"
    );
    assert!(failure.contains("spark.task.maxFailures=2"), "{failure}");
    assert!(
        failure.contains("disk full"),
        "the last failure's message: {failure}"
    );
    assert_eq!(
        report.retries, 1,
        "the first failure was retried, the second ended the job"
    );
}

#[tokio::test(start_paused = true)]
async fn an_agent_with_failed_tasks_is_excluded() {
    let pairs = [
        "spark.mesos.coarse=false",
        "spark.excludeOnFailure.enabled=true",
        "spark.excludeOnFailure.application.maxFailedTasksPerExecutor=1",
    ];
    let mut cluster = Cluster::start(agents(2)).await.unwrap();
    let (running, _inputs) = launch(&mut cluster, synthetic(&[40], 1000), conf(&pairs)).await;
    let fw = running.id().clone();
    let mut victim = None;
    cluster
        .run_until(Duration::from_secs(60), |state, _| {
            victim = state
                .tasks
                .iter()
                .find(|t| t.agent.as_str() == "agent-0" && t.state == TaskState::Running)
                .map(|t| t.id.clone());
            victim.is_some()
        })
        .await;
    cluster
        .fail_task(
            &fw,
            &victim.unwrap(),
            Reason::CommandExecutorFailed,
            "bad disk",
        )
        .unwrap();
    let before: BTreeSet<_> = cluster.state().tasks.iter().map(|t| t.id.clone()).collect();
    let mut later_on_agent_0 = BTreeSet::new();
    let backend = run_to_end(&cluster, running, Duration::from_secs(120), |state| {
        for t in &state.tasks {
            if t.agent.as_str() == "agent-0" && !before.contains(&t.id) {
                later_on_agent_0.insert(t.id.clone());
            }
        }
    })
    .await;
    let report = Report::of(&backend);
    assert_eq!(report.failure, None);
    assert_eq!(report.excluded_agents, ["agent-0"]);
    assert!(
        later_on_agent_0.is_empty(),
        "launched on the excluded agent: {later_on_agent_0:?}"
    );
    assert!(
        report.declines.unmet_constraints > 0,
        "its offers declined with the constraints' filter"
    );
}

#[tokio::test(start_paused = true)]
async fn the_job_completes_across_a_master_failover_in_both_modes() {
    for mode in ["spark.mesos.coarse=true", "spark.mesos.coarse=false"] {
        let mut cluster = Cluster::start(agents(2)).await.unwrap();
        let (running, _inputs) =
            launch(&mut cluster, synthetic(&[40, 8], 500), conf(&[mode])).await;
        let fw = running.id().clone();
        cluster.advance(Duration::from_millis(1500)).await;
        cluster.fail_over_master();
        let backend = run_to_end(&cluster, running, Duration::from_secs(300), |_| {}).await;
        let report = Report::of(&backend);
        assert_eq!(report.failure, None, "{mode}");
        assert_eq!(report.retries, 0, "{mode}: nothing failed");
        assert_eq!(report.stages[0].done + report.stages[1].done, 48, "{mode}");
        let trace = cluster.trace();
        assert_eq!(
            trace.calls_of_kind(&fw, CallKind::Subscribe).len(),
            2,
            "{mode}: resubscribed"
        );
        cluster.assert_settled();
    }
}

#[tokio::test(start_paused = true)]
async fn constraints_keep_tasks_off_agents_that_do_not_match() {
    for mode in ["spark.mesos.coarse=true", "spark.mesos.coarse=false"] {
        let res = Resources::parse("cpus:4;mem:8192").unwrap();
        let mut config = MasterConfig::default().role("spark", 1.0).seed(9);
        for (i, zone) in ["a", "c", "b", "c"].iter().enumerate() {
            config = config
                .agent(AgentSpec::new(format!("agent-{i}"), res.clone()).attribute("zone", *zone));
        }
        let config = config.attribute_all("os", "linux");
        let mut cluster = Cluster::start(config).await.unwrap();
        let pairs = [
            mode,
            "spark.mesos.constraints=os:linux;zone:a,b",
            "spark.mesos.rejectOfferDurationForUnmetConstraints=42s",
        ];
        let (running, _inputs) = launch(&mut cluster, synthetic(&[30], 300), conf(&pairs)).await;
        let fw = running.id().clone();
        let mut agents_used = BTreeSet::new();
        let backend = run_to_end(&cluster, running, Duration::from_secs(300), |state| {
            agents_used.extend(state.tasks.iter().map(|t| t.agent.clone()));
        })
        .await;
        let report = Report::of(&backend);
        assert_eq!(report.failure, None);
        let allowed: BTreeSet<AgentId> = [AgentId::new("agent-0"), AgentId::new("agent-2")].into();
        assert!(
            agents_used.is_subset(&allowed),
            "{mode}: tasks on {agents_used:?}"
        );
        assert!(!agents_used.is_empty());
        let trace = cluster.trace();
        let filters: Vec<Option<Duration>> = trace
            .calls_of_kind(&fw, CallKind::Decline)
            .into_iter()
            .filter_map(|c| match c {
                Call::Decline { refuse, .. } => Some(*refuse),
                _ => None,
            })
            .collect();
        assert!(
            filters.contains(&Some(Duration::from_secs(42))),
            "{mode}: zone c's offers declined with the configured filter: {filters:?}"
        );
    }
}

/// The cpus the master counts as used (tasks and their executors): what
/// the agents have allocated less what is on offer (one framework here).
fn held_cpus(state: &MasterState) -> f64 {
    let allocated: f64 = state.agents.iter().map(|a| a.allocated.cpus()).sum();
    let offered: f64 = state.offers.iter().map(|o| o.resources.cpus()).sum();
    allocated - offered
}

#[tokio::test(start_paused = true)]
async fn cores_max_is_never_exceeded_in_either_mode() {
    for (mode, max) in [
        ("spark.mesos.coarse=true", 6.0),
        // Fine mode: each agent's executor holds 1 cpu of its own
        // (spark.mesos.mesosExecutor.cores), counted too: 4 + (1 + 2).
        ("spark.mesos.coarse=false", 7.0),
    ] {
        let mut cluster = Cluster::start(agents(4)).await.unwrap();
        let max_arg = format!("spark.cores.max={max}");
        let pairs = [
            mode,
            max_arg.as_str(),
            "spark.mesos.rejectOfferDurationForReachedMaxCores=7s",
        ];
        let (running, _inputs) =
            launch(&mut cluster, synthetic(&[60, 10], 400), conf(&pairs)).await;
        let fw = running.id().clone();
        let mut peak: f64 = 0.0;
        let backend = run_to_end(&cluster, running, Duration::from_secs(300), |state| {
            let held = held_cpus(state);
            assert!(
                held <= max + 1e-9,
                "{mode}: {held} cpus held, spark.cores.max is {max}"
            );
            peak = peak.max(held);
        })
        .await;
        let report = Report::of(&backend);
        assert_eq!(report.failure, None);
        assert_eq!(
            peak, max,
            "{mode}: the limit is reached, not just respected"
        );
        let declined_at_max = cluster
            .trace()
            .calls_of_kind(&fw, CallKind::Decline)
            .into_iter()
            .any(|c| matches!(c, Call::Decline { refuse: Some(d), .. } if *d == Duration::from_secs(7)));
        assert!(
            declined_at_max,
            "{mode}: offers past cores.max declined with its filter"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn idle_means_suppressed_and_declined_with_the_long_filter() {
    let mut cluster = Cluster::start(agents(4)).await.unwrap();
    let pairs = [
        "spark.mesos.coarse=false",
        "spark.mesos.rejectOfferDuration=99s",
    ];
    let (running, _inputs) = launch(&mut cluster, synthetic(&[4], 2000), conf(&pairs)).await;
    let fw = running.id().clone();
    // 4 tasks, 16 cpus: once they are launched nothing is pending.
    cluster.advance(Duration::from_millis(1000)).await;
    let trace = cluster.trace();
    assert!(
        !trace.calls_of_kind(&fw, CallKind::Suppress).is_empty(),
        "suppressed once nothing waits"
    );
    let long_filter = trace.calls_of_kind(&fw, CallKind::Decline).into_iter().any(
        |c| matches!(c, Call::Decline { refuse: Some(d), .. } if *d == Duration::from_secs(99)),
    );
    assert!(
        long_filter,
        "offers declined with spark.mesos.rejectOfferDuration"
    );
    let _ = run_to_end(&cluster, running, Duration::from_secs(60), |_| {}).await;
}
