//! Rules tuned per tenant: the nearest override up the tree decides, a
//! filter applies to its tenant and the tenants below it only, and a filter
//! drops exactly the events its condition excludes.

use nigehban_detect::{RuleTuning, TenantFilterSource, TuningInput};
use nigehban_sigma::{CompileOptions, LogsourceMapping, RuleSet};

use crate::support::with_record_view;

const RULE: &str = "title: Failed logon\nid: 11111111-2222-4333-8444-555555555555\nname: failed_logon\nlogsource:\n    product: windows\n    service: security\ndetection:\n    selection:\n        EventID: 4625\n    condition: selection\nlevel: medium\n";
const ID: &str = "11111111-2222-4333-8444-555555555555";

fn filter(by: &str) -> String {
    format!(
        "title: Backup account\nlogsource:\n    product: windows\nfilter:\n    rules:\n        - {by}\n    selection:\n        TargetUserName: svc-backup\n    condition: not selection\n"
    )
}

fn logon(user: &str) -> Vec<u8> {
    format!(
        r##"{{"Event":{{"System":{{"Provider":{{"#attributes":{{"Name":"Microsoft-Windows-Security-Auditing"}}}},"EventID":4625,"Channel":"Security","Computer":"ws-1"}},"EventData":{{"TargetUserName":"{user}"}}}}}}"##
    )
    .into_bytes()
}

/// national → sector → org → unit; national → other.
fn tenants() -> Vec<(String, Option<String>)> {
    [
        ("national", None),
        ("sector", Some("national")),
        ("org", Some("sector")),
        ("unit", Some("org")),
        ("other", Some("national")),
    ]
    .into_iter()
    .map(|(t, p)| (t.to_owned(), p.map(str::to_owned)))
    .collect()
}

fn build(input: &TuningInput) -> RuleTuning {
    let set = RuleSet::load_str(RULE, "rule.yml");
    let (tuning, problems) = RuleTuning::build(
        input,
        &set,
        &LogsourceMapping::builtin(),
        &CompileOptions::default(),
    );
    assert!(problems.is_empty(), "{problems:?}");
    tuning
}

#[test]
fn the_nearest_override_up_the_tree_decides() {
    let tuning = build(&TuningInput {
        overrides: vec![
            (ID.into(), "sector".into(), false),
            (ID.into(), "unit".into(), true),
        ],
        tenants: tenants(),
        ..TuningInput::default()
    });
    let allowed: Vec<bool> = ["national", "sector", "org", "unit", "other", "unknown"]
        .iter()
        .map(|t| tuning.allows(t, ID))
        .collect();
    assert_eq!(allowed, [true, false, false, true, true, true]);
    // Another rule is untouched.
    assert!(tuning.allows("org", "another-rule"));

    // Disabled for the platform: only where a tenant enables it.
    let tuning = build(&TuningInput {
        platform_disabled: vec![ID.into()],
        overrides: vec![(ID.into(), "org".into(), true)],
        tenants: tenants(),
        ..TuningInput::default()
    });
    let allowed: Vec<bool> = ["national", "sector", "org", "unit", "other", "unknown"]
        .iter()
        .map(|t| tuning.allows(t, ID))
        .collect();
    assert_eq!(allowed, [false, false, true, true, false, false]);
}

#[test]
fn a_filter_drops_what_it_excludes_in_its_subtree_only() {
    for by in [ID, "failed_logon"] {
        let tuning = build(&TuningInput {
            filters: vec![TenantFilterSource {
                id: "f1".into(),
                tenant: "sector".into(),
                text: filter(by),
            }],
            tenants: tenants(),
            ..TuningInput::default()
        });
        for (tenant, filtered) in [
            ("national", false),
            ("sector", true),
            ("org", true),
            ("unit", true),
            ("other", false),
        ] {
            let view = tuning.view(tenant);
            assert_eq!(view.filters_rule(ID), filtered, "{tenant} by {by}");
            let backup = with_record_view(&logon("svc-backup"), |event| {
                tuning.filtered_out(view, ID, event)
            });
            assert_eq!(backup, filtered, "svc-backup at {tenant} by {by}");
            let alice = with_record_view(&logon("alice"), |event| {
                tuning.filtered_out(view, ID, event)
            });
            assert!(!alice, "alice at {tenant} by {by}");
        }
    }
}

#[test]
fn a_broken_filter_is_reported_and_filters_nothing() {
    let set = RuleSet::load_str(RULE, "rule.yml");
    let (tuning, problems) = RuleTuning::build(
        &TuningInput {
            filters: vec![TenantFilterSource {
                id: "f-broken".into(),
                tenant: "sector".into(),
                text: "title: not a filter\nlogsource:\n    product: windows\ndetection:\n    sel:\n        EventID: 1\n    condition: sel\n".into(),
            }],
            tenants: tenants(),
            ..TuningInput::default()
        },
        &set,
        &LogsourceMapping::builtin(),
        &CompileOptions::default(),
    );
    assert!(
        problems
            .iter()
            .any(|p| p.origin == "filter f-broken" && p.message.contains("not a Sigma filter")),
        "{problems:?}"
    );
    assert!(!tuning.view("org").filters_rule(ID));
}
