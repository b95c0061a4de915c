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
