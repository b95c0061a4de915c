//! The master's bounds over gRPC (in-memory transport, paused clock): the
//! cap on connected frameworks refuses one more. (The bounded event queue
//! of a subscriber that stops reading is tested in the crate, on the
//! actor's streams: over HTTP/2 the client's own flow control cuts such a
//! reader off first.)

#[path = "master_support.rs"]
mod support;

use std::time::Duration;

use corral::Resources;
use corral_testkit::master::{MasterConfig, MockMaster};
use support::*;

fn config() -> MasterConfig {
    MasterConfig::default()
        .agents(1, Resources::parse("cpus:4;mem:4096").expect("resources"))
        .heartbeat_interval(Duration::from_millis(1))
        .seed(11)
}

#[tokio::test(start_paused = true)]
async fn the_cap_on_connected_frameworks_refuses_one_more() {
    let master = MockMaster::start_in_memory(config().max_connected_frameworks(2))
        .await
        .expect("master");
    let _a = Sched::subscribe(&master, framework_info("a", &["*"], &[]), &[]).await;
    let b = Sched::subscribe(&master, framework_info("b", &["*"], &[]), &[]).await;
    let mut client = corral_testkit::wire::client(&master).await.expect("client");
    let refused = client
        .subscribe(subscribe_call(framework_info("c", &["*"], &[]), &[]))
        .await
        .expect_err("a third framework is refused");
    assert_eq!(
        refused.code(),
        tonic::Code::ResourceExhausted,
        "{refused:?}"
    );
    assert!(refused.message().contains("at most 2"), "{refused:?}");
    // Once one leaves, there is room again.
    drop(b);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let _c = Sched::subscribe(&master, framework_info("c", &["*"], &[]), &[]).await;
    master.shutdown().await.expect("shutdown");
}
