//! Why a `--master` string is refused: [`MasterSpecError`] and the
//! problems it names. No message repeats a password.

use thiserror::Error;

/// Why a `--master` string was refused. No variant holds a password:
/// entries are kept with their credentials replaced by `***`.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MasterSpecError {
    /// Nothing but whitespace.
    #[error(
        "no master given: use e.g. `grpc://127.0.0.1:5050`, `http://host:5050`, \
         `host1:5050,host2:5050` or `zk://host:2181/mesos`"
    )]
    Empty,
    /// Whitespace or a control character inside the string.
    #[error("the master has a {character:?} at position {position}: no whitespace or control characters inside")]
    BadCharacter {
        /// The character's index (in characters, after trimming).
        position: usize,
        /// The character.
        character: char,
    },
    /// An empty entry in a comma-separated list (`a:1,,b:2`).
    #[error("entry {index} of the master list is empty")]
    EmptyEntry {
        /// The entry's index (from 0).
        index: usize,
    },
    /// A scheme other than grpc, http, https (or zk for the whole string).
    #[error("unknown scheme `{scheme}` in `{entry}`: use grpc://, http://, https:// or zk://")]
    UnknownScheme {
        /// The entry.
        entry: String,
        /// Its scheme.
        scheme: String,
    },
    /// `zk://` somewhere but at the start: a ZooKeeper URL is the whole string.
    #[error("`{entry}`: a zk:// URL is the whole --master, not an entry of a list")]
    ZkInList {
        /// The entry.
        entry: String,
    },
    /// A list mixing gRPC and HTTP masters.
    #[error("the master list mixes gRPC and HTTP masters (`{first}` and `{other}`)")]
    MixedProtocols {
        /// The first entry.
        first: String,
        /// The entry of the other protocol.
        other: String,
    },
    /// A host that is not a DNS name or an IP literal.
    #[error("invalid host `{host}` in `{entry}`: {problem}")]
    InvalidHost {
        /// The entry.
        entry: String,
        /// The host as written.
        host: String,
        /// What is wrong with it.
        problem: HostProblem,
    },
    /// A gRPC or scheme-less entry without a port.
    #[error("`{entry}` names no port: give host:port")]
    MissingPort {
        /// The entry.
        entry: String,
    },
    /// A port that is not a number from 1 to 65535.
    #[error("invalid port `{port}` in `{entry}`: {problem}")]
    InvalidPort {
        /// The entry.
        entry: String,
        /// The port as written.
        port: String,
        /// What is wrong with it.
        problem: PortProblem,
    },
    /// A path on a gRPC master, or a path with characters URLs escape.
    #[error("`{entry}`: {problem}")]
    InvalidPath {
        /// The entry.
        entry: String,
        /// What is wrong with the path.
        problem: PathProblem,
    },
    /// A `?query` or `#fragment`.
    #[error("`{entry}`: a master URL takes no query or fragment")]
    QueryOrFragment {
        /// The entry.
        entry: String,
    },
    /// `user@` or `user:password@` on a gRPC or HTTP master.
    #[error(
        "`{entry}`: credentials are not given in a gRPC or HTTP master URL \
         (only zk:// takes `user:password@`)"
    )]
    CredentialsInUrl {
        /// The entry, its credentials replaced by `***`.
        entry: String,
    },
    /// `zk://` with no server (`zk:///mesos`).
    #[error("the ZooKeeper URL names no server: use e.g. `zk://host1:2181,host2:2181/mesos`")]
    ZkNoServers,
    /// `zk://host:2181` without a path.
    #[error("the ZooKeeper URL has no path: give the znode the masters use, e.g. `zk://host:2181/mesos`")]
    ZkMissingPath,
    /// `zk://host:2181/`: Mesos needs a znode of its own.
    #[error("the ZooKeeper path is `/`: give the znode the masters use, e.g. `/mesos`")]
    ZkRootPath,
    /// A path ZooKeeper refuses.
    #[error("invalid ZooKeeper path `{path}`: {problem}")]
    ZkInvalidPath {
        /// The path.
        path: String,
        /// What ZooKeeper would refuse.
        problem: ZkPathProblem,
    },
    /// Credentials that are not `user:password` with a user.
    #[error("the ZooKeeper credentials must be `user:password@` with a non-empty user")]
    ZkBadCredentials,
}

/// What is wrong with a host.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostProblem {
    /// No host at all.
    #[error("it is empty")]
    Empty,
    /// A character no DNS name has.
    #[error("{0:?} is not allowed in a host name")]
    BadCharacter(char),
    /// `a..b`, `.a` or `a.`.
    #[error("a label of the name is empty")]
    EmptyLabel,
    /// A label over 63 characters, or a name over 253.
    #[error("the name is too long")]
    TooLong,
    /// A label that starts or ends with `-`.
    #[error("a label starts or ends with `-`")]
    Hyphen,
    /// Only digits and dots, but not an IPv4 address.
    #[error("it is not a valid IPv4 address")]
    BadIpv4,
    /// Brackets around something that is not an IPv6 address.
    #[error("it is not a valid IPv6 address")]
    BadIpv6,
    /// An IPv6 address without brackets, or an unclosed bracket.
    #[error("an IPv6 address goes in brackets, e.g. `[::1]:5050`")]
    Ipv6NeedsBrackets,
}

/// What is wrong with a port.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PortProblem {
    /// `host:` with nothing after the colon.
    #[error("it is empty")]
    Empty,
    /// Something other than decimal digits.
    #[error("it is not a decimal number")]
    NotDigits,
    /// Over 65535.
    #[error("it is over 65535")]
    OutOfRange,
    /// Port 0.
    #[error("port 0 cannot be connected to")]
    Zero,
}

/// What is wrong with the path of a gRPC or HTTP master.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathProblem {
    /// A gRPC master takes no path.
    #[error("a grpc:// master takes no path")]
    GrpcPath,
    /// A character outside `A-Z a-z 0-9 - . _ ~ / %`.
    #[error("the path has {0:?}: only letters, digits, `-._~/%` are allowed")]
    BadCharacter(char),
    /// `//` in the path.
    #[error("the path has an empty segment (`//`)")]
    EmptySegment,
}

/// What ZooKeeper would refuse in a path.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ZkPathProblem {
    /// A trailing `/`.
    #[error("it ends with `/`")]
    TrailingSlash,
    /// `//`.
    #[error("it has an empty segment (`//`)")]
    EmptySegment,
    /// A `.` or `..` segment.
    #[error("it has a relative segment (`.` or `..`)")]
    RelativeSegment,
    /// A character ZooKeeper does not allow in paths.
    #[error("{0:?} is not allowed in a ZooKeeper path")]
    BadCharacter(char),
}
