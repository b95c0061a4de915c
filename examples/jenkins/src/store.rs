//! The controller's state on disk, so a restarted controller loses no
//! build: the framework id, the build numbers, the queue, every build's
//! record (result, log, the agents it ran on) and the agents alive, in an
//! embedded database (redb: one file, ACID, crash-safe).
//!
//! The controller writes after every handler that changed something, in
//! one transaction: the builds that changed, the queue, the agents and
//! the counters; on disk before it goes on, except when only log output
//! changed ([`Store::save`]). On start it reads it all back ([`Store::load`]) and
//! resubscribes with the saved framework id, so the master keeps its
//! agents' tasks running across the restart (its failover timeout is long,
//! never zero: a zero timeout is how the Mesos plugin killed every build on
//! a restart).
//!
//! Times are kept as durations (waits, run times); instants are not: a
//! restored running build's clock restarts at the restore.

use std::collections::BTreeMap;
use std::path::Path;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, TableError};
use serde::{Deserialize, Serialize};

use crate::queue::{BuildId, BuildResult};

/// Keyed by `job#number`: one JSON record per build.
const BUILDS: TableDefinition<&str, &str> = TableDefinition::new("builds");
/// The rest, one JSON value per key.
const META: TableDefinition<&str, &str> = TableDefinition::new("meta");

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused.
    #[error("state database: {0}")]
    Db(#[from] redb::Error),
    /// A stored value does not decode (or a value does not encode).
    #[error("state database: a record does not decode: {0}")]
    Decode(#[from] serde_json::Error),
}

fn db<E: Into<redb::Error>>(e: E) -> StoreError {
    StoreError::Db(e.into())
}

/// A build as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedBuild {
    /// Which build.
    pub id: BuildId,
    /// Its queue item id.
    pub queue_id: u64,
    /// Its label.
    pub label: String,
    /// Its parameters.
    pub params: BTreeMap<String, String>,
    /// Where it stood.
    pub state: SavedState,
    /// Time waited in the queue, milliseconds.
    pub waited_ms: u64,
    /// Its last run's duration, milliseconds (done builds).
    pub duration_ms: u64,
    /// Times requeued.
    pub requeued: u32,
    /// Agents it started on.
    pub agents: Vec<String>,
    /// Its console log.
    pub log: String,
    /// When it was triggered, ms since the Unix epoch.
    #[serde(default)]
    pub queued_epoch_ms: u64,
    /// When its last run started, ms since the Unix epoch.
    #[serde(default)]
    pub started_epoch_ms: u64,
}

/// A build's state as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SavedState {
    /// In the queue.
    Queued,
    /// Running on this agent.
    Running(String),
    /// Done.
    Done(BuildResult),
}

/// An agent as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedAgent {
    /// Its task id.
    pub task: String,
    /// Its label.
    pub label: String,
    /// The machine.
    pub host: String,
    /// On revocable resources.
    pub revocable: bool,
    /// The build it was running, if any.
    pub build: Option<BuildId>,
    /// True when it was being stopped.
    pub stopping: bool,
    /// Builds it had started.
    pub builds: u32,
}

/// Everything but the builds, stored under one key each.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SavedMeta {
    /// The framework id, once subscribed.
    pub framework_id: Option<String>,
    /// The last build number of each job.
    pub numbers: BTreeMap<String, u64>,
    /// The last queue item id.
    pub queue_id: u64,
    /// The queue, front first.
    pub queue: Vec<BuildId>,
    /// The agents alive.
    pub agents: Vec<SavedAgent>,
    /// The last agent index used in a task id.
    pub agent_index: u64,
}

/// What [`Store::load`] reads back.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Saved {
    /// Everything but the builds.
    pub meta: SavedMeta,
    /// Every build.
    pub builds: Vec<SavedBuild>,
}

/// The state database.
pub struct Store {
    db: Database,
}

impl Store {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Ok(Store {
            db: Database::create(path).map_err(db)?,
        })
    }

    /// Reads everything back; an empty database reads as nothing saved.
    pub fn load(&self) -> Result<Saved, StoreError> {
        let read = self.db.begin_read().map_err(db)?;
        let mut saved = Saved::default();
        match read.open_table(META) {
            Ok(table) => {
                if let Some(meta) = table.get("meta").map_err(db)? {
                    saved.meta = serde_json::from_str(meta.value())?;
                }
            }
            Err(TableError::TableDoesNotExist(_)) => return Ok(saved),
            Err(e) => return Err(db(e)),
        }
        match read.open_table(BUILDS) {
            Ok(table) => {
                for row in table.iter().map_err(db)? {
                    let (_, value) = row.map_err(db)?;
                    saved.builds.push(serde_json::from_str(value.value())?);
                }
            }
            Err(TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(db(e)),
        }
        saved
            .builds
            .sort_by(|a, b| (&a.id.job, a.id.number).cmp(&(&b.id.job, b.id.number)));
        Ok(saved)
    }

    /// Writes `meta` and the `builds` that changed, in one transaction,
    /// on disk when it returns if `immediate` (otherwise with the next
    /// immediate write: the controller uses that for log output only, so a
    /// crash can lose the tail of a log, never a build or its state).
    pub fn save(
        &self,
        meta: &SavedMeta,
        builds: &[SavedBuild],
        immediate: bool,
    ) -> Result<(), StoreError> {
        let meta = serde_json::to_string(meta)?;
        let rows: Vec<(String, String)> = builds
            .iter()
            .map(|b| Ok((b.id.to_string(), serde_json::to_string(b)?)))
            .collect::<Result<_, serde_json::Error>>()?;
        let mut write = self.db.begin_write().map_err(db)?;
        if !immediate {
            write.set_durability(Durability::None).map_err(db)?;
        }
        {
            let mut table = write.open_table(META).map_err(db)?;
            table.insert("meta", meta.as_str()).map_err(db)?;
            let mut table = write.open_table(BUILDS).map_err(db)?;
            for (key, value) in &rows {
                table.insert(key.as_str(), value.as_str()).map_err(db)?;
            }
        }
        write.commit().map_err(db)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_saved_is_loaded_back_and_builds_are_updated_in_place() {
        let dir = std::env::temp_dir().join(format!("jenkins-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.redb");
        let _ = std::fs::remove_file(&path);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.load().unwrap(), Saved::default(), "empty");
        let id = BuildId {
            job: "compile".into(),
            number: 1,
        };
        let mut build = SavedBuild {
            id: id.clone(),
            queue_id: 1,
            label: "linux".into(),
            params: BTreeMap::new(),
            state: SavedState::Running("agent-linux-0001".into()),
            waited_ms: 5,
            duration_ms: 0,
            requeued: 0,
            agents: vec!["agent-linux-0001".into()],
            log: "+ make\n".into(),
            queued_epoch_ms: 1,
            started_epoch_ms: 2,
        };
        let meta = SavedMeta {
            framework_id: Some("fw-1".into()),
            numbers: [("compile".to_owned(), 1)].into(),
            queue_id: 1,
            ..SavedMeta::default()
        };
        store
            .save(&meta, std::slice::from_ref(&build), true)
            .unwrap();
        build.state = SavedState::Done(BuildResult::Success);
        store
            .save(&meta, std::slice::from_ref(&build), true)
            .unwrap();
        drop(store);
        let again = Store::open(&path).unwrap().load().unwrap();
        assert_eq!(again.meta, meta);
        assert_eq!(again.builds, vec![build]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
