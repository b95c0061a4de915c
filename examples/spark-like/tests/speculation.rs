//! Speculation and preemption on the virtual-time cluster: a straggler's
//! speculative copy wins and the loser is killed; tasks on revocable
//! resources are requeued on a revocation notice without failing the
//! job; a lost agent's shuffle output is recomputed.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use corral::sim::SimulatedTask;
use corral::{
    AgentId, Driver, FrameworkInfo, Offer, Resources, Role, Scheduler, TaskInfo, TaskState,
};
use corral_testkit::allocator::Quota;
use corral_testkit::{CallKind, Cluster, MasterConfig};
use spark_like::dag::{JobSpec, StageKind, StageSpec};
use spark_like::report::Report;
use support::{conf, launch, run_to_end};

fn agents(n: usize) -> MasterConfig {
    MasterConfig::default()
        .agents(n, Resources::parse("cpus:4;mem:8192").unwrap())
        .role("spark", 1.0)
        .seed(5)
}

/// 20 tasks of 100 ms, partition 7's first attempt straggles for 30 s;
/// then a stage of 8 tasks of 500 ms.
fn straggling_job() -> JobSpec {
    let mut ms = vec![100; 20];
    ms[7] = 30_000;
    JobSpec {
        name: "straggler".into(),
        stages: vec![
            StageSpec {
                name: "stage 0".into(),
                partitions: 20,
                parents: vec![],
                kind: StageKind::Synthetic {
                    ms,
                    base: vec![100; 20],
                },
                input_hosts: Vec::new(),
            },
            StageSpec {
                name: "stage 1".into(),
                partitions: 8,
                parents: vec![0],
                kind: StageKind::Synthetic {
                    ms: vec![500; 8],
                    base: vec![500; 8],
                },
                input_hosts: Vec::new(),
            },
        ],
    }
}

#[tokio::test(start_paused = true)]
async fn a_speculative_copy_wins_and_the_loser_is_killed() {
    for mode in ["spark.mesos.coarse=false", "spark.mesos.coarse=true"] {
        let mut cluster = Cluster::start(agents(2)).await.unwrap();
        let pairs = [
            mode,
            "spark.speculation=true",
            "spark.speculation.quantile=0.75",
            "spark.speculation.multiplier=2",
        ];
        let (running, _inputs) = launch(&mut cluster, straggling_job(), conf(&pairs)).await;
        let fw = running.id().clone();
        let backend = run_to_end(&cluster, running, Duration::from_secs(120), |_| {}).await;
        let report = Report::of(&backend);
        assert_eq!(report.failure, None, "{mode}");
        assert_eq!(report.speculative_wins, 1, "{mode}: {report:?}");
        assert!(
            report.makespan_s < 10.0,
            "{mode}: the straggler did not hold the job: {}",
            report.makespan_s
        );
        assert!(
            backend.counters().killed_losers >= 1,
            "{mode}: the loser was stopped"
        );
        if mode.ends_with("false") {
            // The loser is an SDK task of its own: the master killed it.
            let trace = cluster.trace();
            let launched: Vec<corral::TaskId> = trace
                .calls_of_kind(&fw, CallKind::Accept)
                .into_iter()
                .flat_map(|c| match c {
                    corral_testkit::Call::Accept(accept) => {
                        accept.tasks().map(|t| t.id.clone()).collect()
                    }
                    _ => Vec::new(),
                })
                .collect();
            let attempts: Vec<&corral::TaskId> = launched
                .iter()
                .filter(|t| t.as_str().starts_with("task-0.7-"))
                .collect();
            assert_eq!(
                attempts.len(),
                2,
                "{mode}: the straggler and its copy: {attempts:?}"
            );
            let original = attempts
                .iter()
                .find(|t| t.as_str().starts_with("task-0.7-a1-"))
                .unwrap();
            let copy = attempts
                .iter()
                .find(|t| t.as_str().starts_with("task-0.7-a2-"))
                .unwrap();
            let killed = trace
                .calls_of_kind(&fw, CallKind::Kill)
                .into_iter()
                .any(|c| matches!(c, corral_testkit::Call::Kill { task, .. } if task == *original));
            assert!(killed, "{mode}: the loser was killed");
            assert_eq!(
                trace.last_state(original),
                Some(TaskState::Killed),
                "{mode}: the loser killed"
            );
            assert_eq!(
                trace.last_state(copy),
                Some(TaskState::Finished),
                "{mode}: the copy won"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn without_speculation_the_straggler_holds_the_job() {
    let mut cluster = Cluster::start(agents(2)).await.unwrap();
    let (running, _inputs) = launch(
        &mut cluster,
        straggling_job(),
        conf(&["spark.mesos.coarse=false"]),
    )
    .await;
    let backend = run_to_end(&cluster, running, Duration::from_secs(120), |_| {}).await;
    let report = Report::of(&backend);
    assert_eq!(report.speculative_launched, 0);
    assert!(report.makespan_s >= 30.0, "{}", report.makespan_s);
}

#[tokio::test(start_paused = true)]
async fn a_lost_agents_shuffle_output_is_recomputed_from_the_stage_that_made_it() {
    for mode in ["spark.mesos.coarse=true", "spark.mesos.coarse=false"] {
        let job = JobSpec::synthetic(
            &[32, 32],
            &spark_like::dag::DurationDist::Fixed(Duration::from_secs(1)),
            None,
            1,
        );
        let mut second = job.clone();
        if let StageKind::Synthetic { ms, base } = &mut second.stages[1].kind {
            ms.iter_mut().for_each(|m| *m = 10_000);
            base.iter_mut().for_each(|m| *m = 10_000);
        }
        let mut cluster = Cluster::start(agents(4)).await.unwrap();
        let (running, _inputs) = launch(&mut cluster, second, conf(&[mode])).await;
        // Stage 0 (two waves of 1 s) is done by 5 s; stage 1 runs for 10 s.
        cluster.advance(Duration::from_secs(5)).await;
        cluster.lose_agent(&AgentId::new("agent-0")).unwrap();
        let backend = run_to_end(&cluster, running, Duration::from_secs(300), |_| {}).await;
        let report = Report::of(&backend);
        assert_eq!(report.failure, None, "{mode}");
        assert!(
            report.recomputed >= 4,
            "{mode}: agent-0's map outputs recomputed: {report:?}"
        );
        assert!(report.requeued >= 1, "{mode}: its running tasks requeued");
        assert_eq!(report.retries, 0, "{mode}: not counted as task failures");
        assert_eq!(report.stages[0].done, 32);
        assert_eq!(report.stages[1].done, 32);
    }
}

/// Owns a guarantee of 4 cpus and, when told, launches a 4-cpu task on it.
struct Owner {
    want: Arc<AtomicUsize>,
    launched: usize,
}

#[async_trait]
impl Scheduler for Owner {
    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
        let needs = Resources::new().with_cpus(4.0).with_mem(1024.0);
        for offer in offers {
            if self.want.load(Ordering::SeqCst) > 0 && offer.regular().contains(&needs) {
                self.launched += 1;
                let task = TaskInfo::new(format!("owner-{}", self.launched))
                    .with_resources(needs.clone())
                    .simulated(SimulatedTask::runs_for(Duration::from_secs(60)));
                if driver.launch(&offer, vec![task]).await.is_ok() {
                    self.want.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
    }

    fn wants_offers(&self, _: &Role) -> Option<bool> {
        Some(self.want.load(Ordering::SeqCst) > 0)
    }
}

#[tokio::test(start_paused = true)]
async fn preemptible_tasks_on_revocable_resources_are_requeued_on_revocation() {
    for mode in ["spark.mesos.coarse=false", "spark.mesos.coarse=true"] {
        let config = agents(2)
            .role("owner", 1.0)
            .quota(
                "owner",
                Quota {
                    guarantee: Resources::new().with_cpus(4.0),
                    limit: None,
                },
            )
            .revocation_notice(Duration::from_secs(5));
        let mut cluster = Cluster::start(config).await.unwrap();
        let want = Arc::new(AtomicUsize::new(0));
        let owner = cluster
            .launch(
                FrameworkInfo::new("owner").with_roles(["owner"]),
                Owner {
                    want: want.clone(),
                    launched: 0,
                },
            )
            .await;
        let job = JobSpec::synthetic(
            &[24],
            &spark_like::dag::DurationDist::Fixed(Duration::from_secs(3)),
            None,
            1,
        );
        let pairs = [
            mode,
            "spark.corral.revocable=true",
            "spark.executor.cores=4",
        ];
        let (running, _inputs) = launch(&mut cluster, job, conf(&pairs)).await;
        let spark = running.id().clone();
        cluster.advance(Duration::from_secs(1)).await;
        let revocable_before = cluster
            .state()
            .tasks
            .iter()
            .filter(|t| t.framework == spark && t.resources.iter().any(|r| r.revocable))
            .count();
        assert!(
            revocable_before > 0,
            "{mode}: some work borrowed the owner's idle share"
        );
        want.store(1, Ordering::SeqCst);
        let owner_role = Role::from("owner");
        owner
            .driver()
            .request(&owner_role, &Resources::new().with_cpus(4.0))
            .await
            .unwrap();
        owner.driver().revive(&[owner_role]).await.unwrap();
        cluster
            .run_until(Duration::from_secs(30), |_, trace| {
                !trace.calls_of_kind(owner.id(), CallKind::Accept).is_empty()
            })
            .await;
        owner.driver().withdraw_requests().await.unwrap();
        let backend = run_to_end(&cluster, running, Duration::from_secs(600), |_| {}).await;
        let report = Report::of(&backend);
        assert_eq!(report.failure, None, "{mode}");
        assert!(report.revocations >= 1, "{mode}: {report:?}");
        assert!(
            report.requeued >= 1,
            "{mode}: revoked work requeued: {report:?}"
        );
        assert_eq!(report.retries, 0, "{mode}: a revocation is not a failure");
        assert_eq!(report.stages[0].done, 24);
    }
}
