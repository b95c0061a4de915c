//! SUBSCRIBE: a new framework, a resubscription of a known one (failover:
//! its old stream closes, its offers are withdrawn, its unacknowledged
//! updates are sent again), an id the master does not know (accepted with
//! that id), or a removed one (ERROR, then the stream ends). Also the
//! FrameworkInfo update shared with UPDATE_FRAMEWORK.

use std::time::Duration;

use corral::FrameworkId;
use corral_proto::pb;
use corral_proto::pb::call::Type as CallType;
use tracing::{debug, info, warn};

use super::books::frameworks::FrameworkRecord;
use super::core::{allocator_ok, MasterCore, Subscription};
use super::error::CallError;
use super::outbox::{self, Outgoing};
use super::validate::{self, ValidFramework};

impl MasterCore {
    /// Handles a SUBSCRIBE (new framework, resubscription or failover).
    /// `Err`: the RPC fails and no stream opens.
    pub fn subscribe(&mut self, now: Duration, call: pb::Call) -> Result<Subscription, CallError> {
        let result = self.try_subscribe(now, call);
        if let Err(err) = &result {
            warn!(%err, "SUBSCRIBE refused");
        }
        result
    }

    fn try_subscribe(&mut self, now: Duration, call: pb::Call) -> Result<Subscription, CallError> {
        let kind = validate::call_type(&call)?;
        if kind != CallType::Subscribe {
            return Err(CallError::WrongRpc {
                call: kind.as_str_name(),
                rpc: "Send",
            });
        }
        let subscribe = call.subscribe.ok_or(CallError::MissingPayload {
            call: "SUBSCRIBE",
            field: "subscribe",
        })?;
        let info = subscribe.framework_info;
        let call_id = call.framework_id.map(|id| id.value);
        let info_id = info.id.as_ref().map(|id| id.value.clone());
        if call_id != info_id {
            return Err(CallError::FrameworkIdMismatch {
                call: call_id,
                info: info_id,
            });
        }
        let valid = validate::framework_info(&info, &subscribe.suppressed_roles)?;
        let id = info_id.map(FrameworkId::new);
        let removed = id.as_ref().is_some_and(|id| self.frameworks.is_removed(id));
        if !removed {
            self.check_framework_cap(id.as_ref())?;
        }
        match id {
            Some(id) if removed => {
                let stream = self.next_stream_id();
                warn!(framework = %id, "SUBSCRIBE of a removed framework; answering ERROR");
                self.outbox.push(Outgoing::Event {
                    stream: stream.clone(),
                    event: Box::new(outbox::error(format!("framework {id} has been removed"))),
                });
                self.outbox.push(Outgoing::Close {
                    stream: stream.clone(),
                });
                Ok(Subscription {
                    stream,
                    framework: None,
                })
            }
            Some(id) if self.frameworks.contains(&id) => self.resubscribe(now, id, info, valid),
            Some(id) => self.add_framework(now, id, info, valid),
            None => {
                let id = self.frameworks.issue_id();
                self.add_framework(now, id, info, valid)
            }
        }
    }

    /// Refuses a subscription that would connect one framework more than
    /// `max_connected_frameworks` (a framework already connected replaces
    /// its own stream).
    fn check_framework_cap(&self, id: Option<&FrameworkId>) -> Result<(), CallError> {
        let max = self.config.max_connected_frameworks;
        let connected_already = id.is_some_and(|id| self.frameworks.stream_of(id).is_some());
        let connected = self.frameworks.connected_count();
        if !connected_already && connected >= max {
            return Err(CallError::TooManyFrameworks { max });
        }
        Ok(())
    }

    fn add_framework(
        &mut self,
        now: Duration,
        id: FrameworkId,
        info: pb::FrameworkInfo,
        valid: ValidFramework,
    ) -> Result<Subscription, CallError> {
        let stream = self.next_stream_id();
        let connection = self.connected(now, &stream);
        let record = FrameworkRecord::new(id.clone(), info, valid, connection);
        self.allocator
            .add_framework(id.clone(), record.spec())
            .map_err(CallError::Allocator)?;
        info!(framework = %id, %stream, roles = ?record.roles, "framework subscribed");
        self.frameworks.insert(record);
        self.emit(
            &id,
            outbox::subscribed(&id, self.config.heartbeat_interval, &self.master_info),
        );
        self.allocate_now(now);
        Ok(Subscription {
            stream,
            framework: Some(id),
        })
    }

    fn resubscribe(
        &mut self,
        now: Duration,
        id: FrameworkId,
        info: pb::FrameworkInfo,
        valid: ValidFramework,
    ) -> Result<Subscription, CallError> {
        let Some(record) = self.frameworks.get(&id) else {
            return Err(CallError::Internal(format!("framework {id} vanished")));
        };
        validate::immutable_fields(&record.info, &info)?;
        if let Some(old) = record.stream().cloned() {
            debug!(framework = %id, %old, "closing the old stream of a resubscribing framework");
            self.outbox.push(Outgoing::Close { stream: old });
        }
        // The new scheduler instance does not know the old one's offers.
        self.withdraw_offers(now, &id);
        self.apply_framework_info(&id, info, valid);
        let stream = self.next_stream_id();
        let next_heartbeat = now.saturating_add(self.config.heartbeat_interval);
        self.frameworks.connect(&id, stream.clone(), next_heartbeat);
        allocator_ok(
            &mut self.broken,
            self.allocator.activate_framework(&id, true),
            "activate",
        );
        info!(framework = %id, %stream, "framework resubscribed");
        self.emit(
            &id,
            outbox::subscribed(&id, self.config.heartbeat_interval, &self.master_info),
        );
        for status in self.updates.resume(now, &id) {
            self.emit(&id, outbox::update(status));
        }
        self.resend_revocations(&id);
        self.resend_maintenance_offers(&id);
        self.allocate_now(now);
        Ok(Subscription {
            stream,
            framework: Some(id),
        })
    }

    /// Replaces a framework's info, tells the allocator, and revives the
    /// roles that leave the suppressed state. Returns whether it gained
    /// roles or unsuppressed some (an allocation is then due).
    pub(super) fn apply_framework_info(
        &mut self,
        id: &FrameworkId,
        info: pb::FrameworkInfo,
        valid: ValidFramework,
    ) -> bool {
        let Some(applied) = self.frameworks.apply(id, info, valid) else {
            return false;
        };
        let (spec, unsuppressed, gained_roles) =
            (applied.spec, applied.unsuppressed, applied.gained_roles);
        allocator_ok(
            &mut self.broken,
            self.allocator.update_framework(id, spec),
            "update_framework",
        );
        if !unsuppressed.is_empty() {
            allocator_ok(
                &mut self.broken,
                self.allocator.revive(id, &unsuppressed),
                "revive",
            );
        }
        gained_roles || !unsuppressed.is_empty()
    }
}
