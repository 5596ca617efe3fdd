//! STIX 2.1 exchange on SQLite and PostgreSQL (issue 13): exports hold what
//! the one policy lets the caller read, with TLP as the TLP 2.0 marking
//! definitions; imports keep every object, make indicators of the patterns
//! they can, and report the rest per object.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/world.rs"]
mod world;

use nigehban_app::model::indicator::{IndicatorValue, ShareRecipient};
use nigehban_app::model::{Pap, Role, Tlp};
use nigehban_app::policy::IntelUse;
use nigehban_app::stix::{self, marking};
use nigehban_app::{
    AppError, IndicatorListing, NewIndicator, NewSighting, PageRequest, StixImport, StixObjectFate,
    stix_import_totals,
};
use serde_json::{Value, json};
use world::{World, postgres_world, world};

const AMBER_STRICT_ID: &str = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
const RED_ID: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";

fn new(kind: &str, value: &str, tlp: Tlp, shared_with: Vec<ShareRecipient>) -> NewIndicator {
    NewIndicator {
        tenant: None,
        value: IndicatorValue::parse(kind, value).unwrap(),
        title: format!("{value} at {tlp}"),
        description: "seen at the edge".into(),
        valid_from: None,
        valid_until: None,
        confidence: Some(80),
        source: "Operator SOC".into(),
        tags: vec!["attack.t1071".into()],
        tlp,
        pap: Pap::Green,
        shared_with,
    }
}

/// The patterns of the bundle's indicators, with their markings.
fn indicators(bundle: &Value) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "indicator")
        .map(|o| {
            (
                o["pattern"].as_str().unwrap().to_owned(),
                o["object_marking_refs"]
                    .as_array()
                    .map(|refs| {
                        refs.iter()
                            .map(|r| r.as_str().unwrap().to_owned())
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out
}

fn ids_of_type(bundle: &Value, kind: &str) -> Vec<String> {
    let mut out: Vec<String> = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == kind)
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

fn options() -> StixImport {
    StixImport {
        tenant: None,
        default_tlp: Tlp::Amber,
        default_pap: Pap::Amber,
        source: "test bundle".into(),
    }
}

async fn exports_follow_the_policy_and_tlp_round_trips(w: &World) {
    let publisher = w.caller(w.operator.id, Role::IntelAnalyst).await;
    let intel = w.app.intel();
    intel
        .create(
            &publisher,
            new(
                "domain",
                "strict.example",
                Tlp::AmberStrict,
                vec![ShareRecipient::Tenant(w.bank.id)],
            ),
        )
        .await
        .unwrap();
    intel
        .create(&publisher, new("ipv4", "192.0.2.66", Tlp::Red, vec![]))
        .await
        .unwrap();
    let green = intel
        .create(
            &publisher,
            new("url", "https://green.example/x", Tlp::Green, vec![]),
        )
        .await
        .unwrap();
    let bank_analyst = w.caller(w.bank.id, Role::Analyst).await;
    intel
        .add_sighting(
            &bank_analyst,
            green.id,
            NewSighting {
                seen_at: None,
                count: Some(3),
                note: "mail gateway".into(),
                event_id: None,
            },
        )
        .await
        .unwrap();

    // The publisher reads all three, each with its TLP 2.0 marking; the definitions travel along.
    let own = intel
        .export_stix(&publisher, None, IntelUse::Exchange)
        .await
        .unwrap();
    assert_eq!(
        indicators(&own.bundle),
        [
            (
                "[domain-name:value = 'strict.example']".to_owned(),
                vec![AMBER_STRICT_ID.to_owned()]
            ),
            (
                "[ipv4-addr:value = '192.0.2.66']".to_owned(),
                vec![RED_ID.to_owned()]
            ),
            (
                "[url:value = 'https://green.example/x']".to_owned(),
                vec![marking::tlp2_id(Tlp::Green).to_owned()]
            ),
        ]
    );
    let mut expected_markings = vec![
        AMBER_STRICT_ID.to_owned(),
        RED_ID.to_owned(),
        marking::tlp2_id(Tlp::Green).to_owned(),
    ];
    expected_markings.sort();
    assert_eq!(
        ids_of_type(&own.bundle, "marking-definition"),
        expected_markings
    );
    assert_eq!(
        ids_of_type(&own.bundle, "identity"),
        [stix::indicator::source_identity_id("Operator SOC")]
    );
    let sightings: Vec<&Value> = own.bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "sighting")
        .collect();
    assert_eq!(sightings.len(), 1);
    assert_eq!(sightings[0]["count"], 3);
    assert_eq!(
        sightings[0]["sighting_of_ref"],
        stix::indicator::indicator_id(&green)
    );

    // The bank may read the AMBER+STRICT one addressed to it and the GREEN one, never the RED one.
    let bank = intel
        .export_stix(&bank_analyst, None, IntelUse::Exchange)
        .await
        .unwrap();
    let bank_patterns: Vec<String> = indicators(&bank.bundle).into_iter().map(|i| i.0).collect();
    assert_eq!(
        bank_patterns,
        [
            "[domain-name:value = 'strict.example']",
            "[url:value = 'https://green.example/x']"
        ]
    );
    assert!(!ids_of_type(&bank.bundle, "marking-definition").contains(&RED_ID.to_owned()));
    // The banking CERT above the bank is no recipient of AMBER+STRICT: GREEN only.
    let banking = w.caller(w.banking.id, Role::IntelAnalyst).await;
    let above = intel
        .export_stix(&banking, None, IntelUse::Exchange)
        .await
        .unwrap();
    assert_eq!(
        indicators(&above.bundle)
            .into_iter()
            .map(|i| i.0)
            .collect::<Vec<_>>(),
        ["[url:value = 'https://green.example/x']"]
    );
    // A role that reads no intelligence gets no export at all.
    let auditor = w.caller(w.bank.id, Role::Auditor).await;
    assert!(matches!(
        intel.export_stix(&auditor, None, IntelUse::Exchange).await,
        Err(AppError::Forbidden(_))
    ));

    // The bank's export re-imported by the banking CERT: AMBER+STRICT stays AMBER+STRICT.
    let text = serde_json::to_vec(&bank.bundle).unwrap();
    let bundle = stix::read_bundle(&text).unwrap();
    let report = intel
        .import_stix(&banking, &options(), &bundle, &mut |_, _| {})
        .await
        .unwrap();
    let totals = stix_import_totals(&report);
    assert_eq!(totals.refused, 0, "{report:?}");
    assert_eq!(totals.indicators_created, 2, "{report:?}");
    let listed = intel
        .list(
            &banking,
            IndicatorListing {
                under: Some(w.banking.id),
                ..IndicatorListing::default()
            },
            &PageRequest::first(100),
        )
        .await
        .unwrap();
    let mut labels: Vec<(String, Tlp, String)> = listed
        .items
        .iter()
        .map(|i| (i.value.to_string(), i.tlp, i.source.clone()))
        .collect();
    labels.sort();
    assert_eq!(
        labels,
        [
            (
                "domain:strict.example".to_owned(),
                Tlp::AmberStrict,
                "Operator SOC".to_owned()
            ),
            (
                "url:https://green.example/x".to_owned(),
                Tlp::Green,
                "Operator SOC".to_owned()
            ),
        ]
    );
}

async fn imports_keep_every_object_and_report_each(w: &World) {
    let importer = w.caller(w.operator.id, Role::IntelAnalyst).await;
    let intel = w.app.intel();
    let bundle = json!({
        "type": "bundle",
        "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982",
        "objects": [
            {
                "type": "indicator", "spec_version": "2.1",
                "id": "indicator--11111111-2222-4333-8444-555555555555",
                "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-02T00:00:00.000Z",
                "pattern": "[ipv4-addr:value = '203.0.113.9' OR domain-name:value = 'c2.example']",
                "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
                "object_marking_refs": [marking::tlp2_id(Tlp::Amber)]
            },
            {
                "type": "indicator", "spec_version": "2.1",
                "id": "indicator--11111111-2222-4333-8444-666666666666",
                "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                "pattern": "[file:name = 'a.exe' AND file:size = 10]",
                "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"
            },
            {
                "type": "malware", "spec_version": "2.1",
                "id": "malware--11111111-2222-4333-8444-777777777777",
                "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                "name": "Dropper", "is_family": true,
                "object_marking_refs": ["marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"]
            },
            { "type": "malware", "id": "not-an-id" }
        ]
    });
    let text = serde_json::to_vec(&bundle).unwrap();
    let read = stix::read_bundle(&text).unwrap();
    let report = intel
        .import_stix(&importer, &options(), &read, &mut |_, _| {})
        .await
        .unwrap();
    let fates: Vec<(usize, String)> = report
        .iter()
        .map(|line| {
            let fate = match &line.fate {
                StixObjectFate::Kept => "kept".to_owned(),
                StixObjectFate::Indicators { created, .. } => format!("{created} indicators"),
                StixObjectFate::Unsupported(why) => format!("unsupported: {why}"),
                StixObjectFate::Refused(why) => format!("refused: {why}"),
            };
            (line.position, fate)
        })
        .collect();
    assert_eq!(fates[0], (0, "2 indicators".to_owned()));
    assert!(
        fates[1]
            .1
            .starts_with("unsupported: indicator--11111111-2222-4333-8444-666666666666")
            && fates[1].1.contains("AND"),
        "{fates:?}"
    );
    assert_eq!(fates[2], (2, "kept".to_owned()));
    assert!(
        fates[3].1.starts_with("refused") && fates[3].1.contains("not-an-id"),
        "{fates:?}"
    );
    assert!(report[..3].iter().all(|line| line.new));
    // Importing it again keeps nothing twice.
    let again = intel
        .import_stix(&importer, &options(), &read, &mut |_, _| {})
        .await
        .unwrap();
    assert!(again.iter().all(|line| !line.new), "{again:?}");
    assert_eq!(stix_import_totals(&again).indicators_updated, 2);

    // The stored objects follow TLP: the CERT above reads them (custody); the
    // bank reads none (AMBER to nobody, RED, and the unmarked default AMBER).
    let telecom = w.caller(w.telecom.id, Role::Analyst).await;
    let custody = intel
        .export_stix(&telecom, None, IntelUse::Exchange)
        .await
        .unwrap();
    let mut kept = ids_of_type(&custody.bundle, "indicator");
    kept.extend(ids_of_type(&custody.bundle, "malware"));
    assert_eq!(
        kept,
        [
            "indicator--11111111-2222-4333-8444-555555555555",
            "indicator--11111111-2222-4333-8444-666666666666",
            "malware--11111111-2222-4333-8444-777777777777",
        ]
    );
    // The indicators made of the first object are given as that object, not twice.
    assert_eq!(custody.indicators, 0);
    assert_eq!(custody.stored_objects, 3);
    let bank = w.caller(w.bank.id, Role::Analyst).await;
    let outside = intel
        .export_stix(&bank, None, IntelUse::Exchange)
        .await
        .unwrap();
    assert_eq!(outside.stored_objects, 0);
    assert!(ids_of_type(&outside.bundle, "malware").is_empty());
}

#[tokio::test]
async fn stix_exchange_on_sqlite() {
    let w = world().await;
    exports_follow_the_policy_and_tlp_round_trips(&w).await;
    let w = world().await;
    imports_keep_every_object_and_report_each(&w).await;
}

#[tokio::test]
async fn stix_exchange_on_postgresql() {
    let Some(w) = postgres_world().await else {
        return;
    };
    exports_follow_the_policy_and_tlp_round_trips(&w).await;
    let Some(w) = postgres_world().await else {
        return;
    };
    imports_keep_every_object_and_report_each(&w).await;
}
