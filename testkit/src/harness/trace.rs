//! The recorder: every call each framework made, every event the master
//! put on its stream (or a fault lost), every event its handlers saw, and
//! every fault, in order and stamped with virtual time. Tests assert on it
//! with the helpers here, and a failing test prints [`Trace::dump`].
//!
//! Heartbeats are left out: they would drown everything else.

use std::fmt::{self, Write as _};
use std::time::Duration;

use super::calls::{hex, summary, unreadable_summary};
use corral::{
    Call, CallKind, Event, FrameworkId, InverseItem, MasterEvent, Offer, ProtocolError, Role,
    TaskId, TaskState, TaskStatus,
};
use corral_proto::convert::call_from_pb;
use corral_proto::pb;
use corral_proto::pb::call::Type as CallType;

/// One line of the trace.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Virtual time since the cluster started.
    pub at: Duration,
    /// The framework concerned, when there is one.
    pub framework: Option<FrameworkId>,
    /// What happened.
    pub what: What,
}

/// What a trace entry records.
#[derive(Clone, Debug, PartialEq)]
pub enum What {
    /// The master received a call, and answered `Ok` or a refusal.
    Call {
        /// The call, decoded.
        call: Box<Call>,
        /// `Err` holds the refusal's message.
        outcome: Result<(), String>,
    },
    /// The master received a call the recorder could not read (a type the
    /// SDK never sends, a missing payload, a bad role), and answered it.
    Unreadable {
        /// The call type's wire name (`"MESSAGE"`), `"?"` when unknown.
        kind: &'static str,
        /// Why it could not be read.
        error: ProtocolError,
        /// `Err` holds the refusal's message.
        outcome: Result<(), String>,
    },
    /// The master put an event on the framework's stream (as the framework
    /// reads it).
    Delivered(Box<MasterEvent>),
    /// A fault lost an event or an acknowledgement on the wire.
    Lost {
        /// What was lost (an event, or a call for lost acknowledgements).
        what: String,
        /// The fault responsible.
        why: &'static str,
    },
    /// A handler of the framework was called with this event.
    Seen(Box<Event>),
    /// The test injected an external input for the framework (its
    /// `Debug` text), just before it was sent on the framework's channel.
    Input(String),
    /// The framework's input handler was called with this input (its
    /// `Debug` text).
    InputSeen(String),
    /// A fault was injected, or healed.
    Fault(String),
    /// An operator changed a weight, a quota or a reservation (or was
    /// refused: the text says why).
    Operator(String),
    /// An invariant broke.
    Violation(String),
}

/// The recorded history of a cluster. Cheap to clone out of the cluster
/// for assertions (see [`Cluster::trace`](super::Cluster::trace)).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    entries: Vec<Entry>,
}

impl Trace {
    pub(crate) fn push(&mut self, at: Duration, framework: Option<FrameworkId>, what: What) {
        self.entries.push(Entry {
            at,
            framework,
            what,
        });
    }

    /// Every entry, in order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The calls of `kind` the master received from `framework`.
    pub fn calls_of_kind<'a>(
        &'a self,
        framework: &'a FrameworkId,
        kind: CallKind,
    ) -> Vec<&'a Call> {
        self.of(framework)
            .filter_map(|e| match &e.what {
                What::Call { call, .. } if call.kind() == kind => Some(&**call),
                _ => None,
            })
            .collect()
    }

    /// The events `framework`'s handlers saw, in order.
    pub fn seen<'a>(&'a self, framework: &'a FrameworkId) -> Vec<&'a Event> {
        self.of(framework)
            .filter_map(|e| match &e.what {
                What::Seen(event) => Some(&**event),
                _ => None,
            })
            .collect()
    }

    /// The offers `framework`'s handlers saw for `role`.
    pub fn offers_to<'a>(&'a self, framework: &'a FrameworkId, role: &'a Role) -> Vec<&'a Offer> {
        self.seen(framework)
            .into_iter()
            .filter_map(|e| match e {
                Event::Offers(offers) => Some(offers.iter().filter(|o| &o.role == role)),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// The status updates of `task` that its framework's handler saw.
    pub fn updates_seen(&self, task: &TaskId) -> Vec<&TaskStatus> {
        self.entries
            .iter()
            .filter_map(|e| match &e.what {
                What::Seen(event) => match &**event {
                    Event::Update(status) if &status.task_id == task => Some(status),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    /// The states of `task` its framework's handler saw, in order.
    pub fn states_seen(&self, task: &TaskId) -> Vec<TaskState> {
        self.updates_seen(task).iter().map(|s| s.state).collect()
    }

    /// The last state of `task` its handler saw.
    pub fn last_state(&self, task: &TaskId) -> Option<TaskState> {
        self.updates_seen(task).last().map(|s| s.state)
    }

    /// Panics, printing the trace, unless the last state of `task` its
    /// framework's handler saw is `state`.
    #[track_caller]
    pub fn expect_task_state(&self, task: &TaskId, state: TaskState) {
        let last = self.last_state(task);
        if last != Some(state) {
            panic!(
                "task {task}: expected its handler to have seen {state:?} last, it saw {:?}\n{}",
                self.states_seen(task),
                self.dump()
            );
        }
    }

    /// How many entries record a fault losing something on the wire.
    pub fn lost_count(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e.what, What::Lost { .. }))
            .count()
    }

    /// The inputs injected for `framework`, in order (their `Debug` text).
    pub fn inputs_injected<'a>(&'a self, framework: &'a FrameworkId) -> Vec<&'a str> {
        self.of(framework)
            .filter_map(|e| match &e.what {
                What::Input(text) => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The inputs `framework`'s handler was called with, in order.
    pub fn inputs_seen<'a>(&'a self, framework: &'a FrameworkId) -> Vec<&'a str> {
        self.of(framework)
            .filter_map(|e| match &e.what {
                What::InputSeen(text) => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The operator actions recorded, in order.
    pub fn operator_actions(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter_map(|e| match &e.what {
                What::Operator(text) => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The invariant violations recorded.
    pub fn violations(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter_map(|e| match &e.what {
                What::Violation(v) => Some(v.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The whole trace, one readable line per entry.
    pub fn dump(&self) -> String {
        let mut out = String::from("---- trace ----\n");
        for entry in &self.entries {
            let _ = writeln!(out, "{entry}");
        }
        out.push_str("---- end of trace ----");
        out
    }

    /// A 64-bit digest of the dump: two runs with the same seed must give
    /// the same fingerprint.
    pub fn fingerprint(&self) -> u64 {
        // FNV-1a: stable across platforms and Rust versions, unlike
        // std's hasher.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self.dump().bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        hash
    }

    fn of<'a>(&'a self, framework: &'a FrameworkId) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries
            .iter()
            .filter(move |e| e.framework.as_ref() == Some(framework))
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = self.framework.as_ref().map_or("-", |f| f.as_str());
        write!(f, "{:>10.3}s {who:<14} ", self.at.as_secs_f64())?;
        match &self.what {
            What::Call { call, outcome } => {
                write!(f, "-> {}", summary(call))?;
                if let Err(e) = outcome {
                    write!(f, "  [refused: {e}]")?;
                }
                Ok(())
            }
            What::Unreadable {
                kind,
                error,
                outcome,
            } => {
                write!(f, "-> {}", unreadable_summary(kind, error))?;
                if let Err(e) = outcome {
                    write!(f, "  [refused: {e}]")?;
                }
                Ok(())
            }
            What::Delivered(event) => write!(f, "<- {}", summarize_event(event)),
            What::Lost { what, why } => write!(f, "xx lost ({why}): {what}"),
            What::Seen(event) => write!(f, "   handler: {}", summarize_seen(event)),
            What::Input(text) => write!(f, ">> input: {text}"),
            What::InputSeen(text) => write!(f, "   handler: input {text}"),
            What::Fault(text) => write!(f, "!! fault: {text}"),
            What::Operator(text) => write!(f, "** operator: {text}"),
            What::Violation(text) => write!(f, "!! INVARIANT BROKEN: {text}"),
        }
    }
}

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

/// One line for an event on the wire.
pub(crate) fn summarize_event(event: &MasterEvent) -> String {
    let (kind, detail) = match event {
        MasterEvent::Subscribed(s) => ("SUBSCRIBED", s.framework_id.to_string()),
        MasterEvent::Offers { offers, malformed } => {
            let mut items: Vec<String> = offers
                .iter()
                .map(|o| {
                    format!(
                        "{} {} role={} {}",
                        o.id,
                        o.agent_id,
                        o.role,
                        o.resources.unallocated()
                    )
                })
                .collect();
            items.extend(malformed.iter().map(|m| format!("<{}>", m.error)));
            ("OFFERS", items.join("; "))
        }
        MasterEvent::InverseOffers(items) => {
            let ids: Vec<String> = items
                .iter()
                .map(|item| match item {
                    InverseItem::Maintenance(o) => o.id.to_string(),
                    InverseItem::Revocation(n) => format!("{} (revoking)", n.id),
                    InverseItem::Malformed(m) => format!("<{}>", m.error),
                })
                .collect();
            ("INVERSE_OFFERS", ids.join(","))
        }
        MasterEvent::Rescind(id) => ("RESCIND", id.to_string()),
        MasterEvent::RescindInverseOffer(id) => ("RESCIND_INVERSE_OFFER", id.to_string()),
        MasterEvent::Update(s) => {
            let mut text = format!("{} {:?}", s.task_id, s.state);
            if let Some(uuid) = &s.uuid {
                let _ = write!(text, " uuid={}", hex(uuid));
            }
            if let Some(reason) = s.reason {
                let _ = write!(text, " {reason:?}");
            }
            let failed = matches!(
                s.state,
                TaskState::Error | TaskState::Failed | TaskState::Lost | TaskState::Dropped
            );
            if let (true, Some(message)) = (failed, &s.message) {
                let _ = write!(text, " \"{message}\"");
            }
            ("UPDATE", text)
        }
        MasterEvent::Message { agent_id, .. } => ("MESSAGE", agent_id.to_string()),
        MasterEvent::Failure(failure) => ("FAILURE", format!("{failure:?}")),
        MasterEvent::Error(message) => ("ERROR", message.clone()),
        MasterEvent::Heartbeat => ("HEARTBEAT", String::new()),
        MasterEvent::Malformed(error) => ("?", error.to_string()),
    };
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind} {detail}")
    }
}

fn summarize_seen(event: &Event) -> String {
    match event {
        Event::Subscribed(s) => format!(
            "subscribed {}{}",
            s.framework_id,
            if s.resubscribed { " (again)" } else { "" }
        ),
        Event::Offers(offers) => {
            let ids: Vec<&str> = offers.iter().map(|o| o.id.as_str()).collect();
            format!("offers {}", ids.join(","))
        }
        Event::InverseOffers(offers) => {
            let ids: Vec<&str> = offers.iter().map(|o| o.id.as_str()).collect();
            format!("inverse offers {}", ids.join(","))
        }
        Event::Revocation(notice) => {
            let tasks: Vec<&str> = notice.tasks.iter().map(|t| t.as_str()).collect();
            format!(
                "revocation notice {} for {} by {:?}",
                notice.id,
                tasks.join(","),
                notice.deadline
            )
        }
        Event::Rescinded(id) => format!("rescinded {id}"),
        Event::InverseOfferRescinded(id) => format!("inverse offer rescinded {id}"),
        Event::Update(s) => format!(
            "update {} {:?}{}",
            s.task_id,
            s.state,
            if s.uuid.is_none() {
                " (reconciliation)"
            } else {
                ""
            }
        ),
        Event::Message { agent_id, .. } => format!("message from {agent_id}"),
        Event::Failure(failure) => format!("failure {failure:?}"),
        Event::Error(message) => format!("error {message}"),
        Event::Disconnected(why) => format!("disconnected: {why:?}"),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use corral::{FrameworkId, TaskId};
    use corral_proto::convert::call_to_pb;

    use super::super::calls::{summary, unreadable_summary};

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
