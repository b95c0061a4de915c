//! Reliable delivery of status updates: one queue per task, each update
//! with a fresh uuid; the oldest unacknowledged update of a task is in
//! flight and resent with a doubling delay until acknowledged, then the next
//! one goes out. Updates of a disconnected framework wait for it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use crate::rng::SplitMix64;
use corral::{FrameworkId, TaskId, TaskStatus};

/// An update waiting for its acknowledgement.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingUpdate {
    /// Its uuid (also in `status.uuid`).
    pub uuid: [u8; 16],
    /// The status, as sent.
    pub status: TaskStatus,
}

#[derive(Debug)]
struct TaskQueue {
    pending: VecDeque<PendingUpdate>,
    /// When the front update is sent again.
    next_send: Duration,
    /// The delay before the resend after that one.
    backoff: Duration,
}

/// The status update queues of every task of every framework.
#[derive(Debug)]
pub struct StatusUpdates {
    queues: BTreeMap<(FrameworkId, TaskId), TaskQueue>,
    paused: BTreeSet<FrameworkId>,
    retry: Duration,
    retry_max: Duration,
    uuids: SplitMix64,
}

impl StatusUpdates {
    /// Queues that resend after `retry`, doubling up to `retry_max`; uuids
    /// drawn from `seed`.
    pub fn new(retry: Duration, retry_max: Duration, seed: u64) -> Self {
        Self {
            queues: BTreeMap::new(),
            paused: BTreeSet::new(),
            retry,
            retry_max: retry_max.max(retry),
            // A distinct stream from the allocator's, same seed.
            uuids: SplitMix64::new(seed ^ 0x5555_AAAA_5555_AAAA),
        }
    }

    /// Queues `status` for `framework` with a fresh uuid. Returns the status
    /// to send now if it is the task's only pending update and the framework
    /// is connected.
    pub fn push(
        &mut self,
        now: Duration,
        framework: &FrameworkId,
        mut status: TaskStatus,
    ) -> Option<TaskStatus> {
        let mut uuid = [0u8; 16];
        uuid[..8].copy_from_slice(&self.uuids.next_u64().to_be_bytes());
        uuid[8..].copy_from_slice(&self.uuids.next_u64().to_be_bytes());
        status.uuid = Some(uuid.to_vec());
        let key = (framework.clone(), status.task_id.clone());
        let queue = self.queues.entry(key).or_insert_with(|| TaskQueue {
            pending: VecDeque::new(),
            next_send: now,
            backoff: self.retry,
        });
        queue.pending.push_back(PendingUpdate {
            uuid,
            status: status.clone(),
        });
        if queue.pending.len() > 1 {
            return None;
        }
        queue.next_send = now.saturating_add(self.retry);
        queue.backoff = self.retry;
        (!self.paused.contains(framework)).then_some(status)
    }

    /// Acknowledges the in-flight update of `task` with `uuid`. Returns the
    /// task's next update to send now, if any; `Err` if no such update is in
    /// flight.
    pub fn ack(
        &mut self,
        now: Duration,
        framework: &FrameworkId,
        task: &TaskId,
        uuid: &[u8; 16],
    ) -> Result<Option<TaskStatus>, UnknownUpdate> {
        let key = (framework.clone(), task.clone());
        let queue = self.queues.get_mut(&key).ok_or(UnknownUpdate)?;
        if queue.pending.front().map(|u| &u.uuid) != Some(uuid) {
            return Err(UnknownUpdate);
        }
        queue.pending.pop_front();
        let Some(next) = queue.pending.front() else {
            self.queues.remove(&key);
            return Ok(None);
        };
        let next = next.status.clone();
        queue.next_send = now.saturating_add(self.retry);
        queue.backoff = self.retry;
        Ok((!self.paused.contains(framework)).then_some(next))
    }

    /// The in-flight updates whose resend time has come, for connected
    /// frameworks, with their resend times pushed back (doubling delay).
    pub fn due(&mut self, now: Duration) -> Vec<(FrameworkId, TaskStatus)> {
        let mut out = Vec::new();
        for ((framework, _), queue) in &mut self.queues {
            if queue.next_send > now || self.paused.contains(framework) {
                continue;
            }
            queue.backoff = queue.backoff.saturating_mul(2).min(self.retry_max);
            queue.next_send = now.saturating_add(queue.backoff);
            if let Some(front) = queue.pending.front() {
                out.push((framework.clone(), front.status.clone()));
            }
        }
        out
    }

    /// Holds `framework`'s updates (it disconnected).
    pub fn pause(&mut self, framework: &FrameworkId) {
        self.paused.insert(framework.clone());
    }

    /// Releases `framework`'s updates (it resubscribed): returns the
    /// in-flight update of each of its tasks, to send again now.
    pub fn resume(&mut self, now: Duration, framework: &FrameworkId) -> Vec<TaskStatus> {
        self.paused.remove(framework);
        let mut out = Vec::new();
        for ((owner, _), queue) in &mut self.queues {
            if owner != framework {
                continue;
            }
            queue.next_send = now.saturating_add(self.retry);
            queue.backoff = self.retry;
            if let Some(front) = queue.pending.front() {
                out.push(front.status.clone());
            }
        }
        out
    }

    /// Forgets everything of `framework` (it was removed).
    pub fn remove_framework(&mut self, framework: &FrameworkId) {
        self.queues.retain(|(owner, _), _| owner != framework);
        self.paused.remove(framework);
    }

    /// The earliest resend time of a connected framework's update.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.queues
            .iter()
            .filter(|((framework, _), _)| !self.paused.contains(framework))
            .map(|(_, queue)| queue.next_send)
            .min()
    }

    /// How many updates of `framework` wait for an acknowledgement.
    pub fn pending_count(&self, framework: &FrameworkId) -> usize {
        self.queues
            .iter()
            .filter(|((owner, _), _)| owner == framework)
            .map(|(_, queue)| queue.pending.len())
            .sum()
    }

    /// Whether no update waits for an acknowledgement.
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }

    /// The updates of one task that wait for an acknowledgement, oldest first.
    pub fn pending(&self, framework: &FrameworkId, task: &TaskId) -> Vec<&PendingUpdate> {
        self.queues
            .get(&(framework.clone(), task.clone()))
            .map(|q| q.pending.iter().collect())
            .unwrap_or_default()
    }
}

/// No update with that uuid is in flight for that task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownUpdate;

#[cfg(test)]
mod tests {
    use super::*;
    use corral::TaskState;

    const RETRY: Duration = Duration::from_secs(10);

    fn status(task: &str, state: TaskState) -> TaskStatus {
        TaskStatus::new(task, state)
    }

    fn uuid_of(s: &TaskStatus) -> [u8; 16] {
        s.uuid.as_deref().unwrap().try_into().unwrap()
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn one_in_flight_per_task_then_next_after_ack() {
        let mut u = StatusUpdates::new(RETRY, secs(600), 1);
        let fw = FrameworkId::new("f");
        let first = u
            .push(secs(0), &fw, status("t", TaskState::Staging))
            .unwrap();
        assert!(u
            .push(secs(0), &fw, status("t", TaskState::Running))
            .is_none());
        assert!(u
            .push(secs(0), &fw, status("o", TaskState::Running))
            .is_some());
        let task = TaskId::new("t");
        assert_eq!(u.ack(secs(1), &fw, &task, &[0; 16]), Err(UnknownUpdate));
        let next = u
            .ack(secs(1), &fw, &task, &uuid_of(&first))
            .unwrap()
            .unwrap();
        assert_eq!(next.state, TaskState::Running);
        assert_ne!(uuid_of(&first), uuid_of(&next));
        assert_eq!(u.ack(secs(1), &fw, &task, &uuid_of(&next)), Ok(None));
        assert_eq!(u.pending_count(&fw), 1);
    }

    #[test]
    fn resends_double_up_to_the_cap() {
        let mut u = StatusUpdates::new(RETRY, secs(35), 1);
        let fw = FrameworkId::new("f");
        u.push(secs(0), &fw, status("t", TaskState::Staging));
        let mut sends = Vec::new();
        let mut now = secs(0);
        while sends.len() < 5 {
            now = u.next_deadline().unwrap();
            assert_eq!(u.due(now).len(), 1);
            sends.push(now.as_secs());
        }
        assert_eq!(sends, [10, 30, 65, 100, 135]);
        assert!(u.due(now).is_empty());
    }

    #[test]
    fn paused_frameworks_wait_and_get_the_front_on_resume() {
        let mut u = StatusUpdates::new(RETRY, secs(600), 1);
        let fw = FrameworkId::new("f");
        u.pause(&fw);
        assert!(u
            .push(secs(0), &fw, status("t", TaskState::Staging))
            .is_none());
        assert_eq!(u.next_deadline(), None);
        assert!(u.due(secs(100)).is_empty());
        let again = u.resume(secs(100), &fw);
        assert_eq!(again.len(), 1);
        assert_eq!(u.next_deadline(), Some(secs(110)));
        u.remove_framework(&fw);
        assert_eq!(u.pending_count(&fw), 0);
    }

    #[test]
    fn same_seed_same_uuids() {
        let fw = FrameworkId::new("f");
        let run = || {
            let mut u = StatusUpdates::new(RETRY, secs(600), 42);
            uuid_of(
                &u.push(secs(0), &fw, status("t", TaskState::Staging))
                    .unwrap(),
            )
        };
        assert_eq!(run(), run());
    }
}
