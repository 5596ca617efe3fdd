//! What a new user meets first, through the real binary: the hunt's table, summary,
//! time window, zone and exit status, and the command line's messages when something is
//! mistyped (issue 14).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The binary, run from the repository with a clean `NIGEHBAN_*` environment.
fn nigehban(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nigehban"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("NIGEHBAN_") {
            command.env_remove(name);
        }
    }
    command
        .args(args)
        .current_dir(repo())
        .output()
        .expect("nigehban runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const SAMPLE: &str = "fixtures/evtx/CA_DCSync_4662.evtx";
const TITLE: &str = "Active Directory Replication from Non Machine Account - DcSync Indicator";
const RULE_ID: &str = "17d619c1-e020-4347-957e-1d1207455c93";
const AUTHOR: &str = "Roberto Rodriguez @Cyb3rWard0g";

#[test]
fn the_table_to_a_pipe_has_every_column_whole_with_the_matched_fields() {
    let out = nigehban(&["hunt", "-r", "fixtures/rules", "--quiet", SAMPLE]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines.len(),
        4,
        "a header and three detections, one line each:\n{table}"
    );
    for heading in [
        "TIME (UTC)",
        "LEVEL",
        "EVENT",
        "COMPUTER",
        "CHANNEL",
        "RULE",
        "RULE ID",
        "AUTHOR",
        "WHERE",
        "MATCHED / DETAILS",
    ] {
        assert!(lines[0].contains(heading), "{heading} in {}", lines[0]);
    }
    for line in &lines[1..] {
        // Nothing cut: the whole title, id, author and file name, and no ellipsis.
        for whole in [
            TITLE,
            RULE_ID,
            AUTHOR,
            "DC1.insecurebank.local",
            "Security",
            "4662",
            "medium",
        ] {
            assert!(line.contains(whole), "{whole} in {line}");
        }
        assert!(
            line.contains("fixtures/evtx/CA_DCSync_4662.evtx:chunk 0 record"),
            "{line}"
        );
        assert!(!line.contains('…'), "{line}");
        // The values that made the rule match.
        assert!(line.contains("EventID: 4662"), "{line}");
        assert!(line.contains("Properties: "), "{line}");
        assert!(line.starts_with("2019-"), "{line}");
    }
}

#[test]
fn the_table_for_a_terminal_wraps_long_values_inside_their_columns() {
    let out = nigehban(&[
        "hunt",
        "-r",
        "fixtures/rules",
        "--quiet",
        "--width",
        "120",
        SAMPLE,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.lines().all(|l| l.chars().count() <= 120), "{table}");
    assert!(table.lines().count() > 4, "{table}");
    // Every character of the title and the id is still there, spread over lines.
    let letters: String = table.chars().filter(|c| !c.is_whitespace()).collect();
    for whole in [TITLE, RULE_ID] {
        let squeezed: String = whole.chars().filter(|c| !c.is_whitespace()).collect();
        let in_order = squeezed.chars().all({
            let mut rest = letters.chars();
            move |c| rest.any(|d| d == c)
        });
        assert!(in_order, "{whole} not whole in:\n{table}");
    }
    assert!(!table.contains('…'), "{table}");
}

#[test]
fn times_are_shown_in_the_zone_asked_for_and_stay_utc_in_jsonl() {
    let out = nigehban(&[
        "hunt",
        "-r",
        "fixtures/rules",
        "--quiet",
        "--timezone",
        "+05:00",
        SAMPLE,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(
        table.lines().next().unwrap().contains("TIME (+05:00)"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .skip(1)
            .all(|l| l.starts_with("2019-") && l.contains("+05:00")),
        "{table}"
    );

    let out = nigehban(&[
        "hunt",
        "-r",
        "fixtures/rules",
        "--quiet",
        "--timezone",
        "+05:00",
        "--format",
        "jsonl",
        SAMPLE,
    ]);
    let first: serde_json::Value =
        serde_json::from_str(text(&out.stdout).lines().next().unwrap()).unwrap();
    assert!(
        first["timestamp"].as_str().unwrap().ends_with('Z'),
        "{first}"
    );

    let out = nigehban(&[
        "hunt",
        "-r",
        "fixtures/rules",
        "--timezone",
        "Mars/Olympus",
        SAMPLE,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown time zone 'Mars/Olympus'"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn from_and_to_keep_the_events_of_the_window() {
    let jsonl = |extra: &[&str]| -> Vec<serde_json::Value> {
        let mut args = vec![
            "hunt",
            "-r",
            "fixtures/rules",
            "--quiet",
            "--format",
            "jsonl",
        ];
        args.extend_from_slice(extra);
        args.push(SAMPLE);
        let out = nigehban(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let all = jsonl(&[]);
    assert_eq!(all.len(), 3);
    let mut times: Vec<String> = all
        .iter()
        .map(|d| d["timestamp"].as_str().unwrap().to_owned())
        .collect();
    times.sort();
    // From the second detection's time on: the last two.
    let later = jsonl(&["--from", &times[1]]);
    assert_eq!(
        later.len(),
        all.iter()
            .filter(|d| d["timestamp"].as_str().unwrap() >= times[1].as_str())
            .count()
    );
    assert!(
        later
            .iter()
            .all(|d| d["timestamp"].as_str().unwrap() >= times[1].as_str())
    );
    // Before the first: nothing; a day long after: nothing; the whole day: all.
    assert!(jsonl(&["--to", &times[0]]).is_empty());
    assert!(jsonl(&["--from", "2030-01-01"]).is_empty());
    let day = &times[0][..10];
    assert_eq!(jsonl(&["--from", day]).len(), 3);

    let out = nigehban(&[
        "hunt",
        "-r",
        "fixtures/rules",
        "--from",
        "yesterday",
        SAMPLE,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("'yesterday' is not a time"),
        "{}",
        text(&out.stderr)
    );
    let out = nigehban(&[
        "hunt",
        "-r",
        "fixtures/rules",
        "--from",
        "2020-01-02",
        "--to",
        "2020-01-01",
        SAMPLE,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--from must be before --to"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn summary_counts_per_rule_and_computer_with_first_and_last_seen() {
    let out = nigehban(&[
        "hunt",
        "-r",
        "fixtures/rules",
        "--summary",
        "--quiet",
        "fixtures/evtx",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    let lines: Vec<&str> = summary.lines().collect();
    assert!(
        lines[0].starts_with("3 detection(s) of 1 rule(s) on 1 computer(s); first 2019-"),
        "{summary}"
    );
    assert!(lines[0].ends_with("(UTC)"), "{summary}");
    let rule = lines.iter().find(|l| l.contains(TITLE)).unwrap();
    assert!(rule.starts_with("medium"), "{rule}");
    assert!(
        rule.contains("T1003.006") && rule.contains(RULE_ID),
        "{rule}"
    );
    assert!(rule.split_whitespace().nth(1) == Some("3"), "{rule}");
    let computer = lines
        .iter()
        .find(|l| l.starts_with("DC1.insecurebank.local"))
        .unwrap();
    let columns: Vec<&str> = computer.split_whitespace().collect();
    // COMPUTER COUNT CRITICAL HIGH MEDIUM LOW INFO FIRST LAST
    assert_eq!(&columns[1..7], ["3", "0", "0", "3", "0", "0"], "{computer}");
    assert!(
        columns[7].starts_with("2019-") && columns[8].starts_with("2019-"),
        "{computer}"
    );
    assert!(columns[7] <= columns[8], "{computer}");
    // No detection lines: the summary only.
    assert!(
        !summary.contains("fixtures/evtx/CA_DCSync_4662.evtx:chunk 0 record"),
        "{summary}"
    );

    // With --output, the detections still go to the file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hits.jsonl");
    let out = nigehban(&[
        "hunt",
        "-r",
        "fixtures/rules",
        "--summary",
        "--quiet",
        "--format",
        "jsonl",
        "--output",
        file.to_str().unwrap(),
        "fixtures/evtx",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 3);
    assert!(text(&out.stdout).contains("Detections by rule"));
}

#[test]
fn a_hunt_that_could_not_read_some_input_ends_with_status_3() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(repo().join(SAMPLE)).unwrap();
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
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cut.evtx"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        text(&out.stdout)
            .lines()
            .filter(|l| l.contains("whole.evtx"))
            .count(),
        3
    );
    // A clean hunt is 0; the help documents both.
    let out = nigehban(&["hunt", "-r", "fixtures/rules", "--quiet", SAMPLE]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&nigehban(&["hunt", "--help"]).stdout);
    assert!(
        help.contains("3 when it ran but some input could not be read"),
        "{help}"
    );
}

#[test]
fn the_top_level_help_names_every_subcommand() {
    let out = nigehban(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    let summary = help.lines().next().unwrap();
    for command in [
        "serve", "migrate", "admin", "audit", "backup", "restore", "ingest", "hunt", "rules",
    ] {
        assert!(
            summary.contains(command),
            "{command} in the summary line: {summary}"
        );
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(command)),
            "{command} listed:\n{help}"
        );
    }
}

#[test]
fn a_mistyped_data_directory_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("nigehban-dta");
    for args in [
        vec!["audit", "verify", "--data-dir", typo.to_str().unwrap()],
        vec![
            "backup",
            "--data-dir",
            typo.to_str().unwrap(),
            "--to",
            dir.path().join("x.backup").to_str().unwrap(),
        ],
    ] {
        let out = nigehban(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("holds no Nigehban store"), "{stderr}");
        assert!(stderr.contains("nigehban serve"), "{stderr}");
        assert!(!stderr.contains("admin bootstrap"), "{stderr}");
        assert!(!typo.exists(), "{args:?} created {}", typo.display());
    }
}

#[test]
fn missing_rules_name_their_cause_once() {
    let out = nigehban(&["hunt", "-r", "/nonexistent-rules", SAMPLE]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot read rules at /nonexistent-rules"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
}

#[test]
fn ingest_names_a_missing_file_a_url_without_scheme_and_a_server_that_is_not_there() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    let journal = journal.to_str().unwrap();
    let out = nigehban(&[
        "ingest",
        "--server",
        "http://127.0.0.1:9",
        "--token",
        "ngs_x",
        "--journal",
        journal,
        "/nonexistent.json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("/nonexistent.json") && stderr.contains("No such file"),
        "{stderr}"
    );
    assert!(
        !text(&out.stdout).contains("read as ;"),
        "{}",
        text(&out.stdout)
    );

    let file = dir.path().join("one.json");
    std::fs::write(&file, "{\"message\":\"hello\"}\n").unwrap();
    let out = nigehban(&[
        "ingest",
        "--server",
        "127.0.0.1:8080",
        "--token",
        "ngs_x",
        "--journal",
        journal,
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("use --server http://127.0.0.1:8080"),
        "{stderr}"
    );

    // Nothing listens on port 9 of loopback: refused at once, reported within seconds.
    let started = Instant::now();
    let out = nigehban(&[
        "ingest",
        "--server",
        "http://127.0.0.1:9",
        "--token",
        "ngs_x",
        "--journal",
        journal,
        "--quiet",
        file.to_str().unwrap(),
    ]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot connect to http://127.0.0.1:9"),
        "{stderr}"
    );
    assert!(
        stderr.contains("check that the server is running"),
        "{stderr}"
    );
}

#[test]
fn rules_check_reports_placeholders_without_values_unasked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("placeholder.yml"),
        "title: Logon by an admin account\nid: 0d7c5f3e-3a5e-4c1e-9a7b-6f0c1b2a3d4e\nstatus: test\nlogsource:\n  product: windows\n  service: security\ndetection:\n  selection:\n    EventID: 4624\n    TargetUserName|expand: '%admin_users%'\n  condition: selection\nlevel: medium\n",
    )
    .unwrap();
    let out = nigehban(&["rules", "check", dir.path().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("placeholder '%admin_users%' has no value"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 placeholder(s) without a value"),
        "{stdout}"
    );
}
