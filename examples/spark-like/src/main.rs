//! The `spark-like` command: run a word count (the default, on generated
//! text), a synthetic job, or the fine-versus-coarse comparison, on the
//! embedded mock master (simulated or, with `--local`, local agents) or a
//! master you point it at; `executor` is what runs inside executor tasks.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use spark_like::compare;
use spark_like::conf::SparkConf;
use spark_like::dag::{parse_tasks, read_input, DurationDist, JobSpec, Stragglers};
use spark_like::run::{read_output, run, Cluster, RemoteExecutors, RunSpec};
use spark_like::work::generate_text;

/// A batch framework in the style of Spark on Mesos.
#[derive(Parser, Debug)]
#[command(
    about = "A batch framework in the style of Spark on Mesos: jobs of stages, fine or coarse mode.",
    after_help = "With no command: a word count of 1 MB of generated text on 4 simulated agents.\n\
                  Configure with Spark's names: --conf spark.mesos.coarse=false, --conf spark.cores.max=8 ..."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Debug, Clone)]
struct Common {
    /// A Spark property, `key=value` (repeatable), e.g. spark.mesos.coarse=false.
    #[arg(long = "conf", global = true, value_name = "KEY=VALUE")]
    conf: Vec<String>,
    /// A properties file in spark-defaults.conf format (read before --conf).
    #[arg(long, global = true)]
    properties_file: Option<PathBuf>,
    /// Run on the embedded master's local agents: tasks in real executor processes.
    #[arg(long, global = true)]
    local: bool,
    /// A master to use instead of the embedded one (grpc://, http://, host:port).
    #[arg(long, global = true)]
    master: Option<String>,
    /// With --master: this binary's path on its agents, to run tasks in
    /// real executor processes there (with --driver-address).
    #[arg(long, global = true, requires = "master")]
    executor_program: Option<PathBuf>,
    /// With --executor-program: where the driver listens for its
    /// executors, an address its agents reach (e.g. 10.0.0.5:7078).
    #[arg(long, global = true, requires = "master")]
    driver_address: Option<std::net::SocketAddr>,
    /// Write the report as JSON to this file.
    #[arg(long, global = true)]
    json: Option<PathBuf>,
    /// Agents of the embedded master.
    #[arg(long, global = true, default_value_t = 4)]
    agents: usize,
    /// Resources of each embedded agent.
    #[arg(
        long,
        global = true,
        default_value = "cpus:4;mem:8192;disk:10000;ports:[31000-32000]"
    )]
    agent_resources: String,
    /// Where local agents keep sandboxes (default: a directory under the system's temp dir).
    #[arg(long, global = true)]
    work_dir: Option<PathBuf>,
    /// Hosts holding the job's input, comma-separated (as a distributed
    /// file system's blocks: map partition p on the hosts from the p-th
    /// on): map tasks prefer them for up to spark.locality.wait. The
    /// embedded agents are `agent-<i>.corral.test`.
    #[arg(long, global = true, value_delimiter = ',')]
    input_hosts: Vec<String>,
    /// Copies of each input partition among --input-hosts.
    #[arg(long, global = true, default_value_t = 1)]
    input_replicas: usize,
    /// Seed of generated text and synthetic durations.
    #[arg(long, global = true, default_value_t = 1)]
    seed: u64,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Count words: `word<TAB>count` lines in part-NNNNN files.
    Wordcount {
        /// A file or a directory of files; none: generated text.
        input: Option<PathBuf>,
        /// Where part-NNNNN files go (must be empty or absent).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Size of the generated text, bytes (without INPUT).
        #[arg(long, default_value_t = 1 << 20)]
        generate: usize,
        /// Map tasks.
        #[arg(long, default_value_t = 8)]
        maps: usize,
        /// Reduce tasks (default: spark.default.parallelism).
        #[arg(long)]
        reducers: Option<usize>,
        /// Check the output against a single-process count.
        #[arg(long)]
        verify: bool,
    },
    /// A synthetic job: stages of tasks that run for given times.
    Synthetic {
        /// Tasks per stage, comma-separated; each stage reads the one before.
        #[arg(long, default_value = "200,20")]
        tasks: String,
        /// Task time: 50ms, uniform:20ms-80ms, exp:50ms.
        #[arg(long, default_value = "100ms")]
        duration: String,
        /// Stragglers: FRACTIONxFACTOR, e.g. 0.01x10.
        #[arg(long)]
        stragglers: Option<String>,
    },
    /// Fine against coarse mode, side by side (the measurement).
    Compare {
        /// Divide the task counts by this (1: 10,000 + 1,000 and 1,000 tasks).
        #[arg(long, default_value_t = 1)]
        scale: usize,
        /// Skip the local-agent case.
        #[arg(long)]
        no_local: bool,
    },
    /// Runs inside an executor task: connects to the driver and runs what it sends.
    #[command(hide = true)]
    Executor {
        /// The driver's hub.
        #[arg(long)]
        driver: std::net::SocketAddr,
        /// This executor's id (its task id).
        #[arg(long)]
        id: String,
        /// Exit after one task (fine mode).
        #[arg(long)]
        once: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "error".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    match go(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("spark-like: {e}");
            ExitCode::FAILURE
        }
    }
}

fn conf_of(common: &Common) -> Result<SparkConf, Box<dyn std::error::Error>> {
    let mut conf = SparkConf::default();
    if let Some(file) = &common.properties_file {
        conf.load_file(file)?;
    }
    for arg in &common.conf {
        conf.set_arg(arg)?;
    }
    for key in conf.ignored() {
        eprintln!("spark-like: warning: {key:?} is not read by this framework; ignored");
    }
    Ok(conf)
}

fn cluster_of(common: &Common) -> Result<Cluster, Box<dyn std::error::Error>> {
    if common.local && common.master.is_some() {
        return Err(
            "--local runs the embedded master's agents locally; it cannot be used with --master"
                .into(),
        );
    }
    Ok(match (&common.master, common.local) {
        (Some(url), _) => Cluster::Remote {
            url: url.clone(),
            executors: match (&common.executor_program, common.driver_address) {
                (Some(program), Some(driver_address)) => Some(RemoteExecutors {
                    program: program.clone(),
                    driver_address,
                }),
                (None, None) => None,
                _ => {
                    return Err("--executor-program and --driver-address go together".into());
                }
            },
        },
        (None, true) => Cluster::Local {
            agents: common.agents,
            resources: common.agent_resources.clone(),
            work_dir: work_dir(common)?,
            program: std::env::current_exe()?,
        },
        (None, false) => Cluster::Simulated {
            agents: common.agents,
            resources: common.agent_resources.clone(),
        },
    })
}

fn work_dir(common: &Common) -> std::io::Result<PathBuf> {
    match &common.work_dir {
        Some(dir) => std::path::absolute(dir),
        None => Ok(std::env::temp_dir().join(format!("corral-spark-like-{}", std::process::id()))),
    }
}

async fn go(cli: Cli) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let common = cli.common.clone();
    let plain = cli.command.is_none();
    let command = cli.command.unwrap_or(Command::Wordcount {
        input: None,
        output: None,
        generate: 1 << 20,
        maps: 8,
        reducers: None,
        verify: true,
    });
    if let Command::Executor { driver, id, once } = command {
        spark_like::executor::run(driver, id, once).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut conf = conf_of(&common)?;
    if let Command::Compare { scale, no_local } = command {
        // The question is the price of scheduling each task: fine mode's
        // executors hold no cpu of their own here unless asked to (Spark's
        // default, 1 cpu per agent, is a separate row on virtual time).
        let executor_cpus_given = common.conf.iter().any(|c| {
            c.trim_start()
                .starts_with("spark.mesos.mesosExecutor.cores")
        });
        if !executor_cpus_given {
            conf.mesos_executor_cores = 0.0;
        }
        let local = if no_local {
            None
        } else {
            Some((work_dir(&common)?, std::env::current_exe()?))
        };
        println!(
            "fine (one Mesos task per batch task, under one executor per agent reused by all \
             its tasks, as Spark's MesosExecutorBackend; the executor holds {} cpus of its own) \
             against coarse (executors held for the job)",
            conf.mesos_executor_cores
        );
        let mut all = Vec::new();
        for case in compare::default_cases(scale, local) {
            let (coarse, fine) = compare::compare(&case, &conf, common.seed).await?;
            compare::print(&case.label, &case, &coarse, &fine);
            all.push(serde_json::json!({ "case": case.label, "coarse": coarse, "fine": fine }));
            if matches!(case.cluster, Cluster::Simulated { .. }) {
                // The same on virtual time: no cpu time counts, so what is
                // left is the master's allocation cycle and the protocol;
                // then with fine mode's executors holding Spark's default
                // 1 cpu of their own.
                // Last, the master's simulated start-up of 10 ms + 10 ms
                // per task cut to 1 ms + 1 ms: a task sent to an executor
                // already running starts no process, but the mock master
                // charges every task the start-up.
                let mut spark_default = conf.clone();
                spark_default.mesos_executor_cores = 1.0;
                let ms = std::time::Duration::from_millis;
                for (conf, what, sim_step) in [
                    (&conf, String::new(), ms(10)),
                    (
                        &spark_default,
                        ", fine mode's executors holding 1 cpu each (Spark's default)".to_owned(),
                        ms(10),
                    ),
                    (
                        &conf,
                        ", simulated task start-up 1 ms + 1 ms instead of 10 + 10".to_owned(),
                        ms(1),
                    ),
                ] {
                    let label = format!(
                        "{} (the same on virtual time, allocation every 100 ms{what})",
                        case.label
                    );
                    let (coarse, fine) =
                        compare::compare_virtual(&case, conf, common.seed, ms(100), sim_step)?;
                    compare::print(&label, &case, &coarse, &fine);
                    all.push(serde_json::json!({ "case": label, "coarse": coarse, "fine": fine }));
                }
            }
        }
        if let Some(path) = &common.json {
            std::fs::write(path, serde_json::to_vec_pretty(&all)?)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let cluster = cluster_of(&common)?;
    let mut check = None;
    let mut output_dir = None;
    let job = match command {
        Command::Wordcount {
            input,
            output,
            generate,
            maps,
            reducers,
            verify,
        } => {
            let text = match &input {
                Some(path) => read_input(path)?,
                None => generate_text(generate, common.seed),
            };
            let what = match &input {
                Some(path) => format!("{} ({} bytes)", path.display(), text.len()),
                None => format!("{} bytes of generated text", text.len()),
            };
            let dir = match output {
                Some(dir) => dir,
                None => std::env::temp_dir()
                    .join(format!("spark-like-wordcount-{}", std::process::id())),
            };
            let reducers = reducers.unwrap_or(conf.default_parallelism);
            println!(
                "word count of {what}: {maps} map tasks, {reducers} reduce tasks, output in {}",
                dir.display()
            );
            if verify {
                check = Some(spark_like::work::count_in_one_process(&text));
            }
            output_dir = Some(dir);
            JobSpec::word_count(&text, maps, reducers)
        }
        Command::Synthetic {
            tasks,
            duration,
            stragglers,
        } => {
            let tasks = parse_tasks(&tasks)?;
            let dist = DurationDist::parse(&duration)?;
            let stragglers = stragglers.as_deref().map(Stragglers::parse).transpose()?;
            println!("synthetic job: stages of {tasks:?} tasks, each {duration}");
            JobSpec::synthetic(&tasks, &dist, stragglers, common.seed)
        }
        Command::Compare { .. } | Command::Executor { .. } => unreachable!("handled above"),
    };
    let job = job.with_input_on(&common.input_hosts, common.input_replicas);
    let mode = if conf.coarse {
        format!(
            "coarse mode: executors of {} cpus / {} MiB, up to {} cpus",
            conf.executor_cores,
            conf.executor_memory_mb,
            conf.cores_max
                .map_or("all offered".to_owned(), |c| c.to_string())
        )
    } else {
        format!(
            "fine mode: one Mesos task of {} cpus per batch task, under one executor per agent \
             ({} cpus of its own)",
            conf.task_cpus, conf.mesos_executor_cores
        )
    };
    println!("{mode}; role {}", conf.role);
    let (report, _backend) = run(RunSpec {
        job,
        conf,
        cluster,
        progress: true,
        output: output_dir.clone(),
        verbose: true,
    })
    .await?;
    report.print();
    if let Some(path) = &common.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
        println!("  report written to {}", path.display());
    }
    if report.failure.is_some() {
        return Ok(ExitCode::FAILURE);
    }
    if let Some(dir) = &output_dir {
        let counts = read_output(dir)?;
        let mut top: Vec<(&String, &u64)> = counts.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let top: Vec<String> = top
            .iter()
            .take(5)
            .map(|(w, n)| format!("{w} {n}"))
            .collect();
        println!(
            "  output: {} distinct words in {}/part-*; most frequent: {}",
            counts.len(),
            dir.display(),
            top.join(", ")
        );
        if let Some(expected) = check {
            if expected == counts {
                println!("  checked: equal to a single-process count");
            } else {
                println!("  MISMATCH with a single-process count");
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    if plain {
        println!(
            "next: --conf spark.mesos.coarse=false (fine mode), --local (real executor processes), \
             `synthetic --help`, `compare` (fine against coarse), --help"
        );
    }
    Ok(ExitCode::SUCCESS)
}
