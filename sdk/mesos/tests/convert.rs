//! Plain types -> Mesos messages -> JSON and protobuf -> Mesos messages ->
//! plain types, for calls and events.

use std::collections::BTreeSet;
use std::time::Duration;

use corral_mesos::convert::*;
use corral_mesos::json::{call_from_json, call_to_json, event_from_json, event_to_json};
use corral_mesos::pb::scheduler::event;
use corral_mesos::pb::v1;
use corral_types::*;
use prost::Message;

fn calls() -> Vec<Call> {
    let task = TaskInfo::new("t1")
        .with_name("one")
        .with_resources(Resources::new().with_cpus(0.5).with_mem(64.0))
        .with_command(CommandInfo::shell("sleep 1"))
        .with_grace_period(Duration::from_secs(3));
    vec![
        Call::Teardown,
        Call::Accept(Accept::new(
            "o1".into(),
            "a1".into(),
            Role::from("web"),
            Operation::Launch(vec![task]),
        )),
        Call::Decline {
            offers: vec!["o1".into(), "o2".into()],
            refuse: Some(Duration::from_secs(60)),
        },
        Call::Revive(vec![Role::from("web")]),
        Call::Suppress(vec![]),
        Call::Kill {
            task: "t1".into(),
            agent: Some("a1".into()),
            grace: Some(Duration::from_millis(1500)),
        },
        Call::AcceptInverseOffers(vec!["i1".into()]),
        Call::DeclineInverseOffers(vec!["i2".into()]),
    ]
}

#[test]
fn calls_survive_mesos_json_and_protobuf_both_ways() {
    let fw = FrameworkId::from("fw-1");
    for call in calls() {
        let mesos = call_to_mesos(Some(&fw), &call).unwrap();
        let json = call_to_json(&mesos).unwrap();
        let back = call_from_json(json.as_bytes()).unwrap();
        assert_eq!(back, mesos, "{json}");
        let wire =
            corral_mesos::pb::scheduler::Call::decode(mesos.encode_to_vec().as_slice()).unwrap();
        let (id, plain) = call_from_mesos(&wire).unwrap();
        assert_eq!(id.as_ref(), Some(&fw));
        assert_eq!(plain, call, "{json}");
    }
}

#[test]
fn subscribe_carries_roles_capabilities_and_failover_timeout() {
    let info = FrameworkInfo::new("fw")
        .with_user("me")
        .with_roles(["a", "b"])
        .with_capability(Capability::MultiRole)
        .with_failover_timeout(Duration::from_secs(604800));
    let sub = Subscribe::new(info, BTreeSet::from([Role::from("b")]));
    let mesos = subscribe_to_mesos(&sub).unwrap();
    let json = call_to_json(&mesos).unwrap();
    assert!(json.contains(r#""failover_timeout":604800.0"#), "{json}");
    assert!(json.contains(r#""roles":["a","b"]"#), "{json}");
    assert!(json.contains(r#"{"type":"MULTI_ROLE"}"#), "{json}");
    assert!(json.contains(r#""suppressed_roles":["b"]"#), "{json}");
    let (_, plain) = call_from_mesos(&mesos).unwrap();
    assert_eq!(plain, Call::Subscribe(sub));
}

#[test]
fn calls_corral_does_not_model_are_typed_errors() {
    let mut c = corral_mesos::pb::scheduler::Call::default();
    c.set_type(corral_mesos::pb::scheduler::call::Type::ReconcileOperations);
    assert!(matches!(
        call_from_mesos(&c),
        Err(ConvertError::Protocol(_))
    ));
    let c = corral_mesos::pb::scheduler::Call::default();
    assert!(call_from_mesos(&c).is_err());
}

fn events() -> Vec<MasterEvent> {
    vec![
        MasterEvent::Heartbeat,
        MasterEvent::Subscribed(Subscribed::new("fw-1", Duration::from_secs(15))),
        MasterEvent::Offers {
            offers: vec![
                Offer::new("o1", "a1", Resources::new().with_cpus(2.0).with_mem(128.0))
                    .with_framework("fw-1")
                    .with_role("web")
                    .with_hostname("h1")
                    .with_attribute("os", "linux"),
            ],
            malformed: vec![],
        },
        MasterEvent::Rescind("o1".into()),
        MasterEvent::Update(
            TaskStatus::new("t1", TaskState::Running)
                .with_agent("a1")
                .with_uuid(vec![1, 2, 3])
                .with_source(Source::Executor)
                .with_message("up"),
        ),
        MasterEvent::Error("go away".into()),
    ]
}

#[test]
fn events_survive_mesos_json_and_protobuf_both_ways() {
    let fw = FrameworkId::from("fw-1");
    for e in events() {
        let mesos = event_to_mesos(&fw, &e).unwrap();
        let json = event_to_json(&mesos).unwrap();
        let back = event_from_json(json.as_bytes()).unwrap();
        assert_eq!(back, mesos, "{json}");
        assert_eq!(event_from_mesos(&back), e, "{json}");
    }
}

#[test]
fn a_real_masters_inverse_offer_url_message_does_not_break_decoding() {
    let mut e = corral_mesos::pb::scheduler::Event::default();
    e.set_type(event::Type::InverseOffers);
    e.inverse_offers = Some(event::InverseOffers {
        inverse_offers: vec![v1::InverseOffer {
            id: v1::OfferId { value: "i1".into() },
            url: url_from_string("http://agent-1:5051/slave(1)"),
            framework_id: v1::FrameworkId { value: "fw".into() },
            agent_id: Some(v1::AgentId { value: "a1".into() }),
            unavailability: v1::Unavailability {
                start: v1::TimeInfo {
                    nanoseconds: 5_000_000_000,
                },
                duration: None,
            },
            resources: vec![],
        }],
    });
    assert_eq!(
        url_to_string(
            e.inverse_offers.as_ref().unwrap().inverse_offers[0]
                .url
                .as_ref()
                .unwrap()
        ),
        "http://agent-1:5051/slave(1)"
    );
    match event_from_mesos(&e) {
        MasterEvent::InverseOffers(items) => {
            assert_eq!(items.len(), 1);
            assert!(
                matches!(&items[0], InverseItem::Maintenance(o) if o.id.as_str() == "i1"),
                "{items:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn offers_are_shaped_per_capabilities() {
    let fw = FrameworkId::from("fw-1");
    let offer = Offer::new("o1", "a1", Resources::new().with_cpus(2.0))
        .with_framework("fw-1")
        .with_role("web");
    let plain = MasterEvent::Offers {
        offers: vec![offer],
        malformed: vec![],
    };
    let full = event_to_mesos(&fw, &plain).unwrap();

    let mut old = full.clone();
    shape_for_capabilities(&mut old, OfferShape::default());
    let json = event_to_json(&old).unwrap();
    assert!(!json.contains("allocation_info"), "{json}");
    assert!(!json.contains("reservations"), "{json}");
    assert!(json.contains(r#""role":"*""#), "{json}");

    let mut multi = full.clone();
    shape_for_capabilities(
        &mut multi,
        OfferShape {
            multi_role: true,
            reservation_refinement: true,
        },
    );
    let json = event_to_json(&multi).unwrap();
    assert!(
        json.contains(r#""allocation_info":{"role":"web"}"#),
        "{json}"
    );
    assert!(!json.contains(r#""role":"*""#), "{json}");
    // Either shape reads back as the same plain event.
    assert_eq!(event_from_mesos(&multi), plain);
}

#[test]
fn a_reserved_resource_is_written_in_the_pre_refinement_format_without_the_capability() {
    let fw = FrameworkId::from("fw-1");
    let offer = Offer::new(
        "o1",
        "a1",
        Resources::new()
            .with_cpus(1.0)
            .reserved_to(&Role::from("web")),
    )
    .with_framework("fw-1")
    .with_role("web");
    let mut e = event_to_mesos(
        &fw,
        &MasterEvent::Offers {
            offers: vec![offer],
            malformed: vec![],
        },
    )
    .unwrap();
    shape_for_capabilities(
        &mut e,
        OfferShape {
            multi_role: true,
            reservation_refinement: false,
        },
    );
    let r = &e.offers.as_ref().unwrap().offers[0].resources[0];
    assert!(r.reservations.is_empty());
    #[allow(deprecated)]
    let role = r.role.clone();
    assert_eq!(role.as_deref(), Some("web"));
    assert!(
        r.reservation.is_none(),
        "a static reservation has no ReservationInfo"
    );
}

#[test]
fn a_protobuf_offer_that_does_not_decode_does_not_lose_the_batch() {
    let fw = FrameworkId::from("fw-1");
    let offer = |id: &str| {
        Offer::new(id, "a1", Resources::new().with_cpus(1.0))
            .with_framework("fw-1")
            .with_role("*")
            .with_hostname("h")
    };
    let good = event_to_mesos(
        &fw,
        &MasterEvent::Offers {
            offers: vec![offer("o1"), offer("bad"), offer("o3")],
            malformed: vec![],
        },
    )
    .unwrap();
    let mut bytes = good.encode_to_vec();
    // Corrupt the second offer's hostname ("h", the only 'h' byte after its
    // id "bad") into invalid UTF-8: prost refuses the whole event.
    let at = bytes.windows(3).position(|w| w == b"bad").unwrap();
    let h = at + bytes[at..].iter().position(|&b| b == b'h').unwrap();
    bytes[h] = 0xff;
    assert!(corral_mesos::pb::scheduler::Event::decode(bytes.as_slice()).is_err());
    match event_from_protobuf(&bytes) {
        MasterEvent::Offers { offers, malformed } => {
            let ids: Vec<&str> = offers.iter().map(|o| o.id.as_str()).collect();
            assert_eq!(ids, ["o1", "o3"]);
            assert_eq!(malformed.len(), 1);
            assert_eq!(malformed[0].id.as_ref().map(|i| i.as_str()), Some("bad"));
        }
        other => panic!("{other:?}"),
    }
    // A good event reads as usual, and garbage is one malformed event.
    assert!(matches!(
        event_from_protobuf(&good.encode_to_vec()),
        MasterEvent::Offers { .. }
    ));
    assert!(matches!(
        event_from_protobuf(&[0xff, 0xff]),
        MasterEvent::Malformed(_)
    ));
}
