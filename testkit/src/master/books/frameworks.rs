//! The frameworks book: every framework the master knows (its
//! FrameworkInfo as validated, roles, suppressed roles, capabilities,
//! connection, requests), the bounded memory of removed ones, and the
//! framework ids the master issues.
//!
//! Records are read through [`FrameworkBook::get`] and change only
//! through the book's operations. Imports no other book.
//!
//! # Removed frameworks
//!
//! Mesos keeps the last `max_completed_frameworks` (default 50) removed
//! frameworks and refuses their SUBSCRIBE ("framework has been removed");
//! an id that fell out of that buffer is taken for a framework the master
//! forgot across a failover and is accepted. The book keeps the same
//! bounded list ([`MasterConfig::max_completed_frameworks`](crate::master::MasterConfig::max_completed_frameworks)),
//! for snapshots, but refuses more than Mesos can: an id the master issued
//! itself (`framework-<n>`, `n` at most its counter) that is not
//! registered was removed, however long ago. Only an id a framework chose
//! itself and that fell out of the buffer is accepted again, as in Mesos.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::time::Duration;

use corral::{FrameworkId, Resources, Role};

use crate::allocator::FrameworkSpec;

/// The id of one subscription's event stream (`mesos-stream-id`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(String);

impl StreamId {
    /// Wraps a stream id.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The id as text, as carried in `mesos-stream-id` metadata.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The capabilities of a framework that change how the master treats it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// May subscribe with several roles.
    pub multi_role: bool,
    /// Gets TASK_KILLING before TASK_KILLED.
    pub task_killing_state: bool,
    /// Gets TASK_DROPPED / TASK_UNKNOWN instead of TASK_LOST.
    pub partition_aware: bool,
    /// Accepts revocable resources.
    pub revocable_resources: bool,
}

/// The fields of a FrameworkInfo the master keeps as they were sent: the
/// name it shows, and those a framework may not change once subscribed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    /// Its name.
    pub name: String,
    /// The user its tasks run as.
    pub user: String,
    /// The principal it authenticates as (`None`: not given).
    pub principal: Option<String>,
    /// Whether its agents checkpoint.
    pub checkpoint: bool,
}

/// What the master takes from a valid FrameworkInfo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidFramework {
    /// Its name, user, principal and checkpoint flag.
    pub identity: Identity,
    /// Its roles: `roles`, else the deprecated `role` (default `*`).
    pub roles: BTreeSet<Role>,
    /// The roles it wants no offers for.
    pub suppressed: BTreeSet<Role>,
    /// Its capabilities.
    pub capabilities: Capabilities,
    /// How long it may stay disconnected; `None`: forever.
    pub failover_timeout: Option<Duration>,
}

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
    /// Its name, user, principal and checkpoint flag, as last validated.
    pub identity: Identity,
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
    pub fn new(id: FrameworkId, valid: ValidFramework, connection: Connection) -> Self {
        let mut record = Self {
            id,
            identity: Identity::default(),
            roles: BTreeSet::new(),
            suppressed: BTreeSet::new(),
            capabilities: Capabilities::default(),
            failover_timeout: None,
            connection,
            requests: BTreeMap::new(),
        };
        record.apply(valid);
        record
    }

    /// Replaces what it took from its FrameworkInfo.
    pub fn apply(&mut self, valid: ValidFramework) {
        self.identity = valid.identity;
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

/// The default bound of the removed-frameworks memory (as Mesos'
/// `max_completed_frameworks`).
pub const DEFAULT_MAX_COMPLETED_FRAMEWORKS: usize = 50;

/// The prefix of the framework ids the master issues.
const ISSUED_PREFIX: &str = "framework-";

/// What replacing a framework's info changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// What the allocator must now know of it.
    pub spec: FrameworkSpec,
    /// Roles that left the suppressed state (to revive).
    pub unsuppressed: Vec<Role>,
    /// Whether it gained roles.
    pub gained_roles: bool,
}

/// Every framework the master knows. See the module docs.
#[derive(Debug)]
pub struct FrameworkBook {
    records: BTreeMap<FrameworkId, FrameworkRecord>,
    /// The most recently removed, oldest first, at most `max_removed`.
    removed: VecDeque<FrameworkId>,
    removed_set: BTreeSet<FrameworkId>,
    max_removed: usize,
    /// How many ids the master issued.
    issued: u64,
}

impl FrameworkBook {
    /// An empty book remembering at most `max_removed` removed frameworks.
    pub fn new(max_removed: usize) -> Self {
        Self {
            records: BTreeMap::new(),
            removed: VecDeque::new(),
            removed_set: BTreeSet::new(),
            max_removed,
            issued: 0,
        }
    }

    /// The record of `id`.
    pub fn get(&self, id: &FrameworkId) -> Option<&FrameworkRecord> {
        self.records.get(id)
    }

    /// Whether `id` is registered (connected or within its failover time).
    pub fn contains(&self, id: &FrameworkId) -> bool {
        self.records.contains_key(id)
    }

    /// Every registered framework, by id.
    pub fn iter(&self) -> impl Iterator<Item = &FrameworkRecord> {
        self.records.values()
    }

    /// Every registered framework's id, in order.
    pub fn ids(&self) -> impl Iterator<Item = &FrameworkId> {
        self.records.keys()
    }

    /// The current stream of `id`, if connected.
    pub fn stream_of(&self, id: &FrameworkId) -> Option<&StreamId> {
        self.records.get(id).and_then(FrameworkRecord::stream)
    }

    /// The framework whose current stream is `stream`.
    pub fn by_stream(&self, stream: &StreamId) -> Option<FrameworkId> {
        self.records
            .values()
            .find(|r| r.stream() == Some(stream))
            .map(|r| r.id.clone())
    }

    /// How many frameworks are connected.
    pub fn connected_count(&self) -> usize {
        self.records
            .values()
            .filter(|r| r.stream().is_some())
            .count()
    }

    /// A fresh id, never issued, registered or removed.
    pub fn issue_id(&mut self) -> FrameworkId {
        loop {
            self.issued += 1;
            let id = FrameworkId::new(format!("{ISSUED_PREFIX}{}", self.issued));
            if !self.records.contains_key(&id) && !self.removed_set.contains(&id) {
                return id;
            }
        }
    }

    /// Whether `id` belongs to a removed framework (see the module docs:
    /// the bounded memory, and every id the master issued that is not
    /// registered).
    pub fn is_removed(&self, id: &FrameworkId) -> bool {
        if self.records.contains_key(id) {
            return false;
        }
        if self.removed_set.contains(id) {
            return true;
        }
        id.as_str()
            .strip_prefix(ISSUED_PREFIX)
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| {
                n >= 1 && n <= self.issued && format!("{ISSUED_PREFIX}{n}") == id.as_str()
            })
    }

    /// The removed frameworks remembered, oldest first.
    pub fn removed(&self) -> impl Iterator<Item = &FrameworkId> {
        self.removed.iter()
    }

    /// Registers a framework.
    pub fn insert(&mut self, record: FrameworkRecord) {
        self.records.insert(record.id.clone(), record);
    }

    /// Removes a framework for good and remembers its id (forgetting the
    /// oldest beyond the bound).
    pub fn remove(&mut self, id: &FrameworkId) -> Option<FrameworkRecord> {
        let record = self.records.remove(id)?;
        if self.max_removed > 0 && self.removed_set.insert(id.clone()) {
            self.removed.push_back(id.clone());
            while self.removed.len() > self.max_removed {
                if let Some(old) = self.removed.pop_front() {
                    self.removed_set.remove(&old);
                }
            }
        }
        Some(record)
    }

    /// Connects `id` on `stream`; its first HEARTBEAT is due at
    /// `next_heartbeat`.
    pub fn connect(&mut self, id: &FrameworkId, stream: StreamId, next_heartbeat: Duration) {
        if let Some(record) = self.records.get_mut(id) {
            record.connection = Connection::Connected {
                stream,
                next_heartbeat,
            };
        }
    }

    /// Marks `id` disconnected at `now`; returns its failover deadline
    /// (`None` inside: it may stay away forever), `None` if unknown.
    pub fn disconnect(&mut self, now: Duration, id: &FrameworkId) -> Option<Option<Duration>> {
        let record = self.records.get_mut(id)?;
        let failover_deadline = record.failover_timeout.and_then(|t| now.checked_add(t));
        record.connection = Connection::Disconnected { failover_deadline };
        Some(failover_deadline)
    }

    /// Replaces what `id` took from its FrameworkInfo; `None` if unknown.
    pub fn apply(&mut self, id: &FrameworkId, valid: ValidFramework) -> Option<Applied> {
        let record = self.records.get_mut(id)?;
        let unsuppressed: Vec<Role> = record
            .suppressed
            .iter()
            .filter(|r| valid.roles.contains(*r) && !valid.suppressed.contains(*r))
            .cloned()
            .collect();
        let gained_roles = valid.roles.difference(&record.roles).next().is_some();
        record.apply(valid);
        Some(Applied {
            spec: record.spec(),
            unsuppressed,
            gained_roles,
        })
    }

    /// Suppresses `roles` of `id`.
    pub fn suppress(&mut self, id: &FrameworkId, roles: &[Role]) {
        if let Some(record) = self.records.get_mut(id) {
            record.suppressed.extend(roles.iter().cloned());
        }
    }

    /// Unsuppresses `roles` of `id`.
    pub fn unsuppress(&mut self, id: &FrameworkId, roles: &[Role]) {
        if let Some(record) = self.records.get_mut(id) {
            for role in roles {
                record.suppressed.remove(role);
            }
        }
    }

    /// Records `id`'s REQUEST: `wanted` per role; with `replace_all`, the
    /// roles it asked for before and not now are cleared. Returns the roles
    /// whose demand changed.
    pub fn set_requests(
        &mut self,
        id: &FrameworkId,
        wanted: BTreeMap<Role, Resources>,
        replace_all: bool,
    ) -> BTreeSet<Role> {
        let Some(record) = self.records.get_mut(id) else {
            return BTreeSet::new();
        };
        let mut touched: BTreeSet<Role> = wanted.keys().cloned().collect();
        if replace_all {
            touched.extend(std::mem::take(&mut record.requests).into_keys());
        }
        record.requests.extend(wanted);
        touched
    }

    /// The sum of every framework's request for `role`.
    pub fn demand(&self, role: &Role) -> Resources {
        let mut sum = Resources::new();
        for record in self.records.values() {
            if let Some(asked) = record.requests.get(role) {
                sum += asked;
            }
        }
        sum
    }

    /// The disconnected frameworks whose failover deadline is at or before
    /// `now`.
    pub fn expired(&self, now: Duration) -> Vec<FrameworkId> {
        self.records
            .values()
            .filter(|r| {
                matches!(r.connection, Connection::Disconnected { failover_deadline: Some(d) } if d <= now)
            })
            .map(|r| r.id.clone())
            .collect()
    }

    /// The streams whose HEARTBEAT is due at `now`; their next one is
    /// scheduled `interval` later.
    pub fn due_heartbeats(&mut self, now: Duration, interval: Duration) -> Vec<StreamId> {
        let mut beats = Vec::new();
        for record in self.records.values_mut() {
            if let Connection::Connected {
                stream,
                next_heartbeat,
            } = &mut record.connection
            {
                if *next_heartbeat <= now {
                    *next_heartbeat = now.saturating_add(interval);
                    beats.push(stream.clone());
                }
            }
        }
        beats
    }

    /// The next heartbeat or failover deadline.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.records
            .values()
            .filter_map(|r| match r.connection {
                Connection::Connected { next_heartbeat, .. } => Some(next_heartbeat),
                Connection::Disconnected { failover_deadline } => failover_deadline,
            })
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &FrameworkId) -> FrameworkRecord {
        FrameworkRecord::new(
            id.clone(),
            ValidFramework {
                identity: Identity::default(),
                roles: BTreeSet::new(),
                suppressed: BTreeSet::new(),
                capabilities: Capabilities::default(),
                failover_timeout: None,
            },
            Connection::Disconnected {
                failover_deadline: None,
            },
        )
    }

    #[test]
    fn removed_memory_is_bounded_but_issued_ids_stay_refused() {
        let mut book = FrameworkBook::new(2);
        let mut ids = Vec::new();
        for _ in 0..5 {
            let id = book.issue_id();
            book.insert(record(&id));
            ids.push(id);
        }
        let chosen = FrameworkId::new("my-own-id");
        book.insert(record(&chosen));
        book.remove(&chosen);
        for id in &ids {
            book.remove(id);
        }
        assert_eq!(book.removed().count(), 2, "bounded");
        assert!(
            ids.iter().all(|id| book.is_removed(id)),
            "issued ids stay refused"
        );
        assert!(
            !book.is_removed(&chosen),
            "a chosen id beyond the bound is forgotten"
        );
        assert!(!book.is_removed(&FrameworkId::new("framework-6")));
        assert!(!book.is_removed(&FrameworkId::new("framework-01")));
        assert_eq!(book.issue_id(), FrameworkId::new("framework-6"));
    }
}
