//! Taking lent resources back, checked where the mutation run (issue 20)
//! found nothing looking: the pure `MasterCore` driven directly, with
//! explicit time, so that offers can stay outstanding and instants are
//! exact. A revocable offer outstanding when the owner reclaims; the fewest
//! tasks picked when the need spans two kinds of resource; the deadline
//! enforced at its instant, not at the next allocation; one framework
//! leaving keeps the others' notices, and one removed by its failover
//! timeout takes its own at once; the 365-day cap on a refuse filter.

#[path = "master_support.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use corral::{AgentId, FrameworkId, Offer, Resources, Role, TaskId};
use corral_proto::convert::*;
use corral_proto::pb;
use corral_proto::pb::call::Type as CallType;
use corral_proto::pb::framework_info::capability::Type as Capability;
use corral_testkit::allocator::Quota;
use corral_testkit::master::outbox::encode;
use corral_testkit::master::{AgentSpec, MasterConfig, MasterCore, Outgoing, StreamId};
use support::*;

const INTERVAL: Duration = Duration::from_millis(100);
const GRACE: Duration = Duration::from_secs(2);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A framework subscribed to the core.
#[derive(Clone, Debug)]
struct Fw {
    id: FrameworkId,
    stream: StreamId,
    role: Role,
}

/// The core, its clock, and every event sent so far, by stream. Every
/// status update is acknowledged as soon as it is sent.
struct Sim {
    core: MasterCore,
    now: Duration,
    inbox: BTreeMap<String, Vec<pb::Event>>,
    frameworks: BTreeMap<String, FrameworkId>,
}

impl Sim {
    fn new(config: MasterConfig) -> Sim {
        Sim {
            core: MasterCore::new(config).expect("valid config"),
            now: Duration::ZERO,
            inbox: BTreeMap::new(),
            frameworks: BTreeMap::new(),
        }
    }

    fn drain(&mut self) {
        // Bounded: each round acknowledges what the last one sent.
        for _ in 0..1000 {
            let mut acks = Vec::new();
            for out in self.core.take_outbox() {
                let Outgoing::Event { stream, event } = out else {
                    continue;
                };
                let stream = stream.as_str().to_owned();
                let event = encode(&event);
                if let (Some(update), Some(fw)) = (&event.update, self.frameworks.get(&stream)) {
                    if update.status.uuid.is_some() {
                        acks.push((stream.clone(), ack_call(fw, &update.status)));
                    }
                }
                self.inbox.entry(stream).or_default().push(event);
            }
            if acks.is_empty() {
                return;
            }
            for (stream, ack) in acks {
                // A framework gone since is refused: nothing to do.
                let _ = self.core.handle(self.now, Some(&stream), ack);
            }
        }
    }

    /// Subscribes a framework of one role; `borrowing` adds
    /// REVOCABLE_RESOURCES, `suppressed` subscribes with its role suppressed.
    fn subscribe(&mut self, name: &str, role: &str, borrowing: bool, suppressed: bool) -> Fw {
        self.subscribe_with(name, role, borrowing, suppressed, None)
    }

    /// `subscribe`, with a failover timeout in seconds.
    fn subscribe_with(
        &mut self,
        name: &str,
        role: &str,
        borrowing: bool,
        suppressed: bool,
        failover_timeout: Option<f64>,
    ) -> Fw {
        let mut caps = vec![Capability::TaskKillingState, Capability::MultiRole];
        if borrowing {
            caps.push(Capability::RevocableResources);
        }
        let mut info = framework_info(name, &[role], &caps);
        info.failover_timeout = failover_timeout;
        let suppressed: &[&str] = if suppressed { &[role] } else { &[] };
        let sub = self
            .core
            .subscribe(self.now, subscribe_call(info, suppressed))
            .expect("subscribed");
        let id = sub.framework.expect("accepted");
        self.frameworks
            .insert(sub.stream.as_str().to_owned(), id.clone());
        self.drain();
        Fw {
            id,
            stream: sub.stream,
            role: Role::from(role),
        }
    }

    fn call(&mut self, fw: &Fw, call: pb::Call) {
        self.core
            .handle(self.now, Some(fw.stream.as_str()), call)
            .expect("call accepted");
        self.drain();
    }

    /// Runs every timer up to `t` (bounded: a timer the core never serves
    /// cannot hang the test), then sets the clock to `t`.
    fn run_to(&mut self, t: Duration) {
        for _ in 0..200_000 {
            match self.core.next_deadline() {
                Some(d) if d <= t => {
                    self.now = self.now.max(d);
                    self.core.tick(self.now);
                    self.drain();
                }
                _ => break,
            }
        }
        self.now = self.now.max(t);
    }

    fn events(&self, fw: &Fw) -> &[pb::Event] {
        self.inbox
            .get(fw.stream.as_str())
            .map_or(&[], Vec::as_slice)
    }

    /// Forgets what `fw` was sent so far.
    fn clear(&mut self, fw: &Fw) {
        self.inbox.remove(fw.stream.as_str());
    }

    /// The offers `fw` was sent (since the last `clear`).
    fn offers(&self, fw: &Fw) -> Vec<Offer> {
        self.events(fw)
            .iter()
            .filter_map(|e| e.offers.as_ref())
            .flat_map(|o| o.offers.iter().cloned())
            .map(|o| Offer::from_pb(o).expect("a well-formed offer"))
            .collect()
    }

    /// The revocation notices `fw` was sent: (id, agent, tasks, deadline).
    fn notices(&self, fw: &Fw) -> Vec<(String, AgentId, Vec<TaskId>, i64)> {
        self.events(fw)
            .iter()
            .filter_map(|e| e.inverse_offers.as_ref())
            .flat_map(|i| i.inverse_offers.iter())
            .filter(|i| !i.revoked_task_ids.is_empty())
            .map(|i| {
                (
                    i.id.value.clone(),
                    AgentId::new(i.agent_id.clone().unwrap().value),
                    i.revoked_task_ids
                        .iter()
                        .map(|t| TaskId::new(t.value.clone()))
                        .collect(),
                    i.unavailability.start.nanoseconds,
                )
            })
            .collect()
    }

    /// The offer ids rescinded to `fw`.
    fn rescinded(&self, fw: &Fw) -> Vec<String> {
        self.events(fw)
            .iter()
            .filter_map(|e| e.rescind.as_ref())
            .map(|r| r.offer_id.value.clone())
            .collect()
    }

    /// The notice (inverse offer) ids withdrawn from `fw`.
    fn withdrawn(&self, fw: &Fw) -> Vec<String> {
        self.events(fw)
            .iter()
            .filter_map(|e| e.rescind_inverse_offer.as_ref())
            .map(|r| r.inverse_offer_id.value.clone())
            .collect()
    }

    /// The TASK_KILLING updates `fw` was sent for `task`, their timestamps
    /// in seconds.
    fn killing(&self, fw: &Fw, task: &str) -> Vec<f64> {
        self.events(fw)
            .iter()
            .filter_map(|e| e.update.as_ref())
            .map(|u| &u.status)
            .filter(|s| s.task_id.value == task && state_of(s) == pb::TaskState::TaskKilling)
            .map(|s| s.timestamp.unwrap_or_default())
            .collect()
    }

    /// Launches on `offer` one task per `(id, resources)`, each a
    /// simulated command with `cleanup_ms` to stop once killed.
    fn launch(&mut self, fw: &Fw, offer: &Offer, tasks: &[(&str, Resources)], cleanup_ms: u64) {
        let infos = tasks
            .iter()
            .map(|(id, r)| pb::TaskInfo {
                name: (*id).into(),
                task_id: pb::TaskId {
                    value: (*id).into(),
                },
                agent_id: offer.agent_id.to_pb(),
                resources: r.allocated_to(&fw.role).to_pb(),
                command: Some(pb::CommandInfo {
                    value: Some("./run".into()),
                    ..Default::default()
                }),
                labels: Some(pb::Labels {
                    labels: vec![pb::Label {
                        key: "corral.sim/cleanup".into(),
                        value: Some(cleanup_ms.to_string()),
                    }],
                }),
                kill_policy: Some(pb::KillPolicy {
                    grace_period: Some(pb::DurationInfo {
                        nanoseconds: GRACE.as_nanos() as i64,
                    }),
                }),
                ..Default::default()
            })
            .collect();
        let id = offer.id.to_pb();
        self.call(fw, accept_call(&fw.id, &[&id], vec![launch(infos)], None));
    }

    fn decline(&mut self, fw: &Fw, offer: &Offer, refuse_seconds: f64) {
        let id = offer.id.to_pb();
        self.call(fw, decline_call(&fw.id, &[&id], Some(refuse_seconds)));
    }

    fn revive(&mut self, fw: &Fw) {
        let role = fw.role.as_str().to_owned();
        self.call(fw, roles_call(&fw.id, CallType::Revive, &[&role]));
    }

    /// REQUEST: `fw`'s role wants `resources`.
    fn request(&mut self, fw: &Fw, resources: &Resources) {
        let call = pb::Call {
            request: Some(pb::call::Request {
                requests: vec![pb::Request {
                    agent_id: None,
                    resources: resources.allocated_to(&fw.role).to_pb(),
                }],
            }),
            ..call(&fw.id, CallType::Request)
        };
        self.call(fw, call);
    }

    fn decline_notice(&mut self, fw: &Fw, notice: &str) {
        let call = pb::Call {
            decline_inverse_offers: Some(pb::call::DeclineInverseOffers {
                inverse_offer_ids: vec![pb::OfferId {
                    value: notice.into(),
                }],
                filters: None,
            }),
            ..call(&fw.id, CallType::DeclineInverseOffers)
        };
        self.call(fw, call);
    }

    fn teardown(&mut self, fw: &Fw) {
        self.call(fw, call(&fw.id, CallType::Teardown));
    }
}

fn cpus(n: f64) -> Resources {
    Resources::new().with_cpus(n)
}

fn guarantee(r: Resources) -> Quota {
    Quota {
        guarantee: r,
        limit: None,
    }
}

fn nanos(t: Duration) -> i64 {
    i64::try_from(t.as_nanos()).unwrap()
}

/// The one offer `fw` got on `agent` since the last `clear`.
fn offer_on(sim: &Sim, fw: &Fw, agent: &str) -> Offer {
    let mut on: Vec<Offer> = sim
        .offers(fw)
        .into_iter()
        .filter(|o| o.agent_id.as_str() == agent)
        .collect();
    assert_eq!(on.len(), 1, "one offer on {agent}: {on:?}");
    on.pop().unwrap()
}

/// An owner reclaims while the borrower still holds an outstanding
/// revocable offer of what was lent (on a-1) and a regular offer (on a-0):
/// the revocable offer is rescinded, nothing else is, and no task is
/// revoked (nothing runs on what is lent).
#[test]
fn an_outstanding_revocable_offer_is_rescinded_for_the_owner_and_only_it() {
    let config = MasterConfig::default()
        .agent(AgentSpec::new("a-0", cpus(4.0)))
        .agent(AgentSpec::new("a-1", cpus(4.0)))
        .quota("owner", guarantee(cpus(4.0)))
        .allocation_interval(INTERVAL)
        .seed(1);
    let mut sim = Sim::new(config);
    let owner = sim.subscribe("owner", "owner", false, true);
    let borrower = sim.subscribe("borrower", "borrower", true, false);
    sim.run_to(secs(1));
    let regular = offer_on(&sim, &borrower, "a-0");
    let lent = offer_on(&sim, &borrower, "a-1");
    assert_eq!(regular.resources, cpus(4.0).allocated_to(&borrower.role));
    assert_eq!(
        lent.resources,
        cpus(4.0).revocable().allocated_to(&borrower.role)
    );
    // A borrowed task elsewhere would hide a rescind of the wrong offer:
    // nothing runs anywhere.
    sim.clear(&borrower);

    sim.run_to(Duration::from_millis(1_234));
    sim.revive(&owner);
    sim.run_to(secs(2));
    assert_eq!(sim.rescinded(&borrower), [lent.id.as_str().to_owned()]);
    let state = sim.core.state(sim.now);
    let outstanding: Vec<_> = state.offers.iter().map(|o| o.id.clone()).collect();
    assert!(
        outstanding.contains(&regular.id),
        "the regular offer stays: {outstanding:?}"
    );
    assert!(!outstanding.contains(&lent.id));
    assert!(state.notices.is_empty(), "{:?}", state.notices);
    assert!(sim.notices(&borrower).is_empty());
    // The owner is offered what came back, regular now.
    let back = offer_on(&sim, &owner, "a-1");
    assert_eq!(back.resources, cpus(4.0).allocated_to(&owner.role));
    sim.core.check_invariants().unwrap();
}

/// The need spans CPUs and memory and no borrowed task covers it alone:
/// the most recent task that helps (P, CPUs) is taken, then the memory
/// comes from M1 and M2. Q (CPUs only, more recent than M1 and M2) helps
/// with nothing once P is taken and is left running: three tasks, not
/// four.
#[test]
fn a_task_that_helps_only_with_what_is_already_met_is_not_revoked() {
    let agent = Resources::parse("cpus:4;mem:1024").unwrap();
    let config = MasterConfig::default()
        .agent(AgentSpec::new("a-0", agent.clone()))
        .quota("owner", guarantee(agent))
        .allocation_interval(INTERVAL)
        .seed(2);
    let mut sim = Sim::new(config);
    let owner = sim.subscribe("owner", "owner", false, true);
    let borrower = sim.subscribe("borrower", "borrower", true, false);
    sim.run_to(secs(1));
    let offer = offer_on(&sim, &borrower, "a-0");
    let mem = |m: f64| Resources::new().with_mem(m).revocable();
    let cpu = |c: f64| cpus(c).revocable();
    // Oldest first: P is the most recent.
    let tasks = [
        ("s", cpu(2.0)),
        ("m2", mem(128.0)),
        ("m1", mem(128.0)),
        ("q", cpu(1.0)),
        ("p", cpu(1.0)),
    ];
    // What is left (768 MB) goes back unused, filtered for the borrower
    // for the default 5 s: free, not lent.
    sim.launch(&borrower, &offer, &tasks, 500);
    sim.run_to(secs(2));
    sim.clear(&borrower);

    // The owner wants 1 CPU and 1024 MB: 768 MB are free, so 1 CPU and
    // 256 MB must come back.
    sim.request(&owner, &Resources::parse("cpus:1;mem:1024").unwrap());
    sim.revive(&owner);
    sim.run_to(secs(3));
    let notices = sim.notices(&borrower);
    assert_eq!(notices.len(), 1, "{notices:?}");
    let mut taken = notices[0].2.clone();
    taken.sort();
    assert_eq!(
        taken,
        [TaskId::new("m1"), TaskId::new("m2"), TaskId::new("p")]
    );
    sim.core.check_invariants().unwrap();
}

/// A notice made between two allocation cycles is enforced at its
/// deadline to the nanosecond, not at the next cycle; the borrower that
/// declined it sees TASK_KILLING at that instant, once per task.
#[test]
fn a_declined_notice_is_enforced_at_its_exact_deadline() {
    let notice = Duration::from_millis(3_000);
    let config = MasterConfig::default()
        .agent(AgentSpec::new("a-0", cpus(4.0)))
        .quota("owner", guarantee(cpus(4.0)))
        .allocation_interval(INTERVAL)
        .revocation_notice(notice)
        .seed(3);
    let mut sim = Sim::new(config);
    let owner = sim.subscribe("owner", "owner", false, true);
    let borrower = sim.subscribe("borrower", "borrower", true, false);
    sim.run_to(secs(1));
    let offer = offer_on(&sim, &borrower, "a-0");
    let tasks = [
        ("b-1", cpus(2.0).revocable()),
        ("b-2", cpus(2.0).revocable()),
    ];
    sim.launch(&borrower, &offer, &tasks, 500);
    sim.run_to(secs(2));
    sim.clear(&borrower);

    // Between two cycles (they run every 100 ms from 0).
    let asked = Duration::from_millis(2_037);
    sim.run_to(asked);
    sim.request(&owner, &cpus(2.0));
    sim.revive(&owner);
    let notices = sim.notices(&borrower);
    assert_eq!(notices.len(), 1, "made at once: {notices:?}");
    let (id, _, taken, deadline) = notices[0].clone();
    assert_eq!(taken, [TaskId::new("b-2")], "one task frees 2 CPUs");
    assert_eq!(deadline, nanos(asked + notice));
    sim.decline_notice(&borrower, &id);

    sim.run_to(asked + notice - Duration::from_nanos(1));
    assert!(sim.killing(&borrower, "b-2").is_empty(), "not before");
    sim.run_to(asked + notice + secs(1));
    let at = sim.killing(&borrower, "b-2");
    assert_eq!(at.len(), 1, "{at:?}");
    assert!(
        (at[0] - (asked + notice).as_secs_f64()).abs() < 1e-9,
        "TASK_KILLING at {}s, the deadline is {:?}",
        at[0],
        asked + notice
    );
    assert!(
        sim.killing(&borrower, "b-1").is_empty(),
        "b-1 keeps running"
    );
    sim.core.check_invariants().unwrap();
}

/// Two borrowers hold notices on one agent; one of them leaves. Its
/// notice goes with it; the other's stays, and is enforced at its deadline.
#[test]
fn a_framework_leaving_keeps_the_other_frameworks_notices() {
    let config = MasterConfig::default()
        .agent(AgentSpec::new("a-0", cpus(4.0)))
        .quota("owner", guarantee(cpus(4.0)))
        .allocation_interval(INTERVAL)
        .seed(4);
    let mut sim = Sim::new(config);
    let owner = sim.subscribe("owner", "owner", false, true);
    let b1 = sim.subscribe("b1", "b1", true, false);
    let b2 = sim.subscribe("b2", "b2", true, false);
    sim.run_to(secs(1));
    // Whoever is offered the 4 CPUs runs 2 and leaves 2 for the other.
    let mut launched = 0;
    for t in 1..=20u64 {
        for (fw, name) in [(&b1, "b1"), (&b2, "b2")] {
            let offers: Vec<Offer> = sim.offers(fw);
            sim.clear(fw);
            for offer in offers {
                if launched < 2
                    && !sim
                        .core
                        .state(sim.now)
                        .tasks
                        .iter()
                        .any(|t| t.framework == fw.id)
                {
                    let task = format!("{name}-task");
                    sim.launch(fw, &offer, &[(&task, cpus(2.0).revocable())], 500);
                    launched += 1;
                } else {
                    sim.decline(fw, &offer, 0.0);
                }
            }
        }
        if launched == 2 {
            break;
        }
        sim.run_to(secs(1) + INTERVAL * t as u32);
    }
    assert_eq!(launched, 2, "both borrowers run a task");

    sim.revive(&owner);
    sim.run_to(sim.now + secs(1));
    let n1 = sim.notices(&b1);
    let n2 = sim.notices(&b2);
    assert_eq!((n1.len(), n2.len()), (1, 1), "{n1:?} {n2:?}");
    sim.decline_notice(&b1, &n1[0].0);
    sim.decline_notice(&b2, &n2[0].0);

    sim.teardown(&b1);
    let state = sim.core.state(sim.now);
    let left: Vec<_> = state
        .notices
        .iter()
        .map(|n| (n.id.as_str().to_owned(), n.framework.clone()))
        .collect();
    assert_eq!(left, [(n2[0].0.clone(), b2.id.clone())]);
    sim.core.check_invariants().unwrap();

    // b2's is still enforced, and withdrawn once its task ended.
    let deadline = Duration::from_nanos(n2[0].3 as u64);
    sim.run_to(deadline + secs(1));
    assert_eq!(sim.killing(&b2, "b2-task").len(), 1);
    assert_eq!(sim.withdrawn(&b2), [n2[0].0.clone()]);
    assert!(sim.core.state(sim.now).notices.is_empty());
    sim.core.check_invariants().unwrap();
}

/// A refuse filter longer than a year is capped at 365 days, not less:
/// the declined agent is offered again only then.
#[test]
fn a_refuse_filter_is_capped_at_365_days() {
    const DAY: Duration = Duration::from_secs(24 * 3600);
    let hour = Duration::from_secs(3600);
    let config = MasterConfig::default()
        .agent(AgentSpec::new("a-0", cpus(4.0)))
        .allocation_interval(hour)
        .heartbeat_interval(DAY)
        .offer_timeout(None)
        .seed(5);
    let mut sim = Sim::new(config);
    let web = sim.subscribe("web", "web", false, false);
    sim.run_to(secs(1));
    let offer = offer_on(&sim, &web, "a-0");
    sim.decline(&web, &offer, 1e12);
    sim.clear(&web);
    sim.run_to(DAY * 364);
    assert!(sim.offers(&web).is_empty(), "filtered for 364 days");
    sim.run_to(DAY * 365 + secs(1) + hour);
    let again = offer_on(&sim, &web, "a-0");
    assert_eq!(again.resources, offer.resources);
}

/// A borrower with a notice disconnects and its failover timeout ends
/// between two allocation cycles: its notice goes with it at that instant,
/// not at the next cycle.
#[test]
fn a_framework_removed_by_its_failover_timeout_takes_its_notice_at_once() {
    let config = MasterConfig::default()
        .agent(AgentSpec::new("a-0", cpus(4.0)))
        .quota("owner", guarantee(cpus(4.0)))
        .allocation_interval(INTERVAL)
        .seed(6);
    let mut sim = Sim::new(config);
    let owner = sim.subscribe("owner", "owner", false, true);
    let borrower = sim.subscribe_with("borrower", "borrower", true, false, Some(1.05));
    sim.run_to(secs(1));
    let offer = offer_on(&sim, &borrower, "a-0");
    sim.launch(&borrower, &offer, &[("b-1", cpus(4.0).revocable())], 500);
    sim.run_to(secs(2));
    sim.request(&owner, &cpus(4.0));
    sim.revive(&owner);
    assert_eq!(sim.notices(&borrower).len(), 1);
    sim.run_to(Duration::from_millis(2_500));
    let stream = borrower.stream.clone();
    sim.core.disconnect(sim.now, &stream);
    sim.drain();
    // Removed at 3.55 s, between the cycles at 3.5 and 3.6.
    sim.run_to(Duration::from_millis(3_549));
    assert_eq!(sim.core.state(sim.now).notices.len(), 1, "not yet removed");
    sim.run_to(Duration::from_millis(3_550));
    let state = sim.core.state(sim.now);
    assert!(state.removed_frameworks.contains(&borrower.id));
    assert!(state.notices.is_empty(), "{:?}", state.notices);
    sim.core.check_invariants().unwrap();
}
