//! The offer book: every outstanding offer (framework, agent, role,
//! resources, expiry) and what became of the offers that are gone, so a
//! reused offer id is told apart from one that never existed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::time::Duration;

use corral::{AgentId, FrameworkId, OfferId, Resources, Role};

/// How many retired offer ids are remembered (oldest forgotten first).
const RETIRED_MEMORY: usize = 65_536;

/// One outstanding offer.
#[derive(Clone, Debug, PartialEq)]
pub struct OfferRecord {
    /// The offer's id.
    pub id: OfferId,
    /// Who it was made to.
    pub framework: FrameworkId,
    /// Where its resources are.
    pub agent: AgentId,
    /// The role it is allocated to.
    pub role: Role,
    /// Its resources, each entry allocated to `role`.
    pub resources: Resources,
    /// When it is rescinded if still unused.
    pub expires_at: Option<Duration>,
}

/// What ended an offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retirement {
    /// Named in an ACCEPT (valid or not).
    Accepted,
    /// Named in a DECLINE.
    Declined,
    /// Rescinded by the master (timeout, role removed, teardown).
    Rescinded,
    /// Taken back silently because the framework disconnected or failed over.
    Withdrawn,
}

/// Why an offer id cannot be used in a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OfferProblem {
    /// The master never made this offer (or forgot it long ago).
    Unknown,
    /// The offer was made to another framework.
    OtherFramework,
    /// The offer was already accepted.
    Accepted,
    /// The offer was already declined.
    Declined,
    /// The offer was rescinded.
    Rescinded,
    /// The offer was withdrawn when the framework disconnected or resubscribed.
    Withdrawn,
    /// The call names the offer more than once.
    Repeated,
    /// The offer is on another agent than the call's first offer.
    OtherAgent {
        /// The first offer's agent.
        expected: AgentId,
    },
    /// The offer is allocated to another role than the call's first offer.
    OtherRole {
        /// The first offer's role.
        expected: Role,
    },
}

impl fmt::Display for OfferProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OfferProblem::Unknown => f.write_str("is unknown"),
            OfferProblem::OtherFramework => f.write_str("belongs to another framework"),
            OfferProblem::Accepted => f.write_str("was already accepted"),
            OfferProblem::Declined => f.write_str("was already declined"),
            OfferProblem::Rescinded => f.write_str("was rescinded"),
            OfferProblem::Withdrawn => f.write_str("was withdrawn when the framework disconnected"),
            OfferProblem::Repeated => f.write_str("is named more than once"),
            OfferProblem::OtherAgent { expected } => {
                write!(f, "is on another agent than {expected}")
            }
            OfferProblem::OtherRole { expected } => {
                write!(f, "is allocated to another role than {expected}")
            }
        }
    }
}

impl From<Retirement> for OfferProblem {
    fn from(why: Retirement) -> Self {
        match why {
            Retirement::Accepted => OfferProblem::Accepted,
            Retirement::Declined => OfferProblem::Declined,
            Retirement::Rescinded => OfferProblem::Rescinded,
            Retirement::Withdrawn => OfferProblem::Withdrawn,
        }
    }
}

/// The offers the master has out, and the recent ones it took back.
#[derive(Debug, Default)]
pub struct OfferBook {
    outstanding: BTreeMap<OfferId, OfferRecord>,
    retired: BTreeMap<OfferId, (FrameworkId, Retirement)>,
    retired_order: VecDeque<OfferId>,
    /// Outstanding offers by expiry time.
    expiries: BTreeSet<(Duration, OfferId)>,
    /// Agents whose offers changed since [`OfferBook::take_touched`].
    touched: BTreeSet<AgentId>,
    counter: u64,
}

impl OfferBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh offer id, `offer-<n>`.
    pub fn next_id(&mut self) -> OfferId {
        self.counter += 1;
        OfferId::new(format!("offer-{}", self.counter))
    }

    /// Records a new outstanding offer.
    pub fn insert(&mut self, offer: OfferRecord) {
        if let Some(at) = offer.expires_at {
            self.expiries.insert((at, offer.id.clone()));
        }
        self.touched.insert(offer.agent.clone());
        self.outstanding.insert(offer.id.clone(), offer);
    }

    /// Takes the agents whose offers changed since the last call.
    pub fn take_touched(&mut self) -> BTreeSet<AgentId> {
        std::mem::take(&mut self.touched)
    }

    /// The outstanding offer `id` if `framework` may use it.
    pub fn check(
        &self,
        framework: &FrameworkId,
        id: &OfferId,
    ) -> Result<&OfferRecord, OfferProblem> {
        if let Some(offer) = self.outstanding.get(id) {
            return if &offer.framework == framework {
                Ok(offer)
            } else {
                Err(OfferProblem::OtherFramework)
            };
        }
        match self.retired.get(id) {
            Some((owner, _)) if owner != framework => Err(OfferProblem::OtherFramework),
            Some((_, why)) => Err((*why).into()),
            None => Err(OfferProblem::Unknown),
        }
    }

    /// Checks the offers of one ACCEPT: each usable by `framework`, none
    /// repeated, all on one agent and allocated to one role. Returns the
    /// usable offers and the problems (empty when the set is valid).
    pub fn check_set(
        &self,
        framework: &FrameworkId,
        ids: &[OfferId],
    ) -> (Vec<OfferRecord>, Vec<(OfferId, OfferProblem)>) {
        let mut valid: Vec<OfferRecord> = Vec::new();
        let mut problems = Vec::new();
        for id in ids {
            if valid.iter().any(|o| &o.id == id) || problems.iter().any(|(p, _)| p == id) {
                problems.push((id.clone(), OfferProblem::Repeated));
                continue;
            }
            match self.check(framework, id) {
                Err(problem) => problems.push((id.clone(), problem)),
                Ok(offer) => match valid.first() {
                    Some(first) if first.agent != offer.agent => problems.push((
                        id.clone(),
                        OfferProblem::OtherAgent {
                            expected: first.agent.clone(),
                        },
                    )),
                    Some(first) if first.role != offer.role => problems.push((
                        id.clone(),
                        OfferProblem::OtherRole {
                            expected: first.role.clone(),
                        },
                    )),
                    _ => valid.push(offer.clone()),
                },
            }
        }
        (valid, problems)
    }

    /// Removes an outstanding offer, remembering why; `None` if it was not
    /// outstanding.
    pub fn retire(&mut self, id: &OfferId, why: Retirement) -> Option<OfferRecord> {
        let offer = self.outstanding.remove(id)?;
        if let Some(at) = offer.expires_at {
            self.expiries.remove(&(at, id.clone()));
        }
        self.touched.insert(offer.agent.clone());
        self.retired
            .insert(id.clone(), (offer.framework.clone(), why));
        self.retired_order.push_back(id.clone());
        while self.retired_order.len() > RETIRED_MEMORY {
            if let Some(old) = self.retired_order.pop_front() {
                self.retired.remove(&old);
            }
        }
        Some(offer)
    }

    /// The outstanding offer `id`.
    pub fn get(&self, id: &OfferId) -> Option<&OfferRecord> {
        self.outstanding.get(id)
    }

    /// Ids of the offers outstanding for `framework` (optionally only those
    /// allocated to `role`), in id order.
    pub fn of_framework(&self, framework: &FrameworkId, role: Option<&Role>) -> Vec<OfferId> {
        self.outstanding
            .values()
            .filter(|o| &o.framework == framework && role.is_none_or(|r| &o.role == r))
            .map(|o| o.id.clone())
            .collect()
    }

    /// Ids of the offers whose timeout has passed at `now`.
    pub fn expired(&self, now: Duration) -> Vec<OfferId> {
        self.expiries
            .iter()
            .take_while(|(at, _)| *at <= now)
            .map(|(_, id)| id.clone())
            .collect()
    }

    /// The earliest offer timeout: O(log n).
    pub fn next_expiry(&self) -> Option<Duration> {
        self.expiries.first().map(|(at, _)| *at)
    }

    /// Ids of the offers outstanding on `agent`, in id order.
    pub fn on_agent(&self, agent: &AgentId) -> Vec<OfferId> {
        self.outstanding
            .values()
            .filter(|o| &o.agent == agent)
            .map(|o| o.id.clone())
            .collect()
    }

    /// Every outstanding offer, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &OfferRecord> {
        self.outstanding.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(book: &mut OfferBook, fw: &str, agent: &str, role: &str) -> OfferId {
        let id = book.next_id();
        book.insert(OfferRecord {
            id: id.clone(),
            framework: FrameworkId::new(fw),
            agent: AgentId::new(agent),
            role: Role::new(role),
            resources: Resources::new().with_cpus(1.0),
            expires_at: Some(Duration::from_secs(60)),
        });
        id
    }

    #[test]
    fn check_tells_problems_apart() {
        let mut book = OfferBook::new();
        let fw = FrameworkId::new("f1");
        let a = offer(&mut book, "f1", "a1", "r");
        let b = offer(&mut book, "f2", "a1", "r");
        assert!(book.check(&fw, &a).is_ok());
        assert_eq!(book.check(&fw, &b), Err(OfferProblem::OtherFramework));
        assert_eq!(
            book.check(&fw, &OfferId::new("nope")),
            Err(OfferProblem::Unknown)
        );
        assert!(book.retire(&a, Retirement::Accepted).is_some());
        assert_eq!(book.check(&fw, &a), Err(OfferProblem::Accepted));
        assert!(
            book.retire(&a, Retirement::Declined).is_none(),
            "retired once"
        );
    }

    #[test]
    fn check_set_wants_one_agent_one_role_no_repeats() {
        let mut book = OfferBook::new();
        let fw = FrameworkId::new("f1");
        let a = offer(&mut book, "f1", "a1", "r");
        let b = offer(&mut book, "f1", "a2", "r");
        let c = offer(&mut book, "f1", "a1", "s");
        let d = offer(&mut book, "f1", "a1", "r");
        let (valid, problems) = book.check_set(&fw, &[a.clone(), d.clone()]);
        assert_eq!((valid.len(), problems.len()), (2, 0));
        let (valid, problems) = book.check_set(&fw, &[a.clone(), b, c, a]);
        assert_eq!(valid.len(), 1);
        let kinds: Vec<_> = problems.into_iter().map(|(_, p)| p).collect();
        assert!(matches!(kinds[0], OfferProblem::OtherAgent { .. }));
        assert!(matches!(kinds[1], OfferProblem::OtherRole { .. }));
        assert_eq!(kinds[2], OfferProblem::Repeated);
    }

    #[test]
    fn expiry_is_tracked() {
        let mut book = OfferBook::new();
        let a = offer(&mut book, "f1", "a1", "r");
        assert_eq!(book.next_expiry(), Some(Duration::from_secs(60)));
        assert!(book.expired(Duration::from_secs(59)).is_empty());
        assert_eq!(book.expired(Duration::from_secs(60)), vec![a]);
    }
}
