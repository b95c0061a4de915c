//! Durations and labels: the small wire pieces every message uses.

use std::time::Duration;

use crate::pb;

/// A duration on the wire; saturates at `i64::MAX` nanoseconds (292 years).
pub fn duration_to_pb(d: Duration) -> pb::DurationInfo {
    pb::DurationInfo {
        nanoseconds: i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
    }
}

/// A wire duration; a negative one counts as zero.
pub fn duration_from_pb(d: &pb::DurationInfo) -> Duration {
    Duration::from_nanos(u64::try_from(d.nanoseconds).unwrap_or(0))
}

/// Key-value pairs as wire labels (`None` when there are none).
pub fn labels_to_pb(labels: &[(String, String)]) -> Option<pb::Labels> {
    (!labels.is_empty()).then(|| pb::Labels {
        labels: labels
            .iter()
            .map(|(k, v)| pb::Label {
                key: k.clone(),
                value: Some(v.clone()),
            })
            .collect(),
    })
}

/// Wire labels as key-value pairs (a label without a value has `""`).
pub fn labels_from_pb(labels: Option<&pb::Labels>) -> Vec<(String, String)> {
    labels
        .map(|l| {
            l.labels
                .iter()
                .map(|l| (l.key.clone(), l.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

/// Seconds as f64 on the wire, for a duration the SDK chose.
pub(crate) fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}
