//! The job's state, free of any master: which partitions of which stages
//! are waiting, pending (ready to launch), running (one or more attempts)
//! or done (with their output and the agent that holds it); retries up to
//! `spark.task.maxFailures`, agent exclusion, speculative copies of
//! stragglers, and recomputation of shuffle output lost with its agent.
//! The scheduler backend ([`crate::backend`]) asks it what to run where
//! and tells it what happened.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use corral::AgentId;
use tokio::time::Instant;

use crate::conf::SparkConf;
use crate::dag::{JobSpec, StageKind};
use crate::work::{Output, Work};

/// A task ready to launch.
#[derive(Clone, Debug)]
pub struct Pending {
    /// Its stage.
    pub stage: usize,
    /// Its partition.
    pub partition: usize,
    /// When it became ready.
    pub ready_at: Instant,
    /// A speculative copy of a running attempt.
    pub speculative: bool,
    /// Not on this agent (where the original of a speculative copy runs).
    pub not_on: Option<AgentId>,
    /// Agents that hold its input (locality preference: a reduce task's
    /// shuffle input).
    pub prefer: Vec<AgentId>,
    /// Hosts that hold its input (locality preference: a map task's input).
    pub prefer_hosts: Vec<String>,
}

/// One attempt of a task, launched somewhere.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// Its stage.
    pub stage: usize,
    /// Its partition.
    pub partition: usize,
    /// 1-based, per partition.
    pub number: u32,
    /// Where it runs.
    pub agent: AgentId,
    /// A speculative copy.
    pub speculative: bool,
    /// When its task became ready.
    pub ready_at: Instant,
    /// When it was launched.
    pub launched_at: Instant,
    /// When it started running (None: not yet).
    pub running_at: Option<Instant>,
}

#[derive(Clone, Debug)]
struct Done {
    agent: AgentId,
    output: Arc<Output>,
}

#[derive(Debug, Default)]
struct StageRun {
    done: Vec<Option<Done>>,
    running: Vec<BTreeSet<u64>>,
    attempts: Vec<u32>,
    failures: Vec<u32>,
    submitted: bool,
    durations: Vec<Duration>,
    speculated: BTreeSet<usize>,
    done_count: usize,
}

/// Counters for the report.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Failed attempts that were retried.
    pub retries: u32,
    /// Attempts ended by their agent's or executor's loss or a revocation
    /// (not counted as failures).
    pub requeued: u32,
    /// Speculative copies launched.
    pub speculative_launched: u32,
    /// Partitions whose speculative copy finished first.
    pub speculative_wins: u32,
    /// Finished partitions run again because their agent was lost.
    pub recomputed: u32,
    /// Agents excluded after failures.
    pub excluded: BTreeSet<AgentId>,
    /// Time from ready to running, of every attempt that ran.
    pub ready_to_running: Vec<Duration>,
    /// Time from launch to running, of every attempt that ran.
    pub launch_to_running: Vec<Duration>,
    /// Sum of task run times (cpu-seconds with `spark.task.cpus`).
    pub busy: Duration,
}

/// The job's state.
pub struct Engine {
    job: JobSpec,
    stages: Vec<StageRun>,
    pending: VecDeque<Pending>,
    attempts: BTreeMap<u64, Attempt>,
    next_attempt: u64,
    agent_failures: BTreeMap<AgentId, u32>,
    max_failures: u32,
    exclude_after: Option<u32>,
    locality_wait: Duration,
    speculation: Option<(f64, f64)>,
    failed: Option<String>,
    stats: Stats,
}

impl Engine {
    /// The job, configured by `conf`, its first stages ready at `now`.
    pub fn new(job: JobSpec, conf: &SparkConf, now: Instant) -> Engine {
        let stages = job
            .stages
            .iter()
            .map(|s| StageRun {
                done: vec![None; s.partitions],
                running: vec![BTreeSet::new(); s.partitions],
                attempts: vec![0; s.partitions],
                failures: vec![0; s.partitions],
                ..StageRun::default()
            })
            .collect();
        let mut engine = Engine {
            job,
            stages,
            pending: VecDeque::new(),
            attempts: BTreeMap::new(),
            next_attempt: 1,
            agent_failures: BTreeMap::new(),
            max_failures: conf.task_max_failures,
            exclude_after: conf
                .exclude_on_failure
                .then_some(conf.exclude_after_failures),
            locality_wait: conf.locality_wait,
            speculation: conf
                .speculation
                .then_some((conf.speculation_quantile, conf.speculation_multiplier)),
            failed: None,
            stats: Stats::default(),
        };
        engine.submit_ready(now);
        engine
    }

    /// The job.
    pub fn job(&self) -> &JobSpec {
        &self.job
    }

    fn stage_complete(&self, s: usize) -> bool {
        self.stages[s].done_count == self.job.stages[s].partitions
    }

    /// Queues every not-done, not-running partition of every stage whose
    /// parents are complete and that is not queued yet.
    fn submit_ready(&mut self, now: Instant) {
        for s in 0..self.stages.len() {
            if self.stages[s].submitted || self.stage_complete(s) {
                continue;
            }
            if !self.job.stages[s]
                .parents
                .iter()
                .all(|&p| self.stage_complete(p))
            {
                continue;
            }
            self.stages[s].submitted = true;
            for p in 0..self.job.stages[s].partitions {
                let run = &self.stages[s];
                if run.done[p].is_none() && run.running[p].is_empty() {
                    let prefer = self.preferred(s, p);
                    let prefer_hosts = self.input_hosts(s, p);
                    self.pending.push_back(Pending {
                        stage: s,
                        partition: p,
                        ready_at: now,
                        speculative: false,
                        not_on: None,
                        prefer,
                        prefer_hosts,
                    });
                }
            }
        }
    }

    /// Reduce tasks prefer the agents holding at least a fifth of their
    /// input (as Spark's reducer locality: spread input means no preference,
    /// so no wait).
    fn preferred(&self, s: usize, _p: usize) -> Vec<AgentId> {
        let mut by_agent: BTreeMap<&AgentId, usize> = BTreeMap::new();
        let mut total = 0;
        for &parent in &self.job.stages[s].parents {
            for d in self.stages[parent].done.iter().flatten() {
                *by_agent.entry(&d.agent).or_default() += 1;
                total += 1;
            }
        }
        if by_agent.len() < 2 {
            return Vec::new();
        }
        by_agent
            .into_iter()
            .filter(|(_, n)| *n * 5 >= total)
            .map(|(a, _)| a.clone())
            .collect()
    }

    /// The hosts holding the input of partition `p` of stage `s`.
    fn input_hosts(&self, s: usize, p: usize) -> Vec<String> {
        self.job.stages[s]
            .input_hosts
            .get(p)
            .cloned()
            .unwrap_or_default()
    }

    /// Whether `p` may run on `agent` (at `host`) now: it has no
    /// preference, the agent or host holds its input, or it has waited
    /// `spark.locality.wait` for one that does.
    fn local_enough(&self, p: &Pending, agent: &AgentId, host: &str, now: Instant) -> bool {
        (p.prefer.is_empty() && p.prefer_hosts.is_empty())
            || p.prefer.contains(agent)
            || p.prefer_hosts.iter().any(|h| h == host)
            || now.saturating_duration_since(p.ready_at) >= self.locality_wait
    }

    /// How long until the first pending task waiting for locality may run
    /// anywhere (None: none waits). Looks at a bounded number of tasks.
    pub fn locality_wait_left(&self, now: Instant) -> Option<Duration> {
        self.pending
            .iter()
            .take(4096)
            .filter(|p| !(p.prefer.is_empty() && p.prefer_hosts.is_empty()))
            .map(|p| (p.ready_at + self.locality_wait).saturating_duration_since(now))
            .min()
    }

    /// Whether a pending task holds out (within its locality wait) for
    /// `agent` or `host`. Looks at a bounded number of tasks.
    pub fn waits_for(&self, agent: &AgentId, host: &str, now: Instant) -> bool {
        self.pending.iter().take(4096).any(|p| {
            (p.prefer.contains(agent) || p.prefer_hosts.iter().any(|h| h == host))
                && now.saturating_duration_since(p.ready_at) < self.locality_wait
        })
    }

    /// Tasks waiting to launch.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// True when an agent may get no more work.
    pub fn excluded(&self, agent: &AgentId) -> bool {
        self.stats.excluded.contains(agent)
    }

    /// The next task to run on `agent`, if one may run there now: not
    /// excluded, not beside its own original, and local or past its
    /// locality wait. Looks at a bounded number of pending tasks, and
    /// takes one whose input is on this agent or host before one that
    /// merely may run anywhere.
    pub fn take_for(&mut self, agent: &AgentId, host: &str, now: Instant) -> Option<Pending> {
        if self.excluded(agent) || self.failed.is_some() {
            return None;
        }
        let window = || self.pending.iter().take(4096);
        let local = |p: &Pending| {
            p.not_on.as_ref() != Some(agent)
                && (p.prefer.contains(agent) || p.prefer_hosts.iter().any(|h| h == host))
        };
        let index = window().position(local).or_else(|| {
            window().position(|p| {
                p.not_on.as_ref() != Some(agent) && self.local_enough(p, agent, host, now)
            })
        })?;
        self.pending.remove(index)
    }

    /// Puts a task taken with [`Engine::take_for`] back at the front (its
    /// launch did not happen).
    pub fn untake(&mut self, pending: Pending) {
        self.pending.push_front(pending);
    }

    /// The work of a task, built from its stage and, for a reduce, its
    /// parents' outputs. A speculative copy of a synthetic task does not
    /// straggle (the straggling was its attempt's, not its data's).
    pub fn work_of(&self, pending: &Pending) -> Work {
        let (stage, partition) = (pending.stage, pending.partition);
        match &self.job.stages[stage].kind {
            StageKind::Synthetic { ms, base } => Work::Sleep {
                ms: if pending.speculative {
                    base[partition]
                } else {
                    ms[partition]
                },
            },
            StageKind::WordMap { parts, reducers } => Work::Map {
                text: parts[partition].clone(),
                reducers: *reducers,
            },
            StageKind::WordReduce => {
                let mut pairs = Vec::new();
                for &parent in &self.job.stages[stage].parents {
                    for d in self.stages[parent].done.iter().flatten() {
                        if let Output::Buckets(b) = d.output.as_ref() {
                            if let Some(bucket) = b.get(partition) {
                                pairs.extend(bucket.iter().cloned());
                            }
                        }
                    }
                }
                Work::Reduce { pairs }
            }
        }
    }

    /// True when `output` is what a task of `stage` gives (a map task
    /// buckets, a reduce counts, a synthetic task nothing); an executor
    /// answering otherwise has failed the attempt.
    pub fn output_fits(&self, stage: usize, output: &Output) -> bool {
        matches!(
            (&self.job.stages[stage].kind, output),
            (StageKind::Synthetic { .. }, Output::Done)
                | (StageKind::WordMap { .. }, Output::Buckets(_))
                | (StageKind::WordReduce, Output::Counts(_))
        )
    }

    /// Records the launch of a pending task on `agent`; returns its attempt id.
    pub fn launched(&mut self, pending: Pending, agent: &AgentId) -> u64 {
        let id = self.next_attempt;
        self.next_attempt += 1;
        let run = &mut self.stages[pending.stage];
        run.attempts[pending.partition] += 1;
        run.running[pending.partition].insert(id);
        if pending.speculative {
            self.stats.speculative_launched += 1;
        }
        self.attempts.insert(
            id,
            Attempt {
                stage: pending.stage,
                partition: pending.partition,
                number: run.attempts[pending.partition],
                agent: agent.clone(),
                speculative: pending.speculative,
                ready_at: pending.ready_at,
                launched_at: Instant::now(),
                running_at: None,
            },
        );
        id
    }

    /// An attempt, while it is known.
    pub fn attempt(&self, id: u64) -> Option<&Attempt> {
        self.attempts.get(&id)
    }

    /// The attempt started running.
    pub fn running(&mut self, id: u64, now: Instant) {
        if let Some(a) = self.attempts.get_mut(&id) {
            if a.running_at.is_none() {
                a.running_at = Some(now);
                self.stats
                    .ready_to_running
                    .push(now.saturating_duration_since(a.ready_at));
                self.stats
                    .launch_to_running
                    .push(now.saturating_duration_since(a.launched_at));
            }
        }
    }

    /// The attempt finished with `output`, having run for `ran` when that
    /// is known (a simulated task's time; otherwise the time from running
    /// to now is taken). Returns the other attempts of the same partition,
    /// to kill (the first to finish wins).
    pub fn finished(
        &mut self,
        id: u64,
        output: Output,
        ran: Option<Duration>,
        now: Instant,
    ) -> Vec<u64> {
        let Some(a) = self.attempts.remove(&id) else {
            return Vec::new();
        };
        let ran = ran.or_else(|| a.running_at.map(|at| now.saturating_duration_since(at)));
        if let Some(ran) = ran {
            self.stats.busy += ran;
        }
        let run = &mut self.stages[a.stage];
        run.running[a.partition].remove(&id);
        if run.done[a.partition].is_some() {
            return Vec::new();
        }
        run.done[a.partition] = Some(Done {
            agent: a.agent.clone(),
            output: Arc::new(output),
        });
        run.done_count += 1;
        if let Some(ran) = ran {
            run.durations.push(ran);
        }
        let losers: Vec<u64> = std::mem::take(&mut run.running[a.partition])
            .into_iter()
            .collect();
        if a.speculative {
            self.stats.speculative_wins += 1;
        }
        // A speculative copy still queued is not needed any more (only a
        // partition that was speculated can have one: no scan otherwise).
        if run.speculated.contains(&a.partition) {
            self.pending
                .retain(|p| !(p.stage == a.stage && p.partition == a.partition));
        }
        for l in &losers {
            self.attempts.remove(l);
        }
        if self.stage_complete(a.stage) {
            self.submit_ready(now);
        }
        losers
    }

    /// The attempt ended without output. `counts`: a failure of the task
    /// (toward `spark.task.maxFailures` and the agent's exclusion), not a
    /// loss of its agent, executor or resources.
    pub fn failed(&mut self, id: u64, message: &str, counts: bool, now: Instant) {
        let Some(a) = self.attempts.remove(&id) else {
            return;
        };
        let run = &mut self.stages[a.stage];
        run.running[a.partition].remove(&id);
        if run.done[a.partition].is_some() {
            return;
        }
        if counts {
            run.failures[a.partition] += 1;
            let failures = run.failures[a.partition];
            let on_agent = self.agent_failures.entry(a.agent.clone()).or_default();
            *on_agent += 1;
            if self.exclude_after.is_some_and(|n| *on_agent >= n)
                && self.stats.excluded.insert(a.agent.clone())
            {
                tracing::warn!(agent = ?a.agent.as_str(), failures = *on_agent, "agent excluded after failed tasks");
            }
            if failures >= self.max_failures {
                let reason: String = message.chars().take(200).collect();
                self.failed = Some(format!(
                    "task {} of {} failed {failures} times (spark.task.maxFailures={}); most recent failure on {}: {reason}",
                    a.partition, self.job.stages[a.stage].name, self.max_failures, a.agent
                ));
                self.pending.clear();
                return;
            }
            self.stats.retries += 1;
        } else {
            self.stats.requeued += 1;
        }
        let run = &self.stages[a.stage];
        let queued = run.speculated.contains(&a.partition)
            && self
                .pending
                .iter()
                .any(|p| p.stage == a.stage && p.partition == a.partition);
        if run.running[a.partition].is_empty() && !queued && run.submitted {
            let prefer = self.preferred(a.stage, a.partition);
            let prefer_hosts = self.input_hosts(a.stage, a.partition);
            self.pending.push_front(Pending {
                stage: a.stage,
                partition: a.partition,
                ready_at: now,
                speculative: false,
                not_on: None,
                prefer,
                prefer_hosts,
            });
        }
    }

    /// `agent` is gone: the shuffle output it held for stages still read
    /// by an unfinished stage is lost and recomputed, and the stages that
    /// read it wait for it again. Running attempts there are the caller's
    /// to report (their statuses say they were lost).
    pub fn agent_lost(&mut self, agent: &AgentId, now: Instant) {
        let mut lost_stages = Vec::new();
        for s in 0..self.stages.len() {
            let needed = self
                .job
                .stages
                .iter()
                .enumerate()
                .any(|(c, child)| child.parents.contains(&s) && !self.stage_complete(c));
            if !needed {
                continue;
            }
            let run = &mut self.stages[s];
            for p in 0..run.done.len() {
                if run.done[p].as_ref().is_some_and(|d| &d.agent == agent) {
                    run.done[p] = None;
                    run.done_count -= 1;
                    self.stats.recomputed += 1;
                }
            }
            if run.done_count < self.job.stages[s].partitions {
                run.submitted = false;
                lost_stages.push(s);
            }
        }
        if lost_stages.is_empty() {
            return;
        }
        tracing::warn!(agent = ?agent.as_str(), stages = ?lost_stages, "agent lost: recomputing its shuffle output");
        // Stages reading a lost one wait for it again.
        for c in 0..self.stages.len() {
            if self.job.stages[c]
                .parents
                .iter()
                .any(|p| lost_stages.contains(p))
            {
                self.stages[c].submitted = false;
                self.pending.retain(|p| p.stage != c);
            }
        }
        self.submit_ready(now);
    }

    /// Queues speculative copies of attempts running much longer than
    /// their stage's finished tasks; returns how many were queued.
    pub fn speculate(&mut self, now: Instant) -> usize {
        let Some((quantile, multiplier)) = self.speculation else {
            return 0;
        };
        let mut queued = 0;
        for s in 0..self.stages.len() {
            let total = self.job.stages[s].partitions;
            let run = &self.stages[s];
            if run.done_count == total
                || (run.done_count as f64) < quantile * total as f64
                || run.durations.is_empty()
            {
                continue;
            }
            let mut sorted = run.durations.clone();
            sorted.sort();
            let threshold = sorted[sorted.len() / 2]
                .mul_f64(multiplier)
                .max(Duration::from_millis(1));
            let mut copies = Vec::new();
            for p in 0..total {
                if run.done[p].is_some() || run.speculated.contains(&p) || run.running[p].len() != 1
                {
                    continue;
                }
                let Some(a) = run.running[p]
                    .iter()
                    .next()
                    .and_then(|id| self.attempts.get(id))
                else {
                    continue;
                };
                if a.running_at
                    .is_some_and(|at| now.saturating_duration_since(at) > threshold)
                {
                    copies.push((p, a.agent.clone()));
                }
            }
            for (p, agent) in copies {
                self.stages[s].speculated.insert(p);
                self.pending.push_front(Pending {
                    stage: s,
                    partition: p,
                    ready_at: now,
                    speculative: true,
                    not_on: Some(agent),
                    prefer: Vec::new(),
                    prefer_hosts: Vec::new(),
                });
                queued += 1;
            }
        }
        queued
    }

    /// True when speculation is on and some stage is running.
    pub fn speculating(&self) -> bool {
        self.speculation.is_some() && !self.attempts.is_empty()
    }

    /// Fails the job for a reason outside any one task (e.g. executors
    /// that keep failing to start).
    pub fn abort(&mut self, reason: &str) {
        if self.failed.is_none() {
            self.failed = Some(reason.chars().take(300).collect());
            self.pending.clear();
        }
    }

    /// Why the job failed, once it has.
    pub fn failure(&self) -> Option<&str> {
        self.failed.as_deref()
    }

    /// True when every stage is complete.
    pub fn is_done(&self) -> bool {
        (0..self.stages.len()).all(|s| self.stage_complete(s))
    }

    /// Attempt ids running now.
    pub fn running_attempts(&self) -> impl Iterator<Item = u64> + '_ {
        self.attempts.keys().copied()
    }

    /// (done, total) per stage.
    pub fn progress(&self) -> Vec<(usize, usize)> {
        self.stages
            .iter()
            .zip(&self.job.stages)
            .map(|(r, s)| (r.done_count, s.partitions))
            .collect()
    }

    /// Outputs of a stage's partitions (None where not done).
    pub fn outputs(&self, stage: usize) -> Vec<Option<&Output>> {
        self.stages[stage]
            .done
            .iter()
            .map(|d| d.as_ref().map(|d| d.output.as_ref()))
            .collect()
    }

    /// Where each partition of a stage was computed (None where not done).
    pub fn computed_on(&self, stage: usize) -> Vec<Option<&AgentId>> {
        self.stages[stage]
            .done
            .iter()
            .map(|d| d.as_ref().map(|d| &d.agent))
            .collect()
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
}
