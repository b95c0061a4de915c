//! spark-like: run a batch of short tasks on the embedded mock master (or a
//! master you point it at) and report what ran where and how long it took.
//!
//! ```text
//! cargo run -p spark-like                    # 100 tasks on 4 embedded agents
//! cargo run -p spark-like -- --tasks 500 --task-ms 50
//! cargo run -p spark-like -- --master grpc://127.0.0.1:5050
//! cargo run -p spark-like -- --local         # real processes on local agents
//! ```
//!
//! With `--local`, the embedded master's agents are local agents: each task
//! runs a real shell command in its own sandbox, and the report lists where
//! each task's logs are.

mod job;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use corral::{Framework, FrameworkInfo, Resources, Stopped};
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
    /// A master to use instead of the embedded mock master: `grpc://host:port`
    /// (corral's protocol, e.g. `mock-master`), `http://host:port` or a list
    /// `host:port,host:port` (the Mesos v1 HTTP API); see `corral::connect`.
    #[arg(long)]
    master: Option<String>,
    /// Agents of the embedded master.
    #[arg(long, default_value_t = 4)]
    agents: usize,
    /// Resources of each embedded agent.
    #[arg(long, default_value = "cpus:4;mem:8192;disk:10000;ports:[31000-32000]")]
    agent_resources: String,
    /// Run the batch as real processes on local agents (embedded master only).
    #[arg(long)]
    local: bool,
    /// Where local agents keep task sandboxes (with --local). Default:
    /// `corral-spark-like-<pid>` in the system's temporary directory.
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
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
    if args.local && args.master.is_some() {
        return Err(
            "--local runs the embedded master's agents locally; it cannot be used with --master"
                .into(),
        );
    }
    let seconds = args.task_ms as f64 / 1000.0;
    let shape = TaskShape {
        resources: Resources::new()
            .with_cpus(args.task_cpus)
            .with_mem(args.task_mem),
        duration: Duration::from_millis(args.task_ms),
        command: if args.local {
            format!("echo \"$MESOS_TASK_ID on $MESOS_AGENT_ID in $MESOS_SANDBOX\"; sleep {seconds}")
        } else {
            format!("sleep {seconds}")
        },
    };
    let work_dir = match &args.work_dir {
        Some(dir) => std::path::absolute(dir)?,
        None => std::env::temp_dir().join(format!("corral-spark-like-{}", std::process::id())),
    };
    // The embedded master lives as long as this function.
    let (_master, endpoint) = match &args.master {
        Some(url) => (None, url.clone()),
        None => {
            let resources = Resources::parse(&args.agent_resources)?;
            let config = if args.local {
                MasterConfig::default().local_agents(args.agents, resources, &work_dir)
            } else {
                MasterConfig::default().agents(args.agents, resources)
            };
            let config = config.role(args.role.as_str(), 1.0);
            let master = MockMaster::start(config).await?;
            let endpoint = match master.addr() {
                Some(addr) => format!("grpc://{addr}"),
                None => return Err("the embedded master listens on TCP".into()),
            };
            let kind = if args.local { "local" } else { "simulated" };
            println!(
                "embedded mock master at {endpoint} with {} {kind} agents ({})",
                args.agents, args.agent_resources
            );
            if args.local {
                println!("  sandboxes under {}", work_dir.display());
            }
            (Some(master), endpoint)
        }
    };
    let info = FrameworkInfo::new("spark-like").with_roles([args.role.as_str()]);
    let framework = Framework::new(info, corral::connect(&endpoint)?);
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
    if !report.logs.is_empty() {
        println!("  logs of each task (stdout; stderr beside it):");
        for (index, stdout) in &report.logs {
            let agent = report.finished.get(index).map_or("?", String::as_str);
            println!("    task {index:04} on {agent}: {}", stdout.display());
        }
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
