//! The Mesos text form of resources, as agents and operators write it:
//! `cpus:4;mem:8192;ports:[31000-32000];disks:{a,b};cpus(eng):2`.

use std::collections::BTreeSet;

use super::{Ranges, Resource, Resources, ResourcesError, Scalar, Value};
use crate::Role;

impl Resources {
    /// Parses the Mesos text form. Entries are separated by `;`, each is
    /// `name[(role)]:value` where value is a number (scalar), `[b-e,...]`
    /// (ranges) or `{a,b}` (set). A `(role)` marks the entry reserved for
    /// that role; `(*)` means unreserved.
    pub fn parse(text: &str) -> Result<Resources, ResourcesError> {
        let fail = |why: String| ResourcesError::Parse {
            text: text.to_owned(),
            why,
        };
        let mut out = Resources::new();
        for item in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let (head, value) = item
                .split_once(':')
                .ok_or_else(|| fail(format!("{item:?} has no ':'")))?;
            let (name, reservation) = match head.split_once('(') {
                Some((name, rest)) => {
                    let role = rest
                        .strip_suffix(')')
                        .ok_or_else(|| fail(format!("{head:?}: missing ')'")))?;
                    let role = Role::new(role.trim());
                    role.validate().map_err(|e| fail(e.to_string()))?;
                    let reservation = (role.as_str() != "*").then_some(role);
                    (name.trim(), reservation)
                }
                None => (head.trim(), None),
            };
            if name.is_empty() {
                return Err(fail(format!("{item:?} has an empty name")));
            }
            let value = parse_value(value.trim()).map_err(|why| fail(format!("{name}: {why}")))?;
            out.push(Resource {
                name: name.to_owned(),
                value,
                reservation,
                allocation: None,
                revocable: false,
            });
        }
        Ok(out)
    }
}

fn parse_value(text: &str) -> Result<Value, String> {
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or("missing ']'")?;
        let mut list = Vec::new();
        for part in inner.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (b, e) = part
                .split_once('-')
                .ok_or_else(|| format!("range {part:?} is not begin-end"))?;
            let b: u64 = b
                .trim()
                .parse()
                .map_err(|_| format!("bad range start {b:?}"))?;
            let e: u64 = e
                .trim()
                .parse()
                .map_err(|_| format!("bad range end {e:?}"))?;
            if b > e {
                return Err(format!("range {part:?} ends before it begins"));
            }
            list.push((b, e));
        }
        return Ok(Value::Ranges(Ranges::new(list)));
    }
    if let Some(inner) = text.strip_prefix('{') {
        let inner = inner.strip_suffix('}').ok_or("missing '}'")?;
        let set: BTreeSet<String> = inner
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        return Ok(Value::Set(set));
    }
    let number: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number, ranges or a set"))?;
    if !number.is_finite() || number < 0.0 {
        return Err(format!("{text:?} must be a finite, non-negative number"));
    }
    Ok(Value::Scalar(Scalar::from_f64(number)))
}
