//! Tests of `MasterSpec` parsing: each accepted form, each refusal, and
//! properties over arbitrary strings.

use super::*;
use proptest::prelude::*;

fn parse(s: &str) -> Result<MasterSpec, MasterSpecError> {
    MasterSpec::parse(s)
}

fn name(s: &str) -> Host {
    Host::Name(s.to_owned())
}

fn ep(host: Host, port: u16) -> Endpoint {
    Endpoint { host, port }
}

fn http(scheme: HttpScheme, host: Host, port: u16, path: &str) -> HttpMaster {
    HttpMaster {
        scheme,
        endpoint: ep(host, port),
        path: path.to_owned(),
    }
}

#[test]
fn grpc_masters() {
    assert_eq!(
        parse("grpc://127.0.0.1:5050").unwrap(),
        MasterSpec::Grpc(vec![GrpcMaster {
            endpoint: ep(Host::V4([127, 0, 0, 1].into()), 5050)
        }])
    );
    let MasterSpec::Grpc(list) = parse("GRPC://a:1,b:2,grpc://[::1]:3/").unwrap() else {
        panic!("not gRPC")
    };
    let endpoints: Vec<String> = list.iter().map(|m| m.endpoint.to_string()).collect();
    assert_eq!(endpoints, ["a:1", "b:2", "[::1]:3"]);
    assert_eq!(list[2].channel_uri(), "http://[::1]:3");
}

#[test]
fn http_masters_and_bare_lists() {
    use HttpScheme::{Http, Https};
    assert_eq!(
        parse("http://m1:5050").unwrap(),
        MasterSpec::Http(vec![http(Http, name("m1"), 5050, "")])
    );
    assert_eq!(
        parse("  https://mesos.example.com/gw/mesos/ ").unwrap(),
        MasterSpec::Http(vec![http(
            Https,
            name("mesos.example.com"),
            443,
            "/gw/mesos"
        )])
    );
    assert_eq!(
        parse("http://m1").unwrap(),
        MasterSpec::Http(vec![http(Http, name("m1"), 80, "")])
    );
    assert_eq!(
        parse("m1:5050,10.0.0.2:5050,https://m3:5443").unwrap(),
        MasterSpec::Http(vec![
            http(Http, name("m1"), 5050, ""),
            http(Http, Host::V4([10, 0, 0, 2].into()), 5050, ""),
            http(Https, name("m3"), 5443, ""),
        ])
    );
    // A scheme carries on along the list.
    let spec = parse("https://a:1,b:2").unwrap();
    assert_eq!(spec.static_urls(), ["https://a:1", "https://b:2"]);
}

#[test]
fn zookeeper_urls() {
    let MasterSpec::ZooKeeper(zk) = parse("zk://zk1:2181,zk2,[::1]:2182/mesos").unwrap() else {
        panic!("not zk")
    };
    assert_eq!(zk.ensemble(), "zk1:2181,zk2:2181,[::1]:2182");
    assert_eq!(zk.path, "/mesos");
    assert_eq!(zk.credentials, None);
    assert!(parse("zk://zk1:2181/mesos")
        .unwrap()
        .static_urls()
        .is_empty());

    let MasterSpec::ZooKeeper(zk) = parse("ZK://ops:pa:ss@w0rd@zk1:2181/a/b").unwrap() else {
        panic!("not zk")
    };
    let credentials = zk.credentials.clone().unwrap();
    assert_eq!(credentials.user(), "ops");
    // Mesos reads the credentials up to the last `@` before the path.
    assert_eq!(credentials.digest_auth(), b"ops:pa:ss@w0rd");
    assert_eq!(zk.path, "/a/b");
    assert_eq!(zk.to_string(), "zk://ops:***@zk1:2181/a/b");
    assert!(!format!("{zk:?}").contains("w0rd"), "{zk:?}");
}

#[test]
fn every_refusal_is_typed() {
    use MasterSpecError as E;
    let cases: Vec<(&str, E)> = vec![
        ("", E::Empty),
        ("   ", E::Empty),
        (
            "a:1 ,b:2",
            E::BadCharacter {
                position: 3,
                character: ' ',
            },
        ),
        ("a:1,,b:2", E::EmptyEntry { index: 1 }),
        ("a:1,", E::EmptyEntry { index: 1 }),
        (
            "file:///etc/master",
            E::UnknownScheme {
                entry: "file:///etc/master".into(),
                scheme: "file".into(),
            },
        ),
        (
            "a:1,zk://z:2181/m",
            E::ZkInList {
                entry: "zk://z:2181/m".into(),
            },
        ),
        (
            "grpc://a:1,http://b:2",
            E::MixedProtocols {
                first: "grpc://a:1".into(),
                other: "http://b:2".into(),
            },
        ),
        (
            "a:1,grpc://b:2",
            E::MixedProtocols {
                first: "a:1".into(),
                other: "grpc://b:2".into(),
            },
        ),
        (
            "grpc://a",
            E::MissingPort {
                entry: "grpc://a".into(),
            },
        ),
        ("a", E::MissingPort { entry: "a".into() }),
        (
            "a:",
            E::InvalidPort {
                entry: "a:".into(),
                port: "".into(),
                problem: PortProblem::Empty,
            },
        ),
        (
            "a:x1",
            E::InvalidPort {
                entry: "a:x1".into(),
                port: "x1".into(),
                problem: PortProblem::NotDigits,
            },
        ),
        (
            "a:+1",
            E::InvalidPort {
                entry: "a:+1".into(),
                port: "+1".into(),
                problem: PortProblem::NotDigits,
            },
        ),
        (
            "a:65536",
            E::InvalidPort {
                entry: "a:65536".into(),
                port: "65536".into(),
                problem: PortProblem::OutOfRange,
            },
        ),
        (
            "a:0",
            E::InvalidPort {
                entry: "a:0".into(),
                port: "0".into(),
                problem: PortProblem::Zero,
            },
        ),
        (
            ":5050",
            E::InvalidHost {
                entry: ":5050".into(),
                host: "".into(),
                problem: HostProblem::Empty,
            },
        ),
        (
            "http://",
            E::InvalidHost {
                entry: "http://".into(),
                host: "".into(),
                problem: HostProblem::Empty,
            },
        ),
        (
            "a$b:1",
            E::InvalidHost {
                entry: "a$b:1".into(),
                host: "a$b".into(),
                problem: HostProblem::BadCharacter('$'),
            },
        ),
        (
            "a..b:1",
            E::InvalidHost {
                entry: "a..b:1".into(),
                host: "a..b".into(),
                problem: HostProblem::EmptyLabel,
            },
        ),
        (
            "-a:1",
            E::InvalidHost {
                entry: "-a:1".into(),
                host: "-a".into(),
                problem: HostProblem::Hyphen,
            },
        ),
        (
            "1.2.3.999:1",
            E::InvalidHost {
                entry: "1.2.3.999:1".into(),
                host: "1.2.3.999".into(),
                problem: HostProblem::BadIpv4,
            },
        ),
        (
            "[::g]:1",
            E::InvalidHost {
                entry: "[::g]:1".into(),
                host: "[::g]".into(),
                problem: HostProblem::BadIpv6,
            },
        ),
        (
            "::1:5050",
            E::InvalidHost {
                entry: "::1:5050".into(),
                host: "::1:5050".into(),
                problem: HostProblem::Ipv6NeedsBrackets,
            },
        ),
        (
            "[::1:5050",
            E::InvalidHost {
                entry: "[::1:5050".into(),
                host: "[::1:5050".into(),
                problem: HostProblem::Ipv6NeedsBrackets,
            },
        ),
        (
            "grpc://a:1/x",
            E::InvalidPath {
                entry: "grpc://a:1/x".into(),
                problem: PathProblem::GrpcPath,
            },
        ),
        (
            "http://a/b//c",
            E::InvalidPath {
                entry: "http://a/b//c".into(),
                problem: PathProblem::EmptySegment,
            },
        ),
        (
            "http://a/b'c",
            E::InvalidPath {
                entry: "http://a/b'c".into(),
                problem: PathProblem::BadCharacter('\''),
            },
        ),
        (
            "http://a:1/?x=1",
            E::QueryOrFragment {
                entry: "http://a:1/?x=1".into(),
            },
        ),
        (
            "http://a:1#top",
            E::QueryOrFragment {
                entry: "http://a:1#top".into(),
            },
        ),
        (
            "http://u:pw@a:1",
            E::CredentialsInUrl {
                entry: "http://***@a:1".into(),
            },
        ),
        ("zk:///mesos", E::ZkNoServers),
        ("zk://u:p@/mesos", E::ZkNoServers),
        ("zk://z:2181", E::ZkMissingPath),
        ("zk://z:2181/", E::ZkRootPath),
        ("zk://z1,,z2/m", E::EmptyEntry { index: 1 }),
        (
            "zk://z:x/m",
            E::InvalidPort {
                entry: "z:x".into(),
                port: "x".into(),
                problem: PortProblem::NotDigits,
            },
        ),
        (
            "zk://z/m/",
            E::ZkInvalidPath {
                path: "/m/".into(),
                problem: ZkPathProblem::TrailingSlash,
            },
        ),
        (
            "zk://z/a//b",
            E::ZkInvalidPath {
                path: "/a//b".into(),
                problem: ZkPathProblem::EmptySegment,
            },
        ),
        (
            "zk://z/a/../b",
            E::ZkInvalidPath {
                path: "/a/../b".into(),
                problem: ZkPathProblem::RelativeSegment,
            },
        ),
        (
            "zk://z/a\u{e000}",
            E::ZkInvalidPath {
                path: "/a\u{e000}".into(),
                problem: ZkPathProblem::BadCharacter('\u{e000}'),
            },
        ),
        ("zk://nopassword@z/m", E::ZkBadCredentials),
        ("zk://:pw@z/m", E::ZkBadCredentials),
    ];
    for (input, expected) in cases {
        assert_eq!(parse(input), Err(expected), "{input:?}");
    }
}

#[test]
fn multi_byte_characters_where_a_scheme_is_looked_for_are_refused_not_a_panic() {
    // Found by `arbitrary_strings_never_panic`: the scheme check sliced
    // inside a character.
    for input in [
        "\u{10000}0",
        "\u{7f7a7}=",
        "zk\u{e9}://z/m",
        "h\u{e9}://a:1",
    ] {
        assert!(parse(input).is_err(), "{input:?}");
    }
}

#[test]
fn leading_zeros_in_a_port_are_read_as_decimal() {
    let spec = parse("a:005050,b:0000000000080").unwrap();
    assert_eq!(spec.static_urls(), ["http://a:5050", "http://b:80"]);
}

#[test]
fn no_error_repeats_a_password() {
    for input in [
        "http://u:s3cret@a:1",
        "grpc://u:s3cret@a:1",
        "u:s3cret@a:1",
        "x:1,https://u:s3cret@a:99999",
        "zk://u:s3cret@z:99999/m",
        "zk://u:s3cret@z/m/",
        "zk://u:s3cret@z$/m",
    ] {
        let error = parse(input).unwrap_err();
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("s3cret"), "{input}: {shown}");
    }
}

#[test]
fn messages_say_what_to_write() {
    assert!(MasterSpecError::Empty.to_string().contains("grpc://"));
    let e = parse("zk://z:2181").unwrap_err().to_string();
    assert!(e.contains("zk://host:2181/mesos"), "{e}");
    let e = parse("a").unwrap_err().to_string();
    assert!(e.contains("host:port"), "{e}");
}

fn arb_host() -> impl Strategy<Value = Host> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}[a-z0-9](\\.[a-z][a-z0-9]{0,5}){0,2}".prop_map(Host::Name),
        any::<[u8; 4]>().prop_map(|o| Host::V4(o.into())),
        any::<[u16; 8]>().prop_map(|s| Host::V6(s.into())),
    ]
}

fn arb_endpoint() -> impl Strategy<Value = Endpoint> {
    (arb_host(), 1u16..).prop_map(|(host, port)| Endpoint { host, port })
}

fn arb_spec() -> impl Strategy<Value = MasterSpec> {
    let scheme = prop_oneof![Just(HttpScheme::Http), Just(HttpScheme::Https)];
    let http_master = (scheme, arb_endpoint(), "(/[a-z0-9._~-]{1,6}){0,2}").prop_map(
        |(scheme, endpoint, path)| HttpMaster {
            scheme,
            endpoint,
            path,
        },
    );
    let zk = (
        prop::collection::vec(arb_endpoint(), 1..4),
        "(/[a-z0-9._-]{1,6}){1,3}".prop_filter("no relative segment", |p| {
            p.split('/').all(|s| s != "." && s != "..")
        }),
    )
        .prop_map(|(servers, path)| {
            MasterSpec::ZooKeeper(ZkSpec {
                servers,
                path,
                credentials: None,
            })
        });
    prop_oneof![
        prop::collection::vec(
            arb_endpoint().prop_map(|endpoint| GrpcMaster { endpoint }),
            1..4
        )
        .prop_map(MasterSpec::Grpc),
        prop::collection::vec(http_master, 1..4).prop_map(MasterSpec::Http),
        zk,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(s in ".{0,64}") {
        let _ = parse(&s);
    }

    #[test]
    fn url_like_strings_never_panic(
        prefix in prop_oneof![Just(""), Just("zk://"), Just("http://"), Just("https://"), Just("grpc://")],
        s in "[a-z0-9:/@,.\\[\\]%?#_~+$-]{0,40}",
    ) {
        let input = format!("{prefix}{s}");
        if let Ok(spec) = parse(&input) {
            // Whatever is accepted prints to a form that parses back the same.
            let again = parse(&spec.to_string());
            prop_assert!(again.as_ref() == Ok(&spec) || matches!(&spec, MasterSpec::ZooKeeper(z) if z.credentials.is_some()),
                "{input} -> {spec} -> {again:?}");
        }
    }

    #[test]
    fn the_canonical_form_parses_back(spec in arb_spec()) {
        let shown = spec.to_string();
        prop_assert_eq!(parse(&shown), Ok(spec), "{}", shown);
    }
}
