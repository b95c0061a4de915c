//! The calls a framework makes, as the recorder and the scripted master
//! speak them: the SDK's own [`Call`] (typed: a kill carries its task and
//! its grace), decoded once at the harness's edge. A call the recorder
//! cannot read (a type the SDK never sends, a missing payload, a bad role:
//! what a hostile or foreign client may send) is kept as its wire type's
//! name and the reason, never dropped and never a panic.

use std::fmt;

use corral::{Call, ProtocolError};

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

    use corral::TaskId;

    use super::*;

    #[test]
    fn a_kill_is_summarized_by_its_task() {
        let kill = Call::Kill {
            task: TaskId::from("t-1"),
            agent: None,
            grace: Some(Duration::from_secs(7)),
        };
        assert_eq!(summary(&kill), "KILL t-1");
    }
}
