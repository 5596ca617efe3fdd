//! The CERT's services over the store: the authorisation policy, tenants, users, sessions, audit, sensors.
//!
//! The server reaches storage only through this crate. Every service call
//! takes the [`Caller`] — made only here, from a session cookie, a bearer
//! token or for the command-line operator — and asks the one policy
//! ([`policy`]) before touching a record. A record the caller may not see is
//! reported as [`AppError::NotFound`]; an action on a visible record that the
//! caller's role may not do is [`AppError::Forbidden`].
//!
//! # API (what the server and CLI call)
//!
//! ```text
//! App::open(&StoreConfig, AppSettings) / App::new(Arc<dyn Store>, AppSettings)
//! App::open_read_only(&StoreConfig, &AuditKeyFile)                // to verify: changes nothing
//! app.bootstrap(BootstrapRequest) -> BootstrapOutcome            // idempotent first start
//! app.operator(Option<IpAddr>) -> Caller                         // CLI only: root administrator
//! app.migrate() / app.migrations_applied_at_open() / app.ping() / app.counters()
//! app.backend() / app.instance()
//! app.backup(&caller, &Path) -> BackupReport                     // SQLite; PostgreSQL: pg_dump
//! restore_backup(&backup, &data_dir, overwrite) -> ()            // SQLite, server stopped
//!
//! app.tenants().create(&caller, NewTenant) / rename / move_to / deactivate / get / list
//! app.users().create(&caller, NewUser) -> CreatedUser / get / me / set_role / deactivate
//!            / reset_password / change_own_password / list
//! app.auth().login(username, password, remote) -> SignIn         // cookie value + CSRF token
//! app.auth().session(cookie, remote) -> SignedIn                 // -> Caller
//! app.auth().verify_csrf(&session, presented) / logout(&caller) / end_session / purge_expired
//! app.tokens().create(&caller, NewApiToken) -> CreatedApiToken   // secret shown once
//!             / get / list / revoke / authenticate(bearer, remote) -> Caller
//! app.audit().list(&caller, AuditListing, &PageRequest) / verify(&caller) / head(&caller)
//!            / verify_against(&caller, &[ChainHead])              // heads anchored outside
//!            / record_read(&caller, ProtectedRead)               // TLP:AMBER+ reads
//!
//! // Telemetry intake: the sensor registry (see `Sensors` for the rules).
//! app.sensors().register(&caller, NewSensor) -> IssuedSensorToken  // ingest token shown once
//!              / get(&caller, SensorId) / list(&caller, under, &PageRequest)
//!              / update(&caller, SensorId, SensorUpdate) / deactivate(&caller, SensorId)
//!              / rotate_token(&caller, SensorId, grace) -> IssuedSensorToken
//!              / revoke_token(&caller, SensorId, SensorTokenId) / tokens(&caller, SensorId)
//!              / health_history(&caller, SensorId, &PageRequest)
//!              / health_events(&caller, under, &PageRequest)
//! // system calls (no caller), for intake:
//! app.sensors().authenticate_ingest(bearer, remote) -> SensorIdentity   // HTTP, `ngs_...`
//!              / sensor_by_address(IpAddr) -> Option<SensorIdentity>     // most specific network
//!              / sensor_by_certificate(&CertificateFingerprint, Option<&str>) -> Option<SensorIdentity>
//!              / record_health(SensorHealthReport) -> SensorHealthEvent  // not audited
//!              / active_sensors() -> Vec<Sensor>                         // to watch at start
//! app.events_scope(&caller) / events_scope_under(&caller, under) -> EventScope  // event search
//!
//! // Alerts (see `Alerts` for the rules): detection's system call, then triage.
//! app.alerts().raise(Vec<AlertSignal>) -> RaiseOutcome { opened, folded, duplicates, rejected }
//!             / prune(now) / metrics() -> AlertMetrics                 // system, no caller
//! app.alerts().list(&caller, AlertListing, &PageRequest) / get / comments
//!             / assign(&caller, id, Option<UserId>) / acknowledge / close(.., Resolution, note)
//!             / reopen(.., ReopenAs) / triage(.., AlertTriage) / comment(.., AlertText)
//!             / bulk(&caller, &[AlertId], AlertTriage) -> per-id results
//!             / changes_head(&caller) / changes(&caller, after, limit, exercise) -> AlertUpdates
//!             / subscribe() -> watch::Receiver                           // live stream wake-up
//! // Detection rules per tenant (see `Rules` for who may do what).
//! app.rules().import(&caller, Vec<NewRuleDocument>, enabled) -> RulesImported
//!            / set_platform_enabled(&caller, id, enabled)           // national CERT administrators
//!            / list(&caller, RuleListing, &PageRequest) / get(&caller, id, tenant) -> RuleState
//!            / set_for_tenant(&caller, id, tenant, enabled) / inherit_for_tenant(&caller, id, tenant)
//!            / add_filter(&caller, NewRuleFilter) / filters(&caller, under) / remove_filter
//! // system calls: seed_built_in(docs) / revision() / snapshot() -> RulesSnapshot
//! // Incidents (see `incidents` and `policy::incident_view` for who sees what).
//! app.incidents().file_report / reports / report / attach_to_report / evidence_of_report
//!                / triage_report(&caller, id, Triage::{NewIncident, Existing, Reject})
//!                / open / get / list / update / set_status / assign / add_observables
//!                / add_note / timeline / escalate / task / update_task / tasks
//!                / relate / merge / submit_stage / upload_evidence / evidence_of_incident
//!                / evidence / download_evidence / custody / export / notifications / metrics
//! // system calls: check_deadlines() / watch_deadlines(every)   // deadline notifications
//! // Shared threat intelligence (see `intel` and `policy::can_read_indicator`).
//! app.intel().create(&caller, NewIndicator) / get / list(&caller, IndicatorListing, &PageRequest)
//!            / update(&caller, id, IndicatorUpdate) / delete / import(&caller, tenant, Vec<NewIndicator>)
//!            / add_sighting(&caller, id, NewSighting) / sightings(&caller, id)
//!            / import_misp(&caller, tenant, bytes) -> MispImported / misp_feed(&caller) -> Vec<FeedEvent>
//!            / import_misp_read(&caller, tenant, MispRead, progress) / export_misp(&caller, under, IntelUse)
//!            / import_stix(&caller, &StixImport, &Bundle, progress) / export_stix / export_csv
//! // system calls: set_warninglists(lists) / revision() / usable() / tenant_path(tenant)
//! //               / record_match(&IndicatorMatch) -> bool (new)   // matching nodes
//! // The duty roster and paging (see `duty` for the rules).
//! app.duty().create_schedule / update_schedule / schedules / on_call / shifts / coverage
//!           / ledger / import_holidays / correct_holiday / rotate_feed_secret / feed
//!           / create_policy / update_policy / delete_policy / policy / policies
//!           / set_contacts / contacts / test_page / pages / page / page_history
//!           / acknowledge / check_link / acknowledge_by_link / notifications
//!           / write_handover / handovers / acknowledge_handover / open_work
//! // system calls: check() / watch(stop)   // the duty loop; notification_link (operator)
//! App::with_clock(store, settings, clock) / App::open_with_clock(..) / app.clock()
//! ```
//!
//! Lists take a [`PageRequest`] (an opaque [`Cursor`] and a limit) and return a
//! [`Page`]. [`model`] re-exports the domain types, so the server needs no
//! other Nigehban crate.
//!
//! # Rules the services keep
//!
//! - Visibility flows down: a caller sees its tenant and the tenants below
//!   it, never a sibling's or an ancestor's records ([`policy::decide`]).
//! - A caller whose password was generated or reset
//!   ([`Caller::must_change_password`]) can do nothing but
//!   `users().me`, `users().change_own_password` and `auth().logout`.
//! - Sign-in failures say the same thing whatever went wrong; Argon2id runs
//!   off the async runtime, also for unknown users; failures slow down
//!   further tries per (user name, address) pair and then per address
//!   ([`AppSettings::sign_in_throttle`]), and never lock an account (a
//!   stranger could lock anyone out).
//! - An administrator's password reset and a deactivation revoke the API
//!   tokens the user owns.
//! - A user name that is taken where the caller cannot see, or reserved, is
//!   refused with one message for both, audited, and an administrator who
//!   collects such refusals is throttled ([`AppSettings::user_name_refusals`]):
//!   creating users must not become a way to find out who has accounts in
//!   other tenants.
//! - The audit log is sealed with a key outside the database
//!   ([`AppSettings::audit_key_file`]; default `audit.key` in the SQLite
//!   data directory).
//! - Every change is one store transaction with its audit entry; reads of
//!   TLP:AMBER material and above are recorded with
//!   [`AuditLog::record_read`].
//! - Tenants and users are never deleted, only deactivated; a deactivated
//!   tenant locks out everyone below it (sessions and tokens included).
//! - The server should call [`Authentication::purge_expired`] now and then
//!   (e.g. hourly) to delete ended sessions.
//! - A sensor only ever submits for its own tenant: intake stamps events with
//!   the tenant of the [`SensorIdentity`] the registry returned, and the
//!   registry returns only active sensors of active tenants. Event search is
//!   scoped by [`App::events_scope`]: an explicit list of the caller's tenant
//!   and those below it (constituent reporters: their own tenant; council
//!   members: nothing).
//!
//! # Tests
//!
//! `cargo test -p nigehban-app` runs the policy matrix (`policy::tests`),
//! the alert services (`tests/alerts.rs`: folding windows, redeliveries,
//! triage, bulk, the change feed and who sees which alert),
//! the services end to end on SQLite (`tests/services.rs`, the sensor registry
//! in `tests/sensors.rs`) and a property test over random tenant trees
//! (`tests/no_leaks.rs`: tenants, users, tokens, audit, sensors, health
//! events and the event search scope), incidents end to end on both
//! backends (`tests/incidents.rs`, with an injected clock) and a property
//! test of who sees which incident over random trees and histories
//! (`tests/incident_leaks.rs`). With
//! `NIGEHBAN_TEST_POSTGRES_URL` set, `the_same_services_run_on_postgresql`
//! runs them on PostgreSQL too.

mod alerts;
mod audit;
mod authentication;
mod bootstrap;
mod caller;
mod clock;
pub mod duty;
mod error;
pub mod incidents;
mod intel;
pub mod policy;
mod rules;
mod secrets;
mod sensors;
mod tenants;
mod tokens;
mod users;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use nigehban_misp as misp;
pub use nigehban_model as model;
pub use nigehban_store::{
    AUDIT_KEY_FILE, AlertHourCount, AuditKeyFile, Backend, BackupReport, Cursor, DATABASE_FILE,
    DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, Page, PageRequest, RuleQuery, RulesImported, Store,
    StoreConfig,
};

pub use alerts::{
    ALERT_LATENCY_BOUNDS, AlertLatency, AlertListing, AlertMetrics, AlertSettings, AlertUpdate,
    AlertUpdates, Alerts, MAX_BULK_ALERTS, MAX_CHANGES_PER_READ, RaiseOutcome, RejectedSignal,
};
pub use audit::{AuditListing, AuditLog, ProtectedRead};
pub use authentication::{Authentication, Backoff, SignIn, SignInThrottle, SignedIn};
pub use bootstrap::{BootstrapOutcome, BootstrapRequest};
pub use caller::{Caller, Via};
pub use clock::{Clock, ManualClock, SystemClock};
pub use duty::{
    Acknowledgement, CalendarChange, CalendarView, ContactMethod, ContactView, Coverage,
    DeliveryAttempt, Duty, DutyCheck, DutySettings, FeedSecret, HandoverState, HandoverView,
    MessageTemplates, NotificationState, NotificationView, OnCall, OpenWork, PageState, PageView,
    PolicyDocument, PolicyView, ScheduleDocument, ScheduleView, SmtpSettings,
};
pub use error::{AppError, AppResult};
pub use incidents::{
    IncidentListing, IncidentRef, IncidentSettings, IncidentSight, IncidentUpdate, Incidents,
    NewTask, NoteAudience, OpenIncident, StatusChange, TaskSight, TaskUpdate,
};
pub use intel::{
    CSV_HEADER, IndicatorListing, IndicatorMatch, IndicatorUpdate, Intel, IntelImported,
    MAX_IMPORTED_INDICATORS, MispImported, NewIndicator, NewSighting, StixExported, StixImport,
    StixImportTotals, StixObjectFate, StixObjectReport, UsableIndicator, csv_line,
    stix_import_totals,
};
pub use intel::{taxii, taxii_pull};
pub use nigehban_intel::Warninglists;
pub use nigehban_stix as stix;
pub use rules::{
    MAX_IMPORTED_RULES, NewRuleDocument, NewRuleFilter, RuleListing, RuleState, Rules,
    RulesSnapshot,
};
pub use secrets::{PasswordHashing, Secret};
pub use sensors::{
    EventScope, IssuedSensorToken, MAX_ROTATION_GRACE, NewSensor, SENSOR_TOKEN_PREFIX,
    SensorHealthReport, SensorIdentity, SensorMatch, Sensors,
};
pub use tenants::{NewTenant, Tenants};
pub use tokens::{ApiTokens, CreatedApiToken, NewApiToken, TOKEN_PREFIX};
pub use users::{CreatedUser, NewUser, PasswordReset, RESERVED_USER_NAMES, RefusalLimit, Users};

use nigehban_model::{InstanceId, Role, Tenant, TenantId};
use policy::{Action, Decision, Relation};

/// Tunable behaviour of the services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSettings {
    /// A session ends after this long without use.
    pub session_idle: Duration,
    /// A session ends this long after sign-in, however much it is used.
    pub session_max: Duration,
    /// How failed sign-ins slow down further tries (per user name and address, then per address).
    pub sign_in_throttle: SignInThrottle,
    /// How many user names an administrator may have refused (taken where
    /// they cannot see, or reserved) before they must wait.
    pub user_name_refusals: RefusalLimit,
    /// Where the audit key is kept; `None` for `audit.key` in the SQLite data
    /// directory (PostgreSQL has no data directory of its own: required there).
    pub audit_key_file: Option<PathBuf>,
    /// Argon2id cost.
    pub password_hashing: PasswordHashing,
    /// Record a token's or session's last use at most this often (each record is a write).
    pub touch_interval: Duration,
    /// Folding window and bookkeeping retention of alerts.
    pub alerts: AlertSettings,
    /// Incidents: readable id prefix, evidence size limit, regulatory profiles.
    pub incidents: IncidentSettings,
    /// Paging: the SMTP relay, link base, retries, timers of the duty loop.
    pub duty: DutySettings,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            session_idle: Duration::from_secs(60 * 60),
            session_max: Duration::from_secs(12 * 60 * 60),
            sign_in_throttle: SignInThrottle::default(),
            user_name_refusals: RefusalLimit::default(),
            audit_key_file: None,
            password_hashing: PasswordHashing::default(),
            touch_interval: Duration::from_secs(60),
            alerts: AlertSettings::default(),
            incidents: IncidentSettings::default(),
            duty: DutySettings::default(),
        }
    }
}

impl AppSettings {
    /// Defaults with the cheapest password hashing: for tests only.
    pub fn insecure_fast_for_tests() -> Self {
        Self {
            password_hashing: PasswordHashing::insecure_fast_for_tests(),
            ..Self::default()
        }
    }
}

/// Counters of security events since the process started, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppCounters {
    /// Successful sign-ins.
    pub sign_ins: u64,
    /// Failed sign-ins (any reason).
    pub sign_in_failures: u64,
    /// Times a (user name, address) pair was held back after too many failures.
    pub lockouts: u64,
    /// Sign-ins refused because the pair or the address must wait.
    pub throttled_sign_ins: u64,
    /// Bearer tokens refused (unknown, expired, revoked, owner no longer entitled).
    pub token_refusals: u64,
    /// Sensor ingest tokens refused (unknown, expired, revoked, sensor or tenant deactivated).
    pub sensor_token_refusals: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) sign_ins: AtomicU64,
    pub(crate) sign_in_failures: AtomicU64,
    pub(crate) lockouts: AtomicU64,
    pub(crate) throttled_sign_ins: AtomicU64,
    pub(crate) token_refusals: AtomicU64,
    pub(crate) sensor_token_refusals: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

pub(crate) struct AppInner {
    pub(crate) counters: Counters,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) settings: AppSettings,
    pub(crate) sign_in_failures: Mutex<authentication::SignInFailures>,
    pub(crate) user_name_refusals: Mutex<users::Refusals>,
    pub(crate) dummy_hash: tokio::sync::OnceCell<nigehban_model::PasswordHash>,
    pub(crate) alerts: alerts::AlertState,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) warninglists: arc_swap::ArcSwap<nigehban_intel::Warninglists>,
}

/// The platform's services. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct App {
    pub(crate) inner: Arc<AppInner>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("backend", &self.inner.store.backend())
            .field("instance", &self.inner.store.instance())
            .finish_non_exhaustive()
    }
}

impl App {
    /// Opens the configured storage (running pending migrations, taking the
    /// audit key from [`AppSettings::audit_key_file`]) and wraps it.
    pub async fn open(config: &StoreConfig, settings: AppSettings) -> AppResult<App> {
        let key_file = Self::audit_key_file(config, &settings)?;
        let store = nigehban_store::open(config, &key_file).await?;
        Ok(App::new(store, settings))
    }

    /// Opens the configured storage without changing it, to verify the
    /// audit log with the key in `key_file` (which must exist): no
    /// migration, nothing written, a database of another schema version refused.
    pub async fn open_read_only(config: &StoreConfig, key_file: &AuditKeyFile) -> AppResult<App> {
        let key = key_file.load_existing()?;
        let store = nigehban_store::open_read_only(config, key).await?;
        Ok(App::new(store, AppSettings::default()))
    }

    /// Where the audit key is kept for this storage and these settings.
    pub fn audit_key_file(config: &StoreConfig, settings: &AppSettings) -> AppResult<AuditKeyFile> {
        match (&settings.audit_key_file, config) {
            (Some(path), _) => Ok(AuditKeyFile::at(path)),
            (None, StoreConfig::Sqlite { data_dir }) => Ok(AuditKeyFile::in_data_dir(data_dir)),
            (None, StoreConfig::Postgres { .. }) => Err(AppError::Invalid(
                "PostgreSQL needs the place of the audit key file (audit_key_file)".into(),
            )),
        }
    }

    /// Like [`App::open`], reading the time for incidents from `clock`.
    pub async fn open_with_clock(
        config: &StoreConfig,
        settings: AppSettings,
        clock: Arc<dyn Clock>,
    ) -> AppResult<App> {
        let key_file = Self::audit_key_file(config, &settings)?;
        let store = nigehban_store::open(config, &key_file).await?;
        Ok(App::with_clock(store, settings, clock))
    }

    /// Wraps an opened store.
    pub fn new(store: Arc<dyn Store>, settings: AppSettings) -> App {
        App::with_clock(store, settings, Arc::new(SystemClock))
    }

    /// Wraps an opened store, reading the time for incidents from `clock`
    /// (tests and exercises move it by hand).
    pub fn with_clock(store: Arc<dyn Store>, settings: AppSettings, clock: Arc<dyn Clock>) -> App {
        App {
            inner: Arc::new(AppInner {
                counters: Counters::default(),
                store,
                settings,
                sign_in_failures: Mutex::new(authentication::SignInFailures::default()),
                user_name_refusals: Mutex::new(users::Refusals::default()),
                dummy_hash: tokio::sync::OnceCell::new(),
                alerts: alerts::AlertState::default(),
                clock,
                warninglists: arc_swap::ArcSwap::from_pointee(nigehban_intel::Warninglists::none()),
            }),
        }
    }

    /// Incidents and their coordination: reports, triage, escalation,
    /// tasking, evidence, regulatory deadlines, figures, export.
    pub fn incidents(&self) -> Incidents<'_> {
        Incidents { app: self }
    }

    /// The clock incidents read the time from.
    pub fn clock(&self) -> &dyn Clock {
        self.inner.clock.as_ref()
    }

    /// Tenant services.
    pub fn tenants(&self) -> Tenants<'_> {
        Tenants { app: self }
    }

    /// User account services.
    pub fn users(&self) -> Users<'_> {
        Users { app: self }
    }

    /// Sign-in, sessions and CSRF.
    pub fn auth(&self) -> Authentication<'_> {
        Authentication { app: self }
    }

    /// API token services.
    pub fn tokens(&self) -> ApiTokens<'_> {
        ApiTokens { app: self }
    }

    /// The audit log.
    pub fn audit(&self) -> AuditLog<'_> {
        AuditLog { app: self }
    }

    /// The storage backend in use.
    pub fn backend(&self) -> Backend {
        self.inner.store.backend()
    }

    /// This installation's id.
    pub fn instance(&self) -> InstanceId {
        self.inner.store.instance()
    }

    /// The settings in force.
    pub fn settings(&self) -> &AppSettings {
        &self.inner.settings
    }

    /// Applies pending schema migrations; returns how many were applied.
    pub async fn migrate(&self) -> AppResult<usize> {
        Ok(self.inner.store.migrate().await?)
    }

    /// How many migrations opening the storage applied (0 if it was current).
    pub fn migrations_applied_at_open(&self) -> usize {
        self.inner.store.migrations_applied_at_open()
    }

    /// One cheap round trip to storage, for readiness probes (works before bootstrap).
    pub async fn ping(&self) -> AppResult<()> {
        Ok(self.inner.store.ping().await?)
    }

    /// Security event counters since the process started.
    pub fn counters(&self) -> AppCounters {
        let c = &self.inner.counters;
        AppCounters {
            sign_ins: c.sign_ins.load(Ordering::Relaxed),
            sign_in_failures: c.sign_in_failures.load(Ordering::Relaxed),
            lockouts: c.lockouts.load(Ordering::Relaxed),
            throttled_sign_ins: c.throttled_sign_ins.load(Ordering::Relaxed),
            token_refusals: c.token_refusals.load(Ordering::Relaxed),
            sensor_token_refusals: c.sensor_token_refusals.load(Ordering::Relaxed),
        }
    }

    /// The operator at the server's command line, acting as administrator of
    /// the root tenant (audited as `operator`). Only the CLI's `admin`,
    /// `audit` and `backup` commands use this; fails before bootstrap.
    pub async fn operator(&self, remote_addr: Option<IpAddr>) -> AppResult<Caller> {
        let root = self.root().await?;
        Ok(Caller::new(
            None,
            root.id,
            Role::Administrator,
            Via::Operator,
            remote_addr,
        ))
    }

    /// Writes a consistent snapshot of the database to `dest` (which must not
    /// exist) while the platform keeps running. Administrators of the root
    /// tenant only. On PostgreSQL this is [`AppError::Unsupported`]: use `pg_dump`.
    pub async fn backup(&self, caller: &Caller, dest: &Path) -> AppResult<BackupReport> {
        let root = self.root().await?;
        self.authorise(caller, Action::TakeBackup, root.id, "tenant", root.id)
            .await
            .map_err(|error| match error {
                AppError::NotFound { .. } => AppError::Forbidden(
                    "only administrators of the national CERT can take backups".into(),
                ),
                other => other,
            })?;
        Ok(self
            .inner
            .store
            .backup_to(dest, &caller.audit_context())
            .await?)
    }

    pub(crate) fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    pub(crate) async fn root(&self) -> AppResult<Tenant> {
        self.store().root_tenant().await?.ok_or_else(|| {
            AppError::Invalid("the platform has not been bootstrapped yet: run `nigehban serve` once to set it up (or `nigehban admin create-user` to create its first administrator)".into())
        })
    }

    /// The path of `tenant` from the root, as ids.
    pub(crate) async fn path_ids(&self, tenant: TenantId) -> AppResult<Vec<TenantId>> {
        Ok(self
            .store()
            .tenant_path(tenant)
            .await?
            .into_iter()
            .map(|t| t.id)
            .collect())
    }

    /// Where `target` sits relative to the caller's tenant.
    pub(crate) async fn relation(&self, caller: &Caller, target: TenantId) -> AppResult<Relation> {
        if caller.tenant_id() == target {
            return Ok(Relation::Own);
        }
        let caller_path = self.path_ids(caller.tenant_id()).await?;
        let target_path = self.path_ids(target).await?;
        Ok(policy::relation(&caller_path, &target_path))
    }

    /// Keeps only the items a list may show: all of them when the role's
    /// reach for `action` covers the subtree, only those of `under` itself
    /// when it reaches the caller's own tenant only.
    pub(crate) fn within_reach<T>(
        &self,
        caller: &Caller,
        action: Action,
        under: TenantId,
        mut page: Page<T>,
        tenant_of: impl Fn(&T) -> TenantId,
    ) -> Page<T> {
        if policy::reach(caller.role(), action) == policy::Reach::OwnTenant {
            page.items.retain(|item| tenant_of(item) == under);
        }
        page
    }

    /// Asks the policy whether the caller may do `action` on a record of
    /// tenant `target`; `kind` and `id` name the record in a NotFound error.
    pub(crate) async fn authorise(
        &self,
        caller: &Caller,
        action: Action,
        target: TenantId,
        kind: &'static str,
        id: impl ToString,
    ) -> AppResult<()> {
        if caller.must_change_password() {
            return Err(AppError::Forbidden(
                "choose a new password before doing anything else".into(),
            ));
        }
        let relation = self.relation(caller, target).await?;
        match policy::decide(caller.role(), action, relation) {
            Decision::Allow => Ok(()),
            Decision::NotFound => Err(AppError::not_found(kind, id)),
            Decision::Forbidden => Err(AppError::Forbidden(format!(
                "the {} role may not {} here",
                caller.role(),
                policy::describe(action)
            ))),
        }
    }
}

/// Restores a SQLite backup into a data directory (the server must be
/// stopped). Refuses to replace an existing database unless `overwrite`.
pub async fn restore_backup(backup: &Path, data_dir: &Path, overwrite: bool) -> AppResult<()> {
    Ok(nigehban_store::restore_sqlite_backup(backup, data_dir, overwrite).await?)
}
