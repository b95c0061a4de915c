//! The mock master's Mesos door (`POST /api/v1/scheduler` and the master
//! endpoints) over a real TCP socket on loopback: the SDK's
//! `HttpTransport` drives a framework through it in protobuf and JSON,
//! and raw HTTP requests check the status codes and headers Mesos gives.
//! Real time (a socket), short intervals, every wait bounded.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use corral::{
    Accept, Call, CommandInfo, Encoding, FrameworkInfo, HttpConfig, HttpTransport, MasterEvent,
    Operation, Resources, Session, Subscribe, TaskInfo, TaskState, Transport,
};
use corral_mesos::pb::scheduler as mpb;
use corral_mesos::recordio;
use corral_testkit::master::{MasterConfig, MockMaster, StandbyMaster, MESOS_VERSION};
use futures::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prost::Message;

const WAIT: Duration = Duration::from_secs(20);

fn config() -> MasterConfig {
    MasterConfig::default()
        .agents(1, Resources::parse("cpus:2;mem:1024").expect("resources"))
        .allocation_interval(Duration::from_millis(20))
        .sim_step(Duration::from_millis(5))
        .heartbeat_interval(Duration::from_millis(200))
        .status_update_retry(Duration::from_millis(500))
}

/// Subscribes, takes an offer, launches a task and acknowledges its
/// updates until FINISHED; returns the states seen.
async fn launch_one(master: &MockMaster, encoding: Encoding) -> Vec<TaskState> {
    let transport =
        HttpTransport::with_config(HttpConfig::new([master.endpoint()]).with_encoding(encoding))
            .expect("transport");
    let framework = FrameworkInfo::new("door")
        .with_user("me")
        .with_roles(["web"]);
    let mut sub = transport
        .subscribe(Subscribe::new(framework, BTreeSet::new()))
        .await
        .expect("subscribed");
    let framework_id = match sub.events.next().await {
        Some(Ok(MasterEvent::Subscribed(s))) => s.framework_id,
        other => panic!("expected SUBSCRIBED, got {other:?}"),
    };
    let session = Session {
        stream_id: sub.stream_id.clone(),
        framework_id,
    };
    let offer = loop {
        match sub.events.next().await {
            Some(Ok(MasterEvent::Offers { mut offers, .. })) if !offers.is_empty() => {
                break offers.remove(0)
            }
            Some(Ok(_)) => continue,
            other => panic!("expected OFFERS, got {other:?}"),
        }
    };
    assert_eq!(offer.role.as_str(), "web");
    let task = TaskInfo::new("t1")
        .with_resources(Resources::parse("cpus:1;mem:64").expect("resources"))
        .with_command(CommandInfo::shell("true"))
        .with_label("corral.sim/duration", "50");
    let accept = Accept::new(
        offer.id.clone(),
        offer.agent_id.clone(),
        offer.role.clone(),
        Operation::Launch(vec![task]),
    );
    transport
        .send(&session, Call::Accept(accept))
        .await
        .expect("accepted");
    let mut states = Vec::new();
    while !states.last().is_some_and(|s: &TaskState| s.is_terminal()) {
        match sub.events.next().await {
            Some(Ok(MasterEvent::Update(status))) => {
                if let (Some(uuid), Some(agent)) = (status.uuid.clone(), status.agent_id.clone()) {
                    transport
                        .send(
                            &session,
                            Call::Acknowledge {
                                agent,
                                task: status.task_id.clone(),
                                uuid,
                            },
                        )
                        .await
                        .expect("acknowledged");
                }
                states.push(status.state);
            }
            Some(Ok(_)) => {}
            other => panic!("the stream ended early: {other:?}"),
        }
    }
    // Still subscribed on the HTTP stream.
    let state = master.state().await.expect("state");
    let fw = state
        .frameworks
        .iter()
        .find(|f| f.id == session.framework_id)
        .expect("the framework");
    assert_eq!(fw.stream_id.as_deref(), Some(session.stream_id.as_str()));
    states
}

async fn drive(encoding: Encoding) {
    let master = MockMaster::start(config()).await.expect("master");
    let states = tokio::time::timeout(WAIT, launch_one(&master, encoding))
        .await
        .expect("the run finishes in time");
    assert_eq!(
        states,
        [
            TaskState::Staging,
            TaskState::Starting,
            TaskState::Running,
            TaskState::Finished
        ]
    );
    tokio::time::timeout(WAIT, master.shutdown())
        .await
        .expect("shutdown in time")
        .expect("clean shutdown");
}

#[tokio::test]
async fn http_transport_protobuf_subscribes_launches_and_acknowledges() {
    drive(Encoding::Protobuf).await;
}

#[tokio::test]
async fn http_transport_json_subscribes_launches_and_acknowledges() {
    drive(Encoding::Json).await;
}

/// One HTTP/1.1 request on a new connection; the response with its body
/// still open.
async fn request(
    master: &MockMaster,
    request: Request<Full<Bytes>>,
) -> Response<hyper::body::Incoming> {
    let addr = master.addr().expect("TCP");
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    sender.send_request(request).await.expect("response")
}

fn post(content_type: Option<&str>, accept: Option<&str>, body: Vec<u8>) -> Request<Full<Bytes>> {
    let mut builder = Request::post(corral_mesos::SCHEDULER_PATH).header("host", "master");
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    if let Some(a) = accept {
        builder = builder.header("accept", a);
    }
    builder.body(Full::new(Bytes::from(body))).expect("request")
}

fn subscribe_json(roles: &str) -> Vec<u8> {
    format!(
        r#"{{"type":"SUBSCRIBE","subscribe":{{"framework_info":{{"user":"me","name":"raw","roles":[{roles}],"capabilities":[{{"type":"MULTI_ROLE"}}]}}}}}}"#
    )
    .into_bytes()
}

async fn body_text(response: Response<hyper::body::Incoming>) -> String {
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Reads records from a SUBSCRIBE body until `n` are decoded.
async fn records(body: &mut hyper::body::Incoming, n: usize) -> Vec<Bytes> {
    let mut decoder = recordio::Decoder::new(recordio::DEFAULT_MAX_RECORD);
    let mut out = Vec::new();
    while out.len() < n {
        while let Some(record) = decoder.next_record().expect("RecordIO") {
            out.push(record);
        }
        if out.len() >= n {
            break;
        }
        let frame = body
            .frame()
            .await
            .expect("the stream is open")
            .expect("a frame");
        if let Ok(data) = frame.into_data() {
            decoder.feed(&data);
        }
    }
    out
}

#[tokio::test]
async fn subscribe_answers_a_chunked_recordio_stream_with_its_headers() {
    let master = MockMaster::start(config()).await.expect("master");
    let run = async {
        // JSON: Accept absent means JSON, as Mesos defaults.
        let response = request(
            &master,
            post(Some(corral_mesos::JSON), None, subscribe_json(r#""web""#)),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], corral_mesos::JSON);
        assert_eq!(headers["transfer-encoding"], "chunked");
        assert!(headers.get("content-length").is_none());
        let stream_id = headers["mesos-stream-id"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(!stream_id.is_empty() && stream_id.len() <= 128);
        let mut body = response.into_body();
        let first = records(&mut body, 1).await.remove(0);
        let text = std::str::from_utf8(&first).expect("utf-8");
        assert!(text.starts_with(r#"{"type":"SUBSCRIBED""#), "{text}");
        assert!(!text.contains('\n'), "one line: {text}");
        let subscribed = corral_mesos::json::event_from_json(&first).expect("an event");
        let framework_id = subscribed
            .subscribed
            .expect("SUBSCRIBED")
            .framework_id
            .value;

        // A call with the stream id: 202, empty, no Content-Type.
        let revive = format!(r#"{{"type":"REVIVE","framework_id":{{"value":"{framework_id}"}}}}"#);
        let mut call = post(Some(corral_mesos::JSON), None, revive.clone().into_bytes());
        call.headers_mut()
            .insert("mesos-stream-id", stream_id.parse().expect("header"));
        let answer = request(&master, call).await;
        assert_eq!(answer.status(), StatusCode::ACCEPTED);
        assert!(answer.headers().get("content-type").is_none());
        assert_eq!(body_text(answer).await, "");

        // Without it: 400; with another: 400.
        let answer = request(
            &master,
            post(Some(corral_mesos::JSON), None, revive.clone().into_bytes()),
        )
        .await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
        let mut call = post(Some(corral_mesos::JSON), None, revive.into_bytes());
        call.headers_mut()
            .insert("mesos-stream-id", "not-the-stream".parse().expect("header"));
        assert_eq!(
            request(&master, call).await.status(),
            StatusCode::BAD_REQUEST
        );

        // Events keep flowing: a HEARTBEAT arrives on the stream.
        let mut seen_heartbeat = false;
        for _ in 0..50 {
            let record = records(&mut body, 1).await.remove(0);
            if std::str::from_utf8(&record).is_ok_and(|t| t.starts_with(r#"{"type":"HEARTBEAT""#)) {
                seen_heartbeat = true;
                break;
            }
        }
        assert!(seen_heartbeat, "HEARTBEAT events flow");
    };
    tokio::time::timeout(WAIT, run).await.expect("in time");
    master.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn protobuf_subscribe_streams_protobuf_and_offers_lack_allocation_info_without_multi_role() {
    let master = MockMaster::start(config()).await.expect("master");
    let run = async {
        let call = mpb::Call {
            r#type: Some(mpb::call::Type::Subscribe as i32),
            subscribe: Some(mpb::call::Subscribe {
                framework_info: corral_mesos::pb::v1::FrameworkInfo {
                    user: "me".to_owned(),
                    name: "old".to_owned(),
                    ..Default::default()
                },
                ..Default::default()
            }),
            ..Default::default()
        };
        let response = request(
            &master,
            post(
                Some(corral_mesos::PROTOBUF),
                Some(corral_mesos::PROTOBUF),
                call.encode_to_vec(),
            ),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], corral_mesos::PROTOBUF);
        let mut body = response.into_body();
        let mut offers = None;
        for _ in 0..50 {
            let record = records(&mut body, 1).await.remove(0);
            let event = mpb::Event::decode(record.as_ref()).expect("protobuf event");
            if let Some(list) = event.offers {
                offers = Some(list.offers);
                break;
            }
        }
        let offers = offers.expect("an OFFERS event");
        assert!(!offers.is_empty());
        for offer in &offers {
            assert!(offer.allocation_info.is_none(), "{offer:?}");
            assert!(offer.resources.iter().all(|r| r.allocation_info.is_none()));
        }
    };
    tokio::time::timeout(WAIT, run).await.expect("in time");
    master.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn the_scheduler_endpoint_answers_mesos_status_codes() {
    let master = MockMaster::start(config()).await.expect("master");
    let run = async {
        let json = Some(corral_mesos::JSON);
        let sub = || subscribe_json(r#""web""#);
        // 405: not a POST.
        let get = Request::get(corral_mesos::SCHEDULER_PATH)
            .header("host", "master")
            .body(Full::new(Bytes::new()))
            .expect("request");
        let answer = request(&master, get).await;
        assert_eq!(answer.status(), StatusCode::METHOD_NOT_ALLOWED);
        // 400: no Content-Type; 415: another one, even with parameters.
        assert_eq!(
            request(&master, post(None, None, sub())).await.status(),
            StatusCode::BAD_REQUEST
        );
        for other in ["text/plain", "application/json; charset=utf-8"] {
            let answer = request(&master, post(Some(other), None, sub())).await;
            assert_eq!(
                answer.status(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{other}"
            );
        }
        // 406: an Accept that allows neither type.
        let answer = request(&master, post(json, Some("text/html"), sub())).await;
        assert_eq!(answer.status(), StatusCode::NOT_ACCEPTABLE);
        // 400: malformed bodies, and a call without its type.
        let answer = request(&master, post(json, None, b"{not json".to_vec())).await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
        let answer = request(
            &master,
            post(Some(corral_mesos::PROTOBUF), None, vec![0xff, 0xff, 0xff]),
        )
        .await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
        let answer = request(&master, post(json, None, br#"{"subscribe":{}}"#.to_vec())).await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
        // 501: the UNKNOWN call type.
        let answer = request(&master, post(json, None, br#"{"type":"UNKNOWN"}"#.to_vec())).await;
        assert_eq!(answer.status(), StatusCode::NOT_IMPLEMENTED);
        // 400: SUBSCRIBE carrying a stream id.
        let mut call = post(json, None, sub());
        call.headers_mut()
            .insert("mesos-stream-id", "x".parse().expect("header"));
        assert_eq!(
            request(&master, call).await.status(),
            StatusCode::BAD_REQUEST
        );
        // 403: a call from a framework that is not subscribed.
        let mut call = post(
            json,
            None,
            br#"{"type":"REVIVE","framework_id":{"value":"nobody"}}"#.to_vec(),
        );
        call.headers_mut()
            .insert("mesos-stream-id", "x".parse().expect("header"));
        assert_eq!(request(&master, call).await.status(), StatusCode::FORBIDDEN);
    };
    tokio::time::timeout(WAIT, run).await.expect("in time");
    master.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn version_health_and_redirect_answer_as_a_mesos_master() {
    let master = MockMaster::start(config()).await.expect("master");
    let addr = master.addr().expect("TCP");
    let get = |path: &str| {
        Request::get(path)
            .header("host", "master")
            .body(Full::new(Bytes::new()))
            .expect("request")
    };
    let run = async {
        let answer = request(&master, get("/version")).await;
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(answer.headers()["content-type"], corral_mesos::JSON);
        let text = body_text(answer).await;
        let version: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(version["version"], MESOS_VERSION);
        assert!(MESOS_VERSION
            .split('.')
            .all(|part| part.parse::<u32>().is_ok()));
        assert_eq!(version["corral_version"], env!("CARGO_PKG_VERSION"));

        assert_eq!(
            request(&master, get("/health")).await.status(),
            StatusCode::OK
        );
        for path in ["/redirect", "/master/redirect"] {
            let answer = request(&master, get(path)).await;
            assert_eq!(answer.status(), StatusCode::TEMPORARY_REDIRECT, "{path}");
            assert_eq!(answer.headers()["location"], format!("//{addr}"), "{path}");
        }
    };
    tokio::time::timeout(WAIT, run).await.expect("in time");
    master.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_standby_redirects_protocol_relative_to_the_leader_or_answers_503() {
    let master = MockMaster::start(config()).await.expect("master");
    let leader = master.addr().expect("TCP");
    let standby = StandbyMaster::start_on(([127, 0, 0, 1], 0).into(), Some(leader.to_string()))
        .await
        .expect("standby");
    let orphan = StandbyMaster::start_on(([127, 0, 0, 1], 0).into(), None)
        .await
        .expect("standby without a leader");
    let run = async {
        let send = |addr, request: Request<Full<Bytes>>| async move {
            let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let (mut sender, connection) = http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(connection);
            sender.send_request(request).await.expect("response")
        };
        let sub = || post(Some(corral_mesos::JSON), None, subscribe_json(r#""web""#));
        let answer = send(standby.addr(), sub()).await;
        assert_eq!(answer.status(), StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(
            answer.headers()["location"],
            format!("//{leader}{}", corral_mesos::SCHEDULER_PATH)
        );
        let get = Request::get("/master/redirect")
            .header("host", "standby")
            .body(Full::new(Bytes::new()))
            .expect("request");
        let answer = send(standby.addr(), get).await;
        assert_eq!(answer.status(), StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(answer.headers()["location"], format!("//{leader}"));
        assert_eq!(
            send(orphan.addr(), sub()).await.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );

        // The SDK follows the standby's redirect to the leader.
        let transport = HttpTransport::new([standby.endpoint()]).expect("transport");
        let mut subscription = transport
            .subscribe(Subscribe::new(
                FrameworkInfo::new("via-standby").with_user("me"),
                BTreeSet::new(),
            ))
            .await
            .expect("subscribed through the redirect");
        assert!(matches!(
            subscription.events.next().await,
            Some(Ok(MasterEvent::Subscribed(_)))
        ));
    };
    tokio::time::timeout(WAIT, run).await.expect("in time");
    standby.shutdown().await.expect("standby stops");
    orphan.shutdown().await.expect("standby stops");
    master.shutdown().await.expect("clean shutdown");
}

/// Reads events from a JSON SUBSCRIBE body until an OFFERS event.
async fn next_offers(body: &mut hyper::body::Incoming) -> Vec<corral_mesos::pb::v1::Offer> {
    for _ in 0..100 {
        let record = records(body, 1).await.remove(0);
        let event = corral_mesos::json::event_from_json(&record).expect("a JSON event");
        if let Some(list) = event.offers {
            return list.offers;
        }
    }
    panic!("no OFFERS event in 100 records");
}

#[tokio::test]
async fn offers_follow_the_capabilities_update_framework_gives() {
    let master = MockMaster::start(config()).await.expect("master");
    let run = async {
        let info = |capabilities: &str| {
            format!(
                r#"{{"user":"me","name":"grows","failover_timeout":60,"capabilities":[{capabilities}]"#
            )
        };
        let subscribe = format!(
            r#"{{"type":"SUBSCRIBE","subscribe":{{"framework_info":{}}}}}}}"#,
            info("")
        );
        let response = request(
            &master,
            post(Some(corral_mesos::JSON), None, subscribe.into_bytes()),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        let stream_id = response.headers()["mesos-stream-id"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let mut body = response.into_body();
        let first = records(&mut body, 1).await.remove(0);
        let framework_id = corral_mesos::json::event_from_json(&first)
            .expect("an event")
            .subscribed
            .expect("SUBSCRIBED")
            .framework_id
            .value;
        let offers = next_offers(&mut body).await;
        assert!(
            offers.iter().all(|o| o.allocation_info.is_none()),
            "{offers:?}"
        );

        let send = |text: String| {
            let mut call = post(Some(corral_mesos::JSON), None, text.into_bytes());
            call.headers_mut()
                .insert("mesos-stream-id", stream_id.parse().expect("header"));
            request(&master, call)
        };
        let with_id = info(r#"{"type":"MULTI_ROLE"}"#).replacen(
            '{',
            &format!(r#"{{"id":{{"value":"{framework_id}"}},"#),
            1,
        );
        let update = format!(
            r#"{{"type":"UPDATE_FRAMEWORK","framework_id":{{"value":"{framework_id}"}},"update_framework":{{"framework_info":{with_id}}}}}}}"#
        );
        let answer = send(update).await;
        let status = answer.status();
        assert_eq!(status, StatusCode::OK, "{}", body_text(answer).await);
        let ids: Vec<String> = offers
            .iter()
            .map(|o| format!(r#"{{"value":"{}"}}"#, o.id.value))
            .collect();
        let decline = format!(
            r#"{{"type":"DECLINE","framework_id":{{"value":"{framework_id}"}},"decline":{{"offer_ids":[{}],"filters":{{"refuse_seconds":0}}}}}}"#,
            ids.join(",")
        );
        assert_eq!(send(decline).await.status(), StatusCode::ACCEPTED);
        // Offered again, now written for a MULTI_ROLE framework.
        let offers = next_offers(&mut body).await;
        assert!(!offers.is_empty());
        for offer in &offers {
            assert!(offer.allocation_info.is_some(), "{offer:?}");
            assert!(offer.resources.iter().all(|r| r.allocation_info.is_some()));
        }
    };
    tokio::time::timeout(WAIT, run).await.expect("in time");
    master.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn calls_naming_gone_offers_or_no_pending_update_get_202_as_from_mesos() {
    let master = MockMaster::start(config()).await.expect("master");
    let run = async {
        let response = request(
            &master,
            post(Some(corral_mesos::JSON), None, subscribe_json(r#""web""#)),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        let stream_id = response.headers()["mesos-stream-id"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let mut body = response.into_body();
        let first = records(&mut body, 1).await.remove(0);
        let framework_id = corral_mesos::json::event_from_json(&first)
            .expect("an event")
            .subscribed
            .expect("SUBSCRIBED")
            .framework_id
            .value;
        let send = |text: String| {
            let mut call = post(Some(corral_mesos::JSON), None, text.into_bytes());
            call.headers_mut()
                .insert("mesos-stream-id", stream_id.parse().expect("header"));
            request(&master, call)
        };
        let fw = format!(r#""framework_id":{{"value":"{framework_id}"}}"#);
        let decline = format!(
            r#"{{"type":"DECLINE",{fw},"decline":{{"offer_ids":[{{"value":"no-such-offer"}}]}}}}"#
        );
        let answer = send(decline).await;
        assert_eq!(answer.status(), StatusCode::ACCEPTED);
        assert_eq!(body_text(answer).await, "");
        let ack = format!(
            r#"{{"type":"ACKNOWLEDGE",{fw},"acknowledge":{{"agent_id":{{"value":"agent-0"}},"task_id":{{"value":"no-such-task"}},"uuid":"AAAAAAAAAAAAAAAAAAAAAA=="}}}}"#
        );
        let answer = send(ack).await;
        assert_eq!(answer.status(), StatusCode::ACCEPTED);
        // An ACCEPT of a gone offer: 202 too (its tasks get TASK_LOST).
        let accept = format!(
            r#"{{"type":"ACCEPT",{fw},"accept":{{"offer_ids":[{{"value":"no-such-offer"}}],"operations":[]}}}}"#
        );
        assert_eq!(send(accept).await.status(), StatusCode::ACCEPTED);
    };
    tokio::time::timeout(WAIT, run).await.expect("in time");
    master.shutdown().await.expect("clean shutdown");
}
