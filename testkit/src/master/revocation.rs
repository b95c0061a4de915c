//! Taking lent resources back: revocation notices and their deadlines.
//!
//! The allocator lends a role's idle guaranteed or reserved resources to
//! other roles as revocable resources, and says in
//! [`Allocator::reclaim_needed`](crate::allocator::Allocator::reclaim_needed)
//! how much must come back, per owner and agent, once the owner wants them.
//! Each allocation cycle, before allocating, the master turns that into
//! action on each agent:
//!
//! 1. what revocable tasks there are already under notice counts as coming
//!    back;
//! 2. outstanding revocable offers are rescinded (nothing runs on them);
//! 3. the borrowed tasks to take are picked: the fewest, the most recently
//!    launched first ([`pick_tasks`]). Only tasks on revocable resources lent
//!    from that owner's pool are candidates, never regular tasks, even those
//!    sharing an executor with a revocable one;
//! 4. each borrowing framework gets one **revocation notice** per agent and
//!    owner in that cycle (a later cycle may add another): an inverse offer
//!    naming the agent, the tasks' revocable resources, the tasks
//!    (`revoked_task_ids`) and a deadline (`unavailability.start`, in the
//!    master's clock) [`MasterConfig::revocation_notice`] away. A
//!    disconnected framework gets its notices when it resubscribes; the
//!    deadline runs from when the notice was made all the same.
//!
//! The framework may release the tasks itself (KILL, then
//! ACCEPT_INVERSE_OFFERS), or decline and keep them until the deadline. At
//! the deadline the master kills what is left, each task with its own
//! KillPolicy grace period. Once every named task has ended the notice is
//! rescinded (RESCIND_INVERSE_OFFER), and the freed resources go to the
//! owner in the next allocation.
//!
//! [`MasterConfig::revocation_notice`]: super::MasterConfig::revocation_notice

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use corral::pb;
use corral::{AgentId, FrameworkId, OfferId, Resources, Role, TaskId};
use tracing::{info, warn};

use crate::allocator::Reclaim;

use super::core::MasterCore;
use super::error::CallError;
use super::outbox;
use super::tasks::{is_terminal, TaskRecord};

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

    fn insert(&mut self, notice: Notice) {
        self.notices.insert(notice.id.clone(), notice);
    }

    fn remove_framework(&mut self, fw: &FrameworkId) {
        self.notices.retain(|_, n| &n.framework != fw);
    }
}

/// Scalar quantities by name, in thousandths (the `Scalar` fixed point).
type Need = BTreeMap<String, i64>;

/// The revocable scalars of `resources` lent from the pool `reservation`
/// (`None`: unreserved).
fn lent_scalars(resources: &Resources, reservation: Option<&Role>) -> Need {
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

fn is_met(need: &Need) -> bool {
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

fn take_from(need: &mut Need, have: &Need) {
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

impl MasterCore {
    /// Acts on what the allocator says must come back (see the module
    /// docs). Runs before each allocation.
    pub(super) fn reclaim(&mut self, now: Duration) {
        self.sweep_revocations();
        for reclaim in self.allocator.reclaim_needed() {
            self.reclaim_on_agent(now, reclaim);
        }
    }

    fn reclaim_on_agent(&mut self, now: Duration, reclaim: Reclaim) {
        let reservation = reclaim
            .resources
            .iter()
            .next()
            .and_then(|e| e.reservation.clone());
        let reservation = reservation.as_ref();
        let mut need = lent_scalars(&reclaim.resources, reservation);
        let agent = &reclaim.agent;

        // 1. Tasks already under notice for this owner are coming back.
        let owner = &reclaim.owner;
        for notice in self
            .revocations
            .iter()
            .filter(|n| &n.agent == agent && &n.owner == owner)
        {
            for task in &notice.tasks {
                if let Some(record) = self.tasks.get(&notice.framework, task) {
                    take_from(&mut need, &lent_scalars(&record.resources, reservation));
                }
            }
        }
        if is_met(&need) {
            return;
        }

        // 2. Outstanding revocable offers from that pool.
        let offers: Vec<OfferId> = self
            .offers
            .iter()
            .filter(|o| &o.agent == agent)
            .filter(|o| !lent_scalars(&o.resources, reservation).is_empty())
            .map(|o| o.id.clone())
            .collect();
        for id in offers {
            if is_met(&need) {
                return;
            }
            if let Some(offer) = self.offers.get(&id) {
                take_from(&mut need, &lent_scalars(&offer.resources, reservation));
            }
            info!(offer = %id, %agent, owner = %reclaim.owner, "revocable offer rescinded for its owner");
            self.rescind(now, &id);
        }
        if is_met(&need) {
            return;
        }

        // 3. Borrowed tasks, most recent first.
        let mut candidates: Vec<&TaskRecord> = self
            .tasks
            .live_on(agent)
            .filter(|t| !t.is_killing())
            .filter(|t| !self.revocations.covers(&t.framework, &t.id))
            .filter(|t| !lent_scalars(&t.resources, reservation).is_empty())
            .collect();
        candidates.sort_by_key(|t| std::cmp::Reverse((t.launched_at, t.launch_seq)));
        let gives: Vec<Need> = candidates
            .iter()
            .map(|t| lent_scalars(&t.resources, reservation))
            .collect();
        let mut chosen: BTreeMap<FrameworkId, Vec<(TaskId, Resources)>> = BTreeMap::new();
        for i in pick_tasks(&gives, &need) {
            let task = candidates[i];
            chosen
                .entry(task.framework.clone())
                .or_default()
                .push((task.id.clone(), task.resources.clone()));
        }

        // 4. One notice per borrowing framework.
        for (framework, tasks) in chosen {
            let mut resources = Resources::new();
            for (_, r) in &tasks {
                resources += r;
            }
            let notice = Notice {
                id: self.offers.next_id(),
                framework,
                agent: agent.clone(),
                owner: reclaim.owner.clone(),
                tasks: tasks.into_iter().map(|(id, _)| id).collect(),
                resources,
                deadline: now.saturating_add(self.config.revocation_notice),
                answer: None,
                enforced: false,
            };
            info!(notice = %notice.id, framework = %notice.framework, %agent,
                owner = %notice.owner, tasks = notice.tasks.len(),
                deadline = ?notice.deadline, "revocation notice");
            self.emit(&notice.framework, notice_event(&notice));
            self.revocations.insert(notice);
        }
    }

    /// Kills what is left of every notice whose deadline has come, each
    /// task with its own KillPolicy grace period.
    pub(super) fn enforce_revocations(&mut self, now: Duration) {
        let due: Vec<(FrameworkId, Vec<TaskId>)> = self
            .revocations
            .notices
            .values_mut()
            .filter(|n| !n.enforced && n.deadline <= now)
            .map(|n| {
                n.enforced = true;
                (n.framework.clone(), n.tasks.iter().cloned().collect())
            })
            .collect();
        for (fw, tasks) in due {
            for task in tasks {
                let live = self
                    .tasks
                    .get(&fw, &task)
                    .is_some_and(|t| !is_terminal(t.state) && !t.is_killing());
                if live {
                    info!(framework = %fw, %task, "revocation deadline: killing the task");
                    self.kill_task(now, &fw, &task, None);
                }
            }
        }
    }

    /// Drops ended tasks from the notices, and rescinds each notice whose
    /// tasks have all ended.
    pub(super) fn sweep_revocations(&mut self) {
        let tasks = &self.tasks;
        let mut done = Vec::new();
        for notice in self.revocations.notices.values_mut() {
            notice.tasks.retain(|t| {
                tasks
                    .get(&notice.framework, t)
                    .is_some_and(|r| !is_terminal(r.state))
            });
            if notice.tasks.is_empty() {
                done.push((notice.id.clone(), notice.framework.clone()));
            }
        }
        for (id, fw) in done {
            self.revocations.notices.remove(&id);
            self.emit(&fw, outbox::rescind_inverse_offer(&id));
        }
    }

    /// A framework is gone: its notices go with it.
    pub(super) fn forget_revocations(&mut self, fw: &FrameworkId) {
        self.revocations.remove_framework(fw);
    }

    /// Sends a resubscribed framework its outstanding notices again.
    pub(super) fn resend_revocations(&mut self, fw: &FrameworkId) {
        self.sweep_revocations();
        let events: Vec<pb::Event> = self
            .revocations
            .iter()
            .filter(|n| &n.framework == fw)
            .map(notice_event)
            .collect();
        for event in events {
            self.emit(fw, event);
        }
    }

    /// Records `fw`'s answer to those of `ids` that are its notices.
    fn answer_revocations(&mut self, fw: &FrameworkId, ids: &[OfferId], answer: NoticeAnswer) {
        for id in ids {
            if let Some(notice) = self.revocations.notices.get_mut(id) {
                if &notice.framework == fw {
                    info!(notice = %id, framework = %fw, ?answer, "revocation notice answered");
                    notice.answer = Some(answer);
                }
            }
        }
    }

    /// ACCEPT/DECLINE_INVERSE_OFFERS: answers to revocation notices are
    /// recorded; other ids must be the framework's maintenance inverse
    /// offers.
    pub(super) fn inverse_offer_answer(
        &mut self,
        fw: &FrameworkId,
        ids: Vec<pb::OfferId>,
        accept: bool,
    ) -> Result<(), CallError> {
        let ids: Vec<OfferId> = ids.iter().map(OfferId::from).collect();
        let answer = if accept {
            NoticeAnswer::Releasing
        } else {
            NoticeAnswer::Keeping
        };
        // Every id is checked before any answer is recorded.
        let unknown: Vec<OfferId> = ids
            .iter()
            .filter(|id| {
                let notice = self.revocations.get(id).is_some_and(|n| &n.framework == fw);
                !notice && !self.is_maintenance_offer_of(fw, id)
            })
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(CallError::UnknownInverseOffers(unknown));
        }
        self.answer_revocations(fw, &ids, answer);
        self.answer_maintenance(fw, &ids, accept);
        Ok(())
    }
}

/// Refuses resources (a task's) that mix regular and revocable entries:
/// lent resources are taken back task by task.
pub(super) fn not_mixed(resources: &Resources, what: &str) -> Result<(), String> {
    let revocable = resources.iter().filter(|e| e.revocable).count();
    if revocable != 0 && revocable != resources.iter().count() {
        warn!(what, %resources, "regular and revocable resources mixed");
        return Err(format!(
            "{what} mixes regular and revocable resources ({resources}); use one kind"
        ));
    }
    Ok(())
}

/// The INVERSE_OFFERS event of a notice.
fn notice_event(notice: &Notice) -> pb::Event {
    let offer = pb::InverseOffer {
        id: notice.id.to_pb(),
        url: None,
        framework_id: notice.framework.to_pb(),
        agent_id: Some(notice.agent.to_pb()),
        unavailability: pb::Unavailability {
            start: pb::TimeInfo {
                nanoseconds: nanos(notice.deadline),
            },
            duration: None,
        },
        resources: notice.resources.to_pb(),
        revoked_task_ids: notice.tasks.iter().map(TaskId::to_pb).collect(),
    };
    outbox::inverse_offers(offer)
}

/// A master-clock time in nanoseconds, saturating.
pub(super) fn nanos(t: Duration) -> i64 {
    i64::try_from(t.as_nanos()).unwrap_or(i64::MAX)
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
