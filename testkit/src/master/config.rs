//! The mock master's configuration: its agents, role weights, timers and
//! seed, with a builder and the checks that make a configuration usable.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use corral::{AgentId, InvalidRole, Resources, Role};

use crate::allocator::{Allocator, AllocatorConfig, AllocatorError, Quota};

/// How an agent runs its tasks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AgentKind {
    /// Tasks follow a simulated lifecycle on the master's clock (virtual
    /// time in tests); nothing runs. See [`sim`](super::sim).
    #[default]
    Simulated,
    /// Tasks run as real processes on this machine, in sandboxes under
    /// `work_dir` (absolute). See [`agent`](crate::agent).
    Local {
        /// The agent's work directory.
        work_dir: PathBuf,
    },
}

impl AgentKind {
    /// The work directory of a local agent.
    pub fn work_dir(&self) -> Option<&Path> {
        match self {
            AgentKind::Simulated => None,
            AgentKind::Local { work_dir } => Some(work_dir),
        }
    }
}

/// One agent (a machine that runs tasks): simulated, or local.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentSpec {
    /// The agent's id, unique in the cluster.
    pub id: AgentId,
    /// The hostname put in its offers.
    pub hostname: String,
    /// Everything the agent has (unallocated form; may hold reservations).
    pub resources: Resources,
    /// Attributes put in its offers, as TEXT attributes, in this order.
    pub attributes: Vec<(String, String)>,
    /// How it runs tasks (simulated by default).
    pub kind: AgentKind,
}

impl AgentSpec {
    /// An agent with hostname `<id>.corral.test` and no attributes.
    pub fn new(id: impl Into<AgentId>, resources: Resources) -> Self {
        let id = id.into();
        Self {
            hostname: format!("{id}.corral.test"),
            id,
            resources,
            attributes: Vec::new(),
            kind: AgentKind::Simulated,
        }
    }

    /// A local agent: its tasks run as real processes, in sandboxes under
    /// `work_dir` (which must be absolute and its own).
    pub fn local(
        id: impl Into<AgentId>,
        resources: Resources,
        work_dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            kind: AgentKind::Local {
                work_dir: work_dir.into(),
            },
            ..Self::new(id, resources)
        }
    }

    /// Sets the hostname.
    pub fn hostname(mut self, hostname: impl Into<String>) -> Self {
        self.hostname = hostname.into();
        self
    }

    /// Adds an attribute.
    pub fn attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.push((name.into(), value.into()));
        self
    }
}

/// The default cap on connected frameworks.
pub const DEFAULT_MAX_CONNECTED_FRAMEWORKS: usize = 1000;
/// The default bound of each subscription's event queue.
pub const DEFAULT_EVENT_QUEUE_CAPACITY: usize = 1024;

/// Everything that shapes a mock master. Build it with [`MasterConfig::default`]
/// and the chainable setters.
#[derive(Clone, Debug, PartialEq)]
pub struct MasterConfig {
    /// The agents present from the start.
    pub agents: Vec<AgentSpec>,
    /// Role weights for the allocator (roles not listed weigh 1.0).
    pub role_weights: BTreeMap<Role, f64>,
    /// Role quotas (guarantee and optional limit), set parents first.
    pub quotas: BTreeMap<Role, Quota>,
    /// Time between batch allocation cycles (default 100 ms).
    pub allocation_interval: Duration,
    /// Time between HEARTBEAT events on each stream (default 15 s).
    pub heartbeat_interval: Duration,
    /// Unused offers are rescinded after this long (default 60 s; `None`: never).
    pub offer_timeout: Option<Duration>,
    /// Time between the simulated STAGING, STARTING and RUNNING (default 10 ms).
    pub sim_step: Duration,
    /// First resend delay of an unacknowledged status update (default 10 s).
    pub status_update_retry: Duration,
    /// Cap of the doubling resend delay (default 10 min).
    pub status_update_retry_max: Duration,
    /// An offer must hold at least one of these (default `cpus:0.01` or `mem:32`).
    pub min_allocatable: Vec<Resources>,
    /// Seed of every random choice: the order in which each allocation cycle
    /// visits the agents (one draw per cycle), and the status update uuids.
    pub seed: u64,
    /// The master's id in `MasterInfo` (default `corral-mock-master`).
    pub master_id: String,
    /// The master's hostname in `MasterInfo` (default `localhost`).
    pub hostname: String,
    /// How long local agents keep a sandbox after its executor's last task
    /// ended (default 10 min).
    pub sandbox_ttl: Duration,
    /// How long a framework has, after a revocation notice, to release the
    /// lent resources itself before the master kills the tasks (each with
    /// its KillPolicy grace period). Default 5 s.
    pub revocation_notice: Duration,
    /// How many completed tasks the master keeps per framework, for
    /// reconciliation and snapshots (as Mesos'
    /// `max_completed_tasks_per_framework`; default 1000). Older ones are
    /// forgotten.
    pub max_completed_tasks_per_framework: usize,
    /// How many removed frameworks the master remembers by id, for
    /// snapshots and to refuse their SUBSCRIBE (as Mesos'
    /// `max_completed_frameworks`; default 50). Ids the master issued
    /// itself stay refused beyond it (see `master::books::frameworks`).
    pub max_completed_frameworks: usize,
    /// How many frameworks may be connected at once (default 1000); a
    /// SUBSCRIBE beyond it is refused.
    pub max_connected_frameworks: usize,
    /// How many events may wait on one subscription's stream (default
    /// 1024). A subscriber that lets its queue fill up is disconnected.
    pub event_queue_capacity: usize,
}

impl Default for MasterConfig {
    fn default() -> Self {
        Self {
            agents: Vec::new(),
            role_weights: BTreeMap::new(),
            quotas: BTreeMap::new(),
            allocation_interval: Duration::from_millis(100),
            heartbeat_interval: Duration::from_secs(15),
            offer_timeout: Some(Duration::from_secs(60)),
            sim_step: Duration::from_millis(10),
            status_update_retry: Duration::from_secs(10),
            status_update_retry_max: Duration::from_secs(600),
            min_allocatable: vec![
                Resources::new().with_cpus(0.01),
                Resources::new().with_mem(32.0),
            ],
            seed: 0,
            master_id: "corral-mock-master".to_owned(),
            hostname: "localhost".to_owned(),
            sandbox_ttl: crate::agent::DEFAULT_SANDBOX_TTL,
            revocation_notice: Duration::from_secs(5),
            max_completed_tasks_per_framework:
                super::books::tasks::DEFAULT_MAX_COMPLETED_TASKS_PER_FRAMEWORK,
            max_completed_frameworks: super::books::frameworks::DEFAULT_MAX_COMPLETED_FRAMEWORKS,
            max_connected_frameworks: DEFAULT_MAX_CONNECTED_FRAMEWORKS,
            event_queue_capacity: DEFAULT_EVENT_QUEUE_CAPACITY,
        }
    }
}

impl MasterConfig {
    /// Adds `count` agents with the same resources, named `agent-<i>` where
    /// `i` continues from the agents already configured.
    pub fn agents(mut self, count: usize, resources: Resources) -> Self {
        let first = self.agents.len();
        for i in first..first + count {
            self.agents
                .push(AgentSpec::new(format!("agent-{i}"), resources.clone()));
        }
        self
    }

    /// Adds `count` local agents (tasks run as real processes) with the
    /// same resources, named `agent-<i>` as [`MasterConfig::agents`] does,
    /// each with the work directory `<work_dir>/<agent id>`. `work_dir` must
    /// be absolute.
    pub fn local_agents(
        mut self,
        count: usize,
        resources: Resources,
        work_dir: impl AsRef<Path>,
    ) -> Self {
        let first = self.agents.len();
        for i in first..first + count {
            let id = format!("agent-{i}");
            let dir = work_dir.as_ref().join(&id);
            self.agents
                .push(AgentSpec::local(id, resources.clone(), dir));
        }
        self
    }

    /// Sets how long local agents keep sandboxes of ended tasks.
    pub fn sandbox_ttl(mut self, ttl: Duration) -> Self {
        self.sandbox_ttl = ttl;
        self
    }

    /// Adds one agent.
    pub fn agent(mut self, agent: AgentSpec) -> Self {
        self.agents.push(agent);
        self
    }

    /// Adds an attribute to every agent configured so far.
    pub fn attribute_all(mut self, name: &str, value: &str) -> Self {
        for agent in &mut self.agents {
            agent.attributes.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    /// Sets a role's weight.
    pub fn role(mut self, role: impl Into<Role>, weight: f64) -> Self {
        self.role_weights.insert(role.into(), weight);
        self
    }

    /// Sets how long a revocation notice gives a framework before the
    /// master kills the revoked tasks itself.
    pub fn revocation_notice(mut self, notice: Duration) -> Self {
        self.revocation_notice = notice;
        self
    }

    /// Sets a role's quota (see
    /// [`Allocator::set_quota`](crate::allocator::Allocator::set_quota) for
    /// the rules, checked by [`MasterConfig::validate`]).
    pub fn quota(mut self, role: impl Into<Role>, quota: Quota) -> Self {
        self.quotas.insert(role.into(), quota);
        self
    }

    /// Sets the allocation interval.
    pub fn allocation_interval(mut self, interval: Duration) -> Self {
        self.allocation_interval = interval;
        self
    }

    /// Sets the heartbeat interval.
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval;
        self
    }

    /// Sets the offer timeout (`None`: offers never time out).
    pub fn offer_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.offer_timeout = timeout;
        self
    }

    /// Sets the step between simulated task states.
    pub fn sim_step(mut self, step: Duration) -> Self {
        self.sim_step = step;
        self
    }

    /// Sets the first resend delay of unacknowledged status updates.
    pub fn status_update_retry(mut self, retry: Duration) -> Self {
        self.status_update_retry = retry;
        self
    }

    /// Sets how many completed tasks are kept per framework.
    pub fn max_completed_tasks_per_framework(mut self, max: usize) -> Self {
        self.max_completed_tasks_per_framework = max;
        self
    }

    /// Sets how many removed frameworks are remembered by id.
    pub fn max_completed_frameworks(mut self, max: usize) -> Self {
        self.max_completed_frameworks = max;
        self
    }

    /// Sets how many frameworks may be connected at once.
    pub fn max_connected_frameworks(mut self, max: usize) -> Self {
        self.max_connected_frameworks = max;
        self
    }

    /// Sets the bound of each subscription's event queue (at least 1).
    pub fn event_queue_capacity(mut self, capacity: usize) -> Self {
        self.event_queue_capacity = capacity;
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Checks that the configuration can run: positive intervals, valid
    /// role names and weights, quotas the allocator accepts, unique agent
    /// ids, unallocated agent resources.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("allocation_interval", self.allocation_interval),
            ("heartbeat_interval", self.heartbeat_interval),
            ("status_update_retry", self.status_update_retry),
            ("status_update_retry_max", self.status_update_retry_max),
        ];
        for (name, value) in positive {
            if value.is_zero() {
                return Err(ConfigError::ZeroInterval { name });
            }
        }
        if self.offer_timeout.is_some_and(|t| t.is_zero()) {
            return Err(ConfigError::ZeroInterval {
                name: "offer_timeout",
            });
        }
        let limits = [
            ("max_connected_frameworks", self.max_connected_frameworks),
            ("event_queue_capacity", self.event_queue_capacity),
        ];
        for (name, value) in limits {
            if value == 0 {
                return Err(ConfigError::ZeroLimit { name });
            }
        }
        for (role, weight) in &self.role_weights {
            role.validate()?;
            if !(weight.is_finite() && *weight > 0.0) {
                return Err(ConfigError::InvalidWeight {
                    role: role.clone(),
                    weight: *weight,
                });
            }
        }
        check_quotas(&self.quotas)?;
        let mut seen = BTreeSet::new();
        let mut work_dirs = BTreeMap::new();
        for agent in &self.agents {
            agent.validate()?;
            if !seen.insert(&agent.id) {
                return Err(ConfigError::DuplicateAgent(agent.id.clone()));
            }
            if let Some(dir) = agent.kind.work_dir() {
                if let Some(other) = work_dirs.insert(dir, &agent.id) {
                    return Err(ConfigError::SharedWorkDir {
                        first: other.clone(),
                        second: agent.id.clone(),
                        work_dir: dir.to_owned(),
                    });
                }
            }
        }
        Ok(())
    }
}

impl AgentSpec {
    /// Checks the agent alone: a non-empty id and unallocated resources.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.id.as_str().is_empty() {
            return Err(ConfigError::EmptyAgentId);
        }
        if self.resources.iter().any(|r| r.allocation.is_some()) {
            return Err(ConfigError::AllocatedAgentResources(self.id.clone()));
        }
        if let Some(dir) = self.kind.work_dir() {
            if !dir.is_absolute() {
                return Err(ConfigError::RelativeWorkDir {
                    agent: self.id.clone(),
                    work_dir: dir.to_owned(),
                });
            }
        }
        Ok(())
    }
}

/// Why a configuration (or an agent added later) was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// An interval that must be positive is zero.
    #[error("{name} must be greater than zero")]
    ZeroInterval {
        /// The setting's name.
        name: &'static str,
    },
    /// A limit that must be at least one is zero.
    #[error("{name} must be at least 1")]
    ZeroLimit {
        /// The setting's name.
        name: &'static str,
    },
    /// A local agent in a configuration that cannot run real processes
    /// (the in-process [`Cluster`](crate::Cluster) runs on virtual time).
    #[error(
        "agent {0} is a local agent: the in-process Cluster simulates tasks on virtual time \
         and runs no processes; use MockMaster::start for local agents"
    )]
    LocalAgentUnsupported(AgentId),
    /// A role weight is not finite and positive.
    #[error("invalid weight {weight} for role {role}: must be finite and > 0")]
    InvalidWeight {
        /// The role.
        role: Role,
        /// The weight given.
        weight: f64,
    },
    /// A role name breaks the naming rules.
    #[error(transparent)]
    InvalidRole(#[from] InvalidRole),
    /// A quota is malformed or breaks the hierarchy rules.
    #[error("invalid quota for role {role}: {why}")]
    InvalidQuota {
        /// The role.
        role: Role,
        /// The allocator's reason.
        why: String,
    },
    /// A static reservation the agent cannot make.
    #[error("cannot reserve on agent {agent}: {why}")]
    InvalidReservation {
        /// The agent.
        agent: AgentId,
        /// What is wrong.
        why: String,
    },
    /// Two agents share an id.
    #[error("agent {0} is configured twice")]
    DuplicateAgent(corral::AgentId),
    /// An agent id is empty.
    #[error("an agent id cannot be empty")]
    EmptyAgentId,
    /// Agent resources carry an allocation role (they must be unallocated).
    #[error("resources of agent {0} must not carry an allocation role")]
    AllocatedAgentResources(corral::AgentId),
    /// A local agent's work directory is relative (task sandboxes and
    /// `MESOS_SANDBOX` must not depend on the current directory).
    #[error("the work directory of local agent {agent} must be absolute, got {}", work_dir.display())]
    RelativeWorkDir {
        /// The agent.
        agent: corral::AgentId,
        /// The directory given.
        work_dir: PathBuf,
    },
    /// Two local agents were given the same work directory.
    #[error("local agents {first} and {second} share the work directory {}", work_dir.display())]
    SharedWorkDir {
        /// The first agent with it.
        first: corral::AgentId,
        /// The second.
        second: corral::AgentId,
        /// The directory.
        work_dir: PathBuf,
    },
    /// The allocator refused the configuration.
    #[error("allocator refused the configuration: {0}")]
    Allocator(#[from] crate::allocator::AllocatorError),
}

/// Checks every quota of a configuration against the allocator's rules, on
/// a scratch allocator.
fn check_quotas(quotas: &BTreeMap<Role, Quota>) -> Result<(), ConfigError> {
    apply_quotas(&mut Allocator::new(AllocatorConfig::default()), quotas)
}

/// Sets every quota of a configuration on `allocator`, parents before
/// children (name order). A refusal is a [`ConfigError::InvalidQuota`].
pub(super) fn apply_quotas(
    allocator: &mut Allocator,
    quotas: &BTreeMap<Role, Quota>,
) -> Result<(), ConfigError> {
    for (role, quota) in quotas {
        if role.as_str() == "*" {
            return Err(ConfigError::InvalidQuota {
                role: role.clone(),
                why: "the default role `*` cannot have quota".to_owned(),
            });
        }
        allocator
            .set_quota(role, quota.clone())
            .map_err(|err| match err {
                AllocatorError::InvalidQuota { why, .. }
                | AllocatorError::InvalidRole { why, .. } => ConfigError::InvalidQuota {
                    role: role.clone(),
                    why,
                },
                other => ConfigError::Allocator(other),
            })?;
    }
    Ok(())
}

impl AgentSpec {
    /// Reserves part of the agent's resources statically: each entry of
    /// `reserved` names its role (`cpus(eng):2;mem(eng):1024`) and is taken
    /// out of the agent's unreserved resources, which must have it.
    pub fn reserve(mut self, reserved: &Resources) -> Result<Self, ConfigError> {
        let bad = |why: String| ConfigError::InvalidReservation {
            agent: self.id.clone(),
            why,
        };
        for r in reserved.iter() {
            if r.reservation.is_none() {
                return Err(bad(format!(
                    "{} is not reserved for a role (write {}(ROLE):...)",
                    r.name, r.name
                )));
            }
            if r.allocation.is_some() || r.revocable {
                return Err(bad(format!(
                    "{} must be unallocated and not revocable",
                    r.name
                )));
            }
        }
        let plain = reserved.without_reservation();
        let Some(mut left) = self.resources.checked_sub(&plain) else {
            return Err(bad(format!(
                "it has {} unreserved, not enough to reserve {reserved}",
                self.resources.unreserved()
            )));
        };
        left += reserved;
        self.resources = left;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_numbers_agents_and_validates() {
        let config = MasterConfig::default()
            .agents(2, Resources::new().with_cpus(1.0))
            .agents(1, Resources::new().with_cpus(2.0))
            .attribute_all("zone", "a")
            .role("eng", 2.0);
        let ids: Vec<&str> = config.agents.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["agent-0", "agent-1", "agent-2"]);
        assert!(config.agents.iter().all(|a| a.attributes.len() == 1));
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn bad_configs_are_refused() {
        let zero = MasterConfig::default().allocation_interval(Duration::ZERO);
        assert!(matches!(
            zero.validate(),
            Err(ConfigError::ZeroInterval { .. })
        ));
        let weight = MasterConfig::default().role("eng", -1.0);
        assert!(matches!(
            weight.validate(),
            Err(ConfigError::InvalidWeight { .. })
        ));
        let dup = MasterConfig::default()
            .agent(AgentSpec::new("a", Resources::new()))
            .agent(AgentSpec::new("a", Resources::new()));
        assert!(matches!(
            dup.validate(),
            Err(ConfigError::DuplicateAgent(_))
        ));
        let role = MasterConfig::default().role("bad role", 1.0);
        assert!(matches!(role.validate(), Err(ConfigError::InvalidRole(_))));
    }

    #[test]
    fn local_agents_get_their_own_absolute_work_dirs() {
        let config = MasterConfig::default()
            .agents(1, Resources::new().with_cpus(1.0))
            .local_agents(2, Resources::new().with_cpus(2.0), "/tmp/w");
        let ids: Vec<&str> = config.agents.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["agent-0", "agent-1", "agent-2"]);
        assert_eq!(config.agents[0].kind, AgentKind::Simulated);
        assert_eq!(
            config.agents[2].kind.work_dir(),
            Some(Path::new("/tmp/w/agent-2"))
        );
        assert_eq!(config.validate(), Ok(()));

        let relative = MasterConfig::default().agent(AgentSpec::local("a", Resources::new(), "w"));
        assert!(matches!(
            relative.validate(),
            Err(ConfigError::RelativeWorkDir { .. })
        ));
        let shared = MasterConfig::default()
            .agent(AgentSpec::local("a", Resources::new(), "/w"))
            .agent(AgentSpec::local("b", Resources::new(), "/w"));
        assert!(matches!(
            shared.validate(),
            Err(ConfigError::SharedWorkDir { .. })
        ));
    }
}
