//! The master's invariants, checked by the testkit after every step: the
//! books of the allocator, the offer book and the task table agree, so no
//! resource is offered to two frameworks at once and no agent is
//! over-committed; offers go only to connected frameworks and reachable
//! agents not down for maintenance; no task mixes regular and revocable
//! resources, and revocation notices name only revocable tasks.

use std::collections::BTreeMap;

use corral::{AgentId, FrameworkId, Resources};

use super::books::offers::OfferRecord;
use super::books::revocations::not_mixed;
use super::books::revocations::pool_form;
use super::core::{MasterCore, Touched};

/// Revocation notices name only live revocable tasks of their framework
/// on their agent (regular tasks are never revoked).
fn check_notices(core: &MasterCore) -> Result<(), String> {
    for notice in core.revocations.iter() {
        for id in &notice.tasks {
            let Some(task) = core.tasks.get(&notice.framework, id) else {
                continue;
            };
            if task.agent != notice.agent {
                return Err(format!(
                    "notice {} names task {id} on {}, not on {}",
                    notice.id, task.agent, notice.agent
                ));
            }
            if !task.resources.iter().all(|e| e.revocable) {
                return Err(format!(
                    "notice {} names task {id}, which holds regular resources {}",
                    notice.id, task.resources
                ));
            }
        }
    }
    Ok(())
}

/// Checks every invariant; the first one broken, described.
pub(in crate::master) fn check_invariants(core: &MasterCore) -> Result<(), String> {
    core.allocator
        .check_invariants()
        .map_err(|e| format!("allocator: {e}"))?;
    // What the master believes each framework holds on each agent:
    // its outstanding offers, its live tasks and their executors.
    let mut held: BTreeMap<(AgentId, FrameworkId), Resources> = BTreeMap::new();
    for offer in core.offers.iter() {
        check_offer(core, offer)?;
        *held
            .entry((offer.agent.clone(), offer.framework.clone()))
            .or_default() += &offer.resources;
    }
    check_notices(core)?;
    core.tasks.check()?;
    for task in core.tasks.live() {
        not_mixed(&task.resources, &format!("task {}", task.id))?;
        if !core.agents.contains(&task.agent) {
            return Err(format!(
                "task {} runs on unknown agent {}",
                task.id, task.agent
            ));
        }
        if core.agents.is_lost(&task.agent) {
            continue;
        }
        *held
            .entry((task.agent.clone(), task.framework.clone()))
            .or_default() += &task.resources;
    }
    for ((fw, agent, executor), usage) in core.tasks.executors() {
        if usage.live_tasks == 0 {
            return Err(format!(
                "executor {executor} of {fw} on {agent} has no live task but is kept"
            ));
        }
        if core.agents.is_lost(agent) {
            continue;
        }
        *held.entry((agent.clone(), fw.clone())).or_default() += &usage.resources;
    }
    for spec in core.agents.specs() {
        let agent = &spec.id;
        if core.agents.is_lost(agent) {
            if core.allocator.total(agent).is_some() {
                return Err(format!("lost agent {agent} is still in the allocator"));
            }
            continue;
        }
        let mut books = Resources::new();
        for fw in core.frameworks.ids() {
            let master = held
                .remove(&(agent.clone(), fw.clone()))
                .unwrap_or_default();
            let allocator = core.allocator.allocated_on(agent, fw);
            if master != allocator {
                return Err(format!(
                    "on agent {agent}, {fw} holds {master} by the master's books \
                     (offers + tasks + executors) but {allocator} by the allocator's"
                ));
            }
            // Lent resources come out of the same pools.
            books += &pool_form(&master);
        }
        if !spec.resources.unallocated().contains(&books) {
            return Err(format!(
                "agent {agent} is over-committed: {books} in use of {}",
                spec.resources
            ));
        }
    }
    if let Some(((agent, fw), resources)) = held.into_iter().next() {
        return Err(format!(
            "{fw} holds {resources} on agent {agent} but is not a known framework"
        ));
    }
    Ok(())
}

/// Checks the invariants that `touched` can have broken, at the cost
/// of what changed: every outstanding offer's addressee and agent (a
/// few per agent), the notices, and for each touched agent its books
/// against the allocator's and its capacity. The allocator's own
/// invariants and the tasks book's are checked when an allocation cycle
/// ran; everything when `touched.all`.
pub(in crate::master) fn check_touched(core: &MasterCore, touched: &Touched) -> Result<(), String> {
    if touched.all {
        return check_invariants(core);
    }
    if touched.cycle {
        core.allocator
            .check_invariants()
            .map_err(|e| format!("allocator: {e}"))?;
        core.tasks.check()?;
    }
    check_offers(core)?;
    check_notices(core)?;
    for agent in &touched.agents {
        check_agent_books(core, agent)?;
    }
    Ok(())
}

/// Offers go only to connected frameworks, for reachable agents not
/// down for maintenance.
fn check_offers(core: &MasterCore) -> Result<(), String> {
    for offer in core.offers.iter() {
        check_offer(core, offer)?;
    }
    Ok(())
}

fn check_offer(core: &MasterCore, offer: &OfferRecord) -> Result<(), String> {
    let connected = core
        .frameworks
        .get(&offer.framework)
        .is_some_and(|r| r.stream().is_some());
    if !connected {
        return Err(format!(
            "offer {} is outstanding for {}, which is not connected",
            offer.id, offer.framework
        ));
    }
    if core.agents.is_lost(&offer.agent) {
        return Err(format!(
            "offer {} is for lost agent {}",
            offer.id, offer.agent
        ));
    }
    if core.agents.is_down(&offer.agent) {
        return Err(format!(
            "offer {} is for agent {}, which is down for maintenance",
            offer.id, offer.agent
        ));
    }
    Ok(())
}

/// One agent: what each framework holds there by the master's books
/// (offers, live tasks, executors) is what the allocator says, and the
/// agent is not over-committed.
fn check_agent_books(core: &MasterCore, agent: &AgentId) -> Result<(), String> {
    let Some(spec) = core.agents.spec(agent) else {
        // Gone agents hold nothing: their tasks are checked below.
        return match core.tasks.live_on(agent).next() {
            Some(task) => Err(format!("task {} runs on unknown agent {agent}", task.id)),
            None => Ok(()),
        };
    };
    let lost = core.agents.is_lost(agent);
    let mut held: BTreeMap<FrameworkId, Resources> = BTreeMap::new();
    for id in core.offers.on_agent(agent) {
        if let Some(offer) = core.offers.get(&id) {
            *held.entry(offer.framework.clone()).or_default() += &offer.resources;
        }
    }
    for task in core.tasks.live_on(agent) {
        not_mixed(&task.resources, &format!("task {}", task.id))?;
        if !lost {
            *held.entry(task.framework.clone()).or_default() += &task.resources;
        }
    }
    for ((fw, _, executor), usage) in core.tasks.executors_on(agent) {
        if usage.live_tasks == 0 {
            return Err(format!(
                "executor {executor} of {fw} on {agent} has no live task but is kept"
            ));
        }
        if !lost {
            *held.entry(fw.clone()).or_default() += &usage.resources;
        }
    }
    if lost {
        if core.allocator.total(agent).is_some() {
            return Err(format!("lost agent {agent} is still in the allocator"));
        }
        return Ok(());
    }
    let mut books = Resources::new();
    for fw in core.frameworks.ids() {
        let master = held.remove(fw).unwrap_or_default();
        let allocator = core.allocator.allocated_on(agent, fw);
        if master != allocator {
            return Err(format!(
                "on agent {agent}, {fw} holds {master} by the master's books \
                 (offers + tasks + executors) but {allocator} by the allocator's"
            ));
        }
        books += &pool_form(&master);
    }
    if !spec.resources.unallocated().contains(&books) {
        return Err(format!(
            "agent {agent} is over-committed: {books} in use of {}",
            spec.resources
        ));
    }
    if let Some((fw, resources)) = held.into_iter().next() {
        return Err(format!(
            "{fw} holds {resources} on agent {agent} but is not a known framework"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use corral::{FrameworkInfo, Resources};
    use corral_proto::convert::*;
    use corral_proto::pb;

    use crate::master::{MasterConfig, MasterCore};

    fn subscribed_core() -> MasterCore {
        let config = MasterConfig::default()
            .agents(1, Resources::parse("cpus:4;mem:4096").unwrap())
            .seed(3);
        let mut core = MasterCore::new(config).unwrap();
        let call = pb::Call {
            r#type: Some(pb::call::Type::Subscribe as i32),
            subscribe: Some(pb::call::Subscribe {
                framework_info: FrameworkInfo::new("inv").to_pb(),
                ..Default::default()
            }),
            ..Default::default()
        };
        core.subscribe(Duration::ZERO, call).unwrap();
        core
    }

    #[test]
    fn consistent_books_pass() {
        let core = subscribed_core();
        assert_eq!(core.offers.iter().count(), 1);
        core.check_invariants().unwrap();
    }

    #[test]
    fn an_offer_the_allocator_forgot_is_caught() {
        let mut core = subscribed_core();
        let offer = core.offers.iter().next().unwrap().clone();
        // The allocator takes the resources back, but the offer stays out:
        // the same resources could now be offered twice.
        core.allocator
            .recover(
                Duration::ZERO,
                &offer.framework,
                &offer.agent,
                &offer.resources,
                None,
            )
            .unwrap();
        let err = core.check_invariants().unwrap_err();
        assert!(err.contains("by the allocator's"), "{err}");
    }

    #[test]
    fn an_allocator_refusal_is_kept_for_the_harness() {
        let mut core = subscribed_core();
        let agent = core.agents.ids().next().unwrap().clone();
        // The allocator forgets the agent behind the master's back: losing
        // it then asks the allocator to remove what it no longer has.
        core.allocator.remove_agent(&agent).unwrap();
        core.lose_agent(Duration::ZERO, &agent).unwrap();
        let broken = core.take_broken();
        // Rescinding its offer recovers onto the missing agent, then the
        // agent's removal is refused.
        let what: Vec<_> = broken.iter().map(|b| b.what).collect();
        assert_eq!(what, ["recover", "remove_agent"], "{broken:?}");
        assert!(
            broken
                .iter()
                .all(|b| std::error::Error::source(b).is_some()),
            "keeps its source"
        );
        assert!(core.take_broken().is_empty(), "taken once");
    }

    #[test]
    fn the_incremental_check_looks_at_what_changed() {
        let mut core = subscribed_core();
        let offer = core.offers.iter().next().unwrap().clone();
        let touched = core.take_touched();
        assert!(touched.all, "a new core is checked whole once");
        assert!(core.take_touched().agents.is_empty(), "taken once");
        core.allocator
            .recover(
                Duration::ZERO,
                &offer.framework,
                &offer.agent,
                &offer.resources,
                None,
            )
            .unwrap();
        // Behind the books' back: nothing recorded the change.
        assert_eq!(core.take_touched(), crate::master::Touched::default());
        let agent = crate::master::Touched {
            agents: [offer.agent.clone()].into(),
            ..Default::default()
        };
        let err = core.check_touched(&agent).unwrap_err();
        assert!(err.contains("by the allocator's"), "{err}");
        // A change through the books is recorded.
        core.withdraw_offers(Duration::ZERO, &offer.framework);
        assert!(core.take_touched().agents.contains(&offer.agent));
    }
}
