//! `mem-bench`: bytes held on the heap, counted by dhat's global allocator.
//!
//! - the mock master (its pure `MasterCore`, explicit time): per agent, per
//!   subscribed framework, per live task (RUNNING, every update
//!   acknowledged) and per completed task (kept for reconciliation, up to
//!   `max_completed_tasks_per_framework`);
//! - the SDK runtime per live task: a framework with that many tasks
//!   running against an in-memory master, less the master's own share.
//!
//! Each figure is the slope between two sizes (so fixed costs cancel).
//! Run it in release: `cargo run --release -p corral-mem-bench`.

#[path = "../../tests/master_support.rs"]
mod support;

mod sdk;

use std::time::Duration;

use corral::{FrameworkId, Resources};
use corral_proto::pb;
use corral_testkit::master::outbox::encode;
use corral_testkit::master::{MasterConfig, MasterCore, Outgoing, StreamId};
use support::*;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Bytes live on the heap now.
pub fn live_bytes() -> usize {
    dhat::HeapStats::get().curr_bytes
}

fn config(agents: usize) -> MasterConfig {
    MasterConfig::default()
        .agents(
            agents,
            Resources::parse("cpus:100000;mem:10000000").expect("resources"),
        )
        .sim_step(Duration::ZERO)
        .allocation_interval(Duration::from_secs(3600))
        .offer_timeout(None)
}

/// The slope of `bytes(n)` between `small` and `large`.
fn per(small: usize, large: usize, bytes: impl Fn(usize) -> usize) -> f64 {
    let (a, b) = (bytes(small), bytes(large));
    (b as f64 - a as f64) / (large - small) as f64
}

fn agents(n: usize) -> usize {
    let before = live_bytes();
    let core = MasterCore::new(config(n)).expect("config");
    let held = live_bytes().saturating_sub(before);
    drop(core);
    held
}

fn frameworks(n: usize) -> usize {
    let mut core = MasterCore::new(config(1)).expect("config");
    let before = live_bytes();
    for i in 0..n {
        let info = framework_info(&format!("fw{i}"), &["web"], &[]);
        core.subscribe(Duration::ZERO, subscribe_call(info, &[]))
            .expect("subscribe");
        drop(core.take_outbox());
    }
    live_bytes().saturating_sub(before)
}

/// Acknowledges every update in the outbox; returns the offers in it.
fn settle(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    stream: &StreamId,
) -> Vec<pb::Offer> {
    let mut offers = Vec::new();
    loop {
        let outbox = core.take_outbox();
        if outbox.is_empty() {
            return offers;
        }
        for out in outbox {
            let Outgoing::Event { event, .. } = out else {
                continue;
            };
            let event = encode(&event);
            if let Some(update) = &event.update {
                core.handle(now, Some(stream.as_str()), ack_call(fw, &update.status))
                    .expect("ack");
            }
            if let Some(o) = event.offers {
                offers.extend(o.offers);
            }
        }
    }
}

/// A core with one framework that ran `n` tasks: still running, or (with
/// `finish`) all finished. Returns the bytes held beyond the same core
/// before the launch.
fn tasks(n: usize, finish: bool) -> usize {
    let mut core = MasterCore::new(config(1)).expect("config");
    let sub = core
        .subscribe(
            Duration::ZERO,
            subscribe_call(framework_info("t", &["web"], &[]), &[]),
        )
        .expect("subscribe");
    let fw = sub.framework.expect("accepted");
    let mut offers = settle(&mut core, Duration::ZERO, &fw, &sub.stream);
    let before = live_bytes();
    let offer = offers.pop().expect("an offer");
    let labels: &[(&str, &str)] = if finish {
        &[("corral.sim/duration", "10")]
    } else {
        &[]
    };
    let launched: Vec<pb::TaskInfo> = (0..n)
        .map(|i| {
            let mut t = task(&format!("task-{i:06}"), &offer, "cpus:0.01;mem:1", labels);
            t.command = Some(pb::CommandInfo {
                value: Some("run-until-killed".into()),
                ..Default::default()
            });
            t
        })
        .collect();
    let mut now = Duration::from_millis(1);
    core.handle(
        now,
        Some(sub.stream.as_str()),
        accept_call(&fw, &[&offer.id], vec![launch(launched)], Some(3600.0)),
    )
    .expect("accept");
    for _ in 0..100 {
        settle(&mut core, now, &fw, &sub.stream);
        match core.next_deadline() {
            Some(d) if d <= Duration::from_secs(1) => {
                now = d.max(now);
                core.tick(now);
            }
            _ => break,
        }
    }
    settle(&mut core, now, &fw, &sub.stream);
    let state = core.state(now);
    let want = if finish {
        corral::TaskState::Finished
    } else {
        corral::TaskState::Running
    };
    let count = state.tasks.iter().filter(|t| t.state == want).count();
    assert_eq!(count, n, "tasks in {want:?}");
    drop(state);
    live_bytes().saturating_sub(before)
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    println!("mem-bench: bytes on the heap (dhat), slope between two sizes");
    let agent = per(100, 1100, agents);
    println!("master, per agent:                {agent:>8.0} B");
    let framework = per(10, 110, frameworks);
    println!("master, per framework:            {framework:>8.0} B");
    let live = per(100, 600, |n| tasks(n, false));
    println!("master, per live task:            {live:>8.0} B");
    let completed = per(200, 1000, |n| tasks(n, true));
    println!("master, per completed task:       {completed:>8.0} B  (kept up to max_completed_tasks_per_framework, 1000)");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let both = runtime.block_on(sdk::per_live_task(100, 600));
    println!(
        "SDK runtime, per live task:       {:>8.0} B  (framework and in-memory master together: {both:.0} B, less the master's share)",
        both - live
    );
    println!("FIGURE master_bytes_per_agent {agent:.0}");
    println!("FIGURE master_bytes_per_framework {framework:.0}");
    println!("FIGURE master_bytes_per_live_task {live:.0}");
    println!("FIGURE master_bytes_per_completed_task {completed:.0}");
    println!("FIGURE sdk_bytes_per_live_task {:.0}", both - live);
}
