//! How duty records are kept: one versioned JSON document per record.

use serde::{Deserialize, Serialize};

use crate::{DutyRecordId, InstanceId, TenantId, Timestamp, UserId};

/// What a duty record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DutyRecordKind {
    /// A team's [`super::Schedule`].
    Schedule,
    /// A [`super::HolidayCalendar`].
    HolidayCalendar,
    /// An [`super::EscalationPolicy`].
    EscalationPolicy,
    /// A person's contact methods and feed secret.
    Contact,
    /// A [`super::Page`] and its escalation state.
    Page,
    /// One notification and its delivery attempts (the delivery log).
    Notification,
    /// A shift hand-over note.
    Handover,
    /// Where the duty loop stopped reading a feed.
    Cursor,
}

impl DutyRecordKind {
    /// Every kind.
    pub const ALL: [Self; 8] = [
        Self::Schedule,
        Self::HolidayCalendar,
        Self::EscalationPolicy,
        Self::Contact,
        Self::Page,
        Self::Notification,
        Self::Handover,
        Self::Cursor,
    ];

    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::HolidayCalendar => "holiday_calendar",
            Self::EscalationPolicy => "escalation_policy",
            Self::Contact => "contact",
            Self::Page => "page",
            Self::Notification => "notification",
            Self::Handover => "handover",
            Self::Cursor => "cursor",
        }
    }

    /// Reads a stored word.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == word)
    }
}

/// A duty record: the document and what the store indexes it by. Every
/// change is kept as a version (what the roster was at any past moment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DutyRecord {
    /// Its id.
    pub id: DutyRecordId,
    /// The installation.
    pub instance: InstanceId,
    /// The owning tenant.
    pub tenant: TenantId,
    /// What it is.
    pub kind: DutyRecordKind,
    /// A name people read (a schedule's, a calendar's; a user name for contacts).
    pub name: String,
    /// A state word the duty loop selects by (`open`, `pending`, ...; empty when unused).
    pub status: String,
    /// When the duty loop must look at it next, if ever.
    pub due_at: Option<Timestamp>,
    /// A key unique over all records when set (a page's source, a feed secret's hash).
    pub unique_key: Option<String>,
    /// The document.
    pub body: serde_json::Value,
    /// Increases with every change, from 1.
    pub version: u64,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed (the moment this version took effect).
    pub updated_at: Timestamp,
    /// Who changed it last (none for the platform's own records).
    pub updated_by: Option<UserId>,
}

impl DutyRecord {
    /// A new record at version 0 (the store makes it 1).
    pub fn new(
        tenant: TenantId,
        kind: DutyRecordKind,
        name: impl Into<String>,
        body: serde_json::Value,
        at: Timestamp,
    ) -> Self {
        Self {
            id: DutyRecordId::new(),
            instance: InstanceId::from_uuid(uuid::Uuid::nil()),
            tenant,
            kind,
            name: name.into(),
            status: String::new(),
            due_at: None,
            unique_key: None,
            body,
            version: 0,
            created_at: at,
            updated_at: at,
            updated_by: None,
        }
    }
}

/// The unique key a secret (a feed URL's, a signed link's) is found by:
/// its SHA-256, never the secret itself.
pub fn secret_key(purpose: &str, secret: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(secret.as_bytes());
    format!("{purpose}:{}", hex::encode(digest))
}
