//! Correlation in the live stage: one [`CorrelationEngine`] per tenant (a
//! tenant's events never share a window with another's), fed the matches
//! of the rules correlations refer to, and kept in a file across restarts.
//!
//! The stage saves the state after the sink accepted a batch's detections
//! and before it acknowledges the batch, so after a crash the state and the
//! acknowledged events agree: a batch that comes again was not counted in
//! the saved state, or is recognised by the engine (its events are older
//! than the watermark, or already waiting). A correlation detection's
//! [`Detection::event_id`] is derived from the correlation, the group and
//! the window start, so one handed over again is the same detection for
//! the sink ([`Detection::key`]).
//!
//! When several processes detect on one NATS JetStream stream, each tenant's
//! state is shared instead, in the bus's shared values, and changed only by
//! compare-and-set (`shared.rs` describes the scheme): every correlation
//! match is then found once, whichever processes matched its events.

mod shared;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nigehban_sigma::{CorrelationEngine, CorrelationLimits, CorrelationMatch, Observation};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::detection::{CorrelationFacts, Detection};
use crate::rules::DetectionRules;

pub use shared::{SHARED_STATE_NAME, SharedStateError};
pub(crate) use shared::{SharedCorrelation, StateStore};

/// The name of the state file in the stage's state directory.
pub const STATE_FILE: &str = "correlation-state.json";

/// Why the correlation state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing the file failed.
    #[error("correlation state {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file is not a correlation state.
    #[error("correlation state {path} cannot be read: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: serde_json::Error,
    },
}

/// The correlation state of a stage: an engine per tenant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CorrelationState {
    limits: Option<CorrelationLimits>,
    engines: BTreeMap<String, CorrelationEngine>,
}

impl CorrelationState {
    /// An empty state whose engines use `limits`.
    pub fn new(limits: CorrelationLimits) -> Self {
        CorrelationState {
            limits: Some(limits),
            engines: BTreeMap::new(),
        }
    }

    /// The state saved in `dir`, with `limits` from now on; an empty one
    /// when nothing was saved yet.
    pub fn load(dir: &Path, limits: CorrelationLimits) -> Result<Self, StateError> {
        let path = dir.join(STATE_FILE);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::new(limits));
            }
            Err(source) => return Err(StateError::Io { path, source }),
        };
        let mut state: CorrelationState = serde_json::from_slice(&bytes)
            .map_err(|source| StateError::Corrupt { path, source })?;
        state.limits = Some(limits);
        for engine in state.engines.values_mut() {
            engine.set_limits(limits);
        }
        Ok(state)
    }

    /// Writes the state to `dir` atomically (a new file, synced, renamed
    /// over the old one): a crash leaves the old state or the new one.
    pub fn save(&self, dir: &Path) -> Result<(), StateError> {
        let path = dir.join(STATE_FILE);
        let io = |source| StateError::Io {
            path: path.clone(),
            source,
        };
        fs::create_dir_all(dir).map_err(io)?;
        let bytes = serde_json::to_vec(self).map_err(|source| StateError::Corrupt {
            path: path.clone(),
            source,
        })?;
        let temporary = dir.join(format!("{STATE_FILE}.tmp"));
        let mut file = fs::File::create(&temporary).map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        drop(file);
        fs::rename(&temporary, &path).map_err(io)?;
        // The rename itself must reach the disk.
        if let Ok(directory) = fs::File::open(dir) {
            let _ = directory.sync_all();
        }
        Ok(())
    }

    /// Feeds a batch's observations (tenant, observation) and returns the
    /// correlation detections they complete; `received_at` is the batch's
    /// latest receive time.
    pub fn observe(
        &mut self,
        rules: &DetectionRules,
        observations: &[(String, Observation)],
        received_at: OffsetDateTime,
    ) -> Vec<Detection> {
        let set = rules.correlations();
        let limits = self.limits.unwrap_or_default();
        let mut detections = Vec::new();
        let mut found = Vec::new();
        for (tenant, observation) in observations {
            let engine = self
                .engines
                .entry(tenant.clone())
                .or_insert_with(|| CorrelationEngine::new(limits));
            found.clear();
            engine.observe(set, observation, &mut found);
            detections.extend(
                found
                    .iter()
                    .filter_map(|m| detection(rules, tenant, m, received_at)),
            );
        }
        detections
    }

    /// Forgets the state of correlations `rules` no longer holds (or holds
    /// with another definition), after a rule change.
    pub fn retain(&mut self, rules: &DetectionRules) {
        for engine in self.engines.values_mut() {
            engine.retain(rules.correlations());
        }
    }

    /// Observations dropped as too late, over all tenants.
    pub fn late(&self) -> u64 {
        self.engines.values().map(|e| e.counters().late).sum()
    }
}

/// A correlation match of `tenant` as a detection.
fn detection(
    rules: &DetectionRules,
    tenant: &str,
    found: &CorrelationMatch,
    received_at: OffsetDateTime,
) -> Option<Detection> {
    let rule = rules.correlation_summaries().get(found.correlation)?;
    let at = |ms: i64| {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    };
    let value = |names: &[&str]| {
        found
            .group
            .iter()
            .find(|(name, _)| names.iter().any(|n| n.eq_ignore_ascii_case(name)))
            .map(|(_, v)| v.clone())
    };
    Some(Detection {
        event_id: match_uuid(&found.id()),
        tenant_id: tenant.to_owned(),
        sensor_id: String::new(),
        event_time: Some(at(found.window_start_ms)),
        received_at,
        rule: Arc::clone(rule),
        matched: found
            .group
            .iter()
            .map(|(name, value)| nigehban_sigma::MatchedField {
                field: Some(name.clone()),
                value: value.clone(),
            })
            .collect(),
        host: value(&["host.name", "Computer", "ComputerName", "Hostname"]),
        user: value(&["user.name", "User", "TargetUserName", "SubjectUserName"]),
        fold_key: Some(found.group_key()),
        correlation: Some(Arc::new(CorrelationFacts {
            group: found.group.clone(),
            event_count: found.event_count,
            event_ids: found.event_ids.clone(),
            window_start: at(found.window_start_ms),
            window_end: at(found.window_end_ms),
            value: found.value,
        })),
    })
}

/// A UUID standing for a correlation match, the same in every process.
fn match_uuid(id: &str) -> Uuid {
    let hash = |seed: u64| {
        id.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    let high = hash(0xcbf2_9ce4_8422_2325);
    let low = hash(0x8422_2325_cbf2_9ce4);
    // Version 8 (custom), RFC 9562 variant.
    let high = (high & !0xf000) | 0x8000;
    let low = (low & !(0b11 << 62)) | (0b10 << 62);
    Uuid::from_u64_pair(high, low)
}
