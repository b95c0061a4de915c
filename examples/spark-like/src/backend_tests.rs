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
        .expect_launch()
        .withf(|offer, tasks| offer.id.as_str() == "a1" && tasks.len() == 3)
        .times(1)
        .returning(|_, _| Ok(()));
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
