//! Correlation shared by several detection processes on one JetStream
//! stream: one state per tenant, kept in the bus's shared values and changed
//! only by compare-and-set, so that every observation of a tenant is counted
//! in one sequence of states whichever process matched its event.
//!
//! # The scheme
//!
//! Matching single events is shared as before: each process takes batches
//! of the durable consumer `detect`. For a batch whose events feed
//! correlations, the process, per tenant of those observations:
//!
//! 1. takes the tenant's state (engine and *outbox*) at its latest revision
//!    (the copy it wrote last, or read from the shared values);
//! 2. feeds it the batch's observations; the matches they complete join the
//!    outbox, which holds matches whose detections may not have reached the
//!    sink yet;
//! 3. writes the state back naming the revision it started from. If another
//!    process wrote in between, nothing is written: it reads the state again
//!    and repeats 2-3 with the newer one (the observations are still in
//!    hand);
//! 4. hands the outbox's matches (its own and any a stopped process left)
//!    to the sink as detections together with the batch's others, then
//!    acknowledges the batch;
//! 5. removes what the sink took from the outbox with one more
//!    compare-and-set (if another process wrote first, at its next write).
//!
//! Every observation is thus counted once, in a state every process sees,
//! and a match is in the shared state before its detection is handed over:
//! a process stopped between 3 and 4 leaves it in the outbox, and the next
//! process that writes the tenant's state hands it over. A correlation
//! detection's id is derived from the rule, the group and the window start
//! ([`super::CorrelationState`]), so a match handed over twice is the same
//! detection for the sink (`Detection::key`), never a second alert. A batch
//! redelivered after its state was written finds its observations already
//! counted (waiting, or older than the watermark) and adds nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::io::{Read, Write};
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use nigehban_bus::{BusError, SharedValues, Versioned, Written};
use nigehban_sigma::{CorrelationEngine, CorrelationLimits, CorrelationMatch, Observation};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::detection::Detection;
use crate::rules::DetectionRules;

/// The name of the shared values live correlation keeps its state in.
pub const SHARED_STATE_NAME: &str = "correlation";

/// Most matches an outbox holds; beyond, the oldest are dropped (logged):
/// they were handed over at least once by the process that found them.
const MAX_OUTBOX: usize = 10_000;

/// Times a batch's observations are applied to a newer state before the
/// batch is given up (and delivered again later).
const MAX_ATTEMPTS: usize = 64;

/// Why the shared correlation state could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SharedStateError {
    /// The bus failed.
    #[error("shared correlation state: {0}")]
    Bus(#[from] BusError),
    /// The stored state cannot be read.
    #[error("shared correlation state of tenant {tenant} cannot be read: {reason}")]
    Corrupt {
        /// The tenant.
        tenant: String,
        /// What is wrong.
        reason: String,
    },
    /// Other processes kept writing the tenant's state first.
    #[error(
        "shared correlation state of tenant {0}: other processes wrote first {MAX_ATTEMPTS} times"
    )]
    Contention(String),
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, BusError>> + Send + 'a>>;

/// [`SharedValues`] as an object, so that the stage's type does not depend
/// on the bus.
pub(crate) trait StateStore: Send + Sync + 'static {
    fn get<'a>(&'a self, key: &'a str) -> Boxed<'a, Option<Versioned>>;
    fn compare_and_set<'a>(
        &'a self,
        key: &'a str,
        value: Bytes,
        expected: Option<u64>,
    ) -> Boxed<'a, Written>;
}

impl<T: SharedValues> StateStore for T {
    fn get<'a>(&'a self, key: &'a str) -> Boxed<'a, Option<Versioned>> {
        Box::pin(SharedValues::get(self, key))
    }

    fn compare_and_set<'a>(
        &'a self,
        key: &'a str,
        value: Bytes,
        expected: Option<u64>,
    ) -> Boxed<'a, Written> {
        Box::pin(SharedValues::compare_and_set(self, key, value, expected))
    }
}

/// A correlation match kept until the sink has taken its detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SavedMatch {
    /// [`CorrelationMatch::id`]: the match's identity.
    id: String,
    /// The correlation rule's id (its title when it has none).
    rule: String,
    group: Vec<(String, String)>,
    window_start_ms: i64,
    window_end_ms: i64,
    event_count: u64,
    event_ids: Vec<String>,
    value: f64,
    /// The receive time of the batch that completed it (Unix ns).
    received_at_ns: i128,
}

/// One tenant's shared state.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TenantState {
    engine: CorrelationEngine,
    outbox: Vec<SavedMatch>,
}

/// A tenant's state as this process last read or wrote it.
struct Held {
    state: TenantState,
    revision: Option<u64>,
}

/// The correlation of a stage whose state is shared with other processes
/// (see the module documentation).
pub(crate) struct SharedCorrelation {
    store: Arc<dyn StateStore>,
    limits: CorrelationLimits,
    held: HashMap<String, Held>,
    /// Per tenant, outbox matches the sink took, to remove at the next write.
    taken: HashMap<String, HashSet<String>>,
    /// Per tenant, the outbox matches handed over with the current batch.
    handed: BTreeMap<String, Vec<String>>,
}

impl SharedCorrelation {
    pub(crate) fn new(store: Arc<dyn StateStore>, limits: CorrelationLimits) -> Self {
        SharedCorrelation {
            store,
            limits,
            held: HashMap::new(),
            taken: HashMap::new(),
            handed: BTreeMap::new(),
        }
    }

    /// Counts a batch's observations in the shared state (steps 1-3) and
    /// returns the detections to hand over: the outbox of every tenant the
    /// batch touched.
    pub(crate) async fn observe(
        &mut self,
        rules: &DetectionRules,
        observations: &[(String, Observation)],
        received_at: OffsetDateTime,
    ) -> Result<Vec<Detection>, SharedStateError> {
        let mut by_tenant: BTreeMap<&str, Vec<&Observation>> = BTreeMap::new();
        for (tenant, observation) in observations {
            by_tenant
                .entry(tenant.as_str())
                .or_default()
                .push(observation);
        }
        self.handed.clear();
        let mut detections = Vec::new();
        for (tenant, observations) in by_tenant {
            let outbox = self
                .observe_tenant(rules, tenant, &observations, received_at)
                .await?;
            self.handed.insert(
                tenant.to_owned(),
                outbox.iter().map(|m| m.id.clone()).collect(),
            );
            detections.extend(
                outbox
                    .iter()
                    .filter_map(|saved| detection_of(rules, tenant, saved)),
            );
        }
        Ok(detections)
    }

    async fn observe_tenant(
        &mut self,
        rules: &DetectionRules,
        tenant: &str,
        observations: &[&Observation],
        received_at: OffsetDateTime,
    ) -> Result<Vec<SavedMatch>, SharedStateError> {
        let key = state_key(tenant);
        let set = rules.correlations();
        let received_at_ns = received_at.unix_timestamp_nanos();
        for _ in 0..MAX_ATTEMPTS {
            let Held {
                mut state,
                revision,
            } = match self.held.remove(tenant) {
                Some(held) => held,
                None => self.read(tenant, &key).await?,
            };
            state.engine.set_limits(self.limits);
            state.engine.retain(set);
            if let Some(taken) = self.taken.get(tenant) {
                state.outbox.retain(|m| !taken.contains(&m.id));
            }
            let mut found: Vec<CorrelationMatch> = Vec::new();
            for observation in observations {
                state.engine.observe(set, observation, &mut found);
            }
            state
                .outbox
                .extend(found.iter().map(|m| saved(m, received_at_ns)));
            if state.outbox.len() > MAX_OUTBOX {
                let dropped = state.outbox.len() - MAX_OUTBOX;
                tracing::warn!(
                    tenant,
                    dropped,
                    "the shared correlation outbox is full; its oldest matches are dropped"
                );
                state.outbox = state.outbox.split_off(dropped);
            }
            let value = encode(&state, tenant)?;
            match self.store.compare_and_set(&key, value, revision).await? {
                Written::Stored(revision) => {
                    self.taken.remove(tenant);
                    let outbox = state.outbox.clone();
                    self.held.insert(
                        tenant.to_owned(),
                        Held {
                            state,
                            revision: Some(revision),
                        },
                    );
                    return Ok(outbox);
                }
                // Another process wrote first: read its state and count the
                // observations again on top of it.
                Written::Conflict => {}
            }
        }
        Err(SharedStateError::Contention(tenant.to_owned()))
    }

    /// Step 5: the sink took the detections [`Self::observe`] returned;
    /// removes them from the outboxes (now, or at the next write).
    pub(crate) async fn taken(&mut self) {
        let handed = std::mem::take(&mut self.handed);
        for (tenant, ids) in handed {
            if ids.is_empty() {
                continue;
            }
            let ids: HashSet<String> = ids.into_iter().collect();
            let Some(mut held) = self.held.remove(&tenant) else {
                self.taken.entry(tenant).or_default().extend(ids);
                continue;
            };
            held.state.outbox.retain(|m| !ids.contains(&m.id));
            let key = state_key(&tenant);
            let written = match encode(&held.state, &tenant) {
                Ok(value) => self.store.compare_and_set(&key, value, held.revision).await,
                Err(error) => {
                    tracing::warn!(%error, "the shared correlation outbox could not be cleared");
                    Ok(Written::Conflict)
                }
            };
            match written {
                Ok(Written::Stored(revision)) => {
                    held.revision = Some(revision);
                    self.held.insert(tenant, held);
                }
                Ok(Written::Conflict) => {
                    self.taken.entry(tenant).or_default().extend(ids);
                }
                Err(error) => {
                    tracing::warn!(%error, tenant, "the shared correlation outbox could not be cleared; it is at the next write");
                    self.taken.entry(tenant).or_default().extend(ids);
                }
            }
        }
    }

    /// Forgets what this process holds (after a failure: read it again).
    pub(crate) fn forget(&mut self) {
        self.held.clear();
        self.handed.clear();
    }

    async fn read(&self, tenant: &str, key: &str) -> Result<Held, SharedStateError> {
        match self.store.get(key).await? {
            None => Ok(Held {
                state: TenantState {
                    engine: CorrelationEngine::new(self.limits),
                    outbox: Vec::new(),
                },
                revision: None,
            }),
            Some(Versioned { value, revision }) => Ok(Held {
                state: decode(&value, tenant)?,
                revision: Some(revision),
            }),
        }
    }
}

/// The key of a tenant's state: its id in hexadecimal (any tenant id is a
/// valid key then).
fn state_key(tenant: &str) -> String {
    let mut key = String::with_capacity(7 + tenant.len() * 2);
    key.push_str("tenant.");
    for byte in tenant.bytes() {
        key.push_str(&format!("{byte:02x}"));
    }
    key
}

/// A state as gzip-compressed JSON (windows repeat their field names and
/// event ids a lot, and the bus limits a value's size).
fn encode(state: &TenantState, tenant: &str) -> Result<Bytes, SharedStateError> {
    let corrupt = |reason: String| SharedStateError::Corrupt {
        tenant: tenant.to_owned(),
        reason,
    };
    let json = serde_json::to_vec(state).map_err(|e| corrupt(e.to_string()))?;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder
        .write_all(&json)
        .map_err(|e| corrupt(e.to_string()))?;
    encoder
        .finish()
        .map(Bytes::from)
        .map_err(|e| corrupt(e.to_string()))
}

fn decode(value: &[u8], tenant: &str) -> Result<TenantState, SharedStateError> {
    let corrupt = |reason: String| SharedStateError::Corrupt {
        tenant: tenant.to_owned(),
        reason,
    };
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(value)
        .read_to_end(&mut json)
        .map_err(|e| corrupt(format!("not gzip: {e}")))?;
    serde_json::from_slice(&json).map_err(|e| corrupt(e.to_string()))
}

fn saved(found: &CorrelationMatch, received_at_ns: i128) -> SavedMatch {
    SavedMatch {
        id: found.id(),
        rule: found
            .rule
            .id
            .clone()
            .unwrap_or_else(|| found.rule.title.clone()),
        group: found.group.clone(),
        window_start_ms: found.window_start_ms,
        window_end_ms: found.window_end_ms,
        event_count: found.event_count,
        event_ids: found.event_ids.clone(),
        value: found.value,
        received_at_ns,
    }
}

/// The detection of a saved match, `None` (logged) when its rule is no
/// longer loaded.
fn detection_of(rules: &DetectionRules, tenant: &str, saved: &SavedMatch) -> Option<Detection> {
    let set = rules.correlations();
    let Some(correlation) = (0..set.len()).find(|&index| {
        let rule = set.rule(index);
        rule.id.as_deref().unwrap_or(&rule.title) == saved.rule
    }) else {
        tracing::warn!(rule = %saved.rule, tenant, "a correlation match of a rule no longer loaded is dropped");
        return None;
    };
    let found = CorrelationMatch {
        correlation,
        rule: Arc::clone(set.rule(correlation)),
        group: saved.group.clone(),
        window_start_ms: saved.window_start_ms,
        window_end_ms: saved.window_end_ms,
        event_count: saved.event_count,
        event_ids: saved.event_ids.clone(),
        value: saved.value,
    };
    let received_at = OffsetDateTime::from_unix_timestamp_nanos(saved.received_at_ns)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    super::detection(rules, tenant, &found, received_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_keys_are_valid_for_any_tenant_id() {
        assert_eq!(state_key("t1"), "tenant.7431");
        let key = state_key("ünï code/.*> tenant");
        assert!(
            key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.'),
            "{key}"
        );
    }

    #[test]
    fn a_state_reads_back_as_written_and_garbage_is_named() {
        let state = TenantState {
            engine: CorrelationEngine::new(CorrelationLimits::default()),
            outbox: vec![SavedMatch {
                id: "r\u{1f}10.0.0.1\u{1f}5".into(),
                rule: "r".into(),
                group: vec![("source.ip".into(), "10.0.0.1".into())],
                window_start_ms: 5,
                window_end_ms: 9,
                event_count: 10,
                event_ids: vec!["e1".into()],
                value: 10.0,
                received_at_ns: 1,
            }],
        };
        let value = encode(&state, "t1").unwrap();
        let back = decode(&value, "t1").unwrap();
        assert_eq!(back.outbox, state.outbox);
        assert_eq!(back.engine, state.engine);
        let error = decode(b"not a state", "t1").unwrap_err().to_string();
        assert!(
            error.contains("tenant t1") && error.contains("gzip"),
            "{error}"
        );
    }
}
