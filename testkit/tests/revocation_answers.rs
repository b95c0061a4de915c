//! Answers to revocation notices, checked at the master: a release is
//! recorded as releasing and a decline as keeping (not just "a call was
//! sent"); an id the master never had is an error for the framework, not
//! "already withdrawn"; a notice the master withdrew (the framework saw its
//! RESCIND_INVERSE_OFFER) answered late is done. Issue 20.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral::{Driver, Error, FrameworkId, Resources, RevocationNotice, Role, TaskState};
use corral_testkit::allocator::Quota;
use corral_testkit::master::NoticeAnswer;
use corral_testkit::{Cluster, MasterConfig, MasterState, Running};
use support::tenant::{Tenant, TenantLog};

const INTERVAL: Duration = Duration::from_millis(100);
const GRACE: Duration = Duration::from_secs(2);
const CLEANUP_MS: u64 = 500;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn cpus(n: f64) -> Resources {
    Resources::new().with_cpus(n)
}

/// What the borrower does with a notice.
#[derive(Clone, Copy, Debug, PartialEq)]
enum How {
    Release,
    Decline,
    /// Leaves it unanswered (the test answers, or not).
    Ignore,
}

/// A borrowing tenant that answers notices `how`, and records what each
/// answer returned.
struct Borrower {
    tenant: Tenant,
    how: How,
    answers: Arc<Mutex<Vec<Result<(), String>>>>,
}

#[async_trait::async_trait]
impl corral::Scheduler for Borrower {
    async fn subscribed(&mut self, driver: &dyn Driver, info: &corral::Subscribed) {
        self.tenant.subscribed(driver, info).await
    }
    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<corral::Offer>) {
        self.tenant.offers(driver, offers).await
    }
    async fn status_update(&mut self, driver: &dyn Driver, status: &corral::TaskStatus) {
        self.tenant.status_update(driver, status).await
    }
    async fn inverse_offer_rescinded(&mut self, driver: &dyn Driver, id: &corral::OfferId) {
        self.tenant.inverse_offer_rescinded(driver, id).await
    }
    async fn revocation(&mut self, driver: &dyn Driver, notice: RevocationNotice) {
        self.tenant
            .log
            .lock()
            .unwrap()
            .notices
            .push((Duration::ZERO, notice.clone()));
        let answer = match self.how {
            How::Release => driver.release(&notice).await,
            How::Decline => driver.decline_revocation(&notice).await,
            How::Ignore => return,
        };
        self.answers
            .lock()
            .unwrap()
            .push(answer.map_err(|e| e.to_string()));
    }
    fn wants_offers(&self, role: &Role) -> Option<bool> {
        self.tenant.wants_offers(role)
    }
}

/// An owner with an idle guarantee of 4 CPUs and a borrower running 4
/// regular and 2 revocable tasks on it; then the owner asks for its 4.
struct Scene {
    cluster: Cluster,
    borrower: Running<Borrower>,
    log: Arc<Mutex<TenantLog>>,
    answers: Arc<Mutex<Vec<Result<(), String>>>>,
}

/// CPUs `fw`'s live tasks hold, regular and revocable apart.
fn held(state: &MasterState, fw: &FrameworkId) -> (f64, f64) {
    let mut regular = 0.0;
    let mut revocable = 0.0;
    for t in state
        .tasks
        .iter()
        .filter(|t| &t.framework == fw && !t.state.is_terminal())
    {
        regular += t.resources.non_revocable().cpus();
        revocable += t.resources.only_revocable().cpus();
    }
    (regular, revocable)
}

async fn scene(how: How, seed: u64) -> Scene {
    let guarantee = Quota {
        guarantee: cpus(4.0),
        limit: None,
    };
    let config = MasterConfig::default()
        .agents(2, cpus(4.0))
        .quota("owner", guarantee.clone())
        .quota("borrower", guarantee)
        .allocation_interval(INTERVAL)
        .seed(seed);
    let mut cluster = Cluster::start(config).await.unwrap();
    let owner = Tenant::new("owner", 0, CLEANUP_MS, GRACE);
    let owner_want = owner.want.clone();
    let owner = cluster.launch(owner.info(), owner).await;
    let tenant = Tenant::new("borrower", 6, CLEANUP_MS, GRACE).borrowing();
    let log = tenant.log.clone();
    let answers = Arc::new(Mutex::new(Vec::new()));
    let borrower = Borrower {
        tenant,
        how,
        answers: answers.clone(),
    };
    let info = borrower.tenant.info();
    let borrower = cluster.launch(info, borrower).await;
    cluster
        .run_until(secs(10), |state, _| {
            held(state, borrower.id()) == (4.0, 2.0)
        })
        .await;
    cluster.run_until_idle().await;
    // The owner asks for its guarantee: the borrower gets a notice.
    *owner_want.lock().unwrap() = 4;
    let driver = owner.driver();
    driver
        .request(&Role::from("owner"), &cpus(4.0))
        .await
        .unwrap();
    driver.revive(&[]).await.unwrap();
    cluster
        .run_until(secs(5), |_, _| !log.lock().unwrap().notices.is_empty())
        .await;
    Scene {
        cluster,
        borrower,
        log,
        answers,
    }
}

fn recorded(state: &MasterState) -> Vec<Option<NoticeAnswer>> {
    state.notices.iter().map(|n| n.answer).collect()
}

#[tokio::test(start_paused = true)]
async fn a_release_is_recorded_by_the_master_as_releasing() {
    let s = scene(How::Release, 31).await;
    // Recorded before the released tasks end (their cleanup takes 500 ms),
    // which is when the master withdraws the notice.
    s.cluster
        .run_until(secs(1), |state, _| {
            recorded(state) == [Some(NoticeAnswer::Releasing)]
        })
        .await;
    assert_eq!(*s.answers.lock().unwrap(), [Ok(())]);
    s.cluster
        .run_until(secs(10), |state, _| state.notices.is_empty())
        .await;
    assert_eq!(held(&s.cluster.state(), s.borrower.id()), (4.0, 0.0));
    s.cluster.run_until_idle().await;
    s.cluster.assert_settled();
}

#[tokio::test(start_paused = true)]
async fn a_decline_is_recorded_by_the_master_as_keeping() {
    let s = scene(How::Decline, 32).await;
    s.cluster
        .run_until(secs(1), |state, _| {
            recorded(state) == [Some(NoticeAnswer::Keeping)]
        })
        .await;
    assert_eq!(*s.answers.lock().unwrap(), [Ok(())]);
    // Kept: the borrowed tasks still run well after the answer.
    s.cluster.advance(secs(2)).await;
    assert_eq!(held(&s.cluster.state(), s.borrower.id()), (4.0, 2.0));
    assert_eq!(recorded(&s.cluster.state()), [Some(NoticeAnswer::Keeping)]);
    s.cluster.run_until_idle().await;
    s.cluster.assert_settled();
}

#[tokio::test(start_paused = true)]
async fn an_id_the_master_never_had_is_an_error_not_already_withdrawn() {
    let s = scene(How::Ignore, 33).await;
    let real = s.log.lock().unwrap().notices[0].1.clone();
    let bogus = RevocationNotice::new(
        "bogus",
        real.agent_id.clone(),
        [],
        real.resources.clone(),
        real.deadline,
    );
    let driver = s.borrower.driver();
    let released = driver.release(&bogus).await;
    assert!(
        matches!(released, Err(Error::UnknownNotice { ref notice, .. }) if notice.as_str() == "bogus"),
        "{released:?}"
    );
    let declined = driver.decline_revocation(&bogus).await;
    assert!(
        matches!(declined, Err(Error::UnknownNotice { .. })),
        "{declined:?}"
    );
    assert_eq!(recorded(&s.cluster.state()), [None], "nothing recorded");
    // The real one is still answered and recorded.
    driver.decline_revocation(&real).await.unwrap();
    assert_eq!(recorded(&s.cluster.state()), [Some(NoticeAnswer::Keeping)]);
    s.cluster.run_until_idle().await;
    s.cluster.assert_settled();
}

#[tokio::test(start_paused = true)]
async fn a_notice_the_master_withdrew_answered_late_is_done() {
    let s = scene(How::Ignore, 34).await;
    let notice = s.log.lock().unwrap().notices[0].1.clone();
    let driver = s.borrower.driver();
    // The borrower stops the named tasks itself, without answering: once
    // they end, the master withdraws the notice and says so.
    for task in &notice.tasks {
        driver.kill(task, None).await.unwrap();
    }
    s.cluster
        .run_until(secs(10), |_, _| {
            s.log.lock().unwrap().rescinded.contains(&notice.id)
        })
        .await;
    assert!(s.cluster.state().notices.is_empty());
    for task in &notice.tasks {
        assert!(driver
            .task_status(task)
            .is_some_and(|st| st.state == TaskState::Killed));
    }
    // Answered after the withdrawal it saw: done, either way.
    driver.release(&notice).await.unwrap();
    driver.decline_revocation(&notice).await.unwrap();
    s.cluster.run_until_idle().await;
    s.cluster.assert_settled();
}
