//! Reading [`Call`]s from the wire, as a master or a recorder receives
//! them: the inverse of [`call_to_pb`](super::call_to_pb), checked.

use std::collections::BTreeSet;
use std::time::Duration;

use corral_types::{
    Accept, Call, CallKind, Capability, CommandInfo, ExecutorInfo, FrameworkId, FrameworkInfo,
    KillPolicy, Operation, ProtocolError, Resources, Role, Subscribe, TaskInfo,
};

use super::call::CallKindPb;
use super::framework::CapabilityPb;
use super::resources::ResourcesPb;
use super::task::KillPolicyPb;
use super::time::labels_from_pb;
use crate::pb;
use crate::pb::call::Type as CallType;

/// The longest failover timeout or refuse filter read (a year); longer
/// (up to infinity) is capped, NaN and negative are errors.
const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

fn seconds(what: &'static str, s: f64) -> Result<Duration, ProtocolError> {
    if s.is_nan() || s < 0.0 {
        return Err(ProtocolError::new(
            what,
            format!("{s} s is negative or not a number"),
        ));
    }
    Ok(Duration::from_secs_f64(s.min(MAX_SECONDS)))
}

fn roles(what: &'static str, names: &[String]) -> Result<Vec<Role>, ProtocolError> {
    names
        .iter()
        .map(|n| {
            let role = Role::new(n.clone());
            role.validate()
                .map_err(|e| ProtocolError::new(what, e.to_string()))?;
            Ok(role)
        })
        .collect()
}

fn resources(what: &'static str, list: &[pb::Resource]) -> Result<Resources, ProtocolError> {
    Resources::from_pb(list).map_err(|e| ProtocolError::new(what, e.to_string()))
}

/// A [`FrameworkInfo`] from the wire (capabilities the SDK does not model
/// are left out).
pub fn framework_info_from_pb(info: &pb::FrameworkInfo) -> Result<FrameworkInfo, ProtocolError> {
    let mut out = FrameworkInfo::new(info.name.clone()).with_user(info.user.clone());
    out.roles = roles("framework info", &info.roles)?;
    out.capabilities = info
        .capabilities
        .iter()
        .filter_map(|c| {
            c.r#type
                .and_then(|t| pb::framework_info::capability::Type::try_from(t).ok())
                .and_then(Capability::from_pb)
        })
        .collect();
    out.failover_timeout = seconds("failover timeout", info.failover_timeout.unwrap_or(0.0))?;
    out.principal = info.principal.clone();
    out.id = info.id.as_ref().map(Into::into);
    Ok(out)
}

fn command_from_pb(c: &pb::CommandInfo) -> CommandInfo {
    let mut out = CommandInfo::default();
    out.value = c.value.clone();
    out.shell = c.shell.unwrap_or(true);
    out.arguments = c.arguments.clone();
    out.environment = c
        .environment
        .as_ref()
        .map(|e| {
            e.variables
                .iter()
                .map(|v| (v.name.clone(), v.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    out.user = c.user.clone();
    out
}

/// A [`TaskInfo`] from the wire, its resources without allocation info (as
/// the framework wrote them).
pub fn task_info_from_pb(t: &pb::TaskInfo) -> Result<TaskInfo, ProtocolError> {
    if t.task_id.value.is_empty() {
        return Err(ProtocolError::new("task info", "empty task id"));
    }
    let mut task = TaskInfo::new(t.task_id.value.clone())
        .with_name(t.name.clone())
        .with_resources(resources("task resources", &t.resources)?.unallocated());
    task.command = t.command.as_ref().map(command_from_pb);
    task.labels = labels_from_pb(t.labels.as_ref());
    task.kill_policy = t.kill_policy.as_ref().map(KillPolicy::from_pb);
    task.data = t.data.clone();
    Ok(task)
}

fn executor_from_pb(e: &pb::ExecutorInfo) -> Result<ExecutorInfo, ProtocolError> {
    let mut executor = ExecutorInfo::new(e.executor_id.value.clone())
        .with_resources(resources("executor resources", &e.resources)?.unallocated());
    executor.name = e.name.clone();
    executor.labels = labels_from_pb(e.labels.as_ref());
    Ok(executor)
}

fn accept_from_pb(a: &pb::call::Accept) -> Result<Accept, ProtocolError> {
    let mut agent = None;
    let mut role = None;
    let mut note = |t: &pb::TaskInfo| {
        agent.get_or_insert_with(|| corral_types::AgentId::from(&t.agent_id));
        if role.is_none() {
            role = t
                .resources
                .iter()
                .find_map(|r| r.allocation_info.as_ref().and_then(|i| i.role.clone()));
        }
    };
    let mut operations = Vec::new();
    for op in &a.operations {
        use pb::offer::operation::Type;
        match Type::try_from(op.r#type.unwrap_or(0)) {
            Ok(Type::Launch) => {
                let launch = op
                    .launch
                    .as_ref()
                    .ok_or_else(|| ProtocolError::new("ACCEPT", "LAUNCH without tasks"))?;
                launch.task_infos.iter().for_each(&mut note);
                let tasks = launch
                    .task_infos
                    .iter()
                    .map(task_info_from_pb)
                    .collect::<Result<_, _>>()?;
                operations.push(Operation::Launch(tasks));
            }
            Ok(Type::LaunchGroup) => {
                let group = op
                    .launch_group
                    .as_ref()
                    .ok_or_else(|| ProtocolError::new("ACCEPT", "LAUNCH_GROUP without a group"))?;
                group.task_group.tasks.iter().for_each(&mut note);
                let tasks = group
                    .task_group
                    .tasks
                    .iter()
                    .map(task_info_from_pb)
                    .collect::<Result<_, _>>()?;
                operations.push(Operation::LaunchGroup {
                    executor: executor_from_pb(&group.executor)?,
                    tasks,
                });
            }
            _ => {
                return Err(ProtocolError::new(
                    "ACCEPT",
                    "an operation other than LAUNCH or LAUNCH_GROUP has no plain form",
                ))
            }
        }
    }
    let offers = a.offer_ids.iter().map(Into::into).collect();
    let refuse = match a.filters.as_ref().and_then(|f| f.refuse_seconds) {
        Some(s) => Some(seconds("refuse filter", s)?),
        None => None,
    };
    let mut accept = Accept::new(
        corral_types::OfferId::from(""),
        agent.unwrap_or_else(|| "".into()),
        Role::new(role.unwrap_or_else(|| "*".to_owned())),
        Operation::Launch(Vec::new()),
    );
    accept.offers = offers;
    accept.operations = operations;
    accept.refuse = refuse;
    Ok(accept)
}

/// Reads a call from the wire: the framework id it carries, and the call.
/// Calls the SDK never makes (SHUTDOWN, MESSAGE...) and ACCEPT operations
/// other than LAUNCH and LAUNCH_GROUP are protocol errors; so are missing
/// payloads, bad roles, malformed resources and NaN or negative durations
/// (long ones are capped at a year).
pub fn call_from_pb(call: &pb::Call) -> Result<(Option<FrameworkId>, Call), ProtocolError> {
    let missing = |what: &'static str| ProtocolError::new(what, "the call's payload is missing");
    let framework = call.framework_id.as_ref().map(FrameworkId::from);
    let kind = CallType::try_from(call.r#type.unwrap_or(0))
        .ok()
        .and_then(CallKind::from_pb)
        .ok_or_else(|| ProtocolError::new("call", "a call type the SDK never sends"))?;
    let plain = match kind {
        CallKind::Subscribe => {
            let s = call
                .subscribe
                .as_ref()
                .ok_or_else(|| missing("SUBSCRIBE"))?;
            let suppressed: BTreeSet<Role> = roles("SUBSCRIBE", &s.suppressed_roles)?
                .into_iter()
                .collect();
            Call::Subscribe(Subscribe::new(
                framework_info_from_pb(&s.framework_info)?,
                suppressed,
            ))
        }
        CallKind::Teardown => Call::Teardown,
        CallKind::Accept => Call::Accept(accept_from_pb(
            call.accept.as_ref().ok_or_else(|| missing("ACCEPT"))?,
        )?),
        CallKind::Decline => {
            let d = call.decline.as_ref().ok_or_else(|| missing("DECLINE"))?;
            let refuse = match d.filters.as_ref().and_then(|f| f.refuse_seconds) {
                Some(s) => Some(seconds("refuse filter", s)?),
                None => None,
            };
            Call::Decline {
                offers: d.offer_ids.iter().map(Into::into).collect(),
                refuse,
            }
        }
        CallKind::AcceptInverseOffers => Call::AcceptInverseOffers(
            call.accept_inverse_offers
                .as_ref()
                .ok_or_else(|| missing("ACCEPT_INVERSE_OFFERS"))?
                .inverse_offer_ids
                .iter()
                .map(Into::into)
                .collect(),
        ),
        CallKind::DeclineInverseOffers => Call::DeclineInverseOffers(
            call.decline_inverse_offers
                .as_ref()
                .ok_or_else(|| missing("DECLINE_INVERSE_OFFERS"))?
                .inverse_offer_ids
                .iter()
                .map(Into::into)
                .collect(),
        ),
        CallKind::Revive => Call::Revive(roles(
            "REVIVE",
            &call
                .revive
                .as_ref()
                .map(|r| r.roles.clone())
                .unwrap_or_default(),
        )?),
        CallKind::Suppress => Call::Suppress(roles(
            "SUPPRESS",
            &call
                .suppress
                .as_ref()
                .map(|r| r.roles.clone())
                .unwrap_or_default(),
        )?),
        CallKind::Kill => {
            let k = call.kill.as_ref().ok_or_else(|| missing("KILL"))?;
            Call::Kill {
                task: (&k.task_id).into(),
                agent: k.agent_id.as_ref().map(Into::into),
                grace: k
                    .kill_policy
                    .as_ref()
                    .map(|p| KillPolicy::from_pb(p).grace_period),
            }
        }
        CallKind::Acknowledge => {
            let a = call
                .acknowledge
                .as_ref()
                .ok_or_else(|| missing("ACKNOWLEDGE"))?;
            Call::Acknowledge {
                agent: (&a.agent_id).into(),
                task: (&a.task_id).into(),
                uuid: a.uuid.clone(),
            }
        }
        CallKind::Reconcile => Call::Reconcile(
            call.reconcile
                .as_ref()
                .map(|r| {
                    r.tasks
                        .iter()
                        .map(|t| ((&t.task_id).into(), t.agent_id.as_ref().map(Into::into)))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        CallKind::UpdateFramework => {
            let u = call
                .update_framework
                .as_ref()
                .ok_or_else(|| missing("UPDATE_FRAMEWORK"))?;
            Call::UpdateFramework {
                framework: framework_info_from_pb(&u.framework_info)?,
                suppressed_roles: roles("UPDATE_FRAMEWORK", &u.suppressed_roles)?
                    .into_iter()
                    .collect(),
            }
        }
        CallKind::Request => Call::Request(
            call.request
                .as_ref()
                .map(|r| {
                    r.requests
                        .iter()
                        .map(|q| resources("REQUEST resources", &q.resources))
                        .collect::<Result<_, _>>()
                })
                .transpose()?
                .unwrap_or_default(),
        ),
    };
    Ok((framework, plain))
}

#[cfg(test)]
mod tests {
    use super::super::call::call_to_pb;
    use super::*;

    #[test]
    fn every_call_kind_is_named_as_on_the_wire() {
        let mut named = 0;
        for value in 0..64 {
            let Ok(wire) = CallType::try_from(value) else {
                continue;
            };
            if let Some(kind) = CallKind::from_pb(wire) {
                assert_eq!(kind.name(), wire.as_str_name(), "{kind:?}");
                assert_eq!(kind.to_pb(), wire);
                named += 1;
            }
        }
        assert_eq!(named, 13, "one wire type per kind of call");
    }

    fn round_trip(call: Call) {
        let fw = FrameworkId::from("fw-1");
        let wire = call_to_pb(Some(&fw), &call);
        let (id, back) = call_from_pb(&wire).unwrap();
        assert_eq!(id, Some(fw));
        assert_eq!(back, call);
    }

    #[test]
    fn every_call_the_sdk_sends_reads_back_the_same() {
        let task = TaskInfo::new("t1")
            .with_resources(Resources::new().with_cpus(1.0))
            .with_command(CommandInfo::shell("sleep 1").env("A", "1"))
            .with_grace_period(Duration::from_secs(3))
            .with_label("k", "v");
        let mut info = FrameworkInfo::new("f")
            .with_roles(["a", "b"])
            .with_id("fw-1");
        info.suppressed_roles.clear();
        for call in [
            Call::Subscribe(Subscribe::new(
                info.clone(),
                [Role::from("a")].into_iter().collect(),
            )),
            Call::Teardown,
            Call::Accept(Accept::new(
                "o1".into(),
                "agent-1".into(),
                Role::from("a"),
                Operation::Launch(vec![task.clone()]),
            )),
            Call::Accept(Accept::new(
                "o2".into(),
                "agent-1".into(),
                Role::from("b"),
                Operation::LaunchGroup {
                    executor: ExecutorInfo::new("e1")
                        .with_resources(Resources::new().with_mem(32.0)),
                    tasks: vec![task.clone()],
                },
            )),
            Call::Decline {
                offers: vec!["o3".into()],
                refuse: Some(Duration::from_secs(300)),
            },
            Call::AcceptInverseOffers(vec!["r1".into()]),
            Call::DeclineInverseOffers(vec!["r2".into()]),
            Call::Revive(vec![Role::from("a")]),
            Call::Suppress(vec![Role::from("a"), Role::from("b")]),
            Call::Kill {
                task: "t1".into(),
                agent: Some("agent-1".into()),
                grace: Some(Duration::from_millis(1500)),
            },
            Call::Acknowledge {
                agent: "agent-1".into(),
                task: "t1".into(),
                uuid: vec![1; 16],
            },
            Call::Reconcile(vec![
                ("t1".into(), Some("agent-1".into())),
                ("t2".into(), None),
            ]),
            Call::UpdateFramework {
                framework: info.clone(),
                suppressed_roles: BTreeSet::new(),
            },
            Call::Request(vec![Resources::new()
                .with_cpus(2.0)
                .allocated_to(&Role::from("a"))]),
        ] {
            round_trip(call);
        }
    }

    #[test]
    fn bad_calls_are_protocol_errors_not_panics() {
        let mut nan = call_to_pb(
            Some(&"fw".into()),
            &Call::Decline {
                offers: vec![],
                refuse: None,
            },
        );
        nan.decline.as_mut().unwrap().filters = Some(pb::Filters {
            refuse_seconds: Some(f64::NAN),
        });
        assert!(call_from_pb(&nan).is_err());
        let mut huge = nan.clone();
        huge.decline.as_mut().unwrap().filters = Some(pb::Filters {
            refuse_seconds: Some(1e300),
        });
        let (_, call) = call_from_pb(&huge).unwrap();
        assert!(
            matches!(call, Call::Decline { refuse: Some(d), .. } if d.as_secs() == 365 * 24 * 3600)
        );
        let mut empty = pb::Call::default();
        assert!(call_from_pb(&empty).is_err());
        empty.set_type(CallType::Kill);
        assert!(call_from_pb(&empty).is_err(), "KILL without its payload");
    }
}
