//! Unit tests of the operator methods on the pure core: each refusal (and
//! that it changes nothing), and each change showing in the next
//! allocation.

use corral_proto::convert::*;
use std::time::Duration;

use corral::{AgentId, FrameworkId, FrameworkInfo, Resources, Role};
use corral_proto::pb;
use corral_proto::pb::call::Type as CallType;
use corral_proto::pb::event::Type as EventType;

use super::{OperatorError, OperatorErrorKind};
use crate::allocator::Quota;
use crate::master::outbox::encode;
use crate::master::AgentSpec;
use crate::master::{ConfigError, MasterConfig, MasterCore, Outgoing, StreamId};

const T0: Duration = Duration::ZERO;

fn res(text: &str) -> Resources {
    Resources::parse(text).expect("test resources parse")
}

fn role(name: &str) -> Role {
    Role::new(name)
}

fn agent0() -> AgentId {
    AgentId::new("agent-0")
}

fn core_with(agent: &str) -> MasterCore {
    let config = MasterConfig::default().agents(1, res(agent)).seed(5);
    MasterCore::new(config).expect("valid config")
}

/// Subscribes a framework with `roles`; returns its id and stream.
fn subscribe(
    core: &mut MasterCore,
    now: Duration,
    name: &str,
    roles: &[&str],
) -> (FrameworkId, StreamId) {
    let call = pb::Call {
        r#type: Some(CallType::Subscribe as i32),
        subscribe: Some(pb::call::Subscribe {
            framework_info: FrameworkInfo::new(name)
                .with_roles(roles.iter().copied())
                .to_pb(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let sub = core.subscribe(now, call).expect("subscribed");
    (sub.framework.expect("accepted"), sub.stream)
}

/// The events of one kind put on `stream`, taken from the outbox.
fn events(core: &mut MasterCore, stream: &StreamId, kind: EventType) -> Vec<pb::Event> {
    core.take_outbox()
        .into_iter()
        .filter_map(|o| match o {
            Outgoing::Event { stream: s, event } if &s == stream => Some(encode(&event)),
            _ => None,
        })
        .filter(|e| e.r#type == Some(kind as i32))
        .collect()
}

fn offered(events: &[pb::Event]) -> Vec<Resources> {
    events
        .iter()
        .flat_map(|e| e.offers.iter().flat_map(|o| o.offers.iter()))
        .map(|o| {
            Resources::from_pb(&o.resources)
                .expect("offer resources")
                .unallocated()
        })
        .collect()
}

/// What an operator can see, to check a refusal changed nothing.
fn books(core: &MasterCore) -> impl PartialEq + std::fmt::Debug {
    let offers: Vec<_> = core.offers.iter().cloned().collect();
    (core.roles(), core.all_agent_resources(), offers)
}

fn quota(guarantee: &str, limit: Option<&str>) -> Quota {
    Quota {
        guarantee: res(guarantee),
        limit: limit.map(res),
    }
}

#[test]
fn weights_are_set_and_bad_ones_refused() {
    let mut core = core_with("cpus:4;mem:4096");
    core.set_weight(T0, &role("eng"), 3.0).expect("weight set");
    let eng = core.role_info(role("eng"));
    assert_eq!(eng.weight, 3.0);
    let before = books(&core);
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let err = core.set_weight(T0, &role("eng"), bad).unwrap_err();
        assert!(matches!(err, OperatorError::InvalidWeight { .. }), "{err}");
        assert_eq!(err.kind(), OperatorErrorKind::InvalidArgument);
    }
    let err = core.set_weight(T0, &role("eng//web"), 2.0).unwrap_err();
    assert!(matches!(err, OperatorError::InvalidRole { .. }), "{err}");
    assert!(err.to_string().contains("eng//web"), "{err}");
    assert_eq!(books(&core), before);
}

#[test]
fn a_new_weight_steers_the_next_allocations() {
    // Agents of one cpu each join one by one; each goes whole to the role
    // with the lower weighted share. Equal weights would split them 2/2;
    // weight 3 for `big` gives it three of the four.
    let mut core = MasterCore::new(MasterConfig::default().seed(5)).expect("valid config");
    let (small, _) = subscribe(&mut core, T0, "small", &["small"]);
    let (big, _) = subscribe(&mut core, T0, "big", &["big"]);
    core.set_weight(T0, &role("big"), 3.0).expect("weight set");
    for i in 0..4 {
        let spec = AgentSpec::new(format!("agent-{i}"), res("cpus:1;mem:256"));
        core.add_agent(T0, spec).expect("agent added");
    }
    assert_eq!(core.allocator.allocated(&small).cpus(), 1.0);
    assert_eq!(core.allocator.allocated(&big).cpus(), 3.0);
    let big_role = core.role_info(role("big"));
    assert_eq!(big_role.weight, 3.0);
    assert!(
        (big_role.share - 0.75 / 3.0).abs() < 1e-9,
        "{}",
        big_role.share
    );
}

#[test]
fn quota_is_set_read_back_and_removed() {
    let mut core = core_with("cpus:4;mem:4096");
    let q = quota("cpus:2", Some("cpus:3;mem:2048"));
    core.set_quota(T0, &role("eng"), q.clone())
        .expect("quota set");
    let listed = core.roles();
    let eng = listed
        .iter()
        .find(|r| r.role == role("eng"))
        .expect("eng listed");
    assert_eq!(eng.quota.as_ref(), Some(&q));
    core.remove_quota(T0, &role("eng")).expect("quota removed");
    assert_eq!(core.role_info(role("eng")).quota, None);
    let err = core.remove_quota(T0, &role("eng")).unwrap_err();
    assert_eq!(err, OperatorError::NoQuota(role("eng")));
    assert_eq!(err.kind(), OperatorErrorKind::NotFound);
}

#[test]
fn bad_quotas_are_refused_with_the_allocators_reason() {
    let mut core = core_with("cpus:4;mem:4096");
    core.set_quota(T0, &role("eng"), quota("cpus:2", Some("cpus:3")))
        .expect("quota set");
    let before = books(&core);
    let err = core
        .set_quota(T0, &role("eng"), quota("cpus:4", Some("cpus:3")))
        .unwrap_err();
    assert!(matches!(err, OperatorError::InvalidQuota { .. }), "{err}");
    assert!(err.to_string().contains("exceeds its limit"), "{err}");
    let err = core
        .set_quota(T0, &role("eng/web"), quota("cpus:1", Some("cpus:5")))
        .unwrap_err();
    assert!(err.to_string().contains("ancestor eng"), "{err}");
    let err = core
        .set_quota(T0, &role("*"), quota("cpus:1", None))
        .unwrap_err();
    assert_eq!(err, OperatorError::DefaultRole("have quota"));
    let err = core
        .set_quota(T0, &role("eng"), quota("ports:[1-2]", None))
        .unwrap_err();
    assert!(err.to_string().contains("not a scalar"), "{err}");
    assert_eq!(err.kind(), OperatorErrorKind::InvalidArgument);
    assert_eq!(books(&core), before);
    assert_eq!(
        core.role_info(role("eng")).quota,
        Some(quota("cpus:2", Some("cpus:3")))
    );
}

#[test]
fn a_new_limit_shows_in_the_next_allocation() {
    let mut core = core_with("cpus:4;mem:4096");
    let (fw, stream) = subscribe(&mut core, T0, "web", &["web"]);
    let first = offered(&events(&mut core, &stream, EventType::Offers));
    assert_eq!(first, [res("cpus:4;mem:4096")]);
    let offer = core.offers.iter().next().expect("an offer").id.clone();
    let decline = pb::Call {
        framework_id: Some(fw.to_pb()),
        r#type: Some(CallType::Decline as i32),
        decline: Some(pb::call::Decline {
            offer_ids: vec![offer.to_pb()],
            filters: Some(pb::Filters {
                refuse_seconds: Some(0.0),
            }),
        }),
        ..Default::default()
    };
    core.handle(T0, Some(stream.as_str()), decline)
        .expect("declined");
    core.set_quota(T0, &role("web"), quota("", Some("cpus:1")))
        .expect("limit set");
    // The decline's filter holds until the next cycle; then the limit shows.
    let later = Duration::from_millis(200);
    core.tick(later);
    let next = offered(&events(&mut core, &stream, EventType::Offers));
    assert_eq!(next.len(), 1, "{next:?}");
    assert_eq!(next[0].cpus(), 1.0);
    core.check_invariants().expect("invariants");
}

#[test]
fn reserving_rescinds_offers_and_reoffers_to_the_role_only() {
    let mut core = core_with("cpus:4;mem:4096");
    let (_, web) = subscribe(&mut core, T0, "web", &["web"]);
    let _ = core.take_outbox();
    assert_eq!(core.offers.iter().count(), 1);
    core.reserve(T0, &agent0(), &role("eng"), &res("cpus:2;mem:1024"))
        .expect("reserved");
    let outbox = core.take_outbox();
    let on_web = |kind: EventType| {
        outbox
            .iter()
            .filter(|o| {
                matches!(o, Outgoing::Event { stream, event }
                if stream == &web && encode(event).r#type == Some(kind as i32))
            })
            .count()
    };
    assert_eq!(on_web(EventType::Rescind), 1, "the offer was rescinded");
    assert_eq!(on_web(EventType::Offers), 1, "and the rest re-offered");
    let offers: Vec<_> = core.offers.iter().collect();
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].resources.unallocated(), res("cpus:2;mem:3072"));

    let agent = core.agent_resources(&agent0()).expect("agent");
    assert_eq!(agent.reserved, res("cpus(eng):2;mem(eng):1024"));
    assert_eq!(
        agent.total,
        res("cpus:2;mem:3072;cpus(eng):2;mem(eng):1024")
    );
    assert_eq!(
        core.role_info(role("eng")).reserved,
        res("cpus(eng):2;mem(eng):1024")
    );

    // A framework of the role gets the reserved part.
    let (_, eng) = subscribe(&mut core, T0, "eng", &["eng"]);
    let got = offered(&events(&mut core, &eng, EventType::Offers));
    assert_eq!(got, [res("cpus(eng):2;mem(eng):1024")]);
    core.check_invariants().expect("invariants");
    let state = core.state(T0);
    assert_eq!(state.agents[0].total, agent.total);
}

/// What a refusal must look like.
type Expect = fn(&OperatorError) -> bool;

#[test]
fn bad_reservations_are_refused_and_change_nothing() {
    let mut core = core_with("cpus:4;mem:4096");
    let _ = subscribe(&mut core, T0, "web", &["web"]);
    let _ = core.take_outbox();
    let before = books(&core);
    let cases: Vec<(AgentId, Role, Resources, Expect)> = vec![
        (AgentId::new("nope"), role("eng"), res("cpus:1"), |e| {
            matches!(e, OperatorError::UnknownAgent(_))
        }),
        (agent0(), role("bad role"), res("cpus:1"), |e| {
            matches!(e, OperatorError::InvalidRole { .. })
        }),
        (agent0(), role("*"), res("cpus:1"), |e| {
            matches!(e, OperatorError::DefaultRole(_))
        }),
        (agent0(), role("eng"), Resources::new(), |e| {
            matches!(e, OperatorError::InvalidResources { .. })
        }),
        (agent0(), role("eng"), res("cpus(ops):1"), |e| {
            e.to_string().contains("already reserved for ops")
        }),
        (
            agent0(),
            role("eng"),
            res("cpus:1").allocated_to(&role("eng")),
            |e| e.to_string().contains("allocated to eng"),
        ),
        (agent0(), role("eng"), res("cpus:1").revocable(), |e| {
            e.to_string().contains("revocable")
        }),
        (agent0(), role("eng"), res("cpus:5"), |e| {
            matches!(e, OperatorError::NotAvailable { .. })
                && e.kind() == OperatorErrorKind::FailedPrecondition
        }),
        (agent0(), role("eng"), res("gpus:1"), |e| {
            matches!(e, OperatorError::NotAvailable { .. })
        }),
    ];
    for (agent, r, resources, expected) in cases {
        let err = core.reserve(T0, &agent, &r, &resources).unwrap_err();
        assert!(expected(&err), "{agent} {r} {resources}: {err}");
        assert!(core.take_outbox().is_empty(), "nothing sent for {err}");
        assert_eq!(books(&core), before, "unchanged after {err}");
    }
}

#[test]
fn resources_used_by_tasks_are_not_taken() {
    let mut core = core_with("cpus:4;mem:4096");
    let (fw, stream) = subscribe(&mut core, T0, "web", &["web"]);
    let _ = core.take_outbox();
    let offer = core.offers.iter().next().expect("an offer").clone();
    let task = pb::TaskInfo {
        name: "t".into(),
        task_id: pb::TaskId { value: "t".into() },
        agent_id: offer.agent.to_pb(),
        resources: res("cpus:3;mem:128").to_pb(),
        command: Some(pb::CommandInfo {
            value: Some("./run".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let accept = pb::Call {
        framework_id: Some(fw.to_pb()),
        r#type: Some(CallType::Accept as i32),
        accept: Some(pb::call::Accept {
            offer_ids: vec![offer.id.to_pb()],
            operations: vec![pb::offer::Operation {
                r#type: Some(pb::offer::operation::Type::Launch as i32),
                launch: Some(pb::offer::operation::Launch {
                    task_infos: vec![task],
                }),
                ..Default::default()
            }],
            filters: None,
        }),
        ..Default::default()
    };
    core.handle(T0, Some(stream.as_str()), accept)
        .expect("accepted");
    let later = Duration::from_millis(200);
    core.tick(later);
    let _ = core.take_outbox();
    let before = books(&core);
    let err = core
        .reserve(later, &agent0(), &role("eng"), &res("cpus:2"))
        .unwrap_err();
    assert!(matches!(err, OperatorError::NotAvailable { .. }), "{err}");
    assert!(err.to_string().contains("in use by tasks"), "{err}");
    assert!(core.take_outbox().is_empty(), "no offer rescinded");
    assert_eq!(books(&core), before);
    // What the task leaves free can be reserved.
    core.reserve(later, &agent0(), &role("eng"), &res("cpus:1"))
        .expect("the free cpu is reserved");
    core.check_invariants().expect("invariants");
}

#[test]
fn configured_reservations_are_unreserved() {
    let mut core = core_with("cpus:2;mem:1024;cpus(eng):2;mem(eng):1024");
    let before = books(&core);
    let err = core.unreserve(T0, &agent0(), &res("cpus:1")).unwrap_err();
    assert!(err.to_string().contains("not reserved"), "{err}");
    let err = core
        .unreserve(T0, &agent0(), &res("cpus(eng):3"))
        .unwrap_err();
    assert!(matches!(err, OperatorError::NotAvailable { .. }), "{err}");
    let err = core
        .unreserve(T0, &agent0(), &res("cpus(ops):1"))
        .unwrap_err();
    assert!(matches!(err, OperatorError::NotAvailable { .. }), "{err}");
    assert_eq!(books(&core), before);

    core.unreserve(T0, &agent0(), &res("cpus(eng):2"))
        .expect("unreserved");
    let agent = core.agent_resources(&agent0()).expect("agent");
    assert_eq!(agent.total, res("cpus:4;mem:1024;mem(eng):1024"));
    assert_eq!(agent.reserved, res("mem(eng):1024"));
    assert_eq!(agent.available, agent.total);
}

#[test]
fn a_lost_agent_cannot_change() {
    let mut core = core_with("cpus:4;mem:4096;cpus(eng):1");
    core.lose_agent(T0, &agent0()).expect("lost");
    let err = core
        .reserve(T0, &agent0(), &role("eng"), &res("cpus:1"))
        .unwrap_err();
    assert_eq!(err, OperatorError::AgentLost(agent0()));
    assert_eq!(err.kind(), OperatorErrorKind::FailedPrecondition);
    let err = core
        .unreserve(T0, &agent0(), &res("cpus(eng):1"))
        .unwrap_err();
    assert_eq!(err, OperatorError::AgentLost(agent0()));
    let agent = core.agent_resources(&agent0()).expect("agent");
    assert!(agent.lost && agent.available.is_empty());
    assert_eq!(agent.reserved, res("cpus(eng):1"));
    let err = core.agent_resources(&AgentId::new("nope")).unwrap_err();
    assert_eq!(err.kind(), OperatorErrorKind::NotFound);
}

#[test]
fn roles_list_what_each_role_holds() {
    let config = MasterConfig::default()
        .agents(1, res("cpus:4;mem:4096"))
        .role("eng/web", 2.0)
        .quota("eng", quota("cpus:1", None));
    let mut core = MasterCore::new(config).expect("valid config");
    let (fw, _) = subscribe(&mut core, T0, "web", &["eng/web"]);
    let names: Vec<String> = core.roles().iter().map(|r| r.role.to_string()).collect();
    assert_eq!(names, ["eng", "eng/web"]);
    let web = core.role_info(role("eng/web"));
    assert_eq!(web.weight, 2.0);
    assert_eq!(web.frameworks, [fw]);
    assert_eq!(web.allocated, res("cpus:4;mem:4096"));
    assert!(web.revocable.is_empty());
    assert!((web.share - 0.5).abs() < 1e-9, "{}", web.share);
    // The parent's view counts its subtree.
    let eng = core.role_info(role("eng"));
    assert_eq!(eng.allocated, res("cpus:4;mem:4096"));
    assert_eq!(eng.quota, Some(quota("cpus:1", None)));
    assert!(eng.frameworks.is_empty());
}

#[test]
fn configured_quotas_are_validated() {
    let good = MasterConfig::default().quota("eng", quota("cpus:1", Some("cpus:2")));
    assert_eq!(good.validate(), Ok(()));
    let bad = MasterConfig::default().quota("eng", quota("cpus:3", Some("cpus:2")));
    let err = bad.validate().unwrap_err();
    assert!(matches!(err, ConfigError::InvalidQuota { .. }), "{err}");
    assert!(err.to_string().contains("eng"), "{err}");
    assert!(matches!(
        MasterCore::new(bad),
        Err(ConfigError::InvalidQuota { .. })
    ));
    let star = MasterConfig::default().quota("*", quota("cpus:1", None));
    assert!(matches!(
        star.validate(),
        Err(ConfigError::InvalidQuota { .. })
    ));
    let children = MasterConfig::default()
        .quota("eng", quota("cpus:1", None))
        .quota("eng/web", quota("cpus:2", None));
    let err = children.validate().unwrap_err();
    assert!(err.to_string().contains("eng/web"), "{err}");
}
