//! A controller restart mid-build, with real processes on local agents:
//! the controller crashes (its task is dropped, its connections close)
//! while a build runs; a new controller started from the same state
//! database resubscribes with the same framework id, the agent connects
//! back and is re-adopted with its build, which finishes once. Nothing is
//! lost, nothing starts twice, and numbering goes on.

use std::path::{Path, PathBuf};
use std::time::Duration;

use corral::inputs::{self, InputSender};
use corral::{
    Capability, Driver, Error, Framework, FrameworkInfo, GrpcTransport, Resources, Stopped,
};
use corral_testkit::{MasterConfig, MockMaster};
use jenkins::queue::{Build, BuildState};
use jenkins::store::Store;
use jenkins::{hub, BuildId, BuildResult, Controller, Input, JobsFile, Runner};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const LIMIT: Duration = Duration::from_secs(20);

const JOBS: &str = "cloud: { max_agents: 2, kill_grace_seconds: 1 }\n\
templates:\n  linux: { cpus: 1, mem: 128, max_agents: 1, idle_minutes: 1 }\n\
jobs:\n  - name: job\n    label: linux\n    steps:\n      - sh: echo begin && sleep 2 && echo end\n";

/// One controller's run: its inputs, its framework task, its hub task.
struct Run {
    inputs: InputSender<Input>,
    framework: JoinHandle<(Result<Stopped, Error>, Controller)>,
    hub: JoinHandle<()>,
    id: corral::FrameworkId,
    /// The hub's port, which agents connect back to.
    port: u16,
}

/// Starts a controller from the state database at `state`, its hub on
/// `agent_port` (0: any).
async fn start(master: &MockMaster, state: &Path, agent_port: u16) -> Run {
    let listener = TcpListener::bind(("127.0.0.1", agent_port)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let runner = Runner::Remote {
        program: PathBuf::from(env!("CARGO_BIN_EXE_jenkins")),
        controller: listener.local_addr().unwrap(),
    };
    let store = Store::open(state).unwrap();
    let mut controller =
        Controller::restore(JobsFile::parse(JOBS).unwrap(), runner, store).unwrap();
    let mut info = FrameworkInfo::new("jenkins")
        .with_roles(["ci"])
        .with_capability(Capability::RevocableResources)
        .with_failover_timeout(Duration::from_secs(3600));
    if let Some(id) = controller.framework_id() {
        info = info.with_id(id.clone());
    }
    let (inputs, receiver) = inputs::channel(64);
    let hub = tokio::spawn(hub::serve(listener, inputs.clone()));
    let framework = Framework::new(
        info,
        GrpcTransport::connect_lazy(&master.endpoint()).unwrap(),
    );
    let driver = framework.driver();
    let framework = tokio::spawn(async move {
        let outcome = framework.run_with_inputs(&mut controller, receiver).await;
        (outcome, controller)
    });
    let deadline = tokio::time::Instant::now() + LIMIT;
    let id = loop {
        if let Some(id) = driver.framework_id() {
            break id;
        }
        assert!(tokio::time::Instant::now() < deadline, "not subscribed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    Run {
        inputs,
        framework,
        hub,
        id,
        port,
    }
}

async fn ask(run: &Run, id: &BuildId) -> Option<Build> {
    let (reply, answer) = oneshot::channel();
    run.inputs
        .send(Input::Build(id.clone(), reply))
        .await
        .ok()?;
    answer.await.ok()?
}

async fn wait_for(run: &Run, id: &BuildId, what: &str, until: impl Fn(&Build) -> bool) -> Build {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        if let Some(build) = ask(run, id).await {
            if until(&build) {
                return build;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn lines(build: &Build, line: &str) -> usize {
    build.log.lines().filter(|l| *l == line).count()
}

#[tokio::test]
async fn a_restart_mid_build_loses_no_build_and_starts_none_twice() {
    let dir = std::env::temp_dir().join(format!("jenkins-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("jenkins.redb");
    let config = MasterConfig::default()
        .local_agents(
            1,
            Resources::parse("cpus:2;mem:1024").unwrap(),
            dir.join("agents"),
        )
        .role("ci", 1.0)
        .allocation_interval(Duration::from_millis(50));
    let master = MockMaster::start(config).await.unwrap();

    let first = start(&master, &state, 0).await;
    let build1 = BuildId {
        job: "job".into(),
        number: 1,
    };
    first
        .inputs
        .send(Input::Trigger {
            job: "job".into(),
            params: Default::default(),
        })
        .await
        .unwrap();
    wait_for(&first, &build1, "begin", |b| lines(b, "begin") == 1).await;

    // The crash: the controller and its hub go, with every connection.
    let Run {
        framework,
        hub,
        id: first_id,
        port,
        ..
    } = first;
    framework.abort();
    hub.abort();
    let _ = framework.await;
    let _ = hub.await;

    let second = start(&master, &state, port).await;
    assert_eq!(second.id, first_id, "the same framework, failed over");
    let done = wait_for(&second, &build1, "the end", |b| {
        matches!(b.state, BuildState::Done(_))
    })
    .await;
    assert_eq!(
        done.state,
        BuildState::Done(BuildResult::Success),
        "{}",
        done.log
    );
    assert_eq!(lines(&done, "begin"), 1, "started once:\n{}", done.log);
    assert_eq!(lines(&done, "end"), 1, "{}", done.log);
    assert_eq!(done.agents.len(), 1, "on one agent: {:?}", done.agents);
    assert_eq!(done.requeued, 0);

    // Numbering goes on from the saved numbers.
    second
        .inputs
        .send(Input::Trigger {
            job: "job".into(),
            params: Default::default(),
        })
        .await
        .unwrap();
    let build2 = BuildId {
        job: "job".into(),
        number: 2,
    };
    let two = wait_for(&second, &build2, "build 2", |b| {
        matches!(b.state, BuildState::Done(_))
    })
    .await;
    assert_eq!(two.state, BuildState::Done(BuildResult::Success));
    assert_eq!(two.agents, done.agents, "the re-adopted agent is reused");

    second.inputs.send(Input::Shutdown).await.unwrap();
    let (outcome, _) = tokio::time::timeout(LIMIT, second.framework)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(outcome, Ok(Stopped::TornDown)), "{outcome:?}");
    second.hub.abort();
    let _ = std::fs::remove_dir_all(&dir);
}
