//! The calls a framework makes, as the recorder and the scripted master
//! speak them: plain Rust (ids, roles, durations), decoded once from the
//! wire at the harness's edge ([`Call::from_pb`]). A test asserts on
//! `Call::Kill { task, grace, .. }` instead of digging through optional
//! protobuf messages.

use std::fmt;
use std::time::Duration;

use corral::{AgentId, FrameworkId, OfferId, Role, TaskId};
use corral_proto::pb;
use corral_proto::pb::call::Type as CallType;

/// The kind of a call, to filter the trace or the script by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum CallKind {
    /// SUBSCRIBE.
    Subscribe,
    /// TEARDOWN.
    Teardown,
    /// ACCEPT.
    Accept,
    /// DECLINE.
    Decline,
    /// REVIVE.
    Revive,
    /// SUPPRESS.
    Suppress,
    /// KILL.
    Kill,
    /// ACKNOWLEDGE.
    Acknowledge,
    /// RECONCILE.
    Reconcile,
    /// UPDATE_FRAMEWORK.
    UpdateFramework,
    /// REQUEST.
    Request,
    /// ACCEPT_INVERSE_OFFERS.
    AcceptInverseOffers,
    /// DECLINE_INVERSE_OFFERS.
    DeclineInverseOffers,
    /// Any other call (SHUTDOWN, MESSAGE, or no known type).
    Other,
}

impl CallKind {
    /// The call type's name on the wire (`"KILL"`).
    pub fn name(self) -> &'static str {
        match self {
            CallKind::Subscribe => "SUBSCRIBE",
            CallKind::Teardown => "TEARDOWN",
            CallKind::Accept => "ACCEPT",
            CallKind::Decline => "DECLINE",
            CallKind::Revive => "REVIVE",
            CallKind::Suppress => "SUPPRESS",
            CallKind::Kill => "KILL",
            CallKind::Acknowledge => "ACKNOWLEDGE",
            CallKind::Reconcile => "RECONCILE",
            CallKind::UpdateFramework => "UPDATE_FRAMEWORK",
            CallKind::Request => "REQUEST",
            CallKind::AcceptInverseOffers => "ACCEPT_INVERSE_OFFERS",
            CallKind::DeclineInverseOffers => "DECLINE_INVERSE_OFFERS",
            CallKind::Other => "?",
        }
    }

    fn of(kind: Option<CallType>) -> Self {
        match kind {
            Some(CallType::Subscribe) => CallKind::Subscribe,
            Some(CallType::Teardown) => CallKind::Teardown,
            Some(CallType::Accept) => CallKind::Accept,
            Some(CallType::Decline) => CallKind::Decline,
            Some(CallType::Revive) => CallKind::Revive,
            Some(CallType::Suppress) => CallKind::Suppress,
            Some(CallType::Kill) => CallKind::Kill,
            Some(CallType::Acknowledge) => CallKind::Acknowledge,
            Some(CallType::Reconcile) => CallKind::Reconcile,
            Some(CallType::UpdateFramework) => CallKind::UpdateFramework,
            Some(CallType::Request) => CallKind::Request,
            Some(CallType::AcceptInverseOffers) => CallKind::AcceptInverseOffers,
            Some(CallType::DeclineInverseOffers) => CallKind::DeclineInverseOffers,
            _ => CallKind::Other,
        }
    }
}

impl fmt::Display for CallKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One call, as the framework sent it. Fields the wire left out are
/// empty (`None`, no ids).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Call {
    /// SUBSCRIBE (or a resubscription, with the id it asks for).
    Subscribe {
        /// The framework's name.
        name: String,
        /// The id it resubscribes with; `None` for a new framework.
        framework_id: Option<FrameworkId>,
        /// Its roles.
        roles: Vec<Role>,
    },
    /// TEARDOWN.
    Teardown,
    /// ACCEPT.
    Accept {
        /// The offers used.
        offers: Vec<OfferId>,
        /// Every task launched (LAUNCH and LAUNCH_GROUP), in order.
        launched: Vec<TaskId>,
        /// How many operations the call carries.
        operations: usize,
    },
    /// DECLINE.
    Decline {
        /// The offers declined.
        offers: Vec<OfferId>,
        /// The refusal filter asked for.
        refuse: Option<Duration>,
    },
    /// REVIVE.
    Revive {
        /// The roles revived (none: all).
        roles: Vec<Role>,
    },
    /// SUPPRESS.
    Suppress {
        /// The roles suppressed (none: all).
        roles: Vec<Role>,
    },
    /// KILL.
    Kill {
        /// The task.
        task: TaskId,
        /// Its agent, if the framework named it.
        agent: Option<AgentId>,
        /// The grace period the call asks for (overriding the task's).
        grace: Option<Duration>,
    },
    /// ACKNOWLEDGE.
    Acknowledge {
        /// The task.
        task: TaskId,
        /// The agent.
        agent: AgentId,
        /// The uuid of the update acknowledged.
        uuid: Vec<u8>,
    },
    /// RECONCILE.
    Reconcile {
        /// The tasks asked about (none: implicit reconciliation).
        tasks: Vec<TaskId>,
    },
    /// UPDATE_FRAMEWORK.
    UpdateFramework {
        /// The framework's name.
        name: String,
        /// Its new roles.
        roles: Vec<Role>,
    },
    /// REQUEST.
    Request {
        /// How many resource requests it carries.
        requests: usize,
    },
    /// ACCEPT_INVERSE_OFFERS.
    AcceptInverseOffers {
        /// The inverse offers accepted.
        offers: Vec<OfferId>,
    },
    /// DECLINE_INVERSE_OFFERS.
    DeclineInverseOffers {
        /// The inverse offers declined.
        offers: Vec<OfferId>,
    },
    /// A call the harness does not decode (its wire type name).
    Other {
        /// The wire type name, `"?"` when unknown.
        kind: &'static str,
    },
}

fn duration(nanos: i64) -> Duration {
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

fn roles(names: &[String]) -> Vec<Role> {
    names.iter().map(|r| Role::new(r.as_str())).collect()
}

fn offer_ids(ids: &[pb::OfferId]) -> Vec<OfferId> {
    ids.iter().map(OfferId::from).collect()
}

/// Every task an ACCEPT launches (LAUNCH and LAUNCH_GROUP), in order.
pub(crate) fn launched_tasks(accept: &pb::call::Accept) -> impl Iterator<Item = &pb::TaskInfo> {
    accept.operations.iter().flat_map(|op| {
        let launch = op.launch.iter().flat_map(|l| l.task_infos.iter());
        let group = op
            .launch_group
            .iter()
            .flat_map(|g| g.task_group.tasks.iter());
        launch.chain(group)
    })
}

impl Call {
    /// Decodes a wire call (the harness's edge).
    pub(crate) fn from_pb(call: &pb::Call) -> Call {
        let wire = call.r#type.and_then(|t| CallType::try_from(t).ok());
        let kind = CallKind::of(wire);
        let missing = || Call::Other { kind: kind.name() };
        match kind {
            CallKind::Subscribe => {
                call.subscribe
                    .as_ref()
                    .map_or_else(missing, |s| Call::Subscribe {
                        name: s.framework_info.name.clone(),
                        framework_id: s.framework_info.id.as_ref().map(FrameworkId::from),
                        roles: roles(&s.framework_info.roles),
                    })
            }
            CallKind::Teardown => Call::Teardown,
            CallKind::Accept => call.accept.as_ref().map_or_else(missing, |a| Call::Accept {
                offers: offer_ids(&a.offer_ids),
                launched: launched_tasks(a)
                    .map(|t| TaskId::from(&t.task_id))
                    .collect(),
                operations: a.operations.len(),
            }),
            CallKind::Decline => call
                .decline
                .as_ref()
                .map_or_else(missing, |d| Call::Decline {
                    offers: offer_ids(&d.offer_ids),
                    refuse: d
                        .filters
                        .as_ref()
                        .and_then(|f| f.refuse_seconds)
                        .filter(|s| s.is_finite() && *s >= 0.0)
                        .and_then(|s| Duration::try_from_secs_f64(s).ok()),
                }),
            CallKind::Revive => Call::Revive {
                roles: call
                    .revive
                    .as_ref()
                    .map_or_else(Vec::new, |r| roles(&r.roles)),
            },
            CallKind::Suppress => Call::Suppress {
                roles: call
                    .suppress
                    .as_ref()
                    .map_or_else(Vec::new, |r| roles(&r.roles)),
            },
            CallKind::Kill => call.kill.as_ref().map_or_else(missing, |k| Call::Kill {
                task: TaskId::from(&k.task_id),
                agent: k.agent_id.as_ref().map(AgentId::from),
                grace: k
                    .kill_policy
                    .as_ref()
                    .and_then(|p| p.grace_period.as_ref())
                    .map(|g| duration(g.nanoseconds)),
            }),
            CallKind::Acknowledge => {
                call.acknowledge
                    .as_ref()
                    .map_or_else(missing, |a| Call::Acknowledge {
                        task: TaskId::from(&a.task_id),
                        agent: AgentId::from(&a.agent_id),
                        uuid: a.uuid.clone(),
                    })
            }
            CallKind::Reconcile => Call::Reconcile {
                tasks: call.reconcile.as_ref().map_or_else(Vec::new, |r| {
                    r.tasks.iter().map(|t| TaskId::from(&t.task_id)).collect()
                }),
            },
            CallKind::UpdateFramework => {
                call.update_framework
                    .as_ref()
                    .map_or_else(missing, |u| Call::UpdateFramework {
                        name: u.framework_info.name.clone(),
                        roles: roles(&u.framework_info.roles),
                    })
            }
            CallKind::Request => Call::Request {
                requests: call.request.as_ref().map_or(0, |r| r.requests.len()),
            },
            CallKind::AcceptInverseOffers => Call::AcceptInverseOffers {
                offers: call
                    .accept_inverse_offers
                    .as_ref()
                    .map_or_else(Vec::new, |c| offer_ids(&c.inverse_offer_ids)),
            },
            CallKind::DeclineInverseOffers => Call::DeclineInverseOffers {
                offers: call
                    .decline_inverse_offers
                    .as_ref()
                    .map_or_else(Vec::new, |c| offer_ids(&c.inverse_offer_ids)),
            },
            CallKind::Other => Call::Other {
                kind: wire.map_or("?", |t| t.as_str_name()),
            },
        }
    }

    /// Its kind.
    pub fn kind(&self) -> CallKind {
        match self {
            Call::Subscribe { .. } => CallKind::Subscribe,
            Call::Teardown => CallKind::Teardown,
            Call::Accept { .. } => CallKind::Accept,
            Call::Decline { .. } => CallKind::Decline,
            Call::Revive { .. } => CallKind::Revive,
            Call::Suppress { .. } => CallKind::Suppress,
            Call::Kill { .. } => CallKind::Kill,
            Call::Acknowledge { .. } => CallKind::Acknowledge,
            Call::Reconcile { .. } => CallKind::Reconcile,
            Call::UpdateFramework { .. } => CallKind::UpdateFramework,
            Call::Request { .. } => CallKind::Request,
            Call::AcceptInverseOffers { .. } => CallKind::AcceptInverseOffers,
            Call::DeclineInverseOffers { .. } => CallKind::DeclineInverseOffers,
            Call::Other { .. } => CallKind::Other,
        }
    }
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// One line, as the trace's dump shows it.
impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Call::Other { kind } => kind,
            other => other.kind().name(),
        };
        let detail = match self {
            Call::Accept {
                offers, launched, ..
            } => format!("{} launching [{}]", join(offers), join(launched)),
            Call::Decline { offers, .. } => join(offers),
            Call::Kill { task, .. } => task.to_string(),
            Call::Acknowledge { task, uuid, .. } => format!("{task} uuid={}", hex(uuid)),
            Call::Reconcile { tasks } if tasks.is_empty() => "all (implicit)".to_owned(),
            Call::Reconcile { tasks } => join(tasks),
            Call::Revive { roles } | Call::Suppress { roles } => join(roles),
            Call::Subscribe {
                name, framework_id, ..
            } => format!(
                "{name} ({})",
                framework_id.as_ref().map_or("new", |i| i.as_str())
            ),
            _ => String::new(),
        };
        if detail.is_empty() {
            f.write_str(kind)
        } else {
            write!(f, "{kind} {detail}")
        }
    }
}
