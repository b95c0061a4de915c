//! "Why not offered" (`master::observe::why`), each cause on a pure
//! `MasterCore` on explicit time: suppressed, filtered by a decline until
//! T, the role at its quota limit, nothing fitting the minimum
//! allocatable, every agent held by roles with a smaller share, agents in
//! maintenance; and the answer when the next cycle would offer.

#[path = "master_support.rs"]
mod support;

use std::time::Duration;

use corral::{FrameworkId, Resources, Role};
use corral_proto::pb;
use corral_testkit::allocator::Quota;
use corral_testkit::master::observe::why::why_not_offered;
use corral_testkit::master::outbox::encode;
use corral_testkit::master::{MasterConfig, MasterCore, Outgoing, StreamId, Window};
use serde_json::Value;
use support::*;

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn config(agents: usize, res: &str) -> MasterConfig {
    MasterConfig::default()
        .agents(agents, Resources::parse(res).expect("res"))
        .seed(3)
}

struct Fw {
    id: FrameworkId,
    stream: StreamId,
}

fn subscribe(
    core: &mut MasterCore,
    name: &str,
    role: &str,
    suppressed: &[&str],
) -> (Fw, Vec<pb::Offer>) {
    let sub = core
        .subscribe(
            ms(0),
            subscribe_call(framework_info(name, &[role], &[]), suppressed),
        )
        .expect("subscribed");
    let fw = Fw {
        id: sub.framework.expect("id"),
        stream: sub.stream,
    };
    let offers = offers_of(core, &fw);
    (fw, offers)
}

fn offers_of(core: &mut MasterCore, fw: &Fw) -> Vec<pb::Offer> {
    core.take_outbox()
        .into_iter()
        .filter_map(|o| match o {
            Outgoing::Event { stream, event } if stream == fw.stream => encode(&event).offers,
            _ => None,
        })
        .flat_map(|o| o.offers)
        .collect()
}

fn why(core: &MasterCore, fw: &Fw, role: &str, now: Duration) -> Value {
    why_not_offered(core, &fw.id, &Role::new(role), now)
}

fn launch_all(core: &mut MasterCore, fw: &Fw, offer: &pb::Offer, id: &str, res: &str) {
    let t = task(id, offer, res, &[("corral.sim/duration", "3600000")]);
    core.handle(
        ms(1),
        Some(fw.stream.as_str()),
        accept_call(&fw.id, &[&offer.id], vec![launch(vec![t])], Some(3600.0)),
    )
    .expect("accepted");
}

#[test]
fn a_suppressed_role_is_said_suppressed() {
    let mut core = MasterCore::new(config(1, "cpus:4;mem:4096")).expect("core");
    let (fw, offers) = subscribe(&mut core, "quiet", "web", &["web"]);
    assert!(offers.is_empty());
    let answer = why(&core, &fw, "web", ms(0));
    assert_eq!(answer["cause"], "suppressed", "{answer}");
}

#[test]
fn a_declined_agent_is_filtered_until_the_filter_expires() {
    let mut core = MasterCore::new(config(1, "cpus:4;mem:4096")).expect("core");
    let (fw, offers) = subscribe(&mut core, "picky", "web", &[]);
    assert_eq!(offers.len(), 1);
    assert_eq!(
        why(&core, &fw, "web", ms(0))["cause"],
        "held",
        "its own offer holds it"
    );
    core.handle(
        ms(10),
        Some(fw.stream.as_str()),
        decline_call(&fw.id, &[&offers[0].id], Some(60.0)),
    )
    .expect("declined");
    let answer = why(&core, &fw, "web", ms(20));
    assert_eq!(answer["cause"], "filtered", "{answer}");
    assert_eq!(answer["agents"][0]["until"], 60.01, "{answer}");
    // Past the filter, the next cycle offers it again.
    assert_eq!(why(&core, &fw, "web", ms(61_000))["cause"], "would_offer");
}

#[test]
fn a_role_at_its_limit_is_said_so() {
    let config = config(2, "cpus:4;mem:4096").quota(
        "web",
        Quota {
            guarantee: Resources::new(),
            limit: Some(Resources::parse("cpus:2").expect("res")),
        },
    );
    let mut core = MasterCore::new(config).expect("core");
    let (fw, offers) = subscribe(&mut core, "capped", "web", &[]);
    let first = offers.first().expect("an offer").clone();
    launch_all(&mut core, &fw, &first, "t1", "cpus:2;mem:128");
    let answer = why(&core, &fw, "web", ms(2));
    assert_eq!(answer["cause"], "role_at_limit", "{answer}");
}

#[test]
fn what_is_left_below_the_minimum_allocatable_is_said_so() {
    let mut config = config(1, "cpus:4;mem:4096");
    config.min_allocatable = vec![Resources::parse("cpus:2").expect("res")];
    let mut core = MasterCore::new(config).expect("core");
    let (a, offers) = subscribe(&mut core, "big", "web", &[]);
    launch_all(&mut core, &a, &offers[0], "t1", "cpus:3;mem:128");
    // One cpu is left on the agent: under the minimum of two.
    let (b, offers) = subscribe(&mut core, "small", "batch", &[]);
    assert!(offers.is_empty());
    let answer = why(&core, &b, "batch", ms(2));
    assert_eq!(answer["cause"], "below_min_allocatable", "{answer}");
}

#[test]
fn agents_held_by_roles_with_smaller_shares_are_said_so() {
    let mut core = MasterCore::new(config(1, "cpus:4;mem:4096").role("heavy", 4.0)).expect("core");
    let (a, offers) = subscribe(&mut core, "holder", "heavy", &[]);
    launch_all(&mut core, &a, &offers[0], "t1", "cpus:4;mem:4096");
    let (b, offers) = subscribe(&mut core, "starved", "light", &[]);
    assert!(offers.is_empty());
    let answer = why(&core, &b, "light", ms(2));
    // heavy holds everything with weight 4 (share 0.25); light holds nothing (0).
    assert_eq!(answer["cause"], "held", "{answer}");
    assert_eq!(answer["agents"][0]["held_by"]["heavy"], 0.25, "{answer}");
    // Seen from heavy's other framework, the holder's share is not above its own.
    let (c, _) = subscribe(&mut core, "peer", "heavy", &[]);
    let answer = why(&core, &c, "heavy", ms(3));
    assert_eq!(answer["cause"], "held_by_smaller_shares", "{answer}");
}

#[test]
fn agents_in_maintenance_are_said_so() {
    let mut core = MasterCore::new(config(2, "cpus:4;mem:4096")).expect("core");
    let (fw, offers) = subscribe(&mut core, "waiting", "web", &[]);
    assert_eq!(offers.len(), 2);
    for agent in ["agent-0", "agent-1"] {
        core.schedule_maintenance(
            ms(5),
            &corral::AgentId::new(agent),
            Window {
                start: ms(10),
                duration: None,
            },
        )
        .expect("scheduled");
    }
    let mut now = ms(5);
    while let Some(at) = core.next_deadline().filter(|d| *d <= ms(100)) {
        now = at;
        core.tick(now);
    }
    let answer = why(&core, &fw, "web", now);
    assert_eq!(answer["cause"], "agent_in_maintenance", "{answer}");
}

#[test]
fn unknown_frameworks_and_roles_get_their_own_answer() {
    let mut core = MasterCore::new(config(1, "cpus:4;mem:4096")).expect("core");
    let (fw, _) = subscribe(&mut core, "one", "web", &[]);
    assert_eq!(why(&core, &fw, "other", ms(0))["cause"], "not_its_role");
    let ghost = Fw {
        id: FrameworkId::new("ghost"),
        stream: fw.stream.clone(),
    };
    assert_eq!(
        why(&core, &ghost, "web", ms(0))["cause"],
        "unknown_framework"
    );
}
