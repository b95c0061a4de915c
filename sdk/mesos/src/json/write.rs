//! Writing a message as stout writes it: compact, one line, ASCII.
//!
//! Fields come in declaration order (stout walks `descriptor->field(i)`).
//! A singular field is written when it is set, or when it is unset but
//! declares a non-deprecated default (`"failover_timeout":0.0`,
//! `"checkpoint":false`); a repeated field when it is not empty. Enums are
//! written by name (a number the descriptor does not know is skipped: it
//! has no name), bytes in base64 (standard alphabet, padded), 64-bit
//! integers as JSON numbers, doubles with at most 15 significant digits and
//! always a decimal point (`15.0`), and maps as objects with their keys
//! sorted. Non-finite doubles, which JSON cannot carry, are written as the
//! strings `"Infinity"`, `"-Infinity"` and `"NaN"`, the forms the reader
//! accepts. Strings are escaped so the record is ASCII and has no raw
//! control character.

use base64::Engine;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MapKey, ReflectMessage, Value};

/// Appends `message` as a JSON object to `out`.
pub(crate) fn write_message(out: &mut String, message: &DynamicMessage) {
    let desc = message.descriptor();
    out.push('{');
    let mut first = true;
    for proto in &desc.descriptor_proto().field {
        let Some(field) = desc.get_field_by_name(proto.name()) else {
            continue;
        };
        let value = if field.is_list() || field.is_map() {
            let value = message.get_field(&field);
            let empty = match value.as_ref() {
                Value::List(l) => l.is_empty(),
                Value::Map(m) => m.is_empty(),
                _ => true,
            };
            if empty {
                continue;
            }
            value
        } else if message.has_field(&field) || writes_default(&field) {
            message.get_field(&field)
        } else {
            continue;
        };
        let mut item = String::new();
        if !write_field_value(&mut item, &field, &value) {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        write_string(out, field.name());
        out.push(':');
        out.push_str(&item);
    }
    out.push('}');
}

/// Whether stout writes this unset field anyway: it declares a default and
/// is not deprecated.
fn writes_default(field: &FieldDescriptor) -> bool {
    let proto = field.field_descriptor_proto();
    let deprecated = proto
        .options
        .as_ref()
        .and_then(|o| o.deprecated)
        .unwrap_or(false);
    proto.default_value.is_some() && !deprecated
}

/// Writes a whole field value (list, map or single). Returns false when
/// there is nothing to write (a single enum value without a name).
fn write_field_value(out: &mut String, field: &FieldDescriptor, value: &Value) -> bool {
    match value {
        Value::List(items) => {
            out.push('[');
            let mut first = true;
            for item in items {
                let mut one = String::new();
                if write_single(&mut one, &field.kind(), item) {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    out.push_str(&one);
                }
            }
            out.push(']');
            true
        }
        Value::Map(map) if field.is_map() => {
            let Kind::Message(entry) = field.kind() else {
                return false;
            };
            let value_kind = entry.map_entry_value_field().kind();
            let mut keys: Vec<&MapKey> = map.keys().collect();
            keys.sort();
            out.push('{');
            let mut first = true;
            for key in keys {
                let mut one = String::new();
                if !write_single(&mut one, &value_kind, &map[key]) {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                write_string(out, &map_key_text(key));
                out.push(':');
                out.push_str(&one);
            }
            out.push('}');
            true
        }
        single => write_single(out, &field.kind(), single),
    }
}

fn map_key_text(key: &MapKey) -> String {
    match key {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

/// Writes one value of `kind`. Returns false for an enum number without a
/// name (stout cannot write it either).
fn write_single(out: &mut String, kind: &Kind, value: &Value) -> bool {
    match value {
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::I32(n) => out.push_str(&n.to_string()),
        Value::I64(n) => out.push_str(&n.to_string()),
        Value::U32(n) => out.push_str(&n.to_string()),
        Value::U64(n) => out.push_str(&n.to_string()),
        Value::F32(x) => write_double(out, f64::from(*x)),
        Value::F64(x) => write_double(out, *x),
        Value::String(s) => write_string(out, s),
        Value::Bytes(b) => write_string(out, &base64::engine::general_purpose::STANDARD.encode(b)),
        Value::EnumNumber(n) => {
            let Kind::Enum(e) = kind else {
                return false;
            };
            match e.get_value(*n) {
                Some(v) => write_string(out, v.name()),
                None => return false,
            }
        }
        Value::Message(m) => write_message(out, m),
        // Nested lists and maps do not occur in protobuf.
        Value::List(_) | Value::Map(_) => return false,
    }
    true
}

/// Writes a double as stout does (`%#.15g` with trailing zeros trimmed but
/// one digit kept after the point); non-finite values as strings.
pub(crate) fn write_double(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("\"NaN\"");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x > 0.0 {
            "\"Infinity\""
        } else {
            "\"-Infinity\""
        });
        return;
    }
    if x == 0.0 {
        out.push_str(if x.is_sign_negative() { "-0.0" } else { "0.0" });
        return;
    }
    // 15 significant digits, in scientific form first to learn the exponent.
    let sci = format!("{x:.14e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..15).contains(&exponent) {
        let decimals = usize::try_from(14 - exponent).unwrap_or(0);
        let fixed = format!("{x:.decimals$}");
        out.push_str(&trim_fraction(&fixed));
    } else {
        out.push_str(&trim_fraction(mantissa));
        out.push('e');
        if exponent >= 0 {
            out.push('+');
        }
        out.push_str(&exponent.to_string());
    }
}

/// Trims trailing zeros after the decimal point, keeping at least one digit.
fn trim_fraction(digits: &str) -> String {
    if !digits.contains('.') {
        return format!("{digits}.0");
    }
    let trimmed = digits.trim_end_matches('0');
    if trimmed.ends_with('.') {
        format!("{trimmed}0")
    } else {
        trimmed.to_owned()
    }
}

/// Writes a JSON string, escaping quotes, backslashes, control characters
/// and every non-ASCII character (as `\uXXXX`, surrogate pairs above the
/// BMP), so the output is one line of ASCII.
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}
