//! The bounded collections the [core](super::core) keeps (tasks, seen
//! updates, revocation notices, pending revives), and [`Shared`]: the core
//! behind a lock, with the transport, shared by the runtime loop and every
//! [`DriverHandle`](super::DriverHandle).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::config::Config;
use super::core::Core;
use crate::transport::Transport;
use crate::{AgentId, FrameworkInfo, OfferId, Role, TaskId, TaskStatus};

/// How many (task, uuid) pairs are remembered to hide resent updates.
pub(crate) const SEEN_UPDATES_CAPACITY: usize = 65_536;

/// How many ended tasks keep their last status after their end was
/// acknowledged (for [`Driver::task_status`](crate::Driver::task_status)
/// and to hide late resends); the oldest is forgotten first.
pub(crate) const RECENTLY_ENDED_CAPACITY: usize = 4_096;
/// How many live tasks are tracked at most. Tasks the framework launches
/// always are; beyond this, a status update for a task the framework has
/// never heard of is still shown but not tracked (a hostile master cannot
/// grow the map without bound).
pub(crate) const MAX_LIVE_TASKS: usize = 1_000_000;
/// How many outstanding revocation notices are remembered; the oldest is
/// forgotten first (it is then shown again if resent).
pub(crate) const MAX_NOTICES: usize = 65_536;

/// What the framework knows of one task that has not ended (or whose end
/// is not acknowledged yet).
#[derive(Clone, Debug)]
pub(crate) struct TaskRecord {
    pub agent: Option<AgentId>,
    pub last: Option<TaskStatus>,
}

/// The tasks: live ones, and a bounded set of recently ended ones.
#[derive(Debug)]
pub(crate) struct Tasks {
    live: HashMap<TaskId, TaskRecord>,
    ended: HashMap<TaskId, TaskStatus>,
    ended_order: VecDeque<TaskId>,
    ended_capacity: usize,
    live_capacity: usize,
}

impl Default for Tasks {
    fn default() -> Self {
        Tasks {
            live: HashMap::new(),
            ended: HashMap::new(),
            ended_order: VecDeque::new(),
            ended_capacity: RECENTLY_ENDED_CAPACITY,
            live_capacity: MAX_LIVE_TASKS,
        }
    }
}

impl Tasks {
    /// The last status seen for `task`, live or recently ended.
    pub(crate) fn last(&self, task: &TaskId) -> Option<&TaskStatus> {
        match self.live.get(task) {
            Some(record) => record.last.as_ref(),
            None => self.ended.get(task),
        }
    }

    /// The agent `task` runs (or ran) on, when known.
    pub(crate) fn agent(&self, task: &TaskId) -> Option<AgentId> {
        match self.live.get(task) {
            Some(record) => record.agent.clone(),
            None => self.ended.get(task).and_then(|s| s.agent_id.clone()),
        }
    }

    /// True when `task` is live and has not ended.
    pub(crate) fn is_active(&self, task: &TaskId) -> bool {
        self.live
            .get(task)
            .is_some_and(|t| !t.last.as_ref().is_some_and(|s| s.state.is_terminal()))
    }

    /// The live tasks not seen ending, sorted.
    pub(crate) fn active(&self) -> Vec<TaskId> {
        let mut ids: Vec<TaskId> = self
            .live
            .keys()
            .filter(|id| self.is_active(id))
            .cloned()
            .collect();
        ids.sort();
        ids
    }

    /// The framework launched `task` on `agent` (a relaunch of an ended id
    /// starts afresh).
    pub(crate) fn launched(&mut self, task: &TaskId, agent: &AgentId) {
        self.ended.remove(task);
        self.live.insert(
            task.clone(),
            TaskRecord {
                agent: Some(agent.clone()),
                last: None,
            },
        );
    }

    /// The launch of `task` never happened.
    pub(crate) fn forget(&mut self, task: &TaskId) {
        self.live.remove(task);
    }

    /// Records `status` as its task's latest.
    pub(crate) fn observe(&mut self, status: &TaskStatus) {
        if !self.live.contains_key(&status.task_id) {
            if self.live.len() >= self.live_capacity {
                tracing::warn!(task = %status.task_id, tracked = self.live.len(), "too many tasks: this one is shown but not tracked");
                return;
            }
            // A task learned from the master (e.g. after a failover); an
            // ended one coming back (a partitioned agent) is live again.
            self.ended.remove(&status.task_id);
        }
        let record = self
            .live
            .entry(status.task_id.clone())
            .or_insert(TaskRecord {
                agent: None,
                last: None,
            });
        if status.agent_id.is_some() {
            record.agent = status.agent_id.clone();
        }
        record.last = Some(status.clone());
    }

    /// `task` ended and its end was acknowledged: keep only its last status,
    /// in the bounded recent set.
    pub(crate) fn end(&mut self, task: &TaskId) {
        let Some(record) = self.live.remove(task) else {
            return;
        };
        let Some(last) = record.last else {
            return;
        };
        if self.ended.insert(task.clone(), last).is_none() {
            self.ended_order.push_back(task.clone());
        }
        while self.ended.len() > self.ended_capacity {
            let Some(oldest) = self.ended_order.pop_front() else {
                break;
            };
            self.ended.remove(&oldest);
        }
        // Relaunched ids leave stale entries in the order; trim them.
        if self.ended_order.len() > 2 * self.ended_capacity.max(1) {
            let ended = &self.ended;
            self.ended_order.retain(|id| ended.contains_key(id));
        }
    }

    /// Live plus recently ended.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.live.len() + self.ended.len()
    }

    /// Lowers the caps, to test them without a million tasks.
    #[cfg(test)]
    pub(crate) fn set_capacities(&mut self, live: usize, ended: usize) {
        self.live_capacity = live;
        self.ended_capacity = ended;
    }
}

/// Why the runtime was asked to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StopKind {
    /// Leave the framework registered (failover).
    Disconnect,
    /// The framework was torn down.
    Teardown,
}

/// Remembers recently seen status updates, oldest forgotten first.
#[derive(Debug, Default)]
pub(crate) struct SeenUpdates {
    set: HashSet<(TaskId, Vec<u8>)>,
    order: VecDeque<(TaskId, Vec<u8>)>,
}

impl SeenUpdates {
    pub(crate) fn contains(&self, task: &TaskId, uuid: &[u8]) -> bool {
        self.set.contains(&(task.clone(), uuid.to_vec()))
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.set.len()
    }

    pub(crate) fn insert(&mut self, task: TaskId, uuid: Vec<u8>) {
        let key = (task, uuid);
        if self.set.insert(key.clone()) {
            self.order.push_back(key);
            if self.order.len() > SEEN_UPDATES_CAPACITY {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
}

/// The revocation notices handed to the scheduler and not withdrawn yet,
/// and whether the framework has answered each (ACCEPT or
/// DECLINE_INVERSE_OFFERS reached the master). The master sends every
/// outstanding notice again on each resubscription: an answered one is not
/// handed over again, an unanswered one is (the master still waits for an
/// answer, e.g. a release that failed while disconnected can be retried).
///
/// An id is forgotten when the master withdraws the notice
/// (RESCIND_INVERSE_OFFER), so only outstanding notices are remembered;
/// a bounded set of recently withdrawn ones tells a late answer to a
/// withdrawn notice (done) from one to an id the master never had (an
/// error). Unlike offers, notices outlive the connection they came on:
/// they are kept across disconnections, which is when the resends come.
#[derive(Debug, Default)]
pub(crate) struct OutstandingNotices {
    answered: HashMap<OfferId, bool>,
    order: VecDeque<OfferId>,
    withdrawn: HashSet<OfferId>,
    withdrawn_order: VecDeque<OfferId>,
}

impl OutstandingNotices {
    /// Whether to hand the notice `id` to the scheduler: not when it was
    /// handed over and answered already (a resend).
    pub(crate) fn should_deliver(&mut self, id: &OfferId) -> bool {
        if let Some(answered) = self.answered.get(id) {
            return !*answered;
        }
        // A new notice, even if it reuses a withdrawn one's id.
        self.withdrawn.remove(id);
        self.answered.insert(id.clone(), false);
        self.order.push_back(id.clone());
        while self.answered.len() > MAX_NOTICES {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.answered.remove(&oldest);
        }
        if self.order.len() > 2 * MAX_NOTICES {
            let answered = &self.answered;
            self.order.retain(|id| answered.contains_key(id));
        }
        true
    }

    /// The master got the framework's answer to these ids (those that are
    /// not delivered notices are ignored).
    pub(crate) fn answered(&mut self, ids: &[OfferId]) {
        for id in ids {
            if let Some(answered) = self.answered.get_mut(id) {
                *answered = true;
            }
        }
    }

    /// Forgets `id`: the master withdrew the notice (or it was a
    /// maintenance inverse offer, never recorded). A notice's id joins the
    /// recently withdrawn ones.
    pub(crate) fn withdrawn(&mut self, id: &OfferId) {
        if self.answered.remove(id).is_none() {
            return;
        }
        if self.withdrawn.insert(id.clone()) {
            self.withdrawn_order.push_back(id.clone());
        }
        while self.withdrawn.len() > MAX_NOTICES {
            let Some(oldest) = self.withdrawn_order.pop_front() else {
                break;
            };
            self.withdrawn.remove(&oldest);
        }
        if self.withdrawn_order.len() > 2 * MAX_NOTICES {
            let withdrawn = &self.withdrawn;
            self.withdrawn_order.retain(|id| withdrawn.contains(id));
        }
    }

    /// Whether the master withdrew the notice `id` (recently, as far as
    /// this set remembers) and sent no new notice with that id since.
    pub(crate) fn was_withdrawn(&self, id: &OfferId) -> bool {
        self.withdrawn.contains(id)
    }

    /// The outstanding notices remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.answered.len()
    }

    /// The withdrawn ids remembered.
    #[cfg(test)]
    pub(crate) fn withdrawn_len(&self) -> usize {
        self.withdrawn.len()
    }
}

/// `t + d`, saturating a year ahead instead of panicking on overflow (a
/// configured interval can be anything).
pub(crate) fn later(t: Instant, d: std::time::Duration) -> Instant {
    t.checked_add(d)
        .unwrap_or_else(|| t + std::time::Duration::from_secs(365 * 86_400))
}

/// Revives waiting for their role's rate limit to pass.
#[derive(Debug, Default)]
pub(crate) struct ReviveLimiter {
    last_sent: HashMap<Role, Instant>,
    pending: BTreeSet<Role>,
}

impl ReviveLimiter {
    /// Splits `roles` into those that may be revived now (recorded as sent)
    /// and queues the rest.
    pub(crate) fn admit(
        &mut self,
        roles: &[Role],
        now: Instant,
        min: std::time::Duration,
    ) -> Vec<Role> {
        let mut now_ok = Vec::new();
        for role in roles {
            let ready = self
                .last_sent
                .get(role)
                .is_none_or(|t| now >= later(*t, min));
            if ready {
                self.last_sent.insert(role.clone(), now);
                self.pending.remove(role);
                now_ok.push(role.clone());
            } else {
                self.pending.insert(role.clone());
            }
        }
        now_ok
    }

    /// When the earliest pending revive may go out.
    pub(crate) fn next_due(&self, min: std::time::Duration) -> Option<Instant> {
        self.pending
            .iter()
            .filter_map(|r| self.last_sent.get(r).map(|t| later(*t, min)))
            .min()
    }

    /// The pending roles whose interval has passed, recorded as sent.
    pub(crate) fn take_due(&mut self, now: Instant, min: std::time::Duration) -> Vec<Role> {
        let due: Vec<Role> = self
            .pending
            .iter()
            .filter(|r| self.last_sent.get(*r).is_none_or(|t| now >= later(*t, min)))
            .cloned()
            .collect();
        for role in &due {
            self.pending.remove(role);
            self.last_sent.insert(role.clone(), now);
        }
        due
    }

    /// Forgets pending revives for roles that are suppressed again.
    pub(crate) fn cancel(&mut self, roles: &[Role]) {
        for role in roles {
            self.pending.remove(role);
        }
    }
}

/// The shared core behind every [`DriverHandle`](super::DriverHandle).
pub(crate) struct Shared {
    pub transport: Arc<dyn Transport>,
    pub config: Config,
    pub core: Mutex<Core>,
    /// Wakes the runtime loop: a stop was requested, or a revive queued.
    pub wake: Notify,
    /// Signalled when the last in-flight acknowledgement is answered.
    pub acks_done: Notify,
    /// The acknowledgements on their way: owned here, joined when the run
    /// ends, never detached past it.
    pub acks: Mutex<JoinSet<()>>,
}

impl Shared {
    pub(crate) fn new(info: FrameworkInfo, config: Config, transport: Arc<dyn Transport>) -> Self {
        Shared {
            transport,
            core: Mutex::new(Core::new(info, config.clone())),
            config,
            wake: Notify::new(),
            acks_done: Notify::new(),
            acks: Mutex::new(JoinSet::new()),
        }
    }

    /// Locks the core. A panic in another thread while it held the lock
    /// can't leave the state half-written (every update is a few plain
    /// assignments), so a poisoned lock is recovered rather than propagated.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Core> {
        self.core
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Locks the set of acknowledgement tasks.
    pub(crate) fn acks(&self) -> MutexGuard<'_, JoinSet<()>> {
        self.acks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_is_delivered_once_until_withdrawn_then_forgotten() {
        let mut notices = OutstandingNotices::default();
        let id = OfferId::from("rev-1");
        assert!(notices.should_deliver(&id));
        assert!(notices.should_deliver(&id), "unanswered: handed over again");
        notices.answered(std::slice::from_ref(&id));
        assert!(!notices.should_deliver(&id), "answered: a resend is hidden");
        assert!(notices.should_deliver(&OfferId::from("rev-2")));
        notices.withdrawn(&id);
        notices.withdrawn(&OfferId::from("maintenance-1"));
        assert_eq!(notices.len(), 1, "only rev-2 is still outstanding");
        assert!(notices.was_withdrawn(&id));
        assert!(
            !notices.was_withdrawn(&OfferId::from("maintenance-1")),
            "never a notice"
        );
        assert!(notices.should_deliver(&id), "a new notice reusing the id");
        assert!(!notices.was_withdrawn(&id), "the new one is not withdrawn");
    }
}
