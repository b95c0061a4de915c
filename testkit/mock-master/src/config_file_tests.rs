//! Tests of the configuration file: a good file, and each kind of bad one
//! refused with the line at fault.

use super::*;

const GOOD: &str = r#"
# Two plain agents, one named.
[[agents]]
count = 2
resources = "cpus:4;mem:8192;ports:[31000-31009]"
reserved = "cpus(eng):1;mem(eng):1024"
attributes = { zone = "a" }

[[agents]]
id = "gpu-0"
hostname = "gpu-0.example"
resources = "cpus:8;mem:16384;gpus:2"

[roles.eng]
weight = 2.0
quota = "cpus:4;mem:4096"
limit = "cpus:8"

[roles."eng/web"]
weight = 1.5

[roles.batch]
limit = "cpus:2"
"#;

fn res(text: &str) -> Resources {
    Resources::parse(text).expect("test resources parse")
}

/// The line and message of a refused file.
fn refused(text: &str) -> (usize, String) {
    match ConfigFile::parse(text) {
        Err(ConfigFileError::Invalid { line, what }) => (line, what),
        other => panic!("expected an invalid-value error, got {other:?}"),
    }
}

#[test]
fn a_good_file_gives_agents_weights_and_quotas() {
    let file = ConfigFile::parse(GOOD).expect("good file");
    let ids: Vec<&str> = file.agents.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["agent-0", "agent-1", "gpu-0"]);
    assert_eq!(
        file.agents[1].resources,
        res("cpus:3;mem:7168;ports:[31000-31009];cpus(eng):1;mem(eng):1024")
    );
    assert_eq!(
        file.agents[1].attributes,
        [("zone".to_owned(), "a".to_owned())]
    );
    assert_eq!(file.agents[2].hostname, "gpu-0.example");
    assert_eq!(file.weights[&Role::new("eng")], 2.0);
    assert_eq!(file.weights[&Role::new("eng/web")], 1.5);
    assert_eq!(
        file.quotas[&Role::new("eng")],
        Quota {
            guarantee: res("cpus:4;mem:4096"),
            limit: Some(res("cpus:8")),
        }
    );
    assert_eq!(file.quotas[&Role::new("batch")].limit, Some(res("cpus:2")));
    assert!(!file.quotas.contains_key(&Role::new("eng/web")));

    let config = file.apply(MasterConfig::default().role("eng", 5.0));
    assert_eq!(
        config.role_weights[&Role::new("eng")],
        2.0,
        "the file sets it"
    );
    assert_eq!(config.validate(), Ok(()));
    corral_testkit::master::MasterCore::new(config).expect("the master starts");
}

#[test]
fn an_empty_file_is_empty() {
    assert_eq!(ConfigFile::parse("").expect("empty"), ConfigFile::default());
}

#[test]
fn syntax_errors_name_line_and_column() {
    let err = ConfigFile::parse("[[agents]]\nresources = cpus:1\n").unwrap_err();
    assert!(matches!(err, ConfigFileError::Syntax(_)), "{err}");
    assert!(err.to_string().contains("line 2"), "{err}");
    let err = ConfigFile::parse("[[agents]]\nresources = \"cpus:1\"\ncpu = 4\n").unwrap_err();
    assert!(err.to_string().contains("unknown field `cpu`"), "{err}");
    assert!(err.to_string().contains("line 3"), "{err}");
    let err = ConfigFile::parse("[[agents]]\ncount = 2\n").unwrap_err();
    assert!(
        err.to_string().contains("missing field `resources`"),
        "{err}"
    );
    let err = ConfigFile::parse("[roles.eng]\nweight = \"heavy\"\n").unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
}

#[test]
fn bad_resources_name_the_setting_and_line() {
    let (line, what) = refused("[[agents]]\n\nresources = \"cpus:x\"\n");
    assert_eq!(line, 3);
    assert!(what.starts_with("agents[0].resources:"), "{what}");
    let (line, what) = refused("[roles.eng]\nquota = \"cpus\"\n");
    assert_eq!(line, 2);
    assert!(what.starts_with("roles.eng.quota:"), "{what}");
    let (line, what) = refused("[roles.eng]\nweight = 1.0\nlimit = \"mem:[1-2\"\n");
    assert_eq!(line, 3);
    assert!(what.starts_with("roles.eng.limit:"), "{what}");
}

#[test]
fn bad_reservations_are_refused() {
    let (line, what) = refused("[[agents]]\nresources = \"cpus:2\"\nreserved = \"cpus(eng):3\"\n");
    assert_eq!(line, 3);
    assert!(what.contains("not enough to reserve cpus(eng):3"), "{what}");
    let (_, what) = refused("[[agents]]\nresources = \"cpus:2\"\nreserved = \"cpus:1\"\n");
    assert!(what.contains("not reserved for a role"), "{what}");
    let (_, what) = refused("[[agents]]\nresources = \"cpus:2\"\nreserved = \"cpus(a b):1\"\n");
    assert!(what.starts_with("agents[0].reserved:"), "{what}");
}

#[test]
fn bad_agents_are_refused() {
    let (line, what) = refused("[[agents]]\nid = \"x\"\ncount = 2\nresources = \"cpus:1\"\n");
    assert_eq!(line, 2);
    assert!(what.contains("count 1"), "{what}");
    let (_, what) = refused("[[agents]]\nid = \"\"\nresources = \"cpus:1\"\n");
    assert!(what.contains("empty"), "{what}");
}

#[test]
fn bad_roles_weights_and_quotas_are_refused() {
    let (line, what) = refused("\n[roles.\"eng//web\"]\nweight = 2.0\n");
    assert_eq!(line, 2);
    assert!(what.contains("eng//web"), "{what}");
    let (line, what) = refused("[roles.eng]\nweight = -1.0\n");
    assert_eq!(line, 2);
    assert!(what.contains("roles.eng.weight"), "{what}");
    let (line, what) = refused("[roles.eng]\nquota = \"cpus:4\"\nlimit = \"cpus:2\"\n");
    assert_eq!(line, 2);
    assert!(what.contains("exceeds its limit"), "{what}");
    let (_, what) = refused("[roles.\"*\"]\nquota = \"cpus:1\"\n");
    assert!(what.contains("`*`"), "{what}");
    let (line, what) =
        refused("[roles.eng]\nquota = \"cpus:1\"\n[roles.\"eng/web\"]\nquota = \"cpus:2\"\n");
    assert_eq!(line, 4);
    assert!(what.starts_with("roles.eng/web:"), "{what}");
}

#[test]
fn a_missing_file_names_its_path() {
    let path = Path::new("/nonexistent/corral-mock-master.toml");
    let err = ConfigFile::read(path).unwrap_err();
    assert!(
        err.to_string()
            .contains("/nonexistent/corral-mock-master.toml"),
        "{err}"
    );
}
