//! `nigehban serve`: the API on the embedded store (or PostgreSQL), until SIGTERM/SIGINT.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use nigehban_app::model::{DisplayName, TenantName, Username};
use nigehban_app::{App, BootstrapOutcome, BootstrapRequest};
use nigehban_server::{ServerOptions, ServerState};

use crate::config::{ConfigSources, ServeFlags, ServeSettings, StorageSettings};
use crate::{logging, storage};

/// How often ended sessions are deleted.
const SESSION_PURGE_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Arguments of `nigehban serve`.
#[derive(Debug, Args)]
#[command(
    after_help = "Every setting can also come from a NIGEHBAN_* environment variable or the \
configuration file (TOML): data_dir, listen, database, log, max_body_bytes, request_timeout_seconds, \
shutdown_grace_seconds, secure_cookies, national_cert_name, admin_username. Flags win over the \
environment, which wins over the file."
)]
pub struct ServeArgs {
    /// Where to listen and store.
    #[command(flatten)]
    pub flags: ServeFlags,
}

/// Runs the server until a shutdown signal.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let env = crate::config::process_env;
    let sources = ConfigSources::load(args.flags.storage.config.as_deref(), &env)?;
    let settings = sources.serve(&args.flags)?;
    logging::init(&settings.storage.log);
    logging::warn_unknown_variables();
    crate::runtime()?.block_on(serve(settings))
}

async fn serve(settings: ServeSettings) -> anyhow::Result<ExitCode> {
    let app = storage::open(&settings.storage).await?;
    first_start(&app, &settings.storage, None).await?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let address = listener.local_addr()?;
    let state = ServerState::new(
        app.clone(),
        ServerOptions {
            max_body_bytes: settings.max_body_bytes,
            request_timeout: settings.request_timeout,
            secure_cookies: settings.secure_cookies,
        },
    );
    let purge = tokio::spawn(purge_sessions(app.clone()));
    tracing::info!(%address, storage = %settings.storage.storage, "serving");
    println!(
        "nigehban: serving on http://{address}/ (API under /api/v1) with the {}",
        settings.storage.storage
    );
    let finished = nigehban_server::serve(
        listener,
        nigehban_server::router(state),
        nigehban_server::shutdown_signal(),
        settings.shutdown_grace,
    )
    .await
    .context("the server stopped with an error")?;
    purge.abort();
    // Dropping the last handle closes the store: SQLite checkpoints its WAL.
    drop(app);
    if finished {
        tracing::info!("stopped cleanly");
    } else {
        tracing::warn!("stopped with requests still running after the grace period");
    }
    Ok(ExitCode::SUCCESS)
}

/// On an empty store: creates the national CERT and its first administrator,
/// and prints the one-time password (unless `password` was given).
pub async fn first_start(
    app: &App,
    settings: &StorageSettings,
    password: Option<nigehban_app::model::Password>,
) -> anyhow::Result<bool> {
    let request = BootstrapRequest {
        national_name: TenantName::parse(&settings.national_cert_name)
            .context("configuration key `national_cert_name`")?,
        admin_username: Username::parse(&settings.admin_username)
            .context("configuration key `admin_username`")?,
        admin_display_name: DisplayName::parse("Platform administrator")
            .context("administrator display name")?,
        admin_password: password,
    };
    match app
        .bootstrap(request)
        .await
        .context("cannot set up the platform")?
    {
        BootstrapOutcome::AlreadyDone { .. } => Ok(false),
        BootstrapOutcome::Created {
            root,
            admin,
            one_time_password,
        } => {
            println!(
                "nigehban: first start: created the national CERT {:?} and its administrator",
                root.name.as_str()
            );
            println!("nigehban:   username: {}", admin.username);
            match one_time_password {
                Some(password) => {
                    println!("nigehban:   one-time password: {}", password.expose());
                    println!(
                        "nigehban: sign in with POST /api/v1/auth/login and choose a new password with POST /api/v1/auth/password; this password is not shown again"
                    );
                }
                None => println!("nigehban:   password: the one you gave"),
            }
            Ok(true)
        }
    }
}

/// Deletes ended sessions now and then.
async fn purge_sessions(app: App) {
    let mut interval = tokio::time::interval(SESSION_PURGE_INTERVAL);
    loop {
        interval.tick().await;
        match app.auth().purge_expired().await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "deleted ended sessions"),
            Err(error) => tracing::warn!(%error, "could not delete ended sessions"),
        }
    }
}
