//! The query language against indexed events: one test per operator, each run in two
//! tenants' scopes (the same events in both, so a query that leaked would show the other
//! tenant's), unknown fields refused with the closest names, the field list and the counts.

use std::time::Duration as StdDuration;

use nigehban_search::{
    Aggregation, EventIndex, EventQuery, FieldType, QueryError, SearchError, TenantScope,
};
use time::Duration;
use time::format_description::well_known::Rfc3339;

use crate::common::{BASE, TestEvent, ids, index_events, suricata_alert, syslog, windows_4688};

const TENANTS: [&str; 2] = ["bank-01", "telco-02"];

/// The same events for both tenants, and a Zeek connection (with its own field names) for
/// telco-02 only.
fn fixture() -> Vec<TestEvent> {
    let t = |minutes: i64| BASE + Duration::minutes(minutes);
    let mut events = Vec::new();
    for tenant in TENANTS {
        let e =
            |n: &str, raw: String, at| TestEvent::new(&format!("{tenant}-{n}"), tenant, &raw, at);
        events.push(e(
            "ssh-fail",
            syslog(
                t(-50),
                "gw1",
                "sshd",
                "Failed password for root from 10.1.2.3 port 22 ssh2",
            ),
            t(-50),
        ));
        events.push(e(
            "ssh-ok",
            syslog(
                t(-40),
                "gw2",
                "sshd",
                "Accepted publickey for deploy from 10.9.9.9 port 22 ssh2",
            ),
            t(-40),
        ));
        events.push(e(
            "cron",
            syslog(
                t(-30),
                "gw1",
                "CRON",
                "(root) CMD (run-parts /etc/cron.hourly)",
            ),
            t(-30),
        ));
        events.push(e(
            "cmd",
            windows_4688(
                t(-20),
                "WS01",
                r"C:\Windows\System32\cmd.exe",
                "cmd.exe /c whoami",
            ),
            t(-20),
        ));
        events.push(e(
            "powershell",
            windows_4688(
                t(-10),
                "WS02",
                r"C:\Windows\System32\WindowsPowerShell\v1.0\PowerShell.exe",
                "PowerShell.exe -enc SQBFAFgA",
            ),
            t(-10),
        ));
        events.push(e(
            "alert",
            suricata_alert(
                t(-5),
                "192.168.7.20",
                "203.0.113.9",
                "ET POLICY Suspicious TLS SNI",
            ),
            t(-5),
        ));
    }
    let stamp = t(-1).unix_timestamp();
    events.push(TestEvent::new(
        "telco-02-zeek",
        "telco-02",
        &serde_json::json!({
            "ts": stamp, "uid": "CzKq1", "id.orig_h": "10.20.0.5", "id.orig_p": 50000,
            "id.resp_h": "10.20.0.6", "id.resp_p": 80, "proto": "tcp", "history": "ShADadfF",
        })
        .to_string(),
        t(-1),
    ));
    events
}

async fn fixture_index() -> (tempfile::TempDir, EventIndex) {
    let dir = tempfile::tempdir().unwrap();
    let index = index_events(dir.path(), &fixture()).await;
    (dir, index)
}

/// The events `query` finds in `tenant`'s scope, by the test's short names, sorted.
fn find(index: &EventIndex, tenant: &str, query: &str) -> Vec<String> {
    let q = EventQuery::new(TenantScope::tenant(tenant))
        .query_text(query)
        .unwrap_or_else(|e| panic!("{query}: {e}"));
    let prefix = format!("{tenant}-");
    let mut found: Vec<String> = ids(index, &q)
        .into_iter()
        .map(|id| {
            id.strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{query} in {tenant} found another tenant's {id}"))
                .to_owned()
        })
        .collect();
    found.sort();
    found
}

/// Checks `query` finds exactly `expected` in each tenant's scope (telco-02's Zeek
/// connection, which bank-01 does not have, aside: `zeek_too` says whether it is found).
fn expect_with_zeek(index: &EventIndex, query: &str, expected: &[&str], zeek_too: bool) {
    let mut expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    for tenant in TENANTS {
        let mut found = find(index, tenant, query);
        let zeek = found.iter().any(|name| name == "zeek");
        found.retain(|name| name != "zeek");
        assert_eq!(found, expected, "{query} in {tenant}");
        assert_eq!(
            zeek,
            zeek_too && tenant == "telco-02",
            "{query}: the Zeek event in {tenant}"
        );
    }
}

/// Checks `query` finds exactly `expected` in each tenant's scope, and not the Zeek event.
fn expect(index: &EventIndex, query: &str, expected: &[&str]) {
    expect_with_zeek(index, query, expected, false);
}

fn refused(index: &EventIndex, tenant: &str, query: &str) -> QueryError {
    let q = match EventQuery::new(TenantScope::tenant(tenant)).query_text(query) {
        Ok(q) => q,
        Err(error) => return error,
    };
    match index.search(&q) {
        Err(SearchError::InvalidQuery(error)) => error,
        other => panic!("{query}: expected a refusal, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_value_matches_names_without_case_and_exact_case_on_request() {
    let (_dir, index) = fixture_index().await;
    expect(&index, "host.name:WS01", &["cmd"]);
    expect(&index, "host.name:ws01", &["cmd"]);
    expect(&index, "host.name:=WS01", &["cmd"]);
    expect(&index, "host.name:=ws01", &[]);
    // A member of the original record that is a name: without case too.
    expect(&index, "log.syslog.appname:SSHD", &["ssh-fail", "ssh-ok"]);
    expect(&index, "log.syslog.appname:=sshd", &["ssh-fail", "ssh-ok"]);
    expect(&index, "log.syslog.appname:=SSHD", &[]);
    expect(
        &index,
        r"process.executable:c:\windows\system32\CMD.EXE",
        &["cmd"],
    );
    // Not a name field: exact, as before.
    expect(&index, "winlog.channel:Security", &["cmd", "powershell"]);
    expect(&index, "winlog.event_id:4688", &["cmd", "powershell"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn words_and_phrases_in_any_value_or_in_the_message() {
    let (_dir, index) = fixture_index().await;
    expect(&index, "whoami", &["cmd"]);
    expect(&index, "WHOAMI", &["cmd"]);
    expect(&index, "\"failed password\"", &["ssh-fail"]);
    expect(&index, "\"password failed\"", &[]);
    expect(&index, "message:\"accepted publickey\"", &["ssh-ok"]);
    expect(&index, "message:publickey", &["ssh-ok"]);
    expect(&index, "\"sekurlsa::x\"", &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcards_on_fields_and_words() {
    let (_dir, index) = fixture_index().await;
    expect(&index, "process.name:*powershell*", &["powershell"]);
    expect(
        &index,
        "process.executable:*POWERSHELL.exe",
        &["powershell"],
    );
    expect(
        &index,
        "process.executable:=*PowerShell.exe",
        &["powershell"],
    );
    expect(&index, "process.executable:=*powershell.exe", &[]);
    expect(&index, "host.name:ws0?", &["cmd", "powershell"]);
    expect(&index, "host.name:gw*", &["ssh-fail", "ssh-ok", "cron"]);
    expect(&index, "who*", &["cmd"]);
    expect(&index, "publ?ckey", &["ssh-ok"]);
    // `field:*`: the field exists.
    expect_with_zeek(
        &index,
        "source.ip:*",
        &["ssh-fail", "ssh-ok", "alert"],
        true,
    );
    expect_with_zeek(&index, "destination.port:*", &["alert"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boolean_operators_with_parentheses() {
    let (_dir, index) = fixture_index().await;
    expect(
        &index,
        "host.name:gw1 AND log.syslog.appname:sshd",
        &["ssh-fail"],
    );
    expect(
        &index,
        "host.name:gw1 log.syslog.appname:sshd",
        &["ssh-fail"],
    );
    expect(
        &index,
        "host.name:gw1 OR host.name:WS02",
        &["ssh-fail", "cron", "powershell"],
    );
    expect(
        &index,
        "host.name:(gw1 OR WS02)",
        &["ssh-fail", "cron", "powershell"],
    );
    expect(
        &index,
        "host.name:gw1 AND NOT log.syslog.appname:cron",
        &["ssh-fail"],
    );
    expect_with_zeek(
        &index,
        "NOT host.name:gw*",
        &["cmd", "powershell", "alert"],
        true,
    );
    expect(
        &index,
        "(host.name:WS01 OR host.name:WS02) AND NOT whoami",
        &["powershell"],
    );
    expect_with_zeek(
        &index,
        "NOT (host.name:gw1 OR winlog.event_id:4688) AND NOT event.module:suricata",
        &["ssh-ok"],
        true,
    );
    // OR binds looser than AND.
    expect(
        &index,
        "host.name:gw1 AND sshd OR whoami",
        &["ssh-fail", "cmd"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_on_numbers_times_and_addresses() {
    let (_dir, index) = fixture_index().await;
    expect(&index, "destination.port:[400 TO 500]", &["alert"]);
    expect(&index, "destination.port:[443 TO 443]", &["alert"]);
    expect(&index, "destination.port:{443 TO *]", &[]);
    expect(&index, "destination.port:>=443", &["alert"]);
    expect_with_zeek(&index, "destination.port:<443", &[], true);
    expect(&index, "destination.port:<80", &[]);
    expect(
        &index,
        "winlog.event_id:[4600 TO 4700}",
        &["cmd", "powershell"],
    );
    let at = |m: i64| (BASE + Duration::minutes(m)).format(&Rfc3339).unwrap();
    expect(
        &index,
        &format!("@timestamp:[{} TO {}}}", at(-20), at(-5)),
        &["cmd", "powershell"],
    );
    expect_with_zeek(
        &index,
        &format!("@timestamp:>{}", at(-10)),
        &["alert"],
        true,
    );
    expect(
        &index,
        &format!("@timestamp:<={} AND sshd", at(-40)),
        &["ssh-fail", "ssh-ok"],
    );
    // A date alone is its midnight UTC.
    expect(&index, "@timestamp:>=2026-03-02", &[]);
    expect_with_zeek(
        &index,
        "@timestamp:[2026-03-01 TO 2026-03-02}",
        &["ssh-fail", "ssh-ok", "cron", "cmd", "powershell", "alert"],
        true,
    );
    expect(
        &index,
        "source.ip:[192.168.7.0 TO 192.168.7.255]",
        &["alert"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cidr_blocks_on_ip_fields() {
    let (_dir, index) = fixture_index().await;
    expect_with_zeek(
        &index,
        "source.ip:10.0.0.0/8",
        &["ssh-fail", "ssh-ok"],
        true,
    );
    expect(
        &index,
        "source.ip:10.0.0.0/8 AND NOT source.ip:10.20.0.0/16",
        &["ssh-fail", "ssh-ok"],
    );
    expect(&index, "source.ip:10.1.0.0/16", &["ssh-fail"]);
    expect(
        &index,
        "source.ip:192.168.0.0/16 OR destination.ip:203.0.113.0/24",
        &["alert"],
    );
    expect(&index, "source.ip:172.16.0.0/12", &[]);
    expect(&index, "source.ip:10.1.2.3", &["ssh-fail"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_fields_are_refused_with_the_closest_names_of_the_scope() {
    let (_dir, index) = fixture_index().await;
    match refused(&index, "bank-01", "hots.name:gw1") {
        QueryError::UnknownField { field, closest } => {
            assert_eq!(field, "hots.name");
            assert_eq!(closest.first().map(String::as_str), Some("host.name"));
        }
        other => panic!("{other}"),
    }
    // The Zeek field exists in telco-02's events only: bank-01 is told it does not exist.
    assert_eq!(find(&index, "telco-02", "history:ShADadfF"), ["zeek"]);
    match refused(&index, "bank-01", "history:ShADadfF") {
        QueryError::UnknownField { field, closest } => {
            assert_eq!(field, "history");
            assert!(closest.iter().all(|c| c != "history"), "{closest:?}");
        }
        other => panic!("{other}"),
    }
    let message = refused(&index, "bank-01", "sshd AND log.syslog.apname:sshd").to_string();
    assert!(message.contains("\"log.syslog.apname\""), "{message}");
    assert!(message.contains("log.syslog.appname"), "{message}");
    // The same for the exact-match filters.
    let q = EventQuery::new(TenantScope::tenant("bank-01")).filter("hostname", "gw1");
    assert!(matches!(
        index.search(&q),
        Err(SearchError::InvalidQuery(QueryError::UnknownField { .. }))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_name_the_column_or_the_field() {
    let (_dir, index) = fixture_index().await;
    match refused(&index, "bank-01", "host.name:gw1 AND (sshd OR") {
        QueryError::Syntax { column, reason, .. } => {
            assert_eq!(column, 27, "{reason}");
            assert!(reason.contains("expected a term"), "{reason}");
        }
        other => panic!("{other}"),
    }
    let error = refused(&index, "bank-01", "host.name:[a TO b]").to_string();
    assert!(
        error.contains("ranges work on number, IP and time fields"),
        "{error}"
    );
    let error = refused(&index, "bank-01", "destination.port:[1 TO many]").to_string();
    assert!(error.contains("\"many\""), "{error}");
    let error = refused(&index, "bank-01", "source.ip:10.*").to_string();
    assert!(error.contains("not a wildcard"), "{error}");
    let error = refused(&index, "bank-01", "@timestamp:2026-03-01").to_string();
    assert!(error.contains("takes a range"), "{error}");
    let error = refused(&index, "bank-01", "*.exe").to_string();
    assert!(error.contains("within one word"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_field_list_is_the_built_in_fields_and_those_of_the_scope() {
    let (_dir, index) = fixture_index().await;
    let bank = index.fields(&TenantScope::tenant("bank-01")).unwrap();
    let telco = index.fields(&TenantScope::tenant("telco-02")).unwrap();
    let get = |fields: &[nigehban_search::FieldInfo], name: &str| {
        fields.iter().find(|f| f.name == name).cloned()
    };
    let host = get(&bank, "host.name").unwrap();
    assert_eq!(host.kind, FieldType::Keyword);
    assert!(host.case_insensitive && host.aggregatable);
    assert_eq!(get(&bank, "source.ip").unwrap().kind, FieldType::Ip);
    assert_eq!(
        get(&bank, "destination.port").unwrap().kind,
        FieldType::Number
    );
    assert_eq!(get(&bank, "@timestamp").unwrap().kind, FieldType::Date);
    assert_eq!(get(&bank, "message").unwrap().kind, FieldType::Text);
    let appname = get(&bank, "log.syslog.appname").unwrap();
    assert!(appname.case_insensitive && !appname.aggregatable);
    assert!(get(&bank, "winlog.event_data.CommandLine").is_some());
    assert!(get(&bank, "history").is_none());
    assert!(get(&telco, "history").is_some());
    assert!(bank.windows(2).all(|w| w[0].name < w[1].name));
    // An empty scope sees only the built-in fields.
    let none = index.fields(&TenantScope::none()).unwrap();
    assert!(get(&none, "log.syslog.appname").is_none());
    assert!(get(&none, "host.name").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_of_top_values_and_over_time_stay_in_scope() {
    let (_dir, index) = fixture_index().await;
    let top_hosts = Aggregation {
        top: Some("host.name".into()),
        size: 2,
        interval: Some(StdDuration::from_secs(20 * 60)),
    };
    for tenant in TENANTS {
        let counts = index
            .aggregate(&EventQuery::new(TenantScope::tenant(tenant)), &top_hosts)
            .unwrap();
        let extra = u64::from(tenant == "telco-02");
        assert_eq!(counts.total, 6 + extra, "{tenant}");
        let top = counts.top.unwrap();
        assert_eq!(top.field, "host.name");
        let values: Vec<(&str, u64)> = top
            .values
            .iter()
            .map(|v| (v.value.as_str(), v.count))
            .collect();
        assert_eq!(values, [("gw1", 2), ("WS01", 1)], "{tenant}");
        // gw2 and WS02 are not shown; the alert (and the Zeek connection) have no host.
        assert_eq!(top.other, 2, "{tenant}");
        assert_eq!(top.missing, 1 + extra, "{tenant}");
        // Buckets of 20 minutes aligned on the epoch, from the first event to the last.
        let buckets: Vec<(String, u64)> = counts
            .over_time
            .unwrap()
            .into_iter()
            .map(|b| (b.start.format(&Rfc3339).unwrap(), b.count))
            .collect();
        assert_eq!(
            buckets,
            [
                ("2026-03-01T11:00:00Z".to_owned(), 1),
                ("2026-03-01T11:20:00Z".to_owned(), 2),
                ("2026-03-01T11:40:00Z".to_owned(), 3 + extra),
            ],
            "{tenant}"
        );
    }
    // Counts follow the query.
    let q = EventQuery::new(TenantScope::tenant("bank-01"))
        .query_text("source.ip:10.0.0.0/8")
        .unwrap();
    let by_source = Aggregation {
        top: Some("source.ip".into()),
        ..Aggregation::default()
    };
    let counts = index.aggregate(&q, &by_source).unwrap();
    assert_eq!(counts.total, 2);
    let values: Vec<(&str, u64)> = counts
        .top
        .as_ref()
        .unwrap()
        .values
        .iter()
        .map(|v| (v.value.as_str(), v.count))
        .collect();
    assert_eq!(values, [("10.1.2.3", 1), ("10.9.9.9", 1)]);
    // An empty scope counts nothing; a field without a column is refused by name.
    let none = index
        .aggregate(&EventQuery::new(TenantScope::none()), &by_source)
        .unwrap();
    assert_eq!(none.total, 0);
    let error = index
        .aggregate(
            &EventQuery::new(TenantScope::tenant("bank-01")),
            &Aggregation {
                top: Some("log.syslog.appname".into()),
                ..Aggregation::default()
            },
        )
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("log.syslog.appname") && error.contains("host.name"),
        "{error}"
    );
}
