//! `nigehban rules check`: load and lint Sigma rules; `nigehban rules
//! import`: send rule files, directories and archives to a running server.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use nigehban_detect::load_rules;
use nigehban_sigma::{CompileOptions, CompiledRuleSet, DiagnosticKind, Placeholders};

use crate::hunt::logsource_mapping;

/// Work with Sigma rules.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Load rules, report every error and unsupported feature with its place, and count them.
    Check(CheckArgs),
    /// Import rule files, directories of them or archives into a running server's rule store.
    Import(ImportArgs),
}

/// Arguments of `nigehban rules import`.
#[derive(Debug, Args)]
#[command(
    after_help = "Each PATH is sent as one upload: a rule file (YAML, possibly several documents), an archive \
(.zip, .tar.gz, .tgz, .tar) such as a SigmaHQ release, or a directory (its .yml/.yaml files, sent as one tar). \
The server keeps every document that reads and compiles (replacing stored rules with the same id) and \
reports the others with file and line. Imported rules run for every tenant unless --disabled is given; \
tenants enable and disable them for themselves through the API.\n\n\
Needs an API token of an administrator of the national CERT.\n\n\
Exit status: 0 when some rule was imported (broken ones are listed), 1 when nothing could be imported, \
2 when a request failed."
)]
pub struct ImportArgs {
    /// The server's base URL, e.g. https://nsoc.example.org.
    #[arg(long, value_name = "URL")]
    server: String,
    /// An API token (`ngt_...`); also NIGEHBAN_TOKEN, which keeps it out of the process list.
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// Store the rules disabled for the whole platform (tenants may enable them).
    #[arg(long)]
    disabled: bool,
    /// CA certificates (PEM) to trust for an https:// server [default: the WebPKI roots].
    #[arg(long, value_name = "FILE")]
    ca_certificates: Option<PathBuf>,
    /// Rule files, directories of them, or archives.
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
}

/// What the server answers an import (the fields this command prints).
#[derive(Debug, serde::Deserialize)]
struct ImportAnswer {
    added: u64,
    replaced: u64,
    unchanged: u64,
    broken: usize,
    files: Vec<ImportedFile>,
    diagnostics: Vec<ImportDiagnostic>,
}

#[derive(Debug, serde::Deserialize)]
struct ImportedFile {
    file: String,
    rules: usize,
    broken: usize,
}

#[derive(Debug, serde::Deserialize)]
struct ImportDiagnostic {
    kind: String,
    text: String,
}

/// Arguments of `nigehban rules check`.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 when the rules were checked (with --strict: and none has an error or an unsupported feature), 1 otherwise, 2 when they could not be read."
)]
pub struct CheckArgs {
    /// Exit non-zero if any rule has an error or uses an unsupported feature.
    #[arg(long)]
    strict: bool,
    /// Also print the other warnings (placeholders without values are always printed).
    #[arg(long)]
    warnings: bool,
    /// An extra logsource mapping table (YAML) on top of the built-in one.
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    /// Rule files, directories of them, or archives (.zip, .tar.gz).
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
}

/// Runs a `nigehban rules` subcommand.
pub fn run(command: RulesCommand) -> anyhow::Result<ExitCode> {
    match command {
        RulesCommand::Check(args) => check(args),
        RulesCommand::Import(args) => import(args),
    }
}

/// The bytes of one path to upload and the name the server reports it by.
fn upload_of(path: &Path) -> anyhow::Result<(String, Vec<u8>)> {
    let name = path.display().to_string();
    let metadata =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !metadata.is_dir() {
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|mut file| file.read_to_end(&mut bytes))
            .with_context(|| format!("cannot read {}", path.display()))?;
        return Ok((name, bytes));
    }
    // A directory goes as one tar of its rule files, named by their path inside it.
    let mut problems = Vec::new();
    let sources = nigehban_detect::rules::read_rule_sources(&[path.to_path_buf()], &mut problems)
        .with_context(|| format!("cannot read {}", path.display()))?;
    for problem in &problems {
        eprintln!("{problem}");
    }
    let mut tar = tar::Builder::new(Vec::new());
    for source in &sources {
        let inner = Path::new(&source.origin)
            .strip_prefix(path)
            .unwrap_or(Path::new(&source.origin));
        let mut header = tar::Header::new_gnu();
        header.set_size(source.text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, inner, source.text.as_bytes())
            .with_context(|| format!("cannot pack {}", source.origin))?;
    }
    let bytes = tar.into_inner().context("cannot pack the rule files")?;
    Ok((name, bytes))
}

fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let token = match args.token {
        Some(token) => token,
        None => crate::config::process_env("NIGEHBAN_TOKEN").context(
            "no API token: pass --token or set NIGEHBAN_TOKEN to an API token of a national CERT administrator",
        )?,
    };
    let server = args.server.trim_end_matches('/');
    if !(server.starts_with("http://") || server.starts_with("https://")) {
        anyhow::bail!("--server {server:?}: expected an http:// or https:// URL");
    }
    let mut tls = ureq::tls::TlsConfig::builder().provider(ureq::tls::TlsProvider::Rustls);
    if let Some(path) = &args.ca_certificates {
        let certificates = nigehban_ingest::read_certificates(path)
            .with_context(|| format!("--ca-certificates {}", path.display()))?;
        let roots: Vec<ureq::tls::Certificate<'static>> = certificates
            .iter()
            .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
            .collect();
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&roots));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(600)))
        .tls_config(tls.build())
        .build()
        .into();
    let (mut imported, mut broken, mut failed) = (0u64, 0usize, false);
    for path in &args.paths {
        let (name, bytes) = match upload_of(path) {
            Ok(upload) => upload,
            Err(error) => {
                eprintln!("nigehban: {error:#}");
                failed = true;
                continue;
            }
        };
        let query: String = form_urlencoded_pairs(&[
            ("enabled", if args.disabled { "false" } else { "true" }),
            ("name", &name),
        ]);
        let url = format!("{server}/api/v1/rules/import?{query}");
        let response = agent
            .post(&url)
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/octet-stream")
            .send(&bytes[..]);
        let mut response = match response {
            Ok(response) => response,
            Err(error) => {
                eprintln!("nigehban: {name}: the request to {server} failed: {error}");
                failed = true;
                continue;
            }
        };
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .unwrap_or_default();
        if !(200..300).contains(&status) {
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or(text);
            eprintln!("nigehban: {name}: the server refused the import ({status}): {message}");
            failed = true;
            continue;
        }
        let answer: ImportAnswer = serde_json::from_str(&text)
            .with_context(|| format!("{name}: unexpected answer from the server"))?;
        for diagnostic in &answer.diagnostics {
            if diagnostic.kind != "warning" {
                println!("{}", diagnostic.text);
            }
        }
        for file in &answer.files {
            if answer.files.len() <= 50 || file.broken > 0 {
                println!(
                    "{}: {} rule(s), {} broken",
                    file.file, file.rules, file.broken
                );
            }
        }
        println!(
            "{name}: {} added, {} replaced, {} unchanged, {} broken",
            answer.added, answer.replaced, answer.unchanged, answer.broken
        );
        imported += answer.added + answer.replaced + answer.unchanged;
        broken += answer.broken;
    }
    println!(
        "nigehban: {imported} rule(s) imported{}, {broken} broken",
        if args.disabled {
            " (disabled for the platform)"
        } else {
            ""
        }
    );
    if failed {
        return Ok(ExitCode::from(2));
    }
    if imported == 0 {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// `a=b&c=d`, percent-encoded.
pub(crate) fn form_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    let encode = |text: &str| {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let rule_set = load_rules(&args.paths, Placeholders::default())?;
    let mapping = logsource_mapping(args.mapping.as_deref())?;
    let (compiled, compile_problems) =
        CompiledRuleSet::new(&rule_set, &mapping, &CompileOptions::default());
    let mut errors = 0;
    let mut unsupported = 0;
    let mut warnings = 0;
    let mut placeholders = 0;
    for diagnostic in rule_set.diagnostics().iter().chain(&compile_problems) {
        match diagnostic.kind {
            DiagnosticKind::Error => errors += 1,
            DiagnosticKind::Unsupported => unsupported += 1,
            DiagnosticKind::Warning => {
                warnings += 1;
                // A placeholder without a value matches anything: always worth saying.
                if diagnostic.is_unresolved_placeholder() {
                    placeholders += 1;
                } else if !args.warnings {
                    continue;
                }
            }
        }
        println!("{diagnostic}");
    }
    let loaded = rule_set.rules().len();
    println!(
        "{loaded} rule(s) loaded, {} compiled for matching; {errors} error(s), {unsupported} unsupported, {warnings} warning(s)",
        compiled.len()
    );
    if placeholders > 0 {
        println!(
            "{placeholders} placeholder(s) without a value: those searches match any value of their field"
        );
    }
    if args.strict && (errors > 0 || unsupported > 0) {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
