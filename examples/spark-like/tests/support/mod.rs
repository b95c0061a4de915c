//! Running the backend on the testkit's virtual-time cluster.
#![allow(dead_code)]

use std::time::Duration;

use corral::{Capability, Config, FrameworkInfo, Stopped};
use corral_testkit::{CallKind, Cluster, Injector, MasterState, Running};
use spark_like::backend::{Backend, Placement};
use spark_like::conf::SparkConf;
use spark_like::dag::JobSpec;
use spark_like::hub::Input;
use spark_like::progress::Progress;

/// Attaches a backend for `job` to `cluster`.
pub async fn launch(
    cluster: &mut Cluster,
    job: JobSpec,
    conf: SparkConf,
) -> (Running<Backend>, Injector<Input>) {
    let mut info = FrameworkInfo::new("spark-like").with_roles([conf.role.as_str()]);
    if conf.revocable {
        info = info.with_capability(Capability::RevocableResources);
    }
    let backend = Backend::new(job, conf, Placement::Simulated, Progress::hidden());
    cluster
        .launch_with_inputs(info, Config::default(), backend, 16)
        .await
}

/// Runs until the backend tears down (within `limit` of virtual time),
/// calling `each_step` with the master's state after every step.
pub async fn run_to_end(
    cluster: &Cluster,
    running: Running<Backend>,
    limit: Duration,
    mut each_step: impl FnMut(&MasterState),
) -> Backend {
    let id = running.id().clone();
    cluster
        .run_until(limit, |state, trace| {
            each_step(state);
            !trace.calls_of_kind(&id, CallKind::Teardown).is_empty()
        })
        .await;
    let (outcome, backend) = running.join().await;
    assert!(
        matches!(outcome, Ok(Stopped::TornDown)),
        "ended with {outcome:?}"
    );
    backend
}

/// A configuration from `--conf` style pairs.
pub fn conf(pairs: &[&str]) -> SparkConf {
    let mut conf = SparkConf::default();
    for p in pairs {
        conf.set_arg(p).unwrap();
    }
    conf
}

/// A fresh, empty directory under the system's temp dir.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("spark-like-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
