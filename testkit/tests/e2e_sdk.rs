//! End to end: a framework written with the SDK against the mock master,
//! on tokio's paused clock, over every wire (`support/wires.rs`): real
//! gRPC and the Mesos HTTP door (protobuf and JSON) through the SDK's
//! `HttpTransport`, both on the in-memory master's pipes. One body per
//! scenario; each runs as `scenario::grpc`, `scenario::http_protobuf`
//! and `scenario::http_json`.

#[path = "support/wires.rs"]
mod wires;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use corral::{
    AckMode, Call, CommandInfo, Config, Driver, DriverHandle, Error, Event, EventStream, Framework,
    FrameworkInfo, InvalidLaunch, Offer, RejectKind, Resources, Role, Session, Subscribe,
    Subscription, TaskId, TaskInfo, TaskState, TaskStatus, Transport, TransportError,
};
use corral_proto::convert::call_to_pb;
use corral_proto::pb;
use corral_testkit::{MasterConfig, MockMaster};
use futures::StreamExt;
use wires::{AnyWire, Wire};

/// Wraps a transport and records every call sent through it.
#[derive(Clone)]
struct Counting {
    inner: AnyWire,
    calls: Arc<Mutex<Vec<pb::Call>>>,
}

impl Counting {
    fn acks(&self) -> Vec<(String, Vec<u8>)> {
        let calls = self.calls.lock().unwrap();
        calls
            .iter()
            .filter_map(|c| c.acknowledge.as_ref())
            .map(|a| (a.task_id.value.clone(), a.uuid.clone()))
            .collect()
    }
}

#[async_trait]
impl Transport for Counting {
    async fn subscribe(&self, call: Subscribe) -> Result<Subscription, TransportError> {
        self.inner.subscribe(call).await
    }

    async fn send(&self, session: &Session, call: Call) -> Result<(), TransportError> {
        let wire = call_to_pb(Some(&session.framework_id), &call);
        self.calls.lock().unwrap().push(wire);
        self.inner.send(session, call).await
    }
}

wires::over_every_wire!(
    two_roles_launch_run_finish_and_every_update_is_acked_once,
    kill_with_grace_goes_through_killing_to_killed,
    decline_filter_keeps_the_agent_away_until_it_expires,
    suppress_stops_offers_for_one_role_and_revive_restores_them,
    bad_calls_get_clear_errors
);

fn agent_resources() -> Resources {
    Resources::parse("cpus:4;mem:4096;ports:[31000-31099]").unwrap()
}

async fn master(agents: usize) -> MockMaster {
    let config = MasterConfig::default()
        .agents(agents, agent_resources())
        .role("analytics", 1.0)
        .role("web", 1.0)
        .allocation_interval(Duration::from_millis(100));
    MockMaster::start_in_memory(config).await.unwrap()
}

async fn connect(
    master: &MockMaster,
    wire: Wire,
    info: FrameworkInfo,
    config: Config,
) -> (DriverHandle, EventStream, Counting) {
    let transport = Counting {
        inner: wire.transport(master).await,
        calls: Arc::default(),
    };
    let (driver, events) = Framework::with_config(info, config, transport.clone()).into_stream();
    (driver, events, transport)
}

/// The next event for which `pick` returns Some, skipping others; bounded
/// in events and in (virtual) time.
async fn next<T>(events: &mut EventStream, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
    let found = tokio::time::timeout(Duration::from_secs(600), async {
        for _ in 0..10_000 {
            let event = events.next().await.expect("the event stream ended");
            if let Some(found) = pick(&event) {
                return found;
            }
        }
        panic!("no matching event in 10,000 events");
    })
    .await;
    found.expect("no matching event within 10 virtual minutes")
}

fn offers_of(event: &Event) -> Option<Vec<Offer>> {
    match event {
        Event::Offers(offers) => Some(offers.clone()),
        _ => None,
    }
}

fn task(id: &str, ms: u64) -> TaskInfo {
    TaskInfo::new(id)
        .with_command(CommandInfo::shell(format!("sleep {}", ms as f64 / 1000.0)))
        .with_resources(Resources::new().with_cpus(1.0).with_mem(128.0))
        .with_label("corral.sim/duration", ms.to_string())
}

async fn two_roles_launch_run_finish_and_every_update_is_acked_once(wire: Wire) {
    let master = master(2).await;
    let info = FrameworkInfo::new("e2e").with_roles(["analytics", "web"]);
    let (driver, mut events, wire) = connect(&master, wire, info, Config::default()).await;

    // Offers for both roles, and a task launched on one offer of each.
    let mut launched_roles = BTreeSet::new();
    while launched_roles.len() < 2 {
        for offer in next(&mut events, offers_of).await {
            if launched_roles.insert(offer.role.clone()) {
                let id = format!("task-{}", offer.role);
                driver.launch(&offer, vec![task(&id, 500)]).await.unwrap();
            }
        }
    }
    assert_eq!(
        launched_roles,
        BTreeSet::from([Role::from("analytics"), Role::from("web")])
    );

    // Each task goes STAGING, STARTING, RUNNING, FINISHED, in order.
    let mut seen: BTreeMap<TaskId, Vec<TaskState>> = BTreeMap::new();
    while seen
        .values()
        .filter(|s| s.last() == Some(&TaskState::Finished))
        .count()
        < 2
    {
        let status = next(&mut events, |e| match e {
            Event::Update(s) => Some(s.clone()),
            _ => None,
        })
        .await;
        assert!(status.uuid.is_some(), "task updates carry a uuid");
        seen.entry(status.task_id.clone())
            .or_default()
            .push(status.state);
    }
    for (task, states) in &seen {
        assert_eq!(
            states,
            &vec![
                TaskState::Staging,
                TaskState::Starting,
                TaskState::Running,
                TaskState::Finished
            ],
            "{task}"
        );
    }
    // Let the last ack go out, then let the master's resend timers pass.
    let _ = tokio::time::timeout(Duration::from_secs(60), events.next()).await;
    let acks = wire.acks();
    let unique: BTreeSet<_> = acks.iter().cloned().collect();
    assert_eq!(acks.len(), 8, "4 updates for each of 2 tasks: {acks:?}");
    assert_eq!(unique.len(), acks.len(), "no update acknowledged twice");
    let state = master.state().await.unwrap();
    let fw = state.framework(&driver.framework_id().unwrap()).unwrap();
    assert_eq!(
        fw.pending_updates, 0,
        "the master holds no unacknowledged update"
    );
    driver.stop();
    events.finish().await.unwrap();
}

async fn kill_with_grace_goes_through_killing_to_killed(wire: Wire) {
    let master = master(1).await;
    let info = FrameworkInfo::new("killer").with_roles(["web"]);
    let (driver, mut events, _) = connect(&master, wire, info, Config::default()).await;
    let offer = next(&mut events, offers_of).await.remove(0);
    let long = TaskInfo::new("long")
        .with_command(CommandInfo::shell("serve-forever"))
        .with_resources(Resources::new().with_cpus(1.0))
        .with_label("corral.sim/cleanup", "3000"); // runs until killed, needs 3 s to clean up
    driver.launch(&offer, vec![long]).await.unwrap();
    next(&mut events, |e| {
        matches!(e, Event::Update(s) if s.state == TaskState::Running).then_some(())
    })
    .await;

    let grace = Duration::from_secs(10);
    let asked = tokio::time::Instant::now();
    driver
        .kill(&TaskId::from("long"), Some(grace))
        .await
        .unwrap();
    let killing = next(&mut events, |e| match e {
        Event::Update(s) => Some(s.clone()),
        _ => None,
    })
    .await;
    assert_eq!(killing.state, TaskState::Killing);
    let killed = next(&mut events, |e| match e {
        Event::Update(s) => Some(s.clone()),
        _ => None,
    })
    .await;
    assert_eq!(killed.state, TaskState::Killed);
    let took = asked.elapsed();
    assert!(
        took >= Duration::from_secs(3) && took <= grace,
        "killed after its 3 s cleanup, within grace: {took:?}"
    );

    // A task that ignores its kill is forced at the grace period.
    let offer = next(&mut events, offers_of).await.remove(0);
    let stubborn = TaskInfo::new("stubborn")
        .with_command(CommandInfo::shell("ignore-sigterm"))
        .with_resources(Resources::new().with_cpus(1.0))
        .with_label("corral.sim/cleanup", "3600000");
    driver.launch(&offer, vec![stubborn]).await.unwrap();
    next(&mut events, |e| {
        matches!(e, Event::Update(s) if s.state == TaskState::Running).then_some(())
    })
    .await;
    let asked = tokio::time::Instant::now();
    driver
        .kill(&TaskId::from("stubborn"), Some(Duration::from_secs(2)))
        .await
        .unwrap();
    next(&mut events, |e| {
        matches!(e, Event::Update(s) if s.state == TaskState::Killed).then_some(())
    })
    .await;
    assert!(
        asked.elapsed() <= Duration::from_secs(2) + Duration::from_millis(50),
        "{:?}",
        asked.elapsed()
    );
    driver.stop();
    events.finish().await.unwrap();
}

async fn decline_filter_keeps_the_agent_away_until_it_expires(wire: Wire) {
    let master = master(1).await;
    let info = FrameworkInfo::new("decliner").with_roles(["web"]);
    let (driver, mut events, _) = connect(&master, wire, info, Config::default()).await;
    let offer = next(&mut events, offers_of).await.remove(0);
    let declined_at = tokio::time::Instant::now();
    driver
        .decline(&offer.id, Some(Duration::from_secs(30)))
        .await
        .unwrap();
    let again = next(&mut events, offers_of).await.remove(0);
    let gap = declined_at.elapsed();
    assert_eq!(again.agent_id, offer.agent_id);
    assert!(
        gap >= Duration::from_secs(30),
        "re-offered after {gap:?}, before the 30 s filter expired"
    );
    assert!(
        gap <= Duration::from_secs(30) + Duration::from_millis(200),
        "re-offered late: {gap:?}"
    );
    driver.stop();
    events.finish().await.unwrap();
}

async fn suppress_stops_offers_for_one_role_and_revive_restores_them(wire: Wire) {
    let master = master(4).await;
    let info = FrameworkInfo::new("quiet").with_roles(["analytics", "web"]);
    let (driver, mut events, _) = connect(&master, wire, info, Config::default()).await;
    // Before SUBSCRIBED there is no connection: calls fail, typed.
    assert!(matches!(
        driver.suppress(&[Role::from("web")]).await,
        Err(Error::Disconnected)
    ));
    next(&mut events, |e| {
        matches!(e, Event::Subscribed(_)).then_some(())
    })
    .await;
    driver.suppress(&[Role::from("web")]).await.unwrap();
    let suppressed_at = tokio::time::Instant::now();
    // For a minute, decline everything with a 1 s filter. Offers made before
    // the SUPPRESS may still arrive (at the same virtual instant: suppressed
    // roles keep outstanding offers, as in Mesos); none may be made after.
    let until = suppressed_at + Duration::from_secs(60);
    let mut analytics_offers = 0;
    while tokio::time::Instant::now() < until {
        let Ok(Some(event)) = tokio::time::timeout_at(until, events.next()).await else {
            break;
        };
        if let Event::Offers(offers) = event {
            for offer in offers {
                if offer.role == Role::from("web") {
                    assert_eq!(
                        tokio::time::Instant::now(),
                        suppressed_at,
                        "web offer made after SUPPRESS"
                    );
                } else {
                    analytics_offers += 1;
                }
                driver
                    .decline(&offer.id, Some(Duration::from_secs(1)))
                    .await
                    .unwrap();
            }
        }
    }
    assert!(
        analytics_offers > 10,
        "the other role keeps getting offers ({analytics_offers})"
    );
    driver.revive(&[Role::from("web")]).await.unwrap();
    let web = next(&mut events, |e| match e {
        Event::Offers(o) => o.iter().find(|o| o.role == Role::from("web")).cloned(),
        _ => None,
    })
    .await;
    assert_eq!(web.role, Role::from("web"));
    driver.stop();
    events.finish().await.unwrap();
}

async fn bad_calls_get_clear_errors(wire: Wire) {
    let master = master(1).await;
    let info = FrameworkInfo::new("clumsy").with_roles(["web"]);
    let config = Config::default().with_ack_mode(AckMode::Explicit);
    let (driver, mut events, _) = connect(&master, wire, info, config).await;
    let offer = next(&mut events, offers_of).await.remove(0);

    // Caught by the SDK before anything is sent.
    let too_big = task("big", 100).with_resources(Resources::new().with_cpus(64.0));
    assert!(matches!(
        driver.launch(&offer, vec![too_big]).await,
        Err(Error::InvalidLaunch(InvalidLaunch::DoesNotFit { .. }))
    ));
    let dup = vec![task("same", 100), task("same", 100)];
    assert!(matches!(
        driver.launch(&offer, dup).await,
        Err(Error::InvalidLaunch(InvalidLaunch::DuplicateTask(_)))
    ));
    assert!(matches!(
        driver.suppress(&[Role::from("not-mine")]).await,
        Err(Error::NotOwnRole { .. })
    ));
    driver.launch(&offer, vec![task("ok", 100)]).await.unwrap();
    assert!(matches!(
        driver.launch(&offer, vec![task("again", 100)]).await,
        Err(Error::UnknownOffer(_))
    ));

    // An ack for an update that does not exist: refused by the gRPC
    // door; the Mesos door answers 202 and ignores it, as Mesos does
    // (http_door.rs's `calls_naming_gone_offers_or_no_pending_update_get_202_as_from_mesos`).
    let mut fake = next(&mut events, |e| match e {
        Event::Update(s) => Some(s.clone()),
        _ => None,
    })
    .await;
    driver.acknowledge(&fake).await.unwrap();
    fake.uuid = Some(vec![0xAB; 16]);
    let answer = driver.acknowledge(&fake).await;
    if wire.is_http() {
        assert!(answer.is_ok(), "Mesos answers 202: {answer:?}");
    } else {
        assert!(
            matches!(
                answer,
                Err(Error::Transport(TransportError::Rejected {
                    kind: RejectKind::NotFound,
                    ..
                }))
            ),
            "{answer:?}"
        );
    }
    let state = master.state().await.unwrap();
    let fw = state.framework(&driver.framework_id().unwrap()).unwrap();
    assert_eq!(fw.pending_updates, 0, "the bogus ack changed nothing");

    // Answered by the master with a status: a kill of a task it doesn't know.
    driver.kill(&TaskId::from("ghost"), None).await.unwrap();
    let lost: TaskStatus = next(&mut events, |e| match e {
        Event::Update(s) if s.task_id.as_str() == "ghost" => Some(s.clone()),
        _ => None,
    })
    .await;
    assert_eq!(lost.state, TaskState::Lost);
    assert!(
        lost.message
            .as_deref()
            .unwrap_or_default()
            .contains("ghost"),
        "{lost:?}"
    );
    driver.stop();
    events.finish().await.unwrap();
}
