//! ACCEPT_INVERSE_OFFERS and DECLINE_INVERSE_OFFERS: answers to revocation
//! notices and to maintenance inverse offers.

use crate::master::books::revocations::NoticeAnswer;
use crate::master::core::MasterCore;
use crate::master::error::CallError;
use crate::master::processes::maintenance_offers;
use crate::master::processes::reclaim;
use corral::FrameworkId;
use corral::OfferId;

/// ACCEPT/DECLINE_INVERSE_OFFERS: answers to revocation notices are
/// recorded; other ids must be the framework's maintenance inverse
/// offers.
pub(in crate::master) fn inverse_offer_answer(
    core: &mut MasterCore,
    fw: &FrameworkId,
    ids: Vec<OfferId>,
    accept: bool,
) -> Result<(), CallError> {
    let answer = if accept {
        NoticeAnswer::Releasing
    } else {
        NoticeAnswer::Keeping
    };
    // Every id is checked before any answer is recorded.
    let unknown: Vec<OfferId> = ids
        .iter()
        .filter(|id| {
            let notice = core.revocations.get(id).is_some_and(|n| &n.framework == fw);
            !notice && !maintenance_offers::is_maintenance_offer_of(core, fw, id)
        })
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(CallError::UnknownInverseOffers(unknown));
    }
    reclaim::answer_revocations(core, fw, &ids, answer);
    maintenance_offers::answer_maintenance(core, fw, &ids, accept);
    Ok(())
}
