//! The TAXII client against a server that fails: requests that meet a
//! transport error, 429 or 5xx are tried again with back-off; a refusal is
//! not; a pull that fails on a later page keeps what the earlier pages
//! brought. (The happy path, against a real `medallion`, is in
//! `crates/cli/tests/taxii.rs`.)
//!
//! The outside server here is a scripted HTTP/1.1 listener on loopback that
//! answers each request with the next answer of its script and records the
//! request lines.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/world.rs"]
mod world;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nigehban_app::model::Tlp;
use nigehban_app::taxii_pull::{TaxiiCredentials, TaxiiSubscription};
use nigehban_app::{AppError, IndicatorListing, PageRequest};
use world::{World, world};

/// One scripted answer: status, extra headers, body.
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn failure(status: u16) -> Answer {
    Answer {
        status,
        headers: vec![],
        body: format!(r#"{{"title":"scripted failure {status}"}}"#),
    }
}

/// A TAXII envelope holding one indicator for `domain`.
fn envelope(domain: &str, number: u32, more: bool, next: Option<&str>) -> Answer {
    let added = format!("2026-11-0{number}T10:00:00.000Z");
    let mut body = serde_json::json!({
        "more": more,
        "objects": [{
            "type": "indicator",
            "spec_version": "2.1",
            "id": format!("indicator--0b7e9a4c-3f1d-4c6e-8a2b-00000000000{number}"),
            "created": added,
            "modified": added,
            "name": format!("Scripted page {number}"),
            "pattern": format!("[domain-name:value = '{domain}']"),
            "pattern_type": "stix",
            "valid_from": added,
        }],
    });
    if let Some(next) = next {
        body["next"] = next.into();
    }
    Answer {
        status: 200,
        headers: vec![
            (
                "Content-Type",
                "application/taxii+json;version=2.1".to_owned(),
            ),
            ("X-TAXII-Date-Added-First", added.clone()),
            ("X-TAXII-Date-Added-Last", added),
        ],
        body: body.to_string(),
    }
}

/// A listener that answers from `script` in order (then 500 for ever) and
/// records each request's first line.
struct ScriptedServer {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl ScriptedServer {
    fn start(script: Vec<Answer>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/api1/", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            let mut script = script.into_iter();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    continue;
                }
                // The rest of the head, up to the empty line (a GET has no body).
                loop {
                    let mut line = String::new();
                    match reader.read_line(&mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) if line == "\r\n" => break,
                        Ok(_) => {}
                    }
                }
                seen.lock().unwrap().push(first.trim_end().to_owned());
                let answer = script.next().unwrap_or_else(|| failure(500));
                let mut head = format!(
                    "HTTP/1.1 {} Scripted\r\nContent-Length: {}\r\nConnection: close\r\n",
                    answer.status,
                    answer.body.len()
                );
                for (name, value) in &answer.headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(answer.body.as_bytes());
            }
        });
        ScriptedServer { url, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn subscription(w: &World, server: &ScriptedServer) -> TaxiiSubscription {
    TaxiiSubscription {
        name: "scripted feed".into(),
        api_root: server.url.clone(),
        collection: "feed-1".into(),
        credentials: TaxiiCredentials::Bearer("scripted".into()),
        tenant: w.telecom.id,
        default_tlp: Tlp::Green,
        interval: Duration::from_secs(3600),
    }
}

/// The indicator values the telecom CERT holds.
async fn telecom_values(w: &World) -> Vec<String> {
    let reader = w
        .caller(w.telecom.id, nigehban_app::model::Role::IntelAnalyst)
        .await;
    w.app
        .intel()
        .list(
            &reader,
            IndicatorListing::default(),
            &PageRequest::first(1000),
        )
        .await
        .unwrap()
        .items
        .iter()
        .map(|i| i.value.value().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_tries_again_after_503_and_429_and_goes_on_from_its_cursor() {
    let w = world().await;
    let server = ScriptedServer::start(vec![
        failure(503),
        failure(429),
        envelope("first.pull-retry.example", 1, false, None),
        envelope("second.pull-retry.example", 2, false, None),
    ]);
    let feed = subscription(&w, &server);
    let pulled = w.app.taxii_pull(None, &feed, false).await.unwrap();
    assert_eq!((pulled.pages, pulled.objects), (1, 1), "{pulled:?}");
    assert_eq!(
        pulled.added_last.as_deref(),
        Some("2026-11-01T10:00:00.000Z")
    );
    let requests = server.requests();
    assert_eq!(
        requests.len(),
        3,
        "two failures, then the page: {requests:?}"
    );
    assert!(
        requests
            .iter()
            .all(|r| r.starts_with("GET /api1/collections/feed-1/objects/?limit=500 ")),
        "the same request each time, from the start: {requests:?}"
    );
    assert!(
        telecom_values(&w)
            .await
            .contains(&"first.pull-retry.example".to_owned())
    );

    // The next pull asks only for what came after the cursor it kept.
    let pulled = w.app.taxii_pull(None, &feed, false).await.unwrap();
    assert_eq!(pulled.objects, 1);
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    assert!(
        requests[3].contains("&added_after=2026-11-01T10%3A00%3A00.000Z "),
        "{}",
        requests[3]
    );
    let values = telecom_values(&w).await;
    assert!(values.contains(&"second.pull-retry.example".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_keeps_failing_is_given_up_after_four_tries_naming_its_answer() {
    let w = world().await;
    let server = ScriptedServer::start(vec![]);
    let feed = subscription(&w, &server);
    let error = w.app.taxii_pull(None, &feed, false).await.unwrap_err();
    let AppError::Invalid(message) = &error else {
        panic!("{error:?}")
    };
    assert!(message.contains("the server answered 500"), "{message}");
    assert!(message.contains(&server.url), "names the URL: {message}");
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_not_tried_again_and_its_reason_is_shown() {
    let w = world().await;
    let server = ScriptedServer::start(vec![failure(401)]);
    let feed = subscription(&w, &server);
    let error = w.app.taxii_pull(None, &feed, false).await.unwrap_err();
    let message = error.to_string();
    assert!(message.contains("401"), "{message}");
    assert!(message.contains("scripted failure 401"), "{message}");
    assert_eq!(server.requests().len(), 1, "a 401 is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_that_fails_on_a_later_page_keeps_the_earlier_pages() {
    let w = world().await;
    // Page one says there is more; page two never comes (500 four times).
    let server = ScriptedServer::start(vec![envelope(
        "page-one.pull-retry.example",
        1,
        true,
        Some("page-two"),
    )]);
    let feed = subscription(&w, &server);
    let error = w.app.taxii_pull(None, &feed, false).await.unwrap_err();
    assert!(error.to_string().contains("500"), "{error}");
    let requests = server.requests();
    assert_eq!(requests.len(), 5, "{requests:?}");
    assert!(requests[1].contains("&next=page-two "), "{}", requests[1]);
    assert!(
        telecom_values(&w)
            .await
            .contains(&"page-one.pull-retry.example".to_owned()),
        "what page one brought is kept"
    );
    // No cursor was kept, so the next pull starts again from the beginning.
    let _ = w.app.taxii_pull(None, &feed, false).await;
    let requests = server.requests();
    assert!(
        !requests[5].contains("added_after"),
        "after a failed pull, the next one starts over: {}",
        requests[5]
    );
}
