//! The remote API against a controller on the virtual-time cluster,
//! called as a service (no socket): status codes, headers and the JSON
//! shapes Jenkins documents (our own test data: what its remote access
//! API pages show for a freestyle job, its builds, the queue and nodes).

mod support;

use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use corral::Resources;
use corral_testkit::{Cluster, MasterConfig};
use jenkins::api;
use serde_json::Value;
use support::{launch, ROLE};
use tower::ServiceExt;

const JOBS: &str = "cloud: { max_agents: 2 }\n\
templates:\n  linux: { cpus: 1, mem: 256, max_agents: 1, idle_minutes: 1 }\n\
jobs:\n\
\x20 - name: compile\n\
\x20   label: linux\n\
\x20   parameters: [ { name: BRANCH, default: main } ]\n\
\x20   steps: [ { sh: make, simulated_seconds: 2 }, { sh: make check, simulated_seconds: 1 } ]\n";

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn call(app: &Router, method: Method, uri: &str) -> Answer {
    send(app, method, uri, "").await
}

async fn send(app: &Router, method: Method, uri: &str, form: &str) -> Answer {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "ci.example:8080")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

async fn setup() -> (Cluster, Router) {
    let config = MasterConfig::default()
        .agents(1, Resources::parse("cpus:4;mem:4096").unwrap())
        .role(ROLE, 1.0)
        .allocation_interval(Duration::from_millis(100));
    let mut cluster = Cluster::start(config).await.unwrap();
    let (_running, injector) = launch(&mut cluster, JOBS).await;
    (cluster, api::router(injector))
}

#[tokio::test(start_paused = true)]
async fn a_build_triggered_over_the_api_is_followed_from_queue_item_to_result() {
    let (cluster, app) = setup().await;

    let root = call(&app, Method::GET, "/api/json").await;
    assert_eq!(root.status, StatusCode::OK);
    let root = root.json();
    assert_eq!(root["_class"], "hudson.model.Hudson");
    assert_eq!(root["useSecurity"], false);
    assert_eq!(root["jobs"][0]["name"], "compile");
    assert_eq!(
        root["jobs"][0]["url"],
        "http://ci.example:8080/job/compile/"
    );
    assert_eq!(root["jobs"][0]["color"], "notbuilt");

    // buildWithParameters: 201 and the queue item's URL.
    let created = call(
        &app,
        Method::POST,
        "/job/compile/buildWithParameters?BRANCH=dev&UNDEFINED=x",
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(
        created.header("location"),
        Some("http://ci.example:8080/queue/item/1/")
    );
    let queued = call(&app, Method::GET, "/queue/api/json").await.json();
    assert_eq!(queued["_class"], "hudson.model.Queue");
    let item = &queued["items"][0];
    assert_eq!(item["_class"], "hudson.model.Queue$BuildableItem");
    assert_eq!(item["id"], 1);
    assert_eq!(item["task"]["name"], "compile");
    assert!(item["why"].as_str().unwrap().contains("linux"), "{item}");

    // Once an agent runs it, the item has left the queue for build #1.
    cluster.advance(Duration::from_secs(1)).await;
    let left = call(&app, Method::GET, "/queue/item/1/api/json")
        .await
        .json();
    assert_eq!(left["_class"], "hudson.model.Queue$LeftItem");
    assert_eq!(left["cancelled"], false);
    assert_eq!(left["executable"]["number"], 1);
    assert_eq!(
        left["executable"]["url"],
        "http://ci.example:8080/job/compile/1/"
    );
    let running = call(&app, Method::GET, "/job/compile/1/api/json")
        .await
        .json();
    assert_eq!(running["_class"], "hudson.model.FreeStyleBuild");
    assert_eq!(running["building"], true);
    assert_eq!(running["result"], Value::Null);
    assert_eq!(running["queueId"], 1);
    assert!(running["timestamp"].as_u64().unwrap() > 0);
    // The job defines BRANCH only: UNDEFINED is dropped, as Jenkins does.
    let params = running["actions"][0]["parameters"].as_array().unwrap();
    assert_eq!(params.len(), 1, "{params:?}");
    assert_eq!(
        (params[0]["name"].as_str(), params[0]["value"].as_str()),
        (Some("BRANCH"), Some("dev"))
    );
    let nodes = call(&app, Method::GET, "/computer/api/json").await.json();
    assert_eq!(nodes["_class"], "hudson.model.ComputerSet");
    assert_eq!(nodes["busyExecutors"], 1);
    assert_eq!(nodes["computer"][0]["idle"], false);
    assert_eq!(nodes["computer"][0]["assignedLabels"][0]["name"], "linux");
    let job = call(&app, Method::GET, "/job/compile/api/json")
        .await
        .json();
    assert_eq!(job["color"], "notbuilt_anime");
    assert_eq!(job["nextBuildNumber"], 2);
    assert_eq!(job["lastBuild"]["number"], 1);
    assert_eq!(job["lastCompletedBuild"], Value::Null);
    assert_eq!(
        job["property"][0]["parameterDefinitions"][0]["defaultParameterValue"]["value"],
        "main"
    );

    // The log, progressively: the first read says there is more.
    let first = call(
        &app,
        Method::GET,
        "/job/compile/1/logText/progressiveText?start=0",
    )
    .await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.header("x-more-data"), Some("true"));
    let size: usize = first.header("x-text-size").unwrap().parse().unwrap();
    assert_eq!(size, first.body.len());
    assert!(String::from_utf8_lossy(&first.body).contains("+ make"));

    // Done: 3 s of simulated steps.
    cluster.advance(Duration::from_secs(5)).await;
    let done = call(&app, Method::GET, "/job/compile/1/api/json")
        .await
        .json();
    assert_eq!(done["building"], false);
    assert_eq!(done["result"], "SUCCESS");
    assert_eq!(done["duration"], 3000);
    assert_eq!(done["fullDisplayName"], "compile #1");
    let rest = call(
        &app,
        Method::GET,
        &format!("/job/compile/1/logText/progressiveText?start={size}"),
    )
    .await;
    assert_eq!(rest.header("x-more-data"), None, "done: no more data");
    assert!(rest.body.is_empty());
    let console = call(&app, Method::GET, "/job/compile/1/consoleText").await;
    assert_eq!(
        console.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(String::from_utf8_lossy(&console.body).contains("+ make check"));
    let job = call(&app, Method::GET, "/job/compile/api/json")
        .await
        .json();
    assert_eq!(job["color"], "blue");
    assert_eq!(job["lastSuccessfulBuild"]["number"], 1);
    assert_eq!(job["builds"][0]["number"], 1);
}

#[tokio::test(start_paused = true)]
async fn stop_aborts_and_errors_have_jenkins_status_codes() {
    let (cluster, app) = setup().await;
    let created = call(&app, Method::POST, "/job/compile/build").await;
    assert_eq!(created.status, StatusCode::CREATED);
    cluster.advance(Duration::from_secs(1)).await;
    let stopped = call(&app, Method::POST, "/job/compile/1/stop").await;
    assert_eq!(stopped.status, StatusCode::FOUND);
    assert_eq!(
        stopped.header("location"),
        Some("http://ci.example:8080/job/compile/1/")
    );
    let build = call(&app, Method::GET, "/job/compile/1/api/json")
        .await
        .json();
    assert_eq!(build["result"], "ABORTED");
    let job = call(&app, Method::GET, "/job/compile/api/json")
        .await
        .json();
    assert_eq!(job["color"], "aborted");

    // Unsecured Jenkins: no crumb issuer.
    for uri in [
        "/crumbIssuer/api/json",
        "/job/nope/api/json",
        "/job/compile/9/api/json",
        "/job/compile/x/consoleText",
        "/queue/item/99/api/json",
    ] {
        assert_eq!(
            call(&app, Method::GET, uri).await.status,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
    assert_eq!(
        call(&app, Method::POST, "/job/nope/build").await.status,
        StatusCode::NOT_FOUND
    );
    // A parameter the job does not define is dropped, not refused (as
    // Jenkins does); the first test checks it is not passed on.
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/job/compile/buildWithParameters?NOPE=1"
        )
        .await
        .status,
        StatusCode::CREATED
    );
    assert_eq!(
        call(&app, Method::POST, "/job/compile/77/stop")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// The value of `series` (a name with its label set, as written in the
/// exposition) in a scrape, `None` when the scrape lacks it.
fn figure(scrape: &str, series: &str) -> Option<f64> {
    scrape
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            (key == series).then(|| value.parse().ok()).flatten()
        })
}

#[tokio::test(start_paused = true)]
async fn prometheus_exports_the_plugins_figures_of_one_instant() {
    let (cluster, app) = setup().await;
    let scrape = |app: Router| async move {
        let answer = call(&app, Method::GET, "/prometheus/").await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer
            .header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text"));
        String::from_utf8(answer.body).unwrap()
    };

    let idle = scrape(app.clone()).await;
    assert_eq!(figure(&idle, "default_jenkins_up"), Some(1.0), "{idle}");
    assert_eq!(
        figure(&idle, "default_jenkins_executors_defined{label=\"linux\"}"),
        Some(0.0),
        "a job's label is listed before any agent has it: {idle}"
    );
    assert_eq!(
        figure(
            &idle,
            "default_jenkins_builds_total_build_count{jenkins_job=\"compile\"}"
        ),
        Some(0.0)
    );
    assert_eq!(
        figure(
            &idle,
            "default_jenkins_builds_last_build_result_ordinal{jenkins_job=\"compile\"}"
        ),
        None,
        "no build has finished"
    );

    // Two builds, one agent allowed: one runs, one waits.
    for _ in 0..2 {
        let created = call(&app, Method::POST, "/job/compile/build").await;
        assert_eq!(created.status, StatusCode::CREATED);
    }
    cluster.advance(Duration::from_secs(1)).await;
    let busy = scrape(app.clone()).await;
    for (series, want) in [
        ("default_jenkins_executors_defined{label=\"linux\"}", 1.0),
        ("default_jenkins_executors_online{label=\"linux\"}", 1.0),
        ("default_jenkins_executors_connecting{label=\"linux\"}", 0.0),
        ("default_jenkins_executors_busy{label=\"linux\"}", 1.0),
        ("default_jenkins_executors_idle{label=\"linux\"}", 0.0),
        ("default_jenkins_executors_available{label=\"linux\"}", 0.0),
        (
            "default_jenkins_executors_queue_length{label=\"linux\"}",
            1.0,
        ),
        ("corral_jenkins_agents_revocable{label=\"linux\"}", 0.0),
    ] {
        assert_eq!(figure(&busy, series), Some(want), "{series} in {busy}");
    }
    let nodes = call(&app, Method::GET, "/computer/api/json").await.json();
    let agent = nodes["computer"][0]["displayName"].as_str().unwrap();
    assert_eq!(
        figure(
            &busy,
            &format!("default_jenkins_nodes_online{{node=\"{agent}\"}}")
        ),
        Some(1.0),
        "{busy}"
    );

    // Both done (3 s each, one after the other on the one agent), then a
    // third stopped while it runs: the last result is an abort.
    cluster.advance(Duration::from_secs(8)).await;
    let done = scrape(app.clone()).await;
    let job = |name: &str| format!("default_jenkins_builds_{name}{{jenkins_job=\"compile\"}}");
    assert_eq!(
        figure(&done, &job("success_build_count")),
        Some(2.0),
        "{done}"
    );
    assert_eq!(figure(&done, &job("total_build_count")), Some(2.0));
    assert_eq!(figure(&done, &job("last_build_result_ordinal")), Some(0.0));
    assert_eq!(
        figure(&done, &job("last_build_duration_milliseconds")),
        Some(3000.0)
    );
    assert_eq!(
        figure(
            &done,
            "default_jenkins_executors_queue_length{label=\"linux\"}"
        ),
        Some(0.0)
    );
    // The agent stays a minute idle (`idle_minutes: 1`), ready for more.
    for (series, want) in [
        ("default_jenkins_executors_busy{label=\"linux\"}", 0.0),
        ("default_jenkins_executors_idle{label=\"linux\"}", 1.0),
        ("default_jenkins_executors_available{label=\"linux\"}", 1.0),
    ] {
        assert_eq!(figure(&done, series), Some(want), "{series} in {done}");
    }

    call(&app, Method::POST, "/job/compile/build").await;
    cluster.advance(Duration::from_secs(1)).await;
    let stopped = call(&app, Method::POST, "/job/compile/3/stop").await;
    assert_eq!(stopped.status, StatusCode::FOUND);
    let aborted = scrape(app).await;
    assert_eq!(
        figure(&aborted, &job("aborted_build_count")),
        Some(1.0),
        "{aborted}"
    );
    assert_eq!(figure(&aborted, &job("total_build_count")), Some(3.0));
    assert_eq!(
        figure(&aborted, &job("last_build_result_ordinal")),
        Some(4.0)
    );
}
