//! `nigehban hunt --summary`: the overview a responder starts from.
//!
//! Detections per rule (with its level and ATT&CK technique ids), per
//! computer (by level), and the first and last time anything was seen.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Arc;

use crate::detection::{Detection, RuleSummary};
use crate::output::DisplayZone;

/// The levels, most severe first, as the summary's columns show them.
const LEVELS: [&str; 5] = ["critical", "high", "medium", "low", "informational"];

fn level_rank(level: &str) -> usize {
    LEVELS
        .iter()
        .position(|l| *l == level)
        .unwrap_or(LEVELS.len())
}

/// What was seen of one rule or one computer.
#[derive(Debug, Clone, Default)]
struct Seen {
    count: u64,
    /// Detections per level (index into [`LEVELS`]; the last slot for others).
    by_level: [u64; 6],
    computers: BTreeMap<String, ()>,
    first: Option<String>,
    last: Option<String>,
}

impl Seen {
    fn add(&mut self, level: &str, computer: Option<&str>, time: Option<&str>) {
        self.count += 1;
        self.by_level[level_rank(level)] += 1;
        if let Some(computer) = computer {
            self.computers.entry(computer.to_owned()).or_default();
        }
        if let Some(time) = time {
            // RFC 3339 in UTC: compare as times, not text (fractions differ in length).
            if self.first.as_deref().is_none_or(|f| earlier(time, f)) {
                self.first = Some(time.to_owned());
            }
            if self.last.as_deref().is_none_or(|l| earlier(l, time)) {
                self.last = Some(time.to_owned());
            }
        }
    }
}

fn earlier(a: &str, b: &str) -> bool {
    use chrono::DateTime;
    match (
        DateTime::parse_from_rfc3339(a),
        DateTime::parse_from_rfc3339(b),
    ) {
        (Ok(a), Ok(b)) => a < b,
        _ => a < b,
    }
}

/// Detections gathered for the summary.
#[derive(Debug, Default)]
pub struct HuntSummary {
    rules: BTreeMap<String, (Arc<RuleSummary>, Seen)>,
    computers: BTreeMap<String, Seen>,
    all: Seen,
}

impl HuntSummary {
    /// An empty summary.
    pub fn new() -> Self {
        HuntSummary::default()
    }

    /// Counts one detection.
    pub fn add(&mut self, detection: &Detection) {
        let rule = &detection.rule;
        let event = &detection.event;
        let time = event.timestamp.as_deref();
        let computer = event.computer.as_deref();
        let key = format!("{}\u{1f}{}", rule.id, rule.title);
        self.rules
            .entry(key)
            .or_insert_with(|| (Arc::clone(rule), Seen::default()))
            .1
            .add(&rule.level, computer, time);
        self.computers
            .entry(computer.unwrap_or("-").to_owned())
            .or_default()
            .add(&rule.level, computer, time);
        self.all.add(&rule.level, computer, time);
    }

    /// Detections counted.
    pub fn detections(&self) -> u64 {
        self.all.count
    }

    /// Writes the summary, times shown in `zone`.
    pub fn write(&self, out: &mut dyn Write, zone: DisplayZone) -> io::Result<()> {
        let time = |t: &Option<String>| {
            t.as_deref()
                .map_or_else(|| "-".to_owned(), |t| zone.show(t))
        };
        writeln!(
            out,
            "{} detection(s) of {} rule(s) on {} computer(s); first {}, last {} ({})",
            self.all.count,
            self.rules.len(),
            self.computers.len(),
            time(&self.all.first),
            time(&self.all.last),
            zone.label(),
        )?;
        if self.all.count == 0 {
            return Ok(());
        }

        writeln!(out)?;
        writeln!(out, "Detections by rule")?;
        let mut rules: Vec<&(Arc<RuleSummary>, Seen)> = self.rules.values().collect();
        rules.sort_by(|a, b| {
            level_rank(&a.0.level)
                .cmp(&level_rank(&b.0.level))
                .then(b.1.count.cmp(&a.1.count))
                .then(a.0.title.cmp(&b.0.title))
        });
        let title_width = rules
            .iter()
            .map(|(rule, _)| rule.title.chars().count())
            .max()
            .unwrap_or(0)
            .max(4);
        writeln!(
            out,
            "{:<13}  {:>6}  {:>9}  {:<title_width$}  {:<20}  RULE ID",
            "LEVEL", "COUNT", "COMPUTERS", "RULE", "ATT&CK"
        )?;
        for (rule, seen) in rules {
            let techniques = if rule.techniques.is_empty() {
                "-".to_owned()
            } else {
                rule.techniques.join(", ")
            };
            writeln!(
                out,
                "{:<13}  {:>6}  {:>9}  {:<title_width$}  {:<20}  {}",
                rule.level,
                seen.count,
                seen.computers.len(),
                rule.title,
                techniques,
                if rule.id.is_empty() { "-" } else { &rule.id },
            )?;
        }

        writeln!(out)?;
        writeln!(out, "Detections by computer")?;
        let mut computers: Vec<(&String, &Seen)> = self.computers.iter().collect();
        computers.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        let name_width = computers
            .iter()
            .map(|(name, _)| name.chars().count())
            .max()
            .unwrap_or(0)
            .max(8);
        let time_width = computers
            .iter()
            .map(|(_, seen)| time(&seen.first).chars().count())
            .max()
            .unwrap_or(0)
            .max(10);
        writeln!(
            out,
            "{:<name_width$}  {:>6}  {:>8}  {:>6}  {:>6}  {:>6}  {:>6}  {:<time_width$}  LAST SEEN",
            "COMPUTER", "COUNT", "CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "FIRST SEEN"
        )?;
        for (name, seen) in computers {
            let l = &seen.by_level;
            writeln!(
                out,
                "{:<name_width$}  {:>6}  {:>8}  {:>6}  {:>6}  {:>6}  {:>6}  {:<time_width$}  {}",
                name,
                seen.count,
                l[0],
                l[1],
                l[2],
                l[3],
                l[4] + l[5],
                time(&seen.first),
                time(&seen.last),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detection::DetectedEvent;

    fn detection(rule: &Arc<RuleSummary>, computer: &str, time: &str) -> Detection {
        Detection::new(
            Arc::clone(rule),
            Arc::new(DetectedEvent {
                timestamp: Some(time.to_owned()),
                file: "x.evtx".into(),
                position: "record 1".into(),
                record_id: None,
                computer: Some(computer.to_owned()),
                channel: None,
                event_id: None,
                json: b"{}".to_vec().into(),
            }),
        )
    }

    #[test]
    fn counts_per_rule_and_computer_with_first_and_last() {
        let high = Arc::new(RuleSummary {
            id: "r-high".into(),
            title: "Credential dumping".into(),
            level: "high".into(),
            techniques: vec!["T1003.001".into()],
            ..RuleSummary::default()
        });
        let low = Arc::new(RuleSummary {
            id: "r-low".into(),
            title: "Odd logon".into(),
            level: "low".into(),
            ..RuleSummary::default()
        });
        let mut summary = HuntSummary::new();
        summary.add(&detection(&low, "ws1", "2024-01-01T10:00:00.5Z"));
        summary.add(&detection(&high, "dc1", "2024-01-01T09:00:00Z"));
        summary.add(&detection(&high, "dc1", "2024-01-01T11:00:00Z"));
        let mut out = Vec::new();
        summary
            .write(&mut out, DisplayZone::Offset(5 * 3600))
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("3 detection(s) of 2 rule(s) on 2 computer(s); first 2024-01-01T14:00:00+05:00, last 2024-01-01T16:00:00+05:00 (+05:00)"),
            "{text}"
        );
        let lines: Vec<&str> = text.lines().collect();
        let high_row = lines
            .iter()
            .position(|l| l.contains("Credential dumping"))
            .unwrap();
        let low_row = lines.iter().position(|l| l.contains("Odd logon")).unwrap();
        assert!(high_row < low_row, "{text}");
        assert!(lines[high_row].contains("T1003.001") && lines[high_row].contains("r-high"));
        let dc1 = lines.iter().find(|l| l.starts_with("dc1")).unwrap();
        assert!(
            dc1.contains("2024-01-01T14:00:00+05:00") && dc1.contains("2024-01-01T16:00:00+05:00"),
            "{dc1}"
        );
    }
}
