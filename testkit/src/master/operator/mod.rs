//! The operator API of the master: changing role weights, quota and
//! dynamic reservations while it runs, and reading what each role and
//! agent has. The [`MasterCore`] methods here are pure like the rest of the
//! core (they take `now`); the gRPC service (`corral.v1.Operator`, served
//! by [`MockMaster`](crate::MockMaster)), its typed client
//! ([`OperatorClient`]), the
//! standalone binary and the test harness's [`Cluster`](crate::Cluster)
//! all go through them.
//!
//! Every refusal is a typed [`OperatorError`], logged, and changes nothing.
//! After a change the master runs an allocation at once, so a new weight,
//! quota or reservation shows in the very next offers.
//!
//! # Reservations and outstanding offers
//! [`MasterCore::reserve`] and [`MasterCore::unreserve`] act on
//! *unallocated* resources. Resources that sit in an outstanding offer are
//! freed first, as the Mesos operator RESERVE does: the master rescinds
//! offers on that agent (oldest first, only offers holding resources of the
//! kind asked for) until the request fits, then applies it. Resources used
//! by tasks are never taken: when the request would not fit even with every
//! offer on the agent rescinded, it is refused with
//! [`OperatorError::NotAvailable`] and no offer is rescinded.

mod client;
mod error;
pub mod pb;
mod service;
pub(super) mod views;

#[cfg(test)]
mod tests;

use std::time::Duration;

use corral::{AgentId, OfferId, Resource, Resources, Role};
use tracing::{info, warn};

use super::books::revocations::pool_form;
use super::core::MasterCore;
use crate::allocator::Quota;

pub use self::client::{OperatorClient, OperatorClientError};
pub use self::error::{OperatorError, OperatorErrorKind};
pub(super) use self::service::OperatorService;
pub use self::views::{AgentResources, RoleInfo};
use crate::master::processes::allocation;

/// A quota in the resources text form: `cpus:4;mem:1024` or
/// `cpus:4 (limit cpus:8)`.
pub(crate) fn describe_quota(quota: &Quota) -> String {
    match &quota.limit {
        Some(limit) => format!("{} (limit {limit})", quota.guarantee),
        None => quota.guarantee.to_string(),
    }
}

fn logged<T>(op: &'static str, result: Result<T, OperatorError>) -> Result<T, OperatorError> {
    if let Err(err) = &result {
        warn!(op, %err, "operator request refused");
    }
    result
}

fn check_role(role: &Role) -> Result<(), OperatorError> {
    role.validate().map_err(|err| OperatorError::InvalidRole {
        role: role.clone(),
        why: err.why.to_owned(),
    })
}

/// Every entry is unallocated and not revocable, there is at least one,
/// and `wrong` finds nothing amiss in any.
fn check_form(
    resources: &Resources,
    what: &'static str,
    wrong: impl Fn(&Resource) -> Option<String>,
) -> Result<(), OperatorError> {
    let bad = |why: String| OperatorError::InvalidResources { what, why };
    if resources.is_empty() {
        return Err(bad("no resources given".to_owned()));
    }
    for r in resources.iter() {
        if let Some(role) = &r.allocation {
            return Err(bad(format!("{} is allocated to {role}", r.name)));
        }
        if r.revocable {
            return Err(bad(format!("{} is revocable", r.name)));
        }
        if let Some(why) = wrong(r) {
            return Err(bad(why));
        }
    }
    Ok(())
}

/// Some entry of `a` has the name and reservation of some entry of `b`.
fn overlaps(a: &Resources, b: &Resources) -> bool {
    a.iter().any(|x| {
        b.iter()
            .any(|y| x.name == y.name && x.reservation == y.reservation)
    })
}

/// Sets `role`'s weight (default 1.0; any valid role path, `*`
/// included). An allocation runs at once.
pub(in crate::master) fn set_weight(
    core: &mut MasterCore,
    now: Duration,
    role: &Role,
    weight: f64,
) -> Result<(), OperatorError> {
    logged("set_weight", try_set_weight(core, now, role, weight))
}

/// Sets `role`'s quota (guarantee and optional limit; see
/// [`Allocator::set_quota`](crate::allocator::Allocator::set_quota) for the rules). An empty quota
/// (`Quota::default()`) clears it. An allocation runs at once; lowering
/// a limit takes nothing back, it only stops further allocations.
pub(in crate::master) fn set_quota(
    core: &mut MasterCore,
    now: Duration,
    role: &Role,
    quota: Quota,
) -> Result<(), OperatorError> {
    logged("set_quota", try_set_quota(core, now, role, quota))
}

/// Clears `role`'s quota; refused with [`OperatorError::NoQuota`] when
/// it has none, and with [`OperatorError::InvalidQuota`] when the
/// quota'd roles below it would then break a rule of an ancestor's
/// quota. An allocation runs at once.
pub(in crate::master) fn remove_quota(
    core: &mut MasterCore,
    now: Duration,
    role: &Role,
) -> Result<(), OperatorError> {
    logged("remove_quota", try_remove_quota(core, now, role))
}

/// Reserves `resources` (unreserved, unallocated, not revocable) of
/// `agent` for `role`: from then on they are offered only to `role` and
/// its descendants. Offers on the agent are rescinded as needed (see the
/// [module docs](self)). An allocation runs at once.
pub(in crate::master) fn reserve(
    core: &mut MasterCore,
    now: Duration,
    agent: &AgentId,
    role: &Role,
    resources: &Resources,
) -> Result<(), OperatorError> {
    logged("reserve", try_reserve(core, now, agent, role, resources))
}

/// Gives reserved `resources` of `agent` back to every role (each
/// entry names the role it is reserved for, `cpus(eng):2`; they must be
/// unallocated and not revocable). Offers on the agent are rescinded as
/// needed (see the [module docs](self)). An allocation runs at once.
pub(in crate::master) fn unreserve(
    core: &mut MasterCore,
    now: Duration,
    agent: &AgentId,
    resources: &Resources,
) -> Result<(), OperatorError> {
    logged("unreserve", try_unreserve(core, now, agent, resources))
}

fn try_set_weight(
    core: &mut MasterCore,
    now: Duration,
    role: &Role,
    weight: f64,
) -> Result<(), OperatorError> {
    check_role(role)?;
    if !(weight.is_finite() && weight > 0.0) {
        return Err(OperatorError::InvalidWeight {
            role: role.clone(),
            weight,
        });
    }
    core.allocator.set_weight(role, weight)?;
    info!(%role, weight, "operator: weight set");
    allocation::allocate_now(core, now);
    Ok(())
}

fn try_set_quota(
    core: &mut MasterCore,
    now: Duration,
    role: &Role,
    quota: Quota,
) -> Result<(), OperatorError> {
    check_role(role)?;
    if role.as_str() == "*" {
        return Err(OperatorError::DefaultRole("have quota"));
    }
    let text = describe_quota(&quota);
    let clearing = quota == Quota::default();
    core.allocator.set_quota(role, quota)?;
    if clearing {
        info!(%role, "operator: quota cleared");
    } else {
        info!(%role, quota = %text, "operator: quota set");
    }
    allocation::allocate_now(core, now);
    Ok(())
}

fn try_remove_quota(
    core: &mut MasterCore,
    now: Duration,
    role: &Role,
) -> Result<(), OperatorError> {
    check_role(role)?;
    if core.allocator.quota(role).is_none() {
        return Err(OperatorError::NoQuota(role.clone()));
    }
    core.allocator.set_quota(role, Quota::default())?;
    info!(%role, "operator: quota removed");
    allocation::allocate_now(core, now);
    Ok(())
}

fn try_reserve(
    core: &mut MasterCore,
    now: Duration,
    agent: &AgentId,
    role: &Role,
    resources: &Resources,
) -> Result<(), OperatorError> {
    const WHAT: &str = "reserve";
    check_agent(core, agent)?;
    check_role(role)?;
    if role.as_str() == "*" {
        return Err(OperatorError::DefaultRole("have resources reserved for it"));
    }
    check_form(resources, WHAT, |r| {
        r.reservation
            .as_ref()
            .map(|by| format!("{} is already reserved for {by}", r.name))
    })?;
    make_room(core, now, agent, resources, WHAT)?;
    core.allocator.reserve(agent, role, resources)?;
    sync_agent(core, agent);
    info!(%agent, %role, %resources, "operator: resources reserved");
    allocation::allocate_now(core, now);
    Ok(())
}

fn try_unreserve(
    core: &mut MasterCore,
    now: Duration,
    agent: &AgentId,
    resources: &Resources,
) -> Result<(), OperatorError> {
    const WHAT: &str = "unreserve";
    check_agent(core, agent)?;
    check_form(resources, WHAT, |r| {
        r.reservation.is_none().then(|| {
            format!(
                "{} is not reserved (write it as {}(ROLE):...)",
                r.name, r.name
            )
        })
    })?;
    make_room(core, now, agent, resources, WHAT)?;
    core.allocator.unreserve(agent, resources)?;
    sync_agent(core, agent);
    info!(%agent, %resources, "operator: resources unreserved");
    allocation::allocate_now(core, now);
    Ok(())
}

/// The agent is known and reachable.
fn check_agent(core: &MasterCore, agent: &AgentId) -> Result<(), OperatorError> {
    if !core.agents.contains(agent) {
        return Err(OperatorError::UnknownAgent(agent.clone()));
    }
    if core.agents.is_lost(agent) {
        return Err(OperatorError::AgentLost(agent.clone()));
    }
    Ok(())
}

/// Makes `needed` (unallocated form) available on `agent` by rescinding
/// outstanding offers there, oldest first, only those holding resources
/// of the same name and reservation. Rescinds nothing and returns
/// [`OperatorError::NotAvailable`] when even every such offer would not
/// be enough.
fn make_room(
    core: &mut MasterCore,
    now: Duration,
    agent: &AgentId,
    needed: &Resources,
    what: &'static str,
) -> Result<(), OperatorError> {
    let mut free = core.allocator.available(agent).unwrap_or_default();
    let mut chosen: Vec<OfferId> = Vec::new();
    for offer in core.offers.iter().filter(|o| &o.agent == agent) {
        if free.contains(needed) {
            break;
        }
        let back = pool_form(&offer.resources);
        if overlaps(&back, needed) {
            free += &back;
            chosen.push(offer.id.clone());
        }
    }
    if !free.contains(needed) {
        return Err(OperatorError::NotAvailable {
            agent: agent.clone(),
            resources: needed.clone(),
            what,
        });
    }
    for offer in chosen {
        info!(%offer, %agent, what, "operator: rescinding an offer to free its resources");
        core.rescind(now, &offer);
    }
    Ok(())
}

/// Copies the allocator's total of `agent` (which a reservation changed)
/// into the master's agent record, which snapshots, invariants and a
/// returning agent read.
pub(in crate::master) fn sync_agent(core: &mut MasterCore, agent: &AgentId) {
    let total = core.allocator.total(agent).cloned();
    let synced = total.map(|total| core.agents.set_total(agent, total));
    match synced {
        Some(Ok(())) => {}
        _ => {
            tracing::error!(%agent, "agent vanished during an operator request (books disagree)")
        }
    }
}
