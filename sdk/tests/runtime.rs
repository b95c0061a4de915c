//! The runtime's shell: what only the IO around the core does, against
//! the smallest fake transport, on tokio's paused clock.
//!
//! Every decision (what to acknowledge, decline, hide, suppress, revive,
//! kill, which notices to show again) is the core's and is tested without
//! any transport in `src/runtime/core_tests.rs`; the wire form is
//! `corral-proto`'s and is tested there. What is left here is the shell's
//! own: subscribing and resubscribing with backoff, the heartbeat silence
//! deadline, queued revives and timers firing at their instant, inputs,
//! acknowledgements sent in the background and joined, transport errors,
//! and how a run ends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use corral::inputs::{self, TrySendError};
use corral::{
    Call, CallKind, Config, Disconnect, Driver, Error, Framework, FrameworkInfo, MasterEvent,
    Offer, RejectKind, Resources, RevocationNotice, Role, Scheduler, Session, Stopped, Subscribe,
    Subscribed, Subscription, TaskId, TaskInfo, TaskState, TaskStatus, Transport, TransportError,
    WithInputs,
};
use futures::StreamExt;
use tokio::sync::mpsc;

/// One subscription the fake master accepted: the test pushes events.
type EventTx = mpsc::UnboundedSender<Result<MasterEvent, TransportError>>;

#[derive(Default)]
struct Wire {
    calls: Vec<Call>,
    subscriptions: Vec<EventTx>,
    refuse_next_subscribes: usize,
    /// Calls of these kinds are refused (and not recorded).
    reject: Vec<(CallKind, RejectKind)>,
    /// The heartbeat interval SUBSCRIBED announces (1 s when unset).
    heartbeat: Option<Duration>,
    /// How long an ACKNOWLEDGE takes to reach the master (none when unset).
    ack_delay: Option<Duration>,
    /// Sending a call of this kind panics (a broken transport).
    panic_on: Option<CallKind>,
}

/// A transport whose master is the test: it records plain calls and
/// yields the plain events the test pushes.
#[derive(Clone, Default)]
struct Fake {
    wire: Arc<Mutex<Wire>>,
}

impl Fake {
    fn calls_of(&self, kind: CallKind) -> Vec<Call> {
        let wire = self.wire.lock().unwrap();
        wire.calls
            .iter()
            .filter(|c| c.kind() == kind)
            .cloned()
            .collect()
    }

    /// The kinds of every call, in the order they reached the master.
    fn kinds(&self) -> Vec<CallKind> {
        let wire = self.wire.lock().unwrap();
        wire.calls.iter().map(Call::kind).collect()
    }

    fn subscribe_calls(&self) -> usize {
        self.calls_of(CallKind::Subscribe).len()
    }

    fn stream(&self, n: usize) -> EventTx {
        self.wire.lock().unwrap().subscriptions[n].clone()
    }

    fn reject(&self, reject: Vec<(CallKind, RejectKind)>) {
        self.wire.lock().unwrap().reject = reject;
    }
}

#[async_trait]
impl Transport for Fake {
    async fn subscribe(&self, call: Subscribe) -> Result<Subscription, TransportError> {
        let mut wire = self.wire.lock().unwrap();
        let id = call.framework.id.clone().unwrap_or_else(|| "fw-1".into());
        wire.calls.push(Call::Subscribe(call));
        if wire.refuse_next_subscribes > 0 {
            wire.refuse_next_subscribes -= 1;
            return Err(TransportError::Unavailable("connection refused".into()));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let interval = wire.heartbeat.unwrap_or(Duration::from_secs(1));
        let _ = tx.send(Ok(MasterEvent::Subscribed(Subscribed::new(id, interval))));
        wire.subscriptions.push(tx);
        let n = wire.subscriptions.len();
        Ok(Subscription {
            stream_id: format!("stream-{n}"),
            events: tokio_stream::wrappers::UnboundedReceiverStream::new(rx).boxed(),
        })
    }

    async fn send(&self, session: &Session, call: Call) -> Result<(), TransportError> {
        let (delay, panic_on) = {
            let wire = self.wire.lock().unwrap();
            (wire.ack_delay, wire.panic_on)
        };
        if panic_on == Some(call.kind()) {
            panic!("the transport broke");
        }
        if let Some(delay) = delay.filter(|_| call.kind() == CallKind::Acknowledge) {
            tokio::time::sleep(delay).await;
        }
        let mut wire = self.wire.lock().unwrap();
        let current = format!("stream-{}", wire.subscriptions.len());
        if session.stream_id != current {
            return Err(TransportError::Unavailable("stale stream".into()));
        }
        if let Some((_, kind)) = wire.reject.iter().find(|(k, _)| *k == call.kind()) {
            return Err(TransportError::rejected(*kind, "refused by the test"));
        }
        wire.calls.push(call);
        Ok(())
    }
}

fn offers(id: &str, role: &str, cpus: f64) -> MasterEvent {
    MasterEvent::Offers {
        offers: vec![Offer::new(
            id,
            "agent-1",
            Resources::new().with_cpus(cpus).with_mem(1024.0),
        )
        .with_role(role)],
        malformed: vec![],
    }
}

fn update(task: &str, state: TaskState, uuid: u8) -> MasterEvent {
    MasterEvent::Update(
        TaskStatus::new(task, state)
            .with_agent("agent-1")
            .with_uuid(vec![uuid; 16]),
    )
}

/// A notice taking `tasks` on agent-1 at 30 s on the master's clock.
fn notice(id: &str, tasks: &[&str]) -> RevocationNotice {
    RevocationNotice::new(
        id,
        "agent-1",
        tasks.iter().map(|t| TaskId::from(*t)),
        Resources::new()
            .with_cpus(tasks.len() as f64)
            .allocated_to(&Role::from("b"))
            .revocable(),
        Duration::from_secs(30),
    )
}

fn notice_event(notice: &RevocationNotice) -> MasterEvent {
    MasterEvent::InverseOffers(vec![corral::InverseItem::Revocation(notice.clone())])
}

/// Records what the runtime showed it.
#[derive(Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<Vec<String>>>,
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

    async fn offers(&mut self, _: &dyn Driver, offers: Vec<Offer>) {
        for offer in offers {
            self.log(format!("offer {} role {}", offer.id, offer.role));
        }
    }

    async fn revocation(&mut self, _: &dyn Driver, notice: RevocationNotice) {
        self.log(format!("revocation {}", notice.id));
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

/// Implements only `offers`: every other handler is the trait's default.
struct Defaults;

#[async_trait]
impl Scheduler for Defaults {
    async fn offers(&mut self, _: &dyn Driver, _: Vec<Offer>) {}
}

fn info() -> FrameworkInfo {
    FrameworkInfo::new("test").with_roles(["a", "b"])
}

type Run = tokio::task::JoinHandle<Result<Stopped, Error>>;

/// Runs `scheduler` with `config` on `wire` and lets it settle.
async fn launch_with<S: Scheduler + 'static>(
    wire: &Fake,
    config: Config,
    scheduler: S,
) -> (corral::DriverHandle, Run) {
    let framework = Framework::with_config(info(), config, wire.clone());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run(scheduler));
    settle().await;
    (driver, run)
}

/// Runs a framework with `rec` on `wire` and lets it settle.
async fn launch(wire: &Fake, rec: &Recorder) -> (corral::DriverHandle, Run) {
    launch_with(wire, Config::default(), rec.clone()).await
}

/// Lets the runtime run until it is idle at the current virtual time.
async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_silent_master_means_disconnected_then_resubscribe_with_same_id_and_reconcile() {
    let wire = Fake::default();
    let rec = Recorder::default();
    let (driver, run) = launch(&wire, &rec).await;
    wire.stream(0)
        .send(Ok(update("t1", TaskState::Running, 1)))
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
            let _ = master.send(Ok(MasterEvent::Heartbeat));
        }
    }
    assert_eq!(wire.subscribe_calls(), 4, "first + 2 refused + 1 accepted");
    let Some(Call::Subscribe(resubscribe)) = wire.calls_of(CallKind::Subscribe).pop() else {
        unreachable!()
    };
    assert_eq!(resubscribe.framework.id, Some("fw-1".into()));
    assert!(rec
        .lines()
        .contains(&"subscribed fw-1 resubscribed=true".to_owned()));
    // Explicit reconcile for the task we know, then implicit.
    let reconciles: Vec<usize> = wire
        .calls_of(CallKind::Reconcile)
        .iter()
        .rev()
        .take(2)
        .map(|c| match c {
            Call::Reconcile(tasks) => tasks.len(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(reconciles, vec![0, 1]);
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_queued_revive_goes_out_when_its_interval_ends() {
    let wire = Fake::default();
    let rec = Recorder {
        wants: Some(false),
        ..Recorder::default()
    };
    let (driver, run) = launch(&wire, &rec).await;
    assert_eq!(
        wire.calls_of(CallKind::Suppress),
        vec![Call::Suppress(vec![Role::from("a"), Role::from("b")])],
        "nothing to run: both roles suppressed"
    );
    // Three revives in quick succession: the first goes out, the rest coalesce into one later.
    let a = [Role::from("a")];
    driver.revive(&a).await.unwrap();
    driver.revive(&a).await.unwrap();
    driver.revive(&a).await.unwrap();
    settle().await;
    assert_eq!(wire.calls_of(CallKind::Revive).len(), 1);
    tokio::time::advance(Duration::from_millis(999)).await;
    settle().await;
    assert_eq!(wire.calls_of(CallKind::Revive).len(), 1, "not before 1 s");
    tokio::time::advance(Duration::from_millis(1)).await;
    settle().await;
    assert_eq!(
        wire.calls_of(CallKind::Revive).len(),
        2,
        "the queued revive is sent when the interval ends"
    );
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_error_event_ends_the_run() {
    let wire = Fake::default();
    let (_driver, run) = launch(&wire, &Recorder::default()).await;
    wire.stream(0)
        .send(Ok(MasterEvent::Error("framework removed".into())))
        .unwrap();
    let result = run.await.unwrap();
    assert!(matches!(result, Err(Error::EndedByMaster(m)) if m == "framework removed"));
}

#[tokio::test(start_paused = true)]
async fn invalid_framework_info_is_refused_before_connecting() {
    let wire = Fake::default();
    let bad = FrameworkInfo::new("x").with_roles(["ok", "bad role"]);
    let result = Framework::new(bad, wire.clone())
        .run(Recorder::default())
        .await;
    assert!(matches!(result, Err(Error::InvalidFrameworkInfo(_))));
    assert_eq!(wire.subscribe_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_default_revocation_kills_first_then_accepts() {
    let wire = Fake::default();
    let (driver, run) = launch_with(&wire, Config::default(), Defaults).await;
    let master = wire.stream(0);
    master
        .send(Ok(update("t1", TaskState::Running, 1)))
        .unwrap();
    master
        .send(Ok(update("t2", TaskState::Killing, 2)))
        .unwrap();
    settle().await;
    let before = wire.kinds().len();
    master
        .send(Ok(notice_event(&notice("rev-1", &["t1", "t2", "t3"]))))
        .unwrap();
    settle().await;
    let sent: Vec<CallKind> = wire
        .kinds()
        .split_off(before)
        .into_iter()
        .filter(|k| *k != CallKind::Acknowledge)
        .collect();
    assert_eq!(
        sent,
        vec![
            CallKind::Kill,
            CallKind::Kill,
            CallKind::AcceptInverseOffers
        ],
        "the kills (t2 is being killed already) first, then the confirmation"
    );
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn release_takes_gone_tasks_and_a_withdrawn_notice_as_done_but_not_other_refusals() {
    let wire = Fake::default();
    let (driver, run) = launch(&wire, &Recorder::default()).await;
    let n = notice("rev-1", &["t1", "t2"]);
    let master = wire.stream(0);
    // The master forgot both tasks (they ended) and the notice.
    wire.reject(vec![
        (CallKind::Kill, RejectKind::NotFound),
        (CallKind::AcceptInverseOffers, RejectKind::NotFound),
        (CallKind::DeclineInverseOffers, RejectKind::NotFound),
    ]);
    // Not seen withdrawn (here: never even delivered): the master's
    // NotFound is an unknown notice, not "already withdrawn".
    for answer in [
        driver.release(&n).await,
        driver.decline_revocation(&n).await,
    ] {
        assert!(
            matches!(
                &answer,
                Err(Error::UnknownNotice { notice, source: TransportError::Rejected { kind: RejectKind::NotFound, .. } })
                    if notice.as_str() == "rev-1"
            ),
            "{answer:?}"
        );
    }
    // Delivered, then withdrawn: the late answers are done.
    master.send(Ok(notice_event(&n))).unwrap();
    master
        .send(Ok(MasterEvent::RescindInverseOffer("rev-1".into())))
        .unwrap();
    settle().await;
    driver.release(&n).await.unwrap();
    driver.decline_revocation(&n).await.unwrap();
    // Any other refusal of a kill stops the release before the accept.
    wire.reject(vec![
        (CallKind::Kill, RejectKind::InvalidArgument),
        (CallKind::AcceptInverseOffers, RejectKind::Other),
    ]);
    assert!(matches!(
        driver.release(&n).await,
        Err(Error::Transport(TransportError::Rejected {
            kind: RejectKind::InvalidArgument,
            ..
        }))
    ));
    wire.reject(vec![(CallKind::AcceptInverseOffers, RejectKind::Other)]);
    assert!(matches!(
        driver.release(&n).await,
        Err(Error::Transport(TransportError::Rejected {
            kind: RejectKind::Other,
            ..
        }))
    ));
    wire.reject(vec![]);
    let kinds: Vec<CallKind> = wire
        .kinds()
        .into_iter()
        .filter(|k| !matches!(k, CallKind::Subscribe | CallKind::Reconcile))
        .collect();
    assert_eq!(
        kinds,
        vec![CallKind::Kill, CallKind::Kill],
        "only the last release's kills got through"
    );
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_silence_deadline_follows_the_announced_interval_however_long() {
    // What a transport yields for the wire's 1e20, infinity (capped to an
    // hour), NaN, negative or missing (Mesos's 15 s): corral-proto's
    // `a_subscribed_with_a_huge_nan_or_negative_heartbeat_is_read_with_a_capped_interval`.
    // And a `Duration::MAX`, which `Subscribed::new` caps too.
    for (interval, silent_after) in [
        (Duration::from_secs(3600), Duration::from_secs(5 * 3600)),
        (Duration::MAX, Duration::from_secs(5 * 3600)),
        (Duration::from_secs(15), Duration::from_secs(75)),
    ] {
        let wire = Fake::default();
        wire.wire.lock().unwrap().heartbeat = Some(interval);
        let rec = Recorder::default();
        let (driver, run) = launch(&wire, &rec).await;
        wire.stream(0).send(Ok(offers("o1", "a", 1.0))).unwrap();
        settle().await;
        assert!(
            rec.lines().contains(&"offer o1 role a".to_owned()),
            "{interval:?}"
        );
        tokio::time::advance(silent_after - Duration::from_secs(1)).await;
        settle().await;
        assert!(
            !rec.lines().iter().any(|l| l.starts_with("disconnected")),
            "{interval:?}: still connected just before the silence"
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        settle().await;
        assert!(
            rec.lines()
                .iter()
                .any(|l| l.starts_with("disconnected true")),
            "{interval:?}: the silence is noticed"
        );
        driver.stop();
        assert_eq!(run.await.unwrap().unwrap(), Stopped::Detached);
    }
}

#[tokio::test(start_paused = true)]
async fn a_huge_missed_heartbeats_count_does_not_overflow_the_silence_deadline() {
    let wire = Fake::default();
    wire.wire.lock().unwrap().heartbeat = Some(Duration::MAX);
    let config = Config::default()
        .with_missed_heartbeats(u32::MAX)
        .with_min_revive_interval(Duration::MAX);
    let rec = Recorder::default();
    let (driver, run) = launch_with(&wire, config, rec.clone()).await;
    driver.revive(&[Role::from("a")]).await.unwrap();
    driver.revive(&[Role::from("a")]).await.unwrap();
    wire.stream(0).send(Ok(offers("o1", "a", 1.0))).unwrap();
    settle().await;
    assert!(rec.lines().contains(&"offer o1 role a".to_owned()));
    driver.stop();
    assert_eq!(run.await.unwrap().unwrap(), Stopped::Detached);
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

/// The kinds of the calls other than SUBSCRIBE, ACKNOWLEDGE and RECONCILE,
/// in order.
fn demand_calls(wire: &Fake) -> Vec<String> {
    wire.kinds()
        .into_iter()
        .filter(|k| {
            !matches!(
                k,
                CallKind::Reconcile | CallKind::Subscribe | CallKind::Acknowledge
            )
        })
        .map(|k| format!("{k:?}"))
        .collect()
}

/// Runs `queue` fed from `inputs` on `wire` and lets it settle.
async fn launch_fed(
    wire: &Fake,
    queue: &Queue,
    inputs: corral::Inputs<usize>,
) -> (corral::DriverHandle, Run) {
    let framework = Framework::new(info(), wire.clone());
    let driver = framework.driver();
    let run = tokio::spawn(framework.run_with_inputs(queue.clone(), inputs));
    settle().await;
    (driver, run)
}

#[tokio::test(start_paused = true)]
async fn an_idle_suppressed_framework_revives_at_once_on_an_input_and_suppresses_when_done() {
    let wire = Fake::default();
    // A master that heartbeats rarely, so 120 s of quiet is not a silence.
    wire.wire.lock().unwrap().heartbeat = Some(Duration::from_secs(3600));
    let queue = Queue::default();
    let (sender, inputs) = inputs::channel(8);
    let (driver, run) = launch_fed(&wire, &queue, inputs).await;
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
    wire.stream(0).send(Ok(offers("o1", "a", 2.0))).unwrap();
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
    let wire = Fake::default();
    let queue = Queue::default();
    let (sender, inputs) = inputs::channel(8);
    let (driver, run) = launch_fed(&wire, &queue, inputs).await;
    let master = wire.stream(0);
    // Both ready at the same instant, several times over.
    for round in 0..3 {
        sender.send(round + 1).await.unwrap();
        master
            .send(Ok(offers(&format!("o{round}"), "a", 1.0)))
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
    let wire = Fake::default();
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
        wire.stream(0).send(Ok(MasterEvent::Heartbeat)).unwrap();
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
    let wire = Fake::default();
    let queue = Queue::default();
    let (driver, run) = launch_fed(&wire, &queue, inputs).await;
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
    let wire = Fake::default();
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
    let wire = Fake::default();
    let queue = Queue::default();
    let (sender, inputs) = inputs::channel(8);
    let (driver, run) = launch_fed(&wire, &queue, inputs).await;
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
        wire.calls_of(CallKind::Revive).len(),
        1,
        "once resubscribed, the input's work revives"
    );
    driver.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn teardown_with_nothing_in_flight_goes_out_at_once() {
    let wire = Fake::default();
    let (driver, run) = launch(&wire, &Recorder::default()).await;
    let t0 = tokio::time::Instant::now();
    driver.teardown().await.unwrap();
    assert_eq!(
        t0.elapsed(),
        Duration::ZERO,
        "no wait when no ack is on its way"
    );
    assert_eq!(wire.calls_of(CallKind::Teardown).len(), 1);
    assert_eq!(run.await.unwrap().unwrap(), Stopped::TornDown);
}

#[tokio::test(start_paused = true)]
async fn teardown_waits_for_the_acks_in_flight_and_no_longer() {
    let wire = Fake::default();
    let (driver, run) = launch(&wire, &Recorder::default()).await;
    wire.wire.lock().unwrap().ack_delay = Some(Duration::from_secs(1));
    let master = wire.stream(0);
    master
        .send(Ok(update("t1", TaskState::Running, 1)))
        .unwrap();
    master
        .send(Ok(update("t2", TaskState::Running, 2)))
        .unwrap();
    settle().await;
    assert!(
        wire.calls_of(CallKind::Acknowledge).is_empty(),
        "the acks are still on their way"
    );
    let t0 = tokio::time::Instant::now();
    driver.teardown().await.unwrap();
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(2),
        "teardown waited {waited:?}: as long as the acks took, not to its limit"
    );
    let kinds: Vec<CallKind> = wire
        .kinds()
        .into_iter()
        .filter(|t| matches!(t, CallKind::Acknowledge | CallKind::Teardown))
        .collect();
    assert_eq!(
        kinds,
        vec![
            CallKind::Acknowledge,
            CallKind::Acknowledge,
            CallKind::Teardown
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
    let wire = Fake::default();
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
                wire.stream(0).send(Ok(offers("o1", "a", 1.0))).unwrap();
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

#[tokio::test(start_paused = true)]
async fn the_stream_yields_revocation_notices_and_leaves_the_answer_to_its_reader() {
    let wire = Fake::default();
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
        wire.calls_of(CallKind::AcceptInverseOffers).is_empty(),
        "the stream does not answer for its reader"
    );
    driver.release(&got).await.unwrap();
    assert_eq!(wire.calls_of(CallKind::AcceptInverseOffers).len(), 1);
    driver.stop();
    drop(events);
}

#[tokio::test(start_paused = true)]
async fn the_acks_still_on_their_way_are_joined_when_the_run_ends_within_a_bound() {
    for (delay, sent) in [(Duration::from_secs(1), 1), (Duration::from_secs(60), 0)] {
        let wire = Fake::default();
        let (driver, run) = launch(&wire, &Recorder::default()).await;
        wire.wire.lock().unwrap().ack_delay = Some(delay);
        wire.stream(0)
            .send(Ok(update("t1", TaskState::Running, 1)))
            .unwrap();
        settle().await;
        assert!(
            wire.calls_of(CallKind::Acknowledge).is_empty(),
            "the ack is on its way"
        );
        let t0 = tokio::time::Instant::now();
        driver.stop();
        assert_eq!(run.await.unwrap().unwrap(), Stopped::Detached);
        let waited = t0.elapsed();
        assert_eq!(
            wire.calls_of(CallKind::Acknowledge).len(),
            sent,
            "{delay:?}: the run's own ack is not left running past it"
        );
        // As long as the ack took, or the 5 s bound, not more.
        let bound = delay.min(Duration::from_secs(5));
        assert!(
            waited >= bound && waited < bound + Duration::from_secs(1),
            "{delay:?}: waited {waited:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_panic_in_the_streams_runtime_task_comes_back_from_finish_named_so() {
    let wire = Fake::default();
    wire.wire.lock().unwrap().panic_on = Some(CallKind::Reconcile);
    let framework = Framework::new(info(), wire.clone());
    let (_driver, mut events) = framework.into_stream();
    // SUBSCRIBED is yielded; the reconciliation after it panics in the
    // transport, on the runtime's task: the stream ends.
    assert!(matches!(
        events.next().await,
        Some(corral::Event::Subscribed(_))
    ));
    assert_eq!(events.next().await, None);
    let result = events.finish().await;
    assert!(
        matches!(&result, Err(Error::RuntimePanicked(m)) if m.contains("the transport broke")),
        "{result:?}"
    );
}
