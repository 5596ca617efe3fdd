//! Every text the console shows, in one table per language, so that a
//! translation (Urdu, written right to left) is one more table and no page
//! changes. Pages never write English themselves: they read `Messages`.

/// The texts of one language.
#[derive(Debug)]
pub struct Messages {
    /// The language tag for `<html lang>`.
    pub lang: &'static str,
    /// The writing direction for `<html dir>`: `ltr` or `rtl`.
    pub dir: &'static str,
    /// The product name.
    pub product: &'static str,
    /// The skip link for keyboard and screen-reader users.
    pub skip_to_content: &'static str,
    /// The main navigation's label.
    pub navigation: &'static str,
    /// Signed in as (followed by the user name).
    pub signed_in_as: &'static str,
    /// Sign in.
    pub sign_in: &'static str,
    /// Sign out.
    pub sign_out: &'static str,
    /// The user name field.
    pub username: &'static str,
    /// The password field.
    pub password: &'static str,
    /// Wrong user name or password.
    pub sign_in_failed: &'static str,
    /// Too many failed sign-ins.
    pub sign_in_throttled: &'static str,
    /// The session ended.
    pub session_expired: &'static str,
    /// Signed out.
    pub signed_out: &'static str,
    /// The form was stale or forged.
    pub form_expired: &'static str,
    /// Change password (title).
    pub change_password: &'static str,
    /// Why a new password is required now.
    pub must_change_password: &'static str,
    /// The current password field.
    pub current_password: &'static str,
    /// The new password field.
    pub new_password: &'static str,
    /// Its hint.
    pub new_password_hint: &'static str,
    /// Password changed.
    pub password_changed: &'static str,
    /// Dashboard.
    pub dashboard: &'static str,
    /// Events.
    pub events: &'static str,
    /// Sensors.
    pub sensors: &'static str,
    /// Events per hour over the last day (chart title).
    pub events_per_hour: &'static str,
    /// The chart's text alternative, before the figures.
    pub events_per_hour_alt: &'static str,
    /// No events in the last day.
    pub no_events_last_day: &'static str,
    /// Sensors healthy.
    pub sensors_healthy: &'static str,
    /// Sensors silent.
    pub sensors_silent: &'static str,
    /// Your role may not see this part.
    pub not_for_your_role: &'static str,
    /// Aggregates only (council).
    pub aggregates_only: &'static str,
    /// Tenant column.
    pub tenant: &'static str,
    /// Name column.
    pub name: &'static str,
    /// Kind column.
    pub kind: &'static str,
    /// Status column.
    pub status: &'static str,
    /// Last event column.
    pub last_event: &'static str,
    /// Events (count) column.
    pub event_count: &'static str,
    /// Errors column.
    pub errors: &'static str,
    /// Healthy.
    pub healthy: &'static str,
    /// Silent.
    pub silent: &'static str,
    /// Never sent.
    pub never_sent: &'static str,
    /// Deactivated.
    pub deactivated: &'static str,
    /// No sensors yet.
    pub no_sensors: &'static str,
    /// Register a sensor (title and button).
    pub register_sensor: &'static str,
    /// The expected interval field.
    pub expected_interval: &'static str,
    /// Its hint.
    pub expected_interval_hint: &'static str,
    /// Sensor registered.
    pub sensor_registered: &'static str,
    /// The token is shown once.
    pub token_shown_once: &'static str,
    /// Ingest token label.
    pub ingest_token: &'static str,
    /// Copy button.
    pub copy: &'static str,
    /// Copied.
    pub copied: &'static str,
    /// How to send data.
    pub send_data_with: &'static str,
    /// Health history (title).
    pub health_history: &'static str,
    /// No health events.
    pub no_health_events: &'static str,
    /// When column.
    pub when: &'static str,
    /// What column.
    pub what: &'static str,
    /// Search (button).
    pub search: &'static str,
    /// Words anywhere.
    pub search_text: &'static str,
    /// Words in the message.
    pub search_message: &'static str,
    /// Field filters.
    pub search_filters: &'static str,
    /// Its hint.
    pub search_filters_hint: &'static str,
    /// Time range.
    pub time_range: &'static str,
    /// Last hour.
    pub last_hour: &'static str,
    /// Last day.
    pub last_day: &'static str,
    /// Last week.
    pub last_week: &'static str,
    /// Last 30 days.
    pub last_month: &'static str,
    /// Any time.
    pub any_time: &'static str,
    /// Custom range.
    pub custom_range: &'static str,
    /// From (RFC 3339).
    pub from: &'static str,
    /// To (RFC 3339).
    pub to: &'static str,
    /// Its hint.
    pub time_hint: &'static str,
    /// Order.
    pub order: &'static str,
    /// Newest first.
    pub newest_first: &'static str,
    /// Oldest first.
    pub oldest_first: &'static str,
    /// No events match.
    pub no_events_match: &'static str,
    /// More results.
    pub more_results: &'static str,
    /// Time column.
    pub time: &'static str,
    /// Host column.
    pub host: &'static str,
    /// Sensor column.
    pub sensor: &'static str,
    /// Summary column.
    pub summary: &'static str,
    /// The normalised fields (heading in an expanded event).
    pub normalised_fields: &'static str,
    /// The original record (heading in an expanded event).
    pub original_record: &'static str,
    /// Diagnostics (heading in an expanded event).
    pub diagnostics: &'static str,
    /// Event search is not running here.
    pub search_unavailable: &'static str,
    /// Not found (title).
    pub not_found: &'static str,
    /// Not found (text).
    pub not_found_text: &'static str,
    /// Forbidden (title).
    pub forbidden: &'static str,
    /// Something went wrong (title).
    pub failed: &'static str,
    /// Something went wrong (text).
    pub failed_text: &'static str,
    /// Back to the dashboard.
    pub back_to_dashboard: &'static str,
    /// Times are shown in the local zone; UTC on hover.
    pub times_note: &'static str,
    /// Alerts (navigation and title).
    pub alerts: &'static str,
    /// No alerts match.
    pub no_alerts: &'static str,
    /// Severity column.
    pub severity: &'static str,
    /// Least severity filter.
    pub min_severity: &'static str,
    /// Any severity.
    pub any_severity: &'static str,
    /// Rule column.
    pub rule: &'static str,
    /// First seen.
    pub first_seen: &'static str,
    /// Last seen.
    pub last_seen: &'static str,
    /// Open alerts (new or acknowledged).
    pub status_open: &'static str,
    /// New alerts.
    pub status_new: &'static str,
    /// Acknowledged alerts.
    pub status_acknowledged: &'static str,
    /// Closed alerts.
    pub status_closed: &'static str,
    /// Every status.
    pub status_all: &'static str,
    /// Triage (heading).
    pub triage: &'static str,
    /// Acknowledge (button).
    pub acknowledge: &'static str,
    /// Resolution field.
    pub resolution: &'static str,
    /// Note field.
    pub note: &'static str,
    /// Close (button).
    pub close_alert: &'static str,
    /// Matching events (heading).
    pub matching_events: &'static str,
    /// Events not shown (followed by how many).
    pub events_not_shown: &'static str,
    /// Author.
    pub author: &'static str,
    /// References.
    pub references: &'static str,
    /// User.
    pub user: &'static str,
    /// Incidents (navigation and title).
    pub incidents: &'static str,
    /// Show open incidents only.
    pub open_incidents_only: &'static str,
    /// Show every incident.
    pub all_incidents: &'static str,
    /// No incidents.
    pub no_incidents: &'static str,
    /// Incident column.
    pub incident: &'static str,
    /// Title column.
    pub title: &'static str,
    /// Owner (the tenant in charge).
    pub owner: &'static str,
    /// A tenant the viewer may not see by name.
    pub another_tenant: &'static str,
    /// Escalate (heading).
    pub escalate: &'static str,
    /// Escalate (button).
    pub escalate_to_parent: &'static str,
    /// Tasks (heading).
    pub tasks: &'static str,
    /// No tasks.
    pub no_tasks: &'static str,
    /// Due column.
    pub due: &'static str,
    /// Timeline (heading).
    pub timeline: &'static str,
    /// Classification.
    pub classification: &'static str,
    /// Description.
    pub description: &'static str,
    /// Opened.
    pub opened: &'static str,
    /// Open an incident (button).
    pub open_incident: &'static str,
    /// What opening an incident from an alert does.
    pub open_incident_hint: &'static str,
    /// The alert is linked to an incident (before the link).
    pub linked_to_incident: &'static str,
    /// The link to the incident.
    pub open_the_incident: &'static str,
    /// An exercise alert opens no incident.
    pub exercise_alert_no_incident: &'static str,
    /// My API tokens (title and link).
    pub my_tokens: &'static str,
    /// What the page's tokens are.
    pub tokens_hint: &'static str,
    /// No tokens.
    pub no_tokens: &'static str,
    /// Role column.
    pub role: &'static str,
    /// Created column.
    pub created: &'static str,
    /// Expires column and field.
    pub expires: &'static str,
    /// Last used column.
    pub last_used: &'static str,
    /// Never expires.
    pub never_expires: &'static str,
    /// Days (after a number).
    pub days: &'static str,
    /// Choose one of the offered values.
    pub choose_one: &'static str,
    /// Revoked.
    pub revoked: &'static str,
    /// Expired.
    pub expired: &'static str,
    /// Revoke (button).
    pub revoke: &'static str,
    /// Create a token (heading and button).
    pub create_token: &'static str,
    /// Token created (title).
    pub token_created: &'static str,
    /// The token's secret is shown once.
    pub token_secret_shown_once: &'static str,
    /// API token (the secret's label).
    pub api_token: &'static str,
    /// How to send it.
    pub use_token_with: &'static str,
    /// Administration (navigation).
    pub administration: &'static str,
    /// The tenant tree (title).
    pub tenant_tree: &'static str,
    /// Users and roles (title).
    pub users_and_roles: &'static str,
    /// API tokens of the subtree (title).
    pub api_tokens: &'static str,
    /// The audit log (title).
    pub audit_log: &'static str,
    /// No users.
    pub no_users: &'static str,
    /// Display name column.
    pub display_name: &'static str,
    /// Active.
    pub active: &'static str,
    /// A user who has not changed the one-time password yet.
    pub password_not_yet_chosen: &'static str,
    /// The chain's verification (section label).
    pub chain_verification: &'static str,
    /// The chain was not verified on this page.
    pub chain_not_verified_yet: &'static str,
    /// Verify the chain now (link).
    pub verify_chain: &'static str,
    /// The chain is intact.
    pub chain_intact: &'static str,
    /// After the count of verified entries.
    pub entries_verified: &'static str,
    /// The chain is broken.
    pub chain_broken: &'static str,
    /// Who verifies the chain.
    pub chain_verified_by_national: &'static str,
    /// The audit key's fingerprint (before it).
    pub audit_key: &'static str,
    /// No audit entries.
    pub no_audit_entries: &'static str,
    /// Action column.
    pub action: &'static str,
    /// Record column.
    pub record: &'static str,
    /// Actor column.
    pub actor: &'static str,
    /// Network address column.
    pub address: &'static str,
    /// Rules (navigation and title).
    pub rules: &'static str,
    /// No rules match.
    pub no_rules: &'static str,
    /// Where a rule comes from (column).
    pub origin: &'static str,
    /// A rule's state for the viewer's tenant (column).
    pub for_your_tenant: &'static str,
    /// The change column.
    pub change: &'static str,
    /// The rule runs.
    pub rule_runs: &'static str,
    /// The rule does not run.
    pub rule_off: &'static str,
    /// Whose choice decides (before the tenant's name).
    pub decided_by: &'static str,
    /// No tenant decides: the platform's setting.
    pub platform_default: &'static str,
    /// Disable (button).
    pub disable: &'static str,
    /// Enable (button).
    pub enable: &'static str,
    /// Inherit again (button).
    pub inherit: &'static str,
    /// Duty (navigation and title).
    pub duty: &'static str,
    /// No duty schedule is visible to you.
    pub no_schedules: &'static str,
    /// Before the count of gaps in the coming weeks.
    pub coverage_gaps_ahead: &'static str,
    /// On call now (heading).
    pub on_call_now: &'static str,
    /// Schedule column.
    pub schedule: &'static str,
    /// Team column.
    pub team: &'static str,
    /// On call column.
    pub on_call: &'static str,
    /// Until column.
    pub until: &'static str,
    /// Nobody is on call.
    pub nobody_on_call: &'static str,
    /// The coming week's roster (heading).
    pub roster_next_week: &'static str,
    /// Coverage check (heading).
    pub coverage_check: &'static str,
    /// No gap found.
    pub no_gaps: &'static str,
    /// No shifts in the period.
    pub no_shifts: &'static str,
    /// Layer column.
    pub layer: &'static str,
    /// What the fairness ledger counts a shift as.
    pub counted_as: &'static str,
    /// Holiday shift.
    pub holiday: &'static str,
    /// Night shift.
    pub night: &'static str,
    /// Weekend shift.
    pub weekend: &'static str,
    /// After acknowledging a page.
    pub page_acknowledged: &'static str,
    /// After writing a hand-over.
    pub handover_written: &'static str,
    /// After acknowledging a hand-over.
    pub handover_acknowledged: &'static str,
    /// Writing a hand-over for a shift that is not the viewer's.
    pub handover_not_on_call: &'static str,
    /// Acknowledging a hand-over meant for someone else.
    pub handover_not_yours: &'static str,
    /// Open pages (heading).
    pub open_pages: &'static str,
    /// More pages are open than the duty page shows.
    pub more_open_pages: &'static str,
    /// No page waits for an answer.
    pub no_open_pages: &'static str,
    /// Before when a page's next escalation step runs.
    pub next_step: &'static str,
    /// Hand-overs (heading).
    pub handovers: &'static str,
    /// The hand-over note field.
    pub handover_note: &'static str,
    /// What to put in a hand-over note.
    pub handover_note_hint: &'static str,
    /// Write the hand-over (button).
    pub write_handover: &'static str,
    /// No hand-over waits to be acknowledged.
    pub no_handovers: &'static str,
    /// Before when a hand-over was written.
    pub written: &'static str,
    /// Before when the outgoing shift ends.
    pub shift_ends: &'static str,
    /// Open alerts (count in a hand-over).
    pub open_alerts: &'static str,
    /// Open incidents (count in a hand-over).
    pub open_incidents: &'static str,
    /// Reporting deadlines not yet met (count in a hand-over).
    pub deadlines_pending: &'static str,
    /// Silent sensors (count in a hand-over).
    pub silent_sensors: &'static str,
    /// Acknowledge a hand-over (button).
    pub acknowledge_handover: &'static str,
    /// The alert queue's keyboard shortcuts.
    pub queue_shortcuts: &'static str,
    /// The bulk action selector's label.
    pub with_ticked: &'static str,
    /// Assign to me.
    pub assign_to_me: &'static str,
    /// Close as (followed by the resolution).
    pub close_as: &'static str,
    /// Apply a bulk action.
    pub apply: &'static str,
    /// Tick an alert (for bulk actions).
    pub tick: &'static str,
    /// A bulk action with no alert ticked.
    pub none_ticked: &'static str,
    /// A bulk action that does not exist.
    pub unknown_bulk_action: &'static str,
    /// Before the count of alerts a bulk action changed.
    pub alerts_changed: &'static str,
    /// Before the count of alerts it could not change.
    pub alerts_not_changed: &'static str,
    /// The chart of alerts per hour by severity.
    pub alerts_per_hour_by_severity: &'static str,
    /// The alternative text of the chart of alerts per hour by severity.
    pub alerts_per_hour_by_severity_alt: &'static str,
    /// The chart of alerts per hour by tenant at the level below.
    pub alerts_per_hour_by_tenant: &'static str,
    /// The alternative text of the chart of alerts per hour by tenant.
    pub alerts_per_hour_by_tenant_alt: &'static str,
    /// No alerts in the last day.
    pub no_alerts_last_day: &'static str,
    /// The table of open incidents by severity and tenant.
    pub open_incidents_by_severity: &'static str,
    /// No open incidents.
    pub no_open_incidents: &'static str,
    /// A table's total column or row.
    pub total: &'static str,
    /// Incidents owned above the viewer's level (escalated).
    pub owned_above: &'static str,
    /// Reporting deadlines that lapsed without a report.
    pub overdue_deadlines: &'static str,
    /// No reporting deadline has lapsed.
    pub no_overdue_deadlines: &'static str,
    /// A reporting stage (e.g. Early warning).
    pub reporting_stage: &'static str,
    /// The "report an incident" page and its navigation entry.
    pub report_incident: &'static str,
    /// What the report form is for.
    pub report_hint: &'static str,
    /// A report was filed (followed by its id).
    pub report_filed: &'static str,
    /// When the organisation noticed it.
    pub noticed_at: &'static str,
    /// The noticed-at field's time could not be read.
    pub noticed_at_invalid: &'static str,
    /// Times typed into a form are UTC.
    pub utc_time_hint: &'static str,
    /// The affected systems.
    pub affected_systems: &'static str,
    /// One entry per line.
    pub one_per_line: &'static str,
    /// The report form's button.
    pub file_report: &'static str,
    /// The reports filed in the viewer's tree.
    pub reports_filed: &'static str,
    /// No reports filed.
    pub no_reports: &'static str,
    /// A report waits for the CERT above.
    pub report_waiting: &'static str,
    /// A report became an incident (followed by its id).
    pub report_became: &'static str,
    /// A report was rejected (followed by the reason).
    pub report_rejected: &'static str,
    /// Giving a task to a tenant.
    pub task_a_tenant: &'static str,
    /// The kind of a task.
    pub task_kind: &'static str,
    /// The task form's button.
    pub give_task: &'static str,
    /// A due time is optional.
    pub optional_utc_time_hint: &'static str,
    /// The due field's time could not be read.
    pub due_invalid: &'static str,
}

/// English, the language of the first release.
pub static ENGLISH: Messages = Messages {
    lang: "en",
    dir: "ltr",
    product: "Nigehban",
    skip_to_content: "Skip to content",
    navigation: "Main",
    signed_in_as: "Signed in as",
    sign_in: "Sign in",
    sign_out: "Sign out",
    username: "User name",
    password: "Password",
    sign_in_failed: "Wrong user name or password, or the account is deactivated.",
    sign_in_throttled: "Too many failed sign-ins. Wait a little and try again.",
    session_expired: "Your session ended. Sign in again.",
    signed_out: "You are signed out.",
    form_expired: "The form was out of date. Please try again.",
    change_password: "Change password",
    must_change_password: "Choose a new password before you go on: the one you signed in with was for one use only.",
    current_password: "Current password",
    new_password: "New password",
    new_password_hint: "At least 12 characters.",
    password_changed: "Your password is changed.",
    dashboard: "Dashboard",
    events: "Events",
    sensors: "Sensors",
    events_per_hour: "Events per hour, last 24 hours",
    events_per_hour_alt: "Events per hour in the last 24 hours",
    no_events_last_day: "No events in the last 24 hours.",
    sensors_healthy: "Sensors sending",
    sensors_silent: "Sensors silent",
    not_for_your_role: "Your role does not show this.",
    aggregates_only: "The council sees aggregate figures only.",
    tenant: "Tenant",
    name: "Name",
    kind: "Kind",
    status: "Status",
    last_event: "Last event",
    event_count: "Events",
    errors: "Errors",
    healthy: "Sending",
    silent: "Silent",
    never_sent: "Nothing received yet",
    deactivated: "Deactivated",
    no_sensors: "No sensors are registered yet.",
    register_sensor: "Register a sensor",
    expected_interval: "Expected interval (seconds)",
    expected_interval_hint: "Optional: it is reported silent when it sends nothing for longer (10 to 604800).",
    sensor_registered: "Sensor registered",
    token_shown_once: "Its ingest token is shown now and never again. Copy it to the sensor's configuration.",
    ingest_token: "Ingest token",
    copy: "Copy",
    copied: "Copied",
    send_data_with: "Send a file of events with",
    health_history: "Health over time",
    no_health_events: "No health changes recorded yet.",
    when: "When",
    what: "What",
    search: "Search",
    search_text: "Words anywhere",
    search_message: "Words in the message",
    search_filters: "Field filters",
    search_filters_hint: "One FIELD=VALUE per line, e.g. host.name=web-1 or source.ip=10.0.0.0/8.",
    time_range: "Time range",
    last_hour: "Last hour",
    last_day: "Last 24 hours",
    last_week: "Last 7 days",
    last_month: "Last 30 days",
    any_time: "Any time",
    custom_range: "From and to below",
    from: "From",
    to: "To",
    time_hint: "UTC, e.g. 2026-03-15T10:22:14Z",
    order: "Order",
    newest_first: "Newest first",
    oldest_first: "Oldest first",
    no_events_match: "No events match.",
    more_results: "More results",
    time: "Time",
    host: "Host",
    sensor: "Sensor",
    summary: "Summary",
    normalised_fields: "Normalised fields",
    original_record: "Original record",
    diagnostics: "Read leniently",
    search_unavailable: "Event search is not running on this server.",
    not_found: "Not found",
    not_found_text: "There is nothing here, or it is not yours to see.",
    forbidden: "Not allowed",
    failed: "Something went wrong",
    failed_text: "The server could not answer. Try again; if it goes on, tell the platform's operators.",
    back_to_dashboard: "Back to the dashboard",
    times_note: "Times are in your time zone; hover over one to see it in UTC.",
    alerts: "Alerts",
    no_alerts: "No alerts match.",
    severity: "Severity",
    min_severity: "Severity at least",
    any_severity: "Any",
    rule: "Rule",
    first_seen: "First event",
    last_seen: "Last event",
    status_open: "Open",
    status_new: "New",
    status_acknowledged: "Acknowledged",
    status_closed: "Closed",
    status_all: "All",
    triage: "Triage",
    acknowledge: "Acknowledge",
    resolution: "Resolution",
    note: "Note",
    close_alert: "Close alert",
    matching_events: "Matching events",
    events_not_shown: "Matching events not shown (past retention, not indexed yet, or not yours to read):",
    author: "Author",
    references: "References",
    user: "User",
    incidents: "Incidents",
    open_incidents_only: "Open incidents only",
    all_incidents: "Every incident, closed too",
    no_incidents: "No incidents to show.",
    incident: "Incident",
    title: "Title",
    owner: "In charge",
    another_tenant: "Another CERT",
    escalate: "Escalate",
    escalate_to_parent: "Escalate to the CERT above",
    tasks: "Tasks",
    no_tasks: "No tasks.",
    due: "Due",
    timeline: "Timeline",
    classification: "Classification",
    description: "Description",
    opened: "Opened",
    open_incident: "Open an incident",
    open_incident_hint: "The incident is opened for this alert's organisation and linked to the alert; the alert's addresses, domains, user names and hashes become its observables.",
    linked_to_incident: "This alert is linked to an incident.",
    open_the_incident: "Open it",
    exercise_alert_no_incident: "An exercise alert opens no incident.",
    my_tokens: "My API tokens",
    tokens_hint: "Tokens let your programs call the API as you, in your organisation and role. Send one as the Authorization: Bearer header.",
    no_tokens: "No API tokens yet.",
    role: "Role",
    created: "Created",
    expires: "Expires",
    last_used: "Last used",
    never_expires: "Never",
    days: "days",
    choose_one: "choose one of the offered values",
    revoked: "Revoked",
    expired: "Expired",
    revoke: "Revoke",
    create_token: "Create a token",
    token_created: "Token created",
    token_secret_shown_once: "The token's secret is shown now and never again. Copy it to where your program keeps its secrets.",
    api_token: "API token",
    use_token_with: "Send it with every request as",
    administration: "Administration",
    tenant_tree: "Tenants",
    users_and_roles: "Users and roles",
    api_tokens: "API tokens",
    audit_log: "Audit log",
    no_users: "No users.",
    display_name: "Name",
    active: "Active",
    password_not_yet_chosen: "One-time password not yet changed",
    chain_verification: "Verification of the audit chain",
    chain_not_verified_yet: "The chain of entries is checked on demand.",
    verify_chain: "Verify the whole chain now",
    chain_intact: "Intact:",
    entries_verified: "entries verified, every seal matches.",
    chain_broken: "Broken:",
    chain_verified_by_national: "The whole chain spans every tenant: the national CERT's administrators and auditors verify it.",
    audit_key: "Sealed with the audit key",
    no_audit_entries: "No audit entries.",
    action: "Action",
    record: "Record",
    actor: "By",
    address: "Address",
    rules: "Rules",
    no_rules: "No rules match.",
    origin: "Origin",
    for_your_tenant: "For your tenant",
    change: "Change",
    rule_runs: "Runs",
    rule_off: "Off",
    decided_by: "as chosen by",
    platform_default: "the platform's setting",
    disable: "Disable",
    enable: "Enable",
    inherit: "Inherit",
    duty: "Duty",
    no_schedules: "No duty schedule you may see. A duty officer creates schedules through /api/v1/oncall/schedules.",
    coverage_gaps_ahead: "Moments with nobody on call in the next four weeks:",
    on_call_now: "On call now",
    schedule: "Schedule",
    team: "Team",
    on_call: "On call",
    until: "Until",
    nobody_on_call: "Nobody is on call",
    roster_next_week: "The next seven days",
    coverage_check: "Coverage check, next four weeks",
    no_gaps: "Someone is on call at every moment.",
    no_shifts: "No shifts in these days.",
    layer: "Layer",
    counted_as: "Counted as",
    holiday: "holiday",
    night: "night",
    weekend: "weekend",
    page_acknowledged: "Page acknowledged: its escalation has stopped.",
    handover_written: "Hand-over written. The incoming person acknowledges it here.",
    handover_acknowledged: "Hand-over acknowledged.",
    handover_not_on_call: "Only the person on call, or an administrator or duty officer, writes this schedule's hand-over.",
    handover_not_yours: "This hand-over is for the incoming person; only they, or an administrator or duty officer, acknowledge it.",
    open_pages: "Open pages",
    no_open_pages: "No page is waiting for an answer.",
    more_open_pages: "More pages are open than shown here (the 50 longest waiting); GET /api/v1/oncall/pages lists them all.",
    next_step: "next step",
    handovers: "Hand-overs to acknowledge",
    handover_note: "Hand-over note",
    handover_note_hint: "What the next shift must know; the platform adds what is open.",
    write_handover: "Write the hand-over",
    no_handovers: "No hand-over waits for the incoming person.",
    written: "written",
    shift_ends: "shift ends",
    open_alerts: "Open alerts",
    open_incidents: "Open incidents",
    deadlines_pending: "Reporting deadlines pending",
    silent_sensors: "Silent sensors",
    acknowledge_handover: "Acknowledge the hand-over",
    queue_shortcuts: "Keys: j / k next / previous, o open, x tick, a acknowledge, m assign to me, c close as …",
    with_ticked: "With the alerts ticked:",
    assign_to_me: "Assign to me",
    close_as: "Close as",
    apply: "Apply",
    tick: "Tick",
    none_ticked: "Tick at least one alert first.",
    unknown_bulk_action: "That action does not exist; choose one from the list.",
    alerts_changed: "Alerts changed:",
    alerts_not_changed: "Not changed (gone, already in that state, or not yours to change):",
    alerts_per_hour_by_severity: "Alerts per hour by severity, last 24 hours",
    alerts_per_hour_by_severity_alt: "Alerts first seen per hour in the last 24 hours, by severity",
    alerts_per_hour_by_tenant: "Alerts per hour by tenant, last 24 hours",
    alerts_per_hour_by_tenant_alt: "Alerts first seen per hour in the last 24 hours, by tenant",
    no_alerts_last_day: "No alerts in the last 24 hours.",
    open_incidents_by_severity: "Open incidents by severity",
    no_open_incidents: "No open incidents.",
    total: "Total",
    owned_above: "Escalated above",
    overdue_deadlines: "Overdue reporting deadlines",
    no_overdue_deadlines: "No reporting deadline has lapsed.",
    reporting_stage: "Reporting stage",
    report_incident: "Report an incident",
    report_hint: "Tell your CERT what happened. It reads every report and answers here: the report becomes an incident, joins one, or is declined with a reason. Regulatory deadlines count from when you noticed it.",
    report_filed: "Report filed:",
    noticed_at: "Noticed at",
    noticed_at_invalid: "Noticed at: give a date and time, e.g. 2026-03-15T10:22 (UTC).",
    utc_time_hint: "UTC",
    affected_systems: "Affected systems",
    one_per_line: "one per line",
    file_report: "File the report",
    reports_filed: "Reports filed",
    no_reports: "No reports filed yet.",
    report_waiting: "waiting for the CERT",
    report_became: "became incident",
    report_rejected: "declined",
    task_a_tenant: "Give a task",
    task_kind: "Kind",
    give_task: "Give the task",
    optional_utc_time_hint: "UTC, optional",
    due_invalid: "Due: give a date and time, e.g. 2026-03-15T10:22 (UTC), or leave it empty.",
};

/// The texts for a request (English until a second language is added).
pub fn messages() -> &'static Messages {
    &ENGLISH
}
