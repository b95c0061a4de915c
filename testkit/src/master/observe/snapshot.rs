//! `/metrics/snapshot`: a flat JSON object of Mesos metric names to
//! numbers, rendered from an [`Observation`]. Names are Mesos's where one
//! exists (`master/tasks_running`, `master/frameworks_active`,
//! `master/messages_decline_offers`, `allocator/mesos/allocation_runs`,
//! `allocator/mesos/roles/<role>/shares/dominant`, …).

use std::collections::BTreeMap;

use corral::Resources;
use serde_json::{Map, Value};

use super::gather::Observation;
use super::mesos_json::{state_name, TASK_STATES};

/// Mesos's message counter for each call type we count.
const MESSAGES: [(&str, &str); 11] = [
    ("SUBSCRIBE", "master/messages_register_framework"),
    ("TEARDOWN", "master/messages_unregister_framework"),
    ("ACCEPT", "master/messages_accept_offers"),
    ("DECLINE", "master/messages_decline_offers"),
    ("REVIVE", "master/messages_revive_offers"),
    ("SUPPRESS", "master/messages_suppress_offers"),
    ("KILL", "master/messages_kill_task"),
    (
        "ACKNOWLEDGE",
        "master/messages_status_update_acknowledgement",
    ),
    ("RECONCILE", "master/messages_reconcile_tasks"),
    ("REQUEST", "master/messages_resource_request"),
    ("UPDATE_FRAMEWORK", "master/messages_update_framework"),
];

/// Each scalar's total by name.
pub fn scalars(r: &Resources) -> BTreeMap<String, f64> {
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    for (name, v) in r.scalar_quantities() {
        *out.entry(name.to_owned()).or_default() += v.as_f64();
    }
    out
}

fn put(map: &mut Map<String, Value>, name: impl Into<String>, value: f64) {
    map.insert(name.into(), Value::from(value));
}

fn percent(used: f64, total: f64) -> f64 {
    if total > 0.0 {
        used / total
    } else {
        0.0
    }
}

/// `/metrics/snapshot`.
pub fn snapshot(obs: &Observation) -> Value {
    let mut m = Map::new();
    let s = &obs.state;
    put(&mut m, "master/elected", 1.0);
    put(&mut m, "master/uptime_secs", obs.now.as_secs_f64());
    let connected = s.frameworks.iter().filter(|f| f.active).count() as f64;
    let known = s.frameworks.len() as f64;
    put(&mut m, "master/frameworks_active", connected);
    put(&mut m, "master/frameworks_inactive", known - connected);
    put(&mut m, "master/frameworks_connected", connected);
    put(&mut m, "master/frameworks_disconnected", known - connected);
    put(&mut m, "master/outstanding_offers", s.offers.len() as f64);
    let up = s.agents.iter().filter(|a| !a.lost).count() as f64;
    let agents = s.agents.len() as f64;
    put(&mut m, "master/slaves_active", up);
    put(&mut m, "master/slaves_inactive", agents - up);
    put(&mut m, "master/slaves_connected", up);
    put(&mut m, "master/slaves_disconnected", agents - up);
    put(&mut m, "master/slaves_unreachable", agents - up);
    let mut by_state: BTreeMap<&str, f64> = BTreeMap::new();
    for t in &s.tasks {
        *by_state.entry(state_name(t.state)).or_default() += 1.0;
    }
    for state in TASK_STATES {
        let name = state_name(state);
        let short = name.trim_start_matches("TASK_").to_ascii_lowercase();
        put(
            &mut m,
            format!("master/tasks_{short}"),
            by_state.get(name).copied().unwrap_or(0.0),
        );
    }
    // Cluster resources: total over reachable agents, used = offered or
    // held by tasks; revocable apart.
    let mut total = Resources::new();
    let mut used = Resources::new();
    for a in s.agents.iter().filter(|a| !a.lost) {
        total += &a.total;
        used += &a.allocated;
    }
    for name in ["cpus", "mem", "disk", "gpus"] {
        let t = total.non_revocable().scalar(name);
        let u = used.non_revocable().scalar(name);
        put(&mut m, format!("master/{name}_total"), t);
        put(&mut m, format!("master/{name}_used"), u);
        put(&mut m, format!("master/{name}_percent"), percent(u, t));
        let rt = total.only_revocable().scalar(name);
        let ru = used.only_revocable().scalar(name);
        put(&mut m, format!("master/{name}_revocable_total"), rt);
        put(&mut m, format!("master/{name}_revocable_used"), ru);
        put(
            &mut m,
            format!("master/{name}_revocable_percent"),
            percent(ru, rt),
        );
    }
    for (call, name) in MESSAGES {
        put(
            &mut m,
            name,
            obs.counts.calls.get(call).copied().unwrap_or(0) as f64,
        );
    }
    let cycles = &obs.counts.cycles;
    put(
        &mut m,
        "allocator/mesos/allocation_runs",
        cycles.count as f64,
    );
    put(
        &mut m,
        "allocator/mesos/allocation_run_ms",
        cycles.last * 1e3,
    );
    put(
        &mut m,
        "allocator/mesos/allocation_run_ms/count",
        cycles.count as f64,
    );
    put(
        &mut m,
        "allocator/mesos/allocation_run_ms/max",
        cycles.max * 1e3,
    );
    for r in &obs.roles {
        let role = r.role.as_str();
        put(
            &mut m,
            format!("allocator/mesos/roles/{role}/shares/dominant"),
            r.share,
        );
        if let Some(q) = &r.quota {
            for (res, v) in scalars(&q.guarantee) {
                put(
                    &mut m,
                    format!("allocator/mesos/quota/roles/{role}/resources/{res}/guarantee"),
                    v,
                );
            }
            if let Some(limit) = &q.limit {
                for (res, v) in scalars(limit) {
                    put(
                        &mut m,
                        format!("allocator/mesos/quota/roles/{role}/resources/{res}/limit"),
                        v,
                    );
                }
            }
            for (res, v) in scalars(&r.allocated) {
                put(
                    &mut m,
                    format!("allocator/mesos/quota/roles/{role}/resources/{res}/consumed"),
                    v,
                );
            }
        }
    }
    Value::Object(m)
}
