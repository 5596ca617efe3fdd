//! `nigehban backup` and `nigehban restore`: one archive with the store and the events.
//!
//! A backup holds what a CERT needs back (see `archive.rs` for the layout): the embedded
//! SQLite store, as a consistent `VACUUM INTO` snapshot, and the embedded event bus, as a
//! consistent copy of its segments up to the last complete record (everything
//! acknowledged before the backup began is in it), with the consumers' offsets and a
//! manifest. Both are taken while the server runs. The search index is not copied: a
//! server that starts without one builds it again from the events on the bus.
//!
//! On PostgreSQL the store is `pg_dump`'s job; the backup then holds the embedded bus
//! alone. Events on NATS JetStream are backed up with JetStream's own tools.
//!
//! A restore refuses a data directory a server is running on (it takes the directory's
//! lock, which a running server holds), and a directory that is not empty unless
//! `--force`; it checks every entry against the manifest before it replaces anything.

mod archive;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::UNIX_EPOCH;

use anyhow::{Context as _, bail};
use clap::Args;
use nigehban_app::model::{AuditVerification, Timestamp};
use nigehban_bus::{EmbeddedLog, EmbeddedOptions, EmbeddedSnapshot, EventBus as _};

use self::archive::{ArchiveWriter, BusManifest, Manifest, STORE_ENTRY, StoreManifest};
use crate::config::{ConfigSources, StorageChoice, StorageFlags, StorageSettings};
use crate::{audit, data_dir, logging, storage};

/// Arguments of `nigehban backup`.
#[derive(Debug, Args)]
#[command(
    after_help = "The backup file is a tar archive: the embedded store (on PostgreSQL use pg_dump \
for the store; the archive then holds the events alone), the embedded event bus (every event \
acknowledged before the backup began) and a manifest. The search index is rebuilt from the \
events when a server starts on the restored directory. The file holds password hashes: it is \
created readable by its owner only; keep it so."
)]
pub struct BackupArgs {
    /// Which data directory (and store) to back up.
    #[command(flatten)]
    pub storage: StorageFlags,
    /// The backup file to write (must not exist).
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
}

/// Arguments of `nigehban restore`.
#[derive(Debug, Args)]
#[command(
    after_help = "Refused while a server runs on the data directory (its lock is checked, whatever \
--force says). A directory that is not empty needs --force, which replaces its store, its event \
bus and its search index (rebuilt from the restored events when the server starts)."
)]
pub struct RestoreArgs {
    /// Which data directory to restore into (no server may be running on it).
    #[command(flatten)]
    pub storage: StorageFlags,
    /// The backup file written by `nigehban backup`.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Restore into a data directory that is not empty, replacing its store, event bus and
    /// search index (never into one a server is running on).
    #[arg(long)]
    pub force: bool,
}

/// The logging filter of these commands: they print their result on standard output, so
/// the default `info` would only repeat it on standard error.
fn quiet(settings: &StorageSettings) -> &str {
    if settings.log == "info" {
        "warn"
    } else {
        &settings.log
    }
}

/// Takes a backup while the server may be running.
pub fn run_backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let env = crate::config::process_env;
    let sources = ConfigSources::load(args.storage.config.as_deref(), &env)?;
    let settings = sources.storage(&args.storage)?;
    logging::init(quiet(&settings));
    storage::require_existing_store(&settings)?;
    if args.to.exists() {
        bail!("{} already exists; choose a new file", args.to.display());
    }
    let partial = sibling(&args.to, "partial")?;
    let store_copy = sibling(&args.to, "store")?;
    // Whatever happens below, no half-written file is left behind.
    let _cleanup = RemoveOnDrop(vec![partial.clone(), store_copy.clone()]);
    crate::runtime()?.block_on(async {
        let mut manifest = Manifest {
            format: "nigehban-backup".into(),
            version: 1,
            nigehban_version: env!("CARGO_PKG_VERSION").into(),
            created_at: Timestamp::now().to_string(),
            store: None,
            bus: None,
            files: BTreeMap::new(),
        };
        let mut writer = ArchiveWriter::new(archive::create_private_file(&partial)?)?;

        // The store first, then the bus: the bus copy is taken after the backup began, so it
        // holds every event acknowledged before.
        let store_line = match &settings.storage {
            StorageChoice::Embedded { .. } => {
                let app = storage::open(&settings).await?;
                let operator = app.operator(None).await.context("nothing to back up")?;
                let report = app
                    .backup(&operator, &store_copy)
                    .await
                    .context("cannot take a snapshot of the store")?;
                drop(app);
                let file = fs::File::open(&store_copy)
                    .with_context(|| format!("cannot read {}", store_copy.display()))?;
                writer.append(STORE_ENTRY, report.bytes, unix_now(), file)?;
                manifest.store = Some(StoreManifest {
                    file: STORE_ENTRY.into(),
                    audit_head_seq: report.audit_head.seq,
                    audit_head_hash: report.audit_head.hash.to_hex(),
                });
                format!(
                    "store: the embedded SQLite database, {} bytes; audit chain head seq {} hash {}",
                    report.bytes,
                    report.audit_head.seq,
                    report.audit_head.hash.to_hex()
                )
            }
            StorageChoice::Postgres { .. } => {
                "store: not included: the store is on PostgreSQL, back it up with pg_dump --format=custom (restore with pg_restore)".to_owned()
            }
        };

        let data_dir = settings.data_dir.clone();
        let snapshot = tokio::task::spawn_blocking(move || EmbeddedSnapshot::take(&data_dir))
            .await
            .context("the bus snapshot task failed")?
            .with_context(|| {
                format!(
                    "cannot copy the event bus in {}",
                    settings.data_dir.display()
                )
            })?;
        let bus_line = match snapshot {
            Some(snapshot) => {
                let bus = BusManifest {
                    oldest_offset: snapshot.oldest,
                    next_offset: snapshot.next,
                    events: snapshot.records(),
                    bytes: snapshot.bytes(),
                    consumers: snapshot.consumers.iter().cloned().collect(),
                };
                for file in snapshot.files {
                    let name = entry_name(&file.path)?;
                    let mtime = file
                        .modified
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    let len = file.len;
                    writer.append(&name, len, mtime, file.into_reader())?;
                }
                let line = format!(
                    "events: {} on the embedded event bus (offsets {} to {}), {} bytes; consumer offsets: {}",
                    bus.events,
                    bus.oldest_offset,
                    bus.next_offset.saturating_sub(1),
                    bus.bytes,
                    consumer_list(&bus.consumers)
                );
                manifest.bus = Some(bus);
                line
            }
            None => {
                if manifest.store.is_none() {
                    bail!(
                        "nothing to back up here: the store is on PostgreSQL (back it up with pg_dump --format=custom) and {} holds no embedded event bus (events on NATS JetStream are backed up with JetStream's tools)",
                        settings.data_dir.display()
                    );
                }
                format!(
                    "events: none: {} holds no embedded event bus (events on NATS JetStream are backed up with JetStream's tools)",
                    settings.data_dir.display()
                )
            }
        };
        let file = writer.finish(manifest)?;
        archive::sync(file)?;
        fs::rename(&partial, &args.to)
            .with_context(|| format!("cannot move the backup into {}", args.to.display()))?;
        sync_parent(&args.to)?;
        let bytes = fs::metadata(&args.to).map_or(0, |m| m.len());
        println!(
            "nigehban: backup written to {} ({bytes} bytes)",
            args.to.display()
        );
        println!("nigehban:   {store_line}");
        println!("nigehban:   {bus_line}");
        println!(
            "nigehban:   search index: not included; a server started on the restored directory rebuilds it from the events"
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// Restores a backup into a data directory no server is running on, then verifies the
/// restored audit chain (read-only, with the audit key kept apart from backups).
pub fn run_restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let env = crate::config::process_env;
    let sources = ConfigSources::load(args.storage.config.as_deref(), &env)?;
    let settings = sources.storage(&args.storage)?;
    logging::init(quiet(&settings));
    if !args.from.is_file() {
        bail!("{} is not a backup file", args.from.display());
    }
    let data_dir = settings.data_dir.clone();
    // Held until the restore is done: a server cannot start on the directory meanwhile.
    let _lock = data_dir::lock(&data_dir)?;
    data_dir::check_bus_unlocked(&data_dir)?;
    let staging = data_dir.join(".restoring");
    let held = occupied(&data_dir, &staging)?;
    if !held.is_empty() && !args.force {
        bail!(
            "the data directory {} is not empty (it holds {}); restore into an empty directory, or pass --force to replace its store, event bus and search index",
            data_dir.display(),
            held.join(", ")
        );
    }
    if staging.exists() {
        // Left by a restore that failed before it replaced anything.
        fs::remove_dir_all(&staging)
            .with_context(|| format!("cannot remove {}", staging.display()))?;
    }
    data_dir::create_private_dir(&staging)?;
    let _cleanup = RemoveOnDrop(vec![staging.clone()]);
    let extracted = archive::extract(&args.from, &staging)?;
    let manifest = extracted.manifest;
    if manifest.store.is_some() && matches!(settings.storage, StorageChoice::Postgres { .. }) {
        bail!(
            "{} holds an embedded store, and the configuration names PostgreSQL: restore it into a data directory without --database (PostgreSQL is restored with pg_restore)",
            args.from.display()
        );
    }
    crate::runtime()?.block_on(async {
        // The events are checked before anything is replaced: the copy opens as a log and
        // holds the offsets the manifest names.
        if let Some(bus) = &manifest.bus {
            let log = EmbeddedLog::open(EmbeddedOptions::new(&staging))
                .await
                .context("the backup's event bus does not open")?;
            let bounds = log.bounds().await?;
            log.close().await?;
            if (bounds.oldest, bounds.next) != (bus.oldest_offset, bus.next_offset) {
                bail!(
                    "the backup's event bus holds offsets {} to {}, its manifest says {} to {}",
                    bounds.oldest,
                    bounds.next,
                    bus.oldest_offset,
                    bus.next_offset
                );
            }
            // Its lock file is the owner's, not part of the log.
            let _ = fs::remove_file(staging.join("bus").join("LOCK"));
        }
        if manifest.store.is_some() {
            nigehban_app::restore_backup(&staging.join(STORE_ENTRY), &data_dir, true)
                .await
                .with_context(|| {
                    format!(
                        "cannot restore the store of {} into {}",
                        args.from.display(),
                        data_dir.display()
                    )
                })?;
        }
        let replaced = staging.join("replaced");
        data_dir::create_private_dir(&replaced)?;
        if manifest.bus.is_some() {
            move_aside(&data_dir.join("bus"), &replaced.join("bus"))?;
            fs::rename(staging.join("bus"), data_dir.join("bus"))
                .context("cannot move the restored event bus into place")?;
        }
        // The index of other events: gone, so that the server builds it from the bus.
        move_aside(&data_dir.join("search"), &replaced.join("search"))?;
        // A backup made by an earlier version may be readable by others: the copy is not.
        crate::data_dir::secure(&data_dir)?;
        sync_dir(&data_dir)?;

        println!(
            "nigehban: restored {} (taken {} by nigehban {}) into {}",
            args.from.display(),
            manifest.created_at,
            manifest.nigehban_version,
            data_dir.display()
        );
        match &manifest.bus {
            Some(bus) => println!(
                "nigehban:   events: {} on the embedded event bus (offsets {} to {}), {} bytes",
                bus.events,
                bus.oldest_offset,
                bus.next_offset.saturating_sub(1),
                bus.bytes
            ),
            None => println!("nigehban:   events: none in this backup"),
        }
        println!(
            "nigehban:   search index: rebuilt from the events when a server starts on {}",
            data_dir.display()
        );
        let Some(store) = &manifest.store else {
            println!(
                "nigehban:   store: not in this backup (PostgreSQL is restored with pg_restore)"
            );
            return Ok(ExitCode::SUCCESS);
        };
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
        println!(
            "nigehban:   store: audit chain head seq {} hash {} (as when the backup was taken)",
            store.audit_head_seq, store.audit_head_hash
        );
        if let AuditVerification::Intact { head, .. } = &verification
            && head.to_hex() != store.audit_head_hash
        {
            println!(
                "audit log BROKEN: the restored head hash {} is not the one the backup recorded ({})",
                head.to_hex(),
                store.audit_head_hash
            );
            return Ok(ExitCode::from(1));
        }
        Ok(audit::report(&verification))
    })
}

/// What the data directory holds besides the lock file and the staging directory.
fn occupied(data_dir: &Path, staging: &Path) -> anyhow::Result<Vec<String>> {
    let mut held = Vec::new();
    for entry in fs::read_dir(data_dir)
        .with_context(|| format!("cannot read the data directory {}", data_dir.display()))?
    {
        let entry = entry?;
        let path = entry.path();
        // The audit key is put in place before a restore (backups do not hold it).
        if path == staging
            || entry.file_name() == data_dir::LOCK_FILE
            || entry.file_name() == nigehban_app::AUDIT_KEY_FILE
        {
            continue;
        }
        held.push(entry.file_name().to_string_lossy().into_owned());
    }
    held.sort();
    Ok(held)
}

/// Moves `path` (if there) to `to`, to be deleted with the staging directory.
fn move_aside(path: &Path, to: &Path) -> anyhow::Result<()> {
    match fs::rename(path, to) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error).with_context(|| format!("cannot replace {}", path.display())),
    }
}

/// An archive entry name for a path relative to the data directory.
fn entry_name(path: &Path) -> anyhow::Result<String> {
    let parts: Vec<&str> = path
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect::<Option<_>>()
        .with_context(|| format!("{} is not UTF-8", path.display()))?;
    Ok(parts.join("/"))
}

fn consumer_list(consumers: &BTreeMap<String, u64>) -> String {
    if consumers.is_empty() {
        return "none".into();
    }
    consumers
        .iter()
        .map(|(name, offset)| format!("{name} {offset}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `<file>.<what>-<pid>.tmp` beside `file`.
fn sibling(file: &Path, what: &str) -> anyhow::Result<PathBuf> {
    let name = file
        .file_name()
        .with_context(|| format!("{} is not a file name", file.display()))?;
    let mut name = name.to_os_string();
    name.push(format!(".{what}-{}.tmp", std::process::id()));
    Ok(file.with_file_name(name))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn sync_parent(file: &Path) -> anyhow::Result<()> {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => sync_dir(Path::new(".")),
    }
}

fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync {}", dir.display()))
}

/// Removes files or directories when dropped (those that exist).
struct RemoveOnDrop(Vec<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        for path in &self.0 {
            if path.is_dir() {
                let _ = fs::remove_dir_all(path);
            } else {
                let _ = fs::remove_file(path);
            }
        }
    }
}
