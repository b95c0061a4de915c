//! The revocation book: every outstanding revocation notice, with its
//! tasks, deadline and answer; and the arithmetic of taking lent resources
//! back (which borrowed tasks cover what the owner needs). No other book,
//! no core: the reclaim process (`revocation.rs`) drives it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use corral::{AgentId, FrameworkId, OfferId, Resources, Role, TaskId};
use tracing::warn;

/// How a framework answered a revocation notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeAnswer {
    /// ACCEPT_INVERSE_OFFERS: it is releasing the tasks.
    Releasing,
    /// DECLINE_INVERSE_OFFERS: it keeps them until the deadline.
    Keeping,
}

/// One revocation notice: tasks of one framework on one agent.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    /// The inverse offer's id.
    pub id: OfferId,
    /// The borrowing framework.
    pub framework: FrameworkId,
    /// Where the tasks run.
    pub agent: AgentId,
    /// The role the resources go back to.
    pub owner: Role,
    /// The tasks taken (those still live; ended ones are removed).
    pub tasks: BTreeSet<TaskId>,
    /// Their revocable resources, as sent.
    pub resources: Resources,
    /// When the master kills what is left.
    pub deadline: Duration,
    /// The framework's answer, if any.
    pub answer: Option<NoticeAnswer>,
    /// The deadline passed and the kills were sent.
    pub enforced: bool,
}

/// Every outstanding revocation notice.
#[derive(Clone, Debug, Default)]
pub struct RevocationBook {
    notices: BTreeMap<OfferId, Notice>,
}

impl RevocationBook {
    /// The outstanding notices, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Notice> {
        self.notices.values()
    }

    /// The notice with this id.
    pub fn get(&self, id: &OfferId) -> Option<&Notice> {
        self.notices.get(id)
    }

    /// Whether `task` of `fw` is named by an outstanding notice.
    pub fn covers(&self, fw: &FrameworkId, task: &TaskId) -> bool {
        self.notices
            .values()
            .any(|n| &n.framework == fw && n.tasks.contains(task))
    }

    /// The earliest deadline not yet enforced.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.notices
            .values()
            .filter(|n| !n.enforced)
            .map(|n| n.deadline)
            .min()
    }

    /// Adds a notice.
    pub fn insert(&mut self, notice: Notice) {
        self.notices.insert(notice.id.clone(), notice);
    }

    /// Drops every notice of a framework that is gone.
    pub fn remove_framework(&mut self, fw: &FrameworkId) {
        self.notices.retain(|_, n| &n.framework != fw);
    }

    /// Marks every notice whose deadline has come as enforced; returns
    /// their tasks, by framework, to kill.
    pub fn enforce_due(&mut self, now: Duration) -> Vec<(FrameworkId, Vec<TaskId>)> {
        self.notices
            .values_mut()
            .filter(|n| !n.enforced && n.deadline <= now)
            .map(|n| {
                n.enforced = true;
                (n.framework.clone(), n.tasks.iter().cloned().collect())
            })
            .collect()
    }

    /// Keeps in each notice only the tasks `live` says are live, and drops
    /// the notices left with none; returns those (id, framework).
    pub fn sweep(
        &mut self,
        live: impl Fn(&FrameworkId, &TaskId) -> bool,
    ) -> Vec<(OfferId, FrameworkId)> {
        let mut done = Vec::new();
        for notice in self.notices.values_mut() {
            notice.tasks.retain(|t| live(&notice.framework, t));
            if notice.tasks.is_empty() {
                done.push((notice.id.clone(), notice.framework.clone()));
            }
        }
        for (id, _) in &done {
            self.notices.remove(id);
        }
        done
    }

    /// Records `fw`'s answer to notice `id`; `false` when it is not one of
    /// its notices.
    pub fn answer(&mut self, fw: &FrameworkId, id: &OfferId, answer: NoticeAnswer) -> bool {
        match self.notices.get_mut(id) {
            Some(notice) if &notice.framework == fw => {
                notice.answer = Some(answer);
                true
            }
            _ => false,
        }
    }
}

/// Scalar quantities by name, in thousandths (the `Scalar` fixed point).
pub(in crate::master) type Need = BTreeMap<String, i64>;

/// The revocable scalars of `resources` lent from the pool `reservation`
/// (`None`: unreserved).
pub(in crate::master) fn lent_scalars(resources: &Resources, reservation: Option<&Role>) -> Need {
    let mut out = Need::new();
    for entry in resources
        .iter()
        .filter(|e| e.revocable && e.reservation.as_ref() == reservation)
    {
        if let corral::Value::Scalar(s) = entry.value {
            *out.entry(entry.name.clone()).or_default() += s.millis();
        }
    }
    out
}

pub(in crate::master) fn is_met(need: &Need) -> bool {
    need.values().all(|v| *v <= 0)
}

fn overlaps(need: &Need, have: &Need) -> bool {
    have.iter()
        .any(|(name, v)| *v > 0 && need.get(name).is_some_and(|n| *n > 0))
}

fn covers(have: &Need, need: &Need) -> bool {
    need.iter()
        .all(|(name, n)| *n <= 0 || have.get(name).is_some_and(|h| h >= n))
}

pub(in crate::master) fn take_from(need: &mut Need, have: &Need) {
    for (name, v) in have {
        if let Some(n) = need.get_mut(name) {
            *n -= v;
        }
    }
}

/// Picks which of `candidates` (each with what it would give back) to
/// revoke so that `need` is met: the most recently launched task that
/// alone meets what is left, if one does; else the most recent task that
/// helps, and again. Candidates are given most recent first. Returns their
/// indexes; fewer than needed when the candidates cannot meet it all.
pub fn pick_tasks(candidates: &[Need], need: &Need) -> Vec<usize> {
    let mut left = need.clone();
    let mut picked = Vec::new();
    let mut open: Vec<usize> = (0..candidates.len()).collect();
    while !is_met(&left) {
        let one = open.iter().position(|i| covers(&candidates[*i], &left));
        let next = one.or_else(|| open.iter().position(|i| overlaps(&left, &candidates[*i])));
        let Some(at) = next else {
            break;
        };
        let i = open.remove(at);
        take_from(&mut left, &candidates[i]);
        picked.push(i);
    }
    picked
}

/// Refuses resources (a task's) that mix regular and revocable entries:
/// lent resources are taken back task by task.
pub fn not_mixed(resources: &Resources, what: &str) -> Result<(), String> {
    let revocable = resources.iter().filter(|e| e.revocable).count();
    if revocable != 0 && revocable != resources.iter().count() {
        warn!(what, %resources, "regular and revocable resources mixed");
        return Err(format!(
            "{what} mixes regular and revocable resources ({resources}); use one kind"
        ));
    }
    Ok(())
}

/// A master-clock time in nanoseconds, saturating.
pub fn nanos(t: Duration) -> i64 {
    i64::try_from(t.as_nanos()).unwrap_or(i64::MAX)
}

/// Offered resources as they return to the agent's pools: unallocated, and
/// lent ones no longer revocable (they keep their reservation, if any).
pub fn pool_form(offered: &Resources) -> Resources {
    offered
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.allocation = None;
            r.revocable = false;
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(pairs: &[(&str, i64)]) -> Need {
        pairs.iter().map(|(n, v)| ((*n).to_owned(), *v)).collect()
    }

    #[test]
    fn one_task_that_covers_beats_several_recent_ones() {
        // Most recent first: two small ones, then one big enough alone.
        let candidates = vec![
            need(&[("cpus", 1000)]),
            need(&[("cpus", 1000)]),
            need(&[("cpus", 4000)]),
        ];
        assert_eq!(pick_tasks(&candidates, &need(&[("cpus", 3000)])), vec![2]);
    }

    #[test]
    fn the_most_recent_of_those_that_cover_is_taken() {
        let candidates = vec![
            need(&[("mem", 512)]),
            need(&[("cpus", 2000)]),
            need(&[("cpus", 2000)]),
        ];
        assert_eq!(pick_tasks(&candidates, &need(&[("cpus", 2000)])), vec![1]);
    }

    #[test]
    fn several_most_recent_first_when_none_covers_alone() {
        let candidates = vec![
            need(&[("cpus", 1000)]),
            need(&[("mem", 64)]),
            need(&[("cpus", 1000)]),
            need(&[("cpus", 1000)]),
        ];
        assert_eq!(
            pick_tasks(&candidates, &need(&[("cpus", 2500)])),
            vec![0, 2, 3]
        );
    }

    #[test]
    fn what_cannot_be_met_takes_every_helpful_task_and_stops() {
        let candidates = vec![need(&[("cpus", 1000)]), need(&[("disk", 10)])];
        assert_eq!(pick_tasks(&candidates, &need(&[("cpus", 5000)])), vec![0]);
        assert!(pick_tasks(&candidates, &need(&[("cpus", 0)])).is_empty());
    }

    #[test]
    fn lent_scalars_only_count_the_pool_asked_for() {
        let eng = Role::from("eng");
        let regular = Resources::new().with_cpus(2.0);
        let lent = Resources::new().with_cpus(1.0).revocable();
        let lent_reserved = Resources::new()
            .with_cpus(3.0)
            .reserved_to(&eng)
            .revocable();
        let mut all = regular.clone();
        all += &lent;
        all += &lent_reserved;
        assert_eq!(lent_scalars(&all, None), need(&[("cpus", 1000)]));
        assert_eq!(lent_scalars(&all, Some(&eng)), need(&[("cpus", 3000)]));
        assert!(lent_scalars(&regular, None).is_empty());
    }

    #[test]
    fn mixed_tasks_are_refused() {
        let mut mixed = Resources::new().with_cpus(1.0);
        mixed += &Resources::new().with_mem(64.0).revocable();
        assert!(not_mixed(&mixed, "task t").is_err());
        assert!(not_mixed(&Resources::new().with_cpus(1.0), "t").is_ok());
        assert!(not_mixed(&Resources::new().with_cpus(1.0).revocable(), "t").is_ok());
    }
}
