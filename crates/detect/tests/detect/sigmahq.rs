//! SigmaHQ's regression events seen through the Sigma view: every case's
//! rule fires under the reference interpreter, the fast matcher agrees with
//! the reference on every rule and every event, and a match is explained by
//! the values that made it.

use nigehban_detect::{JsonTape, SigmaView};
use nigehban_sigma::reference::{effective_detection, rule_matches};
use nigehban_sigma::{Event, LogsourceMapping};
use std::path::Path;

use serde_json::Value;

use crate::support::{corpus, regression_cases, sigmahq, sigmahq_set};

/// The events of a regression case's `.json` (JSON documents one after
/// another, as the `evtx` crate renders them), each in a tape.
fn events_of(path: &std::path::Path) -> Vec<JsonTape> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .map(|value| {
            let value = value.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let mut tape = JsonTape::new();
            tape.load(&value);
            tape
        })
        .collect()
}

#[test]
fn every_regression_case_fires_under_the_reference_interpreter() {
    let Some(corpus) = corpus() else { return };
    let set = sigmahq_set(&corpus);
    let mapping = LogsourceMapping::builtin();
    let cases = regression_cases(&corpus);
    assert!(cases.len() >= 120, "{}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let rule = set
            .get(&case.rule_id)
            .unwrap_or_else(|| panic!("rule {} not loaded", case.rule_id));
        let detection = effective_detection(rule, &[]).expect("a detection rule");
        let alternatives = mapping.resolve(&rule.meta.logsource).expect("mapped");
        let fired = events_of(&case.json())
            .iter()
            .filter(|tape| rule_matches(&detection, &alternatives, &SigmaView::of_record(tape)))
            .count() as u64;
        if fired < case.match_count {
            failures.push(format!(
                "{} ({}): {fired} < {}",
                case.rule_id, rule.meta.origin, case.match_count
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_matcher_agrees_with_the_reference_and_explains_each_match() {
    let Some(corpus) = corpus() else { return };
    let rules = sigmahq(&corpus);
    let compiled = rules.compiled();
    let mut scratch = compiled.scratch();
    let mut out = Vec::new();
    let mut disagreements = Vec::new();
    let mut unexplained = Vec::new();
    let mut events = 0;
    let cases = regression_cases(&corpus);
    for case in &cases {
        let own = rules
            .summaries()
            .iter()
            .position(|rule| rule.id == case.rule_id)
            .unwrap_or_else(|| panic!("rule {} not compiled", case.rule_id));
        for tape in events_of(&case.json()) {
            let view = SigmaView::of_record(&tape);
            events += 1;
            out.clear();
            compiled.matches(&view, &mut scratch, &mut out);
            for index in 0..compiled.len() {
                let fast = out.binary_search(&index).is_ok();
                if fast != compiled.reference_matches(index, &view) {
                    disagreements.push(format!(
                        "{} on an event of {}: fast={fast}",
                        compiled.rule(index).origin,
                        case.rule_id
                    ));
                }
            }
            if out.contains(&own) {
                let why = compiled.matched_fields(own, &view);
                // Every value shown is one the event has under that name.
                let holds = why.iter().all(|m| match &m.field {
                    Some(field) => {
                        let mut found = false;
                        view.field(field, &mut |v| {
                            let mut buf = String::new();
                            found |= nigehban_sigma::values::value_text(&v, &mut buf) == m.value;
                        });
                        found
                    }
                    None => true,
                });
                if why.is_empty() || !holds {
                    unexplained.push(format!("{}: {why:?}", case.rule_id));
                }
            }
        }
    }
    assert!(events >= cases.len(), "{events}");
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    assert!(unexplained.is_empty(), "{}", unexplained.join("\n"));
}

/// The EventRecordID of an event in the `evtx` crate's JSON layout.
fn record_id(event: &Value) -> String {
    let id = &event["Event"]["System"]["EventRecordID"];
    id.as_u64()
        .map(|n| n.to_string())
        .or_else(|| id.as_str().map(str::to_owned))
        .unwrap_or_else(|| "-".to_owned())
}

/// Every detection of the SigmaHQ rules over every regression sample (read
/// from its `.json` rendering) is exactly the reviewed snapshot of the hunt
/// over the corpus (`fixtures/snapshots/sigmahq-corpus-detections.tsv`,
/// made and reviewed through `nigehban-hunt`'s conformance test): the matcher
/// through the Sigma view, without the EVTX reader, fires exactly where the whole hunt does.
#[test]
fn regression_detections_are_the_reviewed_snapshot() {
    let Some(corpus) = corpus() else { return };
    let rules = sigmahq(&corpus);
    let compiled = rules.compiled();
    let prefix = format!("{}/", corpus.display());
    let mut scratch = compiled.scratch();
    let mut out = Vec::new();
    let mut got = Vec::new();
    // Every sample rendered as JSON beside its EVTX file, as the hunt reads every EVTX file.
    let mut samples = Vec::new();
    let mut stack = vec![corpus.join("sigma/regression")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "evtx") {
                samples.push(path);
            }
        }
    }
    samples.sort();
    let mut cases = 0;
    for evtx in samples {
        let json = evtx.with_extension("json");
        assert!(json.is_file(), "{} has no JSON rendering", evtx.display());
        cases += 1;
        let file = evtx.display().to_string();
        let file = file.strip_prefix(&prefix).unwrap_or(&file).to_owned();
        let text = std::fs::read_to_string(&json).unwrap();
        for value in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
            let value = value.unwrap();
            let mut tape = JsonTape::new();
            tape.load(&value);
            out.clear();
            compiled.matches(&SigmaView::of_record(&tape), &mut scratch, &mut out);
            for &rule in &out {
                let summary = &rules.summaries()[rule];
                got.push(format!(
                    "{file}\t{}\t{}\t{}",
                    record_id(&value),
                    summary.id,
                    summary.title
                ));
            }
        }
    }
    assert!(cases >= 120, "{cases}");
    got.sort();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/snapshots/sigmahq-corpus-detections.tsv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut expected: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("sigma/regression/"))
        .collect();
    expected.sort();
    assert!(
        expected.len() >= 120,
        "the snapshot holds {} regression detections",
        expected.len()
    );
    let got_set: std::collections::BTreeSet<&str> = got.iter().map(String::as_str).collect();
    let expected_set: std::collections::BTreeSet<&str> = expected.iter().copied().collect();
    let over: Vec<&&str> = got_set.difference(&expected_set).take(20).collect();
    let under: Vec<&&str> = expected_set.difference(&got_set).take(20).collect();
    assert!(
        got.iter().map(String::as_str).eq(expected.iter().copied()),
        "{} detections, {} in the snapshot\nnot in it, e.g. {over:#?}\nmissing, e.g. {under:#?}",
        got.len(),
        expected.len()
    );
}
