//! Arbitrary bytes through detection's Sigma view of an event, both ways an
//! event reaches it: as a record read from a file (`hunt`: the JSON tape) and
//! as a normalised event from the bus (normalise, bus payload, decode). Never
//! a panic; whatever is read has fields that can all be visited, by name,
//! listed and for keyword searches, and matching and explaining a match
//! work on it.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use nigehban_detect::{DetectionRules, JsonTape, SigmaView, read_record};
use nigehban_normalise::envelope::{decode_event, encode_event, new_event_id};
use nigehban_normalise::{Format, SourceHint, normalise};
use nigehban_sigma::{CompileOptions, Event, LogsourceMapping, RuleSet};

const RULES: &str = r"
title: Any Windows event with a command line
id: 00000000-0000-4000-8000-0000000f0001
logsource: {product: windows}
detection:
    selection:
        CommandLine|contains: a
    condition: selection
---
title: A keyword anywhere
id: 00000000-0000-4000-8000-0000000f0002
logsource: {category: antivirus}
detection:
    keywords: [a, '1']
    condition: keywords
---
title: DNS queries
id: 00000000-0000-4000-8000-0000000f0003
logsource: {category: dns}
detection:
    selection:
        query|contains: a
    filter:
        record_type: AAAA
    condition: selection and not filter
";

fn rules() -> &'static DetectionRules {
    static RULES_SET: OnceLock<DetectionRules> = OnceLock::new();
    RULES_SET.get_or_init(|| {
        let mut set = RuleSet::new();
        set.add_str(RULES, "fuzz.yml");
        DetectionRules::compile(&set, &LogsourceMapping::builtin(), &CompileOptions::default()).0
    })
}

fn exercise(view: &SigmaView<'_>) {
    let mut names = Vec::new();
    view.for_each_field(&mut |name, _| names.push(name.to_owned()));
    for name in names.iter().map(String::as_str).chain([
        "EventID", "Channel", "CommandLine", "ThreatName", "a.b", "_path", "id.orig_h",
        "event.dataset", "deviceVendor", "dpt",
    ]) {
        view.field(name, &mut |_| {});
    }
    view.values(&mut |_| {});
    let _ = (view.timestamp(), view.record_id(), view.event_id());
    let compiled = rules().compiled();
    let mut scratch = compiled.scratch();
    let mut matched = Vec::new();
    compiled.matches(view, &mut scratch, &mut matched);
    for index in matched {
        let _ = compiled.matched_fields(index, view);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut tape = JsonTape::new();
    if tape.parse(data) {
        exercise(&SigmaView::of_record(&tape));
    }
    let hint = SourceHint::new(Format::Auto, time::macros::datetime!(2024-03-15 12:00 UTC));
    let Ok(event) = normalise(data, &hint) else {
        return;
    };
    let Ok(payload) = encode_event(new_event_id(), &event) else {
        return;
    };
    let Ok((_, event)) = decode_event(&payload) else {
        return;
    };
    let has_record = read_record(&event, &mut tape);
    exercise(&SigmaView::of_event(&event, has_record.then_some(&tape)));
});
