//! The hunt pipeline: files → units → events → detections, on every core,
//! with output in input order.
//!
//! ```text
//!  reader thread            worker threads (N)                 calling thread
//!  walk → open → units ──▶  decode unit, match each event ──▶  put results back in
//!  (numbered in order)      against the compiled rules         input order, report
//! ```
//!
//! Units are numbered as they are read; the calling thread reports each
//! unit's detections and errors only once all earlier units are reported, so
//! the output is the same on every run whatever the number of threads.
//! Memory stays bounded: a unit may be read only while fewer than
//! [`HuntOptions::units_in_flight`] units are between the reader and the
//! report (queued, being decoded, or waiting for an earlier unit), whatever
//! the size of the input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use nigehban_logfiles::{Error as ReadError, LogFile, ReadOptions, Unit, walk};
use nigehban_sigma::{
    CorrelationEngine, CorrelationLimits, CorrelationMatch, CorrelationSet, Observation,
};

use crate::detection::{
    DetectedEvent, Detection, EventFacts, RuleSummary, event_timestamp, one_line,
};
use crate::output::{DetectionWriter, Format, TableStyle};
use nigehban_detect::{JsonTape, SigmaView};
use nigehban_sigma::MatchedField;

/// Settings of one hunt.
#[derive(Debug, Clone)]
pub struct HuntOptions {
    /// Worker threads decoding and matching (default: one per core).
    pub threads: usize,
    /// Units allowed between reader and report at once (default: 4 per thread).
    pub units_in_flight: usize,
    /// How files are read.
    pub read: ReadOptions,
    /// Render detections on the worker threads, in this format, and report
    /// them through [`HuntReport::rendered`] instead of
    /// [`HuntReport::detection`] (default: `None`, detections as values).
    ///
    /// Writing a detection costs about as much as finding it; done by the
    /// workers, it is shared between the cores instead of left to the one
    /// thread that puts the results in order.
    pub render: Option<Format>,
    /// Correlation rules to run over the matches of the rules they refer
    /// to, compiled against the same rule set (default: none). Matches of
    /// a rule a correlation refers to without `generate: true` are not
    /// reported on their own.
    ///
    /// Files are not in time order, so a hunt correlates once every event
    /// is read: observations wait (at most [`MAX_OBSERVATIONS`] of them)
    /// and are evaluated in event-time order at the end, and correlation
    /// detections are reported after all others.
    pub correlations: Option<Arc<CorrelationSet>>,
    /// How a rendered table is laid out (default: unbounded lines, UTC).
    pub table: TableStyle,
    /// Only events from this time, in milliseconds since the Unix epoch
    /// (inclusive); events without a readable time are left out when set.
    pub from_ms: Option<i64>,
    /// Only events before this time, in milliseconds since the Unix epoch
    /// (exclusive); events without a readable time are left out when set.
    pub to_ms: Option<i64>,
}

/// Why rule `index` matched an event: the field values that made it match
/// (for the table), or nothing.
pub type Explain<'a> = &'a (dyn Fn(usize, &SigmaView<'_>) -> Vec<MatchedField> + Sync);

/// Most matches of correlated rules a hunt holds before evaluating the
/// oldest early.
pub const MAX_OBSERVATIONS: usize = 5_000_000;

impl Default for HuntOptions {
    fn default() -> Self {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        HuntOptions {
            threads,
            units_in_flight: threads * 4,
            read: ReadOptions::default(),
            render: None,
            correlations: None,
            table: TableStyle::default(),
            from_ms: None,
            to_ms: None,
        }
    }
}

/// What the calling thread is told as the hunt goes, in input order.
pub trait HuntReport {
    /// A new input file was found, of this size on disk.
    fn file_found(&mut self, _path: &Path, _bytes: u64) {}
    /// A file found in a directory is not a log file (a README, a licence) and was left out.
    fn file_skipped(&mut self, _path: &Path) {}
    /// A rule matched an event.
    fn detection(&mut self, detection: Detection);
    /// Detections rendered by a worker, when [`HuntOptions::render`] is set:
    /// the bytes a [`DetectionWriter::without_header`] of that format wrote
    /// for them (never empty), in input order.
    fn rendered(&mut self, _rendered: &[u8]) {}
    /// Something could not be read; the hunt goes on around it.
    fn error(&mut self, error: ReadError);
    /// A unit of this many bytes and events was hunted.
    fn progress(&mut self, _bytes: u64, _events: u64) {}
}

/// The totals of a finished hunt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HuntTotals {
    /// Input files opened.
    pub files: u64,
    /// Files found in directories that are not log files, left out.
    pub skipped_files: u64,
    /// Events read and matched.
    pub events: u64,
    /// Bytes of input decoded (after decompression).
    pub bytes: u64,
    /// Detections, by rule level in the rules' words.
    pub detections_by_level: BTreeMap<String, u64>,
    /// Read errors reported.
    pub errors: u64,
    /// Matches of correlated rules left out of correlation: the event has
    /// no time that can be read.
    pub untimed_observations: u64,
    /// Events read but left out: outside the time window asked for, or
    /// without a readable time when a window was asked for.
    pub outside_window: u64,
    /// Wall-clock time of the hunt.
    pub elapsed: Duration,
}

impl HuntTotals {
    /// All detections, whatever their level.
    pub fn detections(&self) -> u64 {
        self.detections_by_level.values().sum()
    }

    /// Events hunted per second of wall-clock time.
    pub fn events_per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.events as f64 / seconds
        } else {
            0.0
        }
    }
}

/// One piece of work, numbered in input order.
enum Job {
    Unit(Unit),
    Error(ReadError),
    File(PathBuf, u64),
    Skipped(PathBuf),
}

/// What came of one job.
#[derive(Default)]
struct Outcome {
    detections: Vec<Detection>,
    /// Detections rendered by the worker (see [`HuntOptions::render`]).
    rendered: Vec<u8>,
    /// How many detections `rendered` holds, by rule level.
    rendered_levels: BTreeMap<String, u64>,
    errors: Vec<ReadError>,
    /// Matches of rules that correlations refer to.
    observations: Vec<Observation>,
    untimed_observations: u64,
    outside_window: u64,
    file: Option<(PathBuf, u64)>,
    skipped: Option<PathBuf>,
    events: u64,
    bytes: u64,
}

/// Hunts `paths` with the rules `rules`, reporting to `report`.
///
/// `new_matcher` is called once per worker thread and returns that thread's
/// matcher: given an event, it pushes the index (into `rules`) of every rule
/// that matches it. Keeping the matcher per thread lets it own scratch space.
pub fn hunt<F, M>(
    paths: &[PathBuf],
    rules: &[Arc<RuleSummary>],
    options: &HuntOptions,
    new_matcher: F,
    report: &mut dyn HuntReport,
) -> HuntTotals
where
    F: Fn() -> M + Sync,
    M: FnMut(&SigmaView<'_>, &mut Vec<usize>),
{
    hunt_explained(
        paths,
        rules,
        options,
        new_matcher,
        &|_, _| Vec::new(),
        report,
    )
}

/// [`hunt`], with `explain` telling which field values made a rule match,
/// for the rendered table.
pub fn hunt_explained<F, M>(
    paths: &[PathBuf],
    rules: &[Arc<RuleSummary>],
    options: &HuntOptions,
    new_matcher: F,
    explain: Explain<'_>,
    report: &mut dyn HuntReport,
) -> HuntTotals
where
    F: Fn() -> M + Sync,
    M: FnMut(&SigmaView<'_>, &mut Vec<usize>),
{
    let started = Instant::now();
    let threads = options.threads.max(1);
    let in_flight = options.units_in_flight.max(threads);
    let mut totals = HuntTotals::default();

    // Slots bound the units between reader and report; the report gives a
    // slot back when it has reported a unit.
    let (slot_tx, slot_rx) = bounded::<()>(in_flight);
    for _ in 0..in_flight {
        let _ = slot_tx.send(());
    }
    let (job_tx, job_rx) = bounded::<(u64, Job)>(in_flight);
    let (outcome_tx, outcome_rx) = unbounded::<(u64, Outcome)>();
    let correlations = options.correlations.as_deref();
    let mut engine = CorrelationEngine::new(CorrelationLimits {
        // Everything is read before anything is evaluated.
        allowed_lateness_ms: i64::MAX,
        max_pending: MAX_OBSERVATIONS,
        ..CorrelationLimits::default()
    });
    let mut matches = Vec::new();

    std::thread::scope(|scope| {
        let read_options = options.read.clone();
        scope.spawn(move || read_jobs(paths, &read_options, &slot_rx, job_tx));
        for _ in 0..threads {
            let job_rx = job_rx.clone();
            let outcome_tx = outcome_tx.clone();
            let new_matcher = &new_matcher;
            scope.spawn(move || {
                let mut matcher = new_matcher();
                work(&job_rx, &outcome_tx, rules, options, explain, &mut matcher);
            });
        }
        drop(job_rx);
        drop(outcome_tx);

        let mut waiting: BTreeMap<u64, Outcome> = BTreeMap::new();
        let mut next = 0u64;
        for (seq, outcome) in outcome_rx.iter() {
            waiting.insert(seq, outcome);
            while let Some(outcome) = waiting.remove(&next) {
                next += 1;
                if let Some(set) = correlations {
                    for observation in &outcome.observations {
                        engine.observe(set, observation, &mut matches);
                    }
                }
                deliver(outcome, report, &mut totals);
                // The reader may have finished: a refused slot is no loss.
                let _ = slot_tx.try_send(());
            }
        }
    });
    if let Some(set) = correlations {
        engine.flush(set, &mut matches);
        for found in &matches {
            let detection = correlation_detection(found);
            count_level(&mut totals.detections_by_level, &detection.rule.level);
            report.detection(detection);
        }
    }
    totals.elapsed = started.elapsed();
    totals
}

/// A correlation match as a detection: the correlation rule, and in place
/// of an event a summary of the window (`correlation` in the JSON: group,
/// count, value, window and event ids; the event ids are `file:position`).
pub fn correlation_detection(found: &CorrelationMatch) -> Detection {
    let time = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    };
    let group: serde_json::Map<String, serde_json::Value> = found
        .group
        .iter()
        .map(|(name, value)| (name.clone(), serde_json::Value::from(value.as_str())))
        .collect();
    let json = serde_json::json!({
        "correlation": {
            "group": group,
            "count": found.event_count,
            "value": found.value,
            "window_start": time(found.window_start_ms),
            "window_end": time(found.window_end_ms),
            "event_ids": found.event_ids,
        }
    });
    let first_file = found
        .event_ids
        .first()
        .and_then(|id| id.rsplit_once(':').map(|(file, _)| file.to_owned()))
        .unwrap_or_default();
    let event = DetectedEvent {
        timestamp: time(found.window_start_ms),
        file: first_file.into(),
        position: format!(
            "correlation of {} event(s), group {}",
            found.event_count,
            if found.group.is_empty() {
                "(all)".to_owned()
            } else {
                found.group_key()
            }
        ),
        record_id: None,
        computer: None,
        channel: None,
        event_id: None,
        json: json.to_string().into_bytes().into(),
    };
    Detection::new(Arc::new(RuleSummary::of(&found.rule)), Arc::new(event))
}

/// When an event happened, in milliseconds since the Unix epoch (read as
/// [`crate::detection::utc_rfc3339`] reads it).
fn event_time_ms(event: &SigmaView<'_>) -> Option<i64> {
    let found = event.timestamp()?;
    let restated = crate::detection::utc_rfc3339(found);
    chrono::DateTime::parse_from_rfc3339(&restated)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Reads the inputs into numbered jobs, taking a slot for each.
fn read_jobs(
    paths: &[PathBuf],
    options: &ReadOptions,
    slots: &Receiver<()>,
    jobs: Sender<(u64, Job)>,
) {
    let mut seq = 0u64;
    let mut send = |job: Job| -> bool {
        if slots.recv().is_err() {
            return false;
        }
        let sent = jobs.send((seq, job)).is_ok();
        seq += 1;
        sent
    };
    for path in walk(paths) {
        let path = match path {
            Ok(path) => path,
            Err(error) => {
                if !send(Job::Error(error)) {
                    return;
                }
                continue;
            }
        };
        let file = match LogFile::open_with(&path, options) {
            Ok(file) => file,
            // A directory of collected logs often holds notes and licences
            // too; only a file the responder named is an error.
            Err(error) if error.is_unrecognised_format() && !paths.contains(&path) => {
                if !send(Job::Skipped(path)) {
                    return;
                }
                continue;
            }
            Err(error) => {
                if !send(Job::Error(error)) {
                    return;
                }
                continue;
            }
        };
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if !send(Job::File(path, size)) {
            return;
        }
        for unit in file.units() {
            let job = match unit {
                Ok(unit) => Job::Unit(unit),
                Err(error) => Job::Error(error),
            };
            if !send(job) {
                return;
            }
        }
    }
}

/// A worker: decodes units and matches their events until the jobs run out.
fn work<M>(
    jobs: &Receiver<(u64, Job)>,
    outcomes: &Sender<(u64, Outcome)>,
    rules: &[Arc<RuleSummary>],
    options: &HuntOptions,
    explain: Explain<'_>,
    matcher: &mut M,
) where
    M: FnMut(&SigmaView<'_>, &mut Vec<usize>),
{
    let correlations = options.correlations.as_deref();
    let windowed = options.from_ms.is_some() || options.to_ms.is_some();
    let explains = options.render == Some(Format::Table);
    let mut matched = Vec::new();
    let mut tape = JsonTape::new();
    let mut writer = options.render.map(|format| {
        DetectionWriter::without_header(format, Vec::new()).with_table_style(options.table)
    });
    let mut position = String::new();
    for (seq, job) in jobs.iter() {
        let mut outcome = Outcome::default();
        match job {
            Job::Error(error) => outcome.errors.push(error),
            Job::File(path, size) => outcome.file = Some((path, size)),
            Job::Skipped(path) => outcome.skipped = Some(path),
            Job::Unit(unit) => {
                outcome.bytes = unit.byte_len() as u64;
                let file: Arc<str> = unit.path().display().to_string().into();
                for record in unit.raw_records() {
                    let record = match record {
                        Ok(record) => record,
                        Err(error) => {
                            outcome.errors.push(error);
                            continue;
                        }
                    };
                    // The fast way first; what it cannot read, the reader
                    // reads (and says what is wrong with it).
                    if !tape.parse(record.json()) {
                        match record.decode() {
                            Ok(decoded) => tape.load(&decoded.event),
                            Err(error) => {
                                outcome.errors.push(error);
                                continue;
                            }
                        }
                    }
                    outcome.events += 1;
                    let event = SigmaView::of_record(&tape);
                    if windowed {
                        let inside = event_time_ms(&event).is_some_and(|at| {
                            options.from_ms.is_none_or(|from| at >= from)
                                && options.to_ms.is_none_or(|to| at < to)
                        });
                        if !inside {
                            outcome.outside_window += 1;
                            continue;
                        }
                    }
                    matched.clear();
                    matcher(&event, &mut matched);
                    if matched.is_empty() {
                        continue;
                    }
                    if let Some(set) = correlations {
                        observe(
                            set,
                            &event,
                            &file,
                            &record.position(),
                            &matched,
                            &mut outcome,
                        );
                        matched.retain(|&index| set.base_emits(index));
                        if matched.is_empty() {
                            continue;
                        }
                    }
                    if let Some(writer) = &mut writer {
                        use std::fmt::Write as _;
                        position.clear();
                        let _ = write!(position, "{}", record.position());
                        let timestamp = event_timestamp(&event);
                        let json = one_line(record.json());
                        let facts =
                            EventFacts::of(&event, timestamp.as_deref(), &file, &position, &json);
                        for &index in &matched {
                            let Some(rule) = rules.get(index) else {
                                continue;
                            };
                            let why = if explains {
                                explain(index, &event)
                            } else {
                                Vec::new()
                            };
                            // Writing to memory fails only when out of memory.
                            if writer.write_explained(rule, &facts, &why).is_ok() {
                                count_level(&mut outcome.rendered_levels, &rule.level);
                            }
                        }
                        continue;
                    }
                    let detected = Arc::new(DetectedEvent::new(
                        &event,
                        record.json(),
                        Arc::clone(&file),
                        record.position().to_string(),
                    ));
                    for &index in &matched {
                        if let Some(rule) = rules.get(index) {
                            outcome
                                .detections
                                .push(Detection::new(Arc::clone(rule), Arc::clone(&detected)));
                        }
                    }
                }
                if let Some(writer) = &mut writer {
                    outcome.rendered = writer.take_output().unwrap_or_default();
                }
            }
        }
        if outcomes.send((seq, outcome)).is_err() {
            return;
        }
    }
}

/// Records the observations of the correlated rules among `matched`.
fn observe(
    set: &CorrelationSet,
    event: &SigmaView<'_>,
    file: &str,
    position: &dyn std::fmt::Display,
    matched: &[usize],
    outcome: &mut Outcome,
) {
    if !matched.iter().any(|&index| set.observes(index)) {
        return;
    }
    let Some(time) = event_time_ms(event) else {
        outcome.untimed_observations += 1;
        return;
    };
    let id = format!("{file}:{position}");
    for &index in matched {
        if let Some(observation) = set.observation(index, time, &id, event) {
            outcome.observations.push(observation);
        }
    }
}

fn deliver(outcome: Outcome, report: &mut dyn HuntReport, totals: &mut HuntTotals) {
    if let Some((path, size)) = outcome.file {
        totals.files += 1;
        report.file_found(&path, size);
    }
    if let Some(path) = outcome.skipped {
        totals.skipped_files += 1;
        report.file_skipped(&path);
    }
    for error in outcome.errors {
        totals.errors += 1;
        report.error(error);
    }
    totals.events += outcome.events;
    totals.bytes += outcome.bytes;
    totals.untimed_observations += outcome.untimed_observations;
    totals.outside_window += outcome.outside_window;
    if outcome.bytes > 0 || outcome.events > 0 {
        report.progress(outcome.bytes, outcome.events);
    }
    for detection in outcome.detections {
        count_level(&mut totals.detections_by_level, &detection.rule.level);
        report.detection(detection);
    }
    if !outcome.rendered.is_empty() {
        report.rendered(&outcome.rendered);
    }
    for (level, count) in outcome.rendered_levels {
        *totals.detections_by_level.entry(level).or_default() += count;
    }
}

/// Counts one detection of `level` in `by_level`.
fn count_level(by_level: &mut BTreeMap<String, u64>, level: &str) {
    match by_level.get_mut(level) {
        Some(count) => *count += 1,
        None => {
            by_level.insert(level.to_owned(), 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    #[derive(Default)]
    struct Collect {
        detections: Vec<Detection>,
        errors: Vec<String>,
        files: Vec<PathBuf>,
    }

    impl HuntReport for Collect {
        fn file_found(&mut self, path: &Path, _bytes: u64) {
            self.files.push(path.to_path_buf());
        }
        fn detection(&mut self, detection: Detection) {
            self.detections.push(detection);
        }
        fn error(&mut self, error: ReadError) {
            self.errors.push(error.to_string());
        }
    }

    fn rule() -> Arc<RuleSummary> {
        Arc::new(RuleSummary {
            id: "r1".into(),
            title: "Process created".into(),
            level: "high".into(),
            author: "Test".into(),
            ..RuleSummary::default()
        })
    }

    /// Matches events whose EventID is 4688.
    fn matcher() -> impl FnMut(&SigmaView<'_>, &mut Vec<usize>) {
        |event, out| {
            if event.event_id() == Some(4688) {
                out.push(0);
            }
        }
    }

    #[test]
    fn output_is_in_input_order_whatever_the_threads_and_errors_keep_their_lines() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::new();
        for line in 1..=5000u64 {
            if line % 1000 == 0 {
                text.push_str("{not json\n");
            } else {
                let id = if line % 3 == 0 { 4688 } else { 4624 };
                writeln!(text, r#"{{"Event":{{"System":{{"EventID":{id},"EventRecordID":{line},"Channel":"Security","Computer":"pc"}},"EventData":{{"N":"{line}"}}}}}}"#).unwrap();
            }
        }
        std::fs::write(dir.path().join("a.jsonl"), &text).unwrap();
        std::fs::write(dir.path().join("b.jsonl"), &text).unwrap();

        let mut runs = Vec::new();
        for threads in [1, 2, 7] {
            let options = HuntOptions {
                threads,
                units_in_flight: threads,
                read: ReadOptions {
                    batch_bytes: 4096,
                    ..ReadOptions::default()
                },
                render: None,
                correlations: None,
                ..HuntOptions::default()
            };
            let mut report = Collect::default();
            let totals = hunt(
                &[dir.path().to_path_buf()],
                &[rule()],
                &options,
                matcher,
                &mut report,
            );
            assert_eq!(totals.files, 2);
            assert_eq!(totals.events, 2 * 4995);
            assert_eq!(totals.errors, 10, "{:?}", report.errors);
            assert!(
                report.errors[0].contains("a.jsonl") && report.errors[0].contains("1000"),
                "{:?}",
                report.errors
            );
            let records: Vec<(String, u64)> = report
                .detections
                .iter()
                .map(|d| (d.event.file.to_string(), d.event.record_id.unwrap()))
                .collect();
            let expected: u64 = (1..=5000u64)
                .filter(|l| l % 3 == 0 && l % 1000 != 0)
                .count() as u64;
            assert_eq!(totals.detections(), 2 * expected);
            assert_eq!(records.len() as u64, 2 * expected);
            runs.push(records);
        }
        assert!(
            runs.windows(2).all(|w| w[0] == w[1]),
            "output order depends on the threads"
        );
        let first = &runs[0];
        assert!(first[0].0.ends_with("a.jsonl") && first[0].1 == 3);
        assert!(first.last().unwrap().0.ends_with("b.jsonl"));
    }

    /// Writes detections the way `nigehban hunt` does, whichever way they come.
    struct Written {
        writer: DetectionWriter<Vec<u8>>,
        detections: usize,
    }

    impl HuntReport for Written {
        fn detection(&mut self, detection: Detection) {
            self.detections += 1;
            self.writer.write(&detection).unwrap();
        }
        fn rendered(&mut self, rendered: &[u8]) {
            assert!(!rendered.is_empty());
            self.writer.write_rendered(rendered).unwrap();
        }
        fn error(&mut self, _error: ReadError) {}
    }

    #[test]
    fn detections_rendered_by_the_workers_are_written_as_the_report_would_write_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::new();
        for line in 1..=3000u64 {
            let id = if line % 3 == 0 { 4688 } else { 4624 };
            writeln!(
                text,
                r##"{{"Event":{{"System":{{"EventID":{id},"EventRecordID":{line},"Channel":"Security","Computer":"pc \"{line}\"","TimeCreated":{{"#attributes":{{"SystemTime":"2019-03-20T01:34:25+02:00"}}}}}},"EventData":{{"N":"{line}, \u00e9"}}}}}}"##
            )
            .unwrap();
        }
        std::fs::write(dir.path().join("a.jsonl"), &text).unwrap();
        // Pretty-printed documents, which detections put on one line.
        std::fs::write(
            dir.path().join("c.json"),
            "{\n  \"Event\": {\"System\": {\"EventID\": 4688}}\n}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("b.json"),
            "[{\"Event\":\n {\"System\": {\"EventID\": 4688}}}]",
        )
        .unwrap();
        let rules = [
            rule(),
            Arc::new(RuleSummary {
                id: "r2".into(),
                title: "Second, \"quoted\"".into(),
                level: "low".into(),
                author: "Someone".into(),
                ..RuleSummary::default()
            }),
        ];
        let both = || {
            |event: &SigmaView<'_>, out: &mut Vec<usize>| {
                if event.event_id() == Some(4688) {
                    out.extend([0, 1]);
                }
            }
        };
        for format in [Format::Jsonl, Format::Csv, Format::Table] {
            let mut outputs = Vec::new();
            for (threads, render) in [(1, None), (1, Some(format)), (3, Some(format))] {
                let options = HuntOptions {
                    threads,
                    units_in_flight: threads,
                    read: ReadOptions {
                        batch_bytes: 4096,
                        ..ReadOptions::default()
                    },
                    render,
                    correlations: None,
                    ..HuntOptions::default()
                };
                let mut report = Written {
                    writer: DetectionWriter::new(format, Vec::new()),
                    detections: 0,
                };
                let totals = hunt(
                    &[dir.path().to_path_buf()],
                    &rules,
                    &options,
                    both,
                    &mut report,
                );
                assert_eq!(totals.detections(), 2 * 1002, "{format:?} {render:?}");
                assert_eq!(totals.detections_by_level["low"], 1002);
                assert_eq!(report.detections, if render.is_some() { 0 } else { 2004 });
                report.writer.flush().unwrap();
                outputs.push(report.writer.take_output().unwrap());
            }
            assert!(outputs[0].len() > 2004 * 50, "{format:?}");
            let text = String::from_utf8_lossy(&outputs[0]);
            assert!(text.contains("quoted"), "{text}");
            for other in &outputs[1..] {
                assert!(
                    other == &outputs[0],
                    "{format:?}: rendered by workers:\n{}\nwritten by the report:\n{}",
                    String::from_utf8_lossy(other),
                    text
                );
            }
        }
    }

    #[test]
    fn unreadable_inputs_are_reported_and_the_rest_is_hunted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("1.txt"), "this is not a log").unwrap();
        std::fs::write(
            dir.path().join("2.json"),
            r#"{"Event":{"System":{"EventID":4688,"EventRecordID":9}}}"#,
        )
        .unwrap();
        let mut report = Collect::default();
        let totals = hunt(
            &[dir.path().to_path_buf(), dir.path().join("missing.evtx")],
            &[rule()],
            &HuntOptions::default(),
            matcher,
            &mut report,
        );
        assert_eq!(totals.detections(), 1);
        assert_eq!(totals.errors, 1, "{:?}", report.errors);
        assert!(report.errors.iter().any(|e| e.contains("missing.evtx")));
        // Found in a directory, a file that is not a log is left out, not an error ...
        assert_eq!(totals.skipped_files, 1);
        // ... but named on the command line, it is.
        let mut report = Collect::default();
        let totals = hunt(
            &[dir.path().join("1.txt")],
            &[rule()],
            &HuntOptions::default(),
            matcher,
            &mut report,
        );
        assert_eq!(totals.errors, 1);
        assert!(report.errors[0].contains("1.txt"), "{:?}", report.errors);
    }
}
