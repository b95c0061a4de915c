//! Input locality of map tasks on the virtual-time cluster: a task whose
//! input is on one host runs there while it waits up to
//! spark.locality.wait, and anywhere once the wait is over.

mod support;

use std::time::Duration;

use corral::{AgentId, Resources};
use corral_testkit::{Cluster, MasterConfig};
use spark_like::dag::{DurationDist, JobSpec};
use spark_like::report::Report;
use support::{conf, launch, run_to_end};

/// Runs 8 map tasks of 1 s whose input is all on agent-1's host, on 4
/// agents of 4 cpus, and returns where each ran.
async fn where_maps_ran(mode: &str, wait: &str) -> Vec<AgentId> {
    let config = MasterConfig::default()
        .agents(4, Resources::parse("cpus:4;mem:8192").unwrap())
        .role("spark", 1.0)
        .seed(9);
    let mut cluster = Cluster::start(config).await.unwrap();
    let job = JobSpec::synthetic(
        &[8, 2],
        &DurationDist::Fixed(Duration::from_secs(1)),
        None,
        1,
    )
    .with_input_on(&["agent-1.corral.test".to_owned()], 1);
    let wait_arg = format!("spark.locality.wait={wait}");
    let pairs = [mode, wait_arg.as_str(), "spark.executor.cores=4"];
    let (running, _inputs) = launch(&mut cluster, job, conf(&pairs)).await;
    let backend = run_to_end(&cluster, running, Duration::from_secs(600), |_| {}).await;
    let report = Report::of(&backend);
    assert_eq!(report.failure, None, "{mode}");
    backend
        .engine()
        .computed_on(0)
        .into_iter()
        .map(|a| a.expect("every map partition done").clone())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn map_tasks_wait_for_the_host_holding_their_input() {
    for mode in ["spark.mesos.coarse=true", "spark.mesos.coarse=false"] {
        // 8 tasks of 1 s fit on one agent in under 3 s (3 or 4 at a time).
        let ran = where_maps_ran(mode, "3s").await;
        assert!(
            ran.iter().all(|a| a.as_str() == "agent-1"),
            "{mode}: every map task ran where its input is: {ran:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn past_the_locality_wait_map_tasks_take_any_agent() {
    for mode in ["spark.mesos.coarse=true", "spark.mesos.coarse=false"] {
        let ran = where_maps_ran(mode, "200ms").await;
        let local = ran.iter().filter(|a| a.as_str() == "agent-1").count();
        assert!(
            local >= 3 && local < ran.len(),
            "{mode}: the first wave ran local, the rest went elsewhere: {ran:?}"
        );
    }
}
