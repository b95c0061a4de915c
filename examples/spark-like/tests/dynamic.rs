//! Dynamic allocation on the virtual-time cluster: executors are asked
//! for while tasks wait and released once idle; without it they are held
//! for the whole job.

mod support;

use std::time::Duration;

use corral::Resources;
use corral_testkit::{Cluster, MasterConfig, MasterState};
use spark_like::dag::{JobSpec, StageKind};
use spark_like::report::Report;
use support::{conf, launch, run_to_end};

fn executors(state: &MasterState) -> usize {
    state
        .tasks
        .iter()
        .filter(|t| t.id.as_str().starts_with("executor-") && !t.state.is_terminal())
        .count()
}

/// 32 tasks of 1 s, then 2 tasks of 20 s.
fn wide_then_narrow() -> JobSpec {
    let mut job = JobSpec::synthetic(
        &[32, 2],
        &spark_like::dag::DurationDist::Fixed(Duration::from_secs(1)),
        None,
        1,
    );
    if let StageKind::Synthetic { ms, base } = &mut job.stages[1].kind {
        *ms = vec![20_000; 2];
        *base = vec![20_000; 2];
    }
    job
}

async fn run(dynamic: bool) -> (Report, usize, usize) {
    let config = MasterConfig::default()
        .agents(4, Resources::parse("cpus:4;mem:8192").unwrap())
        .role("spark", 1.0)
        .seed(2);
    let mut cluster = Cluster::start(config).await.unwrap();
    let flag = format!("spark.dynamicAllocation.enabled={dynamic}");
    let pairs = [
        flag.as_str(),
        "spark.dynamicAllocation.executorIdleTimeout=2s",
        "spark.executor.cores=2",
    ];
    let (running, _inputs) = launch(&mut cluster, wide_then_narrow(), conf(&pairs)).await;
    let mut peak = 0;
    for _ in 0..120 {
        cluster.advance(Duration::from_millis(100)).await;
        peak = peak.max(executors(&cluster.state()));
    }
    let during_narrow_stage = executors(&cluster.state());
    let backend = run_to_end(&cluster, running, Duration::from_secs(120), |_| {}).await;
    (Report::of(&backend), peak, during_narrow_stage)
}

#[tokio::test(start_paused = true)]
async fn idle_executors_are_released_and_more_asked_for_while_tasks_wait() {
    let (report, peak, narrow) = run(true).await;
    assert_eq!(report.failure, None);
    assert_eq!(
        peak, 8,
        "tasks waiting: as many 2-cpu executors as the 16 cpus hold"
    );
    assert_eq!(narrow, 1, "two tasks left: one executor of two slots kept");
    assert_eq!(report.executors_released, 7);
}

#[tokio::test(start_paused = true)]
async fn without_dynamic_allocation_executors_are_held_for_the_job() {
    let (report, peak, narrow) = run(false).await;
    assert_eq!(report.failure, None);
    assert_eq!(peak, 8);
    assert_eq!(narrow, 8, "held for the job");
    assert_eq!(report.executors_released, 0);
}
