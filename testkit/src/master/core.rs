//! `MasterCore`: the mock master as a pure state machine. It owns the
//! framework records and drives the allocator, the offer book, the task
//! table and the status update queues; it answers subscriptions and calls,
//! runs the timers in [`MasterCore::tick`], and leaves what must be sent in an
//! outbox. No IO, no async, no clock: every method takes `now`, the time
//! since the master started.
//!
//! The call handlers live in `calls.rs` (simple calls) and `accept.rs`
//! (ACCEPT and launching tasks).

use corral_proto::convert::*;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use corral::{AgentId, FrameworkId, OfferId, Resources, TaskId};
use corral_proto::pb;
use corral_proto::pb::call::Type as CallType;
use corral_proto::pb::task_status::Source;
use tracing::{debug, error, info, warn};

use crate::allocator::{Allocator, AllocatorConfig, AllocatorError};

use super::books::agents::AgentBook;
use super::books::frameworks::{Connection, FrameworkBook};
use super::books::offers::{OfferBook, OfferRecord, Retirement};
use super::books::revocations::RevocationBook;
use super::books::tasks::{is_terminal, TaskTable, Transitioned};
use super::books::updates::StatusUpdates;
use super::config::{AgentSpec, ConfigError, MasterConfig};
use super::error::CallError;
use super::outbox::{self, Outgoing, StreamId};
use super::validate;

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
    pub(super) config: MasterConfig,
    pub(super) master_info: pb::MasterInfo,
    pub(super) allocator: Allocator,
    pub(super) agents: AgentBook,
    pub(super) frameworks: FrameworkBook,
    pub(super) offers: OfferBook,
    pub(super) tasks: TaskTable,
    pub(super) updates: StatusUpdates,
    pub(super) outbox: Vec<Outgoing>,
    pub(super) revocations: RevocationBook,
    /// Allocator refusals not yet taken (see [`MasterCore::take_broken`]).
    pub(super) broken: Vec<Broken>,
    /// What changed since [`MasterCore::take_touched`], beyond what the
    /// tasks and offers books record themselves.
    pub(super) touched: Touched,
    next_allocation: Duration,
    stream_counter: u64,
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
        let master_info = pb::MasterInfo {
            id: config.master_id.clone(),
            ip: u32::from(Ipv4Addr::LOCALHOST),
            port: 0,
            hostname: Some(config.hostname.clone()),
            version: Some(format!("corral-testkit {}", env!("CARGO_PKG_VERSION"))),
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
            next_allocation: config.allocation_interval,
            frameworks: FrameworkBook::new(config.max_completed_frameworks),
            config,
            master_info,
            allocator,
            agents,
            offers: OfferBook::new(),
            outbox: Vec::new(),
            revocations: RevocationBook::default(),
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
        self.master_info.port = u32::from(port);
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

    /// Handles a non-SUBSCRIBE call sent with `mesos-stream-id` = `stream`.
    pub fn handle(
        &mut self,
        now: Duration,
        stream: Option<&str>,
        call: pb::Call,
    ) -> Result<(), CallError> {
        let kind = call.r#type;
        let framework = call.framework_id.as_ref().map(|f| f.value.clone());
        let result = self.try_handle(now, stream, call);
        self.sweep_revocations();
        if let Err(err) = &result {
            let kind = kind
                .and_then(|k| CallType::try_from(k).ok())
                .map_or("?", |k| k.as_str_name());
            warn!(call = kind, framework = ?framework, %err, "call refused");
        }
        result
    }

    fn try_handle(
        &mut self,
        now: Duration,
        stream: Option<&str>,
        call: pb::Call,
    ) -> Result<(), CallError> {
        let kind = validate::call_type(&call)?;
        if kind == CallType::Subscribe {
            return Err(CallError::WrongRpc {
                call: "SUBSCRIBE",
                rpc: "Subscribe",
            });
        }
        let fw = call
            .framework_id
            .as_ref()
            .map(FrameworkId::from)
            .ok_or(CallError::MissingFrameworkId)?;
        let stream = stream.ok_or(CallError::MissingStreamId)?;
        self.check_stream(&fw, stream)?;
        let missing = |field: &'static str| CallError::MissingPayload {
            call: kind.as_str_name(),
            field,
        };
        match kind {
            CallType::Teardown => {
                self.remove_framework(now, &fw, "torn down by the framework");
                Ok(())
            }
            CallType::Accept => {
                self.accept(now, &fw, call.accept.ok_or_else(|| missing("accept"))?)
            }
            CallType::Decline => {
                self.decline(now, &fw, call.decline.ok_or_else(|| missing("decline"))?)
            }
            CallType::Revive => self.revive(now, &fw, call.revive.unwrap_or_default()),
            CallType::Suppress => self.suppress(&fw, call.suppress.unwrap_or_default()),
            CallType::Kill => self.kill(now, &fw, call.kill.ok_or_else(|| missing("kill"))?),
            CallType::Acknowledge => self.acknowledge(
                now,
                &fw,
                call.acknowledge.ok_or_else(|| missing("acknowledge"))?,
            ),
            CallType::Reconcile => self.reconcile(now, &fw, call.reconcile.unwrap_or_default()),
            CallType::UpdateFramework => self.update_framework(
                now,
                &fw,
                call.update_framework
                    .ok_or_else(|| missing("update_framework"))?,
            ),
            CallType::Request => self.request(now, &fw, call.request.unwrap_or_default()),
            CallType::AcceptInverseOffers => self.inverse_offer_answer(
                &fw,
                call.accept_inverse_offers
                    .map(|c| c.inverse_offer_ids)
                    .unwrap_or_default(),
                true,
            ),
            CallType::DeclineInverseOffers => self.inverse_offer_answer(
                &fw,
                call.decline_inverse_offers
                    .map(|c| c.inverse_offer_ids)
                    .unwrap_or_default(),
                false,
            ),
            CallType::Shutdown | CallType::Message | CallType::Unknown | CallType::Subscribe => {
                Err(CallError::UnsupportedCall(kind.as_str_name()))
            }
        }
    }

    fn check_stream(&self, fw: &FrameworkId, stream: &str) -> Result<(), CallError> {
        let not_subscribed = || CallError::NotSubscribed {
            framework: fw.clone(),
        };
        match self.frameworks.get(fw).map(|r| &r.connection) {
            Some(Connection::Connected {
                stream: current, ..
            }) if current.as_str() == stream => Ok(()),
            Some(Connection::Connected {
                stream: current, ..
            }) => Err(CallError::StreamMismatch {
                framework: fw.clone(),
                given: stream.to_owned(),
                current: current.to_string(),
            }),
            Some(Connection::Disconnected { .. }) | None => Err(not_subscribed()),
        }
    }

    /// The client dropped `stream`. If it is a framework's current stream,
    /// the framework becomes inactive, its offers are taken back and its
    /// failover timer starts. Stale streams are ignored.
    pub fn disconnect(&mut self, now: Duration, stream: &StreamId) {
        let Some(id) = self.frameworks.by_stream(stream) else {
            return;
        };
        if let Some(failover_deadline) = self.frameworks.disconnect(now, &id) {
            info!(framework = %id, %stream, ?failover_deadline, "framework disconnected");
        }
        allocator_ok(
            &mut self.broken,
            self.allocator.activate_framework(&id, false),
            "deactivate",
        );
        self.withdraw_offers(now, &id);
        self.updates.pause(&id);
    }

    /// Adds an agent; an allocation runs at once.
    pub fn add_agent(&mut self, now: Duration, agent: AgentSpec) -> Result<(), ConfigError> {
        agent.validate()?;
        if self.agents.contains(&agent.id) {
            return Err(ConfigError::DuplicateAgent(agent.id));
        }
        self.allocator
            .add_agent(agent.id.clone(), agent.resources.clone())?;
        info!(agent = %agent.id, resources = %agent.resources, "agent added");
        self.touched.all = true;
        self.agents.add(agent)?;
        self.allocate_now(now);
        Ok(())
    }

    /// Runs every timer due at `now`: task transitions, failover timeouts,
    /// offer timeouts, status update resends, the allocation cycle and
    /// heartbeats, in that order.
    pub fn tick(&mut self, now: Duration) {
        for step in self.tasks.advance(now) {
            self.report_transition(now, step);
        }
        self.enforce_revocations(now);
        self.run_maintenance(now);
        self.sweep_revocations();
        for id in self.frameworks.expired(now) {
            self.remove_framework(now, &id, "failover timeout expired");
        }
        for offer in self.offers.expired(now) {
            debug!(%offer, "offer timed out");
            self.rescind(now, &offer);
        }
        for (fw, status) in self.updates.due(now) {
            self.emit(&fw, outbox::update(status));
        }
        if self.next_allocation <= now {
            self.allocate_now(now);
            self.next_allocation = self
                .next_allocation
                .saturating_add(self.config.allocation_interval);
            if self.next_allocation <= now {
                self.next_allocation = now.saturating_add(self.config.allocation_interval);
            }
        }
        let interval = self.config.heartbeat_interval;
        for stream in self.frameworks.due_heartbeats(now, interval) {
            self.outbox.push(Outgoing::Event {
                stream,
                event: Box::new(outbox::heartbeat()),
            });
        }
    }

    /// When [`MasterCore::tick`] next has something to do.
    pub fn next_deadline(&self) -> Option<Duration> {
        [
            Some(self.next_allocation),
            self.tasks.next_deadline(),
            self.updates.next_deadline(),
            self.offers.next_expiry(),
            self.revocations.next_deadline(),
            self.agents.next_window_deadline(),
            self.frameworks.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
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

    /// Takes what is to be sent, in order.
    pub fn take_outbox(&mut self) -> Vec<Outgoing> {
        std::mem::take(&mut self.outbox)
    }

    // ---- helpers shared by the call handlers ----

    pub(super) fn connected(&self, now: Duration, stream: &StreamId) -> Connection {
        Connection::Connected {
            stream: stream.clone(),
            next_heartbeat: now.saturating_add(self.config.heartbeat_interval),
        }
    }

    pub(super) fn next_stream_id(&mut self) -> StreamId {
        self.stream_counter += 1;
        StreamId::new(format!("stream-{}", self.stream_counter))
    }

    /// Queues `event` for `fw`'s stream; dropped if it is not connected.
    pub(super) fn emit(&mut self, fw: &FrameworkId, event: pb::Event) {
        if let Some(stream) = self.frameworks.stream_of(fw) {
            self.outbox.push(Outgoing::Event {
                stream: stream.clone(),
                event: Box::new(event),
            });
        }
    }

    /// Sends a status update reliably (uuid, resent until acknowledged).
    pub(super) fn report(&mut self, now: Duration, fw: &FrameworkId, status: pb::TaskStatus) {
        if let Some(status) = self.updates.push(now, fw, status) {
            self.emit(fw, outbox::update(status));
        }
    }

    pub(super) fn report_transition(&mut self, now: Duration, step: Transitioned) {
        let mut status = task_status(now, &step.task, step.state, Source::Executor);
        status.agent_id = Some(step.agent.to_pb());
        status.executor_id = step.executor.as_ref().map(|e| e.to_pb());
        status.message = step.message;
        debug!(framework = %step.framework, task = %step.task, state = step.state.as_str_name(), "task state");
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
        let result = self.allocator.recover(now, fw, agent, resources, refuse);
        allocator_ok(&mut self.broken, result, "recover");
    }

    /// Rescinds an outstanding offer: RESCIND to its framework, resources
    /// recovered without a filter.
    pub(super) fn rescind(&mut self, now: Duration, offer: &OfferId) {
        if let Some(record) = self.offers.retire(offer, Retirement::Rescinded) {
            self.emit(&record.framework, outbox::rescind(offer));
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

    /// Removes a framework for good: offers rescinded, tasks killed (no
    /// updates), resources recovered, stream closed, id remembered.
    pub(super) fn remove_framework(&mut self, now: Duration, fw: &FrameworkId, why: &str) {
        for id in self.offers.of_framework(fw, None) {
            self.rescind(now, &id);
        }
        let Some(record) = self.frameworks.remove(fw) else {
            return;
        };
        self.stop_local_framework(fw);
        self.forget_revocations(fw);
        self.agents.forget_framework(fw);
        self.tasks.remove_framework(fw);
        self.updates.remove_framework(fw);
        allocator_ok(
            &mut self.broken,
            self.allocator.remove_framework(fw),
            "remove_framework",
        );
        self.sync_requests(&record.requests.keys().cloned().collect());
        if let Some(stream) = record.stream() {
            self.outbox.push(Outgoing::Close {
                stream: stream.clone(),
            });
        }
        info!(framework = %fw, why, "framework removed");
    }

    /// Runs an allocation cycle and turns each allocation into an offer.
    pub(super) fn allocate_now(&mut self, now: Duration) {
        self.touched.cycle = true;
        self.reclaim(now);
        self.send_maintenance_offers();
        // One OFFERS event per framework per cycle, holding all its offers.
        let mut batches: BTreeMap<FrameworkId, Vec<pb::Offer>> = BTreeMap::new();
        for allocation in self.allocator.allocate(now) {
            let connected = self.frameworks.stream_of(&allocation.framework).is_some();
            let Some(agent) = self.agents.spec(&allocation.agent).filter(|_| connected) else {
                error!(framework = %allocation.framework, agent = %allocation.agent,
                    "allocation to a disconnected framework or unknown agent; recovering");
                self.recover(
                    now,
                    &allocation.framework,
                    &allocation.agent,
                    &allocation.resources,
                    None,
                );
                continue;
            };
            let id = self.offers.next_id();
            let offer = pb::Offer {
                id: id.to_pb(),
                framework_id: allocation.framework.to_pb(),
                agent_id: allocation.agent.to_pb(),
                hostname: agent.hostname.clone(),
                allocation_info: Some(pb::resource::AllocationInfo {
                    role: Some(allocation.role.as_str().to_owned()),
                }),
                resources: allocation.resources.to_pb(),
                attributes: agent
                    .attributes
                    .iter()
                    .map(|(k, v)| text_attribute(k, v))
                    .collect(),
                unavailability: self.unavailability(&allocation.agent),
                ..Default::default()
            };
            debug!(offer = %id, framework = %allocation.framework, agent = %allocation.agent,
                role = %allocation.role, resources = %allocation.resources, "offer");
            self.offers.insert(OfferRecord {
                id,
                framework: allocation.framework.clone(),
                agent: allocation.agent,
                role: allocation.role,
                resources: allocation.resources,
                expires_at: self.config.offer_timeout.and_then(|t| now.checked_add(t)),
            });
            batches.entry(allocation.framework).or_default().push(offer);
        }
        for (fw, offers) in batches {
            self.emit(&fw, outbox::offers(offers));
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
pub(super) fn allocator_ok(
    broken: &mut Vec<Broken>,
    result: Result<(), AllocatorError>,
    what: &'static str,
) {
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

/// A TaskStatus with the fields every update has.
pub(super) fn task_status(
    now: Duration,
    task: &TaskId,
    state: pb::TaskState,
    source: Source,
) -> pb::TaskStatus {
    pb::TaskStatus {
        task_id: task.to_pb(),
        state: state as i32,
        timestamp: Some(now.as_secs_f64()),
        source: Some(source as i32),
        ..Default::default()
    }
}

fn text_attribute(name: &str, value: &str) -> pb::Attribute {
    pb::Attribute {
        name: name.to_owned(),
        r#type: pb::value::Type::Text as i32,
        text: Some(pb::value::Text {
            value: value.to_owned(),
        }),
        ..Default::default()
    }
}
