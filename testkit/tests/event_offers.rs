//! Event-driven offers, on the pure `MasterCore` with explicit time:
//! resources freed (a task ends, an offer is declined) are offered again
//! at once, not at the next allocation cycle; frees close together are
//! coalesced into one pass; the batch cycle still runs.

#[path = "master_support.rs"]
mod support;

use std::time::Duration;

use corral::{FrameworkId, Resources};
use corral_proto::pb;
use corral_proto::pb::event::Type as EventType;
use corral_proto::pb::TaskState;
use corral_testkit::master::outbox::encode;
use corral_testkit::master::{MasterConfig, MasterCore, Outgoing, StreamId};
use support::*;

/// Far beyond anything a test here waits for: an offer seen before it was
/// not made by the cycle.
const CYCLE: Duration = Duration::from_secs(30);

fn core(agents: usize) -> MasterCore {
    let config = MasterConfig::default()
        .agents(
            agents,
            Resources::parse("cpus:1;mem:1024").expect("resources"),
        )
        .allocation_interval(CYCLE)
        .sim_step(Duration::ZERO);
    MasterCore::new(config).expect("valid config")
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn us(us: u64) -> Duration {
    Duration::from_micros(us)
}

fn subscribe(core: &mut MasterCore, now: Duration, name: &str) -> (FrameworkId, StreamId) {
    let sub = core
        .subscribe(
            now,
            subscribe_call(framework_info(name, &["web"], &[]), &[]),
        )
        .expect("subscribed");
    (sub.framework.expect("accepted"), sub.stream)
}

/// The events for `stream` in the outbox (the rest is dropped).
fn events_on(core: &mut MasterCore, stream: &StreamId) -> Vec<pb::Event> {
    core.take_outbox()
        .into_iter()
        .filter_map(|o| match o {
            Outgoing::Event { stream: s, event } if &s == stream => Some(encode(&event)),
            _ => None,
        })
        .collect()
}

fn offers_in(events: &[pb::Event]) -> Vec<Vec<pb::Offer>> {
    events
        .iter()
        .filter(|e| kind(e) == EventType::Offers)
        .map(|e| e.offers.as_ref().expect("payload").offers.clone())
        .collect()
}

#[test]
fn a_finished_task_is_offered_again_at_once() {
    let mut core = core(1);
    let (fw, stream) = subscribe(&mut core, Duration::ZERO, "batch");
    let offer = offers_in(&events_on(&mut core, &stream))[0][0].clone();
    let t = task(
        "t1",
        &offer,
        "cpus:1;mem:1024",
        &[("corral.sim/duration", "5")],
    );
    core.handle(
        ms(1),
        Some(stream.as_str()),
        accept_call(&fw, &[&offer.id], vec![launch(vec![t])], None),
    )
    .expect("accept");
    // Follow the timers, acknowledging every update (an acknowledgement
    // lets the task's next update out at once), until an offer comes.
    let mut now = ms(1);
    let mut finished_at = None;
    let mut offered_at = None;
    for _ in 0..50 {
        loop {
            let events = events_on(&mut core, &stream);
            if events.is_empty() {
                break;
            }
            for event in events {
                if let Some(update) = &event.update {
                    if state_of(&update.status) == TaskState::TaskFinished {
                        finished_at = Some(now);
                    }
                    core.handle(now, Some(stream.as_str()), ack_call(&fw, &update.status))
                        .expect("ack");
                }
                if kind(&event) == EventType::Offers {
                    offered_at.get_or_insert(now);
                }
            }
        }
        if offered_at.is_some() && finished_at.is_some() {
            break;
        }
        now = core.next_deadline().expect("a timer").max(now);
        core.tick(now);
    }
    let finished_at = finished_at.expect("the task finished");
    let offered_at = offered_at.expect("its resources were offered again");
    // Launched at 1 ms, runs for 5 ms.
    assert_eq!(finished_at, ms(6));
    // The pass for the free is due at once (the last pass was long ago).
    assert_eq!(
        offered_at, finished_at,
        "offered again at once, not at the cycle"
    );
}

#[test]
fn declined_resources_go_to_another_framework_at_once() {
    let mut core = core(1);
    let (a, a_stream) = subscribe(&mut core, Duration::ZERO, "a");
    let offer = offers_in(&events_on(&mut core, &a_stream))[0][0].clone();
    let (_b, b_stream) = subscribe(&mut core, ms(1), "b");
    assert!(offers_in(&events_on(&mut core, &b_stream)).is_empty());
    // `a` declines for a minute at 5 ms: due for `b` at once.
    core.handle(
        ms(5),
        Some(a_stream.as_str()),
        decline_call(&a, &[&offer.id], Some(60.0)),
    )
    .expect("decline");
    assert_eq!(core.next_deadline(), Some(ms(5)));
    core.tick(ms(5));
    let offers = offers_in(&events_on(&mut core, &b_stream));
    assert_eq!(offers.len(), 1, "one OFFERS event for b");
    assert_eq!(offers[0][0].agent_id, offer.agent_id);
}

#[test]
fn frees_within_the_gap_are_coalesced_into_one_pass() {
    let mut core = core(3);
    let (a, a_stream) = subscribe(&mut core, Duration::ZERO, "a");
    let offers = offers_in(&events_on(&mut core, &a_stream)).concat();
    assert_eq!(offers.len(), 3);
    let (_b, b_stream) = subscribe(&mut core, ms(1), "b");
    assert!(offers_in(&events_on(&mut core, &b_stream)).is_empty());
    // The first decline is offered to `b` at once: a pass at 10 ms.
    let decline = |core: &mut MasterCore, now: Duration, offer: &pb::Offer| {
        core.handle(
            now,
            Some(a_stream.as_str()),
            decline_call(&a, &[&offer.id], Some(60.0)),
        )
        .expect("decline");
    };
    decline(&mut core, ms(10), &offers[0]);
    core.tick(ms(10));
    assert_eq!(
        offers_in(&events_on(&mut core, &b_stream)).concat().len(),
        1
    );
    // Two more within the next millisecond: one pass, a millisecond after
    // the previous one, with both.
    decline(&mut core, ms(10) + us(200), &offers[1]);
    assert_eq!(core.next_deadline(), Some(ms(11)));
    decline(&mut core, ms(10) + us(600), &offers[2]);
    assert_eq!(core.next_deadline(), Some(ms(11)));
    core.tick(ms(10) + us(600));
    assert!(
        offers_in(&events_on(&mut core, &b_stream)).is_empty(),
        "not before the gap"
    );
    core.tick(ms(11));
    let passes = offers_in(&events_on(&mut core, &b_stream));
    assert_eq!(passes.len(), 1, "one OFFERS event: {passes:?}");
    assert_eq!(passes[0].len(), 2);
}

#[test]
fn the_batch_cycle_still_runs_on_its_interval() {
    let mut core = core(1);
    let (a, a_stream) = subscribe(&mut core, Duration::ZERO, "a");
    let offer = offers_in(&events_on(&mut core, &a_stream))[0][0].clone();
    // Declined with a filter (which lasts at least one interval): the pass
    // for the free finds nobody, and nothing else frees anything, so only
    // a cycle after the filter offers it again.
    core.handle(
        ms(5),
        Some(a_stream.as_str()),
        decline_call(&a, &[&offer.id], Some(1.0)),
    )
    .expect("decline");
    core.tick(ms(5));
    assert!(offers_in(&events_on(&mut core, &a_stream)).is_empty());
    // The cycle at one interval still finds the filter (it ends at
    // 5 ms + one interval); the next cycle offers it.
    core.tick(CYCLE);
    assert!(offers_in(&events_on(&mut core, &a_stream)).is_empty());
    core.tick(CYCLE * 2 - ms(1));
    assert!(offers_in(&events_on(&mut core, &a_stream)).is_empty());
    core.tick(CYCLE * 2);
    assert_eq!(
        offers_in(&events_on(&mut core, &a_stream)).len(),
        1,
        "offered by the cycle"
    );
}

#[test]
fn a_zero_filter_decline_comes_back_to_its_framework_at_the_next_cycle_not_at_once() {
    let mut core = core(1);
    let (a, a_stream) = subscribe(&mut core, Duration::ZERO, "a");
    let offer = offers_in(&events_on(&mut core, &a_stream))[0][0].clone();
    // Declined with no time at all: the event-driven pass runs, but the
    // offer does not come straight back to `a` (a millisecond later, every
    // millisecond, as a storm); it comes back at the batch cycle.
    core.handle(
        ms(5),
        Some(a_stream.as_str()),
        decline_call(&a, &[&offer.id], Some(0.0)),
    )
    .expect("decline");
    core.tick(ms(5));
    core.tick(ms(6));
    assert!(
        offers_in(&events_on(&mut core, &a_stream)).is_empty(),
        "not re-offered to the framework that just declined it"
    );
    let mut now = ms(6);
    while now < CYCLE {
        now = core.next_deadline().expect("a timer").max(now + us(1));
        core.tick(now);
        if !offers_in(&events_on(&mut core, &a_stream)).is_empty() {
            break;
        }
    }
    assert_eq!(now, CYCLE, "offered again at the next batch cycle");
}
