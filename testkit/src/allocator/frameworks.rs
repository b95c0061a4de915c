//! Frameworks coming and going, changing roles, connecting and
//! disconnecting, suppressing and reviving offers.

use std::collections::{BTreeMap, BTreeSet};

use corral::{FrameworkId, Role};

use super::agents::held_kind;
use super::{logged, Allocator, AllocatorError, FrameworkSpec, FrameworkState, FwId, RoleId};

impl Allocator {
    /// Adds a framework, active. `spec.suppressed` must be a subset of
    /// `spec.roles` (else [`AllocatorError::UnknownRole`]); role names must
    /// be valid. A framework may subscribe to a role that has child roles.
    pub fn add_framework(
        &mut self,
        fw: FrameworkId,
        spec: FrameworkSpec,
    ) -> Result<(), AllocatorError> {
        if self.framework_index.contains_key(&fw) {
            return Err(logged(AllocatorError::DuplicateFramework(fw)));
        }
        check_spec(&fw, &spec)?;
        let (roles, suppressed) = self.intern_spec(&spec)?;
        let id = self.frameworks.len();
        for role in &roles {
            self.roles.get_mut(*role).frameworks.insert(fw.clone(), id);
        }
        self.frameworks.push(Some(FrameworkState {
            id: fw.clone(),
            spec,
            active: true,
            roles,
            suppressed,
            held: BTreeMap::new(),
            agents: BTreeSet::new(),
        }));
        self.framework_index.insert(fw, id);
        Ok(())
    }

    /// Replaces a framework's roles, suppressed roles and capabilities.
    /// Allocations under roles it leaves stay accounted (and recoverable)
    /// until recovered; its filters for those roles are dropped. Dropping
    /// the revocable capability stops lending to it; what it was lent stays
    /// accounted until recovered.
    pub fn update_framework(
        &mut self,
        fw: &FrameworkId,
        spec: FrameworkSpec,
    ) -> Result<(), AllocatorError> {
        let id = self.fw_id(fw)?;
        check_spec(fw, &spec)?;
        let (roles, suppressed) = self.intern_spec(&spec)?;
        let Some(old) = self.framework(id).map(|f| f.roles.clone()) else {
            return Err(logged(AllocatorError::UnknownFramework(fw.clone())));
        };
        for role in old.difference(&roles) {
            self.roles.get_mut(*role).frameworks.remove(fw);
            self.filters.clear_role(id, *role);
        }
        for role in roles.difference(&old) {
            self.roles.get_mut(*role).frameworks.insert(fw.clone(), id);
        }
        if let Some(state) = self.frameworks.get_mut(id).and_then(Option::as_mut) {
            state.spec = spec;
            state.roles = roles;
            state.suppressed = suppressed;
        }
        Ok(())
    }

    /// Removes a framework and recovers everything still allocated to it,
    /// regular and lent.
    pub fn remove_framework(&mut self, fw: &FrameworkId) -> Result<(), AllocatorError> {
        let id = self.fw_id(fw)?;
        self.framework_index.remove(fw);
        let Some(state) = self.frameworks.get_mut(id).and_then(Option::take) else {
            return Ok(());
        };
        for ix in &state.agents {
            let Some(agent) = self.agents.get_mut(*ix).and_then(Option::as_mut) else {
                continue;
            };
            let (gone, kept) = std::mem::take(&mut agent.holdings)
                .into_iter()
                .partition::<Vec<_>, _>(|h| h.fw == id);
            agent.holdings = kept;
            for h in gone {
                if agent.counts_free(h.pool) {
                    self.free_unreserved.add(&h.qty);
                }
                let pool = &mut agent.pools[h.pool];
                pool.avail.add(&h.qty);
                pool.other_avail += &h.other;
                let kind = held_kind(pool, h.lent);
                self.roles.sub_held(h.role, &h.qty, kind);
            }
        }
        for role in &state.roles {
            self.roles.get_mut(*role).frameworks.remove(fw);
        }
        self.filters.clear_framework(id);
        Ok(())
    }

    /// Marks a framework connected (`true`) or disconnected (`false`). An
    /// inactive framework gets no offers but keeps its allocations and
    /// filters.
    pub fn activate_framework(
        &mut self,
        fw: &FrameworkId,
        active: bool,
    ) -> Result<(), AllocatorError> {
        let id = self.fw_id(fw)?;
        if let Some(state) = self.frameworks.get_mut(id).and_then(Option::as_mut) {
            state.active = active;
        }
        Ok(())
    }

    /// Stops offers to `fw` for `roles` (empty: all its roles) until
    /// revived. A suppressed framework is no implicit demand.
    pub fn suppress(&mut self, fw: &FrameworkId, roles: &[Role]) -> Result<(), AllocatorError> {
        let (id, roles) = self.resolve_roles(fw, roles)?;
        if let Some(state) = self.frameworks.get_mut(id).and_then(Option::as_mut) {
            for (name, role) in roles {
                state.spec.suppressed.insert(name);
                state.suppressed.insert(role);
            }
        }
        Ok(())
    }

    /// Resumes offers to `fw` for `roles` (empty: all its roles): clears
    /// suppression and drops its filters for those roles.
    pub fn revive(&mut self, fw: &FrameworkId, roles: &[Role]) -> Result<(), AllocatorError> {
        let (id, roles) = self.resolve_roles(fw, roles)?;
        for (_, role) in &roles {
            self.filters.clear_role(id, *role);
        }
        if let Some(state) = self.frameworks.get_mut(id).and_then(Option::as_mut) {
            for (name, role) in roles {
                state.spec.suppressed.remove(&name);
                state.suppressed.remove(&role);
            }
        }
        Ok(())
    }

    /// The roles `roles` names for `fw` (all its roles when empty), each
    /// checked to be one of its roles, with their ids.
    fn resolve_roles(
        &self,
        fw: &FrameworkId,
        roles: &[Role],
    ) -> Result<(FwId, Vec<(Role, RoleId)>), AllocatorError> {
        let id = self.fw_id(fw)?;
        let state = self
            .framework(id)
            .ok_or_else(|| logged(AllocatorError::UnknownFramework(fw.clone())))?;
        let names: Vec<Role> = if roles.is_empty() {
            state.spec.roles.iter().cloned().collect()
        } else {
            roles.to_vec()
        };
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            match self.roles.lookup(&name) {
                Some(role) if state.roles.contains(&role) => out.push((name, role)),
                _ => {
                    return Err(logged(AllocatorError::UnknownRole {
                        framework: fw.clone(),
                        role: name,
                    }))
                }
            }
        }
        Ok((id, out))
    }

    /// Validates every role name of `spec`, then interns them.
    fn intern_spec(
        &mut self,
        spec: &FrameworkSpec,
    ) -> Result<(BTreeSet<RoleId>, BTreeSet<RoleId>), AllocatorError> {
        for role in &spec.roles {
            role.validate().map_err(|err| {
                logged(AllocatorError::InvalidRole {
                    role: role.clone(),
                    why: err.to_string(),
                })
            })?;
        }
        let mut roles = BTreeSet::new();
        let mut suppressed = BTreeSet::new();
        for role in &spec.roles {
            let id = self.roles.intern(role).map_err(logged)?;
            roles.insert(id);
            if spec.suppressed.contains(role) {
                suppressed.insert(id);
            }
        }
        Ok((roles, suppressed))
    }
}

/// `suppressed` must be a subset of `roles`.
fn check_spec(fw: &FrameworkId, spec: &FrameworkSpec) -> Result<(), AllocatorError> {
    match spec.suppressed.difference(&spec.roles).next() {
        Some(role) => Err(logged(AllocatorError::UnknownRole {
            framework: fw.clone(),
            role: role.clone(),
        })),
        None => Ok(()),
    }
}
