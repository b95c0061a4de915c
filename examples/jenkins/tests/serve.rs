//! `jenkins serve`, end to end: the binary prints where it listens, takes
//! a build over HTTP as a Jenkins script would (`curl -X POST
//! …/job/NAME/build`), reports it done through `api/json`, and on SIGTERM
//! stops every agent and exits, even when nobody reads its output.
//! Loopback only, simulated agents.

mod serve_support;

use serve_support::Served;

#[tokio::test]
async fn serve_takes_builds_over_http_and_stops_cleanly_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("jenkins-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let served = Served::start(&dir, &[]).await;

    let (status, _) = served.request("POST", "/job/compile/build").await;
    assert!(status.contains(" 201 "), "{status}");
    served
        .wait_for("/job/compile/1/api/json", "\"result\":\"SUCCESS\"")
        .await;

    served.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn sigterm_stops_it_cleanly_even_when_its_stdout_is_closed() {
    let dir = std::env::temp_dir().join(format!("jenkins-serve-closed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let served = Served::start_with(&dir, &[], false).await;
    served.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
