//! Reading MISP events and feeds into indicators, with a note for every
//! attribute that does not become one.

use std::collections::HashMap;
use std::fmt;

use nigehban_model::indicator::{IndicatorValue, MAX_DESCRIPTION_CHARS, MAX_LABEL_CHARS, MAX_TAGS};
use nigehban_model::{Pap, Timestamp, Tlp};
use serde_json::{Map, Value};

use crate::MispError;
use crate::labels::{Distribution, pap_of_tag, tlp_of_distribution, tlp_of_tag};
use crate::types::{JA4_TAG, kinds_of_attribute_type};

/// The TLP label of a value that neither a tag nor a distribution level
/// labels: TLP:AMBER, as for indicators published through the API.
const DEFAULT_TLP: Tlp = Tlp::Amber;
/// The PAP label of a value no `PAP:` tag labels (as through the API).
const DEFAULT_PAP: Pap = Pap::Amber;
/// How much of a refused value a note repeats.
const NOTE_VALUE_CHARS: usize = 120;

/// An indicator read from a MISP attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MispIndicator {
    /// The value, normalised.
    pub value: IndicatorValue,
    /// The event's `info`.
    pub title: String,
    /// Where it was found (event, attribute, category and type) and the attribute's comment.
    pub description: String,
    /// The attribute's `first_seen`, else its `timestamp`, else the event's.
    pub valid_from: Option<Timestamp>,
    /// The attribute's `last_seen`, when after `valid_from`.
    pub valid_until: Option<Timestamp>,
    /// `MISP <creator organisation>`.
    pub source: String,
    /// The event's and the attribute's tags, except `tlp:` and `PAP:` ones.
    pub tags: Vec<String>,
    /// From `tlp:` tags (the attribute's, else the event's), else the distribution level.
    pub tlp: Tlp,
    /// From `PAP:` tags (the attribute's, else the event's).
    pub pap: Pap,
    /// The event's uuid.
    pub event_uuid: String,
    /// The attribute's uuid (empty when it has none).
    pub attribute_uuid: String,
    /// Where the attribute is in its event.
    pub at: AttributeAt,
    /// The attribute's MISP type.
    pub attribute_type: String,
}

/// Where an attribute is in its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeAt {
    /// The event's `Attribute` list, at this position (from 0).
    Attribute(usize),
    /// An object's `Attribute` list.
    ObjectAttribute {
        /// The object's position in the event's `Object` list (from 0).
        object: usize,
        /// The object's name (`file`, `domain-ip`, ...).
        name: String,
        /// The attribute's position in the object (from 0).
        attribute: usize,
    },
}

impl fmt::Display for AttributeAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttributeAt::Attribute(n) => write!(f, "attribute {n}"),
            AttributeAt::ObjectAttribute {
                object,
                name,
                attribute,
            } => write!(f, "object {object} ({name}), attribute {attribute}"),
        }
    }
}

/// Why an attribute did not become an indicator (or what was left out of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeProblem {
    /// Its type is not one of our indicator kinds (`link`, `filename`, `regkey`, ...).
    Unsupported,
    /// `to_ids` is false: the sender marked it as context, not for detection.
    NotForDetection,
    /// It is marked deleted.
    Deleted,
    /// Its value is not a value of the kind its type says.
    BadValue(String),
    /// Its value was read from an earlier attribute already; the two were
    /// merged (tags joined, the more restrictive TLP and PAP kept).
    Duplicate,
    /// Tags beyond what an indicator holds, or too long, were left out (how many).
    TagsLeftOut(usize),
}

impl fmt::Display for AttributeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttributeProblem::Unsupported => f.write_str("not an indicator kind Nigehban takes"),
            AttributeProblem::NotForDetection => {
                f.write_str("to_ids is false (context, not for detection); not taken")
            }
            AttributeProblem::Deleted => f.write_str("marked deleted; not taken"),
            AttributeProblem::BadValue(reason) => write!(f, "bad value: {reason}"),
            AttributeProblem::Duplicate => {
                f.write_str("same value as an earlier attribute; merged into it")
            }
            AttributeProblem::TagsLeftOut(n) => write!(
                f,
                "{n} tag(s) left out (at most {MAX_TAGS} of at most {MAX_LABEL_CHARS} characters)"
            ),
        }
    }
}

/// What became of one attribute that is not simply an indicator now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {event}, {at} (type {attribute_type:?}, value {value:?}): {problem}")]
pub struct AttributeNote {
    /// The event's uuid (or `#<position>` when it has none).
    pub event: String,
    /// Where the attribute is in the event.
    pub at: AttributeAt,
    /// Its MISP type.
    pub attribute_type: String,
    /// Its value (shortened).
    pub value: String,
    /// What became of it.
    pub problem: AttributeProblem,
}

/// One event read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRead {
    /// Its uuid (or `#<position>` when it has none).
    pub uuid: String,
    /// Its `info`.
    pub info: String,
    /// Its creator organisation's name (`Orgc`, else `Org`).
    pub org: String,
    /// How many attributes it holds, those in objects included.
    pub attributes: usize,
    /// Its tags (all of them, `tlp:` and `PAP:` included).
    pub tags: Vec<String>,
    /// Its distribution level, if it says one.
    pub distribution: Option<Distribution>,
}

/// What reading MISP events gave: the indicators, and a note for every
/// attribute that is not simply one of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MispRead {
    /// The events, in document order.
    pub events: Vec<EventRead>,
    /// The indicators, one per value, in document order.
    pub indicators: Vec<MispIndicator>,
    /// Attributes not taken, merged, or taken with tags left out.
    pub notes: Vec<AttributeNote>,
    /// Feed event files that could not be read (the rest of the feed was).
    pub failed: Vec<MispError>,
}

impl MispRead {
    /// How many attributes the events hold, those in objects included.
    pub fn attributes(&self) -> usize {
        self.events.iter().map(|e| e.attributes).sum()
    }

    /// The notes of one kind of problem.
    pub fn notes_of(&self, problem: &AttributeProblem) -> impl Iterator<Item = &AttributeNote> {
        self.notes.iter().filter(move |note| {
            std::mem::discriminant(&note.problem) == std::mem::discriminant(problem)
        })
    }
}

/// Reads MISP events: `{"Event": {...}}`, a bare event object, a list of
/// either, or a MISP API answer `{"response": [...]}`. Attributes that do
/// not become indicators are noted ([`MispRead::notes`]); the document is
/// refused only when it is not JSON or holds something that is not an event.
pub fn read_events(bytes: &[u8]) -> Result<MispRead, MispError> {
    let document: Value = serde_json::from_slice(bytes).map_err(|e| MispError::json(&e))?;
    let mut reader = Reader::default();
    for (position, event) in events_of(&document)?.into_iter().enumerate() {
        reader.event(position, event);
    }
    Ok(reader.done())
}

/// One entry of a feed's `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    /// The event's uuid (its file is `<uuid>.json`).
    pub uuid: String,
    /// The event's `info`.
    pub info: String,
    /// The creator organisation's name.
    pub org: String,
    /// The event's `timestamp` (seconds since 1970), by which MISP decides to fetch it again.
    pub timestamp: Option<i64>,
    /// The event's tags.
    pub tags: Vec<String>,
}

/// Reads a feed's `manifest.json`: an object of event uuid → event summary.
pub fn read_manifest(bytes: &[u8]) -> Result<Vec<ManifestEntry>, MispError> {
    let document: Value = serde_json::from_slice(bytes).map_err(|e| MispError::json(&e))?;
    let Value::Object(entries) = document else {
        return Err(MispError::Manifest(format!(
            "expected an object of event uuid → event, found {}",
            kind_of(&document)
        )));
    };
    let mut out = Vec::with_capacity(entries.len());
    for (uuid, entry) in entries {
        let Value::Object(entry) = entry else {
            return Err(MispError::Manifest(format!(
                "event {uuid}: expected an object, found {}",
                kind_of(&entry)
            )));
        };
        if uuid.is_empty() || !uuid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            return Err(MispError::Manifest(format!(
                "{uuid:?} is not an event uuid"
            )));
        }
        out.push(ManifestEntry {
            info: text(entry.get("info")),
            org: org_name(&entry),
            timestamp: entry.get("timestamp").and_then(number),
            tags: tag_names(entry.get("Tag")),
            uuid,
        });
    }
    Ok(out)
}

/// Reads a MISP feed: its manifest, then each event file `load` gives for
/// an event uuid (`None`: the file is missing). An event file that is
/// missing or unreadable is reported in [`MispRead::failed`] and the rest
/// of the feed is read.
pub fn read_feed(
    manifest: &[u8],
    mut load: impl FnMut(&str) -> Option<Vec<u8>>,
) -> Result<MispRead, MispError> {
    let entries = read_manifest(manifest)?;
    let mut reader = Reader::default();
    let mut failed = Vec::new();
    for (position, entry) in entries.iter().enumerate() {
        let Some(bytes) = load(&entry.uuid) else {
            failed.push(MispError::MissingEventFile {
                uuid: entry.uuid.clone(),
            });
            continue;
        };
        let document = match serde_json::from_slice::<Value>(&bytes) {
            Ok(document) => document,
            Err(error) => {
                failed.push(MispError::EventFile {
                    uuid: entry.uuid.clone(),
                    error: Box::new(MispError::json(&error)),
                });
                continue;
            }
        };
        match events_of(&document) {
            Ok(events) => {
                for event in events {
                    reader.event(position, event);
                }
            }
            Err(error) => failed.push(MispError::EventFile {
                uuid: entry.uuid.clone(),
                error: Box::new(error),
            }),
        }
    }
    let mut read = reader.done();
    read.failed = failed;
    Ok(read)
}

/// Reads a feed's `hashes.csv`: `<md5 of a value>,<event uuid>` per line.
pub fn read_hashes(text: &str) -> Result<Vec<(String, String)>, MispError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |reason: &str| MispError::Hashes {
            line: n + 1,
            reason: reason.to_owned(),
        };
        let (hash, uuid) = line
            .split_once(',')
            .ok_or_else(|| bad("expected <md5>,<event uuid>"))?;
        if hash.len() != 32 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("the first field is not an MD5 hash"));
        }
        if uuid.is_empty() || !uuid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            return Err(bad("the second field is not an event uuid"));
        }
        out.push((hash.to_ascii_lowercase(), uuid.to_owned()));
    }
    Ok(out)
}

/// The event objects of a document.
fn events_of(document: &Value) -> Result<Vec<&Map<String, Value>>, MispError> {
    match document {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(position, item)| one_event(position, item))
            .collect(),
        Value::Object(map) => match map.get("response") {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(position, item)| one_event(position, item))
                .collect(),
            _ => Ok(vec![one_event(0, document)?]),
        },
        other => Err(MispError::NotAnEvent {
            position: 0,
            found: kind_of(other),
        }),
    }
}

fn one_event(position: usize, item: &Value) -> Result<&Map<String, Value>, MispError> {
    let not_event = |found: String| MispError::NotAnEvent { position, found };
    let Value::Object(map) = item else {
        return Err(not_event(kind_of(item)));
    };
    if let Some(inner) = map.get("Event") {
        return match inner {
            Value::Object(event) => Ok(event),
            other => Err(not_event(format!("\"Event\": {}", kind_of(other)))),
        };
    }
    if ["Attribute", "Object", "info", "uuid"]
        .iter()
        .any(|key| map.contains_key(*key))
    {
        return Ok(map);
    }
    let mut keys: Vec<&str> = map.keys().map(String::as_str).take(5).collect();
    keys.sort_unstable();
    Err(not_event(format!("an object with keys {keys:?}")))
}

fn kind_of(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(_) => "a number".into(),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// A string field (numbers written as text); empty when absent.
fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// A number MISP writes as a number or as a string of digits.
fn number(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A boolean MISP writes as `true`, `1`, `"1"` or `"true"`.
fn flag(value: Option<&Value>) -> Option<bool> {
    match value? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => Some(n.as_i64() != Some(0)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" => Some(true),
            "0" | "false" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A moment: seconds since 1970 (number or digits), or RFC 3339 text.
fn moment(value: Option<&Value>) -> Option<Timestamp> {
    let value = value?;
    if let Some(seconds) = number(value) {
        return seconds
            .checked_mul(1_000_000)
            .map(Timestamp::from_unix_micros);
    }
    let Value::String(s) = value else { return None };
    Timestamp::parse_rfc3339(s.trim()).ok()
}

fn distribution(value: Option<&Value>) -> Option<Distribution> {
    number(value?)
        .and_then(|n| u64::try_from(n).ok())
        .and_then(Distribution::from_number)
}

fn org_name(event: &Map<String, Value>) -> String {
    for key in ["Orgc", "Org"] {
        if let Some(Value::Object(org)) = event.get(key) {
            let name = text(org.get("name"));
            if !name.is_empty() {
                return name;
            }
        }
    }
    String::new()
}

/// The names of a `Tag` list (objects with `name`, or plain strings).
fn tag_names(value: Option<&Value>) -> Vec<String> {
    let Some(Value::Array(tags)) = value else {
        return Vec::new();
    };
    tags.iter()
        .filter_map(|tag| match tag {
            Value::Object(tag) => tag.get("name").and_then(Value::as_str),
            Value::String(name) => Some(name.as_str()),
            _ => None,
        })
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect()
}

/// Text an indicator may hold: control characters (but newline and tab)
/// become spaces; at most `max` characters.
fn clean(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                ' '
            } else {
                c
            }
        })
        .take(max)
        .collect()
}

fn shorten(text: &str) -> String {
    let mut out: String = text.chars().take(NOTE_VALUE_CHARS).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// What an event passes down to its attributes.
struct EventContext<'a> {
    uuid: String,
    info: &'a str,
    org: &'a str,
    timestamp: Option<Timestamp>,
    tags: &'a [String],
    distribution: Option<Distribution>,
}

#[derive(Default)]
struct Reader {
    read: MispRead,
    by_value: HashMap<IndicatorValue, usize>,
}

impl Reader {
    fn done(self) -> MispRead {
        self.read
    }

    fn event(&mut self, position: usize, event: &Map<String, Value>) {
        let uuid = match text(event.get("uuid")) {
            uuid if uuid.is_empty() => format!("#{position}"),
            uuid => uuid,
        };
        let info = text(event.get("info"));
        let org = org_name(event);
        let tags = tag_names(event.get("Tag"));
        let context = EventContext {
            uuid: uuid.clone(),
            info: &info,
            org: &org,
            timestamp: moment(event.get("timestamp")),
            tags: &tags,
            distribution: distribution(event.get("distribution")),
        };
        let mut count = 0;
        if let Some(Value::Array(attributes)) = event.get("Attribute") {
            for (n, attribute) in attributes.iter().enumerate() {
                count += 1;
                self.attribute(&context, AttributeAt::Attribute(n), attribute);
            }
        }
        if let Some(Value::Array(objects)) = event.get("Object") {
            for (object_n, object) in objects.iter().enumerate() {
                let Value::Object(object) = object else {
                    continue;
                };
                let name = text(object.get("name"));
                let deleted = flag(object.get("deleted")).unwrap_or(false);
                if let Some(Value::Array(attributes)) = object.get("Attribute") {
                    for (n, attribute) in attributes.iter().enumerate() {
                        count += 1;
                        let at = AttributeAt::ObjectAttribute {
                            object: object_n,
                            name: name.clone(),
                            attribute: n,
                        };
                        if deleted {
                            self.note(&context, at, attribute, AttributeProblem::Deleted);
                        } else {
                            self.attribute(&context, at, attribute);
                        }
                    }
                }
            }
        }
        self.read.events.push(EventRead {
            uuid,
            info: info.clone(),
            org: org.clone(),
            attributes: count,
            distribution: context.distribution,
            tags: tags.clone(),
        });
    }

    fn note(
        &mut self,
        event: &EventContext<'_>,
        at: AttributeAt,
        attribute: &Value,
        problem: AttributeProblem,
    ) {
        self.read.notes.push(AttributeNote {
            event: event.uuid.clone(),
            at,
            attribute_type: text(attribute.get("type")),
            value: shorten(&text(attribute.get("value"))),
            problem,
        });
    }

    fn attribute(&mut self, event: &EventContext<'_>, at: AttributeAt, attribute: &Value) {
        let Value::Object(fields) = attribute else {
            let problem = AttributeProblem::BadValue(format!(
                "the attribute is {}, not an object",
                kind_of(attribute)
            ));
            return self.note(event, at, attribute, problem);
        };
        if flag(fields.get("deleted")).unwrap_or(false) {
            return self.note(event, at, attribute, AttributeProblem::Deleted);
        }
        let attribute_type = text(fields.get("type"));
        let value = text(fields.get("value"));
        let own_tags = tag_names(fields.get("Tag"));
        let is_ja4 = attribute_type == "text" && own_tags.iter().any(|t| t == JA4_TAG);
        let parts: &[(usize, &str)] = if is_ja4 {
            &[(0, "ja4")]
        } else {
            match kinds_of_attribute_type(&attribute_type) {
                Some(parts) => parts,
                None => return self.note(event, at, attribute, AttributeProblem::Unsupported),
            }
        };
        // MISP's default for to_ids is per type; every type we take defaults to true.
        if !is_ja4 && !flag(fields.get("to_ids")).unwrap_or(true) {
            return self.note(event, at, attribute, AttributeProblem::NotForDetection);
        }
        let pieces: Vec<&str> =
            if parts.len() == 1 && parts[0].0 == 0 && !attribute_type.contains('|') {
                vec![value.as_str()]
            } else {
                value.split('|').collect()
            };
        let mut values = Vec::new();
        for (index, word) in parts {
            let Some(piece) = pieces.get(*index) else {
                let problem = AttributeProblem::BadValue(format!(
                    "a {attribute_type} value has {} part(s) joined by '|', expected {}",
                    pieces.len(),
                    index + 1
                ));
                return self.note(event, at, attribute, problem);
            };
            let word = if *word == "ip" && piece.contains('/') {
                "cidr"
            } else {
                word
            };
            match IndicatorValue::parse(word, piece) {
                Ok(parsed) => values.push(parsed),
                Err(error) => {
                    let problem = AttributeProblem::BadValue(error.to_string());
                    return self.note(event, at, attribute, problem);
                }
            }
        }
        // Labels: the attribute's own tags first, then the event's, then distribution.
        let tlp = own_tags
            .iter()
            .find_map(|t| tlp_of_tag(t))
            .or_else(|| event.tags.iter().find_map(|t| tlp_of_tag(t)))
            .or_else(|| {
                let own = distribution(fields.get("distribution"))
                    .filter(|d| *d != Distribution::InheritEvent);
                own.or(event.distribution).and_then(tlp_of_distribution)
            })
            .unwrap_or(DEFAULT_TLP);
        let pap = own_tags
            .iter()
            .find_map(|t| pap_of_tag(t))
            .or_else(|| event.tags.iter().find_map(|t| pap_of_tag(t)))
            .unwrap_or(DEFAULT_PAP);
        let mut tags = Vec::new();
        let mut left_out = 0;
        for tag in event.tags.iter().chain(own_tags.iter()) {
            if tlp_of_tag(tag).is_some() || pap_of_tag(tag).is_some() || tag == JA4_TAG {
                continue;
            }
            if tags.contains(tag) {
                continue;
            }
            if tags.len() >= MAX_TAGS || tag.chars().count() > MAX_LABEL_CHARS {
                left_out += 1;
                continue;
            }
            tags.push(tag.clone());
        }
        let valid_from = moment(fields.get("first_seen"))
            .or_else(|| moment(fields.get("timestamp")))
            .or(event.timestamp);
        let valid_until = moment(fields.get("last_seen"))
            .filter(|until| valid_from.is_none_or(|from| *until > from));
        let attribute_uuid = text(fields.get("uuid"));
        let comment = text(fields.get("comment"));
        let category = text(fields.get("category"));
        let mut description = format!(
            "MISP event {}, {at} ({category}/{attribute_type}{})",
            event.uuid,
            if attribute_uuid.is_empty() {
                String::new()
            } else {
                format!(", attribute {attribute_uuid}")
            }
        );
        if !comment.trim().is_empty() {
            description.push_str(": ");
            description.push_str(comment.trim());
        }
        let source = if event.org.trim().is_empty() {
            "MISP".to_owned()
        } else {
            format!("MISP {}", event.org.trim())
        };
        if left_out > 0 {
            self.note(
                event,
                at.clone(),
                attribute,
                AttributeProblem::TagsLeftOut(left_out),
            );
        }
        for value in values {
            let indicator = MispIndicator {
                value,
                title: clean(event.info.trim(), MAX_LABEL_CHARS),
                description: clean(&description, MAX_DESCRIPTION_CHARS),
                valid_from,
                valid_until,
                source: clean(&source, MAX_LABEL_CHARS),
                tags: tags.clone(),
                tlp,
                pap,
                event_uuid: event.uuid.clone(),
                attribute_uuid: attribute_uuid.clone(),
                at: at.clone(),
                attribute_type: attribute_type.clone(),
            };
            match self.by_value.get(&indicator.value) {
                Some(&earlier) => {
                    merge(&mut self.read.indicators[earlier], indicator);
                    self.note(event, at.clone(), attribute, AttributeProblem::Duplicate);
                }
                None => {
                    self.by_value
                        .insert(indicator.value.clone(), self.read.indicators.len());
                    self.read.indicators.push(indicator);
                }
            }
        }
    }
}

/// Folds a later reading of the same value into the earlier one: tags
/// joined, the more restrictive labels, the widest validity.
fn merge(earlier: &mut MispIndicator, later: MispIndicator) {
    earlier.tlp = earlier.tlp.max(later.tlp);
    earlier.pap = earlier.pap.max(later.pap);
    for tag in later.tags {
        if !earlier.tags.contains(&tag) && earlier.tags.len() < MAX_TAGS {
            earlier.tags.push(tag);
        }
    }
    earlier.valid_from = match (earlier.valid_from, later.valid_from) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    earlier.valid_until = match (earlier.valid_until, later.valid_until) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use nigehban_model::indicator::IndicatorKind;

    fn event(attributes: Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"Event": {
            "uuid": "5b646415-7b48-40d5-86b4-c0070acd0835",
            "info": "Phishing wave",
            "distribution": "3",
            "timestamp": "1700000000",
            "Orgc": {"name": "CERT-X", "uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f"},
            "Tag": [{"name": "tlp:green"}, {"name": "rsit:fraud=\"phishing\""}],
            "Attribute": attributes,
        }}))
        .unwrap()
    }

    #[test]
    fn attributes_become_indicators_with_labels_and_the_rest_is_noted() {
        let read = read_events(&event(serde_json::json!([
            {"type": "ip-dst|port", "value": "192.0.2.7|443", "to_ids": true, "uuid": "a1"},
            {"type": "domain|ip", "value": "evil.example|198.51.100.1", "to_ids": "1",
             "Tag": [{"name": "tlp:red"}, {"name": "PAP:RED"}]},
            {"type": "link", "value": "https://blog.example/post", "to_ids": false},
            {"type": "md5", "value": "not-a-hash", "to_ids": true},
            {"type": "sha256", "value": "A".repeat(64), "to_ids": false},
            {"type": "ip-src", "value": "10.1.2.3/8", "to_ids": true, "first_seen": "2024-01-02T03:04:05.000000+00:00",
             "last_seen": "2024-02-01T00:00:00Z"},
            {"type": "ip-dst", "value": "192.0.2.7", "to_ids": true, "Tag": [{"name": "malware:emotet"}]},
        ])))
        .unwrap();
        let values: Vec<String> = read
            .indicators
            .iter()
            .map(|i| i.value.to_string())
            .collect();
        assert_eq!(
            values,
            [
                "ipv4:192.0.2.7",
                "domain:evil.example",
                "ipv4:198.51.100.1",
                "cidr:10.0.0.0/8"
            ]
        );
        let first = &read.indicators[0];
        assert_eq!(first.tlp, Tlp::Green);
        assert_eq!(first.pap, Pap::Amber);
        assert_eq!(first.source, "MISP CERT-X");
        assert_eq!(first.title, "Phishing wave");
        // The duplicate's tag joined the first reading.
        assert_eq!(first.tags, ["rsit:fraud=\"phishing\"", "malware:emotet"]);
        assert_eq!(read.indicators[1].tlp, Tlp::Red);
        assert_eq!(read.indicators[1].pap, Pap::Red);
        let cidr = &read.indicators[3];
        assert_eq!(
            cidr.valid_from.unwrap().to_rfc3339(),
            "2024-01-02T03:04:05Z"
        );
        assert!(cidr.valid_until.is_some());
        let problems: Vec<String> = read.notes.iter().map(ToString::to_string).collect();
        assert_eq!(read.notes.len(), 4, "{problems:#?}");
        assert!(
            problems[0].contains("attribute 2") && problems[0].contains("\"link\""),
            "{problems:?}"
        );
        assert!(matches!(
            read.notes[1].problem,
            AttributeProblem::BadValue(_)
        ));
        assert!(problems[1].contains("5b646415-7b48-40d5-86b4-c0070acd0835, attribute 3"));
        assert_eq!(read.notes[2].problem, AttributeProblem::NotForDetection);
        assert_eq!(read.notes[3].problem, AttributeProblem::Duplicate);
        assert_eq!(read.attributes(), 7);
    }

    #[test]
    fn distribution_labels_what_no_tag_labels() {
        let document = serde_json::json!([
            {"uuid": "e1", "info": "a", "distribution": 0, "Attribute": [
                {"type": "domain", "value": "a.example"},
                {"type": "domain", "value": "b.example", "distribution": "3"},
                {"type": "domain", "value": "c.example", "distribution": "5"}]},
            {"Event": {"uuid": "e2", "info": "b", "distribution": "2", "Attribute": [
                {"type": "domain", "value": "d.example"}]}},
            {"uuid": "e3", "info": "c", "Attribute": [{"type": "domain", "value": "e.example"}]},
        ]);
        let read = read_events(&serde_json::to_vec(&document).unwrap()).unwrap();
        let tlps: Vec<Tlp> = read.indicators.iter().map(|i| i.tlp).collect();
        assert_eq!(
            tlps,
            [
                Tlp::AmberStrict,
                Tlp::Clear,
                Tlp::AmberStrict,
                Tlp::Green,
                Tlp::Amber
            ]
        );
        assert_eq!(read.events.len(), 3);
    }

    #[test]
    fn objects_attributes_are_read_and_placed() {
        let document = serde_json::json!({"Event": {"uuid": "e1", "info": "x", "Object": [
            {"name": "file", "Attribute": [
                {"type": "filename", "value": "a.exe", "object_relation": "filename"},
                {"type": "sha1", "value": "77b0c41b7d340b8a3d903f21347bbf06aa766b5b"}]},
            {"name": "gone", "deleted": true, "Attribute": [{"type": "domain", "value": "x.example"}]},
        ]}});
        let read = read_events(&serde_json::to_vec(&document).unwrap()).unwrap();
        assert_eq!(read.indicators.len(), 1);
        assert_eq!(read.indicators[0].value.kind(), IndicatorKind::Sha1);
        assert_eq!(
            read.indicators[0].at,
            AttributeAt::ObjectAttribute {
                object: 0,
                name: "file".into(),
                attribute: 1
            }
        );
        assert_eq!(
            read.notes[0].to_string(),
            "event e1, object 0 (file), attribute 0 (type \"filename\", value \"a.exe\"): not an indicator kind Nigehban takes"
        );
        assert_eq!(read.notes[1].problem, AttributeProblem::Deleted);
    }

    #[test]
    fn what_is_not_an_event_is_refused_naming_where() {
        assert!(matches!(
            read_events(b"{"),
            Err(MispError::NotJson { line: 1, .. })
        ));
        let error = read_events(br#"[{"Event": {"info": "ok"}}, {"colour": "red"}]"#).unwrap_err();
        assert_eq!(
            error,
            MispError::NotAnEvent {
                position: 1,
                found: "an object with keys [\"colour\"]".into()
            }
        );
        assert!(read_events(b"42").is_err());
        let read = read_events(br#"{"response": [{"Event": {"info": "a"}}]}"#).unwrap();
        assert_eq!(read.events[0].uuid, "#0");
    }

    #[test]
    fn feeds_read_through_their_manifest_and_report_missing_files() {
        let manifest = br#"{"e1": {"info": "one", "Orgc": {"name": "CIRCL"}, "timestamp": "17"}, "e2": {"info": "two"}}"#;
        let read = read_feed(manifest, |uuid| {
            (uuid == "e1").then(|| br#"{"Event": {"uuid": "e1", "Attribute": [{"type": "url", "value": "http://a.example"}]}}"#.to_vec())
        })
        .unwrap();
        assert_eq!(read.indicators[0].value.value(), "http://a.example/");
        assert_eq!(
            read.failed,
            [MispError::MissingEventFile { uuid: "e2".into() }]
        );
        assert_eq!(read_manifest(manifest).unwrap()[0].timestamp, Some(17));
        assert!(read_manifest(b"[]").is_err());
        assert_eq!(
            read_hashes("0749bae92ca336a02c83d126e04ec628,e1\n").unwrap(),
            [(
                "0749bae92ca336a02c83d126e04ec628".to_owned(),
                "e1".to_owned()
            )]
        );
        assert!(matches!(
            read_hashes("x,e1"),
            Err(MispError::Hashes { line: 1, .. })
        ));
    }
}
