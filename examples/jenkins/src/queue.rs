//! The build queue and the builds' records.
//!
//! A trigger makes a [`Build`]: the job's next build number (numbered per
//! job, from 1, as Jenkins does) and a queue item id (global, as Jenkins's
//! queue items are). The queue is first in, first out per label, with one
//! exception that is the point of preemptible labels: a build aborted by a
//! revocation (or whose agent was lost) goes back to the *front*, marked
//! requeued, so work that was already running is not punished twice.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::store::{SavedBuild, SavedMeta, SavedState};

/// A build: a job's name and its number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BuildId {
    /// The job.
    pub job: String,
    /// Its number, from 1.
    pub number: u64,
}

impl fmt::Display for BuildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.job, self.number)
    }
}

/// How a build ended, in Jenkins's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BuildResult {
    /// Every step exited 0.
    Success,
    /// A step failed.
    Failure,
    /// Stopped: its timeout, an abort, or the controller shutting down.
    Aborted,
}

/// Where a build stands.
#[derive(Clone, Debug, PartialEq)]
pub enum BuildState {
    /// Waiting in the queue.
    Queued,
    /// Running on an agent (the agent's task id).
    Running {
        /// The agent.
        agent: String,
        /// When it started there.
        since: Instant,
    },
    /// Done.
    Done(BuildResult),
}

/// One build's record.
#[derive(Clone, Debug)]
pub struct Build {
    /// Which build.
    pub id: BuildId,
    /// Its queue item id.
    pub queue_id: u64,
    /// The label it runs on.
    pub label: String,
    /// Its parameters (defaults filled in).
    pub params: BTreeMap<String, String>,
    /// Where it stands.
    pub state: BuildState,
    /// When it was triggered.
    pub queued_at: Instant,
    /// How long it waited in the queue in all (every wait, if requeued).
    pub waited: Duration,
    /// When it last entered the queue.
    pub entered_queue: Instant,
    /// How long its last run took, once done.
    pub duration: Duration,
    /// Times it went back to the queue after starting (revoked, agent lost).
    pub requeued: u32,
    /// Every agent it started on, in order.
    pub agents: Vec<String>,
    /// When it was triggered, milliseconds since the Unix epoch.
    pub queued_epoch_ms: u64,
    /// When its last run started, milliseconds since the Unix epoch (0:
    /// not started).
    pub started_epoch_ms: u64,
    /// Its console output so far (the current run's; bounded, see
    /// [`MAX_LOG`]).
    pub log: String,
}

/// The most console output kept per build, bytes; past it the log says
/// it was cut.
pub const MAX_LOG: usize = 4 << 20;

/// The queue plus every build's record.
#[derive(Debug, Default)]
pub struct Builds {
    queue: VecDeque<BuildId>,
    records: BTreeMap<BuildId, Build>,
    next_number: BTreeMap<String, u64>,
    next_queue_id: u64,
    /// Builds changed since the last [`Builds::take_dirty`].
    dirty: BTreeSet<BuildId>,
}

impl Builds {
    /// Queues a new build of `job` on `label`; returns its id.
    pub fn trigger(
        &mut self,
        job: &str,
        label: &str,
        params: BTreeMap<String, String>,
        now: Instant,
    ) -> BuildId {
        let number = self.next_number.entry(job.to_owned()).or_insert(0);
        *number += 1;
        self.next_queue_id += 1;
        let id = BuildId {
            job: job.to_owned(),
            number: *number,
        };
        self.records.insert(
            id.clone(),
            Build {
                id: id.clone(),
                queue_id: self.next_queue_id,
                label: label.to_owned(),
                params,
                state: BuildState::Queued,
                queued_at: now,
                waited: Duration::ZERO,
                entered_queue: now,
                duration: Duration::ZERO,
                requeued: 0,
                agents: Vec::new(),
                log: String::new(),
                queued_epoch_ms: epoch_ms(),
                started_epoch_ms: 0,
            },
        );
        self.queue.push_back(id.clone());
        self.dirty.insert(id.clone());
        id
    }

    /// Takes the first queued build for `label` and marks it running on
    /// `agent`.
    pub fn start_next(&mut self, label: &str, agent: &str, now: Instant) -> Option<BuildId> {
        let at = self
            .queue
            .iter()
            .position(|id| self.records.get(id).is_some_and(|b| b.label == label))?;
        let id = self.queue.remove(at)?;
        self.dirty.insert(id.clone());
        let build = self.records.get_mut(&id)?;
        build.waited += now.saturating_duration_since(build.entered_queue);
        build.state = BuildState::Running {
            agent: agent.to_owned(),
            since: now,
        };
        build.agents.push(agent.to_owned());
        build.started_epoch_ms = epoch_ms();
        if !build.log.is_empty() {
            build
                .log
                .push_str(&format!("--- requeued; running again on {agent}\n"));
        }
        Some(id)
    }

    /// Appends console output to a build's log, up to [`MAX_LOG`].
    pub fn append_log(&mut self, id: &BuildId, text: &str) {
        let Some(build) = self.records.get_mut(id) else {
            return;
        };
        self.dirty.insert(id.clone());
        const CUT: &str = "\n--- log cut: too long\n";
        if build.log.len() >= MAX_LOG {
            return;
        }
        if build.log.len() + text.len() > MAX_LOG {
            let mut end = MAX_LOG - build.log.len();
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            build.log.push_str(&text[..end]);
            build.log.push_str(CUT);
        } else {
            build.log.push_str(text);
        }
    }

    /// Ends a running build with `result`.
    pub fn finish(&mut self, id: &BuildId, result: BuildResult, now: Instant) {
        self.dirty.insert(id.clone());
        if let Some(build) = self.records.get_mut(id) {
            if let BuildState::Running { since, .. } = build.state {
                build.duration = now.saturating_duration_since(since);
            }
            build.state = BuildState::Done(result);
        }
    }

    /// Puts a running build back at the front of the queue, marked
    /// requeued.
    pub fn requeue_front(&mut self, id: &BuildId, now: Instant) {
        self.dirty.insert(id.clone());
        if let Some(build) = self.records.get_mut(id) {
            if matches!(build.state, BuildState::Running { .. }) {
                build.state = BuildState::Queued;
                build.requeued += 1;
                build.entered_queue = now;
                self.queue.push_front(id.clone());
            }
        }
    }

    /// Removes a queued build from the queue, aborted (a stop before it
    /// started, or shutdown).
    pub fn cancel_queued(&mut self, id: &BuildId) -> bool {
        let Some(at) = self.queue.iter().position(|q| q == id) else {
            return false;
        };
        self.queue.remove(at);
        self.dirty.insert(id.clone());
        if let Some(build) = self.records.get_mut(id) {
            build.state = BuildState::Done(BuildResult::Aborted);
        }
        true
    }

    /// Queued builds per label.
    pub fn waiting_per_label(&self) -> BTreeMap<&str, usize> {
        let mut out = BTreeMap::new();
        for id in &self.queue {
            if let Some(b) = self.records.get(id) {
                *out.entry(b.label.as_str()).or_insert(0) += 1;
            }
        }
        out
    }

    /// The labels of queued builds, each once, in queue order.
    pub fn labels_in_queue_order(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for id in &self.queue {
            if let Some(b) = self.records.get(id) {
                if !out.contains(&b.label.as_str()) {
                    out.push(b.label.as_str());
                }
            }
        }
        out
    }

    /// The queue, front first.
    pub fn queued(&self) -> impl Iterator<Item = &Build> {
        self.queue.iter().filter_map(|id| self.records.get(id))
    }

    /// True when nothing waits.
    pub fn queue_is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// A build's record.
    pub fn get(&self, id: &BuildId) -> Option<&Build> {
        self.records.get(id)
    }

    /// Every build, by job and number.
    pub fn all(&self) -> impl Iterator<Item = &Build> {
        self.records.values()
    }

    /// True when every build triggered so far is done.
    pub fn all_done(&self) -> bool {
        self.records
            .values()
            .all(|b| matches!(b.state, BuildState::Done(_)))
    }
}

impl Builds {
    /// The builds changed since the last call, as stored.
    pub fn take_dirty(&mut self) -> Vec<SavedBuild> {
        std::mem::take(&mut self.dirty)
            .iter()
            .filter_map(|id| self.records.get(id))
            .map(save)
            .collect()
    }

    /// The number the next build of `job` gets.
    pub fn next_number(&self, job: &str) -> u64 {
        self.next_number.get(job).copied().unwrap_or(0) + 1
    }

    /// The build with this queue item id.
    pub fn by_queue_id(&self, queue_id: u64) -> Option<&Build> {
        self.records.values().find(|b| b.queue_id == queue_id)
    }

    /// Marks a build to be written again (its last write failed).
    pub fn mark_dirty(&mut self, id: BuildId) {
        self.dirty.insert(id);
    }

    /// The numbers, the queue id and the queue, into `meta`.
    pub fn save_meta(&self, meta: &mut SavedMeta) {
        meta.numbers = self.next_number.clone();
        meta.queue_id = self.next_queue_id;
        meta.queue = self.queue.iter().cloned().collect();
    }

    /// The builds as a previous run left them. Their clocks restart now.
    pub fn restore(meta: &SavedMeta, builds: Vec<SavedBuild>, now: Instant) -> Builds {
        let records = builds
            .into_iter()
            .map(|b| {
                let state = match b.state {
                    SavedState::Queued => BuildState::Queued,
                    SavedState::Running(agent) => BuildState::Running { agent, since: now },
                    SavedState::Done(result) => BuildState::Done(result),
                };
                let build = Build {
                    id: b.id.clone(),
                    queue_id: b.queue_id,
                    label: b.label,
                    params: b.params,
                    state,
                    queued_at: now,
                    waited: Duration::from_millis(b.waited_ms),
                    entered_queue: now,
                    duration: Duration::from_millis(b.duration_ms),
                    requeued: b.requeued,
                    agents: b.agents,
                    log: b.log,
                    queued_epoch_ms: b.queued_epoch_ms,
                    started_epoch_ms: b.started_epoch_ms,
                };
                (b.id, build)
            })
            .collect();
        Builds {
            queue: meta.queue.iter().cloned().collect(),
            records,
            next_number: meta.numbers.clone(),
            next_queue_id: meta.queue_id,
            dirty: BTreeSet::new(),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn save(b: &Build) -> SavedBuild {
    SavedBuild {
        id: b.id.clone(),
        queue_id: b.queue_id,
        label: b.label.clone(),
        params: b.params.clone(),
        state: match &b.state {
            BuildState::Queued => SavedState::Queued,
            BuildState::Running { agent, .. } => SavedState::Running(agent.clone()),
            BuildState::Done(result) => SavedState::Done(*result),
        },
        waited_ms: millis(b.waited),
        duration_ms: millis(b.duration),
        requeued: b.requeued,
        agents: b.agents.clone(),
        log: b.log.clone(),
        queued_epoch_ms: b.queued_epoch_ms,
        started_epoch_ms: b.started_epoch_ms,
    }
}

/// Wall-clock time now, milliseconds since the Unix epoch (for the remote
/// API's timestamps; durations use the monotonic clock).
pub fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(millis)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn builds_are_numbered_per_job_and_queue_ids_are_global() {
        let mut builds = Builds::default();
        let now = Instant::now();
        let a1 = builds.trigger("a", "linux", BTreeMap::new(), now);
        let b1 = builds.trigger("b", "linux", BTreeMap::new(), now);
        let a2 = builds.trigger("a", "linux", BTreeMap::new(), now);
        assert_eq!((a1.number, b1.number, a2.number), (1, 1, 2));
        let ids: Vec<u64> = builds.queued().map(|b| b.queue_id).collect();
        assert_eq!(ids, vec![1, 2, 3]);
    }

    #[tokio::test(start_paused = true)]
    async fn each_label_is_first_in_first_out() {
        let mut builds = Builds::default();
        let now = Instant::now();
        builds.trigger("a", "linux", BTreeMap::new(), now);
        let spot = builds.trigger("b", "spot", BTreeMap::new(), now);
        builds.trigger("c", "linux", BTreeMap::new(), now);
        assert_eq!(builds.labels_in_queue_order(), vec!["linux", "spot"]);
        assert_eq!(builds.start_next("spot", "agent-1", now), Some(spot));
        assert_eq!(builds.start_next("spot", "agent-1", now), None);
        assert_eq!(builds.waiting_per_label().get("linux"), Some(&2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_requeued_build_goes_to_the_front_marked_and_counts_every_wait() {
        let mut builds = Builds::default();
        let t0 = Instant::now();
        let first = builds.trigger("a", "spot", BTreeMap::new(), t0);
        builds.trigger("a", "spot", BTreeMap::new(), t0);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(
            builds
                .start_next("spot", "agent-1", Instant::now())
                .as_ref(),
            Some(&first)
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        builds.requeue_front(&first, Instant::now());
        tokio::time::advance(Duration::from_secs(3)).await;
        let again = builds.start_next("spot", "agent-2", Instant::now());
        assert_eq!(again.as_ref(), Some(&first), "the requeued build is first");
        let b = builds.get(&first).unwrap();
        assert_eq!(b.requeued, 1);
        assert_eq!(b.waited, Duration::from_secs(5));
        assert_eq!(b.agents, vec!["agent-1", "agent-2"]);
    }
}
