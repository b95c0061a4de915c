//! Demand-driven provisioning: how many agents each label needs now, and
//! which of them an offer can hold. Pure functions of the queue, the pool
//! and the templates, so every decision is tested without a master.
//!
//! A label needs an agent for each queued build that no idle or launching
//! agent will take, within its own cap and what is left of the total cap
//! (labels are served in the order their first build waits). An offer gets
//! as many of those agents as fit, from its regular or revocable part as
//! the label's template allows; an offer that gets none is declined with
//! the long filter, and when no label needs anything the framework
//! suppresses offers altogether.

use corral::{Offer, Resources};

use crate::config::{JobsFile, Revocable};
use crate::pool::Pool;
use crate::queue::Builds;

/// Agents to launch, per label, in the order the labels' builds wait.
pub type Demand = Vec<(String, usize)>;

/// What each label needs now, capped.
pub fn demand(file: &JobsFile, builds: &Builds, pool: &Pool) -> Demand {
    let waiting = builds.waiting_per_label();
    let mut room_total = file.cloud.max_agents.saturating_sub(pool.live_total());
    let mut out = Vec::new();
    for label in builds.labels_in_queue_order() {
        let Some(template) = file.templates.get(label) else {
            continue; // refused at trigger; never queued
        };
        let want = waiting
            .get(label)
            .copied()
            .unwrap_or(0)
            .saturating_sub(pool.coming_or_idle(label));
        let room = template.max_agents.saturating_sub(pool.live(label));
        let n = want.min(room).min(room_total);
        room_total -= n;
        if n > 0 {
            out.push((label.to_owned(), n));
        }
    }
    out
}

/// True when some label needs an agent.
pub fn wants_agents(demand: &Demand) -> bool {
    demand.iter().any(|(_, n)| *n > 0)
}

/// One agent an offer will hold.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    /// Its label.
    pub label: String,
    /// The resources its task asks for (marked revocable when borrowed).
    pub resources: Resources,
    /// True when on revocable resources.
    pub revocable: bool,
}

/// The agents `offer` can hold, taken from `demand` (which is decreased),
/// labels in order.
pub fn plan_offer(offer: &Offer, demand: &mut Demand, file: &JobsFile) -> Vec<Planned> {
    let mut regular = offer.regular();
    let mut lent = offer.revocable();
    let mut out = Vec::new();
    for (label, need) in demand.iter_mut() {
        let Some(template) = file.templates.get(label.as_str()) else {
            continue;
        };
        if !template.accepts_agent(offer) {
            continue;
        }
        let needs = template.resources();
        while *need > 0 {
            let borrowed = needs.revocable();
            let from_lent = matches!(template.revocable, Revocable::Allowed | Revocable::Only)
                && lent.contains(&borrowed);
            let from_regular = template.revocable != Revocable::Only && regular.contains(&needs);
            let (resources, revocable) = if from_lent {
                lent = lent.checked_sub(&borrowed).unwrap_or_default();
                (borrowed, true)
            } else if from_regular {
                regular = regular.checked_sub(&needs).unwrap_or_default();
                (needs.clone(), false)
            } else {
                break;
            };
            *need -= 1;
            out.push(Planned {
                label: label.clone(),
                resources,
                revocable,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use tokio::time::Instant;

    use super::*;
    use crate::pool::AgentState;

    fn file() -> JobsFile {
        JobsFile::parse(
            "cloud: { max_agents: 5 }\n\
             templates:\n\
             \x20 linux: { cpus: 1, mem: 256, max_agents: 3, constraints: { os: linux } }\n\
             \x20 spot: { cpus: 1, mem: 256, max_agents: 4, revocable: only }\n\
             \x20 any: { cpus: 1, mem: 256, max_agents: 4, revocable: allowed }\n\
             jobs:\n\
             \x20 - { name: l, label: linux, steps: [ { sh: 'true' } ] }\n\
             \x20 - { name: s, label: spot, steps: [ { sh: 'true' } ] }\n\
             \x20 - { name: a, label: any, steps: [ { sh: 'true' } ] }\n",
        )
        .unwrap()
    }

    fn queue(jobs: &[(&str, &str)]) -> Builds {
        let mut builds = Builds::default();
        for (job, label) in jobs {
            builds.trigger(job, label, BTreeMap::new(), Instant::now());
        }
        builds
    }

    fn offer(regular: f64, lent: f64) -> Offer {
        let mut offer = Offer::new(
            "o1",
            "a1",
            Resources::new().with_cpus(regular).with_mem(4096.0),
        )
        .with_role("ci")
        .with_attribute("os", "linux");
        if lent > 0.0 {
            let borrowed = Resources::new()
                .with_cpus(lent)
                .with_mem(4096.0)
                .revocable()
                .allocated_to(&offer.role);
            for r in borrowed.iter() {
                offer.resources.push(r.clone());
            }
        }
        offer
    }

    #[tokio::test(start_paused = true)]
    async fn demand_is_capped_per_label_then_in_total_in_queue_order() {
        let builds = queue(&[("l", "linux"); 10]);
        assert_eq!(
            demand(&file(), &builds, &Pool::default()),
            vec![("linux".into(), 3)]
        );
        let mut mixed = queue(&[("s", "spot"); 10]);
        mixed.trigger("l", "linux", BTreeMap::new(), Instant::now());
        assert_eq!(
            demand(&file(), &mixed, &Pool::default()),
            vec![("spot".into(), 4), ("linux".into(), 1)],
            "spot waited first and takes 4 of the 5"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn idle_and_launching_agents_are_counted_as_supply() {
        let builds = queue(&[("l", "linux"); 2]);
        let mut pool = Pool::default();
        let t = pool.next_task_id("linux");
        pool.launched(t.clone(), "linux", "a1".into(), false);
        assert_eq!(demand(&file(), &builds, &pool), vec![("linux".into(), 1)]);
        pool.get_mut(&t).unwrap().state = AgentState::Stopping;
        assert_eq!(
            demand(&file(), &builds, &pool),
            vec![("linux".into(), 2)],
            "a stopping agent takes no build but still holds its slot"
        );
        assert!(!wants_agents(&demand(&file(), &Builds::default(), &pool)));
    }

    #[test]
    fn an_offer_holds_what_fits_and_honours_constraints_and_revocability() {
        let f = file();
        let mut d: Demand = vec![("linux".into(), 3), ("spot".into(), 3)];
        let planned = plan_offer(&offer(2.0, 1.0), &mut d, &f);
        let got: Vec<(&str, bool)> = planned
            .iter()
            .map(|p| (p.label.as_str(), p.revocable))
            .collect();
        assert_eq!(
            got,
            vec![("linux", false), ("linux", false), ("spot", true)]
        );
        assert_eq!(d, vec![("linux".into(), 1), ("spot".into(), 2)]);

        // An agent without the attribute gets no linux agent; spot needs
        // revocable resources and there are none: nothing fits.
        let mut bare = Offer::new("o2", "a2", Resources::new().with_cpus(8.0).with_mem(4096.0));
        bare.role = "ci".into();
        assert!(plan_offer(&bare, &mut d, &f).is_empty());
    }

    #[test]
    fn allowed_prefers_borrowed_resources_then_falls_back_to_regular() {
        let mut d: Demand = vec![("any".into(), 2)];
        let planned = plan_offer(&offer(1.0, 1.0), &mut d, &file());
        let kinds: Vec<bool> = planned.iter().map(|p| p.revocable).collect();
        assert_eq!(kinds, vec![true, false]);
        assert!(planned[0].resources.iter().all(|r| r.revocable));
    }
}
