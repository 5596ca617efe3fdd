//! THE TLP matrix (issue 13, "Done when"): each TLP 2.0 label × recipient
//! × tenant relationship × path shows or hides an indicator exactly as the
//! issue's rules say, on SQLite and PostgreSQL.
//!
//! The rules, as the issue writes them (issue 13, point 8), plus custody
//! as for every record (PRODUCT.md: a CERT sees what is below it):
//!
//! - custody: the publishing tenant and the CERTs above it see its
//!   indicators whatever their label;
//! - CLEAR: anyone the platform serves; GREEN: every tenant on the platform;
//! - AMBER: the recipient tenant and its descendants;
//! - AMBER+STRICT: the recipient tenant only;
//! - RED: the named recipients (people) only — so no tenant's automated
//!   matching outside custody, and a tenant named as a RED recipient is no
//!   named person.
//!
//! The expected answers are the tables [`PEOPLE`] and [`MATCHING`], written
//! out from those rules by hand — never computed by the policy under test.
//! Paths ([`Path`]) are the app functions the API, the MISP feed, the
//! exports and live matching go through. PAP is checked on the automatic
//! block-list use of the export paths ([`PAP_BLOCK_LIST`]).
//!
//! TAXII serves the STIX objects a tenant imported (by file or by a TAXII
//! `POST`), each under the label of its markings; a STIX object names no
//! recipient, so its column ([`TAXII`]) is custody for every label above
//! GREEN. Each row of the matrix therefore publishes two things: an
//! indicator (with its recipients) and a STIX indicator object at the same
//! label.
//!
//! Adding a path: add a variant to [`Path`], give it to [`Path::ALL`],
//! and answer it in [`shows`] with the table it takes its expectation from.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/world.rs"]
mod world;

use nigehban_app::model::indicator::{Indicator, IndicatorValue, ShareRecipient};
use nigehban_app::model::{Pap, Role, Sector, Tenant, TenantKind, TenantName, Tlp};
use nigehban_app::policy::IntelUse;
use nigehban_app::{
    AppError, Caller, IndicatorListing, Intel, NewIndicator, NewTenant, PageRequest, StixImport,
    taxii,
};
use world::{World, postgres_world, world};

/// How a reader's tenant stands to the publishing tenant (the telecom CERT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relationship {
    /// The telecom CERT itself.
    Owner,
    /// The national CERT above it.
    ParentCert,
    /// The mobile operator below it.
    Child,
    /// The banking CERT beside it.
    Sibling,
    /// The bank under the banking CERT: no relation at all.
    Unrelated,
    /// The energy CERT, named as the recipient (AMBER, AMBER+STRICT); its
    /// reader is the person named as RED recipient.
    NamedRecipient,
    /// Another analyst of the energy CERT, not named in person.
    RecipientColleague,
    /// The utility below the energy CERT.
    RecipientChild,
}

impl Relationship {
    /// In the order of the tables' columns.
    const ALL: [Relationship; 8] = [
        Relationship::Owner,
        Relationship::ParentCert,
        Relationship::Child,
        Relationship::Sibling,
        Relationship::Unrelated,
        Relationship::NamedRecipient,
        Relationship::RecipientColleague,
        Relationship::RecipientChild,
    ];
}

/// Whom a label's indicator is addressed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Addressed {
    /// No one.
    NoOne,
    /// The energy CERT (a tenant).
    EnergyCert,
    /// The named energy analyst (a person).
    NamedPerson,
}

/// The labels and recipients of the matrix, in the order of the tables' rows.
const LABELS: [(Tlp, Addressed); 6] = [
    (Tlp::Clear, Addressed::NoOne),
    (Tlp::Green, Addressed::NoOne),
    (Tlp::Amber, Addressed::EnergyCert),
    (Tlp::AmberStrict, Addressed::EnergyCert),
    (Tlp::Red, Addressed::NamedPerson),
    (Tlp::Red, Addressed::EnergyCert),
];

/// Whether a person of each relationship (columns as [`Relationship::ALL`]:
/// owner, parent CERT, child, sibling, unrelated, named recipient,
/// recipient's colleague, recipient's child) sees the indicator of each
/// row of [`LABELS`] — on the API, the MISP feed and every export.
#[rustfmt::skip]
const PEOPLE: [&str; 6] = [
    // own par chi sib unr nam col rch
    "YYYYYYYY", // CLEAR: anyone the platform serves
    "YYYYYYYY", // GREEN: every tenant
    "YY...YYY", // AMBER to the energy CERT: it and the tenants below it
    "YY...YY.", // AMBER+STRICT to the energy CERT: it alone
    "YY...Y..", // RED to the named analyst: that person alone
    "YY......", // RED to the energy CERT: a tenant is no named person
];

/// Whether the events of each relationship's tenant raise an alert for the
/// indicator of each row of [`LABELS`]: as [`PEOPLE`] for tenants, except
/// that RED goes to people, never to a tenant's automated matching. (The
/// named recipient and the colleague are the same tenant.)
#[rustfmt::skip]
const MATCHING: [&str; 6] = [
    // own par chi sib unr nam col rch
    "YYYYYYYY", // CLEAR
    "YYYYYYYY", // GREEN
    "YY...YYY", // AMBER to the energy CERT
    "YY...YY.", // AMBER+STRICT to the energy CERT
    "YY......", // RED to the named analyst: matched for custody only
    "YY......", // RED to the energy CERT
];

/// Whether a person of each relationship reads, in any TAXII collection
/// they see, the STIX object imported by the owner at each row's label.
/// An object carries a label but no recipient, so AMBER, AMBER+STRICT and
/// RED reach custody only, as the same label with no recipient would on
/// every other path.
#[rustfmt::skip]
const TAXII: [&str; 6] = [
    // own par chi sib unr nam col rch
    "YYYYYYYY", // CLEAR
    "YYYYYYYY", // GREEN
    "YY......", // AMBER: no recipient in a STIX object
    "YY......", // AMBER+STRICT
    "YY......", // RED
    "YY......", // RED
];

/// The TLP 2.0 marking-definition ids (the TLP 2.0 extension's published
/// ids, written out here so that the test does not take them from the code
/// under test).
fn tlp2_marking(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    }
}

/// Whether PAP lets an indicator go on an automatic block list, by PAP
/// label (clear, green, amber, red): PAP:AMBER allows passive actions
/// only, PAP:RED nothing the adversary could notice.
const PAP_BLOCK_LIST: [(Pap, bool); 4] = [
    (Pap::Clear, true),
    (Pap::Green, true),
    (Pap::Amber, false),
    (Pap::Red, false),
];

/// A way an indicator reaches someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// `GET /api/v1/indicators/{id}` ([`Intel::get`]).
    ApiGet,
    /// `GET /api/v1/indicators` ([`Intel::list`]).
    ApiList,
    /// `GET /api/v1/intel/misp-feed/...` ([`Intel::misp_feed`]).
    MispFeed,
    /// `nigehban intel export --format stix` and `GET /api/v1/intel/stix` ([`Intel::export_stix`]).
    ExportStix,
    /// `nigehban intel export --format csv` ([`Intel::export_csv`]).
    ExportCsv,
    /// `nigehban intel export --format misp` ([`Intel::export_misp`], written and read back by the codec).
    ExportMisp,
    /// Live matching: does an event of the reader's tenant raise an alert
    /// for it? ([`Intel::usable`] and [`Intel::tenant_may_use`], as the node does.)
    Alert,
    /// TAXII 2.1: the objects of every collection the person sees
    /// ([`taxii::Taxii::collections`], [`taxii::Taxii::objects`]).
    Taxii,
}

impl Path {
    const ALL: [Path; 8] = [
        Path::ApiGet,
        Path::ApiList,
        Path::MispFeed,
        Path::ExportStix,
        Path::ExportCsv,
        Path::ExportMisp,
        Path::Alert,
        Path::Taxii,
    ];

    /// The table a path's expectation comes from.
    fn table(self) -> &'static [&'static str; 6] {
        match self {
            Path::Alert => &MATCHING,
            Path::Taxii => &TAXII,
            _ => &PEOPLE,
        }
    }
}

/// The readers: one per relationship, each an analyst of its tenant.
struct Readers {
    callers: Vec<(Relationship, Caller)>,
    named: Caller,
    energy: Tenant,
}

async fn tenant(w: &World, parent: &Tenant, name: &str, kind: TenantKind) -> Tenant {
    w.app
        .tenants()
        .create(
            &w.root_admin,
            NewTenant {
                parent: parent.id,
                name: TenantName::parse(name).unwrap(),
                kind,
            },
        )
        .await
        .unwrap()
}

/// national ─┬─ telecom (owner) ─── operator
///           ├─ banking ─── bank
///           └─ energy (recipient) ─── utility
async fn readers(w: &World) -> Readers {
    let energy = tenant(
        w,
        &w.national,
        "CERT Energy",
        TenantKind::Sectoral {
            sector: Sector::Energy,
        },
    )
    .await;
    let utility = tenant(
        w,
        &energy,
        "Power Utility",
        TenantKind::Organisation {
            critical_infrastructure: true,
        },
    )
    .await;
    let named = w
        .user(energy.id, "named-energy-analyst", Role::Analyst)
        .await;
    let mut callers = Vec::new();
    for relationship in Relationship::ALL {
        let caller = match relationship {
            Relationship::Owner => w.user(w.telecom.id, "telecom-analyst", Role::Analyst).await,
            Relationship::ParentCert => {
                w.user(w.national.id, "national-analyst", Role::Analyst)
                    .await
            }
            Relationship::Child => {
                w.user(w.operator.id, "operator-analyst", Role::Analyst)
                    .await
            }
            Relationship::Sibling => w.user(w.banking.id, "banking-analyst", Role::Analyst).await,
            Relationship::Unrelated => w.user(w.bank.id, "bank-analyst", Role::Analyst).await,
            Relationship::NamedRecipient => named.clone(),
            Relationship::RecipientColleague => {
                w.user(energy.id, "other-energy-analyst", Role::Analyst)
                    .await
            }
            Relationship::RecipientChild => {
                w.user(utility.id, "utility-analyst", Role::Analyst).await
            }
        };
        callers.push((relationship, caller));
    }
    Readers {
        callers,
        named,
        energy,
    }
}

fn new_indicator(
    value: &str,
    tlp: Tlp,
    pap: Pap,
    shared_with: Vec<ShareRecipient>,
) -> NewIndicator {
    NewIndicator {
        tenant: None,
        value: IndicatorValue::parse("domain", value).unwrap(),
        title: format!("{value} ({tlp})"),
        description: "TLP matrix".into(),
        valid_from: None,
        valid_until: None,
        confidence: Some(80),
        source: "telecom sinkhole".into(),
        tags: vec!["attack.t1071".into()],
        tlp,
        pap,
        shared_with,
    }
}

/// What one row of the matrix published: an indicator, and a STIX
/// indicator object at the same label.
struct Published {
    indicator: Indicator,
    stix_id: String,
}

/// Imports, as the owner, a STIX indicator object marked with `tlp`.
async fn publish_stix_object(w: &World, publisher: &Caller, row: usize, tlp: Tlp) -> String {
    let stix_id = format!("indicator--6a1f3c2e-7d4b-4e8a-9c1d-00000000000{row}");
    let bundle = serde_json::json!({
        "type": "bundle",
        "id": format!("bundle--6a1f3c2e-7d4b-4e8a-9c1d-10000000000{row}"),
        "objects": [{
            "type": "indicator",
            "spec_version": "2.1",
            "id": stix_id,
            "created": "2026-11-01T00:00:00.000Z",
            "modified": "2026-11-01T00:00:00.000Z",
            "name": format!("TAXII matrix row {row} ({tlp})"),
            "pattern": format!("[domain-name:value = 'row{row}.taxii-matrix.example']"),
            "pattern_type": "stix",
            "valid_from": "2026-11-01T00:00:00Z",
            "object_marking_refs": [tlp2_marking(tlp)],
        }],
    });
    let options = StixImport {
        tenant: None,
        // Far from every row's label, so a marking that was not read shows.
        default_tlp: Tlp::Clear,
        default_pap: Pap::Green,
        source: "TLP matrix".into(),
    };
    let reports = w
        .app
        .intel()
        .import_stix_document(publisher, &options, bundle.to_string().as_bytes())
        .await
        .unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    stix_id
}

/// Whether `caller` reads the STIX object `stix_id` in any TAXII collection it sees.
async fn taxii_shows(w: &World, caller: &Caller, stix_id: &str) -> bool {
    let taxii = w.app.taxii();
    let filter = taxii::TaxiiFilter {
        ids: vec![stix_id.to_owned()],
        ..Default::default()
    };
    let mut seen = false;
    for collection in taxii.collections(Some(caller), false).await.unwrap() {
        let page = taxii
            .objects(Some(caller), &collection.id, &filter, false)
            .await
            .unwrap();
        seen |= page.objects.iter().any(|o| o.id == stix_id);
    }
    seen
}

/// Whether `path` shows what a row published to `caller` (whose tenant's
/// events are matched for `Alert`).
async fn shows(w: &World, path: Path, caller: &Caller, published: &Published) -> bool {
    let intel = w.app.intel();
    let indicator = &published.indicator;
    let value = indicator.value.value();
    match path {
        Path::Taxii => taxii_shows(w, caller, &published.stix_id).await,
        Path::ApiGet => match intel.get(caller, indicator.id).await {
            Ok(found) => {
                assert_eq!(found.id, indicator.id);
                true
            }
            Err(AppError::NotFound { .. }) => false,
            Err(other) => panic!("get {value}: {other}"),
        },
        Path::ApiList => intel
            .list(
                caller,
                IndicatorListing::default(),
                &PageRequest::first(1000),
            )
            .await
            .unwrap()
            .items
            .iter()
            .any(|i| i.id == indicator.id),
        Path::MispFeed => intel
            .misp_feed(caller)
            .await
            .unwrap()
            .iter()
            .flat_map(|event| &event.indicators)
            .any(|i| i.id == indicator.id),
        Path::ExportStix => {
            let exported = intel
                .export_stix(caller, None, IntelUse::Exchange)
                .await
                .unwrap();
            let pattern = format!("[domain-name:value = '{value}']");
            exported.bundle["objects"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o["type"] == "indicator" && o["pattern"] == pattern.as_str())
        }
        Path::ExportCsv => {
            let (csv, _) = intel
                .export_csv(caller, None, IntelUse::Exchange)
                .await
                .unwrap();
            csv.lines()
                .any(|line| line.starts_with(&format!("domain,{value},")))
        }
        Path::ExportMisp => misp_export_values(w, caller, IntelUse::Exchange)
            .await
            .contains(&value.to_owned()),
        Path::Alert => {
            let usable = intel.usable().await.unwrap();
            let entry = usable
                .iter()
                .find(|u| u.indicator.id == indicator.id)
                .expect("every matrix indicator is in force");
            let tenant_path = intel.tenant_path(caller.tenant_id()).await.unwrap();
            Intel::tenant_may_use(&tenant_path, entry)
        }
    }
}

/// The attribute values of the MISP feed `caller` exports for `usage`, as
/// the files `nigehban intel export --format misp` writes, read back by the codec.
async fn misp_export_values(w: &World, caller: &Caller, usage: IntelUse) -> Vec<String> {
    let events = w
        .app
        .intel()
        .export_misp(caller, None, usage)
        .await
        .unwrap();
    let files = nigehban_app::misp::feed_files(&events);
    let manifest = files.iter().find(|f| f.name == "manifest.json").unwrap();
    let read = nigehban_app::misp::read_feed(&manifest.bytes, |uuid| {
        files
            .iter()
            .find(|f| f.name == format!("{uuid}.json"))
            .map(|f| f.bytes.clone())
    })
    .unwrap();
    assert!(read.failed.is_empty(), "{:?}", read.failed);
    read.indicators
        .iter()
        .map(|i| i.value.value().to_owned())
        .collect()
}

async fn every_label_recipient_relationship_and_path(w: &World) {
    let readers = readers(w).await;
    let publisher = w.caller(w.telecom.id, Role::IntelAnalyst).await;
    let named_user = readers.named.user_id().unwrap();
    let mut made = Vec::new();
    for (row, (tlp, addressed)) in LABELS.iter().enumerate() {
        let shared_with = match addressed {
            Addressed::NoOne => vec![],
            Addressed::EnergyCert => vec![ShareRecipient::Tenant(readers.energy.id)],
            Addressed::NamedPerson => vec![ShareRecipient::User(named_user)],
        };
        let indicator = w
            .app
            .intel()
            .create(
                &publisher,
                new_indicator(
                    &format!("row{row}.tlp-matrix.example"),
                    *tlp,
                    Pap::Green,
                    shared_with,
                ),
            )
            .await
            .unwrap();
        let stix_id = publish_stix_object(w, &publisher, row, *tlp).await;
        made.push(Published { indicator, stix_id });
    }
    let mut wrong = Vec::new();
    let mut checked = 0;
    for path in Path::ALL {
        for (row, published) in made.iter().enumerate() {
            let expected_row = path.table()[row].as_bytes();
            for (column, (relationship, caller)) in readers.callers.iter().enumerate() {
                let expected = expected_row[column] == b'Y';
                let got = shows(w, path, caller, published).await;
                checked += 1;
                if got != expected {
                    let (tlp, addressed) = LABELS[row];
                    wrong.push(format!(
                        "{path:?}: {tlp} to {addressed:?}, {relationship:?}: expected {}, got {}",
                        if expected { "shown" } else { "hidden" },
                        if got { "shown" } else { "hidden" },
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the TLP matrix does not hold:\n{}",
        wrong.join("\n")
    );
    assert_eq!(
        checked,
        Path::ALL.len() * LABELS.len() * Relationship::ALL.len()
    );
}

/// PAP on the automatic uses: an export for a block list leaves out what
/// PAP forbids there; exchange and matching take everything TLP allows.
async fn pap_refuses_automatic_block_lists(w: &World) {
    let publisher = w.caller(w.banking.id, Role::IntelAnalyst).await;
    let reader = w.user(w.bank.id, "pap-bank-analyst", Role::Analyst).await;
    let mut made = Vec::new();
    for (pap, _) in PAP_BLOCK_LIST {
        let value = format!("pap-{}.tlp-matrix.example", pap.as_str());
        let indicator = w
            .app
            .intel()
            .create(&publisher, new_indicator(&value, Tlp::Green, pap, vec![]))
            .await
            .unwrap();
        made.push((pap, value, indicator));
    }
    let intel = w.app.intel();
    for usage in [IntelUse::BlockList, IntelUse::Exchange] {
        let (csv, _) = intel.export_csv(&reader, None, usage).await.unwrap();
        let stix = intel
            .export_stix(&reader, None, usage)
            .await
            .unwrap()
            .bundle;
        let misp = misp_export_values(w, &reader, usage).await;
        for ((pap, allowed), (_, value, _)) in PAP_BLOCK_LIST.iter().zip(&made) {
            let expected = usage == IntelUse::Exchange || *allowed;
            let pattern = format!("[domain-name:value = '{value}']");
            let in_stix = stix["objects"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o["pattern"] == pattern.as_str());
            let in_csv = csv
                .lines()
                .any(|l| l.starts_with(&format!("domain,{value},")));
            let in_misp = misp.contains(value);
            assert_eq!(
                (in_stix, in_csv, in_misp),
                (expected, expected, expected),
                "PAP:{} for {usage:?}: (stix, csv, misp)",
                pap.as_str()
            );
        }
    }
    // Matching is passive: PAP:RED is still looked for in the reader's events.
    let usable = intel.usable().await.unwrap();
    let path = intel.tenant_path(w.bank.id).await.unwrap();
    for (pap, _, indicator) in &made {
        let entry = usable
            .iter()
            .find(|u| u.indicator.id == indicator.id)
            .unwrap();
        assert!(
            Intel::tenant_may_use(&path, entry),
            "PAP:{} matching",
            pap.as_str()
        );
    }
}

async fn all(w: &World) {
    every_label_recipient_relationship_and_path(w).await;
    pap_refuses_automatic_block_lists(w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tlp_matrix_holds_on_sqlite() {
    all(&world().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tlp_matrix_holds_on_postgresql() {
    let Some(w) = postgres_world().await else {
        return;
    };
    all(&w).await;
}
