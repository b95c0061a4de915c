//! What the master's counters (`master::observe::telemetry`: offers by
//! role, the cycle's timing, the timeline) cost the allocation cycle:
//! the same run of a pure `MasterCore` with them on and off, side by
//! side. Prints medians; no assertion (figures belong in notes, not in
//! timed tests).
//!
//! Setup: 200 agents `cpus:8;mem:32768`, 40 frameworks over 8 roles. Each
//! round, every outstanding offer is declined with a zero filter (the
//! master keeps it at least one allocation interval), then the clock
//! moves one allocation interval and `tick` runs the cycle that offers
//! them again: every round makes ~200 offers. The timed part is `tick`
//! alone. On and off alternate, 9 blocks of 100 rounds each; the figure
//! is the median over blocks of each block's median tick.
//!
//! Run: `cargo bench -p corral-testkit --bench observe_cost`.

use std::time::{Duration, Instant};

use corral::{FrameworkId, Resources};
use corral_proto::convert::*;
use corral_proto::pb;
use corral_testkit::master::outbox::encode;
use corral_testkit::master::{MasterConfig, MasterCore, Outgoing, StreamId};

const AGENTS: usize = 200;
const FRAMEWORKS: usize = 40;
const ROLES: usize = 8;
const ROUNDS: usize = 100;
const BLOCKS: usize = 9;

struct Fw {
    id: FrameworkId,
    stream: StreamId,
}

fn subscribe(core: &mut MasterCore, i: usize) -> Fw {
    let call = pb::Call {
        r#type: Some(pb::call::Type::Subscribe as i32),
        subscribe: Some(pb::call::Subscribe {
            framework_info: pb::FrameworkInfo {
                user: "bench".into(),
                name: format!("fw-{i}"),
                roles: vec![format!("role-{}", i % ROLES)],
                capabilities: vec![pb::framework_info::Capability {
                    r#type: Some(pb::framework_info::capability::Type::MultiRole as i32),
                }],
                ..Default::default()
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    let sub = core.subscribe(Duration::ZERO, call).expect("subscribed");
    Fw {
        id: sub.framework.expect("id"),
        stream: sub.stream,
    }
}

fn decline_all(core: &mut MasterCore, fws: &[Fw], outbox: Vec<Outgoing>, now: Duration) {
    for out in outbox {
        let Outgoing::Event { stream, event } = out else {
            continue;
        };
        let Some(offers) = encode(&event).offers else {
            continue;
        };
        let Some(fw) = fws.iter().find(|f| f.stream == stream) else {
            continue;
        };
        let call = pb::Call {
            framework_id: Some(fw.id.to_pb()),
            r#type: Some(pb::call::Type::Decline as i32),
            decline: Some(pb::call::Decline {
                offer_ids: offers.offers.into_iter().map(|o| o.id).collect(),
                filters: Some(pb::Filters {
                    refuse_seconds: Some(0.0),
                }),
            }),
            ..Default::default()
        };
        let _ = core.handle(now, Some(fw.stream.as_str()), call);
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

/// One block: the median tick over `ROUNDS` rounds, and the offers made.
fn block(on: bool, seed: u64) -> (Duration, usize) {
    let interval = Duration::from_millis(100);
    let config = MasterConfig::default()
        .agents(AGENTS, Resources::parse("cpus:8;mem:32768").expect("res"))
        .allocation_interval(interval)
        .seed(seed);
    let mut core = MasterCore::new(config).expect("config");
    core.telemetry_mut().set_enabled(on);
    let fws: Vec<Fw> = (0..FRAMEWORKS).map(|i| subscribe(&mut core, i)).collect();
    let mut now = Duration::ZERO;
    let mut ticks = Vec::with_capacity(ROUNDS);
    let mut offers = 0;
    for _ in 0..ROUNDS {
        let outbox = core.take_outbox();
        offers += outbox
            .iter()
            .filter_map(|o| match o {
                Outgoing::Event { event, .. } => encode(event).offers.map(|x| x.offers.len()),
                _ => None,
            })
            .sum::<usize>();
        decline_all(&mut core, &fws, outbox, now);
        now += interval;
        let started = Instant::now();
        core.tick(now);
        ticks.push(started.elapsed());
    }
    (median(ticks), offers)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let (mut on, mut off) = (Vec::new(), Vec::new());
    let mut offers = (0, 0);
    for b in 0..BLOCKS {
        let (t, n) = block(true, b as u64);
        on.push(t);
        offers.0 += n;
        let (t, n) = block(false, b as u64);
        off.push(t);
        offers.1 += n;
    }
    let (on, off) = (median(on), median(off));
    println!("allocation cycle (MasterCore::tick), {AGENTS} agents x {FRAMEWORKS} frameworks x {ROLES} roles");
    println!(
        "  metrics on : median {:>10.1} us  ({} offers made)",
        on.as_secs_f64() * 1e6,
        offers.0
    );
    println!(
        "  metrics off: median {:>10.1} us  ({} offers made)",
        off.as_secs_f64() * 1e6,
        offers.1
    );
    println!(
        "  on / off   : {:.3} ({:+.1}%)",
        on.as_secs_f64() / off.as_secs_f64(),
        (on.as_secs_f64() / off.as_secs_f64() - 1.0) * 100.0
    );
}
