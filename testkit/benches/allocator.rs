//! One allocation cycle of the allocator alone (no master, no IO).
//!
//! Setup, for each scenario: agents `cpus:16;mem:65536`, frameworks spread
//! round-robin over roles, every framework active, unsuppressed, without
//! the revocable capability and declining nothing. Two cycles are measured:
//!
//! - `free`: the first cycle on a cluster where everything is free (every
//!   agent is handed out);
//! - `steady`: a cycle after a full allocation from which every tenth
//!   allocation was recovered (10% of the agents free again).
//!
//! The allocator state is cloned for every iteration and dropped after it
//! outside the timed part (`iter_batched`), so each timing is exactly one
//! `allocate` call, including building the returned `Allocation`s.
//!
//! A third measurement, `floor/<scenario>`, times building the same number
//! of [`Allocation`] values as that scenario's free cycle returns, from
//! ready strings and resources (no allocator at all): the cost of the
//! returned values alone, which no allocator can go below.
//!
//! With `ALLOCATOR_BENCH_CYCLES=n` set, criterion is not run: each
//! `<scenario>/free` and `<scenario>/steady` whose name contains the first
//! argument runs `n` cycles through `timed_cycle` (never inlined, so a profiler can
//! collect exactly its cost: `valgrind --tool=callgrind
//! --toggle-collect='*timed_cycle*'`).
//!
//! Scenarios: (a) 1,000 agents x 100 frameworks x 20 roles; (b) 10,000
//! agents x 1,000 frameworks x 100 roles; (c) with quota: 3,000 agents x
//! 3,000 roles x 3,000 frameworks, each role guaranteed `cpus:4;mem:16384`
//! and limited to `cpus:32;mem:131072` (a quarter of the cluster goes
//! through the guarantee stage, the rest through fair sharing).

use std::hint::black_box;
use std::time::Duration;

use corral::{AgentId, FrameworkId, Resources, Role};
use corral_testkit::allocator::{Allocation, Allocator, AllocatorConfig, FrameworkSpec, Quota};
use criterion::{criterion_group, BatchSize, Criterion};

/// One scenario's size.
struct Scenario {
    name: &'static str,
    agents: usize,
    frameworks: usize,
    roles: usize,
    quota: bool,
}

const SCENARIOS: [Scenario; 3] = [
    Scenario {
        name: "a_1k_agents_100_fws_20_roles",
        agents: 1_000,
        frameworks: 100,
        roles: 20,
        quota: false,
    },
    Scenario {
        name: "b_10k_agents_1k_fws_100_roles",
        agents: 10_000,
        frameworks: 1_000,
        roles: 100,
        quota: false,
    },
    Scenario {
        name: "c_quota_3k_agents_3k_roles_3k_fws",
        agents: 3_000,
        frameworks: 3_000,
        roles: 3_000,
        quota: true,
    },
];

fn resources(text: &str) -> Resources {
    Resources::parse(text).unwrap_or_default()
}

/// The scenario's allocator, nothing allocated yet.
fn build(s: &Scenario) -> Allocator {
    let mut a = Allocator::new(AllocatorConfig {
        seed: 1,
        ..AllocatorConfig::default()
    });
    let agent = resources("cpus:16;mem:65536");
    for i in 0..s.agents {
        let _ = a.add_agent(AgentId::new(format!("agent-{i:05}")), agent.clone());
    }
    let role = |j: usize| Role::new(format!("role-{j:04}"));
    if s.quota {
        for j in 0..s.roles {
            let quota = Quota {
                guarantee: resources("cpus:4;mem:16384"),
                limit: Some(resources("cpus:32;mem:131072")),
            };
            let _ = a.set_quota(&role(j), quota);
        }
    }
    for k in 0..s.frameworks {
        let spec = FrameworkSpec {
            roles: [role(k % s.roles)].into(),
            ..FrameworkSpec::default()
        };
        let _ = a.add_framework(FrameworkId::new(format!("fw-{k:05}")), spec);
    }
    a
}

/// After a full cycle, every tenth allocation given back.
fn steady(s: &Scenario) -> Allocator {
    let mut a = build(s);
    let allocs = a.allocate(Duration::ZERO);
    for x in allocs.iter().step_by(10) {
        let _ = a.recover(Duration::ZERO, &x.framework, &x.agent, &x.resources, None);
    }
    a
}

/// One timed cycle (never inlined: see the module docs).
#[inline(never)]
fn timed_cycle(a: &mut Allocator) -> Vec<Allocation> {
    a.allocate(Duration::from_secs(1))
}

/// The allocations a scenario's free cycle returns, rebuilt from clones
/// of ready values: the floor of any cycle that returns them.
fn floor_input(s: &Scenario) -> Vec<Allocation> {
    build(s).allocate(Duration::from_secs(1))
}

#[inline(never)]
fn build_like(like: &[Allocation]) -> Vec<Allocation> {
    let mut out = Vec::with_capacity(like.len());
    for x in like {
        out.push(Allocation {
            framework: x.framework.clone(),
            role: x.role.clone(),
            agent: x.agent.clone(),
            resources: x.resources.clone(),
        });
    }
    out
}

fn cycles(c: &mut Criterion) {
    let mut group = c.benchmark_group("allocate");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    for s in &SCENARIOS {
        let free = build(s);
        group.bench_function(format!("{}/free", s.name), |b| {
            b.iter_batched(
                || free.clone(),
                // The state is returned so criterion drops it untimed.
                |mut a| {
                    let out = black_box(timed_cycle(&mut a));
                    (a, out)
                },
                BatchSize::LargeInput,
            )
        });
        let busy = steady(s);
        group.bench_function(format!("{}/steady", s.name), |b| {
            b.iter_batched(
                || busy.clone(),
                // The state is returned so criterion drops it untimed.
                |mut a| {
                    let out = black_box(timed_cycle(&mut a));
                    (a, out)
                },
                BatchSize::LargeInput,
            )
        });
        let like = floor_input(s);
        group.bench_function(format!("{}/floor", s.name), |b| {
            b.iter_batched(
                || (),
                // Returned so criterion drops them untimed, like a cycle's.
                |()| black_box(build_like(&like)),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

/// `ALLOCATOR_BENCH_CYCLES=n`: `n` cycles of every measurement
/// (`<scenario>/free`, `<scenario>/steady`) whose name contains `filter`,
/// no criterion.
fn profile(n: usize, filter: &str) {
    for s in &SCENARIOS {
        for kind in ["free", "steady"] {
            let name = format!("{}/{kind}", s.name);
            if !name.contains(filter) {
                continue;
            }
            let start = if kind == "free" { build(s) } else { steady(s) };
            let mut count = 0;
            for _ in 0..n {
                let mut a = start.clone();
                count += black_box(timed_cycle(&mut a)).len();
            }
            println!("{name}: {n} cycles, {count} allocations");
        }
    }
}

criterion_group!(benches, cycles);

fn main() {
    if let Some(n) = std::env::var("ALLOCATOR_BENCH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        let filter = std::env::args()
            .skip(1)
            .find(|a| !a.starts_with('-'))
            .unwrap_or_default();
        profile(n, &filter);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
