//! "Why not offered": for one framework and role, the allocator's own
//! answer ([`Allocator::why_not`](crate::allocator::Allocator::why_not):
//! suppressed, role at its limit, and per agent filtered until T, below
//! the minimum allocatable, held, drained) with what only the master
//! knows added: which agents are in maintenance, and who holds a held
//! agent (their roles and weighted shares, against the asking role's).

use std::collections::BTreeMap;
use std::time::Duration;

use corral::{FrameworkId, Role};
use serde_json::{json, Value};

use crate::allocator::why::{AgentVerdict, WhyNot};
use crate::master::core::MasterCore;

/// The answer, as `/master/why-not-offered` serves it.
pub fn why_not_offered(core: &MasterCore, fw: &FrameworkId, role: &Role, now: Duration) -> Value {
    let share = core.allocator.role_share(role);
    let base = |cause: &str, text: &str| {
        json!({
            "framework_id": fw.as_str(),
            "role": role.as_str(),
            "role_share": share,
            "cause": cause,
            "explanation": text,
            "agents": [],
        })
    };
    let agents = match core.allocator.why_not(fw, role, now) {
        WhyNot::UnknownFramework => {
            return base(
                "unknown_framework",
                "the allocator does not know this framework",
            )
        }
        WhyNot::NotItsRole => {
            return base(
                "not_its_role",
                "the framework is not subscribed with this role",
            )
        }
        WhyNot::Inactive => {
            return base(
                "inactive",
                "the framework is disconnected: nothing is offered to it",
            )
        }
        WhyNot::Suppressed => {
            return base(
                "suppressed",
                "the framework suppressed this role (REVIVE lifts it)",
            )
        }
        WhyNot::RoleAtLimit => {
            return base(
                "role_at_limit",
                "the role (or an ancestor) holds its quota limit of some resource",
            )
        }
        WhyNot::Agents(agents) => agents,
    };
    // Who else holds what on each agent: offers and live tasks of other
    // frameworks, by role.
    let mut holders: BTreeMap<&str, BTreeMap<String, f64>> = BTreeMap::new();
    for o in core.offers.iter().filter(|o| &o.framework != fw) {
        holders.entry(o.agent.as_str()).or_default().insert(
            o.role.as_str().to_owned(),
            core.allocator.role_share(&o.role),
        );
    }
    for t in core.tasks.live().filter(|t| &t.framework != fw) {
        holders.entry(t.agent.as_str()).or_default().insert(
            t.role.as_str().to_owned(),
            core.allocator.role_share(&t.role),
        );
    }
    let maintenance = core.agents.all_maintenance();
    let mut causes: Vec<&str> = Vec::new();
    let rows: Vec<Value> = agents
        .iter()
        .map(|(agent, verdict)| {
            let maintenance = maintenance.contains_key(agent);
            let (cause, extra) = match verdict {
                AgentVerdict::WouldOffer => ("would_offer", json!({})),
                AgentVerdict::Inactive if maintenance => ("agent_in_maintenance", json!({})),
                AgentVerdict::Inactive => ("agent_inactive", json!({})),
                AgentVerdict::Filtered { until } => {
                    ("filtered", json!({ "until": until.as_secs_f64() }))
                }
                AgentVerdict::BelowMinAllocatable => ("below_min_allocatable", json!({})),
                AgentVerdict::Held => {
                    let by = holders.get(agent.as_str()).cloned().unwrap_or_default();
                    let smaller = !by.is_empty() && by.values().all(|s| *s <= share);
                    (
                        if smaller {
                            "held_by_smaller_shares"
                        } else {
                            "held"
                        },
                        json!({ "held_by": by }),
                    )
                }
            };
            causes.push(cause);
            let mut row = json!({ "agent": agent.as_str(), "cause": cause });
            if let (Value::Object(row), Value::Object(extra)) = (&mut row, extra) {
                row.extend(extra);
            }
            row
        })
        .collect();
    causes.sort_unstable();
    causes.dedup();
    let (cause, text) = match causes.as_slice() {
        [] => ("no_agents", "there are no agents"),
        [one] => match *one {
            "would_offer" => ("would_offer", "the next cycle offers it something"),
            "agent_in_maintenance" => ("agent_in_maintenance", "every agent is in maintenance"),
            "agent_inactive" => ("agent_inactive", "every agent is out of the allocator"),
            "filtered" => ("filtered", "declined offers' filters hold every agent back"),
            "below_min_allocatable" => (
                "below_min_allocatable",
                "nothing left on any agent holds a minimum allocatable quantity",
            ),
            "held_by_smaller_shares" => (
                "held_by_smaller_shares",
                "every agent is held by roles whose share is not above this role's",
            ),
            _ => ("held", "every agent's resources are held"),
        },
        _ if causes.contains(&"would_offer") => ("would_offer", "some agent can be offered"),
        _ => ("mixed", "each agent has its own cause: see agents"),
    };
    let mut out = base(cause, text);
    out["agents"] = Value::Array(rows);
    out
}
