//! The analyst console in a real browser: headless Chromium (Debian
//! `chromium`, driven by `chromedriver` over the WebDriver protocol) against
//! the real `nigehban` binary.
//!
//! One run signs in with the one-time password (and is made to change it),
//! registers a sensor, sends a file with `nigehban ingest`, finds an event in
//! search and expands it to its original record; works the duty page (a
//! hand-over written and acknowledged, a page acknowledged at a phone's
//! width); sees an alert, acknowledges it, opens an incident from it, tasks
//! and escalates it, files a report; a user of one organisation opening
//! another organisation's sensor by URL gets "not found". Every console page
//! ([`EVERY_PAGE`]; the run fails if one was not checked) passes axe-core (no
//! serious or critical violation), and no page asks for anything from
//! another address than the server's. Screenshots of the dashboard, event
//! search, sensors, alert queue, incident, duty (wide and phone) and audit
//! pages are written to `target/tmp/console-screenshots/` (and to
//! `docs/screenshots/` with `NIGEHBAN_UPDATE_SCREENSHOTS=1`).
//!
//! axe-core comes from npm, installed into `target/tmp/axe-core` on first use
//! (or from the file `NIGEHBAN_AXE_CORE` names).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/server.rs"]
mod server;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use nigehban_testkit::Need;
use serde_json::{Value, json};

use server::{Server, Session, free_port, http, nigehban, serve};

const NEW_PASSWORD: &str = "a long new password for the console";

/// Every page of the console (a record's id as `{id}`): each must pass
/// [`check_page`] in the run. A new page goes here and into the run.
const EVERY_PAGE: &[&str] = &[
    "/console/login",
    "/console/password",
    "/console/",
    "/console/alerts",
    "/console/alerts/{id}",
    "/console/incidents",
    "/console/incidents/{id}",
    "/console/report",
    "/console/events",
    "/console/sensors",
    "/console/sensors/{id}",
    "/console/duty",
    "/console/rules",
    "/console/admin",
    "/console/admin/users",
    "/console/admin/tokens",
    "/console/admin/audit",
    "/console/tokens",
];

/// The page a URL shows, as written in [`EVERY_PAGE`]: no query, a record's id as `{id}`.
fn page_of(url: &str) -> String {
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or(url);
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let mut parts: Vec<&str> = path.split('/').collect();
    if let [_, "console", "alerts" | "incidents" | "sensors", id] = parts.as_slice()
        && !id.is_empty()
    {
        let last = parts.len() - 1;
        parts[last] = "{id}";
    }
    parts.join("/")
}

/// Starts `nigehban serve` with the rules in `rules`; it must print the first
/// administrator's name and one-time password.
fn start(data_dir: &Path, rules: &Path) -> Server {
    let mut command = serve();
    // The browser reaches the server as http://localhost, where Chromium
    // accepts `Secure` cookies: the default (secure) cookies are tested.
    command
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--rules")
        .arg(rules);
    let server = Server::spawn(command);
    assert!(
        server.admin.is_some() && server.one_time_password.is_some(),
        "no one-time password printed"
    );
    server
}

/// The first administrator's user name.
fn admin_name(server: &Server) -> &str {
    server.admin.as_deref().unwrap()
}

/// The W3C name of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver with one headless Chromium session; both end when dropped.
struct Browser {
    driver: Child,
    address: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
    /// The pages [`check_page`] checked (as in [`EVERY_PAGE`]).
    checked: RefCell<BTreeSet<String>>,
}

impl Browser {
    fn start(chromium: &Path, chromedriver: &Path) -> Browser {
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(address).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not start listening"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let mut browser = Browser {
            driver,
            address,
            session: String::new(),
            _profile: profile,
            checked: RefCell::new(BTreeSet::new()),
        };
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--window-size=1280,900".to_owned(),
            format!("--user-data-dir={}", browser._profile.path().display()),
        ];
        let answer = browser.call(
            "POST",
            "/session",
            &json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": chromium, "args": args},
                "goog:loggingPrefs": {"performance": "ALL"},
            }}}),
        );
        browser.session = answer["sessionId"]
            .as_str()
            .expect("a WebDriver session")
            .to_owned();
        browser
    }

    /// A WebDriver command; its `value`. Panics on a WebDriver error.
    fn call(&self, method: &str, path: &str, body: &Value) -> Value {
        match self.try_call(method, path, body) {
            Ok(value) => value,
            Err(error) => panic!("WebDriver {method} {path}: {error}"),
        }
    }

    /// A WebDriver command; its `value`, or the status and answer of a WebDriver error.
    fn try_call(&self, method: &str, path: &str, body: &Value) -> Result<Value, String> {
        let bytes = if method == "GET" || method == "DELETE" {
            Vec::new()
        } else {
            serde_json::to_vec(body).unwrap()
        };
        let answer = http(
            self.address,
            method,
            path,
            &[("Content-Type", "application/json")],
            &bytes,
        );
        if answer.status != 200 {
            return Err(format!("{} {}", answer.status, answer.text()));
        }
        Ok(answer.json()["value"].clone())
    }

    fn session_call(&self, method: &str, path: &str, body: &Value) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    fn go(&self, url: &str) {
        self.session_call("POST", "/url", &json!({"url": url}));
    }

    /// Sets the window's size (CSS pixels), e.g. a phone's width.
    fn resize(&self, width: u32, height: u32) {
        self.session_call(
            "POST",
            "/window/rect",
            &json!({"width": width, "height": height}),
        );
    }

    fn url(&self) -> String {
        self.session_call("GET", "/url", &Value::Null)
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Waits for the page at a URL containing `part` (a submitted form's answer may still be loading).
    fn wait_for_url(&self, part: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let url = self.url();
            if url.contains(part) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {part}, still on {url}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn find(&self, css: &str) -> String {
        let value = self.session_call(
            "POST",
            "/element",
            &json!({"using": "css selector", "value": css}),
        );
        value[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {value} on {}", self.url()))
            .to_owned()
    }

    fn find_all(&self, css: &str) -> Vec<String> {
        let value = self.session_call(
            "POST",
            "/elements",
            &json!({"using": "css selector", "value": css}),
        );
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e[ELEMENT].as_str().unwrap().to_owned())
            .collect()
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.session_call("POST", &format!("/element/{element}/clear"), &json!({}));
        self.session_call(
            "POST",
            &format!("/element/{element}/value"),
            &json!({"text": text}),
        );
    }

    fn click(&self, css: &str) {
        self.on_element(css, "POST", "click");
    }

    /// Clicks what submits a form or follows a link, then waits until the next page has replaced
    /// this one: the URL alone cannot tell when a form posts back to its own page.
    fn submit(&self, css: &str) {
        self.run("window.__nigehbanOldPage = true;", json!([]));
        self.click(css);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let state = self.try_call(
                "POST",
                &format!("/session/{}/execute/sync", self.session),
                &json!({
                    "script": "return !window.__nigehbanOldPage && document.readyState === 'complete';",
                    "args": [],
                }),
            );
            if state == Ok(Value::Bool(true)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "clicked {css}, but no new page came on {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends `command` (`"text"`, `"click"`) to the element at `css`. A page that is being
    /// replaced (a submitted form, the live refresh) can make the element stale between finding
    /// and using it: find it again.
    fn on_element(&self, css: &str, method: &str, command: &str) -> Value {
        let mut attempts = 0;
        loop {
            let element = self.find(css);
            let path = format!("/session/{}/element/{element}/{command}", self.session);
            let body = if method == "GET" {
                Value::Null
            } else {
                json!({})
            };
            match self.try_call(method, &path, &body) {
                Ok(value) => return value,
                Err(error) if error.contains("stale element reference") && attempts < 20 => {
                    attempts += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(error) => panic!("WebDriver {method} {path}: {error}"),
            }
        }
    }

    fn text(&self, css: &str) -> String {
        self.on_element(css, "GET", "text")
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn run(&self, script: &str, args: Value) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            &json!({"script": script, "args": args}),
        )
    }

    fn run_async(&self, script: &str) -> Value {
        self.session_call(
            "POST",
            "/execute/async",
            &json!({"script": script, "args": []}),
        )
    }

    fn screenshot(&self, name: &str) {
        let value = self.session_call("GET", "/screenshot", &Value::Null);
        let png = base64::engine::general_purpose::STANDARD
            .decode(value.as_str().unwrap())
            .unwrap();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
        if std::env::var("NIGEHBAN_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
            let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
            std::fs::create_dir_all(&docs).unwrap();
            std::fs::write(docs.join(format!("{name}.png")), &png).unwrap();
        }
    }

    /// Every URL the browser asked for since the last call (the performance log).
    fn requested_urls(&self) -> Vec<String> {
        let entries = self.session_call("POST", "/se/log", &json!({"type": "performance"}));
        entries
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|entry| serde_json::from_str::<Value>(entry["message"].as_str()?).ok())
            .filter(|message| message["message"]["method"] == "Network.requestWillBeSent")
            .filter_map(|message| {
                message["message"]["params"]["request"]["url"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                http(
                    self.address,
                    "DELETE",
                    &format!("/session/{}", self.session),
                    &[],
                    b"",
                )
            }));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// axe-core's script: `NIGEHBAN_AXE_CORE`, or the npm package installed into
/// the target directory on first use. `None` after a skip.
fn axe_core() -> Option<String> {
    if let Some(path) = std::env::var_os("NIGEHBAN_AXE_CORE") {
        return Some(std::fs::read_to_string(&path).unwrap());
    }
    let prefix = Path::new(env!("CARGO_TARGET_TMPDIR")).join("axe-core");
    let script = prefix.join("node_modules/axe-core/axe.min.js");
    if !script.exists() {
        let npm = nigehban_testkit::program(Need::Chromium, "npm", "npm")?;
        std::fs::create_dir_all(&prefix).unwrap();
        let status = Command::new(npm)
            .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
            .arg(&prefix)
            .arg("axe-core@4")
            .status()
            .unwrap();
        assert!(status.success(), "npm install axe-core failed ({status})");
    }
    Some(std::fs::read_to_string(&script).unwrap())
}

/// Checks the page now shown: no serious or critical axe-core violation, and
/// every request since the last check went to the server itself.
fn check_page(browser: &Browser, axe: &str, server: &Server, what: &str) {
    let injected = browser.run(
        "if (!window.axe) { (0, eval)(arguments[0]); } return typeof window.axe;",
        json!([axe]),
    );
    assert_eq!(injected, "object", "axe-core did not load on {what}");
    let violations = browser.run_async(
        "const done = arguments[arguments.length - 1];\
         axe.run(document, {resultTypes: ['violations']})\
           .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')\
             .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.html).slice(0, 3)}))))\
           .catch(e => done([{id: 'axe-failed', help: String(e)}]));",
    );
    assert_eq!(violations, json!([]), "axe-core on {what}");
    let own = server.console_url("/");
    let elsewhere: Vec<String> = browser
        .requested_urls()
        .into_iter()
        // The browser's own pages (chrome://, the new-tab page before the
        // first navigation) are not the page's requests; every network one is.
        .filter(|url| {
            !url.starts_with(&own)
                && ["http:", "https:", "ws:", "wss:", "ftp:"]
                    .iter()
                    .any(|s| url.starts_with(s))
        })
        .collect();
    assert!(
        elsewhere.is_empty(),
        "{what} asked for other addresses: {elsewhere:?}"
    );
    browser.checked.borrow_mut().insert(page_of(&browser.url()));
}

/// Signs in through the form; changes the one-time password when made to.
fn sign_in(browser: &Browser, server: &Server, username: &str, password: &str, axe: &str) {
    browser.go(&server.console_url("/console/"));
    assert!(
        browser.url().ends_with("/console/login"),
        "not sent to sign in: {}",
        browser.url()
    );
    check_page(browser, axe, server, "the sign-in page");
    browser.type_into("input[name=username]", username);
    browser.type_into("input[name=password]", password);
    browser.submit("form button[type=submit]");
    browser.wait_for_url("/console/password");
    assert!(
        browser.text("main").contains("for one use only"),
        "{}",
        browser.text("main")
    );
    // Nothing else opens before the password is changed.
    browser.go(&server.console_url("/console/sensors"));
    assert!(
        browser.url().ends_with("/console/password"),
        "{}",
        browser.url()
    );
    check_page(browser, axe, server, "the password page");
    browser.type_into("input[name=current_password]", password);
    browser.type_into("input[name=new_password]", NEW_PASSWORD);
    browser.submit("main form button[type=submit]");
    browser.wait_for_url("/console/?password=changed");
}

/// A JSON request with a session.
fn api(server: &Server, session: &Session, method: &str, path: &str, body: &Value) -> Value {
    let answer = http(
        server.address,
        method,
        path,
        &[
            ("Content-Type", "application/json"),
            ("Cookie", &session.cookie),
            ("X-CSRF-Token", &session.csrf),
        ],
        &serde_json::to_vec(body).unwrap(),
    );
    assert!(
        (200..300).contains(&answer.status),
        "{method} {path}: {} {}",
        answer.status,
        answer.text()
    );
    answer.json()
}

/// A rule that raises an alert for every failed SSH logon from the probe's address.
const PROBE_RULE: &str = "title: Console probe logon
id: 5f0c1d2e-8a4b-4c6d-9e7f-0a1b2c3d4e5f
status: test
description: A failed SSH logon from the console test's address.
author: Nigehban tests
logsource:
    product: linux
    service: sshd
detection:
    selection:
        event.action: ssh_login
        source.ip: 198.51.100.77
    condition: selection
level: high
";

/// A stored rule that matches nothing, for the rules page.
const LISTED_RULE: &str = "title: Console listed rule
id: 6a1d2e3f-9b5c-4d7e-8f90-1a2b3c4d5e6f
status: test
description: Listed on the rules page; matches nothing.
author: Nigehban tests
logsource:
    product: linux
    service: sshd
detection:
    selection:
        event.action: never_seen_in_this_test
    condition: selection
level: low
";

/// Sends one failed SSH logon from the probe's address with a sensor's token.
fn send_probe_logon(server: &Server, dir: &Path, name: &str, token: &str) {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let file = dir.join(format!("{name}.log"));
    std::fs::write(
        &file,
        format!(
            "<38>1 {now} {name} sshd 4243 - - Failed password for root from 198.51.100.77 port 50022 ssh2\n"
        ),
    )
    .unwrap();
    let output = nigehban()
        .args([
            "ingest",
            "--server",
            &format!("http://{}", server.address),
            "--quiet",
            "--journal",
        ])
        .arg(dir.join(format!("{name}.journal")))
        .arg(&file)
        .env("NIGEHBAN_INGEST_TOKEN", token)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn an_analyst_signs_in_registers_a_sensor_and_finds_its_event_in_a_real_browser() {
    let Some(chromium) = nigehban_testkit::program(Need::Chromium, "chromium", "chromium") else {
        return;
    };
    let Some(chromedriver) =
        nigehban_testkit::program(Need::Chromium, "chromedriver", "chromium-driver")
    else {
        return;
    };
    let Some(axe) = axe_core() else { return };
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("probe.yml"), PROBE_RULE).unwrap();
    let server = start(&dir.path().join("data"), &rules);
    let browser = Browser::start(&chromium, &chromedriver);

    // Sign in with the one-time password: the console insists on a new one first.
    sign_in(
        &browser,
        &server,
        admin_name(&server),
        server.one_time_password.as_deref().unwrap(),
        &axe,
    );
    assert!(
        browser.text("main").contains("Your password is changed"),
        "{}",
        browser.text("main")
    );
    check_page(&browser, &axe, &server, "the dashboard");

    // Register a sensor: the ingest token is shown once, with the command to send data.
    browser.go(&server.console_url("/console/sensors"));
    check_page(&browser, &axe, &server, "the empty sensors page");
    browser.type_into("form input[name=name]", "edge ids");
    browser.submit("main form.stacked button[type=submit]");
    browser.wait_for_url("/console/sensors");
    let token = browser.text("#ingest-token");
    assert!(token.starts_with("ngs_"), "{token}");
    assert!(
        browser
            .text("#send-command")
            .contains("nigehban ingest --server"),
        "{}",
        browser.text("#send-command")
    );
    check_page(&browser, &axe, &server, "the registered sensor page");

    // Send a file with `nigehban ingest`, as the page says.
    let marker = "consoleprobe7781";
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let file = dir.path().join("messages.log");
    std::fs::write(
        &file,
        // Stamped now, so that the dashboard's last 24 hours count them.
        format!(
            "<38>1 {now} web01 sshd 4242 - - Failed password for root from 203.0.113.9 {marker}\n\
             <38>1 {now} web01 cron 77 - - job done\n"
        ),
    )
    .unwrap();
    let output = nigehban()
        .args([
            "ingest",
            "--server",
            &format!("http://{}", server.address),
            "--quiet",
            "--journal",
        ])
        .arg(dir.path().join("journal"))
        .arg(&file)
        .env("NIGEHBAN_INGEST_TOKEN", &token)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Find it in search (once indexed) and expand it to its original record.
    let search = server.console_url(&format!("/console/events?range=all&q={marker}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        browser.go(&search);
        if !browser.find_all("details.event").is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the event never appeared in search: {}",
            browser.text("main")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        browser.find_all("details.event").len(),
        1,
        "{}",
        browser.text("main")
    );
    check_page(&browser, &axe, &server, "event search");
    let original = browser.text("pre.original");
    assert_eq!(
        original, "",
        "the original record shows before the event is expanded"
    );
    browser.click("details.event summary");
    let original = browser.text("pre.original");
    assert!(
        original.contains(&format!(
            "Failed password for root from 203.0.113.9 {marker}"
        )),
        "{original}"
    );
    assert!(
        browser.text("details.event").contains("web01"),
        "{}",
        browser.text("details.event")
    );
    browser.screenshot("event-search");

    browser.go(&server.console_url("/console/sensors"));
    assert!(
        browser.text("#sensors").contains("edge ids"),
        "{}",
        browser.text("#sensors")
    );
    check_page(&browser, &axe, &server, "the sensors page");
    browser.screenshot("sensors");
    browser.go(&server.console_url("/console/"));
    check_page(&browser, &axe, &server, "the dashboard with events");
    assert!(
        !browser.find_all("svg.chart rect").is_empty(),
        "no bar in the chart"
    );

    // Two organisations; a user of the first opens the second's sensor by URL.
    let admin = Session::sign_in(server.address, admin_name(&server), NEW_PASSWORD).0;
    let national = api(&server, &admin, "GET", "/api/v1/auth/session", &Value::Null)["tenant"]
        .as_str()
        .unwrap()
        .to_owned();
    let org = |name: &str| {
        api(
            &server,
            &admin,
            "POST",
            "/api/v1/tenants",
            &json!({"parent": national, "name": name, "kind": "organisation"}),
        )["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (first, second) = (org("First Bank"), org("Second Bank"));
    let their_sensor = api(
        &server,
        &admin,
        "POST",
        "/api/v1/sensors",
        &json!({"tenant": second, "name": "their ids", "kind": "ids"}),
    );
    let theirs = their_sensor["sensor"]["id"].as_str().unwrap().to_owned();
    let our_sensor = api(
        &server,
        &admin,
        "POST",
        "/api/v1/sensors",
        &json!({"tenant": first, "name": "first bank ids", "kind": "ids"}),
    );
    // One failed logon from the probe's address at each bank: an alert at each.
    send_probe_logon(
        &server,
        dir.path(),
        "firstbank01",
        our_sensor["secret"].as_str().unwrap(),
    );
    send_probe_logon(
        &server,
        dir.path(),
        "secondbank01",
        their_sensor["secret"].as_str().unwrap(),
    );
    // The second bank's analyst opens an incident from its alert over the API.
    let second_analyst = api(
        &server,
        &admin,
        "POST",
        "/api/v1/users",
        &json!({"tenant": second, "username": "second.analyst", "display_name": "Second analyst", "role": "analyst"}),
    );
    let (their_alert, their_incident) = second_bank_incident(
        &server,
        second_analyst["one_time_password"].as_str().unwrap(),
    );
    let created = api(
        &server,
        &admin,
        "POST",
        "/api/v1/users",
        &json!({"tenant": first, "username": "first.analyst", "display_name": "First analyst", "role": "analyst"}),
    );
    let password = created["one_time_password"].as_str().unwrap().to_owned();
    // My API tokens: one created, its secret shown once.
    browser.go(&server.console_url("/console/tokens"));
    check_page(&browser, &axe, &server, "my API tokens");
    browser.type_into("main form input[name=name]", "console e2e");
    browser.submit("#create-token");
    browser.wait_for_url("/console/tokens");
    assert!(
        browser.text("#api-token").starts_with("ngb_"),
        "{}",
        browser.text("main")
    );
    check_page(&browser, &axe, &server, "a created API token");
    browser.go(&server.console_url("/console/tokens"));
    assert!(
        browser.text("#tokens").contains("console e2e"),
        "{}",
        browser.text("main")
    );
    assert!(!browser.text("main").contains("ngb_"));

    // Duty: who is on call (no schedule yet: the page says how to make one).
    browser.go(&server.console_url("/console/duty"));
    assert!(
        browser
            .text("main")
            .contains("No duty schedule you may see"),
        "{}",
        browser.text("main")
    );
    check_page(&browser, &axe, &server, "duty without a schedule");
    work_the_duty_page(&browser, &server, &admin, &axe);
    // The national picture: events, alerts, the second bank's incident, who is on duty.
    browser.go(&server.console_url("/console/"));
    assert_eq!(
        browser.text("#on-call-now"),
        format!("national watch · soc: {}", admin_name(&server)),
        "{}",
        browser.text("main")
    );
    check_page(
        &browser,
        &axe,
        &server,
        "the dashboard with alerts, incidents and duty",
    );
    browser.screenshot("dashboard");
    // One sensor's page: its health over time.
    browser.go(&server.console_url("/console/sensors"));
    let href = browser.run(
        "return document.querySelector('#sensors a[href^=\"/console/sensors/\"]').getAttribute('href');",
        json!([]),
    );
    browser.go(&server.console_url(href.as_str().unwrap()));
    assert!(
        browser.text("main").contains("edge ids"),
        "{}",
        browser.text("main")
    );
    check_page(&browser, &axe, &server, "a sensor's page");

    // Administration: the tenant tree, users and roles, tokens, the audit log verified.
    browser.go(&server.console_url("/console/admin"));
    let tree = browser.text("#tenant-tree");
    assert!(
        tree.contains("First Bank") && tree.contains("Second Bank"),
        "{tree}"
    );
    check_page(&browser, &axe, &server, "the tenant tree");
    browser.go(&server.console_url("/console/admin/users"));
    assert!(
        browser.text("#users").contains("first.analyst"),
        "{}",
        browser.text("main")
    );
    check_page(&browser, &axe, &server, "users and roles");
    browser.go(&server.console_url("/console/admin/tokens"));
    assert!(
        browser.text("#subtree-tokens").contains("console e2e"),
        "{}",
        browser.text("main")
    );
    check_page(&browser, &axe, &server, "the subtree's API tokens");
    browser.go(&server.console_url("/console/admin/audit?verify=1"));
    assert!(
        browser.text("#verification").contains("Intact:"),
        "{}",
        browser.text("main")
    );
    assert!(
        browser.text("#audit").contains("tenant.create"),
        "{}",
        browser.text("main")
    );
    check_page(&browser, &axe, &server, "the audit log");
    browser.screenshot("audit-log");
    // A stored rule (imported over the API) is listed with its state.
    let imported = http(
        server.address,
        "POST",
        "/api/v1/rules/import",
        &[
            ("Content-Type", "application/octet-stream"),
            ("Cookie", &admin.cookie),
            ("X-CSRF-Token", &admin.csrf),
        ],
        LISTED_RULE.as_bytes(),
    );
    assert!(
        (200..300).contains(&imported.status),
        "{} {}",
        imported.status,
        imported.text()
    );
    browser.go(&server.console_url("/console/rules?q=listed"));
    assert!(
        !browser.find_all("#rules").is_empty(),
        "no rules listed: {}",
        browser.text("main")
    );
    let rules = browser.text("#rules");
    assert!(
        rules.contains("Console listed rule") && rules.contains("Runs"),
        "{rules}"
    );
    check_page(&browser, &axe, &server, "the rules");

    browser.submit("header form button[type=submit]");
    browser.wait_for_url("/console/login?out=1");
    sign_in(&browser, &server, "first.analyst", &password, &axe);
    browser.go(&server.console_url(&format!("/console/sensors/{theirs}")));
    assert_eq!(browser.text("h1"), "Not found");
    assert!(
        !browser.text("body").contains("their ids"),
        "{}",
        browser.text("body")
    );
    check_page(&browser, &axe, &server, "the not-found page");
    // Its own list does not name the other organisation's sensor either.
    browser.go(&server.console_url("/console/sensors"));
    assert!(
        !browser.text("main").contains("their ids"),
        "{}",
        browser.text("main")
    );
    assert!(
        !browser.text("main").contains("edge ids"),
        "{}",
        browser.text("main")
    );

    // The alert queue lists the first bank's alert (raised by the probe rule), not the second's.
    let queue = server.console_url("/console/alerts");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        browser.go(&queue);
        if !browser.find_all("#alerts tbody tr").is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the alert never appeared in the queue: {}",
            browser.text("main")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        browser.find_all("#alerts tbody tr").len(),
        1,
        "{}",
        browser.text("main")
    );
    let row = browser.text("#alerts tbody tr");
    assert!(row.contains("Console probe logon"), "{row}");
    assert!(row.contains("firstbank01"), "{row}");
    check_page(&browser, &axe, &server, "the alert queue");
    browser.screenshot("alert-queue");

    // Acknowledge it from the queue with the keyboard (j: onto the first row, a: acknowledge).
    browser.run(
        r#"for (const key of ["j", "a"]) {
             document.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true }));
           }"#,
        json!([]),
    );
    browser.wait_for_url("/console/alerts?done=1&failed=0");
    assert!(
        browser.text("main").contains("Alerts changed: 1"),
        "{}",
        browser.text("main")
    );
    check_page(
        &browser,
        &axe,
        &server,
        "the alert queue after a bulk action",
    );

    // Open it: acknowledged, with its matching event.
    browser.submit("#alerts tbody tr a");
    browser.wait_for_url("/console/alerts/");
    assert!(
        !browser.find_all("#alert-status").is_empty(),
        "{}: {}",
        browser.url(),
        browser.text("body")
    );
    assert_eq!(browser.text("#alert-status"), "acknowledged");
    assert!(
        browser.text("main").contains("198.51.100.77"),
        "the matching event is not shown: {}",
        browser.text("main")
    );
    check_page(&browser, &axe, &server, "an alert");
    let alert_url = browser.url();

    // Open an incident from it, then escalate the incident to the CERT above.
    browser.type_into(
        "#open-incident input[name=title]",
        "Probe logons at First Bank",
    );
    browser.submit("#open-incident-button");
    browser.wait_for_url("/console/incidents/");
    let incident_url = browser.url();
    assert!(
        browser.text("main").contains("Probe logons at First Bank"),
        "{}",
        browser.text("main")
    );
    assert_eq!(browser.text("#incident-owner"), "First Bank");
    check_page(&browser, &axe, &server, "an incident with its task form");
    // Task the bank itself (the one tenant in the analyst's subtree) with collecting logs.
    browser.type_into(
        "#task-form input[name=title]",
        "Collect the SSH logs of firstbank01",
    );
    browser.submit("#give-task");
    assert!(
        browser
            .text("main")
            .contains("Collect the SSH logs of firstbank01"),
        "{}",
        browser.text("main")
    );
    check_page(&browser, &axe, &server, "an incident with a task");
    browser.screenshot("incident");
    browser.go(&alert_url);
    assert!(
        browser
            .text("#linked-incident")
            .contains("linked to an incident"),
        "{}",
        browser.text("main")
    );
    browser.go(&incident_url);
    browser.type_into("form textarea[name=note]", "Seen across the sector");
    browser.submit("#escalate");
    let deadline = Instant::now() + Duration::from_secs(20);
    while browser.text("#incident-owner") == "First Bank" {
        assert!(Instant::now() < deadline, "{}", browser.text("main"));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        browser.find_all("#escalate").is_empty(),
        "still escalatable: {}",
        browser.text("main")
    );
    check_page(&browser, &axe, &server, "the escalated incident");
    browser.go(&server.console_url("/console/incidents"));
    assert!(
        browser
            .text("#incidents")
            .contains(&incident_url.rsplit('/').next().unwrap().to_owned()),
        "{}",
        browser.text("main")
    );
    check_page(&browser, &axe, &server, "the incident list");

    // A constituent's report, filed through the form.
    browser.go(&server.console_url("/console/report"));
    check_page(&browser, &axe, &server, "the report form");
    browser.type_into(
        "#report-form input[name=title]",
        "Phishing mails to branch staff",
    );
    browser.type_into(
        "#report-form textarea[name=description]",
        "Ten staff received a fake payroll login page.",
    );
    browser.submit("#file-report");
    assert!(
        browser.text("main").contains("Report filed:")
            && browser
                .text("#reports")
                .contains("Phishing mails to branch staff"),
        "{}",
        browser.text("main")
    );
    check_page(&browser, &axe, &server, "a filed report");

    // The bank's dashboard: its own alerts and incidents charted.
    browser.go(&server.console_url("/console/"));
    assert!(
        !browser.find_all("svg.chart").is_empty(),
        "no chart: {}",
        browser.text("main")
    );
    check_page(&browser, &axe, &server, "the bank's dashboard");

    // The second bank's alert and incident, by URL: not found.
    for url in [
        format!("/console/alerts/{their_alert}"),
        format!("/console/incidents/{their_incident}"),
    ] {
        browser.go(&server.console_url(&url));
        assert_eq!(browser.text("h1"), "Not found", "{url}");
        assert!(
            !browser.text("body").contains("secondbank01"),
            "{url}: {}",
            browser.text("body")
        );
    }

    // Every console page was checked with axe-core and the network log.
    let checked = browser.checked.borrow();
    let missed: Vec<&&str> = EVERY_PAGE
        .iter()
        .filter(|page| !checked.contains(**page))
        .collect();
    assert!(
        missed.is_empty(),
        "pages never checked: {missed:?} (checked: {checked:?})"
    );
}

/// The administrator's duty: a schedule with them on call around the clock
/// and two drill pages (over the API); then in the browser a hand-over
/// written and acknowledged, and a page acknowledged at a phone's width.
fn work_the_duty_page(browser: &Browser, server: &Server, admin: &Session, axe: &str) {
    api(
        server,
        admin,
        "POST",
        "/api/v1/oncall/schedules",
        &json!({
            "name": "national watch",
            "team": "soc",
            "roster": {"layers": [{
                "name": "watch", "priority": 0,
                "rotation": {"participants": [admin_name(server)], "start": "2020-01-01",
                             "pattern": {"kind": "daily", "handoffs": ["00:00"]}},
            }]},
        }),
    );
    for (severity, title) in [
        ("high", "Drill: DNS resolvers down"),
        ("critical", "Drill: ransomware at a ministry"),
    ] {
        api(
            server,
            admin,
            "POST",
            "/api/v1/oncall/test-page",
            &json!({"severity": severity, "title": title}),
        );
    }
    browser.go(&server.console_url("/console/duty"));
    let open = browser.text("#open-pages");
    assert!(
        open.contains("Drill: DNS resolvers down")
            && open.contains("Drill: ransomware at a ministry"),
        "{open}"
    );
    check_page(browser, axe, server, "duty with open pages");

    // The hand-over: written by the one on call, acknowledged by the incoming
    // person (the same, the rota's only member).
    browser.type_into(
        "#handover-form textarea[name=note]",
        "Quiet night; the DNS drill is still open.",
    );
    browser.submit("#write-handover");
    browser.wait_for_url("/console/duty?done=handover");
    assert!(
        browser
            .text("#handovers")
            .contains("Quiet night; the DNS drill is still open."),
        "{}",
        browser.text("main")
    );
    check_page(browser, axe, server, "duty with a hand-over");
    browser.screenshot("duty");
    browser.submit("#handovers form button");
    browser.wait_for_url("/console/duty?done=handover_acknowledged");
    assert!(
        browser.text("main").contains("Hand-over acknowledged."),
        "{}",
        browser.text("main")
    );
    assert!(browser.find_all("#handovers form").is_empty());
    check_page(browser, axe, server, "duty with an acknowledged hand-over");

    // 3 a.m., on a phone: the Acknowledge button fits the screen, large
    // enough to hit, and nothing on the page scrolls sideways.
    browser.resize(390, 844);
    browser.go(&server.console_url("/console/duty"));
    let fit = browser.run(
        "const b = document.querySelector('#open-pages button').getBoundingClientRect();\
         const page = document.documentElement;\
         return {left: b.left, right: b.right, height: b.height,\
                 width: page.clientWidth, scroll: page.scrollWidth};",
        json!([]),
    );
    let number = |key: &str| fit[key].as_f64().unwrap();
    assert!(number("width") <= 400.0, "not a phone's width: {fit}");
    assert!(
        number("left") >= 0.0 && number("right") <= number("width"),
        "the button leaves the screen: {fit}"
    );
    assert!(
        number("height") >= 44.0,
        "the button is too small to hit: {fit}"
    );
    assert!(
        number("scroll") <= number("width"),
        "the page scrolls sideways: {fit}"
    );
    check_page(browser, axe, server, "duty at a phone's width");
    browser.screenshot("duty-phone");
    let oldest = browser.text("#open-pages li:first-child .duty-title");
    assert_eq!(
        oldest, "Drill: DNS resolvers down",
        "the longest waiting first"
    );
    browser.submit("#open-pages li:first-child button");
    browser.wait_for_url("/console/duty?done=page");
    assert!(
        browser
            .text("main")
            .contains("Page acknowledged: its escalation has stopped."),
        "{}",
        browser.text("main")
    );
    assert_eq!(
        browser.find_all("#open-pages li").len(),
        1,
        "{}",
        browser.text("main")
    );
    assert!(
        !browser.text("#open-pages").contains(&oldest),
        "{}",
        browser.text("main")
    );
    check_page(browser, axe, server, "duty after acknowledging a page");
    browser.resize(1280, 900);
}

/// The second bank's analyst changes the one-time password, waits for the
/// bank's alert and opens an incident from it over the API: (alert id, incident readable id).
fn second_bank_incident(server: &Server, one_time_password: &str) -> (String, String) {
    let first = Session::sign_in(server.address, "second.analyst", one_time_password).0;
    api(
        server,
        &first,
        "POST",
        "/api/v1/auth/password",
        &json!({"current_password": one_time_password, "new_password": NEW_PASSWORD}),
    );
    let session = Session::sign_in(server.address, "second.analyst", NEW_PASSWORD).0;
    let deadline = Instant::now() + Duration::from_secs(60);
    let alert = loop {
        let page = api(server, &session, "GET", "/api/v1/alerts", &Value::Null);
        if let Some(alert) = page["items"].as_array().unwrap().first() {
            break alert["id"].as_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "no alert at the second bank");
        std::thread::sleep(Duration::from_millis(500));
    };
    let incident = api(
        server,
        &session,
        "POST",
        "/api/v1/incidents",
        &json!({
            "title": "Probe logons at Second Bank",
            "classification": {"class": "other", "type": "undetermined"},
            "severity": "medium",
            "alerts": [alert],
        }),
    );
    (alert, incident["readable_id"].as_str().unwrap().to_owned())
}
