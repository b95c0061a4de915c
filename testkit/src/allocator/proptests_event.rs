//! Event-driven against batch allocation: the same churn of task ends,
//! allocated after every end (as the master does when freed resources are
//! offered again at once) or once per batch of ends (the allocation
//! cycle), leaves every role with the same number of slots, give or take
//! one, at every batch boundary; and both states are DRF-balanced: no
//! role could give up a slot and still be at or above the weighted share
//! of the role that would get it. Agents are single slots and every
//! framework takes whatever it is offered, so a slot's holder is exactly
//! what the allocator decided.

use std::collections::VecDeque;
use std::time::Duration;

use proptest::prelude::*;

use super::test_support::{agent, fw, res, role, spec};
use super::*;

/// One framework per role; its tasks (agent ids), oldest first.
struct Sim {
    alloc: Allocator,
    tasks: Vec<VecDeque<AgentId>>,
}

impl Sim {
    fn new(agents: usize, weights: &[u8]) -> Self {
        let mut alloc = Allocator::new(AllocatorConfig::default());
        for a in 0..agents {
            alloc
                .add_agent(agent(&format!("a{a}")), res("cpus:1;mem:1024"))
                .expect("agent");
        }
        for (i, w) in weights.iter().enumerate() {
            let name = format!("r{i}");
            alloc
                .set_weight(&role(&name), f64::from(*w))
                .expect("weight");
            alloc
                .add_framework(fw(&format!("f{i}")), spec(&[&name], false))
                .expect("framework");
        }
        Sim {
            alloc,
            tasks: vec![VecDeque::new(); weights.len()],
        }
    }

    /// One pass: every offer is taken whole (one task per agent).
    fn allocate(&mut self, now: Duration) {
        for a in self.alloc.allocate(now) {
            let i: usize = a.framework.as_str()[1..].parse().expect("f<i>");
            self.tasks[i].push_back(a.agent);
        }
    }

    /// The oldest task of role `i` ends, if it has one.
    fn end(&mut self, now: Duration, i: usize) {
        if let Some(a) = self.tasks[i].pop_front() {
            let held = self.alloc.allocated_on(&a, &fw(&format!("f{i}")));
            self.alloc
                .recover(now, &fw(&format!("f{i}")), &a, &held, None)
                .expect("recover");
        }
    }

    fn counts(&self) -> Vec<usize> {
        self.tasks.iter().map(VecDeque::len).collect()
    }
}

/// No role `i` could hand a slot to role `j` and stay at or above `j`'s
/// new weighted share: `(c_i - 1) / w_i <= c_j / w_j` (both sides times
/// the weights, to stay in integers).
fn balanced(counts: &[usize], weights: &[u8]) -> Result<(), String> {
    for (i, &ci) in counts.iter().enumerate() {
        for (j, &cj) in counts.iter().enumerate() {
            let (wi, wj) = (weights[i] as usize, weights[j] as usize);
            if i != j && ci > 0 && (ci - 1) * wj > cj * wi {
                return Err(format!(
                    "counts {counts:?}, weights {weights:?}: r{i} over r{j}"
                ));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn event_driven_and_batch_allocation_reach_the_same_shares(
        agents in 4usize..24,
        weights in proptest::collection::vec(1u8..4, 2..5),
        batch in 2usize..6,
        ends in proptest::collection::vec(0usize..4, 1..120),
    ) {
        let mut event = Sim::new(agents, &weights);
        let mut batched = Sim::new(agents, &weights);
        let start = Duration::ZERO;
        event.allocate(start);
        batched.allocate(start);
        prop_assert_eq!(event.counts(), batched.counts());
        for (step, r) in ends.iter().enumerate() {
            let now = Duration::from_millis(step as u64 + 1);
            let r = r % weights.len();
            event.end(now, r);
            event.allocate(now);
            batched.end(now, r);
            if (step + 1) % batch == 0 || step + 1 == ends.len() {
                batched.allocate(now);
                let (e, b) = (event.counts(), batched.counts());
                prop_assert_eq!(e.iter().sum::<usize>(), agents);
                prop_assert_eq!(b.iter().sum::<usize>(), agents);
                balanced(&e, &weights).map_err(TestCaseError::fail)?;
                balanced(&b, &weights).map_err(TestCaseError::fail)?;
                for (x, y) in e.iter().zip(&b) {
                    prop_assert!(x.abs_diff(*y) <= 1, "event {:?} batch {:?}", e, b);
                }
            }
        }
    }
}
