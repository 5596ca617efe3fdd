//! The one event model: ECS-style fields, the original record, and the
//! tenant and sensor stamps.
//!
//! See the crate documentation for the field list and the values of
//! `event.module` and `event.dataset`.

use std::borrow::Cow;

use rustc_hash::FxHashMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::{json_text, timestamp};

/// A field name: a static ECS name (`source.ip`) or one built from the record
/// (`winlog.event_data.CommandLine` lives inside `winlog.event_data`, so names
/// are almost always static).
pub type FieldName = Cow<'static, str>;

/// ECS fields by their flat dotted names (`source.ip`, `event.dataset`).
///
/// Open-ended groups whose member names come from the record are one field
/// holding a JSON object: `winlog.event_data`, `winlog.user_data`,
/// `cef.extensions`, `log.syslog.structured_data`. [`Fields::get`] looks
/// inside them, so `winlog.event_data.CommandLine` is addressable as one name.
/// Values are JSON scalars, arrays of scalars, or (for `dns.answers` and the
/// groups above) objects. Iteration order is unspecified; serialisation is in
/// name order, so one event always serialises to the same text.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(transparent)]
pub struct Fields(FxHashMap<FieldName, Value>);

impl Serialize for Fields {
    /// In name order, so that the same event always serialises the same.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(
            self.sorted()
                .into_iter()
                .map(|(_, name, value)| (name, value)),
        )
    }
}

impl Fields {
    /// An empty field set.
    pub fn new() -> Self {
        // Room for a typical event's fields without rehashing.
        Self(FxHashMap::with_capacity_and_hasher(48, Default::default()))
    }

    /// The value of `name`: an exact field, or a member of an object-valued
    /// field (`winlog.event_data.Image` → `Image` inside `winlog.event_data`).
    pub fn get(&self, name: &str) -> Option<&Value> {
        if let Some(value) = self.0.get(name) {
            return Some(value);
        }
        let mut end = name.len();
        while let Some(dot) = name[..end].rfind('.') {
            if let Some(Value::Object(map)) = self.0.get(&name[..dot]) {
                return lookup_path(map, &name[dot + 1..]);
            }
            end = dot;
        }
        None
    }

    /// The value of `name` if it is a string.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// The value of `name` if it is a non-negative integer.
    pub fn get_u64(&self, name: &str) -> Option<u64> {
        self.get(name).and_then(Value::as_u64)
    }

    /// Sets `name` to `value`, replacing what was there.
    pub fn insert(&mut self, name: impl Into<FieldName>, value: impl Into<Value>) {
        self.0.insert(name.into(), value.into());
    }

    /// Removes `name` (an exact field), returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.0.remove(name)
    }

    /// Whether `name` is set (exactly or inside an object-valued field).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The fields, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(name, value)| (name.as_ref(), value))
    }

    /// How many fields are set (an object-valued field counts once).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields in name order (the order they serialise in), each with
    /// the first bytes of its name as a number (see [`name_prefix`]).
    fn sorted(&self) -> Vec<(u128, &str, &Value)> {
        // Sorted by the first 16 bytes as a number first (most names differ
        // there), then by the whole name: the order of the names as text.
        let mut sorted: Vec<(u128, &str, &Value)> = self
            .0
            .iter()
            .map(|(name, value)| (name_prefix(name), name.as_ref(), value))
            .collect();
        // Names are unique, so an unstable sort gives the one order.
        sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        sorted
    }

    /// Writes the fields as a JSON object to `out`: the same text as
    /// serialising them with `serde_json` (name order, compact), faster.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (index, (_, name, value)) in self.sorted().into_iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            json_text::write_str(out, name);
            out.push(b':');
            json_text::write_value(out, value);
        }
        out.push(b'}');
    }

    /// Sets a string field unless `value` is absent or empty.
    pub(crate) fn put_str(&mut self, name: &'static str, value: Option<&str>) {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            self.0
                .insert(Cow::Borrowed(name), Value::String(value.to_string()));
        }
    }

    /// Copies a JSON scalar (not null, not an empty string) into `name`.
    pub(crate) fn put_json(&mut self, name: &'static str, value: Option<&Value>) {
        match value {
            None | Some(Value::Null | Value::Object(_)) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(value) => {
                self.0.insert(Cow::Borrowed(name), value.clone());
            }
        }
    }

    /// Copies a JSON value as text (numbers and booleans written out).
    pub(crate) fn put_json_as_str(&mut self, name: &'static str, value: Option<&Value>) {
        if let Some(text) = value.and_then(scalar_text) {
            self.put_str(name, Some(&text));
        }
    }

    /// Sets an IP field from text, in canonical form, if the text is an IP
    /// address (`0002` groups of IPv6 and IPv4-mapped forms are canonicalised
    /// so that indicators match whatever the sensor wrote).
    pub(crate) fn put_ip(&mut self, name: &'static str, value: Option<&str>) -> bool {
        match value.and_then(parse_ip) {
            Some(ip) => {
                self.0
                    .insert(Cow::Borrowed(name), Value::String(ip_text(ip)));
                true
            }
            None => false,
        }
    }

    /// Sets an IP field from a JSON value holding IP text.
    pub(crate) fn put_json_ip(&mut self, name: &'static str, value: Option<&Value>) -> bool {
        self.put_ip(name, value.and_then(Value::as_str))
    }

    /// Sets a port (0..=65535) from a JSON number or numeric text.
    pub(crate) fn put_json_port(&mut self, name: &'static str, value: Option<&Value>) {
        if let Some(port) = value.and_then(json_u64).filter(|p| *p <= 65535) {
            self.0.insert(Cow::Borrowed(name), Value::from(port));
        }
    }

    /// Sets a non-negative integer from a JSON number or numeric text.
    pub(crate) fn put_json_u64(&mut self, name: &'static str, value: Option<&Value>) {
        if let Some(number) = value.and_then(json_u64) {
            self.0.insert(Cow::Borrowed(name), Value::from(number));
        }
    }

    /// Sets a string field unless it is set already or `value` is empty.
    pub(crate) fn put_first_str(&mut self, name: &'static str, value: &str) {
        if !value.is_empty() {
            self.0
                .entry(Cow::Borrowed(name))
                .or_insert_with(|| Value::String(value.to_string()));
        }
    }

    /// Sets a number field unless it is set already or `value` is absent.
    pub(crate) fn put_first_u64(&mut self, name: &'static str, value: Option<u64>) {
        if let Some(value) = value {
            self.0
                .entry(Cow::Borrowed(name))
                .or_insert_with(|| Value::from(value));
        }
    }

    /// Sets a non-negative integer.
    pub(crate) fn put_u64(&mut self, name: &'static str, value: u64) {
        self.0.insert(Cow::Borrowed(name), Value::from(value));
    }

    /// Sets a timestamp field as RFC 3339 text in UTC.
    pub(crate) fn put_time(&mut self, name: &'static str, at: OffsetDateTime) {
        self.0.insert(
            Cow::Borrowed(name),
            Value::String(timestamp::format_rfc3339_utc(at)),
        );
    }

    /// Appends `value` to the list field `name` unless it is already there.
    pub(crate) fn push_unique(&mut self, name: &'static str, value: &str) {
        let entry = self
            .0
            .entry(Cow::Borrowed(name))
            .or_insert_with(|| Value::Array(Vec::new()));
        if !entry.is_array() {
            let previous = entry.take();
            *entry = Value::Array(vec![previous]);
        }
        if let Value::Array(items) = entry
            && !items.iter().any(|item| item.as_str() == Some(value))
        {
            items.push(Value::String(value.to_string()));
        }
    }

    /// [`Fields::push_unique`] with a value the caller owns (not copied again).
    fn push_unique_owned(&mut self, name: &'static str, value: String) {
        let entry = self
            .0
            .entry(Cow::Borrowed(name))
            .or_insert_with(|| Value::Array(Vec::new()));
        if !entry.is_array() {
            let previous = entry.take();
            *entry = Value::Array(vec![previous]);
        }
        if let Value::Array(items) = entry
            && !items
                .iter()
                .any(|item| item.as_str() == Some(value.as_str()))
        {
            items.push(Value::String(value));
        }
    }

    /// The ECS categorisation fields at once.
    pub(crate) fn categorise(&mut self, kind: &str, categories: &[&str], types: &[&str]) {
        self.insert("event.kind", kind.to_string());
        for category in categories {
            self.push_unique("event.category", category);
        }
        for kind in types {
            self.push_unique("event.type", kind);
        }
    }

    /// Fills `related.ip`, `related.hosts`, `related.user` and
    /// `related.hash` from the fields that hold such values, so that an
    /// indicator can be matched against one field whatever the source.
    pub(crate) fn fill_related(&mut self) {
        const IPS: &[&str] = &[
            "source.ip",
            "destination.ip",
            "host.ip",
            "observer.ip",
            "client.ip",
            "server.ip",
        ];
        const HOSTS: &[&str] = &[
            "host.name",
            "source.domain",
            "destination.domain",
            "url.domain",
            "dns.question.name",
            "tls.client.server_name",
        ];
        const USERS: &[&str] = &["user.name", "source.user.name", "destination.user.name"];
        const HASHES: &[&str] = &[
            "file.hash.md5",
            "file.hash.sha1",
            "file.hash.sha256",
            "process.hash.md5",
            "process.hash.sha1",
            "process.hash.sha256",
            "tls.server.hash.sha1",
            "tls.client.ja3",
            "tls.server.ja3s",
        ];
        // These are top-level names, so exact lookups suffice (and are what
        // keeps this cheap: it runs for every event).
        let mut related: Vec<(&'static str, String)> = Vec::new();
        for (target, names) in [
            ("related.ip", IPS),
            ("related.hosts", HOSTS),
            ("related.user", USERS),
            ("related.hash", HASHES),
        ] {
            for name in names {
                if let Some(Value::String(value)) = self.0.get(*name) {
                    related.push((target, value.clone()));
                }
            }
        }
        if let Some(Value::Array(ips)) = self.0.get("dns.resolved_ip") {
            for ip in ips.iter().filter_map(Value::as_str) {
                related.push(("related.ip", ip.to_string()));
            }
        }
        for (target, value) in related {
            self.push_unique_owned(target, value);
        }
    }
}

impl<'a> IntoIterator for &'a Fields {
    type Item = (&'a FieldName, &'a Value);
    type IntoIter = std::collections::hash_map::Iter<'a, FieldName, Value>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// The first 16 bytes of `name` (zeros after its end) as a big-endian
/// number: names whose prefixes differ are in the order of their prefixes.
fn name_prefix(name: &str) -> u128 {
    let mut prefix = [0u8; 16];
    let bytes = name.as_bytes();
    let len = bytes.len().min(16);
    prefix[..len].copy_from_slice(&bytes[..len]);
    u128::from_be_bytes(prefix)
}

/// Looks `path` up in `map`: as one key first (keys may contain dots, as
/// Zeek's `id.orig_h` does), then as a dotted path into nested objects.
pub(crate) fn lookup_path<'a>(map: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = map.get(path) {
        return Some(value);
    }
    let mut start = 0;
    while let Some(dot) = path[start..].find('.') {
        let split = start + dot;
        if let Some(Value::Object(inner)) = map.get(&path[..split])
            && let Some(value) = lookup_path(inner, &path[split + 1..])
        {
            return Some(value);
        }
        start = split + 1;
    }
    None
}

/// A JSON scalar as text: strings as they are, numbers and booleans written out.
pub(crate) fn scalar_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// A non-negative integer from a JSON number or from decimal text.
pub(crate) fn json_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An IP address as text, as its `Display` writes it (IPv4 written by hand:
/// it is most addresses and `Display` is slow).
fn ip_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let mut text = String::with_capacity(15);
            for (index, octet) in v4.octets().into_iter().enumerate() {
                if index > 0 {
                    text.push('.');
                }
                if octet >= 100 {
                    text.push(char::from(b'0' + octet / 100));
                }
                if octet >= 10 {
                    text.push(char::from(b'0' + octet / 10 % 10));
                }
                text.push(char::from(b'0' + octet % 10));
            }
            text
        }
        IpAddr::V6(_) => ip.to_string(),
    }
}

/// An IP address from text, tolerating IPv6 in brackets and a zone id.
pub(crate) fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let text = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    let text = text.split('%').next().unwrap_or(text);
    let ip: IpAddr = text.parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    })
}

/// What a record was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    /// Syslog in the RFC 5424 layout.
    Syslog5424,
    /// Syslog in the BSD (RFC 3164) layout, or a real-world variant of it.
    Syslog3164,
    /// A CEF record, alone or inside a syslog message (then `log.syslog.*` is set).
    Cef,
    /// A Suricata EVE JSON record.
    SuricataEve,
    /// A Zeek JSON log record with dotted keys (`id.orig_h`).
    ZeekDotted,
    /// A Zeek JSON log record with underscored keys (`id_orig_h`), as the
    /// JSON-streaming and some shipper configurations write them.
    ZeekUnderscored,
    /// A Windows event in the `evtx` crate's JSON layout (`Event.System`).
    WindowsEvtx,
    /// A Windows event in a flat layout (NXLog `im_msvistalog` and shippers
    /// like it): `EventID`, `Channel`, `Hostname`, `SourceName` and the
    /// event data at the top level.
    WindowsFlat,
    /// A Windows event as Winlogbeat writes it (`winlog.event_data`, ...).
    WindowsWinlogbeat,
    /// A JSON object of no known format.
    GenericJson,
    /// Text of no known format.
    GenericText,
    /// A record that could not be parsed, kept with the error.
    Unparsed,
}

impl SourceFormat {
    /// The name the format serialises as (`suricata_eve`, `syslog5424`).
    pub fn name(self) -> &'static str {
        match self {
            SourceFormat::Syslog5424 => "syslog5424",
            SourceFormat::Syslog3164 => "syslog3164",
            SourceFormat::Cef => "cef",
            SourceFormat::SuricataEve => "suricata_eve",
            SourceFormat::ZeekDotted => "zeek_dotted",
            SourceFormat::ZeekUnderscored => "zeek_underscored",
            SourceFormat::WindowsEvtx => "windows_evtx",
            SourceFormat::WindowsFlat => "windows_flat",
            SourceFormat::WindowsWinlogbeat => "windows_winlogbeat",
            SourceFormat::GenericJson => "generic_json",
            SourceFormat::GenericText => "generic_text",
            SourceFormat::Unparsed => "unparsed",
        }
    }

    /// Whether the record is a Windows event (any layout).
    pub fn is_windows(self) -> bool {
        matches!(
            self,
            SourceFormat::WindowsEvtx | SourceFormat::WindowsFlat | SourceFormat::WindowsWinlogbeat
        )
    }
}

/// The record as it arrived.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Original {
    /// The record byte for byte, when it is valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The record byte for byte, when it is not valid UTF-8 (serialised as hex).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "hex_bytes")]
    pub bytes: Option<Vec<u8>>,
    /// The parsed JSON, for JSON records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
}

impl Original {
    /// The original record from bytes, as text when they are UTF-8.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Self {
        match std::str::from_utf8(bytes) {
            Ok(text) => Original {
                text: Some(text.to_string()),
                ..Original::default()
            },
            Err(_) => Original {
                bytes: Some(bytes.to_vec()),
                ..Original::default()
            },
        }
    }

    /// The record as text, lossily decoded if it was not UTF-8.
    pub fn text_lossy(&self) -> Option<Cow<'_, str>> {
        if let Some(text) = &self.text {
            return Some(Cow::Borrowed(text));
        }
        if let Some(bytes) = &self.bytes {
            return Some(String::from_utf8_lossy(bytes));
        }
        self.json.as_ref().map(|json| Cow::Owned(json.to_string()))
    }
}

/// Serde support for raw bytes as lowercase hex text.
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes bytes as hex.
    #[allow(clippy::ref_option)]
    pub(super) fn serialize<S: Serializer>(
        bytes: &Option<Vec<u8>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(bytes) => {
                let mut text = String::with_capacity(bytes.len() * 2);
                for byte in bytes {
                    text.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
                    text.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
                }
                serializer.serialize_some(&text)
            }
            None => serializer.serialize_none(),
        }
    }

    /// Reads hex text back into bytes.
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        let Some(text) = Option::<String>::deserialize(deserializer)? else {
            return Ok(None);
        };
        let digit = |c: u8| -> Result<u8, D::Error> {
            char::from(c)
                .to_digit(16)
                .and_then(|d| u8::try_from(d).ok())
                .ok_or_else(|| serde::de::Error::custom("invalid hex digit"))
        };
        let bytes = text.as_bytes();
        if bytes.len() % 2 != 0 {
            return Err(serde::de::Error::custom("odd number of hex digits"));
        }
        bytes
            .chunks(2)
            .map(|pair| Ok(digit(pair[0])? << 4 | digit(pair[1])?))
            .collect::<Result<Vec<u8>, D::Error>>()
            .map(Some)
    }
}

/// One normalised event: ECS-style fields, the original record, and the
/// tenant and sensor it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalisedEvent {
    format: SourceFormat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sensor_id: Option<String>,
    fields: Fields,
    original: Original,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    diagnostics: Vec<String>,
}

impl NormalisedEvent {
    /// An event of `format` with the given fields and original record.
    pub(crate) fn new(format: SourceFormat, fields: Fields, original: Original) -> Self {
        NormalisedEvent {
            format,
            tenant_id: None,
            sensor_id: None,
            fields,
            original,
            diagnostics: Vec::new(),
        }
    }

    /// A record that could not be parsed, kept whole with the reason
    /// (`event.kind: pipeline_error`, `error.message`), so that nothing a
    /// sensor sent is lost. `received_at` is also its `@timestamp`.
    pub fn unparsed(
        raw: &[u8],
        error: &dyn std::fmt::Display,
        received_at: OffsetDateTime,
    ) -> Self {
        let mut fields = Fields::new();
        fields.put_time("@timestamp", received_at);
        fields.put_time("event.ingested", received_at);
        fields.insert("event.kind", "pipeline_error");
        fields.insert("event.module", "generic");
        fields.insert("event.dataset", "generic.unparsed");
        fields.insert("error.message", error.to_string());
        NormalisedEvent::new(SourceFormat::Unparsed, fields, Original::from_bytes(raw))
    }

    /// What the record was recognised as.
    pub fn format(&self) -> SourceFormat {
        self.format
    }

    /// The ECS fields.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// The ECS fields, for enrichment after normalisation.
    pub fn fields_mut(&mut self) -> &mut Fields {
        &mut self.fields
    }

    /// The record as it arrived.
    pub fn original(&self) -> &Original {
        &self.original
    }

    /// The tenant the event belongs to, as the caller stamped it.
    pub fn tenant_id(&self) -> Option<&str> {
        self.tenant_id.as_deref()
    }

    /// The sensor that sent the event, as the caller stamped it.
    pub fn sensor_id(&self) -> Option<&str> {
        self.sensor_id.as_deref()
    }

    /// Stamps the owning tenant.
    pub fn set_tenant_id(&mut self, tenant_id: Option<String>) {
        self.tenant_id = tenant_id;
    }

    /// Stamps the sending sensor.
    pub fn set_sensor_id(&mut self, sensor_id: Option<String>) {
        self.sensor_id = sensor_id;
    }

    /// What was lenient about reading this record (a missing PRI, an
    /// unreadable timestamp replaced by the receive time, ...), one sentence
    /// each. Empty for a record that followed its format.
    pub fn diagnostics(&self) -> &[String] {
        &self.diagnostics
    }

    /// Adds a diagnostic.
    pub(crate) fn push_diagnostic(&mut self, message: String) {
        self.diagnostics.push(message);
    }

    /// Adds a diagnostic found after normalisation (by intake: a format the
    /// sensor is not registered to send), so that it travels with the event.
    pub fn add_diagnostic(&mut self, message: String) {
        self.diagnostics.push(message);
    }

    /// `@timestamp`: when the event happened, or when it was received if the
    /// record did not say.
    pub fn timestamp(&self) -> Option<OffsetDateTime> {
        self.time_field("@timestamp")
    }

    /// `event.ingested`: when the caller received the record.
    pub fn received_at(&self) -> Option<OffsetDateTime> {
        self.time_field("event.ingested")
    }

    fn time_field(&self, name: &str) -> Option<OffsetDateTime> {
        let text = self.fields.get_str(name)?;
        timestamp::parse_iso8601(text).map(|parsed| parsed.resolve(time::UtcOffset::UTC))
    }

    /// `event.module` (`syslog`, `cef`, `suricata`, `zeek`, `windows`, `generic`).
    pub fn module(&self) -> Option<&str> {
        self.fields.get_str("event.module")
    }

    /// `event.dataset` (`zeek.dns`, `suricata.alert`, `windows.security`, ...).
    pub fn dataset(&self) -> Option<&str> {
        self.fields.get_str("event.dataset")
    }

    /// An ECS field by name (see [`Fields::get`]).
    pub fn ecs(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// Calls `visit` with every value that says what happened, for searches
    /// without a field name (full-text search; Sigma keyword searches on
    /// text records): the event data of a Windows event (not its System
    /// header), every scalar of a JSON record, and the message, extension
    /// values and structured-data values of a syslog or CEF record.
    pub fn for_each_keyword_value(&self, visit: &mut dyn FnMut(&Value)) {
        if self.format.is_windows() {
            for group in ["winlog.event_data", "winlog.user_data"] {
                if let Some(value) = self.fields.get(group) {
                    visit_scalars(value, visit);
                }
            }
            return;
        }
        if let Some(json) = &self.original.json {
            visit_scalars(json, visit);
            return;
        }
        for name in ["message", "cef.extensions", "log.syslog.structured_data"] {
            if let Some(value) = self.fields.get(name) {
                visit_scalars(value, visit);
            }
        }
    }

    /// The event as a nested ECS JSON document: the fields as objects
    /// (`{"source": {"ip": ...}}`), `event.original` with the record's text,
    /// and Nigehban's own stamps under `nigehban` (`tenant_id`, `sensor_id`,
    /// `source_format`, `diagnostics`).
    pub fn to_ecs_document(&self) -> Value {
        let mut root = Map::new();
        for (name, value) in &self.fields.0 {
            insert_nested(&mut root, name, value.clone());
        }
        if let Some(text) = self.original.text_lossy() {
            insert_nested(
                &mut root,
                "event.original",
                Value::String(text.into_owned()),
            );
        }
        let mut stamps = Map::new();
        if let Some(tenant) = &self.tenant_id {
            stamps.insert("tenant_id".into(), Value::String(tenant.clone()));
        }
        if let Some(sensor) = &self.sensor_id {
            stamps.insert("sensor_id".into(), Value::String(sensor.clone()));
        }
        stamps.insert(
            "source_format".into(),
            serde_json::to_value(self.format).unwrap_or(Value::Null),
        );
        if !self.diagnostics.is_empty() {
            stamps.insert(
                "diagnostics".into(),
                Value::Array(
                    self.diagnostics
                        .iter()
                        .map(|d| Value::String(d.clone()))
                        .collect(),
                ),
            );
        }
        root.insert("nigehban".into(), Value::Object(stamps));
        Value::Object(root)
    }
}

/// Inserts `value` at the dotted `name`, creating objects on the way. Where a
/// part of the path is already a non-object, the rest of the name is kept
/// dotted at that level rather than overwriting anything.
fn insert_nested(root: &mut Map<String, Value>, name: &str, value: Value) {
    let Some((head, rest)) = name.split_once('.') else {
        root.insert(name.to_string(), value);
        return;
    };
    let slot = root
        .entry(head.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    match slot {
        Value::Object(inner) => insert_nested(inner, rest, value),
        _ => {
            root.insert(name.to_string(), value);
        }
    }
}

/// Calls `visit` with every scalar inside `value`.
fn visit_scalars(value: &Value, visit: &mut dyn FnMut(&Value)) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| visit_scalars(item, visit)),
        Value::Object(map) => map.values().for_each(|item| visit_scalars(item, visit)),
        scalar => visit(scalar),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn get_looks_inside_object_valued_fields() {
        let mut fields = Fields::new();
        fields.insert(
            "winlog.event_data",
            json!({"CommandLine": "cmd /c whoami", "a.b": 1, "nested": {"x": 2}}),
        );
        assert_eq!(
            fields.get_str("winlog.event_data.CommandLine"),
            Some("cmd /c whoami")
        );
        assert_eq!(fields.get("winlog.event_data.a.b"), Some(&json!(1)));
        assert_eq!(fields.get("winlog.event_data.nested.x"), Some(&json!(2)));
        assert_eq!(fields.get("winlog.event_data.Missing"), None);
        assert_eq!(fields.get("winlog"), None);
    }

    #[test]
    fn push_unique_builds_a_set_in_order() {
        let mut fields = Fields::new();
        fields.push_unique("related.ip", "10.0.0.1");
        fields.push_unique("related.ip", "10.0.0.2");
        fields.push_unique("related.ip", "10.0.0.1");
        assert_eq!(
            fields.get("related.ip"),
            Some(&json!(["10.0.0.1", "10.0.0.2"]))
        );
    }

    #[test]
    fn ip_text_is_display() {
        for ip in [
            "0.0.0.0",
            "10.0.0.1",
            "192.168.100.255",
            "1.20.255.9",
            "::1",
            "fe80::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(ip_text(ip), ip.to_string());
        }
        for octets in [[0, 9, 10, 99], [100, 199, 200, 255]] {
            let ip = IpAddr::from(octets);
            assert_eq!(ip_text(ip), ip.to_string());
        }
    }

    #[test]
    fn fields_sort_by_name_past_their_prefix() {
        let mut fields = Fields::new();
        for name in [
            "log.syslog.severity.name",
            "log.syslog.severity.code",
            "log.syslog.facility.code",
            "log.syslog",
            "log.syslog.",
            "log",
            "a\u{0}",
            "a",
            "é",
            "z",
        ] {
            fields.insert(name, 1);
        }
        let names: Vec<&str> = fields
            .sorted()
            .into_iter()
            .map(|(_, name, _)| name)
            .collect();
        let mut expected = names.clone();
        expected.sort_unstable();
        assert_eq!(names, expected);
    }

    #[test]
    fn ips_are_canonical() {
        assert_eq!(
            parse_ip("2a03:b0c0:0002:00d0:0000:0000:0bd3:4001")
                .unwrap()
                .to_string(),
            "2a03:b0c0:2:d0::bd3:4001"
        );
        assert_eq!(parse_ip("::ffff:10.0.0.1").unwrap().to_string(), "10.0.0.1");
        assert_eq!(parse_ip("[fe80::1%eth0]").unwrap().to_string(), "fe80::1");
        assert!(parse_ip("not an ip").is_none());
    }

    #[test]
    fn the_ecs_document_nests_fields() {
        let mut fields = Fields::new();
        fields.insert("source.ip", "10.0.0.1");
        fields.insert("source.port", 53);
        fields.insert("event.dataset", "zeek.dns");
        let mut event = NormalisedEvent::new(
            SourceFormat::GenericText,
            fields,
            Original::from_bytes(b"raw"),
        );
        event.set_tenant_id(Some("t1".into()));
        let document = event.to_ecs_document();
        assert_eq!(document["source"]["ip"], json!("10.0.0.1"));
        assert_eq!(document["event"]["dataset"], json!("zeek.dns"));
        assert_eq!(document["event"]["original"], json!("raw"));
        assert_eq!(document["nigehban"]["tenant_id"], json!("t1"));
    }

    #[test]
    fn format_names_are_their_serialisation() {
        use SourceFormat::*;
        for format in [
            Syslog5424,
            Syslog3164,
            Cef,
            SuricataEve,
            ZeekDotted,
            ZeekUnderscored,
            WindowsEvtx,
            WindowsFlat,
            WindowsWinlogbeat,
            GenericJson,
            GenericText,
            Unparsed,
        ] {
            assert_eq!(
                serde_json::to_string(&format).unwrap(),
                format!("\"{}\"", format.name())
            );
        }
    }

    #[test]
    fn fields_write_the_json_serde_writes() {
        let mut fields = Fields::new();
        fields.insert("source.ip", "10.0.0.1");
        fields.insert("source.port", 53);
        fields.insert("b", json!({"z": [1.5, null, true], "a": "x\"y"}));
        fields.insert("a.b", "\u{1}\n");
        fields.insert(String::from("dynamic.name"), -3);
        let mut out = Vec::new();
        fields.write_json(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string(&fields).unwrap()
        );
        assert!(
            serde_json::to_string(&fields)
                .unwrap()
                .starts_with("{\"a.b\":")
        );
    }

    #[test]
    fn events_round_trip_through_serde() {
        let mut event = NormalisedEvent::unparsed(
            b"\xff\xfe broken",
            &"bad",
            time::macros::datetime!(2024-01-01 00:00 UTC),
        );
        event.set_sensor_id(Some("s1".into()));
        let text = serde_json::to_string(&event).unwrap();
        let back: NormalisedEvent = serde_json::from_str(&text).unwrap();
        assert_eq!(back, event);
        assert_eq!(
            back.original().bytes.as_deref(),
            Some(&b"\xff\xfe broken"[..])
        );
    }
}
