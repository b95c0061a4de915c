//! [`MasterSpec`]: the one `--master` string, parsed and checked.
//!
//! The grammar (see the [module docs](super) for what each form means):
//!
//! ```text
//! master  = zk-url | list
//! zk-url  = "zk://" [ user ":" password "@" ] server *( "," server ) path
//! server  = host [ ":" port ]                 ; port defaults to 2181
//! list    = entry *( "," entry )
//! entry   = [ scheme "://" ] host [ ":" port ] [ path ]
//! scheme  = "grpc" | "http" | "https"         ; case-insensitive
//! host    = name | ipv4 | "[" ipv6 "]"
//! ```
//!
//! An entry without a scheme takes the scheme of the entry before it; the
//! first one without a scheme is `http` (a Mesos master's `host:5050`). An
//! `http`/`https` entry without a port takes 80/443; a `grpc` or bare entry
//! must name its port. Every malformed string is a [`MasterSpecError`],
//! never a panic, and no error message repeats a password.

use std::fmt;
use std::str::FromStr;

use super::endpoint::{parse_port, split_host_port};
pub use super::endpoint::{Endpoint, Host, HttpScheme};
pub use super::spec_error::{
    HostProblem, MasterSpecError, PathProblem, PortProblem, ZkPathProblem,
};

/// Where a framework finds its master: the parsed `--master` string.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum MasterSpec {
    /// `grpc://host:port[,host:port...]`: corral's own gRPC protocol,
    /// the masters tried in turn.
    Grpc(Vec<GrpcMaster>),
    /// `http://host:port`, `https://host[:port][/prefix]` or
    /// `host:port[,host:port...]`: the Mesos v1 scheduler HTTP API, the
    /// masters tried in turn (a non-leader redirects to the leader).
    Http(Vec<HttpMaster>),
    /// `zk://[user:password@]host:port[,host:port...]/path`: the leader
    /// is found in ZooKeeper, as Mesos publishes it, and followed when it
    /// changes (see [`ZkDetector`](super::ZkDetector), feature
    /// `zookeeper`).
    ZooKeeper(ZkSpec),
}

/// One master of the Mesos v1 HTTP API.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct HttpMaster {
    /// `http` or `https`.
    pub scheme: HttpScheme,
    /// Where it listens.
    pub endpoint: Endpoint,
    /// A path prefix before `/api/v1/scheduler` (e.g. behind a proxy):
    /// empty, or starting with `/` and not ending with one.
    pub path: String,
}

/// One master of corral's gRPC protocol.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GrpcMaster {
    /// Where it listens.
    pub endpoint: Endpoint,
}

/// A ZooKeeper ensemble and the znode under which the masters contend.
#[derive(Clone, PartialEq, Eq)]
pub struct ZkSpec {
    /// The ensemble's servers, tried in turn by the client.
    pub servers: Vec<Endpoint>,
    /// The znode (e.g. `/mesos`): absolute, never `/`.
    pub path: String,
    /// Credentials for ZooKeeper's `digest` scheme, if the URL had any.
    pub credentials: Option<ZkCredentials>,
}

/// `user:password` for ZooKeeper's `digest` authentication scheme.
#[derive(Clone, PartialEq, Eq)]
pub struct ZkCredentials {
    user: String,
    password: String,
}

impl FromStr for MasterSpec {
    type Err = MasterSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MasterSpec::parse(s)
    }
}

impl MasterSpec {
    /// Parses a `--master` string (surrounding whitespace is ignored).
    pub fn parse(input: &str) -> Result<MasterSpec, MasterSpecError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(MasterSpecError::Empty);
        }
        if let Some((position, character)) = s
            .chars()
            .enumerate()
            .find(|(_, c)| c.is_whitespace() || c.is_control())
        {
            return Err(MasterSpecError::BadCharacter {
                position,
                character,
            });
        }
        if let Some(rest) = strip_scheme(s, "zk") {
            return parse_zk(rest).map(MasterSpec::ZooKeeper);
        }
        parse_list(s)
    }

    /// The masters to try in turn, as base URLs (`http://host:5050`,
    /// `grpc://host:5050`); empty for a ZooKeeper spec, whose leader
    /// comes from detection.
    pub fn static_urls(&self) -> Vec<String> {
        match self {
            MasterSpec::Grpc(masters) => masters.iter().map(GrpcMaster::to_string).collect(),
            MasterSpec::Http(masters) => masters.iter().map(HttpMaster::base_url).collect(),
            MasterSpec::ZooKeeper(_) => Vec::new(),
        }
    }
}

/// The canonical form: every entry with its scheme; a ZooKeeper password
/// shown as `***`. Parsing it gives the same spec back (but for that
/// password).
impl fmt::Display for MasterSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MasterSpec::Grpc(masters) => write_list(f, masters),
            MasterSpec::Http(masters) => write_list(f, masters),
            MasterSpec::ZooKeeper(zk) => zk.fmt(f),
        }
    }
}

fn write_list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        item.fmt(f)?;
    }
    Ok(())
}

impl HttpMaster {
    /// `scheme://host:port[/prefix]`, to which the transport appends
    /// `/api/v1/scheduler`.
    pub fn base_url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.endpoint, self.path)
    }
}

impl fmt::Display for HttpMaster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base_url())
    }
}

impl GrpcMaster {
    /// The URI a tonic channel connects to (`http://host:port`: gRPC's
    /// own transport is HTTP/2).
    pub fn channel_uri(&self) -> String {
        format!("http://{}", self.endpoint)
    }
}

impl fmt::Display for GrpcMaster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "grpc://{}", self.endpoint)
    }
}

impl ZkSpec {
    /// The servers as a ZooKeeper connect string (`h1:2181,h2:2181`), the
    /// name log lines give the ensemble. It holds no credentials.
    pub fn ensemble(&self) -> String {
        self.servers
            .iter()
            .map(Endpoint::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl fmt::Display for ZkSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("zk://")?;
        if let Some(credentials) = &self.credentials {
            write!(f, "{}:***@", credentials.user)?;
        }
        write!(f, "{}{}", self.ensemble(), self.path)
    }
}

impl fmt::Debug for ZkSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZkSpec")
            .field("servers", &self.servers)
            .field("path", &self.path)
            .field("credentials", &self.credentials)
            .finish()
    }
}

impl ZkCredentials {
    /// Credentials for the `digest` scheme; `None` if `user` is empty.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Option<ZkCredentials> {
        let user = user.into();
        (!user.is_empty()).then(|| ZkCredentials {
            user,
            password: password.into(),
        })
    }

    /// The user.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The `user:password` bytes ZooKeeper's `digest` scheme takes.
    pub fn digest_auth(&self) -> Vec<u8> {
        format!("{}:{}", self.user, self.password).into_bytes()
    }
}

impl fmt::Debug for ZkCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZkCredentials")
            .field("user", &self.user)
            .field("password", &"***")
            .finish()
    }
}

/// `s` without a leading `scheme://` (case-insensitive), if it has one.
fn strip_scheme<'a>(s: &'a str, scheme: &str) -> Option<&'a str> {
    // Compared as bytes: `s` may have a multi-byte character anywhere.
    let head = s.as_bytes().get(..scheme.len() + 3)?;
    let (name, sep) = head.split_at(scheme.len());
    let matches = name.eq_ignore_ascii_case(scheme.as_bytes()) && sep == b"://";
    // The head is ASCII when it matches, so its end is a char boundary.
    matches.then(|| &s[head.len()..])
}

/// `entry` with anything before an `@` replaced by `***`, for messages.
fn redact(entry: &str) -> String {
    let (scheme, rest) = match entry.find("://") {
        Some(i) => entry.split_at(i + 3),
        None => ("", entry),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}***{}", &rest[at..]),
        None => entry.to_owned(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Grpc,
    Http(HttpScheme),
}

fn parse_list(s: &str) -> Result<MasterSpec, MasterSpecError> {
    let mut grpc = Vec::new();
    let mut http = Vec::new();
    let mut first: Option<(Protocol, &str)> = None;
    let mut carried = Protocol::Http(HttpScheme::Http);
    for (index, entry) in s.split(',').enumerate() {
        if entry.is_empty() {
            return Err(MasterSpecError::EmptyEntry { index });
        }
        let (protocol, rest) = entry_protocol(entry)?.map_or((carried, entry), |(p, r)| (p, r));
        carried = protocol;
        match first {
            None => first = Some((protocol, entry)),
            Some((p, first_entry)) if (p == Protocol::Grpc) != (protocol == Protocol::Grpc) => {
                return Err(MasterSpecError::MixedProtocols {
                    first: redact(first_entry),
                    other: redact(entry),
                });
            }
            Some(_) => {}
        }
        let (authority, path) = split_authority(entry, rest)?;
        match protocol {
            Protocol::Grpc => {
                if !path.is_empty() && path != "/" {
                    return Err(MasterSpecError::InvalidPath {
                        entry: entry.to_owned(),
                        problem: PathProblem::GrpcPath,
                    });
                }
                let endpoint = parse_endpoint(entry, authority, None)?;
                grpc.push(GrpcMaster { endpoint });
            }
            Protocol::Http(scheme) => {
                let default_port = (rest.len() != entry.len()).then(|| scheme.default_port());
                let endpoint = parse_endpoint(entry, authority, default_port)?;
                let path = http_path(entry, path)?;
                http.push(HttpMaster {
                    scheme,
                    endpoint,
                    path,
                });
            }
        }
    }
    Ok(if grpc.is_empty() {
        MasterSpec::Http(http)
    } else {
        MasterSpec::Grpc(grpc)
    })
}

/// The entry's own scheme, if it names one, and what follows `://`.
fn entry_protocol(entry: &str) -> Result<Option<(Protocol, &str)>, MasterSpecError> {
    let Some(i) = entry.find("://") else {
        return Ok(None);
    };
    // A `://` after the authority started (e.g. in a path) is not a scheme.
    if entry[..i].contains(['/', '@', '?', '#', ':', '[']) {
        return Ok(None);
    }
    let (scheme, rest) = (&entry[..i], &entry[i + 3..]);
    let protocol = match scheme.to_ascii_lowercase().as_str() {
        "grpc" => Protocol::Grpc,
        "http" => Protocol::Http(HttpScheme::Http),
        "https" => Protocol::Http(HttpScheme::Https),
        "zk" => {
            return Err(MasterSpecError::ZkInList {
                entry: redact(entry),
            })
        }
        _ => {
            return Err(MasterSpecError::UnknownScheme {
                entry: redact(entry),
                scheme: scheme.to_owned(),
            })
        }
    };
    Ok(Some((protocol, rest)))
}

/// Splits `rest` (after any scheme) into authority and path, refusing
/// credentials, queries and fragments.
fn split_authority<'a>(entry: &str, rest: &'a str) -> Result<(&'a str, &'a str), MasterSpecError> {
    if rest.contains(['?', '#']) {
        return Err(MasterSpecError::QueryOrFragment {
            entry: redact(entry),
        });
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.contains('@') {
        return Err(MasterSpecError::CredentialsInUrl {
            entry: redact(entry),
        });
    }
    Ok((authority, path))
}

/// `host[:port]`; `default_port` when none is written (or an error if
/// `None`).
fn parse_endpoint(
    entry: &str,
    authority: &str,
    default_port: Option<u16>,
) -> Result<Endpoint, MasterSpecError> {
    let (host, port) = split_host_port(authority);
    let host = Host::parse(host).map_err(|problem| MasterSpecError::InvalidHost {
        entry: redact(entry),
        host: host.to_owned(),
        problem,
    })?;
    let port = match port {
        None => default_port.ok_or_else(|| MasterSpecError::MissingPort {
            entry: redact(entry),
        })?,
        Some(port) => parse_port(port).map_err(|problem| MasterSpecError::InvalidPort {
            entry: redact(entry),
            port: port.to_owned(),
            problem,
        })?,
    };
    Ok(Endpoint { host, port })
}

fn http_path(entry: &str, path: &str) -> Result<String, MasterSpecError> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let problem = if let Some(c) = path
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '/' | '%')))
    {
        Some(PathProblem::BadCharacter(c))
    } else if path.contains("//") || path.ends_with('/') {
        Some(PathProblem::EmptySegment)
    } else {
        None
    };
    match problem {
        Some(problem) => Err(MasterSpecError::InvalidPath {
            entry: redact(entry),
            problem,
        }),
        None => Ok(path.to_owned()),
    }
}

/// After `zk://`: `[user:password@]servers/path`. As Mesos reads it, the
/// path starts at the first `/` and credentials end at the last `@`
/// before it.
fn parse_zk(rest: &str) -> Result<ZkSpec, MasterSpecError> {
    let Some(slash) = rest.find('/') else {
        return Err(MasterSpecError::ZkMissingPath);
    };
    let (authority, path) = rest.split_at(slash);
    let (credentials, servers) = match authority.rfind('@') {
        Some(at) => {
            let (user, password) = authority[..at]
                .split_once(':')
                .ok_or(MasterSpecError::ZkBadCredentials)?;
            let credentials =
                ZkCredentials::new(user, password).ok_or(MasterSpecError::ZkBadCredentials)?;
            (Some(credentials), &authority[at + 1..])
        }
        None => (None, authority),
    };
    if servers.is_empty() {
        return Err(MasterSpecError::ZkNoServers);
    }
    let servers = servers
        .split(',')
        .enumerate()
        .map(|(index, server)| {
            if server.is_empty() {
                return Err(MasterSpecError::EmptyEntry { index });
            }
            parse_endpoint(server, server, Some(2181))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if path == "/" {
        return Err(MasterSpecError::ZkRootPath);
    }
    check_zk_path(path).map_err(|problem| MasterSpecError::ZkInvalidPath {
        path: path.to_owned(),
        problem,
    })?;
    Ok(ZkSpec {
        servers,
        path: path.to_owned(),
        credentials,
    })
}

/// ZooKeeper's own path rules (its `PathUtils.validatePath`), for an
/// absolute path other than `/`.
pub(crate) fn check_zk_path(path: &str) -> Result<(), ZkPathProblem> {
    if path.ends_with('/') {
        return Err(ZkPathProblem::TrailingSlash);
    }
    for segment in path.split('/').skip(1) {
        match segment {
            "" => return Err(ZkPathProblem::EmptySegment),
            "." | ".." => return Err(ZkPathProblem::RelativeSegment),
            _ => {}
        }
    }
    // ZooKeeper also refuses surrogates, which a Rust string cannot hold.
    let refused = |c: char| matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{e000}'..='\u{f8ff}' | '\u{fff0}'..='\u{ffff}');
    match path.chars().find(|&c| refused(c)) {
        Some(c) => Err(ZkPathProblem::BadCharacter(c)),
        None => Ok(()),
    }
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;
