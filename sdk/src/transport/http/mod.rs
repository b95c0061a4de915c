//! The Mesos v1 scheduler HTTP API transport: `POST /api/v1/scheduler`
//! to a Mesos (or clusterd) master, or to any master that speaks it.
//!
//! - Bodies are protobuf (`application/x-protobuf`) by default, JSON
//!   (`application/json`, stout's mapping) on request; the same type is
//!   sent as `Content-Type` and, for SUBSCRIBE, as `Accept`, and the
//!   stream's `Content-Type` must be exactly that type.
//! - SUBSCRIBE opens its own connection (a client that keeps no idle
//!   connection) and reads the chunked body as RecordIO, record by record,
//!   above the HTTP chunking. Every other call goes over a second, pooled
//!   client with the `Mesos-Stream-Id` header; `202 Accepted` (and `200`
//!   for UPDATE_FRAMEWORK) is success, every other status a typed
//!   [`TransportError`].
//! - `307 Temporary Redirect` is followed (a bounded number of times),
//!   including Mesos's protocol-relative `Location: //host:port/...` and the
//!   docs' bare `host:port`; the master that answers becomes the leader for
//!   the calls that follow. Masters are tried in turn when one cannot be
//!   reached or answers `503`.
//! - HTTP basic authentication, for masters run with
//!   `--authenticate_http_frameworks`.
//!
//! - `https` masters, verified with rustls against the CA certificates of a
//!   PEM file ([`HttpConfig::with_ca_file`]; an `https` master without one
//!   is refused at construction: no system roots are read).
//!
//! The masters are a list of base URLs ([`HttpTransport::with_config`]),
//! or whatever a detector tells ([`HttpTransport::detected`]: a
//! [`LeaderWatch`], e.g. ZooKeeper's for `zk://`): each SUBSCRIBE then goes
//! to the leader detected at that moment (waiting, up to the request
//! timeout, while none is known), and the calls of that subscription to the
//! master that accepted it. After a failover the old stream breaks, the
//! runtime subscribes again, and so reaches the new leader.

mod codec;
mod dial;

pub use dial::{DialedIo, Dialer};

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use bytes::Bytes;
use corral_mesos::convert::{call_to_mesos, subscribe_to_mesos};
use corral_mesos::recordio;
use futures::StreamExt;
use http::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::{Session, Subscription, Transport};
use crate::detect::{Detection, LeaderWatch};
use crate::error::{RejectKind, TransportError};
use crate::{Call, MasterEvent, Subscribe};

/// How bodies are encoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encoding {
    /// `application/x-protobuf` (the default: smaller and exact).
    #[default]
    Protobuf,
    /// `application/json`, as Mesos writes and reads it.
    Json,
}

impl Encoding {
    /// The media type, as Mesos compares it (exactly).
    pub fn media_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => corral_mesos::PROTOBUF,
            Encoding::Json => corral_mesos::JSON,
        }
    }
}

/// A framework's credentials for HTTP basic authentication.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The principal (also `FrameworkInfo.principal`).
    pub principal: String,
    /// The secret.
    pub secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

/// How an [`HttpTransport`] talks to its masters.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HttpConfig {
    /// Base URLs of the masters (`http://host:5050`), tried in turn.
    pub masters: Vec<String>,
    /// The body encoding.
    pub encoding: Encoding,
    /// Basic-auth credentials, if the masters require them.
    pub credentials: Option<Credentials>,
    /// How many 307s one request follows before giving up.
    pub max_redirects: usize,
    /// The largest event record accepted.
    pub max_record: usize,
    /// How long a call (and SUBSCRIBE's response head) may take; the
    /// Mesos docs advise about 75 s.
    pub request_timeout: Duration,
    /// A PEM file of the CA certificates that `https` masters' certificates
    /// must chain to (required for `https` masters).
    pub ca_file: Option<PathBuf>,
}

impl HttpConfig {
    /// Protobuf, no credentials, up to 5 redirects, 64 MiB records, 75 s.
    pub fn new<I, S>(masters: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        HttpConfig {
            masters: masters.into_iter().map(Into::into).collect(),
            encoding: Encoding::Protobuf,
            credentials: None,
            max_redirects: 5,
            max_record: recordio::DEFAULT_MAX_RECORD,
            request_timeout: Duration::from_secs(75),
            ca_file: None,
        }
    }

    /// With the CA certificates (PEM) that `https` masters are checked
    /// against.
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// With this body encoding.
    pub fn with_encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// With basic-auth credentials.
    pub fn with_credentials(
        mut self,
        principal: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        self.credentials = Some(Credentials {
            principal: principal.into(),
            secret: secret.into(),
        });
        self
    }

    /// With another request timeout.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }
}

/// hyper's client over TCP, or over a [`Dialer`]'s connections.
#[derive(Clone)]
enum HttpClient {
    Net(Client<HttpsConnector<HttpConnector>, Full<Bytes>>),
    Dialed(Client<HttpsConnector<dial::DialService>, Full<Bytes>>),
}

impl HttpClient {
    fn request(&self, request: Request<Full<Bytes>>) -> hyper_util::client::legacy::ResponseFuture {
        match self {
            HttpClient::Net(client) => client.request(request),
            HttpClient::Dialed(client) => client.request(request),
        }
    }
}

/// The TLS client configuration: the CA file's certificates as the only
/// roots (none without a file, so `https` then cannot verify anything).
fn tls_config(ca_file: Option<&std::path::Path>) -> Result<rustls::ClientConfig, TransportError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    if let Some(path) = ca_file {
        let bad = |e: &dyn std::fmt::Display| {
            TransportError::Unavailable(format!("CA file {}: {e}", path.display()))
        };
        let certs = CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))?;
        for cert in certs {
            roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
        }
        if roots.is_empty() {
            return Err(bad(&"no certificate in the file"));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::Unavailable(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn client(
    tls: &rustls::ClientConfig,
    idle_per_host: usize,
    dialer: Option<&Arc<dyn Dialer>>,
) -> HttpClient {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls.clone())
        .https_or_http()
        .enable_http1();
    let mut builder = Client::builder(TokioExecutor::new());
    builder.pool_max_idle_per_host(idle_per_host);
    match dialer {
        None => HttpClient::Net(builder.build(connector.build())),
        Some(dialer) => HttpClient::Dialed(
            builder.build(connector.wrap_connector(dial::DialService(dialer.clone()))),
        ),
    }
}

/// Talks to masters over the Mesos v1 scheduler HTTP API. Cheap to clone.
#[derive(Clone)]
pub struct HttpTransport {
    config: Arc<HttpConfig>,
    /// The masters, parsed: scheme and authority only.
    masters: Arc<Vec<Uri>>,
    /// Pooled: every call but SUBSCRIBE.
    calls: HttpClient,
    /// Keeps nothing idle: each subscription gets its own connection.
    streams: HttpClient,
    /// The master that last answered (the leader, after redirects).
    leader: Arc<Mutex<Option<Uri>>>,
    authorization: Option<HeaderValue>,
    /// A detector's view of the leader, and how to name it (`zk://…`,
    /// without credentials), when the masters are detected.
    detector: Option<(LeaderWatch, Arc<str>)>,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("masters", &self.config.masters)
            .field("encoding", &self.config.encoding)
            .field("detected_from", &self.detector.as_ref().map(|(_, s)| s))
            .finish_non_exhaustive()
    }
}

/// Scheme and authority of a master URL, checked.
fn parse_master(text: &str) -> Result<Uri, TransportError> {
    let bad = |why: &str| TransportError::Unavailable(format!("bad master URL {text:?}: {why}"));
    let uri: Uri = text.parse().map_err(|_| bad("not a URL"))?;
    let scheme = match uri.scheme_str() {
        Some(s @ ("http" | "https")) => s.to_owned(),
        _ => return Err(bad("the scheme must be http or https")),
    };
    let authority = uri.authority().ok_or_else(|| bad("no host"))?.clone();
    Uri::builder()
        .scheme(scheme.as_str())
        .authority(authority)
        .path_and_query("/")
        .build()
        .map_err(|_| bad("not a URL"))
}

impl HttpTransport {
    /// A transport to `masters` (`http://host:port` each), protobuf, no
    /// credentials. Connects lazily.
    pub fn new<I, S>(masters: I) -> Result<Self, TransportError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with_config(HttpConfig::new(masters))
    }

    /// A transport with this configuration. Connects lazily.
    pub fn with_config(config: HttpConfig) -> Result<Self, TransportError> {
        Self::build(config, None, None)
    }

    /// A transport whose connections `dialer` opens instead of TCP (each
    /// given the master URL's `host:port`): for masters that are not on a
    /// socket, such as the testkit's in-memory mock master on tokio's
    /// paused clock. Everything above the byte stream is unchanged.
    /// Connects lazily.
    pub fn with_dialer(
        config: HttpConfig,
        dialer: Arc<dyn Dialer>,
    ) -> Result<Self, TransportError> {
        Self::build(config, None, Some(dialer))
    }

    /// A transport to whichever master `watch` tells leads (its
    /// [`Leader::base_url`](crate::detect::Leader::base_url)), named
    /// `source` in messages (say `zk://zk1:2181/mesos`, without
    /// credentials). `config.masters`, if any, are tried after the
    /// detected leader. Connects lazily.
    pub fn detected(
        config: HttpConfig,
        watch: LeaderWatch,
        source: impl Into<String>,
    ) -> Result<Self, TransportError> {
        let source: String = source.into();
        Self::build(config, Some((watch, Arc::from(source))), None)
    }

    fn build(
        config: HttpConfig,
        detector: Option<(LeaderWatch, Arc<str>)>,
        dialer: Option<Arc<dyn Dialer>>,
    ) -> Result<Self, TransportError> {
        if config.masters.is_empty() && detector.is_none() {
            return Err(TransportError::Unavailable(
                "no master URL given".to_owned(),
            ));
        }
        let masters = config
            .masters
            .iter()
            .map(|m| parse_master(m))
            .collect::<Result<Vec<_>, _>>()?;
        let authorization = match &config.credentials {
            Some(c) => {
                let token = base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{}", c.principal, c.secret));
                Some(
                    HeaderValue::from_str(&format!("Basic {token}")).map_err(|_| {
                        TransportError::Unavailable("credentials do not fit a header".to_owned())
                    })?,
                )
            }
            None => None,
        };
        if config.ca_file.is_none() && masters.iter().any(|m| m.scheme_str() == Some("https")) {
            return Err(TransportError::Unavailable(
                "an https master needs a CA file (HttpConfig::with_ca_file)".to_owned(),
            ));
        }
        let tls = tls_config(config.ca_file.as_deref())?;
        let calls = client(&tls, usize::MAX, dialer.as_ref());
        let streams = client(&tls, 0, dialer.as_ref());
        Ok(HttpTransport {
            config: Arc::new(config),
            masters: Arc::new(masters),
            calls,
            streams,
            leader: Arc::new(Mutex::new(None)),
            authorization,
            detector,
        })
    }

    /// The leader the detector tells now, if there is a detector and it
    /// knows one.
    fn detected_now(&self) -> Option<Uri> {
        let (watch, _) = self.detector.as_ref()?;
        let detection = watch.clone().current();
        parse_master(&detection.leader()?.base_url).ok()
    }

    /// The leader the detector tells, waiting for one up to the request
    /// timeout.
    async fn detected_leader(
        &self,
        watch: &LeaderWatch,
        source: &str,
    ) -> Result<Uri, TransportError> {
        let mut watch = watch.clone();
        let waited = tokio::time::timeout(self.config.request_timeout, watch.leader()).await;
        match waited {
            Ok(Some(leader)) => parse_master(&leader.base_url),
            Ok(None) => Err(TransportError::Unavailable(format!(
                "{source}: the master detector has stopped"
            ))),
            Err(_) => Err(TransportError::Unavailable(match watch.current() {
                Detection::Error(e) => format!("{source}: the leading master is unusable: {e}"),
                Detection::NoLeader => format!("{source}: no master leads"),
                _ => format!(
                    "{source}: no leading master detected within {:?}",
                    self.config.request_timeout
                ),
            })),
        }
    }

    /// The master believed to lead, if one has answered.
    pub fn leader(&self) -> Option<String> {
        self.leader
            .lock()
            .ok()
            .and_then(|l| l.as_ref().map(base_text))
    }

    fn set_leader(&self, uri: &Uri) {
        if let Ok(mut l) = self.leader.lock() {
            *l = Some(uri.clone());
        }
    }

    /// The leader first (if known: the master that last answered, else the
    /// detected one), then every master in order.
    fn candidates(&self) -> Vec<Uri> {
        let mut out: Vec<Uri> = self
            .leader
            .lock()
            .ok()
            .and_then(|l| l.clone())
            .or_else(|| self.detected_now())
            .into_iter()
            .collect();
        for m in self.masters.iter() {
            if !out.contains(m) {
                out.push(m.clone());
            }
        }
        out
    }

    fn request(
        &self,
        base: &Uri,
        body: &[u8],
        stream_id: Option<&str>,
        subscribe: bool,
    ) -> Result<Request<Full<Bytes>>, TransportError> {
        let uri = Uri::builder()
            .scheme(base.scheme_str().unwrap_or("http"))
            .authority(base.authority().map(|a| a.as_str()).unwrap_or_default())
            .path_and_query(corral_mesos::SCHEDULER_PATH)
            .build()
            .map_err(|e| TransportError::Unavailable(format!("bad master URL: {e}")))?;
        let media = self.config.encoding.media_type();
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(CONTENT_TYPE, media);
        if subscribe {
            builder = builder.header(ACCEPT, media);
        }
        if let Some(id) = stream_id {
            let value = HeaderValue::from_str(id)
                .map_err(|_| TransportError::Unavailable(format!("bad stream id {id:?}")))?;
            builder = builder.header(corral_mesos::STREAM_ID_HEADER, value);
        }
        if let Some(auth) = &self.authorization {
            builder = builder.header(AUTHORIZATION, auth.clone());
        }
        builder
            .body(Full::new(Bytes::copy_from_slice(body)))
            .map_err(|e| TransportError::Unavailable(format!("cannot build the request: {e}")))
    }

    /// Posts `body` to `base`, following 307s. Returns the response and
    /// the master that gave it.
    async fn post(
        &self,
        client: &HttpClient,
        base: Uri,
        body: &[u8],
        stream_id: Option<&str>,
        subscribe: bool,
    ) -> Result<(http::Response<hyper::body::Incoming>, Uri), TransportError> {
        let mut base = base;
        for _ in 0..=self.config.max_redirects {
            let request = self.request(&base, body, stream_id, subscribe)?;
            let response =
                tokio::time::timeout(self.config.request_timeout, client.request(request))
                    .await
                    .map_err(|_| {
                        TransportError::Unavailable(format!(
                            "{} did not answer in time",
                            base_text(&base)
                        ))
                    })?
                    .map_err(|e| {
                        TransportError::Unavailable(format!("{}: {}", base_text(&base), chain(&e)))
                    })?;
            if response.status() != StatusCode::TEMPORARY_REDIRECT {
                return Ok((response, base));
            }
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| {
                    TransportError::Unavailable(format!(
                        "{} redirected without a Location",
                        base_text(&base)
                    ))
                })?;
            let next = resolve_location(&base, location).ok_or_else(|| {
                TransportError::Unavailable(format!(
                    "{} redirected to {location:?}, which is not a master URL",
                    base_text(&base)
                ))
            })?;
            tracing::debug!(from = %base_text(&base), to = %base_text(&next), "following a redirect to the leading master");
            base = next;
        }
        Err(TransportError::Unavailable(format!(
            "more than {} redirects",
            self.config.max_redirects
        )))
    }
}

/// An error and its causes, `a: b: c` (hyper's own message alone says
/// only "client error (Connect)").
fn chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        out.push_str(": ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
}

fn base_text(uri: &Uri) -> String {
    format!(
        "{}://{}",
        uri.scheme_str().unwrap_or("http"),
        uri.authority().map(|a| a.as_str()).unwrap_or_default()
    )
}

/// Where a 307 points: `//host:port/path` (Mesos; the current scheme is
/// kept), `http(s)://host:port/...` (its own scheme), or a bare
/// `host:port` (the docs' example). Only scheme and authority are kept:
/// every request goes to the scheduler path.
fn resolve_location(base: &Uri, location: &str) -> Option<Uri> {
    let (scheme, rest) = if let Some(rest) = location.strip_prefix("//") {
        (base.scheme_str().unwrap_or("http"), rest)
    } else if let Some((scheme, rest)) = location.split_once("://") {
        if scheme != "http" && scheme != "https" {
            return None;
        }
        (scheme, rest)
    } else {
        (base.scheme_str().unwrap_or("http"), location)
    };
    let authority = rest
        .split(['/', '?', '#'])
        .next()
        .filter(|a| !a.is_empty())?;
    Uri::builder()
        .scheme(scheme)
        .authority(authority)
        .path_and_query("/")
        .build()
        .ok()
}

/// Reads a bounded part of an error body, for the message.
async fn error_text(response: http::Response<hyper::body::Incoming>) -> String {
    let status = response.status();
    let body = http_body_util::Limited::new(response.into_body(), 4096);
    let text = match body.collect().await {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes()).trim().to_owned(),
        Err(_) => String::new(),
    };
    if text.is_empty() {
        status.to_string()
    } else {
        format!("{status}: {text}")
    }
}

/// Maps a status Mesos answers with to a transport error.
fn status_error(status: StatusCode, message: String, subscribe: bool) -> TransportError {
    let kind = match status.as_u16() {
        400 | 405 | 406 | 409 | 415 => RejectKind::InvalidArgument,
        401 => RejectKind::Unauthorized,
        403 if subscribe => RejectKind::Unauthorized,
        403 => RejectKind::NotSubscribed,
        404 => RejectKind::NotFound,
        501 => RejectKind::Unimplemented,
        s if s >= 500 => return TransportError::Unavailable(message),
        _ => RejectKind::Other,
    };
    TransportError::Rejected { kind, message }
}

#[async_trait]
impl Transport for HttpTransport {
    async fn subscribe(&self, call: Subscribe) -> Result<Subscription, TransportError> {
        let mesos = subscribe_to_mesos(&call)
            .map_err(|e| TransportError::Unavailable(format!("cannot encode SUBSCRIBE: {e}")))?;
        let body = codec::encode_call(&mesos, self.config.encoding)
            .map_err(|e| TransportError::Unavailable(format!("cannot encode SUBSCRIBE: {e}")))?;
        let mut last = TransportError::Unavailable("no master tried".to_owned());
        let candidates = match &self.detector {
            // The detector is the authority on who leads now: its leader
            // first, then the configured masters (not the master that
            // answered before, which may be the one that failed).
            Some((watch, source)) => {
                let leader = self.detected_leader(watch, source).await?;
                let others = self.masters.iter().filter(|m| **m != leader).cloned();
                std::iter::once(leader.clone()).chain(others).collect()
            }
            None => self.candidates(),
        };
        for base in candidates {
            let (response, leader) = match self.post(&self.streams, base, &body, None, true).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "SUBSCRIBE failed; trying the next master");
                    last = e;
                    continue;
                }
            };
            let status = response.status();
            if status != StatusCode::OK {
                let error = status_error(status, error_text(response).await, true);
                if matches!(error, TransportError::Unavailable(_)) {
                    tracing::warn!(master = %base_text(&leader), error = %error, "SUBSCRIBE refused; trying the next master");
                    last = error;
                    continue;
                }
                return Err(error);
            }
            let media = self.config.encoding.media_type();
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            if content_type != Some(media) {
                return Err(TransportError::Unavailable(format!(
                    "{} answered SUBSCRIBE with Content-Type {content_type:?}, not {media:?}",
                    base_text(&leader)
                )));
            }
            let stream_id = response
                .headers()
                .get(corral_mesos::STREAM_ID_HEADER)
                .and_then(|v| v.to_str().ok())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    TransportError::Unavailable(format!(
                        "{} sent no Mesos-Stream-Id",
                        base_text(&leader)
                    ))
                })?
                .to_owned();
            self.set_leader(&leader);
            let events = event_stream(
                response.into_body(),
                self.config.encoding,
                self.config.max_record,
            );
            return Ok(Subscription { stream_id, events });
        }
        Err(last)
    }

    async fn send(&self, session: &Session, call: Call) -> Result<(), TransportError> {
        let mesos = call_to_mesos(Some(&session.framework_id), &call)
            .map_err(|e| TransportError::Unavailable(format!("cannot encode the call: {e}")))?;
        let body = codec::encode_call(&mesos, self.config.encoding)
            .map_err(|e| TransportError::Unavailable(format!("cannot encode the call: {e}")))?;
        // Calls go to the master that holds the subscription; before one
        // exists, to the first master.
        let base = self
            .candidates()
            .into_iter()
            .next()
            .ok_or_else(|| TransportError::Unavailable("no master URL given".to_owned()))?;
        let (response, leader) = self
            .post(&self.calls, base, &body, Some(&session.stream_id), false)
            .await?;
        let status = response.status();
        if status == StatusCode::ACCEPTED || status == StatusCode::OK {
            self.set_leader(&leader);
            // Drain the (empty) body so the connection returns to the pool.
            let _ = http_body_util::Limited::new(response.into_body(), 4096)
                .collect()
                .await;
            return Ok(());
        }
        Err(status_error(status, error_text(response).await, false))
    }

    fn endpoint(&self) -> String {
        if let Some(leader) = self.leader() {
            return leader;
        }
        match &self.detector {
            Some((_, source)) => match self.detected_now() {
                Some(leader) => base_text(&leader),
                None => source.to_string(),
            },
            None => self.config.masters.join(","),
        }
    }
}

/// The event stream: body frames through a RecordIO decoder, each record
/// decoded on its own. A framing error or a broken body ends the stream
/// with an error; a clean end of body just ends it.
fn event_stream(
    body: hyper::body::Incoming,
    encoding: Encoding,
    max_record: usize,
) -> futures::stream::BoxStream<'static, Result<MasterEvent, TransportError>> {
    struct State {
        body: hyper::body::Incoming,
        decoder: recordio::Decoder,
        done: bool,
    }
    let state = State {
        body,
        decoder: recordio::Decoder::new(max_record),
        done: false,
    };
    futures::stream::unfold(state, move |mut st| async move {
        loop {
            if st.done {
                return None;
            }
            match st.decoder.next_record() {
                Ok(Some(record)) => return Some((Ok(codec::decode_event(&record, encoding)), st)),
                Ok(None) => {}
                Err(e) => {
                    st.done = true;
                    return Some((
                        Err(TransportError::Unavailable(format!(
                            "event stream framing: {e}"
                        ))),
                        st,
                    ));
                }
            }
            match st.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        st.decoder.feed(&data);
                    }
                }
                Some(Err(e)) => {
                    st.done = true;
                    return Some((
                        Err(TransportError::Unavailable(format!(
                            "event stream broke: {e}"
                        ))),
                        st,
                    ));
                }
                None => {
                    st.done = true;
                    if let Err(e) = st.decoder.finish() {
                        return Some((
                            Err(TransportError::Unavailable(format!(
                                "event stream ended: {e}"
                            ))),
                            st,
                        ));
                    }
                    return None;
                }
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_as_mesos_and_its_docs_write_them() {
        let base: Uri = "http://m1:5050/".parse().unwrap();
        for (location, want) in [
            ("//m2:5050/api/v1/scheduler", Some("http://m2:5050")),
            (
                "http://m3:5051/api/v1/scheduler?x=1",
                Some("http://m3:5051"),
            ),
            ("masterhost2:5050", Some("http://masterhost2:5050")),
            ("https://m5:5050/x", Some("https://m5:5050")),
            ("ftp://m4:21/", None),
            ("//", None),
        ] {
            assert_eq!(
                resolve_location(&base, location)
                    .map(|u| base_text(&u))
                    .as_deref(),
                want,
                "{location}"
            );
        }
    }

    #[test]
    fn master_urls_are_checked() {
        assert!(parse_master("http://127.0.0.1:5050").is_ok());
        assert!(parse_master("https://m:5050").is_ok());
        assert!(
            HttpTransport::new(["https://m:5050"]).is_err(),
            "https needs a CA file"
        );
        assert!(parse_master("zk://h:2181/mesos").is_err());
        assert!(parse_master("not a url").is_err());
        assert!(HttpTransport::new(Vec::<String>::new()).is_err());
    }

    #[test]
    fn statuses_map_to_typed_errors() {
        let kind = |s: u16, sub: bool| match status_error(
            StatusCode::from_u16(s).unwrap(),
            String::new(),
            sub,
        ) {
            TransportError::Rejected { kind, .. } => Some(kind),
            _ => None,
        };
        assert_eq!(kind(400, false), Some(RejectKind::InvalidArgument));
        assert_eq!(kind(401, true), Some(RejectKind::Unauthorized));
        assert_eq!(kind(403, true), Some(RejectKind::Unauthorized));
        assert_eq!(kind(403, false), Some(RejectKind::NotSubscribed));
        assert_eq!(kind(406, true), Some(RejectKind::InvalidArgument));
        assert_eq!(kind(409, false), Some(RejectKind::InvalidArgument));
        assert_eq!(kind(415, false), Some(RejectKind::InvalidArgument));
        assert_eq!(kind(501, false), Some(RejectKind::Unimplemented));
        assert_eq!(kind(503, false), None);
    }
}
