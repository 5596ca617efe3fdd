//! The platform's rules in live detection: reading uploaded rule files into
//! documents for the store, compiling what the store holds (imported and
//! built-in rules, with the `--rules` files of the node) into one
//! [`DetectionRules`] tuned per tenant, and the watch that swaps it in
//! whenever the rules revision changes.
//!
//! Detection does not depend on the store or the app: this crate reads the
//! app's [`RulesSnapshot`], turns it into detect's [`TuningInput`] and hands
//! the result to the stage through its [`RulesHandle`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use nigehban_app::{App, NewRuleDocument, NewRuleFilter, RulesSnapshot};
use nigehban_detect::rules::{RuleSource, read_rule_bytes};
use nigehban_detect::{DetectionRules, RuleTuning, RulesHandle, TenantFilterSource, TuningInput};
use nigehban_model::{RuleKind, TenantId};
use nigehban_sigma::{
    CompileOptions, CompiledRuleSet, Diagnostic, DiagnosticKind, LogsourceMapping, Placeholders,
    RuleBody, RuleSet, parse_source,
};
use tokio::sync::watch;

/// How often a detecting node reads the rules revision.
pub const REVISION_POLL: Duration = Duration::from_secs(1);

/// What one uploaded file held.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileCount {
    /// The file (or `archive!entry`).
    pub file: String,
    /// Documents read from it that can be stored.
    pub rules: usize,
    /// Documents of it left out as broken.
    pub broken: usize,
}

/// Rule files read for an import.
#[derive(Debug, Clone, Default)]
pub struct ReadRules {
    /// The documents that can be stored.
    pub documents: Vec<NewRuleDocument>,
    /// What is wrong, and where (`file:line`); errors left their document out.
    pub problems: Vec<Diagnostic>,
    /// Per file, how many documents were read and left out.
    pub files: Vec<FileCount>,
}

/// The YAML documents of a stream: (first line, text) of each, split at
/// `---` lines (the first line of a document is that of its separator).
fn documents_of(text: &str) -> Vec<(u32, String)> {
    let mut documents = vec![(1u32, String::new())];
    for (number, line) in text.split_inclusive('\n').enumerate() {
        let line_no = u32::try_from(number + 1).unwrap_or(u32::MAX);
        if line.trim_end() == "---" {
            documents.push((line_no, String::new()));
            continue;
        }
        if let Some(last) = documents.last_mut() {
            last.1.push_str(line);
        }
    }
    documents.retain(|(_, text)| !text.trim().is_empty());
    documents
}

/// Reads one uploaded body (a YAML document stream or an archive of rule
/// files) named `name` into documents for the store: each document that
/// parses and compiles is kept with its own text; broken ones are reported
/// with file and line and left out; unsupported features are reported and
/// the document kept (it does not run until the engine supports it).
pub fn read_upload(name: &str, bytes: Vec<u8>) -> ReadRules {
    let mut problems = Vec::new();
    let sources = read_rule_bytes(name, bytes, &mut problems);
    let mut read = read_sources(&sources);
    problems.append(&mut read.problems);
    read.problems = problems;
    read
}

/// Reads rule files (already read as text) into documents for the store.
pub fn read_sources(sources: &[RuleSource]) -> ReadRules {
    let mapping = LogsourceMapping::builtin();
    let placeholders = Placeholders::default();
    let mut read = ReadRules::default();
    let mut seen = std::collections::HashSet::new();
    for source in sources {
        let parsed = parse_source(&source.text, &source.origin, &placeholders);
        let chunks = documents_of(&source.text);
        let broken_before = read.problems.len();
        read.problems.extend(parsed.diagnostics.iter().cloned());
        // Compile errors make a detection rule broken too.
        let mut set = RuleSet::new();
        set.add_parsed(nigehban_sigma::ParsedSource {
            rules: parsed.rules.clone(),
            ..Default::default()
        });
        let (_, compile_problems) =
            CompiledRuleSet::new(&set, &mapping, &CompileOptions::default());
        let broken_ids: Vec<Option<String>> = compile_problems
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.rule_id.clone())
            .collect();
        read.problems.extend(compile_problems);
        let mut kept = 0;
        for rule in &parsed.rules {
            let meta = &rule.meta;
            let place = format!("{}:{}", meta.origin, meta.line);
            let Some(id) = meta.id.clone() else {
                read.problems.push(Diagnostic {
                    origin: meta.origin.clone(),
                    line: meta.line,
                    column: 0,
                    rule_id: None,
                    title: Some(meta.title.clone()),
                    kind: DiagnosticKind::Error,
                    message: "no `id`: stored rules are known by their Sigma id".into(),
                });
                continue;
            };
            if broken_ids.contains(&Some(id.clone())) {
                continue;
            }
            if !seen.insert(id.clone()) {
                read.problems.push(Diagnostic {
                    origin: meta.origin.clone(),
                    line: meta.line,
                    column: 0,
                    rule_id: Some(id.clone()),
                    title: Some(meta.title.clone()),
                    kind: DiagnosticKind::Error,
                    message: format!("duplicate rule id {id} in this import"),
                });
                continue;
            }
            let text = chunks
                .iter()
                .rev()
                .find(|(start, _)| *start <= meta.line.max(1))
                .map(|(_, text)| text.clone())
                .unwrap_or_else(|| source.text.clone());
            let kind = match &rule.body {
                RuleBody::Detection(_) => RuleKind::Rule,
                RuleBody::Correlation(_) => RuleKind::Correlation,
                RuleBody::Filter(_) => RuleKind::Filter,
            };
            read.documents.push(NewRuleDocument {
                id,
                title: meta.title.clone(),
                kind,
                level: meta.level.map(|l| l.as_str().to_owned()),
                source_name: place,
                text,
            });
            kept += 1;
        }
        let broken = read.problems[broken_before..]
            .iter()
            .filter(|d| d.is_error())
            .count();
        read.files.push(FileCount {
            file: source.origin.clone(),
            rules: kept,
            broken,
        });
    }
    read
}

/// Reads one Sigma filter document a tenant adds; the error says what is
/// wrong and where.
pub fn read_filter(tenant: TenantId, text: &str) -> Result<NewRuleFilter, String> {
    let parsed = parse_source(text, "filter", &Placeholders::default());
    if let Some(error) = parsed.diagnostics.iter().find(|d| d.is_error()) {
        return Err(error.to_string());
    }
    let mut filters = parsed.rules.iter().filter_map(|rule| match &rule.body {
        RuleBody::Filter(filter) => Some((rule, filter)),
        _ => None,
    });
    let Some((rule, filter)) = filters.next() else {
        return Err("not a Sigma filter: the document needs a `filter:` section (with `rules:`, selections and `condition:`)".into());
    };
    if filters.next().is_some() || parsed.rules.len() > 1 {
        return Err("one filter document at a time".into());
    }
    if filter.rules.is_empty() {
        return Err("filter.rules must name the rules (ids or names) the filter applies to".into());
    }
    Ok(NewRuleFilter {
        tenant,
        title: rule.meta.title.clone(),
        rules: filter.rules.clone(),
        text: text.to_owned(),
    })
}

/// How a node compiles the platform's rules.
#[derive(Debug, Clone)]
pub struct PlatformRules {
    /// Rule files the node was started with (`--rules`); they run for the
    /// whole platform, beside the stored rules.
    pub files: Vec<RuleSource>,
    /// The logsource mapping.
    pub mapping: LogsourceMapping,
    /// Compile options.
    pub options: CompileOptions,
    /// How often the rules revision is read.
    pub poll: Duration,
}

impl PlatformRules {
    /// The node's `--rules` files, with the built-in mapping and a poll every second.
    pub fn new(files: Vec<RuleSource>) -> Self {
        PlatformRules {
            files,
            mapping: LogsourceMapping::builtin(),
            options: CompileOptions::default(),
            poll: REVISION_POLL,
        }
    }

    /// Compiles the node's files and what `snapshot` holds into one rule
    /// set tuned per tenant; the diagnostics say what was left out.
    pub fn compile(&self, snapshot: &RulesSnapshot) -> (DetectionRules, Vec<Diagnostic>) {
        let mut set = RuleSet::new();
        for file in &self.files {
            set.add_str(&file.text, &file.origin);
        }
        for rule in &snapshot.rules {
            // A filter document disabled for the platform filters nothing;
            // rules disabled for the platform are compiled, as a tenant may enable them.
            if rule.kind == RuleKind::Filter && !rule.enabled {
                continue;
            }
            set.add_str(&rule.text, &rule.source_name);
        }
        let mut problems: Vec<Diagnostic> = set.diagnostics().to_vec();
        let (rules, compile_problems) = DetectionRules::compile(&set, &self.mapping, &self.options);
        problems.extend(compile_problems);
        let input = TuningInput {
            platform_disabled: snapshot
                .rules
                .iter()
                .filter(|r| !r.enabled)
                .map(|r| r.id.clone())
                .collect(),
            overrides: snapshot
                .overrides
                .iter()
                .map(|o| (o.rule_id.clone(), o.tenant.to_string(), o.enabled))
                .collect(),
            filters: snapshot
                .filters
                .iter()
                .map(|f| TenantFilterSource {
                    id: f.id.to_string(),
                    tenant: f.tenant.to_string(),
                    text: f.text.clone(),
                })
                .collect(),
            tenants: snapshot
                .tenants
                .iter()
                .map(|(id, parent)| (id.to_string(), parent.map(|p| p.to_string())))
                .collect(),
        };
        let (tuning, tuning_problems) =
            RuleTuning::build(&input, &set, &self.mapping, &self.options);
        problems.extend(tuning_problems);
        (rules.with_tuning(tuning), problems)
    }

    /// Seeds the built-in starter pack into the store (documents of origin
    /// `built-in`; new ones enabled, stored ones keep their flag). Returns
    /// false when the platform is not set up yet, so there is nothing to seed
    /// into: [`PlatformRules::watch`] tries again until it is.
    pub async fn seed_built_in(app: &App) -> bool {
        match app.is_set_up().await {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!("the built-in rules wait for the platform to be set up");
                return false;
            }
            Err(error) => {
                tracing::warn!(%error, "seeding the built-in rules failed; tried again shortly");
                return false;
            }
        }
        let read = read_sources(&nigehban_detect::starter_pack());
        for problem in &read.problems {
            tracing::warn!(%problem, "a built-in rule has a problem");
        }
        match app.rules().seed_built_in(read.documents).await {
            Ok(outcome) if outcome.added + outcome.replaced > 0 => tracing::info!(
                added = outcome.added,
                replaced = outcome.replaced,
                "built-in rules seeded"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "seeding the built-in rules failed"),
        }
        true
    }

    /// Reads the store and puts the compiled rules in `handle`; returns the
    /// revision read.
    pub async fn load(
        &self,
        app: &App,
        handle: &RulesHandle,
    ) -> Result<u64, nigehban_app::AppError> {
        let snapshot = app.rules().snapshot().await?;
        let this = self.clone();
        let revision = snapshot.revision;
        let compiled = tokio::task::spawn_blocking(move || this.compile(&snapshot))
            .await
            .map_err(|join| {
                nigehban_app::AppError::Invalid(format!("compiling rules failed: {join}"))
            })?;
        let (rules, problems) = compiled;
        for problem in problems
            .iter()
            .filter(|p| p.kind != DiagnosticKind::Warning)
        {
            tracing::debug!(%problem, "rule left out of live detection");
        }
        tracing::info!(
            revision,
            rules = rules.len(),
            correlations = rules.correlations().len(),
            problems = problems.len(),
            "live detection rules loaded"
        );
        handle.replace(rules);
        Ok(revision)
    }

    /// Watches the rules revision every [`PlatformRules::poll`] and reloads
    /// into `handle` when it changed, until `stop` turns true. A failed read
    /// is logged and tried again at the next poll; the rules in use stay.
    /// `loaded` holds the revision in use (whoever loaded it last). Until
    /// `seeded`, each poll first seeds the built-in rules: on a first start
    /// the platform is set up after detection starts, and the starter pack
    /// must not wait for a restart.
    pub async fn watch(
        self: Arc<Self>,
        app: App,
        handle: RulesHandle,
        loaded: Arc<AtomicU64>,
        mut seeded: bool,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                biased;
                _ = stop.wait_for(|stop| *stop) => return,
                () = tokio::time::sleep(self.poll) => {}
            }
            if !seeded {
                seeded = Self::seed_built_in(&app).await;
            }
            match app.rules().revision().await {
                Ok(now) if now == loaded.load(Ordering::Acquire) => continue,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "reading the rules revision failed");
                    continue;
                }
            }
            match self.load(&app, &handle).await {
                Ok(now) => loaded.store(now, Ordering::Release),
                Err(error) => {
                    tracing::warn!(%error, "reloading rules failed; the rules in use stay")
                }
            }
        }
    }
}

/// A rule (or a filter with the rules it names) compiled to be tried on
/// stored events before it is enabled: what would it have raised?
#[derive(Debug)]
pub struct RuleTrial {
    rules: DetectionRules,
}

/// One event a rule under trial matched.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrialMatch {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's title.
    pub rule_title: String,
    /// The field values that made it match (`field`, `value`; no field for a keyword).
    pub matched: Vec<(Option<String>, String)>,
}

impl RuleTrial {
    /// Compiles `documents` (text, name) as one rule set; errors (any
    /// document that does not load or compile) are returned as diagnostics,
    /// and nothing to try is an error.
    pub fn compile(documents: &[(String, String)]) -> Result<Self, Vec<Diagnostic>> {
        let mut set = RuleSet::new();
        for (text, name) in documents {
            set.add_str(text, name);
        }
        let (rules, problems) = DetectionRules::compile(
            &set,
            &LogsourceMapping::builtin(),
            &CompileOptions::default(),
        );
        let errors: Vec<Diagnostic> = set
            .diagnostics()
            .iter()
            .chain(&problems)
            .filter(|d| d.kind != DiagnosticKind::Warning)
            .cloned()
            .collect();
        if !errors.is_empty() || rules.is_empty() {
            let mut errors = errors;
            if errors.is_empty() {
                errors.push(Diagnostic {
                    origin: documents.first().map(|d| d.1.clone()).unwrap_or_default(),
                    line: 0,
                    column: 0,
                    rule_id: None,
                    title: None,
                    kind: DiagnosticKind::Error,
                    message: "no detection rule to try (a filter needs the rules it names; a correlation rule is tried through its rules)".into(),
                });
            }
            return Err(errors);
        }
        Ok(RuleTrial { rules })
    }

    /// What the rules would have raised for `event`.
    pub fn check(&self, event: &nigehban_normalise::NormalisedEvent) -> Vec<TrialMatch> {
        let mut tape = nigehban_detect::JsonTape::new();
        let has_record = nigehban_detect::read_record(event, &mut tape);
        let view = nigehban_detect::SigmaView::of_event(event, has_record.then_some(&tape));
        let compiled = self.rules.compiled();
        let mut scratch = compiled.scratch();
        let mut matched = Vec::new();
        compiled.matches(&view, &mut scratch, &mut matched);
        matched
            .into_iter()
            .filter_map(|index| {
                let rule = self.rules.summaries().get(index)?;
                Some(TrialMatch {
                    rule_id: rule.id.clone(),
                    rule_title: rule.title.clone(),
                    matched: compiled
                        .matched_fields(index, &view)
                        .into_iter()
                        .map(|m| (m.field, m.value))
                        .collect(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "title: One\nid: 11111111-1111-4111-8111-111111111111\nlogsource:\n    product: windows\n    service: security\ndetection:\n    selection:\n        EventID: 4625\n    condition: selection\nlevel: high\n---\ntitle: Broken\nid: 22222222-2222-4222-8222-222222222222\nlogsource:\n    product: windows\ndetection:\n    selection:\n        EventID|nonsense: 1\n    condition: selection\n---\ntitle: Three\nid: 33333333-3333-4333-8333-333333333333\nlogsource:\n    product: windows\n    service: security\ndetection:\n    selection:\n        EventID: 4624\n    condition: selection\n";

    #[test]
    fn an_upload_keeps_good_documents_and_names_the_broken_one() {
        let read = read_upload("pack.yml", TWO.as_bytes().to_vec());
        let ids: Vec<&str> = read.documents.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "11111111-1111-4111-8111-111111111111",
                "33333333-3333-4333-8333-333333333333"
            ]
        );
        assert!(read.documents[1].text.contains("EventID: 4624"));
        assert!(!read.documents[1].text.contains("4625"));
        assert!(read.documents[0].source_name.starts_with("pack.yml:"));
        let messages: Vec<String> = read.problems.iter().map(|p| p.to_string()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("pack.yml:") && m.contains("nonsense")),
            "{messages:?}"
        );
        assert_eq!(
            read.files,
            [FileCount {
                file: "pack.yml".into(),
                rules: 2,
                broken: 1
            }]
        );
    }

    #[test]
    fn a_filter_is_read_with_the_rules_it_names() {
        let tenant = TenantId::new();
        let filter = read_filter(tenant, "title: Quiet\nlogsource:\n    product: windows\nfilter:\n    rules:\n        - 11111111-1111-4111-8111-111111111111\n    selection:\n        TargetUserName: svc\n    condition: not selection\n").unwrap();
        assert_eq!(filter.rules, ["11111111-1111-4111-8111-111111111111"]);
        assert_eq!(filter.title, "Quiet");
        assert!(read_filter(tenant, TWO).is_err());
    }
}
