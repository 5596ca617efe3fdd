//! MISP warninglists: known-benign values (public resolvers, cloud ranges,
//! top domains, empty-file hashes, private networks) that must never become
//! indicators nor raise an alert.
//!
//! A directory of lists in MISP's layout (`lists/<name>/list.json`, each
//! with `name`, `type`, `list` and `matching_attributes`) is read by
//! [`Warninglists::load_dir`]. The list types, as MISP reads them:
//!
//! | type | an indicator value is benign when |
//! | --- | --- |
//! | `cidr` | an address or network lies inside a listed address or network |
//! | `hostname` | a domain (or a URL's host) is a listed name or below one |
//! | `string` | the value is a listed entry (ASCII case ignored) |
//! | `substring` | the value contains a listed entry |
//! | `regex` | the value matches a listed `/pattern/flags` |
//!
//! A list applies only to the kinds its `matching_attributes` name (MISP's
//! attribute types: `ip-src`, `domain`, `url`, `md5`, `email-src`, ...);
//! one that names none applies to every kind. A list that cannot be read is
//! reported ([`WarninglistProblem`]) and the others still load.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use nigehban_model::indicator::{IndicatorKind, IndicatorValue};
use serde::Deserialize;

use crate::set::{IndicatorSet, IndicatorSetBuilder, Observed, as_observed};

/// A list that could not be read, or entries of it that were skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("warninglist {file}: {reason}")]
pub struct WarninglistProblem {
    /// The list's file.
    pub file: PathBuf,
    /// What was wrong.
    pub reason: String,
}

/// One list as MISP writes it.
#[derive(Debug, Deserialize)]
struct ListFile {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    list: Vec<String>,
    #[serde(default)]
    matching_attributes: Vec<String>,
}

/// Bit of each indicator kind in a list's mask.
fn bit(kind: IndicatorKind) -> u16 {
    1 << (IndicatorKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(0) as u16)
}

/// The kinds MISP attribute types stand for.
fn kinds_of(attributes: &[String]) -> u16 {
    if attributes.is_empty() {
        return u16::MAX;
    }
    let mut mask = 0;
    for attribute in attributes {
        for part in attribute.split('|') {
            mask |= match part {
                "ip-src" | "ip-dst" | "ip" => {
                    bit(IndicatorKind::Ipv4) | bit(IndicatorKind::Ipv6) | bit(IndicatorKind::Cidr)
                }
                "domain" | "hostname" => bit(IndicatorKind::Domain),
                "url" | "uri" | "link" => bit(IndicatorKind::Url),
                "md5" => bit(IndicatorKind::Md5),
                "sha1" => bit(IndicatorKind::Sha1),
                "sha256" => bit(IndicatorKind::Sha256),
                "email"
                | "email-src"
                | "email-dst"
                | "target-email"
                | "whois-registrant-email"
                | "dns-soa-email" => bit(IndicatorKind::Email),
                "ja3-fingerprint-md5" => bit(IndicatorKind::Ja3),
                _ => 0,
            };
        }
    }
    mask
}

/// The lists, compiled.
#[derive(Debug, Default)]
pub struct Warninglists {
    names: Vec<String>,
    kinds: Vec<u16>,
    /// Addresses and networks of `cidr` lists (payload: list number).
    networks: IndicatorSet,
    /// Names of `hostname` lists.
    hostnames: IndicatorSet,
    /// Entries of `string` lists, lower-case → list numbers.
    strings: HashMap<String, Vec<u16>>,
    substrings: Vec<(u16, String)>,
    regexes: Vec<(u16, regex::Regex)>,
    entries: usize,
}

impl Warninglists {
    /// No list at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// Reads every `list.json` under `dir` (MISP's `lists/` directory or
    /// its parent). Fails only when `dir` cannot be read at all; a bad list
    /// or entry is reported and skipped.
    pub fn load_dir(dir: &Path) -> Result<(Self, Vec<WarninglistProblem>), std::io::Error> {
        let lists_dir = if dir.join("lists").is_dir() {
            dir.join("lists")
        } else {
            dir.to_path_buf()
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&lists_dir)? {
            let path = entry?.path().join("list.json");
            if path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        let mut lists = Vec::new();
        let mut problems = Vec::new();
        for file in files {
            let problem = |reason: String| WarninglistProblem {
                file: file.clone(),
                reason,
            };
            match std::fs::read(&file) {
                Ok(bytes) => match serde_json::from_slice::<ListFile>(&bytes) {
                    Ok(list) => lists.push((file.clone(), list)),
                    Err(error) => problems.push(problem(format!("not a warninglist: {error}"))),
                },
                Err(error) => problems.push(problem(format!("cannot be read: {error}"))),
            }
        }
        let (compiled, more) = Self::compile(lists);
        problems.extend(more);
        Ok((compiled, problems))
    }

    fn compile(lists: Vec<(PathBuf, ListFile)>) -> (Self, Vec<WarninglistProblem>) {
        let mut out = Warninglists::default();
        let mut problems = Vec::new();
        let mut networks = IndicatorSetBuilder::new();
        let mut hostnames = IndicatorSetBuilder::new();
        for (file, list) in lists {
            let number = out.names.len() as u16;
            let mut skipped = 0usize;
            for entry in &list.list {
                let entry = entry.trim();
                if entry.is_empty() {
                    continue;
                }
                let kept = match list.kind.as_str() {
                    "cidr" => IndicatorValue::parse("cidr", entry)
                        .or_else(|_| IndicatorValue::parse("ip", entry))
                        .map(|value| networks.add(&value, u32::from(number)))
                        .is_ok(),
                    "hostname" => IndicatorValue::parse("domain", entry.trim_start_matches('.'))
                        .map(|value| hostnames.add(&value, u32::from(number)))
                        .is_ok(),
                    "string" => {
                        out.strings
                            .entry(entry.to_ascii_lowercase())
                            .or_default()
                            .push(number);
                        true
                    }
                    "substring" => {
                        out.substrings.push((number, entry.to_ascii_lowercase()));
                        true
                    }
                    "regex" => match regex_of(entry) {
                        Some(regex) => {
                            out.regexes.push((number, regex));
                            true
                        }
                        None => false,
                    },
                    other => {
                        problems.push(WarninglistProblem {
                            file: file.clone(),
                            reason: format!("unsupported list type {other:?}"),
                        });
                        break;
                    }
                };
                if kept {
                    out.entries += 1;
                } else {
                    skipped += 1;
                }
            }
            if skipped > 0 {
                problems.push(WarninglistProblem {
                    file: file.clone(),
                    reason: format!(
                        "{skipped} entries are not {} values and were skipped",
                        list.kind
                    ),
                });
            }
            out.kinds.push(kinds_of(&list.matching_attributes));
            out.names.push(list.name);
        }
        out.networks = networks.build();
        out.hostnames = hostnames.build();
        (out, problems)
    }

    /// How many lists were loaded.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no list was loaded.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// How many entries the lists hold.
    pub fn entries(&self) -> usize {
        self.entries
    }

    fn applies(&self, list: u32, kind: IndicatorKind) -> Option<&str> {
        let list = list as usize;
        (self.kinds.get(list)? & bit(kind) != 0).then(|| self.names[list].as_str())
    }

    /// The name of a list that marks `value` as benign, if one does.
    pub fn benign(&self, value: &IndicatorValue) -> Option<&str> {
        let kind = value.kind();
        for list in self.networks.covering(value) {
            if let Some(name) = self.applies(list, kind) {
                return Some(name);
            }
        }
        self.benign_text(kind, value.value(), as_observed(value).as_ref())
    }

    /// The name of a list that marks an observed value as benign, if one does.
    pub fn benign_observed(&self, observed: &Observed) -> Option<&str> {
        let kind = observed.kind();
        if let Observed::Ip(_) = observed {
            for list in self.networks.matches(observed) {
                if let Some(name) = self.applies(list, kind) {
                    return Some(name);
                }
            }
        }
        self.benign_text(kind, &observed.text(), Some(observed))
    }

    fn benign_text(
        &self,
        kind: IndicatorKind,
        text: &str,
        observed: Option<&Observed>,
    ) -> Option<&str> {
        if self.is_empty() {
            return None;
        }
        // Domains, and the hosts of URLs, against hostname lists.
        let host = match observed {
            Some(Observed::Domain(name)) => Some(name.clone()),
            Some(Observed::Url(url)) => url_host(url),
            _ => None,
        };
        if let Some(host) = host {
            for list in self.hostnames.matches(&Observed::Domain(host)) {
                if let Some(name) = self.applies(list, kind) {
                    return Some(name);
                }
            }
        }
        let lower = text.to_ascii_lowercase();
        if let Some(lists) = self.strings.get(&lower) {
            for list in lists {
                if let Some(name) = self.applies(u32::from(*list), kind) {
                    return Some(name);
                }
            }
        }
        for (list, needle) in &self.substrings {
            if lower.contains(needle.as_str())
                && let Some(name) = self.applies(u32::from(*list), kind)
            {
                return Some(name);
            }
        }
        for (list, regex) in &self.regexes {
            if regex.is_match(text)
                && let Some(name) = self.applies(u32::from(*list), kind)
            {
                return Some(name);
            }
        }
        None
    }
}

/// The host of a normalised URL.
fn url_host(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split(':').next()?;
    (!host.is_empty()).then(|| host.to_owned())
}

/// A MISP `/pattern/flags` regular expression (flag `i` honoured).
fn regex_of(entry: &str) -> Option<regex::Regex> {
    let body = entry.strip_prefix('/')?;
    let (pattern, flags) = body.rsplit_once('/')?;
    let pattern = if flags.contains('i') {
        format!("(?i){pattern}")
    } else {
        pattern.to_owned()
    };
    regex::Regex::new(&pattern).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists(specs: &[(&str, &str, &[&str], &[&str])]) -> Warninglists {
        let lists = specs
            .iter()
            .map(|(name, kind, attributes, entries)| {
                (
                    PathBuf::from(format!("{name}/list.json")),
                    ListFile {
                        name: (*name).to_owned(),
                        kind: (*kind).to_owned(),
                        list: entries.iter().map(|e| (*e).to_owned()).collect(),
                        matching_attributes: attributes.iter().map(|a| (*a).to_owned()).collect(),
                    },
                )
            })
            .collect();
        let (lists, problems) = Warninglists::compile(lists);
        assert!(problems.is_empty(), "{problems:?}");
        lists
    }

    fn value(kind: &str, text: &str) -> IndicatorValue {
        IndicatorValue::parse(kind, text).unwrap()
    }

    #[test]
    fn each_list_type_marks_what_misp_would() {
        let lists = lists(&[
            (
                "private",
                "cidr",
                &["ip-src", "ip-dst"],
                &["10.0.0.0/8", "192.0.2.1"],
            ),
            (
                "shorteners",
                "hostname",
                &["domain", "url"],
                &["bit.ly", ".t.co"],
            ),
            (
                "empty",
                "string",
                &["md5"],
                &["D41D8CD98F00B204E9800998ECF8427E"],
            ),
            ("sandboxes", "substring", &["domain"], &["sandbox"]),
            (
                "contacts",
                "regex",
                &["email-src"],
                &["/^(abuse|noc)\\@.*$/i"],
            ),
        ]);
        assert_eq!(lists.benign(&value("ip", "10.9.8.7")), Some("private"));
        assert_eq!(lists.benign(&value("cidr", "10.9.0.0/16")), Some("private"));
        assert_eq!(lists.benign(&value("cidr", "10.0.0.0/7")), None);
        assert_eq!(lists.benign(&value("ip", "192.0.2.1")), Some("private"));
        assert_eq!(lists.benign(&value("ip", "192.0.2.2")), None);
        assert_eq!(
            lists.benign(&value("domain", "x.bit.ly")),
            Some("shorteners")
        );
        assert_eq!(
            lists.benign(&value("url", "https://t.co/abc")),
            Some("shorteners")
        );
        assert_eq!(
            lists.benign(&value("md5", "d41d8cd98f00b204e9800998ecf8427e")),
            Some("empty")
        );
        assert_eq!(
            lists.benign(&value("domain", "my-sandbox.example")),
            Some("sandboxes")
        );
        assert_eq!(
            lists.benign(&value("email", "ABUSE@bank.example")),
            Some("contacts")
        );
        assert_eq!(lists.benign(&value("domain", "evil.example")), None);
        // A list applies only to the kinds it names.
        assert_eq!(lists.benign(&value("email", "x@bit.ly")), None);
        assert_eq!(
            lists.benign_observed(&Observed::Ip("10.1.1.1".parse().unwrap())),
            Some("private")
        );
    }
}
