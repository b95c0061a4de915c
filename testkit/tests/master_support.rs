//! Helpers shared by the `master_*` tests (each includes this file with
//! `#[path]`): call builders, and a scheduler driven over gRPC.
#![allow(dead_code)]

use corral_proto::convert::*;
use std::time::Duration;

use corral::{FrameworkId, Resources};
use corral_proto::pb;
use corral_proto::pb::call::Type as CallType;
use corral_proto::pb::event::Type as EventType;
use corral_proto::pb::framework_info::capability::Type as Capability;
use corral_proto::pb::scheduler_client::SchedulerClient;
use corral_testkit::master::{MockMaster, STREAM_ID_HEADER};
use tokio::time::Instant;
use tonic::transport::Channel;
use tonic::{Request, Status, Streaming};

/// How long (virtual time, on the paused clock) to wait for one event.
pub const EVENT_WAIT: Duration = Duration::from_secs(3600);

pub fn framework_info(
    name: &str,
    roles: &[&str],
    capabilities: &[Capability],
) -> pb::FrameworkInfo {
    pb::FrameworkInfo {
        user: "tester".into(),
        name: name.into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        capabilities: capabilities
            .iter()
            .map(|c| pb::framework_info::Capability {
                r#type: Some(*c as i32),
            })
            .collect(),
        ..Default::default()
    }
}

pub fn subscribe_call(info: pb::FrameworkInfo, suppressed: &[&str]) -> pb::Call {
    pb::Call {
        framework_id: info.id.clone(),
        r#type: Some(CallType::Subscribe as i32),
        subscribe: Some(pb::call::Subscribe {
            framework_info: info,
            suppressed_roles: suppressed.iter().map(|r| (*r).to_owned()).collect(),
        }),
        ..Default::default()
    }
}

pub fn call(fw: &FrameworkId, kind: CallType) -> pb::Call {
    pb::Call {
        framework_id: Some(fw.to_pb()),
        r#type: Some(kind as i32),
        ..Default::default()
    }
}

pub fn resources(text: &str) -> Vec<pb::Resource> {
    Resources::parse(text)
        .expect("test resources parse")
        .to_pb()
}

/// A command task on `offer`'s agent; `labels` steer the simulation.
pub fn task(id: &str, offer: &pb::Offer, res: &str, labels: &[(&str, &str)]) -> pb::TaskInfo {
    pb::TaskInfo {
        name: id.into(),
        task_id: pb::TaskId { value: id.into() },
        agent_id: offer.agent_id.clone(),
        resources: resources(res),
        command: Some(pb::CommandInfo {
            value: Some("./run".into()),
            ..Default::default()
        }),
        labels: Some(pb::Labels {
            labels: labels
                .iter()
                .map(|(k, v)| pb::Label {
                    key: (*k).into(),
                    value: Some((*v).into()),
                })
                .collect(),
        }),
        ..Default::default()
    }
}

pub fn launch(tasks: Vec<pb::TaskInfo>) -> pb::offer::Operation {
    pb::offer::Operation {
        r#type: Some(pb::offer::operation::Type::Launch as i32),
        launch: Some(pb::offer::operation::Launch { task_infos: tasks }),
        ..Default::default()
    }
}

pub fn accept_call(
    fw: &FrameworkId,
    offers: &[&pb::OfferId],
    operations: Vec<pb::offer::Operation>,
    refuse_seconds: Option<f64>,
) -> pb::Call {
    pb::Call {
        accept: Some(pb::call::Accept {
            offer_ids: offers.iter().map(|o| (*o).clone()).collect(),
            operations,
            filters: refuse_seconds.map(|s| pb::Filters {
                refuse_seconds: Some(s),
            }),
        }),
        ..call(fw, CallType::Accept)
    }
}

pub fn decline_call(
    fw: &FrameworkId,
    offers: &[&pb::OfferId],
    refuse_seconds: Option<f64>,
) -> pb::Call {
    pb::Call {
        decline: Some(pb::call::Decline {
            offer_ids: offers.iter().map(|o| (*o).clone()).collect(),
            filters: refuse_seconds.map(|s| pb::Filters {
                refuse_seconds: Some(s),
            }),
        }),
        ..call(fw, CallType::Decline)
    }
}

pub fn kill_call(fw: &FrameworkId, task: &str, grace: Option<Duration>) -> pb::Call {
    pb::Call {
        kill: Some(pb::call::Kill {
            task_id: pb::TaskId { value: task.into() },
            agent_id: None,
            kill_policy: grace.map(|g| pb::KillPolicy {
                grace_period: Some(pb::DurationInfo {
                    nanoseconds: g.as_nanos() as i64,
                }),
            }),
        }),
        ..call(fw, CallType::Kill)
    }
}

pub fn ack_call(fw: &FrameworkId, status: &pb::TaskStatus) -> pb::Call {
    pb::Call {
        acknowledge: Some(pb::call::Acknowledge {
            agent_id: status.agent_id.clone().unwrap_or_default(),
            task_id: status.task_id.clone(),
            uuid: status
                .uuid
                .clone()
                .expect("an acknowledgeable update has a uuid"),
        }),
        ..call(fw, CallType::Acknowledge)
    }
}

pub fn roles_call(fw: &FrameworkId, kind: CallType, roles: &[&str]) -> pb::Call {
    let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
    let mut call = call(fw, kind);
    match kind {
        CallType::Revive => call.revive = Some(pb::call::Revive { roles }),
        CallType::Suppress => call.suppress = Some(pb::call::Suppress { roles }),
        other => panic!("roles_call does not build {other:?}"),
    }
    call
}

pub fn reconcile_call(fw: &FrameworkId, tasks: &[&str]) -> pb::Call {
    pb::Call {
        reconcile: Some(pb::call::Reconcile {
            tasks: tasks
                .iter()
                .map(|t| pb::call::reconcile::Task {
                    task_id: pb::TaskId { value: (*t).into() },
                    agent_id: None,
                })
                .collect(),
        }),
        ..call(fw, CallType::Reconcile)
    }
}

pub fn kind(event: &pb::Event) -> EventType {
    event.r#type()
}

pub fn state_of(status: &pb::TaskStatus) -> pb::TaskState {
    status.state()
}

/// A framework driven over gRPC.
pub struct Sched {
    pub client: SchedulerClient<Channel>,
    pub events: Streaming<pb::Event>,
    pub id: FrameworkId,
    pub stream_id: String,
    /// Offers of an OFFERS event not handed out yet (one event holds every
    /// offer of an allocation cycle).
    pub pending_offers: std::collections::VecDeque<pb::Offer>,
}

impl Sched {
    /// Subscribes and reads SUBSCRIBED.
    pub async fn subscribe(
        master: &MockMaster,
        info: pb::FrameworkInfo,
        suppressed: &[&str],
    ) -> Sched {
        let mut client = corral_testkit::wire::client(master).await.expect("connect");
        let response = client
            .subscribe(subscribe_call(info, suppressed))
            .await
            .expect("subscribe");
        let stream_id = response
            .metadata()
            .get(STREAM_ID_HEADER)
            .expect("mesos-stream-id metadata")
            .to_str()
            .expect("ascii stream id")
            .to_owned();
        let mut events = response.into_inner();
        let first = events.message().await.expect("stream").expect("an event");
        assert_eq!(kind(&first), EventType::Subscribed, "{first:?}");
        let id = FrameworkId::from(first.subscribed.expect("payload").framework_id);
        Sched {
            client,
            events,
            id,
            stream_id,
            pending_offers: std::collections::VecDeque::new(),
        }
    }

    /// Sends a call with this framework's stream id.
    pub async fn send(&mut self, call: pb::Call) -> Result<(), Status> {
        let mut request = Request::new(call);
        request.metadata_mut().insert(
            STREAM_ID_HEADER,
            self.stream_id.parse().expect("ascii stream id"),
        );
        self.client.send(request).await.map(|_| ())
    }

    /// The next event, heartbeats included; `None` when the stream ended.
    pub async fn next_raw(&mut self) -> Option<pb::Event> {
        tokio::time::timeout(EVENT_WAIT, self.events.message())
            .await
            .expect("an event within the wait")
            .expect("a healthy stream")
    }

    /// The next event that is not a HEARTBEAT.
    pub async fn next(&mut self) -> pb::Event {
        loop {
            let event = self.next_raw().await.expect("stream still open");
            if kind(&event) != EventType::Heartbeat {
                return event;
            }
        }
    }

    /// The next offer (from the OFFERS event being read, else the next
    /// one); panics on anything but offers and heartbeats.
    pub async fn next_offer(&mut self) -> pb::Offer {
        if let Some(offer) = self.pending_offers.pop_front() {
            return offer;
        }
        let event = self.next().await;
        assert_eq!(kind(&event), EventType::Offers, "{event:?}");
        self.pending_offers = event.offers.expect("payload").offers.into();
        self.pending_offers
            .pop_front()
            .expect("an OFFERS event holds at least one offer")
    }

    /// The next status update, skipping heartbeats, offers and rescinds.
    pub async fn next_update(&mut self) -> pb::TaskStatus {
        loop {
            let event = self.next().await;
            match kind(&event) {
                EventType::Update => return event.update.expect("payload").status,
                EventType::Offers | EventType::Rescind => {}
                other => panic!("expected an update, got {other:?}: {event:?}"),
            }
        }
    }

    /// Acknowledges `status`.
    pub async fn ack(&mut self, status: &pb::TaskStatus) {
        let call = ack_call(&self.id.clone(), status);
        self.send(call).await.expect("ack accepted");
    }

    /// Every event (heartbeats included) that arrives before `deadline`.
    pub async fn events_until(&mut self, deadline: Instant) -> Vec<pb::Event> {
        let mut out = Vec::new();
        while let Ok(event) = tokio::time::timeout_at(deadline, self.events.message()).await {
            match event.expect("a healthy stream") {
                Some(event) => out.push(event),
                None => break,
            }
        }
        out
    }
}
