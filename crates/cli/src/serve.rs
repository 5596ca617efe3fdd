//! `nigehban serve`: the API and telemetry intake on the embedded store (or
//! PostgreSQL) and the embedded event bus (or NATS JetStream), until SIGTERM/SIGINT.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use nigehban_app::model::{DisplayName, TenantName, Username};
use nigehban_app::{App, BootstrapOutcome, BootstrapRequest};
use nigehban_bus::{BusLocation, RetentionPolicy};
use nigehban_detect::rules::read_rule_sources;
use nigehban_detect::{DetectionRules, load_rules};
use nigehban_ingest::{ClientAuth, TlsSettings, read_certificates};
use nigehban_node::{DetectionConfig, PlatformRules, TelemetryConfig, TelemetryRuntime};
use nigehban_server::{ServerOptions, ServerState};
use nigehban_sigma::{CompileOptions, DiagnosticKind, Placeholders};

use crate::config::{ConfigSources, ServeFlags, ServeSettings, StorageSettings};
use crate::{logging, storage};

/// How often ended sessions are deleted.
const SESSION_PURGE_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Arguments of `nigehban serve`.
#[derive(Debug, Args)]
#[command(
    after_help = "Every setting can also come from a NIGEHBAN_* environment variable or the \
configuration file (TOML): data_dir, listen, database, log, max_body_bytes, request_timeout_seconds, \
shutdown_grace_seconds, secure_cookies, national_cert_name, admin_username, bus, syslog_udp, \
syslog_tcp, syslog_tls, syslog_tls_certificate, syslog_tls_key, syslog_tls_client_ca, \
event_retention_days, bus_retention_days, bus_stream, search_consumer, ingest_max_body_bytes, \
sensor_health_check_seconds, search_max_lag_events, incident_id_prefix, regulatory_profiles, \
evidence_max_bytes, deadline_check_seconds, http_header_timeout_seconds, \
http_max_connections, http_max_connections_per_client, http_max_requests_per_connection, \
metrics_token_file, metrics_listen, intel_warninglists, taxii_public, taxii_subscriptions \
(file only). \
Flags win over the environment, which wins over the file.

Telemetry: sensors send NDJSON to POST /api/v1/ingest with their ingest token at any time. \
The syslog listeners are off by default (nothing listens on the network unless asked, and \
port 514 needs privileges); turn them on with --syslog-udp 0.0.0.0:514, --syslog-tcp \
0.0.0.0:601 and --syslog-tls 0.0.0.0:6514 (with --syslog-tls-certificate and \
--syslog-tls-key). Syslog senders are identified by their source address or TLS client \
certificate as registered for their sensor; others are refused and counted on /metrics.

Metrics: /metrics without credentials serves only the series that name no tenant, sensor or \
address. Prometheus reads every series with the scrape token (--metrics-token-file; \
`authorization: {credentials_file: FILE}` in its scrape config), or from a listener of \
its own bound where you choose (--metrics-listen 10.0.0.5:9464)."
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
    // Held while the server runs: `nigehban restore` is refused on this directory meanwhile.
    let _data_dir_lock = crate::data_dir::lock(&settings.storage.data_dir)?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let address = listener.local_addr()?;
    let mut duty = settings.duty.clone();
    if duty.public_url.is_empty() {
        // Links in notifications lead to where the server listens (set `public_url` behind a proxy).
        duty.public_url = format!("http://{address}");
    }
    let app = storage::open_with(
        &settings.storage,
        nigehban_app::AppSettings {
            incidents: settings.incidents.settings.clone(),
            duty,
            ..nigehban_app::AppSettings::default()
        },
    )
    .await?;
    if let Some(dir) = &settings.intel_warninglists {
        let lists = crate::config::load_warninglists(dir)?;
        app.intel().set_warninglists(std::sync::Arc::new(lists));
    }
    std::fs::create_dir_all(&settings.storage.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            settings.storage.data_dir.display()
        )
    })?;
    let runtime = TelemetryRuntime::start(
        app.clone(),
        &settings.storage.data_dir,
        telemetry_config(&settings)?,
    )
    .await
    .context("cannot start telemetry intake")?;
    let state = ServerState::new(
        app.clone(),
        ServerOptions {
            max_body_bytes: settings.max_body_bytes,
            request_timeout: settings.request_timeout,
            secure_cookies: settings.secure_cookies,
            max_ingest_body_bytes: settings.ingest_max_body_bytes,
            connections: settings.http_connections.clone(),
            scrape_token: settings.scrape_token.clone(),
            taxii_public: settings.taxii_public,
        },
    )
    .with_telemetry(runtime.telemetry());
    let metrics = match settings.metrics_listen {
        Some(address) => Some(
            serve_metrics(address, &state, settings.shutdown_grace)
                .await
                .with_context(|| format!("cannot listen for /metrics on {address}"))?,
        ),
        None => None,
    };
    // Every port is bound now: set the platform up (and print the one-time
    // password) only once a failed bind can no longer lose it.
    if first_start(&app, &settings.storage, None).await? {
        runtime.platform_set_up().await;
    }
    let purge = tokio::spawn(purge_sessions(app.clone()));
    let deadlines = {
        let (app, every) = (app.clone(), settings.incidents.deadline_check);
        tokio::spawn(async move { app.incidents().watch_deadlines(every).await })
    };
    let taxii = (!settings.taxii_subscriptions.is_empty()).then(|| {
        tokio::spawn(
            app.clone()
                .run_taxii_subscriptions(settings.taxii_subscriptions.clone()),
        )
    });
    // Installed before the server says it listens: a signal from then on stops it cleanly.
    let shutdown = nigehban_server::shutdown_signal();
    let bus = settings.bus.as_deref().map_or_else(
        || "embedded event bus".to_owned(),
        |url| format!("NATS JetStream bus at {}", crate::config::redact_url(url)),
    );
    tracing::info!(%address, storage = %settings.storage.storage, %bus, "serving");
    if !settings.secure_cookies {
        tracing::warn!(
            "secure_cookies is off: session cookies go over plain HTTP too; use this only for local use on this machine"
        );
    }
    for (transport, listening) in ["udp", "tcp", "tls"]
        .into_iter()
        .zip(runtime.syslog_addresses())
    {
        if let Some(listening) = listening {
            println!("nigehban: syslog over {transport} on {listening}");
        }
    }
    if settings.roles.api {
        println!(
            "nigehban: serving on http://{address}/ (console at /console/, API under /api/v1) with the {} and the {bus}; roles {}",
            settings.storage.storage, settings.roles
        );
    } else {
        println!(
            "nigehban: serving on http://{address}/ (/metrics only: no api role) with the {} and the {bus}; roles {}",
            settings.storage.storage, settings.roles
        );
    }
    let connections = state.connections();
    // A node without the API role answers only `/metrics` on its listener.
    let router = if settings.roles.api {
        nigehban_server::router(state)
    } else {
        nigehban_server::metrics_router(state)
    };
    let finished = nigehban_server::serve(
        listener,
        router,
        connections,
        shutdown,
        settings.shutdown_grace,
    )
    .await
    .context("the server stopped with an error")?;
    if let Some((stop, server)) = metrics {
        let _ = stop.send(());
        let _ = server.await;
    }
    purge.abort();
    deadlines.abort();
    if let Some(taxii) = taxii {
        taxii.abort();
    }
    // In-flight requests are done: drain the listeners into the bus, let the
    // indexer commit what it holds, then close the index and the bus.
    let report = runtime.shutdown(settings.shutdown_grace).await;
    if let Some(detection) = report.detection {
        tracing::info!(
            evaluated = detection.events_evaluated,
            matches = detection.matches,
            "live detection stopped"
        );
    }
    if let Some(indexer) = report.indexer {
        tracing::info!(
            indexed = indexer.indexed,
            acknowledged = indexer.acknowledged,
            "event indexer stopped"
        );
    }
    // Dropping the last handle closes the store: SQLite checkpoints its WAL.
    drop(app);
    if finished {
        tracing::info!("stopped cleanly");
    } else {
        tracing::warn!("stopped with requests still running after the grace period");
    }
    Ok(ExitCode::SUCCESS)
}

/// Live detection's settings: the platform's stored rules (imported and
/// built-in, tuned per tenant, reloaded when they change) and the
/// configured rule files, compiled as `nigehban hunt` compiles them (rules
/// that cannot be used are reported and left out).
fn detection_config(paths: &[std::path::PathBuf]) -> anyhow::Result<Option<DetectionConfig>> {
    let mapping = crate::hunt::logsource_mapping(None)?;
    let mut files = Vec::new();
    if !paths.is_empty() {
        let mut read_problems = Vec::new();
        files =
            read_rule_sources(paths, &mut read_problems).context("configuration key `rules`")?;
        let rule_set =
            load_rules(paths, Placeholders::default()).context("configuration key `rules`")?;
        let (rules, compile_problems) =
            DetectionRules::compile(&rule_set, &mapping, &CompileOptions::default());
        let problems: Vec<_> = rule_set
            .diagnostics()
            .iter()
            .chain(&compile_problems)
            .filter(|d| d.kind != DiagnosticKind::Warning)
            .collect();
        if !problems.is_empty() {
            println!(
                "nigehban: {} rule problem(s); the other rules are used (details: nigehban rules check)",
                problems.len()
            );
            for problem in problems.iter().take(5) {
                tracing::warn!(%problem, "rule left out of live detection");
            }
        }
        if rules.is_empty() {
            anyhow::bail!(
                "configuration key `rules`: no usable Sigma rule in {}",
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        println!(
            "nigehban: live detection with {} Sigma rule(s) from files, and the platform's stored rules",
            rules.summaries().len()
        );
    }
    let mut platform = PlatformRules::new(files);
    platform.mapping = mapping;
    Ok(Some(DetectionConfig::platform(platform)))
}

/// Serves `/metrics` alone on `address` until told to stop.
async fn serve_metrics(
    address: std::net::SocketAddr,
    state: &ServerState,
    grace: Duration,
) -> anyhow::Result<(
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<bool>>,
)> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(nigehban_server::serve(
        listener,
        nigehban_server::metrics_router(state.clone()),
        state.connections(),
        async move {
            let _ = stopped.await;
        },
        grace,
    ));
    println!("nigehban: metrics on http://{bound}/metrics");
    Ok((stop, server))
}

/// Telemetry's settings from the configuration.
fn telemetry_config(settings: &ServeSettings) -> anyhow::Result<TelemetryConfig> {
    let retention = RetentionPolicy {
        max_age: Some(settings.bus_retention),
        max_bytes: None,
    };
    let mut location = BusLocation::from_flag(
        settings.bus.as_deref(),
        &settings.storage.data_dir,
        retention,
    )
    .context("configuration key `bus`")?;
    if let (BusLocation::JetStream(options), Some(stream)) = (&mut location, &settings.bus_stream) {
        // Streams on one server may not share subjects.
        options.subject = format!("nigehban.{}", stream.to_ascii_lowercase());
        options.stream = stream.clone();
    }
    let mut config = TelemetryConfig::new(location);
    config.roles = settings.roles;
    config.detection = detection_config(&settings.rules)?.map(|mut detection| {
        // Correlation windows survive a restart of the node.
        detection.state_dir = Some(settings.storage.data_dir.join("detect"));
        detection
    });
    config.search_consumer = settings.search_consumer.clone();
    config.intake.backpressure.consumers = vec![settings.search_consumer.clone()];
    config.index.retention = settings.event_retention;
    config.intake.http.max_body_bytes = settings.ingest_max_body_bytes;
    config.intake.health_check_every = settings.sensor_health_check;
    config.intake.backpressure.max_lag = settings.search_max_lag;
    config.intake.backpressure.resume_lag = settings.search_max_lag / 4 * 3;
    let syslog = &settings.syslog;
    config.syslog.udp = syslog.udp;
    config.syslog.tcp = syslog.tcp;
    if let Some(tls) = &syslog.tls {
        let mut files = TlsSettings::from_pem_files(&tls.certificate, &tls.key)
            .context("configuration keys `syslog_tls_certificate` and `syslog_tls_key`")?;
        if let Some(ca) = &tls.client_ca {
            let cas = read_certificates(ca).context("configuration key `syslog_tls_client_ca`")?;
            files = files.with_client_auth(ClientAuth::Optional(cas));
        }
        config.syslog.tls = Some((tls.address, files));
    }
    Ok(config)
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
                        "nigehban: sign in at /console/ in a browser (you choose a new password first) or with POST /api/v1/auth/login and POST /api/v1/auth/password; this password is not shown again"
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
