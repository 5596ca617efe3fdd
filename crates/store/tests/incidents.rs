//! The storage conformance suite for incidents and coordination: every test
//! runs against SQLite and PostgreSQL (see `conformance.rs` for how
//! PostgreSQL is found). Evidence content is one storage interface with two
//! backends (files in the data directory, a `bytea` table): this suite is
//! what makes a backend supported.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
#[path = "conformance/harness.rs"]
#[allow(dead_code)] // the sensor helpers serve the other suite
mod harness;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use harness::{TestBackend, ctx, tree};
use nigehban_model::{
    Actor, Audience, AuditAction, Evidence, EvidenceFileName, EvidenceId, Incident, IncidentClocks,
    IncidentId, IncidentNotification, IncidentNotificationId, IncidentReport, IncidentReportId,
    IncidentSeverity, IncidentStatus, IncidentTask, IncidentTaskId, NotificationKind, Pap,
    ReadableId, ReadableIdPrefix, ReportStatus, RsitClass, Sha256Digest, TaskKind, TaskStatus,
    TenantId, TimelineEntry, TimelineEntryId, TimelineKind, Timestamp, Tlp,
};
use nigehban_store::{
    AuditAfter, AuditNote, EvidenceOf, IncidentScope, IncidentWrite, NewIncident, PageRequest,
    Store, StoreError,
};
use sha2::Digest as _;

conformance_tests!(
    readable_ids_count_per_year_from_one,
    readable_ids_are_never_handed_out_twice_under_concurrency,
    a_change_made_against_an_older_version_is_refused_whole,
    incidents_are_listed_by_any_stakeholder_in_a_subtree,
    reports_are_filed_and_triaged_into_the_incident_they_open,
    the_timeline_is_append_only_and_in_order,
    evidence_round_trips_byte_exact_under_its_sha256,
    evidence_altered_behind_the_store_reads_back_altered,
    notifications_are_raised_once_and_never_changed,
);

/// 2026-03-15T10:00:00Z plus `hours`.
fn at(hours: u64) -> Timestamp {
    Timestamp::from_unix_micros(1_773_568_800_000_000).plus(Duration::from_secs(hours * 3600))
}

fn actor(tenant: TenantId) -> Actor {
    Actor {
        tenant: Some(tenant),
        ..ctx().actor
    }
}

fn prefix() -> ReadableIdPrefix {
    ReadableIdPrefix::parse("PK").unwrap()
}

/// An incident of `owner` opened at `created`, not yet numbered.
fn incident(store: &dyn Store, owner: TenantId, created: Timestamp, title: &str) -> Incident {
    Incident {
        id: IncidentId::new(),
        instance: store.instance(),
        readable_id: ReadableId::new(&prefix(), 1970, 0),
        owner,
        former_owners: Vec::new(),
        reporting_tenants: Vec::new(),
        reports: Vec::new(),
        title: title.to_owned(),
        description: "seen on the edge firewall".to_owned(),
        classification: RsitClass::parse("intrusions", "system-compromise").unwrap(),
        severity: IncidentSeverity::High,
        tlp: Tlp::Amber,
        pap: Pap::Amber,
        status: IncidentStatus::New,
        resolution: None,
        assignee: None,
        affected_tenants: Vec::new(),
        observables: Vec::new(),
        tasks: Vec::new(),
        related: Vec::new(),
        merged_into: None,
        merged_from: Vec::new(),
        linked_alerts: Vec::new(),
        regulatory: None,
        clocks: IncidentClocks::new(created, created),
        origin_sector: None,
        created_by: actor(owner),
        created_at: created,
        updated_at: created,
        version: 0,
    }
}

async fn open(store: &dyn Store, incident: Incident) -> Incident {
    store
        .write_incidents(
            IncidentWrite {
                open: Some(NewIncident {
                    incident,
                    prefix: prefix(),
                }),
                ..IncidentWrite::default()
            },
            &ctx(),
        )
        .await
        .unwrap()
        .opened
        .unwrap()
}

fn note(incident: &Incident, text: &str) -> TimelineEntry {
    TimelineEntry {
        id: TimelineEntryId::new(),
        incident: incident.id,
        at: Timestamp::now(),
        actor: actor(incident.owner),
        audience: Audience::Everyone,
        kind: TimelineKind::Note,
        message: text.to_owned(),
    }
}

async fn readable_ids_count_per_year_from_one(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let mut numbered = Vec::new();
    for hours in [0, 1, 2] {
        numbered.push(open(store, incident(store, tree.banking.id, at(hours), "wave")).await);
    }
    let next_year = open(
        store,
        incident(store, tree.telecom.id, at(24 * 366), "new year"),
    )
    .await;
    let ids: Vec<String> = numbered.iter().map(|i| i.readable_id.to_string()).collect();
    assert_eq!(ids, ["PK-2026-000001", "PK-2026-000002", "PK-2026-000003"]);
    assert_eq!(next_year.readable_id.to_string(), "PK-2027-000001");
    assert!(numbered.iter().all(|i| i.version == 1));
    let found = store
        .incident_by_readable_id(&"PK-2026-000002".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, numbered[1]);
    assert_eq!(
        store.incident(numbered[1].id).await.unwrap().unwrap(),
        numbered[1]
    );
    assert!(store.incident(IncidentId::new()).await.unwrap().is_none());
    // Opening is audited with the readable id it got.
    let audit = store
        .audit_of_record("incident", &numbered[2].id.to_string())
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, AuditAction::INCIDENT_CREATE);
    assert_eq!(audit[0].tenant, tree.banking.id);
    assert_eq!(
        audit[0].after.as_ref().unwrap().value()["readable_id"],
        "PK-2026-000003"
    );
    assert!(store.verify_audit().await.unwrap().is_intact());
}

async fn readable_ids_are_never_handed_out_twice_under_concurrency(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    // A second handle on the same database, as a second API node would have.
    let other: Arc<dyn Store> = backend.reopen().await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..24u64 {
        let handle: Arc<dyn Store> = if n % 2 == 0 {
            backend.reopen().await
        } else {
            Arc::clone(&other)
        };
        let fresh = incident(
            handle.as_ref(),
            tree.bank.id,
            at(n % 3),
            &format!("burst {n}"),
        );
        tasks.spawn(async move { open(handle.as_ref(), fresh).await });
    }
    let mut numbers = BTreeSet::new();
    while let Some(opened) = tasks.join_next().await {
        let opened = opened.unwrap();
        assert_eq!(opened.readable_id.year(), 2026);
        assert!(
            numbers.insert(opened.readable_id.number()),
            "{} twice",
            opened.readable_id
        );
    }
    assert_eq!(numbers, (1..=24).collect::<BTreeSet<u64>>());
}

async fn a_change_made_against_an_older_version_is_refused_whole(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let opened = open(store, incident(store, tree.banking.id, at(0), "ransomware")).await;
    let mut first = opened.clone();
    first.status = IncidentStatus::Triaged;
    let written = store
        .write_incidents(
            IncidentWrite {
                incidents: vec![first],
                timeline: vec![note(&opened, "triaged")],
                ..IncidentWrite::default()
            },
            &ctx(),
        )
        .await
        .unwrap();
    assert_eq!(written.incidents[0].version, 2);
    // A second change made from the version both read: refused, with nothing of it written.
    let mut second = opened.clone();
    second.title = "overwritten".into();
    let refused = store
        .write_incidents(
            IncidentWrite {
                incidents: vec![second],
                timeline: vec![note(&opened, "lost")],
                audit: vec![AuditNote {
                    tenant: tree.banking.id,
                    action: AuditAction::INCIDENT_UPDATE,
                    record_kind: "incident",
                    record_id: opened.id.to_string(),
                    before: None,
                    after: AuditAfter::Record,
                }],
                ..IncidentWrite::default()
            },
            &ctx(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            StoreError::Stale {
                kind: "incident",
                ..
            }
        ),
        "{refused}"
    );
    let stored = store.incident(opened.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.title.as_str(), stored.status, stored.version),
        ("ransomware", IncidentStatus::Triaged, 2)
    );
    let timeline = store.incident_timeline(opened.id).await.unwrap();
    assert_eq!(
        timeline
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>(),
        ["triaged"]
    );
    assert_eq!(
        store
            .audit_of_record("incident", &opened.id.to_string())
            .await
            .unwrap()
            .len(),
        1
    );
    // An unknown incident is not found, and a tenant that does not exist is refused.
    let ghost = incident(store, tree.bank.id, at(0), "ghost");
    let missing = store
        .write_incidents(
            IncidentWrite {
                incidents: vec![ghost],
                ..IncidentWrite::default()
            },
            &ctx(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            missing,
            StoreError::NotFound {
                kind: "incident",
                ..
            }
        ),
        "{missing}"
    );
    let mut elsewhere = incident(store, tree.bank.id, at(0), "elsewhere");
    elsewhere.affected_tenants.push(TenantId::new());
    elsewhere.tasks.push(task(TenantId::new(), tree.bank.id));
    let unknown = store
        .write_incidents(
            IncidentWrite {
                open: Some(NewIncident {
                    incident: elsewhere,
                    prefix: prefix(),
                }),
                ..IncidentWrite::default()
            },
            &ctx(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, StoreError::NotFound { kind: "tenant", .. }),
        "{unknown}"
    );
}

fn task(assignee: TenantId, by: TenantId) -> IncidentTask {
    IncidentTask {
        id: IncidentTaskId::new(),
        tasked_by: by,
        assignee_tenant: assignee,
        assignee_user: None,
        kind: TaskKind::Countermeasure,
        title: "block the C2 address".into(),
        description: String::new(),
        status: TaskStatus::Open,
        due_at: Some(at(48)),
        result: None,
        created_by: actor(by),
        created_at: at(1),
        updated_at: at(1),
        completed_at: None,
    }
}

async fn incidents_are_listed_by_any_stakeholder_in_a_subtree(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    // Owned by the bank; escalated from the bank to banking; tasking the operator; reported by the bank.
    let at_bank = open(store, incident(store, tree.bank.id, at(0), "at bank")).await;
    let mut escalated = incident(store, tree.banking.id, at(1), "escalated");
    escalated.former_owners.push(tree.bank.id);
    let escalated = open(store, escalated).await;
    let mut tasking = incident(store, tree.national.id, at(2), "tasking");
    tasking.tasks.push(task(tree.operator.id, tree.national.id));
    let tasking = open(store, tasking).await;
    let mut reported = incident(store, tree.telecom.id, at(3), "reported");
    reported.reporting_tenants.push(tree.bank.id);
    let mut reported = open(store, reported).await;
    let titles = |page: nigehban_store::Page<Incident>| {
        page.items.into_iter().map(|i| i.title).collect::<Vec<_>>()
    };
    let list = |tenant: TenantId| async move {
        store
            .list_incidents(IncidentScope::Touching(tenant), &PageRequest::default())
            .await
            .unwrap()
    };
    // Newest first.
    assert_eq!(
        titles(list(tree.national.id).await),
        ["reported", "tasking", "escalated", "at bank"]
    );
    assert_eq!(
        titles(list(tree.banking.id).await),
        ["reported", "escalated", "at bank"]
    );
    assert_eq!(
        titles(list(tree.bank.id).await),
        ["reported", "escalated", "at bank"]
    );
    assert_eq!(titles(list(tree.telecom.id).await), ["reported", "tasking"]);
    assert_eq!(titles(list(tree.operator.id).await), ["tasking"]);
    // Pages go through everything once.
    let first = store
        .list_incidents(
            IncidentScope::Touching(tree.national.id),
            &PageRequest::first(3),
        )
        .await
        .unwrap();
    let rest = store
        .list_incidents(
            IncidentScope::Touching(tree.national.id),
            &PageRequest::after(first.next.clone().unwrap(), 3),
        )
        .await
        .unwrap();
    assert_eq!(titles(first), ["reported", "tasking", "escalated"]);
    assert_eq!(rest.next, None);
    assert_eq!(titles(rest), ["at bank"]);
    // The stakeholder index follows changes: the report's organisation no longer listed, closed ones not open.
    reported.reporting_tenants.clear();
    reported.status = IncidentStatus::Closed;
    store
        .write_incidents(
            IncidentWrite {
                incidents: vec![reported],
                ..IncidentWrite::default()
            },
            &ctx(),
        )
        .await
        .unwrap();
    assert_eq!(titles(list(tree.bank.id).await), ["escalated", "at bank"]);
    let open_ones = store
        .list_incidents(IncidentScope::Open, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(titles(open_ones), ["tasking", "escalated", "at bank"]);
    let _ = (at_bank, escalated, tasking);
    assert!(
        store
            .list_incidents(
                IncidentScope::Open,
                &PageRequest::after(nigehban_store::Cursor::from_client("bogus"), 5)
            )
            .await
            .is_err()
    );
}

fn report(store: &dyn Store, tenant: TenantId, title: &str) -> IncidentReport {
    IncidentReport {
        id: IncidentReportId::new(),
        instance: store.instance(),
        tenant,
        reported_by: actor(tenant),
        title: title.to_owned(),
        description: "customers received fake login pages".into(),
        noticed_at: at(0),
        occurred_at: None,
        affected_systems: vec!["online banking".into()],
        observables: Vec::new(),
        tlp: Tlp::AmberStrict,
        status: ReportStatus::Submitted,
        triaged_by: None,
        triaged_at: None,
        created_at: at(1),
        updated_at: at(1),
        version: 0,
    }
}

async fn reports_are_filed_and_triaged_into_the_incident_they_open(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let filed = report(store, tree.bank.id, "phishing");
    let other = report(store, tree.operator.id, "outage");
    let written = store
        .write_incidents(
            IncidentWrite {
                new_reports: vec![filed.clone(), other.clone()],
                ..IncidentWrite::default()
            },
            &ctx(),
        )
        .await
        .unwrap();
    assert!(written.reports.iter().all(|r| r.version == 1));
    let stored = store.incident_report(filed.id).await.unwrap().unwrap();
    assert_eq!(stored.title, "phishing");
    let banking = store
        .list_incident_reports(tree.banking.id, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        banking.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![filed.id]
    );
    let national = store
        .list_incident_reports(tree.national.id, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        national.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![other.id, filed.id]
    );
    // Triage into a new incident in one write: the report learns the readable id storage gave.
    let mut fresh = incident(store, tree.banking.id, at(2), "phishing wave");
    fresh.reporting_tenants.push(tree.bank.id);
    fresh.reports.push(filed.id);
    let mut triaged = stored.clone();
    triaged.status = ReportStatus::Triaged {
        incident: fresh.id,
        readable_id: fresh.readable_id.clone(),
        new_incident: true,
    };
    triaged.triaged_by = Some(tree.banking.id);
    let written = store
        .write_incidents(
            IncidentWrite {
                open: Some(NewIncident {
                    incident: fresh.clone(),
                    prefix: prefix(),
                }),
                reports: vec![triaged],
                audit: vec![AuditNote {
                    tenant: tree.bank.id,
                    action: AuditAction::REPORT_TRIAGE,
                    record_kind: "incident_report",
                    record_id: filed.id.to_string(),
                    before: Some(serde_json::to_value(&stored).unwrap()),
                    after: AuditAfter::Record,
                }],
                ..IncidentWrite::default()
            },
            &ctx(),
        )
        .await
        .unwrap();
    let opened = written.opened.unwrap();
    let after = store.incident_report(filed.id).await.unwrap().unwrap();
    assert_eq!(after.version, 2);
    match &after.status {
        ReportStatus::Triaged {
            incident,
            readable_id,
            new_incident,
        } => {
            assert_eq!(
                (*incident, readable_id, *new_incident),
                (opened.id, &opened.readable_id, true)
            );
        }
        other => panic!("{other:?}"),
    }
    let audit = store
        .audit_of_record("incident_report", &filed.id.to_string())
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        audit[0].after.as_ref().unwrap().value()["readable_id"],
        opened.readable_id.to_string()
    );
    assert_eq!(
        audit[0].before.as_ref().unwrap().value()["status"],
        "submitted"
    );
    // A triage made from the report as it was first read is refused.
    let mut late = stored;
    late.status = ReportStatus::Rejected {
        reason: "duplicate".into(),
    };
    let refused = store
        .write_incidents(
            IncidentWrite {
                reports: vec![late],
                ..IncidentWrite::default()
            },
            &ctx(),
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::Stale { .. }), "{refused}");
}

async fn the_timeline_is_append_only_and_in_order(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let opened = open(store, incident(store, tree.telecom.id, at(0), "ddos")).await;
    let entries: Vec<TimelineEntry> = (0..5)
        .map(|n| note(&opened, &format!("note {n}")))
        .collect();
    // Written in two changes; read back in the order written.
    store
        .write_incidents(
            IncidentWrite {
                timeline: entries[..2].to_vec(),
                ..IncidentWrite::default()
            },
            &ctx(),
        )
        .await
        .unwrap();
    store
        .write_incidents(
            IncidentWrite {
                timeline: entries[2..].to_vec(),
                ..IncidentWrite::default()
            },
            &ctx(),
        )
        .await
        .unwrap();
    assert_eq!(store.incident_timeline(opened.id).await.unwrap(), entries);
    assert!(
        store
            .incident_timeline(IncidentId::new())
            .await
            .unwrap()
            .is_empty()
    );
    let id = entries[0].id;
    for sql in [
        format!("UPDATE incident_timeline SET document = '{{}}' WHERE id = '{id}'"),
        format!("DELETE FROM incident_timeline WHERE id = '{id}'"),
    ] {
        assert!(!backend.try_raw(&sql).await, "{sql} was allowed");
    }
    assert_eq!(store.incident_timeline(opened.id).await.unwrap(), entries);
}

fn evidence(
    store: &dyn Store,
    tenant: TenantId,
    incident: Option<IncidentId>,
    report: Option<IncidentReportId>,
    digest: Sha256Digest,
    size: u64,
) -> Evidence {
    Evidence {
        id: EvidenceId::new(),
        instance: store.instance(),
        tenant,
        incident,
        report,
        sha256: digest,
        size,
        filename: EvidenceFileName::parse("capture.pcap").unwrap(),
        content_type: "application/vnd.tcpdump.pcap".into(),
        description: "traffic to the C2".into(),
        uploaded_by: actor(tenant),
        uploaded_at: at(3),
    }
}

/// Bytes of every value, and a large pseudo-random body.
fn samples() -> Vec<Vec<u8>> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let large: Vec<u8> = (0..3 * 1024 * 1024 + 17)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();
    vec![
        Vec::new(),
        (0..=255u8).collect(),
        b"MZ\x90\x00 not really a program\r\n\x00".to_vec(),
        large,
    ]
}

async fn evidence_round_trips_byte_exact_under_its_sha256(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let opened = open(store, incident(store, tree.bank.id, at(0), "malware")).await;
    let filed = report(store, tree.bank.id, "malware seen");
    store
        .write_incidents(
            IncidentWrite {
                new_reports: vec![filed.clone()],
                ..IncidentWrite::default()
            },
            &ctx(),
        )
        .await
        .unwrap();
    let mut records = Vec::new();
    for content in samples() {
        let digest = store.put_evidence_content(content.clone()).await.unwrap();
        let independent: [u8; 32] = sha2::Sha256::digest(&content).into();
        assert_eq!(digest.as_bytes(), &independent);
        // Kept once: a second put of the same bytes is the same digest.
        assert_eq!(
            store.put_evidence_content(content.clone()).await.unwrap(),
            digest
        );
        let back = store.evidence_content(digest).await.unwrap().unwrap();
        assert!(
            back == content,
            "{} bytes came back different",
            content.len()
        );
        records.push(evidence(
            store,
            tree.bank.id,
            Some(opened.id),
            None,
            digest,
            content.len() as u64,
        ));
    }
    let with_report = evidence(
        store,
        tree.bank.id,
        None,
        Some(filed.id),
        records[1].sha256,
        256,
    );
    let mut write = IncidentWrite {
        new_evidence: records.clone(),
        ..IncidentWrite::default()
    };
    write.new_evidence.push(with_report.clone());
    write.audit.push(AuditNote {
        tenant: tree.bank.id,
        action: AuditAction::EVIDENCE_UPLOAD,
        record_kind: "evidence",
        record_id: records[0].id.to_string(),
        before: None,
        after: AuditAfter::Record,
    });
    store.write_incidents(write, &ctx()).await.unwrap();
    assert_eq!(
        store
            .list_evidence(EvidenceOf::Incident(opened.id))
            .await
            .unwrap(),
        records
    );
    assert_eq!(
        store
            .list_evidence(EvidenceOf::Report(filed.id))
            .await
            .unwrap(),
        vec![with_report.clone()]
    );
    assert_eq!(
        store.evidence(records[2].id).await.unwrap().unwrap(),
        records[2]
    );
    // Attached to the incident later (its report triaged): the record moves, the content stays.
    let mut attached = with_report.clone();
    attached.incident = Some(opened.id);
    store
        .write_incidents(
            IncidentWrite {
                evidence: vec![attached.clone()],
                ..IncidentWrite::default()
            },
            &ctx(),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .list_evidence(EvidenceOf::Incident(opened.id))
            .await
            .unwrap()
            .len(),
        5
    );
    let custody = store
        .audit_of_record("evidence", &records[0].id.to_string())
        .await
        .unwrap();
    assert_eq!(custody.len(), 1);
    assert_eq!(custody[0].action, AuditAction::EVIDENCE_UPLOAD);
    assert_eq!(
        custody[0].after.as_ref().unwrap().value()["sha256"],
        records[0].sha256.to_hex()
    );
    assert!(
        store
            .evidence_content(Sha256Digest::of(b"never stored"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.evidence(EvidenceId::new()).await.unwrap().is_none());
}

async fn evidence_altered_behind_the_store_reads_back_altered(backend: &TestBackend) {
    let store = backend.store();
    let original = b"GET /wp-login.php HTTP/1.1\r\nHost: bank.example\r\n\r\n".to_vec();
    let digest = store.put_evidence_content(original.clone()).await.unwrap();
    // Someone with access to the data directory or the database changes the bytes.
    match backend {
        TestBackend::Sqlite(_, dir) => {
            let hex = digest.to_hex();
            let path = dir.path().join("evidence").join(&hex[..2]).join(&hex);
            let mut bytes = std::fs::read(&path).unwrap();
            assert_eq!(bytes, original, "stored as is, under its digest");
            bytes[4] ^= 0x20;
            std::fs::write(&path, bytes).unwrap();
        }
        TestBackend::Postgres(..) => {
            backend
                .raw(&format!(
                    "UPDATE evidence_content SET content = overlay(content placing '\\x00'::bytea from 5 for 1) WHERE sha256 = '{}'",
                    digest.to_hex()
                ))
                .await;
        }
    }
    let read = store.evidence_content(digest).await.unwrap().unwrap();
    assert_eq!(read.len(), original.len());
    assert_ne!(read, original);
    assert_ne!(
        Sha256Digest::of(&read),
        digest,
        "the store must return what it holds, not mask the change"
    );
    // Putting the same content again does not silently repair or hide it.
    store.put_evidence_content(original.clone()).await.unwrap();
    assert_ne!(
        store.evidence_content(digest).await.unwrap().unwrap(),
        original
    );
}

async fn notifications_are_raised_once_and_never_changed(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let opened = open(store, incident(store, tree.banking.id, at(0), "deadline")).await;
    let notice = |tenant: TenantId, kind: NotificationKind| IncidentNotification {
        id: IncidentNotificationId::new(),
        instance: store.instance(),
        tenant,
        incident: opened.id,
        readable_id: opened.readable_id.clone(),
        kind,
        stage: "early_warning".into(),
        due_at: at(24),
        raised_at: at(20),
        message: "early warning due".into(),
    };
    let first = vec![
        notice(tree.banking.id, NotificationKind::DeadlineDueSoon),
        notice(tree.national.id, NotificationKind::DeadlineDueSoon),
    ];
    assert_eq!(
        store
            .insert_incident_notifications(first.clone())
            .await
            .unwrap(),
        first
    );
    // Raised again (another sweep, another node): nothing new.
    let again = vec![
        notice(tree.banking.id, NotificationKind::DeadlineDueSoon),
        notice(tree.banking.id, NotificationKind::DeadlineLapsed),
    ];
    let inserted = store
        .insert_incident_notifications(again.clone())
        .await
        .unwrap();
    assert_eq!(inserted, vec![again[1].clone()]);
    let banking = store
        .list_incident_notifications(tree.banking.id, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        banking.items.iter().map(|n| n.kind).collect::<Vec<_>>(),
        [
            NotificationKind::DeadlineLapsed,
            NotificationKind::DeadlineDueSoon
        ]
    );
    let national = store
        .list_incident_notifications(tree.national.id, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(national.items.len(), 3);
    assert!(
        store
            .list_incident_notifications(tree.bank.id, &PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let id = first[0].id;
    assert!(
        !backend
            .try_raw(&format!(
                "DELETE FROM incident_notifications WHERE id = '{id}'"
            ))
            .await
    );
    assert!(
        !backend
            .try_raw(&format!(
                "UPDATE incident_notifications SET stage = 'x' WHERE id = '{id}'"
            ))
            .await
    );
    let unknown = store
        .insert_incident_notifications(vec![notice(
            TenantId::new(),
            NotificationKind::DeadlineLapsed,
        )])
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, StoreError::NotFound { kind: "tenant", .. }),
        "{unknown}"
    );
}
