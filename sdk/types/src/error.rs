//! [`ProtocolError`]: something from the master that does not parse or
//! makes no sense.

/// Something from the master that does not parse or makes no sense.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed {what} from the master: {why}")]
#[non_exhaustive]
pub struct ProtocolError {
    /// Which message or field.
    pub what: &'static str,
    /// What is wrong with it.
    pub why: String,
}

impl ProtocolError {
    /// A new protocol error about `what`.
    pub fn new(what: &'static str, why: impl Into<String>) -> Self {
        ProtocolError {
            what,
            why: why.into(),
        }
    }
}
