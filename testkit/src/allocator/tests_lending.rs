//! Scenario tests of lending idle guaranteed and reserved resources as
//! revocable resources, demand, and reclaim.

use super::test_support::*;
use super::*;

fn ok(a: &Allocator) {
    if let Err(why) = a.check_invariants() {
        panic!("invariant broken: {why}");
    }
}

/// The tenants' example at allocator level: T1 and T2 each guaranteed 8
/// CPUs on a 16-CPU cluster (4 agents of 4). T1 uses 4, T2 wants 12: T2
/// gets 8 regular plus T1's idle 4 lent as revocable, the cluster is fully
/// used; when T1 asks for 8, reclaim names exactly T2's 4 revocable CPUs,
/// and once they are recovered T1 gets them in the next cycle.
#[test]
fn tenants_share_and_reclaim() {
    let mut a = Allocator::new(AllocatorConfig::default());
    for i in 0..4 {
        a.add_agent(agent(&format!("a{i}")), res("cpus:4;mem:4096"))
            .unwrap();
    }
    for t in ["t1", "t2"] {
        a.set_quota(
            &role(t),
            Quota {
                guarantee: res("cpus:8"),
                limit: None,
            },
        )
        .unwrap();
        a.add_framework(fw(t), spec(&[t], true)).unwrap();
    }
    // Cycle 1: each gets its guarantee (two whole agents).
    let first = a.allocate(secs(0));
    assert_eq!(a.allocated(&fw("t1")).cpus(), 8.0);
    assert_eq!(a.allocated(&fw("t2")).cpus(), 8.0);
    assert!(first
        .iter()
        .all(|x| x.resources.only_revocable().is_empty()));
    // T1 needs 4: it keeps one agent, gives the other back and suppresses.
    let t1_spare = first
        .iter()
        .find(|x| x.framework == fw("t1"))
        .unwrap()
        .clone();
    a.recover(
        secs(0),
        &fw("t1"),
        &t1_spare.agent,
        &t1_spare.resources,
        None,
    )
    .unwrap();
    a.suppress(&fw("t1"), &[]).unwrap();
    // Cycle 2: T1's idle guaranteed 4 CPUs are lent to T2, revocable, in
    // an allocation of their own.
    let lent = a.allocate(secs(1));
    assert_eq!(lent.len(), 1);
    assert_eq!(lent[0].framework, fw("t2"));
    assert_eq!(lent[0].agent, t1_spare.agent);
    assert_eq!(
        lent[0].resources,
        res("cpus:4;mem:4096").revocable().allocated_to(&role("t2"))
    );
    assert_eq!(a.allocated(&fw("t2")).non_revocable().cpus(), 8.0);
    assert_eq!(a.allocated_revocable(&fw("t2")).cpus(), 4.0);
    for i in 0..4 {
        assert!(a.available(&agent(&format!("a{i}"))).unwrap().is_empty());
    }
    assert!(a.reclaim_needed().is_empty(), "T1 has no demand yet");
    ok(&a);
    // T1 asks for 8 in total.
    a.request(&role("t1"), &res("cpus:8")).unwrap();
    assert_eq!(
        a.reclaim_needed(),
        vec![Reclaim {
            owner: role("t1"),
            agent: t1_spare.agent.clone(),
            resources: res("cpus:4").revocable(),
        }]
    );
    // While T1 wants them, nothing idle is lent again.
    assert!(a.allocate(secs(2)).is_empty());
    // The master revokes T2's borrowed tasks; the resources come back.
    a.recover(
        secs(2),
        &fw("t2"),
        &t1_spare.agent,
        &lent[0].resources,
        None,
    )
    .unwrap();
    a.revive(&fw("t1"), &[]).unwrap();
    let back = a.allocate(secs(3));
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].framework, fw("t1"));
    assert_eq!(
        back[0].resources,
        res("cpus:4;mem:4096").allocated_to(&role("t1"))
    );
    assert!(a.reclaim_needed().is_empty());
    // T2's regular 8 were never touched.
    assert_eq!(a.allocated(&fw("t2")), {
        let mut held = Resources::new();
        for x in first.iter().filter(|x| x.framework == fw("t2")) {
            held += &x.resources;
        }
        held
    });
    ok(&a);
}

#[test]
fn idle_reservations_are_lent_only_to_revocable_frameworks_of_other_roles() {
    let mut a = Allocator::new(AllocatorConfig::default());
    a.add_agent(agent("a0"), res("cpus:2;mem:1024;cpus(db):2;mem(db):1024"))
        .unwrap();
    a.add_framework(fw("plain"), spec(&["web"], false)).unwrap();
    let allocs = a.allocate(secs(0));
    assert_eq!(allocs.len(), 1);
    assert_eq!(
        allocs[0].resources,
        res("cpus:2;mem:1024").allocated_to(&role("web"))
    );
    // A revocable-capable framework gets the idle reservation, revocable,
    // still marked with the reservation it was lent from.
    a.add_framework(fw("borrower"), spec(&["batch"], true))
        .unwrap();
    let allocs = a.allocate(secs(1));
    assert_eq!(allocs.len(), 1);
    assert_eq!(allocs[0].framework, fw("borrower"));
    assert_eq!(
        allocs[0].resources,
        res("cpus(db):2;mem(db):1024")
            .revocable()
            .allocated_to(&role("batch"))
    );
    assert!(a.reclaim_needed().is_empty());
    // The owner shows up: the whole lent reservation must come back.
    a.add_framework(fw("db"), spec(&["db"], false)).unwrap();
    assert_eq!(
        a.reclaim_needed(),
        vec![Reclaim {
            owner: role("db"),
            agent: agent("a0"),
            resources: res("cpus(db):2").revocable() + &res("mem(db):1024").revocable(),
        }]
    );
    // Recovering lent resources is exact: they return to the reservation.
    a.recover(
        secs(2),
        &fw("borrower"),
        &agent("a0"),
        &allocs[0].resources,
        None,
    )
    .unwrap();
    ok(&a);
    let allocs = a.allocate(secs(3));
    assert_eq!(allocs.len(), 1);
    assert_eq!(allocs[0].framework, fw("db"));
    assert_eq!(
        allocs[0].resources,
        res("cpus(db):2;mem(db):1024").allocated_to(&role("db"))
    );
    ok(&a);
}

#[test]
fn a_role_with_demand_lends_nothing() {
    let mut a = Allocator::new(AllocatorConfig::default());
    a.add_agent(agent("a0"), res("cpus(db):2;mem(db):1024"))
        .unwrap();
    a.add_framework(fw("db"), spec(&["db"], false)).unwrap();
    a.add_framework(fw("borrower"), spec(&["batch"], true))
        .unwrap();
    let allocs = a.allocate(secs(0));
    // The owner declines with a filter, but is still unsuppressed: demand.
    a.recover(
        secs(0),
        &fw("db"),
        &agent("a0"),
        &allocs[0].resources,
        Some(secs(10)),
    )
    .unwrap();
    assert!(a.allocate(secs(1)).is_empty());
    // Suppressed: no demand, so the reservation is lent.
    a.suppress(&fw("db"), &[]).unwrap();
    let allocs = a.allocate(secs(2));
    assert_eq!(allocs.len(), 1);
    assert_eq!(allocs[0].framework, fw("borrower"));
    ok(&a);
}

#[test]
fn declining_lent_resources_filters_only_lent_offers() {
    let mut a = Allocator::new(AllocatorConfig::default());
    a.add_agent(agent("a0"), res("cpus(db):2;mem(db):1024"))
        .unwrap();
    a.add_framework(fw("borrower"), spec(&["batch"], true))
        .unwrap();
    let allocs = a.allocate(secs(0));
    a.recover(
        secs(0),
        &fw("borrower"),
        &agent("a0"),
        &allocs[0].resources,
        Some(secs(5)),
    )
    .unwrap();
    assert!(a.allocate(secs(1)).is_empty());
    assert_eq!(a.allocate(secs(5)).len(), 1);
    ok(&a);
}
