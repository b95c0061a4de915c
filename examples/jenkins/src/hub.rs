//! The controller's end of the agents' connections: a TCP listener that
//! turns what agents say into [`Input`]s for the controller, and gives the
//! controller an [`AgentLink`] to talk back.
//!
//! The controller stays the only owner of its state: connections do not
//! touch it, they queue inputs on the same channel as triggers, and the
//! SDK hands them over between the master's events. An agent names itself
//! by its task id in its first line; the controller accepts only agents it
//! launched and has not seen connect (anything else on the port is closed).

use std::fmt;
use std::time::Duration;

use corral::inputs::InputSender;
use corral::TaskId;
use tokio::io::BufReader;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::controller::Input;
use crate::wire::{self, FromAgent, ToAgent};

/// How long a new connection has to say which agent it is.
const HELLO_WITHIN: Duration = Duration::from_secs(10);

/// The controller's way to talk to one connected agent.
#[derive(Clone)]
pub struct AgentLink {
    tx: mpsc::UnboundedSender<ToAgent>,
}

impl fmt::Debug for AgentLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AgentLink")
    }
}

impl AgentLink {
    /// Sends an order; false when the connection is gone (its
    /// [`AgentEvent::Disconnected`] is on its way).
    pub fn send(&self, order: ToAgent) -> bool {
        self.tx.send(order).is_ok()
    }

    /// A link whose orders land in the returned receiver (for tests).
    pub fn pair() -> (AgentLink, mpsc::UnboundedReceiver<ToAgent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (AgentLink { tx }, rx)
    }
}

/// What a connection tells the controller.
#[derive(Debug)]
pub enum AgentEvent {
    /// An agent connected and said its name.
    Connected {
        /// Its task id.
        agent: TaskId,
        /// How to reach it.
        link: AgentLink,
        /// The build it says it is running (after a reconnection).
        running: Option<crate::queue::BuildId>,
    },
    /// An agent said something.
    Said {
        /// Its task id.
        agent: TaskId,
        /// What.
        message: FromAgent,
    },
    /// An agent's connection ended.
    Disconnected {
        /// Its task id.
        agent: TaskId,
    },
}

/// Accepts agents' connections. Dropping (or aborting) the future closes
/// the listener and every connection it accepted.
pub async fn serve(listener: TcpListener, inputs: InputSender<Input>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        // Reap the connections that ended.
        while connections.try_join_next().is_some() {}
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "accepting an agent's connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let inputs = inputs.clone();
        connections.spawn(async move {
            if let Err(e) = connection(stream, inputs).await {
                tracing::warn!(error = %e, "agent connection ended");
            }
        });
    }
}

async fn connection(stream: TcpStream, inputs: InputSender<Input>) -> Result<(), wire::WireError> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let hello = tokio::time::timeout(HELLO_WITHIN, wire::read::<_, FromAgent>(&mut reader)).await;
    let (agent, running) = match hello {
        Ok(Ok(Some(FromAgent::Hello { agent, build }))) => (TaskId::new(agent), build),
        Ok(Err(e)) => return Err(e),
        _ => {
            tracing::warn!("a connection that did not say hello: closed");
            return Ok(());
        }
    };
    let (link, mut orders) = AgentLink::pair();
    // The writer goes when the connection does (even if aborted).
    let _writer = AbortOnDrop(tokio::spawn(async move {
        while let Some(order) = orders.recv().await {
            if let Err(e) = wire::write(&mut write, &order).await {
                tracing::warn!(error = %e, "cannot write to an agent");
                break;
            }
        }
    }));
    let connected = AgentEvent::Connected {
        agent: agent.clone(),
        link,
        running,
    };
    if inputs.send(Input::Agent(connected)).await.is_err() {
        return Ok(()); // the controller has stopped
    }
    let outcome = loop {
        match wire::read::<_, FromAgent>(&mut reader).await {
            Ok(Some(message)) => {
                let said = AgentEvent::Said {
                    agent: agent.clone(),
                    message,
                };
                if inputs.send(Input::Agent(said)).await.is_err() {
                    return Ok(());
                }
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    let _ = inputs
        .send(Input::Agent(AgentEvent::Disconnected { agent }))
        .await;
    outcome
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
