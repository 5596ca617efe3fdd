//! Globally unique record ids.
//!
//! Every record id is a UUIDv7: unique across instances without coordination
//! (so a sectoral CERT's own instance can later federate with the national one)
//! and ordered by creation time, which gives list calls a stable order.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A record id that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} id {value:?}: expected a UUID")]
pub struct InvalidId {
    /// Which kind of id was expected, e.g. "tenant".
    pub kind: &'static str,
    /// The text that was given.
    pub value: String,
}

macro_rules! record_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, globally unique id (UUIDv7, ordered by creation time).
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID (e.g. read back from storage).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim()).map(Self).map_err(|_| InvalidId {
                    kind: $kind,
                    value: s.to_owned(),
                })
            }
        }
    };
}

record_id!(
    /// The id of one Nigehban installation (instance); records name the instance that owns them.
    InstanceId,
    "instance"
);
record_id!(
    /// The id of a tenant: the national CERT, a sectoral CERT or an organisation.
    TenantId,
    "tenant"
);
record_id!(
    /// The id of a user account.
    UserId,
    "user"
);
record_id!(
    /// The id of an API token (not its secret).
    TokenId,
    "token"
);
record_id!(
    /// The id of a tenant's Sigma filter (a rule filter record).
    RuleFilterId,
    "rule filter"
);

record_id!(
    /// The id of a duty record (schedule, holiday calendar, escalation
    /// policy, contact, page, notification, hand-over).
    DutyRecordId,
    "duty record"
);

record_id!(
    /// The id of an indicator of compromise (shared threat intelligence).
    IndicatorId,
    "indicator"
);
record_id!(
    /// The id of a sighting: one report that an indicator was seen.
    SightingId,
    "sighting"
);

record_id!(
    /// The id of a browser session (not its secret cookie value).
    SessionId,
    "session"
);
record_id!(
    /// The id of one audit log entry.
    AuditEntryId,
    "audit entry"
);
record_id!(
    /// The id of a registered sensor (a firewall, an IDS, a host agent, ...).
    SensorId,
    "sensor"
);
record_id!(
    /// The id of a sensor's ingest token (not its secret).
    SensorTokenId,
    "sensor token"
);
record_id!(
    /// The id of one sensor health event (silent, recovered).
    SensorHealthEventId,
    "sensor health event"
);
record_id!(
    /// The id of an alert (matching events of one rule, folded).
    AlertId,
    "alert"
);
record_id!(
    /// The id of a comment on an alert.
    AlertCommentId,
    "alert comment"
);

// ---- incidents and coordination ----

record_id!(
    /// The id of an incident (its readable id, e.g. `PK-2026-000123`, is a separate name).
    IncidentId,
    "incident"
);
record_id!(
    /// The id of an incident report a constituent filed.
    IncidentReportId,
    "incident report"
);
record_id!(
    /// The id of a task an incident's owner gave a tenant.
    IncidentTaskId,
    "incident task"
);
record_id!(
    /// The id of one entry of an incident's timeline.
    TimelineEntryId,
    "timeline entry"
);
record_id!(
    /// The id of a piece of evidence (a file; its content is named by its SHA-256).
    EvidenceId,
    "evidence"
);
record_id!(
    /// The id of a notification the platform raised about an incident (e.g. a deadline).
    IncidentNotificationId,
    "incident notification"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text() {
        let id = TenantId::new();
        let parsed: TenantId = id.to_string().parse().unwrap();
        assert_eq!(id, parsed);
    }

    #[test]
    fn ids_are_ordered_by_creation() {
        let first = UserId::new();
        let second = UserId::new();
        assert!(first < second);
    }

    #[test]
    fn bad_id_names_its_kind() {
        let err = "not-a-uuid".parse::<TenantId>().unwrap_err();
        assert_eq!(err.kind, "tenant");
        assert!(err.to_string().contains("not-a-uuid"));
    }
}
