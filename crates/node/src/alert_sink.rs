//! Detections become alert signals: the detection stage's sink that raises
//! them through the alert service.
//!
//! Each batch of detections is raised in one call (one store transaction);
//! a failure leaves nothing of the batch stored and the stage hands the
//! batch over again. A detection handed over twice (the bus redelivered its
//! event) is recognised by the store as a duplicate, so it is counted once.

use nigehban_app::{App, AppError};
use nigehban_detect::{Detection, DetectionSink};
use nigehban_model::{
    AlertRule, AlertSignal, AlertSource, MatchedFields, SensorId, Severity, TenantId, Timestamp,
};
use serde_json::Value;

/// Why a batch of detections could not be raised now (it is retried).
#[derive(Debug, thiserror::Error)]
#[error("raising alerts failed: {0}")]
pub struct AlertSinkError(#[from] AppError);

/// The detection stage's sink: raises every detection as an alert signal.
#[derive(Clone)]
pub struct AlertSink {
    app: App,
}

impl AlertSink {
    /// A sink raising alerts through `app`'s alert service.
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

impl DetectionSink for AlertSink {
    type Error = AlertSinkError;

    async fn accept(&self, detections: &[Detection]) -> Result<(), Self::Error> {
        let signals: Vec<AlertSignal> = detections.iter().filter_map(signal_of).collect();
        let outcome = self.app.alerts().raise(signals).await?;
        for rejected in &outcome.rejected {
            tracing::warn!(?rejected, "a detection was not raised as an alert");
        }
        Ok(())
    }
}

/// The alert signal of a detection; `None` (logged) when the bus record named
/// no tenant this platform can hold, which intake never writes.
pub fn signal_of(detection: &Detection) -> Option<AlertSignal> {
    let Ok(tenant) = detection.tenant_id.parse::<TenantId>() else {
        tracing::warn!(
            tenant = %detection.tenant_id,
            event = %detection.event_id,
            rule = %detection.rule.id,
            "a detection names no valid tenant; it raises no alert"
        );
        return None;
    };
    let summary = &detection.rule;
    let rule = AlertRule {
        id: summary.id.clone(),
        title: summary.title.clone(),
        // The rule loader gives one of Sigma's five levels; anything else is
        // treated as informational rather than lost.
        level: summary.level.parse().unwrap_or(Severity::Informational),
        author: Some(summary.author.clone()).filter(|author| !author.trim().is_empty()),
        references: summary.references.clone(),
        tags: summary.tags.clone(),
    };
    let received_at = Timestamp::from_datetime(detection.received_at);
    let mut signal = AlertSignal::new(
        tenant,
        rule,
        detection.event_id.to_string(),
        detection
            .event_time
            .map_or(received_at, Timestamp::from_datetime),
    );
    signal.received_at = received_at;
    signal.sensor = detection.sensor_id.parse::<SensorId>().ok();
    signal.host = detection.host.clone();
    signal.user = detection.user.clone();
    signal.matched_fields = matched_fields(detection);
    if detection.correlation.is_some() {
        signal.source = AlertSource::CorrelationRule;
    }
    // A correlation's group values fold its alerts (instead of host + user).
    signal.fold_key = detection.fold_key.clone();
    Some(signal)
}

/// The matched values by field name (a field matched by several values gets
/// them all, in order; a keyword match is under `keywords`).
fn matched_fields(detection: &Detection) -> MatchedFields {
    let mut fields = MatchedFields::new();
    for matched in &detection.matched {
        let name = matched
            .field
            .clone()
            .unwrap_or_else(|| "keywords".to_owned());
        let value = Value::String(matched.value.clone());
        match fields.get_mut(&name) {
            None => {
                fields.insert(name, value);
            }
            Some(Value::Array(values)) => {
                if !values.contains(&value) {
                    values.push(value);
                }
            }
            Some(existing) => {
                if *existing != value {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, value]);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use nigehban_detect::RuleSummary;
    use nigehban_sigma::MatchedField;
    use time::OffsetDateTime;

    use super::*;

    fn detection(tenant: &str) -> Detection {
        Detection {
            event_id: uuid::Uuid::from_u128(7),
            tenant_id: tenant.to_owned(),
            sensor_id: String::new(),
            event_time: None,
            received_at: OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time"),
            rule: Arc::new(RuleSummary {
                id: "5f1ba6e1-0000-4000-8000-000000000001".to_owned(),
                title: "Mimikatz use".to_owned(),
                level: "high".to_owned(),
                author: " ".to_owned(),
                status: Some("stable".to_owned()),
                references: vec!["https://example.org/report".to_owned()],
                tags: vec!["attack.t1003.001".to_owned()],
                techniques: vec!["T1003.001".to_owned()],
            }),
            matched: vec![
                MatchedField {
                    field: Some("Image".to_owned()),
                    value: "C:\\m.exe".to_owned(),
                },
                MatchedField {
                    field: Some("CommandLine".to_owned()),
                    value: "sekurlsa".to_owned(),
                },
                MatchedField {
                    field: Some("CommandLine".to_owned()),
                    value: "logonpasswords".to_owned(),
                },
                MatchedField {
                    field: None,
                    value: "mimikatz".to_owned(),
                },
            ],
            host: Some("dc-01".to_owned()),
            user: None,
            fold_key: None,
            correlation: None,
        }
    }

    #[test]
    fn a_detection_becomes_a_signal_with_its_rule_fields_and_times() {
        let tenant = TenantId::new();
        let signal = signal_of(&detection(&tenant.to_string())).expect("a signal");
        assert_eq!(signal.tenant, tenant);
        assert_eq!(signal.rule.level, Severity::High);
        assert_eq!(signal.rule.author, None, "a blank author is no author");
        assert_eq!(
            signal.rule.attack_techniques(),
            vec!["T1003.001".to_owned()]
        );
        assert_eq!(signal.event_id, uuid::Uuid::from_u128(7).to_string());
        assert_eq!(
            signal.event_time, signal.received_at,
            "no event time: the receive time"
        );
        assert_eq!(
            signal.received_at.to_datetime().unix_timestamp(),
            1_700_000_000
        );
        assert_eq!(signal.sensor, None);
        assert_eq!(signal.host.as_deref(), Some("dc-01"));
        assert_eq!(
            serde_json::Value::Object(signal.matched_fields.clone()),
            serde_json::json!({
                "Image": "C:\\m.exe",
                "CommandLine": ["sekurlsa", "logonpasswords"],
                "keywords": "mimikatz",
            })
        );
        assert!(signal.check().is_ok());
    }

    #[test]
    fn a_correlation_detection_folds_by_its_group() {
        let tenant = TenantId::new();
        let mut correlated = detection(&tenant.to_string());
        correlated.fold_key = Some("TargetUserName=admin".to_owned());
        correlated.correlation = Some(Arc::new(nigehban_detect::CorrelationFacts {
            group: vec![("TargetUserName".to_owned(), "admin".to_owned())],
            event_count: 12,
            event_ids: vec!["e1".to_owned()],
            window_start: OffsetDateTime::UNIX_EPOCH,
            window_end: OffsetDateTime::UNIX_EPOCH,
            value: 12.0,
        }));
        let signal = signal_of(&correlated).expect("a signal");
        assert_eq!(signal.source, AlertSource::CorrelationRule);
        assert_eq!(signal.fold_key.as_deref(), Some("TargetUserName=admin"));
        let plain = signal_of(&detection(&tenant.to_string())).expect("a signal");
        assert_eq!(plain.source, AlertSource::SigmaRule);
        assert_eq!(plain.fold_key, None);
    }

    #[test]
    fn a_detection_without_a_valid_tenant_raises_nothing() {
        assert!(signal_of(&detection("not-a-tenant")).is_none());
        assert!(signal_of(&detection("")).is_none());
    }
}
