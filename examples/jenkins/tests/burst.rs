//! A burst of 200 builds on the virtual-time cluster: the per-label and
//! total caps hold at every step, every build finishes, and nothing is
//! left running. Run with `--nocapture` for the figures (queue wait
//! p50/p99, agents launched), single-use and reused agents side by side.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use corral::Resources;
use corral_testkit::{Cluster, MasterConfig};
use jenkins::{Input, Summary};
use support::{launch, live_per_label, run_to_teardown, trigger, ROLE};

const BUILDS: usize = 200;
const CAPS: [(&str, usize); 2] = [("linux", 5), ("docker", 4)];
const TOTAL_CAP: usize = 7;

/// Two labels: `linux` (cap 5, single-use or reused as asked) and `docker`
/// (cap 4, reused), 7 agents in all: the total cap binds before the sum
/// of the label caps (9) does.
fn jobs(linux_single_use: bool) -> String {
    format!(
        "cloud: {{ max_agents: {TOTAL_CAP}, decline_filter_minutes: 10, kill_grace_seconds: 2 }}\n\
         templates:\n\
         \x20 linux: {{ cpus: 1, mem: 512, max_agents: 5, idle_minutes: 1, single_use: {linux_single_use} }}\n\
         \x20 docker: {{ cpus: 2, mem: 1024, max_agents: 4, idle_minutes: 1 }}\n\
         jobs:\n\
         \x20 - {{ name: compile, label: linux, steps: [ {{ sh: make, simulated_seconds: 2 }} ] }}\n\
         \x20 - {{ name: test, label: linux, steps: [ {{ sh: make test, simulated_seconds: 3 }}, {{ sh: report, simulated_seconds: 0.5 }} ] }}\n\
         \x20 - {{ name: image, label: docker, steps: [ {{ sh: docker build ., simulated_seconds: 4 }} ] }}\n\
         \x20 - {{ name: flaky, label: docker, steps: [ {{ sh: exit 1, simulated_seconds: 1, simulated_exit: 1 }} ] }}\n"
    )
}

/// Runs the burst; checks the caps at every step from the master's books
/// and that every build finished; returns the summary.
async fn burst(linux_single_use: bool) -> Summary {
    let config = MasterConfig::default()
        .agents(4, Resources::parse("cpus:4;mem:8192;disk:10000").unwrap())
        .role(ROLE, 1.0)
        .allocation_interval(Duration::from_millis(100))
        .seed(15);
    let mut cluster = Cluster::start(config).await.unwrap();
    let (running, injector) = launch(&mut cluster, &jobs(linux_single_use)).await;
    let framework = running.id().clone();
    let jobs = ["compile", "test", "image", "flaky"];
    for i in 0..BUILDS {
        injector.send(trigger(jobs[i % jobs.len()])).await.unwrap();
    }
    injector.send(Input::ShutdownWhenDone).await.unwrap();

    let mut most: BTreeMap<String, usize> = BTreeMap::new();
    let mut most_total = 0;
    let controller = run_to_teardown(&cluster, running, Duration::from_secs(3600), |state| {
        let live = live_per_label(state, &framework);
        for (label, n) in &live {
            let most = most.entry(label.clone()).or_insert(0);
            *most = (*most).max(*n);
        }
        most_total = most_total.max(live.values().sum());
    })
    .await;

    for (label, cap) in CAPS {
        let seen = most.get(label).copied().unwrap_or(0);
        assert!(seen <= cap, "{label}: {seen} agents at once, cap {cap}");
        assert!(seen > 0, "{label}: no agent ever ran");
    }
    assert!(most_total <= TOTAL_CAP, "{most_total} agents at once");
    assert_eq!(
        most_total, TOTAL_CAP,
        "a burst this size fills the total cap"
    );
    let summary = Summary::of(&controller);
    assert_eq!(summary.builds, BUILDS);
    assert_eq!(summary.unfinished, 0, "{summary}");
    assert_eq!(summary.success, BUILDS / 4 * 3, "{summary}");
    assert_eq!(summary.failure, BUILDS / 4, "the flaky job fails");
    assert_eq!(summary.aborted, 0);
    assert_eq!(
        summary.most_live_total, most_total,
        "the controller's count agrees with the master's"
    );
    // Nothing left behind: every agent's task ended, the cluster settled.
    assert!(live_per_label(&cluster.state(), &framework).is_empty());
    assert!(controller.pool().live_total() == 0);
    summary
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_200_reused_agents_stays_within_the_caps_and_all_finish() {
    let summary = burst(false).await;
    // Reused agents: far fewer launches than builds.
    assert!(summary.agents_launched < 20, "{summary}");
    println!("reused linux agents:\n{summary}\n{}", summary.to_json());
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_200_single_use_agents_stays_within_the_caps_and_all_finish() {
    let summary = burst(true).await;
    // One linux agent per linux build, no more.
    assert_eq!(
        summary.agents_per_label["linux"],
        (BUILDS / 2) as u64,
        "{summary}"
    );
    assert_eq!(summary.agents_single_use, (BUILDS / 2) as u64);
    println!("single-use linux agents:\n{summary}\n{}", summary.to_json());
}
