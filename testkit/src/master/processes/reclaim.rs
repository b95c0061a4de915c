//! Taking lent resources back (the reclaim process): revocation notices
//! and their deadlines. The notices live in the revocation book
//! (`revocation_book.rs`); this process spans it, the tasks, the offers and
//! the allocator.
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
//! [`MasterConfig::revocation_notice`]: crate::master::MasterConfig::revocation_notice

use crate::allocator::Reclaim;
use crate::master::books::revocations::is_met;
use crate::master::books::revocations::lent_scalars;
use crate::master::books::revocations::pick_tasks;
use crate::master::books::revocations::take_from;
use crate::master::books::revocations::Need;
use crate::master::books::revocations::Notice;
use crate::master::books::revocations::NoticeAnswer;
use crate::master::books::tasks::is_terminal;
use crate::master::books::tasks::TaskRecord;
use crate::master::calls::kill;
use crate::master::core::MasterCore;
use crate::master::effects::Event;
use corral::FrameworkId;
use corral::OfferId;
use corral::Resources;
use corral::RevocationNotice;
use corral::TaskId;

use std::collections::BTreeMap;
use std::time::Duration;
use tracing::info;

/// The INVERSE_OFFERS event of a notice.
fn notice_event(notice: &Notice) -> Event {
    Event::Revocation {
        framework: notice.framework.clone(),
        notice: RevocationNotice::new(
            notice.id.clone(),
            notice.agent.clone(),
            notice.tasks.iter().cloned(),
            notice.resources.clone(),
            notice.deadline,
        ),
    }
}

/// Acts on what the allocator says must come back (see the module
/// docs). Runs before each allocation.
pub(in crate::master) fn reclaim(core: &mut MasterCore, now: Duration) {
    sweep_revocations(core);
    for reclaim in core.allocator.reclaim_needed() {
        reclaim_on_agent(core, now, reclaim);
    }
}

fn reclaim_on_agent(core: &mut MasterCore, now: Duration, reclaim: Reclaim) {
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
    for notice in core
        .revocations
        .iter()
        .filter(|n| &n.agent == agent && &n.owner == owner)
    {
        for task in &notice.tasks {
            if let Some(record) = core.tasks.get(&notice.framework, task) {
                take_from(&mut need, &lent_scalars(&record.resources, reservation));
            }
        }
    }
    if is_met(&need) {
        return;
    }

    // 2. Outstanding revocable offers from that pool.
    let offers: Vec<OfferId> = core
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
        if let Some(offer) = core.offers.get(&id) {
            take_from(&mut need, &lent_scalars(&offer.resources, reservation));
        }
        info!(offer = %id, %agent, owner = %reclaim.owner, "revocable offer rescinded for its owner");
        core.rescind(now, &id);
    }
    if is_met(&need) {
        return;
    }

    // 3. Borrowed tasks, most recent first.
    let mut candidates: Vec<&TaskRecord> = core
        .tasks
        .live_on(agent)
        .filter(|t| !t.is_killing())
        .filter(|t| !core.revocations.covers(&t.framework, &t.id))
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
            id: core.offers.next_id(),
            framework,
            agent: agent.clone(),
            owner: reclaim.owner.clone(),
            tasks: tasks.into_iter().map(|(id, _)| id).collect(),
            resources,
            deadline: now.saturating_add(core.config.revocation_notice),
            answer: None,
            enforced: false,
        };
        info!(notice = %notice.id, framework = %notice.framework, %agent,
            owner = %notice.owner, tasks = notice.tasks.len(),
            deadline = ?notice.deadline, "revocation notice");
        core.emit(&notice.framework, notice_event(&notice));
        core.revocations.insert(notice);
    }
}

/// Kills what is left of every notice whose deadline has come, each
/// task with its own KillPolicy grace period.
pub(in crate::master) fn enforce_revocations(core: &mut MasterCore, now: Duration) {
    let due = core.revocations.enforce_due(now);
    for (fw, tasks) in due {
        for task in tasks {
            let live = core
                .tasks
                .get(&fw, &task)
                .is_some_and(|t| !is_terminal(t.state) && !t.is_killing());
            if live {
                info!(framework = %fw, %task, "revocation deadline: killing the task");
                kill::kill_task(core, now, &fw, &task, None);
            }
        }
    }
}

/// Drops ended tasks from the notices, and rescinds each notice whose
/// tasks have all ended.
pub(in crate::master) fn sweep_revocations(core: &mut MasterCore) {
    let tasks = &core.tasks;
    let done = core.revocations.sweep(|fw, t| tasks.is_active(fw, t));
    for (id, fw) in done {
        core.emit(&fw, Event::RescindInverseOffer(id));
    }
}

/// A framework is gone: its notices go with it.
pub(in crate::master) fn forget_revocations(core: &mut MasterCore, fw: &FrameworkId) {
    core.revocations.remove_framework(fw);
}

/// Sends a resubscribed framework its outstanding notices again.
pub(in crate::master) fn resend_revocations(core: &mut MasterCore, fw: &FrameworkId) {
    sweep_revocations(core);
    let events: Vec<Event> = core
        .revocations
        .iter()
        .filter(|n| &n.framework == fw)
        .map(notice_event)
        .collect();
    for event in events {
        core.emit(fw, event);
    }
}

/// Records `fw`'s answer to those of `ids` that are its notices.
pub(in crate::master) fn answer_revocations(
    core: &mut MasterCore,
    fw: &FrameworkId,
    ids: &[OfferId],
    answer: NoticeAnswer,
) {
    for id in ids {
        if core.revocations.answer(fw, id, answer) {
            info!(notice = %id, framework = %fw, ?answer, "revocation notice answered");
        }
    }
}
