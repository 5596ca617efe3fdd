//! The original record of every JSON format comes back exactly as received, and the members
//! of the original that normalisation does not map are filtered by their dotted names.
//! (Search once decoded the bus payload with plain serde and answered `"original": {}` for
//! every JSON event: issue 8, item 2.)

use nigehban_search::{EventIndex, EventQuery, TenantScope};
use time::Duration;

use crate::common::{BASE, TestEvent, all_hits, ids, index_events, syslog, test_id};

/// A Suricata EVE alert as Suricata writes it: members in its order, `flow` and
/// `alert.metadata` that have no ECS field, a float with a trailing zero and a `\u` escape
/// (both lost by a parse and re-serialisation).
const SURICATA: &str = r#"{"timestamp":"2026-03-01T11:50:00.123456+0000","flow_id":1482693941234567,"in_iface":"eth0","event_type":"alert","src_ip":"192.168.7.20","src_port":51000,"dest_ip":"203.0.113.9","dest_port":443,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2010935,"rev":3,"signature":"ET POLICY Suspicious TLS SNI \u00e9","category":"Potentially Bad Traffic","severity":2,"metadata":{"signature_severity":["Major"],"created_at":["2010_07_30"]}},"flow":{"pkts_toserver":3,"pkts_toclient":1,"bytes_toserver":1.50,"start":"2026-03-01T11:49:59.000000+0000"}}"#;

/// A Zeek conn log record (dotted keys): `history` and `conn_state` have no ECS field.
const ZEEK: &str = r#"{"_path":"conn","ts":1772365800.123456,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"10.0.0.5","id.orig_p":50123,"id.resp_h":"93.184.216.34","id.resp_p":80,"proto":"tcp","service":"http","duration":0.25,"orig_bytes":120,"resp_bytes":5000,"conn_state":"SF","history":"ShADadfF"}"#;

/// A Windows logon in the `evtx` crate's layout: `AuthenticationPackageName` is an
/// EventData field that nothing maps to ECS.
const WINDOWS_EVTX: &str = r##"{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing","Guid":"{54849625-5478-4994-A5BA-3E3B0328C30D}"}},"EventID":4624,"Channel":"Security","Computer":"DC01.corp.example","EventRecordID":77123,"TimeCreated":{"#attributes":{"SystemTime":"2026-03-01T11:55:00.000000Z"}}},"EventData":{"TargetUserName":"alice","TargetDomainName":"CORP","LogonType":3,"IpAddress":"10.1.1.1","AuthenticationPackageName":"NTLM","LmPackageName":"NTLM V2"}}}"##;

/// A Windows event in NXLog's flat layout: EventData fields at the top level.
const WINDOWS_FLAT: &str = r#"{"EventTime":"2026-03-01 11:56:00","Hostname":"WS01","EventID":4688,"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","NewProcessName":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c whoami","TokenElevationType":"%%1936","MandatoryLabel":"S-1-16-12288"}"#;

/// JSON of no known format, sent with spaces around it (so the envelope cannot write it
/// verbatim and carries it as escaped text: the other layout of the payload).
const GENERIC: &str = "  {\"app\": \"vpn\", \"action\": \"login\", \"user\": {\"name\": \"bob\", \"mfa\": true}, \"time\": \"2026-03-01T11:57:00Z\"}  ";

fn fixture() -> Vec<TestEvent> {
    let at = |minutes: i64| BASE - Duration::minutes(minutes);
    vec![
        TestEvent::new("suricata", "bank-01", SURICATA, at(10)),
        TestEvent::new("zeek", "bank-01", ZEEK, at(9)),
        TestEvent::new("windows-evtx", "bank-01", WINDOWS_EVTX, at(5)),
        TestEvent::new("windows-flat", "bank-01", WINDOWS_FLAT, at(4)),
        TestEvent::new("generic", "bank-01", GENERIC, at(3)),
        TestEvent::new(
            "syslog",
            "bank-01",
            &syslog(at(2), "gw1", "sshd", "Failed password for root"),
            at(2),
        ),
        // The same Suricata record for another tenant: filters never cross tenants.
        TestEvent::new("telco-suricata", "telco-02", SURICATA, at(10)),
    ]
}

async fn fixture_index() -> (tempfile::TempDir, EventIndex) {
    let dir = tempfile::tempdir().unwrap();
    let index = index_events(dir.path(), &fixture()).await;
    (dir, index)
}

fn bank() -> TenantScope {
    TenantScope::tenant("bank-01")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_json_format_comes_back_with_its_original_exactly_as_received() {
    let (_dir, index) = fixture_index().await;
    for (name, raw) in [
        ("suricata", SURICATA),
        ("zeek", ZEEK),
        ("windows-evtx", WINDOWS_EVTX),
        ("windows-flat", WINDOWS_FLAT),
        ("generic", GENERIC),
    ] {
        let hit = index
            .get(&bank(), &test_id(name))
            .unwrap()
            .unwrap_or_else(|| panic!("{name} not found"));
        let original = hit.event.original();
        assert_eq!(original.text.as_deref(), Some(raw), "{name}: the text");
        let parsed: serde_json::Value = serde_json::from_str(raw).unwrap();
        assert_eq!(original.json.as_ref(), Some(&parsed), "{name}: the JSON");
        // And through a search, as the events API reads it.
        let hits = all_hits(&index, &EventQuery::new(bank()).limit(100));
        let found = hits.iter().find(|h| h.id == test_id(name)).unwrap();
        assert_eq!(found.event.original().text.as_deref(), Some(raw), "{name}");
    }
    // What the API serialises holds the exact text and the parsed record.
    let hit = index.get(&bank(), &test_id("suricata")).unwrap().unwrap();
    let api = serde_json::to_value(&hit.event).unwrap();
    assert_eq!(api["original"]["text"], SURICATA);
    assert_eq!(api["original"]["json"]["flow"]["pkts_toserver"], 3);
    // Syslog keeps its text as before.
    let hit = index.get(&bank(), &test_id("syslog")).unwrap().unwrap();
    assert!(
        hit.event
            .original()
            .text
            .as_deref()
            .is_some_and(|t| t.ends_with("Failed password for root")),
        "{:?}",
        hit.event.original()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_of_the_original_that_normalisation_does_not_map_filter_by_dotted_name() {
    let (_dir, index) = fixture_index().await;
    let find = |q: EventQuery| {
        let mut v = ids(&index, &q);
        v.sort();
        v
    };
    let q = || EventQuery::new(bank());
    for (field, value, expected) in [
        // Suricata EVE: flow counters and alert metadata (nested, arrays).
        ("flow.pkts_toserver", "3", "suricata"),
        ("flow.bytes_toserver", "1.5", "suricata"),
        ("alert.metadata.signature_severity", "Major", "suricata"),
        ("flow_id", "1482693941234567", "suricata"),
        ("in_iface", "eth0", "suricata"),
        // Zeek: the log's own names, dotted keys included.
        ("history", "ShADadfF", "zeek"),
        ("conn_state", "SF", "zeek"),
        ("uid", "CHhAvVGS1DHFjwGM9", "zeek"),
        ("id.orig_p", "50123", "zeek"),
        // Windows, evtx layout: by the path in the record, attributes included.
        (
            "Event.EventData.AuthenticationPackageName",
            "NTLM",
            "windows-evtx",
        ),
        ("Event.EventData.LmPackageName", "NTLM V2", "windows-evtx"),
        (
            "Event.System.Provider.#attributes.Guid",
            "{54849625-5478-4994-A5BA-3E3B0328C30D}",
            "windows-evtx",
        ),
        // and by the ECS group that holds every EventData field.
        (
            "winlog.event_data.AuthenticationPackageName",
            "NTLM",
            "windows-evtx",
        ),
        // Windows, flat layout: EventData fields at the top level.
        ("TokenElevationType", "%%1936", "windows-flat"),
        ("MandatoryLabel", "S-1-16-12288", "windows-flat"),
        // Generic JSON: nothing is mapped but the time, so everything is found here.
        ("action", "login", "generic"),
        ("user.name", "bob", "generic"),
        ("user.mfa", "true", "generic"),
    ] {
        assert_eq!(
            find(q().filter(field, value)),
            [expected],
            "{field}={value}"
        );
    }
    // Exact values only, and still within the scope.
    assert!(find(q().filter("flow.pkts_toserver", "4")).is_empty());
    assert!(find(q().filter("history", "shadadff")).is_empty());
    // A path that is not the record's is no field at all: refused with the real ones.
    match index.search(&q().filter("EventData.AuthenticationPackageName", "NTLM")) {
        Err(nigehban_search::SearchError::InvalidQuery(
            nigehban_search::QueryError::UnknownField { closest, .. },
        )) => assert!(
            closest.contains(&"Event.EventData.AuthenticationPackageName".to_owned()),
            "{closest:?}"
        ),
        other => panic!("expected an unknown field, got {:?}", other.map(|_| ())),
    }
    assert_eq!(
        find(
            EventQuery::new(TenantScope::tenants(["bank-01", "telco-02"]))
                .filter("flow.pkts_toserver", "3")
        ),
        ["suricata", "telco-suricata"]
    );
    // Unmapped members combine with ECS filters and are found by text terms too.
    assert_eq!(
        find(
            q().filter("event.module", "zeek")
                .filter("history", "ShADadfF")
        ),
        ["zeek"]
    );
    assert!(
        find(
            q().filter("event.module", "suricata")
                .filter("history", "ShADadfF")
        )
        .is_empty()
    );
    assert_eq!(find(q().text("ShADadfF")), ["zeek"]);
    assert_eq!(find(q().text("eth0")), ["suricata"]);
    assert_eq!(find(q().text("S-1-16-12288")), ["windows-flat"]);
}
