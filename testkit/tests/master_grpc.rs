//! The mock master through gRPC (in-memory transport, paused clock): offers,
//! the simulated task lifecycle with reliable status updates, kills,
//! filters, suppression, reconciliation, framework updates, failover.

#[path = "master_support.rs"]
mod support;

use corral_proto::convert::*;
use std::collections::BTreeSet;
use std::time::Duration;

use corral::{Resources, Role, TaskId};
use corral_proto::pb;
use corral_proto::pb::call::Type as CallType;
use corral_proto::pb::event::Type as EventType;
use corral_proto::pb::framework_info::capability::Type as Capability;
use corral_proto::pb::task_status::{Reason, Source};
use corral_proto::pb::TaskState;
use corral_testkit::master::{MasterConfig, MockMaster};
use support::*;
use tokio::time::Instant;

const AGENT: &str = "cpus:4;mem:4096;ports:[31000-31009]";

fn config(agents: usize) -> MasterConfig {
    MasterConfig::default()
        .agents(agents, Resources::parse(AGENT).expect("agent resources"))
        .seed(7)
}

async fn start(config: MasterConfig) -> MockMaster {
    MockMaster::start_in_memory(config)
        .await
        .expect("master starts")
}

/// Launches one task on a fresh offer and returns the offer.
async fn launch_one(s: &mut Sched, id: &str, labels: &[(&str, &str)]) -> pb::Offer {
    let offer = s.next_offer().await;
    let fw = s.id.clone();
    let tasks = vec![task(id, &offer, "cpus:1;mem:128", labels)];
    s.send(accept_call(&fw, &[&offer.id], vec![launch(tasks)], None))
        .await
        .expect("accept");
    offer
}

/// Reads updates, acknowledging each, until `state`; returns that update.
async fn ack_until(s: &mut Sched, state: TaskState) -> pb::TaskStatus {
    loop {
        let update = s.next_update().await;
        s.ack(&update).await;
        if state_of(&update) == state {
            return update;
        }
    }
}

fn updates_in(events: &[pb::Event]) -> Vec<pb::TaskStatus> {
    events
        .iter()
        .filter(|e| kind(e) == EventType::Update)
        .map(|e| e.update.clone().expect("payload").status)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn multi_role_framework_gets_offers_for_each_role() {
    let master = start(config(2)).await;
    let info = framework_info("two-roles", &["a", "b"], &[Capability::MultiRole]);
    let mut s = Sched::subscribe(&master, info, &[]).await;
    let first = s.next_offer().await;
    let second = s.next_offer().await;
    let roles: BTreeSet<String> = [&first, &second]
        .iter()
        .map(|o| {
            o.allocation_info
                .clone()
                .and_then(|a| a.role)
                .expect("offer role")
        })
        .collect();
    assert_eq!(roles, BTreeSet::from(["a".to_owned(), "b".to_owned()]));
    assert_ne!(first.agent_id, second.agent_id);
    for offer in [&first, &second] {
        let role = offer
            .allocation_info
            .clone()
            .and_then(|a| a.role)
            .expect("role");
        let res = Resources::from_pb(&offer.resources).expect("offer resources");
        assert_eq!(
            res,
            Resources::parse(AGENT)
                .unwrap()
                .allocated_to(&Role::new(role))
        );
        assert!(offer.hostname.ends_with(".corral.test"));
    }
    let state = master.state().await.expect("state");
    assert_eq!(state.offers.len(), 2);
    let fw = state.framework(&s.id).expect("framework");
    assert!(fw.active);
    assert_eq!(fw.stream_id.as_deref(), Some(s.stream_id.as_str()));
    master.shutdown().await.expect("shutdown");
}

#[tokio::test(start_paused = true)]
async fn updates_are_resent_until_acknowledged_and_not_after() {
    let master = start(config(1)).await;
    let mut s = Sched::subscribe(&master, framework_info("life", &["web"], &[]), &[]).await;
    let offer = launch_one(&mut s, "t1", &[("corral.sim/duration", "250")]).await;
    let start = Instant::now();

    let staging = s.next_update().await;
    assert_eq!(state_of(&staging), TaskState::TaskStaging);
    assert_eq!(staging.uuid.as_ref().map(Vec::len), Some(16));
    assert_eq!(staging.agent_id, Some(offer.agent_id.clone()));
    assert_eq!(staging.source(), Source::Master);
    assert_eq!(staging.timestamp, Some(0.0));

    // Not acknowledged: the same update again after 10 s, then 20 s later.
    let again = s.next_update().await;
    assert_eq!(
        (again.uuid.clone(), start.elapsed()),
        (staging.uuid.clone(), Duration::from_secs(10))
    );
    let again = s.next_update().await;
    assert_eq!(
        (again.uuid.clone(), start.elapsed()),
        (staging.uuid.clone(), Duration::from_secs(30))
    );

    // Each ack releases the next state at once; they were generated on time.
    s.ack(&staging).await;
    let starting = s.next_update().await;
    assert_eq!(state_of(&starting), TaskState::TaskStarting);
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    assert_eq!(starting.timestamp, Some(0.01));
    assert_ne!(starting.uuid, staging.uuid);
    s.ack(&starting).await;
    let running = s.next_update().await;
    assert_eq!(state_of(&running), TaskState::TaskRunning);
    s.ack(&running).await;
    let finished = s.next_update().await;
    assert_eq!(state_of(&finished), TaskState::TaskFinished);
    assert_eq!(finished.timestamp, Some(0.27));
    s.ack(&finished).await;

    let later = s
        .events_until(Instant::now() + Duration::from_secs(1800))
        .await;
    assert!(
        updates_in(&later).is_empty(),
        "no update after the last ack: {later:?}"
    );
    let state = master.state().await.unwrap();
    let task = state.task(&s.id, &TaskId::new("t1")).expect("task kept");
    assert_eq!(task.state, corral::TaskState::Finished);
    assert_eq!(state.framework(&s.id).unwrap().pending_updates, 0);
    // Finished: only the outstanding offer holds the agent.
    let held: Resources = state
        .offers
        .iter()
        .fold(Resources::new(), |acc, o| acc + &o.resources.unallocated());
    assert_eq!(state.agents[0].allocated, held);
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn failing_task_ends_in_task_failed() {
    let master = start(config(1)).await;
    let mut s = Sched::subscribe(&master, framework_info("fail", &["web"], &[]), &[]).await;
    launch_one(
        &mut s,
        "t1",
        &[("corral.sim/duration", "5"), ("corral.sim/exit", "3")],
    )
    .await;
    let failed = ack_until(&mut s, TaskState::TaskFailed).await;
    assert_eq!(failed.source(), Source::Executor);
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn kill_with_killing_state_reports_killing_then_killed_within_grace() {
    let master = start(config(1)).await;
    let info = framework_info("killer", &["web"], &[Capability::TaskKillingState]);
    let mut s = Sched::subscribe(&master, info, &[]).await;
    launch_one(&mut s, "t1", &[("corral.sim/cleanup", "5000")]).await;
    ack_until(&mut s, TaskState::TaskRunning).await;
    let fw = s.id.clone();
    let start = Instant::now();
    s.send(kill_call(&fw, "t1", Some(Duration::from_secs(2))))
        .await
        .expect("kill");
    let killing = s.next_update().await;
    assert_eq!(
        (state_of(&killing), start.elapsed()),
        (TaskState::TaskKilling, Duration::ZERO)
    );
    s.ack(&killing).await;
    let killed = s.next_update().await;
    // min(cleanup 5 s, grace 2 s)
    assert_eq!(
        (state_of(&killed), start.elapsed()),
        (TaskState::TaskKilled, Duration::from_secs(2))
    );
    s.ack(&killed).await;

    // Killing a terminal task: accepted, no update.
    s.send(kill_call(&fw, "t1", None))
        .await
        .expect("kill again");
    let later = s
        .events_until(Instant::now() + Duration::from_secs(60))
        .await;
    assert!(updates_in(&later).is_empty(), "{later:?}");
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn kill_without_killing_state_reports_killed_only() {
    let master = start(config(1)).await;
    let mut s = Sched::subscribe(&master, framework_info("plain", &["web"], &[]), &[]).await;
    launch_one(&mut s, "t1", &[("corral.sim/cleanup", "300")]).await;
    ack_until(&mut s, TaskState::TaskRunning).await;
    let fw = s.id.clone();
    let start = Instant::now();
    // The task's own grace is absent and the call gives none: grace 0.
    s.send(kill_call(&fw, "t1", None)).await.expect("kill");
    let killed = s.next_update().await;
    assert_eq!(
        (state_of(&killed), start.elapsed()),
        (TaskState::TaskKilled, Duration::ZERO)
    );
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn task_group_launches_together_and_is_killed_together() {
    let master = start(config(1)).await;
    let mut s = Sched::subscribe(&master, framework_info("group", &["web"], &[]), &[]).await;
    let offer = s.next_offer().await;
    let fw = s.id.clone();
    let mut tasks = vec![
        task("g1", &offer, "cpus:1;mem:64", &[]),
        task("g2", &offer, "cpus:1;mem:64", &[]),
    ];
    for t in &mut tasks {
        t.command = None;
    }
    let group = pb::offer::Operation {
        r#type: Some(pb::offer::operation::Type::LaunchGroup as i32),
        launch_group: Some(pb::offer::operation::LaunchGroup {
            executor: pb::ExecutorInfo {
                executor_id: pb::ExecutorId {
                    value: "exec".into(),
                },
                resources: resources("cpus:0.5;mem:32"),
                ..Default::default()
            },
            task_group: pb::TaskGroupInfo { tasks },
        }),
        ..Default::default()
    };
    s.send(accept_call(&fw, &[&offer.id], vec![group], None))
        .await
        .expect("accept");
    let mut staged = BTreeSet::new();
    for _ in 0..2 {
        let update = s.next_update().await;
        assert_eq!(state_of(&update), TaskState::TaskStaging);
        assert_eq!(
            update.executor_id.as_ref().map(|e| e.value.as_str()),
            Some("exec")
        );
        staged.insert(update.task_id.value.clone());
        s.ack(&update).await;
    }
    assert_eq!(staged, BTreeSet::from(["g1".to_owned(), "g2".to_owned()]));
    let state = master.state().await.unwrap();
    assert_eq!(
        state.agents[0].allocated.cpus(),
        2.5 + state.offers.iter().map(|o| o.resources.cpus()).sum::<f64>()
    );
    s.send(kill_call(&fw, "g1", None)).await.expect("kill");
    let mut killed = BTreeSet::new();
    while killed.len() < 2 {
        let update = s.next_update().await;
        s.ack(&update).await;
        if state_of(&update) == TaskState::TaskKilled {
            killed.insert(update.task_id.value.clone());
        }
    }
    assert_eq!(killed, staged);
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn decline_filter_keeps_the_agent_away_until_it_expires() {
    let master = start(config(1)).await;
    let mut s = Sched::subscribe(&master, framework_info("picky", &["web"], &[]), &[]).await;
    let offer = s.next_offer().await;
    let fw = s.id.clone();
    let start = Instant::now();
    s.send(decline_call(&fw, &[&offer.id], Some(30.0)))
        .await
        .expect("decline");
    let again = s.next_offer().await;
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(30) && waited <= Duration::from_millis(30_100),
        "re-offered after {waited:?}"
    );
    assert_eq!(again.agent_id, offer.agent_id);
    assert_ne!(again.id, offer.id);
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn suppress_stops_offers_and_revive_brings_them_back_at_once() {
    let master = start(config(1)).await;
    let mut s = Sched::subscribe(&master, framework_info("quiet", &["web"], &[]), &[]).await;
    let offer = s.next_offer().await;
    let fw = s.id.clone();
    s.send(roles_call(&fw, CallType::Suppress, &[]))
        .await
        .expect("suppress");
    s.send(decline_call(&fw, &[&offer.id], Some(0.0)))
        .await
        .expect("decline");
    let quiet = s
        .events_until(Instant::now() + Duration::from_secs(600))
        .await;
    assert!(
        quiet.iter().all(|e| kind(e) == EventType::Heartbeat),
        "{quiet:?}"
    );
    let state = master.state().await.unwrap();
    assert_eq!(
        state.framework(&fw).unwrap().suppressed,
        BTreeSet::from([Role::new("web")])
    );

    let start = Instant::now();
    s.send(roles_call(&fw, CallType::Revive, &["web"]))
        .await
        .expect("revive");
    s.next_offer().await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert!(master
        .state()
        .await
        .unwrap()
        .framework(&fw)
        .unwrap()
        .suppressed
        .is_empty());
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn subscribing_suppressed_gets_no_offers_for_that_role() {
    let master = start(config(2)).await;
    let info = framework_info("half", &["a", "b"], &[Capability::MultiRole]);
    let mut s = Sched::subscribe(&master, info, &["b"]).await;
    let events = s
        .events_until(Instant::now() + Duration::from_secs(5))
        .await;
    let roles: BTreeSet<String> = events
        .iter()
        .filter_map(|e| e.offers.as_ref())
        .flat_map(|o| o.offers.iter())
        .filter_map(|o| o.allocation_info.clone().and_then(|a| a.role))
        .collect();
    assert_eq!(roles, BTreeSet::from(["a".to_owned()]));
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn reconciliation_answers_latest_states_without_uuid() {
    let master = start(config(1)).await;
    let mut s = Sched::subscribe(&master, framework_info("rec", &["web"], &[]), &[]).await;
    launch_one(&mut s, "t1", &[]).await;
    ack_until(&mut s, TaskState::TaskRunning).await;
    let fw = s.id.clone();

    s.send(reconcile_call(&fw, &[])).await.expect("implicit");
    let implicit = s.next_update().await;
    assert_eq!(
        (implicit.task_id.value.as_str(), state_of(&implicit)),
        ("t1", TaskState::TaskRunning)
    );
    assert_eq!(implicit.reason(), Reason::Reconciliation);
    assert_eq!(implicit.uuid, None);

    s.send(reconcile_call(&fw, &["t1", "ghost"]))
        .await
        .expect("explicit");
    let first = s.next_update().await;
    let second = s.next_update().await;
    assert_eq!(state_of(&first), TaskState::TaskRunning);
    assert_eq!(
        (second.task_id.value.as_str(), state_of(&second)),
        ("ghost", TaskState::TaskLost)
    );
    assert!([&first, &second]
        .iter()
        .all(|u| u.uuid.is_none() && u.reason() == Reason::Reconciliation));
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn update_framework_rescinds_offers_of_removed_roles_and_offers_new_ones() {
    let master = start(config(2)).await;
    let mut info = framework_info("shifty", &["a", "b"], &[Capability::MultiRole]);
    let mut s = Sched::subscribe(&master, info.clone(), &[]).await;
    let o1 = s.next_offer().await;
    let o2 = s.next_offer().await;
    let b_offer = [o1, o2]
        .into_iter()
        .find(|o| o.allocation_info.clone().and_then(|a| a.role).as_deref() == Some("b"))
        .expect("an offer for b");
    let fw = s.id.clone();
    info.id = Some(fw.to_pb());
    info.roles = vec!["a".into(), "c".into()];
    let update = pb::Call {
        update_framework: Some(pb::call::UpdateFramework {
            framework_info: info,
            suppressed_roles: vec![],
        }),
        ..call(&fw, CallType::UpdateFramework)
    };
    s.send(update).await.expect("update framework");
    let rescind = s.next().await;
    assert_eq!(kind(&rescind), EventType::Rescind);
    assert_eq!(rescind.rescind.unwrap().offer_id, b_offer.id);
    let offer = s.next_offer().await;
    assert_eq!(
        offer.allocation_info.and_then(|a| a.role).as_deref(),
        Some("c")
    );
    assert_eq!(offer.agent_id, b_offer.agent_id);
    let state = master.state().await.unwrap();
    let roles = &state.framework(&fw).unwrap().roles;
    assert_eq!(roles, &BTreeSet::from([Role::new("a"), Role::new("c")]));
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn heartbeats_and_offer_timeouts() {
    let master = start(config(1)).await;
    let mut s = Sched::subscribe(&master, framework_info("idle", &["web"], &[]), &[]).await;
    let offer = s.next_offer().await;
    let start = Instant::now();
    let events = s.events_until(start + Duration::from_millis(60_500)).await;
    let kinds: Vec<EventType> = events.iter().map(kind).collect();
    // Heartbeats at 15, 30, 45 and 60 s; the offer rescinded at 60 s and
    // offered again by the next allocation cycle.
    assert_eq!(
        kinds.iter().filter(|k| **k == EventType::Heartbeat).count(),
        4
    );
    let at = kinds
        .iter()
        .position(|k| *k == EventType::Rescind)
        .expect("rescind");
    assert_eq!(events[at].rescind.as_ref().unwrap().offer_id, offer.id);
    assert!(kinds[at..].contains(&EventType::Offers), "{kinds:?}");
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn failover_timeout_removes_a_disconnected_framework() {
    let master = start(config(1)).await;
    let mut info = framework_info("fragile", &["web"], &[]);
    info.failover_timeout = Some(5.0);
    let mut s = Sched::subscribe(&master, info.clone(), &[]).await;
    launch_one(&mut s, "t1", &[]).await;
    let fw = s.id.clone();
    drop(s);

    tokio::time::sleep(Duration::from_millis(4900)).await;
    let state = master.state().await.unwrap();
    let snapshot = state.framework(&fw).expect("still known");
    assert!(!snapshot.active);
    assert!(state.offers.is_empty(), "offers withdrawn on disconnect");
    assert!(state.task(&fw, &TaskId::new("t1")).is_some());

    tokio::time::sleep(Duration::from_millis(200)).await;
    let state = master.state().await.unwrap();
    assert!(state.framework(&fw).is_none());
    assert_eq!(state.removed_frameworks, vec![fw.clone()]);
    assert!(state.tasks.is_empty());
    assert!(state.agents[0].allocated.is_empty());

    // The id is gone for good: resubscribing gets ERROR and the stream ends.
    info.id = Some(fw.to_pb());
    let mut client = corral_testkit::wire::client(&master).await.unwrap();
    let mut events = client
        .subscribe(subscribe_call(info, &[]))
        .await
        .expect("stream")
        .into_inner();
    let error = events.message().await.unwrap().expect("error event");
    assert_eq!(kind(&error), EventType::Error);
    assert!(error.error.unwrap().message.contains(fw.as_str()));
    assert!(events.message().await.unwrap().is_none());
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn resubscribing_keeps_tasks_and_resends_pending_updates() {
    let master = start(config(1)).await;
    let mut info = framework_info("phoenix", &["web"], &[]);
    info.failover_timeout = Some(60.0);
    let mut s = Sched::subscribe(&master, info.clone(), &[]).await;
    launch_one(&mut s, "t1", &[]).await;
    let staging = s.next_update().await;
    let fw = s.id.clone();
    drop(s);
    tokio::time::sleep(Duration::from_secs(20)).await;

    info.id = Some(fw.to_pb());
    let mut s = Sched::subscribe(&master, info.clone(), &[]).await;
    assert_eq!(s.id, fw);
    let resent = s.next_update().await;
    assert_eq!(
        (state_of(&resent), resent.uuid.clone()),
        (TaskState::TaskStaging, staging.uuid)
    );
    ack_until(&mut s, TaskState::TaskRunning).await;

    // A second subscription with the same id closes the first stream.
    let mut newer = Sched::subscribe(&master, info, &[]).await;
    loop {
        match s.next_raw().await {
            None => break,
            Some(event) => assert_ne!(kind(&event), EventType::Update, "{event:?}"),
        }
    }
    let err = s
        .send(reconcile_call(&fw, &[]))
        .await
        .expect_err("old stream id");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    newer
        .send(reconcile_call(&fw, &[]))
        .await
        .expect("new stream id");
    let state = master.state().await.unwrap();
    assert_eq!(
        state.task(&fw, &TaskId::new("t1")).unwrap().state,
        corral::TaskState::Running
    );
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn teardown_removes_framework_tasks_and_stream() {
    let master = start(config(2)).await;
    let mut s = Sched::subscribe(&master, framework_info("bye", &["web"], &[]), &[]).await;
    launch_one(&mut s, "t1", &[]).await;
    let fw = s.id.clone();
    s.send(call(&fw, CallType::Teardown))
        .await
        .expect("teardown");
    let mut rescinded = 0;
    while let Some(event) = s.next_raw().await {
        if kind(&event) == EventType::Rescind {
            rescinded += 1;
        }
    }
    assert!(
        rescinded >= 1,
        "outstanding offers rescinded before the stream ends"
    );
    let state = master.state().await.unwrap();
    assert!(state.frameworks.is_empty() && state.tasks.is_empty() && state.offers.is_empty());
    assert!(state.agents.iter().all(|a| a.allocated.is_empty()));
    let err = s.send(reconcile_call(&fw, &[])).await.expect_err("gone");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn added_agent_is_offered_at_once_and_shutdown_ends_streams() {
    let master = start(MasterConfig::default().seed(1)).await;
    let mut s = Sched::subscribe(&master, framework_info("grow", &["web"], &[]), &[]).await;
    let agent = corral_testkit::master::AgentSpec::new(
        "late",
        Resources::parse("cpus:2;mem:1024").unwrap(),
    )
    .attribute("zone", "b");
    let start = Instant::now();
    master.add_agent(agent.clone()).await.expect("agent");
    let offer = s.next_offer().await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(offer.agent_id.value, "late");
    assert_eq!(offer.attributes[0].name, "zone");
    assert_eq!(offer.attributes[0].text.as_ref().unwrap().value, "b");
    assert!(
        master.add_agent(agent).await.is_err(),
        "duplicate agent refused"
    );
    master.shutdown().await.unwrap();
    assert!(s.next_raw().await.is_none(), "stream ends on shutdown");
}
