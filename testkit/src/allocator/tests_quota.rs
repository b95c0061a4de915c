//! Scenario tests of quota (guarantees, limits, validation) and of
//! reserve/unreserve.

use std::time::Duration;

use super::test_support::*;
use super::*;

fn spec(roles: &[&str]) -> FrameworkSpec {
    FrameworkSpec {
        roles: roles.iter().map(|r| role(r)).collect(),
        ..FrameworkSpec::default()
    }
}

fn cluster(n: usize) -> Allocator {
    let mut a = Allocator::new(AllocatorConfig::default());
    for i in 0..n {
        a.add_agent(AgentId::new(format!("a{i}")), res("cpus:4;mem:4096"))
            .expect("add agent");
    }
    a
}

fn guarantee(text: &str) -> Quota {
    Quota {
        guarantee: res(text),
        limit: None,
    }
}

fn limit(text: &str) -> Quota {
    Quota {
        guarantee: Resources::new(),
        limit: Some(res(text)),
    }
}

fn ok(a: &Allocator) {
    if let Err(why) = a.check_invariants() {
        panic!("invariant broken: {why}");
    }
}

#[test]
fn quota_limit_holds_on_an_idle_cluster() {
    let mut a = cluster(4);
    a.set_quota(&role("r"), limit("cpus:6")).unwrap();
    a.add_framework(fw("f"), spec(&["r"])).unwrap();
    let allocs = a.allocate(Duration::ZERO);
    // One whole agent, and a proportional slice (2 of 4 CPUs, half the
    // memory) of another.
    assert_eq!(a.allocated(&fw("f")).cpus(), 6.0);
    assert_eq!(a.allocated(&fw("f")).mem(), 4096.0 + 2048.0);
    assert_eq!(allocs.len(), 2);
    for t in 1..5 {
        assert!(a.allocate(Duration::from_secs(t)).is_empty());
    }
    assert_eq!(a.allocated(&fw("f")).cpus(), 6.0);
    ok(&a);
}

#[test]
fn a_guarantee_is_met_even_when_another_role_asked_first() {
    let mut a = cluster(4);
    a.set_quota(&role("b"), guarantee("cpus:8")).unwrap();
    a.add_framework(fw("early"), spec(&["a"])).unwrap();
    // Alone on the cluster, `a` still gets only what b's guarantee leaves.
    a.allocate(Duration::ZERO);
    assert_eq!(a.allocated(&fw("early")).cpus(), 8.0);
    assert!(a.allocate(Duration::from_secs(1)).is_empty());
    a.add_framework(fw("late"), spec(&["b"])).unwrap();
    let allocs = a.allocate(Duration::from_secs(2));
    assert!(allocs.iter().all(|x| x.role == role("b")));
    assert_eq!(a.allocated(&fw("late")).cpus(), 8.0);
    ok(&a);
}

#[test]
fn guarantees_come_before_fair_sharing() {
    let mut a = cluster(4);
    a.set_weight(&role("big"), 100.0).unwrap();
    a.set_quota(&role("small"), guarantee("cpus:8")).unwrap();
    a.add_framework(fw("big"), spec(&["big"])).unwrap();
    a.add_framework(fw("small"), spec(&["small"])).unwrap();
    a.allocate(Duration::ZERO);
    assert_eq!(a.allocated(&fw("small")).cpus(), 8.0);
    assert_eq!(a.allocated(&fw("big")).cpus(), 8.0);
    ok(&a);
}

#[test]
fn reservations_count_toward_the_guarantee() {
    // 8 CPUs guaranteed, 4 of them reserved: only 4 unreserved are kept
    // back as headroom.
    let mut a = cluster(3);
    a.add_agent(AgentId::new("r"), res("cpus(g):4;mem(g):4096"))
        .unwrap();
    a.set_quota(&role("g"), guarantee("cpus:8")).unwrap();
    a.add_framework(fw("other"), spec(&["o"])).unwrap();
    a.allocate(Duration::ZERO);
    assert_eq!(a.allocated(&fw("other")).cpus(), 8.0);
    ok(&a);
}

#[test]
fn invalid_quota_is_a_typed_error_and_changes_nothing() {
    let mut a = cluster(1);
    a.set_quota(
        &role("eng"),
        Quota {
            guarantee: res("cpus:10"),
            limit: Some(res("cpus:20")),
        },
    )
    .unwrap();
    a.set_quota(&role("eng/web"), guarantee("cpus:6")).unwrap();
    let before = format!("{a:?}");
    let refused = [
        (role("*"), guarantee("cpus:1")),
        (role("x"), guarantee("ports:[1-2]")),
        (role("x"), guarantee("cpus(x):1")),
        (
            role("x"),
            Quota {
                guarantee: res("cpus:3"),
                limit: Some(res("cpus:2")),
            },
        ),
        // 6 + 5 > 10 under eng.
        (role("eng/batch"), guarantee("cpus:5")),
        // Above eng's limit.
        (role("eng/batch"), limit("cpus:21")),
        // eng's guarantee below its child's.
        (role("eng"), guarantee("cpus:5")),
        // eng's limit below its child's guarantee.
        (
            role("eng"),
            Quota {
                guarantee: res("cpus:10"),
                limit: Some(res("cpus:4;mem:1")),
            },
        ),
    ];
    for (r, q) in refused {
        let err = a.set_quota(&r, q.clone());
        assert!(
            matches!(err, Err(AllocatorError::InvalidQuota { .. })),
            "{r} {q:?} gave {err:?}"
        );
        assert_eq!(format!("{a:?}"), before);
    }
    assert!(matches!(
        a.set_quota(&role("a//b"), guarantee("cpus:1")),
        Err(AllocatorError::InvalidRole { .. })
    ));
    // Clearing eng would move eng/web's 6 up to the top: fine.
    a.set_quota(&role("eng"), Quota::default()).unwrap();
    assert_eq!(a.quota(&role("eng")), None);
    ok(&a);
}

#[test]
fn reserve_and_unreserve_move_resources_between_pools() {
    let mut a = cluster(1);
    let agent = AgentId::new("a0");
    a.reserve(&agent, &role("eng"), &res("cpus:3;mem:1024"))
        .unwrap();
    assert_eq!(
        a.total(&agent).cloned().unwrap(),
        res("cpus:1;mem:3072;cpus(eng):3;mem(eng):1024")
    );
    // Reserved for eng: its child gets them, a stranger does not.
    a.add_framework(fw("stranger"), spec(&["ops"])).unwrap();
    let allocs = a.allocate(Duration::ZERO);
    assert_eq!(
        allocs[0].resources,
        res("cpus:1;mem:3072").allocated_to(&role("ops"))
    );
    a.add_framework(fw("web"), spec(&["eng/web"])).unwrap();
    let allocs = a.allocate(Duration::from_secs(1));
    assert_eq!(
        allocs[0].resources,
        res("cpus(eng):3;mem(eng):1024").allocated_to(&role("eng/web"))
    );
    // Allocated: cannot be unreserved now.
    let before = format!("{a:?}");
    assert!(matches!(
        a.unreserve(&agent, &res("cpus(eng):1")),
        Err(AllocatorError::NotAvailable { .. })
    ));
    assert!(matches!(
        a.reserve(&agent, &role("eng"), &res("cpus:1")),
        Err(AllocatorError::NotAvailable { .. })
    ));
    assert_eq!(format!("{a:?}"), before);
    a.recover(
        Duration::from_secs(1),
        &fw("web"),
        &agent,
        &allocs[0].resources,
        None,
    )
    .unwrap();
    a.unreserve(&agent, &res("cpus(eng):3;mem(eng):1024"))
        .unwrap();
    assert_eq!(a.total(&agent).cloned().unwrap(), res("cpus:4;mem:4096"));
    ok(&a);
}

#[test]
fn unreserving_several_roles_at_once_moves_each_part_once() {
    let mut a = Allocator::new(AllocatorConfig::default());
    let agent = AgentId::new("a0");
    a.add_agent(agent.clone(), res("cpus:4;mem(b):512"))
        .unwrap();
    a.reserve(&agent, &role("b"), &res("cpus:1")).unwrap();
    a.reserve(&agent, &role("c"), &res("cpus:1")).unwrap();
    // Entries sort by name first, so b appears twice, apart.
    a.unreserve(&agent, &res("cpus(b):1;cpus(c):1;mem(b):512"))
        .unwrap();
    assert_eq!(a.total(&agent).cloned().unwrap(), res("cpus:4;mem:512"));
    assert_eq!(a.available(&agent).unwrap(), res("cpus:4;mem:512"));
    ok(&a);
}

fn quota(guarantee: &str, limit: Option<&str>) -> Quota {
    Quota {
        guarantee: res(guarantee),
        limit: limit.map(res),
    }
}

fn refused(a: &mut Allocator, r: &str, q: Quota, why: &str) {
    let before = format!("{a:?}");
    match a.set_quota(&role(r), q.clone()) {
        Err(AllocatorError::InvalidQuota { why: got, .. }) => {
            assert!(
                got.contains(why),
                "{r} {q:?}: refused for {got:?}, not {why:?}"
            )
        }
        other => panic!("{r} {q:?} gave {other:?}"),
    }
    assert_eq!(format!("{a:?}"), before, "a refusal changed the state");
}

#[test]
fn a_guarantee_equal_to_its_limit_is_accepted() {
    let mut a = cluster(1);
    a.set_quota(&role("r"), quota("cpus:2;mem:512", Some("cpus:2;mem:512")))
        .unwrap();
    assert_eq!(
        a.quota(&role("r")),
        Some(&quota("cpus:2;mem:512", Some("cpus:2;mem:512")))
    );
    refused(
        &mut a,
        "s",
        quota("cpus:2.001", Some("cpus:2")),
        "guarantee of cpus exceeds its limit",
    );
    ok(&a);
}

#[test]
fn a_child_limit_equal_to_its_ancestors_is_accepted() {
    let mut a = cluster(1);
    a.set_quota(&role("eng"), limit("cpus:20")).unwrap();
    // Two levels down: every quota'd ancestor's limit is checked.
    a.set_quota(&role("eng/web/api"), limit("cpus:20")).unwrap();
    // eng/web between them: both its ancestor's and its descendant's
    // limits equal its own.
    a.set_quota(&role("eng/web"), limit("cpus:20")).unwrap();
    refused(
        &mut a,
        "eng/batch",
        limit("cpus:20.001"),
        "above the limit of ancestor eng",
    );
    ok(&a);
}

#[test]
fn children_guarantees_summing_exactly_to_the_parents_are_accepted() {
    // Parent first: the last child brings the sum exactly to the parent's
    // guarantee (the nearest quota'd ancestor's rule).
    let mut a = cluster(1);
    a.set_quota(&role("eng"), guarantee("cpus:10;mem:1000"))
        .unwrap();
    a.set_quota(&role("eng/web"), guarantee("cpus:6;mem:400"))
        .unwrap();
    a.set_quota(&role("eng/batch"), guarantee("cpus:4;mem:600"))
        .unwrap();
    refused(
        &mut a,
        "eng/ml",
        guarantee("mem:0.001"),
        "the guarantees under eng would need more mem",
    );
    ok(&a);

    // Children first: the parent's guarantee exactly covers them (the
    // rule on the role's own quota'd descendants).
    let mut b = cluster(1);
    b.set_quota(&role("eng/web"), guarantee("cpus:6")).unwrap();
    b.set_quota(&role("eng/batch/nightly"), guarantee("cpus:4"))
        .unwrap();
    b.set_quota(&role("eng"), guarantee("cpus:10")).unwrap();
    refused(
        &mut b,
        "eng",
        guarantee("cpus:9.999"),
        "the guarantees of its quota'd descendants need more cpus",
    );
    ok(&b);
}

#[test]
fn a_limit_on_a_role_with_quotad_children_is_checked_against_them() {
    let mut a = cluster(1);
    a.set_quota(&role("eng/web"), guarantee("cpus:6")).unwrap();
    a.set_quota(&role("eng/batch"), quota("cpus:2", Some("cpus:10")))
        .unwrap();
    // eng's own guarantee covers its children and is within its limit, so
    // the descendants' limits alone decide.
    refused(
        &mut a,
        "eng",
        quota("cpus:8", Some("cpus:9.999")),
        "descendant eng/batch has more cpus than this limit",
    );
    // Exactly the largest descendant limit is fine.
    a.set_quota(&role("eng"), quota("cpus:8", Some("cpus:10")))
        .unwrap();
    assert_eq!(
        a.quota(&role("eng")),
        Some(&quota("cpus:8", Some("cpus:10")))
    );
    ok(&a);
}
