//! MISP events and feeds: any bytes read as events, as a feed manifest (with
//! the same bytes as every event file) and as hashes.csv never panic, and
//! every indicator read writes back into a feed that reads back whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nigehban_model::indicator::Indicator;
use nigehban_model::{IndicatorId, InstanceId, TenantId, Timestamp};

fuzz_target!(|data: &[u8]| {
    let _ = nigehban_misp::read_feed(data, |_| Some(data.to_vec()));
    let _ = nigehban_misp::read_hashes(&String::from_utf8_lossy(data));
    let Ok(read) = nigehban_misp::read_events(data) else {
        return;
    };
    let owner = TenantId::new();
    let at = Timestamp::from_unix_micros(0);
    let indicators: Vec<Indicator> = read
        .indicators
        .iter()
        .map(|i| Indicator {
            id: IndicatorId::new(),
            instance: InstanceId::new(),
            tenant: owner,
            value: i.value.clone(),
            title: i.title.clone(),
            description: i.description.clone(),
            valid_from: i.valid_from.unwrap_or(at),
            valid_until: i.valid_until,
            confidence: 50,
            source: i.source.clone(),
            tags: i.tags.clone(),
            tlp: i.tlp,
            pap: i.pap,
            shared_with: Vec::new(),
            revoked: false,
            version: 1,
            created_at: at,
            updated_at: at,
            updated_by: None,
        })
        .collect();
    let files = nigehban_misp::write_feed(&indicators, |_| "fuzz".into());
    let manifest = &files[0].bytes;
    let back = nigehban_misp::read_feed(manifest, |uuid| {
        files
            .iter()
            .find(|f| f.name == format!("{uuid}.json"))
            .map(|f| f.bytes.clone())
    })
    .expect("a written manifest reads");
    assert!(back.failed.is_empty());
    assert_eq!(back.indicators.len(), indicators.len());
});
