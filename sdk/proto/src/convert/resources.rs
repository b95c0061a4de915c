//! Conversion between [`Resources`] and the wire's `Resource` messages,
//! with validation of what arrives.

use corral_types::{Ranges, Resource, Resources, ResourcesError, Role, Scalar, Value};

use crate::pb;
use crate::pb::value::Type as ValueType;

/// [`Resources`] on the wire.
pub trait ResourcesPb: Sized {
    /// Reads wire resources, rejecting malformed ones (a scalar without a
    /// value, a negative or non-finite quantity, an empty name, a text
    /// resource, a range that ends before it begins, a bad role).
    fn from_pb(list: &[pb::Resource]) -> Result<Self, ResourcesError>;

    /// The wire form. Reserved entries carry both the legacy `role` field
    /// and a one-entry `reservations` stack.
    fn to_pb(&self) -> Vec<pb::Resource>;
}

// Hidden from rustdoc: it would be listed on the plain type\'s page in
// `corral`, whose API names no wire type.
#[doc(hidden)]
impl ResourcesPb for Resources {
    fn from_pb(list: &[pb::Resource]) -> Result<Resources, ResourcesError> {
        let mut out = Resources::new();
        for r in list {
            out.push(resource_from_pb(r)?);
        }
        Ok(out)
    }

    fn to_pb(&self) -> Vec<pb::Resource> {
        self.iter().map(resource_to_pb).collect()
    }
}

fn invalid(name: &str, why: impl Into<String>) -> ResourcesError {
    ResourcesError::Invalid {
        name: name.to_owned(),
        why: why.into(),
    }
}

fn checked_role(name: &str, role: &str) -> Result<Role, ResourcesError> {
    let role = Role::new(role);
    role.validate().map_err(|e| invalid(name, e.to_string()))?;
    Ok(role)
}

fn resource_from_pb(r: &pb::Resource) -> Result<Resource, ResourcesError> {
    let name = r.name.as_str();
    if name.is_empty() {
        return Err(invalid(name, "empty name"));
    }
    let value = match ValueType::try_from(r.r#type) {
        Ok(ValueType::Scalar) => {
            let v = r
                .scalar
                .as_ref()
                .ok_or_else(|| invalid(name, "SCALAR without a scalar value"))?
                .value;
            if !v.is_finite() || v < 0.0 {
                return Err(invalid(
                    name,
                    format!("quantity {v} is negative or not finite"),
                ));
            }
            Value::Scalar(Scalar::from_f64(v))
        }
        Ok(ValueType::Ranges) => {
            let ranges = r
                .ranges
                .as_ref()
                .ok_or_else(|| invalid(name, "RANGES without ranges"))?;
            if let Some(bad) = ranges.range.iter().find(|x| x.begin > x.end) {
                return Err(invalid(
                    name,
                    format!("range {}-{} ends before it begins", bad.begin, bad.end),
                ));
            }
            Value::Ranges(Ranges::new(ranges.range.iter().map(|x| (x.begin, x.end))))
        }
        Ok(ValueType::Set) => {
            let set = r
                .set
                .as_ref()
                .ok_or_else(|| invalid(name, "SET without items"))?;
            Value::Set(set.item.iter().cloned().collect())
        }
        Ok(ValueType::Text) => return Err(invalid(name, "TEXT is not a resource type")),
        Err(_) => return Err(invalid(name, format!("unknown value type {}", r.r#type))),
    };
    let reservation = match r.reservations.last() {
        Some(info) => match info.role.as_deref() {
            Some(role) => Some(checked_role(name, role)?),
            None => return Err(invalid(name, "reservation without a role")),
        },
        None => match r.role.as_deref() {
            None | Some("*") => None,
            Some(role) => Some(checked_role(name, role)?),
        },
    };
    let allocation = match r.allocation_info.as_ref().and_then(|a| a.role.as_deref()) {
        Some(role) => Some(checked_role(name, role)?),
        None => None,
    };
    Ok(Resource::new(name, value)
        .with_reservation(reservation)
        .with_allocation(allocation)
        .with_revocable(r.revocable.is_some()))
}

fn resource_to_pb(r: &Resource) -> pb::Resource {
    let mut out = pb::Resource {
        name: r.name.clone(),
        ..Default::default()
    };
    match &r.value {
        Value::Scalar(s) => {
            out.set_type(ValueType::Scalar);
            out.scalar = Some(pb::value::Scalar { value: s.as_f64() });
        }
        Value::Ranges(ranges) => {
            out.set_type(ValueType::Ranges);
            out.ranges = Some(pb::value::Ranges {
                range: ranges
                    .iter()
                    .map(|(begin, end)| pb::value::Range { begin, end })
                    .collect(),
            });
        }
        Value::Set(items) => {
            out.set_type(ValueType::Set);
            out.set = Some(pb::value::Set {
                item: items.iter().cloned().collect(),
            });
        }
    }
    if let Some(role) = &r.reservation {
        out.role = Some(role.to_string());
        let mut info = pb::resource::ReservationInfo {
            role: Some(role.to_string()),
            ..Default::default()
        };
        info.set_type(pb::resource::reservation_info::Type::Static);
        out.reservations = vec![info];
    }
    if let Some(role) = &r.allocation {
        out.allocation_info = Some(pb::resource::AllocationInfo {
            role: Some(role.to_string()),
        });
    }
    if r.revocable {
        out.revocable = Some(pb::resource::RevocableInfo {});
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn bad_wire_resources_are_rejected() {
        let mut no_value = pb::Resource {
            name: "cpus".into(),
            ..Default::default()
        };
        no_value.set_type(pb::value::Type::Scalar);
        assert!(Resources::from_pb(&[no_value.clone()]).is_err());
        let mut negative = no_value.clone();
        negative.scalar = Some(pb::value::Scalar { value: -1.0 });
        assert!(Resources::from_pb(&[negative]).is_err());
        let mut nan = no_value.clone();
        nan.scalar = Some(pb::value::Scalar { value: f64::NAN });
        assert!(Resources::from_pb(&[nan]).is_err());
        let mut huge = no_value.clone();
        huge.scalar = Some(pb::value::Scalar { value: 1e300 });
        assert!(Resources::from_pb(&[huge]).is_ok(), "saturates, no panic");
        let mut text = no_value;
        text.set_type(pb::value::Type::Text);
        assert!(Resources::from_pb(&[text]).is_err());
        let mut unknown_type = pb::Resource {
            name: "x".into(),
            ..Default::default()
        };
        unknown_type.r#type = 99;
        assert!(Resources::from_pb(&[unknown_type]).is_err());
    }

    #[test]
    fn a_zero_scalar_on_the_wire_is_read_as_nothing() {
        let mut zero = pb::Resource {
            name: "gpus".into(),
            scalar: Some(pb::value::Scalar { value: 0.0 }),
            ..Default::default()
        };
        zero.set_type(pb::value::Type::Scalar);
        let mut cpus = zero.clone();
        cpus.name = "cpus".into();
        cpus.scalar = Some(pb::value::Scalar { value: 2.0 });
        let read = Resources::from_pb(&[zero.clone(), cpus]).unwrap();
        assert_eq!(read, Resources::new().with_cpus(2.0));
        assert_eq!(read.gpus(), 0.0);
        assert!(Resources::from_pb(&[zero]).unwrap().is_empty());
    }

    fn arb_role() -> impl Strategy<Value = Option<Role>> {
        prop_oneof![
            Just(None),
            Just(Some(Role::from("a"))),
            Just(Some(Role::from("b/c")))
        ]
    }

    fn arb_resources() -> impl Strategy<Value = Resources> {
        let entry = (
            prop_oneof![Just("cpus"), Just("mem"), Just("ports"), Just("zones")],
            0u32..5000,
            arb_role(),
            arb_role(),
            any::<bool>(),
        )
            .prop_map(|(name, n, reservation, allocation, revocable)| {
                let value = match name {
                    "ports" => Value::Ranges(Ranges::new([(u64::from(n), u64::from(n) + 3)])),
                    "zones" => Value::Set([format!("z{}", n % 3)].into_iter().collect()),
                    _ => Value::Scalar(Scalar::from_millis(i64::from(n))),
                };
                Resource::new(name, value)
                    .with_reservation(reservation)
                    .with_allocation(allocation)
                    .with_revocable(revocable)
            });
        proptest::collection::vec(entry, 0..6).prop_map(|list| list.into_iter().collect())
    }

    proptest! {
        #[test]
        fn wire_round_trip(a in arb_resources()) {
            prop_assert_eq!(Resources::from_pb(&a.to_pb()).unwrap(), a);
        }
    }
}
