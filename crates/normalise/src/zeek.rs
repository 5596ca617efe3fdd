//! Zeek JSON log records, in both key styles.
//!
//! Zeek writes the fields of nested records with dots (`id.orig_h`); some
//! writers and shippers (the JSON-streaming package with `@stream`, many
//! Logstash pipelines) write underscores (`id_orig_h`). Both styles give the
//! same ECS fields (and detection finds Sigma's dotted names either way).
//!
//! The log's name (`event.dataset` = `zeek.<log>`) comes from `_path`, from
//! `@stream`, from the caller's [`crate::SourceHint::log_name`] (a file name
//! such as `dns.log` or `NASHUA_dns.log`), or, failing those, from the fields
//! present (`query` and `qtype_name` → `dns`, ...).

use serde_json::{Map, Value, json};

use crate::SourceHint;
use crate::event::{Fields, SourceFormat, json_u64, parse_ip};
use crate::timestamp;

/// Whether `root` uses underscored keys (`id_orig_h`).
pub(crate) fn key_style(root: &Map<String, Value>) -> SourceFormat {
    let underscored = root.keys().any(|key| {
        key.starts_with("id_orig_")
            || key.starts_with("id_resp_")
            || key.starts_with("certificate_")
            || key.starts_with("san_")
    });
    if underscored && !root.keys().any(|key| key.starts_with("id.")) {
        SourceFormat::ZeekUnderscored
    } else {
        SourceFormat::ZeekDotted
    }
}

/// The logs Zeek writes by default, for naming a log from a file name.
const KNOWN_LOGS: &[&str] = &[
    "analyzer",
    "capture_loss",
    "conn",
    "dce_rpc",
    "dhcp",
    "dnp3",
    "dns",
    "dpd",
    "files",
    "ftp",
    "http",
    "intel",
    "irc",
    "kerberos",
    "known_certs",
    "known_hosts",
    "known_services",
    "ldap",
    "ldap_search",
    "loaded_scripts",
    "modbus",
    "mqtt",
    "mysql",
    "notice",
    "ntlm",
    "ntp",
    "ocsp",
    "packet_filter",
    "pe",
    "radius",
    "rdp",
    "reporter",
    "rfb",
    "sip",
    "smb_files",
    "smb_mapping",
    "smtp",
    "snmp",
    "socks",
    "software",
    "ssh",
    "ssl",
    "stats",
    "syslog",
    "tunnel",
    "weird",
    "x509",
];

/// The log name for a record: `_path`, `@stream`, the caller's log name, or a
/// guess from the fields.
fn log_name(root: &Map<String, Value>, hint: &SourceHint) -> String {
    for key in ["_path", "@stream"] {
        if let Some(path) = root
            .get(key)
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
        {
            return path.to_ascii_lowercase();
        }
    }
    if let Some(name) = hint.log_name.as_deref().and_then(log_from_file_name) {
        return name.to_string();
    }
    let has = |key: &str| root.contains_key(key);
    let guess = if has("query") && (has("qtype_name") || has("qtype")) {
        "dns"
    } else if has("conn_state") || (has("history") && has("orig_bytes")) {
        "conn"
    } else if has("method") && has("uri") {
        "http"
    } else if has("server_name") && (has("cipher") || has("established")) {
        "ssl"
    } else if has("certificate.subject") || has("certificate_subject") {
        "x509"
    } else if has("note") && has("msg") {
        "notice"
    } else if has("mime_type") && has("fuid") {
        "files"
    } else {
        "unknown"
    };
    guess.to_string()
}

/// A Zeek log name inside a file name (`dns.log`, `NASHUA_dns.log`,
/// `dns.json.gz`, `conn.09:00:00-10:00:00.log`).
fn log_from_file_name(file_name: &str) -> Option<&'static str> {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let stem = base.split('.').next().unwrap_or(base);
    KNOWN_LOGS
        .iter()
        .filter(|log| stem == **log || stem.ends_with(&format!("_{log}")))
        .max_by_key(|log| log.len())
        .copied()
}

/// Reads a Zeek record into `fields`; returns diagnostics.
pub(crate) fn normalise_zeek(
    root: &Map<String, Value>,
    hint: &SourceHint,
    fields: &mut Fields,
) -> Vec<String> {
    let mut diagnostics = Vec::new();
    // A field by its dotted name, in whichever style the record uses.
    let get = |dotted: &str, underscored: &str| root.get(dotted).or_else(|| root.get(underscored));
    let str_of = |name: &str| root.get(name).and_then(Value::as_str);
    let log = log_name(root, hint);
    match root
        .get("ts")
        .and_then(|t| timestamp::parse_json_time(t, time::UtcOffset::UTC))
    {
        Some(at) => fields.put_time("@timestamp", at),
        None => {
            diagnostics.push("no readable ts: the receive time is used".to_string());
            fields.put_time("@timestamp", hint.received_at);
        }
    }
    fields.insert("event.module", "zeek");
    fields.insert("event.dataset", format!("zeek.{log}"));
    fields.insert("observer.product", "Zeek");
    fields.insert("observer.type", "sensor");
    fields.put_json("observer.hostname", root.get("@system"));
    fields.put_json("zeek.session_id", root.get("uid"));
    fields.put_json("network.community_id", root.get("community_id"));
    fields.put_json_ip("source.ip", get("id.orig_h", "id_orig_h"));
    fields.put_json_port("source.port", get("id.orig_p", "id_orig_p"));
    fields.put_json_ip("destination.ip", get("id.resp_h", "id_resp_h"));
    fields.put_json_port("destination.port", get("id.resp_p", "id_resp_p"));
    if let Some(proto) = str_of("proto") {
        fields.insert("network.transport", proto.to_ascii_lowercase());
    }
    match log.as_str() {
        "conn" => {
            fields.categorise("event", &["network"], &["connection"]);
            if let Some(service) = str_of("service") {
                fields.insert("network.protocol", service.to_ascii_lowercase());
            }
            fields.put_json_u64("source.bytes", root.get("orig_bytes"));
            fields.put_json_u64("destination.bytes", root.get("resp_bytes"));
            fields.put_json_u64("source.packets", root.get("orig_pkts"));
            fields.put_json_u64("destination.packets", root.get("resp_pkts"));
            duration(root.get("duration"), fields);
        }
        "dns" => {
            fields.categorise("event", &["network"], &["protocol"]);
            fields.insert("network.protocol", "dns");
            dns_fields(root, fields);
        }
        "http" => {
            fields.categorise("event", &["network", "web"], &["protocol"]);
            fields.insert("network.protocol", "http");
            fields.put_json("url.domain", root.get("host"));
            fields.put_json("url.original", root.get("uri"));
            if let Some(uri) = str_of("uri") {
                let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
                fields.put_str("url.path", Some(path));
                fields.put_str("url.query", Some(query));
            }
            fields.put_json("http.request.method", root.get("method"));
            fields.put_json_u64("http.response.status_code", root.get("status_code"));
            fields.put_json("http.version", root.get("version"));
            fields.put_json("user_agent.original", root.get("user_agent"));
            fields.put_json("http.request.referrer", root.get("referrer"));
            fields.put_json_u64("http.request.body.bytes", root.get("request_body_len"));
            fields.put_json_u64("http.response.body.bytes", root.get("response_body_len"));
        }
        "ssl" => {
            fields.categorise("event", &["network"], &["protocol"]);
            fields.insert("network.protocol", "tls");
            if let Some(version) = str_of("version") {
                let (protocol, number) = tls_version(version);
                fields.insert("tls.version_protocol", protocol);
                fields.insert("tls.version", number);
            }
            fields.put_json("tls.cipher", root.get("cipher"));
            fields.put_json("tls.curve", root.get("curve"));
            fields.put_json("tls.client.server_name", root.get("server_name"));
            fields.put_json("tls.established", root.get("established"));
            fields.put_json("tls.resumed", root.get("resumed"));
            fields.put_json("tls.server.subject", root.get("subject"));
            fields.put_json("tls.server.issuer", root.get("issuer"));
            fields.put_json("tls.client.ja3", root.get("ja3"));
            fields.put_json("tls.server.ja3s", root.get("ja3s"));
        }
        "x509" => {
            fields.insert("event.kind", "event");
            fields.push_unique("event.category", "network");
            fields.put_json(
                "x509.subject.distinguished_name",
                get("certificate.subject", "certificate_subject"),
            );
            fields.put_json(
                "x509.issuer.distinguished_name",
                get("certificate.issuer", "certificate_issuer"),
            );
            fields.put_json(
                "x509.serial_number",
                get("certificate.serial", "certificate_serial"),
            );
            fields.put_json(
                "x509.signature_algorithm",
                get("certificate.sig_alg", "certificate_sig_alg"),
            );
            fields.put_json(
                "x509.public_key_algorithm",
                get("certificate.key_alg", "certificate_key_alg"),
            );
            for (name, dotted, underscored) in [
                (
                    "x509.not_before",
                    "certificate.not_valid_before",
                    "certificate_not_valid_before",
                ),
                (
                    "x509.not_after",
                    "certificate.not_valid_after",
                    "certificate_not_valid_after",
                ),
            ] {
                if let Some(at) = get(dotted, underscored)
                    .and_then(|t| timestamp::parse_json_time(t, time::UtcOffset::UTC))
                {
                    fields.put_time(name, at);
                }
            }
            if let Some(Value::Array(names)) = get("san.dns", "san_dns") {
                fields.insert("x509.alternative_names", Value::Array(names.clone()));
            }
        }
        "files" | "pe" => {
            fields.categorise("event", &["file"], &["info"]);
            fields.put_json("file.mime_type", root.get("mime_type"));
            fields.put_json("file.name", root.get("filename"));
            fields.put_json_u64(
                "file.size",
                root.get("total_bytes").or_else(|| root.get("seen_bytes")),
            );
            for (name, key) in [
                ("file.hash.md5", "md5"),
                ("file.hash.sha1", "sha1"),
                ("file.hash.sha256", "sha256"),
            ] {
                fields.put_json(name, root.get(key));
            }
        }
        "smb_files" | "smb_mapping" => {
            fields.categorise("event", &["network", "file"], &["access"]);
            fields.put_json("file.path", root.get("path"));
            fields.put_json("file.name", root.get("name"));
        }
        "notice" => {
            fields.categorise("alert", &["intrusion_detection", "network"], &["info"]);
            fields.put_json("rule.name", root.get("note"));
            fields.put_json("message", root.get("msg"));
            if !fields.contains("source.ip") {
                fields.put_json_ip("source.ip", root.get("src"));
            }
            if !fields.contains("destination.ip") {
                fields.put_json_ip("destination.ip", root.get("dst"));
            }
        }
        "weird" => {
            fields.categorise("event", &["network"], &["info"]);
            fields.put_json("rule.name", root.get("name"));
        }
        "kerberos" | "ntlm" => {
            fields.categorise("event", &["network", "authentication"], &["protocol"]);
            let user = str_of("client")
                .map(|c| c.split('/').next().unwrap_or(c))
                .or_else(|| str_of("username"));
            fields.put_str("user.name", user);
        }
        "ssh" | "rdp" | "smtp" | "ftp" | "dce_rpc" | "ldap" | "ldap_search" | "snmp" | "ntp"
        | "rfb" | "sip" | "modbus" | "dhcp" | "dnp3" | "mysql" | "radius" | "socks" => {
            fields.categorise("event", &["network"], &["protocol"]);
            fields.insert("network.protocol", log.clone());
        }
        "stats" | "capture_loss" => fields.insert("event.kind", "metric"),
        "syslog" => {
            fields.insert("event.kind", "event");
            fields.put_json("message", root.get("message"));
            if let Some(facility) = str_of("facility") {
                fields.insert("log.syslog.facility.name", facility.to_ascii_lowercase());
            }
            if let Some(severity) = str_of("severity") {
                fields.insert("log.syslog.severity.name", severity.to_ascii_lowercase());
            }
        }
        _ => fields.insert("event.kind", "event"),
    }
    if !fields.contains("event.category") && fields.contains("source.ip") {
        fields.push_unique("event.category", "network");
    }
    diagnostics
}

/// Zeek's `TLSv12` as ECS's protocol and version (`tls`, `1.2`).
fn tls_version(version: &str) -> (String, String) {
    let lower = version.to_ascii_lowercase();
    let (protocol, digits) = if let Some(rest) = lower.strip_prefix("tlsv") {
        ("tls", rest)
    } else if let Some(rest) = lower.strip_prefix("sslv") {
        ("ssl", rest)
    } else if let Some(rest) = lower.strip_prefix("dtlsv") {
        ("dtls", rest)
    } else {
        return ("tls".to_string(), version.to_string());
    };
    let number = match digits.len() {
        1 => format!("{digits}.0"),
        2 => format!("{}.{}", &digits[..1], &digits[1..]),
        _ => digits.to_string(),
    };
    (protocol.to_string(), number)
}

/// `duration` (seconds) as ECS nanoseconds.
fn duration(value: Option<&Value>, fields: &mut Fields) {
    if let Some(seconds) = value
        .and_then(Value::as_f64)
        .filter(|s| s.is_finite() && *s >= 0.0)
    {
        let nanos = (seconds * 1e9).round();
        if nanos < 1.8e19 {
            // In range of u64 by the check above.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            fields.put_u64("event.duration", nanos as u64);
        }
    }
}

fn dns_fields(root: &Map<String, Value>, fields: &mut Fields) {
    fields.put_json("dns.question.name", root.get("query"));
    fields.put_json("dns.question.type", root.get("qtype_name"));
    fields.put_json("dns.question.class", root.get("qclass_name"));
    fields.put_json("dns.response_code", root.get("rcode_name"));
    fields.put_json_u64("dns.id", root.get("trans_id"));
    let mut flags = Vec::new();
    for flag in ["AA", "TC", "RD", "RA"] {
        if root.get(flag) == Some(&Value::Bool(true)) {
            flags.push(Value::String(flag.to_string()));
        }
    }
    if !flags.is_empty() {
        fields.insert("dns.header_flags", Value::Array(flags));
    }
    let Some(Value::Array(answers)) = root.get("answers") else {
        return;
    };
    let ttls = root.get("TTLs").and_then(Value::as_array);
    let mut out = Vec::new();
    let mut resolved = Vec::new();
    for (index, answer) in answers.iter().enumerate() {
        let Some(data) = answer.as_str() else {
            continue;
        };
        let mut entry = json!({ "data": data });
        if let Some(ttl) = ttls.and_then(|t| t.get(index)).and_then(Value::as_f64) {
            entry["ttl"] = json!(ttl);
        }
        if let Some(ip) = parse_ip(data) {
            resolved.push(Value::String(ip.to_string()));
        }
        out.push(entry);
    }
    if root.get("rcode").and_then(json_u64).is_some() || !out.is_empty() {
        fields.insert("dns.type", "answer");
    }
    if !out.is_empty() {
        fields.insert("dns.answers", Value::Array(out));
    }
    if !resolved.is_empty() {
        fields.insert("dns.resolved_ip", Value::Array(resolved));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_names_from_file_names() {
        assert_eq!(log_from_file_name("dns.log"), Some("dns"));
        assert_eq!(log_from_file_name("day1/NASHUA_dns.log"), Some("dns"));
        assert_eq!(log_from_file_name("smb_files.json.gz"), Some("smb_files"));
        assert_eq!(
            log_from_file_name("SCRANTON_smb_files.log"),
            Some("smb_files")
        );
        assert_eq!(log_from_file_name("notes.txt"), None);
    }

    #[test]
    fn tls_versions() {
        assert_eq!(tls_version("TLSv12"), ("tls".into(), "1.2".into()));
        assert_eq!(tls_version("TLSv13"), ("tls".into(), "1.3".into()));
        assert_eq!(tls_version("SSLv3"), ("ssl".into(), "3.0".into()));
        assert_eq!(tls_version("odd"), ("tls".into(), "odd".into()));
    }
}
