//! `loop-bench`: the whole loop's figures side by side from one run, each
//! beside the raw limit of this machine measured in the same run.
//!
//! - raw loopback round trip: a plain tonic unary call (p50/p99);
//! - short simulated tasks through the SDK, over gRPC and over the Mesos
//!   HTTP door of the same in-process mock master (16 simulated agents,
//!   128 slots, `sim_step` 0, 1 ms tasks): offer-to-RUNNING p50/p99 with
//!   every slot busy and with one task at a time (the path alone, nothing
//!   queued before it), the wait from a task's end to the next offer,
//!   tasks/s;
//! - real `true` processes on local agents (128 slots) through the SDK
//!   over gRPC: tasks/s;
//! - forced kill on a local agent: KILL to TASK_KILLED past the grace
//!   period, p50/p99.
//!
//! Run it in release: `cargo run --release -p corral-loop-bench` (add
//! `--gate` for the short run of CI's speed gate: the simulated figures
//! only; `--tasks N` for the batch size). Besides the table it prints one
//! `FIGURE name value` line per figure, which `.ci/speed-gate` reads.

mod batch;
mod kill;
mod rtt;
mod stats;

use std::process::ExitCode;
use std::time::Duration;

use batch::{Batch, Measured, Work};
use corral::{Config, Framework, FrameworkInfo, Resources};
use corral_testkit::{MasterConfig, MockMaster};
use kill::Killer;
use stats::Figures;

type Failure = Box<dyn std::error::Error>;

/// Bound on any one measured part.
const PART_LIMIT: Duration = Duration::from_secs(180);
const ROLE: &str = "batch";

struct Options {
    gate: bool,
    tasks: usize,
}

impl Options {
    fn parse() -> Result<Self, String> {
        let mut options = Options {
            gate: false,
            tasks: 0,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--gate" => options.gate = true,
                "--tasks" => {
                    let value = args.next().ok_or("--tasks needs a number")?;
                    options.tasks = value
                        .parse()
                        .map_err(|_| format!("--tasks {value:?} is not a number"))?;
                }
                "--help" | "-h" => {
                    return Err("usage: loop-bench [--gate] [--tasks N]".to_owned());
                }
                other => return Err(format!("unknown argument {other:?} (try --help)")),
            }
        }
        if options.tasks == 0 {
            options.tasks = if options.gate { 2000 } else { 5000 };
        }
        Ok(options)
    }
}

async fn bounded<T>(
    what: &str,
    part: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    tokio::time::timeout(PART_LIMIT, part)
        .await
        .map_err(|_| format!("{what} took longer than {PART_LIMIT:?}"))?
}

/// Runs one batch against `url` and checks that every task finished.
async fn run_batch(url: &str, batch: Batch) -> Result<Measured, Failure> {
    let info = FrameworkInfo::new("loop-bench").with_roles([ROLE]);
    let mut batch = batch;
    // Offers it cannot use now are declined without a filter: one that
    // comes before the update of the task whose end freed it (the probe's
    // one task at a time) must come back, not wait five minutes.
    let config = Config::new().with_unanswered_offer_refuse(Duration::ZERO);
    Framework::with_config(info, config, corral::connect(url)?)
        .run(&mut batch)
        .await?;
    let measured = batch.into_measured();
    if measured.failed > 0 {
        return Err(format!("{url}: {} tasks failed", measured.failed).into());
    }
    Ok(measured)
}

fn slot() -> Resources {
    Resources::new().with_cpus(0.5).with_mem(128.0)
}

async fn simulated(options: &Options, figures: &mut Figures) -> Result<(), Failure> {
    let config = MasterConfig::default()
        .agents(16, Resources::parse("cpus:4;mem:8192")?)
        .role(ROLE, 1.0)
        .sim_step(Duration::ZERO)
        // At thousands of tasks a second the SDK reads its events more
        // slowly than the master writes them (it awaits each
        // acknowledgement); with the default queue of 1024 it would be
        // disconnected as a slow reader mid-run.
        .event_queue_capacity(1 << 16);
    let master = MockMaster::start(config).await?;
    let addr = master.addr().ok_or("the master listens on TCP")?;
    for (door, url) in [
        ("grpc", format!("grpc://{addr}")),
        ("http", format!("http://{addr}")),
    ] {
        let batch = Batch::new(
            options.tasks,
            slot(),
            Work::Simulated(Duration::from_millis(1)),
        );
        let measured = bounded(door, run_batch(&url, batch)).await?;
        figures.latency(
            &format!("{door}_loaded_offer_to_running"),
            &measured.offer_to_running,
        );
        figures.latency(&format!("{door}_free_to_offer"), &measured.free_to_offer);
        figures.put(format!("{door}_tasks_per_s"), measured.rate(), "tasks/s");
        // The path alone: one task at a time, nothing queued before it.
        let probe = Batch::at_most(
            options.tasks / 10,
            1,
            slot(),
            Work::Simulated(Duration::from_millis(1)),
        );
        let measured = bounded(door, run_batch(&url, probe)).await?;
        figures.latency(
            &format!("{door}_offer_to_running"),
            &measured.offer_to_running,
        );
    }
    master.shutdown().await?;
    Ok(())
}

fn work_dir(name: &str) -> Result<std::path::PathBuf, Failure> {
    let dir = std::env::temp_dir().join(format!("corral-loop-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(dir)
}

async fn local(options: &Options, figures: &mut Figures) -> Result<(), Failure> {
    let dir = work_dir("true")?;
    let config = MasterConfig::default()
        .local_agents(2, Resources::parse("cpus:32;mem:65536")?, &dir)
        .role(ROLE, 1.0);
    let master = MockMaster::start(config).await?;
    let url = format!("grpc://{}", master.addr().ok_or("TCP")?);
    let tasks = (options.tasks / 5).max(100);
    let batch = Batch::new(tasks, slot(), Work::Program(vec!["true".to_owned()]));
    let measured = bounded("local true tasks", run_batch(&url, batch)).await?;
    figures.put("local_true_tasks_per_s", measured.rate(), "tasks/s");
    master.shutdown().await?;
    let _ = std::fs::remove_dir_all(&dir);

    let dir = work_dir("kill")?;
    let config = MasterConfig::default()
        .local_agents(1, Resources::parse("cpus:8;mem:8192")?, &dir)
        .role(ROLE, 1.0);
    let master = MockMaster::start(config).await?;
    let url = format!("grpc://{}", master.addr().ok_or("TCP")?);
    let grace = Duration::from_millis(200);
    let mut killer = Killer::new(15, grace);
    let info = FrameworkInfo::new("loop-bench-kill").with_roles([ROLE]);
    bounded("kills", async {
        Framework::new(info, corral::connect(&url)?)
            .run(&mut killer)
            .await?;
        Ok(())
    })
    .await?;
    if killer.unexpected > 0 || killer.past_grace.len() != 15 {
        return Err(format!(
            "kills: {} measured, {} tasks ended unexpectedly",
            killer.past_grace.len(),
            killer.unexpected
        )
        .into());
    }
    figures.latency("kill_past_grace", &killer.past_grace);
    master.shutdown().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn print_table(figures: &Figures, options: &Options) {
    let get = |name: &str| figures.get(name);
    let row = |label: &str, key: &str, rate: Option<&str>| {
        let (Some(p50), Some(p99)) = (get(&format!("{key}_p50_us")), get(&format!("{key}_p99_us")))
        else {
            return;
        };
        let rate = rate
            .and_then(get)
            .map_or(String::new(), |r| format!("{r:>10.0}"));
        println!("{label:<52}{p50:>10.0}{p99:>10.0}{rate}");
    };
    println!(
        "{:<52}{:>10}{:>10}{:>10}",
        "", "p50 µs", "p99 µs", "tasks/s"
    );
    row("raw loopback round trip (tonic unary)", "raw_rtt", None);
    for door in ["grpc", "http"] {
        row(
            &format!("{door}: offer -> TASK_RUNNING, 128 slots busy"),
            &format!("{door}_loaded_offer_to_running"),
            Some(&format!("{door}_tasks_per_s")),
        );
        row(
            &format!("{door}: offer -> TASK_RUNNING, one task at a time"),
            &format!("{door}_offer_to_running"),
            None,
        );
        row(
            &format!("{door}: task end -> next offer"),
            &format!("{door}_free_to_offer"),
            None,
        );
    }
    if let Some(rate) = get("local_true_tasks_per_s") {
        println!(
            "{:<52}{:>10}{:>10}{rate:>10.0}",
            "local agents: real `true` tasks", "", ""
        );
    }
    row(
        "local agents: forced kill, past 200 ms grace",
        "kill_past_grace",
        None,
    );
    println!("({} simulated tasks per door)", options.tasks);
}

async fn run(options: Options) -> Result<(), Failure> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "loop-bench: {cores} cores, {} build{}",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        if options.gate { ", gate run" } else { "" }
    );
    let mut figures = Figures::default();
    let calls = if options.gate { 2000 } else { 10_000 };
    let rtts = bounded("raw round trips", rtt::round_trips(calls)).await?;
    figures.latency("raw_rtt", &rtts);
    simulated(&options, &mut figures).await?;
    if !options.gate {
        local(&options, &mut figures).await?;
    }
    print_table(&figures, &options);
    figures.print_machine();
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match Options::parse() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loop-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
