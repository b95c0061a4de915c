//! The mock master over a real TCP socket on loopback, in real time: the
//! one test that is not on the paused clock. Short intervals; every wait is
//! bounded.

#[path = "master_support.rs"]
mod support;

use std::time::Duration;

use corral::Resources;
use corral_proto::pb::TaskState;
use corral_testkit::master::{MasterConfig, MockMaster};
use support::*;

#[tokio::test]
async fn subscribe_launch_and_finish_over_tcp() {
    let config = MasterConfig::default()
        .agents(1, Resources::parse("cpus:2;mem:1024").expect("resources"))
        .allocation_interval(Duration::from_millis(20))
        .sim_step(Duration::from_millis(5))
        .heartbeat_interval(Duration::from_secs(1))
        .status_update_retry(Duration::from_millis(200));
    let master = MockMaster::start(config).await.expect("master listens");
    let addr = master.addr().expect("a TCP master has an address");
    assert!(addr.ip().is_loopback() && addr.port() != 0);
    assert_eq!(master.endpoint(), format!("http://{addr}"));

    let run = async {
        let mut s = Sched::subscribe(&master, framework_info("tcp", &["web"], &[]), &[]).await;
        let offer = s.next_offer().await;
        let fw = s.id.clone();
        let tasks = vec![task(
            "t1",
            &offer,
            "cpus:1;mem:64",
            &[("corral.sim/duration", "50")],
        )];
        s.send(accept_call(&fw, &[&offer.id], vec![launch(tasks)], None))
            .await
            .expect("accept");
        let mut states = Vec::new();
        while states.last() != Some(&TaskState::TaskFinished) {
            let update = s.next_update().await;
            s.ack(&update).await;
            states.push(state_of(&update));
        }
        assert_eq!(
            states,
            [
                TaskState::TaskStaging,
                TaskState::TaskStarting,
                TaskState::TaskRunning,
                TaskState::TaskFinished
            ]
        );
        s
    };
    let mut s = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the run finishes in time");

    tokio::time::timeout(Duration::from_secs(10), master.shutdown())
        .await
        .expect("shutdown in time")
        .expect("clean shutdown");
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while s.next_raw().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the event stream ends on shutdown");
}
