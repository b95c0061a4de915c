//! The incremental cycle against a pass from scratch. A cycle visits only
//! the open agents (active, something available) and skips the lending
//! stage when no framework could be lent anything; a pass from scratch
//! (`from_scratch`) visits every active agent and runs every stage. Both
//! draw the same random number per cycle and order agents by it the same
//! way, so over any sequence of calls they must return exactly the same
//! allocations, cycle after cycle.
//!
//! The oracle is the allocations themselves, not only the shares: equal
//! shares would let an incremental pass give a different agent (or a
//! different framework of the same share) and still pass, and then the
//! two runs would drift apart without a test noticing. Equal allocations
//! imply equal shares, which are checked too.

use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::RngSeed;

use super::proptests::{apply, op, Op};
use super::test_support::*;
use super::*;

/// Every role's share and every framework's holdings, from the public views.
fn shares(a: &Allocator) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = a
        .known_roles()
        .iter()
        .map(|r| (r.to_string(), format!("{:.12}", a.role_share(r))))
        .collect();
    for f in 0..4u8 {
        let id = fw(&format!("f{f}"));
        out.push((id.to_string(), a.allocated(&id).to_string()));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_seed: RngSeed::Fixed(18),
        ..ProptestConfig::default()
    })]

    /// Random sequences of every call (agents added, removed, drained;
    /// resources recovered with and without filters; frameworks added,
    /// updated, removed, suppressed, revived, made revocable; quota,
    /// weight, request and reservation changes; time passing): the
    /// incremental cycle returns what a pass from scratch returns.
    #[test]
    fn incremental_cycles_match_a_pass_from_scratch(
        seed in any::<u64>(),
        ops in proptest::collection::vec(op(), 1..100),
    ) {
        let config = AllocatorConfig { seed, ..AllocatorConfig::default() };
        let mut inc = Allocator::new(config.clone());
        let mut full = Allocator::new(config);
        full.from_scratch = true;
        let (mut now_inc, mut now_full) = (Duration::ZERO, Duration::ZERO);
        let setup = [Op::AddAgent(0), Op::AddAgent(1), Op::AddAgent(2), Op::AddFramework(0, 3), Op::AddFramework(1, 6)];
        for (step, op) in setup.iter().chain(&ops).chain([&Op::Allocate]).enumerate() {
            if let Op::Allocate = op {
                let got = inc.allocate(now_inc);
                let want = full.allocate(now_full);
                prop_assert_eq!(&got, &want, "cycle at step {} differs", step);
                prop_assert_eq!(shares(&inc), shares(&full), "shares after step {}", step);
                continue;
            }
            let a = apply(&mut inc, &mut now_inc, op);
            let b = apply(&mut full, &mut now_full, op);
            prop_assert_eq!(a, b, "{:?} at step {}", op, step);
            if let Err(why) = inc.check_invariants() {
                prop_assert!(false, "after {:?}: {}", op, why);
            }
        }
    }
}

/// After a full allocation and a few frees, a cycle visits only the
/// agents that were freed: the others are not open.
#[test]
fn a_steady_cycle_visits_only_the_freed_agents() {
    let mut a = cluster(100);
    a.add_framework(fw("f"), spec(&["r"], false)).unwrap();
    a.add_framework(fw("g"), spec(&["s"], false)).unwrap();
    assert_eq!(a.agents.open_count(), 100);
    let allocs = a.allocate(Duration::ZERO);
    assert_eq!(allocs.len(), 100);
    assert_eq!(a.agents.open_count(), 0);
    for x in allocs.iter().take(3) {
        a.recover(secs(1), &x.framework, &x.agent, &x.resources, None)
            .unwrap();
    }
    assert_eq!(a.agents.open_count(), 3);
    let draw = a.rng.clone().next_u64();
    assert_eq!(a.agents.visiting_order(draw, false).len(), 3);
    assert_eq!(a.agents.visiting_order(draw, true).len(), 100);
    let again = a.allocate(secs(1));
    assert_eq!(again.len(), 3);
    assert_eq!(a.agents.open_count(), 0);
    // Draining an agent closes it; activating it opens it again while it
    // has something available.
    a.recover(
        secs(2),
        &again[0].framework,
        &again[0].agent,
        &again[0].resources,
        None,
    )
    .unwrap();
    a.deactivate_agent(&again[0].agent).unwrap();
    assert_eq!(a.agents.open_count(), 0);
    a.activate_agent(&again[0].agent).unwrap();
    assert_eq!(a.agents.open_count(), 1);
    if let Err(why) = a.check_invariants() {
        panic!("{why}");
    }
}
