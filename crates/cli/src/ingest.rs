//! `nigehban ingest --server URL --token T FILE...`: sends collected log files
//! (EVTX, JSON lines, Suricata EVE, Zeek, CEF/syslog) to a server's HTTP intake,
//! with a progress bar on a terminal, resumable after a failure.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use nigehban_ingest::{ClientOptions, ClientProgress, ClientSummary, run_ingest_client};

/// Arguments of `nigehban ingest`.
#[derive(Debug, Args)]
#[command(
    after_help = "The format of each file is recognised from its content (gzip seen \
through): EVTX, JSON documents, JSON lines (Suricata EVE, Zeek JSON, Windows events, ECS), Zeek \
TSV logs, and text lines (CEF, syslog). Every event is stamped by the server with the sensor the \
token belongs to.

What the server acknowledged is written to the journal after every request; running the same \
command again skips it, so a run cut short (network, server restart, Ctrl-C) resumes where it \
stopped. Each request carries an idempotency key, so one resent after a lost answer is not \
stored twice.

Exit status: 0 when every record was accepted, 1 when the server refused some lines (they are \
listed with their line numbers; the others were kept), 2 on an error (nothing after the last \
acknowledged request was sent; run again to resume)."
)]
pub struct IngestArgs {
    /// The server's base URL, e.g. https://nsoc.example.org.
    #[arg(long, value_name = "URL")]
    pub server: String,
    /// The sensor's ingest token (`ngs_...`); also NIGEHBAN_INGEST_TOKEN, which keeps it
    /// out of the process list.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Declare every file's format instead of recognising it: syslog, cef, json, suricata,
    /// zeek, windows, text.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// The resume journal [default: .nigehban-ingest.journal in the current directory].
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Send everything again, ignoring what the journal says was sent.
    #[arg(long)]
    pub no_resume: bool,
    /// CA certificates (PEM) to trust for an https:// server [default: the WebPKI roots].
    #[arg(long, value_name = "FILE")]
    pub ca_certificates: Option<PathBuf>,
    /// Most records in one request [default: 2000].
    #[arg(long, value_name = "N")]
    pub batch_events: Option<usize>,
    /// Never show a progress bar (the summary is printed either way).
    #[arg(long)]
    pub quiet: bool,
    /// The files to send, in order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Sends the files; see [`IngestArgs`].
pub fn run(args: IngestArgs) -> anyhow::Result<ExitCode> {
    crate::logging::init("warn");
    let token = match args.token.clone() {
        Some(token) => token,
        None => crate::config::process_env("NIGEHBAN_INGEST_TOKEN").context(
            "no ingest token: pass --token or set NIGEHBAN_INGEST_TOKEN to the sensor's token",
        )?,
    };
    // A file that is not there is a typo to fix before anything is sent.
    for file in &args.files {
        std::fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?;
    }
    let mut options = ClientOptions::new(args.server.clone(), token, args.files.clone());
    if let Some(journal) = &args.journal {
        options.journal = journal.clone();
    }
    options.resume = !args.no_resume;
    options.ca_certificates = args.ca_certificates.clone();
    if let Some(events) = args.batch_events {
        anyhow::ensure!(
            (1..=100_000).contains(&events),
            "--batch-events {events}: must be between 1 and 100000"
        );
        options.max_request_events = events;
    }
    if let Some(name) = &args.format {
        let format = nigehban_ingest::parse_format(name).with_context(|| {
            format!(
                "--format {name:?}: use syslog, cef, json, suricata, zeek, windows, text or auto"
            )
        })?;
        options.format = Some(format);
    }
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(progress_bar);
    let mut report = |progress: &ClientProgress<'_>| {
        if let Some(bar) = &bar {
            bar.set_length(progress.bytes_total.max(1));
            bar.set_position(progress.bytes_done.min(progress.bytes_total));
            let mut message = format!(
                "{} ({}/{}) · {} sent · {} refused",
                progress.file.display(),
                progress.file_index + 1,
                progress.files,
                progress.events_sent,
                progress.events_rejected
            );
            if let Some(why) = &progress.retrying {
                message.push_str(" · retrying: ");
                message.push_str(why);
            }
            bar.set_message(message);
        }
    };
    let outcome = run_ingest_client(&options, &mut report);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    match outcome {
        Ok(summary) => {
            print_summary(&summary);
            Ok(
                if summary.events_rejected > 0
                    || summary.files.iter().any(|f| f.read_error_count > 0)
                {
                    ExitCode::from(1)
                } else {
                    ExitCode::SUCCESS
                },
            )
        }
        Err(error) => Err(error).context(format!(
            "sending to {} stopped (what was acknowledged is in the journal {})",
            args.server,
            options.journal.display()
        )),
    }
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(1);
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta}) {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Prints what happened to each file and in total.
fn print_summary(summary: &ClientSummary) {
    for file in &summary.files {
        if file.already_sent {
            println!(
                "{}: already sent by an earlier run; skipped",
                file.path.display()
            );
            continue;
        }
        let mut line = format!(
            "{}: read as {}; {} events sent",
            file.path.display(),
            file.read_as,
            file.events_sent
        );
        if file.events_resumed > 0 {
            line.push_str(&format!(
                ", {} skipped as sent by an earlier run",
                file.events_resumed
            ));
        }
        if file.events_rejected > 0 {
            line.push_str(&format!(", {} refused", file.events_rejected));
        }
        if file.read_error_count > 0 {
            line.push_str(&format!(", {} unreadable", file.read_error_count));
        }
        println!("{line}");
        for rejected in &file.rejected {
            println!("  refused: {rejected}");
        }
        if file.events_rejected > file.rejected.len() as u64 {
            println!(
                "  ... and {} more refused",
                file.events_rejected - file.rejected.len() as u64
            );
        }
        for error in &file.read_errors {
            println!("  unreadable: {error}");
        }
        if file.read_error_count > file.read_errors.len() as u64 {
            println!(
                "  ... and {} more unreadable",
                file.read_error_count - file.read_errors.len() as u64
            );
        }
    }
    println!(
        "nigehban: {} events sent, {} refused, in {} requests ({} bytes)",
        summary.events_sent, summary.events_rejected, summary.requests, summary.bytes_sent
    );
}
