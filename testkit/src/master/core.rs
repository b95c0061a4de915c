//! `MasterCore`: the mock master as a pure state machine. It holds the
//! books (`books/`), the allocator and the one effect list, and the
//! helpers the calls and processes share: `emit` (an event for a
//! framework's stream), `report` (a reliable status update), `recover`
//! (resources back to the allocator), `rescind`, `withdraw_offers`. No IO,
//! no async, no clock: every method takes `now`, the time since the master
//! started.
//!
//! Its entry points are in `api.rs`, the call handlers in `calls/`, the
//! processes that span books in `processes/` (see the [module
//! docs](crate::master)).

use super::books::agents::AgentBook;
use super::books::frameworks::Connection;
use super::books::frameworks::FrameworkBook;
use super::books::offers::OfferBook;
use super::books::offers::Retirement;
use super::books::revocations::RevocationBook;
use super::books::tasks::is_terminal;
use super::books::tasks::TaskTable;
use super::books::tasks::Transitioned;
use super::books::updates::StatusUpdates;
use super::config::ConfigError;
use super::config::MasterConfig;
use super::effects::Event;
use super::effects::MasterInfo;
use super::effects::Outgoing;
use super::effects::StreamId;
use super::observe::telemetry::Telemetry;
use super::processes::schedule::Schedule;
use crate::allocator::Allocator;
use crate::allocator::AllocatorConfig;
use crate::allocator::AllocatorError;
use corral::AgentId;
use corral::FrameworkId;
use corral::OfferId;
use corral::Resources;
use corral::Source;
use corral::TaskId;
use corral::TaskStatus;
use std::collections::BTreeSet;
use std::time::Duration;
use tracing::debug;
use tracing::error;

/// The answer to a SUBSCRIBE that opens a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// The new stream (its events are in the outbox).
    pub stream: StreamId,
    /// The subscribed framework; `None` when the master refused it with an
    /// ERROR event (removed framework id) and closes the stream at once.
    pub framework: Option<FrameworkId>,
}

/// The mock master's state machine. See the module docs.
#[derive(Debug)]
pub struct MasterCore {
    config: MasterConfig,
    master_info: MasterInfo,
    pub(super) allocator: Allocator,
    pub(super) agents: AgentBook,
    pub(super) frameworks: FrameworkBook,
    pub(super) offers: OfferBook,
    pub(super) tasks: TaskTable,
    pub(super) updates: StatusUpdates,
    outbox: Vec<Outgoing>,
    pub(super) revocations: RevocationBook,
    /// Allocator refusals not yet taken (see [`MasterCore::take_broken`]).
    broken: Vec<Broken>,
    /// What changed since [`MasterCore::take_touched`], beyond what the
    /// tasks and offers books record themselves.
    touched: Touched,
    /// When the next allocation pass is due (the batch cycle, or sooner
    /// for freed resources).
    schedule: Schedule,
    stream_counter: u64,
    /// Counters for `/metrics` and the live page (`observe`).
    telemetry: Telemetry,
}

impl MasterCore {
    /// A master with the configured agents and role weights, at time zero.
    pub fn new(config: MasterConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut allocator = Allocator::new(AllocatorConfig {
            seed: config.seed,
            allocation_interval: config.allocation_interval,
            min_allocatable: config.min_allocatable.clone(),
        });
        for (role, weight) in &config.role_weights {
            allocator.set_weight(role, *weight)?;
        }
        super::config::apply_quotas(&mut allocator, &config.quotas)?;
        let mut agents = AgentBook::default();
        for agent in &config.agents {
            allocator.add_agent(agent.id.clone(), agent.resources.clone())?;
            agents.add(agent.clone())?;
        }
        let master_info = MasterInfo {
            id: config.master_id.clone(),
            port: 0,
            hostname: config.hostname.clone(),
            version: format!("corral-testkit {}", env!("CARGO_PKG_VERSION")),
        };
        Ok(Self {
            tasks: TaskTable::with_history(
                config.sim_step,
                config.max_completed_tasks_per_framework,
            ),
            updates: StatusUpdates::new(
                config.status_update_retry,
                config.status_update_retry_max,
                config.seed,
            ),
            schedule: Schedule::new(config.allocation_interval),
            frameworks: FrameworkBook::new(config.max_completed_frameworks),
            config,
            master_info,
            allocator,
            agents,
            offers: OfferBook::new(),
            outbox: Vec::new(),
            revocations: RevocationBook::default(),
            telemetry: Telemetry::default(),
            broken: Vec::new(),
            touched: Touched {
                all: true,
                ..Touched::default()
            },
            stream_counter: 0,
        })
    }

    /// Sets the port announced in `MasterInfo`.
    pub fn set_port(&mut self, port: u16) {
        self.master_info.port = port;
    }

    /// The configuration the master runs with.
    pub fn config(&self) -> &MasterConfig {
        &self.config
    }

    /// The agents book (read only: it changes through the core's
    /// operations, which keep the other books and the allocator in step).
    pub fn agents(&self) -> &AgentBook {
        &self.agents
    }

    /// The frameworks book (read only).
    pub fn frameworks(&self) -> &FrameworkBook {
        &self.frameworks
    }

    /// The tasks book (read only).
    pub fn tasks(&self) -> &TaskTable {
        &self.tasks
    }

    /// The id announced in `MasterInfo` from now on (a new leader after a
    /// failover announces a new id).
    pub fn set_master_id(&mut self, id: impl Into<String>) {
        self.master_info.id = id.into();
    }

    /// Makes simulated `agent` ignore the kill of `task` of `fw`: a
    /// property of the simulated agent (kept by the agents book), read when
    /// the kill comes. `false` for an unknown or local agent.
    pub fn simulated_agent_ignores_kill(
        &mut self,
        agent: &AgentId,
        fw: &FrameworkId,
        task: &TaskId,
    ) -> bool {
        self.agents.ignore_kill(agent, fw, task)
    }

    /// The allocator, for tests that make the books disagree on purpose.
    #[cfg(test)]
    pub(crate) fn allocator_mut(&mut self) -> &mut Allocator {
        &mut self.allocator
    }

    /// Takes what changed since the last call: the agents whose offers,
    /// tasks or allocations changed, whether an allocation cycle ran, and
    /// whether everything must be looked at (an agent came or went, an
    /// operator changed the allocator). The harness checks the invariants
    /// of what changed only.
    pub fn take_touched(&mut self) -> Touched {
        let mut touched = std::mem::take(&mut self.touched);
        touched.agents.append(&mut self.tasks.take_touched());
        touched.agents.append(&mut self.offers.take_touched());
        touched
    }

    /// Marks everything as changed (see [`MasterCore::take_touched`]).
    pub fn touch_all(&mut self) {
        self.touched.all = true;
    }

    /// Takes the allocator refusals met since the last call: each is a
    /// disagreement between the master's books and the allocator's.
    pub fn take_broken(&mut self) -> Vec<Broken> {
        std::mem::take(&mut self.broken)
    }

    /// Who this master says it is (id, port, host name, version).
    pub fn master_info(&self) -> &MasterInfo {
        &self.master_info
    }

    /// The counters behind `/metrics` and the live page.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// The counters behind `/metrics` and the live page (to turn them
    /// off, e.g. to measure their cost).
    pub fn telemetry_mut(&mut self) -> &mut Telemetry {
        &mut self.telemetry
    }

    /// Takes what is to be sent, in order.
    pub fn take_outbox(&mut self) -> Vec<Outgoing> {
        std::mem::take(&mut self.outbox)
    }

    /// Whether a task has a state change scheduled (starting, running for
    /// a while, stopping).
    pub fn has_pending_transitions(&self) -> bool {
        self.tasks.next_deadline().is_some()
    }

    /// Whether every status update has been acknowledged.
    pub fn all_updates_acknowledged(&self) -> bool {
        self.updates.is_empty()
    }

    /// The current stream of `fw`, if it is connected.
    pub fn stream_of(&self, fw: &FrameworkId) -> Option<StreamId> {
        self.frameworks.stream_of(fw).cloned()
    }

    /// Whether `fw` is subscribed or within its failover timeout.
    pub fn is_registered(&self, fw: &FrameworkId) -> bool {
        self.frameworks.contains(fw)
    }

    /// How many tasks the master has on its books: the live ones and the
    /// completed ones its bounded history keeps.
    pub fn task_count(&self) -> usize {
        self.tasks.live_count() + self.tasks.completed_count()
    }

    /// How many tasks were ever launched (never decreases).
    pub fn launch_count(&self) -> u64 {
        self.tasks.launches()
    }

    pub(super) fn connected(&self, now: Duration, stream: &StreamId) -> Connection {
        Connection::Connected {
            stream: stream.clone(),
            next_heartbeat: now.saturating_add(self.config.heartbeat_interval),
        }
    }

    /// Puts `effect` on the effect list.
    pub(super) fn push(&mut self, effect: Outgoing) {
        self.outbox.push(effect);
    }

    /// Keeps an allocator refusal (see [`MasterCore::take_broken`]).
    pub(super) fn note(&mut self, result: Result<(), AllocatorError>, what: &'static str) {
        allocator_ok(&mut self.broken, result, what);
    }

    /// Records that an allocation cycle ran.
    pub(super) fn mark_cycle(&mut self) {
        self.touched.cycle = true;
    }

    /// Whether an allocation pass is due at `now` (the batch cycle, or a
    /// pass for freed resources); the cycle's next time moves on when due.
    pub(super) fn allocation_due(&mut self, now: Duration) -> bool {
        self.schedule.take_due(now)
    }

    /// A pass ran at `now`: what was freed before it has been offered.
    pub(super) fn allocation_ran(&mut self, now: Duration) {
        self.schedule.ran(now);
    }

    /// How long from `now` until the next batch cycle.
    pub(super) fn until_next_cycle(&self, now: Duration) -> Duration {
        self.schedule.next_cycle().saturating_sub(now)
    }

    /// When the next allocation pass is due.
    pub(super) fn next_allocation(&self) -> Duration {
        self.schedule.next_due()
    }

    /// SUBSCRIBED for `fw`.
    pub(super) fn subscribed(&self, fw: &FrameworkId) -> Event {
        Event::Subscribed {
            framework: fw.clone(),
            heartbeat: self.config.heartbeat_interval,
            master: self.master_info.clone(),
        }
    }

    pub(super) fn next_stream_id(&mut self) -> StreamId {
        self.stream_counter += 1;
        StreamId::new(format!("stream-{}", self.stream_counter))
    }

    /// Queues `event` for `fw`'s stream; dropped if it is not connected.
    pub(super) fn emit(&mut self, fw: &FrameworkId, event: Event) {
        if let Some(stream) = self.frameworks.stream_of(fw) {
            self.outbox.push(Outgoing::Event {
                stream: stream.clone(),
                event: Box::new(event),
            });
        }
    }

    /// Sends a status update reliably (uuid, resent until acknowledged).
    pub(super) fn report(&mut self, now: Duration, fw: &FrameworkId, status: TaskStatus) {
        if let Some(status) = self.updates.push(now, fw, status) {
            self.emit(fw, Event::Update(status));
        }
    }

    pub(super) fn report_transition(&mut self, now: Duration, step: Transitioned) {
        let mut status = task_status(now, &step.task, step.state, Source::Executor);
        status.agent_id = Some(step.agent.clone());
        status.executor_id = step.executor.clone();
        status.message = step.message;
        debug!(framework = %step.framework, task = %step.task, state = ?step.state, "task state");
        if is_terminal(step.state) {
            self.agents
                .task_ended(&step.agent, &step.framework, &step.task);
        }
        self.report(now, &step.framework, status);
        self.recover(now, &step.framework, &step.agent, &step.freed, None);
    }

    /// Gives resources back to the allocator (with a filter for `refuse`).
    pub(super) fn recover(
        &mut self,
        now: Duration,
        fw: &FrameworkId,
        agent: &AgentId,
        resources: &Resources,
        refuse: Option<Duration>,
    ) {
        if resources.is_empty() {
            return;
        }
        self.touched.agents.insert(agent.clone());
        self.schedule.freed(now);
        let result = self.allocator.recover(now, fw, agent, resources, refuse);
        allocator_ok(&mut self.broken, result, "recover");
    }

    /// Rescinds an outstanding offer: RESCIND to its framework, resources
    /// recovered without a filter.
    pub(super) fn rescind(&mut self, now: Duration, offer: &OfferId) {
        if let Some(record) = self.offers.retire(offer, Retirement::Rescinded) {
            self.telemetry
                .offer_rescinded(now, &record.framework, &record.role, offer);
            self.emit(&record.framework, Event::Rescind(offer.clone()));
            self.recover(
                now,
                &record.framework,
                &record.agent,
                &record.resources,
                None,
            );
        }
    }

    /// Takes back every offer of `fw` without telling it (it is gone).
    pub(super) fn withdraw_offers(&mut self, now: Duration, fw: &FrameworkId) {
        for id in self.offers.of_framework(fw, None) {
            if let Some(record) = self.offers.retire(&id, Retirement::Withdrawn) {
                self.recover(now, fw, &record.agent, &record.resources, None);
            }
        }
    }
}

/// What changed in the core since it was last asked
/// ([`MasterCore::take_touched`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Touched {
    /// Everything may have changed: check it all.
    pub all: bool,
    /// An allocation cycle ran (the allocator's own books moved).
    pub cycle: bool,
    /// Agents whose offers, tasks or allocations changed.
    pub agents: BTreeSet<AgentId>,
}

/// How many allocator refusals the core keeps for the harness to read.
const BROKEN_KEPT: usize = 64;

/// Logs an allocator refusal and keeps it in `broken`: the master's books
/// and the allocator's disagree, which is a bug in the mock (the harness
/// reports it as a broken invariant).
fn allocator_ok(broken: &mut Vec<Broken>, result: Result<(), AllocatorError>, what: &'static str) {
    if let Err(err) = result {
        error!(%err, what, "allocator refused a master request (books disagree)");
        if broken.len() < BROKEN_KEPT {
            broken.push(Broken { what, error: err });
        }
    }
}

/// An allocator refusal of a request the master's books said was right:
/// a broken invariant.
#[derive(Debug, thiserror::Error)]
#[error("the allocator refused {what}: {error}")]
pub struct Broken {
    /// The request refused.
    pub what: &'static str,
    /// The allocator's refusal.
    #[source]
    pub error: AllocatorError,
}

/// A status with the fields every update has: the task, its state, the
/// time (seconds of master time) and who speaks for it.
pub(super) fn task_status(
    now: Duration,
    task: &TaskId,
    state: corral::TaskState,
    source: Source,
) -> TaskStatus {
    TaskStatus::new(task.clone(), state)
        .with_timestamp(now.as_secs_f64())
        .with_source(source)
}
