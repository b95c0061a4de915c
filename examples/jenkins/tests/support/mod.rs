//! What the controller's cluster tests share: a controller launched on a
//! virtual-time [`Cluster`] with its input injector, run until it tears
//! down, and readers of the master's books and the trace.

#![allow(dead_code)] // each test file uses its own part

use std::collections::BTreeMap;
use std::time::Duration;

use corral::{Capability, Config, FrameworkId, FrameworkInfo, Stopped};
use corral_testkit::harness::What;
use corral_testkit::{Call, CallKind, Cluster, Injector, MasterState, Running};
use jenkins::{Controller, Input, JobsFile};

/// The controller's role in every test.
pub const ROLE: &str = "ci";

/// A controller attached to `cluster`, subscribed, with its injector.
pub async fn launch(cluster: &mut Cluster, jobs: &str) -> (Running<Controller>, Injector<Input>) {
    let file = JobsFile::parse(jobs).expect("the test's jobs file parses");
    let info = FrameworkInfo::new("jenkins")
        .with_roles([ROLE])
        .with_capability(Capability::RevocableResources);
    cluster
        .launch_with_inputs(info, Config::default(), Controller::new(file), 512)
        .await
}

/// A trigger of `job` with no parameters.
pub fn trigger(job: &str) -> Input {
    Input::Trigger {
        job: job.to_owned(),
        params: BTreeMap::new(),
    }
}

/// The label of an agent's task id (`agent-LABEL-NNNN`).
pub fn label_of(task: &str) -> Option<&str> {
    let rest = task.strip_prefix("agent-")?;
    rest.rsplit_once('-').map(|(label, _)| label)
}

/// Live agents (tasks not ended) of the controller, per label.
pub fn live_per_label(state: &MasterState, framework: &FrameworkId) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for t in state
        .tasks
        .iter()
        .filter(|t| &t.framework == framework && !t.state.is_terminal())
    {
        if let Some(label) = label_of(t.id.as_str()) {
            *out.entry(label.to_owned()).or_insert(0) += 1;
        }
    }
    out
}

/// Runs until the controller has torn down (it does once shut down and
/// every agent is gone), then joins it. `each_step` sees every step.
pub async fn run_to_teardown(
    cluster: &Cluster,
    running: Running<Controller>,
    limit: Duration,
    mut each_step: impl FnMut(&MasterState),
) -> Controller {
    let id = running.id().clone();
    cluster
        .run_until(limit, |state, trace| {
            each_step(state);
            !trace.calls_of_kind(&id, CallKind::Teardown).is_empty()
        })
        .await;
    let (outcome, controller) = running.join().await;
    assert!(
        matches!(outcome, Ok(Stopped::TornDown)),
        "the controller ended with {outcome:?}"
    );
    controller
}

/// When `framework`'s handler first saw `task` in `state`.
pub fn seen_at(
    trace: &corral_testkit::Trace,
    framework: &FrameworkId,
    task: &str,
    state: corral::TaskState,
) -> Option<Duration> {
    trace.entries().iter().find_map(|e| match &e.what {
        What::Seen(event) if e.framework.as_ref() == Some(framework) => match &**event {
            corral::Event::Update(s) if s.task_id.as_str() == task && s.state == state => {
                Some(e.at)
            }
            _ => None,
        },
        _ => None,
    })
}

/// `framework`'s calls, with when the master received each.
pub fn calls_at<'a>(
    trace: &'a corral_testkit::Trace,
    framework: &'a FrameworkId,
) -> Vec<(Duration, &'a Call)> {
    trace
        .entries()
        .iter()
        .filter(|e| e.framework.as_ref() == Some(framework))
        .filter_map(|e| match &e.what {
            What::Call { call, .. } => Some((e.at, &**call)),
            _ => None,
        })
        .collect()
}

/// When the master received a KILL of `task` from `framework`.
pub fn killed_at(
    trace: &corral_testkit::Trace,
    framework: &FrameworkId,
    task: &str,
) -> Option<Duration> {
    calls_at(trace, framework)
        .into_iter()
        .find_map(|(at, call)| match call {
            Call::Kill { task: t, .. } if t.as_str() == task => Some(at),
            _ => None,
        })
}
