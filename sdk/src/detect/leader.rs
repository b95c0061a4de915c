//! Which child of the masters' znode leads, and where it listens: the
//! pure half of ZooKeeper detection, with no client in it.
//!
//! Mesos masters contend in a ZooKeeper group: each creates an ephemeral
//! sequential child of the configured path named `<label>_<sequence>`
//! (`json.info_0000000007`: label `json.info`, sequence 7, ten digits).
//! The member with the lowest sequence leads; when its session ends, its
//! znode goes and the next lowest leads. As Mesos reads the group, a
//! child's name is split on `_`: the first token is the label (none if
//! there is a single token), the last must be the sequence number, and a
//! child whose last token is not a number (e.g. `log_replicas`) is not a
//! member. The leader's data is read by its label: `json.info` is JSON
//! (what masters since Mesos 0.24 write); the older `info` (binary
//! protobuf) and unlabelled (a libprocess pid) forms are refused with a
//! typed error.

use thiserror::Error;

use super::master_info::{HostPreference, MasterInfo, MasterInfoError};
use super::spec::{Endpoint, HttpScheme};

/// The label of the members whose data is a JSON `MasterInfo`.
pub const JSON_LABEL: &str = "json.info";

/// A member of the masters' group: one child znode.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Member {
    /// The child's name, e.g. `json.info_0000000007`.
    pub name: String,
    /// Its label (`json.info`), if the name has one.
    pub label: Option<String>,
    /// Its sequence number.
    pub sequence: u32,
}

impl Member {
    /// Reads a child's name as Mesos does; `None` if it is not a member.
    pub fn parse(name: &str) -> Option<Member> {
        let tokens: Vec<&str> = name.split('_').filter(|t| !t.is_empty()).collect();
        let last = tokens.last()?;
        if !last.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let sequence = last.parse::<u32>().ok()?;
        Some(Member {
            name: name.to_owned(),
            label: (tokens.len() > 1).then(|| tokens[0].to_owned()),
            sequence,
        })
    }
}

/// The leading member among a znode's children: the lowest sequence
/// (ties, which ZooKeeper does not make, broken by name).
pub fn select_leader<'a>(children: impl IntoIterator<Item = &'a str>) -> Option<Member> {
    children
        .into_iter()
        .filter_map(Member::parse)
        .min_by(|a, b| (a.sequence, &a.name).cmp(&(b.sequence, &b.name)))
}

/// The detected leading master.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Leader {
    /// Where to connect.
    pub endpoint: Endpoint,
    /// `scheme://host:port`, to which the HTTP transport appends
    /// `/api/v1/scheduler`.
    pub base_url: String,
    /// The master's own description of itself.
    pub info: MasterInfo,
    /// The znode it was read from (e.g. `/mesos/json.info_0000000007`).
    pub znode: String,
    /// Its sequence in the group.
    pub sequence: u32,
}

/// Why the leading member cannot be used. Detection goes on: the next
/// change in the group is read afresh.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LeaderError {
    /// Its data is not a usable JSON `MasterInfo`.
    #[error("the leader's znode `{znode}` holds no usable MasterInfo")]
    MasterInfo {
        /// The znode.
        znode: String,
        /// What is wrong with its data.
        #[source]
        source: MasterInfoError,
    },
    /// It is in a format older than `json.info`.
    #[error(
        "the leader's znode `{znode}` has label {label:?}, not `json.info`: \
         a master older than Mesos 0.24 leads, which this detector does not read"
    )]
    UnsupportedLabel {
        /// The znode.
        znode: String,
        /// Its label (`None`: no label at all).
        label: Option<String>,
    },
    /// ZooKeeper refused a read (e.g. no permission on the path).
    #[cfg(feature = "zookeeper")]
    #[cfg_attr(docsrs, doc(cfg(feature = "zookeeper")))]
    #[error("ZooKeeper refused {operation} of `{path}`")]
    ZooKeeper {
        /// What was asked (`listing`, `reading`).
        operation: &'static str,
        /// Of which znode.
        path: String,
        /// The client's error.
        #[source]
        source: zookeeper_client::Error,
    },
}

/// Reads the leading `member` of the group at `path`, given its data.
pub fn leader_from_data(
    path: &str,
    member: &Member,
    data: &[u8],
    scheme: HttpScheme,
    preference: HostPreference,
) -> Result<Leader, LeaderError> {
    let znode = format!("{path}/{}", member.name);
    if member.label.as_deref() != Some(JSON_LABEL) {
        return Err(LeaderError::UnsupportedLabel {
            znode,
            label: member.label.clone(),
        });
    }
    let read = MasterInfo::from_json(data).and_then(|info| {
        let endpoint = info.endpoint(preference)?;
        Ok((info, endpoint))
    });
    match read {
        Ok((info, endpoint)) => Ok(Leader {
            base_url: format!("{scheme}://{endpoint}"),
            endpoint,
            info,
            znode,
            sequence: member.sequence,
        }),
        Err(source) => Err(LeaderError::MasterInfo { znode, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::spec::Host;

    #[test]
    fn members_are_read_as_mesos_reads_them() {
        let m = Member::parse("json.info_0000000007").unwrap();
        assert_eq!((m.label.as_deref(), m.sequence), (Some("json.info"), 7));
        let m = Member::parse("info_0000000012").unwrap();
        assert_eq!((m.label.as_deref(), m.sequence), (Some("info"), 12));
        let m = Member::parse("0000000003").unwrap();
        assert_eq!((m.label, m.sequence), (None, 3));
        assert_eq!(Member::parse("log_replicas"), None);
        assert_eq!(Member::parse("json.info_"), None);
        assert_eq!(Member::parse(""), None);
        assert_eq!(Member::parse("json.info_-1"), None);
        assert_eq!(Member::parse("json.info_99999999999"), None, "over u32");
    }

    #[test]
    fn the_lowest_sequence_leads_whatever_the_order() {
        let children = [
            "log_replicas",
            "json.info_0000000012",
            "json.info_0000000003",
            "json.info_0000000007",
        ];
        assert_eq!(
            select_leader(children).unwrap().name,
            "json.info_0000000003"
        );
        assert_eq!(select_leader(["log_replicas"]), None);
        assert_eq!(select_leader([]), None);
    }

    #[test]
    fn a_json_leader_gives_its_endpoint_and_base_url() {
        let member = Member::parse("json.info_0000000003").unwrap();
        let data = br#"{"address":{"hostname":"m1","ip":"10.0.0.1","port":5050},"id":"x"}"#;
        let leader = leader_from_data(
            "/mesos",
            &member,
            data,
            HttpScheme::Https,
            HostPreference::Hostname,
        )
        .unwrap();
        assert_eq!(leader.base_url, "https://m1:5050");
        assert_eq!(leader.znode, "/mesos/json.info_0000000003");
        assert_eq!(leader.sequence, 3);
        let by_ip = leader_from_data(
            "/mesos",
            &member,
            data,
            HttpScheme::Http,
            HostPreference::Ip,
        )
        .unwrap();
        assert_eq!(by_ip.endpoint.host, Host::V4([10, 0, 0, 1].into()));
    }

    #[test]
    fn older_formats_and_bad_data_are_typed_errors() {
        let old = Member::parse("info_0000000001").unwrap();
        let err = leader_from_data(
            "/m",
            &old,
            b"\x0a\x01",
            HttpScheme::Http,
            HostPreference::Hostname,
        )
        .unwrap_err();
        assert!(
            matches!(&err, LeaderError::UnsupportedLabel { label: Some(l), znode } if l == "info" && znode == "/m/info_0000000001"),
            "{err:?}"
        );
        let json = Member::parse("json.info_0000000001").unwrap();
        let err = leader_from_data(
            "/m",
            &json,
            b"{not json",
            HttpScheme::Http,
            HostPreference::Hostname,
        )
        .unwrap_err();
        assert!(
            matches!(
                &err,
                LeaderError::MasterInfo {
                    source: MasterInfoError::Json(_),
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
