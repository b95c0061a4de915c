//! What the controller's cluster tests share: a controller launched on a
//! virtual-time [`Cluster`] with its input injector, run until it tears
//! down, and readers of the master's books and the trace.

#![allow(dead_code)] // each test file uses its own part

use std::collections::BTreeMap;
use std::time::Duration;

use corral::{Capability, Config, FrameworkId, FrameworkInfo, Stopped};
use corral_testkit::{CallKind, Cluster, Injector, MasterState, Running};
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
