//! [`Recorded`]: wraps a framework's [`Scheduler`] so that every event its
//! handlers are called with goes into the cluster's trace first. The
//! framework's behaviour is unchanged: every call is passed through. For a
//! framework run with inputs, every input its handler is called with is
//! recorded too ([`What::InputSeen`](super::What::InputSeen)).
//!
//! Not built on [`corral::Observed`]: `Observed` passes inputs through
//! unobserved, so the trace would lose the inputs the handler saw, and a
//! second wrapper to see them would be a hand-written forwarder again. So
//! this one forwards by hand, and its test drives one event of every kind
//! through the SDK's own dispatch point (`corral::scheduler::every`, whose
//! list of events grows with the trait): a method it fails to forward, or
//! to record, fails that test.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use corral::{
    AgentId, Disconnect, Driver, Event, ExecutorId, Failure, FrameworkId, InverseOffer, Offer,
    OfferId, RevocationNotice, Role, Scheduler, Subscribed, TaskStatus, WithInputs,
};

use super::engine::EngineShared;

/// A scheduler whose handler calls are recorded.
pub struct Recorded<S> {
    inner: S,
    shared: Arc<EngineShared>,
    framework: Option<FrameworkId>,
}

impl<S> Recorded<S> {
    pub(crate) fn new(inner: S, shared: Arc<EngineShared>) -> Self {
        Recorded {
            inner,
            shared,
            framework: None,
        }
    }

    /// The wrapped scheduler.
    pub fn into_inner(self) -> S {
        self.inner
    }

    fn record(&self, event: Event) {
        if let Some(fw) = &self.framework {
            self.shared.lock().record_seen(fw.clone(), event);
            self.shared.changed.notify_waiters();
        }
    }
}

#[async_trait]
impl<S: Scheduler> Scheduler for Recorded<S> {
    async fn subscribed(&mut self, driver: &dyn Driver, info: &Subscribed) {
        self.framework = Some(info.framework_id.clone());
        self.record(Event::Subscribed(info.clone()));
        self.inner.subscribed(driver, info).await;
    }

    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
        self.record(Event::Offers(offers.clone()));
        self.inner.offers(driver, offers).await;
    }

    async fn inverse_offers(&mut self, driver: &dyn Driver, offers: Vec<InverseOffer>) {
        self.record(Event::InverseOffers(offers.clone()));
        self.inner.inverse_offers(driver, offers).await;
    }

    async fn revocation(&mut self, driver: &dyn Driver, notice: RevocationNotice) {
        self.record(Event::Revocation(notice.clone()));
        self.inner.revocation(driver, notice).await;
    }

    async fn rescinded(&mut self, driver: &dyn Driver, offer: &OfferId) {
        self.record(Event::Rescinded(offer.clone()));
        self.inner.rescinded(driver, offer).await;
    }

    async fn inverse_offer_rescinded(&mut self, driver: &dyn Driver, offer: &OfferId) {
        self.record(Event::InverseOfferRescinded(offer.clone()));
        self.inner.inverse_offer_rescinded(driver, offer).await;
    }

    async fn status_update(&mut self, driver: &dyn Driver, status: &TaskStatus) {
        self.record(Event::Update(status.clone()));
        self.inner.status_update(driver, status).await;
    }

    async fn message(
        &mut self,
        driver: &dyn Driver,
        agent: &AgentId,
        executor: &ExecutorId,
        data: &[u8],
    ) {
        self.record(Event::Message {
            agent_id: agent.clone(),
            executor_id: executor.clone(),
            data: data.to_vec(),
        });
        self.inner.message(driver, agent, executor, data).await;
    }

    async fn failure(&mut self, driver: &dyn Driver, failure: &Failure) {
        self.record(Event::Failure(failure.clone()));
        self.inner.failure(driver, failure).await;
    }

    async fn error(&mut self, driver: &dyn Driver, message: &str) {
        self.record(Event::Error(message.to_owned()));
        self.inner.error(driver, message).await;
    }

    async fn disconnected(&mut self, driver: &dyn Driver, why: &Disconnect) {
        self.record(Event::Disconnected(why.clone()));
        self.inner.disconnected(driver, why).await;
    }

    async fn timer(&mut self, driver: &dyn Driver, tag: u64) {
        self.record(Event::Timer(tag));
        self.inner.timer(driver, tag).await;
    }

    fn wants_offers(&self, role: &Role) -> Option<bool> {
        self.inner.wants_offers(role)
    }
}

#[async_trait]
impl<S> WithInputs for Recorded<S>
where
    S: WithInputs,
    S::Input: Debug,
{
    type Input = S::Input;

    async fn input(&mut self, driver: &dyn Driver, input: S::Input) {
        if let Some(fw) = &self.framework {
            self.shared
                .lock()
                .record_input(fw.clone(), format!("{input:?}"), true);
            self.shared.changed.notify_waiters();
        }
        self.inner.input(driver, input).await;
    }
}

#[cfg(test)]
mod tests {
    use corral::scheduler::every::{self, Probe};
    use corral::MockDriver;

    use super::*;
    use crate::master::{MasterConfig, MasterCore};

    #[tokio::test(start_paused = true)]
    async fn the_recorder_forwards_and_records_every_event_and_forwards_the_demand() {
        let shared = EngineShared::new(MasterCore::new(MasterConfig::default()).unwrap());
        let mut recorded = Recorded::new(Probe::default(), shared.clone());
        every::assert_forwards_everything(&mut recorded, &MockDriver::new(), |r| &r.inner).await;
        let trace = shared.lock().trace.clone();
        let seen: Vec<Event> = trace
            .seen(&FrameworkId::from("fw"))
            .into_iter()
            .cloned()
            .collect();
        assert_eq!(seen, every::events(), "every event recorded, in order");
    }
}
