//! [`DriverHandle`]: the runtime's [`Driver`]. Each action asks the
//! [core](super::core) for the call (checked locally), sends it, and tells
//! the core how it went.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::core::Outgoing;
use super::state::Shared;
use crate::driver::Driver;
use crate::error::{Error, RejectKind, TransportError};
use crate::transport::Session;
use crate::{
    Call, CallKind, ExecutorInfo, FrameworkId, Offer, OfferId, Resources, RevocationNotice, Role,
    TaskId, TaskInfo, TaskStatus,
};

/// A cloneable handle on a running framework: the [`Driver`] handlers get,
/// usable from any task.
#[derive(Clone)]
pub struct DriverHandle {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for DriverHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverHandle")
            .field("framework_id", &self.framework_id())
            .finish()
    }
}

/// A refusal by the master because it no longer knows what the call names.
fn is_not_found(result: &Result<(), Error>) -> bool {
    matches!(
        result,
        Err(Error::Transport(TransportError::Rejected {
            kind: RejectKind::NotFound,
            ..
        }))
    )
}

impl DriverHandle {
    async fn send_call(&self, session: &Session, call: Call) -> Result<(), Error> {
        let kind = call.kind();
        self.shared
            .transport
            .send(session, call)
            .await
            .map_err(|e| {
                tracing::warn!(call = ?kind, error = %e, "call failed");
                match e {
                    TransportError::Unavailable(_) => Error::Disconnected,
                    other => Error::Transport(other),
                }
            })
    }

    /// Sends `out` and reports the answer to the core.
    pub(crate) async fn send(&self, out: Outgoing) -> Result<(), Error> {
        let result = self.send_call(&out.session, out.call).await;
        self.shared.lock().sent(out.then, &result);
        result
    }

    /// Sends each of `outs` in order: acknowledgements as owned background
    /// tasks (the next event need not wait for their round trip), the rest
    /// inline; failures are logged.
    pub(crate) async fn send_all(&self, outs: Vec<Outgoing>) {
        for out in outs {
            if out.call.kind() == CallKind::Acknowledge {
                self.spawn_ack(out);
            } else {
                let kind = out.call.kind();
                if let Err(e) = self.send(out).await {
                    tracing::warn!(call = ?kind, error = %e, "runtime call failed");
                }
            }
        }
    }

    /// Sends an acknowledgement without holding up the event loop. The task
    /// is owned by the runtime (joined when `run` ends).
    fn spawn_ack(&self, out: Outgoing) {
        let driver = self.clone();
        self.shared.lock().acks_in_flight += 1;
        let mut acks = self.shared.acks();
        // Reap the finished ones so the set stays as small as what is in flight.
        while acks.try_join_next().is_some() {}
        acks.spawn(async move {
            let Call::Acknowledge { task, .. } = &out.call else {
                return;
            };
            let task = task.clone();
            let result = driver.send_call(&out.session, out.call).await;
            let torn_down = {
                let mut core = driver.shared.lock();
                core.acks_in_flight -= 1;
                if core.acks_in_flight == 0 {
                    driver.shared.acks_done.notify_waiters();
                }
                core.sent(out.then, &result);
                core.stop == Some(super::state::StopKind::Teardown)
            };
            match result {
                Ok(()) => {}
                // Torn down while the ack was on its way: nothing left to ack.
                _ if torn_down => {}
                // The master resends it after we reconnect, and we ack it then.
                Err(Error::Disconnected) => {}
                // A re-ack that crossed our first ack on the wire: already done.
                ref r if is_not_found(r) => {
                    tracing::debug!(%task, "update was already acknowledged");
                }
                Err(e) => tracing::warn!(%task, error = %e, "acknowledgement failed"),
            }
        });
    }

    /// Waits for every acknowledgement still on its way (at most `limit`).
    pub(crate) async fn join_acks(&self, limit: Duration) {
        let mut acks = std::mem::take(&mut *self.shared.acks());
        let drain = async { while acks.join_next().await.is_some() {} };
        if tokio::time::timeout(limit, drain).await.is_err() {
            tracing::warn!("acknowledgements still unanswered when the run ended; dropped");
        }
    }

    /// Asks the runtime to read [`Scheduler::wants_offers`](crate::Scheduler::wants_offers)
    /// again now and revive or suppress accordingly (revives still
    /// rate-limited), for demand that changed outside any handler. Inside a
    /// handler there is no need: demand is read after every handler.
    pub fn refresh_demand(&self) {
        self.shared.lock().request_refresh();
        self.shared.wake.notify_one();
    }

    /// Sends the revives whose rate limit has passed.
    pub(crate) async fn flush_revives(&self) {
        let due = self.shared.lock().due_revives(Instant::now());
        if let Some(out) = due {
            if let Err(e) = self.send(out).await {
                tracing::warn!(error = %e, "queued revive failed");
            }
        }
    }
}

#[async_trait]
impl Driver for DriverHandle {
    fn framework_id(&self) -> Option<FrameworkId> {
        self.shared.lock().framework_id()
    }

    async fn launch(&self, offer: &Offer, tasks: Vec<TaskInfo>) -> Result<(), Error> {
        let out = self.shared.lock().launch(offer, tasks)?;
        self.send(out).await
    }

    async fn launch_group(
        &self,
        offer: &Offer,
        executor: ExecutorInfo,
        tasks: Vec<TaskInfo>,
    ) -> Result<(), Error> {
        let out = self.shared.lock().launch_group(offer, executor, tasks)?;
        self.send(out).await
    }

    async fn decline(&self, offer: &OfferId, refuse: Option<Duration>) -> Result<(), Error> {
        let out = self.shared.lock().decline(offer, refuse)?;
        self.send(out).await
    }

    async fn suppress(&self, roles: &[Role]) -> Result<(), Error> {
        let out = self.shared.lock().suppress(roles)?;
        self.send(out).await
    }

    async fn revive(&self, roles: &[Role]) -> Result<(), Error> {
        let (out, queued) = self.shared.lock().revive(roles, Instant::now())?;
        if queued {
            // Some were queued: the runtime loop sends them when due.
            self.shared.wake.notify_one();
        }
        match out {
            Some(out) => self.send(out).await,
            None => Ok(()),
        }
    }

    async fn kill(&self, task: &TaskId, grace: Option<Duration>) -> Result<(), Error> {
        let out = self.shared.lock().kill(task, grace)?;
        self.send(out).await
    }

    async fn reconcile(&self, tasks: &[TaskId]) -> Result<(), Error> {
        let out = self.shared.lock().reconcile(tasks)?;
        self.send(out).await
    }

    async fn update_roles(&self, roles: Vec<Role>) -> Result<(), Error> {
        let out = self.shared.lock().update_roles(roles)?;
        self.send(out).await
    }

    async fn request(&self, role: &Role, resources: &Resources) -> Result<(), Error> {
        let out = self.shared.lock().request(role, resources)?;
        self.send(out).await
    }

    async fn withdraw_requests(&self) -> Result<(), Error> {
        let out = self.shared.lock().withdraw_requests()?;
        self.send(out).await
    }

    async fn acknowledge(&self, status: &TaskStatus) -> Result<(), Error> {
        let out = self.shared.lock().acknowledge(status)?;
        self.send(out).await
    }

    async fn accept_inverse_offers(&self, offers: &[OfferId]) -> Result<(), Error> {
        let out = self.shared.lock().answer_inverse_offers(offers, true)?;
        self.send(out).await
    }

    async fn decline_inverse_offers(&self, offers: &[OfferId]) -> Result<(), Error> {
        let out = self.shared.lock().answer_inverse_offers(offers, false)?;
        self.send(out).await
    }

    async fn release(&self, notice: &RevocationNotice) -> Result<(), Error> {
        // Fails now, before any kill, if disconnected.
        let to_kill = self.shared.lock().release_plan(notice)?;
        tracing::info!(
            notice = %notice.id,
            agent = %notice.agent_id,
            killing = ?to_kill,
            "releasing revoked tasks"
        );
        for task in &to_kill {
            let out = self
                .shared
                .lock()
                .kill_on(task, Some(notice.agent_id.clone()), None)?;
            let result = self.send(out).await;
            self.shared.lock().release_kill_answer(task, result)?;
        }
        let answer = self
            .accept_inverse_offers(std::slice::from_ref(&notice.id))
            .await;
        self.shared.lock().notice_answer(&notice.id, answer)
    }

    async fn decline_revocation(&self, notice: &RevocationNotice) -> Result<(), Error> {
        tracing::info!(
            notice = %notice.id,
            tasks = ?notice.tasks,
            deadline = ?notice.deadline,
            "keeping revoked tasks until the deadline"
        );
        let answer = self
            .decline_inverse_offers(std::slice::from_ref(&notice.id))
            .await;
        self.shared.lock().notice_answer(&notice.id, answer)
    }

    fn wake_after(&self, delay: Duration, tag: u64) {
        self.shared.lock().set_timer(Instant::now(), delay, tag);
        self.shared.wake.notify_one();
    }

    fn task_status(&self, task: &TaskId) -> Option<TaskStatus> {
        self.shared.lock().task_status(task)
    }

    fn stop(&self) {
        self.shared
            .lock()
            .stop
            .get_or_insert(super::state::StopKind::Disconnect);
        self.shared.wake.notify_one();
    }

    async fn teardown(&self) -> Result<(), Error> {
        // Let acknowledgements already on their way land first (bounded), so
        // the master doesn't see acks for a framework it just removed.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let done = self.shared.acks_done.notified();
            if self.shared.lock().acks_in_flight == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, done).await.is_err() {
                break;
            }
        }
        let out = self.shared.lock().teardown()?;
        let result = self.send(out).await;
        if result.is_ok() {
            self.shared.wake.notify_one();
        }
        result
    }
}
