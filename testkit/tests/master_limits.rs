//! The master's bounds over gRPC (in-memory transport, paused clock): a
//! subscriber that stops reading is disconnected once its bounded event
//! queue is full, while a framework beside it is unaffected; the cap on
//! connected frameworks refuses one more.

#[path = "master_support.rs"]
mod support;

use std::time::Duration;

use corral::pb;
use corral::Resources;
use corral_testkit::master::{MasterConfig, MockMaster};
use support::*;

const EVENTS: usize = 100_000;

fn config() -> MasterConfig {
    MasterConfig::default()
        .agents(1, Resources::parse("cpus:4;mem:4096").expect("resources"))
        .heartbeat_interval(Duration::from_millis(1))
        .seed(11)
}

#[tokio::test(start_paused = true)]
async fn a_subscriber_that_never_reads_is_disconnected_and_its_neighbour_is_unaffected() {
    let master = MockMaster::start_in_memory(config()).await.expect("master");
    // It reads SUBSCRIBED, then never again.
    let slow = Sched::subscribe(&master, framework_info("slow", &["*"], &[]), &[]).await;
    let mut good = Sched::subscribe(&master, framework_info("good", &["*"], &[]), &[]).await;
    eprintln!("DEBUG start {:?}", master.state().await.unwrap().frameworks.iter().map(|f| (f.name.clone(), f.active)).collect::<Vec<_>>());
    let mut read = 0;
    while read < EVENTS {
        good.next_raw().await.expect("the good framework's stream stays open");
        read += 1;
        if read % 10_000 == 0 {
            let stats = master.queue_stats().await.expect("stats");
            eprintln!("DEBUG {read} {stats:?} {:?}", master.state().await.unwrap().frameworks.iter().map(|f| (f.name.clone(), f.active)).collect::<Vec<_>>());
            assert!(
                stats.peak <= stats.capacity,
                "a queue grew past its bound: {stats:?}"
            );
        }
    }
    let stats = master.queue_stats().await.expect("stats");
    assert_eq!(stats.capacity, 1024, "the default bound");
    assert!(stats.peak <= stats.capacity, "{stats:?}");
    assert_eq!(stats.peak, stats.capacity, "the slow queue filled up: {stats:?}");
    assert_eq!(stats.slow_disconnects, 1, "{stats:?}");
    let state = master.state().await.expect("state");
    let of = |id| {
        state
            .frameworks
            .iter()
            .find(|f| &f.id == id)
            .expect("registered")
            .clone()
    };
    assert!(!of(&slow.id).active, "the slow subscriber is disconnected");
    assert!(of(&good.id).active, "the good one is still connected");
    // The good framework still talks to the master.
    good.send(call(&good.id, pb::call::Type::Revive))
        .await
        .expect("a call from the good framework is accepted");
    master.shutdown().await.expect("shutdown");
}

#[tokio::test(start_paused = true)]
async fn the_cap_on_connected_frameworks_refuses_one_more() {
    let master = MockMaster::start_in_memory(config().max_connected_frameworks(2))
        .await
        .expect("master");
    let _a = Sched::subscribe(&master, framework_info("a", &["*"], &[]), &[]).await;
    let b = Sched::subscribe(&master, framework_info("b", &["*"], &[]), &[]).await;
    let mut client = master.client().await.expect("client");
    let refused = client
        .subscribe(subscribe_call(framework_info("c", &["*"], &[]), &[]))
        .await
        .expect_err("a third framework is refused");
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("at most 2"), "{refused:?}");
    // Once one leaves, there is room again.
    drop(b);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let _c = Sched::subscribe(&master, framework_info("c", &["*"], &[]), &[]).await;
    master.shutdown().await.expect("shutdown");
}
