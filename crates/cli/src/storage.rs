//! Opening the platform's storage as the configuration says.

use anyhow::Context as _;
use nigehban_app::{App, AppSettings, StoreConfig};

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

/// Opens the storage (applying pending migrations) and the services over it.
pub async fn open(settings: &StorageSettings) -> anyhow::Result<App> {
    open_with(settings, AppSettings::default()).await
}

/// Like [`open`], with the services' settings.
pub async fn open_with(
    settings: &StorageSettings,
    app_settings: AppSettings,
) -> anyhow::Result<App> {
    App::open(&store_config(&settings.storage), app_settings)
        .await
        .with_context(|| format!("cannot open the {}", settings.storage))
}
