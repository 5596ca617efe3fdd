//! The `nigehban` command: the server, its storage tools, intelligence exchange and (in the field) hunting.
//!
//! One module per subcommand; `main` only parses the command line and
//! dispatches. A subcommand returns its exit code, or an error that is printed
//! with its context and ends the process with status 2.

mod admin;
mod audit;
mod backup;
mod config;
mod data_dir;
mod hunt;
mod ingest;
mod intel;
mod logging;
mod migrate;
mod oncall;
mod rules;
mod serve;
mod storage;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The allocator: a node's threads allocate and free per event (intake,
/// normalising, detection, indexing); under load glibc's allocator took a
/// quarter of the server's CPU (BENCHMARKS.md, live detection).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Nigehban: the national CERT platform.
#[derive(Debug, Parser)]
#[command(name = "nigehban", version, about, long_about = None)]
struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (API, metrics) on the embedded store or PostgreSQL.
    Serve(Box<serve::ServeArgs>),
    /// Apply pending storage migrations, then exit.
    Migrate(migrate::MigrateArgs),
    /// Administer accounts from the command line.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Work with the tamper-evident audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Back up the store and the events into one file, even while the server runs.
    Backup(backup::BackupArgs),
    /// Bring a backup back into a data directory no server is running on.
    Restore(backup::RestoreArgs),
    /// Send collected log files (EVTX, JSON lines, Suricata, Zeek, CEF) to a server, resumably.
    Ingest(ingest::IngestArgs),
    /// Run Sigma rules over collected log files (EVTX, JSON), no server needed.
    Hunt(hunt::HuntArgs),
    /// Work with Sigma rules.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// The duty roster: who is on call, holiday imports, coverage gaps.
    #[command(subcommand)]
    Oncall(oncall::OncallCommand),
    /// Threat intelligence as files: STIX 2.1 and MISP in, STIX, MISP feeds and CSV out, no server needed.
    #[command(subcommand)]
    Intel(intel::IntelCommand),
}

/// A multi-threaded async runtime for the subcommands that need one.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("nigehban")
        .build()?)
}

fn main() -> ExitCode {
    // Files nigehban makes hold password hashes, keys and events: private to its user.
    data_dir::restrict_new_files();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::Migrate(args) => migrate::run(args),
        Command::Admin(command) => admin::run(command),
        Command::Audit(command) => audit::run(command),
        Command::Backup(args) => backup::run_backup(args),
        Command::Restore(args) => backup::run_restore(args),
        Command::Ingest(args) => ingest::run(args),
        Command::Hunt(args) => hunt::run(args),
        Command::Rules(command) => rules::run(command),
        Command::Oncall(command) => oncall::run(command),
        Command::Intel(command) => intel::run(command),
    };
    outcome.unwrap_or_else(|error| {
        eprintln!("nigehban: error: {error:#}");
        ExitCode::from(2)
    })
}
