//! The built-in starter pack: every rule compiles with the built-in logsource
//! mapping without a diagnostic, and each fires on realistic events — raw
//! lines read by the real normaliser, written to and read from the bus
//! payload, matched by the stage's `evaluate` and correlated by its
//! `CorrelationState` — and not on the near misses (below the threshold,
//! outside the timespan, another source, another logon type).

use std::time::{Duration, SystemTime};

use nigehban_bus::{Delivery, Record};
use nigehban_detect::{CorrelationState, Detection, DetectionRules, evaluate, starter_pack};
use nigehban_ingest::{HealthChange, HealthChangeKind};
use nigehban_normalise::envelope::{EVENT_CONTENT_TYPE, encode_event, new_event_id};
use nigehban_normalise::{Format, normalise};
use nigehban_sigma::{CorrelationLimits, RuleSet};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::support::{compile, corpus, hint};

/// The starter pack compiled as the rule store will: every file must load
/// and compile without an error, an unsupported feature or a warning.
fn starter() -> DetectionRules {
    let pack = starter_pack();
    let texts: Vec<&str> = pack.iter().map(|s| s.text.as_str()).collect();
    compile(&texts)
}

/// A bus record as intake writes it: `line` normalised for tenant `t1`,
/// sensor `s1` (a Linux sensor), received at `received`.
fn record(line: &str, received: OffsetDateTime) -> Record {
    let mut hint = hint(Format::Auto);
    hint.received_at = received;
    hint.host_os_type = Some("linux".into());
    let event = normalise(line.as_bytes(), &hint).unwrap_or_else(|e| panic!("{e}: {line}"));
    Record {
        tenant_id: "t1".into(),
        sensor_id: "s1".into(),
        received_at: SystemTime::from(received),
        content_type: EVENT_CONTENT_TYPE.into(),
        payload: encode_event(new_event_id(), &event).unwrap(),
        id: None,
    }
}

/// Runs `records` through the stage's matching and correlation (no allowed
/// lateness: a window is decided once a later event arrives) and returns
/// the detections as (rule title, fold key).
fn detect(rules: &DetectionRules, records: Vec<Record>) -> Vec<(String, Option<String>)> {
    let deliveries: Vec<Delivery> = records
        .into_iter()
        .enumerate()
        .map(|(offset, record)| Delivery {
            offset: offset as u64,
            appended_at: record.received_at,
            delivery_count: 1,
            record,
        })
        .collect();
    let evaluated = evaluate(rules, &deliveries, 1);
    assert!(evaluated.rejected.is_empty(), "{:?}", evaluated.rejected);
    let mut state = CorrelationState::new(CorrelationLimits {
        allowed_lateness_ms: 0,
        ..CorrelationLimits::default()
    });
    let received = evaluated
        .latest_received
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let mut detections: Vec<Detection> = evaluated.detections;
    detections.extend(state.observe(rules, &evaluated.observations, received));
    detections
        .into_iter()
        .map(|d| (d.rule.title.clone(), d.fold_key.clone()))
        .collect()
}

const RECEIVED: OffsetDateTime = datetime!(2024-03-15 12:00 UTC);

/// An sshd line as rsyslog forwards it (RFC 3164), at `minute:second` after 08:00.
fn sshd(minute: u32, second: u32, message: &str) -> String {
    format!("<38>Mar 15 08:{minute:02}:{second:02} web01 sshd[4242]: {message}")
}

fn failed_password(user: &str, from: &str, port: u32) -> String {
    format!("Failed password for {user} from {from} port {port} ssh2")
}

/// A later failed logon from an unrelated address: moves event time on, so
/// the windows before it are decided (and it is a near miss itself).
fn later_ssh_failure() -> Record {
    record(
        &format!(
            "<38>Mar 15 11:00:00 web01 sshd[9]: {}",
            failed_password("oracle", "198.51.100.200", 1)
        ),
        RECEIVED,
    )
}

const SSH_BRUTE_FORCE: &str = "SSH Brute Force From One Address";
const SSH_SPRAYING: &str = "SSH Password Spraying From One Address";
const RDP_BRUTE_FORCE: &str = "RDP or Network Logon Brute Force From One Address";
const RDP_SPRAYING: &str = "RDP or Network Logon Password Spraying From One Address";

fn titled(detections: &[(String, Option<String>)], title: &str) -> Vec<Option<String>> {
    detections
        .iter()
        .filter(|(t, _)| t == title)
        .map(|(_, key)| key.clone())
        .collect()
}

#[test]
fn every_starter_rule_is_ours_and_compiles_with_the_builtin_mapping() {
    let pack = starter_pack();
    assert_eq!(pack.len(), 10);
    let mut set = RuleSet::new();
    for source in &pack {
        assert!(
            source.origin.starts_with("builtin:starter/"),
            "{}",
            source.origin
        );
        set.add_str(&source.text, &source.origin);
    }
    assert!(set.diagnostics().is_empty(), "{:?}", set.diagnostics());
    let rules = starter();
    assert_eq!(rules.len(), 6, "detection rules");
    assert_eq!(rules.correlations().len(), 4, "correlation rules");
    let mut ids = Vec::new();
    for summary in rules
        .summaries()
        .iter()
        .chain(rules.correlation_summaries())
    {
        assert_eq!(summary.author, "Nigehban", "{}", summary.title);
        assert!(uuid::Uuid::parse_str(&summary.id).is_ok(), "{}", summary.id);
        assert!(!summary.references.is_empty(), "{}", summary.title);
        ids.push(summary.id.clone());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 10, "ids are unique");
    let techniques = |title: &str| {
        rules
            .correlation_summaries()
            .iter()
            .find(|s| s.title == title)
            .map(|s| s.techniques.clone())
            .unwrap_or_default()
    };
    assert_eq!(techniques(SSH_BRUTE_FORCE), ["T1110.001"]);
    assert_eq!(techniques(SSH_SPRAYING), ["T1110.003"]);
    assert_eq!(techniques(RDP_BRUTE_FORCE), ["T1110.001"]);
    assert_eq!(techniques(RDP_SPRAYING), ["T1110.003"]);
}

#[test]
fn suricata_alerts_raise_at_the_level_of_their_severity() {
    let Some(corpus) = corpus() else { return };
    let eve =
        std::fs::read_to_string(corpus.join("events/suricata-eve/surevego/eve.json")).unwrap();
    let alert = eve
        .lines()
        .find(|l| l.contains(r#""event_type":"alert""#) && l.contains(r#""severity":3"#))
        .expect("the corpus holds a Suricata alert of severity 3");
    let not_alert = eve
        .lines()
        .find(|l| l.contains(r#""event_type":"http""#))
        .expect("and an HTTP event");
    let rules = starter();
    let level_of = |line: &str| -> Vec<(String, String)> {
        let records = vec![record(line, RECEIVED)];
        let deliveries: Vec<Delivery> = records
            .into_iter()
            .map(|record| Delivery {
                offset: 0,
                appended_at: record.received_at,
                delivery_count: 1,
                record,
            })
            .collect();
        evaluate(&rules, &deliveries, 1)
            .detections
            .iter()
            .map(|d| (d.rule.title.clone(), d.rule.level.clone()))
            .collect()
    };
    let with = |severity: &str| alert.replace(r#""severity":3"#, severity);
    assert_eq!(
        level_of(alert),
        [("Suricata Alert of Severity 3".to_owned(), "low".to_owned())]
    );
    assert_eq!(
        level_of(&with(r#""severity":2"#)),
        [(
            "Suricata Alert of Severity 2".to_owned(),
            "medium".to_owned()
        )]
    );
    assert_eq!(
        level_of(&with(r#""severity":1"#)),
        [("Suricata Alert of Severity 1".to_owned(), "high".to_owned())]
    );
    assert!(level_of(&with(r#""severity":4"#)).is_empty());
    assert!(level_of(not_alert).is_empty());
}

#[test]
fn ssh_brute_force_fires_at_ten_failures_from_one_address_within_five_minutes() {
    let rules = starter();
    // Ten failures from one address within 4.5 minutes (among accepted
    // logons, which do not count), for one and the same user.
    let mut records: Vec<Record> = (0..10)
        .map(|i| {
            record(
                &sshd(
                    i * 30 / 60,
                    i * 30 % 60,
                    &failed_password("root", "203.0.113.77", 40000 + i),
                ),
                RECEIVED,
            )
        })
        .collect();
    records.push(record(
        &sshd(
            2,
            1,
            "Accepted publickey for deploy from 203.0.113.77 port 1 ssh2",
        ),
        RECEIVED,
    ));
    records.push(later_ssh_failure());
    let found = detect(&rules, records);
    assert_eq!(
        found,
        [(SSH_BRUTE_FORCE.to_owned(), Some("203.0.113.77".to_owned()))]
    );

    // Near misses: nine failures; ten, but over six minutes; ten, split
    // between two addresses; ten accepted logons.
    let nine = (0..9)
        .map(|i| {
            record(
                &sshd(i / 2, 0, &failed_password("root", "203.0.113.77", i)),
                RECEIVED,
            )
        })
        .chain([later_ssh_failure()])
        .collect();
    assert!(detect(&rules, nine).is_empty());
    let slow = (0..10)
        .map(|i| {
            record(
                &sshd(
                    i * 40 / 60,
                    i * 40 % 60,
                    &failed_password("root", "203.0.113.77", i),
                ),
                RECEIVED,
            )
        })
        .chain([later_ssh_failure()])
        .collect();
    assert!(
        detect(&rules, slow).is_empty(),
        "ten failures over six minutes"
    );
    let split = (0..10)
        .map(|i| {
            let from = if i % 2 == 0 {
                "203.0.113.77"
            } else {
                "203.0.113.78"
            };
            record(&sshd(0, i * 5, &failed_password("root", from, i)), RECEIVED)
        })
        .chain([later_ssh_failure()])
        .collect();
    assert!(
        detect(&rules, split).is_empty(),
        "five from each of two addresses"
    );
    let accepted = (0..10)
        .map(|i| {
            record(
                &sshd(
                    0,
                    i,
                    &format!("Accepted password for root from 203.0.113.77 port {i} ssh2"),
                ),
                RECEIVED,
            )
        })
        .chain([later_ssh_failure()])
        .collect();
    assert!(detect(&rules, accepted).is_empty());
}

#[test]
fn ssh_password_spraying_fires_at_ten_user_names_from_one_address_within_an_hour() {
    let rules = starter();
    // One attempt every four minutes (no brute force), each for another
    // user; the first as an invalid user, as sshd writes it.
    let users = [
        "admin", "oracle", "postgres", "ubuntu", "test", "git", "deploy", "backup", "www", "ftp",
    ];
    let spray = |users: &[&str]| -> Vec<Record> {
        users
            .iter()
            .enumerate()
            .map(|(i, user)| {
                let i = i as u32;
                let message = format!(
                    "Failed password for invalid user {user} from 192.0.2.66 port {} ssh2",
                    50000 + i
                );
                record(&sshd(i * 4, 0, &message), RECEIVED)
            })
            .chain([later_ssh_failure()])
            .collect()
    };
    let found = detect(&rules, spray(&users));
    assert_eq!(
        found,
        [(SSH_SPRAYING.to_owned(), Some("192.0.2.66".to_owned()))]
    );
    // Nine distinct names, the ninth tried twice: ten attempts, no spraying.
    let mut nine = users[..9].to_vec();
    nine.push(users[8]);
    assert!(detect(&rules, spray(&nine)).is_empty());
}

/// A Windows Security 4625 (a failed logon) as the `evtx` crate renders it.
fn failed_windows_logon(
    record_id: u64,
    at: OffsetDateTime,
    user: &str,
    ip: &str,
    logon_type: u32,
) -> Record {
    let time = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let line = serde_json::json!({"Event": {
        "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
        "System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing",
                                         "Guid": "54849625-5478-4994-A5BA-3E3B0328C30D"}},
            "EventID": 4625, "Version": 0, "Level": 0, "Task": 12544, "Opcode": 0,
            "Keywords": "0x8010000000000000",
            "TimeCreated": {"#attributes": {"SystemTime": time}},
            "EventRecordID": record_id, "Channel": "Security", "Computer": "rds01.example.org",
            "Execution": {"#attributes": {"ProcessID": 636, "ThreadID": 4520}},
            "Security": null},
        "EventData": {
            "SubjectUserSid": "S-1-0-0", "SubjectUserName": "-", "SubjectDomainName": "-",
            "SubjectLogonId": "0x0", "TargetUserSid": "S-1-0-0", "TargetUserName": user,
            "TargetDomainName": "EXAMPLE", "Status": "0xc000006d", "FailureReason": "%%2313",
            "SubStatus": "0xc000006a", "LogonType": logon_type, "LogonProcessName": "NtLmSsp ",
            "AuthenticationPackageName": "NTLM", "WorkstationName": "KALI",
            "TransmittedServices": "-", "LmPackageName": "-", "KeyLength": 0,
            "ProcessId": "0x0", "ProcessName": "-", "IpAddress": ip, "IpPort": "0"}}});
    record(&line.to_string(), RECEIVED)
}

#[test]
fn rdp_and_network_logon_brute_force_and_spraying_fire_from_one_address() {
    let rules = starter();
    let start = datetime!(2024-03-15 09:00 UTC);
    let later = || {
        failed_windows_logon(
            999,
            datetime!(2024-03-15 11:30 UTC),
            "guest",
            "198.51.100.200",
            3,
        )
    };
    // Ten failures over RDP against one account within 2.5 minutes.
    let burst: Vec<Record> = (0..10)
        .map(|i| {
            failed_windows_logon(
                i,
                start + Duration::from_secs(i * 15),
                "administrator",
                "203.0.113.5",
                10,
            )
        })
        .chain([later()])
        .collect();
    assert_eq!(
        detect(&rules, burst),
        [(RDP_BRUTE_FORCE.to_owned(), Some("203.0.113.5".to_owned()))]
    );
    // The same over the network (type 3: RDP with NLA, SMB).
    let network: Vec<Record> = (0..10)
        .map(|i| {
            failed_windows_logon(
                i,
                start + Duration::from_secs(i * 15),
                "administrator",
                "203.0.113.5",
                3,
            )
        })
        .chain([later()])
        .collect();
    assert_eq!(titled(&detect(&rules, network), RDP_BRUTE_FORCE).len(), 1);
    // Spraying: one attempt every five minutes, each for another account.
    let spray: Vec<Record> = (0..10)
        .map(|i| {
            failed_windows_logon(
                i,
                start + Duration::from_secs(i * 300),
                &format!("user{i}"),
                "203.0.113.9",
                3,
            )
        })
        .chain([later()])
        .collect();
    assert_eq!(
        detect(&rules, spray),
        [(RDP_SPRAYING.to_owned(), Some("203.0.113.9".to_owned()))]
    );

    // Near misses: interactive logons at the console (type 2), failures
    // without an address or from the machine itself, nine failures.
    let console: Vec<Record> = (0..12)
        .map(|i| {
            failed_windows_logon(
                i,
                start + Duration::from_secs(i),
                "administrator",
                "203.0.113.5",
                2,
            )
        })
        .chain([later()])
        .collect();
    assert!(detect(&rules, console).is_empty());
    let local: Vec<Record> = (0..12)
        .map(|i| {
            let ip = ["-", "127.0.0.1", "::1"][i as usize % 3];
            failed_windows_logon(i, start + Duration::from_secs(i), "administrator", ip, 10)
        })
        .chain([later()])
        .collect();
    assert!(detect(&rules, local).is_empty());
    let nine: Vec<Record> = (0..9)
        .map(|i| {
            failed_windows_logon(
                i,
                start + Duration::from_secs(i),
                &format!("user{i}"),
                "203.0.113.5",
                10,
            )
        })
        .chain([later()])
        .collect();
    assert!(detect(&rules, nine).is_empty());
}

#[test]
fn a_silent_sensor_raises_sensor_silent_and_its_recovery_raises_nothing() {
    let rules = starter();
    let since = SystemTime::from(datetime!(2024-03-15 11:00 UTC));
    let at = since + Duration::from_secs(400);
    let silent = HealthChange {
        tenant_id: "t1".into(),
        sensor_id: "0190f3a2-7c4e-7d51-9a0b-3c2d1e0f4a5b".into(),
        at,
        kind: HealthChangeKind::Silent {
            since,
            expected_interval: Duration::from_secs(300),
        },
    };
    let record = silent.to_record().unwrap();
    assert_eq!(record.tenant_id, "t1");
    assert_eq!(record.sensor_id, silent.sensor_id);
    assert_eq!(
        silent.to_record().unwrap().id,
        record.id,
        "the same change is the same event"
    );
    let deliveries = [Delivery {
        offset: 0,
        appended_at: at,
        delivery_count: 1,
        record,
    }];
    let evaluated = evaluate(&rules, &deliveries, 1);
    assert_eq!(evaluated.detections.len(), 1, "{:?}", evaluated.detections);
    let alert = &evaluated.detections[0];
    assert_eq!(alert.rule.title, "Sensor Silent");
    assert_eq!(alert.rule.level, "medium");
    assert_eq!(alert.sensor_id, silent.sensor_id);
    assert_eq!(alert.host.as_deref(), Some(silent.sensor_id.as_str()));
    assert_eq!(alert.event_time, Some(OffsetDateTime::from(at)));

    let recovered = HealthChange {
        at: at + Duration::from_secs(60),
        kind: HealthChangeKind::Recovered {
            silent_since: since,
        },
        ..silent
    };
    let deliveries = [Delivery {
        offset: 1,
        appended_at: recovered.at,
        delivery_count: 1,
        record: recovered.to_record().unwrap(),
    }];
    let evaluated = evaluate(&rules, &deliveries, 1);
    assert_eq!(evaluated.events, 1);
    assert!(evaluated.detections.is_empty());
}
