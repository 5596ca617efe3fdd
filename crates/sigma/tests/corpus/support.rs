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
