//! The one authorisation policy: who may do what to which tenant's records.
//!
//! Every service in this crate asks [`decide`] before it touches the store,
//! and nothing else decides. Two questions, in this order:
//!
//! 1. **Can the caller see the record at all?** A tenant sees its own records
//!    and those of the tenants below it — never a sibling's, never upward.
//!    (PRODUCT.md: parents see their children's incidents and alerts as
//!    reporting obligations require.) A record the caller cannot see is
//!    [`Decision::NotFound`]: the caller must not learn it exists.
//! 2. **May the caller's role do this action there?** The role × action
//!    table [`RULES`] says, with a [`Reach`] per cell. A visible record the
//!    role may not act on is [`Decision::Forbidden`].
//!
//! Shared intelligence and advisories obey TLP 2.0 instead of the tree:
//! [`can_read_shared`] is the seam where those features plug in.
//!
//! Incidents are seen along both: by the tree of their custody (owner and
//! above, and the earlier owners they were escalated from) and, within their
//! TLP, by the organisations that reported them and the tenants they tasked.
//! [`IncidentStance`] says how a caller stands to one, [`incident_view`] how
//! much it sees, [`decide_incident`] what it may do.

use nigehban_model::{Role, TenantId, Tlp, UserId};

/// Something a caller wants to do to a record (or, for create, under a tenant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read a tenant.
    ViewTenant,
    /// Create a tenant under a parent (the record is the parent).
    CreateTenant,
    /// Rename a tenant.
    RenameTenant,
    /// Move a tenant under another parent.
    MoveTenant,
    /// Deactivate a tenant.
    DeactivateTenant,
    /// Read a user account.
    ViewUser,
    /// Create users, change their role, deactivate them, reset their password, end their sessions.
    AdministerUser,
    /// Read API tokens (never their secrets).
    ViewToken,
    /// Create API tokens for a tenant and role, revoke anyone's tokens.
    AdministerToken,
    /// Create and revoke one's own tokens, in one's own tenant and role.
    ManageOwnToken,
    /// Read the audit log.
    ReadAudit,
    /// Verify the whole audit chain.
    VerifyAudit,
    /// Take a backup of the database.
    TakeBackup,
    /// Read incidents.
    ViewIncident,
    /// Report an incident (a constituent to its CERT).
    ReportIncident,
    /// Work incidents: triage, assign, escalate, task, close.
    WorkIncident,
    /// Read alerts.
    ViewAlert,
    /// Triage alerts.
    TriageAlert,
    /// Publish shared intelligence and advisories from a tenant.
    PublishIntel,
    /// Read shared intelligence (indicators, their sightings) and report sightings.
    ViewIntel,
    /// Read aggregate figures (counts, trends, response times) — never raw records.
    ViewAggregates,
    /// Build and change duty rosters.
    ManageRoster,
    /// Read duty rosters, who is on call, holiday calendars, escalation
    /// policies, pages and the delivery log.
    ViewRoster,
    /// Acknowledge a page (stops its escalation).
    AcknowledgePage,
    /// Read sensors, their ingest tokens (never the secrets) and their health events.
    ViewSensor,
    /// Register sensors, change them, rotate and revoke their ingest tokens, deactivate them.
    AdministerSensor,
    /// Search the raw events that sensors sent (`GET /api/v1/events`).
    SearchEvents,
    /// Triage an organisation's incident report (into a new or an existing
    /// incident, or reject it): the CERTs above the reporter, never the reporter itself.
    TriageReport,
    /// Read detection rules, their filters and their state for a tenant.
    ViewRules,
    /// Import rules and set their platform-wide state: the national CERT's administrators.
    ImportRules,
    /// Enable or disable a rule for a tenant and its subtree, add and remove its filters.
    TuneRules,
}

impl Action {
    /// Every action, for tests and tables.
    pub const ALL: [Action; 31] = [
        Action::ViewTenant,
        Action::CreateTenant,
        Action::RenameTenant,
        Action::MoveTenant,
        Action::DeactivateTenant,
        Action::ViewUser,
        Action::AdministerUser,
        Action::ViewToken,
        Action::AdministerToken,
        Action::ManageOwnToken,
        Action::ReadAudit,
        Action::VerifyAudit,
        Action::TakeBackup,
        Action::ViewIncident,
        Action::ReportIncident,
        Action::WorkIncident,
        Action::ViewAlert,
        Action::TriageAlert,
        Action::PublishIntel,
        Action::ViewIntel,
        Action::ViewAggregates,
        Action::ManageRoster,
        Action::ViewRoster,
        Action::AcknowledgePage,
        Action::ViewSensor,
        Action::AdministerSensor,
        Action::SearchEvents,
        Action::TriageReport,
        Action::ViewRules,
        Action::ImportRules,
        Action::TuneRules,
    ];
}

/// The action in words, for error messages ("the analyst role may not `describe` here").
pub const fn describe(action: Action) -> &'static str {
    match action {
        Action::ViewTenant => "view this tenant",
        Action::CreateTenant => "create tenants",
        Action::RenameTenant => "rename tenants",
        Action::MoveTenant => "move this tenant",
        Action::DeactivateTenant => "deactivate this tenant",
        Action::ViewUser => "view users",
        Action::AdministerUser => "administer users",
        Action::ViewToken => "view API tokens",
        Action::AdministerToken => "administer API tokens",
        Action::ManageOwnToken => "manage its own API tokens",
        Action::ReadAudit => "read the audit log",
        Action::VerifyAudit => "verify the audit log",
        Action::TakeBackup => "take backups",
        Action::ViewIncident => "view incidents",
        Action::ReportIncident => "report incidents",
        Action::WorkIncident => "work incidents",
        Action::ViewAlert => "view alerts",
        Action::TriageAlert => "triage alerts",
        Action::PublishIntel => "publish intelligence",
        Action::ViewIntel => "read shared intelligence",
        Action::ViewAggregates => "view aggregate figures",
        Action::ManageRoster => "manage duty rosters",
        Action::ViewRoster => "view duty rosters",
        Action::AcknowledgePage => "acknowledge pages",
        Action::ViewSensor => "view sensors",
        Action::AdministerSensor => "administer sensors",
        Action::SearchEvents => "search events",
        Action::TriageReport => "triage incident reports",
        Action::ViewRules => "view detection rules",
        Action::ImportRules => "import detection rules or set their platform-wide state",
        Action::TuneRules => "enable, disable or filter detection rules",
    }
}

/// Where a record's tenant sits relative to the caller's tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relation {
    /// The caller's own tenant.
    Own,
    /// Below the caller's tenant (a child, grandchild, ...).
    Descendant,
    /// Above the caller's tenant (its parent, grandparent, ...).
    Ancestor,
    /// Beside the caller's tenant: the same parent.
    Sibling,
    /// Elsewhere in the tree (e.g. a cousin).
    Unrelated,
}

impl Relation {
    /// Every relation, for tests and tables.
    pub const ALL: [Relation; 5] = [
        Relation::Own,
        Relation::Descendant,
        Relation::Ancestor,
        Relation::Sibling,
        Relation::Unrelated,
    ];

    /// Whether the caller can see records of a tenant in this relation: its own subtree.
    pub const fn is_visible(self) -> bool {
        matches!(self, Relation::Own | Relation::Descendant)
    }
}

/// How far a role's permission for an action reaches in the caller's subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reach {
    /// Not at all.
    Never,
    /// The caller's own tenant only.
    OwnTenant,
    /// Strictly below the caller's tenant (e.g. moving a tenant: one cannot move one's own).
    Below,
    /// The caller's own tenant and every tenant below it.
    Subtree,
}

impl Reach {
    const fn covers(self, relation: Relation) -> bool {
        matches!(
            (self, relation),
            (Reach::OwnTenant, Relation::Own)
                | (Reach::Below, Relation::Descendant)
                | (Reach::Subtree, Relation::Own | Relation::Descendant)
        )
    }
}

/// The answer of the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// The caller sees the record but its role may not do this.
    Forbidden,
    /// The caller may not see the record: report it as not found.
    NotFound,
}

use Reach::{Below as B, Never as N, OwnTenant as O, Subtree as S};

/// The role × action table. Columns, in order: administrator, analyst,
/// responder, intel_analyst, duty_officer, constituent_reporter,
/// council_member, auditor. `S` = own tenant and below, `B` = strictly below,
/// `O` = own tenant only, `N` = never.
///
/// Telemetry intake:
///
/// - `AdministerSensor` (register, change, rotate or revoke ingest tokens,
///   deactivate) is for administrators of the sensor's organisation or of a
///   CERT above it. Duty officers do not get it: registering a sensor
///   decides which tenant receives a sender's events (an attribution with
///   consequences for other tenants), which is administration; a leaked
///   ingest token at night is the on-call administrator's to rotate.
/// - `ViewSensor` (sensors, their token metadata, their health history) is
///   for those who watch and administer monitoring in the subtree:
///   administrators, analysts, responders, duty officers and auditors;
///   constituent reporters see their own organisation's sensors only. Intel
///   analysts work on indicators, not on sensor set-up; council members see
///   aggregates only.
/// - `SearchEvents` (raw events) is for everyone who works with events in
///   the subtree — administrators (to check that intake stamps them right),
///   analysts, responders, intel analysts (retro-hunts), duty officers and
///   auditors (evidence) — and for constituent reporters in their own
///   organisation only; never for council members.
///
/// Incidents (see [`incident_view`] for who sees how much of one):
///
/// - `ViewIncident` is for those who handle incidents — analysts,
///   responders, intel analysts (who turn incidents into indicators), duty
///   officers — and constituent reporters (to follow what their reports
///   became). Administrators administer and auditors read the audit log, not
///   case files; council members see aggregates only (`ViewAggregates`,
///   `GET /api/v1/metrics/incidents`).
/// - `ReportIncident` files reports: constituent reporters for their own
///   organisation; analysts, responders and duty officers of a CERT also on
///   behalf of the organisations below it.
/// - `TriageReport` is the CERT's answer to a report: analysts, responders
///   and duty officers of a tenant *above* the reporting organisation (its
///   sectoral CERT, or the national CERT); never the reporter itself.
/// - `WorkIncident` changes an incident (fields, status, assignee,
///   observables, evidence, escalation, tasks, links, merges): analysts,
///   responders and duty officers of its custody.
///
/// The duty roster:
///
/// - `ManageRoster` (schedules, holiday calendars and their corrections,
///   escalation policies, contacts, the test page) is for administrators and
///   duty officers of the tenant or of a CERT above it.
/// - `ViewRoster` (who is on call, schedules, calendars, the coverage check,
///   the fairness ledger, pages and the delivery log) is for those who work
///   the CERT's watch: administrators, analysts, responders, intel analysts,
///   duty officers, and auditors (proof of who was told when); never
///   constituent reporters or council members.
/// - `AcknowledgePage` is for those who can be on call: administrators,
///   analysts, responders, intel analysts and duty officers. The signed link
///   in a message acknowledges without signing in, for the one page it names.
///
/// Shared intelligence (indicators and sightings; see [`can_read_indicator`]):
///
/// - `PublishIntel` (create, change, withdraw, delete a tenant's
///   indicators, import feeds) is for the tenant's own analysts and intel
///   analysts.
/// - `ViewIntel` (read indicators, their sightings, report a sighting) is
///   for those who act on intelligence: analysts, responders, intel
///   analysts and duty officers; constituent reporters for their own
///   organisation. Administrators run the platform, auditors read the
///   audit log, the council sees aggregates. Which indicators a reader
///   sees beyond its custody is TLP's decision, not the tree's.
///
/// Detection rules:
///
/// - `ViewRules` (rules, their state for a tenant, its filters) is for those
///   who watch and tune monitoring in the subtree: administrators, analysts,
///   responders, intel analysts, duty officers and auditors; never
///   constituent reporters or council members.
/// - `ImportRules` (import, the platform-wide flag) is the national CERT's
///   administrators': it is decided against the root tenant, which only
///   they hold as their own.
/// - `TuneRules` (a tenant's override, its filters) is for administrators
///   of the tenant or of a CERT above it.
#[rustfmt::skip]
pub const RULES: &[(Action, [Reach; 8])] = &[
    //                              admin analyst resp intel duty  report council audit
    (Action::ViewTenant,           [S,    S,      S,   S,    S,    S,     S,      S]),
    (Action::CreateTenant,         [S,    N,      N,   N,    N,    N,     N,      N]),
    (Action::RenameTenant,         [S,    N,      N,   N,    N,    N,     N,      N]),
    (Action::MoveTenant,           [B,    N,      N,   N,    N,    N,     N,      N]),
    (Action::DeactivateTenant,     [B,    N,      N,   N,    N,    N,     N,      N]),
    (Action::ViewUser,             [S,    S,      S,   S,    S,    S,     N,      S]),
    (Action::AdministerUser,       [S,    N,      N,   N,    N,    N,     N,      N]),
    (Action::ViewToken,            [S,    N,      N,   N,    N,    N,     N,      S]),
    (Action::AdministerToken,      [S,    N,      N,   N,    N,    N,     N,      N]),
    (Action::ManageOwnToken,       [O,    O,      O,   O,    O,    O,     O,      O]),
    (Action::ReadAudit,            [S,    N,      N,   N,    N,    N,     N,      S]),
    (Action::VerifyAudit,          [O,    N,      N,   N,    N,    N,     N,      O]),
    (Action::TakeBackup,           [O,    N,      N,   N,    N,    N,     N,      N]),
    (Action::ViewIncident,         [N,    S,      S,   S,    S,    S,     N,      N]),
    (Action::ReportIncident,       [N,    S,      S,   N,    S,    O,     N,      N]),
    (Action::WorkIncident,         [N,    S,      S,   N,    S,    N,     N,      N]),
    (Action::ViewAlert,            [N,    S,      S,   S,    S,    N,     N,      N]),
    (Action::TriageAlert,          [N,    S,      S,   N,    S,    N,     N,      N]),
    (Action::PublishIntel,         [N,    O,      N,   O,    N,    N,     N,      N]),
    (Action::ViewIntel,            [N,    S,      S,   S,    S,    O,     N,      N]),
    (Action::ViewAggregates,       [S,    S,      N,   S,    S,    N,     S,      S]),
    (Action::ManageRoster,         [S,    N,      N,   N,    S,    N,     N,      N]),
    (Action::ViewRoster,           [S,    S,      S,   S,    S,    N,     N,      S]),
    (Action::AcknowledgePage,      [S,    S,      S,   S,    S,    N,     N,      N]),
    (Action::ViewSensor,           [S,    S,      S,   N,    S,    O,     N,      S]),
    (Action::AdministerSensor,     [S,    N,      N,   N,    N,    N,     N,      N]),
    (Action::SearchEvents,         [S,    S,      S,   S,    S,    O,     N,      S]),
    (Action::TriageReport,         [N,    B,      B,   N,    B,    N,     N,      N]),
    (Action::ViewRules,            [S,    S,      S,   S,    S,    N,     N,      S]),
    (Action::ImportRules,          [O,    N,      N,   N,    N,    N,     N,      N]),
    (Action::TuneRules,            [S,    N,      N,   N,    N,    N,     N,      N]),
];

const fn role_column(role: Role) -> usize {
    match role {
        Role::Administrator => 0,
        Role::Analyst => 1,
        Role::Responder => 2,
        Role::IntelAnalyst => 3,
        Role::DutyOfficer => 4,
        Role::ConstituentReporter => 5,
        Role::CouncilMember => 6,
        Role::Auditor => 7,
    }
}

/// How far `role` may do `action`; an action missing from the table is never allowed.
pub fn reach(role: Role, action: Action) -> Reach {
    RULES
        .iter()
        .find(|(listed, _)| *listed == action)
        .map_or(Reach::Never, |(_, row)| row[role_column(role)])
}

/// The decision for a caller in `role` doing `action` on a record whose
/// tenant stands in `relation` to the caller's tenant.
pub fn decide(role: Role, action: Action, relation: Relation) -> Decision {
    if !relation.is_visible() {
        return Decision::NotFound;
    }
    if reach(role, action).covers(relation) {
        Decision::Allow
    } else {
        Decision::Forbidden
    }
}

/// Where `target` sits relative to `caller`, given both tenants' paths from
/// the root (root first, the tenant itself last).
pub fn relation(caller_path: &[TenantId], target_path: &[TenantId]) -> Relation {
    let (Some(caller), Some(target)) = (caller_path.last(), target_path.last()) else {
        return Relation::Unrelated;
    };
    if caller == target {
        Relation::Own
    } else if target_path.contains(caller) {
        Relation::Descendant
    } else if caller_path.contains(target) {
        Relation::Ancestor
    } else if caller_path.len() >= 2
        && target_path.len() >= 2
        && caller_path[caller_path.len() - 2] == target_path[target_path.len() - 2]
    {
        Relation::Sibling
    } else {
        Relation::Unrelated
    }
}

/// How a caller's tenant stands to an incident: the first of these that holds.
///
/// Each carries the [`Relation`] of the tenant that gives the stance (the
/// owner, the earlier owner, the participant) to the caller's tenant: `Own`
/// when it is the caller's own tenant, `Descendant` when it is below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IncidentStance {
    /// Custody: the caller's tenant owns the incident, or sits above its
    /// owner (parents see their children's incidents, as reporting
    /// obligations require).
    Custodian(Relation),
    /// The caller's tenant, or one below it, owned the incident before it
    /// was escalated upward: earlier owners keep seeing it.
    FormerCustodian(Relation),
    /// The caller's tenant, or one below it, reported the incident (a report
    /// of it was triaged into it) or was tasked with part of it.
    Participant(Relation),
    /// None of these: the caller must not learn that the incident exists.
    Outsider,
}

/// How much of an incident a caller sees, from nothing to everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IncidentView {
    /// Nothing: not listed, fetching it is "not found".
    Hidden,
    /// Only the caller's own part: its tasks (listed under `GET /api/v1/tasks`)
    /// and its reports, which name the incident's id; the incident itself is
    /// neither listed nor fetched.
    OwnPart,
    /// The incident's id, readable id, owner, TLP, PAP and status, and the
    /// caller's own tasks: what a participant needs to handle its part and
    /// follow the handling, nothing of what the incident is about.
    Limited,
    /// The incident's details (title, description, classification, severity,
    /// status, observables, regulatory clocks, the timeline entries meant for
    /// everyone or for the caller) without who else is involved: reporting
    /// and affected organisations, earlier owners, other tenants' tasks,
    /// evidence and links to other incidents are left out, except those of
    /// the caller's own subtree.
    Participant,
    /// Everything, evidence and its chain of custody included.
    Full,
}

/// How much of an incident labelled `tlp` a caller in `role` sees from `stance`.
///
/// - Custody (owner and above) and earlier owners see everything: the
///   national → sectoral → organisation chain that reported and escalated it.
/// - Participants — the reporting organisations and the tenants tasked
///   with part of it — see what the incident's TLP lets travel to a
///   recipient: at CLEAR, GREEN and AMBER the incident's details
///   ([`IncidentView::Participant`]); at AMBER+STRICT only enough to handle
///   their part ([`IncidentView::Limited`]: e.g. a tasked child CERT sees its
///   task, not the incident's details); at RED nothing beyond their own task
///   or report ([`IncidentView::OwnPart`]), since RED is for the people
///   already handling it.
/// - Roles without `ViewIncident` (administrators, council members,
///   auditors) see nothing of any incident.
pub fn incident_view(role: Role, stance: IncidentStance, tlp: Tlp) -> IncidentView {
    let relation = match stance {
        IncidentStance::Custodian(relation)
        | IncidentStance::FormerCustodian(relation)
        | IncidentStance::Participant(relation) => relation,
        IncidentStance::Outsider => return IncidentView::Hidden,
    };
    if !reach(role, Action::ViewIncident).covers(relation) {
        return IncidentView::Hidden;
    }
    match stance {
        IncidentStance::Custodian(_) | IncidentStance::FormerCustodian(_) => IncidentView::Full,
        IncidentStance::Participant(_) => match tlp {
            Tlp::Clear | Tlp::Green | Tlp::Amber => IncidentView::Participant,
            Tlp::AmberStrict => IncidentView::Limited,
            Tlp::Red => IncidentView::OwnPart,
        },
        IncidentStance::Outsider => IncidentView::Hidden,
    }
}

/// The decision for a caller in `role` doing `action` on an incident
/// labelled `tlp`, from `stance`:
///
/// - an outsider, or a participant who sees only its own part, gets
///   [`Decision::NotFound`]; a stakeholder whose role may not view incidents
///   gets [`Decision::Forbidden`];
/// - `ViewIncident`: allowed (how much is [`incident_view`]'s answer);
/// - `WorkIncident` (change fields, status, assignee, observables, add
///   evidence, escalate, task, link, merge): custody only, with the role's
///   `WorkIncident` reach; earlier owners and participants are refused;
/// - `ReportIncident` (add a note to the timeline, submit a regulatory
///   stage): anyone who sees the incident's details (participant view or
///   more) and whose role may report or work incidents there;
/// - anything else: refused.
///
/// A participant's work on its own task is decided on the task's assignee
/// tenant with [`decide`] (`WorkIncident`), not here.
pub fn decide_incident(role: Role, action: Action, stance: IncidentStance, tlp: Tlp) -> Decision {
    let relation = match stance {
        IncidentStance::Outsider => return Decision::NotFound,
        IncidentStance::Custodian(relation)
        | IncidentStance::FormerCustodian(relation)
        | IncidentStance::Participant(relation) => relation,
    };
    let view = incident_view(role, stance, tlp);
    if view == IncidentView::Hidden {
        return Decision::Forbidden;
    }
    if view == IncidentView::OwnPart {
        return Decision::NotFound;
    }
    let allowed = match action {
        Action::ViewIncident => true,
        Action::WorkIncident => {
            matches!(stance, IncidentStance::Custodian(_))
                && reach(role, Action::WorkIncident).covers(relation)
        }
        Action::ReportIncident => {
            view >= IncidentView::Participant
                && (reach(role, Action::ReportIncident).covers(relation)
                    || reach(role, Action::WorkIncident).covers(relation))
        }
        _ => false,
    };
    if allowed {
        Decision::Allow
    } else {
        Decision::Forbidden
    }
}

/// The decision for a caller in `role` linking an alert — of a tenant in
/// `alert` relation to the caller's, `under_owner` when that tenant is the
/// incident's owner or below it — to an incident labelled `tlp` it stands
/// to from `stance` (opening an incident from alerts is the same question
/// about the incident being opened):
///
/// - the caller must see the alert and may triage it (`TriageAlert`: the
///   link changes the alert); an alert it may not see is
///   [`Decision::NotFound`], exactly like one that does not exist;
/// - it must be allowed to change the incident ([`decide_incident`],
///   `WorkIncident`: custody only);
/// - the alert's tenant must be in the incident's custody (the owner's
///   subtree), so everyone who handles the incident may also see the
///   alerts it holds, and observables of one organisation's alerts never
///   reach an incident handled beside it: [`Decision::Forbidden`] otherwise
///   (escalate the incident to a CERT above both first).
pub fn decide_alert_link(
    role: Role,
    alert: Relation,
    under_owner: bool,
    stance: IncidentStance,
    tlp: Tlp,
) -> Decision {
    match decide(role, Action::TriageAlert, alert) {
        Decision::Allow => {}
        refused => return refused,
    }
    match decide_incident(role, Action::WorkIncident, stance, tlp) {
        Decision::Allow if under_owner => Decision::Allow,
        Decision::Allow => Decision::Forbidden,
        refused => refused,
    }
}

/// Who a piece of shared intelligence is addressed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recipient {
    /// A tenant (and, at TLP:AMBER, the tenants below it).
    Tenant(TenantId),
    /// A named person (TLP:RED is for named people only).
    User(UserId),
}

/// A reader of shared material.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    /// The reading user, if a user (or a token's owner) reads.
    pub user: Option<UserId>,
    /// The reader's role.
    pub role: Role,
    /// The reader's tenant path from the root (root first, the reader's tenant last).
    pub tenant_path: &'a [TenantId],
}

/// Whether `reader` may read material owned by tenant `owner`, labelled
/// `tlp`, addressed to `recipients` — TLP 2.0:
///
/// - CLEAR: anyone (it may leave the platform);
/// - GREEN: every tenant on the platform;
/// - AMBER: the recipient tenants and the tenants below them;
/// - AMBER+STRICT: the recipient tenants only;
/// - RED: the named recipients only.
///
/// The owning tenant always reads its own material. Council members read no
/// raw material at all. Reads at AMBER and above must also be written to the
/// audit log (`AuditLog::record_read`).
pub fn can_read_shared(
    reader: &Reader<'_>,
    owner: TenantId,
    tlp: Tlp,
    recipients: &[Recipient],
) -> bool {
    if reader.role == Role::CouncilMember {
        return false;
    }
    tlp_admits(reader.tenant_path, reader.user, owner, tlp, recipients)
}

/// Whether a tenant (`tenant_path`, root first) may be given material of
/// `owner` labelled `tlp` and addressed to `recipients` — for its people
/// (`user`) or its automated matching (`user: None`, which never reads
/// TLP:RED material addressed to people).
fn tlp_admits(
    tenant_path: &[TenantId],
    user: Option<UserId>,
    owner: TenantId,
    tlp: Tlp,
    recipients: &[Recipient],
) -> bool {
    let Some(own_tenant) = tenant_path.last() else {
        return false;
    };
    if *own_tenant == owner {
        return true;
    }
    let addressed_to_tenant = |tenant: &TenantId| recipients.contains(&Recipient::Tenant(*tenant));
    match tlp {
        Tlp::Clear | Tlp::Green => true,
        Tlp::Amber => tenant_path.iter().any(addressed_to_tenant),
        Tlp::AmberStrict => addressed_to_tenant(own_tenant),
        Tlp::Red => user.is_some_and(|user| recipients.contains(&Recipient::User(user))),
    }
}

/// Whether material labelled `tlp` may be given to someone who did not
/// authenticate at all (TAXII's public collection, when the server allows
/// it): TLP:CLEAR only, the one label that may leave the platform.
pub fn can_read_unauthenticated(tlp: Tlp) -> bool {
    tlp == Tlp::Clear
}

/// Whether `reader` may read an indicator owned by the tenant at the end of
/// `owner_path` (root first), labelled `tlp`, addressed to `recipients`.
///
/// The role must read intelligence at all (`ViewIntel`). The indicator's
/// custody — its owner and the CERTs above it, as for incidents — reads it
/// whatever its label, within the role's reach (a constituent reporter:
/// its own organisation's only). Everyone else reads it as TLP 2.0 says
/// ([`can_read_shared`]).
pub fn can_read_indicator(
    reader: &Reader<'_>,
    owner_path: &[TenantId],
    tlp: Tlp,
    recipients: &[Recipient],
) -> bool {
    let reach = reach(reader.role, Action::ViewIntel);
    if reach == Reach::Never {
        return false;
    }
    let (Some(owner), Some(own_tenant)) = (owner_path.last(), reader.tenant_path.last()) else {
        return false;
    };
    if owner_path.contains(own_tenant) {
        let relation = if owner == own_tenant {
            Relation::Own
        } else {
            Relation::Descendant
        };
        if reach.covers(relation) {
            return true;
        }
    }
    can_read_shared(reader, *owner, tlp, recipients)
}

/// Whether the events of the tenant at the end of `tenant_path` may be
/// matched against an indicator owned by the tenant at the end of
/// `owner_path`: the indicator's custody (its owner and the CERTs above
/// it), or as TLP 2.0 lets the tenant have it. TLP:RED goes to named
/// people only, so it is matched for its custody alone; the owner's own
/// events are always matched.
pub fn tenant_may_use_indicator(
    tenant_path: &[TenantId],
    owner_path: &[TenantId],
    tlp: Tlp,
    recipients: &[Recipient],
) -> bool {
    let (Some(owner), Some(tenant)) = (owner_path.last(), tenant_path.last()) else {
        return false;
    };
    owner_path.contains(tenant) || tlp_admits(tenant_path, None, *owner, tlp, recipients)
}

/// What a recipient wants to do with an indicator, for PAP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntelUse {
    /// Look for it in one's own logs and events (live matching, retro-hunts): passive, undetectable.
    Matching,
    /// Exchange it (STIX, MISP, CSV) with someone TLP allows.
    Exchange,
    /// Put it on an automated block list: an active action the adversary may notice.
    BlockList,
}

/// Whether PAP allows `usage`: matching and exchange always; block lists
/// only at PAP:CLEAR and PAP:GREEN (PAP:AMBER allows passive actions only,
/// PAP:RED nothing the adversary could detect).
pub fn pap_allows(pap: nigehban_model::Pap, usage: IntelUse) -> bool {
    use nigehban_model::Pap;
    match usage {
        IntelUse::Matching | IntelUse::Exchange => true,
        IntelUse::BlockList => matches!(pap, Pap::Clear | Pap::Green),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The policy as PRODUCT.md describes it, written out independently of
    /// [`RULES`]: for each action, whether each role may do it in its own
    /// tenant and in a tenant below. Columns: administrator, analyst,
    /// responder, intel_analyst, duty_officer, constituent_reporter,
    /// council_member, auditor.
    #[rustfmt::skip]
    const EXPECTED: &[(Action, &str, &str)] = &[
        //                            own         below
        (Action::ViewTenant,        "YYYYYYYY", "YYYYYYYY"),
        (Action::CreateTenant,      "Y.......", "Y......."),
        (Action::RenameTenant,      "Y.......", "Y......."),
        (Action::MoveTenant,        "........", "Y......."),
        (Action::DeactivateTenant,  "........", "Y......."),
        (Action::ViewUser,          "YYYYYY.Y", "YYYYYY.Y"),
        (Action::AdministerUser,    "Y.......", "Y......."),
        (Action::ViewToken,         "Y......Y", "Y......Y"),
        (Action::AdministerToken,   "Y.......", "Y......."),
        (Action::ManageOwnToken,    "YYYYYYYY", "........"),
        (Action::ReadAudit,         "Y......Y", "Y......Y"),
        (Action::VerifyAudit,       "Y......Y", "........"),
        (Action::TakeBackup,        "Y.......", "........"),
        (Action::ViewIncident,      ".YYYYY..", ".YYYYY.."),
        (Action::ReportIncident,    ".YY.YY..", ".YY.Y..."),
        (Action::WorkIncident,      ".YY.Y...", ".YY.Y..."),
        (Action::ViewAlert,         ".YYYY...", ".YYYY..."),
        (Action::TriageAlert,       ".YY.Y...", ".YY.Y..."),
        (Action::PublishIntel,      ".Y.Y....", "........"),
        (Action::ViewIntel,         ".YYYYY..", ".YYYY..."),
        (Action::ViewAggregates,    "YY.YY.YY", "YY.YY.YY"),
        (Action::ManageRoster,      "Y...Y...", "Y...Y..."),
        (Action::ViewRoster,        "YYYYY..Y", "YYYYY..Y"),
        (Action::AcknowledgePage,   "YYYYY...", "YYYYY..."),
        (Action::ViewSensor,        "YYY.YY.Y", "YYY.Y..Y"),
        (Action::AdministerSensor,  "Y.......", "Y......."),
        (Action::SearchEvents,      "YYYYYY.Y", "YYYYY..Y"),
        (Action::TriageReport,      "........", ".YY.Y..."),
        (Action::ViewRules,         "YYYYY..Y", "YYYYY..Y"),
        (Action::ImportRules,       "Y.......", "........"),
        (Action::TuneRules,         "Y.......", "Y......."),
    ];

    fn expected(column: &str, role: Role) -> Decision {
        let index = Role::ALL.iter().position(|r| *r == role).unwrap();
        match column.as_bytes()[index] {
            b'Y' => Decision::Allow,
            b'.' => Decision::Forbidden,
            other => panic!("bad table cell {}", char::from(other)),
        }
    }

    #[test]
    fn every_action_is_in_both_tables() {
        for action in Action::ALL {
            assert!(
                RULES.iter().any(|(a, _)| *a == action),
                "{action:?} missing from RULES"
            );
            assert!(
                EXPECTED.iter().any(|(a, _, _)| *a == action),
                "{action:?} missing from EXPECTED"
            );
        }
        assert_eq!(RULES.len(), Action::ALL.len());
    }

    #[test]
    fn role_by_action_by_relation_matrix() {
        for (action, own, below) in EXPECTED {
            for role in Role::ALL {
                for relation in Relation::ALL {
                    let want = match relation {
                        Relation::Own => expected(own, role),
                        Relation::Descendant => expected(below, role),
                        // Never a sibling's, never upward, never elsewhere: not even its existence.
                        Relation::Ancestor | Relation::Sibling | Relation::Unrelated => {
                            Decision::NotFound
                        }
                    };
                    assert_eq!(
                        decide(role, *action, relation),
                        want,
                        "{role} {action:?} on a record of a tenant in relation {relation:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn council_members_see_aggregates_never_raw_records() {
        let allowed: Vec<Action> = Action::ALL
            .into_iter()
            .filter(|action| decide(Role::CouncilMember, *action, Relation::Own) == Decision::Allow)
            .collect();
        assert_eq!(
            allowed,
            vec![
                Action::ViewTenant,
                Action::ManageOwnToken,
                Action::ViewAggregates
            ]
        );
    }

    #[test]
    fn only_administrators_administer() {
        for action in [
            Action::CreateTenant,
            Action::RenameTenant,
            Action::MoveTenant,
            Action::DeactivateTenant,
            Action::AdministerUser,
            Action::AdministerToken,
            Action::TakeBackup,
            Action::AdministerSensor,
        ] {
            for role in Role::ALL {
                let allowed = Relation::ALL
                    .into_iter()
                    .any(|relation| decide(role, action, relation) == Decision::Allow);
                assert_eq!(allowed, role == Role::Administrator, "{role} {action:?}");
            }
        }
    }

    /// national ─┬─ telecom ─┬─ operator ── subsidiary
    ///           │           └─ isp
    ///           └─ banking ─── bank
    struct Tree {
        national: TenantId,
        telecom: TenantId,
        operator: TenantId,
        subsidiary: TenantId,
        isp: TenantId,
        banking: TenantId,
        bank: TenantId,
    }

    impl Tree {
        fn new() -> Self {
            Self {
                national: TenantId::new(),
                telecom: TenantId::new(),
                operator: TenantId::new(),
                subsidiary: TenantId::new(),
                isp: TenantId::new(),
                banking: TenantId::new(),
                bank: TenantId::new(),
            }
        }

        fn path(&self, tenant: TenantId) -> Vec<TenantId> {
            let t = self;
            match tenant {
                id if id == t.national => vec![t.national],
                id if id == t.telecom => vec![t.national, t.telecom],
                id if id == t.operator => vec![t.national, t.telecom, t.operator],
                id if id == t.subsidiary => vec![t.national, t.telecom, t.operator, t.subsidiary],
                id if id == t.isp => vec![t.national, t.telecom, t.isp],
                id if id == t.banking => vec![t.national, t.banking],
                id if id == t.bank => vec![t.national, t.banking, t.bank],
                _ => vec![],
            }
        }

        fn relation(&self, caller: TenantId, target: TenantId) -> Relation {
            relation(&self.path(caller), &self.path(target))
        }
    }

    #[test]
    fn relations_in_a_tree() {
        let t = Tree::new();
        assert_eq!(t.relation(t.telecom, t.telecom), Relation::Own);
        assert_eq!(t.relation(t.national, t.subsidiary), Relation::Descendant);
        assert_eq!(t.relation(t.telecom, t.operator), Relation::Descendant);
        assert_eq!(t.relation(t.operator, t.telecom), Relation::Ancestor);
        assert_eq!(t.relation(t.subsidiary, t.national), Relation::Ancestor);
        assert_eq!(t.relation(t.telecom, t.banking), Relation::Sibling);
        assert_eq!(t.relation(t.operator, t.isp), Relation::Sibling);
        assert_eq!(t.relation(t.operator, t.bank), Relation::Unrelated);
        assert_eq!(t.relation(t.subsidiary, t.isp), Relation::Unrelated);
        assert_eq!(t.relation(t.bank, TenantId::new()), Relation::Unrelated);
    }

    #[test]
    fn a_sectoral_administrator_administers_its_sector_only() {
        let t = Tree::new();
        let decide_at =
            |target, action| decide(Role::Administrator, action, t.relation(t.telecom, target));
        // Create organisations and users under its sector, rename them, move and deactivate them.
        assert_eq!(decide_at(t.telecom, Action::CreateTenant), Decision::Allow);
        assert_eq!(decide_at(t.operator, Action::CreateTenant), Decision::Allow);
        assert_eq!(
            decide_at(t.subsidiary, Action::AdministerUser),
            Decision::Allow
        );
        assert_eq!(decide_at(t.isp, Action::DeactivateTenant), Decision::Allow);
        // Not its own tenant's place in the tree: that is the national CERT's call.
        assert_eq!(
            decide_at(t.telecom, Action::MoveTenant),
            Decision::Forbidden
        );
        assert_eq!(
            decide_at(t.telecom, Action::DeactivateTenant),
            Decision::Forbidden
        );
        // Never above or beside: it does not even learn those tenants exist.
        for target in [t.national, t.banking, t.bank] {
            for action in [
                Action::CreateTenant,
                Action::ViewTenant,
                Action::AdministerUser,
            ] {
                assert_eq!(decide_at(target, action), Decision::NotFound, "{action:?}");
            }
        }
    }

    fn reader<'a>(user: Option<UserId>, role: Role, path: &'a [TenantId]) -> Reader<'a> {
        Reader {
            user,
            role,
            tenant_path: path,
        }
    }

    #[test]
    fn shared_material_follows_tlp_2() {
        let t = Tree::new();
        let analyst = UserId::new();
        let operator_path = t.path(t.operator);
        let subsidiary_path = t.path(t.subsidiary);
        let bank_path = t.path(t.bank);
        let telecom_path = t.path(t.telecom);
        let in_operator = reader(Some(analyst), Role::Analyst, &operator_path);
        let in_subsidiary = reader(None, Role::Analyst, &subsidiary_path);
        let in_bank = reader(None, Role::Analyst, &bank_path);
        let in_telecom = reader(None, Role::IntelAnalyst, &telecom_path);
        let to_operator = [Recipient::Tenant(t.operator)];
        let owner = t.national;

        for tlp in [Tlp::Clear, Tlp::Green] {
            assert!(
                can_read_shared(&in_bank, owner, tlp, &[]),
                "{tlp}: every tenant"
            );
        }
        // AMBER: the recipient and the tenants below it.
        assert!(can_read_shared(
            &in_operator,
            owner,
            Tlp::Amber,
            &to_operator
        ));
        assert!(can_read_shared(
            &in_subsidiary,
            owner,
            Tlp::Amber,
            &to_operator
        ));
        assert!(
            !can_read_shared(&in_telecom, owner, Tlp::Amber, &to_operator),
            "not upward"
        );
        assert!(
            !can_read_shared(&in_bank, owner, Tlp::Amber, &to_operator),
            "not elsewhere"
        );
        // AMBER+STRICT: the recipient only.
        assert!(can_read_shared(
            &in_operator,
            owner,
            Tlp::AmberStrict,
            &to_operator
        ));
        assert!(!can_read_shared(
            &in_subsidiary,
            owner,
            Tlp::AmberStrict,
            &to_operator
        ));
        // RED: named people only, not their colleagues.
        let to_analyst = [Recipient::User(analyst)];
        assert!(can_read_shared(&in_operator, owner, Tlp::Red, &to_analyst));
        let colleague = reader(Some(UserId::new()), Role::Analyst, &operator_path);
        assert!(!can_read_shared(&colleague, owner, Tlp::Red, &to_analyst));
        assert!(
            !can_read_shared(&colleague, owner, Tlp::Red, &to_operator),
            "a tenant is not a named person"
        );
        // The owner always reads its own; the council never reads raw material.
        let national_path = t.path(t.national);
        let at_owner = reader(None, Role::IntelAnalyst, &national_path);
        assert!(can_read_shared(&at_owner, owner, Tlp::Red, &[]));
        let council = reader(None, Role::CouncilMember, &national_path);
        for tlp in Tlp::ALL {
            assert!(!can_read_shared(
                &council,
                owner,
                tlp,
                &[Recipient::Tenant(t.national)]
            ));
        }
        assert!(!can_read_shared(
            &reader(None, Role::Analyst, &[]),
            owner,
            Tlp::Clear,
            &[]
        ));
    }

    #[test]
    fn incident_views_follow_custody_and_tlp() {
        use IncidentStance::*;
        use IncidentView as V;
        let own = Relation::Own;
        let below = Relation::Descendant;
        // Custody and earlier owners: everything, whatever the TLP.
        for tlp in Tlp::ALL {
            for stance in [
                Custodian(own),
                Custodian(below),
                FormerCustodian(own),
                FormerCustodian(below),
            ] {
                assert_eq!(
                    incident_view(Role::Analyst, stance, tlp),
                    V::Full,
                    "{stance:?} {tlp}"
                );
            }
            assert_eq!(incident_view(Role::Analyst, Outsider, tlp), V::Hidden);
        }
        // Participants: as far as the TLP lets the incident travel.
        let participant = |tlp| incident_view(Role::ConstituentReporter, Participant(own), tlp);
        assert_eq!(participant(Tlp::Clear), V::Participant);
        assert_eq!(participant(Tlp::Green), V::Participant);
        assert_eq!(participant(Tlp::Amber), V::Participant);
        assert_eq!(participant(Tlp::AmberStrict), V::Limited);
        assert_eq!(participant(Tlp::Red), V::OwnPart);
        // Roles that never see case files.
        for role in [Role::Administrator, Role::CouncilMember, Role::Auditor] {
            assert_eq!(
                incident_view(role, Custodian(own), Tlp::Clear),
                V::Hidden,
                "{role}"
            );
        }
    }

    #[test]
    fn linking_an_alert_needs_the_alert_the_incident_and_custody_of_both() {
        use IncidentStance::*;
        let custody = Custodian(Relation::Own);
        let link = decide_alert_link;
        assert_eq!(
            link(
                Role::Analyst,
                Relation::Descendant,
                true,
                custody,
                Tlp::Amber
            ),
            Decision::Allow
        );
        // An alert the caller may not see is "not found", whatever the incident.
        for relation in [Relation::Ancestor, Relation::Sibling, Relation::Unrelated] {
            assert_eq!(
                link(Role::Analyst, relation, true, custody, Tlp::Amber),
                Decision::NotFound,
                "{relation:?}"
            );
        }
        // Intel analysts read alerts but change neither alerts nor incidents.
        assert_eq!(
            link(Role::IntelAnalyst, Relation::Own, true, custody, Tlp::Amber),
            Decision::Forbidden
        );
        // Custody of the incident is needed: an earlier owner or a participant may not link.
        assert_eq!(
            link(
                Role::Analyst,
                Relation::Own,
                true,
                FormerCustodian(Relation::Own),
                Tlp::Amber
            ),
            Decision::Forbidden
        );
        assert_eq!(
            link(Role::Analyst, Relation::Own, true, Outsider, Tlp::Amber),
            Decision::NotFound
        );
        // An alert outside the incident's custody stays out of it.
        assert_eq!(
            link(Role::Analyst, Relation::Own, false, custody, Tlp::Amber),
            Decision::Forbidden
        );
    }

    #[test]
    fn incident_actions_by_stance() {
        use IncidentStance::*;
        let own = Relation::Own;
        let decide_as = |role, action, stance, tlp| decide_incident(role, action, stance, tlp);
        // Custody works it; earlier owners and participants may not.
        assert_eq!(
            decide_as(
                Role::Analyst,
                Action::WorkIncident,
                Custodian(Relation::Descendant),
                Tlp::Amber
            ),
            Decision::Allow
        );
        assert_eq!(
            decide_as(
                Role::Analyst,
                Action::WorkIncident,
                FormerCustodian(own),
                Tlp::Amber
            ),
            Decision::Forbidden
        );
        assert_eq!(
            decide_as(
                Role::Analyst,
                Action::WorkIncident,
                Participant(own),
                Tlp::Clear
            ),
            Decision::Forbidden
        );
        assert_eq!(
            decide_as(
                Role::IntelAnalyst,
                Action::WorkIncident,
                Custodian(own),
                Tlp::Amber
            ),
            Decision::Forbidden
        );
        // Notes and regulatory submissions: whoever sees the details and may report or work.
        assert_eq!(
            decide_as(
                Role::ConstituentReporter,
                Action::ReportIncident,
                Participant(own),
                Tlp::Amber
            ),
            Decision::Allow
        );
        assert_eq!(
            decide_as(
                Role::ConstituentReporter,
                Action::ReportIncident,
                Participant(own),
                Tlp::AmberStrict
            ),
            Decision::Forbidden
        );
        assert_eq!(
            decide_as(
                Role::Analyst,
                Action::ReportIncident,
                FormerCustodian(own),
                Tlp::Red
            ),
            Decision::Allow
        );
        // A participant at RED learns nothing more; an outsider nothing at all.
        for action in [
            Action::ViewIncident,
            Action::WorkIncident,
            Action::ReportIncident,
        ] {
            assert_eq!(
                decide_as(Role::Analyst, action, Participant(own), Tlp::Red),
                Decision::NotFound
            );
            assert_eq!(
                decide_as(Role::Analyst, action, Outsider, Tlp::Clear),
                Decision::NotFound
            );
        }
        // Administrators and the council are refused, not told it does not exist.
        assert_eq!(
            decide_as(
                Role::Administrator,
                Action::ViewIncident,
                Custodian(own),
                Tlp::Clear
            ),
            Decision::Forbidden
        );
        assert_eq!(
            decide_as(
                Role::CouncilMember,
                Action::ViewIncident,
                Custodian(own),
                Tlp::Clear
            ),
            Decision::Forbidden
        );
        assert_eq!(
            decide_as(
                Role::Analyst,
                Action::TakeBackup,
                Custodian(own),
                Tlp::Clear
            ),
            Decision::Forbidden
        );
    }

    #[test]
    fn only_the_cert_above_triages_a_report() {
        let t = Tree::new();
        let triage = |caller, role| decide(role, Action::TriageReport, t.relation(caller, t.bank));
        assert_eq!(triage(t.banking, Role::Analyst), Decision::Allow);
        assert_eq!(triage(t.national, Role::DutyOfficer), Decision::Allow);
        assert_eq!(
            triage(t.bank, Role::Analyst),
            Decision::Forbidden,
            "not its own report"
        );
        assert_eq!(
            triage(t.banking, Role::ConstituentReporter),
            Decision::Forbidden
        );
        assert_eq!(
            triage(t.telecom, Role::Analyst),
            Decision::NotFound,
            "not a sibling's"
        );
    }
}
