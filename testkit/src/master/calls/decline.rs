//! DECLINE: the offers named go back to the allocator with the call's
//! filter.

use crate::master::books::offers::Retirement;
use crate::master::core::MasterCore;
use crate::master::error::CallError;
use crate::master::validate;
use corral::FrameworkId;
use corral::OfferId;
use corral_proto::pb;
use std::time::Duration;

/// DECLINE: every usable offer is recovered with the call's filter; the
/// others are reported in one `UnknownOffers` error.
pub(in crate::master) fn decline(
    core: &mut MasterCore,
    now: Duration,
    fw: &FrameworkId,
    decline: pb::call::Decline,
) -> Result<(), CallError> {
    let refuse = validate::refuse_filter(decline.filters.as_ref());
    let mut problems = Vec::new();
    for id in decline.offer_ids.iter().map(OfferId::from) {
        if let Err(problem) = core.offers.check(fw, &id) {
            problems.push((id, problem));
            continue;
        }
        if let Some(offer) = core.offers.retire(&id, Retirement::Declined) {
            core.recover(now, fw, &offer.agent, &offer.resources, Some(refuse));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CallError::UnknownOffers(problems))
    }
}
