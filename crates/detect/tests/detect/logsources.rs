//! The one table of non-Windows logsources (the crate documentation) is the
//! mapping the matcher uses, and real normalised events of each kind reach
//! the rules written for them.

use std::collections::BTreeSet;

use nigehban_normalise::Format;
use nigehban_sigma::{Logsource, LogsourceMapping};

use crate::support::{compile, fired, hint, live_event, with_live_view, with_record_view};

const CRATE_DOCS: &str = include_str!("../../src/lib.rs");

/// The text of `cell` inside backticks, or `None` when anything but
/// separators (`,`, `, or`) and parenthetical remarks is outside them.
fn backticked(cell: &str) -> Option<Vec<&str>> {
    let mut inside = Vec::new();
    let mut outside = String::new();
    let mut depth = 0;
    for (index, part) in cell.split('`').enumerate() {
        if index % 2 == 1 {
            if depth == 0 {
                inside.push(part);
            }
            continue;
        }
        for c in part.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ if depth == 0 => outside.push(c),
                _ => {}
            }
        }
        outside.push('|');
    }
    let separators_only = outside
        .split('|')
        .all(|s| matches!(s.trim(), "" | "," | ", or" | "or" | "→"));
    separators_only.then_some(inside)
}

/// `field: a, b` → (field, {a, b}).
fn condition(text: &str) -> (String, BTreeSet<String>) {
    let (field, values) = text.split_once(": ").expect("field: values");
    (
        field.to_owned(),
        values.split(", ").map(|v| v.to_owned()).collect(),
    )
}

/// One documented row: the logsource, its alternatives (each a set of
/// conditions) and the renames every alternative makes.
struct Row {
    logsource: Logsource,
    alternatives: BTreeSet<BTreeSet<(String, BTreeSet<String>)>>,
    renames: BTreeSet<(String, String)>,
}

/// The rows of the table that state conditions exactly (not the rows about
/// "any other" logsource or with placeholders such as `S`).
fn documented_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for line in CRATE_DOCS.lines() {
        let Some(row) = line.strip_prefix("//! | `") else {
            continue;
        };
        let row = format!("`{row}");
        let cells: Vec<&str> = row
            .trim_end_matches('|')
            .split(" | ")
            .map(str::trim)
            .collect();
        let [source_cell, conditions_cell, renames_cell] = cells[..] else {
            continue;
        };
        let (Some(source), Some(conditions)) =
            (backticked(source_cell), backticked(conditions_cell))
        else {
            continue;
        };
        // A third cell in words (the record's own names) claims no renames.
        let renames = backticked(renames_cell).unwrap_or_default();
        let placeholder = |text: &str| {
            text.split([' ', ',', '.', ':'])
                .any(|word| matches!(word, "S" | "C" | "P"))
        };
        if source.iter().chain(&conditions).any(|t| placeholder(t)) {
            continue;
        }
        let mut logsource = Logsource::default();
        for pair in source[0].split(", ") {
            let (key, value) = pair.split_once(": ").expect("key: value");
            let slot = match key {
                "product" => &mut logsource.product,
                "category" => &mut logsource.category,
                "service" => &mut logsource.service,
                other => panic!("unknown logsource key {other}"),
            };
            *slot = Some(value.to_owned());
        }
        // Alternatives are separated by ", or" between backticked conditions.
        let alternatives = conditions_cell
            .split(", or ")
            .map(|alternative| {
                backticked(alternative)
                    .expect("backticked conditions")
                    .into_iter()
                    .map(condition)
                    .collect()
            })
            .collect();
        let renames = renames
            .chunks(2)
            .map(|pair| (pair[0].to_owned(), pair[1].to_owned()))
            .collect();
        rows.push(Row {
            logsource,
            alternatives,
            renames,
        });
    }
    rows
}

#[test]
fn the_documented_table_is_the_mapping() {
    let mapping = LogsourceMapping::builtin();
    let rows = documented_rows();
    assert!(rows.len() >= 15, "only {} rows read", rows.len());
    for row in rows {
        let resolved = mapping
            .resolve(&row.logsource)
            .unwrap_or_else(|e| panic!("{}: {e}", row.logsource));
        let alternatives: BTreeSet<BTreeSet<(String, BTreeSet<String>)>> = resolved
            .iter()
            .map(|alternative| {
                alternative
                    .conditions
                    .iter()
                    .map(|c| (c.field.clone(), c.values.iter().cloned().collect()))
                    .collect()
            })
            .collect();
        assert_eq!(alternatives, row.alternatives, "{}", row.logsource);
        for alternative in &resolved {
            let renames: BTreeSet<(String, String)> = alternative.fields.iter().cloned().collect();
            assert_eq!(renames, row.renames, "{}", row.logsource);
        }
    }
}

fn rule(id: &str, logsource: &str, detection: &str) -> String {
    format!(
        "title: Test {id}\nid: {id}\nlogsource: {logsource}\ndetection:\n{detection}\n    condition: selection\nlevel: medium\n"
    )
}

#[test]
fn normalised_events_reach_the_rules_written_for_their_source() {
    let rules = [
        rule(
            "00000000-0000-4000-8000-0000000c0001",
            "{category: dns}",
            "    selection:\n        query|endswith: '.dmevals.local'\n        record_type: A",
        ),
        rule(
            "00000000-0000-4000-8000-0000000c0002",
            "{category: webserver}",
            "    selection:\n        cs-uri-query|contains: 'cmd=whoami'\n        cs-method: GET\n        sc-status: 200",
        ),
        rule(
            "00000000-0000-4000-8000-0000000c0003",
            "{category: proxy}",
            "    selection:\n        c-useragent|contains: 'sqlmap'\n        cs-host: shop.example.org",
        ),
        rule(
            "00000000-0000-4000-8000-0000000c0004",
            "{category: firewall}",
            "    selection:\n        dst_port: 23\n        action: blocked",
        ),
        rule(
            "00000000-0000-4000-8000-0000000c0005",
            "{product: linux, service: sshd}",
            "    selection:\n        - 'Failed password'",
        ),
        rule(
            "00000000-0000-4000-8000-0000000c0006",
            "{product: linux, service: auth}",
            "    selection:\n        - 'authentication failure'",
        ),
        rule(
            "00000000-0000-4000-8000-0000000c0007",
            "{product: suricata, service: alert}",
            "    selection:\n        alert.signature_id: 2013504",
        ),
        rule(
            "00000000-0000-4000-8000-0000000c0008",
            "{product: zeek, service: dns}",
            "    selection:\n        query|endswith: '.dmevals.local'",
        ),
    ];
    let texts: Vec<&str> = rules.iter().map(String::as_str).collect();
    let rules = compile(&texts);
    let id = |n: u32| format!("00000000-0000-4000-8000-0000000c000{n}");

    let zeek_dns = br#"{"_path":"dns","ts":"2020-04-30T00:06:39.824370Z","uid":"Cvf4XX17hSAgXDdGEd","id.orig_h":"10.0.1.6","id.orig_p":54243,"id.resp_h":"10.0.0.4","id.resp_p":53,"proto":"udp","query":"newyork.dmevals.local","qtype_name":"A","rcode_name":"NOERROR","answers":["10.0.0.4"]}"#;
    let event = live_event(zeek_dns, &hint(Format::Auto));
    assert_eq!(with_live_view(&event, |v| fired(&rules, v)), [id(1), id(8)]);
    // Hunting the file sees only the record's own fields: `_path`.
    assert_eq!(with_record_view(zeek_dns, |v| fired(&rules, v)), [id(8)]);

    let suricata_http = br#"{"timestamp":"2024-03-15T10:22:14.985026+0100","flow_id":1,"event_type":"http","src_ip":"203.0.113.9","src_port":40000,"dest_ip":"10.0.0.80","dest_port":80,"proto":"TCP","http":{"hostname":"shop.example.org","url":"/search.php?q=1&cmd=whoami","http_user_agent":"sqlmap/1.7","http_method":"GET","status":200,"length":12}}"#;
    let event = live_event(suricata_http, &hint(Format::Auto));
    assert_eq!(with_live_view(&event, |v| fired(&rules, v)), [id(2), id(3)]);

    let suricata_alert = br#"{"timestamp":"2024-03-15T10:22:14.985026+0100","event_type":"alert","src_ip":"10.1.2.3","dest_port":80,"alert":{"signature_id":2013504,"signature":"ET POLICY x","severity":3}}"#;
    let event = live_event(suricata_alert, &hint(Format::Auto));
    assert_eq!(with_live_view(&event, |v| fired(&rules, v)), [id(7)]);

    let cef = b"<134>Mar 15 10:00:00 fw1 CEF:0|Acme|Gate|2.1|100|Blocked|7|src=10.0.0.1 dst=10.0.0.2 dpt=23 act=blocked";
    let event = live_event(cef, &hint(Format::Auto));
    assert_eq!(with_live_view(&event, |v| fired(&rules, v)), [id(4)]);

    let mut linux = hint(Format::Auto);
    linux.host_os_type = Some("linux".into());
    let sshd = b"<38>Mar 15 10:22:14 web01 sshd[4242]: Failed password for root from 203.0.113.77 port 40022 ssh2";
    let event = live_event(sshd, &linux);
    assert_eq!(with_live_view(&event, |v| fired(&rules, v)), [id(5)]);
    let sudo = b"<85>Mar 15 10:22:15 web01 sudo: pam_unix(sudo:auth): authentication failure; logname=bob uid=1000";
    let event = live_event(sudo, &linux);
    assert_eq!(with_live_view(&event, |v| fired(&rules, v)), [id(6)]);
    // From a host whose OS the sensor does not declare, `auth` cannot apply.
    let event = live_event(sudo, &hint(Format::Auto));
    assert!(with_live_view(&event, |v| fired(&rules, v)).is_empty());
}
