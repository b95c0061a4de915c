//! Faults the testkit injects into the master: a broken framework
//! connection, a master failover, an agent lost to a partition and brought
//! back, a task that fails or ignores its kill. Each is one method on
//! [`MasterCore`], deterministic like the rest of the core; the harness
//! (`crate::harness`) calls them between steps.
//!
//! A lost agent leaves the allocator and its offers are rescinded. Tasks of
//! PARTITION_AWARE frameworks become TASK_UNREACHABLE and are frozen where
//! they were; the others become TASK_LOST and are gone. When the agent
//! comes back it re-registers with the frozen tasks, which resume (an
//! update with their state and `REASON_AGENT_REREGISTERED` tells their
//! framework), and kills asked for meanwhile are carried out.

use corral_proto::convert::*;
use std::collections::BTreeMap;
use std::time::Duration;

use corral::{AgentId, FrameworkId, Resources, TaskId};
use corral_proto::pb;
use corral_proto::pb::task_status::{Reason, Source};
use corral_proto::pb::TaskState;
use tracing::{info, warn};

use super::core::{allocator_ok, task_status, MasterCore};
pub use super::lost_agents::{FaultBook, FaultError};
use super::outbox::Outgoing;
use super::tasks::{is_terminal, Frozen, KillOutcome};

impl MasterCore {
    /// Cuts `fw`'s event stream as a broken connection would: the stream
    /// ends and the framework is disconnected (offers withdrawn, failover
    /// timer started) until it resubscribes.
    pub fn break_connection(&mut self, now: Duration, fw: &FrameworkId) -> Result<(), FaultError> {
        let stream = self
            .frameworks
            .get(fw)
            .and_then(|r| r.stream().cloned())
            .ok_or_else(|| FaultError::NotConnected(fw.clone()))?;
        warn!(framework = %fw, %stream, "fault: connection broken");
        self.outbox.push(Outgoing::Close {
            stream: stream.clone(),
        });
        self.disconnect(now, &stream);
        Ok(())
    }

    /// A master failover: a new leader takes over with the same agents and
    /// tasks (they re-register), but every stream ends and every offer is
    /// gone. Frameworks must resubscribe within their failover timeout to
    /// keep their tasks; unacknowledged status updates are resent then.
    pub fn fail_over(&mut self, now: Duration) {
        self.faults.failovers += 1;
        let base = self.config.master_id.clone();
        self.master_info.id = format!("{base}-{}", self.faults.failovers);
        warn!(master = %self.master_info.id, "fault: master failover");
        let streams: Vec<_> = self
            .frameworks
            .values()
            .filter_map(|r| r.stream().cloned())
            .collect();
        for stream in streams {
            self.outbox.push(Outgoing::Close {
                stream: stream.clone(),
            });
            self.disconnect(now, &stream);
        }
    }

    /// Loses `agent` to a partition. See the module docs.
    pub fn lose_agent(&mut self, now: Duration, agent: &AgentId) -> Result<(), FaultError> {
        if !self.agents.contains_key(agent) || self.faults.lost.contains_key(agent) {
            return Err(FaultError::UnknownAgent(agent.clone()));
        }
        warn!(%agent, "fault: agent lost");
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
        self.faults.lost.insert(agent.clone(), now);
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
                let Some(frozen) = self.tasks.freeze(now, &key.0, &key.1) else {
                    continue;
                };
                self.faults.frozen.insert(key.clone(), frozen);
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
    pub fn restore_agent(&mut self, now: Duration, agent: &AgentId) -> Result<(), FaultError> {
        let Some(lost_at) = self.faults.lost.remove(agent) else {
            return Err(FaultError::AgentNotLost(agent.clone()));
        };
        let Some(spec) = self.agents.get(agent).cloned() else {
            return Err(FaultError::UnknownAgent(agent.clone()));
        };
        info!(%agent, lost_for = ?now.saturating_sub(lost_at), "fault healed: agent back");
        self.touched.all = true;
        let frozen: Vec<((FrameworkId, TaskId), Frozen)> = {
            let keys: Vec<_> = self
                .faults
                .frozen
                .keys()
                .filter(|(fw, task)| self.tasks.get(fw, task).is_some_and(|t| &t.agent == agent))
                .cloned()
                .collect();
            keys.into_iter()
                .filter_map(|k| self.faults.frozen.remove(&k).map(|f| (k, f)))
                .collect()
        };
        // What the returning tasks (and their executors) hold.
        let mut used: BTreeMap<FrameworkId, Resources> = BTreeMap::new();
        for ((fw, task), _) in &frozen {
            if let Some(record) = self.tasks.get(fw, task) {
                *used.entry(fw.clone()).or_default() += &record.resources;
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
        if self.maintenance.get(agent).is_some_and(|m| m.down) {
            // Back during its maintenance window: still offered to nobody.
            allocator_ok(
                &mut self.broken,
                self.allocator.deactivate_agent(agent),
                "deactivate_agent",
            );
        }
        for ((fw, task), was) in frozen {
            let Some(state) = self.tasks.thaw(now, &fw, &task, was) else {
                continue;
            };
            let executor = self.tasks.get(&fw, &task).and_then(|t| t.executor.clone());
            let mut status = task_status(now, &task, state, Source::Master);
            status.agent_id = Some(agent.to_pb());
            status.executor_id = executor.as_ref().map(|e| e.to_pb());
            status.reason = Some(Reason::AgentReregistered as i32);
            status.message = Some(format!("agent {agent} re-registered"));
            self.report(now, &fw, status);
        }
        let kills: Vec<_> = self
            .faults
            .pending_kills
            .iter()
            .filter(|((fw, task), _)| self.tasks.get(fw, task).is_some_and(|t| &t.agent == agent))
            .map(|(k, g)| (k.clone(), *g))
            .collect();
        for ((fw, task), grace) in kills {
            self.faults
                .pending_kills
                .remove(&(fw.clone(), task.clone()));
            self.start_kill(now, &fw, &task, grace);
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
        let lost = self
            .tasks
            .get(fw, task)
            .is_some_and(|t| self.faults.lost.contains_key(&t.agent));
        if lost {
            info!(framework = %fw, %task, "kill of a task on a lost agent deferred until it returns");
            self.faults
                .pending_kills
                .insert((fw.clone(), task.clone()), grace);
        }
        lost
    }

    /// Makes a live task fail now with `reason` and `message` (TASK_FAILED,
    /// as its executor would report it); its resources are freed.
    pub fn fail_task(
        &mut self,
        now: Duration,
        fw: &FrameworkId,
        task: &TaskId,
        reason: Reason,
        message: &str,
    ) -> Result<(), FaultError> {
        self.live_task(fw, task)?;
        warn!(framework = %fw, %task, reason = reason.as_str_name(), "fault: task fails");
        let ended = self
            .tasks
            .report_external(fw, task, TaskState::TaskFailed, Some(message.to_owned()))
            .ok_or_else(|| self.unknown(fw, task))?;
        let mut status = task_status(now, task, TaskState::TaskFailed, Source::Executor);
        status.agent_id = Some(ended.agent.to_pb());
        status.executor_id = ended.executor.as_ref().map(|e| e.to_pb());
        status.reason = Some(reason as i32);
        status.message = ended.message;
        self.report(now, fw, status);
        self.recover(now, fw, &ended.agent, &ended.freed, None);
        Ok(())
    }

    /// Makes a live task ignore kills: it stops only when the kill's grace
    /// period forces it (at once when there is none).
    pub fn ignore_kill(&mut self, fw: &FrameworkId, task: &TaskId) -> Result<(), FaultError> {
        self.live_task(fw, task)?;
        self.tasks.ignore_kills(fw, task);
        warn!(framework = %fw, %task, "fault: task will ignore its kill");
        Ok(())
    }

    /// `Ok` when `task` of `fw` is live and on a reachable agent.
    fn live_task(&self, fw: &FrameworkId, task: &TaskId) -> Result<(), FaultError> {
        let record = self
            .tasks
            .get(fw, task)
            .filter(|t| !is_terminal(t.state))
            .ok_or_else(|| self.unknown(fw, task))?;
        if self.faults.lost.contains_key(&record.agent) {
            return Err(FaultError::Unreachable(task.clone()));
        }
        Ok(())
    }

    fn unknown(&self, fw: &FrameworkId, task: &TaskId) -> FaultError {
        FaultError::UnknownTask {
            framework: fw.clone(),
            task: task.clone(),
        }
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
