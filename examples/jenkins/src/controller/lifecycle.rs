//! Builds and agents through their lives: an agent made ready, a build
//! started on it and ended, the agent kept idle (and reaped) or stopped,
//! its task's end; triggers, aborts and shutdown.

use std::collections::BTreeMap;
use std::time::Duration;

use corral::sim::SimulatedTask;
use corral::{CommandInfo, Driver, TaskId, TaskInfo, TaskState};
use tokio::time::Instant;

use super::{Controller, Happened, Refused, Runner, Submitted, Timer};
use crate::pool::AgentState;
use crate::provision::Planned;
use crate::queue::{BuildId, BuildResult};

/// How long a simulated agent takes to stop once killed.
const SIMULATED_CLEANUP: Duration = Duration::from_millis(200);
/// A real agent's task gets this much more than the build's grace, so it
/// can stop its build's steps (SIGTERM, grace, SIGKILL) before the agent
/// itself is killed.
const AGENT_MARGIN: Duration = Duration::from_secs(1);

impl Controller {
    /// The task of one agent.
    pub(super) fn agent_task(&self, planned: &Planned, id: TaskId) -> TaskInfo {
        let grace = self.file.cloud.kill_grace();
        let task = TaskInfo::new(id.clone())
            .with_name(format!("jenkins agent ({})", planned.label))
            .with_resources(planned.resources.clone())
            .with_label("jenkins/label", planned.label.clone());
        match &self.runner {
            // A simulated agent runs until killed.
            Runner::Simulated => task
                .with_command(CommandInfo::shell("exec jenkins agent"))
                .with_grace_period(grace)
                .simulated(SimulatedTask::until_killed().cleans_up_in(SIMULATED_CLEANUP)),
            Runner::Remote {
                program,
                controller,
            } => task
                .with_command(CommandInfo::argv([
                    program.display().to_string(),
                    "agent".into(),
                    "--controller".into(),
                    controller.to_string(),
                    "--name".into(),
                    id.to_string(),
                    "--grace-ms".into(),
                    grace.as_millis().to_string(),
                ]))
                .with_grace_period(grace + AGENT_MARGIN),
        }
    }

    pub(super) fn busy_with(&self, agent: &TaskId, build: &BuildId) -> bool {
        self.pool
            .get(agent)
            .is_some_and(|a| a.state == AgentState::Busy(build.clone()))
    }

    /// An agent can take builds: idle (with a reaping timer), then given
    /// the first build of its label, if one waits.
    pub(super) async fn ready(&mut self, driver: &dyn Driver, task: &TaskId) {
        self.become_idle(driver, task);
        if self.shutting_down {
            self.stop_agent(driver, task, "shutdown").await;
        }
        self.dispatch(driver);
    }

    fn become_idle(&mut self, driver: &dyn Driver, task: &TaskId) {
        let Some(agent) = self.pool.get_mut(task) else {
            return;
        };
        agent.generations += 1;
        let generation = agent.generations;
        agent.state = AgentState::Idle {
            since: Instant::now(),
            generation,
        };
        let label = agent.label.clone();
        let idle = self
            .file
            .templates
            .get(&label)
            .map(|t| t.idle_time())
            .unwrap_or_default();
        self.set_timer(
            driver,
            idle,
            Timer::Reap {
                agent: task.clone(),
                generation,
            },
        );
    }

    /// Gives every idle agent the first queued build of its label.
    pub(super) fn dispatch(&mut self, driver: &dyn Driver) {
        if self.shutting_down {
            return;
        }
        let now = Instant::now();
        for task in self.pool.idle() {
            let Some(label) = self.pool.get(&task).map(|a| a.label.clone()) else {
                continue;
            };
            let Some(build) = self.builds.start_next(&label, task.as_str(), now) else {
                continue;
            };
            if let Some(agent) = self.pool.get_mut(&task) {
                agent.state = AgentState::Busy(build.clone());
                agent.builds += 1;
            }
            tracing::info!(build = %build, agent = %task, "build started");
            self.history
                .push(Happened::Started(build.clone(), task.clone()));
            self.start_build(driver, task, build);
        }
    }

    fn start_build(&mut self, driver: &dyn Driver, agent: TaskId, build: BuildId) {
        let Some(job) = self.file.job(&build.job).cloned() else {
            return;
        };
        match &self.runner {
            Runner::Simulated => {
                for step in &job.steps {
                    let line = format!("+ {} (simulated, {})\n", step.sh, step.simulated_seconds);
                    self.builds.append_log(&build, &line);
                }
                let (run_for, exit) = job.simulated_run();
                let (delay, result) = if run_for > job.timeout() {
                    (job.timeout(), BuildResult::Aborted)
                } else if exit == 0 {
                    (run_for, BuildResult::Success)
                } else {
                    (run_for, BuildResult::Failure)
                };
                let timer = Timer::BuildEnd {
                    agent,
                    build,
                    result,
                };
                self.set_timer(driver, delay, timer);
            }
            Runner::Remote { .. } => {
                self.send_run(&agent, &build, &job);
                self.set_timer(driver, job.timeout(), Timer::Timeout { agent, build });
            }
        }
    }

    /// A build ended on `agent`: record it, then keep or stop the agent.
    pub(super) async fn build_ended(
        &mut self,
        driver: &dyn Driver,
        agent: &TaskId,
        build: &BuildId,
        result: BuildResult,
    ) {
        self.builds.finish(build, result, Instant::now());
        tracing::info!(build = %build, ?result, "build finished");
        self.history.push(Happened::Finished(build.clone(), result));
        let Some(label) = self.pool.get(agent).map(|a| a.label.clone()) else {
            return;
        };
        let single_use = self
            .file
            .templates
            .get(&label)
            .is_some_and(|t| t.single_use);
        if single_use || self.shutting_down {
            self.stop_agent(driver, agent, "single-use").await;
        } else {
            self.become_idle(driver, agent);
        }
    }

    pub(super) async fn stop_agent(
        &mut self,
        driver: &dyn Driver,
        task: &TaskId,
        why: &'static str,
    ) {
        let Some(agent) = self.pool.get_mut(task) else {
            return;
        };
        if agent.state == AgentState::Stopping {
            return;
        }
        agent.state = AgentState::Stopping;
        self.history.push(Happened::Stopping(task.clone(), why));
        tracing::info!(agent = %task, why, "stopping agent");
        if let Err(e) = driver.kill(task, None).await {
            // It keeps running; a reconciliation after resubscribing tells.
            tracing::warn!(agent = %task, error = %e, "kill failed");
        }
    }

    /// An agent's task ended: forget it; a build it was running goes back
    /// to the front of the queue.
    pub(super) fn agent_gone(&mut self, driver: &dyn Driver, task: &TaskId, state: TaskState) {
        let Some(agent) = self.pool.remove(task) else {
            return;
        };
        self.links.remove(task);
        tracing::info!(agent = %task, ?state, "agent gone");
        self.history.push(Happened::Gone(task.clone(), state));
        if let AgentState::Busy(build) = agent.state {
            self.builds.requeue_front(&build, Instant::now());
            self.history.push(Happened::Requeued(build, task.clone()));
        }
        self.dispatch(driver);
    }

    /// Triggers a build; a trigger that creates demand where there was
    /// none revives offers at once (the SDK rate-limits revives and
    /// coalesces them), which also clears the long decline filters.
    pub(super) async fn trigger_and_revive(
        &mut self,
        driver: &dyn Driver,
        job: String,
        params: BTreeMap<String, String>,
    ) -> Result<Submitted, Refused> {
        let before = self.demand_now();
        let outcome = self.trigger(job, params);
        self.dispatch(driver);
        if self.demand_now() && !before && !self.shutting_down {
            if let Err(e) = driver.revive(std::slice::from_ref(&self.role)).await {
                tracing::warn!(error = %e, "revive failed");
            }
        }
        outcome
    }

    pub(super) fn trigger(
        &mut self,
        job: String,
        mut params: BTreeMap<String, String>,
    ) -> Result<Submitted, Refused> {
        let refused = if self.shutting_down {
            Some(Refused::ShuttingDown)
        } else if let Some(spec) = self.file.job(&job) {
            // As Jenkins does (since SECURITY-170), a parameter the job
            // does not define is dropped, not refused and not passed on.
            params.retain(|name, _| {
                let defined = spec.parameters.iter().any(|p| &p.name == name);
                if !defined {
                    tracing::warn!(
                        job,
                        parameter = ?name,
                        "undefined parameter dropped"
                    );
                }
                defined
            });
            None
        } else {
            Some(Refused::NoSuchJob(job.clone()))
        };
        let spec = match (refused, self.file.job(&job)) {
            (None, Some(spec)) => spec,
            (why, _) => {
                let why = why.unwrap_or_else(|| Refused::NoSuchJob(job.clone()));
                tracing::warn!(job, %why, "trigger refused");
                self.history.push(Happened::Refused(job));
                return Err(why);
            }
        };
        for p in &spec.parameters {
            params
                .entry(p.name.clone())
                .or_insert_with(|| p.default.clone());
        }
        let label = spec.label.clone();
        let id = self.builds.trigger(&job, &label, params, Instant::now());
        tracing::debug!(build = %id, "queued");
        let queue_id = self.builds.get(&id).map(|b| b.queue_id).unwrap_or(0);
        Ok(Submitted {
            build: id,
            queue_id,
        })
    }

    pub(super) async fn abort(&mut self, driver: &dyn Driver, id: &BuildId) {
        if self.builds.cancel_queued(id) {
            self.history
                .push(Happened::Finished(id.clone(), BuildResult::Aborted));
            return;
        }
        let running_on = self.pool.all().find_map(|a| match &a.state {
            AgentState::Busy(b) if b == id => Some(a.task.clone()),
            _ => None,
        });
        let Some(agent) = running_on else {
            return;
        };
        match self.runner {
            // Its BuildEnd timer is now stale: the agent no longer runs it.
            Runner::Simulated => {
                self.build_ended(driver, &agent, id, BuildResult::Aborted)
                    .await
            }
            // The agent stops the steps gracefully and says when.
            Runner::Remote { .. } => {
                self.builds.append_log(id, "--- aborted\n");
                self.send_abort(&agent, id);
            }
        }
    }

    pub(super) async fn shutdown(&mut self, driver: &dyn Driver) {
        if self.shutting_down {
            return;
        }
        self.shutting_down = true;
        tracing::info!("shutting down: aborting builds, stopping every agent");
        let queued: Vec<BuildId> = self.builds.queued().map(|b| b.id.clone()).collect();
        for id in queued {
            self.abort(driver, &id).await;
        }
        let agents: Vec<TaskId> = self.pool.all().map(|a| a.task.clone()).collect();
        for task in agents {
            if let Some(AgentState::Busy(build)) = self.pool.get(&task).map(|a| a.state.clone()) {
                // Recorded as aborted now; a real agent stops the steps
                // gracefully when its task is killed (SIGTERM).
                self.send_abort(&task, &build);
                self.build_ended(driver, &task, &build, BuildResult::Aborted)
                    .await;
            }
            self.stop_agent(driver, &task, "shutdown").await;
        }
    }

    pub(super) async fn maybe_done(&mut self, driver: &dyn Driver) {
        if self.shutdown_when_done && !self.shutting_down && self.builds.all_done() {
            self.shutdown(driver).await;
        }
        self.persist();
        if self.shutting_down && !self.torn_down && self.pool.live_total() == 0 {
            tracing::info!("every agent has stopped; tearing down");
            match driver.teardown().await {
                Ok(()) => {
                    // Gone for good: a later run starts a new framework
                    // (the builds' history stays).
                    self.torn_down = true;
                    self.framework_id = None;
                    self.persist();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "teardown failed; retried after the next event")
                }
            }
        }
    }
}
