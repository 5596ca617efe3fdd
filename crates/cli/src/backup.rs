//! `nigehban backup` and `nigehban restore`: consistent snapshots of the embedded store.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;

use crate::config::{ConfigSources, StorageChoice, StorageFlags};
use crate::{audit, logging, storage};

/// Arguments of `nigehban backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Which storage (the embedded store; for PostgreSQL use `pg_dump`).
    #[command(flatten)]
    pub storage: StorageFlags,
    /// The snapshot file to write (must not exist).
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
}

/// Arguments of `nigehban restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Which data directory to restore into (the server must be stopped).
    #[command(flatten)]
    pub storage: StorageFlags,
    /// The snapshot file written by `nigehban backup`.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Replace an existing database in the data directory.
    #[arg(long)]
    pub force: bool,
}

/// Takes a consistent snapshot while the server may be running.
pub fn run_backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let env = crate::config::process_env;
    let sources = ConfigSources::load(args.storage.config.as_deref(), &env)?;
    let settings = sources.storage(&args.storage)?;
    logging::init(&settings.log);
    if let StorageChoice::Postgres { .. } = settings.storage {
        bail!(
            "backups of PostgreSQL are pg_dump's job: pg_dump --format=custom, restored with pg_restore"
        );
    }
    if args.to.exists() {
        bail!("{} already exists; choose a new file", args.to.display());
    }
    crate::runtime()?.block_on(async {
        let app = storage::open(&settings).await?;
        let operator = app.operator(None).await.context("nothing to back up")?;
        let report = app
            .backup(&operator, &args.to)
            .await
            .with_context(|| format!("cannot write the backup to {}", args.to.display()))?;
        println!(
            "nigehban: backup written to {} ({} bytes); audit chain head seq {} hash {}",
            report.path.display(),
            report.bytes,
            report.audit_head.seq,
            report.audit_head.hash.to_hex()
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// Restores a snapshot into a data directory, then verifies its audit chain
/// (read-only, with the audit key kept apart from backups).
pub fn run_restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let env = crate::config::process_env;
    let sources = ConfigSources::load(args.storage.config.as_deref(), &env)?;
    let settings = sources.storage(&args.storage)?;
    logging::init(&settings.log);
    let StorageChoice::Embedded { data_dir } = &settings.storage else {
        bail!(
            "restoring into PostgreSQL is pg_restore's job; `nigehban restore` restores the embedded store"
        );
    };
    if !args.from.is_file() {
        bail!("{} is not a backup file", args.from.display());
    }
    crate::runtime()?.block_on(async {
        nigehban_app::restore_backup(&args.from, data_dir, args.force)
            .await
            .with_context(|| {
                format!(
                    "cannot restore {} into {}",
                    args.from.display(),
                    data_dir.display()
                )
            })?;
        // A backup made by an earlier version may be readable by others: the copy is not.
        crate::data_dir::secure(data_dir)?;
        println!(
            "nigehban: restored {} into {}",
            args.from.display(),
            data_dir.display()
        );
        // Checked read-only with the audit key, which backups do not hold.
        let app = storage::open_read_only(&settings).await.with_context(|| {
            format!(
                "the backup is restored, but its audit log cannot be checked: put the audit key file at {} (or name it with --audit-key-file) and run `nigehban audit verify`",
                settings.audit_key_file.display()
            )
        })?;
        let operator = app
            .operator(None)
            .await
            .context("the restored database is empty")?;
        let verification = app
            .audit()
            .verify(&operator)
            .await
            .context("cannot read the restored audit log")?;
        Ok(audit::report(&verification))
    })
}
