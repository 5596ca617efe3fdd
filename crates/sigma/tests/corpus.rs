//! Conformance against the outside corpus: every SigmaHQ rule loads and
//! compiles, pySigma's test rule sets behave. (That every regression case
//! fires, under both the matcher and the reference interpreter, is shown by
//! `nigehban-detect`'s tests, which read the events through the Sigma view
//! of events that detection uses.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "corpus/support.rs"]
mod support;

use std::path::Path;

use nigehban_sigma::{
    CompileOptions, CompiledRuleSet, DiagnosticKind, LogsourceMapping, RuleBody, RuleSet,
};
use support::{corpus, yaml_files};

const SIGMAHQ_DIRS: [&str; 3] = ["rules", "rules-emerging-threats", "rules-threat-hunting"];

fn load_dirs(corpus: &Path, dirs: &[&str]) -> RuleSet {
    let mut set = RuleSet::new();
    for d in dirs {
        for f in yaml_files(&corpus.join("sigma/rules").join(d)) {
            let text = std::fs::read_to_string(&f).unwrap();
            set.add_str(&text, &f.display().to_string());
        }
    }
    set
}

#[test]
fn every_sigmahq_rule_loads_without_errors() {
    let Some(corpus) = corpus() else { return };
    let set = load_dirs(&corpus, &SIGMAHQ_DIRS);
    let bad: Vec<String> = set
        .diagnostics()
        .iter()
        .filter(|d| d.kind != DiagnosticKind::Warning)
        .map(|d| d.to_string())
        .collect();
    assert!(
        bad.is_empty(),
        "{} problems:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert!(set.rules().len() > 3700, "{}", set.rules().len());
    let mapping = LogsourceMapping::builtin();
    let unmapped: Vec<String> = set
        .rules()
        .iter()
        .filter_map(|r| {
            mapping
                .resolve(&r.meta.logsource)
                .err()
                .map(|e| format!("{}: {e}", r.meta.origin))
        })
        .collect();
    assert!(unmapped.is_empty(), "{}", unmapped.join("\n"));
}

#[test]
fn pysigma_test_files() {
    let Some(corpus) = corpus() else { return };
    let files = corpus.join("sigma/pysigma-testfiles/files");
    // Duplicate ids: an error naming both places.
    let dup = load_dirs(&files, &[]);
    drop(dup);
    let mut set = RuleSet::new();
    for f in yaml_files(&files.join("ruleset_duplicate")) {
        set.add_str(
            &std::fs::read_to_string(&f).unwrap(),
            &f.display().to_string(),
        );
    }
    let dups: Vec<_> = set
        .diagnostics()
        .iter()
        .filter(|d| d.message.contains("duplicate rule id"))
        .collect();
    assert_eq!(dups.len(), 1, "{:?}", set.diagnostics());
    assert!(
        dups[0].message.contains("sub1") && dups[0].origin.contains("sub2"),
        "{}",
        dups[0]
    );

    // A rule with an error is reported; the rest loads.
    let mut set = RuleSet::new();
    for f in yaml_files(&files.join("ruleset_with_errors"))
        .into_iter()
        .chain(yaml_files(&files.join("ruleset")))
    {
        set.add_str(
            &std::fs::read_to_string(&f).unwrap(),
            &f.display().to_string(),
        );
    }
    assert!(
        set.diagnostics()
            .iter()
            .any(|d| d.is_error() && d.message.contains("unknown modifier 'foobar'"))
    );
    assert!(!set.rules().is_empty());

    // Valid files load without errors.
    for dir in [
        "rule_valid",
        "ruleset",
        "ruleset_nonduplicate",
        "correlation_rule_valid",
        "filter_valid",
    ] {
        let mut set = RuleSet::new();
        for f in yaml_files(&files.join(dir)) {
            set.add_str(
                &std::fs::read_to_string(&f).unwrap(),
                &f.display().to_string(),
            );
        }
        let errors: Vec<_> = set
            .diagnostics()
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_string())
            .collect();
        assert!(errors.is_empty(), "{dir}: {errors:?}");
        assert!(!set.rules().is_empty(), "{dir}");
    }
    let mut set = RuleSet::new();
    let f = files.join("correlation_rule_valid/correlation_rule.yml");
    set.add_str(
        &std::fs::read_to_string(&f).unwrap(),
        "correlation_rule.yml",
    );
    let correlations = set
        .rules()
        .iter()
        .filter(|r| matches!(r.body, RuleBody::Correlation(_)))
        .count();
    assert_eq!(correlations, 3);
}

#[test]
fn every_sigmahq_rule_compiles() {
    let Some(corpus) = corpus() else { return };
    let set = load_dirs(&corpus, &SIGMAHQ_DIRS);
    let mapping = LogsourceMapping::builtin();
    let (compiled, diags) = CompiledRuleSet::new(&set, &mapping, &CompileOptions::default());
    let bad: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
    assert!(
        bad.is_empty(),
        "{} problems:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert_eq!(compiled.len(), set.rules().len());

    // All rules, rules-placeholder included (its placeholders match anything).
    let all = load_dirs(
        &corpus,
        &[
            "rules",
            "rules-emerging-threats",
            "rules-threat-hunting",
            "rules-placeholder",
        ],
    );
    assert!(
        all.diagnostics()
            .iter()
            .all(|d| d.kind == DiagnosticKind::Warning)
    );
    let (compiled, diags) = CompiledRuleSet::new(&all, &mapping, &CompileOptions::default());
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(compiled.len(), all.rules().len());
}

#[test]
fn specification_schema_examples_load() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("sigma/specification/tests/schema");
    let files = yaml_files(&dir);
    assert!(files.len() >= 10, "{}", files.len());
    let mut correlations = 0;
    for f in files {
        let set = RuleSet::load_str(
            &std::fs::read_to_string(&f).unwrap(),
            &f.display().to_string(),
        );
        let errors: Vec<String> = set
            .diagnostics()
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(set.rules().len(), 1, "{}", f.display());
        correlations += usize::from(matches!(set.rules()[0].body, RuleBody::Correlation(_)));
    }
    // All seven correlation types.
    assert_eq!(correlations, 8);
}
