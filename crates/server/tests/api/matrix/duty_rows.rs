//! The matrix's duty roster rows: every on-call endpoint × every role ×
//! every relation, on schedules and holiday calendars made fresh in the
//! relation's tenant by the national CERT's administrator.
//!
//! Rosters follow the tree like every record: a schedule or calendar of the
//! caller's tenant or one below it is visible; one of an ancestor, a sibling
//! or an unrelated tenant is "not found". Those who work the watch read
//! rosters (administrators, analysts, responders, intel analysts, duty
//! officers, auditors); administrators and duty officers change them. Lists
//! are checked for contents: every item lies in the subtree asked about, and
//! the schedule seeded in the tenant asked about is there.
//!
//! Paging follows the same tree: escalation policies, contacts, pages, the
//! delivery log and hand-overs are read by those who work the watch; policies,
//! test pages and hand-overs for someone else are for administrators and duty
//! officers; pages are acknowledged by those who can be on call. Everyone sets
//! their own contact methods; the signed link acknowledges without signing in.

use axum::http::{Method, StatusCode};
use nigehban_app::model::duty::jiff::civil::date;
use nigehban_app::model::duty::{Layer, Rotation, Schedule, ShiftPattern};
use nigehban_app::model::{Role, Tenant};
use nigehban_app::{Caller, ScheduleDocument};
use serde_json::{Value, json};

use super::{CREATED, Case, Level, N, NO_CONTENT, OK, Reach, Row, S, Scope, Tree, uuid_suffix};
use crate::harness::Answer;

/// One duty operation of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DutyCase {
    OnCallNow,
    ListSchedules,
    CreateSchedule,
    GetSchedule,
    UpdateSchedule,
    DeleteSchedule,
    Shifts,
    Ledger,
    Coverage,
    ListCalendars,
    ImportCalendar,
    GetCalendar,
    CorrectHoliday,
    FeedSecret,
    Feed,
    ListPolicies,
    CreatePolicy,
    GetPolicy,
    UpdatePolicy,
    DeletePolicy,
    ListContacts,
    SetContacts,
    TestPage,
    ListPages,
    GetPage,
    AcknowledgePage,
    ShowLink,
    UseLink,
    ListNotifications,
    ListHandovers,
    WriteHandover,
    AcknowledgeHandover,
}

//                         admin analyst resp intel duty  report council audit
/// Those who work the watch read rosters; reporters and the council do not.
const VIEW_ROSTER: [Reach; 8] = [S, S, S, S, S, N, N, S];
/// Administrators and duty officers change them.
const MANAGE_ROSTER: [Reach; 8] = [S, N, N, N, S, N, N, N];
/// Those who can be on call acknowledge pages.
const ACKNOWLEDGE: [Reach; 8] = [S, S, S, S, S, N, N, N];

const fn row(
    method: &'static str,
    path: &'static str,
    case: DutyCase,
    scope: Scope,
    success: StatusCode,
) -> Row {
    Row {
        method,
        path,
        case: Case::Duty(case),
        scope,
        success,
        token_refused: false,
    }
}

use DutyCase as D;
use Scope::Tenant as T;

/// The duty rows.
#[rustfmt::skip]
pub(super) const ROWS: &[Row] = &[
    row("GET",    "/api/v1/oncall/now",                      D::OnCallNow,      T(VIEW_ROSTER),   OK),
    row("GET",    "/api/v1/oncall/schedules",                D::ListSchedules,  T(VIEW_ROSTER),   OK),
    row("POST",   "/api/v1/oncall/schedules",                D::CreateSchedule, T(MANAGE_ROSTER), CREATED),
    row("GET",    "/api/v1/oncall/schedules/{id}",           D::GetSchedule,    T(VIEW_ROSTER),   OK),
    row("PUT",    "/api/v1/oncall/schedules/{id}",           D::UpdateSchedule, T(MANAGE_ROSTER), OK),
    row("DELETE", "/api/v1/oncall/schedules/{id}",           D::DeleteSchedule, T(MANAGE_ROSTER), NO_CONTENT),
    row("GET",    "/api/v1/oncall/schedules/{id}/shifts",    D::Shifts,         T(VIEW_ROSTER),   OK),
    row("GET",    "/api/v1/oncall/schedules/{id}/ledger",    D::Ledger,         T(VIEW_ROSTER),   OK),
    row("GET",    "/api/v1/oncall/coverage",                 D::Coverage,       T(VIEW_ROSTER),   OK),
    row("GET",    "/api/v1/oncall/calendars",                D::ListCalendars,  T(VIEW_ROSTER),   OK),
    row("POST",   "/api/v1/oncall/calendars/import",         D::ImportCalendar, T(MANAGE_ROSTER), OK),
    row("GET",    "/api/v1/oncall/calendars/{id}",           D::GetCalendar,    T(VIEW_ROSTER),   OK),
    row("POST",   "/api/v1/oncall/calendars/{id}/holidays",  D::CorrectHoliday, T(MANAGE_ROSTER), OK),
    row("POST",   "/api/v1/oncall/feed-secret",              D::FeedSecret,     Scope::Caller,    CREATED),
    row("GET",    "/api/v1/oncall/feed/{secret}",            D::Feed,           Scope::Public,    OK),
    row("GET",    "/api/v1/oncall/policies",                 D::ListPolicies,   T(VIEW_ROSTER),   OK),
    row("POST",   "/api/v1/oncall/policies",                 D::CreatePolicy,   T(MANAGE_ROSTER), CREATED),
    row("GET",    "/api/v1/oncall/policies/{id}",            D::GetPolicy,      T(VIEW_ROSTER),   OK),
    row("PUT",    "/api/v1/oncall/policies/{id}",            D::UpdatePolicy,   T(MANAGE_ROSTER), OK),
    row("DELETE", "/api/v1/oncall/policies/{id}",            D::DeletePolicy,   T(MANAGE_ROSTER), NO_CONTENT),
    row("GET",    "/api/v1/oncall/contacts",                 D::ListContacts,   T(VIEW_ROSTER),   OK),
    row("PUT",    "/api/v1/oncall/contacts",                 D::SetContacts,    Scope::Caller,    OK),
    row("POST",   "/api/v1/oncall/test-page",                D::TestPage,       T(MANAGE_ROSTER), CREATED),
    row("GET",    "/api/v1/oncall/pages",                    D::ListPages,      T(VIEW_ROSTER),   OK),
    row("GET",    "/api/v1/oncall/pages/{id}",               D::GetPage,        T(VIEW_ROSTER),   OK),
    row("POST",   "/api/v1/oncall/pages/{id}/acknowledge",   D::AcknowledgePage, T(ACKNOWLEDGE),  OK),
    row("GET",    "/api/v1/oncall/ack/{token}",              D::ShowLink,       Scope::Public,    OK),
    row("POST",   "/api/v1/oncall/ack/{token}",              D::UseLink,        Scope::Public,    OK),
    row("GET",    "/api/v1/oncall/notifications",            D::ListNotifications, T(VIEW_ROSTER), OK),
    row("GET",    "/api/v1/oncall/handovers",                D::ListHandovers,  T(VIEW_ROSTER),   OK),
    row("POST",   "/api/v1/oncall/handovers",                D::WriteHandover,  T(MANAGE_ROSTER), CREATED),
    row("POST",   "/api/v1/oncall/handovers/{id}/acknowledge", D::AcknowledgeHandover, T(MANAGE_ROSTER), OK),
];

const ICAL: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Nigehban test data//matrix//EN\r\nBEGIN:VEVENT\r\nUID:matrix-day@test\r\nDTSTART;VALUE=DATE:20270323\r\nSUMMARY:Matrix Day\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

/// The national CERT's administrator, who makes the records the rows act on.
async fn maker(tree: &Tree) -> Caller {
    let credentials = &tree.in_national[&Role::Administrator];
    tree.platform
        .app
        .auth()
        .session(&credentials.cookie, None)
        .await
        .unwrap()
        .caller
}

/// A roster naming the tenant, so a shift tells whose schedule answered.
fn roster(tenant: &Tenant) -> Schedule {
    let person = format!("duty-{}", tenant.id);
    Schedule::new(vec![Layer {
        name: "primary".into(),
        priority: 0,
        rotation: Rotation {
            participants: vec![person],
            start: date(2020, 1, 1),
            pattern: ShiftPattern::Daily {
                handoffs: vec!["08:00".parse().unwrap(), "20:00".parse().unwrap()],
            },
        },
    }])
}

/// A fresh schedule of `tenant`.
async fn schedule(tree: &Tree, tenant: &Tenant) -> String {
    tree.platform
        .app
        .duty()
        .create_schedule(
            &maker(tree).await,
            tenant.id,
            &format!("matrix schedule {}", uuid_suffix()),
            ScheduleDocument {
                team: "soc".into(),
                roster: roster(tenant),
                calendars: Vec::new(),
            },
        )
        .await
        .unwrap()
        .id
        .to_string()
}

/// A fresh holiday calendar of `tenant`.
async fn calendar(tree: &Tree, tenant: &Tenant) -> String {
    tree.platform
        .app
        .duty()
        .import_holidays(
            &maker(tree).await,
            tenant.id,
            &format!("matrix calendar {}", uuid_suffix()),
            "Pakistan",
            ICAL,
        )
        .await
        .unwrap()
        .calendar
        .id
        .to_string()
}

/// Seeds one schedule and one calendar in every tenant of the tree.
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
        let schedule_id = schedule(tree, tenant).await;
        calendar(tree, tenant).await;
        policy(tree, tenant).await;
        page(tree, tenant).await;
        handover(tree, &schedule_id).await;
        contact(tree, tenant).await;
    }
}

/// A fresh escalation policy of `tenant`: page the tenant's on-call people.
async fn policy(tree: &Tree, tenant: &Tenant) -> String {
    tree.platform
        .app
        .duty()
        .create_policy(
            &maker(tree).await,
            tenant.id,
            &format!("matrix policy {}", uuid_suffix()),
            serde_json::from_value(policy_body(tenant, None)).unwrap(),
        )
        .await
        .unwrap()
        .id
        .to_string()
}

fn policy_body(tenant: &Tenant, version: Option<u64>) -> Value {
    json!({
        "tenant": tenant.id,
        "version": version,
        "name": format!("matrix {}", uuid_suffix()),
        "severities": ["critical"],
        "steps": [{"notify": [{"kind": "team", "team": "soc"}], "wait_minutes": 10}],
    })
}

/// A fresh test page of `tenant` (its step 1 notifies the roster's person,
/// who has no account: a failed notification in the tenant's delivery log).
async fn page(tree: &Tree, tenant: &Tenant) -> String {
    tree.platform
        .app
        .duty()
        .test_page(&maker(tree).await, tenant.id, "high", Some("matrix drill"))
        .await
        .unwrap()
        .id
        .to_string()
}

/// The signed acknowledgement link of a fresh page of the sectoral CERT, as a path.
async fn link(tree: &Tree) -> String {
    let app = &tree.platform.app;
    let page = page(tree, &tree.sector_a).await;
    let notification = app
        .duty()
        .notifications(&maker(tree).await, Some(tree.sector_a.id))
        .await
        .unwrap()
        .into_iter()
        .find(|n| n.state.page.to_string() == page)
        .unwrap();
    let url = app
        .duty()
        .notification_link(&app.operator(None).await.unwrap(), notification.id)
        .await
        .unwrap();
    format!("/api/v1/oncall/ack/{}", url.rsplit('/').next().unwrap())
}

/// A fresh hand-over on a schedule, written by the national CERT's administrator.
async fn handover(tree: &Tree, schedule: &str) -> String {
    tree.platform
        .app
        .duty()
        .write_handover(&maker(tree).await, schedule.parse().unwrap(), "all quiet")
        .await
        .unwrap()
        .id
        .to_string()
}

/// Contact methods for a fresh person of `tenant`.
async fn contact(tree: &Tree, tenant: &Tenant) {
    let name = format!("oncall-{}", uuid_suffix());
    let app = &tree.platform.app;
    app.users()
        .create(
            &maker(tree).await,
            nigehban_app::NewUser {
                tenant: tenant.id,
                username: nigehban_app::model::Username::parse(&name).unwrap(),
                display_name: nigehban_app::model::DisplayName::parse("On call").unwrap(),
                role: Role::Analyst,
                password: None,
            },
        )
        .await
        .unwrap();
    app.duty()
        .set_contacts(
            &maker(tree).await,
            Some(&name),
            vec![nigehban_app::ContactMethod::Email {
                address: format!("{name}@cert.example.pk"),
            }],
        )
        .await
        .unwrap();
}

fn schedule_body(tenant: &Tenant, version: Option<u64>) -> Value {
    json!({
        "tenant": tenant.id,
        "version": version,
        "name": format!("matrix {}", uuid_suffix()),
        "team": "soc",
        "roster": serde_json::to_value(roster(tenant)).unwrap(),
    })
}

/// The request of a duty row for a target in `tenant` (the relation's).
pub(super) async fn request(
    tree: &Tree,
    case: DutyCase,
    tenant: &Tenant,
) -> (Method, String, Option<Value>) {
    let on_schedule = |suffix: &str, id: String| format!("/api/v1/oncall/schedules/{id}{suffix}");
    match case {
        D::OnCallNow => (
            Method::GET,
            format!("/api/v1/oncall/now?tenant={}", tenant.id),
            None,
        ),
        D::ListSchedules => (
            Method::GET,
            format!("/api/v1/oncall/schedules?tenant={}", tenant.id),
            None,
        ),
        D::CreateSchedule => (
            Method::POST,
            "/api/v1/oncall/schedules".into(),
            Some(schedule_body(tenant, None)),
        ),
        D::GetSchedule => (
            Method::GET,
            on_schedule("", schedule(tree, tenant).await),
            None,
        ),
        D::UpdateSchedule => (
            Method::PUT,
            on_schedule("", schedule(tree, tenant).await),
            Some(schedule_body(tenant, Some(1))),
        ),
        D::DeleteSchedule => (
            Method::DELETE,
            on_schedule("", schedule(tree, tenant).await),
            None,
        ),
        D::Shifts => (
            Method::GET,
            on_schedule(
                "/shifts?from=2027-01-01T00:00:00Z&to=2027-01-02T00:00:00Z",
                schedule(tree, tenant).await,
            ),
            None,
        ),
        D::Ledger => (
            Method::GET,
            on_schedule("/ledger?year=2027", schedule(tree, tenant).await),
            None,
        ),
        D::Coverage => (
            Method::GET,
            format!("/api/v1/oncall/coverage?tenant={}&weeks=1", tenant.id),
            None,
        ),
        D::ListCalendars => (
            Method::GET,
            format!("/api/v1/oncall/calendars?tenant={}", tenant.id),
            None,
        ),
        D::ImportCalendar => (
            Method::POST,
            "/api/v1/oncall/calendars/import".into(),
            Some(
                json!({"tenant": tenant.id, "name": format!("matrix {}", uuid_suffix()), "ical": ICAL}),
            ),
        ),
        D::GetCalendar => (
            Method::GET,
            format!("/api/v1/oncall/calendars/{}", calendar(tree, tenant).await),
            None,
        ),
        D::CorrectHoliday => (
            Method::POST,
            format!(
                "/api/v1/oncall/calendars/{}/holidays",
                calendar(tree, tenant).await
            ),
            Some(json!({"version": 1, "uid": "matrix-day@test", "date": "2027-03-24"})),
        ),
        D::FeedSecret => (Method::POST, "/api/v1/oncall/feed-secret".into(), None),
        D::ListPolicies => (
            Method::GET,
            format!("/api/v1/oncall/policies?tenant={}", tenant.id),
            None,
        ),
        D::CreatePolicy => (
            Method::POST,
            "/api/v1/oncall/policies".into(),
            Some(policy_body(tenant, None)),
        ),
        D::GetPolicy => (
            Method::GET,
            format!("/api/v1/oncall/policies/{}", policy(tree, tenant).await),
            None,
        ),
        D::UpdatePolicy => (
            Method::PUT,
            format!("/api/v1/oncall/policies/{}", policy(tree, tenant).await),
            Some(policy_body(tenant, Some(1))),
        ),
        D::DeletePolicy => (
            Method::DELETE,
            format!("/api/v1/oncall/policies/{}", policy(tree, tenant).await),
            None,
        ),
        D::ListContacts => (
            Method::GET,
            format!("/api/v1/oncall/contacts?tenant={}", tenant.id),
            None,
        ),
        D::SetContacts => (
            Method::PUT,
            "/api/v1/oncall/contacts".into(),
            Some(json!({"methods": [{"kind": "email", "address": "me@cert.example.pk"}]})),
        ),
        D::TestPage => (
            Method::POST,
            "/api/v1/oncall/test-page".into(),
            Some(json!({"tenant": tenant.id, "severity": "critical", "title": "matrix drill"})),
        ),
        D::ListPages => (
            Method::GET,
            format!("/api/v1/oncall/pages?tenant={}", tenant.id),
            None,
        ),
        D::GetPage => (
            Method::GET,
            format!("/api/v1/oncall/pages/{}", page(tree, tenant).await),
            None,
        ),
        D::AcknowledgePage => (
            Method::POST,
            format!(
                "/api/v1/oncall/pages/{}/acknowledge",
                page(tree, tenant).await
            ),
            None,
        ),
        D::ShowLink => (Method::GET, link(tree).await, None),
        D::UseLink => (Method::POST, link(tree).await, None),
        D::ListNotifications => (
            Method::GET,
            format!("/api/v1/oncall/notifications?tenant={}", tenant.id),
            None,
        ),
        D::ListHandovers => (
            Method::GET,
            format!("/api/v1/oncall/handovers?tenant={}", tenant.id),
            None,
        ),
        D::WriteHandover => (
            Method::POST,
            "/api/v1/oncall/handovers".into(),
            Some(json!({"schedule": schedule(tree, tenant).await, "note": "two alerts open"})),
        ),
        D::AcknowledgeHandover => {
            let schedule = schedule(tree, tenant).await;
            (
                Method::POST,
                format!(
                    "/api/v1/oncall/handovers/{}/acknowledge",
                    handover(tree, &schedule).await
                ),
                None,
            )
        }
        D::Feed => {
            let secret = tree
                .platform
                .app
                .duty()
                .rotate_feed_secret(&maker(tree).await)
                .await
                .unwrap();
            (
                Method::GET,
                format!("/api/v1/oncall/feed/{}", secret.secret.expose()),
                None,
            )
        }
    }
}

/// Whether every item's tenant lies in the subtree of `target`, and the
/// tenant's own seeded record is among them.
async fn subtree_items(
    tree: &Tree,
    items: &[Value],
    field: &str,
    target: &Tenant,
) -> Option<String> {
    let target_id = target.id.to_string();
    let mut outside = Vec::new();
    for item in items {
        let Some(tenant) = item[field].as_str() else {
            return Some(format!("an item without its tenant: {item}"));
        };
        if !tree.path(tenant).await.contains(&target_id) {
            outside.push(tenant.to_owned());
        }
    }
    if !outside.is_empty() {
        return Some(format!(
            "{} of {} items belong to tenants outside the subtree of {target_id}: {outside:?}",
            outside.len(),
            items.len()
        ));
    }
    (!items.iter().any(|i| i[field] == target_id.as_str()))
        .then(|| format!("the list under {target_id} lacks its own seeded record"))
}

/// What an allowed answer must hold.
pub(super) async fn check_content(
    tree: &Tree,
    case: DutyCase,
    _level: Level,
    target: &Tenant,
    uri: &str,
    answer: &Answer,
) -> Option<String> {
    let json = &answer.json;
    let path = uri.split('?').next().unwrap_or(uri);
    let asked = path.split('/').nth(5).map(str::to_owned);
    let person = format!("duty-{}", target.id);
    match case {
        D::OnCallNow => {
            let items = json["items"].as_array()?;
            if let Some(problem) = subtree_items(tree, items, "tenant", target).await {
                return Some(problem);
            }
            // Each answer names the person of its own tenant's roster.
            items
                .iter()
                .find(|i| {
                    i["on_call"] != json!(format!("duty-{}", i["tenant"].as_str().unwrap_or("")))
                })
                .map(|i| format!("a schedule answered with someone else's person: {i}"))
        }
        D::ListSchedules | D::ListCalendars | D::Coverage => {
            subtree_items(tree, json["items"].as_array()?, "tenant", target).await
        }
        D::GetSchedule | D::GetCalendar => (json["id"].as_str().map(str::to_owned) != asked)
            .then(|| format!("answered record {} when {asked:?} was asked", json["id"])),
        D::CreateSchedule | D::UpdateSchedule => (json["tenant"] != json!(target.id.to_string())
            || json["roster"]["layers"][0]["rotation"]["participants"][0] != json!(person))
        .then(|| format!("the schedule is not the one sent: {json}")),
        D::Shifts => {
            let items = json["items"].as_array()?;
            (items.len() != 3 || items.iter().any(|s| s["user"] != json!(person)))
                .then(|| format!("expected three shifts of {person}: {json}"))
        }
        D::Ledger => (json["people"][&person]["shifts"] != json!(730))
            .then(|| format!("expected 730 shifts of {person} in 2027: {json}")),
        D::ImportCalendar => (json["calendar"]["tenant"] != json!(target.id.to_string())
            || json["calendar"]["holidays"][0]["date"] != json!("2027-03-23"))
        .then(|| format!("the calendar is not the one sent: {json}")),
        D::CorrectHoliday => (json["calendar"]["holidays"][0]["date"] != json!("2027-03-24")
            || json["calendar"]["holidays"][0]["corrected_from"] != json!("2027-03-23"))
        .then(|| format!("the holiday was not moved: {json}")),
        D::ListPolicies
        | D::ListContacts
        | D::ListPages
        | D::ListNotifications
        | D::ListHandovers => {
            subtree_items(tree, json["items"].as_array()?, "tenant", target).await
        }
        D::GetPolicy => (json["id"].as_str().map(str::to_owned) != asked)
            .then(|| format!("answered policy {} when {asked:?} was asked", json["id"])),
        D::GetPage => (json["page"]["id"].as_str().map(str::to_owned) != asked
            || json["history"].as_array().is_none_or(|h| h.len() < 2))
        .then(|| format!("not the page asked for, with its history: {json}")),
        D::CreatePolicy | D::UpdatePolicy => (json["tenant"] != json!(target.id.to_string())
            || json["steps"][0]["notify"][0]["team"] != "soc"
            || json["severities"] != json!(["critical"]))
        .then(|| format!("the policy is not the one sent: {json}")),
        D::TestPage => (json["tenant"] != json!(target.id.to_string())
            || json["page"]["title"] != "matrix drill"
            || json["step"] != 1)
            .then(|| format!("the page is not the one asked for, or did not run step 1: {json}")),
        D::AcknowledgePage => (json["status"] != "acknowledged"
            || json["acknowledged"]["via"] != "api")
            .then(|| format!("not acknowledged: {json}")),
        D::WriteHandover => (json["tenant"] != json!(target.id.to_string())
            || json["outgoing"] != json!(person)
            || json["incoming"] != json!(person)
            || json["note"] != "two alerts open")
            .then(|| format!("not the hand-over written: {json}")),
        D::AcknowledgeHandover => (json["status"] != "acknowledged"
            || json["acknowledged_at"].is_null())
        .then(|| format!("not acknowledged: {json}")),
        D::DeletePolicy
        | D::DeleteSchedule
        | D::FeedSecret
        | D::Feed
        | D::SetContacts
        | D::ShowLink
        | D::UseLink => None,
    }
}

/// Checks of the public and caller-scoped rows, which the tenant loop does not see.
pub(super) fn check_unscoped(case: DutyCase, answer: &Answer) -> Option<String> {
    match case {
        D::FeedSecret => (!answer.json["path"]
            .as_str()
            .is_some_and(|p| p.starts_with("/api/v1/oncall/feed/")))
        .then(|| format!("no feed path: {}", answer.text)),
        D::Feed => (!answer.text.starts_with("BEGIN:VCALENDAR"))
            .then(|| format!("not iCalendar: {}", answer.text)),
        D::SetContacts => (answer.json["methods"]
            != json!([{"kind": "email", "address": "me@cert.example.pk"}]))
        .then(|| format!("not the methods sent: {}", answer.text)),
        D::ShowLink => (!answer.text.contains("<form method=\"post\">"))
            .then(|| format!("no acknowledgement form: {}", answer.text)),
        D::UseLink => (answer.json["status"] != "acknowledged"
            || answer.json["acknowledged"]["via"] != "link")
            .then(|| format!("not acknowledged by the link: {}", answer.text)),
        _ => None,
    }
}
