//! `nigehban rules check`: load and lint Sigma rules.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use nigehban_detect::load_rules;
use nigehban_sigma::{CompileOptions, CompiledRuleSet, DiagnosticKind, Placeholders};

use crate::hunt::logsource_mapping;

/// Work with Sigma rules.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Load rules, report every error and unsupported feature with its place, and count them.
    Check(CheckArgs),
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
    /// Also print warnings (e.g. placeholders without values).
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
    }
}

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let rule_set = load_rules(&args.paths, Placeholders::default())?;
    let mapping = logsource_mapping(args.mapping.as_deref())?;
    let (compiled, compile_problems) =
        CompiledRuleSet::new(&rule_set, &mapping, &CompileOptions::default());
    let mut errors = 0;
    let mut unsupported = 0;
    let mut warnings = 0;
    for diagnostic in rule_set.diagnostics().iter().chain(&compile_problems) {
        match diagnostic.kind {
            DiagnosticKind::Error => errors += 1,
            DiagnosticKind::Unsupported => unsupported += 1,
            DiagnosticKind::Warning => {
                warnings += 1;
                if !args.warnings {
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
    if args.strict && (errors > 0 || unsupported > 0) {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
