//! Property tests of the STIX codec: the pattern parser and the bundle
//! reader never panic on any input, and what we write reads back as written.

#![allow(clippy::unwrap_used)]

use nigehban_stix::pattern::{self, PatternError};
use nigehban_stix::{read_bundle, read_envelope, write_bundle};
use proptest::prelude::*;
use serde_json::json;

/// Pattern-like text: the tokens patterns are made of, in any order.
fn pattern_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just(" OR ".to_owned()),
        Just(" AND ".to_owned()),
        Just(" FOLLOWEDBY ".to_owned()),
        Just(" = ".to_owned()),
        Just(" != ".to_owned()),
        Just(" LIKE ".to_owned()),
        Just(" WITHIN 5 SECONDS".to_owned()),
        Just("ipv4-addr:value".to_owned()),
        Just("file:hashes.'SHA-256'".to_owned()),
        Just("a:b[*].c".to_owned()),
        Just("'x'".to_owned()),
        Just("'it\\'s'".to_owned()),
        Just("t'2020-01-01T00:00:00Z'".to_owned()),
        Just("42".to_owned()),
        "[ -~]{0,3}",
    ];
    prop::collection::vec(token, 0..24).prop_map(|tokens| tokens.concat())
}

proptest! {
    #[test]
    fn the_pattern_parser_never_panics(text in pattern_text()) {
        let _ = pattern::parse(&text);
    }

    #[test]
    fn the_pattern_parser_never_panics_on_any_text(text in "\\PC{0,64}") {
        let _ = pattern::parse(&text);
    }

    #[test]
    fn written_equalities_read_back_exactly(value in "\\PC{0,40}", n in 1usize..5) {
        let one = pattern::equality("domain-name:value", &value);
        let all = vec![one; n].join(" OR ");
        let read = pattern::parse(&all).unwrap();
        prop_assert_eq!(read.len(), n);
        for comparison in read {
            prop_assert_eq!(&comparison.value, &value);
            prop_assert_eq!(comparison.object_path(), "domain-name:value");
        }
    }

    #[test]
    fn an_and_anywhere_is_unsupported_never_dropped(value in "[a-z]{1,10}") {
        let text = format!("[domain-name:value = '{value}'] AND [domain-name:value = 'b']");
        prop_assert!(matches!(pattern::parse(&text), Err(PatternError::Unsupported(_))));
    }

    #[test]
    fn the_bundle_reader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = read_bundle(&bytes);
    }

    #[test]
    fn every_object_is_kept_or_refused(kinds in prop::collection::vec(prop_oneof![
        Just("indicator"), Just("malware"), Just("BAD TYPE"), Just("x-custom")], 0..20)) {
        let objects: Vec<serde_json::Value> = kinds
            .iter()
            .map(|kind| json!({
                "type": kind,
                "id": format!("{kind}--{}", uuid::Uuid::new_v4()),
                "spec_version": "2.1",
            }))
            .collect();
        let bundle = write_bundle(objects);
        let text = serde_json::to_vec(&bundle).unwrap();
        let read = read_bundle(&text).unwrap();
        prop_assert_eq!(read.objects.len() + read.refused.len(), kinds.len());
        let bad = kinds.iter().filter(|k| **k == "BAD TYPE").count();
        prop_assert_eq!(read.refused.len(), bad);
        for (position, object) in &read.objects {
            prop_assert_eq!(object.as_json(), bundle["objects"][*position].as_object().unwrap());
        }
        // The same objects in a TAXII envelope read the same way.
        let envelope = json!({"more": false, "objects": bundle["objects"].clone()});
        let from_envelope = read_envelope(&serde_json::to_vec(&envelope).unwrap()).unwrap();
        prop_assert_eq!(from_envelope.objects, read.objects);
        prop_assert_eq!(from_envelope.refused, read.refused);
        prop_assert_eq!(from_envelope.id, None);
    }

    #[test]
    fn the_envelope_reader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = read_envelope(&bytes);
    }
}
