//! The adapter over `serde_json::Value` that [`super::WindowsEvent`] replaced,
//! kept unchanged as the reference its field resolution is tested against.
#![allow(dead_code)]

use nigehban_sigma::{Event, Value};
use serde_json::{Map, Value as Json};

/// A JSON event presented to Sigma rules under the field names they use.
///
/// Built once per event: it finds the `System`, `EventData` and `UserData`
/// objects up front so that each of the matcher's field lookups costs one map
/// lookup.
#[derive(Debug, Clone, Copy)]
pub struct WindowsEvent<'a> {
    root: &'a Json,
    system: Option<&'a Map<String, Json>>,
    event_data: Option<&'a Map<String, Json>>,
    user_data: Option<&'a Map<String, Json>>,
}

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

    /// The JSON the event was built from.
    pub fn json(&self) -> &'a Json {
        self.root
    }

    /// The value of a `System` field by its Sigma name, if it is one.
    fn system_field(&self, name: &str) -> Option<&'a Json> {
        let system = self.system?;
        let attribute = |element: &str, attribute: &str| {
            system
                .get(element)
                .and_then(|e| e.get("#attributes"))
                .and_then(|a| a.get(attribute))
        };
        match name {
            "EventID" => system.get("EventID").map(text_of),
            "Channel" | "Computer" | "EventRecordID" | "Level" | "Task" | "Opcode" | "Keywords"
            | "Version" => system.get(name).map(text_of),
            "Provider_Name" => attribute("Provider", "Name"),
            "Provider_Guid" => attribute("Provider", "Guid"),
            "Security_UserID" => attribute("Security", "UserID"),
            "TimeCreated" | "TimeCreated_SystemTime" => attribute("TimeCreated", "SystemTime"),
            "Correlation_ActivityID" => attribute("Correlation", "ActivityID"),
            "Execution_ProcessID" => attribute("Execution", "ProcessID"),
            "Execution_ThreadID" => attribute("Execution", "ThreadID"),
            _ => None,
        }
    }

    /// The value of a field by the name a Sigma rule uses, if present.
    pub fn get(&self, name: &str) -> Option<&'a Json> {
        if self.system.is_some() {
            if let Some(value) = self.system_field(name) {
                return Some(value);
            }
            if let Some(value) = self.event_data.and_then(|data| data.get(name)) {
                return Some(text_of(value));
            }
            return self.user_data.and_then(|data| data.get(name)).map(text_of);
        }
        if let Some(value) = self.root.get(name) {
            return Some(value);
        }
        if name.contains('.') {
            return name
                .split('.')
                .try_fold(self.root, |value, part| value.get(part));
        }
        None
    }

    /// When the event happened, as the event states it (RFC 3339 for EVTX).
    pub fn timestamp(&self) -> Option<&'a str> {
        if self.system.is_some() {
            return self.system_field("TimeCreated").and_then(Json::as_str);
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

/// An element rendered with attributes keeps its content under `#text`.
fn text_of(value: &Json) -> &Json {
    match value {
        Json::Object(map) => map.get("#text").unwrap_or(value),
        _ => value,
    }
}

/// Calls `visit` with each scalar in `value`: once per list element, and for
/// an object (a field that has structure) with each scalar inside it.
fn visit_scalars(value: &Json, visit: &mut dyn FnMut(Value<'_>)) {
    match value {
        Json::Null => visit(Value::Null),
        Json::Bool(b) => visit(Value::Bool(*b)),
        Json::Number(n) => visit(number(n)),
        Json::String(s) => visit(Value::Str(s)),
        Json::Array(items) => {
            for item in items {
                visit_scalars(item, visit);
            }
        }
        Json::Object(map) => {
            for item in map.values() {
                visit_scalars(item, visit);
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
        if let Some(value) = self.get(name) {
            visit_scalars(value, visit);
        }
    }

    /// Windows events list their fields (System by Sigma name, then
    /// EventData, then UserData, each name once, as [`WindowsEvent::get`]
    /// resolves it), which lets the matcher visit each field once. Flat JSON
    /// events do not: their dotted paths make the names open-ended.
    fn for_each_field(&self, visit: &mut dyn FnMut(&str, Value<'_>)) -> bool {
        if self.system.is_none() {
            return false;
        }
        for name in SYSTEM_FIELDS {
            if let Some(value) = self.system_field(name) {
                visit_scalars(value, &mut |v| visit(name, v));
            }
        }
        if let Some(data) = self.event_data {
            for (name, value) in data {
                if self.system_field(name).is_none() {
                    visit_scalars(text_of(value), &mut |v| visit(name, v));
                }
            }
        }
        if let Some(data) = self.user_data {
            for (name, value) in data {
                let shadowed = self.system_field(name).is_some()
                    || self.event_data.is_some_and(|d| d.contains_key(name));
                if !shadowed {
                    visit_scalars(text_of(value), &mut |v| visit(name, v));
                }
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
                    for value in data.values() {
                        visit_scalars(value, visit);
                    }
                }
            }
            (None, _, _) => visit_scalars(self.root, visit),
        }
    }
}
