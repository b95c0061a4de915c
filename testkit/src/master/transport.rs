//! The in-memory transport: gRPC over `tokio::io::duplex` pipes, no socket.
//! The connector makes a fresh pipe per client connection and hands the
//! server half to the server's incoming stream.

use std::io;

use hyper_util::rt::TokioIo;
use tokio::io::DuplexStream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::transport::{Channel, Endpoint, Uri};

/// Bytes buffered in each direction of a pipe.
const PIPE_CAPACITY: usize = 1 << 20;
/// HTTP/2's default flow-control window of a stream (and, ten times that,
/// of a connection), as a plain HTTP/2 peer has it: a subscriber that stops
/// reading backs up into the master's bounded event queue after 64 KiB,
/// not after the megabytes a tuned client would allow.
const STREAM_WINDOW: u32 = 65_535;

/// The server side: a stream of accepted connections.
pub(super) type Incoming = UnboundedReceiverStream<io::Result<DuplexStream>>;

/// The client side: opens connections to the in-memory server.
#[derive(Clone, Debug)]
pub(super) struct InMemoryConnector {
    connections: mpsc::UnboundedSender<io::Result<DuplexStream>>,
}

/// A connector and the server's incoming stream it feeds.
pub(super) fn in_memory() -> (InMemoryConnector, Incoming) {
    let (connections, incoming) = mpsc::unbounded_channel();
    (
        InMemoryConnector { connections },
        UnboundedReceiverStream::new(incoming),
    )
}

impl InMemoryConnector {
    /// One new connection: the client half of a fresh pipe (the server
    /// half goes to the server). For clients other than tonic's, such as
    /// the SDK's `HttpTransport` through its dialer.
    pub(super) fn dial(&self) -> io::Result<DuplexStream> {
        let (client, server) = tokio::io::duplex(PIPE_CAPACITY);
        self.connections.send(Ok(server)).map_err(|_| {
            io::Error::new(
                io::ErrorKind::ConnectionRefused,
                "the mock master is shut down",
            )
        })?;
        Ok(client)
    }

    /// A channel whose connections are in-memory pipes to the server.
    pub(super) async fn channel(&self) -> Result<Channel, tonic::transport::Error> {
        let connections = self.connections.clone();
        Endpoint::from_static("http://in-memory")
            .initial_stream_window_size(STREAM_WINDOW)
            .initial_connection_window_size(STREAM_WINDOW * 10)
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let connections = connections.clone();
                async move {
                    let (client, server) = tokio::io::duplex(PIPE_CAPACITY);
                    connections.send(Ok(server)).map_err(|_| {
                        io::Error::new(
                            io::ErrorKind::ConnectionRefused,
                            "the mock master is shut down",
                        )
                    })?;
                    Ok::<_, io::Error>(TokioIo::new(client))
                }
            }))
            .await
    }
}
