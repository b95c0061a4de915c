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
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use corral::{inputs, Capability, Config, Framework, FrameworkInfo, GrpcTransport, Resources};
use corral_testkit::allocator::Quota;
use corral_testkit::{MasterConfig, MockMaster};
use jenkins::store::Store;
use jenkins::{hub, BuildId, Controller, Input, JobsFile, Runner, Summary};

/// The jobs file shipped with the example.
const SHIPPED_JOBS: &str = include_str!("../jobs.yaml");

/// Command-line options.
#[derive(Parser, Debug)]
#[command(
    about = "A CI controller whose build agents exist only while builds need them.",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: Args,
}

/// The subcommands besides the default run.
#[derive(Subcommand, Debug)]
enum Command {
    /// Run as an agent (what each agent task runs): connect back to the
    /// controller and run the builds it gives, one at a time.
    Agent {
        /// The controller's agent port.
        #[arg(long)]
        controller: SocketAddr,
        /// This agent's name (its task id).
        #[arg(long)]
        name: String,
        /// When told to stop (SIGTERM), how long its build's steps get
        /// between SIGTERM and SIGKILL, milliseconds.
        #[arg(long, default_value_t = 2000)]
        grace_ms: u64,
    },
}

/// Options of the default run.
#[derive(clap::Args, Debug)]
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
    /// Simulated agents (steps take their `simulated_seconds`) instead of
    /// local agents running the steps as real processes (embedded master).
    #[arg(long)]
    simulated: bool,
    /// Where agents connect back to (real agents only).
    #[arg(long, default_value = "127.0.0.1:0")]
    agent_port: SocketAddr,
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
    /// Where local agents keep sandboxes. Default: `corral-jenkins-<pid>`
    /// in the system's temporary directory.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// The controller's state database (framework id, queue, builds). A
    /// run that finds one resumes it: same framework id, same builds.
    /// Default: `jenkins.redb` in the work directory.
    #[arg(long)]
    state: Option<PathBuf>,
}

/// How long the master keeps the framework's agents running while the
/// controller is away (a restart). Never zero: that kills every build.
const FAILOVER_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Some(Command::Agent {
            controller,
            name,
            grace_ms,
        }) => jenkins::agent::run(controller, name, Duration::from_millis(grace_ms))
            .await
            .map(|()| ExitCode::SUCCESS)
            .map_err(Into::into),
        None => run(cli.run).await,
    };
    match outcome {
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
    if args.simulated && args.master.is_some() {
        return Err("--simulated is for the embedded master's agents".into());
    }
    let role = file.cloud.role.clone();
    let work_dir = match &args.work_dir {
        Some(dir) => std::path::absolute(dir)?,
        None => std::env::temp_dir().join(format!("corral-jenkins-{}", std::process::id())),
    };
    // The embedded master lives as long as this function.
    let (_master, endpoint) = match &args.master {
        Some(url) => (None, url.clone()),
        None => {
            let resources = Resources::parse(&args.agent_resources)?;
            let config = if args.simulated {
                MasterConfig::default().agents(args.agents, resources)
            } else {
                MasterConfig::default().local_agents(args.agents, resources, &work_dir)
            };
            let config = config
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
            let kind = if args.simulated { "simulated" } else { "local" };
            println!(
                "embedded mock master at {endpoint}: {} {kind} agents ({}), {} CPUs of idle role `batch` lent as revocable",
                args.agents, args.agent_resources, args.lent_cpus
            );
            if !args.simulated {
                println!("  sandboxes under {}", work_dir.display());
            }
            (Some(master), endpoint)
        }
    };

    let (sender, inputs) = inputs::channel(args.builds + 64);
    let runner = if args.simulated {
        Runner::Simulated
    } else {
        // Agents connect back here; the hub turns what they say into inputs.
        let listener = tokio::net::TcpListener::bind(args.agent_port).await?;
        let controller = listener.local_addr()?;
        tokio::spawn(hub::serve(listener, sender.clone()));
        println!("  agents connect back to {controller}");
        Runner::Remote {
            program: std::env::current_exe()?,
            controller,
        }
    };

    std::fs::create_dir_all(&work_dir)?;
    let state = args
        .state
        .clone()
        .unwrap_or_else(|| work_dir.join("jenkins.redb"));
    let mut controller = Controller::restore(file, runner, Store::open(&state)?)?;
    let mut info = FrameworkInfo::new("jenkins")
        .with_roles([role.as_str()])
        .with_capability(Capability::RevocableResources)
        .with_failover_timeout(FAILOVER_TIMEOUT);
    if let Some(id) = controller.framework_id() {
        println!("  resuming framework {id} from {}", state.display());
        info = info.with_id(id.clone());
    }
    // Single-use agents end often: revive sooner than the default 1 s.
    let config = Config {
        min_revive_interval: Duration::from_millis(200),
        ..Config::default()
    };
    let framework = Framework::with_config(info, config, GrpcTransport::connect_lazy(&endpoint)?);
    let jobs: Vec<String> = controller
        .file()
        .jobs
        .iter()
        .map(|j| j.name.clone())
        .collect();
    println!(
        "triggering {} builds of {} jobs ({}) ...",
        args.builds,
        jobs.len(),
        jobs.join(", ")
    );
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
    drop(sender);

    let wall = std::time::Instant::now();
    let outcome = framework.run_with_inputs(&mut controller, inputs).await;
    let summary = Summary::of(&controller);
    println!("done in {:.2?}", wall.elapsed());
    if !args.simulated {
        print_first_logs(&controller);
    }
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

/// The console log of each job's first build.
fn print_first_logs(controller: &Controller) {
    for job in &controller.file().jobs {
        let id = BuildId {
            job: job.name.clone(),
            number: 1,
        };
        if let Some(build) = controller.builds().get(&id) {
            println!("--- {id} on {}:", build.agents.join(", then "));
            for line in build.log.lines() {
                println!("    {line}");
            }
        }
    }
}
