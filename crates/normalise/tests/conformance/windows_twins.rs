//! An EVTX-layout event and its NXLog JSON twin normalise to the same
//! fields (fixtures in `tests/fixtures/windows-twins/`; detection's tests
//! show that Sigma rules see the twins alike too).

use std::collections::BTreeSet;

use nigehban_normalise::{Format, NormalisedEvent, SourceFormat, normalise};
use serde_json::Value;
use time::UtcOffset;

use crate::support::{fixture, hint};

/// ECS fields that differ between the layouts by what each writer keeps:
/// NXLog forwards the rendered `Message`, the task and opcode names, but not
/// `Level` (its `SeverityValue` is NXLog's own scale); the evtx layout has no
/// rendered message. `@timestamp` is compared separately (NXLog's `EventTime`
/// has whole seconds only).
const LAYOUT_SPECIFIC: &[&str] = &[
    "@timestamp",
    "message",
    "winlog.level",
    "winlog.task_name",
    "winlog.opcode_name",
];

fn pair(name: &str) -> (NormalisedEvent, NormalisedEvent) {
    let evtx = normalise(
        &fixture(&format!("windows-twins/{name}.evtx.json")),
        &hint(Format::Auto),
    )
    .unwrap();
    // The collector wrote EventTime in its local time, UTC-4.
    let mut nxlog_hint = hint(Format::Auto);
    nxlog_hint.utc_offset = Some(UtcOffset::from_hms(-4, 0, 0).unwrap());
    let nxlog = normalise(
        &fixture(&format!("windows-twins/{name}.nxlog.json")),
        &nxlog_hint,
    )
    .unwrap();
    assert_eq!(evtx.format(), SourceFormat::WindowsEvtx);
    assert_eq!(nxlog.format(), SourceFormat::WindowsFlat);
    (evtx, nxlog)
}

fn keyword_values(event: &NormalisedEvent) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    event.for_each_keyword_value(&mut |value| {
        out.insert(value.to_string());
    });
    out
}

fn assert_twins(name: &str) {
    let (evtx, nxlog) = pair(name);
    for required in [
        "winlog.event_id",
        "winlog.channel",
        "winlog.computer_name",
        "winlog.provider_name",
        "winlog.record_id",
    ] {
        assert!(evtx.ecs(required).is_some(), "{name}: {required}");
    }
    let data = evtx.ecs("winlog.event_data").unwrap().as_object().unwrap();
    assert!(data.len() > 20, "{name}");
    assert_eq!(
        evtx.ecs("winlog.event_data"),
        nxlog.ecs("winlog.event_data"),
        "{name}"
    );
    // All ECS fields but the layout-specific ones.
    let strip = |event: &NormalisedEvent| {
        let mut fields = event.fields().clone();
        for name in LAYOUT_SPECIFIC {
            fields.remove(name);
        }
        fields
    };
    assert_eq!(strip(&evtx), strip(&nxlog), "{name}");
    assert_eq!(
        evtx.timestamp().unwrap().replace_nanosecond(0).unwrap(),
        nxlog.timestamp().unwrap(),
        "{name}: @timestamp to the second"
    );
    assert_eq!(keyword_values(&evtx), keyword_values(&nxlog), "{name}");
}

#[test]
fn sysmon_process_creation_twins_have_the_same_detection_fields() {
    assert_twins("sysmon-1");
    let (evtx, _) = pair("sysmon-1");
    let f = evtx.fields();
    assert_eq!(
        f.get_str("event.dataset"),
        Some("windows.sysmon_operational")
    );
    assert_eq!(f.get("event.category"), Some(&Value::from(vec!["process"])));
    assert_eq!(
        f.get_str("process.executable"),
        Some(r"C:\Windows\System32\wbem\WmiPrvSE.exe")
    );
    assert_eq!(f.get_str("process.name"), Some("WmiPrvSE.exe"));
    assert_eq!(f.get_u64("process.pid"), Some(3460));
    assert_eq!(f.get_u64("process.parent.pid"), Some(896));
    assert_eq!(
        f.get_str("process.hash.sha256"),
        Some("a75c85f3b089993e9c042fb82ecb7757e8f460ed8065fc7991caa38a6de0f50c")
    );
    assert_eq!(f.get_str("user.name"), Some("NETWORK SERVICE"));
    // Numbers the evtx crate typed are text, as in the event XML.
    assert_eq!(
        evtx.ecs("winlog.event_data.ProcessId"),
        Some(&Value::from("3460"))
    );
    assert_eq!(evtx.ecs("winlog.event_id"), Some(&Value::from(1)));
    // GUIDs as the event XML writes them, whoever rendered them.
    assert_eq!(
        evtx.ecs("winlog.event_data.ProcessGuid"),
        Some(&Value::from("{49A15388-B7B9-5F2B-8504-000000000400}"))
    );
}

#[test]
fn security_logon_twins_have_the_same_detection_fields() {
    assert_twins("security-4624");
    let (evtx, nxlog) = pair("security-4624");
    // NXLog wrote the channel in lower case.
    let raw = nxlog.original().json.as_ref().unwrap();
    assert_eq!(raw["Channel"], "security");
    assert_eq!(nxlog.ecs("winlog.channel"), Some(&Value::from("Security")));
    let f = evtx.fields();
    assert_eq!(f.get_str("event.dataset"), Some("windows.security"));
    assert_eq!(f.get_str("event.outcome"), Some("success"));
    assert_eq!(f.get_str("user.name"), Some("pgustavo"));
    assert_eq!(f.get_str("user.domain"), Some("THESHIRE.LOCAL"));
    assert_eq!(f.get_str("source.ip"), Some("172.18.39.5"));
    assert_eq!(f.get_u64("source.port"), Some(56608));
    assert_eq!(f.get_u64("winlog.logon.type"), Some(3));
    assert_eq!(f.get_str("winlog.keywords"), Some("0x8020000000000000"));
    assert_eq!(
        evtx.ecs("winlog.event_data.LogonType"),
        Some(&Value::from("3"))
    );
    // NXLog's own metadata is not event data.
    assert!(nxlog.ecs("winlog.event_data.SourceModuleType").is_none());
}

#[test]
fn winlogbeat_layout_reads_into_the_same_fields() {
    let (evtx, _) = pair("security-4624");
    let data = evtx.ecs("winlog.event_data").unwrap().clone();
    let winlogbeat = serde_json::json!({
        "@timestamp": "2020-09-20T16:16:56.851Z",
        "message": "An account was successfully logged on.",
        "winlog": {
            "channel": "security",
            "event_id": "4624",
            "provider_name": "Microsoft-Windows-Security-Auditing",
            "provider_guid": "{54849625-5478-4994-a5ba-3e3b0328c30d}",
            "computer_name": "WORKSTATION6.theshire.local",
            "record_id": 717708,
            "keywords": ["Audit Success"],
            "event_data": data,
        }
    });
    let event = nigehban_normalise::normalise_value(winlogbeat, &hint(Format::Auto)).unwrap();
    assert_eq!(event.format(), SourceFormat::WindowsWinlogbeat);
    for name in [
        "winlog.event_id",
        "winlog.channel",
        "winlog.computer_name",
        "winlog.provider_name",
        "winlog.provider_guid",
        "winlog.record_id",
        "winlog.event_data.TargetUserName",
        "winlog.event_data.LogonType",
    ] {
        assert_eq!(event.ecs(name), evtx.ecs(name), "{name}");
    }
    assert_eq!(event.fields().get_str("event.outcome"), Some("success"));
}
