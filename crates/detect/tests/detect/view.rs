//! The one Sigma view of an event, on real records of every layout: the
//! same Windows event written by different tools is seen alike, names with
//! spaces are found without them, Zeek's two key styles agree, and syslog
//! and CEF reach rules through their normalised fields.

use std::collections::BTreeSet;

use nigehban_detect::{JsonTape, Layout, SigmaView, read_record};
use nigehban_normalise::{Format, SourceFormat, detect_json_format, normalise_value};
use nigehban_sigma::Event;
use serde_json::{Map, Value, json};
use time::UtcOffset;

use crate::support::{
    compile, corpus, fired, hint, keyword_values, live_event, values_of, with_live_view,
    with_record_view,
};

fn twin_fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../normalise/tests/fixtures/windows-twins/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The System fields both writers keep (NXLog does not forward `Level`, and
/// writes `EventTime` to the second).
const SYSTEM_NAMES: &[&str] = &[
    "EventID",
    "Channel",
    "Computer",
    "Provider_Name",
    "Provider_Guid",
    "EventRecordID",
    "Task",
    "Opcode",
    "Version",
    "Keywords",
    "Execution_ProcessID",
    "Execution_ThreadID",
    "Correlation_ActivityID",
    "Security_UserID",
];

/// Every Sigma name of the event and its values, through `view`.
fn sigma_fields(view: &SigmaView<'_>, names: &[String]) -> Vec<(String, Vec<String>)> {
    names
        .iter()
        .map(|name| (name.clone(), values_of(view, name)))
        .collect()
}

fn assert_twins(name: &str) {
    let evtx_text = twin_fixture(&format!("{name}.evtx.json"));
    let nxlog_text = twin_fixture(&format!("{name}.nxlog.json"));
    let evtx = live_event(&evtx_text, &hint(Format::Auto));
    let mut nxlog_hint = hint(Format::Auto);
    nxlog_hint.utc_offset = Some(UtcOffset::from_hms(-4, 0, 0).unwrap());
    let nxlog = live_event(&nxlog_text, &nxlog_hint);
    assert_eq!(evtx.format(), SourceFormat::WindowsEvtx);
    assert_eq!(nxlog.format(), SourceFormat::WindowsFlat);

    let data: Value = serde_json::from_slice(&evtx_text).unwrap();
    let mut names: Vec<String> = SYSTEM_NAMES.iter().map(|n| n.to_string()).collect();
    names.extend(
        data["Event"]["EventData"]
            .as_object()
            .unwrap()
            .keys()
            .cloned(),
    );
    assert!(names.len() > 30, "{name}");
    let from_evtx = with_live_view(&evtx, |view| {
        assert_eq!(view.layout(), Layout::WindowsEvtx);
        (sigma_fields(view, &names), keyword_values(view))
    });
    let from_nxlog = with_live_view(&nxlog, |view| {
        assert_eq!(view.layout(), Layout::WindowsFlat);
        (sigma_fields(view, &names), keyword_values(view))
    });
    // What hunt sees of the same record read from a file.
    let from_file = with_record_view(&evtx_text, |view| {
        (sigma_fields(view, &names), keyword_values(view))
    });
    for ((name_a, a), (_, b)) in from_evtx.0.iter().zip(&from_nxlog.0) {
        assert_eq!(a, b, "{name}: {name_a}");
        if [
            "EventID",
            "Channel",
            "Computer",
            "Provider_Name",
            "EventRecordID",
        ]
        .contains(&name_a.as_str())
        {
            assert_eq!(a.len(), 1, "{name}: {name_a}");
        }
    }
    assert_eq!(from_evtx.1, from_nxlog.1, "{name}: keyword values");
    assert_eq!(from_evtx, from_file, "{name}: hunt's view");
}

#[test]
fn an_evtx_event_and_its_nxlog_twin_show_rules_the_same_fields() {
    assert_twins("sysmon-1");
    assert_twins("security-4624");
}

#[test]
fn values_are_shown_as_the_event_xml_writes_them() {
    let evtx = live_event(
        &twin_fixture("security-4624.evtx.json"),
        &hint(Format::Auto),
    );
    let nxlog = live_event(
        &twin_fixture("security-4624.nxlog.json"),
        &hint(Format::Auto),
    );
    for event in [&evtx, &nxlog] {
        with_live_view(event, |view| {
            // The evtx crate drops the braces, NXLog writes lower case.
            assert_eq!(
                values_of(view, "LogonGuid"),
                ["{F1B93498-CE83-D667-F3B7-7D3BC595A088}"]
            );
            assert_eq!(
                values_of(view, "Provider_Guid"),
                ["{54849625-5478-4994-A5BA-3E3B0328C30D}"]
            );
            assert_eq!(
                values_of(view, "Correlation_ActivityID"),
                ["{9D5ADC19-303C-0001-A9AD-1D94DD8DD601}"]
            );
            // NXLog writes `security` and a signed decimal.
            assert_eq!(values_of(view, "Channel"), ["Security"]);
            assert_eq!(values_of(view, "Keywords"), ["0x8020000000000000"]);
            assert_eq!(values_of(view, "LogonType"), ["3"]);
            assert_eq!(values_of(view, "Computer"), ["WORKSTATION6.theshire.local"]);
        });
    }
    // NXLog's own metadata is addressable by its name, but is not what the
    // event says: keyword searches do not look at it.
    with_live_view(&nxlog, |view| {
        assert_eq!(values_of(view, "SourceModuleType"), ["im_msvistalog"]);
        assert!(!keyword_values(view).contains(&"im_msvistalog".to_owned()));
        assert!(keyword_values(view).contains(&"pgustavo".to_owned()));
    });
    // A rule written against the event XML fires on both.
    let rules = compile(&[r"
title: Network logon with a known logon GUID
id: 00000000-0000-4000-8000-00000000a001
logsource: {product: windows, service: security}
detection:
    selection:
        EventID: 4624
        LogonType: 3
        LogonGuid: '{F1B93498-CE83-D667-F3B7-7D3BC595A088}'
    condition: selection
level: medium
"]);
    for event in [&evtx, &nxlog] {
        let ids = with_live_view(event, |view| fired(&rules, view));
        assert_eq!(ids, ["00000000-0000-4000-8000-00000000a001"]);
    }
}

#[test]
fn winlogbeat_events_show_rules_the_same_fields() {
    let evtx_text = twin_fixture("security-4624.evtx.json");
    let evtx: Value = serde_json::from_slice(&evtx_text).unwrap();
    let winlogbeat = json!({
        "@timestamp": "2020-09-20T16:16:56.851Z",
        "message": "An account was successfully logged on.",
        "host": {"name": "WORKSTATION6.theshire.local"},
        "winlog": {
            "channel": "security",
            "event_id": "4624",
            "provider_name": "Microsoft-Windows-Security-Auditing",
            "provider_guid": "{54849625-5478-4994-a5ba-3e3b0328c30d}",
            "computer_name": "WORKSTATION6.theshire.local",
            "record_id": 717708,
            "keywords": ["Audit Success"],
            "event_data": evtx["Event"]["EventData"],
        }
    });
    let event = normalise_value(winlogbeat, &hint(Format::Auto)).unwrap();
    assert_eq!(event.format(), SourceFormat::WindowsWinlogbeat);
    let names = [
        "EventID",
        "Channel",
        "Computer",
        "Provider_Name",
        "Provider_Guid",
        "EventRecordID",
        "TargetUserName",
        "LogonType",
        "LogonGuid",
    ];
    let from_evtx = with_record_view(&evtx_text, |view| names.map(|name| values_of(view, name)));
    let from_beat = with_live_view(&event, |view| {
        assert_eq!(view.layout(), Layout::WindowsWinlogbeat);
        // The beat's own fields are the record's too.
        assert_eq!(
            values_of(view, "host.name"),
            ["WORKSTATION6.theshire.local"]
        );
        names.map(|name| values_of(view, name))
    });
    for (name, (a, b)) in names.iter().zip(from_evtx.iter().zip(&from_beat)) {
        assert!(!a.is_empty(), "{name}");
        assert_eq!(a, b, "{name}");
    }
}

/// A Windows Defender detection as the `evtx` crate renders it: its event
/// data names have spaces.
const DEFENDER: &str = r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Windows Defender","Guid":"11CD958A-C507-4EF3-B3F2-5FD9DFBD2C78"}},"EventID":1116,"Version":0,"Level":3,"Channel":"Microsoft-Windows-Windows Defender/Operational","Computer":"ws7.example.org","EventRecordID":42,"TimeCreated":{"#attributes":{"SystemTime":"2024-05-01T10:00:00.000000Z"}}},"EventData":{"Product Name":"Microsoft Defender Antivirus","Threat Name":"HackTool:Win32/Mimikatz!pz","Severity Name":"High","Category Name":"Tool","Path":"file:_C:\\Users\\bob\\Downloads\\mimikatz.exe","Process Name":"C:\\Windows\\explorer.exe","Detection User":"EXAMPLE\\bob","ThreatName":"shadowed? no: a key without spaces wins"}}}"##;

const DEFENDER_RULES: [&str; 2] = [
    r"
title: Password dumper found by an antivirus
id: 00000000-0000-4000-8000-00000000b001
logsource: {category: antivirus}
detection:
    selection:
        Signature|contains: Mimikatz
    condition: selection
level: high
",
    r"
title: Defender detection in a file opened by Explorer
id: 00000000-0000-4000-8000-00000000b002
logsource: {product: windows, service: windefend}
detection:
    selection:
        EventID: 1116
        ProcessName|endswith: '\explorer.exe'
        SeverityName: High
        DetectionUser|contains: bob
    condition: selection
level: medium
",
];

#[test]
fn event_data_names_with_spaces_are_found_without_them() {
    // Without the stray `ThreatName` key, the spaced one is found.
    let text = DEFENDER.replace(
        r#","ThreatName":"shadowed? no: a key without spaces wins""#,
        "",
    );
    let rules = compile(&DEFENDER_RULES);
    let both = [
        "00000000-0000-4000-8000-00000000b001",
        "00000000-0000-4000-8000-00000000b002",
    ];
    with_record_view(text.as_bytes(), |view| {
        assert_eq!(
            values_of(view, "ThreatName"),
            ["HackTool:Win32/Mimikatz!pz"]
        );
        assert_eq!(values_of(view, "ProcessName"), [r"C:\Windows\explorer.exe"]);
        // Never under the spaced name itself.
        assert!(values_of(view, "Threat Name").is_empty());
        let mut listed = Vec::new();
        assert!(view.for_each_field(&mut |name, _| listed.push(name.to_owned())));
        assert!(listed.contains(&"ThreatName".to_owned()));
        assert!(!listed.iter().any(|name| name.contains(' ')));
        assert_eq!(fired(&rules, view), both);
    });
    let live = live_event(text.as_bytes(), &hint(Format::Auto));
    assert_eq!(with_live_view(&live, |view| fired(&rules, view)), both);

    // The same event from NXLog: the names with spaces at the top level.
    let nxlog = json!({
        "EventID": 1116, "Channel": "Microsoft-Windows-Windows Defender/Operational",
        "Hostname": "ws7.example.org", "SourceName": "Microsoft-Windows-Windows Defender",
        "Threat Name": "HackTool:Win32/Mimikatz!pz", "Severity Name": "High",
        "Process Name": "C:\\Windows\\explorer.exe", "Detection User": "EXAMPLE\\bob",
    });
    let nxlog = live_event(nxlog.to_string().as_bytes(), &hint(Format::Auto));
    assert_eq!(nxlog.format(), SourceFormat::WindowsFlat);
    assert_eq!(with_live_view(&nxlog, |view| fired(&rules, view)), both);

    // A key without spaces is found before one with them.
    with_record_view(DEFENDER.as_bytes(), |view| {
        assert_eq!(
            values_of(view, "ThreatName"),
            ["shadowed? no: a key without spaces wins"]
        );
        let mut listed = Vec::new();
        view.for_each_field(&mut |name, _| listed.push(name.to_owned()));
        assert_eq!(listed.iter().filter(|n| *n == "ThreatName").count(), 1);
    });
}

/// Prefixes of the nested records Zeek's standard logs write with dots.
const ZEEK_RECORDS: &[&str] = &["id", "certificate", "san", "basic_constraints"];

fn zeek_dotted(record: &Map<String, Value>) -> Map<String, Value> {
    record
        .iter()
        .map(|(key, value)| {
            let renamed = ZEEK_RECORDS
                .iter()
                .find_map(|prefix| {
                    key.strip_prefix(&format!("{prefix}_"))
                        .filter(|rest| !rest.is_empty())
                        .map(|rest| format!("{prefix}.{rest}"))
                })
                .unwrap_or_else(|| key.clone());
            (renamed, value.clone())
        })
        .collect()
}

#[test]
fn zeek_names_in_the_dotted_style_find_either_key_style() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("events/otrf-security-datasets/apt29-zeek");
    let mut files: Vec<_> = ["day1", "day2"]
        .iter()
        .flat_map(|day| std::fs::read_dir(dir.join(day)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    assert!(files.len() > 50, "{}", files.len());
    let mut compared = 0;
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        // The first records of each log: every kind of log, not every line.
        for line in text.lines().filter(|l| !l.trim().is_empty()).take(40) {
            let underscored: Map<String, Value> = serde_json::from_str(line).unwrap();
            let dotted = zeek_dotted(&underscored);
            let a = live_event(
                Value::Object(dotted.clone()).to_string().as_bytes(),
                &hint(Format::Zeek),
            );
            // Both written by serde_json, so that numbers read alike.
            let underscored = Value::Object(underscored).to_string();
            let b = live_event(underscored.as_bytes(), &hint(Format::Zeek));
            let names: Vec<String> = dotted
                .keys()
                .cloned()
                .chain(["_path", "event.dataset", "source.ip"].map(String::from))
                .collect();
            let from_a = with_live_view(&a, |view| {
                assert_eq!(view.layout(), Layout::Zeek);
                sigma_fields(view, &names)
            });
            let from_b = with_live_view(&b, |view| sigma_fields(view, &names));
            assert_eq!(from_a, from_b, "{}", path.display());
            for (name, values) in &from_b {
                let empty_list = dotted.get(name).is_some_and(|v| v == &json!([]));
                assert!(
                    !values.is_empty() || empty_list || name == "source.ip",
                    "{}: {name}",
                    path.display()
                );
            }
            compared += 1;
        }
    }
    assert!(compared > 1000, "{compared}");
}

#[test]
fn cef_and_syslog_reach_rules_through_their_fields() {
    let cef = live_event(
        b"<134>Mar 15 10:00:00 fw1 CEF:0|Acme|Gate|2.1|100|Blocked|7|src=10.0.0.1 dst=10.0.0.2 dpt=443 suser=alice act=blocked msg=Denied by policy rule 12",
        &hint(Format::Auto),
    );
    assert_eq!(cef.format(), SourceFormat::Cef);
    with_live_view(&cef, |view| {
        assert_eq!(view.layout(), Layout::Text);
        assert_eq!(values_of(view, "deviceVendor"), ["Acme"]);
        assert_eq!(values_of(view, "name"), ["Blocked"]);
        assert_eq!(values_of(view, "severity"), ["7"]);
        assert_eq!(values_of(view, "dpt"), ["443"]);
        assert_eq!(values_of(view, "suser"), ["alice"]);
        assert_eq!(values_of(view, "destination.port"), ["443"]);
        assert_eq!(values_of(view, "event.module"), ["cef"]);
        assert!(keyword_values(view).contains(&"Denied by policy rule 12".to_owned()));
        assert!(!view.for_each_field(&mut |_, _| {}));
    });

    let mut linux = hint(Format::Auto);
    linux.host_os_type = Some("linux".into());
    let sshd = live_event(
        b"<38>Mar 15 10:22:14 web01 sshd[4242]: Failed password for root from 203.0.113.77 port 40022 ssh2",
        &linux,
    );
    with_live_view(&sshd, |view| {
        assert_eq!(values_of(view, "process.name"), ["sshd"]);
        assert_eq!(values_of(view, "host.os.type"), ["linux"]);
        assert!(
            keyword_values(view)
                .iter()
                .any(|v| v.contains("Failed password"))
        );
    });
}

/// The layout the view recognises is the format the normaliser recognised,
/// on every JSON record of the corpus's Windows, Zeek and Suricata samples.
#[test]
fn the_view_recognises_layouts_as_the_normaliser_does() {
    let Some(corpus) = corpus() else { return };
    let mut checked = 0;
    let mut layouts = BTreeSet::new();
    let mut check = |line: &str| {
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            return;
        };
        if !value.is_object() {
            return;
        }
        let mut tape = JsonTape::new();
        assert!(tape.parse(line.as_bytes()));
        let layout = Layout::of(&tape);
        let expected = match detect_json_format(&value) {
            nigehban_normalise::JsonFormat::WindowsEvtx => Layout::WindowsEvtx,
            nigehban_normalise::JsonFormat::WindowsWinlogbeat => Layout::WindowsWinlogbeat,
            nigehban_normalise::JsonFormat::WindowsFlat => Layout::WindowsFlat,
            nigehban_normalise::JsonFormat::Zeek => Layout::Zeek,
            nigehban_normalise::JsonFormat::SuricataEve
            | nigehban_normalise::JsonFormat::Generic => Layout::Json,
        };
        assert_eq!(layout, expected, "{line}");
        layouts.insert(format!("{layout:?}"));
        checked += 1;
    };
    for sample in [
        "events/suricata-eve",
        "events/otrf-security-datasets/apt29-zeek",
    ] {
        let mut stack = vec![corpus.join(sample)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(text) = std::fs::read_to_string(&path) {
                    text.lines().take(200).for_each(&mut check);
                }
            }
        }
    }
    for name in ["sysmon-1", "security-4624"] {
        for writer in ["evtx", "nxlog"] {
            let text = twin_fixture(&format!("{name}.{writer}.json"));
            let value: Value = serde_json::from_slice(&text).unwrap();
            check(&value.to_string());
        }
    }
    check(r#"{"winlog":{"channel":"Security","event_id":4624}}"#);
    check(r#"{"message":"plain","event":{"dataset":"nginx.access"}}"#);
    assert!(checked > 1000, "{checked}");
    assert_eq!(layouts.len(), 5, "{layouts:?}");
}

/// A normalised event's record in the tape: parsed from its text, as hunt
/// parses a file's record.
#[test]
fn the_live_view_reads_the_record_hunt_reads() {
    let line = br#"{"timestamp":"2024-03-15T10:22:14.985026+0100","event_type":"alert","src_ip":"10.1.2.3","dest_port":80,"alert":{"signature_id":2013504,"signature":"ET POLICY x"}}"#;
    let event = live_event(line, &hint(Format::Auto));
    let mut tape = JsonTape::new();
    assert!(read_record(&event, &mut tape));
    with_record_view(line, |file| {
        let live = SigmaView::of_event(&event, Some(&tape));
        for name in ["alert.signature_id", "src_ip", "dest_port", "event_type"] {
            assert_eq!(values_of(&live, name), values_of(file, name), "{name}");
            assert!(!values_of(file, name).is_empty());
        }
        assert_eq!(keyword_values(&live), keyword_values(file));
        // Names the record does not have come from the normalised fields,
        // live only.
        assert_eq!(values_of(&live, "event.dataset"), ["suricata.alert"]);
        assert_eq!(values_of(&live, "rule.name"), ["ET POLICY x"]);
        assert!(values_of(file, "event.dataset").is_empty());
    });
}
