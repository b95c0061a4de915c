//! The driver's side of the executor protocol: a TCP listener on loopback
//! that takes executors' connections and turns what they say into the
//! scheduler's inputs ([`Input`]), so executor messages reach the
//! scheduler between the master's events, on its task.

use corral::inputs::InputSender;
use tokio::io::BufReader;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::wire::{self, FromExecutor, ToExecutor};

/// What the hub tells the scheduler.
#[derive(Debug)]
pub enum Input {
    /// An executor connected; send it work on `to`.
    Connected {
        /// The id it gave.
        executor: String,
        /// Its outgoing queue.
        to: mpsc::UnboundedSender<ToExecutor>,
    },
    /// An executor said something.
    From {
        /// Who.
        executor: String,
        /// What.
        message: FromExecutor,
    },
    /// An executor's connection ended.
    Gone {
        /// Who.
        executor: String,
        /// Why, when it was an error.
        error: Option<String>,
    },
}

/// Accepts executors until the scheduler stops taking inputs.
pub async fn serve(listener: TcpListener, inputs: InputSender<Input>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(stream, inputs.clone()));
    }
}

async fn connection(stream: TcpStream, inputs: InputSender<Input>) {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let executor = match wire::read::<_, FromExecutor>(&mut read).await {
        Ok(Some(FromExecutor::Hello { executor })) => {
            executor.chars().take(200).collect::<String>()
        }
        other => {
            tracing::warn!(first = ?other.map(|m| m.map(|_| "not a hello")), "executor connection refused");
            return;
        }
    };
    let (to, mut outgoing) = mpsc::unbounded_channel::<ToExecutor>();
    tokio::spawn(async move {
        while let Some(m) = outgoing.recv().await {
            let stop = m == ToExecutor::Stop;
            if wire::write(&mut write, &m).await.is_err() || stop {
                break;
            }
        }
    });
    if inputs
        .send(Input::Connected {
            executor: executor.clone(),
            to,
        })
        .await
        .is_err()
    {
        return;
    }
    let error = loop {
        match wire::read::<_, FromExecutor>(&mut read).await {
            Ok(Some(message)) => {
                if inputs
                    .send(Input::From {
                        executor: executor.clone(),
                        message,
                    })
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Ok(None) => break None,
            Err(e) => break Some(e.to_string()),
        }
    };
    let _ = inputs.send(Input::Gone { executor, error }).await;
}
