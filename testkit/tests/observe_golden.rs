//! Golden tests of the observation endpoints' JSON (`/master/state`,
//! `/master/state-summary`, `/master/frameworks`, `/master/tasks`,
//! `/master/roles`, `/metrics/snapshot`): a pure `MasterCore` driven on
//! explicit time through a fixed scenario (two frameworks, two roles with
//! a weight and a quota, a launch, a decline), observed, rendered and
//! compared with `tests/golden/*.json`, our own data written to Mesos
//! 1.11's documented shapes. Each test also checks the keys Mesos
//! documents for that endpoint, so a golden file cannot drift from the
//! shape. `CORRAL_BLESS=1` rewrites the files (review the diff).

#[path = "master_support.rs"]
mod support;

use std::time::Duration;

use corral::{FrameworkId, Resources};
use corral_proto::pb;
use corral_testkit::allocator::Quota;
use corral_testkit::master::observe::gather::observe;
use corral_testkit::master::observe::mesos_json::{self, Order, TasksQuery};
use corral_testkit::master::observe::{parse_tasks_query, snapshot, Observation};
use corral_testkit::master::outbox::encode;
use corral_testkit::master::{MasterConfig, MasterCore, Outgoing, StreamId, MESOS_VERSION};
use serde_json::Value;
use support::*;

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn events_on(outbox: Vec<Outgoing>, stream: &StreamId) -> Vec<pb::Event> {
    outbox
        .into_iter()
        .filter_map(|o| match o {
            Outgoing::Event { stream: s, event } if &s == stream => Some(encode(&event)),
            _ => None,
        })
        .collect()
}

fn offers(events: &[pb::Event]) -> Vec<pb::Offer> {
    events
        .iter()
        .filter_map(|e| e.offers.as_ref())
        .flat_map(|o| o.offers.clone())
        .collect()
}

/// The scenario: `web` (quota 1 cpu guaranteed, 3 cpus limit) launches
/// two tasks on its first offer; `batch` (weight 2) declines its offer.
fn scenario() -> Observation {
    let config = MasterConfig::default()
        .agents(
            2,
            Resources::parse("cpus:4;mem:4096;ports:[31000-31009]").expect("res"),
        )
        .role("batch", 2.0)
        .quota(
            "web",
            Quota {
                guarantee: Resources::parse("cpus:1").expect("res"),
                limit: Some(Resources::parse("cpus:3").expect("res")),
            },
        )
        .seed(7);
    let mut core = MasterCore::new(config).expect("config");
    let web = core
        .subscribe(
            ms(0),
            subscribe_call(framework_info("web-fw", &["web"], &[]), &[]),
        )
        .expect("web subscribes");
    let web_id: FrameworkId = web.framework.clone().expect("id");
    let web_offers = offers(&events_on(core.take_outbox(), &web.stream));
    let first = web_offers.first().expect("an offer for web").clone();
    let t1 = task(
        "t1",
        &first,
        "cpus:1;mem:256",
        &[("corral.sim/duration", "600000")],
    );
    let t2 = task(
        "t2",
        &first,
        "cpus:0.5;mem:128",
        &[("corral.sim/duration", "10")],
    );
    core.handle(
        ms(1),
        Some(web.stream.as_str()),
        accept_call(
            &web_id,
            &[&first.id],
            vec![launch(vec![t1, t2])],
            Some(3600.0),
        ),
    )
    .expect("accepted");
    let rest: Vec<&pb::OfferId> = web_offers[1..].iter().map(|o| &o.id).collect();
    if !rest.is_empty() {
        core.handle(
            ms(1),
            Some(web.stream.as_str()),
            decline_call(&web_id, &rest, Some(3600.0)),
        )
        .expect("declined");
    }
    let batch = core
        .subscribe(
            ms(2),
            subscribe_call(framework_info("batch-fw", &["batch"], &[]), &[]),
        )
        .expect("batch subscribes");
    let batch_id: FrameworkId = batch.framework.clone().expect("id");
    let mut now = ms(2);
    let mut seen = Vec::new();
    // Run the clock to 1 s: tasks start, t2 finishes, allocations run.
    while let Some(at) = core.next_deadline().filter(|d| *d <= ms(1000)) {
        now = at;
        core.tick(now);
        for event in events_on(core.take_outbox(), &batch.stream) {
            seen.push(event);
        }
    }
    let batch_offers = offers(&seen);
    if let Some(o) = batch_offers.first() {
        core.handle(
            now,
            Some(batch.stream.as_str()),
            decline_call(&batch_id, &[&o.id], Some(3600.0)),
        )
        .expect("batch declines");
    }
    observe(&core, ms(1000))
}

fn golden(name: &str, actual: &Value) {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    let pretty = serde_json::to_string_pretty(actual).expect("json") + "\n";
    if std::env::var_os("CORRAL_BLESS").is_some() {
        std::fs::write(&path, &pretty).expect("bless");
        return;
    }
    let expected = std::fs::read_to_string(&path).expect("golden file");
    assert_eq!(
        pretty, expected,
        "{name} differs from its golden file (CORRAL_BLESS=1 rewrites it)"
    );
}

fn keys(v: &Value, want: &[&str], what: &str) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{what} is an object"));
    for k in want {
        assert!(obj.contains_key(*k), "{what} lacks Mesos's key {k:?}");
    }
}

const TASK_KEYS: &[&str] = &[
    "id",
    "name",
    "framework_id",
    "executor_id",
    "slave_id",
    "state",
    "resources",
    "role",
    "statuses",
];
const RESOURCE_KEYS: &[&str] = &["cpus", "mem", "disk", "gpus"];

#[test]
fn master_state_has_mesos_shape() {
    let obs = scenario();
    let state = mesos_json::state(&obs);
    keys(
        &state,
        &[
            "version",
            "build_date",
            "build_time",
            "build_user",
            "start_time",
            "elected_time",
            "id",
            "pid",
            "hostname",
            "activated_slaves",
            "deactivated_slaves",
            "leader",
            "flags",
            "slaves",
            "frameworks",
            "completed_frameworks",
            "orphan_tasks",
            "unregistered_frameworks",
        ],
        "state",
    );
    assert_eq!(state["version"], MESOS_VERSION);
    let slave = &state["slaves"][0];
    keys(
        slave,
        &[
            "id",
            "pid",
            "hostname",
            "registered_time",
            "resources",
            "used_resources",
            "offered_resources",
            "reserved_resources",
            "unreserved_resources",
            "attributes",
            "active",
            "version",
        ],
        "slave",
    );
    keys(&slave["resources"], RESOURCE_KEYS, "resources");
    assert_eq!(slave["resources"]["ports"], "[31000-31009]");
    let fw = &state["frameworks"][0];
    keys(
        fw,
        &[
            "id",
            "name",
            "active",
            "user",
            "failover_timeout",
            "checkpoint",
            "roles",
            "registered_time",
            "resources",
            "used_resources",
            "offered_resources",
            "tasks",
            "completed_tasks",
            "unreachable_tasks",
            "offers",
            "executors",
            "TASK_RUNNING",
            "TASK_FINISHED",
        ],
        "framework",
    );
    keys(&fw["tasks"][0], TASK_KEYS, "task");
    assert_eq!(fw["name"], "web-fw");
    assert_eq!(fw["TASK_RUNNING"], 1, "t1 runs");
    assert_eq!(fw["TASK_FINISHED"], 1, "t2 finished");
    assert_eq!(fw["tasks"][0]["state"], "TASK_RUNNING");
    assert_eq!(fw["completed_tasks"][0]["state"], "TASK_FINISHED");
    assert_eq!(fw["used_resources"]["cpus"], 1.0);
    golden("master_state.json", &state);
}

#[test]
fn state_summary_has_mesos_shape() {
    let obs = scenario();
    let summary = mesos_json::state_summary(&obs);
    keys(
        &summary,
        &["hostname", "cluster", "slaves", "frameworks"],
        "summary",
    );
    keys(
        &summary["slaves"][0],
        &[
            "id",
            "hostname",
            "resources",
            "used_resources",
            "active",
            "framework_ids",
            "TASK_RUNNING",
        ],
        "summary slave",
    );
    keys(
        &summary["frameworks"][0],
        &[
            "id",
            "name",
            "active",
            "used_resources",
            "offered_resources",
            "slave_ids",
            "TASK_RUNNING",
        ],
        "summary framework",
    );
    golden("master_state_summary.json", &summary);
}

#[test]
fn frameworks_has_mesos_shape() {
    let obs = scenario();
    let frameworks = mesos_json::frameworks(&obs);
    keys(
        &frameworks,
        &[
            "frameworks",
            "completed_frameworks",
            "unregistered_frameworks",
        ],
        "frameworks",
    );
    assert_eq!(frameworks["frameworks"].as_array().map(Vec::len), Some(2));
    golden("master_frameworks.json", &frameworks);
}

#[test]
fn roles_has_mesos_shape() {
    let obs = scenario();
    let roles = mesos_json::roles(&obs);
    let list = roles["roles"].as_array().expect("roles list");
    let web = list.iter().find(|r| r["name"] == "web").expect("web");
    keys(
        web,
        &[
            "name",
            "weight",
            "frameworks",
            "resources",
            "allocated",
            "offered",
            "reserved",
            "quota",
        ],
        "role",
    );
    keys(
        &web["quota"],
        &["role", "guarantee", "limit", "consumed"],
        "quota",
    );
    assert_eq!(web["quota"]["guarantee"]["cpus"], 1.0);
    assert_eq!(web["quota"]["limit"]["cpus"], 3.0);
    let batch = list.iter().find(|r| r["name"] == "batch").expect("batch");
    assert_eq!(batch["weight"], 2.0);
    golden("master_roles.json", &roles);
}

#[test]
fn tasks_pages_in_order() {
    let obs = scenario();
    let all = mesos_json::tasks(&obs, &TasksQuery::default());
    keys(&all["tasks"][0], TASK_KEYS, "task");
    let ids = |v: &Value| -> Vec<String> {
        v["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .map(|t| t["id"].as_str().expect("id").to_owned())
            .collect()
    };
    // Same launch time: ties go by framework then task id; desc reverses.
    assert_eq!(ids(&all), ["t2", "t1"]);
    let asc = parse_tasks_query(Some("order=asc&limit=1")).expect("query");
    assert_eq!(ids(&mesos_json::tasks(&obs, &asc)), ["t1"]);
    let offset = parse_tasks_query(Some("order=asc&offset=1&limit=5")).expect("query");
    assert_eq!(ids(&mesos_json::tasks(&obs, &offset)), ["t2"]);
    let none = TasksQuery {
        offset: 2,
        order: Order::Asc,
        ..TasksQuery::default()
    };
    assert!(ids(&mesos_json::tasks(&obs, &none)).is_empty());
    assert!(parse_tasks_query(Some("limit=x")).is_err());
    assert!(parse_tasks_query(Some("order=up")).is_err());
    golden("master_tasks.json", &all);
}

#[test]
fn metrics_snapshot_has_mesos_names() {
    let obs = scenario();
    let mut snap = snapshot::snapshot(&obs);
    for name in [
        "master/elected",
        "master/uptime_secs",
        "master/frameworks_active",
        "master/frameworks_connected",
        "master/outstanding_offers",
        "master/slaves_active",
        "master/tasks_running",
        "master/tasks_finished",
        "master/tasks_staging",
        "master/cpus_total",
        "master/cpus_used",
        "master/mem_percent",
        "master/messages_decline_offers",
        "master/messages_register_framework",
        "allocator/mesos/allocation_runs",
        "allocator/mesos/allocation_run_ms",
        "allocator/mesos/roles/web/shares/dominant",
        "allocator/mesos/quota/roles/web/resources/cpus/guarantee",
    ] {
        assert!(snap.get(name).is_some(), "/metrics/snapshot lacks {name}");
    }
    assert_eq!(snap["master/tasks_running"], 1.0);
    assert_eq!(snap["master/frameworks_active"], 2.0);
    assert_eq!(snap["master/cpus_total"], 8.0);
    assert_eq!(snap["master/messages_register_framework"], 2.0);
    assert!(snap["master/messages_decline_offers"].as_f64() >= Some(1.0));
    // Wall-clock durations vary run to run: blanked before the comparison.
    for (name, value) in snap.as_object_mut().expect("object") {
        if name.starts_with("allocator/mesos/allocation_run_ms") {
            *value = Value::from(0.0);
        }
    }
    golden("metrics_snapshot.json", &snap);
}
