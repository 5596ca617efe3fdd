//! The client of `nigehban ingest --server URL --token T FILE...`: sends
//! collected log files to a server's HTTP intake, resumably.
//!
//! # What it reads
//!
//! Each file's format is recognised from its content (gzip seen through):
//! - EVTX and JSON documents (pretty-printed objects, arrays) are read with
//!   `nigehban-logfiles` and each record sent as one JSON line (EVTX as
//!   `format=windows`);
//! - JSON lines (Suricata EVE, Zeek JSON, ECS, NXLog, ...) are sent line by
//!   line as they are, broken lines too: the server refuses those with
//!   their line numbers (exactly as for NDJSON posted by hand), never
//!   reading them as text;
//! - Zeek TSV logs (`#separator` header) are converted to Zeek JSON;
//! - any other text (CEF, syslog) is sent line by line as JSON strings,
//!   which the server normalises like syslog messages.
//!
//! # How it sends
//!
//! Records are sent in order, in NDJSON requests of at most
//! [`ClientOptions::max_request_events`] records and about
//! [`ClientOptions::max_request_bytes`] bytes, gzip-compressed, with the
//! sensor token as `Authorization: Bearer`. A request the server refuses as
//! too large (413) is split in two and each half sent; a request that fails
//! for a reason that may pass (no connection, 408, 429, 5xx) is retried with
//! exponential backoff (honouring `Retry-After`) up to
//! [`ClientOptions::max_attempts`] times; other refusals (401, 403, 400)
//! stop the run.
//!
//! # Resuming
//!
//! After every acknowledged request the journal
//! ([`ClientOptions::journal`], format in `journal.rs`) records how far that
//! file was acknowledged, for the server and the sensor (a hash of its
//! token): a byte offset for line-based files, a record count
//! for EVTX and JSON documents. Running the same command again skips what
//! was acknowledged and files sent completely; the same file sent with
//! another sensor's token is sent in full. The one window in which an
//! event can be sent twice is between the server's answer and the journal's
//! `fdatasync` (the client crashing right then), or an answer lost on the
//! way: every request carries an `Idempotency-Key` made from the file's
//! identity and the range of records it holds, so the resent events get the
//! same ids on the server and search keeps one copy of each.
//!
//! # Server contract
//!
//! `POST {server}/api/v1/ingest?format=<name>&log=<file name>` with
//! `Content-Type: application/x-ndjson`, `Content-Encoding: gzip`,
//! `Idempotency-Key: <hex>`; `202`
//! with an [`crate::IngestOutcome`] JSON body; `413` for a request over a
//! limit; `429`/`503` with `Retry-After` when busy.

mod journal;
mod zeek_tsv;

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use flate2::read::MultiGzDecoder;
use nigehban_logfiles::{Format as FileFormat, LogFile, Position};
use nigehban_normalise::Format;

use crate::ndjson::IngestOutcome;
use crate::sensor::format_name;

use journal::{Destination, FileIdentity, Journal, ProgressKind, Resume};
use zeek_tsv::{ZeekTsv, is_zeek_tsv};

/// Most rejected lines and read errors kept per file in the summary (the
/// rest are counted).
pub const MAX_REPORTED_PER_FILE: usize = 100;

/// What to send, where, and how.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The server's base URL (`https://nsoc.example.org`); requests go to
    /// `{server}/api/v1/ingest`.
    pub server: String,
    /// The sensor's ingest token.
    pub token: String,
    /// The files to send, in order.
    pub files: Vec<PathBuf>,
    /// The resume journal (default `.nigehban-ingest.journal` in the current
    /// directory).
    pub journal: PathBuf,
    /// Whether to skip what the journal says was acknowledged (default true).
    pub resume: bool,
    /// The format to declare for every file (default: recognised per file).
    pub format: Option<Format>,
    /// Most records in one request.
    pub max_request_events: usize,
    /// Uncompressed size at which a request is sent, in bytes (a single
    /// record larger than this is sent alone).
    pub max_request_bytes: usize,
    /// Longest line read from a text file; longer lines are reported and
    /// skipped.
    pub max_line_bytes: usize,
    /// Whether to gzip requests.
    pub gzip: bool,
    /// Most attempts per request before giving up (the run can be resumed).
    pub max_attempts: u32,
    /// Wait before the first retry; doubled each time up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Longest wait between retries.
    pub max_backoff: Duration,
    /// Time allowed for one request, answer included.
    pub timeout: Duration,
    /// A PEM file of CA certificates to trust for an `https://` server
    /// (default: the WebPKI roots).
    pub ca_certificates: Option<PathBuf>,
}

impl ClientOptions {
    /// Options with the defaults for everything but the server, token and files.
    pub fn new(server: impl Into<String>, token: impl Into<String>, files: Vec<PathBuf>) -> Self {
        ClientOptions {
            server: server.into(),
            token: token.into(),
            files,
            journal: PathBuf::from(".nigehban-ingest.journal"),
            resume: true,
            format: None,
            max_request_events: 2_000,
            max_request_bytes: 4 * 1024 * 1024,
            max_line_bytes: 1024 * 1024,
            gzip: true,
            max_attempts: 8,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            timeout: Duration::from_secs(120),
            ca_certificates: None,
        }
    }
}

/// Where a run stands, passed to the progress callback after every request
/// and at the start and end of every file.
#[derive(Debug, Clone)]
pub struct ClientProgress<'a> {
    /// The file being sent.
    pub file: &'a Path,
    /// Its number among the files, from 0.
    pub file_index: usize,
    /// How many files there are.
    pub files: usize,
    /// Bytes of all files read so far (files skipped as sent count whole).
    pub bytes_done: u64,
    /// Bytes of all files together.
    pub bytes_total: u64,
    /// Events the server accepted so far, all files.
    pub events_sent: u64,
    /// Events the server refused so far, all files.
    pub events_rejected: u64,
    /// Events skipped because an earlier run had sent them.
    pub events_resumed: u64,
    /// Set while waiting to retry: why, and for how long.
    pub retrying: Option<String>,
}

/// What happened to one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSummary {
    /// The file.
    pub path: PathBuf,
    /// What it was read as (`EVTX`, `JSON lines`, `Zeek TSV`, `text lines`, ...).
    pub read_as: String,
    /// Events the server accepted in this run.
    pub events_sent: u64,
    /// Events the server refused (see `rejected`).
    pub events_rejected: u64,
    /// Records or bytes skipped because an earlier run had them acknowledged
    /// (records for EVTX and JSON documents, lines for text files).
    pub events_resumed: u64,
    /// Whether the whole file had been sent by an earlier run.
    pub already_sent: bool,
    /// The first refused events: where in the file, and why.
    pub rejected: Vec<String>,
    /// Problems reading the file (unreadable records, over-long lines); the
    /// records around them were sent.
    pub read_errors: Vec<String>,
    /// How many read errors there were in all.
    pub read_error_count: u64,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientSummary {
    /// Per file, in order.
    pub files: Vec<FileSummary>,
    /// Events accepted by the server in this run.
    pub events_sent: u64,
    /// Events the server refused in this run.
    pub events_rejected: u64,
    /// Requests answered by the server.
    pub requests: u64,
    /// Bytes sent on the wire (request bodies, compressed).
    pub bytes_sent: u64,
}

/// Why a run stopped. What was acknowledged before is in the journal, so
/// running the same command again continues where this one stopped.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The options are unusable.
    #[error("invalid options: {0}")]
    Options(String),
    /// The server refused the token.
    #[error("the server refused the ingest token ({status}): {message}")]
    Unauthorized {
        /// The HTTP status.
        status: u16,
        /// What the server said.
        message: String,
    },
    /// The server refused a request for a reason retrying cannot fix.
    #[error("the server refused the request ({status}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// What the server said.
        message: String,
    },
    /// Every attempt at a request failed.
    #[error(
        "gave up after {attempts} attempts: {last_error}; run the same command again to resume"
    )]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last_error: String,
    },
    /// The server could not be reached at all before anything was sent.
    #[error(
        "cannot connect to {server}: {reason}; check that the server is running, that the address and port are right and that no firewall is in between, then run the same command again"
    )]
    Unreachable {
        /// The server's URL.
        server: String,
        /// What the connection attempt said.
        reason: String,
    },
    /// The journal could not be read or written.
    #[error("resume journal {path}: {source}")]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

/// Sends the files of `options` to the server; `progress` is called after
/// every request and at the start and end of every file.
///
/// Files that cannot be read are reported in their [`FileSummary`] and the
/// run goes on; the run stops with an error only when the server refuses
/// the token or a request, when it cannot be reached within the retries, or
/// when the journal cannot be written.
pub fn run_ingest_client(
    options: &ClientOptions,
    progress: &mut dyn FnMut(&ClientProgress<'_>),
) -> Result<ClientSummary, ClientError> {
    let server = options.server.trim().trim_end_matches('/').to_owned();
    if !(server.starts_with("http://") || server.starts_with("https://")) {
        return Err(ClientError::Options(format!(
            "--server {:?} has no http:// or https:// in front: use --server http://{}",
            options.server,
            server.split("://").last().unwrap_or(&server)
        )));
    }
    if options.token.trim().is_empty() {
        return Err(ClientError::Options("the ingest token is empty".to_owned()));
    }
    let agent = build_agent(options)?;
    let journal = Journal::open(&options.journal).map_err(|source| ClientError::Journal {
        path: options.journal.clone(),
        source,
    })?;
    let bytes_total = options
        .files
        .iter()
        .map(|path| std::fs::metadata(path).map_or(0, |m| m.len()))
        .sum();
    let mut run = Run {
        options,
        endpoint: format!("{server}/api/v1/ingest"),
        destination: Destination::new(&server, &options.token),
        agent,
        journal,
        summary: ClientSummary::default(),
        bytes_total,
        bytes_before: 0,
        events_resumed: 0,
        max_events: options.max_request_events.max(1),
    };
    for (index, path) in options.files.iter().enumerate() {
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        let mut file = FileRun {
            path,
            index,
            summary: FileSummary {
                path: path.clone(),
                ..FileSummary::default()
            },
            bytes_read: 0,
            size,
        };
        run.report(&file, None, progress);
        let result = run.send_file(&mut file, progress);
        run.bytes_before += size;
        file.bytes_read = 0;
        run.summary.files.push(file.summary.clone());
        run.report(&file, None, progress);
        result?;
    }
    Ok(run.summary)
}

fn build_agent(options: &ClientOptions) -> Result<ureq::Agent, ClientError> {
    let mut tls = ureq::tls::TlsConfig::builder().provider(ureq::tls::TlsProvider::Rustls);
    if let Some(path) = &options.ca_certificates {
        let certificates = crate::tls::read_certificates(path)
            .map_err(|error| ClientError::Options(error.to_string()))?;
        let roots: Vec<ureq::tls::Certificate<'static>> = certificates
            .iter()
            .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
            .collect();
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&roots));
    }
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(options.timeout))
        .tls_config(tls.build())
        .build();
    Ok(config.into())
}

/// The idempotency key of the request holding the records of a file whose
/// resume points run from `first` to `last`: hex SHA-256 of the file's
/// identity and that range.
fn idempotency_key(identity: &FileIdentity, kind: ProgressKind, first: u64, last: u64) -> String {
    let text = format!(
        "{}\x1f{}\x1f{}\x1f{}\x1f{kind:?}\x1f{first}\x1f{last}",
        identity.path, identity.size, identity.head_len, identity.head_sha256
    );
    crate::sensor::hex(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref())
}

/// One run's state.
struct Run<'a> {
    options: &'a ClientOptions,
    /// The server and sensor the journal records progress for.
    destination: Destination,
    endpoint: String,
    agent: ureq::Agent,
    journal: Journal,
    summary: ClientSummary,
    bytes_total: u64,
    /// Bytes of the files before the current one.
    bytes_before: u64,
    events_resumed: u64,
    /// Records per request now (halved when the server answers 413).
    max_events: usize,
}

/// The file being sent.
struct FileRun<'a> {
    path: &'a Path,
    index: usize,
    summary: FileSummary,
    /// Bytes of it read so far (for progress).
    bytes_read: u64,
    size: u64,
}

impl FileRun<'_> {
    fn read_error(&mut self, message: String) {
        self.summary.read_error_count += 1;
        if self.summary.read_errors.len() < MAX_REPORTED_PER_FILE {
            self.summary.read_errors.push(message);
        }
    }
}

/// The records of one request being built, with where each came from.
#[derive(Debug, Default)]
struct Batch {
    body: Vec<u8>,
    /// Where each line starts in `body`.
    starts: Vec<usize>,
    /// Each line's place in the file (line number or record number).
    places: Vec<u64>,
    /// The journal position once each line is acknowledged.
    resume_points: Vec<u64>,
}

impl Batch {
    fn push(&mut self, line: &[u8], place: u64, resume_point: u64) {
        self.starts.push(self.body.len());
        self.body.extend_from_slice(line);
        self.body.push(b'\n');
        self.places.push(place);
        self.resume_points.push(resume_point);
    }

    fn len(&self) -> usize {
        self.starts.len()
    }

    fn clear(&mut self) {
        self.body.clear();
        self.starts.clear();
        self.places.clear();
        self.resume_points.clear();
    }

    /// The body of lines `from..to`.
    fn slice(&self, from: usize, to: usize) -> &[u8] {
        let start = self.starts[from];
        let end = self.starts.get(to).copied().unwrap_or(self.body.len());
        &self.body[start..end]
    }
}

/// How a file is read.
enum Source {
    /// EVTX or JSON documents, record by record.
    Records(LogFile, &'static str),
    /// Lines of text (JSON lines, Zeek TSV, CEF, syslog, ...).
    Lines,
    /// Nothing in it.
    Empty,
}

/// What a request's declared format and log name are.
struct RequestMeta {
    query: String,
    place_name: &'static str,
}

impl Run<'_> {
    fn report(
        &self,
        file: &FileRun<'_>,
        retrying: Option<String>,
        progress: &mut dyn FnMut(&ClientProgress<'_>),
    ) {
        progress(&ClientProgress {
            file: file.path,
            file_index: file.index,
            files: self.options.files.len(),
            bytes_done: self.bytes_before + file.bytes_read.min(file.size),
            bytes_total: self.bytes_total,
            events_sent: self.summary.events_sent,
            events_rejected: self.summary.events_rejected,
            events_resumed: self.events_resumed,
            retrying,
        });
    }

    fn journal_error(&self, source: io::Error) -> ClientError {
        ClientError::Journal {
            path: self.journal.path().to_owned(),
            source,
        }
    }

    fn send_file(
        &mut self,
        file: &mut FileRun<'_>,
        progress: &mut dyn FnMut(&ClientProgress<'_>),
    ) -> Result<(), ClientError> {
        let identity = match FileIdentity::of(file.path) {
            Ok(identity) => identity,
            Err(error) => {
                file.read_error(format!("cannot read {}: {error}", file.path.display()));
                return Ok(());
            }
        };
        let path = file.path.to_owned();
        let resume = if self.options.resume {
            self.journal.resume(&self.destination, &identity, |len| {
                let mut head = Vec::new();
                File::open(&path)?.take(len).read_to_end(&mut head)?;
                Ok(journal::sha256_hex(&head))
            })
        } else {
            Resume::Start
        };
        if resume == Resume::Done {
            file.summary.already_sent = true;
            file.summary.read_as = "already sent".to_owned();
            file.bytes_read = file.size;
            return Ok(());
        }
        let source = match LogFile::open(file.path) {
            Ok(log) => match log.format() {
                FileFormat::Evtx => Source::Records(log, "EVTX"),
                FileFormat::JsonDocuments => Source::Records(log, "JSON documents"),
                FileFormat::Empty => Source::Empty,
                _ => Source::Lines,
            },
            Err(error) if error.is_unrecognised_format() => Source::Lines,
            Err(error) => {
                file.read_error(error.to_string());
                return Ok(());
            }
        };
        let file_name = file
            .path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned());
        match source {
            Source::Empty => {
                file.summary.read_as = "empty".to_owned();
                self.journal
                    .record(&self.destination, &identity, ProgressKind::Lines, 0, true)
                    .map_err(|e| self.journal_error(e))?;
                file.bytes_read = file.size;
                Ok(())
            }
            Source::Records(log, read_as) => {
                file.summary.read_as = read_as.to_owned();
                let format = self.options.format.or(match read_as {
                    "EVTX" => Some(Format::WindowsJson),
                    _ => None,
                });
                let meta = RequestMeta {
                    query: query(format, file_name.as_deref()),
                    place_name: "record",
                };
                let skip = match resume {
                    Resume::From(ProgressKind::Records, acked) => acked,
                    _ => 0,
                };
                self.send_records(file, &identity, log, skip, &meta, progress)
            }
            Source::Lines => {
                let skip = match resume {
                    Resume::From(ProgressKind::Lines, acked) => acked,
                    _ => 0,
                };
                self.send_lines(file, &identity, skip, file_name.as_deref(), progress)
            }
        }
    }

    fn send_records(
        &mut self,
        file: &mut FileRun<'_>,
        identity: &FileIdentity,
        log: LogFile,
        skip: u64,
        meta: &RequestMeta,
        progress: &mut dyn FnMut(&ClientProgress<'_>),
    ) -> Result<(), ClientError> {
        let mut batch = Batch::default();
        let mut count = 0u64;
        file.summary.events_resumed = skip;
        self.events_resumed += skip;
        for record in log.records() {
            let record = match record {
                Ok(record) => record,
                Err(error) => {
                    file.read_error(error.to_string());
                    continue;
                }
            };
            count += 1;
            file.bytes_read = match record.position {
                Position::Evtx { offset, .. } | Position::Document { offset, .. } => offset,
                Position::Line { .. } => file.bytes_read,
            };
            if count <= skip {
                continue;
            }
            let line = match serde_json::to_vec(&record.event) {
                Ok(line) => line,
                Err(error) => {
                    file.read_error(format!(
                        "record {count}: cannot be written as JSON: {error}"
                    ));
                    continue;
                }
            };
            batch.push(&line, count, count);
            if batch.len() >= self.max_events || batch.body.len() >= self.options.max_request_bytes
            {
                self.flush(
                    file,
                    identity,
                    ProgressKind::Records,
                    &mut batch,
                    meta,
                    progress,
                )?;
            }
        }
        self.flush(
            file,
            identity,
            ProgressKind::Records,
            &mut batch,
            meta,
            progress,
        )?;
        file.bytes_read = file.size;
        self.journal
            .record(
                &self.destination,
                identity,
                ProgressKind::Records,
                count.max(skip),
                true,
            )
            .map_err(|e| self.journal_error(e))
    }

    fn send_lines(
        &mut self,
        file: &mut FileRun<'_>,
        identity: &FileIdentity,
        skip: u64,
        file_name: Option<&str>,
        progress: &mut dyn FnMut(&ClientProgress<'_>),
    ) -> Result<(), ClientError> {
        let raw = match File::open(file.path) {
            Ok(raw) => raw,
            Err(error) => {
                file.read_error(format!("cannot read {}: {error}", file.path.display()));
                return Ok(());
            }
        };
        let raw_count = Rc::new(Cell::new(0));
        let counted = CountingReader {
            inner: raw,
            count: raw_count.clone(),
        };
        let mut buffered = BufReader::with_capacity(256 * 1024, counted);
        let gzip = buffered
            .fill_buf()
            .is_ok_and(|head| head.starts_with(&[0x1f, 0x8b]));
        let reader: Box<dyn BufRead> = if gzip {
            Box::new(BufReader::with_capacity(
                256 * 1024,
                MultiGzDecoder::new(buffered),
            ))
        } else {
            Box::new(buffered)
        };
        let mut lines = LineReader::new(reader, self.options.max_line_bytes, raw_count);
        let mut batch = Batch::default();
        let mut zeek: Option<ZeekTsv> = None;
        let mut first = true;
        // Whether the file is JSON lines (its first line is an object): then
        // every line is sent as written, and one that is not JSON comes back
        // refused with its line number instead of passing for a text event.
        let mut json_lines = false;
        let mut skipped_lines = 0u64;
        let mut meta = RequestMeta {
            query: query(self.options.format, file_name),
            place_name: "line",
        };
        file.summary.read_as = if gzip {
            "text lines (gzip)"
        } else {
            "text lines"
        }
        .to_owned();
        loop {
            let line = match lines.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(error) => {
                    file.read_error(format!("line {}: read failed: {error}", lines.number + 1));
                    break;
                }
            };
            file.bytes_read = lines.raw_count();
            let Line {
                number,
                end,
                content,
            } = line;
            let content = match content {
                LineContent::Text(content) => content,
                LineContent::TooLong(len) => {
                    if end > skip {
                        file.read_error(format!(
                            "line {number}: {len} bytes, over the {}-byte line limit; skipped",
                            self.options.max_line_bytes
                        ));
                    }
                    continue;
                }
            };
            let trimmed = content.trim_ascii();
            if first && !trimmed.is_empty() {
                first = false;
                if is_zeek_tsv(trimmed) {
                    zeek = Some(ZeekTsv::new());
                    file.summary.read_as = "Zeek TSV".to_owned();
                    meta.query = query(self.options.format.or(Some(Format::Zeek)), file_name);
                } else if trimmed.starts_with(b"{") {
                    file.summary.read_as = "JSON lines".to_owned();
                    json_lines = true;
                }
            }
            if let Some(reader) = zeek.as_mut()
                && reader.header_line(trimmed)
            {
                continue;
            }
            if trimmed.is_empty() {
                continue;
            }
            if end <= skip {
                skipped_lines += 1;
                continue;
            }
            let line_json = match &zeek {
                Some(reader) => match reader.record(&content) {
                    Ok(object) => serde_json::to_vec(&object).unwrap_or_default(),
                    Err(reason) => {
                        file.read_error(format!("line {number}: {reason}"));
                        continue;
                    }
                },
                None if json_lines || trimmed.starts_with(b"{") => trimmed.to_vec(),
                None => {
                    let text = String::from_utf8_lossy(trimmed);
                    serde_json::to_vec(&text).unwrap_or_default()
                }
            };
            batch.push(&line_json, number, end);
            if batch.len() >= self.max_events || batch.body.len() >= self.options.max_request_bytes
            {
                self.flush(
                    file,
                    identity,
                    ProgressKind::Lines,
                    &mut batch,
                    &meta,
                    progress,
                )?;
            }
        }
        file.summary.events_resumed = skipped_lines;
        self.events_resumed += skipped_lines;
        self.flush(
            file,
            identity,
            ProgressKind::Lines,
            &mut batch,
            &meta,
            progress,
        )?;
        file.bytes_read = file.size;
        self.journal
            .record(
                &self.destination,
                identity,
                ProgressKind::Lines,
                lines.offset.max(skip),
                true,
            )
            .map_err(|e| self.journal_error(e))
    }

    /// Sends what the batch holds and empties it.
    fn flush(
        &mut self,
        file: &mut FileRun<'_>,
        identity: &FileIdentity,
        kind: ProgressKind,
        batch: &mut Batch,
        meta: &RequestMeta,
        progress: &mut dyn FnMut(&ClientProgress<'_>),
    ) -> Result<(), ClientError> {
        if batch.len() > 0 {
            self.send_range(file, identity, kind, batch, 0, batch.len(), meta, progress)?;
        }
        batch.clear();
        Ok(())
    }

    /// Sends lines `from..to` of the batch, splitting on 413.
    #[allow(clippy::too_many_arguments)]
    fn send_range(
        &mut self,
        file: &mut FileRun<'_>,
        identity: &FileIdentity,
        kind: ProgressKind,
        batch: &Batch,
        from: usize,
        to: usize,
        meta: &RequestMeta,
        progress: &mut dyn FnMut(&ClientProgress<'_>),
    ) -> Result<(), ClientError> {
        // The same range of the same file always carries the same key, so a
        // request resent after its answer was lost (or after a crash of this
        // client) gives its events the same ids, and search keeps one copy.
        let key = idempotency_key(
            identity,
            kind,
            batch.resume_points[from],
            batch.resume_points[to - 1],
        );
        let outcome = match self.post(batch.slice(from, to), &meta.query, &key, file, progress)? {
            Posted::Outcome(outcome) => outcome,
            Posted::TooLarge if to - from > 1 => {
                let middle = from + (to - from) / 2;
                self.max_events = (middle - from).max(1);
                tracing::info!(
                    events = to - from,
                    "the server refused the request as too large; sending it in halves"
                );
                self.send_range(file, identity, kind, batch, from, middle, meta, progress)?;
                return self.send_range(file, identity, kind, batch, middle, to, meta, progress);
            }
            Posted::TooLarge => IngestOutcome {
                accepted: 0,
                rejected: vec![crate::LineError {
                    line: 1,
                    reason: "the server refused this record as too large".to_owned(),
                }],
            },
        };
        let sent_lines = (to - from) as u64;
        let rejected = (outcome.rejected.len() as u64).min(sent_lines);
        let accepted = outcome.accepted.min(sent_lines - rejected);
        self.summary.events_sent += accepted;
        self.summary.events_rejected += rejected;
        file.summary.events_sent += accepted;
        file.summary.events_rejected += rejected;
        for error in &outcome.rejected {
            if file.summary.rejected.len() >= MAX_REPORTED_PER_FILE {
                break;
            }
            let place = usize::try_from(error.line)
                .ok()
                .and_then(|line| line.checked_sub(1))
                .and_then(|index| batch.places.get(from + index));
            file.summary.rejected.push(match place {
                Some(place) => format!("{} {place}: {}", meta.place_name, error.reason),
                None => format!("request line {}: {}", error.line, error.reason),
            });
        }
        self.journal
            .record(
                &self.destination,
                identity,
                kind,
                batch.resume_points[to - 1],
                false,
            )
            .map_err(|e| self.journal_error(e))?;
        self.report(file, None, progress);
        Ok(())
    }

    /// One request, retried while it may pass.
    fn post(
        &mut self,
        body: &[u8],
        query: &str,
        key: &str,
        file: &FileRun<'_>,
        progress: &mut dyn FnMut(&ClientProgress<'_>),
    ) -> Result<Posted, ClientError> {
        let payload = if self.options.gzip {
            gzip(body)
        } else {
            body.to_vec()
        };
        let url = format!("{}{query}", self.endpoint);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let mut request = self
                .agent
                .post(&url)
                .header("Authorization", &format!("Bearer {}", self.options.token))
                .header("Content-Type", "application/x-ndjson")
                .header("Idempotency-Key", key);
            if self.options.gzip {
                request = request.header("Content-Encoding", "gzip");
            }
            let (failure, retry_after) = match request.send(&payload[..]) {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|value| value.to_str().ok())
                        .and_then(|value| value.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let text = response
                        .body_mut()
                        .with_config()
                        .limit(16 * 1024 * 1024)
                        .read_to_string()
                        .unwrap_or_default();
                    match status {
                        200..=299 => {
                            self.summary.requests += 1;
                            self.summary.bytes_sent += payload.len() as u64;
                            return serde_json::from_str::<IngestOutcome>(&text)
                                .map(Posted::Outcome)
                                .map_err(|error| ClientError::Refused {
                                    status,
                                    message: format!(
                                        "unexpected answer ({error}): {}",
                                        excerpt(&text)
                                    ),
                                });
                        }
                        413 => return Ok(Posted::TooLarge),
                        401 | 403 => {
                            return Err(ClientError::Unauthorized {
                                status,
                                message: excerpt(&text),
                            });
                        }
                        408 | 429 | 500..=599 => (
                            format!("the server answered {status}: {}", excerpt(&text)),
                            retry_after,
                        ),
                        _ => {
                            return Err(ClientError::Refused {
                                status,
                                message: excerpt(&text),
                            });
                        }
                    }
                }
                Err(error) => {
                    // Nothing reached the server yet in this run: retrying for a minute
                    // would only hide a wrong address or a server that is not running.
                    if self.summary.requests == 0 && is_connect_failure(&error) && attempt >= 2 {
                        return Err(ClientError::Unreachable {
                            server: self.endpoint.trim_end_matches("/api/v1/ingest").to_owned(),
                            reason: error.to_string(),
                        });
                    }
                    (format!("request failed: {error}"), None)
                }
            };
            if attempt >= self.options.max_attempts.max(1) {
                return Err(ClientError::GaveUp {
                    attempts: attempt,
                    last_error: failure,
                });
            }
            let backoff = retry_after
                .unwrap_or_else(|| backoff(self.options, attempt))
                .min(self.options.max_backoff.max(Duration::from_millis(1)));
            tracing::warn!(attempt, %failure, "retrying in {backoff:?}");
            self.report(
                file,
                Some(format!(
                    "{failure}; retrying in {:.1} s (attempt {} of {})",
                    backoff.as_secs_f64(),
                    attempt + 1,
                    self.options.max_attempts
                )),
                progress,
            );
            std::thread::sleep(backoff);
        }
    }
}

/// What the server made of a request.
enum Posted {
    Outcome(IngestOutcome),
    TooLarge,
}

/// Whether `error` says no connection could be made (refused, no such host).
fn is_connect_failure(error: &ureq::Error) -> bool {
    match error {
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => true,
        ureq::Error::Io(io) => matches!(
            io.kind(),
            io::ErrorKind::ConnectionRefused
                | io::ErrorKind::HostUnreachable
                | io::ErrorKind::NetworkUnreachable
                | io::ErrorKind::AddrNotAvailable
        ),
        _ => false,
    }
}

/// The wait before retry `attempt` (from 1): exponential, with jitter.
fn backoff(options: &ClientOptions, attempt: u32) -> Duration {
    let base = options
        .initial_backoff
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(options.max_backoff);
    // Up to a quarter more, so that many clients do not retry in step.
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) * base.as_millis() as u64 / 1024;
    base + Duration::from_millis(jitter)
}

/// The request's query string (with its `?`), or empty.
fn query(format: Option<Format>, log_name: Option<&str>) -> String {
    let mut parts = Vec::new();
    if let Some(format) = format {
        parts.push(format!("format={}", format_name(format)));
    }
    if let Some(name) = log_name {
        parts.push(format!("log={}", percent_encode(name)));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(500) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}

fn gzip(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(body);
    encoder.finish().unwrap_or_default()
}

/// Counts the bytes read from the file (compressed bytes for gzip).
struct CountingReader<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// One line read from a text file.
struct Line {
    /// Line number, from 1.
    number: u64,
    /// Offset just after the line (and its line feed).
    end: u64,
    content: LineContent,
}

enum LineContent {
    /// The line, without its line end (CR LF or LF).
    Text(Vec<u8>),
    /// A line over the limit, skipped (its length).
    TooLong(u64),
}

/// Reads lines with a bound on their length, tracking offsets.
struct LineReader {
    reader: Box<dyn BufRead>,
    max: usize,
    /// Offset of the next byte to read (decompressed).
    offset: u64,
    /// Lines returned so far.
    number: u64,
    /// Bytes of the file read so far (compressed, for a gzip file).
    raw_count: Rc<Cell<u64>>,
}

impl LineReader {
    fn new(reader: Box<dyn BufRead>, max: usize, raw_count: Rc<Cell<u64>>) -> Self {
        LineReader {
            reader,
            max,
            offset: 0,
            number: 0,
            raw_count,
        }
    }

    /// Bytes of the file read so far (for progress; read-ahead included).
    fn raw_count(&self) -> u64 {
        self.raw_count.get()
    }

    fn next_line(&mut self) -> io::Result<Option<Line>> {
        let mut line = Vec::new();
        let mut len = 0u64;
        let mut too_long = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if available.is_empty() {
                if len == 0 {
                    return Ok(None);
                }
                break;
            }
            let (chunk, consumed, done) = match memchr::memchr(b'\n', available) {
                Some(at) => (&available[..at], at + 1, true),
                None => (available, available.len(), false),
            };
            len += chunk.len() as u64;
            if !too_long {
                if line.len() + chunk.len() > self.max {
                    too_long = true;
                    line = Vec::new();
                } else {
                    line.extend_from_slice(chunk);
                }
            }
            self.reader.consume(consumed);
            self.offset += consumed as u64;
            if done {
                break;
            }
        }
        self.number += 1;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(Some(Line {
            number: self.number,
            end: self.offset,
            content: if too_long {
                LineContent::TooLong(len)
            } else {
                LineContent::Text(line)
            },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &[u8], max: usize) -> Vec<(u64, u64, Option<Vec<u8>>)> {
        let mut reader =
            LineReader::new(Box::new(io::Cursor::new(text.to_vec())), max, Rc::default());
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            out.push((
                line.number,
                line.end,
                match line.content {
                    LineContent::Text(text) => Some(text),
                    LineContent::TooLong(_) => None,
                },
            ));
        }
        out
    }

    #[test]
    fn lines_are_read_with_offsets_and_limits() {
        let lines = read_all(b"ab\r\n\nlong line here\nlast", 5);
        assert_eq!(
            lines,
            vec![
                (1, 4, Some(b"ab".to_vec())),
                (2, 5, Some(Vec::new())),
                (3, 20, None),
                (4, 24, Some(b"last".to_vec())),
            ]
        );
        assert!(read_all(b"", 5).is_empty());
    }

    #[test]
    fn queries_are_encoded() {
        assert_eq!(query(None, None), "");
        assert_eq!(
            query(Some(Format::Zeek), Some("dns log&x.log")),
            "?format=zeek&log=dns%20log%26x.log"
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let options = ClientOptions::new("http://x", "t", Vec::new());
        let first = backoff(&options, 1);
        assert!(first >= Duration::from_millis(500) && first < Duration::from_millis(700));
        let late = backoff(&options, 20);
        assert!(late >= Duration::from_secs(30) && late < Duration::from_secs(38));
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn lines_read_in_any_chunks_are_the_split_text(
                text in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), any::<u8>()], 0..400),
                max in 1usize..40,
                capacity in 1usize..16,
            ) {
                let reader = BufReader::with_capacity(capacity, io::Cursor::new(text.clone()));
                let mut lines = LineReader::new(Box::new(reader), max, Rc::default());
                let mut pieces: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
                if text.is_empty() || text.ends_with(b"\n") {
                    pieces.pop();
                }
                let mut end = 0u64;
                for (index, piece) in pieces.iter().enumerate() {
                    let line = lines.next_line().unwrap().unwrap();
                    end += piece.len() as u64 + u64::from(index + 1 < pieces.len() || text.ends_with(b"\n"));
                    prop_assert_eq!(line.number, index as u64 + 1);
                    prop_assert_eq!(line.end, end);
                    let piece = piece.strip_suffix(b"\r").unwrap_or(piece);
                    match line.content {
                        LineContent::Text(content) => {
                            prop_assert!(content.len() <= max);
                            prop_assert_eq!(&content[..], piece);
                        }
                        LineContent::TooLong(len) => prop_assert!(len as usize > max - usize::from(piece.len() < max)),
                    }
                }
                prop_assert!(lines.next_line().unwrap().is_none());
            }
        }
    }
}
