//! `nigehban audit verify` and `nigehban audit head`: check the audit log
//! offline, and anchor it outside the database.
//!
//! Both open the storage read-only (no migration, nothing written) and need
//! the audit key the log is sealed with (`--audit-key-file`, default
//! `DATA_DIR/audit.key`). `audit head` prints the head of a log that
//! verifies as one `SEQ:HASH` line, to append to write-once media (or a
//! signed report); `audit verify --expect-head SEQ:HASH` (or
//! `--expect-heads-from FILE` with such lines) then fails if that entry is
//! missing or differs: a log cut short or rolled back to an earlier state
//! shows, even though every remaining MAC is genuine.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use nigehban_app::App;
use nigehban_app::model::{AuditVerification, ChainHead};

use crate::config::{ConfigSources, StorageFlags};
use crate::{logging, storage};

/// The `audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the audit log's hash chain, check every entry's MAC with the
    /// audit key, and name the first entry that does not match. Opens the
    /// storage read-only. Exit status: 0 intact, 1 broken, 2 could not check.
    Verify(VerifyArgs),
    /// Verify the audit log, then print its head as one line `SEQ:HASH`, to
    /// keep where the database's administrators cannot change it (write-once
    /// media, a signed report). Exit status: 0 printed, 1 broken, 2 could not check.
    Head(HeadArgs),
}

/// Arguments of `nigehban audit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Which storage, and the audit key.
    #[command(flatten)]
    pub storage: StorageFlags,
    /// A head printed earlier by `nigehban audit head` (`SEQ:HASH`): that
    /// entry must still be in the log, unchanged. Repeat for several.
    #[arg(long, value_name = "SEQ:HASH")]
    pub expect_head: Vec<ChainHead>,
    /// A file of heads printed by `nigehban audit head`, one `SEQ:HASH` per
    /// line (blank lines and lines starting with `#` are skipped).
    #[arg(long, value_name = "FILE")]
    pub expect_heads_from: Option<PathBuf>,
}

/// Arguments of `nigehban audit head`.
#[derive(Debug, Args)]
pub struct HeadArgs {
    /// Which storage, and the audit key.
    #[command(flatten)]
    pub storage: StorageFlags,
}

/// Runs an `audit` subcommand.
pub fn run(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify(args) => verify(args),
        AuditCommand::Head(args) => head(args),
    }
}

/// Reads anchored heads from a file, naming the line of a bad one.
fn heads_from(path: &PathBuf) -> anyhow::Result<Vec<ChainHead>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the anchored heads in {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
        .map(|(index, line)| {
            line.parse::<ChainHead>()
                .with_context(|| format!("{} line {}", path.display(), index + 1))
        })
        .collect()
}

/// Opens the storage read-only and verifies the log against `anchors`.
fn check(
    storage_flags: &StorageFlags,
    anchors: &[ChainHead],
) -> anyhow::Result<(App, AuditVerification)> {
    let env = crate::config::process_env;
    let sources = ConfigSources::load(storage_flags.config.as_deref(), &env)?;
    let settings = sources.storage(storage_flags)?;
    logging::init(&settings.log);
    storage::require_existing_store(&settings)?;
    crate::runtime()?.block_on(async {
        let app = storage::open_read_only(&settings).await?;
        let operator = app.operator(None).await.context("nothing to verify")?;
        let verification = app
            .audit()
            .verify_against(&operator, anchors)
            .await
            .context("cannot read the audit log")?;
        Ok((app, verification))
    })
}

fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let mut anchors = args.expect_head.clone();
    if let Some(path) = &args.expect_heads_from {
        anchors.extend(heads_from(path)?);
    }
    let (app, verification) = check(&args.storage, &anchors)?;
    let status = report(&verification);
    if verification.is_intact() {
        println!(
            "audit key fingerprint {}; {} anchored head(s) found unchanged",
            app.audit().key_fingerprint(),
            anchors.len()
        );
    }
    Ok(status)
}

fn head(args: HeadArgs) -> anyhow::Result<ExitCode> {
    let (app, verification) = check(&args.storage, &[])?;
    let AuditVerification::Intact { entries, head } = verification else {
        eprintln!("nigehban: not printing a head for a log that does not verify");
        return Ok(report(&verification));
    };
    let head = ChainHead {
        seq: entries,
        hash: head,
    };
    // The line alone on standard output, so that `>> /mnt/worm/anchors` keeps just it.
    println!("{head}");
    eprintln!(
        "nigehban: audit log of instance {} verified (key fingerprint {}); keep the line above where the database's administrators cannot change it, and check later with `nigehban audit verify --expect-head {head}`",
        app.instance(),
        app.audit().key_fingerprint(),
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints the verdict and returns the exit status.
pub fn report(verification: &AuditVerification) -> ExitCode {
    match verification {
        AuditVerification::Intact { entries, head } => {
            println!(
                "audit log intact: {entries} entries, head {}",
                ChainHead {
                    seq: *entries,
                    hash: *head
                }
            );
            ExitCode::SUCCESS
        }
        AuditVerification::Broken(first_break) => {
            println!("audit log BROKEN: {first_break}");
            ExitCode::from(1)
        }
    }
}
