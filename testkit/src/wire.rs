//! Raw protocol access to a [`MockMaster`], for tests of the master's own
//! wire behaviour (malformed calls, stream ids, gRPC status codes). A
//! framework's tests need none of it: they use
//! [`MockMaster::transport`], a `corral::Transport`, or a
//! [`Cluster`](crate::Cluster).

use corral_proto::pb::scheduler_client::SchedulerClient;
use tonic::transport::Channel;

use crate::master::{MasterError, MockMaster};

pub use corral_proto::pb;

/// A connected gRPC channel to `master` (TCP, or its in-memory pipes).
pub async fn channel(master: &MockMaster) -> Result<Channel, MasterError> {
    master.channel().await
}

/// A raw `corral.v1.Scheduler` client on a new channel to `master`.
pub async fn client(master: &MockMaster) -> Result<SchedulerClient<Channel>, MasterError> {
    Ok(SchedulerClient::new(master.channel().await?))
}
