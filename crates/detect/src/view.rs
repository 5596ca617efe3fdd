//! The one Sigma view of an event: where each field name a Sigma rule writes
//! is found in a record, whatever layout the record came in. `hunt` (records
//! read from files) and the live detection stage (normalised events from the
//! bus) both show events to the matcher through [`SigmaView`], so a rule
//! fires on the same events either way.
//!
//! The record is held in a [`JsonTape`] (parsed once, no allocation per
//! event); live events also bring their normalised ECS fields. The layout is
//! recognised from the record by the same rules as
//! `nigehban_normalise::detect_json_format` ([`Layout::of`]; a test holds the
//! two together).
//!
//! # How a name is resolved
//!
//! | layout | names, in order of precedence |
//! | --- | --- |
//! | Windows, `evtx` crate (`Event.System`) | System fields by their Sigma names (below); then `EventData` by key; then `UserData` (the fields of its one template element) by key |
//! | Windows, Winlogbeat (`winlog` object) | System fields from `winlog.*`; then `winlog.event_data`, `winlog.user_data` by key; then any key or dotted path of the record |
//! | Windows, flat (NXLog: `EventID` and `Channel`/`SourceName` at the top) | System fields from the top-level keys; then any top-level key |
//! | Zeek | the record's key, or dotted path into nested objects; a dotted name also in the underscored style (`id.orig_h` finds `id_orig_h`); `_path` also as `@stream`; then the normalised fields (live) |
//! | other JSON (Suricata EVE, ECS documents, ...) | the record's key, or dotted path into nested objects; then the normalised fields (live) |
//! | not JSON (syslog, CEF, text; live only) | CEF header names (`deviceVendor`, `deviceProduct`, `deviceVersion`, `deviceEventClassId`, `name`, `severity`, `cefVersion`) and extension keys (`src`, `suser`, `cs1Label`, ...); then the normalised fields (`message`, `source.ip`, `process.name`, ...) |
//!
//! System fields by Sigma name, per Windows layout:
//!
//! | Sigma name | `evtx` crate | Winlogbeat (`winlog.`) | flat (NXLog) |
//! | --- | --- | --- | --- |
//! | `EventID`, `Channel`, `Computer`, `EventRecordID`, `Level`, `Task`, `Opcode`, `Keywords`, `Version` | the `System` element of that name | `event_id`, `channel`, `computer_name`, `record_id`, –, –, –, –, `version` | `EventID`, `Channel`, `Hostname` or `Computer`, `RecordNumber` or `EventRecordID`, `Level`, `Task`, `OpcodeValue` or `Opcode`, `Keywords`, `Version` |
//! | `Provider_Name`, `Provider_Guid` | `Provider` attributes `Name`, `Guid` | `provider_name`, `provider_guid` | `SourceName` or `ProviderName`, `ProviderGuid` |
//! | `Security_UserID` | `Security` attribute `UserID` | `user.identifier` | `UserID` |
//! | `Execution_ProcessID`, `Execution_ThreadID` | `Execution` attributes | `process.pid`, `process.thread.id` | `ExecutionProcessID`, `ThreadID` |
//! | `Correlation_ActivityID` | `Correlation` attribute `ActivityID` | `activity_id` | `ActivityID` |
//! | `TimeCreated`, `TimeCreated_SystemTime` | `TimeCreated` attribute `SystemTime` | the record's `@timestamp` | `TimeCreated` |
//!
//! A System field shadows an event-data field of the same name, and
//! `EventData` shadows `UserData`. Values are shown as one writer would have
//! written them, so that a rule does not depend on which tool rendered the
//! event:
//!
//! - event-data keys written with spaces by some providers (Windows
//!   Defender's `Threat Name`, `Process Name`) are named without them
//!   (`ThreatName`, `ProcessName`), as SigmaHQ's rules name them;
//! - GUIDs (`Provider_Guid`, `Correlation_ActivityID`, and event-data fields
//!   whose name ends in `Guid`) as the event XML writes them,
//!   `{5770385F-C22A-43E0-BF4C-06F5698FFBD9}` (the `evtx` crate drops the
//!   braces, NXLog writes lower case);
//! - `Channel` of the Winlogbeat and flat layouts in its canonical casing
//!   (NXLog writes `security`), and their `Keywords` as the hexadecimal
//!   text the event XML has (NXLog writes a signed decimal).
//!
//! Windows events are seen exactly as their record says them: their
//! normalised fields are not consulted, since Sigma's Windows rules name the
//! fields of the event itself.
//!
//! Keyword (field-less) searches look at what an event says, not at its
//! bookkeeping: the event data of a Windows event (not its System header),
//! every value of any other JSON record, and the message, CEF extension
//! values and syslog structured data of a text record. Events in the `evtx`
//! crate's layout also list their fields ([`Event::for_each_field`]), which
//! makes them cheaper to match; the matcher then searches keywords in every
//! listed value.

use nigehban_normalise::{
    NormalisedEvent, SourceFormat, canonical_channel, canonical_guid_in, is_guid_field,
    is_windows_flat_metadata, windows_keywords_text,
};
use nigehban_sigma::{Event, Value};
use serde_json::Value as Json;

use crate::tape::{JsonTape, Node, NodeId, ROOT};

/// How a record lays out its fields (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// A Windows event in the `evtx` crate's layout: an `Event` object
    /// holding a `System` object.
    WindowsEvtx,
    /// A Windows event as Winlogbeat writes it: a `winlog` object with
    /// `event_id` or `channel`.
    WindowsWinlogbeat,
    /// A Windows event in a flat layout (NXLog and the like): `EventID` with
    /// `Channel`, `SourceName` or `ProviderName` at the top level.
    WindowsFlat,
    /// A Zeek log record: `_path` or `@stream`, or `ts` with `uid`, `fuid`,
    /// `id.orig_h` or `id_orig_h`.
    Zeek,
    /// Any other JSON object (Suricata EVE, ECS documents, ...).
    Json,
    /// A record that is not a JSON object (syslog, CEF, text).
    Text,
}

impl Layout {
    /// The layout of the JSON object in `tape`, recognised by the rules of
    /// `nigehban_normalise::detect_json_format` (in the same order).
    pub fn of(tape: &JsonTape) -> Layout {
        if !tape.is_object(ROOT) {
            return Layout::Text;
        }
        let has = |key: &str| tape.get(ROOT, key).is_some();
        let is_str = |key: &str| tape.get(ROOT, key).and_then(|v| tape.str(v)).is_some();
        if tape
            .get(ROOT, "Event")
            .and_then(|event| tape.get(event, "System"))
            .is_some_and(|system| tape.is_object(system))
        {
            return Layout::WindowsEvtx;
        }
        if let Some(winlog) = tape.get(ROOT, "winlog").filter(|&w| tape.is_object(w))
            && (tape.get(winlog, "event_id").is_some() || tape.get(winlog, "channel").is_some())
        {
            return Layout::WindowsWinlogbeat;
        }
        if has("EventID") && (is_str("Channel") || is_str("SourceName") || is_str("ProviderName")) {
            return Layout::WindowsFlat;
        }
        // Suricata EVE (its rules come before Zeek's in the normaliser).
        if let Some(event_type) = tape.get(ROOT, "event_type").and_then(|v| tape.str(v))
            && (has("src_ip")
                || has("flow_id")
                || tape
                    .get(ROOT, event_type)
                    .is_some_and(|section| tape.is_object(section)))
        {
            return Layout::Json;
        }
        if is_str("_path") || is_str("@stream") {
            return Layout::Zeek;
        }
        if has("ts") && (has("uid") || has("fuid") || has("id.orig_h") || has("id_orig_h")) {
            return Layout::Zeek;
        }
        Layout::Json
    }

    /// Whether the layout is one of a Windows event.
    pub fn is_windows(self) -> bool {
        matches!(
            self,
            Layout::WindowsEvtx | Layout::WindowsWinlogbeat | Layout::WindowsFlat
        )
    }
}

/// Reads the original record of `event` into `tape` when it is a JSON object
/// (parsing its text, as `hunt` parses a record read from a file; else
/// loading the parsed value). Returns whether it was.
pub fn read_record(event: &NormalisedEvent, tape: &mut JsonTape) -> bool {
    let original = event.original();
    if let Some(text) = &original.text
        && original.json.is_some()
        && tape.parse(text.as_bytes())
    {
        return true;
    }
    match &original.json {
        Some(json @ Json::Object(_)) => {
            tape.load(json);
            true
        }
        _ => false,
    }
}

/// How a value is shown (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// As written.
    AsIs,
    /// A GUID in braces and upper case.
    Guid,
    /// A channel name in its canonical casing.
    Channel,
    /// Keywords as hexadecimal text.
    Keywords,
}

/// Where a field's value is in the record, and how it is shown.
#[derive(Debug, Clone, Copy)]
struct Place {
    node: NodeId,
    form: Form,
}

/// An event presented to Sigma rules under the field names they use (see
/// the module documentation).
///
/// Built once per event: it recognises the layout and finds the System and
/// event-data objects up front, so that each of the matcher's lookups looks
/// in one small object.
#[derive(Debug, Clone, Copy)]
pub struct SigmaView<'a> {
    /// The record, when it is a JSON object.
    record: Option<&'a JsonTape>,
    layout: Layout,
    /// The normalised event (live detection), whose fields answer the names
    /// the record of a non-Windows event does not have.
    normalised: Option<&'a NormalisedEvent>,
    /// Windows: the object holding the System fields (`Event.System`,
    /// `winlog`, or the record itself for flat layouts).
    system: Option<NodeId>,
    /// Windows: the event data (`Event.EventData`, `winlog.event_data`, or
    /// the record itself for flat layouts).
    event_data: Option<NodeId>,
    /// Windows: the user data (the template element of `Event.UserData`, or
    /// `winlog.user_data`).
    user_data: Option<NodeId>,
    /// [`key_bit`] of the Sigma name of every key of `event_data` and
    /// `user_data` (`evtx` layout; all bits otherwise): most names rules ask
    /// for that these do not hold are turned away without a search.
    data_keys: u64,
    /// Whether an event-data key has a space in it (Windows Defender's).
    spaced_keys: bool,
}

/// One of 64 bits for a field name, from its length and its first and last
/// bytes.
fn key_bit(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let first = bytes.first().copied().unwrap_or(0) as usize;
    let last = bytes.last().copied().unwrap_or(0) as usize;
    1 << ((bytes.len().wrapping_mul(7) ^ first.wrapping_mul(5) ^ last) & 63)
}

/// [`key_bit`] of the Sigma name of an event-data key that has spaces (the
/// key without them).
fn spaced_key_bit(key: &str) -> u64 {
    let bytes = key.as_bytes();
    let len = bytes.iter().filter(|&&b| b != b' ').count();
    let first = bytes.iter().find(|&&b| b != b' ').copied().unwrap_or(0) as usize;
    let last = bytes.iter().rfind(|&&b| b != b' ').copied().unwrap_or(0) as usize;
    1 << ((len.wrapping_mul(7) ^ first.wrapping_mul(5) ^ last) & 63)
}

/// Whether `key` without its spaces is `name`.
fn same_without_spaces(key: &str, name: &str) -> bool {
    key.bytes().filter(|&b| b != b' ').eq(name.bytes())
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

/// `evtx` layout: System elements whose attributes are fields: element,
/// attribute, Sigma name, form.
const ATTRIBUTE_FIELDS: [(&str, &str, &str, Form); 7] = [
    ("Provider", "Name", "Provider_Name", Form::AsIs),
    ("Provider", "Guid", "Provider_Guid", Form::Guid),
    ("Security", "UserID", "Security_UserID", Form::AsIs),
    ("TimeCreated", "SystemTime", "TimeCreated", Form::AsIs),
    (
        "Correlation",
        "ActivityID",
        "Correlation_ActivityID",
        Form::Guid,
    ),
    ("Execution", "ProcessID", "Execution_ProcessID", Form::AsIs),
    ("Execution", "ThreadID", "Execution_ThreadID", Form::AsIs),
];

/// Flat layouts: Sigma name, the top-level keys that may hold it (first
/// present wins), form.
const FLAT_SYSTEM: [(&str, &[&str], Form); 17] = [
    ("EventID", &["EventID"], Form::AsIs),
    ("Channel", &["Channel"], Form::Channel),
    ("Computer", &["Hostname", "Computer"], Form::AsIs),
    (
        "EventRecordID",
        &["RecordNumber", "EventRecordID"],
        Form::AsIs,
    ),
    ("Level", &["Level"], Form::AsIs),
    ("Task", &["Task"], Form::AsIs),
    ("Opcode", &["OpcodeValue", "Opcode"], Form::AsIs),
    ("Keywords", &["Keywords"], Form::Keywords),
    ("Version", &["Version"], Form::AsIs),
    ("Provider_Name", &["SourceName", "ProviderName"], Form::AsIs),
    ("Provider_Guid", &["ProviderGuid"], Form::Guid),
    ("Security_UserID", &["UserID"], Form::AsIs),
    ("TimeCreated", &["TimeCreated"], Form::AsIs),
    ("Correlation_ActivityID", &["ActivityID"], Form::Guid),
    ("Execution_ProcessID", &["ExecutionProcessID"], Form::AsIs),
    ("Execution_ThreadID", &["ThreadID"], Form::AsIs),
    ("TimeCreated_SystemTime", &["TimeCreated"], Form::AsIs),
];

/// Winlogbeat: Sigma name, dotted path inside `winlog`, form.
const WINLOGBEAT_SYSTEM: [(&str, &str, Form); 11] = [
    ("EventID", "event_id", Form::AsIs),
    ("Channel", "channel", Form::Channel),
    ("Computer", "computer_name", Form::AsIs),
    ("EventRecordID", "record_id", Form::AsIs),
    ("Version", "version", Form::AsIs),
    ("Provider_Name", "provider_name", Form::AsIs),
    ("Provider_Guid", "provider_guid", Form::Guid),
    ("Security_UserID", "user.identifier", Form::AsIs),
    ("Correlation_ActivityID", "activity_id", Form::Guid),
    ("Execution_ProcessID", "process.pid", Form::AsIs),
    ("Execution_ThreadID", "process.thread.id", Form::AsIs),
];

/// CEF header fields by the names CEF gives them, and the ECS field holding each.
const CEF_HEADER: [(&str, &str); 7] = [
    ("cefVersion", "cef.version"),
    ("deviceVendor", "cef.device.vendor"),
    ("deviceProduct", "cef.device.product"),
    ("deviceVersion", "cef.device.version"),
    ("deviceEventClassId", "cef.device.event_class_id"),
    ("name", "cef.name"),
    ("severity", "cef.severity"),
];

/// The form of an event-data field's values, by the field's name.
fn data_form(name: &str) -> Form {
    if is_guid_field(name) {
        Form::Guid
    } else {
        Form::AsIs
    }
}

/// The value of `path` in the object at `id`: the key itself first (keys may
/// contain dots, as Zeek's `id.orig_h` does), then a dotted path into nested
/// objects, trying every split.
fn path_get(tape: &JsonTape, id: NodeId, path: &str) -> Option<NodeId> {
    if let Some(value) = tape.get(id, path) {
        return Some(value);
    }
    let mut start = 0;
    while let Some(dot) = path[start..].find('.') {
        let split = start + dot;
        if let Some(inner) = tape.get(id, &path[..split]).filter(|&v| tape.is_object(v))
            && let Some(value) = path_get(tape, inner, &path[split + 1..])
        {
            return Some(value);
        }
        start = split + 1;
    }
    None
}

/// Calls `visit` with each scalar of a JSON value (every element of an
/// array, every value inside an object).
fn visit_json<'j>(value: &'j Json, visit: &mut dyn FnMut(Value<'j>)) {
    match value {
        Json::Null => visit(Value::Null),
        Json::Bool(b) => visit(Value::Bool(*b)),
        Json::Number(n) => visit(if let Some(i) = n.as_i64() {
            Value::Int(i)
        } else if let Some(u) = n.as_u64() {
            Value::UInt(u)
        } else {
            Value::Float(n.as_f64().unwrap_or(f64::NAN))
        }),
        Json::String(s) => visit(Value::Str(s)),
        Json::Array(items) => items.iter().for_each(|item| visit_json(item, visit)),
        Json::Object(map) => map.values().for_each(|item| visit_json(item, visit)),
    }
}

impl<'a> SigmaView<'a> {
    /// The view of a record read from a file (`hunt`): a JSON object in any
    /// layout, with no normalised fields.
    pub fn of_record(tape: &'a JsonTape) -> Self {
        Self::build(Some(tape), None)
    }

    /// The view of a normalised event (live detection): its original record
    /// (in `record`, filled by [`read_record`] when it is a JSON object) and,
    /// for events that are not Windows events, its normalised fields.
    pub fn of_event(event: &'a NormalisedEvent, record: Option<&'a JsonTape>) -> Self {
        Self::build(record, Some(event))
    }

    fn build(record: Option<&'a JsonTape>, normalised: Option<&'a NormalisedEvent>) -> Self {
        let layout = record.map_or(Layout::Text, Layout::of);
        let mut view = SigmaView {
            record,
            layout,
            normalised,
            system: None,
            event_data: None,
            user_data: None,
            data_keys: u64::MAX,
            spaced_keys: false,
        };
        let Some(tape) = record else {
            return view;
        };
        let object = |id: Option<NodeId>| id.filter(|&id| tape.is_object(id));
        match layout {
            Layout::WindowsEvtx => {
                let event = object(tape.get(ROOT, "Event"));
                let section = |name: &str| object(event.and_then(|e| tape.get(e, name)));
                view.system = section("System");
                view.event_data = section("EventData");
                // UserData holds one element named after the event's
                // template, whose children are the fields.
                view.user_data = section("UserData").and_then(|user_data| {
                    tape.entries(user_data)
                        .find(|(key, _)| !key.starts_with('#'))
                        .map(|(_, inner)| inner)
                        .filter(|&inner| tape.is_object(inner))
                });
            }
            Layout::WindowsWinlogbeat => {
                let winlog = object(tape.get(ROOT, "winlog"));
                view.system = winlog;
                view.event_data = object(winlog.and_then(|w| tape.get(w, "event_data")));
                view.user_data = object(winlog.and_then(|w| tape.get(w, "user_data")));
            }
            Layout::WindowsFlat => {
                view.system = Some(ROOT);
                view.event_data = Some(ROOT);
            }
            Layout::Zeek | Layout::Json | Layout::Text => return view,
        }
        let mut bits = 0;
        for data in view.event_data.into_iter().chain(view.user_data) {
            for (key, _) in tape.entries(data) {
                if key.contains(' ') {
                    view.spaced_keys = true;
                    bits |= spaced_key_bit(key);
                } else {
                    bits |= key_bit(key);
                }
            }
        }
        // The layouts whose every field is looked at, by listing, filter
        // lookups by key bits (the others answer open-ended names).
        if matches!(layout, Layout::WindowsEvtx | Layout::WindowsFlat) {
            view.data_keys = bits;
        }
        view
    }

    /// The record's layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Whether the event is a Windows event (any layout).
    pub fn is_windows(&self) -> bool {
        self.layout.is_windows()
    }

    /// The record the event is read from, when it is a JSON object.
    pub fn record(&self) -> Option<&'a JsonTape> {
        self.record
    }

    /// An element rendered with attributes keeps its content under `#text`.
    fn text_of(tape: &JsonTape, id: NodeId) -> NodeId {
        if tape.is_object(id) {
            tape.get(id, "#text").unwrap_or(id)
        } else {
            id
        }
    }

    /// `evtx` layout: the value of the attribute `attribute` of the System
    /// element `element`.
    fn attribute(
        tape: &JsonTape,
        system: NodeId,
        element: &str,
        attribute: &str,
    ) -> Option<NodeId> {
        let element = tape.get(system, element)?;
        let attributes = tape.get(element, "#attributes")?;
        tape.get(attributes, attribute)
    }

    /// The place of a `System` field by its Sigma name, if it is one and the
    /// event has it.
    fn system_field(&self, name: &str) -> Option<Place> {
        let tape = self.record?;
        let system = self.system?;
        let as_is = |node| Place {
            node,
            form: Form::AsIs,
        };
        match self.layout {
            Layout::WindowsEvtx => match name {
                "EventID" | "Channel" | "Computer" | "EventRecordID" | "Level" | "Task"
                | "Opcode" | "Keywords" | "Version" => tape
                    .get(system, name)
                    .map(|v| as_is(Self::text_of(tape, v))),
                "TimeCreated" | "TimeCreated_SystemTime" => {
                    Self::attribute(tape, system, "TimeCreated", "SystemTime").map(as_is)
                }
                _ => ATTRIBUTE_FIELDS
                    .iter()
                    .find(|(_, _, sigma, _)| *sigma == name)
                    .and_then(|&(element, attribute, _, form)| {
                        Self::attribute(tape, system, element, attribute)
                            .map(|node| Place { node, form })
                    }),
            },
            Layout::WindowsFlat => {
                let (_, keys, form) = FLAT_SYSTEM.iter().find(|(sigma, _, _)| *sigma == name)?;
                keys.iter()
                    .find_map(|key| tape.get(system, key))
                    .map(|node| Place {
                        node: Self::text_of(tape, node),
                        form: *form,
                    })
            }
            Layout::WindowsWinlogbeat => {
                if matches!(name, "TimeCreated" | "TimeCreated_SystemTime") {
                    return tape.get(ROOT, "@timestamp").map(as_is);
                }
                let (_, path, form) = WINLOGBEAT_SYSTEM
                    .iter()
                    .find(|(sigma, _, _)| *sigma == name)?;
                path_get(tape, system, path).map(|node| Place { node, form: *form })
            }
            Layout::Zeek | Layout::Json | Layout::Text => None,
        }
    }

    /// The value of the event-data key whose Sigma name is `name`, in the
    /// object `data`: the key itself, or a key that is `name` with spaces.
    fn data_get(&self, tape: &JsonTape, data: NodeId, name: &str) -> Option<NodeId> {
        if !self.spaced_keys {
            return tape.get(data, name);
        }
        // Keys with spaces are addressed without them, never with them.
        if name.contains(' ') {
            return None;
        }
        tape.get(data, name).or_else(|| {
            tape.entries(data)
                .find(|(key, _)| key.contains(' ') && same_without_spaces(key, name))
                .map(|(_, value)| value)
        })
    }

    /// The place of a field in the record by the name a Sigma rule uses.
    fn place(&self, name: &str) -> Option<Place> {
        let tape = self.record?;
        match self.layout {
            Layout::WindowsEvtx | Layout::WindowsWinlogbeat | Layout::WindowsFlat => {
                if let Some(place) = self.system_field(name) {
                    return Some(place);
                }
                if self.data_keys & key_bit(name) != 0 {
                    for data in self.event_data.into_iter().chain(self.user_data) {
                        if let Some(value) = self.data_get(tape, data, name) {
                            return Some(Place {
                                node: Self::text_of(tape, value),
                                form: data_form(name),
                            });
                        }
                    }
                }
                if self.layout == Layout::WindowsWinlogbeat {
                    return path_get(tape, ROOT, name).map(|node| Place {
                        node,
                        form: Form::AsIs,
                    });
                }
                None
            }
            Layout::Zeek => {
                let node = path_get(tape, ROOT, name).or_else(|| {
                    if name == "_path" {
                        return tape.get(ROOT, "@stream");
                    }
                    if !name.contains('.') || name.len() > 128 {
                        return None;
                    }
                    // The underscored style of a dotted name, without allocating.
                    let mut buffer = [0u8; 128];
                    for (slot, byte) in buffer.iter_mut().zip(name.bytes()) {
                        *slot = if byte == b'.' { b'_' } else { byte };
                    }
                    let underscored = std::str::from_utf8(&buffer[..name.len()]).ok()?;
                    tape.get(ROOT, underscored)
                })?;
                Some(Place {
                    node,
                    form: Form::AsIs,
                })
            }
            Layout::Json => path_get(tape, ROOT, name).map(|node| Place {
                node,
                form: Form::AsIs,
            }),
            Layout::Text => None,
        }
    }

    /// The normalised fields, when they may answer names (live detection of
    /// events that are not Windows events).
    fn normalised_fields(&self) -> Option<&'a NormalisedEvent> {
        self.normalised.filter(|_| !self.layout.is_windows())
    }

    /// The value of a name among the normalised fields (CEF names first).
    fn normalised_value(&self, name: &str) -> Option<&'a Json> {
        let event = self.normalised_fields()?;
        let fields = event.fields();
        if self.layout == Layout::Text && event.format() == SourceFormat::Cef {
            if let Some((_, ecs)) = CEF_HEADER.iter().find(|(cef, _)| *cef == name) {
                return fields.get(ecs);
            }
            if let Some(Json::Object(extensions)) = fields.get("cef.extensions")
                && let Some(value) = extensions.get(name)
            {
                return Some(value);
            }
        }
        fields.get(name)
    }

    /// Calls `visit` with each scalar in the node `id`, shown in `form`:
    /// once per list element, and for an object (a field that has
    /// structure) with each scalar inside it.
    fn visit_node(tape: &JsonTape, id: NodeId, form: Form, visit: &mut dyn FnMut(Value<'_>)) {
        match tape.node(id) {
            Some(Node::Null) => visit(Value::Null),
            Some(Node::Bool(b)) => visit(Value::Bool(b)),
            Some(Node::Int(i)) if form == Form::Keywords => {
                match windows_keywords_text(&Json::from(i)) {
                    Some(text) => visit(Value::Str(&text)),
                    None => visit(Value::Int(i)),
                }
            }
            Some(Node::Int(i)) => visit(Value::Int(i)),
            Some(Node::UInt(u)) => visit(Value::UInt(u)),
            Some(Node::Float(f)) => visit(Value::Float(f)),
            Some(Node::Str { .. }) => {
                let text = tape.str(id).unwrap_or("");
                match form {
                    Form::AsIs => visit(Value::Str(text)),
                    Form::Guid => {
                        let mut buffer = [0u8; 38];
                        visit(Value::Str(
                            canonical_guid_in(text, &mut buffer).unwrap_or(text),
                        ));
                    }
                    Form::Channel => visit(Value::Str(&canonical_channel(text))),
                    Form::Keywords => {
                        let shown = windows_keywords_text(&Json::String(text.to_owned()));
                        visit(Value::Str(shown.as_deref().unwrap_or(text)));
                    }
                }
            }
            Some(Node::Array { .. }) => {
                for item in tape.elements(id) {
                    Self::visit_node(tape, item, form, visit);
                }
            }
            Some(Node::Object { .. }) => {
                for (_, item) in tape.entries(id) {
                    Self::visit_node(tape, item, form, visit);
                }
            }
            Some(Node::Key { .. }) | None => {}
        }
    }

    /// `evtx` layout: lists the System fields by Sigma name, in one pass over
    /// `System`; returns the bits (see [`system_bit`]) of the names present.
    fn list_system(tape: &JsonTape, system: NodeId, visit: &mut dyn FnMut(&str, Value<'_>)) -> u32 {
        let mut present = 0;
        for (key, value) in tape.entries(system) {
            match key {
                "EventID" | "Channel" | "Computer" | "EventRecordID" | "Level" | "Task"
                | "Opcode" | "Keywords" | "Version" => {
                    present |= system_bit(key).unwrap_or(0);
                    Self::visit_node(tape, Self::text_of(tape, value), Form::AsIs, &mut |v| {
                        visit(key, v)
                    });
                }
                "Provider" | "Security" | "TimeCreated" | "Correlation" | "Execution" => {
                    let Some(attributes) = tape.get(value, "#attributes") else {
                        continue;
                    };
                    for (element, attribute, sigma, form) in ATTRIBUTE_FIELDS {
                        if element != key {
                            continue;
                        }
                        if let Some(found) = tape.get(attributes, attribute) {
                            present |= system_bit(sigma).unwrap_or(0);
                            if sigma == "TimeCreated" {
                                present |= system_bit("TimeCreated_SystemTime").unwrap_or(0);
                            }
                            Self::visit_node(tape, found, form, &mut |v| visit(sigma, v));
                        }
                    }
                }
                _ => {}
            }
        }
        present
    }

    /// Flat layout (NXLog, Snare): lists the System fields by Sigma name
    /// (the first key of each that the record has, as [`Self::system_field`]
    /// finds it), then every other key of the record as itself.
    fn list_flat(&self, tape: &JsonTape, visit: &mut dyn FnMut(&str, Value<'_>)) {
        let mut present = 0u32;
        for (bit, (sigma, keys, form)) in FLAT_SYSTEM.iter().enumerate() {
            if let Some(node) = keys.iter().find_map(|key| tape.get(ROOT, key)) {
                present |= 1 << bit;
                Self::visit_node(tape, Self::text_of(tape, node), *form, &mut |v| {
                    visit(sigma, v)
                });
            }
        }
        let shadowed = |name: &str| {
            FLAT_SYSTEM
                .iter()
                .enumerate()
                .any(|(bit, (sigma, _, _))| present & (1 << bit) != 0 && *sigma == name)
        };
        self.list_data(tape, ROOT, &shadowed, visit);
    }

    /// Lists the fields of one event-data object under their Sigma names,
    /// leaving out names `shadowed` says are taken.
    fn list_data(
        &self,
        tape: &JsonTape,
        data: NodeId,
        shadowed: &dyn Fn(&str) -> bool,
        visit: &mut dyn FnMut(&str, Value<'_>),
    ) {
        for (key, value) in tape.entries(data) {
            if self.spaced_keys && key.contains(' ') {
                let name: String = key.chars().filter(|&c| c != ' ').collect();
                // The name goes to the key `field` would find for it: a key
                // that is the name itself, or the first spaced one.
                if shadowed(&name) || self.data_get(tape, data, &name) != Some(value) {
                    continue;
                }
                Self::visit_node(
                    tape,
                    Self::text_of(tape, value),
                    data_form(&name),
                    &mut |v| visit(&name, v),
                );
            } else if !shadowed(key) {
                Self::visit_node(tape, Self::text_of(tape, value), data_form(key), &mut |v| {
                    visit(key, v)
                });
            }
        }
    }

    /// When the event happened, as the record states it (RFC 3339 for EVTX).
    pub fn timestamp(&self) -> Option<&'a str> {
        let tape = self.record?;
        if self.layout == Layout::WindowsEvtx {
            return self
                .system_field("TimeCreated")
                .and_then(|place| tape.str(place.node));
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
        let tape = self.record?;
        let id = self.place(name)?.node;
        match tape.node(id)? {
            Node::Int(i) => u64::try_from(i).ok(),
            Node::UInt(u) => Some(u),
            Node::Str { .. } => tape.str(id)?.parse().ok(),
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

    /// A string field of the record by Sigma name (`Computer`, `Channel`,
    /// ...), as the record writes it.
    pub fn str_field(&self, name: &str) -> Option<&'a str> {
        let tape = self.record?;
        self.place(name).and_then(|place| tape.str(place.node))
    }
}

impl Event for SigmaView<'_> {
    fn field(&self, name: &str, visit: &mut dyn FnMut(Value<'_>)) {
        if let Some(tape) = self.record
            && let Some(place) = self.place(name)
        {
            Self::visit_node(tape, place.node, place.form, visit);
            return;
        }
        if let Some(value) = self.normalised_value(name) {
            visit_json(value, &mut |v| visit(v));
        }
    }

    /// Events in the `evtx` layout list their fields (System by Sigma name,
    /// then EventData, then UserData, each name once, as
    /// [`Event::field`] resolves it), and so do flat Windows records (System
    /// by Sigma name, then the other keys), which lets the matcher visit each
    /// field once. Other layouts do not: their names are open-ended (dotted
    /// paths, shipper metadata, normalised fields).
    fn for_each_field(&self, visit: &mut dyn FnMut(&str, Value<'_>)) -> bool {
        let (Some(tape), Some(system)) = (self.record, self.system) else {
            return false;
        };
        match self.layout {
            Layout::WindowsEvtx => {}
            Layout::WindowsFlat => {
                self.list_flat(tape, visit);
                return true;
            }
            _ => return false,
        }
        let present = Self::list_system(tape, system, visit);
        let by_system = |name: &str| system_bit(name).is_some_and(|bit| present & bit != 0);
        if let Some(data) = self.event_data {
            self.list_data(tape, data, &by_system, visit);
        }
        if let Some(data) = self.user_data {
            let taken = |name: &str| {
                by_system(name)
                    || self
                        .event_data
                        .is_some_and(|d| self.data_get(tape, d, name).is_some())
            };
            self.list_data(tape, data, &taken, visit);
        }
        true
    }

    fn values(&self, visit: &mut dyn FnMut(Value<'_>)) {
        let Some(tape) = self.record else {
            if let Some(event) = self.normalised_fields() {
                event.for_each_keyword_value(&mut |value| visit_json(value, &mut |v| visit(v)));
            }
            return;
        };
        if !self.layout.is_windows() {
            Self::visit_node(tape, ROOT, Form::AsIs, visit);
            return;
        }
        // Keyword searches look at what the event says, not at the System
        // header's bookkeeping (a keyword "4" must not match every event of
        // Level 4), nor at a shipper's metadata.
        for data in self.event_data.into_iter().chain(self.user_data) {
            for (key, value) in tape.entries(data) {
                if self.layout == Layout::WindowsFlat && is_windows_flat_metadata(key) {
                    continue;
                }
                Self::visit_node(tape, value, data_form(key), visit);
            }
        }
    }
}

/// The field names a [`SigmaView`] resolves through `System`, for tests.
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

    fn values_of(event: &SigmaView<'_>, name: &str) -> Vec<String> {
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
        let event = SigmaView::of_record(&tape);
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
    fn check_enumeration_agrees_with_lookups(event: &SigmaView<'_>) -> Vec<String> {
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
        let event = SigmaView::of_record(&tape);
        let names = check_enumeration_agrees_with_lookups(&event);
        assert!(
            names.iter().any(|n| n == "Only")
                && names.iter().any(|n| n == "List")
                && names.iter().any(|n| n == "Provider_Guid")
        );
        assert_eq!(values_of(&event, "Computer"), ["Str(\"dc1\")"]);
        let plain = tape_of(&json!({"a": 1}));
        assert!(!SigmaView::of_record(&plain).for_each_field(&mut |_, _| ()));
    }

    #[test]
    fn flat_windows_records_list_fields_as_lookups_find_them() {
        // NXLog's layout: System fields under their own keys (some named
        // differently from Sigma), event data beside them, a key with spaces.
        let json = json!({"EventTime": "2024-03-15 10:22:14", "Hostname": "ws1",
            "Computer": "shadowed by Hostname", "EventID": 1, "SourceName": "Microsoft-Windows-Sysmon",
            "Channel": "microsoft-windows-sysmon/operational", "RecordNumber": 7,
            "ProviderGuid": "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}", "Keywords": -9223372036854775808_i64,
            "Image": "C:\\w.exe", "Process Name": "w.exe", "List": [1, "a"], "Nested": {"#text": "t"},
            "Empty": null});
        let tape = tape_of(&json);
        let event = SigmaView::of_record(&tape);
        assert_eq!(event.layout(), Layout::WindowsFlat);
        let names = check_enumeration_agrees_with_lookups(&event);
        for name in [
            "Computer",
            "EventRecordID",
            "Provider_Name",
            "Provider_Guid",
            "Image",
            "ProcessName",
            "Hostname",
            "EventTime",
            "List",
            "Nested",
            "Empty",
            "Channel",
            "Keywords",
        ] {
            assert!(
                names.iter().any(|n| n == name),
                "{name} not listed: {names:?}"
            );
        }
        assert_eq!(values_of(&event, "Computer"), ["Str(\"ws1\")"]);
        assert!(!names.iter().any(|n| n == "Process Name"));
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
        let event = SigmaView::of_record(&tape);
        assert_eq!(values_of(&event, "SubjectUserName"), ["Str(\"bob\")"]);
    }

    #[test]
    fn flat_events_by_key_then_dotted_path() {
        let json = json!({"id.orig_h": "10.0.0.1", "dns": {"query": "example.org"}, "n": [1, 2]});
        let tape = tape_of(&json);
        let event = SigmaView::of_record(&tape);
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
        let event = SigmaView::of_record(&tape);
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
        let event = SigmaView::of_record(&tape);
        let mut loaded = JsonTape::new();
        loaded.load(&json);
        let from_value = SigmaView::of_record(&loaded);
        let mut names = Vec::new();
        names_in(&json, "", &mut names);
        names.extend(system_names().iter().map(|n| n.to_string()));
        let stripped: Vec<String> = names.iter().map(|n| n.replace(' ', "")).collect();
        names.extend(stripped);
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

    #[test]
    fn flat_windows_layouts_resolve_system_names_from_their_own_keys() {
        let json = json!({"EventID": 4688, "Channel": "security", "Hostname": "ws1",
            "SourceName": "Microsoft-Windows-Security-Auditing", "RecordNumber": 9,
            "Keywords": -9214364837600034816_i64, "ProviderGuid": "{54849625-5478-4994-a5ba-3e3b0328c30d}",
            "NewProcessName": "C:\\cmd.exe", "SourceModuleType": "im_msvistalog", "Message": "A process"});
        let tape = tape_of(&json);
        let event = SigmaView::of_record(&tape);
        assert_eq!(event.layout(), Layout::WindowsFlat);
        assert_eq!(values_of(&event, "Channel"), ["Str(\"Security\")"]);
        assert_eq!(values_of(&event, "Computer"), ["Str(\"ws1\")"]);
        assert_eq!(
            values_of(&event, "Provider_Name"),
            ["Str(\"Microsoft-Windows-Security-Auditing\")"]
        );
        assert_eq!(values_of(&event, "EventRecordID"), ["Int(9)"]);
        assert_eq!(
            values_of(&event, "Keywords"),
            ["Str(\"0x8020000000000000\")"]
        );
        assert_eq!(
            values_of(&event, "Provider_Guid"),
            ["Str(\"{54849625-5478-4994-A5BA-3E3B0328C30D}\")"]
        );
        assert_eq!(
            values_of(&event, "SourceModuleType"),
            ["Str(\"im_msvistalog\")"]
        );
        assert_eq!(event.record_id(), Some(9));
        assert_eq!(event.event_id(), Some(4688));
        check_enumeration_agrees_with_lookups(&event);
        let mut keywords = Vec::new();
        event.values(&mut |v| keywords.push(format!("{v:?}")));
        assert_eq!(keywords, ["Str(\"C:\\\\cmd.exe\")"]);

        let beat = json!({"@timestamp": "2024-01-01T00:00:00Z", "host": {"name": "ws1"},
            "winlog": {"event_id": "4688", "channel": "security", "computer_name": "ws1",
                       "process": {"pid": 4}, "event_data": {"NewProcessName": "C:\\cmd.exe"}}});
        let tape = tape_of(&beat);
        let event = SigmaView::of_record(&tape);
        assert_eq!(event.layout(), Layout::WindowsWinlogbeat);
        assert_eq!(values_of(&event, "EventID"), ["Str(\"4688\")"]);
        assert_eq!(values_of(&event, "Channel"), ["Str(\"Security\")"]);
        assert_eq!(values_of(&event, "Execution_ProcessID"), ["Int(4)"]);
        assert_eq!(
            values_of(&event, "TimeCreated"),
            ["Str(\"2024-01-01T00:00:00Z\")"]
        );
        assert_eq!(
            values_of(&event, "NewProcessName"),
            ["Str(\"C:\\\\cmd.exe\")"]
        );
        assert_eq!(values_of(&event, "host.name"), ["Str(\"ws1\")"]);
    }

    #[test]
    fn zeek_names_find_either_key_style() {
        let json = json!({"@stream": "conn", "ts": 1.5, "uid": "C1", "id_orig_h": "10.0.0.1",
                          "id.resp_h": "10.0.0.2"});
        let tape = tape_of(&json);
        let event = SigmaView::of_record(&tape);
        assert_eq!(event.layout(), Layout::Zeek);
        assert_eq!(values_of(&event, "id.orig_h"), ["Str(\"10.0.0.1\")"]);
        assert_eq!(values_of(&event, "id.resp_h"), ["Str(\"10.0.0.2\")"]);
        assert_eq!(values_of(&event, "_path"), ["Str(\"conn\")"]);
        let long = format!("{}.x", "a".repeat(200));
        assert!(values_of(&event, &long).is_empty());
    }

    fn small_json() -> impl Strategy<Value = Json> {
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::Bool),
            (-3i64..3).prop_map(|i| json!(i)),
            Just(json!(1.5)),
            Just(json!(u64::MAX)),
            "[a-c4 ]{0,3}".prop_map(Json::String),
            Just(json!("49a15388-b7b9-5f2b-8504-000000000400")),
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
                "Guid",
                "ActivityID",
                "ProcessGuid",
                "Threat Name",
                "ThreatName",
                " Threat  Name",
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

    /// A JSON object made of the keys the layout rules look at.
    fn layout_probe() -> impl Strategy<Value = Json> {
        let value = prop_oneof![
            Just(json!("x")),
            Just(json!(1)),
            Just(json!({})),
            Just(json!({"System": {}})),
            Just(json!({"event_id": 1})),
            Just(json!({"channel": "Security"})),
            Just(json!("alert")),
            Just(json!(null)),
        ];
        let key = prop::sample::select(vec![
            "Event",
            "winlog",
            "EventID",
            "Channel",
            "SourceName",
            "ProviderName",
            "event_type",
            "src_ip",
            "flow_id",
            "alert",
            "x",
            "_path",
            "@stream",
            "ts",
            "uid",
            "fuid",
            "id.orig_h",
            "id_orig_h",
        ]);
        prop::collection::vec((key, value), 0..6).prop_map(|entries| {
            Json::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn layouts_are_recognised_as_the_normaliser_recognises_formats(json in layout_probe()) {
            use nigehban_normalise::{JsonFormat, detect_json_format};
            let tape = tape_of(&json);
            let expected = match detect_json_format(&json) {
                JsonFormat::WindowsEvtx => Layout::WindowsEvtx,
                JsonFormat::WindowsWinlogbeat => Layout::WindowsWinlogbeat,
                JsonFormat::WindowsFlat => Layout::WindowsFlat,
                JsonFormat::Zeek => Layout::Zeek,
                JsonFormat::SuricataEve | JsonFormat::Generic => Layout::Json,
            };
            prop_assert_eq!(Layout::of(&tape), expected, "{}", json);
        }

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

        #[test]
        fn flat_records_list_their_fields_as_lookups_find_them(
            entries in prop::collection::vec((prop::sample::select(vec![
                "EventID", "Channel", "Hostname", "Computer", "RecordNumber", "EventRecordID",
                "SourceName", "ProviderName", "ProviderGuid", "Keywords", "TimeCreated", "Level",
                "Image", "Process Name", "ProcessName", "Target  Name", "x",
            ]), small_json()), 0..8),
        ) {
            // Keys may repeat, as JSON text allows.
            let mut text = String::from(
                "{\"EventID\":4688,\"SourceName\":\"Microsoft-Windows-Security-Auditing\"",
            );
            for (key, value) in entries {
                text.push_str(&format!(",{}:{value}", Json::from(key)));
            }
            text.push('}');
            let mut tape = JsonTape::new();
            prop_assume!(tape.parse(text.as_bytes()));
            let event = SigmaView::of_record(&tape);
            prop_assume!(event.layout() == Layout::WindowsFlat);
            check_enumeration_agrees_with_lookups(&event);
        }
    }
}
