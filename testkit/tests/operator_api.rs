//! The operator API: the `corral.v1.Operator` gRPC service over a real TCP
//! socket on loopback (set a quota, read it back, be refused with a useful
//! status), over in-memory pipes with a framework watching its offers, and
//! the test harness's operator methods mid-scenario.

mod support;

#[path = "master_support.rs"]
mod master_support;

use corral_proto::convert::*;
use std::time::Duration;

use corral::{AgentId, Resources, Role, TaskState};
use corral_proto::pb::event::Type as EventType;
use corral_testkit::allocator::Quota;
use corral_testkit::master::{MasterConfig, MockMaster, OperatorError};
use corral_testkit::Cluster;
use tonic::Code;

fn res(text: &str) -> Resources {
    Resources::parse(text).expect("test resources parse")
}

#[tokio::test]
async fn set_a_quota_over_tcp_and_read_it_back() {
    let config = MasterConfig::default().agents(1, res("cpus:4;mem:4096"));
    let master = MockMaster::start(config).await.expect("master listens");
    let addr = master.addr().expect("a TCP master has an address");
    assert!(addr.ip().is_loopback() && addr.port() != 0);

    let run = async {
        let mut operator = master.operator().await.expect("operator client");
        let eng = Role::new("eng");
        let quota = Quota {
            guarantee: res("cpus:2;mem:1024"),
            limit: Some(res("cpus:3")),
        };
        operator.set_quota(&eng, &quota).await.expect("quota set");
        operator.set_weight(&eng, 2.5).await.expect("weight set");
        let listed = operator
            .role(&eng)
            .await
            .expect("roles")
            .expect("eng listed");
        assert_eq!(listed.quota, Some(quota));
        assert_eq!(listed.weight, 2.5);

        // A guarantee above its limit: INVALID_ARGUMENT, saying why.
        let bad = Quota {
            guarantee: res("cpus:5"),
            limit: Some(res("cpus:3")),
        };
        let err = operator.set_quota(&eng, &bad).await.unwrap_err();
        assert_eq!(err.code(), Some(Code::InvalidArgument), "{err}");
        assert!(
            err.to_string().contains("invalid quota for role eng"),
            "{err}"
        );
        assert!(err.to_string().contains("exceeds its limit"), "{err}");
        let err = operator
            .set_weight(&Role::new("a b"), 1.0)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(Code::InvalidArgument), "{err}");
        let err = operator.remove_quota(&Role::new("ops")).await.unwrap_err();
        assert_eq!(err.code(), Some(Code::NotFound), "{err}");
        let err = operator
            .reserve(&AgentId::new("agent-0"), &eng, &res("cpus:9"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(Code::FailedPrecondition), "{err}");

        // Nothing refused changed the quota.
        let listed = operator
            .role(&eng)
            .await
            .expect("roles")
            .expect("eng listed");
        assert_eq!(
            listed.quota.map(|q| q.guarantee),
            Some(res("cpus:2;mem:1024"))
        );
        operator.remove_quota(&eng).await.expect("quota removed");
        let listed = operator
            .role(&eng)
            .await
            .expect("roles")
            .expect("eng listed");
        assert_eq!(listed.quota, None);
    };
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the calls finish in time");
    tokio::time::timeout(Duration::from_secs(10), master.shutdown())
        .await
        .expect("shutdown in time")
        .expect("clean shutdown");
}

#[tokio::test(start_paused = true)]
async fn a_reservation_rescinds_and_reoffers_only_to_its_role() {
    use master_support::{framework_info, kind, Sched};

    let config = MasterConfig::default()
        .agents(1, res("cpus:4;mem:4096"))
        .seed(3);
    let master = MockMaster::start_in_memory(config).await.expect("master");
    let mut web = Sched::subscribe(&master, framework_info("web", &["web"], &[]), &[]).await;
    let first = web.next_offer().await;
    assert_eq!(
        Resources::from_pb(&first.resources).unwrap().unallocated(),
        res("cpus:4;mem:4096")
    );

    let mut operator = master.operator().await.expect("operator client");
    let agent = AgentId::new("agent-0");
    operator
        .reserve(&agent, &Role::new("eng"), &res("cpus:1;mem:512"))
        .await
        .expect("reserved");
    let rescind = web.next().await;
    assert_eq!(kind(&rescind), EventType::Rescind, "{rescind:?}");
    let again = web.next_offer().await;
    assert_eq!(
        Resources::from_pb(&again.resources).unwrap().unallocated(),
        res("cpus:3;mem:3584")
    );
    let agents = operator.agents().await.expect("agents");
    assert_eq!(agents[0].reserved, res("cpus(eng):1;mem(eng):512"));

    let mut eng = Sched::subscribe(&master, framework_info("eng", &["eng"], &[]), &[]).await;
    let reserved = eng.next_offer().await;
    assert_eq!(
        Resources::from_pb(&reserved.resources)
            .unwrap()
            .unallocated(),
        res("cpus(eng):1;mem(eng):512")
    );
    let roles = operator.roles().await.expect("roles");
    let eng_role = roles
        .iter()
        .find(|r| r.role.as_str() == "eng")
        .expect("eng");
    assert_eq!(eng_role.reserved, res("cpus(eng):1;mem(eng):512"));
    assert_eq!(eng_role.allocated, res("cpus(eng):1;mem(eng):512"));
    master.shutdown().await.expect("clean shutdown");
}

#[tokio::test(start_paused = true)]
async fn the_harness_reserves_and_unreserves_mid_scenario() {
    use support::{info, jobs, Workload};

    let config = MasterConfig::default()
        .agents(1, res("cpus:4;mem:4096"))
        .allocation_interval(Duration::from_millis(100))
        .seed(11);
    let mut cluster = Cluster::start(config).await.expect("cluster");
    let agent = AgentId::new("agent-0");
    let ops = Role::new("ops");
    cluster
        .reserve(&agent, &ops, &res("cpus:2;mem:512"))
        .expect("reserved");
    let err = cluster.reserve(&agent, &ops, &res("cpus:3")).unwrap_err();
    assert!(matches!(err, OperatorError::NotAvailable { .. }), "{err}");

    // Four one-cpu tasks of role `batch`: only the two unreserved cpus are
    // offered to it.
    let (workload, seen) = Workload::new(jobs("t", 4, 1.0, None));
    let _fw = cluster.launch(info("batch", "batch"), workload).await;
    let running = |state: &corral_testkit::MasterState| {
        state
            .tasks
            .iter()
            .filter(|t| t.state == corral::TaskState::Running)
            .count()
    };
    cluster
        .run_until(Duration::from_secs(10), |state, _| running(state) == 2)
        .await;
    cluster.advance(Duration::from_secs(30)).await;
    assert_eq!(
        running(&cluster.state()),
        2,
        "the reserved cpus stay with ops"
    );

    cluster
        .unreserve(&agent, &res("cpus(ops):2;mem(ops):512"))
        .expect("unreserved");
    cluster
        .run_until(Duration::from_secs(60), |state, _| running(state) == 4)
        .await;
    assert_eq!(seen.lock().unwrap().last("t-3"), Some(TaskState::Running));

    let actions = cluster.trace().operator_actions().join("\n");
    assert!(
        actions.contains("reserve cpus:2;mem:512 of agent-0 for ops"),
        "{actions}"
    );
    assert!(
        actions.contains("refused: agent agent-0 does not have"),
        "{actions}"
    );
    assert!(
        actions.contains("unreserve cpus(ops):2;mem(ops):512 of agent-0"),
        "{actions}"
    );
    assert!(cluster.trace().dump().contains("** operator: "));
    assert_eq!(
        cluster.agent_resources(&agent).expect("agent").reserved,
        Resources::new()
    );
    cluster.check().expect("invariants held");
}

#[tokio::test(start_paused = true)]
async fn maintenance_is_scheduled_over_grpc_and_frameworks_are_asked_first() {
    use master_support::{accept_call, framework_info, kind, launch, task, Sched};

    let config = MasterConfig::default()
        .agents(1, res("cpus:4;mem:4096"))
        .seed(5);
    let master = MockMaster::start_in_memory(config).await.expect("master");
    let mut web = Sched::subscribe(&master, framework_info("web", &["web"], &[]), &[]).await;
    let offer = web.next_offer().await;
    let id = web.id.clone();
    web.send(accept_call(
        &id,
        &[&offer.id],
        vec![launch(vec![task("t", &offer, "cpus:1", &[])])],
        None,
    ))
    .await
    .expect("launched");

    let mut operator = master.operator().await.expect("operator client");
    let agent = AgentId::new("agent-0");
    operator
        .schedule_maintenance(
            &agent,
            Duration::from_secs(10),
            Some(Duration::from_secs(60)),
        )
        .await
        .expect("scheduled");
    let inverse = loop {
        let event = web.next().await;
        if kind(&event) == EventType::InverseOffers {
            break event
                .inverse_offers
                .expect("payload")
                .inverse_offers
                .remove(0);
        }
    };
    assert_eq!(
        inverse.agent_id.as_ref().map(|a| a.value.as_str()),
        Some("agent-0")
    );
    assert!(inverse.resources.is_empty(), "the whole agent");
    assert!(
        inverse.revoked_task_ids.is_empty(),
        "not a revocation notice"
    );
    assert_eq!(
        inverse.unavailability.duration.map(|d| d.nanoseconds),
        Some(60_000_000_000)
    );

    // Refusals say why, with the right codes, and change nothing.
    let err = operator
        .schedule_maintenance(&AgentId::new("nope"), Duration::ZERO, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(Code::NotFound), "{err}");
    let err = operator
        .schedule_maintenance(&agent, Duration::ZERO, Some(Duration::ZERO))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(Code::InvalidArgument), "{err}");
    assert!(err.to_string().contains("zero duration"), "{err}");
    operator.end_maintenance(&agent).await.expect("cancelled");
    let err = operator.end_maintenance(&agent).await.unwrap_err();
    assert_eq!(err.code(), Some(Code::NotFound), "{err}");
    assert!(err.to_string().contains("no maintenance"), "{err}");
    master.shutdown().await.expect("clean shutdown");
}
