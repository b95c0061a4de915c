//! `GET /prometheus/`: the controller's figures under the names the
//! Jenkins Prometheus plugin exports, so a dashboard or an alert written
//! for a Jenkins controller reads this one unchanged:
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `default_jenkins_up` | | 1 while the controller answers |
//! | `default_jenkins_nodes_online` | `node` | 1 for an agent ready to build, 0 while it starts |
//! | `default_jenkins_executors_defined` | `label` | agents of the label, started or starting |
//! | `default_jenkins_executors_online` | `label` | … of them ready |
//! | `default_jenkins_executors_connecting` | `label` | … of them still starting |
//! | `default_jenkins_executors_busy` | `label` | … of them running a build |
//! | `default_jenkins_executors_idle` | `label` | … ready and not building |
//! | `default_jenkins_executors_available` | `label` | … ready, not building, accepting a build |
//! | `default_jenkins_executors_queue_length` | `label` | builds waiting for an agent of the label |
//! | `default_jenkins_builds_{success,failed,aborted,total}_build_count` | `jenkins_job` | builds kept, by result |
//! | `default_jenkins_builds_last_build_result_ordinal` | `jenkins_job` | 0 success, 2 failure, 4 aborted (Jenkins's `Result` ordinals) |
//! | `default_jenkins_builds_last_build_duration_milliseconds` | `jenkins_job` | the last finished build's duration |
//! | `corral_jenkins_agents_revocable` | `label` | agents running on revocable (borrowed) resources |
//!
//! Every agent is one executor: an agent is a task that lives for its
//! builds. The figures are computed at scrape time from one
//! [`Snapshot`], as the plugin computes them from Jenkins's model, so
//! the numbers of one scrape are of one instant. Counts are gauges, not
//! counters: they count the builds the controller keeps, as the plugin's
//! do, and so they are not monotonic across a restart that prunes.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::queue::BuildResult;
use crate::view::Snapshot;

/// The content type of [`encode`]'s output (OpenMetrics text, which
/// Prometheus scrapes).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labels = Vec<(&'static str, String)>;
type Figures = Family<Labels, Gauge<f64, AtomicU64>>;
/// A metric's name, help and how to read it from its row.
type Column<Row> = (&'static str, &'static str, fn(&Row) -> u64);

/// The per-label executor figures, in the plugin's order.
#[derive(Default)]
struct Executors {
    defined: u64,
    online: u64,
    connecting: u64,
    busy: u64,
    idle: u64,
    available: u64,
    queue_length: u64,
    revocable: u64,
}

/// The per-job build figures.
#[derive(Default)]
struct Builds {
    success: u64,
    failed: u64,
    aborted: u64,
    total: u64,
    /// (number, result, duration ms) of the newest finished build.
    last: Option<(u64, BuildResult, u64)>,
}

/// Jenkins's `hudson.model.Result` ordinal.
fn ordinal(result: BuildResult) -> f64 {
    match result {
        BuildResult::Success => 0.0,
        BuildResult::Failure => 2.0,
        BuildResult::Aborted => 4.0,
    }
}

fn executors(snap: &Snapshot) -> BTreeMap<&str, Executors> {
    let mut by_label: BTreeMap<&str, Executors> = BTreeMap::new();
    for job in &snap.jobs {
        by_label.entry(job.label.as_str()).or_default();
    }
    for agent in &snap.agents {
        let e = by_label.entry(agent.label.as_str()).or_default();
        e.defined += 1;
        if agent.launching {
            e.connecting += 1;
        } else {
            e.online += 1;
            if agent.build.is_some() {
                e.busy += 1;
            } else {
                e.idle += 1;
                if agent.idle {
                    e.available += 1;
                }
            }
        }
        if agent.revocable {
            e.revocable += 1;
        }
    }
    for item in &snap.queue {
        by_label
            .entry(item.label.as_str())
            .or_default()
            .queue_length += 1;
    }
    by_label
}

fn builds(snap: &Snapshot) -> BTreeMap<&str, Builds> {
    let mut by_job: BTreeMap<&str, Builds> = BTreeMap::new();
    for job in &snap.jobs {
        by_job.entry(job.name.as_str()).or_default();
    }
    for build in &snap.builds {
        let b = by_job.entry(build.id.job.as_str()).or_default();
        let Some(result) = build.result else {
            continue;
        };
        b.total += 1;
        match result {
            BuildResult::Success => b.success += 1,
            BuildResult::Failure => b.failed += 1,
            BuildResult::Aborted => b.aborted += 1,
        }
        if b.last.is_none_or(|(number, _, _)| build.id.number > number) {
            b.last = Some((build.id.number, result, build.duration_ms));
        }
    }
    by_job
}

/// Adds one family to the registry, filled by `fill`.
fn figures(reg: &mut Registry, name: &str, help: &str, fill: impl FnOnce(&Figures)) {
    let family = Figures::default();
    fill(&family);
    reg.register(name, help, family);
}

fn set(family: &Figures, key: &'static str, value: &str, figure: u64) {
    // Figures are counts of agents and builds: far below 2^53, exact in f64.
    family
        .get_or_create(&vec![(key, value.to_owned())])
        .set(figure as f64);
}

/// The text a scrape of `/prometheus/` answers.
pub fn encode(snap: &Snapshot) -> Result<String, std::fmt::Error> {
    let mut reg = Registry::default();
    figures(
        &mut reg,
        "default_jenkins_up",
        "Whether the controller is ready to take requests",
        |f| {
            f.get_or_create(&Vec::new()).set(1.0);
        },
    );
    figures(
        &mut reg,
        "default_jenkins_nodes_online",
        "Each agent: 1 when ready to build, 0 while it starts",
        |f| {
            for agent in &snap.agents {
                set(f, "node", &agent.name, u64::from(!agent.launching));
            }
        },
    );

    let by_label = executors(snap);
    let executor_figures: [Column<Executors>; 8] = [
        (
            "default_jenkins_executors_defined",
            "Executors defined (agents started or starting)",
            |e| e.defined,
        ),
        (
            "default_jenkins_executors_online",
            "Executors of agents that are ready",
            |e| e.online,
        ),
        (
            "default_jenkins_executors_connecting",
            "Executors of agents still starting",
            |e| e.connecting,
        ),
        (
            "default_jenkins_executors_busy",
            "Executors running a build",
            |e| e.busy,
        ),
        (
            "default_jenkins_executors_idle",
            "Executors ready and not building",
            |e| e.idle,
        ),
        (
            "default_jenkins_executors_available",
            "Executors ready, not building and accepting a build",
            |e| e.available,
        ),
        (
            "default_jenkins_executors_queue_length",
            "Builds waiting for an executor of the label",
            |e| e.queue_length,
        ),
        (
            "corral_jenkins_agents_revocable",
            "Agents running on revocable (borrowed) resources",
            |e| e.revocable,
        ),
    ];
    for (name, help, figure) in executor_figures {
        figures(&mut reg, name, help, |f| {
            for (label, e) in &by_label {
                set(f, "label", label, figure(e));
            }
        });
    }

    let by_job = builds(snap);
    let build_figures: [Column<Builds>; 4] = [
        (
            "default_jenkins_builds_success_build_count",
            "Successful builds kept",
            |b| b.success,
        ),
        (
            "default_jenkins_builds_failed_build_count",
            "Failed builds kept",
            |b| b.failed,
        ),
        (
            "default_jenkins_builds_aborted_build_count",
            "Aborted builds kept",
            |b| b.aborted,
        ),
        (
            "default_jenkins_builds_total_build_count",
            "Finished builds kept",
            |b| b.total,
        ),
    ];
    for (name, help, figure) in build_figures {
        figures(&mut reg, name, help, |f| {
            for (job, b) in &by_job {
                set(f, "jenkins_job", job, figure(b));
            }
        });
    }
    figures(
        &mut reg,
        "default_jenkins_builds_last_build_result_ordinal",
        "The last finished build's result: 0 success, 2 failure, 4 aborted",
        |f| {
            for (job, b) in &by_job {
                if let Some((_, result, _)) = b.last {
                    f.get_or_create(&vec![("jenkins_job", (*job).to_owned())])
                        .set(ordinal(result));
                }
            }
        },
    );
    figures(
        &mut reg,
        "default_jenkins_builds_last_build_duration_milliseconds",
        "The last finished build's duration",
        |f| {
            for (job, b) in &by_job {
                if let Some((_, _, ms)) = b.last {
                    set(f, "jenkins_job", job, ms);
                }
            }
        },
    );

    let mut out = String::new();
    text::encode(&mut out, &reg)?;
    Ok(out)
}
