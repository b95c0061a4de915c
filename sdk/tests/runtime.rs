//! The runtime against a scripted transport: the test plays the master at
//! the wire boundary, on tokio's paused clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use corral::pb;
use corral::pb::call::Type as CallType;
use corral::{
    AckMode, Config, Disconnect, Driver, Error, Framework, FrameworkInfo, Offer, Resources, Role,
    Scheduler, Stopped, Subscribed, Subscription, TaskInfo, TaskState, TaskStatus, Transport,
    TransportError,
};
use futures::StreamExt;
use tokio::sync::mpsc;

/// One subscription the scripted master accepted: the test pushes events.
type EventTx = mpsc::UnboundedSender<Result<pb::Event, TransportError>>;

#[derive(Default)]
struct Wire {
    calls: Vec<pb::Call>,
    subscriptions: Vec<EventTx>,
    refuse_next_subscribes: usize,
}

/// A transport whose master is the test.
#[derive(Clone, Default)]
struct Scripted {
    wire: Arc<Mutex<Wire>>,
}

impl Scripted {
    fn calls_of(&self, kind: CallType) -> Vec<pb::Call> {
        let wire = self.wire.lock().unwrap();
        wire.calls
            .iter()
            .filter(|c| c.r#type() == kind)
            .cloned()
            .collect()
    }

    fn subscribe_calls(&self) -> usize {
        self.calls_of(CallType::Subscribe).len()
    }

    fn stream(&self, n: usize) -> EventTx {
        self.wire.lock().unwrap().subscriptions[n].clone()
    }
}

#[async_trait]
impl Transport for Scripted {
    async fn subscribe(&self, call: pb::Call) -> Result<Subscription, TransportError> {
        let mut wire = self.wire.lock().unwrap();
        wire.calls.push(call.clone());
        if wire.refuse_next_subscribes > 0 {
            wire.refuse_next_subscribes -= 1;
            return Err(TransportError::Unavailable("connection refused".into()));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let id = call
            .subscribe
            .as_ref()
            .and_then(|s| s.framework_info.id.clone())
            .unwrap_or(pb::FrameworkId {
                value: "fw-1".into(),
            });
        let _ = tx.send(Ok(subscribed(&id.value)));
        wire.subscriptions.push(tx);
        let n = wire.subscriptions.len();
        Ok(Subscription {
            stream_id: format!("stream-{n}"),
            events: tokio_stream::wrappers::UnboundedReceiverStream::new(rx).boxed(),
        })
    }

    async fn send(&self, stream_id: &str, call: pb::Call) -> Result<(), TransportError> {
        let mut wire = self.wire.lock().unwrap();
        let current = format!("stream-{}", wire.subscriptions.len());
        if stream_id != current {
            return Err(TransportError::Unavailable("stale stream".into()));
        }
        wire.calls.push(call);
        Ok(())
    }
}

fn event(kind: pb::event::Type) -> pb::Event {
    let mut e = pb::Event::default();
    e.set_type(kind);
    e
}

fn subscribed(id: &str) -> pb::Event {
    let mut e = event(pb::event::Type::Subscribed);
    e.subscribed = Some(pb::event::Subscribed {
        framework_id: pb::FrameworkId { value: id.into() },
        heartbeat_interval_seconds: Some(1.0),
        master_info: None,
    });
    e
}

fn offer_event(id: &str, role: &str, cpus: f64) -> pb::Event {
    let mut e = event(pb::event::Type::Offers);
    let role = Role::from(role);
    e.offers = Some(pb::event::Offers {
        offers: vec![pb::Offer {
            id: pb::OfferId { value: id.into() },
            framework_id: pb::FrameworkId {
                value: "fw-1".into(),
            },
            agent_id: pb::AgentId {
                value: "agent-1".into(),
            },
            hostname: "host-1".into(),
            allocation_info: Some(pb::resource::AllocationInfo {
                role: Some(role.to_string()),
            }),
            resources: Resources::new()
                .with_cpus(cpus)
                .with_mem(1024.0)
                .allocated_to(&role)
                .to_pb(),
            ..Default::default()
        }],
    });
    e
}

fn update_event(task: &str, state: pb::TaskState, uuid: u8) -> pb::Event {
    let mut e = event(pb::event::Type::Update);
    let mut status = pb::TaskStatus {
        task_id: pb::TaskId { value: task.into() },
        agent_id: Some(pb::AgentId {
            value: "agent-1".into(),
        }),
        uuid: Some(vec![uuid; 16]),
        ..Default::default()
    };
    status.set_state(state);
    e.update = Some(pb::event::Update { status });
    e
}

/// Records what the runtime showed it; launches one task per offer that
/// fits 1 cpu.
#[derive(Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<Vec<String>>>,
    launch: bool,
    wants: Option<bool>,
}

impl Recorder {
    fn log(&self, line: String) {
        self.seen.lock().unwrap().push(line);
    }

    fn lines(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

#[async_trait]
impl Scheduler for Recorder {
    async fn subscribed(&mut self, _: &dyn Driver, info: &Subscribed) {
        self.log(format!(
            "subscribed {} resubscribed={}",
            info.framework_id, info.resubscribed
        ));
    }

    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
        for offer in offers {
            self.log(format!("offer {} role {}", offer.id, offer.role));
            if self.launch {
                let task = TaskInfo::new(format!("task-for-{}", offer.id))
                    .with_resources(Resources::new().with_cpus(1.0));
                driver.launch(&offer, vec![task]).await.unwrap();
            }
        }
    }

    async fn status_update(&mut self, _: &dyn Driver, status: &TaskStatus) {
        self.log(format!("update {} {:?}", status.task_id, status.state));
    }

    async fn disconnected(&mut self, driver: &dyn Driver, why: &Disconnect) {
        let call = driver.reconcile(&[]).await;
        self.log(format!(
            "disconnected {} call_while_disconnected={}",
            matches!(why, Disconnect::MasterSilent(_)),
            matches!(call, Err(Error::Disconnected))
        ));
    }

    fn wants_offers(&self, _: &Role) -> Option<bool> {
        self.wants
    }
}

fn info() -> FrameworkInfo {
    FrameworkInfo::new("test").with_roles(["a", "b"])
}

/// Lets the runtime run until it is idle at the current virtual time.
async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn updates_are_acknowledged_once_after_the_handler_and_resends_hidden() {
    let wire = Scripted::default();
    let rec = Recorder::default();
    let framework = Framework::new(info(), wire.clone());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run(rec.clone()));
    settle().await;
    let master = wire.stream(0);
    master
        .send(Ok(update_event("t1", pb::TaskState::TaskRunning, 1)))
        .unwrap();
    master
        .send(Ok(update_event("t1", pb::TaskState::TaskRunning, 1)))
        .unwrap(); // resend
    master
        .send(Ok(update_event("t1", pb::TaskState::TaskFinished, 2)))
        .unwrap();
    settle().await;
    let updates: Vec<String> = rec
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("update"))
        .collect();
    assert_eq!(updates, vec!["update t1 Running", "update t1 Finished"]);
    let acks = wire.calls_of(CallType::Acknowledge);
    let uuids: Vec<u8> = acks
        .iter()
        .map(|c| c.acknowledge.as_ref().unwrap().uuid[0])
        .collect();
    // The resend is acknowledged again (the master evidently lost the first ack) but not re-dispatched.
    assert_eq!(uuids, vec![1, 1, 2]);
    assert_eq!(
        driver.task_status(&"t1".into()).unwrap().state,
        TaskState::Finished
    );
    driver.stop();
    assert_eq!(run.await.unwrap().unwrap(), Stopped::Disconnected);
}

#[tokio::test(start_paused = true)]
async fn explicit_ack_mode_leaves_acks_to_the_framework() {
    let wire = Scripted::default();
    let config = Config {
        ack_mode: AckMode::Explicit,
        ..Config::default()
    };
    let framework = Framework::with_config(info(), config, wire.clone());
    let driver = framework.driver();
    let (_, mut events) = (driver.clone(), framework.into_stream().1);
    let first = events.next().await.unwrap();
    assert!(matches!(first, corral::Event::Subscribed(_)));
    wire.stream(0)
        .send(Ok(update_event("t1", pb::TaskState::TaskRunning, 9)))
        .unwrap();
    let corral::Event::Update(status) = events.next().await.unwrap() else {
        panic!("expected an update")
    };
    settle().await;
    assert!(
        wire.calls_of(CallType::Acknowledge).is_empty(),
        "no implicit ack in explicit mode"
    );
    driver.acknowledge(&status).await.unwrap();
    assert_eq!(wire.calls_of(CallType::Acknowledge).len(), 1);
    driver.stop();
    drop(events);
}

#[tokio::test(start_paused = true)]
async fn unanswered_offers_are_declined_with_the_long_filter() {
    let wire = Scripted::default();
    let rec = Recorder::default();
    let framework = Framework::new(info(), wire.clone());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run(rec.clone()));
    settle().await;
    wire.stream(0)
        .send(Ok(offer_event("o1", "a", 2.0)))
        .unwrap();
    settle().await;
    let declines = wire.calls_of(CallType::Decline);
    assert_eq!(declines.len(), 1);
    let decline = declines[0].decline.as_ref().unwrap();
    assert_eq!(decline.offer_ids[0].value, "o1");
    assert_eq!(
        decline.filters.as_ref().unwrap().refuse_seconds,
        Some(300.0)
    );
    // The offer is gone: using it later is a typed error, not a silent no-op.
    assert!(matches!(
        driver.decline(&"o1".into(), None).await,
        Err(Error::UnknownOffer(_))
    ));
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn launch_uses_the_offer_and_stamps_agent_and_role() {
    let wire = Scripted::default();
    let rec = Recorder {
        launch: true,
        ..Recorder::default()
    };
    let framework = Framework::new(info(), wire.clone());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run(rec.clone()));
    settle().await;
    wire.stream(0)
        .send(Ok(offer_event("o1", "b", 2.0)))
        .unwrap();
    settle().await;
    let accepts = wire.calls_of(CallType::Accept);
    assert_eq!(accepts.len(), 1);
    let task = &accepts[0].accept.as_ref().unwrap().operations[0]
        .launch
        .as_ref()
        .unwrap()
        .task_infos[0];
    assert_eq!(task.agent_id.value, "agent-1");
    assert_eq!(
        task.resources[0]
            .allocation_info
            .as_ref()
            .unwrap()
            .role
            .as_deref(),
        Some("b")
    );
    assert!(
        wire.calls_of(CallType::Decline).is_empty(),
        "a used offer is not declined"
    );
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_silent_master_means_disconnected_then_resubscribe_with_same_id_and_reconcile() {
    let wire = Scripted::default();
    wire.wire.lock().unwrap().refuse_next_subscribes = 0;
    let rec = Recorder::default();
    let framework = Framework::new(info(), wire.clone());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run(rec.clone()));
    settle().await;
    wire.stream(0)
        .send(Ok(update_event("t1", pb::TaskState::TaskRunning, 1)))
        .unwrap();
    settle().await;
    // Refuse the next two attempts so backoff is exercised, then accept.
    wire.wire.lock().unwrap().refuse_next_subscribes = 2;
    // Heartbeat interval is 1 s, 5 may be missed: silence for 5 s ends the connection.
    tokio::time::advance(Duration::from_millis(4_900)).await;
    settle().await;
    assert!(
        !rec.lines().iter().any(|l| l.starts_with("disconnected")),
        "4.9 s of silence is allowed"
    );
    tokio::time::advance(Duration::from_millis(200)).await;
    settle().await;
    assert!(rec
        .lines()
        .contains(&"disconnected true call_while_disconnected=true".to_owned()));
    // Backoff: 2 refused attempts then success, all within a few seconds.
    for _ in 0..40 {
        tokio::time::advance(Duration::from_millis(250)).await;
        settle().await;
        // The live master heartbeats (old streams' senders are dead ends).
        let newest = wire.wire.lock().unwrap().subscriptions.last().cloned();
        if let Some(master) = newest {
            let _ = master.send(Ok(event(pb::event::Type::Heartbeat)));
        }
    }
    assert_eq!(wire.subscribe_calls(), 4, "first + 2 refused + 1 accepted");
    let resubscribe = wire.calls_of(CallType::Subscribe).pop().unwrap();
    assert_eq!(resubscribe.framework_id.unwrap().value, "fw-1");
    assert!(rec
        .lines()
        .contains(&"subscribed fw-1 resubscribed=true".to_owned()));
    // Explicit reconcile for the task we know, then implicit.
    let reconciles = wire.calls_of(CallType::Reconcile);
    let last_two: Vec<usize> = reconciles
        .iter()
        .rev()
        .take(2)
        .map(|c| c.reconcile.as_ref().unwrap().tasks.len())
        .collect();
    assert_eq!(last_two, vec![0, 1]);
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn demand_suppresses_and_revives_are_rate_limited_not_dropped() {
    let wire = Scripted::default();
    let rec = Recorder {
        wants: Some(false),
        ..Recorder::default()
    };
    let framework = Framework::new(info(), wire.clone());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run(rec.clone()));
    settle().await;
    let suppress = wire.calls_of(CallType::Suppress);
    assert_eq!(suppress.len(), 1, "nothing to run: both roles suppressed");
    assert_eq!(suppress[0].suppress.as_ref().unwrap().roles, vec!["a", "b"]);
    // Three revives in quick succession: the first goes out, the rest coalesce into one later.
    let a = [Role::from("a")];
    driver.revive(&a).await.unwrap();
    driver.revive(&a).await.unwrap();
    driver.revive(&a).await.unwrap();
    settle().await;
    assert_eq!(wire.calls_of(CallType::Revive).len(), 1);
    tokio::time::advance(Duration::from_millis(1_000)).await;
    settle().await;
    assert_eq!(
        wire.calls_of(CallType::Revive).len(),
        2,
        "the queued revive is sent when the interval ends"
    );
    assert!(matches!(
        driver.revive(&[Role::from("zzz")]).await,
        Err(Error::Invalid { .. })
    ));
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_error_event_ends_the_run() {
    let wire = Scripted::default();
    let framework = Framework::new(info(), wire.clone());
    let run = tokio::spawn(framework.run(Recorder::default()));
    settle().await;
    let mut e = event(pb::event::Type::Error);
    e.error = Some(pb::event::Error {
        message: "framework removed".into(),
    });
    wire.stream(0).send(Ok(e)).unwrap();
    let result = run.await.unwrap();
    assert!(matches!(result, Err(Error::SubscriptionRefused(m)) if m == "framework removed"));
}

#[tokio::test(start_paused = true)]
async fn invalid_framework_info_is_refused_before_connecting() {
    let wire = Scripted::default();
    let bad = FrameworkInfo::new("x").with_roles(["ok", "bad role"]);
    let result = Framework::new(bad, wire.clone())
        .run(Recorder::default())
        .await;
    assert!(matches!(result, Err(Error::Invalid { .. })));
    assert_eq!(wire.subscribe_calls(), 0);
}
