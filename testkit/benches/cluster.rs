//! How fast the in-process cluster drives simulated work: simulated tasks
//! per second of real time, end to end (offer, launch, four status updates
//! each acknowledged, resources recovered), on tokio's paused clock so only
//! CPU time counts. Prints the median of several runs.
//!
//! `cargo bench -p corral-testkit --bench cluster`

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use corral::Resources;
use corral_testkit::{Cluster, MasterConfig};
use support::{info, jobs, Workload};

const RUNS: usize = 5;

fn one_run(frameworks: usize, tasks: usize, agents: usize, checks: bool) -> (Duration, Duration) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let config = MasterConfig::default()
            .agents(agents, Resources::parse("cpus:16;mem:65536").unwrap())
            .allocation_interval(Duration::from_millis(100))
            // Every finished task stays countable in the snapshot.
            .max_completed_tasks_per_framework(tasks)
            .seed(1);
        let mut cluster = Cluster::start(config).await.unwrap();
        cluster.check_every_step(checks);
        let started = Instant::now();
        let mut running = Vec::new();
        for f in 0..frameworks {
            let (workload, _) = Workload::new(jobs(&format!("f{f}"), tasks, 0.25, Some(1_000)));
            running.push(cluster.launch(info(&format!("fw{f}"), "*"), workload).await);
        }
        cluster.run_until_idle().await;
        let elapsed = started.elapsed();
        let total: usize = cluster
            .state()
            .tasks
            .iter()
            .filter(|t| t.state == corral::TaskState::Finished)
            .count();
        assert_eq!(total, frameworks * tasks, "every task must finish");
        (elapsed, cluster.now())
    })
}

fn main() {
    // `cargo test --benches` passes --bench-less args; run a tiny smoke
    // version then, the full one under `cargo bench`.
    let full = std::env::args().any(|a| a == "--bench");
    let shapes: &[(usize, usize, usize)] = if full {
        &[(1, 2_000, 20), (4, 1_000, 50)]
    } else {
        &[(1, 20, 2)]
    };
    for (&(frameworks, tasks, agents), checks) in
        shapes.iter().flat_map(|s| [(s, false), (s, true)])
    {
        let mut times: Vec<(Duration, Duration)> = (0..RUNS)
            .map(|_| one_run(frameworks, tasks, agents, checks))
            .collect();
        times.sort();
        let (median, virtual_time) = times[RUNS / 2];
        let total = frameworks * tasks;
        println!(
            "cluster/{frameworks}fw x {tasks} tasks on {agents} agents, invariants {}: median {:.1} ms real \
             for {:.1} s virtual; {:.0} simulated tasks/s (min {:.1} ms, max {:.1} ms)",
            if checks { "checked every step" } else { "off" },
            median.as_secs_f64() * 1e3,
            virtual_time.as_secs_f64(),
            total as f64 / median.as_secs_f64(),
            times[0].0.as_secs_f64() * 1e3,
            times[RUNS - 1].0.as_secs_f64() * 1e3,
        );
    }
}
