//! The master's record of one framework: its FrameworkInfo as validated,
//! its roles and suppressed roles, and whether its event stream is open.

use corral_proto::convert::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use corral::{FrameworkId, Resources, Role};
use corral_proto::pb;

use crate::allocator::FrameworkSpec;

use super::outbox::StreamId;
use super::validate::{Capabilities, ValidFramework};

/// Whether a framework's event stream is open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connection {
    /// Subscribed on `stream`.
    Connected {
        /// Its current stream.
        stream: StreamId,
        /// When its next HEARTBEAT is due.
        next_heartbeat: Duration,
    },
    /// Its stream was dropped; removed at `failover_deadline` (`None`: never).
    Disconnected {
        /// When it is removed unless it resubscribes.
        failover_deadline: Option<Duration>,
    },
}

/// One subscribed (or disconnected, within its failover timeout) framework.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameworkRecord {
    /// Its id.
    pub id: FrameworkId,
    /// Its FrameworkInfo, with `id` set.
    pub info: pb::FrameworkInfo,
    /// Its roles.
    pub roles: BTreeSet<Role>,
    /// Its suppressed roles.
    pub suppressed: BTreeSet<Role>,
    /// Its capabilities.
    pub capabilities: Capabilities,
    /// How long it may stay disconnected (`None`: forever).
    pub failover_timeout: Option<Duration>,
    /// Its stream.
    pub connection: Connection,
    /// What it asked for with REQUEST, per role (its latest request naming
    /// the role). A role's demand is the sum over its frameworks.
    pub requests: BTreeMap<Role, Resources>,
}

impl FrameworkRecord {
    /// A record for a framework subscribing on `stream` at `now`.
    pub fn new(
        id: FrameworkId,
        info: pb::FrameworkInfo,
        valid: ValidFramework,
        connection: Connection,
    ) -> Self {
        let mut record = Self {
            id,
            info: pb::FrameworkInfo::default(),
            roles: BTreeSet::new(),
            suppressed: BTreeSet::new(),
            capabilities: Capabilities::default(),
            failover_timeout: None,
            connection,
            requests: BTreeMap::new(),
        };
        record.apply(info, valid);
        record
    }

    /// Replaces its FrameworkInfo (keeping its id) and what follows from it.
    pub fn apply(&mut self, mut info: pb::FrameworkInfo, valid: ValidFramework) {
        info.id = Some(self.id.to_pb());
        self.info = info;
        self.roles = valid.roles;
        self.suppressed = valid.suppressed;
        self.capabilities = valid.capabilities;
        self.failover_timeout = valid.failover_timeout;
    }

    /// What the allocator needs to know of it.
    pub fn spec(&self) -> FrameworkSpec {
        FrameworkSpec {
            roles: self.roles.clone(),
            suppressed: self.suppressed.clone(),
            revocable: self.capabilities.revocable_resources,
        }
    }

    /// Its open stream, if connected.
    pub fn stream(&self) -> Option<&StreamId> {
        match &self.connection {
            Connection::Connected { stream, .. } => Some(stream),
            Connection::Disconnected { .. } => None,
        }
    }
}
