//! [`OperatorClient`]: a typed client of the `corral.v1.Operator` service,
//! speaking plain Rust types (`Role`, `Resources`, `Quota`) so tests and
//! tools need not touch the wire types.

use corral_proto::convert::*;
use std::time::Duration;

use corral::{AgentId, FrameworkId, Resources, Role};
use tonic::transport::{Channel, Endpoint};

use super::pb;
use super::pb::operator_client::OperatorClient as RawClient;
use super::service::{quota_from_pb, quota_to_pb};
use super::views::{AgentResources, RoleInfo};
use crate::allocator::Quota;

/// Why an operator call through [`OperatorClient`] failed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorClientError {
    /// The master could not be reached.
    #[error("cannot reach the master: {0}")]
    Connect(#[from] tonic::transport::Error),
    /// The master refused the request (or is shut down).
    #[error("refused ({code:?}): {message}")]
    Refused {
        /// The gRPC status code (`InvalidArgument`, `NotFound`,
        /// `FailedPrecondition`, ...).
        code: tonic::Code,
        /// The master's explanation.
        message: String,
    },
    /// The master's answer could not be read.
    #[error("malformed answer: {0}")]
    Malformed(String),
}

impl From<tonic::Status> for OperatorClientError {
    fn from(status: tonic::Status) -> Self {
        OperatorClientError::Refused {
            code: status.code(),
            message: status.message().to_owned(),
        }
    }
}

impl OperatorClientError {
    /// The gRPC code of a refusal (`None` for the other errors).
    pub fn code(&self) -> Option<tonic::Code> {
        match self {
            OperatorClientError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// A client of the master's operator API. Get one from
/// [`MockMaster::operator`](crate::MockMaster::operator), or connect to a
/// standalone `mock-master` with [`OperatorClient::connect`].
#[derive(Clone, Debug)]
pub struct OperatorClient {
    inner: RawClient<Channel>,
}

impl OperatorClient {
    /// A client on an open channel.
    pub fn new(channel: Channel) -> Self {
        Self {
            inner: RawClient::new(channel),
        }
    }

    /// Connects to `endpoint` (`http://127.0.0.1:5050`).
    pub async fn connect(endpoint: impl Into<String>) -> Result<Self, OperatorClientError> {
        let channel = Endpoint::from_shared(endpoint.into())?.connect().await?;
        Ok(Self::new(channel))
    }

    /// Sets `role`'s weight.
    pub async fn set_weight(
        &mut self,
        role: &Role,
        weight: f64,
    ) -> Result<(), OperatorClientError> {
        let request = pb::SetWeightRequest {
            role: role.to_string(),
            weight,
        };
        self.inner.set_weight(request).await?;
        Ok(())
    }

    /// Sets `role`'s quota (an empty quota clears it).
    pub async fn set_quota(
        &mut self,
        role: &Role,
        quota: &Quota,
    ) -> Result<(), OperatorClientError> {
        let request = pb::SetQuotaRequest {
            role: role.to_string(),
            quota: Some(quota_to_pb(quota)),
        };
        self.inner.set_quota(request).await?;
        Ok(())
    }

    /// Clears `role`'s quota.
    pub async fn remove_quota(&mut self, role: &Role) -> Result<(), OperatorClientError> {
        let request = pb::RemoveQuotaRequest {
            role: role.to_string(),
        };
        self.inner.remove_quota(request).await?;
        Ok(())
    }

    /// Reserves unreserved `resources` of `agent` for `role`.
    pub async fn reserve(
        &mut self,
        agent: &AgentId,
        role: &Role,
        resources: &Resources,
    ) -> Result<(), OperatorClientError> {
        let request = pb::ReserveRequest {
            agent_id: agent.to_string(),
            role: role.to_string(),
            resources: resources.to_pb(),
        };
        self.inner.reserve(request).await?;
        Ok(())
    }

    /// Unreserves reserved `resources` (`cpus(eng):2`) of `agent`.
    pub async fn unreserve(
        &mut self,
        agent: &AgentId,
        resources: &Resources,
    ) -> Result<(), OperatorClientError> {
        let request = pb::UnreserveRequest {
            agent_id: agent.to_string(),
            resources: resources.to_pb(),
        };
        self.inner.unreserve(request).await?;
        Ok(())
    }

    /// Schedules `agent`'s maintenance: down `start_in` from when the
    /// master gets the request, for `duration` (`None`: until
    /// [`OperatorClient::end_maintenance`]).
    pub async fn schedule_maintenance(
        &mut self,
        agent: &AgentId,
        start_in: Duration,
        duration: Option<Duration>,
    ) -> Result<(), OperatorClientError> {
        let request = pb::ScheduleMaintenanceRequest {
            agent_id: agent.to_string(),
            start_in_seconds: start_in.as_secs_f64(),
            duration_seconds: duration.map(|d| d.as_secs_f64()),
        };
        self.inner.schedule_maintenance(request).await?;
        Ok(())
    }

    /// Ends `agent`'s maintenance (or cancels it before it starts).
    pub async fn end_maintenance(&mut self, agent: &AgentId) -> Result<(), OperatorClientError> {
        let request = pb::EndMaintenanceRequest {
            agent_id: agent.to_string(),
        };
        self.inner.end_maintenance(request).await?;
        Ok(())
    }

    /// Every known role, by name.
    pub async fn roles(&mut self) -> Result<Vec<RoleInfo>, OperatorClientError> {
        let answer = self.inner.get_roles(pb::GetRolesRequest {}).await?;
        answer.into_inner().roles.iter().map(role_from_pb).collect()
    }

    /// One role (`None` when the master does not know it).
    pub async fn role(&mut self, role: &Role) -> Result<Option<RoleInfo>, OperatorClientError> {
        Ok(self.roles().await?.into_iter().find(|r| &r.role == role))
    }

    /// Every agent's resources, by agent id.
    pub async fn agents(&mut self) -> Result<Vec<AgentResources>, OperatorClientError> {
        let answer = self.inner.get_agents(pb::GetAgentsRequest {}).await?;
        answer
            .into_inner()
            .agents
            .iter()
            .map(agent_from_pb)
            .collect()
    }
}

fn read(list: &[corral_proto::pb::Resource]) -> Result<Resources, OperatorClientError> {
    Resources::from_pb(list).map_err(|e| OperatorClientError::Malformed(e.to_string()))
}

fn role_from_pb(info: &pb::RoleInfo) -> Result<RoleInfo, OperatorClientError> {
    let quota = match &info.quota {
        Some(quota) => Some(
            quota_from_pb(Some(quota))
                .map_err(|e| OperatorClientError::Malformed(e.to_string()))?,
        ),
        None => None,
    };
    Ok(RoleInfo {
        role: Role::new(info.role.clone()),
        weight: info.weight,
        quota,
        allocated: read(&info.allocated)?,
        revocable: read(&info.revocable)?,
        reserved: read(&info.reserved)?,
        share: info.share,
        frameworks: info
            .framework_ids
            .iter()
            .map(|id| FrameworkId::new(id.clone()))
            .collect(),
    })
}

fn agent_from_pb(info: &pb::AgentInfo) -> Result<AgentResources, OperatorClientError> {
    Ok(AgentResources {
        agent: AgentId::new(info.agent_id.clone()),
        hostname: info.hostname.clone(),
        total: read(&info.total)?,
        available: read(&info.available)?,
        reserved: read(&info.reserved)?,
        lost: info.lost,
    })
}
