//! MISP exchange through the real router: the feed a tenant's MISP
//! instance pulls holds exactly what TLP 2.0 and custody let the pulling
//! caller read, with the right `tlp:` tags (on SQLite and PostgreSQL); the
//! feed reads back whole in PyPI `pymisp`; MISP events import with a
//! report per attribute.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use axum::http::{Method, StatusCode};
use md5::{Digest, Md5};
use nigehban_app::model::{Role, Sector};
use nigehban_testkit::Need;
use serde_json::{Value, json};

use crate::harness::{Answer, Credentials, Platform, call};

const FEED: &str = "/api/v1/intel/misp-feed";

async fn get(platform: &Platform, token: &str, path: &str) -> Answer {
    platform
        .send(call(Method::GET, path).bearer(token).empty())
        .await
}

async fn publish(platform: &Platform, who: &Credentials, body: Value) -> String {
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/indicators")
                .bearer(&who.token)
                .json(&body),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    answer.json["id"].as_str().unwrap().to_owned()
}

/// One attribute of a pulled feed: its event's uuid, event tlp tag, type, value, tags, distribution.
#[derive(Debug, Clone)]
struct Pulled {
    event: String,
    event_tlp: String,
    attribute_type: String,
    value: String,
    tags: Vec<String>,
    distribution: String,
}

/// Pulls the whole feed as a MISP instance does: the manifest, then every
/// event it names; checks hashes.csv against the attributes.
async fn pull(platform: &Platform, token: &str) -> Vec<Pulled> {
    let manifest = get(platform, token, &format!("{FEED}/manifest.json")).await;
    assert_eq!(manifest.status, StatusCode::OK, "{}", manifest.text);
    assert_eq!(
        manifest.headers["content-type"], "application/json",
        "MISP reads the manifest as JSON"
    );
    let mut out = Vec::new();
    for (uuid, entry) in manifest.json.as_object().unwrap() {
        let event = get(platform, token, &format!("{FEED}/{uuid}.json")).await;
        assert_eq!(event.status, StatusCode::OK, "{}", event.text);
        let event = &event.json["Event"];
        assert_eq!(event["uuid"], json!(uuid));
        assert_eq!(event["info"], entry["info"]);
        assert_eq!(event["Orgc"], entry["Orgc"]);
        assert_eq!(
            event["timestamp"].as_str().unwrap(),
            entry["timestamp"].to_string()
        );
        let event_tlp = event["Tag"][0]["name"].as_str().unwrap().to_owned();
        for attribute in event["Attribute"].as_array().unwrap() {
            out.push(Pulled {
                event: uuid.clone(),
                event_tlp: event_tlp.clone(),
                attribute_type: attribute["type"].as_str().unwrap().to_owned(),
                value: attribute["value"].as_str().unwrap().to_owned(),
                tags: attribute["Tag"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["name"].as_str().unwrap().to_owned())
                    .collect(),
                distribution: attribute["distribution"].as_str().unwrap().to_owned(),
            });
        }
    }
    let hashes = get(platform, token, &format!("{FEED}/hashes.csv")).await;
    assert_eq!(hashes.status, StatusCode::OK);
    let lines: BTreeSet<String> = hashes.text.lines().map(str::to_owned).collect();
    let expected: BTreeSet<String> = out
        .iter()
        .map(|p| {
            format!(
                "{},{}",
                hex::encode(Md5::digest(p.value.as_bytes())),
                p.event
            )
        })
        .collect();
    assert_eq!(lines, expected, "hashes.csv is not one line per attribute");
    out
}

fn values(pulled: &[Pulled]) -> BTreeSet<String> {
    pulled.iter().map(|p| p.value.clone()).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

async fn tlp_in_the_feed(platform: Platform) {
    let sector_a = platform.sector("CERT Banking", Sector::Banking).await;
    let owner_org = platform.organisation(&sector_a, "Bank One").await;
    let sibling = platform.organisation(&sector_a, "Bank Two").await;
    let sector_b = platform.sector("CERT Energy", Sector::Energy).await;
    let other = platform.organisation(&sector_b, "Grid Co").await;
    platform
        .user(&owner_org, "owner-intel", Role::IntelAnalyst)
        .await;
    platform
        .user(&sector_a, "sector-analyst", Role::Analyst)
        .await;
    platform
        .user(&sibling, "sibling-intel", Role::IntelAnalyst)
        .await;
    let named = platform
        .user(&other, "grid-named", Role::IntelAnalyst)
        .await;
    platform.user(&other, "grid-other", Role::Analyst).await;
    platform
        .user(&other, "grid-admin", Role::Administrator)
        .await;
    let owner = platform.sign_in("owner-intel").await;
    let sector = platform.sign_in("sector-analyst").await;
    let sibling_caller = platform.sign_in("sibling-intel").await;
    let grid_named = platform.sign_in("grid-named").await;
    let grid_other = platform.sign_in("grid-other").await;
    let grid_admin = platform.sign_in("grid-admin").await;

    let published = [
        ("red.example", "red", json!([])),
        ("strict.example", "amber+strict", json!([])),
        (
            "strict-grid.example",
            "amber+strict",
            json!([{"kind": "tenant", "id": other.id}]),
        ),
        (
            "red-named.example",
            "red",
            json!([{"kind": "user", "id": named.id}]),
        ),
        (
            "amber-energy.example",
            "amber",
            json!([{"kind": "tenant", "id": sector_b.id}]),
        ),
        ("green.example", "green", json!([])),
        ("clear.example", "clear", json!([])),
    ];
    for (value, tlp, shared_with) in &published {
        publish(
            &platform,
            &owner,
            json!({"kind": "domain", "value": value, "tlp": tlp, "pap": "green",
                   "source": "bank one sinkhole", "tags": ["attack.t1071"], "shared_with": shared_with}),
        )
        .await;
    }
    let everything: BTreeSet<String> = published.iter().map(|(v, ..)| (*v).to_owned()).collect();

    // The owner's feed holds all of them, each with its own tlp: tag.
    let owners = pull(&platform, &owner.token).await;
    assert_eq!(values(&owners), everything);
    for (value, tlp, _) in &published {
        let pulled = owners.iter().find(|p| p.value == *value).unwrap();
        assert_eq!(pulled.attribute_type, "domain");
        assert_eq!(pulled.event_tlp, format!("tlp:{tlp}"), "{value}");
        assert_eq!(
            pulled.tags,
            [
                format!("tlp:{tlp}"),
                "PAP:GREEN".to_owned(),
                "attack.t1071".to_owned()
            ],
            "{value}"
        );
        let distribution = match *tlp {
            "clear" => "3",
            "green" => "1",
            _ => "0",
        };
        assert_eq!(pulled.distribution, distribution, "{value}");
    }
    // The CERT above it (its custody) too.
    assert_eq!(values(&pull(&platform, &sector.token).await), everything);
    // Another tenant: what TLP shares with it, never the RED or AMBER+STRICT of others.
    let grid = pull(&platform, &grid_other.token).await;
    assert_eq!(
        values(&grid),
        set(&[
            "strict-grid.example",
            "amber-energy.example",
            "green.example",
            "clear.example"
        ])
    );
    let strict = grid
        .iter()
        .find(|p| p.value == "strict-grid.example")
        .unwrap();
    assert_eq!(strict.tags[0], "tlp:amber+strict");
    // RED goes to the named person only.
    assert_eq!(
        values(&pull(&platform, &grid_named.token).await),
        set(&[
            "strict-grid.example",
            "red-named.example",
            "amber-energy.example",
            "green.example",
            "clear.example"
        ])
    );
    // A sibling organisation under the same CERT: GREEN and CLEAR only.
    assert_eq!(
        values(&pull(&platform, &sibling_caller.token).await),
        set(&["green.example", "clear.example"])
    );
    // The RED event of another tenant is not found, not merely empty.
    let red_event = owners.iter().find(|p| p.value == "red.example").unwrap();
    let answer = get(
        &platform,
        &grid_other.token,
        &format!("{FEED}/{}.json", red_event.event),
    )
    .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.text);
    // A role that reads no intelligence is refused; no token is unauthenticated.
    let answer = get(
        &platform,
        &grid_admin.token,
        &format!("{FEED}/manifest.json"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text);
    let answer = platform
        .send(call(Method::GET, &format!("{FEED}/manifest.json")).empty())
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    // A withdrawn indicator leaves the feed.
    let green_id = platform
        .send(
            call(
                Method::GET,
                "/api/v1/indicators?kind=domain&value=green.example",
            )
            .bearer(&owner.token)
            .empty(),
        )
        .await
        .json["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = platform
        .send(
            call(Method::PATCH, &format!("/api/v1/indicators/{green_id}"))
                .bearer(&owner.token)
                .json(&json!({"revoked": true})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(
        values(&pull(&platform, &sibling_caller.token).await),
        set(&["clear.example"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_misp_feed_holds_what_tlp_lets_the_caller_read_on_sqlite() {
    tlp_in_the_feed(Platform::new().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_misp_feed_holds_what_tlp_lets_the_caller_read_on_postgresql() {
    let Some(platform) = Platform::on_postgres().await else {
        return;
    };
    tlp_in_the_feed(platform).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misp_events_import_with_a_report_per_attribute() {
    let platform = Platform::new().await;
    let sector = platform.sector("CERT Telecom", Sector::Telecom).await;
    let org = platform.organisation(&sector, "Mobile Co").await;
    platform
        .user(&org, "mobile-intel", Role::IntelAnalyst)
        .await;
    platform
        .user(&org, "mobile-responder", Role::Responder)
        .await;
    let intel = platform.sign_in("mobile-intel").await;
    let responder = platform.sign_in("mobile-responder").await;
    let event = json!({"Event": {
        "uuid": "5b646415-7b48-40d5-86b4-c0070acd0835",
        "info": "Smishing wave",
        "Orgc": {"name": "CERT-EU"},
        "distribution": "1",
        "Tag": [{"name": "tlp:amber"}, {"name": "PAP:RED"}],
        "Attribute": [
            {"type": "domain", "value": "smish.example", "to_ids": true, "comment": "landing page"},
            {"type": "ip-dst|port", "value": "203.0.113.9|8443", "to_ids": true,
             "Tag": [{"name": "tlp:red"}]},
            {"type": "link", "value": "https://report.example/1", "to_ids": false},
            {"type": "md5", "value": "nothex", "to_ids": true},
        ],
        "Object": [{"name": "file", "Attribute": [
            {"type": "sha256", "value": "e".repeat(64), "to_ids": true}]}],
    }});
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/intel/misp")
                .bearer(&intel.token)
                .json(&event),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let report = &answer.json;
    assert_eq!(report["attributes"], 5);
    assert_eq!(report["indicators"], 3);
    assert_eq!(report["created"].as_array().unwrap().len(), 3);
    let not_taken: Vec<(String, String, String)> = report["attributes_not_taken"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["attribute"].as_str().unwrap().to_owned(),
                n["type"].as_str().unwrap().to_owned(),
                n["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        not_taken,
        [
            (
                "attribute 2".to_owned(),
                "link".to_owned(),
                "unsupported".to_owned()
            ),
            (
                "attribute 3".to_owned(),
                "md5".to_owned(),
                "bad_value".to_owned()
            ),
        ]
    );
    // The indicators carry the labels and source the event gave.
    let listed = platform
        .send(
            call(Method::GET, "/api/v1/indicators?limit=100")
                .bearer(&intel.token)
                .empty(),
        )
        .await;
    let items = listed.json["items"].as_array().unwrap();
    let by_value: BTreeMap<&str, &Value> = items
        .iter()
        .map(|i| (i["value"].as_str().unwrap(), i))
        .collect();
    assert_eq!(by_value.len(), 3);
    assert_eq!(by_value["smish.example"]["tlp"], "amber");
    assert_eq!(by_value["smish.example"]["pap"], "red");
    assert_eq!(by_value["smish.example"]["title"], "Smishing wave");
    assert_eq!(by_value["smish.example"]["source"], "MISP CERT-EU");
    assert_eq!(by_value["smish.example"]["tenant"], json!(org.id));
    assert!(
        by_value["smish.example"]["description"]
            .as_str()
            .unwrap()
            .contains("landing page")
    );
    assert_eq!(by_value["203.0.113.9"]["tlp"], "red");
    assert_eq!(by_value["e".repeat(64).as_str()]["kind"], "sha256");
    // Importing again updates rather than duplicates.
    let again = platform
        .send(
            call(Method::POST, "/api/v1/intel/misp")
                .bearer(&intel.token)
                .json(&event),
        )
        .await;
    assert_eq!(
        again.json["updated"].as_array().unwrap().len(),
        3,
        "{}",
        again.text
    );
    // What is not MISP is refused naming the item; a responder may not import.
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/intel/misp")
                .bearer(&intel.token)
                .json(&json!([{"Event": {"info": "a"}}, {"colour": 1}])),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.text
    );
    assert!(
        answer.text.contains("item 1 is not a MISP event"),
        "{}",
        answer.text
    );
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/intel/misp")
                .bearer(&responder.token)
                .json(&event),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text);
}

/// PyMISP reads each event file of the feed and its manifest; prints what it read.
const PYMISP_READER: &str = r#"
import json, os, sys
from pymisp import MISPEvent
feed = sys.argv[1]
manifest = json.load(open(os.path.join(feed, "manifest.json")))
out = []
for uuid, entry in manifest.items():
    event = MISPEvent()
    event.load_file(os.path.join(feed, uuid + ".json"))
    assert str(event.uuid) == uuid, (event.uuid, uuid)
    assert event.info == entry["info"], (event.info, entry["info"])
    assert event.Orgc.name == entry["Orgc"]["name"]
    assert int(event.timestamp.timestamp()) == int(entry["timestamp"])
    assert [t.name for t in event.tags] == [t["name"] for t in entry["Tag"]]
    for attribute in event.attributes:
        out.append({"event": uuid, "type": attribute.type, "value": attribute.value,
                    "tags": [t.name for t in attribute.tags], "to_ids": attribute.to_ids,
                    "distribution": attribute.distribution, "uuid": attribute.uuid,
                    "first_seen": attribute.first_seen.isoformat() if attribute.first_seen else None})
print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pymisp_reads_the_exported_feed_without_loss() {
    if !nigehban_testkit::python_module(Need::Pymisp, "pymisp", "pymisp") {
        return;
    }
    let platform = Platform::new().await;
    let sector = platform.sector("CERT Finance", Sector::Banking).await;
    platform
        .user(&sector, "fin-intel", Role::IntelAnalyst)
        .await;
    let intel = platform.sign_in("fin-intel").await;
    let published = [
        ("ip", "192.0.2.10", "clear", "ip-dst"),
        ("ip", "2001:db8::5", "green", "ip-dst"),
        ("cidr", "198.51.100.0/24", "amber", "ip-dst"),
        ("domain", "c2.bad.example", "amber+strict", "domain"),
        ("url", "https://bad.example/gate.php?id=1", "red", "url"),
        ("md5", "0749bae92ca336a02c83d126e04ec628", "clear", "md5"),
        (
            "sha1",
            "77b0c41b7d340b8a3d903f21347bbf06aa766b5b",
            "green",
            "sha1",
        ),
        (
            "sha256",
            "b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68",
            "amber",
            "sha256",
        ),
        ("email", "ceo@phish.example", "green", "email"),
        (
            "ja3",
            "e7d705a3286e19ea42f587b344ee6865",
            "clear",
            "ja3-fingerprint-md5",
        ),
        (
            "ja4",
            "t13d1516h2_8daaf6152771_b0da82dd1658",
            "green",
            "text",
        ),
    ];
    let mut ids = BTreeMap::new();
    for (index, (kind, value, tlp, _)) in published.iter().enumerate() {
        let source = if index % 2 == 0 {
            "sinkhole"
        } else {
            "partner"
        };
        let id = publish(
            &platform,
            &intel,
            json!({"kind": kind, "value": value, "tlp": tlp, "pap": "amber", "source": source,
                   "tags": ["attack.t1566", format!("case:{index}")],
                   "valid_from": "2026-01-02T03:04:05Z"}),
        )
        .await;
        ids.insert((*value).to_owned(), id);
    }
    // Fetch the feed through the router as a MISP instance would, and write its files.
    let dir = tempfile::tempdir().unwrap();
    let manifest = get(&platform, &intel.token, &format!("{FEED}/manifest.json")).await;
    std::fs::write(dir.path().join("manifest.json"), manifest.text.as_bytes()).unwrap();
    for uuid in manifest.json.as_object().unwrap().keys() {
        let event = get(&platform, &intel.token, &format!("{FEED}/{uuid}.json")).await;
        assert_eq!(event.status, StatusCode::OK);
        std::fs::write(
            dir.path().join(format!("{uuid}.json")),
            event.text.as_bytes(),
        )
        .unwrap();
    }
    let output = Command::new("python3")
        .args(["-c", PYMISP_READER])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "pymisp could not read the feed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(read.len(), published.len(), "{read:#?}");
    for (index, (_, value, tlp, misp_type)) in published.iter().enumerate() {
        let attribute = read
            .iter()
            .find(|a| a["value"] == json!(value))
            .unwrap_or_else(|| panic!("{value} lost: {read:#?}"));
        assert_eq!(attribute["type"], json!(misp_type), "{value}");
        assert_eq!(attribute["uuid"], json!(ids[*value]), "{value}");
        let mut expected = vec![format!("tlp:{tlp}"), "PAP:AMBER".to_owned()];
        if *misp_type == "text" {
            expected.push("nigehban:indicator-kind=\"ja4\"".to_owned());
        }
        expected.extend(["attack.t1566".to_owned(), format!("case:{index}")]);
        assert_eq!(attribute["tags"], json!(expected), "{value}");
        assert_eq!(attribute["to_ids"], json!(*misp_type != "text"), "{value}");
        assert!(
            attribute["first_seen"]
                .as_str()
                .unwrap()
                .starts_with("2026-01-02T03:04:05"),
            "{attribute}"
        );
    }
    // Events group by source and label: 2 sources × the labels each used.
    let events: BTreeSet<&str> = read.iter().map(|a| a["event"].as_str().unwrap()).collect();
    let groups: BTreeSet<(bool, &str)> = published
        .iter()
        .enumerate()
        .map(|(i, (_, _, tlp, _))| (i % 2 == 0, *tlp))
        .collect();
    assert_eq!(events.len(), groups.len());
}
