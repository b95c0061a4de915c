//! The backend's offer decisions, tested without a master: `MockDriver`
//! (corral's `mock` feature) states what it must call.

use std::time::Duration;

use corral::{MockDriver, Offer, Resources, Role, Scheduler};

use super::{Backend, Placement};
use crate::conf::SparkConf;
use crate::dag::{DurationDist, JobSpec};
use crate::progress::Progress;

fn backend(pairs: &[&str], tasks: usize) -> Backend {
    let mut conf = SparkConf::default();
    for p in pairs {
        conf.set_arg(p).unwrap();
    }
    let job = JobSpec::synthetic(
        &[tasks],
        &DurationDist::Fixed(Duration::from_millis(100)),
        None,
        1,
    );
    Backend::new(job, conf, Placement::Simulated, Progress::hidden())
}

fn offer(id: &str, cpus: f64, zone: &str) -> Offer {
    Offer::new(
        id,
        format!("agent-{id}"),
        Resources::new().with_cpus(cpus).with_mem(8192.0),
    )
    .with_role("spark")
    .with_framework("f")
    .with_attribute("zone", zone)
}

#[tokio::test]
async fn fine_mode_packs_tasks_and_declines_unmatched_agents_with_their_filter() {
    let mut b = backend(
        &[
            "spark.mesos.coarse=false",
            "spark.mesos.constraints=zone:a",
            "spark.mesos.rejectOfferDurationForUnmetConstraints=33s",
        ],
        3,
    );
    let mut driver = MockDriver::new();
    driver
        .expect_launch_group()
        .withf(|offer, executor, tasks| {
            offer.id.as_str() == "a1"
                && executor.id.as_str() == "spark-fine-executor@agent-a1"
                && tasks.len() == 3
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    driver
        .expect_decline()
        .withf(|id, refuse| id.as_str() == "c1" && *refuse == Some(Duration::from_secs(33)))
        .times(1)
        .returning(|_, _| Ok(()));
    b.offers(&driver, vec![offer("c1", 4.0, "c"), offer("a1", 4.0, "a")])
        .await;
    assert_eq!(
        b.wants_offers(&Role::from("spark")),
        Some(false),
        "nothing pending: suppress"
    );
}

#[tokio::test]
async fn coarse_mode_sizes_executors_and_stops_at_cores_max() {
    let mut b = backend(
        &[
            "spark.executor.cores=2",
            "spark.cores.max=4",
            "spark.mesos.rejectOfferDurationForReachedMaxCores=9s",
        ],
        100,
    );
    let mut driver = MockDriver::new();
    driver
        .expect_launch()
        .withf(|offer, tasks| {
            offer.id.as_str() == "o1"
                && tasks.len() == 2
                && tasks.iter().all(|t| t.resources.cpus() == 2.0)
        })
        .times(1)
        .returning(|_, _| Ok(()));
    driver
        .expect_decline()
        .withf(|id, refuse| id.as_str() == "o2" && *refuse == Some(Duration::from_secs(9)))
        .times(1)
        .returning(|_, _| Ok(()));
    b.offers(&driver, vec![offer("o1", 8.0, "a"), offer("o2", 8.0, "a")])
        .await;
    assert_eq!(
        b.wants_offers(&Role::from("spark")),
        Some(false),
        "cores.max held: no more offers"
    );
}

#[tokio::test]
async fn fine_mode_tasks_on_one_agent_share_its_executor_charged_once() {
    let mut b = backend(&["spark.mesos.coarse=false"], 100);
    let mut driver = MockDriver::new();
    // The first offer of agent-x starts its executor: 1 cpu of its own
    // (spark.mesos.mesosExecutor.cores), 3 left for tasks.
    driver
        .expect_launch_group()
        .withf(|offer, executor, tasks| {
            offer.id.as_str() == "x"
                && executor.id.as_str() == "spark-fine-executor@agent-x"
                && executor.resources.cpus() == 1.0
                && tasks.len() == 3
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    b.offers(&driver, vec![offer("x", 4.0, "a")]).await;
    driver.checkpoint();
    // While its tasks run, more of the agent goes to tasks alone, under the
    // same executor (the master charges an executor once).
    driver
        .expect_launch_group()
        .withf(|offer, executor, tasks| {
            offer.id.as_str() == "x"
                && executor.id.as_str() == "spark-fine-executor@agent-x"
                && tasks.len() == 2
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    b.offers(&driver, vec![offer("x", 2.0, "a")]).await;
    driver.checkpoint();
    assert_eq!(b.held, 6.0, "1 executor cpu and 5 task cpus");
}
