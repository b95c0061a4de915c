//! Tests of reading a leader's JSON `MasterInfo`.

use super::*;
use proptest::prelude::*;

/// What a Mesos 1.11 master writes (stout's mapping of its MasterInfo).
const MESOS_1_11: &str = r#"{"address":{"hostname":"m1.example.com","ip":"10.0.0.1","port":5050},"capabilities":[{"type":"AGENT_UPDATE"},{"type":"AGENT_DRAINING"},{"type":"QUOTA_V2"}],"hostname":"m1.example.com","id":"6f0c1d8e-2b33-4c7a-9a51-2f5f1c9e6a10","ip":16777226,"pid":"master@10.0.0.1:5050","port":5050,"version":"1.11.0"}"#;

#[test]
fn a_mesos_master_info_is_read_whole() {
    let info = MasterInfo::from_json(MESOS_1_11.as_bytes()).unwrap();
    assert_eq!(info.id, "6f0c1d8e-2b33-4c7a-9a51-2f5f1c9e6a10");
    assert_eq!(
        info.address,
        Some(MasterAddress {
            hostname: Some("m1.example.com".into()),
            ip: Some("10.0.0.1".parse().unwrap()),
            port: Some(5050),
        })
    );
    // The packed legacy ip is the same address.
    assert_eq!(info.ip, Some(Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!(info.version.as_deref(), Some("1.11.0"));
    assert_eq!(info.pid.as_deref(), Some("master@10.0.0.1:5050"));
    let by_name = info.endpoint(HostPreference::Hostname).unwrap();
    assert_eq!(by_name.to_string(), "m1.example.com:5050");
    let by_ip = info.endpoint(HostPreference::Ip).unwrap();
    assert_eq!(by_ip.to_string(), "10.0.0.1:5050");
}

#[test]
fn older_fields_stand_in_for_address() {
    let info = MasterInfo::from_json(br#"{"id":"x","ip":16777343,"port":"5051"}"#).unwrap();
    assert_eq!(
        info.endpoint(HostPreference::Hostname).unwrap().to_string(),
        "127.0.0.1:5051"
    );
    let info = MasterInfo::from_json(br#"{"hostname":"old","ip":16777343,"port":5051}"#).unwrap();
    assert_eq!(
        info.endpoint(HostPreference::Hostname).unwrap().to_string(),
        "old:5051"
    );
    assert_eq!(
        info.endpoint(HostPreference::Ip).unwrap().to_string(),
        "127.0.0.1:5051"
    );
    // address.port before port; an empty hostname is none.
    let info =
        MasterInfo::from_json(br#"{"address":{"hostname":"","ip":"::1","port":6000},"port":5050}"#)
            .unwrap();
    assert_eq!(
        info.endpoint(HostPreference::Hostname).unwrap().to_string(),
        "[::1]:6000"
    );
}

#[test]
fn unknown_keys_and_nulls_are_ignored() {
    let info = MasterInfo::from_json(
        br#"{"address":{"ip":"10.1.1.1","port":5050,"extra":1},"domain":{"fault_domain":{}},"hostname":null}"#,
    )
    .unwrap();
    assert_eq!(
        info.endpoint(HostPreference::Hostname).unwrap().to_string(),
        "10.1.1.1:5050"
    );
}

#[test]
fn malformed_data_gives_typed_errors() {
    let err = |data: &str| {
        MasterInfo::from_json(data.as_bytes())
            .and_then(|i| i.endpoint(HostPreference::Hostname))
            .unwrap_err()
    };
    assert!(matches!(err("{\"address\":"), MasterInfoError::Json(_)));
    assert!(matches!(err(""), MasterInfoError::Json(_)));
    assert!(matches!(err("[1,2]"), MasterInfoError::NotAnObject));
    assert!(matches!(
        err("\"master@1.2.3.4:5050\""),
        MasterInfoError::NotAnObject
    ));
    assert!(matches!(
        err(r#"{"address":"m1:5050"}"#),
        MasterInfoError::WrongType {
            field: "address",
            ..
        }
    ));
    assert!(matches!(
        err(r#"{"address":{"port":true}}"#),
        MasterInfoError::WrongType {
            field: "address.port",
            ..
        }
    ));
    assert!(matches!(
        err(r#"{"address":{"port":-1}}"#),
        MasterInfoError::WrongType {
            field: "address.port",
            ..
        }
    ));
    assert!(matches!(
        err(r#"{"address":{"hostname":5,"port":1}}"#),
        MasterInfoError::WrongType {
            field: "address.hostname",
            ..
        }
    ));
    assert!(matches!(
        err(r#"{"address":{"ip":"10.0.0.256","port":1}}"#),
        MasterInfoError::InvalidIp {
            field: "address.ip",
            ..
        }
    ));
    assert!(matches!(
        err(r#"{"address":{"ip":"1.2.3.4","port":70000}}"#),
        MasterInfoError::OutOfRange {
            field: "address.port",
            ..
        }
    ));
    assert!(matches!(
        err(r#"{"address":{"ip":"1.2.3.4","port":0}}"#),
        MasterInfoError::OutOfRange {
            field: "address.port",
            ..
        }
    ));
    assert!(matches!(
        err(r#"{"ip":4294967296,"port":1}"#),
        MasterInfoError::OutOfRange { field: "ip", .. }
    ));
    assert!(matches!(
        err(r#"{"port":"99999999999999999999999"}"#),
        MasterInfoError::OutOfRange { field: "port", .. }
    ));
    assert!(matches!(
        err(r#"{"address":{"hostname":"bad host","port":1}}"#),
        MasterInfoError::InvalidHostname {
            field: "address.hostname",
            ..
        }
    ));
    assert!(matches!(
        err(r#"{"address":{"port":5050}}"#),
        MasterInfoError::NoHost
    ));
    assert!(matches!(
        err(r#"{"address":{"ip":"1.2.3.4"}}"#),
        MasterInfoError::NoPort
    ));
    assert!(matches!(err(r#"{}"#), MasterInfoError::NoHost));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..128)) {
        if let Ok(info) = MasterInfo::from_json(&data) {
            let _ = info.endpoint(HostPreference::Hostname);
            let _ = info.endpoint(HostPreference::Ip);
        }
    }

    #[test]
    fn arbitrary_json_objects_never_panic(
        hostname in prop::option::of(".{0,12}"),
        ip in prop::option::of(".{0,16}"),
        port in prop::option::of(any::<i64>()),
        legacy_ip in prop::option::of(any::<i64>()),
    ) {
        let mut address = serde_json::Map::new();
        if let Some(h) = hostname { address.insert("hostname".into(), h.into()); }
        if let Some(i) = ip { address.insert("ip".into(), i.into()); }
        if let Some(p) = port { address.insert("port".into(), p.into()); }
        let mut info = serde_json::Map::new();
        info.insert("address".into(), address.into());
        if let Some(i) = legacy_ip { info.insert("ip".into(), i.into()); }
        let data = serde_json::to_vec(&serde_json::Value::Object(info)).unwrap();
        if let Ok(info) = MasterInfo::from_json(&data) {
            if let Ok(endpoint) = info.endpoint(HostPreference::Hostname) {
                prop_assert_ne!(endpoint.port, 0);
            }
        }
    }
}
