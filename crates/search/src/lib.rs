//! Event search: normalised events kept for a configurable retention in an embedded
//! tantivy index, fed from the durable bus, searched with tenant-scoped queries.
//!
//! # Using it (what the server does)
//!
//! ```text
//! let index = EventIndex::open(&data_dir, IndexOptions::default())?;   // <data-dir>/search/events-v4
//! let consumer = bus.consumer(DEFAULT_CONSUMER, ConsumerConfig::default()).await?;
//! let indexer = Indexer::new(index.clone(), IndexerConfig::default());
//! let task = tokio::spawn(indexer.run(consumer, shutdown_token.cancelled_owned()));
//!
//! // GET /api/v1/events: the scope is the one the authorisation policy gave the caller.
//! let scope = app.events_scope_under(&caller, under).await?;   // nigehban_app::EventScope
//! let query = EventQuery::new(scope)
//!     .between(from, to)
//!     .filter("winlog.event_id", "4688")
//!     .text("mimikatz")
//!     .limit(1000);
//! let mut hits = index.search(&query)?;            // blocking: run it in spawn_blocking
//! for hit in &mut hits { send(hit?)?; }             // stream each EventHit
//! let next = hits.next_cursor();                   // Some(cursor) when more may follow
//!
//! // retention: hourly, with the caller's clock
//! tokio::spawn(run_retention(index.clone(), Duration::from_secs(3600), OffsetDateTime::now_utc, stop));
//! ```
//!
//! # Guarantees
//!
//! * **Acknowledged means searchable.** The [`Indexer`] acknowledges a bus delivery only
//!   after the commit that holds its event has been fsynced. A crash (`kill -9`) at any
//!   moment loses nothing acknowledged.
//! * **Exactly once in search under at-least-once delivery.** Every document carries the
//!   term `id \x1f tenant`; writing an event whose term is already in a committed segment
//!   or among the events written since the last commit first deletes that term, in the
//!   same writer and the same commit, so a redelivered event replaces its own earlier
//!   copy (and the many events seen for the first time pay no delete). The id is
//!   the event id intake assigned (a UUID, the same on every redelivery). Because the term
//!   includes the tenant, no tenant can replace another tenant's event, whatever id it
//!   sends. (The ECS `event.id` is not used as an identity: senders fill it, e.g. CEF's
//!   `externalId`, so it is neither unique nor ours.)
//! * **One codec.** Bus payloads are read with [`nigehban_normalise::envelope::decode_event`],
//!   as every consumer reads them, and the payload is stored as it came: a hit's event has
//!   its original record exactly as received (the text, and the parsed JSON for JSON
//!   records).
//! * **Bad records never block the stream.** A delivery that is not a normalised event
//!   (wrong content type, a payload the envelope codec cannot read, an event stamped with a tenant other than
//!   the bus record's, an unusable id) is logged, counted ([`SearchMetrics::rejected`])
//!   and acknowledged.
//! * **Tenant scoping is part of every query, and only the policy scopes.** A
//!   [`TenantScope`] is made only from the [`nigehban_app::EventScope`] the
//!   authorisation policy (`App::events_scope`) gave a caller: there is no default, no
//!   public constructor from tenant names and no scope of every tenant, so no code can
//!   query the index outside the policy. An empty scope sees nothing. Each hit is
//!   checked against the scope once more when it is read. (The `testing` feature adds
//!   constructors for this crate's own tests and benchmarks.)
//!
//! # Queries
//!
//! [`EventQuery`]: a `@timestamp` range (`from` inclusive, `to` exclusive), exact-match
//! field filters (different fields ANDed, one field named twice ORs its values), free-text
//! terms over every text value and terms over `message` (case-insensitive; a term of
//! several words is a phrase), a limit (1..=[`MAX_LIMIT`]), an opaque cursor, and the
//! order (newest first by default, ties broken by the event id). Filters work on any field
//! (`winlog.event_data.Image`, `log.syslog.appname`): every value is indexed as a
//! `name=value` term, and the common ECS fields have typed fields of their own
//! (`source.ip` and `destination.ip` also take CIDR blocks). Filters also name the members
//! of a JSON record's original by their dotted path from its root, so what normalisation
//! does not map is still found: Suricata's `flow.pkts_toserver` or
//! `alert.metadata.signature_severity`, Zeek's `id.orig_h` or `history`, a Windows
//! event's `Event.EventData.TargetUserName` (evtx layout) or `TargetUserName` (flat
//! layouts). A name that is both an ECS field and a member of the original matches either.
//! Text terms search the original's values too. Exact matching is case-sensitive, as ECS
//! keyword fields are. Values over [`MAX_EXACT_VALUE_BYTES`] are found by text terms only.
//!
//! Pagination is by position, not by page number: a cursor means "after this
//! (`@timestamp`, id)", so each hit comes exactly once across pages even while new events
//! arrive.
//!
//! # Retention
//!
//! [`EventIndex::enforce_retention`] deletes events whose *ingest* time is older than
//! [`IndexOptions::retention`] (default 30 days). Ingest time is the platform's clock; the
//! event's own `@timestamp` is the sender's, which may be years off.
//!
//! # Layout and schema
//!
//! `<data-dir>/search/events-v4/` holds the tantivy index (see `schema.rs` for every
//! field). An index of an earlier schema (`events-v1` to `events-v3`) is never read; open
//! says so. When [`EventIndex::exists`] says there is no index, the caller should index
//! the bus from its start.
//! The index is owned by one process at a time ([`SearchError::Locked`]). With
//! JetStream, each process that keeps its own index needs its own durable consumer name:
//! members of one consumer split the records between them.

mod aggregate;
mod catalogue;
mod collector;
mod document;
mod error;
mod index;
mod indexer;
pub mod language;
mod query;
mod schema;

pub use aggregate::{Aggregation, Aggregations, Bucket, TopValues, ValueCount};
pub use catalogue::{FieldInfo, FieldType};
pub use document::RejectReason;
pub use error::{QueryError, SearchError};
pub use index::{
    AddOutcome, CommitStats, DEFAULT_RETENTION, EventHit, EventHits, EventIndex, INDEX_DIR,
    IndexOptions, RetentionOutcome, SearchMetrics,
};
pub use indexer::{DEFAULT_CONSUMER, Indexer, IndexerConfig, IndexerReport, run_retention};
pub use query::{
    DEFAULT_LIMIT, EventQuery, FieldFilter, MAX_FIELD_NAME_BYTES, MAX_FILTERS, MAX_LIMIT,
    MAX_TEXT_TERMS, SortOrder, TenantScope,
};
pub use schema::{MAX_EXACT_VALUE_BYTES, is_name_field};

#[cfg(test)]
mod tests {
    /// The server streams hits from a blocking thread and shares the index between tasks.
    #[test]
    fn handles_cross_threads() {
        fn send<T: Send + 'static>() {}
        fn shared<T: Send + Sync + Clone + 'static>() {}
        send::<crate::EventHits>();
        send::<crate::EventHit>();
        shared::<crate::EventIndex>();
        send::<crate::Indexer>();
    }
}
