//! Master detection against a real ZooKeeper server (feature `zookeeper`).
//!
//! The server is found through `CORRAL_TEST_ZK` (`127.0.0.1:PORT`), as
//! `.ci/zookeeper.sh start DIR` prints it; without the variable every test
//! here says so on stderr and passes without running. Fake masters join
//! the group as Mesos masters do: ephemeral sequential `json.info_` znodes
//! holding a JSON MasterInfo, each in a session of its own. Each test uses
//! a path of its own, so they run in parallel on one server.
#![cfg(feature = "zookeeper")]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral::detect::{
    Detection, LeaderError, LeaderWatch, MasterInfoError, MasterSpec, ZkDetector, ZkOptions, ZkSpec,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use zookeeper_client as zk;

/// The longest any one step may take.
const STEP: Duration = Duration::from_secs(30);

/// The test server's address, or `None` (with a line on stderr, which the
/// test harness does not capture) when there is none.
fn server(test: &str) -> Option<String> {
    logs();
    match std::env::var("CORRAL_TEST_ZK") {
        Ok(address) if !address.is_empty() => Some(address),
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: CORRAL_TEST_ZK is not set. Start a server with \
                 `.ci/zookeeper.sh start DIR` and set CORRAL_TEST_ZK to the address it prints \
                 (.ci/run does both)."
            );
            None
        }
    }
}

/// A znode path no other test or run uses.
fn unique_path(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("/corral-test/{test}-{}-{nanos}", std::process::id())
}

fn spec(server: &str, path: &str) -> ZkSpec {
    let url = format!("zk://{server}{path}");
    match MasterSpec::parse(&url) {
        Ok(MasterSpec::ZooKeeper(zk)) => zk,
        other => panic!("{url} parsed as {other:?}"),
    }
}

fn quick_options() -> ZkOptions {
    ZkOptions {
        session_timeout: Duration::from_secs(2),
        backoff_initial: Duration::from_millis(100),
        backoff_max: Duration::from_millis(800),
        ..ZkOptions::default()
    }
}

/// What a Mesos 1.11 master at 127.0.0.1:`port` writes in its znode.
fn master_info(name: &str, port: u16) -> Vec<u8> {
    format!(
        r#"{{"address":{{"hostname":"{name}","ip":"127.0.0.1","port":{port}}},"hostname":"{name}","id":"{name}-id","ip":16777343,"pid":"master@127.0.0.1:{port}","port":{port},"version":"1.11.0"}}"#
    )
    .into_bytes()
}

async fn connect(server: &str) -> zk::Client {
    tokio::time::timeout(STEP, zk::Client::connect(server))
        .await
        .expect("connecting to the test server timed out")
        .expect("connecting to the test server")
}

/// A fake master: its own session, its own ephemeral member znode.
struct FakeMaster {
    client: zk::Client,
    znode: String,
}

impl FakeMaster {
    async fn join(server: &str, path: &str, data: &[u8]) -> FakeMaster {
        let client = connect(server).await;
        let options = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all());
        let (_, sequence) = client
            .create(&format!("{path}/json.info_"), data, &options)
            .await
            .expect("creating the member znode");
        FakeMaster {
            client,
            znode: format!("{path}/json.info_{sequence}"),
        }
    }

    fn name(&self) -> &str {
        self.znode.rsplit('/').next().unwrap_or_default()
    }

    async fn leave(self) {
        self.client
            .delete(&self.znode, None)
            .await
            .expect("deleting the member znode");
    }
}

async fn mkdir(client: &zk::Client, path: &str) {
    let options = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    client
        .mkdir(path, &options)
        .await
        .expect("creating the group znode");
}

/// Waits until the watch tells something `wanted` accepts.
async fn wait_for(
    watch: &mut LeaderWatch,
    what: &str,
    wanted: impl Fn(&Detection) -> bool,
) -> Detection {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let now = watch.current();
        if wanted(&now) {
            return now;
        }
        match tokio::time::timeout_at(deadline, watch.changed()).await {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the detector stopped while waiting for {what}"),
            Err(_) => panic!("no {what} within {STEP:?}; last: {now:?}"),
        }
    }
}

async fn wait_for_leader(watch: &mut LeaderWatch, port: u16) -> Detection {
    wait_for(watch, &format!("the leader on port {port}"), |d| {
        d.leader().is_some_and(|l| l.endpoint.port == port)
    })
    .await
}

#[tokio::test]
async fn detect_the_lowest_member_then_fail_over_to_the_next() {
    let Some(server) = server("detect_the_lowest_member_then_fail_over_to_the_next") else {
        return;
    };
    let path = unique_path("failover");
    let admin = connect(&server).await;
    mkdir(&admin, &path).await;
    // The replicated log's node is a child too, and is no member.
    mkdir(&admin, &format!("{path}/log_replicas")).await;
    let a = FakeMaster::join(&server, &path, &master_info("master-a", 15050)).await;
    let b = FakeMaster::join(&server, &path, &master_info("master-b", 15051)).await;
    assert!(a.name() < b.name(), "{} then {}", a.name(), b.name());

    let mut watch = ZkDetector::new(spec(&server, &path))
        .with_options(quick_options())
        .start();
    let first = wait_for_leader(&mut watch, 15050).await;
    let leader = first.leader().unwrap();
    assert_eq!(leader.base_url, "http://master-a:15050");
    assert_eq!(leader.znode, a.znode);
    assert_eq!(leader.info.id, "master-a-id");
    assert_eq!(leader.info.version.as_deref(), Some("1.11.0"));

    // The leader's znode goes: the next lowest leads.
    a.leave().await;
    let second = wait_for_leader(&mut watch, 15051).await;
    assert_eq!(second.leader().unwrap().znode, b.znode);

    // A master that joins now queues behind b; b's session ending (the
    // client closes it when dropped, its ephemeral znode going with it)
    // hands the lead to the newcomer.
    let c = FakeMaster::join(&server, &path, &master_info("master-c", 15052)).await;
    drop(b);
    let third = wait_for_leader(&mut watch, 15052).await;
    assert_eq!(third.leader().unwrap().znode, c.znode);
}

#[tokio::test]
async fn detect_an_empty_or_missing_group_as_no_leader() {
    let Some(server) = server("detect_an_empty_or_missing_group_as_no_leader") else {
        return;
    };
    let admin = connect(&server).await;

    let empty = unique_path("empty");
    mkdir(&admin, &empty).await;
    let mut watch = ZkDetector::new(spec(&server, &empty))
        .with_options(quick_options())
        .start();
    wait_for(&mut watch, "no leader in an empty group", |d| {
        matches!(d, Detection::NoLeader)
    })
    .await;
    let only = FakeMaster::join(&server, &empty, &master_info("only", 15060)).await;
    wait_for_leader(&mut watch, 15060).await;
    only.leave().await;
    wait_for(&mut watch, "no leader once the last member left", |d| {
        matches!(d, Detection::NoLeader)
    })
    .await;

    // A path that does not exist yet: no leader, until it is made and joined.
    let missing = unique_path("missing");
    let mut watch = ZkDetector::new(spec(&server, &missing))
        .with_options(quick_options())
        .start();
    wait_for(&mut watch, "no leader under a missing path", |d| {
        matches!(d, Detection::NoLeader)
    })
    .await;
    mkdir(&admin, &missing).await;
    let _late = FakeMaster::join(&server, &missing, &master_info("late", 15061)).await;
    wait_for_leader(&mut watch, 15061).await;
}

#[tokio::test]
async fn detect_malformed_leader_data_as_a_typed_error() {
    let Some(server) = server("detect_malformed_leader_data_as_a_typed_error") else {
        return;
    };
    let path = unique_path("malformed");
    let admin = connect(&server).await;
    mkdir(&admin, &path).await;
    let broken = FakeMaster::join(&server, &path, b"{\"address\": {\"port\": 50").await;
    let sound = FakeMaster::join(&server, &path, &master_info("sound", 15070)).await;

    let mut watch = ZkDetector::new(spec(&server, &path))
        .with_options(quick_options())
        .start();
    let error = wait_for(&mut watch, "an error for the broken leader", |d| {
        matches!(d, Detection::Error(_))
    })
    .await;
    let Detection::Error(error) = error else {
        unreachable!()
    };
    match error.as_ref() {
        LeaderError::MasterInfo {
            znode,
            source: MasterInfoError::Json(_),
        } => {
            assert_eq!(znode, &broken.znode);
        }
        other => panic!("not a JSON error: {other:?}"),
    }

    // Well-formed JSON that names no host is refused too.
    broken.leave().await;
    wait_for_leader(&mut watch, 15070).await;
    let hostless = FakeMaster::join(&server, &path, br#"{"id":"x","port":5050}"#).await;
    sound.leave().await;
    let error = wait_for(&mut watch, "an error for the hostless leader", |d| {
        matches!(d, Detection::Error(_))
    })
    .await;
    let Detection::Error(error) = error else {
        unreachable!()
    };
    assert!(
        matches!(error.as_ref(), LeaderError::MasterInfo { source: MasterInfoError::NoHost, znode } if *znode == hostless.znode),
        "{error:?}"
    );

    // An older master's protobuf `info_` member leading is refused by label.
    let old_options = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all());
    hostless.leave().await;
    let (_, old) = admin
        .create(&format!("{path}/info_"), b"\x0a\x02id", &old_options)
        .await
        .expect("creating an info_ member");
    let error = wait_for(&mut watch, "an error for a protobuf leader", |d| {
        matches!(d, Detection::Error(e) if matches!(e.as_ref(), LeaderError::UnsupportedLabel { .. }))
    })
    .await;
    let Detection::Error(error) = error else {
        unreachable!()
    };
    assert!(
        error.to_string().contains(&format!("info_{old}")),
        "{error}"
    );
}

#[tokio::test]
async fn detect_with_zookeeper_credentials_and_report_refusal_without() {
    let Some(server) = server("detect_with_zookeeper_credentials_and_report_refusal_without")
    else {
        return;
    };
    let path = unique_path("acl");
    let admin = connect(&server).await;
    mkdir(
        &admin,
        path.rsplit_once('/').map_or("/", |(parent, _)| parent),
    )
    .await;
    // The group is readable only by `ops:s3cret` (ZooKeeper's `auth` ACL
    // names the creator's digest identity).
    let owner = zk::Client::connector()
        .with_auth("digest", b"ops:s3cret")
        .connect(&server)
        .await
        .expect("connecting as ops");
    let owned = zk::CreateMode::Persistent.with_acls(zk::Acls::creator_all());
    owner
        .create(&path, b"", &owned)
        .await
        .expect("creating the guarded group");
    let member = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::creator_all());
    owner
        .create(
            &format!("{path}/json.info_"),
            &master_info("guarded", 15080),
            &member,
        )
        .await
        .expect("joining the guarded group");

    let mut anonymous = ZkDetector::new(spec(&server, &path))
        .with_options(quick_options())
        .start();
    let refused = wait_for(&mut anonymous, "a refusal", |d| {
        matches!(d, Detection::Error(_))
    })
    .await;
    let Detection::Error(error) = refused else {
        unreachable!()
    };
    assert!(
        matches!(
            error.as_ref(),
            LeaderError::ZooKeeper {
                source: zk::Error::NoAuth,
                ..
            }
        ),
        "{error:?}"
    );

    let url = format!("zk://ops:s3cret@{server}{path}");
    let Ok(MasterSpec::ZooKeeper(with_credentials)) = MasterSpec::parse(&url) else {
        panic!("{url} is not a ZooKeeper spec")
    };
    let mut authed = ZkDetector::new(with_credentials)
        .with_options(quick_options())
        .start();
    wait_for_leader(&mut authed, 15080).await;
}

/// A TCP relay to the server that can be cut: existing connections are
/// dropped and new ones closed at once, until it is restored.
struct Relay {
    address: SocketAddr,
    cut: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accepting: JoinHandle<()>,
}

impl Relay {
    async fn start(upstream: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the relay");
        let address = listener.local_addr().expect("the relay's address");
        let cut = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let (flag, handles) = (Arc::clone(&cut), Arc::clone(&connections));
        let accepting = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if flag.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let upstream = upstream.clone();
                let relay = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                handles
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(relay);
            }
        });
        Relay {
            address,
            cut,
            connections,
            accepting,
        }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for relay in self
            .connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            relay.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
        self.accepting.abort();
    }
}

/// The log lines of every test in this binary: one global subscriber,
/// installed before any test logs (a per-test subscriber misses events
/// whose callsites other test threads registered first). A test reads the
/// lines that name its own ensemble.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

fn logs() -> &'static Logs {
    static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        logs
    })
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn detect_again_after_a_lost_connection_and_a_lost_session() {
    let Some(server) = server("detect_again_after_a_lost_connection_and_a_lost_session") else {
        return;
    };
    let path = unique_path("session");
    let admin = connect(&server).await;
    mkdir(&admin, &path).await;
    let a = FakeMaster::join(&server, &path, &master_info("master-a", 15090)).await;
    let b = FakeMaster::join(&server, &path, &master_info("master-b", 15091)).await;

    let relay = Relay::start(server.clone()).await;
    let relayed = relay.address.to_string();
    let mut watch = ZkDetector::new(spec(&relayed, &path))
        .with_options(quick_options())
        .start();
    wait_for_leader(&mut watch, 15090).await;

    // A short cut: the client reconnects within its session, and its
    // watch still fires when the leader goes.
    relay.cut();
    tokio::time::sleep(Duration::from_millis(300)).await;
    relay.restore();
    a.leave().await;
    wait_for_leader(&mut watch, 15091).await;

    // A long cut, past the session timeout (2 s): the session is lost.
    // Meanwhile b goes and c joins; the last detection stands until a new
    // session reads the group again.
    relay.cut();
    b.leave().await;
    let c = FakeMaster::join(&server, &path, &master_info("master-c", 15092)).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let during = watch.current();
    assert_eq!(
        during.leader().map(|l| l.endpoint.port),
        Some(15091),
        "{during:?}"
    );
    relay.restore();
    let after = wait_for_leader(&mut watch, 15092).await;
    assert_eq!(after.leader().unwrap().znode, c.znode);

    let logs = logs().text();
    let ensemble = format!("ensemble={relayed}");
    for expected in [
        "disconnected from ZooKeeper",
        "the ZooKeeper session ended",
        "retrying ZooKeeper after a pause",
        "ZooKeeper session open",
        "detected the leading master",
    ] {
        let line = logs
            .lines()
            .find(|l| l.contains(expected) && l.contains(&ensemble));
        let line = line.unwrap_or_else(|| panic!("no log line with {expected:?} in:\n{logs}"));
        assert!(
            line.contains(&ensemble),
            "{expected:?} does not name the ensemble: {line}"
        );
    }
}

/// A fake Mesos master's scheduler endpoint on a loopback port: every
/// request gets a chunked 200 holding one SUBSCRIBED record (protobuf),
/// and the stream stays open. Each request's arrival is told on `hits`.
#[cfg(feature = "http")]
struct FakeHttpMaster {
    port: u16,
    task: JoinHandle<()>,
}

#[cfg(feature = "http")]
impl FakeHttpMaster {
    async fn start(hits: tokio::sync::mpsc::UnboundedSender<u16>) -> FakeHttpMaster {
        use prost::Message;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let subscribed = corral::MasterEvent::Subscribed(corral::Subscribed::new(
            "fw-zk",
            Duration::from_secs(15),
        ));
        let event =
            corral_mesos::convert::event_to_mesos(&corral::FrameworkId::from("fw-zk"), &subscribed)
                .unwrap();
        let record = corral_mesos::recordio::encode(&event.encode_to_vec());
        let task = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
                    if stream.read_exact(&mut byte).await.is_err() {
                        break;
                    }
                    head.push(byte[0]);
                }
                let _ = hits.send(port);
                let mut reply = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n\
                    Mesos-Stream-Id: zk-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                    .to_vec();
                reply.extend(format!("{:x}\r\n", record.len()).into_bytes());
                reply.extend_from_slice(&record);
                reply.extend_from_slice(b"\r\n");
                let _ = stream.write_all(&reply).await;
                open.push(stream);
            }
        });
        FakeHttpMaster { port, task }
    }

    /// Stops listening and closes its streams.
    fn stop(self) {
        self.task.abort();
    }
}

#[cfg(feature = "http")]
#[tokio::test]
async fn detect_the_leader_through_connect_and_subscribe_to_it_then_to_the_next() {
    use corral::Transport;
    use futures::StreamExt;
    let Some(server) =
        server("detect_the_leader_through_connect_and_subscribe_to_it_then_to_the_next")
    else {
        return;
    };
    let path = unique_path("connect");
    let admin = connect(&server).await;
    mkdir(&admin, &path).await;
    let (hits_tx, mut hits) = tokio::sync::mpsc::unbounded_channel();
    let first = FakeHttpMaster::start(hits_tx.clone()).await;
    let second = FakeHttpMaster::start(hits_tx).await;
    let a = FakeMaster::join(&server, &path, &master_info("127.0.0.1", first.port)).await;

    let transport = corral::connect(&format!("zk://{server}{path}")).expect("a zk:// master");
    let subscribe = || {
        corral::Subscribe::new(
            corral::FrameworkInfo::new("fw").with_user("me"),
            std::collections::BTreeSet::new(),
        )
    };
    let mut sub = tokio::time::timeout(STEP, transport.subscribe(subscribe()))
        .await
        .expect("SUBSCRIBE through ZooKeeper timed out")
        .expect("SUBSCRIBE through ZooKeeper");
    assert_eq!(hits.recv().await, Some(first.port));
    assert_eq!(sub.stream_id, "zk-stream");
    match sub.events.next().await {
        Some(Ok(corral::MasterEvent::Subscribed(s))) => {
            assert_eq!(s.framework_id.as_str(), "fw-zk")
        }
        other => panic!("{other:?}"),
    }

    // Failover: the first master goes (its znode and its socket), the
    // second joins; a new SUBSCRIBE reaches the second.
    let b = FakeMaster::join(&server, &path, &master_info("127.0.0.1", second.port)).await;
    a.leave().await;
    first.stop();
    drop(sub);
    let mut watch = ZkDetector::new(spec(&server, &path))
        .with_options(quick_options())
        .start();
    wait_for_leader(&mut watch, second.port).await;
    // The transport's own detector may lag the test's by a moment: a
    // SUBSCRIBE to the stopped master fails and is tried again, as the
    // runtime would.
    let mut resubscribed = None;
    for _ in 0..50 {
        match tokio::time::timeout(STEP, transport.subscribe(subscribe())).await {
            Ok(Ok(sub)) => {
                resubscribed = Some(sub);
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert!(
        resubscribed.is_some(),
        "no SUBSCRIBE reached the new leader"
    );
    assert_eq!(hits.recv().await, Some(second.port));
    assert_eq!(
        transport.endpoint(),
        format!("http://127.0.0.1:{}", second.port)
    );
    drop(b);
    second.stop();
}
