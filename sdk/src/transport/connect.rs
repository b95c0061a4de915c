//! One `--master` string to a transport: the scheme picks the protocol.
//!
//! Every example, and any framework that wants the same convention, takes
//! one master string and hands it to [`connect`]:
//!
//! | `--master` | transport |
//! |---|---|
//! | `grpc://127.0.0.1:5050` | [`GrpcTransport`]: corral's own protocol (the testkit's mock master) |
//! | `http://10.0.0.1:5050`, `https://…`, bare `10.0.0.1:5050` | [`HttpTransport`]: the Mesos v1 scheduler HTTP API (Mesos, clusterd) |
//! | `m1:5050,m2:5050` | [`HttpTransport`] trying the masters in turn, following a standby's redirect |
//! | `zk://zk1:2181/mesos` | [`HttpTransport`] to the leader detected in ZooKeeper ([`crate::detect`]), followed across failovers (feature `zookeeper`) |
//!
//! The grammar and every parse error are [`MasterSpec`]'s. A string that
//! names something this build cannot reach is a typed [`ConnectError`],
//! never a silent fallback to another protocol.

use async_trait::async_trait;

use crate::detect::{MasterSpec, MasterSpecError};
use crate::error::TransportError;
use crate::transport::{GrpcTransport, Session, Subscription, Transport};
use crate::{Call, Subscribe};

#[cfg(feature = "http")]
use crate::transport::HttpTransport;

/// Why a master string gives no transport.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The string does not parse (see [`MasterSpec`]).
    #[error("bad --master string: {0}")]
    Spec(#[from] MasterSpecError),
    /// corral's gRPC transport talks to one master; a list of gRPC
    /// masters has no failover to follow.
    #[error("the gRPC transport takes one master, not a list of {0}")]
    GrpcList(usize),
    /// An `http(s)://` or bare `host:port` master, but this build of
    /// corral has no `http` feature.
    #[error("{0} is a Mesos HTTP master, but corral was built without its `http` feature")]
    HttpDisabled(String),
    /// A `zk://` master, but this build of corral has no `zookeeper`
    /// feature (or no `http` feature, which the detected masters speak).
    #[error("{0} names a ZooKeeper ensemble, but corral was built without its `zookeeper` and `http` features")]
    ZooKeeperDisabled(String),
    /// The transport refused its configuration (e.g. a bad URL).
    #[error(transparent)]
    Transport(#[from] TransportError),
}

/// The transport a master string named: gRPC or the Mesos HTTP API.
#[derive(Debug)]
#[non_exhaustive]
pub enum MasterTransport {
    /// corral's gRPC protocol.
    Grpc(GrpcTransport),
    /// The Mesos v1 scheduler HTTP API (boxed: it is the larger one).
    #[cfg(feature = "http")]
    Http(Box<HttpTransport>),
}

/// Parses `master` (see the module docs) and builds its transport.
/// Connects lazily: a master that is down now is retried by the runtime.
/// Call it inside a tokio runtime (the gRPC channel starts its task there).
pub fn connect(master: &str) -> Result<MasterTransport, ConnectError> {
    let spec = MasterSpec::parse(master)?;
    match &spec {
        MasterSpec::Grpc(masters) => match masters.as_slice() {
            [one] => Ok(MasterTransport::Grpc(GrpcTransport::connect_lazy(
                &one.channel_uri(),
            )?)),
            many => Err(ConnectError::GrpcList(many.len())),
        },
        MasterSpec::Http(_) => http(&spec),
        MasterSpec::ZooKeeper(zk) => zookeeper(zk, &spec),
    }
}

/// The HTTP transport to the leader a [`crate::detect::ZkDetector`]
/// (started here, on the current runtime) finds under the URL's path.
#[cfg(all(feature = "zookeeper", feature = "http"))]
fn zookeeper(
    zk: &crate::detect::ZkSpec,
    spec: &MasterSpec,
) -> Result<MasterTransport, ConnectError> {
    let watch = crate::detect::ZkDetector::new(zk.clone()).start();
    Ok(MasterTransport::Http(Box::new(HttpTransport::detected(
        crate::transport::HttpConfig::new(Vec::<String>::new()),
        watch,
        spec.to_string(),
    )?)))
}

#[cfg(not(all(feature = "zookeeper", feature = "http")))]
fn zookeeper(
    _zk: &crate::detect::ZkSpec,
    spec: &MasterSpec,
) -> Result<MasterTransport, ConnectError> {
    Err(ConnectError::ZooKeeperDisabled(spec.to_string()))
}

#[cfg(feature = "http")]
fn http(spec: &MasterSpec) -> Result<MasterTransport, ConnectError> {
    Ok(MasterTransport::Http(Box::new(HttpTransport::new(
        spec.static_urls(),
    )?)))
}

#[cfg(not(feature = "http"))]
fn http(spec: &MasterSpec) -> Result<MasterTransport, ConnectError> {
    Err(ConnectError::HttpDisabled(spec.to_string()))
}

#[async_trait]
impl Transport for MasterTransport {
    async fn subscribe(&self, call: Subscribe) -> Result<Subscription, TransportError> {
        match self {
            MasterTransport::Grpc(grpc) => grpc.subscribe(call).await,
            #[cfg(feature = "http")]
            MasterTransport::Http(http) => http.subscribe(call).await,
        }
    }

    async fn send(&self, session: &Session, call: Call) -> Result<(), TransportError> {
        match self {
            MasterTransport::Grpc(grpc) => grpc.send(session, call).await,
            #[cfg(feature = "http")]
            MasterTransport::Http(http) => http.send(session, call).await,
        }
    }

    fn endpoint(&self) -> String {
        match self {
            MasterTransport::Grpc(grpc) => grpc.endpoint(),
            #[cfg(feature = "http")]
            MasterTransport::Http(http) => http.endpoint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_scheme_picks_the_protocol() {
        let grpc = connect("grpc://127.0.0.1:5050").expect("grpc");
        assert!(matches!(grpc, MasterTransport::Grpc(_)), "{grpc:?}");
        assert_eq!(grpc.endpoint(), "http://127.0.0.1:5050");
        #[cfg(feature = "http")]
        for master in ["http://127.0.0.1:5050", "127.0.0.1:5050", "a:5050,b:5050"] {
            let http = connect(master).expect(master);
            assert!(
                matches!(http, MasterTransport::Http(_)),
                "{master}: {http:?}"
            );
        }
    }

    #[tokio::test]
    async fn what_no_transport_reaches_is_a_typed_error() {
        assert!(matches!(connect(""), Err(ConnectError::Spec(_))));
        assert!(matches!(
            connect("grpc://a:1,b:2"),
            Err(ConnectError::GrpcList(2))
        ));
        #[cfg(not(all(feature = "zookeeper", feature = "http")))]
        assert!(matches!(
            connect("zk://127.0.0.1:2181/mesos"),
            Err(ConnectError::ZooKeeperDisabled(_))
        ));
    }

    #[cfg(all(feature = "zookeeper", feature = "http"))]
    #[tokio::test]
    async fn a_zookeeper_url_gives_the_http_transport_that_detects_its_leader() {
        let zk = connect("zk://user:secret@127.0.0.1:1/mesos").expect("zk");
        assert!(matches!(zk, MasterTransport::Http(_)), "{zk:?}");
        let name = zk.endpoint();
        assert!(name.starts_with("zk://"), "{name}");
        assert!(!name.contains("secret"), "{name}");
    }
}
