//! Property test: the compiled matcher agrees with the reference interpreter
//! (`nigehban_sigma::reference`) on random rules and random events.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "corpus/support.rs"]
mod support;

use nigehban_sigma::{CompileOptions, CompiledRuleSet, LogsourceMapping, RuleSet};
use proptest::prelude::*;
use support::{Flat, FlatValue, Lookup};

const FIELDS: [&str; 5] = ["A", "B", "CommandLine", "Image", "EventID"];
const WORDS: [&str; 17] = [
    "*",
    "ab",
    "AB",
    "cmd.exe",
    "\\cmd.exe",
    "C:\\Windows",
    "-c",
    "/c",
    "Äb",
    "10",
    "9",
    "x y",
    "",
    "powershell",
    "10.1.2.3",
    "ab*",
    "a?",
];
const REGEXES: [&str; 6] = ["^ab", "exe$", "(?i)CMD", "a.c", "[0-9]+", "x|y"];

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[derive(Debug, Clone)]
struct Item {
    field: Option<usize>,
    modifier: usize,
    values: Vec<usize>,
}

const MODIFIERS: [&str; 14] = [
    "",
    "|contains",
    "|startswith",
    "|endswith",
    "|contains|all",
    "|re",
    "|contains|cased",
    "|contains|windash",
    "|neq",
    "|exists",
    "|gt",
    "|lt",
    "|cidr",
    "|base64offset|contains",
];

impl Item {
    fn yaml(&self, indent: &str) -> String {
        let m = MODIFIERS[self.modifier];
        let key = match self.field {
            Some(f) => format!("{}{m}", FIELDS[f]),
            None => format!("'{m}'"),
        };
        let value = |i: usize| -> String {
            match m {
                "|re" => quote(REGEXES[i % REGEXES.len()]),
                "|exists" => i.is_multiple_of(2).to_string(),
                "|gt" | "|lt" => (i % 12).to_string(),
                "|cidr" => quote(["10.0.0.0/8", "10.1.2.3/32", "::/0"][i % 3]),
                _ if i == 99 => "null".into(),
                _ => quote(WORDS[i % WORDS.len()]),
            }
        };
        if self.values.len() == 1 || m == "|exists" {
            format!("{indent}{key}: {}\n", value(self.values[0]))
        } else {
            let mut s = format!("{indent}{key}:\n");
            for &v in &self.values {
                s.push_str(&format!("{indent}    - {}\n", value(v)));
            }
            s
        }
    }
}

fn item() -> impl Strategy<Value = Item> {
    (
        prop_oneof![9 => (0..FIELDS.len()).prop_map(Some), 1 => Just(None)],
        0..MODIFIERS.len(),
        prop::collection::vec(prop_oneof![20 => 0usize..40, 1 => Just(99usize)], 1..4),
    )
        .prop_map(|(field, modifier, mut values)| {
            let m = MODIFIERS[modifier];
            // Shapes the spec rejects: keywords with field-only modifiers, null with modifiers.
            let field = if matches!(m, "|exists" | "|neq" | "|gt" | "|lt" | "|cidr") {
                field.or(Some(0))
            } else {
                field
            };
            if !m.is_empty() && m != "|neq" || field.is_none() {
                values.retain(|&v| v != 99);
                if values.is_empty() {
                    values.push(0);
                }
            }
            Item {
                field,
                modifier,
                values,
            }
        })
}

#[derive(Debug, Clone)]
struct Rule {
    selections: Vec<Vec<Item>>,
    condition: String,
}

fn condition(n: usize) -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        (0..n).prop_map(|i| format!("sel{i}")),
        Just("1 of sel*".to_string()),
        Just("all of them".to_string()),
    ];
    leaf.prop_recursive(3, 8, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.prop_map(|a| format!("not {a}")),
        ]
    })
}

fn rule() -> impl Strategy<Value = Rule> {
    (1usize..4)
        .prop_flat_map(|n| {
            (
                prop::collection::vec(prop::collection::vec(item(), 1..4), n),
                condition(n),
            )
        })
        .prop_map(|(selections, condition)| Rule {
            selections,
            condition,
        })
}

impl Rule {
    fn yaml(&self, id: usize) -> String {
        let mut s =
            format!("title: r{id}\nid: r-{id}\nlogsource:\n    category: test\ndetection:\n");
        for (i, sel) in self.selections.iter().enumerate() {
            s.push_str(&format!("    sel{i}:\n"));
            for item in sel {
                s.push_str(&item.yaml("        "));
            }
        }
        s.push_str(&format!("    condition: {}\n", self.condition));
        s
    }
}

fn event() -> impl Strategy<Value = Flat> {
    prop::collection::vec(
        (
            0..FIELDS.len(),
            prop_oneof![
                8 => (0usize..WORDS.len(), 0usize..WORDS.len()).prop_map(|(a, b)| FlatValue::Str(format!("{}{}", WORDS[a], WORDS[b]))),
                2 => (0usize..WORDS.len()).prop_map(|a| FlatValue::Str(WORDS[a].to_uppercase())),
                1 => (0i64..15).prop_map(FlatValue::Int),
                1 => Just(FlatValue::Null),
                1 => "[a-zA-Z0-9 ./\\\\-]{0,12}".prop_map(FlatValue::Str),
            ],
        ),
        0..6,
    )
    .prop_map(|pairs| {
        let mut f = Flat::default();
        f.0.insert("event.category".into(), vec![FlatValue::Str("test".into())]);
        for (k, v) in pairs {
            f.0.entry(FIELDS[k].to_string()).or_default().push(v);
        }
        f
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn compiled_matcher_agrees_with_reference(rules in prop::collection::vec(rule(), 1..4), events in prop::collection::vec(event(), 1..6)) {
        let mut set = RuleSet::new();
        for (i, r) in rules.iter().enumerate() {
            set.add_str(&r.yaml(i), &format!("r{i}.yml"));
        }
        let errors: Vec<String> = set.diagnostics().iter().filter(|d| d.is_error()).map(|d| d.to_string()).collect();
        prop_assert!(errors.is_empty(), "{:?}\n{}", errors, rules.iter().enumerate().map(|(i, r)| r.yaml(i)).collect::<String>());
        let (compiled, diags) = CompiledRuleSet::new(&set, &LogsourceMapping::builtin(), &CompileOptions::default());
        prop_assert!(diags.is_empty(), "{:?}", diags);
        let mut scratch = compiled.scratch();
        let mut out = Vec::new();
        for e in &events {
            // Both ways an event can be read: enumerated, and looked up field by field.
            out.clear();
            compiled.matches(e, &mut scratch, &mut out);
            let mut by_lookup = Vec::new();
            compiled.matches(&Lookup(e), &mut scratch, &mut by_lookup);
            prop_assert_eq!(&out, &by_lookup);
            for (r, rule) in rules.iter().enumerate() {
                let fast = out.contains(&r);
                let slow = compiled.reference_matches(r, e);
                prop_assert_eq!(fast, slow, "rule:\n{}\nevent: {:?}", rule.yaml(r), e);
            }
        }
    }
}
