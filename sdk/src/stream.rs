//! The same events as a [`Stream`], for those who prefer a loop to a trait.
//!
//! ```no_run
//! use futures::StreamExt;
//! use corral::{Driver, Event, Framework, FrameworkInfo, GrpcTransport};
//!
//! # async fn run() -> Result<(), corral::Error> {
//! let transport = GrpcTransport::connect_lazy("http://127.0.0.1:5050")?;
//! let framework = Framework::new(FrameworkInfo::new("loop"), transport);
//! let (driver, mut events) = framework.into_stream();
//! while let Some(event) = events.next().await {
//!     if let Event::Offers(offers) = event {
//!         for offer in offers {
//!             driver.decline(&offer.id, None).await?;
//!         }
//!     }
//! }
//! events.finish().await?;
//! # Ok(()) }
//! ```
//!
//! The runtime's duties hold here too: an event counts as handled when the
//! next one is requested. At that point the status update it carried is
//! acknowledged (implicit mode) and the offers it carried that were not
//! answered are declined.
//!
//! Revocation notices arrive as [`Event::Revocation`]. Unlike a
//! [`Scheduler`] that leaves [`Scheduler::revocation`] to its default, a
//! stream does not release them by itself: answer each with
//! [`Driver::release`] or [`Driver::decline_revocation`] (one left
//! unanswered is taken at its deadline, like a declined one).
//!
//! Repeats are handled here exactly as for a [`Scheduler`]: the master
//! sends every outstanding notice again when the framework resubscribes;
//! the copy of a notice already answered (ACCEPT or DECLINE reached the
//! master) is hidden, the copy of an unanswered one is yielded again, so a
//! release that failed with [`Error::Disconnected`] gets its second chance.
//! Once the master withdraws a notice ([`Event::InverseOfferRescinded`]
//! with its id) its id is forgotten. The runtime decides before the stream
//! sees them, so both APIs get the same events.

use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use futures::Stream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::driver::Driver;
use crate::error::Error;
use crate::event::{Disconnect, Event, Failure, Subscribed};
use crate::runtime::{DriverHandle, Framework, Stopped};
use crate::scheduler::Scheduler;
use crate::{AgentId, ExecutorId, InverseOffer, Offer, OfferId, RevocationNotice, TaskStatus};

type Item = (Event, oneshot::Sender<()>);

/// The events of a running framework. Ends when the framework stops; then
/// [`EventStream::finish`] tells how.
pub struct EventStream {
    events: mpsc::Receiver<Item>,
    handled: Option<oneshot::Sender<()>>,
    run: JoinHandle<Result<Stopped, Error>>,
}

impl EventStream {
    /// Waits for the runtime to end and returns how it ended.
    pub async fn finish(mut self) -> Result<Stopped, Error> {
        self.handled.take();
        self.events.close();
        match self.run.await {
            Ok(result) => result,
            Err(e) => Err(Error::RuntimePanicked(crate::runtime::panic_message(e))),
        }
    }
}

impl Stream for EventStream {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        // Asking for the next event means the previous one is handled.
        if let Some(done) = self.handled.take() {
            let _ = done.send(());
        }
        match self.events.poll_recv(cx) {
            Poll::Ready(Some((event, done))) => {
                self.handled = Some(done);
                Poll::Ready(Some(event))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A scheduler that forwards each event to the stream and waits until the
/// consumer asks for the next one.
struct Forwarder {
    tx: mpsc::Sender<Item>,
}

impl Forwarder {
    async fn forward(&self, event: Event) {
        let (done, handled) = oneshot::channel();
        if self.tx.send((event, done)).await.is_ok() {
            // Err: the stream was dropped; nothing more to wait for.
            let _ = handled.await;
        }
    }
}

#[async_trait]
impl Scheduler for Forwarder {
    async fn subscribed(&mut self, _: &dyn Driver, info: &Subscribed) {
        self.forward(Event::Subscribed(info.clone())).await;
    }

    async fn offers(&mut self, _: &dyn Driver, offers: Vec<Offer>) {
        self.forward(Event::Offers(offers)).await;
    }

    async fn inverse_offers(&mut self, _: &dyn Driver, offers: Vec<InverseOffer>) {
        self.forward(Event::InverseOffers(offers)).await;
    }

    async fn revocation(&mut self, _: &dyn Driver, notice: RevocationNotice) {
        self.forward(Event::Revocation(notice)).await;
    }

    async fn rescinded(&mut self, _: &dyn Driver, offer: &OfferId) {
        self.forward(Event::Rescinded(offer.clone())).await;
    }

    async fn inverse_offer_rescinded(&mut self, _: &dyn Driver, offer: &OfferId) {
        self.forward(Event::InverseOfferRescinded(offer.clone()))
            .await;
    }

    async fn status_update(&mut self, _: &dyn Driver, status: &TaskStatus) {
        self.forward(Event::Update(status.clone())).await;
    }

    async fn message(
        &mut self,
        _: &dyn Driver,
        agent: &AgentId,
        executor: &ExecutorId,
        data: &[u8],
    ) {
        self.forward(Event::Message {
            agent_id: agent.clone(),
            executor_id: executor.clone(),
            data: data.to_vec(),
        })
        .await;
    }

    async fn failure(&mut self, _: &dyn Driver, failure: &Failure) {
        self.forward(Event::Failure(failure.clone())).await;
    }

    async fn error(&mut self, _: &dyn Driver, message: &str) {
        self.forward(Event::Error(message.to_owned())).await;
    }

    async fn disconnected(&mut self, _: &dyn Driver, why: &Disconnect) {
        self.forward(Event::Disconnected(why.clone())).await;
    }

    async fn timer(&mut self, _: &dyn Driver, tag: u64) {
        self.forward(Event::Timer(tag)).await;
    }
}

impl Framework {
    /// Runs the framework in the background and returns its events as a
    /// stream, with a driver to act on them. Must be called inside a tokio
    /// runtime.
    pub fn into_stream(self) -> (DriverHandle, EventStream) {
        let driver = self.driver();
        let (tx, rx) = mpsc::channel(1);
        let run = tokio::spawn(self.run(Forwarder { tx }));
        (
            driver,
            EventStream {
                events: rx,
                handled: None,
                run,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::MockDriver;
    use crate::scheduler::{deliver, every};

    #[tokio::test]
    async fn the_stream_adapter_forwards_every_event() {
        let (tx, mut rx) = mpsc::channel::<Item>(1);
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some((event, done)) = rx.recv().await {
                got.push(event);
                let _ = done.send(());
            }
            got
        });
        let mut forwarder = Forwarder { tx };
        let driver = MockDriver::new();
        for event in every::events() {
            deliver(&mut forwarder, &driver, event).await;
        }
        drop(forwarder);
        assert_eq!(reader.await.unwrap(), every::events());
    }
}
