//! The `corral.v1.Operator` gRPC service: each RPC becomes a job that the
//! master's actor runs on the core it owns (no lock, no second owner), and
//! its answer comes back on a oneshot. Wire types are converted here, at
//! the edge; refusals become gRPC statuses.

use corral_proto::convert::*;
use std::time::Duration;

use corral::{AgentId, Resources, ResourcesError, Role};
use tokio::sync::oneshot;
use tonic::{Request, Response, Status};

use super::error::{OperatorError, OperatorErrorKind};
use super::pb;
use super::pb::operator_server::Operator;
use super::views::{AgentResources, RoleInfo};
use crate::allocator::Quota;
use crate::master::books::agents::maintenance::{MaintenanceError, Window};
use crate::master::commands::{Command, Commands, Job};
use crate::master::core::MasterCore;

/// The tonic service: forwards each RPC to the master's actor.
pub(in crate::master) struct OperatorService {
    commands: Commands,
}

impl OperatorService {
    pub(in crate::master) fn new(commands: Commands) -> Self {
        Self { commands }
    }

    /// Runs `work` on the core in the actor and waits for its result.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut MasterCore, Duration) -> T + Send + 'static,
    ) -> Result<T, Status> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |core, now| {
            // The caller may be gone; the change stands all the same.
            let _ = reply.send(work(core, now));
        });
        self.commands
            .send(Command::Operate(job))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())
    }

    /// Runs a change and maps its refusal to a status.
    async fn change(
        &self,
        work: impl FnOnce(&mut MasterCore, Duration) -> Result<(), OperatorError> + Send + 'static,
    ) -> Result<(), Status> {
        self.run(work).await?.map_err(|err| status(&err))
    }
}

fn stopped() -> Status {
    Status::unavailable("the mock master is shut down")
}

/// The gRPC status of a refusal, with its message.
pub(crate) fn status(err: &OperatorError) -> Status {
    let message = err.to_string();
    match err.kind() {
        OperatorErrorKind::InvalidArgument => Status::invalid_argument(message),
        OperatorErrorKind::NotFound => Status::not_found(message),
        OperatorErrorKind::FailedPrecondition => Status::failed_precondition(message),
        OperatorErrorKind::Internal => Status::internal(message),
    }
}

fn resources(list: &[corral_proto::pb::Resource], what: &'static str) -> Result<Resources, Status> {
    Resources::from_pb(list).map_err(|err| malformed(what, &err))
}

/// A request whose resources cannot be read: logged, INVALID_ARGUMENT.
fn malformed(what: &'static str, err: &ResourcesError) -> Status {
    let err = OperatorError::InvalidResources {
        what,
        why: err.to_string(),
    };
    tracing::warn!(op = what, %err, "operator request refused");
    status(&err)
}

/// A quota from the wire (`None`: cleared); an empty limit is no limit.
pub(crate) fn quota_from_pb(quota: Option<&pb::Quota>) -> Result<Quota, ResourcesError> {
    let Some(quota) = quota else {
        return Ok(Quota::default());
    };
    let limit = Resources::from_pb(&quota.limit)?;
    Ok(Quota {
        guarantee: Resources::from_pb(&quota.guarantee)?,
        limit: (!limit.is_empty()).then_some(limit),
    })
}

/// A quota on the wire.
pub(crate) fn quota_to_pb(quota: &Quota) -> pb::Quota {
    pb::Quota {
        guarantee: quota.guarantee.to_pb(),
        limit: quota
            .limit
            .as_ref()
            .map(Resources::to_pb)
            .unwrap_or_default(),
    }
}

fn role_to_pb(info: RoleInfo) -> pb::RoleInfo {
    pb::RoleInfo {
        role: info.role.to_string(),
        weight: info.weight,
        quota: info.quota.as_ref().map(quota_to_pb),
        allocated: info.allocated.to_pb(),
        revocable: info.revocable.to_pb(),
        reserved: info.reserved.to_pb(),
        share: info.share,
        framework_ids: info.frameworks.iter().map(ToString::to_string).collect(),
    }
}

fn agent_to_pb(info: AgentResources) -> pb::AgentInfo {
    pb::AgentInfo {
        agent_id: info.agent.to_string(),
        hostname: info.hostname,
        total: info.total.to_pb(),
        available: info.available.to_pb(),
        reserved: info.reserved.to_pb(),
        lost: info.lost,
    }
}

/// The gRPC status of a refused maintenance request, with its message.
fn maintenance_status(err: &MaintenanceError) -> Status {
    let message = err.to_string();
    match err {
        MaintenanceError::UnknownAgent(_) | MaintenanceError::NotScheduled(_) => {
            Status::not_found(message)
        }
        MaintenanceError::AlreadyDown(_) => Status::failed_precondition(message),
        _ => Status::invalid_argument(message),
    }
}

/// Seconds from the wire as a duration; negative, NaN or huge is refused.
fn seconds(value: f64, what: &str) -> Result<Duration, Status> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        tracing::warn!(what, value, "operator request refused: bad duration");
        Status::invalid_argument(format!(
            "{what} must be a non-negative number of seconds, got {value}"
        ))
    })
}

#[tonic::async_trait]
impl Operator for OperatorService {
    async fn schedule_maintenance(
        &self,
        request: Request<pb::ScheduleMaintenanceRequest>,
    ) -> Result<Response<pb::ScheduleMaintenanceResponse>, Status> {
        let request = request.into_inner();
        let agent = AgentId::new(request.agent_id);
        let start_in = seconds(request.start_in_seconds, "start_in_seconds")?;
        let duration = request
            .duration_seconds
            .map(|d| seconds(d, "duration_seconds"))
            .transpose()?;
        self.run(move |core, now| {
            let window = Window {
                start: now.saturating_add(start_in),
                duration,
            };
            core.schedule_maintenance(now, &agent, window)
        })
        .await?
        .map_err(|e| maintenance_status(&e))?;
        Ok(Response::new(pb::ScheduleMaintenanceResponse {}))
    }

    async fn end_maintenance(
        &self,
        request: Request<pb::EndMaintenanceRequest>,
    ) -> Result<Response<pb::EndMaintenanceResponse>, Status> {
        let agent = AgentId::new(request.into_inner().agent_id);
        self.run(move |core, now| core.end_maintenance(now, &agent))
            .await?
            .map_err(|e| maintenance_status(&e))?;
        Ok(Response::new(pb::EndMaintenanceResponse {}))
    }

    async fn set_weight(
        &self,
        request: Request<pb::SetWeightRequest>,
    ) -> Result<Response<pb::SetWeightResponse>, Status> {
        let pb::SetWeightRequest { role, weight } = request.into_inner();
        let role = Role::new(role);
        self.change(move |core, now| core.set_weight(now, &role, weight))
            .await?;
        Ok(Response::new(pb::SetWeightResponse {}))
    }

    async fn set_quota(
        &self,
        request: Request<pb::SetQuotaRequest>,
    ) -> Result<Response<pb::SetQuotaResponse>, Status> {
        let request = request.into_inner();
        let role = Role::new(request.role);
        let quota =
            quota_from_pb(request.quota.as_ref()).map_err(|e| malformed("set quota", &e))?;
        self.change(move |core, now| core.set_quota(now, &role, quota))
            .await?;
        Ok(Response::new(pb::SetQuotaResponse {}))
    }

    async fn remove_quota(
        &self,
        request: Request<pb::RemoveQuotaRequest>,
    ) -> Result<Response<pb::RemoveQuotaResponse>, Status> {
        let role = Role::new(request.into_inner().role);
        self.change(move |core, now| core.remove_quota(now, &role))
            .await?;
        Ok(Response::new(pb::RemoveQuotaResponse {}))
    }

    async fn reserve(
        &self,
        request: Request<pb::ReserveRequest>,
    ) -> Result<Response<pb::ReserveResponse>, Status> {
        let request = request.into_inner();
        let agent = AgentId::new(request.agent_id);
        let role = Role::new(request.role);
        let wanted = resources(&request.resources, "reserve")?;
        self.change(move |core, now| core.reserve(now, &agent, &role, &wanted))
            .await?;
        Ok(Response::new(pb::ReserveResponse {}))
    }

    async fn unreserve(
        &self,
        request: Request<pb::UnreserveRequest>,
    ) -> Result<Response<pb::UnreserveResponse>, Status> {
        let request = request.into_inner();
        let agent = AgentId::new(request.agent_id);
        let wanted = resources(&request.resources, "unreserve")?;
        self.change(move |core, now| core.unreserve(now, &agent, &wanted))
            .await?;
        Ok(Response::new(pb::UnreserveResponse {}))
    }

    async fn get_roles(
        &self,
        _request: Request<pb::GetRolesRequest>,
    ) -> Result<Response<pb::GetRolesResponse>, Status> {
        let roles = self.run(|core, _| core.roles()).await?;
        Ok(Response::new(pb::GetRolesResponse {
            roles: roles.into_iter().map(role_to_pb).collect(),
        }))
    }

    async fn get_agents(
        &self,
        _request: Request<pb::GetAgentsRequest>,
    ) -> Result<Response<pb::GetAgentsResponse>, Status> {
        let agents = self.run(|core, _| core.all_agent_resources()).await?;
        Ok(Response::new(pb::GetAgentsResponse {
            agents: agents.into_iter().map(agent_to_pb).collect(),
        }))
    }
}
