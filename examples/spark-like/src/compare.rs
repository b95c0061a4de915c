//! Fine against coarse mode, measured (`spark-like compare`): the same
//! synthetic job run in both modes, one after the other, on the embedded
//! master with simulated agents and then with local agents (real
//! processes), and the figures printed side by side.

use std::path::PathBuf;
use std::time::Duration;

use corral::{Capability, Config, FrameworkInfo, Resources};
use corral_testkit::{CallKind, MasterConfig};

use crate::backend::{Backend, Placement};
use crate::conf::SparkConf;
use crate::dag::{DurationDist, JobSpec};
use crate::progress::Progress;
use crate::report::Report;
use crate::run::{run, Cluster, RunError, RunSpec};

/// One comparison to make.
#[derive(Clone, Debug)]
pub struct Case {
    /// What the table calls it.
    pub label: String,
    /// Task counts per stage.
    pub tasks: Vec<usize>,
    /// Each task's time.
    pub task: Duration,
    /// Where.
    pub cluster: Cluster,
    /// Cpus per agent (for the executors' size: one per agent).
    pub agent_cpus: f64,
    /// Memory per agent, MiB.
    pub agent_mem: f64,
}

fn conf_for(case: &Case, base: &SparkConf, coarse: bool) -> SparkConf {
    let mut conf = base.clone();
    conf.coarse = coarse;
    conf.executor_cores = case.agent_cpus;
    conf.executor_memory_mb = case.agent_mem / 2.0;
    conf.task_cpus = 1.0;
    conf
}

/// Runs a simulated `case` in both modes on the testkit's cluster on
/// virtual time, with the master allocating every `interval` and its
/// simulated agents taking `sim_step` from STAGING to STARTING and again
/// to RUNNING (the master's default is 10 ms): the same master core and
/// simulated agents, but no cpu time counts, so what is left is the
/// protocol's and the allocator's latency. Runs on a thread of its own (a
/// paused clock needs its own runtime).
pub fn compare_virtual(
    case: &Case,
    base: &SparkConf,
    seed: u64,
    interval: Duration,
    sim_step: Duration,
) -> Result<(Report, Report), String> {
    let Cluster::Simulated { agents, resources } = &case.cluster else {
        return Err("virtual time needs simulated agents".into());
    };
    let res = Resources::parse(resources).map_err(|e| e.to_string())?;
    let cpus = res.cpus() * *agents as f64;
    let job = JobSpec::synthetic(&case.tasks, &DurationDist::Fixed(case.task), None, seed);
    let confs = [conf_for(case, base, true), conf_for(case, base, false)];
    let agents = *agents;
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async move {
            let mut out = Vec::new();
            for conf in confs {
                let config = MasterConfig::default()
                    .agents(agents, res.clone())
                    .role(conf.role.as_str(), 1.0)
                    .allocation_interval(interval)
                    .sim_step(sim_step)
                    .seed(seed);
                let mut cluster = corral_testkit::Cluster::start(config)
                    .await
                    .map_err(|e| e.to_string())?;
                cluster.check_every_step(false);
                let mut info = FrameworkInfo::new("spark-like").with_roles([conf.role.as_str()]);
                if conf.revocable {
                    info = info.with_capability(Capability::RevocableResources);
                }
                let backend =
                    Backend::new(job.clone(), conf, Placement::Simulated, Progress::hidden());
                let (running, _inputs) = cluster
                    .launch_with_inputs(info, Config::default(), backend, 16)
                    .await;
                let id = running.id().clone();
                cluster
                    .run_until(Duration::from_secs(3600), |_, trace| {
                        !trace.calls_of_kind(&id, CallKind::Teardown).is_empty()
                    })
                    .await;
                let (_, backend) = running.join().await;
                let mut report = Report::of(&backend);
                report.cluster_utilisation =
                    Some((report.busy_cpu_seconds / (cpus * report.makespan_s.max(1e-9))).min(1.0));
                out.push(report);
                cluster.shutdown();
            }
            let fine = out.pop().ok_or("no run")?;
            let coarse = out.pop().ok_or("no run")?;
            Ok((coarse, fine))
        })
    });
    thread
        .join()
        .map_err(|_| "the virtual-time run panicked".to_string())?
}

/// Runs `case` in coarse then fine mode and returns both reports.
pub async fn compare(
    case: &Case,
    base: &SparkConf,
    seed: u64,
) -> Result<(Report, Report), RunError> {
    let job = JobSpec::synthetic(&case.tasks, &DurationDist::Fixed(case.task), None, seed);
    let mut out = Vec::new();
    for coarse in [true, false] {
        let conf = conf_for(case, base, coarse);
        let (report, _) = run(RunSpec {
            job: job.clone(),
            conf,
            cluster: case.cluster.clone(),
            progress: false,
            output: None,
            verbose: false,
        })
        .await?;
        out.push(report);
    }
    let fine = out.pop().expect("two runs");
    let coarse = out.pop().expect("two runs");
    Ok((coarse, fine))
}

/// Prints one case's two reports side by side.
pub fn print(label: &str, case: &Case, coarse: &Report, fine: &Report) {
    let tasks: Vec<String> = case.tasks.iter().map(usize::to_string).collect();
    println!(
        "\n{label}: stages of {} tasks of {} ms",
        tasks.join(" then "),
        case.task.as_millis()
    );
    println!("  {:<34} {:>12} {:>12}", "", "coarse", "fine");
    let row = |name: &str, c: String, f: String| println!("  {name:<34} {c:>12} {f:>12}");
    row(
        "makespan (s)",
        format!("{:.2}", coarse.makespan_s),
        format!("{:.2}", fine.makespan_s),
    );
    row(
        "utilisation of held cpus",
        format!("{:.0}%", coarse.utilisation * 100.0),
        format!("{:.0}%", fine.utilisation * 100.0),
    );
    row(
        "utilisation of the cluster",
        format!("{:.0}%", coarse.cluster_utilisation.unwrap_or(0.0) * 100.0),
        format!("{:.0}%", fine.cluster_utilisation.unwrap_or(0.0) * 100.0),
    );
    row(
        "launch to running p50 (ms)",
        format!("{:.1}", coarse.launch_to_running_p50_ms),
        format!("{:.1}", fine.launch_to_running_p50_ms),
    );
    row(
        "launch to running p99 (ms)",
        format!("{:.1}", coarse.launch_to_running_p99_ms),
        format!("{:.1}", fine.launch_to_running_p99_ms),
    );
    row(
        "ready to running p50 (ms)",
        format!("{:.1}", coarse.ready_to_running_p50_ms),
        format!("{:.1}", fine.ready_to_running_p50_ms),
    );
    row(
        "ready to running p99 (ms)",
        format!("{:.1}", coarse.ready_to_running_p99_ms),
        format!("{:.1}", fine.ready_to_running_p99_ms),
    );
    row(
        "offers received",
        coarse.offers.to_string(),
        fine.offers.to_string(),
    );
    row(
        "SDK tasks launched",
        coarse.sdk_tasks.to_string(),
        fine.sdk_tasks.to_string(),
    );
    row(
        "peak cpus held (see below)",
        format!("{}", coarse.peak_cpus),
        format!("{}", fine.peak_cpus),
    );
    for r in [coarse, fine] {
        if let Some(f) = &r.failure {
            println!("  {} mode FAILED: {f}", r.mode);
        }
    }
    println!(
        "  fine/coarse makespan: {:.2}x",
        fine.makespan_s / coarse.makespan_s.max(1e-9)
    );
    println!(
        "  (peak cpus held: as this framework counts them, from a launch to the arrival of the \
         task's last update; the master re-offers a finished task's cpus before that update \
         arrives, so fine mode's figure can read above the cluster's cpus; the master's own \
         count cannot, and tests/faults.rs checks it against spark.cores.max)"
    );
}

/// The cases: 10,000 then 1,000 tasks of 50 ms on 16 simulated
/// agents of 4 cpus; 1,000 tasks of 200 ms on local agents. `scale`
/// divides the task counts (1: as stated).
pub fn default_cases(scale: usize, local: Option<(PathBuf, PathBuf)>) -> Vec<Case> {
    let scale = scale.max(1);
    let mut cases = vec![Case {
        label: "simulated: 16 agents of 4 cpus, embedded master".into(),
        tasks: vec![(10_000 / scale).max(1), (1_000 / scale).max(1)],
        task: Duration::from_millis(50),
        cluster: Cluster::Simulated {
            agents: 16,
            resources: "cpus:4;mem:16384".into(),
        },
        agent_cpus: 4.0,
        agent_mem: 16384.0,
    }];
    if let Some((work_dir, program)) = local {
        cases.push(Case {
            label: "local: 4 agents of 4 cpus, real processes".into(),
            tasks: vec![(1_000 / scale).max(1)],
            task: Duration::from_millis(200),
            cluster: Cluster::Local {
                agents: 4,
                resources: "cpus:4;mem:16384".into(),
                work_dir,
                program,
            },
            agent_cpus: 4.0,
            agent_mem: 16384.0,
        });
    }
    cases
}
