//! The runtime's core: every decision, no IO.
//!
//! [`Core`] holds what the runtime knows (the connection, outstanding
//! offers, tasks, seen updates, revocation notices, suppressed roles,
//! pending revives) and turns each input into the calls to send:
//!
//! - a master event: [`Core::receive`] (decode-level checks, malformed
//!   offers to decline), then per framework event [`Core::admit`] before
//!   its handler (hide resends, record offers and tasks) and
//!   [`Core::handled`] after it (acknowledge, decline what is unanswered);
//! - a handler's decision: one method per [`Driver`](crate::Driver) call
//!   ([`Core::launch`], [`Core::kill`], ...), each returning an
//!   [`Outgoing`] call or a typed error, and [`Core::sent`] with the
//!   transport's answer;
//! - demand and timers: [`Core::demand`], [`Core::due_revives`].
//!
//! The async shell (`mod.rs`, `dispatch.rs`, `handle.rs`) only moves
//! values between the transport, the scheduler and this core, so the core
//! is tested without any transport (`core_tests.rs`).
//!
//! Everything the master can make grow is bounded: ended tasks are
//! forgotten once acknowledged (a bounded recent set keeps their last
//! status for de-duplication), tasks learned from the master, seen update
//! ids and revocation notices have caps.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use tokio::time::Instant;

use super::config::{AckMode, Config};
use super::state::{OutstandingNotices, ReviveLimiter, SeenUpdates, StopKind, Tasks};
use crate::error::{Error, InvalidLaunch, RejectKind, TransportError};
use crate::event::{split_inverse_offers, Event};
use crate::transport::Session;
use crate::{
    Accept, AgentId, Call, ExecutorInfo, FrameworkId, FrameworkInfo, MasterEvent, Offer, OfferId,
    Operation, Resources, RevocationNotice, Role, Subscribe, Subscribed, TaskId, TaskInfo,
    TaskState, TaskStatus,
};

/// A call to send on a session, and what to record once the transport
/// answered ([`Core::sent`]).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Outgoing {
    pub session: Session,
    pub call: Call,
    pub then: Then,
}

/// What the core records once a call was sent.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Then {
    Nothing,
    /// SUPPRESS went out: the roles are suppressed.
    Suppressed(Vec<Role>),
    /// ACCEPT refused by the master: these tasks never existed.
    Launched(Vec<TaskId>),
    /// The master has the answer to these notices.
    Answered(Vec<OfferId>),
    /// UPDATE_FRAMEWORK went out: these are the roles now.
    RolesUpdated(Vec<Role>),
    /// The acknowledgement of a terminal update went out: forget the task.
    AckedEnd(TaskId),
    /// TEARDOWN went out.
    TornDown,
}

/// What a master event amounts to.
#[derive(Debug, PartialEq)]
pub(crate) enum Received {
    /// Heartbeat, or nothing for the framework.
    Nothing,
    /// Events for the framework, in order, and calls to send first
    /// (declines of malformed offers).
    Events(Vec<Event>, Vec<Outgoing>),
    /// ERROR: the master ends the framework.
    End(String),
}

/// What to do after an event's handler returned.
#[derive(Debug, PartialEq)]
pub(crate) enum After {
    Nothing,
    /// Decline those of these offers nobody answered.
    DeclineUnanswered(Vec<OfferId>),
    /// Acknowledge (implicit mode) and remember this update.
    Update(TaskStatus),
}

/// An event checked before its handler: `Some(event)` to deliver, with
/// what to do after; calls to send either way.
#[derive(Debug, PartialEq)]
pub(crate) struct Admitted {
    pub deliver: Option<(Event, After)>,
    pub send: Vec<Outgoing>,
}

/// The runtime's state and decisions.
#[derive(Debug)]
pub(crate) struct Core {
    pub config: Config,
    pub info: FrameworkInfo,
    conn: Option<Session>,
    offers: HashMap<OfferId, Role>,
    tasks: Tasks,
    seen: SeenUpdates,
    notices: OutstandingNotices,
    suppressed: BTreeSet<Role>,
    revives: ReviveLimiter,
    pub stop: Option<StopKind>,
    /// Acknowledgements sent but not answered yet.
    pub acks_in_flight: usize,
    subscriptions: u64,
    /// Timers set by handlers: (due, sequence) -> tag.
    timers: BTreeMap<(Instant, u64), u64>,
    timer_seq: u64,
    /// Demand to be read again at the loop's next turn.
    refresh: bool,
}

impl Core {
    pub fn new(info: FrameworkInfo, config: Config) -> Self {
        Core {
            suppressed: info.suppressed_roles.clone(),
            config,
            info,
            conn: None,
            offers: HashMap::new(),
            tasks: Tasks::default(),
            seen: SeenUpdates::default(),
            notices: OutstandingNotices::default(),
            revives: ReviveLimiter::default(),
            stop: None,
            acks_in_flight: 0,
            subscriptions: 0,
            timers: BTreeMap::new(),
            timer_seq: 0,
            refresh: false,
        }
    }

    // ---- the connection ----

    /// The SUBSCRIBE to send now.
    pub fn subscribe(&self) -> Subscribe {
        Subscribe::new(self.info.clone(), self.suppressed.clone())
    }

    /// SUBSCRIBED arrived on `stream_id`: the session is live. Returns the
    /// event for the scheduler (marked as a resubscription after the first).
    pub fn connected(&mut self, stream_id: String, mut subscribed: Subscribed) -> Subscribed {
        self.subscriptions += 1;
        subscribed.resubscribed = self.subscriptions > 1;
        self.info.id = Some(subscribed.framework_id.clone());
        self.conn = Some(Session {
            stream_id,
            framework_id: subscribed.framework_id.clone(),
        });
        subscribed
    }

    /// The connection is gone: offers die with it.
    pub fn lost(&mut self) {
        self.conn = None;
        self.offers.clear();
    }

    /// The live session, or `Disconnected`.
    pub fn session(&self) -> Result<Session, Error> {
        self.conn.clone().ok_or(Error::Disconnected)
    }

    fn out(&self, call: Call, then: Then) -> Result<Outgoing, Error> {
        Ok(Outgoing {
            session: self.session()?,
            call,
            then,
        })
    }

    /// The framework's id, once known.
    pub fn framework_id(&self) -> Option<FrameworkId> {
        self.conn
            .as_ref()
            .map(|c| c.framework_id.clone())
            .or_else(|| self.info.id.clone())
    }

    // ---- events ----

    /// A master event on the live subscription (not the first SUBSCRIBED).
    pub fn receive(&mut self, event: MasterEvent) -> Received {
        let one = |e: Event| Received::Events(vec![e], Vec::new());
        match event {
            MasterEvent::Heartbeat => Received::Nothing,
            MasterEvent::Error(message) => Received::End(message),
            MasterEvent::Malformed(e) => {
                tracing::warn!(error = %e, "ignoring a malformed event");
                Received::Nothing
            }
            MasterEvent::Subscribed(_) => {
                tracing::warn!("ignoring a second SUBSCRIBED on the same stream");
                Received::Nothing
            }
            MasterEvent::Offers { offers, malformed } => {
                let mut ids = Vec::new();
                for bad in malformed {
                    tracing::warn!(offer = ?bad.id, error = %bad.error, "malformed offer: declined, not shown to the framework");
                    ids.extend(bad.id);
                }
                let send = if ids.is_empty() {
                    Vec::new()
                } else {
                    let call = Call::Decline {
                        offers: ids,
                        refuse: None,
                    };
                    self.out(call, Then::Nothing).into_iter().collect()
                };
                let events = if offers.is_empty() {
                    Vec::new()
                } else {
                    vec![Event::Offers(offers)]
                };
                Received::Events(events, send)
            }
            MasterEvent::InverseOffers(items) => {
                Received::Events(split_inverse_offers(items), Vec::new())
            }
            MasterEvent::Rescind(id) => one(Event::Rescinded(id)),
            MasterEvent::RescindInverseOffer(id) => one(Event::InverseOfferRescinded(id)),
            MasterEvent::Update(status) => one(Event::Update(status)),
            MasterEvent::Message {
                agent_id,
                executor_id,
                data,
            } => one(Event::Message {
                agent_id,
                executor_id,
                data,
            }),
            MasterEvent::Failure(f) => one(Event::Failure(f)),
        }
    }

    /// Before `event`'s handler: record what it brings, hide what the
    /// handler has seen already.
    pub fn admit(&mut self, event: Event) -> Admitted {
        let deliver = |event, after| Admitted {
            deliver: Some((event, after)),
            send: Vec::new(),
        };
        match event {
            Event::Offers(offers) => {
                for offer in &offers {
                    self.offers.insert(offer.id.clone(), offer.role.clone());
                }
                let ids = offers.iter().map(|o| o.id.clone()).collect();
                deliver(Event::Offers(offers), After::DeclineUnanswered(ids))
            }
            Event::Revocation(notice) => {
                if !self.notices.should_deliver(&notice.id) {
                    // Resent on a resubscription: answered already.
                    tracing::debug!(notice = %notice.id, "resent revocation notice hidden from the scheduler");
                    return Admitted {
                        deliver: None,
                        send: Vec::new(),
                    };
                }
                tracing::info!(notice = %notice.id, agent = %notice.agent_id, tasks = ?notice.tasks, deadline = ?notice.deadline, "revocation notice");
                deliver(Event::Revocation(notice), After::Nothing)
            }
            Event::Rescinded(id) => {
                self.offers.remove(&id);
                deliver(Event::Rescinded(id), After::Nothing)
            }
            Event::InverseOfferRescinded(id) => {
                // Withdrawn: the master won't send this notice again, and an
                // id it reuses later names a new notice.
                self.notices.withdrawn(&id);
                deliver(Event::InverseOfferRescinded(id), After::Nothing)
            }
            Event::Update(status) => self.admit_update(status),
            other => deliver(other, After::Nothing),
        }
    }

    fn admit_update(&mut self, status: TaskStatus) -> Admitted {
        let implicit = self.config.ack_mode == AckMode::Implicit;
        if let Some(uuid) = &status.uuid {
            if self.seen.contains(&status.task_id, uuid) {
                // A resend: the master did not get our ack (or we haven't
                // sent it yet, in explicit mode). Don't show it twice.
                tracing::debug!(task = %status.task_id, "resent update hidden from the scheduler");
                let send = if implicit {
                    self.ack(&status).into_iter().collect()
                } else {
                    Vec::new()
                };
                return Admitted {
                    deliver: None,
                    send,
                };
            }
        }
        if self.adds_nothing(&status) {
            // The handler already knows this state: a reconciliation answer
            // repeating it, the reliable update of a state a reconciliation
            // answer showed first, or anything after the task's end. Hidden,
            // so each handler sees each transition (and one terminal state)
            // once; acknowledged whatever the ack mode, since the framework
            // never sees it to acknowledge it itself.
            tracing::debug!(task = %status.task_id, state = ?status.state, "update repeats a known state; hidden");
            let mut send = Vec::new();
            if let Some(uuid) = &status.uuid {
                self.seen.insert(status.task_id.clone(), uuid.clone());
                send.extend(self.ack(&status));
            }
            return Admitted {
                deliver: None,
                send,
            };
        }
        self.tasks.observe(&status);
        Admitted {
            deliver: Some((Event::Update(status.clone()), After::Update(status))),
            send: Vec::new(),
        }
    }

    /// Whether `status` tells the handler nothing new about its task.
    fn adds_nothing(&self, status: &TaskStatus) -> bool {
        let Some(last) = self.tasks.last(&status.task_id) else {
            return false;
        };
        last.state.is_terminal() || (last.state == status.state && last.healthy == status.healthy)
    }

    /// After an event's handler.
    pub fn handled(&mut self, after: After) -> Vec<Outgoing> {
        match after {
            After::Nothing => Vec::new(),
            After::DeclineUnanswered(ids) => {
                let unanswered: Vec<OfferId> = ids
                    .into_iter()
                    .filter(|id| self.offers.remove(id).is_some())
                    .collect();
                if unanswered.is_empty() {
                    return Vec::new();
                }
                let refuse = self.config.unanswered_offer_refuse;
                tracing::debug!(
                    count = unanswered.len(),
                    ?refuse,
                    "declining unanswered offers"
                );
                let call = Call::Decline {
                    offers: unanswered,
                    refuse: Some(refuse),
                };
                // Err: disconnected, the offers died with the connection.
                self.out(call, Then::Nothing).into_iter().collect()
            }
            After::Update(status) => {
                let mut send = Vec::new();
                match &status.uuid {
                    Some(uuid) => {
                        self.seen.insert(status.task_id.clone(), uuid.clone());
                        if self.config.ack_mode == AckMode::Implicit {
                            send.extend(self.ack(&status));
                        }
                    }
                    // A reconciliation answer: nothing to acknowledge, so an
                    // end is final now.
                    None if status.state.is_terminal() => self.tasks.end(&status.task_id),
                    None => {}
                }
                send
            }
        }
    }

    /// The ACKNOWLEDGE for `status`, if it can be acknowledged and the
    /// framework is not torn down.
    fn ack(&self, status: &TaskStatus) -> Option<Outgoing> {
        if self.stop == Some(StopKind::Teardown) {
            // The framework is gone, and its updates with it.
            return None;
        }
        let (Some(uuid), Some(agent)) = (&status.uuid, &status.agent_id) else {
            return None;
        };
        let then = if status.state.is_terminal() {
            Then::AckedEnd(status.task_id.clone())
        } else {
            Then::Nothing
        };
        let call = Call::Acknowledge {
            agent: agent.clone(),
            task: status.task_id.clone(),
            uuid: uuid.clone(),
        };
        self.out(call, then).ok()
    }

    /// The transport answered `then`'s call with `result`.
    pub fn sent(&mut self, then: Then, result: &Result<(), Error>) {
        match (then, result) {
            (Then::Nothing, _) => {}
            (Then::Suppressed(roles), Ok(())) => {
                self.revives.cancel(&roles);
                self.suppressed.extend(roles);
            }
            (Then::Launched(tasks), Err(Error::Transport(TransportError::Rejected { .. }))) => {
                // The master refused the whole call: none of these exist.
                for task in &tasks {
                    self.tasks.forget(task);
                }
            }
            (Then::Answered(ids), Ok(())) => self.notices.answered(&ids),
            (Then::RolesUpdated(roles), Ok(())) => {
                self.offers.retain(|_, role| roles.contains(role));
                self.suppressed.retain(|r| roles.contains(r));
                self.info.suppressed_roles.retain(|r| roles.contains(r));
                self.info.roles = roles;
            }
            // Sent, or refused as unknown (a re-ack that crossed the first):
            // either way the master is done with this task's updates.
            (Then::AckedEnd(task), Ok(()))
            | (
                Then::AckedEnd(task),
                Err(Error::Transport(TransportError::Rejected {
                    kind: RejectKind::NotFound,
                    ..
                })),
            ) => self.tasks.end(&task),
            (Then::TornDown, Ok(())) => self.stop = Some(StopKind::Teardown),
            _ => {}
        }
    }

    /// The roles to suppress and to revive now, from the scheduler's
    /// demand; `None` when disconnected.
    pub fn demand(&self, wants: impl Fn(&Role) -> Option<bool>) -> Option<(Vec<Role>, Vec<Role>)> {
        self.conn.as_ref()?;
        let mut suppress = Vec::new();
        let mut revive = Vec::new();
        for role in &self.info.roles {
            match wants(role) {
                Some(false) if !self.suppressed.contains(role) => suppress.push(role.clone()),
                Some(true) if self.suppressed.contains(role) => revive.push(role.clone()),
                _ => {}
            }
        }
        Some((suppress, revive))
    }

    /// When the earliest queued revive may go out.
    pub fn next_revive(&self) -> Option<Instant> {
        self.revives.next_due(self.config.min_revive_interval)
    }

    /// The queued revives whose rate limit has passed at `now`.
    pub fn due_revives(&mut self, now: Instant) -> Option<Outgoing> {
        let due = self.revives.take_due(now, self.config.min_revive_interval);
        if due.is_empty() {
            return None;
        }
        self.out(Call::Revive(due), Then::Nothing).ok()
    }

    /// A timer for `tag`, due `delay` after `now`.
    pub fn set_timer(&mut self, now: Instant, delay: Duration, tag: u64) {
        self.timer_seq += 1;
        self.timers
            .insert((super::state::later(now, delay), self.timer_seq), tag);
    }

    /// When the earliest timer is due.
    pub fn next_timer(&self) -> Option<Instant> {
        self.timers.keys().next().map(|(at, _)| *at)
    }

    /// The tags of the timers due at `now`, in the order they are due
    /// (ties: the order they were set).
    pub fn due_timers(&mut self, now: Instant) -> Vec<u64> {
        let later = self.timers.split_off(&(now, u64::MAX));
        let due = std::mem::replace(&mut self.timers, later);
        due.into_values().collect()
    }

    /// Asks for the demand to be read again.
    pub fn request_refresh(&mut self) {
        self.refresh = true;
    }

    /// Whether a demand re-read was asked for (and clears the request).
    pub fn take_refresh(&mut self) -> bool {
        std::mem::take(&mut self.refresh)
    }

    /// After a (re)subscription: reconcile every task believed active
    /// (explicit), then every task the master knows (implicit).
    pub fn reconcile_all(&self) -> Vec<Outgoing> {
        let active = self.tasks.active();
        let mut out = Vec::new();
        if !active.is_empty() {
            out.extend(self.reconcile(&active));
        }
        out.extend(self.reconcile(&[]));
        out
    }

    // ---- the driver's calls ----

    fn own_roles(&self, roles: &[Role]) -> Result<Vec<Role>, Error> {
        if roles.is_empty() {
            return Ok(self.info.roles.clone());
        }
        if let Some(role) = roles.iter().find(|r| !self.info.roles.contains(r)) {
            return Err(Error::NotOwnRole {
                role: role.clone(),
                roles: self.info.roles.clone(),
            });
        }
        Ok(roles.to_vec())
    }

    fn validate_launch(&self, offer: &Offer, tasks: &[TaskInfo]) -> Result<(), Error> {
        if tasks.is_empty() {
            return Err(InvalidLaunch::NoTasks.into());
        }
        if !self.offers.contains_key(&offer.id) {
            return Err(Error::UnknownOffer(offer.id.clone()));
        }
        let mut ids = BTreeSet::new();
        let mut total = Resources::new();
        for task in tasks {
            if !ids.insert(&task.id) {
                return Err(InvalidLaunch::DuplicateTask(task.id.clone()).into());
            }
            if self.tasks.is_active(&task.id) {
                return Err(InvalidLaunch::TaskActive(task.id.clone()).into());
            }
            if task.resources.is_empty() {
                return Err(InvalidLaunch::NoResources(task.id.clone()).into());
            }
            let regular = !task.resources.non_revocable().is_empty();
            let lent = !task.resources.only_revocable().is_empty();
            if regular && lent {
                return Err(InvalidLaunch::MixedResources(task.id.clone()).into());
            }
            total += &task.resources;
        }
        if !offer.fits(&total) {
            return Err(InvalidLaunch::DoesNotFit {
                offer: offer.id.clone(),
                needed: total,
                available: offer.resources.unallocated(),
            }
            .into());
        }
        Ok(())
    }

    fn accept(
        &mut self,
        offer: &Offer,
        tasks: &[TaskInfo],
        op: Operation,
    ) -> Result<Outgoing, Error> {
        self.validate_launch(offer, tasks)?;
        let session = self.session()?;
        self.offers.remove(&offer.id);
        for task in tasks {
            self.tasks.launched(&task.id, &offer.agent_id);
        }
        tracing::debug!(offer = %offer.id, tasks = tasks.len(), "launch");
        let call = Call::Accept(Accept::new(
            offer.id.clone(),
            offer.agent_id.clone(),
            offer.role.clone(),
            op,
        ));
        Ok(Outgoing {
            session,
            call,
            then: Then::Launched(tasks.iter().map(|t| t.id.clone()).collect()),
        })
    }

    /// LAUNCH `tasks` on `offer`.
    pub fn launch(&mut self, offer: &Offer, tasks: Vec<TaskInfo>) -> Result<Outgoing, Error> {
        self.accept(offer, &tasks.clone(), Operation::Launch(tasks))
    }

    /// LAUNCH_GROUP `tasks` under `executor` on `offer`.
    pub fn launch_group(
        &mut self,
        offer: &Offer,
        executor: ExecutorInfo,
        tasks: Vec<TaskInfo>,
    ) -> Result<Outgoing, Error> {
        if executor.id.as_str().is_empty() {
            return Err(InvalidLaunch::EmptyExecutorId.into());
        }
        let op = Operation::LaunchGroup {
            executor,
            tasks: tasks.clone(),
        };
        self.accept(offer, &tasks, op)
    }

    /// DECLINE `offer`.
    pub fn decline(
        &mut self,
        offer: &OfferId,
        refuse: Option<Duration>,
    ) -> Result<Outgoing, Error> {
        let session = self.session()?;
        if self.offers.remove(offer).is_none() {
            return Err(Error::UnknownOffer(offer.clone()));
        }
        let call = Call::Decline {
            offers: vec![offer.clone()],
            refuse,
        };
        Ok(Outgoing {
            session,
            call,
            then: Then::Nothing,
        })
    }

    /// SUPPRESS `roles` (all if empty).
    pub fn suppress(&self, roles: &[Role]) -> Result<Outgoing, Error> {
        let roles = self.own_roles(roles)?;
        self.out(Call::Suppress(roles.clone()), Then::Suppressed(roles))
    }

    /// REVIVE `roles` (all if empty), rate-limited: the call for those that
    /// may go now, and whether some were queued for later.
    pub fn revive(
        &mut self,
        roles: &[Role],
        now: Instant,
    ) -> Result<(Option<Outgoing>, bool), Error> {
        let roles = self.own_roles(roles)?;
        let session = self.session()?;
        for role in &roles {
            self.suppressed.remove(role);
        }
        let now_ok = self
            .revives
            .admit(&roles, now, self.config.min_revive_interval);
        let queued = now_ok.len() < roles.len();
        let out = (!now_ok.is_empty()).then(|| {
            tracing::debug!(roles = ?now_ok, "revive");
            Outgoing {
                session,
                call: Call::Revive(now_ok),
                then: Then::Nothing,
            }
        });
        Ok((out, queued))
    }

    /// KILL `task` on its known agent.
    pub fn kill(&self, task: &TaskId, grace: Option<Duration>) -> Result<Outgoing, Error> {
        self.kill_on(task, self.tasks.agent(task), grace)
    }

    /// KILL `task` on `agent`.
    pub fn kill_on(
        &self,
        task: &TaskId,
        agent: Option<AgentId>,
        grace: Option<Duration>,
    ) -> Result<Outgoing, Error> {
        tracing::debug!(%task, ?grace, "kill");
        let call = Call::Kill {
            task: task.clone(),
            agent,
            grace,
        };
        self.out(call, Then::Nothing)
    }

    /// RECONCILE `tasks` (all if empty).
    pub fn reconcile(&self, tasks: &[TaskId]) -> Result<Outgoing, Error> {
        let entries = tasks
            .iter()
            .map(|t| (t.clone(), self.tasks.agent(t)))
            .collect();
        self.out(Call::Reconcile(entries), Then::Nothing)
    }

    /// UPDATE_FRAMEWORK with `roles`.
    pub fn update_roles(&self, roles: Vec<Role>) -> Result<Outgoing, Error> {
        let mut info = self.info.clone();
        info.roles = roles;
        info.suppressed_roles.retain(|r| info.roles.contains(r));
        info.validate()?;
        let session = self.session()?;
        info.id = Some(session.framework_id.clone());
        let suppressed = self
            .suppressed
            .iter()
            .filter(|r| info.roles.contains(r))
            .cloned()
            .collect();
        let roles = info.roles.clone();
        let call = Call::UpdateFramework {
            framework: info,
            suppressed_roles: suppressed,
        };
        Ok(Outgoing {
            session,
            call,
            then: Then::RolesUpdated(roles),
        })
    }

    /// REQUEST `resources` for `role`.
    pub fn request(&self, role: &Role, resources: &Resources) -> Result<Outgoing, Error> {
        self.own_roles(std::slice::from_ref(role))?;
        if resources.is_empty() {
            return Err(Error::EmptyRequest);
        }
        self.out(
            Call::Request(vec![resources.allocated_to(role)]),
            Then::Nothing,
        )
    }

    /// REQUEST naming nothing.
    pub fn withdraw_requests(&self) -> Result<Outgoing, Error> {
        self.out(Call::Request(Vec::new()), Then::Nothing)
    }

    /// ACKNOWLEDGE `status` for the framework (explicit mode only).
    pub fn acknowledge(&self, status: &TaskStatus) -> Result<Outgoing, Error> {
        if self.config.ack_mode == AckMode::Implicit {
            return Err(Error::ImplicitAcks);
        }
        if status.uuid.is_none() || status.agent_id.is_none() {
            return Err(Error::NotAcknowledgeable(status.task_id.clone()));
        }
        self.session()?;
        // `ack` is `None` only when torn down: nothing left to ack then.
        self.ack(status).ok_or(Error::Disconnected)
    }

    /// ACCEPT_INVERSE_OFFERS (`accept`) or DECLINE_INVERSE_OFFERS.
    pub fn answer_inverse_offers(&self, ids: &[OfferId], accept: bool) -> Result<Outgoing, Error> {
        let call = if accept {
            Call::AcceptInverseOffers(ids.to_vec())
        } else {
            Call::DeclineInverseOffers(ids.to_vec())
        };
        self.out(call, Then::Answered(ids.to_vec()))
    }

    /// The framework's answer to notice `id` came back `result`: a refusal
    /// as unknown is done when the master withdrew the notice (the core saw
    /// its RESCIND_INVERSE_OFFER), and [`Error::UnknownNotice`] otherwise.
    pub fn notice_answer(&self, id: &OfferId, result: Result<(), Error>) -> Result<(), Error> {
        match result {
            Err(Error::Transport(
                source @ TransportError::Rejected {
                    kind: RejectKind::NotFound,
                    ..
                },
            )) => {
                if self.notices.was_withdrawn(id) {
                    tracing::debug!(notice = %id, "revocation notice already withdrawn");
                    Ok(())
                } else {
                    tracing::warn!(notice = %id, "the master does not know this revocation notice");
                    Err(Error::UnknownNotice {
                        notice: id.clone(),
                        source,
                    })
                }
            }
            other => other,
        }
    }

    /// A release's kill of `task` came back `result`: a refusal as unknown
    /// means the task is gone already (what the release wanted), so the
    /// release goes on; any other failure stops it before the master is
    /// told the notice was answered.
    pub fn release_kill_answer(
        &self,
        task: &TaskId,
        result: Result<(), Error>,
    ) -> Result<(), Error> {
        match result {
            Err(Error::Transport(TransportError::Rejected {
                kind: RejectKind::NotFound,
                ..
            })) => {
                tracing::debug!(%task, "revoked task already gone");
                Ok(())
            }
            other => other,
        }
    }

    /// The tasks of `notice` to kill for a release: those not seen ending or
    /// already being killed. Fails when disconnected, before any kill.
    pub fn release_plan(&self, notice: &RevocationNotice) -> Result<Vec<TaskId>, Error> {
        self.session()?;
        Ok(notice
            .tasks
            .iter()
            .filter(|task| {
                !self
                    .tasks
                    .last(task)
                    .is_some_and(|s| s.state.is_terminal() || s.state == TaskState::Killing)
            })
            .cloned()
            .collect())
    }

    /// The latest status seen for `task` (live, or ended recently).
    pub fn task_status(&self, task: &TaskId) -> Option<TaskStatus> {
        self.tasks.last(task).cloned()
    }

    /// TEARDOWN.
    pub fn teardown(&self) -> Result<Outgoing, Error> {
        self.out(Call::Teardown, Then::TornDown)
    }

    /// How many tasks the core remembers (live and recently ended), how
    /// many update ids, and how many notice ids (outstanding and recently
    /// withdrawn): what the master can make grow.
    #[cfg(test)]
    pub fn footprint(&self) -> (usize, usize, usize) {
        (
            self.tasks.len(),
            self.seen.len(),
            self.notices.len() + self.notices.withdrawn_len(),
        )
    }

    #[cfg(test)]
    pub fn tasks_mut(&mut self) -> &mut Tasks {
        &mut self.tasks
    }
}
