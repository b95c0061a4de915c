//! With real processes on local agents (the embedded mock master's, in a
//! temporary directory; real time, loopback only): a build's log streams
//! while it runs; an aborted build's steps get SIGTERM and their grace
//! period, then SIGKILL; nothing is left running after shutdown.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use corral::inputs::{self, InputSender};
use corral::{Capability, Error, Framework, FrameworkInfo, GrpcTransport, Resources, Stopped};
use corral_testkit::{MasterConfig, MockMaster};
use jenkins::queue::{Build, BuildState};
use jenkins::{hub, BuildId, BuildResult, Controller, Input, JobsFile, Runner};
use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long any wait in these tests may take.
const LIMIT: Duration = Duration::from_secs(20);

struct Setup {
    _master: MockMaster,
    inputs: InputSender<Input>,
    run: Option<JoinHandle<(Result<Stopped, Error>, Controller)>>,
    dir: PathBuf,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One job, `job`, on label `linux`, running `steps`.
fn jobs(steps: &[&str], grace_seconds: f64) -> JobsFile {
    let steps: Vec<String> = steps
        .iter()
        .map(|s| format!("      - sh: {}\n", serde_json::to_string(s).unwrap()))
        .collect();
    JobsFile::parse(&format!(
        "cloud: {{ max_agents: 2, kill_grace_seconds: {grace_seconds} }}\n\
         templates:\n  linux: {{ cpus: 1, mem: 128, max_agents: 1, idle_minutes: 1 }}\n\
         jobs:\n  - name: job\n    label: linux\n    steps:\n{}",
        steps.concat()
    ))
    .unwrap()
}

async fn start(test: &str, file: JobsFile) -> Setup {
    let dir = std::env::temp_dir().join(format!("jenkins-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = MasterConfig::default()
        .local_agents(
            1,
            Resources::parse("cpus:2;mem:1024").unwrap(),
            dir.join("agents"),
        )
        .role("ci", 1.0)
        .allocation_interval(Duration::from_millis(50));
    let master = MockMaster::start(config).await.unwrap();
    let (inputs, receiver) = inputs::channel(64);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let runner = Runner::Remote {
        program: PathBuf::from(env!("CARGO_BIN_EXE_jenkins")),
        controller: listener.local_addr().unwrap(),
    };
    tokio::spawn(hub::serve(listener, inputs.clone()));
    let info = FrameworkInfo::new("jenkins")
        .with_roles(["ci"])
        .with_capability(Capability::RevocableResources);
    let framework = Framework::new(
        info,
        GrpcTransport::connect_lazy(&master.endpoint()).unwrap(),
    );
    let mut controller = Controller::with_runner(file, runner);
    let run = tokio::spawn(async move {
        let outcome = framework.run_with_inputs(&mut controller, receiver).await;
        (outcome, controller)
    });
    Setup {
        _master: master,
        inputs,
        run: Some(run),
        dir,
    }
}

fn build1() -> BuildId {
    BuildId {
        job: "job".into(),
        number: 1,
    }
}

async fn trigger(setup: &Setup, params: BTreeMap<String, String>) {
    setup
        .inputs
        .send(Input::Trigger {
            job: "job".into(),
            params,
        })
        .await
        .unwrap();
}

async fn ask(setup: &Setup, id: &BuildId) -> Build {
    let (reply, answer) = oneshot::channel();
    setup
        .inputs
        .send(Input::Build(id.clone(), reply))
        .await
        .unwrap();
    answer.await.unwrap().expect("the build exists")
}

/// Polls the build until `until` holds, or fails after [`LIMIT`].
async fn wait_for(
    setup: &Setup,
    id: &BuildId,
    what: &str,
    until: impl Fn(&Build) -> bool,
) -> Build {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let build = ask(setup, id).await;
        if until(&build) {
            return build;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {LIMIT:?}; log so far:\n{}",
            build.log
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn shut_down(mut setup: Setup) -> Controller {
    setup.inputs.send(Input::Shutdown).await.unwrap();
    let run = setup.run.take().expect("running");
    let (outcome, controller) = tokio::time::timeout(LIMIT, run)
        .await
        .expect("the controller stops")
        .unwrap();
    assert!(matches!(outcome, Ok(Stopped::TornDown)), "{outcome:?}");
    controller
}

fn done(build: &Build) -> bool {
    matches!(build.state, BuildState::Done(_))
}

#[tokio::test]
async fn a_builds_log_streams_while_it_runs() {
    let setup = start(
        "streams",
        jobs(&["echo first && sleep 2 && echo second"], 3.0),
    )
    .await;
    trigger(&setup, BTreeMap::new()).await;
    // Output lines (the log also echoes the step's command line).
    let lines = |b: &Build| -> Vec<String> { b.log.lines().map(str::to_owned).collect() };
    let has = |b: &Build, line: &str| lines(b).iter().any(|l| l == line);
    let early = wait_for(&setup, &build1(), "the first line", |b| has(b, "first")).await;
    assert!(!done(&early), "seen while running:\n{}", early.log);
    assert!(!has(&early, "second"), "{}", early.log);
    let end = wait_for(&setup, &build1(), "the end", done).await;
    assert_eq!(
        end.state,
        BuildState::Done(BuildResult::Success),
        "{}",
        end.log
    );
    let all = lines(&end);
    let first = all.iter().position(|l| l == "first").unwrap();
    let second = all.iter().position(|l| l == "second").unwrap();
    assert!(first < second, "{}", end.log);
    shut_down(setup).await;
}

#[tokio::test]
async fn an_aborted_build_gets_sigterm_and_its_grace_period() {
    let setup = start(
        "abort",
        jobs(
            &["trap 'echo got TERM; sleep 0.3; echo cleaned up; exit 143' TERM; echo ready; sleep 30 & wait $!"],
            3.0,
        ),
    )
    .await;
    trigger(&setup, BTreeMap::new()).await;
    wait_for(&setup, &build1(), "ready", |b| b.log.contains("ready")).await;
    setup.inputs.send(Input::Abort(build1())).await.unwrap();
    let end = wait_for(&setup, &build1(), "the abort", done).await;
    assert_eq!(
        end.state,
        BuildState::Done(BuildResult::Aborted),
        "{}",
        end.log
    );
    assert!(end.log.contains("got TERM"), "{}", end.log);
    assert!(
        end.log.contains("cleaned up"),
        "the grace period was given:\n{}",
        end.log
    );
    assert!(
        end.duration < Duration::from_secs(3),
        "it did not wait for SIGKILL"
    );
    shut_down(setup).await;
}

#[tokio::test]
async fn a_step_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let setup = start(
        "sigkill",
        jobs(
            &["trap 'echo ignoring TERM' TERM; echo ready; while true; do sleep 0.05; done"],
            1.0,
        ),
    )
    .await;
    trigger(&setup, BTreeMap::new()).await;
    wait_for(&setup, &build1(), "ready", |b| b.log.contains("ready")).await;
    let asked = tokio::time::Instant::now();
    setup.inputs.send(Input::Abort(build1())).await.unwrap();
    let end = wait_for(&setup, &build1(), "the kill", done).await;
    let took = asked.elapsed();
    assert_eq!(
        end.state,
        BuildState::Done(BuildResult::Aborted),
        "{}",
        end.log
    );
    assert!(
        end.log.contains("ignoring TERM"),
        "SIGTERM came first:\n{}",
        end.log
    );
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "killed {took:?} after the abort, grace 1 s"
    );
    assert!(end.log.contains("exit 137"), "SIGKILL: {}", end.log);
    shut_down(setup).await;
}

/// Pids written by the step: its shell, its background child, its agent.
fn pids(file: &Path) -> Vec<Pid> {
    std::fs::read_to_string(file)
        .unwrap()
        .split_whitespace()
        .map(|p| Pid::from_raw(p.parse().unwrap()))
        .collect()
}

#[tokio::test]
async fn no_process_is_left_after_shutdown() {
    let dir = std::env::temp_dir().join(format!("jenkins-leftovers-pids-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pid_file = dir.join("pids");
    let step = format!(
        "sleep 60 & echo $$ $! $PPID > '{}'; echo ready; wait",
        pid_file.display()
    );
    let setup = start("leftovers", jobs(&[step.as_str()], 1.0)).await;
    trigger(&setup, BTreeMap::new()).await;
    wait_for(&setup, &build1(), "ready", |b| b.log.contains("ready")).await;
    let running = pids(&pid_file);
    assert_eq!(running.len(), 3);
    for pid in &running {
        assert_eq!(kill(*pid, None), Ok(()), "{pid} runs before shutdown");
    }
    let controller = shut_down(setup).await;
    assert_eq!(controller.pool().live_total(), 0);
    // Every one is gone: the step's shell, its background sleep, the agent.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    for pid in running {
        while kill(pid, None) != Err(Errno::ESRCH) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{pid} is still running"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
