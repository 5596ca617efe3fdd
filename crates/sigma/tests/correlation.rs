//! Correlation rules: every type of the specification at its window edges,
//! lateness, arrival order, group-by, aliases, generate, chains, redelivery,
//! bounds, and a save/restore of the engine in the middle of a window.

use nigehban_sigma::{
    CompileOptions, CompiledRuleSet, CorrelationEngine, CorrelationLimits, CorrelationMatch,
    CorrelationSet, DiagnosticKind, Event, Level, LogsourceMapping, RuleSet, Value,
};
use proptest::prelude::*;

/// An event as a list of fields.
struct Fields(Vec<(String, String)>);

impl Event for Fields {
    fn field(&self, name: &str, visit: &mut dyn FnMut(Value<'_>)) {
        for (n, v) in &self.0 {
            if n == name {
                match v.parse::<i64>() {
                    Ok(i) => visit(Value::Int(i)),
                    Err(_) => visit(Value::Str(v)),
                }
            }
        }
    }
    fn values(&self, visit: &mut dyn FnMut(Value<'_>)) {
        for (_, v) in &self.0 {
            visit(Value::Str(v));
        }
    }
}

/// Base rules: failed and successful Windows logons, a 4688 process creation.
const BASE: &str = r#"
title: Failed logon
id: failed-logon
name: failed_login
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4625}
  condition: sel
---
title: Successful logon
id: successful-logon
name: successful_login
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4624}
  condition: sel
---
title: Process created
id: process-created
name: process_created
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4688}
  condition: sel
"#;

struct Rig {
    compiled: CompiledRuleSet,
    set: CorrelationSet,
}

fn rig(correlations: &str) -> Rig {
    rig_with(correlations, &CompileOptions::default())
}

fn rig_with(correlations: &str, options: &CompileOptions) -> Rig {
    let mut rules = RuleSet::new();
    rules.add_str(BASE, "base.yml");
    rules.add_str(correlations, "correlations.yml");
    assert!(rules.diagnostics().is_empty(), "{:?}", rules.diagnostics());
    let (compiled, problems) = CompiledRuleSet::new(&rules, &LogsourceMapping::builtin(), options);
    assert!(problems.is_empty(), "{problems:?}");
    let (set, problems) = CorrelationSet::new(&rules, &compiled, options);
    assert!(problems.is_empty(), "{problems:?}");
    Rig { compiled, set }
}

/// One event: seconds, id, EventID, other fields.
#[derive(Debug, Clone)]
struct Ev {
    secs: i64,
    id: String,
    fields: Vec<(String, String)>,
}

fn ev(secs: i64, id: &str, event_id: u32, fields: &[(&str, &str)]) -> Ev {
    let mut all = vec![
        ("Channel".to_owned(), "Security".to_owned()),
        ("EventID".to_owned(), event_id.to_string()),
    ];
    all.extend(fields.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    Ev {
        secs,
        id: id.to_owned(),
        fields: all,
    }
}

impl Rig {
    /// Feeds `events` in the order given.
    fn feed(&self, engine: &mut CorrelationEngine, events: &[Ev], out: &mut Vec<CorrelationMatch>) {
        let mut scratch = self.compiled.scratch();
        let mut hits = Vec::new();
        for e in events {
            let event = Fields(e.fields.clone());
            hits.clear();
            self.compiled.matches(&event, &mut scratch, &mut hits);
            for &rule in &hits {
                if let Some(o) = self.set.observation(rule, e.secs * 1000, &e.id, &event) {
                    engine.observe(&self.set, &o, out);
                }
            }
        }
    }

    /// Feeds `events` and flushes.
    fn run(
        &self,
        limits: CorrelationLimits,
        events: &[Ev],
    ) -> (Vec<CorrelationMatch>, CorrelationEngine) {
        let mut engine = CorrelationEngine::new(limits);
        let mut out = Vec::new();
        self.feed(&mut engine, events, &mut out);
        engine.flush(&self.set, &mut out);
        (out, engine)
    }
}

fn lateness(secs: i64) -> CorrelationLimits {
    CorrelationLimits {
        allowed_lateness_ms: secs * 1000,
        ..CorrelationLimits::default()
    }
}

/// (title, group key, event ids) of each match.
fn summary(matches: &[CorrelationMatch]) -> Vec<(String, String, Vec<String>)> {
    matches
        .iter()
        .map(|m| (m.rule.title.clone(), m.group_key(), m.event_ids.clone()))
        .collect()
}

const BRUTE_FORCE: &str = r#"
title: Brute force
id: brute-force
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [TargetUserName]
  timespan: 1m
  condition: {gte: 3}
level: high
"#;

fn failed(secs: i64, id: &str, user: &str) -> Ev {
    ev(secs, id, 4625, &[("TargetUserName", user)])
}

#[test]
fn event_count_fires_for_events_within_the_timespan_and_not_beyond() {
    let r = rig(BRUTE_FORCE);
    // Just inside: first and last event exactly one timespan apart.
    let (m, _) = r.run(
        lateness(0),
        &[
            failed(0, "a", "bob"),
            failed(30, "b", "bob"),
            failed(60, "c", "bob"),
        ],
    );
    assert_eq!(
        summary(&m),
        [(
            "Brute force".to_owned(),
            "bob".to_owned(),
            vec!["a".to_owned(), "b".into(), "c".into()]
        )]
    );
    assert_eq!(
        m[0].group,
        [("TargetUserName".to_owned(), "bob".to_owned())]
    );
    assert_eq!((m[0].window_start_ms, m[0].window_end_ms), (0, 60_000));
    assert_eq!((m[0].event_count, m[0].value), (3, 3.0));
    // Just outside: one second more.
    let (m, _) = r.run(
        lateness(0),
        &[
            failed(0, "a", "bob"),
            failed(30, "b", "bob"),
            failed(61, "c", "bob"),
        ],
    );
    assert!(m.is_empty(), "{m:?}");
    // The window slides: events 1..3 of 0, 30, 61, 62 are within a minute.
    let (m, _) = r.run(
        lateness(0),
        &[
            failed(0, "a", "bob"),
            failed(30, "b", "bob"),
            failed(61, "c", "bob"),
            failed(62, "d", "bob"),
        ],
    );
    assert_eq!(summary(&m)[0].2, ["b", "c", "d"]);
}

#[test]
fn groups_are_separate_and_a_fired_window_re_arms_with_the_next_events() {
    let r = rig(BRUTE_FORCE);
    let events = [
        failed(0, "1", "bob"),
        failed(1, "2", "alice"),
        failed(2, "3", "bob"),
        failed(3, "4", "alice"),
        failed(4, "5", "carol"),
        failed(5, "6", "bob"),
        // Bob's window fired with 1, 2, 3 of his; these start a new one.
        failed(6, "7", "bob"),
        failed(7, "8", "bob"),
        failed(8, "9", "bob"),
        failed(9, "10", "bob"),
    ];
    let (m, engine) = r.run(lateness(0), &events);
    assert_eq!(
        summary(&m),
        [
            (
                "Brute force".to_owned(),
                "bob".to_owned(),
                vec!["1".to_owned(), "3".into(), "6".into()]
            ),
            (
                "Brute force".to_owned(),
                "bob".to_owned(),
                vec!["7".to_owned(), "8".into(), "9".into()]
            ),
        ]
    );
    assert_eq!(engine.counters().matches, 2);
    // Events without the group-by field are not grouped, and counted.
    let (m, engine) = r.run(
        lateness(0),
        &[
            ev(0, "x", 4625, &[]),
            ev(1, "y", 4625, &[]),
            ev(2, "z", 4625, &[]),
        ],
    );
    assert!(m.is_empty());
    assert_eq!(engine.counters().missing_group_field, 3);
}

#[test]
fn late_events_count_within_the_allowed_lateness_and_are_dropped_beyond() {
    let r = rig(BRUTE_FORCE);
    // Newest is 100 s; lateness 10 s: an event at 90 s is just in time.
    let events = [
        failed(91, "a", "bob"),
        failed(100, "b", "bob"),
        failed(90, "c", "bob"),
    ];
    let (m, engine) = r.run(lateness(10), &events);
    assert_eq!(
        summary(&m)[0].2,
        ["c", "a", "b"],
        "evaluated in event-time order"
    );
    assert_eq!(engine.counters().late, 0);
    // ... one at 89 s is too late: dropped and counted.
    let events = [
        failed(91, "a", "bob"),
        failed(100, "b", "bob"),
        failed(89, "c", "bob"),
    ];
    let (m, engine) = r.run(lateness(10), &events);
    assert!(m.is_empty(), "{m:?}");
    assert_eq!(engine.counters().late, 1);
}

#[test]
fn a_match_waits_for_the_watermark_and_then_comes_once() {
    let r = rig(BRUTE_FORCE);
    let mut engine = CorrelationEngine::new(lateness(10));
    let mut out = Vec::new();
    r.feed(
        &mut engine,
        &[
            failed(0, "a", "bob"),
            failed(1, "b", "bob"),
            failed(2, "c", "bob"),
        ],
        &mut out,
    );
    assert!(out.is_empty(), "the third event waits for the lateness");
    assert_eq!(engine.pending(), 3);
    r.feed(&mut engine, &[failed(12, "d", "eve")], &mut out);
    assert!(
        out.is_empty(),
        "the watermark (2 s) has not passed the third event"
    );
    r.feed(&mut engine, &[failed(13, "e", "eve")], &mut out);
    assert_eq!(summary(&out).len(), 1);
    assert_eq!(out[0].event_ids, ["a", "b", "c"]);
    // Redelivered after it fired: older than the watermark, not counted again.
    r.feed(
        &mut engine,
        &[failed(2, "c", "bob"), failed(1, "b", "bob")],
        &mut out,
    );
    engine.flush(&r.set, &mut out);
    assert_eq!(out.len(), 1);
}

#[test]
fn a_redelivered_event_is_counted_once() {
    let r = rig(BRUTE_FORCE);
    let events = [
        failed(0, "a", "bob"),
        failed(1, "b", "bob"),
        failed(1, "b", "bob"),
        failed(0, "a", "bob"),
    ];
    let (m, engine) = r.run(lateness(60), &events);
    assert!(m.is_empty(), "{m:?}");
    assert_eq!(engine.counters().duplicates, 2);
}

#[test]
fn value_count_counts_distinct_values_per_group() {
    let r = rig(r#"
title: Password spraying
id: spraying
correlation:
  type: value_count
  rules: [failed-logon]
  group-by: [IpAddress]
  timespan: 5m
  condition: {field: TargetUserName, gt: 2}
"#);
    let spray = |secs, id: &str, ip, user| {
        ev(
            secs,
            id,
            4625,
            &[("IpAddress", ip), ("TargetUserName", user)],
        )
    };
    let events = [
        spray(0, "1", "10.0.0.1", "a"),
        spray(10, "2", "10.0.0.1", "a"),
        spray(20, "3", "10.0.0.2", "b"),
        spray(30, "4", "10.0.0.1", "b"),
        spray(40, "5", "10.0.0.2", "c"),
        spray(300, "6", "10.0.0.1", "c"),
        // 10.0.0.2 sees its third user one second too late.
        spray(321, "7", "10.0.0.2", "d"),
    ];
    let (m, _) = r.run(lateness(0), &events);
    assert_eq!(
        summary(&m),
        [(
            "Password spraying".to_owned(),
            "10.0.0.1".to_owned(),
            vec!["1".to_owned(), "2".into(), "4".into(), "6".into()]
        )]
    );
    assert_eq!(m[0].value, 3.0);
}

const RECON_THEN_LOGON: &str = r#"
title: Process then logon
id: temporal-rule
correlation:
  type: temporal
  rules: [process_created, successful_login]
  group-by: [User]
  timespan: 5m
---
title: Process then logon, in order
id: ordered-rule
correlation:
  type: temporal_ordered
  rules: [process_created, successful_login]
  group-by: [User]
  timespan: 5m
"#;

#[test]
fn temporal_needs_every_rule_within_the_timespan_and_temporal_ordered_their_order() {
    let r = rig(RECON_THEN_LOGON);
    let process = |secs, id: &str| ev(secs, id, 4688, &[("User", "bob")]);
    let logon = |secs, id: &str| ev(secs, id, 4624, &[("User", "bob")]);
    // In order, just inside.
    let (m, _) = r.run(lateness(0), &[process(0, "p"), logon(300, "l")]);
    let mut titles: Vec<_> = m.iter().map(|m| m.rule.title.as_str()).collect();
    titles.sort();
    assert_eq!(
        titles,
        ["Process then logon", "Process then logon, in order"]
    );
    // Just outside.
    let (m, _) = r.run(lateness(0), &[process(0, "p"), logon(301, "l")]);
    assert!(m.is_empty(), "{m:?}");
    // Reverse order: temporal only.
    let (m, _) = r.run(lateness(0), &[logon(0, "l"), process(10, "p")]);
    let titles: Vec<_> = m.iter().map(|m| m.rule.title.as_str()).collect();
    assert_eq!(titles, ["Process then logon"]);
    // Reverse, then in order: ordered finds process(10) then logon(20).
    let (m, _) = r.run(
        lateness(0),
        &[logon(0, "l1"), process(10, "p"), logon(20, "l2")],
    );
    let ordered: Vec<_> = m
        .iter()
        .filter(|m| m.rule.id.as_deref() == Some("ordered-rule"))
        .collect();
    assert_eq!(ordered.len(), 1);
    assert_eq!(ordered[0].event_ids, ["l1", "p", "l2"]);
    // Another user's logon does not complete bob's.
    let other = ev(10, "o", 4624, &[("User", "eve")]);
    let (m, _) = r.run(lateness(0), &[process(0, "p"), other]);
    assert!(m.is_empty());
}

#[test]
fn value_aggregations_are_decided_over_the_complete_window() {
    let r = rig(r#"
title: Exfiltration
id: sum
correlation:
  type: value_sum
  rules: [process-created]
  group-by: [Computer]
  timespan: 1h
  condition: {field: Bytes, gt: 1000}
---
title: Large average
id: avg
correlation:
  type: value_avg
  rules: [process-created]
  group-by: [Computer]
  timespan: 1h
  condition: {field: Bytes, gte: 400, lt: 600}
---
title: Rare process
id: percentile
correlation:
  type: value_percentile
  rules: [process-created]
  group-by: [Computer]
  timespan: 1h
  condition: {field: Image, lte: 20}
"#);
    let p = |secs, id: &str, pc, bytes, image| {
        ev(
            secs,
            id,
            4688,
            &[("Computer", pc), ("Bytes", bytes), ("Image", image)],
        )
    };
    let events = [
        p(0, "1", "pc1", "400", "a.exe"),
        p(60, "2", "pc1", "500", "a.exe"),
        p(120, "3", "pc1", "300", "a.exe"),
        p(180, "4", "pc1", "x", "a.exe"),
        p(3600, "5", "pc1", "500", "b.exe"),
        // Outside pc1's first window (ends at 3600 s): its own window.
        p(3601, "6", "pc1", "5000", "a.exe"),
        p(0, "7", "pc2", "100", "a.exe"),
    ];
    let (m, _) = r.run(lateness(0), &events);
    let got: Vec<_> = m
        .iter()
        .map(|m| {
            (
                m.rule.id.clone().unwrap(),
                m.group_key(),
                m.event_count,
                m.value,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            // pc1's first hour: 400 + 500 + 300 + 500 (the "x" is no number), b.exe is 1 of 5.
            // (Windows closing at the same time close in the order of the rule ids.)
            ("avg".to_owned(), "pc1".to_owned(), 5, 425.0),
            ("percentile".to_owned(), "pc1".to_owned(), 5, 20.0),
            ("sum".to_owned(), "pc1".to_owned(), 5, 1700.0),
            ("sum".to_owned(), "pc1".to_owned(), 1, 5000.0),
        ]
    );
}

#[test]
fn conditions_other_than_at_least_are_decided_when_the_window_closes() {
    let r = rig(r#"
title: Exactly two
id: exactly
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [TargetUserName]
  timespan: 1m
  condition: {eq: 2}
---
title: Between
id: between
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [TargetUserName]
  timespan: 1m
  condition: {gt: 1, lte: 3}
---
title: Not one
id: not-one
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [TargetUserName]
  timespan: 1m
  condition: {neq: 1}
"#);
    let events = [
        failed(0, "1", "two"),
        failed(60, "2", "two"),
        failed(0, "3", "four"),
        failed(1, "4", "four"),
        failed(2, "5", "four"),
        failed(3, "6", "four"),
        failed(0, "7", "one"),
    ];
    let mut got: Vec<_> = r
        .run(lateness(60), &events)
        .0
        .iter()
        .map(|m| (m.rule.id.clone().unwrap(), m.group_key()))
        .collect();
    got.sort();
    let expected: Vec<(String, String)> = [
        ("between", "two"),
        ("exactly", "two"),
        ("not-one", "four"),
        ("not-one", "two"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, expected);
}

#[test]
fn aliases_group_different_fields_of_different_rules() {
    let r = rig(r#"
title: Logon from the host that ran the process
id: aliased
correlation:
  type: temporal
  rules: [process_created, successful_login]
  group-by: [host]
  timespan: 1m
  aliases:
    host:
      process_created: Computer
      successful_login: WorkstationName
"#);
    let events = [
        ev(
            0,
            "p",
            4688,
            &[("Computer", "pc7"), ("WorkstationName", "x")],
        ),
        ev(
            10,
            "l",
            4624,
            &[("Computer", "dc1"), ("WorkstationName", "pc7")],
        ),
        ev(
            20,
            "l2",
            4624,
            &[("Computer", "pc7"), ("WorkstationName", "pc8")],
        ),
    ];
    let (m, _) = r.run(lateness(0), &events);
    assert_eq!(
        summary(&m),
        [(
            "Logon from the host that ran the process".to_owned(),
            "pc7".to_owned(),
            vec!["p".to_owned(), "l".into()]
        )]
    );
    assert_eq!(m[0].group, [("host".to_owned(), "pc7".to_owned())]);
}

#[test]
fn generate_decides_whether_referenced_rules_are_detections_on_their_own() {
    let r = rig(BRUTE_FORCE);
    let index = |id: &str| {
        (0..r.compiled.len())
            .find(|&i| r.compiled.rule(i).id.as_deref() == Some(id))
            .unwrap()
    };
    assert!(!r.set.base_emits(index("failed-logon")));
    assert!(r.set.base_emits(index("successful-logon")));
    let r = rig(&BRUTE_FORCE.replace(
        "  condition: {gte: 3}",
        "  condition: {gte: 3}\n  generate: true",
    ));
    assert!(r.set.base_emits(index("failed-logon")));
    // A referenced rule below --min-level is still compiled for its correlation, and not reported.
    let r = rig_with(
        BRUTE_FORCE,
        &CompileOptions {
            min_level: Some(Level::High),
        },
    );
    assert_eq!(r.compiled.len(), 1);
    assert!(!r.set.base_emits(0));
    let (m, _) = r.run(
        lateness(0),
        &[
            failed(0, "a", "bob"),
            failed(1, "b", "bob"),
            failed(2, "c", "bob"),
        ],
    );
    assert_eq!(m.len(), 1);
}

#[test]
fn correlations_chain_as_in_the_specification_example() {
    let r = rig(r#"
title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
correlation:
  type: temporal_ordered
  rules: [multiple_failed_login, successful_login]
  group-by: [User]
  timespan: 10m
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
name: multiple_failed_login
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [User]
  timespan: 10m
  condition: {gte: 3}
"#);
    assert!(
        !r.set.emits(1),
        "the inner correlation only feeds the outer one"
    );
    let f = |secs, id: &str, user| ev(secs, id, 4625, &[("User", user)]);
    let ok = |secs, id: &str, user| ev(secs, id, 4624, &[("User", user)]);
    let events = [
        ok(0, "early", "bob"),
        f(10, "f1", "bob"),
        f(20, "f2", "bob"),
        f(30, "f3", "bob"),
        ok(40, "win", "bob"),
        f(10, "g1", "eve"),
        f(20, "g2", "eve"),
        ok(30, "eve-ok", "mallory"),
    ];
    let (m, _) = r.run(lateness(60), &events);
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(
        m[0].rule.title,
        "Correlation - Multiple Failed Logins Followed by Successful Login"
    );
    assert_eq!(m[0].group_key(), "bob");
    assert_eq!(m[0].event_ids.len(), 3, "{:?}", m[0].event_ids);
    assert_eq!(m[0].event_ids[2], "win");
}

#[test]
fn references_to_missing_rules_and_cycles_are_reported() {
    let mut rules = RuleSet::new();
    rules.add_str(BASE, "base.yml");
    rules.add_str(
        r#"
title: Missing
id: missing
correlation: {type: event_count, rules: [nowhere], group-by: [User], timespan: 1m, condition: {gte: 2}}
---
title: A
id: a
correlation: {type: temporal, rules: [b, failed_login], group-by: [User], timespan: 1m}
---
title: B
id: b
correlation: {type: temporal, rules: [a, failed_login], group-by: [User], timespan: 1m}
---
title: Fine
id: fine
correlation: {type: event_count, rules: [failed_login], group-by: [User], timespan: 1m, condition: {gte: 2}}
"#,
        "c.yml",
    );
    let (compiled, problems) = CompiledRuleSet::new(
        &rules,
        &LogsourceMapping::builtin(),
        &CompileOptions::default(),
    );
    assert!(problems.is_empty(), "{problems:?}");
    let (set, problems) = CorrelationSet::new(&rules, &compiled, &CompileOptions::default());
    assert_eq!(set.len(), 1);
    assert_eq!(set.rule(0).title, "Fine");
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert!(
        problems.iter().all(|p| p.kind == DiagnosticKind::Error),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("'nowhere'") && t.contains("(Missing)")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("(A)") && t.contains("refers back")),
        "{text:?}"
    );
    assert!(text.iter().any(|t| t.contains("(B)")), "{text:?}");
}

#[test]
fn groups_and_events_are_bounded_and_evictions_counted() {
    let r = rig(BRUTE_FORCE);
    let limits = CorrelationLimits {
        allowed_lateness_ms: 0,
        max_groups: 8,
        max_events_per_group: 2,
        ..CorrelationLimits::default()
    };
    let events: Vec<Ev> = (0..20)
        .map(|i| failed(i, &format!("e{i}"), &format!("user{i}")))
        .collect();
    let (_, engine) = r.run(limits, &events);
    assert!(
        engine.counters().evicted_groups >= 12,
        "{:?}",
        engine.counters()
    );
    // Two events per group at most: three never make a match.
    let (m, engine) = r.run(
        limits,
        &[
            failed(0, "a", "bob"),
            failed(1, "b", "bob"),
            failed(2, "c", "bob"),
        ],
    );
    assert!(m.is_empty());
    assert_eq!(engine.counters().evicted_events, 1);
}

/// A mixed stream for the order and restart tests.
fn stream() -> Vec<Ev> {
    let mut events = Vec::new();
    for i in 0..60i64 {
        let user = ["bob", "eve", "ann"][(i % 3) as usize];
        let id = format!("e{i:03}");
        let secs = i * 7 % 200;
        let event_id = [4625, 4625, 4624, 4688][(i % 4) as usize];
        events.push(ev(
            secs,
            &id,
            event_id,
            &[
                ("TargetUserName", user),
                ("User", user),
                ("Computer", "pc"),
                ("Bytes", "300"),
                ("Image", user),
            ],
        ));
    }
    events
}

const ALL_TYPES: &str = r#"
title: Count
id: count
correlation: {type: event_count, rules: [failed_login], group-by: [TargetUserName], timespan: 30s, condition: {gte: 2}}
---
title: Values
id: values
correlation: {type: value_count, rules: [failed_login, process_created], group-by: [Computer], timespan: 30s, condition: {field: User, gte: 2}}
---
title: Temporal
id: temporal
correlation: {type: temporal, rules: [failed_login, successful_login], group-by: [User], timespan: 1m}
---
title: Ordered
id: ordered
correlation: {type: temporal_ordered, rules: [successful_login, failed_login], group-by: [User], timespan: 1m}
---
title: Sum
id: sum
correlation: {type: value_sum, rules: [process_created], group-by: [Computer], timespan: 1m, condition: {field: Bytes, gte: 600}}
---
title: Average
id: avg
correlation: {type: value_avg, rules: [process_created], group-by: [Computer], timespan: 1m, condition: {field: Bytes, eq: 300}}
---
title: Percentile
id: pct
correlation: {type: value_percentile, rules: [process_created], group-by: [Computer], timespan: 1m, condition: {field: Image, lte: 40}}
"#;

#[test]
fn state_saved_and_restored_mid_window_gives_the_uninterrupted_result() {
    let r = rig(ALL_TYPES);
    let events = stream();
    let (uninterrupted, _) = r.run(lateness(20), &events);
    assert!(uninterrupted.len() > 10, "{}", uninterrupted.len());
    for cut in [1, 17, 30, 59] {
        let mut engine = CorrelationEngine::new(lateness(20));
        let mut out = Vec::new();
        r.feed(&mut engine, &events[..cut], &mut out);
        let saved = serde_json::to_vec(&engine).unwrap();
        drop(engine);
        let mut engine: CorrelationEngine = serde_json::from_slice(&saved).unwrap();
        // At-least-once: the last batch comes again after the restart.
        r.feed(&mut engine, &events[cut.saturating_sub(3)..], &mut out);
        engine.flush(&r.set, &mut out);
        assert_eq!(summary(&out), summary(&uninterrupted), "cut at {cut}");
    }
}

#[test]
fn saved_state_of_a_changed_correlation_is_dropped() {
    let r = rig(BRUTE_FORCE);
    let mut engine = CorrelationEngine::new(lateness(0));
    let mut out = Vec::new();
    r.feed(
        &mut engine,
        &[
            failed(0, "a", "bob"),
            failed(1, "b", "bob"),
            failed(2, "c", "bob"),
        ],
        &mut out,
    );
    let changed = rig(&BRUTE_FORCE.replace("gte: 3", "gte: 4"));
    engine.retain(&changed.set);
    changed.feed(
        &mut engine,
        &[failed(3, "d", "bob"), failed(4, "e", "bob")],
        &mut out,
    );
    engine.flush(&changed.set, &mut out);
    assert!(out.is_empty(), "{out:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Arrival order within the allowed lateness does not change the result.
    #[test]
    fn the_result_does_not_depend_on_arrival_order_within_the_lateness(
        jitter in proptest::collection::vec(0i64..=20, 60),
    ) {
        let r = rig(ALL_TYPES);
        let mut events = stream();
        events.sort_by_key(|e| (e.secs, e.id.clone()));
        let (in_order, _) = r.run(lateness(20), &events);
        // Each event arrives up to 20 s (the lateness) after its time.
        let mut shuffled: Vec<(i64, Ev)> =
            events.iter().cloned().zip(&jitter).map(|(e, j)| (e.secs + j, e)).collect();
        shuffled.sort_by_key(|(arrival, e)| (*arrival, e.id.clone()));
        let shuffled: Vec<Ev> = shuffled.into_iter().map(|(_, e)| e).collect();
        let (out_of_order, engine) = r.run(lateness(20), &shuffled);
        prop_assert_eq!(engine.counters().late, 0);
        prop_assert_eq!(summary(&out_of_order), summary(&in_order));
    }
}
