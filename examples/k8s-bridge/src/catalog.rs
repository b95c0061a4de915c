//! The catalog: what the Kubernetes API serves, published by the bridge.
//!
//! After every change the bridge hands its [`Store`] to
//! [`Publisher::publish`], which renders each object as the Kubernetes
//! API shows it ([`crate::render`]), compares it with the last rendering,
//! and gives every object that changed a new `resourceVersion` (one
//! counter for the whole catalog, as etcd's revision). The changes are
//! kept as watch events, the last [`EVENTS_KEPT`] of them; a watch that
//! asks for an older version is told `410 Expired`, as Kubernetes does.
//!
//! The API reads [`Snapshot`]s (immutable, shared) from a
//! `tokio::sync::watch` channel, so reads never wait for the scheduler
//! and the store keeps one owner.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::watch;

use crate::manifest::Kind;
use crate::render;
use crate::store::{Key, Store};

/// How many change events the catalog keeps for watches.
pub const EVENTS_KEPT: usize = 4096;

/// An object as served, with its resourceVersion.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The version of its last change.
    pub rv: u64,
    /// The object, `metadata.resourceVersion` included.
    pub value: Value,
}

/// What happened to an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// It appeared.
    Added,
    /// It changed.
    Modified,
    /// It is gone (the value is its last state).
    Deleted,
}

impl Change {
    /// As a watch event's `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "ADDED",
            Change::Modified => "MODIFIED",
            Change::Deleted => "DELETED",
        }
    }
}

/// One change, for watches.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Its resourceVersion.
    pub rv: u64,
    /// The object's kind.
    pub kind: Kind,
    /// The object's key.
    pub key: Key,
    /// What happened.
    pub change: Change,
    /// The object after the change (before it, for a deletion).
    pub value: Value,
}

/// The catalog at one resourceVersion.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// The newest resourceVersion.
    pub rv: u64,
    /// Every object.
    pub objects: BTreeMap<(Kind, Key), Entry>,
    /// The latest changes, oldest first.
    pub events: VecDeque<Event>,
    /// Each pod's stdout file, where its task wrote one (local agents).
    pub logs: BTreeMap<Key, PathBuf>,
    /// False once the bridge has stopped.
    pub serving: bool,
}

impl Snapshot {
    /// The oldest resourceVersion a watch may start from: every change
    /// after it is still kept.
    pub fn oldest_watchable(&self) -> u64 {
        self.events.front().map_or(self.rv, |e| e.rv - 1)
    }

    /// The current version of one object.
    pub fn get(&self, kind: Kind, key: &Key) -> Option<&Entry> {
        self.objects.get(&(kind, key.clone()))
    }
}

/// The bridge's end: renders and publishes.
#[derive(Debug)]
pub struct Publisher {
    current: Arc<Snapshot>,
    sender: watch::Sender<Arc<Snapshot>>,
}

impl Default for Publisher {
    fn default() -> Self {
        Publisher::new().0
    }
}

impl Publisher {
    /// A publisher and the API's end.
    pub fn new() -> (Publisher, watch::Receiver<Arc<Snapshot>>) {
        let current = Arc::new(Snapshot {
            serving: true,
            ..Snapshot::default()
        });
        let (sender, receiver) = watch::channel(current.clone());
        (Publisher { current, sender }, receiver)
    }

    /// The last published snapshot.
    pub fn current(&self) -> &Snapshot {
        &self.current
    }

    /// Renders `store` and publishes what changed.
    pub fn publish(&mut self, store: &Store) {
        let rendered = render::all(store);
        let logs: BTreeMap<Key, PathBuf> = store
            .pods
            .iter()
            .filter_map(|(k, p)| p.stdout.clone().map(|s| (k.clone(), s)))
            .collect();
        let old = &self.current;
        let mut next = Snapshot {
            rv: old.rv,
            objects: BTreeMap::new(),
            events: old.events.clone(),
            logs,
            serving: true,
        };
        let mut changed = next.logs != old.logs;
        for ((kind, key), mut value) in rendered {
            let previous = old.objects.get(&(kind, key.clone()));
            let same = previous.is_some_and(|p| without_rv(&p.value) == value);
            if same {
                if let Some(p) = previous {
                    next.objects.insert((kind, key), p.clone());
                }
                continue;
            }
            changed = true;
            next.rv += 1;
            set_rv(&mut value, next.rv);
            let change = if previous.is_some() {
                Change::Modified
            } else {
                Change::Added
            };
            next.events.push_back(Event {
                rv: next.rv,
                kind,
                key: key.clone(),
                change,
                value: value.clone(),
            });
            next.objects
                .insert((kind, key), Entry { rv: next.rv, value });
        }
        for ((kind, key), entry) in &old.objects {
            if !next.objects.contains_key(&(*kind, key.clone())) {
                changed = true;
                next.rv += 1;
                let mut value = entry.value.clone();
                set_rv(&mut value, next.rv);
                next.events.push_back(Event {
                    rv: next.rv,
                    kind: *kind,
                    key: key.clone(),
                    change: Change::Deleted,
                    value,
                });
            }
        }
        while next.events.len() > EVENTS_KEPT {
            next.events.pop_front();
        }
        if changed {
            self.current = Arc::new(next);
            self.sender.send_replace(self.current.clone());
        }
    }

    /// Tells the API the bridge has stopped.
    pub fn close(&mut self) {
        let mut last = (*self.current).clone();
        last.serving = false;
        self.current = Arc::new(last);
        self.sender.send_replace(self.current.clone());
    }
}

fn without_rv(value: &Value) -> Value {
    let mut copy = value.clone();
    if let Some(meta) = copy.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    copy
}

fn set_rv(value: &mut Value, rv: u64) {
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
    }
}
