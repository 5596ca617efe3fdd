//! Databases of their own on the PostgreSQL server the test suite was given
//! (`NIGEHBAN_TEST_POSTGRES_URL`), made and dropped with the PostgreSQL client programs.

// Each test binary uses a different part of this.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// A PostgreSQL client program (createdb, dropdb, psql) from the server's installation or the PATH.
pub fn postgres_program(name: &str) -> PathBuf {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.path().join("bin").join(name))
                .collect()
        })
        .unwrap_or_default();
    candidates.sort();
    candidates
        .into_iter()
        .rev()
        .find(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Runs SQL with psql at `url`; returns (success, standard output and error).
pub fn psql(url: &str, sql: &str) -> (bool, String) {
    let output = Command::new(postgres_program("psql"))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql, url])
        .output()
        .expect("psql runs");
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// A database of its own on the test server, dropped at the end with the
/// login roles a test made for it (listed in `roles`).
pub struct ScratchDatabase {
    server_url: String,
    /// Its name.
    pub name: String,
    /// Its URL, as the server's user.
    pub url: String,
    /// Login roles the test made, dropped after the database.
    pub roles: Vec<String>,
}

impl ScratchDatabase {
    /// Creates `nigehban_{what}_{process}_{nanos}` on the server at `server_url`.
    pub fn create(server_url: &str, what: &str) -> ScratchDatabase {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("nigehban_{what}_{}_{nanos}", std::process::id());
        let (ok, out) = psql(server_url, &format!("CREATE DATABASE {name}"));
        assert!(ok, "creating database {name}: {out}");
        let (base, _) = server_url.rsplit_once('/').unwrap();
        ScratchDatabase {
            server_url: server_url.to_owned(),
            url: format!("{base}/{name}"),
            name,
            roles: Vec::new(),
        }
    }

    /// This database's URL for another (password-less, trusted) login role.
    pub fn url_as(&self, role: &str) -> String {
        let (scheme, rest) = self.url.split_once("://").unwrap();
        let host = rest.split_once('@').map_or(rest, |(_, host)| host);
        format!("{scheme}://{role}@{host}")
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let _ = psql(
            &self.server_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
        for role in &self.roles {
            let _ = psql(&self.server_url, &format!("DROP ROLE IF EXISTS {role}"));
        }
    }
}
