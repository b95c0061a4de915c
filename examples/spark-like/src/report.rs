//! The final report: stages, tasks, retries, speculative wins, makespan,
//! utilisation of the cpus held, time from task ready to task running
//! (p50/p99), offers and how they were declined; printed for a person or
//! written as JSON.

use std::time::Duration;

use serde::Serialize;

use crate::backend::{Backend, Declines};

/// One stage's line.
#[derive(Clone, Debug, Serialize)]
pub struct StageLine {
    /// Its name.
    pub name: String,
    /// Partitions done.
    pub done: usize,
    /// Partitions.
    pub tasks: usize,
}

/// The run, summed up.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `wordcount` or `synthetic`.
    pub job: String,
    /// `coarse` or `fine`.
    pub mode: String,
    /// None when the job succeeded, else why it failed.
    pub failure: Option<String>,
    /// Stages.
    pub stages: Vec<StageLine>,
    /// Tasks of the job.
    pub tasks: usize,
    /// Failed attempts retried.
    pub retries: u32,
    /// Attempts requeued after their agent, executor or resources went.
    pub requeued: u32,
    /// Speculative copies launched.
    pub speculative_launched: u32,
    /// Speculative copies that finished first.
    pub speculative_wins: u32,
    /// Finished tasks recomputed after their agent was lost.
    pub recomputed: u32,
    /// Agents excluded after failures.
    pub excluded_agents: Vec<String>,
    /// From start to the end of the last task, seconds.
    pub makespan_s: f64,
    /// Task run time over cpus held (cpu-seconds), as a fraction.
    pub utilisation: f64,
    /// Task run time over the cluster's cpus during the makespan (known
    /// for the embedded master only).
    pub cluster_utilisation: Option<f64>,
    /// Cpu-seconds of task run time.
    pub busy_cpu_seconds: f64,
    /// Most cpus held at once, as this framework counts them (from launch
    /// to the task's terminal status, which can arrive after the master
    /// has offered its resources again).
    pub peak_cpus: f64,
    /// Launch (fine: ACCEPT; coarse: task sent to its executor) to
    /// running, median, ms.
    pub launch_to_running_p50_ms: f64,
    /// Launch to running, 99th percentile, ms.
    pub launch_to_running_p99_ms: f64,
    /// Ready-to-running latency, median, ms.
    pub ready_to_running_p50_ms: f64,
    /// Ready-to-running latency, 99th percentile, ms.
    pub ready_to_running_p99_ms: f64,
    /// Offers received.
    pub offers: u32,
    /// How unused offers were declined.
    pub declines: Declines,
    /// SDK tasks launched (tasks in fine mode, executors in coarse).
    pub sdk_tasks: u32,
    /// Executors released for idleness.
    pub executors_released: u32,
    /// Revocation notices taken.
    pub revocations: u32,
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

impl Report {
    /// The report of a backend's run.
    pub fn of(backend: &Backend) -> Report {
        let engine = backend.engine();
        let stats = engine.stats();
        let counters = backend.counters();
        let mut latencies = stats.ready_to_running.clone();
        latencies.sort();
        let mut launches = stats.launch_to_running.clone();
        launches.sort();
        let busy = stats.busy.as_secs_f64() * backend.conf().task_cpus;
        Report {
            job: engine.job().name.clone(),
            mode: if backend.conf().coarse {
                "coarse"
            } else {
                "fine"
            }
            .into(),
            failure: engine.failure().map(str::to_owned),
            stages: engine
                .job()
                .stages
                .iter()
                .zip(engine.progress())
                .map(|(s, (done, tasks))| StageLine {
                    name: s.name.clone(),
                    done,
                    tasks,
                })
                .collect(),
            tasks: engine.job().tasks(),
            retries: stats.retries,
            requeued: stats.requeued,
            speculative_launched: stats.speculative_launched,
            speculative_wins: stats.speculative_wins,
            recomputed: stats.recomputed,
            excluded_agents: stats.excluded.iter().map(|a| a.to_string()).collect(),
            makespan_s: backend.makespan().as_secs_f64(),
            utilisation: if counters.held_cpu_seconds > 0.0 {
                (busy / counters.held_cpu_seconds).min(1.0)
            } else {
                0.0
            },
            cluster_utilisation: None,
            busy_cpu_seconds: busy,
            peak_cpus: counters.peak_cpus,
            launch_to_running_p50_ms: percentile(&launches, 0.5),
            launch_to_running_p99_ms: percentile(&launches, 0.99),
            ready_to_running_p50_ms: percentile(&latencies, 0.5),
            ready_to_running_p99_ms: percentile(&latencies, 0.99),
            offers: counters.offers,
            declines: counters.declines.clone(),
            sdk_tasks: counters.launched,
            executors_released: counters.executors_released,
            revocations: counters.revocations,
        }
    }

    /// The report for a person.
    pub fn print(&self) {
        match &self.failure {
            None => println!(
                "job {} ({} mode) succeeded in {:.2} s",
                self.job, self.mode, self.makespan_s
            ),
            Some(why) => println!(
                "job {} ({} mode) FAILED after {:.2} s: {why}",
                self.job, self.mode, self.makespan_s
            ),
        }
        for (i, s) in self.stages.iter().enumerate() {
            println!("  stage {i} {}: {}/{} tasks", s.name, s.done, s.tasks);
        }
        println!(
            "  tasks: {}, retries: {}, requeued: {}, speculative: {} launched / {} won, recomputed: {}",
            self.tasks, self.retries, self.requeued, self.speculative_launched, self.speculative_wins, self.recomputed
        );
        if !self.excluded_agents.is_empty() {
            println!("  excluded agents: {}", self.excluded_agents.join(", "));
        }
        let cluster = self.cluster_utilisation.map_or(String::new(), |u| {
            format!(", of the cluster's: {:.0}%", u * 100.0)
        });
        println!(
            "  utilisation of the cpus held: {:.0}%{cluster}; makespan {:.2} s",
            self.utilisation * 100.0,
            self.makespan_s
        );
        println!(
            "  task ready to running: p50 {:.1} ms, p99 {:.1} ms (launch to running: p50 {:.1} ms, p99 {:.1} ms)",
            self.ready_to_running_p50_ms,
            self.ready_to_running_p99_ms,
            self.launch_to_running_p50_ms,
            self.launch_to_running_p99_ms
        );
        let d = &self.declines;
        println!(
            "  offers: {} received, SDK tasks launched: {}; declined: {} nothing pending, {} constraints, {} max cores, {} not now",
            self.offers, self.sdk_tasks, d.nothing_pending, d.unmet_constraints, d.reached_max_cores, d.not_now
        );
    }
}
