//! `HttpTransport` end to end against a small scheduler-API server run by
//! the test on loopback (hyper): subscription, RecordIO events in both
//! encodings, calls with the stream id on another connection, 307s, 503s,
//! basic auth and error statuses. No sleeps: every wait is on a message.
#![cfg(feature = "http")]

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use corral::{
    Call, Encoding, FrameworkId, FrameworkInfo, HttpConfig, HttpTransport, MasterEvent, Offer,
    RejectKind, Resources, Session, Subscribe, Subscribed, Transport, TransportError,
};
use corral_mesos::convert::{call_from_mesos, event_to_mesos};
use corral_mesos::{json, recordio};
use futures::StreamExt;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// What one request looked like.
#[derive(Clone, Debug)]
struct Seen {
    connection: usize,
    content_type: Option<String>,
    accept: Option<String>,
    stream_id: Option<String>,
    authorization: Option<String>,
    call: Option<Call>,
}

/// How the server answers.
#[derive(Clone)]
enum Mode {
    /// Leads: SUBSCRIBE streams, calls get 202.
    Leader,
    /// Standby: 307 to this Location.
    Redirect(String),
    /// No leader known: 503.
    NoLeader,
    /// Leads, but answers SUBSCRIBE with this Content-Type.
    WrongType(&'static str),
    /// 307 to itself, forever.
    RedirectToSelf,
}

type Chunks = mpsc::UnboundedSender<Bytes>;

struct Server {
    url: String,
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Each accepted SUBSCRIBE's stream: the test pushes raw bytes.
    streams: mpsc::UnboundedReceiver<Chunks>,
}

struct Shared {
    mode: Mode,
    credentials: Option<String>,
    seen: Arc<Mutex<Vec<Seen>>>,
    streams: mpsc::UnboundedSender<Chunks>,
    port: u16,
}

const STREAM_ID: &str = "130ae4e3-6b13-4ef4-baa9-9f2e85c3e9af";

fn empty(status: StatusCode) -> Response<BoxBody<Bytes, Infallible>> {
    let mut r = Response::new(Full::new(Bytes::new()).boxed());
    *r.status_mut() = status;
    r
}

async fn handle(
    shared: Arc<Shared>,
    connection: usize,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<BoxBody<Bytes, Infallible>>, Infallible> {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type");
    let accept = header("accept");
    let stream_id = header("mesos-stream-id");
    let authorization = header("authorization");
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mesos = match content_type.as_deref() {
        Some("application/x-protobuf") => {
            corral_mesos::pb::scheduler::Call::decode(body.as_ref()).ok()
        }
        Some("application/json") => json::call_from_json(&body).ok(),
        _ => None,
    };
    let call = mesos
        .as_ref()
        .and_then(|c| call_from_mesos(c).ok())
        .map(|(_, c)| c);
    shared.seen.lock().unwrap().push(Seen {
        connection,
        content_type: content_type.clone(),
        accept: accept.clone(),
        stream_id: stream_id.clone(),
        authorization: authorization.clone(),
        call: call.clone(),
    });
    if let Some(want) = &shared.credentials {
        if authorization.as_deref() != Some(want.as_str()) {
            return Ok(empty(StatusCode::UNAUTHORIZED));
        }
    }
    let wrong_type = match &shared.mode {
        Mode::RedirectToSelf => {
            let mut r = empty(StatusCode::TEMPORARY_REDIRECT);
            let location = format!("//127.0.0.1:{}/api/v1/scheduler", shared.port);
            r.headers_mut()
                .insert("location", location.parse().unwrap());
            return Ok(r);
        }
        Mode::Redirect(location) => {
            let mut r = empty(StatusCode::TEMPORARY_REDIRECT);
            r.headers_mut()
                .insert("location", location.parse().unwrap());
            return Ok(r);
        }
        Mode::NoLeader => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"No leader elected")).boxed());
            *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            return Ok(r);
        }
        Mode::WrongType(t) => Some(*t),
        Mode::Leader => None,
    };
    let Some(call) = call else {
        return Ok(empty(StatusCode::BAD_REQUEST));
    };
    if let Call::Subscribe(_) = call {
        if stream_id.is_some() {
            return Ok(empty(StatusCode::BAD_REQUEST));
        }
        let (tx, rx) = mpsc::unbounded_channel::<Bytes>();
        let _ = shared.streams.send(tx);
        let frames = tokio_stream::wrappers::UnboundedReceiverStream::new(rx)
            .map(|b| Ok::<_, Infallible>(Frame::data(b)));
        let mut r = Response::new(BodyExt::boxed(StreamBody::new(frames)));
        let media = wrong_type.unwrap_or(if content_type.as_deref() == Some("application/json") {
            "application/json"
        } else {
            "application/x-protobuf"
        });
        r.headers_mut()
            .insert("content-type", media.parse().unwrap());
        r.headers_mut()
            .insert("mesos-stream-id", STREAM_ID.parse().unwrap());
        return Ok(r);
    }
    if stream_id.as_deref() != Some(STREAM_ID) {
        let mut r = Response::new(
            Full::new(Bytes::from_static(
                b"The stream ID included in this request didn't match",
            ))
            .boxed(),
        );
        *r.status_mut() = StatusCode::BAD_REQUEST;
        return Ok(r);
    }
    Ok(empty(StatusCode::ACCEPTED))
}

async fn serve(mode: Mode, credentials: Option<&str>) -> Server {
    serve_on(mode, credentials, None).await
}

/// The test CA and the server's certificate (for 127.0.0.1), made with
/// openssl once and kept in tests/tls/ (valid for a century).
fn tls_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tls")
}

async fn serve_tls(mode: Mode) -> Server {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(tls_dir().join("server.pem"))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_file(tls_dir().join("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    serve_on(
        mode,
        None,
        Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
    )
    .await
}

async fn serve_on(
    mode: Mode,
    credentials: Option<&str>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (streams_tx, streams) = mpsc::unbounded_channel();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let shared = Arc::new(Shared {
        mode,
        credentials: credentials.map(|c| {
            use base64::Engine;
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(c)
            )
        }),
        seen: seen.clone(),
        streams: streams_tx,
        port,
    });
    let connections = Arc::new(AtomicUsize::new(0));
    let scheme = if tls.is_some() { "https" } else { "http" };
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let shared = shared.clone();
            let connection = connections.fetch_add(1, Ordering::SeqCst);
            let tls = tls.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |r| handle(shared.clone(), connection, r));
                let http = hyper::server::conn::http1::Builder::new();
                match tls {
                    Some(acceptor) => {
                        // A failed handshake just closes the connection.
                        if let Ok(stream) = acceptor.accept(stream).await {
                            let _ = http.serve_connection(TokioIo::new(stream), service).await;
                        }
                    }
                    None => {
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                }
            });
        }
    });
    Server {
        url: format!("{scheme}://127.0.0.1:{port}"),
        port,
        seen,
        streams,
    }
}

fn subscribe() -> Subscribe {
    Subscribe::new(FrameworkInfo::new("fw").with_user("me"), BTreeSet::new())
}

fn session() -> Session {
    Session {
        stream_id: STREAM_ID.to_owned(),
        framework_id: FrameworkId::from("fw-1"),
    }
}

/// The records a master sends: SUBSCRIBED, OFFERS with two offers, HEARTBEAT.
fn records(encoding: Encoding) -> Vec<Bytes> {
    let fw = FrameworkId::from("fw-1");
    let offer = |id: &str| {
        Offer::new(id, "a1", Resources::new().with_cpus(1.0))
            .with_framework("fw-1")
            .with_role("*")
    };
    [
        MasterEvent::Subscribed(Subscribed::new("fw-1", Duration::from_secs(15))),
        MasterEvent::Offers {
            offers: vec![offer("o1"), offer("o2")],
            malformed: vec![],
        },
        MasterEvent::Heartbeat,
    ]
    .iter()
    .map(|e| {
        let m = event_to_mesos(&fw, e).unwrap();
        let data = match encoding {
            Encoding::Json => json::event_to_json(&m).unwrap().into_bytes(),
            _ => m.encode_to_vec(),
        };
        recordio::encode(&data)
    })
    .collect()
}

/// Sends the records re-chunked so chunk and record boundaries differ.
fn push_rechunked(tx: &Chunks, records: &[Bytes]) {
    let all: Vec<u8> = records.iter().flat_map(|r| r.to_vec()).collect();
    for piece in all.chunks(7) {
        tx.send(Bytes::copy_from_slice(piece)).unwrap();
    }
}

async fn expect_first_three(
    events: &mut futures::stream::BoxStream<'static, Result<MasterEvent, TransportError>>,
) {
    match events.next().await {
        Some(Ok(MasterEvent::Subscribed(s))) => assert_eq!(s.framework_id.as_str(), "fw-1"),
        other => panic!("{other:?}"),
    }
    match events.next().await {
        Some(Ok(MasterEvent::Offers { offers, malformed })) => {
            assert_eq!(
                offers.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
                ["o1", "o2"]
            );
            assert!(malformed.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        events.next().await,
        Some(Ok(MasterEvent::Heartbeat))
    ));
}

async fn round_trip(encoding: Encoding) {
    round_trip_with(serve(Mode::Leader, None).await, encoding).await;
}

async fn round_trip_with(mut server: Server, encoding: Encoding) {
    let media = encoding.media_type();
    let transport = HttpTransport::with_config(
        HttpConfig::new([server.url.clone()])
            .with_encoding(encoding)
            .with_ca_file(tls_dir().join("ca.pem")),
    )
    .unwrap();
    let mut sub = transport.subscribe(subscribe()).await.unwrap();
    assert_eq!(sub.stream_id, STREAM_ID);
    let tx = server.streams.recv().await.unwrap();
    push_rechunked(&tx, &records(encoding));
    expect_first_three(&mut sub.events).await;

    let decline = Call::Decline {
        offers: vec!["o1".into()],
        refuse: Some(Duration::from_secs(30)),
    };
    transport.send(&session(), decline.clone()).await.unwrap();
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let (s, c) = (&seen[0], &seen[1]);
    assert_eq!(s.content_type.as_deref(), Some(media));
    assert_eq!(s.accept.as_deref(), Some(media));
    assert_eq!(s.stream_id, None, "SUBSCRIBE must not carry a stream id");
    assert!(matches!(s.call, Some(Call::Subscribe(_))));
    assert_eq!(c.content_type.as_deref(), Some(media));
    assert_eq!(c.stream_id.as_deref(), Some(STREAM_ID));
    assert_eq!(c.call.as_ref(), Some(&decline));
    assert_ne!(
        s.connection, c.connection,
        "calls use another connection than the stream"
    );
    // A second call reuses the pooled call connection, not the stream's.
    transport
        .send(&session(), Call::Revive(vec![]))
        .await
        .unwrap();
    let third = server.seen.lock().unwrap()[2].connection;
    assert_ne!(third, s.connection);
    drop(tx);
    assert!(
        sub.events.next().await.is_none(),
        "a clean end of body ends the stream"
    );
}

#[tokio::test]
async fn protobuf_subscription_streams_events_and_calls_carry_the_stream_id() {
    round_trip(Encoding::Protobuf).await;
}

#[tokio::test]
async fn json_subscription_streams_events_and_calls_carry_the_stream_id() {
    round_trip(Encoding::Json).await;
}

#[tokio::test]
async fn one_bad_json_offer_does_not_lose_the_batch() {
    let mut server = serve(Mode::Leader, None).await;
    let transport = HttpTransport::with_config(
        HttpConfig::new([server.url.clone()]).with_encoding(Encoding::Json),
    )
    .unwrap();
    let mut sub = transport.subscribe(subscribe()).await.unwrap();
    let tx = server.streams.recv().await.unwrap();
    let good = r#"{"id":{"value":"o1"},"framework_id":{"value":"fw-1"},"agent_id":{"value":"a1"},"hostname":"h","resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1.0}}]}"#;
    let bad = r#"{"id":{"value":"o2"},"framework_id":{"value":"fw-1"},"agent_id":{"value":"a1"},"hostname":5}"#;
    let event = format!(r#"{{"type":"OFFERS","offers":{{"offers":[{good},{bad}]}}}}"#);
    tx.send(recordio::encode(event.as_bytes())).unwrap();
    tx.send(recordio::encode(b"{\"type\":")).unwrap();
    match sub.events.next().await {
        Some(Ok(MasterEvent::Offers { offers, malformed })) => {
            assert_eq!(offers.len(), 1);
            assert_eq!(offers[0].id.as_str(), "o1");
            assert_eq!(malformed.len(), 1);
            assert_eq!(malformed[0].id.as_ref().map(|i| i.as_str()), Some("o2"));
        }
        other => panic!("{other:?}"),
    }
    // A record that is not JSON is one malformed event, not the end.
    assert!(matches!(
        sub.events.next().await,
        Some(Ok(MasterEvent::Malformed(_)))
    ));
    tx.send(Bytes::from_static(b"12x\n")).unwrap();
    assert!(
        matches!(
            sub.events.next().await,
            Some(Err(TransportError::Unavailable(_)))
        ),
        "a broken framing ends the stream"
    );
    assert!(sub.events.next().await.is_none());
}

#[tokio::test]
async fn a_standby_redirect_is_followed_and_the_leader_kept_for_calls() {
    let mut leader = serve(Mode::Leader, None).await;
    // Mesos sends a protocol-relative Location.
    let standby = serve(
        Mode::Redirect(format!("//127.0.0.1:{}/api/v1/scheduler", leader.port)),
        None,
    )
    .await;
    let transport = HttpTransport::new([standby.url.clone()]).unwrap();
    let _sub = transport.subscribe(subscribe()).await.unwrap();
    assert_eq!(transport.leader().as_deref(), Some(leader.url.as_str()));
    let _tx = leader.streams.recv().await.unwrap();
    transport.send(&session(), Call::Teardown).await.unwrap();
    assert_eq!(
        standby.seen.lock().unwrap().len(),
        1,
        "only SUBSCRIBE went to the standby"
    );
    assert_eq!(leader.seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn the_docs_bare_host_port_location_is_followed_too() {
    let mut leader = serve(Mode::Leader, None).await;
    let standby = serve(Mode::Redirect(format!("127.0.0.1:{}", leader.port)), None).await;
    let transport = HttpTransport::new([standby.url.clone()]).unwrap();
    let _sub = transport.subscribe(subscribe()).await.unwrap();
    let _tx = leader.streams.recv().await.unwrap();
    assert_eq!(transport.leader().as_deref(), Some(leader.url.as_str()));
}

#[tokio::test]
async fn masters_are_tried_in_turn_past_a_dead_one_and_a_503() {
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let no_leader = serve(Mode::NoLeader, None).await;
    let mut leader = serve(Mode::Leader, None).await;
    let transport = HttpTransport::new([dead, no_leader.url.clone(), leader.url.clone()]).unwrap();
    let _sub = transport.subscribe(subscribe()).await.unwrap();
    let _tx = leader.streams.recv().await.unwrap();
    assert_eq!(no_leader.seen.lock().unwrap().len(), 1);
    assert_eq!(transport.leader().as_deref(), Some(leader.url.as_str()));
}

#[tokio::test]
async fn with_no_leader_anywhere_subscribe_is_unavailable() {
    let a = serve(Mode::NoLeader, None).await;
    let transport = HttpTransport::new([a.url.clone()]).unwrap();
    match transport.subscribe(subscribe()).await {
        Err(TransportError::Unavailable(m)) => assert!(m.contains("No leader elected"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_redirect_loop_is_cut() {
    let looping = serve(Mode::RedirectToSelf, None).await;
    let transport = HttpTransport::with_config(HttpConfig::new([looping.url.clone()])).unwrap();
    match transport.subscribe(subscribe()).await {
        Err(TransportError::Unavailable(m)) => assert!(m.contains("more than 5 redirects"), "{m}"),
        other => panic!("{other:?}"),
    }
    // The first request and the five redirects it followed.
    assert_eq!(looping.seen.lock().unwrap().len(), 6);
}

#[tokio::test]
async fn basic_auth_is_sent_and_a_401_is_a_typed_refusal() {
    let mut server = serve(Mode::Leader, Some("principal:secret")).await;
    let anonymous = HttpTransport::new([server.url.clone()]).unwrap();
    assert!(matches!(
        anonymous.subscribe(subscribe()).await,
        Err(TransportError::Rejected {
            kind: RejectKind::Unauthorized,
            ..
        })
    ));
    let transport = HttpTransport::with_config(
        HttpConfig::new([server.url.clone()]).with_credentials("principal", "secret"),
    )
    .unwrap();
    let _sub = transport.subscribe(subscribe()).await.unwrap();
    let _tx = server.streams.recv().await.unwrap();
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(
        seen[1].authorization.as_deref(),
        Some("Basic cHJpbmNpcGFsOnNlY3JldA==")
    );
}

#[tokio::test]
async fn a_wrong_stream_id_is_a_400_invalid_argument() {
    let server = serve(Mode::Leader, None).await;
    let transport = HttpTransport::new([server.url.clone()]).unwrap();
    let mut s = session();
    s.stream_id = "stale".into();
    match transport.send(&s, Call::Teardown).await {
        Err(TransportError::Rejected {
            kind: RejectKind::InvalidArgument,
            message,
        }) => {
            assert!(
                message.contains("400") && message.contains("didn't match"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_stream_of_another_content_type_is_refused() {
    // Mesos compares media types exactly; so does the client.
    let server = serve(Mode::WrongType("application/json; charset=utf-8"), None).await;
    let transport = HttpTransport::with_config(
        HttpConfig::new([server.url.clone()]).with_encoding(Encoding::Json),
    )
    .unwrap();
    match transport.subscribe(subscribe()).await {
        Err(TransportError::Unavailable(m)) => assert!(m.contains("Content-Type"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_https_master_is_verified_against_the_ca_file() {
    round_trip_with(serve_tls(Mode::Leader).await, Encoding::Protobuf).await;
}

#[tokio::test]
async fn an_https_master_whose_certificate_does_not_chain_to_the_ca_is_unavailable() {
    let server = serve_tls(Mode::Leader).await;
    // The server's own leaf is no CA: nothing chains to it.
    let transport = HttpTransport::with_config(
        HttpConfig::new([server.url.clone()]).with_ca_file(tls_dir().join("server.pem")),
    )
    .unwrap();
    match transport.subscribe(subscribe()).await {
        Err(TransportError::Unavailable(m)) => assert!(m.contains("certificate"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(
        server.seen.lock().unwrap().is_empty(),
        "no request got through"
    );
}

#[test]
fn an_https_master_without_a_ca_file_or_with_an_empty_one_is_refused_up_front() {
    assert!(HttpTransport::new(["https://127.0.0.1:1"]).is_err());
    let not_pem = tls_dir().join("ca.cnf");
    assert!(HttpTransport::with_config(
        HttpConfig::new(["https://127.0.0.1:1"]).with_ca_file(not_pem)
    )
    .is_err());
}

/// Launches one task on the first offer that fits, then leaves.
struct LaunchOnce;

#[async_trait::async_trait]
impl corral::Scheduler for LaunchOnce {
    async fn offers(&mut self, driver: &dyn corral::Driver, offers: Vec<Offer>) {
        let needs = Resources::new().with_cpus(0.5);
        if let Some(offer) = offers.iter().find(|o| o.fits(&needs)) {
            let task = corral::TaskInfo::new("hello")
                .with_resources(needs)
                .with_command(corral::CommandInfo::shell("echo hello"));
            driver.launch(offer, vec![task]).await.unwrap();
            driver.stop();
        }
    }
}

#[tokio::test]
async fn an_unchanged_framework_runs_over_http() {
    let mut server = serve(Mode::Leader, None).await;
    let transport = HttpTransport::new([server.url.clone()]).unwrap();
    let info = FrameworkInfo::new("fw").with_user("me");
    let run = tokio::spawn(corral::Framework::new(info, transport).run(LaunchOnce));
    let tx = server.streams.recv().await.unwrap();
    push_rechunked(&tx, &records(Encoding::Protobuf)[..2]);
    assert_eq!(run.await.unwrap().unwrap(), corral::Stopped::Detached);
    let seen = server.seen.lock().unwrap().clone();
    let launched: Vec<&Call> = seen
        .iter()
        .filter_map(|s| s.call.as_ref())
        .filter(|c| matches!(c, Call::Accept(_)))
        .collect();
    let [Call::Accept(accept)] = launched.as_slice() else {
        panic!("one ACCEPT expected: {seen:#?}")
    };
    assert_eq!(accept.offers.len(), 1);
    assert!(seen[1..]
        .iter()
        .all(|s| s.stream_id.as_deref() == Some(STREAM_ID)));
}

/// A detected leader at `port`, as a detector would tell it.
fn detected(port: u16, sequence: u32) -> corral::detect::Detection {
    use corral::detect::{leader, HostPreference, HttpScheme, Member};
    let member = Member::parse(&format!("json.info_{sequence:010}")).unwrap();
    let data =
        format!(r#"{{"address":{{"ip":"127.0.0.1","port":{port}}},"hostname":"localhost"}}"#);
    let leader = leader::leader_from_data(
        "/mesos",
        &member,
        data.as_bytes(),
        HttpScheme::Http,
        HostPreference::Ip,
    )
    .unwrap();
    corral::detect::Detection::Leader(Arc::new(leader))
}

#[tokio::test]
async fn a_detected_leader_is_waited_for_subscribed_to_and_followed_when_it_changes() {
    use corral::detect::{Detection, LeaderWatch};
    let mut first = serve(Mode::Leader, None).await;
    let mut second = serve(Mode::Leader, None).await;
    let (tell, told) = tokio::sync::mpsc::unbounded_channel::<Detection>();
    let watch = LeaderWatch::spawn(move |sender| async move {
        let mut told = told;
        while let Some(detection) = told.recv().await {
            sender.send_replace(detection);
        }
        std::future::pending::<()>().await;
    });
    let mut probe = watch.clone();
    let transport = HttpTransport::detected(
        HttpConfig::new(Vec::<String>::new()).with_request_timeout(Duration::from_secs(30)),
        watch,
        "zk://zk:2181/mesos",
    )
    .unwrap();
    assert_eq!(transport.endpoint(), "zk://zk:2181/mesos");
    // No leader yet: SUBSCRIBE waits for one.
    tell.send(Detection::NoLeader).unwrap();
    let subscribing = tokio::spawn({
        let transport = transport.clone();
        async move { transport.subscribe(subscribe()).await.map(|_| ()) }
    });
    tokio::task::yield_now().await;
    assert!(!subscribing.is_finished(), "subscribed with no leader");
    tell.send(detected(first.port, 1)).unwrap();
    subscribing.await.unwrap().unwrap();
    let _tx = first.streams.recv().await.unwrap();
    transport.send(&session(), Call::Teardown).await.unwrap();
    assert_eq!(
        first.seen.lock().unwrap().len(),
        2,
        "SUBSCRIBE and TEARDOWN"
    );
    // Failover: the next SUBSCRIBE goes to the new leader, and so do the
    // calls of its subscription.
    tell.send(detected(second.port, 2)).unwrap();
    while probe.current().leader().map(|l| l.endpoint.port) != Some(second.port) {
        probe.changed().await.unwrap();
    }
    let _sub = transport.subscribe(subscribe()).await.unwrap();
    assert_eq!(
        first.seen.lock().unwrap().len(),
        2,
        "the second SUBSCRIBE went to the old leader"
    );
    let _tx = second.streams.recv().await.unwrap();
    transport.send(&session(), Call::Teardown).await.unwrap();
    assert_eq!(second.seen.lock().unwrap().len(), 2);
    assert_eq!(
        first.seen.lock().unwrap().len(),
        2,
        "nothing more to the old leader"
    );
    assert_eq!(transport.leader().as_deref(), Some(second.url.as_str()));
}

#[tokio::test(start_paused = true)]
async fn with_no_leader_detected_subscribe_is_unavailable_after_the_request_timeout() {
    use corral::detect::{Detection, LeaderWatch};
    let transport = HttpTransport::detected(
        HttpConfig::new(Vec::<String>::new()).with_request_timeout(Duration::from_secs(5)),
        LeaderWatch::fixed(Detection::NoLeader),
        "zk://zk:2181/mesos",
    )
    .unwrap();
    match transport.subscribe(subscribe()).await {
        Err(TransportError::Unavailable(m)) => {
            assert!(
                m.contains("zk://zk:2181/mesos") && m.contains("no master leads"),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn connect_with_credentials_sends_basic_auth_on_every_request() {
    let mut server = serve(Mode::Leader, Some("principal:secret")).await;
    let anonymous = corral::connect_with(&server.url, None).unwrap();
    assert!(matches!(
        anonymous.subscribe(subscribe()).await,
        Err(TransportError::Rejected {
            kind: RejectKind::Unauthorized,
            ..
        })
    ));
    let transport = corral::connect_with(
        &server.url,
        Some(("principal".to_owned(), "secret".to_owned())),
    )
    .unwrap();
    let _sub = transport.subscribe(subscribe()).await.unwrap();
    let _tx = server.streams.recv().await.unwrap();
    transport.send(&session(), Call::Teardown).await.unwrap();
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    for request in &seen[1..] {
        assert_eq!(
            request.authorization.as_deref(),
            Some("Basic cHJpbmNpcGFsOnNlY3JldA==")
        );
    }
}
