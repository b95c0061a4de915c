//! Real agents: what their connections say (through the
//! [`hub`](crate::hub)) and the orders sent back.

use corral::{Driver, TaskId};

use super::{Controller, Happened, Runner};
use crate::config::JobSpec;
use crate::hub::{AgentEvent, AgentLink};
use crate::pool::AgentState;
use crate::queue::{BuildId, BuildResult};
use crate::wire::{FromAgent, ToAgent};

impl Controller {
    pub(super) async fn agent_event(&mut self, driver: &dyn Driver, event: AgentEvent) {
        match event {
            AgentEvent::Connected {
                agent,
                link,
                running,
            } => self.connected(driver, agent, link, running).await,
            AgentEvent::Said {
                agent,
                message: FromAgent::Log { build, text },
            } => {
                if self.busy_with(&agent, &build) {
                    self.builds.append_log(&build, &text);
                }
            }
            AgentEvent::Said {
                agent,
                message:
                    FromAgent::Done {
                        build,
                        exit,
                        aborted,
                    },
            } => {
                if self.busy_with(&agent, &build) {
                    let result = match (aborted, exit) {
                        (true, _) => BuildResult::Aborted,
                        (false, 0) => BuildResult::Success,
                        (false, _) => BuildResult::Failure,
                    };
                    self.builds
                        .append_log(&build, &format!("--- finished: {result:?} (exit {exit})\n"));
                    self.build_ended(driver, &agent, &build, result).await;
                    self.dispatch(driver);
                }
            }
            AgentEvent::Said {
                agent,
                message: FromAgent::Hello { .. },
            } => {
                tracing::warn!(%agent, "a second hello: ignored");
            }
            AgentEvent::Disconnected { agent } => {
                self.links.remove(&agent);
                let stopping = self
                    .pool
                    .get(&agent)
                    .is_none_or(|a| a.state == AgentState::Stopping);
                if !stopping {
                    // An agent that lost its controller is of no use: stop
                    // its task; its build goes back to the queue when the
                    // task ends.
                    tracing::warn!(%agent, "agent disconnected: stopping it");
                    self.stop_agent_keeping_build(driver, &agent).await;
                }
            }
        }
    }

    /// An agent connected: a new one becomes ready; one that connects
    /// again (its connection broke, or this controller was restarted) is
    /// re-adopted with the build it says it runs. Anything else is closed
    /// (the link is dropped unwelcomed).
    async fn connected(
        &mut self,
        driver: &dyn Driver,
        agent: TaskId,
        link: AgentLink,
        running: Option<BuildId>,
    ) {
        let remote = matches!(self.runner, Runner::Remote { .. });
        let Some(state) = self.pool.get(&agent).map(|a| a.state.clone()) else {
            tracing::warn!(%agent, "unknown agent connected: closed");
            return;
        };
        if !remote || self.links.contains_key(&agent) {
            tracing::warn!(%agent, "unexpected agent connection: closed");
            return;
        }
        link.send(ToAgent::Welcome);
        self.links.insert(agent.clone(), link);
        match (state, running) {
            (AgentState::Launching, None) => {
                tracing::info!(%agent, "agent connected");
                self.ready(driver, &agent).await;
            }
            (AgentState::Busy(ours), Some(theirs)) if ours == theirs => {
                tracing::info!(%agent, build = %ours, "agent re-adopted with its build");
            }
            (AgentState::Busy(ours), None) => {
                // It ended the build while no one listened: its result is
                // lost, so the build runs again, first.
                tracing::warn!(%agent, build = %ours, "re-adopted agent lost its build's end: requeued");
                self.builds
                    .requeue_front(&ours, tokio::time::Instant::now());
                self.history.push(Happened::Requeued(ours, agent.clone()));
                self.ready(driver, &agent).await;
            }
            (AgentState::Stopping, _) => {}
            (_, Some(theirs)) => {
                // Running a build this controller does not give it: stop.
                tracing::warn!(%agent, build = %theirs, "agent runs a build it was not given: stopping it");
                if let AgentState::Busy(ours) = self
                    .pool
                    .get(&agent)
                    .map(|a| a.state.clone())
                    .unwrap_or(AgentState::Stopping)
                {
                    self.builds
                        .requeue_front(&ours, tokio::time::Instant::now());
                    self.history.push(Happened::Requeued(ours, agent.clone()));
                    if let Some(a) = self.pool.get_mut(&agent) {
                        a.state = AgentState::Launching;
                    }
                }
                self.stop_agent(driver, &agent, "confused").await;
            }
            (AgentState::Idle { .. }, None) => {}
        }
    }

    /// Kills an agent's task but leaves it marked busy, so its build is
    /// requeued when the task's end is reported.
    async fn stop_agent_keeping_build(&mut self, driver: &dyn Driver, agent: &TaskId) {
        let busy = matches!(
            self.pool.get(agent).map(|a| &a.state),
            Some(AgentState::Busy(_))
        );
        if busy {
            if let Err(e) = driver.kill(agent, None).await {
                tracing::warn!(%agent, error = %e, "kill failed");
            }
        } else {
            self.stop_agent(driver, agent, "disconnected").await;
        }
    }

    pub(super) fn send_run(&mut self, agent: &TaskId, build: &BuildId, job: &JobSpec) {
        let mut env = job.env.clone();
        if let Some(record) = self.builds.get(build) {
            env.extend(record.params.clone());
        }
        env.insert("BUILD_NUMBER".into(), build.number.to_string());
        env.insert("JOB_NAME".into(), build.job.clone());
        let order = ToAgent::Run {
            build: build.clone(),
            steps: job.steps.iter().map(|s| s.sh.clone()).collect(),
            env,
        };
        let sent = self.links.get(agent).is_some_and(|l| l.send(order));
        if !sent {
            // Its Disconnected input is on its way and requeues the build.
            tracing::warn!(%agent, build = %build, "agent unreachable");
        }
    }

    pub(super) fn send_abort(&mut self, agent: &TaskId, build: &BuildId) {
        let grace_ms = u64::try_from(self.file.cloud.kill_grace().as_millis()).unwrap_or(u64::MAX);
        if let Some(link) = self.links.get(agent) {
            link.send(ToAgent::Abort {
                build: build.clone(),
                grace_ms,
            });
        }
    }
}
