//! The `why-not-offered` command against a mock master on loopback: it
//! prints the master's answer (each cause itself is tested in
//! corral-testkit's `tests/observe_why.rs`), and fails with exit code 1
//! when nothing listens.

use std::process::Command;

use corral::Resources;
use corral_testkit::master::{MasterConfig, MockMaster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_prints_the_masters_answer() {
    let master = MockMaster::start(
        MasterConfig::default().agents(1, Resources::parse("cpus:1;mem:64").expect("res")),
    )
    .await
    .expect("master");
    let addr = master.addr().expect("tcp").to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_why-not-offered"))
            .args(["--master", &addr, "--framework", "ghost/1", "--role", "web"])
            .output()
            .expect("ran")
    })
    .await
    .expect("joined");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout.starts_with("ghost/1 under web: unknown_framework ("),
        "{stdout}"
    );
    master.shutdown().await.expect("shutdown");
    let nobody = Command::new(env!("CARGO_BIN_EXE_why-not-offered"))
        .args(["--master", "127.0.0.1:9", "--framework", "f", "--role", "r"])
        .output()
        .expect("ran");
    assert_eq!(nobody.status.code(), Some(1), "{nobody:?}");
}
