//! The trait a framework author implements.

use async_trait::async_trait;

use crate::driver::Driver;
use crate::event::{Disconnect, Failure, Subscribed};
use crate::offer::{InverseOffer, Offer};
use crate::task::TaskStatus;
use crate::{AgentId, ExecutorId, OfferId, Role};

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
///
/// Every method takes `&dyn Driver`, so a unit test can pass a
/// `MockDriver` (feature `mock`) and check the decisions without a master.
///
/// `&mut S` is a scheduler too, so `framework.run(&mut my_scheduler)` leaves
/// the scheduler's state readable after the run.
///
/// [`offers`]: Scheduler::offers
/// [`status_update`]: Scheduler::status_update
/// [`wants_offers`]: Scheduler::wants_offers
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

    /// The master asks for resources back (maintenance, or an owner
    /// reclaiming lent resources). The default leaves them unanswered, which
    /// the master reads as "no promise".
    async fn inverse_offers(&mut self, driver: &dyn Driver, offers: Vec<InverseOffer>) {
        let _ = (driver, offers);
    }

    /// An offer was withdrawn; it can no longer be launched on.
    async fn rescinded(&mut self, driver: &dyn Driver, offer: &OfferId) {
        let _ = (driver, offer);
    }

    /// An inverse offer was withdrawn.
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

    /// Whether the framework has work waiting for resources in `role`.
    /// `Some(false)`: suppress offers for the role; `Some(true)`: revive
    /// them; `None` (the default): the framework calls
    /// [`Driver::suppress`] / [`Driver::revive`] itself.
    fn wants_offers(&self, role: &Role) -> Option<bool> {
        let _ = role;
        None
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

    fn wants_offers(&self, role: &Role) -> Option<bool> {
        (**self).wants_offers(role)
    }
}
