//! The TAXII 2.1 authorisation matrix: every TAXII route × every role ×
//! the caller's relation to the publisher (its own organisation, the CERT
//! above it, an organisation of another sector), by API token and by HTTP
//! Basic, on SQLite and PostgreSQL. Lists are checked for contents: an
//! AMBER object of another sector never appears, a GREEN one always does
//! for a role that reads intelligence; a role that reads none sees no
//! collection. TAXII is not in the OpenAPI document, so the routes it
//! serves ([`nigehban_server::taxii::ROUTES`]) must each have a column here.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use nigehban_app::model::{Pap, Role, Sector, Tenant, Tlp};
use nigehban_app::{Caller, StixImport};
use serde_json::{Value, json};

use crate::harness::{Answer, PASSWORD, Platform, call};

const TAXII: &str = "application/taxii+json;version=2.1";
const MARKINGS: [(Tlp, &str); 4] = [
    (
        Tlp::Clear,
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    ),
    (
        Tlp::Green,
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    ),
    (
        Tlp::Amber,
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    ),
    (
        Tlp::Red,
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    ),
];

/// The routes the matrix has a column for, as `nigehban_server::taxii::ROUTES` names them.
const COVERED: &[(&str, &str)] = &[
    ("GET", "/taxii2/"),
    ("GET", "/taxii2/api/"),
    ("GET", "/taxii2/api/collections/"),
    ("GET", "/taxii2/api/collections/{collection}/"),
    ("GET", "/taxii2/api/collections/{collection}/objects/"),
    ("POST", "/taxii2/api/collections/{collection}/objects/"),
    (
        "GET",
        "/taxii2/api/collections/{collection}/objects/{object}/",
    ),
    (
        "GET",
        "/taxii2/api/collections/{collection}/objects/{object}/versions/",
    ),
    ("GET", "/taxii2/api/collections/{collection}/manifest/"),
    ("GET", "/taxii2/api/status/{status}/"),
];

const ROLES: [Role; 8] = [
    Role::Administrator,
    Role::Analyst,
    Role::Responder,
    Role::IntelAnalyst,
    Role::DutyOfficer,
    Role::ConstituentReporter,
    Role::CouncilMember,
    Role::Auditor,
];

/// Where the caller sits relative to the publishing organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    /// The publishing organisation itself.
    Own,
    /// The sectoral CERT above it (its custody).
    Ancestor,
    /// An organisation of another sector.
    Unrelated,
}

fn reads_intel(role: Role) -> bool {
    !matches!(
        role,
        Role::Administrator | Role::CouncilMember | Role::Auditor
    )
}

fn publishes(role: Role) -> bool {
    matches!(role, Role::Analyst | Role::IntelAnalyst)
}

/// Whether the custody of the caller's tenant reaches a descendant's material for this role.
fn custody_reaches_below(role: Role) -> bool {
    matches!(
        role,
        Role::Analyst | Role::Responder | Role::IntelAnalyst | Role::DutyOfficer
    )
}

fn stix_id(n: u64) -> String {
    format!("indicator--{n:08x}-0000-4000-8000-{n:012x}")
}

/// Imports one indicator per label for `publisher`, numbered from `first`.
async fn seed(platform: &Platform, publisher: &Caller, first: u64) -> Vec<(Tlp, String)> {
    let objects: Vec<Value> = MARKINGS
        .iter()
        .enumerate()
        .map(|(i, (_, marking))| {
            let n = first + i as u64;
            json!({
                "type": "indicator", "spec_version": "2.1", "id": stix_id(n),
                "created": "2026-03-01T00:00:00.000Z", "modified": "2026-03-01T00:00:00.000Z",
                "pattern": format!("[domain-name:value = 'seed{n}.example']"), "pattern_type": "stix",
                "valid_from": "2026-03-01T00:00:00Z", "object_marking_refs": [marking],
            })
        })
        .collect();
    let bundle = json!({"type": "bundle", "id": "bundle--0b4c9a3e-5b1f-4b7e-8a41-7d1f2a3b4c5d", "objects": objects});
    let bundle = nigehban_app::stix::read_bundle(bundle.to_string().as_bytes()).unwrap();
    platform
        .app
        .intel()
        .import_stix(
            publisher,
            &StixImport {
                tenant: None,
                default_tlp: Tlp::Amber,
                default_pap: Pap::Amber,
                source: "matrix".into(),
            },
            &bundle,
            &mut |_, _| {},
        )
        .await
        .unwrap();
    MARKINGS
        .iter()
        .enumerate()
        .map(|(i, (tlp, _))| (*tlp, stix_id(first + i as u64)))
        .collect()
}

/// How a matrix caller authenticates.
#[derive(Debug, Clone)]
enum Auth {
    Bearer(String),
    Basic(String),
}

impl Auth {
    fn header(&self) -> String {
        match self {
            Auth::Bearer(token) => format!("Bearer {token}"),
            Auth::Basic(user) => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{PASSWORD}"))
            ),
        }
    }
}

async fn get(platform: &Platform, auth: &Auth, path: &str) -> Answer {
    platform
        .send(
            call(Method::GET, path)
                .header("accept", TAXII)
                .header("authorization", &auth.header())
                .empty(),
        )
        .await
}

fn ids(answer: &Answer) -> BTreeSet<String> {
    answer.json["objects"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|o| o["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn run_matrix(platform: Platform) {
    let telecom = platform.sector("CERT Telecom", Sector::Telecom).await;
    let banking = platform.sector("CERT Banking", Sector::Banking).await;
    let operator = platform.organisation(&telecom, "Mobile Operator").await;
    let bank = platform.organisation(&banking, "First Bank").await;
    // The operator publishes one object per label; so does the banking CERT.
    platform
        .user(&operator, "op-publisher", Role::IntelAnalyst)
        .await;
    platform
        .user(&banking, "bk-publisher", Role::IntelAnalyst)
        .await;
    let login = |user: &'static str| {
        let app = platform.app.clone();
        async move { app.auth().login(user, PASSWORD, None).await.unwrap().caller }
    };
    let operator_objects = seed(&platform, &login("op-publisher").await, 1).await;
    let banking_objects = seed(&platform, &login("bk-publisher").await, 101).await;
    let of = |objects: &[(Tlp, String)], tlp: Tlp| {
        objects
            .iter()
            .find(|(t, _)| *t == tlp)
            .map(|(_, id)| id.clone())
            .unwrap()
    };
    let operator_amber = of(&operator_objects, Tlp::Amber);
    let operator_green = of(&operator_objects, Tlp::Green);
    let banking_amber = of(&banking_objects, Tlp::Amber);
    let banking_green = of(&banking_objects, Tlp::Green);
    // A status resource of the operator's collection.
    let publisher_token = platform.sign_in("op-publisher").await.token;
    let posted = platform
        .send(
            call(
                Method::POST,
                &format!("/taxii2/api/collections/{}/objects/", operator.id),
            )
            .header("accept", TAXII)
            .bearer(&publisher_token)
            .raw(TAXII, json!({"objects": []}).to_string()),
        )
        .await;
    assert_eq!(posted.status, StatusCode::ACCEPTED, "{}", posted.text);
    let status_id = posted.json["id"].as_str().unwrap().to_owned();
    let mut exercised: BTreeSet<(&str, &str)> = BTreeSet::new();
    let places: [(Relation, &Tenant); 3] = [
        (Relation::Own, &operator),
        (Relation::Ancestor, &telecom),
        (Relation::Unrelated, &bank),
    ];
    let mut n = 0;
    for role in ROLES {
        for (relation, tenant) in places {
            n += 1;
            let username = format!("m{n}-{}", role.as_str().replace('_', "-"));
            platform.user(tenant, &username, role).await;
            let token = platform.sign_in(&username).await.token;
            for auth in [Auth::Bearer(token.clone()), Auth::Basic(username.clone())] {
                let cell = format!(
                    "{role} in {} ({relation:?}) by {auth:?}",
                    tenant.name.as_str()
                );
                let reads = reads_intel(role);
                // Discovery and the API root: anyone authenticated.
                for path in ["/taxii2/", "/taxii2/api/"] {
                    let answer = get(&platform, &auth, path).await;
                    assert_eq!(
                        answer.status,
                        StatusCode::OK,
                        "{cell} {path}: {}",
                        answer.text
                    );
                }
                exercised.extend([COVERED[0], COVERED[1]]);
                // The collections: one's own and the shared ones, or none.
                let answer = get(&platform, &auth, "/taxii2/api/collections/").await;
                assert_eq!(answer.status, StatusCode::OK, "{cell}: {}", answer.text);
                let listed: Vec<String> = answer.json["collections"]
                    .as_array()
                    .map(|l| {
                        l.iter()
                            .map(|c| {
                                c["alias"].as_str().map_or_else(
                                    || c["id"].as_str().unwrap().to_owned(),
                                    str::to_owned,
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if reads {
                    assert_eq!(
                        listed,
                        vec![
                            tenant.id.to_string(),
                            "public".into(),
                            "shared-green".into(),
                            "shared-amber".into(),
                            "shared-red".into()
                        ],
                        "{cell}"
                    );
                    let own = &answer.json["collections"][0];
                    assert_eq!(own["can_write"], publishes(role), "{cell}: {own}");
                } else {
                    assert!(listed.is_empty(), "{cell}: {}", answer.text);
                }
                exercised.insert(COVERED[2]);
                // One collection: one's own; another tenant's is not found.
                let answer = get(
                    &platform,
                    &auth,
                    &format!("/taxii2/api/collections/{}/", tenant.id),
                )
                .await;
                let expected = if reads {
                    StatusCode::OK
                } else {
                    StatusCode::NOT_FOUND
                };
                assert_eq!(answer.status, expected, "{cell}: {}", answer.text);
                if relation != Relation::Own {
                    let answer = get(
                        &platform,
                        &auth,
                        &format!("/taxii2/api/collections/{}/", operator.id),
                    )
                    .await;
                    assert_eq!(
                        answer.status,
                        StatusCode::NOT_FOUND,
                        "{cell}: {}",
                        answer.text
                    );
                }
                exercised.insert(COVERED[3]);
                // Objects of the shared collections, by TLP.
                let green = get(
                    &platform,
                    &auth,
                    "/taxii2/api/collections/shared-green/objects/",
                )
                .await;
                let amber = get(
                    &platform,
                    &auth,
                    "/taxii2/api/collections/shared-amber/objects/",
                )
                .await;
                let own = get(
                    &platform,
                    &auth,
                    &format!("/taxii2/api/collections/{}/objects/", tenant.id),
                )
                .await;
                if reads {
                    let green = ids(&green);
                    assert!(
                        green.contains(&operator_green) && green.contains(&banking_green),
                        "{cell}: {green:?}"
                    );
                    let amber = ids(&amber);
                    let reads_operator_amber = relation == Relation::Own
                        || (relation == Relation::Ancestor && custody_reaches_below(role));
                    assert_eq!(
                        amber.contains(&operator_amber),
                        reads_operator_amber,
                        "{cell}: {amber:?}"
                    );
                    assert!(
                        !amber.contains(&banking_amber),
                        "{cell}: another sector's AMBER leaked: {amber:?}"
                    );
                    let own = ids(&own);
                    if relation == Relation::Own {
                        let seeded: BTreeSet<String> =
                            operator_objects.iter().map(|(_, id)| id.clone()).collect();
                        assert_eq!(own, seeded, "{cell}");
                    } else {
                        assert!(own.is_empty(), "{cell}: {own:?}");
                    }
                } else {
                    for answer in [&green, &amber, &own] {
                        assert_eq!(
                            answer.status,
                            StatusCode::NOT_FOUND,
                            "{cell}: {}",
                            answer.text
                        );
                    }
                }
                exercised.insert(COVERED[4]);
                // One object, its versions, the manifest: as the listing decides.
                let object = get(
                    &platform,
                    &auth,
                    &format!("/taxii2/api/collections/shared-amber/objects/{operator_amber}/"),
                )
                .await;
                let versions = get(
                    &platform,
                    &auth,
                    &format!(
                        "/taxii2/api/collections/shared-amber/objects/{operator_amber}/versions/"
                    ),
                )
                .await;
                let visible = reads
                    && (relation == Relation::Own
                        || (relation == Relation::Ancestor && custody_reaches_below(role)));
                let expected = if visible {
                    StatusCode::OK
                } else {
                    StatusCode::NOT_FOUND
                };
                assert_eq!(object.status, expected, "{cell}: {}", object.text);
                assert_eq!(versions.status, expected, "{cell}: {}", versions.text);
                if visible {
                    assert_eq!(
                        ids(&object),
                        BTreeSet::from([operator_amber.clone()]),
                        "{cell}"
                    );
                    assert_eq!(
                        versions.json["versions"],
                        json!(["2026-03-01T00:00:00.000Z"]),
                        "{cell}"
                    );
                }
                let banking_object = get(
                    &platform,
                    &auth,
                    &format!("/taxii2/api/collections/shared-amber/objects/{banking_amber}/"),
                )
                .await;
                assert_eq!(
                    banking_object.status,
                    StatusCode::NOT_FOUND,
                    "{cell}: {}",
                    banking_object.text
                );
                exercised.extend([COVERED[6], COVERED[7]]);
                let manifest = get(
                    &platform,
                    &auth,
                    "/taxii2/api/collections/shared-green/manifest/",
                )
                .await;
                if reads {
                    let listed: BTreeSet<String> = manifest.json["objects"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|m| m["id"].as_str().unwrap().to_owned())
                        .collect();
                    assert!(
                        listed.contains(&operator_green) && listed.contains(&banking_green),
                        "{cell}: {listed:?}"
                    );
                    assert!(!listed.contains(&operator_amber), "{cell}: {listed:?}");
                } else {
                    assert_eq!(
                        manifest.status,
                        StatusCode::NOT_FOUND,
                        "{cell}: {}",
                        manifest.text
                    );
                }
                exercised.insert(COVERED[8]);
                // Adding objects to one's own collection: its publishers only.
                let answer = platform
                    .send(
                        call(
                            Method::POST,
                            &format!("/taxii2/api/collections/{}/objects/", tenant.id),
                        )
                        .header("accept", TAXII)
                        .header("authorization", &auth.header())
                        .raw(TAXII, json!({"objects": []}).to_string()),
                    )
                    .await;
                let expected = match (reads, publishes(role)) {
                    (false, _) => StatusCode::NOT_FOUND,
                    (true, true) => StatusCode::ACCEPTED,
                    (true, false) => StatusCode::FORBIDDEN,
                };
                assert_eq!(answer.status, expected, "{cell}: {}", answer.text);
                if relation != Relation::Own {
                    let answer = platform
                        .send(
                            call(
                                Method::POST,
                                &format!("/taxii2/api/collections/{}/objects/", operator.id),
                            )
                            .header("accept", TAXII)
                            .header("authorization", &auth.header())
                            .raw(TAXII, json!({"objects": []}).to_string()),
                        )
                        .await;
                    assert_eq!(
                        answer.status,
                        StatusCode::NOT_FOUND,
                        "{cell}: {}",
                        answer.text
                    );
                }
                exercised.insert(COVERED[5]);
                // The operator's status resource: its own readers only.
                let answer = get(
                    &platform,
                    &auth,
                    &format!("/taxii2/api/status/{status_id}/"),
                )
                .await;
                let expected = if reads && relation == Relation::Own {
                    StatusCode::OK
                } else {
                    StatusCode::NOT_FOUND
                };
                assert_eq!(answer.status, expected, "{cell}: {}", answer.text);
                exercised.insert(COVERED[9]);
            }
        }
    }
    let covered: BTreeSet<(&str, &str)> = COVERED.iter().copied().collect();
    assert_eq!(exercised, covered, "a TAXII route without a column");
}

#[tokio::test]
async fn every_taxii_route_is_in_the_matrix() {
    let served: BTreeSet<(&str, &str)> = nigehban_server::taxii::ROUTES.iter().copied().collect();
    let covered: BTreeSet<(&str, &str)> = COVERED.iter().copied().collect();
    assert_eq!(served, covered);
    // And each is routed: a TAXII answer, not the API's "no such route".
    let platform = Platform::new().await;
    for (method, path) in nigehban_server::taxii::ROUTES {
        let path = path
            .replace("{collection}", "public")
            .replace("{object}", &stix_id(1))
            .replace("{status}", "00000000-0000-4000-8000-000000000000");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let answer = platform
            .send(call(method, &path).header("accept", TAXII).empty())
            .await;
        assert_eq!(
            answer
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some(TAXII),
            "{path}: {} {}",
            answer.status,
            answer.text
        );
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{path}: {}",
            answer.text
        );
        assert_eq!(answer.json["http_status"], "401", "{path}: {}", answer.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taxii_matrix_on_sqlite() {
    run_matrix(Platform::new().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taxii_matrix_on_postgresql() {
    let Some(platform) = Platform::on_postgres().await else {
        return;
    };
    run_matrix(platform).await;
}
