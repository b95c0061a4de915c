//! External inputs to a running framework on the virtual-time cluster:
//! injected at a virtual instant, recorded in the trace, interleaved with
//! the master's events in an order fixed by the seed; work that arrives
//! from outside ends a suppression within one revive interval; a timer
//! set by a handler fires at its virtual instant.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use async_trait::async_trait;
use corral::{
    CommandInfo, Config, Driver, Event, FrameworkId, FrameworkInfo, Offer, Resources, Role,
    Scheduler, TaskId, TaskInfo, TaskState, TaskStatus, WithInputs,
};
use corral_testkit::harness::{Entry, What};
use corral_testkit::{CallKind, Cluster, Injector, MasterConfig, Running};

const REVIVE_INTERVAL: Duration = Duration::from_secs(1);
const RETRY_AFTER: Duration = Duration::from_secs(3);
const RUN_MS: u64 = 500;

/// What a webhook can send: a build, that fails on its first run if asked.
#[derive(Clone, Debug)]
enum Input {
    Build { name: String, fail_first: bool },
}

/// Runs builds as they arrive; retries a failed build `RETRY_AFTER` later
/// through a timer. Wants offers only while a build waits.
#[derive(Default)]
struct Builds {
    queued: VecDeque<(String, bool)>,
    retries: BTreeMap<u64, String>,
    next_tag: u64,
}

#[async_trait]
impl Scheduler for Builds {
    async fn offers(&mut self, driver: &dyn Driver, offers: Vec<Offer>) {
        for offer in offers {
            let mut left = offer.regular();
            let mut tasks = Vec::new();
            while let Some((name, fail)) = self.queued.front() {
                let task = TaskInfo::new(name.as_str())
                    .with_resources(Resources::new().with_cpus(1.0).with_mem(32.0))
                    .with_command(CommandInfo::shell("simulated"))
                    .with_label("corral.sim/duration", RUN_MS.to_string())
                    .with_label("corral.sim/exit", if *fail { "1" } else { "0" });
                let Some(rest) = left.checked_sub(&task.resources) else {
                    break;
                };
                left = rest;
                tasks.push(task);
                self.queued.pop_front();
            }
            if !tasks.is_empty() {
                driver.launch(&offer, tasks).await.expect("launch");
            }
        }
    }

    async fn status_update(&mut self, driver: &dyn Driver, status: &TaskStatus) {
        if status.state == TaskState::Failed {
            let tag = self.next_tag;
            self.next_tag += 1;
            self.retries
                .insert(tag, format!("{}#retry", status.task_id.as_str()));
            driver.wake_after(RETRY_AFTER, tag);
        }
    }

    async fn timer(&mut self, _: &dyn Driver, tag: u64) {
        if let Some(name) = self.retries.remove(&tag) {
            self.queued.push_back((name, false));
        }
    }

    fn wants_offers(&self, _: &Role) -> Option<bool> {
        Some(!self.queued.is_empty())
    }
}

#[async_trait]
impl WithInputs for Builds {
    type Input = Input;

    async fn input(&mut self, _: &dyn Driver, input: Input) {
        let Input::Build { name, fail_first } = input;
        self.queued.push_back((name, fail_first));
    }
}

fn build(name: &str) -> Input {
    Input::Build {
        name: name.to_owned(),
        fail_first: false,
    }
}

fn config(seed: u64) -> MasterConfig {
    MasterConfig::default()
        .agents(2, Resources::parse("cpus:2;mem:1024").unwrap())
        .role("ci", 1.0)
        .allocation_interval(Duration::from_millis(100))
        .seed(seed)
}

async fn start(seed: u64) -> (Cluster, Running<Builds>, Injector<Input>) {
    let mut cluster = Cluster::start(config(seed)).await.unwrap();
    let runtime = Config::default()
        .with_seed(seed)
        .with_min_revive_interval(REVIVE_INTERVAL);
    let info = FrameworkInfo::new("ci").with_roles(["ci"]);
    let (fw, injector) = cluster
        .launch_with_inputs(info, runtime, Builds::default(), 8)
        .await;
    (cluster, fw, injector)
}

/// Runs until the handler has seen task `name` finish.
async fn finished(cluster: &Cluster, name: &str) {
    let task = TaskId::new(name);
    cluster
        .run_until(Duration::from_secs(60), |_, trace| {
            trace.last_state(&task) == Some(TaskState::Finished)
        })
        .await;
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn is_call(entry: &Entry, kind: CallKind) -> bool {
    matches!(&entry.what, What::Call { call, outcome: Ok(()) } if call.kind() == kind)
}

fn of<'a>(entries: &'a [Entry], fw: &'a FrameworkId) -> Vec<&'a Entry> {
    entries
        .iter()
        .filter(|e| e.framework.as_ref() == Some(fw))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn an_input_revives_a_suppressed_framework_within_one_revive_interval() {
    let (cluster, fw, injector) = start(7).await;
    cluster.run_until_idle().await;
    // Two builds, the second while the first's revive still holds the
    // rate limit: each revive comes within one interval of its input.
    let first = cluster.now() + Duration::from_secs(10);
    cluster.input_at(&injector, first, build("a")).await;
    let second = first + ms(300);
    cluster.input_at(&injector, second, build("b")).await;
    // Not `run_until_idle` alone: a revive held back by the rate limit is
    // the framework's, the cluster does not wait for it.
    finished(&cluster, "b").await;
    cluster.run_until_idle().await;

    let trace = cluster.trace();
    let entries = of(trace.entries(), fw.id());
    let dump = trace.dump();
    for (name, at) in [("a", first), ("b", second)] {
        let injected = entries
            .iter()
            .position(|e| matches!(&e.what, What::Input(t) if t.contains(&format!("\"{name}\""))))
            .unwrap_or_else(|| panic!("input {name} not in the trace\n{dump}"));
        assert_eq!(entries[injected].at, at, "{dump}");
        // Suppressed while idle: the last demand call before the input is
        // a SUPPRESS.
        let before = entries[..injected]
            .iter()
            .rev()
            .find(|e| is_call(e, CallKind::Suppress) || is_call(e, CallKind::Revive))
            .unwrap_or_else(|| panic!("no demand call before input {name}\n{dump}"));
        assert!(is_call(before, CallKind::Suppress), "{before}\n{dump}");
        // Seen by the handler, then a REVIVE within one interval...
        let seen = injected
            + entries[injected..]
                .iter()
                .position(
                    |e| matches!(&e.what, What::InputSeen(t) if t.contains(&format!("\"{name}\""))),
                )
                .unwrap_or_else(|| panic!("handler never saw input {name}\n{dump}"));
        let revive = seen
            + entries[seen..]
                .iter()
                .position(|e| is_call(e, CallKind::Revive))
                .unwrap_or_else(|| panic!("no REVIVE after input {name}\n{dump}"));
        assert!(
            entries[revive].at <= at + REVIVE_INTERVAL,
            "REVIVE at {:?} for input at {at:?}\n{dump}",
            entries[revive].at
        );
        // ...the build launched, and SUPPRESS again once nothing waits.
        let accept = revive
            + entries[revive..]
                .iter()
                .position(|e| is_call(e, CallKind::Accept))
                .unwrap_or_else(|| panic!("no ACCEPT after the revive for {name}\n{dump}"));
        let again = entries[accept..]
            .iter()
            .find(|e| is_call(e, CallKind::Suppress) || is_call(e, CallKind::Revive))
            .unwrap_or_else(|| panic!("no demand call after launching {name}\n{dump}"));
        assert!(is_call(again, CallKind::Suppress), "{again}\n{dump}");
        trace.expect_task_state(&TaskId::new(name), TaskState::Finished);
    }
    // The second revive waited for the first's interval to end.
    let revives: Vec<Duration> = entries
        .iter()
        .filter(|e| is_call(e, CallKind::Revive))
        .map(|e| e.at)
        .collect();
    assert_eq!(revives.len(), 2, "{dump}");
    assert!(revives[1] >= revives[0] + REVIVE_INTERVAL, "{dump}");
    assert_eq!(trace.inputs_seen(fw.id()), trace.inputs_injected(fw.id()));
    cluster.assert_settled();
}

/// A scenario where inputs land on the same virtual instants as the
/// master's allocations and status updates. Returns the trace's dump.
async fn interleaved(seed: u64) -> (String, FrameworkId) {
    let (cluster, fw, injector) = start(seed).await;
    let mut at = cluster.now();
    for i in 0..8u64 {
        // On allocation ticks (every 100 ms) and on task ends (500 ms).
        at += ms(100 * (1 + i % 3));
        cluster
            .input_at(&injector, at, build(&format!("b{i}")))
            .await;
    }
    for i in 0..8 {
        finished(&cluster, &format!("b{i}")).await;
    }
    cluster.run_until_idle().await;
    cluster.assert_settled();
    (cluster.trace().dump(), fw.id().clone())
}

#[tokio::test(start_paused = true)]
async fn inputs_and_master_events_interleave_in_the_same_order_for_a_seed() {
    let (one, fw) = interleaved(7).await;
    let (two, _) = interleaved(7).await;
    assert_eq!(one, two, "same seed, different traces");

    // What the handler saw, in order: inputs and events mixed, not one
    // kind first and then the other.
    let handler: Vec<&str> = one
        .lines()
        .filter(|l| l.contains(fw.as_str()) && l.contains("handler:"))
        .collect();
    let first_offer = handler.iter().position(|l| l.contains("handler: offers"));
    let last_input = handler.iter().rposition(|l| l.contains("handler: input"));
    assert!(
        matches!((first_offer, last_input), (Some(o), Some(i)) if o < i),
        "no input after an offer:\n{one}"
    );
    assert_eq!(
        handler
            .iter()
            .filter(|l| l.contains("handler: input"))
            .count(),
        8,
        "{one}"
    );
    // Another seed replays identically too (its order may differ).
    let (three, _) = interleaved(8).await;
    let (four, _) = interleaved(8).await;
    assert_eq!(three, four, "seed 8, different traces");
}

#[tokio::test(start_paused = true)]
async fn a_retry_timer_fires_at_its_virtual_instant() {
    let (cluster, fw, injector) = start(7).await;
    let at = cluster.now() + Duration::from_secs(1);
    let flaky = Input::Build {
        name: "flaky".to_owned(),
        fail_first: true,
    };
    cluster.input_at(&injector, at, flaky).await;
    // The pending timer is the framework's: `run_until_idle` alone would
    // not wait for it.
    finished(&cluster, "flaky#retry").await;
    cluster.run_until_idle().await;

    let trace = cluster.trace();
    let dump = trace.dump();
    let seen: Vec<(Duration, &Event)> = trace
        .entries()
        .iter()
        .filter(|e| e.framework.as_ref() == Some(fw.id()))
        .filter_map(|e| match &e.what {
            What::Seen(event) => Some((e.at, &**event)),
            _ => None,
        })
        .collect();
    let failed = seen
        .iter()
        .find(|(_, e)| matches!(e, Event::Update(s) if s.state == TaskState::Failed))
        .unwrap_or_else(|| panic!("the failure was not seen\n{dump}"))
        .0;
    let timers: Vec<Duration> = seen
        .iter()
        .filter(|(_, e)| matches!(e, Event::Timer(0)))
        .map(|(at, _)| *at)
        .collect();
    assert_eq!(timers, [failed + RETRY_AFTER], "{dump}");
    trace.expect_task_state(&TaskId::new("flaky"), TaskState::Failed);
    trace.expect_task_state(&TaskId::new("flaky#retry"), TaskState::Finished);
    cluster.assert_settled();
}
