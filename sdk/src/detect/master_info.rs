//! The leader's `MasterInfo`, as a Mesos master writes it in ZooKeeper:
//! the data of its `json.info_<sequence>` znode, a JSON object in Mesos's
//! own mapping of the protobuf message (snake_case field names, numbers
//! that may also come as strings, unknown keys ignored).
//!
//! ```json
//! {"address":{"hostname":"m1","ip":"10.0.0.1","port":5050},
//!  "hostname":"m1","id":"…","ip":16777226,"pid":"master@10.0.0.1:5050",
//!  "port":5050,"version":"1.11.0"}
//! ```
//!
//! `address` (hostname, ip, port) supersedes the older top-level
//! `hostname`, `ip` (an IPv4 address packed in a number, in network byte
//! order) and `port`; both are read, `address` first.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::{Map, Value};
use thiserror::Error;

use super::spec::{Endpoint, Host, HostProblem};

/// The fields of a master's `MasterInfo` that detection uses.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MasterInfo {
    /// The master's id (empty if absent).
    pub id: String,
    /// `address`: where the master listens (Mesos 0.24 and later).
    pub address: Option<MasterAddress>,
    /// The older top-level `hostname`.
    pub hostname: Option<String>,
    /// The older top-level `ip`, unpacked.
    pub ip: Option<Ipv4Addr>,
    /// The older top-level `port`.
    pub port: Option<u16>,
    /// libprocess's `master@ip:port`, for log lines.
    pub pid: Option<String>,
    /// The master's version, e.g. `1.11.0`.
    pub version: Option<String>,
}

/// `MasterInfo.address`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MasterAddress {
    /// The master's host name, if it has one.
    pub hostname: Option<String>,
    /// Its IP address (v4 or v6).
    pub ip: Option<IpAddr>,
    /// Its port (required by Mesos's schema; absent here falls back to
    /// the top-level `port`).
    pub port: Option<u16>,
}

/// Which of a master's names to connect to.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum HostPreference {
    /// Its host name, else its IP: what Mesos itself puts in a redirect.
    #[default]
    Hostname,
    /// Its IP, else its host name: for where the masters' names do not
    /// resolve.
    Ip,
}

/// Why the leader's data is not a usable `MasterInfo`.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MasterInfoError {
    /// Not JSON at all.
    #[error("the data is not JSON")]
    Json(#[source] serde_json::Error),
    /// JSON, but not an object.
    #[error("the data is JSON but not an object")]
    NotAnObject,
    /// A field of the wrong JSON type.
    #[error("field `{field}` is not {expected}")]
    WrongType {
        /// The field (e.g. `address.port`).
        field: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// A port or packed IP out of its range.
    #[error("field `{field}` is out of range: {value}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The value as found.
        value: String,
    },
    /// An `ip` that is not an IP address.
    #[error("field `{field}` is not an IP address: `{value}`")]
    InvalidIp {
        /// The field.
        field: &'static str,
        /// The value as found.
        value: String,
        /// The parser's error.
        #[source]
        source: std::net::AddrParseError,
    },
    /// A host name that is not a DNS name.
    #[error("field `{field}` is not a host name: `{value}` ({problem})")]
    InvalidHostname {
        /// The field.
        field: &'static str,
        /// The value as found.
        value: String,
        /// What is wrong with it.
        problem: HostProblem,
    },
    /// None of `address.hostname`, `address.ip`, `hostname`, `ip`.
    #[error("the MasterInfo names no host (address.hostname, address.ip, hostname or ip)")]
    NoHost,
    /// Neither `address.port` nor `port`.
    #[error("the MasterInfo names no port (address.port or port)")]
    NoPort,
}

impl MasterInfo {
    /// Parses the data of a `json.info_*` znode.
    pub fn from_json(data: &[u8]) -> Result<MasterInfo, MasterInfoError> {
        let value: Value = serde_json::from_slice(data).map_err(MasterInfoError::Json)?;
        let object = value.as_object().ok_or(MasterInfoError::NotAnObject)?;
        let address = match object.get("address") {
            None | Some(Value::Null) => None,
            Some(Value::Object(address)) => Some(parse_address(address)?),
            Some(_) => {
                return Err(MasterInfoError::WrongType {
                    field: "address",
                    expected: "an object",
                })
            }
        };
        let ip = match number(object, "ip", "ip")? {
            None => None,
            Some(packed) => {
                let packed = u32::try_from(packed).map_err(|_| MasterInfoError::OutOfRange {
                    field: "ip",
                    value: packed.to_string(),
                })?;
                // Mesos stores `in_addr.s_addr` (network order) in a
                // uint32 read on a little-endian host: 10.0.0.1 is
                // 0x0100000A.
                Some(Ipv4Addr::from(packed.to_le_bytes()))
            }
        };
        Ok(MasterInfo {
            id: string(object, "id", "id")?.unwrap_or_default(),
            address,
            hostname: string(object, "hostname", "hostname")?,
            ip,
            port: port(object, "port", "port")?,
            pid: string(object, "pid", "pid")?,
            version: string(object, "version", "version")?,
        })
    }

    /// Where to connect to this master: host as `preference` says,
    /// `address` before the older fields, `address.port` before `port`.
    pub fn endpoint(&self, preference: HostPreference) -> Result<Endpoint, MasterInfoError> {
        let address = self.address.as_ref();
        let by_name = [
            (
                "address.hostname",
                address.and_then(|a| a.hostname.as_deref()),
            ),
            ("hostname", self.hostname.as_deref()),
        ];
        let by_ip = [
            ("address.ip", address.and_then(|a| a.ip).map(ip_host)),
            ("ip", self.ip.map(Host::V4)),
        ];
        let name = by_name
            .iter()
            .find_map(|(field, name)| name.filter(|n| !n.is_empty()).map(|n| (*field, n)));
        let name = || -> Result<Option<Host>, MasterInfoError> {
            name.map(|(field, value)| {
                Host::parse(value).map_err(|problem| MasterInfoError::InvalidHostname {
                    field,
                    value: value.to_owned(),
                    problem,
                })
            })
            .transpose()
        };
        let ip = by_ip.into_iter().find_map(|(_, ip)| ip);
        let host = match preference {
            HostPreference::Hostname => match name()? {
                Some(host) => Some(host),
                None => ip,
            },
            HostPreference::Ip => match ip {
                Some(host) => Some(host),
                None => name()?,
            },
        }
        .ok_or(MasterInfoError::NoHost)?;
        let port = address
            .and_then(|a| a.port)
            .or(self.port)
            .ok_or(MasterInfoError::NoPort)?;
        Ok(Endpoint { host, port })
    }
}

fn ip_host(ip: IpAddr) -> Host {
    match ip {
        IpAddr::V4(v4) => Host::V4(v4),
        IpAddr::V6(v6) => Host::V6(v6),
    }
}

fn parse_address(address: &Map<String, Value>) -> Result<MasterAddress, MasterInfoError> {
    let ip = match string(address, "ip", "address.ip")? {
        None => None,
        Some(ip) if ip.is_empty() => None,
        Some(ip) => Some(
            ip.parse::<IpAddr>()
                .map_err(|source| MasterInfoError::InvalidIp {
                    field: "address.ip",
                    value: ip.clone(),
                    source,
                })?,
        ),
    };
    Ok(MasterAddress {
        hostname: string(address, "hostname", "address.hostname")?,
        ip,
        port: port(address, "port", "address.port")?,
    })
}

/// A string at `key` (reported as `field`); `null` or absent is `None`.
fn string(
    object: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<Option<String>, MasterInfoError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(MasterInfoError::WrongType {
            field,
            expected: "a string",
        }),
    }
}

/// A non-negative integer at `key`, as a JSON number or a string of
/// digits (Mesos's parser takes both).
fn number(
    object: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<Option<u64>, MasterInfoError> {
    let wrong = || MasterInfoError::WrongType {
        field,
        expected: "a non-negative integer",
    };
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(wrong),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s
            .parse::<u64>()
            .map(Some)
            .map_err(|_| MasterInfoError::OutOfRange {
                field,
                value: s.clone(),
            }),
        Some(_) => Err(wrong()),
    }
}

/// A port at `key`: 1 to 65535.
fn port(
    object: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<Option<u16>, MasterInfoError> {
    match number(object, key, field)? {
        None => Ok(None),
        Some(n) => match u16::try_from(n) {
            Ok(port) if port != 0 => Ok(Some(port)),
            _ => Err(MasterInfoError::OutOfRange {
                field,
                value: n.to_string(),
            }),
        },
    }
}

#[cfg(test)]
#[path = "master_info_tests.rs"]
mod tests;
