//! A plain adapter over `serde_json::Value` for the `evtx` layout and
//! generic JSON, written for obviousness rather than speed: the reference
//! [`super::SigmaView`]'s resolution is tested against (it began as the
//! adapter the tape view replaced in `hunt`).
#![allow(dead_code)]

use nigehban_normalise::{canonical_guid_in, is_guid_field};
use nigehban_sigma::{Event, Value};
use serde_json::{Map, Value as Json};

/// A JSON event presented to Sigma rules under the field names they use.
#[derive(Debug, Clone, Copy)]
pub struct WindowsEvent<'a> {
    root: &'a Json,
    system: Option<&'a Map<String, Json>>,
    event_data: Option<&'a Map<String, Json>>,
    user_data: Option<&'a Map<String, Json>>,
}

/// A value found, and whether it is shown as a GUID.
type Found<'a> = (&'a Json, bool);

impl<'a> WindowsEvent<'a> {
    /// Wraps `root`, an event in the `evtx` crate's layout or any JSON object.
    pub fn new(root: &'a Json) -> Self {
        let event = root.get("Event").and_then(Json::as_object);
        let section = |name: &str| event.and_then(|e| e.get(name)).and_then(Json::as_object);
        // UserData holds one element named after the event's template, whose
        // children are the fields.
        let user_data = section("UserData").and_then(|user_data| {
            user_data
                .iter()
                .find(|(key, _)| !key.starts_with('#'))
                .and_then(|(_, inner)| inner.as_object())
        });
        WindowsEvent {
            root,
            system: section("System"),
            event_data: section("EventData"),
            user_data,
        }
    }

    /// Whether the event is in the Windows (`Event.System`) layout.
    pub fn is_windows(&self) -> bool {
        self.system.is_some()
    }

    /// The value of a `System` field by its Sigma name, if it is one.
    fn system_field(&self, name: &str) -> Option<Found<'a>> {
        let system = self.system?;
        let attribute = |element: &str, attribute: &str| {
            system
                .get(element)
                .and_then(|e| e.get("#attributes"))
                .and_then(|a| a.get(attribute))
        };
        let plain = |v: Option<&'a Json>| v.map(|v| (v, false));
        let guid = |v: Option<&'a Json>| v.map(|v| (v, true));
        match name {
            "EventID" | "Channel" | "Computer" | "EventRecordID" | "Level" | "Task" | "Opcode"
            | "Keywords" | "Version" => plain(system.get(name).map(text_of)),
            "Provider_Name" => plain(attribute("Provider", "Name")),
            "Provider_Guid" => guid(attribute("Provider", "Guid")),
            "Security_UserID" => plain(attribute("Security", "UserID")),
            "TimeCreated" | "TimeCreated_SystemTime" => {
                plain(attribute("TimeCreated", "SystemTime"))
            }
            "Correlation_ActivityID" => guid(attribute("Correlation", "ActivityID")),
            "Execution_ProcessID" => plain(attribute("Execution", "ProcessID")),
            "Execution_ThreadID" => plain(attribute("Execution", "ThreadID")),
            _ => None,
        }
    }

    /// The data field whose Sigma name is `name` (its key without spaces).
    fn data_field(data: &'a Map<String, Json>, name: &str) -> Option<&'a Json> {
        if name.contains(' ') {
            return None;
        }
        data.get(name).or_else(|| {
            data.iter()
                .find(|(key, _)| key.contains(' ') && key.replace(' ', "") == name)
                .map(|(_, value)| value)
        })
    }

    /// The value of a field by the name a Sigma rule uses, if present.
    fn found(&self, name: &str) -> Option<Found<'a>> {
        if self.system.is_some() {
            if let Some(found) = self.system_field(name) {
                return Some(found);
            }
            let guid = is_guid_field(name);
            if let Some(value) = self
                .event_data
                .and_then(|data| Self::data_field(data, name))
            {
                return Some((text_of(value), guid));
            }
            return self
                .user_data
                .and_then(|data| Self::data_field(data, name))
                .map(|v| (text_of(v), guid));
        }
        self.root
            .as_object()
            .and_then(|root| lookup_path(root, name))
            .map(|v| (v, false))
    }

    /// The value of a field by the name a Sigma rule uses, if present.
    pub fn get(&self, name: &str) -> Option<&'a Json> {
        self.found(name).map(|(value, _)| value)
    }

    /// When the event happened, as the event states it (RFC 3339 for EVTX).
    pub fn timestamp(&self) -> Option<&'a str> {
        if self.system.is_some() {
            return self
                .system_field("TimeCreated")
                .and_then(|(v, _)| v.as_str());
        }
        [
            "@timestamp",
            "timestamp",
            "TimeCreated",
            "EventTime",
            "ts",
            "time",
        ]
        .iter()
        .find_map(|key| self.root.get(*key).and_then(Json::as_str))
    }

    /// The event's record number within its log, where it has one.
    pub fn record_id(&self) -> Option<u64> {
        self.get("EventRecordID").and_then(|value| match value {
            Json::Number(n) => n.as_u64(),
            Json::String(s) => s.parse().ok(),
            _ => None,
        })
    }

    /// The event's integer id (Windows EventID), where it has one.
    pub fn event_id(&self) -> Option<u64> {
        self.get("EventID").and_then(|value| match value {
            Json::Number(n) => n.as_u64(),
            Json::String(s) => s.parse().ok(),
            _ => None,
        })
    }

    /// A string field by Sigma name (`Computer`, `Channel`, ...).
    pub fn str_field(&self, name: &str) -> Option<&'a str> {
        self.get(name).and_then(Json::as_str)
    }
}

/// Looks `path` up in `map`: as one key first, then as a dotted path into
/// nested objects, trying every split.
fn lookup_path<'a>(map: &'a Map<String, Json>, path: &str) -> Option<&'a Json> {
    if let Some(value) = map.get(path) {
        return Some(value);
    }
    for (index, _) in path.match_indices('.') {
        if let Some(Json::Object(inner)) = map.get(&path[..index])
            && let Some(value) = lookup_path(inner, &path[index + 1..])
        {
            return Some(value);
        }
    }
    None
}

/// An element rendered with attributes keeps its content under `#text`.
fn text_of(value: &Json) -> &Json {
    match value {
        Json::Object(map) => map.get("#text").unwrap_or(value),
        _ => value,
    }
}

/// Calls `visit` with each scalar in `value`: once per list element, and for
/// an object (a field that has structure) with each scalar inside it. GUIDs
/// are shown in braces and upper case when `guid` is set.
fn visit_scalars(value: &Json, guid: bool, visit: &mut dyn FnMut(Value<'_>)) {
    match value {
        Json::Null => visit(Value::Null),
        Json::Bool(b) => visit(Value::Bool(*b)),
        Json::Number(n) => visit(number(n)),
        Json::String(s) => {
            let mut buffer = [0u8; 38];
            match canonical_guid_in(s, &mut buffer).filter(|_| guid) {
                Some(shown) => visit(Value::Str(shown)),
                None => visit(Value::Str(s)),
            }
        }
        Json::Array(items) => {
            for item in items {
                visit_scalars(item, guid, visit);
            }
        }
        Json::Object(map) => {
            for item in map.values() {
                visit_scalars(item, guid, visit);
            }
        }
    }
}

fn number(n: &serde_json::Number) -> Value<'static> {
    if let Some(i) = n.as_i64() {
        Value::Int(i)
    } else if let Some(u) = n.as_u64() {
        Value::UInt(u)
    } else {
        Value::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// The `System` fields a rule can name, under their Sigma names.
const SYSTEM_FIELDS: [&str; 16] = [
    "EventID",
    "Channel",
    "Computer",
    "EventRecordID",
    "Level",
    "Task",
    "Opcode",
    "Keywords",
    "Version",
    "Provider_Name",
    "Provider_Guid",
    "Security_UserID",
    "TimeCreated",
    "Correlation_ActivityID",
    "Execution_ProcessID",
    "Execution_ThreadID",
];

impl Event for WindowsEvent<'_> {
    fn field(&self, name: &str, visit: &mut dyn FnMut(Value<'_>)) {
        if let Some((value, guid)) = self.found(name) {
            visit_scalars(value, guid, visit);
        }
    }

    fn for_each_field(&self, visit: &mut dyn FnMut(&str, Value<'_>)) -> bool {
        if self.system.is_none() {
            return false;
        }
        for name in SYSTEM_FIELDS {
            if let Some((value, guid)) = self.system_field(name) {
                visit_scalars(value, guid, &mut |v| visit(name, v));
            }
        }
        // Every Sigma name a data section has, once: the name is the key
        // without spaces, and `found` decides which key's value it shows.
        let mut listed: Vec<String> = Vec::new();
        for data in self.event_data.into_iter().chain(self.user_data) {
            for key in data.keys() {
                let name = key.replace(' ', "");
                if listed.contains(&name) || self.system_field(&name).is_some() {
                    continue;
                }
                if let Some((value, guid)) = self.found(&name) {
                    visit_scalars(value, guid, &mut |v| visit(&name, v));
                }
                listed.push(name);
            }
        }
        true
    }

    fn values(&self, visit: &mut dyn FnMut(Value<'_>)) {
        match (self.system, self.event_data, self.user_data) {
            // Keyword searches look at what the event says, not at the
            // System header's bookkeeping (a keyword "4" must not match
            // every event of Level 4).
            (Some(_), event_data, user_data) => {
                for data in event_data.into_iter().chain(user_data) {
                    for (key, value) in data {
                        visit_scalars(value, is_guid_field(key), visit);
                    }
                }
            }
            (None, _, _) => visit_scalars(self.root, false, visit),
        }
    }
}
