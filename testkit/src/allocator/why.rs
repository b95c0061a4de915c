//! Why a framework gets nothing under a role: the cycle's own decision
//! (`View::offer_for`, through the same `AgentVisitor` the cycle walks
//! its tree with) asked for that one framework and role on each agent,
//! read-only; then asked again without the framework's filters and
//! without the minimum allocatable quantities, to tell which of them
//! made it skip. Nothing here changes a book; the cycle never calls it.

use std::time::Duration;

use corral::{AgentId, FrameworkId, Role};

use super::filters::Filters;
use super::hierarchy::Hierarchy;
use super::offer::{AgentVisitor, CycleCtx, Stage, View};
use super::qty::{inverse, Qty};
use super::tree::{Visit, Visitor};
use super::Allocator;

/// Why nothing of one agent goes to the framework under the role.
#[derive(Clone, Debug, PartialEq)]
pub enum AgentVerdict {
    /// The cycle would offer something here now (the framework waits its
    /// turn: roles and frameworks with smaller shares come first, or the
    /// next cycle has not run yet).
    WouldOffer,
    /// The agent is drained (maintenance): offered to nobody.
    Inactive,
    /// A filter (a decline's `refuse_seconds`) holds it back until then.
    Filtered {
        /// When the latest matching filter expires (allocator time).
        until: Duration,
    },
    /// What is left on the agent does not hold any of the minimum
    /// allocatable quantities.
    BelowMinAllocatable,
    /// Nothing usable is free on the agent: held by others (or by this
    /// framework already).
    Held,
}

/// The allocator's answer for one framework and role.
#[derive(Clone, Debug, PartialEq)]
pub enum WhyNot {
    /// The framework is unknown to the allocator.
    UnknownFramework,
    /// The framework is not subscribed with the role.
    NotItsRole,
    /// The framework is inactive (disconnected).
    Inactive,
    /// The framework suppressed the role.
    Suppressed,
    /// The role (or an ancestor) is at its quota limit.
    RoleAtLimit,
    /// Per agent (by id), what the cycle decides.
    Agents(Vec<(AgentId, AgentVerdict)>),
}

/// Why `fw` gets nothing under `role` at `now` from `alloc`; see the
/// module docs ([`Allocator::why_not`] is the entry point).
pub(crate) fn why_not(alloc: &Allocator, fw: &FrameworkId, role: &Role, now: Duration) -> WhyNot {
    let this = alloc;
    {
        let (Some(fid), Some(state)) = (this.frameworks.id(fw), this.frameworks.by_id(fw)) else {
            return WhyNot::UnknownFramework;
        };
        let Some(rid) = this
            .roles
            .lookup(role)
            .filter(|r| state.roles().contains(r))
        else {
            return WhyNot::NotItsRole;
        };
        if !state.is_active() {
            return WhyNot::Inactive;
        }
        if state.suppressed().contains(&rid) {
            return WhyNot::Suppressed;
        }
        let ctx = CycleCtx {
            inv: inverse(this.agents.cluster_total(), this.names.len()),
            demanding: Vec::new(),
            demanding_headroom: Qty::default(),
            any_quota: this.quotas.any(),
        };
        let no_filters = Filters::default();
        let real = View {
            names: &this.names,
            min_allocatable: &this.min_allocatable,
            agents: &this.agents,
            frameworks: &this.frameworks,
            roles: &this.roles,
            quotas: &this.quotas,
            filters: &this.filters,
        };
        let unfiltered = View {
            filters: &no_filters,
            ..real
        };
        let no_min = View {
            min_allocatable: &[],
            ..real
        };
        let neither = View {
            min_allocatable: &[],
            ..unfiltered
        };
        let mut out = Vec::new();
        for (_, ix) in this.agents.slots() {
            let Some(agent) = this.agents.get(ix) else {
                continue;
            };
            if !agent.is_active() {
                out.push((agent.id().clone(), AgentVerdict::Inactive));
                continue;
            }
            let ask = |view: View<'_>| {
                let stages: &[Stage] = if ctx.any_quota {
                    &[Stage::Guarantee, Stage::Fair]
                } else {
                    &[Stage::Fair]
                };
                let mut last = Visit::Skip;
                for stage in stages {
                    let mut visitor = AgentVisitor {
                        view,
                        ctx: &ctx,
                        stage: *stage,
                        ix,
                        agent,
                        now,
                        reserved_only: false,
                    };
                    match visitor.visit(rid, fid) {
                        Visit::Take(_) => return Visit::Take(()),
                        Visit::RoleDone if matches!(stage, Stage::Fair) => return Visit::RoleDone,
                        Visit::RoleDone | Visit::Skip => last = Visit::Skip,
                    }
                }
                last
            };
            let verdict = match ask(real) {
                Visit::Take(()) => AgentVerdict::WouldOffer,
                Visit::RoleDone => return WhyNot::RoleAtLimit,
                Visit::Skip => {
                    if matches!(ask(unfiltered), Visit::Take(())) {
                        let until = this
                            .filters
                            .of(fid, rid, ix)
                            .into_iter()
                            .flatten()
                            .map(|f| f.expires)
                            .max()
                            .unwrap_or(now);
                        AgentVerdict::Filtered { until }
                    } else if matches!(ask(no_min), Visit::Take(()))
                        || matches!(ask(neither), Visit::Take(()))
                    {
                        AgentVerdict::BelowMinAllocatable
                    } else {
                        AgentVerdict::Held
                    }
                }
            };
            out.push((agent.id().clone(), verdict));
        }
        WhyNot::Agents(out)
    }
}
