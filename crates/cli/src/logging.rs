//! Logging: tracing to standard error, filtered by the `log` setting (`NIGEHBAN_LOG`).

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// Starts logging to standard error with `filter` (already validated by the configuration).
///
/// Standard output is kept for what a command reports to the person running
/// it (the one-time password, the backup written, the audit verdict).
pub fn init(filter: &str) {
    let filter = EnvFilter::builder()
        .parse(filter)
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(true)
        .try_init();
}

/// Warns about `NIGEHBAN_*` environment variables that are not settings (likely typos).
pub fn warn_unknown_variables() {
    let names = std::env::vars_os().filter_map(|(name, _)| name.into_string().ok());
    for name in crate::config::ConfigSources::unknown_variables(names) {
        tracing::warn!(variable = %name, "ignoring unknown environment variable; see `nigehban serve --help` for the settings");
    }
}
