//! The calls a framework sends the master, as plain Rust values: what the
//! runtime hands its transport and what a mock
//! master or a recorder can read without any protocol code.
//!
//! One [`Call`] per Mesos v1 scheduler call the SDK makes. The framework's
//! id and the stream id travel beside the call (the transport's session),
//! not in it; SUBSCRIBE carries the id in its [`FrameworkInfo`].

use std::collections::BTreeSet;
use std::time::Duration;

use crate::executor::ExecutorInfo;
use crate::framework::FrameworkInfo;
use crate::resources::Resources;
use crate::task::TaskInfo;
use crate::{AgentId, OfferId, Role, TaskId};

/// SUBSCRIBE: who the framework is, and which of its roles start
/// suppressed. A resubscription carries the framework's id in
/// `framework.id`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Subscribe {
    /// The framework's info (with its id when resubscribing).
    pub framework: FrameworkInfo,
    /// Roles to subscribe with suppressed.
    pub suppressed_roles: BTreeSet<Role>,
}

impl Subscribe {
    /// A SUBSCRIBE for `framework` with these suppressed roles.
    pub fn new(framework: FrameworkInfo, suppressed_roles: BTreeSet<Role>) -> Self {
        Subscribe {
            framework,
            suppressed_roles,
        }
    }
}

/// One operation of an ACCEPT.
///
/// Not `#[non_exhaustive]`, like [`Call`]: every transport must encode
/// every operation, so a new one is meant to break them at compile time.
#[derive(Clone, Debug, PartialEq)]
pub enum Operation {
    /// LAUNCH: start these tasks, each on its own.
    Launch(Vec<TaskInfo>),
    /// LAUNCH_GROUP: start these tasks together under `executor`.
    LaunchGroup {
        /// The group's (default) executor.
        executor: ExecutorInfo,
        /// The tasks.
        tasks: Vec<TaskInfo>,
    },
}

/// ACCEPT: use `offers` (all on `agent`, allocated to `role`) for
/// `operations`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Accept {
    /// The offers used.
    pub offers: Vec<OfferId>,
    /// The agent the offers are on: the tasks' agent.
    pub agent: AgentId,
    /// The role the offers were allocated to: the tasks' resources are
    /// allocated to it on the wire.
    pub role: Role,
    /// What to do with them.
    pub operations: Vec<Operation>,
    /// How long the rest is refused for (`None`: the master's default).
    pub refuse: Option<Duration>,
}

impl Accept {
    /// An ACCEPT of `offer` on `agent` for `role` with one operation.
    pub fn new(offer: OfferId, agent: AgentId, role: Role, operation: Operation) -> Self {
        Accept {
            offers: vec![offer],
            agent,
            role,
            operations: vec![operation],
            refuse: None,
        }
    }

    /// Every task the ACCEPT launches (LAUNCH and LAUNCH_GROUP), in order.
    pub fn tasks(&self) -> impl Iterator<Item = &TaskInfo> {
        self.operations.iter().flat_map(|op| match op {
            Operation::Launch(tasks) | Operation::LaunchGroup { tasks, .. } => tasks.iter(),
        })
    }
}

/// A call from the framework to the master.
///
/// Deliberately exhaustive (not `#[non_exhaustive]`): a transport must
/// encode every call, so a new call breaks every transport at compile
/// time instead of being dropped at run time.
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    /// SUBSCRIBE (sent by `Transport::subscribe`, listed here for records).
    Subscribe(Subscribe),
    /// TEARDOWN: unregister the framework; the master kills its tasks.
    Teardown,
    /// ACCEPT.
    Accept(Accept),
    /// DECLINE these offers, refusing their resources for `refuse`.
    Decline {
        /// The offers.
        offers: Vec<OfferId>,
        /// The filter (`None`: the master's default, 5 s).
        refuse: Option<Duration>,
    },
    /// ACCEPT_INVERSE_OFFERS.
    AcceptInverseOffers(Vec<OfferId>),
    /// DECLINE_INVERSE_OFFERS.
    DeclineInverseOffers(Vec<OfferId>),
    /// REVIVE these roles (all of the framework's if empty).
    Revive(Vec<Role>),
    /// SUPPRESS these roles (all of the framework's if empty).
    Suppress(Vec<Role>),
    /// KILL a task.
    Kill {
        /// The task.
        task: TaskId,
        /// Its agent, when known.
        agent: Option<AgentId>,
        /// Overrides the task's kill policy grace period.
        grace: Option<Duration>,
    },
    /// ACKNOWLEDGE a status update.
    Acknowledge {
        /// The task's agent.
        agent: AgentId,
        /// The task.
        task: TaskId,
        /// The update's uuid.
        uuid: Vec<u8>,
    },
    /// RECONCILE these tasks (every task, if empty), each with its agent
    /// when known.
    Reconcile(Vec<(TaskId, Option<AgentId>)>),
    /// UPDATE_FRAMEWORK: new info (roles) and suppressed roles.
    UpdateFramework {
        /// The framework's new info, with its id.
        framework: FrameworkInfo,
        /// The roles suppressed from now on.
        suppressed_roles: BTreeSet<Role>,
    },
    /// REQUEST resources: each entry allocated to the role it is for (an
    /// empty list withdraws every request).
    Request(Vec<Resources>),
}

/// The kind of a [`Call`], for logs and for picking calls out of a record.
///
/// Exhaustive, as [`Call`] is: one kind per call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallKind {
    /// [`Call::Subscribe`].
    Subscribe,
    /// [`Call::Teardown`].
    Teardown,
    /// [`Call::Accept`].
    Accept,
    /// [`Call::Decline`].
    Decline,
    /// [`Call::AcceptInverseOffers`].
    AcceptInverseOffers,
    /// [`Call::DeclineInverseOffers`].
    DeclineInverseOffers,
    /// [`Call::Revive`].
    Revive,
    /// [`Call::Suppress`].
    Suppress,
    /// [`Call::Kill`].
    Kill,
    /// [`Call::Acknowledge`].
    Acknowledge,
    /// [`Call::Reconcile`].
    Reconcile,
    /// [`Call::UpdateFramework`].
    UpdateFramework,
    /// [`Call::Request`].
    Request,
}

impl CallKind {
    /// The call type's name on the wire (`"KILL"`), for logs and records.
    pub fn name(self) -> &'static str {
        match self {
            CallKind::Subscribe => "SUBSCRIBE",
            CallKind::Teardown => "TEARDOWN",
            CallKind::Accept => "ACCEPT",
            CallKind::Decline => "DECLINE",
            CallKind::AcceptInverseOffers => "ACCEPT_INVERSE_OFFERS",
            CallKind::DeclineInverseOffers => "DECLINE_INVERSE_OFFERS",
            CallKind::Revive => "REVIVE",
            CallKind::Suppress => "SUPPRESS",
            CallKind::Kill => "KILL",
            CallKind::Acknowledge => "ACKNOWLEDGE",
            CallKind::Reconcile => "RECONCILE",
            CallKind::UpdateFramework => "UPDATE_FRAMEWORK",
            CallKind::Request => "REQUEST",
        }
    }
}

impl std::fmt::Display for CallKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Call {
    /// The call's kind.
    pub fn kind(&self) -> CallKind {
        match self {
            Call::Subscribe(_) => CallKind::Subscribe,
            Call::Teardown => CallKind::Teardown,
            Call::Accept(_) => CallKind::Accept,
            Call::Decline { .. } => CallKind::Decline,
            Call::AcceptInverseOffers(_) => CallKind::AcceptInverseOffers,
            Call::DeclineInverseOffers(_) => CallKind::DeclineInverseOffers,
            Call::Revive(_) => CallKind::Revive,
            Call::Suppress(_) => CallKind::Suppress,
            Call::Kill { .. } => CallKind::Kill,
            Call::Acknowledge { .. } => CallKind::Acknowledge,
            Call::Reconcile(_) => CallKind::Reconcile,
            Call::UpdateFramework { .. } => CallKind::UpdateFramework,
            Call::Request(_) => CallKind::Request,
        }
    }
}
