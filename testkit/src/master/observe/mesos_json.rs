//! The master's read-only endpoints in Mesos's JSON shapes (`/master/state`,
//! `/master/state-summary`, `/master/frameworks`, `/master/tasks`,
//! `/master/roles`), rendered from an [`Observation`]. Keys and nesting
//! follow Mesos 1.11's endpoints (agents are `slaves`, resources are
//! objects of scalars with `ports` as a range string); times are seconds
//! on the master's clock since it started (deterministic under a paused
//! clock). Ids and names come from the books and are emitted as JSON
//! strings (escaped by the serializer).

use std::collections::BTreeMap;

use corral::{Resources, TaskState, Value as ResourceValue};
use serde_json::{json, Map, Value};

use super::gather::Observation;
use crate::master::state::{FrameworkSnapshot, TaskSnapshot};

/// The Mesos release whose shapes these are (the door's `/version`
/// reports the same; a test checks they agree).
pub const MESOS_VERSION: &str = "1.11.0";

/// Every task state, with its Mesos name, in the order Mesos lists them
/// in framework and agent objects.
pub const TASK_STATES: [TaskState; 14] = [
    TaskState::Staging,
    TaskState::Starting,
    TaskState::Running,
    TaskState::Killing,
    TaskState::Finished,
    TaskState::Killed,
    TaskState::Failed,
    TaskState::Lost,
    TaskState::Error,
    TaskState::Dropped,
    TaskState::Unreachable,
    TaskState::Gone,
    TaskState::GoneByOperator,
    TaskState::Unknown,
];

/// A task state's Mesos name (`TASK_RUNNING`).
pub fn state_name(state: TaskState) -> &'static str {
    state.name()
}

/// Resources as Mesos shows them: `cpus`, `mem`, `disk`, `gpus` always,
/// other scalars by name, ranges as `"[a-b, c-d]"`, sets as `"{a, b}"`.
pub fn resources(r: &Resources) -> Value {
    let mut scalars: BTreeMap<String, f64> = ["cpus", "disk", "gpus", "mem"]
        .into_iter()
        .map(|n| (n.to_owned(), 0.0))
        .collect();
    let mut out = Map::new();
    for entry in r.iter() {
        match &entry.value {
            ResourceValue::Scalar(_) => {
                scalars.insert(entry.name.clone(), r.scalar(&entry.name));
            }
            ResourceValue::Ranges(_) => {
                let ranges: Vec<String> = r
                    .ranges(&entry.name)
                    .iter()
                    .map(|(b, e)| format!("{b}-{e}"))
                    .collect();
                out.insert(
                    entry.name.clone(),
                    Value::from(format!("[{}]", ranges.join(", "))),
                );
            }
            ResourceValue::Set(items) => {
                let items: Vec<&str> = items.iter().map(String::as_str).collect();
                out.insert(
                    entry.name.clone(),
                    Value::from(format!("{{{}}}", items.join(", "))),
                );
            }
        }
    }
    for (name, value) in scalars {
        out.insert(name, json!(value));
    }
    Value::Object(out)
}

fn task_counts(states: impl Iterator<Item = TaskState>, into: &mut Map<String, Value>) {
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    for s in states {
        *counts.entry(state_name(s)).or_default() += 1;
    }
    for s in TASK_STATES {
        let name = state_name(s);
        into.insert(
            name.to_owned(),
            json!(counts.get(name).copied().unwrap_or(0)),
        );
    }
}

fn task(obs: &Observation, t: &TaskSnapshot) -> Value {
    let facts = obs.tasks.get(&(t.framework.clone(), t.id.clone()));
    let launched = facts.map_or(0.0, |f| f.launched_at.as_secs_f64());
    let mut out = json!({
        "id": t.id.as_str(),
        "name": t.id.as_str(),
        "framework_id": t.framework.as_str(),
        "executor_id": facts.and_then(|f| f.executor.clone()).unwrap_or_default(),
        "slave_id": t.agent.as_str(),
        "state": state_name(t.state),
        "resources": resources(&t.resources),
        "role": t.role.as_str(),
        "statuses": [{
            "state": state_name(t.state),
            "timestamp": launched,
        }],
    });
    if let (Some(dir), Value::Object(map)) = (&t.sandbox, &mut out) {
        map.insert(
            "sandbox".into(),
            Value::from(dir.to_string_lossy().into_owned()),
        );
    }
    out
}

fn is_terminal(s: TaskState) -> bool {
    s.is_terminal()
}

fn framework(obs: &Observation, f: &FrameworkSnapshot, summary: bool) -> Value {
    let facts = obs.frameworks.get(&f.id);
    let mine: Vec<&TaskSnapshot> = obs
        .state
        .tasks
        .iter()
        .filter(|t| t.framework == f.id)
        .collect();
    let mut used = Resources::new();
    for t in mine.iter().filter(|t| !is_terminal(t.state)) {
        used += &t.resources;
    }
    let mut offered = Resources::new();
    for o in obs.state.offers_of(&f.id) {
        offered += &o.resources.unallocated();
    }
    let mut map = Map::new();
    map.insert("id".into(), json!(f.id.as_str()));
    map.insert("name".into(), json!(f.name));
    map.insert("used_resources".into(), resources(&used));
    map.insert("offered_resources".into(), resources(&offered));
    map.insert(
        "capabilities".into(),
        json!(facts.map(|x| x.capabilities.clone()).unwrap_or_default()),
    );
    map.insert("hostname".into(), json!(""));
    map.insert("webui_url".into(), json!(""));
    map.insert("active".into(), json!(f.active));
    task_counts(mine.iter().map(|t| t.state), &mut map);
    if summary {
        let mut agents: Vec<&str> = mine
            .iter()
            .filter(|t| !is_terminal(t.state))
            .map(|t| t.agent.as_str())
            .collect();
        agents.sort_unstable();
        agents.dedup();
        map.insert("slave_ids".into(), json!(agents));
        return Value::Object(map);
    }
    let mut allocated = used.clone();
    allocated += &offered;
    map.insert("connected".into(), json!(f.active));
    map.insert("recovered".into(), json!(false));
    map.insert(
        "roles".into(),
        json!(f.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>()),
    );
    map.insert(
        "suppressed_roles".into(),
        json!(f.suppressed.iter().map(|r| r.as_str()).collect::<Vec<_>>()),
    );
    map.insert(
        "user".into(),
        json!(facts.map(|x| x.user.clone()).unwrap_or_default()),
    );
    if let Some(p) = facts.and_then(|x| x.principal.clone()) {
        map.insert("principal".into(), json!(p));
    }
    map.insert(
        "failover_timeout".into(),
        json!(facts
            .and_then(|x| x.failover_timeout)
            .map_or(0.0, |d| d.as_secs_f64())),
    );
    map.insert(
        "checkpoint".into(),
        json!(facts.is_some_and(|x| x.checkpoint)),
    );
    map.insert("registered_time".into(), json!(0.0));
    map.insert("unregistered_time".into(), json!(0));
    map.insert("resources".into(), resources(&allocated));
    map.insert("allocated_resources".into(), resources(&allocated));
    map.insert(
        "tasks".into(),
        Value::Array(
            mine.iter()
                .filter(|t| !is_terminal(t.state) && t.state != TaskState::Unreachable)
                .map(|t| task(obs, t))
                .collect(),
        ),
    );
    map.insert(
        "unreachable_tasks".into(),
        Value::Array(
            mine.iter()
                .filter(|t| t.state == TaskState::Unreachable)
                .map(|t| task(obs, t))
                .collect(),
        ),
    );
    map.insert(
        "completed_tasks".into(),
        Value::Array(
            mine.iter()
                .filter(|t| is_terminal(t.state))
                .map(|t| task(obs, t))
                .collect(),
        ),
    );
    map.insert(
        "offers".into(),
        Value::Array(
            obs.state
                .offers_of(&f.id)
                .map(|o| {
                    json!({
                        "id": o.id.as_str(),
                        "framework_id": o.framework.as_str(),
                        "slave_id": o.agent.as_str(),
                        "resources": resources(&o.resources.unallocated()),
                        "allocation_info": {"role": o.role.as_str()},
                    })
                })
                .collect(),
        ),
    );
    map.insert("executors".into(), json!([]));
    Value::Object(map)
}

fn agent(obs: &Observation, index: usize, summary: bool) -> Value {
    let a = &obs.state.agents[index];
    let live: Vec<&TaskSnapshot> = obs.state.tasks.iter().filter(|t| t.agent == a.id).collect();
    let mut used = Resources::new();
    for t in live.iter().filter(|t| !is_terminal(t.state)) {
        used += &t.resources;
    }
    let mut offered = Resources::new();
    for o in obs.state.offers.iter().filter(|o| o.agent == a.id) {
        offered += &o.resources.unallocated();
    }
    let mut reserved = Map::new();
    let mut by_role: BTreeMap<String, Resources> = BTreeMap::new();
    for r in a.total.iter() {
        if let Some(role) = &r.reservation {
            by_role
                .entry(role.as_str().to_owned())
                .or_default()
                .push(r.clone());
        }
    }
    for (role, r) in &by_role {
        reserved.insert(role.clone(), resources(r));
    }
    let unreserved = a.total.filter(|r| r.reservation.is_none());
    let mut map = Map::new();
    map.insert("id".into(), json!(a.id.as_str()));
    map.insert(
        "pid".into(),
        json!(format!("slave({})@{}:5051", index + 1, a.hostname)),
    );
    map.insert("hostname".into(), json!(a.hostname));
    map.insert("registered_time".into(), json!(0.0));
    map.insert("resources".into(), resources(&a.total));
    map.insert("used_resources".into(), resources(&used));
    map.insert("offered_resources".into(), resources(&offered));
    map.insert("reserved_resources".into(), Value::Object(reserved));
    map.insert("unreserved_resources".into(), resources(&unreserved));
    map.insert("attributes".into(), json!({}));
    map.insert("active".into(), json!(!a.lost));
    map.insert("version".into(), json!(MESOS_VERSION));
    if summary {
        task_counts(live.iter().map(|t| t.state), &mut map);
        let mut fws: Vec<&str> = live
            .iter()
            .filter(|t| !is_terminal(t.state))
            .map(|t| t.framework.as_str())
            .collect();
        fws.sort_unstable();
        fws.dedup();
        map.insert("framework_ids".into(), json!(fws));
    } else {
        map.insert("port".into(), json!(5051));
        map.insert(
            "deactivated".into(),
            json!(obs.state.maintenance.contains_key(&a.id)),
        );
        map.insert("capabilities".into(), json!(["MULTI_ROLE"]));
    }
    Value::Object(map)
}

fn frameworks_and_completed(obs: &Observation) -> (Value, Value) {
    let frameworks = obs
        .state
        .frameworks
        .iter()
        .map(|f| framework(obs, f, false))
        .collect();
    let completed = obs
        .state
        .removed_frameworks
        .iter()
        .map(|id| json!({"id": id.as_str(), "active": false, "connected": false}))
        .collect();
    (Value::Array(frameworks), Value::Array(completed))
}

/// `/master/state`.
pub fn state(obs: &Observation) -> Value {
    let pid = format!("master@{}:{}", obs.master.hostname, obs.master.port);
    let (frameworks, completed) = frameworks_and_completed(obs);
    let active = obs.state.agents.iter().filter(|a| !a.lost).count();
    json!({
        "version": MESOS_VERSION,
        "build_date": "",
        "build_time": 0.0,
        "build_user": "",
        "start_time": 0.0,
        "elected_time": 0.0,
        "id": obs.master.id,
        "pid": pid,
        "hostname": obs.master.hostname,
        "capabilities": ["AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"],
        "activated_slaves": active,
        "deactivated_slaves": obs.state.maintenance.len(),
        "unreachable_slaves": obs.state.agents.len() - active,
        "leader": pid,
        "leader_info": {
            "id": obs.master.id,
            "pid": pid,
            "port": obs.master.port,
            "hostname": obs.master.hostname,
        },
        "flags": obs.flags,
        "slaves": (0..obs.state.agents.len()).map(|i| agent(obs, i, false)).collect::<Vec<_>>(),
        "recovered_slaves": [],
        "frameworks": frameworks,
        "completed_frameworks": completed,
        "orphan_tasks": [],
        "unregistered_frameworks": [],
    })
}

/// `/master/state-summary`.
pub fn state_summary(obs: &Observation) -> Value {
    json!({
        "hostname": obs.master.hostname,
        "cluster": "",
        "slaves": (0..obs.state.agents.len()).map(|i| agent(obs, i, true)).collect::<Vec<_>>(),
        "frameworks": obs.state.frameworks.iter().map(|f| framework(obs, f, true)).collect::<Vec<_>>(),
    })
}

/// `/master/frameworks`.
pub fn frameworks(obs: &Observation) -> Value {
    let (frameworks, completed) = frameworks_and_completed(obs);
    json!({
        "frameworks": frameworks,
        "completed_frameworks": completed,
        "unregistered_frameworks": [],
    })
}

/// The order of `/master/tasks`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Oldest launch first.
    Asc,
    /// Newest launch first (Mesos's default).
    Desc,
}

/// The query of `/master/tasks`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TasksQuery {
    /// At most this many (Mesos's default: 100).
    pub limit: usize,
    /// Skipping this many first.
    pub offset: usize,
    /// In this order.
    pub order: Order,
    /// Only this framework's.
    pub framework_id: Option<String>,
    /// Only this task.
    pub task_id: Option<String>,
}

impl Default for TasksQuery {
    fn default() -> Self {
        Self {
            limit: 100,
            offset: 0,
            order: Order::Desc,
            framework_id: None,
            task_id: None,
        }
    }
}

/// `/master/tasks`: every known task (live and completed), ordered by
/// launch time (then framework and task id), paged.
pub fn tasks(obs: &Observation, query: &TasksQuery) -> Value {
    let mut all: Vec<&TaskSnapshot> = obs
        .state
        .tasks
        .iter()
        .filter(|t| {
            query
                .framework_id
                .as_deref()
                .is_none_or(|f| t.framework.as_str() == f)
                && query
                    .task_id
                    .as_deref()
                    .is_none_or(|id| t.id.as_str() == id)
        })
        .collect();
    let launched = |t: &TaskSnapshot| {
        obs.tasks
            .get(&(t.framework.clone(), t.id.clone()))
            .map(|f| f.launched_at)
            .unwrap_or_default()
    };
    all.sort_by(|a, b| (launched(a), &a.framework, &a.id).cmp(&(launched(b), &b.framework, &b.id)));
    if query.order == Order::Desc {
        all.reverse();
    }
    let page: Vec<Value> = all
        .into_iter()
        .skip(query.offset)
        .take(query.limit)
        .map(|t| task(obs, t))
        .collect();
    json!({ "tasks": page })
}

/// `/master/roles`.
pub fn roles(obs: &Observation) -> Value {
    let roles: Vec<Value> = obs
        .roles
        .iter()
        .map(|r| {
            let mut offered = Resources::new();
            for o in obs.state.offers.iter().filter(|o| {
                o.role == r.role
                    || o.role
                        .as_str()
                        .starts_with(&format!("{}/", r.role.as_str()))
            }) {
                offered += &o.resources.unallocated();
            }
            let mut held = r.allocated.clone();
            held += &r.revocable;
            let mut role = json!({
                "name": r.role.as_str(),
                "weight": r.weight,
                "frameworks": r.frameworks.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
                "resources": resources(&held),
                "allocated": resources(&held),
                "offered": resources(&offered),
                "reserved": resources(&r.reserved),
            });
            if let (Some(q), Value::Object(map)) = (&r.quota, &mut role) {
                map.insert(
                    "quota".into(),
                    json!({
                        "role": r.role.as_str(),
                        "guarantee": resources(&q.guarantee),
                        "limit": q.limit.as_ref().map_or_else(|| json!({}), resources),
                        "consumed": resources(&r.allocated),
                    }),
                );
            }
            role
        })
        .collect();
    json!({ "roles": roles })
}
