//! [`Call`]s on the wire.

use corral_types::{Call, CallKind, FrameworkId, Operation, Subscribe};

use super::framework::FrameworkInfoPb;
use super::ids::IdPb;
use super::resources::ResourcesPb;
use super::task::{ExecutorInfoPb, TaskInfoPb};
use super::time::{duration_to_pb, seconds};
use crate::pb;
use crate::pb::call::Type as CallType;

/// [`CallKind`] on the wire.
pub trait CallKindPb: Sized {
    /// The wire call type.
    fn to_pb(self) -> CallType;
    /// From the wire call type; `None` for one the SDK never sends.
    fn from_pb(kind: CallType) -> Option<Self>;
}

// Hidden from rustdoc: it would be listed on the plain type\'s page in
// `corral`, whose API names no wire type.
#[doc(hidden)]
impl CallKindPb for CallKind {
    fn to_pb(self) -> CallType {
        match self {
            CallKind::Subscribe => CallType::Subscribe,
            CallKind::Teardown => CallType::Teardown,
            CallKind::Accept => CallType::Accept,
            CallKind::Decline => CallType::Decline,
            CallKind::AcceptInverseOffers => CallType::AcceptInverseOffers,
            CallKind::DeclineInverseOffers => CallType::DeclineInverseOffers,
            CallKind::Revive => CallType::Revive,
            CallKind::Suppress => CallType::Suppress,
            CallKind::Kill => CallType::Kill,
            CallKind::Acknowledge => CallType::Acknowledge,
            CallKind::Reconcile => CallType::Reconcile,
            CallKind::UpdateFramework => CallType::UpdateFramework,
            CallKind::Request => CallType::Request,
        }
    }

    fn from_pb(kind: CallType) -> Option<Self> {
        Some(match kind {
            CallType::Subscribe => CallKind::Subscribe,
            CallType::Teardown => CallKind::Teardown,
            CallType::Accept => CallKind::Accept,
            CallType::Decline => CallKind::Decline,
            CallType::AcceptInverseOffers => CallKind::AcceptInverseOffers,
            CallType::DeclineInverseOffers => CallKind::DeclineInverseOffers,
            CallType::Revive => CallKind::Revive,
            CallType::Suppress => CallKind::Suppress,
            CallType::Kill => CallKind::Kill,
            CallType::Acknowledge => CallKind::Acknowledge,
            CallType::Reconcile => CallKind::Reconcile,
            CallType::UpdateFramework => CallKind::UpdateFramework,
            CallType::Request => CallKind::Request,
            _ => return None,
        })
    }
}

fn filters(refuse: Option<std::time::Duration>) -> Option<pb::Filters> {
    refuse.map(|d| pb::Filters {
        refuse_seconds: Some(seconds(d)),
    })
}

/// SUBSCRIBE on the wire.
pub fn subscribe_to_pb(subscribe: &Subscribe) -> pb::Call {
    call_to_pb(
        subscribe.framework.id.as_ref(),
        &Call::Subscribe(subscribe.clone()),
    )
}

/// A call on the wire, on behalf of `framework` (`None` only for a first
/// SUBSCRIBE).
pub fn call_to_pb(framework: Option<&FrameworkId>, call: &Call) -> pb::Call {
    let mut out = pb::Call {
        framework_id: framework.map(IdPb::to_pb),
        ..Default::default()
    };
    out.set_type(call.kind().to_pb());
    match call {
        Call::Subscribe(s) => {
            let mut info = s.framework.to_pb();
            if info.id.is_none() {
                info.id = out.framework_id.clone();
            }
            out.subscribe = Some(pb::call::Subscribe {
                framework_info: info,
                suppressed_roles: s.suppressed_roles.iter().map(|r| r.to_string()).collect(),
            });
        }
        Call::Teardown => {}
        Call::Accept(accept) => {
            let operations = accept
                .operations
                .iter()
                .map(|op| {
                    let mut wire = pb::offer::Operation::default();
                    match op {
                        Operation::Launch(tasks) => {
                            wire.set_type(pb::offer::operation::Type::Launch);
                            wire.launch = Some(pb::offer::operation::Launch {
                                task_infos: tasks
                                    .iter()
                                    .map(|t| t.to_pb(&accept.agent, &accept.role))
                                    .collect(),
                            });
                        }
                        Operation::LaunchGroup { executor, tasks } => {
                            wire.set_type(pb::offer::operation::Type::LaunchGroup);
                            wire.launch_group = Some(pb::offer::operation::LaunchGroup {
                                executor: executor.to_pb(framework, &accept.role),
                                task_group: pb::TaskGroupInfo {
                                    tasks: tasks
                                        .iter()
                                        .map(|t| t.to_pb(&accept.agent, &accept.role))
                                        .collect(),
                                },
                            });
                        }
                    }
                    wire
                })
                .collect();
            out.accept = Some(pb::call::Accept {
                offer_ids: accept.offers.iter().map(IdPb::to_pb).collect(),
                operations,
                filters: filters(accept.refuse),
            });
        }
        Call::Decline { offers, refuse } => {
            out.decline = Some(pb::call::Decline {
                offer_ids: offers.iter().map(IdPb::to_pb).collect(),
                filters: filters(*refuse),
            });
        }
        Call::AcceptInverseOffers(ids) => {
            out.accept_inverse_offers = Some(pb::call::AcceptInverseOffers {
                inverse_offer_ids: ids.iter().map(IdPb::to_pb).collect(),
                filters: None,
            });
        }
        Call::DeclineInverseOffers(ids) => {
            out.decline_inverse_offers = Some(pb::call::DeclineInverseOffers {
                inverse_offer_ids: ids.iter().map(IdPb::to_pb).collect(),
                filters: None,
            });
        }
        Call::Revive(roles) => {
            out.revive = Some(pb::call::Revive {
                roles: roles.iter().map(|r| r.to_string()).collect(),
            });
        }
        Call::Suppress(roles) => {
            out.suppress = Some(pb::call::Suppress {
                roles: roles.iter().map(|r| r.to_string()).collect(),
            });
        }
        Call::Kill { task, agent, grace } => {
            out.kill = Some(pb::call::Kill {
                task_id: task.to_pb(),
                agent_id: agent.as_ref().map(IdPb::to_pb),
                kill_policy: grace.map(|g| pb::KillPolicy {
                    grace_period: Some(duration_to_pb(g)),
                }),
            });
        }
        Call::Acknowledge { agent, task, uuid } => {
            out.acknowledge = Some(pb::call::Acknowledge {
                agent_id: agent.to_pb(),
                task_id: task.to_pb(),
                uuid: uuid.clone(),
            });
        }
        Call::Reconcile(tasks) => {
            out.reconcile = Some(pb::call::Reconcile {
                tasks: tasks
                    .iter()
                    .map(|(task, agent)| pb::call::reconcile::Task {
                        task_id: task.to_pb(),
                        agent_id: agent.as_ref().map(IdPb::to_pb),
                    })
                    .collect(),
            });
        }
        Call::UpdateFramework {
            framework: info,
            suppressed_roles,
        } => {
            let mut wire = info.to_pb();
            if wire.id.is_none() {
                wire.id = out.framework_id.clone();
            }
            out.update_framework = Some(pb::call::UpdateFramework {
                framework_info: wire,
                suppressed_roles: suppressed_roles.iter().map(|r| r.to_string()).collect(),
            });
        }
        Call::Request(requests) => {
            out.request = Some(pb::call::Request {
                requests: requests
                    .iter()
                    .map(|r| pb::Request {
                        agent_id: None,
                        resources: r.to_pb(),
                    })
                    .collect(),
            });
        }
    }
    out
}
