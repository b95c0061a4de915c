//! Property test of the allocator: random sequences of every operation
//! never over-allocate an agent, never corrupt the per-agent, per-framework,
//! per-role or cluster sums, and a refused call never changes the state.

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
enum Op {
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
}

const ROLES: [&str; 3] = ["a", "b", "c"];

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

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..6u8).prop_map(Op::AddAgent),
        (0..6u8).prop_map(Op::RemoveAgent),
        (0..4u8, 0..8u8).prop_map(|(f, m)| Op::AddFramework(f, m)),
        (0..4u8, 0..8u8).prop_map(|(f, m)| Op::UpdateFramework(f, m)),
        (0..4u8).prop_map(Op::RemoveFramework),
        (0..4u8, any::<bool>()).prop_map(|(f, b)| Op::Activate(f, b)),
        (0..4u8, 0..8u8).prop_map(|(f, m)| Op::Suppress(f, m)),
        (0..4u8, 0..8u8).prop_map(|(f, m)| Op::Revive(f, m)),
        (0..3u8, 0..4u8).prop_map(|(r, w)| Op::SetWeight(r, w)),
        (any::<u8>(), any::<bool>(), proptest::option::of(0..8u8))
            .prop_map(|(n, all, r)| Op::Recover(n, all, r)),
        (any::<u8>(), any::<bool>(), proptest::option::of(0..8u8))
            .prop_map(|(n, all, r)| Op::Recover(n, all, r)),
        (0..4u8, 0..6u8).prop_map(|(f, a)| Op::RecoverBogus(f, a)),
        Just(Op::Allocate),
        Just(Op::Allocate),
        Just(Op::Allocate),
        (0..5u8).prop_map(Op::Tick),
    ]
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

fn apply(a: &mut Allocator, now: &mut Duration, op: &Op) -> Result<(), AllocatorError> {
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
            let holdings: Vec<(FrameworkId, AgentId, Resources)> = (0..4u8)
                .flat_map(|f| (0..6u8).map(move |i| (fid(&f), aid(&i))))
                .map(|(f, i)| {
                    let held = a.allocated_on(&i, &f);
                    (f, i, held)
                })
                .filter(|(_, _, held)| !held.is_empty())
                .collect();
            if holdings.is_empty() {
                return Ok(());
            }
            let (f, i, held) = &holdings[usize::from(*n) % holdings.len()];
            let what = if *all { held.clone() } else { part_of(held) };
            let refuse = refuse.map(|s| secs(f64::from(s)));
            let result = a.recover(*now, f, i, &what, refuse);
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
            let allocs = a.allocate(*now);
            let mut seen = BTreeMap::<AgentId, Resources>::new();
            for x in &allocs {
                assert!(!x.resources.is_empty());
                assert!(x
                    .resources
                    .iter()
                    .all(|r| r.allocation.as_ref() == Some(&x.role)));
                assert!(x.resources.iter().all(|r| !r.revocable));
                let got = seen.entry(x.agent.clone()).or_default();
                *got += &x.resources.unallocated();
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
