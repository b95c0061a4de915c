//! Every bad call of the contract gets its typed answer through gRPC: a
//! status code for refused calls, a TASK_ERROR / TASK_LOST / TASK_DROPPED
//! update for bad launches and kills, and the master's books stay intact.

#[path = "master_support.rs"]
mod support;

use corral::{Resources, TaskId};
use corral_proto::convert::*;
use corral_proto::pb;
use corral_proto::pb::call::Type as CallType;
use corral_proto::pb::framework_info::capability::Type as Capability;
use corral_proto::pb::task_status::Reason;
use corral_proto::pb::TaskState;
use corral_testkit::master::{MasterConfig, MockMaster, STREAM_ID_HEADER};
use support::*;
use tonic::{Code, Request};

fn config(agents: usize) -> MasterConfig {
    MasterConfig::default()
        .agents(
            agents,
            Resources::parse("cpus:4;mem:4096").expect("resources"),
        )
        .seed(3)
}

async fn setup(caps: &[Capability]) -> (MockMaster, Sched, pb::Offer) {
    let master = MockMaster::start_in_memory(config(1))
        .await
        .expect("master");
    let mut s = Sched::subscribe(&master, framework_info("bad", &["web"], caps), &[]).await;
    let offer = s.next_offer().await;
    (master, s, offer)
}

async fn launch_on(s: &mut Sched, offer: &pb::Offer, tasks: Vec<pb::TaskInfo>) {
    let fw = s.id.clone();
    s.send(accept_call(&fw, &[&offer.id], vec![launch(tasks)], None))
        .await
        .expect("accept is accepted");
}

fn message(status: &pb::TaskStatus) -> &str {
    status.message.as_deref().unwrap_or("")
}

#[tokio::test(start_paused = true)]
async fn decline_of_unknown_offer_is_not_found_and_the_rest_is_declined() {
    let (master, mut s, offer) = setup(&[]).await;
    let fw = s.id.clone();
    let ghost = pb::OfferId {
        value: "offer-999".into(),
    };
    let err = s
        .send(decline_call(&fw, &[&offer.id, &ghost], None))
        .await
        .expect_err("unknown");
    assert_eq!(err.code(), Code::NotFound);
    assert!(err.message().contains("offer-999"), "{}", err.message());
    assert!(
        master.state().await.unwrap().offers.is_empty(),
        "the valid offer was declined"
    );
    let err = s
        .send(decline_call(&fw, &[&offer.id], None))
        .await
        .expect_err("used");
    assert_eq!(err.code(), Code::NotFound);
    assert!(
        err.message().contains("already declined"),
        "{}",
        err.message()
    );
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn reused_offer_loses_the_tasks() {
    let (master, mut s, offer) = setup(&[]).await;
    launch_on(&mut s, &offer, vec![task("ok", &offer, "cpus:1", &[])]).await;
    let staging = s.next_update().await;
    assert_eq!(state_of(&staging), TaskState::TaskStaging);
    s.ack(&staging).await;
    launch_on(&mut s, &offer, vec![task("again", &offer, "cpus:1", &[])]).await;
    let lost = loop {
        let update = s.next_update().await;
        s.ack(&update).await;
        if update.task_id.value == "again" {
            break update;
        }
    };
    assert_eq!(state_of(&lost), TaskState::TaskLost);
    assert_eq!(lost.reason(), Reason::InvalidOffers);
    assert!(message(&lost).contains(&offer.id.value), "{lost:?}");
    assert!(master
        .state()
        .await
        .unwrap()
        .task(&s.id, &TaskId::new("again"))
        .is_none());
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn partition_aware_framework_gets_dropped_and_unknown() {
    let (master, mut s, offer) = setup(&[Capability::PartitionAware]).await;
    let fw = s.id.clone();
    let ghost = pb::OfferId {
        value: "nope".into(),
    };
    s.send(accept_call(
        &fw,
        &[&ghost],
        vec![launch(vec![task("t", &offer, "cpus:1", &[])])],
        None,
    ))
    .await
    .expect("accept");
    let dropped = s.next_update().await;
    assert_eq!(
        (state_of(&dropped), dropped.reason()),
        (TaskState::TaskDropped, Reason::InvalidOffers)
    );
    s.ack(&dropped).await;
    s.send(kill_call(&fw, "ghost", None)).await.expect("kill");
    let unknown = s.next_update().await;
    assert_eq!(
        (state_of(&unknown), unknown.reason()),
        (TaskState::TaskUnknown, Reason::TaskUnknown)
    );
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn resources_not_in_the_offer_are_a_task_error() {
    let (master, mut s, offer) = setup(&[]).await;
    launch_on(
        &mut s,
        &offer,
        vec![task("big", &offer, "cpus:64;mem:128", &[])],
    )
    .await;
    let error = s.next_update().await;
    assert_eq!(
        (state_of(&error), error.reason()),
        (TaskState::TaskError, Reason::TaskInvalid)
    );
    let text = message(&error);
    assert!(
        text.contains("asks for") && text.contains("cpus:64") && text.contains("left"),
        "{text}"
    );
    // Nothing was launched; the offer's resources went back.
    let state = master.state().await.unwrap();
    assert!(state.tasks.is_empty());
    assert!(state.agents[0].allocated.is_empty());
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn duplicate_task_id_is_a_task_error() {
    let (master, mut s, offer) = setup(&[]).await;
    let tasks = vec![
        task("dup", &offer, "cpus:1", &[]),
        task("dup", &offer, "cpus:1", &[]),
    ];
    launch_on(&mut s, &offer, tasks).await;
    let staging = s.next_update().await;
    assert_eq!(state_of(&staging), TaskState::TaskStaging);
    s.ack(&staging).await;
    // The duplicate's update queues behind the live task's updates.
    let mut states = Vec::new();
    while !states.contains(&TaskState::TaskError) {
        let update = s.next_update().await;
        s.ack(&update).await;
        if state_of(&update) == TaskState::TaskError {
            assert!(message(&update).contains("duplicate task id"), "{update:?}");
        }
        states.push(state_of(&update));
    }
    let state = master.state().await.unwrap();
    assert_ne!(
        state.task(&s.id, &TaskId::new("dup")).unwrap().state,
        corral::TaskState::Error
    );
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn roles_the_framework_is_not_subscribed_with_are_refused() {
    let (master, mut s, offer) = setup(&[]).await;
    let fw = s.id.clone();
    for kind in [CallType::Suppress, CallType::Revive] {
        let err = s
            .send(roles_call(&fw, kind, &["nope"]))
            .await
            .expect_err("unknown role");
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().contains("nope"));
    }
    let mut t = task("stranger", &offer, "cpus:1", &[]);
    for r in &mut t.resources {
        r.allocation_info = Some(pb::resource::AllocationInfo {
            role: Some("other".into()),
        });
    }
    launch_on(&mut s, &offer, vec![t]).await;
    let error = s.next_update().await;
    assert_eq!(state_of(&error), TaskState::TaskError);
    assert!(message(&error).contains("not subscribed"), "{error:?}");
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn kill_of_unknown_task_is_task_lost() {
    let (master, mut s, _offer) = setup(&[]).await;
    let fw = s.id.clone();
    s.send(kill_call(&fw, "ghost", None))
        .await
        .expect("kill accepted");
    let lost = s.next_update().await;
    assert_eq!(
        (state_of(&lost), lost.reason()),
        (TaskState::TaskLost, Reason::TaskUnknown)
    );
    assert!(message(&lost).contains("ghost"));
    assert!(
        lost.uuid.is_some(),
        "a master-generated update, acknowledged like any other"
    );
    s.ack(&lost).await;
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn acknowledging_an_unknown_uuid_is_not_found() {
    let (master, mut s, offer) = setup(&[]).await;
    launch_on(&mut s, &offer, vec![task("t", &offer, "cpus:1", &[])]).await;
    let staging = s.next_update().await;
    let mut forged = staging.clone();
    forged.uuid = Some(vec![0; 16]);
    let fw = s.id.clone();
    let err = s
        .send(ack_call(&fw, &forged))
        .await
        .expect_err("unknown uuid");
    assert_eq!(err.code(), Code::NotFound);
    forged.uuid = Some(vec![1, 2, 3]);
    let err = s
        .send(ack_call(&fw, &forged))
        .await
        .expect_err("short uuid");
    assert_eq!(err.code(), Code::InvalidArgument);
    s.ack(&staging).await;
    let err = s
        .send(ack_call(&fw, &staging))
        .await
        .expect_err("acked twice");
    assert_eq!(err.code(), Code::NotFound);
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn stream_id_and_framework_id_are_checked() {
    let (master, mut s, _offer) = setup(&[]).await;
    let fw = s.id.clone();
    let mut client = corral_testkit::wire::client(&master).await.unwrap();

    let err = client
        .send(reconcile_call(&fw, &[]))
        .await
        .expect_err("no stream id");
    assert_eq!(err.code(), Code::InvalidArgument);

    let mut wrong = Request::new(reconcile_call(&fw, &[]));
    wrong
        .metadata_mut()
        .insert(STREAM_ID_HEADER, "stream-999".parse().unwrap());
    let err = client.send(wrong).await.expect_err("wrong stream id");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(err.message().starts_with("framework is not subscribed"));

    let mut anonymous = reconcile_call(&fw, &[]);
    anonymous.framework_id = None;
    let err = s.send(anonymous).await.expect_err("no framework id");
    assert_eq!(err.code(), Code::InvalidArgument);

    let mut stranger = reconcile_call(&fw, &[]);
    stranger.framework_id = Some(pb::FrameworkId {
        value: "someone-else".into(),
    });
    let err = s.send(stranger).await.expect_err("unknown framework");
    assert_eq!(err.code(), Code::PermissionDenied);

    let mut subscribe = Request::new(subscribe_call(framework_info("x", &["web"], &[]), &[]));
    subscribe
        .metadata_mut()
        .insert(STREAM_ID_HEADER, s.stream_id.parse().unwrap());
    let err = client
        .subscribe(subscribe)
        .await
        .expect_err("subscribe with stream id");
    assert_eq!(err.code(), Code::InvalidArgument);

    let as_send = subscribe_call(framework_info("x", &["web"], &[]), &[]);
    let err = s.send(as_send).await.expect_err("SUBSCRIBE through Send");
    assert_eq!(err.code(), Code::InvalidArgument);
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_malformed_reservation_is_refused_and_unsupported_calls_are_unimplemented() {
    let (master, mut s, offer) = setup(&[]).await;
    let fw = s.id.clone();
    let reserve = pb::offer::Operation {
        r#type: Some(pb::offer::operation::Type::Reserve as i32),
        reserve: Some(pb::offer::operation::Reserve {
            resources: resources("cpus:1"),
        }),
        ..Default::default()
    };
    // A RESERVE that names no role: the whole ACCEPT is refused.
    let with_launch = vec![launch(vec![task("t", &offer, "cpus:1", &[])]), reserve];
    let err = s
        .send(accept_call(&fw, &[&offer.id], with_launch, None))
        .await
        .expect_err("reserve");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("names no reservation"), "{err}");
    let state = master.state().await.unwrap();
    assert_eq!(state.offers.len(), 1, "nothing touched");
    assert!(state.tasks.is_empty());

    for kind in [CallType::Shutdown, CallType::Message, CallType::Unknown] {
        let err = s.send(call(&fw, kind)).await.expect_err("unsupported");
        assert_eq!(err.code(), Code::Unimplemented, "{kind:?}");
    }
    let inverse = pb::Call {
        decline_inverse_offers: Some(pb::call::DeclineInverseOffers {
            inverse_offer_ids: vec![pb::OfferId {
                value: "inv-1".into(),
            }],
            filters: None,
        }),
        ..call(&fw, CallType::DeclineInverseOffers)
    };
    assert_eq!(
        s.send(inverse).await.expect_err("unknown").code(),
        Code::NotFound
    );
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn bad_framework_infos_are_invalid_arguments() {
    let master = MockMaster::start_in_memory(config(1)).await.unwrap();
    let mut client = corral_testkit::wire::client(&master).await.unwrap();
    let mut no_user = framework_info("x", &["web"], &[]);
    no_user.user.clear();
    let cases = [
        (no_user, vec![]),
        (framework_info("", &["web"], &[]), vec![]),
        (framework_info("x", &["a", "b"], &[]), vec![]),
        (framework_info("x", &["bad role"], &[]), vec![]),
        (framework_info("x", &["web"], &[]), vec!["db"]),
    ];
    for (info, suppressed) in cases {
        let err = client
            .subscribe(subscribe_call(info.clone(), &suppressed))
            .await
            .expect_err("invalid FrameworkInfo");
        assert_eq!(err.code(), Code::InvalidArgument, "{info:?}");
    }
    assert!(master.state().await.unwrap().frameworks.is_empty());
    master.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn update_framework_cannot_change_the_user() {
    let (master, mut s, _offer) = setup(&[]).await;
    let fw = s.id.clone();
    let mut info = framework_info("bad", &["web"], &[]);
    info.id = Some(fw.to_pb());
    info.user = "root".into();
    let update = pb::Call {
        update_framework: Some(pb::call::UpdateFramework {
            framework_info: info,
            suppressed_roles: vec![],
        }),
        ..call(&fw, CallType::UpdateFramework)
    };
    let err = s.send(update).await.expect_err("user change");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("user"));
    master.shutdown().await.unwrap();
}
