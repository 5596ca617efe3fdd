//! STIX 2.1 over the API through the real router (issue 13): a bundle
//! imported for a tenant answers what became of every object; an export
//! holds what the caller may read — never a sibling's AMBER indicator or
//! object — and is refused to roles that read no intelligence; bad bodies,
//! parameters and oversized bodies are refused naming why.

use axum::http::{Method, StatusCode};
use nigehban_app::model::{Role, Sector};
use serde_json::{Value, json};

use crate::harness::{Answer, Credentials, Platform, call};

const STIX: &str = "/api/v1/intel/stix";
const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";

fn indicator(id: &str, pattern: &str, marking: Option<&str>) -> Value {
    let mut object = json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": id,
        "created": "2026-03-01T00:00:00.000Z",
        "modified": "2026-03-01T00:00:00.000Z",
        "name": "partner indicator",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2026-03-01T00:00:00Z",
    });
    if let Some(marking) = marking {
        object["object_marking_refs"] = json!([marking]);
    }
    object
}

fn bundle() -> Value {
    json!({
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": [
            indicator("indicator--a1a1a1a1-0000-4000-8000-000000000001",
                      "[domain-name:value = 'green.partner.example']", Some(GREEN)),
            indicator("indicator--a1a1a1a1-0000-4000-8000-000000000002",
                      "[ipv4-addr:value = '203.0.113.77']", Some(AMBER)),
            indicator("indicator--a1a1a1a1-0000-4000-8000-000000000003",
                      "[ipv4-addr:value = '203.0.113.9'] FOLLOWEDBY [domain-name:value = 'c2.example']", Some(GREEN)),
            {"type": "malware", "spec_version": "2.1", "id": "malware--a1a1a1a1-0000-4000-8000-000000000004",
             "created": "2026-03-01T00:00:00.000Z", "modified": "2026-03-01T00:00:00.000Z",
             "name": "PartnerRAT", "is_family": true, "object_marking_refs": [AMBER]},
            {"type": "malware", "id": "malware--nope"},
        ],
    })
}

async fn export(platform: &Platform, who: &Credentials, query: &str) -> Answer {
    platform
        .send(
            call(Method::GET, &format!("{STIX}{query}"))
                .bearer(&who.token)
                .empty(),
        )
        .await
}

/// The ids of a bundle's objects.
fn ids(answer: &Answer) -> Vec<String> {
    answer.json["objects"]
        .as_array()
        .unwrap_or_else(|| panic!("not a bundle: {}", answer.text))
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

fn patterns(answer: &Answer) -> Vec<String> {
    answer.json["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "indicator")
        .map(|o| o["pattern"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stix_imports_report_per_object_and_exports_hold_what_the_caller_may_read() {
    let platform = Platform::new().await;
    let sector = platform.sector("CERT Banking", Sector::Banking).await;
    let owner_org = platform.organisation(&sector, "Bank One").await;
    let sibling = platform.organisation(&sector, "Bank Two").await;
    platform
        .user(&owner_org, "one-intel", Role::IntelAnalyst)
        .await;
    platform.user(&sibling, "two-analyst", Role::Analyst).await;
    platform
        .user(&sector, "sector-analyst", Role::Analyst)
        .await;
    platform
        .user(&owner_org, "one-responder", Role::Responder)
        .await;
    platform
        .user(&owner_org, "one-admin", Role::Administrator)
        .await;
    let owner = platform.sign_in("one-intel").await;
    let sibling_analyst = platform.sign_in("two-analyst").await;
    let sector_analyst = platform.sign_in("sector-analyst").await;
    let responder = platform.sign_in("one-responder").await;
    let admin = platform.sign_in("one-admin").await;

    let answer = platform
        .send(
            call(
                Method::POST,
                &format!("{STIX}?pap=green&source=partner%20CERT"),
            )
            .bearer(&owner.token)
            .json(&bundle()),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let report = &answer.json;
    assert_eq!(
        (
            &report["kept"],
            &report["new"],
            &report["indicators_created"],
            &report["unsupported"],
            &report["refused"]
        ),
        (&json!(4), &json!(4), &json!(2), &json!(1), &json!(1)),
        "{report:#}"
    );
    let outcomes: Vec<(&str, &str)> = report["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["id"].as_str().unwrap_or(""),
                o["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (
                "indicator--a1a1a1a1-0000-4000-8000-000000000001",
                "indicators"
            ),
            (
                "indicator--a1a1a1a1-0000-4000-8000-000000000002",
                "indicators"
            ),
            (
                "indicator--a1a1a1a1-0000-4000-8000-000000000003",
                "unsupported"
            ),
            ("malware--a1a1a1a1-0000-4000-8000-000000000004", "kept"),
            ("malware--nope", "refused"),
        ],
        "{report:#}"
    );
    assert!(
        report["objects"][2]["reason"]
            .as_str()
            .unwrap()
            .contains("FOLLOWEDBY"),
        "{report:#}"
    );
    assert!(
        report["objects"][4]["reason"].as_str().is_some(),
        "{report:#}"
    );
    // The same bundle again: held already, nothing new.
    let again = platform
        .send(
            call(Method::POST, STIX)
                .bearer(&owner.token)
                .json(&bundle()),
        )
        .await;
    assert_eq!(again.json["new"], json!(0), "{}", again.text);

    // The publisher and the CERT above it read everything; the media type is STIX's.
    for who in [&owner, &sector_analyst] {
        let answer = export(&platform, who, "").await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        assert_eq!(
            answer.headers["content-type"],
            "application/stix+json;version=2.1"
        );
        let ids = ids(&answer);
        for id in [
            "indicator--a1a1a1a1-0000-4000-8000-000000000001",
            "indicator--a1a1a1a1-0000-4000-8000-000000000002",
            "indicator--a1a1a1a1-0000-4000-8000-000000000003",
            "malware--a1a1a1a1-0000-4000-8000-000000000004",
            AMBER,
            GREEN,
        ] {
            assert!(ids.contains(&id.to_owned()), "{id} missing: {ids:?}");
        }
    }
    // The sibling: the GREEN indicators, never the AMBER indicator, its value or the AMBER malware.
    let answer = export(&platform, &sibling_analyst, "").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let ids = ids(&answer);
    assert!(ids.contains(&"indicator--a1a1a1a1-0000-4000-8000-000000000001".to_owned()));
    assert!(ids.contains(&"indicator--a1a1a1a1-0000-4000-8000-000000000003".to_owned()));
    assert!(
        !ids.contains(&"indicator--a1a1a1a1-0000-4000-8000-000000000002".to_owned()),
        "{ids:?}"
    );
    assert!(
        !ids.contains(&"malware--a1a1a1a1-0000-4000-8000-000000000004".to_owned()),
        "{ids:?}"
    );
    assert!(
        !patterns(&answer).iter().any(|p| p.contains("203.0.113.77")),
        "{}",
        answer.text
    );
    assert!(!ids.contains(&AMBER.to_owned()), "{ids:?}");
    // `under` outside the caller's subtree is not found; a role that reads no intelligence is refused.
    let answer = export(
        &platform,
        &sibling_analyst,
        &format!("?under={}", owner_org.id),
    )
    .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.text);
    let answer = export(&platform, &admin, "").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text);
    let answer = platform.send(call(Method::GET, STIX).empty()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.text);

    // Who may not publish learns nothing about the document: refused before it is read.
    let answer = platform
        .send(
            call(Method::POST, STIX)
                .bearer(&responder.token)
                .raw("application/json", "not json at all"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text);
    let answer = platform
        .send(
            call(Method::POST, &format!("{STIX}?tenant={}", sibling.id))
                .bearer(&owner.token)
                .json(&bundle()),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.text);
    // Not STIX, a bad label, a body over the limit: refused naming why.
    let answer = platform
        .send(
            call(Method::POST, STIX)
                .bearer(&owner.token)
                .raw("application/json", "[1, 2]"),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.text
    );
    assert!(
        answer.text.contains("not a STIX bundle or object"),
        "{}",
        answer.text
    );
    let answer = platform
        .send(
            call(Method::POST, &format!("{STIX}?tlp=purple"))
                .bearer(&owner.token)
                .json(&bundle()),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.text
    );
    assert!(answer.text.contains("tlp"), "{}", answer.text);
    let huge = vec![b' '; 64 * 1024 * 1024 + 1];
    let answer = platform
        .send(
            call(Method::POST, STIX)
                .bearer(&owner.token)
                .raw("application/json", huge),
        )
        .await;
    answer.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
}
