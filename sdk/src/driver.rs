//! The [`Driver`]: how a framework acts (launch, decline, kill, suppress,
//! revive, reconcile, request, acknowledge, answer inverse offers and
//! revocation notices...).
//!
//! Handlers receive `&dyn Driver`; outside handlers, a cloneable
//! [`DriverHandle`] does the same from any task. In unit tests a
//! `MockDriver` (feature `mock`) stands in, so decision logic is tested
//! without a master.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::Error;
use crate::{
    ExecutorInfo, FrameworkId, Offer, OfferId, Resources, RevocationNotice, Role, TaskId, TaskInfo,
    TaskStatus,
};

pub use crate::runtime::DriverHandle;

/// What a framework can ask of the master.
///
/// Calls made while the runtime is disconnected fail with
/// [`Error::Disconnected`]: nothing is queued or dropped silently.
///
/// **When a call fails.** Every failure is also logged by the runtime
/// (through `tracing`, with the call's kind). What is left behind:
///
/// - [`launch`](Driver::launch) / [`launch_group`](Driver::launch_group):
///   a typed refusal before sending ([`Error::InvalidLaunch`],
///   [`Error::UnknownOffer`]) sends nothing and leaves the offer
///   outstanding (declined after the handler unless used otherwise). A
///   refusal by the master ([`Error::Transport`]) means none of the tasks
///   exist; the offer is used up. [`Error::Disconnected`] after sending
///   means the master may or may not have the tasks: they stay recorded,
///   and the reconciliation after resubscribing tells.
/// - [`kill`](Driver::kill): nothing changes locally; the task runs on until
///   a kill gets through (retry after [`Scheduler::subscribed`](crate::Scheduler::subscribed),
///   or from [`Scheduler::timer`](crate::Scheduler::timer) after
///   [`Driver::wake_after`]).
/// - [`teardown`](Driver::teardown): the framework stays registered and the
///   runtime keeps running (and reconnecting); call it again once
///   subscribed, or [`stop`](Driver::stop) to leave it to its failover
///   timeout.
///
/// **Mocking** (needs the `mock` feature): `MockDriver`, generated from
/// this trait by mockall (so its page repeats this text), implements it
/// for unit tests of handlers; set expectations with `expect_launch()`,
/// `expect_kill()`... It exists only when the `mock` feature is on (put
/// `corral = { version = "...", features = ["mock"] }` in your
/// dev-dependencies).
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

    /// Asks the master for resources for `role` (the REQUEST call), e.g.
    /// to tell it the role's work is waiting.
    ///
    /// `resources` are written without allocation info, as tasks write
    /// them; each is stamped with `allocation_info.role = role` on the
    /// wire, which is where the master reads the role from. Reservations
    /// and revocability are sent as given. What the master makes of a
    /// request is up to its allocator (Mesos's ignores it; the mock master
    /// records it as the role's demand). `role` must be one of the
    /// framework's roles and `resources` must not be empty, else
    /// [`Error::NotOwnRole`] or [`Error::EmptyRequest`] and nothing is sent.
    async fn request(&self, role: &Role, resources: &Resources) -> Result<(), Error>;

    /// Withdraws every request this framework made (a REQUEST call naming
    /// nothing): its roles go back to asking through [`Driver::revive`] and
    /// [`Driver::suppress`] alone. In the mock master, a role with a
    /// request is held to it; withdrawn, an unsuppressed framework again
    /// wants the role's whole guarantee.
    async fn withdraw_requests(&self) -> Result<(), Error>;

    /// Acknowledges a status update. Only in
    /// [`AckMode::Explicit`](crate::AckMode); the runtime does it otherwise.
    async fn acknowledge(&self, status: &TaskStatus) -> Result<(), Error>;

    /// Promises to vacate by the inverse offers' deadlines.
    async fn accept_inverse_offers(&self, offers: &[OfferId]) -> Result<(), Error>;

    /// Declines inverse offers (advisory).
    async fn decline_inverse_offers(&self, offers: &[OfferId]) -> Result<(), Error>;

    /// Releases revoked tasks now, gracefully: kills each task `notice`
    /// names that the framework still sees as live, then accepts the notice
    /// (ACCEPT_INVERSE_OFFERS with its id), telling the master the tasks
    /// are being released.
    ///
    /// Each kill carries no grace override, so each task's own
    /// [`KillPolicy`](crate::KillPolicy) grace period applies: the task is
    /// signalled, reported TASK_KILLING (with the `TASK_KILLING_STATE`
    /// capability), and TASK_KILLED once it exits or its grace runs out.
    /// As soon as every named task has ended, the master hands the
    /// resources back to their owner, without waiting for the deadline,
    /// and withdraws the notice (RESCIND_INVERSE_OFFER). The deadline still
    /// holds: whatever is left then is killed by the master.
    ///
    /// Skipped: tasks the framework has seen end (nothing to kill) or seen
    /// TASK_KILLING (already being killed). A named task the framework has
    /// not heard of yet (e.g. after a failover, before reconciliation
    /// answers) is killed: the notice says it runs. Kills go to
    /// `notice.agent_id`. If a kill fails, the error is returned and the
    /// notice is not accepted; the master still takes the tasks at the
    /// deadline. Not a failure: a master that no longer knows a task (it is
    /// gone).
    ///
    /// The notice's answer: if the master does not know the notice, it is
    /// done only when the runtime saw the master withdraw it
    /// (RESCIND_INVERSE_OFFER, i.e.
    /// [`Scheduler::inverse_offer_rescinded`](crate::Scheduler::inverse_offer_rescinded)
    /// for its id); otherwise it is [`Error::UnknownNotice`]: a wrong id, or
    /// a notice the master has just withdrawn, whose RESCIND_INVERSE_OFFER
    /// is still on its way.
    async fn release(&self, notice: &RevocationNotice) -> Result<(), Error>;

    /// Keeps revoked tasks until the deadline: declines the notice
    /// (DECLINE_INVERSE_OFFERS with its id). The master lets the named
    /// tasks run until `notice.deadline`, then kills those still running,
    /// each with its own kill policy's grace period (TASK_KILLING, then
    /// TASK_KILLED), and withdraws the notice (RESCIND_INVERSE_OFFER) once
    /// they have all ended. The framework may still kill them sooner
    /// itself. As for [`Driver::release`], a notice the master does not
    /// know is done if the runtime saw it withdrawn, and
    /// [`Error::UnknownNotice`] otherwise.
    async fn decline_revocation(&self, notice: &RevocationNotice) -> Result<(), Error>;

    /// Asks to be woken after `delay`: [`Scheduler::timer`](crate::Scheduler::timer)
    /// is called with `tag` then (an [`Event::Timer`](crate::Event::Timer)
    /// in the stream form), between events, like any handler. On tokio's
    /// paused clock it fires at exactly that virtual instant. A timer due
    /// while disconnected fires once the runtime has resubscribed. Tags
    /// need not be unique: each call is its own timer.
    fn wake_after(&self, delay: Duration, tag: u64);

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
