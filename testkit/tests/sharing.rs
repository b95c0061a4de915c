//! Sharing one cluster between tenants, end to end on the simulated
//! cluster in virtual time: guarantees and limits, lending idle guaranteed
//! resources as revocable ones and taking them back with revocation
//! notices, shares in a three-level role tree, and maintenance windows.
//! Each test ends with the cluster settled, the master's invariants held
//! after every step.

mod support;

use std::time::Duration;

use corral::{AgentId, Driver, FrameworkId, Resources, Role, TaskId, TaskState};
use corral_testkit::allocator::Quota;
use corral_testkit::{AgentSpec, CallKind, Cluster, MasterConfig, MasterState};
use support::tenant::{OnMaintenance, Tenant};

const INTERVAL: Duration = Duration::from_millis(100);
const GRACE: Duration = Duration::from_secs(2);
const CLEANUP_MS: u64 = 500;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn cpus(n: f64) -> Resources {
    Resources::new().with_cpus(n)
}

fn guarantee(n: f64) -> Quota {
    Quota {
        guarantee: cpus(n),
        limit: None,
    }
}

/// CPUs `fw` holds: its live tasks and its outstanding offers, regular and
/// revocable apart.
fn held(state: &MasterState, fw: &FrameworkId) -> (f64, f64) {
    let tasks = state
        .tasks
        .iter()
        .filter(|t| &t.framework == fw && !is_terminal(t.state))
        .map(|t| &t.resources);
    let offers = state.offers_of(fw).map(|o| &o.resources);
    let mut regular = 0.0;
    let mut revocable = 0.0;
    for r in tasks.chain(offers) {
        regular += r.non_revocable().cpus();
        revocable += r.only_revocable().cpus();
    }
    (regular, revocable)
}

fn is_terminal(state: TaskState) -> bool {
    state.is_terminal()
}

/// Two tenants sharing 16 CPUs: T1 and T2 are each guaranteed 8
/// CPUs of 16, T2 may borrow. T1 runs 4 and T2 runs 12 (4 of them on T1's
/// idle guarantee, revocable). When T1 asks for 8, T2's 4 borrowed tasks
/// get revocation notices, are killed gracefully after their cleanup, T2's
/// 8 regular tasks are untouched, and T1 holds 8 within the grace period
/// plus one allocation interval.
#[tokio::test(start_paused = true)]
async fn t1_takes_back_what_t2_borrowed_and_t2_keeps_its_regular_tasks() {
    // Both satisfied, the cluster 100% used, T2's extra 4 revocable.
    let tenants = Tenants::borrowing(11).await;
    let Tenants {
        cluster,
        t1,
        t1_log,
        t2,
        t2_log,
        ..
    } = &tenants;
    let state = cluster.state();
    assert_eq!(held(&state, t1.id()), (4.0, 0.0));
    assert_eq!(held(&state, t2.id()), (8.0, 4.0));
    let used: f64 = state.agents.iter().map(|a| a.allocated.cpus()).sum();
    assert_eq!(used, 16.0, "the cluster is fully used");
    assert_eq!(t2_log.lock().unwrap().revocable(), 4);
    let regular_before: Vec<_> = {
        let log = t2_log.lock().unwrap();
        log.live
            .iter()
            .filter(|(_, (_, revocable))| !revocable)
            .map(|(id, _)| id.clone())
            .collect()
    };
    let borrowed: Vec<_> = {
        let log = t2_log.lock().unwrap();
        log.live
            .iter()
            .filter(|(_, (_, revocable))| *revocable)
            .map(|(id, _)| id.clone())
            .collect()
    };

    // T1 asks for 8.
    let asked_at = cluster.now();
    tenants.t1_asks_for_8().await;
    cluster
        .run_until(secs(10), |state, _| held(state, t1.id()).0 >= 8.0)
        .await;
    let took = cluster.now() - asked_at;
    assert!(
        took <= GRACE + INTERVAL,
        "T1 held 8 after {took:?}, more than the grace period plus one interval"
    );
    cluster.run_until_idle().await;

    // The notices named exactly the borrowed tasks, with a deadline.
    let trace = cluster.trace();
    let log = t2_log.lock().unwrap();
    let mut noticed: Vec<_> = log
        .notices
        .iter()
        .flat_map(|(_, n)| n.tasks.clone())
        .collect();
    noticed.sort();
    assert_eq!(noticed, borrowed, "{}", trace.dump());
    for (_, notice) in &log.notices {
        assert!(notice.deadline > asked_at, "a deadline in the future");
        assert!(notice.resources.iter().all(|r| r.revocable));
    }
    // Killed gracefully: KILLING, then KILLED after the cleanup time.
    for task in &borrowed {
        let states = &log.states[task];
        assert_eq!(
            &states[states.len() - 2..],
            [TaskState::Killing, TaskState::Killed],
            "task {task}: {states:?}"
        );
        let updates = trace.updates_seen(task);
        let killing = updates
            .iter()
            .find(|u| u.state == TaskState::Killing)
            .unwrap();
        let killed = updates
            .iter()
            .find(|u| u.state == TaskState::Killed)
            .unwrap();
        let cleanup = killed.timestamp - killing.timestamp;
        assert!(
            (cleanup - CLEANUP_MS as f64 / 1000.0).abs() < 1e-6,
            "task {task} had {cleanup}s to clean up"
        );
    }
    // T2's regular tasks are untouched.
    for task in &regular_before {
        assert_eq!(log.states[task].last(), Some(&TaskState::Running), "{task}");
    }
    assert_eq!(log.regular(), 8);
    drop(log);
    // T1 holds 8 regular; the freed revocable resources went to it.
    assert_eq!(t1_log.lock().unwrap().regular(), 8);
    assert_eq!(held(&cluster.state(), t1.id()), (8.0, 0.0));
    // Each notice was rescinded once its tasks were gone.
    assert!(cluster.state().notices.is_empty());
    assert_eq!(
        trace
            .calls_of_kind(t2.id(), CallKind::AcceptInverseOffers)
            .len(),
        t2_log.lock().unwrap().notices.len(),
        "each notice released and confirmed"
    );
    cluster.assert_settled();
}

/// A framework that declines the notice keeps its borrowed tasks until the
/// deadline; the master then kills them with their grace period.
#[tokio::test(start_paused = true)]
async fn a_declined_notice_is_enforced_at_the_deadline() {
    let notice = secs(3);
    let config = MasterConfig::default()
        .agents(2, cpus(4.0))
        .quota("owner", guarantee(4.0))
        .allocation_interval(INTERVAL)
        .revocation_notice(notice)
        .seed(5);
    let mut cluster = Cluster::start(config).await.unwrap();
    let owner = Tenant::new("owner", 0, CLEANUP_MS, GRACE);
    let owner_want = owner.want.clone();
    let owner = cluster.launch(owner.info(), owner).await;
    let borrower = Keeper(Tenant::new("borrower", 8, CLEANUP_MS, GRACE).borrowing());
    let borrower_log = borrower.0.log.clone();
    let borrower = cluster.launch(borrower.0.info(), borrower).await;
    cluster
        .run_until(secs(10), |state, _| {
            held(state, borrower.id()) == (4.0, 4.0)
        })
        .await;

    *owner_want.lock().unwrap() = 2;
    let asked_at = cluster.now();
    owner
        .driver()
        .request(&Role::from("owner"), &cpus(2.0))
        .await
        .unwrap();
    owner.driver().revive(&[]).await.unwrap();
    cluster
        .run_until(secs(20), |state, _| held(state, owner.id()).0 >= 2.0)
        .await;
    let took = cluster.now() - asked_at;
    assert!(took >= notice, "killed before the deadline: {took:?}");
    assert!(took <= notice + GRACE + INTERVAL, "too slow: {took:?}");
    cluster.run_until_idle().await;

    let log = borrower_log.lock().unwrap();
    assert_eq!(
        log.notices.len(),
        1,
        "{:?}\n{}",
        log.notices,
        cluster.trace().dump()
    );
    let notice = &log.notices[0].1;
    assert_eq!(notice.tasks.len(), 2, "the fewest tasks that free 2 CPUs");
    for task in &notice.tasks {
        assert_eq!(
            log.states[task][log.states[task].len() - 2..],
            [TaskState::Killing, TaskState::Killed]
        );
    }
    // The two most recently launched borrowed tasks were taken.
    let mut taken = notice.tasks.clone();
    taken.sort();
    assert_eq!(
        taken,
        [TaskId::new("borrower-7"), TaskId::new("borrower-8")]
    );
    let trace = cluster.trace();
    assert_eq!(
        trace
            .calls_of_kind(borrower.id(), CallKind::DeclineInverseOffers)
            .len(),
        1
    );
    drop(log);
    cluster.assert_settled();
}

/// A tenant that declines revocation notices (keeps its tasks to the end).
struct Keeper(Tenant);

#[async_trait::async_trait]
impl corral::Scheduler for Keeper {
    async fn subscribed(&mut self, driver: &dyn Driver, info: &corral::Subscribed) {
        self.0.subscribed(driver, info).await
    }
    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<corral::Offer>) {
        self.0.offers(driver, offers).await
    }
    async fn status_update(&mut self, driver: &dyn Driver, status: &corral::TaskStatus) {
        self.0.status_update(driver, status).await
    }
    async fn revocation(&mut self, driver: &dyn Driver, notice: corral::RevocationNotice) {
        self.0
            .log
            .lock()
            .unwrap()
            .notices
            .push((Duration::ZERO, notice.clone()));
        driver.decline_revocation(&notice).await.unwrap();
    }
    fn wants_offers(&self, role: &Role) -> Option<bool> {
        self.0.wants_offers(role)
    }
}

/// Shares in a three-level tree, computed by hand. 24 one-CPU agents join
/// one by one, so each goes to the role DRF says is furthest below its
/// share. `eng` (weight 2) and `ops` (weight 1) split 24 CPUs 16 / 8.
/// Inside `eng`, `eng/web` is guaranteed 12, so `eng/batch` gets the other
/// 4, which `eng/batch/etl` (weight 3) and `eng/batch/ml` (weight 1) split
/// 3 / 1.
#[tokio::test(start_paused = true)]
async fn three_level_tree_shares_follow_weights_and_quota() {
    let config = MasterConfig::default()
        .role("eng", 2.0)
        .role("ops", 1.0)
        .role("eng/batch/etl", 3.0)
        .role("eng/batch/ml", 1.0)
        .quota("eng/web", guarantee(12.0))
        .allocation_interval(INTERVAL)
        .seed(3);
    let mut cluster = Cluster::start(config).await.unwrap();
    let mut ids = Vec::new();
    for role in ["ops", "eng/web", "eng/batch/etl", "eng/batch/ml"] {
        let tenant = Tenant::new(role, 100, 0, GRACE);
        let info = tenant.info();
        let running = cluster.launch(info, tenant).await;
        ids.push((role, running));
    }
    for i in 0..24 {
        cluster
            .add_agent(AgentSpec::new(format!("a-{i:02}"), cpus(1.0)))
            .unwrap();
        cluster.advance(INTERVAL).await;
    }
    cluster.advance(secs(1)).await;
    let state = cluster.state();
    let got: Vec<(&str, f64)> = ids
        .iter()
        .map(|(role, fw)| (*role, held(&state, fw.id()).0))
        .collect();
    assert_eq!(
        got,
        [
            ("ops", 8.0),
            ("eng/web", 12.0),
            ("eng/batch/etl", 3.0),
            ("eng/batch/ml", 1.0)
        ],
        "{}",
        cluster.trace().dump()
    );
}

/// A quota limit holds even when nothing else wants the cluster.
#[tokio::test(start_paused = true)]
async fn quota_limit_holds_on_an_idle_cluster() {
    let config = MasterConfig::default()
        .agents(4, cpus(4.0))
        .quota(
            "capped",
            Quota {
                guarantee: Resources::new(),
                limit: Some(cpus(5.0)),
            },
        )
        .allocation_interval(INTERVAL)
        .seed(2);
    let tenant = Tenant::new("capped", 16, 0, GRACE);
    let (cluster, fw) = Cluster::with_framework(config, tenant.info(), tenant)
        .await
        .unwrap();
    for _ in 0..20 {
        cluster.advance(secs(1)).await;
        let (regular, revocable) = held(&cluster.state(), fw.id());
        assert!(regular + revocable <= 5.0, "over the limit: {regular}");
    }
    assert_eq!(held(&cluster.state(), fw.id()), (5.0, 0.0));
    let idle: f64 = cluster
        .state()
        .agents
        .iter()
        .map(|a| a.total.cpus() - a.allocated.cpus())
        .sum();
    assert_eq!(idle, 11.0, "the rest stays idle");
}

/// A guarantee is met even though another role asked first: the first
/// role may only take what is not kept for the guarantee.
#[tokio::test(start_paused = true)]
async fn a_guarantee_is_met_even_when_another_role_asked_first() {
    let config = MasterConfig::default()
        .agents(4, cpus(4.0))
        .quota("late", guarantee(6.0))
        .allocation_interval(INTERVAL)
        .seed(4);
    let mut cluster = Cluster::start(config).await.unwrap();
    let early = Tenant::new("early", 16, 0, GRACE);
    let early = cluster.launch(early.info(), early).await;
    cluster.advance(secs(5)).await;
    assert_eq!(held(&cluster.state(), early.id()), (10.0, 0.0));
    let late = Tenant::new("late", 6, 0, GRACE);
    let late = cluster.launch(late.info(), late).await;
    cluster
        .run_until(secs(2), |state, _| held(state, late.id()).0 >= 6.0)
        .await;
    assert_eq!(held(&cluster.state(), late.id()), (6.0, 0.0));
    assert_eq!(held(&cluster.state(), early.id()), (10.0, 0.0));
}

/// A maintenance window: frameworks with tasks on the agent get inverse
/// offers ahead of it; one accepts and moves its tasks, the other declines
/// and has its tasks killed (gracefully) when the window starts; nothing is
/// offered there during the window, and the agent is back after it.
#[tokio::test(start_paused = true)]
async fn a_maintenance_window_drains_the_agent_after_inverse_offers() {
    let config = MasterConfig::default()
        .agent(AgentSpec::new("a-0", cpus(4.0)))
        .agent(AgentSpec::new("a-1", cpus(4.0)))
        .agent(AgentSpec::new("a-2", cpus(4.0)))
        .allocation_interval(INTERVAL)
        .seed(9);
    let mut cluster = Cluster::start(config).await.unwrap();
    let mover = Tenant::new("mover", 4, CLEANUP_MS, GRACE).on_maintenance(OnMaintenance::Move);
    let mover_log = mover.log.clone();
    let mover = cluster.launch(mover.info(), mover).await;
    let stayer = Tenant::new("stayer", 4, CLEANUP_MS, GRACE).on_maintenance(OnMaintenance::Stay);
    let stayer_log = stayer.log.clone();
    let stayer = cluster.launch(stayer.info(), stayer).await;
    cluster.run_until_idle().await;

    // Put the window on an agent where both run, if any; else the
    // stayer's.
    let agent_of = |log: &std::sync::Arc<std::sync::Mutex<support::tenant::TenantLog>>| {
        log.lock()
            .unwrap()
            .live
            .values()
            .map(|(a, _)| a.clone())
            .collect::<std::collections::BTreeSet<AgentId>>()
    };
    let (m, s) = (agent_of(&mover_log), agent_of(&stayer_log));
    let agent = m
        .intersection(&s)
        .next()
        .or_else(|| s.iter().next())
        .unwrap()
        .clone();
    let stayer_there: Vec<_> = stayer_log
        .lock()
        .unwrap()
        .live
        .iter()
        .filter(|(_, (a, _))| a == &agent)
        .map(|(id, _)| id.clone())
        .collect();
    assert!(!stayer_there.is_empty());

    let scheduled_at = cluster.now();
    cluster
        .schedule_maintenance(&agent, secs(10), Some(secs(30)))
        .unwrap();
    cluster.advance(INTERVAL).await;
    let start = scheduled_at + secs(10);
    let mover_was_there = m.contains(&agent);
    for (log, was_there) in [(&stayer_log, true), (&mover_log, mover_was_there)] {
        let log = log.lock().unwrap();
        if !was_there {
            assert!(
                log.inverse_offers.is_empty(),
                "only users of the agent are asked"
            );
            continue;
        }
        assert_eq!(log.inverse_offers.len(), 1, "asked ahead of the window");
        let offer = &log.inverse_offers[0];
        assert_eq!(offer.agent_id.as_ref(), Some(&agent));
        assert_eq!(offer.unavailability.start, start);
        assert_eq!(offer.unavailability.duration, Some(secs(30)));
        assert!(offer.resources.is_empty(), "the whole agent");
    }
    // Before the window the stayer's tasks still run there.
    cluster.advance(secs(5)).await;
    for task in &stayer_there {
        assert_eq!(
            stayer_log.lock().unwrap().states[task].last(),
            Some(&TaskState::Running)
        );
    }
    // The mover left the agent already.
    assert!(mover_log
        .lock()
        .unwrap()
        .live
        .values()
        .all(|(a, _)| a != &agent));

    // The window starts: drained, gracefully.
    cluster.advance(secs(6)).await;
    let trace = cluster.trace();
    for task in &stayer_there {
        let updates = trace.updates_seen(task);
        let killing = updates.iter().find(|u| u.state == TaskState::Killing);
        let killed = updates.iter().find(|u| u.state == TaskState::Killed);
        let (Some(killing), Some(killed)) = (killing, killed) else {
            panic!("task {task} not drained: {}", trace.dump());
        };
        assert!((killing.timestamp - start.as_secs_f64()).abs() < 0.2);
        assert!((killed.timestamp - killing.timestamp - 0.5).abs() < 1e-6);
    }
    // Nothing is offered on the agent during the window.
    cluster.advance(secs(10)).await;
    let state = cluster.state();
    assert!(state.offers.iter().all(|o| o.agent != agent));
    assert!(state
        .tasks
        .iter()
        .all(|t| t.agent != agent || is_terminal(t.state)));
    assert_eq!(state.agent(&agent).unwrap().allocated.cpus(), 0.0);
    // After the window the agent is offered again and the inverse offers
    // are rescinded.
    cluster.advance(secs(20)).await;
    assert!(!cluster.state().maintenance.contains_key(&agent));
    assert_eq!(stayer_log.lock().unwrap().rescinded.len(), 1);
    let _ = (mover, stayer);
    cluster.run_until_idle().await;
    cluster.assert_settled();
}

/// The tenants' example up to the point where T2 borrows 4 CPUs.
struct Tenants {
    cluster: Cluster,
    t1: corral_testkit::Running<Tenant>,
    t1_want: std::sync::Arc<std::sync::Mutex<usize>>,
    t1_log: std::sync::Arc<std::sync::Mutex<support::tenant::TenantLog>>,
    t2: corral_testkit::Running<Tenant>,
    t2_log: std::sync::Arc<std::sync::Mutex<support::tenant::TenantLog>>,
}

impl Tenants {
    async fn borrowing(seed: u64) -> Tenants {
        let config = MasterConfig::default()
            .agents(4, cpus(4.0))
            .quota("t1", guarantee(8.0))
            .quota("t2", guarantee(8.0))
            .allocation_interval(INTERVAL)
            .seed(seed);
        let mut cluster = Cluster::start(config).await.unwrap();
        let t1 = Tenant::new("t1", 4, CLEANUP_MS, GRACE);
        let (t1_want, t1_log) = (t1.want.clone(), t1.log.clone());
        let t1 = cluster.launch(t1.info(), t1).await;
        let t2 = Tenant::new("t2", 12, CLEANUP_MS, GRACE).borrowing();
        let t2_log = t2.log.clone();
        let t2 = cluster.launch(t2.info(), t2).await;
        cluster
            .run_until(secs(10), |state, _| held(state, t2.id()) == (8.0, 4.0))
            .await;
        cluster.run_until_idle().await;
        assert_eq!(held(&cluster.state(), t1.id()), (4.0, 0.0));
        Tenants {
            cluster,
            t1,
            t1_want,
            t1_log,
            t2,
            t2_log,
        }
    }

    /// T1 asks for its whole guarantee.
    async fn t1_asks_for_8(&self) {
        *self.t1_want.lock().unwrap() = 8;
        let driver = self.t1.driver();
        driver.request(&Role::from("t1"), &cpus(8.0)).await.unwrap();
        driver.revive(&[]).await.unwrap();
    }
}

/// The notice is sent while the borrower is disconnected: it gets it when
/// it resubscribes, and releases in time.
#[tokio::test(start_paused = true)]
async fn a_notice_missed_during_a_disconnection_is_sent_again() {
    let Tenants {
        cluster,
        t1,
        t2,
        t2_log,
        ..
    } = {
        let tenants = Tenants::borrowing(21).await;
        tenants.cluster.break_connection(tenants.t2.id()).unwrap();
        tenants.t1_asks_for_8().await;
        tenants
    };
    cluster
        .run_until(secs(30), |state, _| held(state, t1.id()).0 >= 8.0)
        .await;
    cluster.run_until_idle().await;
    let trace = cluster.trace();
    let log = t2_log.lock().unwrap();
    assert_eq!(log.notices.len(), 1, "{}", trace.dump());
    assert_eq!(log.regular(), 8, "the regular tasks are untouched");
    assert_eq!(
        trace
            .calls_of_kind(t2.id(), CallKind::AcceptInverseOffers)
            .len(),
        1,
        "released by the framework, not at the deadline"
    );
    drop(log);
    cluster.assert_settled();
}

/// A borrower that never hears the notice (its stream went silent) loses
/// its borrowed tasks at the deadline all the same, and only those.
#[tokio::test(start_paused = true)]
async fn a_silent_borrower_is_revoked_at_the_deadline() {
    let tenants = Tenants::borrowing(22).await;
    let cluster = &tenants.cluster;
    let (t1, t2) = (&tenants.t1, &tenants.t2);
    cluster.silence(t2.id()).unwrap();
    let asked_at = cluster.now();
    tenants.t1_asks_for_8().await;
    cluster.advance(secs(1)).await;
    // An answer naming one bogus id records nothing.
    let notice = cluster.state().notices[0].id.clone();
    let answer = [notice, corral::OfferId::new("bogus")];
    assert!(t2.driver().decline_inverse_offers(&answer).await.is_err());
    assert_eq!(cluster.state().notices[0].answer, None);
    cluster
        .run_until(secs(30), |state, _| held(state, t1.id()).0 >= 8.0)
        .await;
    let took = cluster.now() - asked_at;
    let notice = MasterConfig::default().revocation_notice;
    assert!(
        took >= notice && took <= notice + GRACE + INTERVAL,
        "T1 got its 8 after {took:?}"
    );
    let state = cluster.state();
    let live_t2 = state
        .tasks
        .iter()
        .filter(|t| &t.framework == t2.id() && !is_terminal(t.state))
        .count();
    assert_eq!(live_t2, 8, "only the borrowed tasks were taken");
    cluster.run_until_idle().await;
    assert_eq!(tenants.t2_log.lock().unwrap().regular(), 8);
    cluster.assert_settled();
}

/// Two owners reclaim on the same agent: each gets its own tasks back,
/// both by the same deadline (the borrower keeps its tasks to the end).
#[tokio::test(start_paused = true)]
async fn two_owners_reclaiming_on_one_agent_each_get_theirs() {
    let config = MasterConfig::default()
        .agents(1, cpus(8.0))
        .quota("a", guarantee(4.0))
        .quota("b", guarantee(4.0))
        .allocation_interval(INTERVAL)
        .seed(8);
    let mut cluster = Cluster::start(config).await.unwrap();
    let a = Tenant::new("a", 0, CLEANUP_MS, GRACE);
    let a_want = a.want.clone();
    let a = cluster.launch(a.info(), a).await;
    let b = Tenant::new("b", 0, CLEANUP_MS, GRACE);
    let b_want = b.want.clone();
    let b = cluster.launch(b.info(), b).await;
    let c = Keeper(Tenant::new("c", 8, CLEANUP_MS, GRACE).borrowing());
    let c_log = c.0.log.clone();
    let c = cluster.launch(c.0.info(), c).await;
    cluster
        .run_until(secs(10), |state, _| held(state, c.id()) == (0.0, 8.0))
        .await;

    let asked_at = cluster.now();
    for (tenant, want, role) in [(&a, &a_want, "a"), (&b, &b_want, "b")] {
        *want.lock().unwrap() = 4;
        let driver = tenant.driver();
        driver.request(&Role::from(role), &cpus(4.0)).await.unwrap();
        driver.revive(&[]).await.unwrap();
    }
    cluster
        .run_until(secs(10), |state, _| {
            held(state, a.id()).0 >= 4.0 && held(state, b.id()).0 >= 4.0
        })
        .await;
    let took = cluster.now() - asked_at;
    let notice = MasterConfig::default().revocation_notice;
    assert!(
        took <= notice + GRACE + INTERVAL,
        "both owners served after {took:?}"
    );
    let taken: usize = c_log
        .lock()
        .unwrap()
        .notices
        .iter()
        .map(|(_, n)| n.tasks.len())
        .sum();
    assert_eq!(taken, 8, "four tasks for each owner");
    cluster.run_until_idle().await;
    cluster.assert_settled();
}

/// An agent lost while down for maintenance stays out of the allocation
/// when it comes back during its window, and returns when the window ends.
#[tokio::test(start_paused = true)]
async fn an_agent_back_during_its_window_stays_down_until_the_end() {
    let config = MasterConfig::default()
        .agent(AgentSpec::new("a-0", cpus(4.0)))
        .agent(AgentSpec::new("a-1", cpus(4.0)))
        .allocation_interval(INTERVAL)
        .seed(12);
    let mut cluster = Cluster::start(config).await.unwrap();
    let tenant = Tenant::new("web", 6, CLEANUP_MS, GRACE);
    let log = tenant.log.clone();
    let web = cluster.launch(tenant.info(), tenant).await;
    cluster.run_until_idle().await;
    let agent = AgentId::new("a-0");
    cluster
        .schedule_maintenance(&agent, secs(1), Some(secs(20)))
        .unwrap();
    cluster.advance(secs(2)).await;
    cluster.lose_agent(&agent).unwrap();
    cluster.advance(secs(1)).await;
    cluster.restore_agent(&agent).unwrap();
    // Still in the window: nothing offered there, nothing runs there.
    for _ in 0..10 {
        cluster.advance(secs(1)).await;
        let state = cluster.state();
        assert!(state.offers.iter().all(|o| o.agent != agent));
        assert_eq!(state.agent(&agent).unwrap().allocated.cpus(), 0.0);
    }
    // After the window the framework gets its six tasks back.
    cluster
        .run_until(secs(30), |state, _| held(state, web.id()).0 >= 6.0)
        .await;
    assert!(cluster.now() >= secs(21), "not before the window ends");
    assert_eq!(log.lock().unwrap().live.len(), 6);
    cluster.check().unwrap();
}
