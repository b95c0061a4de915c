//! PATCH bodies: JSON merge patch (RFC 7386, `kubectl patch --type merge`,
//! `kubectl scale`) and strategic merge patch (what `kubectl apply`,
//! `kubectl patch` and `kubectl label` send for built-in kinds): a merge
//! patch where lists of objects with a merge key (`containers` by `name`,
//! `ports` by `containerPort`...) are merged item by item, with the
//! directives `$patch: replace|delete|merge`, `$retainKeys`,
//! `$deleteFromPrimitiveList/FIELD` and `$setElementOrder/FIELD`.
//! JSON patch (RFC 6902) and server-side apply are refused (415).

use serde_json::{Map, Value};

/// A patch that cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The body is not a JSON object.
    #[error("the patch is not a JSON object")]
    NotAnObject,
    /// A `$patch` directive we do not know.
    #[error("unknown patch directive {0:?}")]
    Directive(String),
}

/// Applies an RFC 7386 merge patch.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target) = target else {
        return;
    };
    for (k, v) in patch {
        if v.is_null() {
            target.remove(k);
        } else {
            merge(target.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// The merge key of a list field, as the Kubernetes types declare it.
fn merge_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims"
        | "hostAliases" => match field {
            "hostAliases" => "ip",
            _ => "name",
        },
        "ports" => "containerPort",
        "volumeMounts" | "volumeDevices" => "mountPath",
        "ownerReferences" => "uid",
        "conditions" => "type",
        "topologySpreadConstraints" => "topologyKey",
        _ => return None,
    })
}

/// Applies a strategic merge patch.
pub fn strategic(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let Value::Object(patch) = patch else {
        return Err(PatchError::NotAnObject);
    };
    strategic_object(target, patch)
}

fn strategic_object(target: &mut Value, patch: &Map<String, Value>) -> Result<(), PatchError> {
    match patch.get("$patch").and_then(Value::as_str) {
        None | Some("merge") => {}
        Some("replace") => {
            let mut copy = patch.clone();
            copy.remove("$patch");
            *target = Value::Object(copy);
            return Ok(());
        }
        Some("delete") => {
            *target = Value::Null;
            return Ok(());
        }
        Some(other) => return Err(PatchError::Directive(other.chars().take(40).collect())),
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(object) = target else {
        return Ok(());
    };
    if let Some(Value::Array(keep)) = patch.get("$retainKeys") {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        object.retain(|k, _| keep.contains(&k.as_str()) || patch.contains_key(k));
    }
    for (k, v) in patch {
        if k == "$patch" || k == "$retainKeys" || k.starts_with("$setElementOrder/") {
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Value::Array(gone)) = (object.get_mut(field), v) {
                list.retain(|x| !gone.contains(x));
            }
            continue;
        }
        if v.is_null() {
            object.remove(k);
            continue;
        }
        let slot = object.entry(k.clone()).or_insert(Value::Null);
        match (v, merge_key(k)) {
            (Value::Object(inner), _) => {
                strategic_object(slot, inner)?;
                if slot.is_null() {
                    object.remove(k);
                }
            }
            (Value::Array(items), Some(key)) if items.iter().all(Value::is_object) => {
                merge_list(slot, items, key)?;
            }
            _ => *slot = v.clone(),
        }
    }
    Ok(())
}

fn merge_list(target: &mut Value, items: &[Value], key: &str) -> Result<(), PatchError> {
    if items
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        *target = Value::Array(
            items
                .iter()
                .filter(|i| i.get("$patch").is_none())
                .cloned()
                .collect(),
        );
        return Ok(());
    }
    if !target.is_array() {
        *target = Value::Array(Vec::new());
    }
    let Value::Array(list) = target else {
        return Ok(());
    };
    for item in items {
        let Value::Object(fields) = item else {
            continue;
        };
        let id = fields.get(key);
        let found = list.iter().position(|x| x.get(key) == id && id.is_some());
        match (found, fields.get("$patch").and_then(Value::as_str)) {
            (Some(i), Some("delete")) => {
                list.remove(i);
            }
            (None, Some("delete")) => {}
            (Some(i), _) => strategic_object(&mut list[i], fields)?,
            (None, _) => {
                let mut fresh = Value::Null;
                strategic_object(&mut fresh, fields)?;
                list.push(fresh);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_replaces_lists_and_removes_nulls() {
        let mut doc = json!({ "a": 1, "b": { "c": 2, "d": 3 }, "l": [1, 2] });
        merge(&mut doc, &json!({ "a": null, "b": { "c": 5 }, "l": [3] }));
        assert_eq!(doc, json!({ "b": { "c": 5, "d": 3 }, "l": [3] }));
    }

    #[test]
    fn strategic_patch_merges_containers_by_name() {
        let mut pod = json!({ "spec": { "containers": [
            { "name": "a", "image": "x:1", "env": [{ "name": "K", "value": "1" }] },
            { "name": "b", "image": "y:1" },
        ]}});
        let patch = json!({ "spec": {
            "$setElementOrder/containers": [{ "name": "a" }, { "name": "b" }],
            "containers": [
                { "name": "a", "image": "x:2", "env": [{ "name": "J", "value": "2" }] },
                { "name": "b", "$patch": "delete" },
            ],
        }});
        strategic(&mut pod, &patch).unwrap();
        assert_eq!(
            pod,
            json!({ "spec": { "containers": [
                { "name": "a", "image": "x:2", "env": [{ "name": "K", "value": "1" }, { "name": "J", "value": "2" }] },
            ]}})
        );
        // Lists without a merge key are replaced, as in a merge patch.
        let mut doc = json!({ "spec": { "args": ["a", "b"] } });
        strategic(&mut doc, &json!({ "spec": { "args": ["c"] } })).unwrap();
        assert_eq!(doc, json!({ "spec": { "args": ["c"] } }));
        assert!(strategic(&mut doc, &json!({ "$patch": "explode" })).is_err());
        assert!(strategic(&mut doc, &json!([1])).is_err());
    }
}
