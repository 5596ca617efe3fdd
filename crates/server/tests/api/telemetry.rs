//! Telemetry through the real router and the real runtime (embedded bus, index,
//! indexer, health watch): intake answers, hostile requests, tenant scoping of
//! event search, idempotent resends, sensor health and metrics.

use std::io::Write as _;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use nigehban_app::model::{Role, Sector};
use serde_json::{Value, json};

use crate::harness::{Answer, INGEST_BODY_LIMIT, INGEST_DECOMPRESSED_LIMIT, Platform, call};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

async fn ingest(platform: &Platform, token: &str, uri: &str, body: impl Into<Vec<u8>>) -> Answer {
    platform
        .send(
            call(Method::POST, uri)
                .bearer(token)
                .raw("application/x-ndjson", body.into()),
        )
        .await
}

/// Searches as `token` until `want` events match (the indexer commits every second).
async fn search_until(platform: &Platform, token: &str, uri: &str, want: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = platform
            .send(call(Method::GET, uri).bearer(token).empty())
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        let found = answer.json["items"].as_array().unwrap().len();
        if found >= want || Instant::now() > deadline {
            return answer.json;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn good_lines_are_kept_bad_lines_reported_and_events_searchable_by_tenant() {
    let platform = Platform::new().await;
    let sector_a = platform.sector("CERT Telecom", Sector::Telecom).await;
    let org_a = platform.organisation(&sector_a, "Operator One").await;
    let sector_b = platform.sector("CERT Banking", Sector::Banking).await;
    let sensor_a = platform.sensor(&org_a).await;
    let sensor_b = platform.sensor(&sector_b).await;

    let body = "{\"message\":\"alpha login failed\",\"host\":\"web-1\",\"@timestamp\":\"2024-03-15T10:00:00Z\"}\n\
                not json\n\
                \n\
                \"<34>1 2024-03-15T10:00:01Z gw1 sshd 42 ID1 [origin ip=\\\"192.0.2.1\\\"] alpha syslog line\"\n\
                {\"broken\": \n";
    let answer = ingest(&platform, sensor_a.secret.expose(), "/api/v1/ingest", body).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(answer.json["accepted"], 2, "{}", answer.text);
    let lines: Vec<u64> = answer.json["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![2, 5], "{}", answer.text);

    let answer = ingest(
        &platform,
        sensor_b.secret.expose(),
        "/api/v1/ingest",
        "{\"message\":\"beta only\",\"tenant_id\":\"forged\"}\n",
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);

    // The national administrator sees both tenants' events.
    let admin = platform.sign_in("admin").await;
    let all = search_until(&platform, &admin.token, "/api/v1/events", 3).await;
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{all}");
    let beta = items
        .iter()
        .find(|e| e["event"]["fields"]["message"] == "beta only")
        .unwrap_or_else(|| panic!("{all}"));
    assert_eq!(beta["tenant"], sector_b.id.to_string(), "{beta}");
    assert_eq!(beta["sensor"], sensor_b.sensor.id.to_string());

    // An analyst of sector A sees sector A's subtree only, never sector B's.
    platform.user(&sector_a, "a-analyst", Role::Analyst).await;
    let analyst = platform.sign_in("a-analyst").await;
    let seen = search_until(&platform, &analyst.token, "/api/v1/events", 2).await;
    let tenants: Vec<&str> = seen["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["tenant"].as_str().unwrap())
        .collect();
    assert_eq!(tenants.len(), 2, "{seen}");
    assert!(tenants.iter().all(|t| *t == org_a.id.to_string()), "{seen}");
    let answer = platform
        .send(
            call(
                Method::GET,
                &format!("/api/v1/events?under={}", sector_b.id),
            )
            .bearer(&analyst.token)
            .empty(),
        )
        .await;
    answer.assert_error(StatusCode::NOT_FOUND, "not_found");

    // Filters, text, fields and the structured data of the syslog line.
    let uri = "/api/v1/events?q=alpha&filter=log.syslog.appname%3Dsshd&fields=message,host.name,log.syslog.priority,log.syslog.structured_data";
    let found = search_until(&platform, &analyst.token, uri, 1).await;
    let items = found["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{found}");
    let fields = &items[0]["fields"];
    assert_eq!(fields["host.name"], "gw1", "{found}");
    assert_eq!(fields["log.syslog.priority"], 34, "{found}");
    assert!(
        fields["log.syslog.structured_data"]
            .to_string()
            .contains("192.0.2.1"),
        "{found}"
    );
    assert!(items[0].get("event").is_none(), "{found}");

    // Paging by cursor returns each event once.
    let first = search_until(&platform, &admin.token, "/api/v1/events?limit=2", 2).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = platform
        .send(
            call(
                Method::GET,
                &format!("/api/v1/events?limit=2&cursor={cursor}"),
            )
            .bearer(&admin.token)
            .empty(),
        )
        .await;
    assert_eq!(
        rest.json["items"].as_array().unwrap().len(),
        1,
        "{}",
        rest.text
    );
    assert_eq!(rest.json["next_cursor"], Value::Null);
}

/// Issue 8, item 2: the API answered `"original": {}` for every JSON event, and the members
/// of the original that normalisation does not map could not be filtered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suricata_event_comes_back_with_its_original_exactly_and_unmapped_fields_filter() {
    let platform = Platform::new().await;
    let sensor = platform.sensor(&platform.root).await;
    let admin = platform.sign_in("admin").await;
    // As Suricata writes it: its member order, a float with a trailing zero, a `\u` escape.
    let suricata = r#"{"timestamp":"2024-03-15T10:22:14.985026+0100","flow_id":1482693941234567,"in_iface":"eth0","event_type":"alert","src_ip":"10.1.2.3","src_port":51000,"dest_ip":"203.0.113.9","dest_port":443,"proto":"TCP","alert":{"action":"allowed","signature_id":2010935,"rev":3,"signature":"ET POLICY Suspicious TLS SNI \u00e9","category":"Potentially Bad Traffic","severity":2,"metadata":{"signature_severity":["Major"]}},"flow":{"pkts_toserver":3,"pkts_toclient":1,"bytes_toserver":1.50}}"#;
    let zeek = r#"{"_path":"conn","ts":1710494534.5,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"10.0.0.5","id.orig_p":50123,"id.resp_h":"93.184.216.34","id.resp_p":80,"proto":"tcp","conn_state":"SF","history":"ShADadfF"}"#;
    let body = format!("{suricata}\n{zeek}\n");
    let answer = ingest(&platform, sensor.secret.expose(), "/api/v1/ingest", body).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(answer.json["accepted"], 2, "{}", answer.text);
    search_until(&platform, &admin.token, "/api/v1/events", 2).await;

    let found = search_until(
        &platform,
        &admin.token,
        "/api/v1/events?filter=flow.pkts_toserver%3D3&filter=alert.metadata.signature_severity%3DMajor",
        1,
    )
    .await;
    let items = found["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{found}");
    let original = &items[0]["event"]["original"];
    assert_eq!(original["text"].as_str(), Some(suricata), "{found}");
    let parsed: Value = serde_json::from_str(suricata).unwrap();
    assert_eq!(original["json"], parsed, "{found}");
    assert_eq!(items[0]["event"]["fields"]["event.module"], "suricata");

    // The Zeek record's own names filter too, and a wrong value finds nothing.
    let found = search_until(
        &platform,
        &admin.token,
        "/api/v1/events?filter=history%3DShADadfF",
        1,
    )
    .await;
    let items = found["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{found}");
    assert_eq!(items[0]["event"]["original"]["text"].as_str(), Some(zeek));
    let none = platform
        .send(
            call(Method::GET, "/api/v1/events?filter=flow.pkts_toserver%3D4")
                .bearer(&admin.token)
                .empty(),
        )
        .await;
    assert_eq!(none.status, StatusCode::OK, "{}", none.text);
    assert_eq!(none.json["items"], json!([]), "{}", none.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resent_request_with_the_same_idempotency_key_is_stored_once() {
    let platform = Platform::new().await;
    let sensor = platform.sensor(&platform.root).await;
    let admin = platform.sign_in("admin").await;
    let body = "{\"message\":\"once\"}\n{\"message\":\"twice\"}\n";
    for _ in 0..2 {
        let answer = platform
            .send(
                call(Method::POST, "/api/v1/ingest")
                    .bearer(sensor.secret.expose())
                    .header("idempotency-key", "batch-0001")
                    .raw("application/x-ndjson", body),
            )
            .await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    }
    // A different key is a different request.
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/ingest")
                .bearer(sensor.secret.expose())
                .header("idempotency-key", "batch-0002")
                .raw("application/x-ndjson", "{\"message\":\"once\"}\n"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let found = search_until(&platform, &admin.token, "/api/v1/events", 3).await;
    // Give a wrongly duplicated copy time to show up too.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let found_again = search_until(&platform, &admin.token, "/api/v1/events", 3).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 3, "{found}");
    assert_eq!(
        found_again["items"].as_array().unwrap().len(),
        3,
        "{found_again}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_intake_requests_are_refused_with_clear_errors() {
    let platform = Platform::new().await;
    let sensor = platform.sensor(&platform.root).await;
    let token = sensor.secret.expose();

    // Not gzip, though it says so.
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/ingest")
                .bearer(token)
                .header("content-encoding", "gzip")
                .raw("application/x-ndjson", "{\"message\":\"x\"}\n"),
        )
        .await;
    answer.assert_error(StatusCode::BAD_REQUEST, "bad_request");
    assert!(answer.text.contains("gzip"), "{}", answer.text);

    // Gzip magic, then garbage.
    let mut broken = gzip(b"{\"message\":\"x\"}\n");
    broken.truncate(12);
    let answer = ingest(&platform, token, "/api/v1/ingest", broken).await;
    answer.assert_error(StatusCode::BAD_REQUEST, "bad_request");

    // A body over the intake limit.
    let huge = "{\"message\":\"padding\"}\n".repeat(INGEST_BODY_LIMIT / 20 + 10);
    let answer = ingest(&platform, token, "/api/v1/ingest", huge).await;
    answer.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");

    // A small gzip body that inflates past the decompressed limit.
    let bomb = gzip(&vec![b' '; INGEST_DECOMPRESSED_LIMIT * 3]);
    assert!(bomb.len() < INGEST_BODY_LIMIT);
    let answer = ingest(&platform, token, "/api/v1/ingest", bomb).await;
    answer.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");

    // A format that does not exist.
    let answer = ingest(
        &platform,
        token,
        "/api/v1/ingest?format=xml",
        "{\"message\":\"x\"}\n",
    )
    .await;
    answer.assert_error(StatusCode::BAD_REQUEST, "bad_request");
    assert!(answer.text.contains("xml"), "{}", answer.text);

    // An encoding that is not supported.
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/ingest")
                .bearer(token)
                .header("content-encoding", "br")
                .raw("application/x-ndjson", "{\"message\":\"x\"}\n"),
        )
        .await;
    answer.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_encoding");

    // An idempotency key with a control character.
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/ingest")
                .bearer(token)
                .header("idempotency-key", "a b")
                .raw("application/x-ndjson", "{\"message\":\"x\"}\n"),
        )
        .await;
    answer.assert_error(StatusCode::BAD_REQUEST, "bad_request");

    // Unknown, malformed and non-sensor tokens.
    let admin = platform.sign_in("admin").await;
    for bad in ["ngs_unknown", "not-a-token", admin.token.as_str(), "ngs_"] {
        let answer = ingest(&platform, bad, "/api/v1/ingest", "{\"message\":\"x\"}\n").await;
        answer.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/ingest")
                .raw("application/x-ndjson", "{\"message\":\"x\"}\n"),
        )
        .await;
    answer.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");

    // A revoked token stops at once; a deactivated sensor's too.
    let answer = platform
        .send(
            call(
                Method::POST,
                &format!(
                    "/api/v1/sensors/{}/tokens/{}/revoke",
                    sensor.sensor.id, sensor.token.id
                ),
            )
            .bearer(&admin.token)
            .empty(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let answer = ingest(&platform, token, "/api/v1/ingest", "{\"message\":\"x\"}\n").await;
    answer.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");

    // Nothing of the refused requests reached search.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let found = platform
        .send(
            call(Method::GET, "/api/v1/events")
                .bearer(&admin.token)
                .empty(),
        )
        .await;
    assert_eq!(found.json["items"], json!([]), "{}", found.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_sensors_are_not_found() {
    let platform = Platform::new().await;
    let sector_a = platform.sector("CERT Telecom", Sector::Telecom).await;
    let sector_b = platform.sector("CERT Banking", Sector::Banking).await;
    let own = platform.sensor(&sector_a).await;
    let theirs = platform.sensor(&sector_b).await;
    platform
        .user(&sector_a, "a-admin", Role::Administrator)
        .await;
    let admin_a = platform.sign_in("a-admin").await;
    for (method, uri, body) in [
        (
            Method::GET,
            format!("/api/v1/sensors/{}", theirs.sensor.id),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/v1/sensors/{}", theirs.sensor.id),
            Some(json!({"name": "mine now"})),
        ),
        (
            Method::POST,
            format!("/api/v1/sensors/{}/tokens/rotate", theirs.sensor.id),
            Some(json!({})),
        ),
        (
            Method::GET,
            format!("/api/v1/sensors/{}/health", theirs.sensor.id),
            None,
        ),
        // Their token through one's own sensor is not found either.
        (
            Method::POST,
            format!(
                "/api/v1/sensors/{}/tokens/{}/revoke",
                own.sensor.id, theirs.token.id
            ),
            None,
        ),
    ] {
        let request = call(method.clone(), &uri).bearer(&admin_a.token);
        let request = match body {
            Some(body) => request.json(&body),
            None => request.empty(),
        };
        let answer = platform.send(request).await;
        answer.assert_error(StatusCode::NOT_FOUND, "not_found");
    }
    // Registering a sensor for another tenant is refused the same way.
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/sensors")
                .bearer(&admin_a.token)
                .json(&json!({"tenant": sector_b.id, "name": "foreign", "kind": "ids"})),
        )
        .await;
    answer.assert_error(StatusCode::NOT_FOUND, "not_found");
    // Bad fields are named.
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/sensors")
                .bearer(&admin_a.token)
                .json(&json!({"name": "x", "kind": "toaster"})),
        )
        .await;
    answer.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    assert!(answer.text.contains("kind"), "{}", answer.text);
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/sensors")
                .bearer(&admin_a.token)
                .json(&json!({"name": "x", "kind": "ids", "expected_interval_seconds": 1})),
        )
        .await;
    answer.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/sensors")
                .bearer(&admin_a.token)
                .json(&json!({"name": "x", "kind": "ids", "colour": "red"})),
        )
        .await;
    answer.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "unknown_field");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_sensor_raises_a_health_event_and_recovers_when_data_returns() {
    let platform = Platform::new().await;
    let admin = platform.sign_in("admin").await;
    let registered = platform
        .send(
            call(Method::POST, "/api/v1/sensors")
                .bearer(&admin.token)
                .json(
                    &json!({"name": "quiet ids", "kind": "ids", "expected_interval_seconds": 10}),
                ),
        )
        .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.text
    );
    let sensor = registered.json["sensor"]["id"].as_str().unwrap().to_owned();
    let secret = registered.json["secret"].as_str().unwrap().to_owned();
    let history = format!("/api/v1/sensors/{sensor}/health");

    // The health watch checks every 200 ms here: silence is seen within its
    // 10 s interval plus that.
    let started = Instant::now();
    let silent = loop {
        let answer = platform
            .send(call(Method::GET, &history).bearer(&admin.token).empty())
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        if let Some(event) = answer.json["items"].as_array().unwrap().first() {
            break event.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(25),
            "no health event after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "silent too early"
    );
    assert_eq!(silent["kind"], "silent", "{silent}");
    assert_eq!(silent["expected_interval_seconds"], 10, "{silent}");

    let statuses = platform
        .send(
            call(Method::GET, "/api/v1/sensor-health")
                .bearer(&admin.token)
                .empty(),
        )
        .await;
    let status = statuses.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sensor"] == sensor.as_str())
        .unwrap_or_else(|| panic!("{}", statuses.text))
        .clone();
    assert_eq!(status["silent"], true, "{status}");

    let answer = ingest(
        &platform,
        &secret,
        "/api/v1/ingest",
        "{\"message\":\"back\"}\n",
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = platform
            .send(call(Method::GET, &history).bearer(&admin.token).empty())
            .await;
        let kinds: Vec<&str> = answer.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        if kinds.first() == Some(&"recovered") {
            break;
        }
        assert!(Instant::now() < deadline, "no recovery: {}", answer.text);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let statuses = platform
        .send(
            call(Method::GET, "/api/v1/sensor-health")
                .bearer(&admin.token)
                .empty(),
        )
        .await;
    let status = statuses.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sensor"] == sensor.as_str())
        .unwrap()
        .clone();
    assert_eq!(status["silent"], false, "{status}");
    assert_eq!(status["events"], 1, "{status}");
    assert!(status["last_event_at"].is_string(), "{status}");
    let events = platform
        .send(
            call(Method::GET, "/api/v1/sensor-health/events")
                .bearer(&admin.token)
                .empty(),
        )
        .await;
    assert_eq!(
        events.json["items"].as_array().unwrap().len(),
        2,
        "{}",
        events.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_intake_bus_and_search_counters() {
    // The per-sensor series go only to the scraper with the token.
    let scrape_token = "scrape-token-of-this-test-0123456789";
    let platform = Platform::with_options(nigehban_server::ServerOptions {
        scrape_token: Some(nigehban_server::ScrapeToken::parse(scrape_token).unwrap()),
        ..Platform::options()
    })
    .await;
    let sensor = platform.sensor(&platform.root).await;
    let answer = ingest(
        &platform,
        sensor.secret.expose(),
        "/api/v1/ingest",
        "{\"message\":\"one\"}\nnot json\n",
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let admin = platform.sign_in("admin").await;
    search_until(&platform, &admin.token, "/api/v1/events", 1).await;
    let metrics = platform
        .send(call(Method::GET, "/metrics").bearer(scrape_token).empty())
        .await;
    let text = metrics.text;
    let sensor_id = sensor.sensor.id.to_string();
    for expected in [
        "nigehban_intake_received_total{transport=\"http\"} 2".to_owned(),
        "nigehban_intake_accepted_total{transport=\"http\"} 1".to_owned(),
        "nigehban_intake_rejected_total{transport=\"http\"} 1".to_owned(),
        "nigehban_intake_dropped_total{transport=\"udp\"} 0".to_owned(),
        format!(
            "nigehban_intake_sensor_accepted_total{{tenant=\"{}\",sensor=\"{sensor_id}\"}} 1",
            platform.root.id
        ),
        "nigehban_bus_consumer_lag{consumer=\"search\"}".to_owned(),
        "nigehban_search_indexed_total 1".to_owned(),
        "nigehban_intake_publish_latency_seconds_count 1".to_owned(),
        "nigehban_sensor_token_refusals_total 0".to_owned(),
    ] {
        assert!(text.contains(&expected), "{expected} missing from:\n{text}");
    }
}
