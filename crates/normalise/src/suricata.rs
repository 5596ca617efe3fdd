//! Suricata EVE JSON records.
//!
//! Every `event_type` is accepted (`event.dataset` is `suricata.<event_type>`);
//! alert, dns, http, tls, flow and fileinfo records also get their ECS fields.
//! DNS is read in all of EVE's layouts: version 1 (one record per answer,
//! `rrname`/`rrtype`/`rdata` flat in `dns`), version 2 (`answers` list and/or
//! `grouped` map) and version 3 (`queries` list). Null values, which some
//! Suricata builds write for absent fields, are treated as absent.

use serde_json::{Map, Value, json};

use crate::SourceHint;
use crate::event::{Fields, json_u64, parse_ip};
use crate::timestamp;

/// Reads an EVE record into `fields`; returns diagnostics.
pub(crate) fn normalise_suricata(
    root: &Map<String, Value>,
    hint: &SourceHint,
    fields: &mut Fields,
) -> Vec<String> {
    let mut diagnostics = Vec::new();
    let event_type = root
        .get("event_type")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let at = root.get("timestamp").and_then(|t| {
        timestamp::parse_json_time(t, hint.utc_offset.unwrap_or(time::UtcOffset::UTC))
    });
    match at {
        Some(at) => fields.put_time("@timestamp", at),
        None => {
            diagnostics.push("no readable timestamp: the receive time is used".to_string());
            fields.put_time("@timestamp", hint.received_at);
        }
    }
    fields.insert("event.module", "suricata");
    fields.insert(
        "event.dataset",
        format!("suricata.{}", dataset_part(event_type)),
    );
    fields.insert("observer.vendor", "OISF");
    fields.insert("observer.product", "Suricata");
    fields.insert("observer.type", "ids");
    fields.put_json("observer.hostname", root.get("host"));
    fields.put_json("observer.ingress.interface.name", root.get("in_iface"));
    fields.put_json_ip("source.ip", root.get("src_ip"));
    fields.put_json_port("source.port", root.get("src_port"));
    fields.put_json_ip("destination.ip", root.get("dest_ip"));
    fields.put_json_port("destination.port", root.get("dest_port"));
    if let Some(proto) = root.get("proto").and_then(Value::as_str) {
        fields.insert("network.transport", proto.to_ascii_lowercase());
    }
    if let Some(app) = root.get("app_proto").and_then(Value::as_str)
        && !matches!(app, "failed" | "unknown")
    {
        fields.insert("network.protocol", app.to_ascii_lowercase());
    }
    fields.put_json("network.community_id", root.get("community_id"));
    match root.get("vlan") {
        Some(Value::Array(ids)) => fields.put_json("network.vlan.id", ids.first()),
        other => fields.put_json("network.vlan.id", other),
    }
    let section = |name: &str| root.get(name).and_then(Value::as_object);
    match event_type {
        "alert" => alert(section("alert"), fields),
        "drop" => fields.categorise("event", &["network"], &["denied"]),
        "anomaly" => fields.categorise("event", &["network"], &["info"]),
        "dns" => fields.categorise("event", &["network"], &["protocol"]),
        "http" | "tls" | "ssh" | "smtp" | "ftp" | "smb" | "krb5" | "dhcp" | "rdp" => {
            fields.categorise("event", &["network"], &["protocol"]);
        }
        "flow" | "netflow" => fields.categorise("event", &["network"], &["connection", "end"]),
        "fileinfo" => fields.categorise("event", &["file", "network"], &["info"]),
        "stats" => fields.insert("event.kind", "metric"),
        _ => fields.insert("event.kind", "event"),
    }
    if let Some(dns) = section("dns") {
        dns_fields(dns, fields);
    }
    if let Some(http) = section("http") {
        http_fields(http, fields);
    }
    if let Some(tls) = section("tls") {
        tls_fields(tls, fields);
    }
    if let Some(flow) = section("flow") {
        flow_fields(flow, hint, fields);
    }
    if let Some(file) = section("fileinfo") {
        file_fields(file, fields);
    }
    diagnostics
}

/// `event_type` as a dataset name part: lower case letters, digits and `_`.
fn dataset_part(event_type: &str) -> String {
    let part: String = event_type
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if part.is_empty() {
        "unknown".to_string()
    } else {
        part
    }
}

fn alert(alert: Option<&Map<String, Value>>, fields: &mut Fields) {
    fields.insert("event.kind", "alert");
    fields.push_unique("event.category", "intrusion_detection");
    fields.push_unique("event.category", "network");
    let Some(alert) = alert else {
        return;
    };
    let action = alert.get("action").and_then(Value::as_str);
    fields.push_unique(
        "event.type",
        match action {
            Some("blocked" | "drop" | "rejected") => "denied",
            _ => "allowed",
        },
    );
    fields.put_str("event.action", action);
    fields.put_json_as_str("rule.id", alert.get("signature_id"));
    fields.put_json("rule.name", alert.get("signature"));
    fields.put_json("rule.category", alert.get("category"));
    fields.put_json_as_str("rule.version", alert.get("rev"));
    fields.put_json_as_str("rule.ruleset", alert.get("gid"));
    fields.put_json_u64("event.severity", alert.get("severity"));
    fields.put_json("message", alert.get("signature"));
}

fn dns_fields(dns: &Map<String, Value>, fields: &mut Fields) {
    let str_of = |name: &str| dns.get(name).and_then(Value::as_str);
    fields.put_str(
        "dns.type",
        str_of("type").map(|t| match t {
            "request" => "query",
            "response" => "answer",
            other => other,
        }),
    );
    fields.put_json_u64("dns.id", dns.get("id"));
    fields.put_str("dns.response_code", str_of("rcode"));
    // Version 3 lists the questions; versions 1 and 2 write the one question flat.
    let question = dns
        .get("queries")
        .and_then(Value::as_array)
        .and_then(|q| q.first())
        .and_then(Value::as_object)
        .unwrap_or(dns);
    fields.put_json("dns.question.name", question.get("rrname"));
    fields.put_json("dns.question.type", question.get("rrtype"));
    let mut flags = Vec::new();
    for (key, flag) in [
        ("aa", "AA"),
        ("tc", "TC"),
        ("rd", "RD"),
        ("ra", "RA"),
        ("z", "Z"),
    ] {
        if dns.get(key) == Some(&Value::Bool(true)) {
            flags.push(Value::String(flag.to_string()));
        }
    }
    if !flags.is_empty() {
        fields.insert("dns.header_flags", Value::Array(flags));
    }
    let mut answers = Vec::new();
    let answer = |record: &Map<String, Value>| -> Value {
        let mut out = Map::new();
        for (from, to) in [
            ("rrname", "name"),
            ("rrtype", "type"),
            ("ttl", "ttl"),
            ("rdata", "data"),
        ] {
            if let Some(value) = record.get(from).filter(|v| !v.is_null()) {
                out.insert(to.to_string(), value.clone());
            }
        }
        Value::Object(out)
    };
    if let Some(list) = dns.get("answers").and_then(Value::as_array) {
        answers.extend(list.iter().filter_map(Value::as_object).map(answer));
    } else if let Some(grouped) = dns.get("grouped").and_then(Value::as_object) {
        for (rrtype, data) in grouped {
            for item in data.as_array().into_iter().flatten() {
                if let Some(text) = item.as_str() {
                    answers.push(json!({"type": rrtype, "data": text}));
                }
            }
        }
    } else if str_of("type") == Some("answer") && dns.contains_key("rdata") {
        // Version 1 writes one answer record per EVE line.
        answers.push(answer(dns));
    }
    let resolved: Vec<Value> = answers
        .iter()
        .filter_map(|a| a.get("data").and_then(Value::as_str))
        .filter_map(parse_ip)
        .map(|ip| Value::String(ip.to_string()))
        .collect();
    if !answers.is_empty() {
        fields.insert("dns.answers", Value::Array(answers));
    }
    if !resolved.is_empty() {
        fields.insert("dns.resolved_ip", Value::Array(resolved));
    }
}

fn http_fields(http: &Map<String, Value>, fields: &mut Fields) {
    let str_of = |name: &str| http.get(name).and_then(Value::as_str);
    fields.put_str("url.domain", str_of("hostname"));
    if let Some(url) = str_of("url") {
        fields.put_str("url.original", Some(url));
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        fields.put_str("url.path", Some(path));
        fields.put_str("url.query", Some(query));
    }
    fields.put_str("http.request.method", str_of("http_method"));
    fields.put_json_u64("http.response.status_code", http.get("status"));
    fields.put_str(
        "http.version",
        str_of("protocol").map(|p| p.strip_prefix("HTTP/").unwrap_or(p)),
    );
    fields.put_str("user_agent.original", str_of("http_user_agent"));
    fields.put_str("http.request.referrer", str_of("http_refer"));
    fields.put_str("http.response.mime_type", str_of("http_content_type"));
    fields.put_json_u64("http.response.body.bytes", http.get("length"));
}

fn tls_fields(tls: &Map<String, Value>, fields: &mut Fields) {
    let str_of = |name: &str| tls.get(name).and_then(Value::as_str);
    if let Some(version) = str_of("version") {
        match version.split_once(' ') {
            Some((protocol, number)) => {
                fields.insert("tls.version_protocol", protocol.to_ascii_lowercase());
                fields.insert("tls.version", number.to_string());
            }
            None => fields.insert("tls.version", version.to_string()),
        }
    }
    fields.put_str("tls.client.server_name", str_of("sni"));
    fields.put_str("tls.server.subject", str_of("subject"));
    fields.put_str("tls.server.issuer", str_of("issuerdn"));
    fields.put_str("tls.server.x509.serial_number", str_of("serial"));
    if let Some(fingerprint) = str_of("fingerprint") {
        fields.insert(
            "tls.server.hash.sha1",
            fingerprint.replace(':', "").to_ascii_uppercase(),
        );
    }
    for (name, key) in [
        ("tls.server.not_before", "notbefore"),
        ("tls.server.not_after", "notafter"),
    ] {
        if let Some(at) = tls
            .get(key)
            .and_then(|t| timestamp::parse_json_time(t, time::UtcOffset::UTC))
        {
            fields.put_time(name, at);
        }
    }
    let hash = |name: &str| tls.get(name)?.get("hash")?.as_str();
    fields.put_str("tls.client.ja3", hash("ja3"));
    fields.put_str("tls.server.ja3s", hash("ja3s"));
}

fn flow_fields(flow: &Map<String, Value>, hint: &SourceHint, fields: &mut Fields) {
    fields.put_json_u64("source.packets", flow.get("pkts_toserver"));
    fields.put_json_u64("source.bytes", flow.get("bytes_toserver"));
    fields.put_json_u64("destination.packets", flow.get("pkts_toclient"));
    fields.put_json_u64("destination.bytes", flow.get("bytes_toclient"));
    let sum =
        |a: &str, b: &str| Some(flow.get(a).and_then(json_u64)? + flow.get(b).and_then(json_u64)?);
    if let Some(packets) = sum("pkts_toserver", "pkts_toclient") {
        fields.put_u64("network.packets", packets);
    }
    if let Some(bytes) = sum("bytes_toserver", "bytes_toclient") {
        fields.put_u64("network.bytes", bytes);
    }
    let offset = hint.utc_offset.unwrap_or(time::UtcOffset::UTC);
    let start = flow
        .get("start")
        .and_then(|t| timestamp::parse_json_time(t, offset));
    let end = flow
        .get("end")
        .and_then(|t| timestamp::parse_json_time(t, offset));
    if let Some(start) = start {
        fields.put_time("event.start", start);
    }
    if let Some(end) = end {
        fields.put_time("event.end", end);
    }
    if let (Some(start), Some(end)) = (start, end)
        && let Ok(nanos) = u64::try_from((end - start).whole_nanoseconds())
    {
        fields.put_u64("event.duration", nanos);
    }
}

fn file_fields(file: &Map<String, Value>, fields: &mut Fields) {
    if let Some(path) = file.get("filename").and_then(Value::as_str) {
        fields.put_str("file.path", Some(path));
        fields.put_str("file.name", Some(crate::windows::base_name(path)));
    }
    fields.put_json_u64("file.size", file.get("size"));
    for (name, key) in [
        ("file.hash.md5", "md5"),
        ("file.hash.sha1", "sha1"),
        ("file.hash.sha256", "sha256"),
    ] {
        fields.put_json(name, file.get(key));
    }
    fields.put_json("file.mime_type", file.get("mimetype"));
}
