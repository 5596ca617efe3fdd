//! Shared threat intelligence on SQLite and PostgreSQL (issue 13): the TLP
//! matrix — each label × recipient × tenant relationship, on the read path
//! (get and list) and the matching path (whose events an indicator is
//! matched against) — written from TLP 2.0, not from the policy's code;
//! publishing, changes, imports with warninglists, sightings.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/world.rs"]
mod world;

use std::sync::Arc;

use nigehban_app::model::indicator::{IndicatorValue, ShareRecipient};
use nigehban_app::model::{Pap, Role, TenantId, Tlp};
use nigehban_app::{
    AppError, AuditListing, Caller, IndicatorListing, IndicatorUpdate, Intel, NewIndicator,
    NewSighting, PageRequest, Warninglists,
};
use world::{World, postgres_world, world};

fn new(value: &str, tlp: Tlp, shared_with: Vec<ShareRecipient>) -> NewIndicator {
    NewIndicator {
        tenant: None,
        value: IndicatorValue::parse("domain", value).unwrap(),
        title: format!("{value} at {tlp}"),
        description: String::new(),
        valid_from: None,
        valid_until: None,
        confidence: Some(90),
        source: "operator SOC".into(),
        tags: vec!["attack.t1071".into()],
        tlp,
        pap: Pap::Green,
        shared_with,
    }
}

/// Who reads, and whether TLP (or custody) lets them: the expectation is
/// written from TLP 2.0 and the tree, case by case.
struct Reader {
    name: &'static str,
    caller: Caller,
}

async fn readers(w: &World) -> (Vec<Reader>, Caller) {
    let named = w.user(w.bank.id, "named-bank-analyst", Role::Analyst).await;
    let mut out = Vec::new();
    for (name, tenant, role) in [
        ("national analyst (custody)", w.national.id, Role::Analyst),
        ("telecom analyst (custody)", w.telecom.id, Role::Analyst),
        ("operator analyst (owner)", w.operator.id, Role::Analyst),
        ("banking analyst", w.banking.id, Role::Analyst),
        ("bank analyst", w.bank.id, Role::Analyst),
        ("bank responder", w.bank.id, Role::Responder),
        ("bank reporter", w.bank.id, Role::ConstituentReporter),
        ("banking administrator", w.banking.id, Role::Administrator),
        ("banking council member", w.banking.id, Role::CouncilMember),
        ("banking auditor", w.banking.id, Role::Auditor),
    ] {
        out.push(Reader {
            name,
            caller: w.caller(tenant, role).await,
        });
    }
    out.push(Reader {
        name: "named bank analyst",
        caller: named.clone(),
    });
    (out, named)
}

/// A label, its recipients, the readers TLP lets have it outside custody
/// ("banking", "bank", "named"), and the tenants whose events it is matched
/// against outside custody.
type Case = (
    Tlp,
    Vec<ShareRecipient>,
    &'static [&'static str],
    Vec<TenantId>,
);

async fn the_tlp_matrix_holds_on_reads_and_matching(w: &World) {
    let publisher = w.caller(w.operator.id, Role::IntelAnalyst).await;
    let (readers, named) = readers(w).await;
    let named_user = named.user_id().unwrap();
    let intel = w.app.intel();
    // (label, recipients, readers allowed by TLP outside custody, tenants whose events match outside custody)
    let cases: Vec<Case> = vec![
        (
            Tlp::Clear,
            vec![],
            &["banking", "bank", "named"],
            vec![w.banking.id, w.bank.id],
        ),
        (
            Tlp::Green,
            vec![],
            &["banking", "bank", "named"],
            vec![w.banking.id, w.bank.id],
        ),
        // AMBER to the banking CERT: it and the tenants below it.
        (
            Tlp::Amber,
            vec![ShareRecipient::Tenant(w.banking.id)],
            &["banking", "bank", "named"],
            vec![w.banking.id, w.bank.id],
        ),
        // AMBER to the bank: not the CERT above it.
        (
            Tlp::Amber,
            vec![ShareRecipient::Tenant(w.bank.id)],
            &["bank", "named"],
            vec![w.bank.id],
        ),
        // AMBER+STRICT to the banking CERT: it alone, not the bank below.
        (
            Tlp::AmberStrict,
            vec![ShareRecipient::Tenant(w.banking.id)],
            &["banking"],
            vec![w.banking.id],
        ),
        (Tlp::AmberStrict, vec![], &[], vec![]),
        // RED to a named person: that person alone; no tenant's automated matching.
        (
            Tlp::Red,
            vec![ShareRecipient::User(named_user)],
            &["named"],
            vec![],
        ),
        // RED addressed to a tenant is no named person: nobody outside custody.
        (
            Tlp::Red,
            vec![ShareRecipient::Tenant(w.bank.id)],
            &[],
            vec![],
        ),
    ];
    let mut made = Vec::new();
    for (n, (tlp, recipients, _, _)) in cases.iter().enumerate() {
        let indicator = intel
            .create(
                &publisher,
                new(&format!("case{n}.evil.example"), *tlp, recipients.clone()),
            )
            .await
            .unwrap();
        made.push(indicator);
    }
    let usable = intel.usable().await.unwrap();
    for (n, (tlp, recipients, by_tlp, matched)) in cases.iter().enumerate() {
        let indicator = &made[n];
        for reader in &readers {
            let role = reader.caller.role();
            let reads_intel = matches!(
                role,
                Role::Analyst
                    | Role::Responder
                    | Role::IntelAnalyst
                    | Role::DutyOfficer
                    | Role::ConstituentReporter
            );
            let custody = reader.name.contains("custody") || reader.name.contains("owner");
            let tlp_allows = match reader.name {
                "named bank analyst" => by_tlp.contains(&"named"),
                name if name.starts_with("banking") => by_tlp.contains(&"banking"),
                name if name.starts_with("bank ") => by_tlp.contains(&"bank"),
                _ => false,
            };
            let expected = reads_intel && (custody || tlp_allows);
            let got = intel.get(&reader.caller, indicator.id).await;
            match (&got, expected) {
                (Ok(seen), true) => assert_eq!(seen.id, indicator.id),
                (Err(AppError::NotFound { .. }), false) => {}
                other => panic!(
                    "{tlp} to {recipients:?}: {} expected {expected}, got {:?}",
                    reader.name, other.0
                ),
            }
            let listed = intel
                .list(
                    &reader.caller,
                    IndicatorListing::default(),
                    &PageRequest::first(1000),
                )
                .await;
            match listed {
                Ok(page) => assert_eq!(
                    page.items.iter().any(|i| i.id == indicator.id),
                    expected,
                    "{tlp} to {recipients:?}: list of {}",
                    reader.name
                ),
                Err(AppError::Forbidden(_)) => assert!(!reads_intel, "{}", reader.name),
                Err(other) => panic!("{}: {other}", reader.name),
            }
        }
        // Matching: whose events are looked at with this indicator.
        let entry = usable
            .iter()
            .find(|u| u.indicator.id == indicator.id)
            .unwrap();
        for (tenant, custody) in [
            (w.national.id, true),
            (w.telecom.id, true),
            (w.operator.id, true),
            (w.banking.id, false),
            (w.bank.id, false),
        ] {
            let path = intel.tenant_path(tenant).await.unwrap();
            assert_eq!(
                Intel::tenant_may_use(&path, entry),
                custody || matched.contains(&tenant),
                "{tlp} to {recipients:?}: matching for {tenant}"
            );
        }
    }
    // Reading AMBER and above is audited; GREEN is not.
    let bank_analyst = &readers
        .iter()
        .find(|r| r.name == "bank analyst")
        .unwrap()
        .caller;
    let reads = |id: String| async move {
        let page = w
            .app
            .audit()
            .list(
                &w.root_admin,
                AuditListing {
                    under: None,
                    newest_first: true,
                },
                &PageRequest::first(1000),
            )
            .await
            .unwrap();
        page.items
            .iter()
            .filter(|e| e.action.to_string() == "record.read" && e.record_id == id)
            .count()
    };
    let (amber, green) = (made[2].id.to_string(), made[1].id.to_string());
    let (amber_before, green_before) = (reads(amber.clone()).await, reads(green.clone()).await);
    intel.get(bank_analyst, made[2].id).await.unwrap();
    intel.get(bank_analyst, made[1].id).await.unwrap();
    assert_eq!(reads(amber).await, amber_before + 1);
    assert_eq!(reads(green).await, green_before);
}

async fn publishers_change_what_they_publish_and_no_one_else(w: &World) {
    let intel = w.app.intel();
    let publisher = w.caller(w.operator.id, Role::Analyst).await;
    let made = intel
        .create(&publisher, new("change.evil.example", Tlp::Green, vec![]))
        .await
        .unwrap();
    // The same value again is a conflict.
    let again = intel
        .create(&publisher, new("change.evil.example", Tlp::Green, vec![]))
        .await;
    assert!(matches!(again, Err(AppError::Conflict(_))), "{again:?}");
    // A reader elsewhere sees it (GREEN) but may not change it.
    let bank = w.caller(w.bank.id, Role::IntelAnalyst).await;
    let refused = intel
        .update(
            &bank,
            made.id,
            IndicatorUpdate {
                revoked: Some(true),
                ..IndicatorUpdate::default()
            },
        )
        .await;
    assert!(
        matches!(refused, Err(AppError::Forbidden(_))),
        "{refused:?}"
    );
    // The CERT above reads it but publishes only its own.
    let telecom = w.caller(w.telecom.id, Role::IntelAnalyst).await;
    let refused = intel.delete(&telecom, made.id).await;
    assert!(
        matches!(refused, Err(AppError::Forbidden(_))),
        "{refused:?}"
    );
    // Responders read, never publish.
    let responder = w.caller(w.operator.id, Role::Responder).await;
    let refused = intel
        .create(
            &responder,
            new("responder.evil.example", Tlp::Green, vec![]),
        )
        .await;
    assert!(
        matches!(refused, Err(AppError::Forbidden(_))),
        "{refused:?}"
    );
    let changed = intel
        .update(
            &publisher,
            made.id,
            IndicatorUpdate {
                tlp: Some(Tlp::AmberStrict),
                confidence: Some(30),
                ..IndicatorUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (changed.version, changed.tlp, changed.confidence),
        (2, Tlp::AmberStrict, 30)
    );
    // Now AMBER+STRICT with no recipient: the bank no longer sees it.
    assert!(matches!(
        intel.get(&bank, made.id).await,
        Err(AppError::NotFound { .. })
    ));
    // A confidence above 100 is refused naming the field.
    let bad = intel
        .update(
            &publisher,
            made.id,
            IndicatorUpdate {
                confidence: Some(101),
                ..IndicatorUpdate::default()
            },
        )
        .await;
    assert!(
        matches!(&bad, Err(AppError::Invalid(m)) if m.contains("confidence")),
        "{bad:?}"
    );
    intel.delete(&publisher, made.id).await.unwrap();
    assert!(matches!(
        intel.get(&publisher, made.id).await,
        Err(AppError::NotFound { .. })
    ));
}

async fn warninglisted_values_are_refused_and_imports_report_them(w: &World) {
    let Some(corpus) = nigehban_testkit::corpus_with("intel/misp-warninglists/lists") else {
        return;
    };
    let (lists, _) = Warninglists::load_dir(&corpus.join("intel/misp-warninglists")).unwrap();
    w.app.intel().set_warninglists(Arc::new(lists));
    let intel = w.app.intel();
    let publisher = w.caller(w.bank.id, Role::IntelAnalyst).await;
    let refused = intel
        .create(&publisher, new("www.google.com", Tlp::Green, vec![]))
        .await;
    assert!(
        matches!(&refused, Err(AppError::Invalid(m)) if m.contains("warninglist")),
        "{refused:?}"
    );
    let mut private = new("x.example", Tlp::Green, vec![]);
    private.value = IndicatorValue::parse("ip", "192.168.10.1").unwrap();
    let mut bad = new("bad-confidence.evil.example", Tlp::Green, vec![]);
    bad.confidence = Some(200);
    let imported = intel
        .import(
            &publisher,
            None,
            vec![
                new("import.evil.example", Tlp::Green, vec![]),
                private,
                bad,
                new("import.evil.example", Tlp::Amber, vec![]),
            ],
        )
        .await
        .unwrap();
    assert_eq!(imported.created.len(), 1);
    // The second entry for the same value changed the first.
    assert_eq!(imported.updated, imported.created);
    assert_eq!(imported.benign.len(), 1);
    assert_eq!(imported.benign[0].0.value(), "192.168.10.1");
    assert_eq!(imported.refused.len(), 1);
    assert_eq!(imported.refused[0].0, 2);
    let stored = intel.get(&publisher, imported.created[0]).await.unwrap();
    assert_eq!(stored.tlp, Tlp::Amber);
    w.app
        .intel()
        .set_warninglists(Arc::new(Warninglists::none()));
}

async fn sightings_are_seen_by_custody_and_by_their_own_tenant(w: &World) {
    let intel = w.app.intel();
    let publisher = w.caller(w.operator.id, Role::IntelAnalyst).await;
    let made = intel
        .create(&publisher, new("seen.evil.example", Tlp::Green, vec![]))
        .await
        .unwrap();
    let bank = w.caller(w.bank.id, Role::Analyst).await;
    let banking = w.caller(w.banking.id, Role::Analyst).await;
    let telecom = w.caller(w.telecom.id, Role::Analyst).await;
    let sighting = |note: &str| NewSighting {
        seen_at: None,
        count: Some(3),
        note: note.into(),
        event_id: None,
    };
    intel
        .add_sighting(&bank, made.id, sighting("bank proxy"))
        .await
        .unwrap();
    intel
        .add_sighting(&telecom, made.id, sighting("telecom resolver"))
        .await
        .unwrap();
    let notes = |list: Vec<nigehban_app::model::indicator::Sighting>| {
        let mut notes: Vec<String> = list.into_iter().map(|s| s.note).collect();
        notes.sort();
        notes
    };
    // The publisher (and the CERTs above it) see every sighting.
    assert_eq!(
        notes(intel.sightings(&publisher, made.id).await.unwrap()),
        ["bank proxy", "telecom resolver"]
    );
    // The banking CERT sees its constituent's, not telecom's.
    assert_eq!(
        notes(intel.sightings(&banking, made.id).await.unwrap()),
        ["bank proxy"]
    );
    assert_eq!(
        notes(intel.sightings(&bank, made.id).await.unwrap()),
        ["bank proxy"]
    );
}

async fn all(w: &World) {
    the_tlp_matrix_holds_on_reads_and_matching(w).await;
    publishers_change_what_they_publish_and_no_one_else(w).await;
    warninglisted_values_are_refused_and_imports_report_them(w).await;
    sightings_are_seen_by_custody_and_by_their_own_tenant(w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intel_on_sqlite() {
    all(&world().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intel_on_postgresql() {
    let Some(w) = postgres_world().await else {
        return;
    };
    all(&w).await;
}
