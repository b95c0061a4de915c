//! `mock-master`: the corral-testkit mock master as a standalone gRPC server.
//!
//! ```text
//! mock-master --listen 127.0.0.1:5050 --agents 3 \
//!     --agent-resources "cpus:4;mem:8192;ports:[31000-32000]" \
//!     --attribute zone=a --role eng=2 --allocation-interval 100ms
//! mock-master --agents 0 --local-agents 2 --work-dir /tmp/corral --sandbox-ttl 30m
//! ```
//!
//! `--local-agents N` adds N agents that run tasks as real processes, each
//! in `<work-dir>/<agent id>` (numbered after the simulated ones).
//!
//! Logs go to stderr (`RUST_LOG` filters them, default `info`). Ctrl-C ends
//! every event stream and stops the server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use corral::Resources;
use corral_testkit::master::{MasterConfig, MockMaster};
use tracing_subscriber::EnvFilter;

/// A mock offer-based master speaking the corral.v1.Scheduler gRPC protocol.
#[derive(Debug, Parser)]
#[command(name = "mock-master", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:5050")]
    listen: SocketAddr,
    /// Number of simulated agents.
    #[arg(long, default_value_t = 3)]
    agents: usize,
    /// Resources of each agent, in text form.
    #[arg(long, default_value = "cpus:4;mem:8192;disk:10240;ports:[31000-32000]")]
    agent_resources: String,
    /// An attribute `name=value` given to every agent (repeatable).
    #[arg(long = "attribute", value_parser = parse_pair)]
    attributes: Vec<(String, String)>,
    /// A role weight `role=weight` (repeatable).
    #[arg(long = "role", value_parser = parse_weight)]
    roles: Vec<(String, f64)>,
    /// Time between allocation cycles (`100ms`, `1s`, `2m`).
    #[arg(long, default_value = "100ms", value_parser = parse_duration)]
    allocation_interval: Duration,
    /// Time between heartbeats on each event stream.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    heartbeat_interval: Duration,
    /// Unused offers are rescinded after this long (`never` to keep them).
    #[arg(long, default_value = "60s", value_parser = parse_optional_duration)]
    // Spelled out so that clap takes the parser's Option as the value, not as "optional".
    offer_timeout: std::option::Option<Duration>,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Number of local agents: their tasks run as real processes on this
    /// machine (same resources as the simulated agents).
    #[arg(long, default_value_t = 0)]
    local_agents: usize,
    /// Where local agents keep task sandboxes (one directory per agent).
    /// Default: `corral-mock-master` in the system's temporary directory.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// How long a local task's sandbox is kept after it ended.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    sandbox_ttl: Duration,
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("expected name=value, got {text:?}")),
    }
}

fn parse_weight(text: &str) -> Result<(String, f64), String> {
    let (role, weight) = parse_pair(text)?;
    let weight: f64 = weight
        .parse()
        .map_err(|_| format!("weight of role {role} is not a number: {weight:?}"))?;
    Ok((role, weight))
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("expected a duration like 100ms, 1.5s or 2m, got {text:?}"))?;
    let seconds = match unit.trim() {
        "ms" => number / 1000.0,
        "" | "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        other => {
            return Err(format!(
                "unknown duration unit {other:?} (use ms, s, m or h)"
            ))
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("bad duration {text:?}: {e}"))
}

fn parse_optional_duration(text: &str) -> Result<Option<Duration>, String> {
    if text.eq_ignore_ascii_case("never") {
        Ok(None)
    } else {
        parse_duration(text).map(Some)
    }
}

fn config(args: &Args) -> Result<MasterConfig, String> {
    let resources =
        Resources::parse(&args.agent_resources).map_err(|e| format!("--agent-resources: {e}"))?;
    let work_dir = match &args.work_dir {
        Some(dir) => std::path::absolute(dir).map_err(|e| format!("--work-dir: {e}"))?,
        None => std::env::temp_dir().join("corral-mock-master"),
    };
    let mut config = MasterConfig::default()
        .agents(args.agents, resources.clone())
        .local_agents(args.local_agents, resources, &work_dir)
        .sandbox_ttl(args.sandbox_ttl)
        .allocation_interval(args.allocation_interval)
        .heartbeat_interval(args.heartbeat_interval)
        .offer_timeout(args.offer_timeout)
        .seed(args.seed);
    for (name, value) in &args.attributes {
        config = config.attribute_all(name, value);
    }
    for (role, weight) in &args.roles {
        config = config.role(role.as_str(), *weight);
    }
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = match config(&args) {
        Ok(config) => config,
        Err(err) => {
            tracing::error!("invalid configuration: {err}");
            return ExitCode::from(2);
        }
    };
    let master = match MockMaster::start_on(args.listen, config).await {
        Ok(master) => master,
        Err(err) => {
            tracing::error!("cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(endpoint = %master.endpoint(), agents = args.agents,
        local_agents = args.local_agents, "mock master ready");
    if let Err(err) = tokio::signal::ctrl_c().await {
        tracing::error!("cannot wait for Ctrl-C: {err}");
    }
    tracing::info!("shutting down");
    match master.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("shutdown failed: {err}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("15"), Ok(Duration::from_secs(15)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert_eq!(parse_optional_duration("never"), Ok(None));
    }

    #[test]
    fn pairs_and_weights() {
        assert_eq!(parse_pair("zone=a"), Ok(("zone".into(), "a".into())));
        assert!(parse_pair("zone").is_err());
        assert_eq!(parse_weight("eng=2.5"), Ok(("eng".into(), 2.5)));
        assert!(parse_weight("eng=x").is_err());
    }

    #[test]
    fn config_from_args() {
        let args = Args::parse_from([
            "mock-master",
            "--agents",
            "2",
            "--attribute",
            "zone=a",
            "--role",
            "eng=2",
            "--offer-timeout",
            "never",
        ]);
        let config = config(&args).unwrap();
        assert_eq!(config.agents.len(), 2);
        assert_eq!(
            config.agents[1].attributes,
            [("zone".to_owned(), "a".to_owned())]
        );
        assert_eq!(config.offer_timeout, None);
    }

    #[test]
    fn local_agents_from_args() {
        let args = Args::parse_from([
            "mock-master",
            "--agents",
            "1",
            "--local-agents",
            "2",
            "--work-dir",
            "/tmp/corral-w",
            "--sandbox-ttl",
            "30s",
        ]);
        let built = config(&args).unwrap();
        let kinds: Vec<Option<&std::path::Path>> =
            built.agents.iter().map(|a| a.kind.work_dir()).collect();
        assert_eq!(
            kinds,
            [
                None,
                Some(std::path::Path::new("/tmp/corral-w/agent-1")),
                Some(std::path::Path::new("/tmp/corral-w/agent-2"))
            ]
        );
        assert_eq!(built.sandbox_ttl, Duration::from_secs(30));
        // A relative work dir is made absolute.
        let args = Args::parse_from(["mock-master", "--local-agents", "1", "--work-dir", "w"]);
        let built = config(&args).unwrap();
        let local = built.agents.iter().find_map(|a| a.kind.work_dir());
        assert!(local.is_some_and(|dir| dir.is_absolute()), "{local:?}");
    }
}
