//! Local agents with real processes, driven through the mock master over
//! gRPC on loopback, in real time: graceful and forced kills, task groups,
//! launch failures, logs and sandboxes, and no process left behind when
//! the master stops. Grace periods are short (200 ms); time assertions are
//! bounds, and every wait is bounded.

#[path = "master_support.rs"]
mod support;

use corral_proto::convert::*;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use corral::Resources;
use corral_proto::pb;
use corral_proto::pb::framework_info::capability::Type as Capability;
use corral_proto::pb::TaskState;
use corral_testkit::agent::process_group_alive;
use corral_testkit::master::{AgentKind, AgentSpec, MasterConfig, MockMaster};
use support::*;
use tokio::time::Instant;

/// Every test ends within this, whatever happens.
const TEST_LIMIT: Duration = Duration::from_secs(30);
/// Longest wait for a file written by a task.
const FILE_WAIT: Duration = Duration::from_secs(5);
const GRACE: Duration = Duration::from_millis(200);

async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_LIMIT, test)
        .await
        .expect("the test finishes within its limit")
}

/// A fresh, absolute work directory for one test, removed when dropped
/// (also when the test fails).
struct WorkDir(PathBuf);

impl std::ops::Deref for WorkDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn work_dir(name: &str) -> WorkDir {
    let dir = std::env::temp_dir().join(format!("corral-local-{}-{name}", std::process::id()));
    // A leftover of an earlier run with the same pid would confuse the test.
    let _ = std::fs::remove_dir_all(&dir);
    WorkDir(dir)
}

fn config(dir: &Path) -> MasterConfig {
    MasterConfig::default()
        .local_agents(
            1,
            Resources::parse("cpus:4;mem:1024;ports:[31000-31009]").expect("resources"),
            dir,
        )
        .allocation_interval(Duration::from_millis(20))
        .heartbeat_interval(Duration::from_secs(5))
}

async fn subscribe(master: &MockMaster) -> Sched {
    let info = framework_info("local", &["web"], &[Capability::TaskKillingState]);
    Sched::subscribe(master, info, &[]).await
}

/// A shell task with its own grace period.
fn shell_task(id: &str, offer: &pb::Offer, line: &str, grace: Duration) -> pb::TaskInfo {
    let mut task = task(id, offer, "cpus:0.1;mem:32", &[]);
    task.command = Some(pb::CommandInfo {
        value: Some(line.to_owned()),
        shell: Some(true),
        ..Default::default()
    });
    task.kill_policy = Some(pb::KillPolicy {
        grace_period: Some(pb::DurationInfo {
            nanoseconds: grace.as_nanos() as i64,
        }),
    });
    task
}

fn launch_group(executor: &str, tasks: Vec<pb::TaskInfo>) -> pb::offer::Operation {
    pb::offer::Operation {
        r#type: Some(pb::offer::operation::Type::LaunchGroup as i32),
        launch_group: Some(pb::offer::operation::LaunchGroup {
            executor: pb::ExecutorInfo {
                r#type: Some(pb::executor_info::Type::Default as i32),
                executor_id: pb::ExecutorId {
                    value: executor.into(),
                },
                resources: resources("cpus:0.1;mem:32"),
                ..Default::default()
            },
            task_group: pb::TaskGroupInfo { tasks },
        }),
        ..Default::default()
    }
}

/// Reads (and acknowledges) updates until `task` reaches `state`; every
/// update read goes to `log`.
async fn until(
    s: &mut Sched,
    task: &str,
    state: TaskState,
    log: &mut Vec<pb::TaskStatus>,
) -> pb::TaskStatus {
    loop {
        let update = s.next_update().await;
        s.ack(&update).await;
        log.push(update.clone());
        if update.task_id.value == task && state_of(&update) == state {
            return update;
        }
        assert!(
            !(update.task_id.value == task
                && corral::TaskState::from_pb(state_of(&update)).is_terminal()),
            "{task} ended in {:?} ({:?}) instead of reaching {state:?}",
            state_of(&update),
            update.message
        );
    }
}

fn states_of(log: &[pb::TaskStatus], task: &str) -> Vec<TaskState> {
    log.iter()
        .filter(|u| u.task_id.value == task)
        .map(state_of)
        .collect()
}

fn label<'a>(status: &'a pb::TaskStatus, key: &str) -> Option<&'a str> {
    status
        .labels
        .as_ref()?
        .labels
        .iter()
        .find(|l| l.key == key)?
        .value
        .as_deref()
}

fn sandbox_of(status: &pb::TaskStatus) -> PathBuf {
    PathBuf::from(label(status, "corral.sandbox").expect("a sandbox label"))
}

/// Polls `path` until its content satisfies `ready`; bounded.
async fn read_when(path: &Path, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + FILE_WAIT;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if ready(&text) {
                return text;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} not ready in time",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The pid a task wrote to `<sandbox>/pid` (its process group id).
async fn pid_in(sandbox: &Path) -> i32 {
    read_when(&sandbox.join("pid"), |t| t.ends_with('\n'))
        .await
        .trim()
        .parse()
        .expect("a pid")
}

/// Waits (bounded) until process group `pgid` has no live process.
async fn gone(pgid: i32) -> bool {
    let deadline = Instant::now() + FILE_WAIT;
    while process_group_alive(pgid) {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

#[tokio::test]
async fn a_task_that_traps_sigterm_cleans_up_and_ends_killed() {
    let dir = work_dir("trap");
    let master = MockMaster::start(config(&dir)).await.expect("master");
    bounded(async {
        let mut s = subscribe(&master).await;
        let offer = s.next_offer().await;
        let line = "trap 'echo cleaned > \"$MESOS_SANDBOX/marker\"; exit 0' TERM; \
                    echo ready; while :; do sleep 0.05; done";
        let task = shell_task("trapper", &offer, line, Duration::from_secs(5));
        let fw = s.id.clone();
        s.send(accept_call(
            &fw,
            &[&offer.id],
            vec![launch(vec![task])],
            None,
        ))
        .await
        .expect("accept");
        let mut log = Vec::new();
        let running = until(&mut s, "trapper", TaskState::TaskRunning, &mut log).await;
        let sandbox = sandbox_of(&running);
        read_when(&sandbox.join("stdout"), |t| t.contains("ready")).await;

        let asked = Instant::now();
        s.send(kill_call(&fw, "trapper", None)).await.expect("kill");
        let killed = until(&mut s, "trapper", TaskState::TaskKilled, &mut log).await;
        let took = asked.elapsed();

        assert_eq!(
            states_of(&log, "trapper"),
            [
                TaskState::TaskStaging,
                TaskState::TaskStarting,
                TaskState::TaskRunning,
                TaskState::TaskKilling,
                TaskState::TaskKilled
            ]
        );
        let message = killed.message.clone().unwrap_or_default();
        assert!(message.contains("without SIGKILL"), "{message}");
        assert!(message.contains("5000 ms grace"), "{message}");
        // Ended by the kill's SIGTERM, and said so: not "by itself".
        assert!(message.contains("after SIGTERM"), "{message}");
        assert!(!message.contains("by itself"), "{message}");
        assert_eq!(
            std::fs::read_to_string(sandbox.join("marker")).expect("marker written"),
            "cleaned\n"
        );
        assert!(
            took < Duration::from_secs(4),
            "well within the grace: {took:?}"
        );
        assert_eq!(sandbox_of(&killed), sandbox, "same sandbox throughout");
        assert_eq!(
            label(&killed, "corral.stdout").map(PathBuf::from),
            Some(sandbox.join("stdout"))
        );
        assert!(sandbox.starts_with(dir.join("agent-0/frameworks")));
    })
    .await;
    master.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_task_that_ignores_sigterm_is_forced_at_the_grace_period() {
    let dir = work_dir("ignore");
    let master = MockMaster::start(config(&dir)).await.expect("master");
    bounded(async {
        let mut s = subscribe(&master).await;
        let offer = s.next_offer().await;
        let line = "trap '' TERM; echo $$ > pid; while :; do sleep 0.05; done";
        // The task's own policy is long; the KILL call's 200 ms wins.
        let task = shell_task("stubborn", &offer, line, Duration::from_secs(60));
        let fw = s.id.clone();
        s.send(accept_call(
            &fw,
            &[&offer.id],
            vec![launch(vec![task])],
            None,
        ))
        .await
        .expect("accept");
        let mut log = Vec::new();
        let running = until(&mut s, "stubborn", TaskState::TaskRunning, &mut log).await;
        let pgid = pid_in(&sandbox_of(&running)).await;
        assert!(process_group_alive(pgid));

        let asked = Instant::now();
        s.send(kill_call(&fw, "stubborn", Some(GRACE)))
            .await
            .expect("kill");
        let killed = until(&mut s, "stubborn", TaskState::TaskKilled, &mut log).await;
        let took = asked.elapsed();

        let message = killed.message.clone().unwrap_or_default();
        assert!(message.contains("forced"), "{message}");
        assert!(message.contains("SIGKILL"), "{message}");
        assert!(took >= GRACE, "not before the grace period: {took:?}");
        assert!(
            took < GRACE + Duration::from_millis(1500),
            "soon after the grace period: {took:?}"
        );
        assert!(!process_group_alive(pgid), "nothing of the task is left");
    })
    .await;
    master.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn killing_one_task_of_a_group_leaves_its_siblings_running() {
    let dir = work_dir("group");
    let master = MockMaster::start(config(&dir)).await.expect("master");
    bounded(async {
        let mut s = subscribe(&master).await;
        let offer = s.next_offer().await;
        let line = "echo $$ > pid; exec sleep 30";
        let tasks = vec![
            shell_task("regular", &offer, line, GRACE),
            shell_task("borrowed", &offer, line, GRACE),
        ];
        let fw = s.id.clone();
        s.send(accept_call(
            &fw,
            &[&offer.id],
            vec![launch_group("pod", tasks)],
            None,
        ))
        .await
        .expect("accept");
        let mut log = Vec::new();
        let mut sandboxes = Vec::new();
        for task in ["regular", "borrowed"] {
            let running = match log.iter().find(|u: &&pb::TaskStatus| {
                u.task_id.value == task && state_of(u) == TaskState::TaskRunning
            }) {
                Some(seen) => seen.clone(),
                None => until(&mut s, task, TaskState::TaskRunning, &mut log).await,
            };
            assert_eq!(
                running.executor_id.as_ref().map(|e| e.value.as_str()),
                Some("pod")
            );
            sandboxes.push(sandbox_of(&running));
        }
        // One executor run, one sandbox per task inside it.
        let run = sandboxes[0]
            .parent()
            .and_then(Path::parent)
            .expect("run dir");
        assert_eq!(sandboxes[0], run.join("tasks/regular"));
        assert_eq!(sandboxes[1], run.join("tasks/borrowed"));
        assert!(run.starts_with(
            dir.join("agent-0/frameworks")
                .join(fw.as_str())
                .join("executors/pod/runs")
        ));
        let regular = pid_in(&sandboxes[0]).await;
        let borrowed = pid_in(&sandboxes[1]).await;
        assert_ne!(regular, borrowed, "each task has its own process group");

        s.send(kill_call(&fw, "borrowed", None))
            .await
            .expect("kill");
        until(&mut s, "borrowed", TaskState::TaskKilled, &mut log).await;
        assert!(gone(borrowed).await, "the killed task's processes are gone");
        assert!(process_group_alive(regular), "its sibling still runs");
        let state = master.state().await.expect("state");
        assert_eq!(
            state.task(&fw, &"regular".into()).map(|t| t.state),
            Some(corral::TaskState::Running)
        );
        assert_eq!(
            state
                .task(&fw, &"regular".into())
                .and_then(|t| t.sandbox.clone()),
            Some(sandboxes[0].clone())
        );
        assert!(
            !states_of(&log, "regular").contains(&TaskState::TaskKilling),
            "no kill reached the sibling"
        );

        // Tearing the framework down stops the rest.
        s.send(call(&fw, pb::call::Type::Teardown))
            .await
            .expect("teardown");
        assert!(gone(regular).await, "teardown stops the sibling too");
    })
    .await;
    master.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn commands_that_cannot_run_fail_with_the_reason() {
    let dir = work_dir("missing");
    let master = MockMaster::start(config(&dir)).await.expect("master");
    bounded(async {
        let mut s = subscribe(&master).await;
        let offer = s.next_offer().await;
        let mut argv = task("no-program", &offer, "cpus:0.1;mem:32", &[]);
        argv.command = Some(pb::CommandInfo {
            value: Some("/nonexistent/corral-no-such-program".into()),
            shell: Some(false),
            arguments: vec!["corral-no-such-program".into(), "--flag".into()],
            ..Default::default()
        });
        let shell = shell_task("no-command", &offer, "corral-no-such-command-42", GRACE);
        let fw = s.id.clone();
        s.send(accept_call(
            &fw,
            &[&offer.id],
            vec![launch(vec![argv, shell])],
            None,
        ))
        .await
        .expect("accept");
        let mut log = Vec::new();
        let failed = until(&mut s, "no-program", TaskState::TaskFailed, &mut log).await;
        let message = failed.message.clone().unwrap_or_default();
        assert!(
            message.contains("cannot start `/nonexistent/corral-no-such-program`"),
            "{message}"
        );
        assert!(message.contains("No such file"), "{message}");
        assert_eq!(
            failed.reason,
            Some(pb::task_status::Reason::ContainerLaunchFailed as i32)
        );
        assert_eq!(
            states_of(&log, "no-program"),
            [TaskState::TaskStaging, TaskState::TaskFailed],
            "never STARTING or RUNNING"
        );

        let failed = until(&mut s, "no-command", TaskState::TaskFailed, &mut log).await;
        let message = failed.message.clone().unwrap_or_default();
        assert!(message.contains("exited with status 127"), "{message}");
        assert!(
            message.contains("not found"),
            "the shell's own words: {message}"
        );
    })
    .await;
    master.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn shutting_the_master_down_leaves_no_process_behind() {
    let dir = work_dir("shutdown");
    let master = MockMaster::start(config(&dir)).await.expect("master");
    let mut groups = Vec::new();
    let mut children = Vec::new();
    bounded(async {
        let mut s = subscribe(&master).await;
        let offer = s.next_offer().await;
        let tasks = vec![
            shell_task("polite", &offer, "echo $$ > pid; exec sleep 30", GRACE),
            shell_task(
                "stubborn",
                &offer,
                "trap '' TERM; echo $$ > pid; while :; do sleep 0.05; done",
                GRACE,
            ),
            shell_task(
                "parent",
                &offer,
                "sleep 30 & echo $! > child; echo $$ > pid; wait",
                GRACE,
            ),
        ];
        let fw = s.id.clone();
        s.send(accept_call(&fw, &[&offer.id], vec![launch(tasks)], None))
            .await
            .expect("accept");
        let mut log = Vec::new();
        for task in ["polite", "stubborn", "parent"] {
            let running = match log.iter().find(|u: &&pb::TaskStatus| {
                u.task_id.value == task && state_of(u) == TaskState::TaskRunning
            }) {
                Some(seen) => seen.clone(),
                None => until(&mut s, task, TaskState::TaskRunning, &mut log).await,
            };
            let sandbox = sandbox_of(&running);
            groups.push(pid_in(&sandbox).await);
            if task == "parent" {
                let child = read_when(&sandbox.join("child"), |t| t.ends_with('\n')).await;
                children.push(child.trim().parse::<i32>().expect("a pid"));
            }
        }
        assert!(groups.iter().all(|g| process_group_alive(*g)));
    })
    .await;

    let started = Instant::now();
    tokio::time::timeout(TEST_LIMIT, master.shutdown())
        .await
        .expect("shutdown within the limit")
        .expect("shutdown");
    let took = started.elapsed();
    // Right after shutdown returns: every group is empty, and the
    // background child (same group) is gone as well.
    for group in &groups {
        assert!(!process_group_alive(*group), "group {group} survived");
    }
    for child in &children {
        let alive = std::fs::read_to_string(format!("/proc/{child}/stat"))
            .map(|stat| !stat.contains(") Z "))
            .unwrap_or(false);
        assert!(!alive, "background child {child} survived");
    }
    assert!(
        took >= GRACE,
        "the stubborn task got its grace period: {took:?}"
    );
}

#[tokio::test]
async fn status_follows_the_process_and_logs_stay_until_the_ttl() {
    let dir = work_dir("life");
    let master = MockMaster::start(config(&dir).sandbox_ttl(Duration::from_secs(1)))
        .await
        .expect("master");
    bounded(async {
        let mut s = subscribe(&master).await;
        let offer = s.next_offer().await;
        let mut ok = shell_task(
            "ok",
            &offer,
            "echo \"$MESOS_TASK_ID on $MESOS_AGENT_ID ports $PORTS first $PORT0 in $PWD\"; echo note >&2",
            GRACE,
        );
        ok.resources = resources("cpus:0.1;mem:32;ports:[31003-31004]");
        let bad = shell_task("bad", &offer, "echo trouble >&2; exit 3", GRACE);
        let signalled = shell_task("signalled", &offer, "kill -9 $$", GRACE);
        let fw = s.id.clone();
        s.send(accept_call(
            &fw,
            &[&offer.id],
            vec![launch(vec![ok, bad, signalled])],
            None,
        ))
        .await
        .expect("accept");
        let mut log = Vec::new();
        let finished = until(&mut s, "ok", TaskState::TaskFinished, &mut log).await;
        assert_eq!(
            states_of(&log, "ok"),
            [
                TaskState::TaskStaging,
                TaskState::TaskStarting,
                TaskState::TaskRunning,
                TaskState::TaskFinished
            ]
        );
        let sandbox = sandbox_of(&finished);
        let stdout = std::fs::read_to_string(sandbox.join("stdout")).expect("stdout");
        assert_eq!(
            stdout.trim(),
            format!(
                "ok on agent-0 ports 31003,31004 first 31003 in {}",
                sandbox.display()
            )
        );
        assert_eq!(
            std::fs::read_to_string(sandbox.join("stderr")).expect("stderr"),
            "note\n"
        );

        let bad = until(&mut s, "bad", TaskState::TaskFailed, &mut log).await;
        assert_eq!(
            bad.message.as_deref(),
            Some("exited with status 3; stderr: trouble")
        );
        let signalled = until(&mut s, "signalled", TaskState::TaskFailed, &mut log).await;
        let message = signalled.message.clone().unwrap_or_default();
        assert!(message.contains("terminated by signal SIGKILL (9)"), "{message}");

        // Kept for the TTL, then removed (with its now empty parents).
        assert!(sandbox.exists());
        let deadline = Instant::now() + FILE_WAIT;
        while sandbox.exists() {
            assert!(Instant::now() < deadline, "sandbox not removed after its TTL");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    master.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_cluster_mixes_simulated_and_local_agents() {
    let dir = work_dir("mixed");
    let config = MasterConfig::default()
        .agents(1, Resources::parse("cpus:2;mem:512").expect("resources"))
        .agent(AgentSpec::local(
            "real",
            Resources::parse("cpus:2;mem:512").expect("resources"),
            dir.join("real"),
        ))
        .allocation_interval(Duration::from_millis(20));
    let master = MockMaster::start(config).await.expect("master");
    bounded(async {
        let state = master.state().await.expect("state");
        assert_eq!(
            state.agent(&"agent-0".into()).map(|a| &a.kind),
            Some(&AgentKind::Simulated)
        );
        assert_eq!(
            state.agent(&"real".into()).map(|a| a.kind.clone()),
            Some(AgentKind::Local {
                work_dir: dir.join("real")
            })
        );
        let mut s = subscribe(&master).await;
        let fw = s.id.clone();
        let first = s.next_offer().await;
        let second = s.next_offer().await;
        for offer in [first, second] {
            let on_real = offer.agent_id.value == "real";
            let id = if on_real { "real-task" } else { "sim-task" };
            let mut t = shell_task(id, &offer, "echo $MESOS_AGENT_ID", GRACE);
            if !on_real {
                t.labels = Some(pb::Labels {
                    labels: vec![pb::Label {
                        key: "corral.sim/duration".into(),
                        value: Some("30".into()),
                    }],
                });
            }
            s.send(accept_call(&fw, &[&offer.id], vec![launch(vec![t])], None))
                .await
                .expect("accept");
        }
        let mut log = Vec::new();
        until(&mut s, "real-task", TaskState::TaskFinished, &mut log).await;
        if !states_of(&log, "sim-task").contains(&TaskState::TaskFinished) {
            until(&mut s, "sim-task", TaskState::TaskFinished, &mut log).await;
        }
        let sim = log
            .iter()
            .find(|u| u.task_id.value == "sim-task" && state_of(u) == TaskState::TaskFinished)
            .expect("sim task finished");
        assert!(sim.labels.is_none(), "a simulated task has no sandbox");
        assert_eq!(
            sim.message.as_deref(),
            Some("simulated task exited with status 0")
        );
        let real = log
            .iter()
            .find(|u| u.task_id.value == "real-task" && state_of(u) == TaskState::TaskFinished)
            .expect("real task finished");
        let out = std::fs::read_to_string(sandbox_of(real).join("stdout")).expect("stdout");
        assert_eq!(out, "real\n");
    })
    .await;
    master.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_local_task_needs_a_runnable_command() {
    let dir = work_dir("invalid");
    let master = MockMaster::start(config(&dir)).await.expect("master");
    bounded(async {
        let mut s = subscribe(&master).await;
        let offer = s.next_offer().await;
        let mut empty = shell_task("empty", &offer, "   ", GRACE);
        empty.command.as_mut().expect("command").value = Some("   ".into());
        let fw = s.id.clone();
        s.send(accept_call(
            &fw,
            &[&offer.id],
            vec![launch(vec![empty])],
            None,
        ))
        .await
        .expect("accept");
        let mut log = Vec::new();
        let error = until(&mut s, "empty", TaskState::TaskError, &mut log).await;
        assert_eq!(
            error.reason,
            Some(pb::task_status::Reason::TaskInvalid as i32)
        );
        assert!(
            error
                .message
                .as_deref()
                .unwrap_or_default()
                .contains("no command line"),
            "{:?}",
            error.message
        );
    })
    .await;
    master.shutdown().await.expect("shutdown");
}
