//! The rule set detection runs: loaded from rule files, directories of them
//! and archives (`.zip`, `.tar`, `.tar.gz`, `.tgz`) such as SigmaHQ's release
//! packages ([`load_rules`]), compiled once ([`DetectionRules::compile`]),
//! and held where the live stage picks it up ([`RulesHandle`]). `hunt` and
//! live detection load and compile rules with these same functions.
//!
//! Reading files is this module's job (the only file I/O of this crate,
//! done when rules are loaded, never while events are matched); parsing is
//! `nigehban-sigma`'s. Files are read in name order and parsed on every
//! core, then added to one [`RuleSet`] in that same order, so diagnostics
//! (duplicate ids among them) read the same on every run.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use nigehban_sigma::load::ParsedSource;
use nigehban_sigma::{
    CompileOptions, CompiledRuleSet, CorrelationSet, Diagnostic, DiagnosticKind, Level,
    LogsourceMapping, Placeholders, RuleMeta, RuleSet, parse_source,
};
use serde::Serialize;

use crate::tuning::RuleTuning;

/// What a detection says about the rule that fired: what an analyst needs
/// to judge it, and what the Detection Rule License requires to stay with
/// every alert (title, id, author).
///
/// Made once per rule when a rule set is compiled, and shared by all its
/// detections.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuleSummary {
    /// The rule's id (a UUID for SigmaHQ rules).
    pub id: String,
    /// The rule's title.
    pub title: String,
    /// The rule's level (`informational`, `low`, `medium`, `high`,
    /// `critical`); `informational` when the rule gives none.
    pub level: String,
    /// The rule's author.
    pub author: String,
    /// The rule's status (`stable`, `test`, `experimental`, ...), when it
    /// gives one.
    pub status: Option<String>,
    /// The rule's references (reports, advisories, documentation).
    pub references: Vec<String>,
    /// The rule's tags as written (`attack.t1003.001`, `attack.credential-access`, `cve.2021-44228`).
    pub tags: Vec<String>,
    /// The MITRE ATT&CK technique ids among the tags, in ATT&CK's own
    /// spelling (`T1003.001`).
    pub techniques: Vec<String>,
}

impl RuleSummary {
    /// The summary of a rule.
    pub fn of(meta: &RuleMeta) -> Self {
        RuleSummary {
            id: meta.id.clone().unwrap_or_default(),
            title: meta.title.clone(),
            level: meta
                .level
                .unwrap_or(Level::Informational)
                .as_str()
                .to_owned(),
            author: meta.author.clone().unwrap_or_default(),
            status: meta.status.map(|status| status.as_str().to_owned()),
            references: meta.references.clone(),
            tags: meta.tags.clone(),
            techniques: attack_techniques(&meta.tags),
        }
    }
}

/// The ATT&CK technique ids among Sigma tags: `attack.t1003.001` is
/// `T1003.001`; tactics (`attack.credential-access`), groups (`attack.g0016`)
/// and software (`attack.s0002`) are not techniques.
pub fn attack_techniques(tags: &[String]) -> Vec<String> {
    let mut techniques = Vec::new();
    for tag in tags {
        let Some(rest) = tag
            .strip_prefix("attack.")
            .filter(|rest| rest.len() >= 5 && rest.as_bytes()[0].eq_ignore_ascii_case(&b't'))
        else {
            continue;
        };
        let id = &rest[1..];
        let (base, sub) = id.split_once('.').unwrap_or((id, ""));
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if digits(base, 4) && (sub.is_empty() || digits(sub, 3)) {
            let technique = format!("T{id}");
            if !techniques.contains(&technique) {
                techniques.push(technique);
            }
        }
    }
    techniques
}

/// A compiled rule set ready for detection: the matcher, and the summary of
/// each of its rules by index.
#[derive(Debug)]
pub struct DetectionRules {
    compiled: CompiledRuleSet,
    summaries: Vec<Arc<RuleSummary>>,
    correlations: CorrelationSet,
    correlation_summaries: Vec<Arc<RuleSummary>>,
    tuning: RuleTuning,
}

impl DetectionRules {
    /// Compiles `rules` (detection and correlation rules) under the
    /// logsource `mapping`; the diagnostics say which rules were left out
    /// and why (unsupported features, errors).
    pub fn compile(
        rules: &RuleSet,
        mapping: &LogsourceMapping,
        options: &CompileOptions,
    ) -> (Self, Vec<Diagnostic>) {
        let (compiled, mut problems) = CompiledRuleSet::new(rules, mapping, options);
        let (correlations, more) = CorrelationSet::new(rules, &compiled, options);
        problems.extend(more);
        (
            Self::from_compiled(compiled).with_correlations(correlations),
            problems,
        )
    }

    /// Wraps a rule set compiled already (without correlations).
    pub fn from_compiled(compiled: CompiledRuleSet) -> Self {
        let summaries = (0..compiled.len())
            .map(|index| Arc::new(RuleSummary::of(compiled.rule(index))))
            .collect();
        DetectionRules {
            compiled,
            summaries,
            correlations: CorrelationSet::default(),
            correlation_summaries: Vec::new(),
            tuning: RuleTuning::none(),
        }
    }

    /// The same rules with `correlations` (compiled against them).
    pub fn with_correlations(mut self, correlations: CorrelationSet) -> Self {
        self.correlation_summaries = (0..correlations.len())
            .map(|index| Arc::new(RuleSummary::of(correlations.rule(index))))
            .collect();
        self.correlations = correlations;
        self
    }

    /// The same rules tuned per tenant (enabled state and filters; see [`crate::tuning`]).
    pub fn with_tuning(mut self, tuning: RuleTuning) -> Self {
        self.tuning = tuning;
        self
    }

    /// How the rules are tuned per tenant.
    pub fn tuning(&self) -> &RuleTuning {
        &self.tuning
    }

    /// The correlation rules.
    pub fn correlations(&self) -> &CorrelationSet {
        &self.correlations
    }

    /// The summary of every correlation rule, by correlation index.
    pub fn correlation_summaries(&self) -> &[Arc<RuleSummary>] {
        &self.correlation_summaries
    }

    /// The matcher.
    pub fn compiled(&self) -> &CompiledRuleSet {
        &self.compiled
    }

    /// The summary of every rule, by the index the matcher reports.
    pub fn summaries(&self) -> &[Arc<RuleSummary>] {
        &self.summaries
    }

    /// How many rules the set holds.
    pub fn len(&self) -> usize {
        self.summaries.len()
    }

    /// Whether the set holds no rule.
    pub fn is_empty(&self) -> bool {
        self.summaries.is_empty()
    }
}

/// The rule set in use, shared by every part of a process that detects, and
/// replaced whole when rules change: a stage picks the new set up at its
/// next batch of events, without a restart and without missing an event
/// (the batch being matched finishes with the set it started with).
#[derive(Debug, Clone)]
pub struct RulesHandle(Arc<ArcSwap<DetectionRules>>);

impl RulesHandle {
    /// A handle holding `rules`.
    pub fn new(rules: DetectionRules) -> Self {
        Self::shared(Arc::new(rules))
    }

    /// A handle holding a rule set shared with others (a hunt, say).
    pub fn shared(rules: Arc<DetectionRules>) -> Self {
        RulesHandle(Arc::new(ArcSwap::new(rules)))
    }

    /// The rule set in use now.
    pub fn current(&self) -> Arc<DetectionRules> {
        self.0.load_full()
    }

    /// Puts `rules` in use from now on, for every holder of this handle.
    pub fn replace(&self, rules: DetectionRules) {
        self.0.store(Arc::new(rules));
    }
}

/// Rule files larger than this are refused: SigmaHQ's largest is ~30 KB.
const MAX_RULE_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// One rule file's text and the name it is reported under.
#[derive(Debug, Clone)]
pub struct RuleSource {
    /// Where the text came from: a path, or `archive.zip!inner/path.yml`.
    pub origin: String,
    /// The file's text.
    pub text: String,
}

/// Why rules could not be loaded at all (problems with single files are
/// diagnostics in the [`RuleSet`] instead).
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// A `--rules` path does not exist or cannot be read.
    #[error("cannot read rules at {path}")]
    Unreadable {
        /// The path given.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// Reads every rule file under `paths`, reporting unreadable entries as
/// diagnostics in `problems`.
pub fn read_rule_sources(
    paths: &[PathBuf],
    problems: &mut Vec<Diagnostic>,
) -> Result<Vec<RuleSource>, RulesError> {
    let mut sources = Vec::new();
    for path in paths {
        let metadata = fs::metadata(path).map_err(|source| RulesError::Unreadable {
            path: path.clone(),
            source,
        })?;
        if metadata.is_dir() {
            read_directory(path, &mut sources, problems);
        } else {
            read_file(path, &mut sources, problems);
        }
    }
    Ok(sources)
}

/// Reads rule files sent as bytes (an upload): a `.zip`, `.tar`, `.tar.gz`
/// or `.tgz` archive (recognised by its content, or by `name`), or else
/// one YAML file that may hold several documents. Entries are named
/// `name!entry`; unreadable entries are diagnostics in `problems`.
pub fn read_rule_bytes(
    name: &str,
    bytes: Vec<u8>,
    problems: &mut Vec<Diagnostic>,
) -> Vec<RuleSource> {
    let mut sources = Vec::new();
    let kind = if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        Some(ArchiveKind::Zip)
    } else if bytes.starts_with(&[0x1f, 0x8b]) {
        Some(ArchiveKind::TarGz)
    } else if bytes.len() > 262 && &bytes[257..262] == b"ustar" {
        Some(ArchiveKind::Tar)
    } else {
        archive_kind(Path::new(name))
    };
    match kind {
        Some(kind) => {
            let reader = std::io::Cursor::new(bytes);
            if let Err(message) = read_archive_from(name, reader, kind, &mut sources, problems) {
                problems.push(problem(name, message));
            }
        }
        None => push_source(name.to_owned(), bytes, &mut sources, problems),
    }
    sources
}

/// Loads and parses every rule under `paths` into one rule set.
pub fn load_rules(paths: &[PathBuf], placeholders: Placeholders) -> Result<RuleSet, RulesError> {
    let mut problems = Vec::new();
    let sources = read_rule_sources(paths, &mut problems)?;
    let mut set = RuleSet::with_placeholders(placeholders);
    set.add_diagnostics(problems);
    let parsed = parse_in_parallel(&sources, set.placeholders());
    for source in parsed {
        set.add_parsed(source);
    }
    Ok(set)
}

/// Parses `sources` on every core; results come back in the order of `sources`.
fn parse_in_parallel(sources: &[RuleSource], placeholders: &Placeholders) -> Vec<ParsedSource> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(sources.len().max(1));
    let per_thread = sources.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = sources
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|source| parse_source(&source.text, &source.origin, placeholders))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| match worker.join() {
                Ok(parsed) => parsed,
                // parse_source never panics on any input (it is fuzzed); if it
                // ever did, re-raise rather than silently lose rules.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

fn is_rule_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".yml") || lower.ends_with(".yaml")
}

fn archive_kind(path: &Path) -> Option<ArchiveKind> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".zip") {
        Some(ArchiveKind::Zip)
    } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        Some(ArchiveKind::TarGz)
    } else if name.ends_with(".tar") {
        Some(ArchiveKind::Tar)
    } else {
        None
    }
}

#[derive(Debug, Clone, Copy)]
enum ArchiveKind {
    Zip,
    Tar,
    TarGz,
}

fn problem(origin: impl Into<String>, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        origin: origin.into(),
        line: 0,
        column: 0,
        rule_id: None,
        title: None,
        kind: DiagnosticKind::Error,
        message: message.into(),
    }
}

fn read_directory(dir: &Path, sources: &mut Vec<RuleSource>, problems: &mut Vec<Diagnostic>) {
    let mut stack = vec![dir.to_path_buf()];
    let mut files = Vec::new();
    while let Some(dir) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                problems.push(problem(
                    dir.display().to_string(),
                    format!("cannot read directory: {e}"),
                ));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    problems.push(problem(
                        dir.display().to_string(),
                        format!("cannot read directory entry: {e}"),
                    ));
                    continue;
                }
            };
            let path = entry.path();
            // Follow symbolic links to files, but not to directories: a link
            // back up the tree must not make the walk endless.
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if is_dir {
                stack.push(path);
            } else if is_rule_file(&entry.file_name().to_string_lossy()) {
                files.push(path);
            }
        }
    }
    files.sort();
    for file in files {
        read_file(&file, sources, problems);
    }
}

fn read_file(path: &Path, sources: &mut Vec<RuleSource>, problems: &mut Vec<Diagnostic>) {
    let origin = path.display().to_string();
    if let Some(kind) = archive_kind(path) {
        if let Err(message) = read_archive(path, kind, sources, problems) {
            problems.push(problem(origin, message));
        }
        return;
    }
    let text = fs::File::open(path).and_then(|file| {
        let mut bytes = Vec::new();
        file.take(MAX_RULE_FILE_BYTES + 1).read_to_end(&mut bytes)?;
        Ok(bytes)
    });
    match text {
        Err(e) => problems.push(problem(origin, format!("cannot read rule file: {e}"))),
        Ok(bytes) => push_source(origin, bytes, sources, problems),
    }
}

fn push_source(
    origin: String,
    bytes: Vec<u8>,
    sources: &mut Vec<RuleSource>,
    problems: &mut Vec<Diagnostic>,
) {
    if bytes.len() as u64 > MAX_RULE_FILE_BYTES {
        problems.push(problem(
            origin,
            format!("rule file larger than {MAX_RULE_FILE_BYTES} bytes"),
        ));
        return;
    }
    match String::from_utf8(bytes) {
        Ok(text) => sources.push(RuleSource { origin, text }),
        Err(e) => problems.push(problem(
            origin,
            format!(
                "rule file is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )),
    }
}

fn read_archive(
    path: &Path,
    kind: ArchiveKind,
    sources: &mut Vec<RuleSource>,
    problems: &mut Vec<Diagnostic>,
) -> Result<(), String> {
    let file = fs::File::open(path).map_err(|e| format!("cannot open archive: {e}"))?;
    read_archive_from(&path.display().to_string(), file, kind, sources, problems)
}

/// Reads the rule files of an archive that `file` holds, naming entries `name!entry`.
fn read_archive_from<R: Read + std::io::Seek>(
    name: &str,
    file: R,
    kind: ArchiveKind,
    sources: &mut Vec<RuleSource>,
    problems: &mut Vec<Diagnostic>,
) -> Result<(), String> {
    let path = Path::new(name);
    let mut found = Vec::new();
    match kind {
        ArchiveKind::Zip => {
            let mut archive = zip::ZipArchive::new(file)
                .map_err(|e| format!("not a readable zip archive: {e}"))?;
            for index in 0..archive.len() {
                let mut entry = match archive.by_index(index) {
                    Ok(entry) => entry,
                    Err(e) => {
                        problems.push(problem(
                            format!("{}!#{index}", path.display()),
                            format!("cannot read archive entry: {e}"),
                        ));
                        continue;
                    }
                };
                if !entry.is_file() || !is_rule_file(entry.name()) {
                    continue;
                }
                let origin = format!("{}!{}", path.display(), entry.name());
                let mut bytes = Vec::new();
                match (&mut entry)
                    .take(MAX_RULE_FILE_BYTES + 1)
                    .read_to_end(&mut bytes)
                {
                    Ok(_) => found.push((origin, bytes)),
                    Err(e) => {
                        problems.push(problem(origin, format!("cannot read archive entry: {e}")))
                    }
                }
            }
        }
        ArchiveKind::Tar | ArchiveKind::TarGz => {
            let reader: Box<dyn Read> = match kind {
                ArchiveKind::TarGz => Box::new(flate2::read::MultiGzDecoder::new(file)),
                _ => Box::new(file),
            };
            let mut archive = tar::Archive::new(reader);
            let entries = archive
                .entries()
                .map_err(|e| format!("not a readable tar archive: {e}"))?;
            for entry in entries {
                let mut entry = match entry {
                    Ok(entry) => entry,
                    Err(e) => {
                        // A damaged tar stream cannot be resynchronised: keep what was read.
                        problems.push(problem(
                            path.display().to_string(),
                            format!("archive damaged: {e}"),
                        ));
                        break;
                    }
                };
                let name = match entry.path() {
                    Ok(name) => name.display().to_string(),
                    Err(_) => continue,
                };
                if !entry.header().entry_type().is_file() || !is_rule_file(&name) {
                    continue;
                }
                let origin = format!("{}!{name}", path.display());
                let mut bytes = Vec::new();
                match (&mut entry)
                    .take(MAX_RULE_FILE_BYTES + 1)
                    .read_to_end(&mut bytes)
                {
                    Ok(_) => found.push((origin, bytes)),
                    Err(e) => {
                        problems.push(problem(origin, format!("cannot read archive entry: {e}")))
                    }
                }
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    for (origin, bytes) in found {
        push_source(origin, bytes, sources, problems);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn attack_technique_ids_come_from_the_tags() {
        let tags: Vec<String> = [
            "attack.credential-access",
            "attack.t1003.001",
            "attack.T1059",
            "attack.t1003.001",
            "attack.g0016",
            "attack.s0002",
            "attack.t12345",
            "attack.t1003.01",
            "cve.2021-44228",
            "detection.emerging-threats",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        assert_eq!(attack_techniques(&tags), ["T1003.001", "T1059"]);
    }

    #[test]
    fn a_swapped_rule_set_is_seen_by_every_holder() {
        let mut first = RuleSet::new();
        first.add_str(RULE, "r1.yml");
        let (rules, problems) = DetectionRules::compile(
            &first,
            &LogsourceMapping::builtin(),
            &CompileOptions::default(),
        );
        assert!(problems.is_empty(), "{problems:?}");
        let summary = &rules.summaries()[0];
        assert_eq!(summary.id, "0e95725d-7320-415d-80f7-004da920fc11");
        assert_eq!(summary.level, "high");
        assert_eq!(summary.status.as_deref(), Some("test"));
        let handle = RulesHandle::new(rules);
        let other = handle.clone();
        let before = other.current();
        assert_eq!(before.len(), 1);
        let (empty, _) = DetectionRules::compile(
            &RuleSet::new(),
            &LogsourceMapping::builtin(),
            &CompileOptions::default(),
        );
        handle.replace(empty);
        assert!(other.current().is_empty());
        // A holder of the old set keeps it whole until it lets go.
        assert_eq!(before.len(), 1);
    }

    const RULE: &str = "title: Test rule\nid: 0e95725d-7320-415d-80f7-004da920fc11\nstatus: test\nlogsource:\n    product: windows\n    service: security\ndetection:\n    selection:\n        EventID: 4688\n    condition: selection\nlevel: high\n";

    #[test]
    fn reads_directories_in_name_order_and_skips_other_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("sub/b.yml"), RULE).unwrap();
        fs::write(
            dir.path().join("a.yaml"),
            RULE.replace("0e95725d", "1e95725d"),
        )
        .unwrap();
        fs::write(dir.path().join("notes.txt"), "not a rule").unwrap();
        let mut problems = Vec::new();
        let sources = read_rule_sources(&[dir.path().to_path_buf()], &mut problems).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let names: Vec<_> = sources
            .iter()
            .map(|s| s.origin.rsplit('/').next().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["a.yaml", "b.yml"]);
    }

    #[test]
    fn reads_zip_and_tar_gz_archives() {
        let dir = tempfile::tempdir().unwrap();
        let zip_path = dir.path().join("rules.zip");
        {
            let mut zip = zip::ZipWriter::new(fs::File::create(&zip_path).unwrap());
            let options = zip::write::SimpleFileOptions::default();
            zip.start_file("rules/windows/r1.yml", options).unwrap();
            zip.write_all(RULE.as_bytes()).unwrap();
            zip.start_file("README.md", options).unwrap();
            zip.write_all(b"# not a rule").unwrap();
            zip.finish().unwrap();
        }
        let tgz_path = dir.path().join("rules.tar.gz");
        {
            let gz = flate2::write::GzEncoder::new(
                fs::File::create(&tgz_path).unwrap(),
                flate2::Compression::fast(),
            );
            let mut tar = tar::Builder::new(gz);
            let text = RULE.replace("0e95725d", "2e95725d");
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, "rules/r2.yml", text.as_bytes())
                .unwrap();
            tar.into_inner().unwrap().finish().unwrap();
        }
        let set = load_rules(&[zip_path, tgz_path], Placeholders::default()).unwrap();
        assert!(set.diagnostics().is_empty(), "{:?}", set.diagnostics());
        assert_eq!(set.rules().len(), 2);
        assert!(
            set.rules()[0]
                .meta
                .origin
                .ends_with("rules.zip!rules/windows/r1.yml")
        );
    }

    #[test]
    fn a_missing_path_is_an_error_and_bad_files_are_diagnostics() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load_rules(&[dir.path().join("nope")], Placeholders::default()).is_err());
        fs::write(dir.path().join("bad.yml"), [0xff, 0xfe, 0x00]).unwrap();
        fs::write(dir.path().join("good.yml"), RULE).unwrap();
        fs::write(dir.path().join("broken.zip"), b"PK not really").unwrap();
        let set = load_rules(
            &[dir.path().to_path_buf(), dir.path().join("broken.zip")],
            Placeholders::default(),
        )
        .unwrap();
        assert_eq!(set.rules().len(), 1);
        let messages: Vec<String> = set.diagnostics().iter().map(|d| d.to_string()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("bad.yml") && m.contains("not UTF-8")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("broken.zip") && m.contains("zip")),
            "{messages:?}"
        );
    }
}
