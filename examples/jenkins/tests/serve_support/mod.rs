//! Shared by the tests that run the real `jenkins serve` binary (`serve.rs`,
//! `web.rs`): start it on a loopback port of the OS's choosing, read the
//! address from its `listening on` line, speak HTTP/1.1 to it by hand, and
//! stop it with SIGTERM as an init system would.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// How long any one wait in these tests may take before it fails.
pub const LIMIT: Duration = Duration::from_secs(30);

/// A running `jenkins serve` on simulated agents.
pub struct Served {
    child: Child,
    /// `host:port` it listens on.
    pub addr: String,
}

impl Served {
    /// Starts `jenkins serve --listen 127.0.0.1:0 --simulated --work-dir
    /// WORK` plus `extra` arguments, and waits for its address.
    pub async fn start(work: &Path, extra: &[&std::ffi::OsStr]) -> Served {
        Served::start_with(work, extra, true).await
    }

    /// As [`Served::start`]; with `keep_reading` false its stdout is closed
    /// once the address is read, as when the output goes to a pipe that ends.
    pub async fn start_with(work: &Path, extra: &[&std::ffi::OsStr], keep_reading: bool) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_jenkins"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--simulated",
                "--work-dir",
            ])
            .arg(work)
            .args(extra)
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
        if keep_reading {
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        }
        Served { child, addr }
    }

    /// One HTTP/1.1 request with an empty body; the status line and the body.
    pub async fn request(&self, method: &str, path: &str) -> (String, String) {
        let addr = &self.addr;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
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

    /// Polls `path` until its body contains `needle` (fails after [`LIMIT`]).
    pub async fn wait_for(&self, path: &str, needle: &str) {
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            let (status, body) = self.request("GET", path).await;
            if status.contains(" 200 ") && body.contains(needle) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{path}: no {needle} in {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGTERM and asserts the process exits with success.
    pub async fn stop(mut self) {
        let pid = Pid::from_raw(i32::try_from(self.child.id().unwrap()).unwrap());
        kill(pid, Signal::SIGTERM).unwrap();
        let status = tokio::time::timeout(LIMIT, self.child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "{status}");
    }
}
