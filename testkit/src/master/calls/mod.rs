//! The call handlers: one file per call, each a function over the core's
//! books, reached from the dispatcher in `api.rs` (`MasterCore::handle`,
//! `MasterCore::subscribe`) after the stream check. Only calls and processes
//! (`processes/`) touch more than one book.

pub mod accept;
pub mod acknowledge;
pub mod decline;
pub mod inverse_offers;
pub mod kill;
pub mod reconcile;
pub mod request;
pub mod subscribe;
pub mod suppress_revive;
pub mod teardown;
pub mod update_framework;

use crate::master::core::MasterCore;
use crate::master::error::CallError;
use corral::FrameworkId;

pub(in crate::master) fn record<'a>(
    core: &'a MasterCore,
    fw: &FrameworkId,
) -> Result<&'a crate::master::books::frameworks::FrameworkRecord, CallError> {
    core.frameworks
        .get(fw)
        .ok_or_else(|| CallError::NotSubscribed {
            framework: fw.clone(),
        })
}
