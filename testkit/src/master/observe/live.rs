//! The live page's view: one compact JSON object per update, rendered
//! from an [`Observation`]: the role tree (share against weight,
//! guarantee and limit), agents with their tasks (revocable apart),
//! frameworks with their tasks and states, and the recent timeline.

use serde_json::{json, Value};

use super::gather::Observation;
use super::mesos_json::{resources, state_name};
use super::telemetry::TimelineKind;

/// How many timeline entries the page gets (newest first).
pub const TIMELINE_SHOWN: usize = 50;

fn parent(role: &str) -> Option<&str> {
    role.rsplit_once('/').map(|(p, _)| p)
}

/// The live view.
pub fn view(obs: &Observation) -> Value {
    let roles: Vec<Value> = obs
        .roles
        .iter()
        .map(|r| {
            json!({
                "name": r.role.as_str(),
                "parent": parent(r.role.as_str()),
                "weight": r.weight,
                "share": r.share,
                "allocated": resources(&r.allocated),
                "borrowed": resources(&r.revocable),
                "lent": obs.lent.get(&r.role).map(resources),
                "guarantee": r.quota.as_ref().map(|q| resources(&q.guarantee)),
                "limit": r.quota.as_ref().and_then(|q| q.limit.as_ref()).map(resources),
                "frameworks": r.frameworks.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let agents: Vec<Value> = obs
        .state
        .agents
        .iter()
        .map(|a| {
            let tasks: Vec<Value> = obs
                .state
                .tasks
                .iter()
                .filter(|t| t.agent == a.id && !t.state.is_terminal())
                .map(|t| {
                    json!({
                        "framework": t.framework.as_str(),
                        "id": t.id.as_str(),
                        "state": state_name(t.state),
                        "role": t.role.as_str(),
                        "revocable": !t.resources.only_revocable().is_empty(),
                        "resources": resources(&t.resources),
                    })
                })
                .collect();
            json!({
                "id": a.id.as_str(),
                "hostname": a.hostname,
                "lost": a.lost,
                "maintenance": obs.state.maintenance.contains_key(&a.id),
                "total": resources(&a.total),
                "allocated": resources(&a.allocated),
                "tasks": tasks,
            })
        })
        .collect();
    let frameworks: Vec<Value> = obs
        .state
        .frameworks
        .iter()
        .map(|f| {
            json!({
                "id": f.id.as_str(),
                "name": f.name,
                "active": f.active,
                "roles": f.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                "suppressed": f.suppressed.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                "pending_updates": f.pending_updates,
                "tasks": obs.state.tasks.iter().filter(|t| t.framework == f.id).map(|t| json!({
                    "id": t.id.as_str(),
                    "state": state_name(t.state),
                    "agent": t.agent.as_str(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let timeline: Vec<Value> = obs
        .timeline
        .iter()
        .rev()
        .take(TIMELINE_SHOWN)
        .map(|e| {
            let (kind, detail) = match &e.kind {
                TimelineKind::Offer { offer, agent } => {
                    ("offer", format!("{} on {}", offer.as_str(), agent.as_str()))
                }
                TimelineKind::Decline { offer } => ("decline", offer.as_str().to_owned()),
                TimelineKind::Rescind { offer } => ("rescind", offer.as_str().to_owned()),
                TimelineKind::Revocation { notice, agent } => (
                    "revocation",
                    format!("{} on {}", notice.as_str(), agent.as_str()),
                ),
                TimelineKind::Kill { task } => ("kill", task.as_str().to_owned()),
            };
            json!({
                "at": e.at.as_secs_f64(),
                "framework": e.framework.as_str(),
                "role": e.role,
                "kind": kind,
                "detail": detail,
            })
        })
        .collect();
    json!({
        "now": obs.now.as_secs_f64(),
        "master": obs.master.id,
        "roles": roles,
        "agents": agents,
        "frameworks": frameworks,
        "timeline": timeline,
    })
}
