//! Bounded books: removed frameworks and agents free their slots (reused
//! lowest first, dropped at the end), and roles nothing refers to any more
//! are forgotten, so a long history leaves nothing behind that a cycle
//! would walk.

use std::time::Duration;

use super::hierarchy::Hierarchy;
use super::test_support::*;
use super::*;

fn ok(a: &Allocator) {
    if let Err(why) = a.check_invariants() {
        panic!("invariant broken: {why}");
    }
}

#[test]
fn a_framework_with_many_roles_leaves_no_role_behind() {
    let mut a = cluster(4);
    a.add_framework(fw("stay"), spec(&["eng/web"], false))
        .unwrap();
    let start = a.known_roles();
    let many: Vec<String> = (0..10_000).map(|i| format!("big/r{i:05}")).collect();
    let names: Vec<&str> = many.iter().map(String::as_str).collect();
    a.add_framework(fw("big"), spec(&names, false)).unwrap();
    assert_eq!(a.known_roles().len(), start.len() + 10_001);
    let allocs = a.allocate(Duration::ZERO);
    assert!(allocs.iter().any(|x| x.framework == fw("big")));
    ok(&a);
    a.remove_framework(&fw("big")).unwrap();
    ok(&a);
    assert_eq!(a.known_roles(), start);
    assert_eq!(a.roles.len(), start.len(), "the role table shrinks back");
}

#[test]
fn a_role_is_kept_while_anything_refers_to_it() {
    let mut a = cluster(2);
    let start = a.known_roles();
    // Held under a role the framework left: kept until recovered.
    a.add_framework(fw("f"), spec(&["ops/x"], false)).unwrap();
    let allocs = a.allocate(Duration::ZERO);
    a.update_framework(&fw("f"), spec(&["dev"], false)).unwrap();
    assert!(a.known_roles().contains(&role("ops/x")));
    for x in &allocs {
        a.recover(secs(1), &x.framework, &x.agent, &x.resources, None)
            .unwrap();
    }
    ok(&a);
    assert!(!a.known_roles().contains(&role("ops/x")));
    assert!(!a.known_roles().contains(&role("ops")));
    a.remove_framework(&fw("f")).unwrap();
    assert_eq!(a.known_roles(), start);
    // A weight, a quota, a request, a reservation each keep a role.
    a.set_weight(&role("w"), 2.0).unwrap();
    let q = Quota {
        guarantee: res("cpus:1"),
        limit: None,
    };
    a.set_quota(&role("q"), q).unwrap();
    a.request(&role("r/s"), &res("cpus:1")).unwrap();
    a.add_agent(agent("res"), res("cpus(v):1;mem:64")).unwrap();
    let kept = ["q", "r", "r/s", "v", "w"].map(role);
    assert_eq!(a.known_roles(), kept);
    ok(&a);
    a.set_weight(&role("w"), 1.0).unwrap();
    a.set_quota(&role("q"), Quota::default()).unwrap();
    a.request(&role("r/s"), &Resources::new()).unwrap();
    a.remove_agent(&agent("res")).unwrap();
    ok(&a);
    assert_eq!(a.known_roles(), start);
}

#[test]
fn a_reservation_of_non_scalars_only_keeps_its_role() {
    let mut a = cluster(1);
    a.add_agent(agent("p"), res("ports(v):[1-10];cpus:1"))
        .unwrap();
    assert_eq!(a.known_roles(), [role("v")]);
    a.add_framework(fw("f"), spec(&["v"], false)).unwrap();
    a.remove_framework(&fw("f")).unwrap();
    assert_eq!(a.known_roles(), [role("v")]);
    ok(&a);
}

#[test]
fn many_framework_and_agent_lifetimes_keep_the_slots_bounded() {
    let mut a = cluster(3);
    a.add_framework(fw("old"), spec(&["base"], false)).unwrap();
    let roles = a.known_roles();
    for i in 0..1_000 {
        let id = fw(&format!("f{i}"));
        a.add_framework(id.clone(), spec(&[&format!("t{i}")], false))
            .unwrap();
        let node = agent(&format!("n{i}"));
        a.add_agent(node.clone(), res("cpus:1;mem:128")).unwrap();
        let allocs = a.allocate(secs(i));
        assert!(!allocs.is_empty());
        a.remove_framework(&id).unwrap();
        a.remove_agent(&node).unwrap();
        if i % 100 == 0 {
            ok(&a);
        }
    }
    ok(&a);
    assert_eq!(a.frameworks.slot_count(), 1);
    assert_eq!(a.agents.slot_count(), 3);
    assert_eq!(a.known_roles(), roles);
    assert_eq!(a.roles.len(), roles.len());
}

#[test]
fn a_freed_framework_slot_is_reused_and_the_outcome_does_not_depend_on_it() {
    // Same frameworks, one history with a framework that came and went
    // (so slots differ): same allocations, in the same order.
    let run = |churn: bool| {
        let mut a = cluster(6);
        if churn {
            a.add_framework(fw("gone"), spec(&["z"], false)).unwrap();
        }
        a.add_framework(fw("b"), spec(&["x"], false)).unwrap();
        if churn {
            a.remove_framework(&fw("gone")).unwrap();
        }
        a.add_framework(fw("a"), spec(&["x"], false)).unwrap();
        a.add_framework(fw("c"), spec(&["y"], false)).unwrap();
        let allocs = a.allocate(Duration::ZERO);
        ok(&a);
        (allocs, a.frameworks.slot_count())
    };
    let (plain, n) = run(false);
    let (churned, m) = run(true);
    assert_eq!((n, m), (3, 3));
    assert_eq!(plain, churned);
}

#[test]
fn resource_names_nothing_uses_are_forgotten_and_their_index_reused() {
    let mut a = cluster(1);
    a.add_framework(fw("f"), spec(&["r"], false)).unwrap();
    // cpus and mem: the agents' and the minimum allocatable amounts'.
    let base = a.names.len();
    assert_eq!(base, 2);
    // Agents with ever new resource names, one at a time: the names stay
    // bounded, and an allocation names the agent's own resources, not a
    // forgotten name that had the same index.
    for i in 0..1_000 {
        let node = agent(&format!("n{i}"));
        let total = res(&format!("cpus:1;mem:64;kind{i}:3"));
        a.add_agent(node.clone(), total.clone()).unwrap();
        let allocs = a.allocate(secs(i));
        let here: Vec<_> = allocs.iter().filter(|x| x.agent == node).collect();
        assert_eq!(here.len(), 1);
        assert_eq!(here[0].resources, total.allocated_to(&role("r")));
        a.recover(secs(i), &fw("f"), &node, &here[0].resources, None)
            .unwrap();
        a.remove_agent(&node).unwrap();
        assert_eq!(a.names.len(), base, "after agent {i}");
        if i % 100 == 0 {
            ok(&a);
        }
    }
    // A quota or a request keeps a name no agent has, until cleared.
    let q = Quota {
        guarantee: res("quotaonly:2"),
        limit: None,
    };
    a.set_quota(&role("q"), q).unwrap();
    a.request(&role("s"), &res("asked:1")).unwrap();
    assert_eq!(a.names.len(), base + 2);
    ok(&a);
    a.add_agent(agent("x"), res("cpus:1;asked:4")).unwrap();
    a.request(&role("s"), &Resources::new()).unwrap();
    assert_eq!(a.names.len(), base + 2, "an agent still has `asked`");
    a.remove_agent(&agent("x")).unwrap();
    assert_eq!(a.names.len(), base + 1);
    a.set_quota(&role("q"), Quota::default()).unwrap();
    assert_eq!(a.names.len(), base);
    ok(&a);
    // The minimum allocatable names stay even with no agent left.
    a.remove_agent(&agent("a0")).unwrap();
    assert_eq!(a.names.len(), base);
    ok(&a);
}
