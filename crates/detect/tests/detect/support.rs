//! What the tests share: the corpus, SigmaHQ's rules compiled once, the
//! regression cases, and the two ways an event reaches the matcher.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use nigehban_detect::{DetectionRules, JsonTape, SigmaView, load_rules, read_record};
use nigehban_normalise::envelope::{decode_event, encode_event, new_event_id};
use nigehban_normalise::{Format, NormalisedEvent, SourceHint, normalise};
use nigehban_sigma::values::value_text;
use nigehban_sigma::yaml::parse_documents;
use nigehban_sigma::{
    CompileOptions, DiagnosticKind, Event, LogsourceMapping, Placeholders, RuleSet,
};

/// The corpus root, or `None` (after saying why) when it is absent and not required.
pub fn corpus() -> Option<PathBuf> {
    let root = std::env::var_os("NIGEHBAN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if root.join("sigma").is_dir() {
        return Some(root);
    }
    if std::env::var("NIGEHBAN_REQUIRE_CORPUS").as_deref() == Ok("1") {
        panic!(
            "corpus not found at {} (NIGEHBAN_REQUIRE_CORPUS=1)",
            root.display()
        );
    }
    eprintln!("skipped: corpus not found at {}", root.display());
    None
}

/// Every maintained SigmaHQ rule (`rules`, `rules-emerging-threats`,
/// `rules-threat-hunting`), loaded and compiled once, as `nigehban hunt
/// --rules` does; every one must load and compile.
pub fn sigmahq(corpus: &Path) -> &'static Arc<DetectionRules> {
    static RULES: OnceLock<Arc<DetectionRules>> = OnceLock::new();
    RULES.get_or_init(|| {
        let set = sigmahq_set(corpus);
        let (rules, problems) = DetectionRules::compile(
            set,
            &LogsourceMapping::builtin(),
            &CompileOptions::default(),
        );
        let broken: Vec<String> = set
            .diagnostics()
            .iter()
            .chain(&problems)
            .filter(|d| d.kind != DiagnosticKind::Warning)
            .map(|d| d.to_string())
            .collect();
        assert!(broken.is_empty(), "{}", broken.join("\n"));
        Arc::new(rules)
    })
}

/// The loaded (uncompiled) SigmaHQ rule set of [`sigmahq`].
pub fn sigmahq_set(corpus: &Path) -> &'static RuleSet {
    static SET: OnceLock<RuleSet> = OnceLock::new();
    SET.get_or_init(|| {
        let base = corpus.join("sigma/rules");
        let dirs: Vec<PathBuf> = ["rules", "rules-emerging-threats", "rules-threat-hunting"]
            .iter()
            .map(|d| base.join(d))
            .collect();
        load_rules(&dirs, Placeholders::default()).expect("SigmaHQ rules readable")
    })
}

/// One SigmaHQ regression case: `info.yml` beside `<rule-id>.evtx` and `<rule-id>.json`.
#[derive(Debug, Clone)]
pub struct Case {
    /// The directory holding the case.
    pub dir: PathBuf,
    /// The rule the case is for.
    pub rule_id: String,
    /// How often the rule fires on the sample at least.
    pub match_count: u64,
}

impl Case {
    /// The sample EVTX file.
    pub fn evtx(&self) -> PathBuf {
        self.dir.join(format!("{}.evtx", self.rule_id))
    }

    /// The same events as the `evtx` crate renders them (JSON documents).
    pub fn json(&self) -> PathBuf {
        self.dir.join(format!("{}.json", self.rule_id))
    }
}

/// Every regression case with an EVTX test, in path order.
pub fn regression_cases(corpus: &Path) -> Vec<Case> {
    let mut infos = Vec::new();
    let mut stack = vec![corpus.join("sigma/regression/regression_data")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("regression data readable") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "info.yml") {
                infos.push(path);
            }
        }
    }
    infos.sort();
    let mut cases = Vec::new();
    for info in infos {
        let text = std::fs::read_to_string(&info).expect("info.yml readable");
        let (docs, error) = parse_documents(&text);
        assert!(error.is_none(), "{}: {error:?}", info.display());
        let doc = &docs[0];
        let rule_id = doc
            .get("rule_metadata")
            .and_then(|m| m.as_seq())
            .and_then(|m| m.first())
            .and_then(|m| m.get("id"))
            .and_then(|id| id.as_str())
            .unwrap_or_else(|| panic!("{}: no rule_metadata id", info.display()))
            .to_owned();
        // A case whose tests are commented out upstream has nothing to run.
        let Some(tests) = doc.get("regression_tests_info").and_then(|t| t.as_seq()) else {
            continue;
        };
        for test in tests {
            if test.get("type").and_then(|t| t.as_str()) != Some("evtx") {
                continue;
            }
            let match_count = test
                .get("match_count")
                .and_then(|c| c.as_str())
                .map(|c| c.parse().expect("match_count is a number"))
                .unwrap_or(1);
            cases.push(Case {
                dir: info
                    .parent()
                    .expect("info.yml has a directory")
                    .to_path_buf(),
                rule_id: rule_id.clone(),
                match_count,
            });
        }
    }
    cases
}

/// A hint as intake gives it for a sensor of tenant `t1`.
pub fn hint(format: Format) -> SourceHint {
    let mut hint = SourceHint::new(format, time::macros::datetime!(2024-03-15 12:00 UTC));
    hint.tenant_id = Some("t1".into());
    hint.sensor_id = Some("s1".into());
    hint
}

/// `line` normalised as intake would, then written to the bus payload and
/// read back as the detection stage reads it.
pub fn live_event(line: &[u8], hint: &SourceHint) -> NormalisedEvent {
    let event = normalise(line, hint).unwrap_or_else(|e| panic!("{e}"));
    let payload = encode_event(new_event_id(), &event).expect("encodes");
    decode_event(&payload).expect("decodes").1
}

/// The values of `name` in an event, as text (numbers written out).
pub fn values_of(event: &dyn Event, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    event.field(name, &mut |v| {
        let mut buf = String::new();
        out.push(value_text(&v, &mut buf).to_owned());
    });
    out
}

/// The keyword values of an event, as text, sorted.
pub fn keyword_values(event: &dyn Event) -> Vec<String> {
    let mut out = Vec::new();
    event.values(&mut |v| {
        let mut buf = String::new();
        out.push(value_text(&v, &mut buf).to_owned());
    });
    out.sort();
    out
}

/// Calls `check` with the live view of a normalised event.
pub fn with_live_view<R>(event: &NormalisedEvent, check: impl FnOnce(&SigmaView<'_>) -> R) -> R {
    let mut tape = JsonTape::new();
    let has_record = read_record(event, &mut tape);
    let view = SigmaView::of_event(event, has_record.then_some(&tape));
    check(&view)
}

/// Calls `check` with the view `hunt` has of a record read from a file.
pub fn with_record_view<R>(json: &[u8], check: impl FnOnce(&SigmaView<'_>) -> R) -> R {
    let mut tape = JsonTape::new();
    assert!(tape.parse(json), "{}", String::from_utf8_lossy(json));
    let view = SigmaView::of_record(&tape);
    check(&view)
}

/// Compiles rules given as YAML texts; every one must compile.
pub fn compile(rules: &[&str]) -> DetectionRules {
    let mut set = RuleSet::new();
    for (index, text) in rules.iter().enumerate() {
        set.add_str(text, &format!("test-rule-{index}.yml"));
    }
    assert!(set.diagnostics().is_empty(), "{:?}", set.diagnostics());
    let (rules, problems) = DetectionRules::compile(
        &set,
        &LogsourceMapping::builtin(),
        &CompileOptions::default(),
    );
    assert!(problems.is_empty(), "{problems:?}");
    rules
}

/// The ids of the rules that match `event`, sorted.
pub fn fired(rules: &DetectionRules, event: &dyn Event) -> Vec<String> {
    let compiled = rules.compiled();
    let mut scratch = compiled.scratch();
    let mut out = Vec::new();
    compiled.matches(event, &mut scratch, &mut out);
    let mut ids: Vec<String> = out
        .iter()
        .map(|&i| rules.summaries()[i].id.clone())
        .collect();
    ids.sort();
    ids
}
