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

/// xorshift64*, fixed seed: the same random inputs every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A random value of a random kind, from small pools so that indicators and
/// probes overlap (same values, names below domains, addresses in networks).
fn random_value(rng: &mut Rng) -> (&'static str, String) {
    const LABELS: [&str; 6] = ["a", "b", "evil", "example", "com", "xn--p1ai"];
    let hex = |rng: &mut Rng, bytes: usize| -> String {
        let seed = rng.below(40);
        (0..bytes)
            .map(|i| format!("{:02x}", (seed as usize * 37 + i * 11) % 256))
            .collect()
    };
    match rng.below(12) {
        0 => (
            "ip",
            format!("10.{}.{}.{}", rng.below(3), rng.below(4), rng.below(6)),
        ),
        1 => (
            "cidr",
            format!(
                "10.{}.{}.0/{}",
                rng.below(3),
                rng.below(4),
                8 + rng.below(24)
            ),
        ),
        2 => ("ip", format!("2001:db8::{:x}", rng.below(8))),
        3 => ("cidr", format!("2001:db8::/{}", 30 + rng.below(98))),
        4 | 5 => {
            let labels: Vec<&str> = (0..1 + rng.below(4))
                .map(|_| LABELS[rng.below(6) as usize])
                .collect();
            ("domain", labels.join("."))
        }
        6 => (
            "url",
            format!("http://h{}.example/p{}", rng.below(4), rng.below(3)),
        ),
        7 => (
            "email",
            format!("u{}@m{}.example", rng.below(4), rng.below(3)),
        ),
        8 => ("md5", hex(rng, 16)),
        9 => ("sha1", hex(rng, 20)),
        10 => ("sha256", hex(rng, 32)),
        _ => ("ja3", hex(rng, 16)),
    }
}

/// Whether indicator `value` matches `observed`, by the rules, the slow way.
fn reference_matches(value: &IndicatorValue, observed: &Observed) -> bool {
    use nigehban_model::indicator::IndicatorKind as K;
    match (value.kind(), observed) {
        (K::Ipv4 | K::Ipv6, Observed::Ip(ip)) => value.value().parse() == Ok(*ip),
        (K::Cidr, Observed::Ip(ip)) => {
            let Some((network, length)) = value.network() else {
                return false;
            };
            match (network, ip) {
                (std::net::IpAddr::V4(n), std::net::IpAddr::V4(a)) => {
                    length == 0 || (u32::from(n) ^ u32::from(*a)) >> (32 - u32::from(length)) == 0
                }
                (std::net::IpAddr::V6(n), std::net::IpAddr::V6(a)) => {
                    length == 0
                        || (u128::from(n) ^ u128::from(*a)) >> (128 - u32::from(length)) == 0
                }
                _ => false,
            }
        }
        (K::Domain, Observed::Domain(name)) => {
            name == value.value() || name.ends_with(&format!(".{}", value.value()))
        }
        (K::Md5, Observed::Md5(s))
        | (K::Sha1, Observed::Sha1(s))
        | (K::Sha256, Observed::Sha256(s))
        | (K::Ja3, Observed::Ja3(s)) => s.eq_ignore_ascii_case(value.value()),
        (K::Url, Observed::Url(s))
        | (K::Email, Observed::Email(s))
        | (K::Ja4, Observed::Ja4(s)) => s == value.value(),
        _ => false,
    }
}

#[test]
fn the_compiled_set_agrees_with_a_plain_reference_on_random_indicators() {
    let mut rng = Rng(0x6e69_6765_6862_616e);
    for round in 0..20 {
        let size = [0, 1, 5, 50, 400][round % 5];
        let indicators: Vec<IndicatorValue> = (0..size)
            .filter_map(|_| {
                let (kind, text) = random_value(&mut rng);
                IndicatorValue::parse(kind, &text).ok()
            })
            .collect();
        let mut builder = IndicatorSetBuilder::new();
        for (payload, value) in indicators.iter().enumerate() {
            builder.add(value, payload as u32);
        }
        let set = builder.build();
        assert_eq!(set.len(), indicators.len());
        let mut hits = 0;
        for _ in 0..600 {
            let (kind, mut text) = random_value(&mut rng);
            if rng.below(4) == 0 {
                // Probes in upper case: hashes still match, names are lower-cased as observed.
                text = text.to_uppercase();
            }
            let Some(observed) = nigehban_intel::observe(kind, &text) else {
                continue;
            };
            let mut found = set.matches(&observed);
            found.sort_unstable();
            let expected: Vec<u32> = indicators
                .iter()
                .enumerate()
                .filter(|(_, value)| reference_matches(value, &observed))
                .map(|(payload, _)| payload as u32)
                .collect();
            assert_eq!(found, expected, "round {round}: {observed:?}");
            hits += usize::from(!expected.is_empty());
        }
        if size >= 50 {
            assert!(
                hits > 50,
                "round {round}: only {hits} probes hit: the pools do not overlap"
            );
        }
    }
}
