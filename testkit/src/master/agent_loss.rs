//! Agent loss and return, and the kill process that waits for a lost
//! agent: the processes that span the agents, tasks, offers and updates
//! books when an agent becomes unreachable (a partition) or re-registers.
//!
//! A lost agent ([`MasterCore::lose_agent`]: the agents book marks it
//! lost) leaves the allocator and its offers are rescinded. Tasks of
//! PARTITION_AWARE frameworks become TASK_UNREACHABLE and are frozen where
//! they were (the tasks book keeps what they were doing); the others become
//! TASK_LOST and are gone. When the agent comes back
//! ([`MasterCore::restore_agent`]) it re-registers with the frozen tasks,
//! which resume (an update with their state and `REASON_AGENT_REREGISTERED`
//! tells their framework), and the kills the agents book kept meanwhile
//! are carried out.
//!
//! The harness's faults (`crate::harness`) call these public operations;
//! nothing here is a test-only fault.

use corral_proto::convert::*;
use std::collections::BTreeMap;
use std::time::Duration;

use corral::{AgentId, FrameworkId, Resources, TaskId};
use corral_proto::pb;
use corral_proto::pb::task_status::{Reason, Source};
use corral_proto::pb::TaskState;
use tracing::{info, warn};

pub use super::books::agents::AgentError;
use super::books::tasks::KillOutcome;
use super::core::{allocator_ok, task_status, MasterCore};

impl MasterCore {
    /// Loses `agent` to a partition. See the module docs.
    pub fn lose_agent(&mut self, now: Duration, agent: &AgentId) -> Result<(), AgentError> {
        self.agents.mark_lost(now, agent)?;
        warn!(%agent, "agent lost");
        self.touched.all = true;
        let offers: Vec<_> = self
            .offers
            .iter()
            .filter(|o| &o.agent == agent)
            .map(|o| o.id.clone())
            .collect();
        for offer in offers {
            self.rescind(now, &offer);
        }
        allocator_ok(
            &mut self.broken,
            self.allocator.remove_agent(agent),
            "remove_agent",
        );
        let keys: Vec<(FrameworkId, TaskId)> = self
            .tasks
            .live_on(agent)
            .map(|t| (t.framework.clone(), t.id.clone()))
            .collect();
        for key in keys {
            let aware = self
                .frameworks
                .get(&key.0)
                .is_some_and(|r| r.capabilities.partition_aware);
            let (state, executor) = if aware {
                if !self.tasks.freeze(now, &key.0, &key.1) {
                    continue;
                }
                let executor = self
                    .tasks
                    .get(&key.0, &key.1)
                    .and_then(|t| t.executor.clone());
                (TaskState::TaskUnreachable, executor)
            } else {
                // Gone for good. What it freed is not recovered: the agent
                // already left the allocator.
                let Some(ended) =
                    self.tasks
                        .report_external(&key.0, &key.1, TaskState::TaskLost, None)
                else {
                    continue;
                };
                (TaskState::TaskLost, ended.executor)
            };
            let mut status = task_status(now, &key.1, state, Source::Master);
            status.agent_id = Some(agent.to_pb());
            status.executor_id = executor.as_ref().map(|e| e.to_pb());
            status.reason = Some(Reason::AgentRemoved as i32);
            status.message = Some(format!("agent {agent} is unreachable"));
            if aware {
                status.unreachable_time = Some(pb::TimeInfo {
                    nanoseconds: i64::try_from(now.as_nanos()).unwrap_or(i64::MAX),
                });
            }
            self.report(now, &key.0, status);
        }
        Ok(())
    }

    /// Brings a lost agent back: it re-registers with its frozen tasks,
    /// which resume; pending kills are carried out; an allocation runs.
    pub fn restore_agent(&mut self, now: Duration, agent: &AgentId) -> Result<(), AgentError> {
        let spec = self
            .agents
            .spec(agent)
            .cloned()
            .ok_or_else(|| AgentError::Unknown(agent.clone()))?;
        let returned = self.agents.mark_returned(agent)?;
        info!(%agent, lost_for = ?now.saturating_sub(returned.lost_at), "agent back");
        self.touched.all = true;
        // What the returning tasks (and their executors) hold.
        let mut used: BTreeMap<FrameworkId, Resources> = BTreeMap::new();
        for task in self.tasks.live_on(agent) {
            if self.tasks.is_frozen(&task.framework, &task.id) {
                *used.entry(task.framework.clone()).or_default() += &task.resources;
            }
        }
        for ((fw, on, _), usage) in self.tasks.executors() {
            if on == agent && usage.live_tasks > 0 && used.contains_key(fw) {
                *used.entry(fw.clone()).or_default() += &usage.resources;
            }
        }
        let used: Vec<(FrameworkId, Resources)> = used.into_iter().collect();
        allocator_ok(
            &mut self.broken,
            self.allocator
                .add_agent_in_use(agent.clone(), spec.resources.clone(), &used),
            "add_agent_in_use",
        );
        if self.agents.is_down(agent) {
            // Back during its maintenance window: still offered to nobody.
            allocator_ok(
                &mut self.broken,
                self.allocator.deactivate_agent(agent),
                "deactivate_agent",
            );
        }
        for (fw, task, state) in self.tasks.thaw_on(now, agent) {
            let executor = self.tasks.get(&fw, &task).and_then(|t| t.executor.clone());
            let mut status = task_status(now, &task, state, Source::Master);
            status.agent_id = Some(agent.to_pb());
            status.executor_id = executor.as_ref().map(|e| e.to_pb());
            status.reason = Some(Reason::AgentReregistered as i32);
            status.message = Some(format!("agent {agent} re-registered"));
            self.report(now, &fw, status);
        }
        for (fw, task, grace) in returned.kills {
            if self
                .tasks
                .get(&fw, &task)
                .is_some_and(|t| &t.agent == agent)
            {
                self.start_kill(now, &fw, &task, grace);
            }
        }
        self.allocate_now(now);
        Ok(())
    }

    /// Whether a kill of `task` must wait for its lost agent; if so it is
    /// remembered and carried out when the agent comes back.
    pub(super) fn defer_kill_if_lost(
        &mut self,
        fw: &FrameworkId,
        task: &TaskId,
        grace: Option<Duration>,
    ) -> bool {
        let Some(agent) = self.tasks.get(fw, task).map(|t| t.agent.clone()) else {
            return false;
        };
        let lost = self.agents.defer_kill(&agent, fw, task, grace);
        if lost {
            info!(framework = %fw, %task, "kill of a task on a lost agent deferred until it returns");
        }
        lost
    }

    /// Starts killing `task` and its task group (TASK_KILLING first for
    /// frameworks with the capability).
    pub(super) fn start_kill(
        &mut self,
        now: Duration,
        fw: &FrameworkId,
        task: &TaskId,
        grace: Option<Duration>,
    ) {
        let killing_state = self
            .frameworks
            .get(fw)
            .is_some_and(|r| r.capabilities.task_killing_state);
        for member in self.tasks.kill_set(fw, task) {
            let on = self.tasks.get(fw, &member).map(|t| t.agent.clone());
            if on.is_some_and(|agent| self.agents.take_ignores_kill(&agent, fw, &member)) {
                // The simulated agent ignores this kill: only the grace
                // period stops the task.
                self.tasks.ignore_kills(fw, &member);
            }
            let outcome = self.tasks.kill(now, fw, &member, grace, killing_state);
            if !matches!(outcome, KillOutcome::Killing { .. }) || !killing_state {
                continue;
            }
            let Some(record) = self.tasks.get(fw, &member) else {
                continue;
            };
            let mut status = task_status(now, &member, TaskState::TaskKilling, Source::Executor);
            status.agent_id = Some(record.agent.to_pb());
            status.executor_id = record.executor.as_ref().map(|e| e.to_pb());
            self.report(now, fw, status);
        }
    }
}
