//! Conformance of the whole hunt (readers + Sigma engine) with SigmaHQ's own
//! regression tests, and its behaviour on damaged evidence.
//!
//! Reads the outside corpus (`NIGEHBAN_CORPUS`, default `../shared/data`);
//! skipped when it is absent unless `NIGEHBAN_REQUIRE_CORPUS=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nigehban_detect::{DetectionRules, SigmaView, load_rules};
use nigehban_hunt::{Detection, HuntOptions, HuntReport, hunt};
use nigehban_logfiles::{Position, read};
use nigehban_sigma::yaml::parse_documents;
use nigehban_sigma::{CompileOptions, DiagnosticKind, LogsourceMapping, Placeholders};

fn corpus() -> Option<PathBuf> {
    nigehban_testkit::corpus()
}

/// Every SigmaHQ rule, compiled once for all tests of this file.
fn sigmahq(corpus: &Path) -> &'static DetectionRules {
    static RULES: OnceLock<DetectionRules> = OnceLock::new();
    RULES.get_or_init(|| {
        let base = corpus.join("sigma/rules");
        let dirs: Vec<PathBuf> = ["rules", "rules-emerging-threats", "rules-threat-hunting"]
            .iter()
            .map(|d| base.join(d))
            .collect();
        let set = load_rules(&dirs, Placeholders::default()).unwrap();
        let (rules, problems) = DetectionRules::compile(
            &set,
            &LogsourceMapping::builtin(),
            &CompileOptions::default(),
        );
        let broken: Vec<String> = set
            .diagnostics()
            .iter()
            .chain(&problems)
            .filter(|d| d.kind != DiagnosticKind::Warning)
            .map(|d| d.to_string())
            .collect();
        assert!(
            broken.is_empty(),
            "SigmaHQ rules with problems:\n{}",
            broken.join("\n")
        );
        rules
    })
}

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

fn hunt_files(rules: &DetectionRules, paths: &[PathBuf], threads: usize) -> Collect {
    let mut report = Collect::default();
    let options = HuntOptions {
        threads,
        units_in_flight: threads * 2,
        ..HuntOptions::default()
    };
    hunt(
        paths,
        rules.summaries(),
        &options,
        || {
            let compiled = rules.compiled();
            let mut scratch = compiled.scratch();
            move |event: &SigmaView<'_>, out: &mut Vec<usize>| {
                compiled.matches(event, &mut scratch, out)
            }
        },
        &mut report,
    );
    report
}

/// What a detection is, independent of the file it was read from.
///
/// Times are compared to the microsecond: the regression `.json` files were
/// rendered by an `evtx` crate that wrote six fractional digits, the EVTX
/// reader writes all seven (100 ns) the file holds.
fn identity(detection: &Detection) -> (String, Option<u64>, Option<String>) {
    let time = detection
        .event
        .timestamp
        .as_deref()
        .map(|t| match t.find('.') {
            Some(dot) => {
                let digits: String = t[dot + 1..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .take(6)
                    .collect();
                format!("{}.{digits:0<6}Z", &t[..dot])
            }
            None => t.to_owned(),
        });
    (detection.rule.id.clone(), detection.event.record_id, time)
}

/// One SigmaHQ regression case: `info.yml` beside `<rule-id>.evtx` and `<rule-id>.json`.
struct Case {
    dir: PathBuf,
    rule_id: String,
    match_count: u64,
}

fn regression_cases(corpus: &Path) -> Vec<Case> {
    let mut infos = Vec::new();
    let mut stack = vec![corpus.join("sigma/regression/regression_data")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "info.yml") {
                infos.push(path);
            }
        }
    }
    infos.sort();
    let mut cases = Vec::new();
    for info in infos {
        let text = std::fs::read_to_string(&info).unwrap();
        let (docs, error) = parse_documents(&text);
        assert!(error.is_none(), "{}: {error:?}", info.display());
        let doc = &docs[0];
        let rule_id = doc
            .get("rule_metadata")
            .and_then(|m| m.as_seq())
            .and_then(|m| m.first())
            .and_then(|m| m.get("id"))
            .and_then(|id| id.as_str())
            .unwrap_or_else(|| panic!("{}: no rule_metadata id", info.display()))
            .to_owned();
        // A case whose tests are commented out upstream (e.g. a raw Cisco
        // sample with no runner) has nothing to run.
        let Some(tests) = doc.get("regression_tests_info").and_then(|t| t.as_seq()) else {
            continue;
        };
        for test in tests {
            if test.get("type").and_then(|t| t.as_str()) != Some("evtx") {
                continue;
            }
            let match_count = test
                .get("match_count")
                .and_then(|c| c.as_str())
                .map(|c| c.parse().unwrap())
                .unwrap_or(1);
            cases.push(Case {
                dir: info.parent().unwrap().to_path_buf(),
                rule_id: rule_id.clone(),
                match_count,
            });
        }
    }
    cases
}

#[test]
fn every_sigmahq_regression_case_fires_on_evtx_and_json_alike() {
    let Some(corpus) = corpus() else { return };
    let rules = sigmahq(&corpus);
    let cases = regression_cases(&corpus);
    assert!(
        cases.len() >= 120,
        "only {} regression cases found",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let evtx = case.dir.join(format!("{}.evtx", case.rule_id));
        let json = case.dir.join(format!("{}.json", case.rule_id));
        let from_evtx = hunt_files(rules, std::slice::from_ref(&evtx), 1);
        let from_json = hunt_files(rules, std::slice::from_ref(&json), 1);
        for (name, report) in [("evtx", &from_evtx), ("json", &from_json)] {
            if !report.errors.is_empty() {
                failures.push(format!(
                    "{}: {name} read errors: {:?}",
                    case.dir.display(),
                    report.errors
                ));
            }
            let fired = report
                .detections
                .iter()
                .filter(|d| d.rule.id == case.rule_id)
                .count() as u64;
            if fired < case.match_count {
                failures.push(format!(
                    "{}: rule {} fired {fired} time(s) on the {name}, expected at least {}",
                    case.dir.display(),
                    case.rule_id,
                    case.match_count
                ));
            }
        }
        let evtx_set: BTreeSet<_> = from_evtx.detections.iter().map(identity).collect();
        let json_set: BTreeSet<_> = from_json.detections.iter().map(identity).collect();
        if evtx_set != json_set {
            failures.push(format!(
                "{}: detections differ between evtx and json:\n  only evtx: {:?}\n  only json: {:?}",
                case.dir.display(),
                evtx_set.difference(&json_set).collect::<Vec<_>>(),
                json_set.difference(&evtx_set).collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} regression cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The attack samples with more than one EVTX chunk: damage can hit one
/// chunk and leave others whole.
fn multi_chunk_samples(corpus: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![corpus.join("events/evtx-attack-samples")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "evtx")
                && std::fs::metadata(&path).unwrap().len() > 4096 + 2 * 65536
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The chunk of each record of a clean EVTX file, by record id.
fn chunk_of_records(path: &Path) -> std::collections::HashMap<u64, u64> {
    read(path)
        .filter_map(Result::ok)
        .filter_map(|record| match record.position {
            Position::Evtx {
                chunk, record_id, ..
            } => Some((record_id, chunk)),
            _ => None,
        })
        .collect()
}

#[test]
fn damaged_evtx_files_are_hunted_around_the_damage() {
    let Some(corpus) = corpus() else { return };
    let rules = sigmahq(&corpus);
    let samples = multi_chunk_samples(&corpus);
    assert!(!samples.is_empty(), "no multi-chunk EVTX samples found");
    let scratch = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for sample in &samples {
        let clean = hunt_files(rules, std::slice::from_ref(sample), 2);
        assert!(
            clean.errors.is_empty(),
            "{}: {:?}",
            sample.display(),
            clean.errors
        );
        let chunks = chunk_of_records(sample);
        let bytes = std::fs::read(sample).unwrap();
        let chunk_count = (bytes.len() - 4096) / 65536;

        // Cut inside the last chunk: every detection of earlier chunks stays.
        let cut_at = 4096 + (chunk_count - 1) * 65536 + 30_000;
        let truncated = scratch.path().join("truncated.evtx");
        std::fs::write(&truncated, &bytes[..cut_at.min(bytes.len())]).unwrap();
        let report = hunt_files(rules, std::slice::from_ref(&truncated), 2);
        let expected: BTreeSet<_> = clean
            .detections
            .iter()
            .filter(|d| {
                d.event
                    .record_id
                    .and_then(|r| chunks.get(&r))
                    .is_some_and(|&c| (c as usize) < chunk_count - 1)
            })
            .map(identity)
            .collect();
        let got: BTreeSet<_> = report.detections.iter().map(identity).collect();
        assert!(
            expected.is_subset(&got),
            "{}: truncated at {cut_at}, lost detections {:?}",
            sample.display(),
            expected.difference(&got).collect::<Vec<_>>()
        );

        // Flip bytes inside chunk 1 only: chunk 0 and chunks 2.. are untouched.
        let mut flipped = bytes.clone();
        let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ bytes.len() as u64;
        let chunk1 = 4096 + 65536;
        for _ in 0..64 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = chunk1 + (state % 65536) as usize;
            flipped[at] ^= 1 << (state % 8);
        }
        let damaged = scratch.path().join("flipped.evtx");
        std::fs::write(&damaged, &flipped).unwrap();
        let report = hunt_files(rules, std::slice::from_ref(&damaged), 2);
        for error in &report.errors {
            assert!(
                error.contains("flipped.evtx"),
                "error does not name the file: {error}"
            );
        }
        let expected: BTreeSet<_> = clean
            .detections
            .iter()
            .filter(|d| {
                d.event
                    .record_id
                    .and_then(|r| chunks.get(&r))
                    .is_some_and(|&c| c != 1)
            })
            .map(identity)
            .collect();
        let got: BTreeSet<_> = report.detections.iter().map(identity).collect();
        assert!(
            expected.is_subset(&got),
            "{}: flipping chunk 1 lost detections elsewhere {:?}",
            sample.display(),
            expected.difference(&got).collect::<Vec<_>>()
        );
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn json_lines_with_garbage_are_hunted_around_it() {
    let Some(corpus) = corpus() else { return };
    let rules = sigmahq(&corpus);
    // Real events, one per line, with garbage between them.
    let cases = regression_cases(&corpus);
    let mut text = String::new();
    let mut events = 0;
    for case in cases.iter().take(40) {
        for record in read(case.dir.join(format!("{}.json", case.rule_id))) {
            let record = record.unwrap();
            text.push_str(&serde_json::to_string(&record.event).unwrap());
            text.push('\n');
            events += 1;
            if events % 7 == 0 {
                text.push_str("\u{0}garbage {{{ not json\n");
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let clean_path = dir.path().join("clean.jsonl");
    let dirty_path = dir.path().join("dirty.jsonl");
    std::fs::write(
        &clean_path,
        text.lines()
            .filter(|l| !l.contains("garbage"))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    std::fs::write(&dirty_path, &text).unwrap();
    let clean = hunt_files(rules, &[clean_path], 2);
    let dirty = hunt_files(rules, std::slice::from_ref(&dirty_path), 2);
    assert!(clean.errors.is_empty(), "{:?}", clean.errors);
    assert_eq!(dirty.errors.len(), events / 7);
    let first_bad_line = text.lines().position(|l| l.contains("garbage")).unwrap() + 1;
    assert!(
        dirty.errors[0].contains("dirty.jsonl")
            && dirty.errors[0].contains(&format!("line {first_bad_line}")),
        "{}",
        dirty.errors[0]
    );
    let clean_set: BTreeSet<_> = clean.detections.iter().map(identity).collect();
    let dirty_set: BTreeSet<_> = dirty.detections.iter().map(identity).collect();
    assert!(!clean_set.is_empty());
    assert_eq!(clean_set, dirty_set);
}

/// The reviewed snapshot of every detection over the corpus's EVTX files.
fn snapshot_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/snapshots/sigmahq-corpus-detections.tsv")
}

/// Every EVTX file of the corpus that the snapshot covers, sorted.
fn snapshot_files(corpus: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![
        corpus.join("sigma/regression"),
        corpus.join("events/evtx-attack-samples"),
    ];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "evtx") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The snapshot's lines (comments left out), sorted.
fn snapshot_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// Every detection of every SigmaHQ rule over every EVTX file of the corpus
/// (the regression samples and the attack samples) is exactly the reviewed
/// snapshot: a rule that fires where it did not, or no longer fires where it
/// did, shows as a difference. `NIGEHBAN_UPDATE_SNAPSHOTS=1` rewrites the
/// snapshot instead (review the diff before committing it).
#[test]
fn every_detection_over_the_corpus_is_the_reviewed_snapshot() {
    let Some(corpus) = corpus() else { return };
    let rules = sigmahq(&corpus);
    let files = snapshot_files(&corpus);
    assert!(files.len() >= 140, "only {} EVTX files", files.len());
    let report = hunt_files(rules, &files, 2);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let corpus_prefix = format!("{}/", corpus.display());
    let mut got: Vec<String> = report
        .detections
        .iter()
        .map(|d| {
            let file = d
                .event
                .file
                .strip_prefix(corpus_prefix.as_str())
                .unwrap_or(&d.event.file);
            let record = d
                .event
                .record_id
                .map_or_else(|| "-".to_owned(), |r| r.to_string());
            format!("{file}\t{record}\t{}\t{}", d.rule.id, d.rule.title)
        })
        .collect();
    got.sort();
    let path = snapshot_path();
    if std::env::var("NIGEHBAN_UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let header: String = old
            .lines()
            .take_while(|l| l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let body: String = got.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, header + &body).unwrap();
        println!("rewrote {} ({} detections)", path.display(), got.len());
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (NIGEHBAN_UPDATE_SNAPSHOTS=1 makes it)",
            path.display()
        )
    });
    let expected = snapshot_lines(&text);
    if got != expected {
        let got_set: BTreeSet<&String> = got.iter().collect();
        let expected_set: BTreeSet<&String> = expected.iter().collect();
        let over: Vec<&&String> = got_set.difference(&expected_set).collect();
        let under: Vec<&&String> = expected_set.difference(&got_set).collect();
        panic!(
            "detections differ from {} ({} now, {} in the snapshot)\n\
             {} not in the snapshot (over-matching?), e.g.:\n  {}\n\
             {} of the snapshot missing (under-matching?), e.g.:\n  {}\n\
             If the change is right, rewrite the snapshot with NIGEHBAN_UPDATE_SNAPSHOTS=1 and review the diff.",
            path.display(),
            got.len(),
            expected.len(),
            over.len(),
            over.iter()
                .take(20)
                .map(|l| l.as_str())
                .collect::<Vec<_>>()
                .join("\n  "),
            under.len(),
            under
                .iter()
                .take(20)
                .map(|l| l.as_str())
                .collect::<Vec<_>>()
                .join("\n  "),
        );
    }
}
