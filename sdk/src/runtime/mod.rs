//! The runtime: owns the connection to the master and drives a
//! [`Scheduler`].
//!
//! One loop does everything, in order: subscribe (with capped, jittered
//! exponential backoff between attempts), reconcile, then read events and
//! hand each to the scheduler, acknowledging status updates after their
//! handler, declining offers the handler left unanswered, and applying the
//! scheduler's demand (suppress / revive). A master that stays silent for
//! `missed_heartbeats` heartbeat intervals, or a stream that breaks, ends
//! the connection: the scheduler hears `disconnected`, outstanding offers are
//! void, and the loop resubscribes with the same framework id.

use futures::stream::BoxStream;
use futures::StreamExt;
use std::sync::Arc;
use tokio::time::Instant;

// Also used by master detection (`crate::detect`) between ZooKeeper sessions.
pub(crate) mod backoff;
mod config;
mod core;
#[cfg(test)]
mod core_tests;
mod dispatch;
mod handle;
mod state;

pub use config::{AckMode, Config};
pub use handle::DriverHandle;

use self::core::Received;
use crate::error::{Error, RejectKind, TransportError};
use crate::event::{Disconnect, Event};
use crate::inputs::{Inputs, WithInputs};
use crate::scheduler::{self, Scheduler};
use crate::transport::Transport;
use crate::{FrameworkInfo, MasterEvent, Subscribed};
use backoff::Backoff;
use state::{Shared, StopKind};

/// How a run ended without error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stopped {
    /// [`Driver::stop`](crate::Driver::stop): the framework left the
    /// master but is still registered, and its tasks keep running until its
    /// failover timeout (a new run with the same id picks them up).
    Detached,
    /// [`Driver::teardown`](crate::Driver::teardown): the framework is gone
    /// and its tasks killed.
    TornDown,
}

/// A framework ready to run: its info, its config and its transport.
///
/// ```no_run
/// # use corral::{Framework, FrameworkInfo, GrpcTransport, Scheduler, Driver, Offer};
/// # struct MyScheduler;
/// # #[async_trait::async_trait]
/// # impl Scheduler for MyScheduler {
/// #     async fn offers(&mut self, _: &dyn Driver, _: Vec<Offer>) {}
/// # }
/// # async fn run() -> Result<(), corral::Error> {
/// let transport = GrpcTransport::connect_lazy("http://127.0.0.1:5050")?;
/// let framework = Framework::new(FrameworkInfo::new("batch").with_roles(["analytics"]), transport);
/// framework.run(MyScheduler).await?;
/// # Ok(()) }
/// ```
pub struct Framework {
    shared: Arc<Shared>,
}

impl Framework {
    /// A framework with the default [`Config`].
    pub fn new(info: FrameworkInfo, transport: impl Transport) -> Self {
        Self::with_config(info, Config::default(), transport)
    }

    /// A framework with the given config.
    pub fn with_config(info: FrameworkInfo, config: Config, transport: impl Transport) -> Self {
        Framework {
            shared: Arc::new(Shared::new(info, config, Arc::new(transport))),
        }
    }

    /// A handle to act on the framework from outside its handlers (another
    /// task, a signal handler, a test).
    pub fn driver(&self) -> DriverHandle {
        DriverHandle {
            shared: self.shared.clone(),
        }
    }

    /// Runs `scheduler` until the framework is stopped or torn down, the
    /// master ends it (ERROR), or reconnecting is given up.
    pub async fn run<S: Scheduler>(self, mut scheduler: S) -> Result<Stopped, Error> {
        self.run_fed(&mut scheduler, &mut NoInputs).await
    }

    /// Runs `scheduler` like [`Framework::run`], and hands it every input
    /// sent on `inputs`' channel ([`WithInputs::input`]), one at a time
    /// between the master's events, each followed by a demand re-read. See
    /// [`inputs`](crate::inputs) for the ordering, back-pressure and why.
    pub async fn run_with_inputs<S: WithInputs>(
        self,
        mut scheduler: S,
        inputs: Inputs<S::Input>,
    ) -> Result<Stopped, Error> {
        let mut feed = ChannelFeed {
            rx: Some(inputs.rx),
        };
        self.run_fed(&mut scheduler, &mut feed).await
    }

    async fn run_fed<S: Scheduler, F: Feed<S>>(
        self,
        scheduler: &mut S,
        feed: &mut F,
    ) -> Result<Stopped, Error> {
        self.shared.lock().info.validate()?;
        tracing::info!(endpoint = %self.shared.transport.endpoint(), "subscribing");
        let mut runner = Runner::new(self.shared);
        let result = runner.run(scheduler, feed).await;
        // The acknowledgements still on their way are the run's own: wait
        // for them (bounded) rather than leave them running past it.
        runner.driver.join_acks(ACK_JOIN_LIMIT).await;
        result
    }
}

/// Where a run's external inputs come from, and how each reaches the
/// scheduler.
trait Feed<S>: Send {
    type Input: Send;
    /// The next input; pending forever when there are none (any more).
    fn next(&mut self) -> impl std::future::Future<Output = Self::Input> + Send;
    /// Hands `input` to the scheduler.
    fn deliver<'a>(
        scheduler: &'a mut S,
        driver: &'a dyn crate::Driver,
        input: Self::Input,
    ) -> impl std::future::Future<Output = ()> + Send + 'a;
}

/// A run without inputs.
struct NoInputs;

impl<S: Scheduler> Feed<S> for NoInputs {
    type Input = std::convert::Infallible;

    async fn next(&mut self) -> Self::Input {
        std::future::pending().await
    }

    async fn deliver<'a>(_: &'a mut S, _: &'a dyn crate::Driver, input: Self::Input) {
        match input {}
    }
}

/// A run fed from an [`Inputs`] channel.
struct ChannelFeed<I> {
    rx: Option<tokio::sync::mpsc::Receiver<I>>,
}

impl<S: WithInputs> Feed<S> for ChannelFeed<S::Input> {
    type Input = S::Input;

    async fn next(&mut self) -> S::Input {
        loop {
            match &mut self.rx {
                Some(rx) => match rx.recv().await {
                    Some(input) => return input,
                    // Every sender is gone: no more inputs, the run goes on.
                    None => self.rx = None,
                },
                None => std::future::pending::<()>().await,
            }
        }
    }

    fn deliver<'a>(
        scheduler: &'a mut S,
        driver: &'a dyn crate::Driver,
        input: S::Input,
    ) -> impl std::future::Future<Output = ()> + Send + 'a {
        scheduler.input(driver, input)
    }
}

/// How long the end of a run waits for acknowledgements still on their way.
const ACK_JOIN_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why the event loop of one connection ended.
enum ConnectionEnd {
    Stop(StopKind),
    Lost(Disconnect),
    Aborted(String),
}

struct Runner {
    shared: Arc<Shared>,
    driver: DriverHandle,
    backoff: Backoff,
}

impl Runner {
    fn new(shared: Arc<Shared>) -> Self {
        let config = &shared.config;
        let backoff = Backoff::new(config.backoff_initial, config.backoff_max, config.seed);
        Runner {
            driver: DriverHandle {
                shared: shared.clone(),
            },
            shared,
            backoff,
        }
    }

    fn stop_requested(&self) -> Option<StopKind> {
        self.shared.lock().stop
    }

    async fn run<S: Scheduler, F: Feed<S>>(
        &mut self,
        scheduler: &mut S,
        feed: &mut F,
    ) -> Result<Stopped, Error> {
        let mut disconnected_since = Instant::now();
        loop {
            if let Some(kind) = self.stop_requested() {
                return Ok(stopped(kind));
            }
            match self.connect().await {
                Ok((subscribed, events)) => match self
                    .serve(scheduler, feed, subscribed, events)
                    .await
                {
                    ConnectionEnd::Stop(kind) => return Ok(stopped(kind)),
                    ConnectionEnd::Aborted(message) => {
                        scheduler::deliver(scheduler, &self.driver, Event::Error(message.clone()))
                            .await;
                        return Err(Error::EndedByMaster(message));
                    }
                    ConnectionEnd::Lost(why) => {
                        tracing::warn!(endpoint = %self.shared.transport.endpoint(), ?why, "disconnected from the master");
                        self.forget_connection();
                        disconnected_since = Instant::now();
                        scheduler::deliver(scheduler, &self.driver, Event::Disconnected(why)).await;
                        dispatch::after_handler(&self.driver, scheduler).await;
                    }
                },
                Err(ConnectError::Refused(message)) => {
                    scheduler::deliver(scheduler, &self.driver, Event::Error(message.clone()))
                        .await;
                    return Err(Error::SubscriptionRefused(message));
                }
                Err(ConnectError::Retry(why)) => {
                    tracing::warn!(endpoint = %self.shared.transport.endpoint(), %why, "could not subscribe; retrying");
                }
            }
            if let Some(limit) = self.shared.config.give_up_after {
                if disconnected_since.elapsed() >= limit {
                    return Err(Error::GaveUp(limit));
                }
            }
            let retry_at = state::later(Instant::now(), self.backoff.next_delay());
            // Inputs keep arriving while disconnected: the scheduler takes
            // them (its demand is applied once resubscribed).
            loop {
                // Biased: tokio's default random branch order would make
                // runs differ from one another; the testkit replays them by
                // seed.
                tokio::select! {
                    biased;
                    _ = tokio::time::sleep_until(retry_at) => break,
                    _ = self.shared.wake.notified() => break,
                    input = feed.next() => F::deliver(scheduler, &self.driver, input).await,
                }
            }
        }
    }

    fn forget_connection(&self) {
        // Offers belong to the connection they came on.
        self.shared.lock().lost();
    }

    /// Subscribes and waits for SUBSCRIBED.
    async fn connect(
        &mut self,
    ) -> Result<
        (
            Subscribed,
            BoxStream<'static, Result<MasterEvent, TransportError>>,
        ),
        ConnectError,
    > {
        let call = self.shared.lock().subscribe();
        let subscription = match self.shared.transport.subscribe(call).await {
            Ok(s) => s,
            Err(TransportError::Rejected {
                kind: RejectKind::InvalidArgument,
                message,
            }) => return Err(ConnectError::Refused(message)),
            Err(e) => return Err(ConnectError::Retry(e.to_string())),
        };
        let mut events = subscription.events;
        let timeout = self.shared.config.subscribe_timeout;
        let first = match tokio::time::timeout(timeout, events.next()).await {
            Err(_) => {
                return Err(ConnectError::Retry(format!(
                    "no SUBSCRIBED within {timeout:?}"
                )))
            }
            Ok(None) => {
                return Err(ConnectError::Retry(
                    "the stream ended before SUBSCRIBED".into(),
                ))
            }
            Ok(Some(Err(e))) => return Err(ConnectError::Retry(e.to_string())),
            Ok(Some(Ok(event))) => event,
        };
        match first {
            MasterEvent::Subscribed(subscribed) => {
                let subscribed = self
                    .shared
                    .lock()
                    .connected(subscription.stream_id, subscribed);
                Ok((subscribed, events))
            }
            MasterEvent::Error(message) => Err(ConnectError::Refused(message)),
            MasterEvent::Malformed(e) => Err(ConnectError::Retry(e.to_string())),
            _ => Err(ConnectError::Retry(
                "the first event was not SUBSCRIBED".into(),
            )),
        }
    }

    /// Runs one subscription until it ends.
    async fn serve<S: Scheduler, F: Feed<S>>(
        &mut self,
        scheduler: &mut S,
        feed: &mut F,
        subscribed: Subscribed,
        mut events: BoxStream<'static, Result<MasterEvent, TransportError>>,
    ) -> ConnectionEnd {
        self.backoff.reset();
        tracing::info!(framework = %subscribed.framework_id, resubscribed = subscribed.resubscribed, "subscribed");
        let silence = subscribed
            .heartbeat_interval
            .saturating_mul(self.shared.config.missed_heartbeats.max(1));
        scheduler::deliver(scheduler, &self.driver, Event::Subscribed(subscribed)).await;
        if self.shared.config.reconcile_on_subscribe {
            dispatch::reconcile_all(&self.driver).await;
        }
        dispatch::after_handler(&self.driver, scheduler).await;
        let mut deadline = deadline_after(silence);
        loop {
            if let Some(kind) = self.stop_requested() {
                return ConnectionEnd::Stop(kind);
            }
            let (revive_due, timer_due) = {
                let core = self.shared.lock();
                (core.next_revive(), core.next_timer())
            };
            // Biased, for runs that replay exactly: a stop (or a demand
            // refresh) first, then events (an event that arrives with the
            // silence deadline still counts), then external inputs, then
            // timers, then queued revives, then the silence deadline.
            tokio::select! {
                biased;
                _ = self.shared.wake.notified() => {
                    if self.shared.lock().take_refresh() {
                        dispatch::after_handler(&self.driver, scheduler).await;
                    }
                }
                next = events.next() => match next {
                    None => return ConnectionEnd::Lost(Disconnect::StreamClosed("the master closed the stream".into())),
                    Some(Err(e)) => return ConnectionEnd::Lost(Disconnect::StreamClosed(e.to_string())),
                    Some(Ok(event)) => {
                        deadline = deadline_after(silence);
                        let received = self.shared.lock().receive(event);
                        let (batch, first) = match received {
                            Received::Nothing => continue,
                            Received::End(message) => return ConnectionEnd::Aborted(message),
                            Received::Events(batch, first) => (batch, first),
                        };
                        self.driver.send_all(first).await;
                        for event in batch {
                            if self.stop_requested().is_some() {
                                // The loop's next turn ends the connection.
                                break;
                            }
                            dispatch::event(&self.driver, scheduler, event).await;
                            dispatch::after_handler(&self.driver, scheduler).await;
                        }
                    }
                },
                input = feed.next() => {
                    F::deliver(scheduler, &self.driver, input).await;
                    dispatch::after_handler(&self.driver, scheduler).await;
                }
                _ = sleep_until_opt(timer_due) => {
                    let due = self.shared.lock().due_timers(Instant::now());
                    for tag in due {
                        dispatch::event(&self.driver, scheduler, Event::Timer(tag)).await;
                        dispatch::after_handler(&self.driver, scheduler).await;
                    }
                }
                _ = sleep_until_opt(revive_due) => {
                    self.driver.flush_revives().await;
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return ConnectionEnd::Lost(Disconnect::MasterSilent(silence));
                }
            }
        }
    }
}

enum ConnectError {
    Refused(String),
    Retry(String),
}

fn stopped(kind: StopKind) -> Stopped {
    match kind {
        StopKind::Disconnect => Stopped::Detached,
        StopKind::Teardown => Stopped::TornDown,
    }
}

/// Now plus `silence`, saturating far in the future instead of panicking
/// on overflow.
fn deadline_after(silence: std::time::Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(silence)
        .unwrap_or_else(|| now + std::time::Duration::from_secs(86_400 * 365))
}

/// The message of a panicked task, for [`Error::RuntimePanicked`].
pub(crate) fn panic_message(e: tokio::task::JoinError) -> String {
    if e.is_cancelled() {
        return "the runtime task was cancelled".to_owned();
    }
    let payload = e.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
