//! The intel crate against real data: MISP's warninglists from the corpus,
//! and observables of events the normaliser made.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nigehban_intel::{IndicatorSetBuilder, Observed, Warninglists, observables};
use nigehban_model::indicator::IndicatorValue;
use nigehban_normalise::{Format, SourceHint, normalise};
use time::macros::datetime;

#[test]
fn the_misp_warninglists_load_and_mark_known_benign_values() {
    let Some(corpus) = nigehban_testkit::corpus_with("intel/misp-warninglists/lists") else {
        return;
    };
    let (lists, problems) =
        Warninglists::load_dir(&corpus.join("intel/misp-warninglists")).unwrap();
    assert!(lists.len() >= 100, "only {} lists", lists.len());
    assert!(lists.entries() > 50_000, "only {} entries", lists.entries());
    // Every list file loads; some lists hold entries of other types (reported, skipped).
    assert!(
        problems.iter().all(|p| p.reason.contains("skipped")),
        "{problems:?}"
    );
    let benign = |kind: &str, value: &str| {
        lists
            .benign(&IndicatorValue::parse(kind, value).unwrap())
            .map(str::to_owned)
    };
    assert!(benign("ip", "10.20.30.40").is_some(), "RFC 1918");
    assert!(
        benign("ip", "2001:1608:10:25::1c04:b12f").is_some(),
        "a public resolver"
    );
    assert!(benign("domain", "www.google.com").is_some());
    assert!(
        benign("md5", "d41d8cd98f00b204e9800998ecf8427e").is_some(),
        "the empty file"
    );
    assert_eq!(benign("domain", "c2.nigehban-test-evil.example"), None);
    // Documentation addresses are benign too (RFC 5735); an ordinary address is not.
    assert!(benign("ip", "203.0.113.77").is_some(), "TEST-NET-3");
    assert_eq!(benign("ip", "5.188.10.11"), None);
    assert!(
        lists
            .benign_observed(&Observed::Ip("192.168.1.1".parse().unwrap()))
            .is_some()
    );
}

#[test]
fn observables_come_from_the_events_the_normaliser_makes() {
    let hint = SourceHint::new(Format::Auto, datetime!(2026-03-15 12:00 UTC));
    let dns = br#"{"timestamp":"2026-03-15T11:59:00.000000+0000","event_type":"dns","src_ip":"10.0.0.5","src_port":53000,"dest_ip":"192.0.2.53","dest_port":53,"proto":"UDP","dns":{"type":"query","id":1,"rrname":"C2.Evil.Example","rrtype":"A"}}"#;
    let event = normalise(dns, &hint).unwrap();
    let found: Vec<(String, Observed)> = observables(&event)
        .into_iter()
        .map(|o| (o.field.to_owned(), o.observed))
        .collect();
    assert!(
        found.contains(&(
            "dns.question.name".into(),
            Observed::Domain("c2.evil.example".into())
        )),
        "{found:?}"
    );
    assert!(
        found.contains(&(
            "source.ip".into(),
            Observed::Ip("10.0.0.5".parse().unwrap())
        )),
        "{found:?}"
    );
    let mut builder = IndicatorSetBuilder::new();
    builder.add(&IndicatorValue::parse("domain", "evil.example").unwrap(), 7);
    builder.add(&IndicatorValue::parse("cidr", "192.0.2.0/24").unwrap(), 8);
    let set = builder.build();
    let mut hits: Vec<u32> = found.iter().flat_map(|(_, o)| set.matches(o)).collect();
    hits.sort_unstable();
    assert_eq!(hits, vec![7, 8]);
}
