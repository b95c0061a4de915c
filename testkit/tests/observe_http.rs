//! The observation endpoints on a running mock master over loopback TCP:
//! `/metrics` scraped during a run and checked against what the
//! framework saw (its trace), the Mesos JSON endpoints served with their
//! content types, and (ignored by default; `.ci/run` runs it) the live
//! page in headless Chromium (Debian's `chromium` package). Real time (a
//! socket), every wait bounded.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use corral::{
    Accept, Call, CommandInfo, FrameworkInfo, HttpConfig, HttpTransport, MasterEvent, Offer,
    Operation, Resources, Session, Subscribe, TaskInfo, TaskState, Transport,
};
use corral_testkit::browser::Page;
use corral_testkit::master::{MasterConfig, MockMaster};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(20);

fn config() -> MasterConfig {
    MasterConfig::default()
        .agents(2, Resources::parse("cpus:2;mem:1024").expect("resources"))
        .allocation_interval(Duration::from_millis(20))
        .sim_step(Duration::from_millis(5))
        .heartbeat_interval(Duration::from_millis(200))
        .status_update_retry(Duration::from_millis(500))
}

/// `GET path`: (status line, headers and body as one text).
async fn get(master: &MockMaster, path: &str) -> String {
    let addr = master.addr().expect("tcp");
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut answer))
        .await
        .expect("answered in time")
        .expect("read");
    answer
}

/// The body of a 200 answer (chunked bodies are joined).
async fn body(master: &MockMaster, path: &str) -> String {
    let answer = get(master, path).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{path}: {answer}");
    let (head, rest) = answer.split_once("\r\n\r\n").expect("a body");
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return rest.to_owned();
    }
    let mut out = String::new();
    let mut rest = rest;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}

/// `/metrics` parsed: `name{labels}` → value.
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// What the framework saw.
#[derive(Default)]
struct FrameworkTrace {
    offers: Vec<Offer>,
    declined: usize,
    running: usize,
}

struct Fw {
    transport: HttpTransport,
    session: Session,
    events: futures::stream::BoxStream<'static, Result<MasterEvent, corral::TransportError>>,
}

async fn subscribe(master: &MockMaster, name: &str, role: &str) -> Fw {
    let transport =
        HttpTransport::with_config(HttpConfig::new([master.endpoint()])).expect("transport");
    let info = FrameworkInfo::new(name).with_user("me").with_roles([role]);
    let mut sub = transport
        .subscribe(Subscribe::new(info, BTreeSet::new()))
        .await
        .expect("subscribed");
    let framework_id = match sub.events.next().await {
        Some(Ok(MasterEvent::Subscribed(s))) => s.framework_id,
        other => panic!("expected SUBSCRIBED, got {other:?}"),
    };
    Fw {
        transport,
        session: Session {
            stream_id: sub.stream_id.clone(),
            framework_id,
        },
        events: sub.events,
    }
}

/// Takes both agents' offers; launches a long task filling the first,
/// declines the second for an hour; acknowledges until RUNNING.
async fn run(fw: &mut Fw, task: &str) -> FrameworkTrace {
    let mut trace = FrameworkTrace::default();
    while trace.offers.len() < 2 {
        match fw.events.next().await {
            Some(Ok(MasterEvent::Offers { offers, .. })) => trace.offers.extend(offers),
            Some(Ok(_)) => {}
            other => panic!("expected OFFERS, got {other:?}"),
        }
    }
    let (first, second) = (&trace.offers[0], &trace.offers[1]);
    let info = TaskInfo::new(task)
        .with_resources(Resources::parse("cpus:2;mem:1024").expect("resources"))
        .with_command(CommandInfo::shell("true"))
        .with_label("corral.sim/duration", "600000");
    let accept = Accept::new(
        first.id.clone(),
        first.agent_id.clone(),
        first.role.clone(),
        Operation::Launch(vec![info]),
    );
    fw.transport
        .send(&fw.session, Call::Accept(accept))
        .await
        .expect("accepted");
    fw.transport
        .send(
            &fw.session,
            Call::Decline {
                offers: vec![second.id.clone()],
                refuse: Some(Duration::from_secs(3600)),
            },
        )
        .await
        .expect("declined");
    trace.declined = 1;
    while trace.running == 0 {
        match fw.events.next().await {
            Some(Ok(MasterEvent::Update(status))) => {
                if let (Some(uuid), Some(agent)) = (status.uuid.clone(), status.agent_id.clone()) {
                    fw.transport
                        .send(
                            &fw.session,
                            Call::Acknowledge {
                                agent,
                                task: status.task_id.clone(),
                                uuid,
                            },
                        )
                        .await
                        .expect("acknowledged");
                }
                if status.state == TaskState::Running {
                    trace.running += 1;
                }
            }
            Some(Ok(MasterEvent::Offers { offers, .. })) => trace.offers.extend(offers),
            Some(Ok(_)) => {}
            other => panic!("the stream ended early: {other:?}"),
        }
    }
    trace
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_scraped_during_a_run_match_the_trace() {
    let master = MockMaster::start(config()).await.expect("master");
    let mut fw = subscribe(&master, "scraped", "web").await;
    let trace = tokio::time::timeout(WAIT, run(&mut fw, "t1"))
        .await
        .expect("the run finishes in time");
    // Both agents are now held (a task, an hour's filter): no more offers.
    // The last acknowledgement may still be on its way: wait for it.
    let deadline = tokio::time::Instant::now() + WAIT;
    let metrics = loop {
        let metrics = parse_metrics(&body(&master, "/metrics").await);
        let pending = format!(
            "corral_status_updates_pending_ack{{framework=\"{}\"}}",
            fw.session.framework_id.as_str()
        );
        if metrics.get(&pending) == Some(&0.0) {
            break metrics;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{pending} never 0: {metrics:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let m = |k: &str| {
        metrics
            .get(k)
            .copied()
            .unwrap_or_else(|| panic!("no {k} in {metrics:?}"))
    };
    assert_eq!(
        m("corral_offers_total{role=\"web\",event=\"made\"}"),
        trace.offers.len() as f64,
        "offers made = offers the framework received"
    );
    assert_eq!(
        m("corral_offers_total{role=\"web\",event=\"declined\"}"),
        trace.declined as f64
    );
    assert_eq!(
        m("corral_offers_total{role=\"web\",event=\"rescinded\"}"),
        0.0
    );
    assert_eq!(
        m("corral_tasks{state=\"TASK_RUNNING\"}"),
        trace.running as f64
    );
    assert_eq!(m("corral_tasks{state=\"TASK_FINISHED\"}"), 0.0);
    assert_eq!(m("corral_frameworks_connected"), 1.0);
    assert!(m("corral_allocation_cycle_seconds_count") >= 1.0);
    assert_eq!(
        m("corral_allocation_cycle_seconds_bucket{le=\"+Inf\"}"),
        m("corral_allocation_cycle_seconds_count")
    );
    assert_eq!(
        m("corral_role_allocated{role=\"web\",resource=\"cpus\"}"),
        2.0
    );
    assert_eq!(m("corral_revocation_notices_total{event=\"sent\"}"), 0.0);
    let queue = format!(
        "corral_event_queue_depth{{stream=\"{}\",framework=\"{}\"}}",
        fw.session.stream_id,
        fw.session.framework_id.as_str()
    );
    assert!(metrics.contains_key(&queue), "no {queue}");
    master.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mesos_endpoints_are_served_on_the_master_address() {
    let master = MockMaster::start(config()).await.expect("master");
    let mut fw = subscribe(&master, "served", "web").await;
    tokio::time::timeout(WAIT, run(&mut fw, "t1"))
        .await
        .expect("the run finishes in time");
    for path in [
        "/master/state",
        "/state",
        "/master/state-summary",
        "/master/frameworks",
        "/master/roles",
        "/master/tasks?limit=1&order=asc",
        "/metrics/snapshot",
        "/observe/view",
    ] {
        let answer = get(&master, path).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{path}: {answer}");
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{path}: {answer}"
        );
    }
    let state: serde_json::Value =
        serde_json::from_str(&body(&master, "/master/state").await).expect("json");
    assert_eq!(state["version"], corral_testkit::master::MESOS_VERSION);
    assert_eq!(state["frameworks"][0]["name"], "served");
    assert_eq!(state["frameworks"][0]["tasks"][0]["state"], "TASK_RUNNING");
    let tasks: serde_json::Value =
        serde_json::from_str(&body(&master, "/master/tasks?limit=1").await).expect("json");
    assert_eq!(tasks["tasks"].as_array().map(Vec::len), Some(1));
    let snap: serde_json::Value =
        serde_json::from_str(&body(&master, "/metrics/snapshot").await).expect("json");
    assert_eq!(snap["master/tasks_running"], 1.0);
    assert!(get(&master, "/master/tasks?limit=many")
        .await
        .starts_with("HTTP/1.1 400"));
    let page = get(&master, "/observe").await;
    assert!(
        page.starts_with("HTTP/1.1 200") && page.contains("text/html"),
        "{page}"
    );
    let metrics = get(&master, "/metrics").await;
    assert!(
        metrics.contains("application/openmetrics-text"),
        "{metrics}"
    );
    assert!(metrics.trim_end().ends_with("# EOF"), "{metrics}");
    master.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian's chromium (/usr/bin/chromium); CI installs it"]
async fn the_live_page_shows_roles_agents_frameworks_and_the_timeline() {
    let master = MockMaster::start(config().role("batch", 2.0))
        .await
        .expect("master");
    let mut web = subscribe(&master, "web-frontend", "web").await;
    tokio::time::timeout(WAIT, run(&mut web, "web-1"))
        .await
        .expect("the run finishes in time");
    let _batch = subscribe(&master, "batch-jobs", "batch").await;
    let addr = master.addr().expect("tcp");
    let dir = std::env::temp_dir().join(format!("corral-observe-page-{}", std::process::id()));
    let page = format!("http://{addr}/observe?max=3");
    let page = Page::new(page, &dir);
    let dom = page.dom().await.expect("chromium renders the page");
    // Rendered by the page's script from the event stream, not in the HTML served.
    for expected in [
        "updates: 3",
        "data-role=\"web\"",
        "data-role=\"batch\"",
        "web-frontend (",
        "batch-jobs (",
        "web-1 [regular] TASK_RUNNING",
        "web-1 TASK_RUNNING",
        "<span class=\"kind-offer\">offer</span>",
        "<span class=\"kind-decline\">decline</span>",
        "2 / 2",
    ] {
        assert!(dom.contains(expected), "missing {expected:?} in:\n{dom}");
    }
    if let Some(path) = std::env::var_os("CORRAL_SCREENSHOT") {
        page.screenshot(std::path::Path::new(&path), 1280, 720)
            .await
            .expect("chromium takes the screenshot");
    }
    let _ = std::fs::remove_dir_all(&dir);
    master.shutdown().await.expect("shutdown");
}
