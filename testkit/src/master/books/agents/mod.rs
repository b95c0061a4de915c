//! The agents book: every agent the master knows and all that is per agent:
//! its [`AgentSpec`] (with the total a reservation changed), its kind
//! (simulated or local), its liveness (up, lost to a partition, down for
//! maintenance), its maintenance window and the inverse offers sent for
//! it, the kills waiting for a lost agent's return, the sandboxes of its
//! local tasks, and how a simulated agent behaves (tasks that ignore their
//! kill).
//!
//! It answers for itself ([`AgentBook::offerable`]: whether the allocator
//! may offer the agent) and imports no other book. The processes that
//! span books (agent loss, maintenance, local tasks) drive it.

pub mod maintenance;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use corral::{AgentId, FrameworkId, OfferId, Resources, TaskId};

use self::maintenance::{Maintenance, MaintenanceError, MaintenanceOffer, Window};
use crate::agent::SandboxPaths;
use crate::master::config::{AgentSpec, ConfigError};

/// Whether the master can use an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
    /// Reachable and offered.
    Up,
    /// Unreachable since `since` (a partition): out of the allocator.
    Lost {
        /// When it was lost.
        since: Duration,
    },
    /// Reachable, but inside its maintenance window: offered to nobody.
    Down,
}

/// Why the agents book refused a change of an agent's liveness.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// No agent with this id is registered.
    #[error("unknown agent {0}")]
    Unknown(AgentId),
    /// The agent is lost already.
    #[error("agent {0} is already lost")]
    AlreadyLost(AgentId),
    /// The agent is not lost, so it cannot come back.
    #[error("agent {0} is not lost")]
    NotLost(AgentId),
}

/// What a lost agent's return hands back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Returned {
    /// When it was lost.
    pub lost_at: Duration,
    /// The kills asked meanwhile, with their grace period, in order.
    pub kills: Vec<(FrameworkId, TaskId, Option<Duration>)>,
}

#[derive(Debug)]
struct Entry {
    spec: AgentSpec,
    lost: Option<Lost>,
    maintenance: Option<Maintenance>,
    /// Simulated agents only: tasks whose kill is ignored.
    stubborn: BTreeSet<(FrameworkId, TaskId)>,
}

#[derive(Debug)]
struct Lost {
    since: Duration,
    kills: BTreeMap<(FrameworkId, TaskId), Option<Duration>>,
}

/// Every agent. See the module docs.
#[derive(Debug, Default)]
pub struct AgentBook {
    agents: BTreeMap<AgentId, Entry>,
    /// Where each local task's sandbox is (kept after the task ends).
    sandboxes: BTreeMap<(FrameworkId, TaskId), SandboxPaths>,
}

impl AgentBook {
    /// Registers an agent (up, no maintenance).
    pub fn add(&mut self, spec: AgentSpec) -> Result<(), ConfigError> {
        if self.agents.contains_key(&spec.id) {
            return Err(ConfigError::DuplicateAgent(spec.id));
        }
        self.agents.insert(
            spec.id.clone(),
            Entry {
                spec,
                lost: None,
                maintenance: None,
                stubborn: BTreeSet::new(),
            },
        );
        Ok(())
    }

    /// Whether `agent` is registered.
    pub fn contains(&self, agent: &AgentId) -> bool {
        self.agents.contains_key(agent)
    }

    /// The agent's spec (its total as reservations left it).
    pub fn spec(&self, agent: &AgentId) -> Option<&AgentSpec> {
        self.agents.get(agent).map(|e| &e.spec)
    }

    /// Every agent's spec, by id.
    pub fn specs(&self) -> impl Iterator<Item = &AgentSpec> {
        self.agents.values().map(|e| &e.spec)
    }

    /// Every agent's id, in order.
    pub fn ids(&self) -> impl Iterator<Item = &AgentId> {
        self.agents.keys()
    }

    /// Records the agent's new total (a reservation changed it).
    pub fn set_total(&mut self, agent: &AgentId, total: Resources) -> Result<(), AgentError> {
        let entry = self
            .agents
            .get_mut(agent)
            .ok_or_else(|| AgentError::Unknown(agent.clone()))?;
        entry.spec.resources = total;
        Ok(())
    }

    // ---- liveness ----

    /// The agent's liveness; `None` for an unknown agent. A lost agent is
    /// [`Liveness::Lost`] even inside its maintenance window.
    pub fn liveness(&self, agent: &AgentId) -> Option<Liveness> {
        let entry = self.agents.get(agent)?;
        Some(match (&entry.lost, &entry.maintenance) {
            (Some(lost), _) => Liveness::Lost { since: lost.since },
            (None, Some(m)) if m.down => Liveness::Down,
            (None, _) => Liveness::Up,
        })
    }

    /// Whether `agent` is lost.
    pub fn is_lost(&self, agent: &AgentId) -> bool {
        self.agents.get(agent).is_some_and(|e| e.lost.is_some())
    }

    /// Whether `agent` is inside its maintenance window (lost or not).
    pub fn is_down(&self, agent: &AgentId) -> bool {
        self.agents
            .get(agent)
            .and_then(|e| e.maintenance.as_ref())
            .is_some_and(|m| m.down)
    }

    /// Whether the allocator may offer `agent`: up, neither lost nor down.
    pub fn offerable(&self, agent: &AgentId) -> bool {
        self.liveness(agent) == Some(Liveness::Up)
    }

    /// Marks `agent` lost at `now`.
    pub fn mark_lost(&mut self, now: Duration, agent: &AgentId) -> Result<(), AgentError> {
        let entry = self
            .agents
            .get_mut(agent)
            .ok_or_else(|| AgentError::Unknown(agent.clone()))?;
        if entry.lost.is_some() {
            return Err(AgentError::AlreadyLost(agent.clone()));
        }
        entry.lost = Some(Lost {
            since: now,
            kills: BTreeMap::new(),
        });
        Ok(())
    }

    /// Marks a lost agent reachable again; hands back the kills that
    /// waited for it.
    pub fn mark_returned(&mut self, agent: &AgentId) -> Result<Returned, AgentError> {
        let entry = self
            .agents
            .get_mut(agent)
            .ok_or_else(|| AgentError::Unknown(agent.clone()))?;
        let lost = entry
            .lost
            .take()
            .ok_or_else(|| AgentError::NotLost(agent.clone()))?;
        Ok(Returned {
            lost_at: lost.since,
            kills: lost
                .kills
                .into_iter()
                .map(|((fw, task), grace)| (fw, task, grace))
                .collect(),
        })
    }

    /// Remembers a kill of `task` on lost `agent`, carried out when it
    /// returns. `false` (nothing kept) when the agent is not lost.
    pub fn defer_kill(
        &mut self,
        agent: &AgentId,
        fw: &FrameworkId,
        task: &TaskId,
        grace: Option<Duration>,
    ) -> bool {
        match self.agents.get_mut(agent).and_then(|e| e.lost.as_mut()) {
            Some(lost) => {
                lost.kills.insert((fw.clone(), task.clone()), grace);
                true
            }
            None => false,
        }
    }

    // ---- kinds: local agents and simulated ones ----

    /// The work directory of a local agent; `None` for a simulated or
    /// unknown one.
    pub fn work_dir(&self, agent: &AgentId) -> Option<&Path> {
        self.agents.get(agent).and_then(|e| e.spec.kind.work_dir())
    }

    /// Whether `agent` runs its tasks as real processes.
    pub fn is_local(&self, agent: &AgentId) -> bool {
        self.work_dir(agent).is_some()
    }

    /// Where the sandbox of `task` of `fw` is, once its agent made it.
    pub fn sandbox(&self, fw: &FrameworkId, task: &TaskId) -> Option<&SandboxPaths> {
        self.sandboxes.get(&(fw.clone(), task.clone()))
    }

    /// Records where a local task's sandbox is.
    pub fn set_sandbox(&mut self, fw: &FrameworkId, task: &TaskId, paths: SandboxPaths) {
        self.sandboxes.insert((fw.clone(), task.clone()), paths);
    }

    /// Forgets a task's sandbox (the task id is launched again).
    pub fn forget_sandbox(&mut self, fw: &FrameworkId, task: &TaskId) {
        self.sandboxes.remove(&(fw.clone(), task.clone()));
    }

    /// Makes simulated `agent` ignore the kill of `task` of `fw`: the task
    /// stops only when the kill's grace period forces it. `false` for an
    /// unknown or local agent.
    pub fn ignore_kill(&mut self, agent: &AgentId, fw: &FrameworkId, task: &TaskId) -> bool {
        match self.agents.get_mut(agent) {
            Some(entry) if entry.spec.kind.work_dir().is_none() => {
                entry.stubborn.insert((fw.clone(), task.clone()));
                true
            }
            _ => false,
        }
    }

    /// Whether `agent` ignores the kill of `task`; the answer is given
    /// once (a task is killed once).
    pub fn take_ignores_kill(&mut self, agent: &AgentId, fw: &FrameworkId, task: &TaskId) -> bool {
        self.agents
            .get_mut(agent)
            .is_some_and(|e| e.stubborn.remove(&(fw.clone(), task.clone())))
    }

    /// A task ended: the agent forgets how it was to behave.
    pub fn task_ended(&mut self, agent: &AgentId, fw: &FrameworkId, task: &TaskId) {
        if let Some(entry) = self.agents.get_mut(agent) {
            if !entry.stubborn.is_empty() {
                entry.stubborn.remove(&(fw.clone(), task.clone()));
            }
        }
    }

    /// A framework is gone: its sandboxes, its inverse offers, its pending
    /// kills and its simulated behaviours go with it.
    pub fn forget_framework(&mut self, fw: &FrameworkId) {
        self.sandboxes.retain(|(owner, _), _| owner != fw);
        for entry in self.agents.values_mut() {
            if let Some(m) = entry.maintenance.as_mut() {
                m.offers.remove(fw);
            }
            if let Some(lost) = entry.lost.as_mut() {
                lost.kills.retain(|(owner, _), _| owner != fw);
            }
            entry.stubborn.retain(|(owner, _)| owner != fw);
        }
    }

    // ---- maintenance ----

    /// The agent's scheduled maintenance.
    pub fn maintenance(&self, agent: &AgentId) -> Option<&Maintenance> {
        self.agents.get(agent).and_then(|e| e.maintenance.as_ref())
    }

    /// Every agent's scheduled maintenance, by agent.
    pub fn all_maintenance(&self) -> BTreeMap<AgentId, Maintenance> {
        self.agents
            .iter()
            .filter_map(|(id, e)| e.maintenance.clone().map(|m| (id.clone(), m)))
            .collect()
    }

    /// The agents under maintenance and their windows.
    pub fn under_maintenance(&self) -> impl Iterator<Item = (&AgentId, &Maintenance)> {
        self.agents
            .iter()
            .filter_map(|(id, e)| e.maintenance.as_ref().map(|m| (id, m)))
    }

    /// Schedules (or moves, while it has not started) the window; hands
    /// back the maintenance it replaces, whose inverse offers are stale.
    pub fn schedule(
        &mut self,
        now: Duration,
        agent: &AgentId,
        window: Window,
    ) -> Result<Option<Maintenance>, MaintenanceError> {
        let entry = self
            .agents
            .get_mut(agent)
            .ok_or_else(|| MaintenanceError::UnknownAgent(agent.clone()))?;
        if window.start < now {
            return Err(MaintenanceError::StartsInThePast {
                agent: agent.clone(),
                start: window.start,
                now,
            });
        }
        if window.duration == Some(Duration::ZERO) {
            return Err(MaintenanceError::EmptyWindow(agent.clone()));
        }
        if entry.maintenance.as_ref().is_some_and(|m| m.down) {
            return Err(MaintenanceError::AlreadyDown(agent.clone()));
        }
        Ok(entry.maintenance.replace(Maintenance {
            window,
            down: false,
            offers: BTreeMap::new(),
        }))
    }

    /// Ends (or cancels) the agent's maintenance; hands it back.
    pub fn end(&mut self, agent: &AgentId) -> Result<Maintenance, MaintenanceError> {
        self.agents
            .get_mut(agent)
            .and_then(|e| e.maintenance.take())
            .ok_or_else(|| MaintenanceError::NotScheduled(agent.clone()))
    }

    /// The window of `agent` starts: it is down. `false` if none is due.
    pub fn start_window(&mut self, agent: &AgentId) -> bool {
        match self
            .agents
            .get_mut(agent)
            .and_then(|e| e.maintenance.as_mut())
        {
            Some(m) if !m.down => {
                m.down = true;
                true
            }
            _ => false,
        }
    }

    /// The agents whose window starts at or before `now`.
    pub fn windows_starting(&self, now: Duration) -> Vec<AgentId> {
        self.under_maintenance()
            .filter(|(_, m)| !m.down && m.window.start <= now)
            .map(|(a, _)| a.clone())
            .collect()
    }

    /// The agents whose window ends at or before `now`.
    pub fn windows_ending(&self, now: Duration) -> Vec<AgentId> {
        self.under_maintenance()
            .filter(|(_, m)| m.down && m.window.end().is_some_and(|e| e <= now))
            .map(|(a, _)| a.clone())
            .collect()
    }

    /// When the next window starts or ends.
    pub fn next_window_deadline(&self) -> Option<Duration> {
        self.under_maintenance()
            .filter_map(|(_, m)| {
                if m.down {
                    m.window.end()
                } else {
                    Some(m.window.start)
                }
            })
            .min()
    }

    /// Records the inverse offer `id` sent to `fw` for `agent`'s window.
    pub fn record_inverse_offer(&mut self, agent: &AgentId, fw: &FrameworkId, id: OfferId) {
        if let Some(m) = self
            .agents
            .get_mut(agent)
            .and_then(|e| e.maintenance.as_mut())
        {
            m.offers
                .insert(fw.clone(), MaintenanceOffer { id, answer: None });
        }
    }

    /// Whether `id` is a maintenance inverse offer made to `fw`.
    pub fn is_inverse_offer_of(&self, fw: &FrameworkId, id: &OfferId) -> bool {
        self.under_maintenance()
            .any(|(_, m)| m.offers.get(fw).is_some_and(|o| &o.id == id))
    }

    /// Records `fw`'s answer to those of `ids` that are its inverse offers;
    /// returns the ids answered.
    pub fn answer_inverse_offers(
        &mut self,
        fw: &FrameworkId,
        ids: &[OfferId],
        accept: bool,
    ) -> Vec<OfferId> {
        let mut answered = Vec::new();
        for entry in self.agents.values_mut() {
            let Some(offer) = entry
                .maintenance
                .as_mut()
                .and_then(|m| m.offers.get_mut(fw))
            else {
                continue;
            };
            if ids.contains(&offer.id) {
                offer.answer = Some(accept);
                answered.push(offer.id.clone());
            }
        }
        answered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> AgentBook {
        let mut book = AgentBook::default();
        book.add(AgentSpec::new("a", Resources::new().with_cpus(1.0)))
            .unwrap();
        book
    }

    #[test]
    fn liveness_follows_loss_and_maintenance() {
        let mut book = book();
        let a = AgentId::new("a");
        assert_eq!(book.liveness(&a), Some(Liveness::Up));
        book.schedule(
            Duration::ZERO,
            &a,
            Window {
                start: Duration::ZERO,
                duration: None,
            },
        )
        .unwrap();
        assert!(book.offerable(&a), "scheduled is not down yet");
        assert!(book.start_window(&a));
        assert_eq!(book.liveness(&a), Some(Liveness::Down));
        book.mark_lost(Duration::from_secs(1), &a).unwrap();
        assert_eq!(
            book.liveness(&a),
            Some(Liveness::Lost {
                since: Duration::from_secs(1)
            })
        );
        assert_eq!(
            book.mark_lost(Duration::ZERO, &a),
            Err(AgentError::AlreadyLost(a.clone()))
        );
        let fw = FrameworkId::new("f");
        assert!(book.defer_kill(&a, &fw, &TaskId::new("t"), None));
        let back = book.mark_returned(&a).unwrap();
        assert_eq!(back.kills, vec![(fw, TaskId::new("t"), None)]);
        assert_eq!(book.liveness(&a), Some(Liveness::Down));
        book.end(&a).unwrap();
        assert!(book.offerable(&a));
        assert_eq!(book.mark_returned(&a), Err(AgentError::NotLost(a)));
    }

    #[test]
    fn a_kill_is_ignored_once_and_only_on_simulated_agents() {
        let mut book = book();
        let (a, fw, t) = (AgentId::new("a"), FrameworkId::new("f"), TaskId::new("t"));
        assert!(book.ignore_kill(&a, &fw, &t));
        assert!(book.take_ignores_kill(&a, &fw, &t));
        assert!(!book.take_ignores_kill(&a, &fw, &t));
        assert!(!book.ignore_kill(&AgentId::new("nope"), &fw, &t));
    }
}
