//! The executor process (`spark-like executor`): what runs inside an
//! executor task on a local agent. It connects back to the driver, says
//! which executor it is, runs the attempts it is sent (several at once, as
//! many as the driver sends: the driver keeps to the executor's cores),
//! answers each with its output, and stops one when told. It exits when
//! told to stop, when the driver's connection ends, or (`--once`, fine
//! mode) after its first attempt.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::BufReader;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::wire::{self, FromExecutor, ToExecutor, WireError};
use crate::work::{compute, Work};

/// How long a starting executor tries to reach its driver.
pub const CONNECT_FOR: Duration = Duration::from_secs(10);

/// Runs an executor until its driver lets it go.
pub async fn run(driver: SocketAddr, id: String, once: bool) -> Result<(), WireError> {
    let stream = connect(driver).await?;
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    wire::write(&mut write, &FromExecutor::Hello { executor: id }).await?;
    let (done_tx, mut done_rx) = mpsc::channel::<FromExecutor>(64);
    let writer = tokio::spawn(async move {
        while let Some(message) = done_rx.recv().await {
            let last = once && matches!(message, FromExecutor::Done { .. });
            if wire::write(&mut write, &message).await.is_err() || last {
                break;
            }
        }
    });
    let mut running: BTreeMap<u64, JoinHandle<()>> = BTreeMap::new();
    loop {
        tokio::select! {
            message = wire::read::<_, ToExecutor>(&mut read) => match message? {
                None | Some(ToExecutor::Stop) => break,
                Some(ToExecutor::Kill { attempt }) => {
                    if let Some(task) = running.remove(&attempt) {
                        task.abort();
                    }
                }
                Some(ToExecutor::Run { attempt, work }) => {
                    running.retain(|_, t| !t.is_finished());
                    let tx = done_tx.clone();
                    running.insert(attempt, tokio::spawn(run_attempt(attempt, work, tx)));
                }
            },
            _ = closed(&writer), if once => break,
        }
    }
    for (_, task) in running {
        task.abort();
    }
    drop(done_tx);
    let _ = writer.await;
    Ok(())
}

async fn closed(writer: &JoinHandle<()>) {
    while !writer.is_finished() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn run_attempt(attempt: u64, work: Work, tx: mpsc::Sender<FromExecutor>) {
    let _ = tx.send(FromExecutor::Started { attempt }).await;
    let output = match work {
        Work::Sleep { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            compute(&Work::Sleep { ms })
        }
        work => match tokio::task::spawn_blocking(move || compute(&work)).await {
            Ok(output) => output,
            Err(_) => return,
        },
    };
    let _ = tx.send(FromExecutor::Done { attempt, output }).await;
}

async fn connect(driver: SocketAddr) -> Result<TcpStream, WireError> {
    let deadline = tokio::time::Instant::now() + CONNECT_FOR;
    let mut pause = Duration::from_millis(20);
    loop {
        match TcpStream::connect(driver).await {
            Ok(s) => {
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) if tokio::time::Instant::now() + pause > deadline => return Err(e.into()),
            Err(_) => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(500));
            }
        }
    }
}
