//! The framework book: every framework's spec, its roles and suppressed
//! roles (as role ids), whether it is connected, and what it holds (scalar
//! sums per role and the agents it holds something on), kept exact by the
//! ledger. Its invariant: the suppressed roles are a subset of the roles
//! (checked when a spec comes in, [`check_spec`]).
//!
//! A removed framework frees its slot: the lowest free slot is reused
//! first and free slots at the end are dropped, so the slots (and every
//! walk over them) are bounded by the frameworks present at the peak, not
//! by every framework ever added.

use std::collections::{BTreeMap, BTreeSet};

use corral::{FrameworkId, Role};

use super::qty::Qty;
use super::types::{logged, AgentIx, AllocatorError, FrameworkSpec, FwId, RoleId};

/// One framework's bookkeeping.
#[derive(Clone, Debug)]
pub(crate) struct FrameworkState {
    id: FrameworkId,
    spec: FrameworkSpec,
    active: bool,
    roles: BTreeSet<RoleId>,
    suppressed: BTreeSet<RoleId>,
    /// Scalar sums of what it holds (regular and lent) per role, roles it
    /// left included until recovered. No zero entries.
    held: BTreeMap<RoleId, Qty>,
    /// Agents where it holds something.
    agents: BTreeSet<AgentIx>,
}

impl FrameworkState {
    /// Its id.
    #[inline]
    pub(crate) fn id(&self) -> &FrameworkId {
        &self.id
    }

    /// Its spec (suppressed roles follow suppress/revive).
    #[inline]
    pub(crate) fn spec(&self) -> &FrameworkSpec {
        &self.spec
    }

    /// Connected.
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        self.active
    }

    /// It has the revocable capability.
    #[inline]
    pub(crate) fn is_revocable(&self) -> bool {
        self.spec.revocable
    }

    /// Its roles.
    #[inline]
    pub(crate) fn roles(&self) -> &BTreeSet<RoleId> {
        &self.roles
    }

    /// Its suppressed roles.
    #[inline]
    pub(crate) fn suppressed(&self) -> &BTreeSet<RoleId> {
        &self.suppressed
    }

    /// What it holds under `role` (regular and lent), if anything.
    #[inline]
    pub(crate) fn held(&self, role: RoleId) -> Option<&Qty> {
        self.held.get(&role)
    }

    /// The roles it holds something under (roles it left included).
    #[inline]
    pub(crate) fn held_roles(&self) -> impl Iterator<Item = RoleId> + '_ {
        self.held.keys().copied()
    }

    /// The agents it holds something on.
    #[inline]
    pub(crate) fn agents(&self) -> &BTreeSet<AgentIx> {
        &self.agents
    }
}

/// Every framework, by slot and by id.
#[derive(Clone, Debug, Default)]
pub(crate) struct FrameworkBook {
    frameworks: Vec<Option<FrameworkState>>,
    index: BTreeMap<FrameworkId, FwId>,
    /// Empty slots below the end of `frameworks`, reused lowest first.
    free: BTreeSet<FwId>,
    /// How many frameworks have the revocable capability (no lending
    /// stage runs without one).
    revocable: usize,
}

impl FrameworkBook {
    /// The slot of `fw`, if known.
    #[inline]
    pub(crate) fn id(&self, fw: &FrameworkId) -> Option<FwId> {
        self.index.get(fw).copied()
    }

    /// The framework in slot `id`, if still there.
    #[inline]
    pub(crate) fn get(&self, id: FwId) -> Option<&FrameworkState> {
        self.frameworks.get(id).and_then(Option::as_ref)
    }

    /// The framework with this id, if known.
    #[inline]
    pub(crate) fn by_id(&self, fw: &FrameworkId) -> Option<&FrameworkState> {
        self.get(self.id(fw)?)
    }

    /// Every framework, by slot.
    #[inline]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &FrameworkState> {
        self.frameworks.iter().flatten()
    }

    /// Every framework's slot, by framework id.
    #[inline]
    pub(crate) fn slots(&self) -> impl Iterator<Item = (&FrameworkId, FwId)> {
        self.index.iter().map(|(k, v)| (k, *v))
    }

    /// Some framework has the revocable capability.
    #[inline]
    pub(crate) fn any_revocable(&self) -> bool {
        self.revocable > 0
    }

    /// How many framework slots there are, empty ones below the last
    /// framework included.
    #[cfg(test)]
    #[inline]
    pub(crate) fn slot_count(&self) -> usize {
        self.frameworks.len()
    }

    #[inline]
    fn state_mut(&mut self, id: FwId) -> Option<&mut FrameworkState> {
        self.frameworks.get_mut(id).and_then(Option::as_mut)
    }

    /// Adds a framework (id not taken: checked by the caller), active,
    /// with its spec and its roles as ids. Returns its slot.
    pub(crate) fn add(
        &mut self,
        fw: FrameworkId,
        spec: FrameworkSpec,
        roles: BTreeSet<RoleId>,
        suppressed: BTreeSet<RoleId>,
    ) -> FwId {
        self.revocable += usize::from(spec.revocable);
        let state = FrameworkState {
            id: fw.clone(),
            spec,
            active: true,
            roles,
            suppressed,
            held: BTreeMap::new(),
            agents: BTreeSet::new(),
        };
        let id = match self.free.pop_first() {
            Some(id) => {
                self.frameworks[id] = Some(state);
                id
            }
            None => {
                self.frameworks.push(Some(state));
                self.frameworks.len() - 1
            }
        };
        self.index.insert(fw, id);
        id
    }

    /// Replaces a framework's spec and roles; returns its old roles.
    pub(crate) fn update(
        &mut self,
        id: FwId,
        spec: FrameworkSpec,
        roles: BTreeSet<RoleId>,
        suppressed: BTreeSet<RoleId>,
    ) -> Option<BTreeSet<RoleId>> {
        let state = self.state_mut(id)?;
        let (was, is) = (state.spec.revocable, spec.revocable);
        state.spec = spec;
        state.suppressed = suppressed;
        let old = std::mem::replace(&mut state.roles, roles);
        self.revocable = self.revocable + usize::from(is) - usize::from(was);
        Some(old)
    }

    /// Removes a framework; returns it (the ledger gives back what it
    /// holds).
    #[inline]
    pub(crate) fn remove(&mut self, fw: &FrameworkId) -> Option<(FwId, FrameworkState)> {
        let id = self.index.remove(fw)?;
        let state = self.frameworks.get_mut(id).and_then(Option::take)?;
        self.revocable -= usize::from(state.spec.revocable);
        self.free.insert(id);
        while self.frameworks.last().is_some_and(Option::is_none) {
            self.frameworks.pop();
            self.free.remove(&self.frameworks.len());
        }
        Some((id, state))
    }

    /// Marks it connected or not.
    #[inline]
    pub(crate) fn set_active(&mut self, id: FwId, active: bool) {
        if let Some(state) = self.state_mut(id) {
            state.active = active;
        }
    }

    /// Suppresses (`true`) or revives (`false`) these of its roles.
    pub(crate) fn set_suppressed(&mut self, id: FwId, roles: Vec<(Role, RoleId)>, on: bool) {
        let Some(state) = self.state_mut(id) else {
            return;
        };
        for (name, role) in roles {
            if on {
                state.spec.suppressed.insert(name);
                state.suppressed.insert(role);
            } else {
                state.spec.suppressed.remove(&name);
                state.suppressed.remove(&role);
            }
        }
    }

    /// It now holds `q` more under `role`, on agent `ix`.
    pub(crate) fn add_held(&mut self, id: FwId, role: RoleId, ix: AgentIx, q: &Qty) {
        let Some(state) = self.state_mut(id) else {
            return;
        };
        let held = state.held.entry(role).or_default();
        held.add(q);
        if held.is_zero() {
            state.held.remove(&role);
        }
        state.agents.insert(ix);
    }

    /// It holds `q` less under `role`; `still_on` says whether it still
    /// holds anything on agent `ix`.
    pub(crate) fn sub_held(
        &mut self,
        id: FwId,
        role: RoleId,
        ix: AgentIx,
        q: &Qty,
        still_on: bool,
    ) {
        let Some(state) = self.state_mut(id) else {
            return;
        };
        if let Some(held) = state.held.get_mut(&role) {
            held.sub(q);
            if held.is_zero() {
                state.held.remove(&role);
            }
        }
        if !still_on {
            state.agents.remove(&ix);
        }
    }

    /// Checks the held sums and agent sets against recomputations from the
    /// agents' holdings (consumed: what is left names unknown frameworks),
    /// and the suppressed roles against the roles.
    pub(crate) fn check_invariants(
        &self,
        mut held: BTreeMap<FwId, BTreeMap<RoleId, Qty>>,
        mut agents: BTreeMap<FwId, BTreeSet<AgentIx>>,
    ) -> Result<(), String> {
        for (id, &f) in &self.index {
            let fw = self.get(f).ok_or(format!("framework {id}: empty slot"))?;
            let want = held.remove(&f).unwrap_or_default();
            if want != fw.held {
                return Err(format!("framework {id}: sums {:?} != {want:?}", fw.held));
            }
            if agents.remove(&f).unwrap_or_default() != fw.agents {
                return Err(format!("framework {id}: agent set out of date"));
            }
            if !fw.suppressed.is_subset(&fw.roles) {
                return Err(format!("framework {id}: suppressed roles not subscribed"));
            }
        }
        if !held.is_empty() || !agents.is_empty() {
            return Err("holdings of unknown frameworks".into());
        }
        if self.iter().filter(|f| f.is_revocable()).count() != self.revocable {
            return Err("revocable frameworks miscounted".into());
        }
        let empty = self.frameworks.iter().filter(|f| f.is_none()).count();
        if self.index.len() + empty != self.frameworks.len()
            || self.free.len() != empty
            || self.frameworks.last().is_some_and(Option::is_none)
        {
            return Err("framework slots out of date".into());
        }
        Ok(())
    }
}

/// `suppressed` must be a subset of `roles`.
pub(crate) fn check_spec(fw: &FrameworkId, spec: &FrameworkSpec) -> Result<(), AllocatorError> {
    match spec.suppressed.difference(&spec.roles).next() {
        Some(role) => Err(logged(AllocatorError::UnknownRole {
            framework: fw.clone(),
            role: role.clone(),
        })),
        None => Ok(()),
    }
}
