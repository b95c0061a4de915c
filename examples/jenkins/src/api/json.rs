//! Jenkins's JSON shapes, from our views. Only the fields scripts read
//! are filled; each object carries its `_class` as Jenkins names it.

use serde_json::{json, Value};

use crate::queue::{Build, BuildResult, BuildState};
use crate::view::{BuildView, Snapshot};

const JOB_CLASS: &str = "hudson.model.FreeStyleProject";
const BUILD_CLASS: &str = "hudson.model.FreeStyleBuild";

fn result_name(result: BuildResult) -> &'static str {
    match result {
        BuildResult::Success => "SUCCESS",
        BuildResult::Failure => "FAILURE",
        BuildResult::Aborted => "ABORTED",
    }
}

fn job_url(base: &str, job: &str) -> String {
    format!("{base}job/{job}/")
}

fn build_url(base: &str, job: &str, number: u64) -> String {
    format!("{base}job/{job}/{number}/")
}

/// Jenkins's ball colour: the last completed build's result, `_anime`
/// while one runs, `notbuilt` before any.
fn color(builds: &[&BuildView]) -> String {
    let running = builds.iter().any(|b| b.building);
    let last = builds.iter().rev().find_map(|b| b.result);
    let base = match last {
        Some(BuildResult::Success) => "blue",
        Some(BuildResult::Failure) => "red",
        Some(BuildResult::Aborted) => "aborted",
        None => "notbuilt",
    };
    if running {
        format!("{base}_anime")
    } else {
        base.to_owned()
    }
}

fn builds_of<'a>(snap: &'a Snapshot, job: &str) -> Vec<&'a BuildView> {
    let mut builds: Vec<&BuildView> = snap.builds.iter().filter(|b| b.id.job == job).collect();
    builds.sort_by_key(|b| b.id.number);
    builds
}

fn task(snap: &Snapshot, job: &str, base: &str) -> Value {
    json!({
        "_class": JOB_CLASS,
        "name": job,
        "url": job_url(base, job),
        "color": color(&builds_of(snap, job)),
    })
}

/// A build in a list: Jenkins's `number` and `url`, with `result` and
/// `building` (what `tree=builds[number,url,result,building]` asks).
fn build_ref(base: &str, b: &BuildView) -> Value {
    json!({
        "_class": BUILD_CLASS,
        "number": b.id.number,
        "url": build_url(base, &b.id.job, b.id.number),
        "result": b.result.map(result_name),
        "building": b.building,
    })
}

/// `GET /api/json`.
pub fn root(snap: &Snapshot, base: &str) -> Value {
    json!({
        "_class": "hudson.model.Hudson",
        "mode": "NORMAL",
        "nodeDescription": "corral jenkins: agents from resource offers",
        "nodeName": "",
        "numExecutors": 0,
        "useSecurity": false,
        "url": base,
        "jobs": snap.jobs.iter().map(|j| task(snap, &j.name, base)).collect::<Vec<_>>(),
    })
}

/// `GET /job/NAME/api/json`.
pub fn job(snap: &Snapshot, name: &str, base: &str) -> Option<Value> {
    let spec = snap.jobs.iter().find(|j| j.name == name)?;
    let builds = builds_of(snap, name);
    let last = |keep: &dyn Fn(&BuildView) -> bool| -> Value {
        builds
            .iter()
            .rev()
            .find(|b| keep(b))
            .map_or(Value::Null, |b| build_ref(base, b))
    };
    let queued = builds.iter().find(|b| b.queued);
    let parameters: Vec<Value> = spec
        .parameters
        .iter()
        .map(|p| {
            json!({
                "_class": "hudson.model.StringParameterDefinition",
                "name": p.name,
                "type": "StringParameterDefinition",
                "defaultParameterValue": { "_class": "hudson.model.StringParameterValue", "name": p.name, "value": p.default },
            })
        })
        .collect();
    let property = if parameters.is_empty() {
        vec![]
    } else {
        vec![
            json!({ "_class": "hudson.model.ParametersDefinitionProperty", "parameterDefinitions": parameters }),
        ]
    };
    Some(json!({
        "_class": JOB_CLASS,
        "name": name,
        "displayName": name,
        "fullName": name,
        "url": job_url(base, name),
        "buildable": true,
        "color": color(&builds),
        "builds": builds.iter().rev().filter(|b| !b.queued).map(|b| build_ref(base, b)).collect::<Vec<_>>(),
        "inQueue": queued.is_some(),
        "queueItem": queued.map_or(Value::Null, |b| json!({ "_class": "hudson.model.Queue$BuildableItem", "id": b.queue_id })),
        "lastBuild": last(&|b| !b.queued),
        "lastCompletedBuild": last(&|b| b.result.is_some()),
        "lastSuccessfulBuild": last(&|b| b.result == Some(BuildResult::Success)),
        "lastFailedBuild": last(&|b| b.result == Some(BuildResult::Failure)),
        "nextBuildNumber": spec.next_number,
        "property": property,
    }))
}

/// `GET /job/NAME/N/api/json`.
pub fn build(b: &Build, base: &str) -> Value {
    let (result, building) = match b.state {
        BuildState::Done(r) => (Value::from(result_name(r)), false),
        BuildState::Running { .. } => (Value::Null, true),
        BuildState::Queued => (Value::Null, false),
    };
    let duration = match b.state {
        BuildState::Done(_) => u64::try_from(b.duration.as_millis()).unwrap_or(u64::MAX),
        _ => 0,
    };
    let parameters: Vec<Value> = b
        .params
        .iter()
        .map(|(name, value)| json!({ "_class": "hudson.model.StringParameterValue", "name": name, "value": value }))
        .collect();
    json!({
        "_class": BUILD_CLASS,
        "actions": [ { "_class": "hudson.model.ParametersAction", "parameters": parameters } ],
        "building": building,
        "description": null,
        "displayName": format!("#{}", b.id.number),
        "duration": duration,
        "estimatedDuration": -1,
        "fullDisplayName": format!("{} #{}", b.id.job, b.id.number),
        "id": b.id.number.to_string(),
        "number": b.id.number,
        "queueId": b.queue_id,
        "result": result,
        "timestamp": b.started_epoch_ms,
        "url": build_url(base, &b.id.job, b.id.number),
        "builtOn": b.agents.last().cloned().unwrap_or_default(),
    })
}

fn waiting_item(snap: &Snapshot, q: &crate::view::QueueView, base: &str) -> Value {
    json!({
        "_class": "hudson.model.Queue$BuildableItem",
        "blocked": false,
        "buildable": true,
        "id": q.queue_id,
        "inQueueSince": q.since_epoch_ms,
        "params": "",
        "stuck": false,
        "task": task(snap, &q.build.job, base),
        "url": format!("queue/item/{}/", q.queue_id),
        "why": format!("Waiting for next available executor on \u{2018}{}\u{2019}", q.label),
    })
}

/// `GET /queue/api/json`.
pub fn queue(snap: &Snapshot, base: &str) -> Value {
    json!({
        "_class": "hudson.model.Queue",
        "discoverableItems": [],
        "items": snap.queue.iter().map(|q| waiting_item(snap, q, base)).collect::<Vec<_>>(),
    })
}

/// `GET /queue/item/ID/api/json`: waiting, or left (with its build, or
/// cancelled).
pub fn queue_item(snap: &Snapshot, id: u64, base: &str) -> Option<Value> {
    if let Some(q) = snap.queue.iter().find(|q| q.queue_id == id) {
        return Some(waiting_item(snap, q, base));
    }
    let b = snap.builds.iter().find(|b| b.queue_id == id)?;
    let started = b.started_epoch_ms > 0;
    Some(json!({
        "_class": "hudson.model.Queue$LeftItem",
        "blocked": false,
        "buildable": false,
        "cancelled": !started,
        "executable": if started { build_ref(base, b) } else { Value::Null },
        "id": id,
        "inQueueSince": b.queued_epoch_ms,
        "params": "",
        "stuck": false,
        "task": task(snap, &b.id.job, base),
        "url": format!("queue/item/{id}/"),
        "why": null,
    }))
}

/// `GET /computer/api/json`: one executor per agent, with the build it
/// runs (Jenkins shows executors at `depth=1`; they are always here).
pub fn computer(snap: &Snapshot, base: &str) -> Value {
    let busy = snap.agents.iter().filter(|a| a.build.is_some()).count();
    json!({
        "_class": "hudson.model.ComputerSet",
        "busyExecutors": busy,
        "displayName": "Nodes",
        "totalExecutors": snap.agents.len(),
        "computer": snap.agents.iter().map(|a| json!({
            "_class": "hudson.slaves.SlaveComputer",
            "displayName": a.name,
            "assignedLabels": [ { "name": a.label } ],
            "idle": a.build.is_none(),
            "numExecutors": 1,
            "offline": a.launching,
            "temporarilyOffline": false,
            "executors": [ {
                "_class": "hudson.model.Executor",
                "idle": a.build.is_none(),
                "currentExecutable": a.build.as_ref().map_or(Value::Null, |b| json!({
                    "_class": BUILD_CLASS,
                    "number": b.number,
                    "url": build_url(base, &b.job, b.number),
                    "fullDisplayName": format!("{} #{}", b.job, b.number),
                    "job": b.job,
                })),
            } ],
        })).collect::<Vec<_>>(),
    })
}
