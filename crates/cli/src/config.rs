//! Configuration of `nigehban serve` and the storage commands.
//!
//! Every setting comes from, in order of precedence: a command-line flag, a
//! `NIGEHBAN_*` environment variable, the TOML configuration file (`--config
//! FILE` or `NIGEHBAN_CONFIG`), the default. A key the file does not know, or a
//! value that cannot be used, is refused at start with the key, where it came
//! from and the reason.
//!
//! | file key | environment | flag | default |
//! | --- | --- | --- | --- |
//! | `data_dir` | `NIGEHBAN_DATA_DIR` | `--data-dir` | `./nigehban-data` |
//! | `listen` | `NIGEHBAN_LISTEN` | `--listen` | `127.0.0.1:8080` |
//! | `database` | `NIGEHBAN_DATABASE` | `--database` | none: embedded SQLite in `data_dir` |
//! | `audit_key_file` | `NIGEHBAN_AUDIT_KEY_FILE` | `--audit-key-file` | `data_dir/audit.key` (made, mode 0600, when the audit log has no key yet; keep a copy away from the database's backups) |
//! | `log` | `NIGEHBAN_LOG` | | `info` |
//! | `max_body_bytes` | `NIGEHBAN_MAX_BODY_BYTES` | | 1048576 (1 MiB) |
//! | `request_timeout_seconds` | `NIGEHBAN_REQUEST_TIMEOUT_SECONDS` | | 30 |
//! | `shutdown_grace_seconds` | `NIGEHBAN_SHUTDOWN_GRACE_SECONDS` | | 30 |
//! | `secure_cookies` | `NIGEHBAN_SECURE_COOKIES` | | `true` |
//! | `national_cert_name` | `NIGEHBAN_NATIONAL_CERT_NAME` | | `National CERT` |
//! | `admin_username` | `NIGEHBAN_ADMIN_USERNAME` | | `admin` |
//! | `bus` | `NIGEHBAN_BUS` | `--bus` | `embedded` (the log in `data_dir/bus`); or `nats://HOST:PORT` |
//! | `bus_stream` | `NIGEHBAN_BUS_STREAM` | | `NIGEHBAN_EVENTS` (JetStream stream; subject `nigehban.<stream in lower case>` when set) |
//! | `search_consumer` | `NIGEHBAN_SEARCH_CONSUMER` | | `search` (each server with its own index needs its own) |
//! | `roles` | `NIGEHBAN_ROLES` | `--roles` | `all`; or a list of `api`, `intake`, `detect`, `search` |
//! | `rules` | `NIGEHBAN_RULES` | `--rules` | none: only the platform's stored rules (`nigehban rules import`); Sigma rule files, directories or archives (`.zip`, `.tar.gz`) that run beside them, separated by `,` |
//! | `syslog_udp` | `NIGEHBAN_SYSLOG_UDP` | `--syslog-udp` | `off`; e.g. `0.0.0.0:514` |
//! | `syslog_tcp` | `NIGEHBAN_SYSLOG_TCP` | `--syslog-tcp` | `off`; e.g. `0.0.0.0:601` |
//! | `syslog_tls` | `NIGEHBAN_SYSLOG_TLS` | `--syslog-tls` | `off`; e.g. `0.0.0.0:6514` |
//! | `syslog_tls_certificate` | `NIGEHBAN_SYSLOG_TLS_CERTIFICATE` | `--syslog-tls-certificate` | none (PEM chain; needed for `syslog_tls`) |
//! | `syslog_tls_key` | `NIGEHBAN_SYSLOG_TLS_KEY` | `--syslog-tls-key` | none (PEM key; needed for `syslog_tls`) |
//! | `syslog_tls_client_ca` | `NIGEHBAN_SYSLOG_TLS_CLIENT_CA` | `--syslog-tls-client-ca` | none: no client certificates asked for |
//! | `event_retention_days` | `NIGEHBAN_EVENT_RETENTION_DAYS` | `--event-retention-days` | 30 |
//! | `bus_retention_days` | `NIGEHBAN_BUS_RETENTION_DAYS` | | 7 |
//! | `ingest_max_body_bytes` | `NIGEHBAN_INGEST_MAX_BODY_BYTES` | | 33554432 (32 MiB) |
//! | `sensor_health_check_seconds` | `NIGEHBAN_SENSOR_HEALTH_CHECK_SECONDS` | | 15 |
//! | `search_max_lag_events` | `NIGEHBAN_SEARCH_MAX_LAG_EVENTS` | | 2000000 (senders are slowed down past this search lag; intake resumes at three quarters of it) |
//! | `incident_id_prefix` | `NIGEHBAN_INCIDENT_ID_PREFIX` | | `PK` (readable incident ids `PK-2026-000123`; 1 to 16 letters and digits) |
//! | `regulatory_profiles` | `NIGEHBAN_REGULATORY_PROFILES` | | the built-in profiles (a TOML file of reporting deadlines per sector; see `crates/app/data/regulatory_profiles.toml`) |
//! | `evidence_max_bytes` | `NIGEHBAN_EVIDENCE_MAX_BYTES` | | 67108864 (64 MiB: the largest evidence file accepted) |
//! | `deadline_check_seconds` | `NIGEHBAN_DEADLINE_CHECK_SECONDS` | | 60 (how often regulatory deadlines are checked) |
//! | `smtp_url` | `NIGEHBAN_SMTP_URL` | | none: e-mail notifications fail and say why (`smtp://user:password@relay:587?tls=required` for STARTTLS, `smtps://...:465` for TLS, `smtp://127.0.0.1:25` for a loopback relay) |
//! | `smtp_from` | `NIGEHBAN_SMTP_FROM` | | `Nigehban <nigehban@localhost>` (the sender of notifications) |
//! | `public_url` | `NIGEHBAN_PUBLIC_URL` | | `http://` + the address `serve` listens on (the address people reach the platform at, for links in notifications) |
//! | `duty_check_seconds` | `NIGEHBAN_DUTY_CHECK_SECONDS` | | 15 (how often the duty loop runs escalation steps, deliveries and hand-over checks) |
//! | `notification_retries` | `NIGEHBAN_NOTIFICATION_RETRIES` | | 4 (further attempts after a failed delivery) |
//! | `notification_retry_seconds` | `NIGEHBAN_NOTIFICATION_RETRY_SECONDS` | | 30 (the wait before the first retry; doubled for each next one) |
//! | `handover_wait_seconds` | `NIGEHBAN_HANDOVER_WAIT_SECONDS` | | 1800 (how long an incoming person has to acknowledge a hand-over before it escalates) |
//! | `http_header_timeout_seconds` | `NIGEHBAN_HTTP_HEADER_TIMEOUT_SECONDS` | `--http-header-timeout-seconds` | 15 (a request's head must arrive within it; also how long an idle connection stays open) |
//! | `http_max_connections` | `NIGEHBAN_HTTP_MAX_CONNECTIONS` | `--http-max-connections` | 4096 (more are answered 503 and closed) |
//! | `http_max_connections_per_client` | `NIGEHBAN_HTTP_MAX_CONNECTIONS_PER_CLIENT` | `--http-max-connections-per-client` | 128 (per client address, IPv6 per /64; raise it behind a reverse proxy, which is one client) |
//! | `http_max_requests_per_connection` | `NIGEHBAN_HTTP_MAX_REQUESTS_PER_CONNECTION` | `--http-max-requests-per-connection` | 1000 (the last answer says `Connection: close`) |
//! | `metrics_token_file` | `NIGEHBAN_METRICS_TOKEN_FILE` | `--metrics-token-file` | none: `/metrics` serves only the series that name no tenant, sensor or address (a file holding the scrape token, 16+ characters) |
//! | `metrics_listen` | `NIGEHBAN_METRICS_LISTEN` | `--metrics-listen` | `off`; e.g. `10.0.0.5:9464`: `/metrics` with every series (the scrape token too, if set) |
//! | `intel_warninglists` | `NIGEHBAN_INTEL_WARNINGLISTS` | | none: no value is known-benign (a checkout of MISP's `misp-warninglists`, or its `lists/` directory: loaded at start; values on the lists are refused as indicators and never raise an alert) |
//! | `taxii_public` | `NIGEHBAN_TAXII_PUBLIC` | | `false`: every TAXII request needs credentials (`true`: discovery and the TLP:CLEAR `public` collection answer without) |
//! | `taxii_subscriptions` | (the file only) | | none: `[[taxii_subscriptions]]` tables, each pulling an outside TAXII 2.1 collection into a tenant: `name`, `api_root` (URL), `collection` (id), `tenant` (UUID), `interval_seconds` (default 3600), `tlp` of objects without markings (default `amber`), and `username` with `password_file`, or `token_file` |

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde::Deserialize;

/// Reads an environment variable of this process (a value that is not UTF-8 is read lossily,
/// so it is refused with its key rather than silently ignored).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
}

/// Flags shared by every command that opens the store.
#[derive(Debug, Clone, Default, Args)]
pub struct StorageFlags {
    /// Configuration file (TOML); also `NIGEHBAN_CONFIG`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory of the embedded store [default: ./nigehban-data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL (`postgres://user:password@host/db`) instead of the embedded store.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// The file holding the key that seals the audit log, kept outside the
    /// database [default: DATA_DIR/audit.key].
    #[arg(long, value_name = "FILE")]
    pub audit_key_file: Option<PathBuf>,
}

/// Flags of `nigehban serve` on top of [`StorageFlags`].
#[derive(Debug, Clone, Default, Args)]
pub struct ServeFlags {
    /// Where to store records.
    #[command(flatten)]
    pub storage: StorageFlags,
    /// Address and port the web console and API listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// The work this node does: `all`, or some of api, intake, detect, search
    /// (e.g. `--roles detect` on a detection machine sharing a NATS JetStream bus) [default: all].
    #[arg(long, value_name = "ROLES")]
    pub roles: Option<String>,
    /// Sigma rules for live detection: a rule file, a directory of them, or an archive
    /// (.zip, .tar.gz), run beside the platform's stored rules; repeatable [default: none].
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// The event bus: `embedded` (an append-only log in the data directory) or
    /// `nats://HOST:PORT` (NATS JetStream) [default: embedded].
    #[arg(long, value_name = "embedded|URL")]
    pub bus: Option<String>,
    /// Listen for syslog over UDP on this address (e.g. 0.0.0.0:514), or `off` [default: off].
    #[arg(long, value_name = "ADDR")]
    pub syslog_udp: Option<String>,
    /// Listen for syslog over TCP (RFC 6587) on this address (e.g. 0.0.0.0:601), or `off` [default: off].
    #[arg(long, value_name = "ADDR")]
    pub syslog_tcp: Option<String>,
    /// Listen for syslog over TLS (RFC 5425) on this address (e.g. 0.0.0.0:6514), or `off` [default: off].
    #[arg(long, value_name = "ADDR")]
    pub syslog_tls: Option<String>,
    /// The syslog TLS listener's certificate chain (PEM).
    #[arg(long, value_name = "FILE")]
    pub syslog_tls_certificate: Option<PathBuf>,
    /// The syslog TLS listener's private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub syslog_tls_key: Option<PathBuf>,
    /// CA certificates (PEM) that issue sensors' TLS client certificates; senders that
    /// present one are identified by it [default: none asked for].
    #[arg(long, value_name = "FILE")]
    pub syslog_tls_client_ca: Option<PathBuf>,
    /// How many days events stay searchable [default: 30].
    #[arg(long, value_name = "DAYS")]
    pub event_retention_days: Option<String>,
    /// Seconds a client has to send a request's head; also how long an idle connection stays [default: 15].
    #[arg(long, value_name = "SECONDS")]
    pub http_header_timeout_seconds: Option<String>,
    /// Most HTTP connections open at once [default: 4096].
    #[arg(long, value_name = "N")]
    pub http_max_connections: Option<String>,
    /// Most HTTP connections open at once from one client address (IPv6: one /64) [default: 128].
    #[arg(long, value_name = "N")]
    pub http_max_connections_per_client: Option<String>,
    /// Most requests one HTTP connection carries [default: 1000].
    #[arg(long, value_name = "N")]
    pub http_max_requests_per_connection: Option<String>,
    /// A file holding the scrape token Prometheus sends to read every series of /metrics.
    #[arg(long, value_name = "FILE")]
    pub metrics_token_file: Option<PathBuf>,
    /// Also serve /metrics (every series) on this address, or `off` [default: off].
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<String>,
}

/// Where the records live.
#[derive(Clone, PartialEq, Eq)]
pub enum StorageChoice {
    /// The embedded SQLite store in a data directory.
    Embedded {
        /// The data directory.
        data_dir: PathBuf,
    },
    /// A PostgreSQL database.
    Postgres {
        /// Its connection URL (may contain a password: never printed whole).
        url: String,
    },
}

impl fmt::Debug for StorageChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for StorageChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageChoice::Embedded { data_dir } => {
                write!(f, "embedded store in {}", data_dir.display())
            }
            StorageChoice::Postgres { url } => write!(f, "PostgreSQL at {}", redact_url(url)),
        }
    }
}

/// A URL with its password (if any) replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// The storage settings, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageSettings {
    /// Where the records live.
    pub storage: StorageChoice,
    /// The data directory: the embedded store (when no database is given), the
    /// embedded event bus and the event index.
    pub data_dir: PathBuf,
    /// Where the audit key is kept (outside the database).
    pub audit_key_file: PathBuf,
    /// Name of the root tenant created on first start.
    pub national_cert_name: String,
    /// Username of the administrator created on first start.
    pub admin_username: String,
    /// Log filter (tracing `EnvFilter` syntax).
    pub log: String,
}

/// All settings of `nigehban serve`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeSettings {
    /// Storage and first-start settings.
    pub storage: StorageSettings,
    /// Address the API listens on.
    pub listen: SocketAddr,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Longest a request may take.
    pub request_timeout: Duration,
    /// How long in-flight requests may take to finish after SIGTERM/SIGINT.
    pub shutdown_grace: Duration,
    /// Whether session cookies carry the `Secure` attribute.
    pub secure_cookies: bool,
    /// The event bus: `None` for the embedded log, else a NATS URL.
    pub bus: Option<String>,
    /// The JetStream stream, when not the default.
    pub bus_stream: Option<String>,
    /// The durable bus consumer the event indexer reads with.
    pub search_consumer: String,
    /// The work this node does.
    pub roles: nigehban_node::Roles,
    /// Sigma rule files live detection runs beside the platform's stored rules.
    pub rules: Vec<PathBuf>,
    /// The syslog listeners to start.
    pub syslog: SyslogSettings,
    /// How long events stay searchable.
    pub event_retention: Duration,
    /// How long the bus keeps records.
    pub bus_retention: Duration,
    /// Largest body of `POST /api/v1/ingest`.
    pub ingest_max_body_bytes: usize,
    /// How often sensors are checked for silence.
    pub sensor_health_check: Duration,
    /// Search lag (events on the bus not indexed yet) past which intake slows senders down.
    pub search_max_lag: u64,
    /// Header timeout and connection caps of the HTTP listeners.
    pub http_connections: nigehban_server::ConnectionLimits,
    /// The token a scraper presents to read every series of `/metrics`.
    pub scrape_token: Option<nigehban_server::ScrapeToken>,
    /// Where `/metrics` alone is served with every series, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// MISP warninglists to load at start ([`load_warninglists`]), a directory.
    pub intel_warninglists: Option<PathBuf>,
    /// Whether TAXII's public (TLP:CLEAR) collection answers without credentials.
    pub taxii_public: bool,
    /// Outside TAXII collections pulled on a schedule.
    pub taxii_subscriptions: Vec<nigehban_app::taxii_pull::TaxiiSubscription>,
    /// Incidents: readable ids, regulatory profiles, evidence size, deadline checks.
    pub incidents: IncidentConfig,
    /// Paging: the SMTP relay, links, retries, the duty loop's period.
    pub duty: nigehban_app::DutySettings,
}

/// The incident settings, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentConfig {
    /// The services' settings (prefix, evidence size, profiles read from their file).
    pub settings: nigehban_app::IncidentSettings,
    /// How often regulatory deadlines are checked.
    pub deadline_check: Duration,
}

/// Which syslog listeners to start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyslogSettings {
    /// UDP address, if on.
    pub udp: Option<SocketAddr>,
    /// TCP address, if on.
    pub tcp: Option<SocketAddr>,
    /// TLS address and files, if on.
    pub tls: Option<SyslogTlsSettings>,
}

/// The syslog TLS listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogTlsSettings {
    /// Where it listens.
    pub address: SocketAddr,
    /// Its certificate chain (PEM).
    pub certificate: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// CA certificates that issue sensors' client certificates, if asked for.
    pub client_ca: Option<PathBuf>,
}

/// A setting that was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read configuration file {path}: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The configuration file is not valid TOML or has an unknown key or a value of the wrong type.
    #[error("configuration file {path}: {reason}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// Why, with the key and line as the TOML reader reports them.
        reason: String,
    },
    /// A value cannot be used.
    #[error("configuration key `{key}` (from {origin}): {reason}")]
    BadValue {
        /// The key as written in the configuration file.
        key: &'static str,
        /// Where the value came from: a flag, an environment variable or the file.
        origin: String,
        /// Why it was refused.
        reason: String,
    },
}

/// The configuration file's contents. Unknown keys are refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<String>,
    database: Option<String>,
    audit_key_file: Option<PathBuf>,
    log: Option<String>,
    max_body_bytes: Option<i64>,
    request_timeout_seconds: Option<i64>,
    shutdown_grace_seconds: Option<i64>,
    secure_cookies: Option<bool>,
    national_cert_name: Option<String>,
    admin_username: Option<String>,
    bus: Option<String>,
    bus_stream: Option<String>,
    search_consumer: Option<String>,
    roles: Option<String>,
    rules: Option<Vec<PathBuf>>,
    syslog_udp: Option<String>,
    syslog_tcp: Option<String>,
    syslog_tls: Option<String>,
    syslog_tls_certificate: Option<PathBuf>,
    syslog_tls_key: Option<PathBuf>,
    syslog_tls_client_ca: Option<PathBuf>,
    event_retention_days: Option<i64>,
    bus_retention_days: Option<i64>,
    ingest_max_body_bytes: Option<i64>,
    sensor_health_check_seconds: Option<i64>,
    search_max_lag_events: Option<i64>,
    incident_id_prefix: Option<String>,
    regulatory_profiles: Option<PathBuf>,
    evidence_max_bytes: Option<i64>,
    deadline_check_seconds: Option<i64>,
    smtp_url: Option<String>,
    smtp_from: Option<String>,
    public_url: Option<String>,
    duty_check_seconds: Option<i64>,
    notification_retries: Option<i64>,
    notification_retry_seconds: Option<i64>,
    handover_wait_seconds: Option<i64>,
    http_header_timeout_seconds: Option<i64>,
    http_max_connections: Option<i64>,
    http_max_connections_per_client: Option<i64>,
    http_max_requests_per_connection: Option<i64>,
    metrics_token_file: Option<PathBuf>,
    metrics_listen: Option<String>,
    intel_warninglists: Option<PathBuf>,
    taxii_public: Option<bool>,
    taxii_subscriptions: Option<Vec<SubscriptionConfig>>,
}

/// One `[[taxii_subscriptions]]` table of the configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscriptionConfig {
    name: String,
    api_root: String,
    collection: String,
    tenant: String,
    interval_seconds: Option<u64>,
    tlp: Option<String>,
    username: Option<String>,
    password_file: Option<PathBuf>,
    token_file: Option<PathBuf>,
}

/// Environment variables that belong to Nigehban but are not settings (tests, tools).
const NON_SETTING_VARIABLES: &[&str] = &[
    "NIGEHBAN_CONFIG",
    "NIGEHBAN_CORPUS",
    "NIGEHBAN_REQUIRE_CORPUS",
    "NIGEHBAN_REQUIRE_SERVICES",
    "NIGEHBAN_TEST_POSTGRES_URL",
    "NIGEHBAN_TEST_NATS_URL",
    "NIGEHBAN_INGEST_TOKEN",
];

/// A raw value and where it came from.
struct Raw {
    text: String,
    origin: String,
}

/// Reads settings from flags, the environment and the file, in that precedence.
pub struct ConfigSources<'a> {
    file: FileConfig,
    file_path: Option<PathBuf>,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> ConfigSources<'a> {
    /// Loads the configuration file named by `--config` or `NIGEHBAN_CONFIG`, if any.
    pub fn load(
        config_flag: Option<&Path>,
        env: &'a dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let path = config_flag
            .map(Path::to_path_buf)
            .or_else(|| env("NIGEHBAN_CONFIG").map(PathBuf::from));
        let file = match &path {
            None => FileConfig::default(),
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|error| ConfigError::Unreadable {
                        path: path.clone(),
                        reason: error.to_string(),
                    })?;
                parse_file(path, &text)?
            }
        };
        Ok(Self {
            file,
            file_path: path,
            env,
        })
    }

    /// Environment variables named `NIGEHBAN_*` that are neither settings nor known tools' variables.
    pub fn unknown_variables(names: impl IntoIterator<Item = String>) -> Vec<String> {
        let known: Vec<String> = KEYS.iter().map(|key| env_name(key)).collect();
        names
            .into_iter()
            .filter(|name| name.starts_with("NIGEHBAN_"))
            .filter(|name| !known.contains(name) && !NON_SETTING_VARIABLES.contains(&name.as_str()))
            .collect()
    }

    fn file_origin(&self, key: &str) -> String {
        match &self.file_path {
            Some(path) => format!("{} key {key}", path.display()),
            None => format!("configuration file key {key}"),
        }
    }

    /// The highest-precedence value of `key`: the flag, then the environment, then the file.
    fn raw(
        &self,
        key: &'static str,
        flag: Option<String>,
        file: Option<String>,
    ) -> Result<Option<Raw>, ConfigError> {
        if let Some(text) = flag {
            return Ok(Some(Raw {
                text,
                origin: format!("flag --{}", key.replace('_', "-")),
            }));
        }
        let variable = env_name(key);
        if let Some(text) = (self.env)(&variable) {
            return Ok(Some(Raw {
                text,
                origin: format!("environment variable {variable}"),
            }));
        }
        Ok(file.map(|text| Raw {
            text,
            origin: self.file_origin(key),
        }))
    }

    /// Resolves the settings of the storage commands.
    pub fn storage(&self, flags: &StorageFlags) -> Result<StorageSettings, ConfigError> {
        let data_dir = self
            .raw(
                "data_dir",
                flags.data_dir.as_ref().map(|p| p.display().to_string()),
                self.file.data_dir.as_ref().map(|p| p.display().to_string()),
            )?
            .map(|raw| parse_data_dir(&raw))
            .transpose()?
            .unwrap_or_else(|| PathBuf::from("nigehban-data"));
        let database = self
            .raw(
                "database",
                flags.database.clone(),
                self.file.database.clone(),
            )?
            .map(|raw| parse_database(&raw))
            .transpose()?;
        let storage = match database {
            Some(url) => StorageChoice::Postgres { url },
            None => StorageChoice::Embedded {
                data_dir: data_dir.clone(),
            },
        };
        let audit_key_file = self
            .raw(
                "audit_key_file",
                flags
                    .audit_key_file
                    .as_ref()
                    .map(|p| p.display().to_string()),
                self.file
                    .audit_key_file
                    .as_ref()
                    .map(|p| p.display().to_string()),
            )?
            .map(|raw| parse_audit_key_file(&raw))
            .transpose()?
            .unwrap_or_else(|| data_dir.join(nigehban_app::AUDIT_KEY_FILE));
        let national_cert_name = self
            .raw(
                "national_cert_name",
                None,
                self.file.national_cert_name.clone(),
            )?
            .map(|raw| parse_name(&raw, "national_cert_name", 200))
            .transpose()?
            .unwrap_or_else(|| "National CERT".to_owned());
        let admin_username = self
            .raw("admin_username", None, self.file.admin_username.clone())?
            .map(|raw| parse_username(&raw))
            .transpose()?
            .unwrap_or_else(|| "admin".to_owned());
        let log = self
            .raw("log", None, self.file.log.clone())?
            .map(|raw| parse_log_filter(&raw))
            .transpose()?
            .unwrap_or_else(|| "info".to_owned());
        Ok(StorageSettings {
            storage,
            data_dir,
            audit_key_file,
            national_cert_name,
            admin_username,
            log,
        })
    }

    /// Resolves the settings of `nigehban serve`.
    pub fn serve(&self, flags: &ServeFlags) -> Result<ServeSettings, ConfigError> {
        let storage = self.storage(&flags.storage)?;
        let listen = match self.raw("listen", flags.listen.clone(), self.file.listen.clone())? {
            Some(raw) => parse_listen(&raw)?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let max_body_bytes = self
            .integer(
                "max_body_bytes",
                self.file.max_body_bytes,
                1024,
                1024 * 1024 * 1024,
            )?
            .unwrap_or(1024 * 1024);
        let request_timeout = self
            .integer(
                "request_timeout_seconds",
                self.file.request_timeout_seconds,
                1,
                3600,
            )?
            .unwrap_or(30);
        let shutdown_grace = self
            .integer(
                "shutdown_grace_seconds",
                self.file.shutdown_grace_seconds,
                0,
                3600,
            )?
            .unwrap_or(30);
        let secure_cookies = match self.raw(
            "secure_cookies",
            None,
            self.file.secure_cookies.map(|b| b.to_string()),
        )? {
            Some(raw) => parse_bool(&raw, "secure_cookies")?,
            None => true,
        };
        let bus = self
            .raw("bus", flags.bus.clone(), self.file.bus.clone())?
            .map(|raw| parse_bus(&raw))
            .transpose()?
            .flatten();
        let bus_stream = self
            .raw("bus_stream", None, self.file.bus_stream.clone())?
            .map(|raw| parse_bus_name(&raw, "bus_stream"))
            .transpose()?;
        let search_consumer = self
            .raw("search_consumer", None, self.file.search_consumer.clone())?
            .map(|raw| parse_bus_name(&raw, "search_consumer"))
            .transpose()?
            .unwrap_or_else(|| "search".to_owned());
        let roles = match self.raw("roles", flags.roles.clone(), self.file.roles.clone())? {
            Some(raw) => raw
                .text
                .parse()
                .map_err(|error: nigehban_node::InvalidRoles| {
                    bad_value("roles", &raw, error.to_string())
                })?,
            None => nigehban_node::Roles::ALL,
        };
        let rules = self
            .raw(
                "rules",
                (!flags.rules.is_empty()).then(|| {
                    flags
                        .rules
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                }),
                self.file.rules.as_ref().map(|paths| {
                    paths
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                }),
            )?
            .map(|raw| {
                raw.text
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(PathBuf::from)
                    .collect()
            })
            .unwrap_or_default();
        let syslog = self.syslog(flags)?;
        let day = 24 * 60 * 60;
        let event_retention_days = match self.raw(
            "event_retention_days",
            flags.event_retention_days.clone(),
            self.file.event_retention_days.map(|n| n.to_string()),
        )? {
            Some(raw) => parse_whole(&raw, "event_retention_days", 1, 3650)?,
            None => 30,
        };
        let bus_retention_days = self
            .integer("bus_retention_days", self.file.bus_retention_days, 1, 3650)?
            .unwrap_or(7);
        let ingest_max_body_bytes = self
            .integer(
                "ingest_max_body_bytes",
                self.file.ingest_max_body_bytes,
                1024,
                1024 * 1024 * 1024,
            )?
            .unwrap_or(32 * 1024 * 1024);
        let sensor_health_check = self
            .integer(
                "sensor_health_check_seconds",
                self.file.sensor_health_check_seconds,
                1,
                60,
            )?
            .unwrap_or(15);
        let search_max_lag = self
            .integer(
                "search_max_lag_events",
                self.file.search_max_lag_events,
                10_000,
                1_000_000_000,
            )?
            .unwrap_or(2_000_000);
        let incidents = self.incidents()?;
        let duty = self.duty()?;
        let http_connections = self.http_connections(flags)?;
        let scrape_token = self.scrape_token(flags)?;
        let metrics_listen = self
            .raw(
                "metrics_listen",
                flags.metrics_listen.clone(),
                self.file.metrics_listen.clone(),
            )?
            .map(|raw| parse_listener(&raw, "metrics_listen"))
            .transpose()?
            .flatten();
        let intel_warninglists = self
            .raw(
                "intel_warninglists",
                None,
                self.file
                    .intel_warninglists
                    .as_ref()
                    .map(|p| p.display().to_string()),
            )?
            .map(|raw| {
                let path = PathBuf::from(raw.text.trim());
                if path.is_dir() {
                    Ok(path)
                } else {
                    Err(bad_value(
                        "intel_warninglists",
                        &raw,
                        format!("{} is not a directory", path.display()),
                    ))
                }
            })
            .transpose()?;
        let taxii_public = match self.raw(
            "taxii_public",
            None,
            self.file.taxii_public.map(|b| b.to_string()),
        )? {
            Some(raw) => parse_bool(&raw, "taxii_public")?,
            None => false,
        };
        let taxii_subscriptions = self.taxii_subscriptions()?;
        Ok(ServeSettings {
            incidents,
            duty,
            storage,
            listen,
            max_body_bytes: usize::try_from(max_body_bytes).unwrap_or(usize::MAX),
            request_timeout: Duration::from_secs(request_timeout),
            shutdown_grace: Duration::from_secs(shutdown_grace),
            secure_cookies,
            bus,
            bus_stream,
            search_consumer,
            roles,
            rules,
            syslog,
            event_retention: Duration::from_secs(event_retention_days * day),
            bus_retention: Duration::from_secs(bus_retention_days * day),
            ingest_max_body_bytes: usize::try_from(ingest_max_body_bytes).unwrap_or(usize::MAX),
            sensor_health_check: Duration::from_secs(sensor_health_check),
            search_max_lag,
            http_connections,
            scrape_token,
            metrics_listen,
            intel_warninglists,
            taxii_public,
            taxii_subscriptions,
        })
    }

    /// The `[[taxii_subscriptions]]` of the file, checked (credential files read now).
    fn taxii_subscriptions(
        &self,
    ) -> Result<Vec<nigehban_app::taxii_pull::TaxiiSubscription>, ConfigError> {
        use nigehban_app::taxii_pull::{TaxiiCredentials, TaxiiSubscription};
        let mut out: Vec<TaxiiSubscription> = Vec::new();
        for (index, config) in self.file.taxii_subscriptions.iter().flatten().enumerate() {
            let bad = |reason: String| ConfigError::BadValue {
                key: "taxii_subscriptions",
                origin: format!(
                    "{} (subscription {index}, {:?})",
                    self.file_origin("taxii_subscriptions"),
                    config.name
                ),
                reason,
            };
            if config.name.trim().is_empty() {
                return Err(bad("`name` is empty".into()));
            }
            if out.iter().any(|s| s.name == config.name) {
                return Err(bad(format!(
                    "two subscriptions are named {:?}",
                    config.name
                )));
            }
            if !(config.api_root.starts_with("http://") || config.api_root.starts_with("https://"))
            {
                return Err(bad(format!(
                    "`api_root` {:?} is not an http:// or https:// URL",
                    config.api_root
                )));
            }
            let tenant = config
                .tenant
                .trim()
                .parse::<nigehban_app::model::TenantId>()
                .map_err(|_| bad(format!("`tenant` {:?} is not a tenant id", config.tenant)))?;
            let default_tlp = match &config.tlp {
                Some(text) => text
                    .parse::<nigehban_app::model::Tlp>()
                    .map_err(|_| bad(format!("`tlp` {text:?} is not a TLP 2.0 label")))?,
                None => nigehban_app::model::Tlp::Amber,
            };
            let interval = config.interval_seconds.unwrap_or(3600);
            if !(10..=7 * 86_400).contains(&interval) {
                return Err(bad(format!(
                    "`interval_seconds` {interval} must be between 10 and 604800"
                )));
            }
            let read = |path: &PathBuf, what: &str| {
                std::fs::read_to_string(path)
                    .map(|text| text.trim().to_owned())
                    .map_err(|e| bad(format!("`{what}` {}: {e}", path.display())))
            };
            let credentials = match (&config.username, &config.password_file, &config.token_file) {
                (None, None, None) => TaxiiCredentials::None,
                (Some(username), Some(path), None) => TaxiiCredentials::Basic {
                    username: username.clone(),
                    password: read(path, "password_file")?,
                },
                (None, None, Some(path)) => TaxiiCredentials::Bearer(read(path, "token_file")?),
                _ => {
                    return Err(bad(
                        "give `username` with `password_file`, or `token_file`, or neither".into(),
                    ));
                }
            };
            out.push(TaxiiSubscription {
                name: config.name.clone(),
                api_root: config.api_root.clone(),
                collection: config.collection.clone(),
                credentials,
                tenant,
                default_tlp,
                interval: Duration::from_secs(interval),
            });
        }
        Ok(out)
    }

    /// The incident settings: the readable id prefix, the regulatory profiles
    /// (read and checked now, so a bad file stops the start), the evidence size
    /// limit and how often deadlines are checked.
    fn incidents(&self) -> Result<IncidentConfig, ConfigError> {
        let mut settings = nigehban_app::IncidentSettings::default();
        if let Some(raw) = self.raw(
            "incident_id_prefix",
            None,
            self.file.incident_id_prefix.clone(),
        )? {
            settings.id_prefix = nigehban_app::model::ReadableIdPrefix::parse(&raw.text)
                .map_err(|e| bad_value("incident_id_prefix", &raw, e.to_string()))?;
        }
        if let Some(raw) = self.raw(
            "regulatory_profiles",
            None,
            self.file
                .regulatory_profiles
                .as_ref()
                .map(|p| p.display().to_string()),
        )? {
            let path = PathBuf::from(raw.text.trim());
            let text = std::fs::read_to_string(&path).map_err(|e| {
                bad_value(
                    "regulatory_profiles",
                    &raw,
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            settings.regulatory_profiles = nigehban_app::incidents::parse_regulatory_profiles(
                &text,
                &path.display().to_string(),
            )
            .map_err(|e| bad_value("regulatory_profiles", &raw, e))?;
        }
        if let Some(bytes) = self.integer(
            "evidence_max_bytes",
            self.file.evidence_max_bytes,
            1024,
            1024 * 1024 * 1024,
        )? {
            settings.evidence_max_bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        }
        let deadline_check = self
            .integer(
                "deadline_check_seconds",
                self.file.deadline_check_seconds,
                1,
                3600,
            )?
            .unwrap_or(60);
        Ok(IncidentConfig {
            settings,
            deadline_check: Duration::from_secs(deadline_check),
        })
    }

    /// The paging settings: the SMTP relay, the platform's public address
    /// for links, the duty loop's period and delivery retries.
    fn duty(&self) -> Result<nigehban_app::DutySettings, ConfigError> {
        // Empty: `serve` uses the address it listens on.
        let mut duty = nigehban_app::DutySettings {
            public_url: String::new(),
            ..nigehban_app::DutySettings::default()
        };
        if let Some(raw) = self.raw("smtp_url", None, self.file.smtp_url.clone())? {
            let url = raw.text.trim().to_owned();
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(bad_value("smtp_url", &raw, "an smtp:// or smtps:// URL"));
            }
            let from = self
                .raw("smtp_from", None, self.file.smtp_from.clone())?
                .map_or_else(|| "Nigehban <nigehban@localhost>".to_owned(), |r| r.text);
            duty.smtp = Some(nigehban_app::SmtpSettings { url, from });
        }
        if let Some(raw) = self.raw("public_url", None, self.file.public_url.clone())? {
            let url = raw.text.trim().trim_end_matches('/').to_owned();
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(bad_value("public_url", &raw, "an http:// or https:// URL"));
            }
            duty.public_url = url;
        }
        let seconds = |n: u64| Duration::from_secs(n);
        if let Some(n) =
            self.integer("duty_check_seconds", self.file.duty_check_seconds, 1, 3600)?
        {
            duty.check_every = seconds(n);
        }
        if let Some(n) = self.integer(
            "notification_retries",
            self.file.notification_retries,
            0,
            20,
        )? {
            duty.retries = u32::try_from(n).unwrap_or(20);
        }
        if let Some(n) = self.integer(
            "notification_retry_seconds",
            self.file.notification_retry_seconds,
            1,
            86_400,
        )? {
            duty.retry_after = seconds(n);
        }
        if let Some(n) = self.integer(
            "handover_wait_seconds",
            self.file.handover_wait_seconds,
            1,
            86_400,
        )? {
            duty.handover_wait = seconds(n);
        }
        Ok(duty)
    }

    /// The header timeout and connection caps of the HTTP listeners.
    fn http_connections(
        &self,
        flags: &ServeFlags,
    ) -> Result<nigehban_server::ConnectionLimits, ConfigError> {
        let defaults = nigehban_server::ConnectionLimits::default();
        let whole = |key: &'static str,
                     flag: &Option<String>,
                     file: Option<i64>,
                     min: u64,
                     max: u64|
         -> Result<Option<u64>, ConfigError> {
            self.raw(key, flag.clone(), file.map(|n| n.to_string()))?
                .map(|raw| parse_whole(&raw, key, min, max))
                .transpose()
        };
        let count = |value: u64| usize::try_from(value).unwrap_or(usize::MAX);
        let file = &self.file;
        Ok(nigehban_server::ConnectionLimits {
            header_timeout: whole(
                "http_header_timeout_seconds",
                &flags.http_header_timeout_seconds,
                file.http_header_timeout_seconds,
                1,
                300,
            )?
            .map_or(defaults.header_timeout, Duration::from_secs),
            max_connections: whole(
                "http_max_connections",
                &flags.http_max_connections,
                file.http_max_connections,
                16,
                1_000_000,
            )?
            .map_or(defaults.max_connections, count),
            max_connections_per_client: whole(
                "http_max_connections_per_client",
                &flags.http_max_connections_per_client,
                file.http_max_connections_per_client,
                1,
                1_000_000,
            )?
            .map_or(defaults.max_connections_per_client, count),
            max_requests_per_connection: whole(
                "http_max_requests_per_connection",
                &flags.http_max_requests_per_connection,
                file.http_max_requests_per_connection,
                1,
                1_000_000,
            )?
            .map_or(defaults.max_requests_per_connection, count),
        })
    }

    /// The scrape token, read from the file `metrics_token_file` names.
    fn scrape_token(
        &self,
        flags: &ServeFlags,
    ) -> Result<Option<nigehban_server::ScrapeToken>, ConfigError> {
        let Some(raw) = self.raw(
            "metrics_token_file",
            flags
                .metrics_token_file
                .as_ref()
                .map(|p| p.display().to_string()),
            self.file
                .metrics_token_file
                .as_ref()
                .map(|p| p.display().to_string()),
        )?
        else {
            return Ok(None);
        };
        let path = PathBuf::from(raw.text.trim());
        let text = std::fs::read_to_string(&path).map_err(|error| {
            bad_value(
                "metrics_token_file",
                &raw,
                format!("cannot read {}: {error}", path.display()),
            )
        })?;
        nigehban_server::ScrapeToken::parse(&text)
            .map(Some)
            .map_err(|error| {
                bad_value(
                    "metrics_token_file",
                    &raw,
                    format!("{}: {error}", path.display()),
                )
            })
    }

    /// The syslog listeners: each address, or `off`; TLS needs a certificate and a key.
    fn syslog(&self, flags: &ServeFlags) -> Result<SyslogSettings, ConfigError> {
        let address = |key: &'static str, flag: &Option<String>, file: &Option<String>| {
            self.raw(key, flag.clone(), file.clone())?
                .map(|raw| parse_listener(&raw, key))
                .transpose()
                .map(Option::flatten)
        };
        let udp = address("syslog_udp", &flags.syslog_udp, &self.file.syslog_udp)?;
        let tcp = address("syslog_tcp", &flags.syslog_tcp, &self.file.syslog_tcp)?;
        let tls = address("syslog_tls", &flags.syslog_tls, &self.file.syslog_tls)?;
        let path = |key: &'static str, flag: &Option<PathBuf>, file: &Option<PathBuf>| {
            self.raw(
                key,
                flag.as_ref().map(|p| p.display().to_string()),
                file.as_ref().map(|p| p.display().to_string()),
            )
        };
        let certificate = path(
            "syslog_tls_certificate",
            &flags.syslog_tls_certificate,
            &self.file.syslog_tls_certificate,
        )?;
        let key = path(
            "syslog_tls_key",
            &flags.syslog_tls_key,
            &self.file.syslog_tls_key,
        )?;
        let client_ca = path(
            "syslog_tls_client_ca",
            &flags.syslog_tls_client_ca,
            &self.file.syslog_tls_client_ca,
        )?;
        let tls = match tls {
            None => {
                for (name, raw) in [
                    ("syslog_tls_certificate", &certificate),
                    ("syslog_tls_key", &key),
                    ("syslog_tls_client_ca", &client_ca),
                ] {
                    if let Some(raw) = raw {
                        return Err(bad_value(
                            name,
                            raw,
                            "is set but syslog_tls is off: give syslog_tls an address too",
                        ));
                    }
                }
                None
            }
            Some(address) => {
                let file = |key: &'static str, raw: Option<Raw>| -> Result<PathBuf, ConfigError> {
                    let Some(raw) = raw else {
                        return Err(ConfigError::BadValue {
                            key,
                            origin: "not set anywhere".to_owned(),
                            reason: "is required when syslog_tls is on".to_owned(),
                        });
                    };
                    let path = PathBuf::from(raw.text.trim());
                    if !path.is_file() {
                        return Err(bad_value(
                            key,
                            &raw,
                            format!("{} is not a readable file", path.display()),
                        ));
                    }
                    Ok(path)
                };
                Some(SyslogTlsSettings {
                    address,
                    certificate: file("syslog_tls_certificate", certificate)?,
                    key: file("syslog_tls_key", key)?,
                    client_ca: client_ca
                        .map(|raw| file("syslog_tls_client_ca", Some(raw)))
                        .transpose()?,
                })
            }
        };
        Ok(SyslogSettings { udp, tcp, tls })
    }

    /// An integer setting within `min..=max`.
    fn integer(
        &self,
        key: &'static str,
        file: Option<i64>,
        min: u64,
        max: u64,
    ) -> Result<Option<u64>, ConfigError> {
        let Some(raw) = self.raw(key, None, file.map(|n| n.to_string()))? else {
            return Ok(None);
        };
        let bad = |reason: String| ConfigError::BadValue {
            key,
            origin: raw.origin.clone(),
            reason,
        };
        let value: i128 = raw
            .text
            .trim()
            .parse()
            .map_err(|_| bad(format!("{:?} is not a whole number", raw.text)))?;
        if value < i128::from(min) || value > i128::from(max) {
            return Err(bad(format!(
                "{value} is out of range: it must be between {min} and {max}"
            )));
        }
        Ok(u64::try_from(value).ok())
    }
}

/// Every settings key, as written in the file.
pub const KEYS: &[&str] = &[
    "bus",
    "bus_stream",
    "search_consumer",
    "roles",
    "rules",
    "syslog_udp",
    "syslog_tcp",
    "syslog_tls",
    "syslog_tls_certificate",
    "syslog_tls_key",
    "syslog_tls_client_ca",
    "event_retention_days",
    "bus_retention_days",
    "ingest_max_body_bytes",
    "sensor_health_check_seconds",
    "search_max_lag_events",
    "incident_id_prefix",
    "regulatory_profiles",
    "evidence_max_bytes",
    "deadline_check_seconds",
    "smtp_url",
    "smtp_from",
    "public_url",
    "duty_check_seconds",
    "notification_retries",
    "notification_retry_seconds",
    "handover_wait_seconds",
    "http_header_timeout_seconds",
    "http_max_connections",
    "http_max_connections_per_client",
    "http_max_requests_per_connection",
    "metrics_token_file",
    "metrics_listen",
    "intel_warninglists",
    "taxii_public",
    "data_dir",
    "listen",
    "database",
    "audit_key_file",
    "log",
    "max_body_bytes",
    "request_timeout_seconds",
    "shutdown_grace_seconds",
    "secure_cookies",
    "national_cert_name",
    "admin_username",
];

/// Loads the MISP warninglists under `dir` (the `intel_warninglists`
/// setting); a list that cannot be used is logged and skipped, a directory
/// that cannot be read stops the start.
pub fn load_warninglists(dir: &Path) -> Result<nigehban_app::Warninglists, ConfigError> {
    let (lists, problems) =
        nigehban_app::Warninglists::load_dir(dir).map_err(|e| ConfigError::BadValue {
            key: "intel_warninglists",
            origin: dir.display().to_string(),
            reason: format!("cannot read {}: {e}", dir.display()),
        })?;
    for problem in &problems {
        tracing::warn!(file = %problem.file.display(), reason = %problem.reason, "warninglist skipped in part");
    }
    tracing::info!(
        lists = lists.len(),
        entries = lists.entries(),
        "MISP warninglists loaded"
    );
    Ok(lists)
}

/// The environment variable of a settings key, e.g. `NIGEHBAN_DATA_DIR`.
pub fn env_name(key: &str) -> String {
    format!("NIGEHBAN_{}", key.to_ascii_uppercase())
}

fn parse_file(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    toml::from_str(text).map_err(|error| ConfigError::BadFile {
        path: path.to_path_buf(),
        reason: error.to_string().trim_end().to_owned(),
    })
}

fn bad_value(key: &'static str, raw: &Raw, reason: impl Into<String>) -> ConfigError {
    ConfigError::BadValue {
        key,
        origin: raw.origin.clone(),
        reason: reason.into(),
    }
}

fn parse_data_dir(raw: &Raw) -> Result<PathBuf, ConfigError> {
    if raw.text.trim().is_empty() {
        return Err(bad_value("data_dir", raw, "the data directory is empty"));
    }
    let path = PathBuf::from(&raw.text);
    if path.exists() && !path.is_dir() {
        return Err(bad_value(
            "data_dir",
            raw,
            format!("{} exists and is not a directory", path.display()),
        ));
    }
    Ok(path)
}

fn parse_audit_key_file(raw: &Raw) -> Result<PathBuf, ConfigError> {
    let path = PathBuf::from(raw.text.trim());
    if path.as_os_str().is_empty() {
        return Err(bad_value("audit_key_file", raw, "the path is empty"));
    }
    if path.is_dir() {
        return Err(bad_value(
            "audit_key_file",
            raw,
            format!("{} is a directory, not a key file", path.display()),
        ));
    }
    Ok(path)
}

fn parse_database(raw: &Raw) -> Result<String, ConfigError> {
    let text = raw.text.trim();
    let scheme = text.split_once("://").map(|(scheme, _)| scheme);
    match scheme {
        Some("postgres" | "postgresql") if text.len() > "postgres://".len() => Ok(text.to_owned()),
        _ => Err(bad_value(
            "database",
            raw,
            format!(
                "{:?} is not a PostgreSQL URL: expected postgres://USER:PASSWORD@HOST:PORT/DATABASE (leave it unset for the embedded store in data_dir)",
                redact_url(text)
            ),
        )),
    }
}

fn parse_listen(raw: &Raw) -> Result<SocketAddr, ConfigError> {
    raw.text.trim().parse().map_err(|_| {
        bad_value(
            "listen",
            raw,
            format!(
                "{:?} is not an address and port such as 127.0.0.1:8080 or [::1]:8080",
                raw.text
            ),
        )
    })
}

/// The bus: `None` for the embedded log, else a NATS URL.
fn parse_bus(raw: &Raw) -> Result<Option<String>, ConfigError> {
    let text = raw.text.trim();
    if text.is_empty() || text == "embedded" {
        return Ok(None);
    }
    let rest = text
        .strip_prefix("nats://")
        .or_else(|| text.strip_prefix("tls://"));
    match rest {
        Some(host) if !host.is_empty() => Ok(Some(text.to_owned())),
        _ => Err(bad_value(
            "bus",
            raw,
            format!(
                "{:?} is not a bus: use `embedded` or a NATS URL such as nats://127.0.0.1:4222",
                redact_url(text)
            ),
        )),
    }
}

/// A JetStream stream or durable consumer name: 1 to 64 of `A-Z a-z 0-9 _ -`.
fn parse_bus_name(raw: &Raw, key: &'static str) -> Result<String, ConfigError> {
    let name = raw.text.trim();
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(name.to_owned())
    } else {
        Err(bad_value(
            key,
            raw,
            format!(
                "{:?} is not a name: use 1 to 64 of A-Z, a-z, 0-9, '_', '-'",
                raw.text
            ),
        ))
    }
}

/// A listener address, or `None` for `off`.
fn parse_listener(raw: &Raw, key: &'static str) -> Result<Option<SocketAddr>, ConfigError> {
    let text = raw.text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        bad_value(
            key,
            raw,
            format!(
                "{:?} is not an address and port such as 0.0.0.0:514, or `off`",
                raw.text
            ),
        )
    })
}

/// A whole number within `min..=max`.
fn parse_whole(raw: &Raw, key: &'static str, min: u64, max: u64) -> Result<u64, ConfigError> {
    let value: i128 = raw
        .text
        .trim()
        .parse()
        .map_err(|_| bad_value(key, raw, format!("{:?} is not a whole number", raw.text)))?;
    if value < i128::from(min) || value > i128::from(max) {
        return Err(bad_value(
            key,
            raw,
            format!("{value} is out of range: it must be between {min} and {max}"),
        ));
    }
    u64::try_from(value).map_err(|_| bad_value(key, raw, "out of range"))
}

fn parse_bool(raw: &Raw, key: &'static str) -> Result<bool, ConfigError> {
    match raw.text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(bad_value(
            key,
            raw,
            format!("{:?} is not true or false", raw.text),
        )),
    }
}

fn parse_name(raw: &Raw, key: &'static str, max_chars: usize) -> Result<String, ConfigError> {
    let name = raw.text.trim();
    if name.is_empty() {
        return Err(bad_value(key, raw, "the name is empty"));
    }
    if name.chars().count() > max_chars {
        return Err(bad_value(
            key,
            raw,
            format!("the name is longer than {max_chars} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(bad_value(key, raw, "the name contains a control character"));
    }
    Ok(name.to_owned())
}

fn parse_username(raw: &Raw) -> Result<String, ConfigError> {
    let name = raw.text.trim().to_lowercase();
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '@')
        });
    if valid {
        Ok(name)
    } else {
        Err(bad_value(
            "admin_username",
            raw,
            format!(
                "{:?} is not a username: use 1 to 64 of a-z, 0-9, '.', '_', '-', '@'",
                raw.text
            ),
        ))
    }
}

fn parse_log_filter(raw: &Raw) -> Result<String, ConfigError> {
    tracing_subscriber::EnvFilter::builder()
        .parse(raw.text.trim())
        .map(|_| raw.text.trim().to_owned())
        .map_err(|error| {
            bad_value(
                "log",
                raw,
                format!(
                    "{:?} is not a log filter such as `info` or `nigehban_server=debug,info`: {error}",
                    raw.text
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn with_file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nigehban.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn defaults_are_the_embedded_store_on_localhost() {
        let env = env_of(&[]);
        let sources = ConfigSources::load(None, &env).unwrap();
        let settings = sources.serve(&ServeFlags::default()).unwrap();
        assert_eq!(
            settings.storage.storage,
            StorageChoice::Embedded {
                data_dir: PathBuf::from("nigehban-data")
            }
        );
        assert_eq!(settings.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(settings.max_body_bytes, 1024 * 1024);
        assert_eq!(settings.request_timeout, Duration::from_secs(30));
        assert!(settings.secure_cookies);
        assert_eq!(settings.storage.national_cert_name, "National CERT");
        assert_eq!(settings.storage.admin_username, "admin");
        assert_eq!(
            settings.storage.audit_key_file,
            PathBuf::from("nigehban-data").join("audit.key")
        );
    }

    #[test]
    fn the_audit_key_file_follows_the_data_dir_unless_given() {
        let env = env_of(&[("NIGEHBAN_DATA_DIR", "/srv/nigehban")]);
        let sources = ConfigSources::load(None, &env).unwrap();
        let settings = sources.storage(&StorageFlags::default()).unwrap();
        assert_eq!(
            settings.audit_key_file,
            PathBuf::from("/srv/nigehban/audit.key")
        );
        let env = env_of(&[("NIGEHBAN_AUDIT_KEY_FILE", "/secrets/nigehban-audit.key")]);
        let sources = ConfigSources::load(None, &env).unwrap();
        let settings = sources.storage(&StorageFlags::default()).unwrap();
        assert_eq!(
            settings.audit_key_file,
            PathBuf::from("/secrets/nigehban-audit.key")
        );
        let dir = tempfile::tempdir().unwrap();
        let flags = StorageFlags {
            audit_key_file: Some(dir.path().to_path_buf()),
            ..StorageFlags::default()
        };
        let error = ConfigSources::load(None, &env_of(&[]))
            .unwrap()
            .storage(&flags)
            .unwrap_err();
        assert!(error.to_string().contains("audit_key_file"), "{error}");
    }

    #[test]
    fn flags_beat_environment_beats_file() {
        let (_dir, path) = with_file(
            "listen = \"127.0.0.1:1001\"\ndata_dir = \"/from/file\"\nmax_body_bytes = 2048\n",
        );
        let env = env_of(&[
            ("NIGEHBAN_LISTEN", "127.0.0.1:1002"),
            ("NIGEHBAN_DATA_DIR", "/from/env"),
        ]);
        let sources = ConfigSources::load(Some(&path), &env).unwrap();
        let flags = ServeFlags {
            listen: Some("127.0.0.1:1003".into()),
            ..ServeFlags::default()
        };
        let settings = sources.serve(&flags).unwrap();
        assert_eq!(settings.listen, "127.0.0.1:1003".parse().unwrap());
        assert_eq!(
            settings.storage.storage,
            StorageChoice::Embedded {
                data_dir: PathBuf::from("/from/env")
            }
        );
        assert_eq!(settings.max_body_bytes, 2048);
        let settings = sources.serve(&ServeFlags::default()).unwrap();
        assert_eq!(settings.listen, "127.0.0.1:1002".parse().unwrap());
    }

    #[test]
    fn config_file_is_found_through_the_environment() {
        let (_dir, path) = with_file("database = \"postgres://nigehban:secret@db/nigehban\"\n");
        let path_text = path.display().to_string();
        let env = env_of(&[("NIGEHBAN_CONFIG", path_text.as_str())]);
        let sources = ConfigSources::load(None, &env).unwrap();
        let settings = sources.storage(&StorageFlags::default()).unwrap();
        assert_eq!(
            settings.storage,
            StorageChoice::Postgres {
                url: "postgres://nigehban:secret@db/nigehban".into()
            }
        );
        assert_eq!(
            settings.storage.to_string(),
            "PostgreSQL at postgres://nigehban:***@db/nigehban"
        );
    }

    #[test]
    fn unknown_file_key_is_refused_with_its_name() {
        let (_dir, path) = with_file("lisen = \"127.0.0.1:8080\"\n");
        let env = env_of(&[]);
        let error = ConfigSources::load(Some(&path), &env).err().unwrap();
        let text = error.to_string();
        assert!(matches!(error, ConfigError::BadFile { .. }), "{text}");
        assert!(text.contains("lisen"), "{text}");
        assert!(text.contains("nigehban.toml"), "{text}");
    }

    #[test]
    fn wrong_type_in_file_is_refused_with_the_key() {
        let (_dir, path) = with_file("max_body_bytes = \"lots\"\n");
        let env = env_of(&[]);
        let text = ConfigSources::load(Some(&path), &env)
            .err()
            .unwrap()
            .to_string();
        assert!(text.contains("max_body_bytes"), "{text}");
    }

    #[test]
    fn bad_values_name_key_origin_and_reason() {
        let cases: &[(&str, &str, &str, &str)] = &[
            ("NIGEHBAN_LISTEN", "localhost", "listen", "not an address"),
            (
                "NIGEHBAN_DATABASE",
                "mysql://x/y",
                "database",
                "not a PostgreSQL URL",
            ),
            (
                "NIGEHBAN_MAX_BODY_BYTES",
                "10",
                "max_body_bytes",
                "out of range",
            ),
            (
                "NIGEHBAN_MAX_BODY_BYTES",
                "ten",
                "max_body_bytes",
                "not a whole number",
            ),
            (
                "NIGEHBAN_REQUEST_TIMEOUT_SECONDS",
                "0",
                "request_timeout_seconds",
                "out of range",
            ),
            (
                "NIGEHBAN_SECURE_COOKIES",
                "perhaps",
                "secure_cookies",
                "not true or false",
            ),
            ("NIGEHBAN_LOG", "info,,=[", "log", "not a log filter"),
            (
                "NIGEHBAN_ADMIN_USERNAME",
                "Root User",
                "admin_username",
                "not a username",
            ),
            (
                "NIGEHBAN_NATIONAL_CERT_NAME",
                "  ",
                "national_cert_name",
                "empty",
            ),
        ];
        for (variable, value, key, reason) in cases {
            let env = env_of(&[(variable, value)]);
            let sources = ConfigSources::load(None, &env).unwrap();
            let error = sources.serve(&ServeFlags::default()).unwrap_err();
            let text = error.to_string();
            assert!(text.contains(&format!("`{key}`")), "{variable}: {text}");
            assert!(text.contains(variable), "{variable}: {text}");
            assert!(text.contains(reason), "{variable}: {text}");
        }
    }

    #[test]
    fn telemetry_settings_default_to_the_embedded_bus_and_no_syslog() {
        let env = env_of(&[]);
        let settings = ConfigSources::load(None, &env)
            .unwrap()
            .serve(&ServeFlags::default())
            .unwrap();
        assert_eq!(settings.bus, None);
        assert_eq!(settings.syslog, SyslogSettings::default());
        assert_eq!(settings.event_retention, Duration::from_secs(30 * 86_400));
        assert_eq!(settings.bus_retention, Duration::from_secs(7 * 86_400));
        assert_eq!(settings.ingest_max_body_bytes, 32 * 1024 * 1024);
        assert_eq!(settings.sensor_health_check, Duration::from_secs(15));
        assert_eq!(settings.bus_stream, None);
        assert_eq!(settings.search_consumer, "search");
        assert_eq!(settings.search_max_lag, 2_000_000);
        assert_eq!(settings.storage.data_dir, PathBuf::from("nigehban-data"));
    }

    #[test]
    fn telemetry_settings_follow_flags_environment_and_file() {
        let (dir, path) = with_file(
            "bus = \"nats://127.0.0.1:4222\"\nsyslog_udp = \"127.0.0.1:5514\"\nevent_retention_days = 90\n",
        );
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, "x").unwrap();
        let cert_text = cert.display().to_string();
        let env = env_of(&[
            ("NIGEHBAN_SYSLOG_TCP", "127.0.0.1:5601"),
            ("NIGEHBAN_EVENT_RETENTION_DAYS", "60"),
            ("NIGEHBAN_SEARCH_MAX_LAG_EVENTS", "20000000"),
        ]);
        let sources = ConfigSources::load(Some(&path), &env).unwrap();
        let flags = ServeFlags {
            syslog_udp: Some("off".into()),
            syslog_tls: Some("127.0.0.1:6514".into()),
            syslog_tls_certificate: Some(cert.clone()),
            syslog_tls_key: Some(cert.clone()),
            bus: Some("embedded".into()),
            ..ServeFlags::default()
        };
        let settings = sources.serve(&flags).unwrap();
        assert_eq!(settings.bus, None);
        assert_eq!(settings.syslog.udp, None);
        assert_eq!(settings.syslog.tcp, Some("127.0.0.1:5601".parse().unwrap()));
        let tls = settings.syslog.tls.unwrap();
        assert_eq!(tls.certificate.display().to_string(), cert_text);
        assert_eq!(tls.client_ca, None);
        assert_eq!(settings.event_retention, Duration::from_secs(60 * 86_400));
        assert_eq!(settings.search_max_lag, 20_000_000);
        let settings = sources.serve(&ServeFlags::default()).unwrap();
        assert_eq!(settings.bus.as_deref(), Some("nats://127.0.0.1:4222"));
        assert_eq!(settings.syslog.udp, Some("127.0.0.1:5514".parse().unwrap()));
    }

    #[test]
    fn bad_telemetry_settings_name_their_key() {
        let cases: &[(&str, &str, &str, &str)] = &[
            ("NIGEHBAN_BUS", "kafka://x", "bus", "not a bus"),
            ("NIGEHBAN_BUS_STREAM", "a.b", "bus_stream", "not a name"),
            (
                "NIGEHBAN_SEARCH_CONSUMER",
                "",
                "search_consumer",
                "not a name",
            ),
            ("NIGEHBAN_SYSLOG_UDP", "514", "syslog_udp", "not an address"),
            (
                "NIGEHBAN_SYSLOG_TCP",
                "everywhere",
                "syslog_tcp",
                "not an address",
            ),
            (
                "NIGEHBAN_EVENT_RETENTION_DAYS",
                "0",
                "event_retention_days",
                "out of range",
            ),
            (
                "NIGEHBAN_EVENT_RETENTION_DAYS",
                "month",
                "event_retention_days",
                "not a whole number",
            ),
            (
                "NIGEHBAN_SENSOR_HEALTH_CHECK_SECONDS",
                "600",
                "sensor_health_check_seconds",
                "out of range",
            ),
            (
                "NIGEHBAN_INGEST_MAX_BODY_BYTES",
                "1",
                "ingest_max_body_bytes",
                "out of range",
            ),
            (
                "NIGEHBAN_SEARCH_MAX_LAG_EVENTS",
                "100",
                "search_max_lag_events",
                "out of range",
            ),
            (
                "NIGEHBAN_SYSLOG_TLS_KEY",
                "/k.pem",
                "syslog_tls_key",
                "syslog_tls is off",
            ),
        ];
        for (variable, value, key, reason) in cases {
            let env = env_of(&[(variable, value)]);
            let sources = ConfigSources::load(None, &env).unwrap();
            let text = sources
                .serve(&ServeFlags::default())
                .unwrap_err()
                .to_string();
            assert!(text.contains(&format!("`{key}`")), "{variable}: {text}");
            assert!(text.contains(reason), "{variable}: {text}");
        }
        let env = env_of(&[("NIGEHBAN_SYSLOG_TLS", "127.0.0.1:6514")]);
        let sources = ConfigSources::load(None, &env).unwrap();
        let text = sources
            .serve(&ServeFlags::default())
            .unwrap_err()
            .to_string();
        assert!(text.contains("`syslog_tls_certificate`"), "{text}");
        assert!(text.contains("required"), "{text}");
        let flags = ServeFlags {
            syslog_tls_certificate: Some(PathBuf::from("/nonexistent/cert.pem")),
            syslog_tls_key: Some(PathBuf::from("/nonexistent/key.pem")),
            ..ServeFlags::default()
        };
        let text = sources.serve(&flags).unwrap_err().to_string();
        assert!(text.contains("flag --syslog-tls-certificate"), "{text}");
        assert!(text.contains("not a readable file"), "{text}");
    }

    #[test]
    fn warninglists_load_from_the_directory_the_setting_names_and_a_bad_one_names_its_key() {
        let none = ConfigSources::load(None, &env_of(&[]))
            .unwrap()
            .serve(&ServeFlags::default())
            .unwrap();
        assert_eq!(none.intel_warninglists, None);

        // A MISP checkout: lists/<name>/list.json.
        let lists = tempfile::tempdir().unwrap();
        let list_dir = lists.path().join("lists").join("private-networks");
        std::fs::create_dir_all(&list_dir).unwrap();
        std::fs::write(
            list_dir.join("list.json"),
            r#"{"name":"Private networks","type":"cidr","matching_attributes":["ip-src","ip-dst"],"list":["10.0.0.0/8"]}"#,
        )
        .unwrap();
        let (dir, path) = with_file(&format!(
            "intel_warninglists = {:?}\n",
            lists.path().display().to_string()
        ));
        let settings = ConfigSources::load(Some(&path), &env_of(&[]))
            .unwrap()
            .serve(&ServeFlags::default())
            .unwrap();
        assert_eq!(settings.intel_warninglists.as_deref(), Some(lists.path()));
        let loaded = load_warninglists(lists.path()).unwrap();
        assert_eq!(loaded.len(), 1);
        let value =
            |text: &str| nigehban_app::model::indicator::IndicatorValue::parse("ip", text).unwrap();
        assert_eq!(
            loaded.benign(&value("10.20.30.40")),
            Some("Private networks")
        );
        assert_eq!(loaded.benign(&value("5.188.10.11")), None);

        // The environment wins over the file; a file is not a directory.
        let not_dir = path.display().to_string();
        let error = ConfigSources::load(
            Some(&path),
            &env_of(&[("NIGEHBAN_INTEL_WARNINGLISTS", not_dir.as_str())]),
        )
        .unwrap()
        .serve(&ServeFlags::default())
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("intel_warninglists")
                && error.contains("NIGEHBAN_INTEL_WARNINGLISTS")
                && error.contains("not a directory"),
            "{error}"
        );
        drop(dir);
    }

    #[test]
    fn incident_settings_follow_environment_and_file_and_bad_ones_name_their_key() {
        let defaults = ConfigSources::load(None, &env_of(&[]))
            .unwrap()
            .serve(&ServeFlags::default())
            .unwrap()
            .incidents;
        assert_eq!(defaults.settings, nigehban_app::IncidentSettings::default());
        assert_eq!(defaults.deadline_check, Duration::from_secs(60));

        let (dir, path) = with_file("incident_id_prefix = \"CERTPK\"\nevidence_max_bytes = 2048\n");
        let profiles = dir.path().join("profiles.toml");
        std::fs::write(
            &profiles,
            "[[profile]]\nid = \"sbp\"\nname = \"Banking supervisor\"\nregulator = \"SBP\"\n\
             sectors = [\"banking\"]\n[[profile.stage]]\nid = \"first\"\nname = \"First notice\"\n\
             within = \"2h\"\nwarn_before = \"30m\"\n",
        )
        .unwrap();
        let profiles_text = profiles.display().to_string();
        let env = env_of(&[
            ("NIGEHBAN_REGULATORY_PROFILES", profiles_text.as_str()),
            ("NIGEHBAN_DEADLINE_CHECK_SECONDS", "5"),
        ]);
        let incidents = ConfigSources::load(Some(&path), &env)
            .unwrap()
            .serve(&ServeFlags::default())
            .unwrap()
            .incidents;
        assert_eq!(incidents.settings.id_prefix.as_str(), "CERTPK");
        assert_eq!(incidents.settings.evidence_max_bytes, 2048);
        let ids: Vec<&str> = incidents
            .settings
            .regulatory_profiles
            .profiles()
            .iter()
            .map(|p| p.id.as_str())
            .collect();
        assert_eq!(ids, ["sbp"]);
        assert_eq!(incidents.deadline_check, Duration::from_secs(5));

        let missing = dir.path().join("absent.toml").display().to_string();
        let broken = dir.path().join("broken.toml");
        std::fs::write(&broken, "[[profile]]\nid = \"x\"\n").unwrap();
        let broken = broken.display().to_string();
        for (name, value, key, words) in [
            (
                "NIGEHBAN_INCIDENT_ID_PREFIX",
                "PK-",
                "incident_id_prefix",
                "PK-",
            ),
            (
                "NIGEHBAN_REGULATORY_PROFILES",
                missing.as_str(),
                "regulatory_profiles",
                "cannot read",
            ),
            (
                "NIGEHBAN_REGULATORY_PROFILES",
                broken.as_str(),
                "regulatory_profiles",
                "broken.toml",
            ),
            (
                "NIGEHBAN_EVIDENCE_MAX_BYTES",
                "10",
                "evidence_max_bytes",
                "out of range",
            ),
            (
                "NIGEHBAN_DEADLINE_CHECK_SECONDS",
                "0",
                "deadline_check_seconds",
                "out of range",
            ),
        ] {
            let error = ConfigSources::load(None, &env_of(&[(name, value)]))
                .unwrap()
                .serve(&ServeFlags::default())
                .unwrap_err()
                .to_string();
            assert!(
                error.contains(key) && error.contains(name) && error.contains(words),
                "{name}={value}: {error}"
            );
        }
    }

    #[test]
    fn bad_flag_names_the_flag() {
        let env = env_of(&[]);
        let sources = ConfigSources::load(None, &env).unwrap();
        let flags = ServeFlags {
            listen: Some("8080".into()),
            ..ServeFlags::default()
        };
        let text = sources.serve(&flags).unwrap_err().to_string();
        assert!(text.contains("flag --listen"), "{text}");
    }

    #[test]
    fn data_dir_that_is_a_file_is_refused() {
        let (_dir, path) = with_file("");
        let env = env_of(&[]);
        let sources = ConfigSources::load(None, &env).unwrap();
        let flags = StorageFlags {
            data_dir: Some(path),
            ..StorageFlags::default()
        };
        let text = sources.storage(&flags).unwrap_err().to_string();
        assert!(text.contains("not a directory"), "{text}");
    }

    #[test]
    fn missing_config_file_is_reported() {
        let env = env_of(&[]);
        let error = ConfigSources::load(Some(Path::new("/nonexistent/nigehban.toml")), &env)
            .err()
            .unwrap();
        assert!(error.to_string().contains("/nonexistent/nigehban.toml"));
    }

    #[test]
    fn unknown_variables_are_found_but_test_variables_are_not() {
        let unknown = ConfigSources::unknown_variables(
            [
                "NIGEHBAN_LISTN",
                "NIGEHBAN_LISTEN",
                "NIGEHBAN_TEST_POSTGRES_URL",
                "PATH",
            ]
            .map(String::from),
        );
        assert_eq!(unknown, vec!["NIGEHBAN_LISTN".to_owned()]);
    }

    #[test]
    fn every_key_is_documented_and_accepted_by_the_file() {
        let module_doc = include_str!("config.rs");
        for key in KEYS {
            assert!(
                module_doc.contains(&format!("| `{key}` | `{}` |", env_name(key))),
                "{key}"
            );
        }
    }

    #[test]
    fn connection_limits_and_metrics_access_follow_flags_environment_and_file() {
        let env = env_of(&[]);
        let settings = ConfigSources::load(None, &env)
            .unwrap()
            .serve(&ServeFlags::default())
            .unwrap();
        assert_eq!(
            settings.http_connections,
            nigehban_server::ConnectionLimits::default()
        );
        assert_eq!(settings.scrape_token, None);
        assert_eq!(settings.metrics_listen, None);

        let (dir, path) = with_file(
            "http_header_timeout_seconds = 5\nhttp_max_connections = 100\nmetrics_listen = \"127.0.0.1:9464\"\n",
        );
        let token_file = dir.path().join("scrape-token");
        std::fs::write(&token_file, "0123456789abcdef0123456789abcdef\n").unwrap();
        let env = env_of(&[
            ("NIGEHBAN_HTTP_MAX_CONNECTIONS_PER_CLIENT", "8"),
            ("NIGEHBAN_HTTP_MAX_CONNECTIONS", "200"),
        ]);
        let sources = ConfigSources::load(Some(&path), &env).unwrap();
        let flags = ServeFlags {
            http_max_requests_per_connection: Some("10".into()),
            metrics_token_file: Some(token_file.clone()),
            ..ServeFlags::default()
        };
        let settings = sources.serve(&flags).unwrap();
        assert_eq!(
            settings.http_connections,
            nigehban_server::ConnectionLimits {
                header_timeout: Duration::from_secs(5),
                max_connections: 200,
                max_connections_per_client: 8,
                max_requests_per_connection: 10,
            }
        );
        let token = settings.scrape_token.unwrap();
        assert!(token.matches("0123456789abcdef0123456789abcdef"));
        assert_eq!(
            settings.metrics_listen,
            Some("127.0.0.1:9464".parse().unwrap())
        );
    }

    #[test]
    fn bad_connection_and_metrics_settings_name_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("short-token");
        std::fs::write(&short, "secret\n").unwrap();
        let short = short.display().to_string();
        let cases: &[(&str, &str, &str, &str)] = &[
            (
                "NIGEHBAN_HTTP_HEADER_TIMEOUT_SECONDS",
                "0",
                "http_header_timeout_seconds",
                "out of range",
            ),
            (
                "NIGEHBAN_HTTP_MAX_CONNECTIONS",
                "many",
                "http_max_connections",
                "not a whole number",
            ),
            (
                "NIGEHBAN_HTTP_MAX_CONNECTIONS_PER_CLIENT",
                "0",
                "http_max_connections_per_client",
                "out of range",
            ),
            (
                "NIGEHBAN_METRICS_LISTEN",
                "9464",
                "metrics_listen",
                "not an address",
            ),
            (
                "NIGEHBAN_METRICS_TOKEN_FILE",
                "/nonexistent/token",
                "metrics_token_file",
                "cannot read /nonexistent/token",
            ),
            (
                "NIGEHBAN_METRICS_TOKEN_FILE",
                short.as_str(),
                "metrics_token_file",
                "must be 16 to 1024",
            ),
        ];
        for (variable, value, key, reason) in cases {
            let env = env_of(&[(variable, value)]);
            let sources = ConfigSources::load(None, &env).unwrap();
            let text = sources
                .serve(&ServeFlags::default())
                .unwrap_err()
                .to_string();
            assert!(text.contains(&format!("`{key}`")), "{variable}: {text}");
            assert!(text.contains(variable), "{variable}: {text}");
            assert!(text.contains(reason), "{variable}: {text}");
        }
    }

    #[test]
    fn passwords_in_urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:p@h:5432/d"),
            "postgres://u:***@h:5432/d"
        );
        assert_eq!(redact_url("postgres://u@h/d"), "postgres://u@h/d");
    }
}
