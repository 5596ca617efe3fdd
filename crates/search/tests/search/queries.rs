//! Index/query round trips through the real bus and indexer: tenant scoping, time ranges,
//! field filters, full text, bad queries.

use std::collections::BTreeSet;

use nigehban_search::{
    EventIndex, EventQuery, MAX_FILTERS, MAX_LIMIT, QueryError, SearchError, SortOrder, TenantScope,
};
use time::Duration;

use crate::common::{
    BASE, TestEvent, all_hits, ids, index_events, name_of, suricata_alert, syslog, test_id,
    windows_4688,
};

/// The same kinds of events for two tenants, so every filter matches in both.
fn fixture() -> Vec<TestEvent> {
    let mut events = Vec::new();
    for tenant in ["bank-01", "telco-02"] {
        let t = |minutes: i64| BASE + Duration::minutes(minutes);
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
            "mimikatz",
            windows_4688(
                t(-10),
                "WS02",
                r"C:\Users\alice\mimikatz.exe",
                "mimikatz.exe privilege::debug sekurlsa::logonpasswords",
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
    events
}

fn bank() -> TenantScope {
    TenantScope::tenant("bank-01")
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn bank_ids(names: &[&str]) -> Vec<String> {
    sorted(names.iter().map(|n| format!("bank-01-{n}")).collect())
}

async fn fixture_index() -> (tempfile::TempDir, EventIndex) {
    let dir = tempfile::tempdir().unwrap();
    let index = index_events(dir.path(), &fixture()).await;
    (dir, index)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_sees_only_its_own_events_and_an_empty_scope_sees_nothing() {
    let (_dir, index) = fixture_index().await;

    let mine = ids(&index, &EventQuery::new(bank()));
    assert_eq!(mine.len(), 6);
    assert!(mine.iter().all(|id| id.starts_with("bank-01-")), "{mine:?}");

    // Filters and text that match the other tenant's events too change nothing.
    let q = EventQuery::new(bank())
        .filter("host.name", "WS02")
        .text("mimikatz");
    assert_eq!(ids(&index, &q), ["bank-01-mimikatz"]);
    assert_eq!(index.count(&q).unwrap(), 1);

    let nobody = TenantScope::none();
    assert!(ids(&index, &EventQuery::new(nobody.clone())).is_empty());
    assert!(ids(&index, &EventQuery::new(nobody.clone()).text("mimikatz")).is_empty());
    assert_eq!(index.count(&EventQuery::new(nobody.clone())).unwrap(), 0);

    // A tenant that owns nothing sees nothing; two tenants see both; every tenant, all.
    assert!(ids(&index, &EventQuery::new(TenantScope::tenant("energy-03"))).is_empty());
    let both = TenantScope::tenants(["bank-01", "telco-02"]);
    assert_eq!(ids(&index, &EventQuery::new(both)).len(), 12);
    assert_eq!(
        ids(&index, &EventQuery::new(TenantScope::all_tenants())).len(),
        12
    );

    // Fetching by id is scoped the same way.
    assert!(
        index
            .get(&bank(), &test_id("telco-02-cmd"))
            .unwrap()
            .is_none()
    );
    assert!(
        index
            .get(&nobody, &test_id("bank-01-cmd"))
            .unwrap()
            .is_none()
    );
    let hit = index
        .get(&bank(), &test_id("bank-01-cmd"))
        .unwrap()
        .unwrap();
    assert_eq!(hit.tenant_id, "bank-01");
    assert_eq!(hit.event.tenant_id(), Some("bank-01"));
    // Across every tenant an event is found by id; an id is never matched by a prefix.
    let all = TenantScope::all_tenants();
    let hit = index.get(&all, &test_id("telco-02-cmd")).unwrap().unwrap();
    assert_eq!(
        (name_of(&hit.id).as_str(), hit.tenant_id.as_str()),
        ("telco-02-cmd", "telco-02")
    );
    let theirs = test_id("telco-02-cmd");
    assert!(index.get(&all, &theirs[..35]).unwrap().is_none());
    let mine = test_id("bank-01-cmd");
    assert!(index.get(&bank(), &mine[..35]).unwrap().is_none());
    assert!(index.get(&all, "").unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hits_carry_the_event_with_its_original_record_newest_first() {
    let (_dir, index) = fixture_index().await;
    let hits = all_hits(&index, &EventQuery::new(bank()));
    let order: Vec<String> = hits.iter().map(|h| name_of(&h.id)).collect();
    assert_eq!(
        order,
        [
            "bank-01-alert",
            "bank-01-mimikatz",
            "bank-01-cmd",
            "bank-01-cron",
            "bank-01-ssh-ok",
            "bank-01-ssh-fail"
        ]
    );
    assert!(hits.windows(2).all(|w| w[0].timestamp >= w[1].timestamp));
    let ssh = hits.last().unwrap();
    assert_eq!(ssh.timestamp, BASE - Duration::minutes(50));
    assert_eq!(ssh.sensor_id.as_deref(), Some("sensor-1"));
    let original = ssh.event.original().text.as_deref().unwrap();
    assert!(original.contains("Failed password for root"), "{original}");
    assert_eq!(ssh.event.module(), Some("syslog"));

    let oldest: Vec<String> = all_hits(
        &index,
        &EventQuery::new(bank()).order(SortOrder::OldestFirst),
    )
    .into_iter()
    .map(|h| name_of(&h.id))
    .collect();
    let mut reversed: Vec<String> = order.clone();
    reversed.reverse();
    assert_eq!(oldest, reversed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_ranges_include_from_and_exclude_to() {
    let (_dir, index) = fixture_index().await;
    let t = |m: i64| BASE + Duration::minutes(m);
    let q = EventQuery::new(bank()).between(t(-40), t(-10));
    assert_eq!(
        sorted(ids(&index, &q)),
        bank_ids(&["ssh-ok", "cron", "cmd"])
    );
    let q = EventQuery::new(bank()).between(t(-40), t(-40));
    assert!(ids(&index, &q).is_empty());
    let mut q = EventQuery::new(bank());
    q.from = Some(t(-10));
    assert_eq!(sorted(ids(&index, &q)), bank_ids(&["mimikatz", "alert"]));
    let mut q = EventQuery::new(bank());
    q.to = Some(t(-40));
    assert_eq!(ids(&index, &q), bank_ids(&["ssh-fail"]));
    // A microsecond either side.
    let q = EventQuery::new(bank()).between(t(-5) + Duration::microseconds(1), t(0));
    assert!(ids(&index, &q).is_empty());
    let q = EventQuery::new(bank()).between(
        t(-20) - Duration::microseconds(1),
        t(-20) + Duration::microseconds(1),
    );
    assert_eq!(ids(&index, &q), bank_ids(&["cmd"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_filters_on_ecs_and_catch_all_fields() {
    let (_dir, index) = fixture_index().await;
    let find = |q: EventQuery| sorted(ids(&index, &q));
    let q = || EventQuery::new(bank());

    // Dedicated ECS fields.
    assert_eq!(
        find(q().filter("winlog.event_id", "4688")),
        bank_ids(&["cmd", "mimikatz"])
    );
    assert_eq!(find(q().filter("host.name", "WS01")), bank_ids(&["cmd"]));
    assert_eq!(
        find(q().filter("event.module", "suricata")),
        bank_ids(&["alert"])
    );
    assert_eq!(
        find(q().filter("source.ip", "192.168.7.20")),
        bank_ids(&["alert"])
    );
    assert_eq!(
        find(q().filter("source.ip", "192.168.0.0/16")),
        bank_ids(&["alert"])
    );
    // sshd's logon lines carry the client's address as source.ip.
    assert_eq!(
        find(q().filter("source.ip", "10.0.0.0/8")),
        bank_ids(&["ssh-fail", "ssh-ok"])
    );
    assert!(find(q().filter("source.ip", "172.16.0.0/12")).is_empty());
    assert_eq!(
        find(q().filter("destination.ip", "203.0.113.9")),
        bank_ids(&["alert"])
    );
    assert_eq!(
        find(q().filter("rule.name", "ET POLICY Suspicious TLS SNI")),
        bank_ids(&["alert"])
    );
    assert_eq!(
        find(q().filter("winlog.channel", "Security")),
        bank_ids(&["cmd", "mimikatz"])
    );

    // Catch-all: members of object-valued fields and any other field.
    assert_eq!(
        find(q().filter(
            "winlog.event_data.NewProcessName",
            r"C:\Windows\System32\cmd.exe"
        )),
        bank_ids(&["cmd"])
    );
    assert_eq!(
        find(q().filter("log.syslog.appname", "sshd")),
        bank_ids(&["ssh-fail", "ssh-ok"])
    );
    assert_eq!(
        find(q().filter("destination.port", "443")),
        bank_ids(&["alert"])
    );
    // Exact match is case-sensitive, like ECS keywords.
    assert!(find(q().filter("log.syslog.appname", "SSHD")).is_empty());

    // One field twice ORs; different fields AND.
    assert_eq!(
        find(q().filter("host.name", "gw1").filter("host.name", "WS02")),
        bank_ids(&["ssh-fail", "cron", "mimikatz"])
    );
    assert_eq!(
        find(
            q().filter("host.name", "gw1")
                .filter("log.syslog.appname", "sshd")
        ),
        bank_ids(&["ssh-fail"])
    );
    assert!(
        find(
            q().filter("host.name", "gw1")
                .filter("winlog.event_id", "4688")
        )
        .is_empty()
    );
    // A field no event has is refused, with the closest names the scope's events have.
    match index.search(&q().filter("log.syslog.apname", "sshd")) {
        Err(SearchError::InvalidQuery(QueryError::UnknownField { field, closest })) => {
            assert_eq!(field, "log.syslog.apname");
            assert_eq!(
                closest.first().map(String::as_str),
                Some("log.syslog.appname")
            );
        }
        other => panic!("expected an unknown field, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_text_terms_and_phrases() {
    let (_dir, index) = fixture_index().await;
    let find = |q: EventQuery| sorted(ids(&index, &q));
    let q = || EventQuery::new(bank());
    assert_eq!(find(q().text("mimikatz")), bank_ids(&["mimikatz"]));
    assert_eq!(find(q().text("MIMIKATZ")), bank_ids(&["mimikatz"]));
    assert_eq!(
        find(q().text("sekurlsa::logonpasswords")),
        bank_ids(&["mimikatz"])
    );
    assert_eq!(find(q().text("failed password")), bank_ids(&["ssh-fail"]));
    // A phrase needs its words in order.
    assert!(find(q().text("password failed")).is_empty());
    // Every term must occur.
    assert_eq!(find(q().text("ssh2").text("root")), bank_ids(&["ssh-fail"]));
    assert_eq!(find(q().text("ssh2")), bank_ids(&["ssh-fail", "ssh-ok"]));
    // Addresses and paths are phrases of their parts.
    assert_eq!(find(q().text("10.1.2.3")), bank_ids(&["ssh-fail"]));
    assert_eq!(
        find(q().text(r"C:\Windows\System32\cmd.exe")),
        bank_ids(&["cmd"])
    );
    // Values only in the original record (Suricata's alert category) are searchable.
    assert_eq!(
        find(q().text("potentially bad traffic")),
        bank_ids(&["alert"])
    );
    // Terms restricted to the message.
    assert_eq!(
        find(q().message("accepted publickey")),
        bank_ids(&["ssh-ok"])
    );
    assert!(find(q().message("gw2")).is_empty());
    // The message is indexed once, in `message`: text terms find it there, phrases too,
    // and a phrase still never spans the message and another value.
    assert_eq!(
        find(q().text("accepted publickey for deploy")),
        bank_ids(&["ssh-ok"])
    );
    assert_eq!(
        find(q().text("publickey").text("gw2")),
        bank_ids(&["ssh-ok"])
    );
    assert!(find(q().text("ssh2 gw2")).is_empty());
    // And it is still an exact-match value.
    assert_eq!(
        find(q().filter(
            "message",
            "Accepted publickey for deploy from 10.9.9.9 port 22 ssh2"
        )),
        bank_ids(&["ssh-ok"])
    );
    // Text combines with filters and time.
    assert_eq!(
        find(q().text("ssh2").filter("host.name", "gw2")),
        bank_ids(&["ssh-ok"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_get_errors_naming_what_was_wrong() {
    let (_dir, index) = fixture_index().await;
    let invalid = |q: EventQuery| match index.search(&q) {
        Err(SearchError::InvalidQuery(e)) => e,
        other => panic!("expected an invalid query, got {other:?}"),
    };
    let q = || EventQuery::new(bank());

    for name in [
        "",
        "host..name",
        "host name",
        "a=b",
        ".x",
        "@timestamp",
        "event.ingested",
    ] {
        match invalid(q().filter(name, "x")) {
            QueryError::FieldName { name: got, reason } => {
                assert_eq!(got, name);
                assert!(!reason.is_empty());
            }
            other => panic!("{name:?}: {other:?}"),
        }
    }
    let e = invalid(q().filter("host.name", ""));
    assert!(
        matches!(&e, QueryError::FieldValue { field, .. } if field == "host.name"),
        "{e}"
    );
    let e = invalid(q().filter("source.ip", "10.0.0.0/40"));
    assert!(
        matches!(&e, QueryError::FieldValue { field, .. } if field == "source.ip"),
        "{e}"
    );

    let e = invalid(q().between(BASE, BASE - Duration::seconds(1)));
    assert!(matches!(e, QueryError::TimeRange { .. }), "{e}");
    assert!(e.to_string().contains("2026-03-01T12:00:00Z"), "{e}");

    assert_eq!(
        invalid(q().limit(0)),
        QueryError::Limit {
            limit: 0,
            max: MAX_LIMIT
        }
    );
    assert_eq!(
        invalid(q().limit(MAX_LIMIT + 1)),
        QueryError::Limit {
            limit: MAX_LIMIT + 1,
            max: MAX_LIMIT
        }
    );

    assert!(matches!(
        invalid(q().after("not-a-cursor")),
        QueryError::Cursor { .. }
    ));
    let cursor = all_hits(&index, &q().limit(1))[0].cursor.clone();
    let e = invalid(q().after(cursor).order(SortOrder::OldestFirst));
    assert!(matches!(e, QueryError::Cursor { reason, .. } if reason.contains("other sort order")));

    assert!(matches!(
        invalid(q().text("---")),
        QueryError::TextTerm { .. }
    ));
    let mut many = q();
    for i in 0..=MAX_FILTERS {
        many = many.filter("host.name", format!("h{i}"));
    }
    assert!(matches!(
        invalid(many),
        QueryError::TooMany {
            what: "field filters",
            ..
        }
    ));
    assert!(matches!(
        invalid(q().between(BASE, BASE + Duration::days(365 * 300))),
        QueryError::TimeOutOfRange { .. }
    ));

    // Valid after all: a scope without tenants is not an error, it sees nothing.
    assert_eq!(
        index
            .search(&EventQuery::new(TenantScope::none()))
            .unwrap()
            .count(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_are_unique_per_tenant_and_distinct_ids_stay_distinct() {
    // Two tenants use the same id: each keeps its own event.
    let dir = tempfile::tempdir().unwrap();
    let at = BASE;
    let events = vec![
        TestEvent::new("same", "bank-01", &syslog(at, "a", "x", "one"), at),
        TestEvent::new("same", "telco-02", &syslog(at, "b", "x", "two"), at),
    ];
    let index = index_events(dir.path(), &events).await;
    let all: BTreeSet<String> = all_hits(&index, &EventQuery::new(TenantScope::all_tenants()))
        .into_iter()
        .map(|h| h.tenant_id)
        .collect();
    assert_eq!(all.len(), 2);
}
