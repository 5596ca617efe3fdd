//! The authorisation matrix: every endpoint × every role × every tenant
//! relationship (own, parent, child, sibling, unrelated), for callers at three
//! depths (a sectoral CERT, an organisation under it, a unit of that
//! organisation), by session and by API token, through the real router,
//! asserting allow / 403 / 404 / 401 — and what an allowed answer holds: a get
//! answers the record asked for, a list holds no record of an ancestor,
//! sibling or unrelated tenant. `lists_hold_exactly_what_each_caller_may_see`
//! checks every list's contents exactly, on a tree whose every record is known.
//!
//! The expectations below are written from PRODUCT.md ("a tenant sees its own
//! records and those below it; never a sibling's"; administrators run the
//! hierarchy; auditors read the audit log; council members see aggregates
//! only), not derived from the app's policy table, so a policy change that
//! breaks them fails here. Every operation in the OpenAPI document must have
//! a row: adding an endpoint without adding it here fails
//! `every_documented_operation_is_in_the_matrix`.

use std::collections::{BTreeSet, HashMap};

use axum::http::{Method, StatusCode};
use nigehban_app::model::{Role, Sector, Tenant, TokenName};
use nigehban_app::{NewApiToken, policy::Relation};
use serde_json::json;

use crate::harness::{Credentials, Platform, call};

mod duty_rows;
mod incident_rows;
mod intel_rows;

/// How far a role's permission reaches from the caller's tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Not at all.
    N,
    /// The caller's own tenant only.
    O,
    /// Strictly below the caller's tenant.
    B,
    /// The caller's tenant and below.
    S,
}
use Reach::{B, N, O, S};

/// What an operation acts on, which decides how the relation dimension applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// No authentication needed.
    Public,
    /// Acts on the caller themself (their session, their password).
    Caller,
    /// Acts on a record of a tenant standing in some relation to the caller's.
    Tenant([Reach; 8]),
    /// The whole platform's audit log: the national CERT's administrators and auditors only.
    WholeLog,
    /// Telemetry intake: only a sensor's ingest token, never a person's session or API token.
    Sensor,
    /// Follows what the caller may see, with no target tenant: allowed by role alone.
    Role([Reach; 8]),
    /// The platform's rules (import, platform-wide state): the national CERT's administrators only.
    PlatformRules,
}

/// One row of the matrix: an operation (and, for some, a variant of its body).
#[derive(Debug, Clone, Copy)]
struct Row {
    method: &'static str,
    path: &'static str,
    case: Case,
    scope: Scope,
    /// The status of an allowed call.
    success: StatusCode,
    /// Whether an API token is refused even where the role would be allowed.
    token_refused: bool,
}

/// Which request to build for a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    ListTenants,
    CreateTenant,
    GetTenant,
    RenameTenant,
    MoveTenant,
    DeactivateTenant,
    ListUsers,
    CreateUser,
    GetUser,
    SetRole,
    DeactivateUser,
    ResetPassword,
    ListTokens,
    CreateOwnRoleToken,
    CreateOtherRoleToken,
    GetToken,
    RevokeToken,
    ListAudit,
    VerifyAudit,
    AuditHead,
    Login,
    Logout,
    Session,
    ChangePassword,
    Healthz,
    Readyz,
    Metrics,
    ListSensors,
    RegisterSensor,
    GetSensor,
    UpdateSensor,
    DeactivateSensor,
    SensorTokens,
    RotateSensorToken,
    RevokeSensorToken,
    SensorHealthHistory,
    SensorStatuses,
    SensorHealthEvents,
    SearchEvents,
    EventFields,
    AggregateEvents,
    Ingest,
    ListAlerts,
    GetAlert,
    AssignAlert,
    AcknowledgeAlert,
    CloseAlert,
    ReopenAlert,
    CommentAlert,
    BulkAlerts,
    AlertStream,
    /// The incident rows (`matrix/incident_rows.rs`).
    Incident(incident_rows::IncidentCase),
    /// The duty roster rows (`matrix/duty_rows.rs`).
    Duty(duty_rows::DutyCase),
    /// The shared-intelligence rows (`matrix/intel_rows.rs`).
    Intel(intel_rows::IntelCase),
    ImportRules,
    ListRules,
    GetRule,
    SetPlatformRuleState,
    SetTenantRuleState,
    InheritTenantRuleState,
    ListRuleFilters,
    AddRuleFilter,
    RemoveRuleFilter,
    TestRule,
}

//                      admin analyst resp intel duty  report council audit
const ADMIN_ONLY: [Reach; 8] = [S, N, N, N, N, N, N, N];
const EVERYONE: [Reach; 8] = [S, S, S, S, S, S, S, S];
const VIEW_USERS: [Reach; 8] = [S, S, S, S, S, S, N, S];
const ADMIN_AUDITOR: [Reach; 8] = [S, N, N, N, N, N, N, S];
const ADMIN_BELOW: [Reach; 8] = [B, N, N, N, N, N, N, N];
const OWN_TOKENS: [Reach; 8] = [S, O, O, O, O, O, O, O];
// Sensors are watched by those who run monitoring (not intel analysts, who work on
// indicators; not the council, who see aggregates); reporters see their own organisation's.
const VIEW_SENSORS: [Reach; 8] = [S, S, S, N, S, O, N, S];
// Raw events: everyone who works with events in the subtree; reporters their own
// organisation's; never the council.
const SEARCH_EVENTS: [Reach; 8] = [S, S, S, S, S, O, N, S];
// Alerts are the monitoring desk's: analysts, responders, intel analysts (who
// match indicators) and duty officers see them; administrators run the
// platform, reporters see incidents not alerts, the council aggregates only,
// auditors read the audit log.
const VIEW_ALERTS: [Reach; 8] = [N, S, S, S, S, N, N, N];
// Triage (assign, acknowledge, close, reopen, comment): those who work alerts.
const TRIAGE_ALERTS: [Reach; 8] = [N, S, S, N, S, N, N, N];
// Detection rules: read by those who watch and tune monitoring (never reporters or the
// council); tuned for a subtree by its administrators.
const VIEW_RULES: [Reach; 8] = [S, S, S, S, S, N, N, S];

/// The stored rule the matrix's rule rows act on.
const MATRIX_RULE: &str = "7d3e4c1a-9b2f-4e6d-8a5c-0f1e2d3c4b5a";

fn matrix_rule_yaml(id: &str) -> String {
    format!(
        "title: Matrix rule\nid: {id}\nlogsource:\n    product: windows\n    service: security\ndetection:\n    sel:\n        EventID: 4625\n    condition: sel\nlevel: low\n"
    )
}

fn matrix_filter_yaml() -> String {
    format!(
        "title: Matrix filter\nlogsource:\n    product: windows\nfilter:\n    rules:\n        - {MATRIX_RULE}\n    sel:\n        TargetUserName: matrix\n    condition: not sel\n"
    )
}

const OK: StatusCode = StatusCode::OK;
const CREATED: StatusCode = StatusCode::CREATED;
const NO_CONTENT: StatusCode = StatusCode::NO_CONTENT;

#[rustfmt::skip]
const ROWS: &[Row] = &[
    Row { method: "GET",   path: "/api/v1/tenants",                    case: Case::ListTenants,          scope: Scope::Tenant(EVERYONE),      success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/tenants",                    case: Case::CreateTenant,         scope: Scope::Tenant(ADMIN_ONLY),    success: CREATED, token_refused: false },
    Row { method: "GET",   path: "/api/v1/tenants/{id}",               case: Case::GetTenant,            scope: Scope::Tenant(EVERYONE),      success: OK,      token_refused: false },
    Row { method: "PATCH", path: "/api/v1/tenants/{id}",               case: Case::RenameTenant,         scope: Scope::Tenant(ADMIN_ONLY),    success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/tenants/{id}/move",          case: Case::MoveTenant,           scope: Scope::Tenant(ADMIN_BELOW),   success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/tenants/{id}/deactivate",    case: Case::DeactivateTenant,     scope: Scope::Tenant(ADMIN_BELOW),   success: OK,      token_refused: false },
    Row { method: "GET",   path: "/api/v1/users",                      case: Case::ListUsers,            scope: Scope::Tenant(VIEW_USERS),    success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/users",                      case: Case::CreateUser,           scope: Scope::Tenant(ADMIN_ONLY),    success: CREATED, token_refused: false },
    Row { method: "GET",   path: "/api/v1/users/{id}",                 case: Case::GetUser,              scope: Scope::Tenant(VIEW_USERS),    success: OK,      token_refused: false },
    Row { method: "PUT",   path: "/api/v1/users/{id}/role",            case: Case::SetRole,              scope: Scope::Tenant(ADMIN_ONLY),    success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/users/{id}/deactivate",      case: Case::DeactivateUser,       scope: Scope::Tenant(ADMIN_ONLY),    success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/users/{id}/password-reset",  case: Case::ResetPassword,        scope: Scope::Tenant(ADMIN_ONLY),    success: OK,      token_refused: false },
    Row { method: "GET",   path: "/api/v1/tokens",                     case: Case::ListTokens,           scope: Scope::Tenant(ADMIN_AUDITOR), success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/tokens",                     case: Case::CreateOwnRoleToken,   scope: Scope::Tenant(OWN_TOKENS),    success: CREATED, token_refused: true },
    Row { method: "POST",  path: "/api/v1/tokens",                     case: Case::CreateOtherRoleToken, scope: Scope::Tenant(ADMIN_ONLY),    success: CREATED, token_refused: true },
    Row { method: "GET",   path: "/api/v1/tokens/{id}",                case: Case::GetToken,             scope: Scope::Tenant(ADMIN_AUDITOR), success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/tokens/{id}/revoke",         case: Case::RevokeToken,          scope: Scope::Tenant(ADMIN_ONLY),    success: OK,      token_refused: false },
    Row { method: "GET",   path: "/api/v1/audit",                      case: Case::ListAudit,            scope: Scope::Tenant(ADMIN_AUDITOR), success: OK,      token_refused: false },
    Row { method: "GET",   path: "/api/v1/audit/verify",               case: Case::VerifyAudit,          scope: Scope::WholeLog,              success: OK,      token_refused: false },
    Row { method: "GET",   path: "/api/v1/audit/head",                 case: Case::AuditHead,            scope: Scope::WholeLog,              success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/auth/login",                 case: Case::Login,                scope: Scope::Public,                success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/auth/logout",                case: Case::Logout,               scope: Scope::Caller,                success: NO_CONTENT, token_refused: false },
    Row { method: "GET",   path: "/api/v1/auth/session",               case: Case::Session,              scope: Scope::Caller,                success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/auth/password",              case: Case::ChangePassword,       scope: Scope::Caller,                success: OK,      token_refused: true },
    Row { method: "GET",   path: "/healthz",                           case: Case::Healthz,              scope: Scope::Public,                success: OK,      token_refused: false },
    Row { method: "GET",   path: "/readyz",                            case: Case::Readyz,               scope: Scope::Public,                success: OK,      token_refused: false },
    Row { method: "GET",   path: "/metrics",                           case: Case::Metrics,              scope: Scope::Public,                success: OK,      token_refused: false },
    Row { method: "GET",   path: "/api/v1/sensors",                    case: Case::ListSensors,          scope: Scope::Tenant(VIEW_SENSORS),  success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/sensors",                    case: Case::RegisterSensor,       scope: Scope::Tenant(ADMIN_ONLY),    success: CREATED, token_refused: false },
    Row { method: "GET",   path: "/api/v1/sensors/{id}",               case: Case::GetSensor,            scope: Scope::Tenant(VIEW_SENSORS),  success: OK,      token_refused: false },
    Row { method: "PATCH", path: "/api/v1/sensors/{id}",               case: Case::UpdateSensor,         scope: Scope::Tenant(ADMIN_ONLY),    success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/sensors/{id}/deactivate",    case: Case::DeactivateSensor,     scope: Scope::Tenant(ADMIN_ONLY),    success: OK,      token_refused: false },
    Row { method: "GET",   path: "/api/v1/sensors/{id}/tokens",        case: Case::SensorTokens,         scope: Scope::Tenant(VIEW_SENSORS),  success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/sensors/{id}/tokens/rotate", case: Case::RotateSensorToken,    scope: Scope::Tenant(ADMIN_ONLY),    success: CREATED, token_refused: false },
    Row { method: "POST",  path: "/api/v1/sensors/{id}/tokens/{token}/revoke", case: Case::RevokeSensorToken, scope: Scope::Tenant(ADMIN_ONLY), success: OK, token_refused: false },
    Row { method: "GET",   path: "/api/v1/sensors/{id}/health",        case: Case::SensorHealthHistory,  scope: Scope::Tenant(VIEW_SENSORS),  success: OK,      token_refused: false },
    Row { method: "GET",   path: "/api/v1/sensor-health",              case: Case::SensorStatuses,       scope: Scope::Tenant(VIEW_SENSORS),  success: OK,      token_refused: false },
    Row { method: "GET",   path: "/api/v1/sensor-health/events",       case: Case::SensorHealthEvents,   scope: Scope::Tenant(VIEW_SENSORS),  success: OK,      token_refused: false },
    Row { method: "GET",   path: "/api/v1/events",                     case: Case::SearchEvents,         scope: Scope::Tenant(SEARCH_EVENTS), success: OK,      token_refused: false },
    Row { method: "GET",   path: "/api/v1/events/fields",              case: Case::EventFields,          scope: Scope::Tenant(SEARCH_EVENTS), success: OK,      token_refused: false },
    Row { method: "GET",   path: "/api/v1/events/aggregate",           case: Case::AggregateEvents,      scope: Scope::Tenant(SEARCH_EVENTS), success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/ingest",                     case: Case::Ingest,               scope: Scope::Sensor,                success: StatusCode::ACCEPTED, token_refused: false },
    Row { method: "GET",   path: "/api/v1/alerts",                     case: Case::ListAlerts,           scope: Scope::Tenant(VIEW_ALERTS),   success: OK,      token_refused: false },
    Row { method: "GET",   path: "/api/v1/alerts/{id}",                case: Case::GetAlert,             scope: Scope::Tenant(VIEW_ALERTS),   success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/alerts/{id}/assign",         case: Case::AssignAlert,          scope: Scope::Tenant(TRIAGE_ALERTS), success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/alerts/{id}/acknowledge",    case: Case::AcknowledgeAlert,     scope: Scope::Tenant(TRIAGE_ALERTS), success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/alerts/{id}/close",          case: Case::CloseAlert,           scope: Scope::Tenant(TRIAGE_ALERTS), success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/alerts/{id}/reopen",         case: Case::ReopenAlert,          scope: Scope::Tenant(TRIAGE_ALERTS), success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/alerts/{id}/comments",       case: Case::CommentAlert,         scope: Scope::Tenant(TRIAGE_ALERTS), success: CREATED, token_refused: false },
    // Bulk answers 200 with a result per alert: the row checks the result of its one alert.
    Row { method: "POST",  path: "/api/v1/alerts/bulk",                case: Case::BulkAlerts,           scope: Scope::Tenant(TRIAGE_ALERTS), success: OK,      token_refused: false },
    Row { method: "GET",   path: "/api/v1/alerts/stream",              case: Case::AlertStream,          scope: Scope::Role(VIEW_ALERTS),     success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/rules/import",               case: Case::ImportRules,          scope: Scope::PlatformRules,         success: OK,      token_refused: false },
    Row { method: "PUT",   path: "/api/v1/rules/{id}/platform",        case: Case::SetPlatformRuleState, scope: Scope::PlatformRules,         success: OK,      token_refused: false },
    Row { method: "GET",   path: "/api/v1/rules",                      case: Case::ListRules,            scope: Scope::Tenant(VIEW_RULES),    success: OK,      token_refused: false },
    Row { method: "GET",   path: "/api/v1/rules/{id}",                 case: Case::GetRule,              scope: Scope::Tenant(VIEW_RULES),    success: OK,      token_refused: false },
    Row { method: "PUT",   path: "/api/v1/rules/{id}/tenants/{tenant}", case: Case::SetTenantRuleState, scope: Scope::Tenant(ADMIN_ONLY),    success: OK,      token_refused: false },
    Row { method: "DELETE", path: "/api/v1/rules/{id}/tenants/{tenant}", case: Case::InheritTenantRuleState, scope: Scope::Tenant(ADMIN_ONLY), success: OK,   token_refused: false },
    Row { method: "GET",   path: "/api/v1/rules/filters",              case: Case::ListRuleFilters,      scope: Scope::Tenant(VIEW_RULES),    success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/rules/filters",              case: Case::AddRuleFilter,        scope: Scope::Tenant(ADMIN_ONLY),    success: CREATED, token_refused: false },
    Row { method: "DELETE", path: "/api/v1/rules/filters/{id}",        case: Case::RemoveRuleFilter,     scope: Scope::Tenant(ADMIN_ONLY),    success: OK,      token_refused: false },
    Row { method: "POST",  path: "/api/v1/rules/test",                 case: Case::TestRule,             scope: Scope::Tenant(VIEW_RULES),    success: OK,      token_refused: false },
];

/// What the matrix expects of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allow(StatusCode),
    Forbidden,
    NotFound,
    Unauthenticated,
}

fn role_index(role: Role) -> usize {
    Role::ALL.iter().position(|r| *r == role).unwrap()
}

fn covers(reach: Reach, relation: Relation) -> bool {
    matches!(
        (reach, relation),
        (Reach::O, Relation::Own)
            | (Reach::B, Relation::Descendant)
            | (Reach::S, Relation::Own | Relation::Descendant)
    )
}

/// The expectation for a tenant-scoped row, from the product's rules.
fn expect_tenant(reaches: [Reach; 8], role: Role, relation: Relation) -> Option<Expect> {
    // A tenant never sees its parent's, a sibling's or an unrelated tenant's records.
    if !matches!(relation, Relation::Own | Relation::Descendant) {
        return Some(Expect::NotFound);
    }
    if covers(reaches[role_index(role)], relation) {
        None
    } else {
        Some(Expect::Forbidden)
    }
}

/// Where the matrix's callers sit: in a sectoral CERT, in an organisation
/// under it (two levels below the national CERT), and in a unit of that
/// organisation (three levels below).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Level {
    Sector,
    Organisation,
    Unit,
}

impl Level {
    const ALL: [Level; 3] = [Level::Sector, Level::Organisation, Level::Unit];

    /// The prefix of its callers' user names.
    fn prefix(self) -> &'static str {
        match self {
            Level::Sector => "a",
            Level::Organisation => "o",
            Level::Unit => "u",
        }
    }
}

/// The tree the matrix runs in, and a signed-in user of every role at every
/// level (and in the national CERT, for the whole audit log).
///
/// ```text
/// National CERT (root)
/// ├── CERT Telecom (sector A)          ← Level::Sector callers
/// │   ├── Operator One (org A1)        ← Level::Organisation callers
/// │   │   ├── Operator One NOC (A1a)   ← Level::Unit callers
/// │   │   │   └── NOC Night Shift (A1a-i)
/// │   │   └── Operator One SOC (A1b)
/// │   └── Operator Two (org A2)
/// └── CERT Banking (sector B)
///     └── Bank One (org B1)
/// ```
///
/// | relation   | Sector     | Organisation | Unit   |
/// |------------|------------|--------------|--------|
/// | own        | A          | A1           | A1a    |
/// | descendant | A1         | A1a          | A1a-i  |
/// | ancestor   | national   | A            | A1     |
/// | sibling    | B          | A2           | A1b    |
/// | unrelated  | B1         | B1           | A2     |
struct Tree {
    platform: Platform,
    national: Tenant,
    sector_a: Tenant,
    org_a1: Tenant,
    unit_a1a: Tenant,
    shift_a1a_i: Tenant,
    unit_a1b: Tenant,
    org_a2: Tenant,
    sector_b: Tenant,
    org_b1: Tenant,
    /// A signed-in user of each role at each level.
    callers: HashMap<(Level, Role), Credentials>,
    /// A signed-in user of each role in the national CERT.
    in_national: HashMap<Role, Credentials>,
    /// Tenant → parent, as the national administrator reads them (cached).
    parents: std::sync::Mutex<HashMap<String, Option<String>>>,
}

impl Tree {
    async fn build(platform: Platform) -> Tree {
        let national = platform.root.clone();
        let sector_a = platform.sector("CERT Telecom", Sector::Telecom).await;
        let org_a1 = platform.organisation(&sector_a, "Operator One").await;
        let unit_a1a = platform.organisation(&org_a1, "Operator One NOC").await;
        let shift_a1a_i = platform.organisation(&unit_a1a, "NOC Night Shift").await;
        let unit_a1b = platform.organisation(&org_a1, "Operator One SOC").await;
        let org_a2 = platform.organisation(&sector_a, "Operator Two").await;
        let sector_b = platform.sector("CERT Banking", Sector::Banking).await;
        let org_b1 = platform.organisation(&sector_b, "Bank One").await;
        // A stored rule, disabled for sector B and enabled for org A1, so that
        // rule answers have overrides to show (or to keep to themselves).
        let read =
            nigehban_node::read_upload("matrix.yml", matrix_rule_yaml(MATRIX_RULE).into_bytes());
        platform
            .app
            .rules()
            .import(&platform.operator, read.documents, true)
            .await
            .unwrap();
        for (tenant, enabled) in [(&sector_b, false), (&org_a1, true)] {
            platform
                .app
                .rules()
                .set_for_tenant(&platform.operator, MATRIX_RULE, tenant.id, enabled)
                .await
                .unwrap();
        }
        let mut callers = HashMap::new();
        let mut in_national = HashMap::new();
        for role in Role::ALL {
            for (level, tenant) in [
                (Level::Sector, &sector_a),
                (Level::Organisation, &org_a1),
                (Level::Unit, &unit_a1a),
            ] {
                let name = format!("{}-{}", level.prefix(), role.as_str().replace('_', "-"));
                platform.user(tenant, &name, role).await;
                callers.insert((level, role), platform.sign_in(&name).await);
            }
            let name = format!("n-{}", role.as_str().replace('_', "-"));
            platform.user(&national, &name, role).await;
            in_national.insert(role, platform.sign_in(&name).await);
        }
        Tree {
            platform,
            national,
            sector_a,
            org_a1,
            unit_a1a,
            shift_a1a_i,
            unit_a1b,
            org_a2,
            sector_b,
            org_b1,
            callers,
            in_national,
            parents: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The callers' tenant at `level`.
    fn own(&self, level: Level) -> &Tenant {
        self.tenant_in(level, Relation::Own)
    }

    fn tenant_in(&self, level: Level, relation: Relation) -> &Tenant {
        match (level, relation) {
            (Level::Sector, Relation::Own) => &self.sector_a,
            (Level::Sector, Relation::Descendant) => &self.org_a1,
            (Level::Sector, Relation::Ancestor) => &self.national,
            (Level::Sector, Relation::Sibling) => &self.sector_b,
            (Level::Sector, Relation::Unrelated) => &self.org_b1,
            (Level::Organisation, Relation::Own) => &self.org_a1,
            (Level::Organisation, Relation::Descendant) => &self.unit_a1a,
            (Level::Organisation, Relation::Ancestor) => &self.sector_a,
            (Level::Organisation, Relation::Sibling) => &self.org_a2,
            (Level::Organisation, Relation::Unrelated) => &self.org_b1,
            (Level::Unit, Relation::Own) => &self.unit_a1a,
            (Level::Unit, Relation::Descendant) => &self.shift_a1a_i,
            (Level::Unit, Relation::Ancestor) => &self.org_a1,
            (Level::Unit, Relation::Sibling) => &self.unit_a1b,
            (Level::Unit, Relation::Unrelated) => &self.org_a2,
        }
    }

    /// The tenants from the root down to `tenant` (itself last), read as the
    /// national administrator; tenants unknown to the platform have none.
    async fn path(&self, tenant: &str) -> Vec<String> {
        let mut path = vec![tenant.to_owned()];
        loop {
            let current = path.last().cloned().unwrap_or_default();
            let cached = self.parents.lock().unwrap().get(&current).cloned();
            let parent = match cached {
                Some(parent) => parent,
                None => {
                    let Ok(id) = current.parse::<nigehban_app::model::TenantId>() else {
                        return Vec::new();
                    };
                    let Ok(found) = self
                        .platform
                        .app
                        .tenants()
                        .get(&self.platform.operator, id)
                        .await
                    else {
                        return Vec::new();
                    };
                    let parent = found.parent.map(|p| p.to_string());
                    self.parents
                        .lock()
                        .unwrap()
                        .insert(current.clone(), parent.clone());
                    parent
                }
            };
            match parent {
                Some(parent) => path.push(parent),
                None => {
                    path.reverse();
                    return path;
                }
            }
        }
    }

    /// Forgets cached parents (after a tenant moved).
    fn forget_parents(&self) {
        self.parents.lock().unwrap().clear();
    }

    /// A fresh organisation under `parent`, for operations that change or consume their target.
    async fn fresh_organisation(&self, parent: &Tenant) -> Tenant {
        self.platform
            .organisation(parent, &format!("org {}", uuid_suffix()))
            .await
    }

    /// The tenant a destructive tenant operation targets: a fresh child for
    /// the "child" relation (so allowed calls never consume a shared tenant),
    /// the relation's tenant itself otherwise (those calls must be refused).
    async fn tenant_target(&self, level: Level, relation: Relation) -> Tenant {
        match relation {
            Relation::Descendant => self.fresh_organisation(self.own(level)).await,
            other => self.tenant_in(level, other).clone(),
        }
    }

    /// A fresh user of the analyst role in the relation's tenant.
    async fn fresh_user(&self, level: Level, relation: Relation) -> nigehban_app::model::User {
        self.platform
            .user(
                self.tenant_in(level, relation),
                &format!("u-{}", uuid_suffix()),
                Role::Analyst,
            )
            .await
    }

    /// A fresh API token (made by the operator) in the relation's tenant.
    async fn fresh_token(&self, level: Level, relation: Relation) -> nigehban_app::model::ApiToken {
        self.platform
            .app
            .tokens()
            .create(
                &self.platform.operator,
                NewApiToken {
                    name: TokenName::parse("matrix target").unwrap(),
                    tenant: Some(self.tenant_in(level, relation).id),
                    role: Some(Role::Analyst),
                    expires_at: None,
                },
            )
            .await
            .unwrap()
            .token
    }

    /// A fresh sensor (registered by the operator) in the relation's tenant, with its token.
    async fn fresh_sensor(
        &self,
        level: Level,
        relation: Relation,
    ) -> nigehban_app::IssuedSensorToken {
        self.platform.sensor(self.tenant_in(level, relation)).await
    }

    /// A fresh open alert in the relation's tenant.
    async fn fresh_alert(&self, level: Level, relation: Relation) -> nigehban_app::model::AlertId {
        crate::alerts::raise_in(&self.platform, self.tenant_in(level, relation).id).await
    }

    /// A fresh alert in the relation's tenant, closed by a national analyst.
    async fn fresh_closed_alert(
        &self,
        level: Level,
        relation: Relation,
    ) -> nigehban_app::model::AlertId {
        let alert = self.fresh_alert(level, relation).await;
        let closed = self
            .platform
            .send(
                call(Method::POST, &format!("/api/v1/alerts/{alert}/close"))
                    .bearer(&self.in_national[&Role::Analyst].token)
                    .json(&json!({"resolution": "benign"})),
            )
            .await;
        assert_eq!(closed.status, StatusCode::OK, "{}", closed.text);
        alert
    }

    /// A fresh Sigma filter (added by the operator) in the relation's tenant.
    async fn fresh_filter(
        &self,
        level: Level,
        relation: Relation,
    ) -> nigehban_app::model::RuleFilter {
        let tenant = self.tenant_in(level, relation).id;
        let filter = nigehban_node::read_filter(tenant, &matrix_filter_yaml()).unwrap();
        self.platform
            .app
            .rules()
            .add_filter(&self.platform.operator, filter)
            .await
            .unwrap()
    }

    /// The signed-in users of each role in sector A.
    fn sector_callers(&self) -> HashMap<Role, Credentials> {
        Role::ALL
            .into_iter()
            .filter_map(|role| {
                self.callers
                    .get(&(Level::Sector, role))
                    .map(|c| (role, c.clone()))
            })
            .collect()
    }

    /// A freshly signed-in user of `role` in sector A (for calls that end or change the caller's session).
    async fn fresh_caller(&self, role: Role) -> (String, Credentials) {
        let name = format!("c-{}", uuid_suffix());
        self.platform.user(&self.sector_a, &name, role).await;
        let credentials = self.platform.sign_in(&name).await;
        (name, credentials)
    }
}

fn uuid_suffix() -> String {
    nigehban_app::model::UserId::new().to_string()[24..].to_owned()
}

/// The request of a row, for a caller of `role` at `level` and a target in `relation`.
async fn request_for(
    tree: &Tree,
    level: Level,
    case: Case,
    role: Role,
    relation: Relation,
) -> (Method, String, Option<serde_json::Value>) {
    let tenant = tree.tenant_in(level, relation);
    let other_role = if role == Role::Analyst {
        Role::Responder
    } else {
        Role::Analyst
    };
    match case {
        Case::Incident(case) => incident_rows::request(tree, case, tenant).await,
        Case::Duty(case) => duty_rows::request(tree, case, tenant).await,
        Case::Intel(case) => intel_rows::request(tree, case, tenant).await,
        Case::ListTenants => (
            Method::GET,
            format!("/api/v1/tenants?under={}", tenant.id),
            None,
        ),
        Case::CreateTenant => (
            Method::POST,
            "/api/v1/tenants".into(),
            Some(
                json!({"parent": tenant.id, "name": format!("new {}", uuid_suffix()), "kind": "organisation"}),
            ),
        ),
        Case::GetTenant => (Method::GET, format!("/api/v1/tenants/{}", tenant.id), None),
        Case::RenameTenant => (
            Method::PATCH,
            format!("/api/v1/tenants/{}", tenant.id),
            Some(json!({"name": format!("{} (renamed)", tenant.name)})),
        ),
        Case::MoveTenant => {
            let target = tree.tenant_target(level, relation).await;
            let new_parent = match relation {
                Relation::Descendant => tree.fresh_organisation(tree.own(level)).await,
                _ => tree.own(level).clone(),
            };
            (
                Method::POST,
                format!("/api/v1/tenants/{}/move", target.id),
                Some(json!({"parent": new_parent.id})),
            )
        }
        Case::DeactivateTenant => {
            let target = tree.tenant_target(level, relation).await;
            (
                Method::POST,
                format!("/api/v1/tenants/{}/deactivate", target.id),
                None,
            )
        }
        Case::ListUsers => (
            Method::GET,
            format!("/api/v1/users?under={}", tenant.id),
            None,
        ),
        Case::CreateUser => (
            Method::POST,
            "/api/v1/users".into(),
            Some(
                json!({"tenant": tenant.id, "username": format!("new-{}", uuid_suffix()), "display_name": "New User", "role": "analyst"}),
            ),
        ),
        Case::GetUser => {
            let user = tree.fresh_user(level, relation).await;
            (Method::GET, format!("/api/v1/users/{}", user.id), None)
        }
        Case::SetRole => {
            let user = tree.fresh_user(level, relation).await;
            (
                Method::PUT,
                format!("/api/v1/users/{}/role", user.id),
                Some(json!({"role": "responder"})),
            )
        }
        Case::DeactivateUser => {
            let user = tree.fresh_user(level, relation).await;
            (
                Method::POST,
                format!("/api/v1/users/{}/deactivate", user.id),
                None,
            )
        }
        Case::ResetPassword => {
            let user = tree.fresh_user(level, relation).await;
            (
                Method::POST,
                format!("/api/v1/users/{}/password-reset", user.id),
                Some(json!({})),
            )
        }
        Case::ListTokens => (
            Method::GET,
            format!("/api/v1/tokens?under={}", tenant.id),
            None,
        ),
        Case::CreateOwnRoleToken => (
            Method::POST,
            "/api/v1/tokens".into(),
            Some(json!({"name": "sensor", "tenant": tenant.id, "role": role.as_str()})),
        ),
        Case::CreateOtherRoleToken => (
            Method::POST,
            "/api/v1/tokens".into(),
            Some(json!({"name": "sensor", "tenant": tenant.id, "role": other_role.as_str()})),
        ),
        Case::GetToken => {
            let token = tree.fresh_token(level, relation).await;
            (Method::GET, format!("/api/v1/tokens/{}", token.id), None)
        }
        Case::RevokeToken => {
            let token = tree.fresh_token(level, relation).await;
            (
                Method::POST,
                format!("/api/v1/tokens/{}/revoke", token.id),
                None,
            )
        }
        Case::ListAudit => (
            Method::GET,
            format!("/api/v1/audit?under={}", tenant.id),
            None,
        ),
        Case::VerifyAudit => (Method::GET, "/api/v1/audit/verify".into(), None),
        Case::AuditHead => (Method::GET, "/api/v1/audit/head".into(), None),
        Case::ListSensors => (
            Method::GET,
            format!("/api/v1/sensors?under={}", tenant.id),
            None,
        ),
        Case::RegisterSensor => (
            Method::POST,
            "/api/v1/sensors".into(),
            Some(
                json!({"tenant": tenant.id, "name": format!("sensor {}", uuid_suffix()), "kind": "ids", "expected_formats": ["suricata_eve"], "expected_interval_seconds": 300}),
            ),
        ),
        Case::GetSensor => {
            let sensor = tree.fresh_sensor(level, relation).await.sensor;
            (Method::GET, format!("/api/v1/sensors/{}", sensor.id), None)
        }
        Case::UpdateSensor => {
            let sensor = tree.fresh_sensor(level, relation).await.sensor;
            (
                Method::PATCH,
                format!("/api/v1/sensors/{}", sensor.id),
                Some(json!({"expected_interval_seconds": 600, "host_os_type": "linux"})),
            )
        }
        Case::DeactivateSensor => {
            let sensor = tree.fresh_sensor(level, relation).await.sensor;
            (
                Method::POST,
                format!("/api/v1/sensors/{}/deactivate", sensor.id),
                None,
            )
        }
        Case::SensorTokens => {
            let sensor = tree.fresh_sensor(level, relation).await.sensor;
            (
                Method::GET,
                format!("/api/v1/sensors/{}/tokens", sensor.id),
                None,
            )
        }
        Case::RotateSensorToken => {
            let sensor = tree.fresh_sensor(level, relation).await.sensor;
            (
                Method::POST,
                format!("/api/v1/sensors/{}/tokens/rotate", sensor.id),
                Some(json!({"grace_seconds": 60})),
            )
        }
        Case::RevokeSensorToken => {
            let issued = tree.fresh_sensor(level, relation).await;
            (
                Method::POST,
                format!(
                    "/api/v1/sensors/{}/tokens/{}/revoke",
                    issued.sensor.id, issued.token.id
                ),
                None,
            )
        }
        Case::SensorHealthHistory => {
            let sensor = tree.fresh_sensor(level, relation).await.sensor;
            (
                Method::GET,
                format!("/api/v1/sensors/{}/health", sensor.id),
                None,
            )
        }
        Case::SensorStatuses => (
            Method::GET,
            format!("/api/v1/sensor-health?under={}", tenant.id),
            None,
        ),
        Case::SensorHealthEvents => (
            Method::GET,
            format!("/api/v1/sensor-health/events?under={}", tenant.id),
            None,
        ),
        Case::SearchEvents => (
            Method::GET,
            format!("/api/v1/events?under={}", tenant.id),
            None,
        ),
        Case::EventFields => (
            Method::GET,
            format!("/api/v1/events/fields?under={}", tenant.id),
            None,
        ),
        Case::AggregateEvents => (
            Method::GET,
            format!("/api/v1/events/aggregate?under={}&top=host.name", tenant.id),
            None,
        ),
        Case::Ingest => (
            Method::POST,
            "/api/v1/ingest".into(),
            Some(json!({"message": "matrix probe"})),
        ),
        Case::ListAlerts => (
            Method::GET,
            format!("/api/v1/alerts?under={}", tenant.id),
            None,
        ),
        Case::GetAlert => {
            let alert = tree.fresh_alert(level, relation).await;
            (Method::GET, format!("/api/v1/alerts/{alert}"), None)
        }
        Case::AssignAlert => {
            let alert = tree.fresh_alert(level, relation).await;
            (
                Method::POST,
                format!("/api/v1/alerts/{alert}/assign"),
                Some(json!({"assignee": null})),
            )
        }
        Case::AcknowledgeAlert => {
            let alert = tree.fresh_alert(level, relation).await;
            (
                Method::POST,
                format!("/api/v1/alerts/{alert}/acknowledge"),
                None,
            )
        }
        Case::CloseAlert => {
            let alert = tree.fresh_alert(level, relation).await;
            (
                Method::POST,
                format!("/api/v1/alerts/{alert}/close"),
                Some(json!({"resolution": "false_positive", "note": "matrix"})),
            )
        }
        Case::ReopenAlert => {
            let alert = tree.fresh_closed_alert(level, relation).await;
            (
                Method::POST,
                format!("/api/v1/alerts/{alert}/reopen"),
                Some(json!({})),
            )
        }
        Case::CommentAlert => {
            let alert = tree.fresh_alert(level, relation).await;
            (
                Method::POST,
                format!("/api/v1/alerts/{alert}/comments"),
                Some(json!({"body": "seen from the matrix"})),
            )
        }
        Case::BulkAlerts => {
            let alert = tree.fresh_alert(level, relation).await;
            (
                Method::POST,
                "/api/v1/alerts/bulk".into(),
                Some(json!({"action": "acknowledge", "ids": [alert]})),
            )
        }
        Case::AlertStream => (Method::GET, "/api/v1/alerts/stream".into(), None),
        Case::ImportRules => (
            Method::POST,
            "/api/v1/rules/import?name=matrix.yml".into(),
            // JSON is YAML: a one-rule document with an id of its own.
            Some(json!({
                "title": "Matrix import",
                "id": nigehban_app::model::UserId::new().to_string(),
                "logsource": {"product": "windows", "service": "security"},
                "detection": {"sel": {"EventID": 4624}, "condition": "sel"},
            })),
        ),
        Case::SetPlatformRuleState => (
            Method::PUT,
            format!("/api/v1/rules/{MATRIX_RULE}/platform"),
            Some(json!({"enabled": true})),
        ),
        Case::ListRules => (
            Method::GET,
            format!("/api/v1/rules?tenant={}", tenant.id),
            None,
        ),
        Case::GetRule => (
            Method::GET,
            format!("/api/v1/rules/{MATRIX_RULE}?tenant={}", tenant.id),
            None,
        ),
        Case::SetTenantRuleState => (
            Method::PUT,
            format!("/api/v1/rules/{MATRIX_RULE}/tenants/{}", tenant.id),
            Some(json!({"enabled": false})),
        ),
        Case::InheritTenantRuleState => (
            Method::DELETE,
            format!("/api/v1/rules/{MATRIX_RULE}/tenants/{}", tenant.id),
            None,
        ),
        Case::ListRuleFilters => (
            Method::GET,
            format!("/api/v1/rules/filters?under={}", tenant.id),
            None,
        ),
        Case::AddRuleFilter => (
            Method::POST,
            "/api/v1/rules/filters".into(),
            Some(json!({"tenant": tenant.id, "yaml": matrix_filter_yaml()})),
        ),
        Case::RemoveRuleFilter => {
            let filter = tree.fresh_filter(level, relation).await;
            (
                Method::DELETE,
                format!("/api/v1/rules/filters/{}", filter.id),
                None,
            )
        }
        Case::TestRule => (
            Method::POST,
            "/api/v1/rules/test".into(),
            Some(json!({"rule_id": MATRIX_RULE, "hours": 1, "tenant": tenant.id})),
        ),
        Case::Login | Case::Logout | Case::Session | Case::ChangePassword => {
            unreachable!("caller-scoped rows are built in run_caller_row")
        }
        Case::Healthz => (Method::GET, "/healthz".into(), None),
        Case::Readyz => (Method::GET, "/readyz".into(), None),
        Case::Metrics => (Method::GET, "/metrics".into(), None),
    }
}

/// How a matrix caller authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Session,
    Token,
}

async fn send_as(
    tree: &Tree,
    credentials: Option<&Credentials>,
    via: Via,
    (method, uri, body): (Method, String, Option<serde_json::Value>),
) -> crate::harness::Answer {
    let mut request = call(method, &uri);
    if let Some(credentials) = credentials {
        request = match via {
            Via::Session => request.session(credentials),
            Via::Token => request.bearer(&credentials.token),
        };
    }
    let stream = uri.starts_with("/api/v1/alerts/stream");
    let bulk = uri == "/api/v1/alerts/bulk";
    let request = match body {
        // A bare JSON string stands for a file upload's text (the incident evidence rows).
        Some(serde_json::Value::String(text)) => request.raw("text/plain", text),
        Some(body) => request.json(&body),
        None => request.empty(),
    };
    if stream {
        return open_stream(tree, request).await;
    }
    let answer = tree.platform.send(request).await;
    if bulk {
        return bulk_result(answer);
    }
    answer
}

/// Opens a live stream and answers with its status and headers only (its
/// body never ends); an error answer is read whole.
async fn open_stream(
    tree: &Tree,
    request: axum::http::Request<axum::body::Body>,
) -> crate::harness::Answer {
    use tower::ServiceExt as _;
    let response = tree.platform.router.clone().oneshot(request).await.unwrap();
    if response.status() != StatusCode::OK {
        use http_body_util::BodyExt as _;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        return crate::harness::Answer {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
            json: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        };
    }
    let content_type = response.headers()["content-type"].to_str().unwrap_or("");
    assert_eq!(content_type, "text/event-stream", "the stream's type");
    crate::harness::Answer {
        status: response.status(),
        headers: response.headers().clone(),
        text: String::new(),
        json: serde_json::Value::Null,
    }
}

/// A bulk answer (always 200 when the request is well formed) read as the
/// answer for its one alert: 200 with the alert, or the alert's own error
/// with the status that error has everywhere else.
fn bulk_result(answer: crate::harness::Answer) -> crate::harness::Answer {
    if answer.status != StatusCode::OK {
        return answer;
    }
    let results = answer.json["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(results.len(), 1, "one result per alert: {}", answer.text);
    let result = &results[0];
    if result["ok"] == true {
        return crate::harness::Answer {
            status: StatusCode::OK,
            headers: answer.headers,
            text: result["alert"].to_string(),
            json: result["alert"].clone(),
        };
    }
    let status = match result["error"]["code"].as_str() {
        Some("forbidden") => StatusCode::FORBIDDEN,
        Some("not_found") => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    crate::harness::Answer {
        status,
        headers: answer.headers,
        text: result.to_string(),
        json: json!({"error": result["error"]}),
    }
}

/// Checks one answer against its expectation; returns a line describing a mismatch.
fn check(
    row: &Row,
    who: &str,
    relation: &str,
    expect: Expect,
    answer: &crate::harness::Answer,
) -> Option<String> {
    let (status, code) = match expect {
        Expect::Allow(status) => (status, None),
        Expect::Forbidden => (StatusCode::FORBIDDEN, Some("forbidden")),
        Expect::NotFound => (StatusCode::NOT_FOUND, Some("not_found")),
        Expect::Unauthenticated => (StatusCode::UNAUTHORIZED, Some("unauthenticated")),
    };
    let code_ok = code.is_none_or(|code| answer.code() == code);
    (answer.status != status || !code_ok).then(|| {
        format!(
            "{} {} as {who} on {relation}: expected {status} {}, got {} {}",
            row.method,
            row.path,
            code.unwrap_or(""),
            answer.status,
            answer.text.chars().take(200).collect::<String>()
        )
    })
}

/// The tenant a list item belongs to (a tenant list's items are tenants).
fn item_tenant(case: Case, item: &serde_json::Value) -> Option<String> {
    let field = if case == Case::ListTenants {
        "id"
    } else {
        "tenant"
    };
    item[field].as_str().map(str::to_owned)
}

/// Checks what an allowed answer holds: a get answers the record asked for;
/// a list holds only records of the subtree of the tenant it was asked for
/// (of the caller's own tenant alone, for an own-tenant reach) — never one of
/// an ancestor, sibling or unrelated tenant. `None` when it holds.
async fn check_content(
    tree: &Tree,
    row: &Row,
    reach: Reach,
    level: Level,
    target: &Tenant,
    uri: &str,
    answer: &crate::harness::Answer,
) -> Option<String> {
    let json = &answer.json;
    let path = uri.split('?').next().unwrap_or(uri);
    if let Case::Incident(case) = row.case {
        return incident_rows::check_content(tree, case, level, target, uri, answer).await;
    }
    if let Case::Duty(case) = row.case {
        return duty_rows::check_content(tree, case, level, target, uri, answer).await;
    }
    if let Case::Intel(case) = row.case {
        return intel_rows::check_content(tree, case, level, target, uri, answer).await;
    }
    match row.case {
        Case::ListRules
        | Case::GetRule
        | Case::SetTenantRuleState
        | Case::InheritTenantRuleState => {
            // Each rule answers for the tenant asked for, with the overrides of its subtree only.
            let items = match json["items"].as_array() {
                Some(items) => items.clone(),
                None => vec![json.clone()],
            };
            if items.is_empty() || (row.case == Case::GetRule && json["id"] != MATRIX_RULE) {
                return Some(format!("not the matrix rule: {}", answer.text));
            }
            let target_id = target.id.to_string();
            for item in &items {
                if item["tenant"] != target_id.as_str() {
                    return Some(format!(
                        "state for {} when {target_id} was asked",
                        item["tenant"]
                    ));
                }
                for o in item["overrides"].as_array().into_iter().flatten() {
                    let tenant = o["tenant"].as_str().unwrap_or_default();
                    if !tree.path(tenant).await.contains(&target_id) {
                        return Some(format!(
                            "an override of {tenant}, outside the subtree of {target_id}"
                        ));
                    }
                }
            }
            None
        }
        Case::TestRule => {
            let target_id = target.id.to_string();
            for d in json["detections"].as_array().into_iter().flatten() {
                let tenant = d["tenant"].as_str().unwrap_or_default();
                if !tree.path(tenant).await.contains(&target_id) {
                    return Some(format!(
                        "a detection of {tenant}, outside the subtree of {target_id}"
                    ));
                }
            }
            json["events_examined"].is_u64().then_some(()).map_or_else(
                || Some(format!("no trial report: {}", answer.text)),
                |()| None,
            )
        }
        Case::GetTenant | Case::GetUser | Case::GetToken | Case::GetSensor => {
            let asked = path.rsplit('/').next();
            (json["id"].as_str() != asked)
                .then(|| format!("answered record {} when {asked:?} was asked", json["id"]))
        }
        Case::GetAlert => {
            let asked = path.rsplit('/').next();
            (json["alert"]["id"].as_str() != asked).then(|| {
                format!(
                    "answered alert {} when {asked:?} was asked",
                    json["alert"]["id"]
                )
            })
        }
        Case::AssignAlert
        | Case::AcknowledgeAlert
        | Case::CloseAlert
        | Case::ReopenAlert
        | Case::CommentAlert => {
            // /api/v1/alerts/{id}/...
            let asked = path.split('/').nth(4);
            let answered = if row.case == Case::CommentAlert {
                json["alert"].as_str()
            } else {
                json["id"].as_str()
            };
            let status = json["status"].as_str();
            let expected_status = match row.case {
                Case::AcknowledgeAlert => Some("acknowledged"),
                Case::CloseAlert => Some("closed"),
                Case::ReopenAlert => Some("new"),
                _ => None,
            };
            if answered != asked {
                Some(format!(
                    "answered alert {answered:?} when {asked:?} was changed"
                ))
            } else if expected_status.is_some() && status != expected_status {
                Some(format!(
                    "the alert is {status:?}, expected {expected_status:?}"
                ))
            } else {
                None
            }
        }
        Case::EventFields => {
            let items = json["items"].as_array()?;
            (!items
                .iter()
                .any(|f| f["name"] == "host.name" && f["type"] == "keyword"))
            .then(|| format!("host.name is not among the fields: {}", answer.text))
        }
        Case::AggregateEvents => (!json["total"].is_u64() || json["top"]["field"] != "host.name")
            .then(|| format!("not the counts asked for: {}", answer.text)),
        Case::BulkAlerts => (json["status"].as_str() != Some("acknowledged"))
            .then(|| format!("the bulk-acknowledged alert is {}", json["status"])),
        Case::SensorTokens | Case::SensorHealthHistory => {
            // /api/v1/sensors/{id}/...
            let sensor = path.split('/').nth(4);
            let items = json["items"].as_array()?;
            let others: Vec<&serde_json::Value> = items
                .iter()
                .filter(|item| item["sensor"].as_str() != sensor)
                .collect();
            (!others.is_empty())
                .then(|| format!("items of other sensors than {sensor:?}: {others:?}"))
        }
        Case::ListTenants
        | Case::ListUsers
        | Case::ListTokens
        | Case::ListAudit
        | Case::ListSensors
        | Case::SensorStatuses
        | Case::SensorHealthEvents
        | Case::ListRuleFilters
        | Case::SearchEvents
        | Case::ListAlerts => {
            let Some(items) = json["items"].as_array() else {
                return Some(format!("no items: {}", answer.text));
            };
            let own = tree.own(level).id.to_string();
            let target_id = target.id.to_string();
            let mut outside = Vec::new();
            for item in items {
                let Some(tenant) = item_tenant(row.case, item) else {
                    return Some(format!("an item without its tenant: {item}"));
                };
                let inside = tree.path(&tenant).await.contains(&target_id)
                    && (reach != Reach::O || tenant == own);
                if !inside {
                    outside.push(tenant);
                }
            }
            if !outside.is_empty() {
                return Some(format!(
                    "{} of {} items belong to tenants outside the subtree of {target_id}: {outside:?}",
                    outside.len(),
                    items.len()
                ));
            }
            // The list of a tenant holds the tenant itself.
            (row.case == Case::ListTenants
                && !items.iter().any(|item| item["id"] == target_id.as_str()))
            .then(|| format!("the tenant list under {target_id} lacks it"))
        }
        _ => None,
    }
}

async fn run_matrix(via: Via) {
    let tree = Tree::build(Platform::new().await).await;
    let rows: Vec<&Row> = ROWS
        .iter()
        .chain(incident_rows::ROWS)
        .chain(duty_rows::ROWS)
        .chain(intel_rows::ROWS)
        .collect();
    let calls = run_rows(&tree, &rows, via).await;
    assert!(calls > 2500, "the matrix made only {calls} calls");
}

/// The duty roster rows on SQLite, by session and by API token (also in the whole matrix).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duty_rows_on_sqlite() {
    let tree = Tree::build(Platform::new().await).await;
    let rows: Vec<&Row> = duty_rows::ROWS.iter().collect();
    for via in [Via::Session, Via::Token] {
        let calls = run_rows(&tree, &rows, via).await;
        assert!(calls > 1000, "the duty rows made only {calls} calls");
    }
}

/// The duty roster rows on PostgreSQL, by session and by API token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duty_rows_on_postgresql() {
    let Some(platform) = Platform::on_postgres().await else {
        return;
    };
    let tree = Tree::build(platform).await;
    let rows: Vec<&Row> = duty_rows::ROWS.iter().collect();
    for via in [Via::Session, Via::Token] {
        let calls = run_rows(&tree, &rows, via).await;
        assert!(calls > 1000, "the duty rows made only {calls} calls");
    }
}

/// The shared-intelligence rows on SQLite and PostgreSQL, by session and by
/// API token (also in the whole matrix).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intel_rows_on_sqlite_and_postgresql() {
    let mut platforms = vec![Platform::new().await];
    platforms.extend(Platform::on_postgres().await);
    for platform in platforms {
        let tree = Tree::build(platform).await;
        let rows: Vec<&Row> = intel_rows::ROWS.iter().collect();
        for via in [Via::Session, Via::Token] {
            let calls = run_rows(&tree, &rows, via).await;
            assert!(calls > 500, "the intel rows made only {calls} calls");
        }
    }
}

/// The incident rows on PostgreSQL, by session and by API token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_rows_on_postgresql() {
    let Some(platform) = Platform::on_postgres().await else {
        return;
    };
    let tree = Tree::build(platform).await;
    let rows: Vec<&Row> = incident_rows::ROWS.iter().collect();
    for via in [Via::Session, Via::Token] {
        let calls = run_rows(&tree, &rows, via).await;
        assert!(calls > 2000, "the incident rows made only {calls} calls");
    }
}

/// Runs `rows` on `tree` for every role, level and relation; panics with
/// every mismatch; returns how many calls were made.
async fn run_rows(tree: &Tree, rows: &[&Row], via: Via) -> usize {
    incident_rows::seed(tree).await;
    duty_rows::seed(tree).await;
    intel_rows::seed(tree).await;
    let mut failures = Vec::new();
    let mut calls = 0;
    for row in rows.iter().copied() {
        for role in Role::ALL {
            let who = format!("{role} ({via:?})");
            match row.scope {
                Scope::Tenant(reaches) => {
                    for level in Level::ALL {
                        for relation in Relation::ALL {
                            let expect = if row.token_refused && via == Via::Token {
                                // Refused before the target is looked at.
                                Expect::Forbidden
                            } else {
                                expect_tenant(reaches, role, relation)
                                    .unwrap_or(Expect::Allow(row.success))
                            };
                            let request = request_for(tree, level, row.case, role, relation).await;
                            let uri = request.1.clone();
                            let answer =
                                send_as(tree, tree.callers.get(&(level, role)), via, request).await;
                            calls += 1;
                            let place = format!("{relation:?} at {level:?} level");
                            let mismatch = check(row, &who, &place, expect, &answer);
                            if mismatch.is_none() && matches!(expect, Expect::Allow(_)) {
                                let reach = reaches[role_index(role)];
                                let target = tree.tenant_in(level, relation);
                                failures.extend(
                                    check_content(tree, row, reach, level, target, &uri, &answer)
                                        .await
                                        .map(|problem| {
                                            format!(
                                                "{} {} as {who} on {place}: {problem}",
                                                row.method, row.path
                                            )
                                        }),
                                );
                                if row.case == Case::MoveTenant {
                                    tree.forget_parents();
                                }
                            }
                            failures.extend(mismatch);
                        }
                    }
                }
                Scope::Role(reaches) => {
                    for level in Level::ALL {
                        let expect = if reaches[role_index(role)] == Reach::N {
                            Expect::Forbidden
                        } else {
                            Expect::Allow(row.success)
                        };
                        let request = request_for(tree, level, row.case, role, Relation::Own).await;
                        let uri = request.1.clone();
                        let answer =
                            send_as(tree, tree.callers.get(&(level, role)), via, request).await;
                        calls += 1;
                        let mismatch =
                            check(row, &who, &format!("{level:?} level"), expect, &answer);
                        // The MISP feed's contents: the caller's own view.
                        if let (Case::Intel(case), None, Expect::Allow(_)) =
                            (row.case, &mismatch, expect)
                        {
                            let own = tree.tenant_in(level, Relation::Own);
                            failures.extend(
                                intel_rows::check_content(tree, case, level, own, &uri, &answer)
                                    .await
                                    .map(|problem| {
                                        format!("{} {} as {who}: {problem}", row.method, row.path)
                                    }),
                            );
                        }
                        failures.extend(mismatch);
                    }
                }
                Scope::WholeLog => {
                    for (credentials, place) in [
                        (&tree.sector_callers(), "sector CERT"),
                        (&tree.in_national, "national CERT"),
                    ] {
                        let allowed = place == "national CERT"
                            && matches!(role, Role::Administrator | Role::Auditor);
                        let expect = if allowed {
                            Expect::Allow(row.success)
                        } else {
                            Expect::Forbidden
                        };
                        let request =
                            request_for(tree, Level::Sector, row.case, role, Relation::Own).await;
                        let answer = send_as(tree, credentials.get(&role), via, request).await;
                        calls += 1;
                        failures.extend(check(row, &who, place, expect, &answer));
                    }
                }
                Scope::PlatformRules => {
                    for (credentials, place) in [
                        (&tree.sector_callers(), "sector CERT"),
                        (&tree.in_national, "national CERT"),
                    ] {
                        let allowed = place == "national CERT" && role == Role::Administrator;
                        let expect = if allowed {
                            Expect::Allow(row.success)
                        } else {
                            Expect::Forbidden
                        };
                        let request =
                            request_for(tree, Level::Sector, row.case, role, Relation::Own).await;
                        let answer = send_as(tree, credentials.get(&role), via, request).await;
                        calls += 1;
                        failures.extend(check(row, &who, place, expect, &answer));
                        if allowed && row.case == Case::ImportRules && answer.json["added"] != 1 {
                            failures.push(format!("import as {who}: {}", answer.text));
                        }
                    }
                }
                Scope::Caller => {
                    let (_, credentials) = tree.fresh_caller(role).await;
                    let request = match row.case {
                        Case::Logout => (Method::POST, "/api/v1/auth/logout".to_owned(), None),
                        Case::Session => (Method::GET, "/api/v1/auth/session".to_owned(), None),
                        Case::ChangePassword => (
                            Method::POST,
                            "/api/v1/auth/password".to_owned(),
                            Some(
                                json!({"current_password": crate::harness::PASSWORD, "new_password": "a brand new passphrase"}),
                            ),
                        ),
                        Case::Incident(case) => {
                            incident_rows::request(tree, case, &tree.sector_a).await
                        }
                        Case::Duty(case) => duty_rows::request(tree, case, &tree.sector_a).await,
                        other => unreachable!("{other:?} is not caller-scoped"),
                    };
                    let expect = if row.token_refused && via == Via::Token {
                        Expect::Forbidden
                    } else {
                        Expect::Allow(row.success)
                    };
                    let answer = send_as(tree, Some(&credentials), via, request).await;
                    calls += 1;
                    failures.extend(check(row, &who, "themself", expect, &answer));
                    if let Case::Duty(case) = row.case {
                        failures.extend(duty_rows::check_unscoped(case, &answer));
                    }
                }
                Scope::Sensor => {
                    // A person's session or API token is not a sensor's ingest token.
                    let request =
                        request_for(tree, Level::Sector, row.case, role, Relation::Own).await;
                    let answer =
                        send_as(tree, tree.callers.get(&(Level::Sector, role)), via, request).await;
                    calls += 1;
                    failures.extend(check(row, &who, "-", Expect::Unauthenticated, &answer));
                }
                Scope::Public => {
                    let request = match row.case {
                        Case::Login => {
                            let (name, _) = tree.fresh_caller(role).await;
                            (
                                Method::POST,
                                "/api/v1/auth/login".to_owned(),
                                Some(
                                    json!({"username": name, "password": crate::harness::PASSWORD}),
                                ),
                            )
                        }
                        _ => request_for(tree, Level::Sector, row.case, role, Relation::Own).await,
                    };
                    let answer =
                        send_as(tree, tree.callers.get(&(Level::Sector, role)), via, request).await;
                    calls += 1;
                    failures.extend(check(row, &who, "-", Expect::Allow(row.success), &answer));
                    if let Case::Duty(case) = row.case {
                        failures.extend(duty_rows::check_unscoped(case, &answer));
                    }
                }
            }
        }
        // A sensor's own token is accepted whatever the tenant it belongs to,
        // and its events are stamped with that tenant (checked in `telemetry.rs`).
        if row.scope == Scope::Sensor {
            for relation in Relation::ALL {
                let issued = tree.fresh_sensor(Level::Sector, relation).await;
                let answer = tree
                    .platform
                    .send(
                        call(Method::POST, row.path)
                            .bearer(issued.secret.expose())
                            .raw("application/x-ndjson", "{\"message\":\"matrix probe\"}\n"),
                    )
                    .await;
                calls += 1;
                failures.extend(check(
                    row,
                    "sensor token",
                    &format!("{relation:?}"),
                    Expect::Allow(row.success),
                    &answer,
                ));
                if answer.status == StatusCode::ACCEPTED && answer.json["accepted"] != 1 {
                    failures.push(format!("ingest by a {relation:?} sensor: {}", answer.text));
                }
            }
        }
        // Without credentials: 401 for everything but the public operations.
        if row.scope != Scope::Public {
            let request = match row.scope {
                Scope::Caller => (
                    row.method.parse().unwrap(),
                    row.path.to_owned(),
                    (row.method != "GET")
                        .then(|| json!({"current_password": "x", "new_password": "y"})),
                ),
                _ => {
                    request_for(
                        tree,
                        Level::Sector,
                        row.case,
                        Role::Administrator,
                        Relation::Own,
                    )
                    .await
                }
            };
            let answer = send_as(tree, None, via, request).await;
            calls += 1;
            if answer.status != StatusCode::UNAUTHORIZED || answer.code() != "unauthenticated" {
                failures.push(format!(
                    "{} {} without credentials: expected 401 unauthenticated, got {} {}",
                    row.method, row.path, answer.status, answer.text
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {calls} calls did not match the matrix:\n{}",
        failures.len(),
        failures.join("\n")
    );
    calls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_by_session() {
    run_matrix(Via::Session).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_by_api_token() {
    run_matrix(Via::Token).await;
}

#[test]
fn every_documented_operation_is_in_the_matrix() {
    let document = serde_json::to_value(nigehban_server::openapi()).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in [
            "get", "put", "post", "delete", "options", "head", "patch", "trace",
        ] {
            if item.get(method).is_none() {
                continue;
            }
            documented.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    let in_matrix: BTreeSet<(String, String)> = ROWS
        .iter()
        .chain(incident_rows::ROWS)
        .chain(duty_rows::ROWS)
        .chain(intel_rows::ROWS)
        .map(|row| (row.method.to_owned(), row.path.to_owned()))
        .collect();
    let missing: Vec<_> = documented.difference(&in_matrix).collect();
    assert!(
        missing.is_empty(),
        "operations in the OpenAPI document with no row in the authorisation matrix: {missing:?}"
    );
    let stale: Vec<_> = in_matrix.difference(&documented).collect();
    assert!(
        stale.is_empty(),
        "matrix rows for operations the API does not document: {stale:?}"
    );
    assert!(
        documented.len() >= 47,
        "only {} operations documented",
        documented.len()
    );
}

/// A list endpoint, its case, who may read it, and every record it could hold (id → tenant).
type ListUnderTest<'a> = (&'static str, Case, [Reach; 8], &'a HashMap<String, String>);

/// Which callers' lists the exact test reads: the three levels, and the national CERT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seat {
    At(Level),
    National,
}

/// Every list answer, for a caller of every role at every level (the national
/// CERT included), holds exactly the records of the tenants the caller may
/// see — its own tenant and those below it, or its own tenant alone for an
/// own-tenant reach — and nothing of an ancestor, sibling or unrelated tenant.
/// Run on a tree nothing else changes, so that every record is known.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_hold_exactly_what_each_caller_may_see() {
    let tree = Tree::build(Platform::new().await).await;
    let platform = &tree.platform;
    let tenants = [
        &tree.national,
        &tree.sector_a,
        &tree.org_a1,
        &tree.unit_a1a,
        &tree.shift_a1a_i,
        &tree.unit_a1b,
        &tree.org_a2,
        &tree.sector_b,
        &tree.org_b1,
    ];
    // One sensor per tenant, each with a health event and an event sent.
    let mut sensors: HashMap<String, String> = HashMap::new();
    let mut health_events: HashMap<String, String> = HashMap::new();
    let mut alerts: HashMap<String, String> = HashMap::new();
    for tenant in tenants {
        let alert = crate::alerts::raise_in(platform, tenant.id).await;
        alerts.insert(alert.to_string(), tenant.id.to_string());
        let issued = platform.sensor(tenant).await;
        let event = platform
            .app
            .sensors()
            .record_health(nigehban_app::SensorHealthReport {
                sensor: issued.sensor.id,
                at: nigehban_app::model::Timestamp::now(),
                kind: nigehban_app::model::SensorHealthKind::Silent {
                    since: nigehban_app::model::Timestamp::now(),
                    expected_interval_seconds: 60,
                },
            })
            .await
            .unwrap();
        health_events.insert(event.id.to_string(), tenant.id.to_string());
        let sent = platform
            .send(
                call(Method::POST, "/api/v1/ingest")
                    .bearer(issued.secret.expose())
                    .raw(
                        "application/x-ndjson",
                        format!("{{\"message\":\"list probe of {}\"}}\n", tenant.name),
                    ),
            )
            .await;
        assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.text);
        sensors.insert(issued.sensor.id.to_string(), tenant.id.to_string());
    }
    let national_admin = &tree.in_national[&Role::Administrator];
    // Wait until every event is searchable.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let events: HashMap<String, String> = loop {
        let found = platform
            .send(
                call(Method::GET, "/api/v1/events?limit=1000")
                    .bearer(&national_admin.token)
                    .empty(),
            )
            .await;
        assert_eq!(found.status, StatusCode::OK, "{}", found.text);
        let items = found.json["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= tenants.len() || std::time::Instant::now() > deadline {
            break items
                .iter()
                .map(|e| {
                    (
                        e["id"].as_str().unwrap().to_owned(),
                        e["tenant"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(events.len(), tenants.len(), "events indexed: {events:?}");

    // Everything on the platform, read by the national administrator: users,
    // tokens and the audit log (records made by the harness besides ours).
    let universe = |path: &'static str, case: Case| {
        let token = national_admin.token.clone();
        async move {
            let answer = platform
                .send(
                    call(Method::GET, &format!("{path}?limit=1000"))
                        .bearer(&token)
                        .empty(),
                )
                .await;
            assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text);
            assert!(answer.json["next_cursor"].is_null(), "{path} spans pages");
            answer.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| {
                    (
                        item["id"].as_str().unwrap().to_owned(),
                        item_tenant(case, item).unwrap(),
                    )
                })
                .collect::<HashMap<String, String>>()
        }
    };
    // One Sigma filter per tenant.
    let mut filters: HashMap<String, String> = HashMap::new();
    for tenant in tenants {
        let filter = nigehban_node::read_filter(tenant.id, &matrix_filter_yaml()).unwrap();
        let added = platform
            .app
            .rules()
            .add_filter(&platform.operator, filter)
            .await
            .unwrap();
        filters.insert(added.id.to_string(), tenant.id.to_string());
    }
    let users = universe("/api/v1/users", Case::ListUsers).await;
    let tokens = universe("/api/v1/tokens", Case::ListTokens).await;
    let audit = universe("/api/v1/audit", Case::ListAudit).await;
    let all_tenants: HashMap<String, String> = tenants
        .iter()
        .map(|t| (t.id.to_string(), t.id.to_string()))
        .collect();
    // Every caller signed in through the API and holds a token; every tenant's creation is audited.
    assert_eq!(users.len(), 1 + 4 * Role::ALL.len(), "{users:?}");
    assert_eq!(tokens.len(), 4 * Role::ALL.len(), "{tokens:?}");
    assert!(audit.len() > tenants.len() + users.len() + sensors.len());

    let lists: [ListUnderTest; 10] = [
        ("/api/v1/tenants", Case::ListTenants, EVERYONE, &all_tenants),
        ("/api/v1/users", Case::ListUsers, VIEW_USERS, &users),
        ("/api/v1/tokens", Case::ListTokens, ADMIN_AUDITOR, &tokens),
        ("/api/v1/audit", Case::ListAudit, ADMIN_AUDITOR, &audit),
        ("/api/v1/sensors", Case::ListSensors, VIEW_SENSORS, &sensors),
        (
            "/api/v1/sensor-health",
            Case::SensorStatuses,
            VIEW_SENSORS,
            &sensors,
        ),
        (
            "/api/v1/sensor-health/events",
            Case::SensorHealthEvents,
            VIEW_SENSORS,
            &health_events,
        ),
        ("/api/v1/events", Case::SearchEvents, SEARCH_EVENTS, &events),
        ("/api/v1/alerts", Case::ListAlerts, VIEW_ALERTS, &alerts),
        (
            "/api/v1/rules/filters",
            Case::ListRuleFilters,
            VIEW_RULES,
            &filters,
        ),
    ];
    let mut failures = Vec::new();
    let mut checked = 0;
    for seat in [
        Seat::National,
        Seat::At(Level::Sector),
        Seat::At(Level::Organisation),
        Seat::At(Level::Unit),
    ] {
        let home = match seat {
            Seat::National => &tree.national,
            Seat::At(level) => tree.own(level),
        };
        let home_id = home.id.to_string();
        let mut subtree = BTreeSet::new();
        for tenant in tenants {
            if tree.path(&tenant.id.to_string()).await.contains(&home_id) {
                subtree.insert(tenant.id.to_string());
            }
        }
        for role in Role::ALL {
            let credentials = match seat {
                Seat::National => &tree.in_national[&role],
                Seat::At(level) => &tree.callers[&(level, role)],
            };
            for (path, case, reaches, universe) in &lists {
                let reach = reaches[role_index(role)];
                // The sensor status board is one page (no `limit`); the others page.
                let uri = if matches!(*case, Case::SensorStatuses | Case::ListRuleFilters) {
                    (*path).to_owned()
                } else {
                    format!("{path}?limit=1000")
                };
                let answer = platform
                    .send(call(Method::GET, &uri).bearer(&credentials.token).empty())
                    .await;
                checked += 1;
                let who = format!("{role} at {seat:?}: GET {path}");
                if reach == Reach::N {
                    if answer.status != StatusCode::FORBIDDEN {
                        failures.push(format!(
                            "{who}: expected 403, got {} {}",
                            answer.status, answer.text
                        ));
                    }
                    continue;
                }
                if answer.status != StatusCode::OK {
                    failures.push(format!(
                        "{who}: expected 200, got {} {}",
                        answer.status, answer.text
                    ));
                    continue;
                }
                if !answer.json["next_cursor"].is_null() {
                    failures.push(format!("{who}: the answer spans pages"));
                }
                let listed: BTreeSet<String> = answer.json["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|item| {
                        let key = if *case == Case::SensorStatuses {
                            "sensor"
                        } else {
                            "id"
                        };
                        item[key].as_str().unwrap_or_default().to_owned()
                    })
                    .collect();
                let expected: BTreeSet<String> = universe
                    .iter()
                    .filter(|(_, tenant)| match reach {
                        Reach::O => **tenant == home_id,
                        _ => subtree.contains(*tenant),
                    })
                    .map(|(id, _)| id.clone())
                    .collect();
                if listed != expected {
                    failures.push(format!(
                        "{who}: listed {} records, expected {}\n  not expected: {:?}\n  missing: {:?}",
                        listed.len(),
                        expected.len(),
                        listed.difference(&expected).collect::<Vec<_>>(),
                        expected.difference(&listed).collect::<Vec<_>>()
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} list answers held other than the caller's reach:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(checked, 4 * Role::ALL.len() * lists.len());
}
