//! The runtime against a scripted transport: the test plays the master at
//! the wire boundary, on tokio's paused clock. The script speaks the wire
//! form (through `corral-proto`, a dev-dependency only), so these tests
//! also cover the plain types' conversions end to end.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use corral::inputs::{self, TrySendError};
use corral::WithInputs;
use corral::{
    AckMode, Call, Config, Disconnect, Driver, Error, Framework, FrameworkId, FrameworkInfo,
    InverseOffer, Offer, RejectKind, Resources, RevocationNotice, Role, Scheduler, Session,
    Stopped, Subscribe, Subscribed, Subscription, TaskInfo, TaskState, TaskStatus, Transport,
    TransportError,
};
use corral_proto::convert::*;
use corral_proto::pb;
use corral_proto::pb::call::Type as CallType;
use futures::StreamExt;
use tokio::sync::mpsc;

/// One subscription the scripted master accepted: the test pushes events.
type EventTx = mpsc::UnboundedSender<Result<pb::Event, TransportError>>;

#[derive(Default)]
struct Wire {
    calls: Vec<pb::Call>,
    subscriptions: Vec<EventTx>,
    refuse_next_subscribes: usize,
    /// Calls of these types are refused (and not recorded).
    reject: Vec<(CallType, RejectKind)>,
    /// The heartbeat interval SUBSCRIBED announces (1 s when unset).
    heartbeat: Option<Option<f64>>,
    /// How long an ACKNOWLEDGE takes to reach the master (none when unset).
    ack_delay: Option<Duration>,
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

    /// The calls other than ACKNOWLEDGE, in the order they were sent.
    fn actions(&self) -> Vec<pb::Call> {
        let wire = self.wire.lock().unwrap();
        wire.calls
            .iter()
            .filter(|c| c.r#type() != CallType::Acknowledge)
            .cloned()
            .collect()
    }

    /// Every call, in the order it reached the master.
    fn actions_and_acks(&self) -> Vec<pb::Call> {
        self.wire.lock().unwrap().calls.clone()
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
    async fn subscribe(&self, call: Subscribe) -> Result<Subscription, TransportError> {
        let call = subscribe_to_pb(&call);
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
        let mut first = subscribed(&id.value);
        if let Some(seconds) = wire.heartbeat {
            first
                .subscribed
                .as_mut()
                .unwrap()
                .heartbeat_interval_seconds = seconds;
        }
        let _ = tx.send(Ok(first));
        wire.subscriptions.push(tx);
        let n = wire.subscriptions.len();
        Ok(Subscription {
            stream_id: format!("stream-{n}"),
            events: tokio_stream::wrappers::UnboundedReceiverStream::new(rx)
                .map(|item| item.map(event_from_pb))
                .boxed(),
        })
    }

    async fn send(&self, session: &Session, call: Call) -> Result<(), TransportError> {
        let stream_id = session.stream_id.as_str();
        let call = call_to_pb(Some(&session.framework_id), &call);
        let delay = self.wire.lock().unwrap().ack_delay;
        if let Some(delay) = delay.filter(|_| call.r#type() == CallType::Acknowledge) {
            tokio::time::sleep(delay).await;
        }
        let mut wire = self.wire.lock().unwrap();
        let current = format!("stream-{}", wire.subscriptions.len());
        if stream_id != current {
            return Err(TransportError::Unavailable("stale stream".into()));
        }
        if let Some((_, kind)) = wire.reject.iter().find(|(t, _)| *t == call.r#type()) {
            return Err(TransportError::Rejected {
                kind: *kind,
                message: "refused by the test".into(),
            });
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

fn inverse_offers_event(offers: Vec<pb::InverseOffer>) -> pb::Event {
    let mut e = event(pb::event::Type::InverseOffers);
    e.inverse_offers = Some(pb::event::InverseOffers {
        inverse_offers: offers,
    });
    e
}

/// A notice taking `tasks` on agent-1 at 30 s on the master's clock.
fn notice(id: &str, tasks: &[&str]) -> RevocationNotice {
    RevocationNotice {
        id: id.into(),
        agent_id: "agent-1".into(),
        tasks: tasks.iter().map(|t| (*t).into()).collect(),
        resources: Resources::new()
            .with_cpus(tasks.len() as f64)
            .allocated_to(&Role::from("b"))
            .revocable(),
        deadline: Duration::from_secs(30),
    }
}

fn notice_event(notice: &RevocationNotice) -> pb::Event {
    inverse_offers_event(vec![notice.to_pb(&FrameworkId::from("fw-1"))])
}

/// RESCIND_INVERSE_OFFER: the master withdraws notice (or inverse offer) `id`.
fn rescind_inverse_event(id: &str) -> pb::Event {
    let mut e = event(pb::event::Type::RescindInverseOffer);
    e.rescind_inverse_offer = Some(pb::event::RescindInverseOffer {
        inverse_offer_id: pb::OfferId { value: id.into() },
    });
    e
}

/// Breaks the live stream and waits until the runtime has resubscribed;
/// returns the new stream.
async fn break_and_resubscribe(wire: &Scripted) -> EventTx {
    let count = || wire.wire.lock().unwrap().subscriptions.len();
    let before = count();
    wire.stream(before - 1)
        .send(Err(TransportError::Unavailable("master failover".into())))
        .unwrap();
    for _ in 0..20 {
        if count() > before {
            break;
        }
        tokio::time::advance(Duration::from_millis(250)).await;
        settle().await;
    }
    assert_eq!(count(), before + 1, "resubscribed");
    settle().await;
    wire.stream(before)
}

/// A maintenance inverse offer for the whole of agent-2.
fn maintenance(id: &str) -> pb::InverseOffer {
    pb::InverseOffer {
        id: pb::OfferId { value: id.into() },
        framework_id: pb::FrameworkId {
            value: "fw-1".into(),
        },
        agent_id: Some(pb::AgentId {
            value: "agent-2".into(),
        }),
        unavailability: pb::Unavailability {
            start: pb::TimeInfo {
                nanoseconds: 60_000_000_000,
            },
            duration: None,
        },
        ..Default::default()
    }
}

/// What [`Recorder`] does with a revocation notice.
#[derive(Clone, Copy, Default)]
enum OnRevocation {
    /// Logs it and leaves it unanswered.
    #[default]
    Log,
    /// Logs it and declines it.
    Decline,
}

/// Records what the runtime showed it; launches one task per offer that
/// fits 1 cpu.
#[derive(Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<Vec<String>>>,
    launch: bool,
    wants: Option<bool>,
    on_revocation: OnRevocation,
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

    async fn inverse_offers(&mut self, _: &dyn Driver, offers: Vec<InverseOffer>) {
        let ids: Vec<&str> = offers.iter().map(|o| o.id.as_str()).collect();
        self.log(format!("inverse offers {}", ids.join(",")));
    }

    async fn revocation(&mut self, driver: &dyn Driver, notice: RevocationNotice) {
        let tasks: Vec<&str> = notice.tasks.iter().map(|t| t.as_str()).collect();
        self.log(format!(
            "revocation {} on {} of {} by {:?}",
            notice.id,
            notice.agent_id,
            tasks.join(","),
            notice.deadline
        ));
        if let OnRevocation::Decline = self.on_revocation {
            driver.decline_revocation(&notice).await.unwrap();
        }
    }

    async fn inverse_offer_rescinded(&mut self, _: &dyn Driver, offer: &corral::OfferId) {
        self.log(format!("inverse offer rescinded {offer}"));
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
/// A framework with a `Recorder` on a scripted wire, running and settled.
async fn start() -> (
    Scripted,
    Recorder,
    corral::DriverHandle,
    tokio::task::JoinHandle<Result<corral::Stopped, corral::Error>>,
) {
    let wire = Scripted::default();
    let rec = Recorder::default();
    let (driver, run) = launch(&wire, &rec).await;
    (wire, rec, driver, run)
}

/// Runs a framework with `rec` on `wire` and lets it settle.
async fn launch(
    wire: &Scripted,
    rec: &Recorder,
) -> (
    corral::DriverHandle,
    tokio::task::JoinHandle<Result<corral::Stopped, corral::Error>>,
) {
    let framework = Framework::new(info(), wire.clone());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run(rec.clone()));
    settle().await;
    (driver, run)
}

async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn updates_are_acknowledged_once_after_the_handler_and_resends_hidden() {
    let (wire, rec, driver, run) = start().await;
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
    assert_eq!(run.await.unwrap().unwrap(), Stopped::Detached);
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
    let (wire, _rec, driver, run) = start().await;
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
    let (driver, run) = launch(&wire, &rec).await;
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
    let (driver, run) = launch(&wire, &rec).await;
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
    let (driver, run) = launch(&wire, &rec).await;
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
        Err(Error::NotOwnRole { .. })
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
    assert!(matches!(result, Err(Error::EndedByMaster(m)) if m == "framework removed"));
}

#[tokio::test(start_paused = true)]
async fn invalid_framework_info_is_refused_before_connecting() {
    let wire = Scripted::default();
    let bad = FrameworkInfo::new("x").with_roles(["ok", "bad role"]);
    let result = Framework::new(bad, wire.clone())
        .run(Recorder::default())
        .await;
    assert!(matches!(result, Err(Error::InvalidFrameworkInfo(_))));
    assert_eq!(wire.subscribe_calls(), 0);
}

/// Implements only `offers`: every other handler is the trait's default.
struct Defaults;

#[async_trait]
impl Scheduler for Defaults {
    async fn offers(&mut self, _: &dyn Driver, _: Vec<Offer>) {}
}

#[tokio::test(start_paused = true)]
async fn a_revocation_notice_reaches_revocation_not_inverse_offers() {
    let (wire, rec, driver, run) = start().await;
    let master = wire.stream(0);
    master
        .send(Ok(notice_event(&notice("rev-1", &["t1", "t2"]))))
        .unwrap();
    master.send(Ok(rescind_inverse_event("rev-1"))).unwrap();
    settle().await;
    let lines: Vec<String> = rec
        .lines()
        .into_iter()
        .filter(|l| !l.starts_with("subscribed"))
        .collect();
    assert_eq!(
        lines,
        vec![
            "revocation rev-1 on agent-1 of t1,t2 by 30s",
            "inverse offer rescinded rev-1",
        ]
    );
    assert!(
        wire.calls_of(CallType::AcceptInverseOffers).is_empty()
            && wire.calls_of(CallType::Kill).is_empty(),
        "an overriding handler decides alone"
    );
    driver.stop();
    run.await.unwrap().unwrap();
}

/// The lines about revocation notices and their withdrawal.
fn notice_lines(rec: &Recorder) -> Vec<String> {
    rec.lines()
        .into_iter()
        .filter(|l| l.starts_with("revocation") || l.starts_with("inverse offer rescinded"))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_notice_resent_on_resubscription_reaches_revocation_once() {
    let wire = Scripted::default();
    let rec = Recorder {
        on_revocation: OnRevocation::Decline,
        ..Recorder::default()
    };
    let (driver, run) = launch(&wire, &rec).await;
    let n = notice("rev-1", &["t1"]);
    wire.stream(0).send(Ok(notice_event(&n))).unwrap();
    settle().await;
    // The master fails over; the new one sends the outstanding (already
    // answered) notice again, then an offer.
    let master = break_and_resubscribe(&wire).await;
    master.send(Ok(notice_event(&n))).unwrap();
    master.send(Ok(offer_event("o1", "a", 1.0))).unwrap();
    settle().await;
    let lines: Vec<String> = rec
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("revocation") || l.starts_with("offer"))
        .collect();
    assert_eq!(
        lines,
        vec![
            "revocation rev-1 on agent-1 of t1 by 30s",
            "offer o1 role a"
        ],
        "the resend is hidden; the events after it still come"
    );
    assert!(rec
        .lines()
        .contains(&"subscribed fw-1 resubscribed=true".to_owned()));
    assert_eq!(
        wire.calls_of(CallType::DeclineInverseOffers).len(),
        1,
        "answered once"
    );
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_resent_notice_comes_back_only_while_unanswered_and_ids_are_forgotten_on_withdrawal() {
    let (wire, rec, driver, run) = start().await;
    let first = notice("rev-1", &["t1"]);
    wire.stream(0).send(Ok(notice_event(&first))).unwrap();
    settle().await;
    driver.decline_revocation(&first).await.unwrap();
    let master = break_and_resubscribe(&wire).await;
    master.send(Ok(notice_event(&first))).unwrap(); // answered: hidden
    master.send(Ok(rescind_inverse_event("rev-1"))).unwrap();
    // A new notice that reuses the id, left unanswered: its resend after
    // another resubscription comes back (the master still waits).
    let second = notice("rev-1", &["t2"]);
    master.send(Ok(notice_event(&second))).unwrap();
    settle().await;
    let master = break_and_resubscribe(&wire).await;
    master.send(Ok(notice_event(&second))).unwrap(); // unanswered: again
    settle().await;
    assert_eq!(
        notice_lines(&rec),
        vec![
            "revocation rev-1 on agent-1 of t1 by 30s",
            "inverse offer rescinded rev-1",
            "revocation rev-1 on agent-1 of t2 by 30s",
            "revocation rev-1 on agent-1 of t2 by 30s",
        ]
    );
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn maintenance_inverse_offers_still_reach_inverse_offers_in_wire_order() {
    let (wire, rec, driver, run) = start().await;
    wire.stream(0)
        .send(Ok(inverse_offers_event(vec![
            maintenance("m1"),
            notice("rev-1", &["t1"]).to_pb(&FrameworkId::from("fw-1")),
            maintenance("m2"),
            maintenance("m3"),
        ])))
        .unwrap();
    settle().await;
    let lines: Vec<String> = rec
        .lines()
        .into_iter()
        .filter(|l| !l.starts_with("subscribed"))
        .collect();
    assert_eq!(
        lines,
        vec![
            "inverse offers m1",
            "revocation rev-1 on agent-1 of t1 by 30s",
            "inverse offers m2,m3",
        ]
    );
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn malformed_notices_are_dropped_and_the_runtime_carries_on() {
    let (wire, rec, driver, run) = start().await;
    let fw = FrameworkId::from("fw-1");
    let mut no_agent = notice("bad-1", &["t1"]).to_pb(&fw);
    no_agent.agent_id = None;
    let mut regular = notice("bad-2", &["t1"]).to_pb(&fw);
    regular.resources = Resources::new()
        .with_cpus(1.0)
        .allocated_to(&Role::from("b"))
        .to_pb();
    let master = wire.stream(0);
    master
        .send(Ok(inverse_offers_event(vec![no_agent])))
        .unwrap();
    master
        .send(Ok(inverse_offers_event(vec![regular, maintenance("m1")])))
        .unwrap();
    master.send(Ok(offer_event("o1", "a", 1.0))).unwrap();
    settle().await;
    let lines: Vec<String> = rec
        .lines()
        .into_iter()
        .filter(|l| !l.starts_with("subscribed"))
        .collect();
    assert_eq!(lines, vec!["inverse offers m1", "offer o1 role a"]);
    assert!(!run.is_finished(), "still running");
    assert_eq!(wire.subscribe_calls(), 1, "no reconnection either");
    driver.stop();
    assert_eq!(run.await.unwrap().unwrap(), Stopped::Detached);
}

#[tokio::test(start_paused = true)]
async fn the_default_revocation_kills_live_tasks_with_their_own_grace_then_accepts() {
    let wire = Scripted::default();
    let framework = Framework::new(info(), wire.clone());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run(Defaults));
    settle().await;
    let master = wire.stream(0);
    // t1 runs, t2 is already being killed, t3 has finished; t4 is not
    // known to the framework yet (the notice says it runs).
    for (task, state, uuid) in [
        ("t1", pb::TaskState::TaskRunning, 1),
        ("t2", pb::TaskState::TaskKilling, 2),
        ("t3", pb::TaskState::TaskFinished, 3),
    ] {
        master.send(Ok(update_event(task, state, uuid))).unwrap();
    }
    settle().await;
    let before = wire.actions().len();
    master
        .send(Ok(notice_event(&notice(
            "rev-1",
            &["t1", "t2", "t3", "t4"],
        ))))
        .unwrap();
    settle().await;
    let sent: Vec<pb::Call> = wire.actions().split_off(before);
    let kinds: Vec<CallType> = sent.iter().map(|c| c.r#type()).collect();
    assert_eq!(
        kinds,
        vec![
            CallType::Kill,
            CallType::Kill,
            CallType::AcceptInverseOffers
        ],
        "kills first, then the confirmation"
    );
    for (call, task) in sent.iter().zip(["t1", "t4"]) {
        let kill = call.kill.as_ref().unwrap();
        assert_eq!(kill.task_id.value, task);
        assert_eq!(kill.agent_id.as_ref().unwrap().value, "agent-1");
        assert!(kill.kill_policy.is_none(), "no grace override");
    }
    let accept = sent[2].accept_inverse_offers.as_ref().unwrap();
    let ids: Vec<&str> = accept
        .inverse_offer_ids
        .iter()
        .map(|i| i.value.as_str())
        .collect();
    assert_eq!(ids, vec!["rev-1"]);
    assert!(wire.calls_of(CallType::DeclineInverseOffers).is_empty());
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn release_fails_before_killing_anything_when_disconnected() {
    let wire = Scripted::default();
    let framework = Framework::new(info(), wire.clone());
    let driver = framework.driver();
    let err = driver.release(&notice("rev-1", &["t1"])).await.unwrap_err();
    assert!(matches!(err, Error::Disconnected));
    assert!(wire.actions().is_empty());
}

#[tokio::test(start_paused = true)]
async fn decline_revocation_sends_decline_inverse_offers_and_kills_nothing() {
    let wire = Scripted::default();
    let rec = Recorder {
        on_revocation: OnRevocation::Decline,
        ..Recorder::default()
    };
    let (driver, run) = launch(&wire, &rec).await;
    wire.stream(0)
        .send(Ok(update_event("t1", pb::TaskState::TaskRunning, 1)))
        .unwrap();
    wire.stream(0)
        .send(Ok(notice_event(&notice("rev-9", &["t1"]))))
        .unwrap();
    settle().await;
    let declines = wire.calls_of(CallType::DeclineInverseOffers);
    assert_eq!(declines.len(), 1);
    let ids: Vec<&str> = declines[0]
        .decline_inverse_offers
        .as_ref()
        .unwrap()
        .inverse_offer_ids
        .iter()
        .map(|i| i.value.as_str())
        .collect();
    assert_eq!(ids, vec!["rev-9"]);
    assert!(wire.calls_of(CallType::Kill).is_empty());
    assert!(wire.calls_of(CallType::AcceptInverseOffers).is_empty());
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_stream_yields_revocation_notices_and_leaves_the_answer_to_its_reader() {
    let wire = Scripted::default();
    let framework = Framework::new(info(), wire.clone());
    let (driver, mut events) = framework.into_stream();
    assert!(matches!(
        events.next().await.unwrap(),
        corral::Event::Subscribed(_)
    ));
    let sent = notice("rev-1", &["t1"]);
    wire.stream(0).send(Ok(notice_event(&sent))).unwrap();
    let corral::Event::Revocation(got) = events.next().await.unwrap() else {
        panic!("expected a revocation notice")
    };
    assert_eq!(got, sent);
    settle().await;
    assert!(
        wire.calls_of(CallType::AcceptInverseOffers).is_empty(),
        "the stream does not answer for its reader"
    );
    driver.release(&got).await.unwrap();
    assert_eq!(wire.calls_of(CallType::AcceptInverseOffers).len(), 1);
    driver.stop();
    drop(events);
}

#[tokio::test(start_paused = true)]
async fn the_stream_hides_a_resent_notice_once_answered_until_it_is_withdrawn() {
    let wire = Scripted::default();
    let framework = Framework::new(info(), wire.clone());
    let (driver, mut events) = framework.into_stream();
    assert!(matches!(
        events.next().await.unwrap(),
        corral::Event::Subscribed(_)
    ));
    let master = wire.stream(0);
    let first = notice("rev-1", &["t1"]);
    let second = notice("rev-1", &["t2"]);
    master.send(Ok(notice_event(&first))).unwrap();
    let Some(corral::Event::Revocation(got_first)) = events.next().await else {
        panic!("the notice first");
    };
    driver.decline_revocation(&got_first).await.unwrap();
    let mut got = vec!["revocation t1".to_owned()];
    for e in [
        notice_event(&first), // resent, answered: hidden
        rescind_inverse_event("rev-1"),
        notice_event(&second), // a new notice reusing the id
        notice_event(&second), // resent, unanswered: yielded again
        offer_event("o1", "a", 1.0),
    ] {
        master.send(Ok(e)).unwrap();
    }
    loop {
        match events.next().await.unwrap() {
            corral::Event::Offers(_) => break,
            corral::Event::Revocation(n) => {
                let tasks: Vec<&str> = n.tasks.iter().map(|t| t.as_str()).collect();
                got.push(format!("revocation {}", tasks.join(",")));
            }
            corral::Event::InverseOfferRescinded(id) => got.push(format!("rescinded {id}")),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        got,
        vec![
            "revocation t1",
            "rescinded rev-1",
            "revocation t2",
            "revocation t2"
        ]
    );
    driver.stop();
    drop(events);
}

#[tokio::test(start_paused = true)]
async fn request_stamps_every_resource_with_the_role() {
    let wire = Scripted::default();
    let framework = Framework::new(info(), wire.clone());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run(Defaults));
    settle().await;
    let wanted = Resources::new()
        .with_cpus(4.0)
        .with_mem(2048.0)
        .with_ports(31000, 31009);
    driver.request(&Role::from("b"), &wanted).await.unwrap();
    let requests = wire.calls_of(CallType::Request);
    assert_eq!(requests.len(), 1);
    let request = &requests[0].request.as_ref().unwrap().requests;
    assert_eq!(request.len(), 1);
    assert!(request[0].agent_id.is_none());
    let resources = &request[0].resources;
    assert_eq!(resources.len(), 3);
    for r in resources {
        let role = r.allocation_info.as_ref().and_then(|a| a.role.as_deref());
        assert_eq!(role, Some("b"), "{} carries the role", r.name);
    }
    assert_eq!(
        Resources::from_pb(resources).unwrap().unallocated(),
        wanted,
        "the quantities are sent as asked"
    );
    assert!(matches!(
        driver.request(&Role::from("zzz"), &wanted).await,
        Err(Error::NotOwnRole { .. })
    ));
    assert!(matches!(
        driver.request(&Role::from("a"), &Resources::new()).await,
        Err(Error::EmptyRequest)
    ));
    assert_eq!(
        wire.calls_of(CallType::Request).len(),
        1,
        "nothing else sent"
    );
    driver.withdraw_requests().await.unwrap();
    let requests = wire.calls_of(CallType::Request);
    assert_eq!(requests.len(), 2);
    assert!(
        requests[1].request.as_ref().unwrap().requests.is_empty(),
        "a REQUEST naming nothing withdraws them all"
    );
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn release_takes_gone_tasks_and_a_withdrawn_notice_as_done_but_not_other_refusals() {
    let wire = Scripted::default();
    let framework = Framework::new(info(), wire.clone());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run(Recorder::default()));
    settle().await;
    let n = notice("rev-1", &["t1", "t2"]);
    // The master forgot both tasks and the notice: they all ended.
    wire.wire.lock().unwrap().reject = vec![
        (CallType::Kill, RejectKind::NotFound),
        (CallType::AcceptInverseOffers, RejectKind::NotFound),
        (CallType::DeclineInverseOffers, RejectKind::NotFound),
    ];
    driver.release(&n).await.unwrap();
    driver.decline_revocation(&n).await.unwrap();
    // Any other refusal of a kill stops the release before the accept.
    wire.wire.lock().unwrap().reject = vec![
        (CallType::Kill, RejectKind::InvalidArgument),
        (CallType::AcceptInverseOffers, RejectKind::Other),
    ];
    assert!(matches!(
        driver.release(&n).await,
        Err(Error::Transport(TransportError::Rejected {
            kind: RejectKind::InvalidArgument,
            ..
        }))
    ));
    wire.wire.lock().unwrap().reject = vec![(CallType::AcceptInverseOffers, RejectKind::Other)];
    assert!(driver.release(&n).await.is_err());
    wire.wire.lock().unwrap().reject.clear();
    let kinds: Vec<CallType> = wire
        .actions()
        .iter()
        .map(|c| c.r#type())
        .filter(|t| *t != CallType::Subscribe && *t != CallType::Reconcile)
        .collect();
    assert_eq!(
        kinds,
        vec![CallType::Kill, CallType::Kill],
        "only the last release's kills got through"
    );
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_huge_nan_or_negative_heartbeat_interval_is_survived_with_a_capped_value() {
    for (seconds, silent_after) in [
        // Capped to an hour: gone after 5 silent hours, not 1e20 s.
        (Some(1e20), Duration::from_secs(5 * 3600)),
        (Some(f64::INFINITY), Duration::from_secs(5 * 3600)),
        // Not a positive number: Mesos's default of 15 s.
        (Some(f64::NAN), Duration::from_secs(75)),
        (Some(-3.0), Duration::from_secs(75)),
        (None, Duration::from_secs(75)),
    ] {
        let wire = Scripted::default();
        wire.wire.lock().unwrap().heartbeat = Some(seconds);
        let rec = Recorder::default();
        let framework = Framework::new(info(), wire.clone());
        let driver = framework.driver();
        let run = tokio::spawn(framework.run(rec.clone()));
        settle().await;
        wire.stream(0)
            .send(Ok(offer_event("o1", "a", 1.0)))
            .unwrap();
        settle().await;
        assert!(
            rec.lines().contains(&"offer o1 role a".to_owned()),
            "{seconds:?}"
        );
        tokio::time::advance(silent_after - Duration::from_secs(1)).await;
        settle().await;
        assert!(
            !rec.lines().iter().any(|l| l.starts_with("disconnected")),
            "{seconds:?}: still connected just before the capped silence"
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        settle().await;
        assert!(
            rec.lines()
                .iter()
                .any(|l| l.starts_with("disconnected true")),
            "{seconds:?}: the silence is noticed"
        );
        driver.stop();
        assert_eq!(run.await.unwrap().unwrap(), Stopped::Detached);
    }
}

#[tokio::test(start_paused = true)]
async fn a_huge_missed_heartbeats_count_does_not_overflow_the_silence_deadline() {
    let wire = Scripted::default();
    wire.wire.lock().unwrap().heartbeat = Some(Some(1e20));
    let config = Config {
        missed_heartbeats: u32::MAX,
        min_revive_interval: Duration::MAX,
        ..Config::default()
    };
    let rec = Recorder::default();
    let framework = Framework::with_config(info(), config, wire.clone());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run(rec.clone()));
    settle().await;
    driver.revive(&[Role::from("a")]).await.unwrap();
    driver.revive(&[Role::from("a")]).await.unwrap();
    wire.stream(0)
        .send(Ok(offer_event("o1", "a", 1.0)))
        .unwrap();
    settle().await;
    assert!(rec.lines().contains(&"offer o1 role a".to_owned()));
    driver.stop();
    assert_eq!(run.await.unwrap().unwrap(), Stopped::Detached);
}

#[tokio::test(start_paused = true)]
async fn an_offers_event_with_one_bad_offer_shows_the_good_ones_and_declines_the_bad_one() {
    let (wire, rec, driver, run) = start().await;
    let mut event = offer_event("o1", "a", 1.0);
    let mut good = offer_event("o2", "b", 1.0).offers.unwrap().offers;
    let mut bad = offer_event("bad", "a", 1.0)
        .offers
        .unwrap()
        .offers
        .remove(0);
    bad.resources[0].scalar = None;
    let list = &mut event.offers.as_mut().unwrap().offers;
    list.push(bad);
    list.append(&mut good);
    wire.stream(0).send(Ok(event)).unwrap();
    settle().await;
    let offers: Vec<String> = rec
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("offer"))
        .collect();
    assert_eq!(offers, vec!["offer o1 role a", "offer o2 role b"]);
    let declined: Vec<Vec<String>> = wire
        .calls_of(CallType::Decline)
        .iter()
        .map(|c| {
            c.decline
                .as_ref()
                .unwrap()
                .offer_ids
                .iter()
                .map(|i| i.value.clone())
                .collect()
        })
        .collect();
    assert_eq!(
        declined,
        vec![
            vec!["bad".to_owned()],
            vec!["o1".to_owned(), "o2".to_owned()]
        ],
        "the bad offer goes back first, then the unanswered good ones"
    );
    driver.stop();
    run.await.unwrap().unwrap();
}

/// Work that arrives from outside: each input adds jobs; one 1-cpu task per
/// offer while jobs wait; `wants_offers` says whether any wait.
#[derive(Clone, Default)]
struct Queue {
    jobs: usize,
    log: Arc<Mutex<Vec<String>>>,
    /// Retry after this long when a launch fails (a timer), if set.
    retry_after: Option<Duration>,
    started: Option<tokio::time::Instant>,
}

impl Queue {
    fn log(&self, line: String) {
        self.log.lock().unwrap().push(line);
    }
    fn lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

#[async_trait]
impl Scheduler for Queue {
    async fn subscribed(&mut self, driver: &dyn Driver, _: &Subscribed) {
        self.started = Some(tokio::time::Instant::now());
        if let Some(delay) = self.retry_after {
            driver.wake_after(delay, 42);
        }
    }

    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
        for offer in offers {
            self.log(format!("offer {}", offer.id));
            if self.jobs == 0 {
                continue;
            }
            let task = TaskInfo::new(format!("job-{}", offer.id))
                .with_resources(Resources::new().with_cpus(1.0));
            if driver.launch(&offer, vec![task]).await.is_ok() {
                self.jobs -= 1;
            }
        }
    }

    async fn timer(&mut self, _: &dyn Driver, tag: u64) {
        let at = self.started.map(|t| t.elapsed()).unwrap_or_default();
        self.log(format!("timer {tag} at {at:?}"));
    }

    fn wants_offers(&self, _: &Role) -> Option<bool> {
        Some(self.jobs > 0)
    }
}

#[async_trait]
impl WithInputs for Queue {
    type Input = usize;
    async fn input(&mut self, _: &dyn Driver, jobs: usize) {
        self.log(format!("input {jobs}"));
        self.jobs += jobs;
    }
}

/// The kinds of the calls other than ACKNOWLEDGE and RECONCILE, in order.
fn demand_calls(wire: &Scripted) -> Vec<String> {
    wire.actions()
        .iter()
        .filter(|c| !matches!(c.r#type(), CallType::Reconcile | CallType::Subscribe))
        .map(|c| format!("{:?}", c.r#type()))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn an_idle_suppressed_framework_revives_at_once_on_an_input_and_suppresses_when_done() {
    let wire = Scripted::default();
    // A master that heartbeats rarely, so 120 s of quiet is not a silence.
    wire.wire.lock().unwrap().heartbeat = Some(Some(3600.0));
    let queue = Queue::default();
    let (sender, inputs) = inputs::channel(8);
    let framework = Framework::new(info(), wire.clone());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run_with_inputs(queue.clone(), inputs));
    settle().await;
    assert_eq!(demand_calls(&wire), vec!["Suppress"], "idle: suppressed");
    // Long after: no revive happens by itself.
    tokio::time::advance(Duration::from_secs(120)).await;
    settle().await;
    assert_eq!(demand_calls(&wire), vec!["Suppress"]);
    let before = tokio::time::Instant::now();
    sender.send(1).await.unwrap();
    settle().await;
    assert_eq!(
        demand_calls(&wire),
        vec!["Suppress", "Revive"],
        "the input's work revives at once (well within one rate-limit interval)"
    );
    assert_eq!(
        tokio::time::Instant::now(),
        before,
        "no virtual time passed"
    );
    wire.stream(0)
        .send(Ok(offer_event("o1", "a", 2.0)))
        .unwrap();
    settle().await;
    assert_eq!(
        demand_calls(&wire),
        vec!["Suppress", "Revive", "Accept", "Suppress"],
        "the work launched: suppressed again"
    );
    assert_eq!(queue.lines(), vec!["input 1", "offer o1"]);
    driver.stop();
    run.await.unwrap().unwrap();
}

/// Runs one scripted scenario where inputs and events race, and returns the
/// order the scheduler saw them in.
async fn interleaving() -> Vec<String> {
    let wire = Scripted::default();
    let queue = Queue::default();
    let (sender, inputs) = inputs::channel(8);
    let framework = Framework::new(info(), wire.clone());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run_with_inputs(queue.clone(), inputs));
    settle().await;
    let master = wire.stream(0);
    // Both ready at the same instant, several times over.
    for round in 0..3 {
        sender.send(round + 1).await.unwrap();
        master
            .send(Ok(offer_event(&format!("o{round}"), "a", 1.0)))
            .unwrap();
        sender.send(10).await.unwrap();
        tokio::time::advance(Duration::from_millis(10)).await;
    }
    settle().await;
    driver.stop();
    run.await.unwrap().unwrap();
    queue.lines()
}

#[tokio::test(start_paused = true)]
async fn inputs_and_master_events_interleave_in_the_same_order_every_run() {
    let first = interleaving().await;
    assert_eq!(first.len(), 9, "{first:?}");
    for _ in 0..5 {
        assert_eq!(interleaving().await, first);
    }
    // An event ready with an input goes first.
    assert_eq!(first[0], "offer o0", "{first:?}");
}

#[tokio::test(start_paused = true)]
async fn a_timer_driven_retry_fires_at_its_virtual_instant() {
    let wire = Scripted::default();
    let queue = Queue {
        retry_after: Some(Duration::from_secs(3)),
        ..Queue::default()
    };
    let framework = Framework::new(info(), wire.clone());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run(queue.clone()));
    settle().await;
    // Heartbeats keep the (1 s interval) connection alive meanwhile.
    for _ in 0..29 {
        wire.stream(0)
            .send(Ok(event(pb::event::Type::Heartbeat)))
            .unwrap();
        tokio::time::advance(Duration::from_millis(100)).await;
        settle().await;
    }
    assert!(
        queue.lines().is_empty(),
        "not before 3 s: {:?}",
        queue.lines()
    );
    tokio::time::advance(Duration::from_millis(100)).await;
    settle().await;
    assert_eq!(queue.lines(), vec!["timer 42 at 3s"]);
    // From outside the handlers, through the handle.
    driver.wake_after(Duration::from_millis(500), 7);
    tokio::time::advance(Duration::from_millis(500)).await;
    settle().await;
    assert_eq!(queue.lines(), vec!["timer 42 at 3s", "timer 7 at 3.5s"]);
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_full_input_channel_makes_send_wait_and_try_send_give_the_input_back() {
    let (sender, inputs) = inputs::channel::<usize>(1);
    sender.try_send(1).unwrap();
    assert_eq!(
        sender.try_send(2),
        Err(TrySendError::Full(2)),
        "full: given back"
    );
    let waiting = tokio::spawn({
        let sender = sender.clone();
        async move { sender.send(3).await }
    });
    settle().await;
    assert!(
        !waiting.is_finished(),
        "send waits while the channel is full"
    );
    // The framework starts taking inputs: the waiting send goes through.
    let wire = Scripted::default();
    let queue = Queue::default();
    let framework = Framework::new(info(), wire.clone());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run_with_inputs(queue.clone(), inputs));
    settle().await;
    assert!(waiting.is_finished());
    waiting.await.unwrap().unwrap();
    assert_eq!(queue.lines(), vec!["input 1", "input 3"], "nothing lost");
    driver.stop();
    run.await.unwrap().unwrap();
    // Stopped: the input comes back as closed.
    assert_eq!(sender.send(4).await, Err(inputs::Closed(4)));
    assert_eq!(sender.try_send(5), Err(TrySendError::Closed(5)));
}

#[tokio::test(start_paused = true)]
async fn refresh_demand_rereads_wants_offers_without_an_input() {
    struct Flag(Arc<Mutex<bool>>);
    #[async_trait]
    impl Scheduler for Flag {
        async fn offers(&mut self, _: &dyn Driver, _: Vec<Offer>) {}
        fn wants_offers(&self, _: &Role) -> Option<bool> {
            Some(*self.0.lock().unwrap())
        }
    }
    let wire = Scripted::default();
    let wants = Arc::new(Mutex::new(false));
    let framework = Framework::new(info(), wire.clone());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run(Flag(wants.clone())));
    settle().await;
    assert_eq!(demand_calls(&wire), vec!["Suppress"]);
    *wants.lock().unwrap() = true;
    settle().await;
    assert_eq!(
        demand_calls(&wire),
        vec!["Suppress"],
        "nothing noticed it yet"
    );
    driver.refresh_demand();
    settle().await;
    assert_eq!(demand_calls(&wire), vec!["Suppress", "Revive"]);
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn inputs_reach_the_scheduler_while_disconnected_and_demand_applies_on_resubscription() {
    let wire = Scripted::default();
    let queue = Queue::default();
    let (sender, inputs) = inputs::channel(8);
    let framework = Framework::new(info(), wire.clone());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run_with_inputs(queue.clone(), inputs));
    settle().await;
    // The master goes away; the next two subscriptions are refused.
    wire.wire.lock().unwrap().refuse_next_subscribes = 2;
    wire.stream(0)
        .send(Err(TransportError::Unavailable("gone".into())))
        .unwrap();
    settle().await;
    sender.send(2).await.unwrap();
    settle().await;
    assert_eq!(queue.lines(), vec!["input 2"], "taken while disconnected");
    for _ in 0..20 {
        tokio::time::advance(Duration::from_millis(250)).await;
        settle().await;
    }
    assert_eq!(wire.subscribe_calls(), 4, "first + 2 refused + 1 accepted");
    assert_eq!(
        wire.calls_of(CallType::Revive).len(),
        1,
        "once resubscribed, the input's work revives"
    );
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn suppress_is_sent_once_however_many_handlers_run() {
    let wire = Scripted::default();
    let rec = Recorder {
        wants: Some(false),
        ..Recorder::default()
    };
    let (driver, run) = launch(&wire, &rec).await;
    let master = wire.stream(0);
    for i in 0..4u8 {
        master
            .send(Ok(offer_event(&format!("o{i}"), "a", 1.0)))
            .unwrap();
        master
            .send(Ok(update_event("t1", pb::TaskState::TaskRunning, i + 1)))
            .unwrap();
        settle().await;
    }
    assert_eq!(
        rec.lines()
            .iter()
            .filter(|l| l.starts_with("offer"))
            .count(),
        4,
        "the handlers ran"
    );
    let suppress = wire.calls_of(CallType::Suppress);
    assert_eq!(
        suppress.len(),
        1,
        "suppressed once, not after every handler"
    );
    assert_eq!(suppress[0].suppress.as_ref().unwrap().roles, vec!["a", "b"]);
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn repeated_states_are_acknowledged_but_hidden_from_the_handler() {
    let (wire, rec, driver, run) = start().await;
    let master = wire.stream(0);
    for (state, uuid) in [
        (pb::TaskState::TaskRunning, 1),
        (pb::TaskState::TaskRunning, 2),
        (pb::TaskState::TaskFinished, 3),
        (pb::TaskState::TaskFinished, 4),
        (pb::TaskState::TaskLost, 5),
    ] {
        master.send(Ok(update_event("t1", state, uuid))).unwrap();
    }
    settle().await;
    let updates: Vec<String> = rec
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("update"))
        .collect();
    assert_eq!(updates, vec!["update t1 Running", "update t1 Finished"]);
    let uuids: Vec<u8> = wire
        .calls_of(CallType::Acknowledge)
        .iter()
        .map(|c| c.acknowledge.as_ref().unwrap().uuid[0])
        .collect();
    assert_eq!(uuids, vec![1, 2, 3, 4, 5], "every update is acknowledged");
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn teardown_with_nothing_in_flight_goes_out_at_once() {
    let (wire, _rec, driver, run) = start().await;
    let t0 = tokio::time::Instant::now();
    driver.teardown().await.unwrap();
    assert_eq!(
        t0.elapsed(),
        Duration::ZERO,
        "no wait when no ack is on its way"
    );
    assert_eq!(wire.calls_of(CallType::Teardown).len(), 1);
    assert_eq!(run.await.unwrap().unwrap(), Stopped::TornDown);
}

#[tokio::test(start_paused = true)]
async fn teardown_waits_for_the_acks_in_flight_and_no_longer() {
    let (wire, _rec, driver, run) = start().await;
    wire.wire.lock().unwrap().ack_delay = Some(Duration::from_secs(1));
    let master = wire.stream(0);
    master
        .send(Ok(update_event("t1", pb::TaskState::TaskRunning, 1)))
        .unwrap();
    master
        .send(Ok(update_event("t2", pb::TaskState::TaskRunning, 2)))
        .unwrap();
    settle().await;
    assert!(
        wire.calls_of(CallType::Acknowledge).is_empty(),
        "the acks are still on their way"
    );
    let t0 = tokio::time::Instant::now();
    driver.teardown().await.unwrap();
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(2),
        "teardown waited {waited:?}: as long as the acks took, not to its limit"
    );
    let kinds: Vec<CallType> = wire
        .actions_and_acks()
        .iter()
        .map(|c| c.r#type())
        .filter(|t| matches!(t, CallType::Acknowledge | CallType::Teardown))
        .collect();
    assert_eq!(
        kinds,
        vec![
            CallType::Acknowledge,
            CallType::Acknowledge,
            CallType::Teardown
        ]
    );
    assert_eq!(run.await.unwrap().unwrap(), Stopped::TornDown);
}

/// The stream form of external work: the reader merges its own channel
/// into its loop and asks for timers through the driver; the timer comes
/// back as `Event::Timer` at its virtual instant, after the input that
/// arrived before it and in order with the master's events.
#[tokio::test(start_paused = true)]
async fn the_stream_reader_merges_its_inputs_and_gets_its_timers_at_their_instant() {
    let wire = Scripted::default();
    let framework = Framework::new(info(), wire.clone());
    let (driver, mut events) = framework.into_stream();
    assert!(matches!(
        events.next().await.unwrap(),
        corral::Event::Subscribed(_)
    ));
    let start = tokio::time::Instant::now();
    driver.wake_after(Duration::from_secs(3), 7);
    let (inputs, mut from_outside) = tokio::sync::mpsc::channel::<&str>(4);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        inputs.send("build queued").await.unwrap();
    });
    let mut seen = Vec::new();
    while seen.len() < 3 {
        tokio::select! {
            biased;
            event = events.next() => match event.unwrap() {
                corral::Event::Timer(tag) => seen.push(format!("timer {tag} at {:?}", start.elapsed())),
                corral::Event::Offers(offers) => {
                    seen.push(format!("offers {} at {:?}", offers.len(), start.elapsed()))
                }
                other => panic!("unexpected {other:?}"),
            },
            Some(input) = from_outside.recv() => {
                seen.push(format!("{input} at {:?}", start.elapsed()));
                wire.stream(0).send(Ok(offer_event("o1", "a", 1.0))).unwrap();
            }
        }
    }
    assert_eq!(
        seen,
        ["build queued at 1s", "offers 1 at 1s", "timer 7 at 3s"]
    );
    driver.stop();
    drop(events);
}
