//! The observables of a normalised event: the values indicators are matched against.
//!
//! Read from the event's ECS fields (the table below), each normalised as
//! indicator values are, so that a value matches however a sensor wrote it:
//!
//! | observable | fields |
//! | --- | --- |
//! | address | `source.ip`, `destination.ip`, `client.ip`, `server.ip`, `host.ip`, `dns.resolved_ip[]` |
//! | domain | `dns.question.name`, `url.domain`, `source.domain`, `destination.domain`, `tls.client.server_name`, `server.domain`, `client.domain` |
//! | URL | `url.full`, `url.original` (with `url.domain` when it holds only a path) |
//! | file hash | `file.hash.md5`/`.sha1`/`.sha256`, `process.hash.*` |
//! | e-mail address | `email.from.address`, `email.to.address`, `email.sender.address`, `user.email`, `source.user.email` |
//! | JA3, JA4 | `tls.client.ja3`, `tls.client.ja4` |
//!
//! A value that is not one of its kind (an address field holding a name,
//! say) is skipped; each distinct observable is yielded once per event.

use nigehban_model::indicator::{IndicatorValue, normalise_url};
use nigehban_normalise::NormalisedEvent;
use serde_json::Value;

use crate::set::Observed;

/// Where each kind is read from.
const FIELDS: &[(&str, &str)] = &[
    ("ip", "source.ip"),
    ("ip", "destination.ip"),
    ("ip", "client.ip"),
    ("ip", "server.ip"),
    ("ip", "host.ip"),
    ("ip", "dns.resolved_ip"),
    ("domain", "dns.question.name"),
    ("domain", "url.domain"),
    ("domain", "source.domain"),
    ("domain", "destination.domain"),
    ("domain", "server.domain"),
    ("domain", "client.domain"),
    ("domain", "tls.client.server_name"),
    ("url", "url.full"),
    ("url", "url.original"),
    ("md5", "file.hash.md5"),
    ("sha1", "file.hash.sha1"),
    ("sha256", "file.hash.sha256"),
    ("md5", "process.hash.md5"),
    ("sha1", "process.hash.sha1"),
    ("sha256", "process.hash.sha256"),
    ("email", "email.from.address"),
    ("email", "email.to.address"),
    ("email", "email.sender.address"),
    ("email", "user.email"),
    ("email", "source.user.email"),
    ("ja3", "tls.client.ja3"),
    ("ja4", "tls.client.ja4"),
];

/// One observable of an event and the field it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The ECS field it was read from.
    pub field: &'static str,
    /// The value, normalised.
    pub observed: Observed,
}

fn texts(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The observed form of `text` read as a `kind` value.
pub fn observe(kind: &str, text: &str) -> Option<Observed> {
    if kind == "url" {
        return normalise_url(text).map(Observed::Url);
    }
    let value = IndicatorValue::parse(kind, text).ok()?;
    crate::set::as_observed(&value)
}

/// Every observable of `event`, each once.
pub fn observables(event: &NormalisedEvent) -> Vec<Observation> {
    let fields = event.fields();
    let mut out: Vec<Observation> = Vec::new();
    for (kind, field) in FIELDS {
        let Some(value) = fields.get(field) else {
            continue;
        };
        for text in texts(value) {
            let observed = if *kind == "url" && !text.contains("://") {
                // A web log's path: the URL is the host's.
                match fields.get_str("url.domain") {
                    Some(host) if text.starts_with('/') => {
                        observe("url", &format!("http://{host}{text}"))
                    }
                    _ => None,
                }
            } else {
                observe(kind, text)
            };
            if let Some(observed) = observed
                && !out.iter().any(|o| o.observed == observed)
            {
                out.push(Observation { field, observed });
            }
        }
    }
    out
}
