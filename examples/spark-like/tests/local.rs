//! Word count on local agents: executors are real processes of this
//! binary (`spark-like executor`) that connect back to the driver and
//! compute the partitions they are sent. Real time, a few seconds.

mod support;

use std::path::PathBuf;

use spark_like::dag::JobSpec;
use spark_like::run::{read_output, run, Cluster, RunSpec};
use spark_like::work::{count_in_one_process, generate_text};
use support::{conf, temp_dir};

async fn local_word_count(mode: &str) {
    let text = generate_text(3 << 20, 21);
    let name = if mode.ends_with("true") {
        "coarse"
    } else {
        "fine"
    };
    let out = temp_dir(&format!("local-out-{name}"));
    let work = temp_dir(&format!("local-work-{name}"));
    let (report, _backend) = run(RunSpec {
        job: JobSpec::word_count(&text, 6, 3),
        conf: conf(&[mode]),
        cluster: Cluster::Local {
            agents: 2,
            resources: "cpus:4;mem:8192".into(),
            work_dir: work.clone(),
            program: PathBuf::from(env!("CARGO_BIN_EXE_spark-like")),
        },
        progress: false,
        output: Some(out.clone()),
        verbose: false,
    })
    .await
    .unwrap();
    assert_eq!(report.failure, None, "{mode}");
    assert_eq!(
        read_output(&out).unwrap(),
        count_in_one_process(&text),
        "{mode}"
    );
    assert!(out.join("part-00002").exists());
    // The executors ran as processes in sandboxes of their own.
    let sandboxes = std::fs::read_dir(work.join("agent-0"))
        .map(|d| d.count())
        .unwrap_or(0)
        + std::fs::read_dir(work.join("agent-1"))
            .map(|d| d.count())
            .unwrap_or(0);
    assert!(sandboxes > 0, "{mode}: sandboxes under {}", work.display());
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&work);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn word_count_on_local_agents_in_coarse_mode_equals_the_single_process_count() {
    local_word_count("spark.mesos.coarse=true").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn word_count_on_local_agents_in_fine_mode_equals_the_single_process_count() {
    local_word_count("spark.mesos.coarse=false").await;
}

/// Real executors against a master the driver does not own (`--master`
/// with `--executor-program` and `--driver-address`): a mock master with
/// local agents, started apart, stands for a remote one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn word_count_in_real_executors_against_a_remote_master() {
    use corral::Resources;
    use corral_testkit::{MasterConfig, MockMaster};
    use spark_like::run::RemoteExecutors;

    let text = generate_text(1 << 20, 22);
    let out = temp_dir("remote-out");
    let work = temp_dir("remote-work");
    let config = MasterConfig::default()
        .local_agents(2, Resources::parse("cpus:4;mem:8192").unwrap(), &work)
        .role("spark", 1.0);
    let master = MockMaster::start(config).await.unwrap();
    let url = format!("grpc://{}", master.addr().unwrap());
    let (report, _backend) = run(RunSpec {
        job: JobSpec::word_count(&text, 4, 2),
        conf: conf(&["spark.mesos.coarse=true"]),
        cluster: Cluster::Remote {
            url,
            executors: Some(RemoteExecutors {
                program: PathBuf::from(env!("CARGO_BIN_EXE_spark-like")),
                driver_address: "127.0.0.1:0".parse().unwrap(),
            }),
        },
        progress: false,
        output: Some(out.clone()),
        verbose: false,
    })
    .await
    .unwrap();
    master.shutdown().await.unwrap();
    assert_eq!(report.failure, None);
    assert_eq!(read_output(&out).unwrap(), count_in_one_process(&text));
    // The work ran in executor processes the master's agents started.
    assert!(
        std::fs::read_dir(work.join("agent-0")).is_ok_and(|d| d.count() > 0)
            || std::fs::read_dir(work.join("agent-1")).is_ok_and(|d| d.count() > 0),
        "sandboxes under {}",
        work.display()
    );
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&work);
}
