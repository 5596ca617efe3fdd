//! Matcher benchmarks: loading + compiling SigmaHQ, and matching the
//! regression events (evtx-crate JSON layout) against every rule.
//!
//! Run: `cargo bench -p nigehban-sigma --bench matcher`. Skips (prints why)
//! when the corpus is absent.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/corpus/support.rs"]
mod support;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nigehban_sigma::{CompileOptions, CompiledRuleSet, Event, LogsourceMapping, RuleSet, Value};

/// An owned copy of an event's fields, for measuring the matcher without the
/// cost of a JSON adapter's lookups.
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
    fn of(e: &support::EvtxJson) -> Flat {
        let mut fields = Vec::new();
        e.for_each_field(&mut |n, v| {
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

fn sources(corpus: &Path, windows_only: bool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for d in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        for f in support::yaml_files(&corpus.join("sigma/rules").join(d)) {
            let text = std::fs::read_to_string(&f).unwrap();
            if windows_only && !text.contains("product: windows") {
                continue;
            }
            out.push((text, f.display().to_string()));
        }
    }
    out
}

fn load(sources: &[(String, String)]) -> RuleSet {
    let mut set = RuleSet::new();
    for (text, origin) in sources {
        set.add_str(text, origin);
    }
    set
}

fn events(corpus: &Path) -> Vec<support::EvtxJson> {
    let cases: Vec<PathBuf> = support::regression_cases(corpus)
        .into_iter()
        .map(|c| c.events)
        .collect();
    let mut events = Vec::new();
    for p in &cases {
        events.extend(support::read_events(p));
    }
    events
}

fn benches(c: &mut Criterion) {
    let Some(corpus) = support::corpus() else {
        return;
    };
    let all = sources(&corpus, false);
    let windows = sources(&corpus, true);
    let mapping = LogsourceMapping::builtin();
    let mut g = c.benchmark_group("startup");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("load_all_sigmahq", |b| b.iter(|| black_box(load(&all))));
    let set = load(&all);
    g.bench_function("compile_all_sigmahq", |b| {
        b.iter(|| {
            black_box(CompiledRuleSet::new(
                &set,
                &mapping,
                &CompileOptions::default(),
            ))
        })
    });
    g.finish();

    let events = events(&corpus);
    let flat: Vec<Flat> = events.iter().map(Flat::of).collect();
    let texts: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(&e.0).unwrap())
        .collect();
    let mut g = c.benchmark_group("match");
    g.throughput(Throughput::Elements(events.len() as u64));
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
    for (name, srcs) in [("windows_rules", &windows), ("all_rules", &all)] {
        let set = load(srcs);
        let (compiled, _) = CompiledRuleSet::new(&set, &mapping, &CompileOptions::default());
        let mut scratch = compiled.scratch();
        let mut out = Vec::new();
        for e in &events {
            out.clear();
            compiled.matches(e, &mut scratch, &mut out);
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
                for e in &events {
                    out.clear();
                    compiled.matches(e, &mut scratch, &mut out);
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
}

criterion_group!(matcher, benches);
criterion_main!(matcher);
