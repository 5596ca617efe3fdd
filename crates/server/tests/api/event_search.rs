//! Event search as analysts use it, through the real router and runtime: the query
//! language in `q=`, positioned syntax errors, unknown fields named with the closest
//! known ones, the field list and the counts, each scoped to the caller's tenants.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use nigehban_app::model::{Role, Sector};
use serde_json::Value;

use crate::harness::{Answer, Platform, call};

async fn get(platform: &Platform, token: &str, uri: &str) -> Answer {
    platform
        .send(call(Method::GET, uri).bearer(token).empty())
        .await
}

/// `q` percent-encoded for a query string.
fn q(query: &str) -> String {
    form_urlencoded::byte_serialize(query.as_bytes()).collect()
}

/// The `host.name` of every event `query` finds as `token`, sorted.
async fn hosts(platform: &Platform, token: &str, query: &str) -> Vec<String> {
    let answer = get(
        platform,
        token,
        &format!("/api/v1/events?q={}&fields=host.name", q(query)),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.text);
    let mut hosts: Vec<String> = answer.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            item["fields"]["host.name"]
                .as_str()
                .unwrap_or("-")
                .to_owned()
        })
        .collect();
    hosts.sort();
    hosts
}

/// Two sectors, each with the same three syslog lines (hosts named after the sector) and
/// a Suricata alert; sector B's sensor also sends a Zeek connection.
struct Fixture {
    platform: Platform,
    sector_a: nigehban_app::model::Tenant,
    sector_b: nigehban_app::model::Tenant,
}

async fn fixture() -> Fixture {
    let platform = Platform::new().await;
    let sector_a = platform.sector("CERT Telecom", Sector::Telecom).await;
    let sector_b = platform.sector("CERT Banking", Sector::Banking).await;
    for (tenant, prefix) in [(&sector_a, "a"), (&sector_b, "b")] {
        let sensor = platform.sensor(tenant).await;
        let mut body = String::new();
        for (minute, host, app, message) in [
            (
                0,
                "GW1",
                "sshd",
                "Failed password for root from 10.1.2.3 port 22 ssh2",
            ),
            (
                10,
                "gw2",
                "sshd",
                "Accepted publickey for deploy from 10.9.9.9 port 22 ssh2",
            ),
            (20, "gw1", "CRON", "(root) CMD (run-parts /etc/cron.hourly)"),
        ] {
            let line = format!(
                "<38>1 2026-03-01T10:{minute:02}:00Z {prefix}-{host} {app} 42 - - {message}"
            );
            body.push_str(&serde_json::to_string(&line).unwrap());
            body.push('\n');
        }
        body.push_str(
            &serde_json::json!({
                "timestamp": "2026-03-01T10:30:00Z", "event_type": "alert",
                "src_ip": "192.168.7.20", "src_port": 51000, "dest_ip": "203.0.113.9",
                "dest_port": 443, "proto": "TCP",
                "alert": {"signature_id": 2010935, "rev": 3, "signature": "ET POLICY Suspicious TLS SNI",
                          "category": "Potentially Bad Traffic", "severity": 2},
            })
            .to_string(),
        );
        body.push('\n');
        if prefix == "b" {
            body.push_str(
                "{\"ts\":1772360400.5,\"uid\":\"CzKq1\",\"id.orig_h\":\"10.20.0.5\",\"id.orig_p\":50000,\"id.resp_h\":\"10.20.0.6\",\"id.resp_p\":80,\"proto\":\"tcp\",\"history\":\"ShADadfF\"}\n",
            );
        }
        let answer = platform
            .send(
                call(Method::POST, "/api/v1/ingest")
                    .bearer(sensor.secret.expose())
                    .raw("application/x-ndjson", body),
            )
            .await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    }
    // Wait until all nine events are searchable.
    let admin = platform.sign_in("admin").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = get(&platform, &admin.token, "/api/v1/events?limit=100").await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        if answer.json["items"].as_array().unwrap().len() >= 9 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "events not indexed: {}",
            answer.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    platform.user(&sector_a, "a-analyst", Role::Analyst).await;
    Fixture {
        platform,
        sector_a,
        sector_b,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_query_language_finds_what_each_operator_asks_within_the_callers_tenants() {
    let f = fixture().await;
    let analyst = f.platform.sign_in("a-analyst").await;
    let token = &analyst.token;
    let p = &f.platform;
    for (query, expected) in [
        // field:value without case on names; := keeps case.
        ("host.name:a-gw1", vec!["a-GW1", "a-gw1"]),
        ("host.name:=a-gw1", vec!["a-gw1"]),
        // Words and phrases.
        ("\"failed password\"", vec!["a-GW1"]),
        ("publickey", vec!["a-gw2"]),
        // Wildcards.
        ("host.name:*GW*", vec!["a-GW1", "a-gw1", "a-gw2"]),
        ("log.syslog.appname:ss?d", vec!["a-GW1", "a-gw2"]),
        // Boolean operators and parentheses.
        ("sshd AND NOT host.name:a-gw2", vec!["a-GW1"]),
        (
            "(host.name:a-gw2 OR cron) AND log.syslog.appname:*",
            vec!["a-gw1", "a-gw2"],
        ),
        // Ranges on numbers and times.
        ("destination.port:[400 TO 500]", vec!["-"]),
        (
            "@timestamp:[2026-03-01T10:05:00Z TO 2026-03-01T10:20:00Z}",
            vec!["a-gw2"],
        ),
        // CIDR.
        ("source.ip:10.0.0.0/8", vec!["a-GW1", "a-gw2"]),
        ("source.ip:192.168.0.0/16", vec!["-"]),
    ] {
        assert_eq!(hosts(p, token, query).await, expected, "{query}");
    }
    // The national administrator sees both sectors' events for the same query.
    let admin = p.sign_in("admin").await;
    assert_eq!(
        hosts(p, &admin.token, "host.name:*gw1").await,
        ["a-GW1", "a-gw1", "b-GW1", "b-gw1"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_and_unknown_fields_are_400_with_the_column_or_the_closest_names() {
    let f = fixture().await;
    let analyst = f.platform.sign_in("a-analyst").await;
    let p = &f.platform;

    let answer = get(
        p,
        &analyst.token,
        &format!("/api/v1/events?q={}", q("sshd AND (host.name:x OR")),
    )
    .await;
    answer.assert_error(StatusCode::BAD_REQUEST, "bad_request");
    let message = answer.json["error"]["message"].as_str().unwrap();
    assert!(message.contains("column 25"), "{message}");
    assert_eq!(answer.json["error"]["field"], "q", "{}", answer.text);

    let answer = get(
        p,
        &analyst.token,
        &format!("/api/v1/events?q={}", q("hots.name:gw1")),
    )
    .await;
    answer.assert_error(StatusCode::BAD_REQUEST, "bad_request");
    let message = answer.json["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("\"hots.name\"") && message.contains("host.name"),
        "{message}"
    );
    assert_eq!(
        answer.json["error"]["field"], "hots.name",
        "{}",
        answer.text
    );

    // The same for a filter.
    let answer = get(
        p,
        &analyst.token,
        "/api/v1/events?filter=log.syslog.apname%3Dsshd",
    )
    .await;
    answer.assert_error(StatusCode::BAD_REQUEST, "bad_request");
    let message = answer.json["error"]["message"].as_str().unwrap();
    assert!(message.contains("log.syslog.appname"), "{message}");

    // A field only sector B's events have does not exist for sector A's analyst.
    let answer = get(
        p,
        &analyst.token,
        &format!("/api/v1/events?q={}", q("history:ShADadfF")),
    )
    .await;
    answer.assert_error(StatusCode::BAD_REQUEST, "bad_request");
    let admin = p.sign_in("admin").await;
    let answer = get(
        p,
        &admin.token,
        &format!(
            "/api/v1/events?q={}&under={}",
            q("history:ShADadfF"),
            f.sector_b.id
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(
        answer.json["items"].as_array().unwrap().len(),
        1,
        "{}",
        answer.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_field_list_has_types_and_only_the_fields_of_the_callers_events() {
    let f = fixture().await;
    let analyst = f.platform.sign_in("a-analyst").await;
    let answer = get(&f.platform, &analyst.token, "/api/v1/events/fields").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let items = answer.json["items"].as_array().unwrap();
    let field = |name: &str| items.iter().find(|f| f["name"] == name).cloned();
    let host = field("host.name").unwrap();
    assert_eq!(host["type"], "keyword");
    assert_eq!(host["case_insensitive"], true);
    assert_eq!(host["aggregatable"], true);
    assert_eq!(field("source.ip").unwrap()["type"], "ip");
    assert_eq!(field("destination.port").unwrap()["type"], "number");
    assert_eq!(field("@timestamp").unwrap()["type"], "date");
    let appname = field("log.syslog.appname").unwrap();
    assert_eq!(appname["type"], "keyword");
    assert_eq!(appname["aggregatable"], false);
    assert!(field("history").is_none(), "{}", answer.text);

    let admin = f.platform.sign_in("admin").await;
    let answer = get(
        &f.platform,
        &admin.token,
        &format!("/api/v1/events/fields?under={}", f.sector_b.id),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert!(
        answer.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "history")
    );
    // Another sector is not the analyst's to list.
    let answer = get(
        &f.platform,
        &analyst.token,
        &format!("/api/v1/events/fields?under={}", f.sector_b.id),
    )
    .await;
    answer.assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_by_top_values_and_over_time_are_scoped_like_search() {
    let f = fixture().await;
    let analyst = f.platform.sign_in("a-analyst").await;
    let p = &f.platform;
    let answer = get(
        p,
        &analyst.token,
        &format!(
            "/api/v1/events/aggregate?top=host.name&size=2&interval=15m&q={}",
            q("NOT event.module:suricata")
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let json: &Value = &answer.json;
    assert_eq!(json["total"], 3, "{json}");
    assert_eq!(json["top"]["field"], "host.name");
    assert_eq!(
        json["top"]["values"],
        serde_json::json!([{"value": "a-GW1", "count": 1}, {"value": "a-gw1", "count": 1}]),
        "{json}"
    );
    assert_eq!(json["top"]["other"], 1, "{json}");
    assert_eq!(json["top"]["missing"], 0, "{json}");
    assert_eq!(
        json["over_time"],
        serde_json::json!([
            {"start": "2026-03-01T10:00:00Z", "count": 2},
            {"start": "2026-03-01T10:15:00Z", "count": 1},
        ]),
        "{json}"
    );

    // The national administrator counts both sectors; under sector A, only A's.
    let admin = p.sign_in("admin").await;
    let answer = get(p, &admin.token, "/api/v1/events/aggregate?top=event.module").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json["total"], 9, "{}", answer.text);
    let answer = get(
        p,
        &admin.token,
        &format!(
            "/api/v1/events/aggregate?top=event.module&under={}",
            f.sector_a.id
        ),
    )
    .await;
    assert_eq!(answer.json["total"], 4, "{}", answer.text);
    assert_eq!(
        answer.json["top"]["values"],
        serde_json::json!([{"value": "syslog", "count": 3}, {"value": "suricata", "count": 1}]),
        "{}",
        answer.text
    );
    assert!(answer.json["over_time"].is_null());

    // Bad parameters are named.
    let answer = get(
        p,
        &analyst.token,
        "/api/v1/events/aggregate?top=log.syslog.appname",
    )
    .await;
    answer.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    assert_eq!(answer.json["error"]["field"], "top");
    let answer = get(p, &analyst.token, "/api/v1/events/aggregate?interval=soon").await;
    answer.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    assert_eq!(answer.json["error"]["field"], "interval");
    let answer = get(p, &analyst.token, "/api/v1/events/aggregate?limit=5").await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.text
    );
    let answer = get(
        p,
        &analyst.token,
        &format!("/api/v1/events/aggregate?under={}", f.sector_b.id),
    )
    .await;
    answer.assert_error(StatusCode::NOT_FOUND, "not_found");
}
