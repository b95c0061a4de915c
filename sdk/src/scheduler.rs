//! The trait a framework author implements.

use async_trait::async_trait;

use crate::driver::Driver;
use crate::event::{Disconnect, Event, Failure, Subscribed};
use crate::{
    AgentId, ExecutorId, InverseOffer, Offer, OfferId, RevocationNotice, Role, TaskStatus,
};

/// A framework's decisions, one async method per kind of event.
///
/// The runtime calls these in the order the master sent the events, one at a
/// time, each with a [`Driver`] to act through. Only [`offers`] has no
/// default. What happens around them:
///
/// - **Offers left unanswered** when [`offers`] returns are declined with
///   [`Config::unanswered_offer_refuse`](crate::Config) so they don't sit idle
///   in the framework (hoarding). Launch or decline within the call.
/// - **Status updates** are acknowledged right after [`status_update`]
///   returns (unless [`AckMode::Explicit`](crate::AckMode)), and a resent
///   update the framework has already seen is acknowledged again without
///   calling [`status_update`] twice.
/// - **Demand**: when [`wants_offers`] says `Some(false)` for a role the
///   runtime suppresses it, and revives it (rate-limited) once it says
///   `Some(true)` again.
/// - **Revocation**: tasks launched on revocable resources (lent from
///   another role's idle share, see [`Offer::revocable`]) can be taken back.
///   The master then sends a [`RevocationNotice`] naming the tasks and a
///   deadline, handed to [`revocation`] (again after a resubscription only
///   while it is unanswered). By default the framework releases
///   them at once, gracefully (see [`revocation`] for why); override it to
///   keep them until the deadline with [`Driver::decline_revocation`], e.g.
///   to let a nearly finished task complete.
///
/// Every method takes `&dyn Driver`, so a unit test can pass a
/// `MockDriver` (feature `mock`) and check the decisions without a master.
///
/// `&mut S` is a scheduler too, so `framework.run(&mut my_scheduler)` leaves
/// the scheduler's state readable after the run. To watch the events a
/// scheduler gets (a recorder), wrap it in [`Observed`](crate::Observed)
/// rather than forwarding each method by hand: every forwarder in this
/// crate is checked by a test that drives one event of each kind through
/// it, and a hand-written one would silently skip a method added later.
/// When you must write one, check it the same way with
/// [`every::assert_forwards_everything`] (feature `mock`).
///
/// [`offers`]: Scheduler::offers
/// [`status_update`]: Scheduler::status_update
/// [`wants_offers`]: Scheduler::wants_offers
/// [`revocation`]: Scheduler::revocation
#[async_trait]
pub trait Scheduler: Send {
    /// Subscribed, or resubscribed after a disconnection (then
    /// `info.resubscribed` is true and the runtime has asked the master to
    /// reconcile every task).
    async fn subscribed(&mut self, driver: &dyn Driver, info: &Subscribed) {
        let _ = (driver, info);
    }

    /// New offers: launch tasks on some, decline the others.
    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>);

    /// The master asks for agents back for maintenance. The default leaves
    /// them unanswered, which the master reads as "no promise".
    /// (Revocable resources taken back arrive at [`revocation`] instead.)
    ///
    /// [`revocation`]: Scheduler::revocation
    async fn inverse_offers(&mut self, driver: &dyn Driver, offers: Vec<InverseOffer>) {
        let _ = (driver, offers);
    }

    /// The master will take back revocable resources: the tasks in `notice`
    /// are killed at `notice.deadline` unless the framework releases them
    /// sooner.
    ///
    /// Called when a notice arrives. The master sends every outstanding
    /// notice again each time the framework resubscribes (after a
    /// disconnection or a master failover): the copy of a notice the
    /// framework has answered (its ACCEPT or DECLINE_INVERSE_OFFERS reached
    /// the master, e.g. through [`Driver::release`]) is hidden (logged at
    /// debug level); the copy of an unanswered one comes here again, so an
    /// answer that failed (say with [`Error::Disconnected`]) gets a second
    /// chance. A notice is known by its id until the master withdraws it
    /// ([`inverse_offer_rescinded`] with that id); a later notice reusing
    /// the id is a new one. The memory is the runtime's, for one
    /// [`Framework::run`]: a new run (say, a new scheduler process) hears
    /// each outstanding notice once more. Left unanswered, the tasks are
    /// taken at the deadline.
    ///
    /// The default releases gracefully ([`Driver::release`]: kill the tasks
    /// now, each with its own kill policy's grace period, and confirm), and
    /// logs an error if that fails. The tasks are lost either way, so
    /// holding on to them only delays the owner: released, it gets its
    /// resources as soon as the tasks have cleaned up rather than at the
    /// deadline, and the framework hears of the ends (and can relaunch
    /// elsewhere) sooner. Override it to keep the tasks until the deadline
    /// ([`Driver::decline_revocation`]) or to save their work first.
    ///
    /// When every task named has ended, the master withdraws the notice:
    /// [`inverse_offer_rescinded`] with `notice.id`.
    ///
    /// [`inverse_offer_rescinded`]: Scheduler::inverse_offer_rescinded
    /// [`subscribed`]: Scheduler::subscribed
    /// [`Framework::run`]: crate::Framework::run
    /// [`Error::Disconnected`]: crate::Error::Disconnected
    /// [`DriverHandle`]: crate::DriverHandle
    async fn revocation(&mut self, driver: &dyn Driver, notice: RevocationNotice) {
        if let Err(e) = driver.release(&notice).await {
            tracing::error!(
                notice = %notice.id,
                agent = %notice.agent_id,
                tasks = ?notice.tasks,
                error = %e,
                "releasing revoked tasks failed; the master takes them at the deadline"
            );
        }
    }

    /// An offer was withdrawn; it can no longer be launched on.
    async fn rescinded(&mut self, driver: &dyn Driver, offer: &OfferId) {
        let _ = (driver, offer);
    }

    /// An inverse offer was withdrawn; for a revocation notice, this means
    /// every task it named has ended.
    async fn inverse_offer_rescinded(&mut self, driver: &dyn Driver, offer: &OfferId) {
        let _ = (driver, offer);
    }

    /// A task changed state.
    async fn status_update(&mut self, driver: &dyn Driver, status: &TaskStatus) {
        let _ = (driver, status);
    }

    /// An executor sent a message.
    async fn message(
        &mut self,
        driver: &dyn Driver,
        agent: &AgentId,
        executor: &ExecutorId,
        data: &[u8],
    ) {
        let _ = (driver, agent, executor, data);
    }

    /// An agent or executor was lost.
    async fn failure(&mut self, driver: &dyn Driver, failure: &Failure) {
        let _ = (driver, failure);
    }

    /// The master ended this framework (ERROR event). The runtime stops
    /// after this returns.
    async fn error(&mut self, driver: &dyn Driver, message: &str) {
        let _ = (driver, message);
    }

    /// The connection was lost. Outstanding offers are void; calls fail with
    /// [`Error::Disconnected`](crate::Error) until `subscribed` is called
    /// again.
    async fn disconnected(&mut self, driver: &dyn Driver, why: &Disconnect) {
        let _ = (driver, why);
    }

    /// A timer set with [`Driver::wake_after`] fired; `tag` is the one it
    /// was set with. Called between events, like every handler, and
    /// [`wants_offers`](Scheduler::wants_offers) is read again after it:
    /// the place for a retry back-off, an idle reap or a locality wait.
    async fn timer(&mut self, driver: &dyn Driver, tag: u64) {
        let _ = (driver, tag);
    }

    /// Whether the framework has work waiting for resources in `role`.
    /// `Some(false)`: suppress offers for the role; `Some(true)`: revive
    /// them; `None` (the default): the framework calls
    /// [`Driver::suppress`] / [`Driver::revive`] itself.
    fn wants_offers(&self, role: &Role) -> Option<bool> {
        let _ = role;
        None
    }
}

/// The one place an [`Event`] becomes a [`Scheduler`] call. The runtime
/// delivers through it, and the forwarders' test drives every event kind
/// through it, so a method a forwarder skips fails that test.
pub(crate) async fn deliver<S: Scheduler + ?Sized>(
    scheduler: &mut S,
    driver: &dyn Driver,
    event: Event,
) {
    match event {
        Event::Subscribed(info) => scheduler.subscribed(driver, &info).await,
        Event::Offers(offers) => scheduler.offers(driver, offers).await,
        Event::InverseOffers(offers) => scheduler.inverse_offers(driver, offers).await,
        Event::Revocation(notice) => scheduler.revocation(driver, notice).await,
        Event::Rescinded(id) => scheduler.rescinded(driver, &id).await,
        Event::InverseOfferRescinded(id) => scheduler.inverse_offer_rescinded(driver, &id).await,
        Event::Update(status) => scheduler.status_update(driver, &status).await,
        Event::Message {
            agent_id,
            executor_id,
            data,
        } => {
            scheduler
                .message(driver, &agent_id, &executor_id, &data)
                .await
        }
        Event::Failure(failure) => scheduler.failure(driver, &failure).await,
        Event::Error(message) => scheduler.error(driver, &message).await,
        Event::Disconnected(why) => scheduler.disconnected(driver, &why).await,
        Event::Timer(tag) => scheduler.timer(driver, tag).await,
    }
}

#[async_trait]
impl<S: Scheduler + ?Sized> Scheduler for &mut S {
    async fn subscribed(&mut self, driver: &dyn Driver, info: &Subscribed) {
        (**self).subscribed(driver, info).await
    }

    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
        (**self).offers(driver, offers).await
    }

    async fn inverse_offers(&mut self, driver: &dyn Driver, offers: Vec<InverseOffer>) {
        (**self).inverse_offers(driver, offers).await
    }

    async fn revocation(&mut self, driver: &dyn Driver, notice: RevocationNotice) {
        (**self).revocation(driver, notice).await
    }

    async fn rescinded(&mut self, driver: &dyn Driver, offer: &OfferId) {
        (**self).rescinded(driver, offer).await
    }

    async fn inverse_offer_rescinded(&mut self, driver: &dyn Driver, offer: &OfferId) {
        (**self).inverse_offer_rescinded(driver, offer).await
    }

    async fn status_update(&mut self, driver: &dyn Driver, status: &TaskStatus) {
        (**self).status_update(driver, status).await
    }

    async fn message(
        &mut self,
        driver: &dyn Driver,
        agent: &AgentId,
        executor: &ExecutorId,
        data: &[u8],
    ) {
        (**self).message(driver, agent, executor, data).await
    }

    async fn failure(&mut self, driver: &dyn Driver, failure: &Failure) {
        (**self).failure(driver, failure).await
    }

    async fn error(&mut self, driver: &dyn Driver, message: &str) {
        (**self).error(driver, message).await
    }

    async fn disconnected(&mut self, driver: &dyn Driver, why: &Disconnect) {
        (**self).disconnected(driver, why).await
    }

    async fn timer(&mut self, driver: &dyn Driver, tag: u64) {
        (**self).timer(driver, tag).await
    }

    fn wants_offers(&self, role: &Role) -> Option<bool> {
        (**self).wants_offers(role)
    }
}

#[cfg(any(test, feature = "mock"))]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub mod every;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mockall::predicate::eq;

    use super::*;
    use crate::driver::MockDriver;
    use crate::error::Error;
    use crate::{Resources, Role};

    /// Implements only what it must: every other handler is the default.
    struct Minimal;

    #[async_trait]
    impl Scheduler for Minimal {
        async fn offers(&mut self, _: &dyn Driver, _: Vec<Offer>) {}
    }

    fn notice() -> RevocationNotice {
        RevocationNotice::new(
            "rev-1",
            "agent-1",
            ["t1".into()],
            Resources::new().with_cpus(1.0).revocable(),
            Duration::from_secs(30),
        )
    }

    #[tokio::test]
    async fn the_default_revocation_releases_and_declines_nothing() {
        let mut driver = MockDriver::new();
        driver
            .expect_release()
            .with(eq(notice()))
            .times(1)
            .returning(|_| Ok(()));
        driver.expect_decline_revocation().never();
        driver.expect_accept_inverse_offers().never();
        Minimal.revocation(&driver, notice()).await;
    }

    #[tokio::test]
    async fn a_failed_default_release_is_logged_not_panicked() {
        let mut driver = MockDriver::new();
        driver
            .expect_release()
            .times(1)
            .returning(|_| Err(Error::Disconnected));
        Minimal.revocation(&driver, notice()).await;
    }

    #[tokio::test]
    async fn a_mut_reference_forwards_every_event_and_the_demand() {
        let mut probe = super::every::Probe::default();
        let driver = MockDriver::new();
        {
            let mut forwarder = &mut probe;
            for event in super::every::events() {
                deliver(&mut forwarder, &driver, event).await;
            }
            assert_eq!(forwarder.wants_offers(&Role::from("busy")), Some(true));
            assert_eq!(forwarder.wants_offers(&Role::from("idle")), Some(false));
        }
        assert_eq!(
            probe.seen(),
            super::every::events(),
            "nothing skipped, in order"
        );
    }

    #[tokio::test]
    async fn a_mut_reference_forwards_revocation_to_the_scheduler() {
        struct Keeps(Vec<OfferId>);
        #[async_trait]
        impl Scheduler for Keeps {
            async fn offers(&mut self, _: &dyn Driver, _: Vec<Offer>) {}
            async fn revocation(&mut self, driver: &dyn Driver, notice: RevocationNotice) {
                driver.decline_revocation(&notice).await.unwrap();
                self.0.push(notice.id);
            }
        }
        let mut driver = MockDriver::new();
        driver.expect_release().never();
        driver
            .expect_decline_revocation()
            .times(1)
            .returning(|_| Ok(()));
        /// Takes the scheduler by value, as `Framework::run` does.
        async fn handle<S: Scheduler>(mut scheduler: S, driver: &dyn Driver) {
            scheduler.revocation(driver, notice()).await;
        }
        let mut keeps = Keeps(Vec::new());
        handle(&mut keeps, &driver).await;
        assert_eq!(keeps.0, vec![OfferId::from("rev-1")]);
    }
}
