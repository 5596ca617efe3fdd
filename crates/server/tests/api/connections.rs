//! The server on a real socket under hostile clients (issue 8, item 4 and the 414/431
//! part of item 8): slow and idle clients cannot take it away from others, a
//! kept-alive connection survives bodies sent to routes that read none, and requests
//! hyper cannot read are answered in the API's JSON error shape.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use nigehban_server::{ConnectionLimits, Connections};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::harness::Platform;

/// A platform served on a real socket with `limits`; stops when dropped.
struct Served {
    platform: Platform,
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Served {
    async fn new(limits: ConnectionLimits) -> Self {
        let platform = Platform::new().await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let connections = Connections {
            limits,
            ..platform.state.connections()
        };
        tokio::spawn(nigehban_server::serve(
            listener,
            platform.router.clone(),
            connections,
            async move {
                let _ = stopped.await;
            },
            Duration::from_secs(2),
        ));
        Self {
            platform,
            address,
            stop: Some(stop),
        }
    }

    /// A connection from `client` (any 127.0.0.0/8 address is this host's loopback).
    async fn connect_from(&self, client: [u8; 4]) -> TcpStream {
        let socket = TcpSocket::new_v4().unwrap();
        socket
            .bind(SocketAddr::from((client, 0)))
            .unwrap_or_else(|e| panic!("bind {client:?}: {e}"));
        socket.connect(self.address).await.unwrap()
    }

    /// `GET path` from `client` on a new connection, answered within two seconds.
    async fn get_from(&self, client: [u8; 4], path: &str) -> Answer {
        let mut stream = self.connect_from(client).await;
        let request = format!("GET {path} HTTP/1.1\r\nHost: nigehban\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        tokio::time::timeout(Duration::from_secs(2), read_answer(&mut stream))
            .await
            .unwrap_or_else(|_| panic!("no answer to GET {path} from {client:?} within 2 s"))
            .unwrap_or_else(|| panic!("connection closed without an answer to GET {path}"))
    }

    /// Every series of `/metrics`, read without a socket.
    fn metrics(&self) -> String {
        self.platform.state.metrics.render()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// An answer read off a connection.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// Header names in lower case.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the API's error shape with this status and code.
    #[track_caller]
    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?} {}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        let json = self.json();
        assert_eq!(json["error"]["code"], code, "{}", self.text());
        assert!(
            json["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{}",
            self.text()
        );
    }
}

/// Reads one answer (with a `Content-Length` body); `None` if the connection closed first.
async fn read_answer(stream: &mut TcpStream) -> Option<Answer> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    let text = String::from_utf8(head).unwrap();
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(Answer {
        status,
        headers,
        body,
    })
}

/// Whether the server closed `stream` within `within` (EOF or reset, after any bytes).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// The value of an unlabelled series, or of one with these labels.
fn series(metrics: &str, name_and_labels: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name_and_labels)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name_and_labels} missing from:\n{metrics}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_sending_headers_a_byte_a_second_are_cut_off_while_others_are_served() {
    let timeout = Duration::from_secs(2);
    let served = Served::new(ConnectionLimits {
        header_timeout: timeout,
        ..ConnectionLimits::default()
    })
    .await;
    let request = b"GET /healthz HTTP/1.1\r\nHost: nigehban\r\nUser-Agent: slowloris\r\n\r\n";
    let mut slow = Vec::new();
    for _ in 0..20 {
        let stream = served.connect_from([127, 0, 0, 1]).await;
        let (mut reader, mut writer) = stream.into_split();
        let started = Instant::now();
        // A byte a second: the whole head would take a minute.
        tokio::spawn(async move {
            for byte in request {
                if writer.write_all(&[*byte]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        slow.push(tokio::spawn(async move {
            let mut buffer = [0u8; 1024];
            let mut answered = Vec::new();
            loop {
                match tokio::time::timeout(Duration::from_secs(30), reader.read(&mut buffer)).await
                {
                    Ok(Ok(0) | Err(_)) => return (started.elapsed(), answered),
                    Ok(Ok(n)) => answered.extend_from_slice(&buffer[..n]),
                    Err(_) => panic!("a slow client was still connected after 30 s"),
                }
            }
        }));
    }
    // Meanwhile another client is answered at once, again and again.
    for _ in 0..5 {
        let started = Instant::now();
        let answer = served.get_from([127, 0, 0, 2], "/healthz").await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert!(started.elapsed() < Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    for client in slow {
        let (after, answered) = client.await.unwrap();
        assert!(
            after >= timeout - Duration::from_millis(200)
                && after < timeout + Duration::from_secs(3),
            "a slow client was disconnected after {after:?}, not about {timeout:?}"
        );
        assert!(
            answered.is_empty(),
            "a slow client got {:?}",
            String::from_utf8_lossy(&answered)
        );
    }
    assert_eq!(
        series(&served.metrics(), "nigehban_http_header_timeouts_total"),
        20
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_idle_connections_from_one_client_leave_healthz_to_the_others() {
    let served = Served::new(ConnectionLimits {
        header_timeout: Duration::from_secs(5),
        max_connections: 1000,
        max_connections_per_client: 50,
        ..ConnectionLimits::default()
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(served.connect_from([127, 0, 0, 1]).await);
    }
    // The first 50 are kept open (and say nothing); the other 250 are refused at once.
    let reads: Vec<_> = idle
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                let read =
                    tokio::time::timeout(Duration::from_millis(500), read_answer(&mut stream))
                        .await;
                (read, stream)
            })
        })
        .collect();
    let mut refused = 0;
    let mut kept = Vec::new();
    for read in reads {
        let (read, mut stream) = read.await.unwrap();
        match read {
            Err(_) => kept.push(stream),
            Ok(Some(answer)) => {
                answer.assert_error(503, "too_many_connections");
                assert!(answer.text().contains("at most 50"), "{}", answer.text());
                assert_eq!(answer.header("retry-after"), Some("1"));
                assert_eq!(answer.header("connection"), Some("close"));
                assert!(closed_within(&mut stream, Duration::from_secs(1)).await);
                refused += 1;
            }
            Ok(None) => refused += 1,
        }
    }
    assert_eq!((kept.len(), refused), (50, 250));
    // Another client is served while they hang on.
    for path in ["/healthz", "/readyz"] {
        let answer = served.get_from([127, 0, 0, 2], path).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text());
    }
    let metrics = served.metrics();
    assert_eq!(
        series(
            &metrics,
            "nigehban_http_connections_refused_total{reason=\"client_limit\"}"
        ),
        250
    );
    assert!(series(&metrics, "nigehban_http_connections_open") >= 50);
    // Idle connections end at the header timeout, and the client may connect again.
    for mut stream in kept {
        assert!(
            closed_within(&mut stream, Duration::from_secs(8)).await,
            "an idle connection outlived the header timeout"
        );
    }
    let answer = served.get_from([127, 0, 0, 1], "/healthz").await;
    assert_eq!(answer.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_server_cap_are_refused_whoever_opens_them() {
    let served = Served::new(ConnectionLimits {
        max_connections: 20,
        max_connections_per_client: 8,
        ..ConnectionLimits::default()
    })
    .await;
    // 8 from each of .1 and .2, 4 from .3: the server is full.
    let mut open = Vec::new();
    for (client, count) in [(1u8, 8), (2, 8), (3, 4)] {
        for _ in 0..count {
            open.push(served.connect_from([127, 0, 0, client]).await);
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut late = served.connect_from([127, 0, 0, 4]).await;
    let answer = tokio::time::timeout(Duration::from_secs(2), read_answer(&mut late))
        .await
        .unwrap()
        .unwrap();
    answer.assert_error(503, "too_many_connections");
    assert!(answer.text().contains("at most 20"), "{}", answer.text());
    // One closes: a place is free again.
    drop(open.pop());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let answer = served.get_from([127, 0, 0, 4], "/healthz").await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        series(
            &served.metrics(),
            "nigehban_http_connections_refused_total{reason=\"server_limit\"}"
        ),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_survives_bodies_sent_to_routes_that_read_none() {
    let served = Served::new(ConnectionLimits::default()).await;
    let mut stream = served.connect_from([127, 0, 0, 1]).await;
    let small = "x".repeat(1500);
    let larger = "{\"name\":\"".to_owned() + &"y".repeat(20_000) + "\"}";
    // (method, path, body, answer): routes that take no body, and requests refused
    // before their body is read.
    let cases: [(&str, &str, &str, u16); 4] = [
        ("GET", "/healthz", &small, 200),
        ("POST", "/api/v1/auth/logout", &small, 401),
        ("POST", "/api/v1/tenants", &larger, 401),
        ("DELETE", "/no/such/route", &small, 404),
    ];
    for round in 0..600 {
        let (method, path, body, status) = cases[round % cases.len()];
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: nigehban\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        if round % 3 == 0 {
            // The body arrives after the route has answered.
            stream.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
        stream.write_all(body.as_bytes()).await.unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(5), read_answer(&mut stream))
            .await
            .unwrap_or_else(|_| panic!("request {round}: no answer"))
            .unwrap_or_else(|| {
                panic!("request {round} ({method} {path}): the connection was closed")
            });
        assert_eq!(answer.status, status, "request {round}: {}", answer.text());
        assert_eq!(answer.header("connection"), None, "request {round}");
    }
    // Chunked bodies too.
    for round in 0..50 {
        stream
            .write_all(b"POST /api/v1/auth/logout HTTP/1.1\r\nHost: nigehban\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            .await
            .unwrap();
        stream.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        stream.write_all(b"6\r\n world\r\n0\r\n\r\n").await.unwrap();
        let answer = read_answer(&mut stream)
            .await
            .unwrap_or_else(|| panic!("chunked request {round}: the connection was closed"));
        answer.assert_error(401, "unauthenticated");
    }
    // A body too large to wait for (here, over every body limit, evidence uploads'
    // included): the answer says the connection closes, and it does.
    stream
        .write_all(b"POST /api/v1/auth/logout HTTP/1.1\r\nHost: nigehban\r\nContent-Length: 1000000000\r\n\r\npartial")
        .await
        .unwrap();
    let answer = read_answer(&mut stream).await.unwrap();
    answer.assert_error(413, "body_too_large");
    assert_eq!(answer.header("connection"), Some("close"));
    assert!(closed_within(&mut stream, Duration::from_secs(2)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_carries_at_most_its_request_limit() {
    let served = Served::new(ConnectionLimits {
        max_requests_per_connection: 3,
        ..ConnectionLimits::default()
    })
    .await;
    let mut stream = served.connect_from([127, 0, 0, 1]).await;
    for number in 1..=3 {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: nigehban\r\n\r\n")
            .await
            .unwrap();
        let answer = read_answer(&mut stream).await.unwrap();
        assert_eq!(answer.status, 200);
        let expected = (number == 3).then_some("close");
        assert_eq!(answer.header("connection"), expected, "answer {number}");
    }
    assert!(closed_within(&mut stream, Duration::from_secs(2)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_hyper_cannot_read_are_answered_in_the_json_error_shape() {
    let served = Served::new(ConnectionLimits::default()).await;
    let exchange = |request: Vec<u8>| {
        let address = served.address;
        async move {
            let stream = TcpStream::connect(address).await.unwrap();
            let (mut reader, mut writer) = stream.into_split();
            // Written while the answer is read: the server may answer before it has all.
            let writing = tokio::spawn(async move {
                let _ = writer.write_all(&request).await;
                writer
            });
            let mut received = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), reader.read_to_end(&mut received))
                .await
                .expect("the server neither answered nor closed");
            drop(writing.await);
            parse_answer(&received)
        }
    };

    // A URI over 64 KiB.
    let long_uri = format!(
        "GET /api/v1/events?q={} HTTP/1.1\r\nHost: nigehban\r\n\r\n",
        "a".repeat(70_000)
    );
    let answer = exchange(long_uri.into_bytes()).await;
    answer.assert_error(414, "uri_too_long");
    assert_eq!(answer.header("connection"), Some("close"));

    // More than 100 headers.
    let mut many = String::from("GET /healthz HTTP/1.1\r\nHost: nigehban\r\n");
    for n in 0..150 {
        many.push_str(&format!("X-Header-{n}: {n}\r\n"));
    }
    many.push_str("\r\n");
    exchange(many.into_bytes())
        .await
        .assert_error(431, "headers_too_large");

    // Headers larger than the server reads (128 KiB), whole or cut off by the limit.
    for padding in [200_000, 600_000] {
        let huge = format!(
            "GET /healthz HTTP/1.1\r\nHost: nigehban\r\nX-Padding: {}\r\n\r\n",
            "p".repeat(padding)
        );
        exchange(huge.into_bytes())
            .await
            .assert_error(431, "headers_too_large");
    }

    // Not HTTP at all.
    exchange(b"HELLO THERE\r\n\r\n".to_vec())
        .await
        .assert_error(400, "bad_request");

    // A long URI within the limit reaches the API, which answers as usual.
    let answer = served
        .get_from([127, 0, 0, 1], &format!("/healthz?{}", "b".repeat(20_000)))
        .await;
    assert_eq!(answer.status, 200);

    let metrics = served.metrics();
    assert_eq!(
        series(
            &metrics,
            "nigehban_http_unreadable_requests_total{status=\"414\"}"
        ),
        1
    );
    assert_eq!(
        series(
            &metrics,
            "nigehban_http_unreadable_requests_total{status=\"431\"}"
        ),
        3
    );
    assert_eq!(
        series(
            &metrics,
            "nigehban_http_unreadable_requests_total{status=\"400\"}"
        ),
        1
    );
}

/// Parses one whole answer from bytes.
fn parse_answer(bytes: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: body.as_bytes().to_vec(),
    }
}
