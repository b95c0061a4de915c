//! Scenario tests of reserving and unreserving held resources
//! (`reserve_allocated`, `unreserve_allocated`): the converted resources,
//! every book after the conversion and after recovering them, the guarantee
//! consumption, and every refusal leaving the state unchanged.

use super::hierarchy::Hierarchy;
use super::qty::Qty;
use super::test_support::*;
use super::*;

fn ok(a: &Allocator) {
    if let Err(why) = a.check_invariants() {
        panic!("invariant broken: {why}");
    }
}

/// `role`'s role-table sums: (held regularly from unreserved resources,
/// reserved, guarantee consumption, headroom).
fn role_books(a: &Allocator, name: &str) -> (Qty, Qty, Qty, Qty) {
    let r = a.roles.lookup(&role(name)).expect("role known");
    (
        a.roles.alloc_unreserved(r).clone(),
        a.roles.reserved(r).clone(),
        a.roles.guarantee_consumption(r),
        a.quotas.headroom(r),
    )
}

fn qty(a: &Allocator, text: &str) -> Qty {
    a.names.known_qty_of(&res(text)).expect("known names")
}

/// What the public views show of these frameworks (`allocated`) and agents
/// (`available`, `total`).
fn views(a: &Allocator, fws: &[&str], agents: &[&str]) -> Vec<String> {
    fws.iter()
        .map(|f| a.allocated(&fw(f)).to_string())
        .chain(agents.iter().map(|i| {
            format!(
                "{:?} {:?}",
                a.available(&agent(i)),
                a.total(&agent(i)).cloned()
            )
        }))
        .collect()
}

/// The public views and the whole state.
fn snapshot(a: &Allocator, fws: &[&str], agents: &[&str]) -> (Vec<String>, String) {
    (views(a, fws, agents), format!("{a:?}"))
}

type Call = Box<dyn Fn(&mut Allocator) -> Result<(), AllocatorError>>;

/// A refused call: what it tries, the call, and the error it must give.
type Case = (&'static str, Call, fn(&AllocatorError) -> bool);

fn reserve(f: &'static str, at: &'static str, r: Role, what: Resources) -> Call {
    Box::new(move |a: &mut Allocator| {
        a.reserve_allocated(&fw(f), &agent(at), &r, &what)
            .map(|_| ())
    })
}

fn unreserve(f: &'static str, at: &'static str, what: Resources) -> Call {
    Box::new(move |a: &mut Allocator| a.unreserve_allocated(&fw(f), &agent(at), &what).map(|_| ()))
}

#[test]
fn reserving_held_resources_keeps_them_held_and_reserved() {
    let mut a = Allocator::new(AllocatorConfig::default());
    a.add_agent(agent("a0"), res("cpus:4;mem:4096;ports:[31000-31009]"))
        .unwrap();
    a.add_framework(fw("f"), spec(&["eng"], false)).unwrap();
    assert_eq!(a.allocate(secs(0)).len(), 1);
    let eng = role("eng");
    let part = res("cpus:2;mem:1024;ports:[31000-31004]").allocated_to(&eng);
    let got = a
        .reserve_allocated(&fw("f"), &agent("a0"), &eng, &part)
        .unwrap();
    let reserved = res("cpus(eng):2;mem(eng):1024;ports(eng):[31000-31004]");
    assert_eq!(got, reserved.allocated_to(&eng));
    assert_eq!(
        a.allocated_on(&agent("a0"), &fw("f")),
        res("cpus:2;mem:3072;ports:[31005-31009]").allocated_to(&eng) + &got
    );
    assert!(a.available(&agent("a0")).unwrap().is_empty());
    assert_eq!(
        a.total(&agent("a0")).cloned().unwrap(),
        res("cpus:2;mem:3072;ports:[31005-31009]") + &reserved
    );
    let (unres, held_reserved, consumption, _) = role_books(&a, "eng");
    assert_eq!(unres, qty(&a, "cpus:2;mem:3072"));
    assert_eq!(held_reserved, qty(&a, "cpus:2;mem:1024"));
    assert_eq!(consumption, qty(&a, "cpus:4;mem:4096"));
    assert_eq!(a.framework_share(&fw("f"), &eng), 1.0);
    ok(&a);

    // Recovered, the reserved part goes to the reservation: a stranger is
    // offered only the rest, eng the reservation.
    let held = a.allocated_on(&agent("a0"), &fw("f"));
    a.recover(secs(0), &fw("f"), &agent("a0"), &held, None)
        .unwrap();
    assert_eq!(a.available(&agent("a0")), a.total(&agent("a0")).cloned());
    ok(&a);
    a.suppress(&fw("f"), &[]).unwrap();
    a.add_framework(fw("ops"), spec(&["ops"], false)).unwrap();
    let allocs = a.allocate(secs(1));
    assert_eq!(allocs.len(), 1);
    assert_eq!(
        allocs[0].resources,
        res("cpus:2;mem:3072;ports:[31005-31009]").allocated_to(&role("ops"))
    );
    a.revive(&fw("f"), &[]).unwrap();
    let allocs = a.allocate(secs(2));
    assert_eq!(allocs.len(), 1);
    assert_eq!(allocs[0].framework, fw("f"));
    assert_eq!(allocs[0].resources, reserved.allocated_to(&eng));
    ok(&a);
}

/// Two runs, one reserving held resources and recovering them, the other
/// recovering them and reserving them unallocated, end in the same state
/// and make the same next allocations.
#[test]
fn recovering_after_reserve_allocated_is_like_reserving_unallocated() {
    let setup = || {
        let mut a = cluster(3);
        a.set_quota(
            &role("eng"),
            Quota {
                guarantee: res("cpus:6"),
                limit: None,
            },
        )
        .unwrap();
        a.add_framework(fw("f"), spec(&["eng"], false)).unwrap();
        a.add_framework(fw("g"), spec(&["ops"], false)).unwrap();
        let allocs = a.allocate(secs(0));
        let x = allocs
            .into_iter()
            .find(|x| x.framework == fw("f"))
            .expect("f is offered something");
        (a, x)
    };
    let eng = role("eng");
    let part = res("cpus:1;mem:512");
    let (mut held, x) = setup();
    held.reserve_allocated(&fw("f"), &x.agent, &eng, &part.allocated_to(&eng))
        .unwrap();
    let now_held = held.allocated_on(&x.agent, &fw("f"));
    held.recover(secs(0), &fw("f"), &x.agent, &now_held, None)
        .unwrap();
    let (mut free, y) = setup();
    assert_eq!(x, y);
    free.recover(secs(0), &fw("f"), &x.agent, &x.resources, None)
        .unwrap();
    free.reserve(&x.agent, &eng, &part).unwrap();
    ok(&held);
    ok(&free);

    let (fws, agents) = (["f", "g"], ["a0", "a1", "a2"]);
    assert_eq!(views(&held, &fws, &agents), views(&free, &fws, &agents));
    assert_eq!(role_books(&held, "eng"), role_books(&free, "eng"));
    assert_eq!(held.agents.free_unreserved(), free.agents.free_unreserved());
    assert_eq!(held.agents.cluster_total(), free.agents.cluster_total());
    // The next cycles: the reservation goes only to eng's subtree.
    for a in [&mut held, &mut free] {
        a.add_framework(fw("web"), spec(&["eng/web"], false))
            .unwrap();
        a.add_framework(fw("stranger"), spec(&["batch"], true))
            .unwrap();
    }
    for t in 1..4 {
        let (one, two) = (held.allocate(secs(t)), free.allocate(secs(t)));
        assert_eq!(one, two);
        for x in &one {
            let reserved = x
                .resources
                .iter()
                .any(|r| r.reservation.is_some() && !r.revocable);
            assert!(!reserved || x.role == eng || x.role == role("eng/web"));
        }
        ok(&held);
    }
}

#[test]
fn unreserving_held_resources_returns_them_to_the_unreserved_pool() {
    let mut a = Allocator::new(AllocatorConfig::default());
    a.add_agent(agent("a0"), res("cpus:2;mem:1024;cpus(eng):2;mem(eng):512"))
        .unwrap();
    a.add_framework(fw("f"), spec(&["eng"], false)).unwrap();
    a.allocate(secs(0));
    let eng = role("eng");
    let before = views(&a, &["f"], &["a0"]);
    let got = a
        .unreserve_allocated(
            &fw("f"),
            &agent("a0"),
            &res("cpus(eng):2").allocated_to(&eng),
        )
        .unwrap();
    assert_eq!(got, res("cpus:2").allocated_to(&eng));
    assert_eq!(
        a.allocated(&fw("f")),
        res("cpus:4;mem:1024;mem(eng):512").allocated_to(&eng)
    );
    assert_eq!(
        a.total(&agent("a0")).cloned().unwrap(),
        res("cpus:4;mem:1024;mem(eng):512")
    );
    let (unres, reserved, consumption, _) = role_books(&a, "eng");
    assert_eq!(unres, qty(&a, "cpus:4;mem:1024"));
    assert_eq!(reserved, qty(&a, "mem:512"));
    assert_eq!(consumption, qty(&a, "cpus:4;mem:1536"));
    ok(&a);

    // And back: the state is as before, up to the order of the books.
    let back = a
        .reserve_allocated(&fw("f"), &agent("a0"), &eng, &got)
        .unwrap();
    assert_eq!(back, res("cpus(eng):2").allocated_to(&eng));
    assert_eq!(views(&a, &["f"], &["a0"]), before);
    ok(&a);
    a.unreserve_allocated(&fw("f"), &agent("a0"), &back)
        .unwrap();

    // Recovered, the unreserved CPUs go to anyone.
    let held = a.allocated(&fw("f"));
    a.recover(secs(0), &fw("f"), &agent("a0"), &held, None)
        .unwrap();
    a.suppress(&fw("f"), &[]).unwrap();
    a.add_framework(fw("ops"), spec(&["ops"], false)).unwrap();
    let allocs = a.allocate(secs(1));
    assert_eq!(
        allocs[0].resources,
        res("cpus:4;mem:1024").allocated_to(&role("ops"))
    );
    ok(&a);
}

#[test]
fn unreserving_held_resources_of_several_roles_at_once() {
    let mut a = Allocator::new(AllocatorConfig::default());
    a.add_agent(agent("a0"), res("cpus(a):1;mem(a):64;cpus(b):1;mem(b):64"))
        .unwrap();
    a.add_framework(fw("f"), spec(&["a", "b"], false)).unwrap();
    assert_eq!(a.allocate(secs(0)).len(), 2);
    let both =
        res("cpus(a):1").allocated_to(&role("a")) + &res("cpus(b):1").allocated_to(&role("b"));
    let got = a
        .unreserve_allocated(&fw("f"), &agent("a0"), &both)
        .unwrap();
    assert_eq!(
        got,
        res("cpus:1").allocated_to(&role("a")) + &res("cpus:1").allocated_to(&role("b"))
    );
    assert_eq!(
        a.total(&agent("a0")).cloned().unwrap(),
        res("cpus:2;mem(a):64;mem(b):64")
    );
    ok(&a);
}

/// The guarantee consumption does not move when held resources are
/// reserved, and the reservation keeps counting once they are recovered:
/// no headroom is kept back for the guarantee they meet.
#[test]
fn reserving_held_resources_counts_toward_the_guarantee() {
    let mut a = cluster(3);
    a.set_quota(
        &role("g"),
        Quota {
            guarantee: res("cpus:4"),
            limit: None,
        },
    )
    .unwrap();
    a.add_framework(fw("fg"), spec(&["g"], false)).unwrap();
    a.add_framework(fw("fo"), spec(&["o"], false)).unwrap();
    let allocs = a.allocate(secs(0));
    let x = allocs
        .iter()
        .find(|x| x.framework == fw("fg") && x.resources.cpus() == 4.0)
        .expect("g's guarantee met by one agent")
        .clone();
    let (unres, reserved, consumption, headroom) = role_books(&a, "g");
    assert!(reserved.is_zero());
    assert!(headroom.is_zero());
    let g = role("g");
    let got = a
        .reserve_allocated(&fw("fg"), &x.agent, &g, &x.resources)
        .unwrap();
    let (unres_after, reserved_after, consumption_after, headroom_after) = role_books(&a, "g");
    assert_eq!(consumption_after, consumption);
    assert_eq!(reserved_after, qty(&a, "cpus:4;mem:4096"));
    assert_eq!(unres_after, unres.minus(&reserved_after));
    assert!(headroom_after.is_zero());
    ok(&a);

    // Everything given back, g idle: the 8 unreserved CPUs all go to o; if
    // the idle reservation did not count toward g's guarantee, 4 of them
    // would be kept back as headroom.
    a.recover(secs(0), &fw("fg"), &x.agent, &got, None).unwrap();
    for y in allocs.iter().filter(|y| y.agent != x.agent) {
        let held = a.allocated_on(&y.agent, &y.framework);
        a.recover(secs(0), &y.framework, &y.agent, &held, None)
            .unwrap();
    }
    a.activate_framework(&fw("fg"), false).unwrap();
    assert_eq!(role_books(&a, "g").2, qty(&a, "cpus:4;mem:4096"));
    a.allocate(secs(1));
    assert_eq!(a.allocated(&fw("fo")).cpus(), 8.0);
    assert_eq!(a.available(&x.agent).unwrap(), res("cpus(g):4;mem(g):4096"));
    ok(&a);
}

#[test]
fn refused_conversions_change_nothing() {
    let mut a = Allocator::new(AllocatorConfig::default());
    // f holds a0 under eng (subscribed to ops too, suppressed there).
    a.add_agent(agent("a0"), res("cpus:4;mem:4096")).unwrap();
    a.add_framework(fw("f"), spec(&["eng", "ops"], false))
        .unwrap();
    a.suppress(&fw("f"), &[role("ops")]).unwrap();
    a.allocate(secs(0));
    // web (eng/web) holds eng's reservation on a1.
    a.add_agent(agent("a1"), res("cpus(eng):2;mem(eng):512"))
        .unwrap();
    a.add_framework(fw("web"), spec(&["eng/web"], false))
        .unwrap();
    a.allocate(secs(1));
    // borrower is lent db's idle reservation on a2.
    a.add_agent(agent("a2"), res("cpus(db):2;mem(db):1024"))
        .unwrap();
    a.add_framework(fw("borrower"), spec(&["batch"], true))
        .unwrap();
    a.allocate(secs(2));
    assert_eq!(a.allocated_on(&agent("a0"), &fw("f")).cpus(), 4.0);
    assert_eq!(a.allocated_on(&agent("a1"), &fw("web")).cpus(), 2.0);
    let lent = a.allocated_revocable(&fw("borrower"));
    assert_eq!(lent.cpus(), 2.0);
    ok(&a);

    let (eng, web) = (role("eng"), role("eng/web"));
    let held = |text: &str, r: &Role| res(text).allocated_to(r);
    let cases: Vec<Case> = vec![
        (
            "unknown framework",
            reserve("x", "a0", eng.clone(), held("cpus:1", &eng)),
            |e| matches!(e, AllocatorError::UnknownFramework(_)),
        ),
        (
            "unknown agent",
            reserve("f", "x", eng.clone(), held("cpus:1", &eng)),
            |e| matches!(e, AllocatorError::UnknownAgent(_)),
        ),
        (
            "reserve for *",
            reserve("f", "a0", role("*"), held("cpus:1", &role("*"))),
            |e| matches!(e, AllocatorError::InvalidRole { .. }),
        ),
        (
            "invalid role",
            reserve("f", "a0", role("a//b"), Resources::new()),
            |e| matches!(e, AllocatorError::InvalidRole { .. }),
        ),
        (
            "role not subscribed",
            reserve("f", "a0", role("qa"), held("cpus:1", &role("qa"))),
            |e| matches!(e, AllocatorError::UnknownRole { .. }),
        ),
        (
            "reservation role is not the allocation role",
            reserve("f", "a0", role("ops"), held("cpus:1", &eng)),
            |e| matches!(e, AllocatorError::ReservationRoleMismatch { .. }),
        ),
        (
            "one entry allocated to another role",
            reserve(
                "f",
                "a0",
                eng.clone(),
                held("cpus:1", &eng) + &held("mem:1", &role("ops")),
            ),
            |e| matches!(e, AllocatorError::ReservationRoleMismatch { .. }),
        ),
        (
            "more than held",
            reserve("f", "a0", eng.clone(), held("cpus:5", &eng)),
            |e| matches!(e, AllocatorError::NotHeld { .. }),
        ),
        (
            "unallocated form",
            reserve("f", "a0", eng.clone(), res("cpus:1")),
            |e| matches!(e, AllocatorError::NotHeld { .. }),
        ),
        (
            "a name no agent has",
            reserve("f", "a0", eng.clone(), held("cpus:1;gpus:1", &eng)),
            |e| matches!(e, AllocatorError::NotHeld { .. }),
        ),
        (
            "held by another framework",
            reserve("web", "a0", web.clone(), held("cpus:1", &web)),
            |e| matches!(e, AllocatorError::NotHeld { .. }),
        ),
        (
            "already reserved",
            reserve("web", "a1", web.clone(), held("cpus(eng):1", &web)),
            |e| matches!(e, AllocatorError::NotHeld { .. }),
        ),
        (
            "reserve lent resources",
            reserve("borrower", "a2", role("batch"), lent.clone()),
            |e| matches!(e, AllocatorError::Revocable { .. }),
        ),
        (
            "unreserve an ancestor's reservation",
            unreserve("web", "a1", held("cpus(eng):1", &web)),
            |e| matches!(e, AllocatorError::ReservationRoleMismatch { .. }),
        ),
        (
            "unreserve unreserved resources",
            unreserve("f", "a0", held("cpus:1", &eng)),
            |e| matches!(e, AllocatorError::NotHeld { .. }),
        ),
        (
            "unreserve what another framework holds",
            unreserve("f", "a1", held("cpus(eng):1", &eng)),
            |e| matches!(e, AllocatorError::NotHeld { .. }),
        ),
        (
            "unreserve unallocated resources",
            unreserve("f", "a0", res("cpus(eng):1")),
            |e| matches!(e, AllocatorError::NotHeld { .. }),
        ),
        (
            "unreserve lent resources",
            unreserve("borrower", "a2", lent.clone()),
            |e| matches!(e, AllocatorError::Revocable { .. }),
        ),
        (
            "unreserve for an unknown framework",
            unreserve("x", "a1", held("cpus(eng):1", &eng)),
            |e| matches!(e, AllocatorError::UnknownFramework(_)),
        ),
    ];
    let fws = ["f", "web", "borrower"];
    let agents = ["a0", "a1", "a2"];
    for (what, call, expected) in cases {
        let before = snapshot(&a, &fws, &agents);
        let result = call(&mut a);
        assert!(
            result.as_ref().is_err_and(expected),
            "{what}: got {result:?}"
        );
        assert_eq!(snapshot(&a, &fws, &agents), before, "{what}");
    }
    // Empty resources convert nothing.
    let before = snapshot(&a, &fws, &agents);
    assert_eq!(
        a.reserve_allocated(&fw("f"), &agent("a0"), &eng, &Resources::new()),
        Ok(Resources::new())
    );
    assert_eq!(
        a.unreserve_allocated(&fw("f"), &agent("a0"), &Resources::new()),
        Ok(Resources::new())
    );
    assert_eq!(snapshot(&a, &fws, &agents), before);
    ok(&a);
}
