//! Nigehban's domain nouns: tenants, users, roles, TLP, record ids, audit entries.
//!
//! No I/O here: plain types that the store persists, the app authorises and
//! the server serialises. Values from outside are parsed once, at the edge,
//! into these types ("parse, don't validate"): a [`TenantName`] is never empty,
//! a [`Username`] is lower-case, a [`Password`] is never printed.
//!
//! # API
//!
//! - Record ids ([`id`]): [`InstanceId`], [`TenantId`], [`UserId`], [`TokenId`],
//!   [`SessionId`], [`AuditEntryId`], [`SensorId`], [`SensorTokenId`],
//!   [`SensorHealthEventId`], [`AlertId`], [`AlertCommentId`] — UUIDv7, globally unique and time-ordered.
//!   Every record carries the [`InstanceId`] of the installation that owns it
//!   and the [`TenantId`] it belongs to, so instances can federate later.
//! - Names people type ([`text`]) never hold control or bidirectional
//!   formatting characters (a right-to-left override makes a name read as
//!   something else); the refusal names the character and its place
//!   ([`ForbiddenCharacter`]).
//! - [`Timestamp`]: UTC, microsecond precision, RFC 3339 in JSON.
//! - Tenants ([`tenant`]): [`Tenant`], [`TenantName`], [`TenantKind`]
//!   (national / sectoral with a [`Sector`] / organisation, possibly critical
//!   information infrastructure) and where each kind may sit in the tree.
//! - [`Role`] and [`Tlp`] (TLP 2.0).
//! - Users ([`user`]): [`User`], [`Username`], [`DisplayName`], [`Password`],
//!   [`PasswordHash`].
//! - Credentials ([`credential`]): [`ApiToken`], [`TokenName`], [`Session`],
//!   [`SecretHash`].
//! - Sensors ([`sensor`]): [`Sensor`] and its parsed fields ([`SensorName`],
//!   [`SensorKind`], [`SensorFormat`], [`ExpectedInterval`] of 10 s to 7 days,
//!   [`SourceNetwork`] — an address or CIDR network, host bits and networks
//!   broader than /8 or /32 refused —, [`CertificateFingerprint`] — SHA-256,
//!   lower-case hex —, [`SubjectCommonName`], [`HostOsType`],
//!   [`SensorUtcOffset`]), [`SensorUpdate`], the ingest [`SensorToken`], and
//!   [`SensorHealthEvent`]s ([`SensorHealthKind`]: silent / recovered). Every
//!   parse error is an [`InvalidSensorField`] naming the field and value.
//! - Alerts ([`alert`]): what detection knows ([`AlertSignal`]: tenant,
//!   sensor, [`AlertRule`] with ATT&CK technique ids from its tags, event,
//!   matched fields, host, user, fold key), the [`Alert`] they fold into
//!   ([`AlertFolding`], [`fold_batch`]: same rule and key within a window,
//!   never into a closed alert; [`Severity`] from the rule's level,
//!   [`AlertSource`], [`AlertStatus`]), its triage ([`AlertTriage`],
//!   [`Resolution`], [`ReopenAs`], [`Alert::triage`]), [`AlertComment`]s and
//!   the change feed ([`AlertChange`]).
//! - Incidents ([`incident`]): [`Incident`] with its [`ReadableId`]
//!   (`PK-2026-000123`), [`RsitClass`] (the embedded RSIT taxonomy),
//!   [`IncidentSeverity`], [`Pap`], the [`IncidentStatus`] workflow,
//!   typed [`Observable`]s ([`extract_observables`]), [`IncidentTask`]s,
//!   [`TimelineEntry`]s, constituents' [`IncidentReport`]s, content-addressed
//!   [`Evidence`], regulatory [`RegulatoryProfile`]s and clocks, and
//!   [`IncidentNotification`]s.
//! - The duty roster ([`duty`]): schedules, rotations, overrides, leave,
//!   holiday calendars, coverage, the fairness ledger, iCalendar, pages and
//!   escalation policies.
//! - The audit log ([`audit`]): [`AuditDraft`] → [`AuditEntry`] via
//!   [`AuditDraft::seal`], the hash chain ([`AuditEntry::compute_hash`],
//!   [`ChainHash`], [`ChainHead`]), its key ([`AuditKey`], kept outside the
//!   database; every entry and the head carry an [`AuditMac`]) and its
//!   verification ([`ChainVerifier`] over a [`RecordedChain`] and the heads
//!   an operator anchored, [`AuditVerification`], [`AuditBreak`]).

pub mod alert;
pub mod audit;
pub mod credential;
pub mod duty;
pub mod id;
pub mod incident;
pub mod indicator;
pub mod role;
pub mod rule;
pub mod sensor;
pub mod tenant;
pub mod text;
pub mod timestamp;
pub mod tlp;
pub mod user;

pub use alert::{
    Alert, AlertChange, AlertChangeKind, AlertComment, AlertFolding, AlertRule, AlertSignal,
    AlertSource, AlertStatus, AlertText, AlertTriage, FoldGroup, InvalidAlertField, InvalidTriage,
    MatchedFields, RaisedAlert, ReopenAs, Resolution, Severity, SignalFate, fold_batch,
};
pub use audit::{
    Actor, ActorKind, AuditAction, AuditBreak, AuditDraft, AuditEntry, AuditKey, AuditMac,
    AuditProblem, AuditVerification, ChainHash, ChainHead, ChainVerifier, InvalidAuditKey,
    InvalidChainHead, JsonText, KeyFingerprint, RecordedChain,
};
pub use credential::{ApiToken, InvalidTokenName, SecretHash, Session, TokenName};
pub use id::{
    AlertCommentId, AlertId, AuditEntryId, InstanceId, InvalidId, SensorHealthEventId, SensorId,
    SensorTokenId, SessionId, TenantId, TokenId, UserId,
};
pub use id::{DutyRecordId, IndicatorId, RuleFilterId, SightingId};
pub use id::{
    EvidenceId, IncidentId, IncidentNotificationId, IncidentReportId, IncidentTaskId,
    TimelineEntryId,
};
pub use incident::{
    Audience, Evidence, EvidenceFileName, Incident, IncidentClocks, IncidentNotification,
    IncidentReport, IncidentResolution, IncidentSeverity, IncidentStatus, IncidentTask,
    InvalidIncidentField, NotificationKind, Observable, ObservableKind, Pap, ReadableId,
    ReadableIdPrefix, RegulatoryClock, RegulatoryProfile, ReportStatus, RsitClass, Sha256Digest,
    StageState, TaskKind, TaskStatus, TimelineEntry, TimelineKind, extract_observables,
};
pub use role::Role;
pub use rule::{
    RuleDocument, RuleFilter, RuleKind, RuleOrigin, RuleOverride, UnknownRuleWord,
    effective_enabled,
};
pub use sensor::{
    CertificateFingerprint, ExpectedInterval, HostOsType, InvalidSensorField, Sensor, SensorFormat,
    SensorHealthEvent, SensorHealthKind, SensorKind, SensorName, SensorToken, SensorUpdate,
    SensorUtcOffset, SourceNetwork, SubjectCommonName,
};
pub use tenant::{InvalidTenantName, Sector, Tenant, TenantKind, TenantName, UnknownWord};
pub use text::ForbiddenCharacter;
pub use timestamp::Timestamp;
pub use tlp::Tlp;
pub use user::{DisplayName, InvalidCredentialText, Password, PasswordHash, User, Username};
