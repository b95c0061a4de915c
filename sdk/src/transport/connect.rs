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
//! # Credentials
//!
//! For masters that authenticate frameworks (Mesos's
//! `--authenticate_http_frameworks`), [`connect`] reads the framework's
//! principal and secret from the environment, so that every program
//! taking `--master` gets them without a flag of its own, and the secret
//! stays out of the command line (and of `ps`):
//!
//! | variable | |
//! |---|---|
//! | `CORRAL_PRINCIPAL` | the principal (also set it as `FrameworkInfo.principal`: masters refuse a mismatch) |
//! | `CORRAL_SECRET_FILE` | a file whose content (one trailing newline dropped) is the secret |
//! | `CORRAL_SECRET` | the secret itself, when no file is named |
//!
//! The HTTP transport sends them as HTTP basic authentication on every
//! request; the gRPC transport does not send them yet. A principal
//! without a secret, or a secret without a principal, is a typed
//! [`ConnectError::Credentials`]. [`connect_with`] takes them explicitly.
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
    /// The credentials in the environment are incomplete or unreadable.
    #[error("framework credentials: {0}")]
    Credentials(String),
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

/// Parses `master` (see the module docs) and builds its transport, with
/// the framework credentials of the environment, if any:
/// `CORRAL_PRINCIPAL` with `CORRAL_SECRET_FILE` (a file holding the
/// secret) or `CORRAL_SECRET`, sent by the HTTP transport as basic
/// authentication. Connects lazily: a master that is
/// down now is retried by the runtime. Call it inside a tokio runtime (the
/// gRPC channel starts its task there).
pub fn connect(master: &str) -> Result<MasterTransport, ConnectError> {
    let credentials = credentials_from(|name| std::env::var_os(name))?;
    connect_with(master, credentials)
}

/// The framework credentials that `lookup` (an environment) gives:
/// `CORRAL_PRINCIPAL` with `CORRAL_SECRET_FILE` or `CORRAL_SECRET`.
fn credentials_from(
    lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<Option<(String, String)>, ConnectError> {
    let text = |name: &str| -> Result<Option<String>, ConnectError> {
        match lookup(name) {
            None => Ok(None),
            Some(value) if value.is_empty() => Ok(None),
            Some(value) => value
                .into_string()
                .map(Some)
                .map_err(|_| ConnectError::Credentials(format!("{name} is not UTF-8"))),
        }
    };
    let principal = text("CORRAL_PRINCIPAL")?;
    let secret = match text("CORRAL_SECRET_FILE")? {
        Some(path) => {
            let content = std::fs::read_to_string(&path).map_err(|e| {
                ConnectError::Credentials(format!("CORRAL_SECRET_FILE {path}: {e}"))
            })?;
            let secret = content.strip_suffix('\n').unwrap_or(&content);
            Some(secret.strip_suffix('\r').unwrap_or(secret).to_owned())
        }
        None => text("CORRAL_SECRET")?,
    };
    match (principal, secret) {
        (None, None) => Ok(None),
        (Some(principal), Some(secret)) => Ok(Some((principal, secret))),
        (Some(_), None) => Err(ConnectError::Credentials(
            "CORRAL_PRINCIPAL is set but neither CORRAL_SECRET_FILE nor CORRAL_SECRET".to_owned(),
        )),
        (None, Some(_)) => Err(ConnectError::Credentials(
            "a secret is set but CORRAL_PRINCIPAL is not".to_owned(),
        )),
    }
}

/// [`connect`] with explicit framework credentials (`(principal,
/// secret)`), ignoring the environment.
pub fn connect_with(
    master: &str,
    credentials: Option<(String, String)>,
) -> Result<MasterTransport, ConnectError> {
    let spec = MasterSpec::parse(master)?;
    match &spec {
        MasterSpec::Grpc(masters) => match masters.as_slice() {
            [one] => Ok(MasterTransport::Grpc(GrpcTransport::connect_lazy(
                &one.channel_uri(),
            )?)),
            many => Err(ConnectError::GrpcList(many.len())),
        },
        MasterSpec::Http(_) => http(&spec, credentials),
        MasterSpec::ZooKeeper(zk) => zookeeper(zk, &spec, credentials),
    }
}

/// The HTTP transport to the leader a [`crate::detect::ZkDetector`]
/// (started here, on the current runtime) finds under the URL's path.
#[cfg(all(feature = "zookeeper", feature = "http"))]
fn zookeeper(
    zk: &crate::detect::ZkSpec,
    spec: &MasterSpec,
    credentials: Option<(String, String)>,
) -> Result<MasterTransport, ConnectError> {
    let watch = crate::detect::ZkDetector::new(zk.clone()).start();
    Ok(MasterTransport::Http(Box::new(HttpTransport::detected(
        http_config(Vec::new(), credentials),
        watch,
        spec.to_string(),
    )?)))
}

#[cfg(not(all(feature = "zookeeper", feature = "http")))]
fn zookeeper(
    _zk: &crate::detect::ZkSpec,
    spec: &MasterSpec,
    _credentials: Option<(String, String)>,
) -> Result<MasterTransport, ConnectError> {
    Err(ConnectError::ZooKeeperDisabled(spec.to_string()))
}

#[cfg(feature = "http")]
fn http_config(
    masters: Vec<String>,
    credentials: Option<(String, String)>,
) -> crate::transport::HttpConfig {
    let config = crate::transport::HttpConfig::new(masters);
    match credentials {
        Some((principal, secret)) => config.with_credentials(principal, secret),
        None => config,
    }
}

#[cfg(feature = "http")]
fn http(
    spec: &MasterSpec,
    credentials: Option<(String, String)>,
) -> Result<MasterTransport, ConnectError> {
    Ok(MasterTransport::Http(Box::new(HttpTransport::with_config(
        http_config(spec.static_urls(), credentials),
    )?)))
}

#[cfg(not(feature = "http"))]
fn http(
    spec: &MasterSpec,
    _credentials: Option<(String, String)>,
) -> Result<MasterTransport, ConnectError> {
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

    #[test]
    fn credentials_come_from_the_environment_or_are_a_typed_error() {
        use std::ffi::OsString;
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        assert_eq!(credentials_from(env(&[])).unwrap(), None);
        assert_eq!(
            credentials_from(env(&[("CORRAL_PRINCIPAL", "fw"), ("CORRAL_SECRET", "s3")])).unwrap(),
            Some(("fw".to_owned(), "s3".to_owned()))
        );
        let dir = std::env::temp_dir().join(format!("corral-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secret");
        std::fs::write(&file, "from-file\n").unwrap();
        let path: &'static str = Box::leak(file.display().to_string().into_boxed_str());
        let pairs: &'static [(&'static str, &'static str)] = Box::leak(Box::new([
            ("CORRAL_PRINCIPAL", "fw"),
            ("CORRAL_SECRET", "ignored"),
            ("CORRAL_SECRET_FILE", path),
        ]));
        assert_eq!(
            credentials_from(env(pairs)).unwrap(),
            Some(("fw".to_owned(), "from-file".to_owned()))
        );
        std::fs::remove_dir_all(&dir).unwrap();
        for half in [
            &[("CORRAL_PRINCIPAL", "fw")][..],
            &[("CORRAL_SECRET", "s3")][..],
            &[
                ("CORRAL_PRINCIPAL", "fw"),
                ("CORRAL_SECRET_FILE", "/nonexistent/corral"),
            ][..],
        ] {
            match credentials_from(env(half)) {
                Err(ConnectError::Credentials(m)) => assert!(!m.contains("s3"), "{m}"),
                other => panic!("{half:?}: {other:?}"),
            }
        }
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
