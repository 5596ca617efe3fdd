//! Properties of the MISP codec: no input makes it panic, every attribute
//! is accounted for, and what it writes it reads back whole.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use nigehban_misp::{AttributeProblem, read_events, read_feed, write_feed};
use nigehban_model::indicator::{Indicator, IndicatorValue};
use nigehban_model::{IndicatorId, InstanceId, Pap, TenantId, Timestamp, Tlp};
use proptest::prelude::*;
use serde_json::{Value, json};

const TYPES: &[&str] = &[
    "ip-dst",
    "ip-src|port",
    "domain",
    "hostname",
    "domain|ip",
    "url",
    "md5",
    "sha1",
    "sha256",
    "filename|sha256",
    "email-src",
    "ja3-fingerprint-md5",
    "link",
    "text",
    "regkey",
    "",
];

fn attribute() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(TYPES),
        prop_oneof![
            "[a-z0-9.|/:]{0,30}",
            Just("192.0.2.1".to_owned()),
            Just("evil.example|198.51.100.9".to_owned()),
            Just("a".repeat(64)),
            Just("x.exe|".to_owned() + &"b".repeat(64)),
        ],
        prop::option::of(any::<bool>()),
        prop::option::of(0u8..7),
        prop::collection::vec(
            prop_oneof![
                Just("tlp:red".to_owned()),
                Just("tlp:white".to_owned()),
                Just("PAP:GREEN".to_owned()),
                "[a-z:=\"]{1,20}",
            ],
            0..4,
        ),
    )
        .prop_map(|(t, value, to_ids, distribution, tags)| {
            let mut a = json!({"type": t, "value": value});
            if let Some(ids) = to_ids {
                a["to_ids"] = json!(ids);
            }
            if let Some(d) = distribution {
                a["distribution"] = json!(d.to_string());
            }
            a["Tag"] = tags.into_iter().map(|n| json!({"name": n})).collect();
            a
        })
}

fn event() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(attribute(), 0..8),
        prop::collection::vec(prop::collection::vec(attribute(), 0..3), 0..3),
        prop::option::of(0u8..6),
        "[a-f0-9-]{0,12}",
    )
        .prop_map(|(attributes, objects, distribution, uuid)| {
            let mut e = json!({"uuid": uuid, "info": "prop", "Attribute": attributes,
                "Object": objects.into_iter().map(|a| json!({"name": "o", "Attribute": a})).collect::<Vec<_>>()});
            if let Some(d) = distribution {
                e["distribution"] = json!(d);
            }
            json!({"Event": e})
        })
}

fn kind_and_value() -> impl Strategy<Value = IndicatorValue> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|b| IndicatorValue::parse(
            "ip",
            &std::net::Ipv4Addr::from(b).to_string()
        )
        .unwrap()),
        any::<[u8; 16]>().prop_map(|b| IndicatorValue::parse(
            "ip",
            &std::net::Ipv6Addr::from(b).to_string()
        )
        .unwrap()),
        (any::<[u8; 4]>(), 1u8..32).prop_map(|(b, n)| IndicatorValue::parse(
            "cidr",
            &format!("{}/{n}", std::net::Ipv4Addr::from(b))
        )
        .unwrap()),
        "[a-z]{1,10}\\.[a-z]{1,8}\\.example"
            .prop_map(|d| IndicatorValue::parse("domain", &d).unwrap()),
        "[a-z]{1,10}\\.example/[a-zA-Z0-9/]{0,10}".prop_map(|u| IndicatorValue::parse(
            "url",
            &format!("https://{u}")
        )
        .unwrap()),
        "[0-9a-f]{32}".prop_map(|h| IndicatorValue::parse("md5", &h).unwrap()),
        "[0-9a-f]{40}".prop_map(|h| IndicatorValue::parse("sha1", &h).unwrap()),
        "[0-9a-f]{64}".prop_map(|h| IndicatorValue::parse("sha256", &h).unwrap()),
        "[a-z]{1,8}@[a-z]{1,8}\\.example".prop_map(|e| IndicatorValue::parse("email", &e).unwrap()),
        "[0-9a-f]{32}".prop_map(|h| IndicatorValue::parse("ja3", &h).unwrap()),
        "[0-9a-f]{12}"
            .prop_map(|h| IndicatorValue::parse("ja4", &format!("t13d1516h2_{h}_{h}")).unwrap()),
    ]
}

fn indicator(owners: &[TenantId]) -> impl Strategy<Value = Indicator> + use<> {
    let owners = owners.to_vec();
    (
        kind_and_value(),
        prop::sample::select(owners),
        prop::sample::select(Tlp::ALL.to_vec()),
        prop::sample::select(Pap::ALL.to_vec()),
        prop::collection::vec("[a-z.=:\"0-9 ]{1,20}", 0..4),
        prop::sample::select(vec!["", "partner", "feed A"]),
        0i64..2_000_000_000,
        prop::option::of(1i64..1_000_000),
    )
        .prop_map(|(value, tenant, tlp, pap, tags, source, from, span)| {
            let mut tags: Vec<String> = tags.into_iter().map(|t| t.trim().to_owned()).collect();
            tags.sort();
            tags.dedup();
            tags.retain(|t| {
                !t.trim().is_empty()
                    && nigehban_misp::tlp_of_tag(t).is_none()
                    && nigehban_misp::pap_of_tag(t).is_none()
            });
            let from = Timestamp::from_unix_micros(from * 1_000_000);
            Indicator {
                id: IndicatorId::new(),
                instance: InstanceId::new(),
                tenant,
                value,
                title: "t".into(),
                description: String::new(),
                valid_from: from,
                valid_until: span
                    .map(|s| Timestamp::from_unix_micros(from.unix_micros() + s * 1_000_000)),
                confidence: 50,
                source: source.to_owned(),
                tags,
                tlp,
                pap,
                shared_with: Vec::new(),
                revoked: false,
                version: 1,
                created_at: from,
                updated_at: from,
                updated_by: None,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_events(&bytes);
        let _ = read_feed(&bytes, |_| Some(bytes.clone()));
        let _ = nigehban_misp::read_hashes(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn every_attribute_is_an_indicator_or_a_note(events in prop::collection::vec(event(), 1..4)) {
        let bytes = serde_json::to_vec(&events).unwrap();
        let read = read_events(&bytes).unwrap();
        // Each attribute gives one indicator (two for domain|ip), a
        // duplicate note, or a note saying why not; tag notes come on top.
        let not_taken = read
            .notes
            .iter()
            .filter(|n| !matches!(n.problem, AttributeProblem::TagsLeftOut(_)))
            .count();
        prop_assert!(read.indicators.len() + not_taken >= read.attributes());
        let attributes: usize = events.iter().map(|e| {
            e["Event"]["Attribute"].as_array().map_or(0, Vec::len)
                + e["Event"]["Object"].as_array().map_or(0, |o| o.iter().map(|o| o["Attribute"].as_array().map_or(0, Vec::len)).sum())
        }).sum();
        prop_assert_eq!(read.attributes(), attributes);
        for indicator in &read.indicators {
            prop_assert!(indicator.tags.len() <= nigehban_model::indicator::MAX_TAGS);
            prop_assert!(indicator.tags.iter().all(|t| nigehban_misp::tlp_of_tag(t).is_none()));
        }
    }

    #[test]
    fn a_written_feed_reads_back_without_loss(
        indicators in prop::collection::vec(indicator(&[TenantId::from_uuid(uuid_of(1)), TenantId::from_uuid(uuid_of(2))]), 0..20)
    ) {
        let mut unique = BTreeMap::new();
        for i in indicators {
            unique.entry(i.value.clone()).or_insert(i);
        }
        let indicators: Vec<Indicator> = unique.into_values().collect();
        let files = write_feed(&indicators, |t| format!("org {t}"));
        let by_name: BTreeMap<&str, &[u8]> = files.iter().map(|f| (f.name.as_str(), f.bytes.as_slice())).collect();
        let read = read_feed(by_name["manifest.json"], |uuid| by_name.get(format!("{uuid}.json").as_str()).map(|b| b.to_vec())).unwrap();
        prop_assert!(read.failed.is_empty());
        prop_assert!(read.notes.is_empty(), "{:?}", read.notes);
        prop_assert_eq!(read.indicators.len(), indicators.len());
        for original in &indicators {
            let back = read.indicators.iter().find(|i| i.value == original.value);
            prop_assert!(back.is_some(), "{} lost", original.value);
            let back = back.unwrap();
            prop_assert_eq!(back.tlp, original.tlp);
            prop_assert_eq!(back.pap, original.pap);
            prop_assert_eq!(&back.tags, &original.tags);
            prop_assert_eq!(back.valid_from, Some(original.valid_from));
            prop_assert_eq!(back.valid_until, original.valid_until);
        }
    }
}

fn uuid_of(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}
