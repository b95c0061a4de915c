//! Connections that a [`Dialer`] opens in place of TCP: the hook that lets
//! an [`HttpTransport`](super::HttpTransport) reach a master that is not
//! on a socket (the testkit's in-memory mock master, on tokio's paused
//! clock), with everything above the byte stream (HTTP/1.1, TLS when the
//! URL is `https`, RecordIO) unchanged.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;

/// A byte stream to a master: anything tokio can read and write.
pub trait DialedIo: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}

impl<T> DialedIo for T where T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static
{}

/// Opens a connection to a master, given its authority (`host:port` of
/// the master URL), instead of a TCP connect. Each call is one new
/// connection: the subscription and the pooled calls each get their own.
pub trait Dialer: Send + Sync + 'static {
    /// A new connection to `authority`.
    fn dial(&self, authority: &str) -> BoxFuture<'static, io::Result<Box<dyn DialedIo>>>;
}

impl Connection for Box<dyn DialedIo> {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

/// The dialer as a connector for hyper's client.
#[derive(Clone)]
pub(super) struct DialService(pub(super) Arc<dyn Dialer>);

type Dialing = Pin<Box<dyn Future<Output = io::Result<TokioIo<Box<dyn DialedIo>>>> + Send>>;

impl tower_service::Service<Uri> for DialService {
    type Response = TokioIo<Box<dyn DialedIo>>;
    type Error = io::Error;
    type Future = Dialing;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let authority = uri.authority().map(|a| a.to_string()).unwrap_or_default();
        let dialing = self.0.dial(&authority);
        Box::pin(async move { dialing.await.map(TokioIo::new) })
    }
}
