//! The HTTP intake's request body: arbitrary bytes, plain and as the inside
//! of a gzip stream, through decoding, line splitting, normalising and
//! stamping. Nothing may panic; every record produced must read back.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use nigehban_ingest::{HttpLimits, RequestContext, SensorStamp, decode_event, prepare_ndjson};

fuzz_target!(|data: &[u8]| {
    let stamp = SensorStamp::new("tenant", "sensor");
    let context = RequestContext {
        stamp: &stamp,
        format: None,
        log_name: Some("dns.log"),
        source_address: None,
        received_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_710_000_000),
        idempotency_key: Some("fuzz-key"),
    };
    let limits = HttpLimits {
        max_decompressed_bytes: 1 << 20,
        max_line_bytes: 64 * 1024,
        ..HttpLimits::default()
    };
    for encoding in [None, Some("gzip")] {
        if let Ok(batch) = prepare_ndjson(data, encoding, &limits, &context) {
            assert_eq!(
                batch.records.len() + batch.rejected.len(),
                usize::try_from(batch.lines).unwrap_or(usize::MAX)
            );
            for record in &batch.records {
                let (_, event) = decode_event(&record.payload).expect("intake's payloads read back");
                assert_eq!(event.tenant_id(), Some("tenant"));
            }
        }
    }
});
