//! STIX bundles as they come from a file or a TAXII client: every object
//! read, every indicator's pattern parsed and its values taken.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nigehban_stix::{indicator, pattern, read_bundle, read_envelope};

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = read_bundle(data) {
        let context = bundle.context();
        for (_, object) in &bundle.objects {
            let _ = context.tlp_of(object);
            let _ = indicator::read_indicator(object, &context);
        }
    }
    // A TAXII envelope (objects POSTed to a collection, or pulled from one).
    if let Ok(envelope) = read_envelope(data) {
        let context = envelope.context();
        for (_, object) in &envelope.objects {
            let _ = indicator::read_indicator(object, &context);
        }
    }
    let _ = pattern::parse(&String::from_utf8_lossy(data));
});
