//! `cargo run -p k8s-bridge`: the shipped manifests on an embedded mock
//! master (simulated agents, or `--local-agents N` real ones) or on
//! `--master URL`, with the Kubernetes API in front on `--listen` and a
//! kubeconfig written for kubectl; `--run-ms N` stops after N ms and
//! prints the pods' placement. See [`k8s_bridge::demo`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use corral::Resources;
use k8s_bridge::demo;

/// Runs Kubernetes manifests as one multi-role framework, with the
/// Kubernetes API in front.
#[derive(Parser, Debug)]
struct Args {
    /// The manifests to apply at start (every .yaml, .yml and .json file).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/manifests"))]
    manifests: PathBuf,
    /// Simulated agents of the embedded master (default 2, or 0 with
    /// `--local-agents`).
    #[arg(long)]
    agents: Option<usize>,
    /// Local agents of the embedded master: pods run as real processes.
    #[arg(long, default_value_t = 0)]
    local_agents: usize,
    /// Each embedded agent's resources.
    #[arg(long, default_value = "cpus:4;mem:8192")]
    agent_resources: String,
    /// A master instead of the embedded one: `grpc://host:port`,
    /// `http://host:port`, `host:port,host:port` (see `corral::connect`).
    #[arg(long)]
    master: Option<String>,
    /// Where the Kubernetes API listens (plain HTTP; keep it on loopback).
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Sandboxes of local agents, and the kubeconfig (default
    /// `k8s-bridge-<pid>` in the system's temporary directory).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Where to write the kubeconfig (default: `kubeconfig` in the work
    /// directory).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Stop after this many milliseconds and print where the pods went
    /// (the demo); without it, run until Ctrl-C or SIGTERM.
    #[arg(long)]
    run_ms: Option<u64>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
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
        "applying {} objects from {}",
        objects.len(),
        args.manifests.display()
    );
    // A work directory of our own choosing is removed at the end.
    let (work_dir, ours) = match &args.work_dir {
        Some(dir) => (std::path::absolute(dir)?, false),
        None => (
            std::env::temp_dir().join(format!("k8s-bridge-{}", std::process::id())),
            true,
        ),
    };
    let agents = args
        .agents
        .unwrap_or(if args.local_agents > 0 { 0 } else { 2 });
    let options = demo::ServeOptions {
        agents,
        local_agents: args.local_agents,
        resources: Resources::parse(&args.agent_resources)?,
        master: args.master,
        listen: args.listen,
        work_dir: work_dir.clone(),
        kubeconfig: args.kubeconfig,
        run_for: args.run_ms.map(Duration::from_millis),
    };
    let printing = options.run_for.is_some();
    let outcome = demo::serve(objects, options).await;
    if ours {
        if let Err(e) = std::fs::remove_dir_all(&work_dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                eprintln!("k8s-bridge: removing {}: {e}", work_dir.display());
            }
        }
    }
    let bridge = outcome?;
    if printing {
        print!("{}", demo::placement(bridge.store()));
    }
    Ok(())
}
