//! `nigehban migrate`: bring the storage schema up to date, then exit.

use std::process::ExitCode;

use clap::Args;

use crate::config::{ConfigSources, StorageFlags};
use crate::{logging, storage};

/// Arguments of `nigehban migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Which storage.
    #[command(flatten)]
    pub storage: StorageFlags,
}

/// Applies pending migrations.
pub fn run(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let env = crate::config::process_env;
    let sources = ConfigSources::load(args.storage.config.as_deref(), &env)?;
    let settings = sources.storage(&args.storage)?;
    logging::init(&settings.log);
    crate::runtime()?.block_on(async {
        // Opening applies what is pending; `migrate` then confirms nothing is left.
        let app = storage::open(&settings).await?;
        let applied = app.migrations_applied_at_open() + app.migrate().await?;
        println!(
            "nigehban: applied {applied} migration(s); the schema of the {} is up to date",
            settings.storage
        );
        Ok(ExitCode::SUCCESS)
    })
}
