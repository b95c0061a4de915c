//! The processes that span books: allocation (one OFFERS event per
//! framework per cycle), reclaim (revocation notices and their
//! enforcement), maintenance (windows, draining) and its inverse offers,
//! agent loss and return, and local tasks. Each is a set of functions over
//! the core's books, started from the entry points in `api.rs` (timers,
//! operations) or by a call handler. Only calls (`calls/`) and processes
//! touch more than one book.

pub mod agent_loss;
pub mod allocation;
pub mod local_tasks;
pub mod maintenance;
pub mod maintenance_offers;
pub mod reclaim;
pub mod schedule;
