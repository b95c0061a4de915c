//! Work that arrives from outside the master: a Deployment applied, a CI
//! webhook, a job submitted, handed to the running framework on the same
//! task as the master's events, so a handler never races another.
//!
//! ```no_run
//! use async_trait::async_trait;
//! use corral::{inputs, Driver, Framework, FrameworkInfo, GrpcTransport, Offer, Role, Scheduler, WithInputs};
//!
//! struct Builds { queued: usize }
//!
//! #[async_trait]
//! impl Scheduler for Builds {
//!     async fn offers(&mut self, _: &dyn Driver, _: Vec<Offer>) { /* launch self.queued builds */ }
//!     fn wants_offers(&self, _: &Role) -> Option<bool> { Some(self.queued > 0) }
//! }
//!
//! #[async_trait]
//! impl WithInputs for Builds {
//!     type Input = usize; // builds queued by a webhook
//!     async fn input(&mut self, _: &dyn Driver, more: usize) { self.queued += more }
//! }
//!
//! # async fn run() -> Result<(), corral::Error> {
//! let (webhook, inputs) = inputs::channel(64);
//! tokio::spawn(async move { webhook.send(3).await.ok() }); // from an HTTP handler, say
//! let transport = GrpcTransport::connect_lazy("http://127.0.0.1:5050")?;
//! Framework::new(FrameworkInfo::new("ci"), transport)
//!     .run_with_inputs(Builds { queued: 0 }, inputs)
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! **Why this shape.** The scheduler stays the only owner of its state:
//! inputs reach it through [`WithInputs::input`], one at a time, between
//! the master's events, on the runtime's task, so no lock is shared with
//! the outside and no handler runs concurrently with another. After every
//! input, as after every event, the runtime reads
//! [`Scheduler::wants_offers`] again and revives or suppresses at once
//! (revives still rate-limited by `Config::min_revive_interval`), so work
//! that arrives from outside ends a suppression without an explicit
//! revive. The channel is typed by the scheduler ([`WithInputs::Input`]),
//! so each framework says what can arrive.
//!
//! **Order.** When an event and an input are both ready, the event goes
//! first; otherwise each is handled as it arrives. On tokio's paused clock
//! (the testkit's) a run replays identically.
//!
//! **Back-pressure.** The channel is bounded (its capacity is
//! [`channel`]'s argument). When it is full, [`InputSender::send`] waits
//! until the framework has taken one, and [`InputSender::try_send`]
//! returns the input in [`TrySendError::Full`]: nothing is dropped
//! silently. Once the framework has stopped, both give the input back as
//! closed.
//!
//! **Timers** take the same path: a handler calls
//! [`Driver::wake_after`] and the runtime calls
//! [`Scheduler::timer`] at that instant, between
//! events, followed by a demand re-read. **Re-evaluating demand** without
//! an input: [`DriverHandle::refresh_demand`](crate::DriverHandle::refresh_demand).
//!
//! The [`EventStream`](crate::EventStream) form needs no input channel: its
//! reader owns the loop, so it merges its own inputs into it (for instance
//! with `tokio::select!`) and acts through the driver; timers arrive there
//! as [`Event::Timer`](crate::Event::Timer).

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::driver::Driver;
use crate::scheduler::Scheduler;

/// A [`Scheduler`] that also takes inputs from outside the master, run with
/// [`Framework::run_with_inputs`](crate::Framework::run_with_inputs).
#[async_trait]
pub trait WithInputs: Scheduler {
    /// What can arrive.
    type Input: Send + 'static;

    /// An input arrived. Called on the runtime's task, between events;
    /// [`Scheduler::wants_offers`] is read again when it returns.
    async fn input(&mut self, driver: &dyn Driver, input: Self::Input);
}

/// Lends a scheduler to the runtime (so the caller keeps it after the run),
/// as [`Scheduler`] is for `&mut S`.
#[async_trait]
impl<S: WithInputs + ?Sized> WithInputs for &mut S {
    type Input = S::Input;

    async fn input(&mut self, driver: &dyn Driver, input: S::Input) {
        (**self).input(driver, input).await
    }
}

/// A bounded channel of inputs for a framework: the sender for the outside
/// world (cloneable), the receiver for
/// [`Framework::run_with_inputs`](crate::Framework::run_with_inputs).
pub fn channel<I: Send + 'static>(capacity: usize) -> (InputSender<I>, Inputs<I>) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (InputSender { tx }, Inputs { rx })
}

/// Sends inputs to a running framework. Cheap to clone.
#[derive(Debug)]
pub struct InputSender<I> {
    tx: mpsc::Sender<I>,
}

impl<I> Clone for InputSender<I> {
    fn clone(&self) -> Self {
        InputSender {
            tx: self.tx.clone(),
        }
    }
}

/// The framework has stopped (or was never run): the input comes back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the framework no longer takes inputs")]
pub struct Closed<I>(pub I);

/// Why [`InputSender::try_send`] did not send.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TrySendError<I> {
    /// The channel is full: the framework has not caught up; the input
    /// comes back (retry, or use [`InputSender::send`], which waits).
    #[error("the input channel is full")]
    Full(I),
    /// The framework has stopped; the input comes back.
    #[error("the framework no longer takes inputs")]
    Closed(I),
}

impl<I> InputSender<I> {
    /// Sends `input`, waiting while the channel is full.
    pub async fn send(&self, input: I) -> Result<(), Closed<I>> {
        self.tx.send(input).await.map_err(|e| Closed(e.0))
    }

    /// Sends `input` if there is room now.
    pub fn try_send(&self, input: I) -> Result<(), TrySendError<I>> {
        self.tx.try_send(input).map_err(|e| match e {
            mpsc::error::TrySendError::Full(i) => TrySendError::Full(i),
            mpsc::error::TrySendError::Closed(i) => TrySendError::Closed(i),
        })
    }
}

/// The receiving end, handed to
/// [`Framework::run_with_inputs`](crate::Framework::run_with_inputs).
#[derive(Debug)]
pub struct Inputs<I> {
    pub(crate) rx: mpsc::Receiver<I>,
}
