//! Arbitrary bytes through the EVTX reader: never a panic, every error names the file.
//!
//! Inputs that don't start with the EVTX file magic get it put in front, so that the
//! fuzzer explores chunks and records rather than format detection. Seed it with real
//! files: `cargo fuzz run logfiles_evtx fuzz/corpus/logfiles_evtx ../shared/data/events/evtx-attack-samples`.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use nigehban_logfiles::{LogFile, ReadOptions};

fuzz_target!(|data: &[u8]| {
    let mut input = Vec::with_capacity(data.len() + 8);
    if !data.starts_with(b"ElfFile\0") {
        input.extend_from_slice(b"ElfFile\0");
    }
    input.extend_from_slice(data);
    let options = ReadOptions::default();
    let Ok(file) = LogFile::from_reader("fuzz.evtx", Cursor::new(input), &options) else {
        return;
    };
    for item in file.records() {
        if let Err(error) = item {
            assert!(error.to_string().starts_with("fuzz.evtx: "));
        }
    }
});
