//! The mock master over a real TCP socket on loopback, in real time: the
//! one file that is not on the paused clock. Short intervals; every wait is
//! bounded. The raw gRPC client first, then the SDK over every wire
//! (`support/wires.rs`: gRPC, and the Mesos HTTP door in protobuf and
//! JSON), both doors on the one address.

#[path = "master_support.rs"]
mod support;
#[path = "support/wires.rs"]
mod wires;

use std::time::Duration;

use corral::{CommandInfo, Driver, Event, Framework, FrameworkInfo, Resources, TaskInfo};
use corral_proto::pb::TaskState;
use corral_testkit::master::{MasterConfig, MockMaster};
use futures::StreamExt;
use support::*;
use wires::Wire;

fn tcp_config() -> MasterConfig {
    MasterConfig::default()
        .agents(1, Resources::parse("cpus:2;mem:1024").expect("resources"))
        .allocation_interval(Duration::from_millis(20))
        .sim_step(Duration::from_millis(5))
        .heartbeat_interval(Duration::from_secs(1))
        .status_update_retry(Duration::from_millis(200))
}

wires::over_every_wire_real_time!(sdk_subscribes_launches_and_finishes_over_tcp);

#[tokio::test]
async fn subscribe_launch_and_finish_over_tcp() {
    let master = MockMaster::start(tcp_config())
        .await
        .expect("master listens");
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

/// The SDK on the TCP master: subscribe, launch one task, see it through
/// STAGING, STARTING, RUNNING and FINISHED, every update acknowledged; the
/// master's shutdown reaches the framework as a disconnection.
async fn sdk_subscribes_launches_and_finishes_over_tcp(wire: Wire) {
    let master = MockMaster::start(tcp_config())
        .await
        .expect("master listens");
    let transport = wire.transport(&master).await;
    let info = FrameworkInfo::new("tcp-sdk").with_roles(["web"]);
    let (driver, mut events) = Framework::new(info, transport).into_stream();
    let run = async {
        let mut states = Vec::new();
        while states.last() != Some(&corral::TaskState::Finished) {
            match events.next().await.expect("the event stream ended") {
                Event::Offers(offers) if states.is_empty() => {
                    let task = TaskInfo::new("t1")
                        .with_command(CommandInfo::shell("simulated"))
                        .with_resources(Resources::new().with_cpus(1.0).with_mem(64.0))
                        .with_label("corral.sim/duration", "50");
                    driver.launch(&offers[0], vec![task]).await.expect("launch");
                    states.push(corral::TaskState::Staging);
                }
                Event::Update(status)
                    if status.task_id.as_str() == "t1"
                        && status.state != corral::TaskState::Staging =>
                {
                    states.push(status.state);
                }
                _ => {}
            }
        }
        assert_eq!(
            states,
            [
                corral::TaskState::Staging,
                corral::TaskState::Starting,
                corral::TaskState::Running,
                corral::TaskState::Finished
            ]
        );
        // The last update's acknowledgement goes out with the next poll,
        // and reaches the master soon after.
        let id = driver.framework_id().expect("id");
        let mut pending = usize::MAX;
        for _ in 0..100 {
            let _ = tokio::time::timeout(Duration::from_millis(20), events.next()).await;
            let state = master.state().await.expect("state");
            pending = state.framework(&id).expect("fw").pending_updates;
            if pending == 0 {
                break;
            }
        }
        assert_eq!(pending, 0, "every update acknowledged");
    };
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the run finishes in time");
    tokio::time::timeout(Duration::from_secs(10), master.shutdown())
        .await
        .expect("shutdown in time")
        .expect("clean shutdown");
    let gone = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.next().await {
                Some(Event::Disconnected(_)) | None => return,
                _ => {}
            }
        }
    })
    .await;
    assert!(gone.is_ok(), "the shutdown reaches the framework");
    driver.stop();
}
