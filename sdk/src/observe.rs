//! [`Observed`]: a scheduler wrapped so that every event it is handed is
//! shown to an observer first (a recorder, a trace, a metrics counter).
//!
//! Write recorders with it instead of forwarding each [`Scheduler`] method
//! by hand: a hand-written forwarder silently skips any method added to
//! the trait later (its default body runs instead of the wrapped
//! scheduler's). This one is checked by the SDK's own test, which drives
//! one event of every kind through it.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use corral::{Event, Observed, Scheduler};
//! # use corral::{Driver, Offer};
//! # struct Mine;
//! # #[async_trait::async_trait]
//! # impl Scheduler for Mine { async fn offers(&mut self, _: &dyn Driver, _: Vec<Offer>) {} }
//!
//! let seen: Arc<Mutex<Vec<Event>>> = Arc::default();
//! let log = seen.clone();
//! let recorded = Observed::new(Mine, move |event: &Event| log.lock().unwrap().push(event.clone()));
//! # let _ = recorded;
//! ```

use async_trait::async_trait;

use crate::driver::Driver;
use crate::event::{Disconnect, Event, Failure, Subscribed};
use crate::inputs::WithInputs;
use crate::scheduler::Scheduler;
use crate::{
    AgentId, ExecutorId, InverseOffer, Offer, OfferId, RevocationNotice, Role, TaskStatus,
};

/// `inner`, with every event shown to `observe` before `inner` handles
/// it. Inputs ([`WithInputs`]) and demand are passed through unobserved.
pub struct Observed<S, F> {
    inner: S,
    observe: F,
}

impl<S, F> Observed<S, F>
where
    F: FnMut(&Event) + Send,
{
    /// Wraps `inner`.
    pub fn new(inner: S, observe: F) -> Self {
        Observed { inner, observe }
    }
}

impl<S, F> Observed<S, F> {
    /// The wrapped scheduler.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The wrapped scheduler, mutably.
    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the scheduler.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

#[async_trait]
impl<S, F> Scheduler for Observed<S, F>
where
    S: Scheduler,
    F: FnMut(&Event) + Send,
{
    async fn subscribed(&mut self, driver: &dyn Driver, info: &Subscribed) {
        (self.observe)(&Event::Subscribed(info.clone()));
        self.inner.subscribed(driver, info).await
    }

    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
        (self.observe)(&Event::Offers(offers.clone()));
        self.inner.offers(driver, offers).await
    }

    async fn inverse_offers(&mut self, driver: &dyn Driver, offers: Vec<InverseOffer>) {
        (self.observe)(&Event::InverseOffers(offers.clone()));
        self.inner.inverse_offers(driver, offers).await
    }

    async fn revocation(&mut self, driver: &dyn Driver, notice: RevocationNotice) {
        (self.observe)(&Event::Revocation(notice.clone()));
        self.inner.revocation(driver, notice).await
    }

    async fn rescinded(&mut self, driver: &dyn Driver, offer: &OfferId) {
        (self.observe)(&Event::Rescinded(offer.clone()));
        self.inner.rescinded(driver, offer).await
    }

    async fn inverse_offer_rescinded(&mut self, driver: &dyn Driver, offer: &OfferId) {
        (self.observe)(&Event::InverseOfferRescinded(offer.clone()));
        self.inner.inverse_offer_rescinded(driver, offer).await
    }

    async fn status_update(&mut self, driver: &dyn Driver, status: &TaskStatus) {
        (self.observe)(&Event::Update(status.clone()));
        self.inner.status_update(driver, status).await
    }

    async fn message(
        &mut self,
        driver: &dyn Driver,
        agent: &AgentId,
        executor: &ExecutorId,
        data: &[u8],
    ) {
        (self.observe)(&Event::Message {
            agent_id: agent.clone(),
            executor_id: executor.clone(),
            data: data.to_vec(),
        });
        self.inner.message(driver, agent, executor, data).await
    }

    async fn failure(&mut self, driver: &dyn Driver, failure: &Failure) {
        (self.observe)(&Event::Failure(failure.clone()));
        self.inner.failure(driver, failure).await
    }

    async fn error(&mut self, driver: &dyn Driver, message: &str) {
        (self.observe)(&Event::Error(message.to_owned()));
        self.inner.error(driver, message).await
    }

    async fn disconnected(&mut self, driver: &dyn Driver, why: &Disconnect) {
        (self.observe)(&Event::Disconnected(why.clone()));
        self.inner.disconnected(driver, why).await
    }

    async fn timer(&mut self, driver: &dyn Driver, tag: u64) {
        (self.observe)(&Event::Timer(tag));
        self.inner.timer(driver, tag).await
    }

    fn wants_offers(&self, role: &Role) -> Option<bool> {
        self.inner.wants_offers(role)
    }
}

#[async_trait]
impl<S, F> WithInputs for Observed<S, F>
where
    S: WithInputs,
    F: FnMut(&Event) + Send,
{
    type Input = S::Input;

    async fn input(&mut self, driver: &dyn Driver, input: S::Input) {
        self.inner.input(driver, input).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::driver::MockDriver;
    use crate::scheduler::{deliver, every};

    #[tokio::test]
    async fn observed_shows_and_forwards_every_event_and_the_demand() {
        let shown: Arc<Mutex<Vec<Event>>> = Arc::default();
        let log = shown.clone();
        let mut observed = Observed::new(every::Probe::default(), move |e: &Event| {
            log.lock().unwrap().push(e.clone())
        });
        let driver = MockDriver::new();
        for event in every::events() {
            deliver(&mut observed, &driver, event).await;
        }
        assert_eq!(*shown.lock().unwrap(), every::events(), "observed");
        assert_eq!(observed.inner().seen(), every::events(), "forwarded");
        assert_eq!(observed.wants_offers(&Role::from("busy")), Some(true));
    }
}
