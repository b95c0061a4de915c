//! Figures for local agents, with real processes on this machine:
//!
//! - throughput: short real tasks (`true`) per second, through the runner
//!   alone, and end to end through the mock master over gRPC on loopback
//!   (offer, launch, STAGING..FINISHED, every update acknowledged);
//! - kill latency: from the KILL call to TASK_KILLED, for a task that
//!   ignores SIGTERM (reported as the time past its grace period) and for
//!   one that exits on SIGTERM.
//!
//! Prints medians and p90 over several runs. Run it in release:
//! `cargo bench -p corral-testkit --bench local_agents_bench`.

#[path = "../tests/master_support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use corral::{AgentId, FrameworkId, Resources, TaskId};
use corral_proto::pb;
use corral_proto::pb::event::Type as EventType;
use corral_proto::pb::framework_info::capability::Type as Capability;
use corral_proto::pb::TaskState;
use corral_testkit::agent::{AgentOrder, CommandSpec, LocalRunner, RunnerConfig, TaskLaunch};
use corral_testkit::master::{MasterConfig, MockMaster};
use support::*;
use tokio::time::Instant;

const RUNS: usize = 5;
const TASKS_PER_RUN: usize = 200;
const KILL_RUNS: usize = 15;
const GRACE: Duration = Duration::from_millis(200);
/// Bound on any one measured run.
const RUN_LIMIT: Duration = Duration::from_secs(120);

fn work_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("corral-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The `p` percentile (nearest rank) of `values`, which must not be empty.
fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn runner_throughput(dir: &Path) -> f64 {
    let (mut runner, mut reports) = LocalRunner::new(RunnerConfig::default());
    let started = Instant::now();
    for i in 0..TASKS_PER_RUN {
        runner.execute(AgentOrder::Launch(Box::new(TaskLaunch {
            framework: FrameworkId::new("bench"),
            agent: AgentId::new("agent-0"),
            work_dir: dir.to_owned(),
            task: TaskId::new(format!("t{i}")),
            executor: None,
            command: CommandSpec::Argv {
                program: "true".into(),
                argv: vec!["true".into()],
            },
            environment: Vec::new(),
            ports: Vec::new(),
            kill_grace: None,
        })));
    }
    let mut ended = 0;
    while ended < TASKS_PER_RUN {
        let report = reports.recv().await.expect("runner alive");
        runner.observe(&report);
        if report.state == TaskState::TaskFinished {
            ended += 1;
        } else {
            assert!(
                !matches!(report.state, TaskState::TaskFailed | TaskState::TaskKilled),
                "{report:?}"
            );
        }
    }
    let rate = TASKS_PER_RUN as f64 / started.elapsed().as_secs_f64();
    runner.shutdown().await;
    rate
}

fn true_task(id: &str, offer: &pb::Offer) -> pb::TaskInfo {
    let mut t = task(id, offer, "cpus:0.1;mem:16", &[]);
    t.command = Some(pb::CommandInfo {
        value: Some("true".into()),
        shell: Some(false),
        arguments: vec!["true".into()],
        ..Default::default()
    });
    t
}

async fn end_to_end_throughput(dir: &Path) -> f64 {
    let config = MasterConfig::default()
        .local_agents(
            1,
            Resources::parse("cpus:64;mem:65536").expect("resources"),
            dir,
        )
        .allocation_interval(Duration::from_millis(5))
        .sandbox_ttl(Duration::from_secs(3600));
    let master = MockMaster::start(config).await.expect("master");
    let mut s = Sched::subscribe(&master, framework_info("bench", &["batch"], &[]), &[]).await;
    let fw = s.id.clone();
    let mut launched = 0;
    let mut finished = 0;
    let mut started = None;
    while finished < TASKS_PER_RUN {
        let event = s.next().await;
        match kind(&event) {
            EventType::Offers => {
                for offer in event.offers.expect("payload").offers {
                    let room = TASKS_PER_RUN - launched;
                    let tasks: Vec<pb::TaskInfo> = (launched..launched + room.min(200))
                        .map(|i| true_task(&format!("t{i}"), &offer))
                        .collect();
                    launched += tasks.len();
                    started.get_or_insert_with(Instant::now);
                    let ops = if tasks.is_empty() {
                        vec![]
                    } else {
                        vec![launch(tasks)]
                    };
                    s.send(accept_call(&fw, &[&offer.id], ops, Some(0.0)))
                        .await
                        .expect("accept");
                }
            }
            EventType::Update => {
                let status = event.update.expect("payload").status;
                s.ack(&status).await;
                match state_of(&status) {
                    TaskState::TaskFinished => finished += 1,
                    TaskState::TaskStaging | TaskState::TaskStarting | TaskState::TaskRunning => {}
                    other => panic!("task ended {other:?}: {:?}", status.message),
                }
            }
            _ => {}
        }
    }
    let rate = TASKS_PER_RUN as f64 / started.expect("launched").elapsed().as_secs_f64();
    master.shutdown().await.expect("shutdown");
    rate
}

/// The next status update; offers that arrive meanwhile are kept in
/// `offers` (and dropped from it when rescinded).
async fn next_update_keeping_offers(s: &mut Sched, offers: &mut Vec<pb::Offer>) -> pb::TaskStatus {
    loop {
        let event = s.next().await;
        match kind(&event) {
            EventType::Update => {
                let status = event.update.expect("payload").status;
                s.ack(&status).await;
                return status;
            }
            EventType::Offers => offers.extend(event.offers.expect("payload").offers),
            EventType::Rescind => {
                let gone = event.rescind.expect("payload").offer_id;
                offers.retain(|o| o.id != gone);
            }
            other => panic!("unexpected {other:?}: {event:?}"),
        }
    }
}

/// Kill latencies (ms) for tasks running `line` (which prints `ready`
/// once set up); with `past_grace` the grace period is taken off.
async fn kill_latencies(dir: &Path, line: &str, past_grace: bool) -> Vec<f64> {
    let config = MasterConfig::default()
        .local_agents(
            1,
            Resources::parse("cpus:64;mem:65536").expect("resources"),
            dir,
        )
        .allocation_interval(Duration::from_millis(5));
    let master = MockMaster::start(config).await.expect("master");
    let info = framework_info("bench-kill", &["batch"], &[Capability::TaskKillingState]);
    let mut s = Sched::subscribe(&master, info, &[]).await;
    let fw = s.id.clone();
    let mut offers = Vec::new();
    let mut out = Vec::new();
    for run in 0..KILL_RUNS {
        let offer = match offers.pop() {
            Some(offer) => offer,
            None => s.next_offer().await,
        };
        let id = format!("k{run}");
        let mut t = task(&id, &offer, "cpus:0.1;mem:16", &[]);
        t.command = Some(pb::CommandInfo {
            value: Some(line.into()),
            ..Default::default()
        });
        s.send(accept_call(
            &fw,
            &[&offer.id],
            vec![launch(vec![t])],
            Some(0.0),
        ))
        .await
        .expect("accept");
        let mut sandbox = None;
        while sandbox.is_none() {
            let status = next_update_keeping_offers(&mut s, &mut offers).await;
            if status.task_id.value == id && state_of(&status) == TaskState::TaskRunning {
                let labels = status.labels.expect("labels").labels;
                sandbox = labels
                    .into_iter()
                    .find(|l| l.key == "corral.sandbox")
                    .and_then(|l| l.value)
                    .map(PathBuf::from);
            }
        }
        // Wait until the command is past its `trap`, so the signal finds it ready.
        let stdout = sandbox.expect("sandbox").join("stdout");
        let ready = Instant::now() + Duration::from_secs(5);
        while !std::fs::read_to_string(&stdout).is_ok_and(|t| t.contains("ready")) {
            assert!(Instant::now() < ready, "task not ready");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let asked = Instant::now();
        s.send(kill_call(&fw, &id, Some(GRACE)))
            .await
            .expect("kill");
        loop {
            let status = next_update_keeping_offers(&mut s, &mut offers).await;
            if status.task_id.value == id && state_of(&status) == TaskState::TaskKilled {
                break;
            }
        }
        let mut took = asked.elapsed().as_secs_f64() * 1000.0;
        if past_grace {
            took -= GRACE.as_secs_f64() * 1000.0;
        }
        out.push(took);
    }
    master.shutdown().await.expect("shutdown");
    out
}

async fn bounded<T>(what: &str, run: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(RUN_LIMIT, run)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {RUN_LIMIT:?}"))
}

#[tokio::main]
async fn main() {
    // Quiet unless RUST_LOG asks.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("local agents bench: {cores} cores, {RUNS} runs of {TASKS_PER_RUN} tasks; {KILL_RUNS} kills, grace {} ms", GRACE.as_millis());

    let mut rates = Vec::new();
    for run in 0..RUNS {
        let dir = work_dir(&format!("runner-{run}"));
        rates.push(bounded("runner throughput", runner_throughput(&dir)).await);
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!(
        "runner alone, `true` tasks/s:            median {:>6.0}  p10 {:>6.0}  p90 {:>6.0}",
        percentile(&rates, 0.5),
        percentile(&rates, 0.1),
        percentile(&rates, 0.9)
    );

    let mut rates = Vec::new();
    for run in 0..RUNS {
        let dir = work_dir(&format!("e2e-{run}"));
        rates.push(bounded("end-to-end throughput", end_to_end_throughput(&dir)).await);
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!(
        "end to end via the master, `true` tasks/s: median {:>6.0}  p10 {:>6.0}  p90 {:>6.0}",
        percentile(&rates, 0.5),
        percentile(&rates, 0.1),
        percentile(&rates, 0.9)
    );

    let dir = work_dir("kill-forced");
    let forced = bounded(
        "forced kills",
        kill_latencies(
            &dir,
            "trap '' TERM; echo ready; while :; do sleep 0.05; done",
            true,
        ),
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "forced kill, KILL -> KILLED past the {} ms grace: median {:>6.1} ms  p90 {:>6.1} ms",
        GRACE.as_millis(),
        percentile(&forced, 0.5),
        percentile(&forced, 0.9)
    );

    let dir = work_dir("kill-polite");
    let polite = bounded(
        "polite kills",
        kill_latencies(&dir, "echo ready; exec sleep 30", false),
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "polite kill (exits on SIGTERM), KILL -> KILLED: median {:>6.1} ms  p90 {:>6.1} ms",
        percentile(&polite, 0.5),
        percentile(&polite, 0.9)
    );
}
