//! Arbitrary bytes into every reader: a typed error or a value, never a
//! panic.

use corral_mesos::convert::event_from_mesos;
use corral_mesos::json::{call_from_json, event_from_json};
use corral_mesos::recordio::{encode, Decoder};
use proptest::prelude::*;

/// JSON-ish bytes: fragments of the protocol's vocabulary glued together,
/// so the reader gets past the syntax check often.
fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"type\"",
        "\"OFFERS\"",
        "\"offers\"",
        "\"value\"",
        "\"subscribe\"",
        "\"framework_info\"",
        "\"user\"",
        "\"name\"",
        "\"resources\"",
        "\"scalar\"",
        "\"Infinity\"",
        "\"NaN\"",
        "\"1e999\"",
        "-1",
        "1.5",
        "18446744073709551616",
        "null",
        "true",
        "\"uuid\"",
        "\"!!\"",
        "\"limits\"",
        "\"update\"",
        "\"status\"",
        "\"state\"",
        "\"TASK_RUNNING\"",
        "\"nanoseconds\"",
        "\"id\"",
        "\"hostname\"",
    ]);
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat().into_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, rng_seed: proptest::test_runner::RngSeed::Fixed(12), ..ProptestConfig::default() })]

    #[test]
    fn recordio_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512), chunk in 1usize..64, max in 0usize..256) {
        let mut d = Decoder::new(max);
        for piece in bytes.chunks(chunk) {
            d.feed(piece);
            for _ in 0..bytes.len() + 1 {
                match d.next_record() {
                    Ok(Some(r)) => prop_assert!(r.len() <= max && !r.is_empty()),
                    Ok(None) | Err(_) => break,
                }
            }
        }
        let _ = d.finish();
    }

    #[test]
    fn recordio_round_trips(records in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..100), 0..10), chunk in 1usize..50) {
        let stream: Vec<u8> = records.iter().flat_map(|r| encode(r).to_vec()).collect();
        let mut d = Decoder::new(100);
        let mut out = Vec::new();
        for piece in stream.chunks(chunk) {
            d.feed(piece);
            while let Some(r) = d.next_record().unwrap() {
                out.push(r.to_vec());
            }
        }
        prop_assert!(d.finish().is_ok());
        prop_assert_eq!(out, records);
    }

    #[test]
    fn json_readers_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = call_from_json(&bytes);
        if let Ok(e) = event_from_json(&bytes) {
            let _ = event_from_mesos(&e);
        }
    }

    #[test]
    fn json_readers_never_panic_on_protocol_shaped_input(bytes in jsonish()) {
        let _ = call_from_json(&bytes);
        if let Ok(e) = event_from_json(&bytes) {
            let _ = event_from_mesos(&e);
        }
    }

    #[test]
    fn protobuf_events_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        use prost::Message;
        let _ = corral_mesos::convert::event_from_protobuf(&bytes);
        if let Ok(e) = corral_mesos::pb::scheduler::Event::decode(bytes.as_slice()) {
            let _ = event_from_mesos(&e);
            let _ = corral_mesos::json::event_to_json(&e);
        }
    }
}
