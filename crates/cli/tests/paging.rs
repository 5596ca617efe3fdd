//! Paging through the real `nigehban` binary (issue 12): a critical alert,
//! raised by live detection from an event a sensor sent, pages the primary by
//! e-mail, nobody acknowledges, the secondary is paged after
//! the wait (e-mail and a signed webhook), and the escalation stops when the
//! secondary acknowledges through the signed link taken from the e-mail; an
//! SMTP relay that is down is retried, ends `failed` in the delivery log and
//! the escalation goes on; a person's shift feed parses with an independent
//! iCalendar parser and gives the schedule's shifts.
//!
//! E-mail goes to a real SMTP server on loopback (PyPI `aiosmtpd`, writing
//! a maildir); webhooks go to an HTTP listener in this test that checks the
//! HMAC-SHA256 signature.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/server.rs"]
mod server;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::Mac as _;
use nigehban_testkit::Need;
use serde_json::{Value, json};

use server::{
    Answer, PASSWORD, Process, Server, Session, bearer, create_administrator, free_port, http_json,
    serve, wait_for_port,
};

const WEBHOOK_SECRET: &str = "the secondary's webhook secret";

/// A real SMTP server (aiosmtpd) writing what it receives into a maildir.
struct SmtpServer {
    _process: Process,
    port: u16,
    maildir: PathBuf,
}

impl SmtpServer {
    fn start(dir: &Path) -> SmtpServer {
        let port = free_port();
        let maildir = dir.join("maildir");
        let process = Process(
            Command::new("python3")
                .args(["-m", "aiosmtpd", "-n", "-l"])
                .arg(format!("127.0.0.1:{port}"))
                .args(["-c", "aiosmtpd.handlers.Mailbox"])
                .arg(&maildir)
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_for_port(port, "aiosmtpd", Duration::from_secs(30));
        SmtpServer {
            _process: process,
            port,
            maildir,
        }
    }

    /// Every message received so far: (recipient header, subject, decoded body).
    fn messages(&self) -> Vec<Mail> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        let mut mails: Vec<Mail> = entries
            .map(|e| Mail::parse(&std::fs::read_to_string(e.unwrap().path()).unwrap()))
            .collect();
        mails.sort_by(|a, b| a.subject.cmp(&b.subject).then(a.to.cmp(&b.to)));
        mails
    }

    fn wait_for(&self, what: &str, count: usize, to: &str) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mails: Vec<Mail> = self
                .messages()
                .into_iter()
                .filter(|m| m.to.contains(to))
                .collect();
            if mails.len() >= count {
                return mails;
            }
            assert!(Instant::now() < deadline, "no e-mail {what} to {to}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// An e-mail as received.
#[derive(Debug, Clone)]
struct Mail {
    to: String,
    subject: String,
    body: String,
}

impl Mail {
    fn parse(raw: &str) -> Mail {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n").unwrap();
        let header = |name: &str| {
            head.lines()
                .find(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
                .map(|l| l.split_once(':').unwrap().1.trim().to_owned())
                .unwrap_or_default()
        };
        let body = if header("content-transfer-encoding").eq_ignore_ascii_case("quoted-printable") {
            quoted_printable(body)
        } else {
            body.to_owned()
        };
        Mail {
            to: header("to"),
            subject: header("subject"),
            body,
        }
    }

    /// The acknowledgement link in the body.
    fn ack_link(&self) -> String {
        self.body
            .split_whitespace()
            .find(|w| w.contains("/api/v1/oncall/ack/"))
            .unwrap_or_else(|| panic!("no acknowledgement link in {}", self.body))
            .to_owned()
    }
}

fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
        {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// An HTTP listener that takes webhooks and checks their signature.
struct WebhookReceiver {
    address: SocketAddr,
    received: Arc<Mutex<Vec<(bool, Value)>>>,
}

impl WebhookReceiver {
    fn start() -> WebhookReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (signature, body) = read_request(&mut stream);
                let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(
                    WEBHOOK_SECRET.as_bytes(),
                )
                .unwrap();
                mac.update(&body);
                let expected: String = mac
                    .finalize()
                    .into_bytes()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                let valid = signature == format!("sha256={expected}");
                let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                log.lock().unwrap().push((valid, json));
                let status = if valid {
                    "204 No Content"
                } else {
                    "401 Unauthorized"
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        WebhookReceiver { address, received }
    }

    fn url(&self) -> String {
        format!("http://{}/hooks/pager", self.address)
    }

    fn wait_for(&self, count: usize) -> Vec<(bool, Value)> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = self.received.lock().unwrap().clone();
            if got.len() >= count {
                return got;
            }
            assert!(Instant::now() < deadline, "no webhook arrived");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Reads one HTTP request: the signature header and the body.
fn read_request(stream: &mut TcpStream) -> (String, Vec<u8>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut signature = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "x-nigehban-signature" => signature = value.trim().to_owned(),
                "content-length" => length = value.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (signature, body)
}

/// `nigehban serve` sending e-mail through the SMTP server on `smtp_port`,
/// checking the watch every second and retrying a failed notification twice.
fn start(data_dir: &Path, smtp_port: u16, extra: &[&str]) -> Server {
    let mut command = serve();
    command
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra)
        .env("NIGEHBAN_SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}"))
        .env("NIGEHBAN_SMTP_FROM", "Nigehban duty <duty@cert.example.pk>")
        .env("NIGEHBAN_DUTY_CHECK_SECONDS", "1")
        .env("NIGEHBAN_NOTIFICATION_RETRIES", "2")
        .env("NIGEHBAN_NOTIFICATION_RETRY_SECONDS", "1");
    Server::spawn(command)
}

/// The national CERT's administrator "chief", through an API token.
struct Admin {
    address: SocketAddr,
    token: String,
    root: String,
}

impl Admin {
    fn sign_in(address: SocketAddr) -> Admin {
        Admin::sign_in_as(address, "chief")
    }

    /// Any user of the national CERT (all have the one test password).
    fn sign_in_as(address: SocketAddr, username: &str) -> Admin {
        let (session, _) = Session::sign_in(address, username, PASSWORD);
        let token = session.api_token(address, &json!({"name": "paging test"}));
        let mut admin = Admin {
            address,
            token,
            root: String::new(),
        };
        admin.root = admin.call("GET", "/api/v1/tenants", None).json()["items"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        admin
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        http_json(
            self.address,
            method,
            path,
            &[("Authorization", &bearer(&self.token))],
            body,
        )
    }

    fn ok(&self, method: &str, path: &str, body: Option<&Value>, status: u16) -> Value {
        let answer = self.call(method, path, body);
        assert_eq!(answer.status, status, "{method} {path}: {}", answer.text());
        answer.json()
    }

    /// A person of the national CERT on call for the watch.
    fn person(&self, name: &str, methods: Value) {
        self.ok(
            "POST",
            "/api/v1/users",
            Some(&json!({
                "tenant": self.root, "username": name, "display_name": name,
                "role": "analyst", "password": PASSWORD,
            })),
            201,
        );
        let contacts = self.ok(
            "PUT",
            "/api/v1/oncall/contacts",
            Some(&json!({"user": name, "methods": methods})),
            200,
        );
        assert_eq!(contacts["user"], name);
    }

    /// A schedule with one person always on call (a daily hand-off to themself).
    fn schedule(&self, team: &str, person: &str) -> String {
        let created = self.ok(
            "POST",
            "/api/v1/oncall/schedules",
            Some(&json!({
                "name": format!("{team} watch"),
                "team": team,
                "roster": {"layers": [{
                    "name": "watch", "priority": 0,
                    "rotation": {"participants": [person], "start": "2020-01-01",
                                 "pattern": {"kind": "daily", "handoffs": ["00:00"]}},
                }]},
            })),
            201,
        );
        created["id"].as_str().unwrap().to_owned()
    }

    /// The escalation policy: primary's schedule, wait, secondary's schedule, wait; once more.
    fn policy(&self, primary: &str, secondary: &str, wait_seconds: u32) {
        let created = self.ok(
            "POST",
            "/api/v1/oncall/policies",
            Some(&json!({
                "name": "critical and high",
                "severities": ["high", "critical"],
                "repeat": 1,
                "steps": [
                    {"notify": [{"kind": "schedule", "schedule": primary}], "wait_seconds": wait_seconds},
                    {"notify": [{"kind": "schedule", "schedule": secondary}], "wait_seconds": wait_seconds},
                ],
            })),
            201,
        );
        assert_eq!(created["steps"].as_array().unwrap().len(), 2);
        // An unknown placeholder is refused when the template is saved.
        let refused = self.call(
            "POST",
            "/api/v1/oncall/policies",
            Some(&json!({
                "name": "broken", "steps": [{"notify": [{"kind": "user", "user": "primary"}], "wait_minutes": 5}],
                "templates": {"subject": "{{title}}", "body": "{{password}}"},
            })),
        );
        assert_eq!(refused.status, 422, "{}", refused.text());
        assert!(
            refused.text().contains("{{password}}"),
            "{}",
            refused.text()
        );
    }

    fn notifications(&self) -> Vec<Value> {
        self.ok("GET", "/api/v1/oncall/notifications", None, 200)["items"]
            .as_array()
            .unwrap()
            .clone()
    }

    fn wait_for_notifications(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let items = self.notifications();
            if done(&items) {
                return items;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: the delivery log holds {items:#?}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// The notifications of one recipient, oldest first.
fn of(items: &[Value], recipient: &str) -> Vec<Value> {
    let mut mine: Vec<Value> = items
        .iter()
        .filter(|n| n["recipient"] == recipient)
        .cloned()
        .collect();
    mine.sort_by_key(|n| n["created_at"].as_str().unwrap().to_owned());
    mine
}

fn seconds(rfc3339: &Value) -> f64 {
    let at = time::OffsetDateTime::parse(
        rfc3339.as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    at.unix_timestamp_nanos() as f64 / 1e9
}

/// A critical Sigma rule that live detection runs: shadow copies deleted.
const CRITICAL_RULE: &str = "title: Shadow copies deleted
id: 5b0d3a2e-7c41-4f0e-9d55-3f1c2a9e8b10
status: test
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4688
        CommandLine|contains: 'delete shadows'
    condition: selection
level: critical
";

/// One Windows process-creation event (NXLog's flat JSON) the rule matches.
fn shadow_copy_deletion() -> Value {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    json!({
        "EventTime": now, "Hostname": "FB-FILE01", "EventID": 4688,
        "SourceName": "Microsoft-Windows-Security-Auditing", "Channel": "Security",
        "NewProcessName": r"C:\Windows\System32\vssadmin.exe",
        "CommandLine": "vssadmin.exe delete shadows /all /quiet",
        "SubjectUserName": "svc-backup",
    })
}

#[test]
fn a_critical_alert_escalates_to_the_secondary_and_stops_at_the_signed_link() {
    if !nigehban_testkit::python_module(Need::Aiosmtpd, "aiosmtpd", "aiosmtpd") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(dir.path());
    let hooks = WebhookReceiver::start();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("shadow-copies.yml"), CRITICAL_RULE).unwrap();
    let data_dir = dir.path().join("data");
    create_administrator(&data_dir, &[]);
    let server = start(&data_dir, smtp.port, &["--rules", rules.to_str().unwrap()]);
    let admin = Admin::sign_in(server.address);
    admin.person(
        "primary",
        json!([{"kind": "email", "address": "primary@cert.example.pk"}]),
    );
    admin.person(
        "secondary",
        json!([
            {"kind": "email", "address": "secondary@cert.example.pk"},
            {"kind": "webhook", "url": hooks.url(), "secret": WEBHOOK_SECRET},
        ]),
    );
    // The webhook's secret is never shown again.
    let contacts = admin.ok("GET", "/api/v1/oncall/contacts", None, 200);
    assert!(!contacts.to_string().contains(WEBHOOK_SECRET), "{contacts}");
    let primary = admin.schedule("soc-primary", "primary");
    let secondary = admin.schedule("soc-secondary", "secondary");
    admin.policy(&primary, &secondary, 6);

    // A sensor of the national CERT sends the event; live detection raises
    // the critical alert, and the duty loop opens a page for it.
    let sensor = admin.ok(
        "POST",
        "/api/v1/sensors",
        Some(&json!({"name": "file server logs", "kind": "other"})),
        201,
    );
    let sensor_token = format!("Bearer {}", sensor["secret"].as_str().unwrap());
    let sent = http_json(
        server.address,
        "POST",
        "/api/v1/ingest",
        &[("Authorization", &sensor_token)],
        Some(&shadow_copy_deletion()),
    );
    assert_eq!(sent.status, 202, "{}", sent.text());
    let deadline = Instant::now() + Duration::from_secs(60);
    let page = loop {
        let pages = admin.ok("GET", "/api/v1/oncall/pages", None, 200);
        if let Some(page) = pages["items"].as_array().unwrap().first() {
            break page.clone();
        }
        assert!(Instant::now() < deadline, "no page opened: {pages}");
        std::thread::sleep(Duration::from_millis(300));
    };
    // Administrators do not triage alerts: an analyst reads it.
    let analyst = Admin::sign_in_as(server.address, "secondary");
    let alerts = analyst.ok("GET", "/api/v1/alerts", None, 200);
    let alert = &alerts["items"].as_array().unwrap()[0];
    assert_eq!(alert["severity"], "critical", "{alerts}");
    assert_eq!(alert["rule"]["title"], "Shadow copies deleted");
    assert_eq!(
        page["page"]["source"],
        format!("alert:{}", alert["id"].as_str().unwrap()),
        "{page}"
    );
    let page_id = page["id"].as_str().unwrap().to_owned();
    assert_eq!(page["status"], "open");

    // Step 1: the primary, by e-mail, with the TLP label in the subject.
    let to_primary = smtp.wait_for("of step 1", 1, "primary@");
    assert_eq!(
        to_primary[0].subject,
        "[TLP:AMBER] critical: Shadow copies deleted"
    );
    assert!(
        to_primary[0].body.contains("step 1"),
        "{}",
        to_primary[0].body
    );
    assert!(
        smtp.messages().iter().all(|m| !m.to.contains("secondary")),
        "the secondary was paged before the wait"
    );

    // Nobody acknowledges: step 2 pages the secondary by e-mail and webhook.
    let to_secondary = smtp.wait_for("of step 2", 1, "secondary@");
    let hook = hooks.wait_for(1);
    assert!(hook[0].0, "the webhook's HMAC signature does not verify");
    assert_eq!(hook[0].1["page"], page_id.as_str());
    assert_eq!(hook[0].1["recipient"], "secondary");
    assert_eq!(hook[0].1["step"], 2);
    let log = admin.wait_for_notifications("both steps delivered", |items| {
        items.len() == 3 && items.iter().all(|n| n["status"] == "sent")
    });
    let (first, second) = (of(&log, "primary"), of(&log, "secondary"));
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["step"], 1);
    assert_eq!(first[0]["channel"], "email");
    assert_eq!(second.len(), 2);
    assert!(second.iter().all(|n| n["step"] == 2));
    let waited = seconds(&second[0]["created_at"]) - seconds(&first[0]["created_at"]);
    assert!(
        waited >= 5.9,
        "step 2 came {waited} s after step 1, before the wait"
    );

    // The secondary acknowledges through the link in their e-mail.
    let link = to_secondary[0].ack_link();
    let path = link
        .split_once(&server.address.to_string())
        .unwrap()
        .1
        .to_owned();
    let shown = http_json(server.address, "GET", &path, &[], None);
    assert_eq!(shown.status, 200, "{}", shown.text());
    assert!(
        shown.text().contains("<form method=\"post\""),
        "{}",
        shown.text()
    );
    let acknowledged = http_json(server.address, "POST", &path, &[], None);
    assert_eq!(acknowledged.status, 200, "{}", acknowledged.text());
    assert_eq!(acknowledged.json()["status"], "acknowledged");
    assert_eq!(acknowledged.json()["acknowledged"]["by"], "secondary");
    assert_eq!(acknowledged.json()["acknowledged"]["via"], "link");
    // A link works once; a forged one is not ours.
    let again = http_json(server.address, "POST", &path, &[], None);
    assert_eq!(again.status, 409, "{}", again.text());
    let forged = format!("{}x", &path[..path.len() - 1]);
    assert_eq!(
        http_json(server.address, "POST", &forged, &[], None).status,
        404
    );

    // The escalation stopped: the repeat of step 1 never comes.
    std::thread::sleep(Duration::from_secs(8));
    assert_eq!(admin.notifications().len(), 3);
    let mails = smtp.messages();
    assert_eq!(mails.len(), 2, "{mails:#?}");
    let page = admin.ok("GET", &format!("/api/v1/oncall/pages/{page_id}"), None, 200);
    assert_eq!(page["page"]["status"], "acknowledged");
    // The proof: a version per step and the acknowledgement, with their times.
    let history: Vec<(i64, String)> = page["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["page"]["step"].as_i64().unwrap(),
                v["page"]["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            (0, "open".to_owned()),
            (1, "open".to_owned()),
            (2, "open".to_owned()),
            (2, "acknowledged".to_owned()),
        ]
    );
}

#[test]
fn an_smtp_relay_that_is_down_is_retried_then_failed_and_the_escalation_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = WebhookReceiver::start();
    let data_dir = dir.path().join("data");
    create_administrator(&data_dir, &[]);
    // Nothing listens on this port: the relay is down.
    let server = start(&data_dir, free_port(), &[]);
    let admin = Admin::sign_in(server.address);
    admin.person(
        "primary",
        json!([{"kind": "email", "address": "primary@cert.example.pk"}]),
    );
    admin.person(
        "secondary",
        json!([{"kind": "webhook", "url": hooks.url(), "secret": WEBHOOK_SECRET}]),
    );
    let primary = admin.schedule("soc-primary", "primary");
    let secondary = admin.schedule("soc-secondary", "secondary");
    admin.policy(&primary, &secondary, 8);
    admin.ok(
        "POST",
        "/api/v1/oncall/test-page",
        Some(&json!({"severity": "high"})),
        201,
    );
    // One attempt and two retries (after 1 s, then 2 s), then failed.
    let log = admin.wait_for_notifications("the e-mail failed", |items| {
        of(items, "primary")
            .first()
            .is_some_and(|n| n["status"] == "failed")
    });
    let failed = &of(&log, "primary")[0];
    let attempts = failed["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3, "{failed:#}");
    assert!(attempts.iter().all(|a| a["delivered"] == false));
    assert!(
        attempts[0]["detail"].as_str().unwrap().starts_with("SMTP"),
        "{failed:#}"
    );
    let gaps: Vec<f64> = attempts
        .windows(2)
        .map(|w| seconds(&w[1]["at"]) - seconds(&w[0]["at"]))
        .collect();
    assert!(gaps[0] >= 0.9 && gaps[1] >= 1.9, "no back-off: {gaps:?}");
    assert_eq!(failed["next_attempt_at"], Value::Null);
    // The escalation went on to the secondary.
    let hook = hooks.wait_for(1);
    assert!(hook[0].0, "the webhook's HMAC signature does not verify");
    assert_eq!(hook[0].1["step"], 2);
    let log = admin.wait_for_notifications("the webhook sent", |items| {
        of(items, "secondary")
            .first()
            .is_some_and(|n| n["status"] == "sent")
    });
    assert_eq!(of(&log, "secondary")[0]["step"], 2);
}

#[test]
fn the_shift_feed_parses_with_icalendar_and_gives_the_schedules_shifts() {
    if !nigehban_testkit::python_module(Need::Icalendar, "icalendar", "icalendar") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    create_administrator(&data_dir, &[]);
    let server = start(&data_dir, free_port(), &[]);
    let admin = Admin::sign_in(server.address);
    // Chief and a colleague take turns, 12 hours each, in Karachi time.
    admin.person(
        "colleague",
        json!([{"kind": "email", "address": "colleague@cert.example.pk"}]),
    );
    let schedule = admin.ok(
        "POST",
        "/api/v1/oncall/schedules",
        Some(&json!({
            "name": "day and night", "team": "soc",
            "roster": {"layers": [{
                "name": "watch", "priority": 0,
                "rotation": {"participants": ["chief", "colleague"], "start": "2020-01-01",
                             "pattern": {"kind": "daily", "handoffs": ["08:00", "20:00"]}},
            }]},
        })),
        201,
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let feed_path = admin.ok("POST", "/api/v1/oncall/feed-secret", None, 201)["path"]
        .as_str()
        .unwrap()
        .to_owned();
    let feed = http_json(server.address, "GET", &feed_path, &[], None);
    assert_eq!(feed.status, 200);
    let file = dir.path().join("chief.ics");
    std::fs::write(&file, feed.text()).unwrap();
    let parsed = Command::new("python3")
        .args([
            "-c",
            "import sys, json, icalendar\n\
             cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())\n\
             print(json.dumps([{'uid': str(e['UID']), 'summary': str(e['SUMMARY']),\n\
               'start': int(e.decoded('DTSTART').timestamp()), 'end': int(e.decoded('DTEND').timestamp())}\n\
               for e in cal.walk('VEVENT')]))",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        parsed.status.success(),
        "icalendar refused the feed: {}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    let events: Vec<Value> = serde_json::from_slice(&parsed.stdout).unwrap();
    // A week back and eight ahead, every other 12-hour shift: one a day.
    assert!((62..=65).contains(&events.len()), "{} events", events.len());
    let from = events
        .iter()
        .map(|e| e["start"].as_i64().unwrap())
        .min()
        .unwrap();
    let to = events
        .iter()
        .map(|e| e["end"].as_i64().unwrap())
        .max()
        .unwrap();
    let stamp = |t: i64| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let shifts = admin.ok(
        "GET",
        &format!(
            "/api/v1/oncall/schedules/{schedule}/shifts?from={}&to={}",
            stamp(from),
            stamp(to)
        ),
        None,
        200,
    );
    let mine: Vec<(i64, i64)> = shifts["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["user"] == "chief")
        .map(|s| (seconds(&s["start"]) as i64, seconds(&s["end"]) as i64))
        .collect();
    let read: Vec<(i64, i64)> = events
        .iter()
        .map(|e| (e["start"].as_i64().unwrap(), e["end"].as_i64().unwrap()))
        .collect();
    assert_eq!(read, mine, "the feed's shifts are not the schedule's");
    // Each shift is whole: 12 hours, handed off at 08:00 or 20:00 Karachi time (UTC+5).
    for (start, end) in &read {
        assert_eq!(end - start, 12 * 3600);
        assert_eq!((start + 5 * 3600) % (12 * 3600), 8 * 3600);
    }
    // Read again, the feed gives the same events (stable uids).
    let again = http_json(server.address, "GET", &feed_path, &[], None);
    std::fs::write(&file, again.text()).unwrap();
    let reparsed = Command::new("python3")
        .args([
            "-c",
            "import sys, json, icalendar\n\
             cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())\n\
             print(json.dumps([str(e['UID']) for e in cal.walk('VEVENT')]))",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let uids: Vec<String> = serde_json::from_slice(&reparsed.stdout).unwrap();
    let first_uids: Vec<String> = events
        .iter()
        .map(|e| e["uid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(uids, first_uids);
}
