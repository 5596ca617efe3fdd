//! A platform the binary's tests set up in-process through the app (faster than
//! over HTTP), on the storage the binary is then pointed at.

// Each test binary uses a different part of this.
#![allow(dead_code)]

use nigehban_app::{App, AppSettings, StoreConfig};

// The tenant tree of the app's own tests: one way to set a platform up in-process.
#[path = "../../../app/tests/support/tree.rs"]
mod tree;
// Not every test binary names each of these.
#[allow(unused_imports)]
pub use tree::{ADMIN_PASSWORD, Tree, token, tree};

/// A runtime for the app's calls from a synchronous test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The storage a test runs on: `--data-dir` (SQLite) or `--database` too,
/// with the audit key file in the data directory either way.
pub struct Storage {
    /// The data directory.
    pub dir: tempfile::TempDir,
    /// The PostgreSQL URL, when not on SQLite.
    pub database: Option<String>,
}

impl Storage {
    /// A fresh SQLite store.
    pub fn sqlite() -> Storage {
        Storage {
            dir: tempfile::tempdir().unwrap(),
            database: None,
        }
    }

    /// A fresh data directory with the PostgreSQL database at `url`.
    pub fn postgres(url: &str) -> Storage {
        Storage {
            dir: tempfile::tempdir().unwrap(),
            database: Some(url.to_owned()),
        }
    }

    /// The arguments that name this storage to the binary.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "--data-dir".to_owned(),
            self.dir.path().display().to_string(),
        ];
        if let Some(url) = &self.database {
            args.extend(["--database".to_owned(), url.clone()]);
        }
        args
    }

    /// The app on this storage, as the binary opens it (with cheap password hashing).
    pub async fn open(&self) -> App {
        let config = match &self.database {
            Some(url) => StoreConfig::Postgres {
                url: url.clone(),
                pool_size: 4,
            },
            None => StoreConfig::Sqlite {
                data_dir: self.dir.path().to_path_buf(),
            },
        };
        App::open(
            &config,
            AppSettings {
                audit_key_file: Some(self.dir.path().join(nigehban_app::AUDIT_KEY_FILE)),
                ..AppSettings::insecure_fast_for_tests()
            },
        )
        .await
        .unwrap()
    }
}
