//! What incident reports carry from outside: observables found in free text
//! (defanged ones too) read back as themselves; typed observables, RSIT
//! classifications, readable ids and evidence file names never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nigehban_model::{EvidenceFileName, Observable, ReadableId, RsitClass, extract_observables};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for observable in extract_observables(&text) {
        let again = Observable::parse(observable.kind().as_str(), observable.value());
        assert_eq!(again.as_ref(), Ok(&observable));
    }
    let mut middle = text.len() / 2;
    while !text.is_char_boundary(middle) {
        middle -= 1;
    }
    let (left, right) = text.split_at(middle);
    let _ = Observable::parse(left, right);
    let _ = RsitClass::parse(left, right);
    let _ = text.parse::<ReadableId>();
    let _ = EvidenceFileName::parse(&text);
});
