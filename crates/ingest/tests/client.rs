//! The `nigehban ingest` client against a minimal HTTP/1.1 endpoint written
//! here around the real intake logic (the real endpoint is the server's),
//! with failures injected: refusals, busy answers, requests too large.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use nigehban_bus::EmbeddedLog;
use nigehban_ingest::{
    ClientError, ClientOptions, ClientSummary, HttpIngest, Intake, IntakeErrorClass, IntakeOptions,
    SensorStamp, StaticSensorDirectory, parse_format, run_ingest_client,
};
use std::io::Read;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::common::{Harness, Received, corpus, fixtures, text};

const TOKEN: &str = "ngi_test_token";

/// How the test endpoint misbehaves.
#[derive(Default)]
struct Faults {
    /// Requests answered so far.
    requests: AtomicUsize,
    /// From this request on (counting from 0), answer 503.
    unavailable_from: AtomicUsize,
    /// Answer 413 to requests with more lines than this.
    max_lines: AtomicUsize,
}

impl Faults {
    fn healthy() -> Arc<Faults> {
        let faults = Faults::default();
        faults.unavailable_from.store(usize::MAX, Ordering::SeqCst);
        faults.max_lines.store(usize::MAX, Ordering::SeqCst);
        Arc::new(faults)
    }
}

type TestIntake = Intake<EmbeddedLog, StaticSensorDirectory>;

/// Serves `POST /api/v1/ingest` on loopback; returns its base URL.
async fn serve(intake: TestIntake, faults: Arc<Faults>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (intake, faults) = (intake.clone(), faults.clone());
            tokio::spawn(async move {
                let _ = connection(stream, intake, faults).await;
            });
        }
    });
    url
}

async fn connection(
    stream: tokio::net::TcpStream,
    intake: TestIntake,
    faults: Arc<Faults>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let target = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string();
        let mut length = 0usize;
        let mut encoding = None;
        let mut authorization = String::new();
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).await?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            let value = value.trim().to_string();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().unwrap_or(0),
                "content-encoding" => encoding = Some(value),
                "authorization" => authorization = value,
                _ => {}
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).await?;
        let (status, answer) =
            answer(&intake, &faults, &target, encoding, &authorization, body).await;
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 0\r\n\r\n{answer}",
            answer.len()
        );
        write.write_all(response.as_bytes()).await?;
    }
}

async fn answer(
    intake: &TestIntake,
    faults: &Faults,
    target: &str,
    encoding: Option<String>,
    authorization: &str,
    body: Vec<u8>,
) -> (&'static str, String) {
    let number = faults.requests.fetch_add(1, Ordering::SeqCst);
    if number >= faults.unavailable_from.load(Ordering::SeqCst) {
        return ("503 Service Unavailable", r#"{"error":"down"}"#.into());
    }
    if authorization != format!("Bearer {TOKEN}") {
        return ("401 Unauthorized", r#"{"error":"unknown token"}"#.into());
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    assert_eq!(path, "/api/v1/ingest");
    let mut format = None;
    let mut log_name = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        match name {
            "format" => format = parse_format(&value),
            "log" => log_name = Some(value),
            _ => {}
        }
    }
    let request = HttpIngest {
        body: Bytes::from(body),
        content_encoding: encoding,
        format,
        log_name,
        source_address: None,
        idempotency_key: None,
    };
    // Count lines the way a server's limit would (after decompression).
    let limit = faults.max_lines.load(Ordering::SeqCst);
    if limit != usize::MAX {
        let decoded = nigehban_ingest::decode_body(
            &request.body,
            request.content_encoding.as_deref(),
            &Default::default(),
        )
        .unwrap();
        if decoded.iter().filter(|b| **b == b'\n').count() > limit {
            return (
                "413 Payload Too Large",
                r#"{"error":"too many lines"}"#.into(),
            );
        }
    }
    match intake
        .ingest_http(&SensorStamp::new("org-cert-7", "ingest-cli"), request)
        .await
    {
        Ok(outcome) => ("202 Accepted", serde_json::to_string(&outcome).unwrap()),
        Err(error) => match error.class() {
            IntakeErrorClass::TooLarge => ("413 Payload Too Large", error.to_string()),
            IntakeErrorClass::Unavailable => ("503 Service Unavailable", error.to_string()),
            _ => ("400 Bad Request", error.to_string()),
        },
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn options(url: &str, files: Vec<PathBuf>, journal: &Path) -> ClientOptions {
    let mut options = ClientOptions::new(url, TOKEN, files);
    options.journal = journal.to_path_buf();
    options.initial_backoff = Duration::from_millis(5);
    options.max_backoff = Duration::from_millis(20);
    options
}

async fn run(options: ClientOptions) -> Result<ClientSummary, ClientError> {
    tokio::task::spawn_blocking(move || run_ingest_client(&options, &mut |_| {}))
        .await
        .unwrap()
}

const EVE: &str = r#"{"timestamp":"2024-03-15T10:22:14.985026+0100","event_type":"alert","src_ip":"10.1.2.3","src_port":41402,"dest_ip":"198.51.100.7","dest_port":80,"proto":"TCP","alert":{"signature_id":2013504,"signature":"ET POLICY x","category":"y","severity":3},"n":N}"#;

fn eve_lines(count: usize) -> String {
    (0..count)
        .map(|i| EVE.replace("\"n\":N", &format!("\"n\":{i}")) + "\n")
        .collect()
}

const ZEEK_TSV: &str = "#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tconn
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto
#types\ttime\tstring\taddr\tport\taddr\tport\tenum
1710496934.865716\tC1\t10.47.1.100\t41772\t10.0.0.100\t53\tudp
1710496935.000001\tC2\t10.47.1.101\t41773\t10.0.0.100\t443\ttcp
#close\t2024-03-15-11-00-00
";

const CEF: &str = "CEF:0|Acme|Gate|2.1|100|Connection blocked|7|src=10.0.0.1 spt=51000 dst=192.0.2.9 dpt=443 act=blocked
<134>Mar 15 10:22:14 fw01 CEF:0|Acme|Gate|2.1|101|Connection allowed|3|src=10.0.0.2 act=allowed

<38>Mar 15 10:22:14 web01 sshd[4242]: Failed password for invalid user admin from 203.0.113.77
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_of_every_kind_arrive_once_with_their_formats() {
    let harness = Harness::new(StaticSensorDirectory::new(), IntakeOptions::default()).await;
    let url = serve(harness.intake.clone(), Faults::healthy()).await;
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("eve.json");
    std::fs::write(&eve, eve_lines(25)).unwrap();
    let zeek = dir.path().join("conn.log");
    std::fs::write(&zeek, ZEEK_TSV).unwrap();
    let cef = dir.path().join("firewall.cef");
    std::fs::write(&cef, CEF).unwrap();
    let evtx = fixtures().join("evtx/CA_DCSync_4662.evtx");
    let files = vec![eve, zeek, cef, evtx.clone()];
    let mut progress_calls = 0;
    let mut last_done = 0;
    let opts = options(&url, files, &dir.path().join("journal"));
    let summary = tokio::task::spawn_blocking(move || {
        run_ingest_client(&opts, &mut |progress| {
            progress_calls += 1;
            assert!(progress.bytes_done >= last_done, "progress never goes back");
            assert!(progress.bytes_done <= progress.bytes_total);
            last_done = progress.bytes_done;
        })
        .map(|summary| (summary, progress_calls))
    })
    .await
    .unwrap();
    let (summary, calls) = summary.unwrap();
    assert!(calls >= 8, "progress reported per file and request");
    let evtx_records = nigehban_logfiles::LogFile::open(&evtx)
        .unwrap()
        .records()
        .filter(Result::is_ok)
        .count() as u64;
    assert!(evtx_records > 0);
    let reads: Vec<&str> = summary.files.iter().map(|f| f.read_as.as_str()).collect();
    assert_eq!(reads, vec!["JSON lines", "Zeek TSV", "text lines", "EVTX"]);
    let per_file: Vec<u64> = summary.files.iter().map(|f| f.events_sent).collect();
    assert_eq!(per_file, vec![25, 2, 3, evtx_records]);
    assert_eq!(summary.events_rejected, 0, "{:?}", summary.files);
    let total = 30 + evtx_records as usize;
    let events = harness.collect("t", total, Duration::from_secs(20)).await;
    assert_eq!(events.len(), total);
    let datasets: HashSet<&str> = events.iter().filter_map(|e| e.event.dataset()).collect();
    for expected in [
        "suricata.alert",
        "zeek.conn",
        "cef",
        "syslog",
        "windows.security",
    ] {
        assert!(datasets.contains(expected), "{expected} in {datasets:?}");
    }
    let zeek_event = events
        .iter()
        .find(|e| e.event.dataset() == Some("zeek.conn"))
        .unwrap();
    assert_eq!(text(&zeek_event.event, "source.ip"), Some("10.47.1.100"));
    assert!(events.iter().all(|e| e.tenant_id == "org-cert-7"));

    // Sent completely: a second run sends nothing.
    let summary = run(options(
        &url,
        summary.files.iter().map(|f| f.path.clone()).collect(),
        &dir.path().join("journal"),
    ))
    .await
    .unwrap();
    assert_eq!(summary.events_sent, 0);
    assert!(summary.files.iter().all(|f| f.already_sent));
}

/// The `n` of each EVE event read back.
fn numbers(events: &[Received]) -> Vec<u64> {
    let mut numbers: Vec<u64> = events
        .iter()
        .map(|e| {
            e.event
                .original()
                .json
                .as_ref()
                .and_then(|j| j["n"].as_u64())
                .unwrap_or_else(|| {
                    serde_json::from_str::<serde_json::Value>(
                        e.event.original().text.as_deref().unwrap(),
                    )
                    .unwrap()["n"]
                        .as_u64()
                        .unwrap()
                })
        })
        .collect();
    numbers.sort_unstable();
    numbers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_resumes_without_sending_anything_twice() {
    let harness = Harness::new(StaticSensorDirectory::new(), IntakeOptions::default()).await;
    let faults = Faults::healthy();
    // Two requests get through, then the server is down.
    faults.unavailable_from.store(2, Ordering::SeqCst);
    let url = serve(harness.intake.clone(), faults.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("a.json");
    let second = dir.path().join("b.json.gz");
    std::fs::write(&first, eve_lines(25)).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(
        &mut gz,
        eve_lines(40).replace("\"n\":", "\"n\":1000").as_bytes(),
    )
    .unwrap();
    std::fs::write(&second, gz.finish().unwrap()).unwrap();
    let journal = dir.path().join("journal");
    let mut opts = options(&url, vec![first.clone(), second.clone()], &journal);
    opts.max_request_events = 10;
    opts.max_attempts = 3;
    let error = run(opts.clone()).await.unwrap_err();
    assert!(
        matches!(error, ClientError::GaveUp { attempts: 3, .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("run the same command again to resume")
    );
    assert_eq!(harness.bus_len().await, 20);

    // The server is back: the rerun continues where the first stopped.
    faults.unavailable_from.store(usize::MAX, Ordering::SeqCst);
    let summary = run(opts).await.unwrap();
    assert_eq!(summary.files[0].events_resumed, 20);
    assert_eq!(summary.files[0].events_sent, 5);
    assert_eq!(summary.events_sent, 45);
    let events = harness.collect("t", 65, Duration::from_secs(20)).await;
    let expected: Vec<u64> = (0..25)
        .chain((0..40).map(|i| format!("1000{i}").parse().unwrap()))
        .collect();
    let mut expected = expected;
    expected.sort_unstable();
    assert_eq!(numbers(&events), expected, "every event once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_refused_as_too_large_are_split() {
    let harness = Harness::new(StaticSensorDirectory::new(), IntakeOptions::default()).await;
    let faults = Faults::healthy();
    faults.max_lines.store(7, Ordering::SeqCst);
    let url = serve(harness.intake.clone(), faults).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("eve.json");
    std::fs::write(&file, eve_lines(50)).unwrap();
    let mut opts = options(&url, vec![file], &dir.path().join("journal"));
    opts.max_request_events = 20;
    let summary = run(opts).await.unwrap();
    assert_eq!(summary.events_sent, 50);
    let events = harness.collect("t", 50, Duration::from_secs(20)).await;
    assert_eq!(numbers(&events), (0..50).collect::<Vec<u64>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_lines_are_reported_with_their_place_in_the_file() {
    let harness = Harness::new(StaticSensorDirectory::new(), IntakeOptions::default()).await;
    let url = serve(harness.intake.clone(), Faults::healthy()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mixed.json");
    let mut lines = eve_lines(3);
    lines.push_str("{\"broken\": \n");
    lines.push_str(&eve_lines(2));
    std::fs::write(&file, lines).unwrap();
    let summary = run(options(
        &url,
        vec![file, dir.path().join("missing.json")],
        &dir.path().join("journal"),
    ))
    .await
    .unwrap();
    assert_eq!(summary.events_sent, 5);
    assert_eq!(summary.events_rejected, 1);
    assert_eq!(summary.files[0].rejected.len(), 1);
    assert!(
        summary.files[0].rejected[0].starts_with("line 4: invalid JSON"),
        "{:?}",
        summary.files[0].rejected
    );
    // A missing file is reported, and does not stop the run.
    assert_eq!(summary.files[1].read_error_count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_stops_the_run() {
    let harness = Harness::new(StaticSensorDirectory::new(), IntakeOptions::default()).await;
    let url = serve(harness.intake.clone(), Faults::healthy()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("eve.json");
    std::fs::write(&file, eve_lines(2)).unwrap();
    let mut opts = options(&url, vec![file], &dir.path().join("journal"));
    opts.token = "wrong".into();
    let error = run(opts).await.unwrap_err();
    assert!(
        matches!(error, ClientError::Unauthorized { status: 401, .. }),
        "{error}"
    );
    let mut opts = options("ftp://x", Vec::new(), &dir.path().join("journal"));
    opts.token = TOKEN.into();
    assert!(matches!(
        run(opts).await.unwrap_err(),
        ClientError::Options(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_files_arrive_whole() {
    let Some(corpus) = corpus() else {
        return;
    };
    let events_dir = corpus.join("events");
    let eve = events_dir.join("suricata-eve/surevego/eve.json");
    let zeek = events_dir.join("zeek-wrccdc/zeek-json/dns.json.gz");
    let evtx_dir = events_dir.join("evtx-attack-samples");
    let evtx = evtx_dir.join("Defense Evasion/DE_Fake_ComputerAccount_4720.evtx");
    let expected = [
        count_lines(&eve),
        count_lines(&zeek),
        nigehban_logfiles::LogFile::open(&evtx)
            .unwrap()
            .records()
            .filter(Result::is_ok)
            .count() as u64,
    ];
    let harness = Harness::new(StaticSensorDirectory::new(), IntakeOptions::default()).await;
    let url = serve(harness.intake.clone(), Faults::healthy()).await;
    let dir = tempfile::tempdir().unwrap();
    let summary = run(options(
        &url,
        vec![eve, zeek, evtx],
        &dir.path().join("journal"),
    ))
    .await
    .unwrap();
    let sent: Vec<u64> = summary
        .files
        .iter()
        .map(|f| f.events_sent + f.events_rejected)
        .collect();
    assert_eq!(sent, expected.to_vec(), "{:?}", summary.files);
    // Real data: nothing refused.
    assert_eq!(
        summary.files[1].events_rejected, 0,
        "{:?}",
        summary.files[1].rejected
    );
    assert_eq!(
        summary.files[2].events_rejected, 0,
        "{:?}",
        summary.files[2].rejected
    );
    assert_eq!(
        harness.bus_len().await,
        summary.events_sent,
        "every accepted event is on the bus"
    );
}

/// Non-blank lines of a text file, gzip seen through.
fn count_lines(path: &Path) -> u64 {
    let file = std::fs::File::open(path).unwrap();
    let mut reader: Box<dyn std::io::Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut text = String::new();
    reader.read_to_string(&mut text).unwrap();
    text.lines().filter(|l| !l.trim().is_empty()).count() as u64
}

impl Harness {
    /// Records on the bus.
    async fn bus_len(&self) -> u64 {
        crate::common::stored(&self.bus).await
    }
}

// ---- Regression (issue 8, item 9): a JSON-lines line that is not an object ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_line_of_a_json_lines_file_is_refused_with_its_number_not_sent_as_text() {
    let harness = Harness::new(StaticSensorDirectory::new(), IntakeOptions::default()).await;
    let url = serve(harness.intake.clone(), Faults::healthy()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("eve.json");
    let mut lines = eve_lines(2);
    // Torn by a crashed writer: the line starts mid-object.
    lines.push_str("  \"dest_port\":80,\"proto\":\"TCP\"}\n");
    lines.push_str("garbage that is not JSON\n");
    lines.push_str(&eve_lines(2));
    std::fs::write(&file, lines).unwrap();
    let cef = dir.path().join("firewall.cef");
    std::fs::write(&cef, CEF).unwrap();
    let summary = run(options(&url, vec![file, cef], &dir.path().join("journal")))
        .await
        .unwrap();
    let eve = &summary.files[0];
    assert_eq!(eve.read_as, "JSON lines");
    assert_eq!(eve.events_sent, 4, "{eve:?}");
    assert_eq!(eve.events_rejected, 2, "{eve:?}");
    assert_eq!(eve.rejected.len(), 2);
    assert!(
        eve.rejected[0].starts_with("line 3: "),
        "{:?}",
        eve.rejected
    );
    assert!(
        eve.rejected[1].starts_with("line 4: "),
        "{:?}",
        eve.rejected
    );
    // Plain syslog/CEF text files are still sent as text.
    assert_eq!(summary.files[1].read_as, "text lines");
    assert_eq!(summary.files[1].events_sent, 3);
    assert_eq!(summary.files[1].events_rejected, 0);
    let events = harness.collect("t", 7, Duration::from_secs(20)).await;
    assert_eq!(events.len(), 7);
    assert!(
        !events
            .iter()
            .any(|e| e.event.dataset() == Some("generic.text")
                || text(&e.event, "message").is_some_and(|m| m.contains("garbage"))),
        "no broken line arrived as a text event"
    );
}
