//! Matcher benchmarks: loading and compiling SigmaHQ. (Matching real events
//! against every rule is measured by `nigehban-detect`'s `matcher` bench,
//! which reads the events through detection's Sigma view of an event.)
//!
//! Run: `cargo bench -p nigehban-sigma --bench matcher`. Skips (prints why)
//! when the corpus is absent.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/corpus/support.rs"]
mod support;

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use nigehban_sigma::{CompileOptions, CompiledRuleSet, LogsourceMapping, RuleSet};

fn sources(corpus: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for d in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        for f in support::yaml_files(&corpus.join("sigma/rules").join(d)) {
            let text = std::fs::read_to_string(&f).unwrap();
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

fn benches(c: &mut Criterion) {
    let Some(corpus) = support::corpus() else {
        return;
    };
    let all = sources(&corpus);
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
}

criterion_group!(matcher, benches);
criterion_main!(matcher);
