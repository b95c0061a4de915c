//! The web page in headless Chromium (Debian's `chromium` package; CI
//! installs it): `jenkins serve` on simulated agents with one slow build
//! running and one waiting, one quick build done; the page, loaded with
//! a build's log open, shows the queue, the running build with its agent,
//! the result and the log, as read from the DOM Chromium renders.
//!
//! Ignored by a plain `cargo test` (it needs the browser):
//! `cargo test -p jenkins --test web -- --ignored`.

mod serve_support;

use std::time::Duration;

use corral_testkit::browser::Page;
use serve_support::Served;

const JOBS: &str = "cloud: { max_agents: 2 }\n\
templates:\n\
\x20 linux: { cpus: 1, mem: 256, max_agents: 1, idle_minutes: 5 }\n\
\x20 fast: { cpus: 1, mem: 256, max_agents: 1, idle_minutes: 5 }\n\
jobs:\n\
\x20 - { name: slow, label: linux, steps: [ { sh: make world, simulated_seconds: 120 } ] }\n\
\x20 - { name: quick, label: fast, steps: [ { sh: echo hello from quick, simulated_seconds: 0.1 } ] }\n";

#[tokio::test]
#[ignore = "needs Debian's chromium (/usr/bin/chromium); CI installs it"]
async fn the_page_shows_queue_running_builds_results_and_a_log() {
    let dir = std::env::temp_dir().join(format!("jenkins-web-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let jobs = dir.join("jobs.yaml");
    std::fs::write(&jobs, JOBS).unwrap();
    let served = Served::start(&dir.join("work"), &["--jobs".as_ref(), jobs.as_os_str()]).await;
    let addr = served.addr.clone();

    for job in ["slow", "slow", "quick"] {
        let (status, _) = served.request("POST", &format!("/job/{job}/build")).await;
        assert!(status.contains(" 201 "), "{status}");
    }
    served
        .wait_for("/job/quick/1/api/json", "\"result\":\"SUCCESS\"")
        .await;
    served
        .wait_for("/job/slow/1/api/json", "\"building\":true")
        .await;

    let dom = Page::new(format!("http://{addr}/?log=quick/1"), &dir)
        .script_time(Duration::from_secs(5))
        .dom()
        .await
        .expect("chromium renders the page");
    // Rendered by the page's script from the API, not in the HTML served.
    for expected in [
        "slow #1</a></td><td>on agent-linux-",
        "<td>#2</td><td>slow</td><td>Waiting for next available executor on \u{2018}linux\u{2019}</td>",
        "quick #1</a></td><td><span class=\"SUCCESS\">SUCCESS</span>",
        "hello from quick",
    ] {
        assert!(dom.contains(expected), "missing {expected:?} in:\n{dom}");
    }

    served.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
