//! Zeek's ASCII (tab-separated) logs, read into JSON objects like the ones
//! Zeek writes with `LogAscii::use_json = T`, so the server normalises both
//! the same way.
//!
//! A TSV log starts with header lines: `#separator \x09`, `#set_separator`,
//! `#empty_field`, `#unset_field`, `#path`, `#fields`, `#types` (and
//! `#open`/`#close`). Each data line has one value per field; the unset
//! marker (`-`) leaves the field out, the empty marker (`(empty)`) is an
//! empty string or set. Values are typed by `#types`: `time`, `interval` and
//! `double` become numbers, `count`, `int` and `port` integers, `bool`
//! (`T`/`F`) booleans, `set[...]`/`vector[...]` arrays, everything else
//! strings; `\xHH` escapes are decoded.

use serde_json::{Map, Number, Value};

/// The header state of a Zeek TSV log being read.
#[derive(Debug, Clone)]
pub(crate) struct ZeekTsv {
    separator: Vec<u8>,
    set_separator: Vec<u8>,
    empty: Vec<u8>,
    unset: Vec<u8>,
    path: Option<String>,
    fields: Vec<String>,
    types: Vec<String>,
}

/// Whether a file's first line starts a Zeek TSV log.
pub(crate) fn is_zeek_tsv(first_line: &[u8]) -> bool {
    first_line.starts_with(b"#separator")
}

/// Decodes `\xHH` escapes (other backslashes are kept).
fn unescape(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && bytes.get(i + 1) == Some(&b'x')
            && let Some(hex) = bytes.get(i + 2..i + 4)
            && let Ok(text) = std::str::from_utf8(hex)
            && let Ok(byte) = u8::from_str_radix(text, 16)
        {
            out.push(byte);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn split<'a>(line: &'a [u8], separator: &[u8]) -> Vec<&'a [u8]> {
    if separator.is_empty() {
        return vec![line];
    }
    let mut parts = Vec::new();
    let mut rest = line;
    while let Some(at) = memchr::memmem::find(rest, separator) {
        parts.push(&rest[..at]);
        rest = &rest[at + separator.len()..];
    }
    parts.push(rest);
    parts
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&unescape(bytes)).into_owned()
}

impl ZeekTsv {
    /// A reader with Zeek's default markers, before any header line.
    pub(crate) fn new() -> Self {
        ZeekTsv {
            separator: b"\t".to_vec(),
            set_separator: b",".to_vec(),
            empty: b"(empty)".to_vec(),
            unset: b"-".to_vec(),
            path: None,
            fields: Vec::new(),
            types: Vec::new(),
        }
    }

    /// Reads a header or comment line (starting with `#`); `false` for a
    /// data line.
    pub(crate) fn header_line(&mut self, line: &[u8]) -> bool {
        if !line.starts_with(b"#") {
            return false;
        }
        if let Some(value) = line.strip_prefix(b"#separator ") {
            let separator = unescape(value.trim_ascii());
            if !separator.is_empty() {
                self.separator = separator;
            }
            return true;
        }
        let parts = split(&line[1..], &self.separator);
        let (Some(name), values) = (parts.first(), parts.get(1..).unwrap_or_default()) else {
            return true;
        };
        let first = values.first().map(|v| unescape(v)).unwrap_or_default();
        match *name {
            b"set_separator" => self.set_separator = first,
            b"empty_field" => self.empty = first,
            b"unset_field" => self.unset = first,
            b"path" => self.path = Some(String::from_utf8_lossy(&first).into_owned()),
            b"fields" => self.fields = values.iter().map(|v| text(v)).collect(),
            b"types" => self.types = values.iter().map(|v| text(v)).collect(),
            _ => {}
        }
        true
    }

    /// A data line as a JSON object, or why it cannot be read.
    pub(crate) fn record(&self, line: &[u8]) -> Result<Map<String, Value>, String> {
        if self.fields.is_empty() {
            return Err("data line before the #fields header".to_owned());
        }
        let values = split(line, &self.separator);
        if values.len() != self.fields.len() {
            return Err(format!(
                "has {} fields, the #fields header names {}",
                values.len(),
                self.fields.len()
            ));
        }
        let mut object = Map::new();
        if let Some(path) = &self.path {
            object.insert("_path".to_owned(), Value::String(path.clone()));
        }
        for (index, (name, raw)) in self.fields.iter().zip(values).enumerate() {
            if raw == self.unset.as_slice() {
                continue;
            }
            let kind = self.types.get(index).map_or("string", String::as_str);
            object.insert(name.clone(), self.value(kind, raw));
        }
        Ok(object)
    }

    fn value(&self, kind: &str, raw: &[u8]) -> Value {
        let element = kind
            .strip_prefix("set[")
            .or_else(|| kind.strip_prefix("vector["))
            .and_then(|inner| inner.strip_suffix(']'));
        if let Some(element) = element {
            if raw == self.empty.as_slice() {
                return Value::Array(Vec::new());
            }
            return Value::Array(
                split(raw, &self.set_separator)
                    .into_iter()
                    .map(|item| scalar(element, item))
                    .collect(),
            );
        }
        if raw == self.empty.as_slice() {
            return Value::String(String::new());
        }
        scalar(kind, raw)
    }
}

fn scalar(kind: &str, raw: &[u8]) -> Value {
    let value = text(raw);
    match kind {
        "time" | "interval" | "double" => value
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or(Value::String(value), Value::Number),
        "count" | "port" => value
            .parse::<u64>()
            .map_or(Value::String(value), |n| Value::Number(n.into())),
        "int" => value
            .parse::<i64>()
            .map_or(Value::String(value), |n| Value::Number(n.into())),
        "bool" => match value.as_str() {
            "T" => Value::Bool(true),
            "F" => Value::Bool(false),
            _ => Value::String(value),
        },
        _ => Value::String(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CONN: &str = "#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tconn
#open\t2024-03-15-10-00-00
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\tlocal_orig\ttunnel_parents\tnote
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tbool\tset[string]\tstring
1710496934.865716\tCqKst53mF3det3eDV9\t10.47.1.100\t41772\t10.0.0.100\t53\tudp\tdns\t0.000870\tT\t(empty)\ta\\x09b
1710496935.1\tC2\t10.47.1.101\t1\t10.0.0.1\t80\ttcp\t-\t-\tF\tCx,Cy\t(empty)
#close\t2024-03-15-11-00-00";

    #[test]
    fn a_conn_log_reads_like_zeek_json() {
        let mut reader = ZeekTsv::new();
        let mut records = Vec::new();
        for line in CONN.lines() {
            if !reader.header_line(line.as_bytes()) {
                records.push(reader.record(line.as_bytes()).unwrap());
            }
        }
        assert_eq!(records.len(), 2);
        assert_eq!(
            Value::Object(records[0].clone()),
            json!({
                "_path": "conn", "ts": 1710496934.865716, "uid": "CqKst53mF3det3eDV9",
                "id.orig_h": "10.47.1.100", "id.orig_p": 41772, "id.resp_h": "10.0.0.100",
                "id.resp_p": 53, "proto": "udp", "service": "dns", "duration": 0.00087,
                "local_orig": true, "tunnel_parents": [], "note": "a\tb"
            })
        );
        assert!(!records[1].contains_key("service"));
        assert_eq!(records[1]["tunnel_parents"], json!(["Cx", "Cy"]));
        assert_eq!(records[1]["note"], json!(""));
    }

    #[test]
    fn bad_lines_are_errors_not_panics() {
        let mut reader = ZeekTsv::new();
        assert!(reader.record(b"1\t2").is_err(), "no header yet");
        reader.header_line(b"#fields\ta\tb");
        assert!(
            reader
                .record(b"only-one")
                .unwrap_err()
                .contains("has 1 fields")
        );
        assert_eq!(unescape(b"\\x4"), b"\\x4");
        assert_eq!(unescape(b"\\xzz\\x41"), b"\\xzzA");
        assert!(is_zeek_tsv(b"#separator \\x09"));
        assert!(!is_zeek_tsv(b"{\"ts\":1}"));
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn arbitrary_lines_never_panic(lines in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..12)) {
                let mut reader = ZeekTsv::new();
                for line in &lines {
                    if !reader.header_line(line) {
                        let _ = reader.record(line);
                    }
                }
            }

            #[test]
            fn string_and_count_values_read_back(
                rows in proptest::collection::vec(("[ -~\t]{1,20}", any::<u64>()), 1..10),
            ) {
                let mut reader = ZeekTsv::new();
                for header in ["#separator \\x09", "#path\tx", "#fields\tname\tcount", "#types\tstring\tcount"] {
                    prop_assert!(reader.header_line(header.as_bytes()));
                }
                for (name, count) in rows {
                    // Zeek escapes separators and backslashes in values.
                    let escaped = name.replace('\\', "\\x5c").replace('\t', "\\x09");
                    let record = reader.record(format!("{escaped}\t{count}").as_bytes()).unwrap();
                    if name == "-" {
                        prop_assert!(!record.contains_key("name"));
                    } else if name == "(empty)" {
                        prop_assert_eq!(&record["name"], &Value::String(String::new()));
                    } else {
                        prop_assert_eq!(&record["name"], &Value::String(name.clone()));
                    }
                    prop_assert_eq!(&record["count"], &Value::from(count));
                    prop_assert_eq!(&record["_path"], &Value::String("x".into()));
                }
            }
        }
    }
}
