//! The actor's bounded event queues, driven through its command channel
//! with the streams it hands out (no HTTP/2 in between, whose own flow
//! control would otherwise decide when a slow reader is cut off).

use corral_proto::convert::*;
use std::time::Duration;

use corral::{FrameworkInfo, Resources};
use corral_proto::pb;
use futures::StreamExt;
use tokio::sync::oneshot;

use super::commands::{Command, Commands, EventStream};
use super::server::{queue_stats, spawn_actor, state};
use super::{MasterConfig, MasterCore};

const EVENTS: usize = 100_000;

async fn subscribe(commands: &Commands, name: &str) -> EventStream {
    let mut info = FrameworkInfo::new(name);
    info.failover_timeout = Duration::from_secs(3600);
    let call = pb::Call {
        r#type: Some(pb::call::Type::Subscribe as i32),
        subscribe: Some(pb::call::Subscribe {
            framework_info: info.to_pb(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let (reply, answer) = oneshot::channel();
    let sent = commands.send(Command::Subscribe {
        call,
        has_stream_id: false,
        reply,
    });
    sent.await.expect("actor running");
    answer.await.expect("an answer").expect("subscribed").1
}

#[tokio::test(start_paused = true)]
async fn a_subscriber_that_never_reads_is_disconnected_and_its_neighbour_is_unaffected() {
    let config = MasterConfig::default()
        .agents(1, Resources::parse("cpus:4;mem:4096").unwrap())
        .heartbeat_interval(Duration::from_millis(1))
        .seed(11);
    let capacity = config.event_queue_capacity;
    let (commands, actor) = spawn_actor(MasterCore::new(config).unwrap());
    // Never read.
    let slow = subscribe(&commands, "slow").await;
    let mut good = subscribe(&commands, "good").await;
    let mut read = 0;
    while read < EVENTS {
        let event = good.next().await.expect("the good stream stays open");
        event.expect("an event, not an error");
        read += 1;
        if read % 10_000 == 0 {
            let stats = queue_stats(&commands).await.expect("stats");
            assert!(
                stats.peak <= capacity,
                "a queue grew past its bound: {stats:?}"
            );
        }
    }
    let stats = queue_stats(&commands).await.expect("stats");
    assert_eq!(stats.capacity, capacity);
    assert_eq!(
        stats.peak, capacity,
        "the slow queue filled up, no more: {stats:?}"
    );
    assert_eq!(stats.slow_disconnects, 1, "{stats:?}");
    let frameworks = state(&commands).await.expect("state").frameworks;
    let active = |name: &str| frameworks.iter().find(|f| f.name == name).map(|f| f.active);
    assert_eq!(
        active("slow"),
        Some(false),
        "disconnected, within its failover timeout"
    );
    assert_eq!(
        active("good"),
        Some(true),
        "the neighbour is still connected"
    );
    // What was queued for the slow subscriber is still readable, then its
    // stream ends.
    let left = slow.count().await;
    assert_eq!(
        left, capacity,
        "SUBSCRIBED and heartbeats fill the queue, then it ends"
    );
    drop(good);
    drop(commands);
    actor
        .await
        .expect("the actor stops once nobody can reach it");
}
