//! Agents' lives on the virtual-time cluster: a reused agent takes the
//! next build and is reaped `idle_minutes` after its last one; a
//! single-use agent is stopped right after its build. Offers that fit no
//! waiting build are declined with the jobs file's long filter, and the
//! controller suppresses when nothing waits; both read from the trace.

mod support;

use std::time::Duration;

use corral::{Resources, TaskState};
use corral_testkit::{AgentSpec, Call, Cluster, MasterConfig};
use jenkins::{Happened, Input};
use support::{calls_at, killed_at, launch, run_to_teardown, seen_at, trigger, ROLE};

const INTERVAL: Duration = Duration::from_millis(100);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

const JOBS: &str = "cloud: { max_agents: 4, decline_filter_minutes: 10 }\n\
templates:\n\
\x20 linux: { cpus: 1, mem: 512, max_agents: 2, idle_minutes: 1, constraints: { os: linux } }\n\
\x20 docker: { cpus: 1, mem: 512, max_agents: 2, single_use: true }\n\
jobs:\n\
\x20 - { name: compile, label: linux, steps: [ { sh: make, simulated_seconds: 2 } ] }\n\
\x20 - { name: image, label: docker, steps: [ { sh: docker build ., simulated_seconds: 2 } ] }\n";

fn linux_and_mac() -> MasterConfig {
    let res = Resources::parse("cpus:4;mem:8192").unwrap();
    MasterConfig::default()
        .agent(AgentSpec::new("linux-1", res.clone()).attribute("os", "linux"))
        .agent(AgentSpec::new("mac-1", res).attribute("os", "mac"))
        .role(ROLE, 1.0)
        .allocation_interval(INTERVAL)
        .seed(3)
}

/// The agents each build ran on, from the controller's history.
fn started_on(history: &[Happened]) -> Vec<(String, String)> {
    history
        .iter()
        .filter_map(|h| match h {
            Happened::Started(build, agent) => Some((build.to_string(), agent.to_string())),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_reused_agent_is_reaped_after_its_idle_time_and_a_single_use_one_after_its_build() {
    let mut cluster = Cluster::start(linux_and_mac()).await.unwrap();
    let (running, injector) = launch(&mut cluster, JOBS).await;
    let fw = running.id().clone();
    injector.send(trigger("compile")).await.unwrap();
    injector.send(trigger("image")).await.unwrap();
    // A second compile 30 s in: the idle linux agent takes it, and its
    // idle time starts again when that build ends.
    cluster
        .input_at(&injector, secs(30), trigger("compile"))
        .await;
    cluster.advance(secs(120)).await;
    injector.send(Input::ShutdownWhenDone).await.unwrap();
    let controller = run_to_teardown(&cluster, running, secs(60), |_| {}).await;

    let started = started_on(controller.history());
    assert_eq!(started.len(), 3, "{started:?}");
    let linux = &started[0].1;
    assert_eq!(started[0].0, "compile#1");
    assert_eq!(started[2], ("compile#2".into(), linux.clone()), "reused");
    let docker = &started.iter().find(|(b, _)| b == "image#1").unwrap().1;

    let trace = cluster.trace();
    // Single-use: killed the moment its 2 s build ended.
    let docker_up = seen_at(&trace, &fw, docker, TaskState::Running).unwrap();
    assert_eq!(killed_at(&trace, &fw, docker), Some(docker_up + secs(2)));
    // Reused: compile#2 started at 30 s and ended at 32 s; the agent was
    // reaped one idle minute after that, not after compile#1.
    assert_eq!(killed_at(&trace, &fw, linux), Some(secs(32 + 60)));
    assert_eq!(
        controller.pool().launched_per_label().values().sum::<u64>(),
        2,
        "one agent per label"
    );
    // Each was killed gracefully and seen ending.
    for agent in [linux, docker] {
        trace.expect_task_state(&agent.as_str().into(), TaskState::Killed);
    }
    cluster.run_until_idle().await;
    cluster.assert_settled();
}

#[tokio::test(start_paused = true)]
async fn offers_are_declined_with_the_long_filter_and_the_controller_suppresses_when_idle() {
    let mut cluster = Cluster::start(linux_and_mac()).await.unwrap();
    let (running, injector) = launch(&mut cluster, JOBS).await;
    let fw = running.id().clone();
    let trigger_at = secs(5);
    cluster
        .input_at(&injector, trigger_at, trigger("compile"))
        .await;
    cluster.advance(secs(10)).await;
    injector.send(Input::ShutdownWhenDone).await.unwrap();
    let controller = run_to_teardown(&cluster, running, secs(120), |_| {}).await;
    assert_eq!(controller.builds().all().count(), 1);

    let trace = cluster.trace();
    let calls = calls_at(&trace, &fw);
    // Every decline carries the jobs file's filter, 10 minutes: none was
    // left to the runtime's default, none used another unit.
    let declines: Vec<_> = calls
        .iter()
        .filter_map(|(at, c)| match c {
            Call::Decline { refuse, offers } => Some((*at, *refuse, offers.len())),
            _ => None,
        })
        .collect();
    assert!(!declines.is_empty(), "the mac agent's offer was declined");
    for (at, refuse, _) in &declines {
        assert_eq!(*refuse, Some(secs(600)), "decline at {at:?}");
    }
    // Demand, call by call: suppressed before the build arrived, revived
    // when it did, suppressed again once no build waited.
    let demand: Vec<(Duration, &str)> = calls
        .iter()
        .filter_map(|(at, c)| match c {
            Call::Suppress { .. } => Some((*at, "suppress")),
            Call::Revive { .. } => Some((*at, "revive")),
            _ => None,
        })
        .collect();
    let before: Vec<_> = demand.iter().filter(|(at, _)| *at < trigger_at).collect();
    assert_eq!(before.last().map(|d| d.1), Some("suppress"), "{demand:?}");
    let revived = demand
        .iter()
        .position(|(at, what)| *at >= trigger_at && *what == "revive")
        .expect("revived when the build arrived");
    assert_eq!(
        demand[revived].0, trigger_at,
        "at once: the first revive is not delayed"
    );
    let suppressed_again = demand[revived..]
        .iter()
        .find(|(_, what)| *what == "suppress")
        .unwrap_or_else(|| {
            panic!(
                "suppressed once nothing waited: {demand:?}\n{}",
                trace.dump()
            )
        });
    assert_eq!(demand.last().map(|d| d.1), Some("suppress"), "{demand:?}");
    // No offer reached the controller while it was suppressed (after the
    // one allocation already under way).
    let late_offers = trace
        .entries()
        .iter()
        .filter(|e| e.framework.as_ref() == Some(&fw) && e.at > suppressed_again.0 + INTERVAL)
        .filter(|e| {
            matches!(&e.what, corral_testkit::harness::What::Seen(ev) if matches!(&**ev, corral::Event::Offers(_)))
        })
        .count();
    assert_eq!(late_offers, 0, "{}", trace.dump());
    cluster.run_until_idle().await;
    cluster.assert_settled();
}
