//! spark-like: run a batch of short tasks on the embedded mock master (or a
//! master you point it at) and report what ran where and how long it took.
//!
//! ```text
//! cargo run -p spark-like                    # 100 tasks on 4 embedded agents
//! cargo run -p spark-like -- --tasks 500 --task-ms 50
//! cargo run -p spark-like -- --master http://127.0.0.1:5050
//! ```

mod job;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use corral::{Framework, FrameworkInfo, GrpcTransport, Resources, Stopped};
use corral_testkit::{MasterConfig, MockMaster};
use job::{BatchJob, TaskShape};

/// Command-line options.
#[derive(Parser, Debug)]
#[command(about = "A batch framework: many short tasks, packed onto offers as they arrive.")]
struct Args {
    /// How many tasks the batch has.
    #[arg(long, default_value_t = 100)]
    tasks: usize,
    /// How long each (simulated) task runs, in milliseconds.
    #[arg(long, default_value_t = 200)]
    task_ms: u64,
    /// CPUs per task.
    #[arg(long, default_value_t = 0.5)]
    task_cpus: f64,
    /// Memory per task, MB.
    #[arg(long, default_value_t = 128.0)]
    task_mem: f64,
    /// The role to subscribe with.
    #[arg(long, default_value = "batch")]
    role: String,
    /// A master to use instead of the embedded mock master.
    #[arg(long)]
    master: Option<String>,
    /// Agents of the embedded master.
    #[arg(long, default_value_t = 4)]
    agents: usize,
    /// Resources of each embedded agent.
    #[arg(long, default_value = "cpus:4;mem:8192;disk:10000;ports:[31000-32000]")]
    agent_resources: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    match run(Args::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("spark-like: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let shape = TaskShape {
        resources: Resources::new()
            .with_cpus(args.task_cpus)
            .with_mem(args.task_mem),
        duration: Duration::from_millis(args.task_ms),
        command: format!("sleep {}", args.task_ms as f64 / 1000.0),
    };
    // The embedded master lives as long as this function.
    let (_master, endpoint) = match &args.master {
        Some(url) => (None, url.clone()),
        None => {
            let resources = Resources::parse(&args.agent_resources)?;
            let config = MasterConfig::default()
                .agents(args.agents, resources)
                .role(args.role.as_str(), 1.0);
            let master = MockMaster::start(config).await?;
            let endpoint = master.endpoint();
            println!(
                "embedded mock master at {endpoint} with {} agents ({})",
                args.agents, args.agent_resources
            );
            (Some(master), endpoint)
        }
    };
    let info = FrameworkInfo::new("spark-like").with_roles([args.role.as_str()]);
    let framework = Framework::new(info, GrpcTransport::connect_lazy(&endpoint)?);
    println!(
        "running {} tasks of {} ms ({}) ...",
        args.tasks, args.task_ms, shape.resources
    );
    let mut job = BatchJob::new(args.tasks, shape);
    let wall = std::time::Instant::now();
    let outcome = framework.run(&mut job).await;
    let report = job.report();
    let per_agent =
        report
            .finished
            .values()
            .fold(BTreeMap::<&str, usize>::new(), |mut acc, host| {
                *acc.entry(host.as_str()).or_default() += 1;
                acc
            });
    println!(
        "finished {}/{} tasks in {:.2?} (wall {:.2?})",
        report.finished.len(),
        args.tasks,
        report.elapsed,
        wall.elapsed()
    );
    println!(
        "  offers received: {}, launches: {}, retries: {}",
        report.offers, report.launches, report.retries
    );
    for (host, count) in per_agent {
        println!("  {host}: {count} tasks");
    }
    if !report.gave_up.is_empty() {
        println!(
            "  gave up on {} tasks: {:?}",
            report.gave_up.len(),
            report.gave_up
        );
    }
    match outcome {
        Ok(Stopped::TornDown) if job.done() && report.gave_up.is_empty() => Ok(ExitCode::SUCCESS),
        Ok(_) => Ok(ExitCode::FAILURE),
        Err(e) => Err(e.into()),
    }
}
