//! The executor protocol: one JSON message per line over TCP, both ways,
//! each line at most [`MAX_LINE`] bytes. The executor speaks first
//! ([`FromExecutor::Hello`] with its id, which is its Mesos task id).

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::work::{Output, Work};

/// The longest line either side reads (a reduce task's input of a large
/// word count is the largest message).
pub const MAX_LINE: u64 = 256 << 20;

/// Driver to executor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToExecutor {
    /// Run this attempt's work.
    Run {
        /// The attempt.
        attempt: u64,
        /// Its work.
        work: Work,
    },
    /// Stop this attempt (a speculative loser, or a drain).
    Kill {
        /// The attempt.
        attempt: u64,
    },
    /// Exit.
    Stop,
}

/// Executor to driver.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FromExecutor {
    /// The first message: who this is.
    Hello {
        /// The executor's id (its task id).
        executor: String,
    },
    /// The attempt started.
    Started {
        /// The attempt.
        attempt: u64,
    },
    /// The attempt finished.
    Done {
        /// The attempt.
        attempt: u64,
        /// What it computed.
        output: Output,
    },
}

/// A line that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The connection failed.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// Longer than [`MAX_LINE`].
    #[error("a line longer than {MAX_LINE} bytes")]
    TooLong,
    /// Not a message.
    #[error("not a message: {0}")]
    Json(#[from] serde_json::Error),
}

/// Reads one message; `Ok(None)` at the end of the stream.
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
    if line.last() != Some(&b'\n') {
        return Err(if n as u64 > MAX_LINE {
            WireError::TooLong
        } else {
            WireError::Io(std::io::ErrorKind::UnexpectedEof.into())
        });
    }
    Ok(Some(serde_json::from_slice(&line)?))
}

/// Writes one message and flushes it.
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
