//! [`DriverHandle`]: the runtime's [`Driver`], turning each action into a
//! call on the wire after checking what can be checked locally.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::config::AckMode;
use super::state::{Shared, StopKind, TaskRecord};
use crate::driver::Driver;
use crate::error::{Error, RejectKind, TransportError};
use crate::executor::ExecutorInfo;
use crate::offer::Offer;
use crate::pb;
use crate::pb::call::Type as CallType;
use crate::resources::Resources;
use crate::revocation::RevocationNotice;
use crate::task::{KillPolicy, TaskInfo, TaskState, TaskStatus};
use crate::{AgentId, FrameworkId, OfferId, Role, TaskId};

/// A cloneable handle on a running framework: the [`Driver`] handlers get,
/// usable from any task.
#[derive(Clone)]
pub struct DriverHandle {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for DriverHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverHandle")
            .field("framework_id", &self.framework_id())
            .finish()
    }
}

fn filters(refuse: Option<Duration>) -> Option<pb::Filters> {
    refuse.map(|d| pb::Filters {
        refuse_seconds: Some(d.as_secs_f64()),
    })
}

impl DriverHandle {
    /// Builds a call of `kind` for the current connection, or fails with
    /// `Disconnected`.
    pub(crate) fn call(&self, kind: CallType) -> Result<(String, pb::Call), Error> {
        let state = self.shared.lock();
        let conn = state.conn.as_ref().ok_or(Error::Disconnected)?;
        let mut call = pb::Call {
            framework_id: Some(conn.framework_id.to_pb()),
            ..Default::default()
        };
        call.set_type(kind);
        Ok((conn.stream_id.clone(), call))
    }

    pub(crate) async fn send(&self, stream_id: &str, call: pb::Call) -> Result<(), Error> {
        let kind = call.r#type();
        self.shared
            .transport
            .send(stream_id, call)
            .await
            .map_err(|e| {
                tracing::warn!(call = ?kind, error = %e, "call failed");
                match e {
                    TransportError::Unavailable(_) => Error::Disconnected,
                    other => Error::Transport(other),
                }
            })
    }

    /// Sends KILL for `task` on `agent` (if known); `grace` overrides the
    /// task's kill policy.
    async fn send_kill(
        &self,
        task: &TaskId,
        agent: Option<AgentId>,
        grace: Option<Duration>,
    ) -> Result<(), Error> {
        let (stream, mut call) = self.call(CallType::Kill)?;
        call.kill = Some(pb::call::Kill {
            task_id: task.to_pb(),
            agent_id: agent.map(|a| a.to_pb()),
            kill_policy: grace.map(|g| KillPolicy::grace(g).to_pb()),
        });
        tracing::debug!(%task, ?grace, "kill");
        self.send(&stream, call).await
    }

    /// The tasks of `notice` still to kill: those not seen ending or
    /// already being killed.
    fn revoked_tasks_to_kill(&self, notice: &RevocationNotice) -> Vec<TaskId> {
        let state = self.shared.lock();
        notice
            .tasks
            .iter()
            .filter(|task| {
                let last = state.tasks.get(*task).and_then(|t| t.last.as_ref());
                !last.is_some_and(|s| s.state.is_terminal() || s.state == TaskState::Killing)
            })
            .cloned()
            .collect()
    }

    /// Checks that `roles` are the framework's own; empty means all of them.
    fn own_roles(&self, roles: &[Role]) -> Result<Vec<Role>, Error> {
        let state = self.shared.lock();
        if roles.is_empty() {
            return Ok(state.info.roles.clone());
        }
        for role in roles {
            if !state.info.roles.contains(role) {
                return Err(Error::invalid(
                    "role",
                    format!(
                        "{role} is not one of the framework's roles {:?}",
                        state.info.roles
                    ),
                ));
            }
        }
        Ok(roles.to_vec())
    }

    /// Sends REVIVE for `roles` (already rate-limited).
    pub(crate) async fn send_revive(&self, roles: Vec<Role>) -> Result<(), Error> {
        if roles.is_empty() {
            return Ok(());
        }
        let (stream, mut call) = self.call(CallType::Revive)?;
        call.revive = Some(pb::call::Revive {
            roles: roles.iter().map(|r| r.to_string()).collect(),
        });
        tracing::debug!(?roles, "revive");
        self.send(&stream, call).await
    }

    /// Sends ACKNOWLEDGE for `status` (which must carry a uuid and an agent).
    pub(crate) async fn send_ack(&self, status: &TaskStatus) -> Result<(), Error> {
        let (Some(uuid), Some(agent)) = (&status.uuid, &status.agent_id) else {
            return Err(Error::invalid(
                "acknowledgement",
                "only status updates with a uuid and an agent are acknowledged",
            ));
        };
        let (stream, mut call) = self.call(CallType::Acknowledge)?;
        call.acknowledge = Some(pb::call::Acknowledge {
            agent_id: agent.to_pb(),
            task_id: status.task_id.to_pb(),
            uuid: uuid.clone(),
        });
        self.send(&stream, call).await
    }

    fn validate_launch(&self, offer: &Offer, tasks: &[TaskInfo]) -> Result<(), Error> {
        if tasks.is_empty() {
            return Err(Error::invalid(
                "launch",
                "no tasks (decline the offer instead)",
            ));
        }
        let state = self.shared.lock();
        if !state.offers.contains_key(&offer.id) {
            return Err(Error::UnknownOffer(offer.id.clone()));
        }
        let mut ids = BTreeSet::new();
        let mut total = Resources::new();
        for task in tasks {
            if !ids.insert(&task.id) {
                return Err(Error::invalid(
                    format!("task {}", task.id),
                    "its id appears twice in this launch",
                ));
            }
            if state.tasks.get(&task.id).is_some_and(|t| !t.is_terminal()) {
                return Err(Error::invalid(
                    format!("task {}", task.id),
                    "a task with this id is already active",
                ));
            }
            if task.resources.is_empty() {
                return Err(Error::invalid(
                    format!("task {}", task.id),
                    "it asks for no resources",
                ));
            }
            let regular = !task.resources.non_revocable().is_empty();
            let lent = !task.resources.only_revocable().is_empty();
            if regular && lent {
                return Err(Error::invalid(
                    format!("task {}", task.id),
                    "it mixes regular and revocable resources",
                ));
            }
            total += &task.resources;
        }
        if !offer.fits(&total) {
            return Err(Error::invalid(
                "launch",
                format!(
                    "the tasks need {total}, the offer {} has {}",
                    offer.id,
                    offer.resources.unallocated()
                ),
            ));
        }
        Ok(())
    }
}

impl DriverHandle {
    /// Sends an ACCEPT with one launching `operation` for `tasks` on
    /// `offer`, and records the tasks (forgotten again if the master
    /// refuses the whole call).
    async fn send_launch(
        &self,
        offer: &Offer,
        tasks: &[TaskInfo],
        operation: pb::offer::Operation,
    ) -> Result<(), Error> {
        let (stream, mut call) = self.call(CallType::Accept)?;
        call.accept = Some(pb::call::Accept {
            offer_ids: vec![offer.id.to_pb()],
            operations: vec![operation],
            filters: None,
        });
        {
            let mut state = self.shared.lock();
            if state.offers.remove(&offer.id).is_none() {
                // Rescinded or answered by someone else since validation.
                return Err(Error::UnknownOffer(offer.id.clone()));
            }
            for task in tasks {
                state.tasks.insert(
                    task.id.clone(),
                    TaskRecord {
                        agent: Some(offer.agent_id.clone()),
                        last: None,
                    },
                );
            }
        }
        tracing::debug!(offer = %offer.id, tasks = tasks.len(), "launch");
        let result = self.send(&stream, call).await;
        if let Err(Error::Transport(TransportError::Rejected { .. })) = &result {
            // The master refused the whole call: none of these tasks exist.
            let mut state = self.shared.lock();
            for task in tasks {
                state.tasks.remove(&task.id);
            }
        }
        result
    }
}

#[async_trait]
impl Driver for DriverHandle {
    fn framework_id(&self) -> Option<FrameworkId> {
        let state = self.shared.lock();
        state
            .conn
            .as_ref()
            .map(|c| c.framework_id.clone())
            .or_else(|| state.info.id.clone())
    }

    async fn launch(&self, offer: &Offer, tasks: Vec<TaskInfo>) -> Result<(), Error> {
        self.validate_launch(offer, &tasks)?;
        let infos: Vec<pb::TaskInfo> = tasks
            .iter()
            .map(|t| t.to_pb(&offer.agent_id, &offer.role))
            .collect();
        let mut operation = pb::offer::Operation {
            launch: Some(pb::offer::operation::Launch { task_infos: infos }),
            ..Default::default()
        };
        operation.set_type(pb::offer::operation::Type::Launch);
        self.send_launch(offer, &tasks, operation).await
    }

    async fn launch_group(
        &self,
        offer: &Offer,
        executor: ExecutorInfo,
        tasks: Vec<TaskInfo>,
    ) -> Result<(), Error> {
        if executor.id.as_str().is_empty() {
            return Err(Error::invalid("launch_group", "the executor id is empty"));
        }
        self.validate_launch(offer, &tasks)?;
        let framework = self.framework_id();
        let tasks_pb: Vec<pb::TaskInfo> = tasks
            .iter()
            .map(|t| t.to_pb(&offer.agent_id, &offer.role))
            .collect();
        let mut operation = pb::offer::Operation {
            launch_group: Some(pb::offer::operation::LaunchGroup {
                executor: executor.to_pb(framework.as_ref(), &offer.role),
                task_group: pb::TaskGroupInfo { tasks: tasks_pb },
            }),
            ..Default::default()
        };
        operation.set_type(pb::offer::operation::Type::LaunchGroup);
        self.send_launch(offer, &tasks, operation).await
    }

    async fn decline(&self, offer: &OfferId, refuse: Option<Duration>) -> Result<(), Error> {
        let (stream, mut call) = self.call(CallType::Decline)?;
        if self.shared.lock().offers.remove(offer).is_none() {
            return Err(Error::UnknownOffer(offer.clone()));
        }
        call.decline = Some(pb::call::Decline {
            offer_ids: vec![offer.to_pb()],
            filters: filters(refuse),
        });
        self.send(&stream, call).await
    }

    async fn suppress(&self, roles: &[Role]) -> Result<(), Error> {
        let roles = self.own_roles(roles)?;
        let (stream, mut call) = self.call(CallType::Suppress)?;
        call.suppress = Some(pb::call::Suppress {
            roles: roles.iter().map(|r| r.to_string()).collect(),
        });
        self.send(&stream, call).await?;
        let mut state = self.shared.lock();
        state.revives.cancel(&roles);
        state.suppressed.extend(roles);
        Ok(())
    }

    async fn revive(&self, roles: &[Role]) -> Result<(), Error> {
        let roles = self.own_roles(roles)?;
        // Fail now, not later from the queue, if disconnected.
        self.call(CallType::Revive)?;
        let now_ok = {
            let mut state = self.shared.lock();
            for role in &roles {
                state.suppressed.remove(role);
            }
            let min = self.shared.config.min_revive_interval;
            state.revives.admit(&roles, Instant::now(), min)
        };
        if now_ok.len() < roles.len() {
            // Some were queued: the runtime loop sends them when due.
            self.shared.wake.notify_one();
        }
        self.send_revive(now_ok).await
    }

    async fn kill(&self, task: &TaskId, grace: Option<Duration>) -> Result<(), Error> {
        let agent = self
            .shared
            .lock()
            .tasks
            .get(task)
            .and_then(|t| t.agent.clone());
        self.send_kill(task, agent, grace).await
    }

    async fn reconcile(&self, tasks: &[TaskId]) -> Result<(), Error> {
        let (stream, mut call) = self.call(CallType::Reconcile)?;
        let entries = {
            let state = self.shared.lock();
            tasks
                .iter()
                .map(|t| pb::call::reconcile::Task {
                    task_id: t.to_pb(),
                    agent_id: state
                        .tasks
                        .get(t)
                        .and_then(|r| r.agent.as_ref())
                        .map(|a| a.to_pb()),
                })
                .collect()
        };
        call.reconcile = Some(pb::call::Reconcile { tasks: entries });
        self.send(&stream, call).await
    }

    async fn update_roles(&self, roles: Vec<Role>) -> Result<(), Error> {
        let mut info = self.shared.lock().info.clone();
        info.roles = roles;
        info.suppressed_roles.retain(|r| info.roles.contains(r));
        info.validate()?;
        let (stream, mut call) = self.call(CallType::UpdateFramework)?;
        let mut wire = info.to_pb();
        wire.id = call.framework_id.clone();
        let suppressed: Vec<String> = {
            let state = self.shared.lock();
            state
                .suppressed
                .iter()
                .filter(|r| info.roles.contains(r))
                .map(|r| r.to_string())
                .collect()
        };
        call.update_framework = Some(pb::call::UpdateFramework {
            framework_info: wire,
            suppressed_roles: suppressed,
        });
        self.send(&stream, call).await?;
        let mut state = self.shared.lock();
        state.offers.retain(|_, o| info.roles.contains(&o.role));
        state.suppressed.retain(|r| info.roles.contains(r));
        state.info.roles = info.roles;
        Ok(())
    }

    async fn request(&self, role: &Role, resources: &Resources) -> Result<(), Error> {
        self.own_roles(std::slice::from_ref(role))?;
        if resources.is_empty() {
            return Err(Error::invalid("request", "it asks for no resources"));
        }
        let (stream, mut call) = self.call(CallType::Request)?;
        call.request = Some(pb::call::Request {
            requests: vec![pb::Request {
                agent_id: None,
                resources: resources.allocated_to(role).to_pb(),
            }],
        });
        self.send(&stream, call).await
    }

    async fn withdraw_requests(&self) -> Result<(), Error> {
        let (stream, mut call) = self.call(CallType::Request)?;
        call.request = Some(pb::call::Request {
            requests: Vec::new(),
        });
        self.send(&stream, call).await
    }

    async fn acknowledge(&self, status: &TaskStatus) -> Result<(), Error> {
        if self.shared.config.ack_mode == AckMode::Implicit {
            return Err(Error::invalid(
                "acknowledgement",
                "the runtime acknowledges updates itself (AckMode::Implicit)",
            ));
        }
        self.send_ack(status).await
    }

    async fn accept_inverse_offers(&self, offers: &[OfferId]) -> Result<(), Error> {
        let (stream, mut call) = self.call(CallType::AcceptInverseOffers)?;
        call.accept_inverse_offers = Some(pb::call::AcceptInverseOffers {
            inverse_offer_ids: offers.iter().map(OfferId::to_pb).collect(),
            filters: None,
        });
        self.send(&stream, call).await?;
        self.shared.lock().notices.answered(offers);
        Ok(())
    }

    async fn decline_inverse_offers(&self, offers: &[OfferId]) -> Result<(), Error> {
        let (stream, mut call) = self.call(CallType::DeclineInverseOffers)?;
        call.decline_inverse_offers = Some(pb::call::DeclineInverseOffers {
            inverse_offer_ids: offers.iter().map(OfferId::to_pb).collect(),
            filters: None,
        });
        self.send(&stream, call).await?;
        self.shared.lock().notices.answered(offers);
        Ok(())
    }

    async fn release(&self, notice: &RevocationNotice) -> Result<(), Error> {
        // Fail now, before any kill, if disconnected.
        self.call(CallType::AcceptInverseOffers)?;
        let to_kill = self.revoked_tasks_to_kill(notice);
        tracing::info!(
            notice = %notice.id,
            agent = %notice.agent_id,
            killing = ?to_kill,
            "releasing revoked tasks"
        );
        for task in &to_kill {
            match self
                .send_kill(task, Some(notice.agent_id.clone()), None)
                .await
            {
                Ok(()) => {}
                Err(Error::Transport(TransportError::Rejected {
                    kind: RejectKind::NotFound,
                    ..
                })) => tracing::debug!(%task, "revoked task already gone"),
                Err(e) => return Err(e),
            }
        }
        let answer = self
            .accept_inverse_offers(std::slice::from_ref(&notice.id))
            .await;
        withdrawn_is_done(notice, answer)
    }

    async fn decline_revocation(&self, notice: &RevocationNotice) -> Result<(), Error> {
        tracing::info!(
            notice = %notice.id,
            tasks = ?notice.tasks,
            deadline = ?notice.deadline,
            "keeping revoked tasks until the deadline"
        );
        let answer = self
            .decline_inverse_offers(std::slice::from_ref(&notice.id))
            .await;
        withdrawn_is_done(notice, answer)
    }

    fn task_status(&self, task: &TaskId) -> Option<TaskStatus> {
        self.shared
            .lock()
            .tasks
            .get(task)
            .and_then(|t| t.last.clone())
    }

    fn stop(&self) {
        self.shared.lock().stop.get_or_insert(StopKind::Disconnect);
        self.shared.wake.notify_one();
    }

    async fn teardown(&self) -> Result<(), Error> {
        // Let acknowledgements already on their way land first (bounded), so
        // the master doesn't see acks for a framework it just removed.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let done = self.shared.acks_done.notified();
            if self.shared.lock().acks_in_flight == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, done).await.is_err() {
                break;
            }
        }
        let (stream, call) = self.call(CallType::Teardown)?;
        let result = self.send(&stream, call).await;
        if result.is_ok() {
            self.shared.lock().stop = Some(StopKind::Teardown);
            self.shared.wake.notify_one();
        }
        result
    }
}

/// The answer to a revocation notice, where a master that no longer knows
/// the notice counts as done: it withdrew it because every task it named
/// has ended (the RESCIND_INVERSE_OFFER may still be on its way).
fn withdrawn_is_done(notice: &RevocationNotice, answer: Result<(), Error>) -> Result<(), Error> {
    match answer {
        Err(Error::Transport(TransportError::Rejected {
            kind: RejectKind::NotFound,
            ..
        })) => {
            tracing::debug!(notice = %notice.id, "revocation notice already withdrawn");
            Ok(())
        }
        other => other,
    }
}

/// Builds the SUBSCRIBE call from the current framework info.
pub(crate) fn subscribe_call(shared: &Shared) -> pb::Call {
    let state = shared.lock();
    let mut call = pb::Call {
        framework_id: state.info.id.as_ref().map(FrameworkId::to_pb),
        subscribe: Some(pb::call::Subscribe {
            framework_info: state.info.to_pb(),
            suppressed_roles: state.suppressed.iter().map(|r| r.to_string()).collect(),
        }),
        ..Default::default()
    };
    call.set_type(CallType::Subscribe);
    call
}
