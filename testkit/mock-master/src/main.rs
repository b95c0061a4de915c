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
//! Operators set quotas and reservations with flags or a TOML file
//! (`--config`, see the `config_file` module), and change
//! weights, quotas and reservations at run time through the
//! `corral.v1.Operator` gRPC service on the same address:
//!
//! ```text
//! mock-master --config cluster.toml --role eng=2 \
//!     --quota 'eng=cpus:4;mem:4096' --quota-limit 'eng=cpus:8' \
//!     --reserve 'all=cpus(eng):1;mem(eng):1024'
//! ```
//!
//! The same address serves the Mesos v1 scheduler HTTP API
//! (`POST /api/v1/scheduler`), so Mesos clients run unmodified against it.
//! `--standby-of HOST:PORT` starts a standby master instead: its door
//! answers 307 to that leader (503 with `none`), for testing clients'
//! redirect code:
//!
//! ```text
//! mock-master --listen 127.0.0.1:5051 --standby-of 127.0.0.1:5050
//! ```
//!
//! Logs go to stderr (`RUST_LOG` filters them, default `info`). Ctrl-C ends
//! every event stream and stops the server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use corral::{Resources, Role};
use corral_testkit::master::{MasterConfig, MockMaster, StandbyMaster};
use tracing_subscriber::EnvFilter;

mod config_file;

use config_file::{ConfigFile, ConfigFileError};

/// Shown after `--help`.
const AFTER_HELP: &str = "\
Resources are in text form: `cpus:4;mem:8192;ports:[31000-32000]`; `cpus(eng):2`
is reserved for role eng. A --config file is TOML:

  [[agents]]               # count agents named agent-<i>, or one with `id`
  count = 2
  resources = \"cpus:4;mem:8192\"
  reserved = \"cpus(eng):1\"  # carved out of `resources`
  attributes = { zone = \"a\" }

  [roles.eng]
  weight = 2.0
  quota = \"cpus:4;mem:4096\" # the guarantee
  limit = \"cpus:8\"

Flags extend the file (agents are added after its agents) or override it
(weights, quota guarantees and limits of the same role). At run time, the
corral.v1.Operator gRPC service on the same address sets weights, quotas and
reservations (SetWeight, SetQuota, RemoveQuota, Reserve, Unreserve, GetRoles,
GetAgents) and schedules or ends maintenance windows on agents
(ScheduleMaintenance, EndMaintenance).";

/// A mock offer-based master: corral's gRPC protocol (corral.v1.Scheduler) and the
/// Mesos v1 scheduler HTTP API (`POST /api/v1/scheduler`) on one address.
#[derive(Debug, Parser)]
#[command(name = "mock-master", version, after_help = AFTER_HELP)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:5050")]
    listen: SocketAddr,
    /// Logs as JSON, one object a line (`RUST_LOG` filters either way).
    #[arg(long)]
    log_json: bool,
    /// A TOML file with agents, role weights, quotas and reservations; the
    /// flags extend or override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Number of simulated agents [default: 3, or 0 when --config lists agents].
    #[arg(long)]
    agents: Option<usize>,
    /// Resources of each agent added by --agents and --local-agents.
    #[arg(long, default_value = "cpus:4;mem:8192;disk:10240;ports:[31000-32000]")]
    agent_resources: String,
    /// An attribute `name=value` given to every agent (repeatable).
    #[arg(long = "attribute", value_parser = parse_pair)]
    attributes: Vec<(String, String)>,
    /// A role weight `role=weight` (repeatable).
    #[arg(long = "role", value_parser = parse_weight)]
    roles: Vec<(String, f64)>,
    /// A role's quota guarantee, `ROLE=RESOURCES` (`eng=cpus:8;mem:4096`;
    /// repeatable).
    #[arg(long = "quota", value_name = "ROLE=RESOURCES", value_parser = parse_role_resources)]
    quotas: Vec<(String, Resources)>,
    /// A role's quota limit, `ROLE=RESOURCES` (`eng=cpus:16`; repeatable).
    #[arg(long = "quota-limit", value_name = "ROLE=RESOURCES", value_parser = parse_role_resources)]
    quota_limits: Vec<(String, Resources)>,
    /// Reserves part of agents' resources, `AGENT=RESOURCES`: AGENT is `all`,
    /// an index (`0`) or an id (`agent-0`); each resource names its role
    /// (`all=cpus(eng):1;mem(eng):1024`; repeatable).
    #[arg(long = "reserve", value_name = "AGENT=RESOURCES", value_parser = parse_reserve)]
    reserves: Vec<(String, Resources)>,
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
    /// How many frameworks may be connected at once; one more SUBSCRIBE is
    /// refused (RESOURCE_EXHAUSTED).
    #[arg(long, default_value_t = corral_testkit::master::config::DEFAULT_MAX_CONNECTED_FRAMEWORKS)]
    max_frameworks: usize,
    /// How many events may wait on one subscription; a subscriber that
    /// lets its queue fill up is disconnected.
    #[arg(long, default_value_t = corral_testkit::master::config::DEFAULT_EVENT_QUEUE_CAPACITY)]
    event_queue: usize,
    /// How many completed tasks the master keeps per framework.
    #[arg(long, default_value_t = corral_testkit::master::tasks::DEFAULT_MAX_COMPLETED_TASKS_PER_FRAMEWORK)]
    max_completed_tasks_per_framework: usize,
    /// First resend delay of a status update the framework has not
    /// acknowledged (it doubles up to 10 min).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    status_update_retry: Duration,
    /// Run as a standby (non-leading) master of the leader at `HOST:PORT`:
    /// the Mesos door answers 307 to it (`Location: //HOST:PORT/...`), and
    /// nothing else is served; `none` answers 503 (no leader elected). For
    /// testing clients' redirect and failover code.
    #[arg(long, value_name = "HOST:PORT")]
    standby_of: Option<String>,
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

/// `ROLE=RESOURCES`.
fn parse_role_resources(text: &str) -> Result<(String, Resources), String> {
    let (role, resources) =
        parse_pair(text).map_err(|_| format!("expected ROLE=RESOURCES, got {text:?}"))?;
    let resources =
        Resources::parse(&resources).map_err(|e| format!("resources of role {role}: {e}"))?;
    Ok((role, resources))
}

/// `AGENT=RESOURCES`, each resource reserved for a role.
fn parse_reserve(text: &str) -> Result<(String, Resources), String> {
    let (agent, resources) =
        parse_pair(text).map_err(|_| format!("expected AGENT=RESOURCES, got {text:?}"))?;
    let resources = Resources::parse(&resources).map_err(|e| e.to_string())?;
    if let Some(plain) = resources.iter().find(|r| r.reservation.is_none()) {
        return Err(format!(
            "{} names no role: write {}(ROLE):...",
            plain.name, plain.name
        ));
    }
    Ok((agent, resources))
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

/// The configuration the flags (and the `--config` file) describe.
fn config(args: &Args) -> Result<MasterConfig, String> {
    let file = match &args.config {
        Some(path) => Some(ConfigFile::read(path).map_err(|e| match e {
            ConfigFileError::Read { .. } => format!("--config: {e}"),
            _ => format!("--config {}: {e}", path.display()),
        })?),
        None => None,
    };
    build(args, file)
}

/// The configuration of `file` (if any) extended and overridden by the flags.
fn build(args: &Args, file: Option<ConfigFile>) -> Result<MasterConfig, String> {
    let resources =
        Resources::parse(&args.agent_resources).map_err(|e| format!("--agent-resources: {e}"))?;
    let work_dir = match &args.work_dir {
        Some(dir) => std::path::absolute(dir).map_err(|e| format!("--work-dir: {e}"))?,
        None => std::env::temp_dir().join("corral-mock-master"),
    };
    let file_has_agents = file.as_ref().is_some_and(|f| !f.agents.is_empty());
    let agents = args.agents.unwrap_or(if file_has_agents { 0 } else { 3 });
    let base = match file {
        Some(file) => file.apply(MasterConfig::default()),
        None => MasterConfig::default(),
    };
    let mut config = base
        .agents(agents, resources.clone())
        .local_agents(args.local_agents, resources, &work_dir)
        .sandbox_ttl(args.sandbox_ttl)
        .allocation_interval(args.allocation_interval)
        .heartbeat_interval(args.heartbeat_interval)
        .offer_timeout(args.offer_timeout)
        .max_connected_frameworks(args.max_frameworks)
        .event_queue_capacity(args.event_queue)
        .max_completed_tasks_per_framework(args.max_completed_tasks_per_framework)
        .status_update_retry(args.status_update_retry)
        .seed(args.seed);
    for (name, value) in &args.attributes {
        config = config.attribute_all(name, value);
    }
    for (role, weight) in &args.roles {
        config = config.role(role.as_str(), *weight);
    }
    for (flag, list) in [
        ("--quota", &args.quotas),
        ("--quota-limit", &args.quota_limits),
    ] {
        let mut seen = std::collections::BTreeSet::new();
        for (role, resources) in list {
            if !seen.insert(role) {
                return Err(format!("{flag} is given twice for role {role}"));
            }
            let quota = config.quotas.entry(Role::new(role.as_str())).or_default();
            if flag == "--quota" {
                quota.guarantee = resources.clone();
            } else {
                quota.limit = Some(resources.clone());
            }
        }
    }
    for (target, reserved) in &args.reserves {
        let flag = || format!("--reserve {target}={reserved}");
        let chosen: Vec<usize> = if target == "all" {
            (0..config.agents.len()).collect()
        } else if let Ok(index) = target.parse::<usize>() {
            if index >= config.agents.len() {
                return Err(format!(
                    "{}: no agent {index} (there are {})",
                    flag(),
                    config.agents.len()
                ));
            }
            vec![index]
        } else {
            let found = config.agents.iter().position(|a| a.id.as_str() == target);
            vec![found.ok_or_else(|| format!("{}: no agent with id {target}", flag()))?]
        };
        for i in chosen {
            let agent = config.agents[i].clone();
            config.agents[i] = agent
                .reserve(reserved)
                .map_err(|e| format!("{}: {e}", flag()))?;
        }
    }
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

/// Serves a standby master's door on `listen` until Ctrl-C: 307 to
/// `leader`, or 503 when it is `none`.
async fn standby(listen: SocketAddr, leader: &str) -> ExitCode {
    let leader = (!leader.eq_ignore_ascii_case("none")).then(|| leader.to_owned());
    let standby = match StandbyMaster::start_on(listen, leader.clone()).await {
        Ok(standby) => standby,
        Err(err) => {
            tracing::error!("cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(endpoint = %standby.endpoint(), leader = ?leader, "standby master ready");
    if let Err(err) = tokio::signal::ctrl_c().await {
        tracing::error!("cannot wait for Ctrl-C: {err}");
    }
    tracing::info!("shutting down");
    match standby.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("shutdown failed: {err}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr);
    if args.log_json {
        // One JSON object a line, with the spans (call, allocation_cycle) and their fields.
        logs.json()
            .with_current_span(true)
            .with_span_list(true)
            .init();
    } else {
        logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    if let Some(leader) = &args.standby_of {
        return standby(args.listen, leader).await;
    }
    let config = match config(&args) {
        Ok(config) => config,
        Err(err) => {
            tracing::error!("invalid configuration: {err}");
            return ExitCode::from(2);
        }
    };
    let agent_count = config.agents.len();
    let master = match MockMaster::start_on(args.listen, config).await {
        Ok(master) => master,
        Err(err) => {
            tracing::error!("cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(endpoint = %master.endpoint(), agents = agent_count,
        "mock master ready");
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

    #[test]
    fn standby_and_update_retry_flags_parse() {
        let plain = args(&[]);
        assert_eq!(plain.standby_of, None);
        assert_eq!(
            config(&plain).unwrap().status_update_retry,
            Duration::from_secs(10)
        );
        let a = args(&[
            "--standby-of",
            "10.0.0.1:5050",
            "--status-update-retry",
            "300ms",
        ]);
        assert_eq!(a.standby_of.as_deref(), Some("10.0.0.1:5050"));
        assert_eq!(
            config(&a).unwrap().status_update_retry,
            Duration::from_millis(300)
        );
    }

    fn args(flags: &[&str]) -> Args {
        Args::parse_from(std::iter::once("mock-master").chain(flags.iter().copied()))
    }

    #[test]
    fn quota_and_reserve_flags_parse() {
        let (role, resources) = parse_role_resources("eng=cpus:8;mem:4096").unwrap();
        assert_eq!(role, "eng");
        assert_eq!(resources, Resources::parse("cpus:8;mem:4096").unwrap());
        assert!(parse_role_resources("cpus:8").is_err());
        assert!(parse_role_resources("eng=cpus:x")
            .unwrap_err()
            .contains("role eng"));
        let (agent, reserved) = parse_reserve("all=cpus(eng):1").unwrap();
        assert_eq!(agent, "all");
        assert_eq!(reserved, Resources::parse("cpus(eng):1").unwrap());
        assert!(parse_reserve("0=cpus:1")
            .unwrap_err()
            .contains("names no role"));
        let rejected = Args::try_parse_from(["mock-master", "--quota", "eng"]);
        assert_eq!(rejected.unwrap_err().exit_code(), 2);
    }

    #[test]
    fn quotas_and_reservations_from_args() {
        let built = config(&args(&[
            "--agents",
            "2",
            "--agent-resources",
            "cpus:4;mem:4096",
            "--quota",
            "eng=cpus:2;mem:1024",
            "--quota-limit",
            "eng=cpus:6",
            "--quota-limit",
            "batch=cpus:1",
            "--reserve",
            "all=cpus(eng):1",
            "--reserve",
            "agent-1=mem(ops):512",
        ]))
        .unwrap();
        let eng = &built.quotas[&Role::new("eng")];
        assert_eq!(eng.guarantee, Resources::parse("cpus:2;mem:1024").unwrap());
        assert_eq!(eng.limit, Some(Resources::parse("cpus:6").unwrap()));
        let batch = &built.quotas[&Role::new("batch")];
        assert!(batch.guarantee.is_empty());
        assert_eq!(
            built.agents[0].resources,
            Resources::parse("cpus:3;mem:4096;cpus(eng):1").unwrap()
        );
        assert_eq!(
            built.agents[1].resources,
            Resources::parse("cpus:3;mem:3584;cpus(eng):1;mem(ops):512").unwrap()
        );
    }

    #[test]
    fn bad_quotas_and_reservations_name_the_flag() {
        let err = config(&args(&[
            "--quota",
            "eng=cpus:4",
            "--quota-limit",
            "eng=cpus:2",
        ]));
        assert!(err.unwrap_err().contains("invalid quota for role eng"));
        let err = config(&args(&["--quota", "eng=cpus:1", "--quota", "eng=cpus:2"]));
        assert!(err
            .unwrap_err()
            .contains("--quota is given twice for role eng"));
        let err = config(&args(&["--agents", "1", "--reserve", "3=cpus(eng):1"])).unwrap_err();
        assert!(err.contains("--reserve 3=cpus(eng):1: no agent 3"), "{err}");
        let err = config(&args(&["--reserve", "gpu-0=cpus(eng):1"])).unwrap_err();
        assert!(err.contains("no agent with id gpu-0"), "{err}");
        let err = config(&args(&["--agents", "1", "--reserve", "0=cpus(eng):99"])).unwrap_err();
        assert!(
            err.starts_with("--reserve 0=cpus(eng):99: cannot reserve on agent agent-0"),
            "{err}"
        );
        let err = config(&args(&["--config", "/nonexistent/corral.toml"])).unwrap_err();
        assert!(
            err.starts_with("--config: cannot read /nonexistent/corral.toml"),
            "{err}"
        );
    }

    #[test]
    fn flags_extend_and_override_the_file() {
        let file = ConfigFile::parse(
            "[[agents]]\nid = \"big\"\nresources = \"cpus:8;mem:8192\"\n\
             [roles.eng]\nweight = 2.0\nquota = \"cpus:2\"\nlimit = \"cpus:4\"\n",
        )
        .unwrap();
        // With a file that lists agents, --agents defaults to none.
        let built = build(&args(&[]), Some(file.clone())).unwrap();
        let ids: Vec<&str> = built.agents.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["big"]);
        let built = build(
            &args(&[
                "--agents",
                "1",
                "--role",
                "eng=3",
                "--quota",
                "eng=cpus:3",
                "--reserve",
                "big=cpus(eng):2",
            ]),
            Some(file),
        )
        .unwrap();
        let ids: Vec<&str> = built.agents.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["big", "agent-1"]);
        assert_eq!(built.role_weights[&Role::new("eng")], 3.0);
        let eng = &built.quotas[&Role::new("eng")];
        assert_eq!(eng.guarantee, Resources::parse("cpus:3").unwrap());
        assert_eq!(
            eng.limit,
            Some(Resources::parse("cpus:4").unwrap()),
            "kept from the file"
        );
        assert_eq!(
            built.agents[0].resources,
            Resources::parse("cpus:6;mem:8192;cpus(eng):2").unwrap()
        );
        // Without a file, three agents as before.
        assert_eq!(build(&args(&[]), None).unwrap().agents.len(), 3);
    }
}
