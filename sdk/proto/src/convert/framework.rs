//! [`FrameworkInfo`] and its capabilities on the wire.

use corral_types::{Capability, FrameworkInfo};

use super::ids::IdPb;
use super::time::seconds;
use crate::pb;
use crate::pb::framework_info::capability::Type as CapabilityType;

/// [`Capability`] on the wire.
pub trait CapabilityPb: Sized {
    /// The wire value.
    fn to_pb(self) -> CapabilityType;
    /// From the wire value; `None` for one the SDK does not model.
    fn from_pb(kind: CapabilityType) -> Option<Self>;
}

// Hidden from rustdoc: it would be listed on the plain type\'s page in
// `corral`, whose API names no wire type.
#[doc(hidden)]
impl CapabilityPb for Capability {
    fn to_pb(self) -> CapabilityType {
        match self {
            Capability::RevocableResources => CapabilityType::RevocableResources,
            Capability::TaskKillingState => CapabilityType::TaskKillingState,
            Capability::GpuResources => CapabilityType::GpuResources,
            Capability::PartitionAware => CapabilityType::PartitionAware,
            Capability::MultiRole => CapabilityType::MultiRole,
            // `Capability` is non-exhaustive: one this crate does not know
            // yet is not announced.
            _ => CapabilityType::Unknown,
        }
    }

    fn from_pb(kind: CapabilityType) -> Option<Self> {
        Some(match kind {
            CapabilityType::RevocableResources => Capability::RevocableResources,
            CapabilityType::TaskKillingState => Capability::TaskKillingState,
            CapabilityType::GpuResources => Capability::GpuResources,
            CapabilityType::PartitionAware => Capability::PartitionAware,
            CapabilityType::MultiRole => Capability::MultiRole,
            _ => return None,
        })
    }
}

/// [`FrameworkInfo`] on the wire.
pub trait FrameworkInfoPb {
    /// The wire form.
    fn to_pb(&self) -> pb::FrameworkInfo;
}

// Hidden from rustdoc: it would be listed on the plain type\'s page in
// `corral`, whose API names no wire type.
#[doc(hidden)]
impl FrameworkInfoPb for FrameworkInfo {
    fn to_pb(&self) -> pb::FrameworkInfo {
        pb::FrameworkInfo {
            user: self.user.clone(),
            name: self.name.clone(),
            id: self.id.as_ref().map(IdPb::to_pb),
            failover_timeout: Some(seconds(self.failover_timeout)),
            principal: self.principal.clone(),
            roles: self.roles.iter().map(|r| r.to_string()).collect(),
            capabilities: self
                .capabilities
                .iter()
                .map(|c| {
                    let mut cap = pb::framework_info::Capability::default();
                    cap.set_type(c.to_pb());
                    cap
                })
                .collect(),
            ..Default::default()
        }
    }
}
