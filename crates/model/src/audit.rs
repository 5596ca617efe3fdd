//! The tamper-evident audit log: entries, their hash chain, and its verification.
//!
//! # The chain
//!
//! Entries are numbered `1, 2, 3, ...` (`seq`). Each entry stores the hash of
//! the entry before it (`prev_hash`; 32 zero bytes for entry 1) and its own
//! hash, which is SHA-256 over [`AuditEntry::canonical_bytes`]: a fixed,
//! length-prefixed encoding of every field except the hash itself. Changing
//! any field of any entry, deleting an entry or reordering entries therefore
//! breaks the chain at that entry, and [`ChainVerifier`] names the first entry
//! that does not match. Storage also keeps the chain head (last `seq` and
//! hash), so cutting entries off the end is detected too.
//!
//! The chain is not keyed: someone able to rewrite the whole database can
//! recompute every hash after the point they changed. Publishing the head hash
//! elsewhere (a report, a signed e-mail) anchors it against that.
//!
//! # Canonical encoding (version 1)
//!
//! The ASCII tag `nigehban-audit-v1`, then for each field in this order its
//! UTF-8 (or raw) bytes preceded by their length as a big-endian `u64`; an
//! absent optional field is the single byte `0x00` instead of a length, a
//! present one is `0x01` followed by length and bytes:
//! `seq` (8 bytes big-endian), `id`, `instance`, `tenant` (hyphenated UUIDs),
//! `at` (microseconds since the epoch, 8 bytes big-endian, two's complement),
//! `actor.kind`, `actor.user`?, `actor.token`?, `actor.tenant`?, `action`,
//! `record_kind`, `record_id`, `before`?, `after`? (JSON text exactly as
//! stored), `remote_addr`?, `prev_hash` (32 bytes).

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::{AuditEntryId, InstanceId, TenantId, Timestamp, TokenId, UserId};

/// A SHA-256 hash in the audit chain.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHash([u8; 32]);

impl ChainHash {
    /// The `prev_hash` of the first entry: 32 zero bytes.
    pub const GENESIS: ChainHash = ChainHash([0; 32]);

    /// Wraps hash bytes read back from storage.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Reads hash bytes of any length from storage; `None` unless exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    /// The hash bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({})", self.to_hex())
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for ChainHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for ChainHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes = hex::decode(&text).map_err(serde::de::Error::custom)?;
        ChainHash::from_slice(&bytes)
            .ok_or_else(|| serde::de::Error::custom("chain hash must be 32 bytes"))
    }
}

/// JSON text as stored in an audit entry (the record before or after the change).
///
/// Kept as the exact text that was hashed, so verification never depends on
/// how a JSON library re-serialises a value. Serialises as the JSON value itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonText(String);

impl JsonText {
    /// Serialises a value to compact JSON text.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::to_string(value).map(Self)
    }

    /// Wraps text read back from storage, unchecked: verification hashes it as is.
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text parsed as a JSON value (`null` if it is not valid JSON, which only tampering causes).
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or(serde_json::Value::Null)
    }
}

impl Serialize for JsonText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for JsonText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        JsonText::of(&value).map_err(serde::de::Error::custom)
    }
}

/// Who did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A user signed in to the console.
    User,
    /// An API token (acting on behalf of its owner).
    Token,
    /// The operator at the server's command line (`nigehban admin ...`).
    Operator,
    /// The platform itself (e.g. first-start bootstrap, expiry sweeps).
    System,
    /// Someone not yet authenticated (e.g. a failed sign-in).
    Anonymous,
}

impl ActorKind {
    /// The kind's word as stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::Token => "token",
            ActorKind::Operator => "operator",
            ActorKind::System => "system",
            ActorKind::Anonymous => "anonymous",
        }
    }

    /// Parses the stored word.
    pub fn from_word(word: &str) -> Option<Self> {
        [
            ActorKind::User,
            ActorKind::Token,
            ActorKind::Operator,
            ActorKind::System,
            ActorKind::Anonymous,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == word)
    }
}

/// Who did something, as recorded in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    /// How they were authenticated.
    pub kind: ActorKind,
    /// The user, if a user (or a token's owner) acted.
    pub user: Option<UserId>,
    /// The API token used, if any.
    pub token: Option<TokenId>,
    /// The tenant they acted from.
    pub tenant: Option<TenantId>,
}

impl Actor {
    /// The platform itself.
    pub const SYSTEM: Actor = Actor {
        kind: ActorKind::System,
        user: None,
        token: None,
        tenant: None,
    };
}

/// What was done, as a dotted lower-case word: `tenant.create`, `user.login_failed`, ...
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AuditAction(Cow<'static, str>);

impl AuditAction {
    /// A tenant was created.
    pub const TENANT_CREATE: AuditAction = AuditAction::fixed("tenant.create");
    /// A tenant was renamed.
    pub const TENANT_RENAME: AuditAction = AuditAction::fixed("tenant.rename");
    /// A tenant was moved under another parent.
    pub const TENANT_MOVE: AuditAction = AuditAction::fixed("tenant.move");
    /// A tenant was deactivated.
    pub const TENANT_DEACTIVATE: AuditAction = AuditAction::fixed("tenant.deactivate");
    /// A user was created.
    pub const USER_CREATE: AuditAction = AuditAction::fixed("user.create");
    /// A user's role was changed.
    pub const USER_SET_ROLE: AuditAction = AuditAction::fixed("user.set_role");
    /// A user was deactivated.
    pub const USER_DEACTIVATE: AuditAction = AuditAction::fixed("user.deactivate");
    /// A user's password was set (reset by an administrator or changed by the user).
    pub const USER_SET_PASSWORD: AuditAction = AuditAction::fixed("user.set_password");
    /// A sign-in failed (wrong password or locked out).
    pub const USER_LOGIN_FAILED: AuditAction = AuditAction::fixed("user.login_failed");
    /// A user signed in (a session was created).
    pub const SESSION_CREATE: AuditAction = AuditAction::fixed("session.create");
    /// A session was ended (sign-out or by an administrator).
    pub const SESSION_REVOKE: AuditAction = AuditAction::fixed("session.revoke");
    /// An API token was created.
    pub const TOKEN_CREATE: AuditAction = AuditAction::fixed("token.create");
    /// An API token was revoked.
    pub const TOKEN_REVOKE: AuditAction = AuditAction::fixed("token.revoke");
    /// Protected material (TLP:AMBER or above) was read.
    pub const RECORD_READ: AuditAction = AuditAction::fixed("record.read");
    /// A sensor was registered (with its first ingest token).
    pub const SENSOR_REGISTER: AuditAction = AuditAction::fixed("sensor.register");
    /// A sensor's registration was changed.
    pub const SENSOR_UPDATE: AuditAction = AuditAction::fixed("sensor.update");
    /// A sensor's ingest token was rotated (a new one issued, the old ones ended).
    pub const SENSOR_ROTATE_TOKEN: AuditAction = AuditAction::fixed("sensor.rotate_token");
    /// One of a sensor's ingest tokens was revoked.
    pub const SENSOR_REVOKE_TOKEN: AuditAction = AuditAction::fixed("sensor.revoke_token");
    /// A sensor was deactivated (and its ingest tokens revoked).
    pub const SENSOR_DEACTIVATE: AuditAction = AuditAction::fixed("sensor.deactivate");
    /// A backup of the database was taken.
    pub const BACKUP_CREATE: AuditAction = AuditAction::fixed("backup.create");

    // ---- incidents and coordination ----
    /// A constituent filed an incident report.
    pub const REPORT_CREATE: AuditAction = AuditAction::fixed("report.create");
    /// A report was triaged into a new or an existing incident.
    pub const REPORT_TRIAGE: AuditAction = AuditAction::fixed("report.triage");
    /// A report was rejected (with a reason the reporter sees).
    pub const REPORT_REJECT: AuditAction = AuditAction::fixed("report.reject");
    /// An incident was opened.
    pub const INCIDENT_CREATE: AuditAction = AuditAction::fixed("incident.create");
    /// An incident was changed (fields, status, assignee, observables, tasks, links, notes, deadlines).
    pub const INCIDENT_UPDATE: AuditAction = AuditAction::fixed("incident.update");
    /// An incident was escalated to the owner's parent.
    pub const INCIDENT_ESCALATE: AuditAction = AuditAction::fixed("incident.escalate");
    /// An incident was merged into another.
    pub const INCIDENT_MERGE: AuditAction = AuditAction::fixed("incident.merge");
    /// An evidence file was uploaded.
    pub const EVIDENCE_UPLOAD: AuditAction = AuditAction::fixed("evidence.upload");
    /// An evidence file was attached to an incident (its report was triaged into it).
    pub const EVIDENCE_ATTACH: AuditAction = AuditAction::fixed("evidence.attach");
    /// An evidence file was downloaded (its hash checked).
    pub const EVIDENCE_DOWNLOAD: AuditAction = AuditAction::fixed("evidence.download");
    /// An evidence file's content no longer matched its SHA-256 when read, or was missing.
    pub const EVIDENCE_INTEGRITY_FAILURE: AuditAction =
        AuditAction::fixed("evidence.integrity_failure");
    /// An evidence file's chain of custody was exported.
    pub const EVIDENCE_CUSTODY_EXPORT: AuditAction = AuditAction::fixed("evidence.custody_export");

    /// An action with a fixed name.
    pub const fn fixed(name: &'static str) -> Self {
        Self(Cow::Borrowed(name))
    }

    /// An action with a name made at run time (e.g. by later features).
    pub fn named(name: impl Into<String>) -> Self {
        Self(Cow::Owned(name.into()))
    }

    /// The action's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An audit entry before it joins the chain (no sequence number or hashes yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditDraft {
    /// Its id.
    pub id: AuditEntryId,
    /// The instance that wrote it.
    pub instance: InstanceId,
    /// The tenant the action concerns (whose auditors may read the entry).
    pub tenant: TenantId,
    /// When it happened.
    pub at: Timestamp,
    /// Who did it.
    pub actor: Actor,
    /// What was done.
    pub action: AuditAction,
    /// The kind of record concerned, e.g. `tenant`, `user`, `token`.
    pub record_kind: String,
    /// The id of the record concerned.
    pub record_id: String,
    /// The record before the change, if it existed.
    pub before: Option<JsonText>,
    /// The record after the change, if it still exists.
    pub after: Option<JsonText>,
    /// The network address the request came from.
    pub remote_addr: Option<String>,
}

impl AuditDraft {
    /// Joins the chain as entry `seq`, after the entry whose hash is `prev_hash`.
    pub fn seal(self, seq: u64, prev_hash: ChainHash) -> AuditEntry {
        let mut entry = AuditEntry {
            seq,
            id: self.id,
            instance: self.instance,
            tenant: self.tenant,
            at: self.at,
            actor: self.actor,
            action: self.action,
            record_kind: self.record_kind,
            record_id: self.record_id,
            before: self.before,
            after: self.after,
            remote_addr: self.remote_addr,
            prev_hash,
            hash: ChainHash::GENESIS,
        };
        entry.hash = entry.compute_hash();
        entry
    }
}

/// One entry of the audit log, part of the hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Its position in the chain, from 1.
    pub seq: u64,
    /// Its id.
    pub id: AuditEntryId,
    /// The instance that wrote it.
    pub instance: InstanceId,
    /// The tenant the action concerns.
    pub tenant: TenantId,
    /// When it happened.
    pub at: Timestamp,
    /// Who did it.
    pub actor: Actor,
    /// What was done.
    pub action: AuditAction,
    /// The kind of record concerned.
    pub record_kind: String,
    /// The id of the record concerned.
    pub record_id: String,
    /// The record before the change.
    pub before: Option<JsonText>,
    /// The record after the change.
    pub after: Option<JsonText>,
    /// The network address the request came from.
    pub remote_addr: Option<String>,
    /// The hash of the entry before (zeros for the first).
    pub prev_hash: ChainHash,
    /// This entry's hash.
    pub hash: ChainHash,
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_optional(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => out.push(0),
        Some(bytes) => {
            out.push(1);
            put_bytes(out, bytes);
        }
    }
}

impl AuditEntry {
    /// The canonical encoding that is hashed (see the module documentation).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(b"nigehban-audit-v1");
        put_bytes(&mut out, &self.seq.to_be_bytes());
        put_bytes(&mut out, self.id.to_string().as_bytes());
        put_bytes(&mut out, self.instance.to_string().as_bytes());
        put_bytes(&mut out, self.tenant.to_string().as_bytes());
        put_bytes(&mut out, &self.at.unix_micros().to_be_bytes());
        put_bytes(&mut out, self.actor.kind.as_str().as_bytes());
        put_optional(
            &mut out,
            self.actor
                .user
                .map(|u| u.to_string())
                .as_deref()
                .map(str::as_bytes),
        );
        put_optional(
            &mut out,
            self.actor
                .token
                .map(|t| t.to_string())
                .as_deref()
                .map(str::as_bytes),
        );
        put_optional(
            &mut out,
            self.actor
                .tenant
                .map(|t| t.to_string())
                .as_deref()
                .map(str::as_bytes),
        );
        put_bytes(&mut out, self.action.as_str().as_bytes());
        put_bytes(&mut out, self.record_kind.as_bytes());
        put_bytes(&mut out, self.record_id.as_bytes());
        put_optional(
            &mut out,
            self.before.as_ref().map(|j| j.as_str().as_bytes()),
        );
        put_optional(&mut out, self.after.as_ref().map(|j| j.as_str().as_bytes()));
        put_optional(&mut out, self.remote_addr.as_deref().map(str::as_bytes));
        put_bytes(&mut out, self.prev_hash.as_bytes());
        out
    }

    /// SHA-256 over the canonical encoding: what `hash` must equal.
    pub fn compute_hash(&self) -> ChainHash {
        ChainHash(Sha256::digest(self.canonical_bytes()).into())
    }
}

/// The last entry of the chain, as storage records it beside the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    /// The last entry's `seq` (0 when the log is empty).
    pub seq: u64,
    /// The last entry's hash ([`ChainHash::GENESIS`] when empty).
    pub hash: ChainHash,
}

impl ChainHead {
    /// The head of an empty log.
    pub const EMPTY: ChainHead = ChainHead {
        seq: 0,
        hash: ChainHash::GENESIS,
    };
}

/// What is wrong at the first entry that does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum AuditProblem {
    /// The entry's content does not match its stored hash: it was altered.
    ContentAltered,
    /// The entry's `prev_hash` is not the hash of the entry before it.
    ChainLinkBroken,
    /// The entry with this `seq` is missing (deleted); `next_seq`/`next_id`
    /// name the entry found in its place, if any.
    Missing {
        /// The seq of the entry found where this one should be, if any.
        next_seq: Option<u64>,
        /// The id of the entry found where this one should be, if any.
        next_id: Option<AuditEntryId>,
    },
    /// The entry is beyond the recorded chain head: it was added outside the log writer.
    BeyondHead,
    /// The last entry's hash differs from the recorded chain head: it was replaced.
    HeadMismatch,
}

/// The first entry of the audit log that does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditBreak {
    /// The entry's sequence number.
    pub seq: u64,
    /// The entry's id (`None` when the entry is missing).
    pub id: Option<AuditEntryId>,
    /// What is wrong.
    #[serde(flatten)]
    pub problem: AuditProblem,
}

impl fmt::Display for AuditBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self
            .id
            .map(|id| id.to_string())
            .unwrap_or_else(|| "-".into());
        match self.problem {
            AuditProblem::ContentAltered => write!(
                f,
                "audit entry seq {} (id {id}) was altered: its content does not match its hash",
                self.seq
            ),
            AuditProblem::ChainLinkBroken => write!(
                f,
                "audit entry seq {} (id {id}) does not follow the entry before it: the chain is broken",
                self.seq
            ),
            AuditProblem::Missing { next_seq, next_id } => {
                write!(f, "audit entry seq {} is missing", self.seq)?;
                match (next_seq, next_id) {
                    (Some(next_seq), Some(next_id)) => {
                        write!(f, " (the log jumps to seq {next_seq}, id {next_id})")
                    }
                    _ => write!(f, " (the log ends before the recorded chain head)"),
                }
            }
            AuditProblem::BeyondHead => write!(
                f,
                "audit entry seq {} (id {id}) lies beyond the recorded chain head: it was added outside the log",
                self.seq
            ),
            AuditProblem::HeadMismatch => write!(
                f,
                "audit entry seq {} (id {id}) does not match the recorded chain head: it was replaced",
                self.seq
            ),
        }
    }
}

/// The result of verifying the whole audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AuditVerification {
    /// Every entry verified.
    Intact {
        /// How many entries there are.
        entries: u64,
        /// The hash of the last entry (publish it to anchor the log).
        head: ChainHash,
    },
    /// The first entry that did not verify.
    Broken(AuditBreak),
}

impl AuditVerification {
    /// Whether the log verified.
    pub fn is_intact(&self) -> bool {
        matches!(self, AuditVerification::Intact { .. })
    }
}

/// Checks audit entries one by one, in `seq` order, and stops at the first break.
///
/// Storage reads the recorded chain head and the entries in one consistent
/// snapshot, feeds every entry to [`ChainVerifier::check`], then calls
/// [`ChainVerifier::finish`].
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    recorded_head: ChainHead,
    last: ChainHead,
    last_id: Option<AuditEntryId>,
    broken: Option<AuditBreak>,
}

impl ChainVerifier {
    /// A verifier at the start of the log, given the chain head storage recorded.
    pub fn new(recorded_head: ChainHead) -> Self {
        Self {
            recorded_head,
            last: ChainHead::EMPTY,
            last_id: None,
            broken: None,
        }
    }

    /// Checks the next entry; returns the break once one is found (and keeps returning it).
    pub fn check(&mut self, entry: &AuditEntry) -> Result<(), AuditBreak> {
        if let Some(broken) = self.broken {
            return Err(broken);
        }
        let expected_seq = self.last.seq + 1;
        let problem = if entry.seq != expected_seq {
            Some(AuditBreak {
                seq: expected_seq,
                id: None,
                problem: AuditProblem::Missing {
                    next_seq: Some(entry.seq),
                    next_id: Some(entry.id),
                },
            })
        } else if entry.compute_hash() != entry.hash {
            Some(AuditBreak {
                seq: entry.seq,
                id: Some(entry.id),
                problem: AuditProblem::ContentAltered,
            })
        } else if entry.prev_hash != self.last.hash {
            Some(AuditBreak {
                seq: entry.seq,
                id: Some(entry.id),
                problem: AuditProblem::ChainLinkBroken,
            })
        } else if entry.seq > self.recorded_head.seq {
            Some(AuditBreak {
                seq: entry.seq,
                id: Some(entry.id),
                problem: AuditProblem::BeyondHead,
            })
        } else {
            None
        };
        if let Some(broken) = problem {
            self.broken = Some(broken);
            return Err(broken);
        }
        self.last = ChainHead {
            seq: entry.seq,
            hash: entry.hash,
        };
        self.last_id = Some(entry.id);
        Ok(())
    }

    /// Reports an entry that storage could not even read back (e.g. a hash
    /// column of the wrong length): it was altered, unless entries are
    /// missing before it.
    pub fn unreadable(&mut self, seq: u64, id: Option<AuditEntryId>) -> AuditBreak {
        if let Some(broken) = self.broken {
            return broken;
        }
        let expected_seq = self.last.seq + 1;
        let broken = if seq == expected_seq {
            AuditBreak {
                seq,
                id,
                problem: AuditProblem::ContentAltered,
            }
        } else {
            AuditBreak {
                seq: expected_seq,
                id: None,
                problem: AuditProblem::Missing {
                    next_seq: Some(seq),
                    next_id: id,
                },
            }
        };
        self.broken = Some(broken);
        broken
    }

    /// Whether a break has been found (no need to read further).
    pub fn is_broken(&self) -> bool {
        self.broken.is_some()
    }

    /// The outcome, once every entry has been checked.
    pub fn finish(self) -> AuditVerification {
        if let Some(broken) = self.broken {
            return AuditVerification::Broken(broken);
        }
        if self.recorded_head.seq > self.last.seq {
            return AuditVerification::Broken(AuditBreak {
                seq: self.last.seq + 1,
                id: None,
                problem: AuditProblem::Missing {
                    next_seq: None,
                    next_id: None,
                },
            });
        }
        if self.recorded_head.hash != self.last.hash {
            return AuditVerification::Broken(AuditBreak {
                seq: self.last.seq,
                id: self.last_id,
                problem: AuditProblem::HeadMismatch,
            });
        }
        AuditVerification::Intact {
            entries: self.last.seq,
            head: self.last.hash,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(length: u64) -> Vec<AuditEntry> {
        let instance = InstanceId::new();
        let tenant = TenantId::new();
        let mut prev = ChainHash::GENESIS;
        (1..=length)
            .map(|seq| {
                let entry = AuditDraft {
                    id: AuditEntryId::new(),
                    instance,
                    tenant,
                    at: Timestamp::from_unix_micros(1_700_000_000_000_000 + seq as i64),
                    actor: Actor::SYSTEM,
                    action: AuditAction::TENANT_RENAME,
                    record_kind: "tenant".into(),
                    record_id: tenant.to_string(),
                    before: Some(JsonText::of(&serde_json::json!({"name": seq})).unwrap()),
                    after: None,
                    remote_addr: Some("192.0.2.1".into()),
                }
                .seal(seq, prev);
                prev = entry.hash;
                entry
            })
            .collect()
    }

    fn verify(entries: &[AuditEntry], head: ChainHead) -> AuditVerification {
        let mut verifier = ChainVerifier::new(head);
        for entry in entries {
            if verifier.check(entry).is_err() {
                break;
            }
        }
        verifier.finish()
    }

    fn head_of(entries: &[AuditEntry]) -> ChainHead {
        entries.last().map_or(ChainHead::EMPTY, |e| ChainHead {
            seq: e.seq,
            hash: e.hash,
        })
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let entries = chain(5);
        let head = head_of(&entries);
        assert_eq!(
            verify(&entries, head),
            AuditVerification::Intact {
                entries: 5,
                head: head.hash
            }
        );
        assert!(verify(&[], ChainHead::EMPTY).is_intact());
    }

    #[test]
    fn every_field_is_covered_by_the_hash() {
        let base = chain(1).remove(0);
        let mut variants = Vec::new();
        let mut e = base.clone();
        e.action = AuditAction::TENANT_CREATE;
        variants.push(e);
        let mut e = base.clone();
        e.actor.kind = ActorKind::User;
        variants.push(e);
        let mut e = base.clone();
        e.actor.user = Some(UserId::new());
        variants.push(e);
        let mut e = base.clone();
        e.before = Some(JsonText::from_stored("{\"name\":2}".into()));
        variants.push(e);
        let mut e = base.clone();
        e.after = Some(JsonText::from_stored("null".into()));
        variants.push(e);
        let mut e = base.clone();
        e.remote_addr = None;
        variants.push(e);
        let mut e = base.clone();
        e.at = Timestamp::from_unix_micros(0);
        variants.push(e);
        let mut e = base.clone();
        e.tenant = TenantId::new();
        variants.push(e);
        let mut e = base.clone();
        e.record_id = "other".into();
        variants.push(e);
        for variant in variants {
            assert_ne!(variant.compute_hash(), base.hash, "{variant:?}");
        }
    }

    #[test]
    fn an_altered_entry_is_named() {
        let mut entries = chain(5);
        entries[2].action = AuditAction::named("tenant.delete");
        let head = head_of(&entries);
        assert_eq!(
            verify(&entries, head),
            AuditVerification::Broken(AuditBreak {
                seq: 3,
                id: Some(entries[2].id),
                problem: AuditProblem::ContentAltered
            })
        );
    }

    #[test]
    fn a_rehashed_entry_breaks_the_link_after_it() {
        let mut entries = chain(5);
        entries[1].remote_addr = None;
        entries[1].hash = entries[1].compute_hash();
        let head = head_of(&entries);
        let outcome = verify(&entries, head);
        assert_eq!(
            outcome,
            AuditVerification::Broken(AuditBreak {
                seq: 3,
                id: Some(entries[2].id),
                problem: AuditProblem::ChainLinkBroken
            })
        );
    }

    #[test]
    fn a_deleted_entry_is_named() {
        let mut entries = chain(5);
        let head = head_of(&entries);
        let removed = entries.remove(1);
        let outcome = verify(&entries, head);
        let AuditVerification::Broken(broken) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(broken.seq, removed.seq);
        assert_eq!(
            broken.problem,
            AuditProblem::Missing {
                next_seq: Some(3),
                next_id: Some(entries[1].id)
            }
        );
        assert!(broken.to_string().contains("seq 2 is missing"));
    }

    #[test]
    fn a_truncated_log_is_detected() {
        let mut entries = chain(5);
        let head = head_of(&entries);
        entries.pop();
        let AuditVerification::Broken(broken) = verify(&entries, head) else {
            panic!()
        };
        assert_eq!(broken.seq, 5);
        assert!(matches!(
            broken.problem,
            AuditProblem::Missing { next_seq: None, .. }
        ));
    }

    #[test]
    fn a_replaced_last_entry_is_detected() {
        let mut entries = chain(3);
        let head = head_of(&entries);
        entries[2].record_id = "forged".into();
        entries[2].hash = entries[2].compute_hash();
        let AuditVerification::Broken(broken) = verify(&entries, head) else {
            panic!()
        };
        assert_eq!((broken.seq, broken.id), (3, Some(entries[2].id)));
        assert_eq!(broken.problem, AuditProblem::HeadMismatch);
    }

    #[test]
    fn an_appended_entry_is_detected() {
        let entries = chain(4);
        let head = head_of(&entries[..3]);
        let AuditVerification::Broken(broken) = verify(&entries, head) else {
            panic!()
        };
        assert_eq!((broken.seq, broken.id), (4, Some(entries[3].id)));
        assert_eq!(broken.problem, AuditProblem::BeyondHead);
    }

    #[test]
    fn entries_round_trip_through_json() {
        let entry = chain(1).remove(0);
        let json = serde_json::to_string(&entry).unwrap();
        let back: AuditEntry = serde_json::from_str(&json).unwrap();
        assert_eq!(back.compute_hash(), entry.hash);
    }
}
