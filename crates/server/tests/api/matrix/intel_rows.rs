//! The matrix's shared-intelligence rows: every indicator endpoint × every
//! role × every relation, on indicators published fresh in the relation's
//! tenant by one of its own intel analysts, at TLP:AMBER+STRICT with no
//! recipient — so TLP shares them with no one and only the tree decides:
//! the publisher and the CERTs above it (its custody) read them, no one
//! else learns they exist. (Sharing across the tree by TLP is
//! `crates/app/tests/intel.rs`'s TLP matrix and `api/intel.rs`.)
//!
//! Those who act on intelligence read it (analysts, responders, intel
//! analysts, duty officers; constituent reporters their own
//! organisation's); a tenant's own analysts and intel analysts publish and
//! change its indicators. Lists are checked for contents: every indicator
//! lies in the subtree asked about, and the one seeded in the tenant asked
//! about is there. Every tenant also holds a TLP:AMBER indicator addressed
//! to no one: a STIX export (`GET /api/v1/intel/stix`) never holds a
//! sibling's or any other tenant's outside the caller's subtree.

use axum::http::{Method, StatusCode};
use nigehban_app::model::indicator::IndicatorValue;
use nigehban_app::model::{Pap, Role, Tenant, Tlp};
use nigehban_app::{Caller, NewIndicator};
use serde_json::{Value, json};

use super::{CREATED, Case, Level, N, NO_CONTENT, O, OK, Reach, Row, S, Scope, Tree, uuid_suffix};
use crate::harness::Answer;

/// One intelligence operation of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IntelCase {
    ListIndicators,
    CreateIndicator,
    GetIndicator,
    UpdateIndicator,
    DeleteIndicator,
    ListSightings,
    AddSighting,
    ImportMisp,
    MispManifest,
    MispHashes,
    MispEvent,
    ImportStix,
    ExportStix,
    ExportStixOwnView,
}

//                         admin analyst resp intel duty  report council audit
/// Those who act on intelligence read it; reporters their own organisation's.
const VIEW_INTEL: [Reach; 8] = [N, S, S, S, S, O, N, N];
/// A tenant's own analysts and intel analysts publish and change its indicators.
const PUBLISH_INTEL: [Reach; 8] = [N, O, N, O, N, N, N, N];

const fn row(
    method: &'static str,
    path: &'static str,
    case: IntelCase,
    reaches: [Reach; 8],
    success: StatusCode,
) -> Row {
    Row {
        method,
        path,
        case: Case::Intel(case),
        scope: Scope::Tenant(reaches),
        success,
        token_refused: false,
    }
}

/// A row acting on the caller's own view, with no target tenant (the MISP feed).
const fn role_row(path: &'static str, case: IntelCase, reaches: [Reach; 8]) -> Row {
    Row {
        method: "GET",
        path,
        case: Case::Intel(case),
        scope: Scope::Role(reaches),
        success: OK,
        token_refused: false,
    }
}

use IntelCase as I;

/// The intelligence rows.
#[rustfmt::skip]
pub(super) const ROWS: &[Row] = &[
    row("GET",    "/api/v1/indicators",                I::ListIndicators,  VIEW_INTEL,    OK),
    row("POST",   "/api/v1/indicators",                I::CreateIndicator, PUBLISH_INTEL, CREATED),
    row("GET",    "/api/v1/indicators/{id}",           I::GetIndicator,    VIEW_INTEL,    OK),
    row("PATCH",  "/api/v1/indicators/{id}",           I::UpdateIndicator, PUBLISH_INTEL, OK),
    row("DELETE", "/api/v1/indicators/{id}",           I::DeleteIndicator, PUBLISH_INTEL, NO_CONTENT),
    row("GET",    "/api/v1/indicators/{id}/sightings", I::ListSightings,   VIEW_INTEL,    OK),
    row("POST",   "/api/v1/indicators/{id}/sightings", I::AddSighting,     VIEW_INTEL,    CREATED),
    row("POST",   "/api/v1/intel/misp",                I::ImportMisp,      PUBLISH_INTEL, OK),
    role_row("/api/v1/intel/misp-feed/manifest.json",  I::MispManifest,    VIEW_INTEL),
    role_row("/api/v1/intel/misp-feed/hashes.csv",     I::MispHashes,      VIEW_INTEL),
    role_row("/api/v1/intel/misp-feed/{event}",        I::MispEvent,       VIEW_INTEL),
    row("POST",   "/api/v1/intel/stix",                I::ImportStix,      PUBLISH_INTEL, OK),
    row("GET",    "/api/v1/intel/stix",                I::ExportStix,      VIEW_INTEL,    OK),
    role_row("/api/v1/intel/stix",                     I::ExportStixOwnView, VIEW_INTEL),
];

/// The feed event that holds the indicators seeded in `tenant`.
fn seeded_event(tenant: &Tenant) -> String {
    nigehban_app::misp::event_uuid(tenant.id, "matrix", Tlp::AmberStrict).to_string()
}

/// An intel analyst of `tenant`, who publishes the records the rows act on.
async fn publisher(tree: &Tree, tenant: &Tenant) -> Caller {
    let maker = tree
        .platform
        .app
        .auth()
        .session(&tree.in_national[&Role::Administrator].cookie, None)
        .await
        .unwrap()
        .caller;
    let created = tree
        .platform
        .app
        .tokens()
        .create(
            &maker,
            nigehban_app::NewApiToken {
                name: nigehban_app::model::TokenName::parse(&format!("intel {}", uuid_suffix()))
                    .unwrap(),
                tenant: Some(tenant.id),
                role: Some(Role::IntelAnalyst),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    tree.platform
        .app
        .tokens()
        .authenticate(created.secret.expose(), None)
        .await
        .unwrap()
}

/// A fresh indicator of `tenant`, shared with no one; returns its id.
async fn indicator(tree: &Tree, tenant: &Tenant) -> String {
    labelled_indicator(tree, tenant, Tlp::AmberStrict).await
}

/// A fresh indicator of `tenant` at `tlp`, addressed to no one; returns its id.
async fn labelled_indicator(tree: &Tree, tenant: &Tenant, tlp: Tlp) -> String {
    let value = format!("m{}.matrix.example", uuid_suffix());
    tree.platform
        .app
        .intel()
        .create(
            &publisher(tree, tenant).await,
            NewIndicator {
                tenant: None,
                value: IndicatorValue::parse("domain", &value).unwrap(),
                title: format!("matrix indicator of {}", tenant.id),
                description: String::new(),
                valid_from: None,
                valid_until: None,
                confidence: Some(70),
                source: "matrix".into(),
                tags: Vec::new(),
                tlp,
                pap: Pap::Green,
                shared_with: Vec::new(),
            },
        )
        .await
        .unwrap()
        .id
        .to_string()
}

/// Seeds one indicator in every tenant of the tree.
pub(super) async fn seed(tree: &Tree) {
    for tenant in [
        &tree.national,
        &tree.sector_a,
        &tree.org_a1,
        &tree.unit_a1a,
        &tree.shift_a1a_i,
        &tree.unit_a1b,
        &tree.org_a2,
        &tree.sector_b,
        &tree.org_b1,
    ] {
        indicator(tree, tenant).await;
        labelled_indicator(tree, tenant, Tlp::Amber).await;
    }
}

/// The request of an intelligence row for a target in `tenant` (the relation's).
pub(super) async fn request(
    tree: &Tree,
    case: IntelCase,
    tenant: &Tenant,
) -> (Method, String, Option<Value>) {
    let on = |suffix: &str, id: String| format!("/api/v1/indicators/{id}{suffix}");
    match case {
        I::ListIndicators => (
            Method::GET,
            format!("/api/v1/indicators?under={}&limit=1000", tenant.id),
            None,
        ),
        I::CreateIndicator => (
            Method::POST,
            "/api/v1/indicators".into(),
            Some(json!({
                "tenant": tenant.id,
                "kind": "domain",
                "value": format!("c{}.matrix.example", uuid_suffix()),
                "title": "matrix",
                "tlp": "amber+strict",
            })),
        ),
        I::GetIndicator => (Method::GET, on("", indicator(tree, tenant).await), None),
        I::UpdateIndicator => (
            Method::PATCH,
            on("", indicator(tree, tenant).await),
            Some(json!({"confidence": 15, "tags": ["matrix"]})),
        ),
        I::DeleteIndicator => (Method::DELETE, on("", indicator(tree, tenant).await), None),
        I::ListSightings => (
            Method::GET,
            on("/sightings", indicator(tree, tenant).await),
            None,
        ),
        I::AddSighting => (
            Method::POST,
            on("/sightings", indicator(tree, tenant).await),
            Some(json!({"note": "matrix resolver", "count": 2})),
        ),
        I::ImportMisp => (
            Method::POST,
            format!("/api/v1/intel/misp?tenant={}", tenant.id),
            Some(json!({"Event": {
                "uuid": "5b646415-7b48-40d5-86b4-c0070acd0835",
                "info": "matrix import",
                "Tag": [{"name": "tlp:amber+strict"}],
                "Attribute": [
                    {"type": "domain", "value": format!("i{}.matrix.example", uuid_suffix()), "to_ids": true},
                    {"type": "link", "value": "https://matrix.example/", "to_ids": false},
                ],
            }})),
        ),
        I::MispManifest => (
            Method::GET,
            "/api/v1/intel/misp-feed/manifest.json".into(),
            None,
        ),
        I::MispHashes => (
            Method::GET,
            "/api/v1/intel/misp-feed/hashes.csv".into(),
            None,
        ),
        I::MispEvent => (
            Method::GET,
            format!("/api/v1/intel/misp-feed/{}.json", seeded_event(tenant)),
            None,
        ),
        I::ImportStix => (
            Method::POST,
            format!("/api/v1/intel/stix?tenant={}&pap=green", tenant.id),
            Some(json!({
                "type": "bundle",
                "id": format!("bundle--{}", nigehban_app::model::UserId::new()),
                "objects": [{
                    "type": "indicator",
                    "spec_version": "2.1",
                    "id": format!("indicator--{}", nigehban_app::model::UserId::new()),
                    "created": "2026-01-01T00:00:00.000Z",
                    "modified": "2026-01-01T00:00:00.000Z",
                    "pattern": format!("[domain-name:value = 's{}.matrix.example']", uuid_suffix()),
                    "pattern_type": "stix",
                    "valid_from": "2026-01-01T00:00:00Z",
                    "object_marking_refs": [AMBER_STRICT_MARKING],
                }],
            })),
        ),
        I::ExportStix => (
            Method::GET,
            format!("/api/v1/intel/stix?under={}", tenant.id),
            None,
        ),
        I::ExportStixOwnView => (Method::GET, "/api/v1/intel/stix".into(), None),
    }
}

/// The TLP 2.0 AMBER+STRICT marking definition's fixed id.
const AMBER_STRICT_MARKING: &str = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";

/// The owners of the indicators a STIX bundle holds, by the domain in
/// each indicator's pattern (every matrix indicator is a domain); `Err`
/// names a pattern whose owner is unknown.
async fn owners_in_bundle(tree: &Tree, bundle: &Value) -> Result<Vec<String>, String> {
    let usable = tree.platform.app.intel().usable().await.unwrap();
    let mut out = Vec::new();
    for object in bundle["objects"].as_array().into_iter().flatten() {
        if object["type"] != "indicator" {
            continue;
        }
        let pattern = object["pattern"].as_str().unwrap_or_default();
        let owner = usable
            .iter()
            .find(|u| pattern == format!("[domain-name:value = '{}']", u.indicator.value.value()))
            .map(|u| u.indicator.tenant.to_string())
            .ok_or_else(|| format!("an indicator of no known owner: {pattern}"))?;
        out.push(owner);
    }
    Ok(out)
}

/// What an allowed answer must hold.
pub(super) async fn check_content(
    tree: &Tree,
    case: IntelCase,
    _level: Level,
    target: &Tenant,
    uri: &str,
    answer: &Answer,
) -> Option<String> {
    let json = &answer.json;
    let path = uri.split('?').next().unwrap_or(uri);
    let asked = path.split('/').nth(4).map(str::to_owned);
    let target_id = target.id.to_string();
    match case {
        I::ListIndicators => {
            let items = json["items"].as_array()?;
            let mut outside = Vec::new();
            for item in items {
                let tenant = item["tenant"].as_str().unwrap_or_default();
                if !tree.path(tenant).await.contains(&target_id) {
                    outside.push(tenant.to_owned());
                }
            }
            if !outside.is_empty() {
                return Some(format!(
                    "indicators of tenants outside the subtree of {target_id}: {outside:?}"
                ));
            }
            (!items.iter().any(|i| i["tenant"] == target_id.as_str()))
                .then(|| format!("the list under {target_id} lacks its own seeded indicator"))
        }
        I::CreateIndicator => (json["tenant"] != json!(target_id)
            || json["tlp"] != json!("amber+strict")
            || json["kind"] != json!("domain"))
        .then(|| format!("not the indicator sent: {json}")),
        I::GetIndicator => (json["id"].as_str().map(str::to_owned) != asked
            || json["tenant"] != json!(target_id))
        .then(|| {
            format!(
                "answered {} when {asked:?} of {target_id} was asked",
                json["id"]
            )
        }),
        I::UpdateIndicator => (json["confidence"] != json!(15)
            || json["tags"] != json!(["matrix"])
            || json["version"] != json!(2))
        .then(|| format!("the change was not made: {json}")),
        I::ListSightings => json["items"]
            .as_array()
            .is_none()
            .then(|| format!("no sightings list: {json}")),
        I::AddSighting => (json["indicator"].as_str().map(str::to_owned) != asked
            || json["note"] != json!("matrix resolver")
            || json["count"] != json!(2))
        .then(|| format!("not the sighting sent: {json}")),
        I::DeleteIndicator => None,
        I::ImportMisp => (json["created"].as_array().map(Vec::len) != Some(1)
            || json["indicators"] != json!(1)
            || json["attributes_not_taken"][0]["outcome"] != json!("unsupported"))
        .then(|| format!("not the import sent: {json}")),
        I::MispManifest => {
            let entries = json.as_object()?;
            let mut outside = Vec::new();
            for entry in entries.values() {
                let tenant = entry["Orgc"]["uuid"].as_str().unwrap_or_default();
                if !tree.path(tenant).await.contains(&target_id) {
                    outside.push(tenant.to_owned());
                }
            }
            if !outside.is_empty() {
                return Some(format!(
                    "feed events of tenants outside the subtree of {target_id}: {outside:?}"
                ));
            }
            (!entries.contains_key(&seeded_event(target)))
                .then(|| format!("the feed of {target_id} lacks its own seeded event"))
        }
        I::MispHashes => {
            let own = format!(",{}", seeded_event(target));
            (!answer.text.lines().any(|line| line.ends_with(&own))).then(|| {
                format!(
                    "hashes.csv of {target_id} lacks its own event: {}",
                    answer.text
                )
            })
        }
        I::MispEvent => {
            let event = &json["Event"];
            let attributes = event["Attribute"].as_array()?;
            (event["Orgc"]["uuid"] != json!(target_id)
                || attributes.is_empty()
                || attributes
                    .iter()
                    .any(|a| a["Tag"][0]["name"] != json!("tlp:amber+strict")))
            .then(|| format!("not the seeded event of {target_id}: {json}"))
        }
        I::ImportStix => (json["indicators_created"] != json!(1)
            || json["refused"] != json!(0)
            || json["objects"][0]["outcome"] != json!("indicators"))
        .then(|| format!("not the import sent: {json}")),
        I::ExportStix | I::ExportStixOwnView => {
            if json["type"] != json!("bundle") {
                return Some(format!("not a STIX bundle: {json}"));
            }
            let owners = match owners_in_bundle(tree, json).await {
                Ok(owners) => owners,
                Err(problem) => return Some(problem),
            };
            let mut outside = Vec::new();
            for owner in &owners {
                if !tree.path(owner).await.contains(&target_id) {
                    outside.push(owner.clone());
                }
            }
            if !outside.is_empty() {
                // Every matrix indicator is AMBER or AMBER+STRICT to no one: only custody reads it.
                return Some(format!(
                    "indicators of tenants outside the subtree of {target_id} (a sibling's AMBER?): {outside:?}"
                ));
            }
            (!owners.contains(&target_id))
                .then(|| format!("the export of {target_id} lacks its own seeded indicators"))
        }
    }
}
