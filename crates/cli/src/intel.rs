//! `nigehban intel import|export`: threat intelligence in and out as files,
//! for air-gapped exchange — on the server's own storage, no server running.
//! STIX 2.1 bundles, MISP events and MISP feed directories come in; STIX,
//! MISP feeds and CSV go out (the codecs are `nigehban-stix`'s and
//! `nigehban-misp`'s, the decisions the app's).
//!
//! The caller is an API token of the platform (`--token` or
//! `NIGEHBAN_TOKEN`): what it may publish and read is decided by the same
//! policy as through the API, so an export holds exactly what the token's
//! holder may read.

use std::fs;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nigehban_app::model::{Pap, TenantId, Tlp};
use nigehban_app::policy::IntelUse;
use nigehban_app::{
    App, Caller, PageRequest, StixImport, StixObjectFate, stix, stix_import_totals,
};

use crate::config::{ConfigSources, StorageFlags};
use crate::{logging, storage};

/// The `intel` subcommands.
#[derive(Debug, Subcommand)]
pub enum IntelCommand {
    /// Import a STIX 2.1 bundle (or one STIX object), MISP events, or a
    /// MISP feed directory (manifest.json + <uuid>.json): STIX objects are
    /// all kept; indicator values become the tenant's indicators.
    Import(ImportArgs),
    /// Export what the token's holder may read.
    Export(ExportArgs),
    /// Pull an outside TAXII 2.1 collection into a tenant once (the server's
    /// `taxii_subscriptions` setting pulls on a schedule).
    Pull(PullArgs),
}

/// Arguments of `nigehban intel pull`.
#[derive(Debug, Args)]
#[command(
    after_help = "Objects added after the last pull of the same --name and --url are asked for (all of them with --from-start); `next` pages are followed. Objects keep their markings and creator; those without a TLP marking get --tlp.

Exit status: 0 when every object was kept, 1 when some were refused, 2 when the pull failed."
)]
pub struct PullArgs {
    #[command(flatten)]
    acting: ActingArgs,
    /// The API root's URL, e.g. https://taxii.example/api1/.
    #[arg(long, value_name = "URL")]
    url: String,
    /// The collection's id.
    #[arg(long, value_name = "ID")]
    collection: String,
    /// The tenant the objects are imported for, by name or id [default: the token's].
    #[arg(long, value_name = "NAME")]
    tenant: Option<String>,
    /// The feed's name: the source of objects that name no creator, and the key of the remembered position [default: the URL].
    #[arg(long)]
    name: Option<String>,
    /// The TLP label of objects with no TLP marking: clear, green, amber, amber+strict, red.
    #[arg(long, default_value = "amber")]
    tlp: String,
    /// HTTP Basic user name at the outside server (with --password-file).
    #[arg(long, requires = "password_file")]
    username: Option<String>,
    /// A file holding the HTTP Basic password.
    #[arg(long, value_name = "FILE", requires = "username")]
    password_file: Option<PathBuf>,
    /// A file holding a bearer token for the outside server.
    #[arg(long, value_name = "FILE", conflicts_with = "username")]
    bearer_token_file: Option<PathBuf>,
    /// Pull everything, not only what was added since the last pull.
    #[arg(long)]
    from_start: bool,
}

/// Who acts, and on which storage.
#[derive(Debug, Args)]
pub struct ActingArgs {
    /// Which storage.
    #[command(flatten)]
    storage: StorageFlags,
    /// An API token of the platform (`ngt_...`); also NIGEHBAN_TOKEN, which keeps it out of the process list.
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
}

/// Arguments of `nigehban intel import`.
#[derive(Debug, Args)]
#[command(
    after_help = "FILE is read as a MISP feed when it is a directory (or its manifest.json), as MISP events when its JSON is {\"Event\": ...}, {\"response\": ...} or a list, and as STIX 2.1 otherwise. MISP attributes take their TLP and PAP from their tags and distribution level; --tlp and --pap apply to STIX objects that carry none.\n\n\
Each object or attribute that is refused, or gives no indicator, is listed on standard error with where it is and why; a summary line goes to standard output.\n\n\
Exit status: 0 when everything was kept, 1 when some objects, attributes or feed event files were refused, 2 when the import failed."
)]
pub struct ImportArgs {
    #[command(flatten)]
    acting: ActingArgs,
    /// The importing tenant, by name or id [default: the token's].
    #[arg(long, value_name = "NAME")]
    tenant: Option<String>,
    /// The TLP label of objects with no TLP marking: clear, green, amber, amber+strict, red.
    #[arg(long, default_value = "amber")]
    tlp: String,
    /// The PAP label of indicators that carry none: clear, green, amber, red.
    #[arg(long, default_value = "amber")]
    pap: String,
    /// The source of indicators whose creator the bundle does not name [default: the file's name].
    #[arg(long)]
    source: Option<String>,
    /// The STIX 2.1 JSON file, MISP event JSON file, or MISP feed directory.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// A STIX 2.1 bundle.
    Stix,
    /// A MISP feed directory (manifest.json, hashes.csv, <uuid>.json), for a MISP instance to pull; needs --out.
    Misp,
    /// Indicators as CSV: kind,value,tlp,pap,confidence,valid_from,valid_until,source,tags.
    Csv,
}

/// Arguments of `nigehban intel export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    acting: ActingArgs,
    /// The format.
    #[arg(long, value_enum)]
    format: ExportFormat,
    /// Only what tenants at or below this one published, by name or id [default: all the token may read].
    #[arg(long, value_name = "NAME")]
    tenant: Option<String>,
    /// Write here instead of standard output (for misp: the feed directory, made if missing).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Runs an `intel` subcommand.
pub fn run(command: IntelCommand) -> anyhow::Result<ExitCode> {
    match command {
        IntelCommand::Import(args) => import(args),
        IntelCommand::Export(args) => export(args),
        IntelCommand::Pull(args) => pull(args),
    }
}

/// Opens the storage and authenticates the token.
async fn open(acting: &ActingArgs) -> anyhow::Result<(App, Caller)> {
    let env = crate::config::process_env;
    let sources = ConfigSources::load(acting.storage.config.as_deref(), &env)?;
    let settings = sources.storage(&acting.storage)?;
    logging::init(&settings.log);
    storage::require_existing_store(&settings)?;
    let token = match &acting.token {
        Some(token) => token.clone(),
        None => crate::config::process_env("NIGEHBAN_TOKEN")
            .context("no API token: pass --token or set NIGEHBAN_TOKEN")?,
    };
    let app = storage::open(&settings).await?;
    let caller = app
        .tokens()
        .authenticate(token.trim(), None)
        .await
        .context("the API token was refused")?;
    Ok((app, caller))
}

/// The tenant named `name` (a name or an id) among those the caller sees.
async fn tenant_named(app: &App, caller: &Caller, name: &str) -> anyhow::Result<TenantId> {
    if let Ok(id) = name.parse::<TenantId>() {
        return Ok(id);
    }
    let mut page = PageRequest::first(nigehban_app::MAX_PAGE_LIMIT);
    loop {
        let batch = app
            .tenants()
            .list(caller, None, &page)
            .await
            .context("cannot list tenants")?;
        if let Some(found) = batch
            .items
            .iter()
            .find(|t| t.name.as_str().eq_ignore_ascii_case(name.trim()))
        {
            return Ok(found.id);
        }
        match batch.next {
            Some(next) => page = PageRequest::after(next, nigehban_app::MAX_PAGE_LIMIT),
            None => {
                bail!("--tenant {name:?}: no tenant of that name at or below the token's tenant")
            }
        }
    }
}

/// What an imported path holds.
enum ImportFile {
    /// A STIX 2.1 bundle or object (the file's bytes).
    Stix(Vec<u8>),
    /// MISP events (the file's bytes).
    MispEvents(Vec<u8>),
    /// A MISP feed: the directory holding `manifest.json`.
    MispFeed(PathBuf),
}

/// Tells a MISP feed, MISP events and STIX apart (see `ImportArgs`' help).
fn import_file(path: &Path) -> anyhow::Result<ImportFile> {
    if path.is_dir() {
        if !path.join(MANIFEST).is_file() {
            bail!(
                "{}: a directory is imported as a MISP feed, but it holds no {MANIFEST}",
                path.display()
            );
        }
        return Ok(ImportFile::MispFeed(path.to_path_buf()));
    }
    if path.file_name().is_some_and(|name| name == MANIFEST) {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        return Ok(ImportFile::MispFeed(
            dir.map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        ));
    }
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    // Only the top level is looked at; the codec that reads the file says what is wrong with it.
    let misp = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Array(_)) => true,
        Ok(serde_json::Value::Object(top)) => {
            !top.contains_key("type")
                && ["Event", "response", "Attribute", "Object"]
                    .iter()
                    .any(|key| top.contains_key(*key))
        }
        _ => false,
    };
    Ok(if misp {
        ImportFile::MispEvents(bytes)
    } else {
        ImportFile::Stix(bytes)
    })
}

/// A MISP feed's manifest file name.
const MANIFEST: &str = "manifest.json";

fn pull(args: PullArgs) -> anyhow::Result<ExitCode> {
    use nigehban_app::taxii_pull::{TaxiiCredentials, TaxiiSubscription};
    let default_tlp: Tlp = args.tlp.parse().context("--tlp")?;
    if !(args.url.starts_with("http://") || args.url.starts_with("https://")) {
        bail!("--url {:?}: expected an http:// or https:// URL", args.url);
    }
    let read = |path: &Path, flag: &str| {
        fs::read_to_string(path)
            .map(|text| text.trim().to_owned())
            .with_context(|| format!("{flag} {}", path.display()))
    };
    let credentials = match (&args.username, &args.password_file, &args.bearer_token_file) {
        (Some(username), Some(path), _) => TaxiiCredentials::Basic {
            username: username.clone(),
            password: read(path, "--password-file")?,
        },
        (_, _, Some(path)) => TaxiiCredentials::Bearer(read(path, "--bearer-token-file")?),
        _ => TaxiiCredentials::None,
    };
    crate::runtime()?.block_on(async {
        let (app, caller) = open(&args.acting).await?;
        let tenant = match &args.tenant {
            Some(name) => tenant_named(&app, &caller, name).await?,
            None => caller.tenant_id(),
        };
        let subscription = TaxiiSubscription {
            name: args.name.clone().unwrap_or_else(|| args.url.clone()),
            api_root: args.url.clone(),
            collection: args.collection.clone(),
            credentials,
            tenant,
            default_tlp,
            interval: std::time::Duration::from_secs(3600),
        };
        let pulled = match app
            .taxii_pull(Some(&caller), &subscription, args.from_start)
            .await
        {
            Ok(pulled) => pulled,
            Err(error) => {
                eprintln!("nigehban: TAXII pull from {} failed: {error}", args.url);
                return Ok(ExitCode::from(2));
            }
        };
        let totals = pulled.totals;
        println!(
            "nigehban: pulled {} object(s) in {} page(s) from collection {}: {} kept ({} new), {} refused, {} indicator(s) created, {} updated; next pull asks for objects added after {}",
            pulled.objects,
            pulled.pages,
            args.collection,
            totals.kept,
            totals.new,
            totals.refused,
            totals.indicators_created,
            totals.indicators_updated,
            pulled.added_last.as_deref().unwrap_or("(nothing added yet)")
        );
        Ok(if totals.refused > 0 {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    })
}

fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let default_tlp: Tlp = args.tlp.parse().context("--tlp")?;
    let default_pap: Pap = args.pap.parse().context("--pap")?;
    let file = &args.file;
    let text = match import_file(file)? {
        ImportFile::Stix(bytes) => bytes,
        ImportFile::MispEvents(bytes) => {
            let read = nigehban_app::misp::read_events(&bytes)
                .with_context(|| format!("{}: not imported", file.display()))?;
            return import_misp(&args, read);
        }
        ImportFile::MispFeed(dir) => {
            let manifest = dir.join(MANIFEST);
            let bytes = fs::read(&manifest)
                .with_context(|| format!("cannot read {}", manifest.display()))?;
            let read = nigehban_app::misp::read_feed(&bytes, |uuid| {
                fs::read(dir.join(format!("{uuid}.json"))).ok()
            })
            .with_context(|| format!("{}: not imported", dir.display()))?;
            return import_misp(&args, read);
        }
    };
    let bundle =
        stix::read_bundle(&text).with_context(|| format!("{}: not imported", file.display()))?;
    let source = args.source.clone().unwrap_or_else(|| file_name(file));
    crate::runtime()?.block_on(async {
        let (app, caller) = open(&args.acting).await?;
        let tenant = match &args.tenant {
            Some(name) => Some(tenant_named(&app, &caller, name).await?),
            None => None,
        };
        let options = StixImport {
            tenant,
            default_tlp,
            default_pap,
            source,
        };
        let progress = Progress::new(bundle.objects.len() + bundle.refused.len(), "objects");
        let mut tell = |done: usize, total: usize| progress.tell(done, total);
        let report = app
            .intel()
            .import_stix(&caller, &options, &bundle, &mut tell)
            .await
            .with_context(|| format!("{}: import failed", file.display()))?;
        progress.finish();
        let mut stderr = std::io::stderr().lock();
        for line in &report {
            let id = line.id.as_deref().unwrap_or("(no id)");
            let position = line.position;
            match &line.fate {
                StixObjectFate::Refused(why) => {
                    writeln!(stderr, "nigehban: {}: object {position} {id}: refused: {why}", file.display())?;
                }
                StixObjectFate::Unsupported(why) => {
                    writeln!(stderr, "nigehban: {}: object {position} {id}: kept, no indicator: {why}", file.display())?;
                }
                StixObjectFate::Indicators {
                    benign,
                    refused,
                    skipped,
                    ..
                } => {
                    for (what, list) in [("left out", benign), ("refused", refused), ("not an indicator", skipped)] {
                        for item in list {
                            writeln!(stderr, "nigehban: {}: object {position} {id}: {what}: {item}", file.display())?;
                        }
                    }
                }
                StixObjectFate::Kept => {}
            }
        }
        let totals = stix_import_totals(&report);
        println!(
            "nigehban: imported {}: {} objects kept ({} new), {} indicators created, {} updated, {} indicator objects with no supported pattern, {} refused",
            file.display(),
            totals.kept,
            totals.new,
            totals.indicators_created,
            totals.indicators_updated,
            totals.unsupported,
            totals.refused
        );
        Ok(if totals.refused == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}

/// Imports what was read from MISP events or a feed; reports per attribute on standard error.
fn import_misp(args: &ImportArgs, read: nigehban_app::misp::MispRead) -> anyhow::Result<ExitCode> {
    let file = &args.file;
    crate::runtime()?.block_on(async {
        let (app, caller) = open(&args.acting).await?;
        let tenant = match &args.tenant {
            Some(name) => Some(tenant_named(&app, &caller, name).await?),
            None => None,
        };
        let progress = Progress::new(read.indicators.len(), "indicators");
        let mut tell = |done: usize, total: usize| progress.tell(done, total);
        let imported = app
            .intel()
            .import_misp_read(&caller, tenant, read, &mut tell)
            .await
            .with_context(|| format!("{}: import failed", file.display()))?;
        progress.finish();
        let (read, outcome) = (&imported.read, &imported.outcome);
        let mut stderr = std::io::stderr().lock();
        for failed in &read.failed {
            writeln!(stderr, "nigehban: {}: refused: {failed}", file.display())?;
        }
        for (position, why) in &outcome.refused {
            match read.indicators.get(*position) {
                Some(found) => writeln!(
                    stderr,
                    "nigehban: {}: event {}, {} ({}): refused: {why}",
                    file.display(),
                    found.event_uuid,
                    found.at,
                    found.value
                )?,
                None => writeln!(stderr, "nigehban: {}: refused: {why}", file.display())?,
            }
        }
        for note in &read.notes {
            writeln!(stderr, "nigehban: {}: {note}", file.display())?;
        }
        for (value, list) in &outcome.benign {
            writeln!(
                stderr,
                "nigehban: {}: left out: {value} (warninglist \"{list}\")",
                file.display()
            )?;
        }
        let refused = outcome.refused.len() + read.failed.len();
        println!(
            "nigehban: imported {}: {} MISP events, {} attributes, {} indicators created, {} updated, {} left out as known-benign, {} attributes not taken or merged, {} refused",
            file.display(),
            read.events.len(),
            read.attributes(),
            outcome.created.len(),
            outcome.updated.len(),
            outcome.benign.len(),
            read.notes.len(),
            refused
        );
        Ok(if refused == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Progress on standard error: a bar on a terminal, else a line now and then for large files.
struct Progress {
    bar: ProgressBar,
    lines: bool,
    unit: &'static str,
    /// The count last written as a line.
    told: std::sync::atomic::AtomicUsize,
}

impl Progress {
    /// Files with fewer objects than this report no progress when standard error is not a terminal.
    const LINES_FROM: usize = 10_000;

    fn new(total: usize, unit: &'static str) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = if terminal {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(&format!(
                    "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit}"
                ))
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
        Self {
            bar,
            lines: !terminal && total >= Self::LINES_FROM,
            unit,
            told: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn tell(&self, done: usize, total: usize) {
        self.bar.set_position(done as u64);
        let told = self.told.load(std::sync::atomic::Ordering::Relaxed);
        // A line whenever another 5,000 are done (however the steps fall), and at the end.
        if self.lines && done > told && (done / 5_000 > told / 5_000 || done == total) {
            self.told.store(done, std::sync::atomic::Ordering::Relaxed);
            eprintln!("nigehban: {done}/{total} {}", self.unit);
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    if args.format == ExportFormat::Misp && args.out.is_none() {
        bail!(
            "--format misp writes a feed directory (manifest.json, hashes.csv, <uuid>.json): give it with --out DIR"
        );
    }
    crate::runtime()?.block_on(async {
        let (app, caller) = open(&args.acting).await?;
        let under = match &args.tenant {
            Some(name) => Some(tenant_named(&app, &caller, name).await?),
            None => None,
        };
        // A person takes the file to a partner: exchange, not an automated block list.
        let usage = IntelUse::Exchange;
        let (text, summary) = match args.format {
            ExportFormat::Stix => {
                let exported = app
                    .intel()
                    .export_stix(&caller, under, usage)
                    .await
                    .context("export failed")?;
                let mut text = serde_json::to_string_pretty(&exported.bundle)?;
                text.push('\n');
                (
                    text,
                    format!(
                        "{} indicators, {} stored STIX objects, {} sightings",
                        exported.indicators, exported.stored_objects, exported.sightings
                    ),
                )
            }
            ExportFormat::Misp => {
                let dir = args.out.as_deref().context("--out DIR is needed")?;
                let events = app
                    .intel()
                    .export_misp(&caller, under, usage)
                    .await
                    .context("export failed")?;
                let indicators: usize = events.iter().map(|e| e.indicators.len()).sum();
                write_feed_dir(dir, &events)?;
                eprintln!(
                    "nigehban: exported {indicators} indicators in {} MISP events to {}",
                    events.len(),
                    dir.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            ExportFormat::Csv => {
                let (text, count) = app
                    .intel()
                    .export_csv(&caller, under, usage)
                    .await
                    .context("export failed")?;
                (text, format!("{count} indicators"))
            }
        };
        match &args.out {
            Some(path) => {
                fs::write(path, text.as_bytes())
                    .with_context(|| format!("cannot write {}", path.display()))?;
                eprintln!("nigehban: exported {summary} to {}", path.display());
            }
            None => {
                std::io::stdout().lock().write_all(text.as_bytes())?;
                eprintln!("nigehban: exported {summary}");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Writes a MISP feed into `dir`: made when missing; an earlier feed there
/// is replaced (its event files dropped); any other non-empty directory is
/// refused. Each file is written beside its place and renamed into it, the
/// manifest last, so a MISP instance pulling meanwhile never finds the
/// manifest naming a file that is not there yet.
fn write_feed_dir(dir: &Path, events: &[nigehban_app::misp::FeedEvent]) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot make {}", dir.display()))?;
    let old_manifest = dir.join(MANIFEST);
    let mut stale: Vec<PathBuf> = Vec::new();
    if old_manifest.is_file() {
        let bytes = fs::read(&old_manifest)
            .with_context(|| format!("cannot read {}", old_manifest.display()))?;
        let entries = nigehban_app::misp::read_manifest(&bytes).with_context(|| {
            format!(
                "{}: not a MISP feed's manifest; choose an empty or new directory",
                old_manifest.display()
            )
        })?;
        stale.extend(entries.iter().map(|e| dir.join(format!("{}.json", e.uuid))));
    } else if fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .next()
        .is_some()
    {
        bail!(
            "{} is not empty and holds no MISP feed ({MANIFEST}); choose an empty or new directory",
            dir.display()
        );
    }
    let files = nigehban_app::misp::feed_files(events);
    // Progress counts the indicators written, event file by event file.
    let per_file: std::collections::HashMap<String, usize> = events
        .iter()
        .map(|e| (format!("{}.json", e.uuid), e.indicators.len()))
        .collect();
    let total: usize = per_file.values().sum();
    let progress = Progress::new(total, "indicators");
    let mut done = 0;
    // The manifest is the first file the codec gives; it goes in last.
    let (manifest, rest): (Vec<_>, Vec<_>) = files.iter().partition(|f| f.name == MANIFEST);
    let mut written = std::collections::HashSet::new();
    for file in rest.iter().chain(manifest.iter()) {
        let path = dir.join(&file.name);
        let partial = dir.join(format!(".{}.partial", file.name));
        fs::write(&partial, &file.bytes)
            .with_context(|| format!("cannot write {}", partial.display()))?;
        fs::rename(&partial, &path).with_context(|| format!("cannot write {}", path.display()))?;
        written.insert(path);
        if let Some(count) = per_file.get(&file.name) {
            done += count;
            progress.tell(done, total);
        }
    }
    progress.finish();
    for path in stale.into_iter().filter(|p| !written.contains(p)) {
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(error).with_context(|| format!("cannot remove {}", path.display()));
            }
        }
    }
    Ok(())
}
