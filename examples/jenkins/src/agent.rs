//! The agent: what runs inside an agent task (`jenkins agent`). It
//! connects back to the controller, says which agent it is, and runs the
//! builds it is given one at a time, as real processes, streaming their
//! output back line by line.
//!
//! Each step is `sh -c LINE` in a process group of its own, so stopping
//! it reaches everything it started: an abort (from the controller, or
//! the agent's own SIGTERM when its task is killed) sends SIGTERM to the
//! group, waits the grace period, then SIGKILL. When a step ends, whatever
//! it left in the background is killed too, so no build leaks a process
//! into the next one. The agent exits when it is told to stop (SIGTERM)
//! or gives up on its controller, after stopping its build; a broken
//! connection is opened again, so a restarted controller re-adopts it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::queue::BuildId;
use crate::wire::{self, FromAgent, ToAgent, WireError};

/// How long a starting agent tries to reach its controller.
pub const CONNECT_FOR: Duration = Duration::from_secs(10);
/// How long an agent that lost its controller tries to reach it again.
pub const RECONNECT_FOR: Duration = Duration::from_secs(30);
/// The first pause between connection attempts; it doubles up to
/// [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(1);
/// A welcomed agent's deadline: far enough never to matter while it stays
/// connected (a broken connection brings it back to [`RECONNECT_FOR`]).
const WELCOMED: Duration = Duration::from_secs(365 * 24 * 3600);

/// Why the agent stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The controller could not be reached.
    #[error("cannot reach the controller at {addr}: {source}")]
    Connect {
        /// Its address.
        addr: SocketAddr,
        /// The last attempt's error.
        #[source]
        source: std::io::Error,
    },
    /// The connection broke or carried garbage.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The SIGTERM handler could not be installed.
    #[error("installing the SIGTERM handler: {0}")]
    Signal(#[source] std::io::Error),
}

/// Runs the agent until it is stopped (SIGTERM) or gives up on its
/// controller. When stopped, its build's steps get `stop_grace` between
/// SIGTERM and SIGKILL.
///
/// A broken connection is opened again, the build under way running on:
/// the hello names it, so a restarted controller re-adopts agent and
/// build. An agent the controller does not welcome within
/// [`RECONNECT_FOR`] of losing it ([`CONNECT_FOR`] at start) gives up,
/// stops its build and exits, so none outlives its controller for long.
pub async fn run(
    controller: SocketAddr,
    name: String,
    stop_grace: Duration,
) -> Result<(), AgentError> {
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(AgentError::Signal)?;
    // Everything the agent says waits in the outbox for a connection.
    let (out, mut outbox) = mpsc::unbounded_channel::<FromAgent>();
    let mut unsent: Option<FromAgent> = None;
    // The build under way: its id, and where to send an abort's grace. A
    // build's task says it is over on `ended`.
    let mut current: Option<(BuildId, watch::Sender<Option<Duration>>)> = None;
    let (ended_tx, mut ended) = mpsc::unbounded_channel::<()>();
    let mut give_up_at = Instant::now() + CONNECT_FOR;
    let mut retry = RETRY_FIRST;
    let result = loop {
        let stream = tokio::select! {
            stream = TcpStream::connect(controller) => stream,
            _ = sigterm.recv() => break Ok(()),
        };
        let mut stream = match stream {
            Ok(stream) => stream,
            Err(source) if Instant::now() >= give_up_at => {
                break Err(AgentError::Connect {
                    addr: controller,
                    source,
                })
            }
            Err(_) => {
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(RETRY_MAX);
                continue;
            }
        };
        let hello = FromAgent::Hello {
            agent: name.clone(),
            build: current.as_ref().map(|(b, _)| b.clone()),
        };
        if wire::write(&mut stream, &hello).await.is_err() {
            tokio::time::sleep(retry).await;
            continue;
        }
        tracing::info!(agent = name, %controller, "connected");
        let (read, write) = stream.into_split();
        let mut reader = BufReader::new(read);
        let (stop_writer, stopped) = oneshot::channel();
        let writer = tokio::spawn(forward_outbox(outbox, unsent.take(), write, stopped));

        // `Some(result)`: leave for good; `None`: the connection broke.
        let leave = loop {
            tokio::select! {
                Some(()) = ended.recv() => current = None,
                _ = sigterm.recv() => {
                    tracing::info!(agent = name, "SIGTERM: stopping");
                    break Some(Ok(()));
                }
                order = wire::read::<_, ToAgent>(&mut reader) => match order {
                    Ok(Some(ToAgent::Welcome)) => {
                        // Taken on: no deadline until the connection breaks.
                        give_up_at = Instant::now() + WELCOMED;
                        retry = RETRY_FIRST;
                    }
                    Ok(Some(ToAgent::Run { build, steps, env })) => {
                        if current.is_some() {
                            tracing::warn!(%build, "a second build while one runs: refused");
                            let _ = out.send(FromAgent::Done { build, exit: -1, aborted: true });
                            continue;
                        }
                        let (abort, aborted) = watch::channel(None);
                        let (out, ended_tx) = (out.clone(), ended_tx.clone());
                        let b = build.clone();
                        tokio::spawn(async move {
                            run_build(b, steps, env, out, aborted).await;
                            let _ = ended_tx.send(());
                        });
                        current = Some((build, abort));
                    }
                    Ok(Some(ToAgent::Abort { build, grace_ms })) => {
                        if let Some((running, abort)) = &current {
                            if running == &build {
                                let _ = abort.send(Some(Duration::from_millis(grace_ms)));
                            }
                        }
                    }
                    Ok(None) => break None,
                    Err(e) => {
                        tracing::warn!(agent = name, error = %e, "connection broken");
                        break None;
                    }
                },
            }
        };
        let _ = stop_writer.send(());
        match writer.await {
            Ok((back, message)) => {
                outbox = back;
                unsent = message;
            }
            // The writer panicked and took the outbox: nothing more can be said.
            Err(_) => break Ok(()),
        }
        if let Some(result) = leave {
            break result;
        }
        give_up_at = give_up_at.min(Instant::now() + RECONNECT_FOR);
        if Instant::now() >= give_up_at {
            // Connected, but never welcomed back: not this controller's.
            tracing::warn!(
                agent = name,
                "the controller does not take this agent: leaving"
            );
            break Ok(());
        }
        tracing::info!(agent = name, "lost the controller; connecting again");
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(RETRY_MAX);
    };
    // Stop the build under way, gracefully, before leaving.
    if let Some((_, abort)) = current.take() {
        let _ = abort.send(Some(stop_grace));
        let _ = ended.recv().await;
    }
    result
}

/// Writes the outbox to one connection until told to stop or a write
/// fails; gives the outbox back, with the message that failed.
async fn forward_outbox(
    mut outbox: mpsc::UnboundedReceiver<FromAgent>,
    first: Option<FromAgent>,
    mut write: tokio::net::tcp::OwnedWriteHalf,
    mut stop: oneshot::Receiver<()>,
) -> (mpsc::UnboundedReceiver<FromAgent>, Option<FromAgent>) {
    if let Some(message) = first {
        if wire::write(&mut write, &message).await.is_err() {
            return (outbox, Some(message));
        }
    }
    loop {
        let message = tokio::select! {
            message = outbox.recv() => match message {
                Some(message) => message,
                None => return (outbox, None),
            },
            _ = &mut stop => return (outbox, None),
        };
        if let Err(e) = wire::write(&mut write, &message).await {
            tracing::warn!(error = %e, "cannot write to the controller");
            return (outbox, Some(message));
        }
    }
}

/// Runs the steps in order; the first that fails (or an abort) ends the
/// build. Reports the end on `out`.
async fn run_build(
    build: BuildId,
    steps: Vec<String>,
    env: BTreeMap<String, String>,
    out: mpsc::UnboundedSender<FromAgent>,
    mut abort: watch::Receiver<Option<Duration>>,
) {
    let mut exit = 0;
    let mut aborted = false;
    for step in steps {
        let _ = out.send(FromAgent::Log {
            build: build.clone(),
            text: format!("+ {step}\n"),
        });
        match run_step(&build, &step, &env, &out, &mut abort).await {
            Ok(StepEnd::Exited(0)) => {}
            Ok(StepEnd::Exited(code)) => {
                exit = code;
                break;
            }
            Ok(StepEnd::Aborted(code)) => {
                exit = code;
                aborted = true;
                break;
            }
            Err(e) => {
                let _ = out.send(FromAgent::Log {
                    build: build.clone(),
                    text: format!("cannot start the step: {e}\n"),
                });
                exit = 127;
                break;
            }
        }
    }
    let _ = out.send(FromAgent::Done {
        build,
        exit,
        aborted,
    });
}

enum StepEnd {
    Exited(i32),
    Aborted(i32),
}

async fn run_step(
    build: &BuildId,
    step: &str,
    env: &BTreeMap<String, String>,
    out: &mpsc::UnboundedSender<FromAgent>,
    abort: &mut watch::Receiver<Option<Duration>>,
) -> std::io::Result<StepEnd> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(step)
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let group = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw);
    let readers = [
        child
            .stdout
            .take()
            .map(|s| forward(s, build.clone(), out.clone())),
        child
            .stderr
            .take()
            .map(|s| forward(s, build.clone(), out.clone())),
    ];
    let aborted = *abort.borrow();
    let end = match aborted {
        Some(grace) => stop(&mut child, group, grace).await?,
        None => tokio::select! {
            status = child.wait() => StepEnd::Exited(code(status?)),
            grace = wait_for_abort(abort) => stop(&mut child, group, grace).await?,
        },
    };
    // Whatever the step left running in its group goes with it.
    signal(group, Signal::SIGKILL);
    for reader in readers.into_iter().flatten() {
        let _ = reader.await;
    }
    Ok(end)
}

async fn wait_for_abort(abort: &mut watch::Receiver<Option<Duration>>) -> Duration {
    loop {
        if let Some(grace) = *abort.borrow_and_update() {
            return grace;
        }
        if abort.changed().await.is_err() {
            // No one can abort any more: wait for the step.
            std::future::pending::<()>().await;
        }
    }
}

/// SIGTERM to the step's group, SIGKILL after `grace` if it is still there.
async fn stop(child: &mut Child, group: Option<Pid>, grace: Duration) -> std::io::Result<StepEnd> {
    signal(group, Signal::SIGTERM);
    let status = match tokio::time::timeout(grace, child.wait()).await {
        Ok(status) => status?,
        Err(_) => {
            signal(group, Signal::SIGKILL);
            child.wait().await?
        }
    };
    Ok(StepEnd::Aborted(code(status)))
}

fn signal(group: Option<Pid>, signal: Signal) {
    if let Some(group) = group {
        match killpg(group, signal) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(e) => tracing::warn!(%group, ?signal, error = %e, "cannot signal the step"),
        }
    }
}

fn code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

fn forward<R: AsyncRead + Unpin + Send + 'static>(
    stream: R,
    build: BuildId,
    out: mpsc::UnboundedSender<FromAgent>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            // A line, or a 64 KiB piece of an endless one.
            match (&mut lines)
                .take(64 * 1024)
                .read_until(b'\n', &mut line)
                .await
            {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line).into_owned();
                    if out
                        .send(FromAgent::Log {
                            build: build.clone(),
                            text,
                        })
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    })
}
