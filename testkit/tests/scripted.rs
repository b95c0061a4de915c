//! Scripted mode: the test plays the master step by step, so the
//! framework's decisions are tested without the allocator's choices in the
//! way; then the framework is restarted with its persisted state and the
//! same script carries on. Also: the harness's own checks can fail.

mod support;

use std::time::Duration;

use async_trait::async_trait;
use corral::{
    AckMode, Config, Driver, Framework, FrameworkId, MalformedItem, MasterEvent, Offer,
    ProtocolError, Resources, Scheduler, TaskId, TaskState, TaskStatus,
};
use corral_testkit::{Call, CallKind, Cluster, MasterConfig, Script};
use support::{info, jobs, task, Workload};

#[tokio::test(start_paused = true)]
async fn scripted_offers_launch_exactly_what_fits_and_every_update_is_acknowledged() {
    let script = Script::new();
    script.ignore(&[CallKind::Reconcile, CallKind::Suppress, CallKind::Revive]);
    let (workload, seen) = Workload::new(jobs("t", 3, 1.5, None));
    let framework = Framework::new(info("scripted", "batch"), script.transport());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run(workload));

    let fw = FrameworkId::new("fw-1");
    let subscribe = script.expect_subscribe(&fw).await.unwrap();
    assert_eq!(subscribe.framework.id, None, "a new framework");
    assert_eq!(subscribe.framework.name, "scripted");

    // 4 cpus hold two 1.5-cpu tasks, not three.
    let resources = Resources::parse("cpus:4;mem:1024").unwrap();
    script
        .offer(&fw, "o1", "agent-a", "batch", &resources)
        .unwrap();
    let accepted = script.expect_accept().await.unwrap();
    assert_eq!(accepted.offer_ids, [corral::OfferId::new("o1")]);
    let launched: Vec<&str> = accepted.tasks.iter().map(|t| t.as_str()).collect();
    assert_eq!(launched, ["t-0", "t-1"]);

    // A second offer takes the third task.
    script
        .offer(&fw, "o2", "agent-b", "batch", &resources)
        .unwrap();
    let accepted = script.expect_accept().await.unwrap();
    assert_eq!(accepted.tasks.len(), 1);
    assert_eq!(accepted.tasks[0].as_str(), "t-2");

    for state in [TaskState::Starting, TaskState::Running] {
        let uuid = script.update(&task("t-0"), "agent-a", state).unwrap();
        script.expect_ack(&task("t-0"), &uuid).await.unwrap();
    }
    assert_eq!(
        seen.lock().unwrap().states["t-0"],
        [TaskState::Starting, TaskState::Running]
    );

    // Restart the framework with what it persisted (its id and its tasks'
    // states): it subscribes again with the same id, and the script goes on.
    driver.stop();
    assert_eq!(run.await.unwrap().unwrap(), corral::Stopped::Detached);
    let persisted = seen.lock().unwrap().states.clone();
    let (mut restarted, seen_again) = Workload::new(vec![]);
    seen_again.lock().unwrap().states = persisted;
    restarted.pending.clear();
    let framework = Framework::new(
        info("scripted", "batch").with_id("fw-1"),
        script.transport(),
    );
    let run = tokio::spawn(framework.run(restarted));
    let again = script.expect_subscribe(&fw).await.unwrap();
    assert_eq!(again.framework.id, Some(fw.clone()), "{again:?}");
    let uuid = script
        .update(&task("t-0"), "agent-a", TaskState::Finished)
        .unwrap();
    script.expect_ack(&task("t-0"), &uuid).await.unwrap();
    assert_eq!(
        seen_again.lock().unwrap().last("t-0"),
        Some(TaskState::Finished)
    );
    run.abort();
}

/// Kills every task it hears is running, with a 7 s grace period.
struct Killer;

#[async_trait]
impl Scheduler for Killer {
    async fn offers(&mut self, _: &dyn Driver, offers: Vec<Offer>) {
        let ids: Vec<&str> = offers.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["good-1", "good-2"], "only the readable offers");
    }

    async fn status_update(&mut self, driver: &dyn Driver, status: &TaskStatus) {
        if status.state == TaskState::Running {
            driver
                .kill(&status.task_id, Some(Duration::from_secs(7)))
                .await
                .expect("kill");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_scripted_kill_is_a_typed_call_with_its_task_and_grace() {
    let script = Script::new();
    script.ignore(&[CallKind::Reconcile, CallKind::Acknowledge]);
    let framework = Framework::new(info("killer", "batch"), script.transport());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run(Killer));
    let fw = FrameworkId::new("fw-1");
    script.expect_subscribe(&fw).await.unwrap();

    // One malformed offer among good ones, as a transport yields it: the
    // good ones are shown, the bad one declined by its id.
    let good = |id: &str| Offer::new(id, "agent-a", Resources::new().with_cpus(1.0));
    script
        .send(MasterEvent::Offers {
            offers: vec![good("good-1"), good("good-2")],
            malformed: vec![MalformedItem::new(
                Some("bad-1".into()),
                ProtocolError::new("offer resources", "a negative cpus"),
            )],
        })
        .unwrap();
    // The bad one at once, the good ones when the handler left them.
    for ids in [vec!["bad-1"], vec!["good-1", "good-2"]] {
        let declined = script.expect(CallKind::Decline).await.unwrap();
        let Call::Decline { offers, .. } = &declined else {
            panic!("{declined:?}")
        };
        let got: Vec<&str> = offers.iter().map(|o| o.as_str()).collect();
        assert_eq!(got, ids);
    }

    script
        .update(&task("t-0"), "agent-a", TaskState::Running)
        .unwrap();
    let kill = script.expect(CallKind::Kill).await.unwrap();
    assert_eq!(
        kill,
        Call::Kill {
            task: TaskId::from("t-0"),
            agent: Some("agent-a".into()),
            grace: Some(Duration::from_secs(7)),
        }
    );
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_script_reports_an_unexpected_call() {
    let script = Script::new();
    let (workload, _) = Workload::new(vec![]);
    let framework = Framework::new(info("s", "batch"), script.transport());
    let run = tokio::spawn(framework.run(workload));
    script
        .expect_subscribe(&FrameworkId::new("f"))
        .await
        .unwrap();
    // The runtime reconciles first; the script did not ignore it.
    let err = script.expect(CallKind::Accept).await.unwrap_err();
    assert!(err.to_string().contains("RECONCILE"), "{err}");
    run.abort();
}

#[tokio::test(start_paused = true)]
async fn settling_fails_when_a_framework_leaves_updates_unacknowledged() {
    let config = MasterConfig::default()
        .agents(1, Resources::parse("cpus:4;mem:4096").unwrap())
        .seed(1);
    let mut cluster = Cluster::start(config).await.unwrap();
    let (workload, _) = Workload::new(jobs("t", 1, 1.0, Some(100)));
    let explicit = Config::default().with_ack_mode(AckMode::Explicit);
    // Explicit acks, and a workload that never sends them.
    let _fw = cluster
        .launch_with(info("lazy", "*"), explicit, workload)
        .await;
    cluster.advance(Duration::from_secs(5)).await;
    let err = cluster.check_settled().unwrap_err();
    assert!(err.contains("unacknowledged"), "{err}");
}
