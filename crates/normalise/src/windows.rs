//! Windows event-log records, whatever wrote them as JSON.
//!
//! Three layouts are read into the same `winlog.*` fields:
//!
//! - the `evtx` crate's (`{"Event": {"System": {...}, "EventData": {...}}}`),
//!   which is also what `nigehban hunt` reads from `.evtx` files;
//! - flat layouts such as NXLog's `im_msvistalog` (`EventID`, `Channel`,
//!   `Hostname`, `SourceName`, `RecordNumber`, shipper metadata, and the
//!   event data at the top level);
//! - Winlogbeat's (`winlog.event_data`, `winlog.channel`, ...).
//!
//! Event data values are kept as the text Windows wrote: the `evtx` crate
//! renders some typed values as JSON numbers and NXLog writes others as
//! strings, and a detection must not depend on which tool rendered the event.
//! The channel name gets its canonical casing (`security` → `Security`) where
//! it is one Sigma knows.

use std::borrow::Cow;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::SourceHint;
use crate::event::{Fields, json_u64, parse_ip, scalar_text};
use crate::timestamp;

/// Which JSON layout a Windows event came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WindowsLayout {
    Evtx,
    Flat,
    Winlogbeat,
}

/// The System header of any layout, read into one shape.
#[derive(Debug, Default)]
struct System<'a> {
    event_id: Option<u64>,
    channel: Option<&'a str>,
    computer: Option<&'a str>,
    provider_name: Option<&'a str>,
    provider_guid: Option<String>,
    record_id: Option<u64>,
    level: Option<u64>,
    task: Option<u64>,
    opcode: Option<u64>,
    version: Option<u64>,
    keywords: Option<String>,
    process_pid: Option<u64>,
    thread_id: Option<u64>,
    user_sid: Option<&'a str>,
    activity_id: Option<&'a str>,
    time: Option<OffsetDateTime>,
    message: Option<&'a str>,
    task_name: Option<&'a str>,
    opcode_name: Option<&'a str>,
    outcome: Option<&'static str>,
}

/// Whether `key`, at the top level of a flat Windows layout (NXLog's and the
/// like), is the shipper's metadata or the System header rather than event
/// data (`Hostname`, `SourceModuleType`, `EventReceivedTime`, `Message`, ...).
pub fn is_windows_flat_metadata(key: &str) -> bool {
    matches!(
        key,
        "@timestamp"
            | "@version"
            | "AccountName"
            | "AccountType"
            | "ActivityID"
            | "Category"
            | "Channel"
            | "Computer"
            | "Domain"
            | "ERROR_EVT_UNRESOLVED"
            | "EventID"
            | "EventReceivedTime"
            | "EventRecordID"
            | "EventTime"
            | "EventType"
            | "EventTypeOrignal"
            | "EventTypeOriginal"
            | "ExecutionProcessID"
            | "Hostname"
            | "Keywords"
            | "Level"
            | "Message"
            | "Opcode"
            | "OpcodeValue"
            | "ProviderGuid"
            | "RecordNumber"
            | "RelatedActivityID"
            | "Severity"
            | "SeverityValue"
            | "SourceModuleName"
            | "SourceModuleType"
            | "SourceName"
            | "Task"
            | "ThreadID"
            | "TimeCreated"
            | "UserID"
            | "Version"
            | "host"
            | "port"
            | "tags"
    )
}

/// Reads a Windows event into `fields`. Returns diagnostics for what had to
/// be assumed (the time of a zone-less NXLog `EventTime`, for example).
pub(crate) fn normalise_windows(
    root: &Map<String, Value>,
    layout: WindowsLayout,
    hint: &SourceHint,
    fields: &mut Fields,
) -> Vec<String> {
    let mut diagnostics = Vec::new();
    let (system, event_data, user_data) = match layout {
        WindowsLayout::Evtx => read_evtx(root),
        WindowsLayout::Flat => read_flat(root, hint, &mut diagnostics),
        WindowsLayout::Winlogbeat => read_winlogbeat(root, hint),
    };
    let at = system.time.unwrap_or_else(|| {
        diagnostics.push("the event states no time: the receive time is used".to_string());
        hint.received_at
    });
    fields.put_time("@timestamp", at);
    winlog_fields(&system, event_data, user_data, fields);
    diagnostics
}

fn read_evtx(root: &Map<String, Value>) -> (System<'_>, Map<String, Value>, Map<String, Value>) {
    let event = root.get("Event").and_then(Value::as_object);
    let section = |name: &str| event.and_then(|e| e.get(name));
    let Some(sys) = section("System").and_then(Value::as_object) else {
        return (System::default(), Map::new(), Map::new());
    };
    let attribute = |element: &str, name: &str| -> Option<&Value> {
        sys.get(element)?.get("#attributes")?.get(name)
    };
    let number = |name: &str| sys.get(name).map(text_node).and_then(json_u64);
    let mut system = System {
        event_id: number("EventID"),
        channel: sys.get("Channel").map(text_node).and_then(Value::as_str),
        computer: sys.get("Computer").map(text_node).and_then(Value::as_str),
        provider_name: attribute("Provider", "Name").and_then(Value::as_str),
        provider_guid: attribute("Provider", "Guid")
            .and_then(Value::as_str)
            .map(canonical_guid),
        record_id: number("EventRecordID"),
        level: number("Level"),
        task: number("Task"),
        opcode: number("Opcode"),
        version: number("Version"),
        keywords: sys
            .get("Keywords")
            .map(text_node)
            .and_then(windows_keywords_text),
        process_pid: attribute("Execution", "ProcessID").and_then(json_u64),
        thread_id: attribute("Execution", "ThreadID").and_then(json_u64),
        user_sid: attribute("Security", "UserID").and_then(Value::as_str),
        activity_id: attribute("Correlation", "ActivityID").and_then(Value::as_str),
        time: attribute("TimeCreated", "SystemTime")
            .and_then(|t| timestamp::parse_json_time(t, time::UtcOffset::UTC)),
        ..System::default()
    };
    if system.provider_name.is_none() {
        system.provider_name = attribute("Provider", "EventSourceName").and_then(Value::as_str);
    }
    system.outcome = system.keywords.as_deref().and_then(audit_outcome);
    let event_data = section("EventData").map(event_data_map).unwrap_or_default();
    let user_data = section("UserData").map(user_data_map).unwrap_or_default();
    (system, event_data, user_data)
}

fn read_flat<'a>(
    root: &'a Map<String, Value>,
    hint: &SourceHint,
    diagnostics: &mut Vec<String>,
) -> (System<'a>, Map<String, Value>, Map<String, Value>) {
    let str_of = |name: &str| {
        root.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let number = |name: &str| root.get(name).and_then(json_u64);
    let mut system = System {
        event_id: number("EventID"),
        channel: str_of("Channel"),
        computer: str_of("Hostname").or_else(|| str_of("Computer")),
        provider_name: str_of("SourceName").or_else(|| str_of("ProviderName")),
        provider_guid: str_of("ProviderGuid").map(canonical_guid),
        record_id: number("RecordNumber").or_else(|| number("EventRecordID")),
        level: number("Level"),
        task: number("Task"),
        opcode: number("OpcodeValue").or_else(|| number("Opcode")),
        version: number("Version"),
        keywords: root.get("Keywords").and_then(windows_keywords_text),
        process_pid: number("ExecutionProcessID"),
        thread_id: number("ThreadID"),
        user_sid: str_of("UserID"),
        activity_id: str_of("ActivityID"),
        message: str_of("Message"),
        task_name: str_of("Category"),
        opcode_name: str_of("Opcode").filter(|o| o.parse::<u64>().is_err()),
        ..System::default()
    };
    system.outcome = match str_of("EventType") {
        Some("AUDIT_SUCCESS") => Some("success"),
        Some("AUDIT_FAILURE") => Some("failure"),
        _ => system.keywords.as_deref().and_then(audit_outcome),
    };
    system.time = flat_time(root, hint, diagnostics);
    let mut event_data = Map::with_capacity(root.len());
    for (key, value) in root {
        if !is_windows_flat_metadata(key) {
            event_data.insert(key.clone(), named_data_value(key, value));
        }
    }
    (system, event_data, Map::new())
}

/// The time of a flat-layout event. `TimeCreated` (UTC) if present; NXLog's
/// `EventTime` is the collector's local time without a zone, so it is only
/// trusted with a zone or a configured offset, and otherwise the shipper's
/// `@timestamp` (UTC, written on receipt) stands in for it.
fn flat_time(
    root: &Map<String, Value>,
    hint: &SourceHint,
    diagnostics: &mut Vec<String>,
) -> Option<OffsetDateTime> {
    let text = |name: &str| root.get(name).and_then(Value::as_str);
    if let Some(at) = text("TimeCreated")
        .and_then(timestamp::parse_iso8601)
        .map(|t| t.resolve(time::UtcOffset::UTC))
    {
        return Some(at);
    }
    let event_time = text("EventTime").and_then(timestamp::parse_iso8601);
    if let Some(parsed) = event_time {
        if parsed.offset.is_some() {
            return Some(parsed.resolve(time::UtcOffset::UTC));
        }
        if let Some(offset) = hint.utc_offset {
            return Some(parsed.resolve(offset));
        }
    }
    if let Some(at) = root
        .get("@timestamp")
        .and_then(|t| timestamp::parse_json_time(t, time::UtcOffset::UTC))
    {
        if event_time.is_some() {
            diagnostics.push(
                "EventTime has no zone and no offset is configured for this sensor: the shipper's @timestamp is used"
                    .to_string(),
            );
        }
        return Some(at);
    }
    event_time.map(|parsed| {
        diagnostics.push("EventTime has no zone: read as UTC".to_string());
        parsed.resolve(time::UtcOffset::UTC)
    })
}

fn read_winlogbeat<'a>(
    root: &'a Map<String, Value>,
    hint: &SourceHint,
) -> (System<'a>, Map<String, Value>, Map<String, Value>) {
    let Some(winlog) = root.get("winlog").and_then(Value::as_object) else {
        return (System::default(), Map::new(), Map::new());
    };
    let path = |path: &str| crate::event::lookup_path(winlog, path);
    let str_at = |p: &str| path(p).and_then(Value::as_str).filter(|s| !s.is_empty());
    let mut system = System {
        event_id: path("event_id").and_then(json_u64),
        channel: str_at("channel"),
        computer: str_at("computer_name"),
        provider_name: str_at("provider_name"),
        provider_guid: str_at("provider_guid").map(canonical_guid),
        record_id: path("record_id").and_then(json_u64),
        version: path("version").and_then(json_u64),
        process_pid: path("process.pid").and_then(json_u64),
        thread_id: path("process.thread.id").and_then(json_u64),
        user_sid: str_at("user.identifier"),
        activity_id: str_at("activity_id"),
        task_name: str_at("task"),
        opcode_name: str_at("opcode"),
        message: root.get("message").and_then(Value::as_str),
        time: root.get("@timestamp").and_then(|t| {
            timestamp::parse_json_time(t, hint.utc_offset.unwrap_or(time::UtcOffset::UTC))
        }),
        ..System::default()
    };
    if let Some(Value::Array(words)) = path("keywords") {
        if words.iter().any(|w| w.as_str() == Some("Audit Success")) {
            system.outcome = Some("success");
        } else if words.iter().any(|w| w.as_str() == Some("Audit Failure")) {
            system.outcome = Some("failure");
        }
    }
    let event_data = path("event_data").map(event_data_map).unwrap_or_default();
    let user_data = path("user_data").map(event_data_map).unwrap_or_default();
    (system, event_data, user_data)
}

/// An element that the `evtx` crate rendered with attributes keeps its
/// content under `#text`.
fn text_node(value: &Value) -> &Value {
    match value {
        Value::Object(map) => map.get("#text").unwrap_or(value),
        _ => value,
    }
}

/// An event-data value as the text Windows wrote (see the module docs).
fn data_value(value: &Value) -> Value {
    match value {
        Value::Null | Value::String(_) => value.clone(),
        Value::Number(_) | Value::Bool(_) => {
            Value::String(scalar_text(value).map(Cow::into_owned).unwrap_or_default())
        }
        Value::Array(items) => Value::Array(items.iter().map(data_value).collect()),
        Value::Object(map) => match map.get("#text") {
            Some(text) => data_value(text),
            None => value.clone(),
        },
    }
}

/// A named event-data field's value: as [`data_value`], and GUID-typed fields
/// (whose names end in `Guid`, as Sysmon's and the Security log's do) written
/// `{UPPERCASE}` as event XML shows them, since the `evtx` crate drops the
/// braces and NXLog writes some in lower case. Other text that merely looks
/// like a GUID (a registry value, say) is left as it is.
fn named_data_value(name: &str, value: &Value) -> Value {
    match value {
        Value::String(text) if is_guid_field(name) && is_guid(text) => {
            Value::String(canonical_guid(text))
        }
        _ => data_value(value),
    }
}

/// `EventData` as name → text. Unnamed `<Data>` elements (which the `evtx`
/// crate renders under the key `Data`) stay under `Data`, as Sigma rules
/// address them.
fn event_data_map(section: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Value::Object(map) = section {
        for (key, value) in map {
            if key == "#attributes" {
                continue;
            }
            out.insert(key.clone(), named_data_value(key, value));
        }
    }
    out
}

/// `UserData` holds one element named after the event's template, whose
/// children are the fields; nested elements contribute their children by
/// their own names (first one wins).
fn user_data_map(section: &Value) -> Map<String, Value> {
    fn collect(map: &Map<String, Value>, out: &mut Map<String, Value>) {
        for (key, value) in map {
            if key.starts_with('#') {
                continue;
            }
            match value {
                Value::Object(inner) if !inner.contains_key("#text") => collect(inner, out),
                _ => {
                    if !out.contains_key(key) {
                        out.insert(key.clone(), named_data_value(key, value));
                    }
                }
            }
        }
    }
    let mut out = Map::new();
    if let Value::Object(map) = section {
        collect(map, &mut out);
    }
    out
}

/// Keywords as the `evtx` crate writes them: `0x8020000000000000`. NXLog
/// writes the same 64 bits as a signed decimal number.
pub fn windows_keywords_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => match text.trim().parse::<i64>() {
            Ok(signed) => Some(format!("0x{:x}", signed.cast_unsigned())),
            Err(_) => Some(text.trim().to_ascii_lowercase()),
        },
        Value::Number(number) => number
            .as_i64()
            .map(i64::cast_unsigned)
            .or_else(|| number.as_u64())
            .map(|bits| format!("0x{bits:x}")),
        _ => None,
    }
}

/// Audit success and failure are keyword bits 53 and 52.
fn audit_outcome(keywords: &str) -> Option<&'static str> {
    let bits = u64::from_str_radix(keywords.trim_start_matches("0x"), 16).ok()?;
    if bits & 0x0020_0000_0000_0000 != 0 {
        Some("success")
    } else if bits & 0x0010_0000_0000_0000 != 0 {
        Some("failure")
    } else {
        None
    }
}

/// Whether an event-data field named `name` holds a GUID by its type: its
/// name ends in `Guid` (any case), as Sysmon's and the Security log's do.
pub fn is_guid_field(name: &str) -> bool {
    name.len() >= 4 && name.as_bytes()[name.len() - 4..].eq_ignore_ascii_case(b"guid")
}

/// Whether `text` is a GUID, with or without braces.
pub fn is_guid(text: &str) -> bool {
    let inner = match text.strip_prefix('{') {
        Some(rest) => match rest.strip_suffix('}') {
            Some(inner) => inner,
            None => return false,
        },
        None => text,
    };
    let b = inner.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A GUID as the event XML writes it: `{5770385F-C22A-43E0-BF4C-06F5698FFBD9}`.
fn canonical_guid(text: &str) -> String {
    let inner = text.trim().trim_start_matches('{').trim_end_matches('}');
    format!("{{{}}}", inner.to_ascii_uppercase())
}

/// `text`, when it is a GUID ([`is_guid`]), as the event XML writes it
/// (`{5770385F-C22A-43E0-BF4C-06F5698FFBD9}`), written into `buffer`: no
/// allocation, for callers that look at every event (detection).
pub fn canonical_guid_in<'b>(text: &str, buffer: &'b mut [u8; 38]) -> Option<&'b str> {
    if !is_guid(text) {
        return None;
    }
    let inner = text
        .trim_start_matches('{')
        .trim_end_matches('}')
        .as_bytes();
    buffer[0] = b'{';
    for (slot, byte) in buffer[1..37].iter_mut().zip(inner) {
        *slot = byte.to_ascii_uppercase();
    }
    buffer[37] = b'}';
    std::str::from_utf8(&buffer[..]).ok()
}

/// Channel names as Windows and Sigma write them, for canonical casing.
const CHANNELS: &[&str] = &[
    "Application",
    "DNS Server",
    "Directory Service",
    "ForwardedEvents",
    "HardwareEvents",
    "Internet Explorer",
    "Key Management Service",
    "MSExchange Management",
    "Microsoft-IIS-Configuration/Operational",
    "Microsoft-ServiceBus-Client/Admin",
    "Microsoft-ServiceBus-Client/Operational",
    "Microsoft-Windows-AppLocker/EXE and DLL",
    "Microsoft-Windows-AppLocker/MSI and Script",
    "Microsoft-Windows-AppLocker/Packaged app-Deployment",
    "Microsoft-Windows-AppLocker/Packaged app-Execution",
    "Microsoft-Windows-AppModel-Runtime/Admin",
    "Microsoft-Windows-AppXDeploymentServer/Operational",
    "Microsoft-Windows-Application-Experience/Program-Compatibility-Assistant",
    "Microsoft-Windows-Application-Experience/Program-Telemetry",
    "Microsoft-Windows-AppxPackaging/Operational",
    "Microsoft-Windows-BitLocker/BitLocker Management",
    "Microsoft-Windows-Bits-Client/Operational",
    "Microsoft-Windows-CAPI2/Operational",
    "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational",
    "Microsoft-Windows-CodeIntegrity/Operational",
    "Microsoft-Windows-DHCP-Server/Operational",
    "Microsoft-Windows-DNS Client Events/Operational",
    "Microsoft-Windows-DNSServer/Analytical",
    "Microsoft-Windows-Diagnosis-Scripted/Operational",
    "Microsoft-Windows-DriverFrameworks-UserMode/Operational",
    "Microsoft-Windows-GroupPolicy/Operational",
    "Microsoft-Windows-Hyper-V-Worker",
    "Microsoft-Windows-Kernel-EventTracing",
    "Microsoft-Windows-Kernel-File/Analytic",
    "Microsoft-Windows-Kernel-ShimEngine/Diagnostic",
    "Microsoft-Windows-Kernel-ShimEngine/Operational",
    "Microsoft-Windows-LDAP-Client/Debug",
    "Microsoft-Windows-LSA/Operational",
    "Microsoft-Windows-NTLM/Operational",
    "Microsoft-Windows-Ntfs/Operational",
    "Microsoft-Windows-PowerShell/Operational",
    "Microsoft-Windows-PrintService/Admin",
    "Microsoft-Windows-PrintService/Operational",
    "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational",
    "Microsoft-Windows-SENSE/Operational",
    "Microsoft-Windows-SMBServer/Connectivity",
    "Microsoft-Windows-Security-Mitigations/Kernel Mode",
    "Microsoft-Windows-Security-Mitigations/User Mode",
    "Microsoft-Windows-Shell-Core/Operational",
    "Microsoft-Windows-SmbClient/Connectivity",
    "Microsoft-Windows-SmbClient/Security",
    "Microsoft-Windows-Sysmon/Operational",
    "Microsoft-Windows-TaskScheduler/Operational",
    "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
    "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational",
    "Microsoft-Windows-VHDMP/Operational",
    "Microsoft-Windows-WMI-Activity/Operational",
    "Microsoft-Windows-WinRM/Operational",
    "Microsoft-Windows-Windows Defender/Operational",
    "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",
    "OpenSSH/Operational",
    "PowerShellCore/Operational",
    "Security",
    "Setup",
    "System",
    "Windows PowerShell",
];

/// The channel name in its canonical casing when it is a known channel,
/// otherwise as written (channel names are compared without case anyway).
pub fn canonical_channel(channel: &str) -> Cow<'_, str> {
    let channel = channel.trim();
    match CHANNELS
        .iter()
        .find(|known| known.eq_ignore_ascii_case(channel))
    {
        Some(known) => Cow::Borrowed(known),
        None => Cow::Borrowed(channel),
    }
}

/// `event.dataset` for a channel: `windows.` and the channel in lower case,
/// without a `Microsoft-Windows-` prefix, with runs of other characters as
/// `_` (`Microsoft-Windows-Sysmon/Operational` → `windows.sysmon_operational`,
/// `Security` → `windows.security`); `Windows PowerShell` is `windows.powershell`.
pub fn windows_dataset(channel: Option<&str>) -> String {
    let Some(channel) = channel.filter(|c| !c.trim().is_empty()) else {
        return "windows.unknown".to_string();
    };
    let canonical = canonical_channel(channel);
    if canonical == "Windows PowerShell" {
        return "windows.powershell".to_string();
    }
    let lower = canonical.to_ascii_lowercase();
    let name = lower.strip_prefix("microsoft-windows-").unwrap_or(&lower);
    let mut out = String::from("windows.");
    let mut pending_separator = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_separator && !out.ends_with('.') {
                out.push('_');
            }
            pending_separator = false;
            out.push(c);
        } else {
            pending_separator = true;
        }
    }
    out
}

/// ECS categorisation of well-known events: (channel, event id) →
/// (categories, types).
fn categorisation(
    channel: &str,
    event_id: u64,
) -> Option<(&'static [&'static str], &'static [&'static str])> {
    let entry: (&[&str], &[&str]) = match (channel, event_id) {
        ("Microsoft-Windows-Sysmon/Operational", id) => match id {
            1 => (&["process"], &["start"]),
            2 => (&["file"], &["change"]),
            3 => (&["network"], &["connection", "start"]),
            5 => (&["process"], &["end"]),
            6 => (&["driver"], &["start"]),
            7 => (&["library"], &["start"]),
            8 | 10 => (&["process"], &["access"]),
            11 | 15 => (&["file"], &["creation"]),
            12..=14 => (&["registry"], &["change"]),
            22 => (&["network"], &["protocol"]),
            23 | 26 => (&["file"], &["deletion"]),
            _ => return None,
        },
        ("Security", id) => match id {
            4624 | 4625 | 4648 => (&["authentication"], &["start"]),
            4634 | 4647 => (&["authentication"], &["end"]),
            4688 => (&["process"], &["start"]),
            4689 => (&["process"], &["end"]),
            4720 => (&["iam"], &["user", "creation"]),
            4722 | 4723 | 4724 | 4738 => (&["iam"], &["user", "change"]),
            4726 => (&["iam"], &["user", "deletion"]),
            4728 | 4732 | 4756 => (&["iam"], &["group", "change"]),
            4663 => (&["file"], &["access"]),
            4657 => (&["registry"], &["change"]),
            4698 => (&["configuration"], &["creation"]),
            4697 => (&["configuration"], &["installation"]),
            5156 => (&["network"], &["connection", "allowed"]),
            5157 => (&["network"], &["connection", "denied"]),
            _ => return None,
        },
        ("System", 7045) => (&["configuration"], &["installation"]),
        _ => return None,
    };
    Some(entry)
}

/// Sets `winlog.*`, `host.*`, `event.*` and the ECS fields that common
/// Sysmon and Security event data stand for.
fn winlog_fields(
    system: &System<'_>,
    event_data: Map<String, Value>,
    user_data: Map<String, Value>,
    fields: &mut Fields,
) {
    let channel = system.channel.map(canonical_channel);
    fields.insert("event.module", "windows");
    fields.insert("event.dataset", windows_dataset(channel.as_deref()));
    fields.insert("host.os.type", "windows");
    fields.insert("host.os.family", "windows");
    if let Some(channel) = &channel {
        fields.insert("winlog.channel", channel.to_string());
    }
    if let Some(id) = system.event_id {
        fields.put_u64("winlog.event_id", id);
        fields.insert("event.code", id.to_string());
    }
    fields.put_str("winlog.computer_name", system.computer);
    fields.put_str("host.name", system.computer);
    fields.put_str("winlog.provider_name", system.provider_name);
    fields.put_str("event.provider", system.provider_name);
    fields.put_str("winlog.provider_guid", system.provider_guid.as_deref());
    for (name, value) in [
        ("winlog.record_id", system.record_id),
        ("winlog.level", system.level),
        ("winlog.task", system.task),
        ("winlog.opcode", system.opcode),
        ("winlog.version", system.version),
        ("winlog.process.pid", system.process_pid),
        ("winlog.process.thread.id", system.thread_id),
    ] {
        if let Some(value) = value {
            fields.put_u64(name, value);
        }
    }
    fields.put_str("winlog.keywords", system.keywords.as_deref());
    fields.put_str("winlog.user.identifier", system.user_sid);
    fields.put_str(
        "winlog.activity_id",
        system.activity_id.map(canonical_guid).as_deref(),
    );
    fields.put_str("winlog.task_name", system.task_name);
    fields.put_str("winlog.opcode_name", system.opcode_name);
    fields.put_str("message", system.message);
    fields.put_str("event.outcome", system.outcome);
    if let (Some(channel), Some(id)) = (&channel, system.event_id) {
        match categorisation(channel, id) {
            Some((categories, types)) => fields.categorise("event", categories, types),
            None => fields.insert("event.kind", "event"),
        }
    } else {
        fields.insert("event.kind", "event");
    }
    data_to_ecs(&event_data, system, fields);
    if !event_data.is_empty() {
        fields.insert("winlog.event_data", Value::Object(event_data));
    }
    if !user_data.is_empty() {
        fields.insert("winlog.user_data", Value::Object(user_data));
    }
}

/// A process id as event data writes it: decimal (Sysmon) or `0x` hex (Security).
fn process_id(value: &str) -> Option<u64> {
    let value = value.trim();
    match value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => value.parse().ok(),
    }
}

/// The file name at the end of a Windows or Unix path.
pub(crate) fn base_name(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

fn data_to_ecs(data: &Map<String, Value>, system: &System<'_>, fields: &mut Fields) {
    let get = |names: &[&str]| -> Option<&str> {
        names
            .iter()
            .find_map(|name| data.get(*name).and_then(Value::as_str))
            .filter(|v| !v.is_empty() && *v != "-")
    };
    if let Some(executable) = get(&["Image", "NewProcessName"]).or_else(|| {
        // Security events name the acting process ProcessName.
        get(&["ProcessName"])
    }) {
        fields.put_str("process.executable", Some(executable));
        fields.put_str("process.name", Some(base_name(executable)));
    }
    fields.put_str("process.command_line", get(&["CommandLine"]));
    fields.put_str("process.entity_id", get(&["ProcessGuid"]));
    // Security 4688 names the new process NewProcessId and its creator
    // ProcessId; elsewhere ProcessId is the process the event is about.
    let new_process = get(&["NewProcessId"]).and_then(process_id);
    let acting = get(&["ProcessId"]).and_then(process_id);
    match new_process {
        Some(pid) => {
            fields.put_u64("process.pid", pid);
            if let Some(parent) = acting {
                fields.put_u64("process.parent.pid", parent);
            }
        }
        None => {
            if let Some(pid) = acting {
                fields.put_u64("process.pid", pid);
            }
        }
    }
    if let Some(parent) = get(&["ParentImage", "ParentProcessName"]) {
        fields.put_str("process.parent.executable", Some(parent));
        fields.put_str("process.parent.name", Some(base_name(parent)));
    }
    fields.put_str("process.parent.command_line", get(&["ParentCommandLine"]));
    if let Some(pid) = get(&["ParentProcessId"]).and_then(process_id) {
        fields.put_u64("process.parent.pid", pid);
    }
    if let Some(hashes) = get(&["Hashes"]) {
        for pair in hashes.split(',') {
            let Some((algorithm, value)) = pair.split_once('=') else {
                continue;
            };
            let name = match algorithm.trim().to_ascii_uppercase().as_str() {
                "MD5" => "process.hash.md5",
                "SHA1" => "process.hash.sha1",
                "SHA256" => "process.hash.sha256",
                _ => continue,
            };
            fields.put_str(name, Some(&value.trim().to_ascii_lowercase()));
        }
    }
    // The account the event is about: the target of logon events, otherwise
    // the subject; Sysmon writes DOMAIN\user.
    let logon = matches!(
        system.event_id,
        Some(4624 | 4625 | 4634 | 4647 | 4648 | 4768 | 4769 | 4771 | 4776)
    );
    let (user, domain, sid) = if logon && get(&["TargetUserName"]).is_some() {
        (
            get(&["TargetUserName"]),
            get(&["TargetDomainName"]),
            get(&["TargetUserSid"]),
        )
    } else if get(&["SubjectUserName"]).is_some() {
        (
            get(&["SubjectUserName"]),
            get(&["SubjectDomainName"]),
            get(&["SubjectUserSid"]),
        )
    } else if let Some(qualified) = get(&["User"]) {
        match qualified.split_once('\\') {
            Some((domain, user)) => (Some(user), Some(domain), None),
            None => (Some(qualified), None, None),
        }
    } else {
        (None, None, None)
    };
    fields.put_str("user.name", user);
    fields.put_str("user.domain", domain);
    fields.put_str("user.id", sid.or(system.user_sid));
    for (ip_field, port_field, ip_names, port_names) in [
        (
            "source.ip",
            "source.port",
            &["SourceIp", "IpAddress", "SourceAddress"][..],
            &["SourcePort", "IpPort"][..],
        ),
        (
            "destination.ip",
            "destination.port",
            &["DestinationIp", "DestAddress"][..],
            &["DestinationPort", "DestPort"][..],
        ),
    ] {
        if let Some(ip) = get(ip_names).and_then(parse_ip) {
            fields.insert(ip_field, ip.to_string());
            if let Some(port) = get(port_names).and_then(|p| p.parse::<u16>().ok()) {
                fields.put_u64(port_field, u64::from(port));
            }
        }
    }
    fields.put_str("source.domain", get(&["SourceHostname", "WorkstationName"]));
    fields.put_str("destination.domain", get(&["DestinationHostname"]));
    if let Some(protocol) = get(&["Protocol"]).filter(|p| p.parse::<u32>().is_err()) {
        fields.insert("network.transport", protocol.to_ascii_lowercase());
    }
    fields.put_str("file.path", get(&["TargetFilename"]));
    if let Some(path) = get(&["TargetFilename"]) {
        fields.put_str("file.name", Some(base_name(path)));
    }
    fields.put_str("registry.path", get(&["TargetObject"]));
    fields.put_str("dns.question.name", get(&["QueryName"]));
    if let Some(logon_type) = get(&["LogonType"]).and_then(|t| t.parse::<u64>().ok()) {
        fields.put_u64("winlog.logon.type", logon_type);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_get_their_canonical_casing() {
        assert_eq!(canonical_channel("security"), "Security");
        assert_eq!(
            canonical_channel("microsoft-windows-sysmon/operational"),
            "Microsoft-Windows-Sysmon/Operational"
        );
        assert_eq!(canonical_channel("My-Own/Channel"), "My-Own/Channel");
    }

    #[test]
    fn datasets_from_channels() {
        assert_eq!(windows_dataset(Some("security")), "windows.security");
        assert_eq!(
            windows_dataset(Some("Microsoft-Windows-Sysmon/Operational")),
            "windows.sysmon_operational"
        );
        assert_eq!(
            windows_dataset(Some("Windows PowerShell")),
            "windows.powershell"
        );
        assert_eq!(
            windows_dataset(Some("Microsoft-Windows-PowerShell/Operational")),
            "windows.powershell_operational"
        );
        assert_eq!(
            windows_dataset(Some("Microsoft-Windows-Windows Defender/Operational")),
            "windows.windows_defender_operational"
        );
        assert_eq!(windows_dataset(None), "windows.unknown");
    }

    #[test]
    fn keywords_from_either_writer() {
        assert_eq!(
            windows_keywords_text(&serde_json::json!(-9_223_372_036_854_775_808_i64)).as_deref(),
            Some("0x8000000000000000")
        );
        assert_eq!(
            windows_keywords_text(&serde_json::json!("0x8020000000000000")).as_deref(),
            Some("0x8020000000000000")
        );
        assert_eq!(audit_outcome("0x8020000000000000"), Some("success"));
        assert_eq!(audit_outcome("0x8010000000000000"), Some("failure"));
        assert_eq!(audit_outcome("0x8000000000000000"), None);
    }

    #[test]
    fn guids_and_pids() {
        assert_eq!(
            canonical_guid("{54849625-5478-4994-a5ba-3e3b0328c30d}"),
            "{54849625-5478-4994-A5BA-3E3B0328C30D}"
        );
        assert_eq!(canonical_guid("5770385F-C22A"), "{5770385F-C22A}");
        assert!(is_guid("0197231E-005A-6928-A50B-000000000D00"));
        assert!(is_guid("{49a15388-b7b9-5f2b-8504-000000000400}"));
        assert!(!is_guid("{49a15388-b7b9-5f2b-8504-000000000400"));
        assert!(!is_guid("not-a-guid"));
        let mut buffer = [0u8; 38];
        assert_eq!(
            canonical_guid_in("49a15388-b7b9-5f2b-8504-000000000400", &mut buffer),
            Some("{49A15388-B7B9-5F2B-8504-000000000400}")
        );
        assert_eq!(
            canonical_guid_in("{49A15388-B7B9-5F2B-8504-000000000400}", &mut buffer),
            Some("{49A15388-B7B9-5F2B-8504-000000000400}")
        );
        assert_eq!(canonical_guid_in("5770385F-C22A", &mut buffer), None);
        assert!(is_guid_field("ProcessGuid") && is_guid_field("SubcategoryGUID"));
        assert!(!is_guid_field("Guide") && !is_guid_field("uid"));
        assert_eq!(
            named_data_value(
                "ProcessGuid",
                &serde_json::json!("49a15388-b7b9-5f2b-8504-000000000400")
            ),
            serde_json::json!("{49A15388-B7B9-5F2B-8504-000000000400}")
        );
        // A registry value that looks like a GUID is data, kept as written.
        assert_eq!(
            named_data_value(
                "Details",
                &serde_json::json!("f24ba4cb-c5d9-441f-a349-07efda5ad05e")
            ),
            serde_json::json!("f24ba4cb-c5d9-441f-a349-07efda5ad05e")
        );
        assert_eq!(process_id("0x580"), Some(1408));
        assert_eq!(process_id("4460"), Some(4460));
        assert_eq!(base_name(r"C:\Windows\System32\cmd.exe"), "cmd.exe");
    }
}
