//! `jenkins serve`, end to end: the binary prints where it listens, takes
//! a build over HTTP as a Jenkins script would (`curl -X POST
//! …/job/NAME/build`), reports it done through `api/json`, and on SIGTERM
//! stops every agent and exits. Loopback only, simulated agents.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

const LIMIT: Duration = Duration::from_secs(20);

/// One HTTP/1.1 request; returns the status line and the body.
async fn http(addr: &str, method: &str, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let status = answer.lines().next().unwrap_or_default().to_owned();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn serve_takes_builds_over_http_and_stops_cleanly_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("jenkins-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_jenkins"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--simulated",
            "--work-dir",
        ])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
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

    let (status, _) = http(&addr, "POST", "/job/compile/build").await;
    assert!(status.contains(" 201 "), "{status}");
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let (status, body) = http(&addr, "GET", "/job/compile/1/api/json").await;
        if status.contains(" 200 ") && body.contains("\"result\":\"SUCCESS\"") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{status} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let pid = Pid::from_raw(i32::try_from(child.id().unwrap()).unwrap());
    kill(pid, Signal::SIGTERM).unwrap();
    let status = tokio::time::timeout(LIMIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    let _ = std::fs::remove_dir_all(&dir);
}
