//! `hunt` runs correlation rules over the files: every event is read, then
//! the matches of the correlated rules are evaluated in event-time order
//! (the fixture's two files interleave in time).

use std::path::PathBuf;
use std::sync::Arc;

use nigehban_detect::{DetectionRules, SigmaView, load_rules};
use nigehban_hunt::{Detection, DetectionWriter, Format, HuntOptions, HuntReport, hunt};
use nigehban_sigma::{CompileOptions, CorrelationSet, LogsourceMapping, Placeholders};

#[derive(Default)]
struct Collect {
    detections: Vec<Detection>,
    errors: Vec<String>,
}

impl HuntReport for Collect {
    fn detection(&mut self, detection: Detection) {
        self.detections.push(detection);
    }
    fn error(&mut self, error: nigehban_logfiles::Error) {
        self.errors.push(error.to_string());
    }
}

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/correlation")
}

#[test]
fn hunt_reports_event_count_and_temporal_correlations_with_group_and_count() {
    let dir = fixture();
    let rule_set = load_rules(&[dir.join("rules.yml")], Placeholders::default()).unwrap();
    assert!(
        rule_set.diagnostics().is_empty(),
        "{:?}",
        rule_set.diagnostics()
    );
    let options = CompileOptions::default();
    let (rules, problems) =
        DetectionRules::compile(&rule_set, &LogsourceMapping::builtin(), &options);
    assert!(problems.is_empty(), "{problems:?}");
    let (correlations, problems) = CorrelationSet::new(&rule_set, rules.compiled(), &options);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(correlations.len(), 2);

    for threads in [1, 3] {
        let hunt_options = HuntOptions {
            threads,
            units_in_flight: threads,
            correlations: Some(Arc::new(correlations.clone())),
            ..HuntOptions::default()
        };
        let mut report = Collect::default();
        let compiled = rules.compiled();
        let totals = hunt(
            &[dir.join("a.jsonl"), dir.join("b.jsonl")],
            rules.summaries(),
            &hunt_options,
            || {
                let mut scratch = compiled.scratch();
                move |event: &SigmaView<'_>, out: &mut Vec<usize>| {
                    compiled.matches(event, &mut scratch, out);
                }
            },
            &mut report,
        );
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(totals.events, 9);
        let got: Vec<(String, Option<u64>)> = report
            .detections
            .iter()
            .map(|d| (d.rule.title.clone(), d.event.record_id))
            .collect();
        // Failed logons feed the brute-force correlation only (no `generate`);
        // the temporal one says `generate: true`, so its rules report too.
        // Correlations come last, in event-time order.
        assert_eq!(
            got,
            [
                ("Process created".to_owned(), Some(4)),
                ("Successful logon".to_owned(), Some(5)),
                ("Successful logon".to_owned(), Some(13)),
                ("Brute force against one account".to_owned(), None),
                ("Process then logon by the same user".to_owned(), None),
            ],
            "{threads} thread(s)"
        );
        assert_eq!(totals.detections_by_level["high"], 1);
        assert_eq!(totals.detections_by_level["medium"], 1);

        let brute = report.detections[3].event.to_value().unwrap();
        let brute = &brute["correlation"];
        assert_eq!(brute["group"]["TargetUserName"], "bob");
        assert_eq!(brute["count"], 3);
        assert_eq!(brute["window_start"], "2024-05-01T10:00:00Z");
        assert_eq!(brute["window_end"], "2024-05-01T10:00:50Z");
        let ids: Vec<&str> = brute["event_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 3);
        assert!(ids[0].ends_with("a.jsonl:line 1"), "{ids:?}");
        assert!(ids[1].ends_with("a.jsonl:line 3"), "{ids:?}");
        assert!(ids[2].ends_with("b.jsonl:line 1"), "{ids:?}");
        assert_eq!(
            report.detections[3].event.position,
            "correlation of 3 event(s), group bob"
        );
        let temporal = report.detections[4].event.to_value().unwrap();
        assert_eq!(temporal["correlation"]["group"]["user"], "bob");
        assert_eq!(temporal["correlation"]["count"], 2);
    }
}

#[test]
fn correlation_detections_are_written_like_other_detections() {
    let dir = fixture();
    let rule_set = load_rules(&[dir.join("rules.yml")], Placeholders::default()).unwrap();
    let options = CompileOptions::default();
    let (rules, _) = DetectionRules::compile(&rule_set, &LogsourceMapping::builtin(), &options);
    let (correlations, _) = CorrelationSet::new(&rule_set, rules.compiled(), &options);
    let hunt_options = HuntOptions {
        threads: 2,
        render: Some(Format::Jsonl),
        correlations: Some(Arc::new(correlations)),
        ..HuntOptions::default()
    };
    struct Written(DetectionWriter<Vec<u8>>);
    impl HuntReport for Written {
        fn detection(&mut self, detection: Detection) {
            self.0.write(&detection).unwrap();
        }
        fn rendered(&mut self, rendered: &[u8]) {
            self.0.write_rendered(rendered).unwrap();
        }
        fn error(&mut self, error: nigehban_logfiles::Error) {
            panic!("{error}");
        }
    }
    let mut report = Written(DetectionWriter::new(Format::Jsonl, Vec::new()));
    let compiled = rules.compiled();
    hunt(
        &[dir],
        rules.summaries(),
        &hunt_options,
        || {
            let mut scratch = compiled.scratch();
            move |event: &SigmaView<'_>, out: &mut Vec<usize>| {
                compiled.matches(event, &mut scratch, out);
            }
        },
        &mut report,
    );
    report.0.flush().unwrap();
    let text = String::from_utf8(report.0.take_output().unwrap()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 5, "{text}");
    let brute = &lines[3];
    assert_eq!(brute["rule_title"], "Brute force against one account");
    assert_eq!(brute["rule_author"], "Nigehban tests");
    assert_eq!(brute["level"], "high");
    assert_eq!(brute["timestamp"], "2024-05-01T10:00:00Z");
    assert_eq!(brute["event"]["correlation"]["count"], 3);
}
