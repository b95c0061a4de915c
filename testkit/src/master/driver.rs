//! The one driver loop of the master: how a [`MasterCore`]'s owner feeds it
//! and carries out what it asks. There are two owners, the gRPC server's
//! actor (`server.rs`, on tokio's clock, effects onto bounded queues) and
//! the harness's engine (`crate::harness`, on virtual time, effects onto
//! the simulated wire); they differ in how they wait and where an effect
//! goes, and share everything else through [`step`].
//!
//! One step, in order:
//!
//! 1. **The input**, a closure over the owner and `now`: a call, a
//!    subscription, a dropped stream, a local agent's report, an operator
//!    request, an injected fault, or the timers ([`run_timers`]).
//! 2. **Work the input asked for soon**: the allocation pass, if one is due
//!    now (`processes::allocation::allocate_if_due`). The core decides when
//!    (resources the input freed make a pass due at once, or 1 ms after
//!    the previous pass: `processes::schedule`); here it runs once per
//!    step, after whatever the input changed, so its offers go out in the
//!    same step, for both owners. A pass due later is a timer like any
//!    other.
//! 3. **The effects**, [`drain`]: the core's one effect list, taken and
//!    handed to the owner one by one, in order, until it stays empty. An
//!    event the owner cannot deliver because its subscriber stopped reading
//!    ([`Delivery::SlowReader`]) disconnects that stream in the core, and
//!    the effects of that are drained in the same loop.
//! 4. **The owner's check**, [`Owner::settled`] (the harness checks the
//!    invariants of what changed).

use std::time::Duration;

use super::core::MasterCore;
use super::effects::{Event, Outgoing, StreamId};
use super::processes::allocation;
use crate::agent::AgentOrder;

/// What became of an event handed to the owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Delivered, held or lost on the way: nothing for the core to do.
    Done,
    /// The subscriber stopped reading (its bounded queue is full): the
    /// owner has dropped the stream, the core disconnects its framework.
    SlowReader,
}

/// The owner of a core: where its effects go.
pub(crate) trait Owner {
    /// The core it owns.
    fn core(&mut self) -> &mut MasterCore;

    /// Puts `event` on `stream` (encoding it for its wire:
    /// [`encode`](super::outbox::encode)).
    fn deliver(&mut self, now: Duration, stream: StreamId, event: Event) -> Delivery;

    /// Ends `stream` after what was delivered on it.
    fn close(&mut self, stream: StreamId);

    /// Carries out an order for a local agent.
    fn order(&mut self, now: Duration, order: AgentOrder);

    /// Runs once the step's effects are drained.
    fn settled(&mut self, _now: Duration) {}
}

/// One step of the loop (see the module docs): `input` at `now`, then the
/// effects drained, then the owner's check. Returns what `input` returned.
pub(crate) fn step<O: Owner, T>(
    owner: &mut O,
    now: Duration,
    input: impl FnOnce(&mut O, Duration) -> T,
) -> T {
    let out = input(owner, now);
    allocation::allocate_if_due(owner.core(), now);
    drain(owner, now);
    owner.settled(now);
    out
}

/// Runs the core's timers if one is due at `now`. `true` when a timer is
/// still due after the tick: work the tick left for the same instant (a
/// kill with no cleanup time), or, if it stays so, a timer the core does
/// not serve (a bug the owner must not spin on).
pub(crate) fn run_timers(core: &mut MasterCore, now: Duration) -> bool {
    if core.next_deadline().is_some_and(|d| d <= now) {
        core.tick(now);
    }
    core.next_deadline().is_some_and(|d| d <= now)
}

/// Hands the core's effects to `owner`, in order, until there are none.
pub(crate) fn drain<O: Owner>(owner: &mut O, now: Duration) {
    loop {
        let effects = owner.core().take_outbox();
        if effects.is_empty() {
            return;
        }
        for effect in effects {
            match effect {
                Outgoing::Event { stream, event } => {
                    if owner.deliver(now, stream.clone(), *event) == Delivery::SlowReader {
                        owner.core().disconnect(now, &stream);
                    }
                }
                Outgoing::Close { stream } => owner.close(stream),
                Outgoing::Order(order) => owner.order(now, *order),
            }
        }
    }
}
