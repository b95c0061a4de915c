//! # corral
//!
//! Write a scheduler for a two-level, offer-based resource manager (the
//! `corral-testkit` mock master, or Apache Mesos) by implementing one async
//! trait. The master shares the cluster between roles and offers resources;
//! your [`Scheduler`] decides what runs where. The [runtime](Framework) does
//! the rest: it subscribes with one or many roles, dispatches events in
//! order, acknowledges status updates, watches heartbeats, reconnects with
//! backoff and resubscribes with the same framework id, reconciles, and
//! keeps offers from being hoarded.
//!
//! ```no_run
//! use async_trait::async_trait;
//! use corral::{CommandInfo, Driver, Framework, FrameworkInfo, GrpcTransport, Offer, Resources, Scheduler, TaskInfo};
//!
//! struct Hello { launched: bool }
//!
//! #[async_trait]
//! impl Scheduler for Hello {
//!     async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
//!         let needs = Resources::new().with_cpus(0.5).with_mem(64.0);
//!         if let Some(offer) = offers.iter().find(|o| !self.launched && o.fits(&needs)) {
//!             let task = TaskInfo::new("hello").with_resources(needs).with_command(CommandInfo::shell("echo hello"));
//!             self.launched = driver.launch(offer, vec![task]).await.is_ok();
//!         }
//!         // Offers not launched on are declined by the runtime.
//!     }
//! }
//!
//! # async fn run() -> Result<(), corral::Error> {
//! let transport = GrpcTransport::connect_lazy("http://127.0.0.1:5050")?;
//! Framework::new(FrameworkInfo::new("hello"), transport).run(Hello { launched: false }).await?;
//! # Ok(()) }
//! ```
//!
//! **Revocable resources.** A role's idle resources may be lent to other
//! roles: they show up in offers marked revocable, kept apart from the
//! regular ones ([`Offer::regular`], [`Offer::revocable`]); a task uses them
//! by asking for `needs.revocable()`. When their owner needs them back, the
//! master sends a [`RevocationNotice`] naming the tasks it will take and the
//! deadline, handed to [`Scheduler::revocation`]. By default the framework
//! releases them at once, each task killed with its own grace period
//! ([`Driver::release`]), so the owner is served without waiting for the
//! deadline; a framework can instead keep them until the deadline
//! ([`Driver::decline_revocation`]). [`Driver::request`] asks the master for
//! resources for one of the framework's roles.
//!
//! Module map: [`scheduler`] (the trait), [`driver`] (how to act),
//! [`runtime`] (the loop), [`stream`] (events as a `Stream`), [`transport`]
//! (the wire boundary), [`inputs`] (work from outside, timers),
//! [`fallible`] (handlers that use `?`), [`observe`] (recorders), [`event`]
//! and [`error`]. The plain types (ids,
//! [`Resources`], [`Offer`], [`TaskInfo`], [`TaskStatus`]...) come from the
//! `corral-types` crate and are re-exported here, with their modules
//! ([`offer`], [`task`], [`resources`], [`sim`]...). No item of this crate's
//! API names a generated protocol type: those live in `corral-proto`, which
//! only transports and masters need.
//!
//! **Logging.** The runtime logs through [`tracing`]: install a subscriber
//! (e.g. `tracing_subscriber::fmt::init()`) to see connection attempts
//! (with the master's endpoint), disconnections, handler errors and
//! protocol errors. Without one it is silent.
//!
//! **Features.** `mock` generates `MockDriver` (with mockall) for unit
//! tests of handlers; items that need a feature say so in these docs.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The README's example is compiled with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub mod detect;
pub mod driver;
pub mod error;
pub mod event;
pub mod fallible;
pub mod inputs;
pub mod observe;
pub mod runtime;
pub mod scheduler;
pub mod stream;
pub mod transport;

pub use corral_types::{call, executor, framework, ids, offer, resources, revocation, sim, task};

/// A mock [`Driver`] (mockall) for unit tests of handlers. Needs the
/// `mock` feature.
#[cfg(any(test, feature = "mock"))]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub use driver::MockDriver;
pub use driver::{Driver, DriverHandle};
pub use error::{Error, InvalidLaunch, RejectKind, TransportError};
pub use event::{Disconnect, Event};
pub use inputs::{InputSender, Inputs, WithInputs};
pub use observe::Observed;
pub use runtime::{AckMode, Config, Framework, Stopped};
pub use scheduler::Scheduler;
pub use stream::EventStream;
pub use transport::{connect, connect_with, ConnectError, MasterTransport};
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use transport::{Credentials, DialedIo, Dialer, Encoding, HttpConfig, HttpTransport};
pub use transport::{GrpcTransport, Session, Subscription, Transport};

pub use corral_types::{
    Accept, AgentId, Attribute, AttributeValue, Call, CallKind, Capability, CommandInfo,
    ExecutorId, ExecutorInfo, Failure, FrameworkId, FrameworkInfo, InvalidFrameworkInfo,
    InvalidRole, InverseItem, InverseOffer, KillPolicy, MalformedItem, MasterEvent, Offer, OfferId,
    Operation, ProtocolError, Ranges, Reason, Resource, Resources, ResourcesError,
    RevocationNotice, Role, Scalar, Source, Subscribe, Subscribed, TaskId, TaskInfo, TaskState,
    TaskStatus, Unavailability, Value,
};
