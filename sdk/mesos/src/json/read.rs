//! Reading a message as stout reads it.
//!
//! Keys are proto field names; unknown keys are ignored. `null` leaves a
//! field unset. A repeated field takes an array or a single value (stout
//! accepts one object where a list of messages is expected). Integers and
//! doubles may be JSON numbers or strings holding one; doubles also take
//! `"Infinity"`, `"-Infinity"` and `"NaN"`. An integer given as a number
//! with a fraction, or out of the field's range, is an error. Enums are
//! read by name: an unknown name leaves an optional field unset and drops
//! a repeated element, and is an error for a required field. Bytes are
//! base64 (padding optional). Maps are objects. When the whole message is
//! read, every `required` field must be present, at every depth.

use base64::Engine;
use bytes::Bytes;
use prost_reflect::{
    Cardinality, DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, ReflectMessage,
    Value,
};
use serde_json::Value as Json;

use super::{JsonError, JsonErrorKind};

/// The base64 reader: standard alphabet, padding optional.
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// What a value turned into: a value, or nothing (null, unknown enum name).
enum Read {
    Value(Value),
    Skip,
}

/// Reads a JSON object into a message of `desc`, then checks `required`.
pub(crate) fn read_message(
    desc: &MessageDescriptor,
    json: &Json,
) -> Result<DynamicMessage, JsonError> {
    let message = read_object(desc, json, "")?;
    check_required(&message, "")?;
    Ok(message)
}

fn read_object(
    desc: &MessageDescriptor,
    json: &Json,
    path: &str,
) -> Result<DynamicMessage, JsonError> {
    let Json::Object(object) = json else {
        return Err(JsonError::at(path, JsonErrorKind::ExpectedObject));
    };
    let mut message = DynamicMessage::new(desc.clone());
    for (key, value) in object {
        let Some(field) = desc.get_field_by_name(key) else {
            continue;
        };
        if value.is_null() {
            continue;
        }
        let path = join(path, key);
        let read = if field.is_map() {
            Read::Value(read_map(&field, value, &path)?)
        } else if field.is_list() {
            let items: &[Json] = match value {
                Json::Array(items) => items,
                single => std::slice::from_ref(single),
            };
            let mut list = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let path = format!("{path}[{i}]");
                if let Read::Value(v) = read_single(&field, &field.kind(), item, &path)? {
                    list.push(v);
                }
            }
            Read::Value(Value::List(list))
        } else {
            read_single(&field, &field.kind(), value, &path)?
        };
        if let Read::Value(v) = read {
            message.try_set_field(&field, v).map_err(|_| {
                JsonError::at(
                    &path,
                    JsonErrorKind::WrongType("a value of the field's type"),
                )
            })?;
        }
    }
    Ok(message)
}

fn read_map(field: &FieldDescriptor, json: &Json, path: &str) -> Result<Value, JsonError> {
    let Kind::Message(entry) = field.kind() else {
        return Err(JsonError::at(path, JsonErrorKind::WrongType("a map")));
    };
    let Json::Object(object) = json else {
        return Err(JsonError::at(
            path,
            JsonErrorKind::WrongType("an object (a map)"),
        ));
    };
    let key_field = entry.map_entry_key_field();
    let value_field = entry.map_entry_value_field();
    let mut map = std::collections::HashMap::with_capacity(object.len());
    for (key, value) in object {
        let path = join(path, key);
        let key = map_key(&key_field.kind(), key).ok_or_else(|| {
            JsonError::at(&path, JsonErrorKind::WrongType("a map key of the key type"))
        })?;
        if value.is_null() {
            continue;
        }
        if let Read::Value(v) = read_single(&value_field, &value_field.kind(), value, &path)? {
            map.insert(key, v);
        }
    }
    Ok(Value::Map(map))
}

fn map_key(kind: &Kind, text: &str) -> Option<MapKey> {
    Some(match kind {
        Kind::String => MapKey::String(text.to_owned()),
        Kind::Bool => MapKey::Bool(text.parse().ok()?),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => MapKey::I32(text.parse().ok()?),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => MapKey::I64(text.parse().ok()?),
        Kind::Uint32 | Kind::Fixed32 => MapKey::U32(text.parse().ok()?),
        Kind::Uint64 | Kind::Fixed64 => MapKey::U64(text.parse().ok()?),
        _ => return None,
    })
}

fn read_single(
    field: &FieldDescriptor,
    kind: &Kind,
    json: &Json,
    path: &str,
) -> Result<Read, JsonError> {
    let wrong = |what: &'static str| JsonError::at(path, JsonErrorKind::WrongType(what));
    let value = match kind {
        Kind::Message(desc) => Value::Message(read_object(desc, json, path)?),
        Kind::Enum(e) => {
            let Json::String(name) = json else {
                return Err(wrong("an enum value name"));
            };
            match e.get_value_by_name(name) {
                Some(v) => Value::EnumNumber(v.number()),
                None if field.cardinality() == Cardinality::Required => {
                    return Err(JsonError::at(
                        path,
                        JsonErrorKind::UnknownEnum(name.clone()),
                    ))
                }
                None => return Ok(Read::Skip),
            }
        }
        Kind::String => match json {
            Json::String(s) => Value::String(s.clone()),
            _ => return Err(wrong("a string")),
        },
        Kind::Bytes => match json {
            Json::String(s) => Value::Bytes(Bytes::from(
                BASE64
                    .decode(s)
                    .map_err(|e| JsonError::at(path, JsonErrorKind::Base64(e)))?,
            )),
            _ => return Err(wrong("a base64 string")),
        },
        Kind::Bool => match json {
            Json::Bool(b) => Value::Bool(*b),
            _ => return Err(wrong("a boolean")),
        },
        Kind::Double | Kind::Float => {
            let x = read_double(json).ok_or_else(|| wrong("a number"))?;
            if matches!(kind, Kind::Float) {
                // Lossy by nature: a float field holds what fits.
                #[allow(clippy::cast_possible_truncation)]
                let f = x as f32;
                Value::F32(f)
            } else {
                Value::F64(x)
            }
        }
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            let n = read_integer(json).ok_or_else(|| wrong("an integer"))?;
            Value::I32(i32::try_from(n).map_err(|_| wrong("an int32 in range"))?)
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            let n = read_integer(json).ok_or_else(|| wrong("an integer"))?;
            Value::I64(i64::try_from(n).map_err(|_| wrong("an int64 in range"))?)
        }
        Kind::Uint32 | Kind::Fixed32 => {
            let n = read_integer(json).ok_or_else(|| wrong("an integer"))?;
            Value::U32(u32::try_from(n).map_err(|_| wrong("a uint32 in range"))?)
        }
        Kind::Uint64 | Kind::Fixed64 => {
            let n = read_integer(json).ok_or_else(|| wrong("an integer"))?;
            Value::U64(u64::try_from(n).map_err(|_| wrong("a uint64 in range"))?)
        }
    };
    Ok(Read::Value(value))
}

/// A double from a JSON number or a string holding one (or a non-finite
/// spelling).
fn read_double(json: &Json) -> Option<f64> {
    match json {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => match s.as_str() {
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            "NaN" => Some(f64::NAN),
            s if looks_numeric(s) => s.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

/// An integer (as i128, to hold the whole u64 and i64 ranges) from a JSON
/// number without a fraction or a string holding one.
fn read_integer(json: &Json) -> Option<i128> {
    match json {
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(i128::from(i))
            } else if let Some(u) = n.as_u64() {
                Some(i128::from(u))
            } else {
                let x = n.as_f64()?;
                // Integral and well inside i128: the cast is exact.
                #[allow(clippy::cast_possible_truncation)]
                (x.fract() == 0.0 && x.abs() < 1e30).then_some(x as i128)
            }
        }
        Json::String(s) if looks_numeric(s) => {
            if let Ok(i) = s.parse::<i128>() {
                Some(i)
            } else {
                read_integer(&Json::Number(serde_json::Number::from_f64(
                    s.parse().ok()?,
                )?))
            }
        }
        _ => None,
    }
}

/// Whether a string is spelled like a JSON number (so `"inf"` and `"nan"`,
/// which Rust's parser also takes, are refused).
fn looks_numeric(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
}

/// Checks that every required field is present, at every depth.
pub(crate) fn check_required(message: &DynamicMessage, path: &str) -> Result<(), JsonError> {
    for field in message.descriptor().fields() {
        let here = join(path, field.name());
        if field.cardinality() == Cardinality::Required && !message.has_field(&field) {
            return Err(JsonError::at(&here, JsonErrorKind::MissingRequired));
        }
        if !message.has_field(&field) {
            continue;
        }
        match message.get_field(&field).as_ref() {
            Value::Message(m) => check_required(m, &here)?,
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Value::Message(m) = item {
                        check_required(m, &format!("{here}[{i}]"))?;
                    }
                }
            }
            Value::Map(map) => {
                for value in map.values() {
                    if let Value::Message(m) = value {
                        check_required(m, &here)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}
