//! Decode throughput per core: EVTX chunks, JSON lines and JSON documents, from corpus
//! samples. The files are cut into units first; only decoding (`Unit::records`) is timed,
//! on one thread, as one hunt worker does it.
//!
//! Time is the benchmark thread's CPU time (Linux `/proc/thread-self/schedstat`), not wall
//! time: the machines this runs on are shared, and CPU time per record is what "events per
//! second per core" means. Where that file is missing, wall time is used.
//!
//! Run: `cargo bench -p nigehban-logfiles --bench decode`. Skipped when the corpus
//! (`NIGEHBAN_CORPUS`, default `../shared/data`) is absent.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nigehban_logfiles::{LogFile, ReadOptions, Unit};

/// The calling thread's CPU time in nanoseconds, if the kernel tells it.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Criterion measurement of the benchmark thread's CPU time (see the module docs).
struct CpuTime;

impl Measurement for CpuTime {
    type Intermediate = (Option<u64>, std::time::Instant);
    type Value = u64;

    fn start(&self) -> Self::Intermediate {
        (thread_cpu_ns(), std::time::Instant::now())
    }

    fn end(&self, (cpu, wall): Self::Intermediate) -> u64 {
        match (cpu, thread_cpu_ns()) {
            (Some(start), Some(end)) => end.saturating_sub(start),
            _ => wall.elapsed().as_nanos() as u64,
        }
    }

    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        // Nanoseconds, formatted as wall time is.
        static NANOSECONDS: WallTime = WallTime;
        NANOSECONDS.formatter()
    }
}

fn corpus() -> Option<PathBuf> {
    let path = std::env::var_os("NIGEHBAN_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    );
    path.is_dir().then_some(path)
}

fn evtx_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            evtx_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "evtx") {
            found.push(path);
        }
    }
}

/// All units of a file, read ahead.
fn units(file: LogFile) -> Vec<Unit> {
    file.units().filter_map(Result::ok).collect()
}

/// Decodes every unit; returns the number of records.
fn decode(units: &[Unit]) -> u64 {
    let mut records = 0;
    for unit in units {
        for record in unit.records().flatten() {
            black_box(&record.event);
            records += 1;
        }
    }
    records
}

fn benches(c: &mut Criterion<CpuTime>) {
    let Some(corpus) = corpus() else {
        eprintln!("skipped: corpus not found (NIGEHBAN_CORPUS)");
        return;
    };
    let mut paths = Vec::new();
    evtx_files(&corpus.join("events/evtx-attack-samples"), &mut paths);
    evtx_files(&corpus.join("sigma/regression"), &mut paths);
    paths.sort();

    // EVTX: every chunk of every sample.
    let evtx_units: Vec<Unit> = paths
        .iter()
        .filter_map(|path| LogFile::open(path).ok())
        .flat_map(units)
        .collect();
    let evtx_records = decode(&evtx_units);

    // JSON lines: the same events, one compact line each (Windows events of about 1 KB),
    // repeated to 8 MiB.
    let mut lines = Vec::new();
    for unit in &evtx_units {
        for record in unit.records().flatten() {
            lines.extend_from_slice(record.event.to_string().as_bytes());
            lines.push(b'\n');
        }
    }
    let line_count = lines.iter().filter(|byte| **byte == b'\n').count();
    let average = lines.len() / line_count.max(1);
    let one_pass = lines.clone();
    while lines.len() < 8 << 20 {
        lines.extend_from_slice(&one_pass);
    }
    let options = ReadOptions::default();
    let line_units =
        units(LogFile::from_reader("lines.ndjson", Cursor::new(lines.clone()), &options).unwrap());
    let line_records = decode(&line_units);

    // JSON documents: the same events pretty-printed one after another.
    let mut pretty = Vec::new();
    for line in lines
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty())
    {
        let value: serde_json::Value = serde_json::from_slice(line).unwrap();
        pretty.extend_from_slice(serde_json::to_string_pretty(&value).unwrap().as_bytes());
        pretty.push(b'\n');
    }
    let document_units =
        units(LogFile::from_reader("events.json", Cursor::new(pretty.clone()), &options).unwrap());
    let document_records = decode(&document_units);

    eprintln!(
        "evtx: {} chunks, {evtx_records} records; json lines: {line_records} lines of {average} bytes on average; \
         json documents: {document_records} objects",
        evtx_units.len()
    );

    let mut group = c.benchmark_group("decode");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(evtx_records));
    group.bench_function("evtx_chunks", |b| b.iter(|| decode(&evtx_units)));
    group.throughput(Throughput::Elements(line_records));
    group.bench_function("json_lines", |b| b.iter(|| decode(&line_units)));
    group.throughput(Throughput::Elements(document_records));
    group.bench_function("json_documents", |b| b.iter(|| decode(&document_units)));
    group.finish();

    // Cutting into units (the sequential part of a hunt), for comparison.
    let mut group = c.benchmark_group("cut");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Bytes(lines.len() as u64));
    group.bench_function("json_lines", |b| {
        b.iter(|| {
            units(
                LogFile::from_reader("lines.ndjson", Cursor::new(lines.clone()), &options).unwrap(),
            )
            .len()
        })
    });
    group.throughput(Throughput::Bytes(pretty.len() as u64));
    group.bench_function("json_documents", |b| {
        b.iter(|| {
            units(
                LogFile::from_reader("events.json", Cursor::new(pretty.clone()), &options).unwrap(),
            )
            .len()
        })
    });
    group.finish();
}

criterion_group! {
    name = decode_benches;
    config = Criterion::default().with_measurement(CpuTime);
    targets = benches
}
criterion_main!(decode_benches);
