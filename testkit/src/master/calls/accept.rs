//! ACCEPT: the offers named, their operations (LAUNCH, LAUNCH_GROUP,
//! RESERVE, UNRESERVE) checked as a whole, then carried out; what is left
//! goes back to the allocator with the call's filter.

use crate::master::books::offers::Retirement;
use crate::master::books::revocations::not_mixed;
use crate::master::books::tasks::Launch;
use crate::master::core::task_status;
use crate::master::core::MasterCore;
use crate::master::error::CallError;
use crate::master::local_wire::LocalCommand;
use crate::master::operator;
use crate::master::processes::local_tasks;
use crate::master::sim;
use crate::master::sim::SimPlan;
use crate::master::sim::SimTask;
use corral::AgentId;
use corral::ExecutorId;
use corral::FrameworkId;
use corral::OfferId;
use corral::Reason;
use corral::Resources;
use corral::Role;
use corral::Source;
use corral::TaskId;
use corral::TaskState;
use std::collections::BTreeSet;
use std::time::Duration;
use tracing::error;
use tracing::info;
use tracing::warn;

/// ACCEPT, decoded (`edge.rs`): the offers, the filter for what is left,
/// and the operations in order.
#[derive(Debug)]
pub(in crate::master) struct Accept {
    /// The offers accepted.
    pub offers: Vec<OfferId>,
    /// How long to refuse what the call leaves of them.
    pub refuse: Duration,
    /// The operations, in order.
    pub operations: Vec<Operation>,
}

/// One operation as sent. What could not be read is kept where it stood,
/// so that the call is refused at the point today's checks reach it.
#[derive(Debug)]
pub(in crate::master) enum Operation {
    /// LAUNCH.
    Launch(Vec<TaskInput>),
    /// LAUNCH_GROUP: one executor, its tasks.
    LaunchGroup {
        /// The group's executor.
        executor: Box<ExecutorInput>,
        /// Its tasks.
        tasks: Vec<TaskInput>,
    },
    /// RESERVE of these resources (or why they cannot be read).
    Reserve(Result<Resources, String>),
    /// UNRESERVE of these resources (or why they cannot be read).
    Unreserve(Result<Resources, String>),
    /// An operation that cannot be carried out: the whole call fails.
    Malformed(String),
}

/// A task as sent.
#[derive(Debug)]
pub(in crate::master) struct TaskInput {
    /// Its id.
    pub id: TaskId,
    /// The agent it names.
    pub agent: AgentId,
    /// Its resources (or why they cannot be read).
    pub resources: Result<Resources, String>,
    /// Whether it has a command.
    pub has_command: bool,
    /// Its executor, if it has one.
    pub executor: Option<ExecutorInput>,
    /// Its labels.
    pub labels: Vec<(String, String)>,
    /// Its command line.
    pub command: Option<String>,
    /// Its kill policy's grace period.
    pub kill_grace: Option<Duration>,
    /// What it would run on a local agent (or why it cannot).
    pub local: Result<LocalCommand, String>,
}

/// An executor as sent.
#[derive(Debug)]
pub(in crate::master) struct ExecutorInput {
    /// Its id.
    pub id: ExecutorId,
    /// Its resources (or why they cannot be read).
    pub resources: Result<Resources, String>,
}

/// One operation of an ACCEPT, checked enough to be played.
enum Op {
    Tasks(Vec<TaskInput>),
    Group {
        executor: Box<ExecutorInput>,
        tasks: Vec<TaskInput>,
    },
    /// Reserve these (in their reserved form) for their role.
    Reserve(Resources),
    /// Unreserve these (in their reserved form).
    Unreserve(Resources),
}

impl Op {
    fn tasks(&self) -> &[TaskInput] {
        match self {
            Op::Tasks(tasks) | Op::Group { tasks, .. } => tasks,
            Op::Reserve(_) | Op::Unreserve(_) => &[],
        }
    }
}

/// What the accepted offers still hold, and where.
struct OfferPool {
    agent: AgentId,
    role: Role,
    roles: BTreeSet<Role>,
    left: Resources,
}

/// A task that passed the checks.
struct CheckedTask {
    id: TaskId,
    resources: Resources,
    plan: SimPlan,
    /// What it runs, when its agent is a local one.
    local: Option<LocalCommand>,
}

/// Gives a task's or executor's entries without an allocation the
/// offers' role, and checks every allocation role.
fn stamp(
    pool: &OfferPool,
    parsed: &Result<Resources, String>,
    what: &str,
) -> Result<Resources, String> {
    let parsed = parsed
        .as_ref()
        .map_err(|e| format!("invalid {what} resources: {e}"))?;
    let mut out = Resources::new();
    for entry in parsed.iter() {
        let mut entry = entry.clone();
        let role = entry.allocation.get_or_insert_with(|| pool.role.clone());
        if !pool.roles.contains(role) {
            return Err(format!(
                "{what} resource {} is allocated to role {role}, which the framework is not subscribed with",
                entry.name
            ));
        }
        if *role != pool.role {
            return Err(format!(
                "{what} resource {} is allocated to role {role} but the offers are allocated to role {}",
                entry.name, pool.role
            ));
        }
        out.push(entry);
    }
    Ok(out)
}

fn check_fits(pool: &OfferPool, what: &str, wanted: &Resources) -> Result<(), String> {
    if pool.left.contains(wanted) {
        Ok(())
    } else {
        Err(format!(
            "{what} asks for {} but the offers (role {}) only have {} left",
            wanted.unallocated(),
            pool.role,
            pool.left.unallocated()
        ))
    }
}

fn take(pool: &mut OfferPool, charge: &Resources) {
    if let Err(err) = pool.left.subtract(charge) {
        // check_fits passed just before, so this is a bug in Resources.
        error!(%err, "subtracting a checked charge from the offers failed");
    }
}

/// Plays the call's operations on a copy of what the offers hold: each
/// RESERVE / UNRESERVE must find its resources there, in order (tasks that
/// fit take theirs first; a task that does not fit is answered later with
/// TASK_ERROR and takes nothing).
fn dry_run(pool: &OfferPool, operations: &[Op]) -> Result<(), CallError> {
    let mut left = pool.left.clone();
    let fail = |what: &str, wanted: &Resources, left: &Resources| {
        let message = format!(
            "{what} of {}: the offers hold only {} of that form",
            wanted.unallocated(),
            left.unallocated()
        );
        warn!(%message, "ACCEPT refused");
        CallError::InvalidOperation(message)
    };
    for op in operations {
        match op {
            Op::Tasks(tasks) | Op::Group { tasks, .. } => {
                for task in tasks {
                    if let Ok(wanted) = stamp(pool, &task.resources, "task") {
                        if let Some(rest) = left.checked_sub(&wanted) {
                            left = rest;
                        }
                    }
                }
            }
            Op::Reserve(reserved) => {
                let source = reserved.without_reservation();
                left = left
                    .checked_sub(&source)
                    .ok_or_else(|| fail("RESERVE", &source, &left))?;
                left += reserved;
            }
            Op::Unreserve(reserved) => {
                left = left
                    .checked_sub(reserved)
                    .ok_or_else(|| fail("UNRESERVE", reserved, &left))?;
                left += &reserved.without_reservation();
            }
        }
    }
    Ok(())
}

/// The resources of a RESERVE or UNRESERVE, in reserved form, each
/// reserved for and allocated to the offers' role (`role`; allocation
/// filled in when left out).
fn reservation_resources(
    parsed: Result<Resources, String>,
    what: &str,
    role: Option<&Role>,
) -> Result<Resources, CallError> {
    let invalid = |why: String| CallError::InvalidOperation(format!("{what}: {why}"));
    let parsed = parsed.map_err(invalid)?;
    if parsed.is_empty() {
        return Err(invalid("names no resources".into()));
    }
    // Without a usable offer the call's tasks are dropped anyway.
    let Some(role) = role else {
        return Ok(parsed);
    };
    let mut out = Resources::new();
    for entry in parsed.iter() {
        let mut entry = entry.clone();
        match &entry.reservation {
            Some(r) if r == role => {}
            Some(r) => {
                return Err(invalid(format!(
                    "{} is reserved for {r}, but the offers are allocated to {role}; \
                     resources can only be reserved for the role they are allocated to",
                    entry.name
                )))
            }
            None => return Err(invalid(format!("{} names no reservation", entry.name))),
        }
        if entry.revocable {
            return Err(invalid(format!("{} is revocable", entry.name)));
        }
        let allocation = entry.allocation.get_or_insert_with(|| role.clone());
        if allocation != role {
            return Err(invalid(format!(
                "{} is allocated to {allocation}, not to the offers' role {role}",
                entry.name
            )));
        }
        out.push(entry);
    }
    Ok(out)
}

fn parse_operations(operations: Vec<Operation>, role: Option<&Role>) -> Result<Vec<Op>, CallError> {
    let mut out = Vec::with_capacity(operations.len());
    for operation in operations {
        out.push(match operation {
            Operation::Launch(tasks) => Op::Tasks(tasks),
            Operation::LaunchGroup { executor, tasks } => Op::Group { executor, tasks },
            Operation::Reserve(resources) => {
                Op::Reserve(reservation_resources(resources, "RESERVE", role)?)
            }
            Operation::Unreserve(resources) => {
                Op::Unreserve(reservation_resources(resources, "UNRESERVE", role)?)
            }
            Operation::Malformed(why) => return Err(CallError::InvalidOperation(why)),
        });
    }
    Ok(out)
}

/// ACCEPT. Unsupported or malformed operations fail the whole call before
/// anything changes; everything else is answered with task updates.
pub(in crate::master) fn accept(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    accept: Accept,
) -> Result<(), CallError> {
    let ids = accept.offers;
    let (valid, problems) = core.offers.check_set(fw, &ids);
    let offer_role = valid.first().map(|o| o.role.clone());
    let operations = parse_operations(accept.operations, offer_role.as_ref())?;
    let roles = core
        .frameworks
        .get(fw)
        .map(|r| r.roles.clone())
        .ok_or_else(|| CallError::NotSubscribed {
            framework: fw.clone(),
        })?;
    if valid.is_empty() || !problems.is_empty() {
        let message = if ids.is_empty() {
            "invalid offers: the call names no offer".to_owned()
        } else {
            let listed: Vec<String> = problems
                .iter()
                .map(|(id, p)| format!("offer {id} {p}"))
                .collect();
            format!("invalid offers: {}", listed.join("; "))
        };
        warn!(framework = %fw, %message, "ACCEPT with invalid offers");
        for offer in &valid {
            if let Some(offer) = core.offers.retire(&offer.id, Retirement::Accepted) {
                core.recover(now, fw, &offer.agent, &offer.resources, None);
            }
        }
        drop_tasks(core, now, fw, &operations, &message);
        return Ok(());
    }
    let mut pool = OfferPool {
        agent: valid[0].agent.clone(),
        role: valid[0].role.clone(),
        roles,
        left: Resources::new(),
    };
    for offer in &valid {
        pool.left += &offer.resources;
    }
    // A RESERVE or UNRESERVE that would not apply fails the whole call
    // now, before anything changes.
    dry_run(&pool, &operations)?;
    for offer in &valid {
        core.offers.retire(&offer.id, Retirement::Accepted);
    }
    for operation in operations {
        match operation {
            Op::Tasks(tasks) => {
                for task in tasks {
                    launch_task(core, now, fw, &mut pool, task);
                }
            }
            Op::Group { executor, tasks } => {
                launch_group(core, now, fw, &mut pool, executor, tasks);
            }
            Op::Reserve(resources) => reserve_in_offer(core, fw, &mut pool, &resources),
            Op::Unreserve(resources) => unreserve_in_offer(core, fw, &mut pool, &resources),
        }
    }
    core.recover(now, fw, &pool.agent, &pool.left, Some(accept.refuse));
    Ok(())
}

/// Every task of the call gets TASK_DROPPED (partition aware) or
/// TASK_LOST with REASON_INVALID_OFFERS.
fn drop_tasks(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    operations: &[Op],
    message: &str,
) {
    let partition_aware = core
        .frameworks
        .get(fw)
        .is_some_and(|r| r.capabilities.partition_aware);
    let state = if partition_aware {
        TaskState::Dropped
    } else {
        TaskState::Lost
    };
    for task in operations.iter().flat_map(Op::tasks) {
        reject(
            core,
            now,
            fw,
            task,
            state,
            Reason::InvalidOffers,
            message.to_owned(),
        );
    }
}

fn reject(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    task: &TaskInput,
    state: TaskState,
    reason: Reason,
    message: String,
) {
    let id = &task.id;
    warn!(framework = %fw, task = %id, ?state, %message, "task refused");
    let mut status = task_status(now, id, state, Source::Master);
    status.agent_id = Some(task.agent.clone());
    status.reason = Some(reason);
    status.message = Some(message);
    core.report(now, fw, status);
}

fn launch_task(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    pool: &mut OfferPool,
    task: TaskInput,
) {
    let checked = check_task(core, fw, pool, &task, false).and_then(|checked| {
        // Exactly one of command and executor, as Mesos requires.
        match (task.has_command, &task.executor) {
            (true, Some(_)) => {
                return Err("a task cannot have both a command and an executor".to_owned())
            }
            (false, None) => return Err("a task needs a command or an executor".to_owned()),
            _ => {}
        }
        let executor = match &task.executor {
            Some(info) => Some(check_executor(core, fw, pool, info)?),
            None => None,
        };
        let mut charge = checked.resources.clone();
        if let Some((_, resources, true)) = &executor {
            charge += resources;
        }
        check_fits(pool, &format!("task {}", checked.id), &charge)?;
        Ok((checked, executor, charge))
    });
    match checked {
        Err(message) => reject(
            core,
            now,
            fw,
            &task,
            TaskState::Error,
            Reason::TaskInvalid,
            message,
        ),
        Ok((checked, executor, charge)) => {
            take(pool, &charge);
            let executor = executor.map(|(id, resources, _)| (id, resources));
            start_task(core, now, fw, pool, checked, executor, None);
        }
    }
}

fn launch_group(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    pool: &mut OfferPool,
    executor: Box<ExecutorInput>,
    tasks: Vec<TaskInput>,
) {
    let checked = (|| {
        if tasks.is_empty() {
            return Err("task group invalid: it has no tasks".to_owned());
        }
        let (executor_id, executor_resources, new) = check_executor(core, fw, pool, &executor)
            .map_err(|e| format!("task group invalid: {e}"))?;
        let mut charge = if new {
            executor_resources.clone()
        } else {
            Resources::new()
        };
        let mut seen = BTreeSet::new();
        let mut checked = Vec::with_capacity(tasks.len());
        for task in &tasks {
            let one = check_task(core, fw, pool, task, true)
                .and_then(|c| {
                    if seen.insert(c.id.clone()) {
                        Ok(c)
                    } else {
                        Err(format!("duplicate task id {} in the group", c.id))
                    }
                })
                .map_err(|e| format!("task group invalid: task {}: {e}", task.id))?;
            charge += &one.resources;
            checked.push(one);
        }
        check_fits(pool, "task group", &charge).map_err(|e| format!("task group invalid: {e}"))?;
        Ok((checked, (executor_id, executor_resources), charge))
    })();
    match checked {
        Err(message) => {
            for task in &tasks {
                reject(
                    core,
                    now,
                    fw,
                    task,
                    TaskState::Error,
                    Reason::TaskGroupInvalid,
                    message.clone(),
                );
            }
        }
        Ok((checked, executor, charge)) => {
            take(pool, &charge);
            let group = core.tasks.new_group();
            for task in checked {
                start_task(
                    core,
                    now,
                    fw,
                    pool,
                    task,
                    Some(executor.clone()),
                    Some(group),
                );
            }
        }
    }
}

fn start_task(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    pool: &OfferPool,
    task: CheckedTask,
    executor: Option<(ExecutorId, Resources)>,
    group: Option<u64>,
) {
    let mut status = task_status(now, &task.id, TaskState::Staging, Source::Master);
    status.agent_id = Some(pool.agent.clone());
    status.executor_id = executor.as_ref().map(|(id, _)| id.clone());
    let launch = Launch {
        framework: fw.clone(),
        id: task.id,
        agent: pool.agent.clone(),
        role: pool.role.clone(),
        resources: task.resources,
        executor,
        group,
        plan: task.plan,
    };
    match task.local {
        Some(command) => local_tasks::launch_local(core, now, launch, command),
        None => core.tasks.launch(now, launch),
    }
    core.report(now, fw, status);
}

/// RESERVE inside an ACCEPT: `reserved` (the target form) replaces its
/// unreserved counterpart in what the offers hold, so later operations
/// of the call can use it. [`dry_run`] has checked it applies.
fn reserve_in_offer(
    core: &mut MasterCore,
    fw: &FrameworkId,
    pool: &mut OfferPool,
    reserved: &Resources,
) {
    let source = reserved.without_reservation();
    let result = core
        .allocator
        .reserve_allocated(fw, &pool.agent, &pool.role, &source);
    converted(core, fw, pool, &source, result);
}

/// UNRESERVE inside an ACCEPT: the reverse of [`Self::reserve_in_offer`].
fn unreserve_in_offer(
    core: &mut MasterCore,
    fw: &FrameworkId,
    pool: &mut OfferPool,
    reserved: &Resources,
) {
    let result = core
        .allocator
        .unreserve_allocated(fw, &pool.agent, reserved);
    converted(core, fw, pool, reserved, result);
}

/// Swaps `from` for what the allocator converted it to in the offer
/// pool, and keeps the master's agent record in step.
fn converted(
    core: &mut MasterCore,
    fw: &FrameworkId,
    pool: &mut OfferPool,
    from: &Resources,
    result: Result<Resources, crate::allocator::AllocatorError>,
) {
    match result {
        Ok(to) if pool.left.contains(from) => {
            take(pool, from);
            pool.left += &to;
            operator::sync_agent(core, &pool.agent);
            info!(framework = %fw, agent = %pool.agent, %from, %to, "reservation changed");
        }
        Ok(_) => {
            error!(framework = %fw, %from, "converted resources the offers do not hold (books disagree)")
        }
        Err(err) => {
            warn!(framework = %fw, %err, "reservation did not apply (its dry run did); skipped")
        }
    }
}

/// The checks every task gets: id, duplicates, agent, resources, labels.
fn check_task(
    core: &MasterCore,
    fw: &FrameworkId,
    pool: &OfferPool,
    task: &TaskInput,
    in_group: bool,
) -> Result<CheckedTask, String> {
    let id = task.id.clone();
    if id.as_str().is_empty() {
        return Err("task id must not be empty".to_owned());
    }
    if core.tasks.is_active(fw, &id) {
        return Err(format!(
            "duplicate task id {id}: a task with this id is still active"
        ));
    }
    let agent = &task.agent;
    if *agent != pool.agent {
        return Err(format!(
            "task {id} is for agent {agent} but the offers are on agent {}",
            pool.agent
        ));
    }
    if in_group && task.executor.is_some() {
        return Err("a task of a task group must not have its own executor".to_owned());
    }
    let resources = stamp(pool, &task.resources, "task")?;
    if resources.is_empty() {
        return Err(format!("task {id} uses no resources"));
    }
    // Lent resources are taken back task by task: a task is either
    // revocable or not, never half of each.
    not_mixed(&resources, &format!("task {id}"))?;
    let plan = sim::plan(&SimTask {
        labels: &task.labels,
        command: task.command.as_deref(),
        kill_grace: task.kill_grace,
    })?;
    let local = local_tasks::check_local_task(core, agent, || task.local.clone())?;
    Ok(CheckedTask {
        id,
        resources,
        plan,
        local,
    })
}

/// An executor's id, resources, and whether it is new on the agent (its
/// resources are charged only then).
fn check_executor(
    core: &MasterCore,
    fw: &FrameworkId,
    pool: &OfferPool,
    executor: &ExecutorInput,
) -> Result<(ExecutorId, Resources, bool), String> {
    let id = executor.id.clone();
    if id.as_str().is_empty() {
        return Err("executor id must not be empty".to_owned());
    }
    let resources = stamp(pool, &executor.resources, "executor")?;
    let new = !core.tasks.executor_running(fw, &pool.agent, &id);
    Ok((id, resources, new))
}
