//! SigmaHQ's regression events seen through the Sigma view: every case's
//! rule fires under the reference interpreter, the fast matcher agrees with
//! the reference on every rule and every event, and a match is explained by
//! the values that made it.

use nigehban_detect::{JsonTape, SigmaView};
use nigehban_sigma::reference::{effective_detection, rule_matches};
use nigehban_sigma::{Event, LogsourceMapping};
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
