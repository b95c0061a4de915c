//! [`LeaderWatch`]: what a detector currently knows of the leader, and
//! each change of it, for a transport to follow.

use std::future::Future;
use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::leader::{Leader, LeaderError};

/// What a detector knows of the leading master.
#[derive(Clone, Debug)]
pub enum Detection {
    /// Not known yet: the detector has not read the group since it
    /// started (it may be connecting to ZooKeeper).
    Detecting,
    /// The group has no member (or its znode does not exist): no master
    /// leads. A transport waits for the next change.
    NoLeader,
    /// This master leads.
    Leader(Arc<Leader>),
    /// The leading member cannot be used (see [`LeaderError`]); the
    /// next change is read afresh.
    Error(Arc<LeaderError>),
}

impl Detection {
    /// The leader, if one is known.
    pub fn leader(&self) -> Option<&Leader> {
        match self {
            Detection::Leader(leader) => Some(leader),
            _ => None,
        }
    }

    /// Whether `self` and `other` tell the same thing (errors compared by
    /// their message), so that a re-read of an unchanged group is not
    /// reported as a change.
    pub fn same_as(&self, other: &Detection) -> bool {
        match (self, other) {
            (Detection::Detecting, Detection::Detecting) => true,
            (Detection::NoLeader, Detection::NoLeader) => true,
            (Detection::Leader(a), Detection::Leader(b)) => a == b,
            (Detection::Error(a), Detection::Error(b)) => a.to_string() == b.to_string(),
            _ => false,
        }
    }
}

/// Follows a detector: the current [`Detection`] and each change.
///
/// Clones follow the same detector; the detector's task ends when the
/// last clone is dropped.
#[derive(Clone, Debug)]
pub struct LeaderWatch {
    receiver: watch::Receiver<Detection>,
    // Keeps a fixed watch's sender alive, so `changed` waits forever.
    _sender: Option<Arc<watch::Sender<Detection>>>,
    _task: Option<Arc<AbortOnDrop>>,
}

#[derive(Debug)]
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl LeaderWatch {
    /// A watch that always tells `detection`: for a master known in
    /// advance, and for tests of a transport.
    pub fn fixed(detection: Detection) -> LeaderWatch {
        let (sender, receiver) = watch::channel(detection);
        LeaderWatch {
            receiver,
            _sender: Some(Arc::new(sender)),
            _task: None,
        }
    }

    /// Runs a detector of your own on the current tokio runtime: `detector`
    /// is handed the sender of the returned watch (which starts at
    /// [`Detection::Detecting`]) and publishes on it; it is aborted when
    /// the last clone of the watch is dropped, and the watch tells it has
    /// stopped once the sender is dropped. [`ZkDetector`](super::ZkDetector)
    /// is one such detector.
    pub fn spawn<F, Fut>(detector: F) -> LeaderWatch
    where
        F: FnOnce(watch::Sender<Detection>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (sender, receiver) = watch::channel(Detection::Detecting);
        let task = tokio::spawn(detector(sender));
        LeaderWatch {
            receiver,
            _sender: None,
            _task: Some(Arc::new(AbortOnDrop(task))),
        }
    }

    /// What the detector knows now (marked as seen by this watch).
    pub fn current(&mut self) -> Detection {
        self.receiver.borrow_and_update().clone()
    }

    /// Waits for the next change and returns it; `None` if the detector
    /// has stopped.
    pub async fn changed(&mut self) -> Option<Detection> {
        self.receiver.changed().await.ok()?;
        Some(self.current())
    }

    /// The leader now, or the next one detected; `None` if the detector
    /// has stopped.
    pub async fn leader(&mut self) -> Option<Leader> {
        loop {
            if let Detection::Leader(leader) = self.current() {
                return Some(Arc::unwrap_or_clone(leader));
            }
            self.changed().await?;
        }
    }

    /// The current detection, then each change, as a stream that ends
    /// when the detector stops.
    pub fn into_stream(self) -> BoxStream<'static, Detection> {
        stream::unfold((self, true), |(mut watch, first)| async move {
            let next = if first {
                Some(watch.current())
            } else {
                watch.changed().await
            };
            next.map(|d| (d, (watch, false)))
        })
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::master_info::{HostPreference, MasterInfo};
    use crate::detect::spec::{Endpoint, Host};
    use std::time::Duration;

    fn leader(port: u16) -> Leader {
        let data = format!(r#"{{"address":{{"ip":"127.0.0.1","port":{port}}}}}"#);
        let info = MasterInfo::from_json(data.as_bytes()).unwrap();
        let endpoint = info.endpoint(HostPreference::Hostname).unwrap();
        assert_eq!(
            endpoint,
            Endpoint {
                host: Host::V4([127, 0, 0, 1].into()),
                port
            }
        );
        Leader {
            base_url: format!("http://{endpoint}"),
            endpoint,
            info,
            znode: format!("/mesos/json.info_{port:010}"),
            sequence: u32::from(port),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_fixed_watch_tells_its_detection_and_never_changes() {
        let mut watch = LeaderWatch::fixed(Detection::Leader(Arc::new(leader(5050))));
        assert_eq!(
            watch.leader().await.unwrap().base_url,
            "http://127.0.0.1:5050"
        );
        let waited = tokio::time::timeout(Duration::from_secs(3600), watch.changed()).await;
        assert!(waited.is_err(), "a fixed watch changed: {waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_stream_starts_with_the_current_state_and_follows_changes() {
        let watch = LeaderWatch::spawn(|sender| async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            sender.send_replace(Detection::NoLeader);
            tokio::time::sleep(Duration::from_secs(1)).await;
            sender.send_replace(Detection::Leader(Arc::new(leader(5051))));
            tokio::time::sleep(Duration::from_secs(1)).await;
            // The sender drops: the detector has stopped.
        });
        let seen: Vec<Detection> = watch.into_stream().collect().await;
        assert!(matches!(seen[0], Detection::Detecting), "{seen:?}");
        assert!(matches!(seen[1], Detection::NoLeader), "{seen:?}");
        assert_eq!(seen[2].leader().unwrap().endpoint.port, 5051);
        assert_eq!(seen.len(), 3, "{seen:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn leader_waits_past_states_without_one() {
        let mut watch = LeaderWatch::spawn(|sender| async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            sender.send_replace(Detection::NoLeader);
            tokio::time::sleep(Duration::from_secs(1)).await;
            sender.send_replace(Detection::Leader(Arc::new(leader(5052))));
            std::future::pending::<()>().await;
        });
        assert_eq!(watch.leader().await.unwrap().endpoint.port, 5052);
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_last_clone_stops_the_detector() {
        let (alive, stopped) = tokio::sync::oneshot::channel::<()>();
        let watch = LeaderWatch::spawn(|_sender| async move {
            let _alive = alive;
            std::future::pending::<()>().await;
        });
        let mut stopped = std::pin::pin!(stopped);
        let clone = watch.clone();
        drop(watch);
        let early = tokio::time::timeout(Duration::from_secs(60), &mut stopped).await;
        assert!(early.is_err(), "stopped while a clone still follows");
        drop(clone);
        let late = tokio::time::timeout(Duration::from_secs(60), &mut stopped).await;
        assert!(matches!(late, Ok(Err(_))), "not stopped: {late:?}");
    }

    #[test]
    fn same_as_compares_what_is_told() {
        assert!(Detection::NoLeader.same_as(&Detection::NoLeader));
        assert!(
            Detection::Leader(Arc::new(leader(1))).same_as(&Detection::Leader(Arc::new(leader(1))))
        );
        assert!(!Detection::Leader(Arc::new(leader(1)))
            .same_as(&Detection::Leader(Arc::new(leader(2)))));
        assert!(!Detection::Detecting.same_as(&Detection::NoLeader));
    }
}
