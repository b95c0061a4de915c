//! Mesos's JSON, as stout's JSON <-> protobuf mapping writes and reads it
//! (not proto3's canonical JSON).
//!
//! The codec is generic: it walks the message descriptors of
//! [`crate::pb::pool`] with `prost-reflect`'s `DynamicMessage`, so every
//! message of the protocol is covered by the same rules. In short, snake_case
//! proto field names, enum names, base64 bytes, defaults of unset optional
//! fields written out, unknown keys ignored, single values accepted for
//! lists, numbers accepted as strings, `"Infinity"`.
//!
//! Writing: fields in declaration order; a singular field when set, or
//! when unset with a declared, non-deprecated default; a repeated field
//! when not empty; enums by name; bytes in standard padded base64; 64-bit
//! integers as numbers; doubles with at most 15 significant digits and a
//! decimal point (`15.0`); maps as objects with sorted keys; non-finite
//! doubles as `"Infinity"`, `"-Infinity"`, `"NaN"`; strings escaped so the
//! record is one line of ASCII.
//!
//! Reading: unknown keys ignored; `null` leaves a field unset; a repeated
//! field takes an array or a single value; integers and doubles take
//! numbers or strings holding one (doubles also the three non-finite
//! spellings); an integer with a fraction or out of range is an error;
//! an unknown enum name drops an optional field or a list element and
//! fails a required field; bytes are base64, padding optional; every
//! `required` field must be present, at every depth.
//!
//! Typed messages go through their protobuf encoding
//! ([`to_json`] / [`from_json`]), so the generated types and the JSON can
//! never disagree on a field number.

mod read;
mod write;

use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor};

use crate::pb;
use crate::pb::scheduler::{Call, Event};

/// Why a JSON document could not be read as a message.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// Not JSON at all (or nested deeper than the parser allows).
    #[error("not valid JSON: {0}")]
    Syntax(#[from] serde_json::Error),
    /// Valid JSON that does not fit the message.
    #[error("at {path:?}: {kind}")]
    Field {
        /// Where, as `field.field[index]` (empty for the top level).
        path: String,
        /// What is wrong there.
        kind: JsonErrorKind,
    },
    /// The message read from JSON did not survive re-encoding into the
    /// generated type (a defect of the descriptors, not of the input).
    #[error("the message does not fit its generated type: {0}")]
    Transcode(#[from] prost::DecodeError),
}

impl JsonError {
    fn at(path: &str, kind: JsonErrorKind) -> Self {
        JsonError::Field {
            path: path.to_owned(),
            kind,
        }
    }
}

/// What is wrong with one JSON value.
#[derive(Debug, thiserror::Error)]
pub enum JsonErrorKind {
    /// A message was expected.
    #[error("expected a JSON object")]
    ExpectedObject,
    /// The value has the wrong JSON type or is out of range.
    #[error("expected {0}")]
    WrongType(&'static str),
    /// A required field is absent.
    #[error("a required field is missing")]
    MissingRequired,
    /// A required enum field names a value the protocol does not have.
    #[error("unknown enum value {0:?}")]
    UnknownEnum(String),
    /// A bytes field is not base64.
    #[error("not base64: {0}")]
    Base64(#[source] base64::DecodeError),
}

/// Writes a dynamic message as one compact line of ASCII JSON.
pub fn dynamic_to_json(message: &DynamicMessage) -> String {
    let mut out = String::new();
    write::write_message(&mut out, message);
    out
}

/// Reads a JSON document as a message of `desc` (required fields checked).
pub fn dynamic_from_json(
    desc: &MessageDescriptor,
    json: &[u8],
) -> Result<DynamicMessage, JsonError> {
    let value: serde_json::Value = serde_json::from_slice(json)?;
    dynamic_from_value(desc, &value)
}

/// Reads an already parsed JSON value as a message of `desc`.
pub fn dynamic_from_value(
    desc: &MessageDescriptor,
    value: &serde_json::Value,
) -> Result<DynamicMessage, JsonError> {
    read::read_message(desc, value)
}

/// Writes a generated message of the protocol as JSON, given its
/// descriptor.
pub fn to_json<M: Message>(desc: &MessageDescriptor, message: &M) -> Result<String, JsonError> {
    let dynamic = DynamicMessage::decode(desc.clone(), message.encode_to_vec().as_slice())?;
    Ok(dynamic_to_json(&dynamic))
}

/// Reads JSON into a generated message of the protocol, given its
/// descriptor.
pub fn from_json<M: Message + Default>(
    desc: &MessageDescriptor,
    json: &[u8],
) -> Result<M, JsonError> {
    let dynamic = dynamic_from_json(desc, json)?;
    Ok(M::decode(dynamic.encode_to_vec().as_slice())?)
}

/// Reads an already parsed JSON value into a generated message, given its
/// descriptor.
pub fn from_value<M: Message + Default>(
    desc: &MessageDescriptor,
    value: &serde_json::Value,
) -> Result<M, JsonError> {
    let dynamic = dynamic_from_value(desc, value)?;
    Ok(M::decode(dynamic.encode_to_vec().as_slice())?)
}

/// Writes a Call as JSON.
pub fn call_to_json(call: &Call) -> Result<String, JsonError> {
    to_json(&pb::call_descriptor(), call)
}

/// Reads a Call from JSON.
pub fn call_from_json(json: &[u8]) -> Result<Call, JsonError> {
    from_json(&pb::call_descriptor(), json)
}

/// Writes an Event as JSON.
pub fn event_to_json(event: &Event) -> Result<String, JsonError> {
    to_json(&pb::event_descriptor(), event)
}

/// Reads an Event from JSON.
pub fn event_from_json(json: &[u8]) -> Result<Event, JsonError> {
    from_json(&pb::event_descriptor(), json)
}
