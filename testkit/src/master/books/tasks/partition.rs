//! The tasks book, continued: tasks frozen while their agent is
//! unreachable, and tasks told to ignore kills.

use std::time::Duration;

use corral::TaskState;
use corral::{AgentId, FrameworkId, TaskId};

use super::{key, Frozen, Key, TaskTable};

impl TaskTable {
    /// Freezes a live task whose agent became unreachable: it is
    /// TASK_UNREACHABLE and its timer is put aside until
    /// [`TaskTable::thaw_on`]. `false` for a task that is not live.
    pub fn freeze(&mut self, now: Duration, framework: &FrameworkId, task: &TaskId) -> bool {
        let k = key(framework, task);
        let Some(record) = self.live.get(&k) else {
            return false;
        };
        let state = record.state;
        let next = record.next.map(|(at, t)| (at.saturating_sub(now), t));
        self.schedule(&k, None);
        let Some(record) = self.live.get_mut(&k) else {
            return false;
        };
        record.state = TaskState::Unreachable;
        self.frozen.insert(k, Frozen { state, next });
        true
    }

    /// Thaws the frozen tasks on `agent` (it came back): their state and
    /// their timer (time left from `now`) come back. Returns each task and
    /// its state, in order.
    pub fn thaw_on(
        &mut self,
        now: Duration,
        agent: &AgentId,
    ) -> Vec<(FrameworkId, TaskId, TaskState)> {
        let keys: Vec<Key> = self
            .by_agent
            .get(agent)
            .map(|keys| {
                keys.iter()
                    .filter(|k| self.frozen.contains_key(*k))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let mut out = Vec::new();
        for k in keys {
            let Some(was) = self.frozen.remove(&k) else {
                continue;
            };
            let Some(record) = self.live.get_mut(&k) else {
                continue;
            };
            record.state = was.state;
            self.schedule(&k, was.next.map(|(left, t)| (now.saturating_add(left), t)));
            out.push((k.0, k.1, was.state));
        }
        out
    }

    /// Whether `task` is frozen on an unreachable agent.
    pub fn is_frozen(&self, framework: &FrameworkId, task: &TaskId) -> bool {
        self.frozen.contains_key(&key(framework, task))
    }

    /// Makes a live task take forever to stop once killed (only its grace
    /// period stops it). `false` for a task that is not live.
    pub fn ignore_kills(&mut self, framework: &FrameworkId, task: &TaskId) -> bool {
        match self.live.get_mut(&key(framework, task)) {
            Some(record) => {
                record.plan.cleanup = Duration::MAX;
                true
            }
            None => false,
        }
    }
}
