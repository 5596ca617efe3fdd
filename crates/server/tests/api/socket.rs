//! The server on a real socket (port 0), and graceful shutdown with a request in flight.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::{PASSWORD, Platform};

/// Sends raw HTTP/1.1 and reads the whole answer (the server closes after it).
async fn exchange(address: std::net::SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_on_a_real_socket_like_a_user_would() {
    let platform = Platform::new().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(nigehban_server::serve(
        listener,
        platform.router.clone(),
        nigehban_server::Connections::default(),
        async move {
            let _ = stopped.await;
        },
        Duration::from_secs(5),
    ));

    let health = exchange(
        address,
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"ok\""), "{health}");

    let body = format!("{{\"username\":\"admin\",\"password\":\"{PASSWORD}\"}}");
    let login = exchange(
        address,
        &format!(
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert!(login.starts_with("HTTP/1.1 200"), "{login}");
    let lower = login.to_ascii_lowercase();
    assert!(
        lower.contains("set-cookie: __host-nigehban_session="),
        "{login}"
    );
    assert!(
        lower.contains("httponly") && lower.contains("samesite=strict") && lower.contains("secure"),
        "{login}"
    );

    // The sign-in above came from a real peer address: the audit log recorded it.
    let operator = platform.app.operator(None).await.unwrap();
    let entries = platform
        .app
        .audit()
        .list(
            &operator,
            nigehban_app::AuditListing {
                under: None,
                newest_first: true,
            },
            &nigehban_app::PageRequest::first(5),
        )
        .await
        .unwrap();
    assert!(
        entries
            .items
            .iter()
            .any(|entry| entry.remote_addr.as_deref() == Some("127.0.0.1")),
        "{:?}",
        entries
            .items
            .iter()
            .map(|e| (&e.action, &e.remote_addr))
            .collect::<Vec<_>>()
    );

    let metrics = exchange(
        address,
        "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        metrics.contains("nigehban_http_requests_total{method=\"POST\",route=\"/api/v1/auth/login\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("nigehban_http_request_duration_seconds_bucket"),
        "{metrics}"
    );

    stop.send(()).unwrap();
    let finished = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(finished, "the server did not stop cleanly");
    assert!(
        TcpStream::connect(address).await.is_err(),
        "still accepting after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_the_request_in_flight_finish() {
    let platform = Platform::new().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(nigehban_server::serve(
        listener,
        platform.router.clone(),
        nigehban_server::Connections::default(),
        async move {
            let _ = stopped.await;
        },
        Duration::from_secs(10),
    ));
    // Start a sign-in whose body is still arriving when the shutdown begins.
    let body = format!("{{\"username\":\"admin\",\"password\":\"{PASSWORD}\"}}");
    let (head, tail) = body.split_at(10);
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(
            format!(
                "POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !server.is_finished(),
        "the server stopped with a request in flight"
    );
    stream.write_all(tail.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let finished = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(finished);
    // The session the in-flight sign-in created was written whole.
    let cookie = answer
        .lines()
        .find_map(|line| {
            line.strip_prefix("set-cookie: __Host-nigehban_session=")
                .or_else(|| line.strip_prefix("Set-Cookie: __Host-nigehban_session="))
        })
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_owned();
    platform.app.auth().session(&cookie, None).await.unwrap();
}
