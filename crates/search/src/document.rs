//! From a bus delivery to an index document: decoding, the event id, and every term.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv6Addr};
use std::time::SystemTime;

use nigehban_bus::Delivery;
use nigehban_normalise::envelope::{EVENT_CONTENT_TYPE, EnvelopeError, decode_event};
use nigehban_normalise::{NormalisedEvent, SourceFormat};
use rustc_hash::FxHashSet;
use serde_json::Value;
use tantivy::schema::DateTimePrecision;
use tantivy::schema::Field;
use tantivy::{DateTime, TantivyDocument};
use time::OffsetDateTime;

use crate::query::MAX_FIELD_NAME_BYTES;
use crate::schema::{
    DedicatedKind, EventSchema, MAX_EXACT_VALUE_BYTES, TIME_FIELDS, is_name_field,
};

/// Why a delivery was not indexed (it is still acknowledged, so it never blocks the stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectReason {
    /// The record's content type is not [`EVENT_CONTENT_TYPE`].
    ContentType(String),
    /// The payload is not a normalised event as the envelope codec writes it.
    NotAnEvent(String),
    /// The payload's tenant stamp differs from the bus record's tenant.
    TenantMismatch {
        /// The bus record's tenant.
        record: String,
        /// The tenant stamped in the event.
        event: String,
    },
    /// The payload does not start with the event id (a UUID) the envelope codec writes.
    BadId(String),
}

impl RejectReason {
    /// A short label for metrics (`content_type`, `not_an_event`, `tenant_mismatch`, `bad_id`).
    pub fn label(&self) -> &'static str {
        match self {
            RejectReason::ContentType(_) => "content_type",
            RejectReason::NotAnEvent(_) => "not_an_event",
            RejectReason::TenantMismatch { .. } => "tenant_mismatch",
            RejectReason::BadId(_) => "bad_id",
        }
    }
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RejectReason::ContentType(found) => {
                write!(f, "content type {found:?} is not {EVENT_CONTENT_TYPE:?}")
            }
            RejectReason::NotAnEvent(error) => {
                write!(f, "payload is not a normalised event: {error}")
            }
            RejectReason::TenantMismatch { record, event } => write!(
                f,
                "event is stamped with tenant {event:?} but the bus record belongs to {record:?}"
            ),
            RejectReason::BadId(reason) => write!(f, "event id is not usable: {reason}"),
        }
    }
}

/// A decoded delivery, ready to be written.
pub(crate) struct Prepared {
    /// `id \x1f tenant`: the term a redelivery of the same event replaces.
    pub key: String,
    /// The document.
    pub doc: TantivyDocument,
}

/// The dedup term of an event: ids are unique per tenant, and a tenant can never replace
/// another tenant's event whatever id it sends. The id comes first so that the one term
/// also finds an event by id alone (a prefix range, for [`crate::EventIndex::get`] across
/// all tenants), and the index needs no second per-event unique term for the id.
pub(crate) fn dedup_key(tenant: &str, id: &str) -> String {
    let mut key = String::with_capacity(id.len() + 1 + tenant.len());
    key.push_str(id);
    key.push(KEY_SEPARATOR);
    key.push_str(tenant);
    key
}

/// Between the id and the tenant in a dedup key; ids never hold it (no control characters).
pub(crate) const KEY_SEPARATOR: char = '\u{1f}';

/// The character after [`KEY_SEPARATOR`]: the exclusive end of one id's keys.
pub(crate) const KEY_SEPARATOR_NEXT: char = '\u{20}';

/// Decodes a delivery with the envelope codec and builds its document, or says why it
/// cannot be indexed.
pub(crate) fn prepare(schema: &EventSchema, delivery: &Delivery) -> Result<Prepared, RejectReason> {
    let record = &delivery.record;
    if record.content_type != EVENT_CONTENT_TYPE {
        return Err(RejectReason::ContentType(record.content_type.clone()));
    }
    let (id, event) = decode_event(&record.payload).map_err(|error| match error {
        // A JSON object without the leading id is an event written some other way; anything
        // else is not an event at all (checked only on this rare path).
        EnvelopeError::MissingId if is_json_object(&record.payload) => {
            RejectReason::BadId(error.to_string())
        }
        EnvelopeError::MissingId => RejectReason::NotAnEvent("it is not a JSON object".to_owned()),
        other => RejectReason::NotAnEvent(other.to_string()),
    })?;
    if let Some(stamped) = event.tenant_id()
        && stamped != record.tenant_id
    {
        return Err(RejectReason::TenantMismatch {
            record: record.tenant_id.clone(),
            event: stamped.to_owned(),
        });
    }
    let mut text = uuid::Uuid::encode_buffer();
    let id: &str = id.hyphenated().encode_lower(&mut text);
    let sensor = event
        .sensor_id()
        .filter(|s| !s.is_empty())
        .unwrap_or(record.sensor_id.as_str());
    let doc = build_document(
        schema,
        &DocumentParts {
            id,
            tenant: &record.tenant_id,
            sensor,
            received_at: record.received_at,
            event: &event,
            payload: &record.payload,
        },
    );
    Ok(Prepared {
        key: dedup_key(&record.tenant_id, id),
        doc,
    })
}

fn is_json_object(payload: &[u8]) -> bool {
    matches!(
        serde_json::from_slice::<Value>(payload),
        Ok(Value::Object(_))
    )
}

/// What a document is built from.
pub(crate) struct DocumentParts<'a> {
    pub id: &'a str,
    pub tenant: &'a str,
    pub sensor: &'a str,
    pub received_at: SystemTime,
    pub event: &'a NormalisedEvent,
    pub payload: &'a [u8],
}

/// A tantivy date from a time, at the index's precision; `None` outside 1678..2262.
pub(crate) fn to_index_date(at: OffsetDateTime) -> Option<DateTime> {
    DateTime::try_from_utc(at).map(|d| d.truncate(DateTimePrecision::Microseconds))
}

/// Builds the document for one event.
pub(crate) fn build_document(schema: &EventSchema, parts: &DocumentParts<'_>) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    let event = parts.event;
    doc.add_text(schema.id, parts.id);
    doc.add_text(schema.key, dedup_key(parts.tenant, parts.id));
    doc.add_text(schema.tenant, parts.tenant);
    if !parts.sensor.is_empty() {
        doc.add_text(schema.sensor, parts.sensor);
    }
    let bus_received = to_index_date(OffsetDateTime::from(parts.received_at))
        .unwrap_or_else(|| DateTime::from_timestamp_micros(0));
    let ingested = event
        .received_at()
        .and_then(to_index_date)
        .unwrap_or(bus_received);
    // A timestamp the index cannot hold (a sender's clock in the year 9999) sorts by ingest
    // time instead; the stored event still says what the sender wrote.
    let timestamp = event
        .timestamp()
        .and_then(to_index_date)
        .unwrap_or(ingested);
    doc.add_date(schema.timestamp, timestamp);
    doc.add_date(schema.ingested, ingested);
    let sort = sort_key(parts.id);
    doc.add_u64(schema.sort_hi, (sort >> 64) as u64);
    doc.add_u64(schema.sort_lo, sort as u64);

    let mut writer = TermWriter {
        schema,
        tenant: parts.tenant,
        doc: &mut doc,
        name: String::with_capacity(64),
        term: String::with_capacity(128),
        seen: FxHashSet::default(),
    };
    // The message first: its text goes to `message` only (text queries search `text` and
    // `message`), and a field holding the same text is not tokenised again.
    if let Some(message) = event.fields().get("message") {
        writer.message(message);
    }
    for (name, value) in event.fields().iter() {
        if TIME_FIELDS.contains(&name) {
            continue;
        }
        match schema.dedicated(name) {
            Some((dedicated, field)) => writer.dedicated(name, dedicated.kind, field, value),
            None => {
                writer.name.clear();
                writer.name.push_str(name);
                writer.catch_all(value);
            }
        }
    }
    // What the fields do not carry. A JSON record: every member of the original by its
    // dotted path (`flow.pkts_toserver`, `id.orig_h`, `Event.EventData.TargetUserName`),
    // as `name=value` terms and full text, so that what normalisation does not map can
    // still be filtered and found. Other records: the text, when it was not parsed into
    // fields.
    match &event.original().json {
        Some(original) => writer.original(original),
        None => {
            if matches!(
                event.format(),
                SourceFormat::GenericText | SourceFormat::Unparsed
            ) && let Some(text) = event.original().text_lossy()
                && !writer.seen.contains(text.as_ref())
            {
                writer.doc.add_text(schema.text, text.as_ref());
            }
        }
    }
    doc.add_bytes(schema.event, parts.payload);
    doc
}

/// Writes one event's terms into its document.
///
/// `'e` is the event's lifetime: text values already written are remembered by reference.
struct TermWriter<'a, 'e> {
    schema: &'a EventSchema,
    /// The event's tenant: field names are recorded per tenant.
    tenant: &'a str,
    doc: &'a mut TantivyDocument,
    /// The dotted name of the value being written.
    name: String,
    /// Scratch for `name=value`.
    term: String,
    /// Text values already in `text` or `message`. The same value in several fields
    /// (`host.name` and `winlog.computer_name`, an ECS field and the original JSON it came
    /// from) is tokenised and indexed once: a term or phrase matches it all the same
    /// (values are [`tantivy`]'s position gap apart, so no phrase spans two of them), and
    /// hits are ordered by time, not scored, so term frequencies do not matter.
    seen: FxHashSet<Cow<'e, str>>,
}

impl<'e> TermWriter<'_, 'e> {
    fn message(&mut self, value: &'e Value) {
        for_each_scalar(value, &mut |scalar| {
            if let Value::String(text) = scalar
                && self.seen.insert(Cow::Borrowed(text.as_str()))
            {
                self.doc.add_text(self.schema.message, text);
            }
        });
    }

    fn dedicated(&mut self, name: &str, kind: DedicatedKind, field: Field, value: &'e Value) {
        let mut leftovers = Vec::new();
        for_each_scalar(value, &mut |scalar| match kind {
            DedicatedKind::Keyword { .. } => {
                if let Some(text) = scalar_text(scalar)
                    && text.len() <= MAX_EXACT_VALUE_BYTES
                {
                    self.doc.add_text(field, &text);
                    if is_name_field(name) {
                        self.term.clear();
                        self.term.push_str(name);
                        self.term.push('=');
                        push_lowercase(&mut self.term, &text);
                        self.doc.add_text(self.schema.folded, &self.term);
                    }
                }
            }
            DedicatedKind::Ip => match scalar.as_str().and_then(parse_ip) {
                Some(ip) => self.doc.add_ip_addr(field, ip),
                None => leftovers.push(scalar),
            },
            DedicatedKind::Unsigned => match json_u64(scalar) {
                Some(number) => self.doc.add_u64(field, number),
                None => leftovers.push(scalar),
            },
        });
        for_each_scalar(value, &mut |scalar| self.full_text(scalar));
        // A value that does not have the field's type (a sender's `source.ip: "unknown"`)
        // is still findable, as a `name=value` term; filters look there for it.
        for scalar in leftovers {
            self.name.clear();
            self.name.push_str(name);
            self.exact(scalar);
        }
    }

    /// `name=value` terms and full text for every member of a JSON record, named by its
    /// dotted path from the root; the values of a record that is not an object are full
    /// text only (they have no name).
    fn original(&mut self, record: &'e Value) {
        match record {
            Value::Object(members) => {
                for (key, value) in members {
                    self.name.clear();
                    self.name.push_str(key);
                    self.catch_all(value);
                }
            }
            other => for_each_scalar(other, &mut |scalar| self.full_text(scalar)),
        }
    }

    /// `name=value` terms and full text for a value under `self.name`, recursing into objects.
    fn catch_all(&mut self, value: &'e Value) {
        match value {
            Value::Null => {}
            Value::Array(items) => {
                for item in items {
                    self.catch_all(item);
                }
            }
            Value::Object(map) => {
                let base = self.name.len();
                for (key, inner) in map {
                    self.name.truncate(base);
                    self.name.push('.');
                    self.name.push_str(key);
                    self.catch_all(inner);
                }
                self.name.truncate(base);
            }
            scalar => {
                self.exact(scalar);
                self.full_text(scalar);
            }
        }
    }

    fn exact(&mut self, scalar: &Value) {
        let Some(text) = scalar_text(scalar) else {
            return;
        };
        // A filter can name neither (see `query::check_field_name`), so neither is indexed.
        if text.len() > MAX_EXACT_VALUE_BYTES || self.name.len() > MAX_FIELD_NAME_BYTES {
            return;
        }
        self.term.clear();
        self.term.push_str(&self.name);
        self.term.push('=');
        self.term.push_str(&text);
        self.doc.add_text(self.schema.fields, &self.term);
        if is_name_field(&self.name) {
            self.term.truncate(self.name.len() + 1);
            push_lowercase(&mut self.term, &text);
            self.doc.add_text(self.schema.folded, &self.term);
        }
        // Which fields this tenant's events have: unknown names in queries are refused
        // with the closest known ones. Few distinct terms, so cheap to index.
        self.term.clear();
        self.term.push_str(self.tenant);
        self.term.push(KEY_SEPARATOR);
        self.term.push_str(&self.name);
        self.doc.add_text(self.schema.names, &self.term);
    }

    fn full_text(&mut self, scalar: &'e Value) {
        match scalar {
            Value::String(text)
                if !text.is_empty() && self.seen.insert(Cow::Borrowed(text.as_str())) =>
            {
                self.doc.add_text(self.schema.text, text);
            }
            Value::Number(_) => self.full_text_unborrowed(scalar),
            _ => {}
        }
    }

    /// [`TermWriter::full_text`] for a value that does not live as long as the event
    /// (remembered by copy, only when it is new).
    fn full_text_unborrowed(&mut self, scalar: &Value) {
        let text = match scalar {
            Value::String(text) if !text.is_empty() => text.as_str(),
            Value::Number(number) => {
                self.term.clear();
                let _ = write!(self.term, "{number}");
                self.term.as_str()
            }
            _ => return,
        };
        if !self.seen.contains(text) {
            self.doc.add_text(self.schema.text, text);
            self.seen.insert(Cow::Owned(text.to_owned()));
        }
    }
}

/// Appends `text` lower-cased (Unicode), as folded terms and queries on them write it.
pub(crate) fn push_lowercase(out: &mut String, text: &str) {
    if text.is_ascii() {
        out.extend(text.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        out.extend(text.chars().flat_map(char::to_lowercase));
    }
}

/// Calls `visit` for every scalar in `value` (arrays and objects flattened, nulls skipped).
fn for_each_scalar<'e>(value: &'e Value, visit: &mut dyn FnMut(&'e Value)) {
    match value {
        Value::Null => {}
        Value::Array(items) => items.iter().for_each(|item| for_each_scalar(item, visit)),
        Value::Object(map) => map.values().for_each(|item| for_each_scalar(item, visit)),
        scalar => visit(scalar),
    }
}

/// A scalar as the text a filter compares with: strings as they are, numbers and booleans
/// written out.
pub(crate) fn scalar_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

fn json_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An IP address as the index keeps it (IPv4 mapped into IPv6).
pub(crate) fn parse_ip(text: &str) -> Option<Ipv6Addr> {
    let text = text.trim();
    let text = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    let text = text.split('%').next().unwrap_or(text);
    match text.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => Some(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => Some(v6),
    }
}

/// The 128-bit key that orders events with the same `@timestamp`: a UUID's own value (so
/// UUIDv7 ids order by creation), otherwise a stable 128-bit FNV-1a hash of the id.
pub(crate) fn sort_key(id: &str) -> u128 {
    parse_uuid(id).unwrap_or_else(|| fnv1a_128(id.as_bytes()))
}

fn parse_uuid(id: &str) -> Option<u128> {
    let bytes = id.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let mut value = 0u128;
    for (i, &b) in bytes.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if b != b'-' {
                return None;
            }
            continue;
        }
        let digit = char::from(b).to_digit(16)?;
        value = (value << 4) | u128::from(digit);
    }
    Some(value)
}

fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    bytes.iter().fold(OFFSET, |hash, &b| {
        (hash ^ u128::from(b)).wrapping_mul(PRIME)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_sort_by_their_value_and_other_ids_by_a_stable_hash() {
        let a = "0190f0b8-7a1c-7cc3-8f1e-000000000001";
        let b = "0190f0b8-7a1c-7cc3-8f1e-000000000002";
        assert!(sort_key(a) < sort_key(b));
        assert_eq!(sort_key(a), 0x0190f0b87a1c7cc38f1e000000000001);
        assert_eq!(sort_key("bus-1"), sort_key("bus-1"));
        assert_ne!(sort_key("bus-1"), sort_key("bus-2"));
        assert_eq!(parse_uuid("0190f0b8x7a1c-7cc3-8f1e-000000000001"), None);
        assert_eq!(parse_uuid("0190f0b8-7a1c-7cc3-8f1e-00000000000g"), None);
    }

    #[test]
    fn ips_are_mapped_into_ipv6() {
        assert_eq!(
            parse_ip("10.0.0.1"),
            Some(
                "10.0.0.1"
                    .parse::<std::net::Ipv4Addr>()
                    .unwrap()
                    .to_ipv6_mapped()
            )
        );
        assert_eq!(parse_ip("[fe80::1%eth0]"), "fe80::1".parse().ok());
        assert_eq!(parse_ip("unknown"), None);
    }

    fn document_of(mut fields: serde_json::Value) -> (EventSchema, TantivyDocument) {
        // A member name no filter may use (over 256 bytes): full text only.
        fields
            .as_object_mut()
            .unwrap()
            .insert("k".repeat(300), "too long a name".into());
        let event: NormalisedEvent = serde_json::from_value(serde_json::json!({
            "format": "generic_json",
            "fields": fields,
            "original": {},
        }))
        .unwrap();
        let schema = EventSchema::new();
        let doc = build_document(
            &schema,
            &DocumentParts {
                id: "e1",
                tenant: "t1",
                sensor: "s1",
                received_at: SystemTime::UNIX_EPOCH,
                event: &event,
                payload: b"{}",
            },
        );
        (schema, doc)
    }

    fn texts(doc: &TantivyDocument, field: Field) -> Vec<String> {
        use tantivy::schema::Value as _;
        let mut v: Vec<String> = doc
            .get_all(field)
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn every_value_becomes_a_name_value_term_except_dedicated_and_time_fields() {
        let (schema, doc) = document_of(serde_json::json!({
            "@timestamp": "2026-01-01T00:00:00Z",
            "event.ingested": "2026-01-01T00:00:01Z",
            "host.name": "ws1",
            "source.ip": "unknown",
            "destination.ip": "10.0.0.1",
            "winlog.event_data": {"Image": "C:\\x.exe", "Nested": {"Deep": 7}},
            "related.user": ["alice", "bob"],
            "flag": true,
            "gone": null,
        }));
        assert_eq!(
            texts(&doc, schema.fields),
            [
                "flag=true",
                "related.user=alice",
                "related.user=bob",
                // Not an address: kept where a filter on source.ip looks for it.
                "source.ip=unknown",
                "winlog.event_data.Image=C:\\x.exe",
                "winlog.event_data.Nested.Deep=7",
            ]
        );
        let (host, host_field) = schema.dedicated("host.name").unwrap();
        assert_eq!(host.ecs, "host.name");
        assert_eq!(texts(&doc, host_field), ["ws1"]);
        let full_text = texts(&doc, schema.text);
        for value in [
            "ws1",
            "unknown",
            "C:\\x.exe",
            "7",
            "alice",
            "too long a name",
        ] {
            assert!(
                full_text.iter().any(|t| t == value),
                "{value} in {full_text:?}"
            );
        }
        assert!(
            !full_text.iter().any(|t| t.starts_with("2026")),
            "{full_text:?}"
        );
        assert_eq!(texts(&doc, schema.key), ["e1\u{1f}t1"]);
    }

    #[test]
    fn each_text_value_is_indexed_once_and_the_message_only_in_message() {
        let (schema, doc) = document_of(serde_json::json!({
            "message": "Failed password for root",
            "rule.name": "Failed password for root",
            "host.name": "ws1",
            "host.hostname": "ws1",
            "related.hosts": ["ws1", "ws2"],
            "source.port": 22,
            "destination.port": 22,
        }));
        assert_eq!(texts(&doc, schema.message), ["Failed password for root"]);
        assert_eq!(
            texts(&doc, schema.text),
            ["22", "too long a name", "ws1", "ws2"]
        );
        // Exact terms are all still there (the ports have typed fields of their own).
        assert_eq!(
            texts(&doc, schema.fields),
            [
                "host.hostname=ws1",
                "message=Failed password for root",
                "related.hosts=ws1",
                "related.hosts=ws2",
            ]
        );
        // Name fields are also kept lower-cased, and every name is recorded for its tenant.
        assert_eq!(
            texts(&doc, schema.folded),
            [
                "host.hostname=ws1",
                "host.name=ws1",
                "related.hosts=ws1",
                "related.hosts=ws2",
                "rule.name=failed password for root",
            ]
        );
        assert!(texts(&doc, schema.names).contains(&"t1\u{1f}related.hosts".to_owned()));
    }
}
