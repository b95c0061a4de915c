//! The web page in headless Chromium (Debian's `chromium` package; CI
//! installs it): `jenkins serve` on simulated agents with one slow build
//! running and one waiting, one quick build done; the page, loaded with
//! a build's log open, shows the queue, the running build with its agent,
//! the result and the log, as read from the DOM Chromium renders.
//!
//! Ignored by a plain `cargo test` (it needs the browser):
//! `cargo test -p jenkins --test web -- --ignored`.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

const LIMIT: Duration = Duration::from_secs(30);
const CHROMIUM: &str = "/usr/bin/chromium";

const JOBS: &str = "cloud: { max_agents: 2 }\n\
templates:\n\
\x20 linux: { cpus: 1, mem: 256, max_agents: 1, idle_minutes: 5 }\n\
\x20 fast: { cpus: 1, mem: 256, max_agents: 1, idle_minutes: 5 }\n\
jobs:\n\
\x20 - { name: slow, label: linux, steps: [ { sh: make world, simulated_seconds: 120 } ] }\n\
\x20 - { name: quick, label: fast, steps: [ { sh: echo hello from quick, simulated_seconds: 0.1 } ] }\n";

async fn http(addr: &str, method: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

async fn wait_for(addr: &str, path: &str, needle: &str) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        if http(addr, "GET", path).await.contains(needle) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path}: no {needle}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
#[ignore = "needs Debian's chromium (/usr/bin/chromium); CI installs it"]
async fn the_page_shows_queue_running_builds_results_and_a_log() {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: apt-get install chromium"
    );
    let dir = std::env::temp_dir().join(format!("jenkins-web-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let jobs = dir.join("jobs.yaml");
    std::fs::write(&jobs, JOBS).unwrap();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_jenkins"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--simulated",
            "--work-dir",
        ])
        .arg(dir.join("work"))
        .arg("--jobs")
        .arg(&jobs)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(serve.stdout.take().unwrap()).lines();
    let addr = tokio::time::timeout(LIMIT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(addr) = line.strip_prefix("listening on http://") {
                return addr.to_owned();
            }
        }
        panic!("no `listening on` line");
    })
    .await
    .unwrap();

    for job in ["slow", "slow", "quick"] {
        assert!(http(&addr, "POST", &format!("/job/{job}/build"))
            .await
            .contains(" 201 "));
    }
    wait_for(&addr, "/job/quick/1/api/json", "\"result\":\"SUCCESS\"").await;
    wait_for(&addr, "/job/slow/1/api/json", "\"building\":true").await;

    let profile = dir.join("chromium-profile");
    let page = format!("http://{addr}/?log=quick/1");
    let output = tokio::time::timeout(
        LIMIT,
        Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=5000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(&page)
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("chromium finished")
    .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    // Rendered by the page's script from the API, not in the HTML served.
    for expected in [
        "slow #1</a></td><td>on agent-linux-",
        "<td>#2</td><td>slow</td><td>Waiting for next available executor on \u{2018}linux\u{2019}</td>",
        "quick #1</a></td><td><span class=\"SUCCESS\">SUCCESS</span>",
        "hello from quick",
    ] {
        assert!(dom.contains(expected), "missing {expected:?} in:\n{dom}");
    }

    kill(
        Pid::from_raw(i32::try_from(serve.id().unwrap()).unwrap()),
        Signal::SIGTERM,
    )
    .unwrap();
    let status = tokio::time::timeout(LIMIT, serve.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    let _ = std::fs::remove_dir_all(&dir);
}
