//! Opening the platform's storage as the configuration says.

use anyhow::Context as _;
use nigehban_app::{App, AppSettings, AuditKeyFile, StoreConfig};

use crate::config::{StorageChoice, StorageSettings};

/// Connections kept to PostgreSQL by one process.
const POSTGRES_POOL_SIZE: usize = 16;

/// The store configuration for the chosen storage.
pub fn store_config(storage: &StorageChoice) -> StoreConfig {
    match storage {
        StorageChoice::Embedded { data_dir } => StoreConfig::Sqlite {
            data_dir: data_dir.clone(),
        },
        StorageChoice::Postgres { url } => StoreConfig::Postgres {
            url: url.clone(),
            pool_size: POSTGRES_POOL_SIZE,
        },
    }
}

/// Makes the data directory private, opens the storage (applying pending
/// migrations, taking the audit key from its file) and the services over it.
pub async fn open(settings: &StorageSettings) -> anyhow::Result<App> {
    open_with(settings, AppSettings::default()).await
}

/// Like [`open`], with the services' settings (the audit key file is the
/// storage settings' own).
pub async fn open_with(
    settings: &StorageSettings,
    app_settings: AppSettings,
) -> anyhow::Result<App> {
    // Before anything in it is opened: nothing there is for other users.
    crate::data_dir::secure(&settings.data_dir)?;
    let app_settings = AppSettings {
        audit_key_file: Some(settings.audit_key_file.clone()),
        ..app_settings
    };
    App::open(&store_config(&settings.storage), app_settings)
        .await
        .with_context(|| format!("cannot open the {}", settings.storage))
}

/// Refuses a data directory that holds no embedded store, for commands that work on an
/// existing installation (`audit verify`, `backup`): a mistyped `--data-dir` would
/// otherwise be a new, empty store.
pub fn require_existing_store(settings: &StorageSettings) -> anyhow::Result<()> {
    if let StorageChoice::Embedded { data_dir } = &settings.storage {
        let database = data_dir.join(nigehban_app::DATABASE_FILE);
        if !database.is_file() {
            anyhow::bail!(
                "{} holds no Nigehban store (no {} there): check --data-dir (or NIGEHBAN_DATA_DIR); a new installation is set up by `nigehban serve`",
                data_dir.display(),
                nigehban_app::DATABASE_FILE
            );
        }
    }
    Ok(())
}

/// Opens the storage without changing it (no migration, nothing written),
/// with the audit key from its file, to verify the audit log.
pub async fn open_read_only(settings: &StorageSettings) -> anyhow::Result<App> {
    App::open_read_only(
        &store_config(&settings.storage),
        &AuditKeyFile::at(&settings.audit_key_file),
    )
    .await
    .with_context(|| format!("cannot open the {} read-only", settings.storage))
}
