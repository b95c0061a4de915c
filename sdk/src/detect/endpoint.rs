//! Hosts, endpoints and ports as `--master` strings write them: the
//! lowest layer of [`MasterSpec`](super::MasterSpec) parsing, also used for
//! the leader's address read from ZooKeeper.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::spec_error::{HostProblem, PortProblem};

/// A host: a DNS name or an IP literal.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Host {
    /// A DNS name (letters, digits, `-`, `_`, dot-separated labels).
    Name(String),
    /// An IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 address (written in brackets in URLs).
    V6(Ipv6Addr),
}

/// A host and a port.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Endpoint {
    /// The host.
    pub host: Host,
    /// The TCP port (never 0).
    pub port: u16,
}

/// `http` or `https`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum HttpScheme {
    /// Plain HTTP.
    #[default]
    Http,
    /// HTTP over TLS.
    Https,
}

impl Host {
    /// Parses a host as written in a URL (an IPv6 literal in brackets).
    pub fn parse(s: &str) -> Result<Host, HostProblem> {
        if s.is_empty() {
            return Err(HostProblem::Empty);
        }
        if let Some(inner) = s.strip_prefix('[') {
            let inner = inner
                .strip_suffix(']')
                .ok_or(HostProblem::Ipv6NeedsBrackets)?;
            return inner
                .parse::<Ipv6Addr>()
                .map(Host::V6)
                .map_err(|_| HostProblem::BadIpv6);
        }
        if s.contains(':') || s.contains(']') {
            return Err(HostProblem::Ipv6NeedsBrackets);
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(HostProblem::BadCharacter(c));
        }
        if s.len() > 253 {
            return Err(HostProblem::TooLong);
        }
        let labels: Vec<&str> = s.split('.').collect();
        if labels.iter().any(|l| l.is_empty()) {
            return Err(HostProblem::EmptyLabel);
        }
        if labels.iter().all(|l| l.bytes().all(|b| b.is_ascii_digit())) {
            return s
                .parse::<Ipv4Addr>()
                .map(Host::V4)
                .map_err(|_| HostProblem::BadIpv4);
        }
        if labels.iter().any(|l| l.len() > 63) {
            return Err(HostProblem::TooLong);
        }
        if labels
            .iter()
            .any(|l| l.starts_with('-') || l.ends_with('-'))
        {
            return Err(HostProblem::Hyphen);
        }
        Ok(Host::Name(s.to_owned()))
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::V4(ip) => ip.fmt(f),
            Host::V6(ip) => write!(f, "[{ip}]"),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

impl HttpScheme {
    /// The port a URL of this scheme means when it names none.
    pub fn default_port(self) -> u16 {
        match self {
            HttpScheme::Http => 80,
            HttpScheme::Https => 443,
        }
    }
}

impl fmt::Display for HttpScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HttpScheme::Http => "http",
            HttpScheme::Https => "https",
        })
    }
}

/// `("host", Some("port"))`, `("[::1]", Some("port"))` or `("host", None)`.
pub(super) fn split_host_port(authority: &str) -> (&str, Option<&str>) {
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(close) => match &authority[close + 1..] {
                "" => (authority, None),
                after => match after.strip_prefix(':') {
                    Some(port) => (&authority[..=close], Some(port)),
                    // `[::1]x`: handed whole to the host check, which refuses it.
                    None => (authority, None),
                },
            },
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        // More than one colon: an IPv6 address without brackets; the
        // host check says so.
        Some((host, _)) if host.contains(':') => (authority, None),
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    }
}

pub(super) fn parse_port(port: &str) -> Result<u16, PortProblem> {
    if port.is_empty() {
        return Err(PortProblem::Empty);
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PortProblem::NotDigits);
    }
    let digits = port.trim_start_matches('0');
    if digits.len() > 5 {
        return Err(PortProblem::OutOfRange);
    }
    match digits.parse::<u32>().unwrap_or(0) {
        0 => Err(PortProblem::Zero),
        n => u16::try_from(n).map_err(|_| PortProblem::OutOfRange),
    }
}
