//! TAXII 2.1 through the real binary (issue 13).
//!
//! The server: the PyPI `taxii2-client` library, as a real client, discovers
//! `nigehban serve`'s TAXII server, lists the collections a caller sees,
//! adds objects (then reads the status resource), pages with `next` (every
//! object seen exactly once) and filters with `added_after`; what a shared
//! collection gives follows TLP (a sibling sector's AMBER object never
//! appears, its GREEN one does); bad requests get TAXII error objects.
//!
//! The client: a real PyPI `medallion` TAXII 2.1 server on loopback (its
//! memory backend, with a configuration written here) is pulled into a
//! tenant by `nigehban intel pull`; a second pull asks with `added_after`
//! and gets only the new objects; pulled objects keep their markings and
//! source. `nigehban serve` with a `[[taxii_subscriptions]]` table pulls the
//! same collection on its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/platform.rs"]
mod platform;
#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/server.rs"]
mod server;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nigehban_app::model::{DisplayName, Password, Role, Username};
use nigehban_app::{App, NewUser, StixImport};
use nigehban_testkit::Need;
use serde_json::{Value, json};

use platform::{Storage, runtime, token, tree};
use postgres::ScratchDatabase;
use server::{Answer, Process, Server, free_port, http, nigehban, serve, wait_for_port};

const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
const CLEAR: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
const TAXII: &str = "application/taxii+json;version=2.1";
const BANK_PASSWORD: &str = "bank intel password";

/// Whether the Python TAXII libraries are there (a failure under NIGEHBAN_REQUIRE_SERVICES=1 when not).
fn taxii_client() -> bool {
    nigehban_testkit::python_module(Need::Taxii2Client, "taxii2client", "taxii2-client")
}

fn medallion_installed() -> bool {
    nigehban_testkit::python_module(Need::Medallion, "medallion", "medallion")
}

/// A STIX id of `kind` numbered `n` (a valid UUID).
fn stix_id(kind: &str, n: u64) -> String {
    format!("{kind}--{n:08x}-0000-4000-8000-{n:012x}")
}

/// An indicator object for an IPv4 address, marked `marking`, made by `creator`.
fn indicator(n: u64, address: &str, marking: &str, creator: Option<&str>) -> Value {
    let mut object = json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": stix_id("indicator", n),
        "created": "2026-01-02T03:04:05.000Z",
        "modified": "2026-01-02T03:04:05.000Z",
        "name": format!("C2 server {address}"),
        "pattern": format!("[ipv4-addr:value = '{address}']"),
        "pattern_type": "stix",
        "valid_from": "2026-01-02T03:04:05Z",
        "object_marking_refs": [marking],
    });
    if let Some(creator) = creator {
        object["created_by_ref"] = creator.into();
    }
    object
}

/// A platform: national ─┬─ telecom ─── operator, └─ banking ─── bank.
struct Platform {
    /// An API token of the operator's intelligence analyst.
    operator_intel: String,
    /// The bank's intelligence analyst: user name (password [`BANK_PASSWORD`]) and an API token.
    bank_user: String,
    bank_intel: String,
    bank: String,
    operator: String,
}

/// Sets the platform up; the operator shares a CLEAR, a GREEN and an AMBER indicator.
async fn platform(app: &App) -> Platform {
    let tree = tree(app, None).await;
    let (admin, operator, bank) = (&tree.admin, &tree.operator, &tree.bank);
    app.users()
        .create(
            admin,
            NewUser {
                tenant: bank.id,
                username: Username::parse("bank-intel").unwrap(),
                display_name: DisplayName::parse("Bank intelligence").unwrap(),
                role: Role::IntelAnalyst,
                password: Some(Password::parse(BANK_PASSWORD).unwrap()),
            },
        )
        .await
        .unwrap();
    let operator_intel = token(app, admin, operator.id, Role::IntelAnalyst).await;
    let bank_intel = token(app, admin, bank.id, Role::IntelAnalyst).await;
    let publisher = app
        .tokens()
        .authenticate(&operator_intel, None)
        .await
        .unwrap();
    let bundle = json!({
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": [
            indicator(1, "198.51.100.1", CLEAR, None),
            indicator(2, "198.51.100.2", GREEN, None),
            indicator(3, "198.51.100.3", AMBER, None),
        ],
    });
    let bundle = nigehban_app::stix::read_bundle(bundle.to_string().as_bytes()).unwrap();
    let report = app
        .intel()
        .import_stix(
            &publisher,
            &StixImport {
                tenant: None,
                default_tlp: nigehban_app::model::Tlp::Amber,
                default_pap: nigehban_app::model::Pap::Amber,
                source: "Operator SOC".into(),
            },
            &bundle,
            &mut |_, _| {},
        )
        .await
        .unwrap();
    assert_eq!(report.len(), 3, "{report:?}");
    Platform {
        operator_intel,
        bank_user: "bank-intel".into(),
        bank_intel,
        bank: bank.id.to_string(),
        operator: operator.id.to_string(),
    }
}

/// Starts `nigehban serve` on `storage` with extra environment and a configuration file.
fn start(storage: &Storage, env: &[(&str, &str)], config: Option<&Path>) -> Server {
    let mut command = serve();
    command
        .args(storage.args())
        .env("NIGEHBAN_SECURE_COOKIES", "false");
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    Server::spawn(command)
}

/// Runs a Python script with arguments; panics with its output when it fails; its standard output as JSON.
fn python(script: &str, args: &[&str]) -> Value {
    let output = Command::new("python3")
        .args(["-c", script])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("python printed no JSON ({e}):\n{stdout}"))
}

/// What taxii2-client does against our server, reported as JSON.
const TAXII2_CLIENT_SCRIPT: &str = r#"
import json, sys, time
from taxii2client.v21 import Server, as_pages
import requests

url, user, password, token = sys.argv[1:5]

class Bearer(requests.auth.AuthBase):
    def __init__(self, token):
        self.token = token
    def __call__(self, r):
        r.headers["Authorization"] = "Bearer " + self.token
        return r

out = {}
server = Server(url + "/taxii2/", user=user, password=password)
out["title"] = server.title
out["api_roots"] = [root.url for root in server.api_roots]
root = server.default
out["versions"] = root.versions
collections = root.collections
out["collections"] = [{"id": c.id, "title": c.title, "can_read": c.can_read, "can_write": c.can_write, "alias": c.custom_properties.get("alias", getattr(c, "alias", None))} for c in collections]
by_title = {c.title: c for c in collections}
shared = {}
for c in collections:
    if not c.can_write:
        objects = []
        for envelope in as_pages(c.get_objects, per_request=50):
            objects.extend(envelope.get("objects", []))
        shared[c.id] = sorted(o["id"] for o in objects)
out["shared"] = shared
own = [c for c in collections if c.can_write][0]

def bundle_of(numbers):
    return {"objects": [{
        "type": "indicator", "spec_version": "2.1",
        "id": "indicator--%08x-0000-4000-8000-%012x" % (n, n),
        "created": "2026-02-01T00:00:00.000Z", "modified": "2026-02-01T00:00:00.000Z",
        "name": "bank sighting %d" % n,
        "pattern": "[ipv4-addr:value = '203.0.113.%d']" % n, "pattern_type": "stix",
        "valid_from": "2026-02-01T00:00:00Z",
        "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
    } for n in numbers]}

status = own.add_objects(bundle_of(range(100, 105)))
out["status"] = {"id": status.id, "status": status.status, "total": status.total_count, "success": status.success_count, "failure": status.failure_count, "pending": status.pending_count, "successes": sorted(s["id"] for s in status.successes)}
again = root.get_status(status.id)
out["status_again"] = {"id": again.id, "status": again.status, "success": again.success_count}

pages = []
for envelope in as_pages(own.get_objects, per_request=2):
    pages.append(sorted(o["id"] for o in envelope.get("objects", [])))
out["pages"] = pages

manifest = own.get_manifest()
last_added = max(m["date_added"] for m in manifest["objects"])
time.sleep(0.05)
own.add_objects(bundle_of(range(105, 107)))
newer = own.get_objects(added_after=last_added)
out["added_after"] = sorted(o["id"] for o in newer.get("objects", []))

# The same through an API token.
token_server = Server(url + "/taxii2/", auth=Bearer(token))
out["token_collections"] = sorted(c.title for c in token_server.default.collections)
print(json.dumps(out))
"#;

/// The taxii2-client scenario and the TAXII errors, on `storage`.
fn taxii2_client_against_the_server(storage: &Storage) {
    let platform = runtime().block_on(async {
        let app = storage.open().await;
        platform(&app).await
    });
    let server = start(storage, &[("NIGEHBAN_TAXII_PUBLIC", "true")], None);
    let url = format!("http://{}", server.address);
    let out = python(
        TAXII2_CLIENT_SCRIPT,
        &[
            &url,
            &platform.bank_user,
            BANK_PASSWORD,
            &platform.bank_intel,
        ],
    );
    assert_eq!(
        out["api_roots"],
        json!([format!("{url}/taxii2/api/")]),
        "{out}"
    );
    assert_eq!(out["versions"], json!([TAXII]), "{out}");
    // The bank sees its own collection (writable) and the shared ones (read-only).
    let collections = out["collections"].as_array().unwrap();
    let own: Vec<&Value> = collections
        .iter()
        .filter(|c| c["can_write"] == true)
        .collect();
    assert_eq!(own.len(), 1, "{out}");
    assert_eq!(own[0]["id"], json!(platform.bank), "{out}");
    assert_eq!(own[0]["title"], "First Bank", "{out}");
    let aliases: Vec<&str> = collections
        .iter()
        .filter_map(|c| c["alias"].as_str())
        .collect();
    assert_eq!(
        aliases,
        vec!["public", "shared-green", "shared-amber", "shared-red"],
        "{out}"
    );
    // TLP decides what the shared collections give: the operator (another sector) shares CLEAR and GREEN with the bank, never AMBER.
    let shared = out["shared"].as_object().unwrap();
    let seen: Vec<String> = shared
        .values()
        .flat_map(|ids| {
            ids.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
        })
        .collect();
    assert!(
        seen.contains(&stix_id("indicator", 1)),
        "CLEAR missing: {out}"
    );
    assert!(
        seen.contains(&stix_id("indicator", 2)),
        "GREEN missing: {out}"
    );
    assert!(
        !seen.contains(&stix_id("indicator", 3)),
        "AMBER leaked: {out}"
    );
    // Adding objects: a complete status resource, read again later.
    let expected: Vec<String> = (100..105).map(|n| stix_id("indicator", n)).collect();
    assert_eq!(out["status"]["status"], "complete", "{out}");
    assert_eq!(out["status"]["total"], 5, "{out}");
    assert_eq!(out["status"]["success"], 5, "{out}");
    assert_eq!(out["status"]["failure"], 0, "{out}");
    assert_eq!(out["status"]["successes"], json!(expected), "{out}");
    assert_eq!(out["status_again"]["id"], out["status"]["id"], "{out}");
    assert_eq!(out["status_again"]["success"], 5, "{out}");
    // Paging by two: three pages, every object exactly once.
    let pages = out["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 3, "{out}");
    let mut paged: Vec<String> = pages
        .iter()
        .flat_map(|p| {
            p.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
        })
        .collect();
    paged.sort();
    assert_eq!(paged, expected, "{out}");
    // added_after gives only what came later.
    assert_eq!(
        out["added_after"],
        json!([stix_id("indicator", 105), stix_id("indicator", 106)]),
        "{out}"
    );
    assert!(
        out["token_collections"]
            .as_array()
            .unwrap()
            .contains(&json!("First Bank")),
        "{out}"
    );
    // The objects posted became the bank's indicators.
    let export = nigehban()
        .args(["intel", "export", "--format", "csv"])
        .args(storage.args())
        .env("NIGEHBAN_TOKEN", &platform.bank_intel)
        .output()
        .unwrap();
    let csv = String::from_utf8_lossy(&export.stdout);
    assert!(csv.contains("ipv4,203.0.113.100,green"), "{csv}");
    assert!(csv.contains("ipv4,203.0.113.106,green"), "{csv}");
    errors_are_taxii_errors(&server, &platform);
}

/// Bad requests: TAXII error objects with the status; nothing half-done.
fn errors_are_taxii_errors(server: &Server, platform: &Platform) {
    let address = server.address;
    let bearer = format!("Bearer {}", platform.bank_intel);
    let objects = format!("/taxii2/api/collections/{}/objects/", platform.bank);
    let accept = ("Accept", TAXII);
    // Unauthenticated: the public collection only (it is on here), CLEAR objects only.
    let public = http(
        address,
        "GET",
        "/taxii2/api/collections/public/objects/",
        &[accept],
        b"",
    );
    assert_eq!(public.status, 200, "{}", public.text());
    assert_eq!(public.header("content-type"), Some(TAXII));
    let listed = public.json();
    let ids: Vec<&str> = listed["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![stix_id("indicator", 1).as_str()],
        "{}",
        public.text()
    );
    assert!(
        public.header("x-taxii-date-added-first").is_some(),
        "{:?}",
        public.headers
    );
    assert!(
        public.header("x-taxii-date-added-last").is_some(),
        "{:?}",
        public.headers
    );
    let green = http(
        address,
        "GET",
        "/taxii2/api/collections/shared-green/objects/",
        &[accept],
        b"",
    );
    assert_eq!(green.status, 401, "{}", green.text());
    assert_eq!(green.json()["http_status"], "401", "{}", green.text());
    assert!(green.json()["title"].is_string() && green.json()["description"].is_string());
    let own = http(address, "GET", &objects, &[accept], b"");
    assert_eq!(own.status, 401, "{}", own.text());
    // Someone else's collection and an unknown one: not found.
    let other = format!("/taxii2/api/collections/{}/objects/", platform.operator);
    let answer = http(
        address,
        "GET",
        &other,
        &[accept, ("Authorization", &bearer)],
        b"",
    );
    assert_eq!(answer.status, 404, "{}", answer.text());
    let answer = http(
        address,
        "GET",
        "/taxii2/api/collections/no-such-collection/",
        &[accept, ("Authorization", &bearer)],
        b"",
    );
    assert_eq!(answer.status, 404, "{}", answer.text());
    assert_eq!(answer.json()["http_status"], "404", "{}", answer.text());
    // Media types: 406 for an Accept that excludes TAXII, 415 for a body that is not a TAXII envelope.
    let answer = http(
        address,
        "GET",
        &objects,
        &[("Accept", "application/json"), ("Authorization", &bearer)],
        b"",
    );
    assert_eq!(answer.status, 406, "{}", answer.text());
    assert_eq!(answer.json()["http_status"], "406", "{}", answer.text());
    let answer = http(
        address,
        "POST",
        &objects,
        &[
            accept,
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
        ],
        b"{\"objects\": []}",
    );
    assert_eq!(answer.status, 415, "{}", answer.text());
    // A malformed envelope: an error naming the problem.
    let post = |body: &[u8]| {
        http(
            address,
            "POST",
            &objects,
            &[accept, ("Authorization", &bearer), ("Content-Type", TAXII)],
            body,
        )
    };
    let answer = post(b"{\"objects\": [ {\"type\": ");
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert!(
        answer.json()["description"]
            .as_str()
            .unwrap()
            .contains("not JSON"),
        "{}",
        answer.text()
    );
    let answer = post(b"{\"objects\": {\"type\": \"indicator\"}}");
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert!(
        answer.json()["description"]
            .as_str()
            .unwrap()
            .contains("\"objects\" is not a list"),
        "{}",
        answer.text()
    );
    // One bad object among good ones: it fails by itself, the good one is kept.
    let good = indicator(200, "203.0.113.200", GREEN, None);
    let body = json!({"objects": [good, {"type": "indicator", "id": "not-an-id"}]});
    let answer = post(body.to_string().as_bytes());
    assert_eq!(answer.status, 202, "{}", answer.text());
    assert_eq!(answer.json()["success_count"], 1, "{}", answer.text());
    assert_eq!(answer.json()["failure_count"], 1, "{}", answer.text());
    assert_eq!(
        answer.json()["successes"][0]["id"],
        json!(stix_id("indicator", 200)),
        "{}",
        answer.text()
    );
    assert!(
        answer.json()["failures"][0]["message"]
            .as_str()
            .unwrap()
            .contains("refused"),
        "{}",
        answer.text()
    );
    let kept = http(
        address,
        "GET",
        &format!("{objects}{}/", stix_id("indicator", 200)),
        &[accept, ("Authorization", &bearer)],
        b"",
    );
    assert_eq!(kept.status, 200, "{}", kept.text());
    assert_eq!(
        kept.json()["objects"][0]["id"],
        json!(stix_id("indicator", 200)),
        "{}",
        kept.text()
    );
    let versions = http(
        address,
        "GET",
        &format!("{objects}{}/versions/", stix_id("indicator", 200)),
        &[accept, ("Authorization", &bearer)],
        b"",
    );
    assert_eq!(
        versions.json()["versions"],
        json!(["2026-01-02T03:04:05.000Z"]),
        "{}",
        versions.text()
    );
    // Posting to a shared collection is refused.
    let answer = http(
        address,
        "POST",
        "/taxii2/api/collections/shared-green/objects/",
        &[accept, ("Authorization", &bearer), ("Content-Type", TAXII)],
        b"{\"objects\": []}",
    );
    assert_eq!(answer.status, 403, "{}", answer.text());
    // HTTP Basic with a wrong password is 401, like a failed sign-in.
    let wrong = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "bank-intel:wrong password"
        )
    );
    let answer = http(
        address,
        "GET",
        "/taxii2/api/collections/",
        &[accept, ("Authorization", &wrong)],
        b"",
    );
    assert_eq!(answer.status, 401, "{}", answer.text());
}

#[test]
fn taxii2_client_discovers_lists_adds_pages_and_filters_on_sqlite() {
    if !taxii_client() {
        return;
    }
    taxii2_client_against_the_server(&Storage::sqlite());
}

#[test]
fn taxii2_client_discovers_lists_adds_pages_and_filters_on_postgresql() {
    if !taxii_client() {
        return;
    }
    let Some(server) = nigehban_testkit::postgres_url() else {
        return;
    };
    let database = ScratchDatabase::create(&server, "taxii");
    taxii2_client_against_the_server(&Storage::postgres(&database.url));
}

#[test]
fn public_access_is_off_by_default() {
    let storage = Storage::sqlite();
    runtime().block_on(async {
        let app = storage.open().await;
        platform(&app).await
    });
    let server = start(&storage, &[], None);
    for path in ["/taxii2/", "/taxii2/api/collections/public/objects/"] {
        let answer = http(server.address, "GET", path, &[("Accept", TAXII)], b"");
        assert_eq!(answer.status, 401, "{path}: {}", answer.text());
        assert_eq!(answer.header("content-type"), Some(TAXII));
        assert!(
            answer.header("www-authenticate").is_some(),
            "{:?}",
            answer.headers
        );
    }
}

/// A medallion TAXII server on loopback with one writable collection, killed when dropped.
struct Medallion {
    _process: Process,
    api_root: String,
    _dir: tempfile::TempDir,
}

const MEDALLION_COLLECTION: &str = "365fed99-08fa-fdcd-a1b3-fb247eb41d01";
const MEDALLION_USER: &str = "feeder";
const MEDALLION_PASSWORD: &str = "feed password";

impl Medallion {
    fn start() -> Medallion {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let api_root = format!("http://127.0.0.1:{port}/api1/");
        let data = json!({
            "/discovery": {
                "title": "Outside feed",
                "description": "A CERT partner's TAXII server",
                "default": api_root,
                "api_roots": [api_root],
            },
            "api1": {
                "information": {
                    "title": "api1",
                    "description": "the feed",
                    "versions": [TAXII],
                    "max_content_length": 10_485_760,
                },
                "status": [],
                "collections": [{
                    "id": MEDALLION_COLLECTION,
                    "title": "Partner indicators",
                    "description": "indicators a partner CERT shares",
                    "can_read": true,
                    "can_write": true,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }],
            },
        });
        let data_file = dir.path().join("data.json()");
        std::fs::write(&data_file, data.to_string()).unwrap();
        let config = json!({
            "backend": {
                "module": "medallion.backends.memory_backend",
                "module_class": "MemoryBackend",
                "filename": data_file,
            },
            "users": { MEDALLION_USER: MEDALLION_PASSWORD },
            "taxii": { "max_page_size": 100 },
        });
        let config_file = dir.path().join("config.json()");
        std::fs::write(&config_file, config.to_string()).unwrap();
        let process = Process(
            Command::new("python3")
                .args([
                    "-m",
                    "medallion.scripts.run",
                    "--host",
                    "127.0.0.1",
                    "--port",
                ])
                .arg(port.to_string())
                .arg(&config_file)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_for_port(port, "medallion", Duration::from_secs(60));
        Medallion {
            _process: process,
            api_root,
            _dir: dir,
        }
    }

    /// Adds objects to the collection (as its producer does), checking medallion's status.
    fn add(&self, objects: &[Value]) {
        let address: SocketAddr = self
            .api_root
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let basic = format!(
            "Basic {}",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                format!("{MEDALLION_USER}:{MEDALLION_PASSWORD}")
            )
        );
        let answer = http(
            address,
            "POST",
            &format!("/api1/collections/{MEDALLION_COLLECTION}/objects/"),
            &[
                ("Accept", TAXII),
                ("Content-Type", TAXII),
                ("Authorization", &basic),
            ],
            json!({ "objects": objects }).to_string().as_bytes(),
        );
        assert_eq!(answer.status, 202, "{}", answer.text());
        assert_eq!(
            answer.json()["success_count"],
            objects.len(),
            "{}",
            answer.text()
        );
    }
}

fn pull(
    storage: &Storage,
    token: &str,
    medallion: &Medallion,
    password_file: &Path,
    extra: &[&str],
) -> Output {
    nigehban()
        .args([
            "intel",
            "pull",
            "--url",
            &medallion.api_root,
            "--collection",
            MEDALLION_COLLECTION,
        ])
        .args(["--username", MEDALLION_USER, "--password-file"])
        .arg(password_file)
        .args(["--name", "Partner CERT feed"])
        .args(extra)
        .args(storage.args())
        .env("NIGEHBAN_TOKEN", token)
        .output()
        .unwrap()
}

fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const PARTNER: &str = "identity--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061";

#[test]
fn our_client_pulls_a_medallion_collection_incrementally_with_markings_and_source() {
    if !medallion_installed() {
        return;
    }
    let storage = Storage::sqlite();
    let platform = runtime().block_on(async {
        let app = storage.open().await;
        platform(&app).await
    });
    let medallion = Medallion::start();
    let partner = json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": PARTNER,
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": "Partner CERT",
        "identity_class": "organization",
    });
    let mut first = vec![partner];
    first.extend((10..13).map(|n| indicator(n, &format!("192.0.2.{n}"), GREEN, Some(PARTNER))));
    first.push(indicator(13, "192.0.2.13", AMBER, None));
    medallion.add(&first);
    let files = tempfile::tempdir().unwrap();
    let password_file = files.path().join("password");
    std::fs::write(&password_file, format!("{MEDALLION_PASSWORD}\n")).unwrap();
    let text = stdout_of(&pull(
        &storage,
        &platform.bank_intel,
        &medallion,
        &password_file,
        &[],
    ));
    assert!(text.contains("pulled 5 object(s)"), "{text}");
    assert!(
        text.contains("5 kept (5 new), 0 refused, 4 indicator(s) created"),
        "{text}"
    );
    // A second pull asks with added_after: nothing new, then only the new objects.
    let text = stdout_of(&pull(
        &storage,
        &platform.bank_intel,
        &medallion,
        &password_file,
        &[],
    ));
    assert!(text.contains("pulled 0 object(s)"), "{text}");
    medallion.add(&[
        indicator(14, "192.0.2.14", GREEN, Some(PARTNER)),
        indicator(15, "192.0.2.15", CLEAR, Some(PARTNER)),
    ]);
    let text = stdout_of(&pull(
        &storage,
        &platform.bank_intel,
        &medallion,
        &password_file,
        &[],
    ));
    assert!(text.contains("pulled 2 object(s)"), "{text}");
    assert!(text.contains("2 kept (2 new)"), "{text}");
    // Everything again with --from-start: held already, nothing new.
    let text = stdout_of(&pull(
        &storage,
        &platform.bank_intel,
        &medallion,
        &password_file,
        &["--from-start"],
    ));
    assert!(text.contains("pulled 7 object(s)"), "{text}");
    assert!(text.contains("7 kept (0 new)"), "{text}");
    // The objects kept their markings and creator; indicators name their source.
    let bundle_file = files.path().join("export.json()");
    let export = nigehban()
        .args(["intel", "export", "--format", "stix", "--out"])
        .arg(&bundle_file)
        .args(storage.args())
        .env("NIGEHBAN_TOKEN", &platform.bank_intel)
        .output()
        .unwrap();
    stdout_of(&export);
    let bundle: Value = serde_json::from_slice(&std::fs::read(&bundle_file).unwrap()).unwrap();
    let by_id = |id: &str| {
        bundle["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} not exported: {bundle}"))
    };
    let green = by_id(&stix_id("indicator", 10));
    assert_eq!(green["object_marking_refs"], json!([GREEN]), "{green}");
    assert_eq!(green["created_by_ref"], PARTNER, "{green}");
    assert_eq!(
        by_id(&stix_id("indicator", 13))["object_marking_refs"],
        json!([AMBER])
    );
    assert_eq!(
        by_id(&stix_id("indicator", 15))["object_marking_refs"],
        json!([CLEAR])
    );
    assert_eq!(by_id(PARTNER)["name"], "Partner CERT");
    let csv = stdout_of(
        &nigehban()
            .args(["intel", "export", "--format", "csv"])
            .args(storage.args())
            .env("NIGEHBAN_TOKEN", &platform.bank_intel)
            .output()
            .unwrap(),
    );
    let line = csv
        .lines()
        .find(|l| l.contains("192.0.2.10"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(line.starts_with("ipv4,192.0.2.10,green,"), "{line}");
    assert!(line.contains(",Partner CERT,"), "{line}");
    let line = csv
        .lines()
        .find(|l| l.contains("192.0.2.13"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(line.starts_with("ipv4,192.0.2.13,amber,"), "{line}");
    assert!(
        line.contains(",Partner CERT feed,"),
        "the feed's name is the source of an object naming no creator: {line}"
    );
    // Pulled AMBER stays within the bank: the operator (another sector) does not get it.
    let csv = stdout_of(
        &nigehban()
            .args(["intel", "export", "--format", "csv"])
            .args(storage.args())
            .env("NIGEHBAN_TOKEN", &platform.operator_intel)
            .output()
            .unwrap(),
    );
    assert!(csv.contains("192.0.2.10"), "{csv}");
    assert!(!csv.contains("192.0.2.13"), "{csv}");
}

#[test]
fn serve_pulls_its_subscriptions_on_its_own() {
    if !medallion_installed() {
        return;
    }
    let storage = Storage::sqlite();
    let platform = runtime().block_on(async {
        let app = storage.open().await;
        platform(&app).await
    });
    let medallion = Medallion::start();
    medallion.add(&[
        indicator(30, "192.0.2.30", GREEN, None),
        indicator(31, "192.0.2.31", GREEN, None),
    ]);
    let files = tempfile::tempdir().unwrap();
    let password_file = files.path().join("password");
    std::fs::write(&password_file, MEDALLION_PASSWORD).unwrap();
    let config = files.path().join("nigehban.toml");
    std::fs::write(
        &config,
        format!(
            "[[taxii_subscriptions]]\nname = \"Partner CERT feed\"\napi_root = \"{}\"\ncollection = \"{MEDALLION_COLLECTION}\"\ntenant = \"{}\"\ninterval_seconds = 10\nusername = \"{MEDALLION_USER}\"\npassword_file = {:?}\n",
            medallion.api_root,
            platform.bank,
            password_file.display().to_string()
        ),
    )
    .unwrap();
    let server = start(&storage, &[], Some(&config));
    let objects = format!("/taxii2/api/collections/{}/objects/", platform.bank);
    let bearer = format!("Bearer {}", platform.bank_intel);
    let ids = |answer: &Answer| -> Vec<String> {
        answer.json()["objects"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|o| o["id"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let wait_for = |count: usize| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let answer = http(
                server.address,
                "GET",
                &objects,
                &[("Accept", TAXII), ("Authorization", &bearer)],
                b"",
            );
            assert_eq!(answer.status, 200, "{}", answer.text());
            let found = ids(&answer);
            if found.len() >= count {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "the subscription pulled {found:?} only"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    };
    assert_eq!(
        wait_for(2),
        vec![stix_id("indicator", 30), stix_id("indicator", 31)]
    );
    // Added later at the source: the next scheduled pull brings it.
    medallion.add(&[indicator(32, "192.0.2.32", GREEN, None)]);
    let found = wait_for(3);
    assert!(found.contains(&stix_id("indicator", 32)), "{found:?}");
    assert_eq!(found.len(), 3, "{found:?}");
}
