//! `/readyz` checks storage, the event bus and the event index, on the embedded bus
//! (issue 8, item 5); PostgreSQL stopped and nats-server stopped are in
//! `crates/cli/tests/hardening.rs`, through the real binary.

use axum::http::{Method, StatusCode, header};
use nigehban_bus::EventBus as _;

use crate::harness::{Platform, call};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_names_the_embedded_bus_when_it_cannot_take_events_and_intake_says_retry() {
    let platform = Platform::new().await;
    let sensor = platform.sensor(&platform.root).await;
    let ready = platform.send(call(Method::GET, "/readyz").empty()).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
    assert_eq!(ready.json["status"], "ok");
    for part in ["storage", "event_bus", "event_index"] {
        assert_eq!(ready.json["checks"][part], "ok", "{}", ready.text);
    }

    // The bus stops taking records (as after a failed disk write or a shutdown).
    let telemetry = platform.telemetry.as_ref().unwrap().telemetry();
    telemetry.bus.close().await.unwrap();

    let ready = platform.send(call(Method::GET, "/readyz").empty()).await;
    ready.assert_error(StatusCode::SERVICE_UNAVAILABLE, "not_ready");
    let message = ready.json["error"]["message"].as_str().unwrap();
    assert!(message.contains("event bus"), "{message}");
    assert!(!message.contains("storage"), "{message}");
    assert_eq!(
        ready.headers.get(header::RETRY_AFTER).unwrap(),
        "5",
        "{:?}",
        ready.headers
    );

    let answer = platform
        .send(
            call(Method::POST, "/api/v1/ingest")
                .bearer(sensor.secret.expose())
                .raw("application/x-ndjson", b"{\"message\":\"held\"}\n".to_vec()),
        )
        .await;
    answer.assert_error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert!(
        answer.headers.contains_key(header::RETRY_AFTER),
        "{:?}",
        answer.headers
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_names_the_event_index_when_it_is_closed_or_its_directory_is_gone() {
    let platform = Platform::new().await;
    let telemetry = platform.telemetry.as_ref().unwrap().telemetry();

    // The index directory disappears (a lost mount): events would go nowhere searchable.
    let path = telemetry.index.path().to_path_buf();
    let aside = path.with_extension("aside");
    std::fs::rename(&path, &aside).unwrap();
    let ready = platform.send(call(Method::GET, "/readyz").empty()).await;
    ready.assert_error(StatusCode::SERVICE_UNAVAILABLE, "not_ready");
    let message = ready.json["error"]["message"].as_str().unwrap();
    assert!(message.contains("event index"), "{message}");
    assert!(!message.contains("event bus"), "{message}");
    // Nothing of the cause (a path on the server) is shown to an unauthenticated caller.
    assert!(
        !ready.text.contains(&*path.to_string_lossy()),
        "{}",
        ready.text
    );
    std::fs::rename(&aside, &path).unwrap();
    let ready = platform.send(call(Method::GET, "/readyz").empty()).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);

    // Closed: nothing more is indexed.
    let index = telemetry.index.clone();
    tokio::task::spawn_blocking(move || index.close())
        .await
        .unwrap()
        .unwrap();
    let ready = platform.send(call(Method::GET, "/readyz").empty()).await;
    ready.assert_error(StatusCode::SERVICE_UNAVAILABLE, "not_ready");
    assert!(
        ready.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("event index"),
        "{}",
        ready.text
    );
}
