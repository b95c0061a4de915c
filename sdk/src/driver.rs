//! The [`Driver`]: how a framework acts (launch, decline, kill, suppress,
//! revive, reconcile, acknowledge...).
//!
//! Handlers receive `&dyn Driver`; outside handlers, a cloneable
//! [`DriverHandle`] does the same from any task. In unit tests a
//! `MockDriver` (feature `mock`) stands in, so decision logic is tested
//! without a master.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::Error;
use crate::executor::ExecutorInfo;
use crate::offer::Offer;
use crate::resources::Resources;
use crate::task::{TaskInfo, TaskStatus};
use crate::{FrameworkId, OfferId, Role, TaskId};

pub use crate::runtime::DriverHandle;

/// What a framework can ask of the master.
///
/// Calls made while the runtime is disconnected fail with
/// [`Error::Disconnected`]: nothing is queued or dropped silently.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Driver: Send + Sync {
    /// The framework's id, once subscribed.
    fn framework_id(&self) -> Option<FrameworkId>;

    /// Launches `tasks` on `offer`. The tasks' resources (written without
    /// allocation info) must fit in the offer together. The offer is used
    /// up; what the tasks don't use goes back to the master.
    async fn launch(&self, offer: &Offer, tasks: Vec<TaskInfo>) -> Result<(), Error>;

    /// Launches `tasks` together on `offer` as one task group
    /// (LAUNCH_GROUP) under `executor`: all of them start or none does. The
    /// tasks' resources must fit in the offer together; the executor's own
    /// resources are checked by the master (it charges them only when the
    /// executor is not running on that agent yet). Each task runs its own
    /// command; killing one task leaves its siblings running on the mock
    /// master's local agents.
    async fn launch_group(
        &self,
        offer: &Offer,
        executor: ExecutorInfo,
        tasks: Vec<TaskInfo>,
    ) -> Result<(), Error>;

    /// Declines an offer; `refuse` keeps the master from offering the same
    /// resources again for that long (`None`: the master's default, 5 s).
    async fn decline(&self, offer: &OfferId, refuse: Option<Duration>) -> Result<(), Error>;

    /// Stops offers for `roles` (all roles if empty).
    async fn suppress(&self, roles: &[Role]) -> Result<(), Error>;

    /// Resumes offers for `roles` (all roles if empty) and clears their
    /// decline filters. Rate-limited: a revive within
    /// `Config::min_revive_interval` of the previous one for the same role is
    /// sent when the interval ends (never dropped).
    async fn revive(&self, roles: &[Role]) -> Result<(), Error>;

    /// Kills a task. `grace` overrides the task's kill policy.
    async fn kill(&self, task: &TaskId, grace: Option<Duration>) -> Result<(), Error>;

    /// Asks the master for the latest state of `tasks` (of every task it
    /// knows for this framework, if empty). Answers arrive as status
    /// updates.
    async fn reconcile(&self, tasks: &[TaskId]) -> Result<(), Error>;

    /// Changes the framework's roles at runtime (UPDATE_FRAMEWORK).
    async fn update_roles(&self, roles: Vec<Role>) -> Result<(), Error>;

    /// Asks the master for resources in `role` (the REQUEST call).
    async fn request(&self, role: &Role, resources: &Resources) -> Result<(), Error>;

    /// Acknowledges a status update. Only in
    /// [`AckMode::Explicit`](crate::AckMode); the runtime does it otherwise.
    async fn acknowledge(&self, status: &TaskStatus) -> Result<(), Error>;

    /// Promises to vacate by the inverse offers' deadlines.
    async fn accept_inverse_offers(&self, offers: &[OfferId]) -> Result<(), Error>;

    /// Declines inverse offers (advisory).
    async fn decline_inverse_offers(&self, offers: &[OfferId]) -> Result<(), Error>;

    /// The latest status the framework has seen for `task`.
    fn task_status(&self, task: &TaskId) -> Option<TaskStatus>;

    /// Stops the runtime, leaving the framework registered: its tasks keep
    /// running for its failover timeout, and a new run with the same id
    /// picks them up.
    fn stop(&self);

    /// Unregisters the framework: the master kills all its tasks. The
    /// runtime stops.
    async fn teardown(&self) -> Result<(), Error>;
}
