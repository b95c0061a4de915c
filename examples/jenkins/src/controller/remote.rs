//! Real agents: what their connections say (through the
//! [`hub`](crate::hub)) and the orders sent back.

use corral::{Driver, TaskId};

use super::{Controller, Runner};
use crate::config::JobSpec;
use crate::hub::AgentEvent;
use crate::pool::AgentState;
use crate::queue::{BuildId, BuildResult};
use crate::wire::{FromAgent, ToAgent};

impl Controller {
    pub(super) async fn agent_event(&mut self, driver: &dyn Driver, event: AgentEvent) {
        match event {
            AgentEvent::Connected { agent, link } => {
                let expected = matches!(self.runner, Runner::Remote { .. })
                    && self
                        .pool
                        .get(&agent)
                        .is_some_and(|a| a.state == AgentState::Launching)
                    && !self.links.contains_key(&agent);
                if !expected {
                    // Not an agent we launched and wait for: the link is
                    // dropped, which closes the connection.
                    tracing::warn!(%agent, "unexpected agent connection: closed");
                    return;
                }
                tracing::info!(%agent, "agent connected");
                self.links.insert(agent.clone(), link);
                self.ready(driver, &agent).await;
            }
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
