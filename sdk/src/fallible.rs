//! Handlers that can fail: write them with `?` on driver calls.
//!
//! Implement [`TryScheduler`] instead of [`Scheduler`]: the same methods,
//! each returning a [`HandlerResult`], and run it wrapped in [`Fallible`].
//! A handler's error is logged with its context (which handler, how many
//! errors so far), counted ([`Fallible::errors`]) and handed to
//! [`TryScheduler::on_error`], whose default carries on; return
//! [`OnError::Stop`] to stop the framework (as [`Driver::stop`] does).
//! What a failed launch, kill or teardown leaves behind is described on
//! [`Driver`].
//!
//! ```no_run
//! use async_trait::async_trait;
//! use corral::fallible::{Fallible, HandlerResult, TryScheduler};
//! use corral::{Driver, Framework, FrameworkInfo, GrpcTransport, Offer, Resources, TaskInfo};
//!
//! struct Once { done: bool }
//!
//! #[async_trait]
//! impl TryScheduler for Once {
//!     async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) -> HandlerResult {
//!         let needs = Resources::new().with_cpus(1.0);
//!         if let Some(offer) = offers.iter().find(|o| !self.done && o.fits(&needs)) {
//!             driver.launch(offer, vec![TaskInfo::new("t").with_resources(needs)]).await?;
//!             self.done = true;
//!         }
//!         Ok(())
//!     }
//! }
//!
//! # async fn run() -> Result<(), corral::Error> {
//! let transport = GrpcTransport::connect_lazy("http://127.0.0.1:5050")?;
//! Framework::new(FrameworkInfo::new("once"), transport)
//!     .run(Fallible::new(Once { done: false }))
//!     .await?;
//! # Ok(()) }
//! ```

use std::fmt;

use async_trait::async_trait;

use crate::driver::Driver;
use crate::event::{Disconnect, Failure, Subscribed};
use crate::scheduler::Scheduler;
use crate::{
    AgentId, ExecutorId, InverseOffer, Offer, OfferId, RevocationNotice, Role, TaskStatus,
};

/// Why a handler failed: any error, kept with its source.
pub struct HandlerError {
    source: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl HandlerError {
    /// The underlying error.
    pub fn source(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.source
    }

    /// The underlying error, if it is a [`corral::Error`](crate::Error).
    pub fn as_corral(&self) -> Option<&crate::Error> {
        self.source.downcast_ref()
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for HandlerError {
    fn from(error: E) -> Self {
        HandlerError {
            source: Box::new(error),
        }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.source, f)
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.source, f)
    }
}

/// What a handler returns.
pub type HandlerResult = Result<(), HandlerError>;

/// What to do after a handler failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnError {
    /// Carry on with the next event (the default).
    #[default]
    Continue,
    /// Stop the framework, leaving it registered ([`Driver::stop`]).
    Stop,
}

/// A failed handler, as [`TryScheduler::on_error`] sees it.
#[derive(Debug)]
#[non_exhaustive]
pub struct HandlerFailure<'a> {
    /// The handler that failed (`"offers"`, `"status_update"`...).
    pub handler: &'static str,
    /// Its error.
    pub error: &'a HandlerError,
    /// How many handler errors this run has had, this one included.
    pub count: u64,
}

/// A [`Scheduler`] whose handlers can fail; run it as
/// [`Fallible::new(scheduler)`](Fallible::new). Each method is the
/// [`Scheduler`] method of the same name; see there for when it is called.
#[async_trait]
pub trait TryScheduler: Send {
    /// See [`Scheduler::subscribed`].
    async fn subscribed(&mut self, driver: &dyn Driver, info: &Subscribed) -> HandlerResult {
        let _ = (driver, info);
        Ok(())
    }

    /// See [`Scheduler::offers`].
    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) -> HandlerResult;

    /// See [`Scheduler::inverse_offers`].
    async fn inverse_offers(
        &mut self,
        driver: &dyn Driver,
        offers: Vec<InverseOffer>,
    ) -> HandlerResult {
        let _ = (driver, offers);
        Ok(())
    }

    /// See [`Scheduler::revocation`]; the default releases, and a failed
    /// release is a handler error.
    async fn revocation(&mut self, driver: &dyn Driver, notice: RevocationNotice) -> HandlerResult {
        driver.release(&notice).await?;
        Ok(())
    }

    /// See [`Scheduler::rescinded`].
    async fn rescinded(&mut self, driver: &dyn Driver, offer: &OfferId) -> HandlerResult {
        let _ = (driver, offer);
        Ok(())
    }

    /// See [`Scheduler::inverse_offer_rescinded`].
    async fn inverse_offer_rescinded(
        &mut self,
        driver: &dyn Driver,
        offer: &OfferId,
    ) -> HandlerResult {
        let _ = (driver, offer);
        Ok(())
    }

    /// See [`Scheduler::status_update`].
    async fn status_update(&mut self, driver: &dyn Driver, status: &TaskStatus) -> HandlerResult {
        let _ = (driver, status);
        Ok(())
    }

    /// See [`Scheduler::message`].
    async fn message(
        &mut self,
        driver: &dyn Driver,
        agent: &AgentId,
        executor: &ExecutorId,
        data: &[u8],
    ) -> HandlerResult {
        let _ = (driver, agent, executor, data);
        Ok(())
    }

    /// See [`Scheduler::failure`].
    async fn failure(&mut self, driver: &dyn Driver, failure: &Failure) -> HandlerResult {
        let _ = (driver, failure);
        Ok(())
    }

    /// See [`Scheduler::error`].
    async fn error(&mut self, driver: &dyn Driver, message: &str) -> HandlerResult {
        let _ = (driver, message);
        Ok(())
    }

    /// See [`Scheduler::disconnected`].
    async fn disconnected(&mut self, driver: &dyn Driver, why: &Disconnect) -> HandlerResult {
        let _ = (driver, why);
        Ok(())
    }

    /// See [`Scheduler::timer`].
    async fn timer(&mut self, driver: &dyn Driver, tag: u64) -> HandlerResult {
        let _ = (driver, tag);
        Ok(())
    }

    /// See [`Scheduler::wants_offers`].
    fn wants_offers(&self, role: &Role) -> Option<bool> {
        let _ = role;
        None
    }

    /// A handler failed (it has been logged and counted). The default
    /// carries on.
    fn on_error(&mut self, driver: &dyn Driver, failure: HandlerFailure<'_>) -> OnError {
        let _ = (driver, failure);
        OnError::Continue
    }
}

/// Runs a [`TryScheduler`] as a [`Scheduler`]: every handler error is
/// logged with its handler's name, counted, and handed to
/// [`TryScheduler::on_error`].
pub struct Fallible<T> {
    inner: T,
    errors: u64,
}

impl<T: TryScheduler> Fallible<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Self {
        Fallible { inner, errors: 0 }
    }
}

impl<T> Fallible<T> {
    /// How many handler errors there have been.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// The wrapped scheduler.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// Unwraps the scheduler.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: TryScheduler> Fallible<T> {
    fn check(&mut self, handler: &'static str, driver: &dyn Driver, result: HandlerResult) {
        let Err(error) = result else {
            return;
        };
        self.errors += 1;
        tracing::error!(handler, error = %error, count = self.errors, "a scheduler handler failed");
        let failure = HandlerFailure {
            handler,
            error: &error,
            count: self.errors,
        };
        if self.inner.on_error(driver, failure) == OnError::Stop {
            tracing::warn!(handler, "stopping the framework after a handler error");
            driver.stop();
        }
    }
}

#[async_trait]
impl<T: TryScheduler> Scheduler for Fallible<T> {
    async fn subscribed(&mut self, driver: &dyn Driver, info: &Subscribed) {
        let r = self.inner.subscribed(driver, info).await;
        self.check("subscribed", driver, r);
    }

    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
        let r = self.inner.offers(driver, offers).await;
        self.check("offers", driver, r);
    }

    async fn inverse_offers(&mut self, driver: &dyn Driver, offers: Vec<InverseOffer>) {
        let r = self.inner.inverse_offers(driver, offers).await;
        self.check("inverse_offers", driver, r);
    }

    async fn revocation(&mut self, driver: &dyn Driver, notice: RevocationNotice) {
        let r = self.inner.revocation(driver, notice).await;
        self.check("revocation", driver, r);
    }

    async fn rescinded(&mut self, driver: &dyn Driver, offer: &OfferId) {
        let r = self.inner.rescinded(driver, offer).await;
        self.check("rescinded", driver, r);
    }

    async fn inverse_offer_rescinded(&mut self, driver: &dyn Driver, offer: &OfferId) {
        let r = self.inner.inverse_offer_rescinded(driver, offer).await;
        self.check("inverse_offer_rescinded", driver, r);
    }

    async fn status_update(&mut self, driver: &dyn Driver, status: &TaskStatus) {
        let r = self.inner.status_update(driver, status).await;
        self.check("status_update", driver, r);
    }

    async fn message(
        &mut self,
        driver: &dyn Driver,
        agent: &AgentId,
        executor: &ExecutorId,
        data: &[u8],
    ) {
        let r = self.inner.message(driver, agent, executor, data).await;
        self.check("message", driver, r);
    }

    async fn failure(&mut self, driver: &dyn Driver, failure: &Failure) {
        let r = self.inner.failure(driver, failure).await;
        self.check("failure", driver, r);
    }

    async fn error(&mut self, driver: &dyn Driver, message: &str) {
        let r = self.inner.error(driver, message).await;
        self.check("error", driver, r);
    }

    async fn disconnected(&mut self, driver: &dyn Driver, why: &Disconnect) {
        let r = self.inner.disconnected(driver, why).await;
        self.check("disconnected", driver, r);
    }

    async fn timer(&mut self, driver: &dyn Driver, tag: u64) {
        let r = self.inner.timer(driver, tag).await;
        self.check("timer", driver, r);
    }

    fn wants_offers(&self, role: &Role) -> Option<bool> {
        self.inner.wants_offers(role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::MockDriver;
    use crate::error::{Error, InvalidLaunch};
    use crate::event::Event;
    use crate::scheduler::{deliver, every};
    use crate::{Resources, TaskInfo};

    /// Turns every call back into its event, and fails each one.
    #[derive(Default)]
    struct FailingProbe {
        seen: Vec<Event>,
        failures: Vec<(&'static str, u64)>,
        stop_after: Option<u64>,
    }

    impl FailingProbe {
        fn saw(&mut self, event: Event) -> HandlerResult {
            self.seen.push(event);
            Err(Error::Disconnected.into())
        }
    }

    #[async_trait]
    impl TryScheduler for FailingProbe {
        async fn subscribed(&mut self, _: &dyn Driver, i: &Subscribed) -> HandlerResult {
            self.saw(Event::Subscribed(i.clone()))
        }
        async fn offers(&mut self, _: &dyn Driver, o: Vec<Offer>) -> HandlerResult {
            self.saw(Event::Offers(o))
        }
        async fn inverse_offers(&mut self, _: &dyn Driver, o: Vec<InverseOffer>) -> HandlerResult {
            self.saw(Event::InverseOffers(o))
        }
        async fn revocation(&mut self, _: &dyn Driver, n: RevocationNotice) -> HandlerResult {
            self.saw(Event::Revocation(n))
        }
        async fn rescinded(&mut self, _: &dyn Driver, o: &OfferId) -> HandlerResult {
            self.saw(Event::Rescinded(o.clone()))
        }
        async fn inverse_offer_rescinded(&mut self, _: &dyn Driver, o: &OfferId) -> HandlerResult {
            self.saw(Event::InverseOfferRescinded(o.clone()))
        }
        async fn status_update(&mut self, _: &dyn Driver, s: &TaskStatus) -> HandlerResult {
            self.saw(Event::Update(s.clone()))
        }
        async fn message(
            &mut self,
            _: &dyn Driver,
            a: &AgentId,
            e: &ExecutorId,
            d: &[u8],
        ) -> HandlerResult {
            self.saw(Event::Message {
                agent_id: a.clone(),
                executor_id: e.clone(),
                data: d.to_vec(),
            })
        }
        async fn failure(&mut self, _: &dyn Driver, f: &Failure) -> HandlerResult {
            self.saw(Event::Failure(f.clone()))
        }
        async fn error(&mut self, _: &dyn Driver, m: &str) -> HandlerResult {
            self.saw(Event::Error(m.to_owned()))
        }
        async fn disconnected(&mut self, _: &dyn Driver, w: &Disconnect) -> HandlerResult {
            self.saw(Event::Disconnected(w.clone()))
        }
        async fn timer(&mut self, _: &dyn Driver, tag: u64) -> HandlerResult {
            self.saw(Event::Timer(tag))
        }
        fn on_error(&mut self, _: &dyn Driver, failure: HandlerFailure<'_>) -> OnError {
            assert!(matches!(
                failure.error.as_corral(),
                Some(Error::Disconnected)
            ));
            self.failures.push((failure.handler, failure.count));
            match self.stop_after {
                Some(n) if failure.count >= n => OnError::Stop,
                _ => OnError::Continue,
            }
        }
    }

    #[tokio::test]
    async fn every_handler_error_is_counted_and_handed_to_the_policy() {
        let mut fallible = Fallible::new(FailingProbe::default());
        let mut driver = MockDriver::new();
        driver.expect_stop().never();
        for event in every::events() {
            deliver(&mut fallible, &driver, event).await;
        }
        assert_eq!(
            fallible.inner().seen,
            every::events(),
            "every event forwarded"
        );
        let n = every::events().len() as u64;
        assert_eq!(fallible.errors(), n);
        let counts: Vec<u64> = fallible.inner().failures.iter().map(|f| f.1).collect();
        assert_eq!(counts, (1..=n).collect::<Vec<_>>());
        assert_eq!(fallible.inner().failures[1].0, "offers");
    }

    #[tokio::test]
    async fn a_stop_policy_stops_the_framework() {
        let mut fallible = Fallible::new(FailingProbe {
            stop_after: Some(2),
            ..FailingProbe::default()
        });
        let mut driver = MockDriver::new();
        driver.expect_stop().times(2).return_const(());
        for event in every::events().into_iter().take(3) {
            deliver(&mut fallible, &driver, event).await;
        }
    }

    #[tokio::test]
    async fn question_mark_on_a_driver_call_reaches_the_policy() {
        struct Launches;
        #[async_trait]
        impl TryScheduler for Launches {
            async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) -> HandlerResult {
                let task = TaskInfo::new("t").with_resources(Resources::new().with_cpus(1.0));
                driver.launch(&offers[0], vec![task]).await?;
                Ok(())
            }
        }
        let mut driver = MockDriver::new();
        driver
            .expect_launch()
            .returning(|_, _| Err(InvalidLaunch::NoTasks.into()));
        let mut fallible = Fallible::new(Launches);
        let offer = Offer::new("o1", "a1", Resources::new().with_cpus(2.0));
        fallible.offers(&driver, vec![offer]).await;
        assert_eq!(fallible.errors(), 1);
    }
}
