//! The core on its own: events and decisions in, calls out, no transport,
//! no scheduler, no clock but the instants the test passes.

use std::time::Duration;

use tokio::time::Instant;

use super::config::{AckMode, Config};
use super::core::{After, Core, Outgoing, Received, Then};
use super::state::{RECENTLY_ENDED_CAPACITY, SEEN_UPDATES_CAPACITY};
use crate::error::{Error, InvalidLaunch};
use crate::event::Event;
use crate::{
    Call, CallKind, FrameworkInfo, InverseItem, InverseOffer, MalformedItem, MasterEvent, Offer,
    OfferId, ProtocolError, Resources, RevocationNotice, Role, Subscribed, TaskId, TaskInfo,
    TaskState, TaskStatus, Unavailability,
};

fn core(config: Config) -> Core {
    let mut core = Core::new(FrameworkInfo::new("t").with_roles(["a", "b"]), config);
    core.connected(
        "stream-1".into(),
        Subscribed::new("fw-1", Duration::from_secs(1)),
    );
    core
}

fn offer(id: &str, cpus: f64) -> Offer {
    Offer::new(
        id,
        "agent-1",
        Resources::new().with_cpus(cpus).with_mem(256.0),
    )
    .with_role("a")
}

fn task(id: &str) -> TaskInfo {
    TaskInfo::new(id).with_resources(Resources::new().with_cpus(1.0))
}

fn update(task: &str, state: TaskState, uuid: u32) -> TaskStatus {
    TaskStatus::new(task, state)
        .with_agent("agent-1")
        .with_uuid(uuid.to_be_bytes().to_vec())
}

fn kinds(outs: &[Outgoing]) -> Vec<CallKind> {
    outs.iter().map(|o| o.call.kind()).collect()
}

/// Admits `event` and, if it is delivered, runs the "after" step: what
/// the shell does around a handler that does nothing. Returns whether it
/// was delivered and every call the core asked for (each reported sent).
fn through(core: &mut Core, event: Event) -> (bool, Vec<Outgoing>) {
    let admitted = core.admit(event);
    let mut outs = admitted.send;
    let delivered = admitted.deliver.is_some();
    if let Some((_, after)) = admitted.deliver {
        outs.extend(core.handled(after));
    }
    for out in &outs {
        core.sent(out.then.clone(), &Ok(()));
    }
    (delivered, outs)
}

#[test]
fn an_unanswered_offer_is_declined_with_the_long_filter_and_a_used_one_is_not() {
    let mut core = core(Config::default());
    let admitted = core.admit(Event::Offers(vec![offer("o1", 2.0), offer("o2", 2.0)]));
    let (_, after) = admitted.deliver.unwrap();
    // The handler launches on o1.
    let launch = core.launch(&offer("o1", 2.0), vec![task("t1")]).unwrap();
    assert_eq!(launch.call.kind(), CallKind::Accept);
    let Call::Accept(accept) = &launch.call else {
        unreachable!()
    };
    assert_eq!(accept.agent.as_str(), "agent-1");
    assert_eq!(accept.role, Role::from("a"));
    let outs = core.handled(after);
    assert_eq!(
        outs.iter().map(|o| o.call.clone()).collect::<Vec<_>>(),
        vec![Call::Decline {
            offers: vec![OfferId::from("o2")],
            refuse: Some(Duration::from_secs(300)),
        }]
    );
    assert!(matches!(
        core.decline(&"o2".into(), None),
        Err(Error::UnknownOffer(_))
    ));
}

#[test]
fn one_bad_offer_among_good_ones_shows_the_good_ones_and_declines_the_bad_one() {
    let mut core = core(Config::default());
    let received = core.receive(MasterEvent::Offers {
        offers: vec![offer("good-1", 1.0), offer("good-2", 1.0)],
        malformed: vec![
            MalformedItem::new(
                Some("bad".into()),
                ProtocolError::new("offer resources", "bad: SCALAR without a value"),
            ),
            MalformedItem::new(None, ProtocolError::new("offer", "empty offer id")),
        ],
    });
    let Received::Events(events, first) = received else {
        panic!("expected events")
    };
    assert_eq!(
        events,
        vec![Event::Offers(vec![
            offer("good-1", 1.0),
            offer("good-2", 1.0)
        ])]
    );
    assert_eq!(
        first.iter().map(|o| o.call.clone()).collect::<Vec<_>>(),
        vec![Call::Decline {
            offers: vec![OfferId::from("bad")],
            refuse: None
        }],
        "the identifiable bad offer goes back at once; the unidentifiable one is only logged"
    );
    // Then the good ones, left unanswered by the handler, go back after it.
    let mut events = events;
    let (shown, outs) = through(&mut core, events.remove(0));
    assert!(shown);
    assert_eq!(
        outs.iter().map(|o| o.call.clone()).collect::<Vec<_>>(),
        vec![Call::Decline {
            offers: vec![OfferId::from("good-1"), OfferId::from("good-2")],
            refuse: Some(Duration::from_secs(300)),
        }]
    );
    // A batch of nothing but bad offers shows the framework nothing.
    let only_bad = core.receive(MasterEvent::Offers {
        offers: vec![],
        malformed: vec![MalformedItem::new(
            Some("bad-2".into()),
            ProtocolError::new("offer", "no agent"),
        )],
    });
    assert!(matches!(only_bad, Received::Events(e, d) if e.is_empty() && d.len() == 1));
}

#[test]
fn updates_are_acked_after_the_handler_and_resends_are_acked_but_hidden() {
    let mut core = core(Config::default());
    let (shown, outs) = through(
        &mut core,
        Event::Update(update("t1", TaskState::Running, 1)),
    );
    assert!(shown);
    assert_eq!(kinds(&outs), vec![CallKind::Acknowledge]);
    let (shown, outs) = through(
        &mut core,
        Event::Update(update("t1", TaskState::Running, 1)),
    );
    assert!(!shown, "a resend is hidden");
    assert_eq!(kinds(&outs), vec![CallKind::Acknowledge], "and acked again");
    let (shown, _) = through(
        &mut core,
        Event::Update(update("t1", TaskState::Finished, 2)),
    );
    assert!(shown);
    assert_eq!(
        core.task_status(&"t1".into()).unwrap().state,
        TaskState::Finished,
        "an ended task's last status is still known"
    );
    // After its end: a late resend, or a new update of the ended task, is
    // acked and hidden.
    let (shown, outs) = through(
        &mut core,
        Event::Update(update("t1", TaskState::Finished, 2)),
    );
    assert!(!shown && kinds(&outs) == vec![CallKind::Acknowledge]);
    let (shown, outs) = through(&mut core, Event::Update(update("t1", TaskState::Lost, 3)));
    assert!(!shown && kinds(&outs) == vec![CallKind::Acknowledge]);
}

#[test]
fn a_hundred_thousand_tasks_launched_and_finished_leave_the_maps_bounded() {
    let mut core = core(Config::default());
    let mut peak = (0, 0, 0);
    for i in 0..100_000u32 {
        let id = format!("t{i}");
        let o = offer(&format!("o{i}"), 1.0);
        let (_, after) = core.admit(Event::Offers(vec![o.clone()])).deliver.unwrap();
        let out = core.launch(&o, vec![task(&id)]).unwrap();
        core.sent(out.then, &Ok(()));
        assert!(core.handled(after).is_empty(), "the offer was used");
        through(
            &mut core,
            Event::Update(update(&id, TaskState::Running, 2 * i)),
        );
        let (_, outs) = through(
            &mut core,
            Event::Update(update(&id, TaskState::Finished, 2 * i + 1)),
        );
        assert_eq!(
            outs.last().map(|o| o.then.clone()),
            Some(Then::AckedEnd(id.as_str().into()))
        );
        let (tasks, seen, notices) = core.footprint();
        peak = (peak.0.max(tasks), peak.1.max(seen), peak.2.max(notices));
    }
    let (tasks, seen, _) = peak;
    assert!(
        tasks <= RECENTLY_ENDED_CAPACITY + 1,
        "{tasks} tasks remembered"
    );
    assert!(
        seen <= SEEN_UPDATES_CAPACITY,
        "{seen} update ids remembered"
    );
    assert_eq!(core.footprint().0, RECENTLY_ENDED_CAPACITY);
    assert!(
        core.task_status(&"t99999".into()).is_some(),
        "recent: known"
    );
    assert!(core.task_status(&"t0".into()).is_none(), "old: forgotten");
}

#[test]
fn tasks_learned_from_the_master_are_capped_but_still_shown() {
    let mut core = core(Config::default());
    core.tasks_mut().set_capacities(100, 10);
    let mut shown = 0;
    for i in 0..1_000u32 {
        let status = TaskStatus::new(format!("stranger-{i}"), TaskState::Running);
        if through(&mut core, Event::Update(status)).0 {
            shown += 1;
        }
    }
    assert_eq!(shown, 1_000, "every update reaches the scheduler");
    assert!(core.footprint().0 <= 110, "{:?}", core.footprint());
}

#[test]
fn in_explicit_mode_an_ended_task_is_forgotten_once_the_framework_acks_it() {
    let mut core = core(Config::default().with_ack_mode(AckMode::Explicit));
    let status = update("t1", TaskState::Failed, 7);
    let (shown, outs) = through(&mut core, Event::Update(status.clone()));
    assert!(shown && outs.is_empty(), "no implicit ack");
    assert_eq!(core.footprint().0, 1);
    let ack = core.acknowledge(&status).unwrap();
    assert_eq!(ack.then, Then::AckedEnd("t1".into()));
    core.sent(ack.then, &Ok(()));
    assert_eq!(
        core.task_status(&"t1".into()).unwrap().state,
        TaskState::Failed
    );
    assert!(matches!(
        core.acknowledge(&TaskStatus::new("t2", TaskState::Running)),
        Err(Error::NotAcknowledgeable(_))
    ));
}

#[test]
fn a_terminal_reconciliation_answer_ends_the_task_at_once() {
    let mut core = core(Config::default());
    through(
        &mut core,
        Event::Update(update("t1", TaskState::Running, 1)),
    );
    let (shown, outs) = through(
        &mut core,
        Event::Update(TaskStatus::new("t1", TaskState::Lost)),
    );
    assert!(shown && outs.is_empty(), "no uuid: nothing to acknowledge");
    assert!(core
        .reconcile_all()
        .iter()
        .all(|o| matches!(&o.call, Call::Reconcile(t) if t.is_empty())));
}

#[test]
fn revives_are_rate_limited_queued_and_sent_when_due() {
    let mut core = core(Config::default());
    let t0 = Instant::now();
    let a = [Role::from("a")];
    let (out, queued) = core.revive(&a, t0).unwrap();
    assert!(out.is_some() && !queued);
    let (out, queued) = core.revive(&a, t0 + Duration::from_millis(10)).unwrap();
    assert!(out.is_none() && queued, "within the interval: queued");
    assert_eq!(core.next_revive(), Some(t0 + Duration::from_secs(1)));
    assert!(core.due_revives(t0 + Duration::from_millis(999)).is_none());
    let due = core.due_revives(t0 + Duration::from_secs(1)).unwrap();
    assert_eq!(due.call, Call::Revive(a.to_vec()));
    assert!(matches!(
        core.revive(&[Role::from("zzz")], t0),
        Err(Error::NotOwnRole { .. })
    ));
}

#[test]
fn a_huge_revive_interval_does_not_overflow() {
    let mut core = core(Config::default().with_min_revive_interval(Duration::MAX));
    let t0 = Instant::now();
    core.revive(&[Role::from("a")], t0).unwrap();
    let (_, queued) = core.revive(&[Role::from("a")], t0).unwrap();
    assert!(queued);
    assert!(core.next_revive().is_some_and(|t| t > t0));
}

#[test]
fn demand_suppresses_and_revives_only_what_changes() {
    let mut core = core(Config::default());
    let (suppress, revive) = core.demand(|_| Some(false)).unwrap();
    assert_eq!(suppress, vec![Role::from("a"), Role::from("b")]);
    assert!(revive.is_empty());
    let out = core.suppress(&suppress).unwrap();
    core.sent(out.then, &Ok(()));
    assert_eq!(core.demand(|_| Some(false)), Some((vec![], vec![])));
    let (_, revive) = core.demand(|r| Some(r.as_str() == "b")).unwrap();
    assert_eq!(revive, vec![Role::from("b")]);
    core.lost();
    assert_eq!(core.demand(|_| Some(true)), None, "disconnected: nothing");
}

#[test]
fn launches_are_checked_before_anything_is_sent() {
    let mut core = core(Config::default());
    let o = offer("o1", 2.0);
    core.admit(Event::Offers(vec![o.clone()]));
    let big = TaskInfo::new("big").with_resources(Resources::new().with_cpus(64.0));
    assert!(matches!(
        core.launch(&o, vec![big]),
        Err(Error::InvalidLaunch(InvalidLaunch::DoesNotFit { .. }))
    ));
    assert!(matches!(
        core.launch(&o, vec![task("x"), task("x")]),
        Err(Error::InvalidLaunch(InvalidLaunch::DuplicateTask(_)))
    ));
    assert!(matches!(
        core.launch(&o, vec![]),
        Err(Error::InvalidLaunch(InvalidLaunch::NoTasks))
    ));
    let out = core.launch(&o, vec![task("x")]).unwrap();
    // The master refuses the whole ACCEPT: the task is forgotten.
    core.sent(
        out.then,
        &Err(Error::Transport(crate::TransportError::rejected(
            crate::RejectKind::InvalidArgument,
            "no",
        ))),
    );
    assert!(core.task_status(&"x".into()).is_none());
    assert!(
        core.reconcile_all().len() == 1,
        "only the implicit reconcile"
    );
    core.lost();
    assert!(matches!(
        core.kill(&"x".into(), None),
        Err(Error::Disconnected)
    ));
}

#[test]
fn heartbeats_and_errors_are_the_loops_business() {
    let mut core = core(Config::default());
    assert_eq!(core.receive(MasterEvent::Heartbeat), Received::Nothing);
    assert_eq!(
        core.receive(MasterEvent::Error("gone".into())),
        Received::End("gone".into())
    );
    assert_eq!(
        core.receive(MasterEvent::Malformed(ProtocolError::new("event", "?"))),
        Received::Nothing
    );
    let _ = After::Nothing;
}

#[test]
fn suppress_goes_out_once_across_many_handler_runs() {
    let mut core = core(Config::default());
    let mut suppress_calls = 0;
    for i in 0..5u32 {
        let (shown, _) = through(
            &mut core,
            Event::Update(update(&format!("t{i}"), TaskState::Running, i)),
        );
        assert!(shown);
        // What the shell does after every handler: apply the demand.
        let (suppress, revive) = core.demand(|_| Some(false)).unwrap();
        assert!(revive.is_empty());
        if !suppress.is_empty() {
            let out = core.suppress(&suppress).unwrap();
            assert_eq!(out.call.kind(), CallKind::Suppress);
            suppress_calls += 1;
            core.sent(out.then, &Ok(()));
        }
    }
    assert_eq!(
        suppress_calls, 1,
        "suppressed once, not after every handler"
    );
    // A refused SUPPRESS leaves the roles wanting suppression.
    let mut core = self::core(Config::default());
    let out = core.suppress(&[Role::from("a")]).unwrap();
    core.sent(out.then, &Err(Error::Disconnected));
    assert_eq!(
        core.demand(|_| Some(false)).unwrap().0,
        vec![Role::from("a"), Role::from("b")]
    );
}

#[test]
fn a_repeated_state_with_a_new_uuid_is_acked_but_hidden() {
    let mut core = core(Config::default());
    let (shown, _) = through(
        &mut core,
        Event::Update(update("t1", TaskState::Running, 1)),
    );
    assert!(shown);
    let (shown, outs) = through(
        &mut core,
        Event::Update(update("t1", TaskState::Running, 2)),
    );
    assert!(!shown, "the handler already knows t1 is running");
    assert_eq!(kinds(&outs), vec![CallKind::Acknowledge]);
    let (shown, _) = through(
        &mut core,
        Event::Update(update("t1", TaskState::Finished, 3)),
    );
    assert!(shown, "a new state is shown");
    // Explicit mode: the framework never sees the repeat, so the core acks it.
    let mut core = self::core(Config::default().with_ack_mode(AckMode::Explicit));
    assert!(
        through(
            &mut core,
            Event::Update(update("t1", TaskState::Running, 1))
        )
        .0
    );
    let (shown, outs) = through(
        &mut core,
        Event::Update(update("t1", TaskState::Running, 2)),
    );
    assert!(!shown);
    assert_eq!(kinds(&outs), vec![CallKind::Acknowledge]);
}

/// A notice taking `tasks` on agent-1 at 30 s on the master's clock.
fn notice(id: &str, tasks: &[&str]) -> RevocationNotice {
    RevocationNotice::new(
        id,
        "agent-1",
        tasks.iter().map(|t| TaskId::from(*t)),
        Resources::new()
            .with_cpus(tasks.len() as f64)
            .allocated_to(&Role::from("b"))
            .revocable(),
        Duration::from_secs(30),
    )
}

/// The framework is reconnected: a new session, as after a failover.
fn reconnect(core: &mut Core, stream: &str) {
    core.lost();
    core.connected(
        stream.into(),
        Subscribed::new("fw-1", Duration::from_secs(1)),
    );
}

#[test]
fn a_notice_resent_after_a_reconnection_is_hidden_once_answered_and_shown_while_unanswered() {
    let mut core = core(Config::default());
    let first = notice("rev-1", &["t1"]);
    assert!(through(&mut core, Event::Revocation(first.clone())).0);
    // The handler declines it: one DECLINE_INVERSE_OFFERS naming it.
    let answer = core
        .answer_inverse_offers(std::slice::from_ref(&first.id), false)
        .unwrap();
    assert_eq!(
        answer.call,
        Call::DeclineInverseOffers(vec![OfferId::from("rev-1")])
    );
    core.sent(answer.then, &Ok(()));
    // The master fails over and sends the outstanding notice again, then an
    // offer: the resend is hidden, what follows still comes.
    reconnect(&mut core, "stream-2");
    assert!(!through(&mut core, Event::Revocation(first.clone())).0);
    assert!(through(&mut core, Event::Offers(vec![offer("o1", 1.0)])).0);
    // Withdrawn: shown, and the id forgotten, so a new notice reusing it is
    // a new notice.
    assert!(through(&mut core, Event::InverseOfferRescinded("rev-1".into())).0);
    let second = notice("rev-1", &["t2"]);
    assert!(through(&mut core, Event::Revocation(second.clone())).0);
    // Left unanswered, its resend after another reconnection comes back:
    // the master still waits for an answer.
    reconnect(&mut core, "stream-3");
    assert!(through(&mut core, Event::Revocation(second.clone())).0);
    // An answer that did not reach the master does not count either.
    let answer = core
        .answer_inverse_offers(std::slice::from_ref(&second.id), true)
        .unwrap();
    assert_eq!(
        answer.call,
        Call::AcceptInverseOffers(vec![OfferId::from("rev-1")])
    );
    core.sent(answer.then, &Err(Error::Disconnected));
    reconnect(&mut core, "stream-4");
    assert!(through(&mut core, Event::Revocation(second)).0);
}

#[test]
fn inverse_offers_reach_the_framework_split_in_wire_order_without_the_malformed_ones() {
    let mut core = core(Config::default());
    let maintenance = |id: &str| {
        InverseItem::Maintenance(InverseOffer::new(
            id,
            Some("agent-2".into()),
            Unavailability {
                start: Duration::from_secs(60),
                duration: None,
            },
            Resources::new(),
        ))
    };
    let received = core.receive(MasterEvent::InverseOffers(vec![
        maintenance("m1"),
        InverseItem::Revocation(notice("rev-1", &["t1"])),
        InverseItem::Malformed(MalformedItem::new(
            Some("bad-1".into()),
            ProtocolError::new("revocation notice", "no agent"),
        )),
        maintenance("m2"),
        maintenance("m3"),
    ]));
    let Received::Events(events, first) = received else {
        panic!("expected events")
    };
    assert!(first.is_empty(), "nothing to send for a malformed notice");
    let shape: Vec<Vec<&str>> = events
        .iter()
        .map(|e| match e {
            Event::InverseOffers(offers) => offers.iter().map(|o| o.id.as_str()).collect(),
            Event::Revocation(n) => vec![n.id.as_str()],
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(shape, vec![vec!["m1"], vec!["rev-1"], vec!["m2", "m3"]]);
    // A batch of nothing but malformed notices shows nothing, and the next
    // event still comes.
    let only_bad = core.receive(MasterEvent::InverseOffers(vec![InverseItem::Malformed(
        MalformedItem::new(
            None,
            ProtocolError::new("revocation notice", "regular resources"),
        ),
    )]));
    assert_eq!(only_bad, Received::Events(vec![], vec![]));
    assert!(matches!(
        core.receive(MasterEvent::Rescind("o9".into())),
        Received::Events(e, _) if e == vec![Event::Rescinded("o9".into())]
    ));
}

#[test]
fn a_release_kills_the_live_tasks_on_the_notices_agent_and_nothing_when_disconnected() {
    let mut core = core(Config::default());
    // t1 runs, t2 is already being killed, t3 has finished; t4 is not known
    // to the framework yet (the notice says it runs).
    for (task, state, uuid) in [
        ("t1", TaskState::Running, 1),
        ("t2", TaskState::Killing, 2),
        ("t3", TaskState::Finished, 3),
    ] {
        through(&mut core, Event::Update(update(task, state, uuid)));
    }
    let n = notice("rev-1", &["t1", "t2", "t3", "t4"]);
    let plan = core.release_plan(&n).unwrap();
    assert_eq!(plan, vec![TaskId::from("t1"), TaskId::from("t4")]);
    let kill = core
        .kill_on(&plan[1], Some(n.agent_id.clone()), None)
        .unwrap();
    assert_eq!(
        kill.call,
        Call::Kill {
            task: "t4".into(),
            agent: Some("agent-1".into()),
            grace: None,
        },
        "the notice's agent, and no grace override: the task's own"
    );
    core.lost();
    assert!(matches!(core.release_plan(&n), Err(Error::Disconnected)));
    assert!(matches!(
        core.answer_inverse_offers(std::slice::from_ref(&n.id), true),
        Err(Error::Disconnected)
    ));
}

#[test]
fn a_release_goes_on_past_a_task_already_gone_and_stops_on_any_other_failure() {
    let core = core(Config::default());
    let task = TaskId::from("t1");
    let refused = |kind| {
        Err(Error::Transport(crate::TransportError::rejected(
            kind,
            "refused by the master",
        )))
    };
    assert!(core.release_kill_answer(&task, Ok(())).is_ok());
    assert!(
        core.release_kill_answer(&task, refused(crate::RejectKind::NotFound))
            .is_ok(),
        "gone already: what the release wanted"
    );
    for kind in [crate::RejectKind::InvalidArgument, crate::RejectKind::Other] {
        assert!(matches!(
            core.release_kill_answer(&task, refused(kind)),
            Err(Error::Transport(crate::TransportError::Rejected { kind: k, .. })) if k == kind
        ));
    }
    assert!(matches!(
        core.release_kill_answer(&task, Err(Error::Disconnected)),
        Err(Error::Disconnected)
    ));
}

#[test]
fn a_request_is_stamped_with_its_role_and_checked_before_sending() {
    let core = core(Config::default());
    let wanted = Resources::new()
        .with_cpus(4.0)
        .with_mem(2048.0)
        .with_ports(31000, 31009);
    let out = core.request(&Role::from("b"), &wanted).unwrap();
    let Call::Request(requests) = &out.call else {
        panic!("expected a REQUEST, got {:?}", out.call)
    };
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0], wanted.allocated_to(&Role::from("b")));
    assert_eq!(requests[0].unallocated(), wanted, "the quantities as asked");
    assert_eq!(
        requests[0]
            .allocation_roles()
            .into_iter()
            .collect::<Vec<_>>(),
        vec![&Role::from("b")],
        "every resource carries the role"
    );
    assert!(matches!(
        core.request(&Role::from("zzz"), &wanted),
        Err(Error::NotOwnRole { .. })
    ));
    assert!(matches!(
        core.request(&Role::from("a"), &Resources::new()),
        Err(Error::EmptyRequest)
    ));
    assert_eq!(
        core.withdraw_requests().unwrap().call,
        Call::Request(vec![]),
        "a REQUEST naming nothing withdraws them all"
    );
}

#[test]
fn an_answer_refused_as_unknown_is_done_only_for_a_notice_seen_withdrawn() {
    let mut core = core(Config::default());
    let not_found = || {
        Err(Error::Transport(crate::TransportError::rejected(
            crate::RejectKind::NotFound,
            "no such inverse offer",
        )))
    };
    let id = OfferId::from("rev-1");
    assert!(through(&mut core, Event::Revocation(notice("rev-1", &["t1"]))).0);
    // Delivered but not withdrawn: the master's NotFound is not "done".
    assert!(matches!(
        core.notice_answer(&id, not_found()),
        Err(Error::UnknownNotice { notice, .. }) if notice == id
    ));
    // An id the master never had, and a maintenance inverse offer's.
    through(&mut core, Event::InverseOfferRescinded("m1".into()));
    for other in ["bogus", "m1"] {
        assert!(matches!(
            core.notice_answer(&other.into(), not_found()),
            Err(Error::UnknownNotice { .. })
        ));
    }
    // Withdrawn, and the core saw it: a late answer is done.
    through(&mut core, Event::InverseOfferRescinded("rev-1".into()));
    assert!(core.notice_answer(&id, not_found()).is_ok());
    // Other answers pass through as they are.
    assert!(core.notice_answer(&id, Ok(())).is_ok());
    assert!(matches!(
        core.notice_answer(&id, Err(Error::Disconnected)),
        Err(Error::Disconnected)
    ));
    // A new notice reusing the id is not withdrawn.
    assert!(through(&mut core, Event::Revocation(notice("rev-1", &["t2"]))).0);
    assert!(matches!(
        core.notice_answer(&id, not_found()),
        Err(Error::UnknownNotice { .. })
    ));
}

#[test]
fn withdrawn_notice_ids_are_bounded() {
    let mut core = core(Config::default());
    let n = super::state::MAX_NOTICES + 100;
    for i in 0..n {
        let id = format!("rev-{i}");
        through(&mut core, Event::Revocation(notice(&id, &["t1"])));
        through(&mut core, Event::InverseOfferRescinded(id.as_str().into()));
        assert!(core.footprint().2 <= super::state::MAX_NOTICES);
    }
    let last = OfferId::from(format!("rev-{}", n - 1).as_str());
    let refused = Err(Error::Transport(crate::TransportError::rejected(
        crate::RejectKind::NotFound,
        "gone",
    )));
    assert!(
        core.notice_answer(&last, refused).is_ok(),
        "recent: remembered"
    );
}
