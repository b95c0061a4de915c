//! corral.v1 (our gRPC protocol) against mesos.v1 (this crate), field by
//! field: the conversions re-encode between them, so every field corral
//! declares must mean the same in Mesos.

use prost_reflect::{Cardinality, DescriptorPool, Kind, MessageDescriptor};

fn corral_pool() -> DescriptorPool {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../proto/proto");
    let set = protox::compile(
        ["corral/v1/mesos.proto", "corral/v1/scheduler.proto"],
        [root],
    )
    .expect("corral-proto's files compile");
    DescriptorPool::from_file_descriptor_set(set).expect("a valid set")
}

/// The Mesos counterpart of a corral message name.
fn mesos_name(corral: &str) -> String {
    let rel = corral
        .strip_prefix("corral.v1.")
        .expect("corral.v1 package");
    let top = rel.split('.').next().unwrap_or(rel);
    if matches!(top, "Call" | "Event") {
        format!("mesos.v1.scheduler.{rel}")
    } else {
        format!("mesos.v1.{rel}")
    }
}

fn kind_name(kind: &Kind) -> String {
    match kind {
        Kind::Message(m) => format!("message {}", relative(m.full_name())),
        Kind::Enum(e) => format!("enum {}", relative(e.full_name())),
        other => format!("{other:?}"),
    }
}

fn relative(name: &str) -> &str {
    name.strip_prefix("corral.v1.")
        .or_else(|| name.strip_prefix("mesos.v1.scheduler."))
        .or_else(|| name.strip_prefix("mesos.v1."))
        .unwrap_or(name)
}

/// Fields known to differ, with the reason.
const KNOWN: &[(&str, u32)] = &[
    // A URL message in Mesos, a string in corral; carried by hand.
    ("corral.v1.InverseOffer", 2),
];

#[test]
fn corral_v1_is_wire_compatible_with_mesos_v1_field_by_field() {
    let corral = corral_pool();
    let mesos = corral_mesos::pb::pool();
    let mut checked = 0;
    let mut problems = Vec::new();
    for message in corral.all_messages() {
        let name = message.full_name();
        if name == "corral.v1.CallAccepted" {
            continue; // gRPC only
        }
        let Some(twin): Option<MessageDescriptor> = mesos.get_message_by_name(&mesos_name(name))
        else {
            problems.push(format!("{name}: no Mesos counterpart"));
            continue;
        };
        for field in message.fields() {
            if KNOWN.contains(&(name, field.number())) {
                continue;
            }
            let Some(other) = twin.get_field(field.number()) else {
                if field.number() < 1000 {
                    problems.push(format!(
                        "{name}.{}: number {} not in Mesos",
                        field.name(),
                        field.number()
                    ));
                }
                continue;
            };
            checked += 1;
            if other.name() != field.name() {
                problems.push(format!(
                    "{name}.{}: Mesos calls it {}",
                    field.name(),
                    other.name()
                ));
            }
            if kind_name(&other.kind()) != kind_name(&field.kind()) {
                problems.push(format!(
                    "{name}.{}: {} here, {} in Mesos",
                    field.name(),
                    kind_name(&field.kind()),
                    kind_name(&other.kind())
                ));
            }
            let label = |c: Cardinality| format!("{c:?}");
            if label(other.cardinality()) != label(field.cardinality()) {
                problems.push(format!("{name}.{}: label differs", field.name()));
            }
        }
    }
    for e in corral.all_enums() {
        let Some(twin) = mesos.get_enum_by_name(&mesos_name(e.full_name())) else {
            problems.push(format!("{}: no Mesos counterpart", e.full_name()));
            continue;
        };
        for value in e.values() {
            match twin.get_value(value.number()) {
                Some(v) if v.name() == value.name() => {}
                _ => problems.push(format!(
                    "{}.{} = {}: not in Mesos",
                    e.full_name(),
                    value.name(),
                    value.number()
                )),
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(checked > 150, "only {checked} fields compared");
}
