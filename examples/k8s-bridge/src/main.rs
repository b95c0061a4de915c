//! `cargo run -p k8s-bridge`: the shipped manifests on an embedded mock
//! master with simulated agents, for a few seconds; prints the pods'
//! placement. See [`k8s_bridge::demo`].

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use corral::Resources;
use k8s_bridge::demo;

/// Runs Kubernetes manifests as one multi-role framework on an embedded
/// mock master.
#[derive(Parser, Debug)]
struct Args {
    /// The manifests to apply (every .yaml, .yml and .json file).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/manifests"))]
    manifests: PathBuf,
    /// Simulated agents.
    #[arg(long, default_value_t = 2)]
    agents: usize,
    /// Each agent's resources.
    #[arg(long, default_value = "cpus:4;mem:8192")]
    agent_resources: String,
    /// How long to run, in milliseconds (real time).
    #[arg(long, default_value_t = 1500)]
    run_ms: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut text = e.to_string();
            let mut source = e.source();
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            eprintln!("k8s-bridge: {text}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let objects = demo::read_manifests(&args.manifests)?;
    println!(
        "applying {} objects from {} on {} simulated agents ({})",
        objects.len(),
        args.manifests.display(),
        args.agents,
        args.agent_resources
    );
    let resources = Resources::parse(&args.agent_resources)?;
    let bridge = demo::run(
        objects,
        args.agents,
        resources,
        Duration::from_millis(args.run_ms),
    )
    .await?;
    print!("{}", demo::placement(bridge.store()));
    Ok(())
}
