//! Operator actions on a [`Cluster`]: weights, quota, reservations,
//! agents joining and maintenance windows, changed mid-scenario through the same `MasterCore` methods as the gRPC
//! operator API, each recorded in the trace (refusals too, with why).

use std::time::Duration;

use corral::{AgentId, Resources, Role};

use super::cluster::Cluster;
use super::trace::What;
use crate::allocator::Quota;
use crate::master::operator::{describe_quota, AgentResources, OperatorError, RoleInfo};
use crate::master::{AgentSpec, ConfigError, MaintenanceError, MasterCore, Window};

impl Cluster {
    /// Sets `role`'s weight; an allocation runs at once.
    pub fn set_weight(&self, role: &Role, weight: f64) -> Result<(), OperatorError> {
        self.operate(format!("weight of {role} set to {weight}"), |core, now| {
            core.set_weight(now, role, weight)
        })
    }

    /// Sets `role`'s quota (an empty one clears it); an allocation runs at
    /// once.
    pub fn set_quota(&self, role: &Role, quota: Quota) -> Result<(), OperatorError> {
        let text = format!("quota of {role} set to {}", describe_quota(&quota));
        self.operate(text, |core, now| core.set_quota(now, role, quota))
    }

    /// Clears `role`'s quota; an allocation runs at once.
    pub fn remove_quota(&self, role: &Role) -> Result<(), OperatorError> {
        self.operate(format!("quota of {role} removed"), |core, now| {
            core.remove_quota(now, role)
        })
    }

    /// Reserves unreserved `resources` of `agent` for `role`, rescinding
    /// offers on the agent as needed; an allocation runs at once.
    pub fn reserve(
        &self,
        agent: &AgentId,
        role: &Role,
        resources: &Resources,
    ) -> Result<(), OperatorError> {
        let text = format!("reserve {resources} of {agent} for {role}");
        self.operate(text, |core, now| core.reserve(now, agent, role, resources))
    }

    /// Unreserves reserved `resources` (`cpus(eng):2`) of `agent`,
    /// rescinding offers on the agent as needed; an allocation runs at once.
    pub fn unreserve(&self, agent: &AgentId, resources: &Resources) -> Result<(), OperatorError> {
        let text = format!("unreserve {resources} of {agent}");
        self.operate(text, |core, now| core.unreserve(now, agent, resources))
    }

    /// Every known role: weight, quota, holdings, share.
    pub fn roles(&self) -> Vec<RoleInfo> {
        self.shared.lock().core.roles()
    }

    /// One agent's total, available and reserved resources.
    pub fn agent_resources(&self, agent: &AgentId) -> Result<AgentResources, OperatorError> {
        self.shared.lock().core.agent_resources(agent)
    }

    /// An agent joins the cluster; an allocation runs at once. A local
    /// agent is refused with [`ConfigError::LocalAgentUnsupported`] (see
    /// [`Cluster::start`]).
    pub fn add_agent(&self, agent: AgentSpec) -> Result<(), ConfigError> {
        if agent.kind.work_dir().is_some() {
            tracing::warn!(agent = %agent.id, "agent refused: local agents run no processes here");
            return Err(ConfigError::LocalAgentUnsupported(agent.id));
        }
        let text = format!("agent {} joins with {}", agent.id, agent.resources);
        self.operate(text, |core, now| core.add_agent(now, agent))
    }

    /// Schedules `agent`'s maintenance: down `start_in` from now, for
    /// `duration` (`None`: until [`Cluster::end_maintenance`]). Frameworks
    /// with tasks there get inverse offers at once; the agent is drained
    /// when the window starts (see [`crate::master::Maintenance`]).
    pub fn schedule_maintenance(
        &self,
        agent: &AgentId,
        start_in: Duration,
        duration: Option<Duration>,
    ) -> Result<(), MaintenanceError> {
        let text = format!("maintenance of {agent} in {start_in:?} for {duration:?}");
        self.operate(text, |core, now| {
            let window = Window {
                start: now.saturating_add(start_in),
                duration,
            };
            core.schedule_maintenance(now, agent, window)
        })
    }

    /// Ends `agent`'s maintenance (or cancels it before it starts).
    pub fn end_maintenance(&self, agent: &AgentId) -> Result<(), MaintenanceError> {
        self.operate(format!("maintenance of {agent} ended"), |core, now| {
            core.end_maintenance(now, agent)
        })
    }

    fn operate<E: std::fmt::Display>(
        &self,
        text: String,
        change: impl FnOnce(&mut MasterCore, Duration) -> Result<(), E>,
    ) -> Result<(), E> {
        self.shared.step(|engine, now| {
            let result = change(&mut engine.core, now);
            // Weights, quotas and reservations move the allocator's books
            // everywhere: the next check looks at everything.
            engine.core.touch_all();
            let text = match &result {
                Ok(()) => text,
                Err(e) => format!("{text}: refused: {e}"),
            };
            engine.trace.push(now, None, What::Operator(text));
            result
        })
    }
}
