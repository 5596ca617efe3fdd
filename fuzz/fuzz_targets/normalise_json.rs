//! JSON normalisation (format detection, Suricata, Zeek, Windows, generic),
//! single records and batches.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nigehban_normalise::{Format, SourceHint, normalise, normalise_json_stream, normalise_lines};
use time::macros::datetime;

fuzz_target!(|data: &[u8]| {
    let received_at = datetime!(2024-03-15 12:00 UTC);
    for format in [Format::Auto, Format::Json, Format::SuricataEve, Format::Zeek, Format::WindowsJson] {
        if let Ok(event) = normalise(data, &SourceHint::new(format, received_at)) {
            // Every event serialises and reads back.
            let text = serde_json::to_string(&event).expect("serialises");
            let back: nigehban_normalise::NormalisedEvent =
                serde_json::from_str(&text).expect("deserialises");
            assert_eq!(back, event);
            let _ = event.to_ecs_document();
        }
    }
    let hint = SourceHint::new(Format::Auto, received_at);
    let batch = normalise_lines(data, &hint);
    for error in &batch.errors {
        let _ = error.to_event(&hint);
    }
    let _ = normalise_json_stream(data, &hint);
});
