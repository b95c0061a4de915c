//! Scenario tests of draining agents for maintenance (`deactivate_agent`,
//! `activate_agent`): nothing of an inactive agent is offered in any stage,
//! what is held there stays held and recoverable, its free resources do not
//! count toward guarantees, and reclaim never names it.

use super::test_support::*;
use super::*;

fn guarantee(cpus: f64) -> Quota {
    Quota {
        guarantee: Resources::new().with_cpus(cpus),
        limit: None,
    }
}

fn ok(a: &Allocator) {
    if let Err(why) = a.check_invariants() {
        panic!("invariant broken: {why}");
    }
}

#[test]
fn an_inactive_agent_is_offered_to_nobody_in_any_stage() {
    let mut a = Allocator::new(AllocatorConfig::default());
    a.add_agent(agent("a0"), res("cpus:4;mem:4096;cpus(db):2;mem(db):1024"))
        .unwrap();
    a.add_agent(agent("a1"), res("cpus:4;mem:4096")).unwrap();
    a.set_quota(&role("g"), guarantee(2.0)).unwrap();
    a.add_framework(fw("fg"), spec(&["g"], false)).unwrap();
    a.add_framework(fw("fo"), spec(&["o"], false)).unwrap();
    a.deactivate_agent(&agent("a0")).unwrap();
    assert!(!a.is_agent_active(&agent("a0")));
    assert!(a.is_agent_active(&agent("a1")));
    let allocs = a.allocate(secs(0));
    assert!(allocs.iter().all(|x| x.agent == agent("a1")), "{allocs:?}");
    // Guarantee stage and fair share ran on a1 alone.
    assert_eq!(a.allocated(&fw("fg")).cpus(), 2.0);
    assert_eq!(a.allocated(&fw("fo")).cpus(), 2.0);
    ok(&a);
    // a0's idle reservation is not lent either.
    a.add_framework(fw("borrower"), spec(&["batch"], true))
        .unwrap();
    for t in 1..3 {
        assert!(a.allocate(secs(t)).is_empty());
        ok(&a);
    }
    assert_eq!(a.available(&agent("a0")), a.total(&agent("a0")).cloned());

    a.activate_agent(&agent("a0")).unwrap();
    assert!(a.is_agent_active(&agent("a0")));
    let allocs = a.allocate(secs(3));
    assert!(allocs.iter().all(|x| x.agent == agent("a0")));
    // The idle reservation is lent; the unreserved part is shared.
    let lent: Vec<_> = allocs
        .iter()
        .filter(|x| x.resources.iter().all(|r| r.revocable))
        .collect();
    assert_eq!(lent.len(), 1);
    assert_eq!(
        lent[0].resources,
        res("cpus(db):2;mem(db):1024")
            .revocable()
            .allocated_to(&role("batch"))
    );
    assert!(a.available(&agent("a0")).unwrap().is_empty());
    ok(&a);
}

#[test]
fn holdings_on_an_inactive_agent_stay_until_recovered() {
    let mut a = cluster(2);
    a.add_framework(fw("f"), spec(&["r"], false)).unwrap();
    a.allocate(secs(0));
    let held = a.allocated_on(&agent("a0"), &fw("f"));
    let share = a.framework_share(&fw("f"), &role("r"));
    a.deactivate_agent(&agent("a0")).unwrap();
    // Draining takes nothing back and moves no share (the agent is still
    // in the cluster total).
    assert_eq!(a.allocated_on(&agent("a0"), &fw("f")), held);
    assert_eq!(a.framework_share(&fw("f"), &role("r")), share);
    ok(&a);
    a.recover(secs(0), &fw("f"), &agent("a0"), &held, None)
        .unwrap();
    assert_eq!(a.available(&agent("a0")), a.total(&agent("a0")).cloned());
    ok(&a);
    assert!(a.allocate(secs(1)).is_empty());
    // Reservations on an inactive agent keep the books right too.
    a.reserve(&agent("a0"), &role("r"), &res("cpus:1")).unwrap();
    ok(&a);
    assert!(a.allocate(secs(2)).is_empty());
    a.unreserve(&agent("a0"), &res("cpus(r):1")).unwrap();
    ok(&a);

    a.activate_agent(&agent("a0")).unwrap();
    let allocs = a.allocate(secs(3));
    assert_eq!(allocs.len(), 1);
    assert_eq!(allocs[0].agent, agent("a0"));
    assert_eq!(allocs[0].resources, held);
    // An inactive agent can be removed with what is held on it.
    a.deactivate_agent(&agent("a0")).unwrap();
    a.remove_agent(&agent("a0")).unwrap();
    assert!(!a.is_agent_active(&agent("a0")));
    ok(&a);
}

/// `o` would get the 4 free CPUs of `a1` if `a0`'s free CPUs counted toward
/// `g`'s guarantee; they do not, so `a1` is kept for `g`.
#[test]
fn free_resources_of_an_inactive_agent_do_not_count_toward_guarantees() {
    let mut a = cluster(2);
    a.set_quota(&role("g"), guarantee(4.0)).unwrap();
    a.add_framework(fw("fo"), spec(&["o"], false)).unwrap();
    a.deactivate_agent(&agent("a0")).unwrap();
    assert!(a.allocate(secs(0)).is_empty());
    ok(&a);
    a.add_framework(fw("fg"), spec(&["g"], false)).unwrap();
    let allocs = a.allocate(secs(1));
    assert_eq!(allocs.len(), 1);
    assert_eq!(allocs[0].framework, fw("fg"));
    assert_eq!(allocs[0].resources.cpus(), 4.0);
    a.activate_agent(&agent("a0")).unwrap();
    let allocs = a.allocate(secs(2));
    assert_eq!(allocs.len(), 1);
    assert_eq!(allocs[0].framework, fw("fo"));
    assert_eq!(allocs[0].agent, agent("a0"));
    ok(&a);
}

#[test]
fn reclaim_never_names_an_inactive_agent() {
    // Reservations: both lent, only the active agent's named.
    let mut a = Allocator::new(AllocatorConfig::default());
    for i in 0..2 {
        a.add_agent(agent(&format!("a{i}")), res("cpus(db):2;mem(db):1024"))
            .unwrap();
    }
    a.add_framework(fw("borrower"), spec(&["batch"], true))
        .unwrap();
    assert_eq!(a.allocate(secs(0)).len(), 2);
    a.add_framework(fw("db"), spec(&["db"], false)).unwrap();
    assert_eq!(a.reclaim_needed().len(), 2);
    a.deactivate_agent(&agent("a0")).unwrap();
    let reclaims = a.reclaim_needed();
    assert_eq!(reclaims.len(), 1);
    assert_eq!(reclaims[0].agent, agent("a1"));
    ok(&a);

    // Guarantees: g's idle headroom is lent on one agent; once g has
    // demand it is named, unless that agent is inactive.
    let mut a = cluster(2);
    a.set_quota(&role("g"), guarantee(4.0)).unwrap();
    a.add_framework(fw("borrower"), spec(&["batch"], true))
        .unwrap();
    let allocs = a.allocate(secs(0));
    let lent_on: Vec<&AgentId> = allocs
        .iter()
        .filter(|x| x.resources.iter().all(|r| r.revocable))
        .map(|x| &x.agent)
        .collect();
    assert_eq!(lent_on.len(), 1);
    let lent_on = lent_on[0].clone();
    a.add_framework(fw("fg"), spec(&["g"], false)).unwrap();
    let reclaims = a.reclaim_needed();
    assert_eq!(reclaims.len(), 1);
    assert_eq!(reclaims[0].agent, lent_on);
    assert_eq!(reclaims[0].resources.cpus(), 4.0);
    a.deactivate_agent(&lent_on).unwrap();
    assert!(a.reclaim_needed().is_empty());
    ok(&a);
}

#[test]
fn activation_is_idempotent_and_unknown_agents_are_refused() {
    let mut a = cluster(1);
    a.deactivate_agent(&agent("a0")).unwrap();
    let before = format!("{a:?}");
    a.deactivate_agent(&agent("a0")).unwrap();
    assert_eq!(format!("{a:?}"), before);
    ok(&a);
    a.activate_agent(&agent("a0")).unwrap();
    a.activate_agent(&agent("a0")).unwrap();
    assert!(a.is_agent_active(&agent("a0")));
    ok(&a);
    let before = format!("{a:?}");
    assert_eq!(
        a.deactivate_agent(&agent("x")),
        Err(AllocatorError::UnknownAgent(agent("x")))
    );
    assert_eq!(
        a.activate_agent(&agent("x")),
        Err(AllocatorError::UnknownAgent(agent("x")))
    );
    assert_eq!(format!("{a:?}"), before);
    assert!(!a.is_agent_active(&agent("x")));
}
