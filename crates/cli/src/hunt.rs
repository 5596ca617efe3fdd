//! `nigehban hunt`: run Sigma rules over collected log files, no server needed.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nigehban_detect::{DetectionRules, SigmaView, load_rules};
use nigehban_hunt::{
    Detection, DetectionWriter, DisplayZone, Format, HuntOptions, HuntReport, HuntSummary,
    HuntTotals, TableStyle, hunt_explained,
};
use nigehban_sigma::{CompileOptions, DiagnosticKind, Level, LogsourceMapping, Placeholders};

/// Arguments of `nigehban hunt`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  nigehban hunt --rules sigma/rules/windows collected/\n  nigehban hunt --rules sigma_all_rules.zip --summary collected/\n  nigehban hunt --rules sigma_all_rules.zip --min-level high --format jsonl --output hits.jsonl Security.evtx\n  nigehban hunt --rules rules/ --from 2024-03-01 --to 2024-03-02T06:00:00Z --timezone +05:00 logs/\n\nExit status: 0 when the hunt ran and read all its input (whether or not rules matched); 3 when it ran but some input could not be read (each such place is named on standard error; detections are of the rest); 2 when it could not run."
)]
pub struct HuntArgs {
    /// Sigma rules: a rule file, a directory of them, or an archive (.zip, .tar.gz); repeatable.
    #[arg(long = "rules", short = 'r', value_name = "PATH", required = true)]
    rules: Vec<PathBuf>,
    /// Leave out rules below this level (informational, low, medium, high, critical).
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    min_level: Option<Level>,
    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = parse_format)]
    format: Format,
    /// Write detections to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// An extra logsource mapping table (YAML) on top of the built-in one.
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    /// No progress bar and no totals.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Print an overview instead of each detection: detections per rule (with level and
    /// ATT&CK technique ids) and per computer, with the first and last time seen. With
    /// --output, the detections still go to the file.
    #[arg(long)]
    summary: bool,
    /// Only events from this time on (RFC 3339, or a date: its midnight UTC).
    #[arg(long, value_name = "TIME", value_parser = parse_time_ms)]
    from: Option<i64>,
    /// Only events before this time (RFC 3339, or a date: its midnight UTC).
    #[arg(long, value_name = "TIME", value_parser = parse_time_ms)]
    to: Option<i64>,
    /// Show times in the table and summary in this zone: UTC (default), local, or an offset
    /// such as +05:00. JSON lines and CSV are always UTC.
    #[arg(long, value_name = "ZONE", default_value = "UTC", value_parser = parse_zone)]
    timezone: DisplayZone,
    /// Lay the table out for a terminal this many characters wide (default: the terminal's
    /// width; to a pipe or a file, every value whole on one line).
    #[arg(long, value_name = "COLUMNS")]
    width: Option<usize>,
    /// Log files to hunt: EVTX, JSON lines, JSON documents, gzip of those, or directories of them.
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
}

pub(crate) fn parse_level(text: &str) -> Result<Level, String> {
    Level::parse(&text.to_ascii_lowercase()).ok_or_else(|| {
        format!("unknown level '{text}' (expected informational, low, medium, high or critical)")
    })
}

fn parse_format(text: &str) -> Result<Format, String> {
    text.parse()
}

fn parse_zone(text: &str) -> Result<DisplayZone, String> {
    text.parse()
}

/// A time given on the command line, in milliseconds since the Unix epoch.
fn parse_time_ms(text: &str) -> Result<i64, String> {
    use chrono::{DateTime, NaiveDate};
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.timestamp_millis());
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        && let Some(midnight) = date.and_hms_opt(0, 0, 0)
    {
        return Ok(midnight.and_utc().timestamp_millis());
    }
    Err(format!(
        "'{text}' is not a time: give RFC 3339 (2024-03-15T10:22:14Z) or a date (2024-03-15)"
    ))
}

/// The width of the terminal standard output is, when it is one.
fn terminal_width() -> Option<usize> {
    let stdout = io::stdout();
    if !stdout.is_terminal() {
        return None;
    }
    rustix::termios::tcgetwinsize(&stdout)
        .ok()
        .map(|size| usize::from(size.ws_col))
        .filter(|&cols| cols > 0)
}

/// The built-in logsource mapping, extended by `extra` when given.
pub(crate) fn logsource_mapping(extra: Option<&Path>) -> anyhow::Result<LogsourceMapping> {
    let mut mapping = LogsourceMapping::builtin();
    if let Some(path) = extra {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read logsource mapping {}", path.display()))?;
        let (extra, problems) = LogsourceMapping::from_yaml(&text, &path.display().to_string());
        if let Some(problem) = problems.iter().find(|p| p.is_error()) {
            bail!("bad logsource mapping: {problem}");
        }
        mapping.extend(extra);
    }
    Ok(mapping)
}

/// Runs `nigehban hunt`.
pub fn run(args: HuntArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    if let (Some(from), Some(to)) = (args.from, args.to)
        && from >= to
    {
        bail!("--from must be before --to: nothing lies between them");
    }
    for path in &args.paths {
        if !path.exists() {
            bail!("no such file or directory: {}", path.display());
        }
    }

    let rule_set = load_rules(&args.rules, Placeholders::default())?;
    let mapping = logsource_mapping(args.mapping.as_deref())?;
    let options = CompileOptions {
        min_level: args.min_level,
    };
    let (rules, compile_problems) = DetectionRules::compile(&rule_set, &mapping, &options);
    let problems: Vec<_> = rule_set
        .diagnostics()
        .iter()
        .chain(&compile_problems)
        .filter(|d| d.kind != DiagnosticKind::Warning)
        .collect();
    if !args.quiet && !problems.is_empty() {
        eprintln!(
            "nigehban: {} rule problem(s); the other rules are used (details: nigehban rules check {})",
            problems.len(),
            args.rules
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        );
        for problem in problems.iter().take(5) {
            eprintln!("  {problem}");
        }
    }
    if rules.is_empty() && rules.correlations().is_empty() {
        bail!(
            "no usable rules in {}",
            args.rules
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let start_up = started.elapsed();

    // With --summary and no --output, detections are only counted.
    let to_stdout = args.output.is_none();
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None if args.summary => Box::new(io::sink()),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let table = TableStyle {
        width: args
            .width
            .or_else(|| if to_stdout { terminal_width() } else { None }),
        zone: args.timezone,
    };
    let progress = if args.quiet || !io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    };
    let mut report = Report {
        writer: DetectionWriter::new(args.format, out).with_table_style(table),
        summary: args.summary.then(HuntSummary::new),
        write_error: None,
        progress,
        events: 0,
        hunt_started: Instant::now(),
    };

    let correlations = rules.correlations();
    let correlation_count = correlations.len();
    let mut hunt_options = HuntOptions {
        // The summary needs each detection as a value; otherwise workers render.
        render: (!args.summary).then_some(args.format),
        correlations: (!correlations.is_empty()).then(|| std::sync::Arc::new(correlations.clone())),
        table,
        from_ms: args.from,
        to_ms: args.to,
        ..HuntOptions::default()
    };
    if let Some(threads) = args.threads {
        hunt_options.threads = threads.max(1);
        hunt_options.units_in_flight = hunt_options.threads * 4;
    }
    let compiled = rules.compiled();
    let explain = |index: usize, event: &SigmaView<'_>| compiled.matched_fields(index, event);
    let totals = hunt_explained(
        &args.paths,
        rules.summaries(),
        &hunt_options,
        || {
            let mut scratch = compiled.scratch();
            move |event: &SigmaView<'_>, out: &mut Vec<usize>| {
                compiled.matches(event, &mut scratch, out);
            }
        },
        &explain,
        &mut report,
    );
    report.progress.finish_and_clear();
    if report.write_error.is_none()
        && let Err(error) = report.writer.flush()
    {
        report.write_error = Some(error);
    }
    if let Some(summary) = &report.summary {
        let mut stdout = io::stdout().lock();
        if let Err(error) = summary
            .write(&mut stdout, args.timezone)
            .and_then(|()| stdout.flush())
            && error.kind() != io::ErrorKind::BrokenPipe
        {
            return Err(error).context("cannot write the summary");
        }
    }
    if !args.quiet {
        print_summary(&totals, compiled.len(), correlation_count, start_up);
    }
    // Scripts must tell a clean hunt from one that missed some input.
    let status = if totals.errors > 0 {
        ExitCode::from(UNREADABLE_INPUT)
    } else {
        ExitCode::SUCCESS
    };
    match report.write_error {
        // `nigehban hunt | head` closes the pipe early: not a failure.
        Some(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(status),
        Some(error) => Err(error).context("cannot write detections"),
        None => Ok(status),
    }
}

/// The exit status of a hunt that ran but could not read some of its input.
pub const UNREADABLE_INPUT: u8 = 3;

/// Writes detections as they come and keeps the progress bar current.
struct Report<W: Write> {
    writer: DetectionWriter<W>,
    /// Detections counted for `--summary`.
    summary: Option<HuntSummary>,
    write_error: Option<io::Error>,
    progress: ProgressBar,
    events: u64,
    hunt_started: Instant,
}

impl<W: Write> HuntReport for Report<W> {
    fn file_found(&mut self, _path: &Path, bytes: u64) {
        self.progress.inc_length(bytes);
    }

    fn detection(&mut self, detection: Detection) {
        if let Some(summary) = &mut self.summary {
            summary.add(&detection);
        }
        if self.write_error.is_some() {
            return;
        }
        if let Err(error) = self.writer.write(&detection) {
            self.write_error = Some(error);
        }
    }

    fn rendered(&mut self, rendered: &[u8]) {
        if self.write_error.is_some() {
            return;
        }
        if let Err(error) = self.writer.write_rendered(rendered) {
            self.write_error = Some(error);
        }
    }

    fn error(&mut self, error: nigehban_logfiles::Error) {
        self.progress.suspend(|| eprintln!("nigehban: {error}"));
    }

    fn progress(&mut self, bytes: u64, events: u64) {
        self.events += events;
        self.progress.inc(bytes);
        let seconds = self.hunt_started.elapsed().as_secs_f64().max(0.001);
        self.progress.set_message(format!(
            "{} events, {:.0} events/s",
            self.events,
            self.events as f64 / seconds
        ));
    }
}

fn print_summary(
    totals: &HuntTotals,
    rules: usize,
    correlations: usize,
    start_up: std::time::Duration,
) {
    let by_level = if totals.detections_by_level.is_empty() {
        "none".to_owned()
    } else {
        ["critical", "high", "medium", "low", "informational"]
            .iter()
            .filter_map(|level| {
                totals
                    .detections_by_level
                    .get(*level)
                    .map(|n| format!("{level} {n}"))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let seconds = totals.elapsed.as_secs_f64();
    eprintln!(
        "hunted {} file(s){}, {} events ({:.1} MB) with {rules} rules in {seconds:.2} s \
         ({:.0} events/s, {:.1} MB/s; rules loaded in {:.2} s){}\n\
         detections: {} ({by_level}); read errors: {}{}",
        totals.files,
        if totals.skipped_files > 0 {
            format!(
                " ({} other file(s) left out: not logs)",
                totals.skipped_files
            )
        } else {
            String::new()
        },
        totals.events,
        totals.bytes as f64 / 1e6,
        totals.events_per_second(),
        if seconds > 0.0 {
            totals.bytes as f64 / 1e6 / seconds
        } else {
            0.0
        },
        start_up.as_secs_f64(),
        if correlations > 0 {
            format!(
                "; {correlations} correlation rule(s){}",
                if totals.untimed_observations > 0 {
                    format!(
                        ", {} matching event(s) without a readable time left out of correlation",
                        totals.untimed_observations
                    )
                } else {
                    String::new()
                }
            )
        } else {
            String::new()
        },
        totals.detections(),
        totals.errors,
        if totals.outside_window > 0 {
            format!(
                "; {} event(s) outside --from/--to (or without a readable time) left out",
                totals.outside_window
            )
        } else {
            String::new()
        },
    );
}
