//! Matching SigmaHQ's regression events (`evtx`-crate JSON layout) against
//! every rule: through the Sigma view of an event that `hunt` and live
//! detection use, over owned flat copies of the same fields (the matcher
//! alone), and as the live stage does it (`live/evaluate_batch`: bus
//! payloads decoded, viewed, matched, detections with the values that
//! matched, one thread). Loading and compiling: `nigehban-sigma`'s `matcher`
//! bench.
//!
//! Run: `cargo bench -p nigehban-detect --bench matcher`. Skips (prints why)
//! when the corpus is absent (`NIGEHBAN_CORPUS`, default `../shared/data`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use nigehban_bus::{Delivery, Record};
use nigehban_detect::{DetectionRules, JsonTape, SigmaView, evaluate, load_rules};
use nigehban_normalise::envelope::{EVENT_CONTENT_TYPE, encode_event, new_event_id};
use nigehban_normalise::{Format, SourceHint, normalise};
use nigehban_sigma::{
    CompileOptions, CompiledRuleSet, Event, LogsourceMapping, Placeholders, RuleSet, Value,
};

/// An owned copy of an event's fields, for measuring the matcher without the
/// cost of resolving names in a record.
struct Flat {
    fields: Vec<(String, Owned)>,
}

enum Owned {
    Null,
    Int(i64),
    Str(String),
}

fn borrow(o: &Owned) -> Value<'_> {
    match o {
        Owned::Null => Value::Null,
        Owned::Int(i) => Value::Int(*i),
        Owned::Str(s) => Value::Str(s),
    }
}

impl Flat {
    fn of(event: &SigmaView<'_>) -> Flat {
        let mut fields = Vec::new();
        event.for_each_field(&mut |n, v| {
            let o = match v {
                Value::Null => Owned::Null,
                Value::Int(i) => Owned::Int(i),
                Value::Str(s) => Owned::Str(s.to_string()),
                Value::UInt(u) => Owned::Str(u.to_string()),
                Value::Float(f) => Owned::Str(f.to_string()),
                Value::Bool(b) => Owned::Str(b.to_string()),
            };
            fields.push((n.to_string(), o));
        });
        Flat { fields }
    }
}

impl Event for Flat {
    fn field(&self, name: &str, visit: &mut dyn FnMut(Value<'_>)) {
        for (n, v) in &self.fields {
            if n == name {
                visit(borrow(v));
            }
        }
    }

    fn values(&self, visit: &mut dyn FnMut(Value<'_>)) {
        self.fields.iter().for_each(|(_, v)| visit(borrow(v)));
    }

    fn for_each_field(&self, visit: &mut dyn FnMut(&str, Value<'_>)) -> bool {
        self.fields.iter().for_each(|(n, v)| visit(n, borrow(v)));
        true
    }
}

fn corpus() -> Option<PathBuf> {
    let root = std::env::var_os("NIGEHBAN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if root.join("sigma").is_dir() {
        return Some(root);
    }
    println!("skipped: corpus not found at {}", root.display());
    None
}

/// The events of every regression case's `.json`, as JSON text, one each.
fn events(corpus: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut stack = vec![corpus.join("sigma/regression/regression_data")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut events = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for value in serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>() {
            events.push(value.unwrap().to_string());
        }
    }
    events
}

/// SigmaHQ's maintained rules; with `windows_only`, the Windows ones.
fn rules(corpus: &Path, windows_only: bool) -> RuleSet {
    let base = corpus.join("sigma/rules");
    let dirs: Vec<PathBuf> = ["rules", "rules-emerging-threats", "rules-threat-hunting"]
        .iter()
        .map(|d| base.join(d))
        .collect();
    let all = load_rules(&dirs, Placeholders::default()).unwrap();
    if !windows_only {
        return all;
    }
    let mut windows = RuleSet::new();
    for rule in all.rules() {
        if rule.meta.logsource.product.as_deref() == Some("windows") {
            windows.add_parsed(nigehban_sigma::ParsedSource {
                rules: vec![rule.clone()],
                diagnostics: Vec::new(),
                failed: Vec::new(),
            });
        }
    }
    windows
}

fn benches(c: &mut Criterion) {
    let Some(corpus) = corpus() else {
        return;
    };
    let texts = events(&corpus);
    let tapes: Vec<JsonTape> = texts
        .iter()
        .map(|text| {
            let mut tape = JsonTape::new();
            assert!(tape.parse(text.as_bytes()));
            tape
        })
        .collect();
    let flat: Vec<Flat> = tapes
        .iter()
        .map(|tape| Flat::of(&SigmaView::of_record(tape)))
        .collect();
    let mapping = LogsourceMapping::builtin();
    let mut g = c.benchmark_group("match");
    g.throughput(Throughput::Elements(texts.len() as u64));
    // Calibration: parsing the same events as JSON, to compare machines.
    g.bench_function("baseline_serde_json_parse", |b| {
        b.iter(|| {
            let mut n = 0;
            for t in &texts {
                let v: serde_json::Value = serde_json::from_str(t).unwrap();
                n += v.as_object().map_or(0, |o| o.len());
            }
            black_box(n)
        })
    });
    let mut tape = JsonTape::new();
    g.bench_function("tape_parse_and_view", |b| {
        b.iter(|| {
            let mut n = 0;
            for t in &texts {
                tape.parse(t.as_bytes());
                n += usize::from(SigmaView::of_record(&tape).is_windows());
            }
            black_box(n)
        })
    });
    for (name, windows_only) in [("windows_rules", true), ("all_rules", false)] {
        let set = rules(&corpus, windows_only);
        let (compiled, _) = CompiledRuleSet::new(&set, &mapping, &CompileOptions::default());
        let mut scratch = compiled.scratch();
        let mut out = Vec::new();
        for tape in &tapes {
            out.clear();
            compiled.matches(&SigmaView::of_record(tape), &mut scratch, &mut out);
        }
        let c = scratch.take_counters();
        let n = c.events.max(1);
        let (rules, variants, leaves, buckets) = compiled.stats();
        eprintln!(
            "{name}: {rules} rules, {variants} variants, {leaves} leaves, {buckets} buckets; per event: \
             {:.1} buckets, {:.1} values, {:.0} bytes, {:.1} probes, {:.1} hits, {:.1} verifies, {:.1} programs",
            c.buckets as f64 / n as f64,
            c.values as f64 / n as f64,
            c.bytes as f64 / n as f64,
            c.probes as f64 / n as f64,
            c.hits as f64 / n as f64,
            c.verifies as f64 / n as f64,
            c.evaluated as f64 / n as f64
        );
        g.bench_function(format!("regression_events/{name}"), |b| {
            b.iter(|| {
                let mut n = 0;
                for tape in &tapes {
                    out.clear();
                    compiled.matches(&SigmaView::of_record(tape), &mut scratch, &mut out);
                    n += out.len();
                }
                black_box(n)
            })
        });
        g.bench_function(format!("regression_events_flat/{name}"), |b| {
            b.iter(|| {
                let mut n = 0;
                for e in &flat {
                    out.clear();
                    compiled.matches(e, &mut scratch, &mut out);
                    n += out.len();
                }
                black_box(n)
            })
        });
    }
    g.finish();

    // The live stage's work on a batch: every regression event as intake
    // would have put it on the bus.
    let hint = SourceHint::new(Format::Auto, time::macros::datetime!(2024-03-15 12:00 UTC));
    let deliveries: Vec<Delivery> = texts
        .iter()
        .enumerate()
        .map(|(offset, text)| delivery(offset, text.as_bytes(), &hint))
        .collect();
    let (rules, _) =
        DetectionRules::compile(&rules(&corpus, false), &mapping, &CompileOptions::default());
    let mut g = c.benchmark_group("live");
    g.throughput(Throughput::Elements(deliveries.len() as u64));
    g.bench_function("evaluate_batch/all_rules", |b| {
        b.iter(|| black_box(evaluate(&rules, &deliveries, 1).detections.len()))
    });
    // What bench/detection.py sends: NXLog's flat JSON of Sysmon process
    // creations, one in twenty matched by several rules.
    let nxlog: Vec<Delivery> = (0..2_000)
        .map(|i| delivery(i, nxlog_sysmon_line(i).as_bytes(), &hint))
        .collect();
    g.throughput(Throughput::Elements(nxlog.len() as u64));
    g.bench_function("evaluate_batch_nxlog_sysmon/all_rules", |b| {
        b.iter(|| black_box(evaluate(&rules, &nxlog, 1).detections.len()))
    });
    g.finish();
}

/// A delivery of `text` as intake would have put it on the bus.
fn delivery(offset: usize, text: &[u8], hint: &SourceHint) -> Delivery {
    let mut event = normalise(text, hint).unwrap();
    event.set_tenant_id(Some("t1".into()));
    let payload: Bytes = encode_event(new_event_id(), &event).unwrap();
    Delivery {
        offset: offset as u64,
        appended_at: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        delivery_count: 1,
        record: Record {
            tenant_id: "t1".into(),
            sensor_id: "s1".into(),
            received_at: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            content_type: EVENT_CONTENT_TYPE.into(),
            payload,
            id: None,
        },
    }
}

/// The Sysmon process creation bench/detection.py sends as its `i`th event.
fn nxlog_sysmon_line(i: usize) -> String {
    let host = format!("ws-{}.corp.example", i % 300);
    let user = format!("CORP\\user{}", i % 97);
    let (image, command) = if i.is_multiple_of(20) {
        (
            "C:\\Windows\\System32\\whoami.exe".to_owned(),
            "whoami.exe /priv".to_owned(),
        )
    } else {
        (
            "C:\\Program Files\\Office\\winword.exe".to_owned(),
            format!(
                "\"C:\\Program Files\\Office\\winword.exe\" /n C:\\Users\\user{}\\Documents\\report-{i}.docx",
                i % 97
            ),
        )
    };
    let original = image.rsplit("\\").next().unwrap_or_default().to_owned();
    serde_json::json!({
        "EventTime": "2024-03-15 10:22:14", "Hostname": host, "EventID": 1,
        "SourceName": "Microsoft-Windows-Sysmon",
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "ProviderGuid": "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}", "RecordNumber": i,
        "UtcTime": "2024-03-15 10:22:14.123",
        "ProcessGuid": format!("{{a1b2c3d4-0000-0000-0000-{i:012}}}"), "ProcessId": 1000 + i % 60000,
        "Image": image, "FileVersion": "16.0", "Description": "Process", "Product": "Windows",
        "Company": "Example", "OriginalFileName": original, "CommandLine": command,
        "CurrentDirectory": format!("C:\\Users\\user{}\\", i % 97), "User": user,
        "LogonId": "0x3e7", "IntegrityLevel": "Medium",
        "ParentImage": "C:\\Windows\\explorer.exe",
        "ParentCommandLine": "C:\\Windows\\Explorer.EXE",
    })
    .to_string()
}

criterion_group!(matcher, benches);
criterion_main!(matcher);
