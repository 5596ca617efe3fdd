//! Windows events (and other JSON events) as the Sigma matcher sees them.
//!
//! Events come in the layout of the `evtx` crate, parsed into a [`JsonTape`]:
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

use crate::tape::{JsonTape, Node, NodeId, ROOT};

/// A JSON event presented to Sigma rules under the field names they use.
///
/// Built once per event: it finds the `System`, `EventData` and `UserData`
/// objects up front so that each of the matcher's field lookups looks in one
/// small object.
#[derive(Debug, Clone, Copy)]
pub struct WindowsEvent<'a> {
    tape: &'a JsonTape,
    system: Option<NodeId>,
    event_data: Option<NodeId>,
    user_data: Option<NodeId>,
    /// [`key_bit`] of every key of `event_data` and `user_data`: most names
    /// rules ask for that these do not hold are turned away without a search.
    data_keys: u64,
}

/// One of 64 bits for a field name, from its length and its first and last
/// bytes.
fn key_bit(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let first = bytes.first().copied().unwrap_or(0) as usize;
    let last = bytes.last().copied().unwrap_or(0) as usize;
    1 << ((bytes.len().wrapping_mul(7) ^ first.wrapping_mul(5) ^ last) & 63)
}

/// The Sigma names of `System` fields, by the bit that says a field is
/// present (see [`system_bit`]).
#[cfg(test)]
const SYSTEM_NAMES: [&str; 17] = [
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
    // Looked up, not listed: the same value as `TimeCreated`.
    "TimeCreated_SystemTime",
];

/// The bit of `name`, if it is a System field's Sigma name.
fn system_bit(name: &str) -> Option<u32> {
    let index = match name {
        "EventID" => 0,
        "Channel" => 1,
        "Computer" => 2,
        "EventRecordID" => 3,
        "Level" => 4,
        "Task" => 5,
        "Opcode" => 6,
        "Keywords" => 7,
        "Version" => 8,
        "Provider_Name" => 9,
        "Provider_Guid" => 10,
        "Security_UserID" => 11,
        "TimeCreated" => 12,
        "Correlation_ActivityID" => 13,
        "Execution_ProcessID" => 14,
        "Execution_ThreadID" => 15,
        "TimeCreated_SystemTime" => 16,
        _ => return None,
    };
    Some(1 << index)
}

/// System elements whose attributes are fields: element, attribute, Sigma name.
const ATTRIBUTE_FIELDS: [(&str, &str, &str); 7] = [
    ("Provider", "Name", "Provider_Name"),
    ("Provider", "Guid", "Provider_Guid"),
    ("Security", "UserID", "Security_UserID"),
    ("TimeCreated", "SystemTime", "TimeCreated"),
    ("Correlation", "ActivityID", "Correlation_ActivityID"),
    ("Execution", "ProcessID", "Execution_ProcessID"),
    ("Execution", "ThreadID", "Execution_ThreadID"),
];

impl<'a> WindowsEvent<'a> {
    /// Wraps the event held by `tape`, in the `evtx` crate's layout or any JSON object.
    pub fn new(tape: &'a JsonTape) -> Self {
        let event = tape.get(ROOT, "Event").filter(|&e| tape.is_object(e));
        let section = |name: &str| {
            event
                .and_then(|e| tape.get(e, name))
                .filter(|&s| tape.is_object(s))
        };
        // UserData holds one element named after the event's template, whose
        // children are the fields.
        let user_data = section("UserData").and_then(|user_data| {
            tape.entries(user_data)
                .find(|(key, _)| !key.starts_with('#'))
                .map(|(_, inner)| inner)
                .filter(|&inner| tape.is_object(inner))
        });
        let event_data = section("EventData");
        let data_keys = event_data
            .into_iter()
            .chain(user_data)
            .flat_map(|data| tape.entries(data))
            .fold(0, |bits, (key, _)| bits | key_bit(key));
        WindowsEvent {
            tape,
            system: section("System"),
            event_data,
            user_data,
            data_keys,
        }
    }

    /// Whether the event is in the Windows (`Event.System`) layout.
    pub fn is_windows(&self) -> bool {
        self.system.is_some()
    }

    /// The tape the event is read from.
    pub fn tape(&self) -> &'a JsonTape {
        self.tape
    }

    /// An element rendered with attributes keeps its content under `#text`.
    fn text_of(&self, id: NodeId) -> NodeId {
        if self.tape.is_object(id) {
            self.tape.get(id, "#text").unwrap_or(id)
        } else {
            id
        }
    }

    /// The value of the attribute `attribute` of the System element `element`.
    fn attribute(&self, system: NodeId, element: &str, attribute: &str) -> Option<NodeId> {
        let element = self.tape.get(system, element)?;
        let attributes = self.tape.get(element, "#attributes")?;
        self.tape.get(attributes, attribute)
    }

    /// The value of a `System` field by its Sigma name, if it is one.
    fn system_field(&self, name: &str) -> Option<NodeId> {
        let system = self.system?;
        match name {
            "EventID" | "Channel" | "Computer" | "EventRecordID" | "Level" | "Task" | "Opcode"
            | "Keywords" | "Version" => self.tape.get(system, name).map(|v| self.text_of(v)),
            "TimeCreated" | "TimeCreated_SystemTime" => {
                self.attribute(system, "TimeCreated", "SystemTime")
            }
            _ => ATTRIBUTE_FIELDS
                .iter()
                .find(|(_, _, sigma)| *sigma == name)
                .and_then(|(element, attribute, _)| self.attribute(system, element, attribute)),
        }
    }

    /// The node of a field by the name a Sigma rule uses, if present.
    pub fn get(&self, name: &str) -> Option<NodeId> {
        let tape = self.tape;
        if self.system.is_some() {
            if let Some(value) = self.system_field(name) {
                return Some(value);
            }
            if self.data_keys & key_bit(name) == 0 {
                return None;
            }
            if let Some(value) = self.event_data.and_then(|data| tape.get(data, name)) {
                return Some(self.text_of(value));
            }
            return self
                .user_data
                .and_then(|data| tape.get(data, name))
                .map(|v| self.text_of(v));
        }
        if let Some(value) = tape.get(ROOT, name) {
            return Some(value);
        }
        if name.contains('.') {
            return name
                .split('.')
                .try_fold(ROOT, |value, part| tape.get(value, part));
        }
        None
    }

    /// When the event happened, as the event states it (RFC 3339 for EVTX).
    pub fn timestamp(&self) -> Option<&'a str> {
        let tape = self.tape;
        if self.system.is_some() {
            return self.system_field("TimeCreated").and_then(|v| tape.str(v));
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
        .find_map(|key| tape.get(ROOT, key).and_then(|v| tape.str(v)))
    }

    /// A number field (`Int`, `UInt`, or a string of digits) as a `u64`.
    fn u64_field(&self, name: &str) -> Option<u64> {
        let id = self.get(name)?;
        match self.tape.node(id)? {
            Node::Int(i) => u64::try_from(i).ok(),
            Node::UInt(u) => Some(u),
            Node::Str { .. } => self.tape.str(id)?.parse().ok(),
            _ => None,
        }
    }

    /// The event's record number within its log, where it has one.
    pub fn record_id(&self) -> Option<u64> {
        self.u64_field("EventRecordID")
    }

    /// The event's integer id (Windows EventID), where it has one.
    pub fn event_id(&self) -> Option<u64> {
        self.u64_field("EventID")
    }

    /// A string field by Sigma name (`Computer`, `Channel`, ...).
    pub fn str_field(&self, name: &str) -> Option<&'a str> {
        self.get(name).and_then(|v| self.tape.str(v))
    }

    /// Calls `visit` with each scalar in the node `id`: once per list element,
    /// and for an object (a field that has structure) with each scalar inside it.
    fn visit_scalars(&self, id: NodeId, visit: &mut dyn FnMut(Value<'a>)) {
        let tape = self.tape;
        match tape.node(id) {
            Some(Node::Null) => visit(Value::Null),
            Some(Node::Bool(b)) => visit(Value::Bool(b)),
            Some(Node::Int(i)) => visit(Value::Int(i)),
            Some(Node::UInt(u)) => visit(Value::UInt(u)),
            Some(Node::Float(f)) => visit(Value::Float(f)),
            Some(Node::Str { .. }) => visit(Value::Str(tape.str(id).unwrap_or(""))),
            Some(Node::Array { .. }) => {
                for item in tape.elements(id) {
                    self.visit_scalars(item, visit);
                }
            }
            Some(Node::Object { .. }) => {
                for (_, item) in tape.entries(id) {
                    self.visit_scalars(item, visit);
                }
            }
            Some(Node::Key { .. }) | None => {}
        }
    }

    /// Lists the System fields by Sigma name, in one pass over `System`;
    /// returns the bits (see [`system_bit`]) of the names present.
    fn list_system(&self, system: NodeId, visit: &mut dyn FnMut(&str, Value<'_>)) -> u32 {
        let tape = self.tape;
        let mut present = 0;
        for (key, value) in tape.entries(system) {
            match key {
                "EventID" | "Channel" | "Computer" | "EventRecordID" | "Level" | "Task"
                | "Opcode" | "Keywords" | "Version" => {
                    present |= system_bit(key).unwrap_or(0);
                    self.visit_scalars(self.text_of(value), &mut |v| visit(key, v));
                }
                "Provider" | "Security" | "TimeCreated" | "Correlation" | "Execution" => {
                    let Some(attributes) = tape.get(value, "#attributes") else {
                        continue;
                    };
                    for (element, attribute, sigma) in ATTRIBUTE_FIELDS {
                        if element != key {
                            continue;
                        }
                        if let Some(found) = tape.get(attributes, attribute) {
                            present |= system_bit(sigma).unwrap_or(0);
                            if sigma == "TimeCreated" {
                                present |= system_bit("TimeCreated_SystemTime").unwrap_or(0);
                            }
                            self.visit_scalars(found, &mut |v| visit(sigma, v));
                        }
                    }
                }
                _ => {}
            }
        }
        present
    }
}

impl Event for WindowsEvent<'_> {
    fn field(&self, name: &str, visit: &mut dyn FnMut(Value<'_>)) {
        if let Some(value) = self.get(name) {
            self.visit_scalars(value, &mut |v| visit(v));
        }
    }

    /// Windows events list their fields (System by Sigma name, then
    /// EventData, then UserData, each name once, as [`WindowsEvent::get`]
    /// resolves it), which lets the matcher visit each field once. Flat JSON
    /// events do not: their dotted paths make the names open-ended.
    fn for_each_field(&self, visit: &mut dyn FnMut(&str, Value<'_>)) -> bool {
        let Some(system) = self.system else {
            return false;
        };
        let tape = self.tape;
        let present = self.list_system(system, visit);
        let shadowed = |name: &str| system_bit(name).is_some_and(|bit| present & bit != 0);
        if let Some(data) = self.event_data {
            for (name, value) in tape.entries(data) {
                if !shadowed(name) {
                    self.visit_scalars(self.text_of(value), &mut |v| visit(name, v));
                }
            }
        }
        if let Some(data) = self.user_data {
            for (name, value) in tape.entries(data) {
                let in_event_data = self.event_data.is_some_and(|d| tape.get(d, name).is_some());
                if !shadowed(name) && !in_event_data {
                    self.visit_scalars(self.text_of(value), &mut |v| visit(name, v));
                }
            }
        }
        true
    }

    fn values(&self, visit: &mut dyn FnMut(Value<'_>)) {
        let tape = self.tape;
        if self.system.is_some() {
            // Keyword searches look at what the event says, not at the
            // System header's bookkeeping (a keyword "4" must not match
            // every event of Level 4).
            for data in self.event_data.into_iter().chain(self.user_data) {
                for (_, value) in tape.entries(data) {
                    self.visit_scalars(value, &mut |v| visit(v));
                }
            }
        } else {
            self.visit_scalars(ROOT, &mut |v| visit(v));
        }
    }
}

/// The field names a [`WindowsEvent`] resolves through `System`, for tests.
#[cfg(test)]
pub(crate) fn system_names() -> &'static [&'static str] {
    &SYSTEM_NAMES
}

#[cfg(test)]
mod reference;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value as Json, json};

    fn tape_of(json: &Json) -> JsonTape {
        let mut tape = JsonTape::new();
        assert!(tape.parse(json.to_string().as_bytes()));
        tape
    }

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
        let tape = tape_of(&json);
        let event = WindowsEvent::new(&tape);
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
    fn check_enumeration_agrees_with_lookups(event: &WindowsEvent<'_>) -> Vec<String> {
        let mut enumerated: Vec<(String, String)> = Vec::new();
        assert!(event.for_each_field(&mut |name, value| {
            enumerated.push((name.to_owned(), format!("{value:?}")))
        }));
        let mut names: Vec<String> = enumerated.iter().map(|(n, _)| n.clone()).collect();
        names.dedup();
        for name in &names {
            let from_enumeration: Vec<&String> = enumerated
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v)
                .collect();
            let from_lookup = values_of(event, name);
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
        names
    }

    #[test]
    fn enumerated_fields_agree_with_lookups() {
        let json = json!({"Event": {"System": {
            "EventID": {"#attributes": {"Qualifiers": 0}, "#text": 4688},
            "Channel": "Security", "Computer": "dc1", "Level": 0,
            "Provider": {"#attributes": {"Name": "P", "Guid": "{G}"}}},
            "EventData": {"NewProcessName": "C:\\cmd.exe", "Computer": "shadowed", "List": [1, "a"]},
            "UserData": {"X": {"NewProcessName": "shadowed too", "Only": null}}}});
        let tape = tape_of(&json);
        let event = WindowsEvent::new(&tape);
        let names = check_enumeration_agrees_with_lookups(&event);
        assert!(
            names.iter().any(|n| n == "Only")
                && names.iter().any(|n| n == "List")
                && names.iter().any(|n| n == "Provider_Guid")
        );
        assert_eq!(values_of(&event, "Computer"), ["Str(\"dc1\")"]);
        let flat = tape_of(&json!({"a": 1}));
        assert!(!WindowsEvent::new(&flat).for_each_field(&mut |_, _| ()));
    }

    #[test]
    fn system_names_have_their_own_bits() {
        for (i, name) in system_names().iter().enumerate() {
            assert_eq!(system_bit(name), Some(1 << i));
        }
        assert_eq!(system_bit("CommandLine"), None);
    }

    #[test]
    fn reads_user_data_fields() {
        let json = json!({"Event": {"System": {"EventID": 1102, "Channel": "Security"},
            "UserData": {"LogFileCleared": {"SubjectUserName": "bob"}}}});
        let tape = tape_of(&json);
        let event = WindowsEvent::new(&tape);
        assert_eq!(values_of(&event, "SubjectUserName"), ["Str(\"bob\")"]);
    }

    #[test]
    fn flat_events_by_key_then_dotted_path() {
        let json = json!({"id.orig_h": "10.0.0.1", "dns": {"query": "example.org"}, "n": [1, 2]});
        let tape = tape_of(&json);
        let event = WindowsEvent::new(&tape);
        assert!(!event.is_windows());
        assert_eq!(values_of(&event, "id.orig_h"), ["Str(\"10.0.0.1\")"]);
        assert_eq!(values_of(&event, "dns.query"), ["Str(\"example.org\")"]);
        assert_eq!(values_of(&event, "n"), ["Int(1)", "Int(2)"]);
    }

    #[test]
    fn keyword_values_skip_the_system_header() {
        let json = json!({"Event": {"System": {"EventID": 4, "Level": 4},
            "EventData": {"Data": ["a", "b"]}}});
        let tape = tape_of(&json);
        let event = WindowsEvent::new(&tape);
        let mut seen = Vec::new();
        event.values(&mut |v| seen.push(format!("{v:?}")));
        assert_eq!(seen, ["Str(\"a\")", "Str(\"b\")"]);
    }

    /// Every name the reference adapter could be asked for in `json`: its
    /// keys at any depth, the System names, and dotted paths.
    fn names_in(json: &Json, prefix: &str, out: &mut Vec<String>) {
        if let Json::Object(map) = json {
            for (key, value) in map {
                out.push(key.clone());
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                out.push(path.clone());
                names_in(value, &path, out);
            }
        }
        if let Json::Array(items) = json {
            for item in items {
                names_in(item, prefix, out);
            }
        }
    }

    /// The tape adapter resolves every name, lists every field and gives
    /// every keyword value exactly as the `serde_json::Value` adapter it
    /// replaced did.
    pub(crate) fn check_same_as_reference(text: &str) {
        let json: Json = serde_json::from_str(text).unwrap();
        let reference = reference::WindowsEvent::new(&json);
        let mut tape = JsonTape::new();
        assert!(tape.parse(text.as_bytes()), "{text}");
        let event = WindowsEvent::new(&tape);
        let mut loaded = JsonTape::new();
        loaded.load(&json);
        let from_value = WindowsEvent::new(&loaded);
        let mut names = Vec::new();
        names_in(&json, "", &mut names);
        names.extend(system_names().iter().map(|n| n.to_string()));
        names.push("nope".into());
        for event in [&event, &from_value] {
            assert_eq!(event.is_windows(), reference.is_windows());
            for name in &names {
                let mut expected = Vec::new();
                reference.field(name, &mut |v| expected.push(format!("{v:?}")));
                assert_eq!(values_of(event, name), expected, "{name} in {text}");
                assert_eq!(event.str_field(name), reference.str_field(name));
            }
            let mut expected = Vec::new();
            let listed = reference.for_each_field(&mut |n, v| expected.push(format!("{n}={v:?}")));
            let mut got = Vec::new();
            assert_eq!(
                event.for_each_field(&mut |n, v| got.push(format!("{n}={v:?}"))),
                listed
            );
            expected.sort();
            got.sort();
            assert_eq!(got, expected, "{text}");
            let mut expected = Vec::new();
            reference.values(&mut |v| expected.push(format!("{v:?}")));
            let mut got = Vec::new();
            event.values(&mut |v| got.push(format!("{v:?}")));
            expected.sort();
            got.sort();
            assert_eq!(got, expected, "{text}");
            assert_eq!(event.timestamp(), reference.timestamp());
            assert_eq!(event.record_id(), reference.record_id());
            assert_eq!(event.event_id(), reference.event_id());
        }
    }

    #[test]
    fn resolves_like_the_value_adapter_on_tricky_events() {
        for text in [
            r##"{"Event":{"System":{"EventID":{"#text":"4688"},"Level":4,"TimeCreated":{"#attributes":{"SystemTime":"t"}},"Provider":[1]},"EventData":{"Level":"data","TimeCreated_SystemTime":"x","Provider_Name":"y","Data":[{"#text":"a"},"b"]},"UserData":{"#c":1,"T":{"EventData":"u","Level":"z","X":{"#text":"q","Y":1}}}}}"##,
            r##"{"Event":{"System":{"Channel":"A","Channel":"B"},"EventData":{"K":1,"K":{"#text":2}}}}"##,
            r##"{"Event":{"System":{},"UserData":{"T":3}}}"##,
            r##"{"Event":{"System":{"EventRecordID":"12"},"EventData":null}}"##,
            r##"{"Event":[1],"a":{"b":{"c":[{"d":1}]}},"a.b":2,"timestamp":5,"time":"t"}"##,
            r##"{"Event":{"System":{"EventID":-1,"Execution":{"#attributes":{"ProcessID":1,"ThreadID":null}}}}}"##,
        ] {
            check_same_as_reference(text);
        }
    }

    fn small_json() -> impl Strategy<Value = Json> {
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::Bool),
            (-3i64..3).prop_map(|i| json!(i)),
            Just(json!(1.5)),
            Just(json!(u64::MAX)),
            "[a-c4 ]{0,3}".prop_map(Json::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            let key = prop::sample::select(vec![
                "#text",
                "#attributes",
                "a",
                "b",
                "EventID",
                "Level",
                "Name",
                "SystemTime",
                "Provider_Name",
                "Computer",
                "Data",
            ]);
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Json::Array),
                prop::collection::vec((key, inner), 0..4).prop_map(|entries| {
                    Json::Object(
                        entries
                            .into_iter()
                            .map(|(k, v)| (k.to_owned(), v))
                            .collect(),
                    )
                }),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn any_event_resolves_like_the_value_adapter(
            system in prop::collection::vec((prop::sample::select(vec![
                "EventID", "Channel", "Computer", "EventRecordID", "Level", "Provider",
                "TimeCreated", "Execution", "Security", "Correlation", "Other",
            ]), small_json()), 0..6),
            event_data in prop::option::of(small_json()),
            user_data in prop::option::of(small_json()),
            flat in any::<bool>(),
        ) {
            let system: serde_json::Map<String, Json> =
                system.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            let mut event = serde_json::Map::new();
            event.insert("System".into(), Json::Object(system));
            if let Some(data) = event_data {
                event.insert("EventData".into(), data);
            }
            if let Some(data) = user_data {
                event.insert("UserData".into(), json!({"T": data}));
            }
            let root = if flat {
                Json::Object(event)
            } else {
                json!({"Event": event})
            };
            check_same_as_reference(&root.to_string());
        }
    }
}
