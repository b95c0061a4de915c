//! `jenkins`: run the CI controller against the embedded mock master (or a
//! master you point it at), trigger a burst of builds from the jobs file,
//! and print the results summary, as text and as one line of JSON.
//!
//! ```text
//! cargo run -p jenkins                          # 24 builds on 4 embedded agents
//! cargo run -p jenkins -- --builds 200
//! cargo run -p jenkins -- --jobs my-jobs.yaml
//! cargo run -p jenkins -- --master http://127.0.0.1:5050
//! ```
//!
//! The embedded master's agents are simulated: a build's steps take their
//! `simulated_seconds` (agents that run the `sh` lines as real processes
//! are not built yet). Its agents have the attribute `os=linux`, and the
//! role `batch` is guaranteed part of the cluster and idle, so its share is
//! lent as revocable resources: that is where the preemptible `spot`
//! label's agents run.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use corral::{inputs, Capability, Config, Framework, FrameworkInfo, GrpcTransport, Resources};
use corral_testkit::allocator::Quota;
use corral_testkit::{MasterConfig, MockMaster};
use jenkins::{Controller, Input, JobsFile, Summary};

/// The jobs file shipped with the example.
const SHIPPED_JOBS: &str = include_str!("../jobs.yaml");

/// Command-line options.
#[derive(Parser, Debug)]
#[command(about = "A CI controller whose build agents exist only while builds need them.")]
struct Args {
    /// The jobs file (default: the shipped examples/jenkins/jobs.yaml).
    #[arg(long)]
    jobs: Option<PathBuf>,
    /// How many builds the burst triggers (round-robin over the jobs).
    #[arg(long, default_value_t = 24)]
    builds: usize,
    /// A master to use instead of the embedded mock master.
    #[arg(long)]
    master: Option<String>,
    /// Agents of the embedded master.
    #[arg(long, default_value_t = 4)]
    agents: usize,
    /// Resources of each embedded agent.
    #[arg(long, default_value = "cpus:4;mem:8192;disk:20000")]
    agent_resources: String,
    /// CPUs of the embedded cluster guaranteed to the idle role `batch`,
    /// lent to preemptible labels as revocable resources.
    #[arg(long, default_value_t = 4.0)]
    lent_cpus: f64,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("jenkins: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let file = match &args.jobs {
        Some(path) => JobsFile::load(path)?,
        None => JobsFile::parse(SHIPPED_JOBS)?,
    };
    let role = file.cloud.role.clone();
    // The embedded master lives as long as this function.
    let (_master, endpoint) = match &args.master {
        Some(url) => (None, url.clone()),
        None => {
            let resources = Resources::parse(&args.agent_resources)?;
            let config = MasterConfig::default()
                .agents(args.agents, resources)
                .attribute_all("os", "linux")
                .role(role.as_str(), 1.0)
                .role("batch", 1.0)
                .quota(
                    "batch",
                    Quota {
                        guarantee: Resources::new().with_cpus(args.lent_cpus),
                        limit: None,
                    },
                )
                .allocation_interval(Duration::from_millis(100));
            let master = MockMaster::start(config).await?;
            let endpoint = master.endpoint();
            println!(
                "embedded mock master at {endpoint}: {} simulated agents ({}), {} CPUs of idle role `batch` lent as revocable",
                args.agents, args.agent_resources, args.lent_cpus
            );
            (Some(master), endpoint)
        }
    };

    let info = FrameworkInfo::new("jenkins")
        .with_roles([role.as_str()])
        .with_capability(Capability::RevocableResources);
    // Single-use agents end often: revive sooner than the default 1 s.
    let config = Config {
        min_revive_interval: Duration::from_millis(200),
        ..Config::default()
    };
    let framework = Framework::with_config(info, config, GrpcTransport::connect_lazy(&endpoint)?);
    let jobs: Vec<String> = file.jobs.iter().map(|j| j.name.clone()).collect();
    println!(
        "triggering {} builds of {} jobs ({}) ...",
        args.builds,
        jobs.len(),
        jobs.join(", ")
    );
    let (sender, inputs) = inputs::channel(args.builds + 1);
    for i in 0..args.builds {
        let job = jobs[i % jobs.len()].clone();
        sender
            .try_send(Input::Trigger {
                job,
                params: BTreeMap::new(),
            })
            .map_err(|_| "the input channel refused a trigger")?;
    }
    sender
        .try_send(Input::ShutdownWhenDone)
        .map_err(|_| "the input channel refused the shutdown")?;

    let mut controller = Controller::new(file);
    let wall = std::time::Instant::now();
    let outcome = framework.run_with_inputs(&mut controller, inputs).await;
    let summary = Summary::of(&controller);
    println!("done in {:.2?}", wall.elapsed());
    println!("{summary}");
    println!("{}", summary.to_json());
    match outcome {
        Ok(corral::Stopped::TornDown) if summary.unfinished == 0 => Ok(ExitCode::SUCCESS),
        Ok(stopped) => {
            eprintln!(
                "jenkins: stopped with {stopped:?} and {} builds unfinished",
                summary.unfinished
            );
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}
