//! Server-side field validation (`fieldValidation=Strict|Warn|Ignore`,
//! Strict being kubectl's default): the fields of a request's object that
//! its Kubernetes type does not have. Found by reading the object into its
//! `k8s-openapi` type and back, and looking for what was dropped.

use serde_json::Value;

/// The paths (`spec.containers[0].colour`) of fields in `sent` that are
/// not in `typed` (the same object after a round trip through its type).
/// Nulls and empty values are not counted: the types drop them too.
pub fn unknown_fields(sent: &Value, typed: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(sent, typed, String::new(), &mut out);
    out
}

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn walk(sent: &Value, typed: &Value, at: String, out: &mut Vec<String>) {
    match (sent, typed) {
        (Value::Object(s), Value::Object(t)) => {
            for (k, v) in s {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                match t.get(k) {
                    Some(tv) => walk(v, tv, path, out),
                    None if !empty(v) => out.push(path),
                    None => {}
                }
            }
        }
        (Value::Array(s), Value::Array(t)) => {
            for (i, (sv, tv)) in s.iter().zip(t).enumerate() {
                walk(sv, tv, format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dropped_fields_are_found() {
        let sent = json!({ "spec": { "containers": [{ "name": "a", "colour": "red" }], "x": null }, "y": 1 });
        let typed = json!({ "spec": { "containers": [{ "name": "a" }] } });
        assert_eq!(
            unknown_fields(&sent, &typed),
            ["spec.containers[0].colour", "y"]
        );
        assert!(unknown_fields(&typed, &typed).is_empty());
    }
}
