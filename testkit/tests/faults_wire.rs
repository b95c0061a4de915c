//! The faults a real wire commits, over every wire (`support/wires.rs`:
//! gRPC, and the Mesos HTTP door in protobuf and JSON), on the in-memory
//! master and tokio's paused clock: the connection cut (the client drops
//! the event stream, as a broken socket does, and the master must notice
//! it through its door) and a stream that goes silent (no event, not even
//! a heartbeat, reaches the framework, which must notice the missed
//! heartbeats, drop the stream and subscribe again).
//!
//! `faults.rs` runs these on the harness's simulated network (no wire at
//! all, with the faults the network itself commits); here the same
//! scenarios go through the doors, so that the master's view of a
//! dropped connection is tested on each.

#[path = "support/wires.rs"]
mod wires;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use corral::{
    Call, CommandInfo, Config, Disconnect, Driver, DriverHandle, Event, EventStream, Framework,
    FrameworkInfo, Offer, Resources, Session, Subscribe, Subscription, TaskId, TaskInfo, TaskState,
    Transport, TransportError,
};
use corral_testkit::{MasterConfig, MockMaster};
use futures::StreamExt;
use tokio::sync::watch;
use wires::{AnyWire, Wire};

wires::over_every_wire!(
    a_connection_cut_during_a_kill_still_ends_in_one_task_killed,
    offers_outstanding_at_a_cut_are_void_and_new_ones_come_after_resubscribing,
    a_silent_stream_is_noticed_by_missed_heartbeats_and_the_framework_resubscribes,
);

/// What the test does to the framework's wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Faults {
    /// How many cuts were asked for: a stream opened before the last one
    /// is cut.
    cuts: u64,
    /// How many silences: a stream opened before the last one passes no
    /// event on (it still reads them, so the master sees a live reader).
    silences: u64,
}

/// A transport whose event streams the test can cut or silence.
#[derive(Clone)]
struct Faulty {
    inner: AnyWire,
    faults: Arc<watch::Sender<Faults>>,
    /// How many subscriptions were opened.
    opened: Arc<Mutex<u32>>,
    /// Calls fail from a cut until the next subscription: the connection
    /// is down for them too.
    down: Arc<AtomicBool>,
}

impl Faulty {
    fn new(inner: AnyWire) -> Self {
        Faulty {
            inner,
            faults: Arc::new(watch::channel(Faults::default()).0),
            opened: Arc::default(),
            down: Arc::default(),
        }
    }

    /// Cuts the open event stream now.
    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.faults.send_modify(|f| f.cuts += 1);
    }

    /// Silences the open event stream from now on.
    fn silence(&self) {
        self.faults.send_modify(|f| f.silences += 1);
    }

    fn opened(&self) -> u32 {
        *self.opened.lock().unwrap()
    }
}

#[async_trait]
impl Transport for Faulty {
    async fn subscribe(&self, call: Subscribe) -> Result<Subscription, TransportError> {
        let mut faults = self.faults.subscribe();
        let at_open = *faults.borrow_and_update();
        let subscription = self.inner.subscribe(call).await?;
        *self.opened.lock().unwrap() += 1;
        self.down.store(false, Ordering::SeqCst);
        let inner = subscription.events;
        let events = futures::stream::unfold(Some((inner, faults)), move |state| async move {
            let (mut inner, mut faults) = state?;
            loop {
                tokio::select! {
                    biased;
                    changed = faults.changed() => {
                        if changed.is_err() {
                            return None;
                        }
                        if faults.borrow().cuts > at_open.cuts {
                            // Dropping the inner stream closes the
                            // connection, as a broken socket would.
                            drop(inner);
                            let cut = TransportError::Unavailable("cut by the test".into());
                            return Some((Err(cut), None));
                        }
                    }
                    event = inner.next() => {
                        let event = event?;
                        if faults.borrow().silences == at_open.silences {
                            return Some((event, Some((inner, faults))));
                        }
                    }
                }
            }
        })
        .boxed();
        Ok(Subscription::new(subscription.stream_id, events))
    }

    async fn send(&self, session: &Session, call: Call) -> Result<(), TransportError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(TransportError::Unavailable("the connection is cut".into()));
        }
        self.inner.send(session, call).await
    }
}

async fn master(agents: usize) -> MockMaster {
    let config = MasterConfig::default()
        .agents(agents, Resources::parse("cpus:4;mem:4096").unwrap())
        .role("batch", 1.0)
        .allocation_interval(Duration::from_millis(100));
    MockMaster::start_in_memory(config).await.unwrap()
}

async fn connect(
    master: &MockMaster,
    wire: Wire,
    name: &str,
) -> (DriverHandle, EventStream, Faulty) {
    let transport = Faulty::new(wire.transport(master).await);
    let info = FrameworkInfo::new(name)
        .with_roles(["batch"])
        .with_capability(corral::Capability::TaskKillingState);
    let (driver, events) =
        Framework::with_config(info, Config::default(), transport.clone()).into_stream();
    (driver, events, transport)
}

/// The next event for which `pick` returns Some; bounded in events and in
/// (virtual) time.
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

fn state_of(id: &'static str, state: TaskState) -> impl FnMut(&Event) -> Option<()> {
    move |e| {
        matches!(e, Event::Update(s) if s.task_id.as_str() == id && s.state == state).then_some(())
    }
}

async fn a_connection_cut_during_a_kill_still_ends_in_one_task_killed(wire: Wire) {
    let master = master(1).await;
    let (driver, mut events, faulty) = connect(&master, wire, "cut").await;
    let offer = next(&mut events, offers_of).await.remove(0);
    let long = TaskInfo::new("long")
        .with_command(CommandInfo::shell("serve-forever"))
        .with_resources(Resources::new().with_cpus(1.0))
        .with_label("corral.sim/cleanup", "2000")
        .with_grace_period(Duration::from_secs(5));
    driver.launch(&offer, vec![long]).await.unwrap();
    next(&mut events, state_of("long", TaskState::Running)).await;
    driver.kill(&TaskId::from("long"), None).await.unwrap();
    next(&mut events, state_of("long", TaskState::Killing)).await;
    let killing_at = tokio::time::Instant::now();

    faulty.cut();
    let mut disconnected = false;
    let mut killed = 0;
    let until = killing_at + Duration::from_secs(60);
    while let Ok(Some(event)) = tokio::time::timeout_at(until, events.next()).await {
        match event {
            Event::Disconnected(_) => disconnected = true,
            Event::Update(s) if s.task_id.as_str() == "long" && s.state == TaskState::Killed => {
                killed += 1;
                let took = killing_at.elapsed();
                assert!(
                    took >= Duration::from_secs(2) && took <= Duration::from_secs(5),
                    "killed after its 2 s cleanup, within its 5 s grace: {took:?}"
                );
            }
            _ => {}
        }
    }
    assert!(disconnected, "the cut was seen");
    assert_eq!(killed, 1, "KILLED seen exactly once");
    assert_eq!(faulty.opened(), 2, "subscribed again after the cut");
    let state = master.state().await.unwrap();
    let fw = state.framework(&driver.framework_id().unwrap()).unwrap();
    assert!(fw.active, "connected again");
    assert_eq!(fw.pending_updates, 0, "every update acknowledged");
    assert!(state.tasks.iter().all(|t| t.state == TaskState::Killed));
    driver.stop();
    events.finish().await.unwrap();
}

async fn offers_outstanding_at_a_cut_are_void_and_new_ones_come_after_resubscribing(wire: Wire) {
    let master = master(2).await;
    let (driver, mut events, faulty) = connect(&master, wire, "void").await;
    let offered = next(&mut events, offers_of).await;
    let id = driver.framework_id().unwrap();
    let held = master.state().await.unwrap();
    assert!(
        held.offers.iter().any(|o| o.framework == id),
        "the master holds the offers it made"
    );

    faulty.cut();
    next(&mut events, |e| {
        matches!(e, Event::Disconnected(_)).then_some(())
    })
    .await;
    // The master notices the dropped stream (through its door) and takes
    // back the offers; the runtime's declines could not reach it.
    let mut noticed = false;
    for _ in 0..100 {
        let state = master.state().await.unwrap();
        if !state.framework(&id).unwrap().active {
            noticed = true;
            assert!(
                state.offers.iter().all(|o| o.framework != id),
                "offers survived the cut: {:?}",
                state.offers
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(noticed, "the master never saw the connection go");

    // A launch on an offer from before the cut is refused; new offers come
    // after resubscribing, and work runs on them.
    let stale = driver.launch(&offered[0], vec![task("stale")]).await;
    assert!(stale.is_err(), "{stale:?}");
    next(&mut events, |e| {
        matches!(e, Event::Subscribed(_)).then_some(())
    })
    .await;
    let fresh = next(&mut events, offers_of).await.remove(0);
    assert!(offered.iter().all(|o| o.id != fresh.id), "a new offer");
    driver.launch(&fresh, vec![task("late")]).await.unwrap();
    next(&mut events, state_of("late", TaskState::Finished)).await;
    assert_eq!(faulty.opened(), 2);
    driver.stop();
    events.finish().await.unwrap();
}

fn task(id: &str) -> TaskInfo {
    TaskInfo::new(id)
        .with_command(CommandInfo::shell("sleep 0.1"))
        .with_resources(Resources::new().with_cpus(1.0).with_mem(32.0))
        .with_label("corral.sim/duration", "100")
}

async fn a_silent_stream_is_noticed_by_missed_heartbeats_and_the_framework_resubscribes(
    wire: Wire,
) {
    let master = master(1).await;
    let (driver, mut events, faulty) = connect(&master, wire, "quiet").await;
    let offer = next(&mut events, offers_of).await.remove(0);
    let forever = TaskInfo::new("forever")
        .with_command(CommandInfo::shell("serve-forever"))
        .with_resources(Resources::new().with_cpus(1.0));
    driver.launch(&offer, vec![forever]).await.unwrap();
    next(&mut events, state_of("forever", TaskState::Running)).await;
    let first_stream = master
        .state()
        .await
        .unwrap()
        .framework(&driver.framework_id().unwrap())
        .unwrap()
        .stream_id
        .clone();

    let silenced_at = tokio::time::Instant::now();
    faulty.silence();
    let gone = next(&mut events, |e| match e {
        Event::Disconnected(d) => Some(d.clone()),
        _ => None,
    })
    .await;
    assert!(matches!(gone, Disconnect::MasterSilent(_)), "{gone:?}");
    // Five missed 15 s heartbeats, give or take one interval.
    let noticed = silenced_at.elapsed();
    assert!(
        noticed >= Duration::from_secs(60) && noticed <= Duration::from_secs(95),
        "{noticed:?}"
    );
    next(&mut events, |e| {
        matches!(e, Event::Subscribed(_)).then_some(())
    })
    .await;
    assert_eq!(faulty.opened(), 2);
    // The master moved the framework to the new stream; the task is
    // still its, still running.
    let state = master.state().await.unwrap();
    let fw = state.framework(&driver.framework_id().unwrap()).unwrap();
    assert!(fw.active);
    assert_ne!(fw.stream_id, first_stream, "the new subscription's stream");
    let forever = state
        .tasks
        .iter()
        .find(|t| t.id.as_str() == "forever")
        .unwrap();
    assert_eq!(forever.state, TaskState::Running);
    driver.stop();
    events.finish().await.unwrap();
}
