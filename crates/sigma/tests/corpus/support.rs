//! Test-only event adapters and corpus helpers.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nigehban_sigma::{Event, Value};

/// The corpus root, or `None` (skipped, or failed when required) when it is absent.
#[track_caller]
pub fn corpus() -> Option<PathBuf> {
    nigehban_testkit::corpus_with("sigma")
}

/// Every `*.yml` file under `dir`, sorted.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn emit(v: &serde_json::Value, visit: &mut dyn FnMut(Value<'_>)) {
    match v {
        serde_json::Value::Null => visit(Value::Null),
        serde_json::Value::Bool(b) => visit(Value::Bool(*b)),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                visit(Value::Int(i))
            } else if let Some(u) = n.as_u64() {
                visit(Value::UInt(u))
            } else {
                visit(Value::Float(n.as_f64().unwrap_or(0.0)))
            }
        }
        serde_json::Value::String(s) => visit(Value::Str(s)),
        serde_json::Value::Array(a) => a.iter().for_each(|x| emit(x, visit)),
        serde_json::Value::Object(o) => {
            if let Some(t) = o.get("#text") {
                emit(t, visit)
            }
        }
    }
}

fn emit_all(v: &serde_json::Value, visit: &mut dyn FnMut(Value<'_>)) {
    match v {
        serde_json::Value::Object(o) => o.values().for_each(|x| emit_all(x, visit)),
        serde_json::Value::Array(a) => a.iter().for_each(|x| emit_all(x, visit)),
        other => emit(other, visit),
    }
}

/// An event in the layout of the Rust `evtx` crate's JSON output.
pub struct EvtxJson(pub serde_json::Value);

impl Event for EvtxJson {
    fn field(&self, name: &str, visit: &mut dyn FnMut(Value<'_>)) {
        let ev = &self.0["Event"];
        let sys = &ev["System"];
        if let Some(v) = sys.get(name)
            && (!v.is_object() || v.get("#text").is_some())
        {
            return emit(v, visit);
        }
        if let Some((a, b)) = name.split_once('_')
            && let Some(v) = sys
                .get(a)
                .and_then(|x| x.get("#attributes"))
                .and_then(|x| x.get(b))
        {
            return emit(v, visit);
        }
        if let Some(v) = ev.get("EventData").and_then(|d| d.get(name)) {
            return emit(v, visit);
        }
        if let Some(serde_json::Value::Object(ud)) = ev.get("UserData") {
            for inner in ud.values() {
                if let Some(v) = inner.get(name) {
                    return emit(v, visit);
                }
            }
        }
    }

    fn for_each_field(&self, visit: &mut dyn FnMut(&str, Value<'_>)) -> bool {
        let ev = &self.0["Event"];
        if let Some(serde_json::Value::Object(sys)) = ev.get("System") {
            for (k, v) in sys {
                match v.get("#attributes") {
                    Some(serde_json::Value::Object(attrs)) if v.get("#text").is_none() => {
                        for (a, x) in attrs {
                            emit(x, &mut |val| visit(&format!("{k}_{a}"), val));
                        }
                    }
                    _ => emit(v, &mut |val| visit(k, val)),
                }
            }
        }
        if let Some(serde_json::Value::Object(d)) = ev.get("EventData") {
            for (k, v) in d {
                if !sys_has(ev, k) {
                    emit(v, &mut |val| visit(k, val));
                }
            }
        }
        if let Some(serde_json::Value::Object(ud)) = ev.get("UserData") {
            for inner in ud.values() {
                if let serde_json::Value::Object(fields) = inner {
                    for (k, v) in fields {
                        if !sys_has(ev, k) && ev.get("EventData").and_then(|d| d.get(k)).is_none() {
                            emit(v, &mut |val| visit(k, val));
                        }
                    }
                }
            }
        }
        true
    }

    fn values(&self, visit: &mut dyn FnMut(Value<'_>)) {
        let ev = &self.0["Event"];
        for k in ["EventData", "UserData"] {
            if let Some(v) = ev.get(k) {
                emit_all(v, visit);
            }
        }
    }
}

/// True when `field` would resolve `name` in System (so EventData's is shadowed).
fn sys_has(ev: &serde_json::Value, name: &str) -> bool {
    let sys = &ev["System"];
    if let Some(v) = sys.get(name)
        && (!v.is_object() || v.get("#text").is_some())
    {
        return true;
    }
    name.split_once('_').is_some_and(|(a, b)| {
        sys.get(a)
            .and_then(|x| x.get("#attributes"))
            .and_then(|x| x.get(b))
            .is_some()
    })
}

/// Reads concatenated JSON objects.
pub fn read_events(path: &Path) -> Vec<EvtxJson> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    serde_json::Deserializer::from_str(&text)
        .into_iter::<serde_json::Value>()
        .filter_map(Result::ok)
        .map(EvtxJson)
        .collect()
}

/// A flat event: field name -> values.
#[derive(Debug, Clone, Default)]
pub struct Flat(pub BTreeMap<String, Vec<FlatValue>>);

/// An owned value of a flat event.
#[derive(Debug, Clone, PartialEq)]
pub enum FlatValue {
    /// null
    Null,
    /// integer
    Int(i64),
    /// string
    Str(String),
}

impl Flat {
    /// Builds from pairs of strings.
    pub fn of(pairs: &[(&str, &str)]) -> Flat {
        let mut f = Flat::default();
        for (k, v) in pairs {
            f.0.entry(k.to_string())
                .or_default()
                .push(FlatValue::Str(v.to_string()));
        }
        f
    }
}

impl Event for Flat {
    fn field(&self, name: &str, visit: &mut dyn FnMut(Value<'_>)) {
        for v in self.0.get(name).into_iter().flatten() {
            visit(match v {
                FlatValue::Null => Value::Null,
                FlatValue::Int(i) => Value::Int(*i),
                FlatValue::Str(s) => Value::Str(s),
            });
        }
    }

    fn values(&self, visit: &mut dyn FnMut(Value<'_>)) {
        for name in self.0.keys() {
            self.field(name, visit);
        }
    }

    fn for_each_field(&self, visit: &mut dyn FnMut(&str, Value<'_>)) -> bool {
        for name in self.0.keys() {
            self.field(name, &mut |v| visit(name, v));
        }
        true
    }
}

/// A flat event read only by field lookups (no enumeration).
#[derive(Debug)]
pub struct Lookup<'a>(pub &'a Flat);

impl Event for Lookup<'_> {
    fn field(&self, name: &str, visit: &mut dyn FnMut(Value<'_>)) {
        self.0.field(name, visit)
    }

    fn values(&self, visit: &mut dyn FnMut(Value<'_>)) {
        self.0.values(visit)
    }
}

/// One regression case: the rule id, the minimum match count, the events file.
pub struct Case {
    pub rule_id: String,
    pub match_count: usize,
    pub events: PathBuf,
}

/// All regression cases under `<corpus>/sigma/regression/regression_data`.
pub fn regression_cases(corpus: &Path) -> Vec<Case> {
    let root = corpus.join("sigma/regression/regression_data");
    let mut out = Vec::new();
    for info in yaml_files(&root)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "info.yml"))
    {
        let text = std::fs::read_to_string(&info).unwrap_or_default();
        let (docs, _) = nigehban_sigma::yaml::parse_documents(&text);
        let Some(doc) = docs.first() else { continue };
        let Some(id) = doc
            .get("rule_metadata")
            .and_then(|m| m.as_seq())
            .and_then(|s| s.first())
            .and_then(|m| m.get("id"))
            .and_then(|n| n.as_str())
        else {
            continue;
        };
        let mut match_count = 1;
        let mut has_evtx = false;
        for t in doc
            .get("regression_tests_info")
            .and_then(|n| n.as_seq())
            .unwrap_or(&[])
        {
            if t.get("type").and_then(|n| n.as_str()) == Some("evtx") {
                has_evtx = true;
                if let Some(n) = t
                    .get("match_count")
                    .and_then(|n| n.as_str())
                    .and_then(|s| s.parse().ok())
                {
                    match_count = n;
                }
            }
        }
        let events = info.with_file_name(format!("{id}.json"));
        if has_evtx && events.is_file() {
            out.push(Case {
                rule_id: id.to_string(),
                match_count,
                events,
            });
        }
    }
    out
}
