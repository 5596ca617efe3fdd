//! `nigehban audit verify`: recompute the audit hash chain offline.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use nigehban_app::model::AuditVerification;

use crate::config::{ConfigSources, StorageFlags};
use crate::{logging, storage};

/// The `audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the audit log's hash chain and name the first entry that does
    /// not match. Exit status: 0 intact, 1 broken, 2 could not check.
    Verify(VerifyArgs),
}

/// Arguments of `nigehban audit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Which storage.
    #[command(flatten)]
    pub storage: StorageFlags,
}

/// Runs an `audit` subcommand.
pub fn run(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify(args) => verify(args),
    }
}

fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let env = crate::config::process_env;
    let sources = ConfigSources::load(args.storage.config.as_deref(), &env)?;
    let settings = sources.storage(&args.storage)?;
    logging::init(&settings.log);
    crate::runtime()?.block_on(async {
        let app = storage::open(&settings).await?;
        let operator = app.operator(None).await.context("nothing to verify")?;
        let verification = app
            .audit()
            .verify(&operator)
            .await
            .context("cannot read the audit log")?;
        Ok(report(&verification))
    })
}

/// Prints the verdict and returns the exit status.
pub fn report(verification: &AuditVerification) -> ExitCode {
    match verification {
        AuditVerification::Intact { entries, head } => {
            println!(
                "audit log intact: {entries} entries, head hash {}",
                head.to_hex()
            );
            ExitCode::SUCCESS
        }
        AuditVerification::Broken(first_break) => {
            println!("audit log BROKEN: {first_break}");
            ExitCode::from(1)
        }
    }
}
