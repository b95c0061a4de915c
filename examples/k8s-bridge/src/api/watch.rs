//! `?watch=true`: a stream of `{"type":"ADDED|MODIFIED|DELETED","object":...}`
//! lines, one per change of a selected object, from a resourceVersion.
//!
//! Without a resourceVersion (or with `0`) the stream starts with an
//! ADDED for every object selected now, as the API server's watch cache
//! does; with one it replays every kept change after it, or sends one
//! `ERROR` event with a `410 Expired` Status if changes after it are no
//! longer kept (the client then lists again). With `sendInitialEvents=true`
//! (kubectl's watch-list: `kubectl wait`, `delete --wait`, `rollout
//! status`) the current objects come first as ADDED, then a BOOKMARK
//! annotated `k8s.io/initial-events-end: "true"`, whatever the
//! resourceVersion. It ends at `timeoutSeconds` or when the bridge stops.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use futures::Stream;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::time::Instant;

use super::select::Selector;
use super::status::ApiError;
use super::table;
use crate::catalog::{Change, Snapshot};
use crate::manifest::Kind;

/// How long a watch runs if the request does not say (the API server
/// picks between 30 and 60 minutes).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

/// Which objects a watch follows.
#[derive(Clone, Debug)]
pub struct Scope {
    /// Their kind.
    pub kind: Kind,
    /// Their namespace (`None`: all).
    pub namespace: Option<String>,
    /// Their labels and fields.
    pub selector: Selector,
    /// Each event's object as a one-row Table (`kubectl get -w`).
    pub as_table: bool,
}

impl Scope {
    fn wants(&self, kind: Kind, ns: &str, value: &Value) -> bool {
        kind == self.kind
            && self.namespace.as_deref().is_none_or(|want| want == ns)
            && self.selector.matches(value)
    }

    fn line(&self, kind: &str, value: &Value, rv: u64) -> Bytes {
        let object = if self.as_table && kind != "ERROR" {
            table::table(self.kind, &[value], rv)
        } else {
            value.clone()
        };
        let mut line = json!({ "type": kind, "object": object }).to_string();
        line.push('\n');
        Bytes::from(line)
    }
}

struct State {
    catalog: watch::Receiver<Arc<Snapshot>>,
    scope: Scope,
    queue: VecDeque<Bytes>,
    last: u64,
    deadline: Instant,
    done: bool,
}

impl State {
    /// Queues the changes after `self.last` in `snap`.
    fn catch_up(&mut self, snap: &Snapshot) {
        if self.last < snap.oldest_watchable() {
            let status = ApiError::expired(self.last, snap.oldest_watchable()).to_status();
            self.queue.push_back(self.scope.line("ERROR", &status, 0));
            self.done = true;
            return;
        }
        for event in snap.events.iter().filter(|e| e.rv > self.last) {
            if self.scope.wants(event.kind, &event.key.0, &event.value) {
                let line = self
                    .scope
                    .line(event.change.as_str(), &event.value, event.rv);
                self.queue.push_back(line);
            }
        }
        self.last = snap.rv;
        if !snap.serving {
            self.done = true;
        }
    }
}

/// The watch's body.
pub fn stream(
    catalog: watch::Receiver<Arc<Snapshot>>,
    scope: Scope,
    from: Option<u64>,
    initial_events: bool,
    timeout: Duration,
) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> + Send {
    let mut catalog = catalog;
    let snap = catalog.borrow_and_update().clone();
    let mut state = State {
        catalog,
        scope,
        queue: VecDeque::new(),
        last: snap.rv,
        deadline: Instant::now() + timeout,
        done: false,
    };
    if let (Some(rv), false) = (from, initial_events) {
        state.last = rv;
        state.catch_up(&snap);
    } else {
        for ((kind, key), entry) in &snap.objects {
            if state.scope.wants(*kind, &key.0, &entry.value) {
                let line = state
                    .scope
                    .line(Change::Added.as_str(), &entry.value, entry.rv);
                state.queue.push_back(line);
            }
        }
        if initial_events {
            let bookmark = json!({
                "kind": state.scope.kind.name(),
                "apiVersion": state.scope.kind.api_version(),
                "metadata": {
                    "resourceVersion": snap.rv.to_string(),
                    "annotations": { "k8s.io/initial-events-end": "true" },
                },
            });
            let mut line = json!({ "type": "BOOKMARK", "object": bookmark }).to_string();
            line.push('\n');
            state.queue.push_back(Bytes::from(line));
        }
    }
    futures::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(line) = state.queue.pop_front() {
                return Some((Ok(line), state));
            }
            if state.done {
                return None;
            }
            tokio::select! {
                changed = state.catalog.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                    let snap = state.catalog.borrow_and_update().clone();
                    state.catch_up(&snap);
                }
                () = tokio::time::sleep_until(state.deadline) => return None,
            }
        }
    })
}
