//! Agents that come back with work still running on them: after a network
//! partition heals (or a master fails over), an agent re-registers with the
//! tasks it kept running, and the allocator must count them as held by
//! their frameworks from the first moment, or it would offer them twice.

use std::collections::BTreeMap;

use corral::{AgentId, FrameworkId, Resources, Role};

use super::{Allocator, AllocatorError};

impl Allocator {
    /// Adds `agent` with `total`, of which each framework in `used` already
    /// holds its resources (allocated form: every entry carries the role it
    /// is held under). Refused, changing nothing, when the agent is known,
    /// a framework is unknown, an entry has no allocation role, or the used
    /// resources do not fit in `total`.
    pub fn add_agent_in_use(
        &mut self,
        agent: AgentId,
        total: Resources,
        used: &[(FrameworkId, Resources)],
    ) -> Result<(), AllocatorError> {
        if self.agents.contains_key(&agent) {
            return Err(AllocatorError::DuplicateAgent(agent));
        }
        let mut parts: Vec<(FrameworkId, Role, Resources)> = Vec::new();
        let mut sum = Resources::new();
        for (fw, resources) in used {
            if !self.frameworks.contains_key(fw) {
                return Err(AllocatorError::UnknownFramework(fw.clone()));
            }
            let mut by_role: BTreeMap<Role, Resources> = BTreeMap::new();
            for entry in resources.iter() {
                let Some(role) = entry.allocation.clone() else {
                    return Err(AllocatorError::NotAllocated {
                        framework: fw.clone(),
                        agent: agent.clone(),
                        resources: resources.clone(),
                    });
                };
                let mut plain = entry.clone();
                plain.allocation = None;
                by_role.entry(role).or_default().push(plain);
            }
            for (role, resources) in by_role {
                sum += &resources;
                parts.push((fw.clone(), role, resources));
            }
        }
        if !total.unallocated().contains(&sum) {
            return Err(AllocatorError::NotAllocated {
                framework: parts
                    .first()
                    .map(|(fw, _, _)| fw.clone())
                    .unwrap_or_else(|| FrameworkId::new("")),
                agent,
                resources: sum,
            });
        }
        self.add_agent(agent.clone(), total)?;
        for (fw, role, resources) in parts {
            let Some(state) = self.agents.get_mut(&agent) else {
                continue;
            };
            if state.available.subtract(&resources).is_err() {
                // Checked above; unreachable unless the books disagree.
                tracing::error!(%agent, %fw, "rejoining agent: used resources vanished");
                continue;
            }
            *state
                .allocations
                .entry(fw.clone())
                .or_default()
                .entry(role.clone())
                .or_default() += &resources;
            if let Some(framework) = self.frameworks.get_mut(&fw) {
                framework
                    .allocated
                    .entry(role.clone())
                    .or_default()
                    .add_resources(&resources);
                framework.agents.insert(agent.clone());
            }
            self.roles
                .entry(role)
                .or_default()
                .allocated
                .add_resources(&resources);
        }
        Ok(())
    }
}
