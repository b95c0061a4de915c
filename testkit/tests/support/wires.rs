//! The wires an end-to-end scenario runs over, so that one scenario body
//! covers both of the master's doors: corral's gRPC service
//! ([`MockMaster::transport`]) and the Mesos v1 scheduler HTTP API through
//! the SDK's `HttpTransport` ([`MockMaster::http_transport`]), in protobuf
//! and in JSON. Included by path (`#[path = "support/wires.rs"] mod
//! wires;`), so each test file takes only this.
//!
//! [`over_every_wire!`] turns each named `async fn scenario(wire: Wire)`
//! into a module of one test per wire (`scenario::grpc`,
//! `scenario::http_protobuf`, `scenario::http_json`);
//! [`over_every_wire_real_time!`] does the same for scenarios on real
//! time (TCP masters).

#![allow(dead_code, unused_macros, unused_imports)]

use std::sync::Arc;

use async_trait::async_trait;
use corral::{
    Call, Encoding, HttpConfig, Session, Subscribe, Subscription, Transport, TransportError,
};
use corral_testkit::MockMaster;

/// One way to reach the master.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// corral's gRPC service.
    Grpc,
    /// The Mesos HTTP door, `application/x-protobuf`.
    HttpProtobuf,
    /// The Mesos HTTP door, `application/json` (stout's mapping).
    HttpJson,
}

impl Wire {
    /// Whether this wire is the Mesos HTTP door.
    pub fn is_http(self) -> bool {
        self != Wire::Grpc
    }

    /// A framework transport to `master` over this wire.
    pub async fn transport(self, master: &MockMaster) -> AnyWire {
        let http = |encoding| {
            let config = HttpConfig::new(Vec::<String>::new()).with_encoding(encoding);
            let transport = master.http_transport(config).expect("HTTP transport");
            AnyWire(Arc::new(transport))
        };
        match self {
            Wire::Grpc => AnyWire(Arc::new(master.transport().await.expect("gRPC transport"))),
            Wire::HttpProtobuf => http(Encoding::Protobuf),
            Wire::HttpJson => http(Encoding::Json),
        }
    }
}

/// Whichever transport a [`Wire`] gave. Cheap to clone.
#[derive(Clone)]
pub struct AnyWire(pub Arc<dyn Transport>);

#[async_trait]
impl Transport for AnyWire {
    async fn subscribe(&self, call: Subscribe) -> Result<Subscription, TransportError> {
        self.0.subscribe(call).await
    }

    async fn send(&self, session: &Session, call: Call) -> Result<(), TransportError> {
        self.0.send(session, call).await
    }

    fn endpoint(&self) -> String {
        self.0.endpoint()
    }
}

/// For each `scenario` (an `async fn scenario(wire: Wire)` in scope), a
/// module `scenario` of three tests on tokio's paused clock: `grpc`,
/// `http_protobuf`, `http_json`.
macro_rules! over_every_wire {
    ($($scenario:ident),+ $(,)?) => {$(
        mod $scenario {
            use super::wires::Wire;

            #[tokio::test(start_paused = true)]
            async fn grpc() {
                super::$scenario(Wire::Grpc).await
            }

            #[tokio::test(start_paused = true)]
            async fn http_protobuf() {
                super::$scenario(Wire::HttpProtobuf).await
            }

            #[tokio::test(start_paused = true)]
            async fn http_json() {
                super::$scenario(Wire::HttpJson).await
            }
        }
    )+};
}

/// [`over_every_wire!`] for one scenario whose HTTP variants are known to
/// fail: they are generated and marked `#[ignore = $why]`, so that
/// `cargo test -- --ignored` shows the finding until it is fixed.
macro_rules! over_every_wire_http_ignored {
    ($scenario:ident, $why:literal) => {
        mod $scenario {
            use super::wires::Wire;

            #[tokio::test(start_paused = true)]
            async fn grpc() {
                super::$scenario(Wire::Grpc).await
            }

            #[tokio::test(start_paused = true)]
            #[ignore = $why]
            async fn http_protobuf() {
                super::$scenario(Wire::HttpProtobuf).await
            }

            #[tokio::test(start_paused = true)]
            #[ignore = $why]
            async fn http_json() {
                super::$scenario(Wire::HttpJson).await
            }
        }
    };
}

/// [`over_every_wire!`] on real time (for TCP masters), `grpc` and
/// `http_protobuf` and `http_json` each.
macro_rules! over_every_wire_real_time {
    ($($scenario:ident),+ $(,)?) => {$(
        mod $scenario {
            use super::wires::Wire;

            #[tokio::test]
            async fn grpc() {
                super::$scenario(Wire::Grpc).await
            }

            #[tokio::test]
            async fn http_protobuf() {
                super::$scenario(Wire::HttpProtobuf).await
            }

            #[tokio::test]
            async fn http_json() {
                super::$scenario(Wire::HttpJson).await
            }
        }
    )+};
}

pub(crate) use over_every_wire;
pub(crate) use over_every_wire_http_ignored;
pub(crate) use over_every_wire_real_time;
