//! Scenario tests of hierarchical roles: DRF level by level with weights
//! at every level, quota inside the tree, and frameworks on a role that
//! also has child roles.

use std::collections::BTreeMap;
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
        a.add_agent(AgentId::new(format!("a{i:02}")), res("cpus:4;mem:4096"))
            .expect("add agent");
    }
    a
}

/// CPUs allocated per role.
fn cpus_by_role(allocs: &[Allocation]) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for x in allocs {
        *out.entry(x.role.as_str().to_owned()).or_insert(0.0) += x.resources.cpus();
    }
    out
}

fn ok(a: &Allocator) {
    if let Err(why) = a.check_invariants() {
        panic!("invariant broken: {why}");
    }
}

/// 20 agents of 4 CPUs (80 CPUs). Tree:
/// `eng` (weight 3) with `eng/web` (weight 1, guaranteed 32 CPUs) and
/// `eng/batch` (weight 2) with `eng/batch/spark` and `eng/batch/flink`;
/// `ops` (weight 1, limited to 8 CPUs).
///
/// By hand: the guarantee stage gives `eng/web` its 32 CPUs (8 agents).
/// Fair sharing of the 12 agents left: `ops` (share 0) is below `eng`
/// (32/80 / 3 = 0.133) for its first two agents, then hits its 8 CPU
/// limit; the other 10 go to `eng`. Inside `eng`, `eng/batch` (0/2) stays
/// below `eng/web` (0.4/1) for all 10 (10·4/80 / 2 = 0.25), split evenly
/// between spark and flink. Final: web 32, spark 20, flink 20, ops 8.
#[test]
fn three_level_tree_with_weights_and_quota_gives_shares_computed_by_hand() {
    let mut a = cluster(20);
    a.set_weight(&role("eng"), 3.0).unwrap();
    a.set_weight(&role("eng/batch"), 2.0).unwrap();
    a.set_quota(
        &role("eng/web"),
        Quota {
            guarantee: res("cpus:32"),
            limit: None,
        },
    )
    .unwrap();
    a.set_quota(
        &role("ops"),
        Quota {
            guarantee: Resources::new(),
            limit: Some(res("cpus:8")),
        },
    )
    .unwrap();
    for (fw, r) in [
        ("web", "eng/web"),
        ("spark", "eng/batch/spark"),
        ("flink", "eng/batch/flink"),
        ("ops", "ops"),
    ] {
        a.add_framework(FrameworkId::new(fw), spec(&[r])).unwrap();
    }
    let allocs = a.allocate(Duration::ZERO);
    assert_eq!(
        cpus_by_role(&allocs),
        BTreeMap::from([
            ("eng/batch/flink".into(), 20.0),
            ("eng/batch/spark".into(), 20.0),
            ("eng/web".into(), 32.0),
            ("ops".into(), 8.0),
        ])
    );
    assert_eq!(a.role_share(&role("eng")), 72.0 / 80.0 / 3.0);
    assert_eq!(a.role_share(&role("eng/batch")), 40.0 / 80.0 / 2.0);
    assert_eq!(a.role_share(&role("eng/web")), 0.4);
    assert_eq!(a.role_share(&role("ops")), 0.1);
    // Everything is out; the next cycle has nothing to give.
    assert!(a.allocate(Duration::from_secs(1)).is_empty());
    ok(&a);
}

#[test]
fn weights_apply_at_each_level() {
    // eng (weight 1) vs ops (weight 1): 4 agents each; inside eng, web
    // weight 3 vs batch weight 1: 3 and 1.
    let mut a = cluster(8);
    a.set_weight(&role("eng/web"), 3.0).unwrap();
    a.add_framework(FrameworkId::new("web"), spec(&["eng/web"]))
        .unwrap();
    a.add_framework(FrameworkId::new("batch"), spec(&["eng/batch"]))
        .unwrap();
    a.add_framework(FrameworkId::new("ops"), spec(&["ops"]))
        .unwrap();
    let allocs = a.allocate(Duration::ZERO);
    assert_eq!(
        cpus_by_role(&allocs),
        BTreeMap::from([
            ("eng/batch".into(), 4.0),
            ("eng/web".into(), 12.0),
            ("ops".into(), 16.0),
        ])
    );
    ok(&a);
}

#[test]
fn frameworks_on_a_parent_role_compete_as_a_virtual_child_of_weight_one() {
    let mut a = cluster(8);
    a.set_weight(&role("eng/web"), 3.0).unwrap();
    a.add_framework(FrameworkId::new("own"), spec(&["eng"]))
        .unwrap();
    a.add_framework(FrameworkId::new("web"), spec(&["eng/web"]))
        .unwrap();
    let allocs = a.allocate(Duration::ZERO);
    assert_eq!(
        cpus_by_role(&allocs),
        BTreeMap::from([("eng".into(), 8.0), ("eng/web".into(), 24.0)])
    );
    // The parent's share covers its whole subtree.
    assert_eq!(a.role_share(&role("eng")), 1.0);
    ok(&a);
}

#[test]
fn a_parent_limit_bounds_the_whole_subtree() {
    let mut a = cluster(8);
    a.set_quota(
        &role("eng"),
        Quota {
            guarantee: Resources::new(),
            limit: Some(res("cpus:10")),
        },
    )
    .unwrap();
    a.add_framework(FrameworkId::new("web"), spec(&["eng/web"]))
        .unwrap();
    a.add_framework(FrameworkId::new("batch"), spec(&["eng/batch"]))
        .unwrap();
    for t in 0..3 {
        a.allocate(Duration::from_secs(t));
    }
    let held = a.allocated(&FrameworkId::new("web")).cpus()
        + a.allocated(&FrameworkId::new("batch")).cpus();
    assert_eq!(held, 10.0);
    ok(&a);
}
