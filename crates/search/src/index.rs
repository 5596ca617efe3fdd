//! [`EventIndex`]: the tantivy index in `<data-dir>/search/`, its writer, reader and metrics.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nigehban_bus::Delivery;
use nigehban_normalise::NormalisedEvent;
use nigehban_normalise::envelope::decode_event;
use rustc_hash::FxHashSet;
use tantivy::InvertedIndexReader;
use tantivy::collector::Count;
use tantivy::directory::MmapDirectory;
use tantivy::directory::error::OpenDirectoryError;
use tantivy::indexer::LogMergePolicy;
use tantivy::query::{Query, RangeQuery, TermSetQuery};
use tantivy::schema::Value;
use tantivy::store::Compressor;
use tantivy::tokenizer::{TextAnalyzer, TokenizerManager};
use tantivy::{
    DateTime, Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy, Searcher,
    TantivyDocument, TantivyError, Term,
};
use time::OffsetDateTime;

use crate::aggregate::{self, Aggregation, Aggregations};
use crate::catalogue::{self, FieldInfo};
use crate::collector::{PageCollector, PageHit};
use crate::document::{
    KEY_SEPARATOR, KEY_SEPARATOR_NEXT, RejectReason, dedup_key, prepare, to_index_date,
};
use crate::error::SearchError;
use crate::query::{EventQuery, Plan, SortKey, SortOrder, TenantScope, plan};
use crate::schema::{EventSchema, TEXT_ANALYZER, text_analyzer};

/// Where the index lives under the data directory. The schema version is in the name, so a
/// future schema builds a new index beside the old one instead of misreading it.
///
/// v3: the members of JSON records' originals are indexed by their dotted paths, and the
/// stored event is read with the envelope codec (v2 had no `name=value` terms for them).
pub const INDEX_DIR: &str = "search/events-v4";

/// Where indexes of earlier schemas lived (reported at open, never read).
const EARLIER_INDEX_DIRS: &[&str] = &["search/events-v1", "search/events-v2", "search/events-v3"];

/// How long events are kept by default: 30 days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// The least writer memory per indexing thread (tantivy needs 15 MB).
const MIN_MEMORY_PER_THREAD: usize = 16 * 1024 * 1024;

/// Settings of an [`EventIndex`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexOptions {
    /// Events whose ingest time (`event.ingested`) is older than this are deleted by
    /// [`EventIndex::enforce_retention`].
    pub retention: Duration,
    /// Indexing threads; 0 picks the number of cores, at most 4. The default is 1: each
    /// thread writes a segment of its own, with its own copy of every common term, so more
    /// threads cost more CPU per event (in segment writing and later merges) to go faster
    /// on idle cores; on the shared 2-core machine that CPU is taken from intake.
    pub writer_threads: usize,
    /// Memory for buffering new documents, shared by the indexing threads (at least 16 MiB
    /// per thread; fewer threads are used when it is smaller).
    pub writer_memory_bytes: usize,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            retention: DEFAULT_RETENTION,
            writer_threads: 1,
            writer_memory_bytes: 64 * 1024 * 1024,
        }
    }
}

/// A snapshot of the index's counters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchMetrics {
    /// Documents written since open (a redelivered event replaces its earlier copy and
    /// counts again).
    pub indexed: u64,
    /// Deliveries not indexed because they were not usable events, since open.
    pub rejected: u64,
    /// Of those, by reason ([`RejectReason::label`]).
    pub rejected_by_reason: Vec<(&'static str, u64)>,
    /// Commits since open.
    pub commits: u64,
    /// Time spent committing since open, in seconds.
    pub commit_seconds_total: f64,
    /// The slowest commit since open, in seconds.
    pub commit_seconds_max: f64,
    /// The last commit, in seconds.
    pub commit_seconds_last: f64,
    /// Events deleted by retention since open.
    pub retention_deleted: u64,
    /// Events searchable now.
    pub documents: u64,
    /// Bytes the index takes on disk now (files not yet garbage-collected included).
    pub index_bytes: u64,
}

/// What [`EventIndex::add_deliveries`] did with a batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddOutcome {
    /// Events written (searchable after the next commit).
    pub indexed: usize,
    /// Deliveries not indexed, by offset, with the reason.
    pub rejected: Vec<(u64, RejectReason)>,
}

/// What one commit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitStats {
    /// How long it took, fsyncs included.
    pub latency: Duration,
}

/// What a retention pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionOutcome {
    /// Events ingested before this time were deleted.
    pub cutoff: OffsetDateTime,
    /// How many committed events were deleted.
    pub deleted: u64,
}

#[derive(Default)]
struct Counters {
    indexed: AtomicU64,
    rejected_content_type: AtomicU64,
    rejected_not_an_event: AtomicU64,
    rejected_tenant_mismatch: AtomicU64,
    rejected_bad_id: AtomicU64,
    commits: AtomicU64,
    commit_nanos_total: AtomicU64,
    commit_nanos_max: AtomicU64,
    commit_nanos_last: AtomicU64,
    retention_deleted: AtomicU64,
}

impl Counters {
    fn rejected(&self, reason: &RejectReason) -> &AtomicU64 {
        match reason {
            RejectReason::ContentType(_) => &self.rejected_content_type,
            RejectReason::NotAnEvent(_) => &self.rejected_not_an_event,
            RejectReason::TenantMismatch { .. } => &self.rejected_tenant_mismatch,
            RejectReason::BadId(_) => &self.rejected_bad_id,
        }
    }
}

struct Inner {
    path: PathBuf,
    schema: EventSchema,
    analyzer: TextAnalyzer,
    reader: IndexReader,
    /// `None` once closed. Adds, deletes and commits all go through this one writer.
    writer: Mutex<Option<IndexWriter>>,
    /// Dedup keys written since the last commit. Locked only while `writer` is held.
    uncommitted: Mutex<FxHashSet<String>>,
    options: IndexOptions,
    counters: Counters,
}

/// The embedded event index. Cheap to clone; every clone is the same index.
#[derive(Clone)]
pub struct EventIndex {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EventIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventIndex")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl EventIndex {
    /// Opens (creating if needed) the index in `<data_dir>/search/events-v4`.
    ///
    /// Only one process may have it open: a second gets [`SearchError::Locked`]. An index
    /// left by a process that was killed opens at its last commit. Ask
    /// [`EventIndex::exists`] first to know whether it will be created.
    pub fn open(data_dir: impl AsRef<Path>, options: IndexOptions) -> Result<Self, SearchError> {
        let path = data_dir.as_ref().join(INDEX_DIR);
        for earlier in EARLIER_INDEX_DIRS {
            let earlier = data_dir.as_ref().join(earlier);
            if earlier.is_dir() {
                // It is never read: its documents lack what this schema indexes. The events
                // come back from the bus, which still holds those of its retention period.
                tracing::warn!(
                    path = %earlier.display(),
                    new_path = %path.display(),
                    "an event index of an earlier schema is here and is not read by this version: a new index is built from the events the bus still holds (those older than the bus retention are no longer searchable); remove the old directory to reclaim its space"
                );
            }
        }
        std::fs::create_dir_all(&path).map_err(SearchError::io(&path))?;
        let (threads, memory) = writer_budget(&options)?;
        let schema = EventSchema::new();
        let directory = MmapDirectory::open(&path).map_err(|error| match error {
            OpenDirectoryError::IoError { io_error, .. } => SearchError::Io {
                path: path.clone(),
                source: std::io::Error::new(io_error.kind(), io_error.to_string()),
            },
            other => SearchError::Io {
                path: path.clone(),
                source: std::io::Error::other(other.to_string()),
            },
        })?;
        let tokenizers = TokenizerManager::default();
        tokenizers.register(TEXT_ANALYZER, text_analyzer());
        let settings = IndexSettings {
            docstore_compression: Compressor::Lz4,
            ..IndexSettings::default()
        };
        let index = Index::builder()
            .schema(schema.schema.clone())
            .settings(settings)
            .tokenizers(tokenizers)
            .open_or_create(directory)
            .map_err(|error| match error {
                TantivyError::SchemaError(detail) => SearchError::IncompatibleIndex {
                    path: path.clone(),
                    detail,
                },
                other => SearchError::Index {
                    operation: "open",
                    source: other,
                },
            })?;
        let writer: IndexWriter =
            index
                .writer_with_num_threads(threads, memory)
                .map_err(|error| match error {
                    TantivyError::LockFailure(..) => SearchError::Locked { path: path.clone() },
                    other => SearchError::Index {
                        operation: "open writer",
                        source: other,
                    },
                })?;
        let mut merge_policy = LogMergePolicy::default();
        // Segments that retention has mostly emptied are rewritten, so disk space comes back.
        merge_policy.set_del_docs_ratio_before_merge(0.3);
        writer.set_merge_policy(Box::new(merge_policy));
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(SearchError::index("open reader"))?;
        tracing::info!(path = %path.display(), documents = reader.searcher().num_docs(), "event index open");
        Ok(EventIndex {
            inner: Arc::new(Inner {
                path,
                schema,
                analyzer: text_analyzer(),
                reader,
                writer: Mutex::new(Some(writer)),
                uncommitted: Mutex::new(FxHashSet::default()),
                options,
                counters: Counters::default(),
            }),
        })
    }

    /// The index directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The options it was opened with.
    pub fn options(&self) -> &IndexOptions {
        &self.inner.options
    }

    /// Whether an index of this schema is in `data_dir`. When there is none,
    /// [`EventIndex::open`] creates an empty one, and the consumer that feeds it should
    /// start again from the oldest event on the bus, whatever it acknowledged into an index
    /// that is gone (a new schema, a restored backup, an index deleted by hand).
    pub fn exists(data_dir: impl AsRef<Path>) -> Result<bool, SearchError> {
        let path = data_dir.as_ref().join(INDEX_DIR);
        if !path.is_dir() {
            return Ok(false);
        }
        let directory = MmapDirectory::open(&path).map_err(|error| SearchError::Io {
            path: path.clone(),
            source: std::io::Error::other(error.to_string()),
        })?;
        Index::exists(&directory).map_err(|error| SearchError::Io {
            path,
            source: std::io::Error::other(error.to_string()),
        })
    }

    /// Whether the index can take events now (for readiness probes): its writer is
    /// open and its directory is still there (not a lost mount or a removed directory).
    pub fn check_ready(&self) -> Result<(), SearchError> {
        drop(self.writer()?);
        match std::fs::metadata(&self.inner.path) {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(SearchError::Io {
                path: self.inner.path.clone(),
                source: std::io::Error::other("not a directory"),
            }),
            Err(source) => Err(SearchError::Io {
                path: self.inner.path.clone(),
                source,
            }),
        }
    }

    fn writer(&self) -> Result<MutexGuard<'_, Option<IndexWriter>>, SearchError> {
        // A panic while holding the lock leaves tantivy's writer usable: its own state is
        // behind its own locks, so a poisoned guard is taken over.
        let guard = self
            .inner
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if guard.is_none() {
            return Err(SearchError::Closed);
        }
        Ok(guard)
    }

    /// Decodes and writes a batch of bus deliveries; they become searchable (and may be
    /// acknowledged) after the next [`EventIndex::commit`].
    ///
    /// Payloads are read with the envelope codec
    /// ([`nigehban_normalise::envelope::decode_event`]). An event already in the index
    /// (same tenant and id: a redelivery) replaces its earlier copy, so at-least-once
    /// delivery indexes each event once. Deliveries that are not usable events are logged,
    /// counted and returned in [`AddOutcome::rejected`].
    pub fn add_deliveries(&self, deliveries: &[Delivery]) -> Result<AddOutcome, SearchError> {
        let schema = &self.inner.schema;
        let mut outcome = AddOutcome::default();
        let mut prepared = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            match prepare(schema, delivery) {
                Ok(p) => prepared.push(p),
                Err(reason) => {
                    tracing::warn!(
                        offset = delivery.offset,
                        tenant = %delivery.record.tenant_id,
                        sensor = %delivery.record.sensor_id,
                        reason = reason.label(),
                        "event not indexed: {reason}"
                    );
                    self.inner
                        .counters
                        .rejected(&reason)
                        .fetch_add(1, Ordering::Relaxed);
                    outcome.rejected.push((delivery.offset, reason));
                }
            }
        }
        let guard = self.writer()?;
        let writer = guard.as_ref().ok_or(SearchError::Closed)?;
        // Every commit reloads the reader before it lets go of the writer, so under the
        // writer lock this snapshot holds every committed event, and `uncommitted` the rest.
        let committed = CommittedKeys::new(&self.inner.reader.searcher(), schema.key)?;
        let mut uncommitted = lock(&self.inner.uncommitted);
        for p in prepared {
            let term = Term::from_field_text(schema.key, &p.key);
            // An event already written (a redelivery, or the same event published twice)
            // is deleted before its new copy is added: tantivy applies a delete to every
            // document added before it, committed or not, so the newest copy stays. Only
            // those pay for a delete; a first sighting, nearly every event, costs one
            // term-dictionary lookup per segment instead.
            let first_since_commit = uncommitted.insert(p.key);
            if !first_since_commit || committed.contains(&term)? {
                writer.delete_term(term);
            }
            writer
                .add_document(p.doc)
                .map_err(SearchError::index("add"))?;
            outcome.indexed += 1;
        }
        drop(uncommitted);
        drop(guard);
        self.inner
            .counters
            .indexed
            .fetch_add(outcome.indexed as u64, Ordering::Relaxed);
        Ok(outcome)
    }

    /// Makes everything written so far durable and searchable.
    ///
    /// When this returns, the events are on disk (segment files and the commit record
    /// fsynced, and the directory too), so their bus deliveries may be acknowledged.
    pub fn commit(&self) -> Result<CommitStats, SearchError> {
        let started = Instant::now();
        let mut guard = self.writer()?;
        let writer = guard.as_mut().ok_or(SearchError::Closed)?;
        if let Err(error) = writer.commit() {
            // Put the writer back at the last commit; what was lost was never acknowledged.
            let _ = writer.rollback();
            return Err(SearchError::Index {
                operation: "commit",
                source: error,
            });
        }
        // tantivy renames the new meta.json into place after fsyncing it; fsyncing the
        // directory makes the rename itself survive a power loss, not only a crash.
        sync_directory(&self.inner.path)?;
        // Reloaded before the writer is let go: `add_deliveries` relies on the reader
        // seeing every committed event, now that `uncommitted` forgets them.
        self.inner
            .reader
            .reload()
            .map_err(SearchError::index("reload"))?;
        lock(&self.inner.uncommitted).clear();
        drop(guard);
        let latency = started.elapsed();
        let counters = &self.inner.counters;
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        counters.commits.fetch_add(1, Ordering::Relaxed);
        counters
            .commit_nanos_total
            .fetch_add(nanos, Ordering::Relaxed);
        counters
            .commit_nanos_max
            .fetch_max(nanos, Ordering::Relaxed);
        counters.commit_nanos_last.store(nanos, Ordering::Relaxed);
        tracing::debug!(
            latency_ms = latency.as_millis() as u64,
            "event index commit"
        );
        Ok(CommitStats { latency })
    }

    /// Runs a query; hits are read lazily, page by page, from one snapshot of the index.
    ///
    /// Checks the query first: bad field names, a `from` after `to`, a limit out of range,
    /// a foreign cursor and text without words are [`SearchError::InvalidQuery`].
    pub fn search(&self, query: &EventQuery) -> Result<EventHits, SearchError> {
        let searcher = self.inner.reader.searcher();
        let plan = plan(&searcher, &self.inner.schema, &self.inner.analyzer, query)?;
        Ok(EventHits {
            index: self.clone(),
            searcher,
            scope: query.tenants.clone(),
            after: plan.after,
            plan,
            buffer: VecDeque::new(),
            yielded: 0,
            exhausted: false,
            page_size: FIRST_PAGE,
            last: None,
        })
    }

    /// How many events match `query` (its limit and cursor ignored).
    pub fn count(&self, query: &EventQuery) -> Result<u64, SearchError> {
        let searcher = self.inner.reader.searcher();
        let plan = plan(&searcher, &self.inner.schema, &self.inner.analyzer, query)?;
        if plan.matches_nothing {
            return Ok(0);
        }
        let query = plan.page_query(self.inner.schema.timestamp, None);
        let count = searcher
            .search(&*query, &Count)
            .map_err(SearchError::index("count"))?;
        Ok(count as u64)
    }

    /// The fields the scope can search: the built-in ones and every name its events have,
    /// sorted by name.
    pub fn fields(&self, scope: &TenantScope) -> Result<Vec<FieldInfo>, SearchError> {
        let searcher = self.inner.reader.searcher();
        catalogue::fields_in_scope(&searcher, &self.inner.schema, scope)
    }

    /// Counts the events matching `query` (its limit, cursor and order ignored): the total,
    /// a field's top values and events over time, as `aggregation` asks.
    pub fn aggregate(
        &self,
        query: &EventQuery,
        aggregation: &Aggregation,
    ) -> Result<Aggregations, SearchError> {
        let searcher = self.inner.reader.searcher();
        let plan = plan(&searcher, &self.inner.schema, &self.inner.analyzer, query)?;
        aggregate::run(&searcher, &self.inner.schema, &plan, aggregation)
    }

    /// The event with this id, if the scope may see it.
    pub fn get(&self, scope: &TenantScope, id: &str) -> Result<Option<EventHit>, SearchError> {
        let schema = &self.inner.schema;
        // Through the dedup key (`id \x1f tenant`): the id is not indexed on its own.
        let query: Box<dyn Query> = match scope.tenant_set() {
            Some(set) if set.is_empty() => return Ok(None),
            Some(set) => Box::new(TermSetQuery::new(
                set.iter()
                    .map(|t| Term::from_field_text(schema.key, &dedup_key(t, id))),
            )),
            None => {
                // Every key that starts with `id \x1f`: ids hold no control character, so
                // no other id's keys fall inside.
                let mut low = String::with_capacity(id.len() + 1);
                low.push_str(id);
                low.push(KEY_SEPARATOR);
                let mut high = low.clone();
                high.pop();
                high.push(KEY_SEPARATOR_NEXT);
                Box::new(RangeQuery::new(
                    std::ops::Bound::Included(Term::from_field_text(schema.key, &low)),
                    std::ops::Bound::Excluded(Term::from_field_text(schema.key, &high)),
                ))
            }
        };
        let searcher = self.inner.reader.searcher();
        let collector = PageCollector {
            limit: 1,
            after: None,
            order: SortOrder::NewestFirst,
        };
        let hits = searcher
            .search(&*query, &collector)
            .map_err(SearchError::index("get"))?;
        match hits.first() {
            Some(hit) => self.load_hit(&searcher, scope, *hit, SortOrder::NewestFirst),
            None => Ok(None),
        }
    }

    /// Deletes the events ingested longer ago than the retention before `now`, and commits.
    ///
    /// Age is measured by ingest time (`event.ingested`, the time intake received the
    /// record), not by `@timestamp`: a sender with a wrong clock (a year in the past, or
    /// unset) would otherwise have its events deleted on arrival, or kept for ever. `now`
    /// is the caller's clock; nothing here reads one.
    pub fn enforce_retention(&self, now: OffsetDateTime) -> Result<RetentionOutcome, SearchError> {
        let retention = time::Duration::try_from(self.inner.options.retention)
            .map_err(|_| SearchError::Config("retention is too long".into()))?;
        let cutoff = now
            .checked_sub(retention)
            .ok_or_else(|| SearchError::Config("retention reaches before the year 1678".into()))?;
        let Some(cutoff_date) = to_index_date(cutoff) else {
            return Ok(RetentionOutcome { cutoff, deleted: 0 });
        };
        let expired = RangeQuery::new(
            std::ops::Bound::Unbounded,
            std::ops::Bound::Excluded(Term::from_field_date(
                self.inner.schema.ingested,
                cutoff_date,
            )),
        );
        let deleted = self
            .inner
            .reader
            .searcher()
            .search(&expired, &Count)
            .map_err(SearchError::index("retention count"))? as u64;
        if deleted == 0 {
            return Ok(RetentionOutcome { cutoff, deleted });
        }
        {
            let guard = self.writer()?;
            let writer = guard.as_ref().ok_or(SearchError::Closed)?;
            writer
                .delete_query(Box::new(expired))
                .map_err(SearchError::index("retention delete"))?;
        }
        self.commit()?;
        self.inner
            .counters
            .retention_deleted
            .fetch_add(deleted, Ordering::Relaxed);
        tracing::info!(deleted, cutoff = %cutoff, "event retention applied");
        Ok(RetentionOutcome { cutoff, deleted })
    }

    /// A snapshot of the counters, the number of events and the size on disk.
    pub fn metrics(&self) -> SearchMetrics {
        let c = &self.inner.counters;
        let seconds = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64 / 1e9;
        let by_reason = vec![
            (
                "content_type",
                c.rejected_content_type.load(Ordering::Relaxed),
            ),
            (
                "not_an_event",
                c.rejected_not_an_event.load(Ordering::Relaxed),
            ),
            (
                "tenant_mismatch",
                c.rejected_tenant_mismatch.load(Ordering::Relaxed),
            ),
            ("bad_id", c.rejected_bad_id.load(Ordering::Relaxed)),
        ];
        SearchMetrics {
            indexed: c.indexed.load(Ordering::Relaxed),
            rejected: by_reason.iter().map(|(_, n)| n).sum(),
            rejected_by_reason: by_reason,
            commits: c.commits.load(Ordering::Relaxed),
            commit_seconds_total: seconds(&c.commit_nanos_total),
            commit_seconds_max: seconds(&c.commit_nanos_max),
            commit_seconds_last: seconds(&c.commit_nanos_last),
            retention_deleted: c.retention_deleted.load(Ordering::Relaxed),
            documents: self.inner.reader.searcher().num_docs(),
            index_bytes: directory_bytes(&self.inner.path),
        }
    }

    /// Stops the writer after its merges finish. Anything written but not committed is
    /// dropped (it was never acknowledged, so the bus delivers it again). Searches on other
    /// clones keep working on the last commit; writes return [`SearchError::Closed`].
    pub fn close(&self) -> Result<(), SearchError> {
        let writer = self
            .inner
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(writer) = writer {
            writer
                .wait_merging_threads()
                .map_err(SearchError::index("close"))?;
        }
        Ok(())
    }

    /// Reads a hit's stored document.
    fn load_hit(
        &self,
        searcher: &Searcher,
        scope: &TenantScope,
        hit: PageHit,
        order: SortOrder,
    ) -> Result<Option<EventHit>, SearchError> {
        let schema = &self.inner.schema;
        let doc: TantivyDocument = searcher
            .doc(hit.address)
            .map_err(SearchError::index("read document"))?;
        let text = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str().map(str::to_owned))
        };
        let id = text(schema.id).unwrap_or_default();
        let tenant_id = text(schema.tenant).unwrap_or_default();
        if !scope.contains(&tenant_id) {
            // The query holds the tenant clause, so this cannot happen; if it ever did,
            // the hit is withheld rather than shown to the wrong tenant.
            tracing::error!(id = %id, "event outside the query's tenant scope withheld");
            return Ok(None);
        }
        let sensor_id = text(schema.sensor);
        let payload = doc
            .get_first(schema.event)
            .and_then(|v| v.as_bytes())
            .ok_or_else(|| SearchError::CorruptDocument {
                id: id.clone(),
                reason: "the stored event is missing".into(),
            })?;
        // The bus payload as intake wrote it: the envelope codec restores the original.
        let (_, mut event) =
            decode_event(payload).map_err(|error| SearchError::CorruptDocument {
                id: id.clone(),
                reason: error.to_string(),
            })?;
        if event.tenant_id().is_none() {
            event.set_tenant_id(Some(tenant_id.clone()));
        }
        if event.sensor_id().is_none() {
            event.set_sensor_id(sensor_id.clone());
        }
        let timestamp = DateTime::from_timestamp_micros(hit.key.micros).into_utc();
        Ok(Some(EventHit {
            id,
            tenant_id,
            sensor_id,
            timestamp,
            cursor: hit.key.cursor(order),
            event,
        }))
    }
}

/// The dedup keys of the committed segments, for checking whether an event is already there.
struct CommittedKeys {
    segments: Vec<Arc<InvertedIndexReader>>,
}

impl CommittedKeys {
    fn new(searcher: &Searcher, key: tantivy::schema::Field) -> Result<Self, SearchError> {
        let segments = searcher
            .segment_readers()
            .iter()
            .map(|segment| segment.inverted_index(key))
            .collect::<Result<_, _>>()
            .map_err(SearchError::index("read keys"))?;
        Ok(CommittedKeys { segments })
    }

    /// Whether any committed segment holds the key (a document since deleted still
    /// counts: deleting it again is harmless).
    fn contains(&self, term: &Term) -> Result<bool, SearchError> {
        for segment in &self.segments {
            let found = segment
                .get_term_info(term)
                .map_err(|error| SearchError::Index {
                    operation: "read keys",
                    source: error.into(),
                })?;
            if found.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Takes a lock; a panic while it was held leaves only a set of keys, which is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn writer_budget(options: &IndexOptions) -> Result<(usize, usize), SearchError> {
    if options.writer_memory_bytes < MIN_MEMORY_PER_THREAD {
        return Err(SearchError::Config(format!(
            "writer memory {} bytes is below the minimum of {MIN_MEMORY_PER_THREAD}",
            options.writer_memory_bytes
        )));
    }
    let wanted = match options.writer_threads {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(4),
        n => n,
    };
    let threads = wanted
        .min(options.writer_memory_bytes / MIN_MEMORY_PER_THREAD)
        .max(1);
    let memory = options
        .writer_memory_bytes
        .min(threads * 1024 * 1024 * 1024);
    Ok((threads, memory))
}

fn sync_directory(path: &Path) -> Result<(), SearchError> {
    std::fs::File::open(path)
        .and_then(|dir| dir.sync_all())
        .map_err(SearchError::io(path))
}

fn directory_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.metadata().ok())
        .filter(|meta| meta.is_file())
        .map(|meta| meta.len())
        .sum()
}

/// One event found by a search.
#[derive(Debug, Clone, PartialEq)]
pub struct EventHit {
    /// The event id.
    pub id: String,
    /// The tenant that owns it.
    pub tenant_id: String,
    /// The sensor that sent it.
    pub sensor_id: Option<String>,
    /// Its `@timestamp` as indexed (microseconds).
    pub timestamp: OffsetDateTime,
    /// Pass as [`EventQuery::cursor`] to continue after this hit.
    pub cursor: String,
    /// The event with its original record.
    pub event: NormalisedEvent,
}

/// Size of the first internal page; pages double up to [`MAX_PAGE`].
const FIRST_PAGE: usize = 256;
/// Largest internal page: hits are held as 32-byte keys until read, so a page is small.
const MAX_PAGE: usize = 8192;

/// The hits of a search, read lazily from one snapshot of the index.
///
/// Internally it pages with "after this (timestamp, id)" cursors, so a million hits never
/// sit in memory at once. After stopping (at the limit, or early), [`EventHits::next_cursor`]
/// says where to continue. The iterator is `Send`: run it on a blocking thread and stream.
pub struct EventHits {
    index: EventIndex,
    searcher: Searcher,
    scope: TenantScope,
    plan: Plan,
    /// Position after which the next page starts.
    after: Option<SortKey>,
    buffer: VecDeque<PageHit>,
    yielded: usize,
    exhausted: bool,
    page_size: usize,
    last: Option<SortKey>,
}

impl std::fmt::Debug for EventHits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventHits")
            .field("yielded", &self.yielded)
            .field("limit", &self.plan.limit)
            .finish_non_exhaustive()
    }
}

impl EventHits {
    /// The cursor to continue after the last hit returned, if more hits may follow.
    pub fn next_cursor(&self) -> Option<String> {
        let last = self.last?;
        if self.buffer.is_empty() && self.exhausted {
            return None;
        }
        Some(last.cursor(self.plan.order))
    }

    fn fetch_page(&mut self) -> Result<(), SearchError> {
        let remaining = self.plan.limit - self.yielded;
        // One more than needed tells whether anything follows the last hit returned.
        let wanted = self.page_size.min(remaining) + 1;
        let timestamp = self.index.inner.schema.timestamp;
        let query = self.plan.page_query(timestamp, self.after);
        let collector = PageCollector {
            limit: wanted,
            after: self.after,
            order: self.plan.order,
        };
        let page = self
            .searcher
            .search(&*query, &collector)
            .map_err(SearchError::index("search"))?;
        if page.len() < wanted {
            self.exhausted = true;
        }
        if let Some(last) = page.last() {
            self.after = Some(last.key);
        }
        self.buffer.extend(page);
        self.page_size = (self.page_size * 2).min(MAX_PAGE);
        Ok(())
    }
}

impl Iterator for EventHits {
    type Item = Result<EventHit, SearchError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.plan.matches_nothing {
            return None;
        }
        loop {
            if self.yielded >= self.plan.limit {
                return None;
            }
            if self.buffer.is_empty() {
                if self.exhausted {
                    return None;
                }
                if let Err(error) = self.fetch_page() {
                    self.exhausted = true;
                    return Some(Err(error));
                }
                continue;
            }
            let hit = self.buffer.pop_front()?;
            let loaded = self
                .index
                .load_hit(&self.searcher, &self.scope, hit, self.plan.order);
            self.last = Some(hit.key);
            match loaded {
                Ok(Some(event)) => {
                    self.yielded += 1;
                    return Some(Ok(event));
                }
                Ok(None) => continue,
                Err(error) => {
                    self.yielded += 1;
                    return Some(Err(error));
                }
            }
        }
    }
}
