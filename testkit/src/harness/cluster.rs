//! [`Cluster`]: a mock master with its agents, the frameworks under test
//! attached in-process, virtual time to drive them, the faults to throw at
//! them, and the trace of everything that happened.

use std::fmt::Debug;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use corral::inputs::{self, Closed, InputSender};
use corral::WithInputs;
use corral::{
    AgentId, Config, Driver, Framework, FrameworkId, FrameworkInfo, Reason, Scheduler, TaskId,
};
use corral::{DriverHandle, Error, Stopped};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::engine::{Engine, EngineShared};
use super::faults::{self, FaultError};
use super::recorded::Recorded;
use super::trace::{Trace, What};
use super::transport::ClusterTransport;
use crate::master::{ConfigError, MasterConfig, MasterCore, MasterState};

/// How long [`Cluster::launch`] waits (virtual time) for SUBSCRIBED.
const SUBSCRIBE_LIMIT: Duration = Duration::from_secs(60);
/// How long [`Cluster::run_until_idle`] may run (virtual time).
const IDLE_LIMIT: Duration = Duration::from_secs(3600);
/// Trace lines shown when a check fails (the tail of the trace).
const DUMP_LINES: usize = 400;

/// A cluster under test. See the [module docs](super).
pub struct Cluster {
    pub(super) shared: Arc<EngineShared>,
    timers: JoinHandle<()>,
    seed: u64,
    running: Vec<(FrameworkId, Arc<AtomicBool>)>,
    launched: u64,
}

/// A framework running on a [`Cluster`].
pub struct Running<S> {
    id: FrameworkId,
    driver: DriverHandle,
    handle: JoinHandle<(Result<Stopped, Error>, S)>,
}

impl<S> Running<S> {
    /// Its framework id.
    pub fn id(&self) -> &FrameworkId {
        &self.id
    }

    /// A handle to act for it from the test (kill a task, stop it...).
    pub fn driver(&self) -> &DriverHandle {
        &self.driver
    }

    /// Waits for its run to end (stop it first through [`Running::driver`],
    /// or let the master end it); returns how it ended and the scheduler,
    /// with the state it kept (to restart it, see [`Cluster::launch`]).
    pub async fn join(self) -> (Result<Stopped, Error>, S) {
        match self.handle.await {
            Ok(out) => out,
            Err(e) => panic!("framework {} panicked: {e}", self.id),
        }
    }
}

/// Sends external inputs to a framework launched with
/// [`Cluster::launch_with_inputs`], recording each in the trace
/// ([`What::Input`]) just before it goes on the framework's channel. The
/// framework's handler records it again when it is called with it
/// ([`What::InputSeen`]). Cheap to clone.
pub struct Injector<I> {
    framework: FrameworkId,
    sender: InputSender<I>,
    shared: Arc<EngineShared>,
}

impl<I> Clone for Injector<I> {
    fn clone(&self) -> Self {
        Injector {
            framework: self.framework.clone(),
            sender: self.sender.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<I: Debug + Send + 'static> Injector<I> {
    /// The framework the inputs go to.
    pub fn framework(&self) -> &FrameworkId {
        &self.framework
    }

    /// Records `input` and sends it now, waiting while the channel is
    /// full. Once the framework has stopped, the input comes back.
    pub async fn send(&self, input: I) -> Result<(), Closed<I>> {
        self.shared
            .lock()
            .record_input(self.framework.clone(), format!("{input:?}"), false);
        self.shared.changed.notify_waiters();
        self.sender.send(input).await
    }
}

impl Cluster {
    /// Starts a cluster (master and agents) as configured: agents with
    /// their resources and attributes, roles and weights, the allocation
    /// interval, the seed. Run it on tokio's paused clock
    /// (`#[tokio::test(start_paused = true)]`) for virtual time.
    ///
    /// A configuration with a local agent is refused with
    /// [`ConfigError::LocalAgentUnsupported`]: the cluster runs on virtual
    /// time and starts no processes (use
    /// [`MockMaster`](crate::MockMaster) for local agents).
    pub async fn start(config: MasterConfig) -> Result<Cluster, ConfigError> {
        if let Some(local) = config.agents.iter().find(|a| a.kind.work_dir().is_some()) {
            tracing::warn!(agent = %local.id, "cluster refused: local agents run no processes here");
            return Err(ConfigError::LocalAgentUnsupported(local.id.clone()));
        }
        let seed = config.seed;
        let core = MasterCore::new(config)?;
        let shared = EngineShared::new(core);
        let timers = tokio::spawn(shared.clone().run_timers());
        Ok(Cluster {
            shared,
            timers,
            seed,
            running: Vec::new(),
            launched: 0,
        })
    }

    /// Starts a cluster with one framework attached (subscribed).
    pub async fn with_framework<S: Scheduler + 'static>(
        config: MasterConfig,
        info: FrameworkInfo,
        scheduler: S,
    ) -> Result<(Cluster, Running<S>), ConfigError> {
        let mut cluster = Cluster::start(config).await?;
        let running = cluster.launch(info, scheduler).await;
        Ok((cluster, running))
    }

    /// Attaches a framework and waits until it is subscribed. Its events
    /// and calls are recorded. Give `info` an id (`with_id`) to restart a
    /// framework that ran before (a framework failover).
    pub async fn launch<S: Scheduler + 'static>(
        &mut self,
        info: FrameworkInfo,
        scheduler: S,
    ) -> Running<S> {
        // Each framework's backoff jitter comes from the cluster's seed.
        let config = Config::default()
            .with_seed(self.seed ^ (self.launched + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        self.launch_with(info, config, scheduler).await
    }

    /// [`Cluster::launch`] with the runtime's [`Config`].
    pub async fn launch_with<S: Scheduler + 'static>(
        &mut self,
        info: FrameworkInfo,
        config: Config,
        scheduler: S,
    ) -> Running<S> {
        self.attach(
            info,
            config,
            scheduler,
            |framework, mut recorded| async move {
                let result = framework.run(&mut recorded).await;
                (result, recorded)
            },
        )
        .await
    }

    /// [`Cluster::launch_with`] for a framework that takes external inputs
    /// ([`Framework::run_with_inputs`]), on a channel of `capacity`.
    /// Returns the framework with its [`Injector`]; inject at a virtual
    /// instant with [`Cluster::input_at`], or now with [`Injector::send`].
    /// Every injected input and every input its handler is called with is
    /// recorded in the trace.
    pub async fn launch_with_inputs<S>(
        &mut self,
        info: FrameworkInfo,
        config: Config,
        scheduler: S,
        capacity: usize,
    ) -> (Running<S>, Injector<S::Input>)
    where
        S: WithInputs + 'static,
        S::Input: Debug,
    {
        let (sender, receiver) = inputs::channel(capacity);
        let running = self
            .attach(
                info,
                config,
                scheduler,
                move |framework, mut recorded| async move {
                    let result = framework.run_with_inputs(&mut recorded, receiver).await;
                    (result, recorded)
                },
            )
            .await;
        let injector = Injector {
            framework: running.id.clone(),
            sender,
            shared: self.shared.clone(),
        };
        (running, injector)
    }

    /// Waits (virtual time) until `at` since the cluster started, then
    /// records and sends `input` through `injector`. Panics with the trace
    /// if `at` has passed, if an invariant broke on the way, or if the
    /// framework no longer takes inputs.
    pub async fn input_at<I: Debug + Send + 'static>(
        &self,
        injector: &Injector<I>,
        at: Duration,
        input: I,
    ) {
        let now = self.now();
        let Some(wait) = at.checked_sub(now) else {
            self.fail(&format!(
                "input_at {at:?}: the cluster is already at {now:?}"
            ));
        };
        tokio::time::sleep(wait).await;
        self.check_or_fail();
        if let Err(Closed(input)) = injector.send(input).await {
            self.fail(&format!(
                "framework {} no longer takes inputs: {input:?}",
                injector.framework
            ));
        }
    }

    /// Runs `scheduler`, recorded, with `run`, and waits until it is
    /// subscribed.
    async fn attach<S, R, F>(
        &mut self,
        info: FrameworkInfo,
        config: Config,
        scheduler: S,
        run: R,
    ) -> Running<S>
    where
        S: Send + 'static,
        R: FnOnce(Framework, Recorded<S>) -> F,
        F: Future<Output = (Result<Stopped, Error>, Recorded<S>)> + Send + 'static,
    {
        self.launched += 1;
        let transport = ClusterTransport {
            shared: self.shared.clone(),
        };
        let framework = Framework::with_config(info, config, transport);
        let driver = framework.driver();
        let alive = Arc::new(AtomicBool::new(true));
        let flag = alive.clone();
        let recorded = Recorded::new(scheduler, self.shared.clone());
        let running = run(framework, recorded);
        let handle = tokio::spawn(async move {
            let (result, recorded) = running.await;
            flag.store(false, Ordering::SeqCst);
            (result, recorded.into_inner())
        });
        let deadline = Instant::now() + SUBSCRIBE_LIMIT;
        let id = loop {
            if let Some(id) = driver.framework_id() {
                break id;
            }
            if Instant::now() >= deadline || handle.is_finished() {
                self.fail(&format!(
                    "the framework did not subscribe within {SUBSCRIBE_LIMIT:?}"
                ));
            }
            self.wait_for_change(deadline).await;
        };
        self.running.retain(|(fw, _)| fw != &id);
        self.running.push((id.clone(), alive));
        Running { id, driver, handle }
    }

    /// Turns the invariant checks after every step off (or back on). Each
    /// step checks what it changed (the agents whose offers, tasks or
    /// allocations moved; the allocator's own books after an allocation
    /// cycle), so they cost little; a benchmark of the harness itself may
    /// do without them, a test should not.
    pub fn check_every_step(&self, on: bool) {
        let mut engine = self.shared.lock();
        if on && !engine.checking {
            // Changes made while unchecked are not tracked: look at all.
            engine.core.touch_all();
        }
        engine.checking = on;
    }

    /// Virtual time since the cluster started.
    pub fn now(&self) -> Duration {
        self.shared.lock().now()
    }

    /// Lets `duration` of virtual time pass: every timer of the master, the
    /// wire and the frameworks fires in order. Panics with the trace if an
    /// invariant broke.
    pub async fn advance(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
        self.check_or_fail();
    }

    /// Runs until `done` holds (checked after every step), or panics with
    /// the trace after `limit` of virtual time.
    pub async fn run_until(
        &self,
        limit: Duration,
        mut done: impl FnMut(&MasterState, &Trace) -> bool,
    ) {
        let deadline = Instant::now() + limit;
        loop {
            {
                let engine = self.shared.lock();
                self.check_engine(&engine);
                if done(&engine.core.state(engine.now()), &engine.trace) {
                    return;
                }
            }
            if Instant::now() >= deadline {
                self.fail(&format!("condition not reached within {limit:?}"));
            }
            self.wait_for_change(deadline).await;
        }
    }

    /// Runs until nothing is under way: no task between states (a task
    /// that runs for a while is waited for; one that runs until killed is
    /// not), no update waiting for its acknowledgement, nothing held on the
    /// wire, and every running framework connected. Panics with the trace
    /// after an hour of virtual time.
    pub async fn run_until_idle(&self) {
        let deadline = Instant::now() + IDLE_LIMIT;
        loop {
            let running = self.running_ids();
            // Quiet now? A framework with work waiting still gets offers at
            // the next allocation, so idle means quiet across two
            // allocation cycles with no task launched.
            let quiet = {
                let engine = self.shared.lock();
                self.check_engine(&engine);
                engine.is_idle(&running).then(|| {
                    (
                        engine.core.launch_count(),
                        engine.core.config().allocation_interval * 2,
                    )
                })
            };
            if let Some((launched, window)) = quiet {
                tokio::time::sleep(window + Duration::from_millis(1)).await;
                let engine = self.shared.lock();
                if engine.core.launch_count() == launched && engine.is_idle(&running) {
                    return;
                }
                continue;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("not idle within {IDLE_LIMIT:?}"));
            }
            self.wait_for_change(deadline).await;
        }
    }

    async fn wait_for_change(&self, deadline: Instant) {
        let changed = self.shared.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        tokio::select! {
            biased;
            () = changed => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
    }

    /// A snapshot of the master's books.
    pub fn state(&self) -> MasterState {
        let engine = self.shared.lock();
        engine.core.state(engine.now())
    }

    /// A copy of the trace so far.
    pub fn trace(&self) -> Trace {
        self.shared.lock().trace.clone()
    }

    /// Runs `f` on the trace without copying it.
    pub fn with_trace<T>(&self, f: impl FnOnce(&Trace) -> T) -> T {
        f(&self.shared.lock().trace)
    }

    /// The first invariant broken so far, if any.
    pub fn check(&self) -> Result<(), String> {
        match &self.shared.lock().violation {
            Some(v) => Err(v.clone()),
            None => Ok(()),
        }
    }

    /// The end-of-scenario invariants, for a cluster that is idle: every
    /// running framework is connected with nothing left to acknowledge;
    /// for each of its tasks, the last state its handler saw is the
    /// master's (no update lost), and a task that ended was seen ending
    /// exactly once.
    pub fn check_settled(&self) -> Result<(), String> {
        self.check()?;
        let running = self.running_ids();
        let engine = self.shared.lock();
        let state = engine.core.state(engine.now());
        for fw in &running {
            let Some(snapshot) = state.framework(fw) else {
                continue;
            };
            if !snapshot.active {
                return Err(format!("framework {fw} is not connected"));
            }
            if snapshot.pending_updates > 0 {
                return Err(format!(
                    "framework {fw} has {} unacknowledged updates",
                    snapshot.pending_updates
                ));
            }
            let mut seen: std::collections::BTreeMap<&TaskId, Vec<corral::TaskState>> =
                std::collections::BTreeMap::new();
            for entry in engine.trace.entries() {
                if entry.framework.as_ref() != Some(fw) {
                    continue;
                }
                if let What::Seen(event) = &entry.what {
                    if let corral::Event::Update(status) = &**event {
                        seen.entry(&status.task_id).or_default().push(status.state);
                    }
                }
            }
            for (task, states) in &seen {
                let ends = states.iter().filter(|s| s.is_terminal()).count();
                if ends > 1 {
                    return Err(format!(
                        "the handler of {fw} saw task {task} end {ends} times: {states:?}"
                    ));
                }
            }
            for task in state.tasks.iter().filter(|t| &t.framework == fw) {
                let master = task.state;
                let last = seen.get(&task.id).and_then(|s| s.last().copied());
                if last != Some(master) {
                    return Err(format!(
                        "task {} of {fw} is {master:?} at the master, but its handler last saw {last:?}",
                        task.id
                    ));
                }
            }
        }
        Ok(())
    }

    /// [`Cluster::check_settled`], panicking with the trace.
    #[track_caller]
    pub fn assert_settled(&self) {
        if let Err(e) = self.check_settled() {
            self.fail(&e);
        }
    }

    // ---- faults ----

    /// Cuts `fw`'s connection: its event stream ends; it must resubscribe.
    pub fn break_connection(&self, fw: &FrameworkId) -> Result<(), FaultError> {
        self.fault(Some(fw), "connection broken", |engine, now| {
            faults::break_connection(engine, now, fw)
        })
    }

    /// The master goes silent on `fw`'s current stream: no events, no
    /// heartbeats (a half-open connection). The framework must notice and
    /// resubscribe; the new stream is healthy.
    pub fn silence(&self, fw: &FrameworkId) -> Result<(), FaultError> {
        self.fault(Some(fw), "master silent on this stream", |engine, _| {
            let stream = engine
                .stream_of(fw)
                .ok_or_else(|| FaultError::NotConnected(fw.clone()))?;
            engine.network.silence(stream);
            Ok(())
        })
    }

    /// The master goes silent on every current stream.
    pub fn silence_master(&self) {
        let _ = self.fault(None, "master silent on every stream", |engine, now| {
            for fw in engine.core.state(now).frameworks {
                if let Some(stream) = fw.stream_id {
                    engine.network.silence(crate::master::StreamId::new(stream));
                }
            }
            Ok(())
        });
    }

    /// A master failover: every stream ends, offers are gone, agents and
    /// tasks survive; frameworks must resubscribe within their failover
    /// timeout.
    pub fn fail_over_master(&self) {
        let _ = self.fault(None, "master failover", |engine, now| {
            faults::fail_over(engine, now);
            Ok(())
        });
    }

    /// Loses `agent`: its tasks become TASK_UNREACHABLE (PARTITION_AWARE
    /// frameworks) or TASK_LOST.
    pub fn lose_agent(&self, agent: &AgentId) -> Result<(), FaultError> {
        self.fault(None, &format!("agent {agent} lost"), |engine, now| {
            faults::lose_agent(engine, now, agent)
        })
    }

    /// Brings a lost agent back with its unreachable tasks.
    pub fn restore_agent(&self, agent: &AgentId) -> Result<(), FaultError> {
        self.fault(None, &format!("agent {agent} back"), |engine, now| {
            faults::restore_agent(engine, now, agent)
        })
    }

    /// The next `count` status updates to `fw` are lost on the wire.
    pub fn drop_updates(&self, fw: &FrameworkId, count: u32) {
        let _ = self.fault(
            Some(fw),
            &format!("drop the next {count} updates"),
            |e, _| {
                e.network.drop_updates(fw, count);
                Ok(())
            },
        );
    }

    /// The next `count` status updates to `fw` arrive twice.
    pub fn duplicate_updates(&self, fw: &FrameworkId, count: u32) {
        let _ = self.fault(
            Some(fw),
            &format!("duplicate the next {count} updates"),
            |e, _| {
                e.network.duplicate_updates(fw, count);
                Ok(())
            },
        );
    }

    /// The next `count` status updates to `fw` arrive `delay` late.
    pub fn delay_updates(&self, fw: &FrameworkId, count: u32, delay: Duration) {
        let text = format!("delay the next {count} updates by {delay:?}");
        let _ = self.fault(Some(fw), &text, |e, _| {
            e.network.delay_updates(fw, count, delay);
            Ok(())
        });
    }

    /// The next `count` status updates to `fw` are each overtaken by the
    /// update after them (or arrive a second late if none follows).
    pub fn reorder_updates(&self, fw: &FrameworkId, count: u32) {
        let _ = self.fault(
            Some(fw),
            &format!("reorder the next {count} updates"),
            |e, _| {
                e.network.reorder_updates(fw, count);
                Ok(())
            },
        );
    }

    /// The next `count` acknowledgements from `fw` are lost on the wire
    /// (the framework believes they arrived; the master resends).
    pub fn drop_acks(&self, fw: &FrameworkId, count: u32) {
        let _ = self.fault(Some(fw), &format!("drop the next {count} acks"), |e, _| {
            e.network.drop_acks(fw, count);
            Ok(())
        });
    }

    /// Task `task` of `fw` fails now with `reason`.
    pub fn fail_task(
        &self,
        fw: &FrameworkId,
        task: &TaskId,
        reason: Reason,
        message: &str,
    ) -> Result<(), FaultError> {
        let text = format!("task {task} fails ({reason:?})");
        self.fault(Some(fw), &text, |engine, now| {
            faults::fail_task(engine, now, fw, task, reason, message)
        })
    }

    /// Task `task` of `fw` ignores kills until the grace period forces it.
    pub fn ignore_kill(&self, fw: &FrameworkId, task: &TaskId) -> Result<(), FaultError> {
        let text = format!("task {task} will ignore its kill");
        self.fault(Some(fw), &text, |engine, _| {
            faults::ignore_kill(engine, fw, task)
        })
    }

    /// Stops the cluster's timers. Frameworks still running see their
    /// master go quiet; stop them first for a clean end.
    pub fn shutdown(self) {
        self.timers.abort();
    }

    fn fault(
        &self,
        fw: Option<&FrameworkId>,
        text: &str,
        inject: impl FnOnce(&mut Engine, Duration) -> Result<(), FaultError>,
    ) -> Result<(), FaultError> {
        self.shared.step(|engine, now| {
            let result = inject(engine, now);
            let text = match &result {
                Ok(()) => text.to_owned(),
                Err(e) => format!("{text}: refused: {e}"),
            };
            engine.record_fault(fw.cloned(), text);
            result
        })
    }

    fn running_ids(&self) -> Vec<FrameworkId> {
        self.running
            .iter()
            .filter(|(_, alive)| alive.load(Ordering::SeqCst))
            .map(|(id, _)| id.clone())
            .collect()
    }

    #[track_caller]
    fn check_or_fail(&self) {
        let engine = self.shared.lock();
        self.check_engine(&engine);
    }

    #[track_caller]
    fn check_engine(&self, engine: &Engine) {
        if let Some(violation) = &engine.violation {
            let message = format!(
                "invariant broken: {violation}\n{}",
                tail(&engine.trace, DUMP_LINES)
            );
            panic!("{message}");
        }
    }

    #[track_caller]
    fn fail(&self, what: &str) -> ! {
        let dump = tail(&self.shared.lock().trace, DUMP_LINES);
        panic!("{what} (seed {})\n{dump}", self.seed);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.timers.abort();
    }
}

fn tail(trace: &Trace, lines: usize) -> String {
    let dump = trace.dump();
    let all: Vec<&str> = dump.lines().collect();
    if all.len() <= lines {
        return dump;
    }
    format!(
        "... {} earlier lines ...\n{}",
        all.len() - lines,
        all[all.len() - lines..].join("\n")
    )
}
