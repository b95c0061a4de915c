//! The calls a framework makes, as the recorder and the scripted master
//! speak them: the SDK's own [`Call`] (typed: a kill carries its task and
//! its grace), decoded once at the harness's edge. A call the recorder
//! cannot read (a type the SDK never sends, a missing payload, a bad role:
//! what a hostile or foreign client may send) is kept as its wire type's
//! name and the reason, never dropped and never a panic.

use std::fmt;

use corral::{Call, ProtocolError};
use corral_proto::convert::call_from_pb;
use corral_proto::pb;
use corral_proto::pb::call::Type as CallType;

use super::trace::What;

/// What the recorder keeps of a call the master received: `What::Call`
/// when it reads, `What::Unreadable` with the wire type's name otherwise.
pub(crate) fn received(call: &pb::Call, outcome: Result<(), String>) -> What {
    match call_from_pb(call) {
        Ok((_, call)) => What::Call {
            call: Box::new(call),
            outcome,
        },
        Err(error) => What::Unreadable {
            kind: call
                .r#type
                .and_then(|t| CallType::try_from(t).ok())
                .map_or("?", |t| t.as_str_name()),
            error,
            outcome,
        },
    }
}

fn join<T: fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// One line for a call, as the trace's dump shows it (`KILL t-1`,
/// `ACCEPT o-1 launching [t-1,t-2]`).
pub(crate) fn summary(call: &Call) -> String {
    let detail = match call {
        Call::Accept(accept) => format!(
            "{} launching [{}]",
            join(&accept.offers),
            join(accept.tasks().map(|t| &t.id))
        ),
        Call::Decline { offers, .. } => join(offers),
        Call::AcceptInverseOffers(ids) | Call::DeclineInverseOffers(ids) => join(ids),
        Call::Kill { task, .. } => task.to_string(),
        Call::Acknowledge { task, uuid, .. } => format!("{task} uuid={}", hex(uuid)),
        Call::Reconcile(tasks) if tasks.is_empty() => "all (implicit)".to_owned(),
        Call::Reconcile(tasks) => join(tasks.iter().map(|(t, _)| t)),
        Call::Revive(roles) | Call::Suppress(roles) => join(roles),
        Call::Subscribe(s) => format!(
            "{} ({})",
            s.framework.name,
            s.framework.id.as_ref().map_or("new", |i| i.as_str())
        ),
        Call::UpdateFramework { framework, .. } => join(&framework.roles),
        Call::Request(requests) => format!("{} request(s)", requests.len()),
        Call::Teardown => String::new(),
    };
    let kind = call.kind().name();
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind} {detail}")
    }
}

/// One line for a call the recorder could not read.
pub(crate) fn unreadable_summary(kind: &str, error: &ProtocolError) -> String {
    format!("{kind} (unreadable {}: {})", error.what, error.why)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use corral::{FrameworkId, TaskId};
    use corral_proto::convert::call_to_pb;

    use super::*;

    #[test]
    fn a_kill_is_recorded_typed_with_its_task_and_grace() {
        let kill = Call::Kill {
            task: TaskId::from("t-1"),
            agent: None,
            grace: Some(Duration::from_secs(7)),
        };
        let wire = call_to_pb(Some(&FrameworkId::from("fw")), &kill);
        let What::Call { call, outcome } = received(&wire, Ok(())) else {
            panic!("a kill reads");
        };
        assert_eq!(*call, kill);
        assert_eq!(outcome, Ok(()));
        assert_eq!(summary(&call), "KILL t-1");
    }

    #[test]
    fn hostile_calls_are_kept_as_unreadable_with_their_kind_never_a_panic() {
        let cases = [
            // A type the SDK never sends.
            (Some(CallType::Message as i32), "MESSAGE"),
            // An unknown type number.
            (Some(9999), "?"),
            // No type at all.
            (None, "?"),
            // A known type without its payload.
            (Some(CallType::Kill as i32), "KILL"),
        ];
        for (r#type, name) in cases {
            let wire = pb::Call {
                r#type,
                ..Default::default()
            };
            let What::Unreadable {
                kind,
                error,
                outcome,
            } = received(&wire, Err("refused".into()))
            else {
                panic!("{type:?} must not read");
            };
            assert_eq!(kind, name);
            assert_eq!(outcome, Err("refused".to_owned()));
            assert!(unreadable_summary(kind, &error).starts_with(name));
        }
        // A bad role in a REVIVE: unreadable, named.
        let wire = pb::Call {
            r#type: Some(CallType::Revive as i32),
            revive: Some(pb::call::Revive {
                roles: vec!["../etc".into()],
            }),
            ..Default::default()
        };
        assert!(matches!(
            received(&wire, Ok(())),
            What::Unreadable { kind: "REVIVE", .. }
        ));
    }
}
