//! Agents that come back with work still running on them: after a network
//! partition heals (or a master fails over), an agent re-registers with the
//! tasks it kept running, and the allocator must count them as held by
//! their frameworks from the first moment, or it would offer them twice.
//! The agent is added as usual by the caller; this process then books what
//! each framework holds there through the ledger.

use corral::{AgentId, FrameworkId, Resources};

use super::ledger::Ledger;
use super::qty::Names;
use super::recover::{slot, split, Parts};
use super::types::{logged, AllocatorError, FwId};

/// Books `used` (allocated form, per framework) on the just-added `agent`.
/// Nothing is booked on `Err`: the caller then removes the agent.
pub(crate) fn take_in_use(
    mut ledger: Ledger<'_>,
    names: &Names,
    agent: &AgentId,
    used: &[(FrameworkId, Resources)],
) -> Result<(), AllocatorError> {
    let ix = ledger
        .agents
        .ix(agent)
        .ok_or_else(|| logged(AllocatorError::UnknownAgent(agent.clone())))?;
    let state = ledger
        .agents
        .get(ix)
        .ok_or_else(|| logged(AllocatorError::UnknownAgent(agent.clone())))?;
    let mut all: Vec<(FwId, Parts)> = Vec::new();
    // What the frameworks take so far, per pool: the used resources must
    // fit together.
    let mut taken: Parts = Parts::new();
    for (fw, resources) in used {
        let id = ledger
            .frameworks
            .id(fw)
            .ok_or_else(|| logged(AllocatorError::UnknownFramework(fw.clone())))?;
        let not_fitting = |resources: Resources| {
            logged(AllocatorError::NotAllocated {
                framework: fw.clone(),
                agent: agent.clone(),
                resources,
            })
        };
        let parts = split(state, ledger.roles, names, resources)
            .ok_or_else(|| not_fitting(resources.clone()))?;
        for ((_, _, pool), (qty, other)) in &parts {
            let (q, o) = taken.entry((0, false, *pool)).or_default();
            q.add(qty);
            *o += other;
            if !state.has_free(*pool, q, o) {
                return Err(not_fitting(other.clone()));
            }
        }
        all.push((id, parts));
    }
    for (id, parts) in all {
        for (key, (qty, other)) in parts {
            ledger.hold(ix, slot(id, key), &qty, &other);
        }
    }
    Ok(())
}
