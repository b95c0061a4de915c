//! The core's entry points, one per input: [`MasterCore::subscribe`] and
//! [`MasterCore::handle`] (the call dispatcher: the stream check, then one
//! handler in `calls/`), [`MasterCore::tick`] (the timers, through the
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
use crate::master::core::allocator_ok;
use crate::master::core::MasterCore;
use crate::master::core::Subscription;
use crate::master::core::Touched;
use crate::master::edge;
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
use crate::master::validate;
use corral::AgentId;
use corral::FrameworkId;
use corral::Resources;
use corral::Role;
use corral::TaskId;
use corral_proto::pb;
use corral_proto::pb::call::Type as CallType;
use std::collections::BTreeMap;
use std::time::Duration;
use tracing::debug;
use tracing::info;
use tracing::warn;

impl MasterCore {
    /// Handles a SUBSCRIBE (new framework, resubscription or failover).
    /// `Err`: the RPC fails and no stream opens.
    pub fn subscribe(&mut self, now: Duration, call: pb::Call) -> Result<Subscription, CallError> {
        subscribe::subscribe(self, now, call)
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
        reclaim::sweep_revocations(self);
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
                teardown::remove_framework(self, now, &fw, "torn down by the framework");
                Ok(())
            }
            CallType::Accept => accept::accept(
                self,
                now,
                &fw,
                call.accept.ok_or_else(|| missing("accept"))?,
            ),
            CallType::Decline => decline::decline(
                self,
                now,
                &fw,
                edge::decline(&call.decline.ok_or_else(|| missing("decline"))?),
            ),
            CallType::Revive => suppress_revive::revive(
                self,
                now,
                &fw,
                call.revive.map(|r| r.roles).unwrap_or_default(),
            ),
            CallType::Suppress => suppress_revive::suppress(
                self,
                &fw,
                call.suppress.map(|s| s.roles).unwrap_or_default(),
            ),
            CallType::Kill => kill::kill(
                self,
                now,
                &fw,
                edge::kill(&call.kill.ok_or_else(|| missing("kill"))?),
            ),
            CallType::Acknowledge => acknowledge::acknowledge(
                self,
                now,
                &fw,
                edge::acknowledge(&call.acknowledge.ok_or_else(|| missing("acknowledge"))?)?,
            ),
            CallType::Reconcile => reconcile::reconcile(
                self,
                now,
                &fw,
                edge::reconcile(&call.reconcile.unwrap_or_default()),
            ),
            CallType::UpdateFramework => update_framework::update_framework(
                self,
                now,
                &fw,
                edge::update_framework(
                    &fw,
                    &call
                        .update_framework
                        .ok_or_else(|| missing("update_framework"))?,
                )?,
            ),
            CallType::Request => request::request(self, now, &fw, call.request.unwrap_or_default()),
            CallType::AcceptInverseOffers => inverse_offers::inverse_offer_answer(
                self,
                &fw,
                edge::inverse_offer_ids(
                    &call
                        .accept_inverse_offers
                        .map(|c| c.inverse_offer_ids)
                        .unwrap_or_default(),
                ),
                true,
            ),
            CallType::DeclineInverseOffers => inverse_offers::inverse_offer_answer(
                self,
                &fw,
                edge::inverse_offer_ids(
                    &call
                        .decline_inverse_offers
                        .map(|c| c.inverse_offer_ids)
                        .unwrap_or_default(),
                ),
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
        let interval = self.config.heartbeat_interval;
        for stream in self.frameworks.due_heartbeats(now, interval) {
            self.outbox.push(Outgoing::Event {
                stream,
                event: Box::new(Event::Heartbeat),
            });
        }
    }

    /// When [`MasterCore::tick`] next has something to do.
    pub fn next_deadline(&self) -> Option<Duration> {
        [
            Some(self.schedule.next_due()),
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
