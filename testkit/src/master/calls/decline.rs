//! DECLINE: the offers named go back to the allocator with the call's
//! filter, held back from the declining framework at least until the next
//! batch cycle: the event-driven pass a decline makes is for the other
//! frameworks. As in Mesos, a zero filter brings the offer back at the next
//! allocation cycle, not a millisecond later, every millisecond.

use crate::master::books::offers::Retirement;
use crate::master::core::MasterCore;
use crate::master::error::CallError;
use corral::FrameworkId;
use corral::OfferId;
use std::time::Duration;

/// DECLINE: every usable offer is recovered with the call's filter; the
/// others are reported in one `UnknownOffers` error.
/// DECLINE's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decline {
    /// The offers declined.
    pub offers: Vec<OfferId>,
    /// How long their resources are not offered to the framework again.
    pub refuse: Duration,
}

pub(in crate::master) fn decline(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    decline: Decline,
) -> Result<(), CallError> {
    let refuse = decline.refuse.max(core.until_next_cycle(now));
    let mut problems = Vec::new();
    for id in decline.offers {
        if let Err(problem) = core.offers.check(fw, &id) {
            problems.push((id, problem));
            continue;
        }
        if let Some(offer) = core.offers.retire(&id, Retirement::Declined) {
            core.telemetry_mut()
                .offer_declined(now, fw, &offer.role, &id);
            core.recover(now, fw, &offer.agent, &offer.resources, Some(refuse));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CallError::UnknownOffers(problems))
    }
}
