//! [`ZkDetector`]: follows the leading Mesos master in ZooKeeper (feature
//! `zookeeper`), with the `zookeeper-client` crate.
//!
//! One task per detector: it opens a session on the ensemble (the digest
//! credentials of the `zk://` URL added), lists the masters' znode with a
//! watch, reads the lowest member's data (see [`leader`](super::leader)),
//! publishes the [`Detection`], and waits for the watch to fire: a member
//! joining or leaving (the leader's znode going is the next lowest
//! leading), or the znode itself appearing or going. A lost connection is
//! the client's to repair within the session (the last detection stands
//! meanwhile: masters keep leading while their own sessions live); an
//! ended session (expired, closed, refused) is replaced by a new one,
//! after a capped, jittered exponential backoff, as is a failed connect.
//! Every log line names the ensemble and the path.

use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};
use zookeeper_client as zk;

use super::leader::{leader_from_data, select_leader, LeaderError, Member};
use super::master_info::HostPreference;
use super::spec::{HttpScheme, ZkSpec};
use super::watch::{Detection, LeaderWatch};
use crate::runtime::backoff::Backoff;

/// How a [`ZkDetector`] connects and what it makes of the leader.
#[derive(Clone, Debug)]
pub struct ZkOptions {
    /// The scheme of [`Leader::base_url`](super::Leader::base_url): a
    /// `MasterInfo` does not say whether its master speaks TLS.
    pub scheme: HttpScheme,
    /// Whether to connect to the leader's host name or its IP.
    pub prefer: HostPreference,
    /// The session timeout asked of ZooKeeper (Mesos uses 10 s; the
    /// server bounds it by its tick time).
    pub session_timeout: Duration,
    /// The first delay before opening a new session after a failure.
    pub backoff_initial: Duration,
    /// The longest delay between attempts.
    pub backoff_max: Duration,
    /// Seeds the backoff's jitter, so a run replays exactly.
    pub seed: u64,
}

impl Default for ZkOptions {
    fn default() -> Self {
        ZkOptions {
            scheme: HttpScheme::Http,
            prefer: HostPreference::Hostname,
            session_timeout: Duration::from_secs(10),
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            seed: 0x5eed_2c00,
        }
    }
}

/// Detects the leading master of a Mesos cluster from ZooKeeper and
/// follows it.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use corral::detect::{MasterSpec, ZkDetector};
///
/// let MasterSpec::ZooKeeper(zk) = "zk://zk1:2181,zk2:2181/mesos".parse()? else {
///     unreachable!()
/// };
/// let mut watch = ZkDetector::new(zk).start();
/// if let Some(leader) = watch.leader().await {
///     println!("the leader is at {}", leader.base_url);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ZkDetector {
    spec: ZkSpec,
    options: ZkOptions,
}

impl ZkDetector {
    /// A detector for the ensemble and path of `spec`, with default
    /// options.
    pub fn new(spec: ZkSpec) -> Self {
        ZkDetector {
            spec,
            options: ZkOptions::default(),
        }
    }

    /// Replaces the options.
    pub fn with_options(mut self, options: ZkOptions) -> Self {
        self.options = options;
        self
    }

    /// Starts detecting on the current tokio runtime. The watch starts at
    /// [`Detection::Detecting`]; detection stops when the last clone of
    /// it is dropped.
    pub fn start(self) -> LeaderWatch {
        LeaderWatch::spawn(|sender| run(self.spec, self.options, sender))
    }
}

/// What ends one session's following.
enum End {
    /// Nobody follows the detector any more.
    Stopped,
    /// The session is over (expired, closed, or its authentication
    /// refused): open another.
    Session(zk::SessionState),
}

struct Detector {
    spec: ZkSpec,
    ensemble: String,
    options: ZkOptions,
    sender: watch::Sender<Detection>,
    backoff: Backoff,
}

async fn run(spec: ZkSpec, options: ZkOptions, sender: watch::Sender<Detection>) {
    let mut detector = Detector {
        ensemble: spec.ensemble(),
        backoff: Backoff::new(options.backoff_initial, options.backoff_max, options.seed),
        spec,
        options,
        sender,
    };
    detector.run().await;
}

impl Detector {
    async fn run(&mut self) {
        loop {
            let (ensemble, path) = (&self.ensemble, &self.spec.path);
            info!(%ensemble, %path, "opening a ZooKeeper session to detect the leading master");
            let mut connector =
                zk::Client::connector().with_session_timeout(self.options.session_timeout);
            if let Some(credentials) = &self.spec.credentials {
                connector = connector.with_auth("digest", &credentials.digest_auth());
            }
            let connected = tokio::select! {
                connected = connector.connect(ensemble) => connected,
                () = self.sender.closed() => return,
            };
            match connected {
                Ok(client) => {
                    info!(
                        %ensemble, %path,
                        session = %client.session_id(),
                        timeout = ?client.session_timeout(),
                        "ZooKeeper session open"
                    );
                    match self.follow(&client).await {
                        End::Stopped => return,
                        End::Session(state) => warn!(
                            ensemble = %self.ensemble, path = %self.spec.path, ?state,
                            "the ZooKeeper session ended; opening a new one"
                        ),
                    }
                }
                Err(error) => warn!(
                    %ensemble, %path, %error,
                    "could not open a ZooKeeper session"
                ),
            }
            if !self.pause().await {
                return;
            }
        }
    }

    /// Sleeps the next backoff delay; `false` if nobody follows any more.
    async fn pause(&mut self) -> bool {
        let delay = self.backoff.next_delay();
        info!(ensemble = %self.ensemble, path = %self.spec.path, ?delay, "retrying ZooKeeper after a pause");
        tokio::select! {
            () = tokio::time::sleep(delay) => true,
            () = self.sender.closed() => false,
        }
    }

    /// Follows the group on one session until it ends.
    async fn follow(&mut self, client: &zk::Client) -> End {
        let mut state = client.state_watcher();
        loop {
            let watcher = match self.read(client).await {
                Ok(Some(watcher)) => watcher,
                // The leader went between listing and reading: list again.
                Ok(None) => continue,
                Err(ReadFailure::Session(state)) => return End::Session(state),
                Err(ReadFailure::Transient(error)) => {
                    warn!(
                        ensemble = %self.ensemble, path = %self.spec.path, %error,
                        "ZooKeeper did not answer; the client reconnects within the session"
                    );
                    if !self.pause().await {
                        return End::Stopped;
                    }
                    continue;
                }
                Err(ReadFailure::Refused(error)) => {
                    warn!(ensemble = %self.ensemble, path = %self.spec.path, %error, "cannot read the masters' group");
                    self.publish(Detection::Error(error.into()));
                    if !self.pause().await {
                        return End::Stopped;
                    }
                    continue;
                }
            };
            if let Some(end) = self.wait(watcher, &mut state).await {
                return end;
            }
        }
    }

    /// Reads the group once and publishes what it says; the watch that
    /// fires on its next change, or `None` to read again at once.
    async fn read(
        &mut self,
        client: &zk::Client,
    ) -> Result<Option<zk::OneshotWatcher>, ReadFailure> {
        let path = self.spec.path.as_str();
        let (children, watcher) = match client.list_and_watch_children(path).await {
            Ok(listed) => listed,
            Err(zk::Error::NoNode) => {
                // No znode, no masters: watch for it to be created.
                return match client.check_and_watch_stat(path).await {
                    Ok((Some(_), _)) => Ok(None),
                    Ok((None, watcher)) => {
                        self.backoff.reset();
                        self.publish(Detection::NoLeader);
                        Ok(Some(watcher))
                    }
                    Err(error) => Err(ReadFailure::of("checking", path, error)),
                };
            }
            Err(error) => return Err(ReadFailure::of("listing", path, error)),
        };
        let Some(member) = select_leader(children.iter().map(String::as_str)) else {
            self.backoff.reset();
            self.publish(Detection::NoLeader);
            return Ok(Some(watcher));
        };
        let znode = format!("{path}/{}", member.name);
        let data = match client.get_data(&znode).await {
            Ok((data, _stat)) => data,
            Err(zk::Error::NoNode) => return Ok(None),
            Err(error) => return Err(ReadFailure::of("reading", &znode, error)),
        };
        self.backoff.reset();
        self.publish(self.detection(&member, &data));
        Ok(Some(watcher))
    }

    fn detection(&self, member: &Member, data: &[u8]) -> Detection {
        let path = &self.spec.path;
        match leader_from_data(path, member, data, self.options.scheme, self.options.prefer) {
            Ok(leader) => Detection::Leader(leader.into()),
            Err(error) => Detection::Error(error.into()),
        }
    }

    /// Publishes `detection` if it tells something new, with a log line.
    fn publish(&self, detection: Detection) {
        let (ensemble, path) = (&self.ensemble, &self.spec.path);
        let changed = self.sender.send_if_modified(|current| {
            if current.same_as(&detection) {
                return false;
            }
            *current = detection.clone();
            true
        });
        if !changed {
            return;
        }
        match &detection {
            Detection::Leader(leader) => info!(
                %ensemble, %path,
                leader = %leader.base_url, znode = %leader.znode,
                master_id = %leader.info.id,
                version = leader.info.version.as_deref().unwrap_or("unknown"),
                "detected the leading master"
            ),
            Detection::NoLeader => warn!(%ensemble, %path, "no master leads: the group is empty"),
            Detection::Error(error) => warn!(
                %ensemble, %path, error = %ErrorChain(error.as_ref()),
                "the leading master cannot be used"
            ),
            Detection::Detecting => {}
        }
    }

    /// Waits for `watcher` to fire; `None` to read the group again.
    async fn wait(&self, watcher: zk::OneshotWatcher, state: &mut zk::StateWatcher) -> Option<End> {
        let (ensemble, path) = (&self.ensemble, &self.spec.path);
        let fired = watcher.changed();
        tokio::pin!(fired);
        loop {
            tokio::select! {
                event = &mut fired => {
                    return match event.event_type {
                        zk::EventType::Session if event.session_state.is_terminated() => {
                            Some(End::Session(event.session_state))
                        }
                        _ => None,
                    };
                }
                session = state.changed() => match session {
                    zk::SessionState::Disconnected => warn!(
                        %ensemble, %path,
                        "disconnected from ZooKeeper; reconnecting within the session \
                         (the last detection stands meanwhile)"
                    ),
                    zk::SessionState::SyncConnected | zk::SessionState::ConnectedReadOnly => {
                        info!(%ensemble, %path, ?session, "reconnected to ZooKeeper");
                    }
                    terminal => return Some(End::Session(terminal)),
                },
                () = self.sender.closed() => return Some(End::Stopped),
            }
        }
    }
}

/// Why a read of the group did not happen.
enum ReadFailure {
    /// The session is over.
    Session(zk::SessionState),
    /// Worth retrying on the same session (connection lost, timeout,
    /// throttled).
    Transient(zk::Error),
    /// ZooKeeper refuses (e.g. no permission): told to the followers.
    Refused(LeaderError),
}

impl ReadFailure {
    fn of(operation: &'static str, path: &str, source: zk::Error) -> ReadFailure {
        match source {
            zk::Error::SessionExpired => ReadFailure::Session(zk::SessionState::Expired),
            zk::Error::AuthFailed => ReadFailure::Session(zk::SessionState::AuthFailed),
            zk::Error::ClientClosed | zk::Error::NoHosts => {
                ReadFailure::Session(zk::SessionState::Closed)
            }
            zk::Error::ConnectionLoss | zk::Error::Timeout | zk::Error::Throttled => {
                ReadFailure::Transient(source)
            }
            source => ReadFailure::Refused(LeaderError::ZooKeeper {
                operation,
                path: path.to_owned(),
                source,
            }),
        }
    }
}

/// An error and its sources, on one line.
struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}
