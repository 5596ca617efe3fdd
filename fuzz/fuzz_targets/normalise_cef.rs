//! CEF parsing in both modes, and normalisation of text declared CEF.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nigehban_normalise::{CefMode, Format, SourceHint, normalise, parse_cef};
use time::macros::datetime;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for mode in [CefMode::Strict, CefMode::Lenient] {
        if let Ok(record) = parse_cef(&text, mode) {
            // A record written back out reads back the same (strictly, since
            // rendering escapes everything that needs it).
            let rendered = record.to_cef_string();
            if mode == CefMode::Strict {
                assert_eq!(parse_cef(&rendered, CefMode::Strict).as_ref(), Ok(&record));
            }
        }
    }
    let received_at = datetime!(2024-03-15 12:00 UTC);
    let _ = normalise(data, &SourceHint::new(Format::Cef, received_at));
    let _ = normalise(data, &SourceHint::new(Format::Auto, received_at));
});
