//! `events/syslog-cef/`: the RFC 5424 and RFC 3164 examples, Vector's syslog
//! and CEF examples, and liblognorm's CEF vectors, field by field.

use nigehban_normalise::{
    CefMode, CefRecord, Format, SourceFormat, SyslogFlavour, SyslogMessage, SyslogParser, find_cef,
    normalise, parse_cef,
};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::support::{corpus, hint, received_at};

/// What RFC 5424 section 6.5 and RFC 3164 section 5.4 say each example holds.
/// The corpus file gives only the messages; these values are read from the
/// RFCs' prose, with the lenient reading of the RFC 3164 variants this crate
/// documents (years nearest to the receive time, 2024-03-15).
struct Expected {
    flavour: SyslogFlavour,
    priority: Option<u8>,
    timestamp: Option<OffsetDateTime>,
    timezone: Option<&'static str>,
    hostname: Option<&'static str>,
    appname: Option<&'static str>,
    procid: Option<&'static str>,
    msgid: Option<&'static str>,
    structured_data: Vec<(&'static str, Vec<(&'static str, &'static str)>)>,
    message: &'static str,
    bom: bool,
    lenient: bool,
}

fn expected(name: &str) -> Expected {
    use SyslogFlavour::{Rfc3164, Rfc5424};
    let base = Expected {
        flavour: Rfc5424,
        priority: None,
        timestamp: None,
        timezone: None,
        hostname: None,
        appname: None,
        procid: None,
        msgid: None,
        structured_data: Vec::new(),
        message: "",
        bom: false,
        lenient: false,
    };
    let example_sd = vec![(
        "exampleSDID@32473",
        vec![
            ("iut", "3"),
            ("eventSource", "Application"),
            ("eventID", "1011"),
        ],
    )];
    let folks =
        "1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!";
    match name {
        "RFC5424 6.5 Example 1" => Expected {
            priority: Some(34),
            timestamp: Some(datetime!(2003-10-11 22:14:15.003 UTC)),
            hostname: Some("mymachine.example.com"),
            appname: Some("su"),
            msgid: Some("ID47"),
            message: "'su root' failed for lonvick on /dev/pts/8",
            bom: true,
            ..base
        },
        "RFC5424 6.5 Example 2" => Expected {
            priority: Some(165),
            timestamp: Some(datetime!(2003-08-24 05:14:15.000003 -7)),
            hostname: Some("192.0.2.1"),
            appname: Some("myproc"),
            procid: Some("8710"),
            message: "%% It's time to make the do-nuts.",
            ..base
        },
        "RFC5424 6.5 Example 3" => Expected {
            priority: Some(165),
            timestamp: Some(datetime!(2003-10-11 22:14:15.003 UTC)),
            hostname: Some("mymachine.example.com"),
            appname: Some("evntslog"),
            msgid: Some("ID47"),
            structured_data: example_sd,
            message: "An application event log entry...",
            bom: true,
            ..base
        },
        "RFC5424 6.5 Example 4" => Expected {
            priority: Some(165),
            timestamp: Some(datetime!(2003-10-11 22:14:15.003 UTC)),
            hostname: Some("mymachine.example.com"),
            appname: Some("evntslog"),
            msgid: Some("ID47"),
            structured_data: {
                let mut sd = example_sd;
                sd.push(("examplePriority@32473", vec![("class", "high")]));
                sd
            },
            ..base
        },
        "RFC3164 5.4 Example 1" => Expected {
            flavour: Rfc3164,
            priority: Some(34),
            timestamp: Some(datetime!(2023-10-11 22:14:15 UTC)),
            hostname: Some("mymachine"),
            appname: Some("su"),
            message: "'su root' failed for lonvick on /dev/pts/8",
            ..base
        },
        "RFC3164 5.4 Example 2 (as received, no PRI)" => Expected {
            flavour: Rfc3164,
            message: "Use the BFG!",
            lenient: true,
            ..base
        },
        "RFC3164 5.4 Example 2 (after relay)" => Expected {
            flavour: Rfc3164,
            priority: Some(13),
            timestamp: Some(datetime!(2024-02-05 17:32:18 UTC)),
            hostname: Some("10.0.0.99"),
            message: "Use the BFG!",
            ..base
        },
        "RFC3164 5.4 Example 3" => Expected {
            flavour: Rfc3164,
            priority: Some(165),
            timestamp: Some(datetime!(1987-08-24 05:34:00 UTC)),
            timezone: Some("CST"),
            hostname: Some("mymachine"),
            appname: Some("myproc"),
            procid: Some("10"),
            message: "%% It's time to make the do-nuts.  %%  Ingredients: Mix=OK, Jelly=OK # Devices: Mixer=OK, Jelly_Injector=OK, Frier=OK # Transport: Conveyer1=OK, Conveyer2=OK # %%",
            ..base
        },
        // RFC 3164: the TIMESTAMP is invalid, so a relay treats the whole
        // text after the PRI as the message.
        "RFC3164 5.4 Example 4 (invalid TIMESTAMP)" => Expected {
            flavour: Rfc3164,
            priority: Some(0),
            message: folks,
            lenient: true,
            ..base
        },
        "RFC3164 5.4 Example 5 (Example 4 after relay)" => Expected {
            flavour: Rfc3164,
            priority: Some(0),
            timestamp: Some(datetime!(2023-10-22 10:52:12 UTC)),
            hostname: Some("scapegoat"),
            message: folks,
            ..base
        },
        other => panic!("no expectation written for corpus example {other:?}"),
    }
}

fn check(name: &str, parsed: &SyslogMessage, want: &Expected) {
    assert_eq!(parsed.flavour, want.flavour, "{name}: flavour");
    assert_eq!(parsed.priority, want.priority, "{name}: PRI");
    assert_eq!(parsed.timestamp, want.timestamp, "{name}: TIMESTAMP");
    if let (Some(got), Some(want)) = (parsed.timestamp, want.timestamp) {
        assert_eq!(got.offset(), want.offset(), "{name}: TIMESTAMP offset");
    }
    assert_eq!(parsed.timezone.as_deref(), want.timezone, "{name}: zone");
    assert_eq!(
        parsed.hostname.as_deref(),
        want.hostname,
        "{name}: HOSTNAME"
    );
    assert_eq!(parsed.appname.as_deref(), want.appname, "{name}: APP-NAME");
    assert_eq!(parsed.procid.as_deref(), want.procid, "{name}: PROCID");
    assert_eq!(parsed.msgid.as_deref(), want.msgid, "{name}: MSGID");
    let sd: Vec<(&str, Vec<(&str, &str)>)> = parsed
        .structured_data
        .iter()
        .map(|e| {
            (
                e.id.as_str(),
                e.params
                    .iter()
                    .map(|p| (p.name.as_str(), p.value.as_str()))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(sd, want.structured_data, "{name}: STRUCTURED-DATA");
    assert_eq!(parsed.message, want.message, "{name}: MSG");
    assert_eq!(parsed.bom, want.bom, "{name}: BOM");
    assert_eq!(
        !parsed.diagnostics.is_empty(),
        want.lenient,
        "{name}: diagnostics {:?}",
        parsed.diagnostics
    );
}

#[test]
fn rfc_syslog_examples_parse_field_by_field() {
    let Some(path) = corpus("events/syslog-cef/rfc-examples/rfc-syslog-examples.jsonl") else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let parser = SyslogParser::new(received_at());
    let mut seen = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let example: Value = serde_json::from_str(line).unwrap();
        let name = example["name"].as_str().unwrap();
        let message = example["message"].as_str().unwrap();
        let want = expected(name);
        let parsed = parser.parse(message.as_bytes()).unwrap();
        check(name, &parsed, &want);
        if want.flavour == SyslogFlavour::Rfc5424 {
            // The RFC's own examples follow the RFC to the letter.
            let strict = parser.strict().parse(message.as_bytes()).unwrap();
            check(name, &strict, &want);
            // And a relay writes them back unchanged.
            assert_eq!(parsed.to_rfc5424(), message, "{name}: re-rendered");
        }
        // The same through the normaliser, as ECS fields.
        let event = normalise(message.as_bytes(), &hint(Format::Syslog)).unwrap();
        let fields = event.fields();
        let priority = u64::from(want.priority.unwrap_or(13));
        assert_eq!(
            fields.get_u64("log.syslog.priority"),
            Some(priority),
            "{name}"
        );
        assert_eq!(
            fields.get_u64("log.syslog.facility.code"),
            Some(priority >> 3),
            "{name}"
        );
        assert_eq!(
            fields.get_u64("log.syslog.severity.code"),
            Some(priority & 7),
            "{name}"
        );
        assert_eq!(
            fields.get_str("log.syslog.hostname"),
            want.hostname,
            "{name}"
        );
        assert_eq!(fields.get_str("log.syslog.appname"), want.appname, "{name}");
        assert_eq!(fields.get_str("log.syslog.msgid"), want.msgid, "{name}");
        let message_field = (!want.message.is_empty()).then_some(want.message);
        assert_eq!(fields.get_str("message"), message_field, "{name}");
        assert_eq!(
            event.timestamp(),
            Some(want.timestamp.unwrap_or(received_at())),
            "{name}"
        );
        assert_eq!(event.original().text.as_deref(), Some(message), "{name}");
        assert_eq!(event.dataset(), Some("syslog"), "{name}");
        seen += 1;
    }
    assert_eq!(seen, 10, "the corpus holds 10 examples");

    // Spot checks of the names and structured data as ECS fields.
    let example: Value = serde_json::from_str(text.lines().nth(3).unwrap()).unwrap();
    let event = normalise(
        example["message"].as_str().unwrap().as_bytes(),
        &hint(Format::Auto),
    )
    .unwrap();
    assert_eq!(event.format(), SourceFormat::Syslog5424);
    assert_eq!(
        event.ecs("log.syslog.structured_data"),
        Some(&json!({
            "exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"},
            "examplePriority@32473": {"class": "high"}
        }))
    );
    assert_eq!(
        event.ecs("log.syslog.structured_data.examplePriority@32473.class"),
        Some(&json!("high"))
    );
    assert_eq!(
        event.fields().get_str("log.syslog.facility.name"),
        Some("local4")
    );
    assert_eq!(
        event.fields().get_str("log.syslog.severity.name"),
        Some("notice")
    );
}

/// The string argument of a VRL call in Vector's docs: `"..."` (with
/// escapes) or `s'...'` (raw).
fn vrl_string_argument(source: &str) -> String {
    let open = source.find('(').unwrap() + 1;
    let rest = source[open..].trim_start();
    if let Some(raw) = rest.strip_prefix("s'") {
        return raw[..raw.find('\'').unwrap()].to_string();
    }
    let body = rest.strip_prefix('"').unwrap();
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return out,
            '\\' => match chars.next().unwrap() {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    panic!("unterminated string in {source}")
}

fn vrl_examples(relative: &str) -> Option<Vec<Value>> {
    let path = corpus(relative)?;
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    Some(doc["examples"].as_array().unwrap().clone())
}

#[test]
fn vector_parse_syslog_example_parses_field_by_field() {
    let Some(examples) = vrl_examples("events/syslog-cef/vrl-docs/parse_syslog.json") else {
        return;
    };
    assert_eq!(examples.len(), 1);
    for example in examples {
        let input = vrl_string_argument(example["source"].as_str().unwrap());
        let event = normalise(input.as_bytes(), &hint(Format::Syslog)).unwrap();
        let fields = event.fields();
        let expected = example["return"].as_object().unwrap();
        for (key, want) in expected {
            match key.as_str() {
                "appname" => assert_eq!(fields.get("log.syslog.appname"), Some(want)),
                "facility" => assert_eq!(fields.get("log.syslog.facility.name"), Some(want)),
                "severity" => assert_eq!(fields.get("log.syslog.severity.name"), Some(want)),
                "hostname" => assert_eq!(fields.get("log.syslog.hostname"), Some(want)),
                "message" => assert_eq!(fields.get("message"), Some(want)),
                "msgid" => assert_eq!(fields.get("log.syslog.msgid"), Some(want)),
                "procid" => {
                    assert_eq!(fields.get("process.pid"), Some(want));
                    assert_eq!(
                        fields.get_str("log.syslog.procid"),
                        Some(want.to_string().as_str())
                    );
                }
                "timestamp" => assert_eq!(
                    event.timestamp(),
                    Some(datetime!(2020-03-13 20:45:38.119 UTC))
                ),
                "version" => assert_eq!(fields.get("log.syslog.version"), Some(want)),
                // Vector puts each SD-ELEMENT at the top level.
                sd_id if sd_id.contains('@') => assert_eq!(
                    fields.get(&format!("log.syslog.structured_data.{sd_id}")),
                    Some(want),
                    "{sd_id}"
                ),
                other => panic!("unexpected key {other:?} in Vector's example"),
            }
        }
        // Vector writes `eventSource= "Application"` (a space after `=`),
        // which strict RFC 5424 rejects and the lenient parser takes.
        let strict = SyslogParser::new(received_at()).strict();
        assert!(strict.parse(input.as_bytes()).is_err());
    }
}

/// A parsed record in the shape of Vector's `parse_cef` output.
fn vector_shape(record: &CefRecord, translate: bool) -> Value {
    let mut out = Map::new();
    out.insert("cefVersion".into(), json!(record.version.to_string()));
    out.insert("deviceVendor".into(), json!(record.device_vendor));
    out.insert("deviceProduct".into(), json!(record.device_product));
    out.insert("deviceVersion".into(), json!(record.device_version));
    out.insert(
        "deviceEventClassId".into(),
        json!(record.device_event_class_id),
    );
    out.insert("name".into(), json!(record.name));
    out.insert("severity".into(), json!(record.severity));
    let extensions = if translate {
        record.translated_extensions()
    } else {
        record.extensions.clone()
    };
    for (key, value) in extensions {
        out.insert(key, json!(value));
    }
    Value::Object(out)
}

#[test]
fn vector_parse_cef_examples_parse_field_by_field() {
    let Some(examples) = vrl_examples("events/syslog-cef/vrl-docs/parse_cef.json") else {
        return;
    };
    assert_eq!(examples.len(), 7);
    for example in examples {
        let title = example["title"].as_str().unwrap();
        let source = example["source"].as_str().unwrap();
        let input = vrl_string_argument(source);
        let translate = source.contains("translate_custom_fields: true");
        let mode = if source.contains("strict: false") {
            CefMode::Lenient
        } else {
            CefMode::Strict
        };
        // Vector ignores everything up to the CEF header.
        let start = find_cef(&input).unwrap_or_else(|| panic!("{title}: no CEF header"));
        let record = parse_cef(&input[start..], mode).unwrap_or_else(|e| panic!("{title}: {e}"));
        assert_eq!(
            vector_shape(&record, translate),
            example["return"],
            "{title}"
        );

        // Through the normaliser, declared CEF: the same fields under cef.*.
        let mut declared = hint(Format::Cef);
        declared.cef_mode = mode;
        let event =
            normalise(input.as_bytes(), &declared).unwrap_or_else(|e| panic!("{title}: {e}"));
        assert_eq!(event.format(), SourceFormat::Cef, "{title}");
        assert_eq!(event.dataset(), Some("cef"), "{title}");
        let fields = event.fields();
        assert_eq!(
            fields.get_str("cef.device.vendor"),
            Some(record.device_vendor.as_str())
        );
        assert_eq!(
            fields.get_str("cef.severity"),
            Some(record.severity.as_str())
        );
        for (key, value) in &record.extensions {
            assert_eq!(
                fields.get_str(&format!("cef.extensions.{key}")),
                Some(value.as_str()),
                "{title}: {key}"
            );
        }
        if start > 0 {
            // The syslog header in front of the CEF record is read too.
            assert_eq!(fields.get_str("host.name"), Some("host"), "{title}");
        }
    }
}

#[test]
fn vector_strict_mode_rejects_what_lenient_mode_takes() {
    let Some(examples) = vrl_examples("events/syslog-cef/vrl-docs/parse_cef.json") else {
        return;
    };
    let lenient_example = examples
        .iter()
        .find(|e| e["source"].as_str().unwrap().contains("strict: false"))
        .unwrap();
    let input = vrl_string_argument(lenient_example["source"].as_str().unwrap());
    let error = parse_cef(&input, CefMode::Strict).unwrap_err();
    assert!(error.to_string().contains("request"), "{error}");
    // Declared CEF in strict mode: an error, not a half-parsed event.
    assert!(normalise(input.as_bytes(), &hint(Format::Cef)).is_err());
}

/// liblognorm's expectation: the parsed record, or `None` for "unparsed".
fn liblognorm_expectation(expected: &Value) -> Option<Value> {
    let f = expected.get("f")?;
    let mut out = Map::new();
    for (from, to) in [
        ("DeviceVendor", "deviceVendor"),
        ("DeviceProduct", "deviceProduct"),
        ("DeviceVersion", "deviceVersion"),
        ("SignatureID", "deviceEventClassId"),
        ("Name", "name"),
        ("Severity", "severity"),
    ] {
        out.insert(to.into(), f[from].clone());
    }
    for (key, value) in f["Extensions"].as_object().unwrap() {
        out.insert(key.clone(), value.clone());
    }
    Some(Value::Object(out))
}

fn liblognorm_shape(record: &CefRecord) -> Value {
    let mut shape = vector_shape(record, false);
    shape.as_object_mut().unwrap().remove("cefVersion");
    shape
}

#[test]
fn liblognorm_cef_vectors_parse_or_are_rejected_as_expected() {
    let Some(path) = corpus("events/syslog-cef/liblognorm-cef/field_cef_vectors.jsonl") else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let vectors: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(vectors.len(), 23);
    let (mut parsed, mut rejected, mut deviations) = (0, 0, 0);
    for (index, vector) in vectors.iter().enumerate() {
        let input = vector["input"].as_str().unwrap();
        let expected: Value =
            serde_json::from_str(vector["expected_json_text"].as_str().unwrap()).unwrap();
        let result = parse_cef(input, CefMode::Strict);
        let v1_engine = !vector["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "version=2");
        match liblognorm_expectation(&expected) {
            Some(want) => {
                let record = result.unwrap_or_else(|e| panic!("vector {index} ({input:?}): {e}"));
                assert_eq!(liblognorm_shape(&record), want, "vector {index}");
                assert_eq!(record.version, 0, "vector {index}");
                parsed += 1;
            }
            None if input.starts_with("CEF:1|") => {
                // Deliberate deviation: liblognorm rejects version 1, which
                // the CEF specification defines (and Vector reads). The
                // record must parse exactly as its CEF:0 twin is expected to.
                let twin = format!("CEF:0|{}", &input["CEF:1|".len()..]);
                let twin_vector = vectors
                    .iter()
                    .find(|v| v["input"] == twin.as_str())
                    .unwrap();
                let twin_expected: Value =
                    serde_json::from_str(twin_vector["expected_json_text"].as_str().unwrap())
                        .unwrap();
                let record = result.unwrap();
                assert_eq!(record.version, 1);
                assert_eq!(
                    liblognorm_shape(&record),
                    liblognorm_expectation(&twin_expected).unwrap(),
                    "vector {index}"
                );
                deviations += 1;
            }
            None if v1_engine && input.trim_end() != input => {
                // Deliberate deviation: liblognorm's legacy v1 engine rejects
                // trailing spaces after the header that its v2 engine (the
                // vectors with "version=2") accepts as an empty extension.
                let record = result.unwrap();
                assert!(record.extensions.is_empty(), "vector {index}");
                deviations += 1;
            }
            None => {
                let error =
                    result.expect_err(&format!("vector {index} must be rejected: {input:?}"));
                // Rejected whole, with an offset inside the record.
                assert!(error.offset <= input.len(), "vector {index}: {error}");
                // And a record declared CEF is an error, not a half-parsed event.
                assert!(
                    normalise(input.as_bytes(), &hint(Format::Cef)).is_err(),
                    "vector {index}"
                );
                rejected += 1;
            }
        }
    }
    assert_eq!((parsed, rejected, deviations), (13, 7, 3));
}

#[test]
fn cef_inside_syslog_and_invalid_cef_inside_syslog() {
    let line = "<134>1 2024-03-15T10:00:00Z fw1 cefd - - - CEF:0|Acme|Gate|2.1|100|Blocked|7|src=10.0.0.1 spt=5555 dst=192.0.2.9 dpt=443 proto=TCP act=blocked suser=alice msg=Denied by policy rule 12";
    let event = normalise(line.as_bytes(), &hint(Format::Auto)).unwrap();
    assert_eq!(event.format(), SourceFormat::Cef);
    let f = event.fields();
    assert_eq!(f.get_str("event.module"), Some("cef"));
    assert_eq!(f.get_str("log.syslog.hostname"), Some("fw1"));
    assert_eq!(f.get_str("observer.vendor"), Some("Acme"));
    assert_eq!(f.get_str("source.ip"), Some("10.0.0.1"));
    assert_eq!(f.get_u64("destination.port"), Some(443));
    assert_eq!(f.get_str("network.transport"), Some("tcp"));
    assert_eq!(f.get_str("event.action"), Some("blocked"));
    assert_eq!(f.get_str("user.name"), Some("alice"));
    assert_eq!(f.get_str("message"), Some("Denied by policy rule 12"));
    assert_eq!(f.get_u64("event.severity"), Some(7));
    assert_eq!(f.get("cef.extensions.dpt"), Some(&json!("443")));

    // Invalid CEF inside syslog: the syslog event is kept, CEF is not half-read.
    let broken = "<134>Mar 15 10:00:00 fw1 CEF:0|Acme|Gate|2.1|100|Blocked|7|src=10.0.0.1 n,me=x";
    let event = normalise(broken.as_bytes(), &hint(Format::Auto)).unwrap();
    assert_eq!(event.format(), SourceFormat::Syslog3164);
    assert!(
        event
            .fields()
            .iter()
            .all(|(name, _)| !name.starts_with("cef."))
    );
    assert!(!event.fields().contains("source.ip"));
    assert!(event.diagnostics().iter().any(|d| d.contains("CEF")));
    assert_eq!(
        event.fields().get_str("message"),
        Some("CEF:0|Acme|Gate|2.1|100|Blocked|7|src=10.0.0.1 n,me=x")
    );
    // Declared CEF, the same record is an error naming the key and offset.
    let error = normalise(broken.as_bytes(), &hint(Format::Cef)).unwrap_err();
    assert!(error.to_string().contains("n,me"), "{error}");
}
