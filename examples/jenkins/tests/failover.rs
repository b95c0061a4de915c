//! A controller restart mid-build on the virtual-time cluster: the first
//! controller stops with builds queued and running (its framework stays
//! registered, its agents' tasks keep running); a second one, restored
//! from the same state database, fails over to the same framework id,
//! re-adopts the agents and finishes every build. No build is lost and
//! none starts twice, counted over both controllers' histories.
//!
//! (On simulated agents the controller is the simulator: a re-adopted
//! build's simulated time starts again on the same agent. The restart with
//! real processes, where the agent keeps running the build, is
//! `tests/restart.rs`.)

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use corral::{Capability, Config, Driver, FrameworkInfo, Resources, TaskState};
use corral_testkit::{CallKind, Cluster, MasterConfig};
use jenkins::store::Store;
use jenkins::{BuildResult, Controller, Happened, Input, JobsFile, Runner};
use support::{label_of, trigger, ROLE};

const JOBS: &str = "cloud: { max_agents: 3 }\n\
templates:\n  linux: { cpus: 1, mem: 256, max_agents: 3, idle_minutes: 10 }\n\
jobs:\n  - { name: build, label: linux, steps: [ { sh: make, simulated_seconds: 20 } ] }\n";

const BUILDS: usize = 8;

fn info() -> FrameworkInfo {
    FrameworkInfo::new("jenkins")
        .with_roles([ROLE])
        .with_capability(Capability::RevocableResources)
        .with_failover_timeout(Duration::from_secs(3600))
}

fn starts(history: &[Happened]) -> Vec<String> {
    history
        .iter()
        .filter_map(|h| match h {
            Happened::Started(b, _) => Some(b.to_string()),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_restart_mid_build_loses_no_build_and_starts_none_twice() {
    let dir = std::env::temp_dir().join(format!("jenkins-failover-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("jenkins.redb");
    let config = MasterConfig::default()
        .agents(2, Resources::parse("cpus:4;mem:4096").unwrap())
        .role(ROLE, 1.0)
        .allocation_interval(Duration::from_millis(100))
        .seed(9);
    let mut cluster = Cluster::start(config).await.unwrap();
    let file = || JobsFile::parse(JOBS).unwrap();

    // The first controller: 8 builds, 3 agents; stopped 30 s in, with
    // 3 builds done, 3 running and 2 queued.
    let first =
        Controller::restore(file(), Runner::Simulated, Store::open(&state).unwrap()).unwrap();
    let (running, injector) = cluster
        .launch_with_inputs(info(), Config::default(), first, 64)
        .await;
    let id = running.id().clone();
    for _ in 0..BUILDS {
        injector.send(trigger("build")).await.unwrap();
    }
    cluster.advance(Duration::from_secs(30)).await;
    running.driver().stop();
    let (_, first) = running.join().await;
    let before: BTreeMap<&str, usize> =
        first.history().iter().fold(BTreeMap::new(), |mut acc, h| {
            let key = match h {
                Happened::Started(..) => "started",
                Happened::Finished(..) => "finished",
                _ => return acc,
            };
            *acc.entry(key).or_insert(0) += 1;
            acc
        });
    assert_eq!(before.get("finished"), Some(&3), "{before:?}");
    assert_eq!(before.get("started"), Some(&6), "{before:?}");
    let agents_before: Vec<String> = first.pool().all().map(|a| a.task.to_string()).collect();
    assert_eq!(agents_before.len(), 3);
    drop(first); // closes the database

    // The master kept the agents running for the framework's failover.
    let live = cluster
        .state()
        .tasks
        .iter()
        .filter(|t| t.framework == id && t.state == TaskState::Running)
        .count();
    assert_eq!(live, 3);

    // The second controller, from the same database, as the same framework.
    let second =
        Controller::restore(file(), Runner::Simulated, Store::open(&state).unwrap()).unwrap();
    assert_eq!(second.framework_id(), Some(&id));
    let (running, injector) = cluster
        .launch_with_inputs(info().with_id(id.clone()), Config::default(), second, 64)
        .await;
    assert_eq!(running.id(), &id, "failed over to the same framework id");
    injector.send(Input::ShutdownWhenDone).await.unwrap();
    cluster
        .run_until(Duration::from_secs(600), |_, trace| {
            !trace.calls_of_kind(&id, CallKind::Teardown).is_empty()
        })
        .await;
    let (_, second) = running.join().await;

    // Every build done, each started exactly once over both runs.
    let summary = jenkins::Summary::of(&second);
    assert_eq!(
        (summary.builds, summary.success, summary.unfinished),
        (BUILDS, BUILDS, 0),
        "{summary}"
    );
    let second_starts = starts(second.history());
    assert_eq!(
        second_starts.len(),
        2,
        "only the 2 that were queued: {second_starts:?}"
    );
    for build in second.builds().all() {
        assert_eq!(build.agents.len(), 1, "{}: {:?}", build.id, build.agents);
        assert_eq!(
            build.state,
            jenkins::queue::BuildState::Done(BuildResult::Success)
        );
    }
    // The re-adopted agents ran on; no new agent was needed.
    assert!(second
        .history()
        .iter()
        .all(|h| !matches!(h, Happened::Launched(..))));
    for agent in &agents_before {
        assert_eq!(label_of(agent), Some("linux"));
    }
    // Numbering went on: nothing was renumbered.
    let mut numbers: Vec<u64> = second.builds().all().map(|b| b.id.number).collect();
    numbers.sort();
    assert_eq!(numbers, (1..=BUILDS as u64).collect::<Vec<_>>());
    cluster.run_until_idle().await;
    cluster.assert_settled();
    let _ = std::fs::remove_dir_all(&dir);
}
