//! The master's books as a cluster sees them: the completed-task history
//! is bounded per framework however many tasks finish, and a cluster with
//! a local agent is refused with a typed error (it runs no processes).

mod support;

use std::time::Duration;

use corral::{Resources, TaskState};
use corral_testkit::master::{AgentSpec, ConfigError};
use corral_testkit::{Cluster, MasterConfig};
use support::{info, jobs, Workload};

fn config() -> MasterConfig {
    MasterConfig::default()
        .agents(8, Resources::parse("cpus:16;mem:65536").expect("resources"))
        .allocation_interval(Duration::from_millis(100))
        .seed(5)
}

async fn finish(config: MasterConfig, tasks: usize) -> Cluster {
    let mut cluster = Cluster::start(config).await.expect("cluster");
    let (workload, seen) = Workload::new(jobs("t", tasks, 0.25, Some(100)));
    let running = cluster.launch(info("many", "*"), workload).await;
    cluster.run_until_idle().await;
    cluster.assert_settled();
    assert_eq!(seen.lock().unwrap().ended(), tasks, "every task ended");
    let _ = running;
    cluster
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_finished_tasks_leave_at_most_the_default_history() {
    let cluster = finish(config(), 10_000).await;
    let state = cluster.state();
    assert!(cluster.check().is_ok(), "{:?}", cluster.check());
    let finished = state
        .tasks
        .iter()
        .filter(|t| t.state == TaskState::Finished)
        .count();
    assert_eq!(state.tasks.len(), 1000, "the default bound (1000) is kept");
    assert_eq!(finished, 1000);
    // The newest are kept, the oldest forgotten.
    assert!(state.tasks.iter().any(|t| t.id.as_str() == "t-9999"));
    assert!(!state.tasks.iter().any(|t| t.id.as_str() == "t-0"));
    assert!(cluster.trace().last_state(&"t-0".into()) == Some(TaskState::Finished));
}

#[tokio::test(start_paused = true)]
async fn the_completed_history_follows_its_setting() {
    let cluster = finish(config().max_completed_tasks_per_framework(25), 500).await;
    assert_eq!(cluster.state().tasks.len(), 25);
    let cluster = finish(config().max_completed_tasks_per_framework(0), 200).await;
    assert!(cluster.state().tasks.is_empty(), "no history kept at 0");
}

#[tokio::test(start_paused = true)]
async fn a_cluster_with_a_local_agent_is_refused_with_a_typed_error() {
    let dir = std::env::temp_dir().join("corral-cluster-refusal");
    let with_local = config().local_agents(1, Resources::parse("cpus:1;mem:256").unwrap(), &dir);
    match Cluster::start(with_local).await {
        Err(ConfigError::LocalAgentUnsupported(agent)) => assert_eq!(agent.as_str(), "agent-8"),
        Err(other) => panic!("another refusal: {other}"),
        Ok(_) => panic!("a cluster with a local agent must be refused"),
    }
    // Added later, too.
    let cluster = Cluster::start(config()).await.expect("cluster");
    let refused = cluster.add_agent(AgentSpec::local(
        "late",
        Resources::parse("cpus:1;mem:256").unwrap(),
        dir.join("late"),
    ));
    assert_eq!(
        refused,
        Err(ConfigError::LocalAgentUnsupported("late".into()))
    );
    assert!(cluster.state().agent(&"late".into()).is_none());
}
