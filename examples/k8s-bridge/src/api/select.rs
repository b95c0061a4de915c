//! `labelSelector` and `fieldSelector`, read from the query and matched
//! against served objects. Labels: `k=v`, `k==v`, `k!=v`, `k`, `!k`,
//! `k in (a,b)`, `k notin (a,b)`. Fields: `metadata.name`,
//! `metadata.namespace`, `status.phase`, `spec.nodeName` with `=`, `==`
//! or `!=`. Anything else is a typed refusal (400).

use serde_json::Value;

/// A selector that does not parse or names a field not served.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse requirement: {0}")]
pub struct SelectorError(pub String);

#[derive(Clone, Debug, PartialEq)]
enum Test {
    Equals(String),
    NotEquals(String),
    Exists,
    Absent,
    In(Vec<String>),
    NotIn(Vec<String>),
}

/// A parsed selector: every requirement must hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selector {
    labels: Vec<(String, Test)>,
    fields: Vec<(String, Test)>,
}

/// Splits on commas outside parentheses.
fn split(text: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

fn values(list: &str) -> Result<Vec<String>, SelectorError> {
    let inner = list
        .trim()
        .strip_prefix('(')
        .and_then(|l| l.strip_suffix(')'))
        .ok_or_else(|| SelectorError(list.chars().take(100).collect()))?;
    Ok(inner.split(',').map(|v| v.trim().to_owned()).collect())
}

fn requirement(part: &str, fields: bool) -> Result<(String, Test), SelectorError> {
    let bad = || SelectorError(part.chars().take(100).collect());
    if let Some((k, v)) = part.split_once("!=") {
        return Ok((k.trim().to_owned(), Test::NotEquals(v.trim().to_owned())));
    }
    if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
        return Ok((k.trim().to_owned(), Test::Equals(v.trim().to_owned())));
    }
    if fields {
        return Err(bad());
    }
    if let Some((k, rest)) = part.split_once(" notin ") {
        return Ok((k.trim().to_owned(), Test::NotIn(values(rest)?)));
    }
    if let Some((k, rest)) = part.split_once(" in ") {
        return Ok((k.trim().to_owned(), Test::In(values(rest)?)));
    }
    if let Some(k) = part.strip_prefix('!') {
        return Ok((k.trim().to_owned(), Test::Absent));
    }
    if part.contains(char::is_whitespace) || part.contains(['(', ')']) {
        return Err(bad());
    }
    Ok((part.to_owned(), Test::Exists))
}

/// The fields a field selector may name.
const FIELDS: [&str; 4] = [
    "metadata.name",
    "metadata.namespace",
    "status.phase",
    "spec.nodeName",
];

impl Selector {
    /// Parses the query's selectors (either may be absent).
    pub fn parse(labels: Option<&str>, fields: Option<&str>) -> Result<Selector, SelectorError> {
        let mut selector = Selector::default();
        for part in labels.map(split).unwrap_or_default() {
            selector.labels.push(requirement(part, false)?);
        }
        for part in fields.map(split).unwrap_or_default() {
            let (field, test) = requirement(part, true)?;
            if !FIELDS.contains(&field.as_str()) {
                return Err(SelectorError(format!(
                    "field label not supported: {}",
                    field.chars().take(100).collect::<String>()
                )));
            }
            selector.fields.push((field, test));
        }
        Ok(selector)
    }

    /// Whether `object` is selected.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        let label_ok = self
            .labels
            .iter()
            .all(|(k, t)| holds(t, labels.get(k).and_then(Value::as_str)));
        label_ok
            && self.fields.iter().all(|(field, t)| {
                let mut v = object;
                for part in field.split('.') {
                    v = &v[part];
                }
                holds(t, Some(v.as_str().unwrap_or("")))
            })
    }
}

fn holds(test: &Test, value: Option<&str>) -> bool {
    match test {
        Test::Equals(want) => value == Some(want.as_str()),
        Test::NotEquals(want) => value != Some(want.as_str()),
        Test::Exists => value.is_some(),
        Test::Absent => value.is_none(),
        Test::In(set) => value.is_some_and(|v| set.iter().any(|s| s == v)),
        Test::NotIn(set) => !value.is_some_and(|v| set.iter().any(|s| s == v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_and_fields_select() {
        let pod = json!({
            "metadata": { "name": "web-1", "namespace": "web", "labels": { "app": "web", "tier": "front" } },
            "status": { "phase": "Running" },
        });
        let yes = |l: Option<&str>, f: Option<&str>| Selector::parse(l, f).unwrap().matches(&pod);
        assert!(yes(Some("app=web"), None));
        assert!(yes(Some("app==web,tier"), Some("status.phase=Running")));
        assert!(yes(
            Some("tier in (front, back),!gone"),
            Some("metadata.name!=x")
        ));
        assert!(!yes(Some("app=db"), None));
        assert!(!yes(Some("app notin (web)"), None));
        assert!(!yes(None, Some("metadata.name=web-2")));
        assert!(Selector::parse(None, Some("spec.secret=1")).is_err());
        assert!(Selector::parse(Some("a in b"), None).is_err());
    }
}
