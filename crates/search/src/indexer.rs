//! [`Indexer`]: feeds the index from a durable bus consumer, acknowledging only what a
//! commit holds.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use nigehban_bus::{BusError, EventConsumer};
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::error::SearchError;
use crate::index::EventIndex;

/// The durable consumer name search uses by default.
pub const DEFAULT_CONSUMER: &str = "search";

/// Settings of an [`Indexer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexerConfig {
    /// Most deliveries asked for in one fetch.
    pub fetch_max: usize,
    /// Commit once this many deliveries are waiting (keep it below the consumer's
    /// `max_in_flight`, or fetches starve while they wait for acknowledgement).
    pub commit_every: usize,
    /// Commit at the latest this long after the first delivery of a batch arrived.
    pub commit_interval: Duration,
    /// How long a fetch waits when nothing is pending.
    pub idle_wait: Duration,
    /// Pause after a bus error before trying again.
    pub retry_backoff: Duration,
}

impl Default for IndexerConfig {
    fn default() -> Self {
        IndexerConfig {
            fetch_max: 1000,
            commit_every: 5000,
            commit_interval: Duration::from_secs(1),
            idle_wait: Duration::from_secs(1),
            retry_backoff: Duration::from_secs(1),
        }
    }
}

/// What a run of the indexer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexerReport {
    /// Events written to the index.
    pub indexed: u64,
    /// Deliveries rejected (and acknowledged).
    pub rejected: u64,
    /// Commits made.
    pub commits: u64,
    /// Deliveries acknowledged to the bus.
    pub acknowledged: u64,
    /// Bus errors survived (fetch or acknowledge failures that were retried).
    pub bus_errors: u64,
}

/// Consumes events from the bus into an [`EventIndex`].
///
/// The loop: fetch a batch, decode and write it, and once [`IndexerConfig::commit_every`]
/// deliveries wait or [`IndexerConfig::commit_interval`] has passed, commit and only then
/// acknowledge them. A crash at any point loses nothing acknowledged, and what was indexed
/// but not acknowledged is delivered again and replaces its own copy.
#[derive(Debug, Clone)]
pub struct Indexer {
    index: EventIndex,
    config: IndexerConfig,
}

impl Indexer {
    /// An indexer writing into `index`.
    pub fn new(index: EventIndex, config: IndexerConfig) -> Self {
        Indexer { index, config }
    }

    /// Runs until `shutdown` completes, then writes and commits what it holds, acknowledges
    /// it and returns. Needs a Tokio runtime that allows blocking tasks.
    ///
    /// Bus errors are logged and retried after [`IndexerConfig::retry_backoff`]; a closed
    /// bus, or an index that cannot write or commit, ends the run with the error (what was
    /// not committed is not acknowledged, so nothing is lost).
    pub async fn run<C, S>(self, mut consumer: C, shutdown: S) -> Result<IndexerReport, SearchError>
    where
        C: EventConsumer,
        S: Future<Output = ()> + Send,
    {
        let config = &self.config;
        if config.fetch_max == 0 || config.commit_every == 0 {
            return Err(SearchError::Config(
                "fetch_max and commit_every must be at least 1".into(),
            ));
        }
        let mut shutdown = pin!(shutdown);
        let mut report = IndexerReport::default();
        let mut pending: Vec<u64> = Vec::new();
        let mut pending_since: Option<Instant> = None;
        let mut stopping = false;
        tracing::info!(consumer = consumer.name(), "event indexer started");
        loop {
            let due = pending_since.map(|since| since + config.commit_interval);
            let commit_now = !pending.is_empty()
                && (stopping
                    || pending.len() >= config.commit_every
                    || due.is_some_and(|due| Instant::now() >= due));
            if commit_now {
                self.commit_and_ack(&mut consumer, &mut pending, &mut report)
                    .await?;
                pending_since = None;
                continue;
            }
            if stopping {
                break;
            }
            let wait = due.map_or(config.idle_wait, |due| {
                due.saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1))
            });
            let want = config
                .fetch_max
                .min(config.commit_every - pending.len())
                .max(1);
            let fetched = tokio::select! {
                biased;
                () = &mut shutdown => {
                    stopping = true;
                    continue;
                }
                fetched = consumer.fetch(want, wait) => fetched,
            };
            let batch = match fetched {
                Ok(batch) => batch,
                Err(BusError::Closed) => {
                    tracing::warn!("bus closed under the event indexer");
                    stopping = true;
                    continue;
                }
                Err(error) => {
                    report.bus_errors += 1;
                    tracing::warn!(%error, "event indexer fetch failed; retrying");
                    tokio::select! {
                        biased;
                        () = &mut shutdown => stopping = true,
                        () = tokio::time::sleep(config.retry_backoff) => {}
                    }
                    continue;
                }
            };
            if batch.is_empty() {
                continue;
            }
            pending_since.get_or_insert_with(Instant::now);
            let offsets: Vec<u64> = batch.iter().map(|d| d.offset).collect();
            let index = self.index.clone();
            let outcome = tokio::task::spawn_blocking(move || index.add_deliveries(&batch))
                .await
                .map_err(|join| SearchError::Config(format!("indexing task failed: {join}")))??;
            report.indexed += outcome.indexed as u64;
            report.rejected += outcome.rejected.len() as u64;
            pending.extend(offsets);
        }
        tracing::info!(
            indexed = report.indexed,
            rejected = report.rejected,
            acknowledged = report.acknowledged,
            "event indexer stopped"
        );
        Ok(report)
    }

    async fn commit_and_ack<C: EventConsumer>(
        &self,
        consumer: &mut C,
        pending: &mut Vec<u64>,
        report: &mut IndexerReport,
    ) -> Result<(), SearchError> {
        let index = self.index.clone();
        tokio::task::spawn_blocking(move || index.commit())
            .await
            .map_err(|join| SearchError::Config(format!("commit task failed: {join}")))??;
        report.commits += 1;
        match consumer.ack(pending).await {
            Ok(()) => report.acknowledged += pending.len() as u64,
            Err(BusError::Closed) => {
                pending.clear();
                return Err(SearchError::Bus(BusError::Closed));
            }
            Err(error) => {
                // The events are committed; unacknowledged, they come again and replace
                // their own copies.
                report.bus_errors += 1;
                tracing::warn!(%error, count = pending.len(), "acknowledging indexed events failed; they will be delivered again");
            }
        }
        pending.clear();
        Ok(())
    }
}

/// Applies [`EventIndex::enforce_retention`] every `every` until `shutdown` completes,
/// reading the time from `now` (the caller's clock; tests pass a fake one). A failed pass is
/// logged and tried again at the next tick. Returns the events deleted in total.
pub async fn run_retention<N, S>(index: EventIndex, every: Duration, now: N, shutdown: S) -> u64
where
    N: Fn() -> OffsetDateTime + Send,
    S: Future<Output = ()> + Send,
{
    let mut shutdown = pin!(shutdown);
    let mut deleted = 0;
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => return deleted,
            _ = ticks.tick() => {}
        }
        let at = now();
        let pass = index.clone();
        match tokio::task::spawn_blocking(move || pass.enforce_retention(at)).await {
            Ok(Ok(outcome)) => deleted += outcome.deleted,
            Ok(Err(error)) => tracing::warn!(%error, "event retention pass failed"),
            Err(join) => tracing::warn!(%join, "event retention task failed"),
        }
    }
}
