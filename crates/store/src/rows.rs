//! Helpers shared by both backends: column encodings and audit drafts.

use std::str::FromStr;

use nigehban_model::{
    Alert, AlertId, AlertRule, AlertSignal, AlertText, AuditAction, AuditDraft, AuditEntryId,
    ExpectedInterval, HostOsType, IncidentId, InstanceId, JsonText, Role, Sector, Sensor,
    SensorHealthKind, SensorId, SensorName, SensorToken, SensorUtcOffset, Severity, SignalFate,
    SourceNetwork, SubjectCommonName, TenantId, TenantKind, Timestamp, UserId,
};
use serde::Serialize;

use crate::{AuditContext, StoreError, StoreResult};

/// A tenant kind as columns: `kind`, `sector`, `critical_infrastructure`.
pub(crate) fn kind_columns(kind: &TenantKind) -> (&'static str, Option<&'static str>, bool) {
    match kind {
        TenantKind::National => ("national", None, false),
        TenantKind::Sectoral { sector } => ("sectoral", Some(sector.as_str()), false),
        TenantKind::Organisation {
            critical_infrastructure,
        } => ("organisation", None, *critical_infrastructure),
    }
}

/// A tenant kind read back from its columns.
pub(crate) fn kind_from_columns(
    kind: &str,
    sector: Option<&str>,
    critical_infrastructure: bool,
) -> StoreResult<TenantKind> {
    match kind {
        "national" => Ok(TenantKind::National),
        "sectoral" => {
            let sector = sector.ok_or_else(|| {
                StoreError::corrupt("tenant kind", "sectoral tenant without a sector")
            })?;
            Ok(TenantKind::Sectoral {
                sector: Sector::from_str(sector).map_err(|e| StoreError::corrupt("sector", e))?,
            })
        }
        "organisation" => Ok(TenantKind::Organisation {
            critical_infrastructure,
        }),
        other => Err(StoreError::corrupt("tenant kind", other)),
    }
}

/// A role read back from its column.
pub(crate) fn parse_role(text: &str) -> StoreResult<Role> {
    Role::from_str(text).map_err(|e| StoreError::corrupt("role", e))
}

/// A value parsed from a text column, or a [`StoreError::Corrupt`].
pub(crate) fn parse_text<T: FromStr>(what: &'static str, text: &str) -> StoreResult<T>
where
    T::Err: std::fmt::Display,
{
    T::from_str(text).map_err(|e| StoreError::corrupt(what, e))
}

/// An integer column as `u32`, or a [`StoreError::Corrupt`].
pub(crate) fn to_u32(what: &'static str, value: i64) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| StoreError::corrupt(what, value))
}

/// An audit `seq` column as `u64`, or a [`StoreError::Corrupt`].
pub(crate) fn to_seq(value: i64) -> StoreResult<u64> {
    u64::try_from(value).map_err(|_| StoreError::corrupt("audit seq", value))
}

/// A `u64` as a database integer.
pub(crate) fn to_i64(value: u64) -> StoreResult<i64> {
    i64::try_from(value).map_err(|_| StoreError::corrupt("integer", value))
}

/// The audit draft for a change of one record.
#[allow(clippy::too_many_arguments)]
pub(crate) fn change_draft<T: Serialize>(
    instance: InstanceId,
    ctx: &AuditContext,
    tenant: TenantId,
    action: AuditAction,
    record_kind: &str,
    record_id: String,
    before: Option<&T>,
    after: Option<&T>,
) -> StoreResult<AuditDraft> {
    let json = |value: Option<&T>| -> StoreResult<Option<JsonText>> {
        value
            .map(|v| JsonText::of(v).map_err(|e| StoreError::corrupt("audit record", e)))
            .transpose()
    };
    Ok(AuditDraft {
        id: AuditEntryId::new(),
        instance,
        tenant,
        at: ctx.at,
        actor: ctx.actor,
        action,
        record_kind: record_kind.to_owned(),
        record_id,
        before: json(before)?,
        after: json(after)?,
        remote_addr: ctx.remote_addr.clone(),
    })
}

/// A sensor's columns that need encoding, shared by both backends.
pub(crate) struct SensorColumns {
    /// `kind`: the kind's word.
    pub(crate) kind: &'static str,
    /// `expected_formats`: a JSON array of format words.
    pub(crate) formats: String,
    /// `expected_interval_secs`.
    pub(crate) interval: Option<i64>,
    /// `source_addresses`: a JSON array of addresses and networks, as registered.
    pub(crate) addresses: String,
    /// `tls_fingerprints`: a JSON array of lower-case hex fingerprints.
    pub(crate) fingerprints: String,
    /// `tls_subject_cn`.
    pub(crate) subject_cn: Option<String>,
    /// `host_os_type`: the ECS word.
    pub(crate) os: Option<&'static str>,
    /// `utc_offset_minutes`.
    pub(crate) offset: Option<i32>,
}

impl SensorColumns {
    /// Encodes a sensor's fields.
    pub(crate) fn of(sensor: &Sensor) -> StoreResult<Self> {
        let json = |value: serde_json::Result<String>| {
            value.map_err(|e| StoreError::corrupt("sensor record", e))
        };
        Ok(Self {
            kind: sensor.kind.as_str(),
            formats: json(serde_json::to_string(&sensor.expected_formats))?,
            interval: sensor
                .expected_interval
                .map(|i| i64::try_from(i.as_secs()).unwrap_or(i64::MAX)),
            addresses: json(serde_json::to_string(&sensor.source_addresses))?,
            fingerprints: json(serde_json::to_string(&sensor.tls_client_fingerprints))?,
            subject_cn: sensor
                .tls_subject_cn
                .as_ref()
                .map(|cn| cn.as_str().to_owned()),
            os: sensor.host_os_type.map(HostOsType::as_str),
            offset: sensor.utc_offset.map(|o| i32::from(o.as_minutes())),
        })
    }
}

/// A sensor's encoded columns as read back, before decoding.
pub(crate) struct StoredSensor {
    pub(crate) id: SensorId,
    pub(crate) instance: InstanceId,
    pub(crate) tenant: TenantId,
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) formats: String,
    pub(crate) interval: Option<i64>,
    pub(crate) addresses: String,
    pub(crate) fingerprints: String,
    pub(crate) subject_cn: Option<String>,
    pub(crate) os: Option<String>,
    pub(crate) offset: Option<i32>,
    pub(crate) active: bool,
    pub(crate) created_at: Timestamp,
    pub(crate) updated_at: Timestamp,
}

impl StoredSensor {
    /// Decodes the columns into a sensor, or a [`StoreError::Corrupt`] naming the column.
    pub(crate) fn decode(self) -> StoreResult<Sensor> {
        fn json<T: serde::de::DeserializeOwned>(what: &'static str, text: &str) -> StoreResult<T> {
            serde_json::from_str(text).map_err(|e| StoreError::corrupt(what, e))
        }
        Ok(Sensor {
            id: self.id,
            instance: self.instance,
            tenant: self.tenant,
            name: SensorName::parse(&self.name)
                .map_err(|e| StoreError::corrupt("sensor name", e))?,
            kind: parse_text("sensor kind", &self.kind)?,
            expected_formats: json("sensor formats", &self.formats)?,
            expected_interval: self
                .interval
                .map(|secs| {
                    u64::try_from(secs)
                        .map_err(|_| StoreError::corrupt("sensor interval", secs))
                        .and_then(|secs| {
                            ExpectedInterval::from_secs(secs)
                                .map_err(|e| StoreError::corrupt("sensor interval", e))
                        })
                })
                .transpose()?,
            source_addresses: json("sensor source addresses", &self.addresses)?,
            tls_client_fingerprints: json("sensor fingerprints", &self.fingerprints)?,
            tls_subject_cn: self
                .subject_cn
                .map(|cn| {
                    SubjectCommonName::parse(&cn)
                        .map_err(|e| StoreError::corrupt("sensor subject CN", e))
                })
                .transpose()?,
            host_os_type: self
                .os
                .map(|os| parse_text("host OS type", &os))
                .transpose()?,
            utc_offset: self
                .offset
                .map(|minutes| {
                    i16::try_from(minutes)
                        .map_err(|_| StoreError::corrupt("sensor UTC offset", minutes))
                        .and_then(|m| {
                            SensorUtcOffset::from_minutes(m)
                                .map_err(|e| StoreError::corrupt("sensor UTC offset", e))
                        })
                })
                .transpose()?,
            active: self.active,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// One row of the source network lookup index: `family`, `prefix_len`,
/// `first_address`, `last_address` (big-endian bytes, compared byte-wise).
pub(crate) fn network_row(network: &SourceNetwork) -> (i32, i32, Vec<u8>, Vec<u8>) {
    (
        if network.is_ipv4() { 4 } else { 6 },
        i32::from(network.prefix_len()),
        network.first_octets(),
        network.last_octets(),
    )
}

/// The family and lookup key of a sender's address (IPv4-mapped read as IPv4).
pub(crate) fn address_key(address: std::net::IpAddr) -> (i32, Vec<u8>) {
    let address = nigehban_model::sensor::canonical_address(address);
    (
        if address.is_ipv4() { 4 } else { 6 },
        nigehban_model::sensor::octets(address),
    )
}

/// The candidates of an address lookup: each sensor once, with its most
/// specific network containing `address`, most specific first (ties by sensor id).
pub(crate) fn rank_by_specificity(
    sensors: Vec<Sensor>,
    address: std::net::IpAddr,
) -> Vec<(Sensor, SourceNetwork)> {
    let mut ranked: Vec<(Sensor, SourceNetwork)> = Vec::new();
    for sensor in sensors {
        if ranked.iter().any(|(seen, _)| seen.id == sensor.id) {
            continue;
        }
        let best = sensor
            .source_addresses
            .iter()
            .filter(|network| network.contains(address))
            .max_by_key(|network| network.prefix_len())
            .copied();
        if let Some(network) = best {
            ranked.push((sensor, network));
        }
    }
    ranked.sort_by(|(a, an), (b, bn)| bn.prefix_len().cmp(&an.prefix_len()).then(a.id.cmp(&b.id)));
    ranked
}

/// A health kind as columns: `kind`, `since` (the silence's start), `seconds`
/// (the expected interval for `silent`, the silence's length for `recovered`).
pub(crate) fn health_columns(
    kind: &SensorHealthKind,
) -> StoreResult<(&'static str, Timestamp, i64)> {
    let (since, seconds) = match *kind {
        SensorHealthKind::Silent {
            since,
            expected_interval_seconds,
        } => (since, expected_interval_seconds),
        SensorHealthKind::Recovered {
            silent_since,
            silent_for_seconds,
        } => (silent_since, silent_for_seconds),
    };
    Ok((kind.word(), since, to_i64(seconds)?))
}

/// A health kind read back from its columns.
pub(crate) fn health_from_columns(
    kind: &str,
    since: Timestamp,
    seconds: i64,
) -> StoreResult<SensorHealthKind> {
    let seconds =
        u64::try_from(seconds).map_err(|_| StoreError::corrupt("health seconds", seconds))?;
    match kind {
        "silent" => Ok(SensorHealthKind::Silent {
            since,
            expected_interval_seconds: seconds,
        }),
        "recovered" => Ok(SensorHealthKind::Recovered {
            silent_since: since,
            silent_for_seconds: seconds,
        }),
        other => Err(StoreError::corrupt("health kind", other)),
    }
}

/// The message of a collision with another active sensor (never says whose).
pub(crate) fn taken(what: &str) -> StoreError {
    StoreError::Conflict(format!(
        "{what} is already registered to another active sensor"
    ))
}

/// The refusal of a source network that overlaps another tenant's: the same
/// words whoever holds it, so that it tells nobody which tenant that is.
pub(crate) fn overlaps_another_tenant(network: &SourceNetwork) -> StoreError {
    StoreError::Conflict(format!(
        "source address {network} overlaps a network registered to another tenant's sensor; \
         ask the platform's administrators to divide the range"
    ))
}

/// The audit record of a registration: the sensor and its first token (no secret).
pub(crate) fn registration_record(
    sensor: &Sensor,
    token: &SensorToken,
) -> StoreResult<serde_json::Value> {
    let corrupt = |e: serde_json::Error| StoreError::corrupt("sensor record", e);
    let mut record = serde_json::to_value(sensor).map_err(corrupt)?;
    if let serde_json::Value::Object(fields) = &mut record {
        fields.insert(
            "ingest_token".into(),
            serde_json::to_value(token).map_err(corrupt)?,
        );
    }
    Ok(record)
}

/// The audit records of a rotation: the previous tokens before, and after
/// with the new token.
pub(crate) fn rotation_records(
    before: &[SensorToken],
    after: &[SensorToken],
    new: &SensorToken,
) -> StoreResult<(serde_json::Value, serde_json::Value)> {
    let corrupt = |e: serde_json::Error| StoreError::corrupt("sensor record", e);
    Ok((
        serde_json::json!({ "previous_tokens": serde_json::to_value(before).map_err(corrupt)? }),
        serde_json::json!({
            "previous_tokens": serde_json::to_value(after).map_err(corrupt)?,
            "new_token": serde_json::to_value(new).map_err(corrupt)?,
        }),
    ))
}

// ---- alerts ----

/// The columns of an alert, in the order both backends store them.
pub(crate) const ALERT_COLUMNS: &str = "id, instance_id, tenant_id, sensor_id, source, rule_id, rule_title, rule_level, rule_author, rule_references, rule_tags, fold_key, host, user_name, event_ids, matched_fields, severity, first_seen, last_seen, event_count, status, assignee_id, acknowledged_at, closed_at, resolution, resolution_note, retrospective, exercise, created_at, updated_at, incident_id";

/// The columns of a comment.
pub(crate) const COMMENT_COLUMNS: &str =
    "id, instance_id, alert_id, tenant_id, author_id, body, at";

/// An alert's columns that need encoding, shared by both backends.
pub(crate) struct AlertColumns {
    /// `rule_references`: a JSON array.
    pub(crate) references: String,
    /// `rule_tags`: a JSON array.
    pub(crate) tags: String,
    /// `event_ids`: a JSON array.
    pub(crate) event_ids: String,
    /// `matched_fields`: a JSON object.
    pub(crate) matched_fields: String,
    /// `event_count`.
    pub(crate) count: i64,
}

impl AlertColumns {
    /// Encodes an alert's lists and count.
    pub(crate) fn of(alert: &Alert) -> StoreResult<Self> {
        let json = |value: serde_json::Result<String>| {
            value.map_err(|e| StoreError::corrupt("alert record", e))
        };
        Ok(Self {
            references: json(serde_json::to_string(&alert.rule.references))?,
            tags: json(serde_json::to_string(&alert.rule.tags))?,
            event_ids: json(serde_json::to_string(&alert.event_ids))?,
            matched_fields: json(serde_json::to_string(&alert.matched_fields))?,
            count: to_i64(alert.count)?,
        })
    }
}

/// An alert's columns as read back, before decoding.
pub(crate) struct StoredAlert {
    pub(crate) id: AlertId,
    pub(crate) instance: InstanceId,
    pub(crate) tenant: TenantId,
    pub(crate) sensor: Option<SensorId>,
    pub(crate) source: String,
    pub(crate) rule_id: String,
    pub(crate) rule_title: String,
    pub(crate) rule_level: String,
    pub(crate) rule_author: Option<String>,
    pub(crate) references: String,
    pub(crate) tags: String,
    pub(crate) fold_key: String,
    pub(crate) host: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) event_ids: String,
    pub(crate) matched_fields: String,
    pub(crate) severity: i64,
    pub(crate) first_seen: Timestamp,
    pub(crate) last_seen: Timestamp,
    pub(crate) count: i64,
    pub(crate) status: String,
    pub(crate) assignee: Option<UserId>,
    pub(crate) acknowledged_at: Option<Timestamp>,
    pub(crate) closed_at: Option<Timestamp>,
    pub(crate) resolution: Option<String>,
    pub(crate) resolution_note: Option<String>,
    pub(crate) retrospective: bool,
    pub(crate) exercise: bool,
    pub(crate) created_at: Timestamp,
    pub(crate) updated_at: Timestamp,
    pub(crate) incident: Option<IncidentId>,
}

impl StoredAlert {
    /// Decodes the columns into an alert, or a [`StoreError::Corrupt`] naming the column.
    pub(crate) fn decode(self) -> StoreResult<Alert> {
        fn json<T: serde::de::DeserializeOwned>(what: &'static str, text: &str) -> StoreResult<T> {
            serde_json::from_str(text).map_err(|e| StoreError::corrupt(what, e))
        }
        Ok(Alert {
            id: self.id,
            instance: self.instance,
            tenant: self.tenant,
            sensor: self.sensor,
            source: parse_text("alert source", &self.source)?,
            rule: AlertRule {
                id: self.rule_id,
                title: self.rule_title,
                level: parse_text("rule level", &self.rule_level)?,
                author: self.rule_author,
                references: json("rule references", &self.references)?,
                tags: json("rule tags", &self.tags)?,
            },
            fold_key: self.fold_key,
            host: self.host,
            user: self.user,
            event_ids: json("alert event ids", &self.event_ids)?,
            matched_fields: json("alert matched fields", &self.matched_fields)?,
            severity: Severity::from_rank(self.severity)
                .ok_or_else(|| StoreError::corrupt("alert severity", self.severity))?,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            count: u64::try_from(self.count)
                .map_err(|_| StoreError::corrupt("alert count", self.count))?,
            status: parse_text("alert status", &self.status)?,
            assignee: self.assignee,
            acknowledged_at: self.acknowledged_at,
            closed_at: self.closed_at,
            resolution: self
                .resolution
                .map(|r| parse_text("alert resolution", &r))
                .transpose()?,
            resolution_note: self
                .resolution_note
                .map(|note| {
                    AlertText::parse(&note).map_err(|e| StoreError::corrupt("resolution note", e))
                })
                .transpose()?,
            retrospective: self.retrospective,
            exercise: self.exercise,
            created_at: self.created_at,
            updated_at: self.updated_at,
            incident: self.incident,
        })
    }
}

/// The audit record of an alert's triage: what people change, not the
/// (large) detection details, which never change after the alert opens.
pub(crate) fn triage_record(alert: &Alert) -> serde_json::Value {
    serde_json::json!({
        "id": alert.id,
        "tenant": alert.tenant,
        "rule_id": alert.rule.id,
        "rule_title": alert.rule.title,
        "severity": alert.severity,
        "status": alert.status,
        "assignee": alert.assignee,
        "acknowledged_at": alert.acknowledged_at,
        "closed_at": alert.closed_at,
        "resolution": alert.resolution,
        "resolution_note": alert.resolution_note,
    })
}

/// The SQL `LIKE` pattern that finds `text` anywhere (`%`, `_` and `\` escaped with `\`).
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The key of the alert list's cursor: `last_seen` microseconds and id.
pub(crate) fn alert_cursor_key(alert: &Alert) -> String {
    format!("{}/{}", alert.last_seen.unix_micros(), alert.id)
}

/// The position an alert list's cursor holds.
pub(crate) fn parse_alert_cursor(
    page: &crate::PageRequest,
) -> StoreResult<Option<(Timestamp, AlertId)>> {
    let Some(cursor) = &page.after else {
        return Ok(None);
    };
    let bad = || StoreError::BadCursor(format!("{cursor} is not a cursor from this alerts list"));
    let key = cursor.decode("alerts")?;
    let (micros, id) = key.split_once('/').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let id: AlertId = id.parse().map_err(|_| bad())?;
    Ok(Some((Timestamp::from_unix_micros(micros), id)))
}

/// The fates of a raise's signals after screening (`None`: go on), and the
/// delivery keys of those that go on, by index.
pub(crate) type Screened = (Vec<Option<SignalFate>>, Vec<(usize, [u8; 16])>);

/// Screens a raise's signals before folding: each is checked
/// ([`AlertSignal::check`]), must name a tenant for which `tenant_known`
/// says yes, and is a duplicate when an earlier signal of the batch has the
/// same delivery key. Returns the fates so far (`None`: go on) and, for the
/// signals that go on, their delivery keys.
pub(crate) fn screen_signals(
    signals: &[AlertSignal],
    mut tenant_known: impl FnMut(TenantId) -> StoreResult<bool>,
) -> StoreResult<Screened> {
    let mut fates = Vec::with_capacity(signals.len());
    let mut keys = Vec::with_capacity(signals.len());
    let mut seen = std::collections::HashSet::with_capacity(signals.len());
    let mut tenants: std::collections::HashMap<TenantId, bool> = std::collections::HashMap::new();
    for (index, signal) in signals.iter().enumerate() {
        if let Err(error) = signal.check() {
            fates.push(Some(SignalFate::Rejected(error.to_string())));
            continue;
        }
        let known = match tenants.get(&signal.tenant) {
            Some(known) => *known,
            None => {
                let known = tenant_known(signal.tenant)?;
                tenants.insert(signal.tenant, known);
                known
            }
        };
        if !known {
            fates.push(Some(SignalFate::Rejected(format!(
                "tenant {} does not exist",
                signal.tenant
            ))));
            continue;
        }
        let key = signal.delivery_key();
        if !seen.insert(key) {
            fates.push(Some(SignalFate::Duplicate));
            continue;
        }
        fates.push(None);
        keys.push((index, key));
    }
    Ok((fates, keys))
}

/// What the audit entry of a rule import records: the ids it added and
/// replaced, and the platform-wide flag it set.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct RuleImportRecord {
    /// Ids not stored before.
    pub(crate) added: Vec<String>,
    /// Ids whose text or flag changed.
    pub(crate) replaced: Vec<String>,
    /// The flag the import set (the first document's).
    pub(crate) enabled: Option<bool>,
}

/// Whether storing `new` over `stored` would change nothing a reader sees.
pub(crate) fn same_rule_content(
    stored: &nigehban_model::RuleDocument,
    new: &nigehban_model::RuleDocument,
) -> bool {
    stored.title == new.title
        && stored.kind == new.kind
        && stored.level == new.level
        && stored.origin == new.origin
        && stored.source_name == new.source_name
        && stored.text == new.text
        && stored.enabled == new.enabled
}

/// The audit entry of a change to a duty record (`duty.<kind>.<verb>`).
pub(crate) fn duty_draft(
    instance: InstanceId,
    ctx: &AuditContext,
    verb: &str,
    before: Option<&nigehban_model::duty::DutyRecord>,
    after: Option<&nigehban_model::duty::DutyRecord>,
) -> StoreResult<AuditDraft> {
    let record = after
        .or(before)
        .ok_or_else(|| StoreError::corrupt("duty record", "none"))?;
    change_draft(
        instance,
        ctx,
        record.tenant,
        AuditAction::named(format!("duty.{}.{verb}", record.kind.as_str())),
        &format!("duty_{}", record.kind.as_str()),
        record.id.to_string(),
        before,
        after,
    )
}

/// A duty record's version document as kept.
pub(crate) fn duty_document(record: &nigehban_model::duty::DutyRecord) -> StoreResult<String> {
    serde_json::to_string(record).map_err(|e| StoreError::corrupt("duty record", e))
}

/// Reads a kept version document.
pub(crate) fn duty_from_document(text: &str) -> StoreResult<nigehban_model::duty::DutyRecord> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt("duty record version", e))
}

/// The audit entry of a change to an indicator (`indicator.<verb>`).
pub(crate) fn indicator_draft(
    instance: InstanceId,
    ctx: &AuditContext,
    verb: &str,
    before: Option<&nigehban_model::indicator::Indicator>,
    after: Option<&nigehban_model::indicator::Indicator>,
) -> StoreResult<AuditDraft> {
    let record = after
        .or(before)
        .ok_or_else(|| StoreError::corrupt("indicator", "none"))?;
    change_draft(
        instance,
        ctx,
        record.tenant,
        AuditAction::named(format!("indicator.{verb}")),
        "indicator",
        record.id.to_string(),
        before,
        after,
    )
}

/// An indicator's stored document.
pub(crate) fn indicator_document(
    indicator: &nigehban_model::indicator::Indicator,
) -> StoreResult<String> {
    serde_json::to_string(indicator).map_err(|e| StoreError::corrupt("indicator", e))
}

/// Reads a stored indicator document.
pub(crate) fn indicator_from_document(
    text: &str,
) -> StoreResult<nigehban_model::indicator::Indicator> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt("indicator", e))
}

/// A sighting's stored document.
pub(crate) fn sighting_document(
    sighting: &nigehban_model::indicator::Sighting,
) -> StoreResult<String> {
    serde_json::to_string(sighting).map_err(|e| StoreError::corrupt("sighting", e))
}

/// Reads a stored sighting document.
pub(crate) fn sighting_from_document(
    text: &str,
) -> StoreResult<nigehban_model::indicator::Sighting> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt("sighting", e))
}

/// The audit entry of a STIX import: how many object versions a tenant newly holds.
pub(crate) fn stix_import_draft(
    instance: InstanceId,
    ctx: &AuditContext,
    tenant: TenantId,
    added: usize,
) -> StoreResult<AuditDraft> {
    #[derive(Serialize)]
    struct Added {
        objects_added: usize,
    }
    change_draft(
        instance,
        ctx,
        tenant,
        AuditAction::named("stix.import"),
        "stix_objects",
        tenant.to_string(),
        None,
        Some(&Added {
            objects_added: added,
        }),
    )
}

/// The tenants of `records` with how many of them were new, in order of first appearance.
pub(crate) fn stix_added_per_tenant(
    records: &[crate::StixObjectRecord],
    new: &[bool],
) -> Vec<(TenantId, usize)> {
    let mut out: Vec<(TenantId, usize)> = Vec::new();
    for (record, is_new) in records.iter().zip(new) {
        match out.iter_mut().find(|(t, _)| *t == record.tenant) {
            Some((_, n)) => *n += usize::from(*is_new),
            None => out.push((record.tenant, usize::from(*is_new))),
        }
    }
    out
}
