//! Zeek's dotted (`id.orig_h`) and underscored (`id_orig_h`) key styles
//! normalise alike: every real record of both corpora is rewritten in the
//! other style, and both versions must give the same ECS fields (detection's
//! tests show that Sigma's dotted names find the same values in both).

use nigehban_normalise::{Format, NormalisedEvent, SourceFormat, normalise};
use serde_json::{Map, Value};

use crate::support::{corpus, files_under, hint, read_maybe_gz};

/// Prefixes of the nested records Zeek's standard logs write with dots.
const RECORD_PREFIXES: &[&str] = &["id", "certificate", "san", "basic_constraints"];

fn to_underscored(record: &Map<String, Value>) -> Map<String, Value> {
    record
        .iter()
        .map(|(key, value)| {
            let renamed = match key.split_once('.') {
                Some((prefix, _)) if RECORD_PREFIXES.contains(&prefix) => key.replace('.', "_"),
                _ => key.clone(),
            };
            (renamed, value.clone())
        })
        .collect()
}

fn to_dotted(record: &Map<String, Value>) -> Map<String, Value> {
    record
        .iter()
        .map(|(key, value)| {
            let renamed = RECORD_PREFIXES
                .iter()
                .find_map(|prefix| {
                    key.strip_prefix(&format!("{prefix}_"))
                        .filter(|rest| !rest.is_empty())
                        .map(|rest| format!("{prefix}.{rest}"))
                })
                .unwrap_or_else(|| key.clone());
            (renamed, value.clone())
        })
        .collect()
}

fn normalise_record(record: &Map<String, Value>) -> NormalisedEvent {
    let text = serde_json::to_vec(record).unwrap();
    normalise(&text, &hint(Format::Zeek)).unwrap()
}

/// Both styles of one record: same ECS fields.
fn assert_alike(dotted: &Map<String, Value>, underscored: &Map<String, Value>, what: &str) -> bool {
    let a = normalise_record(dotted);
    let b = normalise_record(underscored);
    assert_eq!(a.fields(), b.fields(), "{what}");
    let differs = dotted != underscored;
    if differs {
        assert_eq!(a.format(), SourceFormat::ZeekDotted, "{what}");
        assert_eq!(b.format(), SourceFormat::ZeekUnderscored, "{what}");
    }
    differs
}

#[test]
fn wrccdc_dotted_records_normalise_alike_underscored() {
    let Some(dir) = corpus("events/zeek-wrccdc/zeek-json") else {
        return;
    };
    let mut rewritten = 0;
    for path in files_under(&dir, ".json.gz") {
        let bytes = read_maybe_gz(&path);
        // The first 500 records of each log keep the test quick; the dns log
        // alone has 53,615.
        for line in bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .take(500)
        {
            let record: Map<String, Value> = serde_json::from_slice(line).unwrap();
            let underscored = to_underscored(&record);
            if assert_alike(&record, &underscored, &path.display().to_string()) {
                rewritten += 1;
            }
        }
    }
    assert!(rewritten > 3000, "{rewritten}");
}

#[test]
fn apt29_underscored_records_normalise_alike_dotted() {
    let Some(dir) = corpus("events/otrf-security-datasets/apt29-zeek") else {
        return;
    };
    let mut rewritten = 0;
    for path in files_under(&dir, ".log") {
        let bytes = std::fs::read(&path).unwrap();
        for line in bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.trim_ascii().is_empty())
        {
            let record: Map<String, Value> = serde_json::from_slice(line).unwrap();
            let dotted = to_dotted(&record);
            if assert_alike(&dotted, &record, &path.display().to_string()) {
                rewritten += 1;
            }
        }
    }
    assert!(rewritten > 4000, "{rewritten}");
}

#[test]
fn the_same_dns_answer_in_both_corpora_gives_the_same_fields() {
    // One record written by each corpus's pipeline (wrccdc: `_path`, ISO
    // time, dotted; apt29: `@stream`, epoch time, underscored).
    let dotted = br#"{"_path":"dns","ts":"2020-04-30T00:06:39.824370Z","uid":"Cvf4XX17hSAgXDdGEd","id.orig_h":"10.0.1.6","id.orig_p":54243,"id.resp_h":"10.0.0.4","id.resp_p":53,"proto":"udp","trans_id":41180,"query":"newyork.dmevals.local","qclass":1,"qclass_name":"C_INTERNET","qtype":1,"qtype_name":"A","rcode":0,"rcode_name":"NOERROR","AA":true,"TC":false,"RD":true,"RA":true,"Z":0,"answers":["10.0.0.4"],"TTLs":[3600.0],"rejected":false}"#;
    let underscored = br#"{"@stream":"dns","@system":"bobs.bigwheel.local","@proc":"zeek","ts":1588205199.82437,"uid":"Cvf4XX17hSAgXDdGEd","id_orig_h":"10.0.1.6","id_orig_p":54243,"id_resp_h":"10.0.0.4","id_resp_p":53,"proto":"udp","trans_id":41180,"query":"newyork.dmevals.local","qclass":1,"qclass_name":"C_INTERNET","qtype":1,"qtype_name":"A","rcode":0,"rcode_name":"NOERROR","AA":true,"TC":false,"RD":true,"RA":true,"Z":0,"answers":["10.0.0.4"],"TTLs":[3600.0],"rejected":false}"#;
    let a = normalise(dotted, &hint(Format::Auto)).unwrap();
    let b = normalise(underscored, &hint(Format::Auto)).unwrap();
    let mut fields_a = a.fields().clone();
    let mut fields_b = b.fields().clone();
    // Only the sensor's name differs: apt29's pipeline adds it.
    assert_eq!(
        fields_b.remove("observer.hostname"),
        Some(Value::from("bobs.bigwheel.local"))
    );
    fields_a.remove("observer.hostname");
    assert_eq!(fields_a, fields_b);
    assert_eq!(a.dataset(), Some("zeek.dns"));
    assert_eq!(a.fields().get_str("source.ip"), Some("10.0.1.6"));
    assert_eq!(
        a.fields().get_str("dns.question.name"),
        Some("newyork.dmevals.local")
    );
    assert_eq!(
        a.ecs("dns.resolved_ip"),
        Some(&serde_json::json!(["10.0.0.4"]))
    );
}
