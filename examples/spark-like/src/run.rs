//! One run of a job: the embedded mock master (simulated or local agents)
//! or a remote one, the executors' hub for local agents, the framework,
//! and, for word count, the output written as `part-NNNNN` files of
//! `word<TAB>count` lines (and `_SUCCESS`), as Hadoop's text output does.

use std::io::Write;
use std::path::{Path, PathBuf};

use corral::{Capability, Framework, FrameworkInfo, Resources};
use corral_testkit::{MasterConfig, MockMaster};

use crate::backend::{Backend, Placement};
use crate::conf::SparkConf;
use crate::dag::JobSpec;
use crate::progress::Progress;
use crate::report::Report;
use crate::work::Output;

/// What went wrong around a run (a failed job is a [`Report`] with its
/// failure, not an error).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The agents' resources do not parse.
    #[error("agent resources: {0}")]
    Resources(String),
    /// The embedded master did not start.
    #[error("the embedded master: {0}")]
    Master(String),
    /// The master could not be reached or the framework stopped on an error.
    #[error("framework: {0}")]
    Framework(#[from] corral::Error),
    /// `--master` does not parse.
    #[error("--master: {0}")]
    Connect(String),
    /// The executors' hub could not listen, or this binary is not found.
    #[error("executor hub: {0}")]
    Hub(std::io::Error),
    /// The output could not be written.
    #[error("output {path}: {source}")]
    Output {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The output directory already holds files.
    #[error("output directory {0} exists and is not empty")]
    OutputExists(PathBuf),
}

/// Where the run's agents are.
#[derive(Clone, Debug)]
pub enum Cluster {
    /// The embedded mock master with simulated agents.
    Simulated {
        /// Agents.
        agents: usize,
        /// Each agent's resources.
        resources: String,
    },
    /// The embedded mock master with local agents (real processes).
    Local {
        /// Agents.
        agents: usize,
        /// Each agent's resources.
        resources: String,
        /// Sandboxes go under this (absolute) directory.
        work_dir: PathBuf,
        /// The binary whose `executor` subcommand runs tasks.
        program: PathBuf,
    },
    /// A master you started (`corral::connect`).
    Remote {
        /// Its address (grpc://, http://, host:port).
        url: String,
        /// None: its agents are taken as simulated (the standalone mock
        /// master's default). Some: tasks run in real executor processes
        /// that its agents start and that connect back to the driver.
        executors: Option<RemoteExecutors>,
    },
}

/// Real executors on a remote master's agents.
#[derive(Clone, Debug)]
pub struct RemoteExecutors {
    /// This binary's path on the agents (each runs `PROGRAM executor ...`).
    pub program: PathBuf,
    /// Where the driver listens for its executors, and the address they
    /// are told: it must be reachable from the agents (port 0: any free).
    pub driver_address: std::net::SocketAddr,
}

/// One run to do.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// The job.
    pub job: JobSpec,
    /// Its configuration.
    pub conf: SparkConf,
    /// Where.
    pub cluster: Cluster,
    /// Show progress on stdout.
    pub progress: bool,
    /// Word count: write the output here.
    pub output: Option<PathBuf>,
    /// Print where the master is.
    pub verbose: bool,
}

/// Runs the job to its end; returns its report and the backend (its state).
pub async fn run(spec: RunSpec) -> Result<(Report, Backend), RunError> {
    if let Some(out) = &spec.output {
        check_output_dir(out)?;
    }
    let role = spec.conf.role.clone();
    let cluster_cpus = match &spec.cluster {
        Cluster::Simulated { agents, resources }
        | Cluster::Local {
            agents, resources, ..
        } => Resources::parse(resources)
            .ok()
            .map(|r| r.cpus() * *agents as f64),
        Cluster::Remote { .. } => None,
    };
    let mut listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let (master, endpoint, program) = match &spec.cluster {
        Cluster::Remote { url, executors } => {
            let program = executors.as_ref().map(|e| {
                listen = e.driver_address;
                e.program.clone()
            });
            (None, url.clone(), program)
        }
        Cluster::Simulated { agents, resources }
        | Cluster::Local {
            agents, resources, ..
        } => {
            let res =
                Resources::parse(resources).map_err(|e| RunError::Resources(e.to_string()))?;
            let (config, program) = match &spec.cluster {
                Cluster::Local {
                    work_dir, program, ..
                } => (
                    MasterConfig::default().local_agents(*agents, res, work_dir),
                    Some(program.clone()),
                ),
                _ => (MasterConfig::default().agents(*agents, res), None),
            };
            let config = config.role(role.as_str(), 1.0).attribute_all("os", "linux");
            let master = MockMaster::start(config)
                .await
                .map_err(|e| RunError::Master(e.to_string()))?;
            let addr = master
                .addr()
                .ok_or_else(|| RunError::Master("not listening on TCP".into()))?;
            if spec.verbose {
                let kind = if program.is_some() {
                    "local"
                } else {
                    "simulated"
                };
                println!(
                    "embedded mock master at grpc://{addr}: {agents} {kind} agents of {resources}"
                );
            }
            (Some(master), format!("grpc://{addr}"), program)
        }
    };
    let (sender, receiver) = corral::inputs::channel(1024);
    let placement = match program {
        Some(program) => {
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(RunError::Hub)?;
            let hub = listener.local_addr().map_err(RunError::Hub)?;
            tokio::spawn(crate::hub::serve(listener, sender.clone()));
            Placement::Local { program, hub }
        }
        None => Placement::Simulated,
    };
    let progress = if spec.progress {
        Progress::for_stdout(spec.job.stages.iter().map(|s| s.name.clone()).collect())
    } else {
        Progress::hidden()
    };
    let mut info = FrameworkInfo::new("spark-like").with_roles([role.as_str()]);
    if spec.conf.revocable {
        info = info.with_capability(Capability::RevocableResources);
    }
    let transport = corral::connect(&endpoint).map_err(|e| RunError::Connect(e.to_string()))?;
    let mut backend = Backend::new(spec.job, spec.conf, placement, progress);
    let outcome = Framework::new(info, transport)
        .run_with_inputs(&mut backend, receiver)
        .await;
    drop(sender);
    if let Some(master) = master {
        if let Err(e) = master.shutdown().await {
            tracing::warn!(error = %e, "the embedded master did not shut down cleanly");
        }
    }
    outcome?;
    let mut report = Report::of(&backend);
    if let Some(cpus) = cluster_cpus.filter(|c| *c > 0.0) {
        report.cluster_utilisation =
            Some((report.busy_cpu_seconds / (cpus * report.makespan_s.max(1e-9))).min(1.0));
    }
    if let (Some(out), None) = (&spec.output, &report.failure) {
        write_output(&backend, out)?;
    }
    Ok((report, backend))
}

fn check_output_dir(dir: &Path) -> Result<(), RunError> {
    let non_empty = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    if non_empty {
        return Err(RunError::OutputExists(dir.to_owned()));
    }
    Ok(())
}

/// Writes a word count's result: `part-NNNNN` per reduce partition.
pub fn write_output(backend: &Backend, dir: &Path) -> Result<(), RunError> {
    let io = |source| RunError::Output {
        path: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let last = backend.engine().job().stages.len() - 1;
    for (r, output) in backend.engine().outputs(last).into_iter().enumerate() {
        let file = std::fs::File::create(dir.join(format!("part-{r:05}"))).map_err(io)?;
        let mut file = std::io::BufWriter::new(file);
        if let Some(Output::Counts(counts)) = output {
            for (word, n) in counts {
                writeln!(file, "{word}\t{n}").map_err(io)?;
            }
        }
        file.flush().map_err(io)?;
    }
    std::fs::write(dir.join("_SUCCESS"), b"").map_err(io)?;
    Ok(())
}

/// Reads a word count's output directory back into one map.
pub fn read_output(dir: &Path) -> std::io::Result<std::collections::BTreeMap<String, u64>> {
    let mut counts = std::collections::BTreeMap::new();
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("part-"))
        })
        .collect();
    parts.sort();
    for part in parts {
        for line in std::fs::read_to_string(&part)?.lines() {
            let (word, n) = line.split_once('\t').ok_or_else(|| {
                std::io::Error::other(format!("{}: not word<TAB>count", part.display()))
            })?;
            let n: u64 = n.parse().map_err(std::io::Error::other)?;
            if counts.insert(word.to_owned(), n).is_some() {
                return Err(std::io::Error::other(format!("{word} in two parts")));
            }
        }
    }
    Ok(counts)
}
