//! `jenkins`: run the CI controller against the embedded mock master (or a
//! master you point it at), trigger a burst of builds from the jobs file,
//! and print the results summary, as text and as one line of JSON.
//!
//! ```text
//! cargo run -p jenkins                          # 24 builds on 4 embedded agents
//! cargo run -p jenkins -- --builds 200
//! cargo run -p jenkins -- --jobs my-jobs.yaml
//! cargo run -p jenkins -- --master grpc://127.0.0.1:5050
//! ```
//!
//! The embedded master's agents are simulated: a build's steps take their
//! `simulated_seconds` (agents that run the `sh` lines as real processes
//! are not built yet). Its agents have the attribute `os=linux`, and the
//! role `batch` is guaranteed part of the cluster and idle, so its share is
//! lent as revocable resources: that is where the preemptible `spot`
//! label's agents run.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use jenkins::{api, BuildId, Controller, Input, Summary};

mod setup;

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
    /// Keep the controller running with the Jenkins remote API on
    /// `--listen` until interrupted (Ctrl-C or SIGTERM), then stop every
    /// agent and leave. (`--builds` is ignored: builds come over HTTP.)
    Serve {
        /// Where the remote API listens.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        run: Args,
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
    /// A master to use instead of the embedded mock master: `grpc://host:port`
    /// (corral's protocol, e.g. `mock-master`), `http://host:port` or a list
    /// `host:port,host:port` (the Mesos v1 HTTP API); see `corral::connect`.
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
    /// Where local agents keep sandboxes (and the state database, unless
    /// `--state`). Default: `corral-jenkins-<pid>` in the system's
    /// temporary directory, removed when the run ends.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// The controller's state database (framework id, queue, builds). A
    /// run that finds one resumes it: same framework id, same builds.
    /// Default: `jenkins.redb` in the work directory.
    #[arg(long)]
    state: Option<PathBuf>,
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
        Some(Command::Serve { listen, run }) => serve(listen, run).await,
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
    let setup::Started {
        _master,
        framework,
        mut controller,
        sender,
        inputs,
    } = setup::start(&args, args.builds + 64).await?;
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
    // A work directory of our own making goes with the run (the logs are
    // printed below; its state file belongs to this process only).
    drop(_master);
    if args.work_dir.is_none() {
        let _ = std::fs::remove_dir_all(setup::default_work_dir());
    }
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

/// `jenkins serve`: the controller and its remote API, until interrupted.
async fn serve(listen: SocketAddr, args: Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let setup::Started {
        _master,
        framework,
        mut controller,
        sender,
        inputs,
    } = setup::start(&args, 1024).await?;
    // Interrupted: shut down, which stops every agent and tears down.
    // Watched before the address is printed, so a SIGTERM sent as soon as
    // it is read is a clean shutdown, not the default action's kill.
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    let shutdown = sender.clone();
    tokio::spawn(async move {
        let mut term = match term {
            Ok(term) => term,
            Err(e) => {
                eprintln!("jenkins: cannot watch SIGTERM: {e}");
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        // Written without `println!`: a closed stdout must not stop the shutdown.
        let _ = writeln!(std::io::stdout(), "interrupted: stopping every agent");
        let _ = shutdown.send(Input::Shutdown).await;
    });
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let app = api::router(sender.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("jenkins: the remote API stopped: {e}");
        }
    });
    let outcome = framework.run_with_inputs(&mut controller, inputs).await;
    let _ = writeln!(std::io::stdout(), "{}", Summary::of(&controller));
    drop(_master);
    if args.work_dir.is_none() {
        let _ = std::fs::remove_dir_all(setup::default_work_dir());
    }
    match outcome {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e.into()),
    }
}
