//! Property tests of the parsers of outside input this crate owns: the HTTP
//! intake's body (gzip, NDJSON lines) and the bus payload.

use std::io::Write;
use std::time::{Duration, SystemTime};

use nigehban_ingest::{
    HttpLimits, IntakeError, RequestContext, SensorStamp, decode_body, decode_event, event_id,
    prepare_ndjson,
};
use proptest::prelude::*;

fn context(stamp: &SensorStamp) -> RequestContext<'_> {
    RequestContext {
        stamp,
        format: None,
        log_name: None,
        source_address: None,
        received_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_710_000_000),
        idempotency_key: None,
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// A line that is a valid record, or one that is not.
#[derive(Debug, Clone)]
enum Line {
    Object(String, u32),
    Text(String),
    Garbage(String),
    Blank,
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        ("[a-z]{1,8}", any::<u32>()).prop_map(|(k, v)| Line::Object(k, v)),
        "[a-zA-Z0-9<][ -~]{0,59}".prop_map(Line::Text),
        // Starts like JSON and is not: `{` then no closing brace.
        "[a-z ]{0,20}".prop_map(|s| Line::Garbage(format!("{{\"{s}"))),
        Just(Line::Blank),
    ]
}

fn render(line: &Line) -> String {
    match line {
        Line::Object(key, value) => format!("{{\"{key}\":{value},\"message\":\"m\"}}"),
        Line::Text(text) => serde_json::to_string(text).unwrap(),
        Line::Garbage(text) => text.clone(),
        Line::Blank => "   ".to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2048),
                                    encoding in prop_oneof![Just(None), Just(Some("gzip")), Just(Some("identity")), Just(Some("zstd"))]) {
        let stamp = SensorStamp::new("t", "s");
        let limits = HttpLimits { max_decompressed_bytes: 1 << 20, ..HttpLimits::default() };
        match prepare_ndjson(&body, encoding, &limits, &context(&stamp)) {
            Ok(batch) => {
                prop_assert_eq!(batch.records.len() as u64 + batch.rejected.len() as u64, batch.lines);
            }
            Err(error) => {
                let _ = error.class();
            }
        }
        let _ = prepare_ndjson(&gzip(&body), Some("gzip"), &limits, &context(&stamp));
    }

    #[test]
    fn good_lines_are_kept_and_bad_lines_reported_by_number(lines in proptest::collection::vec(line(), 0..40),
                                                           crlf in any::<bool>(),
                                                           compressed in any::<bool>()) {
        let separator = if crlf { "\r\n" } else { "\n" };
        let body = lines.iter().map(render).collect::<Vec<_>>().join(separator);
        let body = if compressed { gzip(body.as_bytes()) } else { body.into_bytes() };
        let stamp = SensorStamp::new("t", "s");
        let batch = prepare_ndjson(&body, compressed.then_some("gzip"), &HttpLimits::default(), &context(&stamp)).unwrap();
        let good = lines.iter().filter(|l| matches!(l, Line::Object(..) | Line::Text(_))).count();
        let bad: Vec<u64> = lines.iter().enumerate()
            .filter(|(_, l)| matches!(l, Line::Garbage(_)))
            .map(|(i, _)| i as u64 + 1)
            .collect();
        prop_assert_eq!(batch.records.len(), good);
        prop_assert_eq!(batch.rejected.iter().map(|e| e.line).collect::<Vec<_>>(), bad);
        for record in &batch.records {
            let (id, event) = decode_event(&record.payload).unwrap();
            prop_assert_eq!(event_id(&record.payload), Some(id));
            prop_assert_eq!(event.tenant_id(), Some("t"));
        }
    }

    #[test]
    fn gzip_is_inflated_exactly_and_within_its_limit(data in proptest::collection::vec(any::<u8>(), 0..4096),
                                                     limit in 0usize..5000) {
        let limits = HttpLimits { max_decompressed_bytes: limit, ..HttpLimits::default() };
        match decode_body(&gzip(&data), Some("gzip"), &limits) {
            Ok(inflated) => {
                prop_assert!(data.len() <= limit);
                prop_assert_eq!(&inflated[..], &data[..]);
            }
            Err(IntakeError::DecompressedTooLarge { .. }) => prop_assert!(data.len() > limit),
            Err(other) => prop_assert!(false, "unexpected {other}"),
        }
    }

    #[test]
    fn arbitrary_payloads_are_refused_not_panicked_on(payload in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_event(&payload);
        let _ = event_id(&payload);
    }
}
