//! RecordIO, the framing of the event stream: `record = size LF data`,
//! where `size` is the decimal byte count of `data`.
//!
//! [`encode`] frames one record. [`Decoder`] is incremental: feed it bytes
//! as they arrive, in chunks of any size (proxies may re-chunk the HTTP
//! stream, so records and chunks need not line up), and take whole records
//! out. It refuses a size header that is not digits, that is longer than a
//! `u64` can spell, that is zero (Mesos never sends an empty record) or
//! that exceeds the decoder's maximum, so a hostile peer cannot make it
//! buffer without bound. After an error the decoder stays failed: the
//! stream cannot be resynchronised.

use bytes::{Buf, Bytes, BytesMut};

/// The default largest record accepted: 64 MiB.
pub const DEFAULT_MAX_RECORD: usize = 64 * 1024 * 1024;

/// The most digits a size header may have (`u64::MAX` has 20).
const MAX_HEADER_DIGITS: usize = 20;

/// Frames one record.
pub fn encode(data: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(data.len() + 12);
    out.extend_from_slice(data.len().to_string().as_bytes());
    out.extend_from_slice(b"\n");
    out.extend_from_slice(data);
    out.freeze()
}

/// Why the byte stream is not RecordIO.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordIoError {
    /// A byte other than a digit before the newline of a size header.
    #[error("byte {0:#04x} in a record size header")]
    BadHeaderByte(u8),
    /// A size header longer than any u64.
    #[error("record size header longer than {MAX_HEADER_DIGITS} digits")]
    HeaderTooLong,
    /// An empty size header or a size of zero.
    #[error("empty record (size {0:?})")]
    EmptyRecord(String),
    /// A record larger than the decoder accepts.
    #[error("record of {size} bytes exceeds the maximum of {max}")]
    TooLarge {
        /// The announced size.
        size: u64,
        /// The decoder's limit.
        max: usize,
    },
    /// The stream ended inside a record.
    #[error("stream ended inside a record ({0} bytes pending)")]
    Truncated(usize),
    /// A previous error left the decoder unusable.
    #[error("the decoder failed earlier")]
    Failed,
}

/// An incremental RecordIO decoder.
#[derive(Debug)]
pub struct Decoder {
    buffer: BytesMut,
    max_record: usize,
    /// The size of the record being read, once its header is complete.
    pending: Option<usize>,
    failed: bool,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DEFAULT_MAX_RECORD)
    }
}

impl Decoder {
    /// A decoder that accepts records of at most `max_record` bytes.
    pub fn new(max_record: usize) -> Self {
        Decoder {
            buffer: BytesMut::new(),
            max_record,
            pending: None,
            failed: false,
        }
    }

    /// Adds bytes from the stream.
    pub fn feed(&mut self, bytes: &[u8]) {
        if !self.failed {
            self.buffer.extend_from_slice(bytes);
        }
    }

    /// The next whole record, if the bytes fed so far hold one.
    pub fn next_record(&mut self) -> Result<Option<Bytes>, RecordIoError> {
        if self.failed {
            return Err(RecordIoError::Failed);
        }
        match self.step() {
            Ok(r) => Ok(r),
            Err(e) => {
                self.failed = true;
                self.buffer.clear();
                Err(e)
            }
        }
    }

    fn step(&mut self) -> Result<Option<Bytes>, RecordIoError> {
        let size = match self.pending {
            Some(size) => size,
            None => {
                let Some(newline) = self.buffer.iter().position(|&b| b == b'\n') else {
                    // No full header yet: check what there is so far.
                    if let Some(&b) = self.buffer.iter().find(|b| !b.is_ascii_digit()) {
                        return Err(RecordIoError::BadHeaderByte(b));
                    }
                    if self.buffer.len() > MAX_HEADER_DIGITS {
                        return Err(RecordIoError::HeaderTooLong);
                    }
                    return Ok(None);
                };
                let header = &self.buffer[..newline];
                if let Some(&b) = header.iter().find(|b| !b.is_ascii_digit()) {
                    return Err(RecordIoError::BadHeaderByte(b));
                }
                if header.len() > MAX_HEADER_DIGITS {
                    return Err(RecordIoError::HeaderTooLong);
                }
                let text = String::from_utf8_lossy(header).into_owned();
                if text.is_empty() {
                    return Err(RecordIoError::EmptyRecord(text));
                }
                // All digits, so only overflow can fail the parse.
                let size: u64 = text.parse().unwrap_or(u64::MAX);
                if size == 0 {
                    return Err(RecordIoError::EmptyRecord(text));
                }
                let size = usize::try_from(size)
                    .ok()
                    .filter(|&s| s <= self.max_record)
                    .ok_or(RecordIoError::TooLarge {
                        size,
                        max: self.max_record,
                    })?;
                self.buffer.advance(newline + 1);
                self.pending = Some(size);
                size
            }
        };
        if self.buffer.len() < size {
            return Ok(None);
        }
        self.pending = None;
        Ok(Some(self.buffer.split_to(size).freeze()))
    }

    /// Checks that the stream ended between records.
    pub fn finish(&self) -> Result<(), RecordIoError> {
        if self.failed {
            return Err(RecordIoError::Failed);
        }
        let pending = self.buffer.len() + usize::from(self.pending.is_some());
        if pending > 0 {
            return Err(RecordIoError::Truncated(self.buffer.len()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(decoder: &mut Decoder) -> Result<Vec<Bytes>, RecordIoError> {
        let mut out = Vec::new();
        while let Some(r) = decoder.next_record()? {
            out.push(r);
        }
        Ok(out)
    }

    #[test]
    fn records_split_across_chunks_of_every_size_come_out_whole() {
        let mut stream = Vec::new();
        for data in [&b"{\"type\":\"HEARTBEAT\"}"[..], b"x", &[7u8; 300][..]] {
            stream.extend_from_slice(&encode(data));
        }
        for chunk in 1..=stream.len() {
            let mut decoder = Decoder::new(1024);
            let mut records = Vec::new();
            for piece in stream.chunks(chunk) {
                decoder.feed(piece);
                records.extend(all(&mut decoder).unwrap());
            }
            decoder.finish().unwrap();
            assert_eq!(records.len(), 3, "chunk size {chunk}");
            assert_eq!(&records[0][..], b"{\"type\":\"HEARTBEAT\"}");
            assert_eq!(&records[1][..], b"x");
            assert_eq!(records[2].len(), 300);
        }
    }

    #[test]
    fn the_documented_example_frames_as_mesos_does() {
        assert_eq!(
            &encode(b"{\"type\":\"HEARTBEAT\"}")[..],
            b"20\n{\"type\":\"HEARTBEAT\"}"
        );
    }

    #[test]
    fn bad_headers_are_typed_errors_and_the_decoder_stays_failed() {
        let mut d = Decoder::new(10);
        d.feed(b"1x\n");
        assert_eq!(d.next_record(), Err(RecordIoError::BadHeaderByte(b'x')));
        assert_eq!(d.next_record(), Err(RecordIoError::Failed));

        let mut d = Decoder::new(10);
        d.feed(b"11\n");
        assert_eq!(
            d.next_record(),
            Err(RecordIoError::TooLarge { size: 11, max: 10 })
        );

        let mut d = Decoder::new(10);
        d.feed(b"0\n");
        assert!(matches!(
            d.next_record(),
            Err(RecordIoError::EmptyRecord(_))
        ));

        let mut d = Decoder::new(10);
        d.feed(b"\n");
        assert!(matches!(
            d.next_record(),
            Err(RecordIoError::EmptyRecord(_))
        ));

        let mut d = Decoder::new(usize::MAX);
        d.feed(b"123456789012345678901");
        assert_eq!(d.next_record(), Err(RecordIoError::HeaderTooLong));

        let mut d = Decoder::new(1 << 20);
        d.feed(b"99999999999999999999\n");
        assert!(matches!(
            d.next_record(),
            Err(RecordIoError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_stream_that_stops_inside_a_record_is_truncated() {
        let mut d = Decoder::new(10);
        d.feed(b"5\nab");
        assert_eq!(d.next_record(), Ok(None));
        assert_eq!(d.finish(), Err(RecordIoError::Truncated(2)));
        let mut d = Decoder::new(10);
        d.feed(b"5");
        assert_eq!(d.next_record(), Ok(None));
        assert_eq!(d.finish(), Err(RecordIoError::Truncated(1)));
    }
}
