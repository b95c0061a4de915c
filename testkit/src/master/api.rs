//! The core's entry points, one per input, on plain types: `open` (a
//! decoded SUBSCRIBE) and `apply` (every other decoded call: one handler
//! in `calls/`; the wire's calls are decoded in `edge.rs`), [`MasterCore::tick`] (the timers, through the
//! processes in `processes/`), [`MasterCore::disconnect`],
//! [`MasterCore::add_agent`], and the operations of the operator, of
//! maintenance, of agent loss and of local agents. Each forwards to the call
//! or process that owns the work.

use crate::agent::AgentReport;
use crate::agent::SandboxPaths;
use crate::allocator::Quota;
use crate::master::books::agents::maintenance::Maintenance;
use crate::master::books::agents::maintenance::MaintenanceError;
use crate::master::books::agents::maintenance::Window;
use crate::master::books::agents::AgentError;
use crate::master::books::frameworks::Connection;
use crate::master::calls::accept;
use crate::master::calls::acknowledge;
use crate::master::calls::decline;
use crate::master::calls::inverse_offers;
use crate::master::calls::kill;
use crate::master::calls::reconcile;
use crate::master::calls::request;
use crate::master::calls::subscribe;
use crate::master::calls::suppress_revive;
use crate::master::calls::teardown;
use crate::master::calls::update_framework;
use crate::master::config::AgentSpec;
use crate::master::config::ConfigError;
use crate::master::core::MasterCore;
use crate::master::core::Subscription;
use crate::master::core::Touched;
use crate::master::effects::Event;
use crate::master::effects::Outgoing;
use crate::master::effects::StreamId;
use crate::master::error::CallError;
use crate::master::invariants;
use crate::master::operator;
use crate::master::operator::views;
use crate::master::operator::AgentResources;
use crate::master::operator::OperatorError;
use crate::master::operator::RoleInfo;
use crate::master::processes::agent_loss;
use crate::master::processes::allocation;
use crate::master::processes::local_tasks;
use crate::master::processes::maintenance;
use crate::master::processes::reclaim;
use crate::master::state;
use crate::master::state::MasterState;
use corral::AgentId;
use corral::FrameworkId;
use corral::Resources;
use corral::Role;
use corral::TaskId;
use std::collections::BTreeMap;
use std::time::Duration;
use tracing::debug;
use tracing::info;

/// A call of a subscribed framework, decoded from its wire (`edge.rs`):
/// one variant per call, holding its handler's plain input.
#[derive(Debug)]
pub(in crate::master) enum Input {
    /// TEARDOWN.
    Teardown,
    /// ACCEPT.
    Accept(accept::Accept),
    /// DECLINE.
    Decline(decline::Decline),
    /// REVIVE of these roles (all if none).
    Revive(Vec<String>),
    /// SUPPRESS of these roles (all if none).
    Suppress(Vec<String>),
    /// KILL.
    Kill(kill::Kill),
    /// ACKNOWLEDGE.
    Acknowledge(acknowledge::Acknowledge),
    /// RECONCILE.
    Reconcile(reconcile::Reconcile),
    /// UPDATE_FRAMEWORK.
    UpdateFramework(update_framework::UpdateFramework),
    /// REQUEST.
    Request(request::Request),
    /// ACCEPT_INVERSE_OFFERS (`accept`) or DECLINE_INVERSE_OFFERS.
    InverseOffers {
        /// The inverse offers answered.
        ids: Vec<corral::OfferId>,
        /// Accepted, or declined.
        accept: bool,
    },
}

impl MasterCore {
    /// Handles a decoded SUBSCRIBE (the wire's is decoded by
    /// [`MasterCore::subscribe`] in `edge.rs`).
    pub(in crate::master) fn open(
        &mut self,
        now: Duration,
        input: subscribe::Subscribe,
    ) -> Result<Subscription, CallError> {
        subscribe::subscribe(self, now, input)
    }

    /// Loses `agent` to a partition. See the module docs.
    pub fn lose_agent(&mut self, now: Duration, agent: &AgentId) -> Result<(), AgentError> {
        agent_loss::lose_agent(self, now, agent)
    }

    /// Brings a lost agent back: it re-registers with its frozen tasks,
    /// which resume; pending kills are carried out; an allocation runs.
    pub fn restore_agent(&mut self, now: Duration, agent: &AgentId) -> Result<(), AgentError> {
        agent_loss::restore_agent(self, now, agent)
    }

    /// Schedules (or moves, while it has not started) `agent`'s
    /// maintenance window. See the module docs.
    pub fn schedule_maintenance(
        &mut self,
        now: Duration,
        agent: &AgentId,
        window: Window,
    ) -> Result<(), MaintenanceError> {
        maintenance::schedule_maintenance(self, now, agent, window)
    }

    /// Ends `agent`'s maintenance (cancels it if it has not started): the
    /// agent is offered again and its inverse offers are rescinded.
    pub fn end_maintenance(
        &mut self,
        now: Duration,
        agent: &AgentId,
    ) -> Result<(), MaintenanceError> {
        maintenance::end_maintenance(self, now, agent)
    }

    /// The scheduled maintenance of every agent.
    pub fn maintenance(&self) -> BTreeMap<AgentId, Maintenance> {
        self.agents.all_maintenance()
    }

    /// Whether `agent` runs its tasks as real processes.
    pub fn is_local_agent(&self, agent: &AgentId) -> bool {
        local_tasks::is_local_agent(self, agent)
    }

    /// Where the sandbox of `task` of `framework` is, once its local agent
    /// has made it.
    pub fn sandbox(&self, framework: &FrameworkId, task: &TaskId) -> Option<&SandboxPaths> {
        local_tasks::sandbox(self, framework, task)
    }

    /// A local agent's report about one of its tasks: the task's new state
    /// goes to its framework as a status update (source EXECUTOR), with the
    /// sandbox labels; a terminal state frees the task's resources.
    /// Reports about unknown or ended tasks, or non-terminal ones about a
    /// task being killed, change nothing.
    pub fn agent_status(&mut self, now: Duration, report: AgentReport) {
        local_tasks::agent_status(self, now, report)
    }

    /// A snapshot of the books.
    pub fn state(&self, now: Duration) -> MasterState {
        state::snapshot(self, now)
    }

    /// Checks every invariant; the first one broken, described.
    pub fn check_invariants(&self) -> Result<(), String> {
        invariants::check_invariants(self)
    }

    /// Checks the invariants that `touched` can have broken, at the cost
    /// of what changed: every outstanding offer's addressee and agent (a
    /// few per agent), the notices, and for each touched agent its books
    /// against the allocator's and its capacity. The allocator's own
    /// invariants and the tasks book's are checked when an allocation cycle
    /// ran; everything when `touched.all`.
    pub fn check_touched(&self, touched: &Touched) -> Result<(), String> {
        invariants::check_touched(self, touched)
    }

    /// Sets `role`'s weight (default 1.0; any valid role path, `*`
    /// included). An allocation runs at once.
    pub fn set_weight(
        &mut self,
        now: Duration,
        role: &Role,
        weight: f64,
    ) -> Result<(), OperatorError> {
        operator::set_weight(self, now, role, weight)
    }

    /// Sets `role`'s quota (guarantee and optional limit; see
    /// [`Allocator::set_quota`](crate::allocator::Allocator::set_quota) for the rules). An empty quota
    /// (`Quota::default()`) clears it. An allocation runs at once; lowering
    /// a limit takes nothing back, it only stops further allocations.
    pub fn set_quota(
        &mut self,
        now: Duration,
        role: &Role,
        quota: Quota,
    ) -> Result<(), OperatorError> {
        operator::set_quota(self, now, role, quota)
    }

    /// Clears `role`'s quota; refused with [`OperatorError::NoQuota`] when
    /// it has none, and with [`OperatorError::InvalidQuota`] when the
    /// quota'd roles below it would then break a rule of an ancestor's
    /// quota. An allocation runs at once.
    pub fn remove_quota(&mut self, now: Duration, role: &Role) -> Result<(), OperatorError> {
        operator::remove_quota(self, now, role)
    }

    /// Reserves `resources` (unreserved, unallocated, not revocable) of
    /// `agent` for `role`: from then on they are offered only to `role` and
    /// its descendants. Offers on the agent are rescinded as needed (see the
    /// [module docs](crate::master::operator)). An allocation runs at once.
    pub fn reserve(
        &mut self,
        now: Duration,
        agent: &AgentId,
        role: &Role,
        resources: &Resources,
    ) -> Result<(), OperatorError> {
        operator::reserve(self, now, agent, role, resources)
    }

    /// Gives reserved `resources` of `agent` back to every role (each
    /// entry names the role it is reserved for, `cpus(eng):2`; they must be
    /// unallocated and not revocable). Offers on the agent are rescinded as
    /// needed (see the [module docs](crate::master::operator)). An allocation runs at once.
    pub fn unreserve(
        &mut self,
        now: Duration,
        agent: &AgentId,
        resources: &Resources,
    ) -> Result<(), OperatorError> {
        operator::unreserve(self, now, agent, resources)
    }

    /// Every role the master knows (named by a framework, a weight, a
    /// quota, a reservation or a request, and their ancestors), by name.
    /// A role nothing refers to any more (no framework, child, weight,
    /// quota, reservation, request or holding) is forgotten and no longer
    /// listed.
    pub fn roles(&self) -> Vec<RoleInfo> {
        views::roles(self)
    }

    /// One role (a role the master never heard of is shown with weight
    /// 1 and nothing else).
    pub fn role_info(&self, role: Role) -> RoleInfo {
        views::role_info(self, role)
    }

    /// One agent's resources; [`OperatorError::UnknownAgent`] if there is
    /// no such agent.
    pub fn agent_resources(&self, agent: &AgentId) -> Result<AgentResources, OperatorError> {
        views::agent_resources(self, agent)
    }

    /// Every agent's resources, by agent id.
    pub fn all_agent_resources(&self) -> Vec<AgentResources> {
        views::all_agent_resources(self)
    }

    /// Handles a decoded call of `fw`, whose stream
    /// [`MasterCore::check_stream`] has checked: one arm per call, each
    /// forwarding to its handler in `calls/`.
    pub(in crate::master) fn apply(
        &mut self,
        now: Duration,
        fw: &FrameworkId,
        input: Input,
    ) -> Result<(), CallError> {
        match input {
            Input::Teardown => {
                teardown::remove_framework(self, now, fw, "torn down by the framework");
                Ok(())
            }
            Input::Accept(accept) => accept::accept(self, now, fw, accept),
            Input::Decline(decline) => decline::decline(self, now, fw, decline),
            Input::Revive(roles) => suppress_revive::revive(self, now, fw, roles),
            Input::Suppress(roles) => suppress_revive::suppress(self, fw, roles),
            Input::Kill(kill) => kill::kill(self, now, fw, kill),
            Input::Acknowledge(ack) => acknowledge::acknowledge(self, now, fw, ack),
            Input::Reconcile(reconcile) => reconcile::reconcile(self, now, fw, reconcile),
            Input::UpdateFramework(update) => {
                update_framework::update_framework(self, now, fw, update)
            }
            Input::Request(request) => request::request(self, now, fw, request),
            Input::InverseOffers { ids, accept } => {
                inverse_offers::inverse_offer_answer(self, fw, ids, accept)
            }
        }
    }

    /// Rescinds the notices whose tasks have all ended (after every call).
    pub(in crate::master) fn sweep_notices(&mut self) {
        reclaim::sweep_revocations(self);
    }

    /// Whether `stream` is `fw`'s current stream.
    pub(in crate::master) fn check_stream(
        &self,
        fw: &FrameworkId,
        stream: &str,
    ) -> Result<(), CallError> {
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
        {
            let result = self.allocator.activate_framework(&id, false);
            self.note(result, "deactivate");
        };
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
        self.touch_all();
        self.agents.add(agent)?;
        allocation::allocate_now(self, now);
        Ok(())
    }

    /// Runs every timer due at `now`: task transitions, failover timeouts,
    /// offer timeouts, status update resends, the allocation pass (the
    /// cycle, or one for resources freed: see `processes::allocation`) and
    /// heartbeats, in that order.
    pub fn tick(&mut self, now: Duration) {
        for step in self.tasks.advance(now) {
            self.report_transition(now, step);
        }
        reclaim::enforce_revocations(self, now);
        maintenance::run_maintenance(self, now);
        reclaim::sweep_revocations(self);
        for id in self.frameworks.expired(now) {
            teardown::remove_framework(self, now, &id, "failover timeout expired");
        }
        for offer in self.offers.expired(now) {
            debug!(%offer, "offer timed out");
            self.rescind(now, &offer);
        }
        for (fw, status) in self.updates.due(now) {
            self.emit(&fw, Event::Update(status));
        }
        allocation::allocate_if_due(self, now);
        let interval = self.config().heartbeat_interval;
        for stream in self.frameworks.due_heartbeats(now, interval) {
            self.push(Outgoing::Event {
                stream,
                event: Box::new(Event::Heartbeat),
            });
        }
    }

    /// When [`MasterCore::tick`] next has something to do.
    pub fn next_deadline(&self) -> Option<Duration> {
        [
            Some(self.next_allocation()),
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
}
