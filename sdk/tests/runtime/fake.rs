//! The fake transport (the test is the master: it records plain calls
//! and yields the plain events the test pushes), the schedulers and
//! helpers the shell's tests share, and their imports.

pub use std::sync::{Arc, Mutex};
pub use std::time::Duration;

pub use async_trait::async_trait;
pub use corral::inputs::{self, TrySendError};
pub use corral::{
    Call, CallKind, Config, Disconnect, Driver, Error, Framework, FrameworkInfo, MasterEvent,
    Offer, RejectKind, Resources, RevocationNotice, Role, Scheduler, Session, Stopped, Subscribe,
    Subscribed, Subscription, TaskId, TaskInfo, TaskState, TaskStatus, Transport, TransportError,
    WithInputs,
};
pub use futures::StreamExt;
pub use tokio::sync::mpsc;

/// One subscription the fake master accepted: the test pushes events.
pub type EventTx = mpsc::UnboundedSender<Result<MasterEvent, TransportError>>;

#[derive(Default)]
pub struct Wire {
    pub calls: Vec<Call>,
    pub subscriptions: Vec<EventTx>,
    pub refuse_next_subscribes: usize,
    /// Calls of these kinds are refused (and not recorded).
    pub reject: Vec<(CallKind, RejectKind)>,
    /// The heartbeat interval SUBSCRIBED announces (1 s when unset).
    pub heartbeat: Option<Duration>,
    /// How long an ACKNOWLEDGE takes to reach the master (none when unset).
    pub ack_delay: Option<Duration>,
    /// Sending a call of this kind panics (a broken transport).
    pub panic_on: Option<CallKind>,
}

/// A transport whose master is the test: it records plain calls and
/// yields the plain events the test pushes.
#[derive(Clone, Default)]
pub struct Fake {
    pub wire: Arc<Mutex<Wire>>,
}

impl Fake {
    pub fn calls_of(&self, kind: CallKind) -> Vec<Call> {
        let wire = self.wire.lock().unwrap();
        wire.calls
            .iter()
            .filter(|c| c.kind() == kind)
            .cloned()
            .collect()
    }

    /// The kinds of every call, in the order they reached the master.
    pub fn kinds(&self) -> Vec<CallKind> {
        let wire = self.wire.lock().unwrap();
        wire.calls.iter().map(Call::kind).collect()
    }

    pub fn subscribe_calls(&self) -> usize {
        self.calls_of(CallKind::Subscribe).len()
    }

    pub fn stream(&self, n: usize) -> EventTx {
        self.wire.lock().unwrap().subscriptions[n].clone()
    }

    pub fn reject(&self, reject: Vec<(CallKind, RejectKind)>) {
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

pub fn offers(id: &str, role: &str, cpus: f64) -> MasterEvent {
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

pub fn update(task: &str, state: TaskState, uuid: u8) -> MasterEvent {
    MasterEvent::Update(
        TaskStatus::new(task, state)
            .with_agent("agent-1")
            .with_uuid(vec![uuid; 16]),
    )
}

/// A notice taking `tasks` on agent-1 at 30 s on the master's clock.
pub fn notice(id: &str, tasks: &[&str]) -> RevocationNotice {
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

pub fn notice_event(notice: &RevocationNotice) -> MasterEvent {
    MasterEvent::InverseOffers(vec![corral::InverseItem::Revocation(notice.clone())])
}

/// Records what the runtime showed it.
#[derive(Clone, Default)]
pub struct Recorder {
    pub seen: Arc<Mutex<Vec<String>>>,
    pub wants: Option<bool>,
}

impl Recorder {
    pub fn log(&self, line: String) {
        self.seen.lock().unwrap().push(line);
    }

    pub fn lines(&self) -> Vec<String> {
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
pub struct Defaults;

#[async_trait]
impl Scheduler for Defaults {
    async fn offers(&mut self, _: &dyn Driver, _: Vec<Offer>) {}
}

pub fn info() -> FrameworkInfo {
    FrameworkInfo::new("test").with_roles(["a", "b"])
}

pub type Run = tokio::task::JoinHandle<Result<Stopped, Error>>;

/// Runs `scheduler` with `config` on `wire` and lets it settle.
pub async fn launch_with<S: Scheduler + 'static>(
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
pub async fn launch(wire: &Fake, rec: &Recorder) -> (corral::DriverHandle, Run) {
    launch_with(wire, Config::default(), rec.clone()).await
}

/// Lets the runtime run until it is idle at the current virtual time.
pub async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}
