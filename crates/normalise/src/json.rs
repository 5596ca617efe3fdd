//! JSON records: which format they are, and reading them into fields.

use serde_json::{Map, Value};

use crate::event::{Fields, NormalisedEvent, Original, SourceFormat};
use crate::windows::{WindowsLayout, normalise_windows};
use crate::{Format, NormaliseError, SourceHint, suricata, timestamp, zeek};

/// The JSON formats this crate recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonFormat {
    /// Suricata EVE: an `event_type` string with `src_ip`, `flow_id`, or an
    /// object under the key the type names (`"alert": {...}`).
    SuricataEve,
    /// Zeek: `_path` or `@stream`, or `ts` with `uid`, `fuid`, `id.orig_h`
    /// or `id_orig_h`.
    Zeek,
    /// The `evtx` crate's layout: an `Event` object holding a `System` object.
    WindowsEvtx,
    /// Winlogbeat's layout: a `winlog` object with `event_id` or `channel`.
    WindowsWinlogbeat,
    /// A flat Windows layout (NXLog and the like): `EventID` with `Channel`,
    /// `SourceName` or `ProviderName` at the top level.
    WindowsFlat,
    /// Any other JSON value.
    Generic,
}

impl JsonFormat {
    /// The name used in error messages.
    fn name(self) -> &'static str {
        match self {
            JsonFormat::SuricataEve => "Suricata EVE",
            JsonFormat::Zeek => "Zeek",
            JsonFormat::WindowsEvtx | JsonFormat::WindowsWinlogbeat | JsonFormat::WindowsFlat => {
                "Windows event"
            }
            JsonFormat::Generic => "JSON",
        }
    }
}

/// Recognises the format of a JSON record from its keys.
pub fn detect_json_format(value: &Value) -> JsonFormat {
    let Some(root) = value.as_object() else {
        return JsonFormat::Generic;
    };
    let has = |key: &str| root.contains_key(key);
    let is_str = |key: &str| root.get(key).is_some_and(Value::is_string);
    if root
        .get("Event")
        .and_then(|event| event.get("System"))
        .is_some_and(Value::is_object)
    {
        return JsonFormat::WindowsEvtx;
    }
    if let Some(winlog) = root.get("winlog").and_then(Value::as_object)
        && (winlog.contains_key("event_id") || winlog.contains_key("channel"))
    {
        return JsonFormat::WindowsWinlogbeat;
    }
    if has("EventID") && (is_str("Channel") || is_str("SourceName") || is_str("ProviderName")) {
        return JsonFormat::WindowsFlat;
    }
    // EVE keeps each type's details under a key named like the type
    // (`"event_type":"alert"` with `"alert":{...}`); records about a flow
    // carry `src_ip` or `flow_id`. Either tells EVE from other JSON that
    // happens to have an `event_type`.
    if let Some(event_type) = root.get("event_type").and_then(Value::as_str)
        && (has("src_ip") || has("flow_id") || root.get(event_type).is_some_and(Value::is_object))
    {
        return JsonFormat::SuricataEve;
    }
    // `_path` and `@stream` name a Zeek log; a few logs (loaded_scripts)
    // have no `ts`.
    if is_str("_path") || is_str("@stream") {
        return JsonFormat::Zeek;
    }
    if has("ts") && (has("uid") || has("fuid") || has("id.orig_h") || has("id_orig_h")) {
        return JsonFormat::Zeek;
    }
    JsonFormat::Generic
}

/// Why a record is not of the format the caller declared, naming the field.
fn mismatch(root: Option<&Map<String, Value>>, wanted: JsonFormat) -> String {
    let Some(root) = root else {
        return "the record is not a JSON object".to_string();
    };
    match wanted {
        JsonFormat::SuricataEve if !root.contains_key("event_type") => {
            "no event_type field".to_string()
        }
        JsonFormat::SuricataEve => {
            "event_type is not a string, or no timestamp, src_ip or flow_id".to_string()
        }
        JsonFormat::Zeek => {
            "no _path or @stream field, and no ts with uid, fuid or id.orig_h".to_string()
        }
        _ => "no Event.System object, winlog object, or EventID with Channel or SourceName"
            .to_string(),
    }
}

/// Reads a JSON record whose original is `original` (text and parsed value).
/// A declared non-JSON format (a batch of undeclared lines that turned out to
/// be JSON) checks nothing.
pub(crate) fn normalise_json(
    value: Value,
    mut original: Original,
    hint: &SourceHint,
) -> Result<NormalisedEvent, NormaliseError> {
    let detected = detect_json_format(&value);
    let wanted = match hint.format {
        Format::SuricataEve => Some(JsonFormat::SuricataEve),
        Format::Zeek => Some(JsonFormat::Zeek),
        Format::WindowsJson => Some(JsonFormat::WindowsEvtx),
        _ => None,
    };
    if let Some(wanted) = wanted {
        let matches = match wanted {
            JsonFormat::WindowsEvtx => matches!(
                detected,
                JsonFormat::WindowsEvtx | JsonFormat::WindowsFlat | JsonFormat::WindowsWinlogbeat
            ),
            other => other == detected,
        };
        if !matches {
            return Err(NormaliseError::WrongFormat {
                format: wanted.name(),
                reason: mismatch(value.as_object(), wanted),
            });
        }
    }
    let mut fields = Fields::new();
    let (format, diagnostics) = match (&value, detected) {
        (Value::Object(root), JsonFormat::WindowsEvtx) => (
            SourceFormat::WindowsEvtx,
            normalise_windows(root, WindowsLayout::Evtx, hint, &mut fields),
        ),
        (Value::Object(root), JsonFormat::WindowsFlat) => (
            SourceFormat::WindowsFlat,
            normalise_windows(root, WindowsLayout::Flat, hint, &mut fields),
        ),
        (Value::Object(root), JsonFormat::WindowsWinlogbeat) => (
            SourceFormat::WindowsWinlogbeat,
            normalise_windows(root, WindowsLayout::Winlogbeat, hint, &mut fields),
        ),
        (Value::Object(root), JsonFormat::SuricataEve) => (
            SourceFormat::SuricataEve,
            suricata::normalise_suricata(root, hint, &mut fields),
        ),
        (Value::Object(root), JsonFormat::Zeek) => (
            zeek::key_style(root),
            zeek::normalise_zeek(root, hint, &mut fields),
        ),
        _ => (
            SourceFormat::GenericJson,
            generic_json(&value, hint, &mut fields),
        ),
    };
    original.json = Some(value);
    let mut event = NormalisedEvent::new(format, fields, original);
    for diagnostic in diagnostics {
        event.push_diagnostic(diagnostic);
    }
    Ok(event)
}

/// Keys that commonly hold the event time in JSON of no known format.
const TIME_KEYS: &[&str] = &[
    "@timestamp",
    "timestamp",
    "time",
    "ts",
    "date",
    "datetime",
    "eventTime",
    "EventTime",
    "created_at",
];

/// Generic JSON: the time, message and host where common keys hold them;
/// `event.module` and `event.dataset` from the record when it is already
/// ECS-shaped (as Elastic agents write it), `generic`/`generic.json` otherwise.
fn generic_json(value: &Value, hint: &SourceHint, fields: &mut Fields) -> Vec<String> {
    let mut diagnostics = Vec::new();
    let root = value.as_object();
    let lookup = |path: &str| root.and_then(|r| crate::event::lookup_path(r, path));
    let offset = hint.utc_offset.unwrap_or(time::UtcOffset::UTC);
    let at = TIME_KEYS
        .iter()
        .find_map(|key| lookup(key).and_then(|t| timestamp::parse_json_time(t, offset)));
    match at {
        Some(at) => fields.put_time("@timestamp", at),
        None => {
            if root.is_some() {
                diagnostics.push("no readable time field: the receive time is used".to_string());
            }
            fields.put_time("@timestamp", hint.received_at);
        }
    }
    let module = lookup("event.module").and_then(Value::as_str);
    let dataset = lookup("event.dataset").and_then(Value::as_str);
    match (module, dataset) {
        (Some(module), dataset) => {
            fields.insert("event.module", module.to_string());
            fields.insert(
                "event.dataset",
                dataset.map_or_else(|| module.to_string(), str::to_string),
            );
        }
        (None, Some(dataset)) => {
            let module = dataset.split('.').next().unwrap_or(dataset);
            fields.insert("event.module", module.to_string());
            fields.insert("event.dataset", dataset.to_string());
        }
        (None, None) => {
            fields.insert("event.module", "generic");
            fields.insert("event.dataset", "generic.json");
        }
    }
    fields.insert("event.kind", "event");
    match root {
        Some(_) => {
            let message = ["message", "msg", "log", "MESSAGE"]
                .iter()
                .find_map(|key| lookup(key).and_then(Value::as_str));
            fields.put_str("message", message);
            let host = lookup("host.name")
                .or_else(|| lookup("hostname"))
                .or_else(|| lookup("host"))
                .and_then(Value::as_str);
            fields.put_str("host.name", host);
            for name in ["source.ip", "destination.ip", "client.ip", "server.ip"] {
                fields.put_json_ip(name, lookup(name));
            }
        }
        None => fields.insert("message", value.to_string()),
    }
    diagnostics
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_are_told_apart_by_their_keys() {
        let detect = |value: Value| detect_json_format(&value);
        assert_eq!(
            detect(json!({"Event": {"System": {"EventID": 1}}})),
            JsonFormat::WindowsEvtx
        );
        assert_eq!(
            detect(json!({"winlog": {"event_id": "4624"}})),
            JsonFormat::WindowsWinlogbeat
        );
        assert_eq!(
            detect(json!({"EventID": 1, "SourceName": "Microsoft-Windows-Sysmon"})),
            JsonFormat::WindowsFlat
        );
        assert_eq!(
            detect(json!({"event_type": "stats", "timestamp": "x", "stats": {}})),
            JsonFormat::SuricataEve
        );
        assert_eq!(
            detect(json!({"event_type": "flow", "src_ip": "10.0.0.1"})),
            JsonFormat::SuricataEve
        );
        // Some other product's JSON with an event_type is not EVE.
        assert_eq!(
            detect(
                json!({"event_type": "login", "timestamp": "2024-01-01T00:00:00Z", "user": "a"})
            ),
            JsonFormat::Generic
        );
        assert_eq!(detect(json!({"_path": "conn"})), JsonFormat::Zeek);
        assert_eq!(detect(json!({"ts": 1.0, "uid": "C1"})), JsonFormat::Zeek);
        assert_eq!(detect(json!({"ts": 1.0})), JsonFormat::Generic);
        assert_eq!(detect(json!([1, 2])), JsonFormat::Generic);
    }
}
