//! Arbitrary bytes through format detection and the JSON readers (lines, documents,
//! gzip): never a panic, every error names the file. The first byte picks a small batch
//! size, so that values and lines are cut across batches.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use nigehban_logfiles::{LogFile, ReadOptions};

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let options = ReadOptions {
        batch_bytes: 1 + usize::from(first) * 4,
        max_record_bytes: 4096,
    };
    let Ok(file) = LogFile::from_reader("fuzz.json", Cursor::new(rest.to_vec()), &options) else {
        return;
    };
    for item in file.records() {
        if let Err(error) = item {
            assert!(error.to_string().starts_with("fuzz.json: "));
        }
    }
});
