//! Rough edges a new user met through the API (issue 14): a body of records without line
//! breaks, the place of a broken line said once, and two tenants of one name.

use axum::http::{Method, StatusCode};
use nigehban_app::model::Sector;
use serde_json::json;

use crate::harness::{Platform, call};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_sent_without_line_breaks_are_refused_with_the_fix() {
    let platform = Platform::new().await;
    let sector = platform.sector("CERT Telecom", Sector::Telecom).await;
    let sensor = platform.sensor(&sector).await;
    // What `curl -d @file` sends: the file's newlines stripped.
    let body = "{\"message\":\"one\"}{\"message\":\"two\"}{\"message\":\"three\"}";
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/ingest")
                .bearer(sensor.secret.expose())
                .raw("application/x-ndjson", body),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
    let message = answer.json["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("one line holding several JSON records")
            && message.contains("column 18")
            && message.contains("--data-binary"),
        "{message}"
    );

    // One record on one line is still accepted; a broken line is named by line and column once.
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/ingest")
                .bearer(sensor.secret.expose())
                .raw(
                    "application/x-ndjson",
                    "{\"message\":\"ok\"}\n{\"message\": \"broken\" \"x\"}\n",
                ),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(answer.json["accepted"], 1, "{}", answer.text);
    let rejected = &answer.json["rejected"][0];
    assert_eq!(rejected["line"], 2, "{}", answer.text);
    let reason = rejected["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("invalid JSON at column 22: "),
        "{reason}"
    );
    assert!(!reason.contains("line"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tenants_of_one_name_under_one_parent_are_refused() {
    let platform = Platform::new().await;
    let admin = platform.sign_in("admin").await;
    let sector = platform.sector("CERT Banking", Sector::Banking).await;
    let create = |name: &'static str, parent| {
        call(Method::POST, "/api/v1/tenants")
            .session(&admin)
            .json(&json!({"parent": parent, "name": name, "kind": "organisation"}))
    };
    let first = platform.send(create("First Bank", sector.id)).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    for name in ["First Bank", "first bank", "  FIRST BANK "] {
        let again = platform.send(create(name, sector.id)).await;
        again.assert_error(StatusCode::CONFLICT, "conflict");
        assert!(
            again.text.contains("already has a tenant named"),
            "{}",
            again.text
        );
    }
    // The same name under another parent is fine.
    let other = platform.sector("CERT Energy", Sector::Energy).await;
    let elsewhere = platform.send(create("First Bank", other.id)).await;
    assert_eq!(elsewhere.status, StatusCode::CREATED, "{}", elsewhere.text);
    // Renaming a sibling to a taken name is refused too.
    let second = platform.send(create("Second Bank", sector.id)).await;
    let second_id = second.json["id"].as_str().unwrap().to_owned();
    let renamed = platform
        .send(
            call(Method::PATCH, &format!("/api/v1/tenants/{second_id}"))
                .session(&admin)
                .json(&json!({"name": "First Bank"})),
        )
        .await;
    renamed.assert_error(StatusCode::CONFLICT, "conflict");
}
