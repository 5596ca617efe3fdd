//! `nigehban hunt` and `nigehban rules check` as a responder runs them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn nigehban(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nigehban"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("nigehban runs")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus() -> Option<PathBuf> {
    nigehban_testkit::corpus()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The example in README.md, with JSON output.
#[test]
fn readme_example_hunts_the_fixture() {
    let out = nigehban(&[
        "hunt",
        "--rules",
        "fixtures/rules",
        "--format",
        "jsonl",
        "fixtures/evtx/CA_DCSync_4662.evtx",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{}", text(&out.stdout));
    for detection in &lines {
        for key in [
            "timestamp",
            "rule_id",
            "rule_title",
            "level",
            "rule_author",
            "file",
            "record_id",
            "computer",
            "channel",
            "event_id",
            "event",
        ] {
            assert!(detection.get(key).is_some(), "missing {key}: {detection}");
        }
        assert_eq!(
            detection["rule_title"],
            "Active Directory Replication from Non Machine Account - DcSync Indicator"
        );
        assert_eq!(detection["rule_author"], "Roberto Rodriguez @Cyb3rWard0g");
        assert_eq!(detection["event_id"], 4662);
        assert_eq!(detection["channel"], "Security");
        assert_eq!(detection["computer"], "DC1.insecurebank.local");
        assert!(detection["timestamp"].as_str().unwrap().ends_with('Z'));
    }
    // In the order of the file, and the record id is the event's own.
    let records: Vec<u64> = lines
        .iter()
        .map(|d| d["record_id"].as_u64().unwrap())
        .collect();
    assert!(records.windows(2).all(|w| w[0] < w[1]), "{records:?}");
    for detection in &lines {
        assert_eq!(
            detection["record_id"].as_u64().unwrap(),
            record_id(detection)
        );
    }
    let summary = text(&out.stderr);
    assert!(summary.contains("hunted 1 file(s), 3 events"), "{summary}");
    assert!(summary.contains("detections: 3 (medium 3)"), "{summary}");
}

fn record_id(detection: &serde_json::Value) -> u64 {
    detection["event"]["Event"]["System"]["EventRecordID"]
        .as_u64()
        .unwrap()
}

#[test]
fn csv_to_a_file_and_table_to_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("hits.csv");
    let out = nigehban(&[
        "hunt",
        "-r",
        "fixtures/rules",
        "--format",
        "csv",
        "--output",
        csv.to_str().unwrap(),
        "--quiet",
        "fixtures/evtx",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let written = std::fs::read_to_string(&csv).unwrap();
    assert!(
        written.starts_with("timestamp,rule_id,rule_title,level,rule_author,"),
        "{written}"
    );
    assert_eq!(written.lines().count(), 4, "{written}");

    let out = nigehban(&["hunt", "-r", "fixtures/rules", "fixtures/evtx"]);
    assert!(out.status.success());
    let table = text(&out.stdout);
    assert!(
        table.contains("Active Directory Replication from Non Machine Acc"),
        "{table}"
    );
    // Files beside the logs (the licence, the notice) are left out, not errors.
    assert!(
        text(&out.stderr).contains("2 other file(s) left out"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn min_level_leaves_out_lower_rules() {
    let out = nigehban(&[
        "hunt",
        "-r",
        "fixtures/rules",
        "--min-level",
        "high",
        "fixtures/evtx/CA_DCSync_4662.evtx",
    ]);
    // Both fixture rules are below high: nothing is left to hunt with.
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no usable rules"),
        "{}",
        text(&out.stderr)
    );

    let out = nigehban(&[
        "hunt",
        "-r",
        "fixtures/rules",
        "--min-level",
        "medium",
        "--format",
        "jsonl",
        "fixtures/evtx/CA_DCSync_4662.evtx",
    ]);
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).lines().count(), 3);

    let out = nigehban(&[
        "hunt",
        "-r",
        "fixtures/rules",
        "--min-level",
        "severe",
        "fixtures/evtx",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown level 'severe'"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn what_cannot_be_hunted_is_a_clear_error() {
    let out = nigehban(&["hunt", "-r", "fixtures/rules", "no/such/file.evtx"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no such file or directory: no/such/file.evtx"),
        "{}",
        text(&out.stderr)
    );

    let out = nigehban(&["hunt", "-r", "no/such/rules", "fixtures/evtx"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot read rules at no/such/rules"),
        "{}",
        text(&out.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let out = nigehban(&[
        "hunt",
        "-r",
        "fixtures/rules",
        "--output",
        dir.path().join("missing-dir/out.jsonl").to_str().unwrap(),
        "fixtures/evtx",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot create"),
        "{}",
        text(&out.stderr)
    );

    let out = nigehban(&["hunt", "fixtures/evtx"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap refuses a hunt without rules"
    );
}

#[test]
fn damaged_input_is_reported_and_the_rest_hunted() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(repo().join("fixtures/evtx/CA_DCSync_4662.evtx")).unwrap();
    std::fs::write(dir.path().join("cut.evtx"), &good[..good.len() - 60_000]).unwrap();
    std::fs::write(dir.path().join("whole.evtx"), &good).unwrap();
    let out = nigehban(&[
        "hunt",
        "-r",
        "fixtures/rules",
        "--format",
        "jsonl",
        dir.path().to_str().unwrap(),
    ]);
    // The hunt ran, but not over all its input: status 3, not 0.
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cut.evtx"),
        "the damage is reported with its file: {stderr}"
    );
    // The whole copy still gives its three detections.
    let from_whole = text(&out.stdout)
        .lines()
        .filter(|l| l.contains("whole.evtx"))
        .count();
    assert_eq!(from_whole, 3, "{}", text(&out.stdout));
}

#[test]
fn rules_check_passes_on_every_sigmahq_rule() {
    let Some(corpus) = corpus() else { return };
    let rules = corpus.join("sigma/rules");
    let out = nigehban(&[
        "rules",
        "check",
        "--strict",
        rules.join("rules").to_str().unwrap(),
        rules.join("rules-emerging-threats").to_str().unwrap(),
        rules.join("rules-threat-hunting").to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    // The totals line; a note on placeholders without values may follow it.
    let totals = stdout
        .lines()
        .find(|line| line.contains(" error(s), "))
        .unwrap_or_else(|| panic!("no totals: {stdout}"));
    assert!(totals.contains(" 0 error(s), 0 unsupported"), "{totals}");
    let loaded: usize = totals.split(' ').next().unwrap().parse().unwrap();
    assert!(loaded > 3700, "{totals}");
}

#[test]
fn rules_check_reports_broken_and_duplicate_rules() {
    let Some(corpus) = corpus() else { return };
    let files = corpus.join("sigma/pysigma-testfiles/files");
    let with_errors = files.join("ruleset_with_errors");
    let out = nigehban(&["rules", "check", "--strict", with_errors.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("test_rule_with_error.yml:"), "{stdout}");
    assert!(stdout.contains("error:"), "{stdout}");
    // Without --strict the check itself succeeds, and the good rules beside
    // the broken one load.
    let out = nigehban(&[
        "rules",
        "check",
        with_errors.to_str().unwrap(),
        files.join("rule_valid").to_str().unwrap(),
        files.join("ruleset_nonduplicate").to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let totals = text(&out.stdout).lines().last().unwrap().to_owned();
    assert_eq!(
        totals,
        "3 rule(s) loaded, 3 compiled for matching; 1 error(s), 0 unsupported, 0 warning(s)"
    );

    let duplicate = files.join("ruleset_duplicate");
    let out = nigehban(&["rules", "check", "--strict", duplicate.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("duplicate rule id"),
        "{}",
        text(&out.stdout)
    );
}

/// An empty, a cut and a zeroed EVTX file are each an error
/// naming the file, never a silent loss; the good file beside it is hunted.
#[test]
fn empty_cut_and_zeroed_evtx_files_are_reported_by_name_and_the_others_are_hunted() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("Security.evtx");
    std::fs::write(&empty, b"").unwrap();
    let good = repo().join("fixtures/evtx/CA_DCSync_4662.evtx");
    let out = nigehban(&[
        "hunt",
        "-r",
        "fixtures/rules",
        empty.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(empty.to_str().unwrap()) && stderr.contains("empty EVTX file"),
        "{stderr}"
    );

    // A copy cut after its file header (its one chunk absent), and one whose chunk is
    // zeroed: each is reported by name with what was lost.
    let whole = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.evtx");
    std::fs::write(&cut, &whole[..4096]).unwrap();
    let zeroed = dir.path().join("zeroed.evtx");
    let mut bytes = whole.clone();
    bytes[4096..].fill(0);
    std::fs::write(&zeroed, &bytes).unwrap();
    let damaged = nigehban(&[
        "hunt",
        "-r",
        "fixtures/rules",
        cut.to_str().unwrap(),
        zeroed.to_str().unwrap(),
    ]);
    let stderr = text(&damaged.stderr);
    for (file, damage) in [(&cut, "missing chunks"), (&zeroed, "zeroed chunk")] {
        assert!(
            stderr
                .lines()
                .any(|line| line.contains(file.to_str().unwrap()) && line.contains(damage)),
            "{} not reported as {damage}:\n{stderr}",
            file.display()
        );
    }
    assert!(
        text(&out.stdout).contains("Active Directory Replication from Non Machine Acc"),
        "{}",
        text(&out.stdout)
    );
}
