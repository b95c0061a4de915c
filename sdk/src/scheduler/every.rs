//! One event of every kind, a probe scheduler and the SDK's dispatch
//! point: what a test needs to show that a scheduler wrapping another (a
//! recorder, an adapter) forwards every method of [`Scheduler`]. A
//! hand-written forwarder that misses a method (one added to the trait
//! later, with a default body) fails [`assert_forwards_everything`]: the
//! list of [`events`] is checked against every kind of [`Event`] here, so
//! it grows with the trait. The SDK's own forwarders (`&mut S`, the stream
//! adapter, [`Observed`](crate::Observed), the fallible adapter) are
//! tested with it; so is the testkit's recorder. Feature `mock`.

use std::time::Duration;

use async_trait::async_trait;

use super::Scheduler;
use crate::driver::Driver;
use crate::event::{Disconnect, Event, Failure, Subscribed};
use crate::{
    AgentId, ExecutorId, InverseOffer, Offer, OfferId, Resources, RevocationNotice, Role,
    TaskState, TaskStatus, Unavailability,
};

/// The index of `event`'s kind. Exhaustive: a new kind of event does
/// not compile until it is added here and to [`events`].
fn kind(event: &Event) -> usize {
    match event {
        Event::Subscribed(_) => 0,
        Event::Offers(_) => 1,
        Event::InverseOffers(_) => 2,
        Event::Revocation(_) => 3,
        Event::Rescinded(_) => 4,
        Event::InverseOfferRescinded(_) => 5,
        Event::Update(_) => 6,
        Event::Message { .. } => 7,
        Event::Failure(_) => 8,
        Event::Error(_) => 9,
        Event::Disconnected(_) => 10,
        Event::Timer(_) => 11,
    }
}
const KINDS: usize = 12;

/// One event of each kind, in the order of [`Event`]'s variants.
///
/// # Panics
///
/// Never in a released SDK: the list is checked against every kind of
/// event (a kind left out fails the SDK's own tests).
pub fn events() -> Vec<Event> {
    let events = vec![
        Event::Subscribed(Subscribed::new("fw", Duration::from_secs(1))),
        Event::Offers(vec![Offer::new(
            "o1",
            "a1",
            Resources::new().with_cpus(1.0),
        )]),
        Event::InverseOffers(vec![InverseOffer::new(
            "io1",
            Some("a1".into()),
            Unavailability {
                start: Duration::ZERO,
                duration: None,
            },
            Resources::new(),
        )]),
        Event::Revocation(RevocationNotice::new(
            "r1",
            "a1",
            ["t1".into()],
            Resources::new().with_cpus(1.0).revocable(),
            Duration::from_secs(9),
        )),
        Event::Rescinded("o2".into()),
        Event::InverseOfferRescinded("io2".into()),
        Event::Update(TaskStatus::new("t1", TaskState::Running)),
        Event::Message {
            agent_id: "a1".into(),
            executor_id: "e1".into(),
            data: b"hi".to_vec(),
        },
        Event::Failure(Failure::agent("a2")),
        Event::Error("bye".into()),
        Event::Disconnected(Disconnect::MasterSilent(Duration::from_secs(5))),
        Event::Timer(7),
    ];
    let mut covered: Vec<usize> = events.iter().map(kind).collect();
    covered.dedup();
    assert_eq!(
        covered,
        (0..KINDS).collect::<Vec<_>>(),
        "one event per kind"
    );
    events
}

/// A scheduler that turns every call back into the event it came from,
/// and wants offers for the role `busy` only.
#[derive(Debug, Default)]
pub struct Probe {
    seen: Vec<Event>,
}

impl Probe {
    /// The events it was handed, in order.
    pub fn seen(&self) -> &[Event] {
        &self.seen
    }
}

/// Hands `event` to `scheduler` as the runtime does: the SDK's one place
/// where an event becomes a [`Scheduler`] method call.
pub async fn deliver<S: Scheduler + ?Sized>(scheduler: &mut S, driver: &dyn Driver, event: Event) {
    super::deliver(scheduler, driver, event).await
}

/// Panics, naming what is missing, unless `wrapper` (which wraps a
/// [`Probe`], reached with `probe`) forwards one event of every kind and
/// the demand ([`Scheduler::wants_offers`]) to it.
pub async fn assert_forwards_everything<W: Scheduler>(
    wrapper: &mut W,
    driver: &dyn Driver,
    probe: impl Fn(&W) -> &Probe,
) {
    for event in events() {
        deliver(wrapper, driver, event).await;
    }
    assert_eq!(
        probe(wrapper).seen(),
        events(),
        "every event forwarded, in order"
    );
    assert_eq!(
        wrapper.wants_offers(&Role::from("busy")),
        Some(true),
        "demand forwarded"
    );
    assert_eq!(
        wrapper.wants_offers(&Role::from("idle")),
        Some(false),
        "demand forwarded"
    );
}

#[async_trait]
impl Scheduler for Probe {
    async fn subscribed(&mut self, _: &dyn Driver, info: &Subscribed) {
        self.seen.push(Event::Subscribed(info.clone()));
    }
    async fn offers(&mut self, _: &dyn Driver, offers: Vec<Offer>) {
        self.seen.push(Event::Offers(offers));
    }
    async fn inverse_offers(&mut self, _: &dyn Driver, offers: Vec<InverseOffer>) {
        self.seen.push(Event::InverseOffers(offers));
    }
    async fn revocation(&mut self, _: &dyn Driver, notice: RevocationNotice) {
        self.seen.push(Event::Revocation(notice));
    }
    async fn rescinded(&mut self, _: &dyn Driver, offer: &OfferId) {
        self.seen.push(Event::Rescinded(offer.clone()));
    }
    async fn inverse_offer_rescinded(&mut self, _: &dyn Driver, offer: &OfferId) {
        self.seen.push(Event::InverseOfferRescinded(offer.clone()));
    }
    async fn status_update(&mut self, _: &dyn Driver, status: &TaskStatus) {
        self.seen.push(Event::Update(status.clone()));
    }
    async fn message(&mut self, _: &dyn Driver, a: &AgentId, e: &ExecutorId, data: &[u8]) {
        self.seen.push(Event::Message {
            agent_id: a.clone(),
            executor_id: e.clone(),
            data: data.to_vec(),
        });
    }
    async fn failure(&mut self, _: &dyn Driver, failure: &Failure) {
        self.seen.push(Event::Failure(failure.clone()));
    }
    async fn error(&mut self, _: &dyn Driver, message: &str) {
        self.seen.push(Event::Error(message.to_owned()));
    }
    async fn disconnected(&mut self, _: &dyn Driver, why: &Disconnect) {
        self.seen.push(Event::Disconnected(why.clone()));
    }
    async fn timer(&mut self, _: &dyn Driver, tag: u64) {
        self.seen.push(Event::Timer(tag));
    }
    fn wants_offers(&self, role: &Role) -> Option<bool> {
        Some(role.as_str() == "busy")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::MockDriver;

    /// A hand-written forwarder that forwards `offers` and the demand, and
    /// lets the trait's default bodies take every other event.
    struct Forgetful(Probe);

    #[async_trait]
    impl Scheduler for Forgetful {
        async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
            self.0.offers(driver, offers).await
        }
        fn wants_offers(&self, role: &Role) -> Option<bool> {
            self.0.wants_offers(role)
        }
    }

    #[tokio::test]
    async fn a_full_forwarder_passes_the_check() {
        let mut probe = Probe::default();
        let mut forwarder = &mut probe;
        assert_forwards_everything(&mut forwarder, &MockDriver::new(), |p| &**p).await;
    }

    #[tokio::test]
    #[should_panic(expected = "every event forwarded")]
    async fn a_forwarder_that_skips_methods_fails_the_check() {
        let mut driver = MockDriver::new();
        // The default revocation handler releases; let it.
        driver.expect_release().returning(|_| Ok(()));
        let mut forgetful = Forgetful(Probe::default());
        assert_forwards_everything(&mut forgetful, &driver, |f| &f.0).await;
    }
}
