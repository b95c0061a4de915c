//! Finding the master: the one `--master` convention, parsed into a
//! [`MasterSpec`], and the detection of a Mesos cluster's leading master
//! from ZooKeeper ([`ZkDetector`], feature `zookeeper`), followed as it
//! changes through a [`LeaderWatch`].
//!
//! # `--master`: one string for every framework
//!
//! | `--master` | Means |
//! |---|---|
//! | `grpc://127.0.0.1:5050` | corral's own gRPC protocol (the `corral-testkit` mock master) |
//! | `http://10.0.0.1:5050`, `https://mesos.example.com` | the Mesos v1 scheduler HTTP API (a Mesos or clusterd master, or the mock master's HTTP door), TLS for `https` |
//! | `10.0.0.1:5050` | the same as `http://10.0.0.1:5050`: a bare `host:port` is a Mesos master |
//! | `m1:5050,m2:5050,m3:5050` | a list of masters, tried in turn (a non-leader redirects to the leader) |
//! | `grpc://a:5050,b:5050` | a list of gRPC masters: a scheme carries on along the list |
//! | `zk://zk1:2181,zk2:2181/mesos` | the leader found in ZooKeeper under `/mesos`, as Mesos publishes it, and followed when it changes |
//! | `zk://user:secret@zk1:2181/mesos` | the same, with ZooKeeper `digest` credentials |
//!
//! Rules: the scheme is case-insensitive; `http`/`https` without a port
//! mean 80/443, a `grpc://` or bare entry must name its port, a
//! ZooKeeper server without one means 2181. IPv6 literals go in brackets
//! (`[::1]:5050`). An HTTP master may carry a path prefix
//! (`https://gateway/mesos`), to which the transport appends
//! `/api/v1/scheduler`; a gRPC master takes none. Lists do not mix gRPC
//! and HTTP masters. A `zk://` URL is the whole string, its path is a
//! znode other than `/` (`zk://host:2181` alone is refused, as Mesos
//! refuses it). Credentials are only taken in a `zk://` URL: HTTP
//! credentials are given apart from the URL (and are never printed:
//! neither [`MasterSpec`]'s `Display` nor any [`MasterSpecError`] shows
//! a password). Every malformed string is a typed [`MasterSpecError`].
//!
//! ```
//! use corral::detect::{MasterSpec, MasterSpecError};
//!
//! let spec: MasterSpec = "m1:5050,https://m2".parse().unwrap();
//! assert_eq!(spec.static_urls(), ["http://m1:5050", "https://m2:443"]);
//!
//! let MasterSpec::ZooKeeper(zk) = "zk://zk1,zk2:2182/mesos".parse().unwrap() else { panic!() };
//! assert_eq!((zk.ensemble().as_str(), zk.path.as_str()), ("zk1:2181,zk2:2182", "/mesos"));
//!
//! assert_eq!("zk://zk1:2181/".parse::<MasterSpec>(), Err(MasterSpecError::ZkRootPath));
//! ```
//!
//! # How Mesos publishes its leader in ZooKeeper
//!
//! Each master joins the group at the configured path with an ephemeral
//! sequential znode `json.info_<sequence>` whose data is its JSON
//! `MasterInfo` ([`MasterInfo`]: `address.hostname`, `address.ip`,
//! `address.port`, …). The lowest sequence leads; when the leader's
//! ZooKeeper session ends its znode goes, and the next lowest leads (see
//! [`leader`] for how children are read). [`ZkDetector`] keeps a watch on
//! the group and tells each change as a [`Detection`]: `Leader` (with the
//! leader's base URL), `NoLeader` (an empty or missing group), or
//! `Error` (the leader's data is unusable: a typed [`LeaderError`], never
//! a panic). A lost connection to ZooKeeper keeps the last detection
//! while the client reconnects; an ended session is replaced with
//! backoff. Log lines name the ensemble and the path.
//!
//! # The seam with the transports
//!
//! A transport takes a [`MasterSpec`]: for `Grpc` and `Http` it tries the
//! listed masters in turn ([`MasterSpec::static_urls`],
//! [`HttpMaster::base_url`], [`GrpcMaster::channel_uri`]); for `ZooKeeper`
//! it starts a [`ZkDetector`] and connects to
//! [`LeaderWatch::leader`]'s [`base_url`](Leader::base_url), and
//! reconnects when [`LeaderWatch::changed`] tells a new leader.
//! [`LeaderWatch::fixed`] stands for a detector in a transport's tests.

mod endpoint;
pub mod leader;
mod master_info;
mod spec;
mod spec_error;
mod watch;
#[cfg(feature = "zookeeper")]
mod zookeeper;

pub use leader::{Leader, LeaderError, Member};
pub use master_info::{HostPreference, MasterAddress, MasterInfo, MasterInfoError};
pub use spec::{
    Endpoint, GrpcMaster, Host, HostProblem, HttpMaster, HttpScheme, MasterSpec, MasterSpecError,
    PathProblem, PortProblem, ZkCredentials, ZkPathProblem, ZkSpec,
};
pub use watch::{Detection, LeaderWatch};
#[cfg(feature = "zookeeper")]
#[cfg_attr(docsrs, doc(cfg(feature = "zookeeper")))]
pub use zookeeper::{ZkDetector, ZkOptions};

/// Whether this build of corral can follow a `zk://` master (its
/// `zookeeper` feature): a `zk://` string parses either way, and a
/// transport built without it says so instead of connecting.
pub const ZOOKEEPER_SUPPORTED: bool = cfg!(feature = "zookeeper");
