//! Golden JSON shapes, written by us from Mesos's scheduler.proto and the
//! scheduler HTTP API docs, including the documented discrepancies.

use corral_mesos::convert::event_from_mesos;
use corral_mesos::json::{
    call_from_json, call_to_json, event_from_json, event_to_json, JsonError, JsonErrorKind,
};
use corral_mesos::pb::scheduler::{call, event, Call, Event};
use corral_mesos::pb::v1;
use corral_types::MasterEvent;

fn path_of(e: &JsonError) -> (&str, &JsonErrorKind) {
    match e {
        JsonError::Field { path, kind } => (path, kind),
        other => panic!("expected a field error, got {other}"),
    }
}

#[test]
fn heartbeat_is_written_as_the_docs_show() {
    let mut e = Event::default();
    e.set_type(event::Type::Heartbeat);
    assert_eq!(event_to_json(&e).unwrap(), r#"{"type":"HEARTBEAT"}"#);
}

#[test]
fn subscribed_writes_the_interval_as_a_double() {
    let mut e = Event::default();
    e.set_type(event::Type::Subscribed);
    e.subscribed = Some(event::Subscribed {
        framework_id: v1::FrameworkId {
            value: "12220-3440-12532-2345".into(),
        },
        heartbeat_interval_seconds: Some(15.0),
        master_info: None,
    });
    assert_eq!(
        event_to_json(&e).unwrap(),
        r#"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"12220-3440-12532-2345"},"heartbeat_interval_seconds":15.0}}"#
    );
    // The docs' form, with an integral number, reads back the same.
    let read = event_from_json(
        br#"{ "type": "SUBSCRIBED", "subscribed": { "framework_id": {"value":"12220-3440-12532-2345"}, "heartbeat_interval_seconds": 15 } }"#,
    )
    .unwrap();
    assert_eq!(read, e);
}

#[test]
fn subscribe_writes_defaults_of_unset_optional_fields_but_not_deprecated_ones() {
    let mut c = Call::default();
    c.set_type(call::Type::Subscribe);
    let mut info = v1::FrameworkInfo {
        user: "foo".into(),
        name: "Example HTTP Framework".into(),
        roles: vec!["test1".into(), "test2".into()],
        ..Default::default()
    };
    let mut cap = v1::framework_info::Capability::default();
    cap.set_type(v1::framework_info::capability::Type::MultiRole);
    info.capabilities.push(cap);
    c.subscribe = Some(call::Subscribe {
        framework_info: info,
        suppressed_roles: vec!["test2".into()],
        offer_constraints: None,
    });
    // failover_timeout and checkpoint declare defaults and are written;
    // role's default "*" is deprecated and is not.
    assert_eq!(
        call_to_json(&c).unwrap(),
        r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"foo","name":"Example HTTP Framework","failover_timeout":0.0,"checkpoint":false,"roles":["test1","test2"],"capabilities":[{"type":"MULTI_ROLE"}]},"suppressed_roles":["test2"]}}"#
    );
}

#[test]
fn the_docs_subscribe_request_reads_with_its_offer_constraints() {
    let c = call_from_json(
        br#"{ "type": "SUBSCRIBE",
  "subscribe": {
    "framework_info": { "user": "foo", "name": "Example HTTP Framework",
                        "roles": ["test1", "test2"],
                        "capabilities": [{"type": "MULTI_ROLE"}] },
    "suppressed_roles": ["test2"],
    "offer_constraints": { "role_constraints": { "test1": { "groups": [{
        "attribute_constraints": [{ "selector": {"attribute_name": "foo"},
                                    "predicate": {"exists": {}} }] }] } } } } }"#,
    )
    .unwrap();
    assert_eq!(c.r#type(), call::Type::Subscribe);
    let s = c.subscribe.unwrap();
    assert_eq!(s.framework_info.roles, ["test1", "test2"]);
    assert_eq!(s.framework_info.failover_timeout(), 0.0);
    assert_eq!(s.suppressed_roles, ["test2"]);
    let constraints = s.offer_constraints.unwrap();
    let group = &constraints.role_constraints["test1"].groups[0];
    let ac = &group.attribute_constraints[0];
    assert!(matches!(
        ac.selector.selector,
        Some(corral_mesos::pb::scheduler::attribute_constraint::selector::Selector::AttributeName(ref n)) if n == "foo"
    ));
    assert!(matches!(
        ac.predicate.predicate,
        Some(corral_mesos::pb::scheduler::attribute_constraint::predicate::Predicate::Exists(_))
    ));
}

const DOCS_OFFER: &str = r#"{ "allocation_info": { "role": "engineering" },
    "id": {"value": "12214-23523-O235235"}, "framework_id": {"value": "12124-235325-32425"},
    "agent_id": {"value": "12325-23523-S23523"}, "hostname": "agent.host",
    "resources": [ { "allocation_info": { "role": "engineering" }, "name": "cpus",
                     "type": "SCALAR", "scalar": {"value": 2}, "role": "*" } ],
    "attributes": [ { "name": "os", "type": "TEXT", "text": {"value": "ubuntu16.04"} } ],
    "executor_ids": [ {"value": "12214-23523-my-executor"} ] }"#;

#[test]
fn the_docs_offers_event_puts_the_list_where_the_proto_has_a_message() {
    // Discrepancy (also in the docs' example): Event.offers is an
    // Event.Offers message holding the list, so `"offers": [...]` is
    // refused, as stout refuses an array for a singular message field.
    let docs = format!(r#"{{ "type": "OFFERS", "offers": [ {DOCS_OFFER} ] }}"#);
    let err = event_from_json(docs.as_bytes()).unwrap_err();
    assert_eq!(path_of(&err).0, "offers");
}

#[test]
fn the_docs_offer_reads_and_converts_in_the_proto_shape() {
    let json = format!(r#"{{ "type": "OFFERS", "offers": {{ "offers": [ {DOCS_OFFER} ] }} }}"#);
    let e = event_from_json(json.as_bytes()).unwrap();
    let offer = &e.offers.as_ref().unwrap().offers[0];
    assert_eq!(offer.hostname, "agent.host");
    assert_eq!(offer.resources[0].scalar.as_ref().unwrap().value, 2.0);
    assert_eq!(
        offer.attributes[0].text.as_ref().unwrap().value,
        "ubuntu16.04"
    );
    match event_from_mesos(&e) {
        MasterEvent::Offers { offers, malformed } => {
            assert!(malformed.is_empty(), "{malformed:?}");
            assert_eq!(offers.len(), 1);
            assert_eq!(offers[0].id.as_str(), "12214-23523-O235235");
            assert_eq!(offers[0].resources.cpus(), 2.0);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_docs_update_example_loses_its_bytes_key_which_is_not_a_field() {
    // Discrepancy: TaskStatus has `data`, not `bytes`; stout ignores the key.
    let e = event_from_json(
        br#"{ "type": "UPDATE",
  "update": { "status": { "task_id": {"value": "12344-my-task"}, "state": "TASK_RUNNING",
                          "source": "SOURCE_EXECUTOR", "uuid": "adfadfadbhgvjayd23r2uahj",
                          "bytes": "uhdjfhuagdj63d7hadkf" } } }"#,
    )
    .unwrap();
    let status = e.update.unwrap().status;
    assert_eq!(status.state(), v1::TaskState::TaskRunning);
    assert_eq!(status.source(), v1::task_status::Source::Executor);
    assert_eq!(status.data, None);
    // The uuid is base64 of raw bytes: 24 characters are 18 bytes.
    assert_eq!(status.uuid.as_ref().map(Vec::len), Some(18));
}

const DOCS_ACCEPT_HEAD: &str = r#"{ "framework_id": {"value": "12220-3440-12532-2345"}, "type": "ACCEPT",
  "accept": { "offer_ids": [ {"value": "12220-3440-12532-O12"} ],
    "operations": [ { "type": "LAUNCH", "launch": { "task_infos": [ {
        "name": "My Task", "task_id": {"value": "12220-3440-12532-my-task"},
        "agent_id": {"value": "12220-3440-12532-S1233"},
        "executor": { "command": { "shell": true, "value": "sleep 1000" },
                      "executor_id": {"value": "12214-23523-my-executor"} },
        "resources": [
          { "allocation_info": {"role": "engineering"}, "name": "cpus", "role": "*",
            "type": "SCALAR", "scalar": {"value": 1.0} },
          { "allocation_info": {"role": "engineering"}, "name": "mem", "role": "*",
            "type": "SCALAR", "scalar": {"value": 128.0} } ],
        "limits": "#;
const DOCS_ACCEPT_TAIL: &str = r#" } ] } } ],
    "filters": {"refuse_seconds": 5.0} } }"#;

#[test]
fn the_docs_accept_with_bare_number_limits_is_refused_as_stout_would() {
    // Discrepancy: `limits` maps to Value.Scalar messages; the docs give
    // bare numbers, which a message-typed map value does not take.
    let json = format!(
        "{DOCS_ACCEPT_HEAD}{}{DOCS_ACCEPT_TAIL}",
        r#"{ "cpus": "Infinity", "mem": 512.0 }"#
    );
    let err = call_from_json(json.as_bytes()).unwrap_err();
    let (path, kind) = path_of(&err);
    assert_eq!(
        path,
        "accept.operations[0].launch.task_infos[0].limits.cpus"
    );
    assert!(matches!(kind, JsonErrorKind::ExpectedObject));
}

#[test]
fn the_type_correct_accept_reads_with_an_infinite_limit() {
    let json = format!(
        "{DOCS_ACCEPT_HEAD}{}{DOCS_ACCEPT_TAIL}",
        r#"{ "cpus": {"value": "Infinity"}, "mem": {"value": 512.0} }"#
    );
    let c = call_from_json(json.as_bytes()).unwrap();
    let accept = c.accept.as_ref().unwrap();
    let task = &accept.operations[0].launch.as_ref().unwrap().task_infos[0];
    assert_eq!(task.limits["cpus"].value, f64::INFINITY);
    assert_eq!(task.limits["mem"].value, 512.0);
    assert_eq!(accept.filters.as_ref().unwrap().refuse_seconds, Some(5.0));
    // Written back: maps as objects with sorted keys, infinity as a string.
    let out = call_to_json(&c).unwrap();
    assert!(
        out.contains(r#""limits":{"cpus":{"value":"Infinity"},"mem":{"value":512.0}}"#),
        "{out}"
    );
    assert_eq!(call_from_json(out.as_bytes()).unwrap(), c);
}

#[test]
fn the_docs_error_event_puts_the_message_where_the_proto_does_not() {
    // Discrepancy: the docs write a top-level "message" string; that key is
    // Event.message (an Event.Message object), so the form is refused.
    let err = event_from_json(br#"{"type":"ERROR","message":"Framework is not authorized"}"#)
        .unwrap_err();
    assert_eq!(path_of(&err).0, "message");
    let e =
        event_from_json(br#"{"type":"ERROR","error":{"message":"Framework is not authorized"}}"#)
            .unwrap();
    match event_from_mesos(&e) {
        MasterEvent::Error(m) => assert_eq!(m, "Framework is not authorized"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_docs_revive_and_request_keys_are_ignored() {
    // Discrepancy: "revive.role" is not a field (the proto has "roles"), so
    // the call revives every role; top-level "requests" is not a field either.
    let c = call_from_json(br#"{"type":"REVIVE","revive":{"role":"a"}}"#).unwrap();
    assert!(c.revive.unwrap().roles.is_empty());
    let c =
        call_from_json(br#"{"type":"REQUEST","requests":[{"agent_id":{"value":"a"}}]}"#).unwrap();
    assert!(c.request.is_none());
}

#[test]
fn stout_leniencies_single_objects_strings_for_numbers_nulls_unknown_keys() {
    let c = call_from_json(
        br#"{"type":"DECLINE","framework_id":null,"extra":[1,2],
            "decline":{"offer_ids":{"value":"o1"},"filters":{"refuse_seconds":"3.5"}}}"#,
    )
    .unwrap();
    let d = c.decline.unwrap();
    assert_eq!(d.offer_ids.len(), 1);
    assert_eq!(d.filters.unwrap().refuse_seconds, Some(3.5));
    let c = call_from_json(
        br#"{"type":"KILL","kill":{"task_id":{"value":"t"},"kill_policy":{"grace_period":{"nanoseconds":"1000"}}}}"#,
    )
    .unwrap();
    assert_eq!(
        c.kill
            .unwrap()
            .kill_policy
            .unwrap()
            .grace_period
            .unwrap()
            .nanoseconds,
        1000
    );
}

#[test]
fn unknown_enum_names_drop_optional_fields_and_fail_required_ones() {
    let c = call_from_json(br#"{"type":"NOT_A_CALL"}"#).unwrap();
    assert_eq!(c.r#type, None);
    let err = event_from_json(
        br#"{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_BOGUS"}}}"#,
    )
    .unwrap_err();
    let (path, kind) = path_of(&err);
    assert_eq!(path, "update.status.state");
    assert!(matches!(kind, JsonErrorKind::UnknownEnum(_)));
}

#[test]
fn required_fields_are_enforced_at_every_depth() {
    // TaskInfo.agent_id is required.
    let err = call_from_json(
        br#"{"type":"ACCEPT","accept":{"operations":[{"type":"LAUNCH","launch":{"task_infos":[
            {"name":"t","task_id":{"value":"t"}}]}}]}}"#,
    )
    .unwrap_err();
    let (path, kind) = path_of(&err);
    assert_eq!(path, "accept.operations[0].launch.task_infos[0].agent_id");
    assert!(matches!(kind, JsonErrorKind::MissingRequired));
}

#[test]
fn acknowledge_writes_its_uuid_in_base64() {
    let mut c = Call::default();
    c.set_type(call::Type::Acknowledge);
    c.framework_id = Some(v1::FrameworkId { value: "f".into() });
    c.acknowledge = Some(call::Acknowledge {
        agent_id: v1::AgentId { value: "a".into() },
        task_id: v1::TaskId { value: "t".into() },
        uuid: vec![0xff, 0x00, 0x10],
    });
    assert_eq!(
        call_to_json(&c).unwrap(),
        r#"{"framework_id":{"value":"f"},"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"/wAQ"}}"#
    );
}

#[test]
fn strings_are_escaped_to_one_line_of_ascii() {
    let mut e = Event::default();
    e.set_type(event::Type::Error);
    e.error = Some(event::Error {
        message: "line\nbreak \"q\" caf\u{e9} \u{1f600}".into(),
    });
    let out = event_to_json(&e).unwrap();
    assert!(out.is_ascii() && !out.contains('\n'), "{out}");
    assert!(
        out.contains(r#"line\nbreak \"q\" caf\u00e9 \ud83d\ude00"#),
        "{out}"
    );
    assert_eq!(event_from_json(out.as_bytes()).unwrap(), e);
}

#[test]
fn doubles_are_written_with_fifteen_significant_digits_and_a_point() {
    let cases = [
        (15.0, "15.0"),
        (0.1, "0.1"),
        (1.0 / 3.0, "0.333333333333333"),
        (0.1 + 0.2, "0.3"),
        (-2.5, "-2.5"),
        (1e20, "1.0e+20"),
        (31536000.0, "31536000.0"),
    ];
    for (x, text) in cases {
        let mut c = Call::default();
        c.set_type(call::Type::Decline);
        c.decline = Some(call::Decline {
            offer_ids: vec![],
            filters: Some(v1::Filters {
                refuse_seconds: Some(x),
            }),
        });
        let out = call_to_json(&c).unwrap();
        assert_eq!(
            out,
            format!(r#"{{"type":"DECLINE","decline":{{"filters":{{"refuse_seconds":{text}}}}}}}"#)
        );
    }
}

#[test]
fn unset_filters_write_their_default_refuse_seconds() {
    let mut c = Call::default();
    c.set_type(call::Type::Decline);
    c.decline = Some(call::Decline {
        offer_ids: vec![v1::OfferId { value: "o".into() }],
        filters: Some(v1::Filters::default()),
    });
    assert_eq!(
        call_to_json(&c).unwrap(),
        r#"{"type":"DECLINE","decline":{"offer_ids":[{"value":"o"}],"filters":{"refuse_seconds":5.0}}}"#
    );
}
