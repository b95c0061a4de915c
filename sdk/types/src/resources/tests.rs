//! Unit and property tests of resource arithmetic.

use proptest::prelude::*;

use super::*;

fn role(name: &str) -> Role {
    Role::from(name)
}

#[test]
fn scalars_are_exact() {
    let a = Resources::new().with_cpus(0.1).with_cpus(0.2);
    let b = Resources::new().with_cpus(0.3);
    assert_eq!(a, b);
    assert!(a.checked_sub(&b).unwrap().is_empty());
}

#[test]
fn keys_keep_regular_and_revocable_apart() {
    let regular = Resources::new().with_cpus(2.0);
    let lent = Resources::new().with_cpus(2.0).revocable();
    let both = regular.clone() + &lent;
    assert_eq!(both.cpus(), 4.0);
    assert_eq!(both.only_revocable(), lent);
    assert_eq!(both.non_revocable(), regular);
    // A task asking for 3 regular cpus doesn't fit, even though 4 cpus exist.
    assert!(!both.contains(&Resources::new().with_cpus(3.0)));
}

#[test]
fn roles_and_allocation() {
    let eng = role("eng");
    let agent = Resources::parse("cpus:4;mem:1024;cpus(eng):2").unwrap();
    assert_eq!(agent.reserved_for(&eng).cpus(), 2.0);
    assert_eq!(agent.unreserved().cpus(), 4.0);
    let offered = agent.allocated_to(&eng);
    assert_eq!(offered.allocated(&eng), offered);
    assert!(
        !offered.contains(&agent),
        "allocation role is part of the key"
    );
    assert_eq!(offered.unallocated(), agent);
}

#[test]
fn ranges_arithmetic() {
    let all = Ranges::new([(31000, 31009), (32000, 32000)]);
    assert_eq!(all.count(), 11);
    let some = all.take(3).unwrap();
    assert_eq!(some, Ranges::new([(31000, 31002)]));
    let rest = all.difference(&some);
    assert_eq!(rest, Ranges::new([(31003, 31009), (32000, 32000)]));
    assert_eq!(rest.union(&some), all);
    assert!(all.take(12).is_none());
    assert_eq!(Ranges::new([(1, 2), (3, 4)]), Ranges::new([(1, 4)]));
}

#[test]
fn parse_and_display() {
    let r = Resources::parse("cpus:2.5; mem:1024; ports:[31000-31004,31010-31010]; disks:{a,b}")
        .unwrap();
    assert_eq!(r.cpus(), 2.5);
    assert_eq!(r.ports().count(), 6);
    let text = r.to_string();
    assert_eq!(Resources::parse(&text).unwrap(), r);
    for bad in [
        "cpus",
        "cpus:-1",
        "cpus:x",
        "ports:[5-1]",
        "ports:[1-2",
        "(eng):1",
        "cpus(a b):1",
        "cpus:NaN",
    ] {
        assert!(Resources::parse(bad).is_err(), "{bad:?} should not parse");
    }
}

#[test]
fn subtract_insufficient_leaves_untouched() {
    let mut have = Resources::new().with_cpus(1.0);
    let before = have.clone();
    let err = have.subtract(&Resources::new().with_cpus(2.0)).unwrap_err();
    assert!(matches!(err, ResourcesError::Insufficient { .. }));
    assert_eq!(have, before);
}

fn arb_role() -> impl Strategy<Value = Option<Role>> {
    prop_oneof![Just(None), Just(Some(role("a"))), Just(Some(role("b/c")))]
}

fn arb_resource() -> impl Strategy<Value = Resource> {
    let value = prop_oneof![
        (0i64..100_000).prop_map(|m| Value::Scalar(Scalar::from_millis(m))),
        proptest::collection::vec((0u64..200, 0u64..20), 0..4)
            .prop_map(|v| Value::Ranges(Ranges::new(v.into_iter().map(|(b, l)| (b, b + l))))),
        proptest::collection::btree_set("[a-d]", 0..3).prop_map(Value::Set),
    ];
    (
        prop_oneof![Just("cpus"), Just("mem"), Just("ports"), Just("disks")],
        value,
        arb_role(),
        arb_role(),
        any::<bool>(),
    )
        .prop_map(
            |(name, value, reservation, allocation, revocable)| Resource {
                name: name.to_owned(),
                value,
                reservation,
                allocation,
                revocable,
            },
        )
}

fn arb_resources() -> impl Strategy<Value = Resources> {
    proptest::collection::vec(arb_resource(), 0..6).prop_map(Resources::from_iter)
}

proptest! {
    #[test]
    fn addition_commutes(a in arb_resources(), b in arb_resources()) {
        prop_assert_eq!(a.clone() + &b, b + &a);
    }

    #[test]
    fn sum_contains_parts_and_subtracts_back(a in arb_resources(), b in arb_resources()) {
        let sum = a.clone() + &b;
        prop_assert!(sum.contains(&a));
        prop_assert!(sum.contains(&b));
        prop_assert!(sum.contains(&Resources::new()));
        // Ranges and sets may overlap ({x} + {x} - {x} is empty), so only
        // containment holds for them; scalars subtract back exactly.
        let left = sum.checked_sub(&b).unwrap();
        let scalars = |r: &Resources| r.filter(|e| matches!(e.value, Value::Scalar(_)));
        prop_assert!(left.contains(&scalars(&a)));
        let (a_s, b_s) = (scalars(&a), scalars(&b));
        prop_assert_eq!((a_s.clone() + &b_s).checked_sub(&b_s), Some(a_s));
    }

    #[test]
    fn subtract_only_what_is_contained(a in arb_resources(), b in arb_resources()) {
        match a.checked_sub(&b) {
            Some(left) => {
                prop_assert!(a.contains(&b));
                prop_assert!(a.contains(&left));
                for r in left.iter() {
                    prop_assert!(!r.value.is_empty());
                }
            }
            None => prop_assert!(!a.contains(&b)),
        }
    }

    #[test]
    fn canonical_form_is_order_independent(list in proptest::collection::vec(arb_resource(), 0..8)) {
        let forward: Resources = list.iter().cloned().collect();
        let backward: Resources = list.iter().rev().cloned().collect();
        prop_assert_eq!(forward, backward);
    }

    #[test]
    fn filters_partition(a in arb_resources()) {
        prop_assert_eq!(a.only_revocable() + &a.non_revocable(), a.clone());
        let b = role("b/c");
        prop_assert!(a.contains(&a.reserved_for(&b)));
        prop_assert!(a.contains(&a.unreserved()));
    }

    #[test]
    fn ranges_difference_and_union(x in proptest::collection::vec((0u64..100, 0u64..10), 0..5),
                                   y in proptest::collection::vec((0u64..100, 0u64..10), 0..5)) {
        let x = Ranges::new(x.into_iter().map(|(b, l)| (b, b + l)));
        let y = Ranges::new(y.into_iter().map(|(b, l)| (b, b + l)));
        let d = x.difference(&y);
        for v in 0..120 {
            prop_assert_eq!(d.contains_value(v), x.contains_value(v) && !y.contains_value(v));
            prop_assert_eq!(x.union(&y).contains_value(v), x.contains_value(v) || y.contains_value(v));
        }
        prop_assert!(x.contains(&d));
    }
}

// ---- Ports: containment and taking, checked value by value ----

#[test]
fn ports_outside_the_offer_are_not_contained() {
    let offer = Ranges::new([(31000, 31009)]);
    assert!(!offer.contains(&Ranges::new([(32000, 32000)])));
    assert!(!offer.contains(&Ranges::new([(30000, 30000)])));
    assert!(
        !offer.contains(&Ranges::new([(31005, 31012)])),
        "overhangs the end"
    );
    assert!(
        !offer.contains(&Ranges::new([(30995, 31002)])),
        "overhangs the start"
    );
    assert!(offer.contains(&Ranges::new([(31000, 31000), (31009, 31009)])));
    assert!(offer.contains(&Ranges::default()));
    // Two ranges with a gap do not contain a range bridging the gap.
    let gapped = Ranges::new([(1, 2), (5, 6)]);
    assert!(!gapped.contains(&Ranges::new([(1, 6)])));
    assert!(!gapped.contains(&Ranges::new([(3, 3)])));

    // The same through the bag: no over-commit of ports.
    let offered = Resources::new().with_cpus(4.0).with_ports(31000, 31009);
    let task = Resources::new().with_cpus(1.0).with_ports(32000, 32000);
    assert!(!offered.contains(&task));
    assert_eq!(offered.checked_sub(&task), None);
    let mut have = offered.clone();
    assert!(matches!(
        have.subtract(&task),
        Err(ResourcesError::Insufficient { .. })
    ));
    assert_eq!(have, offered);
    let fits = Resources::new().with_cpus(1.0).with_ports(31003, 31004);
    assert_eq!(
        offered.checked_sub(&fits).unwrap().ports(),
        Ranges::new([(31000, 31002), (31005, 31009)])
    );
}

#[test]
fn take_exactly_everything_and_across_ranges() {
    let all = Ranges::new([(31000, 31009), (32000, 32000)]);
    assert_eq!(all.take(11), Some(all.clone()), "exactly as many as exist");
    assert_eq!(all.take(10), Some(Ranges::new([(31000, 31009)])));
    assert_eq!(all.take(0), Some(Ranges::default()));
    let spread = Ranges::new([(1, 2), (5, 5), (8, 10)]);
    assert_eq!(spread.count(), 6);
    assert_eq!(spread.take(4), Some(Ranges::new([(1, 2), (5, 5), (8, 8)])));
    assert_eq!(spread.take(3), Some(Ranges::new([(1, 2), (5, 5)])));
    assert_eq!(spread.take(6), Some(spread.clone()));
    assert_eq!(spread.take(7), None);
    assert_eq!(Ranges::default().take(0), Some(Ranges::default()));
    assert_eq!(Ranges::default().take(1), None);
}

// ---- Resources: zero and negative quantities, the less used builders ----

#[test]
fn zero_quantities_parse_and_hold_nothing() {
    let r = Resources::parse("cpus:1;gpus:0").unwrap();
    assert_eq!(r, Resources::new().with_cpus(1.0));
    assert_eq!(r.gpus(), 0.0);
    assert!(Resources::parse("gpus:0").unwrap().is_empty());
    assert!(Resources::parse("mem:0.0").unwrap().is_empty());
    assert!(Resources::parse("ports:[]").unwrap().is_empty());
    assert!(Resources::parse("disks:{}").unwrap().is_empty());
}

#[test]
fn negative_and_nan_amounts_store_zero() {
    let r = Resources::new().with_cpus(-1.0);
    assert!(r.is_empty());
    assert_eq!(r.cpus(), 0.0);
    let r = Resources::new()
        .with_cpus(2.0)
        .with_cpus(-1.0)
        .with_mem(f64::NAN);
    assert_eq!(r.cpus(), 2.0);
    assert_eq!(r.mem(), 0.0);
    assert_eq!(r, Resources::new().with_cpus(2.0));
    assert_eq!(Scalar::from_f64(-0.5), Scalar::ZERO);
    assert_eq!(Scalar::from_millis(-5), Scalar::ZERO);
}

#[test]
fn disk_gpus_and_sets_are_built_and_read() {
    let r = Resources::new()
        .with_cpus(2.0)
        .with_disk(2048.0)
        .with_gpus(1.5)
        .with_set("zones", ["z1", "z2"]);
    assert_eq!(r.cpus(), 2.0);
    assert_eq!(r.disk(), 2048.0);
    assert_eq!(r.gpus(), 1.5);
    assert_eq!(r.mem(), 0.0);
    assert_eq!(r.iter().count(), 4);
    assert_eq!(
        r.clone().with_gpus(0.5).gpus(),
        2.0,
        "gpus add up, the rest stays"
    );
    assert_eq!(r.clone().with_gpus(0.5).disk(), 2048.0);
    let zones: Vec<&Resource> = r.iter().filter(|e| e.name == "zones").collect();
    assert_eq!(zones.len(), 1);
    assert_eq!(
        zones[0].value,
        Value::Set(["z1".to_owned(), "z2".to_owned()].into_iter().collect())
    );
    assert_eq!(
        Resources::parse("disk:2048;gpus:1.5").unwrap().disk(),
        2048.0
    );
    assert_eq!(Resources::parse("disk:2048;gpus:1.5").unwrap().gpus(), 1.5);
    assert!(r.contains(&Resources::new().with_set("zones", ["z2"])));
    assert!(!r.contains(&Resources::new().with_set("zones", ["z3"])));
    assert_eq!(Resources::parse(&r.to_string()).unwrap(), r);
}

#[test]
fn set_text_reads_its_items() {
    let r = Resources::parse("disks:{a, b}").unwrap();
    assert_eq!(r, Resources::new().with_set("disks", ["a", "b"]));
    assert!(!r.is_empty());
    assert_eq!(r.to_string(), "disks:{a,b}");
}

#[test]
fn allocation_roles_lists_each_role_once() {
    let base = Resources::parse("cpus:1;mem:64").unwrap();
    assert!(base.allocation_roles().is_empty());
    let (eng, ops) = (role("eng"), role("ops"));
    let mixed = base.allocated_to(&eng) + &base.allocated_to(&ops) + &base;
    let roles: Vec<&Role> = mixed.allocation_roles().into_iter().collect();
    assert_eq!(roles, vec![&eng, &ops]);
}

// ---- The generators behind the property tests are not vacuous ----

#[test]
fn generated_bags_are_mostly_non_empty() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = arb_resources();
    let non_empty = (0..200)
        .filter(|_| !strategy.new_tree(&mut runner).unwrap().current().is_empty())
        .count();
    assert!(
        non_empty >= 100,
        "only {non_empty} of 200 bags hold anything"
    );
}

proptest! {
    #[test]
    fn collecting_keeps_every_non_empty_entry(list in proptest::collection::vec(arb_resource(), 0..8)) {
        let bag: Resources = list.iter().cloned().collect();
        prop_assert_eq!(bag.is_empty(), list.iter().all(|r| r.value.is_empty()));
        for r in &list {
            let mut one = Resources::new();
            one.push(r.clone());
            prop_assert!(bag.contains(&one), "{} lost from {}", r, bag);
        }
    }

    #[test]
    fn ranges_agree_with_a_set_of_their_values(
        x in proptest::collection::vec((0u64..100, 0u64..10), 0..5),
        y in proptest::collection::vec((0u64..100, 0u64..10), 0..5),
        n in 0u64..60,
    ) {
        use std::collections::BTreeSet;
        let values = |list: &[(u64, u64)]| -> BTreeSet<u64> {
            list.iter().flat_map(|&(b, l)| b..=b + l).collect()
        };
        let (xs, ys) = (values(&x), values(&y));
        let x = Ranges::new(x.into_iter().map(|(b, l)| (b, b + l)));
        let y = Ranges::new(y.into_iter().map(|(b, l)| (b, b + l)));
        prop_assert_eq!(x.count(), xs.len() as u64);
        for v in 0..120 {
            prop_assert_eq!(x.contains_value(v), xs.contains(&v));
        }
        prop_assert_eq!(x.contains(&y), ys.is_subset(&xs));
        let listed: BTreeSet<u64> = x.iter().flat_map(|(b, e)| b..=e).collect();
        prop_assert_eq!(&listed, &xs);
        let diff: BTreeSet<u64> = x.difference(&y).iter().flat_map(|(b, e)| b..=e).collect();
        prop_assert_eq!(diff, xs.difference(&ys).copied().collect::<BTreeSet<u64>>());
        let union: BTreeSet<u64> = x.union(&y).iter().flat_map(|(b, e)| b..=e).collect();
        prop_assert_eq!(union, xs.union(&ys).copied().collect::<BTreeSet<u64>>());
        match x.take(n) {
            Some(taken) => {
                let taken: BTreeSet<u64> = taken.iter().flat_map(|(b, e)| b..=e).collect();
                prop_assert_eq!(taken, xs.iter().copied().take(n as usize).collect::<BTreeSet<u64>>());
            }
            None => prop_assert!(n > xs.len() as u64),
        }
    }
}
