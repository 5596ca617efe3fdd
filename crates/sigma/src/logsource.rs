//! Logsource mapping: which events a rule's `logsource` applies to.
//!
//! A mapping turns a [`Logsource`] into one or more [`Alternative`]s. Each
//! alternative is a conjunction of conditions on event fields (for Windows:
//! `Channel` and `EventID`; elsewhere ECS-style fields such as
//! `event.dataset`) plus field renames for that kind of event (Security 4688
//! calls Sysmon's `Image` `NewProcessName`). A rule compiles into one variant
//! per alternative, and matches an event when any variant does.
//!
//! The built-in table (`src/logsources.yml`, documented there) follows
//! SigmaHQ's `tests/thor.yml` for Windows and identifies other products by
//! the ECS-style fields Nigehban's normaliser sets (`host.os.type`,
//! `event.module`, `event.dataset`, `event.category`), plus native fields
//! where a product has one (Zeek's `_path`). Callers may load their own table
//! in the same format and [`LogsourceMapping::extend`] the default with it.
//! Values compare without case, so `security` matches the channel `Security`.

use std::collections::HashMap;

use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::rule::Logsource;
use crate::yaml::{Node, parse_documents};

/// One condition of an alternative: the field has one of `values`
/// (compared without case), or merely exists when `values` is empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceCondition {
    /// Event field name.
    pub field: String,
    /// Accepted values; empty means "the field exists".
    pub values: Vec<String>,
}

/// One way a logsource shows up in events.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Alternative {
    /// All must hold.
    pub conditions: Vec<SourceCondition>,
    /// Field renames: Sigma field name -> the name in these events.
    pub fields: Vec<(String, String)>,
}

impl Alternative {
    /// The event field name for a rule's field name under this alternative.
    pub fn map_field<'a>(&'a self, name: &'a str) -> &'a str {
        self.fields
            .iter()
            .find(|(from, _)| from == name)
            .map_or(name, |(_, to)| to.as_str())
    }
}

#[derive(Debug, Clone, Default)]
struct AltSpec {
    service: Option<String>,
    event_ids: Vec<String>,
    conditions: Vec<(String, Vec<String>)>,
    fields: Vec<(String, String)>,
}

/// A data-driven logsource mapping table.
#[derive(Debug, Clone, Default)]
pub struct LogsourceMapping {
    windows_services: HashMap<String, Vec<String>>,
    windows_categories: HashMap<String, Vec<AltSpec>>,
    sources: Vec<(Logsource, Vec<AltSpec>)>,
    os_products: Vec<String>,
    categories: HashMap<String, String>,
}

const BUILTIN: &str = include_str!("logsources.yml");

impl LogsourceMapping {
    /// The built-in mapping (`src/logsources.yml`).
    pub fn builtin() -> Self {
        Self::from_yaml(BUILTIN, "logsources.yml").0
    }

    /// Reads a mapping table; problems are reported and the rest is kept.
    pub fn from_yaml(text: &str, origin: &str) -> (Self, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let mut m = Self::default();
        let (docs, err) = parse_documents(text);
        if let Some(e) = err {
            diags.push(Diagnostic {
                origin: origin.to_string(),
                line: e.pos.line,
                column: e.pos.column,
                rule_id: None,
                title: None,
                kind: DiagnosticKind::Error,
                message: format!("invalid YAML: {}", e.message),
            });
        }
        let Some(doc) = docs.first() else {
            return (m, diags);
        };
        let mut report = |node: &Node, message: String| {
            diags.push(Diagnostic {
                origin: origin.to_string(),
                line: node.pos.line,
                column: node.pos.column,
                rule_id: None,
                title: None,
                kind: DiagnosticKind::Error,
                message,
            });
        };
        if let Some(s) = doc.get("windows_services").and_then(Node::as_map) {
            for (k, v) in s {
                if let Some(k) = k.as_str() {
                    m.windows_services.insert(k.to_string(), strings(v));
                }
            }
        }
        if let Some(c) = doc.get("windows_categories").and_then(Node::as_map) {
            for (k, v) in c {
                if let Some(k) = k.as_str() {
                    let alts = alt_specs(v, &mut report);
                    m.windows_categories.insert(k.to_string(), alts);
                }
            }
        }
        if let Some(list) = doc.get("sources").and_then(Node::as_seq) {
            for entry in list {
                let Some(ls) = entry.get("logsource") else {
                    report(entry, "source entry without 'logsource'".into());
                    continue;
                };
                let key = Logsource {
                    product: ls.get("product").and_then(Node::as_str).map(str::to_string),
                    category: ls
                        .get("category")
                        .and_then(Node::as_str)
                        .map(str::to_string),
                    service: ls.get("service").and_then(Node::as_str).map(str::to_string),
                    definition: None,
                };
                let alts = entry
                    .get("alternatives")
                    .map(|a| alt_specs(a, &mut report))
                    .unwrap_or_default();
                m.sources.push((key, alts));
            }
        }
        if let Some(d) = doc.get("defaults") {
            if let Some(os) = d.get("os_products") {
                m.os_products = strings(os);
            }
            if let Some(c) = d.get("categories").and_then(Node::as_map) {
                for (k, v) in c {
                    if let (Some(k), Some(v)) = (k.as_str(), v.as_str()) {
                        m.categories.insert(k.to_string(), v.to_string());
                    }
                }
            }
        }
        // Every service an alternative names must be known.
        let mut unknown = Vec::new();
        for specs in m
            .windows_categories
            .values()
            .chain(m.sources.iter().map(|(_, a)| a))
        {
            for s in specs {
                if let Some(svc) = &s.service
                    && !m.windows_services.contains_key(svc)
                {
                    unknown.push(svc.clone());
                }
            }
        }
        for svc in unknown {
            report(
                doc,
                format!("alternative names unknown Windows service '{svc}'"),
            );
        }
        (m, diags)
    }

    /// Adds `other`'s entries, which take precedence over this mapping's.
    pub fn extend(&mut self, other: LogsourceMapping) {
        self.windows_services.extend(other.windows_services);
        self.windows_categories.extend(other.windows_categories);
        let mut sources = other.sources;
        sources.append(&mut self.sources);
        self.sources = sources;
        for p in other.os_products {
            if !self.os_products.contains(&p) {
                self.os_products.push(p);
            }
        }
        self.categories.extend(other.categories);
    }

    fn alternative(&self, spec: &AltSpec) -> Alternative {
        let mut conditions = Vec::new();
        if let Some(svc) = &spec.service {
            conditions.push(SourceCondition {
                field: "Channel".into(),
                values: self.windows_services.get(svc).cloned().unwrap_or_default(),
            });
        }
        if !spec.event_ids.is_empty() {
            conditions.push(SourceCondition {
                field: "EventID".into(),
                values: spec.event_ids.clone(),
            });
        }
        for (field, values) in &spec.conditions {
            conditions.push(SourceCondition {
                field: field.clone(),
                values: values.clone(),
            });
        }
        Alternative {
            conditions,
            fields: spec.fields.clone(),
        }
    }

    /// The alternatives a logsource maps to, or why it cannot be mapped.
    pub fn resolve(&self, ls: &Logsource) -> Result<Vec<Alternative>, String> {
        let key_eq = |k: &Logsource| {
            k.product == ls.product && k.category == ls.category && k.service == ls.service
        };
        if let Some((_, specs)) = self.sources.iter().find(|(k, _)| key_eq(k)) {
            return Ok(specs.iter().map(|s| self.alternative(s)).collect());
        }
        if ls.product.is_none() && ls.category.is_none() && ls.service.is_none() {
            return Err("empty logsource".into());
        }
        if ls.product.as_deref() == Some("windows") {
            return self.resolve_windows(ls);
        }
        // Generic, field-based identification.
        let product = ls.product.as_deref();
        let mut conditions = Vec::new();
        if let Some(service) = &ls.service {
            let dataset = match product {
                Some(p) if !service.contains('.') => format!("{p}.{service}"),
                _ => service.clone(),
            };
            conditions.push(cond("event.dataset", &dataset));
        } else {
            if let Some(p) = product {
                if self.os_products.iter().any(|o| o == p) {
                    conditions.push(cond("host.os.type", p));
                } else {
                    conditions.push(cond("event.module", p));
                }
            }
            if let Some(c) = &ls.category {
                let value = self.categories.get(c).map_or(c.as_str(), String::as_str);
                // `application` logs of a product are identified by the product alone.
                if !(c == "application" && product.is_some()) {
                    conditions.push(cond("event.category", value));
                }
            }
        }
        Ok(vec![Alternative {
            conditions,
            fields: Vec::new(),
        }])
    }

    fn resolve_windows(&self, ls: &Logsource) -> Result<Vec<Alternative>, String> {
        match (&ls.category, &ls.service) {
            (Some(c), service) => {
                let Some(specs) = self.windows_categories.get(c) else {
                    return Err(format!(
                        "unknown Windows category '{c}' in the logsource mapping"
                    ));
                };
                let alts: Vec<Alternative> = specs
                    .iter()
                    .filter(|s| service.is_none() || s.service == *service)
                    .map(|s| self.alternative(s))
                    .collect();
                if alts.is_empty() {
                    return Err(format!(
                        "Windows category '{c}' has no alternative for service '{}'",
                        service.as_deref().unwrap_or_default()
                    ));
                }
                Ok(alts)
            }
            (None, Some(s)) => match self.windows_services.get(s) {
                Some(channels) => Ok(vec![Alternative {
                    conditions: vec![SourceCondition {
                        field: "Channel".into(),
                        values: channels.clone(),
                    }],
                    fields: Vec::new(),
                }]),
                None => Err(format!(
                    "unknown Windows service '{s}' in the logsource mapping"
                )),
            },
            (None, None) => Err("logsource 'product: windows' alone is not in the mapping".into()),
        }
    }
}

fn cond(field: &str, value: &str) -> SourceCondition {
    SourceCondition {
        field: field.into(),
        values: vec![value.into()],
    }
}

fn strings(v: &Node) -> Vec<String> {
    match v.as_seq() {
        Some(items) => items
            .iter()
            .filter_map(Node::as_str)
            .map(str::to_string)
            .collect(),
        None => v.as_str().map(|s| vec![s.to_string()]).unwrap_or_default(),
    }
}

fn alt_specs(v: &Node, report: &mut impl FnMut(&Node, String)) -> Vec<AltSpec> {
    let Some(items) = v.as_seq() else {
        report(v, "alternatives must be a list".into());
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        if item.as_map().is_none() {
            report(item, "an alternative must be a map".into());
            continue;
        }
        let mut spec = AltSpec {
            service: item
                .get("service")
                .and_then(Node::as_str)
                .map(str::to_string),
            event_ids: item.get("event_ids").map(strings).unwrap_or_default(),
            ..AltSpec::default()
        };
        if let Some(c) = item.get("conditions").and_then(Node::as_map) {
            for (k, v) in c {
                if let Some(k) = k.as_str() {
                    let values = strings(v);
                    let values = if values == ["*"] { Vec::new() } else { values };
                    spec.conditions.push((k.to_string(), values));
                }
            }
        }
        if let Some(f) = item.get("fields").and_then(Node::as_map) {
            for (k, v) in f {
                if let (Some(k), Some(v)) = (k.as_str(), v.as_str()) {
                    spec.fields.push((k.to_string(), v.to_string()));
                }
            }
        }
        out.push(spec);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(p: Option<&str>, c: Option<&str>, s: Option<&str>) -> Logsource {
        Logsource {
            product: p.map(Into::into),
            category: c.map(Into::into),
            service: s.map(Into::into),
            definition: None,
        }
    }

    #[test]
    fn builtin_parses_cleanly() {
        let (_, diags) = LogsourceMapping::from_yaml(BUILTIN, "logsources.yml");
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[test]
    fn process_creation_has_sysmon_and_security_variants() {
        let m = LogsourceMapping::builtin();
        let alts = m
            .resolve(&ls(Some("windows"), Some("process_creation"), None))
            .unwrap();
        assert_eq!(alts.len(), 2);
        assert_eq!(
            alts[0].conditions[0].values,
            ["Microsoft-Windows-Sysmon/Operational"]
        );
        assert_eq!(alts[0].conditions[1].values, ["1"]);
        assert_eq!(alts[1].conditions[1].values, ["4688"]);
        assert_eq!(alts[1].map_field("Image"), "NewProcessName");
        assert_eq!(alts[1].map_field("CommandLine"), "CommandLine");
    }

    #[test]
    fn unknown_windows_service_is_unsupported() {
        let m = LogsourceMapping::builtin();
        let e = m
            .resolve(&ls(Some("windows"), None, Some("nope")))
            .unwrap_err();
        assert!(e.contains("nope"));
    }

    #[test]
    fn other_products_map_by_field() {
        let m = LogsourceMapping::builtin();
        let alts = m.resolve(&ls(Some("zeek"), None, Some("dns"))).unwrap();
        assert_eq!(alts.len(), 2);
        assert_eq!(alts[0].conditions[0].field, "_path");
        let alts = m
            .resolve(&ls(Some("aws"), None, Some("cloudtrail")))
            .unwrap();
        assert_eq!(
            alts[0].conditions,
            vec![cond("event.dataset", "aws.cloudtrail")]
        );
        let alts = m
            .resolve(&ls(Some("linux"), Some("process_creation"), None))
            .unwrap();
        assert_eq!(
            alts[0].conditions,
            vec![
                cond("host.os.type", "linux"),
                cond("event.category", "process")
            ]
        );
        let alts = m
            .resolve(&ls(Some("gcp"), None, Some("gcp.audit")))
            .unwrap();
        assert_eq!(alts[0].conditions, vec![cond("event.dataset", "gcp.audit")]);
    }
}
