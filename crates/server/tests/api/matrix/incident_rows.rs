//! The matrix's incident rows: every incident endpoint (reports, triage,
//! incidents, tasks, evidence, deadlines, alerts to incidents, similar
//! incidents, export, figures) × every role × every relation, on records
//! made fresh in the relation's tenant by the national CERT's analyst.
//!
//! The tree rule holds for incidents as for every record: an incident,
//! report or evidence file of the caller's tenant or one below it is the
//! caller's custody; one of an ancestor, a sibling or an unrelated tenant is
//! "not found" (the matrix gives nobody a participant's stake, which
//! `incidents.rs` covers party by party). What a role may do there is
//! written from PRODUCT.md below. Lists are checked for contents: an
//! incident list holds the incident seeded in the tenant asked for and
//! nothing without a stakeholder in its subtree; similar incidents are only
//! incidents the caller handles, although every seeded incident — the
//! sibling's and the unrelated tenant's too — shares an address with the
//! one asked about.

use axum::http::{Method, StatusCode};
use nigehban_app::model::{
    AlertRule, AlertSignal, IncidentSeverity, Pap, Role, RsitClass, Severity, TaskKind, Tenant,
    Timestamp, Tlp,
};
use nigehban_app::{Caller, IncidentRef, NewTask, OpenIncident};
use serde_json::{Value, json};

use super::{CREATED, Case, Level, N, O, OK, Reach, Row, S, Scope, Tree, uuid_suffix};
use crate::harness::Answer;

/// One incident operation of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IncidentCase {
    ListIncidents,
    OpenIncident,
    OpenIncidentFromAlert,
    GetIncident,
    UpdateIncident,
    SetStatus,
    Assign,
    AddObservables,
    AddNote,
    Timeline,
    Escalate,
    GiveTask,
    UpdateTask,
    ListTasks,
    Relate,
    Merge,
    SubmitStage,
    Export,
    ListNotifications,
    Metrics,
    RegulatoryProfiles,
    UploadEvidence,
    ListEvidence,
    GetEvidence,
    DownloadEvidence,
    EvidenceCustody,
    FileReport,
    ListReports,
    GetReport,
    TriageReport,
    AttachToReport,
    ReportAttachments,
    LinkAlerts,
    SimilarIncidents,
}

//                            admin analyst resp intel duty  report council audit
/// Those who handle incidents and the organisations' reporters read them.
const VIEW_INCIDENTS: [Reach; 8] = [N, S, S, S, S, S, N, N];
/// Analysts, responders and duty officers of the custody change them.
const WORK_INCIDENTS: [Reach; 8] = [N, S, S, N, S, N, N, N];
/// Reporters write to their own organisation's; the CERT's workers anywhere below.
const REPORT_INCIDENTS: [Reach; 8] = [N, S, S, N, S, O, N, N];
/// A CERT triages the reports of the organisations below it, never its own.
const TRIAGE_REPORTS: [Reach; 8] = [N, Reach::B, Reach::B, N, Reach::B, N, N, N];
/// Response-time figures are aggregates: the council reads them, reporters and responders do not.
const INCIDENT_FIGURES: [Reach; 8] = [S, S, N, S, S, N, S, S];

const fn row(
    method: &'static str,
    path: &'static str,
    case: IncidentCase,
    scope: Scope,
    success: StatusCode,
) -> Row {
    Row {
        method,
        path,
        case: Case::Incident(case),
        scope,
        success,
        token_refused: false,
    }
}

use IncidentCase as I;
use Scope::Tenant as T;

/// The incident rows, apart from the lead's rows so both can grow without clashing.
#[rustfmt::skip]
pub(super) const ROWS: &[Row] = &[
    row("POST",  "/api/v1/reports",                             I::FileReport,            T(REPORT_INCIDENTS), CREATED),
    row("GET",   "/api/v1/reports",                             I::ListReports,           T(VIEW_INCIDENTS),   OK),
    row("GET",   "/api/v1/reports/{id}",                        I::GetReport,             T(VIEW_INCIDENTS),   OK),
    row("POST",  "/api/v1/reports/{id}/triage",                 I::TriageReport,          T(TRIAGE_REPORTS),   OK),
    row("POST",  "/api/v1/reports/{id}/attachments",            I::AttachToReport,        T(REPORT_INCIDENTS), CREATED),
    row("GET",   "/api/v1/reports/{id}/attachments",            I::ReportAttachments,     T(VIEW_INCIDENTS),   OK),
    row("POST",  "/api/v1/incidents",                           I::OpenIncident,          T(WORK_INCIDENTS),   CREATED),
    row("POST",  "/api/v1/incidents",                           I::OpenIncidentFromAlert, T(WORK_INCIDENTS),   CREATED),
    row("GET",   "/api/v1/incidents",                           I::ListIncidents,         T(VIEW_INCIDENTS),   OK),
    row("GET",   "/api/v1/incidents/{id}",                      I::GetIncident,           T(VIEW_INCIDENTS),   OK),
    row("PATCH", "/api/v1/incidents/{id}",                      I::UpdateIncident,        T(WORK_INCIDENTS),   OK),
    row("POST",  "/api/v1/incidents/{id}/status",               I::SetStatus,             T(WORK_INCIDENTS),   OK),
    row("POST",  "/api/v1/incidents/{id}/assign",               I::Assign,                T(WORK_INCIDENTS),   OK),
    row("POST",  "/api/v1/incidents/{id}/observables",          I::AddObservables,        T(WORK_INCIDENTS),   OK),
    row("POST",  "/api/v1/incidents/{id}/notes",                I::AddNote,               T(REPORT_INCIDENTS), CREATED),
    row("GET",   "/api/v1/incidents/{id}/timeline",             I::Timeline,              T(VIEW_INCIDENTS),   OK),
    row("POST",  "/api/v1/incidents/{id}/escalate",             I::Escalate,              T(WORK_INCIDENTS),   OK),
    row("POST",  "/api/v1/incidents/{id}/tasks",                I::GiveTask,              T(WORK_INCIDENTS),   CREATED),
    row("PATCH", "/api/v1/incidents/{id}/tasks/{task}",         I::UpdateTask,            T(WORK_INCIDENTS),   OK),
    row("GET",   "/api/v1/tasks",                               I::ListTasks,             T(VIEW_INCIDENTS),   OK),
    row("POST",  "/api/v1/incidents/{id}/related",              I::Relate,                T(WORK_INCIDENTS),   OK),
    row("POST",  "/api/v1/incidents/{id}/merge",                I::Merge,                 T(WORK_INCIDENTS),   OK),
    row("POST",  "/api/v1/incidents/{id}/deadlines/{stage}",    I::SubmitStage,           T(WORK_INCIDENTS),   OK),
    row("GET",   "/api/v1/incidents/{id}/export",               I::Export,                T(VIEW_INCIDENTS),   OK),
    row("POST",  "/api/v1/incidents/{id}/evidence",             I::UploadEvidence,        T(WORK_INCIDENTS),   CREATED),
    row("GET",   "/api/v1/incidents/{id}/evidence",             I::ListEvidence,          T(VIEW_INCIDENTS),   OK),
    row("GET",   "/api/v1/evidence/{id}",                       I::GetEvidence,           T(VIEW_INCIDENTS),   OK),
    row("GET",   "/api/v1/evidence/{id}/content",               I::DownloadEvidence,      T(VIEW_INCIDENTS),   OK),
    row("GET",   "/api/v1/evidence/{id}/custody",               I::EvidenceCustody,       T(VIEW_INCIDENTS),   OK),
    row("POST",  "/api/v1/incidents/{id}/alerts",               I::LinkAlerts,            T(WORK_INCIDENTS),   OK),
    row("GET",   "/api/v1/incidents/{id}/similar",              I::SimilarIncidents,      T(VIEW_INCIDENTS),   OK),
    row("GET",   "/api/v1/notifications",                       I::ListNotifications,     T(VIEW_INCIDENTS),   OK),
    row("GET",   "/api/v1/metrics/incidents",                   I::Metrics,               T(INCIDENT_FIGURES), OK),
    row("GET",   "/api/v1/regulatory-profiles",                 I::RegulatoryProfiles,    Scope::Caller,       OK),
];

/// The address every matrix incident holds, so that every one is "similar" to every other.
const PROBE_IP: &str = "192.0.2.55";

/// The national CERT's analyst, who makes the records the rows act on.
async fn maker(tree: &Tree) -> Caller {
    let credentials = &tree.in_national[&Role::Analyst];
    tree.platform
        .app
        .auth()
        .session(&credentials.cookie, None)
        .await
        .unwrap()
        .caller
}

/// A fresh incident owned by `tenant`, holding [`PROBE_IP`].
async fn incident(tree: &Tree, tenant: &Tenant) -> String {
    let sight = tree
        .platform
        .app
        .incidents()
        .open(
            &maker(tree).await,
            OpenIncident {
                owner: Some(tenant.id),
                title: format!("matrix incident {}", uuid_suffix()),
                description: format!("beacons to {PROBE_IP}"),
                classification: RsitClass::parse("intrusions", "system-compromise").unwrap(),
                severity: IncidentSeverity::Medium,
                tlp: Tlp::Amber,
                pap: Pap::Amber,
                aware_at: None,
                affected_tenants: Vec::new(),
                observables: Vec::new(),
                regulatory_profile: None,
                alerts: Vec::new(),
            },
        )
        .await
        .unwrap();
    sight.id().to_string()
}

/// Seeds one incident in every tenant of the tree, so lists have something to leak.
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
        incident(tree, tenant).await;
    }
}

/// A fresh alert of `tenant`.
async fn alert(tree: &Tree, tenant: &Tenant) -> String {
    let unique = uuid_suffix();
    let mut signal = AlertSignal::new(
        tenant.id,
        AlertRule::new(format!("matrix-{unique}"), "Matrix probe", Severity::Medium),
        format!("event-{unique}"),
        Timestamp::now(),
    );
    signal
        .matched_fields
        .insert("DestinationIp".into(), json!(PROBE_IP));
    let outcome = tree
        .platform
        .app
        .alerts()
        .raise(vec![signal])
        .await
        .unwrap();
    outcome.alerts[0].unwrap().to_string()
}

/// A fresh report of `tenant`, filed by the national CERT on its behalf.
async fn report(tree: &Tree, tenant: &Tenant) -> String {
    tree.platform
        .app
        .incidents()
        .file_report(
            &maker(tree).await,
            nigehban_app::incidents::NewReport {
                tenant: Some(tenant.id),
                title: format!("matrix report {}", uuid_suffix()),
                description: format!("connections to {PROBE_IP}"),
                noticed_at: Timestamp::now(),
                occurred_at: None,
                affected_systems: Vec::new(),
                observables: Vec::new(),
                tlp: Tlp::Amber,
            },
        )
        .await
        .unwrap()
        .id
        .to_string()
}

/// A fresh evidence file on a fresh incident of `tenant`.
async fn evidence(tree: &Tree, tenant: &Tenant) -> String {
    let incident = incident(tree, tenant).await;
    tree.platform
        .app
        .incidents()
        .upload_evidence(
            &maker(tree).await,
            &incident.parse::<IncidentRef>().unwrap(),
            nigehban_app::incidents::NewEvidence {
                filename: "notes.txt".into(),
                content_type: "text/plain".into(),
                description: "matrix evidence".into(),
                content: b"matrix evidence".to_vec(),
            },
        )
        .await
        .unwrap()
        .id
        .to_string()
}

/// The request of an incident row for a target in `tenant` (the relation's).
pub(super) async fn request(
    tree: &Tree,
    case: IncidentCase,
    tenant: &Tenant,
) -> (Method, String, Option<Value>) {
    let on_incident =
        |suffix: &str, incident: String| format!("/api/v1/incidents/{incident}{suffix}");
    let classification = json!({"class": "intrusions", "type": "system-compromise"});
    match case {
        I::ListIncidents => (
            Method::GET,
            format!("/api/v1/incidents?under={}&limit=1000", tenant.id),
            None,
        ),
        I::OpenIncident => (
            Method::POST,
            "/api/v1/incidents".into(),
            Some(
                json!({"owner": tenant.id, "title": "matrix", "classification": classification, "severity": "low"}),
            ),
        ),
        I::OpenIncidentFromAlert => {
            let alert = alert(tree, tenant).await;
            (
                Method::POST,
                "/api/v1/incidents".into(),
                Some(
                    json!({"owner": tenant.id, "title": "matrix", "classification": classification, "severity": "low", "alerts": [alert]}),
                ),
            )
        }
        I::GetIncident => (
            Method::GET,
            on_incident("", incident(tree, tenant).await),
            None,
        ),
        I::UpdateIncident => (
            Method::PATCH,
            on_incident("", incident(tree, tenant).await),
            Some(json!({"title": "matrix (renamed)"})),
        ),
        I::SetStatus => (
            Method::POST,
            on_incident("/status", incident(tree, tenant).await),
            Some(json!({"status": "triaged"})),
        ),
        I::Assign => (
            Method::POST,
            on_incident("/assign", incident(tree, tenant).await),
            Some(json!({"assignee": null})),
        ),
        I::AddObservables => (
            Method::POST,
            on_incident("/observables", incident(tree, tenant).await),
            Some(json!({"observables": [{"kind": "domain", "value": "matrix.example"}]})),
        ),
        I::AddNote => (
            Method::POST,
            on_incident("/notes", incident(tree, tenant).await),
            Some(json!({"text": "matrix note"})),
        ),
        I::Timeline => (
            Method::GET,
            on_incident("/timeline", incident(tree, tenant).await),
            None,
        ),
        I::Escalate => (
            Method::POST,
            on_incident("/escalate", incident(tree, tenant).await),
            Some(json!({})),
        ),
        I::GiveTask => (
            Method::POST,
            on_incident("/tasks", incident(tree, tenant).await),
            Some(
                json!({"assignee_tenant": tenant.id, "kind": "investigation", "title": "check the logs"}),
            ),
        ),
        I::UpdateTask => {
            let incident = incident(tree, tenant).await;
            let task = tree
                .platform
                .app
                .incidents()
                .task(
                    &maker(tree).await,
                    &incident.parse::<IncidentRef>().unwrap(),
                    NewTask {
                        assignee_tenant: tenant.id,
                        assignee_user: None,
                        kind: TaskKind::Investigation,
                        title: "check the logs".into(),
                        description: String::new(),
                        due_at: None,
                    },
                )
                .await
                .unwrap();
            (
                Method::PATCH,
                on_incident(&format!("/tasks/{}", task.task.id), incident),
                Some(json!({"status": "in_progress"})),
            )
        }
        I::ListTasks => (
            Method::GET,
            format!("/api/v1/tasks?under={}", tenant.id),
            None,
        ),
        I::Relate => {
            let other = incident(tree, tenant).await;
            (
                Method::POST,
                on_incident("/related", incident(tree, tenant).await),
                Some(json!({"incident": other})),
            )
        }
        I::Merge => {
            let into = incident(tree, tenant).await;
            (
                Method::POST,
                on_incident("/merge", incident(tree, tenant).await),
                Some(json!({"into": into})),
            )
        }
        I::SubmitStage => (
            // Every allowed target lies in the telecom sector, whose profile starts with an early warning.
            Method::POST,
            on_incident("/deadlines/early_warning", incident(tree, tenant).await),
            Some(json!({"fields": {"suspected_malicious": true, "cross_border_impact": false}})),
        ),
        I::Export => (
            Method::GET,
            on_incident("/export", incident(tree, tenant).await),
            None,
        ),
        I::ListNotifications => (
            Method::GET,
            format!("/api/v1/notifications?under={}", tenant.id),
            None,
        ),
        I::Metrics => (
            Method::GET,
            format!("/api/v1/metrics/incidents?under={}", tenant.id),
            None,
        ),
        I::RegulatoryProfiles => (Method::GET, "/api/v1/regulatory-profiles".into(), None),
        I::UploadEvidence => (
            Method::POST,
            on_incident("/evidence?filename=notes.txt", incident(tree, tenant).await),
            Some(Value::String("matrix evidence".into())),
        ),
        I::ListEvidence => (
            Method::GET,
            on_incident("/evidence", incident(tree, tenant).await),
            None,
        ),
        I::GetEvidence => (
            Method::GET,
            format!("/api/v1/evidence/{}", evidence(tree, tenant).await),
            None,
        ),
        I::DownloadEvidence => (
            Method::GET,
            format!("/api/v1/evidence/{}/content", evidence(tree, tenant).await),
            None,
        ),
        I::EvidenceCustody => (
            Method::GET,
            format!("/api/v1/evidence/{}/custody", evidence(tree, tenant).await),
            None,
        ),
        I::FileReport => (
            Method::POST,
            "/api/v1/reports".into(),
            Some(
                json!({"tenant": tenant.id, "title": "matrix report", "noticed_at": Timestamp::now().to_rfc3339()}),
            ),
        ),
        I::ListReports => (
            Method::GET,
            format!("/api/v1/reports?under={}", tenant.id),
            None,
        ),
        I::GetReport => (
            Method::GET,
            format!("/api/v1/reports/{}", report(tree, tenant).await),
            None,
        ),
        I::TriageReport => (
            Method::POST,
            format!("/api/v1/reports/{}/triage", report(tree, tenant).await),
            Some(json!({"decision": "reject", "reason": "matrix probe"})),
        ),
        I::AttachToReport => (
            Method::POST,
            format!(
                "/api/v1/reports/{}/attachments?filename=notes.txt",
                report(tree, tenant).await
            ),
            Some(Value::String("matrix attachment".into())),
        ),
        I::ReportAttachments => (
            Method::GET,
            format!("/api/v1/reports/{}/attachments", report(tree, tenant).await),
            None,
        ),
        I::LinkAlerts => {
            let alert = alert(tree, tenant).await;
            (
                Method::POST,
                on_incident("/alerts", incident(tree, tenant).await),
                Some(json!({"alerts": [alert]})),
            )
        }
        I::SimilarIncidents => (
            Method::GET,
            on_incident("/similar", incident(tree, tenant).await),
            None,
        ),
    }
}

/// The tenants with a stake in an incident as answered: owner, earlier
/// owners, reporting organisations and tasked tenants.
fn stakeholders(incident: &Value) -> Vec<String> {
    let mut found: Vec<String> = incident["owner"]
        .as_str()
        .map(str::to_owned)
        .into_iter()
        .collect();
    for field in ["former_owners", "reporting_tenants"] {
        found.extend(
            incident[field]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str().map(str::to_owned)),
        );
    }
    found.extend(
        incident["tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["assignee_tenant"].as_str().map(str::to_owned)),
    );
    found
}

/// Checks what an allowed answer of an incident row holds; `None` when it holds.
pub(super) async fn check_content(
    tree: &Tree,
    case: IncidentCase,
    level: Level,
    target: &Tenant,
    uri: &str,
    answer: &Answer,
) -> Option<String> {
    let json = &answer.json;
    let path = uri.split('?').next().unwrap_or(uri);
    let asked = path.split('/').nth(4).map(str::to_owned);
    let inside = |tenants: Vec<String>, of: String| async move {
        for tenant in tenants {
            if tree.path(&tenant).await.contains(&of) {
                return true;
            }
        }
        false
    };
    match case {
        I::GetIncident
        | I::UpdateIncident
        | I::SetStatus
        | I::Assign
        | I::AddObservables
        | I::Escalate => (json["id"].as_str().map(str::to_owned) != asked)
            .then(|| format!("answered incident {} when {asked:?} was asked", json["id"])),
        I::GetReport | I::GetEvidence => (json["id"].as_str().map(str::to_owned) != asked)
            .then(|| format!("answered record {} when {asked:?} was asked", json["id"])),
        I::ListIncidents => {
            let items = json["items"].as_array()?;
            let target_id = target.id.to_string();
            let mut outside = Vec::new();
            for item in items {
                if !inside(stakeholders(item), target_id.clone()).await {
                    outside.push(item["readable_id"].clone());
                }
            }
            if !outside.is_empty() {
                return Some(format!(
                    "incidents with no stakeholder under {target_id}: {outside:?}"
                ));
            }
            // The incident seeded in the tenant is there.
            (!items.iter().any(|item| item["owner"] == target_id.as_str()))
                .then(|| format!("the list under {target_id} lacks the tenant's own incidents"))
        }
        I::SimilarIncidents => {
            let items = json["items"].as_array()?;
            let own = tree.own(level).id.to_string();
            let mut outside = Vec::new();
            for item in items {
                if !inside(stakeholders(&item["incident"]), own.clone()).await {
                    outside.push(item["incident"]["readable_id"].clone());
                }
            }
            if !outside.is_empty() {
                return Some(format!(
                    "similar incidents the caller does not handle: {outside:?}"
                ));
            }
            // The incidents seeded at and below the caller's tenant share the address.
            items
                .is_empty()
                .then(|| "no similar incident, though the caller's own share the address".into())
        }
        I::ListReports | I::ListNotifications => {
            let items = json["items"].as_array()?;
            let target_id = target.id.to_string();
            let mut outside = Vec::new();
            for item in items {
                let tenant = item["tenant"].as_str().unwrap_or_default().to_owned();
                if !inside(vec![tenant.clone()], target_id.clone()).await {
                    outside.push(tenant);
                }
            }
            (!outside.is_empty())
                .then(|| format!("items of tenants outside {target_id}: {outside:?}"))
        }
        I::ListTasks => {
            let items = json["items"].as_array()?;
            let target_id = target.id.to_string();
            let mut outside = Vec::new();
            for item in items {
                let tenants: Vec<String> = ["assignee_tenant", "tasked_by"]
                    .iter()
                    .filter_map(|f| item[*f].as_str().map(str::to_owned))
                    .collect();
                if !inside(tenants, target_id.clone()).await {
                    outside.push(item["readable_id"].clone());
                }
            }
            (!outside.is_empty()).then(|| format!("tasks outside {target_id}: {outside:?}"))
        }
        I::ListEvidence => {
            let items = json["items"].as_array()?;
            let stray: Vec<&Value> = items
                .iter()
                .filter(|item| item["incident"].as_str().map(str::to_owned) != asked)
                .collect();
            (!stray.is_empty()).then(|| format!("evidence of other incidents: {stray:?}"))
        }
        I::DownloadEvidence => (answer.text != "matrix evidence")
            .then(|| format!("downloaded {:?}, not the file uploaded", answer.text)),
        I::LinkAlerts | I::OpenIncidentFromAlert => {
            let observables = json["observables"].as_array()?;
            (!observables.iter().any(|o| o["value"] == PROBE_IP)).then(|| {
                format!(
                    "the alert's address is not among the observables: {}",
                    answer.text
                )
            })
        }
        _ => None,
    }
}
