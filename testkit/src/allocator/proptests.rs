//! Property tests of the allocator: random sequences of every operation
//! (quota, requests, reservations of free and of held resources, revocable
//! frameworks, nested roles and drained agents included) keep every
//! invariant, a cycle never takes a role over its
//! limit, lent resources go only to revocable-capable frameworks and never
//! mix with regular ones, a refused call never changes the state; and
//! guarantees the cluster can meet are met in one cycle.

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;

use super::*;

fn res(text: &str) -> Resources {
    Resources::parse(text).expect("test resources parse")
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn fw(id: &str) -> FrameworkId {
    FrameworkId::new(id)
}

fn agent(id: &str) -> AgentId {
    AgentId::new(id)
}

fn role(name: &str) -> Role {
    Role::new(name)
}

#[derive(Clone, Debug)]
pub(super) enum Op {
    AddAgent(u8),
    RemoveAgent(u8),
    AddFramework(u8, u8),
    UpdateFramework(u8, u8),
    RemoveFramework(u8),
    Activate(u8, bool),
    Suppress(u8, u8),
    Revive(u8, u8),
    SetWeight(u8, u8),
    /// Give back part (`false`) or all (`true`) of the n-th (framework,
    /// agent) holding, maybe with a filter.
    Recover(u8, bool, Option<u8>),
    /// Try to give back something never allocated.
    RecoverBogus(u8, u8),
    Allocate,
    Tick(u8),
    /// Role, guarantee CPUs, limit CPUs.
    SetQuota(u8, u8, Option<u8>),
    /// Role, CPUs wanted (0 clears).
    Request(u8, u8),
    /// Agent, role, CPUs.
    Reserve(u8, u8, u8),
    /// Agent: unreserve everything it has available reserved.
    Unreserve(u8),
    /// Framework, revocable capability.
    SetRevocable(u8, bool),
    /// Check `reclaim_needed` against what is lent.
    Reclaim,
    /// Reserve part (`false`) or all (`true`) of the regular unreserved
    /// resources of the n-th holding for their allocation role, or for
    /// another role (refused).
    ReserveAllocated(u8, bool, Option<u8>),
    /// Unreserve part or all of the n-th holding's regular resources
    /// reserved for their allocation role; with `true`, every regular
    /// reserved entry, an ancestor's reservation included (then refused).
    UnreserveAllocated(u8, bool, bool),
    /// Agent, active.
    SetAgentActive(u8, bool),
}

const ROLES: [&str; 4] = ["a", "b", "c", "a/x"];

fn roles_of(mask: u8) -> Vec<Role> {
    ROLES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, r)| role(r))
        .collect()
}

fn agent_total(i: u8) -> Resources {
    match i % 3 {
        0 => res("cpus:4;mem:4096;ports:[31000-31009]"),
        1 => res("cpus:2;mem:1024;cpus(a):1;mem(b):512"),
        _ => res("cpus:0.5;gpus:1;mem:8192") + &res("cpus:2").revocable(),
    }
}

pub(super) fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..6u8).prop_map(Op::AddAgent),
        (0..6u8).prop_map(Op::RemoveAgent),
        (0..4u8, 0..16u8).prop_map(|(f, m)| Op::AddFramework(f, m)),
        (0..4u8, 0..16u8).prop_map(|(f, m)| Op::UpdateFramework(f, m)),
        (0..4u8).prop_map(Op::RemoveFramework),
        (0..4u8, any::<bool>()).prop_map(|(f, b)| Op::Activate(f, b)),
        (0..4u8, 0..16u8).prop_map(|(f, m)| Op::Suppress(f, m)),
        (0..4u8, 0..16u8).prop_map(|(f, m)| Op::Revive(f, m)),
        (0..4u8, 0..4u8).prop_map(|(r, w)| Op::SetWeight(r, w)),
        (any::<u8>(), any::<bool>(), proptest::option::of(0..8u8))
            .prop_map(|(n, all, r)| Op::Recover(n, all, r)),
        (any::<u8>(), any::<bool>(), proptest::option::of(0..8u8))
            .prop_map(|(n, all, r)| Op::Recover(n, all, r)),
        (0..4u8, 0..6u8).prop_map(|(f, a)| Op::RecoverBogus(f, a)),
        Just(Op::Allocate),
        Just(Op::Allocate),
        Just(Op::Allocate),
        (0..5u8).prop_map(Op::Tick),
        (0..4u8, 0..8u8, proptest::option::of(0..12u8)).prop_map(|(r, g, l)| Op::SetQuota(r, g, l)),
        (0..4u8, 0..8u8).prop_map(|(r, c)| Op::Request(r, c)),
        (0..6u8, 0..4u8, 1..3u8).prop_map(|(i, r, c)| Op::Reserve(i, r, c)),
        (0..6u8).prop_map(Op::Unreserve),
        (0..4u8, any::<bool>()).prop_map(|(f, b)| Op::SetRevocable(f, b)),
        Just(Op::Reclaim),
        (any::<u8>(), any::<bool>(), proptest::option::of(0..4u8))
            .prop_map(|(n, all, r)| Op::ReserveAllocated(n, all, r)),
        (any::<u8>(), any::<bool>(), Just(None))
            .prop_map(|(n, all, r)| Op::ReserveAllocated(n, all, r)),
        (any::<u8>(), any::<bool>(), any::<bool>())
            .prop_map(|(n, all, any)| Op::UnreserveAllocated(n, all, any)),
        (0..6u8, any::<bool>()).prop_map(|(i, b)| Op::SetAgentActive(i, b)),
    ]
}

/// The n-th (framework, agent, what it holds there) among non-empty
/// holdings, if any.
fn nth_holding(a: &Allocator, n: u8) -> Option<(FrameworkId, AgentId, Resources)> {
    let holdings: Vec<(FrameworkId, AgentId, Resources)> = (0..4u8)
        .flat_map(|f| (0..6u8).map(move |i| (fw(&format!("f{f}")), agent(&format!("a{i}")))))
        .map(|(f, i)| {
            let held = a.allocated_on(&i, &f);
            (f, i, held)
        })
        .filter(|(_, _, held)| !held.is_empty())
        .collect();
    let k = usize::from(n).checked_rem(holdings.len())?;
    holdings.into_iter().nth(k)
}

/// Part of `held`: its first entry, halved when it is a scalar.
fn part_of(held: &Resources) -> Resources {
    let Some(first) = held.iter().next() else {
        return Resources::new();
    };
    let mut entry = first.clone();
    if let corral::Value::Scalar(s) = entry.value {
        entry.value = corral::Value::Scalar(corral::Scalar::from_millis((s.millis() + 1) / 2));
    }
    std::iter::once(entry).collect()
}

/// CPUs `role`'s subtree holds (regular and lent), from the public views.
fn subtree_cpus(a: &Allocator, r: &str) -> f64 {
    let mut total = 0.0;
    for f in 0..4u8 {
        for x in a.allocated(&fw(&format!("f{f}"))).iter() {
            let Some(at) = &x.allocation else { continue };
            let name = at.as_str();
            if name == r || name.starts_with(&format!("{r}/")) {
                if let corral::Value::Scalar(s) = x.value {
                    if x.name == "cpus" {
                        total += s.as_f64();
                    }
                }
            }
        }
    }
    total
}

pub(super) fn apply(a: &mut Allocator, now: &mut Duration, op: &Op) -> Result<(), AllocatorError> {
    let fid = |f: &u8| fw(&format!("f{f}"));
    let aid = |i: &u8| agent(&format!("a{i}"));
    match op {
        Op::AddAgent(i) => a.add_agent(aid(i), agent_total(*i)),
        Op::RemoveAgent(i) => a.remove_agent(&aid(i)),
        Op::AddFramework(f, m) => a.add_framework(
            fid(f),
            FrameworkSpec {
                roles: roles_of(*m).into_iter().collect(),
                ..FrameworkSpec::default()
            },
        ),
        Op::UpdateFramework(f, m) => a.update_framework(
            &fid(f),
            FrameworkSpec {
                roles: roles_of(*m).into_iter().collect(),
                ..FrameworkSpec::default()
            },
        ),
        Op::RemoveFramework(f) => a.remove_framework(&fid(f)),
        Op::Activate(f, b) => a.activate_framework(&fid(f), *b),
        Op::Suppress(f, m) => a.suppress(&fid(f), &roles_of(*m)),
        Op::Revive(f, m) => a.revive(&fid(f), &roles_of(*m)),
        Op::SetWeight(r, w) => a.set_weight(&role(ROLES[usize::from(*r)]), f64::from(*w) * 0.5),
        Op::Recover(n, all, refuse) => {
            let Some((f, i, held)) = nth_holding(a, *n) else {
                return Ok(());
            };
            let what = if *all { held.clone() } else { part_of(&held) };
            let refuse = refuse.map(|s| secs(f64::from(s)));
            let result = a.recover(*now, &f, &i, &what, refuse);
            assert_eq!(result, Ok(()), "recovering what is held must work");
            result
        }
        Op::RecoverBogus(f, i) => {
            let held = a.allocated_on(&aid(i), &fid(f));
            let what = held + &res("cpus:100").allocated_to(&role("a"));
            a.recover(*now, &fid(f), &aid(i), &what, None)
        }
        Op::Allocate => {
            let before: BTreeMap<AgentId, Resources> = (0..6u8)
                .filter_map(|i| a.available(&aid(&i)).map(|r| (aid(&i), r)))
                .collect();
            let held_before: Vec<f64> = ROLES.iter().map(|r| subtree_cpus(a, r)).collect();
            let allocs = a.allocate(*now);
            for (r, was) in ROLES.iter().zip(held_before) {
                let limit = a
                    .quota(&role(r))
                    .and_then(|q| q.limit.as_ref())
                    .filter(|l| l.iter().any(|e| e.name == "cpus"))
                    .map(|l| l.cpus());
                if let Some(limit) = limit {
                    let now_held = subtree_cpus(a, r);
                    assert!(
                        now_held <= limit.max(was) + 1e-9,
                        "role {r} went from {was} to {now_held} CPUs, limit {limit}"
                    );
                }
            }
            let mut seen = BTreeMap::<AgentId, Resources>::new();
            for x in &allocs {
                assert!(!x.resources.is_empty());
                assert!(a.is_agent_active(&x.agent), "offer on inactive {}", x.agent);
                assert!(x
                    .resources
                    .iter()
                    .all(|r| r.allocation.as_ref() == Some(&x.role)));
                let lent = x.resources.iter().any(|r| r.revocable);
                assert!(
                    x.resources.iter().all(|r| r.revocable == lent),
                    "regular and revocable mixed in {}",
                    x.resources
                );
                if lent {
                    assert!(a.framework_spec(&x.framework).is_some_and(|s| s.revocable));
                }
                let got = seen.entry(x.agent.clone()).or_default();
                // Lent entries carry the revocable mark; compare quantities
                // with what was available in the pool they came from.
                let plain: Resources = x
                    .resources
                    .unallocated()
                    .iter()
                    .map(|e| e.clone().with_revocable(false))
                    .collect();
                *got += &plain;
                assert!(
                    before[&x.agent].contains(got),
                    "offered more than available"
                );
                assert!(a
                    .framework_spec(&x.framework)
                    .is_some_and(|s| s.roles.contains(&x.role) && !s.suppressed.contains(&x.role)));
                assert!(a.is_active(&x.framework));
            }
            Ok(())
        }
        Op::Tick(s) => {
            *now += secs(f64::from(*s));
            Ok(())
        }
        Op::SetQuota(r, g, l) => a.set_quota(
            &role(ROLES[usize::from(*r)]),
            Quota {
                guarantee: Resources::new().with_cpus(f64::from(*g)),
                limit: l.map(|l| Resources::new().with_cpus(f64::from(l))),
            },
        ),
        Op::Request(r, c) => a.request(
            &role(ROLES[usize::from(*r)]),
            &Resources::new().with_cpus(f64::from(*c)),
        ),
        Op::Reserve(i, r, c) => a.reserve(
            &aid(i),
            &role(ROLES[usize::from(*r)]),
            &Resources::new().with_cpus(f64::from(*c)),
        ),
        Op::Unreserve(i) => {
            let reserved = a
                .available(&aid(i))
                .map(|r| r.filter(|e| e.reservation.is_some() && !e.revocable))
                .unwrap_or_default();
            if reserved.is_empty() {
                return Ok(());
            }
            let result = a.unreserve(&aid(i), &reserved);
            assert_eq!(result, Ok(()), "unreserving what is available must work");
            result
        }
        Op::SetRevocable(f, b) => match a.framework_spec(&fid(f)).cloned() {
            Some(spec) => a.update_framework(
                &fid(f),
                FrameworkSpec {
                    revocable: *b,
                    ..spec
                },
            ),
            None => Ok(()),
        },
        Op::ReserveAllocated(n, all, other) => {
            let Some((f, i, held)) = nth_holding(a, *n) else {
                return Ok(());
            };
            let regular = held.filter(|e| !e.revocable && e.reservation.is_none());
            let Some(r) = regular.iter().find_map(|e| e.allocation.clone()) else {
                return Ok(());
            };
            let mine = regular.allocated(&r);
            let what = if *all { mine } else { part_of(&mine) };
            let target = other.map_or_else(|| r.clone(), |k| role(ROLES[usize::from(k)]));
            let subscribed = a
                .framework_spec(&f)
                .is_some_and(|s| s.roles.contains(&target));
            let result = a.reserve_allocated(&f, &i, &target, &what);
            if target == r && subscribed {
                let got = result.clone().expect("reserving what is held must work");
                assert_eq!(got, what.reserved_to(&r));
                assert!(a.allocated_on(&i, &f).contains(&got));
            } else {
                assert!(result.is_err(), "reserved {what} for {target}");
            }
            result.map(|_| ())
        }
        Op::UnreserveAllocated(n, all, any) => {
            let Some((f, i, held)) = nth_holding(a, *n) else {
                return Ok(());
            };
            let own =
                |e: &corral::Resource| e.reservation.is_some() && e.reservation == e.allocation;
            let regular =
                held.filter(|e| !e.revocable && e.reservation.is_some() && (*any || own(e)));
            let Some(r) = regular.iter().find_map(|e| e.allocation.clone()) else {
                return Ok(());
            };
            let mine = regular.allocated(&r);
            let what = if *all { mine } else { part_of(&mine) };
            let result = a.unreserve_allocated(&f, &i, &what);
            if what.iter().all(own) {
                let got = result.clone().expect("unreserving what is held must work");
                let plain: Resources = what
                    .iter()
                    .map(|e| e.clone().with_reservation(None))
                    .collect();
                assert_eq!(got, plain);
                assert!(a.allocated_on(&i, &f).contains(&got));
            } else {
                assert!(matches!(
                    result,
                    Err(AllocatorError::ReservationRoleMismatch { .. })
                ));
            }
            result.map(|_| ())
        }
        Op::SetAgentActive(i, true) => a.activate_agent(&aid(i)),
        Op::SetAgentActive(i, false) => a.deactivate_agent(&aid(i)),
        Op::Reclaim => {
            for r in a.reclaim_needed() {
                assert!(r.resources.iter().all(|e| e.revocable));
                assert!(
                    a.is_agent_active(&r.agent),
                    "reclaim on inactive {}",
                    r.agent
                );
                let mut lent_here = Resources::new();
                for f in 0..4u8 {
                    lent_here += &a.allocated_on(&r.agent, &fid(&f)).only_revocable();
                }
                assert!(
                    lent_here.cpus() + 1e-9 >= r.resources.cpus(),
                    "reclaim {} > lent {}",
                    r.resources,
                    lent_here
                );
            }
            Ok(())
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_operations_never_over_allocate(ops in proptest::collection::vec(op(), 1..80)) {
        let mut a = Allocator::new(AllocatorConfig { seed: 7, ..AllocatorConfig::default() });
        let mut now = Duration::ZERO;
        let setup = [Op::AddAgent(0), Op::AddAgent(1), Op::AddAgent(2), Op::AddFramework(0, 3), Op::AddFramework(1, 6)];
        for op in &setup {
            prop_assert_eq!(apply(&mut a, &mut now, op), Ok(()));
        }
        for op in &ops {
            let before = format!("{a:?}");
            let result = apply(&mut a, &mut now, op);
            if let Err(err) = &result {
                prop_assert_eq!(&format!("{a:?}"), &before, "{:?} failed with {} but changed state", op, err);
            }
            if let (Op::SetRevocable(..), Err(err)) = (op, &result) {
                prop_assert!(false, "revocable switch failed: {}", err);
            }
            if let Op::RecoverBogus(..) = op {
                let bogus_refused = matches!(
                    result,
                    Err(AllocatorError::NotAllocated { .. })
                        | Err(AllocatorError::UnknownAgent(_))
                        | Err(AllocatorError::UnknownFramework(_))
                );
                prop_assert!(bogus_refused);
            }
            if let Err(why) = a.check_invariants() {
                prop_assert!(false, "after {:?}: {}", op, why);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Flat roles with guarantees adding up to at most the cluster, each
    /// with an active framework, next to a greedy role without quota: one
    /// cycle meets every guarantee.
    #[test]
    fn guarantees_the_cluster_can_meet_are_met(
        agents in 1..8usize,
        guarantees in proptest::collection::vec(1..8u8, 1..4),
        seed in any::<u64>(),
    ) {
        let cluster = agents as f64 * 4.0;
        let wanted: f64 = guarantees.iter().map(|g| f64::from(*g)).sum();
        prop_assume!(wanted <= cluster);
        let mut a = Allocator::new(AllocatorConfig { seed, ..AllocatorConfig::default() });
        for i in 0..agents {
            a.add_agent(agent(&format!("a{i}")), res("cpus:4;mem:4096")).unwrap();
        }
        a.add_framework(fw("greedy"), FrameworkSpec {
            roles: [role("greedy")].into(),
            ..FrameworkSpec::default()
        }).unwrap();
        a.set_weight(&role("greedy"), 1000.0).unwrap();
        for (i, g) in guarantees.iter().enumerate() {
            let r = role(&format!("q{i}"));
            a.set_quota(&r, Quota {
                guarantee: Resources::new().with_cpus(f64::from(*g)),
                limit: None,
            }).unwrap();
            a.add_framework(fw(&format!("f{i}")), FrameworkSpec {
                roles: [r].into(),
                ..FrameworkSpec::default()
            }).unwrap();
        }
        a.allocate(Duration::ZERO);
        for (i, g) in guarantees.iter().enumerate() {
            let got = a.allocated(&fw(&format!("f{i}"))).cpus();
            prop_assert!(got + 1e-9 >= f64::from(*g), "q{} got {} of {}", i, got, g);
        }
        if let Err(why) = a.check_invariants() {
            prop_assert!(false, "{}", why);
        }
    }
}
