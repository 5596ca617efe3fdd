//! Every file under `events/` ingests: Suricata EVE (with its broken, empty
//! and null variants), Zeek (both key styles), OTRF's NXLog Windows events,
//! and SigmaHQ's regression events in the `evtx` layout.

use std::collections::BTreeMap;

use nigehban_normalise::{
    Format, NormalisedEvent, SourceFormat, canonical_channel, normalise_json_stream,
    normalise_lines,
};
use serde_json::{Value, json};

use crate::support::{corpus, count_records, files_under, hint, read_maybe_gz, unzip};

fn datasets(events: &[NormalisedEvent]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for event in events {
        *counts
            .entry(event.dataset().unwrap().to_string())
            .or_insert(0) += 1;
    }
    counts
}

#[test]
fn suricata_eve_files_all_ingest() {
    let Some(dir) = corpus("events/suricata-eve") else {
        return;
    };
    let files: Vec<_> = files_under(&dir, ".json")
        .into_iter()
        .filter(|p| !p.ends_with("schema.json"))
        .collect();
    assert_eq!(files.len(), 6);
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let batch = normalise_lines(&bytes, &hint(Format::SuricataEve));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let expected_errors: &[usize] = if name == "jsonparse_eve_broken1.json" {
            &[2]
        } else {
            &[]
        };
        let error_lines: Vec<usize> = batch.errors.iter().map(|e| e.line).collect();
        assert_eq!(error_lines, expected_errors, "{name}: {:?}", batch.errors);
        assert_eq!(
            batch.events.len() + batch.errors.len(),
            count_records(&bytes),
            "{name}: every record is an event or an error"
        );
        for event in &batch.events {
            assert_eq!(event.format(), SourceFormat::SuricataEve, "{name}");
            assert_eq!(event.module(), Some("suricata"));
            let event_type = event.original().json.as_ref().unwrap()["event_type"]
                .as_str()
                .unwrap();
            assert_eq!(
                event.dataset(),
                Some(format!("suricata.{event_type}").as_str())
            );
        }
    }
}

#[test]
fn suricata_broken_empty_and_null_variants() {
    let Some(dir) = corpus("events/suricata-eve/fever") else {
        return;
    };
    // Broken: line 2 is cut off; lines 1 and 3 are kept.
    let bytes = std::fs::read(dir.join("jsonparse_eve_broken1.json")).unwrap();
    let batch = normalise_lines(&bytes, &hint(Format::Auto));
    assert_eq!(batch.events.len(), 2);
    assert_eq!(batch.errors.len(), 1);
    let error = &batch.errors[0];
    assert_eq!(error.line, 2);
    assert_eq!(error.raw, br#"{"timestamp":"2017-03-06T06:54:10"#.to_vec());
    assert!(
        error
            .to_string()
            .starts_with("line 2 (byte 323): invalid JSON at line 1, column 33"),
        "{error}"
    );
    assert_eq!(
        batch.events[0].fields().get_str("dns.question.name"),
        Some("test.test.local")
    );
    assert_eq!(
        batch.events[1].fields().get_str("url.domain"),
        Some("foobar")
    );
    // The broken line can still be kept as a pipeline_error event.
    let kept = error.to_event(&hint(Format::Auto));
    assert_eq!(kept.fields().get_str("event.kind"), Some("pipeline_error"));
    assert_eq!(
        kept.original().text.as_deref(),
        Some(r#"{"timestamp":"2017-03-06T06:54:10"#)
    );

    // Empty: nothing, and no error.
    let batch = normalise_lines(
        &std::fs::read(dir.join("jsonparse_eve_empty.json")).unwrap(),
        &hint(Format::Auto),
    );
    assert!(batch.events.is_empty() && batch.errors.is_empty());

    // Nulls: absent, not errors.
    let batch = normalise_lines(
        &std::fs::read(dir.join("jsonparse_eve_nulls.json")).unwrap(),
        &hint(Format::Auto),
    );
    assert_eq!(batch.events.len(), 1);
    let event = &batch.events[0];
    assert_eq!(event.dataset(), Some("suricata.fileinfo"));
    assert!(!event.fields().contains("source.ip"));
    assert!(!event.fields().contains("url.original"));
    assert_eq!(event.fields().get_str("url.domain"), Some("api.icndb.com"));
}

#[test]
fn suricata_alerts_keep_signature_id_signature_category_severity() {
    let Some(path) = corpus("events/suricata-eve/surevego/eve.json") else {
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    let batch = normalise_lines(&bytes, &hint(Format::Auto));
    assert!(batch.errors.is_empty());
    assert_eq!(
        datasets(&batch.events),
        BTreeMap::from([
            ("suricata.alert".to_string(), 68),
            ("suricata.dns".to_string(), 48),
            ("suricata.fileinfo".to_string(), 68),
            ("suricata.flow".to_string(), 13),
            ("suricata.http".to_string(), 68),
            ("suricata.stats".to_string(), 1),
        ])
    );
    let mut alerts = 0;
    for event in batch
        .events
        .iter()
        .filter(|e| e.dataset() == Some("suricata.alert"))
    {
        let alert = &event.original().json.as_ref().unwrap()["alert"];
        let f = event.fields();
        assert_eq!(f.get_str("event.kind"), Some("alert"));
        assert_eq!(
            f.get_str("rule.id"),
            Some(alert["signature_id"].as_u64().unwrap().to_string().as_str())
        );
        assert_eq!(f.get("rule.name"), Some(&alert["signature"]));
        assert_eq!(f.get("rule.category"), Some(&alert["category"]));
        assert_eq!(f.get("event.severity"), Some(&alert["severity"]));
        assert!(f.get_str("source.ip").is_some() && f.get_u64("destination.port").is_some());
        alerts += 1;
    }
    assert_eq!(alerts, 68);
    let first = batch
        .events
        .iter()
        .find(|e| e.dataset() == Some("suricata.alert"))
        .unwrap();
    assert_eq!(first.fields().get_str("rule.id"), Some("2013504"));
    assert_eq!(
        first.fields().get_str("rule.name"),
        Some("ET POLICY GNU/Linux APT User-Agent Outbound likely related to package management")
    );
    assert_eq!(
        first.fields().get_str("rule.category"),
        Some("Not Suspicious Traffic")
    );
    assert_eq!(first.fields().get_u64("event.severity"), Some(3));
}

#[test]
fn suricata_dns_in_both_layouts() {
    let (Some(v1), Some(v2)) = (
        corpus("events/suricata-eve/surevego/eve.json"),
        corpus("events/suricata-eve/fever/alertify_input.json"),
    ) else {
        return;
    };
    // Version 1: one answer per record, rdata flat in `dns`.
    let batch = normalise_lines(&std::fs::read(v1).unwrap(), &hint(Format::Auto));
    let answer = batch
        .events
        .iter()
        .find(|e| e.fields().get_str("dns.type") == Some("answer"))
        .unwrap();
    assert_eq!(
        answer.fields().get_str("dns.question.name"),
        Some("prod.debian.map.fastly.net")
    );
    assert_eq!(
        answer.ecs("dns.answers"),
        Some(
            &json!([{"name": "prod.debian.map.fastly.net", "type": "A", "ttl": 30, "data": "151.101.12.204"}])
        )
    );
    assert_eq!(
        answer.ecs("dns.resolved_ip"),
        Some(&json!(["151.101.12.204"]))
    );
    assert_eq!(
        answer.fields().get_str("dns.response_code"),
        Some("NOERROR")
    );
    let query = batch
        .events
        .iter()
        .find(|e| e.fields().get_str("dns.type") == Some("query"))
        .unwrap();
    assert_eq!(query.fields().get_str("dns.question.type"), Some("SRV"));
    assert!(!query.fields().contains("dns.answers"));

    // Version 2: grouped `answers` list.
    let batch = normalise_lines(&std::fs::read(v2).unwrap(), &hint(Format::Auto));
    assert!(batch.errors.is_empty());
    let dns = batch
        .events
        .iter()
        .find(|e| e.dataset() == Some("suricata.dns"))
        .unwrap();
    assert_eq!(
        dns.fields().get_str("dns.question.name"),
        Some("static.programme-tv.net")
    );
    assert_eq!(dns.fields().get_str("dns.question.type"), Some("AAAA"));
    let answers = dns.ecs("dns.answers").unwrap().as_array().unwrap();
    assert_eq!(answers.len(), 2);
    assert_eq!(
        answers[0],
        json!({"name": "static.programme-tv.net", "type": "CNAME", "ttl": 630, "data": "programme-tv.net.edgesuite.net"})
    );
    assert_eq!(dns.ecs("dns.header_flags"), Some(&json!(["RD", "RA"])));
    // TLS from the same file, with zero-padded IPv6 addresses made canonical.
    let tls = batch
        .events
        .iter()
        .find(|e| e.dataset() == Some("suricata.tls"))
        .unwrap();
    let f = tls.fields();
    assert_eq!(f.get_str("tls.version"), Some("1.2"));
    assert_eq!(f.get_str("tls.client.server_name"), Some("example.com"));
    assert_eq!(
        f.get_str("tls.client.ja3"),
        Some("1fe4c7a3544eb27afec2adfb3a3dbf60")
    );
    assert_eq!(
        f.get_str("tls.server.hash.sha1"),
        Some("7BB698386970363D2919CC5772846984FFD4A889")
    );
    assert_eq!(f.get_str("source.ip"), Some("2a03:b0c0:2:d0::bd3:4001"));

    // Version 2 with only the `grouped` map, and version 3 with `queries`.
    for (line, name, data) in [
        (
            r#"{"timestamp":"2024-01-01T00:00:00+0000","event_type":"dns","src_ip":"10.0.0.53","dest_ip":"10.0.0.1","dns":{"version":2,"type":"answer","rrname":"a.example","rrtype":"A","rcode":"NOERROR","grouped":{"A":["192.0.2.1","192.0.2.2"]}}}"#,
            "a.example",
            "192.0.2.2",
        ),
        (
            r#"{"timestamp":"2024-01-01T00:00:00+0000","event_type":"dns","src_ip":"10.0.0.1","dest_ip":"10.0.0.53","dns":{"version":3,"type":"request","queries":[{"rrname":"b.example","rrtype":"A"}],"answers":[{"rrname":"b.example","rrtype":"A","ttl":5,"rdata":"192.0.2.9"}]}}"#,
            "b.example",
            "192.0.2.9",
        ),
    ] {
        let event = nigehban_normalise::normalise(line.as_bytes(), &hint(Format::Auto)).unwrap();
        assert_eq!(event.fields().get_str("dns.question.name"), Some(name));
        let resolved = event.ecs("dns.resolved_ip").unwrap().as_array().unwrap();
        assert!(resolved.contains(&json!(data)), "{line}");
    }
}

#[test]
fn suricata_broken_lines_are_reported_and_good_lines_kept() {
    let Some(path) = corpus("events/suricata-eve/surevego/eve.json") else {
        return;
    };
    let clean = std::fs::read_to_string(path).unwrap();
    let clean_lines: Vec<&str> = clean.lines().collect();
    // Corrupt the lines that upstream's eve_broken.json corrupts (not in the
    // snapshot): cut each in half.
    let broken_at = [1, 4, 5, 103, 104, 157, 158, 159, 160, 266];
    let damaged: Vec<String> = clean_lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            if broken_at.contains(&(i + 1)) {
                line[..line.len() / 2].to_string()
            } else {
                (*line).to_string()
            }
        })
        .collect();
    let batch = normalise_lines(damaged.join("\n").as_bytes(), &hint(Format::SuricataEve));
    let error_lines: Vec<usize> = batch.errors.iter().map(|e| e.line).collect();
    assert_eq!(error_lines, broken_at);
    assert_eq!(batch.events.len(), clean_lines.len() - broken_at.len());
    let kept: Vec<&str> = batch
        .events
        .iter()
        .map(|e| e.original().text.as_deref().unwrap())
        .collect();
    let expected: Vec<&str> = clean_lines
        .iter()
        .enumerate()
        .filter(|(i, _)| !broken_at.contains(&(i + 1)))
        .map(|(_, l)| *l)
        .collect();
    assert_eq!(kept, expected);
}

#[test]
fn zeek_wrccdc_every_line_parses() {
    let Some(dir) = corpus("events/zeek-wrccdc/zeek-json") else {
        return;
    };
    let files = files_under(&dir, ".json.gz");
    assert_eq!(files.len(), 21);
    let mut total = 0;
    for path in files {
        let bytes = read_maybe_gz(&path);
        let log = path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".json.gz", "");
        let mut declared = hint(Format::Zeek);
        declared.log_name = Some(path.file_name().unwrap().to_string_lossy().into_owned());
        let batch = normalise_lines(&bytes, &declared);
        assert!(batch.errors.is_empty(), "{log}: {:?}", batch.errors.first());
        assert_eq!(batch.events.len(), count_records(&bytes), "{log}");
        for event in &batch.events {
            assert_eq!(event.dataset(), Some(format!("zeek.{log}").as_str()));
            assert_eq!(event.format(), SourceFormat::ZeekDotted);
            assert!(
                event.diagnostics().is_empty(),
                "{log}: {:?}",
                event.diagnostics()
            );
            if event
                .original()
                .json
                .as_ref()
                .unwrap()
                .get("id.orig_h")
                .is_some()
            {
                assert!(event.fields().contains("source.ip"), "{log}");
            }
        }
        total += batch.events.len();
    }
    // The sum of the line counts SOURCE.txt gives for these 21 logs.
    assert_eq!(total, 82_556);
}

#[test]
fn zeek_apt29_every_line_parses() {
    let Some(dir) = corpus("events/otrf-security-datasets/apt29-zeek") else {
        return;
    };
    let files = files_under(&dir, ".log");
    assert_eq!(files.len(), 99);
    let mut total = 0;
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut declared = hint(Format::Zeek);
        declared.log_name = Some(name.clone());
        let batch = normalise_lines(&bytes, &declared);
        assert!(
            batch.errors.is_empty(),
            "{name}: {:?}",
            batch.errors.first()
        );
        assert_eq!(batch.events.len(), count_records(&bytes), "{name}");
        let log = name.split_once('_').unwrap().1.trim_end_matches(".log");
        for event in &batch.events {
            assert_eq!(
                event.dataset(),
                Some(format!("zeek.{log}").as_str()),
                "{name}"
            );
            assert_eq!(event.fields().get_str("observer.product"), Some("Zeek"));
            if event
                .original()
                .json
                .as_ref()
                .unwrap()
                .get("id_orig_h")
                .is_some()
            {
                assert_eq!(event.format(), SourceFormat::ZeekUnderscored, "{name}");
                assert!(event.fields().contains("source.ip"), "{name}");
            }
        }
        total += batch.events.len();
    }
    assert_eq!(total, 7804);
}

/// NXLog shipper metadata of the OTRF files: not event data.
const NXLOG_METADATA: &[&str] = &[
    "@timestamp",
    "@version",
    "AccountName",
    "AccountType",
    "ActivityID",
    "Category",
    "Channel",
    "Domain",
    "ERROR_EVT_UNRESOLVED",
    "EventID",
    "EventReceivedTime",
    "EventTime",
    "EventType",
    "EventTypeOrignal",
    "ExecutionProcessID",
    "Hostname",
    "Keywords",
    "Level",
    "Message",
    "Opcode",
    "OpcodeValue",
    "ProviderGuid",
    "RecordNumber",
    "RelatedActivityID",
    "Severity",
    "SeverityValue",
    "SourceModuleName",
    "SourceModuleType",
    "SourceName",
    "Task",
    "ThreadID",
    "TimeCreated",
    "UserID",
    "Version",
    "host",
    "port",
    "tags",
];

#[test]
fn otrf_windows_events_all_get_system_fields_and_sigma_names() {
    let Some(dir) = corpus("events/otrf-security-datasets/atomic-windows-host") else {
        return;
    };
    let zips = files_under(&dir, ".zip");
    assert_eq!(zips.len(), 12);
    let (mut total, mut lower_case_security, mut blank) = (0, 0, 0);
    for zip in zips {
        for (name, bytes) in unzip(&zip) {
            let batch = normalise_lines(&bytes, &hint(Format::WindowsJson));
            assert!(
                batch.errors.is_empty(),
                "{name}: {:?}",
                batch.errors.first()
            );
            blank += batch.blank_lines;
            for event in &batch.events {
                let json = event.original().json.as_ref().unwrap();
                assert_eq!(event.format(), SourceFormat::WindowsFlat, "{name}");
                assert_eq!(event.fields().get_str("host.os.type"), Some("windows"));
                // The System header under winlog.*.
                let f = event.fields();
                assert_eq!(
                    f.get_u64("winlog.event_id"),
                    json["EventID"].as_u64(),
                    "{name}"
                );
                let raw_channel = json["Channel"].as_str().unwrap();
                let channel = f.get_str("winlog.channel").unwrap();
                assert_eq!(channel, canonical_channel(raw_channel));
                assert!(channel.eq_ignore_ascii_case(raw_channel));
                if raw_channel == "security" {
                    lower_case_security += 1;
                    assert_eq!(channel, "Security");
                    assert_eq!(event.dataset(), Some("windows.security"));
                }
                assert_eq!(
                    f.get("winlog.computer_name"),
                    Some(&json["Hostname"]),
                    "{name}"
                );
                assert_eq!(
                    f.get("winlog.provider_name"),
                    Some(&json["SourceName"]),
                    "{name}"
                );
                // Every event data field under winlog.event_data, as text.
                for (key, value) in json.as_object().unwrap() {
                    if NXLOG_METADATA.contains(&key.as_str()) {
                        continue;
                    }
                    let got = event
                        .ecs(&format!("winlog.event_data.{key}"))
                        .unwrap_or_else(|| panic!("{name}: {key} not in the event data"));
                    let want = match value {
                        Value::Null => {
                            assert_eq!(got, &Value::Null, "{name}: {key}");
                            continue;
                        }
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        other => panic!("{name}: {key} = {other}"),
                    };
                    assert!(
                        got.as_str().unwrap().eq_ignore_ascii_case(&want),
                        "{name}: {key}: {got} vs {want}"
                    );
                }
            }
            total += batch.events.len();
        }
    }
    assert_eq!(total, 29_885);
    assert_eq!(blank, 1, "schtask_modification has one empty line");
    assert!(lower_case_security > 1000, "{lower_case_security}");
}

#[test]
fn sigma_regression_events_in_the_evtx_layout_normalise() {
    let Some(dir) = corpus("sigma/regression") else {
        return;
    };
    let files = files_under(&dir, ".json");
    assert!(files.len() >= 100, "{}", files.len());
    let mut total = 0;
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let batch = normalise_json_stream(&bytes, &hint(Format::Auto));
        assert!(
            batch.errors.is_empty(),
            "{}: {:?}",
            path.display(),
            batch.errors.first()
        );
        assert!(!batch.events.is_empty(), "{}", path.display());
        for event in &batch.events {
            let system = &event.original().json.as_ref().unwrap()["Event"]["System"];
            assert_eq!(event.format(), SourceFormat::WindowsEvtx);
            let f = event.fields();
            assert_eq!(f.get("winlog.event_id"), Some(&system["EventID"]));
            assert_eq!(f.get("winlog.computer_name"), Some(&system["Computer"]));
            assert_eq!(
                f.get("winlog.provider_name"),
                Some(&system["Provider"]["#attributes"]["Name"])
            );
            assert_eq!(f.get("winlog.record_id"), Some(&system["EventRecordID"]));
            let data = &event.original().json.as_ref().unwrap()["Event"]["EventData"];
            for key in data.as_object().into_iter().flatten().map(|(k, _)| k) {
                if key != "#attributes" {
                    assert!(
                        event.ecs(&format!("winlog.event_data.{key}")).is_some(),
                        "{key}"
                    );
                }
            }
            assert!(event.timestamp().is_some());
            assert!(event.diagnostics().is_empty(), "{:?}", event.diagnostics());
        }
        total += batch.events.len();
    }
    assert!(total >= 150, "{total}");
}
