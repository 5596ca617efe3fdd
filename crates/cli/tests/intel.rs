//! `nigehban intel import|export` through the real binary (issue 13): every
//! exported STIX bundle passes the OASIS `stix2-validator` with zero
//! errors; the STIX example bundles and the ATT&CK for ICS bundle import
//! and re-export without losing an object; TLP survives the round trip
//! (AMBER+STRICT stays AMBER+STRICT) and an export holds only what its
//! caller may read; CSV holds the same indicators. A MISP feed export is
//! read back by PyPI `pymisp` without loss, and carries the indicators
//! from one data directory into another (air-gapped) unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/platform.rs"]
mod platform;
#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/server.rs"]
mod server;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use nigehban_app::App;
use nigehban_app::NewIndicator;
use nigehban_app::model::indicator::{IndicatorValue, ShareRecipient};
use nigehban_app::model::{Pap, Role, Tlp};
use nigehban_testkit::Need;
use serde_json::Value;

use platform::{Storage, runtime, token, tree};
use postgres::ScratchDatabase;
use server::nigehban;

const AMBER_STRICT_ID: &str = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";

/// Whether the OASIS validator is there (a failure under NIGEHBAN_REQUIRE_SERVICES=1 when not).
fn validator() -> bool {
    nigehban_testkit::python_module(Need::Stix2Validator, "stix2validator", "stix2-validator")
}

/// Runs the OASIS STIX 2.1 validator on `file`; panics naming every error.
fn assert_valid_stix(file: &Path) {
    let script = r#"
import sys
from stix2validator import validate_file, ValidationOptions
result = validate_file(sys.argv[1], ValidationOptions(version="2.1"))
errors = [f"{o.object_id}: {e}" for o in result.object_results for e in o.errors]
if result.fatal:
    errors.append(f"fatal: {result.fatal}")
for error in errors:
    print(error)
print(f"objects={len(result.object_results)} valid={result.is_valid}")
sys.exit(0 if result.is_valid and not errors else 1)
"#;
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "stix2-validator found errors in {}:\n{}{}",
        file.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A platform: national ─┬─ telecom ─── operator, └─ banking ─── bank; API
/// tokens (their secrets) for the roles the tests act as.
struct Platform {
    operator_intel: String,
    bank_analyst: String,
    banking_intel: String,
}

async fn platform(app: &App) -> Platform {
    platform_with(app, true).await
}

/// The platform, with the operator's seven indicators when `seed`.
async fn platform_with(app: &App, seed: bool) -> Platform {
    let tree = tree(app, None).await;
    let (admin, operator, banking, bank) = (&tree.admin, &tree.operator, &tree.banking, &tree.bank);
    let operator_intel = token(app, admin, operator.id, Role::IntelAnalyst).await;
    let publisher = app
        .tokens()
        .authenticate(&operator_intel, None)
        .await
        .unwrap();
    let indicator =
        |kind: &str, value: &str, tlp: Tlp, shared_with: Vec<ShareRecipient>| NewIndicator {
            tenant: None,
            value: IndicatorValue::parse(kind, value).unwrap(),
            title: format!("{value}, {tlp}"),
            description: "Seen in the operator's core network.\nBlock at the edge.".into(),
            valid_from: None,
            valid_until: None,
            confidence: Some(85),
            source: "Operator SOC".into(),
            tags: vec!["attack.t1071".into(), "c2, beacon".into()],
            tlp,
            pap: Pap::Amber,
            shared_with,
        };
    let seeds = [
        indicator(
            "domain",
            "strict.example",
            Tlp::AmberStrict,
            vec![ShareRecipient::Tenant(bank.id)],
        ),
        indicator("ipv4", "192.0.2.66", Tlp::Red, vec![]),
        indicator("url", "https://green.example/a?b=1", Tlp::Green, vec![]),
        indicator("cidr", "198.51.100.0/24", Tlp::Clear, vec![]),
        indicator("sha256", &"ab".repeat(32), Tlp::Green, vec![]),
        indicator("email", "phish@evil.example", Tlp::Green, vec![]),
        indicator("ja3", &"0f".repeat(16), Tlp::Green, vec![]),
    ];
    for new in seeds.into_iter().filter(|_| seed) {
        app.intel().create(&publisher, new).await.unwrap();
    }
    Platform {
        bank_analyst: token(app, admin, bank.id, Role::Analyst).await,
        banking_intel: token(app, admin, banking.id, Role::IntelAnalyst).await,
        operator_intel,
    }
}

fn run(storage: &Storage, token: &str, args: &[&str]) -> Output {
    let output = nigehban()
        .arg("intel")
        .args(args)
        .args(storage.args())
        .env("NIGEHBAN_TOKEN", token)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "nigehban intel {args:?}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn export_stix(storage: &Storage, token: &str, out: &Path) -> Value {
    run(
        storage,
        token,
        &[
            "export",
            "--format",
            "stix",
            "--out",
            &out.display().to_string(),
        ],
    );
    serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap()
}

/// (pattern, marking ids) of the bundle's indicators, sorted.
fn patterns(bundle: &Value) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "indicator")
        .map(|o| {
            (
                o["pattern"].as_str().unwrap().to_owned(),
                o["object_marking_refs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect();
    out.sort();
    out
}

fn tlp_round_trip_and_reader_limits(storage: &Storage, second: &Storage) {
    let tokens = runtime().block_on(async { platform(&storage.open().await).await });
    let files = tempfile::tempdir().unwrap();

    // The publisher's export: all seven, each marked with its TLP 2.0 label.
    let own_file = files.path().join("operator.json");
    let own = export_stix(storage, &tokens.operator_intel, &own_file);
    assert_valid_stix(&own_file);
    let own_patterns = patterns(&own);
    assert_eq!(own_patterns.len(), 7, "{own_patterns:?}");
    assert!(own_patterns.contains(&(
        "[domain-name:value = 'strict.example']".to_owned(),
        vec![AMBER_STRICT_ID.to_owned()]
    )));
    assert!(
        own_patterns
            .iter()
            .any(|(p, _)| p == "[ipv4-addr:value = '192.0.2.66']")
    );
    let definitions: BTreeSet<&str> = own["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "marking-definition")
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert!(definitions.contains(AMBER_STRICT_ID), "{definitions:?}");
    let strict_definition = own["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == AMBER_STRICT_ID)
        .unwrap();
    assert_eq!(
        strict_definition["extensions"]["extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"]
            ["tlp_2_0"],
        "amber+strict"
    );

    // The bank may not read the RED one: its export does not hold it.
    let bank_file = files.path().join("bank.json");
    let bank = export_stix(storage, &tokens.bank_analyst, &bank_file);
    assert_valid_stix(&bank_file);
    let bank_patterns: Vec<String> = patterns(&bank).into_iter().map(|p| p.0).collect();
    assert_eq!(bank_patterns.len(), 6, "{bank_patterns:?}");
    assert!(!bank_patterns.iter().any(|p| p.contains("192.0.2.66")));
    assert!(bank_patterns.contains(&"[domain-name:value = 'strict.example']".to_owned()));
    // The banking CERT above the bank is no recipient of the AMBER+STRICT one.
    let banking = export_stix(
        storage,
        &tokens.banking_intel,
        &files.path().join("banking.json"),
    );
    let banking_patterns: Vec<String> = patterns(&banking).into_iter().map(|p| p.0).collect();
    assert_eq!(banking_patterns.len(), 5, "{banking_patterns:?}");
    assert!(
        !banking_patterns
            .iter()
            .any(|p| p.contains("strict.example"))
    );

    // CSV: the same indicators, one line each.
    let csv = run(
        storage,
        &tokens.bank_analyst,
        &["export", "--format", "csv"],
    );
    let csv = String::from_utf8(csv.stdout).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("kind,value,tlp,pap,confidence,valid_from,valid_until,source,tags")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 6, "{csv}");
    let strict = rows
        .iter()
        .find(|r| r.starts_with("domain,strict.example,"))
        .unwrap();
    assert!(
        strict.starts_with("domain,strict.example,amber+strict,amber,85,")
            && strict.ends_with(",,Operator SOC,\"attack.t1071;c2, beacon\""),
        "{strict}"
    );

    // The operator's bundle into another platform: every label comes back as it was.
    let second_platform = runtime().block_on(async { platform(&second.open().await).await });
    let imported = run(
        second,
        &second_platform.banking_intel,
        &["import", &own_file.display().to_string(), "--tlp", "red"],
    );
    let summary = String::from_utf8_lossy(&imported.stdout);
    assert!(
        summary.contains("7 indicators created") && summary.contains("0 refused"),
        "{summary}"
    );
    let csv = run(
        second,
        &second_platform.banking_intel,
        &["export", "--format", "csv", "--tenant", "CERT Banking"],
    );
    let csv = String::from_utf8(csv.stdout).unwrap();
    let labels: BTreeMap<String, String> = csv
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.splitn(4, ',').collect();
            (format!("{}:{}", fields[0], fields[1]), fields[2].to_owned())
        })
        .collect();
    assert_eq!(labels["domain:strict.example"], "amber+strict", "{csv}");
    assert_eq!(labels["ipv4:192.0.2.66"], "red", "{csv}");
    assert_eq!(labels["cidr:198.51.100.0/24"], "clear", "{csv}");
    assert_eq!(
        labels["ja3:0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"], "green",
        "{csv}"
    );
    assert_eq!(labels.len(), 7, "{csv}");
    // And what the second platform exports again passes the validator.
    let again = files.path().join("again.json");
    export_stix(second, &second_platform.banking_intel, &again);
    assert_valid_stix(&again);
}

#[test]
fn tlp_round_trips_and_exports_hold_what_the_caller_may_read_on_sqlite() {
    if !validator() {
        return;
    }
    tlp_round_trip_and_reader_limits(&Storage::sqlite(), &Storage::sqlite());
}

#[test]
fn tlp_round_trips_and_exports_hold_what_the_caller_may_read_on_postgresql() {
    if !validator() {
        return;
    }
    let Some(server) = nigehban_testkit::postgres_url() else {
        return;
    };
    let first = ScratchDatabase::create(&server, "intel");
    let second = ScratchDatabase::create(&server, "intel");
    tlp_round_trip_and_reader_limits(
        &Storage::postgres(&first.url),
        &Storage::postgres(&second.url),
    );
}

/// Every STIX object of a bundle file (or the lone object the file is), by (id, version).
fn objects_of(file: &Path) -> BTreeMap<(String, String), Value> {
    let value: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    let objects = if value["type"] == "bundle" {
        value["objects"].as_array().cloned().unwrap_or_default()
    } else {
        vec![value]
    };
    objects
        .into_iter()
        .map(|o| {
            let version = o
                .get("modified")
                .or_else(|| o.get("created"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            ((o["id"].as_str().unwrap().to_owned(), version), o)
        })
        .collect()
}

#[test]
fn example_bundles_and_attack_for_ics_import_and_reexport_without_loss() {
    let Some(corpus) = nigehban_testkit::corpus_with("intel/stix2-json-schemas/examples") else {
        return;
    };
    if !validator() {
        return;
    }
    let examples = corpus.join("intel/stix2-json-schemas/examples");
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in [examples.clone(), examples.join("threat-reports")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    let attack = corpus.join("intel/mitre-attack-ics/ics-attack-18.1.json");
    assert!(attack.is_file(), "{} is missing", attack.display());
    files.push(attack);
    assert!(files.len() >= 9, "{files:?}");

    for file in &files {
        let storage = Storage::sqlite();
        let importer = runtime().block_on(async {
            let app = storage.open().await;
            platform_with(&app, false).await.banking_intel
        });
        let started = Instant::now();
        let imported = run(
            &storage,
            &importer,
            &["import", &file.display().to_string()],
        );
        let summary = String::from_utf8_lossy(&imported.stdout).into_owned();
        assert!(
            summary.contains(" 0 refused"),
            "{}: {summary}",
            file.display()
        );
        let out = tempfile::NamedTempFile::new().unwrap();
        let exported = export_stix(&storage, &importer, out.path());
        eprintln!(
            "{}: imported and exported in {:.1} s ({summary})",
            file.display(),
            started.elapsed().as_secs_f64()
        );
        assert_valid_stix(out.path());
        let before = objects_of(file);
        let after = objects_of(out.path());
        for (key, object) in &before {
            let found = after
                .get(key)
                .unwrap_or_else(|| panic!("{}: {key:?} was lost", file.display()));
            assert_eq!(found, object, "{}: {key:?} changed", file.display());
        }
        // Nothing else but TLP definitions, source identities and the banking CERT's own indicators.
        let mut extra: Vec<&(String, String)> =
            after.keys().filter(|k| !before.contains_key(*k)).collect();
        extra.retain(|(id, _)| !id.starts_with("marking-definition--"));
        for (id, _) in &extra {
            assert!(
                id.starts_with("identity--") || id.starts_with("indicator--"),
                "{}: unexpected {id}",
                file.display()
            );
        }
        // Indicators the import made are given as the objects they came from, not twice.
        let made = exported["objects"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["type"] == "indicator")
            .count();
        let given = before.values().filter(|o| o["type"] == "indicator").count();
        assert_eq!(made, given, "{}", file.display());
    }
}

#[test]
fn bad_files_are_refused_naming_file_and_object() {
    let storage = Storage::sqlite();
    let tokens = runtime().block_on(async { platform(&storage.open().await).await });
    let files = tempfile::tempdir().unwrap();
    let junk = files.path().join("junk.json");
    std::fs::write(&junk, b"{\"type\": \"bundle\", \"objects\": 5}").unwrap();
    let output = nigehban()
        .args(["intel", "import"])
        .arg(&junk)
        .args(storage.args())
        .env("NIGEHBAN_TOKEN", &tokens.operator_intel)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("junk.json") && stderr.contains("\"objects\" is not a list"),
        "{stderr}"
    );

    let mixed = files.path().join("mixed.json");
    std::fs::write(
        &mixed,
        br#"{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":[
            {"type":"indicator","spec_version":"2.1","id":"indicator--11111111-2222-4333-8444-555555555555",
             "created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z",
             "pattern":"[ipv4-addr:value = '203.0.113.9'] FOLLOWEDBY [domain-name:value = 'c2.example']",
             "pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"},
            {"type":"malware","id":"malware--nope"}
        ]}"#,
    )
    .unwrap();
    let output = nigehban()
        .args(["intel", "import"])
        .arg(&mixed)
        .args(storage.args())
        .env("NIGEHBAN_TOKEN", &tokens.operator_intel)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "object 0 indicator--11111111-2222-4333-8444-555555555555: kept, no indicator"
        ) && stderr.contains("FOLLOWEDBY"),
        "{stderr}"
    );
    assert!(
        stderr.contains("object 1 malware--nope: refused"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("1 objects kept (1 new)") && stdout.contains("1 refused"),
        "{stdout}"
    );

    // A token that may not publish here is refused with the reason.
    let output = nigehban()
        .args(["intel", "import"])
        .arg(&mixed)
        .args(storage.args())
        .env("NIGEHBAN_TOKEN", "ngt_not_a_token")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("API token was refused"),
        "{output:?}"
    );
}

/// PyMISP reads each event file of a feed directory named by its manifest; prints every attribute.
const PYMISP_FEED_READER: &str = r#"
import json, os, sys
from pymisp import MISPEvent
feed = sys.argv[1]
manifest = json.load(open(os.path.join(feed, "manifest.json")))
hashes = [line.split(",") for line in open(os.path.join(feed, "hashes.csv")).read().split()]
out = []
for uuid, entry in manifest.items():
    event = MISPEvent()
    event.load_file(os.path.join(feed, uuid + ".json"))
    assert str(event.uuid) == uuid, (event.uuid, uuid)
    assert event.info == entry["info"], (event.info, entry["info"])
    assert event.Orgc.name == entry["Orgc"]["name"]
    for attribute in event.attributes:
        out.append({"event": uuid, "type": attribute.type, "value": attribute.value,
                    "tags": [t.name for t in attribute.tags], "to_ids": attribute.to_ids,
                    "distribution": int(attribute.distribution), "uuid": str(attribute.uuid),
                    "comment": attribute.comment,
                    "first_seen": attribute.first_seen.isoformat() if attribute.first_seen else None})
print(json.dumps({"attributes": out, "hashes": len(hashes)}))
"#;

/// Runs `nigehban intel ...` expecting failure with status 2; returns standard error.
fn run_failing(storage: &Storage, token: &str, args: &[&str]) -> String {
    let output = nigehban()
        .arg("intel")
        .args(args)
        .args(storage.args())
        .env("NIGEHBAN_TOKEN", token)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// CSV rows by `kind:value`, without the fields a MISP feed does not carry
/// (confidence; the source becomes "MISP <publishing organisation>").
fn rows_without_confidence_and_source(csv: &str) -> BTreeMap<String, String> {
    csv.lines()
        .skip(1)
        .map(|line| {
            // kind,value,tlp,pap,confidence,valid_from,valid_until,source,tags — no field before tags holds a comma here.
            let fields: Vec<&str> = line.splitn(9, ',').collect();
            (
                format!("{}:{}", fields[0], fields[1]),
                [fields[2], fields[3], fields[5], fields[6], fields[8]].join(","),
            )
        })
        .collect()
}

#[test]
fn a_misp_feed_export_reads_back_in_pymisp_and_carries_indicators_air_gapped() {
    if !nigehban_testkit::python_module(Need::Pymisp, "pymisp", "pymisp") {
        return;
    }
    let storage = Storage::sqlite();
    let tokens = runtime().block_on(async { platform(&storage.open().await).await });
    let files = tempfile::tempdir().unwrap();
    let feed = files.path().join("feed");
    let feed_arg = feed.display().to_string();

    // Without a directory there is nowhere to write a feed.
    let stderr = run_failing(
        &storage,
        &tokens.operator_intel,
        &["export", "--format", "misp"],
    );
    assert!(stderr.contains("--out DIR"), "{stderr}");

    let exported = run(
        &storage,
        &tokens.operator_intel,
        &["export", "--format", "misp", "--out", &feed_arg],
    );
    let said = String::from_utf8_lossy(&exported.stderr);
    assert!(said.contains("exported 7 indicators in"), "{said}");
    assert!(feed.join("manifest.json").is_file() && feed.join("hashes.csv").is_file());

    // PyMISP reads every attribute back: value, type, tags, distribution.
    let output = Command::new("python3")
        .args(["-c", PYMISP_FEED_READER])
        .arg(&feed)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "pymisp could not read the feed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: Value = serde_json::from_slice(&output.stdout).unwrap();
    let attributes = read["attributes"].as_array().unwrap();
    assert_eq!(read["hashes"], 7, "{read}");
    // (value, MISP type, TLP tag, distribution): AMBER and above stay in the pulling organisation (0),
    // GREEN in its community (1), CLEAR anywhere (3).
    let expected = [
        ("strict.example", "domain", "tlp:amber+strict", 0),
        ("192.0.2.66", "ip-dst", "tlp:red", 0),
        ("https://green.example/a?b=1", "url", "tlp:green", 1),
        ("198.51.100.0/24", "ip-dst", "tlp:clear", 3),
        (&*"ab".repeat(32), "sha256", "tlp:green", 1),
        ("phish@evil.example", "email", "tlp:green", 1),
        (&*"0f".repeat(16), "ja3-fingerprint-md5", "tlp:green", 1),
    ];
    assert_eq!(attributes.len(), expected.len(), "{read:#}");
    for (value, misp_type, tlp_tag, distribution) in expected {
        let attribute = attributes
            .iter()
            .find(|a| a["value"] == value)
            .unwrap_or_else(|| panic!("{value} lost: {read:#}"));
        assert_eq!(attribute["type"], misp_type, "{value}");
        assert_eq!(
            attribute["tags"],
            serde_json::json!([tlp_tag, "PAP:AMBER", "attack.t1071", "c2, beacon"]),
            "{value}"
        );
        assert_eq!(attribute["distribution"], distribution, "{value}");
        assert_eq!(attribute["to_ids"], true, "{value}");
        assert!(
            attribute["comment"]
                .as_str()
                .unwrap()
                .contains("Seen in the operator's core network."),
            "{attribute}"
        );
    }

    // The bank's feed holds only what the bank may read: not the RED one.
    let bank_feed = files.path().join("bank-feed");
    let exported = run(
        &storage,
        &tokens.bank_analyst,
        &[
            "export",
            "--format",
            "misp",
            "--out",
            &bank_feed.display().to_string(),
        ],
    );
    let said = String::from_utf8_lossy(&exported.stderr);
    assert!(said.contains("exported 6 indicators in"), "{said}");
    let hashes = std::fs::read_to_string(bank_feed.join("hashes.csv")).unwrap();
    assert_eq!(hashes.lines().count(), 6, "{hashes}");

    // Exporting again into the same directory replaces the feed; a directory holding anything else is refused.
    run(
        &storage,
        &tokens.operator_intel,
        &["export", "--format", "misp", "--out", &feed_arg],
    );
    let occupied = files.path().join("occupied");
    std::fs::create_dir(&occupied).unwrap();
    std::fs::write(occupied.join("notes.txt"), "mine").unwrap();
    let stderr = run_failing(
        &storage,
        &tokens.operator_intel,
        &[
            "export",
            "--format",
            "misp",
            "--out",
            &occupied.display().to_string(),
        ],
    );
    assert!(
        stderr.contains("is not empty and holds no MISP feed"),
        "{stderr}"
    );

    // Air-gapped: the feed directory into another data directory, same indicators.
    let second = Storage::sqlite();
    let second_tokens =
        runtime().block_on(async { platform_with(&second.open().await, false).await });
    let imported = run(
        &second,
        &second_tokens.banking_intel,
        &["import", &feed_arg],
    );
    let summary = String::from_utf8_lossy(&imported.stdout);
    assert!(
        summary.contains("7 indicators created") && summary.contains(" 0 refused"),
        "{summary}"
    );
    let before = run(
        &storage,
        &tokens.operator_intel,
        &["export", "--format", "csv"],
    );
    let after = run(
        &second,
        &second_tokens.banking_intel,
        &["export", "--format", "csv"],
    );
    let before = rows_without_confidence_and_source(&String::from_utf8(before.stdout).unwrap());
    let after_text = String::from_utf8(after.stdout).unwrap();
    let after = rows_without_confidence_and_source(&after_text);
    assert_eq!(before.len(), 7);
    assert_eq!(after, before, "{after_text}");
    assert!(after_text.contains("MISP Mobile Operator"), "{after_text}");
    // Importing the same feed again changes nothing new: every value is held already.
    let again = run(
        &second,
        &second_tokens.banking_intel,
        &["import", &feed.join("manifest.json").display().to_string()],
    );
    let summary = String::from_utf8_lossy(&again.stdout);
    assert!(
        summary.contains("0 indicators created, 7 updated"),
        "{summary}"
    );
    // A directory that is no feed is refused naming what is missing.
    let stderr = run_failing(
        &second,
        &second_tokens.banking_intel,
        &["import", &occupied.display().to_string()],
    );
    assert!(stderr.contains("holds no manifest.json"), "{stderr}");
}
