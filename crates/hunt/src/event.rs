//! Windows events (and other JSON events) as the Sigma matcher sees them.
//!
//! Readers hand over a `serde_json::Value` in the layout of the `evtx` crate:
//!
//! ```json
//! {"Event": {"System": {"EventID": 4688, "Channel": "Security", "Computer": "dc1",
//!                       "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}},
//!                       "TimeCreated": {"#attributes": {"SystemTime": "2019-03-19T23:34:25.000Z"}}, ...},
//!            "EventData": {"NewProcessName": "C:\\Windows\\System32\\cmd.exe", ...}}}
//! ```
//!
//! Sigma rules name fields flatly (`EventID`, `Channel`, `Provider_Name`,
//! `CommandLine`), so [`WindowsEvent`] resolves each name to its place:
//! System fields by their Sigma names, then `EventData`, then `UserData`.
//! An event without `Event.System` (a flat JSON line from another tool) is
//! addressed by top-level key, then by dotted path.

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values_of(event: &WindowsEvent<'_>, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        event.field(name, &mut |v| out.push(format!("{v:?}")));
        out
    }

    #[test]
    fn resolves_system_fields_by_sigma_name() {
        let json = json!({"Event": {"System": {
            "EventID": {"#attributes": {"Qualifiers": 0}, "#text": 4688},
            "Channel": "Security", "Computer": "dc1", "EventRecordID": 12,
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}},
            "TimeCreated": {"#attributes": {"SystemTime": "2019-03-19T23:34:25.000Z"}}},
            "EventData": {"NewProcessName": "C:\\cmd.exe", "ProcessId": "0x10"}}});
        let event = WindowsEvent::new(&json);
        assert_eq!(values_of(&event, "EventID"), ["Int(4688)"]);
        assert_eq!(values_of(&event, "Channel"), ["Str(\"Security\")"]);
        assert_eq!(
            values_of(&event, "Provider_Name"),
            ["Str(\"Microsoft-Windows-Security-Auditing\")"]
        );
        assert_eq!(
            values_of(&event, "NewProcessName"),
            ["Str(\"C:\\\\cmd.exe\")"]
        );
        assert!(values_of(&event, "CommandLine").is_empty());
        assert_eq!(event.timestamp(), Some("2019-03-19T23:34:25.000Z"));
        assert_eq!(event.record_id(), Some(12));
        assert_eq!(event.event_id(), Some(4688));
    }

    /// `for_each_field` must give exactly what `field` gives, name by name.
    #[test]
    fn enumerated_fields_agree_with_lookups() {
        let json = json!({"Event": {"System": {
            "EventID": {"#attributes": {"Qualifiers": 0}, "#text": 4688},
            "Channel": "Security", "Computer": "dc1", "Level": 0,
            "Provider": {"#attributes": {"Name": "P", "Guid": "{G}"}}},
            "EventData": {"NewProcessName": "C:\\cmd.exe", "Computer": "shadowed", "List": [1, "a"]},
            "UserData": {"X": {"NewProcessName": "shadowed too", "Only": null}}}});
        let event = WindowsEvent::new(&json);
        let mut enumerated: Vec<(String, String)> = Vec::new();
        assert!(event.for_each_field(&mut |name, value| {
            enumerated.push((name.to_owned(), format!("{value:?}")))
        }));
        let mut names: Vec<&str> = enumerated.iter().map(|(n, _)| n.as_str()).collect();
        names.dedup();
        for name in &names {
            let from_enumeration: Vec<&String> = enumerated
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v)
                .collect();
            let from_lookup = values_of(&event, name);
            assert_eq!(
                from_enumeration,
                from_lookup.iter().collect::<Vec<_>>(),
                "field {name}"
            );
        }
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            names.len(),
            "a name was enumerated twice: {names:?}"
        );
        assert!(
            names.contains(&"Only") && names.contains(&"List") && names.contains(&"Provider_Guid")
        );
        assert_eq!(values_of(&event, "Computer"), ["Str(\"dc1\")"]);
        assert!(!WindowsEvent::new(&json!({"a": 1})).for_each_field(&mut |_, _| ()));
    }

    #[test]
    fn reads_user_data_fields() {
        let json = json!({"Event": {"System": {"EventID": 1102, "Channel": "Security"},
            "UserData": {"LogFileCleared": {"SubjectUserName": "bob"}}}});
        let event = WindowsEvent::new(&json);
        assert_eq!(values_of(&event, "SubjectUserName"), ["Str(\"bob\")"]);
    }

    #[test]
    fn flat_events_by_key_then_dotted_path() {
        let json = json!({"id.orig_h": "10.0.0.1", "dns": {"query": "example.org"}, "n": [1, 2]});
        let event = WindowsEvent::new(&json);
        assert!(!event.is_windows());
        assert_eq!(values_of(&event, "id.orig_h"), ["Str(\"10.0.0.1\")"]);
        assert_eq!(values_of(&event, "dns.query"), ["Str(\"example.org\")"]);
        assert_eq!(values_of(&event, "n"), ["Int(1)", "Int(2)"]);
    }

    #[test]
    fn keyword_values_skip_the_system_header() {
        let json = json!({"Event": {"System": {"EventID": 4, "Level": 4},
            "EventData": {"Data": ["a", "b"]}}});
        let event = WindowsEvent::new(&json);
        let mut seen = Vec::new();
        event.values(&mut |v| seen.push(format!("{v:?}")));
        assert_eq!(seen, ["Str(\"a\")", "Str(\"b\")"]);
    }
}
