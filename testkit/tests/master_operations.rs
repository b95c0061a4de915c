//! RESERVE and UNRESERVE inside ACCEPT, the REQUEST call, and tasks that
//! mix regular and revocable resources, on the pure `MasterCore` with
//! explicit time.

#[path = "master_support.rs"]
mod support;

use corral_proto::convert::*;
use std::time::Duration;

use corral::{FrameworkId, Resources, Role};
use corral_proto::pb;
use corral_proto::pb::call::Type as CallType;
use corral_proto::pb::TaskState;
use corral_testkit::master::outbox::encode;
use corral_testkit::master::{CallError, MasterConfig, MasterCore, Outgoing, StreamId};
use support::*;

fn core() -> MasterCore {
    let config = MasterConfig::default()
        .agents(1, Resources::parse("cpus:4;mem:1024").unwrap())
        .allocation_interval(Duration::from_millis(100))
        .seed(1);
    MasterCore::new(config).unwrap()
}

fn subscribe(core: &mut MasterCore, name: &str, role: &str) -> (FrameworkId, StreamId) {
    let sub = core
        .subscribe(
            Duration::ZERO,
            subscribe_call(framework_info(name, &[role], &[]), &[]),
        )
        .unwrap();
    (sub.framework.unwrap(), sub.stream)
}

fn offers_on(outbox: &[Outgoing], stream: &StreamId) -> Vec<pb::Offer> {
    outbox
        .iter()
        .filter_map(|o| match o {
            Outgoing::Event { stream: s, event } if s == stream => encode(event).offers,
            _ => None,
        })
        .flat_map(|o| o.offers)
        .collect()
}

fn updates_on(outbox: &[Outgoing], stream: &StreamId) -> Vec<pb::TaskStatus> {
    outbox
        .iter()
        .filter_map(|o| match o {
            Outgoing::Event { stream: s, event } if s == stream => {
                encode(event).update.map(|u| u.status)
            }
            _ => None,
        })
        .collect()
}

fn reserve(kind: pb::offer::operation::Type, text: &str) -> pb::offer::Operation {
    let list = resources(text);
    let mut op = pb::offer::Operation {
        r#type: Some(kind as i32),
        ..Default::default()
    };
    match kind {
        pb::offer::operation::Type::Reserve => {
            op.reserve = Some(pb::offer::operation::Reserve { resources: list })
        }
        _ => op.unreserve = Some(pb::offer::operation::Unreserve { resources: list }),
    }
    op
}

fn offered(offer: &pb::Offer) -> Resources {
    Resources::from_pb(&offer.resources).unwrap()
}

#[test]
fn reserve_then_launch_in_one_accept_and_the_reservation_stays_with_the_role() {
    let mut core = core();
    let (fw, stream) = subscribe(&mut core, "web", "web");
    let offer = offers_on(&core.take_outbox(), &stream).remove(0);
    // Reserve 2 cpus for web and launch a 2-cpu task on them, in one call.
    let task = task(
        "t",
        &offer,
        "cpus(web):2",
        &[("corral.sim/duration", "100")],
    );
    let accept = accept_call(
        &fw,
        &[&offer.id],
        vec![
            reserve(pb::offer::operation::Type::Reserve, "cpus(web):2"),
            launch(vec![task]),
        ],
        Some(0.0),
    );
    core.handle(Duration::ZERO, Some(stream.as_str()), accept)
        .unwrap();
    let out = core.take_outbox();
    assert_eq!(
        state_of(&updates_on(&out, &stream)[0]),
        TaskState::TaskStaging
    );
    core.check_invariants().unwrap();
    let web = Role::from("web");
    let total = core.state(Duration::ZERO).agents[0].total.clone();
    assert_eq!(
        total.reserved_for(&web).cpus(),
        2.0,
        "the agent's books show the reservation: {total}"
    );

    // A framework of another role is never offered the reserved cpus.
    let (_, other_stream) = subscribe(&mut core, "batch", "batch");
    let mut now = Duration::ZERO;
    let mut seen = 0;
    for _ in 0..20 {
        now += Duration::from_millis(100);
        core.tick(now);
        for offer in offers_on(&core.take_outbox(), &other_stream) {
            seen += 1;
            assert!(
                offered(&offer).reserved_for(&web).is_empty(),
                "web's reservation offered to batch: {}",
                offered(&offer)
            );
        }
        core.check_invariants().unwrap();
    }
    assert!(seen > 0, "batch was offered the unreserved rest");
}

#[test]
fn unreserve_in_accept_gives_the_resources_back_to_everyone() {
    let config = MasterConfig::default()
        .agent(corral_testkit::AgentSpec::new(
            "a",
            Resources::parse("cpus(web):2;cpus:2;mem:1024").unwrap(),
        ))
        .seed(1);
    let mut core = MasterCore::new(config).unwrap();
    let (fw, stream) = subscribe(&mut core, "web", "web");
    let offer = offers_on(&core.take_outbox(), &stream).remove(0);
    assert_eq!(offered(&offer).reserved_for(&Role::from("web")).cpus(), 2.0);
    let accept = accept_call(
        &fw,
        &[&offer.id],
        vec![reserve(
            pb::offer::operation::Type::Unreserve,
            "cpus(web):2",
        )],
        Some(0.0),
    );
    core.handle(Duration::ZERO, Some(stream.as_str()), accept)
        .unwrap();
    core.check_invariants().unwrap();
    let total = core.state(Duration::ZERO).agents[0].total.clone();
    assert!(total.reserved_for(&Role::from("web")).is_empty(), "{total}");
    assert_eq!(total.cpus(), 4.0);
}

#[test]
fn a_reservation_for_another_role_fails_the_call_before_anything_changes() {
    let mut core = core();
    let (fw, stream) = subscribe(&mut core, "web", "web");
    let offer = offers_on(&core.take_outbox(), &stream).remove(0);
    let before = core.state(Duration::ZERO);
    let accept = accept_call(
        &fw,
        &[&offer.id],
        vec![reserve(
            pb::offer::operation::Type::Reserve,
            "cpus(batch):1",
        )],
        None,
    );
    let err = core
        .handle(Duration::ZERO, Some(stream.as_str()), accept)
        .unwrap_err();
    assert!(matches!(err, CallError::InvalidOperation(_)), "{err}");
    assert!(err.to_string().contains("batch"), "{err}");
    assert_eq!(core.state(Duration::ZERO), before, "nothing changed");
}

#[test]
fn a_task_mixing_regular_and_revocable_resources_is_refused() {
    let mut core = core();
    let (fw, stream) = subscribe(&mut core, "web", "web");
    let offer = offers_on(&core.take_outbox(), &stream).remove(0);
    let mut task = task("mixed", &offer, "cpus:1", &[]);
    let mut lent = Resources::parse("mem:32").unwrap().revocable().to_pb();
    task.resources.append(&mut lent);
    let accept = accept_call(&fw, &[&offer.id], vec![launch(vec![task])], None);
    core.handle(Duration::ZERO, Some(stream.as_str()), accept)
        .unwrap();
    let updates = updates_on(&core.take_outbox(), &stream);
    assert_eq!(state_of(&updates[0]), TaskState::TaskError);
    assert!(updates[0]
        .message
        .as_deref()
        .unwrap()
        .contains("mixes regular and revocable"));
    core.check_invariants().unwrap();
}

#[test]
fn request_names_subscribed_roles_only() {
    let mut core = core();
    let (fw, stream) = subscribe(&mut core, "web", "web");
    let request = |text: &str| pb::Call {
        request: Some(pb::call::Request {
            requests: vec![pb::Request {
                agent_id: None,
                resources: resources(text),
            }],
        }),
        ..call(&fw, CallType::Request)
    };
    // No role on the resources: the framework's only role.
    core.handle(Duration::ZERO, Some(stream.as_str()), request("cpus:2"))
        .unwrap();
    // A role it is not subscribed with.
    let mut other = request("cpus:2");
    for r in &mut other.request.as_mut().unwrap().requests[0].resources {
        r.allocation_info = Some(pb::resource::AllocationInfo {
            role: Some("batch".into()),
        });
    }
    let err = core
        .handle(Duration::ZERO, Some(stream.as_str()), other)
        .unwrap_err();
    assert!(matches!(err, CallError::RoleNotSubscribed { .. }), "{err}");
    // Malformed resources.
    let mut bad = request("cpus:2");
    bad.request.as_mut().unwrap().requests[0].resources[0].scalar = None;
    let err = core
        .handle(Duration::ZERO, Some(stream.as_str()), bad)
        .unwrap_err();
    assert!(matches!(err, CallError::InvalidRequest(_)), "{err}");
    core.check_invariants().unwrap();
}

#[test]
fn a_request_goes_with_the_framework_that_made_it() {
    idle_guarantee_lent_once_the_request_is_gone(false);
}

#[test]
fn a_withdrawn_request_lets_the_idle_guarantee_be_lent() {
    idle_guarantee_lent_once_the_request_is_gone(true);
}

/// Role `a` (guaranteed 4 of 8 CPUs) asks for 4, then its framework goes
/// (`withdraw`: it withdraws its requests and suppresses instead): a
/// borrower is then lent a's idle 4.
fn idle_guarantee_lent_once_the_request_is_gone(withdraw: bool) {
    use corral_proto::pb::framework_info::capability::Type as Capability;
    use corral_testkit::allocator::Quota;

    let config = MasterConfig::default()
        .agents(1, Resources::parse("cpus:8").unwrap())
        .quota(
            "a",
            Quota {
                guarantee: Resources::parse("cpus:4").unwrap(),
                limit: None,
            },
        )
        .seed(1);
    let mut core = MasterCore::new(config).unwrap();
    let mut now = Duration::ZERO;
    let (a, a_stream) = subscribe(&mut core, "a", "a");
    let held: Vec<pb::Offer> = offers_on(&core.take_outbox(), &a_stream);
    let ids: Vec<&pb::OfferId> = held.iter().map(|o| &o.id).collect();
    let decline = decline_call(&a, &ids, Some(60.0));
    core.handle(now, Some(a_stream.as_str()), decline).unwrap();
    let request = pb::Call {
        request: Some(pb::call::Request {
            requests: vec![pb::Request {
                agent_id: None,
                resources: resources("cpus:4"),
            }],
        }),
        ..call(&a, CallType::Request)
    };
    core.handle(now, Some(a_stream.as_str()), request).unwrap();
    if withdraw {
        // A REQUEST naming nothing withdraws the framework's requests; a
        // suppressed framework then wants nothing.
        let suppress = roles_call(&a, CallType::Suppress, &[]);
        core.handle(now, Some(a_stream.as_str()), suppress).unwrap();
        let empty = pb::Call {
            request: Some(pb::call::Request::default()),
            ..call(&a, CallType::Request)
        };
        core.handle(now, Some(a_stream.as_str()), empty).unwrap();
    } else {
        core.handle(now, Some(a_stream.as_str()), call(&a, CallType::Teardown))
            .unwrap();
    }
    core.take_outbox();

    // A borrower is lent a's idle guarantee: nobody in `a` wants it now.
    let sub = core
        .subscribe(
            now,
            subscribe_call(
                framework_info("c", &["c"], &[Capability::RevocableResources]),
                &[],
            ),
        )
        .unwrap();
    let mut lent = 0.0;
    for _ in 0..5 {
        now += Duration::from_secs(1);
        core.tick(now);
        for offer in offers_on(&core.take_outbox(), &sub.stream) {
            lent += offered(&offer).only_revocable().cpus();
        }
    }
    assert_eq!(lent, 4.0, "a's idle guarantee is lent once a is gone");
    core.check_invariants().unwrap();
}

#[test]
fn a_reservation_the_offers_cannot_cover_fails_the_call_before_anything_changes() {
    let mut core = core();
    let (fw, stream) = subscribe(&mut core, "web", "web");
    let offer = offers_on(&core.take_outbox(), &stream).remove(0);
    let before = core.state(Duration::ZERO);
    // The launch takes 3 of the 4 cpus first, so reserving 2 cannot apply.
    let task = task("t", &offer, "cpus:3", &[]);
    let accept = accept_call(
        &fw,
        &[&offer.id],
        vec![
            launch(vec![task]),
            reserve(pb::offer::operation::Type::Reserve, "cpus(web):2"),
        ],
        None,
    );
    let err = core
        .handle(Duration::ZERO, Some(stream.as_str()), accept)
        .unwrap_err();
    assert!(matches!(err, CallError::InvalidOperation(_)), "{err}");
    assert!(err.to_string().contains("RESERVE of cpus:2"), "{err}");
    assert_eq!(core.state(Duration::ZERO), before, "nothing changed");
    assert!(core.take_outbox().is_empty(), "no task was launched");
}
