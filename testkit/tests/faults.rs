//! Fault scenarios: a framework written with the SDK, on a simulated
//! cluster in virtual time, survives what the testkit throws at it. Each
//! test is named for what it proves; every one ends with the cluster
//! settled (every update acknowledged, every task's last state seen by its
//! handler, no task seen ending twice) and the master's invariants held
//! after every step.

mod support;

use std::time::Duration;

use corral::Reason;
use corral::{AgentId, Driver, Event, Resources, TaskState};
use corral_testkit::{Call, CallKind, Cluster, MasterConfig};
use support::{info, jobs, partition_aware, task, Job, Workload};

fn cluster_config(agents: usize) -> MasterConfig {
    MasterConfig::default()
        .agents(agents, Resources::parse("cpus:4;mem:4096").unwrap())
        .role("batch", 1.0)
        .allocation_interval(Duration::from_millis(100))
        .seed(7)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[tokio::test(start_paused = true)]
async fn master_failover_mid_launch_keeps_tasks_and_the_framework_id() {
    let (workload, seen) = Workload::new(jobs("t", 6, 1.0, Some(10_000)));
    let (mut cluster, fw) =
        Cluster::with_framework(cluster_config(2), info("fo", "batch"), workload)
            .await
            .unwrap();
    // Fail over as soon as the tasks are launched, before they run.
    cluster
        .run_until(secs(10), |state, _| state.tasks.len() == 6)
        .await;
    cluster.fail_over_master();
    cluster.run_until_idle().await;

    let trace = cluster.trace();
    let subscribes = trace.calls_of_kind(fw.id(), CallKind::Subscribe);
    assert_eq!(subscribes.len(), 2, "{}", trace.dump());
    assert!(
        matches!(subscribes[1], Call::Subscribe(s) if s.framework.id.as_ref() == Some(fw.id())),
        "{:?}",
        subscribes[1]
    );
    for i in 0..6 {
        trace.expect_task_state(&task(&format!("t-{i}")), TaskState::Finished);
    }
    assert_eq!(seen.lock().unwrap().subscriptions, 2);
    cluster.assert_settled();
    let _ = &mut cluster;
}

#[tokio::test(start_paused = true)]
async fn lost_acknowledgements_are_retried_and_the_handler_sees_each_update_once() {
    let (workload, _) = Workload::new(jobs("t", 4, 1.0, Some(500)));
    let (cluster, fw) = Cluster::with_framework(cluster_config(1), info("acks", "batch"), workload)
        .await
        .unwrap();
    cluster.drop_acks(fw.id(), 5);
    cluster.run_until_idle().await;

    let trace = cluster.trace();
    assert_eq!(trace.lost_count(), 5, "{}", trace.dump());
    for i in 0..4 {
        let t = task(&format!("t-{i}"));
        assert_eq!(
            trace.states_seen(&t),
            [
                TaskState::Staging,
                TaskState::Starting,
                TaskState::Running,
                TaskState::Finished
            ],
            "{}",
            trace.dump()
        );
    }
    // 16 updates, 5 acks lost and sent again after the master's resend.
    let acks = trace.calls_of_kind(fw.id(), CallKind::Acknowledge).len();
    assert_eq!(acks, 16, "{}", trace.dump());
    cluster.assert_settled();
}

#[tokio::test(start_paused = true)]
async fn dropped_duplicated_delayed_and_reordered_updates_reach_the_handler_once_in_the_end() {
    let (workload, _) = Workload::new(jobs("t", 8, 0.5, Some(2_000)));
    let (cluster, fw) = Cluster::with_framework(cluster_config(2), info("wire", "batch"), workload)
        .await
        .unwrap();
    cluster.drop_updates(fw.id(), 3);
    cluster.duplicate_updates(fw.id(), 4);
    cluster.delay_updates(fw.id(), 3, secs(20));
    cluster.reorder_updates(fw.id(), 4);
    cluster.run_until_idle().await;

    let trace = cluster.trace();
    for i in 0..8 {
        let t = task(&format!("t-{i}"));
        trace.expect_task_state(&t, TaskState::Finished);
        let ends = trace
            .states_seen(&t)
            .into_iter()
            .filter(|s| s.is_terminal())
            .count();
        assert_eq!(ends, 1, "{}", trace.dump());
    }
    cluster.assert_settled();
}

#[tokio::test(start_paused = true)]
async fn agent_lost_and_back_unreachable_then_running_for_a_partition_aware_framework() {
    let (workload, _) = Workload::new(jobs("t", 2, 2.0, None));
    let (cluster, fw) =
        Cluster::with_framework(cluster_config(1), partition_aware("pa", "batch"), workload)
            .await
            .unwrap();
    cluster
        .run_until(secs(10), |_, trace| {
            trace.last_state(&task("t-1")) == Some(TaskState::Running)
        })
        .await;
    let agent = AgentId::new("agent-0");
    cluster.lose_agent(&agent).unwrap();
    cluster.advance(secs(30)).await;
    let trace = cluster.trace();
    trace.expect_task_state(&task("t-0"), TaskState::Unreachable);
    trace.expect_task_state(&task("t-1"), TaskState::Unreachable);
    assert!(cluster.state().agent(&agent).unwrap().lost);

    // A kill while the agent is away waits for it.
    fw.driver()
        .kill(&task("t-0"), Some(Duration::from_millis(100)))
        .await
        .unwrap();
    cluster.advance(secs(1)).await;
    cluster
        .trace()
        .expect_task_state(&task("t-0"), TaskState::Unreachable);

    cluster.restore_agent(&agent).unwrap();
    cluster
        .run_until(secs(10), |_, trace| {
            trace.last_state(&task("t-0")) == Some(TaskState::Killed)
        })
        .await;
    let trace = cluster.trace();
    trace.expect_task_state(&task("t-1"), TaskState::Running);
    let back = trace.updates_seen(&task("t-1"));
    assert_eq!(
        back.last().unwrap().reason,
        Some(corral::Reason::AgentReregistered)
    );
    cluster.run_until_idle().await;
    cluster.assert_settled();
}

#[tokio::test(start_paused = true)]
async fn agent_lost_means_task_lost_for_a_framework_that_is_not_partition_aware() {
    let (mut workload, _) = Workload::new(jobs("t", 2, 2.0, Some(60_000)));
    workload.retry_failed = true;
    let (cluster, _fw) = Cluster::with_framework(cluster_config(2), info("np", "batch"), workload)
        .await
        .unwrap();
    cluster
        .run_until(secs(10), |state, _| {
            state
                .tasks
                .iter()
                .filter(|t| t.state == corral::TaskState::Running)
                .count()
                == 2
        })
        .await;
    // Both tasks fit on one agent; lose the one they are on.
    let on = cluster.state().tasks[0].agent.clone();
    let lost: Vec<_> = cluster
        .state()
        .tasks
        .iter()
        .filter(|t| t.agent == on)
        .map(|t| t.id.clone())
        .collect();
    assert_eq!(lost.len(), 2);
    cluster.lose_agent(&on).unwrap();
    cluster.advance(secs(1)).await;
    let trace = cluster.trace();
    for t in &lost {
        assert!(
            trace.states_seen(t).contains(&TaskState::Lost),
            "{}",
            trace.dump()
        );
    }
    // The framework launches them again elsewhere, under new ids.
    cluster.run_until_idle().await;
    let state = cluster.state();
    for t in &lost {
        let again = corral::TaskId::new(format!("{t}#1"));
        let snapshot = state.tasks.iter().find(|s| s.id == again).unwrap();
        assert_ne!(snapshot.agent, on);
        assert_eq!(snapshot.state, corral::TaskState::Finished);
    }
    cluster.assert_settled();
}

#[tokio::test(start_paused = true)]
async fn connection_cut_during_a_kill_still_ends_in_one_task_killed() {
    let job = Job::new("long", 1.0, None).cleanup(2_000, 5_000);
    let (workload, _) = Workload::new(vec![job]);
    let (cluster, fw) = Cluster::with_framework(cluster_config(1), info("cut", "batch"), workload)
        .await
        .unwrap();
    cluster
        .run_until(secs(10), |_, t| {
            t.last_state(&task("long")) == Some(TaskState::Running)
        })
        .await;
    fw.driver().kill(&task("long"), None).await.unwrap();
    cluster
        .run_until(secs(1), |_, t| {
            t.last_state(&task("long")) == Some(TaskState::Killing)
        })
        .await;
    let killing_at = cluster.now();
    cluster.break_connection(fw.id()).unwrap();
    cluster.run_until_idle().await;

    let trace = cluster.trace();
    trace.expect_task_state(&task("long"), TaskState::Killed);
    let killed = trace
        .updates_seen(&task("long"))
        .into_iter()
        .find(|s| s.state == TaskState::Killed)
        .unwrap();
    // Killed after its 2 s cleanup, within its 5 s grace.
    let took = killed.timestamp - killing_at.as_secs_f64();
    assert!(
        (1.99..=5.0).contains(&took),
        "took {took}\n{}",
        trace.dump()
    );
    assert!(trace
        .seen(fw.id())
        .iter()
        .any(|e| matches!(e, Event::Disconnected(_))));
    cluster.assert_settled();
}

#[tokio::test(start_paused = true)]
async fn a_silent_master_is_noticed_by_missed_heartbeats_and_the_framework_resubscribes() {
    let (workload, seen) = Workload::new(jobs("t", 2, 1.0, None));
    let (cluster, fw) =
        Cluster::with_framework(cluster_config(1), info("quiet", "batch"), workload)
            .await
            .unwrap();
    cluster
        .run_until(secs(10), |_, t| {
            t.last_state(&task("t-1")) == Some(TaskState::Running)
        })
        .await;
    let silenced_at = cluster.now();
    cluster.silence(fw.id()).unwrap();
    cluster
        .run_until(secs(600), |_, _| seen.lock().unwrap().subscriptions == 2)
        .await;
    // Five missed 15 s heartbeats, give or take one interval.
    let noticed = cluster.now() - silenced_at;
    assert!(noticed >= secs(60) && noticed <= secs(95), "{noticed:?}");
    let trace = cluster.trace();
    assert!(trace
        .seen(fw.id())
        .iter()
        .any(|e| matches!(e, Event::Disconnected(corral::Disconnect::MasterSilent(_)))));
    // Reconciliation after resubscribing confirms both tasks, hidden from
    // the handler since nothing changed.
    assert!(!trace.calls_of_kind(fw.id(), CallKind::Reconcile).is_empty());
    assert_eq!(trace.states_seen(&task("t-0")).len(), 3, "{}", trace.dump());
    cluster.run_until_idle().await;
    cluster.assert_settled();
}

#[tokio::test(start_paused = true)]
async fn a_task_that_ignores_its_kill_is_forced_at_the_grace_period() {
    let job = Job::new("stubborn", 1.0, None).cleanup(1_000, 3_000);
    let (workload, _) = Workload::new(vec![job]);
    let (cluster, fw) = Cluster::with_framework(cluster_config(1), info("k", "batch"), workload)
        .await
        .unwrap();
    cluster
        .run_until(secs(10), |_, t| {
            t.last_state(&task("stubborn")) == Some(TaskState::Running)
        })
        .await;
    cluster.ignore_kill(fw.id(), &task("stubborn")).unwrap();
    let asked = cluster.now();
    fw.driver().kill(&task("stubborn"), None).await.unwrap();
    cluster.run_until_idle().await;
    let trace = cluster.trace();
    trace.expect_task_state(&task("stubborn"), TaskState::Killed);
    let killed = trace
        .updates_seen(&task("stubborn"))
        .last()
        .unwrap()
        .timestamp;
    assert_eq!(killed - asked.as_secs_f64(), 3.0, "{}", trace.dump());
    cluster.assert_settled();
}

#[tokio::test(start_paused = true)]
async fn a_task_made_to_fail_reports_the_reason_and_is_retried() {
    let (mut workload, seen) = Workload::new(jobs("t", 1, 1.0, Some(5_000)));
    workload.retry_failed = true;
    let (cluster, fw) = Cluster::with_framework(cluster_config(1), info("f", "batch"), workload)
        .await
        .unwrap();
    cluster
        .run_until(secs(10), |_, t| {
            t.last_state(&task("t-0")) == Some(TaskState::Running)
        })
        .await;
    cluster
        .fail_task(
            fw.id(),
            &task("t-0"),
            Reason::ContainerLimitation,
            "out of memory",
        )
        .unwrap();
    cluster.run_until_idle().await;
    let trace = cluster.trace();
    let failed = trace
        .updates_seen(&task("t-0"))
        .into_iter()
        .find(|s| s.state == TaskState::Failed)
        .unwrap()
        .clone();
    assert_eq!(failed.reason, Some(corral::Reason::ContainerLimitation));
    assert_eq!(failed.message.as_deref(), Some("out of memory"));
    // Relaunched under a new id, and finished this time.
    trace.expect_task_state(&task("t-0"), TaskState::Failed);
    trace.expect_task_state(&task("t-0#1"), TaskState::Finished);
    assert_eq!(seen.lock().unwrap().launched, ["t-0", "t-0#1"]);
    cluster.assert_settled();
}

#[tokio::test(start_paused = true)]
async fn without_its_framework_past_the_failover_timeout_the_master_kills_its_tasks() {
    let (workload, _) = Workload::new(jobs("t", 2, 1.0, None));
    let info = info("gone", "batch").with_failover_timeout(secs(30));
    let (mut cluster, fw) = Cluster::with_framework(cluster_config(1), info.clone(), workload)
        .await
        .unwrap();
    cluster
        .run_until(secs(10), |_, t| {
            t.last_state(&task("t-1")) == Some(TaskState::Running)
        })
        .await;
    let id = fw.id().clone();
    fw.driver().stop();
    let (stopped, workload) = fw.join().await;
    assert_eq!(stopped.unwrap(), corral::Stopped::Detached);

    // Within the timeout, a restarted framework keeps its tasks.
    cluster.advance(secs(20)).await;
    let again = cluster
        .launch(info.clone().with_id(id.clone()), workload)
        .await;
    assert_eq!(again.id(), &id);
    assert_eq!(cluster.state().tasks.len(), 2);
    again.driver().stop();
    let _ = again.join().await;

    // Past it, the framework is removed and its tasks with it.
    cluster.advance(secs(31)).await;
    let state = cluster.state();
    assert!(state.framework(&id).is_none());
    assert!(state.removed_frameworks.contains(&id));
    assert!(state.tasks.is_empty());
    assert!(state.agents.iter().all(|a| a.allocated.is_empty()));
    assert!(cluster.check().is_ok());
}

#[tokio::test(start_paused = true)]
async fn offers_outstanding_at_a_disconnect_are_void_and_new_ones_come_after_resubscribing() {
    // Nothing to run: offers arrive and are declined by the runtime; cut
    // the connection and check the master took back what was offered.
    let (workload, _) = Workload::new(vec![Job::new("late", 1.0, Some(100))]);
    let (cluster, fw) = Cluster::with_framework(cluster_config(2), info("o", "batch"), workload)
        .await
        .unwrap();
    cluster.break_connection(fw.id()).unwrap();
    let state = cluster.state();
    assert!(state.offers.is_empty(), "offers survived the disconnect");
    cluster.run_until_idle().await;
    cluster
        .trace()
        .expect_task_state(&task("late"), TaskState::Finished);
    cluster.assert_settled();
}
