//! The line protocol between the controller and its agents: one JSON
//! object per line over a TCP connection the agent opens back to the
//! controller (the address is on the agent task's command line).
//!
//! ```text
//! agent -> controller  {"type":"hello","agent":"agent-linux-0001","build":null}
//! controller -> agent  {"type":"welcome"}
//! controller -> agent  {"type":"run","build":{"job":"compile","number":3},"steps":["make"],"env":{...}}
//! agent -> controller  {"type":"log","build":{...},"text":"compiling\n"}
//! controller -> agent  {"type":"abort","build":{...},"grace_ms":3000}
//! agent -> controller  {"type":"done","build":{...},"exit":143,"aborted":true}
//! ```
//!
//! A connection that breaks is opened again by the agent, which says in
//! its hello which build it is still running, so a restarted controller
//! re-adopts it (a line in flight when the connection broke may be lost).
//! Lines are bounded ([`MAX_LINE`]); a longer one, or one that does not
//! parse, is a [`WireError`] and ends the connection.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::queue::BuildId;

/// The longest line either side accepts, bytes.
pub const MAX_LINE: u64 = 1 << 20;

/// What the controller tells an agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToAgent {
    /// Run a build's steps, in order, stopping at the first that fails.
    Run {
        /// The build.
        build: BuildId,
        /// Its `sh` lines.
        steps: Vec<String>,
        /// Its environment (the job's, then its parameters).
        env: BTreeMap<String, String>,
    },
    /// The controller has taken the agent on (after its hello): a
    /// reconnecting agent stops counting down to giving up.
    Welcome,
    /// Stop the build: SIGTERM to its step, SIGKILL after `grace_ms`.
    Abort {
        /// The build.
        build: BuildId,
        /// The grace period, milliseconds.
        grace_ms: u64,
    },
}

/// What an agent tells the controller.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromAgent {
    /// The first line: which agent this is (its task id), and the build
    /// it is running, when it connects again (its controller restarted).
    Hello {
        /// The agent's task id.
        agent: String,
        /// The build under way, if any.
        #[serde(default)]
        build: Option<BuildId>,
    },
    /// Output of the build's current step, as it comes.
    Log {
        /// The build.
        build: BuildId,
        /// A piece of output (whole lines, newline included).
        text: String,
    },
    /// The build ended.
    Done {
        /// The build.
        build: BuildId,
        /// The exit status of the last step run (128 + signal if killed).
        exit: i32,
        /// True when it was stopped by an abort.
        aborted: bool,
    },
}

/// A line that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The connection failed.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// A line longer than [`MAX_LINE`].
    #[error("a line longer than {MAX_LINE} bytes")]
    TooLong,
    /// A line that is not a message.
    #[error("not a message: {0}")]
    Json(#[from] serde_json::Error),
}

/// Reads one message; `None` at the end of the stream.
pub async fn read<R, T>(reader: &mut R) -> Result<Option<T>, WireError>
where
    R: AsyncBufRead + Unpin,
    T: for<'de> Deserialize<'de>,
{
    let mut line = Vec::new();
    let n = (&mut *reader)
        .take(MAX_LINE + 1)
        .read_until(b'\n', &mut line)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    if n as u64 > MAX_LINE {
        return Err(WireError::TooLong);
    }
    Ok(Some(serde_json::from_slice(&line)?))
}

/// Writes one message as a line.
pub async fn write<W, T>(writer: &mut W, message: &T) -> Result<(), WireError>
where
    W: AsyncWrite + Unpin,
    T: Serialize,
{
    let mut line = serde_json::to_vec(message)?;
    line.push(b'\n');
    writer.write_all(&line).await?;
    writer.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn messages_round_trip_and_bad_lines_are_errors() {
        let build = BuildId {
            job: "compile".into(),
            number: 3,
        };
        let mut buf = Vec::new();
        let done = FromAgent::Done {
            build: build.clone(),
            exit: 143,
            aborted: true,
        };
        write(&mut buf, &done).await.unwrap();
        assert!(String::from_utf8_lossy(&buf)
            .starts_with(r#"{"type":"done","build":{"job":"compile","number":3}"#));
        buf.extend_from_slice(b"{\"type\":\"nope\"}\n");
        let mut reader = tokio::io::BufReader::new(&buf[..]);
        assert_eq!(read::<_, FromAgent>(&mut reader).await.unwrap(), Some(done));
        assert!(matches!(
            read::<_, FromAgent>(&mut reader).await,
            Err(WireError::Json(_))
        ));
        assert!(read::<_, FromAgent>(&mut reader).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_endless_line_is_refused_not_buffered() {
        let long = vec![b'x'; (MAX_LINE + 10) as usize];
        let mut reader = tokio::io::BufReader::new(&long[..]);
        assert!(matches!(
            read::<_, ToAgent>(&mut reader).await,
            Err(WireError::TooLong)
        ));
    }
}
