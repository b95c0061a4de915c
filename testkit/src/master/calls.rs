//! Handlers of the calls other than SUBSCRIBE and ACCEPT: DECLINE, REVIVE,
//! SUPPRESS, KILL, ACKNOWLEDGE, RECONCILE, UPDATE_FRAMEWORK, REQUEST and the
//! inverse offer replies. Each runs after the stream check in
//! [`MasterCore::handle`].

use corral_proto::convert::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use corral::{FrameworkId, OfferId, Resources, Role, TaskId};
use corral_proto::pb;
use corral_proto::pb::task_status::{Reason, Source};
use corral_proto::pb::TaskState;
use tracing::warn;

use super::books::offers::Retirement;
use super::books::tasks::is_terminal;
use super::core::{allocator_ok, task_status, MasterCore};
use super::error::CallError;
use super::outbox;
use super::sim::duration_info;
use super::validate;

impl MasterCore {
    fn record(
        &self,
        fw: &FrameworkId,
    ) -> Result<&super::books::frameworks::FrameworkRecord, CallError> {
        self.frameworks
            .get(fw)
            .ok_or_else(|| CallError::NotSubscribed {
                framework: fw.clone(),
            })
    }

    /// DECLINE: every usable offer is recovered with the call's filter; the
    /// others are reported in one `UnknownOffers` error.
    pub(super) fn decline(
        &mut self,
        now: Duration,
        fw: &FrameworkId,
        decline: pb::call::Decline,
    ) -> Result<(), CallError> {
        let refuse = validate::refuse_filter(decline.filters.as_ref());
        let mut problems = Vec::new();
        for id in decline.offer_ids.iter().map(OfferId::from) {
            if let Err(problem) = self.offers.check(fw, &id) {
                problems.push((id, problem));
                continue;
            }
            if let Some(offer) = self.offers.retire(&id, Retirement::Declined) {
                self.recover(now, fw, &offer.agent, &offer.resources, Some(refuse));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(CallError::UnknownOffers(problems))
        }
    }

    /// REVIVE: unsuppress the roles (all if none named), clear their
    /// filters, and allocate at once.
    pub(super) fn revive(
        &mut self,
        now: Duration,
        fw: &FrameworkId,
        revive: pb::call::Revive,
    ) -> Result<(), CallError> {
        let roles = validate::subscribed_roles(&revive.roles, &self.record(fw)?.roles)?;
        allocator_ok(
            &mut self.broken,
            self.allocator.revive(fw, &roles),
            "revive",
        );
        self.frameworks.unsuppress(fw, &roles);
        self.allocate_now(now);
        Ok(())
    }

    /// SUPPRESS: no more offers for the roles (all if none named).
    pub(super) fn suppress(
        &mut self,
        fw: &FrameworkId,
        suppress: pb::call::Suppress,
    ) -> Result<(), CallError> {
        let roles = validate::subscribed_roles(&suppress.roles, &self.record(fw)?.roles)?;
        allocator_ok(
            &mut self.broken,
            self.allocator.suppress(fw, &roles),
            "suppress",
        );
        self.frameworks.suppress(fw, &roles);
        Ok(())
    }

    /// KILL: an unknown task gets TASK_LOST (TASK_UNKNOWN if partition
    /// aware); a live one (with its task group) starts stopping, with
    /// TASK_KILLING first for frameworks with the TASK_KILLING_STATE
    /// capability; a terminal one is left alone.
    pub(super) fn kill(
        &mut self,
        now: Duration,
        fw: &FrameworkId,
        kill: pb::call::Kill,
    ) -> Result<(), CallError> {
        let capabilities = self.record(fw)?.capabilities;
        let task = TaskId::from(&kill.task_id);
        let Some(record) = self.tasks.get(fw, &task) else {
            warn!(framework = %fw, %task, "KILL of an unknown task");
            let state = if capabilities.partition_aware {
                TaskState::TaskUnknown
            } else {
                TaskState::TaskLost
            };
            let mut status = task_status(now, &task, state, Source::Master);
            status.reason = Some(Reason::TaskUnknown as i32);
            status.message = Some(format!(
                "cannot kill task {task}: it is unknown to the master"
            ));
            status.agent_id = kill.agent_id;
            self.report(now, fw, status);
            return Ok(());
        };
        if is_terminal(record.state) {
            return Ok(());
        }
        let grace = kill
            .kill_policy
            .as_ref()
            .and_then(|p| p.grace_period.as_ref())
            .map(duration_info);
        self.kill_task(now, fw, &task, grace);
        Ok(())
    }

    /// Starts killing a live task wherever it runs: on a local agent, on a
    /// lost agent (when it comes back), or simulated. `grace` overrides the
    /// task's KillPolicy grace period.
    pub(super) fn kill_task(
        &mut self,
        now: Duration,
        fw: &FrameworkId,
        task: &TaskId,
        grace: Option<Duration>,
    ) {
        let Some(record) = self.tasks.get(fw, task) else {
            return;
        };
        if self.is_local_agent(&record.agent) {
            let killing_state = self
                .frameworks
                .get(fw)
                .is_some_and(|r| r.capabilities.task_killing_state);
            self.kill_local(now, fw, task, grace, killing_state);
            return;
        }
        if !self.defer_kill_if_lost(fw, task, grace) {
            self.start_kill(now, fw, task, grace);
        }
    }

    /// ACKNOWLEDGE: the task's in-flight update must carry this uuid; the
    /// task's next update, if any, goes out at once.
    pub(super) fn acknowledge(
        &mut self,
        now: Duration,
        fw: &FrameworkId,
        ack: pb::call::Acknowledge,
    ) -> Result<(), CallError> {
        let uuid = validate::uuid(&ack.uuid)?;
        let task = TaskId::from(&ack.task_id);
        match self.updates.ack(now, fw, &task, &uuid) {
            Ok(Some(next)) => {
                self.emit(fw, outbox::update(next));
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(_) => Err(CallError::UnknownUpdate {
                task,
                uuid: uuid.iter().map(|b| format!("{b:02x}")).collect(),
            }),
        }
    }

    /// RECONCILE: the latest state of the named tasks (every non-terminal
    /// task when none are named), sent at once without a uuid.
    pub(super) fn reconcile(
        &mut self,
        now: Duration,
        fw: &FrameworkId,
        reconcile: pb::call::Reconcile,
    ) -> Result<(), CallError> {
        let capabilities = self.record(fw)?.capabilities;
        let mut answers = Vec::new();
        if reconcile.tasks.is_empty() {
            for record in self.tasks.live_of(fw) {
                let mut status = task_status(now, &record.id, record.state, Source::Master);
                status.agent_id = Some(record.agent.to_pb());
                status.executor_id = record.executor.as_ref().map(|e| e.to_pb());
                answers.push(status);
            }
        }
        for asked in &reconcile.tasks {
            let task = TaskId::from(&asked.task_id);
            let status = match self.tasks.get(fw, &task) {
                Some(record) => {
                    let mut status = task_status(now, &task, record.state, Source::Master);
                    status.agent_id = Some(record.agent.to_pb());
                    status.executor_id = record.executor.as_ref().map(|e| e.to_pb());
                    status
                }
                None => {
                    let state = if capabilities.partition_aware {
                        TaskState::TaskUnknown
                    } else {
                        TaskState::TaskLost
                    };
                    let mut status = task_status(now, &task, state, Source::Master);
                    status.agent_id.clone_from(&asked.agent_id);
                    status.message = Some("reconciliation: task is unknown to the master".into());
                    status
                }
            };
            answers.push(status);
        }
        for mut status in answers {
            status.reason = Some(Reason::Reconciliation as i32);
            self.emit(fw, outbox::update(status));
        }
        Ok(())
    }

    /// UPDATE_FRAMEWORK: validated like SUBSCRIBE; offers of removed roles
    /// are rescinded; new or unsuppressed roles get an allocation at once.
    pub(super) fn update_framework(
        &mut self,
        now: Duration,
        fw: &FrameworkId,
        update: pb::call::UpdateFramework,
    ) -> Result<(), CallError> {
        let info = update.framework_info;
        let info_id = info.id.as_ref().map(|id| id.value.clone());
        if info_id.as_deref() != Some(fw.as_str()) {
            return Err(CallError::FrameworkIdMismatch {
                call: Some(fw.to_string()),
                info: info_id,
            });
        }
        let valid = validate::framework_info(&info, &update.suppressed_roles)?;
        let record = self.record(fw)?;
        validate::immutable_fields(&record.info, &info)?;
        let removed_roles: Vec<_> = record.roles.difference(&valid.roles).cloned().collect();
        for role in &removed_roles {
            for offer in self.offers.of_framework(fw, Some(role)) {
                self.rescind(now, &offer);
            }
        }
        if self.apply_framework_info(fw, info, valid) {
            self.allocate_now(now);
        }
        Ok(())
    }

    /// REQUEST: what the framework wants to hold in each named role, as
    /// explicit demand for the allocator (which reclaims lent resources for
    /// the role and stops lending its idle ones). Each resource names its
    /// role in `allocation_info` (a framework with one role may leave it
    /// out); a role's quantities are summed and replace the framework's
    /// previous request for that role. A call with no requests withdraws
    /// all of the framework's requests. A role's demand is the sum over its
    /// frameworks; it goes when they do. An allocation runs at once.
    pub(super) fn request(
        &mut self,
        now: Duration,
        fw: &FrameworkId,
        request: pb::call::Request,
    ) -> Result<(), CallError> {
        let roles = self.record(fw)?.roles.clone();
        let only_role = (roles.len() == 1)
            .then(|| roles.iter().next().cloned())
            .flatten();
        let mut wanted: BTreeMap<Role, Resources> = BTreeMap::new();
        for one in &request.requests {
            let parsed = Resources::from_pb(&one.resources)
                .map_err(|e| CallError::InvalidRequest(format!("invalid resources: {e}")))?;
            for entry in parsed.iter() {
                let role = match (&entry.allocation, &only_role) {
                    (Some(role), _) => role.clone(),
                    (None, Some(role)) => role.clone(),
                    (None, None) => {
                        return Err(CallError::InvalidRequest(format!(
                            "resource {} names no role (allocation_info.role) and the framework has several",
                            entry.name
                        )))
                    }
                };
                if !roles.contains(&role) {
                    return Err(CallError::RoleNotSubscribed { role });
                }
                let mut plain = entry.clone();
                plain.allocation = None;
                let mut one = Resources::new();
                one.push(plain);
                *wanted.entry(role).or_default() += &one;
            }
        }
        for (role, resources) in &wanted {
            tracing::info!(framework = %fw, %role, %resources, "resources requested");
        }
        let touched = self
            .frameworks
            .set_requests(fw, wanted, request.requests.is_empty());
        self.sync_requests(&touched);
        self.allocate_now(now);
        Ok(())
    }
}

impl MasterCore {
    /// Tells the allocator each role's demand: the sum of its frameworks'
    /// requests (none: the role's request is cleared).
    pub(super) fn sync_requests(&mut self, roles: &BTreeSet<Role>) {
        for role in roles {
            let sum = self.frameworks.demand(role);
            allocator_ok(
                &mut self.broken,
                self.allocator.request(role, &sum),
                "request",
            );
        }
    }
}
