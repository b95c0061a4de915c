//! Preemptible work on the virtual-time cluster: a build on a revocable
//! agent is aborted by a revocation notice, goes back to the front of the
//! queue marked requeued, and finishes on another agent once borrowed
//! resources are lent again.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use corral::sim::SimulatedTask;
use corral::{Driver, FrameworkInfo, Offer, Resources, Role, Scheduler, TaskInfo, TaskState};
use corral_testkit::allocator::Quota;
use corral_testkit::{CallKind, Cluster, MasterConfig};
use jenkins::{BuildResult, Happened, Input};
use support::{launch, run_to_teardown, trigger, ROLE};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The role that owns the cluster's guarantee and lends it while idle.
struct Owner {
    want: Arc<AtomicUsize>,
    launched: usize,
}

#[async_trait]
impl Scheduler for Owner {
    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
        let needs = Resources::new().with_cpus(4.0).with_mem(1024.0);
        for offer in offers {
            if self.want.load(Ordering::SeqCst) > 0 && offer.regular().contains(&needs) {
                self.launched += 1;
                let task = TaskInfo::new(format!("owner-{}", self.launched))
                    .with_resources(needs.clone())
                    .simulated(SimulatedTask::runs_for(secs(10)));
                if driver.launch(&offer, vec![task]).await.is_ok() {
                    self.want.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
    }

    fn wants_offers(&self, _: &Role) -> Option<bool> {
        Some(self.want.load(Ordering::SeqCst) > 0)
    }
}

const JOBS: &str = "cloud: { max_agents: 2 }\n\
templates:\n\
\x20 spot: { cpus: 1, mem: 256, max_agents: 1, revocable: only }\n\
jobs:\n\
\x20 - { name: long, label: spot, steps: [ { sh: make all, simulated_seconds: 30 } ] }\n\
\x20 - { name: short, label: spot, steps: [ { sh: make lint, simulated_seconds: 1 } ] }\n";

#[tokio::test(start_paused = true)]
async fn a_revoked_build_is_requeued_at_the_front_and_finishes_on_another_agent() {
    // One 4-CPU agent, all of it guaranteed to `owner`, which lends it
    // while idle: the controller's `spot` agents run on it, revocable.
    let config = MasterConfig::default()
        .agents(1, Resources::parse("cpus:4;mem:4096").unwrap())
        .role(ROLE, 1.0)
        .role("owner", 1.0)
        .quota(
            "owner",
            Quota {
                guarantee: Resources::new().with_cpus(4.0),
                limit: None,
            },
        )
        .allocation_interval(Duration::from_millis(100))
        .revocation_notice(secs(5))
        .seed(7);
    let mut cluster = Cluster::start(config).await.unwrap();
    let want = Arc::new(AtomicUsize::new(0));
    let owner = Owner {
        want: want.clone(),
        launched: 0,
    };
    let owner = cluster
        .launch(FrameworkInfo::new("owner").with_roles(["owner"]), owner)
        .await;
    let (running, injector) = launch(&mut cluster, JOBS).await;
    let fw = running.id().clone();
    injector.send(trigger("long")).await.unwrap();
    injector.send(trigger("short")).await.unwrap();
    injector.send(trigger("short")).await.unwrap();

    // 5 s into long#1, the owner wants its 4 CPUs back.
    cluster.advance(secs(5)).await;
    want.store(1, Ordering::SeqCst);
    let owner_role = Role::from("owner");
    owner
        .driver()
        .request(&owner_role, &Resources::new().with_cpus(4.0))
        .await
        .unwrap();
    owner.driver().revive(&[owner_role]).await.unwrap();
    cluster
        .run_until(secs(30), |_, trace| {
            !trace.calls_of_kind(owner.id(), CallKind::Accept).is_empty()
        })
        .await;
    // The owner's task ends after 10 s; it withdraws its request and the
    // idle guarantee is lent again.
    owner.driver().withdraw_requests().await.unwrap();
    injector.send(Input::ShutdownWhenDone).await.unwrap();
    let controller = run_to_teardown(&cluster, running, secs(300), |_| {}).await;

    let history = controller.history();
    // Every spot agent ran on revocable resources.
    let agents: Vec<_> = history
        .iter()
        .filter_map(|h| match h {
            Happened::Launched(task, _, revocable) => Some((task.clone(), *revocable)),
            _ => None,
        })
        .collect();
    assert!(agents.iter().all(|(_, revocable)| *revocable), "{agents:?}");
    assert_eq!(agents.len(), 2, "the revoked agent and its successor");
    let (first, second) = (&agents[0].0, &agents[1].0);

    // long#1 started on the first agent, was requeued when it was
    // revoked, and was the next build to start: on the second agent,
    // ahead of the two short builds that had waited since the beginning.
    let starts: Vec<(String, String)> = history
        .iter()
        .filter_map(|h| match h {
            Happened::Started(b, a) => Some((b.to_string(), a.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(
        starts,
        vec![
            ("long#1".into(), first.to_string()),
            ("long#1".into(), second.to_string()),
            ("short#1".into(), second.to_string()),
            ("short#2".into(), second.to_string()),
        ]
    );
    let requeued = history
        .iter()
        .position(
            |h| matches!(h, Happened::Requeued(b, a) if b.to_string() == "long#1" && a == first),
        )
        .expect("long#1 requeued from the revoked agent");
    assert!(
        matches!(&history[requeued + 1], Happened::Stopping(a, "revoked") if a == first),
        "{history:?}"
    );
    let long = controller
        .builds()
        .all()
        .find(|b| b.id.to_string() == "long#1")
        .unwrap();
    assert_eq!(long.requeued, 1, "marked requeued");
    assert_eq!(
        long.state,
        jenkins::queue::BuildState::Done(BuildResult::Success)
    );
    assert_eq!(controller.counters().revocations, 1);

    // The revoked agent was released gracefully: killed, not lost.
    let trace = cluster.trace();
    trace.expect_task_state(first, TaskState::Killed);
    assert_eq!(
        trace
            .calls_of_kind(&fw, CallKind::AcceptInverseOffers)
            .len(),
        1,
        "the notice was answered"
    );
    let summary = jenkins::Summary::of(&controller);
    assert_eq!(
        (summary.success, summary.requeued, summary.unfinished),
        (3, 1, 0)
    );
    owner.driver().stop();
    let _ = owner.join().await;
    cluster.run_until_idle().await;
    cluster.assert_settled();
}
