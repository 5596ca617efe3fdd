//! Sensor health: when each sensor last sent, how fast, how many of its
//! records failed or were dropped, and whether it has gone silent.
//!
//! [`SensorHealth`] reads no clock: every call takes `now`, so the timing can
//! be tested exactly. A sensor with an expected interval that has sent
//! nothing for longer than that interval is *silent*: [`SensorHealth::check`]
//! reports it once ([`HealthChangeKind::Silent`]), and reports
//! [`HealthChangeKind::Recovered`] once data arrives again. Calling `check`
//! every `p` seconds raises the alarm at most `interval + p` after the last
//! event ([`crate::Intake::spawn_health_watch`] calls it every 15 seconds by
//! default, within the "interval plus one minute" the product promises).

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::sensor::SensorStamp;

/// Length of the window over which events per second are averaged.
pub const RATE_WINDOW: Duration = Duration::from_secs(60);
const BUCKETS: usize = 60;

/// A change in a sensor's health, for the server to record as a health event
/// (and, once the alert model exists, to raise or resolve an alert).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthChange {
    /// The sensor's tenant.
    pub tenant_id: String,
    /// The sensor.
    pub sensor_id: String,
    /// When the change was seen.
    pub at: SystemTime,
    /// What changed.
    pub kind: HealthChangeKind,
}

/// What changed in a sensor's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthChangeKind {
    /// The sensor sent nothing for longer than its expected interval.
    Silent {
        /// Since when: its last event, or when it was first watched if it
        /// never sent anything.
        since: SystemTime,
        /// The interval it was expected to send within.
        expected_interval: Duration,
    },
    /// A silent sensor sent data again.
    Recovered {
        /// Since when it had been silent.
        silent_since: SystemTime,
    },
}

/// One sensor's health as shown to people (console, `/metrics`).
#[derive(Debug, Clone, PartialEq)]
pub struct SensorStatus {
    /// The sensor's tenant.
    pub tenant_id: String,
    /// The sensor.
    pub sensor_id: String,
    /// When it last sent an event that was accepted.
    pub last_event: Option<SystemTime>,
    /// Events accepted per second, averaged over the last [`RATE_WINDOW`].
    pub events_per_second: f64,
    /// Events accepted since intake started.
    pub events: u64,
    /// Records refused (unparsable, over a limit) since intake started.
    pub errors: u64,
    /// Records dropped (UDP queue full, bus unavailable) since intake started.
    pub drops: u64,
    /// Events accepted since intake started that are of a format the sensor
    /// is not registered to send (kept, each with a diagnostic).
    pub unexpected_format: u64,
    /// The interval it is expected to send within, if any.
    pub expected_interval: Option<Duration>,
    /// Since when it has been silent, while it is.
    pub silent_since: Option<SystemTime>,
}

/// Per-sensor health, updated by intake and checked periodically.
#[derive(Debug, Default)]
pub struct SensorHealth {
    sensors: HashMap<String, SensorState>,
    pending: Vec<HealthChange>,
}

#[derive(Debug)]
struct SensorState {
    tenant_id: String,
    expected_interval: Option<Duration>,
    watched_since: SystemTime,
    last_event: Option<SystemTime>,
    events: u64,
    errors: u64,
    drops: u64,
    unexpected_format: u64,
    rate: RateWindow,
    silent_since: Option<SystemTime>,
}

impl SensorHealth {
    /// No sensors watched yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts watching a sensor (or updates its tenant and expected interval),
    /// so that one that never sends is reported silent too. Its silence is
    /// counted from `now` until it sends.
    pub fn watch(&mut self, stamp: &SensorStamp, now: SystemTime) {
        self.state(stamp, now);
    }

    /// Stops watching a sensor (it was deleted or disabled).
    pub fn forget(&mut self, sensor_id: &str) {
        self.sensors.remove(sensor_id);
    }

    /// Records `count` accepted events from a sensor at `now`.
    pub fn record_events(&mut self, stamp: &SensorStamp, count: u64, now: SystemTime) {
        let state = self.state(stamp, now);
        state.events += count;
        state.rate.add(now, count);
        if state.last_event.is_none_or(|last| last < now) {
            state.last_event = Some(now);
        }
        if let Some(silent_since) = state.silent_since.take() {
            self.pending.push(HealthChange {
                tenant_id: stamp.tenant_id.clone(),
                sensor_id: stamp.sensor_id.clone(),
                at: now,
                kind: HealthChangeKind::Recovered { silent_since },
            });
        }
    }

    /// Records `count` refused records from a sensor.
    pub fn record_errors(&mut self, stamp: &SensorStamp, count: u64, now: SystemTime) {
        self.state(stamp, now).errors += count;
    }

    /// Records `count` accepted events of a format the sensor is not
    /// registered to send.
    pub fn record_unexpected_format(&mut self, stamp: &SensorStamp, count: u64, now: SystemTime) {
        self.state(stamp, now).unexpected_format += count;
    }

    /// Records `count` dropped records from a sensor.
    pub fn record_drops(&mut self, stamp: &SensorStamp, count: u64, now: SystemTime) {
        self.state(stamp, now).drops += count;
    }

    /// The changes since the last call: sensors that recovered, and sensors
    /// that have now been silent for longer than their expected interval.
    pub fn check(&mut self, now: SystemTime) -> Vec<HealthChange> {
        let mut changes = std::mem::take(&mut self.pending);
        for (sensor_id, state) in &mut self.sensors {
            let Some(interval) = state.expected_interval else {
                continue;
            };
            if state.silent_since.is_some() {
                continue;
            }
            let since = state.last_event.unwrap_or(state.watched_since);
            let overdue = now
                .duration_since(since)
                .is_ok_and(|quiet| quiet > interval);
            if overdue {
                state.silent_since = Some(since);
                changes.push(HealthChange {
                    tenant_id: state.tenant_id.clone(),
                    sensor_id: sensor_id.clone(),
                    at: now,
                    kind: HealthChangeKind::Silent {
                        since,
                        expected_interval: interval,
                    },
                });
            }
        }
        changes.sort_by(|a, b| a.sensor_id.cmp(&b.sensor_id));
        changes
    }

    /// Every watched sensor's status at `now`, by sensor id.
    pub fn statuses(&self, now: SystemTime) -> Vec<SensorStatus> {
        let mut statuses: Vec<SensorStatus> = self
            .sensors
            .iter()
            .map(|(sensor_id, state)| SensorStatus {
                tenant_id: state.tenant_id.clone(),
                sensor_id: sensor_id.clone(),
                last_event: state.last_event,
                events_per_second: state.rate.per_second(now),
                events: state.events,
                errors: state.errors,
                drops: state.drops,
                unexpected_format: state.unexpected_format,
                expected_interval: state.expected_interval,
                silent_since: state.silent_since,
            })
            .collect();
        statuses.sort_by(|a, b| a.sensor_id.cmp(&b.sensor_id));
        statuses
    }

    /// One sensor's status at `now`.
    pub fn status(&self, sensor_id: &str, now: SystemTime) -> Option<SensorStatus> {
        let state = self.sensors.get(sensor_id)?;
        Some(SensorStatus {
            tenant_id: state.tenant_id.clone(),
            sensor_id: sensor_id.to_owned(),
            last_event: state.last_event,
            events_per_second: state.rate.per_second(now),
            events: state.events,
            errors: state.errors,
            drops: state.drops,
            unexpected_format: state.unexpected_format,
            expected_interval: state.expected_interval,
            silent_since: state.silent_since,
        })
    }

    fn state(&mut self, stamp: &SensorStamp, now: SystemTime) -> &mut SensorState {
        let state = self
            .sensors
            .entry(stamp.sensor_id.clone())
            .or_insert_with(|| SensorState {
                tenant_id: stamp.tenant_id.clone(),
                expected_interval: stamp.expected_interval,
                watched_since: now,
                last_event: None,
                events: 0,
                errors: 0,
                drops: 0,
                unexpected_format: 0,
                rate: RateWindow::default(),
                silent_since: None,
            });
        if state.tenant_id != stamp.tenant_id {
            state.tenant_id.clone_from(&stamp.tenant_id);
        }
        state.expected_interval = stamp.expected_interval;
        state
    }
}

/// Counts per second over the last [`BUCKETS`] seconds.
#[derive(Debug)]
struct RateWindow {
    /// Per bucket: the Unix second it counts, and the count.
    buckets: [(u64, u64); BUCKETS],
}

impl Default for RateWindow {
    fn default() -> Self {
        RateWindow {
            buckets: [(0, 0); BUCKETS],
        }
    }
}

fn unix_second(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl RateWindow {
    fn add(&mut self, at: SystemTime, count: u64) {
        let second = unix_second(at);
        let slot = &mut self.buckets[(second % BUCKETS as u64) as usize];
        if slot.0 == second {
            slot.1 += count;
        } else if slot.0 < second {
            *slot = (second, count);
        }
        // An older second than the slot holds: outside the window already.
    }

    fn per_second(&self, now: SystemTime) -> f64 {
        let now = unix_second(now);
        let total: u64 = self
            .buckets
            .iter()
            .filter(|(second, _)| *second <= now && now - *second < BUCKETS as u64)
            .map(|(_, count)| count)
            .sum();
        total as f64 / BUCKETS as f64
    }
}

/// What health events are, for detection and search: `event.module`.
pub const HEALTH_EVENT_MODULE: &str = "nigehban";
/// `event.dataset` of a health event.
pub const HEALTH_EVENT_DATASET: &str = "nigehban.sensor_health";

/// Why a health change could not be made into a bus record.
#[derive(Debug, thiserror::Error)]
pub enum HealthEventError {
    /// The normaliser refused the event (it never should: it is ours).
    #[error("the health event of sensor {sensor} cannot be normalised: {source}")]
    Normalise {
        /// The sensor.
        sensor: String,
        /// What the normaliser said.
        source: nigehban_normalise::NormaliseError,
    },
    /// The event could not be encoded for the bus.
    #[error("the health event of sensor {sensor} cannot be encoded: {source}")]
    Encode {
        /// The sensor.
        sensor: String,
        /// What the encoder said.
        source: serde_json::Error,
    },
}

impl HealthChange {
    /// The change as a bus record: a normalised event of the sensor's tenant
    /// and sensor, so that detection sees a silent sensor as it sees any
    /// event (the starter pack's "Sensor Silent" rule) and search keeps it.
    ///
    /// The record is ECS-shaped JSON read by the normaliser:
    /// `event.module` [`HEALTH_EVENT_MODULE`], `event.dataset`
    /// [`HEALTH_EVENT_DATASET`], `event.kind: alert` (silent) or `event`
    /// (recovered), `event.action` `sensor-silent` or `sensor-recovered`,
    /// `host.name` and `observer.id` the sensor id (an alert about a sensor
    /// is about that device, and folds per sensor), `@timestamp` when the
    /// change was seen, `message`, and `nigehban.sensor_health.silent_since`
    /// (with `expected_interval_seconds` when silent). Its event id is
    /// derived from the sensor, the change and the start of the silence, so
    /// the same change published twice is one event.
    pub fn to_record(&self) -> Result<nigehban_bus::Record, HealthEventError> {
        use nigehban_normalise::envelope::{EVENT_CONTENT_TYPE, encode_event};
        use nigehban_normalise::{Format, SourceHint, normalise_value};
        use serde_json::json;

        let at = time::OffsetDateTime::from(self.at);
        let rfc3339 = |t: SystemTime| {
            time::OffsetDateTime::from(t)
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        };
        let (action, kind, since, details, message) = match &self.kind {
            HealthChangeKind::Silent {
                since,
                expected_interval,
            } => (
                "sensor-silent",
                "alert",
                *since,
                json!({
                    "silent_since": rfc3339(*since),
                    "expected_interval_seconds": expected_interval.as_secs(),
                }),
                format!(
                    "sensor {} has sent nothing since {} (expected within {} s)",
                    self.sensor_id,
                    rfc3339(*since),
                    expected_interval.as_secs()
                ),
            ),
            HealthChangeKind::Recovered { silent_since } => (
                "sensor-recovered",
                "event",
                *silent_since,
                json!({ "silent_since": rfc3339(*silent_since) }),
                format!(
                    "sensor {} sends again after a silence since {}",
                    self.sensor_id,
                    rfc3339(*silent_since)
                ),
            ),
        };
        let record = json!({
            "@timestamp": rfc3339(self.at),
            "event": {
                "module": HEALTH_EVENT_MODULE,
                "dataset": HEALTH_EVENT_DATASET,
                "kind": kind,
                "action": action,
            },
            "host": { "name": self.sensor_id },
            "observer": { "id": self.sensor_id },
            "message": message,
            "nigehban": { "sensor_health": details },
        });
        let mut hint = SourceHint::new(Format::Json, at);
        hint.tenant_id = Some(self.tenant_id.clone());
        hint.sensor_id = Some(self.sensor_id.clone());
        let mut event =
            normalise_value(record, &hint).map_err(|source| HealthEventError::Normalise {
                sensor: self.sensor_id.clone(),
                source,
            })?;
        // The generic reader keeps only the time, module, dataset, message
        // and host as fields; what search filters on is set too.
        let fields = event.fields_mut();
        fields.insert("event.kind", kind);
        fields.insert("event.action", action);
        fields.insert("observer.id", self.sensor_id.as_str());
        let since_ns = since
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        let id = crate::event_id::idempotent_event_id(&self.sensor_id, action, since_ns);
        let payload = encode_event(id, &event).map_err(|source| HealthEventError::Encode {
            sensor: self.sensor_id.clone(),
            source,
        })?;
        Ok(nigehban_bus::Record {
            tenant_id: self.tenant_id.clone(),
            sensor_id: self.sensor_id.clone(),
            received_at: self.at,
            content_type: EVENT_CONTENT_TYPE.to_owned(),
            payload,
            id: Some(id.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(interval: Option<u64>) -> SensorStamp {
        let mut stamp = SensorStamp::new("bank-01", "fw-1");
        stamp.expected_interval = interval.map(Duration::from_secs);
        stamp
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000 + seconds)
    }

    #[test]
    fn rate_is_averaged_over_the_window() {
        let mut health = SensorHealth::new();
        let s = stamp(None);
        for second in 0..60 {
            health.record_events(&s, 10, at(second));
        }
        let status = health.status("fw-1", at(59)).unwrap();
        assert!((status.events_per_second - 10.0).abs() < 1e-9);
        // Half the window later, half the events are still in it.
        let status = health.status("fw-1", at(89)).unwrap();
        assert!((status.events_per_second - 5.0).abs() < 1e-9);
        assert_eq!(
            health.status("fw-1", at(200)).unwrap().events_per_second,
            0.0
        );
        assert_eq!(status.events, 600);
    }

    #[test]
    fn a_sensor_without_interval_is_never_silent() {
        let mut health = SensorHealth::new();
        health.record_events(&stamp(None), 1, at(0));
        assert!(health.check(at(1_000_000)).is_empty());
    }

    #[test]
    fn silence_is_reported_once_and_recovery_once() {
        let mut health = SensorHealth::new();
        let s = stamp(Some(300));
        health.record_events(&s, 5, at(0));
        assert!(
            health.check(at(300)).is_empty(),
            "not overdue at exactly the interval"
        );
        let changes = health.check(at(301));
        assert_eq!(changes.len(), 1);
        assert_eq!(
            changes[0].kind,
            HealthChangeKind::Silent {
                since: at(0),
                expected_interval: Duration::from_secs(300)
            }
        );
        assert!(health.check(at(400)).is_empty(), "raised once");
        assert_eq!(
            health.status("fw-1", at(400)).unwrap().silent_since,
            Some(at(0))
        );
        health.record_events(&s, 1, at(500));
        let changes = health.check(at(501));
        assert_eq!(
            changes,
            vec![HealthChange {
                tenant_id: "bank-01".into(),
                sensor_id: "fw-1".into(),
                at: at(500),
                kind: HealthChangeKind::Recovered {
                    silent_since: at(0)
                }
            }]
        );
        assert!(health.check(at(700)).is_empty());
        assert_eq!(health.check(at(801)).len(), 1, "silent again");
    }

    #[test]
    fn a_watched_sensor_that_never_sends_goes_silent() {
        let mut health = SensorHealth::new();
        health.watch(&stamp(Some(60)), at(0));
        assert!(health.check(at(59)).is_empty());
        let changes = health.check(at(61));
        assert!(
            matches!(changes[0].kind, HealthChangeKind::Silent { since, .. } if since == at(0))
        );
        health.forget("fw-1");
        assert!(health.statuses(at(62)).is_empty());
    }

    #[test]
    fn errors_and_drops_are_counted() {
        let mut health = SensorHealth::new();
        let s = stamp(None);
        health.record_errors(&s, 2, at(0));
        health.record_drops(&s, 3, at(0));
        let status = health.status("fw-1", at(0)).unwrap();
        assert_eq!((status.errors, status.drops, status.events), (2, 3, 0));
        assert_eq!(status.last_event, None);
    }
}
