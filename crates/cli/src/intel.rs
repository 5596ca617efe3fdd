//! `nigehban intel import|export`: threat intelligence in and out as files,
//! for air-gapped exchange — on the server's own storage, no server running.
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
    /// Import a STIX 2.1 bundle (or one STIX object): every object is kept;
    /// indicators whose patterns name indicator values are also matched.
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
    after_help = "Each object that is refused, or whose pattern gives no indicator, is listed on standard error with its id and why; a summary line goes to standard output.\n\n\
Exit status: 0 when every object was kept, 1 when some were refused, 2 when the import failed."
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
    /// The STIX 2.1 JSON file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// A STIX 2.1 bundle.
    Stix,
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
    /// Write here instead of standard output.
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
    let text = fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
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
        let progress = Progress::new(bundle.objects.len() + bundle.refused.len());
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

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Progress on standard error: a bar on a terminal, else a line now and then for large files.
struct Progress {
    bar: ProgressBar,
    lines: bool,
}

impl Progress {
    /// Files with fewer objects than this report no progress when standard error is not a terminal.
    const LINES_FROM: usize = 10_000;

    fn new(total: usize) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = if terminal {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} objects",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
        Self {
            bar,
            lines: !terminal && total >= Self::LINES_FROM,
        }
    }

    fn tell(&self, done: usize, total: usize) {
        self.bar.set_position(done as u64);
        if self.lines && done > 0 && (done.is_multiple_of(5_000) || done == total) {
            eprintln!("nigehban: {done}/{total} objects");
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
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
