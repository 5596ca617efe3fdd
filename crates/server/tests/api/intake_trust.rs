//! Intake regressions of issue 8, item 9, through the real router and
//! runtime: one format vocabulary for the registry and `?format=`, events of
//! a format the sensor does not expect kept and flagged and counted, and
//! year-less syslog timestamps never placed in the future.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::harness::{Answer, Credentials, Platform, call};

async fn ingest(platform: &Platform, token: &str, uri: &str, body: &str) -> Answer {
    platform
        .send(
            call(Method::POST, uri)
                .bearer(token)
                .raw("application/x-ndjson", body.to_owned()),
        )
        .await
}

/// Searches as `admin` until `want` events match (the indexer commits every second).
async fn search_until(platform: &Platform, admin: &Credentials, uri: &str, want: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = platform
            .send(call(Method::GET, uri).bearer(&admin.token).empty())
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        let found = answer.json["items"].as_array().unwrap().len();
        if found >= want || Instant::now() > deadline {
            return answer.json;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Registers a sensor of the root tenant sending `formats`; its id and ingest token.
async fn sensor(
    platform: &Platform,
    admin: &Credentials,
    name: &str,
    formats: Value,
) -> (String, String) {
    let registered = platform
        .send(
            call(Method::POST, "/api/v1/sensors")
                .bearer(&admin.token)
                .json(&json!({"name": name, "kind": "ids", "expected_formats": formats})),
        )
        .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.text
    );
    let id = registered.json["sensor"]["id"].as_str().unwrap().to_owned();
    let secret = registered.json["secret"].as_str().unwrap().to_owned();
    (id, secret)
}

const EVE: &str = r#"{"timestamp":"2024-03-15T10:22:14.985026+0100","event_type":"alert","src_ip":"10.1.2.3","src_port":41402,"dest_ip":"198.51.100.7","dest_port":80,"proto":"TCP","alert":{"signature_id":2013504,"signature":"ET POLICY eve-marker","category":"y","severity":3}}"#;
const ZEEK: &str = r#"{"ts":1710496934.865716,"uid":"Czeekmarker","id.orig_h":"10.47.1.100","id.orig_p":41772,"id.resp_h":"10.0.0.100","id.resp_p":53,"proto":"udp","_path":"conn"}"#;
const SYSLOG: &str = r#""<34>1 2024-03-15T10:00:01Z gw1 sshd 42 ID1 - syslog-marker line""#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_format_parameter_speaks_the_registry_s_words() {
    let platform = Platform::new().await;
    let admin = platform.sign_in("admin").await;
    let (_, secret) = sensor(&platform, &admin, "any", json!([])).await;
    // Every word the registry stores, and the old spellings, are formats here too.
    for word in [
        "suricata_eve",
        "windows_json",
        "evtx",
        "syslog",
        "cef",
        "zeek",
        "json",
        "text",
        "auto",
        "suricata",
        "eve",
        "windows",
        "Suricata-EVE",
    ] {
        let answer = ingest(
            &platform,
            &secret,
            &format!("/api/v1/ingest?format={word}"),
            "",
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::ACCEPTED,
            "{word}: {}",
            answer.text
        );
    }
    let answer = ingest(&platform, &secret, "/api/v1/ingest?format=xml", "").await;
    answer.assert_error(StatusCode::BAD_REQUEST, "bad_request");
    for word in ["xml", "suricata_eve", "windows_json", "auto"] {
        assert!(
            answer.text.contains(word),
            "{word} not named: {}",
            answer.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_a_format_the_sensor_does_not_expect_are_kept_flagged_and_counted() {
    // Series that name sensors go only to the scraper with the token.
    const SCRAPE_TOKEN: &str = "scrape-token-of-this-test-0123456789";
    let platform = Platform::with_options(nigehban_server::ServerOptions {
        scrape_token: Some(nigehban_server::ScrapeToken::parse(SCRAPE_TOKEN).unwrap()),
        ..Platform::options()
    })
    .await;
    let admin = platform.sign_in("admin").await;
    let (id, secret) = sensor(&platform, &admin, "edge ids", json!(["suricata_eve"])).await;
    let body = format!("{EVE}\n{ZEEK}\n{SYSLOG}\n");
    let answer = ingest(&platform, &secret, "/api/v1/ingest", &body).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(
        answer.json["accepted"], 3,
        "kept, not refused: {}",
        answer.text
    );
    assert_eq!(answer.json["rejected"], json!([]), "{}", answer.text);

    let found = search_until(
        &platform,
        &admin,
        "/api/v1/events?filter=event.module=zeek",
        1,
    )
    .await;
    let zeek = &found["items"][0]["event"];
    let diagnostics = zeek["diagnostics"].to_string();
    assert!(
        diagnostics.contains("not a format this sensor is registered to send")
            && diagnostics.contains("suricata_eve"),
        "{zeek}"
    );
    let found = search_until(
        &platform,
        &admin,
        "/api/v1/events?filter=event.module=suricata",
        1,
    )
    .await;
    let eve = &found["items"][0]["event"];
    assert!(
        !eve["diagnostics"].to_string().contains("not a format"),
        "the expected format is not flagged: {eve}"
    );

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
        .find(|s| s["sensor"] == id.as_str())
        .unwrap_or_else(|| panic!("{}", statuses.text))
        .clone();
    assert_eq!(status["events"], 3, "{status}");
    assert_eq!(status["unexpected_format"], 2, "{status}");
    assert_eq!(status["errors"], 0, "{status}");
    let metrics = platform
        .send(call(Method::GET, "/metrics").bearer(SCRAPE_TOKEN).empty())
        .await;
    let expected = format!(
        "nigehban_intake_sensor_unexpected_format_total{{tenant=\"{}\",sensor=\"{id}\"}} 2",
        platform.root.id
    );
    assert!(
        metrics.text.contains(&expected),
        "{expected} missing from:\n{}",
        metrics.text
    );

    // A format asked for by the request is a promise: what breaks it is refused.
    let answer = ingest(
        &platform,
        &secret,
        "/api/v1/ingest?format=suricata_eve",
        &format!("{ZEEK}\n"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(answer.json["accepted"], 0, "{}", answer.text);
    assert_eq!(answer.json["rejected"][0]["line"], 1, "{}", answer.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_yearless_syslog_timestamp_is_never_placed_in_the_future() {
    let platform = Platform::new().await;
    let admin = platform.sign_in("admin").await;
    let (_, secret) = sensor(&platform, &admin, "relay", json!(["syslog"])).await;
    // A month from now, without a year: last year's, not next month's.
    let now = OffsetDateTime::now_utc();
    let later = now + time::Duration::days(30);
    let month = &later.month().to_string()[..3];
    let line = format!(
        "\"<38>{month} {:>2} 10:22:14 web01 sshd[4242]: yearlessmarker\"\n",
        later.day()
    );
    let answer = ingest(&platform, &secret, "/api/v1/ingest", &line).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(answer.json["accepted"], 1, "{}", answer.text);
    let found = search_until(
        &platform,
        &admin,
        "/api/v1/events?q=yearlessmarker&from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z",
        1,
    )
    .await;
    let stamp = found["items"][0]["@timestamp"]
        .as_str()
        .unwrap_or_else(|| panic!("{found}"));
    let at = OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339).unwrap();
    assert!(at <= now, "{stamp} is in the future (received {now})");
    assert_eq!(at.year(), later.year() - 1, "{stamp}");
    assert_eq!(
        (at.month(), at.day()),
        (later.month(), later.day()),
        "{stamp}"
    );
}
