//! Incidents and their coordination end to end through the services, on
//! SQLite and (with `NIGEHBAN_TEST_POSTGRES_URL`) PostgreSQL: reports and
//! triage, escalation up, tasking down, what each party sees at each step,
//! the TLP limits on participants, the workflow, regulatory deadlines with an
//! injected clock, response-time figures against a hand-computed fixture,
//! evidence integrity and custody, links, merges and export.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/incident_world.rs"]
mod incident_world;
#[path = "support/world.rs"]
mod world;

use std::collections::BTreeSet;

use incident_world::{IncidentWorld, minutes};
use nigehban_app::incidents::{MetricsGrouping, MetricsQuery, NewEvidence, Triage};
use nigehban_app::model::{
    IncidentReportId, IncidentResolution, IncidentStatus, NotificationKind, ReportStatus, TaskKind,
    TaskStatus, TenantId, TimelineKind, Tlp,
};
use nigehban_app::policy::IncidentView;
use nigehban_app::{
    AppError, Caller, IncidentListing, IncidentRef, IncidentSight, IncidentUpdate, NewTask,
    NoteAudience, PageRequest, StatusChange, TaskUpdate,
};

/// Runs each scenario once on SQLite and once on PostgreSQL (skipped without a server).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(&super::incident_world::incident_world().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(world) = super::incident_world::postgres_incident_world().await else {
                        return;
                    };
                    super::$name(&world).await;
                }
            )*
        }
    };
}

on_both_backends!(
    a_report_is_triaged_escalated_tasked_and_closed_and_each_party_sees_its_share,
    reports_join_existing_incidents_or_are_rejected_with_a_reason,
    participants_see_what_the_tlp_allows,
    the_workflow_refuses_forbidden_transitions,
    missed_and_nearing_deadlines_raise_notifications_once,
    response_times_equal_the_hand_computed_fixture,
    evidence_round_trips_and_tampering_is_detected_and_audited,
    links_never_reveal_incidents_the_caller_cannot_see,
    exports_hold_exactly_what_the_caller_sees,
);

/// The readable ids of the incidents `caller` lists, with how much it sees of each.
async fn listed(w: &IncidentWorld, caller: &Caller) -> BTreeSet<(String, IncidentView)> {
    w.app
        .incidents()
        .list(caller, IncidentListing::default(), &PageRequest::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|sight| (sight.readable_id().to_string(), sight.view()))
        .collect()
}

fn set(items: &[(&str, IncidentView)]) -> BTreeSet<(String, IncidentView)> {
    items
        .iter()
        .map(|(id, view)| ((*id).to_owned(), *view))
        .collect()
}

async fn fetch(w: &IncidentWorld, caller: &Caller, id: &str) -> Result<IncidentSight, AppError> {
    w.app
        .incidents()
        .get(caller, &id.parse::<IncidentRef>().unwrap())
        .await
}

fn is_not_found<T: std::fmt::Debug>(result: Result<T, AppError>) -> bool {
    matches!(result, Err(AppError::NotFound { .. }))
}

/// Asserts what each caller lists.
async fn check_lists(
    w: &IncidentWorld,
    expected: [(&Caller, BTreeSet<(String, IncidentView)>); 7],
) {
    for (caller, want) in expected {
        assert_eq!(
            listed(w, caller).await,
            want,
            "{:?} in {}",
            caller.role(),
            caller.tenant_id()
        );
    }
}

async fn reports_of(w: &IncidentWorld, caller: &Caller) -> Vec<IncidentReportId> {
    w.app
        .incidents()
        .reports(caller, None, &PageRequest::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|r| r.id)
        .collect()
}

async fn task_titles(w: &IncidentWorld, caller: &Caller) -> Vec<String> {
    w.app
        .incidents()
        .tasks(caller, None, true)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.task.title)
        .collect()
}

async fn a_report_is_triaged_escalated_tasked_and_closed_and_each_party_sees_its_share(
    w: &IncidentWorld,
) {
    use IncidentView::{Full, Participant};
    let incidents = w.app.incidents();
    // 1. The bank's reporter files a report: its sector and the national CERT see it at once.
    let report = incidents
        .file_report(
            &w.bank_reporter,
            w.report("Phishing against online banking", Tlp::Amber),
        )
        .await
        .unwrap();
    assert!(
        report
            .observables
            .iter()
            .any(|o| o.value() == "login-firstbank.example")
    );
    for caller in [&w.bank_reporter, &w.banking_analyst, &w.national_analyst] {
        assert_eq!(reports_of(w, caller).await, vec![report.id]);
    }
    for caller in [&w.sibling_reporter, &w.telecom_analyst, &w.operator_analyst] {
        assert!(reports_of(w, caller).await.is_empty());
        assert!(is_not_found(incidents.report(caller, report.id).await));
    }
    // The reporter cannot triage its own report; a sibling cannot even see it.
    assert!(matches!(
        incidents
            .triage_report(
                &w.bank_analyst,
                report.id,
                IncidentWorld::new_phishing(None)
            )
            .await,
        Err(AppError::Forbidden(_))
    ));
    // 2. The banking CERT triages it into an incident it owns.
    w.advance(20);
    let outcome = incidents
        .triage_report(
            &w.banking_analyst,
            report.id,
            IncidentWorld::new_phishing(None),
        )
        .await
        .unwrap();
    let sight = outcome.incident.unwrap();
    let id = sight.readable_id().to_string();
    assert!(id.starts_with("PK-2026-"), "{id}");
    let ReportStatus::Triaged {
        readable_id,
        new_incident: true,
        ..
    } = &outcome.report.status
    else {
        panic!("{:?}", outcome.report.status)
    };
    assert_eq!(readable_id.to_string(), id);
    let incident = sight.details().unwrap().clone();
    assert_eq!(incident.owner, w.world.banking.id);
    assert_eq!(incident.status, IncidentStatus::Triaged);
    assert_eq!(incident.tlp, Tlp::Amber);
    assert_eq!(incident.regulatory.as_ref().unwrap().profile, "banking");
    assert_eq!(incident.clocks.acknowledged_at, Some(minutes(20)));
    assert!(
        incident
            .observables
            .iter()
            .any(|o| o.value() == "203.0.113.66")
    );
    let none = BTreeSet::new();
    check_lists(
        w,
        [
            (&w.national_analyst, set(&[(&id, Full)])),
            (&w.banking_analyst, set(&[(&id, Full)])),
            (&w.telecom_analyst, none.clone()),
            (&w.bank_reporter, set(&[(&id, Participant)])),
            (&w.bank_analyst, set(&[(&id, Participant)])),
            (&w.sibling_reporter, none.clone()),
            (&w.operator_analyst, none.clone()),
        ],
    )
    .await;
    assert!(matches!(
        fetch(w, &w.national_council, &id).await,
        Err(AppError::Forbidden(_))
    ));
    assert!(is_not_found(fetch(w, &w.sibling_reporter, &id).await));
    // The reporter sees the details but not the other parties.
    let as_reporter = fetch(w, &w.bank_reporter, &id).await.unwrap();
    let details = as_reporter.details().unwrap();
    assert_eq!(details.title, "Phishing against online banking");
    assert_eq!(details.reporting_tenants, vec![w.world.bank.id]);
    assert!(details.assignee.is_none());
    // 3. Banking escalates it to national: national owns it, banking keeps seeing it.
    w.advance(30);
    let escalated = incidents
        .escalate(
            &w.banking_analyst,
            &id.parse().unwrap(),
            Some("cross-sector".into()),
        )
        .await
        .unwrap();
    let escalated = escalated.details().unwrap();
    assert_eq!(escalated.owner, w.world.national.id);
    assert_eq!(escalated.former_owners, vec![w.world.banking.id]);
    assert_eq!(
        fetch(w, &w.banking_analyst, &id).await.unwrap().view(),
        Full
    );
    // Banking is an earlier owner now: it reads and adds notes, it no longer changes the incident.
    assert!(matches!(
        incidents
            .set_status(
                &w.banking_analyst,
                &id.parse().unwrap(),
                StatusChange {
                    status: IncidentStatus::InProgress,
                    resolution: None,
                    note: None
                }
            )
            .await,
        Err(AppError::Forbidden(_))
    ));
    incidents
        .add_note(
            &w.banking_analyst,
            &id.parse().unwrap(),
            "the bank confirms 40 customers",
            NoteAudience::Custody,
        )
        .await
        .unwrap();
    // 4. National tasks the telecom CERT with a countermeasure.
    w.advance(10);
    let task = incidents
        .task(
            &w.national_analyst,
            &id.parse().unwrap(),
            NewTask {
                assignee_tenant: w.world.telecom.id,
                assignee_user: None,
                kind: TaskKind::Countermeasure,
                title: "Block the phishing domain at the resolvers".into(),
                description: "sinkhole login-firstbank.example".into(),
                due_at: Some(minutes(24 * 60)),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        task.incident_title.as_deref(),
        Some("Phishing against online banking")
    );
    check_lists(
        w,
        [
            (&w.national_analyst, set(&[(&id, Full)])),
            (&w.banking_analyst, set(&[(&id, Full)])),
            (&w.telecom_analyst, set(&[(&id, Participant)])),
            (&w.bank_reporter, set(&[(&id, Participant)])),
            (&w.bank_analyst, set(&[(&id, Participant)])),
            (&w.sibling_reporter, none.clone()),
            (&w.operator_analyst, none.clone()),
        ],
    )
    .await;
    assert_eq!(
        task_titles(w, &w.telecom_analyst).await,
        vec!["Block the phishing domain at the resolvers"]
    );
    assert_eq!(task_titles(w, &w.national_analyst).await.len(), 1);
    assert!(
        task_titles(w, &w.operator_analyst).await.is_empty(),
        "not the operator's task"
    );
    assert!(
        task_titles(w, &w.bank_reporter).await.is_empty(),
        "not the bank's task"
    );
    // The telecom CERT sees its task and the details, not the reporter, the bank's note or other parties.
    let as_telecom = fetch(w, &w.telecom_analyst, &id).await.unwrap();
    let details = as_telecom.details().unwrap();
    assert!(
        details.reporting_tenants.is_empty()
            && details.former_owners.is_empty()
            && details.affected_tenants.is_empty()
    );
    assert_eq!(details.tasks.len(), 1);
    let telecom_timeline = incidents
        .timeline(&w.telecom_analyst, &id.parse().unwrap())
        .await
        .unwrap();
    assert!(
        telecom_timeline
            .iter()
            .all(|e| !e.message.contains("40 customers"))
    );
    assert!(
        telecom_timeline
            .iter()
            .any(|e| matches!(e.kind, TimelineKind::Tasked { .. }))
    );
    assert!(
        !incidents
            .timeline(&w.bank_reporter, &id.parse().unwrap())
            .await
            .unwrap()
            .iter()
            .any(|e| matches!(e.kind, TimelineKind::Tasked { .. }))
    );
    // The telecom CERT may not change the incident, nor cancel or re-date its task.
    assert!(matches!(
        incidents
            .update(
                &w.telecom_analyst,
                &id.parse().unwrap(),
                IncidentUpdate {
                    title: Some("x".into()),
                    ..IncidentUpdate::default()
                }
            )
            .await,
        Err(AppError::Forbidden(_))
    ));
    assert!(matches!(
        incidents
            .update_task(
                &w.telecom_analyst,
                &id.parse().unwrap(),
                task.task.id,
                TaskUpdate {
                    status: Some(TaskStatus::Cancelled),
                    ..TaskUpdate::default()
                }
            )
            .await,
        Err(AppError::Forbidden(_))
    ));
    // Nobody else may touch the task.
    for outsider in [&w.operator_analyst, &w.sibling_reporter] {
        assert!(is_not_found(
            incidents
                .update_task(
                    outsider,
                    &id.parse().unwrap(),
                    task.task.id,
                    TaskUpdate {
                        status: Some(TaskStatus::Done),
                        ..TaskUpdate::default()
                    }
                )
                .await
        ));
    }
    // 5. The telecom CERT completes it.
    w.advance(60);
    incidents
        .update_task(
            &w.telecom_analyst,
            &id.parse().unwrap(),
            task.task.id,
            TaskUpdate {
                status: Some(TaskStatus::InProgress),
                ..TaskUpdate::default()
            },
        )
        .await
        .unwrap();
    let done = incidents
        .update_task(
            &w.telecom_analyst,
            &id.parse().unwrap(),
            task.task.id,
            TaskUpdate {
                status: Some(TaskStatus::Done),
                result: Some("sinkholed at all four resolvers".into()),
                ..TaskUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(done.task.status, TaskStatus::Done);
    assert_eq!(done.task.completed_at, Some(minutes(120)));
    let as_national = fetch(w, &w.national_analyst, &id).await.unwrap();
    assert_eq!(
        as_national.details().unwrap().tasks[0].result.as_deref(),
        Some("sinkholed at all four resolvers")
    );
    // 6. National moves it along the workflow and closes it.
    for status in [
        IncidentStatus::InProgress,
        IncidentStatus::Contained,
        IncidentStatus::Eradicated,
        IncidentStatus::Recovered,
        IncidentStatus::Closed,
    ] {
        w.advance(15);
        incidents
            .set_status(
                &w.national_analyst,
                &id.parse().unwrap(),
                StatusChange {
                    status,
                    resolution: None,
                    note: None,
                },
            )
            .await
            .unwrap();
    }
    let closed = fetch(w, &w.bank_reporter, &id).await.unwrap();
    let closed = closed.details().unwrap();
    assert_eq!(
        (closed.status, closed.resolution),
        (IncidentStatus::Closed, Some(IncidentResolution::Resolved))
    );
    assert_eq!(closed.clocks.contained_at, Some(minutes(150)));
    assert_eq!(closed.clocks.closed_at, Some(minutes(195)));
    check_lists(
        w,
        [
            (&w.national_analyst, set(&[(&id, Full)])),
            (&w.banking_analyst, set(&[(&id, Full)])),
            (&w.telecom_analyst, set(&[(&id, Participant)])),
            (&w.bank_reporter, set(&[(&id, Participant)])),
            (&w.bank_analyst, set(&[(&id, Participant)])),
            (&w.sibling_reporter, none.clone()),
            (&w.operator_analyst, none),
        ],
    )
    .await;
    // Every change was audited, and the chain still verifies.
    let audit = w
        .app
        .audit()
        .list(
            &w.national_admin,
            nigehban_app::AuditListing::default(),
            &PageRequest::first(1000),
        )
        .await
        .unwrap();
    let actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "report.create",
        "report.triage",
        "incident.create",
        "incident.escalate",
        "incident.update",
        "record.read",
    ] {
        assert!(
            actions.contains(&action),
            "{action} not audited: {actions:?}"
        );
    }
    assert!(
        w.app
            .audit()
            .verify(&w.national_admin)
            .await
            .unwrap()
            .is_intact()
    );
}

async fn reports_join_existing_incidents_or_are_rejected_with_a_reason(w: &IncidentWorld) {
    let incidents = w.app.incidents();
    let first = incidents
        .file_report(&w.bank_reporter, w.report("Card skimming", Tlp::Green))
        .await
        .unwrap();
    let second = incidents
        .file_report(
            &w.sibling_reporter,
            w.report("Card skimming too", Tlp::AmberStrict),
        )
        .await
        .unwrap();
    let spam = incidents
        .file_report(&w.sibling_reporter, w.report("Newsletter", Tlp::Green))
        .await
        .unwrap();
    let opened = incidents
        .triage_report(
            &w.banking_analyst,
            first.id,
            IncidentWorld::new_phishing(None),
        )
        .await
        .unwrap();
    let id = opened.incident.unwrap().readable_id().clone();
    // The sibling's report joins the same incident: the TLP rises to the report's, both banks are reporters.
    let joined = incidents
        .triage_report(
            &w.banking_analyst,
            second.id,
            Triage::Existing(IncidentRef::Readable(id.clone())),
        )
        .await
        .unwrap();
    let ReportStatus::Triaged {
        readable_id,
        new_incident: false,
        ..
    } = &joined.report.status
    else {
        panic!("{:?}", joined.report.status)
    };
    assert_eq!(readable_id, &id);
    let incident = joined.incident.unwrap();
    let details = incident.details().unwrap();
    assert_eq!(details.tlp, Tlp::AmberStrict);
    assert_eq!(
        details.reporting_tenants,
        vec![w.world.bank.id, w.sibling.id]
    );
    // At AMBER+STRICT each bank sees only enough to follow the handling.
    for reporter in [&w.bank_reporter, &w.sibling_reporter] {
        assert_eq!(
            fetch(w, reporter, &id.to_string()).await.unwrap().view(),
            IncidentView::Limited
        );
    }
    // Lowering the TLP below a report's is refused.
    assert!(matches!(
        incidents
            .update(
                &w.banking_analyst,
                &IncidentRef::Readable(id.clone()),
                IncidentUpdate {
                    tlp: Some(Tlp::Green),
                    ..IncidentUpdate::default()
                }
            )
            .await,
        Err(AppError::Invalid(_))
    ));
    // A rejection carries its reason to the reporter; an empty reason is refused; twice is a conflict.
    assert!(matches!(
        incidents
            .triage_report(
                &w.banking_analyst,
                spam.id,
                Triage::Reject {
                    reason: "  ".into()
                }
            )
            .await,
        Err(AppError::Invalid(_))
    ));
    incidents
        .triage_report(
            &w.banking_analyst,
            spam.id,
            Triage::Reject {
                reason: "marketing e-mail, not an incident".into(),
            },
        )
        .await
        .unwrap();
    let seen = incidents
        .report(&w.sibling_reporter, spam.id)
        .await
        .unwrap();
    assert_eq!(
        seen.status,
        ReportStatus::Rejected {
            reason: "marketing e-mail, not an incident".into()
        }
    );
    assert!(matches!(
        incidents
            .triage_report(
                &w.banking_analyst,
                spam.id,
                IncidentWorld::new_phishing(None)
            )
            .await,
        Err(AppError::Conflict(_))
    ));
    // A telecom analyst can neither see nor triage the banks' reports.
    assert!(is_not_found(
        incidents
            .triage_report(
                &w.telecom_analyst,
                first.id,
                Triage::Reject { reason: "x".into() }
            )
            .await
    ));
}

async fn participants_see_what_the_tlp_allows(w: &IncidentWorld) {
    let incidents = w.app.incidents();
    let mut ids = Vec::new();
    for (title, tlp) in [
        ("clear one", Tlp::Clear),
        ("strict one", Tlp::AmberStrict),
        ("red one", Tlp::Red),
    ] {
        let sight = incidents
            .open(&w.national_analyst, IncidentWorld::open(title, tlp))
            .await
            .unwrap();
        let id = IncidentRef::Id(sight.id());
        incidents
            .task(
                &w.national_analyst,
                &id,
                NewTask {
                    assignee_tenant: w.world.telecom.id,
                    assignee_user: None,
                    kind: TaskKind::Investigation,
                    title: format!("check logs for {title}"),
                    description: String::new(),
                    due_at: None,
                },
            )
            .await
            .unwrap();
        ids.push((sight.readable_id().to_string(), id));
    }
    let listed_by_telecom = listed(w, &w.telecom_analyst).await;
    assert_eq!(
        listed_by_telecom,
        set(&[
            (&ids[0].0, IncidentView::Participant),
            (&ids[1].0, IncidentView::Limited)
        ]),
        "at RED the incident itself is not listed"
    );
    // AMBER+STRICT: the task and handling rules, not what the incident is about.
    let IncidentSight::Limited(limited) = fetch(w, &w.telecom_analyst, &ids[1].0).await.unwrap()
    else {
        panic!("expected the limited view")
    };
    assert_eq!(limited.tasks.len(), 1);
    assert_eq!(limited.tlp, Tlp::AmberStrict);
    let json = serde_json::to_string(&IncidentSight::Limited(limited)).unwrap();
    assert!(!json.contains("strict one seen from"), "{json}");
    assert!(!json.contains("198.51.100.23"), "{json}");
    // RED: not found, but the task is in the inbox, with no incident title.
    assert!(is_not_found(fetch(w, &w.telecom_analyst, &ids[2].0).await));
    let tasks = incidents
        .tasks(&w.telecom_analyst, None, false)
        .await
        .unwrap();
    assert_eq!(tasks.len(), 3);
    let red_task = tasks
        .iter()
        .find(|t| t.readable_id.to_string() == ids[2].0)
        .unwrap();
    assert!(red_task.incident_title.is_none());
    let strict_task = tasks
        .iter()
        .find(|t| t.readable_id.to_string() == ids[1].0)
        .unwrap();
    assert!(strict_task.incident_title.is_none());
    // It can still work on its own task at RED.
    incidents
        .update_task(
            &w.telecom_analyst,
            &ids[2].1,
            red_task.task.id,
            TaskUpdate {
                status: Some(TaskStatus::Done),
                result: Some("nothing found".into()),
                ..TaskUpdate::default()
            },
        )
        .await
        .unwrap();
    // The operator (below telecom, not tasked) sees nothing; neither a sibling sector.
    assert!(listed(w, &w.operator_analyst).await.is_empty());
    assert!(listed(w, &w.banking_analyst).await.is_empty());
    for (id, _) in &ids {
        assert!(is_not_found(fetch(w, &w.banking_analyst, id).await));
    }
    // Administrators and council members never read case files.
    for caller in [&w.national_admin, &w.national_council] {
        assert!(matches!(
            incidents
                .list(caller, IncidentListing::default(), &PageRequest::default())
                .await,
            Err(AppError::Forbidden(_))
        ));
        assert!(matches!(
            fetch(w, caller, &ids[0].0).await,
            Err(AppError::Forbidden(_))
        ));
    }
}

async fn the_workflow_refuses_forbidden_transitions(w: &IncidentWorld) {
    let incidents = w.app.incidents();
    let sight = incidents
        .open(
            &w.banking_analyst,
            IncidentWorld::open("workflow", Tlp::Green),
        )
        .await
        .unwrap();
    let id = IncidentRef::Id(sight.id());
    let to = |status| StatusChange {
        status,
        resolution: None,
        note: None,
    };
    for bad in [
        IncidentStatus::Contained,
        IncidentStatus::Recovered,
        IncidentStatus::New,
    ] {
        let error = incidents
            .set_status(&w.banking_analyst, &id, to(bad))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, AppError::Invalid(m) if m.contains("from new it can go to triaged or closed")),
            "{error}"
        );
    }
    w.advance(5);
    incidents
        .set_status(&w.banking_analyst, &id, to(IncidentStatus::Triaged))
        .await
        .unwrap();
    // Closing as false positive, then reopening, then closing again.
    incidents
        .set_status(
            &w.banking_analyst,
            &id,
            StatusChange {
                status: IncidentStatus::Closed,
                resolution: Some(IncidentResolution::FalsePositive),
                note: Some("scanner of our own".into()),
            },
        )
        .await
        .unwrap();
    assert!(
        incidents
            .set_status(&w.banking_analyst, &id, to(IncidentStatus::Triaged))
            .await
            .is_err()
    );
    let reopened = incidents
        .set_status(&w.banking_analyst, &id, to(IncidentStatus::InProgress))
        .await
        .unwrap();
    let details = reopened.details().unwrap();
    assert_eq!(
        (details.status, details.resolution, details.clocks.closed_at),
        (IncidentStatus::InProgress, None, None)
    );
    assert!(matches!(
        incidents
            .set_status(
                &w.banking_analyst,
                &id,
                StatusChange {
                    status: IncidentStatus::Contained,
                    resolution: Some(IncidentResolution::Resolved),
                    note: None
                }
            )
            .await,
        Err(AppError::Invalid(_))
    ));
    let timeline = incidents.timeline(&w.banking_analyst, &id).await.unwrap();
    let changes: Vec<(IncidentStatus, IncidentStatus)> = timeline
        .iter()
        .filter_map(|e| match e.kind {
            TimelineKind::StatusChanged { from, to } => Some((from, to)),
            _ => None,
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            (IncidentStatus::New, IncidentStatus::Triaged),
            (IncidentStatus::Triaged, IncidentStatus::Closed),
            (IncidentStatus::Closed, IncidentStatus::InProgress),
        ]
    );
    assert_eq!(
        timeline
            .iter()
            .find(|e| matches!(
                e.kind,
                TimelineKind::StatusChanged {
                    to: IncidentStatus::Closed,
                    ..
                }
            ))
            .unwrap()
            .message,
        "scanner of our own"
    );
}

async fn missed_and_nearing_deadlines_raise_notifications_once(w: &IncidentWorld) {
    let incidents = w.app.incidents();
    let report = incidents
        .file_report(
            &w.bank_reporter,
            w.report("Ransomware at the bank", Tlp::Amber),
        )
        .await
        .unwrap();
    w.advance(30);
    let sight = incidents
        .triage_report(
            &w.banking_analyst,
            report.id,
            IncidentWorld::new_phishing(None),
        )
        .await
        .unwrap()
        .incident
        .unwrap();
    let id = IncidentRef::Id(sight.id());
    let clock = sight.details().unwrap().regulatory.clone().unwrap();
    // The banking profile: initial notice 6 h after the bank noticed it, reminder 2 h before.
    assert_eq!(clock.stages[0].stage, "initial_notice");
    assert_eq!(clock.stages[0].due_at, minutes(6 * 60));
    assert!(
        incidents.check_deadlines().await.unwrap().is_empty(),
        "nothing due yet"
    );
    // Four hours after awareness: due soon, to the owner, its parent and the bank that must act.
    w.advance(4 * 60 - 30);
    let raised = incidents.check_deadlines().await.unwrap();
    let recipients: BTreeSet<(TenantId, NotificationKind, String)> = raised
        .iter()
        .map(|n| (n.tenant, n.kind, n.stage.clone()))
        .collect();
    let expect =
        |kind: NotificationKind, stage: &str| -> BTreeSet<(TenantId, NotificationKind, String)> {
            [w.world.banking.id, w.world.national.id, w.world.bank.id]
                .into_iter()
                .map(|t| (t, kind, stage.to_owned()))
                .collect()
        };
    assert_eq!(
        recipients,
        expect(NotificationKind::DeadlineDueSoon, "initial_notice")
    );
    assert!(
        incidents.check_deadlines().await.unwrap().is_empty(),
        "raised once"
    );
    // The bank submits the notice without a required field: refused, naming it.
    let mut fields = serde_json::Map::new();
    fields.insert("summary".into(), "encrypted file servers".into());
    fields.insert(
        "services_affected".into(),
        serde_json::json!(["branch network"]),
    );
    let error = incidents
        .submit_stage(&w.bank_reporter, &id, "initial_notice", fields.clone())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("customers_affected"), "{error}");
    // Past six hours the notice lapses: a lapsed notice for the same three.
    w.advance(2 * 60 + 1);
    let raised = incidents.check_deadlines().await.unwrap();
    let recipients: BTreeSet<_> = raised
        .iter()
        .map(|n| (n.tenant, n.kind, n.stage.clone()))
        .collect();
    assert_eq!(
        recipients,
        expect(NotificationKind::DeadlineLapsed, "initial_notice")
    );
    // Submitted late, it is met late and raises nothing more.
    fields.insert("customers_affected".into(), 1200.into());
    let after = incidents
        .submit_stage(&w.bank_reporter, &id, "initial_notice", fields)
        .await
        .unwrap();
    let stage = &after.details().unwrap().regulatory.as_ref().unwrap().stages[0];
    assert_eq!(stage.submitted_at, Some(minutes(6 * 60 + 1)));
    assert_eq!(
        stage.state(w.app.clock().now()),
        nigehban_app::model::StageState::MetLate
    );
    assert!(matches!(
        incidents
            .submit_stage(
                &w.bank_reporter,
                &id,
                "initial_notice",
                serde_json::Map::new()
            )
            .await,
        Err(AppError::Conflict(_))
    ));
    // A sibling bank cannot submit, nor see the notifications.
    assert!(is_not_found(
        incidents
            .submit_stage(
                &w.sibling_reporter,
                &id,
                "detailed_report",
                serde_json::Map::new()
            )
            .await
    ));
    assert!(incidents.check_deadlines().await.unwrap().is_empty());
    let notes = |caller: &Caller| {
        let caller = caller.clone();
        async move {
            incidents
                .notifications(&caller, None, &PageRequest::default())
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|n| (n.tenant, n.kind))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        notes(&w.bank_reporter).await,
        vec![
            (w.world.bank.id, NotificationKind::DeadlineLapsed),
            (w.world.bank.id, NotificationKind::DeadlineDueSoon)
        ]
    );
    assert!(notes(&w.sibling_reporter).await.is_empty());
    assert!(notes(&w.telecom_analyst).await.is_empty());
    assert_eq!(
        notes(&w.banking_analyst).await.len(),
        4,
        "its own two and the bank's two"
    );
    assert_eq!(notes(&w.national_analyst).await.len(), 6);
    // The timeline says so too, once per notice.
    let timeline = incidents.timeline(&w.banking_analyst, &id).await.unwrap();
    let notices: Vec<NotificationKind> = timeline
        .iter()
        .filter_map(|e| match &e.kind {
            TimelineKind::DeadlineNotice { notice, .. } => Some(*notice),
            _ => None,
        })
        .collect();
    assert_eq!(
        notices,
        vec![
            NotificationKind::DeadlineDueSoon,
            NotificationKind::DeadlineLapsed
        ]
    );
    // A closed incident raises nothing more even as later stages lapse.
    incidents
        .set_status(
            &w.banking_analyst,
            &id,
            StatusChange {
                status: IncidentStatus::Closed,
                resolution: Some(IncidentResolution::Resolved),
                note: None,
            },
        )
        .await
        .unwrap();
    w.advance(30 * 24 * 60);
    assert!(incidents.check_deadlines().await.unwrap().is_empty());
}

async fn response_times_equal_the_hand_computed_fixture(w: &IncidentWorld) {
    let incidents = w.app.incidents();
    let to = |status| StatusChange {
        status,
        resolution: None,
        note: None,
    };
    // A: banking, intrusions, high: received 0, acknowledged 10 (triage), contained 70, closed 190.
    let report = incidents
        .file_report(&w.bank_reporter, w.report("A", Tlp::Amber))
        .await
        .unwrap();
    w.advance(10);
    let a = IncidentRef::Id(
        incidents
            .triage_report(
                &w.banking_analyst,
                report.id,
                Triage::NewIncident {
                    title: None,
                    classification: nigehban_app::model::RsitClass::parse(
                        "intrusions",
                        "system-compromise",
                    )
                    .unwrap(),
                    severity: nigehban_app::model::IncidentSeverity::High,
                    tlp: None,
                    pap: nigehban_app::model::Pap::Amber,
                    regulatory_profile: None,
                },
            )
            .await
            .unwrap()
            .incident
            .unwrap()
            .id(),
    );
    // B: telecom, opened at 20 (received 20), acknowledged 50 by assignment, triaged 80, never contained, closed 140 as false positive.
    w.advance(10);
    let b = IncidentRef::Id(
        incidents
            .open(&w.telecom_analyst, IncidentWorld::open("B", Tlp::Green))
            .await
            .unwrap()
            .id(),
    );
    w.advance(30);
    let telecom_worker = w
        .world
        .user(
            w.world.telecom.id,
            "telecom.worker",
            nigehban_app::model::Role::Analyst,
        )
        .await;
    let worker_id = telecom_worker.user_id().unwrap();
    incidents
        .assign(&w.telecom_analyst, &b, Some(worker_id))
        .await
        .unwrap();
    w.advance(10); // 60
    incidents
        .set_status(&w.banking_analyst, &a, to(IncidentStatus::InProgress))
        .await
        .unwrap();
    w.advance(10); // 70
    incidents
        .set_status(&w.banking_analyst, &a, to(IncidentStatus::Contained))
        .await
        .unwrap();
    w.advance(10); // 80
    incidents
        .set_status(&w.telecom_analyst, &b, to(IncidentStatus::Triaged))
        .await
        .unwrap();
    w.advance(60); // 140
    incidents
        .set_status(
            &w.telecom_analyst,
            &b,
            StatusChange {
                status: IncidentStatus::Closed,
                resolution: Some(IncidentResolution::FalsePositive),
                note: None,
            },
        )
        .await
        .unwrap();
    w.advance(50); // 190
    incidents
        .set_status(
            &w.banking_analyst,
            &a,
            StatusChange {
                status: IncidentStatus::Closed,
                resolution: None,
                note: None,
            },
        )
        .await
        .unwrap();
    // C: banking, opened at 190 directly, never acknowledged.
    incidents
        .open(&w.banking_analyst, IncidentWorld::open("C", Tlp::Green))
        .await
        .unwrap();
    // D: received outside the period (opened after it ends).
    w.advance(24 * 60);
    incidents
        .open(&w.banking_analyst, IncidentWorld::open("D", Tlp::Green))
        .await
        .unwrap();

    let period = |by| MetricsQuery {
        under: None,
        from: minutes(0),
        to: minutes(24 * 60),
        by,
    };
    let m = incidents
        .metrics(&w.national_council, period(MetricsGrouping::Sector))
        .await
        .unwrap();
    // Hand-computed: A: ack 10, triage 10, contain 70, close 190 (minutes). B: ack 30, triage 60, close 120. C: nothing.
    let total = &m.total;
    assert_eq!(
        (
            total.incidents,
            total.acknowledged,
            total.triaged,
            total.contained,
            total.closed
        ),
        (3, 2, 2, 1, 2)
    );
    assert_eq!(total.mtta_seconds, Some(20.0 * 60.0));
    assert_eq!(total.mean_time_to_triage_seconds, Some(35.0 * 60.0));
    assert_eq!(total.mean_time_to_contain_seconds, Some(70.0 * 60.0));
    assert_eq!(total.mttr_seconds, Some(155.0 * 60.0));
    let by_key: Vec<(&str, u64, Option<f64>, Option<f64>)> = m
        .groups
        .iter()
        .map(|g| {
            (
                g.key.as_str(),
                g.figures.incidents,
                g.figures.mtta_seconds,
                g.figures.mttr_seconds,
            )
        })
        .collect();
    assert_eq!(
        by_key,
        vec![
            ("banking", 2, Some(600.0), Some(190.0 * 60.0)),
            ("telecom", 1, Some(1800.0), Some(7200.0))
        ]
    );
    let by_severity = incidents
        .metrics(&w.national_analyst, period(MetricsGrouping::Severity))
        .await
        .unwrap();
    let keys: Vec<(&str, u64)> = by_severity
        .groups
        .iter()
        .map(|g| (g.key.as_str(), g.figures.incidents))
        .collect();
    assert_eq!(keys, vec![("high", 1), ("medium", 2)]);
    let by_class = incidents
        .metrics(&w.national_council, period(MetricsGrouping::RsitClass))
        .await
        .unwrap();
    assert_eq!(by_class.groups.len(), 1);
    assert_eq!(by_class.groups[0].key, "intrusions");
    // Per tenant, with names; the banking CERT sees only its chain's incidents.
    let by_tenant = incidents
        .metrics(&w.national_council, period(MetricsGrouping::Tenant))
        .await
        .unwrap();
    let labels: BTreeSet<&str> = by_tenant.groups.iter().map(|g| g.label.as_str()).collect();
    assert_eq!(labels, BTreeSet::from(["CERT Banking", "CERT Telecom"]));
    let banking_only = incidents
        .metrics(
            &w.banking_analyst,
            MetricsQuery {
                under: None,
                ..period(MetricsGrouping::Tenant)
            },
        )
        .await
        .unwrap();
    assert_eq!(banking_only.total.incidents, 2);
    // Aggregates only: no title, observable or description in the answer.
    let json = serde_json::to_string(&m).unwrap();
    assert!(
        !json.contains("198.51.100.23") && !json.contains("customers were sent"),
        "{json}"
    );
    // Not for reporters or responders; not above one's own tenant.
    assert!(matches!(
        incidents
            .metrics(&w.bank_reporter, period(MetricsGrouping::Sector))
            .await,
        Err(AppError::Forbidden(_))
    ));
    assert!(is_not_found(
        incidents
            .metrics(
                &w.banking_analyst,
                MetricsQuery {
                    under: Some(w.world.national.id),
                    ..period(MetricsGrouping::Sector)
                }
            )
            .await
    ));
    assert!(matches!(
        incidents
            .metrics(
                &w.national_council,
                MetricsQuery {
                    from: minutes(10),
                    to: minutes(10),
                    ..period(MetricsGrouping::Sector)
                }
            )
            .await,
        Err(AppError::Invalid(_))
    ));
}

async fn evidence_round_trips_and_tampering_is_detected_and_audited(w: &IncidentWorld) {
    let incidents = w.app.incidents();
    // The bank attaches a capture to its report; it becomes the incident's evidence at triage.
    let report = incidents
        .file_report(&w.bank_reporter, w.report("Exfiltration", Tlp::Amber))
        .await
        .unwrap();
    let capture: Vec<u8> = b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00"
        .iter()
        .copied()
        .chain((0..100_000u32).map(|n| (n * 7 % 251) as u8))
        .collect();
    let attached = incidents
        .attach_to_report(
            &w.bank_reporter,
            report.id,
            NewEvidence {
                filename: "C:\\captures\\exfil.pcap".into(),
                content_type: "application/vnd.tcpdump.pcap".into(),
                description: "traffic to the drop server".into(),
                content: capture.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(attached.filename.as_str(), "exfil.pcap");
    assert_eq!(
        attached.sha256,
        nigehban_app::model::Sha256Digest::of(&capture)
    );
    assert!(matches!(
        incidents.attach_to_report(&w.bank_reporter, report.id, NewEvidence { filename: "x.png".into(), content_type: "image/png".into(), description: String::new(), content: b"%PDF-1.4".to_vec() }).await,
        Err(AppError::Invalid(m)) if m.contains("image/png")
    ));
    let sight = incidents
        .triage_report(
            &w.banking_analyst,
            report.id,
            IncidentWorld::new_phishing(None),
        )
        .await
        .unwrap()
        .incident
        .unwrap();
    let id = IncidentRef::Id(sight.id());
    let listed = incidents
        .evidence_of_incident(&w.banking_analyst, &id)
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![attached.id]
    );
    let memo = incidents
        .upload_evidence(
            &w.banking_analyst,
            &id,
            NewEvidence {
                filename: "memo.txt".into(),
                content_type: "text/plain; charset=utf-8".into(),
                description: "call notes".into(),
                content: "called the bank at 10:05".into(),
            },
        )
        .await
        .unwrap();
    // Round trip, byte-exact, for those in custody; not for participants or outsiders.
    let download = incidents
        .download_evidence(&w.national_analyst, attached.id)
        .await
        .unwrap();
    assert!(download.content == capture);
    assert!(is_not_found(
        incidents
            .download_evidence(&w.sibling_reporter, attached.id)
            .await
    ));
    assert!(is_not_found(
        incidents
            .download_evidence(&w.telecom_analyst, memo.id)
            .await
    ));
    assert!(
        is_not_found(incidents.download_evidence(&w.bank_reporter, memo.id).await),
        "the incident's own evidence is custody's"
    );
    assert!(matches!(
        incidents.evidence_of_incident(&w.bank_reporter, &id).await,
        Err(AppError::Forbidden(_))
    ));
    // Someone changes the stored bytes behind the platform's back.
    let digest = memo.sha256.to_hex();
    match &w.postgres_url {
        None => {
            let path = w
                .world
                .dir
                .path()
                .join("evidence")
                .join(&digest[..2])
                .join(&digest);
            std::fs::write(&path, b"called the bank at 11:05").unwrap();
        }
        Some(url) => {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            let connection = tokio::spawn(connection);
            client
                .execute(
                    "UPDATE evidence_content SET content = $1 WHERE sha256 = $2",
                    &[&b"called the bank at 11:05".to_vec(), &digest],
                )
                .await
                .unwrap();
            drop(client);
            let _ = connection.await;
        }
    }
    let refused = incidents
        .download_evidence(&w.banking_analyst, memo.id)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, AppError::IntegrityFailure(m) if m.contains("altered") && m.contains(&digest)),
        "{refused}"
    );
    // The untouched file still downloads; the chain of custody holds every access, in order.
    incidents
        .download_evidence(&w.banking_analyst, attached.id)
        .await
        .unwrap();
    let custody = incidents
        .custody(&w.national_analyst, memo.id)
        .await
        .unwrap();
    let actions: Vec<&str> = custody.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "evidence.upload",
            "evidence.integrity_failure",
            "evidence.custody_export"
        ]
    );
    let custody = incidents
        .custody(&w.national_analyst, attached.id)
        .await
        .unwrap();
    let actions: Vec<&str> = custody.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "evidence.upload",
            "evidence.attach",
            "evidence.download",
            "evidence.download",
            "evidence.custody_export"
        ]
    );
    assert!(
        custody
            .entries
            .windows(2)
            .all(|pair| pair[0].seq < pair[1].seq)
    );
    assert!(
        w.app
            .audit()
            .verify(&w.national_admin)
            .await
            .unwrap()
            .is_intact()
    );
}

async fn links_never_reveal_incidents_the_caller_cannot_see(w: &IncidentWorld) {
    let incidents = w.app.incidents();
    let banking = incidents
        .open(
            &w.banking_analyst,
            IncidentWorld::open("bank side", Tlp::Green),
        )
        .await
        .unwrap();
    let telecom = incidents
        .open(
            &w.telecom_analyst,
            IncidentWorld::open("telecom side", Tlp::Green),
        )
        .await
        .unwrap();
    let (b, t) = (IncidentRef::Id(banking.id()), IncidentRef::Id(telecom.id()));
    // The banking CERT cannot link to an incident it cannot see; national can.
    assert!(is_not_found(
        incidents.relate(&w.banking_analyst, &b, &t).await
    ));
    let related = incidents.relate(&w.national_analyst, &b, &t).await.unwrap();
    assert_eq!(related.details().unwrap().related, vec![telecom.id()]);
    // Each sector sees its own incident without the other's id.
    assert!(
        fetch(w, &w.banking_analyst, &banking.readable_id().to_string())
            .await
            .unwrap()
            .details()
            .unwrap()
            .related
            .is_empty()
    );
    assert!(
        fetch(w, &w.telecom_analyst, &telecom.readable_id().to_string())
            .await
            .unwrap()
            .details()
            .unwrap()
            .related
            .is_empty()
    );
    // Merging moves reports and reporters: the bank follows its report into the merged incident.
    let report = incidents
        .file_report(&w.bank_reporter, w.report("duplicate", Tlp::Green))
        .await
        .unwrap();
    let from_report = incidents
        .triage_report(
            &w.banking_analyst,
            report.id,
            IncidentWorld::new_phishing(None),
        )
        .await
        .unwrap()
        .incident
        .unwrap();
    let merged = incidents
        .merge(&w.banking_analyst, &IncidentRef::Id(from_report.id()), &b)
        .await
        .unwrap();
    let details = merged.details().unwrap();
    assert_eq!(details.merged_from, vec![from_report.id()]);
    assert!(details.reporting_tenants.contains(&w.world.bank.id));
    let source = fetch(
        w,
        &w.banking_analyst,
        &from_report.readable_id().to_string(),
    )
    .await
    .unwrap();
    assert_eq!(
        source.details().unwrap().resolution,
        Some(IncidentResolution::Merged)
    );
    let moved = incidents.report(&w.bank_reporter, report.id).await.unwrap();
    assert!(
        matches!(moved.status, ReportStatus::Triaged { incident, .. } if incident == banking.id())
    );
    assert_eq!(
        fetch(w, &w.bank_reporter, &banking.readable_id().to_string())
            .await
            .unwrap()
            .view(),
        IncidentView::Participant
    );
    assert!(matches!(
        incidents
            .merge(&w.banking_analyst, &IncidentRef::Id(from_report.id()), &b)
            .await,
        Err(AppError::Conflict(_))
    ));
}

async fn exports_hold_exactly_what_the_caller_sees(w: &IncidentWorld) {
    let incidents = w.app.incidents();
    let report = incidents
        .file_report(&w.bank_reporter, w.report("Export me", Tlp::Amber))
        .await
        .unwrap();
    let sight = incidents
        .triage_report(
            &w.banking_analyst,
            report.id,
            IncidentWorld::new_phishing(None),
        )
        .await
        .unwrap()
        .incident
        .unwrap();
    let id = IncidentRef::Id(sight.id());
    incidents
        .add_note(
            &w.banking_analyst,
            &id,
            "internal: suspect an insider",
            NoteAudience::Custody,
        )
        .await
        .unwrap();
    incidents
        .add_note(
            &w.banking_analyst,
            &id,
            "please reset customer passwords",
            NoteAudience::Everyone,
        )
        .await
        .unwrap();
    incidents
        .upload_evidence(
            &w.banking_analyst,
            &id,
            NewEvidence {
                filename: "headers.eml".into(),
                content_type: "message/rfc822".into(),
                description: String::new(),
                content: b"Received: from x\r\n\r\nbody".to_vec(),
            },
        )
        .await
        .unwrap();
    let full = incidents.export(&w.banking_analyst, &id).await.unwrap();
    assert_eq!(full.format, "nigehban-incident-export/1");
    assert_eq!(full.evidence.len(), 1);
    assert_eq!(full.reports.len(), 1);
    let json = serde_json::to_value(&full).unwrap();
    assert_eq!(json["incident"]["access"], "full");
    assert_eq!(
        json["incident"]["readable_id"],
        sight.readable_id().to_string()
    );
    let messages: Vec<&str> = full.timeline.iter().map(|e| e.message.as_str()).collect();
    assert!(messages.contains(&"internal: suspect an insider"));
    let summary = nigehban_app::incidents::render_summary(&full);
    assert!(
        summary.starts_with(&format!("# {}: Export me", sight.readable_id())),
        "{summary}"
    );
    for needle in [
        "TLP:AMBER",
        "fraud/phishing",
        "First Bank",
        "## Observables",
        "login-firstbank.example",
        "## Evidence",
        "headers.eml",
        "## Regulatory deadlines",
        "Initial notice",
        "suspect an insider",
    ] {
        assert!(
            summary.contains(needle),
            "{needle} missing from:\n{summary}"
        );
    }
    // The reporter's export: the details and the shared note, not custody's note or evidence.
    let partial = incidents.export(&w.bank_reporter, &id).await.unwrap();
    assert!(partial.evidence.is_empty());
    let text = serde_json::to_string(&partial).unwrap();
    assert!(text.contains("please reset customer passwords"));
    assert!(!text.contains("suspect an insider"), "{text}");
    assert!(!nigehban_app::incidents::render_summary(&partial).contains("suspect an insider"));
    assert!(is_not_found(
        incidents.export(&w.sibling_reporter, &id).await
    ));
}
