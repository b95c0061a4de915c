//! Agents that come back with work still running on them: after a network
//! partition heals (or a master fails over), an agent re-registers with the
//! tasks it kept running, and the allocator must count them as held by
//! their frameworks from the first moment, or it would offer them twice.

use corral::{AgentId, FrameworkId, Resources};

use super::agents::held_kind;
use super::recover::Parts;
use super::{logged, Allocator, AllocatorError, Holding};

impl Allocator {
    /// Adds `agent` with `total`, of which each framework in `used` already
    /// holds its resources (allocated form: every entry carries the role it
    /// is held under; revocable entries are held as lent). Refused, changing
    /// nothing, when the agent is known, a framework is unknown, an entry
    /// has no allocation role, or the used resources do not fit in `total`.
    pub fn add_agent_in_use(
        &mut self,
        agent: AgentId,
        total: Resources,
        used: &[(FrameworkId, Resources)],
    ) -> Result<(), AllocatorError> {
        for (fw, _) in used {
            self.fw_id(fw)?;
        }
        self.add_agent(agent.clone(), total)?;
        let result = self.take_in_use(&agent, used);
        if result.is_err() {
            // Leave nothing half-added.
            let _ = self.remove_agent(&agent);
        }
        result
    }

    fn take_in_use(
        &mut self,
        agent: &AgentId,
        used: &[(FrameworkId, Resources)],
    ) -> Result<(), AllocatorError> {
        let ix = self.agent_ix(agent)?;
        let mut all: Vec<(super::FwId, Parts)> = Vec::new();
        for (fw, resources) in used {
            let id = self.fw_id(fw)?;
            let not_fitting = || {
                logged(AllocatorError::NotAllocated {
                    framework: fw.clone(),
                    agent: agent.clone(),
                    resources: resources.clone(),
                })
            };
            let parts = self.split(ix, resources).ok_or_else(not_fitting)?;
            all.push((id, parts));
        }
        for (id, parts) in all {
            for ((role, lent, pool), (qty, other)) in parts {
                let Some(state) = self.agents.get_mut(ix).and_then(Option::as_mut) else {
                    continue;
                };
                let counts_free = state.counts_free(pool);
                let p = &mut state.pools[pool];
                if !p.avail.contains(&qty) || !p.other_avail.contains(&other) {
                    let fw = self
                        .framework(id)
                        .map(|f| f.id.clone())
                        .unwrap_or_else(|| FrameworkId::new("?"));
                    return Err(logged(AllocatorError::NotAllocated {
                        framework: fw,
                        agent: agent.clone(),
                        resources: other,
                    }));
                }
                p.avail.sub(&qty);
                let _ = p.other_avail.subtract(&other);
                let kind = held_kind(p, lent);
                match state
                    .holdings
                    .iter_mut()
                    .find(|h| h.fw == id && h.role == role && h.lent == lent && h.pool == pool)
                {
                    Some(h) => {
                        h.qty.add(&qty);
                        h.other += &other;
                    }
                    None => state.holdings.push(Holding {
                        fw: id,
                        role,
                        lent,
                        pool,
                        qty: qty.clone(),
                        other,
                    }),
                }
                if counts_free {
                    self.free_unreserved.sub(&qty);
                }
                if let Some(framework) = self.frameworks.get_mut(id).and_then(Option::as_mut) {
                    framework.held.entry(role).or_default().add(&qty);
                    framework.agents.insert(ix);
                }
                self.roles.add_held(role, &qty, kind);
            }
        }
        Ok(())
    }
}
