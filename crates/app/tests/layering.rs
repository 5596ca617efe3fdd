//! Tidy checks of the architecture, as ordinary tests: only the store knows
//! SQL, the server reaches storage only through the app, the model does no I/O.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

/// The crate names listed under `[dependencies]` (not dev- or build-) of a manifest.
fn dependencies(manifest: &str) -> Vec<String> {
    let mut in_dependencies = false;
    let mut names = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
            continue;
        }
        if in_dependencies && let Some((name, _)) = line.split_once('=') {
            let name = name.trim();
            if !name.is_empty() && !name.starts_with('#') {
                names.push(name.to_owned());
            }
        }
    }
    names
}

fn crates() -> Vec<(String, Vec<String>)> {
    let crates_dir = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut found = Vec::new();
    for entry in std::fs::read_dir(crates_dir).unwrap() {
        let manifest = entry.unwrap().path().join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            let name = manifest
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            found.push((name, dependencies(&text)));
        }
    }
    assert!(
        found.iter().any(|(name, _)| name == "store"),
        "crates/store not found"
    );
    found
}

#[test]
fn only_the_store_knows_sql() {
    const DATABASE_CRATES: [&str; 5] = [
        "rusqlite",
        "tokio-postgres",
        "deadpool-postgres",
        "postgres",
        "sqlx",
    ];
    for (name, deps) in crates() {
        if name == "store" {
            continue;
        }
        for database in DATABASE_CRATES {
            assert!(
                !deps.iter().any(|d| d == database),
                "crates/{name} depends on {database}: only crates/store may know SQL"
            );
        }
    }
}

#[test]
fn the_server_reaches_storage_only_through_the_app() {
    for (name, deps) in crates() {
        if name == "server" {
            assert!(
                !deps.iter().any(|d| d == "nigehban-store"),
                "crates/server must call nigehban-app, never nigehban-store"
            );
        }
    }
}

#[test]
fn the_model_does_no_io() {
    for (name, deps) in crates() {
        if name == "model" {
            for io in ["tokio", "rusqlite", "nigehban-store", "reqwest", "axum"] {
                assert!(
                    !deps.iter().any(|d| d == io),
                    "crates/model depends on {io}"
                );
            }
        }
    }
}

#[test]
fn the_stix_codec_is_pure() {
    let stix = crates()
        .into_iter()
        .find(|(name, _)| name == "stix")
        .expect("crates/stix not found");
    for dep in &stix.1 {
        assert!(
            ["nigehban-model", "serde_json", "thiserror", "time", "uuid"].contains(&dep.as_str()),
            "crates/stix depends on {dep}: the STIX codec does no I/O and knows no storage"
        );
    }
}

#[test]
fn the_manifest_reader_reads_dependencies_only() {
    let manifest = "[package]\nname = \"x\"\n[dependencies]\nserde = \"1\"\n# note\n[dev-dependencies]\nrusqlite = \"1\"\n";
    assert_eq!(dependencies(manifest), vec!["serde".to_owned()]);
}

/// `execute_raw_for_tests` writes past the audit log: it used to be public in
/// release code. It exists only with the store's `test-support` feature,
/// which no crate turns on outside its dev-dependencies and which is not a default.
#[test]
fn raw_sql_past_the_audit_log_is_only_built_for_tests() {
    let crates_dir = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let store = crates_dir.join("store");
    for file in ["src/sqlite.rs", "src/postgres.rs"] {
        let source = std::fs::read_to_string(store.join(file)).unwrap();
        let mut found = 0;
        let mut previous = "";
        for line in source.lines().map(str::trim) {
            if line.contains("fn execute_raw_for_tests") {
                found += 1;
                assert_eq!(
                    previous, "#[cfg(feature = \"test-support\")]",
                    "crates/store/{file}: execute_raw_for_tests must only exist with the test-support feature"
                );
            }
            previous = line;
        }
        assert_eq!(found, 1, "crates/store/{file}");
    }
    let manifest = std::fs::read_to_string(store.join("Cargo.toml")).unwrap();
    assert!(
        !manifest
            .lines()
            .any(|line| line.trim_start().starts_with("default") && line.contains("test-support")),
        "test-support must not be a default feature of nigehban-store"
    );
    for entry in std::fs::read_dir(crates_dir).unwrap() {
        let path = entry.unwrap().path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut section = String::new();
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                section = line.to_owned();
                continue;
            }
            if line.starts_with("nigehban-store") && line.contains("test-support") {
                assert_eq!(
                    section,
                    "[dev-dependencies]",
                    "{} turns on nigehban-store's test-support outside its dev-dependencies",
                    path.display()
                );
            }
        }
    }
}

/// The search index is queried only within a scope the policy gave
/// (`app::EventScope`): outside the search crate's `testing` feature, which
/// only its own dev-dependencies turn on, no public function makes a
/// `TenantScope` from tenant names or for every tenant, and its tenants are private.
#[test]
fn search_scopes_come_only_from_the_policy() {
    let crates_dir = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let source = std::fs::read_to_string(crates_dir.join("search/src/query.rs")).unwrap();
    let mut previous = "";
    let mut in_testing_impl = false;
    let mut in_scope_impl = false;
    let mut makers = Vec::new();
    for line in source.lines() {
        let trimmed = line.trim();
        if line.starts_with("impl TenantScope {") {
            in_scope_impl = true;
            in_testing_impl = previous.contains("feature = \"testing\"");
        } else if line.starts_with('}') {
            in_scope_impl = false;
        } else if in_scope_impl
            && !in_testing_impl
            && trimmed.starts_with("pub fn")
            && (trimmed.contains("-> Self") || trimmed.contains("-> TenantScope"))
        {
            makers.push(trimmed.to_owned());
        }
        previous = trimmed;
    }
    assert!(
        makers.is_empty(),
        "public TenantScope constructors outside the testing feature: {makers:?}"
    );
    let fields = source
        .split("pub struct TenantScope {")
        .nth(1)
        .and_then(|rest| rest.split('}').next())
        .expect("TenantScope is a struct");
    assert!(
        !fields.contains("pub"),
        "TenantScope's tenants must stay private: {fields}"
    );
    assert!(
        source.contains("impl From<&EventScope> for TenantScope"),
        "the policy's scope is the way in"
    );
    let manifest = std::fs::read_to_string(crates_dir.join("search/Cargo.toml")).unwrap();
    assert!(
        !manifest
            .lines()
            .any(|line| line.trim_start().starts_with("default") && line.contains("testing")),
        "testing must not be a default feature of nigehban-search"
    );
    for entry in std::fs::read_dir(crates_dir).unwrap() {
        let path = entry.unwrap().path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut section = String::new();
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                section = line.to_owned();
                continue;
            }
            if line.starts_with("nigehban-search") && line.contains("testing") {
                assert_eq!(
                    section,
                    "[dev-dependencies]",
                    "{} turns on nigehban-search's testing feature outside its dev-dependencies",
                    path.display()
                );
            }
        }
    }
}
