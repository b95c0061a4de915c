//! The runtime's state, owned in one place and shared with every
//! [`DriverHandle`]: the connection, outstanding offers, known tasks, seen
//! status updates, delivered revocation notices, suppressed roles and
//! pending revives.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::time::Instant;

use super::config::Config;
use crate::framework::FrameworkInfo;
use crate::task::TaskStatus;
use crate::transport::Transport;
use crate::{AgentId, FrameworkId, OfferId, Role, TaskId};

/// How many (task, uuid) pairs are remembered to hide resent updates.
const SEEN_UPDATES_CAPACITY: usize = 65_536;

/// The live subscription.
#[derive(Clone, Debug)]
pub(crate) struct Connection {
    pub stream_id: String,
    pub framework_id: FrameworkId,
}

/// An offer handed to the framework and not answered yet.
#[derive(Clone, Debug)]
pub(crate) struct OutstandingOffer {
    pub role: Role,
}

/// What the framework knows of one task.
#[derive(Clone, Debug)]
pub(crate) struct TaskRecord {
    pub agent: Option<AgentId>,
    pub last: Option<TaskStatus>,
}

impl TaskRecord {
    pub(crate) fn is_terminal(&self) -> bool {
        self.last.as_ref().is_some_and(|s| s.state.is_terminal())
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
/// (RESCIND_INVERSE_OFFER), so only outstanding notices are remembered.
/// Unlike offers, notices outlive the connection they came on: they are
/// kept across disconnections, which is when the resends come.
#[derive(Debug, Default)]
pub(crate) struct OutstandingNotices {
    answered: HashMap<OfferId, bool>,
}

impl OutstandingNotices {
    /// Whether to hand the notice `id` to the scheduler: not when it was
    /// handed over and answered already (a resend).
    pub(crate) fn should_deliver(&mut self, id: &OfferId) -> bool {
        !*self.answered.entry(id.clone()).or_insert(false)
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
    /// maintenance inverse offer, never recorded).
    pub(crate) fn withdrawn(&mut self, id: &OfferId) {
        self.answered.remove(id);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.answered.len()
    }
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
            let ready = self.last_sent.get(role).is_none_or(|t| now >= *t + min);
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
            .filter_map(|r| self.last_sent.get(r).map(|t| *t + min))
            .min()
    }

    /// The pending roles whose interval has passed, recorded as sent.
    pub(crate) fn take_due(&mut self, now: Instant, min: std::time::Duration) -> Vec<Role> {
        let due: Vec<Role> = self
            .pending
            .iter()
            .filter(|r| self.last_sent.get(*r).is_none_or(|t| now >= *t + min))
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

/// Everything the runtime and its drivers share.
#[derive(Debug)]
pub(crate) struct State {
    pub info: FrameworkInfo,
    pub conn: Option<Connection>,
    pub offers: HashMap<OfferId, OutstandingOffer>,
    pub tasks: HashMap<TaskId, TaskRecord>,
    pub seen: SeenUpdates,
    /// Revocation notices handed to the scheduler and still outstanding.
    pub notices: OutstandingNotices,
    pub suppressed: BTreeSet<Role>,
    pub revives: ReviveLimiter,
    pub stop: Option<StopKind>,
    /// Acknowledgements sent but not answered yet.
    pub acks_in_flight: usize,
}

/// The shared core behind every [`DriverHandle`](super::DriverHandle).
pub(crate) struct Shared {
    pub transport: Arc<dyn Transport>,
    pub config: Config,
    pub state: Mutex<State>,
    /// Wakes the runtime loop: a stop was requested, or a revive queued.
    pub wake: Notify,
    /// Signalled when the last in-flight acknowledgement is answered.
    pub acks_done: Notify,
}

impl Shared {
    pub(crate) fn new(info: FrameworkInfo, config: Config, transport: Arc<dyn Transport>) -> Self {
        let suppressed = info.suppressed_roles.clone();
        Shared {
            transport,
            config,
            state: Mutex::new(State {
                info,
                conn: None,
                offers: HashMap::new(),
                tasks: HashMap::new(),
                seen: SeenUpdates::default(),
                notices: OutstandingNotices::default(),
                suppressed,
                revives: ReviveLimiter::default(),
                stop: None,
                acks_in_flight: 0,
            }),
            wake: Notify::new(),
            acks_done: Notify::new(),
        }
    }

    /// Locks the state. A panic in another thread while it held the lock
    /// can't leave the state half-written (every update is a few plain
    /// assignments), so a poisoned lock is recovered rather than propagated.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
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
        assert!(notices.should_deliver(&id), "a new notice reusing the id");
    }
}
