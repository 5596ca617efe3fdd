//! A detection: one rule matching one event on the bus, with what the alert
//! service needs to raise, fold and show an alert.

use std::sync::Arc;

use nigehban_sigma::MatchedField;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::rules::RuleSummary;

/// One rule matching one event received by the platform.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// The event's id (given by intake; the same on a redelivery).
    pub event_id: Uuid,
    /// The tenant the event belongs to (the bus record's, set by intake from
    /// the sensor).
    pub tenant_id: String,
    /// The sensor that sent the event (empty when intake did not know it).
    pub sensor_id: String,
    /// When the event happened, as it says (`@timestamp`; the receive time
    /// when the record did not say).
    pub event_time: Option<OffsetDateTime>,
    /// When intake received the event.
    pub received_at: OffsetDateTime,
    /// The rule that matched: id, title, level, author, references, tags
    /// and ATT&CK technique ids, status.
    pub rule: Arc<RuleSummary>,
    /// The field values that made the rule match (see
    /// [`nigehban_sigma::CompiledRuleSet::matched_fields`]).
    pub matched: Vec<MatchedField>,
    /// The host the event is about (`host.name`), when it names one.
    pub host: Option<String>,
    /// The user the event is about (`user.name`), when it names one.
    pub user: Option<String>,
    /// What repeats of this rule fold on into one alert, when the rule says
    /// (a correlation's group values); `None` for the default.
    pub fold_key: Option<String>,
    /// For a correlation rule's detection: the window that matched (then
    /// `event_id` stands for the match, derived from the rule, the group
    /// and the window start, the same on every replay).
    pub correlation: Option<Arc<CorrelationFacts>>,
}

/// What a correlation rule's detection says about the events it correlated.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationFacts {
    /// The `group-by` names and the group's values.
    pub group: Vec<(String, String)>,
    /// Events in the window.
    pub event_count: u64,
    /// Their ids (at most the engine's `max_event_ids`), in event-time order.
    pub event_ids: Vec<String>,
    /// Time of the window's first event.
    pub window_start: OffsetDateTime,
    /// Time of the window's last event.
    pub window_end: OffsetDateTime,
    /// The aggregate the condition held for (count, distinct values, sum, ...).
    pub value: f64,
}

impl Detection {
    /// What makes a detection the same detection when it is handed over
    /// again (at-least-once delivery): the rule's id and the event's id.
    pub fn key(&self) -> (&str, Uuid) {
        (&self.rule.id, self.event_id)
    }
}
