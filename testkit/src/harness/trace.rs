//! The recorder: every call each framework made, every event the master
//! put on its stream (or a fault lost), every event its handlers saw, and
//! every fault, in order and stamped with virtual time. Tests assert on it
//! with the helpers here, and a failing test prints [`Trace::dump`].
//!
//! Heartbeats are left out: they would drown everything else.

use corral_proto::convert::*;
use std::fmt::{self, Write as _};
use std::time::Duration;

use super::calls::{hex, Call, CallKind};
use corral::{Event, FrameworkId, Offer, Role, TaskId, TaskState, TaskStatus};
use corral_proto::pb;

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
    /// The master put an event on the framework's stream.
    Delivered(Box<pb::Event>),
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
                write!(f, "-> {call}")?;
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

fn task_state_name(state: i32) -> &'static str {
    pb::TaskState::try_from(state).map_or("?", |s| s.as_str_name())
}

/// One line for an event on the wire.
pub(crate) fn summarize_event(event: &pb::Event) -> String {
    use pb::event::Type;
    let kind = event
        .r#type
        .and_then(|t| Type::try_from(t).ok())
        .map_or("?", |t| t.as_str_name());
    let detail = match event.r#type.and_then(|t| Type::try_from(t).ok()) {
        Some(Type::Offers) => event.offers.as_ref().map(|o| {
            o.offers
                .iter()
                .map(|offer| {
                    let role = offer
                        .allocation_info
                        .as_ref()
                        .and_then(|a| a.role.as_deref())
                        .unwrap_or("*");
                    let resources = corral::Resources::from_pb(&offer.resources)
                        .map(|r| r.unallocated().to_string())
                        .unwrap_or_else(|e| format!("<{e}>"));
                    format!(
                        "{} {} role={role} {resources}",
                        offer.id.value, offer.agent_id.value
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        }),
        Some(Type::Rescind) => event.rescind.as_ref().map(|r| r.offer_id.value.clone()),
        Some(Type::Update) => event.update.as_ref().map(|u| {
            let s = &u.status;
            let mut text = format!("{} {}", s.task_id.value, task_state_name(s.state));
            if let Some(uuid) = &s.uuid {
                let _ = write!(text, " uuid={}", hex(uuid));
            }
            if let Some(reason) = s
                .reason
                .and_then(|r| pb::task_status::Reason::try_from(r).ok())
            {
                let _ = write!(text, " {}", reason.as_str_name());
            }
            let failed = matches!(
                pb::TaskState::try_from(s.state),
                Ok(pb::TaskState::TaskError
                    | pb::TaskState::TaskFailed
                    | pb::TaskState::TaskLost
                    | pb::TaskState::TaskDropped)
            );
            if let (true, Some(message)) = (failed, &s.message) {
                let _ = write!(text, " \"{message}\"");
            }
            text
        }),
        Some(Type::Subscribed) => event
            .subscribed
            .as_ref()
            .map(|s| s.framework_id.value.clone()),
        Some(Type::Error) => event.error.as_ref().map(|e| e.message.clone()),
        _ => None,
    };
    match detail {
        Some(d) if !d.is_empty() => format!("{kind} {d}"),
        _ => kind.to_owned(),
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
