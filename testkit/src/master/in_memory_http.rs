//! The SDK's `HttpTransport` to an in-memory master: a [`Dialer`] whose
//! every connection is a fresh in-memory pipe to the master's server, so
//! the Mesos door is driven on tokio's paused clock exactly as over TCP
//! (HTTP/1.1, RecordIO, the same headers), with no socket.

use std::io;

use corral::{DialedIo, Dialer};
use futures::future::BoxFuture;

use super::transport::InMemoryConnector;
use super::IN_MEMORY_AUTHORITY;

/// Dials the in-memory master's pipes; any other authority is refused.
pub(super) struct PipeDialer(pub(super) InMemoryConnector);

impl Dialer for PipeDialer {
    fn dial(&self, authority: &str) -> BoxFuture<'static, io::Result<Box<dyn DialedIo>>> {
        let dialed = if authority == IN_MEMORY_AUTHORITY {
            self.0
                .dial()
                .map(|pipe| Box::new(pipe) as Box<dyn DialedIo>)
        } else {
            Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                format!(
                    "an in-memory master is reached only as {IN_MEMORY_AUTHORITY}, not {:?}",
                    authority.chars().take(64).collect::<String>()
                ),
            ))
        };
        Box::pin(std::future::ready(dialed))
    }
}
