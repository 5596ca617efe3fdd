//! Every modifier with a positive and a negative case. Values come from the
//! SigmaHQ rule cited in each test's comment; `exists`, `cased`, `gt`/`lt`,
//! `neq`, the time parts and `utf16` appear in no SigmaHQ rule, so those use
//! the specification's examples (sigma-appendix-modifiers.md,
//! sigma-rules-specification.md). Each case is checked with both the
//! compiled matcher and the reference interpreter, which must agree.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "corpus/support.rs"]
mod support;

use nigehban_sigma::{CompileOptions, CompiledRuleSet, LogsourceMapping, Placeholders, RuleSet};
use support::{Flat, FlatValue};

fn rule(detection: &str) -> String {
    format!(
        "title: t\nid: t-1\nlogsource:\n    category: test\ndetection:\n{detection}\nlevel: high\n"
    )
}

fn run_with(detection: &str, event: &Flat, placeholders: Placeholders) -> bool {
    let mut set = RuleSet::with_placeholders(placeholders);
    set.add_str(&rule(detection), "test.yml");
    let errors: Vec<_> = set.diagnostics().iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let (compiled, diags) = CompiledRuleSet::new(
        &set,
        &LogsourceMapping::builtin(),
        &CompileOptions::default(),
    );
    assert!(diags.is_empty(), "{diags:?}");
    let mut event = event.clone();
    event
        .0
        .insert("event.category".into(), vec![FlatValue::Str("test".into())]);
    let mut out = Vec::new();
    compiled.matches(&event, &mut compiled.scratch(), &mut out);
    let fast = out == [0];
    assert_eq!(
        fast,
        compiled.reference_matches(0, &event),
        "compiled and reference disagree"
    );
    fast
}

fn run(detection: &str, event: &[(&str, &str)]) -> bool {
    run_with(detection, &Flat::of(event), Placeholders::new())
}

#[test]
fn plain_value_is_case_insensitive_equality() {
    // rules/windows/process_creation/proc_creation_win_renamed_whoami.yml
    let d = "    selection:\n        OriginalFileName: 'whoami.exe'\n    condition: selection";
    assert!(run(d, &[("OriginalFileName", "WHOAMI.EXE")]));
    assert!(!run(d, &[("OriginalFileName", "whoami.exe.bak")]));
}

#[test]
fn endswith() {
    // rules/windows/process_creation/proc_creation_win_renamed_whoami.yml
    let d = "    selection:\n        Image|endswith: '\\whoami.exe'\n    condition: selection";
    assert!(run(d, &[("Image", "C:\\Windows\\System32\\WhoAmI.exe")]));
    assert!(!run(
        d,
        &[("Image", "C:\\Windows\\System32\\whoami.exe.old")]
    ));
}

#[test]
fn startswith() {
    // rules/windows/file/file_event/file_event_win_susp_registry_hive_file_creation.yml
    let d = "    selection:\n        TargetFilename|startswith: 'C:\\Windows\\System32\\config\\'\n    condition: selection";
    assert!(run(
        d,
        &[("TargetFilename", "c:\\windows\\system32\\CONFIG\\SAM")]
    ));
    assert!(!run(
        d,
        &[("TargetFilename", "D:\\C:\\Windows\\System32\\config\\SAM")]
    ));
}

#[test]
fn contains_and_all() {
    // rules/windows/process_creation/proc_creation_win_uac_bypass_dismhost.yml
    let d = "    selection:\n        ParentImage|contains|all:\n            - 'C:\\Users\\'\n            - '\\AppData\\Local\\Temp\\'\n            - '\\DismHost.exe'\n    condition: selection";
    assert!(run(
        d,
        &[(
            "ParentImage",
            "C:\\Users\\bob\\AppData\\Local\\Temp\\X\\dismhost.exe"
        )]
    ));
    assert!(!run(
        d,
        &[(
            "ParentImage",
            "C:\\Users\\bob\\AppData\\Local\\Temp\\X\\other.exe"
        )]
    ));
    // Without `all` the list is an OR.
    let any = d.replace("|contains|all", "|contains");
    assert!(run(&any, &[("ParentImage", "C:\\Users\\bob\\other.exe")]));
}

#[test]
fn windash() {
    // rules/windows/process_creation/proc_creation_win_lolbin_unregmp2.yml
    let d = "    selection:\n        CommandLine|contains|windash: ' /HideWMP'\n    condition: selection";
    assert!(run(d, &[("CommandLine", "unregmp2.exe /HideWMP")]));
    assert!(run(d, &[("CommandLine", "unregmp2.exe -HideWMP")]));
    assert!(run(d, &[("CommandLine", "unregmp2.exe \u{2013}hidewmp")]));
    assert!(!run(d, &[("CommandLine", "unregmp2.exe +HideWMP")]));
    // rules-emerging-threats/2022/Malware/Raspberry-Robin/proc_creation_win_malware_raspberry_robin_execution.yml
    let d = "    selection:\n        CommandLine|endswith|windash: '/a'\n    condition: selection";
    assert!(run(d, &[("CommandLine", "x.exe -a")]));
    assert!(!run(d, &[("CommandLine", "x.exe -a b")]));
}

#[test]
fn regex_case_sensitive_by_default() {
    // rules/windows/process_creation/proc_creation_win_curl_ntlm_hash_leak_attempt.yml (uses (?i) inline)
    let d = "    selection:\n        CommandLine|re: '(?i)\\s(-u|--user)\\s*:'\n    condition: selection";
    assert!(run(d, &[("CommandLine", "curl --USER :")]));
    assert!(!run(d, &[("CommandLine", "curl --password :")]));
    let cased = "    selection:\n        CommandLine|re: 'NTUSER'\n    condition: selection";
    assert!(run(cased, &[("CommandLine", "x NTUSER y")]));
    assert!(!run(cased, &[("CommandLine", "x ntuser y")]));
}

#[test]
fn regex_i_m_s() {
    // rules/windows/file/file_event/file_event_win_susp_registry_hive_file_creation.yml
    let d = "    selection:\n        TargetFilename|re|i: '^C:\\\\Users\\\\[^\\\\]+\\\\NTUSER\\.DAT$'\n    condition: selection";
    assert!(run(d, &[("TargetFilename", "c:\\users\\bob\\ntuser.dat")]));
    assert!(!run(
        d,
        &[("TargetFilename", "c:\\users\\bob\\x\\ntuser.dat")]
    ));
    // m and s: spec sigma-appendix-modifiers.md (no SigmaHQ rule uses them)
    let m = "    selection:\n        Payload|re|m: '^second$'\n    condition: selection";
    assert!(run(m, &[("Payload", "first\nsecond\nthird")]));
    assert!(!run(
        &m.replace("|re|m", "|re"),
        &[("Payload", "first\nsecond\nthird")]
    ));
    let s = "    selection:\n        Payload|re|s: 'first.second'\n    condition: selection";
    assert!(run(s, &[("Payload", "first\nsecond")]));
    assert!(!run(
        &s.replace("|re|s", "|re"),
        &[("Payload", "first\nsecond")]
    ));
}

#[test]
fn base64() {
    // rules-emerging-threats/2025/Exploits/CVE-2025-53770/proc_creation_win_exploit_cve_2025_53770_indicators.yml
    let d = "    selection:\n        CommandLine|base64|contains: 'spinstall0.aspx'\n    condition: selection";
    // base64("spinstall0.aspx") = c3BpbnN0YWxsMC5hc3B4
    assert!(run(
        d,
        &[("CommandLine", "powershell -e c3BpbnN0YWxsMC5hc3B4")]
    ));
    // Encoded text is compared case-sensitively.
    assert!(!run(
        d,
        &[("CommandLine", "powershell -e C3BPBNN0YWXSMC5HC3B4")]
    ));
}

#[test]
fn base64offset() {
    // rules/windows/process_creation/proc_creation_win_powershell_base64_mppreference.yml
    let d = "    selection:\n        CommandLine|base64offset|contains: 'Add-MpPreference '\n    condition: selection";
    // "Add-MpPreference " at offsets 0, 1 and 2 inside encoded data.
    for prefix in ["", "x", "xy"] {
        let text = format!("{prefix}Add-MpPreference -ExclusionPath c:\\");
        let enc = nigehban_sigma::modifiers::base64(text.as_bytes());
        assert!(
            run(d, &[("CommandLine", &format!("powershell -enc {enc}"))]),
            "{prefix:?}"
        );
    }
    let enc = nigehban_sigma::modifiers::base64(b"Get-MpPreference ");
    assert!(!run(
        d,
        &[("CommandLine", &format!("powershell -enc {enc}"))]
    ));
}

#[test]
fn wide_base64offset() {
    // rules-emerging-threats/2025/Exploits/CVE-2025-53770/proc_creation_win_exploit_cve_2025_53770_indicators.yml
    let d = "    selection:\n        CommandLine|wide|base64offset|contains: 'spinstall0'\n    condition: selection";
    let wide: Vec<u8> = "IEX spinstall0.aspx"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let enc = nigehban_sigma::modifiers::base64(&wide);
    assert!(run(
        d,
        &[("CommandLine", &format!("powershell -enc {enc}"))]
    ));
    let narrow = nigehban_sigma::modifiers::base64(b"IEX spinstall0.aspx");
    assert!(!run(
        d,
        &[("CommandLine", &format!("powershell -enc {narrow}"))]
    ));
}

#[test]
fn utf16_variants() {
    // spec: utf16le `cmd` > 63 00 6d 00 64 00; utf16be > 00 63 00 6d 00 64; utf16 prepends FF FE
    let le = "    selection:\n        Data|utf16le|base64: 'cmd'\n    condition: selection";
    assert!(run(
        le,
        &[("Data", &nigehban_sigma::modifiers::base64(b"c\0m\0d\0"))]
    ));
    assert!(!run(
        le,
        &[("Data", &nigehban_sigma::modifiers::base64(b"\0c\0m\0d"))]
    ));
    let be = le.replace("utf16le", "utf16be");
    assert!(run(
        &be,
        &[("Data", &nigehban_sigma::modifiers::base64(b"\0c\0m\0d"))]
    ));
    let bom = le.replace("utf16le", "utf16");
    assert!(run(
        &bom,
        &[(
            "Data",
            &nigehban_sigma::modifiers::base64(b"\xff\xfec\0m\0d\0")
        )]
    ));
    assert!(!run(
        &bom,
        &[("Data", &nigehban_sigma::modifiers::base64(b"c\0m\0d\0"))]
    ));
}

#[test]
fn cidr_v4_and_v6() {
    // rules/web/proxy_generic/proxy_webdav_external_execution.yml
    let d = "    selection:\n        dst_ip|cidr:\n            - '10.0.0.0/8'\n            - 'fe80::/10'\n    condition: selection";
    assert!(run(d, &[("dst_ip", "10.20.30.40")]));
    assert!(run(d, &[("dst_ip", "fe80::1234")]));
    assert!(!run(d, &[("dst_ip", "11.0.0.1")]));
    assert!(!run(d, &[("dst_ip", "2001:db8::1")]));
    assert!(!run(d, &[("dst_ip", "not an address")]));
}

#[test]
fn fieldref() {
    // rules/windows/file/file_delete/file_delete_win_delete_own_image.yml
    let d = "    selection:\n        TargetFilename|fieldref: Image\n    condition: selection";
    assert!(run(
        d,
        &[("TargetFilename", "C:\\x.exe"), ("Image", "c:\\X.EXE")]
    ));
    assert!(!run(
        d,
        &[("TargetFilename", "C:\\x.exe"), ("Image", "C:\\y.exe")]
    ));
    assert!(!run(d, &[("TargetFilename", "C:\\x.exe")]));
}

#[test]
fn expand_with_and_without_values() {
    // rules-emerging-threats/2026/Exploits/CVE-2026-54121/win_security_adcs_certighost_cdc_chase_request.yml
    let d = "    selection:\n        Attributes|contains|expand: '%known_cdcs%'\n    condition: selection";
    let mut p = Placeholders::new();
    p.insert("known_cdcs", vec!["dc01".into(), "dc02".into()]);
    assert!(run_with(
        d,
        &Flat::of(&[("Attributes", "cdc:DC02.corp")]),
        p.clone()
    ));
    assert!(!run_with(
        d,
        &Flat::of(&[("Attributes", "cdc:ws17.corp")]),
        p
    ));
    // Unresolved: a warning, and the placeholder matches any value.
    let mut set = RuleSet::new();
    set.add_str(&rule(d), "x.yml");
    assert!(
        set.diagnostics()
            .iter()
            .any(|x| x.kind == nigehban_sigma::DiagnosticKind::Warning)
    );
    assert!(run(d, &[("Attributes", "anything")]));
    assert!(!run(d, &[("Other", "anything")]));
}

#[test]
fn exists() {
    // spec sigma-rules-specification.md "Field Existence"
    let d = "    selection:\n        EventID: 4738\n        PasswordLastSet|exists: true\n    condition: selection";
    assert!(run(d, &[("EventID", "4738"), ("PasswordLastSet", "")]));
    assert!(!run(d, &[("EventID", "4738")]));
    let f = d.replace("exists: true", "exists: false");
    assert!(run(&f, &[("EventID", "4738")]));
    assert!(!run(&f, &[("EventID", "4738"), ("PasswordLastSet", "x")]));
}

#[test]
fn cased() {
    // spec sigma-appendix-modifiers.md "cased"
    let d =
        "    selection:\n        CommandLine|contains|cased: 'NTUSER'\n    condition: selection";
    assert!(run(d, &[("CommandLine", "x NTUSER.DAT")]));
    assert!(!run(d, &[("CommandLine", "x ntuser.dat")]));
}

#[test]
fn numeric_comparisons() {
    // spec sigma-appendix-modifiers.md "Numeric Modifiers"
    let d = |m: &str| format!("    selection:\n        Count|{m}: 10\n    condition: selection");
    assert!(run(&d("lt"), &[("Count", "9")]));
    assert!(!run(&d("lt"), &[("Count", "10")]));
    assert!(run(&d("lte"), &[("Count", "10")]));
    assert!(!run(&d("lte"), &[("Count", "11")]));
    assert!(run(&d("gt"), &[("Count", "11")]));
    assert!(!run(&d("gt"), &[("Count", "10")]));
    assert!(run(&d("gte"), &[("Count", "10")]));
    assert!(!run(&d("gte"), &[("Count", "9.5")]));
    assert!(!run(&d("gt"), &[("Count", "many")]));
    let mut ev = Flat::default();
    ev.0.insert("Count".into(), vec![FlatValue::Int(12)]);
    assert!(run_with(&d("gt"), &ev, Placeholders::new()));
}

#[test]
fn neq() {
    // spec sigma-appendix-modifiers.md "neq"
    let d = "    selection:\n        Status|neq:\n            - 'ok'\n            - 'done'\n    condition: selection";
    assert!(run(d, &[("Status", "failed")]));
    assert!(!run(d, &[("Status", "OK")]));
    assert!(!run(d, &[("Status", "done")]));
}

#[test]
fn time_parts() {
    // spec sigma-appendix-modifiers.md "Time Modifiers"
    let ts = "2025-11-27T07:40:10.165Z";
    let d = |m: &str, v: &str| {
        format!("    selection:\n        UtcTime|{m}: {v}\n    condition: selection")
    };
    assert!(run(&d("hour", "7"), &[("UtcTime", ts)]));
    assert!(!run(&d("hour", "8"), &[("UtcTime", ts)]));
    assert!(run(&d("minute", "40"), &[("UtcTime", ts)]));
    assert!(!run(&d("minute", "41"), &[("UtcTime", ts)]));
    assert!(run(&d("day", "27"), &[("UtcTime", ts)]));
    assert!(!run(&d("day", "26"), &[("UtcTime", ts)]));
    assert!(run(&d("week", "48"), &[("UtcTime", ts)]));
    assert!(!run(&d("week", "47"), &[("UtcTime", ts)]));
    assert!(run(&d("month", "11"), &[("UtcTime", ts)]));
    assert!(!run(&d("month", "12"), &[("UtcTime", ts)]));
    assert!(run(&d("year", "2025"), &[("UtcTime", ts)]));
    assert!(!run(&d("year", "2024"), &[("UtcTime", ts)]));
    assert!(run(
        &d("hour|gte", "6"),
        &[("UtcTime", "2025-11-27 07:40:10.132")]
    ));
}

#[test]
fn wildcards_escapes_null_and_empty() {
    // spec sigma-rules-specification.md "String Wildcard", "Escape Character", "Special Field Values"
    let d = "    selection:\n        Image: 'C:\\prog?.exe'\n    condition: selection";
    assert!(run(d, &[("Image", "c:\\progA.exe")]));
    assert!(!run(d, &[("Image", "c:\\prog.exe")]));
    let d = "    selection:\n        Name: 'a\\*b'\n    condition: selection";
    assert!(run(d, &[("Name", "a*b")]));
    assert!(!run(d, &[("Name", "axxb")]));
    let d = "    selection:\n        EventID: 4738\n    filter:\n        PasswordLastSet: null\n    condition: selection and not filter";
    assert!(run(d, &[("EventID", "4738"), ("PasswordLastSet", "x")]));
    assert!(!run(d, &[("EventID", "4738")]));
    let d = "    selection:\n        FieldB: ''\n    condition: selection";
    assert!(run(d, &[("FieldB", "")]));
    assert!(!run(d, &[("FieldB", "x")]));
    let mut ev = Flat::default();
    ev.0.insert("FieldB".into(), vec![FlatValue::Null]);
    assert!(run_with(d, &ev, Placeholders::new()));
}

#[test]
fn keywords_and_numbers() {
    // rules/windows/builtin/win_alert_mimikatz_keywords.yml (keywords search inside any value)
    let d =
        "    keywords:\n        - 'sekurlsa::'\n        - 'mimidrv.sys'\n    condition: keywords";
    assert!(run(
        d,
        &[("CommandLine", "mimikatz SEKURLSA::logonpasswords")]
    ));
    assert!(!run(d, &[("CommandLine", "mimikatz")]));
    // spec "Keywords search": '|all' AND-s keywords
    let d = "    keywords:\n        '|all':\n            - 'OabVirtualDirectory'\n            - ' -ExternalUrl '\n    condition: keywords";
    assert!(run(
        d,
        &[("A", "Set-OabVirtualDirectory"), ("B", "x -ExternalUrl y")]
    ));
    assert!(!run(d, &[("A", "Set-OabVirtualDirectory")]));
    // A number in the rule matches a number or a string in the event.
    let d = "    selection:\n        EventID: 4688\n    condition: selection";
    let mut ev = Flat::default();
    ev.0.insert("EventID".into(), vec![FlatValue::Int(4688)]);
    assert!(run_with(d, &ev, Placeholders::new()));
    assert!(run(d, &[("EventID", "4688")]));
    assert!(!run(d, &[("EventID", "46880")]));
    // A string in the rule matches a number in the event.
    let d = "    selection:\n        EventID: '4688'\n    condition: selection";
    assert!(run_with(d, &ev, Placeholders::new()));
}

#[test]
fn keyword_wildcard_and_null() {
    // A bare `*` keyword matches any event with a value; spec "Keywords search".
    let d = "    keywords:\n        - '*'\n    condition: keywords";
    assert!(run(d, &[("A", "x")]));
    let d = "    keywords:\n        - 'needle'\n    filter:\n        A: x\n    condition: keywords and not filter";
    assert!(run(d, &[("A", "y"), ("B", "a NEEDLE b")]));
    assert!(!run(d, &[("A", "x"), ("B", "a NEEDLE b")]));
}

#[test]
fn non_ascii_is_folded() {
    let d = "    selection:\n        User|contains: 'ÄDMIN'\n    condition: selection";
    assert!(run(d, &[("User", "corp\\ädmin")]));
    assert!(!run(d, &[("User", "corp\\admin")]));
}

#[test]
fn conditions_precedence_and_of() {
    let d = "    sel1:\n        A: 1\n    sel2:\n        B: 1\n    filter:\n        C: 1\n    condition: sel1 or sel2 and not filter";
    assert!(run(d, &[("A", "1"), ("C", "1")]));
    assert!(!run(d, &[("B", "1"), ("C", "1")]));
    let d = "    sel_a:\n        A: 1\n    sel_b:\n        B: 1\n    condition: all of sel_*";
    assert!(run(d, &[("A", "1"), ("B", "1")]));
    assert!(!run(d, &[("A", "1")]));
    let d = d.replace("all of sel_*", "1 of them");
    assert!(run(&d, &[("B", "1")]));
    assert!(!run(&d, &[("C", "1")]));
}

#[test]
fn filters_apply_to_the_rules_they_name() {
    // spec sigma-filters-specification.md example, adapted
    let rule = "title: rar\nid: 6f3e2987-db24-4c78-a860-b4f4095a7095\nlogsource:\n    category: process_creation\n    product: windows\ndetection:\n    sel:\n        Image|endswith: '\\rar.exe'\n    condition: sel\n";
    let filter = "title: admins\nlogsource:\n    category: process_creation\n    product: windows\nfilter:\n    rules:\n        - 6f3e2987-db24-4c78-a860-b4f4095a7095\n    selection:\n        User|startswith: 'adm_'\n    condition: not selection\n";
    let other = filter.replace("process_creation", "image_load");
    for (f, applies) in [(filter.to_string(), true), (other, false)] {
        let mut set = RuleSet::new();
        set.add_str(rule, "rule.yml");
        set.add_str(&f, "filter.yml");
        assert!(set.diagnostics().is_empty(), "{:?}", set.diagnostics());
        let (compiled, diags) = CompiledRuleSet::new(
            &set,
            &LogsourceMapping::builtin(),
            &CompileOptions::default(),
        );
        assert!(diags.is_empty());
        let event = Flat::of(&[
            ("Channel", "Microsoft-Windows-Sysmon/Operational"),
            ("EventID", "1"),
            ("Image", "C:\\x\\rar.exe"),
            ("User", "adm_bob"),
        ]);
        let mut out = Vec::new();
        compiled.matches(&event, &mut compiled.scratch(), &mut out);
        assert_eq!(out.is_empty(), applies);
        assert_eq!(compiled.reference_matches(0, &event), !applies);
    }
}

#[test]
fn service_rules_are_routed_by_the_event_ids_they_require() {
    // rules/windows/builtin/security: a service rule whose detection requires EventID values
    let rule = "title: logon\nid: l-1\nlogsource:\n    product: windows\n    service: security\ndetection:\n    sel:\n        EventID:\n            - 4624\n            - 4625\n        LogonType: 10\n    condition: sel\n";
    let any = "title: any\nid: l-2\nlogsource:\n    product: windows\n    service: security\ndetection:\n    sel:\n        LogonType: 10\n    condition: sel\n";
    let mut set = RuleSet::new();
    set.add_str(rule, "a.yml");
    set.add_str(any, "b.yml");
    let (compiled, diags) = CompiledRuleSet::new(
        &set,
        &LogsourceMapping::builtin(),
        &CompileOptions::default(),
    );
    assert!(diags.is_empty());
    let mut scratch = compiled.scratch();
    for (id, want) in [("4625", vec![0, 1]), ("4634", vec![1])] {
        let event = Flat::of(&[
            ("Channel", "SECURITY"),
            ("EventID", id),
            ("LogonType", "10"),
        ]);
        let mut out = Vec::new();
        compiled.matches(&event, &mut scratch, &mut out);
        assert_eq!(out, want, "{id}");
        let mut out = Vec::new();
        compiled.matches(&support::Lookup(&event), &mut scratch, &mut out);
        assert_eq!(out, want, "{id}");
    }
}
