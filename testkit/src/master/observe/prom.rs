//! `/metrics` in the Prometheus text format (OpenMetrics 1.0, which
//! Prometheus scrapes), encoded by the `prometheus-client` crate from an
//! [`Observation`]: a fresh registry per scrape, filled from the
//! snapshot and the counters, so the figures are those of one instant.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::{text, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

use super::gather::Observation;
use super::mesos_json::{state_name, TASK_STATES};
use super::snapshot::scalars;
use super::telemetry::{CycleHistogram, CYCLE_BUCKETS};

/// The content type of [`encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labels = Vec<(&'static str, String)>;
type GaugeF = Gauge<f64, AtomicU64>;

/// The allocation cycle histogram, encoded from our own buckets.
#[derive(Debug)]
struct Cycles(CycleHistogram);

impl TypedMetric for Cycles {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Cycles {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let mut buckets: Vec<(f64, u64)> = CYCLE_BUCKETS
            .iter()
            .copied()
            .zip(self.0.buckets.iter().copied())
            .collect();
        buckets.push((f64::INFINITY, self.0.buckets[CYCLE_BUCKETS.len()]));
        encoder.encode_histogram::<NoLabelSet>(self.0.sum, self.0.count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

fn gauge_family() -> Family<Labels, GaugeF> {
    Family::default()
}

fn counter_family() -> Family<Labels, Counter> {
    Family::default()
}

/// Every figure of the list, as text.
pub fn encode(obs: &Observation) -> Result<String, std::fmt::Error> {
    let mut reg = Registry::with_prefix("corral");

    let offers = counter_family();
    for (role, c) in &obs.counts.offers {
        for (what, n) in [
            ("made", c.made),
            ("declined", c.declined),
            ("rescinded", c.rescinded),
        ] {
            offers
                .get_or_create(&vec![("role", role.clone()), ("event", what.to_owned())])
                .inc_by(n);
        }
    }
    reg.register(
        "offers",
        "Offers made, declined and rescinded, by role",
        offers,
    );

    let tasks = gauge_family();
    for state in TASK_STATES {
        let n = obs.state.tasks.iter().filter(|t| t.state == state).count();
        tasks
            .get_or_create(&vec![("state", state_name(state).to_owned())])
            .set(n as f64);
    }
    reg.register("tasks", "Tasks the master knows, by latest state", tasks);

    let pending = gauge_family();
    for f in &obs.state.frameworks {
        pending
            .get_or_create(&vec![("framework", f.id.as_str().to_owned())])
            .set(f.pending_updates as f64);
    }
    reg.register(
        "status_updates_pending_ack",
        "Status updates waiting for the framework's acknowledgement",
        pending,
    );

    reg.register(
        "allocation_cycle_seconds",
        "Duration of the allocator's cycle",
        Cycles(obs.counts.cycles.clone()),
    );

    let role_gauges: [(&str, &str, Family<Labels, GaugeF>); 6] = [
        (
            "role_allocated",
            "Regular resources the role's subtree holds",
            gauge_family(),
        ),
        (
            "role_guaranteed",
            "The role's quota guarantee",
            gauge_family(),
        ),
        ("role_limit", "The role's quota limit", gauge_family()),
        (
            "role_lent",
            "Resources reserved for the role that others hold revocably",
            gauge_family(),
        ),
        (
            "role_borrowed",
            "Revocable resources the role's subtree holds",
            gauge_family(),
        ),
        (
            "role_dominant_share",
            "The role's weighted dominant share",
            gauge_family(),
        ),
    ];
    for r in &obs.roles {
        let role = r.role.as_str().to_owned();
        let set = |fam: &Family<Labels, GaugeF>, res: &std::collections::BTreeMap<String, f64>| {
            for (name, v) in res {
                fam.get_or_create(&vec![("role", role.clone()), ("resource", name.clone())])
                    .set(*v);
            }
        };
        set(&role_gauges[0].2, &scalars(&r.allocated));
        if let Some(q) = &r.quota {
            set(&role_gauges[1].2, &scalars(&q.guarantee));
            if let Some(limit) = &q.limit {
                set(&role_gauges[2].2, &scalars(limit));
            }
        }
        if let Some(lent) = obs.lent.get(&r.role) {
            set(&role_gauges[3].2, &scalars(lent));
        }
        set(&role_gauges[4].2, &scalars(&r.revocable));
        role_gauges[5]
            .2
            .get_or_create(&vec![("role", role.clone())])
            .set(r.share);
    }
    for (name, help, fam) in role_gauges {
        reg.register(name, help, fam);
    }

    let notices = counter_family();
    for (what, n) in [
        ("sent", obs.counts.notices_sent),
        ("answered", obs.counts.notices_answered),
        ("enforced", obs.counts.notices_enforced),
    ] {
        notices
            .get_or_create(&vec![("event", what.to_owned())])
            .inc_by(n);
    }
    reg.register(
        "revocation_notices",
        "Revocation notices sent, answered, enforced at the deadline",
        notices,
    );

    let connected: Gauge<i64> = Gauge::default();
    connected.set(obs.state.frameworks.iter().filter(|f| f.active).count() as i64);
    reg.register(
        "frameworks_connected",
        "Frameworks with an open event stream",
        connected,
    );

    let queues = gauge_family();
    for q in &obs.queues {
        queues
            .get_or_create(&vec![
                ("stream", q.stream.clone()),
                (
                    "framework",
                    q.framework
                        .as_ref()
                        .map(|f| f.as_str().to_owned())
                        .unwrap_or_default(),
                ),
            ])
            .set(q.depth as f64);
    }
    reg.register(
        "event_queue_depth",
        "Events waiting in each subscription's queue",
        queues,
    );

    let mut out = String::new();
    text::encode(&mut out, &reg)?;
    Ok(out)
}
