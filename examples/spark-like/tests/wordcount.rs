//! Word count on the virtual-time cluster: the part-NNNNN output equals a
//! single-process count, in coarse and in fine mode, also when an agent is
//! lost mid-job.

mod support;

use std::time::Duration;

use corral::{AgentId, Resources};
use corral_testkit::{Cluster, MasterConfig};
use spark_like::dag::JobSpec;
use spark_like::report::Report;
use spark_like::run::{read_output, write_output};
use spark_like::work::{count_in_one_process, generate_text};
use support::{conf, launch, run_to_end, temp_dir};

async fn word_count(mode: &str, bytes: usize, lose: Option<Duration>) -> Report {
    let text = generate_text(bytes, 11);
    let job = JobSpec::word_count(&text, 12, 5);
    let config = MasterConfig::default()
        .agents(4, Resources::parse("cpus:4;mem:8192").unwrap())
        .role("spark", 1.0)
        .seed(3);
    let mut cluster = Cluster::start(config).await.unwrap();
    let (running, _inputs) = launch(&mut cluster, job, conf(&[mode])).await;
    if let Some(at) = lose {
        cluster.advance(at).await;
        cluster.lose_agent(&AgentId::new("agent-1")).unwrap();
    }
    let backend = run_to_end(&cluster, running, Duration::from_secs(600), |_| {}).await;
    let report = Report::of(&backend);
    assert_eq!(report.failure, None);
    let dir = temp_dir(&format!("wc-{}-{}", mode.len(), lose.is_some()));
    write_output(&backend, &dir).unwrap();
    let parts = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("part-")
        })
        .count();
    assert_eq!(parts, 5, "one part-NNNNN per reducer");
    assert!(dir.join("part-00004").exists() && dir.join("_SUCCESS").exists());
    let got = read_output(&dir).unwrap();
    assert_eq!(
        got,
        count_in_one_process(&text),
        "the job's count equals a single-process count"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    report
}

#[tokio::test(start_paused = true)]
async fn several_megabytes_counted_in_coarse_mode_equal_the_single_process_count() {
    let report = word_count("spark.mesos.coarse=true", 4 << 20, None).await;
    assert_eq!(report.mode, "coarse");
    assert!(
        report.sdk_tasks <= 8,
        "executors, not tasks, are SDK tasks: {}",
        report.sdk_tasks
    );
}

#[tokio::test(start_paused = true)]
async fn several_megabytes_counted_in_fine_mode_equal_the_single_process_count() {
    let report = word_count("spark.mesos.coarse=false", 4 << 20, None).await;
    assert_eq!(report.mode, "fine");
    assert_eq!(report.sdk_tasks, 17, "one SDK task per batch task");
}

#[tokio::test(start_paused = true)]
async fn an_agent_lost_mid_job_still_gives_the_right_count() {
    for mode in ["spark.mesos.coarse=true", "spark.mesos.coarse=false"] {
        let report = word_count(mode, 4 << 20, Some(Duration::from_millis(450))).await;
        // At 450 ms the map stage is done and the reduces are running: the
        // lost agent's map outputs are recomputed, its reduce requeued.
        assert!(
            report.recomputed > 0,
            "{mode}: shuffle output recomputed: {report:?}"
        );
        assert!(
            report.requeued > 0,
            "{mode}: the lost attempt requeued: {report:?}"
        );
        assert_eq!(
            report.retries, 0,
            "{mode}: a lost agent is not a task failure"
        );
    }
}
