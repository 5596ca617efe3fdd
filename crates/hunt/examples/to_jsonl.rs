//! Writes the events of log files as JSON lines, in the layout the readers
//! produce (for EVTX: the `evtx` crate's `Event.System`/`Event.EventData`).
//!
//! Used by `bench/hunt.py` to build the JSON-lines twin of the EVTX corpus:
//! `cargo run --release -p nigehban-hunt --example to_jsonl -- FILE... > out.jsonl`

use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for path in std::env::args().skip(1) {
        for record in nigehban_logfiles::read(&path) {
            match record {
                Ok(record) => {
                    serde_json::to_writer(&mut out, &record.event)?;
                    out.write_all(b"\n")?;
                }
                Err(error) => eprintln!("{error}"),
            }
        }
    }
    out.flush()
}
