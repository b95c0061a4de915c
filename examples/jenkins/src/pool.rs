//! The agents: one task each, from launch to its terminal status.
//!
//! An agent counts against its label's cap and the total cap from the
//! moment its launch is sent until the master reports its task ended, in
//! every state: launching, idle, busy or stopping. Counting only the busy
//! ones is how a controller overshoots its caps during a burst.

use std::collections::BTreeMap;

use corral::{AgentId, TaskId};
use tokio::time::Instant;

use crate::queue::BuildId;
use crate::store::{SavedAgent, SavedMeta};

/// Where an agent stands.
#[derive(Clone, Debug, PartialEq)]
pub enum AgentState {
    /// Launched; its task is not running yet.
    Launching,
    /// Running, without a build. `generation` tells a reaping timer set
    /// for an earlier idle spell from the current one.
    Idle {
        /// Since when.
        since: Instant,
        /// Which idle spell this is.
        generation: u64,
    },
    /// Running a build.
    Busy(BuildId),
    /// Asked to stop (reaped, single-use done, revoked, shutdown); it
    /// still holds its resources until its task ends.
    Stopping,
}

/// One agent.
#[derive(Clone, Debug)]
pub struct Agent {
    /// Its task's id (also its name: `agent-LABEL-NNNN`).
    pub task: TaskId,
    /// Its label.
    pub label: String,
    /// The machine it runs on.
    pub host: AgentId,
    /// True when it runs on revocable resources.
    pub revocable: bool,
    /// Where it stands.
    pub state: AgentState,
    /// Builds it has started.
    pub builds: u32,
    /// Idle spells so far (the next one's generation).
    pub generations: u64,
}

/// Every agent the controller has started and not yet seen end.
#[derive(Debug, Default)]
pub struct Pool {
    agents: BTreeMap<TaskId, Agent>,
    next_index: u64,
    launched: BTreeMap<String, u64>,
    most_live: BTreeMap<String, usize>,
    most_live_total: usize,
}

impl Pool {
    /// A fresh, unique task id for an agent of `label`.
    pub fn next_task_id(&mut self, label: &str) -> TaskId {
        self.next_index += 1;
        TaskId::new(format!("agent-{label}-{:04}", self.next_index))
    }

    /// Records a launched agent.
    pub fn launched(&mut self, task: TaskId, label: &str, host: AgentId, revocable: bool) {
        self.agents.insert(
            task.clone(),
            Agent {
                task,
                label: label.to_owned(),
                host,
                revocable,
                state: AgentState::Launching,
                builds: 0,
                generations: 0,
            },
        );
        *self.launched.entry(label.to_owned()).or_insert(0) += 1;
        let live = self.live(label);
        let most = self.most_live.entry(label.to_owned()).or_insert(0);
        *most = (*most).max(live);
        self.most_live_total = self.most_live_total.max(self.agents.len());
    }

    /// The agent of `task`.
    pub fn get(&self, task: &TaskId) -> Option<&Agent> {
        self.agents.get(task)
    }

    /// The agent of `task`, to change.
    pub fn get_mut(&mut self, task: &TaskId) -> Option<&mut Agent> {
        self.agents.get_mut(task)
    }

    /// Forgets an agent whose task ended.
    pub fn remove(&mut self, task: &TaskId) -> Option<Agent> {
        self.agents.remove(task)
    }

    /// Agents of `label` holding resources (every state).
    pub fn live(&self, label: &str) -> usize {
        self.agents.values().filter(|a| a.label == label).count()
    }

    /// Agents holding resources, all labels.
    pub fn live_total(&self) -> usize {
        self.agents.len()
    }

    /// Agents of `label` that will take a build without a new launch:
    /// idle now, or launching.
    pub fn coming_or_idle(&self, label: &str) -> usize {
        self.agents
            .values()
            .filter(|a| {
                a.label == label
                    && matches!(a.state, AgentState::Launching | AgentState::Idle { .. })
            })
            .count()
    }

    /// Idle agents, by task id.
    pub fn idle(&self) -> Vec<TaskId> {
        self.agents
            .values()
            .filter(|a| matches!(a.state, AgentState::Idle { .. }))
            .map(|a| a.task.clone())
            .collect()
    }

    /// Every agent, by task id.
    pub fn all(&self) -> impl Iterator<Item = &Agent> {
        self.agents.values()
    }

    /// Agents launched so far, per label.
    pub fn launched_per_label(&self) -> &BTreeMap<String, u64> {
        &self.launched
    }

    /// The most agents of each label alive at once.
    pub fn most_live(&self) -> &BTreeMap<String, usize> {
        &self.most_live
    }

    /// The most agents alive at once, all labels.
    pub fn most_live_total(&self) -> usize {
        self.most_live_total
    }
}

impl Pool {
    /// The agents and the last index, into `meta`.
    pub fn save_meta(&self, meta: &mut SavedMeta) {
        meta.agent_index = self.next_index;
        meta.agents = self
            .agents
            .values()
            .map(|a| SavedAgent {
                task: a.task.to_string(),
                label: a.label.clone(),
                host: a.host.to_string(),
                revocable: a.revocable,
                build: match &a.state {
                    AgentState::Busy(b) => Some(b.clone()),
                    _ => None,
                },
                stopping: a.state == AgentState::Stopping,
                builds: a.builds,
            })
            .collect();
    }

    /// The agents a previous run left. A busy one stays busy with its
    /// build; an idle or launching one waits to connect again
    /// ([`AgentState::Launching`]); a stopping one stays stopping.
    pub fn restore(meta: &SavedMeta) -> Pool {
        let mut pool = Pool {
            next_index: meta.agent_index,
            ..Pool::default()
        };
        for a in &meta.agents {
            let task = TaskId::new(a.task.as_str());
            let state = match (&a.build, a.stopping) {
                (_, true) => AgentState::Stopping,
                (Some(build), false) => AgentState::Busy(build.clone()),
                (None, false) => AgentState::Launching,
            };
            pool.agents.insert(
                task.clone(),
                Agent {
                    task,
                    label: a.label.clone(),
                    host: AgentId::from(a.host.as_str()),
                    revocable: a.revocable,
                    state,
                    builds: a.builds,
                    generations: 0,
                },
            );
        }
        pool
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_counts_against_the_caps_until_the_task_ends() {
        let mut pool = Pool::default();
        let a = pool.next_task_id("linux");
        let b = pool.next_task_id("linux");
        assert_ne!(a, b);
        pool.launched(a.clone(), "linux", "host-1".into(), false);
        pool.launched(b.clone(), "linux", "host-1".into(), false);
        pool.get_mut(&a).unwrap().state = AgentState::Stopping;
        assert_eq!(pool.live("linux"), 2, "a stopping agent still holds");
        assert_eq!(pool.coming_or_idle("linux"), 1, "only b will take a build");
        pool.remove(&a);
        assert_eq!(pool.live_total(), 1);
        assert_eq!(pool.most_live_total(), 2);
        assert_eq!(pool.launched_per_label()["linux"], 2);
    }
}
